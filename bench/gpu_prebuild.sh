#!/usr/bin/env bash
# bench/gpu_prebuild.sh — build, on a machine WITHOUT a GPU but with the CUDA toolkit, every program
# bench/gpu_check.sh runs, so a short GPU lease spends its time on the GPU rather than on nvcc:
#
#   bash bench/gpu_prebuild.sh [DIR] [ARCH]     # DIR default build-gpu/prebuilt, ARCH default 90a (H100/H200,
#                                               # with the wgmma of TF32 version 6)
#   # then, on the GPU machine, with DIR (or DIR.tar.xz, a quarter of its size) carried along:
#   SEAM_GPU_PREBUILT=DIR bash bench/gpu_check.sh      # or SEAM_GPU_PREBUILT=DIR.tar.xz
#
# DIR receives seam_cuda_tests and the tests/cuda/*.cu GPU programs (CMake build in build-gpu, no
# -march=native: the GPU machine's processor may differ), bench_elementwise_cuda, bench_vgg_step_cuda,
# bench_landmark_pool_cuda, bench_conv_pool_cuda (with cuDNN when cudnn.h is found here, and a
# _nocudnn twin), the training examples fashion_mnist and fashionnet linked with seam::cuda
# (gpu_check.sh trains them with --device cuda), stripped, plus lib/ with this machine's libgomp and
# libz for an image that lacks them, and BUILT (date, commit); then DIR.tar.xz, the archive of DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$ROOT/build-gpu/prebuilt}"
ARCH="${2:-90a}"
NVCC="${NVCC:-/usr/local/cuda/bin/nvcc}"
JOBS="$(nproc)"
mkdir -p "$DIR/lib"
cmake -S "$ROOT" -B "$ROOT/build-gpu" -DCMAKE_BUILD_TYPE=Release -DSEAM_CUDA=ON -DSEAM_CUDA_ARCHITECTURES="$ARCH" \
  -DSEAM_BUILD_TESTS=ON -DSEAM_BUILD_EXAMPLES=ON -DSEAM_BUILD_BENCH=OFF -DSEAM_NATIVE=OFF > /dev/null
# The *_kernel_logic programs are host-only (CPU emulations of the kernels: CI runs them on every
# commit) and left out, so that DIR stays well inside the device tool's 64 MiB carry with the tree.
targets=$(cmake --build "$ROOT/build-gpu" --target help | grep -oE '(seam_cuda_tests|seam_cuda_test_[A-Za-z0-9_]+)' |
  grep -v '_kernel_logic$' | sort -u)
targets="$targets fashion_mnist fashionnet"
cmake --build "$ROOT/build-gpu" -j "$JOBS" --target $targets
for t in $targets; do cp "$(find "$ROOT/build-gpu" -type f -name "$t" -perm -u+x | head -n 1)" "$DIR/"; done
GEN="-gencode arch=compute_$ARCH,code=sm_$ARCH"
CUDA_HOME="$(dirname "$(dirname "$NVCC")")"
"$NVCC" -std=c++20 -O3 $GEN -I"$ROOT/include" -I"$ROOT/kernels" -Xcompiler -fopenmp \
  "$ROOT/bench/bench_landmark_pool_cuda.cu" -o "$DIR/bench_landmark_pool_cuda" -lgomp
CP=(-std=c++20 -O3 $GEN -I"$ROOT/include" -I"$ROOT/kernels" -Xcompiler -fopenmp -I/usr/include/eigen3)
"$NVCC" "${CP[@]}" "$ROOT/bench/bench_conv_pool_cuda.cu" -o "$DIR/bench_conv_pool_cuda_nocudnn" -lgomp -lcublas
CUDA_HOME="$(dirname "$(dirname "$NVCC")")"
if [ -f "$CUDA_HOME/include/cudnn.h" ]; then
  "$NVCC" "${CP[@]}" -DSEAM_BENCH_CUDNN=1 "$ROOT/bench/bench_conv_pool_cuda.cu" -o "$DIR/bench_conv_pool_cuda" \
    -lgomp -lcublas -L"$CUDA_HOME/lib64" -lcudnn
fi
# Elementwise and reductions against the copy bandwidth: a plain C++ program on the seam::cuda library.
g++ -std=c++20 -O2 -fopenmp -DSEAM_WITH_CUDA=1 -DEIGEN_DONT_PARALLELIZE -I"$ROOT/include" -I/usr/include/eigen3 \
  "$ROOT/bench/bench_elementwise_cuda.cpp" "$ROOT/build-gpu/libseam_cuda.a" -L"$CUDA_HOME/lib64" -lcudart -lcublas \
  -o "$DIR/bench_elementwise_cuda"
# One VGG-16 trunk training step (gpu_check.sh step 4d; its PyTorch peer bench/vgg_step_torch.py runs
# from the tree): the same kind of program, validated against seam's CPU path before timing.
g++ -std=c++20 -O2 -fopenmp -DSEAM_WITH_CUDA=1 -DEIGEN_DONT_PARALLELIZE -I"$ROOT/include" -I"$ROOT/kernels" \
  -I/usr/include/eigen3 "$ROOT/bench/bench_vgg_step_cuda.cpp" "$ROOT/build-gpu/libseam_cuda.a" -L"$CUDA_HOME/lib64" \
  -lcudart -lcublas -o "$DIR/bench_vgg_step_cuda"
strip "$DIR"/seam_cuda_* "$DIR"/bench_* "$DIR"/fashion_mnist "$DIR"/fashionnet 2>/dev/null || true
for l in libgomp.so.1 libz.so.1; do
  p=$(ldconfig -p | awk -v l="$l" '$1 == l && /x86-64/ {print $NF}' | head -n 1) || true
  [ -n "$p" ] && cp -L "$p" "$DIR/lib/"
done
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD), sm_$ARCH, $(uname -n)" > "$DIR/BUILT"
# DIR.tar.xz: the same programs in a quarter of the bytes (the device tool carries at most 64 MiB
# with the tree); gpu_check.sh unpacks it when SEAM_GPU_PREBUILT names the archive.
tar -C "$(dirname "$DIR")" -cf - "$(basename "$DIR")" | xz -T1 -6 > "$DIR.tar.xz"  # one thread: a quarter smaller than -T0's independent blocks
du -sh "$DIR" "$DIR.tar.xz"
