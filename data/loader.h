// loader.h: the data loader. Background worker threads read samples from a Dataset, run the transform
// pipeline and collate batches into tensors, ahead of the consumer through a bounded queue; batches
// come out in a fixed order. Not a sampler zoo: sequential, shuffled, or weighted with replacement, and
// sharded across the ranks of a data-parallel run (below); one consumer thread.
//
// Determinism: epoch e's order comes from a generator seeded by (seed, e); the augmentation of the sample
// at position k of epoch e from one seeded by (seed, e, k). Nothing depends on which worker does the
// work or when, so a given seed gives the same batches for any num_workers (0 included).
//
// Position: batches are numbered across epochs; position() is (epoch, index of the next sample in that
// epoch's order), saveable in a checkpoint and restored with seek(), which restarts the workers there.
// After an epoch's last batch the position is (epoch + 1, 0); the end-of-epoch `false` of next() is a
// notification, not part of the position.
//
// Sharding (world_size > 1, as torch's DistributedSampler): every rank computes the same epoch order;
// the ranks' batches j together are the epoch's positions [j B W, (j + 1) B W) (B = batch_size, W =
// world_size), rank r taking positions j B W + i W + r, i < B. A sample's augmentation still comes from
// its position, so W ranks at batch B see exactly the samples, and transforms, of one rank at batch W B;
// positions are counted in the whole epoch (index a multiple of B W) and agree on every rank.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataset.h"
#include "transforms.h"
#include "../tensor/tensor.h"

namespace mdp::data {

struct Batch {
  Tensor images;       // (N, 3, H, W) float32, normalized; padded with 0 to the largest sample of the batch
  Tensor labels;       // (N, Hl, Wl) int64, class ids or the dataset's ignore_index (also the padding);
                       // (Hl, Wl) = (H, W) unless a test-time resize kept the original labels
  Tensor dataset_ids;  // (N) int64
  std::vector<std::string> paths;  // image path of each sample
  int64_t epoch = 0;
  int64_t index = 0;               // position in the epoch's order of the first sample
  int32_t ignore_index = kIgnore;  // the value in `labels` that means ignore
  int64_t size() const { return int64_t(paths.size()); }
};

struct LoaderOptions {
  int batch_size = 8;
  int num_workers = 2;       // background threads; 0 loads in the consumer's thread inside next()
  int prefetch_batches = 0;  // queue bound (batches made ahead of the consumer); 0: 2 * max(1, num_workers)
  bool shuffle = true;       // a new permutation each epoch; false: dataset order
  bool drop_last = true;     // drop the last, incomplete batch of an epoch
  uint64_t seed = 0;
  // Weighted sampling across datasets: one weight per sample (LabelSpace::sample_weights()); each epoch
  // then draws epoch_size samples with replacement (shuffle is ignored). Empty: every sample once.
  std::vector<double> sample_weights;
  int64_t epoch_size = 0;    // samples per weighted epoch; 0: the dataset's size
  int rank = 0, world_size = 1;  // sharding across a data-parallel run (needs drop_last)
  // Skip samples whose files are bad (any mdp::Error from reading or transforming them) instead of
  // failing: their batch comes out smaller (a batch with no good sample is left out), and each one is
  // counted and reported by bad_samples().
  bool skip_bad = false;
};

struct LoaderPosition {
  int64_t epoch = 0;
  int64_t index = 0;  // samples of the epoch's order already delivered (all ranks); a multiple of batch_size x world_size
};

struct BadSample {
  int64_t dataset_index = 0;
  std::string files;   // Dataset::describe()
  std::string reason;  // the error message
};

class Loader {
 public:
  // Starts the workers at position (0, 0). Requires a non-empty dataset, batch_size >= 1, num_workers >= 0,
  // weights (when given) one per sample, non-negative, not all zero; and at least one batch per epoch.
  Loader(std::shared_ptr<const Dataset> dataset, PipelineOptions pipeline, LoaderOptions options);
  ~Loader();  // stops the workers and joins them, also in the middle of an epoch
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch of the current epoch into `out`; false (once, `out` untouched) at the end of an
  // epoch, after which calls continue with the next epoch. A sample that fails is rethrown here as
  // mdp::Error "loader: epoch E, position K, <files>: <reason>" (unless skip_bad); that batch is then
  // consumed, and a further call goes on with the next one.
  bool next(Batch& out);

  LoaderPosition position() const;  // where the next batch starts
  void seek(const LoaderPosition& p);  // restarts the workers at p (index a multiple of batch_size)
  int64_t batches_per_epoch() const;
  int64_t epoch_length() const;  // samples in one epoch's order

  // With skip_bad: the bad samples of the batches delivered so far (each dataset index once, sorted by
  // index) and how many times a sample was skipped (a bad sample met again in a later epoch counts again).
  std::vector<BadSample> bad_samples() const;
  int64_t skipped() const;

  // The sample order of an epoch (dataset indices, epoch_length() of them); pure function of the seed.
  std::vector<int64_t> epoch_order(int64_t epoch) const;

 private:
  struct Impl;  // threads, queue and bookkeeping (loader.cpp)
  std::unique_ptr<Impl> impl_;
};

}  // namespace mdp::data
