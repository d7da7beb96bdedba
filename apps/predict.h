// predict.h: `mdp predict`: label PNGs (palette mode, one class index per pixel) and colour overlays
// for an image or a directory of images.
#pragma once

namespace mdp::apps {
int predict_main(int argc, char** argv);
}
