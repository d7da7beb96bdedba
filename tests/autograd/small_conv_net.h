// small_conv_net.h: a small conv net written with the differentiable ops, for the autocast tests of
// tests/autograd (CPU, reference) and tests/cuda: conv 3x3 -> batch norm -> relu -> conv 3x3 stride 2
// with bias -> relu -> conv 1x1 -> global average pool -> linear -> cross-entropy. Channel counts are
// large enough for oneDNN's AMX kernels and the CPU backend's 1x1 matmul path. Not a model (see nn/).
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "tensor/random.h"

namespace mdp::test {

struct SmallConvNet {
  // x (N, 3, H, W) float32; target (N) int64 in [0, 10)
  struct Run { Tensor logits, loss; std::vector<Tensor> grads; };

  std::vector<Tensor> params;  // w1 (32, 3, 3, 3), g1, b1 (32), w2 (64, 32, 3, 3), b2 (64), w3 (48, 64, 1, 1),
                               // fc_w (10, 48), fc_b (10)

  SmallConvNet(Device d, uint64_t seed) {
    Generator g(seed);
    auto p = [&](const Shape& s, double scale, double shift = 0) {
      Tensor t = ops::to(ops::add(ops::mul(ops::randn(s, DType::Float32, &g), scale), shift), d);
      t.set_requires_grad(true);
      params.push_back(t);
    };
    p({32, 3, 3, 3}, 0.3);
    p({32}, 0.1, 1.0);
    p({32}, 0.1);
    p({64, 32, 3, 3}, 0.06);
    p({64}, 0.1);
    p({48, 64, 1, 1}, 0.12);
    p({10, 48}, 0.15);
    p({10}, 0.1);
  }

  // One forward and backward in training mode (fresh running statistics, so runs are comparable).
  Run run(const Tensor& x, const Tensor& target) {
    for (Tensor& t : params) t.set_grad(Tensor());
    const Tensor &w1 = params[0], &g1 = params[1], &b1 = params[2], &w2 = params[3], &b2 = params[4], &w3 = params[5],
                 &fw = params[6], &fb = params[7];
    Device d = x.device();
    Tensor rm = ops::zeros({32}, DType::Float32, d), rv = ops::ones({32}, DType::Float32, d);
    Tensor h = conv2d(x, w1, Tensor(), {{1, 1}, {1, 1}, {1, 1}, 1});          // (N, 32, H, W)
    h = relu(batch_norm(h, g1, b1, rm, rv, true));
    h = relu(conv2d(h, w2, b2, {{2, 2}, {1, 1}, {1, 1}, 1}));                   // (N, 64, H/2, W/2)
    h = conv2d(h, w3, Tensor(), {{1, 1}, {0, 0}, {1, 1}, 1});                   // (N, 48, H/2, W/2)
    h = flatten(adaptive_avg_pool2d(h, 1, 1), 1);                               // (N, 48)
    Run r;
    r.logits = add(matmul(h, fw, false, true), fb);                             // (N, 10)
    r.loss = cross_entropy(r.logits, target);
    backward(r.loss);
    for (const Tensor& t : params) r.grads.push_back(t.grad());
    return r;
  }
};

// ||a - b|| / ||b|| over all elements (float64 on the host).
inline double rel_l2(const Tensor& a, const Tensor& b) {
  auto va = ops::to_vector(a), vb = ops::to_vector(b);
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    num += (va[i] - vb[i]) * (va[i] - vb[i]);
    den += vb[i] * vb[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

}  // namespace mdp::test
