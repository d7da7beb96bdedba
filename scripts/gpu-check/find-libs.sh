# find-libs.sh: where the GPU machine keeps the NVIDIA libraries the bundle does not carry (sourced by
# run.sh and by tests/scripts/test_find_libs.sh; bash only, no side effects until a function is called).
#
# The bundle carries every library of ours and of Debian's that the mdp binaries need, but not the CUDA
# runtime, cuBLAS, cuDNN or NCCL: they are large, tied to the driver, and every GPU machine has them, in
# one of the usual places:
#   - the CUDA toolkit's lib folders ($CUDA_HOME, /usr/local/cuda, /usr/local/cuda-*, newest first);
#   - the Python packages' nvidia/*/lib folders (what a pip install of PyTorch brings: nvidia/cudnn/lib, ...);
#   - the system's library folders (a distribution's cuDNN or NCCL package).
# It deliberately does not consult ld.so.cache (`ldconfig -p`): the first two places are not in it, and
# the driver's libcuda.so.1, which is, is found by the loader itself.
#
# Every path is taken under $GPU_CHECK_ROOT (empty on a real machine; a fake tree in the tests), and the
# Python site-packages folders come from $GPU_CHECK_SITE_PACKAGES (colon-separated) when it is set,
# otherwise from the python3 on PATH.

# Prints the candidate folders, one per line, in search order (existing ones only).
gpu_lib_search_dirs() {
  local root="${GPU_CHECK_ROOT:-}" d sp
  local -a toolkits=()
  [ -n "${CUDA_HOME:-}" ] && toolkits+=("$root$CUDA_HOME")
  [ -n "${CUDA_PATH:-}" ] && toolkits+=("$root$CUDA_PATH")
  toolkits+=("$root/usr/local/cuda")
  # /usr/local/cuda-13.0 before /usr/local/cuda-12.4: version order, newest first.
  while IFS= read -r d; do toolkits+=("$d"); done < <(ls -d "$root"/usr/local/cuda-* 2>/dev/null | sort -rV)
  for d in "${toolkits[@]}"; do
    for sub in lib64 lib targets/x86_64-linux/lib targets/sbsa-linux/lib; do
      [ -d "$d/$sub" ] && echo "$d/$sub"
    done
  done
  local sites="${GPU_CHECK_SITE_PACKAGES-}"
  if [ -z "${GPU_CHECK_SITE_PACKAGES+set}" ] && command -v python3 >/dev/null 2>&1; then
    sites=$(python3 -c 'import site, sys; print(":".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))' 2>/dev/null || true)
  fi
  local IFS=:
  for sp in $sites; do
    [ -n "$sp" ] || continue
    for d in "$root$sp"/nvidia/*/lib; do [ -d "$d" ] && echo "$d"; done
  done
  unset IFS
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /lib/x86_64-linux-gnu; do
    [ -d "$root$d" ] && echo "$root$d"
  done
  return 0
}

# find_gpu_lib SONAME: prints the first folder that holds SONAME (a file or a link to one); returns 1
# and prints nothing when none does.
find_gpu_lib() {
  local name="$1" d
  while IFS= read -r d; do
    if [ -e "$d/$name" ]; then echo "$d"; return 0; fi
  done < <(gpu_lib_search_dirs | awk '!seen[$0]++')
  return 1
}

# find_gpu_libs SONAME...: one line per library, "SONAME DIR" or "SONAME not-found"; sets GPU_LIB_PATH
# to the distinct folders found (colon-separated, search order) and GPU_LIBS_MISSING to the names not
# found. Returns 0 always: which libraries are required is the caller's decision.
find_gpu_libs() {
  local name d
  GPU_LIB_PATH=""
  GPU_LIBS_MISSING=""
  for name in "$@"; do
    if d=$(find_gpu_lib "$name"); then
      echo "$name $d"
      case ":$GPU_LIB_PATH:" in *":$d:"*) ;; *) GPU_LIB_PATH="${GPU_LIB_PATH:+$GPU_LIB_PATH:}$d" ;; esac
    else
      echo "$name not-found"
      GPU_LIBS_MISSING="${GPU_LIBS_MISSING:+$GPU_LIBS_MISSING }$name"
    fi
  done
  return 0
}
