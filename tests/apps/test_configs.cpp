// Suite configs: every shipped real-scale recipe — configs/pretrain/*.yaml (`mdp pretrain`) and
// configs/finetune/*.yaml (`mdp train` from a pretrained backbone) — runs for two iterations on the real
// sample files of ../shared/data. The directories are listed at run time, so a new config is covered
// without touching this file. The overrides only shrink the run (roots and splits of the sample files,
// ResNet-18 at width 1/8, 64x64 crops, batch 2, tiny D and queue); every other key and value comes from
// the config file, so a misspelt key, a wrong type, an unknown method or dataset, a bad label mapping
// or an inconsistent list fails here. The configs must also name the conventional MMSeg dataset roots,
// and a fine-tuning config must start from the backbone of a shipped pretraining config, without the
// auxiliary head.
#include <yaml-cpp/yaml.h>

#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <map>
#include <vector>

#include "tests/apps/cli_util.h"

using namespace mdp::test;
namespace fs = std::filesystem;

namespace {
struct Sample {
  std::string conventional_root;  // what a config names (MMSeg's data/ layout)
  std::string root, train, val;   // the sample files in ../shared/data
};

// The sample data of each dataset kind the configs may name.
const std::map<std::string, Sample>& samples() {
  static const std::map<std::string, Sample> s = {
      {"voc", {"data/VOCdevkit/VOC2012", "../shared/data/VOCdevkit/VOC2012", "aug", "val"}},
      {"ade20k", {"data/ade/ADEChallengeData2016", "../shared/data/ADEChallengeData2016", "training", "validation"}},
      {"coco-stuff", {"data/coco_stuff164k", "../shared/data/coco_stuff164k", "train2017", "train2017"}},
      {"cityscapes", {"data/cityscapes", "../shared/data/cityscapes", "val", "val"}},
  };
  return s;
}

std::vector<fs::path> yaml_files(const std::string& dir) {
  std::vector<fs::path> r;
  if (fs::is_directory(dir))
    for (auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".yaml") r.push_back(e.path());
  std::sort(r.begin(), r.end());
  return r;
}

// '["a", "b"]', quoted for the shell.
std::string shell_list(const std::vector<std::string>& items) {
  std::string s = "'[";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", \"" : "\"") + items[i] + "\"";
  return s + "]'";
}

std::vector<std::string> strings(const YAML::Node& n) {
  std::vector<std::string> r;
  if (n && n.IsSequence())
    for (const auto& x : n) r.push_back(x.as<std::string>());
  return r;
}

std::string str(const YAML::Node& n) { return n && n.IsScalar() ? n.as<std::string>() : ""; }

// The config as YAML, its sections (data, model, pretrain) made maps if absent, so that lookups of
// missing keys give empty nodes; a null node (and the reason in `message`) when it does not parse.
YAML::Node load(const fs::path& config, std::string& message) {
  try {
    YAML::Node y = YAML::LoadFile(config.string());
    if (!y.IsMap()) throw std::runtime_error("not a YAML map");
    for (const char* section : {"data", "model", "pretrain"})
      if (!y[section] || !y[section].IsMap()) y[section] = YAML::Node(YAML::NodeType::Map);
    return y;
  } catch (const std::exception& e) {
    message = std::string("cannot read the config: ") + e.what();
    return YAML::Node(YAML::NodeType::Null);
  }
}

const char* kShrink =
    " --set data.crop='[64, 64]' --set data.scale='[256, 64]' --set data.workers=1 --set model.depth=18"
    " --set model.width=0.125 --set model.channels=8 --set train.batch=2 --set train.log_interval=1 --set train.device=cpu";

// A backbone of the shrunk network (ResNet-18, width 1/8, torchvision names) from a tiny pretraining on
// generated data: what the configs' model.pretrained (ImageNet weights, an MDP run) stands for here.
std::string tiny_backbone(const std::string& root) {
  const std::string w = root + "/tiny_backbone";
  Run r = sh("{mdp} pretrain --work-dir " + w + " --set data.roots='[\"" + root + "/generated\"]'" +
             " --set data.generated_images='[8, 2]' --set data.generated_size='[64, 64]' --set data.cat_max_ratio=1.0" +
             " --set mdp.dim=16 --set train.iters=1" + kShrink);
  BOOST_TEST_REQUIRE(r.rc == 0, "tiny pretraining for the backbone:\n" << r.out);
  BOOST_TEST_REQUIRE(fs::exists(w + "/backbone.safetensors"));
  return w + "/backbone.safetensors";
}

