#!/usr/bin/env bash
# gpu-check.sh: prepares the GPU check on this (CPU) machine, so that the rare, short visit to a bare GPU
# machine goes to running it, not to building.
#
#   scripts/gpu-check.sh bundle [--build-dir DIR] [--out DIR] [--no-build] [--allow-native]
#
# Builds a Release with the CUDA backend (DIR, default build/gpu-bundle-build; sm_90 must be among its
# CUDA architectures; the CPU loops for x86-64-v3, not -march=native, which only this machine's CPU is
# sure to run: --allow-native accepts such a build, for running the bundle here) and writes into --out
# (default build/gpu-bundle, git-ignored):
#   run.sh, find-libs.sh, report.py, train-check.yaml   the check itself (scripts/gpu-check/)
#   payload.tar.gz  bin/mdp, bin/test_cuda, lib/libmdp_tensor.so, lib/libmdp_cuda.so, every other shared
#                   library they load except the C library and the NVIDIA libraries (found with ldd;
#                   the C++ runtime in lib-cxx/, used only where the machine's is too old),
#                   licenses/ (each copied library's Debian copyright file), peer/torch_peer.py,
#                   cuda-libs.txt (the NVIDIA libraries run.sh must find), GLIBC*_NEEDED*, BUILD_INFO
# and prints the bundle's size and the command to run on the GPU machine. What it is not: an installer
# (`cmake --install` is) or a way to run on a GPU here; run.sh without a GPU skips the CUDA steps.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build/gpu-bundle-build"
ALLOW_NATIVE=0
OUT="$ROOT/build/gpu-bundle"
DO_BUILD=1
MAX_MIB=60

die() { echo "gpu-check: $*" >&2; exit 1; }
[ "${1:-}" = bundle ] || { sed -n '2,18p' "$0" >&2; exit 2; }
shift
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD=$(realpath -m "$2"); shift 2 ;;
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --allow-native) ALLOW_NATIVE=1; shift ;;
    *) echo "gpu-check: unknown argument '$1'" >&2; sed -n '2,18p' "$0" >&2; exit 2 ;;
  esac
done

# ---------------------------------------------------------------- build
if [ "$DO_BUILD" = 1 ]; then
  bash "$ROOT/scripts/install-deps.sh" --test  # test_cuda needs Boost.Test
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMDP_CPU_ARCH=x86-64-v3 >/dev/null
  cmake --build "$BUILD" --target mdp test_cuda -j "$(nproc)"
fi
grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD/CMakeCache.txt" 2>/dev/null ||
  die "$BUILD is not a Release build (CMAKE_BUILD_TYPE in its CMakeCache.txt)"
if grep -q '^MDP_NATIVE:BOOL=ON$' "$BUILD/CMakeCache.txt" && grep -q '^MDP_CPU_ARCH:STRING=native$' "$BUILD/CMakeCache.txt" &&
   [ "$ALLOW_NATIVE" = 0 ]; then
  die "$BUILD compiles the CPU loops with -march=native, for this machine only: use the default build dir, or --allow-native to run the bundle here"
fi
for f in apps/mdp tests/cuda/test_cuda lib/libmdp_tensor.so lib/libmdp_cuda.so; do
  [ -f "$BUILD/$f" ] || die "$BUILD/$f is missing: the CUDA backend is built only where /usr/local/cuda has nvcc, cuBLAS and cuDNN (see the configure summary)"
done
CUOBJDUMP=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
if [ -x "$CUOBJDUMP" ]; then
  archs=$("$CUOBJDUMP" --list-elf "$BUILD/lib/libmdp_cuda.so" 2>/dev/null | grep -o 'sm_[0-9a-z]*' | sort -u | tr '\n' ' ')
  [[ " $archs" == *" sm_90 "* ]] || die "libmdp_cuda.so holds no sm_90 (Hopper) code: found '${archs}'; set CMAKE_CUDA_ARCHITECTURES"
else  # this toolkit has no cuobjdump: the compile commands and the library's embedded code names
  grep -q 'code=\[sm_90\]' "$BUILD/compile_commands.json" && strings -a "$BUILD/lib/libmdp_cuda.so" | grep -- '-arch sm_90 ' >/dev/null ||
    die "libmdp_cuda.so was not compiled for sm_90 (Hopper): set CMAKE_CUDA_ARCHITECTURES"
  archs=$(grep -o 'code=\[[a-z_0-9]*\]' "$BUILD/compile_commands.json" | sort -u | sed 's/code=\[\(.*\)\]/\1/' | tr '\n' ' ')
fi

# ---------------------------------------------------------------- payload
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
P="$stage/payload"
mkdir -p "$P/bin" "$P/lib" "$P/lib-cxx" "$P/licenses" "$P/peer"
cp "$BUILD/apps/mdp" "$BUILD/tests/cuda/test_cuda" "$P/bin/"
cp "$BUILD/lib/libmdp_tensor.so" "$BUILD/lib/libmdp_cuda.so" "$P/lib/"
PEER="$ROOT/../shared/peer/torch_peer.py"
[ -f "$PEER" ] || die "the PyTorch peer $PEER is missing (../shared beside the checkout)"
cp "$PEER" "$P/peer/"

