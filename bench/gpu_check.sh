#!/usr/bin/env bash
# bench/gpu_check.sh — the one prepared GPU check of seam (issue 3, item 6).
#
# In one run (budget: 8 minutes) on a machine with an NVIDIA GPU it
#   1. builds the CUDA backend and its tests for this GPU's architecture only (CMake; when the CMake
#      configure fails — a missing Eigen or doctest, say — it builds the CUDA test programs directly
#      with nvcc and g++, which need neither Eigen nor CMake),
#   2. runs every CUDA test program (seam_cuda_tests and tests/cuda/*.cu programs; seam_cuda_tests'
#      TF32 version 5 and version 6 cases, the newest kernels, each in a process of its own,
#      so that a fault in one cannot fail the cases after it; seam_cuda_tests once more with
#      SEAM_CONV_ALGORITHM=winograd: every conv op on Winograd, reported but not counted),
#   3. runs them again under compute-sanitizer memcheck (when compute-sanitizer exists); the
#      convolution and pooling test cases of seam_cuda_tests get their own memcheck run (their
#      VGG-sized case excluded: too slow under the sanitizer), TF32 version 5's case another, version
#      6's (wgmma, sm_90a) a third, and the
#      TF32 conv cases (versions 4, 5 and 6) run under racecheck too (their pipelines'
#      shared-memory hazards),
#   4. runs the GPU benchmarks that exist (executables named bench_cuda_* or bench_gpu_*, and in
#      prebuilt mode bench_elementwise_cuda: elementwise and reductions against the copy bandwidth), then
#      landmark pooling: bench/bench_landmark_pool_cuda.cu (built here with nvcc, no CMake needed)
#      against bench/landmark_pool_torch.py (the same op composed from PyTorch ops; "not run: no
#      torch" without PyTorch), with a table of their ratios; then convolution and pooling:
#      bench/bench_conv_pool_cuda.cu (built with nvcc in the background while the tests run) against
#      cuDNN, found as cudnn.h + libcudnn under the CUDA toolkit, /usr/include, or a pip nvidia-cudnn
#      folder in Python's site-packages (reported as "not found" otherwise: seam is timed alone;
#      TF32 version 5's checks, timings and lab — and version 6's checks and timings, where it can
#      run — in child processes of the bench, restarted after a fault or a hang, which then costs
#      only that pass's figures);
#      then one training step of VGG-16's conv trunk (batch 16, 224x224): bench_vgg_step_cuda (seam,
#      CMake target or prebuilt) against bench/vgg_step_torch.py (PyTorch eager, fp32 without TF32,
#      with cudnn.benchmark on, then off when time allows), with a seam/PyTorch step-time ratio line,
#      then the same step with TF32 convolutions (seam's TF32 version 5 against PyTorch --tf32, and version 6
#      where the GPU is a 9.0 one),
#      then Nsight Compute's counters of TF32 version 5's GEMM on VGG conv3_2 (each pass) and of
#      version 6's backward-data and backward-weight (where ncu can read counters: a refusal is reported, not failed),
#   5. trains on the GPU with the examples' --device cuda (each under its own timeout, wall time,
#      final loss, accuracy lines and peak GPU memory in the report): fashion_mnist two epochs on
#      the real data (/usr/share/datasets/fashion-mnist, or SEAM_FASHION_MNIST=DIR; without data it
#      is reported as not run), one epoch of it with --conv tf32 on TF32 conv version 5
#      (SEAM_TF32_CONV_VERSION=5, the first 4096 images; again on version 6 on a 9.0 GPU), two epochs
#      with --conv winograd, then fashionnet --profile paper --limit 64 --epochs 1 --batch 16 (again with
#      --conv winograd when time allows) on
#      SynthFashion (generated on first use into $BUILD/synthfashion; the run's checkpoint stays in
#      $BUILD, its plots, log and table are copied to the report folder),
# and writes one markdown report, $OUT/gpu_check.md (device, driver, date, commit, every step's
# status, time and output), with the full logs beside it in $OUT/logs/. Missing pieces (no
# compute-sanitizer, no PyTorch, no benchmark yet, no data) are reported as such, never as failures.
# Exit status: 0 when every step that ran passed, 1 otherwise, 77 when no GPU is visible (checked first:
# nvidia-smi lists none, or without nvidia-smi no /dev/nvidiaN exists).
#
#   bash bench/gpu_check.sh   # OUT defaults to build-gpu-check/report; SEAM_GPU_ARCH=90 overrides the detected arch
#                             # (a detected 9.0 builds for sm_90a)
#
# SEAM_GPU_CHECK_QUICK=1 skips steps 3 and 4 (memcheck and the benchmarks): tests and training only.
#
# Prebuilt mode: SEAM_GPU_PREBUILT=DIR (or DIR.tar.xz, unpacked first) skips every build step and runs the programs found in DIR
# (seam_cuda_tests, seam_cuda_test_*, bench_landmark_pool_cuda, bench_conv_pool_cuda, bench_vgg_step_cuda,
# fashion_mnist, fashionnet), built beforehand on a machine with the same toolkit (bench/gpu_prebuild.sh
# makes DIR); the Python peers always run from the tree. A lease's device time then goes to the GPU
# work, not to nvcc; DIR/lib may hold libgomp/libz for a bare image.
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${SEAM_GPU_BUILD:-$ROOT/build-gpu-check}"
OUT="${OUT:-$BUILD/report}"
mkdir -p "$OUT/logs"
REPORT="$OUT/gpu_check.md"
JOBS="$(nproc 2>/dev/null || echo 4)"
START=$(date +%s)
FAILED=0
: > "$REPORT"

say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
elapsed() { echo $(( $(date +%s) - START )); }
# Append the last lines of a log to the report, folded.
tail_block() {  # file title [lines]
  { printf '<details><summary>%s</summary>\n\n```\n' "$2"; tail -n "${3:-40}" "$1"; printf '```\n</details>\n\n'; } >> "$REPORT"
}
# run NAME TIMEOUT CMD... : runs with a time limit, logs to $OUT/logs/NAME.log, sets RC and SECS.
run_logged() {
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" > "$OUT/logs/$name.log" 2>&1
  RC=$?
  SECS=$(( $(date +%s) - t0 ))
}
status_of() {  # exit code -> words
  case $1 in
    0) echo "passed" ;;
    77) echo "skipped (exit 77: no usable GPU)" ;;
    124|137) echo "TIMED OUT" ;;
    *) echo "FAILED (exit $1)" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
say "# seam GPU check"
say ""
say "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
say "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
say "- host: $(uname -srm), $JOBS CPU threads"
# GPU_SEEN: nvidia-smi lists a GPU, or (a container without nvidia-smi) an NVIDIA device node exists.
GPU_SEEN=0
if command -v nvidia-smi > /dev/null 2>&1; then
  GPU_LINE=$(nvidia-smi --query-gpu=name,memory.total,compute_cap --format=csv,noheader 2>/dev/null | head -n 1) || GPU_LINE=""
  [ -n "$GPU_LINE" ] && GPU_SEEN=1
  say "- GPU: ${GPU_LINE:-none (nvidia-smi lists no GPU)}"
  say "- driver: $(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)"
  CC=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
else
  ls /dev/nvidia[0-9]* > /dev/null 2>&1 && GPU_SEEN=1
  say "- GPU: nvidia-smi not found$([ $GPU_SEEN = 1 ] && echo ' (an NVIDIA device node exists: going on)')"
  CC=""
fi
# Hopper (9.0) builds for sm_90a, the arch-specific target: the same chip's code plus the wgmma that
# TF32 version 6 (kernels/seam/conv2d_tf32_wgmma.cuh) needs.
[ "$CC" = 90 ] && CC=90a
ARCH="${SEAM_GPU_ARCH:-${CC:-80;90a}}"
NVCC="$(command -v nvcc 2>/dev/null || true)"
[ -z "$NVCC" ] && for c in /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc; do [ -x "$c" ] && NVCC="$c" && break; done
if [ -n "$NVCC" ]; then
  say "- nvcc: $NVCC ($("$NVCC" --version | grep -o 'release [0-9.]*' | head -n 1)); building for sm_$ARCH"
else
  say "- nvcc: not found — nothing can be built"
fi
SANITIZER="$(command -v compute-sanitizer 2>/dev/null || true)"
[ -z "$SANITIZER" ] && for c in "$(dirname "${NVCC:-/nonexistent}")/compute-sanitizer" /usr/local/cuda/bin/compute-sanitizer \
  /usr/local/cuda/compute-sanitizer/compute-sanitizer; do [ -x "$c" ] && SANITIZER="$c" && break; done
say "- compute-sanitizer: ${SANITIZER:-not found}"
PY="$(command -v python3 2>/dev/null || true)"
TORCH="absent"
if [ -n "$PY" ]; then
  TORCH=$("$PY" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())' 2>/dev/null || echo absent)
  CUDNN_DIR=$("$PY" -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null || true)
  [ -n "$CUDNN_DIR" ] && say "- cuDNN (pip nvidia-cudnn): $CUDNN_DIR"
