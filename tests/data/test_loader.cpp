// test_loader.cpp: the threaded loader: batch shapes and dtypes, determinism across runs and across
// worker counts, epochs and drop_last, save/restore of the position, weighted sampling, clean shutdown
// in the middle of an epoch, errors rethrown in the consumer naming the file, skip_bad bookkeeping.
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "data/cityscapes.h"
#include "data/folder.h"
#include "data/label_space.h"
#include "data/loader.h"
#include "data_helpers.h"
#include "tensor/ops.h"

using namespace mdp::data;
using namespace mdp::data::test;
using mdp::DType;
namespace ops = mdp::ops;

namespace {

FolderOptions pseudo_options() {
  FolderOptions o;
  o.name = "pseudo";
  o.root = sample("pseudo_dataset");
  o.image_dir = "imgs";
  o.label_dir = "gts";
  o.image_suffix = "_img.jpg";
  o.label_suffix = "_gt.png";
  o.num_classes = 4;
  return o;
}

std::shared_ptr<const Dataset> pseudo() { return open_folder(pseudo_options()); }  // 5 samples, 256x128

// A small augmenting pipeline: random resize around the native size, 64x48 crops, flip, photometric.
PipelineOptions small_pipeline() { return train_pipeline(64, 48, 256, 128); }

bool same_batch(const Batch& a, const Batch& b) {
  return a.images.shape() == b.images.shape() && ops::to_vector(a.images) == ops::to_vector(b.images) &&
         ops::to_vector(a.labels) == ops::to_vector(b.labels) &&
         ops::to_vector(a.dataset_ids) == ops::to_vector(b.dataset_ids) && a.paths == b.paths &&
         a.epoch == b.epoch && a.index == b.index;
}

std::vector<Batch> run_epoch(Loader& loader) {
  std::vector<Batch> out;
  Batch b;
  while (loader.next(b)) out.push_back(std::move(b));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(loader)

BOOST_AUTO_TEST_CASE(batch_shapes_and_dtypes) {
  auto city = open_cityscapes({sample("cityscapes"), "val"});
  LabelSpace space({{pseudo(), 1.0, ""}, {city, 1.0, ""}});  // 4 + 19 classes: ignore 255
  LoaderOptions o;
  o.batch_size = 4;
  o.num_workers = 2;
  o.shuffle = false;
  o.drop_last = false;
  Loader loader(std::make_shared<LabelSpace>(space), small_pipeline(), o);
  BOOST_TEST(loader.batches_per_epoch() == 2);
  std::vector<Batch> epoch = run_epoch(loader);
  BOOST_TEST_REQUIRE(epoch.size() == 2u);
  const Batch& b = epoch[0];
  BOOST_TEST((b.images.shape() == mdp::Shape{4, 3, 48, 64}));
  BOOST_TEST((b.images.dtype() == DType::Float32));
  BOOST_TEST((b.labels.shape() == mdp::Shape{4, 48, 64}));
  BOOST_TEST((b.labels.dtype() == DType::Int64));
  BOOST_TEST((b.dataset_ids.shape() == mdp::Shape{4}));
  BOOST_TEST((b.dataset_ids.dtype() == DType::Int64));
  BOOST_TEST(b.paths.size() == 4u);
  BOOST_TEST(b.paths[0].find("00000_img.jpg") != std::string::npos);
  BOOST_TEST(b.ignore_index == 255);
  // The last, incomplete batch: 2 samples, the second the Cityscapes frame (dataset 1, labels + 4).
  const Batch& last = epoch[1];
  BOOST_TEST(last.size() == 2);
  BOOST_TEST(last.index == 4);
  BOOST_TEST((ops::to_vector(last.dataset_ids) == std::vector<double>{0, 1}));
  for (double v : ops::to_vector(ops::select(last.labels, 0, 1))) BOOST_TEST_REQUIRE((v == 255 || (v >= 4 && v < 23)));
  // Images are normalized: roughly zero-centred, not 0..255.
  double mx = 0;
  for (double v : ops::to_vector(b.images)) mx = std::max(mx, std::abs(v));
  BOOST_TEST(mx < 3.0);
}

BOOST_AUTO_TEST_CASE(deterministic_across_runs_and_worker_counts) {
  auto ds = pseudo();
  LoaderOptions o;
  o.batch_size = 2;
  o.seed = 1234;
  std::vector<std::vector<Batch>> runs;
  for (int workers : {2, 2, 0, 3}) {
    o.num_workers = workers;
    Loader loader(ds, small_pipeline(), o);
    std::vector<Batch> all = run_epoch(loader);  // epoch 0
    for (auto& b : run_epoch(loader)) all.push_back(std::move(b));  // epoch 1
    runs.push_back(std::move(all));
  }
  BOOST_TEST_REQUIRE(runs[0].size() == 4u);  // 2 epochs x 2 batches (drop_last)
  for (size_t r = 1; r < runs.size(); ++r)
    for (size_t i = 0; i < runs[0].size(); ++i) BOOST_TEST(same_batch(runs[0][i], runs[r][i]), "run " << r << " batch " << i);
  // Epochs differ (new order and new augmentation); another seed differs.
  BOOST_TEST(!same_batch(runs[0][0], runs[0][2]));
  o.seed = 1235;
  o.num_workers = 2;
  Loader other(ds, small_pipeline(), o);
  Batch b;
  BOOST_TEST(other.next(b));
  BOOST_TEST(!same_batch(runs[0][0], b));
}

BOOST_AUTO_TEST_CASE(epochs_drop_last_and_shuffle) {
  auto ds = pseudo();
  LoaderOptions o;
  o.batch_size = 2;
  o.num_workers = 1;
  o.drop_last = true;
  Loader dropping(ds, small_pipeline(), o);
  BOOST_TEST(dropping.batches_per_epoch() == 2);
  BOOST_TEST(run_epoch(dropping).size() == 2u);
  BOOST_TEST(run_epoch(dropping).size() == 2u);  // the next epoch follows
  o.drop_last = false;
  Loader keeping(ds, small_pipeline(), o);
  std::vector<Batch> e = run_epoch(keeping);
  BOOST_TEST_REQUIRE(e.size() == 3u);
  BOOST_TEST(e[2].size() == 1);
  // Each epoch's order is a permutation; shuffled orders differ between epochs.
  std::vector<int64_t> o0 = keeping.epoch_order(0), o1 = keeping.epoch_order(1);
  std::vector<int64_t> sorted = o0;
  std::sort(sorted.begin(), sorted.end());
  BOOST_TEST((sorted == std::vector<int64_t>{0, 1, 2, 3, 4}));
  BOOST_TEST((o0 != o1 || keeping.epoch_order(2) != o0));
  o.shuffle = false;
  Loader ordered(ds, small_pipeline(), o);
  BOOST_TEST((ordered.epoch_order(3) == std::vector<int64_t>{0, 1, 2, 3, 4}));
  o.batch_size = 6;
  o.drop_last = true;
  BOOST_CHECK_EXCEPTION(Loader(ds, small_pipeline(), o), mdp::Error, mentions({"make no batch of 6"}));
}

BOOST_AUTO_TEST_CASE(position_save_and_restore) {
  auto ds = pseudo();
  LoaderOptions o;
  o.batch_size = 2;
  o.num_workers = 2;
  o.seed = 9;
  Loader a(ds, small_pipeline(), o);
  Batch b;
  std::vector<Batch> seen;
  for (int i = 0; i < 3; ++i) {  // epoch 0 (two batches), its end, then one batch of epoch 1
    if (!a.next(b)) BOOST_TEST(a.next(b));
    seen.push_back(b);
  }
  LoaderPosition p = a.position();
  BOOST_TEST(p.epoch == 1);
  BOOST_TEST(p.index == 2);
  Batch fourth;
  BOOST_TEST(a.next(fourth));

  Loader resumed(ds, small_pipeline(), o);
  resumed.seek(p);
  Batch again;
  BOOST_TEST(resumed.next(again));
  BOOST_TEST(same_batch(fourth, again));
  // Seeking back replays.
  resumed.seek({0, 0});
  BOOST_TEST(resumed.next(again));
  BOOST_TEST(same_batch(seen[0], again));
  BOOST_CHECK_EXCEPTION(resumed.seek({0, 1}), mdp::Error, mentions({"multiple of 2"}));
  BOOST_CHECK_EXCEPTION(resumed.seek({0, 4}), mdp::Error, mentions({"past the last batch"}));
}

BOOST_AUTO_TEST_CASE(weighted_sampling_across_datasets) {
  auto city = open_cityscapes({sample("cityscapes"), "val"});
  auto space = std::make_shared<LabelSpace>(std::vector<LabelSpaceMember>{{pseudo(), 1.0, ""}, {city, 3.0, ""}});
  LoaderOptions o;
  o.batch_size = 4;
  o.num_workers = 0;
  o.sample_weights = space->sample_weights();
  o.epoch_size = 4000;
  Loader loader(space, small_pipeline(), o);
  BOOST_TEST(loader.epoch_length() == 4000);
  std::vector<int64_t> order = loader.epoch_order(0);
  int64_t from_city = 0;
  for (int64_t i : order) from_city += i == 5;
  double share = double(from_city) / 4000.0;
  BOOST_TEST_MESSAGE("share of the weight-3 dataset: " << share);
  BOOST_TEST(share > 0.72);
  BOOST_TEST(share < 0.78);
  Batch b;
  BOOST_TEST(loader.next(b));
  BOOST_TEST(b.size() == 4);
  // Zero weight: never drawn.
  o.sample_weights = {0, 0, 0, 0, 1, 0};
  Loader only(space, small_pipeline(), o);
  for (int64_t i : only.epoch_order(0)) BOOST_TEST_REQUIRE(i == 4);
  o.sample_weights = {1, 2};
  BOOST_CHECK_EXCEPTION(Loader(space, small_pipeline(), o), mdp::Error, mentions({"2 sample weights for 6 samples"}));
}

BOOST_AUTO_TEST_CASE(clean_shutdown_mid_epoch) {
  auto ds = pseudo();
  LoaderOptions o;
  o.batch_size = 1;
  o.num_workers = 3;
  o.prefetch_batches = 2;
  auto start = std::chrono::steady_clock::now();
  for (int round = 0; round < 5; ++round) {
    Loader loader(ds, small_pipeline(), o);
    Batch b;
    if (round % 2) BOOST_TEST(loader.next(b));
    // destroyed here with workers busy or waiting on the full queue
  }
  {
    Loader never_used(ds, small_pipeline(), o);
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST(s < 10.0);
}

BOOST_AUTO_TEST_CASE(errors_name_the_file_and_skip_bad_counts) {
  TempDir tmp("loader");
  FolderOptions f = pseudo_options();
  f.root = tmp.path.string();
  for (int i = 0; i < 5; ++i) {
    copy_file(sample("pseudo_dataset/imgs/0000" + std::to_string(i) + "_img.jpg"), tmp.file("imgs/0000" + std::to_string(i) + "_img.jpg"));
    copy_file(sample("pseudo_dataset/gts/0000" + std::to_string(i) + "_gt.png"), tmp.file("gts/0000" + std::to_string(i) + "_gt.png"));
  }
  // Sample 1's image is truncated, sample 3's label is missing.
  std::vector<uint8_t> jpg = slurp(tmp.file("imgs/00001_img.jpg"));
  spit(tmp.file("imgs/00001_img.jpg"), std::vector<uint8_t>(jpg.begin(), jpg.begin() + 300));
  std::filesystem::remove(tmp.file("gts/00003_gt.png"));
  auto ds = open_folder(f);

  LoaderOptions o;
  o.batch_size = 2;
  o.num_workers = 2;
  o.shuffle = false;
  o.drop_last = false;
  {
    Loader loader(ds, small_pipeline(), o);
    Batch b;
    BOOST_CHECK_EXCEPTION(loader.next(b), mdp::Error,
                          mentions({"loader: epoch 0, position 1", tmp.file("imgs/00001_img.jpg"), "truncated"}));
  }  // and the workers still stop cleanly

  o.skip_bad = true;
  Loader skipping(ds, small_pipeline(), o);
  std::vector<Batch> epoch = run_epoch(skipping);
  BOOST_TEST_REQUIRE(epoch.size() == 3u);
  BOOST_TEST(epoch[0].size() == 1);  // samples 0, (1 bad)
  BOOST_TEST(epoch[1].size() == 1);  // 2, (3 bad)
  BOOST_TEST(epoch[2].size() == 1);  // 4
  for (const auto& bs : skipping.bad_samples()) BOOST_TEST_MESSAGE("bad " << bs.dataset_index << ": " << bs.reason);
  BOOST_TEST(skipping.skipped() == 2);
  std::vector<BadSample> bad = skipping.bad_samples();
  BOOST_TEST_REQUIRE(bad.size() == 2u);
  BOOST_TEST(bad[0].dataset_index == 1);
  BOOST_TEST(bad[0].files.find("00001_img.jpg") != std::string::npos);
  BOOST_TEST(bad[0].reason.find("truncated") != std::string::npos);
  BOOST_TEST(bad[1].dataset_index == 3);
  BOOST_TEST(bad[1].reason.find("00003_gt.png") != std::string::npos);
  // A batch whose samples are all bad is left out.
  o.batch_size = 1;
  Loader singles(ds, small_pipeline(), o);
  BOOST_TEST(run_epoch(singles).size() == 3u);
  BOOST_TEST(singles.skipped() == 2);
}

BOOST_AUTO_TEST_SUITE_END()
