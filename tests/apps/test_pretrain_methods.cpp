// Suite pretrain_methods: `mdp pretrain` with each of the paper's baselines (supervised concatenated,
// multi-head, pixel-to-pixel contrast), sequential pretraining resumed across a stage boundary, an
// unlabeled dataset with pseudo-labels, label unification from a mapping file, the errors of each, and
// `mdp experiment paper-ablations --quick` end to end.
#include <boost/test/unit_test.hpp>
#include <regex>

#include "tensor/safetensors.h"
#include "tests/apps/cli_util.h"

using namespace mdp::test;
namespace fs = std::filesystem;

namespace {
// A tiny pretraining run over generated shapes_a + shapes_b.
std::string tiny_pretrain(const std::string& root, const std::string& work) {
  return " --work-dir " + work + " --set data.roots='[\"" + root + "/data\"]'" +
         " --set data.generated_images='[16, 4]' --set data.generated_size='[48, 48]' --set data.crop='[48, 48]'"
         " --set data.scale='[96, 48]' --set data.workers=1 --set data.cat_max_ratio=1.0 --set model.depth=18"
         " --set model.width=0.125 --set model.channels=8 --set mdp.dim=16 --set train.batch=4 --set train.iters=2"
         " --set train.log_interval=1";
}
}  // namespace

BOOST_AUTO_TEST_SUITE(pretrain_methods)

