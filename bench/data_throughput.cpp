// data_throughput.cpp (bench_data): decoded-and-augmented images per second through the real loader:
// the sample files of ../shared/data (VOC, ADE20K, COCO-Stuff, Cityscapes in one label space) with
// MMSegmentation's training pipeline at 512x512 crops (RandomResize (2048, 512) x 0.5..2, RandomCrop
// cat_max_ratio 0.75, flip, photometric distortion, normalize, pad), batches of 4, for 1 worker and N.
// --dataset voc: the VOC samples only (bench/data_twin.py is its PyTorch twin: torch's DataLoader, PIL and
// torchvision doing the same transforms; bench/compare.py --data runs both). --json: only the N-worker run,
// as one JSON line. A benchmark that prints a table, not a test.
//   bench_data [--seconds S] [--workers N] [--data DIR] [--dataset all|voc] [--json]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "data/ade20k.h"
#include "data/cityscapes.h"
#include "data/coco_stuff.h"
#include "data/label_space.h"
#include "data/loader.h"
#include "data/voc.h"
#include "tensor/error.h"
#include "tensor/random.h"

using namespace mdp::data;
using Clock = std::chrono::steady_clock;

namespace {

struct Result {
  double images_per_s = 0;
  int64_t images = 0;
  double seconds = 0;
};

// Runs the loader for about `seconds` after one warm-up batch; counts images delivered.
Result run(const std::shared_ptr<LabelSpace>& space, int workers, double seconds) {
  LoaderOptions o;
  o.batch_size = 4;
  o.num_workers = workers;
  o.seed = 1;
  o.sample_weights = space->sample_weights();
  o.epoch_size = 1 << 20;  // one long weighted epoch
  Loader loader(space, train_pipeline(512, 512, 2048, 512), o);
  Batch b;
  loader.next(b);  // warm-up: threads started, first files in the page cache
  Result r;
  auto start = Clock::now();
  while (true) {
    loader.next(b);
    r.images += b.size();
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (r.seconds >= seconds) break;
  }
  r.images_per_s = double(r.images) / r.seconds;
  return r;
}

// The same samples decoded only (no augmentation), in this thread.
double decode_only(const std::shared_ptr<LabelSpace>& space, double seconds) {
  int64_t n = 0;
  auto start = Clock::now();
  double t = 0;
  while (t < seconds) {
    space->get(n % space->size());
    ++n;
    t = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return double(n) / t;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  int workers = int(std::thread::hardware_concurrency());
  std::string data = "../shared/data", dataset = "all";
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (a == "--workers" && i + 1 < argc) workers = std::atoi(argv[++i]);
    else if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--dataset" && i + 1 < argc) dataset = argv[++i];
    else if (a == "--json") json = true;
    else {
      std::fprintf(stderr, "usage: bench_data [--seconds S] [--workers N] [--data DIR] [--dataset all|voc] [--json]\n");
      return 2;
    }
  }
  if (workers < 1) workers = 1;
  if (dataset != "all" && dataset != "voc") {
    std::fprintf(stderr, "bench_data: --dataset must be all or voc, got '%s'\n", dataset.c_str());
    return 2;
  }
  try {
    std::vector<LabelSpaceMember> members{{open_voc({data + "/VOCdevkit/VOC2012", "trainval"}), 1.0, ""}};
    if (dataset == "all") {
      members.push_back({open_ade20k({data + "/ADEChallengeData2016", "training"}), 1.0, ""});
      members.push_back({open_coco_stuff({data + "/coco_stuff164k", "train2017"}), 1.0, ""});
      members.push_back({open_cityscapes({data + "/cityscapes", "val"}), 1.0, ""});
    }
    auto space = std::make_shared<LabelSpace>(members);
    if (json) {
      Result r = run(space, workers, seconds);
      std::printf("{\"framework\": \"mdp\", \"dataset\": \"%s\", \"workers\": %d, \"seconds\": %.3f, \"images\": %lld, "
                  "\"images_per_s\": %.2f}\n", dataset.c_str(), workers, r.seconds, (long long)r.images, r.images_per_s);
      return 0;
    }
    std::printf("bench_data: %lld sample files (%s; %d classes, ignore %d), "
                "512x512 crops, batches of 4, %.0f s per row, %u hardware threads\n",
                (long long)space->size(), dataset == "all" ? "VOC, ADE20K, COCO-Stuff, Cityscapes" : "VOC",
                space->num_classes(), space->ignore_index(), seconds, std::thread::hardware_concurrency());
    double dec = decode_only(space, seconds);
    std::printf("\n%-28s %12s %12s\n", "", "images/s", "ms/image");
    std::printf("%-28s %12.1f %12.2f\n", "decode only, 1 thread", dec, 1000.0 / dec);
    Result one = run(space, 1, seconds);
    std::printf("%-28s %12.1f %12.2f\n", "decode+augment, 1 worker", one.images_per_s, 1000.0 / one.images_per_s);
    if (workers > 1) {
      Result many = run(space, workers, seconds);
      std::printf("%-28s %12.1f %12.2f   (x%.2f)\n", ("decode+augment, " + std::to_string(workers) + " workers").c_str(),
                  many.images_per_s, 1000.0 / many.images_per_s, many.images_per_s / one.images_per_s);
    }
  } catch (const mdp::Error& e) {
    std::fprintf(stderr, "bench_data: %s\n", e.what());
    return 1;
  }
  return 0;
}
