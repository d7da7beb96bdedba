#!/usr/bin/env bash
# fuzz-decoders.sh SECONDS: builds tests/data/fuzz_decoders.cpp with clang's libFuzzer + ASan/UBSan into a
# temporary directory under /tmp and fuzzes the PNG/JPEG decoders for SECONDS (default 60), seeded with
# the small sample files of ../shared/data (copied, never written to) and a few PIL-made variants.
# Needs clang++ and libclang-rt-14-dev (libFuzzer's runtime). Exit 0: no crash; 77: clang or libFuzzer
# missing (skipped); otherwise the crashing input is kept and its path printed.
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${MDP_SHARED_DATA:-$root/../shared/data}
cxx=${CLANGXX:-clang++}

if ! command -v "$cxx" >/dev/null; then
  echo "fuzz-decoders: $cxx not found (apt-get install clang libclang-rt-14-dev); skipped" >&2
  exit 77
fi
work=$(mktemp -d /tmp/mdp-fuzz-decoders.XXXXXX)
keep=0
cleanup() { if [ "$keep" = 0 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT

# libFuzzer's runtime: a trivial target must link, or clang lacks it.
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' > "$work/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer "$work/probe.cpp" -o "$work/probe" 2>/dev/null; then
  echo "fuzz-decoders: $cxx cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev); skipped" >&2
  exit 77
fi

echo "fuzz-decoders: building with $cxx"
"$cxx" -std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I"$root" \
  "$root/tests/data/fuzz_decoders.cpp" "$root/data/image.cpp" "$root/data/png.cpp" "$root/data/jpeg.cpp" \
  "$root/data/image_io.cpp" -lpng -ljpeg -lz -lfmt -o "$work/fuzz_decoders"

# Seeds: sample PNG/JPEG files up to 64 KiB, plus small files in the formats the samples lack (made by
# tools/pil_reference.py with Debian's PIL, when it is there).
mkdir -p "$work/corpus" "$work/artifacts"
n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  cp "$f" "$work/corpus/sample$n.${f##*.}"
done < <(find "$data" -type f \( -name '*.png' -o -name '*.jpg' \) -size -65k -print0 2>/dev/null | sort -z)
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import PIL, numpy' 2>/dev/null; then
  # tools/pil_reference.py writes its synthetic files (all PNG layouts, progressive/gray/4:4:4 JPEG)
  # into pil_synthetic/ next to --out.
  /usr/bin/python3 "$root/tools/pil_reference.py" --data "$data" --out "$work/pil_reference.txt" >/dev/null
  cp "$work"/pil_synthetic/* "$work/corpus/"
fi
echo "fuzz-decoders: $(ls "$work/corpus" | wc -l) seeds, running for ${seconds}s"

set +e
(cd "$work" && ./fuzz_decoders -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=3072 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" corpus) > "$work/fuzz.log" 2>&1
rc=$?
set -e
grep -E '^(#[0-9]+ +DONE|stat::|Done [0-9]+ runs)' "$work/fuzz.log" || tail -5 "$work/fuzz.log"
if [ $rc -ne 0 ]; then
  keep=1
  echo "fuzz-decoders: FAILED (exit $rc); log $work/fuzz.log, inputs in $work/artifacts/" >&2
  grep -E 'ERROR|SUMMARY|==[0-9]+==' "$work/fuzz.log" | head -20 >&2 || true
  exit $rc
fi
echo "fuzz-decoders: no crash in ${seconds}s"
