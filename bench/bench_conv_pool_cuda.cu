// bench_conv_pool_cuda — seam's CUDA convolution and pooling kernels (kernels/seam/conv2d.cuh,
// kernels/seam/pool2d.cuh: what ops/conv.hpp and ops/pool.hpp run for CUDA tensors) against cuDNN
// on the same GPU in the same run, float32:
//   conv2d forward, backward-data and backward-weight on the 13 convolutions of VGG-16 at batch 32,
//   224x224, and on the Fashion-MNIST network's three (examples/fashion_mnist.cpp) at batch 128,
//   28x28; seam's implicit GEMM (version 2 as the library runs it, and as first timed on an H100 —
//   Conv2dTuning::first_timed(): no split-K in forward and backward-data, the first backward-weight
//   split, no small-channel backward-data — in column "first-timed"; the direct version 1 too on
//   the Fashion-MNIST shapes) against cuDNN with (a) its GEMM algorithm forced — IMPLICIT_GEMM for the forward, ALGO_1 (the
//   deterministic GEMM-based one) for the two backward passes — and (b) the fastest algorithm
//   cudnnFind* measures; FMA math (CUDNN_FMA_MATH: no TF32, the precision seam computes in);
//   max and average pooling 2x2 stride 2 on the VGG-16 and Fashion-MNIST pooling inputs, forward
//   (seam also writes the int64 indices a training step needs) and backward, against cuDNN pooling:
//   versions 1 and 2 of kernels/seam/pool2d.cuh, both validated and timed, the ratio for version 2.
//   On a GPU with TF32 tensor cores (compute capability 8.0+), a second conv table per network:
//   seam's TF32 implicit GEMM (kernels/seam/conv2d_tf32_mma.cuh, version 4, at two blocks an SM —
//   the raw launchers' default — and at one; version 3 of conv2d_tf32.cuh and version 5, conv2d_tf32_nhwc.cuh with
//   its staging transforms inside the timed call, beside them; and on a 9.0 GPU with this program
//   built for sm_90a, version 6, conv2d_tf32_wgmma.cuh: version 5's staging with wgmma GEMMs) against
//   cuDNN at the same
//   precision (CUDNN_TENSOR_OP_MATH on float data: TF32 allowed), its GEMM algorithms forced and
//   its fastest; before timing, every TF32 version's results are checked against seam's fp32 results.
//   The fp32 tables also time seam's Winograd F(2x2, 3x3) (kernels/seam/winograd.cuh, opt-in in the
//   library; its tile products by cuBLAS) on every 3x3 stride-1 layer, against cuDNN's fastest,
//   after checking it against the CPU (5e-4 of the largest value). Links cuBLAS (-lcublas).
//
// A standalone nvcc program (no seam::cuda, no CMake); bench/gpu_check.sh builds it:
//
//   nvcc -std=c++20 -O3 -gencode arch=compute_90a,code=sm_90a -Iinclude -Ikernels [-I/usr/include/eigen3] -Xcompiler -fopenmp
//        [-DSEAM_BENCH_CUDNN=1 -I<cudnn include> <libcudnn.so>] bench/bench_conv_pool_cuda.cu -lgomp -lcublas
//   ./bench_conv_pool_cuda [--reps 5] [--skip-vgg] [--skip-lab] [--time-budget SECONDS]
//   ./bench_conv_pool_cuda --profile-v5 "vgg conv3_2" backward-data   # for a profiler, see below
//   ./bench_conv_pool_cuda --profile-v6 "vgg conv3_2" backward-data   # version 6 likewise
//
// TF32 version 5 runs in child processes only (this program with --v5-child, by run_v5_items: not
// for use by hand): first its check and timing for the TF32 tables (the library's launcher at the
// timed size against seam's fp32 result), then the lab. A child that faults or hangs in a pass is
// killed and replaced, so a kernel never run on a GPU before can cost only its own figures, which
// the report then names. On a GPU in exclusive-process mode (or where no child can start) version
// 5 runs in this process. Version 6's forward and backward-data (where it can run) are items of the
// tables phase after version 5's, in the same children.
//
// Without SEAM_BENCH_CUDNN it times seam only (and says so). Before any timing it validates every
// timed shape on the CPU, at batch 2: against the CPU op (ops/conv.hpp) when Eigen is on the
// include path, else against the naive reference (cpu/reference/conv.hpp) with channels capped at
// 16 and the map at 32x32 (same kernel, stride, padding). A mismatch stops the program (exit 1)
// before any figure is printed. cuDNN's forward output is also compared with seam's on every timed
// shape (column "agree"), so a wrong cuDNN setup cannot produce a flattering ratio.
//
// Timing: cudaEvents around each call on one stream; before every sample the L2 cache is flushed
// by writing twice its size. 1 warm-up, then --reps samples (default 5: the whole program has to
// fit gpu_check.sh's 8-minute budget); the tables give the median (and the minimum). Ratios are
// seam time / cuDNN time: below 1 seam is faster; the issue's floor is 2 (half cuDNN's speed).
//
// --time-budget SECONDS: the version-5 lab starts no pass after that many seconds from the start
// (gpu_check.sh passes what is left of its limit), so a slow lab cannot cost the run its tables.
//
// --profile-v5 LAYER PASS: no tables; runs one TF32 version-5 pass (forward, backward-data or
// backward-weight) of one timed layer (its name as in the tables) twice at its batch, for a
// profiler to record the second launch of each kernel (bench/gpu_check.sh runs Nsight Compute on it:
// ncu --launch-skip 1 --launch-count 1 --kernel-name regex:tf32_nhwc_kernel ...). Its results are
// checked by the main run, not here. --profile-v6 LAYER PASS: the same for TF32 version 6 (through
// the library's launcher: staging and the wgmma GEMM, kernel tf32_wgmma_kernel, or for backward-weight
// tf32_wgmma_transposing_kernel).
//
// Exit status: 0 done, 1 a validation failure (versions 5 and 6 and the lab included: a failed check,
// a fault or a hang in a child) or a CUDA/cuDNN error, 2 bad arguments, 77 no usable GPU.
// Eigen (the CPU op used for validation) runs on the host only: no __device__ annotations.
#define EIGEN_NO_CUDA 1

#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <seam/conv2d.cuh>
#include <seam/conv2d_tf32.cuh>
#include <seam/winograd.cuh>
#include <seam/pool2d.cuh>
#include <seam/ops/pool.hpp>

#include "child_lines.hpp"

#if __has_include(<Eigen/Core>)
#define SEAM_BENCH_CPU_OP 1
#include <seam/ops/conv.hpp>
#else
#define SEAM_BENCH_CPU_OP 0
#include <seam/cpu/reference/conv.hpp>
#endif

#ifndef SEAM_BENCH_CUDNN
#define SEAM_BENCH_CUDNN 0
#endif
#if SEAM_BENCH_CUDNN
#include <cudnn.h>
#endif

namespace {

/// cuBLAS, for the batched tile products of seam's Winograd convolution (created in main).
cublasHandle_t g_cublas = nullptr;

namespace sk = seam::kernels;
using seam::Tensor;

#define CUDA_OK(call)                                                                                         \
    do {                                                                                                      \
        const cudaError_t err_ = (call);                                                                      \
        if (err_ != cudaSuccess) {                                                                            \
            std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(err_)); \
            std::exit(1);                                                                                     \
        }                                                                                                     \
    } while (0)

#if SEAM_BENCH_CUDNN
#define CUDNN_OK(call)                                                                                          \
    do {                                                                                                        \
        const cudnnStatus_t st_ = (call);                                                                       \
        if (st_ != CUDNN_STATUS_SUCCESS) {                                                                      \
            std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, cudnnGetErrorString(st_)); \
            std::exit(1);                                                                                       \
        }                                                                                                       \
    } while (0)
#endif

template <class T>
struct DeviceArray {
    T* ptr = nullptr;
    size_t count = 0;
    explicit DeviceArray(size_t n) : count(n) { CUDA_OK(cudaMalloc(&ptr, (n ? n : 1) * sizeof(T))); }
    explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) {
        if (count) CUDA_OK(cudaMemcpy(ptr, host.data(), count * sizeof(T), cudaMemcpyHostToDevice));
    }
    ~DeviceArray() { cudaFree(ptr); }
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
    std::vector<T> download() const {
        std::vector<T> host(count);
        if (count) CUDA_OK(cudaMemcpy(host.data(), ptr, count * sizeof(T), cudaMemcpyDeviceToHost));
        return host;
    }
};

/// Deterministic pseudo-random floats in [-1, 1) (a hash of the index: fast for 400 M values).
std::vector<float> pattern(size_t n, uint32_t seed) {
    std::vector<float> v(n);
#pragma omp parallel for schedule(static)
    for (long long i = 0; i < static_cast<long long>(n); ++i) {
        uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ (seed * 0x9e3779b9u);
        h ^= h >> 16, h *= 0x85ebca6bu, h ^= h >> 13, h *= 0xc2b2ae35u, h ^= h >> 16;
        v[static_cast<size_t>(i)] = static_cast<float>(h >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
    return v;
}

struct ConvLayer {
    const char* name;
    int64_t N, C, H, W, O;  // 3x3, stride 1, padding 1 (every VGG-16 and Fashion-MNIST conv)
    sk::Conv2dShape shape(int64_t batch) const {
        sk::Conv2dShape s;
        s.N = batch, s.C = C, s.H = H, s.W = W, s.O = O, s.KH = 3, s.KW = 3, s.ph = 1, s.pw = 1, s.OH = H, s.OW = W;
        return s;
    }
    double flops() const { return 2.0 * double(N) * double(O) * double(H) * double(W) * double(C) * 9.0; }
};

/// The relative tolerance of a TF32 result against an fp32 one: 10 TF32 unit roundoffs (2^-11).
constexpr double kTf32Tolerance = 10.0 / 2048.0;

/// Worst |got - want| relative to relative_tolerance · max|want| (<= 1 passes); NaN fails.
double worst_ratio(const std::vector<float>& got, const std::vector<float>& want, double relative_tolerance = 1e-4) {
    double scale = 0;
    for (float w : want) scale = std::max(scale, double(std::abs(w)));
    const double tol = relative_tolerance * scale + 1e-30;
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double d = std::abs(double(got[i]) - double(want[i]));
        if (!(d == d)) return INFINITY;
        worst = std::max(worst, d / tol);
    }
    return worst;
}

// ----- validation on the CPU ------------------------------------------------------------------------

/// For a failed check of a kernel never run before (TF32 version 5), what a first debugging session
/// needs from one run: how many elements are off, how many were never written (still NaN), the first
/// few as (i0, i1, i2, i3) of `dims` with both values, and which i1 (channels) and i0 are involved.
std::string describe_mismatches(const std::vector<float>& got, const std::vector<float>& want, double relative_tolerance,
                                const std::array<int64_t, 4>& dims) {
    double scale = 0;
    for (float w : want) scale = std::max(scale, double(std::abs(w)));
    const double tol = relative_tolerance * scale + 1e-30;
    int64_t off = 0, unwritten = 0;
    std::vector<int64_t> dim0, dim1;
    std::string first;
    for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
        const double d = std::abs(double(got[i]) - double(want[i]));
        if (d <= tol) continue;
        ++off;
        if (std::isnan(got[i])) ++unwritten;
        const int64_t i3 = int64_t(i) % dims[3], i2 = int64_t(i) / dims[3] % dims[2], i1 = int64_t(i) / (dims[3] * dims[2]) % dims[1],
                      i0 = int64_t(i) / (dims[3] * dims[2] * dims[1]);
        if (std::find(dim0.begin(), dim0.end(), i0) == dim0.end() && dim0.size() < 8) dim0.push_back(i0);
        if (std::find(dim1.begin(), dim1.end(), i1) == dim1.end() && dim1.size() < 16) dim1.push_back(i1);
        if (off <= 4) {
            char buf[128];
            std::snprintf(buf, sizeof buf, "%s(%lld, %lld, %lld, %lld) got %.6g want %.6g", first.empty() ? "" : "; ",
                          (long long)i0, (long long)i1, (long long)i2, (long long)i3, got[i], want[i]);
            first += buf;
        }
    }
    auto list = [](const std::vector<int64_t>& v) {
        std::string out;
        for (int64_t e : v) out += (out.empty() ? "" : " ") + std::to_string(e);
        return out;
    };
    char head[160];
    std::snprintf(head, sizeof head, "%lld of %zu elements off (%lld never written)", (long long)off, want.size(),
                  (long long)unwritten);
    return std::string(head) + (off ? "; first: " + first + "; dim 0 among: " + list(dim0) + "; dim 1 among: " + list(dim1)
                                    : std::string());
}

const char* tf32_version_name(sk::Tf32Version v) {
    switch (v) {
        case sk::Tf32Version::v3_wmma: return "version 3, wmma";
        case sk::Tf32Version::v4_mma: return "version 4, mma.sync + cp.async, 1 block/SM";
        case sk::Tf32Version::v4_mma_two_blocks: return "version 4, 2 blocks/SM";
        case sk::Tf32Version::v5_nhwc: return "version 5, staged channels-last";
        case sk::Tf32Version::v6_wgmma: return "version 6, version 5 with wgmma GEMMs";
    }
    return "?";
}

/// The device workspaces one TF32 version needs for one shape, one per pass (version 5 stages its
/// operands there; versions 3 and 4 need one for split backward-weight only).
struct Tf32Workspaces {
    size_t forward_bytes, data_bytes, weight_bytes;
    DeviceArray<char> forward, data, weight;
    Tf32Workspaces(const sk::Conv2dShape& s, sk::Tf32Version v)
        : forward_bytes(sk::conv2d_forward_tf32_workspace_bytes(s, v)),
          data_bytes(sk::conv2d_backward_data_tf32_workspace_bytes(s, v)),
          weight_bytes(sk::conv2d_backward_weight_tf32_workspace_bytes(s, v)),
          forward(forward_bytes), data(data_bytes), weight(weight_bytes) {}
};

