#!/usr/bin/env bash
# test_gpu_report.sh: the GPU check's report.py on made-up results: the loss comparison accepts float
# noise and rejects a real difference, and gpu-report.md holds the step table and the ratio table.
set -euo pipefail
R="$(dirname "$0")/../../scripts/gpu-check/report.py"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
log() {  # log FILE SCALE-OF-ITERATION-1 DRIFT: 30 iterations of a made-up loss curve
  mkdir -p "$(dirname "$1")"
  python3 -c "
import json, sys
for i in range(1, 31):
    l = 2.0 * (0.97 ** i) * (1 + float(sys.argv[2]) * (i > 1)) * (float(sys.argv[1]) if i == 1 else 1)
    print(json.dumps({'iter': i, 'loss': l, 'lr': 1e-3}))" "$2" "$3" > "$1"
}

# no CUDA run: 77
log "$W/a/train-cpu/log.jsonl" 1 0
rc=0; python3 "$R" compare-train "$W/a" > /dev/null || rc=$?
[ "$rc" = 77 ] || fail "no CUDA log: exit $rc, expected 77"
# float noise: match
log "$W/a/train-cuda/log.jsonl" 1.0002 0.01
python3 "$R" compare-train "$W/a" > /dev/null || fail "a 2e-4 first-iteration difference was rejected"
grep -q '"match": true' "$W/a/train-compare.json" || fail "train-compare.json does not say match"
# a wrong first iteration, and a drift of 20% later: both mismatches
log "$W/b/train-cpu/log.jsonl" 1 0
log "$W/b/train-cuda/log.jsonl" 1.01 0
rc=0; python3 "$R" compare-train "$W/b" > "$W/b.txt" || rc=$?
[ "$rc" = 1 ] && grep -q mismatch "$W/b.txt" || fail "a 1% first-iteration difference passed"
log "$W/b/train-cuda/log.jsonl" 1 0.2
rc=0; python3 "$R" compare-train "$W/b" > /dev/null || rc=$?
[ "$rc" = 1 ] || fail "a 20% later difference passed"

# the page
printf 'cuda-ops\tpass\t3.2\t\nbench\tfail\t10.0\texit code 1: error: 1 of 20 bench runs failed\n' > "$W/a/steps.tsv"
echo "NVIDIA H200, 580.00, 143771 MiB" > "$W/a/gpu.txt"
mkdir -p "$W/a/bench"
echo '{"workload": "resnet50-train", "framework": "mdp", "batch": 32, "size": 224, "images_per_s": 900.0, "peak_device_mb": 7000.0}' > "$W/a/bench/resnet50-train.bf16.mdp.out"
echo '{"workload": "resnet50-train", "framework": "pytorch-2.11.0", "batch": 32, "size": 224, "images_per_s": 1200.0, "peak_device_mb": 6000.0}' > "$W/a/bench/resnet50-train.bf16.peer.out"
echo 'Traceback: out of memory' > "$W/a/bench/deeplabv3-infer.fp32.mdp.out"
echo '{"workload": "deeplabv3-infer", "framework": "pytorch-2.11.0", "batch": 4, "size": 512, "images_per_s": 100.0, "peak_device_mb": null}' > "$W/a/bench/deeplabv3-infer.fp32.peer.out"
python3 "$R" "$W/a" > /dev/null
M="$W/a/gpu-report.md"
for want in "GPU: NVIDIA H200" "| cuda-ops | **pass** |" "| bench | **fail** |" "failed: bench" \
            "| resnet50-train | bf16 | 32 x 224^2 | 900.0 | 1200.0 | 0.75x | 7000.0 | 6000.0 |" \
            "| deeplabv3-infer | fp32 | 4 x 512^2 | failed | 100.0 | - | failed | - |" "pytorch-2.11.0" "**match**"; do
  grep -qF -- "$want" "$M" || { cat "$M"; fail "gpu-report.md lacks '$want'"; }
done
echo "gpu report: all checks passed"
