// Suite distributed: `mpirun -np 2 mdp train|pretrain` (2 ranks of 1 thread, MPI). With synchronised batch
// norm, 2 ranks at batch b give the losses of 1 rank at batch 2b at every iteration, in train and in MDP
// pretraining (mixing off); a run stopped under 2 ranks resumes exactly; a config error is reported once and every rank exits non-zero; a killed rank ends the
// run within a bounded time, naming the rank, and the last checkpoint still resumes.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cmath>
#include <regex>

#include "tests/apps/cli_util.h"

using namespace mdp::test;
namespace fs = std::filesystem;

namespace {
// OpenMPI refuses to start as root unless told (CI runs as root); 2 ranks on 2 cores.
const std::string kMpirun = "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 --oversubscribe ";

// shapes_b has no ignore pixels, and crops never pad (ratio_range >= 1): every rank's loss averages as
// many pixels, so the mean of the ranks' losses is the loss of the whole batch.
std::string tiny(const std::string& work, const std::string& data) {
  return " --work-dir " + work + " --set data.dataset=generated --set data.domain=shapes_b --set data.root=" + data +
         " --set data.generated_images='[16, 4]' --set data.generated_size='[48, 48]' --set data.crop='[48, 48]'"
         " --set data.scale='[96, 48]' --set data.ratio_range='[1.0, 2.0]' --set data.workers=1 --set model.depth=18"
         " --set model.width=0.125 --set model.channels=8 --set model.norm=syncbn --set model.dropout=0"
         " --set train.threads=1 --set train.optimizer=adamw --set train.lr=0.001 --set train.eval_interval=0"
         " --set train.log_interval=1";
}

double number(const std::string& s) { return std::stod(s); }
}  // namespace

BOOST_AUTO_TEST_SUITE(distributed)

BOOST_AUTO_TEST_CASE(two_ranks_reproduce_one_rank_at_twice_the_batch_and_resume_exactly) {
  std::string root = scratch("distributed"), data = root + "/data";
  const std::string iters = " --set train.iters=4 --set train.checkpoint_interval=2";
  Run one = sh("{mdp} train" + tiny(root + "/one", data) + iters + " --set train.batch=4");
  BOOST_TEST_REQUIRE(one.rc == 0, one.out);
  Run two = sh(kMpirun + "{mdp} train" + tiny(root + "/two", data) + iters + " --set train.batch=2");
  BOOST_TEST_REQUIRE(two.rc == 0, two.out);
  BOOST_TEST(contains(two.out, "distributed: 2 ranks (backend mpi), rank 0 writes the work dir; global batch 2 x 2 = 4, "
                               "batch norm synchronised"), two.out);
  BOOST_TEST(!contains(one.out, "distributed:"), one.out);
  // rank 0 alone prints: one header, one result table
  BOOST_TEST(std::count(two.out.begin(), two.out.end(), '\n') < 40, two.out);
  auto a = losses(root + "/one/log.jsonl"), b = losses(root + "/two/log.jsonl");
  BOOST_TEST_REQUIRE(a.size() == 4u);
  BOOST_TEST_REQUIRE(b.size() == 4u);
  for (int it = 1; it <= 4; ++it)
    BOOST_TEST(std::fabs(number(a[it]) - number(b[it])) <= 1e-5 * std::fabs(number(a[it])),
               "iteration " << it << ": 1 rank x 4 " << a[it] << ", 2 ranks x 2 " << b[it]);

  // Stopped after 2 iterations under 2 ranks and resumed under 2 ranks: the same losses as without a stop.
  Run first = sh(kMpirun + "{mdp} train" + tiny(root + "/stop", data) + iters + " --set train.batch=2 --stop-after 2");
  BOOST_TEST_REQUIRE(first.rc == 0, first.out);
  Run rest = sh(kMpirun + "{mdp} train --resume --work-dir " + root + "/stop");
  BOOST_TEST_REQUIRE(rest.rc == 0, rest.out);
  BOOST_TEST((losses(root + "/stop/log.jsonl") == b), read_file(root + "/stop/log.jsonl"));

  // A resume with another number of ranks is refused, naming how many; --move-aside works under mpirun
  // (rank 0 alone moves the earlier run).
  Run other = sh("{mdp} train --resume --work-dir " + root + "/two --set train.iters=6");
  BOOST_TEST(other.rc == 1, other.out);
  BOOST_TEST(contains(other.out, "the checkpoint was written by 2 rank(s)"), other.out);
  Run again = sh(kMpirun + "{mdp} train" + tiny(root + "/two", data) + iters + " --set train.batch=2 --move-aside");
  BOOST_TEST(again.rc == 0, again.out);
  BOOST_TEST(fs::exists(root + "/two.prev-1/log.jsonl"));
  BOOST_TEST(!fs::exists(root + "/two.prev-2"));
  fs::remove_all(root);
}

