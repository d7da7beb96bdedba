// loader.cpp: epoch orders, per-sample seeding, the worker threads with their bounded reorder queue,
// collation into tensors, error propagation and skip_bad bookkeeping.
#include "data/loader.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace mdp::data {

namespace {

uint64_t mix(uint64_t h, uint64_t v) {  // splitmix64 finalizer over h ^ v
  uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

constexpr uint64_t kOrderStream = 0x6f72646572ull;   // "order"
constexpr uint64_t kSampleStream = 0x73616d706cull;  // "sampl"

// Pads each sample to the largest of the batch: image 0, label ignore.
Batch collate(std::vector<PreparedSample>& samples, int32_t ignore) {
  Batch b;
  b.ignore_index = ignore;
  const int64_t n = int64_t(samples.size());
  int H = 0, W = 0, LH = 0, LW = 0;
  for (const auto& s : samples) {
    H = std::max(H, s.height);
    W = std::max(W, s.width);
    LH = std::max(LH, s.label_height);
    LW = std::max(LW, s.label_width);
  }
  if (LH == 0 || LW == 0) {  // unlabeled: labels all ignore, image-sized
    LH = H;
    LW = W;
  }
  // ops::empty and plain loops: no OpenMP team is started from a worker thread.
  b.images = ops::empty({n, 3, H, W}, DType::Float32);
  b.labels = ops::empty({n, LH, LW}, DType::Int64);
  b.dataset_ids = ops::empty({n}, DType::Int64);
  float* img = static_cast<float*>(b.images.raw_data());
  int64_t* lab = static_cast<int64_t*>(b.labels.raw_data());
  int64_t* ids = static_cast<int64_t*>(b.dataset_ids.raw_data());
  std::fill(img, img + n * 3 * H * W, 0.f);
  std::fill(lab, lab + n * LH * LW, int64_t(ignore));
  for (int64_t i = 0; i < n; ++i) {
    PreparedSample& s = samples[size_t(i)];
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < s.height; ++y)
        std::memcpy(img + ((i * 3 + c) * H + y) * W,
                    s.image.data() + (size_t(c) * size_t(s.height) + size_t(y)) * size_t(s.width),
                    size_t(s.width) * sizeof(float));
    for (int y = 0; y < s.label_height; ++y) {
      int64_t* d = lab + (i * LH + y) * LW;
      const int32_t* src = s.label.data() + size_t(y) * size_t(s.label_width);
      for (int x = 0; x < s.label_width; ++x) d[x] = src[x];
    }
    ids[i] = s.dataset_id;
    b.paths.push_back(std::move(s.image_path));
  }
  return b;
}

}  // namespace

struct Loader::Impl {
  struct Result {
    Batch batch;
    std::exception_ptr error;
    std::vector<BadSample> skipped;  // with skip_bad; counted when the batch is delivered
  };

  std::shared_ptr<const Dataset> dataset;
  PipelineOptions pipeline;
  LoaderOptions opt;
  int64_t epoch_length = 0, batches_per_epoch = 0;
  std::vector<double> cumulative;  // running sums of the sample weights (weighted sampling)

  mutable std::mutex mu;
  std::condition_variable work_cv, ready_cv;
  std::vector<std::thread> workers;
  bool stop = false;
  int64_t next_claim = 0;    // next global batch a worker takes
  int64_t next_deliver = 0;  // next global batch next() returns
  bool epoch_end_pending = false;
  std::map<int64_t, Result> ready;  // made, not yet delivered (at most prefetch_batches)
  std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> orders;
  std::map<int64_t, BadSample> bad;
  int64_t skipped = 0;

  std::vector<int64_t> epoch_order(int64_t epoch) const;
  std::shared_ptr<const std::vector<int64_t>> order_for(int64_t epoch);
  Result make_batch(int64_t global_batch);
  void worker_loop();
  void start_workers();
  void stop_workers();
};

