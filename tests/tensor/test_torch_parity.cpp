// Suite torch_parity: ops against PyTorch 1.13 outputs and gradients written by tools/torch_reference.py
// (float64). Each case runs twice: the reference backend in float64 (tolerance 1e-9) and the fast CPU
// backend in float32 (tolerance 1e-4 relative).
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <sstream>

#include "tensor/backend.h"
#include "tensor/tensor_file.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

namespace {
TensorFile load(const std::string& file) {
  const char* dir = std::getenv("MDP_PARITY_DIR");
  BOOST_REQUIRE_MESSAGE(dir, "MDP_PARITY_DIR is not set (ctest sets it; run tools/torch_reference.py --out DIR)");
  return load_tensor_file(std::string(dir) + "/" + file);
}
std::vector<int64_t> ints(const std::string& s) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::stoll(item));
  return v;
}
// Cases present in a file: the prefixes of "<case>.x" or "<case>.logits" or "<case>.a".
std::vector<std::string> cases(const TensorFile& f, const std::string& first) {
  std::vector<std::string> r;
  for (auto& [name, t] : f.tensors)
    if (name.size() > first.size() && name.compare(name.size() - first.size(), first.size(), first) == 0)
      r.push_back(name.substr(0, name.size() - first.size()));
  BOOST_REQUIRE(!r.empty());
  return r;
}
// Runs check(dtype) in float64 on the reference backend and in float32 on the cpu backend.
void both(const std::function<void(DType, double, double)>& check) {
  {
    ReferenceScope s;
    check(DType::Float64, 1e-9, 1e-9);
  }
  check(DType::Float32, 1e-4, 1e-4);
}
Tensor in(const TensorFile& f, const std::string& n, DType d) { return ops::clone(ops::to(f.at(n), d)); }
}  // namespace

BOOST_AUTO_TEST_SUITE(torch_parity)

BOOST_AUTO_TEST_CASE(conv2d) {
  TensorFile f = load("conv2d.safetensors");
  for (const std::string& c : cases(f, ".x")) {
    ops::Conv2dArgs a{ints(f.meta(c + ".stride")), ints(f.meta(c + ".padding")), ints(f.meta(c + ".dilation")),
                      ints(f.meta(c + ".groups"))[0]};
    bool bias = f.meta(c + ".bias") == "1";
    both([&](DType d, double atol, double rtol) {
      Tensor x = in(f, c + ".x", d), w = in(f, c + ".w", d), b = bias ? in(f, c + ".b", d) : Tensor();
      close(ops::conv2d(x, w, b, a), f.at(c + ".y"), atol, rtol, "conv2d " + c + " y");
      auto g = ops::conv2d_backward(in(f, c + ".gy", d), x, w, a, true, true, bias);
      close(g.dx, f.at(c + ".gx"), atol, rtol, "conv2d " + c + " gx");
      close(g.dw, f.at(c + ".gw"), atol, rtol * 10, "conv2d " + c + " gw");
      if (bias) close(g.db, f.at(c + ".gb"), atol, rtol, "conv2d " + c + " gb");
    });
  }
}

BOOST_AUTO_TEST_CASE(batch_norm) {
  TensorFile f = load("batch_norm.safetensors");
  for (const std::string& c : cases(f, ".x")) {
    bool training = f.meta(c + ".training") == "1";
    both([&](DType d, double atol, double rtol) {
      Tensor x = in(f, c + ".x", d), w = in(f, c + ".weight", d), b = in(f, c + ".bias", d);
      Tensor rm = in(f, c + ".running_mean_in", d), rv = in(f, c + ".running_var_in", d);
      auto r = ops::batch_norm(x, w, b, rm, rv, training, std::stod(f.meta(c + ".momentum")), std::stod(f.meta(c + ".eps")));
      close(r.y, f.at(c + ".y"), atol, rtol, "batch_norm " + c + " y");
      close(rm, f.at(c + ".running_mean_out"), atol, rtol, "batch_norm " + c + " running_mean");
      close(rv, f.at(c + ".running_var_out"), atol, rtol, "batch_norm " + c + " running_var");
      auto g = ops::batch_norm_backward(in(f, c + ".gy", d), x, w, r.save_mean, r.save_invstd, training);
      close(g.dx, f.at(c + ".gx"), atol, rtol, "batch_norm " + c + " gx");
      close(g.dweight, f.at(c + ".gweight"), atol, rtol, "batch_norm " + c + " gweight");
      close(g.dbias, f.at(c + ".gbias"), atol, rtol, "batch_norm " + c + " gbias");
    });
  }
}