// Runs configs/pretrain/<config> for two iterations (one per stage when sequential) on the sample data;
// fills `message` with what went wrong. `backbone` replaces a non-empty model.pretrained.
bool run_pretrain_config(const fs::path& config, const std::string& work, const std::string& backbone, std::string& message) {
  const YAML::Node y = load(config, message);
  if (!y.IsMap()) return false;
  const std::vector<std::string> datasets = strings(y["data"]["datasets"]), roots = strings(y["data"]["roots"]);
  if (datasets.empty()) return message = "data.datasets is missing or empty", false;
  if (roots.size() != datasets.size()) return message = "data.roots must name one root per dataset", false;
  std::vector<std::string> sample_roots, splits;
  for (size_t i = 0; i < datasets.size(); ++i) {
    auto it = samples().find(datasets[i]);
    if (it == samples().end())
      return message = "no sample data for dataset '" + datasets[i] + "' (add it to samples() in tests/apps/test_configs.cpp)", false;
    if (roots[i] != it->second.conventional_root)
      return message = "data.roots[" + std::to_string(i) + "] is '" + roots[i] + "', expected MMSeg's '" +
                       it->second.conventional_root + "'", false;
    sample_roots.push_back(it->second.root);
    splits.push_back(it->second.train);
  }
  const bool sequential = str(y["pretrain"]["sequential"]) == "true";
  const int iters = sequential ? std::max<int>(2, int(datasets.size())) : 2;
  std::string cmd = "{mdp} pretrain --config " + config.string() + " --work-dir " + work + " --set data.roots=" +
                    shell_list(sample_roots) + " --set data.splits=" + shell_list(splits) +
                    " --set train.iters=" + std::to_string(iters) + " --set train.checkpoint_interval=" + std::to_string(iters) +
                    " --set mdp.dim=16 --set mdp.queue_length=64" + kShrink;
  const bool pretrained = !str(y["model"]["pretrained"]).empty();
  if (pretrained) cmd += " --set model.pretrained=" + backbone;
  Run r = sh(cmd);
  message = cmd + "\n" + r.out;
  if (r.rc != 0) return false;
  if (!fs::exists(work + "/backbone.safetensors")) return message = "no backbone.safetensors:\n" + message, false;
  if (pretrained && !contains(r.out, "backbone tensors from " + backbone))
    return message = "model.pretrained was not loaded:\n" + message, false;
  return true;
}

// Runs configs/finetune/<config> for two iterations (and one evaluation) on the sample data, from
// `backbone` in place of its model.pretrained.
bool run_finetune_config(const fs::path& config, const std::string& work, const std::string& backbone, std::string& message) {
  const YAML::Node y = load(config, message);
  if (!y.IsMap()) return false;
  const std::string dataset = str(y["data"]["dataset"]), root = str(y["data"]["root"]);
  auto it = samples().find(dataset);
  if (it == samples().end())
    return message = "no sample data for dataset '" + dataset + "' (add it to samples() in tests/apps/test_configs.cpp)", false;
  if (root != it->second.conventional_root)
    return message = "data.root is '" + root + "', expected MMSeg's '" + it->second.conventional_root + "'", false;
  // The backbone must come from a shipped pretraining config's work dir: work_dirs/<name>/backbone.safetensors;
  // only the from-scratch baseline (a "scratch" config) has none.
  const std::string pretrained = str(y["model"]["pretrained"]);
  const bool scratch_baseline = config.filename().string().find("scratch") != std::string::npos;
  if (scratch_baseline && !pretrained.empty())
    return message = "a scratch config must leave model.pretrained empty, it has '" + pretrained + "'", false;
  const fs::path p(pretrained);
  if (!scratch_baseline && (p.filename() != "backbone.safetensors" || p.parent_path().parent_path() != "work_dirs" ||
                            !fs::exists("configs/pretrain/" + p.parent_path().filename().string() + ".yaml")))
    return message = "model.pretrained is '" + pretrained +
                     "', expected work_dirs/<name>/backbone.safetensors of a configs/pretrain/<name>.yaml", false;
  if (str(y["model"]["aux_head"]) != "false") return message = "model.aux_head must be false (the paper removes it)", false;
  std::string cmd = "{mdp} train --config " + config.string() + " --work-dir " + work + " --set data.root=" + it->second.root +
                    " --set data.train_split=" + it->second.train + " --set data.val_split=" + it->second.val +
                    " --set train.iters=2 --set data.repeat=2 --set eval.max_images=1" +
                    (scratch_baseline ? std::string() : " --set model.pretrained=" + backbone) + kShrink;
  Run r = sh(cmd);
  message = cmd + "\n" + r.out;
  if (r.rc != 0) return false;
  if (!fs::exists(work + "/iter_2.safetensors")) return message = "no iter_2.safetensors:\n" + message, false;
  if (!scratch_baseline && !contains(r.out, "backbone tensors from " + backbone))
    return message = "model.pretrained was not loaded:\n" + message, false;
  return true;
}

