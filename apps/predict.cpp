// predict.cpp: read -> (resize) -> normalise -> DeepLabV3 -> logits at the original size -> argmax ->
// palette PNG + overlay PNG. Before anything is written, every output path is checked: none may be an
// input image, no two inputs may share one, and an existing file is replaced only with --overwrite.
#include "apps/predict.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <sstream>

#include "apps/cli.h"
#include "apps/common.h"
#include "data/dataset.h"
#include "data/png.h"
#include "data/transforms.h"
#include "nn/checkpoint.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"
#include "tensor/threads.h"

namespace mdp::apps {
namespace fs = std::filesystem;
namespace {
std::array<float, 3> triple(const std::string& s, const char* opt) {
  std::array<float, 3> r{};
  std::stringstream ss(s);
  std::string item;
  int n = 0;
  while (std::getline(ss, item, ',')) {
    MDP_CHECK(n < 3, "mdp predict: {} takes three comma-separated numbers, got '{}'", opt, s);
    try {
      r[size_t(n++)] = std::stof(item);
    } catch (...) {
      throw Error(fmt::format("mdp predict: {} takes three comma-separated numbers, got '{}'", opt, s));
    }
  }
  MDP_CHECK(n == 3, "mdp predict: {} takes three comma-separated numbers, got '{}'", opt, s);
  return r;
}

// The images to predict: `in` itself, or the .jpg/.png files of the directory `in`, sorted.
std::vector<std::string> input_images(const std::string& in) {
  if (!fs::is_directory(in)) return {in};
  std::vector<std::string> files;
  for (auto& e : fs::directory_iterator(in)) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  MDP_CHECK(!files.empty(), "mdp predict: no .jpg or .png images in '{}'", in);
  return files;
}

// The two files written for an input image: <out>/<stem>.png (labels) and <out>/<stem>_overlay.png.
std::array<fs::path, 2> outputs_of(const std::string& image, const std::string& out) {
  std::string stem = fs::path(image).stem().string();
  return {fs::path(out) / (stem + ".png"), fs::path(out) / (stem + "_overlay.png")};
}

// Refuses, before anything is written, an output that would replace an input image (never allowed), one
// that two inputs would both write (a.jpg and a.png), and an existing file unless overwrite is set.
void check_outputs(const std::vector<std::string>& files, const std::string& out, bool overwrite) {
  std::map<std::string, std::string> inputs, written;  // canonical path -> the path as given
  for (const std::string& f : files) inputs[fs::weakly_canonical(f).string()] = f;
  for (const std::string& f : files)
    for (const fs::path& o : outputs_of(f, out)) {
      std::string key = fs::weakly_canonical(o).string();
      auto input = inputs.find(key);
      if (input != inputs.end())
        throw Error(fmt::format("mdp predict: the output {} would replace the input image {}; choose another --output "
                                "directory (nothing was written)", o.string(), input->second));
      auto [at, fresh] = written.emplace(key, f);
      MDP_CHECK(fresh, "mdp predict: the inputs {} and {} would both write {}; rename one or predict them separately "
                "(nothing was written)", at->second, f, o.string());
      MDP_CHECK(overwrite || !fs::exists(o), "mdp predict: {} already exists; pass --overwrite to replace it, or choose "
                "another --output directory (nothing was written)", o.string());
    }
}
}  // namespace

int predict_main(int argc, char** argv) {
  cli::Parser p("predict", "Predicts label maps (palette PNGs) and colour overlays for an image or a directory.",
                {{"--checkpoint", "FILE", "model weights (safetensors; a torchvision export loads as it is)", ""},
                 {"--input", "PATH", "an image or a directory of .jpg/.png images", ""},
                 {"--output", "DIR", "where <name>.png (labels) and <name>_overlay.png go", ""},
                 {"--model", "NAME", "deeplabv3-torchvision | deeplabv3-mmseg (default: the checkpoint's)", "deeplabv3-mmseg"},
                 {"--num-classes", "N", "classes of the checkpoint (default: the checkpoint's)", "21"},
                 {"--depth", "D", "ResNet depth (default: the checkpoint's)", "50"},
                 {"--width", "W", "ResNet width multiplier (default: the checkpoint's)", "1.0"},
                 {"--channels", "C", "head channels, -1: the layout's default (default: the checkpoint's)", "-1"},
                 {"--no-resize", "", "feed the image at its own size (default: keep-ratio resize to 2048x512)", ""},
                 {"--scale", "W,H", "test resize scale", "2048,512"},
                 {"--mean", "R,G,B", "normalisation mean on [0,1]", "0.485,0.456,0.406"},
                 {"--std", "R,G,B", "normalisation std on [0,1]", "0.229,0.224,0.225"},
                 {"--mode", "M", "whole | slide", "whole"},
                 {"--device", "D", "cpu | cuda", "cpu"},
                 {"--threads", "T", "CPU threads", "2"},
                 {"--overwrite", "", "replace output files that already exist (input images are never replaced)", ""}});
  if (!p.parse(argc, argv, 2)) return 0;
  MDP_CHECK(p.has("--checkpoint") && p.has("--input") && p.has("--output"),
            "mdp predict: --checkpoint, --input and --output are required");
  set_num_threads(int(p.integer("--threads")));
  Device dev = Device::parse(p.str("--device"));
  std::string ck = p.str("--checkpoint"), in = p.str("--input"), out = p.str("--output");
  MDP_CHECK(fs::exists(ck), "mdp predict: checkpoint '{}' does not exist", ck);
  MDP_CHECK(fs::exists(in), "mdp predict: input '{}' does not exist", in);
  const std::vector<std::string> files = input_images(in);
  check_outputs(files, out, p.has("--overwrite"));
  prepare_work_dir(out);

  // The model: what the checkpoint's metadata says (mdp train writes it), else the flags' defaults (a
  // torchvision export has none); a flag given on the command line overrides either.
  Config mcfg(model_keys());
  int num_classes = 21;
  const bool described = model_from_metadata(safetensors::read(ck).metadata, mcfg, num_classes);
  const std::pair<const char*, const char*> flags[] = {
      {"--model", "model.name"}, {"--depth", "model.depth"}, {"--width", "model.width"}, {"--channels", "model.channels"}};
  for (auto [flag, key] : flags)
    if (!described || p.has(flag)) mcfg.set(std::string(key) + "=" + p.str(flag));
  if (p.has("--num-classes") || !described) num_classes = int(p.integer("--num-classes"));
  mcfg.set("model.aux_head=false");  // an auxiliary head's weights are skipped below
  std::string model_name = mcfg.s("model.name");
  MDP_CHECK(model_name == "deeplabv3-torchvision" || model_name == "deeplabv3-mmseg",
            "mdp predict: --model '{}' is not deeplabv3-torchvision or deeplabv3-mmseg", model_name);
  nn::DeepLabV3Config mc = seg_model_config(mcfg, num_classes);
  data::Palette palette = data::voc_colormap(256);
  std::printf("model: %s, ResNet-%ld width %g, %d classes (%s)\n", model_name.c_str(), long(mcfg.i("model.depth")),
              mcfg.f("model.width"), num_classes, described ? "from the checkpoint" : "from the flags");
  nn::DeepLabV3 model(mc);
  nn::LoadReport r = nn::load_weights(model, ck, {false, "", {}, {}});
  for (auto& n : r.unexpected)
    MDP_CHECK(n.rfind("aux_classifier.", 0) == 0 || n.rfind("auxiliary_head.", 0) == 0,
              "mdp predict: '{}' does not fit a {} with {} classes:\n{}", ck, model_name, mc.num_classes, r.str());
  MDP_CHECK(r.missing.empty() && r.shape_mismatch.empty(), "mdp predict: '{}' does not fit a {} with {} classes{}:\n{}", ck,
            model_name, mc.num_classes,
            described ? "" : " (the file does not name its model: give --model, --depth, --width, --channels, --num-classes)",
            r.str());
  model.to(dev);
  model.eval();

  auto mean = triple(p.str("--mean"), "--mean"), stdv = triple(p.str("--std"), "--std");
  data::NormalizeArgs norm;
  for (int i = 0; i < 3; ++i) {
    norm.mean[size_t(i)] = mean[size_t(i)] * 255.f;
    norm.std[size_t(i)] = stdv[size_t(i)] * 255.f;
  }
  auto scale = triple(p.str("--scale") + ",0", "--scale");
  InferenceOptions io;
  io.mode = p.str("--mode");
  for (const std::string& f : files) {
    data::Sample s;
    s.image = data::read_rgb_image(f);
    s.width = s.image.width;
    s.height = s.image.height;
    data::Image original = s.image;
    if (!p.has("--no-resize")) {
      auto [w, h] = data::rescale_size(s.width, s.height, int(scale[0]), int(scale[1]));
      s.image = data::resize_bilinear(s.image, w, h);
      s.width = w;
      s.height = h;
    }
    data::PreparedSample ps = data::normalize(std::move(s), norm);
    Tensor x = ops::to(ops::from_blob_copy(ps.image.data(), {1, 3, ps.height, ps.width}, DType::Float32), dev);
    Tensor pred = ops::to(ops::argmax(infer(model, x, original.height, original.width, io), 1), Device::cpu());  // (1, H, W)
    data::Image labels(original.width, original.height, 1), overlay(original.width, original.height, 3);
    const int64_t* P = pred.data<int64_t>();
    for (int64_t i = 0; i < int64_t(original.width) * original.height; ++i) {
      int64_t c = P[i];
      labels.pixels[size_t(i)] = uint8_t(std::min<int64_t>(c, 255));
      const auto& col = palette[size_t(std::min<int64_t>(c, 255))];
      for (int k = 0; k < 3; ++k)
        overlay.pixels[size_t(i * 3 + k)] = uint8_t((int(original.pixels[size_t(i * 3 + k)]) + int(col[size_t(k)])) / 2);
    }
    auto [label_path, overlay_path] = outputs_of(f, out);
    data::write_indexed_png(label_path.string(), labels, palette);
    data::write_png(overlay_path.string(), overlay);
    std::printf("%s -> %s\n", f.c_str(), label_path.c_str());
  }
  return 0;
}

}  // namespace mdp::apps