/// seam's implicit GEMM at batch 2 (channels/map reduced without Eigen) against the CPU.
bool validate_conv(const ConvLayer& layer, bool with_tf32) {
    ConvLayer v = layer;
    v.N = 2;
#if !SEAM_BENCH_CPU_OP
    v.C = std::min<int64_t>(v.C, 16), v.O = std::min<int64_t>(v.O, 16);
    v.H = std::min<int64_t>(v.H, 32), v.W = std::min<int64_t>(v.W, 32);
#endif
    const sk::Conv2dShape s = v.shape(2);
    const Tensor<float> x = seam::from_vector(pattern(size_t(s.N * s.C * s.H * s.W), 1), {s.N, s.C, s.H, s.W});
    const Tensor<float> w = seam::from_vector(pattern(size_t(s.O * s.C * 9), 2), {s.O, s.C, 3, 3});
    const Tensor<float> b = seam::from_vector(pattern(size_t(s.O), 3), {s.O});
    const Tensor<float> gy = seam::from_vector(pattern(size_t(s.N * s.O * s.OH * s.OW), 4), {s.N, s.O, s.OH, s.OW});
    Tensor<float> want_y, want_dx, want_dw;
#if SEAM_BENCH_CPU_OP
    {
        Tensor<float> xl = x.clone(), wl = w.clone();
        xl.set_requires_grad(), wl.set_requires_grad();
        seam::Conv2dOptions opt;
        opt.padding = {1, 1};
        Tensor<float> y = seam::conv2d(xl, wl, b, opt);
        y.backward(gy);
        want_y = y.detach(), want_dx = xl.grad(), want_dw = wl.grad();
    }
    const char* against = "CPU op";
#else
    want_y = seam::reference::conv2d(x, w, b, {1, 1}, {1, 1}, {1, 1}, 1);
    const auto back = seam::reference::conv2d_backward(x, w, true, gy, {1, 1}, {1, 1}, {1, 1}, 1);
    want_dx = back.grad_input, want_dw = back.grad_weight;
    const char* against = "naive CPU reference (reduced channels/map: no Eigen at build time)";
#endif
    DeviceArray<float> dx_in(x.to_vector()), dw_in(w.to_vector()), db_in(b.to_vector()), dgy(gy.to_vector());
    DeviceArray<float> y(size_t(want_y.numel())), dx(size_t(x.numel())), dw(size_t(w.numel()));
    const auto algo = sk::ConvAlgo::implicit_gemm;
    // Both tunings of version 2: the library's (split-K, small-channel backward-data) and the one
    // first timed on an H100 (Conv2dTuning::first_timed()).
    for (const sk::Conv2dTuning tuning : {sk::Conv2dTuning{}, sk::Conv2dTuning::first_timed()}) {
        const size_t fwd_bytes = sk::conv2d_forward_workspace_bytes<float>(s, algo, tuning);
        const size_t data_bytes = sk::conv2d_backward_data_workspace_bytes<float>(s, algo, tuning);
        const size_t ws_bytes = sk::conv2d_backward_weight_workspace_bytes<float>(s, algo, tuning);
        DeviceArray<char> fwd_ws(fwd_bytes), data_ws(data_bytes), ws(ws_bytes);
        CUDA_OK(sk::conv2d_forward<float>(dx_in.ptr, dw_in.ptr, db_in.ptr, y.ptr, s, algo, nullptr, fwd_ws.ptr, fwd_bytes,
                                          tuning));
        CUDA_OK(sk::conv2d_backward_data<float>(dw_in.ptr, dgy.ptr, dx.ptr, s, algo, nullptr, data_ws.ptr, data_bytes,
                                                tuning));
        CUDA_OK(sk::conv2d_backward_weight<float>(dx_in.ptr, dgy.ptr, dw.ptr, s, algo, ws.ptr, ws_bytes, nullptr, tuning));
        CUDA_OK(cudaDeviceSynchronize());
        const double ry = worst_ratio(y.download(), want_y.to_vector());
        const double rx = worst_ratio(dx.download(), want_dx.to_vector());
        const double rw = worst_ratio(dw.download(), want_dw.to_vector());
        if (ry > 1 || rx > 1 || rw > 1) {
            std::fprintf(stderr,
                         "validation of %s (N=%lld C=%lld %lldx%lld O=%lld, %s tuning) against the %s FAILED: error / "
                         "tolerance = %.3g forward, %.3g backward-data, %.3g backward-weight\n",
                         layer.name, (long long)s.N, (long long)s.C, (long long)s.H, (long long)s.W, (long long)s.O,
                         tuning.split_k ? "library" : "first-timed", against, ry, rx, rw);
            return false;
        }
    }
    // Winograd F(2x2, 3x3) against the CPU, every pass, where it applies: its transforms add and
    // halve, so it gets 5e-4 of the largest value where the implicit GEMM gets 1e-4.
    if (sk::winograd_applicable(s)) {
        size_t bytes = 0;
        for (auto pass : {sk::WinogradPass::forward, sk::WinogradPass::backward_data, sk::WinogradPass::backward_weight})
            bytes = std::max(bytes, sk::winograd_workspace_bytes<float>(s, pass));
        DeviceArray<char> ws(bytes);
        const std::vector<float> nans_y(size_t(want_y.numel()), NAN), nans_x(size_t(x.numel()), NAN), nans_w(size_t(w.numel()), NAN);
        DeviceArray<float> y_w(nans_y), dx_w(nans_x), dw_w(nans_w);
        CUDA_OK(sk::winograd_forward<float>(g_cublas, dx_in.ptr, dw_in.ptr, db_in.ptr, y_w.ptr, s, ws.ptr, nullptr));
        CUDA_OK(sk::winograd_backward_data<float>(g_cublas, dw_in.ptr, dgy.ptr, dx_w.ptr, s, ws.ptr, nullptr));
        CUDA_OK(sk::winograd_backward_weight<float>(g_cublas, dx_in.ptr, dgy.ptr, dw_w.ptr, s, ws.ptr, nullptr));
        CUDA_OK(cudaDeviceSynchronize());
        const double ry = worst_ratio(y_w.download(), want_y.to_vector(), 5e-4);
        const double rx = worst_ratio(dx_w.download(), want_dx.to_vector(), 5e-4);
        const double rw = worst_ratio(dw_w.download(), want_dw.to_vector(), 5e-4);
        if (ry > 1 || rx > 1 || rw > 1) {
            std::fprintf(stderr,
                         "validation of the Winograd convolution on %s against the %s FAILED: error / tolerance = %.3g "
                         "forward, %.3g backward-data, %.3g backward-weight\n",
                         layer.name, against, ry, rx, rw);
            return false;
        }
    }
    if (!with_tf32) return true;
    // The TF32 kernels against the fp32 ones just checked, same inputs: within 10·2^-11 of the
    // largest value (TF32 keeps 10 mantissa bits: each product is off by up to ~2·2^-11 relative).
    // Versions 4 (both occupancies) and 3; version 5 is checked at the timed sizes, in a child
    // process (v5_table_item). The outputs are NaN-filled first, so an element a version forgets fails.
    for (const sk::Tf32Version version : {sk::Tf32Version::v4_mma, sk::Tf32Version::v4_mma_two_blocks, sk::Tf32Version::v3_wmma}) {
        const std::vector<float> nans_y(size_t(want_y.numel()), NAN), nans_x(size_t(x.numel()), NAN), nans_w(size_t(w.numel()), NAN);
        DeviceArray<float> y_tf32(nans_y), dx_tf32(nans_x), dw_tf32(nans_w);
        Tf32Workspaces ws(s, version);
        CUDA_OK(sk::conv2d_forward_tf32(dx_in.ptr, dw_in.ptr, db_in.ptr, y_tf32.ptr, s, ws.forward.ptr, ws.forward_bytes,
                                        nullptr, version));
        CUDA_OK(sk::conv2d_backward_data_tf32(dw_in.ptr, dgy.ptr, dx_tf32.ptr, s, ws.data.ptr, ws.data_bytes, nullptr, version));
        CUDA_OK(sk::conv2d_backward_weight_tf32(dx_in.ptr, dgy.ptr, dw_tf32.ptr, s, ws.weight.ptr, ws.weight_bytes, nullptr,
                                                version));
        CUDA_OK(cudaDeviceSynchronize());
        const double ty = worst_ratio(y_tf32.download(), y.download(), kTf32Tolerance);
        const double tx = worst_ratio(dx_tf32.download(), dx.download(), kTf32Tolerance);
        const double tw = worst_ratio(dw_tf32.download(), dw.download(), kTf32Tolerance);
        if (ty > 1 || tx > 1 || tw > 1) {
            std::fprintf(stderr,
                         "validation of the TF32 kernels (%s) on %s (N=%lld C=%lld %lldx%lld O=%lld) against seam's fp32 "
                         "result FAILED: error / tolerance = %.3g forward, %.3g backward-data, %.3g backward-weight\n",
                         tf32_version_name(version), layer.name, (long long)s.N, (long long)s.C, (long long)s.H,
                         (long long)s.W, (long long)s.O, ty, tx, tw);
            return false;
        }
    }
    return true;
}

/// Pooling version `version` of kernels/seam/pool2d.cuh against the CPU op at batch 2: outputs and
/// indices bit for bit, the gradient within the tolerance; outputs start as NaN (index -1).
bool validate_pool(int64_t C, int64_t H, int64_t W, bool average, sk::Pool2dVersion version) {
    const int64_t N = 2;
    seam::Pool2dOptions opt;
    opt.kernel = {2, 2};
    const Tensor<float> x = seam::from_vector(pattern(size_t(N * C * H * W), 7), {N, C, H, W});
    Tensor<float> xl = x.clone();
    xl.set_requires_grad();
    Tensor<float> y;
    Tensor<int64_t> idx;
    if (average) y = seam::avg_pool2d(xl, opt);
    else std::tie(y, idx) = seam::max_pool2d_with_indices(xl, opt);
    const Tensor<float> gy = seam::from_vector(pattern(size_t(y.numel()), 8), y.shape());
    y.backward(gy);
    sk::Pool2dShape s;
    s.N = N, s.C = C, s.H = H, s.W = W, s.OH = H / 2, s.OW = W / 2, s.kh = s.kw = s.sh = s.sw = 2;
    DeviceArray<float> dx(x.to_vector()), dgy(gy.to_vector()), out(size_t(y.numel())), gx(size_t(x.numel()));
    DeviceArray<int64_t> ix(size_t(y.numel()));
    CUDA_OK(cudaMemset(out.ptr, 0xff, out.count * sizeof(float)));
    CUDA_OK(cudaMemset(gx.ptr, 0xff, gx.count * sizeof(float)));
    CUDA_OK(cudaMemset(ix.ptr, 0xff, ix.count * sizeof(int64_t)));
    if (average) {
        CUDA_OK(sk::avg_pool2d_forward<float>(dx.ptr, out.ptr, s, {}, nullptr, version));
        CUDA_OK(sk::avg_pool2d_backward<float>(dgy.ptr, gx.ptr, s, {}, nullptr, version));
    } else {
        CUDA_OK(sk::max_pool2d_forward<float>(dx.ptr, out.ptr, ix.ptr, s, nullptr, version));
        CUDA_OK(sk::max_pool2d_backward<float>(dgy.ptr, ix.ptr, gx.ptr, s, nullptr, version));
    }
    CUDA_OK(cudaDeviceSynchronize());
    const bool same_out = out.download() == y.detach().to_vector();
    const bool same_idx = average || ix.download() == idx.to_vector();
    const double rg = worst_ratio(gx.download(), xl.grad().to_vector());
    if (!same_out || !same_idx || rg > 1) {
        std::fprintf(stderr, "validation of %s pooling version %d [2, %lld, %lld, %lld] against the CPU op FAILED (output "
                             "%s, indices %s, gradient %.3g x tolerance)\n",
                     average ? "average" : "max", static_cast<int>(version), (long long)C, (long long)H, (long long)W,
                     same_out ? "ok" : "differs", same_idx ? "ok" : "differ", rg);
        return false;
    }
    return true;
}

// ----- timing ------------------------------------------------------------------------------------

struct Timing {
    double median_ms = NAN, min_ms = NAN;
};

struct Timer {
    void* flush = nullptr;
    size_t flush_bytes = 0;
    cudaStream_t stream = nullptr;
    int reps = 5;

    template <class F>
    Timing time(F body) const {
        cudaEvent_t start, stop;
        CUDA_OK(cudaEventCreate(&start));
        CUDA_OK(cudaEventCreate(&stop));
        body();  // warm-up
        std::vector<double> samples;
        for (int r = 0; r < reps; ++r) {
            CUDA_OK(cudaMemsetAsync(flush, r & 0xff, flush_bytes, stream));
            CUDA_OK(cudaEventRecord(start, stream));
            body();
            CUDA_OK(cudaEventRecord(stop, stream));
            CUDA_OK(cudaEventSynchronize(stop));
            float ms = 0;
            CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
            samples.push_back(ms);
        }
        CUDA_OK(cudaEventDestroy(start));
        CUDA_OK(cudaEventDestroy(stop));
        std::sort(samples.begin(), samples.end());
        return {samples[samples.size() / 2], samples.front()};
    }
};

std::string ms(const Timing& t) {
    if (std::isnan(t.median_ms)) return "n/a";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", t.median_ms);
    return buf;
}

std::string ratio(const Timing& seam_t, const Timing& peer) {
    if (std::isnan(seam_t.median_ms) || std::isnan(peer.median_ms) || peer.median_ms <= 0) return "n/a";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", seam_t.median_ms / peer.median_ms);
    return buf;
}

#if SEAM_BENCH_CUDNN
/// One convolution set up in cuDNN (NCHW float, FMA math), its workspace sized for every algorithm used.
struct CudnnConv {
    cudnnHandle_t handle;
    cudnnTensorDescriptor_t x_desc{}, y_desc{};
    cudnnFilterDescriptor_t w_desc{};
    cudnnConvolutionDescriptor_t conv{};
    cudnnConvolutionFwdAlgo_t fwd_fastest = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    cudnnConvolutionBwdDataAlgo_t data_fastest = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    cudnnConvolutionBwdFilterAlgo_t filter_fastest = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    bool fwd_gemm_ok = false, data_gemm_ok = false, filter_gemm_ok = false;
    void* workspace = nullptr;
    size_t workspace_bytes = 0;

    cudnnMathType_t fwd_fastest_math = CUDNN_DEFAULT_MATH, data_fastest_math = CUDNN_DEFAULT_MATH,
                    filter_fastest_math = CUDNN_DEFAULT_MATH;  // the math cudnnFind* timed the fastest with

