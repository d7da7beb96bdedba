// distributed.cpp: see distributed.h. The MPI world and the world of one.
#include "distributed.h"

// The C API only: OpenMPI's deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdlib>
#include <cstring>

#include "../autograd/node.h"
#include "../tensor/cuda_plugin.h"
#include "../tensor/error.h"
#include "../tensor/ops.h"

namespace mdp::nn {
namespace {

MPI_Datatype mpi_type(const Tensor& t, const char* op) {
  switch (t.dtype()) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
    case DType::UInt8: return MPI_UINT8_T;
    default: break;
  }
  throw Error(fmt::format("{}: dtype {} is not float32, float64, int64 or uint8", op, dtype_name(t.dtype())));
}

void check_cpu_contiguous(const Tensor& t, const char* op) {
  MDP_CHECK(t.device().is_cpu(), "{}: the MPI backend moves CPU tensors, got one on {}", op, t.device().str());
  MDP_CHECK(t.is_contiguous(), "{}: the tensor must be contiguous", op);
}

struct DoneWork final : Work {
  bool test() override { return true; }
  void wait() override {}
};

class MpiWork final : public Work {
 public:
  MpiWork(Tensor t, MPI_Request request) : tensor_(std::move(t)), request_(request) {}
  ~MpiWork() override {
    if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);  // never free a buffer in flight
  }
  bool test() override {
    int done = 1;
    if (request_ != MPI_REQUEST_NULL) MPI_Test(&request_, &done, MPI_STATUS_IGNORE);
    return done != 0;
  }
  void wait() override {
    if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }

 private:
  Tensor tensor_;  // keeps the buffer alive while MPI writes into it
  MPI_Request request_;
};

class SingleProcess final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  void all_reduce_sum(Tensor&) override {}
  void broadcast(Tensor&, int) override {}
  Tensor all_gather(const Tensor& t) override { return t; }
  void barrier() override {}
  void use_device(Device) override {}
  std::unique_ptr<ProcessGroup> duplicate() override { return std::make_unique<SingleProcess>(); }
  [[noreturn]] void abort(int code) override { std::exit(code); }
};