# The C library's parts and the loader come with every Linux; the NVIDIA libraries come with the GPU
# machine's toolkit or PyTorch (run.sh finds them). Everything else an ELF file here needs is copied.
is_glibc() { [[ "$1" =~ ^(ld-linux.*|linux-vdso\.so.*|libc|libm|libdl|libpthread|librt|libutil|libresolv|libanl|libmvec)(\.so.*)?$ ]]; }
is_nvidia() { [[ "$1" =~ ^lib(cuda|cudart|cublas|cublasLt|cudnn.*|nccl|nvrtc.*|nvJitLink|cufft|curand|cusparse|cusolver|nvToolsExt)\.so ]]; }
license_of() {  # license_of PATH: copies the Debian copyright file of the package that holds PATH
  local real pkg c
  real=$(readlink -f "$1")
  pkg=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || dpkg -S "/usr$real" 2>/dev/null || true)
  pkg=${pkg%%:*}
  [ -n "$pkg" ] || die "no Debian package holds $real: cannot ship its licence"
  c="/usr/share/doc/$pkg/copyright"
  [ -f "$c" ] || die "$pkg has no $c"
  cp "$c" "$P/licenses/$pkg.copyright"
  echo "$(basename "$1") $pkg" >> "$P/licenses/LIBRARIES.txt"
}
: > "$P/cuda-libs.txt"
: > "$P/licenses/LIBRARIES.txt"
for elf in "$P/bin/mdp" "$P/bin/test_cuda" "$P/lib/libmdp_tensor.so" "$P/lib/libmdp_cuda.so"; do
  while read -r name arrow path _; do
    if [ "$arrow" != "=>" ]; then  # the vDSO and the loader: "name (address)"
      is_glibc "$(basename "$name")" && continue
      die "unexpected ldd line for $(basename "$elf"): $name $arrow $path"
    fi
    is_glibc "$name" && continue
    [[ "$name" == libmdp_* ]] && continue
    if is_nvidia "$name"; then echo "$name" >> "$P/cuda-libs.txt"; continue; fi
    [ "$path" != "not" ] && [ -f "$path" ] || die "$(basename "$elf") needs $name, which ldd does not find here"
    # The C++ runtime goes to lib-cxx/: run.sh uses it only where the machine's own is older than ours
    # (Debian 12's libstdc++ needs glibc 2.36, newer than some machines with a newer libstdc++ have).
    dest="$P/lib"
    [[ "$name" == libstdc++.so.* || "$name" == libgcc_s.so.* ]] && dest="$P/lib-cxx"
    if [ ! -f "$dest/$name" ]; then
      cp -L "$path" "$dest/$name"
      license_of "$path"
    fi
  done < <(LD_LIBRARY_PATH="$BUILD/lib" ldd "$elf" | sed 's/(0x[0-9a-f]*)//')
done
sort -u -o "$P/cuda-libs.txt" "$P/cuda-libs.txt"
sort -u -o "$P/licenses/LIBRARIES.txt" "$P/licenses/LIBRARIES.txt"
max_version() { objdump -T "${@:2}" 2>/dev/null | grep -o "$1_[0-9.]*" | sort -uV | tail -1 | sed "s/$1_//"; }
max_version GLIBC "$P"/bin/* "$P"/lib/* > "$P/GLIBC_NEEDED"             # the C library the binaries need
max_version GLIBC "$P"/lib-cxx/* > "$P/GLIBC_NEEDED_BY_CXX"             # ... and the bundle's C++ runtime
max_version GLIBCXX "$P"/bin/* "$P"/lib/* > "$P/GLIBCXX_NEEDED"         # the C++ runtime they need
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || commit="$commit+uncommitted"
nvcc=$(grep -m1 '^CMAKE_CUDA_COMPILER[:=]' "$BUILD/CMakeCache.txt" | cut -d= -f2 || true)
cuda_version=$("${nvcc:-nvcc}" --version 2>/dev/null | grep -o 'release [0-9.]*' | cut -d' ' -f2 || true)
echo "mdp $commit, built $(date -u +%Y-%m-%dT%H:%MZ), CUDA ${cuda_version:-?}, ${archs}" > "$P/BUILD_INFO"

# ---------------------------------------------------------------- the bundle folder
mkdir -p "$OUT"
rm -rf "$OUT/payload" "$OUT/payload.tar.gz" "$OUT/out"
cp "$ROOT"/scripts/gpu-check/{run.sh,find-libs.sh,report.py,train-check.yaml} "$OUT/"
tar -cf - -C "$stage" payload | gzip -9 > "$OUT/payload.tar.gz"
bytes=$(du -sb "$OUT" | cut -f1)
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
[ "$bytes" -le $((MAX_MIB * 1048576)) ] || die "the bundle is $mib MiB, over the $MAX_MIB MiB it may travel as"
rel=${OUT#"$ROOT"/}
echo "gpu-check: bundle $OUT: $mib MiB ($(ls "$P/lib" | wc -l) libraries; NVIDIA ones it expects there: $(tr '\n' ' ' < "$P/cuda-libs.txt"))"
echo "gpu-check: $(cat "$P/BUILD_INFO"); needs glibc $(cat "$P/GLIBC_NEEDED") and a libstdc++ with GLIBCXX_$(cat "$P/GLIBCXX_NEEDED") (its own needs glibc $(cat "$P/GLIBC_NEEDED_BY_CXX"))"
echo "gpu-check: on the GPU machine, from the repository root (the device tool: carry [\"$rel\"], timeout_s 540):"
echo "    bash $rel/run.sh --out \"\$OUT\""
