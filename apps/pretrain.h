// pretrain.h: `mdp pretrain`, Multi-Dataset Pretraining over several datasets with concatenated label
// spaces (../shared/docs/mdp-method.md §9).
#pragma once

namespace mdp::apps {
int pretrain_main(int argc, char** argv);
}
