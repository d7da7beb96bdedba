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

# Seeds: sample PNG/JPEG files up to 64 KiB, plus formats the samples lack (progressive and gray JPEG,
# interlaced, 1/2/4-bit, 16-bit colour, tRNS PNGs), made with Debian's PIL when it is there.
mkdir -p "$work/corpus" "$work/artifacts"
n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  cp "$f" "$work/corpus/sample$n.${f##*.}"
done < <(find "$data" -type f \( -name '*.png' -o -name '*.jpg' \) -size -65k -print0 2>/dev/null | sort -z)
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import PIL, numpy' 2>/dev/null; then
  /usr/bin/python3 - "$work/corpus" <<'EOF'
import sys, numpy as np
from PIL import Image
out = sys.argv[1]
rng = np.random.default_rng(0)
rgb = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
rgb.save(f"{out}/progressive.jpg", progressive=True, quality=80)
rgb.convert("L").save(f"{out}/gray.jpg", quality=80)
rgb.save(f"{out}/444.jpg", subsampling=0, quality=90)
rgb.save(f"{out}/interlaced.png", interlace=1)
rgb.convert("RGBA").save(f"{out}/rgba.png")
rgb.convert("LA").save(f"{out}/la.png")
rgb.convert("1").save(f"{out}/bilevel.png")
pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=4)
pal.save(f"{out}/pal2bit.png", bits=2)
pal.save(f"{out}/trns.png", transparency=1)
Image.fromarray(rng.integers(0, 65536, (12, 16), dtype=np.uint16)).save(f"{out}/gray16.png")
EOF
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
