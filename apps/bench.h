// bench.h: `mdp bench`, the workloads of ../shared/peer/torch_peer.py run by mdp, printing one JSON line
// with the peer's keys (framework "mdp"). A benchmark, never a test.
#pragma once

namespace mdp::apps {
int bench_main(int argc, char** argv);  // argv[1] == "bench"
}