    /// math: CUDNN_FMA_MATH (fp32, seam's default precision) or CUDNN_TENSOR_OP_MATH (float data:
    /// TF32 tensor cores allowed, the precision of seam's TF32 kernels).
    CudnnConv(cudnnHandle_t h, const sk::Conv2dShape& s, cudaStream_t stream, cudnnMathType_t math = CUDNN_FMA_MATH)
        : handle(h) {
        CUDNN_OK(cudnnSetStream(h, stream));
        CUDNN_OK(cudnnCreateTensorDescriptor(&x_desc));
        CUDNN_OK(cudnnCreateTensorDescriptor(&y_desc));
        CUDNN_OK(cudnnCreateFilterDescriptor(&w_desc));
        CUDNN_OK(cudnnCreateConvolutionDescriptor(&conv));
        CUDNN_OK(cudnnSetTensor4dDescriptor(x_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(s.N), int(s.C), int(s.H), int(s.W)));
        CUDNN_OK(cudnnSetTensor4dDescriptor(y_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(s.N), int(s.O), int(s.OH), int(s.OW)));
        CUDNN_OK(cudnnSetFilter4dDescriptor(w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, int(s.O), int(s.C / s.groups), int(s.KH),
                                            int(s.KW)));
        CUDNN_OK(cudnnSetConvolution2dDescriptor(conv, int(s.ph), int(s.pw), int(s.sh), int(s.sw), int(s.dh), int(s.dw),
                                                 CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
        CUDNN_OK(cudnnSetConvolutionGroupCount(conv, int(s.groups)));
        CUDNN_OK(cudnnSetConvolutionMathType(conv, math));  // FMA: no TF32, seam's default precision
    }
    ~CudnnConv() {
        cudaFree(workspace);
        cudnnDestroyConvolutionDescriptor(conv);
        cudnnDestroyFilterDescriptor(w_desc);
        cudnnDestroyTensorDescriptor(y_desc);
        cudnnDestroyTensorDescriptor(x_desc);
    }

    /// cudnnFind* on the real buffers (it times every algorithm), then the workspace for all used.
    void choose(const float* x, const float* w, float* y, const float* dy, float* dx, float* dw) {
        int returned = 0;
        cudnnConvolutionFwdAlgoPerf_t fp[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        CUDNN_OK(cudnnFindConvolutionForwardAlgorithm(handle, x_desc, w_desc, conv, y_desc, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                      &returned, fp));
        for (int i = 0; i < returned; ++i)
            if (fp[i].status == CUDNN_STATUS_SUCCESS) { fwd_fastest = fp[i].algo, fwd_fastest_math = fp[i].mathType; break; }
        cudnnConvolutionBwdDataAlgoPerf_t dp[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        CUDNN_OK(cudnnFindConvolutionBackwardDataAlgorithm(handle, w_desc, y_desc, conv, x_desc,
                                                           CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, dp));
        for (int i = 0; i < returned; ++i)
            if (dp[i].status == CUDNN_STATUS_SUCCESS) { data_fastest = dp[i].algo, data_fastest_math = dp[i].mathType; break; }
        cudnnConvolutionBwdFilterAlgoPerf_t wp[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        CUDNN_OK(cudnnFindConvolutionBackwardFilterAlgorithm(handle, x_desc, y_desc, conv, w_desc,
                                                             CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, wp));
        for (int i = 0; i < returned; ++i)
            if (wp[i].status == CUDNN_STATUS_SUCCESS) {
                filter_fastest = wp[i].algo, filter_fastest_math = wp[i].mathType;
                break;
            }
        (void)x, (void)w, (void)y, (void)dy, (void)dx, (void)dw;
        size_t bytes = 0, need = 0;
        auto take = [&](cudnnStatus_t st, bool* ok) {
            if (ok) *ok = st == CUDNN_STATUS_SUCCESS;
            if (st == CUDNN_STATUS_SUCCESS) bytes = std::max(bytes, need);
        };
        take(cudnnGetConvolutionForwardWorkspaceSize(handle, x_desc, w_desc, conv, y_desc,
                                                     CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, &need), &fwd_gemm_ok);
        take(cudnnGetConvolutionForwardWorkspaceSize(handle, x_desc, w_desc, conv, y_desc, fwd_fastest, &need), nullptr);
        take(cudnnGetConvolutionBackwardDataWorkspaceSize(handle, w_desc, y_desc, conv, x_desc,
                                                          CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, &need), &data_gemm_ok);
        take(cudnnGetConvolutionBackwardDataWorkspaceSize(handle, w_desc, y_desc, conv, x_desc, data_fastest, &need), nullptr);
        take(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, x_desc, y_desc, conv, w_desc,
                                                            CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, &need), &filter_gemm_ok);
        take(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, x_desc, y_desc, conv, w_desc, filter_fastest, &need),
             nullptr);
        workspace_bytes = bytes;
        if (bytes) CUDA_OK(cudaMalloc(&workspace, bytes));
    }

    void forward(cudnnConvolutionFwdAlgo_t algo, const float* x, const float* w, float* y) const {
        const float one = 1, zero = 0;
        CUDNN_OK(cudnnConvolutionForward(handle, &one, x_desc, x, w_desc, w, conv, algo, workspace, workspace_bytes, &zero,
                                         y_desc, y));
    }
    void backward_data(cudnnConvolutionBwdDataAlgo_t algo, const float* w, const float* dy, float* dx) const {
        const float one = 1, zero = 0;
        CUDNN_OK(cudnnConvolutionBackwardData(handle, &one, w_desc, w, y_desc, dy, conv, algo, workspace, workspace_bytes,
                                              &zero, x_desc, dx));
    }
    void backward_filter(cudnnConvolutionBwdFilterAlgo_t algo, const float* x, const float* dy, float* dw) const {
        const float one = 1, zero = 0;
        CUDNN_OK(cudnnConvolutionBackwardFilter(handle, &one, x_desc, x, y_desc, dy, conv, algo, workspace,
                                                workspace_bytes, &zero, w_desc, dw));
    }
};
#endif

struct ConvRow {
    std::string layer, pass;
    Timing seam_t, first_t, direct_t, gemm_t, fastest_t;  // first_t: version 2 as first timed (untuned)
    Timing wino_t;  // seam's Winograd F(2x2, 3x3) (kernels/seam/winograd.cuh), where it applies
    Timing v5_t;    // TF32 tables: version 5 (kernels/seam/conv2d_tf32_nhwc.cuh), staging included
    Timing v6_t;    // TF32 tables: version 6 (kernels/seam/conv2d_tf32_wgmma.cuh)
    std::string fastest_name, agree;
    double flops = 0;
};

/// Columns first_t ("first") and direct_t ("direct") are labelled by the caller: the fp32 tables use
/// them for version 2 as first timed and version 1; the TF32 tables for version 3 and version 4 at
/// one block an SM.
void print_conv_table(const std::vector<ConvRow>& rows, bool with_direct, const char* seam_ms = "seam v2 ms",
                      const char* seam_tflops = "seam TFLOP/s", const char* cudnn_gemm = "cuDNN GEMM ms",
                      const char* cudnn_fastest = "cuDNN fastest ms", bool with_first = true,
                      const char* first_columns = "seam v2 first-timed ms | first/now",
                      const char* direct_column = "seam v1 (direct) ms", bool with_winograd = false, bool with_v5 = false) {
    std::printf("| layer | pass | %s | %s |%s%s %s | seam/cuDNN GEMM | %s | seam/cuDNN fastest | cuDNN fastest algo | agree |",
                seam_ms, seam_tflops, with_first ? (" " + std::string(first_columns) + " |").c_str() : "",
                with_direct ? (" " + std::string(direct_column) + " |").c_str() : "", cudnn_gemm, cudnn_fastest);
    std::printf("%s%s\n", with_winograd ? " seam Winograd ms | Winograd/cuDNN fastest |" : "",
                with_v5 ? " seam TF32 v5 ms | v5 TFLOP/s | v5/cuDNN GEMM | v5/cuDNN fastest | seam TF32 v6 ms | v6 TFLOP/s | "
                          "v6/cuDNN GEMM |"
                        : "");
    std::printf("|---|---|---|---|%s%s---|---|---|---|---|---|%s%s\n", with_first ? "---|---|" : "", with_direct ? "---|" : "",
                with_winograd ? "---|---|" : "", with_v5 ? "---|---|---|---|---|---|---|" : "");
    for (const ConvRow& r : rows) {
        char tf[32];
        std::snprintf(tf, sizeof tf, "%.1f", std::isnan(r.seam_t.median_ms) ? 0.0 : r.flops / (r.seam_t.median_ms * 1e9));
        const std::string first = with_first ? " " + ms(r.first_t) + " | " + ratio(r.first_t, r.seam_t) + " |" : "";
        std::printf("| %s | %s | %s | %s |%s%s%s | %s | %s | %s | %s | %s |", r.layer.c_str(), r.pass.c_str(),
                    ms(r.seam_t).c_str(), tf, first.c_str(), with_direct ? (" " + ms(r.direct_t) + " |").c_str() : "",
                    (" " + ms(r.gemm_t)).c_str(), ratio(r.seam_t, r.gemm_t).c_str(), ms(r.fastest_t).c_str(),
                    ratio(r.seam_t, r.fastest_t).c_str(), r.fastest_name.c_str(), r.agree.c_str());
        if (with_winograd) std::printf(" %s | %s |", ms(r.wino_t).c_str(), ratio(r.wino_t, r.fastest_t).c_str());
        if (with_v5) {
            char tf5[32];
            std::snprintf(tf5, sizeof tf5, "%.1f", std::isnan(r.v5_t.median_ms) ? 0.0 : r.flops / (r.v5_t.median_ms * 1e9));
            std::printf(" %s | %s | %s | %s |", ms(r.v5_t).c_str(), tf5, ratio(r.v5_t, r.gemm_t).c_str(),
                        ratio(r.v5_t, r.fastest_t).c_str());
            char tf6[32];
            std::snprintf(tf6, sizeof tf6, "%.1f", std::isnan(r.v6_t.median_ms) ? 0.0 : r.flops / (r.v6_t.median_ms * 1e9));
            std::printf(" %s | %s | %s |", ms(r.v6_t).c_str(), tf6, ratio(r.v6_t, r.gemm_t).c_str());
        }
        std::printf("\n");
    }
}


// ----- TF32 version 5 lab ------------------------------------------------------------------------------
// Version 5 (kernels/seam/conv2d_tf32_nhwc.cuh) was written without a GPU; its split-K plan rests on
// an assumed tile time. The lab times its parts apart — the staging kernels, then the GEMM (with its
// summing kernel when split) on the staged operands — at every split the pass may take, each run
// checked against seam's fp32 result on the device before it is timed, and prints the model's
// prediction beside each measurement and the tile time each unsplit GEMM implies: what the next
// session needs to calibrate SplitModel and to judge whether version 5 should become the default.

/// out[0] = max |got - want| (+inf where got is NaN), out[1] = max |want|, as float bits (non-negative
/// floats order like their bit patterns, so atomicMax on unsigned is a float max).
__global__ void max_abs_diff_kernel(const float* got, const float* want, size_t n, unsigned* out) {
    float d = 0.0f, m = 0.0f;
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
        const float diff = fabsf(got[i] - want[i]);
        d = fmaxf(d, diff == diff ? diff : INFINITY);
        m = fmaxf(m, fabsf(want[i]));
    }
    for (int offset = 16; offset > 0; offset /= 2) {
        d = fmaxf(d, __shfl_down_sync(0xffffffffu, d, offset));
        m = fmaxf(m, __shfl_down_sync(0xffffffffu, m, offset));
    }
    if (threadIdx.x % 32 == 0) atomicMax(out, __float_as_uint(d)), atomicMax(out + 1, __float_as_uint(m));
}

/// worst_ratio on the device (no download of a 400 MB tensor): max |got - want| / (tol · max |want|).
double device_worst_ratio(const float* got, const float* want, size_t n, double relative_tolerance, cudaStream_t stream) {
    DeviceArray<unsigned> out(2);
    CUDA_OK(cudaMemsetAsync(out.ptr, 0, 2 * sizeof(unsigned), stream));
    max_abs_diff_kernel<<<1024, 256, 0, stream>>>(got, want, n, out.ptr);
    CUDA_OK(cudaGetLastError());
    CUDA_OK(cudaStreamSynchronize(stream));
    const std::vector<unsigned> bits = out.download();
    float d, m;
    std::memcpy(&d, &bits[0], 4), std::memcpy(&m, &bits[1], 4);
    return double(d) / (relative_tolerance * double(m) + 1e-30);
}

struct LabPoint {
    int slices;  // the plan's slices (a request may give fewer: none may be empty)
    bool model;  // the split model's own plan
    double ms, predicted_ms;
};
struct LabRow {
    std::string layer, pass;
    double staging_ms = NAN;
    int model_slices = 1;
    std::vector<LabPoint> sweep;
    double implied_tile_us = NAN;  // SplitModel's t_tile that the unsplit GEMM's time implies
    std::string check = "ok";
    double flops = 0;
    const LabPoint* model() const {
        for (const LabPoint& p : sweep)
            if (p.model) return &p;
        return nullptr;
    }
    const LabPoint* unsplit() const {
        for (const LabPoint& p : sweep)
            if (p.slices == 1) return &p;
        return nullptr;
    }
    const LabPoint* best() const {
        const LabPoint* b = nullptr;
        for (const LabPoint& p : sweep)
            if (!b || p.ms < b->ms) b = &p;
        return b;
    }
};

namespace v5 = sk::conv2d_tf32_nhwc;

/// One version-5 pass of one shape on one layer's device buffers: all that the lab and --profile-v5
/// need to tell the three passes apart, written once.
struct V5Pass {
    const char* name;
    v5::GemmExtent extent;
    std::function<v5::WorkspaceLayout(int)> layout;  // for a requested split (0: the model's)
    std::function<cudaError_t(const v5::WorkspaceLayout&, void*)> stage, gemm;  // on that layout's workspace
    float* out;
    const float* ref;             // seam's fp32 result, or null
    size_t count;                 // out's elements
    std::array<int64_t, 4> dims;  // out's: [N, O, OH, OW], [N, C, H, W] or [O, C/g, KH, KW]
    const char* dims_named;       // those names, for reports
};

/// Forward, backward-data and backward-weight of s on these buffers (the refs may be null).
std::array<V5Pass, 3> v5_passes(const sk::Conv2dShape& s, const float* x, const float* w, const float* dy, float* y,
                                float* dx, float* dw, const float* y_ref, const float* dx_ref, const float* dw_ref,
                                cudaStream_t stream) {
    const size_t nx = size_t(s.N * s.C * s.H * s.W), nw = size_t(s.O * s.Cg() * s.KH * s.KW),
                 ny = size_t(s.N * s.O * s.OH * s.OW);
    return {{{"forward", v5::forward_extent(s), [s](int r) { return v5::forward_layout(s, r); },
              [=](const v5::WorkspaceLayout& l, void* ws) { return v5::stage_forward(x, w, s, l, ws, stream); },
              [=](const v5::WorkspaceLayout& l, void* ws) { return v5::forward_gemm(nullptr, y, s, l, ws, stream); }, y,
              y_ref, ny, {s.N, s.O, s.OH, s.OW}, "[N, O, OH, OW]"},
             {"backward-data", v5::backward_data_extent(s), [s](int r) { return v5::backward_data_layout(s, r); },
              [=](const v5::WorkspaceLayout& l, void* ws) { return v5::stage_backward_data(w, dy, s, l, ws, stream); },
              [=](const v5::WorkspaceLayout& l, void* ws) { return v5::backward_data_gemm(dx, s, l, ws, stream); }, dx,
              dx_ref, nx, {s.N, s.C, s.H, s.W}, "[N, C, H, W]"},
             {"backward-weight", v5::backward_weight_extent(s), [s](int r) { return v5::backward_weight_layout(s, r); },
              [=](const v5::WorkspaceLayout& l, void* ws) { return v5::stage_backward_weight(x, dy, s, l, ws, stream); },
              [=](const v5::WorkspaceLayout& l, void* ws) { return v5::backward_weight_gemm(dw, s, l, ws, stream); }, dw,
              dw_ref, nw, {s.O, s.Cg(), s.KH, s.KW}, "[O, C/g, KH, KW]"}}};
}

/// The lab's deadline (--time-budget): past it, the lab starts no new pass and says so.
using LabClock = std::chrono::steady_clock;
LabClock::time_point g_deadline = LabClock::time_point::max();

// ----- TF32 version 5 in child processes ------------------------------------------------------------
// Version 5 has never run on a GPU before the run that uses this bench. A fault in one of its kernels
// (an illegal address, a misaligned cp.async) would poison this process's CUDA context and a
// deadlock would hang it: every table after it would be lost. So this process never launches it.
// Its work is cut into items — one pass of one timed layer — that a child process runs (this
// program again: --v5-child MODE FROM; bench/child_lines.hpp's run_items_in_children), reporting
// each item on its standard output:
//   @v5 ready | @v5 begin K | @v5 time K MEDIAN MIN | @v5 problem K TEXT | @v5 lab K FIELDS | @v5 cut K | @v5 end
// A child that dies (or prints nothing for kChildIdleSeconds) inside item K has K recorded as a
// fault, and a new child goes on from K + 1. Two modes: "tables" (the launcher the library runs,
// checked at the timed size, then timed: the TF32 tables' v5 column) and "lab" (below). Where no
// child can run (a GPU in exclusive-process mode, or the first child cannot start) the items run
// in this process, as before, and a fault ends the run.

// The longest item (a new VGG layer's buffers, then its lab sweep) takes a few seconds. A hang costs
// kChildIdleSeconds: after two, the rest of the items are not run.
constexpr double kChildIdleSeconds = 20;
constexpr int kChildRestarts = 8, kChildHangs = 2;
constexpr const char* kPassNames[3] = {"forward", "backward-data", "backward-weight"};

/// How run_v5_items starts its children: set once, by main or by --selftest-children.
struct ChildSetup {
    std::string self_exe;  // this program (/proc/self/exe)
    int reps = 5;
    bool skip_vgg = false;
    bool usable = true;  // false: exclusive compute mode, or a child could not start: the items run here
    bool fake = false;   // --v5-fake children (the self-test's): no CUDA work, fake_item
    double idle_seconds = kChildIdleSeconds;
};
ChildSetup g_children;

/// The path of this program, for running it again as a child.
std::string this_program(const char* fallback) {
    char path[4096] = {0};
    const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    return n > 0 ? std::string(path, size_t(n)) : std::string(fallback);
}

const std::vector<ConvLayer>& vgg_layers() {
    static const std::vector<ConvLayer> layers = {
        {"vgg conv1_1", 32, 3, 224, 224, 64},    {"vgg conv1_2", 32, 64, 224, 224, 64},
        {"vgg conv2_1", 32, 64, 112, 112, 128},  {"vgg conv2_2", 32, 128, 112, 112, 128},
        {"vgg conv3_1", 32, 128, 56, 56, 256},   {"vgg conv3_2", 32, 256, 56, 56, 256},
        {"vgg conv3_3", 32, 256, 56, 56, 256},   {"vgg conv4_1", 32, 256, 28, 28, 512},
        {"vgg conv4_2", 32, 512, 28, 28, 512},   {"vgg conv4_3", 32, 512, 28, 28, 512},
        {"vgg conv5_1", 32, 512, 14, 14, 512},   {"vgg conv5_2", 32, 512, 14, 14, 512},
        {"vgg conv5_3", 32, 512, 14, 14, 512},
    };
    return layers;
}
const std::vector<ConvLayer>& fmnist_layers() {
    static const std::vector<ConvLayer> layers = {
        {"fmnist conv1", 128, 1, 28, 28, 32}, {"fmnist conv2", 128, 32, 14, 14, 64}, {"fmnist conv3", 128, 64, 7, 7, 64}};
    return layers;
}

/// One item: pass `pass` (0 forward, 1 backward-data, 2 backward-weight) of one timed layer, by TF32
/// version 5 (or 6; the tables only). Items are numbered Fashion-MNIST
/// first, then VGG-16 (unless --skip-vgg), layer by layer, pass by pass, then (with_v6) version 6's in
/// the same order: the parent and its children number them alike from the same flags, and a
/// version-5 item has the same number in the tables and the lab.
struct V5Item {
    const ConvLayer* layer;
    int pass;
    int version = 5;
};
std::vector<V5Item> v5_items(bool skip_vgg, bool with_v6 = false) {
    std::vector<V5Item> items;
    for (int version : {5, 6}) {
        if (version == 6 && !with_v6) break;
        for (const auto* list : {&fmnist_layers(), &vgg_layers()}) {
            if (skip_vgg && list == &vgg_layers()) continue;
            for (const ConvLayer& l : *list)
                for (int p = 0; p < 3; ++p) items.push_back({&l, p, version});
        }
    }
    return items;
}
/// Whether version 6 can run here (compute capability 9.0, sm_90a code in this program): parent and
/// children each ask, with the same answer.
bool v6_runs_here() { return !g_children.fake && sk::conv2d_tf32_wgmma::available() == cudaSuccess; }

/// One layer's buffers at its timed batch, with seam's fp32 results (the implicit GEMM, validated
/// against the CPU before any timing) as the references.
struct V5Buffers {
    const ConvLayer* layer;
    sk::Conv2dShape s;
    size_t nx, nw, ny;
    DeviceArray<float> x, w, dy, y, dx, dw, y_ref, dx_ref, dw_ref;
    V5Buffers(const ConvLayer& l, cudaStream_t stream)
        : layer(&l), s(l.shape(l.N)), nx(size_t(s.N * s.C * s.H * s.W)), nw(size_t(s.O * s.C * 9)),
          ny(size_t(s.N * s.O * s.OH * s.OW)), x(pattern(nx, 11)), w(pattern(nw, 12)), dy(pattern(ny, 13)), y(ny), dx(nx),
          dw(nw), y_ref(ny), dx_ref(nx), dw_ref(nw) {
        const auto v2 = sk::ConvAlgo::implicit_gemm;
        const size_t fb = sk::conv2d_forward_workspace_bytes<float>(s, v2), db = sk::conv2d_backward_data_workspace_bytes<float>(s, v2),
                     wb = sk::conv2d_backward_weight_workspace_bytes<float>(s, v2);
        DeviceArray<char> ws(std::max({fb, db, wb}));
        CUDA_OK(sk::conv2d_forward<float>(x.ptr, w.ptr, nullptr, y_ref.ptr, s, v2, stream, ws.ptr, fb));
        CUDA_OK(sk::conv2d_backward_data<float>(w.ptr, dy.ptr, dx_ref.ptr, s, v2, stream, ws.ptr, db));
        CUDA_OK(sk::conv2d_backward_weight<float>(x.ptr, dy.ptr, dw_ref.ptr, s, v2, ws.ptr, wb, stream));
        CUDA_OK(cudaStreamSynchronize(stream));
    }
    V5Pass pass(int p, cudaStream_t stream) {
        return v5_passes(s, x.ptr, w.ptr, dy.ptr, y.ptr, dx.ptr, dw.ptr, y_ref.ptr, dx_ref.ptr, dw_ref.ptr, stream)[size_t(p)];
    }
};

using Sink = std::function<void(const std::string&)>;

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
    char buf[1024];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    return buf;
}

/// A failed check's report: how far off, and describe_mismatches of the output (downloaded: a
/// failure only).
std::string mismatch_report(const V5Pass& p, double worst) {
    std::vector<float> got(p.count), want(p.count);
    CUDA_OK(cudaMemcpy(got.data(), p.out, p.count * sizeof(float), cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(want.data(), p.ref, p.count * sizeof(float), cudaMemcpyDeviceToHost));
    return format("%.3g x tolerance; %s %s", worst, p.dims_named,
                  describe_mismatches(got, want, kTf32Tolerance, p.dims).c_str());
}

/// Pass `pass` (0 forward, 1 backward-data, 2 backward-weight) of s through the library's TF32
/// launcher for `version`: its workspace size, and one run of it on these buffers.
size_t tf32_pass_workspace_bytes(const sk::Conv2dShape& s, int pass, sk::Tf32Version version) {
    return pass == 0   ? sk::conv2d_forward_tf32_workspace_bytes(s, version)
           : pass == 1 ? sk::conv2d_backward_data_tf32_workspace_bytes(s, version)
                       : sk::conv2d_backward_weight_tf32_workspace_bytes(s, version);
}
cudaError_t run_tf32_pass(const sk::Conv2dShape& s, int pass, sk::Tf32Version version, const float* x, const float* w,
                          const float* dy, float* y, float* dx, float* dw, void* ws, size_t bytes, cudaStream_t stream) {
    if (pass == 0) return sk::conv2d_forward_tf32(x, w, nullptr, y, s, ws, bytes, stream, version);
    if (pass == 1) return sk::conv2d_backward_data_tf32(w, dy, dx, s, ws, bytes, stream, version);
    return sk::conv2d_backward_weight_tf32(x, dy, dw, s, ws, bytes, stream, version);
}

/// A "tables" item: the library's version-5 (or 6) launcher (what the TF32 tables time: staging, then
/// the GEMM at the model's split, in one call) at the timed size, its output NaN-filled first and
/// checked on the device against seam's fp32 result within 10·2^-11 of the largest value; timed
/// only when right.
void v5_table_item(int k, V5Buffers& b, int pass, int version, const Timer& timer, const Sink& emit) {
    const cudaStream_t stream = timer.stream;
    const sk::Conv2dShape& s = b.s;
    const auto tf32 = version == 6 ? sk::Tf32Version::v6_wgmma : sk::Tf32Version::v5_nhwc;
    // This pass's workspace only (Tf32Workspaces would allocate all three passes').
    const size_t bytes = tf32_pass_workspace_bytes(s, pass, tf32);
    DeviceArray<char> ws(bytes);
    const V5Pass p = b.pass(pass, stream);
    auto launch = [&] {
        return run_tf32_pass(s, pass, tf32, b.x.ptr, b.w.ptr, b.dy.ptr, b.y.ptr, b.dx.ptr, b.dw.ptr, ws.ptr, bytes, stream);
    };
    CUDA_OK(cudaMemsetAsync(p.out, 0xff, p.count * sizeof(float), stream));
    const cudaError_t launched = launch();
    if (launched != cudaSuccess) {  // a refusal; a context already broken ends the child here
        CUDA_OK(cudaDeviceSynchronize());
        emit(format("problem %d could not run: %s", k, cudaGetErrorString(launched)));
        return;
    }
    const double worst = device_worst_ratio(p.out, p.ref, p.count, kTf32Tolerance, stream);
    if (!(worst <= 1)) {
        emit(format("problem %d FAILED its check: %s", k, mismatch_report(p, worst).c_str()));
        return;
    }
    const Timing t = timer.time([&] { CUDA_OK(launch()); });
    emit(format("time %d %.17g %.17g", k, t.median_ms, t.min_ms));
}

/// A "lab" item (see the lab section above): the pass's staging timed alone, then its GEMM at every
/// split it may take, each run checked before it is timed.
LabRow v5_lab_item(V5Buffers& b, int pass_index, const Timer& timer) {
    const cudaStream_t stream = timer.stream;
    const V5Pass pass = b.pass(pass_index, stream);
    const v5::GemmExtent& e = pass.extent;
    LabRow row{b.layer->name, pass.name};
    row.flops = b.layer->flops();
    row.model_slices = v5::gemm_slices(e).slices;
    // The requests: the model's (0), then 1, 2, 3, 4, 6, 8, ... 256, up to the pass's limit; each
    // distinct plan once (a request may give fewer slices: none may be empty).
    std::vector<int> plans;
    std::vector<std::pair<int, int>> seen;  // (slices, k_slice)
    const int64_t limit = v5::slice_limit(e);
    for (int r : {0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256})
        if (r <= limit) {
            const sk::conv2d_detail::SlicePlan p = v5::gemm_slices(e, r);
            if (std::find(seen.begin(), seen.end(), std::make_pair(p.slices, p.k_slice)) != seen.end()) continue;
            seen.emplace_back(p.slices, p.k_slice), plans.push_back(r);
        }
    size_t bytes = 0;
    for (int r : plans) bytes = std::max(bytes, pass.layout(r).bytes);  // the model's may exceed the sweep's
    DeviceArray<char> ws(bytes);
    const v5::WorkspaceLayout staged = pass.layout(1);  // the staged tensors sit at the same offsets for every split
    auto stage = [&] { CUDA_OK(pass.stage(staged, ws.ptr)); };
    row.staging_ms = timer.time(stage).median_ms;
    stage();
    for (int r : plans) {
        const v5::WorkspaceLayout l = pass.layout(r);
        auto gemm = [&] { CUDA_OK(pass.gemm(l, ws.ptr)); };
        CUDA_OK(cudaMemsetAsync(pass.out, 0xff, pass.count * sizeof(float), stream));  // NaN: a missed element fails
        gemm();
        const double worst = device_worst_ratio(pass.out, pass.ref, pass.count, kTf32Tolerance, stream);
        if (!(worst <= 1)) {
            row.check = format("FAILED at %d slices", l.plan.slices);
            std::fprintf(stderr, "v5 lab: %s %s %s: %s\n", b.layer->name, pass.name, row.check.c_str(),
                         mismatch_report(pass, worst).c_str());
            break;
        }
        row.sweep.push_back({l.plan.slices, r == 0, timer.time(gemm).median_ms, 1e3 * v5::predicted_seconds(e, l.plan.slices)});
    }
    std::sort(row.sweep.begin(), row.sweep.end(), [](const LabPoint& a, const LabPoint& b) {
        return a.slices < b.slices || (a.slices == b.slices && a.model && !b.model);
    });
    if (const LabPoint* one = row.unsplit())
        row.implied_tile_us = 1e6 * v5::SplitModel::kSecondsPerWaveTile * one->ms / one->predicted_ms;
    return row;
}

/// A lab row on one line (tab-separated; the sweep as slices:model:ms:predicted, ';'-separated),
/// and back. The layer and pass come from the item number.
std::string lab_fields(const LabRow& r) {
    std::string sweep;
    for (const LabPoint& p : r.sweep)
        sweep += format("%s%d:%d:%.17g:%.17g", sweep.empty() ? "" : ";", p.slices, p.model ? 1 : 0, p.ms, p.predicted_ms);
    return format("%.17g\t%d\t%.17g\t%.17g\t%s\t%s", r.staging_ms, r.model_slices, r.implied_tile_us, r.flops, r.check.c_str(),
                  sweep.c_str());
}
bool parse_lab_fields(const std::string& text, LabRow& r) {
    std::vector<std::string> f;
    for (size_t start = 0;;) {
        const size_t tab = text.find('\t', start);
        f.push_back(text.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
        if (tab == std::string::npos) break;
        start = tab + 1;
    }
    if (f.size() != 6) return false;
    r.staging_ms = std::strtod(f[0].c_str(), nullptr), r.model_slices = std::atoi(f[1].c_str());
    r.implied_tile_us = std::strtod(f[2].c_str(), nullptr), r.flops = std::strtod(f[3].c_str(), nullptr), r.check = f[4];
    for (size_t start = 0; start < f[5].size();) {
        const size_t semi = std::min(f[5].find(';', start), f[5].size());
        LabPoint p{};
        int model = 0;
        if (std::sscanf(f[5].substr(start, semi - start).c_str(), "%d:%d:%lf:%lf", &p.slices, &model, &p.ms, &p.predicted_ms) != 4)
            return false;
        p.model = model != 0, r.sweep.push_back(p), start = semi + 1;
    }
    return true;
}

/// --selftest-children (no GPU needed: a CTest runs it) exercises the parent's side of all this —
/// its own path, the children's arguments, the records, a crash, a failed check and a hang — with
/// children that do no CUDA work (--v5-fake): fake_item below.

/// A fake child's item k: tables: item 2 dies by a signal (SIGTERM: no core file), item 4 hangs, item 5
/// reports a failed check, the others the time 1 + k ms (min 0.5 + k); lab: item 2 dies, the others a
/// row with a two-point sweep.
void fake_item(const std::string& mode, size_t k, const Sink& emit) {
    if (k == 2) raise(SIGTERM);
    if (mode == "tables") {
        if (k == 4)
            for (;;) pause();
        if (k == 5) emit(format("problem %zu FAILED its check: made up", k));
        else emit(format("time %zu %.17g %.17g", k, 1.0 + double(k), 0.5 + double(k)));
        return;
    }
    LabRow r;
    r.staging_ms = 0.25, r.model_slices = 2, r.implied_tile_us = 1.5 + double(k), r.flops = 1e9;
    r.sweep = {{1, false, 2.0, 1.9}, {2, true, 1.0 + double(k) / 8, 1.1}};
    emit(format("lab %zu ", k) + lab_fields(r));
}

/// The child's (or the in-process fallback's) walk over the items from `from`: "tables" or "lab";
/// `skip` lists items not to run (the lab skips those that faulted in the tables).
void v5_item_loop(const std::string& mode, const std::vector<V5Item>& items, size_t from, const std::vector<int>& skip,
                  const Timer& timer, LabClock::time_point deadline, const Sink& emit) {
    emit("ready");
    std::unique_ptr<V5Buffers> buffers;
    for (size_t k = from; k < items.size(); ++k) {
        const V5Item& item = items[k];
        const sk::Conv2dShape s = item.layer->shape(item.layer->N);
        if (std::find(skip.begin(), skip.end(), int(k)) != skip.end() || !v5::fits(s)) continue;
        // Backward-data with C/groups <= 4 runs the fp32 small-channel kernel, not version 5's GEMM
        // (nor 6's: version 5's table item times it once).
        if ((mode == "lab" || item.version == 6) && item.pass == 1 && s.Cg() <= 4) continue;
        if (LabClock::now() > deadline) {
            emit(format("cut %zu", k));
            break;
        }
        emit(format("begin %zu", k));
        if (g_children.fake) {
            fake_item(mode, k, emit);
            continue;
        }
        if (!buffers || buffers->layer != item.layer) {
            buffers.reset();  // one layer's buffers at a time
            buffers = std::make_unique<V5Buffers>(*item.layer, timer.stream);
        }
        if (mode == "tables") v5_table_item(int(k), *buffers, item.pass, item.version, timer, emit);
        else emit(format("lab %zu ", k) + lab_fields(v5_lab_item(*buffers, item.pass, timer)));
    }
    emit("end");
}

/// What the parent learns of each item.
struct V5Record {
    bool done = false;
    Timing t;             // tables: the launcher's time (when right)
    std::string problem;  // a failed check, a refusal, or the fault that ended a child inside it
    LabRow lab;           // lab
};

/// Runs `mode`'s items into recs, in child processes (this program with --v5-child; see the section's
/// head) or, where none can run, here. Returns how they ran, for the report.

std::string run_v5_items(const std::string& mode, const std::vector<V5Item>& items, std::vector<V5Record>& recs,
                         const std::vector<int>& skip, const Timer& timer, LabClock::time_point deadline) {
    recs.assign(items.size(), V5Record{});
    auto on_record = [&](size_t k, const std::string& verb, const std::string& text) {
        V5Record& r = recs[k];
        r.done = true;
        if (verb == "time") {
            if (std::sscanf(text.c_str(), "%lf %lf", &r.t.median_ms, &r.t.min_ms) != 2) r.problem = "unreadable time '" + text + "'";
        } else if (verb == "problem") {
            r.problem = text;
        } else if (verb == "lab") {
            r.lab.layer = items[k].layer->name, r.lab.pass = kPassNames[items[k].pass];
            if (!parse_lab_fields(text, r.lab)) r.problem = "unreadable lab record '" + text + "'";
        } else {
            r.problem = "unknown record '" + verb + "'";
        }
    };
    auto on_fault = [&](size_t k, const std::string& why) {
        recs[k].done = true, recs[k].problem = "FAULT: its child process " + why + " inside it (its stderr is in the log)";
    };
    if (!g_children.usable) {  // here: a fault ends this process, as before children existed
        size_t cut_at = items.size();
        v5_item_loop(mode, items, 0, skip, timer, deadline, [&](const std::string& line) {
            const seam::bench::ItemLine l = seam::bench::parse_item_line("v5", "@v5 " + line);
            if (l.verb == "cut") cut_at = size_t(l.item);
            else if (l.item >= 0 && l.verb != "begin") on_record(size_t(l.item), l.verb, l.text);
        });
        return "in this process" + (cut_at < items.size() ? format("; cut at the time budget: items from %zu on were not run", cut_at)
                                                          : std::string());
    }
    std::string skip_list;
    for (int k : skip) skip_list += (skip_list.empty() ? "" : ",") + std::to_string(k);
    auto argv_from = [&](size_t from) {
        std::vector<std::string> argv = {g_children.self_exe, "--v5-child", mode, std::to_string(from), "--reps",
                                         std::to_string(g_children.reps)};
        if (g_children.skip_vgg) argv.push_back("--skip-vgg");
        if (g_children.fake) argv.push_back("--v5-fake");
        if (deadline != LabClock::time_point::max())
            argv.push_back("--time-budget"),
                argv.push_back(format("%.3f", std::max(0.001, std::chrono::duration<double>(deadline - LabClock::now()).count())));
        if (!skip_list.empty()) argv.push_back("--v5-skip"), argv.push_back(skip_list);
        return argv;
    };
    // The parent's limit: the deadline plus the longest item, so that a child inside its last item may finish it.
    const auto kill_at = deadline == LabClock::time_point::max() ? deadline : deadline + std::chrono::seconds(15);
    const seam::bench::ItemRun run =
        seam::bench::run_items_in_children("v5", items.size(), argv_from, g_children.idle_seconds, kill_at, kChildRestarts,
                                           kChildHangs, on_record, on_fault);
    if (run.could_not_start) {
        std::printf("- a version-5 child process could not start (%s): version 5 runs in this process\n", run.start_failure.c_str());
        g_children.usable = false;
        return run_v5_items(mode, items, recs, skip, timer, deadline);
    }
    std::string how = format("in %d child process%s, %d fault%s", run.children, run.children == 1 ? "" : "es", run.faults,
                             run.faults == 1 ? "" : "s");
    if (run.cut) how += format("; cut at the time budget: items from %zu on were not run", run.resume_at);
    if (run.killed_at_deadline) how += format("; killed past the time budget: items from %zu on were not run", run.resume_at);
    if (run.gave_up)
        how += format("; stopped after %d child processes (%d hung): items from %zu on were not run", run.children, run.hangs,
                      run.resume_at);
    return how;
}

/// The timer every table uses: `reps` samples, the L2 flushed (twice its size written) before each.
void set_up_timer(Timer& timer, const cudaDeviceProp& prop, int reps) {
    timer.reps = reps;
    timer.flush_bytes = std::max<size_t>(2 * static_cast<size_t>(prop.l2CacheSize), size_t(8) << 20);
    CUDA_OK(cudaMalloc(&timer.flush, timer.flush_bytes));
    CUDA_OK(cudaStreamCreate(&timer.stream));
}

/// --v5-child MODE FROM: this program as the child of run_v5_items; records on stdout, diagnostics on
/// stderr; exit 0 after "@v5 end" (a CUDA error exits 1 through CUDA_OK, inside the item that met it).
int v5_child_main(const std::string& mode, size_t from, const std::vector<int>& skip, int reps, bool skip_vgg,
                  LabClock::time_point deadline, const cudaDeviceProp& prop) {
    auto print = [](const std::string& line) { std::printf("@v5 %s\n", line.c_str()); };
    if (g_children.fake) {  // --selftest-children's: no CUDA
        v5_item_loop(mode, v5_items(skip_vgg), from, skip, Timer{}, deadline, print);
        return 0;
    }
    Timer timer;
    set_up_timer(timer, prop, reps);
    v5_item_loop(mode, v5_items(skip_vgg, mode == "tables" && v6_runs_here()), from, skip, timer, deadline, print);
    CUDA_OK(cudaStreamDestroy(timer.stream));
    CUDA_OK(cudaFree(timer.flush));
    return 0;
}

/// --selftest-children: run_v5_items over the Fashion-MNIST items (0-8) with fake children
/// (fake_item), against what fake_item does. Exit 0 when all holds, 1 otherwise.
int selftest_children() {
    // Idle limit 3 s: a loaded CI machine may start a child slowly.
    g_children = {this_program(""), 1, true, true, true, 3.0};
    if (g_children.self_exe.empty()) return std::printf("selftest: cannot read /proc/self/exe\n"), 1;
    int failures = 0;
    auto expect = [&](bool ok, const std::string& what) {
        if (!ok) ++failures, std::printf("selftest FAILED: %s\n", what.c_str());
    };
    const std::vector<V5Item> items = v5_items(true);
    expect(items.size() == 9, "9 Fashion-MNIST items");
    const Timer unused;
    std::vector<V5Record> tables, lab;
    const std::string how = run_v5_items("tables", items, tables, {}, unused, LabClock::time_point::max());
    std::printf("selftest tables: %s\n", how.c_str());
    expect(how.rfind("in 3 child processes, 2 faults", 0) == 0, "three children, two faults: '" + how + "'");
    for (size_t k = 0; k < tables.size(); ++k) {
        const V5Record& r = tables[k];
        const std::string at = "tables item " + std::to_string(k) + ": ";
        expect(r.done, at + "done");
        if (k == 2) expect(r.problem.rfind("FAULT", 0) == 0 && r.problem.find("signal 15") != std::string::npos, at + r.problem);
        else if (k == 4) expect(r.problem.rfind("FAULT", 0) == 0 && r.problem.find("idle") != std::string::npos, at + r.problem);
        else if (k == 5) expect(r.problem == "FAILED its check: made up", at + r.problem);
        else expect(r.problem.empty() && r.t.median_ms == 1.0 + double(k) && r.t.min_ms == 0.5 + double(k), at + "time " + r.problem);
    }
    const std::string lab_how = run_v5_items("lab", items, lab, {2, 4}, unused, LabClock::now() + std::chrono::seconds(60));
    std::printf("selftest lab: %s\n", lab_how.c_str());
    expect(lab_how.rfind("in 1 child process, 0 faults", 0) == 0, "one child, no fault: '" + lab_how + "'");
    for (size_t k = 0; k < lab.size(); ++k) {
        const V5Record& r = lab[k];
        const std::string at = "lab item " + std::to_string(k) + ": ";
        // Skipped: 2 and 4 (asked), 1 (fmnist conv1 backward-data: C = 1, the fp32 small-channel kernel).
        if (k == 1 || k == 2 || k == 4) {
            expect(!r.done, at + "not run");
            continue;
        }
        expect(r.done && r.problem.empty(), at + "a row " + r.problem);
        expect(r.lab.layer == items[k].layer->name && r.lab.pass == kPassNames[items[k].pass], at + "its layer and pass");
        expect(r.lab.sweep.size() == 2 && r.lab.sweep[1].model && r.lab.sweep[1].ms == 1.0 + double(k) / 8 &&
                   r.lab.implied_tile_us == 1.5 + double(k) && r.lab.check == "ok",
               at + "its fields");
    }
    std::printf("selftest: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}

/// --profile-v6: one version-6 pass of `layer` through the library's
/// launcher, twice; a refusal (no sm_90a code, not a 9.0 GPU) exits 2 with its reason.
int profile_v6(const ConvLayer& layer, const std::string& pass_name) {
    const sk::Conv2dShape s = layer.shape(layer.N);
    const auto v6 = sk::Tf32Version::v6_wgmma;
    const int pass = pass_name == "forward" ? 0 : pass_name == "backward-data" ? 1 : pass_name == "backward-weight" ? 2 : -1;
    if (pass < 0) {
        std::fprintf(stderr, "bench_conv_pool_cuda: --profile-v6: no pass '%s' (forward, backward-data, backward-weight)\n",
                     pass_name.c_str());
        return 2;
    }
    const size_t nx = size_t(s.N * s.C * s.H * s.W), nw = size_t(s.O * s.C * 9), ny = size_t(s.N * s.O * s.OH * s.OW);
    DeviceArray<float> x(pattern(nx, 11)), w(pattern(nw, 12)), dy(pattern(ny, 13)), y(ny), dx(nx), dw(nw);
    const size_t bytes = tf32_pass_workspace_bytes(s, pass, v6);
    DeviceArray<char> ws(bytes);
    for (int run = 0; run < 2; ++run) {
        const cudaError_t status = run_tf32_pass(s, pass, v6, x.ptr, w.ptr, dy.ptr, y.ptr, dx.ptr, dw.ptr, ws.ptr, bytes, nullptr);
        if (status != cudaSuccess) {
            std::fprintf(stderr, "bench_conv_pool_cuda: --profile-v6: %s %s: %s\n", layer.name, pass_name.c_str(),
                         cudaGetErrorString(status));
            return 2;
        }
        CUDA_OK(cudaDeviceSynchronize());
    }
    std::printf("bench_conv_pool_cuda --profile-v6: %s %s ran twice (TF32 version 6)\n", layer.name, pass_name.c_str());
    return 0;
}

/// --profile-v5: one version-5 pass of `layer` (staging, then the GEMM at the model's split), twice:
/// the profiler skips the first launch.
int profile_v5(const ConvLayer& layer, const std::string& pass_name) {
    const sk::Conv2dShape s = layer.shape(layer.N);
    if (!v5::fits(s)) {
        std::fprintf(stderr, "bench_conv_pool_cuda: --profile-v5: %s is past version 5's limits\n", layer.name);
        return 2;
    }
    const size_t nx = size_t(s.N * s.C * s.H * s.W), nw = size_t(s.O * s.C * 9), ny = size_t(s.N * s.O * s.OH * s.OW);
    DeviceArray<float> x(pattern(nx, 11)), w(pattern(nw, 12)), dy(pattern(ny, 13)), y(ny), dx(nx), dw(nw);
    for (const V5Pass& pass : v5_passes(s, x.ptr, w.ptr, dy.ptr, y.ptr, dx.ptr, dw.ptr, nullptr, nullptr, nullptr, nullptr)) {
        if (pass_name != pass.name) continue;
        const v5::WorkspaceLayout l = pass.layout(0);
        DeviceArray<char> ws(l.bytes);
        for (int run = 0; run < 2; ++run) {
            CUDA_OK(pass.stage(l, ws.ptr));
            CUDA_OK(pass.gemm(l, ws.ptr));
            CUDA_OK(cudaDeviceSynchronize());
        }
        std::printf("bench_conv_pool_cuda --profile-v5: %s %s ran twice (TF32 version 5, %d slice%s)\n", layer.name,
                    pass.name, l.plan.slices, l.plan.slices == 1 ? "" : "s");
        return 0;
    }
    return 2;  // main checked the pass name
}

void print_lab(const std::vector<LabRow>& rows) {
    std::printf("| layer | pass | staging ms | model S | model GEMM ms | best S | best GEMM ms | model/best | GEMM TFLOP/s (best) "
                "| implied t_tile µs | check | sweep: S = measured / predicted ms |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    std::vector<double> tiles;
    int near = 0, counted = 0;
    for (const LabRow& r : rows) {
        const LabPoint *model = r.model(), *best = r.best();
        std::string sweep;
        for (const LabPoint& p : r.sweep) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%s%d%s = %.3f / %.3f", sweep.empty() ? "" : "; ", p.slices, p.model ? " (model)" : "",
                          p.ms, p.predicted_ms);
            sweep += buf;
        }
        auto f3 = [](double v) {
            char buf[32];
            std::snprintf(buf, sizeof buf, std::isnan(v) ? "n/a" : "%.3f", v);
            return std::string(buf);
        };
        std::printf("| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.layer.c_str(), r.pass.c_str(),
                    f3(r.staging_ms).c_str(), r.model_slices, model ? f3(model->ms).c_str() : "n/a",
                    best ? std::to_string(best->slices).c_str() : "n/a", best ? f3(best->ms).c_str() : "n/a",
                    model && best ? f3(model->ms / best->ms).c_str() : "n/a",
                    best ? f3(r.flops / (best->ms * 1e9)).c_str() : "n/a", f3(r.implied_tile_us).c_str(), r.check.c_str(),
                    sweep.c_str());
        if (!std::isnan(r.implied_tile_us)) tiles.push_back(r.implied_tile_us);
        if (model && best) ++counted, near += model->ms <= 1.1 * best->ms;
    }
    if (!tiles.empty()) {
        std::sort(tiles.begin(), tiles.end());
        std::printf("\nImplied t_tile (µs per wave of 128x128x32 K-tiles, from each unsplit GEMM): median %.3f, range %.3f - %.3f, "
                    "over %zu passes (SplitModel assumes %.3f). The model's split is within 10%% of the sweep's best on %d of "
                    "%d passes.\n",
                    tiles[tiles.size() / 2], tiles.front(), tiles.back(), tiles.size(),
                    1e6 * sk::conv2d_tf32_nhwc::SplitModel::kSecondsPerWaveTile, near, counted);
    }
}

/// The issue's floor for the TF32 variant: at most 2x cuDNN's time at the same algorithm (cuDNN's
/// GEMM column) and precision, on every timed pass. One line per version; for version 5 a second
/// line from the lab: its staging plus its GEMM at the best split the sweep found, where the lab ran
/// the pass (else the table's figure) — what calibrating SplitModel alone could reach.
void print_floor(const std::vector<ConvRow>& rows, const std::vector<LabRow>& lab) {
    auto line = [&](const char* name, const std::function<double(const ConvRow&)>& seam_ms) {
        double worst = 0;
        std::string where;
        int compared = 0, missing = 0;
        for (const ConvRow& r : rows) {
            const double t = seam_ms(r), peer = r.gemm_t.median_ms;
            if (std::isnan(t) || std::isnan(peer) || peer <= 0) { ++missing; continue; }
            ++compared;
            const double q = t / peer;
            if (q > worst) worst = q, where = r.layer + " " + r.pass;
        }
        if (compared == 0) {
            std::printf("- %s: not compared (no timing beside cuDNN's GEMM)\n", name);
            return;
        }
        std::printf("- %s: worst %.2fx cuDNN TF32 GEMM (%s) over %d passes%s: floor (<= 2x) %s\n", name, worst, where.c_str(),
                    compared, missing ? (", " + std::to_string(missing) + " without a figure").c_str() : "",
                    worst <= 2.0 && missing == 0 ? "MET" : "NOT met");
    };
    std::printf("\n## TF32 floor (issue 3: conv at most 2x cuDNN's time at the same algorithm and precision)\n\n");
    line("TF32 version 4, two blocks an SM (the launchers' default; the ops run version 6 on a 9.0 GPU)", [](const ConvRow& r) { return r.seam_t.median_ms; });
    line("TF32 version 5 (staging included)", [](const ConvRow& r) { return r.v5_t.median_ms; });
    line("TF32 version 6 (wgmma; staging included; backward-weight below 256 output channels a group is version 5's kernel)",
         [](const ConvRow& r) { return r.v6_t.median_ms; });
    if (lab.empty()) return;
    line("TF32 version 5 at the lab's best split (staging + GEMM timed apart; not what the library runs until "
         "SplitModel is calibrated)",
         [&](const ConvRow& r) {
             for (const LabRow& l : lab)
                 if (l.layer == r.layer && l.pass == r.pass && l.best() && !std::isnan(l.staging_ms))
                     return l.staging_ms + l.best()->ms;
             return r.v5_t.median_ms;
         });
}

}  // namespace

int main(int argc, char** argv) {
    int reps = 5;
    bool skip_vgg = false, skip_lab = false;
    std::string profile_layer, profile_pass;  // --profile-v5 LAYER PASS (or --profile-v6)
    int profile_version = 5;
    std::string child_mode;                   // --v5-child MODE FROM (run by run_v5_items, not by hand)
    size_t child_from = 0;
    std::vector<int> child_skip;              // --v5-skip K,K,...
    // Line-buffered: when a time limit kills the program, the tables printed so far are kept (and a
    // child's records reach its parent as they are made).
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    const auto started = LabClock::now();
    double time_budget = 0;  // seconds; the lab stops starting items past it (0: no limit)
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
        else if (std::strcmp(argv[i], "--skip-vgg") == 0) skip_vgg = true;
        else if (std::strcmp(argv[i], "--skip-lab") == 0) skip_lab = true;
        else if (std::strcmp(argv[i], "--time-budget") == 0 && i + 1 < argc) time_budget = std::atof(argv[++i]);
        else if ((std::strcmp(argv[i], "--profile-v5") == 0 || std::strcmp(argv[i], "--profile-v6") == 0) && i + 2 < argc)
            profile_version = std::strcmp(argv[i], "--profile-v6") == 0 ? 6 : 5, profile_layer = argv[i + 1], profile_pass = argv[i + 2], i += 2;
        else if (std::strcmp(argv[i], "--v5-child") == 0 && i + 2 < argc &&
                 (std::strcmp(argv[i + 1], "tables") == 0 || std::strcmp(argv[i + 1], "lab") == 0))
            child_mode = argv[i + 1], child_from = size_t(std::max(0, std::atoi(argv[i + 2]))), i += 2;
        else if (std::strcmp(argv[i], "--v5-fake") == 0) g_children.fake = true;
        else if (std::strcmp(argv[i], "--selftest-children") == 0) return selftest_children();
        else if (std::strcmp(argv[i], "--v5-skip") == 0 && i + 1 < argc) {
            for (const char* c = argv[++i]; *c;) {  // K,K,...: item numbers
                char* end = nullptr;
                const long k = std::strtol(c, &end, 10);
                if (end == c || k < 0 || (*end != ',' && *end != '\0')) {
                    std::fprintf(stderr, "bench_conv_pool_cuda: --v5-skip takes item numbers K,K,..., not '%s'\n", argv[i]);
                    return 2;
                }
                child_skip.push_back(int(k));
                c = *end == ',' ? end + 1 : end;
            }
        } else {
            std::fprintf(stderr, "usage: %s [--reps N] [--skip-vgg] [--skip-lab] [--time-budget SECONDS] | --profile-v5 LAYER "
                                 "forward|backward-data|backward-weight | --profile-v6 LAYER forward|backward-data|backward-weight\n", argv[0]);
            return 2;
        }
    }
    if (time_budget > 0)
        g_deadline = started + std::chrono::duration_cast<LabClock::duration>(std::chrono::duration<double>(time_budget));
    if (!profile_layer.empty() && profile_pass != "forward" && profile_pass != "backward-data" &&
        profile_pass != "backward-weight") {
        std::fprintf(stderr, "bench_conv_pool_cuda: --profile-v5: the pass is forward, backward-data or backward-weight, not '%s'\n",
                     profile_pass.c_str());
        return 2;
    }
    if (!child_mode.empty() && g_children.fake) return v5_child_main(child_mode, child_from, child_skip, reps, skip_vgg, g_deadline, {});
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::printf("bench_conv_pool_cuda: no usable GPU, not run\n");
        return 77;
    }
    cudaDeviceProp prop{};
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    if (!child_mode.empty()) return v5_child_main(child_mode, child_from, child_skip, reps, skip_vgg, g_deadline, prop);
    if (cublasCreate(&g_cublas) != CUBLAS_STATUS_SUCCESS) {  // the Winograd convolution's batched products
        std::fprintf(stderr, "bench_conv_pool_cuda: cuBLAS could not be initialised\n");
        return 1;
    }
    std::printf("# Convolution and pooling on the GPU: seam's CUDA kernels vs cuDNN\n\n");
    std::printf("- device: %s (sm_%d%d, %d SMs, L2 %d MiB)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                prop.l2CacheSize >> 20);
    // seam's TF32 kernels need TF32 tensor cores (their launchers refuse below compute capability 8.0).
    const bool has_tf32 = prop.major >= 8;
    std::printf("- TF32 tables: %s\n", has_tf32 ? "yes (seam's TF32 kernels vs cuDNN with CUDNN_TENSOR_OP_MATH)"
                                                 : "no (compute capability below 8.0: no TF32 tensor cores)");
#if SEAM_BENCH_CUDNN
    std::printf("- cuDNN: %zu (headers %d.%d.%d), FMA math (no TF32) in the fp32 tables, CUDNN_TENSOR_OP_MATH in the TF32 "
                "tables\n", cudnnGetVersion(), CUDNN_MAJOR, CUDNN_MINOR,
                CUDNN_PATCHLEVEL);
    cudnnHandle_t cudnn;
    CUDNN_OK(cudnnCreate(&cudnn));
#else
    std::printf("- cuDNN: not compiled in (no cudnn.h found at build time): seam only\n");
#endif

    const std::vector<ConvLayer>& vgg = vgg_layers();
    const std::vector<ConvLayer>& fmnist = fmnist_layers();
    struct PoolInput {
        const char* name;
        int64_t N, C, H, W;
    };
    const std::vector<PoolInput> pools = {
        {"vgg pool1", 32, 64, 224, 224}, {"vgg pool2", 32, 128, 112, 112}, {"vgg pool3", 32, 256, 56, 56},
        {"vgg pool4", 32, 512, 28, 28},  {"vgg pool5", 32, 512, 14, 14},  {"fmnist pool1", 128, 32, 28, 28},
        {"fmnist pool2", 128, 64, 14, 14}};

    if (!profile_layer.empty()) {
        for (const auto* list : {&vgg, &fmnist})
            for (const ConvLayer& l : *list)
                if (profile_layer == l.name) return profile_version == 6 ? profile_v6(l, profile_pass) : profile_v5(l, profile_pass);
        std::fprintf(stderr, "bench_conv_pool_cuda: --profile-v5: no layer named '%s' (names as in the tables, e.g. "
                             "\"vgg conv3_2\", \"fmnist conv2\")\n", profile_layer.c_str());
        return 2;
    }

    // 1. Validation, before any timing.
    for (const ConvLayer& l : fmnist)
        if (!validate_conv(l, has_tf32)) return 1;
    if (!skip_vgg)
        for (const ConvLayer& l : vgg)
            if (!validate_conv(l, has_tf32)) return 1;
    for (const PoolInput& p : pools)
        for (bool average : {false, true})
            for (sk::Pool2dVersion version : {sk::Pool2dVersion::v1, sk::Pool2dVersion::v2})
                if (!validate_pool(std::min<int64_t>(p.C, 32), p.H, p.W, average, version)) return 1;
    std::printf("- validated at batch 2 before timing: every timed conv shape against the %s (forward, backward-data, "
                "backward-weight within 1e-4 of the largest value; TF32 versions 3 and 4 against seam's fp32 result within "
                "10*2^-11 of the largest value), every pooling shape (channels capped at 32; pooling versions 1 and 2) "
                "against the CPU op (outputs and indices bit for bit, gradients within 1e-4)\n",
                SEAM_BENCH_CPU_OP ? "CPU op (ops/conv.hpp)" : "naive CPU reference (channels <= 16, map <= 32x32)");

    // 2. Timing.
    Timer timer;
    set_up_timer(timer, prop, reps);
    if (cublasSetStream(g_cublas, timer.stream) != CUBLAS_STATUS_SUCCESS) {
        std::fprintf(stderr, "bench_conv_pool_cuda: cublasSetStream failed\n");
        return 1;
    }
    const cudaStream_t stream = timer.stream;
    std::printf("- timing: cudaEvents, median of %d samples after 1 warm-up; L2 flushed (%zu MiB written) before each "
                "sample; float32. Ratios: seam time / cuDNN time (below 1: seam faster)\n",
                reps, timer.flush_bytes >> 20);
    {  // device-to-device copy bandwidth, the yardstick of the pooling kernels
        const size_t bytes = size_t(512) << 20;
        DeviceArray<char> a(bytes), b(bytes);
        const Timing t = timer.time([&] { CUDA_OK(cudaMemcpyAsync(b.ptr, a.ptr, bytes, cudaMemcpyDeviceToDevice, stream)); });
        std::printf("- device-to-device copy: %.0f GB/s (512 MiB read + written, median)\n",
                    2.0 * double(bytes) / (t.median_ms * 1e6));
    }

    // TF32 versions 5 and 6, checked at the timed sizes and timed for the TF32 tables' v5 and v6
    // columns first, in child processes (see run_v5_items): a fault in one costs its own figures only.
    const bool with_v6 = has_tf32 && v6_runs_here();
    std::printf("- TF32 version 6 (wgmma): %s\n", with_v6 ? "runs here (compute capability 9.0, sm_90a code)"
                                                         : "cannot run here (it needs compute capability 9.0 and sm_90a code): "
                                                           "not timed");
    const std::vector<V5Item> table_items = v5_items(skip_vgg, with_v6), items = v5_items(skip_vgg);
    std::vector<V5Record> v5_table;  // by table item number
    int v5_problems = 0;
    {
        g_children.self_exe = this_program(argv[0]), g_children.reps = reps, g_children.skip_vgg = skip_vgg;
        int mode = cudaComputeModeDefault;
        CUDA_OK(cudaDeviceGetAttribute(&mode, cudaDevAttrComputeMode, 0));
        if (mode != cudaComputeModeDefault) {  // a second process could not open the GPU beside this one
            g_children.usable = false;
            std::printf("- the GPU is not in the default compute mode (mode %d): version 5 runs in this process\n", mode);
        }
    }
    if (has_tf32) {
        const std::string how = run_v5_items("tables", table_items, v5_table, {}, timer, LabClock::time_point::max());
        int timed = 0;
        for (const V5Record& r : v5_table) timed += r.done && r.problem.empty(), v5_problems += !r.problem.empty();
        std::printf("- TF32 versions 5 and 6 (the TF32 tables' v5 and v6 columns): each pass run by the library's launcher at the "
                    "timed size, "
                    "its output NaN-filled and checked on the device against seam's fp32 result (within 10*2^-11 of the largest "
                    "value), then timed; %s: %d passes timed, %d with a problem%s\n",
                    how.c_str(), timed, v5_problems, v5_problems ? ":" : "");
        for (size_t k = 0; k < v5_table.size(); ++k)
            if (!v5_table[k].problem.empty())
                std::printf("  - **%s %s, version %d**: %s\n", table_items[k].layer->name, kPassNames[table_items[k].pass],
                            table_items[k].version, v5_table[k].problem.c_str());
    }
    std::printf("\n");
    auto v5_time = [&](const ConvLayer& l, int pass, int version = 5) {
        for (size_t k = 0; k < v5_table.size(); ++k)
            if (table_items[k].layer == &l && table_items[k].pass == pass && table_items[k].version == version &&
                v5_table[k].done && v5_table[k].problem.empty())
                return v5_table[k].t;
        return Timing{};
    };

    auto bench_layers = [&](const std::vector<ConvLayer>& layers, bool with_direct, std::vector<ConvRow>& tf32_rows) {
        std::vector<ConvRow> rows;
        for (const ConvLayer& l : layers) {
            const sk::Conv2dShape s = l.shape(l.N);
            const size_t nx = size_t(s.N * s.C * s.H * s.W), nw = size_t(s.O * s.C * 9), ny = size_t(s.N * s.O * s.OH * s.OW);
            DeviceArray<float> x(pattern(nx, 11)), w(pattern(nw, 12)), dy(pattern(ny, 13));
            DeviceArray<float> y(ny), dx(nx), dw(nw);
            const auto v2 = sk::ConvAlgo::implicit_gemm;
            const sk::Conv2dTuning first_tuning = sk::Conv2dTuning::first_timed();  // version 2 as first timed
            const size_t fwd_bytes = sk::conv2d_forward_workspace_bytes<float>(s, v2);
            const size_t data_bytes = sk::conv2d_backward_data_workspace_bytes<float>(s, v2);
            const size_t ws_bytes = std::max(sk::conv2d_backward_weight_workspace_bytes<float>(s, v2),
                                             sk::conv2d_backward_weight_workspace_bytes<float>(s, v2, first_tuning));
            DeviceArray<char> fwd_ws(fwd_bytes), data_ws(data_bytes), ws(ws_bytes);
            ConvRow f{l.name, "forward"}, d{l.name, "backward-data"}, g{l.name, "backward-weight"};
            f.flops = d.flops = g.flops = l.flops();
            f.seam_t = timer.time([&] {
                CUDA_OK(sk::conv2d_forward<float>(x.ptr, w.ptr, nullptr, y.ptr, s, v2, stream, fwd_ws.ptr, fwd_bytes));
            });
            d.seam_t = timer.time([&] {
                CUDA_OK(sk::conv2d_backward_data<float>(w.ptr, dy.ptr, dx.ptr, s, v2, stream, data_ws.ptr, data_bytes));
            });
            g.seam_t = timer.time(
                [&] { CUDA_OK(sk::conv2d_backward_weight<float>(x.ptr, dy.ptr, dw.ptr, s, v2, ws.ptr, ws_bytes, stream)); });
            if (sk::winograd_applicable(s)) {  // seam's Winograd F(2x2, 3x3), beside the implicit GEMM
                size_t bytes = 0;
                for (auto pass : {sk::WinogradPass::forward, sk::WinogradPass::backward_data, sk::WinogradPass::backward_weight})
                    bytes = std::max(bytes, sk::winograd_workspace_bytes<float>(s, pass));
                DeviceArray<char> wino_ws(bytes);
                void* wp = wino_ws.ptr;
                f.wino_t = timer.time([&] { CUDA_OK(sk::winograd_forward<float>(g_cublas, x.ptr, w.ptr, nullptr, y.ptr, s, wp, stream)); });
                d.wino_t = timer.time([&] { CUDA_OK(sk::winograd_backward_data<float>(g_cublas, w.ptr, dy.ptr, dx.ptr, s, wp, stream)); });
                g.wino_t =
                    timer.time([&] { CUDA_OK(sk::winograd_backward_weight<float>(g_cublas, x.ptr, dy.ptr, dw.ptr, s, wp, stream)); });
            }
            f.first_t = timer.time([&] {
                CUDA_OK(sk::conv2d_forward<float>(x.ptr, w.ptr, nullptr, y.ptr, s, v2, stream, nullptr, 0, first_tuning));
            });
            d.first_t = timer.time([&] {
                CUDA_OK(sk::conv2d_backward_data<float>(w.ptr, dy.ptr, dx.ptr, s, v2, stream, nullptr, 0, first_tuning));
            });
            g.first_t = timer.time([&] {
                CUDA_OK(sk::conv2d_backward_weight<float>(x.ptr, dy.ptr, dw.ptr, s, v2, ws.ptr, ws_bytes, stream, first_tuning));
            });
            if (with_direct) {
                const auto v1 = sk::ConvAlgo::direct;
                f.direct_t = timer.time([&] { CUDA_OK(sk::conv2d_forward<float>(x.ptr, w.ptr, nullptr, y.ptr, s, v1, stream)); });
                d.direct_t = timer.time([&] { CUDA_OK(sk::conv2d_backward_data<float>(w.ptr, dy.ptr, dx.ptr, s, v1, stream)); });
                g.direct_t = timer.time(
                    [&] { CUDA_OK(sk::conv2d_backward_weight<float>(x.ptr, dy.ptr, dw.ptr, s, v1, nullptr, 0, stream)); });
            }
            f.agree = d.agree = g.agree = "-";
            f.fastest_name = d.fastest_name = g.fastest_name = "-";
#if SEAM_BENCH_CUDNN
            CudnnConv c(cudnn, s, stream);
            DeviceArray<float> y_ref(ny);
            c.choose(x.ptr, w.ptr, y_ref.ptr, dy.ptr, dx.ptr, dw.ptr);
            if (c.fwd_gemm_ok)
                f.gemm_t = timer.time([&] { c.forward(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, x.ptr, w.ptr, y_ref.ptr); });
            f.fastest_t = timer.time([&] { c.forward(c.fwd_fastest, x.ptr, w.ptr, y_ref.ptr); });
            if (c.data_gemm_ok)
                d.gemm_t = timer.time([&] { c.backward_data(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, w.ptr, dy.ptr, dx.ptr); });
            d.fastest_t = timer.time([&] { c.backward_data(c.data_fastest, w.ptr, dy.ptr, dx.ptr); });
            if (c.filter_gemm_ok)
                g.gemm_t = timer.time([&] { c.backward_filter(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, x.ptr, dy.ptr, dw.ptr); });
            g.fastest_t = timer.time([&] { c.backward_filter(c.filter_fastest, x.ptr, dy.ptr, dw.ptr); });
            f.fastest_name = "fwd algo " + std::to_string(int(c.fwd_fastest));
            d.fastest_name = "bwd-data algo " + std::to_string(int(c.data_fastest));
            g.fastest_name = "bwd-filter algo " + std::to_string(int(c.filter_fastest));
            // Same inputs, same output: seam's forward against cuDNN's (a check on the cuDNN setup too).
            CUDA_OK(sk::conv2d_forward<float>(x.ptr, w.ptr, nullptr, y.ptr, s, v2, stream, fwd_ws.ptr, fwd_bytes));
            c.forward(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, x.ptr, w.ptr, y_ref.ptr);
            CUDA_OK(cudaStreamSynchronize(stream));
            const double r = worst_ratio(y.download(), y_ref.download());
            f.agree = r <= 1 ? "yes" : "NO";
            if (r > 1) std::fprintf(stderr, "%s: seam's forward differs from cuDNN's (%.3g x tolerance)\n", l.name, r);
#endif
            rows.push_back(f), rows.push_back(d), rows.push_back(g);
            if (!has_tf32) continue;

            // TF32: seam's versions 4 (seam_t: two blocks an SM, the launchers' default; direct_t: one) and 3 (first_t) against
            // cuDNN at the same precision (TF32 allowed).
            ConvRow tf{l.name, "forward"}, td{l.name, "backward-data"}, tg{l.name, "backward-weight"};
            tf.flops = td.flops = tg.flops = l.flops();
            auto time_tf32 = [&](sk::Tf32Version version, Timing ConvRow::*slot) {
                Tf32Workspaces ws(s, version);
                tf.*slot = timer.time([&] {
                    CUDA_OK(sk::conv2d_forward_tf32(x.ptr, w.ptr, nullptr, y.ptr, s, ws.forward.ptr, ws.forward_bytes, stream, version));
                });
                td.*slot = timer.time([&] {
                    CUDA_OK(sk::conv2d_backward_data_tf32(w.ptr, dy.ptr, dx.ptr, s, ws.data.ptr, ws.data_bytes, stream, version));
                });
                tg.*slot = timer.time([&] {
                    CUDA_OK(sk::conv2d_backward_weight_tf32(x.ptr, dy.ptr, dw.ptr, s, ws.weight.ptr, ws.weight_bytes, stream, version));
                });
            };
            time_tf32(sk::Tf32Version::v4_mma_two_blocks, &ConvRow::seam_t);  // the launchers' default
            time_tf32(sk::Tf32Version::v4_mma, &ConvRow::direct_t);
            time_tf32(sk::Tf32Version::v3_wmma, &ConvRow::first_t);
            tf.v5_t = v5_time(l, 0), td.v5_t = v5_time(l, 1), tg.v5_t = v5_time(l, 2);  // timed above, in a child
            // Version 6. Where backward-data is the fp32 small-channel kernel for both (C/groups <= 4),
            // version 5's figure.
            tf.v6_t = v5_time(l, 0, 6), tg.v6_t = v5_time(l, 2, 6);
            td.v6_t = with_v6 && s.Cg() <= 4 ? td.v5_t : v5_time(l, 1, 6);
            tf.agree = td.agree = tg.agree = "-";
            tf.fastest_name = td.fastest_name = tg.fastest_name = "-";
#if SEAM_BENCH_CUDNN
            {
                CudnnConv t(cudnn, s, stream, CUDNN_TENSOR_OP_MATH);
                DeviceArray<float> y_ref(ny);
                t.choose(x.ptr, w.ptr, y_ref.ptr, dy.ptr, dx.ptr, dw.ptr);
                if (t.fwd_gemm_ok)
                    tf.gemm_t = timer.time([&] { t.forward(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, x.ptr, w.ptr, y_ref.ptr); });
                tf.fastest_t = timer.time([&] { t.forward(t.fwd_fastest, x.ptr, w.ptr, y_ref.ptr); });
                if (t.data_gemm_ok)
                    td.gemm_t = timer.time([&] { t.backward_data(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, w.ptr, dy.ptr, dx.ptr); });
                td.fastest_t = timer.time([&] { t.backward_data(t.data_fastest, w.ptr, dy.ptr, dx.ptr); });
                if (t.filter_gemm_ok)
                    tg.gemm_t =
                        timer.time([&] { t.backward_filter(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, x.ptr, dy.ptr, dw.ptr); });
                tg.fastest_t = timer.time([&] { t.backward_filter(t.filter_fastest, x.ptr, dy.ptr, dw.ptr); });
                auto math = [](cudnnMathType_t m) { return m == CUDNN_DEFAULT_MATH || m == CUDNN_FMA_MATH ? " (fp32 FMA)" : " (tensor op)"; };
                tf.fastest_name = "fwd algo " + std::to_string(int(t.fwd_fastest)) + math(t.fwd_fastest_math);
                td.fastest_name = "bwd-data algo " + std::to_string(int(t.data_fastest)) + math(t.data_fastest_math);
                tg.fastest_name = "bwd-filter algo " + std::to_string(int(t.filter_fastest)) + math(t.filter_fastest_math);
                // seam's TF32 forward against cuDNN's TF32 IMPLICIT_GEMM forward (both off fp32 by TF32 rounding).
                CUDA_OK(sk::conv2d_forward_tf32(x.ptr, w.ptr, nullptr, y.ptr, s, stream));
                t.forward(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, x.ptr, w.ptr, y_ref.ptr);
                CUDA_OK(cudaStreamSynchronize(stream));
                const double r = worst_ratio(y.download(), y_ref.download(), kTf32Tolerance);
                tf.agree = r <= 1 ? "yes" : "NO";
                if (r > 1) std::fprintf(stderr, "%s: seam's TF32 forward differs from cuDNN's (%.3g x tolerance)\n", l.name, r);
            }
#endif
            tf32_rows.push_back(tf), tf32_rows.push_back(td), tf32_rows.push_back(tg);
        }
        return rows;
    };
    auto print_tf32 = [&](const char* title, const std::vector<ConvRow>& tf32_rows) {
        if (!has_tf32) return;
        std::printf("\n### %s, TF32 (seam version 4 at two blocks an SM, the launchers' default, vs cuDNN with CUDNN_TENSOR_OP_MATH; "
                    "version 4 at one block an SM, version 3 and version 5 (staging included) beside it)\n\n", title);
        print_conv_table(tf32_rows, true, "seam TF32 v4 ms", "seam TF32 TFLOP/s", "cuDNN TF32 GEMM ms", "cuDNN TF32 fastest ms",
                         true, "seam TF32 v3 (wmma) ms | v3/v4", "seam TF32 v4 one-block ms", false, true);
    };

    std::vector<ConvRow> all_tf32_rows;  // both networks: the floor's lines
    std::printf("## conv2d, Fashion-MNIST network (batch 128, 28x28 input; 3x3, padding 1)\n\n");
    {
        std::vector<ConvRow> tf32_rows;
        print_conv_table(bench_layers(fmnist, true, tf32_rows), true, "seam v2 ms", "seam TFLOP/s", "cuDNN GEMM ms",
                         "cuDNN fastest ms", true, "seam v2 first-timed ms | first/now", "seam v1 (direct) ms", true);
        print_tf32("conv2d, Fashion-MNIST network", tf32_rows);
        all_tf32_rows.insert(all_tf32_rows.end(), tf32_rows.begin(), tf32_rows.end());
    }
    if (!skip_vgg) {
        std::printf("\n## conv2d, VGG-16 (batch 32, 224x224 input; 3x3, padding 1)\n\n");
        std::vector<ConvRow> tf32_rows;
        print_conv_table(bench_layers(vgg, false, tf32_rows), false, "seam v2 ms", "seam TFLOP/s", "cuDNN GEMM ms",
                         "cuDNN fastest ms", true, "seam v2 first-timed ms | first/now", "seam v1 (direct) ms", true);
        print_tf32("conv2d, VGG-16", tf32_rows);
        all_tf32_rows.insert(all_tf32_rows.end(), tf32_rows.begin(), tf32_rows.end());
    }
    bool lab_ok = true;
    std::vector<LabRow> lab_rows;  // also the floor's last line
    if (has_tf32 && !skip_lab) {
        std::printf("\n## TF32 version 5 lab: staging and GEMM timed apart, the split-K sweep\n\n"
                    "Each pass's staging kernels alone, then its GEMM (plus the summing kernel when split) on the staged "
                    "operands at every split it may take (S slices; \"(model)\": SplitModel's own choice), each run checked "
                    "against seam's fp32 result within 10*2^-11 of the largest value before it is timed. predicted: "
                    "SplitModel's time for that split. implied t_tile: the tile time that makes the model's unsplit "
                    "prediction equal the measured unsplit GEMM.\n\n");
        // Not again: passes that faulted (a hang would cost the idle limit twice) or were not reached.
        std::vector<int> faulted;
        for (size_t k = 0; k < items.size(); ++k)  // the version-5 items: the tables' first items.size()
            if (!v5_table[k].done || v5_table[k].problem.rfind("FAULT", 0) == 0) faulted.push_back(int(k));
        std::vector<V5Record> lab;
        const std::string how = run_v5_items("lab", items, lab, faulted, timer, g_deadline);
        for (size_t k = 0; k < lab.size(); ++k) {
            if (lab[k].problem.empty() && lab[k].done) {
                lab_rows.push_back(lab[k].lab);
                lab_ok = lab_ok && lab[k].lab.check == "ok";
            } else if (!lab[k].problem.empty()) {  // the child died inside it: a row that says so
                LabRow r{items[k].layer->name, kPassNames[items[k].pass]};
                r.check = lab[k].problem;
                lab_rows.push_back(r), lab_ok = false;
            }
        }
        print_lab(lab_rows);
        std::printf("\n(The lab ran %s%s.)\n", how.c_str(),
                    faulted.empty() ? "" : "; the passes that faulted in the tables, or were not reached there, were not run");
    } else if (has_tf32) {
        std::printf("\n## TF32 version 5 lab: not run (--skip-lab)\n");
    }
    if (has_tf32) print_floor(all_tf32_rows, lab_rows);
    std::printf("\n(cuDNN GEMM: IMPLICIT_GEMM for the forward, ALGO_1 for backward-data and backward-filter; algorithm "
                "numbers are cuDNN's enum values. agree: seam's forward equals cuDNN's within 1e-4 of the largest value; in "
                "the TF32 tables, seam's TF32 forward equals cuDNN's TF32 IMPLICIT_GEMM forward within 10*2^-11 of the "
                "largest value. \"tensor op\" / \"fp32 FMA\": the math cudnnFind reported for the fastest algorithm.)\n");

    // Pooling.
    std::printf("\n## Pooling 2x2 stride 2 (max: forward writes values and int64 indices; backward from the indices)\n\n");
    std::printf("| input | op | v1 fwd ms | v2 fwd ms | v2 fwd GB/s | cuDNN fwd ms | v2/cuDNN fwd | v1 bwd ms | v2 bwd ms | "
                "v2 bwd GB/s | cuDNN bwd ms | v2/cuDNN bwd | same-size copy fwd / bwd ms | v2 %% of same-size copy fwd / bwd "
                "|\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    double worst_same_size = INFINITY;
    std::string worst_same_size_at;
    for (const PoolInput& p : pools)
        for (bool average : {false, true}) {
            sk::Pool2dShape s;
            s.N = p.N, s.C = p.C, s.H = p.H, s.W = p.W, s.OH = p.H / 2, s.OW = p.W / 2, s.kh = s.kw = s.sh = s.sw = 2;
            const size_t nx = size_t(s.N * s.C * s.H * s.W), ny = size_t(s.N * s.C * s.OH * s.OW);
            DeviceArray<float> x(pattern(nx, 21)), y(ny), dy(pattern(ny, 22)), dx(nx);
            DeviceArray<int64_t> ix(average ? 1 : ny);
            Timing fwd[2], bwd[2], cf, cb;  // [0]: version 1, [1]: version 2
            for (int v = 0; v < 2; ++v) {
                const sk::Pool2dVersion version = v == 0 ? sk::Pool2dVersion::v1 : sk::Pool2dVersion::v2;
                if (average) {
                    fwd[v] = timer.time(
                        [&] { CUDA_OK(sk::avg_pool2d_forward<float>(x.ptr, y.ptr, s, {}, stream, version)); });
                    bwd[v] = timer.time(
                        [&] { CUDA_OK(sk::avg_pool2d_backward<float>(dy.ptr, dx.ptr, s, {}, stream, version)); });
                } else {
                    fwd[v] = timer.time(
                        [&] { CUDA_OK(sk::max_pool2d_forward<float>(x.ptr, y.ptr, ix.ptr, s, stream, version)); });
                    bwd[v] = timer.time(
                        [&] { CUDA_OK(sk::max_pool2d_backward<float>(dy.ptr, ix.ptr, dx.ptr, s, stream, version)); });
                }
            }
            // Bytes each kernel must move at least: read x (+ write y, + indices); read dy (+ indices), write dx.
            const double fwd_bytes = 4.0 * double(nx + ny) + (average ? 0.0 : 8.0 * double(ny));
            const double bwd_bytes = 4.0 * double(nx + ny) + (average ? 0.0 : 8.0 * double(ny));
            // The yardstick at this size: a device-to-device copy moving the same bytes (reading half,
            // writing half). A 10-µs tensor's time is mostly launch and ramp-up, for a copy as for pooling,
            // so the 512 MiB copy's bandwidth understates what is reachable there.
            auto same_size_copy = [&](double bytes) {
                const size_t half = static_cast<size_t>(bytes / 2);
                DeviceArray<char> from(half), to(half);
                return timer.time([&] { CUDA_OK(cudaMemcpyAsync(to.ptr, from.ptr, half, cudaMemcpyDeviceToDevice, stream)); });
            };
            const Timing copy_fwd = same_size_copy(fwd_bytes), copy_bwd = same_size_copy(bwd_bytes);
            const double pct_fwd = 100.0 * copy_fwd.median_ms / fwd[1].median_ms, pct_bwd = 100.0 * copy_bwd.median_ms / bwd[1].median_ms;
            if (std::min(pct_fwd, pct_bwd) < worst_same_size)
                worst_same_size = std::min(pct_fwd, pct_bwd),
                worst_same_size_at = std::string(p.name) + (average ? " avg " : " max ") + (pct_fwd <= pct_bwd ? "forward" : "backward");
#if SEAM_BENCH_CUDNN
            cudnnPoolingDescriptor_t pd;
            cudnnTensorDescriptor_t xd, yd;
            CUDNN_OK(cudnnCreatePoolingDescriptor(&pd));
            CUDNN_OK(cudnnSetPooling2dDescriptor(pd, average ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING : CUDNN_POOLING_MAX,
                                                 CUDNN_NOT_PROPAGATE_NAN, 2, 2, 0, 0, 2, 2));
            CUDNN_OK(cudnnCreateTensorDescriptor(&xd));
            CUDNN_OK(cudnnCreateTensorDescriptor(&yd));
            CUDNN_OK(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(s.N), int(s.C), int(s.H), int(s.W)));
            CUDNN_OK(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(s.N), int(s.C), int(s.OH), int(s.OW)));
            CUDNN_OK(cudnnSetStream(cudnn, stream));
            DeviceArray<float> y2(ny);
            const float one = 1, zero = 0;
            cf = timer.time([&] { CUDNN_OK(cudnnPoolingForward(cudnn, pd, &one, xd, x.ptr, &zero, yd, y2.ptr)); });
            cb = timer.time([&] {
                CUDNN_OK(cudnnPoolingBackward(cudnn, pd, &one, yd, y2.ptr, yd, dy.ptr, xd, x.ptr, &zero, xd, dx.ptr));
            });
            cudnnDestroyTensorDescriptor(yd);
            cudnnDestroyTensorDescriptor(xd);
            cudnnDestroyPoolingDescriptor(pd);
#endif
            std::printf("| %s [%lld, %lld, %lld, %lld] | %s | %s | %s | %.0f | %s | %s | %s | %s | %.0f | %s | %s | %s / %s | %.0f%% / %.0f%% |\n",
                        p.name, (long long)s.N, (long long)s.C, (long long)s.H, (long long)s.W, average ? "avg" : "max",
                        ms(fwd[0]).c_str(), ms(fwd[1]).c_str(), fwd_bytes / (fwd[1].median_ms * 1e6), ms(cf).c_str(),
                        ratio(fwd[1], cf).c_str(), ms(bwd[0]).c_str(), ms(bwd[1]).c_str(),
                        bwd_bytes / (bwd[1].median_ms * 1e6), ms(cb).c_str(), ratio(bwd[1], cb).c_str(), ms(copy_fwd).c_str(),
                        ms(copy_bwd).c_str(), pct_fwd, pct_bwd);
        }
    std::printf("\n(GB/s: the bytes each kernel must move at least, over its median time. Same-size copy: cudaMemcpyAsync "
                "device to device of half those bytes, which reads and writes them all; %% of same-size copy = copy time / "
                "pooling time. Lowest: %.0f%% (%s).)\n",
                worst_same_size, worst_same_size_at.c_str());
#if SEAM_BENCH_CUDNN
    cudnnDestroy(cudnn);
#endif
    CUDA_OK(cudaStreamDestroy(timer.stream));
    CUDA_OK(cudaFree(timer.flush));
    if (!lab_ok) std::fprintf(stderr, "bench_conv_pool_cuda: a version-5 lab run failed its check (see the lab table)\n");
    if (v5_problems)
        std::fprintf(stderr, "bench_conv_pool_cuda: TF32 version 5 or 6 failed on %d timed pass%s (see the lines before the tables)\n",
                     v5_problems, v5_problems == 1 ? "" : "es");
    return lab_ok && v5_problems == 0 ? 0 : 1;
}
