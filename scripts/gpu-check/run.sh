#!/usr/bin/env bash
# run.sh: the GPU check, run on the GPU machine from the bundle that `scripts/gpu-check.sh bundle` wrote.
#
#   bash build/gpu-bundle/run.sh [--out DIR] [--budget SECONDS] [--cpu-train-limit SECONDS]
#
# Unpacks the bundle's payload (the mdp binary, test_cuda, our libraries and Debian's, the PyTorch peer),
# finds the NVIDIA libraries it does not carry (find-libs.sh), prints them and the GPU, then runs in this
# order, each step under its own time limit and with its output kept in DIR/logs/STEP.log:
#   1. cuda-runtime, cuda-ops    the CUDA op tests (test_cuda: runtime, cuda_vs_reference)
#   2. autocast                  bf16 autocast on the GPU
#   3. model-parity              ResNet-50 / DeepLabV3 on CUDA against the CPU backend
#   4. bench                     `mdp bench --device cuda` against `torch_peer.py --device cuda`, five
#                                workloads, fp32 and bf16
#   5. train-cpu, train-cuda     a short training run on each device with the same seed; the losses compared
# and writes DIR/gpu-report.md (report.py): pass/fail per step, the ratio table, the loss comparison.
# Without a GPU every CUDA step is skipped with one line; the CPU steps still run, which is how the bundle
# is tested on a machine without one (tests/scripts/test_gpu_bundle.sh). What this is not: a benchmark
# suite (the sizes are chosen to fit the time, see docs/gpu.md) or a substitute for `make test`.
# Exit status: 0 when no step failed (skipped steps are not failures), 1 otherwise.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT="$HERE/out"
BUDGET=470          # seconds for all steps together: the machine's 15 minutes hold a start, this and a rerun
CPU_TRAIN_LIMIT=60  # the CPU training run's limit: ample on the GPU machine's 16 cores; the bundle's own
                    # test runs it on 2 busy CI cores and passes a larger one
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --budget) BUDGET="$2"; shift 2 ;;
    --cpu-train-limit) CPU_TRAIN_LIMIT="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for arg in "budget=$BUDGET" "cpu-train-limit=$CPU_TRAIN_LIMIT"; do
  [[ "${arg#*=}" =~ ^[0-9]+$ ]] ||
    { echo "run.sh: --${arg%%=*} must be a whole number of seconds, got '${arg#*=}'" >&2; exit 2; }
done
mkdir -p "$OUT/logs" "$OUT/bench" || { echo "run.sh: cannot create the output folder '$OUT'" >&2; exit 2; }
OUT=$(cd "$OUT" && pwd)
START=$(date +%s)
: > "$OUT/steps.tsv"

# ---------------------------------------------------------------- the payload
P="$HERE/payload"
if [ ! -x "$P/bin/mdp" ]; then
  [ -f "$HERE/payload.tar.gz" ] || { echo "run.sh: no payload.tar.gz beside run.sh in $HERE" >&2; exit 2; }
  tar -xzf "$HERE/payload.tar.gz" -C "$HERE" || { echo "run.sh: cannot unpack $HERE/payload.tar.gz" >&2; exit 2; }
fi
echo "bundle: $(cat "$P/BUILD_INFO" 2>/dev/null | head -1)"

# ---------------------------------------------------------------- libraries and the GPU
# shellcheck source=find-libs.sh
source "$HERE/find-libs.sh"
echo "NVIDIA libraries (required by libmdp_cuda.so: $(tr '\n' ' ' < "$P/cuda-libs.txt")):"
find_gpu_libs $(cat "$P/cuda-libs.txt") > "$OUT/libs.txt"
REQUIRED_MISSING="$GPU_LIBS_MISSING"
REQUIRED_PATH="$GPU_LIB_PATH"
find_gpu_libs libnccl.so.2 libcuda.so.1 > "$OUT/libs-optional.txt"  # not in a pipe: it sets GPU_LIB_PATH
sed '/^libnccl/s/$/   (optional: NCCL, for multi-GPU runs)/;/^libcuda/s/$/   (optional: the driver, which the loader finds itself)/' \
  "$OUT/libs-optional.txt" >> "$OUT/libs.txt"
rm -f "$OUT/libs-optional.txt"
sed 's/^/  /' "$OUT/libs.txt"
# Our processes get the bundle's libraries first, then the NVIDIA folders; Python (the peer) keeps its own
# environment, since the bundle's libstdc++ may be older than the one PyTorch needs.
MDP_LD="$P/lib${REQUIRED_PATH:+:$REQUIRED_PATH}${GPU_LIB_PATH:+:$GPU_LIB_PATH}"