BOOST_AUTO_TEST_CASE(resize) {
  TensorFile f = load("resize.safetensors");
  for (const std::string& c : cases(f, ".x")) {
    auto size = ints(f.meta(c + ".size"));
    bool nearest = f.meta(c + ".mode") == "nearest";
    bool ac = !nearest && f.meta(c + ".align_corners") == "1";
    both([&](DType d, double atol, double rtol) {
      Tensor x = in(f, c + ".x", d), gy = in(f, c + ".gy", d);
      Tensor y = nearest ? ops::resize_nearest(x, size[0], size[1]) : ops::resize_bilinear(x, size[0], size[1], ac);
      close(y, f.at(c + ".y"), atol, rtol, "resize " + c + " y");
      Tensor gx = nearest ? ops::resize_nearest_backward(gy, x.shape()) : ops::resize_bilinear_backward(gy, x.shape(), ac);
      close(gx, f.at(c + ".gx"), atol, rtol, "resize " + c + " gx");
    });
  }
}

BOOST_AUTO_TEST_CASE(pool) {
  TensorFile f = load("pool.safetensors");
  for (const std::string& c : cases(f, ".x")) {
    std::string kind = f.meta(c + ".kind");
    both([&](DType d, double atol, double rtol) {
      Tensor x = in(f, c + ".x", d), gy = in(f, c + ".gy", d), y, gx;
      if (kind == "adaptive") {
        auto o = ints(f.meta(c + ".output_size"));
        y = ops::adaptive_avg_pool2d(x, o[0], o[1]);
        gx = ops::adaptive_avg_pool2d_backward(gy, x.shape());
      } else {
        ops::Pool2dArgs a{ints(f.meta(c + ".kernel")), ints(f.meta(c + ".stride")), ints(f.meta(c + ".padding")),
                          f.meta(c + ".ceil_mode") == "1", kind == "avg" ? f.meta(c + ".count_include_pad") == "1" : true};
        if (kind == "max") {
          auto [yy, idx] = ops::max_pool2d(x, a);
          y = yy;
          gx = ops::max_pool2d_backward(gy, idx, x.shape());
        } else {
          y = ops::avg_pool2d(x, a);
          gx = ops::avg_pool2d_backward(gy, x.shape(), a);
        }
      }
      close(y, f.at(c + ".y"), atol, rtol, "pool " + c + " y");
      close(gx, f.at(c + ".gx"), atol, rtol, "pool " + c + " gx");
    });
  }
}

BOOST_AUTO_TEST_CASE(softmax) {
  TensorFile f = load("softmax.safetensors");
  for (const std::string& c : cases(f, ".x")) {
    int64_t dim = ints(f.meta(c + ".dim"))[0];
    bool log = f.meta(c + ".kind") == "log_softmax";
    both([&](DType d, double atol, double rtol) {
      Tensor x = in(f, c + ".x", d);
      Tensor y = log ? ops::log_softmax(x, dim) : ops::softmax(x, dim);
      close(y, f.at(c + ".y"), atol, rtol, "softmax " + c + " y");
      Tensor gy = in(f, c + ".gy", d);
      close(log ? ops::log_softmax_backward(gy, y, dim) : ops::softmax_backward(gy, y, dim), f.at(c + ".gx"), atol, rtol,
            "softmax " + c + " gx");
    });
  }
}

BOOST_AUTO_TEST_CASE(cross_entropy) {
  TensorFile f = load("cross_entropy.safetensors");
  for (const std::string& c : cases(f, ".logits")) {
    bool weighted = f.meta(c + ".weighted") == "1";
    both([&](DType d, double atol, double rtol) {
      Tensor l = in(f, c + ".logits", d), t = f.at(c + ".target"), w = weighted ? in(f, c + ".weight", d) : Tensor();
      close(ops::cross_entropy(l, t, w, 255), f.at(c + ".loss"), atol, rtol, "cross_entropy " + c + " loss");
      close(ops::cross_entropy_backward(ops::scalar_tensor(1.0, d), l, t, w, 255), f.at(c + ".glogits"), atol, rtol,
            "cross_entropy " + c + " glogits");
    });
  }
}

BOOST_AUTO_TEST_CASE(matmul) {
  TensorFile f = load("matmul.safetensors");
  for (const std::string& c : cases(f, ".a")) {
    both([&](DType d, double atol, double rtol) {
      Tensor a = in(f, c + ".a", d), b = in(f, c + ".b", d), gy = in(f, c + ".gy", d);
      close(ops::matmul(a, b), f.at(c + ".y"), atol, rtol, "matmul " + c + " y");
      close(ops::matmul(gy, b, false, true), f.at(c + ".ga"), atol, rtol, "matmul " + c + " ga");
      close(ops::matmul(a, gy, true, false), f.at(c + ".gb"), atol, rtol, "matmul " + c + " gb");
    });
  }
}

BOOST_AUTO_TEST_SUITE_END()
