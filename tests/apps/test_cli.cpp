// Suite cli: the mdp command end to end on small generated and real sample data: train with periodic
// evaluation and checkpoints, exact resume, SIGTERM, eval, predict, pretrain with resume, data check,
// the real-dataset configs for two iterations each, and the errors a user can cause.
#include <boost/test/unit_test.hpp>
#include <regex>

#include "tests/apps/cli_util.h"

using namespace mdp::test;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(help_and_unknown_commands) {
  Run r = sh("{mdp} --help");
  BOOST_TEST(r.rc == 0);
  BOOST_TEST(contains(r.out, "pretrain"));
  for (const char* c : {"train", "eval", "predict", "bench", "pretrain", "demo"}) {
    Run h = sh(std::string("{mdp} ") + c + " --help");
    BOOST_TEST(h.rc == 0, c);
    BOOST_TEST(contains(h.out, "usage: mdp"), c);
  }
  BOOST_TEST(contains(sh("{mdp} train --help-keys").out, "train.lr"));
  Run u = sh("{mdp} frobnicate");
  BOOST_TEST(u.rc == 2);
  BOOST_TEST(contains(u.out, "unknown command 'frobnicate'"));
}

// One exit-code convention (README, "Exit codes"): 0 done, 1 an error while running, 2 a usage error.
BOOST_AUTO_TEST_CASE(exit_codes_version_and_help) {
  BOOST_TEST(sh("{mdp}").rc == 2);  // no command
  Run v = sh("{mdp} --version");
  BOOST_TEST(v.rc == 0, v.out);
  BOOST_TEST(contains(v.out, "mdp 0."), v.out);
  Run dh = sh("{mdp} data --help");
  BOOST_TEST(dh.rc == 0, dh.out);
  BOOST_TEST(contains(dh.out, "check"), dh.out);
  for (const char* c : {"train --bogus", "eval --bogus", "pretrain --iters", "predict --flag-that-is-not",
                        "experiment paper-ablations --seeds many"}) {
    Run r = sh(std::string("{mdp} ") + c);
    BOOST_TEST(r.rc == 2, c << ": " << r.out);
  }
  Run bad = sh("{mdp} eval --bogus");
  BOOST_TEST(bad.out.rfind("mdp eval: error: unknown option '--bogus'", 0) == 0, bad.out);  // no blank line, one prefix
  Run runtime = sh("{mdp} eval --config /no/such/config.yaml --checkpoint /no/such.safetensors");
  BOOST_TEST(runtime.rc == 1, runtime.out);
  BOOST_TEST(!contains(runtime.out, "mdp eval: error: mdp eval:"), runtime.out);
}

BOOST_AUTO_TEST_CASE(user_errors_are_one_clear_message) {
  std::string w = scratch("errors");
  auto check = [&](const std::string& cmd, const std::string& message) {
    Run r = sh(cmd);
    BOOST_TEST(r.rc != 0, cmd);
    BOOST_TEST(contains(r.out, message), cmd << "\n  output: " << r.out);
    BOOST_TEST(!contains(r.out, "terminate called"), cmd);
  };
  check("{mdp} train --set train.lrr=0.1 --work-dir " + w, "unknown key 'train.lrr'");
  check("{mdp} train --set train.iters=many --work-dir " + w, "key 'train.iters' must be an integer");
  check("{mdp} train --set data.dataset=voc --set data.root=/no/such/dir --work-dir " + w, "'/no/such/dir' does not exist");
  check("{mdp} train --work-dir /proc/mdp_cannot_write", "work dir '/proc/mdp_cannot_write'");
  check("{mdp} train --frobnicate", "unknown option '--frobnicate'");
  std::ofstream(w + "/bad.yaml") << "train:\n  lr: [1, 2]\n";
  check("{mdp} train --config " + w + "/bad.yaml --work-dir " + w, "key 'train.lr' must be a number");
  std::ofstream(w + "/typo.yaml") << "trian:\n  lr: 0.1\n";
  check("{mdp} train --config " + w + "/typo.yaml --work-dir " + w, "unknown key 'trian.lr'");
  check("{mdp} bench --workload resnet99-train", "unknown workload 'resnet99-train'");
  check("{mdp} eval --config " + w + "/none.yaml --checkpoint x", "cannot read");
  check("{mdp} train --resume --work-dir " + w, "no checkpoint");
  fs::remove_all(w);
}