GPU=""
if command -v nvidia-smi >/dev/null 2>&1; then
  GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
fi
if [ -n "$GPU" ]; then echo "GPU: $GPU"; else echo "GPU: none found (nvidia-smi missing or lists no device)"; fi
echo "$GPU" > "$OUT/gpu.txt"

# The C and C++ runtimes: the machine's glibc must be new enough for our binaries; its libstdc++ is used
# when it has every symbol version ours need, else the bundle's (lib-cxx/), which needs a newer glibc.
# GPU_CHECK_CXX=bundle forces the bundle's (the self-containment test does).
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
glibc=$(ldd --version 2>/dev/null | head -1 | grep -o '[0-9]*\.[0-9]*$' || true)
need_c=$(cat "$P/GLIBC_NEEDED") need_cxx=$(cat "$P/GLIBCXX_NEEDED") need_c_by_cxx=$(cat "$P/GLIBC_NEEDED_BY_CXX")
RUNTIME_PROBLEM=""
version_ge "${glibc:-0}" "$need_c" || RUNTIME_PROBLEM="glibc ${glibc:-unknown} is older than the $need_c the binaries need"
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
host_cxx=$("$ldconfig" -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ { print $NF; exit }' || true)
if [ "${GPU_CHECK_CXX:-}" != bundle ] && [ -n "$host_cxx" ] && grep -qa "GLIBCXX_$need_cxx" "$host_cxx"; then
  echo "C library: glibc $glibc (needs $need_c); C++ runtime: this machine's $host_cxx (has GLIBCXX_$need_cxx)"
  CXX_LD=""
elif version_ge "${glibc:-0}" "$need_c_by_cxx"; then
  why="this machine's ${host_cxx:-libstdc++} lacks GLIBCXX_$need_cxx"
  [ "${GPU_CHECK_CXX:-}" = bundle ] && why="GPU_CHECK_CXX=bundle"
  echo "C library: glibc $glibc (needs $need_c); C++ runtime: the bundle's ($why)"
  CXX_LD="$P/lib-cxx:"
else
  RUNTIME_PROBLEM="${RUNTIME_PROBLEM:+$RUNTIME_PROBLEM; }this machine's libstdc++ lacks GLIBCXX_$need_cxx and the bundle's needs glibc $need_c_by_cxx (have ${glibc:-unknown})"
  CXX_LD=""
fi
[ -n "$RUNTIME_PROBLEM" ] && echo "run.sh: the bundle cannot run here: $RUNTIME_PROBLEM" >&2
MDP_LD="$CXX_LD$MDP_LD"
echo "python: $(command -v python3 || echo none)"

# ---------------------------------------------------------------- steps
# step NAME LIMIT CMD...: runs CMD under `timeout`, output to logs/NAME.log, one line to steps.tsv:
# NAME, status (pass, fail, skip, timeout), seconds, and a one-line reason for anything but pass.
step() {
  local name="$1" limit="$2"; shift 2
  local left=$(( BUDGET - ($(date +%s) - START) ))
  if [ "$left" -lt 5 ]; then record "$name" skip 0 "the check's budget of ${BUDGET}s is spent"; return; fi
  [ "$limit" -gt "$left" ] && limit="$left"
  local log="$OUT/logs/$name.log" t0 rc status why=""
  t0=$(date +%s%N)
  # the command may be one of the functions below: they and what they read are exported to a child bash
  timeout --kill-after=5 "$limit" bash -c '"$@"' step "$@" > "$log" 2>&1
  rc=$?
  local secs; secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  case $rc in
    0) status=pass ;;
    77) status=skip; why=$(grep -m1 SKIPPED "$log" || echo "skipped") ;;
    124|137) status=timeout; why="over its limit of ${limit}s" ;;
    *) status=fail; why="exit code $rc: $(grep -v '^\s*$' "$log" | grep -m1 -i -E 'error|fail|mismatch' || tail -1 "$log")" ;;
  esac
  record "$name" "$status" "$secs" "$why"
  [ "$status" = fail ] || [ "$status" = timeout ] && tail -n 15 "$log" | sed 's/^/    | /'
  return 0
}
record() {  # record NAME STATUS SECONDS WHY
  printf '%s\t%s\t%.1f\t%s\n' "$1" "$2" "$3" "$(printf '%s' "$4" | tr '\t\n' '  ' | cut -c1-300)" >> "$OUT/steps.tsv"
  printf '[%-7s] %-13s %6.1fs  %s\n' "$2" "$1" "$3" "$4"
}
mdp_run() {
  if [ -n "$RUNTIME_PROBLEM" ]; then echo "not run: $RUNTIME_PROBLEM"; return 1; fi
  env LD_LIBRARY_PATH="$MDP_LD" "$@"
}

