// demo.h: `mdp demo`, the embedded default job (the README's `make demo`).
#pragma once

namespace mdp::apps {
int demo_main(int argc, char** argv);
}
