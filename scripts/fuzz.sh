#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, build type Fuzz) and fuzzes
# each for a while, seeded with files the project writes and reads (tests/fuzz/make_seeds.cpp), the
# sample images of ../shared/data and the kept regression inputs (tests/fuzz/regressions/<target>/).
#
#   scripts/fuzz.sh [--seconds N] [--build-dir DIR] [--jobs N] [TARGET...]
#
# TARGETs: decoders safetensors run_state config label_mapping folder_layout dataset_lists (default:
# all). --seconds: per target (default 60); --build-dir: the fuzz build (default build/fuzz). Prints one
# line per target: runs, executions per second, coverage, and "no finding" or the finding. Exit 0: no
# finding; 1: a finding (the input, the log and the command that replays it are printed and kept);
# 77: clang or libFuzzer missing (skipped); 2: bad arguments or a failed build.
# Needs clang++, libclang-rt-14-dev (libFuzzer) and libomp-dev (OpenMP for clang): `make test-deps`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
all=(decoders safetensors run_state config label_mapping folder_layout dataset_lists)
seconds=60
build=$root/build/fuzz
jobs=$(nproc)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) [[ " ${all[*]} " == *" $1 "* ]] || { echo "fuzz.sh: unknown target '$1' (targets: ${all[*]})" >&2; exit 2; }
       targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --seconds must be a whole number >= 1, got '$seconds'" >&2; exit 2; }
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
data=${MDP_SHARED_DATA:-$root/../shared/data}

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (apt-get install clang libclang-rt-14-dev libomp-dev); skipped" >&2; exit 77; }
done
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' > "$probe/p.cpp"
if ! clang++ -fsanitize=fuzzer "$probe/p.cpp" -o "$probe/p" 2>/dev/null; then
  echo "fuzz.sh: clang++ cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev); skipped" >&2
  exit 77
fi

[ -d "$data" ] || { echo "fuzz.sh: the sample datasets '$data' are missing (set MDP_SHARED_DATA)" >&2; exit 2; }

echo "fuzz.sh: building the fuzz targets in $build"
mkdir -p "$build"
log=$build/build.log
if ! { cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
         -DMDP_BUILD_FUZZERS=ON -DMDP_BUILD_TESTS=OFF -DMDP_BUILD_APPS=OFF -DMDP_CUDA=OFF -DMDP_NATIVE=OFF > "$log" 2>&1 &&
       cmake --build "$build" -j "$jobs" --target fuzzers >> "$log" 2>&1; }; then
  tail -30 "$log" >&2 || true
  echo "fuzz.sh: the fuzz build failed (log $log)" >&2
  exit 2
fi

# Seeds: written fresh each run (they follow the writers); the decoders' are images.
seeds=$build/seeds
rm -rf "$seeds"
"$build/tests/fuzz/make_seeds" --repo "$root" --data "$data" --out "$seeds" > "$build/seeds.log" 2>&1 ||
  { cat "$build/seeds.log" >&2; echo "fuzz.sh: writing the seeds failed" >&2; exit 2; }
sed 's/^/fuzz.sh: /' "$build/seeds.log"
mkdir -p "$seeds/decoders"
n=0
while IFS= read -r -d '' f; do
  n=$((n + 1)); cp "$f" "$seeds/decoders/sample$n.${f##*.}"
done < <(find "$data" -type f \( -name '*.png' -o -name '*.jpg' \) -size -65k -print0 2>/dev/null | sort -z)
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import PIL, numpy' 2>/dev/null; then
  # tools/pil_reference.py writes its synthetic files (every PNG layout, progressive/gray/4:4:4 JPEG)
  # into pil_synthetic/ beside --out.
  /usr/bin/python3 "$root/tools/pil_reference.py" --data "$data" --out "$build/pil/pil_reference.txt" >/dev/null
  cp "$build"/pil/pil_synthetic/* "$seeds/decoders/"
fi

# Each target: a fresh working corpus (what it finds), read-only seeds and regressions; a finding is
# any crash, sanitizer report, leak, timeout (-timeout) or allocation over -rss_limit_mb / -malloc_limit_mb.
status=0
for t in "${targets[@]}"; do
  work=$build/runs/$t
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/findings"
  regress=$root/tests/fuzz/regressions/$t
  dirs=("$work/corpus" "$seeds/$t")
  [ -d "$regress" ] && dirs+=("$regress")
  max_len=$([ "$t" = decoders ] && echo 65536 || echo 16384)
  set +e
  (cd "$work" && "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -error_exitcode=1 \
     -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$work/findings/" "${dirs[@]}") \
     > "$work/fuzz.log" 2>&1
  rc=$?
  set -e
  runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$work/fuzz.log")
  rate=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$work/fuzz.log")
  cov=$(grep -oE 'cov: [0-9]+' "$work/fuzz.log" | tail -1 | cut -d' ' -f2 || true)
  if [ $rc -eq 0 ]; then
    echo "fuzz $t: ${runs:-?} runs in ${seconds}s (${rate:-?}/s), coverage ${cov:-?} edges, no finding"
  else
    status=1
    finding=$(ls "$work/findings" 2>/dev/null | head -1)
    echo "fuzz $t: FINDING after ${runs:-?} runs (exit $rc)" >&2
    grep -E '^==[0-9]+==ERROR|SUMMARY|runtime error|deadly signal|out-of-memory|timeout' "$work/fuzz.log" | head -5 | sed 's/^/    /' >&2 || true
    echo "    input: $work/findings/$finding; log: $work/fuzz.log" >&2
    echo "    replay: $build/tests/fuzz/fuzz_$t $work/findings/$finding" >&2
  fi
done
exit $status
