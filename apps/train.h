// train.h: `mdp train` (supervised DeepLabV3 training on one dataset, with periodic evaluation,
// checkpoints and resume) and `mdp eval` (mIoU of a checkpoint on the validation split).
#pragma once

namespace mdp::apps {
int train_main(int argc, char** argv);
int eval_main(int argc, char** argv);
}