// MDP pretraining (mixing off) on shapes_b + shapes_c, neither with ignore pixels; queues of 4 fill, so
// the order in which the ranks' keys reach the bank matters.
BOOST_AUTO_TEST_CASE(mdp_pretrain_on_two_ranks_reproduces_one_rank_and_resumes_exactly) {
  std::string root = scratch("distributed_pretrain");
  auto args = [&](const std::string& w) {
    return " --work-dir " + w + " --set data.datasets='[\"generated:shapes_b\", \"generated:shapes_c\"]' --set data.roots='[\"" +
           root + "/data\"]' --set data.generated_images='[16, 4]' --set data.generated_size='[48, 48]'"
           " --set data.crop='[48, 48]' --set data.scale='[96, 48]' --set data.ratio_range='[1.0, 2.0]' --set data.workers=1"
           " --set data.cat_max_ratio=1.0 --set model.depth=18 --set model.width=0.125 --set mdp.dim=16 --set model.norm=syncbn"
           " --set mdp.region_mix=0 --set mdp.pixel_mix=0 --set mdp.queue_length=4 --set train.iters=6"
           " --set train.checkpoint_interval=3 --set train.threads=1 --set train.optimizer=adamw --set train.lr=0.001"
           " --set train.log_interval=1";
  };
  Run one = sh("{mdp} pretrain" + args(root + "/one") + " --set train.batch=4");
  BOOST_TEST_REQUIRE(one.rc == 0, one.out);
  Run two = sh(kMpirun + "{mdp} pretrain" + args(root + "/two") + " --set train.batch=2");
  BOOST_TEST_REQUIRE(two.rc == 0, two.out);
  BOOST_TEST(contains(two.out, "distributed: 2 ranks (backend mpi)"), two.out);
  auto a = losses(root + "/one/log.jsonl"), b = losses(root + "/two/log.jsonl");
  BOOST_TEST_REQUIRE(a.size() == 6u);
  BOOST_TEST_REQUIRE(b.size() == 6u);
  BOOST_TEST(number(a[6]) > 0);  // the bank filled and the loss is real
  for (int it = 1; it <= 6; ++it)
    BOOST_TEST(std::fabs(number(a[it]) - number(b[it])) <= 1e-5 * std::max(1.0, std::fabs(number(a[it]))),
               "iteration " << it << ": 1 rank x 4 " << a[it] << ", 2 ranks x 2 " << b[it]);
  Run first = sh(kMpirun + "{mdp} pretrain" + args(root + "/stop") + " --set train.batch=2 --stop-after 3");
  BOOST_TEST_REQUIRE(first.rc == 0, first.out);
  Run rest = sh(kMpirun + "{mdp} pretrain --resume --work-dir " + root + "/stop");
  BOOST_TEST_REQUIRE(rest.rc == 0, rest.out);
  BOOST_TEST((losses(root + "/stop/log.jsonl") == b), read_file(root + "/stop/log.jsonl"));
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(a_config_error_is_reported_once_and_every_rank_fails) {
  std::string root = scratch("distributed_error");
  Run r = sh(kMpirun + "{mdp} train" + tiny(root + "/w", root + "/data") + " --set model.norm=sync");
  BOOST_TEST(r.rc != 0, r.out);
  std::regex line("mdp train: error: config: model.norm 'sync' is not bn or syncbn");
  auto n = std::distance(std::sregex_iterator(r.out.begin(), r.out.end(), line), std::sregex_iterator());
  BOOST_TEST(n == 1, r.out);
  BOOST_TEST(!fs::exists(root + "/w/latest.state.safetensors"));
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(a_killed_rank_ends_the_run_and_the_checkpoint_resumes) {
  std::string root = scratch("distributed_kill"), w = root + "/w";
  // Kills one rank once rank 0 has written its first checkpoint (the run would last hours otherwise). The
  // ranks are the processes whose command line starts with the binary (not mpirun, not this shell).
  std::string run = "timeout 300 " + kMpirun + "{mdp} train" + tiny(w, root + "/data") +
                    " --set train.batch=2 --set train.iters=100000 --set train.checkpoint_interval=5 > " + root + "/out.log 2>&1 &"
                    " for i in $(seq 600); do [ -e " + w + "/latest.state.safetensors ] && break; sleep 0.1; done;"
                    " kill -9 $(pgrep -f '^" + mdp_bin() + " train --work-dir " + w + "' | tail -1); wait $!; echo \"rc $?\"";
  auto t0 = std::chrono::steady_clock::now();
  Run r = sh(run);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string out = read_file(root + "/out.log");
  BOOST_TEST(!contains(r.out, "rc 0"), r.out << out);
  BOOST_TEST(seconds < 90, seconds);
  BOOST_TEST(std::regex_search(out, std::regex("process rank [01] .* exited on signal 9")), out);
  Run resumed = sh(kMpirun + "{mdp} train --resume --work-dir " + w + " --stop-after 1");
  BOOST_TEST(resumed.rc == 0, resumed.out);
  BOOST_TEST(contains(resumed.out, "resumed from"), resumed.out);
  fs::remove_all(root);
}

BOOST_AUTO_TEST_CASE(bench_runs_data_parallel) {
  Run r = sh(kMpirun + "{mdp} bench --workload deeplabv3-train --batch 1 --size 64 --threads 1 --steps 1 --warmup 0");
  BOOST_TEST_REQUIRE(r.rc == 0, r.out);
  std::regex json("\\{\"workload\": \"deeplabv3-train\".*\"ranks\": 2, \"allreduce_ms_per_step\": [0-9.]+, \"params\": [0-9]+, \"forward_flops_per_image\": [0-9]+\\}");
  auto lines = std::distance(std::sregex_iterator(r.out.begin(), r.out.end(), json), std::sregex_iterator());
  BOOST_TEST(lines == 1, r.out);  // rank 0 alone prints
  Run one = sh("{mdp} bench --workload deeplabv3-train --batch 2 --size 64 --threads 1 --steps 1 --warmup 0");
  BOOST_TEST(contains(one.out, "\"ranks\": 1, \"allreduce_ms_per_step\": null, \"params\": "), one.out);
}

BOOST_AUTO_TEST_SUITE_END()