BOOST_AUTO_TEST_CASE(train_eval_predict_and_exact_resume) {
  std::string root = scratch("train"), data = root + "/data";
  std::string a = root + "/a", b = root + "/b";
  std::string common = " --set train.iters=4 --set train.eval_interval=2 --set train.checkpoint_interval=2";
  Run ra = sh("{mdp} train" + tiny_train_args(a, data) + common);
  BOOST_TEST_REQUIRE(ra.rc == 0, ra.out);
  for (const char* f : {"config.yaml", "log.jsonl", "iter_4.safetensors", "latest.state.safetensors", "curves.svg", "eval.json"})
    BOOST_TEST(fs::exists(a + "/" + f), f);
  BOOST_TEST(contains(ra.out, "memory: parameters"));
  BOOST_TEST(contains(ra.out, "mIoU"));
  BOOST_TEST(contains(read_file(a + "/curves.svg"), "<svg"));

  // the same run, interrupted after 2 iterations and resumed: identical losses (and, written as
  // TensorBoard scalars, decoded by tools/read_tfevents.py: what TensorBoard shows equals log.jsonl)
  Run rb1 = sh("{mdp} train" + tiny_train_args(b, data) + common + " --set train.tensorboard=true --stop-after 2");
  BOOST_TEST_REQUIRE(rb1.rc == 0, rb1.out);
  BOOST_TEST(!fs::exists(b + "/iter_4.safetensors"));
  Run rb2 = sh("{mdp} train --resume --work-dir " + b);
  BOOST_TEST_REQUIRE(rb2.rc == 0, rb2.out);
  auto la = losses(a + "/log.jsonl"), lb = losses(b + "/log.jsonl");
  BOOST_TEST(la.size() == 4u);
  for (int it = 1; it <= 4; ++it) BOOST_TEST(la[it] == lb[it], "iteration " << it << ": " << la[it] << " vs " << lb[it]);
  Run tb = sh("/usr/bin/python3 " MDP_SOURCE_DIR "/tools/read_tfevents.py " + b + " --check-log " + b + "/log.jsonl");
  BOOST_TEST(tb.rc == 0, tb.out);
  BOOST_TEST(contains(tb.out, "scalars, equal to"), tb.out);
  auto event_files = [](const std::string& dir) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
    return n;
  };
  BOOST_TEST(event_files(b) == 2, "one event file per process of the run");
  BOOST_TEST(event_files(a) == 0, "train.tensorboard is off by default");

  // mdp report over both runs, opened in headless Chromium (tools/check_report.py): charts with legends,
  // the per-class table, no console message; its screenshot is kept for a person to look at.
  Run rep = sh("{mdp} report " + a + " " + b + " --output " + root + "/report.html");
  BOOST_TEST_REQUIRE(rep.rc == 0, rep.out);
  BOOST_TEST(contains(rep.out, "report: " + root + "/report.html"), rep.out);
  const std::string page = read_file(root + "/report.html");
  for (const char* s : {"per-class IoU at each evaluation", "\"name\": \"a\"", "\"name\": \"b\"", "images / s", "peak memory (MiB)"})
    BOOST_TEST(contains(page, s), s);
  Run browser = sh("/usr/bin/python3 " MDP_SOURCE_DIR "/tools/check_report.py " + root + "/report.html --tables classes --min-charts 8"
                   " --screenshot " + screenshot_dir() + "/report_run.png");
  if (browser.rc == 77) BOOST_TEST_MESSAGE("no Chromium here: " << browser.out);  // make test-deps installs it
  else BOOST_TEST(browser.rc == 0, browser.out);
  BOOST_TEST(sh("{mdp} report " + root + "/nothing-here").rc == 1);

  Run e = sh("{mdp} eval --config " + a + "/config.yaml --checkpoint " + a + "/iter_4.safetensors");
  BOOST_TEST(e.rc == 0, e.out);
  BOOST_TEST(contains(e.out, "mIoU"));
  BOOST_TEST(fs::exists(a + "/iter_4.eval.json"));
  Run es = sh("{mdp} eval --config " + a + "/config.yaml --checkpoint " + a + "/iter_4.safetensors --mode slide "
              "--set eval.crop='[32, 32]' --set eval.stride='[16, 16]'");
  BOOST_TEST(es.rc == 0, es.out);
  BOOST_TEST(fs::exists(a + "/iter_4.slide.eval.json"));  // the whole-image result is kept
  BOOST_TEST(read_file(a + "/iter_4.eval.json") != read_file(a + "/iter_4.slide.eval.json"));
  // --print-config: the resolved config, nothing run or written
  Run pc = sh("{mdp} eval --config " + a + "/config.yaml --print-config --set eval.mode=slide");
  BOOST_TEST(pc.rc == 0, pc.out);
  BOOST_TEST(contains(pc.out, "mode: \"slide\""), pc.out);
  BOOST_TEST(!contains(pc.out, "mIoU"), pc.out);
  Run pt = sh("{mdp} train --resume --work-dir " + b + " --print-config --set train.threads=1");
  BOOST_TEST(pt.rc == 0, pt.out);
  BOOST_TEST(contains(pt.out, "depth: 18"), pt.out);
  BOOST_TEST(contains(pt.out, "threads: 1"), pt.out);
  BOOST_TEST(!contains(pt.out, "resumed"), pt.out);
  BOOST_TEST(contains(sh("{mdp} eval --help-keys").out, "eval.mode"));

  // Issue 22, item 6: the checkpoint names its model; predict needs no model flags
  std::string named = root + "/named";
  Run pn = sh("{mdp} predict --checkpoint " + a + "/iter_4.safetensors --input " + data + "/shapes_a/images/train_00000.png --output " +
              named + " --no-resize");
  BOOST_TEST(pn.rc == 0, pn.out);
  BOOST_TEST(contains(pn.out, "ResNet-18 width 0.125, 5 classes (from the checkpoint)"), pn.out);
  BOOST_TEST(fs::exists(named + "/train_00000.png"));

  std::string pred = root + "/pred";
  Run p = sh("{mdp} predict --checkpoint " + a + "/iter_4.safetensors --input " + data + "/shapes_c/images --output " + pred +
             " --model deeplabv3-mmseg --num-classes 5 --depth 18 --width 0.125 --channels 8 --no-resize");
  BOOST_TEST(p.rc == 0, p.out);
  BOOST_TEST(fs::exists(pred + "/val_00000.png"));
  BOOST_TEST(fs::exists(pred + "/val_00000_overlay.png"));
  Run bad = sh("{mdp} predict --checkpoint " + a + "/iter_4.safetensors --input " + data + "/shapes_c/images --output " + pred +
               " --model deeplabv3-mmseg --num-classes 21 --depth 18 --width 0.125 --channels 8 --overwrite");
  BOOST_TEST(bad.rc != 0);
  BOOST_TEST(contains(bad.out, "does not fit"), bad.out);

  // predict never replaces its input images, nor (without --overwrite) a file it did not just create
  std::string own = root + "/own";  // a user's folder of PNG images
  fs::create_directories(own);
  for (const char* f : {"train_00000.png", "train_00001.png"})
    fs::copy_file(data + "/shapes_a/images/" + f, own + "/" + f);
  std::string before = read_file(own + "/train_00000.png");
  const std::string model = " --model deeplabv3-mmseg --num-classes 5 --depth 18 --width 0.125 --channels 8 --no-resize";
  for (const char* extra : {"", " --overwrite"}) {
    Run same = sh("{mdp} predict --checkpoint " + a + "/iter_4.safetensors --input " + own + " --output " + own + model + extra);
    BOOST_TEST(same.rc != 0, same.out);
    BOOST_TEST(contains(same.out, "would replace the input image " + own + "/train_00000.png"), same.out);
    BOOST_TEST(read_file(own + "/train_00000.png") == before);
    BOOST_TEST(!fs::exists(own + "/train_00000_overlay.png"));
  }
  Run again = sh("{mdp} predict --checkpoint " + a + "/iter_4.safetensors --input " + data + "/shapes_c/images --output " + pred + model);
  BOOST_TEST(again.rc != 0, again.out);
  BOOST_TEST(contains(again.out, "already exists; pass --overwrite"), again.out);
  Run forced = sh("{mdp} predict --checkpoint " + a + "/iter_4.safetensors --input " + data + "/shapes_c/images --output " + pred +
                  model + " --overwrite");
  BOOST_TEST(forced.rc == 0, forced.out);
  fs::copy_file(own + "/train_00000.png", own + "/train_00002.jpg");  // two inputs, one output name
  fs::copy_file(own + "/train_00001.png", own + "/train_00002.png");
  Run clash = sh("{mdp} predict --checkpoint " + a + "/iter_4.safetensors --input " + own + " --output " + root + "/clash" + model);
  BOOST_TEST(clash.rc != 0, clash.out);
  BOOST_TEST(contains(clash.out, "would both write"), clash.out);
  BOOST_TEST(!fs::exists(root + "/clash"));
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(sigterm_checkpoints_and_resumes) {
  std::string root = scratch("sigterm"), w = root + "/w";
  std::string cmd = "{mdp} train" + tiny_train_args(w, root + "/data") + " --set train.iters=100000 --set train.eval_interval=0"
                    " --set train.checkpoint_interval=0";
  for (size_t at; (at = cmd.find("{mdp}")) != std::string::npos;) cmd.replace(at, 5, mdp_bin());
  Run r = sh("(" + cmd + " > " + root + "/out.txt 2>&1 & pid=$!; while [ ! -s " + w +
             "/log.jsonl ]; do sleep 0.1; done; kill -TERM $pid; wait $pid; echo rc=$?)");
  BOOST_TEST(contains(r.out, "rc=143"), r.out << read_file(root + "/out.txt"));
  BOOST_TEST(contains(read_file(root + "/out.txt"), "stopped by signal 15"));
  BOOST_TEST(fs::exists(w + "/latest.state.safetensors"));
  Run again = sh("{mdp} train --resume --work-dir " + w + " --set train.iters=" +
                 std::to_string(losses(w + "/log.jsonl").rbegin()->first + 1));
  BOOST_TEST(again.rc == 0, again.out);
  BOOST_TEST(contains(again.out, "resumed"));
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(kill_9_never_leaves_a_broken_checkpoint) {
  // A checkpoint every iteration and SIGKILL at a few moments: whatever the moment, the latest state
  // loads and the run resumes (a write in progress never replaces the previous complete file).
  std::string root = scratch("kill9"), w = root + "/w";
  std::string cmd = "{mdp} train" + tiny_train_args(w, root + "/data") + " --set train.iters=100000 --set train.eval_interval=0"
                    " --set train.checkpoint_interval=1";
  for (size_t at; (at = cmd.find("{mdp}")) != std::string::npos;) cmd.replace(at, 5, mdp_bin());
  for (const char* delay : {"0.05", "0.13", "0.31"}) {
    // killed before its first checkpoint: the run's log is moved aside and it starts afresh
    std::string resume = fs::exists(w + "/latest.state.safetensors") ? " --resume" : " --move-aside";
    Run r = sh("(" + cmd + resume + " > " + root + "/out.txt 2>&1 & pid=$!; while [ ! -s " + w +
               "/log.jsonl ]; do sleep 0.05; done; sleep " + delay + "; kill -KILL $pid; wait $pid; echo rc=$?)");
    BOOST_TEST(contains(r.out, "rc=137"), r.out);
    for (auto& e : fs::directory_iterator(w)) {  // a killed write leaves at most a temporary file behind
      std::string n = e.path().filename().string();
      if (n.find(".tmp.") != std::string::npos) fs::remove(e.path());
    }
  }
  int64_t done = losses(w + "/log.jsonl").rbegin()->first;
  Run again = sh("{mdp} train --resume --work-dir " + w + " --set train.iters=" + std::to_string(done + 2));
  BOOST_TEST(again.rc == 0, again.out);
  BOOST_TEST(contains(again.out, "resumed"));
  fs::remove_all(root);
}

// Issue 22, item 5: a second run into a work dir that holds one is refused (or moves it aside on request),
// and --resume refuses changes that would make the continued run a different experiment.
BOOST_AUTO_TEST_CASE(runs_never_mix) {
  std::string root = scratch("mix"), w = root + "/w";
  Run first = sh("{mdp} train" + tiny_train_args(w, root + "/data") + " --set train.iters=2");
  BOOST_TEST_REQUIRE(first.rc == 0, first.out);
  const std::string log = read_file(w + "/log.jsonl");
  Run again = sh("{mdp} train" + tiny_train_args(w, root + "/data") + " --set train.iters=2");
  BOOST_TEST(again.rc == 1, again.out);
  BOOST_TEST(contains(again.out, "already holds a run"), again.out);
  BOOST_TEST(contains(again.out, "--move-aside"), again.out);
  BOOST_TEST(read_file(w + "/log.jsonl") == log);  // nothing appended
  Run batch = sh("{mdp} train --resume --work-dir " + w + " --set train.batch=3");
  BOOST_TEST(batch.rc == 1, batch.out);
  BOOST_TEST(contains(batch.out, "train.batch: 2 -> 3"), batch.out);
  BOOST_TEST(contains(read_file(w + "/config.yaml"), "batch: 2"));  // config.yaml not rewritten
  Run model = sh("{mdp} train --resume --work-dir " + w + " --set model.depth=34 --set train.lr=0.5");
  BOOST_TEST(model.rc == 1, model.out);
  BOOST_TEST(contains(model.out, "model.depth: 18 -> 34"), model.out);
  BOOST_TEST(contains(model.out, "train.lr"), model.out);
  Run longer = sh("{mdp} train --resume --work-dir " + w + " --set train.iters=3 --set train.threads=1");  // allowed
  BOOST_TEST(longer.rc == 0, longer.out);
  Run aside = sh("{mdp} train" + tiny_train_args(w, root + "/data") + " --set train.iters=1 --move-aside");
  BOOST_TEST(aside.rc == 0, aside.out);
  BOOST_TEST(contains(aside.out, "moved the earlier run"), aside.out);
  BOOST_TEST(fs::exists(w + ".prev-1/log.jsonl"));
  BOOST_TEST(read_file(w + ".prev-1/log.jsonl").size() > log.size());  // the earlier run, extended to 3, kept whole
  BOOST_TEST(!contains(read_file(w + "/log.jsonl"), "\"iter\": 2,"));  // the new run alone
  fs::remove_all(root);
}

// Issue 22, item 2: the shipped configs reach the sample data with data.root(s); what stops them says how.
BOOST_AUTO_TEST_CASE(configs_reach_the_sample_data) {
  std::string w = scratch("sample");
  const std::string voc = " --set data.root=../shared/data/VOCdevkit/VOC2012 --set model.depth=18 --set train.iters=1";
  Run small = sh("{mdp} train --config configs/deeplabv3_r50_voc12aug_20k.yaml --work-dir " + w + "/a" + voc);
  BOOST_TEST(small.rc == 1, small.out);
  BOOST_TEST(contains(small.out, "fewer than one batch of train.batch 16; repeat the split with data.repeat="), small.out);
  Run roots = sh("{mdp} pretrain --config configs/pretrain/mdp_r50_voc12aug-ade20k_100e.yaml --work-dir " + w +
                 "/b --set data.roots='[../shared/data/VOCdevkit/VOC2012]' --set train.iters=1");
  BOOST_TEST(roots.rc == 1, roots.out);
  BOOST_TEST(contains(roots.out, "data.roots has 1 entries for 2 datasets (voc, ade20k); give one root per dataset"), roots.out);
  Run ok = sh("{mdp} train --config configs/deeplabv3_r50_voc12aug_20k.yaml --work-dir " + w + "/c" + voc +
              " --set data.repeat=4 --set train.batch=2 --set train.eval_interval=0 --set data.crop='[128, 128]'");
  BOOST_TEST(ok.rc == 0, ok.out);
  fs::remove_all(w);
}

// Issue 22, item 7: a folder dataset described by config keys alone, on a read-only root without
// layout.txt (MMSegmentation's pseudo_dataset: imgs/*_img.jpg, gts/*_gt.png, splits/{train,val}.txt).
BOOST_AUTO_TEST_CASE(folder_layout_from_config_keys) {
  std::string w = scratch("folder_keys");
  const std::string root = "../shared/data/pseudo_dataset";
  BOOST_TEST_REQUIRE(!fs::exists(root + "/layout.txt"));
  const std::string common = " --set data.dataset=folder --set data.root=" + root +
                             " --set data.image_dir=imgs --set data.label_dir=gts --set data.image_suffix=_img.jpg"
                             " --set data.label_suffix=_gt.png --set data.split_file='splits/{split}.txt'"
                             " --set model.depth=18 --set model.width=0.125 --set model.channels=8 --set train.batch=2"
                             " --set data.crop='[64, 64]' --set data.scale='[128, 64]' --set data.workers=1"
                             " --set train.iters=2 --set train.log_interval=1";
  Run none = sh("{mdp} train --work-dir " + w + "/none" + common);
  BOOST_TEST(none.rc == 1, none.out);
  BOOST_TEST(contains(none.out, "has no layout.txt: describe it with data.num_classes or data.classes_file"), none.out);
  Run ok = sh("{mdp} train --work-dir " + w + "/ok" + common + " --set data.num_classes=4");
  BOOST_TEST(ok.rc == 0, ok.out);
  BOOST_TEST(contains(ok.out, "class_3"), ok.out);  // the final evaluation's table names all four classes
  BOOST_TEST(fs::exists(w + "/ok/iter_2.safetensors"));
  BOOST_TEST(!fs::exists(root + "/layout.txt"));  // nothing written into the dataset
  // "{split}" follows the split: one without a list file is named in the error.
  Run missing = sh("{mdp} train --work-dir " + w + "/missing" + common + " --set data.num_classes=4 --set data.val_split=test");
  BOOST_TEST(missing.rc == 1, missing.out);
  BOOST_TEST(contains(missing.out, "splits/test.txt"), missing.out);
  Run bad = sh("{mdp} train --work-dir " + w + "/bad" + common + " --set data.num_classes=4 --set data.reduce_zero_label=yes");
  BOOST_TEST(bad.rc == 1, bad.out);
  BOOST_TEST(contains(bad.out, "data.reduce_zero_label must be auto, true or false, got 'yes'"), bad.out);
  fs::remove_all(w);
}

// Issue 22, item 3: the peak memory is estimated before the first iteration (a batch-1 pass) and a run
// that would not fit stops with the estimate, the memory available and the keys to change.
BOOST_AUTO_TEST_CASE(memory_is_checked_before_the_first_iteration) {
  std::string root = scratch("memory");
  Run ok = sh("{mdp} train" + tiny_train_args(root + "/ok", root + "/data") + " --set train.iters=1");
  BOOST_TEST_REQUIRE(ok.rc == 0, ok.out);
  BOOST_TEST(contains(ok.out, "memory: estimated peak"), ok.out);
  Run big = sh("{mdp} train" + tiny_train_args(root + "/big", root + "/data") +
               " --set train.iters=1 --set train.batch=16 --set train.memory_limit_mb=2");
  BOOST_TEST(big.rc == 1, big.out);
  BOOST_TEST(contains(big.out, "more than 90% of the 2.0 MiB available"), big.out);
  BOOST_TEST(contains(big.out, "train.batch"), big.out);
  BOOST_TEST(!fs::exists(root + "/big/log.jsonl"));  // stopped before the first iteration
  BOOST_TEST(contains(big.out, "work dir:"), big.out);  // the header came first, though stdout is a pipe
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(pretrain_and_finetune_from_its_backbone) {
  std::string root = scratch("pretrain"), w = root + "/pt";
  std::string args = " --work-dir " + w + " --set data.roots='[\"" + root + "/data\"]'"
                     " --set data.generated_images='[16, 4]' --set data.generated_size='[48, 48]' --set data.crop='[48, 48]'"
                     " --set data.scale='[96, 48]' --set data.workers=1 --set data.cat_max_ratio=1.0 --set model.depth=18"
                     " --set model.width=0.125 --set mdp.dim=16 --set train.batch=4 --set train.iters=3 --set train.log_interval=1";
  Run r1 = sh("{mdp} pretrain" + args + " --stop-after 2");
  BOOST_TEST_REQUIRE(r1.rc == 0, r1.out);
  Run r2 = sh("{mdp} pretrain --resume --work-dir " + w);
  BOOST_TEST_REQUIRE(r2.rc == 0, r2.out);
  for (const char* f : {"backbone.safetensors", "prototypes.svg", "curves.svg", "log.jsonl", "iter_3.key.safetensors"})
    BOOST_TEST(fs::exists(w + "/" + f), f);
  BOOST_TEST(contains(read_file(w + "/log.jsonl"), "\"cos_across\""));
  BOOST_TEST(contains(r2.out, "filled"));
  {  // the progress line's "filled N" is the log's, after the bank's update (issue 22, item 7)
    std::string log = read_file(w + "/log.jsonl");
    size_t at = log.rfind("\"filled\": "), shown = r2.out.rfind("filled ");
    BOOST_TEST_REQUIRE((at != std::string::npos && shown != std::string::npos));
    BOOST_TEST(std::stoi(log.substr(at + 10)) == std::stoi(r2.out.substr(shown + 7)), r2.out);
  }
  Run json = check_json(w);  // log.jsonl holds cos_across, undefined (null) while a dataset has no prototype
  BOOST_TEST(json.rc == 0, json.out);
  Run ft = sh("{mdp} train" + tiny_train_args(root + "/ft", root + "/data") + " --set train.iters=1 --set model.pretrained=" + w +
              "/backbone.safetensors");
  BOOST_TEST(ft.rc == 0, ft.out);
  BOOST_TEST(contains(ft.out, "loaded"));
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(data_check) {
  Run ok = sh("{mdp} data check --dataset voc --root ../shared/data/VOCdevkit/VOC2012 --split train");
  BOOST_TEST(ok.rc == 0, ok.out);
  BOOST_TEST(contains(ok.out, "person"));
  Run missing = sh("{mdp} data check --dataset voc --root /no/such/root");
  BOOST_TEST(missing.rc != 0);
  BOOST_TEST(contains(missing.out, "/no/such/root"));
}

BOOST_AUTO_TEST_CASE(real_dataset_configs_run_two_iterations) {
  struct C { const char* config; const char* root; const char* train; const char* val; };
  for (C c : {C{"deeplabv3_r50_voc12aug_20k", "../shared/data/VOCdevkit/VOC2012", "aug", "val"},
              C{"deeplabv3_r50_voc12aug_40k", "../shared/data/VOCdevkit/VOC2012", "train", "val"},
              C{"deeplabv3_r50_ade20k_80k", "../shared/data/ADEChallengeData2016", "training", "validation"},
              C{"deeplabv3_r50_cityscapes_40k", "../shared/data/cityscapes", "val", "val"},
              C{"deeplabv3_r50_cityscapes_80k", "../shared/data/cityscapes", "val", "val"},
              C{"deeplabv3_r50_coco-stuff164k_80k", "../shared/data/coco_stuff164k", "train2017", "train2017"}}) {
    std::string w = scratch(c.config);
    Run r = sh(std::string("{mdp} train --config configs/") + c.config + ".yaml --work-dir " + w + " --set data.root=" + c.root +
               " --set data.train_split=" + c.train + " --set data.val_split=" + c.val +
               " --set train.iters=2 --set train.batch=2 --set data.repeat=2 --set model.depth=18 --set model.width=0.125 --set model.channels=8"
               " --set data.crop='[64, 64]' --set data.scale='[256, 64]' --set data.workers=1 --set eval.max_images=1"
               " --set train.log_interval=1");
    BOOST_TEST(r.rc == 0, c.config << ":\n" << r.out);
    BOOST_TEST(fs::exists(w + "/iter_2.safetensors"), c.config);
    fs::remove_all(w);
  }
}

BOOST_AUTO_TEST_SUITE_END()
