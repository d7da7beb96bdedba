// pretrain_mdp.cpp: Multi-Dataset Pretraining from the library API, in about a hundred lines. Two
// datasets whose label spaces differ are concatenated (never merged), and mdp::PretrainStep runs the
// paper's iteration on each batch: cross-dataset mixing, pixel-to-prototype contrast with sparse coding,
// AdamW, the momentum key encoder and the prototype bank. At the end the backbone is saved in
// torchvision naming, which `mdp train --set model.pretrained=FILE` (or nn::load_weights) fine-tunes from.
// What it deliberately is not: `mdp pretrain` (no config files, checkpoints, resume, logs or plots).
//
//   pretrain_mdp WORK_DIR [ITERS]    e.g. pretrain_mdp /tmp/mdp-example 50
// The two datasets are the generated shapes_a and shapes_b (written to WORK_DIR/data on first use); any
// data::Dataset works the same way, e.g. data::open_folder() on your own images and labels.
#include <mdp/data/folder.h>
#include <mdp/data/generated.h>
#include <mdp/data/label_space.h>
#include <mdp/data/loader.h>
#include <mdp/mdp/pretrain_step.h>
#include <mdp/mdp/run_scaling.h>
#include <mdp/nn/checkpoint.h>
#include <mdp/nn/lr_schedule.h>
#include <mdp/nn/optimizer.h>
#include <mdp/tensor/error.h>
#include <mdp/tensor/random.h>
#include <mdp/tensor/threads.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace mdp;

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s WORK_DIR [ITERS]\n", argv[0]);
    return 2;
  }
  const std::string work = argv[1];
  const int iters = argc > 2 ? std::atoi(argv[2]) : 50, batch_size = 8;
  set_num_threads(2);
  manual_seed(0);  // the networks' initial weights

  // Two datasets, one label space: shapes_a's classes get global ids 0..5, shapes_b's the next ones.
  const std::string data_root = work + "/data";
  std::filesystem::create_directories(data_root);
  data::ensure_generated(data::demo_domains(0, 64, 64, 64, 16), data_root);
  std::vector<data::LabelSpaceMember> members;
  for (const char* name : {"shapes_a", "shapes_b"})
    members.push_back({data::open_folder(data::generated_domain_options(data_root, name, "train")), 1.0, name});
  auto labels = std::make_shared<data::LabelSpace>(members);
  std::printf("label space: %ld classes from %d datasets, %ld images\n", long(labels->num_classes()),
              labels->num_datasets(), long(labels->size()));

  // The method: a ResNet-18 (width 1/2) at output stride 8 with a 64-d projection head; the key
  // encoder's momentum and the queue length scaled to this short run (mdp/run_scaling.h).
  PretrainStepOptions o;
  o.method = PretrainMethod::MDP;
  o.backbone = {.depth = 18, .replace_stride_with_dilation = {false, true, true}, .width = 0.5, .include_top = false};
  o.dim = 64;
  RunTimeConstants scaled = scaled_to_run(iters, batch_size);
  o.key_momentum = scaled.key_momentum;
  o.bank.queue_length = scaled.queue_length;
  o.mix = {0.25, 0.25, false, 255};  // region (CutMix) and pixel (ClassMix) mixing across datasets
  PretrainStep step(o, labels);

  nn::AdamW opt(nn::make_param_groups(step.trained()), nn::AdamWOptions{.lr = 1e-3, .weight_decay = 0.01});
  nn::LrScheduleConfig sc;
  sc.base_lr = 1e-3;
  sc.min_lr = 1e-5;
  sc.max_iters = iters;
  sc.warmup_iters = iters / 10;
  nn::LrSchedule schedule(sc);

  // Batches drawn across both datasets, through MMSegmentation's training pipeline (crop 64x64).
  data::LoaderOptions lo;
  lo.batch_size = batch_size;
  lo.num_workers = 2;
  lo.sample_weights = labels->sample_weights();
  data::Loader loader(labels, data::train_pipeline(64, 64, 128, 64), lo);
  data::Batch batch;
  for (int it = 1; it <= iters; ++it) {
    opt.set_lr(schedule.at(it - 1));
    while (!loader.next(batch)) {}  // false once at the end of each epoch
    PretrainStepResult r = step.run(batch, opt);
    PrototypeCosines cos = prototype_cosines(step.bank(), *labels);
    std::printf("iter %d/%d  loss %.4f  proto %.3f  sc %.3f  filled %ld/%ld  cos within %.3f across %.3f\n", it, iters,
                r.loss, r.proto, r.sparse, long(r.filled), long(labels->num_classes()), cos.within, cos.across);
  }
  nn::save_weights(work + "/backbone.safetensors", step.backbone(), {{"source", "examples/pretrain_mdp"}});
  std::printf("backbone: %s/backbone.safetensors\n", work.c_str());
  return 0;
} catch (const mdp::Error& e) {
  std::fprintf(stderr, "pretrain_mdp: error: %s\n", e.what());
  return 1;
}