// A copy of `config` in `dir` with `from` replaced by `to`.
fs::path broken_copy(const fs::path& config, const std::string& dir, const std::string& from, const std::string& to) {
  std::string text = read_file(config.string());
  const size_t at = text.find(from);
  BOOST_TEST_REQUIRE(at != std::string::npos, config.string() << " has no '" << from << "'");
  text.replace(at, from.size(), to);
  fs::path out = fs::path(dir) / config.filename();
  std::ofstream(out) << text;
  return out;
}
}  // namespace

namespace {
using ConfigRunner = bool (*)(const fs::path&, const std::string&, const std::string&, std::string&);

// Runs every configs/<dir>/*.yaml with run, each in its own work dir under a scratch root.
void every_config_runs(const std::string& dir, ConfigRunner run) {
  const auto files = yaml_files("configs/" + dir);
  BOOST_TEST_REQUIRE(!files.empty(), "no configs/" << dir << "/*.yaml (the suite runs from the repository root)");
  std::string root = scratch("configs_" + dir);
  const std::string backbone = tiny_backbone(root);
  for (const auto& f : files) {
    std::string message;
    BOOST_TEST(run(f, root + "/" + f.stem().string(), backbone, message), f.string() << ":\n" << message);
    fs::remove_all(root + "/" + f.stem().string());
  }
  fs::remove_all(root);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(configs)

BOOST_AUTO_TEST_CASE(every_pretrain_config_runs_two_iterations) { every_config_runs("pretrain", run_pretrain_config); }

BOOST_AUTO_TEST_CASE(every_finetune_config_runs_two_iterations_from_a_pretrained_backbone) {
  every_config_runs("finetune", run_finetune_config);
}

// The runners above do fail: a misspelt key, a wrong value or a missing mapping file in a config is an error.
BOOST_AUTO_TEST_CASE(a_broken_config_fails) {
  const auto pre = yaml_files("configs/pretrain"), fine = yaml_files("configs/finetune");
  BOOST_TEST_REQUIRE(!pre.empty());
  BOOST_TEST_REQUIRE(!fine.empty());
  std::string root = scratch("configs_broken");
  const std::string backbone = tiny_backbone(root);
  std::string message;
  auto pick = [](const std::vector<fs::path>& files, const std::string& part) {
    for (const auto& f : files)
      if (contains(read_file(f.string()), part)) return f;
    BOOST_FAIL("no config contains '" + part + "'");
    return fs::path();
  };

  // (runner, config to break, text replaced, replacement, expected part of the error)
  struct Broken { ConfigRunner run; fs::path config; std::string from, to, error; };
  const std::vector<Broken> cases{
      {run_pretrain_config, pick(pre, "  tau: 0.07"), "  tau: 0.07", "  tua: 0.07", "unknown key 'mdp.tua'"},
      {run_pretrain_config, pick(pre, "method: multi-head"), "method: multi-head", "method: multihead",
       "pretrain.method 'multihead'"},
      {run_pretrain_config, pick(pre, "label_mapping: "), "label_mapping: ", "label_mapping: no/such/",
       "label mapping: cannot open no/such/"},
      {run_pretrain_config, pre.front(), "data/VOCdevkit/VOC2012", "data/VOC2012",
       "expected MMSeg's 'data/VOCdevkit/VOC2012'"},
      {run_finetune_config, fine.front(), "  weight_decay:", "  weight_decy:", "unknown key 'train.weight_decy'"},
      {run_finetune_config, fine.front(), "aux_head: false", "aux_head: true", "model.aux_head must be false"},
      {run_finetune_config, fine.front(), "pretrained: work_dirs/", "pretrained: work_dirs/no_such_pretraining_",
       "of a configs/pretrain/<name>.yaml"},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const Broken& c = cases[k];
    fs::path broken = broken_copy(c.config, root, c.from, c.to);
    BOOST_TEST(!c.run(broken, root + "/broken" + std::to_string(k), backbone, message), c.to);
    BOOST_TEST(contains(message, c.error), message);
  }
  fs::remove_all(root);
}

BOOST_AUTO_TEST_SUITE_END()
