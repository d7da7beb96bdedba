#!/usr/bin/env bash
# Installs the Debian packages mdp needs, and only those that are missing, so a second run is quick.
# Run as root on Debian 12 (the Makefile calls it before every build). CUDA is not installed here:
# the GPU backend is built only when the toolkit is already in /usr/local/cuda.
#
#   install-deps.sh          what building the library and the mdp command and running `make demo` need
#   install-deps.sh --test   that and what only the tests use: Boost.Test, PyTorch, torchvision, PIL and
#                            numpy (the reference values), clang, its fuzzing runtime and libomp (the
#                            fuzzers), Chromium (the report page is checked in a headless browser)
set -euo pipefail

# ocl-icd-opencl-dev: Debian's oneDNN is built with the OpenCL GPU runtime, so its CMake config
# (find_package(dnnl)) requires OpenCL; apt only recommends it, and we install without recommends.
packages=(
  build-essential cmake ninja-build ccache pkg-config
  libdnnl-dev ocl-icd-opencl-dev libfmt-dev
  zlib1g-dev libpng-dev libjpeg62-turbo-dev libyaml-cpp-dev nlohmann-json3-dev
  libopenmpi-dev openmpi-bin
)
case "${1:-}" in
  "") ;;
  --test) packages+=(libboost-test-dev clang libclang-rt-14-dev libomp-dev chromium
                     python3 python3-torch python3-torchvision python3-pil python3-numpy libopenblas0-pthread) ;;
  *) echo "install-deps: unknown argument '$1' (none, or --test)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