fi
say "- PyTorch: $TORCH"
say ""
if [ $GPU_SEEN = 0 ] && [ "${SEAM_GPU_CHECK_WITHOUT_GPU:-0}" != 1 ]; then
  say "**No GPU on this machine: nothing here can run on one; stopping (exit 77).** \
(SEAM_GPU_CHECK_WITHOUT_GPU=1 goes on anyway: it builds, and every GPU program then reports skipped or fails.)"
  exit 77
fi
[ -z "$NVCC" ] && { say "**No nvcc: stopping.**"; exit 1; }
export PATH="$(dirname "$NVCC"):$PATH"

# ---------------------------------------------------------------------------------------------
say "## 1. Build"
say ""
TESTS=()     # programs to run
BENCHES=()
TRAIN=""      # fashion_mnist with --device
TRAIN_FN=""   # fashionnet with --device
VGG_EXE=""    # bench_vgg_step_cuda (step 4d)
QUICK="${SEAM_GPU_CHECK_QUICK:-0}"
BUILD_MODE=cmake
HAS_DEVICE_FLAG=0
grep -q -- '--device' "$ROOT/examples/fashion_mnist.cpp" 2>/dev/null && HAS_DEVICE_FLAG=1
PREBUILT="${SEAM_GPU_PREBUILT:-}"
# A prebuilt archive (DIR.tar.xz, as bench/gpu_prebuild.sh writes it: a quarter of DIR's size, so
# it travels well inside the device tool's carry limit) is unpacked first: with tar's xz, or with
# Python's tarfile where the image has no xz.
if [ -n "$PREBUILT" ] && [ -f "$PREBUILT" ]; then
  UNPACKED="$BUILD/prebuilt-unpacked"
  rm -rf "$UNPACKED"; mkdir -p "$UNPACKED"
  t0=$(date +%s)
  if command -v xz > /dev/null 2>&1 && tar -xJf "$PREBUILT" -C "$UNPACKED" 2> "$OUT/logs/unpack.log"; then how="tar + xz"
  elif [ -n "$PY" ] && "$PY" -c 'import sys, tarfile; t = tarfile.open(sys.argv[1]); t.extractall(sys.argv[2], filter="tar")' "$PREBUILT" "$UNPACKED" \
       2>> "$OUT/logs/unpack.log"; then how="python3 tarfile"
  else how=""; fi
  dir=$(find "$UNPACKED" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  if [ -z "$how" ] || [ -z "$dir" ]; then
    say "- prebuilt archive $PREBUILT could not be unpacked: $(tail -n 3 "$OUT/logs/unpack.log" 2>/dev/null | tr '\n' ' ')"
    say "- result: FAILED"
    exit 1
  fi
  say "- prebuilt archive $PREBUILT unpacked with $how in $(( $(date +%s) - t0 )) s"
  PREBUILT="$dir"
fi
if [ -n "$PREBUILT" ]; then
  PREBUILT="$(cd "$PREBUILT" && pwd)"
  BUILD_MODE=prebuilt
  # The toolkit's libraries first (libcudart/libcublas of this machine's CUDA), then pip's nvidia-*
  # wheels (PyTorch's), then DIR/lib (libgomp, libz) for a bare image.
  for d in "$(dirname "$(dirname "$NVCC")")/lib64" "$(dirname "$(dirname "$NVCC")")/lib"; do
    [ -d "$d" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
  done
  if [ -n "$PY" ]; then
    for sp in $("$PY" -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
      for d in "$sp"/nvidia/*/lib; do [ -d "$d" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"; done
    done
  fi
  [ -d "$PREBUILT/lib" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$PREBUILT/lib"
  say "- prebuilt programs from $PREBUILT (no build here; built by bench/gpu_prebuild.sh on $(cat "$PREBUILT/BUILT" 2>/dev/null || echo '?'))"
  for exe in "$PREBUILT"/seam_cuda_tests "$PREBUILT"/seam_cuda_test_*; do [ -x "$exe" ] && TESTS+=("$exe"); done
  [ -x "$PREBUILT/bench_elementwise_cuda" ] && BENCHES+=("$PREBUILT/bench_elementwise_cuda")
  [ -x "$PREBUILT/fashion_mnist" ] && TRAIN="$PREBUILT/fashion_mnist"
  [ -x "$PREBUILT/fashionnet" ] && TRAIN_FN="$PREBUILT/fashionnet"
  [ -x "$PREBUILT/bench_vgg_step_cuda" ] && VGG_EXE="$PREBUILT/bench_vgg_step_cuda"
  for exe in "$PREBUILT"/seam_cuda_* "$PREBUILT"/bench_* "$PREBUILT"/fashion_mnist "$PREBUILT"/fashionnet; do
    [ -e "$exe" ] || continue
    missing=$(ldd "$exe" 2>/dev/null | grep 'not found' | tr -s ' \t' ' ' | tr '\n' ';')
    [ -n "$missing" ] && say "- \`$(basename "$exe")\`: libraries not found: $missing"
  done
fi
# SEAM_GPU_CHECK_DIRECT=1 skips CMake (tests the fallback; or for a machine whose CMake is too old).
if [ -n "$PREBUILT" ]; then
  :
elif [ "${SEAM_GPU_CHECK_DIRECT:-0}" = 1 ]; then RC=1; SECS=0; echo "skipped on request" > "$OUT/logs/cmake_configure.log"; else
run_logged cmake_configure 120 cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSEAM_CUDA=ON \
  "-DSEAM_CUDA_ARCHITECTURES=$ARCH" -DSEAM_BUILD_TESTS=ON -DSEAM_BUILD_EXAMPLES=$([ $HAS_DEVICE_FLAG = 1 ] && echo ON || echo OFF) \
  -DSEAM_BUILD_BENCH=ON -DSEAM_NATIVE=ON
fi
if [ -n "$PREBUILT" ]; then
  say "- ${#TESTS[@]} prebuilt test programs"
elif [ $RC -eq 0 ]; then
  say "- CMake configure: ok (${SECS} s)"
  HELP=$(cmake --build "$BUILD" --target help 2>/dev/null)
  TARGETS=$(echo "$HELP" | grep -oE '(seam_cuda_tests|seam_cuda_test_[A-Za-z0-9_]+|bench_cuda_[A-Za-z0-9_]+|bench_gpu_[A-Za-z0-9_]+)' | sort -u)
  # Step 4d's program (bench/CMakeLists.txt defines it only when seam::cuda is built); it takes flags,
  # so it is run there rather than in step 4's argument-less loop.
  echo "$HELP" | grep -qE '^\.\.\. bench_vgg_step_cuda$' && TARGETS="$TARGETS bench_vgg_step_cuda"
  [ $HAS_DEVICE_FLAG = 1 ] && TARGETS="$TARGETS fashion_mnist fashionnet"
  run_logged cmake_build 330 cmake --build "$BUILD" -j "$JOBS" --target seam_cuda $TARGETS
  say "- CMake build of seam_cuda $(echo $TARGETS): $(status_of $RC) (${SECS} s)"
  [ $RC -ne 0 ] && { FAILED=1; tail_block "$OUT/logs/cmake_build.log" "build log (tail)" 60; }
  for t in $TARGETS; do
    exe=$(find "$BUILD" -type f -name "$t" -perm -u+x 2>/dev/null | head -n 1)
    [ -z "$exe" ] && continue
    case $t in
      seam_cuda_test*) TESTS+=("$exe") ;;
      bench_vgg_step_cuda) VGG_EXE="$exe" ;;
      bench_*) BENCHES+=("$exe") ;;
      fashion_mnist) TRAIN="$exe" ;;
      fashionnet) TRAIN_FN="$exe" ;;
    esac
  done
else
  BUILD_MODE=direct
  say "- CMake configure failed (${SECS} s); building the CUDA tests directly with nvcc/g++ instead"
  tail_block "$OUT/logs/cmake_configure.log" "configure log (tail)" 25
  D="$BUILD/direct"; mkdir -p "$D"
  GENCODE=""
  for a in ${ARCH//;/ }; do GENCODE="$GENCODE -gencode arch=compute_$a,code=sm_$a"; done
  CUDA_HOME="$(dirname "$(dirname "$NVCC")")"
  FLAGS="-std=c++20 -DSEAM_WITH_CUDA=1 -I$ROOT/include -I$ROOT/kernels"
  # As tests/cuda/CMakeLists.txt: with sm_90a code, the TF32 version-6 test expects it to run on a 9.0 GPU.
  case ";$ARCH;" in *";90a;"*) FLAGS="$FLAGS -DSEAM_CUDA_TESTS_HAVE_SM90A=1" ;; esac
  TU_LIMIT="${SEAM_GPU_CHECK_TU_LIMIT:-300}"  # seconds for one translation unit
  # Every translation unit compiles in parallel (each in its own background job), then the links.
  bg() {  # bg NAME LIMIT CMD... : like run_logged, in the background; the exit code goes to NAME.rc
    local name=$1 limit=$2; shift 2
    ( local t0=$(date +%s); timeout --kill-after=10 "$limit" "$@" > "$OUT/logs/$name.log" 2>&1
      echo "$? $(( $(date +%s) - t0 ))" > "$OUT/logs/$name.rc" ) &
  }
  collect() { read -r RC SECS < "$OUT/logs/$1.rc" 2>/dev/null || { RC=1; SECS=0; }; }
  bg direct_lib "$TU_LIMIT" "$NVCC" $FLAGS -O3 $GENCODE -c "$ROOT/src/cuda/seam_cuda.cu" -o "$D/seam_cuda.o"
  OBJS=()
  for cpp in "$ROOT"/tests/cuda/*.cpp; do
    name=$(basename "$cpp" .cpp)
    bg "direct_$name" "$TU_LIMIT" g++ $FLAGS -O2 -fopenmp -I"$CUDA_HOME/include" -c "$cpp" -o "$D/$name.o"
    OBJS+=("$D/$name.o")
  done
  for cu in "$ROOT"/tests/cuda/*.cu; do
    [ -e "$cu" ] || continue
    name=$(basename "$cu" .cu)
    bg "direct_$name" "$TU_LIMIT" "$NVCC" $FLAGS -O2 $GENCODE -Xcompiler -fopenmp -c "$cu" -o "$D/$name.cu.o"
  done
  # Step 4d's seam program: plain C++ on the library; seam's CPU path (its validation) needs Eigen.
  VGG_DIRECT=0
  if [ -f "$ROOT/bench/bench_vgg_step_cuda.cpp" ] && [ -f /usr/include/eigen3/Eigen/Core ]; then
    VGG_DIRECT=1
    bg direct_bench_vgg_step_cuda "$TU_LIMIT" g++ $FLAGS -O2 -fopenmp -DEIGEN_DONT_PARALLELIZE -I/usr/include/eigen3 \
      -I"$CUDA_HOME/include" -c "$ROOT/bench/bench_vgg_step_cuda.cpp" -o "$D/bench_vgg_step_cuda.o"
  fi
  wait
  collect direct_lib
  say "- nvcc src/cuda/seam_cuda.cu: $(status_of $RC) (${SECS} s)"
  LIB_OK=$RC
  [ $RC -ne 0 ] && { FAILED=1; tail_block "$OUT/logs/direct_lib.log" "nvcc log (tail)" 30; }
  CPP_OK=0
  for cpp in "$ROOT"/tests/cuda/*.cpp; do
    name=$(basename "$cpp" .cpp); collect "direct_$name"
    say "- g++ tests/cuda/$name.cpp: $(status_of $RC) (${SECS} s)"
    [ $RC -ne 0 ] && { CPP_OK=1; FAILED=1; tail_block "$OUT/logs/direct_$name.log" "g++ $name (tail; the doctest header is needed)" 30; }
  done
  LINK="-L$CUDA_HOME/lib64 -lcublas -lcudart -Wl,-rpath,$CUDA_HOME/lib64 -fopenmp"
  if [ $LIB_OK -eq 0 ] && [ $CPP_OK -eq 0 ]; then
    run_logged direct_link 120 g++ "${OBJS[@]}" "$D/seam_cuda.o" $LINK -o "$D/seam_cuda_tests"
    say "- link seam_cuda_tests: $(status_of $RC) (${SECS} s)"
    [ $RC -eq 0 ] && TESTS+=("$D/seam_cuda_tests") || { FAILED=1; tail_block "$OUT/logs/direct_link.log" "link (tail)" 20; }
  fi
  for cu in "$ROOT"/tests/cuda/*.cu; do
    [ -e "$cu" ] || continue
    name=$(basename "$cu" .cu); collect "direct_$name"
    say "- nvcc tests/cuda/$name.cu: $(status_of $RC) (${SECS} s)"
    if [ $RC -ne 0 ]; then FAILED=1; tail_block "$OUT/logs/direct_$name.log" "nvcc $name (tail)" 30; continue; fi
    LIBOBJ=""; [ $LIB_OK -eq 0 ] && LIBOBJ="$D/seam_cuda.o"  # a standalone test may not need the library
    run_logged "direct_link_$name" 120 g++ "$D/$name.cu.o" $LIBOBJ $LINK -o "$D/seam_cuda_$name"
    [ $RC -eq 0 ] && TESTS+=("$D/seam_cuda_$name") || { FAILED=1; say "- link seam_cuda_$name: $(status_of $RC)"; }
  done
  if [ $VGG_DIRECT = 1 ]; then
    collect direct_bench_vgg_step_cuda
    say "- g++ bench/bench_vgg_step_cuda.cpp: $(status_of $RC) (${SECS} s)"
    if [ $RC -ne 0 ]; then
      FAILED=1; tail_block "$OUT/logs/direct_bench_vgg_step_cuda.log" "g++ bench_vgg_step_cuda (tail)" 30
    elif [ $LIB_OK -eq 0 ]; then  # without the library (its failure is reported above) there is nothing to link
      run_logged direct_link_bench_vgg_step_cuda 120 g++ "$D/bench_vgg_step_cuda.o" "$D/seam_cuda.o" $LINK \
        -o "$D/bench_vgg_step_cuda"
      if [ $RC -eq 0 ]; then VGG_EXE="$D/bench_vgg_step_cuda"; else
        FAILED=1; say "- link bench_vgg_step_cuda: $(status_of $RC)"
        tail_block "$OUT/logs/direct_link_bench_vgg_step_cuda.log" "link bench_vgg_step_cuda (tail)" 20
      fi
    fi
  else
    say "- bench/bench_vgg_step_cuda.cpp: not built (no Eigen at /usr/include/eigen3)"
  fi
fi
say ""

# ---------------------------------------------------------------------------------------------
# The conv/pool benchmark is a standalone nvcc program: build it in the background while the GPU
# runs the tests (step 4c collects it). cuDNN is looked for first.
CONV_POOL_CASES='*pooling on CUDA*,*conv2d on CUDA*,*conv2d and pooling on CUDA*'
# TF32 version 5's test case runs in a process of its own, plain and
# under memcheck: a fault in it poisons the CUDA context, which would fail every later case too.
V5_CASES='*TF32 version 5*'
# TF32 version 6's (wgmma) likewise.
V6_CASES='*TF32 version 6*'
CP_SRC="$ROOT/bench/bench_conv_pool_cuda.cu"
CP_EXE="$BUILD/direct/bench_conv_pool_cuda"
CUDA_HOME_DIR="$(dirname "$(dirname "$NVCC")")"
CUDNN_INC=""; CUDNN_LIB=""; CUDNN_FROM=""
CUDNN_CANDIDATES=("$CUDA_HOME_DIR/include" /usr/local/cuda/include /usr/include /usr/include/x86_64-linux-gnu)
[ -n "${CUDNN_DIR:-}" ] && CUDNN_CANDIDATES+=("$CUDNN_DIR/include")
PY_SITES=""
[ -n "$PY" ] && PY_SITES=$("$PY" -c 'import site, sys; print(" ".join(site.getsitepackages() + [p for p in sys.path if p.endswith("-packages")]))' 2>/dev/null || true)
for sp in $PY_SITES /usr/local/lib/python3*/dist-packages /usr/local/lib/python3*/site-packages /usr/lib/python3/dist-packages \
          "${HOME:-/root}"/.local/lib/python3*/site-packages /opt/conda/lib/python3*/site-packages; do
  [ -d "$sp/nvidia/cudnn/include" ] && CUDNN_CANDIDATES+=("$sp/nvidia/cudnn/include")
done
for d in "${CUDNN_CANDIDATES[@]}"; do
  [ -f "$d/cudnn.h" ] || continue
  for l in "$(dirname "$d")/lib64" "$(dirname "$d")/lib" "$CUDA_HOME_DIR/lib64" /usr/lib/x86_64-linux-gnu; do
    lib=$(ls "$l"/libcudnn.so "$l"/libcudnn.so.[0-9]* 2>/dev/null | head -n 1)
    [ -n "$lib" ] && { CUDNN_INC="$d"; CUDNN_LIB="$lib"; CUDNN_FROM="$d/cudnn.h with $lib"; break 2; }
  done
done
CP_BUILD_STARTED=0
if [ -n "$PREBUILT" ] && [ -x "$PREBUILT/bench_conv_pool_cuda_nocudnn" ]; then
  CP_EXE="$PREBUILT/bench_conv_pool_cuda_nocudnn"                 # cuDNN not found on this machine
  [ -n "$CUDNN_LIB" ] && [ -x "$PREBUILT/bench_conv_pool_cuda" ] && CP_EXE="$PREBUILT/bench_conv_pool_cuda"
  echo "0 0" > "$OUT/logs/cp_build.rc"; echo "prebuilt" > "$OUT/logs/cp_build.log"
  ( true ) & CP_BUILD_PID=$!
  CP_BUILD_STARTED=1
elif [ -f "$CP_SRC" ]; then
  mkdir -p "$BUILD/direct"
  CP_FLAGS=(-std=c++20 -O3 -I"$ROOT/include" -I"$ROOT/kernels" -Xcompiler -fopenmp -Xcompiler -march=native)
  for a in ${ARCH//;/ }; do
    if [ "$a" = native ]; then CP_FLAGS+=(-arch=native); else CP_FLAGS+=(-gencode "arch=compute_$a,code=sm_$a"); fi
  done
  [ -f /usr/include/eigen3/Eigen/Core ] && CP_FLAGS+=(-I/usr/include/eigen3)  # validation against the CPU op
  CP_LIBS=(-lgomp -lcublas)
  if [ -n "$CUDNN_LIB" ]; then
    CP_FLAGS+=(-DSEAM_BENCH_CUDNN=1 -I"$CUDNN_INC")
    CP_LIBS+=("$CUDNN_LIB" -Xlinker -rpath -Xlinker "$(dirname "$CUDNN_LIB")")
  fi
  ( t0=$(date +%s); timeout --kill-after=10 240 "$NVCC" "${CP_FLAGS[@]}" "$CP_SRC" -o "$CP_EXE" "${CP_LIBS[@]}" \
      > "$OUT/logs/cp_build.log" 2>&1; echo "$? $(( $(date +%s) - t0 ))" > "$OUT/logs/cp_build.rc" ) &
  CP_BUILD_PID=$!
  CP_BUILD_STARTED=1
fi

# ---------------------------------------------------------------------------------------------
say "## 2. CUDA tests"
say ""
if [ ${#TESTS[@]} -eq 0 ]; then say "No CUDA test program was built."; FAILED=1; fi
# report_test LOG NAME: the status line, doctest's counts and the log's tail.
report_test() {
  say "- \`$2\`: $(status_of $RC) (${SECS} s)"
  [ $RC -ne 0 ] && [ $RC -ne 77 ] && FAILED=1
  grep -E '^\[doctest\] (test cases|assertions)' "$1" | sed 's/^/  - /' | tee -a "$REPORT" > /dev/null
  tail_block "$1" "$2 output (tail)" 40
}
for exe in ${TESTS[@]+"${TESTS[@]}"}; do
  name=$(basename "$exe")
  if [ "$name" = seam_cuda_tests ]; then
    run_logged "test_$name" 180 "$exe" "--test-case-exclude=$V5_CASES,$V6_CASES"
    report_test "$OUT/logs/test_$name.log" "$name (all but TF32 versions 5 and 6)"
    run_logged "test_${name}_tf32_v5" 120 "$exe" "--test-case=$V5_CASES"
    report_test "$OUT/logs/test_${name}_tf32_v5.log" "$name --test-case='$V5_CASES' (its own process)"
    run_logged "test_${name}_tf32_v6" 90 "$exe" "--test-case=$V6_CASES"
    report_test "$OUT/logs/test_${name}_tf32_v6.log" "$name --test-case='$V6_CASES' (its own process)"
  else
    run_logged "test_$name" 180 "$exe"
    report_test "$OUT/logs/test_$name.log" "$name"
  fi
done
say ""
# The case for making Winograd the default fp32 convolution (the VGG-16 step in 4d is ~2x faster
# with it): the whole suite again with every conv op on winograd (SEAM_CONV_ALGORITHM, read by
# seam_cuda at first use). Reported, not counted in the check's result: it is not the default yet.
for exe in ${TESTS[@]+"${TESTS[@]}"}; do
  [ "$(basename "$exe")" = seam_cuda_tests ] || continue
  say "### 2b. seam_cuda_tests with SEAM_CONV_ALGORITHM=winograd (not the default: reported, not counted)"
  say ""
  run_logged test_seam_cuda_tests_winograd 60 env SEAM_CONV_ALGORITHM=winograd "$exe" "--test-case-exclude=$V5_CASES,$V6_CASES"
  saved_failed=$FAILED
  report_test "$OUT/logs/test_seam_cuda_tests_winograd.log" "SEAM_CONV_ALGORITHM=winograd seam_cuda_tests (all but TF32 versions 5 and 6)"
  # Each failing case's name and its first failed checks (doctest prints "TEST CASE:" before them).
  awk '/^TEST CASE:/ { tc = $0; shown = 0 } / ERROR: / { if (!shown) print tc; shown = 1; print }' \
    "$OUT/logs/test_seam_cuda_tests_winograd.log" | head -n 20 | sed 's/^/  - /' >> "$REPORT"
  FAILED=$saved_failed
  say ""
done

# ---------------------------------------------------------------------------------------------
say "## 3. compute-sanitizer memcheck"
say ""
if [ "$QUICK" = 1 ]; then
  say "Not run: SEAM_GPU_CHECK_QUICK=1."
elif [ -z "$SANITIZER" ]; then
  say "compute-sanitizer not found: not run."
else
  for exe in ${TESTS[@]+"${TESTS[@]}"}; do
    name=$(basename "$exe")
    left=$(( 420 - $(elapsed) ))
    if [ $left -lt 30 ]; then say "- \`$name\`: not run (time budget spent)"; continue; fi
    limit=$(( left < 150 ? left : 150 ))
    FILTER=()
    # The conv/pool cases and the TF32 version-5 and version-6 cases are memchecked below on their
    # own (a fault in 5 or 6 must not cost the other cases); the allocator's out-of-memory case
    # provokes cudaErrorMemoryAllocation on purpose, which memcheck would count as API errors.
    [ "$name" = seam_cuda_tests ] && FILTER=("--test-case-exclude=$CONV_POOL_CASES,$V5_CASES,$V6_CASES,*out of memory*")
    if [[ "$name" == *_kernel_logic ]]; then say "- \`$name\`: host-only (no CUDA call), not run under memcheck"; continue; fi
    run_logged "memcheck_$name" "$limit" "$SANITIZER" --tool memcheck --error-exitcode 99 --leak-check no "$exe" \
      ${FILTER[@]+"${FILTER[@]}"}
    summary=$(grep -E 'ERROR SUMMARY' "$OUT/logs/memcheck_$name.log" | tail -n 1)
    say "- \`$name\` under memcheck: $(status_of $RC) (${SECS} s) ${summary:+— $summary}"
    [ $RC -ne 0 ] && [ $RC -ne 77 ] && FAILED=1
    [ $RC -ne 0 ] && tail_block "$OUT/logs/memcheck_$name.log" "memcheck $name (tail)" 40
  done
  # The convolution and pooling kernels (tests/cuda/test_conv_pool_ops.cpp) on their own, so that
  # their result stands apart and a slow sanitizer elsewhere cannot starve them.
  for exe in ${TESTS[@]+"${TESTS[@]}"}; do
    [ "$(basename "$exe")" = seam_cuda_tests ] || continue
    # Then TF32 version 5's case and version 6's, each in its own process: memcheck names a faulting
    # kernel, thread and address.
    for mc_case in "conv_pool|120|conv/pool test cases|$CONV_POOL_CASES" "tf32_v5|90|TF32 version 5 test case|$V5_CASES" \
      "tf32_v6|60|TF32 version 6 test case|$V6_CASES"; do
      IFS='|' read -r tag cap label filter <<< "$mc_case"
      left=$(( 440 - $(elapsed) ))
      if [ $left -lt 30 ]; then say "- $label under memcheck: not run (time budget spent)"; continue; fi
      limit=$(( left < cap ? left : cap ))
      run_logged "memcheck_$tag" "$limit" "$SANITIZER" --tool memcheck --error-exitcode 99 --leak-check no "$exe" \
        "--test-case=$filter" "--test-case-exclude=*VGG-sized*"
      summary=$(grep -E 'ERROR SUMMARY' "$OUT/logs/memcheck_$tag.log" | tail -n 1)
      say "- $label of \`seam_cuda_tests\` under memcheck (limit ${limit} s): $(status_of $RC) (${SECS} s) ${summary:+— $summary}"
      [ $RC -ne 0 ] && [ $RC -ne 77 ] && FAILED=1
      [ $RC -ne 0 ] && tail_block "$OUT/logs/memcheck_$tag.log" "memcheck $label (tail)" 40
    done
    # The TF32 kernels' multi-stage cp.async pipelines under racecheck (shared-memory hazards: a
    # stage overwritten while a warp still reads it), which the CPU emulation cannot see. Version 4
    # (the launchers' case), version 5 and version 6 (its backward-weight kernel fills shared memory
    # from registers; racecheck sees those stores, not wgmma's async-proxy reads) in separate processes,
    # so a fault in one cannot cost the others' results.
    for rc_case in "v4|*TF32 on CUDA: launchers*" "v5|$V5_CASES" "v6|$V6_CASES"; do
      IFS='|' read -r tag filter <<< "$rc_case"
      # Racecheck can run 100x slower than the kernels: it ends by 240 s, so the benchmarks keep their time.
      left=$(( 240 - $(elapsed) ))
      if [ $left -lt 20 ]; then say "- TF32 $tag test cases under racecheck: not run (its share of the time budget is spent)"; continue; fi
      limit=$(( left < 60 ? left : 60 ))
      run_logged "racecheck_tf32_$tag" "$limit" "$SANITIZER" --tool racecheck --racecheck-report hazard --error-exitcode 99 \
        "$exe" "--test-case=$filter" "--test-case-exclude=*VGG-sized*"
      summary=$(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$OUT/logs/racecheck_tf32_$tag.log" | tail -n 1)
      say "- TF32 $tag test cases of \`seam_cuda_tests\` (\`$filter\`) under racecheck (limit ${limit} s): $(status_of $RC) (${SECS} s) ${summary:+— $summary}"
      # A racecheck that runs out of time found nothing yet: reported, not counted as a failure.
      case $RC in 0|77|124|137) ;; *) FAILED=1 ;; esac
      [ $RC -ne 0 ] && tail_block "$OUT/logs/racecheck_tf32_$tag.log" "racecheck TF32 $tag (tail)" 40
    done
  done
fi
say ""

# ---------------------------------------------------------------------------------------------
say "## 4. GPU benchmarks"
say ""
if [ "$QUICK" = 1 ]; then
  say "Not run (4, 4b, 4c, 4d): SEAM_GPU_CHECK_QUICK=1."
  BENCHES=()
elif [ ${#BENCHES[@]} -eq 0 ]; then
  say "No CMake GPU benchmark target was built (looked for bench_cuda_* / bench_gpu_* targets)."
fi
for exe in ${BENCHES[@]+"${BENCHES[@]}"}; do
  name=$(basename "$exe")
  left=$(( 450 - $(elapsed) ))
  if [ $left -lt 20 ]; then say "- \`$name\`: not run (time budget spent)"; continue; fi
  run_logged "bench_$name" $(( left < 120 ? left : 120 )) "$exe"
  say "- \`$name\`: $(status_of $RC) (${SECS} s)"
  [ $RC -ne 0 ] && FAILED=1
  { printf '```\n'; tail -n 100 "$OUT/logs/bench_$name.log"; printf '```\n\n'; } >> "$REPORT"
done
say ""

# ---------------------------------------------------------------------------------------------
# Joins the "| N=... | gate | fwd median | fwd min | fwd+bwd median | fwd+bwd min |" rows of the
# two landmark pooling tables on (shape, gate) and prints PyTorch/seam ratios of the medians.
landmark_ratio_table() {  # seam_log torch_log
  awk -F'|' '
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    function ratio(a, b) { return (b > 0) ? sprintf("%.2fx", a / b) : "n/a" }
    FNR == NR { if ($0 ~ /^\| N=/) { k = trim($2) "|" trim($3); sf[k] = trim($4); sb[k] = trim($6); order[++n] = k }; next }
    $0 ~ /^\| N=/ { k = trim($2) "|" trim($3); tf[k] = trim($4); tb[k] = trim($6) }
    END {
      print "| shape | gate | seam fwd ms | PyTorch fwd ms | PyTorch/seam fwd | seam fwd+bwd ms | PyTorch fwd+bwd ms | PyTorch/seam fwd+bwd |"
      print "|---|---|---|---|---|---|---|---|"
      for (i = 1; i <= n; ++i) {
        k = order[i]; split(k, p, "|")
        if (!(k in tf)) continue
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", p[1], p[2], sf[k], tf[k], ratio(tf[k], sf[k]), sb[k], tb[k], ratio(tb[k], sb[k])
      }
    }' "$1" "$2"
}

say "## 4b. Landmark pooling: seam's CUDA kernels vs a PyTorch composition"
say ""
LP_SRC="$ROOT/bench/bench_landmark_pool_cuda.cu"
LP_SEAM_OK=0
if [ ! -f "$LP_SRC" ]; then
  say "Not run: $LP_SRC is missing."
elif [ "$QUICK" = 1 ] || [ $(( 450 - $(elapsed) )) -lt 40 ]; then
  say "Not run: $([ "$QUICK" = 1 ] && echo 'SEAM_GPU_CHECK_QUICK=1' || echo 'time budget spent')."
else
  # Built directly (bench/CMakeLists.txt globs only bench_*.cpp): standalone, needs no seam::cuda.
  LP_ARCH=""
  for a in ${ARCH//;/ }; do
    if [ "$a" = native ]; then LP_ARCH="$LP_ARCH -arch=native"; else LP_ARCH="$LP_ARCH -gencode arch=compute_$a,code=sm_$a"; fi
  done
  mkdir -p "$BUILD/direct"
  LP_EXE="$BUILD/direct/bench_landmark_pool_cuda"
  if [ -n "$PREBUILT" ] && [ -x "$PREBUILT/bench_landmark_pool_cuda" ]; then
    LP_EXE="$PREBUILT/bench_landmark_pool_cuda"; RC=0; SECS=0
  else
  run_logged lp_build 150 "$NVCC" -std=c++20 -O3 $LP_ARCH -I"$ROOT/include" -I"$ROOT/kernels" -Xcompiler -fopenmp \
    "$LP_SRC" -o "$LP_EXE" -lgomp
  fi
  say "- nvcc bench/bench_landmark_pool_cuda.cu: $(status_of $RC) (${SECS} s)"
  if [ $RC -ne 0 ]; then
    FAILED=1; tail_block "$OUT/logs/lp_build.log" "nvcc bench_landmark_pool_cuda (tail)" 30
  else
    left=$(( 450 - $(elapsed) ))
    run_logged lp_seam $(( left < 120 ? (left > 20 ? left : 20) : 120 )) "$LP_EXE"
    say "- \`bench_landmark_pool_cuda\`: $(status_of $RC) (${SECS} s)"
    if [ $RC -eq 0 ]; then LP_SEAM_OK=1; elif [ $RC -ne 77 ]; then FAILED=1; fi
    { printf '```\n'; tail -n 40 "$OUT/logs/lp_seam.log"; printf '```\n\n'; } >> "$REPORT"
  fi
fi
if [ "$QUICK" = 1 ]; then
  :
elif [ "$TORCH" = absent ] || [ -z "$PY" ]; then
  say "- \`landmark_pool_torch.py\`: not run: no torch"
elif [ $(( 460 - $(elapsed) )) -lt 30 ]; then
  say "- \`landmark_pool_torch.py\`: not run: time budget spent"
else
  left=$(( 460 - $(elapsed) ))
  run_logged lp_torch $(( left < 150 ? left : 150 )) "$PY" "$ROOT/bench/landmark_pool_torch.py"
  say "- \`landmark_pool_torch.py\` (PyTorch $TORCH): $(status_of $RC) (${SECS} s)"
  LP_TORCH_OK=$RC
  [ $RC -ne 0 ] && [ $RC -ne 77 ] && FAILED=1
  { printf '```\n'; tail -n 40 "$OUT/logs/lp_torch.log"; printf '```\n\n'; } >> "$REPORT"
  if [ $LP_SEAM_OK = 1 ] && [ $LP_TORCH_OK = 0 ]; then
    say ""
    say "Ratios (medians; above 1: seam is faster). The same inputs, same GPU, same run:"
    say ""
    landmark_ratio_table "$OUT/logs/lp_seam.log" "$OUT/logs/lp_torch.log" | tee -a "$REPORT" > /dev/null
    landmark_ratio_table "$OUT/logs/lp_seam.log" "$OUT/logs/lp_torch.log" > "$OUT/landmark_pool_ratios.md"
  fi
fi
say ""

# ---------------------------------------------------------------------------------------------
say "## 4c. Convolution and pooling: seam's CUDA kernels vs cuDNN"
say ""
if [ -n "$CUDNN_LIB" ]; then say "- cuDNN: found ($CUDNN_FROM)"; else say "- cuDNN: not found (looked for cudnn.h + libcudnn.so* in ${CUDNN_CANDIDATES[*]}, and their lib/lib64): seam is timed alone"; fi
if [ "$QUICK" = 1 ]; then
  say "Not run: SEAM_GPU_CHECK_QUICK=1."
  [ $CP_BUILD_STARTED = 1 ] && wait "$CP_BUILD_PID" 2>/dev/null
elif [ $CP_BUILD_STARTED = 0 ]; then
  say "Not run: $CP_SRC is missing."
else
  wait "$CP_BUILD_PID" 2>/dev/null
  read -r RC SECS < "$OUT/logs/cp_build.rc" 2>/dev/null || { RC=1; SECS=0; }
  say "- nvcc bench/bench_conv_pool_cuda.cu (in the background during the tests): $(status_of $RC) (${SECS} s)"
  if [ $RC -ne 0 ]; then
    FAILED=1; tail_block "$OUT/logs/cp_build.log" "nvcc bench_conv_pool_cuda (tail)" 30
  else
    left=$(( 468 - $(elapsed) ))
    if [ $left -lt 25 ]; then
      say "- \`bench_conv_pool_cuda\`: not run (time budget spent)"
    else
      CP_LIMIT=$(( left < 150 ? left : 150 ))
      # The version-5 lab starts no layer past LIMIT - 30 s, so the pooling tables and the floor lines still come.
      CP_ARGS=(--reps 5 --time-budget $(( CP_LIMIT > 40 ? CP_LIMIT - 30 : 10 )))
      [ $left -lt 90 ] && CP_ARGS+=(--skip-vgg) && say "- less than 90 s left: the VGG-16 shapes are skipped"
      CP_LD="${LD_LIBRARY_PATH:-}"
      if [ -n "$CUDNN_LIB" ]; then  # cuDNN 9 loads its engine libraries (and, from pip, cuBLAS) at run time
        CP_LD="$(dirname "$CUDNN_LIB")${CP_LD:+:$CP_LD}"
        for l in "$(dirname "$(dirname "$(dirname "$CUDNN_LIB")")")"/*/lib; do [ -d "$l" ] && CP_LD="$CP_LD:$l"; done
      fi
      run_logged cp_bench "$CP_LIMIT" env LD_LIBRARY_PATH="$CP_LD" "$CP_EXE" "${CP_ARGS[@]}"
      say "- \`bench_conv_pool_cuda ${CP_ARGS[*]}\`: $(status_of $RC) (${SECS} s)"
      [ $RC -ne 0 ] && [ $RC -ne 77 ] && FAILED=1
      { printf '\n'; tail -n 220 "$OUT/logs/cp_bench.log"; printf '\n'; } >> "$REPORT"
      cp "$OUT/logs/cp_bench.log" "$OUT/conv_pool.md" 2>/dev/null
    fi
  fi
fi
say ""

# ---------------------------------------------------------------------------------------------
say "## 4d. VGG-16 conv trunk, one training step: seam vs PyTorch eager"
say ""
# Both programs print one table row ("| seam | batch | size | step median ms | ..." and "| PyTorch
# cudnn.benchmark=on|off | ..."); the ratio joins their step medians. Every run here must end by
# VGG_END seconds into the check, so that step 5 keeps at least 480 - VGG_END seconds of the budget.
VGG_END=360
VGG_ARGS=(--batch 16 --size 224 --steps 10 --warmup 3)
vgg_step_median() {  # log implementation-prefix -> the row's step median (ms), or nothing
  awk -F'|' -v want="$2" '{ name = $2; gsub(/^ +| +$/, "", name) }
    index(name, want) == 1 { v = $5; gsub(/ /, "", v); if (v ~ /^[0-9.]+$/) { print v; exit } }' "$1" 2>/dev/null
}
vgg_ratio() {  # seam_ms torch_ms -> seam/torch with two decimals
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'
}
VGG_SEAM_MS=""
VGG_WINO_MS=""  # the "seam winograd" row (conv by Winograd F(2x2, 3x3)), when the bench has one
VGG_RATIO=""
if [ "$QUICK" = 1 ]; then
  say "Not run: SEAM_GPU_CHECK_QUICK=1."
elif [ -z "$VGG_EXE" ]; then
  say "- \`bench_vgg_step_cuda\`: not run: not built$([ -n "$PREBUILT" ] && echo " (not in $PREBUILT)")"
  VGG_RATIO="not run: bench_vgg_step_cuda was not built"
elif [ $(( VGG_END - $(elapsed) )) -lt 30 ]; then
  say "- \`bench_vgg_step_cuda\`: not run: time budget spent"
  VGG_RATIO="not run: time budget spent"
else
  left=$(( VGG_END - $(elapsed) ))
  run_logged vgg_step_seam $(( left < 90 ? left : 90 )) "$VGG_EXE" "${VGG_ARGS[@]}" --out "$OUT/vgg_step_seam.md"
  say "- \`bench_vgg_step_cuda ${VGG_ARGS[*]}\`: $(status_of $RC) (${SECS} s)"
  [ $RC -ne 0 ] && [ $RC -ne 77 ] && FAILED=1
  { printf '\n'; tail -n 30 "$OUT/logs/vgg_step_seam.log"; printf '\n'; } >> "$REPORT"
  [ $RC -eq 0 ] && VGG_SEAM_MS=$(vgg_step_median "$OUT/logs/vgg_step_seam.log" seam)
  [ $RC -eq 0 ] && VGG_WINO_MS=$(vgg_step_median "$OUT/logs/vgg_step_seam.log" "seam winograd")
  [ -z "$VGG_SEAM_MS" ] && VGG_RATIO="n/a: bench_vgg_step_cuda gave no step time ($(status_of $RC))"
fi
# The PyTorch peer: cudnn.benchmark on first (cuDNN's fastest algorithms, the fair peer), then
# PyTorch's default (off) when the time allows.
VGG_RATIOS=()
for mode in on off; do
  flag=(); [ $mode = on ] && flag=(--cudnn-benchmark)
  what="vgg_step_torch.py${flag[*]:+ ${flag[*]}}"
  if [ "$QUICK" = 1 ]; then
    break
  elif [ "$TORCH" = absent ] || [ -z "$PY" ]; then
    say "- \`$what\`: not run: no torch"; VGG_RATIO="no torch"; break
  elif [ $(( VGG_END - $(elapsed) )) -lt 30 ]; then
    say "- \`$what\`: not run: time budget spent"; [ -z "$VGG_RATIO" ] && [ ${#VGG_RATIOS[@]} -eq 0 ] && VGG_RATIO="not run: time budget spent"
    continue
  fi
  left=$(( VGG_END - $(elapsed) ))
  run_logged "vgg_step_torch_$mode" $(( left < 90 ? left : 90 )) "$PY" "$ROOT/bench/vgg_step_torch.py" "${VGG_ARGS[@]}" \
    ${flag[@]+"${flag[@]}"} --out "$OUT/vgg_step_torch_benchmark_$mode.md"
  say "- \`$what ${VGG_ARGS[*]}\` (PyTorch $TORCH): $(status_of $RC) (${SECS} s)"
  [ $RC -ne 0 ] && [ $RC -ne 77 ] && FAILED=1
  { printf '\n'; tail -n 30 "$OUT/logs/vgg_step_torch_$mode.log"; printf '\n'; } >> "$REPORT"
  torch_ms=""
  [ $RC -eq 0 ] && torch_ms=$(vgg_step_median "$OUT/logs/vgg_step_torch_$mode.log" "PyTorch cudnn.benchmark=$mode")
  if [ -n "$VGG_SEAM_MS" ] && [ -n "$torch_ms" ]; then
    VGG_RATIOS+=("$(vgg_ratio "$VGG_SEAM_MS" "$torch_ms") against cudnn.benchmark $mode (seam $VGG_SEAM_MS ms, PyTorch $torch_ms ms)")
    [ -n "$VGG_WINO_MS" ] && VGG_RATIOS+=("$(vgg_ratio "$VGG_WINO_MS" "$torch_ms") with seam's Winograd conv against cudnn.benchmark $mode (seam $VGG_WINO_MS ms)")
  elif [ -z "$torch_ms" ] && [ -z "$VGG_RATIO" ]; then
    VGG_RATIO="n/a: vgg_step_torch.py ($mode) gave no step time ($(status_of $RC))"
  fi
done
if [ "$QUICK" != 1 ]; then
  if [ ${#VGG_RATIOS[@]} -gt 0 ]; then
    line="- **seam/PyTorch step time** (VGG-16 trunk, batch 16, 224x224, medians; below 1: seam is faster): $(printf '%s; ' "${VGG_RATIOS[@]}")"
    line="${line%; }"
  else
    line="- seam/PyTorch step time: ${VGG_RATIO:-n/a}"
  fi
  say ""
  say "$line"
  printf '%s\n' "$line" > "$OUT/vgg_step_ratio.md"
fi
# seam_tf32_step VERSION LOG: seam's VGG step with TF32 convolutions on that kernel version, logged
# as LOG; sets STEP_MS to its step median (empty when it gave none).
seam_tf32_step() {
  local version=$1 log=$2
  STEP_MS=""
  left=$(( VGG_END - $(elapsed) ))
  run_logged "$log" $(( left < 60 ? left : 60 )) env SEAM_TF32_CONV_VERSION=$version "$VGG_EXE" "${VGG_ARGS[@]}" \
    --conv tf32 --out "$OUT/$log.md"
  say "- \`SEAM_TF32_CONV_VERSION=$version bench_vgg_step_cuda ${VGG_ARGS[*]} --conv tf32\`: $(status_of $RC) (${SECS} s)"
  [ $RC -ne 0 ] && [ $RC -ne 77 ] && FAILED=1
  { printf '\n'; tail -n 30 "$OUT/logs/$log.log"; printf '\n'; } >> "$REPORT"
  [ $RC -eq 0 ] && STEP_MS=$(vgg_step_median "$OUT/logs/$log.log" "seam tf32")
  return 0
}
# The same step with TF32 convolutions: seam's TF32 kernels, version 5 (SEAM_TF32_CONV_VERSION=5),
# against PyTorch with TF32 allowed in cuDNN (cudnn.benchmark on). Each in its own process, after
# the fp32 runs, so that a fault here cannot take their rows with it.
if [ "$QUICK" != 1 ] && [ -n "$VGG_EXE" ]; then
  say ""
  TF32_SEAM_MS=""; TF32_TORCH_MS=""; TF32_WHY=""
  if [ $(( VGG_END - $(elapsed) )) -lt 30 ]; then
    TF32_WHY="not run: time budget spent"
  else
    seam_tf32_step 5 vgg_step_seam_tf32
    TF32_SEAM_MS="$STEP_MS"
    [ -z "$TF32_SEAM_MS" ] && TF32_WHY="n/a: bench_vgg_step_cuda --conv tf32 gave no step time ($(status_of $RC))"
    if [ "$TORCH" = absent ] || [ -z "$PY" ]; then
      TF32_WHY="${TF32_WHY:-no torch}"
    elif [ $(( VGG_END - $(elapsed) )) -lt 30 ]; then
      TF32_WHY="${TF32_WHY:-PyTorch TF32 peer not run: time budget spent}"
    else
      left=$(( VGG_END - $(elapsed) ))
      run_logged vgg_step_torch_tf32 $(( left < 90 ? left : 90 )) "$PY" "$ROOT/bench/vgg_step_torch.py" "${VGG_ARGS[@]}" \
        --cudnn-benchmark --tf32 --out "$OUT/vgg_step_torch_tf32.md"
      say "- \`vgg_step_torch.py --cudnn-benchmark --tf32 ${VGG_ARGS[*]}\` (PyTorch $TORCH): $(status_of $RC) (${SECS} s)"
      [ $RC -ne 0 ] && [ $RC -ne 77 ] && FAILED=1
      { printf '\n'; tail -n 30 "$OUT/logs/vgg_step_torch_tf32.log"; printf '\n'; } >> "$REPORT"
      [ $RC -eq 0 ] && TF32_TORCH_MS=$(vgg_step_median "$OUT/logs/vgg_step_torch_tf32.log" "PyTorch cudnn.benchmark=on TF32")
      [ -z "$TF32_TORCH_MS" ] && TF32_WHY="${TF32_WHY:-n/a: vgg_step_torch.py --tf32 gave no step time ($(status_of $RC))}"
    fi
  fi
  # The same seam step on TF32 version 6 (wgmma), where this GPU runs it (compute capability 9.0,
  # an sm_90a build).
  TF32_V6_MS=""
  if [ "$CC" = 90a ] && [ $(( VGG_END - $(elapsed) )) -ge 20 ]; then
    seam_tf32_step 6 vgg_step_seam_tf32_v6
    TF32_V6_MS="$STEP_MS"
  fi
  if [ -n "$TF32_SEAM_MS" ] && [ -n "$TF32_TORCH_MS" ]; then
    line="- **seam/PyTorch step time, TF32 convolutions** (seam's TF32 version 5 against cuDNN with TF32 allowed, cudnn.benchmark on): $(vgg_ratio "$TF32_SEAM_MS" "$TF32_TORCH_MS") (seam $TF32_SEAM_MS ms, PyTorch $TF32_TORCH_MS ms)"
    [ -n "$TF32_V6_MS" ] && line="$line; version 6: $(vgg_ratio "$TF32_V6_MS" "$TF32_TORCH_MS") (seam $TF32_V6_MS ms)"
  else
    line="- seam/PyTorch step time, TF32 convolutions: ${TF32_WHY:-n/a}"
  fi
  say ""
  say "$line"
  printf '%s\n' "$line" >> "$OUT/vgg_step_ratio.md"
fi
say ""

# ---------------------------------------------------------------------------------------------
say "## 4e. Nsight Compute on TF32 version 5 (VGG conv3_2, each pass) and version 6 (backward-data, backward-weight)"
say ""
# The hardware counters of version 5's GEMM kernel (tensor-pipe use, shared-memory bank conflicts,
# warp stalls, occupancy): why it runs at the speed the lab measured, from the same lease. ncu reads
# counters on some of the lent machines and not on others (KINDS.md): a refusal is reported, not
# counted as a failure. bench_conv_pool_cuda --profile-v5 runs one pass twice; ncu records the
# second launch of the GEMM kernel. Runs only while step 5 keeps its time (ends by 330 s).
NCU="$(command -v ncu 2>/dev/null || true)"
[ -z "$NCU" ] && NCU=$(ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -n 1)
PROF_EXE="$CP_EXE"
[ -n "$PREBUILT" ] && [ -x "$PREBUILT/bench_conv_pool_cuda_nocudnn" ] && PROF_EXE="$PREBUILT/bench_conv_pool_cuda_nocudnn"
if [ "$QUICK" = 1 ]; then
  say "Not run: SEAM_GPU_CHECK_QUICK=1."
elif [ -z "$NCU" ]; then
  say "Not run: ncu not found."
elif [ ! -x "$PROF_EXE" ]; then
  say "Not run: bench_conv_pool_cuda was not built."
else
  for pass in forward backward-data backward-weight; do
    left=$(( 330 - $(elapsed) ))
    if [ $left -lt 20 ]; then say "- $pass: not run (time budget spent)"; continue; fi
    run_logged "ncu_v5_$pass" $(( left < 60 ? left : 60 )) env LD_LIBRARY_PATH="${CP_LD:-${LD_LIBRARY_PATH:-}}" "$NCU" \
      --clock-control none --kernel-name regex:tf32_nhwc_kernel --launch-skip 1 --launch-count 1 \
      --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
      --section WarpStateStats --section Occupancy --section LaunchStats --section SchedulerStats \
      "$PROF_EXE" --profile-v5 "vgg conv3_2" "$pass"
    if [ $RC -eq 0 ] && grep -q 'Section: GPU Speed Of Light' "$OUT/logs/ncu_v5_$pass.log"; then
      say "- $pass: profiled (${SECS} s)"
      tail_block "$OUT/logs/ncu_v5_$pass.log" "ncu, TF32 version 5 $pass, VGG conv3_2 (batch 32)" 120
    else
      say "- $pass: ncu gave no profile ($(status_of $RC), ${SECS} s): $(grep -E '==ERROR==|==WARNING==|error' "$OUT/logs/ncu_v5_$pass.log" | head -n 2 | tr '\n' ' ')"
      tail_block "$OUT/logs/ncu_v5_$pass.log" "ncu $pass (tail)" 20
      break  # the others would fail alike
    fi
  done
  # Version 6's backward-data and backward-weight (the passes furthest from the floor before it),
  # where it runs and ncu gave profiles above.
  for pass in backward-data backward-weight; do
    left=$(( 340 - $(elapsed) ))
    if [ $RC -ne 0 ]; then
      break
    elif [ $left -lt 20 ]; then
      say "- version 6 $pass: not run (time budget spent)"; continue
    fi
    run_logged ncu_v6_$pass $(( left < 60 ? left : 60 )) env LD_LIBRARY_PATH="${CP_LD:-${LD_LIBRARY_PATH:-}}" "$NCU" \
      --clock-control none --kernel-name regex:tf32_wgmma_ --launch-skip 1 --launch-count 1 \
      --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
      --section WarpStateStats --section Occupancy --section LaunchStats --section SchedulerStats \
      "$PROF_EXE" --profile-v6 "vgg conv3_2" $pass
    if [ $RC -eq 0 ] && grep -q 'Section: GPU Speed Of Light' "$OUT/logs/ncu_v6_$pass.log"; then
      say "- version 6 $pass: profiled (${SECS} s)"
      tail_block "$OUT/logs/ncu_v6_$pass.log" "ncu, TF32 version 6 $pass, VGG conv3_2 (batch 32)" 120
    else
      say "- version 6 $pass: no profile ($(status_of $RC), ${SECS} s; exit 2 = version 6 cannot run here)"
      tail_block "$OUT/logs/ncu_v6_$pass.log" "ncu version 6 $pass (tail)" 20
    fi
  done
fi
say ""

# ---------------------------------------------------------------------------------------------
say "## 5. Training on the GPU (the examples with --device cuda)"
say ""
# Peak GPU memory of a run as nvidia-smi sees it (the whole process: CUDA context, cuBLAS
# workspace and seam's caching allocator), sampled every 200 ms in the background; the examples
# print their own allocator peak (peak_device_memory_mib) in the SUMMARY line.
MEM_PID=""
mem_watch_start() {  # name
  MEM_LOG="$OUT/logs/$1.gpu_memory.csv"; : > "$MEM_LOG"; MEM_PID=""
  if command -v nvidia-smi > /dev/null 2>&1; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$MEM_LOG" 2>/dev/null &
    MEM_PID=$!
  fi
}
mem_watch_stop() {  # prints "N MiB" (the largest sample) or "not measured"
  [ -n "$MEM_PID" ] && { kill "$MEM_PID" 2>/dev/null; wait "$MEM_PID" 2>/dev/null; }
  awk 'BEGIN { m = -1 } $1 ~ /^[0-9]+$/ && $1 + 0 > m { m = $1 + 0 } END { if (m < 0) print "not measured"; else print m " MiB" }' "$MEM_LOG"
}
# train_run NAME LIMIT CMD... : one training run under its own timeout, reported with its wall
# time, the lines that carry losses and accuracies, the SUMMARY line and the peak GPU memory.
train_run() {
  local name=$1 limit=$2; shift 2
  mem_watch_start "$name"
  run_logged "$name" "$limit" "$@"
  local peak; peak=$(mem_watch_stop)
  say "- \`$(basename "$1") ${*:2}\`: $(status_of $RC), wall time ${SECS} s (limit ${limit} s), peak GPU memory (nvidia-smi) $peak"
  [ $RC -ne 0 ] && FAILED=1
  { printf '\n```\n'
    tr '\r' '\n' < "$OUT/logs/$name.log" | grep -aE '^(device:|== |Test accuracy|epoch [0-9]+/[0-9]+: train_loss|\| FashionNet|FashionNet: )' | tail -n 20
    printf '```\n'; } >> "$REPORT"
  grep -aE '^SUMMARY' "$OUT/logs/$name.log" | sed 's/^/  - /' >> "$REPORT"
  tail_block "$OUT/logs/$name.log" "$name output (tail)" 30
}
# The real data: SEAM_FASHION_MNIST, else the Debian package's folder (a full epoch), else a copy
# carried inside the tree at out/fashion-mnist (the first 4096 training images: a short run; made
# by bench/fashion_mnist_subset.sh, and carried with the prebuilt programs).
has_fm() { [ -f "$1/train-images-idx3-ubyte.gz" ] || [ -f "$1/train-images-idx3-ubyte" ]; }
FM_DATA=""; FM_LIMIT=()
for d in "${SEAM_FASHION_MNIST:-}" /usr/share/datasets/fashion-mnist; do
  [ -n "$d" ] && has_fm "$d" && { FM_DATA="$d"; break; }
done
[ -z "$FM_DATA" ] && has_fm "$ROOT/out/fashion-mnist" && { FM_DATA="$ROOT/out/fashion-mnist"; FM_LIMIT=(--limit 4096); }
# Time limits: each run's own cap, cut to what is left before a point in the 480 s budget. Two GPU
# epochs of the small CNN should take seconds (one epoch is ~24 s on this project's 2-core CPU), so
# 120 s is a wide margin; fashion_mnist must end by 420 s so that fashionnet still gets a minute.
FM_CAP="${SEAM_GPU_TRAIN_LIMIT_FM:-120}"; FM_END=420
FN_CAP="${SEAM_GPU_TRAIN_LIMIT_FN:-300}"; FN_END=472
say "### 5a. fashion_mnist --device cuda --epochs 2${FM_LIMIT[*]:+ ${FM_LIMIT[*]}}"
say ""
if [ $HAS_DEVICE_FLAG = 0 ]; then
  say "Not run: examples/fashion_mnist has no --device option."
elif [ -z "$TRAIN" ]; then
  say "Not run: fashion_mnist was not built."
elif [ -z "$FM_DATA" ]; then
  say "Not run: no Fashion-MNIST (looked in \$SEAM_FASHION_MNIST, /usr/share/datasets/fashion-mnist and $ROOT/out/fashion-mnist)."
elif [ $(( FM_END - $(elapsed) )) -lt 30 ]; then
  say "Not run: time budget spent."
else
  left=$(( FM_END - $(elapsed) ))
  train_run train_fashion_mnist $(( left < FM_CAP ? left : FM_CAP )) "$TRAIN" --device cuda --epochs 2 --data "$FM_DATA" \
    ${FM_LIMIT[@]+"${FM_LIMIT[@]}"} --log-dir "$OUT/fashion_mnist_gpu" --out "$OUT/fashion_mnist_gpu.json"
fi
say ""
say "### 5a'. fashion_mnist --device cuda --conv tf32 --epochs 1 --limit 4096, TF32 conv version 5 (SEAM_TF32_CONV_VERSION=5)"
say ""
if [ -z "$TRAIN" ] || [ -z "$FM_DATA" ] || ! grep -q -- '--conv' "$ROOT/examples/fashion_mnist.cpp"; then
  say "Not run: needs fashion_mnist with --conv and the data (see 5a)."
elif [ $(( 400 - $(elapsed) )) -lt 20 ]; then
  say "Not run: time budget spent."
else
  left=$(( 400 - $(elapsed) ))
  train_run train_fashion_mnist_tf32_v5 $(( left < 60 ? left : 60 )) env SEAM_TF32_CONV_VERSION=5 "$TRAIN" --device cuda \
    --conv tf32 --epochs 1 --limit 4096 --data "$FM_DATA" --log-dir "$OUT/fashion_mnist_gpu_tf32_v5" \
    --out "$OUT/fashion_mnist_gpu_tf32_v5.json"
  # And on TF32 version 6 where this GPU runs it (see 4d).
  if [ "$CC" = 90a ] && [ $(( 410 - $(elapsed) )) -ge 20 ]; then
    left=$(( 410 - $(elapsed) ))
    say ""
    say "Version 6 (SEAM_TF32_CONV_VERSION=6):"
    train_run train_fashion_mnist_tf32_v6 $(( left < 60 ? left : 60 )) env SEAM_TF32_CONV_VERSION=6 "$TRAIN" --device cuda \
      --conv tf32 --epochs 1 --limit 4096 --data "$FM_DATA" --log-dir "$OUT/fashion_mnist_gpu_tf32_v6" \
      --out "$OUT/fashion_mnist_gpu_tf32_v6.json"
  fi
fi
say ""
say "### 5a''. fashion_mnist --device cuda --conv winograd --epochs 2 (5a's data; the case for Winograd as the default)"
say ""
if [ -z "$TRAIN" ] || [ -z "$FM_DATA" ] || ! grep -q 'winograd' "$ROOT/examples/fashion_mnist.cpp"; then
  say "Not run: needs fashion_mnist with --conv winograd and the data (see 5a)."
elif [ $(( 415 - $(elapsed) )) -lt 20 ]; then
  say "Not run: time budget spent."
else
  left=$(( 415 - $(elapsed) ))
  train_run train_fashion_mnist_winograd $(( left < 60 ? left : 60 )) "$TRAIN" --device cuda --conv winograd --epochs 2 \
    --data "$FM_DATA" ${FM_LIMIT[@]+"${FM_LIMIT[@]}"} --log-dir "$OUT/fashion_mnist_gpu_winograd" \
    --out "$OUT/fashion_mnist_gpu_winograd.json"
fi
say ""
say "### 5b. fashionnet --device cuda --profile paper --limit 64 --epochs 1 --batch 16 (SynthFashion)"
say ""
if [ -z "$TRAIN_FN" ]; then
  say "Not run: fashionnet was not built$([ $HAS_DEVICE_FLAG = 0 ] && echo ' (no --device option)')."
elif [ $(( FN_END - $(elapsed) )) -lt 60 ]; then
  say "Not run: time budget spent."
else
  mkdir -p "$BUILD"
  left=$(( FN_END - $(elapsed) ))
  train_run train_fashionnet $(( left < FN_CAP ? left : FN_CAP )) "$TRAIN_FN" --device cuda --profile paper --limit 64 \
    --epochs 1 --batch 16 --data "$BUILD/synthfashion" --log-dir "$BUILD/fashionnet_gpu" --out "$OUT/fashionnet_gpu.json"
  # The data and the paper-size checkpoint (about 0.6 GB) stay in $BUILD; the pictures come to the report.
  for f in loss.png metrics.png landmarks.png log.csv table2.md; do
    [ -f "$BUILD/fashionnet_gpu/$f" ] && mkdir -p "$OUT/fashionnet_gpu" && cp "$BUILD/fashionnet_gpu/$f" "$OUT/fashionnet_gpu/"
  done
  # The same run with Winograd convolutions (VGG-16's 3x3 layers), when the budget still allows.
  if [ $RC -eq 0 ] && [ $(( FN_END - $(elapsed) )) -ge 40 ] && grep -q 'winograd' "$ROOT/examples/common/table2_run.hpp"; then
    left=$(( FN_END - $(elapsed) ))
    say ""
    say "With \`--conv winograd\` (the case for Winograd as the default):"
    train_run train_fashionnet_winograd $(( left < 60 ? left : 60 )) "$TRAIN_FN" --device cuda --conv winograd --profile paper \
      --limit 64 --epochs 1 --batch 16 --data "$BUILD/synthfashion" --log-dir "$BUILD/fashionnet_gpu_winograd" \
      --out "$OUT/fashionnet_gpu_winograd.json"
  fi
fi
say ""
say "---"
say "Total time: $(elapsed) s (build mode: $BUILD_MODE). Result: $([ $FAILED = 0 ] && echo 'every step that ran passed' || echo 'SOME STEPS FAILED')."
exit $FAILED
