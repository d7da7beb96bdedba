// make_seeds.cpp: the starting corpus of each fuzz target, from files the project writes and reads:
//   make_seeds --repo DIR --data DIR --out DIR
// writes OUT/<target>/<name> for the targets of tests/fuzz (the decoders' seeds are images; the script
// copies them). Written by the project's own writers (save_tensor_file, save_run_state,
// write_folder_layout, write_generated) or copied from the repository (configs/) and the sample datasets
// (--data: ../shared/data), joined into multi-part inputs with fuzz_input.h's separator. Built in the fuzz
// build without libFuzzer's main; run by scripts/fuzz.sh.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/core.h>

#include "data/folder.h"
#include "data/generated.h"
#include "nn/run_state.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/tensor_file.h"
#include "tests/fuzz/fuzz_input.h"

namespace fs = std::filesystem;
using namespace mdp;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  MDP_CHECK(in.good(), "make_seeds: cannot read {}", p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(1, fuzz::kPartSeparator) : "") + parts[i];
  return out;
}

struct Seeds {
  fs::path dir;
  int count = 0;
  void add(const std::string& name, const std::string& bytes) {
    fuzz::write_file(dir / name, bytes);
    ++count;
  }
};

void safetensors_seeds(Seeds& s, const fs::path& tmp) {
  Generator g(0);
  TensorFile f;
  f.tensors["weight"] = ops::randn({4, 3, 1, 1}, DType::Float32, &g);
  f.tensors["bias.f64"] = ops::randn({4}, DType::Float64, &g);
  f.tensors["half"] = ops::to(ops::randn({2, 2}), DType::BFloat16);
  f.tensors["step"] = ops::full({}, 7, DType::Int64);
  f.tensors["index"] = ops::arange(0, 5, 1, DType::Int32);
  f.tensors["mask"] = ops::ones({3}, DType::Bool);
  f.tensors["label"] = ops::full({2, 3}, 255, DType::UInt8);
  f.tensors["empty"] = ops::zeros({0, 3});
  f.metadata = {{"format", "mdp-weights"}, {"model.name", "deeplabv3-mmseg"}, {"num_classes", "21"}};
  save_tensor_file((tmp / "a.safetensors").string(), f);
  s.add("all_dtypes.safetensors", slurp(tmp / "a.safetensors"));
  TensorFile one;
  one.tensors["x"] = ops::ones({1});
  save_tensor_file((tmp / "b.safetensors").string(), one);
  s.add("one_tensor.safetensors", slurp(tmp / "b.safetensors"));
  save_tensor_file((tmp / "c.safetensors").string(), TensorFile{});
  s.add("empty.safetensors", slurp(tmp / "c.safetensors"));
}

nn::RunState run_state(const std::string& command) {
  Generator g(1);
  nn::RunState r;
  r.command = command;
  r.step = 120;
  r.weights = "iter_120.safetensors";
  r.config = "train:\n  lr: 0.01  # base learning rate\n";
  r.data = {.epoch = 2, .index = 17, .stage = 0};
  r.optimizer = {{"backbone.conv1.weight.momentum_buffer", ops::randn({4, 3, 3, 3}, DType::Float32, &g)},
                 {"decode_head.conv_seg.bias.momentum_buffer", ops::randn({5}, DType::Float32, &g)}};
  r.rng["default"] = g.state();
  if (command == "pretrain") {
    r.method = "mdp";
    r.key_weights = "key_120.safetensors";
    r.bank = {{"bank.prototypes", ops::randn({5, 8}, DType::Float32, &g)}, {"bank.filled", ops::ones({5}, DType::Bool)}};
    g.normal();
    r.rng["mix"] = g.state();
  }
  return r;
}

void run_state_seeds(Seeds& s, Seeds& safetensors, const fs::path& tmp) {
  for (const char* command : {"train", "pretrain"}) {
    const fs::path p = tmp / (std::string(command) + ".state.safetensors");
    nn::save_run_state(p.string(), run_state(command));
    s.add(p.filename().string(), slurp(p));
    safetensors.add(p.filename().string(), slurp(p));
  }
  // Version 1, as mdp wrote it before 2026-12-07 (load_run_state converts it).
  TensorFile v1;
  v1.tensors["optimizer.conv.weight.momentum_buffer"] = ops::ones({2, 2});
  v1.tensors["optimizer.bank.prototypes"] = ops::ones({3, 4});
  v1.metadata = {{"format", "mdp-training-state"}, {"version", "1"}, {"step", "40"}, {"weights", "iter_40.safetensors"},
                 {"config", ""}, {"data.epoch", "0"}, {"data.index", "40"}, {"method", "mdp"},
                 {"rng", "1,2,3,4,0,0x0p+0"}, {"mix_rng", "5,6,7,8"}};
  save_tensor_file((tmp / "v1.state.safetensors").string(), v1);
  s.add("version1.state.safetensors", slurp(tmp / "v1.state.safetensors"));
}