Loader::Loader(std::shared_ptr<const Dataset> dataset, PipelineOptions pipeline, LoaderOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.dataset = std::move(dataset);
  m.pipeline = std::move(pipeline);
  m.opt = std::move(options);
  LoaderOptions& o = m.opt;
  MDP_CHECK(m.dataset != nullptr, "Loader: dataset is null");
  const int64_t n = m.dataset->size();
  MDP_CHECK(n > 0, "Loader: dataset {} is empty", m.dataset->name());
  MDP_CHECK(o.batch_size >= 1, "Loader: batch_size {} must be >= 1", o.batch_size);
  MDP_CHECK(o.world_size >= 1 && o.rank >= 0 && o.rank < o.world_size, "Loader: rank {} of world size {} is not a rank",
            o.rank, o.world_size);
  MDP_CHECK(o.world_size == 1 || o.drop_last, "Loader: sharding across {} ranks needs drop_last", o.world_size);
  MDP_CHECK(o.world_size == 1 || !o.skip_bad, "Loader: skip_bad would let the {} ranks' batches drift apart; it needs one rank",
            o.world_size);
  MDP_CHECK(o.num_workers >= 0, "Loader: num_workers {} must be >= 0", o.num_workers);
  MDP_CHECK(o.prefetch_batches >= 0, "Loader: prefetch_batches {} must be >= 0", o.prefetch_batches);
  if (o.prefetch_batches == 0) o.prefetch_batches = 2 * std::max(1, o.num_workers);
  m.epoch_length = n;
  if (!o.sample_weights.empty()) {
    MDP_CHECK(int64_t(o.sample_weights.size()) == n, "Loader: {} sample weights for {} samples",
              o.sample_weights.size(), n);
    double sum = 0;
    for (double w : o.sample_weights) {
      MDP_CHECK(w >= 0 && std::isfinite(w), "Loader: sample weight {} must be finite and >= 0", w);
      sum += w;
      m.cumulative.push_back(sum);
    }
    MDP_CHECK(sum > 0, "Loader: all sample weights are zero");
    if (o.epoch_size > 0) m.epoch_length = o.epoch_size;
  }
  const int64_t global_batch = int64_t(o.batch_size) * o.world_size;
  m.batches_per_epoch = o.drop_last ? m.epoch_length / global_batch : (m.epoch_length + o.batch_size - 1) / o.batch_size;
  MDP_CHECK(m.batches_per_epoch > 0, "Loader: {} samples per epoch make no batch of {}{} with drop_last", m.epoch_length,
            global_batch, o.world_size > 1 ? fmt::format(" ({} ranks x {})", o.world_size, o.batch_size) : "");
  m.start_workers();
}

Loader::~Loader() { impl_->stop_workers(); }

int64_t Loader::batches_per_epoch() const { return impl_->batches_per_epoch; }
int64_t Loader::epoch_length() const { return impl_->epoch_length; }
std::vector<int64_t> Loader::epoch_order(int64_t epoch) const { return impl_->epoch_order(epoch); }

std::vector<int64_t> Loader::Impl::epoch_order(int64_t epoch) const {
  Generator gen(mix(mix(opt.seed, kOrderStream), uint64_t(epoch)));
  std::vector<int64_t> order(static_cast<size_t>(epoch_length));
  if (!cumulative.empty()) {
    // Inverse-CDF draws: a zero-weight sample has an empty step and is never picked.
    const double total = cumulative.back();
    for (auto& o : order) {
      auto it = std::upper_bound(cumulative.begin(), cumulative.end(), gen.uniform() * total);
      o = std::min<int64_t>(int64_t(it - cumulative.begin()), int64_t(cumulative.size()) - 1);
    }
    return order;
  }
  std::iota(order.begin(), order.end(), 0);
  if (opt.shuffle)  // Fisher-Yates
    for (int64_t i = epoch_length - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(gen.randint(0, i + 1))]);
  return order;
}

std::shared_ptr<const std::vector<int64_t>> Loader::Impl::order_for(int64_t epoch) {
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = orders.find(epoch);
    if (it != orders.end()) return it->second;
  }
  auto order = std::make_shared<const std::vector<int64_t>>(epoch_order(epoch));  // outside the lock
  std::lock_guard<std::mutex> lock(mu);
  auto it = orders.emplace(epoch, order).first;
  const int64_t oldest = next_deliver / batches_per_epoch;  // older epochs are finished
  for (auto o = orders.begin(); o != orders.end();) o = o->first < oldest ? orders.erase(o) : std::next(o);
  return it->second;
}

