// Suite pretrain_distributed: PretrainStep (MDP, cross-dataset mixing on) on 2 MPI ranks, each with its
// own shard of the data: after k steps every rank holds bit-identical query and key networks and a
// bit-identical prototype bank, though each rank mixed and embedded different images. Its own executable,
// run by CTest under `mpirun -np 2` (mdp/pretrain_distributed_2_ranks).
#define BOOST_TEST_MODULE pretrain_distributed
#include <boost/test/unit_test.hpp>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "data/folder.h"
#include "data/generated.h"
#include "mdp/pretrain_step.h"
#include "nn/data_parallel.h"
#include "nn/distributed.h"
#include "nn/layers.h"

using namespace mdp;
namespace fs = std::filesystem;

struct World {
  World() { nn::init_distributed(); }
  ~World() { nn::shutdown_distributed(); }
};
BOOST_TEST_GLOBAL_FIXTURE(World);

namespace {
// True when t holds exactly rank 0's bits on this rank (a collective).
bool same_as_rank0(const Tensor& t) {
  Tensor mine = ops::contiguous(ops::clone(t)), theirs = ops::contiguous(ops::clone(t));
  nn::world().broadcast(theirs, 0);
  return std::memcmp(mine.raw_data(), theirs.raw_data(), size_t(mine.numel()) * dtype_size(mine.dtype())) == 0;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(pretrain_distributed)

BOOST_AUTO_TEST_CASE(ranks_hold_identical_networks_and_banks) {
  nn::ProcessGroup& world = nn::world();
  // One data root for all ranks: rank 0 writes it, the others wait.
  const std::string root = (fs::temp_directory_path() / ("mdp_pretrain_distributed_" + std::to_string(::getppid()))).string();
  if (world.rank() == 0) data::write_generated(data::demo_domains(0, 32, 32, 16, 4), root);
  world.barrier();
  std::vector<data::LabelSpaceMember> members;
  for (const char* d : {"shapes_a", "shapes_b"})
    members.push_back({data::open_folder(data::generated_domain_options(root, d, "train")), 1.0, d});
  auto ls = std::make_shared<data::LabelSpace>(members);

  manual_seed(uint64_t(world.rank()));  // different initial weights: the broadcast must make them equal
  PretrainStepOptions o;
  o.backbone = {.depth = 18, .replace_stride_with_dilation = {false, true, true}, .width = 0.125, .include_top = false};
  o.dim = 16;
  o.bank.queue_length = 4;  // full queues: the order of the pushes matters
  o.key_momentum = 0.9;
  o.mix = {0.5, 0.5, false, 255};
  o.world = &world;
  PretrainStep step(o, ls);
  nn::convert_sync_batchnorm(step.trained());
  nn::broadcast_parameters(step.trained(), world);
  step.copy_query_to_key();
  nn::AdamW opt(nn::make_param_groups(step.trained()), nn::AdamWOptions{.lr = 1e-3, .weight_decay = 0.01});
  data::LoaderOptions lo;
  lo.batch_size = 2;
  lo.num_workers = 0;
  lo.rank = world.rank();
  lo.world_size = world.size();
  data::Loader loader(ls, data::train_pipeline(32, 32, 64, 32), lo);
  data::Batch b;
  std::vector<std::string> my_paths;
  for (int i = 0; i < 4; ++i) {
    while (!loader.next(b)) {}
    if (i == 0) my_paths = b.paths;
    BOOST_TEST(std::isfinite(step.run(b, opt).loss));
  }
  if (world.size() > 1) {  // the ranks did see different images
    Tensor first = ops::full({1}, double(std::hash<std::string>{}(my_paths[0]) % 1000003));
    BOOST_TEST(!same_as_rank0(first) == (world.rank() != 0));
  }
  for (auto& [name, t] : step.trained().state_dict()) BOOST_TEST(same_as_rank0(t), "query " << name);
  for (auto& [name, t] : step.key()->state_dict()) BOOST_TEST(same_as_rank0(t), "key " << name);
  for (auto& [name, t] : step.bank().state()) BOOST_TEST(same_as_rank0(t), "bank " << name);
  BOOST_TEST(step.bank().num_filled() > 0);
  world.barrier();
  if (world.rank() == 0) fs::remove_all(root);
}

BOOST_AUTO_TEST_SUITE_END()
