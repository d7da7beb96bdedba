// pretrain_step.cpp: see pretrain_step.h.
#include "pretrain_step.h"

#include <cmath>
#include <cstring>
#include <tuple>

#include "../autograd/autocast.h"
#include "../autograd/engine.h"
#include "../autograd/functions.h"
#include "../nn/data_parallel.h"
#include "../nn/layers.h"
#include "../tensor/error.h"
#include "../tensor/ops.h"
#include "image_label.h"
#include "multi_head.h"
#include "pseudo_label.h"

namespace mdp {

PretrainMethod pretrain_method_from_name(const std::string& name) {
  if (name == "mdp") return PretrainMethod::MDP;
  if (name == "supervised") return PretrainMethod::Supervised;
  if (name == "multi-head") return PretrainMethod::MultiHead;
  if (name == "pixel-contrast") return PretrainMethod::PixelContrast;
  if (name == "classification") return PretrainMethod::Classification;
  throw Error(fmt::format("config: pretrain.method '{}' is not mdp, supervised, multi-head, pixel-contrast or classification", name));
}

std::string name_of(PretrainMethod m) {
  switch (m) {
    case PretrainMethod::MDP: return "mdp";
    case PretrainMethod::Supervised: return "supervised";
    case PretrainMethod::MultiHead: return "multi-head";
    case PretrainMethod::PixelContrast: return "pixel-contrast";
    case PretrainMethod::Classification: return "classification";
  }
  return "?";
}

PrototypeCosines prototype_cosines(const PrototypeBank& bank, const data::LabelSpace& labels) {
  std::vector<double> p = ops::to_vector(bank.class_means()), f = ops::to_vector(bank.filled());
  const int64_t C = bank.options().num_classes, D = bank.options().dim;
  double within = 0, across = 0;
  int64_t nw = 0, na = 0;
  for (int64_t i = 0; i < C; ++i)
    for (int64_t j = i + 1; j < C; ++j) {
      if (!f[size_t(i)] || !f[size_t(j)]) continue;
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += p[size_t(i * D + d)] * p[size_t(j * D + d)];
      if (labels.dataset_of_class(int(i)) == labels.dataset_of_class(int(j))) { within += dot; ++nw; }
      else { across += dot; ++na; }
    }
  return {nw ? within / double(nw) : NAN, na ? across / double(na) : NAN};
}

namespace {
// Every rank's state of one generator, in rank order (a collective): 4 words, the flag, the cached value.
std::vector<Generator::State> gather_states(nn::ProcessGroup& world, const Generator::State& s) {
  Tensor mine = ops::empty({1, 6}, DType::Int64);
  int64_t* w = mine.data<int64_t>();
  for (int i = 0; i < 4; ++i) std::memcpy(&w[i], &s.s[size_t(i)], 8);
  w[4] = s.has_cached_normal ? 1 : 0;
  std::memcpy(&w[5], &s.cached_normal, 8);
  Tensor all = world.all_gather(mine);  // (W, 6)
  std::vector<Generator::State> out(size_t(world.size()));
  const int64_t* a = all.data<int64_t>();
  for (size_t r = 0; r < out.size(); ++r) {
    for (int i = 0; i < 4; ++i) std::memcpy(&out[r].s[size_t(i)], &a[r * 6 + size_t(i)], 8);
    out[r].has_cached_normal = a[r * 6 + 4] != 0;
    std::memcpy(&out[r].cached_normal, &a[r * 6 + 5], 8);
  }
  return out;
}

bool embeds(PretrainMethod m) { return m == PretrainMethod::MDP || m == PretrainMethod::PixelContrast; }

PrototypeBankOptions bank_options(PrototypeBankOptions b, int64_t num_classes, int64_t dim) {
  b.num_classes = num_classes;
  b.dim = dim;
  return b;
}
}  // namespace

PretrainStep::PretrainStep(const PretrainStepOptions& options, std::shared_ptr<data::LabelSpace> labels)
    : o_(options),
      labels_(labels),
      bank_(bank_options(options.bank, labels->num_classes(), options.dim), options.device),
      mix_gen_(options.seed + 1 + 7919 * uint64_t(options.world ? options.world->rank() : 0)),
      sample_gen_(options.seed + 2 + 7919 * uint64_t(options.world ? options.world->rank() : 0)) {
  const std::string method = name_of(o_.method);
  const int64_t C = labels_->num_classes();
  const int32_t ignore = labels_->ignore_index();
  o_.loss.ignore_index = ignore;
  o_.pixel_contrast.ignore_index = ignore;
  o_.mix.ignore_index = ignore;
  const bool mixes = o_.mix.region_prob > 0 || o_.mix.pixel_prob > 0;
  MDP_CHECK(!o_.mix.blend || o_.method == PretrainMethod::MDP,
            "config: mdp.blend (soft targets over two prototypes) needs pretrain.method mdp, not {}", method);
  MDP_CHECK(!o_.mix.blend || o_.loss.sparse_coding != SparseCoding::Exclude,
            "config: mdp.blend (soft targets) with mdp.sparse_coding exclude: setting 1 drops each pixel's top-k other "
            "classes from the softmax, which can drop the second target; use pull or none with blending");
  MDP_CHECK(!o_.region_balanced || o_.method == PretrainMethod::MDP,
            "config: mdp.region_balanced weighs MDP's pixel-to-prototype loss, so it needs pretrain.method mdp, not {} "
            "(pixel-contrast balances its classes by anchor sampling)", method);
  MDP_CHECK(o_.uniformity == 0 || (o_.method == PretrainMethod::MDP && o_.uniformity > 0 && o_.uniformity_pixels >= 2),
            "config: mdp.uniformity {} with {} pixels: a weight >= 0 on at least 2 pixels, and only with pretrain.method mdp "
            "(this is {})", o_.uniformity, o_.uniformity_pixels, method);
  MDP_CHECK(!o_.upsample_embeddings || embeds(o_.method),
            "config: mdp.upsample_embeddings upsamples the projection head's embeddings, which pretrain.method {} does not "
            "have (its logits are already compared with the labels at their resolution)", method);
  MDP_CHECK(o_.method != PretrainMethod::MultiHead || !mixes,
            "config: pretrain.method multi-head classifies each image with its own dataset's head, so it cannot mix images "
            "across datasets: set mdp.region_mix=0 and mdp.pixel_mix=0");
  MDP_CHECK(o_.method != PretrainMethod::Classification || !mixes,
            "config: pretrain.method classification learns one label per image, which mixing would blur: set "
            "mdp.region_mix=0 and mdp.pixel_mix=0");

  // What the label space says about each class and dataset.
  class_dataset_.resize(size_t(C));
  for (int64_t g = 0; g < C; ++g) class_dataset_[size_t(g)] = labels_->dataset_of_class(int(g));
  const int datasets = labels_->num_datasets();
  dataset_classes_.resize(size_t(datasets));
  unlabeled_.resize(size_t(datasets));
  background_class_.assign(size_t(C), false);
  for (int d = 0; d < datasets; ++d) {
    if (labels_->labeled(d)) {
      for (int l = 0; l < labels_->dataset(d).num_classes(); ++l) dataset_classes_[size_t(d)].push_back(labels_->global_id(d, l));
      background_class_[size_t(labels_->global_id(d, 0))] = true;
    }
    any_unlabeled_ |= (unlabeled_[size_t(d)] = !labels_->labeled(d));
  }
  MDP_CHECK(!any_unlabeled_ || o_.method == PretrainMethod::MDP,
            "config: unlabeled datasets need pretrain.method mdp (their pseudo-labels come from the prototypes), not {}", method);
  labels->mark_unlabeled_pixels(any_unlabeled_);  // their own pixels, told from padding, get the pseudo-labels

  // The networks, in this order (their initial weights come from the default generator).
  MDPNetConfig mc{.backbone = o_.backbone, .dim = o_.dim, .embed_bn = o_.embed_bn};
  if (embeds(o_.method)) {
    query_ = std::make_unique<MDPNet>(mc);
  } else if (o_.method == PretrainMethod::Classification) {
    nn::ResNetConfig cc = o_.backbone;
    cc.include_top = true;
    cc.num_classes = int(C);
    classifier_ = std::make_unique<nn::ResNet>(cc);
  } else {
    seg_ = std::make_unique<nn::DeepLabV3>(nn::DeepLabV3Config{
        .layout = nn::SegLayout::MMSeg, .backbone = o_.backbone, .num_classes = int(C), .channels = o_.head_channels});
  }
  if (o_.method == PretrainMethod::MDP) {
    key_ = std::make_unique<MDPNet>(mc);
    copy_weights(*key_, *query_);
    key_->set_frozen(true);
    if (o_.world && o_.world->size() > 1) nn::convert_sync_batchnorm(*key_);  // the same running statistics on every rank
    key_->to(o_.device);
    key_->train();
  }
  trained().to(o_.device);
  trained().train();
  ignore_ = ops::full({}, double(ignore), DType::Int64, o_.device);
}

nn::Module& PretrainStep::trained() {
  if (query_) return *query_;
  if (seg_) return *seg_;
  return *classifier_;
}

nn::ResNet& PretrainStep::backbone() { return query_ ? query_->backbone() : seg_ ? seg_->backbone() : *classifier_; }

void PretrainStep::copy_query_to_key() {
  if (key_) copy_weights(*key_, *query_);
}

std::pair<Tensor, Tensor> PretrainStep::gathered(const Tensor& keys, const Tensor& labels) {
  Tensor k = o_.world->all_gather(ops::contiguous(ops::to(keys, Device::cpu())));    // (W N, D, h, w), rank-major
  Tensor y = o_.world->all_gather(ops::contiguous(ops::to(labels, Device::cpu())));  // (W N, h, w)
  // Rank r's image j sits at batch position j W + r (the loader's sharding): put them in that order.
  const int64_t W = o_.world->size(), N = keys.size(0);
  std::vector<double> order(size_t(W * N));
  for (int64_t j = 0; j < N; ++j)
    for (int64_t r = 0; r < W; ++r) order[size_t(j * W + r)] = double(r * N + j);
  Tensor index = ops::from_vector(order, {W * N}, DType::Int64);
  return {ops::to(ops::index_select(k, 0, index), o_.device), ops::to(ops::index_select(y, 0, index), o_.device)};
}

void PretrainStep::save_state(nn::RunState& s) const {
  s.method = name_of(o_.method);
  s.bank = key_ ? bank_.state() : nn::NamedTensors{};
  s.rng["mix"] = mix_gen_.state();
  s.rng["sample"] = sample_gen_.state();
  if (o_.world && o_.world->size() > 1) {  // every rank's own streams: "mix.rank1", ...
    std::vector<Generator::State> mix = gather_states(*o_.world, mix_gen_.state()), sample = gather_states(*o_.world, sample_gen_.state());
    for (size_t r = 1; r < mix.size(); ++r) {
      s.rng[fmt::format("mix.rank{}", r)] = mix[r];
      s.rng[fmt::format("sample.rank{}", r)] = sample[r];
    }
  }
}

void PretrainStep::load_state(const nn::RunState& s) {
  MDP_CHECK(s.method.empty() || s.method == name_of(o_.method),
            "pretraining: the checkpoint was made by pretrain.method {}, this run is {}", s.method, name_of(o_.method));
  if (key_) bank_.load_state(s.bank);
  const int rank = o_.world ? o_.world->rank() : 0;
  const std::string suffix = rank > 0 ? fmt::format(".rank{}", rank) : "";
  MDP_CHECK(rank == 0 || s.rng.count("mix" + suffix), "pretraining: the checkpoint holds no generators of rank {} (written by "
            "a run of fewer ranks); resume it with as many ranks as it was written by", rank);
  if (s.rng.count("mix" + suffix)) mix_gen_.set_state(s.rng.at("mix" + suffix));
  if (s.rng.count("sample" + suffix)) sample_gen_.set_state(s.rng.at("sample" + suffix));
}

Tensor PretrainStep::forward(nn::Module& net, const Tensor& x) {
  AutocastGuard autocast(o_.bf16);
  return net.forward(x);
}

// With upsample_embeddings, unit embeddings (N, D, h, w) -> bilinear (align_corners false, as DeepLabV3's
// logits) to the crop's (H, W) of x (N, 3, H, W) -> unit length again; otherwise unchanged.
Tensor PretrainStep::at_loss_size(const Tensor& z, const Tensor& x) const {
  if (!o_.upsample_embeddings) return z;
  return l2_normalize(resize_bilinear(z, x.size(2), x.size(3), false), 1);
}

// The key network (in eval mode: its running batch-norm statistics, which this pass leaves alone) embeds
// the unlabeled images; each stride-8 pixel takes the class of its most similar filled prototype (ignore
// below the threshold or while no prototype exists), and every crop pixel marked
// LabelSpace::kUnlabeledPixel takes the label of its stride-8 cell (nearest, as resize_nearest); padding
// stays ignore.
std::pair<Tensor, int64_t> PretrainStep::pseudo_labelled(const data::Batch& batch) {
  Tensor labels = ops::clone(batch.labels);
  std::vector<double> ids = ops::to_vector(batch.dataset_ids);
  std::vector<double> pick;
  for (size_t n = 0; n < ids.size(); ++n)
    if (unlabeled_[size_t(ids[n])]) pick.push_back(double(n));
  if (pick.empty()) return {labels, 0};
  NoGradGuard ng;
  Tensor index = ops::from_vector(pick, {int64_t(pick.size())}, DType::Int64);
  Tensor x = ops::to(ops::index_select(batch.images, 0, index), o_.device);
  key_->eval();
  Tensor keys = forward(*key_, x);  // (n, D, h, w)
  key_->train();
  Tensor y8 = pseudo_labels(keys, bank_.prototypes(), bank_.filled(), o_.pseudo_threshold, batch.ignore_index);  // (n, h, w)
  const int64_t H = labels.size(1), W = labels.size(2), h = y8.size(1), w = y8.size(2);
  std::vector<double> small = ops::to_vector(y8);
  int64_t* out = labels.data<int64_t>();
  int64_t labelled = 0;
  for (size_t j = 0; j < pick.size(); ++j) {
    const double* src = small.data() + j * size_t(h * w);
    int64_t* dst = out + int64_t(pick[j]) * H * W;
    for (int64_t yy = 0; yy < H; ++yy)
      for (int64_t xx = 0; xx < W; ++xx) {
        int64_t& v = dst[yy * W + xx];
        if (v != data::LabelSpace::kUnlabeledPixel) continue;  // padding (ignore)
        v = int64_t(src[(yy * h / H) * w + xx * w / W]);
        labelled += v != batch.ignore_index;
      }
  }
  return {labels, labelled};
}

PretrainStepResult PretrainStep::run(const data::Batch& batch, nn::Optimizer& optimizer) {
  PretrainStepResult r;
  Tensor labels = batch.labels;  // (N, H, W) int64
  if (any_unlabeled_) std::tie(labels, r.pseudo_pixels) = pseudo_labelled(batch);
  MixedBatch m = mix_batch(batch.images, labels, batch.dataset_ids, o_.mix, mix_gen_);
  Tensor x = ops::to(m.images, o_.device);  // (N, 3, H, W)
  const int32_t ignore = labels_->ignore_index();
  Tensor loss, y8, uniformity;
  double loss_weight = 0;  // MDP: the loss's denominator (its pixels, or their weights' sum)
  if (embeds(o_.method)) {
    Tensor z = forward(*query_, x);  // (N, D, H/8, W/8)
    Tensor zmean = ops::mean(z, {0, 2, 3});  // (D), no graph (ops, not autograd)
    r.embed_mean_norm = std::sqrt(ops::sum(ops::mul(zmean, zmean)).item());
    if (o_.uniformity > 0) {  // on the stride-8 embeddings, up to uniformity_pixels of them
      Tensor z8 = reshape(permute(z, {0, 2, 3, 1}), {-1, z.size(1)});  // (N h/8 w/8, D)
      uniformity = uniformity_loss(index_select(z8, 0, ops::to(sample_rows(z8.size(0), o_.uniformity_pixels, sample_gen_), o_.device)));
      r.uniformity = uniformity.item();
    }
    z = at_loss_size(z, x);  // (N, D, h, w): stride 8, or (H, W) with upsample_embeddings
    const int64_t h = z.size(2), w = z.size(3), D = z.size(1);
    y8 = ops::to(ops::resize_nearest(m.labels, h, w), o_.device);  // (N, h, w): the labels at the loss's size
    if (o_.method == PretrainMethod::MDP) {
      Tensor y2, mw;  // blending: the second label and the first one's weight, (N h w)
      if (m.labels2.defined()) {
        y2 = ops::reshape(ops::to(ops::resize_nearest(m.labels2, h, w), o_.device), {-1});
        mw = ops::reshape(ops::to(ops::resize_nearest(m.mix_weight, h, w), o_.device), {-1});
      }
      Tensor zp = reshape(permute(z, {0, 2, 3, 1}), {-1, D});  // (N h w, D)
      Tensor a = o_.region_balanced ? region_weights(y8, labels_->num_classes(), o_.device) : Tensor();  // (N h w)
      ProtoLossResult p = proto_loss(zp, ops::reshape(y8, {-1}), bank_.prototypes(), bank_.filled(), o_.loss, class_dataset_,
                                     {.labels2 = y2, .mix_weight = mw, .weight = a});
      loss_weight = p.weight;
      if (mw.defined())  // with blending, only hard-labelled pixels update the bank
        y8 = ops::where(ops::compare(ops::CompareOp::Eq, ops::reshape(mw, y8.shape()), 1.0), y8, ignore_);
      loss = p.loss;
      r.proto = p.proto;
      r.sparse = p.sparse;
      r.pixels = p.pixels;
    } else {
      PixelContrastResult p = pixel_contrast_loss(z, y8, o_.pixel_contrast, sample_gen_);
      loss = p.loss;
      r.anchors = p.anchors;
    }
  } else if (classifier_) {
    Tensor logits = mdp::to(forward(*classifier_, x), DType::Float32);                   // (N, C)
    Tensor y = ops::to(image_labels(m.labels, background_class_, ignore), o_.device);  // (N)
    loss = cross_entropy(logits, y, Tensor(), ignore);
  } else {
    Tensor logits = forward(*seg_, x);  // (N, C, H, W)
    Tensor y = ops::to(m.labels, o_.device);
    loss = o_.method == PretrainMethod::MultiHead
               ? multi_head_cross_entropy(logits, y, batch.dataset_ids, dataset_classes_, ignore)
               : cross_entropy(logits, y, Tensor(), ignore);
  }
  const bool distributed = o_.world && o_.world->size() > 1;
  if (distributed && o_.method == PretrainMethod::MDP) {  // the mean over every rank's pixels (or weights), not of the ranks' means
    Tensor n = ops::from_vector({loss_weight}, {1}, DType::Float64);
    o_.world->all_reduce_sum(n);
    const double total = ops::to_vector(n)[0], share = total > 0 ? loss_weight * o_.world->size() / total : 0.0;
    loss = mul(loss, share);
    r.proto *= share;
    r.sparse *= share;
  }
  if (uniformity.defined()) loss = add(loss, mul(uniformity, o_.uniformity));  // after the share: each rank's own
  optimizer.zero_grad();
  if (distributed && !reducer_) reducer_ = std::make_unique<nn::GradientReducer>(trained(), *o_.world);  // (a collective)
  if (distributed) reducer_->prepare_for_backward();
  backward(loss);
  if (distributed) reducer_->finish();  // every gradient the mean over the ranks
  optimizer.step();
  if (key_) {
    NoGradGuard ng;
    momentum_update(*key_, *query_, o_.key_momentum);
    Tensor keys = at_loss_size(mdp::to(forward(*key_, x), DType::Float32), x);  // (N, D, h, w) of the same mixed batch
    if (distributed) std::tie(keys, y8) = gathered(keys, y8);
    bank_.update(keys, y8);
    r.filled = bank_.num_filled();
  }
  r.loss = loss.item();
  return r;
}

}  // namespace mdp