Loader::Impl::Result Loader::Impl::make_batch(int64_t g) {
  Result r;
  const int64_t epoch = g / batches_per_epoch, b = g % batches_per_epoch;
  const int64_t W = opt.world_size, begin = b * opt.batch_size * W;
  const int64_t end = std::min(epoch_length, begin + opt.batch_size * W);
  try {
    auto order = order_for(epoch);
    std::vector<PreparedSample> samples;
    for (int64_t k = begin + opt.rank; k < end; k += W) {  // this rank's share of the positions
      const int64_t idx = (*order)[size_t(k)];
      Generator gen(mix(mix(mix(opt.seed, kSampleStream), uint64_t(epoch)), uint64_t(k)));
      try {
        samples.push_back(apply_pipeline(dataset->get(idx), pipeline, gen));
      } catch (const Error& e) {
        std::string files;
        try {
          files = dataset->describe(idx);
        } catch (const Error&) {
          files = fmt::format("sample {}", idx);
        }
        if (!opt.skip_bad) throw Error(fmt::format("loader: epoch {}, position {}, {}: {}", epoch, k, files, e.what()));
        r.skipped.push_back(BadSample{idx, files, e.what()});
      }
    }
    if (!samples.empty()) {
      r.batch = collate(samples, dataset->ignore_index());
      r.batch.epoch = epoch;
      r.batch.index = begin;
    }
  } catch (...) {
    r.error = std::current_exception();
  }
  return r;
}

void Loader::Impl::worker_loop() {
  for (;;) {
    int64_t g;
    {
      std::unique_lock<std::mutex> lock(mu);
      work_cv.wait(lock, [&] { return stop || next_claim < next_deliver + opt.prefetch_batches; });
      if (stop) return;
      g = next_claim++;
    }
    Result r = make_batch(g);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stop) return;
      ready[g] = std::move(r);
    }
    ready_cv.notify_all();
  }
}

void Loader::Impl::start_workers() {
  stop = false;
  for (int w = 0; w < opt.num_workers; ++w) workers.emplace_back([this] { worker_loop(); });
}

void Loader::Impl::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  }
  work_cv.notify_all();
  for (auto& t : workers) t.join();
  workers.clear();
  std::lock_guard<std::mutex> lock(mu);
  ready.clear();
}

bool Loader::next(Batch& out) {
  Impl& m = *impl_;
  for (;;) {
    if (m.epoch_end_pending) {
      m.epoch_end_pending = false;
      return false;
    }
    Impl::Result r;
    int64_t g;
    if (m.opt.num_workers == 0) {
      g = m.next_deliver;
      r = m.make_batch(g);
      std::lock_guard<std::mutex> lock(m.mu);
      m.next_claim = ++m.next_deliver;
    } else {
      std::unique_lock<std::mutex> lock(m.mu);
      g = m.next_deliver;
      m.ready_cv.wait(lock, [&] { return m.ready.count(g) > 0; });
      r = std::move(m.ready[g]);
      m.ready.erase(g);
      ++m.next_deliver;
    }
    m.work_cv.notify_all();
    if (!r.skipped.empty()) {
      std::lock_guard<std::mutex> lock(m.mu);
      for (auto& bad : r.skipped) {
        ++m.skipped;
        m.bad.try_emplace(bad.dataset_index, std::move(bad));
      }
    }
    if ((g + 1) % m.batches_per_epoch == 0) m.epoch_end_pending = true;
    if (r.error) std::rethrow_exception(r.error);
    if (r.batch.size() == 0) continue;  // every sample of this batch was bad and skipped
    out = std::move(r.batch);
    return true;
  }
}

LoaderPosition Loader::position() const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  return {m.next_deliver / m.batches_per_epoch, (m.next_deliver % m.batches_per_epoch) * m.opt.batch_size * m.opt.world_size};
}

void Loader::seek(const LoaderPosition& p) {
  Impl& m = *impl_;
  const int64_t global_batch = int64_t(m.opt.batch_size) * m.opt.world_size;
  MDP_CHECK(p.epoch >= 0 && p.index >= 0 && p.index % global_batch == 0,
            "Loader::seek: position (epoch {}, index {}) must be non-negative with index a multiple of {}", p.epoch,
            p.index, global_batch);
  const int64_t b = p.index / global_batch;
  MDP_CHECK(b < m.batches_per_epoch, "Loader::seek: index {} is past the last batch of an epoch ({} batches of {})",
            p.index, m.batches_per_epoch, global_batch);
  m.stop_workers();
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.next_deliver = m.next_claim = p.epoch * m.batches_per_epoch + b;
    m.epoch_end_pending = false;
    m.orders.clear();
  }
  m.start_workers();
}

std::vector<BadSample> Loader::bad_samples() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<BadSample> out;
  for (const auto& [idx, bad] : impl_->bad) out.push_back(bad);
  return out;
}

int64_t Loader::skipped() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->skipped;
}

}  // namespace mdp::data