BOOST_AUTO_TEST_CASE(each_baseline_pretrains_and_its_backbone_finetunes) {
  std::string root = scratch("baselines");
  for (std::string method : {"supervised", "multi-head", "pixel-contrast"}) {
    std::string w = root + "/" + method;
    Run r = sh("{mdp} pretrain" + tiny_pretrain(root, w) + " --set pretrain.method=" + method +
               " --set mdp.region_mix=0 --set mdp.pixel_mix=0");
    BOOST_TEST_REQUIRE(r.rc == 0, method + ": " + r.out);
    BOOST_TEST(contains(r.out, "mdp pretrain (" + method + ")"), r.out);
    std::string log = read_file(w + "/log.jsonl");
    BOOST_TEST(contains(log, method == "pixel-contrast" ? "\"contrast\"" : "\"ce\""), log);
    BOOST_TEST(!contains(log, "\"filled\""), log);  // no prototype bank outside MDP
    BOOST_TEST(fs::exists(w + "/backbone.safetensors"));
    BOOST_TEST(!fs::exists(w + "/iter_2.key.safetensors"));  // no momentum encoder either
    Run ft = sh("{mdp} train" + tiny_train_args(root + "/ft_" + method, root + "/data") +
                " --set train.iters=1 --set model.pretrained=" + w + "/backbone.safetensors");
    BOOST_TEST(ft.rc == 0, ft.out);
    BOOST_TEST(contains(ft.out, "loaded 120 backbone tensors"), ft.out);
  }
  // Resuming with another method is refused.
  Run other = sh("{mdp} pretrain --resume --work-dir " + root + "/supervised --set pretrain.method=mdp --set train.iters=3");
  BOOST_TEST(other.rc != 0);
  BOOST_TEST(contains(other.out, "pretrain.method: \"supervised\" -> \"mdp\""), other.out);
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(baseline_errors) {
  std::string root = scratch("baseline_errors");
  Run mix = sh("{mdp} pretrain" + tiny_pretrain(root, root + "/w") + " --set pretrain.method=multi-head");
  BOOST_TEST(mix.rc != 0);
  BOOST_TEST(contains(mix.out, "set mdp.region_mix=0 and mdp.pixel_mix=0"), mix.out);
  Run typo = sh("{mdp} pretrain" + tiny_pretrain(root, root + "/w") + " --set pretrain.method=multihead");
  BOOST_TEST(typo.rc != 0);
  BOOST_TEST(contains(typo.out, "pretrain.method 'multihead' is not mdp, supervised, multi-head, pixel-contrast or classification"), typo.out);
  Run unl = sh("{mdp} pretrain" + tiny_pretrain(root, root + "/w") + " --set pretrain.method=supervised --set data.unlabeled='[1]'");
  BOOST_TEST(unl.rc != 0);
  BOOST_TEST(contains(unl.out, "unlabeled datasets need pretrain.method mdp"), unl.out);
  Run idx = sh("{mdp} pretrain" + tiny_pretrain(root, root + "/w") + " --set data.unlabeled='[2]'");
  BOOST_TEST(idx.rc != 0);
  BOOST_TEST(contains(idx.out, "data.unlabeled names dataset 2"), idx.out);
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(classification_pretrains_on_image_labels) {
  // The ImageNet analogue: one label per crop (its majority object class), a pooled linear classifier.
  std::string root = scratch("classification"), w = root + "/w";
  Run mix = sh("{mdp} pretrain" + tiny_pretrain(root, w) + " --set pretrain.method=classification");
  BOOST_TEST(mix.rc != 0);
  BOOST_TEST(contains(mix.out, "learns one label per image"), mix.out);
  Run r = sh("{mdp} pretrain" + tiny_pretrain(root, w) + " --set pretrain.method=classification --set mdp.region_mix=0"
             " --set mdp.pixel_mix=0 --set data.datasets='[generated:world_i]' --set train.iters=3");
  BOOST_TEST_REQUIRE(r.rc == 0, r.out);
  BOOST_TEST(contains(r.out, "mdp pretrain (classification)"), r.out);
  std::string log = read_file(w + "/log.jsonl");
  BOOST_TEST(contains(log, "\"ce\""), log);
  BOOST_TEST(!contains(log, "\"filled\""), log);
  BOOST_TEST(fs::exists(w + "/backbone.safetensors"));
  Run ft = sh("{mdp} train" + tiny_train_args(root + "/ft", root + "/data") +
              " --set train.iters=1 --set model.pretrained=" + w + "/backbone.safetensors");
  BOOST_TEST(ft.rc == 0, ft.out);
  BOOST_TEST(contains(ft.out, "loaded 120 backbone tensors"), ft.out);
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(linear_probe_leaves_the_backbone_unchanged) {
  // model.name linear-probe with train.freeze_backbone: only the BN + 1x1 head learns; the backbone's
  // weights and batch-norm statistics are those it was loaded with.
  std::string root = scratch("probe"), w = root + "/w";
  Run pre = sh("{mdp} pretrain" + tiny_pretrain(root, w) + " --set mdp.region_mix=0 --set mdp.pixel_mix=0");
  BOOST_TEST_REQUIRE(pre.rc == 0, pre.out);
  std::string q = root + "/probe";
  Run r = sh("{mdp} train" + tiny_train_args(q, root + "/data") + " --set model.name=linear-probe --set train.freeze_backbone=true"
             " --set train.iters=3 --set train.checkpoint_interval=3 --set model.pretrained=" + w + "/backbone.safetensors");
  BOOST_TEST_REQUIRE(r.rc == 0, r.out);
  // Every backbone tensor of the probe's checkpoint is byte-identical to the pretrained one.
  mdp::safetensors::File pretrained = mdp::safetensors::read(w + "/backbone.safetensors");
  mdp::safetensors::File probe = mdp::safetensors::read(q + "/iter_3.safetensors");
  int64_t compared = 0, heads = 0;
  for (auto& [name, e] : probe.tensors) {
    if (name.rfind("linear_head.", 0) == 0) ++heads;
    if (name.rfind("backbone.", 0) != 0) continue;
    auto it = pretrained.tensors.find(name.substr(9));
    BOOST_TEST_REQUIRE((it != pretrained.tensors.end()), name);
    BOOST_TEST((it->second.bytes == e.bytes), name);
    ++compared;
  }
  BOOST_TEST(compared >= 100);  // weights and batch-norm statistics
  BOOST_TEST(heads > 0);
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(sequential_resumes_across_the_stage_boundary) {
  std::string root = scratch("sequential"), w = root + "/w";
  std::string args = tiny_pretrain(root, w) + " --set pretrain.sequential=true --set train.iters=4";
  Run a = sh("{mdp} pretrain" + args + " --stop-after 2");  // stage 1 (shapes_a) is iterations 1..2
  BOOST_TEST_REQUIRE(a.rc == 0, a.out);
  Run b = sh("{mdp} pretrain --resume --work-dir " + w);
  BOOST_TEST_REQUIRE(b.rc == 0, b.out);
  BOOST_TEST(contains(b.out, "sequential: stage 2 of 2, dataset shapes_b (iterations 3..4)"), b.out);
  // The schedule restarts with the stage: iteration 3 has the base rate again, as iteration 1.
  std::string log = read_file(w + "/log.jsonl");
  BOOST_TEST(contains(log, "{\"iter\": 1, \"loss\""));
  size_t lr1 = log.find("\"lr\": ", log.find("{\"iter\": 1,")), lr3 = log.find("\"lr\": ", log.find("{\"iter\": 3,"));
  BOOST_TEST(log.substr(lr1, 18) == log.substr(lr3, 18), log);
  fs::remove_all(root);
}

// AdamW, the experiment's recipe, resumes exactly in pretrain (MDP, with its bank and key encoder) and in
// train: its step count, which sets the bias correction, is part of the saved state.
BOOST_AUTO_TEST_CASE(adamw_runs_resume_exactly) {
  std::string root = scratch("adamw_resume");
  const std::string adamw = " --set train.optimizer=adamw --set train.lr=0.001 --set train.weight_decay=0.01";
  std::string pre = " --set train.iters=5 --set train.checkpoint_interval=5" + adamw;
  Run whole = sh("{mdp} pretrain" + tiny_pretrain(root, root + "/p1") + pre);
  BOOST_TEST_REQUIRE(whole.rc == 0, whole.out);
  Run first = sh("{mdp} pretrain" + tiny_pretrain(root, root + "/p2") + pre + " --stop-after 2");
  BOOST_TEST_REQUIRE(first.rc == 0, first.out);
  Run rest = sh("{mdp} pretrain --resume --work-dir " + root + "/p2");
  BOOST_TEST_REQUIRE(rest.rc == 0, rest.out);
  auto a = losses(root + "/p1/log.jsonl"), b = losses(root + "/p2/log.jsonl");
  BOOST_TEST(a.size() == 5u);
  BOOST_TEST((a == b), read_file(root + "/p1/log.jsonl") << "\nvs\n" << read_file(root + "/p2/log.jsonl"));

  std::string tr = " --set train.iters=5 --set train.eval_interval=0 --set train.checkpoint_interval=5" + adamw;
  Run t1 = sh("{mdp} train" + tiny_train_args(root + "/t1", root + "/data") + tr);
  BOOST_TEST_REQUIRE(t1.rc == 0, t1.out);
  Run t2 = sh("{mdp} train" + tiny_train_args(root + "/t2", root + "/data") + tr + " --stop-after 3");
  BOOST_TEST_REQUIRE(t2.rc == 0, t2.out);
  Run t3 = sh("{mdp} train --resume --work-dir " + root + "/t2");
  BOOST_TEST_REQUIRE(t3.rc == 0, t3.out);
  BOOST_TEST((losses(root + "/t1/log.jsonl") == losses(root + "/t2/log.jsonl")), read_file(root + "/t2/log.jsonl"));
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(unlabeled_dataset_gets_pseudo_labels) {
  std::string root = scratch("unlabeled"), w = root + "/w";
  // shapes_b read without labels; after the first iteration shapes_a's prototypes exist.
  Run r = sh("{mdp} pretrain" + tiny_pretrain(root, w) + " --set data.unlabeled='[1]' --set train.iters=3 --set data.weights='[1, 1]'");
  BOOST_TEST_REQUIRE(r.rc == 0, r.out);
  BOOST_TEST(contains(r.out, "shapes_b       unlabeled"), r.out);
  BOOST_TEST(contains(r.out, "6 classes (ignore 255)"), r.out);  // shapes_a's classes only
  std::string log = read_file(w + "/log.jsonl");
  BOOST_TEST(contains(log, "\"pseudo_pixels\": "), log);
  std::regex re("\"pseudo_pixels\": (\\d+)");
  int64_t most = 0, lines = 0;
  for (std::sregex_iterator it(log.begin(), log.end(), re), end; it != end; ++it, ++lines)
    most = std::max<int64_t>(most, std::stoll((*it)[1]));
  BOOST_TEST(lines == 3);
  BOOST_TEST(most > 0, log);  // once prototypes exist, unlabeled pixels get their classes
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(label_unification_from_a_mapping_file) {
  std::string root = scratch("unify"), w = root + "/w", map = root + "/mapping.txt";
  fs::create_directories(root);
  std::ofstream(map) << "# shapes_a and shapes_b share two concepts\nshapes_a/background = shapes_b/background\n"
                        "shapes_a/circle = shapes_b/disk\n";
  Run r = sh("{mdp} pretrain" + tiny_pretrain(root, w) + " --set data.label_mapping=" + map);
  BOOST_TEST_REQUIRE(r.rc == 0, r.out);
  BOOST_TEST(contains(r.out, "10 classes (ignore 255)"), r.out);  // 6 + 6 - 2
  std::ofstream(map, std::ios::app) << "shapes_a/square = shapes_b/cube\n";
  Run bad = sh("{mdp} pretrain" + tiny_pretrain(root, root + "/w2") + " --set data.label_mapping=" + map);
  BOOST_TEST(bad.rc != 0);
  BOOST_TEST(contains(bad.out, "line 4"), bad.out);
  BOOST_TEST(contains(bad.out, "shapes_b/cube"), bad.out);
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(paper_ablations_quick) {
  // Two seeds from seed 3: every arm on the same seeds, three downstream domains, fine-tune and probe,
  // and each claim as a paired difference with an interval.
  std::string w = scratch("ablations");
  Run r = sh("{mdp} experiment paper-ablations --quick --seeds 2 --first-seed 3 --work-dir " + w);
  BOOST_TEST_REQUIRE(r.rc == 0, r.out);
  for (const char* arm : {"from scratch", "classification on the ImageNet analogue", "supervised, concatenated labels",
                          "multi-head co-training", "pixel-to-pixel contrast", "sequential MDP", "MDP on one domain",
                          "MDP without mixing", "MDP without sparse coding", "MDP, sparse coding setting 1", "MDP (full)",
                          "MDP with rough label unification", "MDP with unlabeled images"})
    BOOST_TEST(contains(r.out, arm), arm);
  BOOST_TEST(contains(r.out, "mdp vs mdp-no-mixing:"));
  for (const char* d : {"world_a", "world_b", "world_c"}) {
    BOOST_TEST(fs::exists(w + "/mdp/seed_3/finetune_" + d + "/test.json"), d);
    BOOST_TEST(fs::exists(w + "/scratch/seed_4/probe_" + d + "/test.json"), d);
    BOOST_TEST(contains(read_file(w + "/ablations_" + d + ".svg"), "<svg"), d);
  }
  BOOST_TEST(!fs::exists(w + "/mdp/seed_0"));
  BOOST_TEST(!fs::exists(w + "/mdp/seed_5"));
  std::string json = read_file(w + "/results.json");
  BOOST_TEST(contains(json, "\"arm\": \"mdp-setting1\""), json);
  BOOST_TEST(contains(json, "\"measure\": \"probe\", \"better\": \"mdp\", \"worse\": \"scratch\", \"domain\": \"world_c\", \"n\": 2"),
             json);
  BOOST_TEST(!contains(json, "nan"), json);
  std::string md = read_file(w + "/results.md");
  BOOST_TEST(contains(md, "| MDP (full) | A+B |"), md);
  BOOST_TEST(contains(md, "probe world_c"), md);
  BOOST_TEST(contains(md, "cosine within datasets"), md);
  // every verdict is one of the defined words, and with two seeds an interval is printed
  BOOST_TEST((contains(md, "**inconclusive**") || contains(md, "**reproduced**") || contains(md, "**reversed**")), md);
  BOOST_TEST(contains(md, "] **"), md);
  Run valid = check_json(w);  // results.json, every run's eval.json and log.jsonl
  BOOST_TEST(valid.rc == 0, valid.out);
  // The experiment's report page, opened in headless Chromium: claims, arms, every step's curves.
  BOOST_TEST(contains(r.out, "report: " + w + "/report.html"), r.out);
  Run browser = sh("/usr/bin/python3 " MDP_SOURCE_DIR "/tools/check_report.py " + w + "/report.html --tables claims,arms"
                   " --min-charts 20 --screenshot " + screenshot_dir() + "/report_experiment.png");
  if (browser.rc == 77) BOOST_TEST_MESSAGE("no Chromium here: " << browser.out);  // make test-deps installs it
  else BOOST_TEST(browser.rc == 0, browser.out);
  // A second run finds every step done and only rebuilds the table.
  Run again = sh("{mdp} experiment paper-ablations --quick --seeds 2 --first-seed 3 --work-dir " + w);
  BOOST_TEST(again.rc == 0, again.out);
  BOOST_TEST(!contains(again.out, "mdp train:"), again.out);
  BOOST_TEST(!contains(again.out, "results written to"), again.out);  // no evaluation either
  Run bad = sh("{mdp} experiment paper-ablations --quick --arms mdp,nope --work-dir " + w);
  BOOST_TEST(bad.rc != 0);
  BOOST_TEST(contains(bad.out, "'nope', which is not an arm"), bad.out);
  Run unknown = sh("{mdp} experiment table-1");
  BOOST_TEST(unknown.rc != 0);
  BOOST_TEST(contains(unknown.out, "unknown experiment 'table-1'"), unknown.out);
  fs::remove_all(w);
}

BOOST_AUTO_TEST_SUITE_END()
