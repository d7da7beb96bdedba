// distributed.h: the processes of a data-parallel run and the collectives between them, as
// torch.distributed's default process group. Launched by `mpirun -np N`, init_distributed() joins the
// MPI world (Debian's OpenMPI; the launcher's environment says so); started any other way it is a world
// of one process, where every collective returns its input and nothing else changes.
//
//   rank 0 .. size-1, backend "mpi" (CPU tensors), "mpi+nccl" once use_device() got a CUDA device (CUDA
//   tensors then go through NCCL, its unique id sent over MPI), or "single".
//   all_reduce_sum   in place, every rank ends with the elementwise sum of every rank's tensor
//   all_reduce_sum_async  the same, started and returned as a Work to wait for (MPI_Iallreduce on CPU; on
//                    CUDA the NCCL call is already asynchronous to the host, ordered on the compute stream)
//   broadcast        in place, every rank ends with rank root's tensor
//   all_gather       the ranks' tensors concatenated along dim 0, in rank order (shapes may differ in dim 0)
//   all_reduce_sum_differentiable  the sum as an autograd op: its backward is the sum of the ranks'
//                    gradients (what synchronised batch norm needs)
//
// A rank that dies makes the MPI launcher stop the others (OpenMPI's default: "mpirun noticed that process
// rank R ... exited"); an mdp::Error on one rank ends every rank through abort(). Deliberately not here:
// subgroups of some ranks (duplicate() gives the same ranks on a communicator of their own), point-to-point
// messages, a transport of our own.
#pragma once
#include <memory>
#include <string>

#include "../tensor/tensor.h"

namespace mdp::nn {

// A collective in flight. Every rank must start the same collectives in the same order.
class Work {
 public:
  virtual ~Work() = default;
  virtual bool test() = 0;  // lets the collective progress; true once its result is in the tensor
  virtual void wait() = 0;  // returns once its result is in the tensor
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;
  // Contiguous CPU float32 / float64 / int64 / uint8 tensors.
  virtual void all_reduce_sum(Tensor& t) = 0;
  // t must stay untouched until the Work is done. This default runs all_reduce_sum and returns a done Work.
  virtual std::unique_ptr<Work> all_reduce_sum_async(Tensor& t);
  virtual void broadcast(Tensor& t, int root) = 0;
  virtual Tensor all_gather(const Tensor& t) = 0;
  virtual void barrier() = 0;
  // A run on `device`: for a CUDA device, the NCCL communicator of this rank on it (a collective; throws
  // naming what is missing: the CUDA backend, NCCL). CPU: nothing.
  virtual void use_device(Device device) = 0;
  // A group of the same ranks whose collectives are ordered independently of this one's (MPI_Comm_dup; a
  // collective call). CPU tensors only.
  virtual std::unique_ptr<ProcessGroup> duplicate() = 0;
  // Ends every rank of the run with this exit code (after the message was printed by the caller).
  [[noreturn]] virtual void abort(int code) = 0;
};

// Joins the run's world once per process (MPI_Init when launched by mpirun, else a world of one) and
// returns it; later calls return the same group. shutdown_distributed() leaves it (MPI_Finalize).
ProcessGroup& init_distributed();
ProcessGroup& world();  // init_distributed() must have run; a world of one otherwise
void shutdown_distributed();
// True when this process was started by an MPI launcher (mpirun / mpiexec) with more than one rank.
bool launched_distributed();
// Why collectives cannot run on `device` in this process ("" when they can): for a CUDA device, a missing
// CUDA backend or NCCL. Asks no other rank (so the ranks can agree on it before any NCCL call).
std::string why_no_collectives_on(Device device);
// This rank's index among the ranks on its machine (OpenMPI's OMPI_COMM_WORLD_LOCAL_RANK; 0 otherwise).
int local_rank();

// x summed over all ranks; differentiable: the gradient of each rank's input is the sum of the
// gradients that reached every rank's output.
Tensor all_reduce_sum_differentiable(const Tensor& x);

}  // namespace mdp::nn