void config_seeds(Seeds& s, const fs::path& repo) {
  const std::vector<std::string> sets = {"train.lr=0.02\nmodel.depth=18\n", "data.crop=[64, 64]\ndata.datasets=[\"voc\", \"ade20k\"]\n",
                                         "train.device=cuda:0\nmdp.tau=1e-2\n"};
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(repo / "configs")) {
    if (e.path().extension() != ".yaml") continue;
    s.add(e.path().stem().string() + ".yaml", join({slurp(e.path()), sets[size_t(n++) % sets.size()]}));
  }
}

void label_mapping_seeds(Seeds& s, const fs::path& repo) {
  s.add("voc_ade20k_label_mapping.txt", slurp(repo / "configs" / "pretrain" / "voc_ade20k_label_mapping.txt"));
  s.add("small.txt", "# merged class = its members\nvoc/person = ade20k/person\n  voc/cat=ade20k/animal  \n\n");
}

void folder_seeds(Seeds& s, const fs::path& data, const fs::path& tmp) {
  // A generated domain as write_generated lays it out (layout.txt, classes, palette, splits).
  data::write_generated(data::demo_domains(0, 16, 16, 2, 1), (tmp / "generated").string());
  for (const auto& e : fs::directory_iterator(tmp / "generated")) {
    if (!e.is_directory()) continue;
    const fs::path d = e.path();
    s.add("generated_" + d.filename().string(),
          join({slurp(d / "layout.txt"), slurp(d / "classes.txt"), slurp(d / "palette.txt"), slurp(d / "splits" / "train.txt")}));
  }
  // MMSegmentation's pseudo_dataset as `mdp data import` describes it (write_folder_layout), its real splits.
  data::FolderOptions o;
  o.name = "pseudo";
  o.root = (tmp / "pseudo").string();
  o.image_dir = "imgs";
  o.label_dir = "gts";
  o.image_suffix = "_img.jpg";
  o.label_suffix = "_gt.png";
  o.split_file = "splits/{split}.txt";
  o.class_names = {"background", "object"};
  fs::create_directories(o.root);
  data::write_folder_layout(o);
  s.add("pseudo_dataset", join({slurp(fs::path(o.root) / "layout.txt"), "", "", slurp(data / "pseudo_dataset" / "splits" / "train.txt")}));
  s.add("classes_and_palette", join({"name = web\nclasses_file = classes.txt\npalette_file = palette.txt\nsplit_file = splits/{split}.txt\n"
                                     "reduce_zero_label = true\n",
                                     "road\nsky\n", "128 64 128\n70 130 180\n", "a\nb\n"}));
}

void dataset_list_seeds(Seeds& s, const fs::path& data) {
  const fs::path sets = data / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation";
  const std::string csv = slurp(data / "ADEChallengeData2016" / "objectInfo150.csv");
  for (const char* split : {"train", "val", "trainval", "aug"})
    s.add(std::string("voc_") + split, join({slurp(sets / (std::string(split) + ".txt")), csv}));
}

}  // namespace

int main(int argc, char** argv) {
  fs::path repo, data, out;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--repo") repo = argv[i + 1];
    else if (a == "--data") data = argv[i + 1];
    else if (a == "--out") out = argv[i + 1];
  }
  if (repo.empty() || data.empty() || out.empty()) {
    std::fprintf(stderr, "usage: make_seeds --repo DIR --data DIR --out DIR\n");
    return 2;
  }
  try {
    const fs::path tmp = out / ".tmp";
    fs::create_directories(tmp);
    Seeds safetensors{out / "safetensors"}, run{out / "run_state"}, config{out / "config"}, mapping{out / "label_mapping"},
        folder{out / "folder_layout"}, lists{out / "dataset_lists"};
    safetensors_seeds(safetensors, tmp);
    run_state_seeds(run, safetensors, tmp);
    config_seeds(config, repo);
    label_mapping_seeds(mapping, repo);
    folder_seeds(folder, data, tmp);
    dataset_list_seeds(lists, data);
    fs::remove_all(tmp);
    for (const Seeds* s : {&safetensors, &run, &config, &mapping, &folder, &lists})
      std::printf("make_seeds: %d seeds in %s\n", s->count, s->dir.string().c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
