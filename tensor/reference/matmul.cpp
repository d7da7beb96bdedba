// matmul.cpp (reference): (B, M, K) @ (B, K, N) by the textbook triple loop, accumulating in double.
#include "tensor/reference/reference_backend.h"
#include "tensor/strided.h"

namespace mdp {

void ReferenceBackend::matmul(const Tensor& out, const Tensor& a, const Tensor& b) {
  auto va = read_strided(a), vb = read_strided(b);
  int64_t B = out.size(0), M = out.size(1), N = out.size(2), K = a.size(2);
  std::vector<double> y(size_t(B * M * N), 0.0);
  for (int64_t n = 0; n < B; ++n)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += va[size_t((n * M + i) * K + k)] * vb[size_t((n * K + k) * N + j)];
        y[size_t((n * M + i) * N + j)] = s;
      }
  write_strided(out, y);
}

}  // namespace mdp
