// Suite pretrain_step: the library's pretraining iteration (mdp/pretrain_step.h) on two tiny generated
// domains: every method trains on the concatenated label space; MDP fills its bank and moves its key
// encoder by the momentum rule; an interrupted run resumed from saved weights, optimizer, bank,
// generators and loader position (a RunState written to disk and read back) reproduces the uninterrupted run's losses exactly; what a method cannot
// do is refused by name; the step measures the length of the mean embedding.
#include <boost/test/unit_test.hpp>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>

#include "data/folder.h"
#include "data/generated.h"
#include "mdp/pretrain_step.h"
#include "nn/checkpoint.h"
#include "tensor/error.h"
#include "tests/common.h"

using namespace mdp;
namespace fs = std::filesystem;

namespace {
// shapes_a + shapes_b, 16 training images of 32x32 each, written once per test process.
std::shared_ptr<data::LabelSpace> tiny_label_space() {
  static const std::string root = [] {
    std::string r = (fs::temp_directory_path() / ("mdp_pretrain_step_" + std::to_string(::getpid()))).string();
    data::write_generated(data::demo_domains(0, 32, 32, 16, 4), r);
    return r;
  }();
  std::vector<data::LabelSpaceMember> members;
  for (const char* d : {"shapes_a", "shapes_b"})
    members.push_back({data::open_folder(data::generated_domain_options(root, d, "train")), 1.0, d});
  return std::make_shared<data::LabelSpace>(members);
}

PretrainStepOptions tiny_options(PretrainMethod method) {
  PretrainStepOptions o;
  o.method = method;
  o.backbone = {.depth = 18, .replace_stride_with_dilation = {false, true, true}, .width = 0.125, .include_top = false};
  o.dim = 16;
  o.head_channels = 8;
  o.bank.queue_length = 8;
  o.key_momentum = 0.9;
  o.pixel_contrast.max_samples = 64;
  if (method == PretrainMethod::MultiHead || method == PretrainMethod::Classification) o.mix = {0, 0, false, 255};
  return o;
}

std::unique_ptr<data::Loader> tiny_loader(std::shared_ptr<data::LabelSpace> ls) {
  data::LoaderOptions lo;
  lo.batch_size = 4;
  lo.num_workers = 0;
  lo.seed = 3;
  return std::make_unique<data::Loader>(ls, data::train_pipeline(32, 32, 64, 32), lo);
}

std::unique_ptr<nn::Optimizer> adamw(nn::Module& net) {
  return std::make_unique<nn::AdamW>(nn::make_param_groups(net), nn::AdamWOptions{.lr = 1e-3, .weight_decay = 0.01});
}

// An unmixed MDP step with options `set` applied, its optimizer and loader, after one step (the bank
// filled from the first batch, which `batch` still holds); next() loads the following batch.
struct AfterOneStep {
  std::shared_ptr<data::LabelSpace> ls;
  PretrainStepOptions o;
  std::unique_ptr<PretrainStep> step;
  std::unique_ptr<nn::Optimizer> opt;
  std::unique_ptr<data::Loader> loader;
  data::Batch batch;
  void next() {
    while (!loader->next(batch)) {}
  }
};
AfterOneStep after_one_mdp_step(const std::function<void(PretrainStepOptions&)>& set) {
  manual_seed(0);
  AfterOneStep a;
  a.ls = tiny_label_space();
  a.o = tiny_options(PretrainMethod::MDP);
  a.o.mix = {0, 0, false, 255};
  set(a.o);
  a.step = std::make_unique<PretrainStep>(a.o, a.ls);
  a.opt = adamw(a.step->trained());
  a.loader = tiny_loader(a.ls);
  a.next();
  a.step->run(a.batch, *a.opt);
  return a;
}

using test::max_abs_diff;

std::vector<double> run_steps(PretrainStep& step, nn::Optimizer& opt, data::Loader& loader, int n) {
  std::vector<double> losses;
  data::Batch b;
  for (int i = 0; i < n; ++i) {
    while (!loader.next(b)) {}
    losses.push_back(step.run(b, opt).loss);
  }
  return losses;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(pretrain_step)

BOOST_AUTO_TEST_CASE(every_method_trains_on_the_concatenated_label_space) {
  for (PretrainMethod m : {PretrainMethod::MDP, PretrainMethod::Supervised, PretrainMethod::MultiHead,
                           PretrainMethod::PixelContrast, PretrainMethod::Classification}) {
    BOOST_TEST_CONTEXT(name_of(m)) {
      BOOST_TEST((pretrain_method_from_name(name_of(m)) == m));
      manual_seed(0);
      auto ls = tiny_label_space();
      PretrainStep step(tiny_options(m), ls);
      auto opt = adamw(step.trained());
      auto loader = tiny_loader(ls);
      Tensor before = ops::clone(step.backbone().state_dict().front().second);
      std::vector<double> losses = run_steps(step, *opt, *loader, 2);
      for (double l : losses) BOOST_TEST(std::isfinite(l));
      BOOST_TEST(max_abs_diff(step.backbone().state_dict().front().second, before) > 0.0);
      BOOST_TEST((step.key() != nullptr) == (m == PretrainMethod::MDP));
    }
  }
}

BOOST_AUTO_TEST_CASE(mdp_fills_the_bank_and_moves_the_key_by_the_momentum_rule) {
  manual_seed(0);
  auto ls = tiny_label_space();
  PretrainStep step(tiny_options(PretrainMethod::MDP), ls);
  auto opt = adamw(step.trained());
  auto loader = tiny_loader(ls);
  BOOST_TEST(step.bank().num_filled() == 0);
  // The key encoder starts as a copy; after one step key = 0.9 key0 + 0.1 query1 for every parameter.
  nn::NamedTensors key0;
  for (auto& [n, t] : step.key()->named_parameters()) key0.emplace_back(n, ops::clone(t));
  data::Batch b;
  while (!loader->next(b)) {}
  PretrainStepResult r = step.run(b, *opt);
  BOOST_TEST(r.filled == step.bank().num_filled());
  BOOST_TEST(r.filled >= 2);  // at least a background class of each dataset
  BOOST_TEST(r.pixels == 0);  // the bank was empty during this step's loss
  BOOST_TEST(std::abs(r.loss - (r.proto + 0.1 * r.sparse)) < 1e-4 * std::max(1.0, std::abs(r.loss)));
  auto q = step.trained().named_parameters();
  auto k = step.key()->named_parameters();
  BOOST_REQUIRE(q.size() == k.size());
  double worst = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    Tensor want = ops::add(ops::mul(key0[i].second, 0.9), ops::mul(q[i].second, 0.1));
    worst = std::max(worst, max_abs_diff(k[i].second, want));
  }
  BOOST_TEST(worst < 1e-6);
  while (!loader->next(b)) {}
  r = step.run(b, *opt);
  BOOST_TEST(r.pixels > 0);  // now pixels of the filled classes take part
}

// embed_mean_norm is |mean over the batch's pixels of the query embeddings| of the step's own forward
// (recomputed here on the same unmixed batch); with embed_bn (a non-affine BN ending the head, in the key
// encoder too) it is far smaller at the start than the plain head's.
BOOST_AUTO_TEST_CASE(the_step_measures_the_length_of_the_mean_embedding) {
  double plain = 0;
  for (bool embed_bn : {false, true}) {
    BOOST_TEST_CONTEXT("embed_bn " << embed_bn) {
      manual_seed(0);
      auto ls = tiny_label_space();
      PretrainStepOptions o = tiny_options(PretrainMethod::MDP);
      o.mix = {0, 0, false, 255};
      o.embed_bn = embed_bn;
      PretrainStep step(o, ls);
      auto opt = adamw(step.trained());
      auto loader = tiny_loader(ls);
      data::Batch b;
      while (!loader->next(b)) {}
      Tensor z;  // (N, D, h, w)
      {
        NoGradGuard ng;
        z = step.trained()(b.images);
      }
      Tensor m = ops::mean(z, {0, 2, 3});
      const double want = std::sqrt(ops::sum(ops::mul(m, m)).item());
      PretrainStepResult r = step.run(b, *opt);
      BOOST_TEST(std::abs(r.embed_mean_norm - want) < 1e-5);
      BOOST_TEST(want > 0.0);
      BOOST_TEST(want <= 1.0 + 1e-6);
      if (!embed_bn) plain = want;
      else BOOST_TEST(want < 0.5 * plain);
      bool key_has_bn = false;
      for (auto& [name, t] : step.key()->state_dict()) key_has_bn |= name == "head.proj.4.running_mean";
      BOOST_TEST(key_has_bn == embed_bn);
    }
  }
}

// upsample_embeddings: the bank holds the class means of the key embeddings upsampled to the crop (a
// reference bank fed those by hand matches it; fed the stride-8 keys and nearest labels it does not), and
// the loss counts every crop pixel of a filled class.
BOOST_AUTO_TEST_CASE(upsampled_embeddings_put_every_labelled_crop_pixel_in_the_bank_and_the_loss) {
  AfterOneStep a = after_one_mdp_step([](PretrainStepOptions& o) { o.upsample_embeddings = true; });
  PretrainStep& step = *a.step;
  data::Batch& b = a.batch;
  Tensor keys;  // (N, D, h, w) from the key encoder after its momentum update, as the step's bank update
  {
    NoGradGuard ng;
    keys = (*step.key())(b.images);
  }
  const int64_t H = b.labels.size(1), W = b.labels.size(2);
  PrototypeBank up(step.bank().options()), small(step.bank().options());
  {
    NoGradGuard ng;
    up.update(l2_normalize(resize_bilinear(keys, H, W, false), 1), b.labels);
    small.update(keys, ops::resize_nearest(b.labels, keys.size(2), keys.size(3)));
  }
  BOOST_TEST(max_abs_diff(step.bank().prototypes(), up.prototypes()) < 1e-5);
  BOOST_TEST(max_abs_diff(step.bank().prototypes(), small.prototypes()) > 1e-3);

  a.next();
  std::vector<double> filled = ops::to_vector(step.bank().filled()), y = ops::to_vector(b.labels);
  int64_t want = 0;
  for (double v : y) want += v >= 0 && v < double(filled.size()) && filled[size_t(v)] != 0;
  PretrainStepResult r = step.run(b, *a.opt);
  BOOST_TEST(r.pixels == want);
  BOOST_TEST(r.pixels > b.labels.size(0) * (H / 8) * (W / 8));  // more than a stride-8 map could hold
}

// region_balanced: the step's L_proto is proto_loss with region_weights on its own embeddings and bank
// (recomputed here), which differs from the plain mean over pixels.
BOOST_AUTO_TEST_CASE(region_balanced_weighs_every_image_class_region_the_same) {
  AfterOneStep a = after_one_mdp_step([](PretrainStepOptions& o) { o.region_balanced = true; });
  PretrainStep& step = *a.step;
  data::Batch& b = a.batch;
  a.next();
  Tensor zp, y;  // (N h w, D) and (N h w)
  ProtoLossResult want, plain;
  {
    NoGradGuard ng;
    Tensor z = step.trained()(b.images);  // (N, D, h, w)
    Tensor y8 = ops::resize_nearest(b.labels, z.size(2), z.size(3));
    zp = ops::contiguous(ops::reshape(ops::contiguous(ops::permute(z, {0, 2, 3, 1})), {-1, z.size(1)}));
    y = ops::reshape(y8, {-1});
    Tensor w = region_weights(y8, a.ls->num_classes());
    want = proto_loss(zp, y, step.bank().prototypes(), step.bank().filled(), a.o.loss, {}, {.weight = w});
    plain = proto_loss(zp, y, step.bank().prototypes(), step.bank().filled(), a.o.loss);
  }
  PretrainStepResult r = step.run(b, *a.opt);
  BOOST_TEST(std::abs(r.proto - want.proto) < 1e-4);
  BOOST_TEST(std::abs(r.sparse - want.sparse) < 1e-4);
  BOOST_TEST(std::abs(want.proto - plain.proto) > 1e-3);
}

// uniformity: with room for every stride-8 pixel, the step's term is uniformity_loss of all its query
// embeddings (recomputed here), and the loss is L_proto + lambda L_sc + weight * that term.
BOOST_AUTO_TEST_CASE(the_uniformity_term_is_added_with_its_weight) {
  AfterOneStep a = after_one_mdp_step([](PretrainStepOptions& o) {
    o.uniformity = 0.5;
    o.uniformity_pixels = 100000;
  });
  PretrainStep& step = *a.step;
  data::Batch& b = a.batch;
  a.next();
  double want = 0;
  {
    NoGradGuard ng;
    Tensor z = step.trained()(b.images);  // (N, D, h, w)
    want = uniformity_loss(ops::reshape(ops::contiguous(ops::permute(z, {0, 2, 3, 1})), {-1, z.size(1)})).item();
  }
  PretrainStepResult r = step.run(b, *a.opt);
  BOOST_TEST(std::abs(r.uniformity - want) < 1e-4);
  BOOST_TEST(r.uniformity < 0.0);
  BOOST_TEST(std::abs(r.loss - (r.proto + a.o.loss.lambda_sc * r.sparse + 0.5 * r.uniformity)) < 1e-4);
}

// The term reaches the gradient: six steps at a large weight spread the sampled embeddings (a lower term)
// far more than at a negligible one, from the same start.
BOOST_AUTO_TEST_CASE(the_uniformity_term_spreads_the_embeddings) {
  double last[2] = {0, 0};
  for (int heavy : {0, 1}) {
    AfterOneStep a = after_one_mdp_step([&](PretrainStepOptions& o) {
      o.uniformity = heavy ? 10.0 : 1e-6;
      o.uniformity_pixels = 64;
    });
    for (int k = 0; k < 6; ++k) {
      a.next();
      last[heavy] = a.step->run(a.batch, *a.opt).uniformity;
    }
  }
  BOOST_TEST(last[1] < last[0] - 0.1, "uniformity after 6 steps: weight 10 " << last[1] << ", weight 1e-6 " << last[0]);
}

BOOST_AUTO_TEST_CASE(resumed_run_reproduces_the_uninterrupted_losses_exactly) {
  for (PretrainMethod m : {PretrainMethod::MDP, PretrainMethod::PixelContrast}) {
    BOOST_TEST_CONTEXT(name_of(m)) {
      // Uninterrupted: 4 steps.
      manual_seed(7);
      auto ls = tiny_label_space();
      PretrainStep whole(tiny_options(m), ls);
      auto opt = adamw(whole.trained());
      auto loader = tiny_loader(ls);
      std::vector<double> want = run_steps(whole, *opt, *loader, 4);

      // Interrupted after 2: what a checkpoint holds, then a fresh process's objects continue.
      const std::string dir = (fs::temp_directory_path() / ("mdp_pretrain_step_resume_" + std::to_string(::getpid()))).string();
      fs::create_directories(dir);
      manual_seed(7);
      auto ls1 = tiny_label_space();
      PretrainStep first(tiny_options(m), ls1);
      auto opt1 = adamw(first.trained());
      auto loader1 = tiny_loader(ls1);
      std::vector<double> got = run_steps(first, *opt1, *loader1, 2);
      nn::save_weights(dir + "/q.safetensors", first.trained());
      if (first.key()) nn::save_weights(dir + "/k.safetensors", *first.key());
      nn::RunState state;  // through the file a checkpoint writes
      state.command = "pretrain";
      state.step = 2;
      state.weights = "q.safetensors";
      state.data = {loader1->position().epoch, loader1->position().index, 0};
      state.optimizer = opt1->state();
      state.rng["default"] = default_generator().state();
      first.save_state(state);
      nn::save_run_state(dir + "/state.safetensors", state);

      manual_seed(12345);  // the new process's own start does not matter
      auto ls2 = tiny_label_space();
      PretrainStep second(tiny_options(m), ls2);
      nn::RunState back = nn::load_run_state(dir + "/state.safetensors");
      second.load_state(back);
      nn::load_weights(second.trained(), dir + "/" + back.weights);
      if (second.key()) nn::load_weights(*second.key(), dir + "/k.safetensors");
      auto opt2 = adamw(second.trained());
      opt2->load_state(back.optimizer);
      default_generator().set_state(back.rng.at("default"));
      auto loader2 = tiny_loader(ls2);
      loader2->seek({back.data.epoch, back.data.index});
      for (double l : run_steps(second, *opt2, *loader2, 2)) got.push_back(l);
      fs::remove_all(dir);
      BOOST_TEST(got == want, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(what_a_method_cannot_do_is_refused_by_name) {
  auto ls = tiny_label_space();
  auto refused = [&](PretrainStepOptions o, const std::string& words) {
    try {
      PretrainStep step(o, ls);
    } catch (const Error& e) {
      BOOST_TEST(std::string(e.what()).find(words) != std::string::npos, e.what());
      return;
    }
    BOOST_ERROR("not refused: " + words);
  };
  PretrainStepOptions mh = tiny_options(PretrainMethod::MultiHead);
  mh.mix.region_prob = 0.5;
  refused(mh, "multi-head classifies each image with its own dataset's head");
  PretrainStepOptions cls = tiny_options(PretrainMethod::Classification);
  cls.mix.pixel_prob = 0.5;
  refused(cls, "classification learns one label per image");
  PretrainStepOptions blend = tiny_options(PretrainMethod::Supervised);
  blend.mix.blend = true;
  refused(blend, "mdp.blend");
  PretrainStepOptions blend1 = tiny_options(PretrainMethod::MDP);
  blend1.mix.blend = true;
  blend1.loss.sparse_coding = SparseCoding::Exclude;
  refused(blend1, "mdp.blend (soft targets) with mdp.sparse_coding exclude");
  PretrainStepOptions balanced = tiny_options(PretrainMethod::PixelContrast);
  balanced.region_balanced = true;
  refused(balanced, "mdp.region_balanced weighs MDP's pixel-to-prototype loss");
  PretrainStepOptions unif = tiny_options(PretrainMethod::PixelContrast);
  unif.uniformity = 1;
  refused(unif, "mdp.uniformity 1");
  PretrainStepOptions up = tiny_options(PretrainMethod::Supervised);
  up.upsample_embeddings = true;
  refused(up, "mdp.upsample_embeddings upsamples the projection head's embeddings");
  BOOST_CHECK_THROW(pretrain_method_from_name("multihead"), Error);
  // A state written by another method is refused before anything is loaded.
  PretrainStep pc(tiny_options(PretrainMethod::PixelContrast), ls);
  nn::RunState s;
  s.method = "mdp";
  BOOST_CHECK_THROW(pc.load_state(s), Error);
}

BOOST_AUTO_TEST_SUITE_END()
