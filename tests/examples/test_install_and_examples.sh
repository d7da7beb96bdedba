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

cmake -S "$ROOT/examples/pretrain_mdp" -B "$W/pretrain_mdp" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$P" \
      > "$W/cfg3.log" 2>&1 || { cat "$W/cfg3.log"; fail "configuring examples/pretrain_mdp failed"; }
cmake --build "$W/pretrain_mdp" > "$W/build3.log" 2>&1 || { cat "$W/build3.log"; fail "building examples/pretrain_mdp failed"; }
"$W/pretrain_mdp/pretrain_mdp" "$W/pm" 3 > "$W/run3.log" 2>&1 || { cat "$W/run3.log"; fail "examples/pretrain_mdp failed"; }
cat "$W/run3.log"
grep -q '^label space: 12 classes from 2 datasets' "$W/run3.log" || fail "pretrain_mdp did not concatenate the label spaces"
grep -Eq '^iter 3/3  loss [0-9.]+  proto [0-9.]+  sc [0-9.]+  filled [1-9][0-9]*/12' "$W/run3.log" || fail "pretrain_mdp did not pretrain 3 iterations"
# The backbone it saved is what the installed mdp fine-tunes from.
"$P/bin/mdp" train --work-dir "$W/ft" --set data.dataset=generated --set data.domain=shapes_a --set data.root="$W/pm/data" \
    --set data.generated_images='[64, 16]' --set data.generated_size='[64, 64]' \
    --set model.depth=18 --set model.width=0.5 --set model.channels=16 --set model.pretrained="$W/pm/backbone.safetensors" \
    --set data.crop='[64, 64]' --set data.scale='[128, 64]' --set train.batch=2 --set train.iters=1 --set data.workers=1 \
    --set eval.max_images=2 > "$W/ft.log" 2>&1 || { cat "$W/ft.log"; fail "mdp train from pretrain_mdp's backbone failed"; }
grep -Eq '^loaded [1-9][0-9]* backbone tensors from .*/pm/backbone.safetensors \(0 others' "$W/ft.log" \
  || { cat "$W/ft.log"; fail "mdp train did not load pretrain_mdp's backbone"; }

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
