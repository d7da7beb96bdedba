#!/usr/bin/env bash
# test_install_and_examples.sh BUILD_DIR: installs BUILD_DIR into a fresh prefix, checks what lands there
# (libraries, headers under include/mdp/ that include nothing by a top-level name, the CMake package,
# the pkg-config file, the CUDA plugin beside libmdp_tensor.so), then builds the examples against it
# from outside the tree, as a user would, and runs each for a few iterations; and a program built with
# pkg-config alone.
set -euo pipefail
BUILD=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
P="$W/prefix"

cmake --install "$BUILD" --prefix "$P" > "$W/install.log" || { cat "$W/install.log"; fail "cmake --install failed"; }
for f in lib/libmdp_tensor.so lib/libmdp_autograd.a lib/libmdp_nn.a lib/libmdp_data.a lib/libmdp_method.a \
         include/mdp/tensor/tensor.h include/mdp/nn/resnet.h include/mdp/mdp/proto_loss.h include/mdp/data/loader.h \
         lib/cmake/mdp/mdpConfig.cmake lib/cmake/mdp/mdpConfigVersion.cmake lib/cmake/mdp/mdpTargets.cmake \
         lib/pkgconfig/mdp.pc bin/mdp; do
  [ -e "$P/$f" ] || fail "$f was not installed"
done
[ ! -e "$P/include/mdp/tensor/cpu" ] || fail "the CPU backend's private headers were installed"
if [ -e "$BUILD/lib/libmdp_cuda.so" ]; then [ -e "$P/lib/libmdp_cuda.so" ] || fail "the CUDA plugin is not beside libmdp_tensor.so"; fi
if grep -rnE '#include "(tensor|autograd|nn|data|mdp|cuda)/' "$P/include/mdp"; then
  fail "installed headers include the project's headers by top-level names (tensor/..., nn/...)"
fi
"$P/bin/mdp" --version | grep -q '^mdp ' || fail "the installed mdp does not run"
# Relocatable: moved elsewhere, the package and the binary still work.
mv "$P" "$W/moved" && P="$W/moved"
"$P/bin/mdp" --version > /dev/null || fail "the installed mdp does not run after the prefix moved"

# The examples, configured against the prefix from outside the tree.
DATA="$ROOT/../shared/data/pseudo_dataset"
cmake -S "$ROOT/examples/train_folder" -B "$W/train_folder" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$P" > "$W/cfg.log" 2>&1 || { cat "$W/cfg.log"; fail "configuring examples/train_folder failed"; }
cmake --build "$W/train_folder" > "$W/build.log" 2>&1 || { cat "$W/build.log"; fail "building examples/train_folder failed"; }
"$W/train_folder/train_folder" "$DATA" 4 3 --image-dir imgs --label-dir gts --image-suffix _img.jpg \
    --label-suffix _gt.png > "$W/run.log" 2>&1 || { cat "$W/run.log"; fail "examples/train_folder failed"; }
cat "$W/run.log"
grep -q '^iter 3/3  loss [0-9.]*' "$W/run.log" || fail "train_folder did not train 3 iterations"
grep -q 'mIoU' "$W/run.log" || fail "train_folder did not evaluate"

cmake -S "$ROOT/examples/new_op" -B "$W/new_op" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$P" \
      > "$W/cfg2.log" 2>&1 || { cat "$W/cfg2.log"; fail "configuring examples/new_op failed"; }
cmake --build "$W/new_op" > "$W/build2.log" 2>&1 || { cat "$W/build2.log"; fail "building examples/new_op failed"; }
"$W/new_op/new_op" || fail "examples/new_op: its checks failed"

# pkg-config alone: a program that makes a tensor and runs one op.
cat > "$W/hello.cpp" <<'CPP'
#include <mdp/tensor/ops.h>
#include <cstdio>
int main() {
  mdp::Tensor x = mdp::ops::ones({2, 3}, mdp::DType::Float32);
  std::printf("sum %.1f\n", mdp::ops::sum(x).item());
}
CPP
flags=$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs mdp) || fail "pkg-config does not know mdp"
g++ -std=c++20 "$W/hello.cpp" -o "$W/hello" $flags || fail "a program built with pkg-config's flags does not compile"
[ "$("$W/hello")" = "sum 6.0" ] || fail "the pkg-config program printed '$("$W/hello")'"
echo "install and examples: all checks passed"
