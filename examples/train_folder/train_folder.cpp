// train_folder.cpp: a standalone segmentation training app on the installed mdp library, in the spirit
// of a hundred-line PyTorch script: a folder dataset (images/, labels/, a split list), MMSegmentation's
// training pipeline, DeepLabV3 on a small ResNet, AdamW with a poly schedule, then mIoU on the val split.
// What it deliberately is not: `mdp train` (no config files, checkpoints, resume or logs).
//
//   train_folder ROOT NUM_CLASSES [ITERS] [--image-dir D --label-dir D --image-suffix S --label-suffix S]
//   e.g. train_folder ../shared/data/pseudo_dataset 4 20 --image-dir imgs --label-dir gts \
//          --image-suffix _img.jpg --label-suffix _gt.png   (split lists: ROOT/splits/{train,val}.txt)
#include <mdp/autograd/engine.h>
#include <mdp/autograd/functions.h>
#include <mdp/data/folder.h>
#include <mdp/data/loader.h>
#include <mdp/mdp/evaluation.h>
#include <mdp/nn/deeplabv3.h>
#include <mdp/nn/lr_schedule.h>
#include <mdp/nn/optimizer.h>
#include <mdp/tensor/error.h>
#include <mdp/tensor/random.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

using namespace mdp;

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ROOT NUM_CLASSES [ITERS] [--image-dir D] [--label-dir D] [--image-suffix S] "
                 "[--label-suffix S]\n", argv[0]);
    return 2;
  }
  std::map<std::string, std::string> flags;
  int iters = 20, positional = 0;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 && i + 1 < argc) flags[a] = argv[++i];
    else if (positional++ == 0) iters = std::atoi(a.c_str());
  }
  auto flag = [&](const char* name, const char* fallback) { return flags.count(name) ? flags[name] : std::string(fallback); };
  auto split = [&](const std::string& name) {
    data::FolderOptions o;
    o.root = argv[1];
    o.num_classes = std::atoi(argv[2]);
    o.image_dir = flag("--image-dir", "images");
    o.label_dir = flag("--label-dir", "labels");
    o.image_suffix = flag("--image-suffix", ".jpg");
    o.label_suffix = flag("--label-suffix", ".png");
    o.split_file = "splits/" + name + ".txt";
    return data::open_folder(o);
  };
  auto train_set = split("train"), val_set = split("val");
  manual_seed(0);

  // DeepLabV3 (MMSegmentation's layout) on a ResNet-18 at output stride 8, no ImageNet weights.
  nn::DeepLabV3Config cfg;
  cfg.layout = nn::SegLayout::MMSeg;
  cfg.backbone.depth = 18;
  cfg.backbone.include_top = false;
  cfg.num_classes = train_set->num_classes();
  cfg.channels = 64;
  nn::DeepLabV3 model(cfg);
  model.train();

  nn::AdamW opt(nn::make_param_groups(model), nn::AdamWOptions{.lr = 1e-3, .weight_decay = 0.01});
  nn::LrScheduleConfig sc;
  sc.policy = "poly";
  sc.base_lr = 1e-3;
  sc.min_lr = 1e-5;
  sc.max_iters = iters;
  nn::LrSchedule schedule(sc);

  // RandomResize + RandomCrop(128) + RandomFlip + PhotoMetricDistortion + Normalize, 2 images a batch.
  data::LoaderOptions lo;
  lo.batch_size = 2;
  lo.num_workers = 2;
  data::Loader loader(train_set, data::train_pipeline(128, 128, 256, 128), lo);
  data::Batch batch;
  for (int it = 1; it <= iters; ++it) {
    opt.set_lr(schedule.at(it - 1));
    opt.zero_grad();
    while (!loader.next(batch)) {}  // false once at the end of each epoch
    Tensor logits = model.forward_all(batch.images).out;             // (N, K, H, W)
    Tensor loss = cross_entropy(logits, batch.labels, Tensor(), batch.ignore_index);
    backward(loss);
    opt.step();
    std::printf("iter %d/%d  loss %.4f  lr %.2e\n", it, iters, loss.item(), schedule.at(it - 1));
  }

  // Whole-image evaluation of the val split at its original size (Normalize only), MMSegmentation's metrics.
  data::PipelineOptions test;
  SegMetrics metrics = evaluate(model, val_set, test, EvaluateOptions{});
  std::fputs(metrics.table(val_set->class_names()).c_str(), stdout);
  return 0;
} catch (const mdp::Error& e) {
  std::fprintf(stderr, "train_folder: error: %s\n", e.what());
  return 1;
}