// The ranks of an MPI communicator: MPI_COMM_WORLD for the world, a duplicate of it for duplicate().
class MpiGroup final : public ProcessGroup {
 public:
  MpiGroup() {
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready) MPI_Init(nullptr, nullptr);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  explicit MpiGroup(MPI_Comm duplicate) : comm_(duplicate), owns_comm_(true) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiGroup() override {
    int done = 0;
    MPI_Finalized(&done);
    if (owns_comm_ && !done) MPI_Comm_free(&comm_);
  }
  std::unique_ptr<ProcessGroup> duplicate() override {
    MPI_Comm d = MPI_COMM_NULL;
    MPI_Comm_dup(comm_, &d);
    return std::make_unique<MpiGroup>(d);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return nccl_ ? "mpi+nccl" : "mpi"; }
  void use_device(Device d) override {
    if (!d.is_cuda() || nccl_) return;
    MDP_CHECK(!owns_comm_, "distributed: NCCL is set up on the world, not on a duplicate of it");
    std::string why;
    const CudaPlugin* plugin = cuda_plugin(&why);
    MDP_CHECK(plugin, "distributed: {} needs the CUDA backend: {}", d.str(), why);
    MDP_CHECK(plugin->nccl, "distributed: this build has no NCCL (nccl.h was not found when it was built)");
    MDP_CHECK(plugin->nccl->available(&why), "distributed: {}", why);
    std::string id(128, '\0');
    if (rank_ == 0) id = plugin->nccl->unique_id();
    MPI_Bcast(id.data(), int(id.size()), MPI_BYTE, 0, comm_);
    nccl_comm_ = plugin->nccl->init(id, rank_, size_, d.index);
    nccl_ = plugin->nccl;
  }
  void all_reduce_sum(Tensor& t) override {
    if (t.device().is_cuda()) return nccl_for(t, "all_reduce_sum")->all_reduce_sum(nccl_comm_, t);
    check_cpu_contiguous(t, "all_reduce_sum");
    MPI_Allreduce(MPI_IN_PLACE, t.raw_data(), int(t.numel()), mpi_type(t, "all_reduce_sum"), MPI_SUM, comm_);
  }
  std::unique_ptr<Work> all_reduce_sum_async(Tensor& t) override {
    if (t.device().is_cuda()) return ProcessGroup::all_reduce_sum_async(t);
    check_cpu_contiguous(t, "all_reduce_sum_async");
    MPI_Request request = MPI_REQUEST_NULL;
    MPI_Iallreduce(MPI_IN_PLACE, t.raw_data(), int(t.numel()), mpi_type(t, "all_reduce_sum_async"), MPI_SUM, comm_, &request);
    return std::make_unique<MpiWork>(t, request);
  }
  void broadcast(Tensor& t, int root) override {
    if (t.device().is_cuda()) return nccl_for(t, "broadcast")->broadcast(nccl_comm_, t, root);
    check_cpu_contiguous(t, "broadcast");
    MPI_Bcast(t.raw_data(), int(t.numel()), mpi_type(t, "broadcast"), root, comm_);
  }
  Tensor all_gather(const Tensor& t) override {
    if (t.device().is_cuda()) return ops::to(all_gather(ops::to(t, Device::cpu())), t.device());  // small: via MPI
    check_cpu_contiguous(t, "all_gather");
    MDP_CHECK(t.dim() >= 1, "all_gather: the tensor must have a first dimension");
    int64_t row = 1;  // values per row: from the shape, so a rank with no rows agrees
    for (int64_t d = 1; d < t.dim(); ++d) row *= t.size(d);
    int64_t rows = t.size(0);
    std::vector<int64_t> all_rows(static_cast<size_t>(size_));
    MPI_Allgather(&rows, 1, MPI_INT64_T, all_rows.data(), 1, MPI_INT64_T, comm_);
    std::vector<int> counts(static_cast<size_t>(size_)), offsets(static_cast<size_t>(size_));
    int64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      counts[size_t(r)] = int(all_rows[size_t(r)] * row);
      offsets[size_t(r)] = int(total * row);
      total += all_rows[size_t(r)];
    }
    Shape shape = t.shape();
    shape[0] = total;
    Tensor out = ops::empty(shape, t.dtype());
    MPI_Datatype type = mpi_type(t, "all_gather");
    MPI_Allgatherv(t.raw_data(), int(t.numel()), type, out.raw_data(), counts.data(), offsets.data(), type, comm_);
    return out;
  }
  void barrier() override { MPI_Barrier(comm_); }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(comm_, code);
    std::exit(code);
  }
  void finalize() {
    if (nccl_) nccl_->destroy(nccl_comm_);
    nccl_ = nullptr;
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
  }

 private:
  const CudaCollectives* nccl_for(const Tensor& t, const char* op) const {
    MDP_CHECK(nccl_, "{}: a tensor on {} needs NCCL; the run did not call use_device({})", op, t.device().str(), t.device().str());
    return nccl_;
  }
  MPI_Comm comm_ = MPI_COMM_WORLD;
  bool owns_comm_ = false;
  int rank_ = 0, size_ = 1;
  const CudaCollectives* nccl_ = nullptr;
  void* nccl_comm_ = nullptr;
};

std::unique_ptr<ProcessGroup>& the_world() {
  static std::unique_ptr<ProcessGroup> w;
  return w;
}
}  // namespace

std::unique_ptr<Work> ProcessGroup::all_reduce_sum_async(Tensor& t) {
  all_reduce_sum(t);
  return std::make_unique<DoneWork>();
}

bool launched_distributed() {
  // OpenMPI's launcher sets these (MPICH's hydra sets PMI_SIZE).
  for (const char* k : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(k)) return std::atoi(v) > 1;
  return false;
}

std::string why_no_collectives_on(Device d) {
  if (!d.is_cuda()) return "";
  std::string why;
  const CudaPlugin* plugin = cuda_plugin(&why);
  if (!plugin) return fmt::format("distributed: {} needs the CUDA backend: {}", d.str(), why);
  if (!plugin->nccl) return "distributed: this build has no NCCL (nccl.h was not found when it was built)";
  if (!plugin->nccl->available(&why)) return "distributed: " + why;
  return "";
}

int local_rank() {
  const char* v = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
  return v ? std::atoi(v) : 0;
}

ProcessGroup& init_distributed() {
  auto& w = the_world();
  if (!w) {
    if (launched_distributed()) w = std::make_unique<MpiGroup>();
    else w = std::make_unique<SingleProcess>();
  }
  return *w;
}

ProcessGroup& world() { return init_distributed(); }

void shutdown_distributed() {
  auto& w = the_world();
  if (auto* mpi = dynamic_cast<MpiGroup*>(w.get())) mpi->finalize();
}

Tensor all_reduce_sum_differentiable(const Tensor& x) {
  ProcessGroup& g = world();
  if (g.size() == 1) return x;
  Tensor y = ops::contiguous(ops::clone(x));
  g.all_reduce_sum(y);
  record("all_reduce_sum", {x}, {y}, [](const TensorList& grad) -> TensorList {
    Tensor gx = ops::contiguous(ops::clone(grad[0]));
    world().all_reduce_sum(gx);
    return {gx};
  });
  return y;
}

}  // namespace mdp::nn
