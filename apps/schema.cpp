// schema.cpp: see schema.h.
#include "apps/schema.h"

namespace mdp::apps {

std::vector<Key> data_keys() {
  return {
      {"data.dataset", Type::String, "generated", "voc | ade20k | cityscapes | coco-stuff | folder | generated"},
      {"data.root", Type::String, "", "dataset root (generated: where it is written; empty = <work-dir>/data)"},
      {"data.domain", Type::String, "shapes_c", "generated: which domain (shapes_a..c; world_a, world_b, world_c, world_i)"},
      {"data.generated_size", Type::IntList, "[64, 64]", "generated: image width and height"},
      {"data.generated_images", Type::IntList, "[200, 50]", "generated: train, val (and test) images per domain"},
      {"data.seed", Type::Int, "0", "generated: rendering seed"},
      // folder: each key set here overrides <root>/layout.txt; without that file they describe the layout.
      {"data.image_dir", Type::String, "", "folder: images folder under the root (empty: layout.txt's, else images)"},
      {"data.label_dir", Type::String, "", "folder: label maps folder under the root (empty: layout.txt's, else labels)"},
      {"data.image_suffix", Type::String, "", "folder: image file ending, as _img.jpg (empty: layout.txt's, else .jpg)"},
      {"data.label_suffix", Type::String, "", "folder: label file ending, as _gt.png (empty: layout.txt's, else .png)"},
      {"data.split_file", Type::String, "", "folder: ids of a split, {split} replaced by it, as splits/{split}.txt (empty: layout.txt's, else every image)"},
      {"data.classes_file", Type::String, "", "folder: class names, one per line (empty: layout.txt's)"},
      {"data.num_classes", Type::Int, "0", "folder: classes named class_0.. when there is no classes file (0: layout.txt's)"},
      {"data.reduce_zero_label", Type::String, "auto", "folder: auto (layout.txt's, else false) | true (0 is ignored, v -> v-1) | false"},
      {"data.train_split", Type::String, "train", "training split"},
      {"data.val_split", Type::String, "val", "evaluation split"},
      {"data.scale", Type::IntList, "[2048, 512]", "RandomResize / test Resize scale (long side, short side)"},
      {"data.ratio_range", Type::FloatList, "[0.5, 2.0]", "RandomResize ratio range"},
      {"data.crop", Type::IntList, "[512, 512]", "RandomCrop size (height, width)"},
      {"data.cat_max_ratio", Type::Float, "0.75", "RandomCrop: largest share of one class in a crop"},
      {"data.flip", Type::Float, "0.5", "RandomFlip probability"},
      {"data.photometric", Type::Bool, "true", "PhotoMetricDistortion"},
      {"data.workers", Type::Int, "2", "loader threads"},
      {"data.repeat", Type::Int, "1", "repeat the training split this many times per epoch (MMSeg RepeatDataset)"},
  };
}

std::vector<Key> model_keys() {
  return {
      {"model.name", Type::String, "deeplabv3-mmseg", "deeplabv3-mmseg | deeplabv3-torchvision | linear-probe (BN + 1x1 conv)"},
      {"model.depth", Type::Int, "50", "ResNet depth: 18, 34, 50, 101"},
      {"model.width", Type::Float, "1.0", "ResNet width multiplier"},
      {"model.deep_stem", Type::Bool, "false", "v1c deep stem"},
      {"model.channels", Type::Int, "-1", "head channels (-1: 512 mmseg / 256 torchvision)"},
      {"model.aux_head", Type::Bool, "false", "FCN auxiliary head on layer3"},
      {"model.pretrained", Type::String, "", "backbone weights (safetensors) to start from"},
      {"model.norm", Type::String, "bn", "bn | syncbn (batch statistics over all ranks of a distributed run)"},
      {"model.dropout", Type::Float, "-1", "dropout probability of the heads (-1: the architecture's, MMSeg 0.1, torchvision 0.5; 0: none)"},
  };
}

std::vector<Key> eval_keys() {
  return {
      {"eval.mode", Type::String, "whole", "whole | slide"},
      {"eval.crop", Type::IntList, "[512, 512]", "slide window (height, width)"},
      {"eval.stride", Type::IntList, "[341, 341]", "slide stride (height, width)"},
      {"eval.max_images", Type::Int, "0", "evaluate at most this many images (0: all)"},
  };
}

std::vector<Key> train_schema() {
  std::vector<Key> k = data_keys();
  for (auto& x : model_keys()) k.push_back(x);
  std::vector<Key> t = {
      {"train.batch", Type::Int, "16", "images per iteration"},
      {"train.iters", Type::Int, "40000", "iterations"},
      {"train.optimizer", Type::String, "sgd", "sgd | adamw"},
      {"train.lr", Type::Float, "0.01", "base learning rate"},
      {"train.momentum", Type::Float, "0.9", "SGD momentum"},
      {"train.weight_decay", Type::Float, "0.0005", "weight decay"},
      {"train.schedule", Type::String, "poly", "poly | cosine | step | constant"},
      {"train.power", Type::Float, "0.9", "poly power"},
      {"train.min_lr", Type::Float, "0.0001", "poly / cosine final rate"},
      {"train.steps", Type::IntList, "[]", "step schedule: iterations where the rate drops by gamma"},
      {"train.warmup_iters", Type::Int, "0", "linear warmup iterations"},
      {"train.warmup_ratio", Type::Float, "0.1", "warmup starting fraction"},
      {"train.head_lr_mult", Type::Float, "1.0", "learning-rate multiplier of the heads"},
      {"train.freeze_backbone", Type::Bool, "false", "backbone frozen: no gradients, batch norm in eval mode (linear probe)"},
      {"train.no_decay_norm_bias", Type::Bool, "false", "no weight decay for norms and biases"},
      {"train.grad_clip", Type::Float, "0", "clip gradients to this global norm (0: off)"},
      {"train.memory_check", Type::Bool, "true", "before the first iteration: stop if the run's estimated peak memory exceeds what is available"},
      {"train.memory_limit_mb", Type::Float, "0", "the memory the run may use, in MiB (0: the system's MemAvailable)"},
      {"train.accumulate", Type::Int, "1", "micro-batches per optimizer step"},
      {"train.aux_weight", Type::Float, "0.4", "auxiliary head loss weight"},
      {"train.log_interval", Type::Int, "50", "iterations between log lines"},
      {"train.tensorboard", Type::Bool, "false", "also write log.jsonl's numbers as TensorBoard scalars (events.out.tfevents.*)"},
      {"train.eval_interval", Type::Int, "4000", "iterations between evaluations (0: only at the end)"},
      {"train.checkpoint_interval", Type::Int, "4000", "iterations between checkpoints"},
      {"train.seed", Type::Int, "0", "random seed"},
      {"train.device", Type::String, "cpu", "cpu | cuda | cuda:N"},
      {"train.threads", Type::Int, "2", "CPU threads"},
      {"train.precision", Type::String, "fp32", "fp32 | bf16 (convolutions and matmuls in bfloat16, float32 weights)"},
  };
  k.insert(k.end(), t.begin(), t.end());
  for (auto& x : eval_keys()) k.push_back(x);
  return k;
}

std::vector<Key> pretrain_schema() {
  std::vector<Key> k;
  for (auto& x : data_keys())
    if (x.name != "data.dataset" && x.name != "data.root" && x.name != "data.domain" && x.name != "data.val_split" &&
        x.name != "data.repeat")
      k.push_back(x);
  std::vector<Key> more = {
      {"data.datasets", Type::StringList, "[\"generated:shapes_a\", \"generated:shapes_b\"]",
       "datasets to concatenate: voc | ade20k | cityscapes | coco-stuff | folder | generated:<domain>"},
      {"data.roots", Type::StringList, "[]", "their roots (generated: one root for all; empty = <work-dir>/data)"},
      {"data.splits", Type::StringList, "[]", "their training splits (empty: data.train_split for all)"},
      {"data.weights", Type::FloatList, "[]", "sampling weight of each dataset (empty: in proportion to size)"},
      {"data.unlabeled", Type::IntList, "[]", "indices into data.datasets read without labels (MDP: pseudo-labels)"},
      {"data.label_mapping", Type::String, "", "label unification: a file merging classes across datasets"},
      {"pretrain.method", Type::String, "mdp", "mdp | supervised | multi-head | pixel-contrast | classification"},
      {"pretrain.sequential", Type::Bool, "false", "one dataset after another (iterations shared by data.weights)"},
      {"model.depth", Type::Int, "50", "ResNet depth: 18, 34, 50, 101"},
      {"model.width", Type::Float, "1.0", "ResNet width multiplier"},
      {"model.deep_stem", Type::Bool, "false", "v1c deep stem"},
      {"model.norm", Type::String, "bn", "bn | syncbn (batch statistics over all ranks of a distributed run)"},
      {"model.pretrained", Type::String, "", "initial backbone weights (the two-stage ImageNet -> MDP variant)"},
      {"model.channels", Type::Int, "512", "supervised and multi-head: DeepLabV3 (MMSeg) head channels"},
      {"mdp.dim", Type::Int, "256", "embedding dimension D"},
      {"mdp.tau", Type::Float, "0.07", "temperature"},
      {"mdp.embed_bn", Type::Bool, "false",
       "a batch norm without affine on the embeddings before L2-normalising (not the paper's: removes the shared direction)"},
      {"mdp.upsample_embeddings", Type::Bool, "false",
       "the loss at the labels' resolution: embeddings upsampled bilinearly to the crop (not the paper's: it downsamples labels to stride 8)"},
      {"mdp.region_balanced", Type::Bool, "false",
       "every (image, class) region weighs the same in the loss (not the paper's: a mean over pixels)"},
      {"mdp.uniformity", Type::Float, "0",
       "weight of a uniformity term on the unit embeddings (not the paper's: Wang & Isola 2020, mdp/uniformity.h); 0: none"},
      {"mdp.sparse_coding", Type::String, "pull", "pull (setting 2) | exclude (setting 1) | none"},
      {"mdp.k", Type::Int, "5", "sparse coding: top-k prototypes"},
      {"mdp.lambda_sc", Type::Float, "0.1", "sparse coding loss weight (pull)"},
      {"mdp.other_datasets_only", Type::Bool, "false", "sparse coding among other datasets' prototypes only"},
      {"mdp.bank", Type::String, "queue", "prototype bank: queue (two-step average) | ema"},
      {"mdp.queue_length", Type::Int, "4096", "per-class queue length N"},
      {"mdp.ema_momentum", Type::Float, "0.99", "prototype EMA momentum (bank ema)"},
      {"mdp.center_prototypes", Type::Bool, "false",
       "the loss sees each prototype minus the mean of the filled ones (not the paper's: a test of the shared direction)"},
      {"mdp.key_momentum", Type::Float, "0.999", "momentum encoder m"},
      {"mdp.scale_to_run", Type::Bool, "false", "key momentum and queue length from the run's length (mdp/run_scaling.h)"},
      {"mdp.region_mix", Type::Float, "0.25", "probability of region-level (CutMix) mixing per sample"},
      {"mdp.pixel_mix", Type::Float, "0.25", "probability of pixel-level (ClassMix) mixing per sample"},
      {"mdp.blend", Type::Bool, "false", "pixel mixing as blended intermediate classes (soft targets)"},
      {"mdp.pseudo_threshold", Type::Float, "-1", "unlabeled pixels: least cosine to the nearest prototype (-1: none)"},
      {"pixel_contrast.tau", Type::Float, "0.1", "pixel-contrast: temperature"},
      {"pixel_contrast.base_tau", Type::Float, "0.07", "pixel-contrast: the loss is scaled by tau / base_tau"},
      {"pixel_contrast.max_views", Type::Int, "100", "pixel-contrast: anchors per class and image"},
      {"pixel_contrast.max_samples", Type::Int, "1024", "pixel-contrast: anchors per batch"},
      {"train.batch", Type::Int, "16", "images per iteration"},
      {"train.iters", Type::Int, "10000", "iterations"},
      {"train.optimizer", Type::String, "sgd", "sgd | adamw"},
      {"train.lr", Type::Float, "0.01", "base learning rate"},
      {"train.momentum", Type::Float, "0.9", "SGD momentum"},
      {"train.weight_decay", Type::Float, "0.0005", "weight decay"},
      {"train.power", Type::Float, "0.9", "poly power"},
      {"train.min_lr", Type::Float, "0.0001", "final rate"},
      {"train.warmup_iters", Type::Int, "0", "linear warmup iterations"},
      {"train.log_interval", Type::Int, "50", "iterations between log lines"},
      {"train.tensorboard", Type::Bool, "false", "also write log.jsonl's numbers as TensorBoard scalars (events.out.tfevents.*)"},
      {"train.checkpoint_interval", Type::Int, "1000", "iterations between checkpoints"},
      {"train.seed", Type::Int, "0", "random seed"},
      {"train.device", Type::String, "cpu", "cpu | cuda | cuda:N"},
      {"train.threads", Type::Int, "2", "CPU threads"},
      {"train.precision", Type::String, "fp32", "fp32 | bf16 (convolutions and matmuls in bfloat16, float32 weights)"},
  };
  k.insert(k.end(), more.begin(), more.end());
  return k;
}

}  // namespace mdp::apps
