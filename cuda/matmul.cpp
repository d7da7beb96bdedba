// matmul.cpp (cuda): out (B, M, N) = a (B, M, K) @ b (B, K, N) as one cublasGemmStridedBatchedEx call.
// cuBLAS is column-major, so it computes out^T = b^T a^T, reading each operand in place when one of its
// two matrix dims is contiguous (a transposed view is just the other case) and from a contiguous copy
// otherwise. Batch stride 0 broadcasts. float32 uses TF32 tensor cores only when set_allow_tf32(true);
// bfloat16 multiplies in bf16 and accumulates in float32; float64 is plain double. Mixed precision
// (bf16 a and b, float32 out) is the same call with a float32 C matrix, so no rounding to bf16.
#include <algorithm>
#include <climits>

#include "cuda/cuda_backend.h"
#include "cuda/runtime.h"
#include "tensor/error.h"

namespace mdp::cuda {
namespace {

// How cuBLAS can read a row-major (R x C) matrix with element strides (sr, sc). Columns contiguous
// (sc == 1): its storage is the column-major matrix X^T with leading dim sr. Rows contiguous
// (sr == 1): its storage is X itself, column-major with leading dim sc. Size-1 dims take any stride.
struct Layout {
  bool ok = false;
  bool transposed = false;  // storage holds X^T
  int64_t ld = 0;
};

Layout layout(int64_t R, int64_t C, int64_t sr, int64_t sc) {
  int64_t a_sc = C == 1 ? 1 : sc, a_sr = R == 1 ? std::max<int64_t>(C, 1) : sr;
  if (a_sc == 1 && a_sr >= std::max<int64_t>(C, 1)) return {true, true, a_sr};
  int64_t b_sr = R == 1 ? 1 : sr, b_sc = C == 1 ? std::max<int64_t>(R, 1) : sc;
  if (b_sr == 1 && b_sc >= std::max<int64_t>(R, 1)) return {true, false, b_sc};
  return {};
}

int as_int(int64_t v, const char* what) {
  MDP_CHECK(v <= INT_MAX, "matmul: {} = {} is too large for cuBLAS", what, v);
  return int(v);
}

}  // namespace

void CudaBackend::matmul(const Tensor& out, const Tensor& a0, const Tensor& b0) {
  int64_t B = out.size(0), M = out.size(1), N = out.size(2), K = a0.size(2);
  Tensor a = a0, b = b0;
  Layout la = layout(M, K, a.stride(1), a.stride(2)), lb = layout(K, N, b.stride(1), b.stride(2));
  if (!la.ok) {
    a = ops::contiguous(a);
    la = layout(M, K, a.stride(1), a.stride(2));
  }
  if (!lb.ok) {
    b = ops::contiguous(b);
    lb = layout(K, N, b.stride(1), b.stride(2));
  }
  // out^T (N x M) = op(b storage) (N x K) * op(a storage) (K x M); storage that holds the transpose
  // already is used as is.
  cublasOperation_t op_b = lb.transposed ? CUBLAS_OP_N : CUBLAS_OP_T;
  cublasOperation_t op_a = la.transposed ? CUBLAS_OP_N : CUBLAS_OP_T;
  long long stride_a = B == 1 ? 0 : a.stride(0), stride_b = B == 1 ? 0 : b.stride(0);

  cudaDataType type, out_type;
  cublasComputeType_t compute;
  float alpha_f = 1, beta_f = 0;
  double alpha_d = 1, beta_d = 0;
  const void *alpha = &alpha_f, *beta = &beta_f;
  switch (a.dtype()) {
    case DType::Float32:
      type = CUDA_R_32F;
      compute = allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      break;
    case DType::BFloat16:
      type = CUDA_R_16BF;
      compute = CUBLAS_COMPUTE_32F;
      break;
    case DType::Float64:
      type = CUDA_R_64F;
      compute = CUBLAS_COMPUTE_64F;
      alpha = &alpha_d;
      beta = &beta_d;
      break;
    default:
      throw Error(fmt::format("matmul: dtype {} is not supported by the cuda backend", dtype_name(a.dtype())));
  }
  out_type = out.dtype() == DType::Float32 ? CUDA_R_32F : type;  // float32 out from bf16 a, b: mixed precision
  Context& c = context(out);
  MDP_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      c.cublas(), op_b, op_a, as_int(N, "N"), as_int(M, "M"), as_int(K, "K"), alpha, b.raw_data(), type,
      as_int(lb.ld, "leading dim of b"), stride_b, a.raw_data(), type, as_int(la.ld, "leading dim of a"), stride_a, beta,
      out.raw_data(), out_type, as_int(N, "N"), M * N, as_int(B, "batch"), compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace mdp::cuda
