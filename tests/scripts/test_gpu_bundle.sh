#!/usr/bin/env bash
# test_gpu_bundle.sh BUILD_DIR: the GPU check's bundle, made from BUILD_DIR (a Release with the CUDA
# backend) and run here, where there is no GPU, in a bare environment (env -i) with the bundle's own C++
# runtime forced: every CUDA step is skipped with one line, the CPU training run passes, the report is
# written, and every library our binaries load comes from the bundle, the C library or the NVIDIA
# folders that run.sh found (checked with ldd under the same LD_LIBRARY_PATH run.sh uses).
set -euo pipefail
BUILD=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$ROOT/scripts/gpu-check.sh" bundle --no-build --allow-native --build-dir "$BUILD" --out "$W/bundle" > "$W/bundle.log" 2>&1 ||
  { cat "$W/bundle.log"; fail "gpu-check.sh bundle failed"; }
cat "$W/bundle.log"
grep -q 'bash .*run.sh --out "\$OUT"' "$W/bundle.log" || fail "the bundle step does not print the command to run"
bytes=$(du -sb "$W/bundle" | cut -f1)
[ "$bytes" -le $((60 * 1048576)) ] || fail "the bundle is $bytes bytes, over 60 MiB"
tar -tzf "$W/bundle/payload.tar.gz" > "$W/list.txt"
for f in payload/bin/mdp payload/bin/test_cuda payload/lib/libmdp_tensor.so payload/lib/libmdp_cuda.so \
         payload/lib/libdnnl.so.2 payload/lib-cxx/libstdc++.so.6 payload/peer/torch_peer.py \
         payload/licenses/LIBRARIES.txt payload/cuda-libs.txt; do
  grep -qx "$f" "$W/list.txt" || fail "$f is not in the payload"
done

rc=0
# CI runs this beside other tests on 2 cores, where the 30-iteration CPU run can take over a minute
# (the default limit of 60 s is for the GPU machine's 16 cores): give it room.
env -i PATH=/usr/bin:/bin GPU_CHECK_CXX=bundle bash "$W/bundle/run.sh" --out "$W/out" --cpu-train-limit 300 > "$W/run.log" 2>&1 || rc=$?
cat "$W/run.log"
[ "$rc" = 0 ] || fail "run.sh exited with $rc"
grep -q "C++ runtime: the bundle's (GPU_CHECK_CXX=bundle)" "$W/run.log" || fail "the bundle's C++ runtime was not used"
status() { awk -F'\t' -v s="$1" '$1 == s { print $2 }' "$W/out/steps.tsv"; }
for s in cuda-runtime cuda-ops autocast model-parity bench train-cuda train-compare; do
  [ "$(status $s)" = skip ] || fail "step $s: '$(status $s)', expected skip"
  [ "$(grep -c "^\[skip   \] $s " "$W/run.log")" = 1 ] || fail "step $s is not skipped with one line"
done
grep -q 'SKIPPED: no CUDA device' "$W/out/steps.tsv" || fail "test_cuda did not run and say why it skipped"
[ "$(status train-cpu)" = pass ] || fail "the CPU training run: '$(status train-cpu)'"
[ "$(grep -c '"loss"' "$W/out/train-cpu/log.jsonl")" = 30 ] || fail "the CPU run did not log 30 iterations"
grep -q '^| train-cpu | \*\*pass\*\*' "$W/out/gpu-report.md" || fail "gpu-report.md lacks the train-cpu row"

# Where each library resolves with the loader path run.sh gives our binaries (the C++ runtime forced as
# above): inside the bundle, the C library, or an NVIDIA folder from libs.txt; nothing else.
P="$W/bundle/payload"
nvidia=$(awk '$2 != "not-found" { print $2 }' "$W/out/libs.txt" | sort -u | paste -sd:)
for elf in "$P/bin/mdp" "$P/bin/test_cuda" "$P/lib/libmdp_cuda.so"; do
  env -i LD_LIBRARY_PATH="$P/lib-cxx:$P/lib:$nvidia" /usr/bin/ldd "$elf" | sed 's/(0x[0-9a-f]*)//' |
  while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue  # the vDSO and the loader
    [ "$path" != not ] || fail "$(basename "$elf"): $name not found"
    case "$path" in
      "$P"/*) ;;
      */libc.so.6|*/libm.so.6|*/libdl.so.2|*/libpthread.so.0|*/librt.so.1) ;;
      *) dir=$(dirname "$path")
         [[ ":$nvidia:" == *":$dir:"* && "$name" =~ ^lib(cuda|cudart|cublas|cublasLt|cudnn|nccl) ]] ||
           fail "$(basename "$elf") loads $name from $path, outside the bundle" ;;
    esac
  done
done
# With a GPU listed (a fake nvidia-smi) but no device behind it, the CUDA steps run and fail with the
# reason, test_cuda skips, the CPU side still passes, and run.sh exits 1.
mkdir -p "$W/fake"
printf '#!/bin/sh\necho "NVIDIA H200 (fake), 580.00, 143771 MiB"\n' > "$W/fake/nvidia-smi"
chmod +x "$W/fake/nvidia-smi"
rc=0
env -i PATH="$W/fake:/usr/bin:/bin" bash "$W/bundle/run.sh" --out "$W/out-fake" --cpu-train-limit 300 > "$W/run-fake.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$W/run-fake.log"; fail "run.sh with failing CUDA steps exited with $rc"; }
status() { awk -F'\t' -v s="$1" '$1 == s { print $2 }' "$W/out-fake/steps.tsv"; }
for s in cuda-runtime cuda-ops autocast model-parity; do [ "$(status $s)" = skip ] || fail "fake GPU: $s '$(status $s)'"; done
for s in bench train-cuda; do [ "$(status $s)" = fail ] || fail "fake GPU: $s '$(status $s)', expected fail"; done
[ "$(status train-cpu)" = pass ] || fail "fake GPU: train-cpu '$(status train-cpu)'"
grep -q "no CUDA backend can run here" "$W/out-fake/steps.tsv" || fail "fake GPU: the failure's reason is not in steps.tsv"
grep -q "GPU: NVIDIA H200 (fake)" "$W/out-fake/gpu-report.md" || fail "fake GPU: the report does not name the GPU"
[ "$(ls "$W/out-fake/bench" | wc -l)" = 20 ] || fail "fake GPU: not every bench run was tried"
echo "gpu bundle: all checks passed"
