// Suite predict_parity: `mdp predict --model deeplabv3-torchvision --no-resize` with a state dict exported
// from torchvision's deeplabv3_resnet50 gives torchvision's labels on the same image (the reference and
// its top-2 logit margins come from tools/torchvision_reference.py --predict-image).
#include <boost/test/unit_test.hpp>

#include "data/png.h"
#include "tensor/ops.h"
#include "tensor/tensor_file.h"
#include "tests/apps/cli_util.h"

using namespace mdp;
using namespace mdp::test;

BOOST_AUTO_TEST_SUITE(predict_parity)

BOOST_AUTO_TEST_CASE(torchvision_export_gives_torchvision_labels) {
  const char* dir = std::getenv("MDP_TORCHVISION_DIR");
  BOOST_REQUIRE_MESSAGE(dir, "MDP_TORCHVISION_DIR is not set (ctest sets it)");
  TensorFile ref = load_tensor_file(std::string(dir) + "/predict_reference.safetensors");
  std::string image = ref.meta("image"), out = scratch("predict_parity");
  Run r = sh("{mdp} predict --checkpoint " + std::string(dir) + "/deeplabv3_export.safetensors --input " + image + " --output " +
             out + " --model deeplabv3-torchvision --num-classes 21 --no-resize");
  BOOST_TEST_REQUIRE(r.rc == 0, r.out);
  std::string stem = std::filesystem::path(image).stem().string();
  data::Image labels = data::read_png(out + "/" + stem + ".png", data::PngMode::Indices);
  const Tensor& want = ref.at("labels");
  BOOST_REQUIRE(labels.height == want.size(0) && labels.width == want.size(1));
  std::vector<double> w = ops::to_vector(want), margin = ops::to_vector(ref.at("margin"));
  int64_t differ = 0, differ_clear = 0;
  for (size_t i = 0; i < w.size(); ++i)
    if (double(labels.pixels[i]) != w[i]) {
      ++differ;
      if (margin[i] > 1e-3) ++differ_clear;  // torchvision's top two classes more than 1e-3 apart
    }
  BOOST_TEST_MESSAGE(differ << " of " << w.size() << " pixels differ from torchvision");
  BOOST_TEST(differ_clear == 0);
  BOOST_TEST(double(differ) <= 1e-3 * double(w.size()));
  std::filesystem::remove_all(out);
}

BOOST_AUTO_TEST_SUITE_END()
