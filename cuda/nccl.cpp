// nccl.cpp: NCCL's collectives on CUDA tensors for the distributed world (tensor/cuda_plugin.h,
// CudaCollectives). libnccl.so.2 is opened with dlopen on first use and its six functions looked up, so
// libmdp_cuda.so loads (and single-GPU runs work) on machines without NCCL; nccl.h gives the types. Every
// call runs on the device's stream (cuda/runtime.h), in issue order with the backend's kernels.
// Deliberately not here: groups, point-to-point, the unique id's transport (MPI, nn/distributed.cpp).
#include <dlfcn.h>
#include <nccl.h>

#include <cstring>
#include <mutex>

#include "cuda/runtime.h"
#include "tensor/cuda_plugin.h"
#include "tensor/error.h"
#include "tensor/tensor.h"

namespace mdp::cuda {
namespace {

struct Nccl {
  void* lib = nullptr;
  std::string why;
  ncclResult_t (*get_unique_id)(ncclUniqueId*) = nullptr;
  ncclResult_t (*comm_init_rank)(ncclComm_t*, int, ncclUniqueId, int) = nullptr;
  ncclResult_t (*all_reduce)(const void*, void*, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t) = nullptr;
  ncclResult_t (*broadcast)(const void*, void*, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t) = nullptr;
  ncclResult_t (*all_gather)(const void*, void*, size_t, ncclDataType_t, ncclComm_t, cudaStream_t) = nullptr;
  ncclResult_t (*comm_destroy)(ncclComm_t) = nullptr;
  const char* (*error_string)(ncclResult_t) = nullptr;
};

const Nccl& nccl() {
  static Nccl n;
  static std::once_flag once;
  std::call_once(once, [] {
    n.lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!n.lib) {
      n.why = std::string("libnccl.so.2 does not load: ") + dlerror();
      return;
    }
    auto sym = [](const char* name) {
      void* f = dlsym(n.lib, name);
      if (!f && n.why.empty()) n.why = std::string("libnccl.so.2 has no ") + name;
      return f;
    };
    n.get_unique_id = reinterpret_cast<decltype(n.get_unique_id)>(sym("ncclGetUniqueId"));
    n.comm_init_rank = reinterpret_cast<decltype(n.comm_init_rank)>(sym("ncclCommInitRank"));
    n.all_reduce = reinterpret_cast<decltype(n.all_reduce)>(sym("ncclAllReduce"));
    n.broadcast = reinterpret_cast<decltype(n.broadcast)>(sym("ncclBroadcast"));
    n.all_gather = reinterpret_cast<decltype(n.all_gather)>(sym("ncclAllGather"));
    n.comm_destroy = reinterpret_cast<decltype(n.comm_destroy)>(sym("ncclCommDestroy"));
    n.error_string = reinterpret_cast<decltype(n.error_string)>(sym("ncclGetErrorString"));
  });
  return n;
}

const Nccl& loaded() {
  const Nccl& n = nccl();
  MDP_CHECK(n.why.empty(), "NCCL: {}", n.why);
  return n;
}

void check(ncclResult_t r, const char* call) {
  if (r != ncclSuccess) throw Error(fmt::format("NCCL: {} failed: {}", call, loaded().error_string(r)));
}

ncclDataType_t nccl_type(const Tensor& t, const char* op) {
  switch (t.dtype()) {
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    case DType::Int64: return ncclInt64;
    case DType::UInt8: return ncclUint8;
    case DType::BFloat16: return ncclBfloat16;
    default: break;
  }
  throw Error(fmt::format("NCCL {}: dtype {} is not float32, float64, bfloat16, int64 or uint8", op, dtype_name(t.dtype())));
}

struct Comm {
  ncclComm_t comm = nullptr;
  int device = 0, size = 1;
};

Comm& comm_of(void* c, const Tensor& t, const char* op) {
  Comm& k = *static_cast<Comm*>(c);
  MDP_CHECK(t.device().is_cuda() && t.device().index == k.device, "NCCL {}: the tensor is on {}, the communicator on cuda:{}", op,
            t.device().str(), k.device);
  MDP_CHECK(t.is_contiguous(), "NCCL {}: the tensor must be contiguous", op);
  return k;
}
}  // namespace

const CudaCollectives* nccl_collectives() {
  static const CudaCollectives c{
      [](std::string* why) {
        const Nccl& n = nccl();
        if (!n.why.empty() && why) *why = n.why;
        return n.why.empty();
      },
      []() {
        ncclUniqueId id;
        check(loaded().get_unique_id(&id), "ncclGetUniqueId");
        return std::string(reinterpret_cast<const char*>(&id), sizeof(id));
      },
      [](const std::string& unique_id, int rank, int size, int device) -> void* {
        MDP_CHECK(unique_id.size() == sizeof(ncclUniqueId), "NCCL: a unique id has {} bytes, not {}", unique_id.size(),
                  sizeof(ncclUniqueId));
        ncclUniqueId id;
        std::memcpy(&id, unique_id.data(), sizeof(id));
        context(device);  // the device is set up (and current) before NCCL binds to it
        auto k = std::make_unique<Comm>();
        k->device = device;
        k->size = size;
        check(loaded().comm_init_rank(&k->comm, size, id, rank), "ncclCommInitRank");
        return k.release();
      },
      [](void* c, const Tensor& t) {
        Comm& k = comm_of(c, t, "all_reduce_sum");
        check(loaded().all_reduce(t.raw_data(), t.raw_data(), size_t(t.numel()), nccl_type(t, "all_reduce_sum"), ncclSum, k.comm,
                                  context(k.device).stream),
              "ncclAllReduce");
      },
      [](void* c, const Tensor& t, int root) {
        Comm& k = comm_of(c, t, "broadcast");
        check(loaded().broadcast(t.raw_data(), t.raw_data(), size_t(t.numel()), nccl_type(t, "broadcast"), root, k.comm,
                                 context(k.device).stream),
              "ncclBroadcast");
      },
      [](void* c, const Tensor& in, const Tensor& out) {
        Comm& k = comm_of(c, in, "all_gather");
        comm_of(c, out, "all_gather");
        MDP_CHECK(out.numel() == in.numel() * k.size && out.dtype() == in.dtype(), "NCCL all_gather: the output holds {} values, "
                  "not {} ranks x {}", out.numel(), k.size, in.numel());
        check(loaded().all_gather(in.raw_data(), out.raw_data(), size_t(in.numel()), nccl_type(in, "all_gather"), k.comm,
                                  context(k.device).stream),
              "ncclAllGather");
      },
      [](void* c) {
        auto* k = static_cast<Comm*>(c);
        if (k->comm) loaded().comm_destroy(k->comm);
        delete k;
      },
  };
  return &c;
}

}  // namespace mdp::cuda
