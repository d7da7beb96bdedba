// batch_norm.cpp (reference): batch normalisation over (N, H, W) per channel, training and eval, and its
// backward, in double.
#include <cmath>

#include "tensor/reference/reference_backend.h"
#include "tensor/strided.h"

namespace mdp {

void ReferenceBackend::batch_norm(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight,
                                  const Tensor& bias, const Tensor& running_mean, const Tensor& running_var,
                                  bool training, double momentum, double eps) {
  int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3), M = N * S;
  auto vx = read_strided(x);
  std::vector<double> w = weight.defined() ? read_strided(weight) : std::vector<double>(size_t(C), 1.0);
  std::vector<double> b = bias.defined() ? read_strided(bias) : std::vector<double>(size_t(C), 0.0);
  std::vector<double> mean(static_cast<size_t>(C)), invstd(static_cast<size_t>(C)), y(vx.size());
  std::vector<double> rm, rv;
  if (running_mean.defined()) {
    rm = read_strided(running_mean);
    rv = read_strided(running_var);
  }
  for (int64_t c = 0; c < C; ++c) {
    double m, v;
    if (training) {
      double s = 0, ss = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < S; ++i) s += vx[size_t((n * C + c) * S + i)];
      m = s / double(M);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < S; ++i) {
          double d = vx[size_t((n * C + c) * S + i)] - m;
          ss += d * d;
        }
      v = ss / double(M);
      if (!rm.empty()) {
        rm[size_t(c)] = (1 - momentum) * rm[size_t(c)] + momentum * m;
        rv[size_t(c)] = (1 - momentum) * rv[size_t(c)] + momentum * v * double(M) / double(M - 1);
      }
    } else {
      m = rm[size_t(c)];
      v = rv[size_t(c)];
    }
    mean[size_t(c)] = m;
    invstd[size_t(c)] = 1.0 / std::sqrt(v + eps);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        size_t k = size_t((n * C + c) * S + i);
        y[k] = (vx[k] - m) * invstd[size_t(c)] * w[size_t(c)] + b[size_t(c)];
      }
  }
  write_strided(out.y, y);
  write_strided(out.save_mean, mean);
  write_strided(out.save_invstd, invstd);
  if (training && !rm.empty()) {
    write_strided(running_mean, rm);
    write_strided(running_var, rv);
  }
}

void ReferenceBackend::batch_norm_backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& x,
                                           const Tensor& weight, const Tensor& save_mean,
                                           const Tensor& save_invstd, bool training) {
  int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3), M = N * S;
  auto vx = read_strided(x), vdy = read_strided(dy), mean = read_strided(save_mean),
       invstd = read_strided(save_invstd);
  std::vector<double> w = weight.defined() ? read_strided(weight) : std::vector<double>(size_t(C), 1.0);
  std::vector<double> dx(vx.size()), dw(static_cast<size_t>(C)), db(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        size_t k = size_t((n * C + c) * S + i);
        double xhat = (vx[k] - mean[size_t(c)]) * invstd[size_t(c)];
        sum_dy += vdy[k];
        sum_dy_xhat += vdy[k] * xhat;
      }
    dw[size_t(c)] = sum_dy_xhat;
    db[size_t(c)] = sum_dy;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        size_t k = size_t((n * C + c) * S + i);
        double g = w[size_t(c)] * invstd[size_t(c)];
        if (training) {
          double xhat = (vx[k] - mean[size_t(c)]) * invstd[size_t(c)];
          dx[k] = g * (vdy[k] - sum_dy / double(M) - xhat * sum_dy_xhat / double(M));
        } else {
          dx[k] = g * vdy[k];
        }
      }
  }
  write_strided(out.dx, dx);
  if (out.dweight.defined()) {
    write_strided(out.dweight, dw);
    write_strided(out.dbias, db);
  }
}

}  // namespace mdp