CUDA_SKIP=""
[ -z "$GPU" ] && CUDA_SKIP="no GPU on this machine"
cuda_step() {  # like step, but skipped with one line without a GPU; with one, missing libraries fail it
  if [ -n "$CUDA_SKIP" ]; then record "$1" skip 0 "SKIPPED: $CUDA_SKIP"; return; fi
  if [ -n "$REQUIRED_MISSING" ]; then record "$1" fail 0 "not found on this machine: $REQUIRED_MISSING (searched: see libs.txt)"; return; fi
  step "$@"
}

export -f mdp_run
export MDP_LD RUNTIME_PROBLEM
T="$P/bin/test_cuda"
# test_cuda itself always runs once: without a GPU it loads every library and exits 77 with one line.
if [ -n "$CUDA_SKIP" ]; then step cuda-runtime 30 mdp_run "$T" --run_test=runtime --log_level=message
else cuda_step cuda-runtime 45 mdp_run "$T" --run_test=runtime --log_level=message; fi
cuda_step cuda-ops 75 mdp_run "$T" --run_test=cuda_vs_reference --log_level=message
cuda_step autocast 40 mdp_run "$T" --run_test=autocast --log_level=message
cuda_step model-parity 90 mdp_run "$T" --run_test=model_parity --log_level=message

# bench: each workload and precision, mdp then the peer, under one step limit; results as JSON lines.
bench_all() {
  [ -n "$RUNTIME_PROBLEM" ] && { echo "not run: $RUNTIME_PROBLEM"; return 1; }
  local w b s p cpu_threads failed=0
  cpu_threads=$(nproc 2>/dev/null || echo 4)
  for spec in resnet50-train:32:224 resnet50-infer:64:224 deeplabv3-train:4:512 deeplabv3-infer:4:512 mdp-pretrain:4:512; do
    IFS=: read -r w b s <<< "$spec"
    for p in fp32 bf16; do
      local args=(--workload "$w" --batch "$b" --size "$s" --steps 10 --warmup 3 --device cuda --precision "$p" --threads "$cpu_threads")
      echo "== mdp bench ${args[*]}"
      timeout 30 env LD_LIBRARY_PATH="$MDP_LD" "$P/bin/mdp" bench "${args[@]}" > "$OUT/bench/$w.$p.mdp.out" 2>&1 ||
        { failed=$((failed + 1)); echo "   error: mdp bench $w $p failed: $(tail -1 "$OUT/bench/$w.$p.mdp.out")"; }
      echo "   $(grep '^{' "$OUT/bench/$w.$p.mdp.out" | tail -1)"
      echo "== torch_peer.py ${args[*]}"
      timeout 40 python3 "$P/peer/torch_peer.py" "${args[@]}" > "$OUT/bench/$w.$p.peer.out" 2>&1 ||
        { failed=$((failed + 1)); echo "   error: torch_peer.py $w $p failed: $(tail -1 "$OUT/bench/$w.$p.peer.out")"; }
      echo "   $(grep '^{' "$OUT/bench/$w.$p.peer.out" | tail -1)"
    done
  done
  [ "$failed" = 0 ] || { echo "error: $failed of 20 bench runs failed"; return 1; }
}
export -f bench_all
export P OUT HERE
cuda_step bench 200 bench_all

# train: the same seed on the CPU and on CUDA; report.py compares the losses per iteration.
train_on() {  # train_on DEVICE
  rm -rf "$OUT/train-$1"
  mdp_run "$P/bin/mdp" train --config "$HERE/train-check.yaml" --work-dir "$OUT/train-$1" \
    --set train.device="$1" --set train.threads="$(nproc 2>/dev/null || echo 4)"
}
export -f train_on
step train-cpu "$CPU_TRAIN_LIMIT" train_on cpu
cuda_step train-cuda 45 train_on cuda
if command -v python3 >/dev/null 2>&1; then cuda_step train-compare 15 python3 "$HERE/report.py" compare-train "$OUT"
else record train-compare skip 0 "no python3 on this machine"; fi

# ---------------------------------------------------------------- report
echo "total: $(( $(date +%s) - START ))s of a ${BUDGET}s budget"
if command -v python3 >/dev/null 2>&1; then
  python3 "$HERE/report.py" "$OUT" || echo "run.sh: report.py failed; the raw results are in $OUT"
else
  echo "run.sh: no python3 here: no peer and no gpu-report.md; steps.tsv holds the results"
fi
! grep -q -P '\t(fail|timeout)\t' "$OUT/steps.tsv"
