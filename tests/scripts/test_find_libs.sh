#!/usr/bin/env bash
# test_find_libs.sh: the GPU check's library search (scripts/gpu-check/find-libs.sh) on a fake directory
# tree: toolkit folders before the Python packages' nvidia/*/lib, newest toolkit first, only the exact
# soname counts, and a missing library is reported, not invented.
set -euo pipefail
source "$(dirname "$0")/../../scripts/gpu-check/find-libs.sh"
R=$(mktemp -d)
trap 'rm -rf "$R"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
lib() { mkdir -p "$R/$(dirname "$1")"; : > "$R/$1"; }

lib usr/local/cuda-12.4/lib64/libcudart.so.12          # an older toolkit: the wrong soname
lib usr/local/cuda-12.4/lib64/libcublas.so.13          # ... older folder, so not chosen over 13.0's
lib usr/local/cuda-13.0/targets/x86_64-linux/lib/libcudart.so.13
lib usr/local/cuda-13.0/targets/x86_64-linux/lib/libcublas.so.13
lib usr/local/cuda-13.0/targets/x86_64-linux/lib/libcublasLt.so.13
lib site/nvidia/cudnn/lib/libcudnn.so.9                # what pip's nvidia-cudnn package brings
lib site/nvidia/nccl/lib/libnccl.so.2
lib usr/lib/x86_64-linux-gnu/libcuda.so.1              # the driver
ln -s libcudnn.so.9 "$R/site/nvidia/cudnn/lib/libcudnn.so"

export GPU_CHECK_ROOT="$R" GPU_CHECK_SITE_PACKAGES="/nowhere:/site"
unset CUDA_HOME CUDA_PATH
find_gpu_libs libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcudnn.so.9 libnccl.so.2 libcuda.so.1 libcufft.so.12 > "$R/found.txt"
out=$(cat "$R/found.txt")
expect() { grep -qx "$1" <<< "$out" || fail "expected the line '$1' in:"$'\n'"$out"; }
T="$R/usr/local/cuda-13.0/targets/x86_64-linux/lib"
expect "libcudart.so.13 $T"
expect "libcublas.so.13 $T"
expect "libcublasLt.so.13 $T"
expect "libcudnn.so.9 $R/site/nvidia/cudnn/lib"
expect "libnccl.so.2 $R/site/nvidia/nccl/lib"
expect "libcuda.so.1 $R/usr/lib/x86_64-linux-gnu"
expect "libcufft.so.12 not-found"
[ "$GPU_LIBS_MISSING" = "libcufft.so.12" ] || fail "GPU_LIBS_MISSING is '$GPU_LIBS_MISSING'"
[ "$GPU_LIB_PATH" = "$T:$R/site/nvidia/cudnn/lib:$R/site/nvidia/nccl/lib:$R/usr/lib/x86_64-linux-gnu" ] ||
  fail "GPU_LIB_PATH is '$GPU_LIB_PATH'"

# /usr/local/cuda (the usual link) comes before the versioned folders; $CUDA_HOME before both.
lib usr/local/cuda/lib64/libcudart.so.13
[ "$(find_gpu_lib libcudart.so.13)" = "$R/usr/local/cuda/lib64" ] || fail "/usr/local/cuda not preferred"
lib opt/cuda-home/lib64/libcudart.so.13
[ "$(CUDA_HOME=/opt/cuda-home find_gpu_lib libcudart.so.13)" = "$R/opt/cuda-home/lib64" ] || fail "CUDA_HOME not preferred"

# A toolkit's own cuDNN wins over the Python package's.
lib usr/local/cuda-13.0/lib/libcudnn.so.9
[ "$(find_gpu_lib libcudnn.so.9)" = "$R/usr/local/cuda-13.0/lib" ] || fail "the toolkit's cuDNN not preferred"

# Nothing found: status 1, no output.
if d=$(find_gpu_lib libnothing.so.1); then fail "found libnothing.so.1 in '$d'"; fi
[ -z "${d:-}" ] || fail "printed '$d' for a missing library"
echo "find-libs: all checks passed"
