// kernels/seam/conv2d.cuh — CUDA 2-D convolution (NCHW, cross-correlation, zero padding, stride,
// dilation, groups, bias): forward, backward-data, backward-weight and the bias gradient. Raw
// device pointers and a shape struct: no Tensor, no Eigen, no other seam header, so bench/ and
// other projects can include it alone. It compiles only under nvcc.
//
// What it computes (the definitions of include/seam/ops/conv.hpp and cpu/reference/conv.hpp):
//   forward          y[n,o,oh,ow]  = b[o] + Σ_{c<C/g, ki, kj} x[n, g·C/g + c, oh·sh - ph + ki·dh,
//                                                              ow·sw - pw + kj·dw] · w[o, c, ki, kj]
//   backward-data    dx[n,c,h,w]   = Σ over the (o, ki, kj) of c's group whose tap lands on (h, w)
//                                    of w[o, c', ki, kj] · dy[n, o, oh, ow]
//   backward-weight  dw[o,c,ki,kj] = Σ_{n, oh, ow} dy[n,o,oh,ow] · x[n, g·C/g + c, ih, iw]
//   backward-bias    db[o]         = Σ_{n, oh, ow} dy[n,o,oh,ow]
// (g = the group of o; taps outside the input are zero.)
//
// Layouts (contiguous, row-major): x, dx [N, C, H, W]; w, dw [O, C/groups, KH, KW];
// y, dy [N, O, OH, OW]; b, db [O].
//
// Versions, selected by ConvAlgo (the op uses cuda::conv_algorithm(), default implicit_gemm):
//   1 direct         One thread per OUTPUT element of each pass (y, dx, dw), summing its terms
//                    straight from the definition in double. Backward-data and backward-weight are
//                    gathers (no atomics). For study, and as the GPU-side oracle of version 2:
//                    it shares no index arithmetic with it. Slow by design: backward-weight gives
//                    one thread N·OH·OW terms.
//   2 implicit_gemm  Each pass is a GEMM whose operands are gathered from the tensors on the fly
//                    (no im2col buffer), one group per blockIdx.z:
//                      forward          Y[o, q]  = Σ_k W[o, k] · X̂[k, q]    q = (n, oh, ow), k = (c, ki, kj)
//                      backward-data    dX[c, p] = Σ_k Ŵ[c, k] · dŶ[k, p]   p = (n, h, w),   k = (o, ki, kj)
//                      backward-weight  dW[o, k] = Σ_q dY[o, q] · X̂[k, q]   (split over q, see below)
//                    Block tile BM x 128 (BM = 64 or 128 by the GEMM's M) x BK = 8, 256 threads as
//                    16 x 16, each computing (BM/16) x 8 outputs in registers from two 4-wide
//                    sub-blocks (so shared-memory reads are 16-byte vectors without bank
//                    conflicts), fp32 accumulation for float. Shared memory is double-buffered:
//                    the next K-tile is gathered from global memory into registers while the
//                    current one is multiplied, then stored to the other buffer (one
//                    __syncthreads per K-tile). Each thread's B column (and A row) is resolved
//                    once per block; inside the K loop a gathered element costs two 32-bit
//                    divisions. Backward-data runs the adjoint gather: for stride s > 1, all but
//                    1/s² of its terms are zeros that it still multiplies (a known waste).
//                    Backward-weight has a short M·N and a long K (N·OH·OW: 1.6 M for VGG conv1
//                    at batch 32), so K is split into S slices (S from the shape only; the plan
//                    is described under "tuning" below): slice s writes its partial
//                    dW into a workspace, and a second kernel adds the S partials in order, in
//                    double. Deterministic: no atomics anywhere, the same bits on every run and GPU.
//                    double runs the same kernels with 64 x 128 tiles and double accumulation.
//   3 implicit_gemm_tf32  The same three GEMMs on the tensor cores in TF32 (fp32 accumulation),
//                    for float only, opt-in: kernels/seam/conv2d_tf32.cuh (the launchers and the
//                    wmma kernel, which reuses the problem structs below) and conv2d_tf32_mma.cuh
//                    (the mma.sync + cp.async kernel, the default TF32 version).
//   backward-bias    one block per channel, a fixed-order tree reduction in double.
//   Version 2's tuning (Conv2dTuning; the defaults are on, Conv2dTuning::first_timed() is version
//   2 as first timed), added after the first H100 run, from its figures:
//     split-K for all three GEMMs, planned by a time model of a 132-SM GPU from the shape alone
//                    (conv2d_detail::plan_split_k): the forward and backward-data of small grids
//                    (Fashion-MNIST conv3: 49 blocks) and backward-weight counted with the tile
//                    rows that actually run (the first plan counted 64-row tiles for 128-row ones
//                    and gave VGG conv4/conv5 288 blocks: one wave of 264 plus a tail). Partials go
//                    to a workspace and are summed in slice order, in double (the forward adds the
//                    bias there), so results stay deterministic. Without a workspace the forward and
//                    backward-data run unsplit.
//     small-channel backward-data: C/groups ≤ 4 (first layers: C = 1 or 3, where a 64-row tile
//                    had 1 or 3 useful rows) by a direct gather, weights in shared memory.
//     fixed 3x3:     the forward and backward-data problems instantiated for KH = KW = 3, so the
//                    gathers' divisions by taps and KW (two or three per gathered element, ~20
//                    instructions each for a runtime divisor) become multiply-and-shift.
//     gather runs:   backward-weight's B gather (k = q, a pixel index) divides once per thread and
//                    K-tile, then steps through the thread's consecutive q (b_run), where it
//                    divided twice per element.
// Speed on an NVIDIA H100 (bench/results/gpu-h100-2026-11-27-conv-pool.md, version 2 untuned,
// fp32, seam time / cuDNN time at cuDNN's GEMM algorithm): forward 0.87-1.5 on VGG-16 (1.52 on
// conv5: 196 blocks), 1.2-2.2 on Fashion-MNIST (conv3: 2.19, 49 blocks); backward-data 1.2-1.6
// on VGG except conv1_1 (2.70, C = 3) and 2.0-3.9 on Fashion-MNIST (conv1, C = 1: 3.94);
// backward-weight 0.3-1.5 except VGG conv4/conv5 (2.1-2.2). Against cuDNN's fastest algorithm
// (WINOGRAD_NONFUSED on most VGG layers, fp32 math) 1.2-13x slower.
// Speed of the tuned version 2 on an NVIDIA H200 (bench/results/gpu-h200-2026-11-27-conv-pool.md,
// same table; the first-timed version in the same run): tuned/first-timed time 0.42-0.94 (forward
// 1.07-2.40x faster, backward-data 1.44-5.91x, backward-weight 1.21-1.94x). Against cuDNN's GEMM
// algorithm: VGG-16 forward 0.66-1.04, backward-data 0.47-1.11, backward-weight 0.36-1.24;
// Fashion-MNIST forward 0.92-1.15, backward-data 1.05-1.43, backward-weight 0.20-0.30 — inside the
// issue's floor (at most 2x) on every shape, and at or below 1 on most. Against cuDNN's fastest
// (Winograd, fp32) VGG-16 stays 1.5-5.1x slower: the remaining gap is the algorithm, not the GEMM.
// Weak spots left: the two divisions per gathered element, the stride-s waste of backward-data.
//
// Limits of version 2: per group, M, N and K of every GEMM and the elements of one image must be
// below 2^31 (32-bit index arithmetic inside the K loop); the launcher returns
// cudaErrorInvalidValue otherwise (the direct version has no such limit).
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

/// #pragma unroll in device code only (host compilers warn about the unknown pragma).
#if defined(__CUDA_ARCH__)
#define SEAM_CONV_UNROLL _Pragma("unroll")
#else
#define SEAM_CONV_UNROLL
#endif

namespace seam::kernels {

enum class ConvAlgo : int { direct = 1, implicit_gemm = 2 };

/// One convolution's sizes. Weight [O, C/groups, KH, KW]; OH, OW must follow the usual formula
/// floor((H + 2p - d(k-1) - 1) / s) + 1 (checked by the launchers).
struct Conv2dShape {
    int64_t N = 0, C = 0, H = 0, W = 0;
    int64_t O = 0, KH = 1, KW = 1;
    int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
    int64_t OH = 0, OW = 0;

    __host__ __device__ int64_t Cg() const { return C / groups; }
    __host__ __device__ int64_t Og() const { return O / groups; }
    __host__ __device__ int64_t taps() const { return KH * KW; }
    __host__ __device__ int64_t out_pixels() const { return OH * OW; }
    __host__ __device__ int64_t in_pixels() const { return H * W; }
};

namespace conv2d_detail {

constexpr int kThreads = 256;

inline int blocks_for(int64_t work) {
    const int64_t blocks = (work + kThreads - 1) / kThreads;
    return static_cast<int>(blocks < (int64_t{1} << 20) ? blocks : (int64_t{1} << 20));
}

inline int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

inline bool valid(const Conv2dShape& s) {
    if (s.N < 0 || s.C < 0 || s.H <= 0 || s.W <= 0 || s.O < 0 || s.KH <= 0 || s.KW <= 0) return false;
    if (s.sh <= 0 || s.sw <= 0 || s.ph < 0 || s.pw < 0 || s.dh <= 0 || s.dw <= 0 || s.groups <= 0) return false;
    if (s.C % s.groups != 0 || s.O % s.groups != 0) return false;
    if (s.H + 2 * s.ph < s.dh * (s.KH - 1) + 1 || s.W + 2 * s.pw < s.dw * (s.KW - 1) + 1) return false;
    return s.OH == out_size(s.H, s.KH, s.sh, s.ph, s.dh) && s.OW == out_size(s.W, s.KW, s.sw, s.pw, s.dw);
}

}  // namespace conv2d_detail

// ===== version 1: direct (one thread per output element, double accumulation) ===================

template <class T>
__global__ void conv2d_forward_direct_kernel(const T* __restrict__ x, const T* __restrict__ w,
                                             const T* __restrict__ bias, T* __restrict__ y, Conv2dShape s) {
    const int64_t total = s.N * s.O * s.OH * s.OW, Cg = s.Cg(), Og = s.Og();
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t ow = i % s.OW, oh = (i / s.OW) % s.OH, o = (i / (s.OW * s.OH)) % s.O, n = i / (s.OW * s.OH * s.O);
        const int64_t g = o / Og;
        double acc = bias ? static_cast<double>(bias[o]) : 0.0;
        for (int64_t c = 0; c < Cg; ++c) {
            const T* plane = x + (n * s.C + g * Cg + c) * s.H * s.W;
            const T* kernel = w + (o * Cg + c) * s.KH * s.KW;
            for (int64_t ki = 0; ki < s.KH; ++ki) {
                const int64_t ih = oh * s.sh - s.ph + ki * s.dh;
                if (ih < 0 || ih >= s.H) continue;
                for (int64_t kj = 0; kj < s.KW; ++kj) {
                    const int64_t iw = ow * s.sw - s.pw + kj * s.dw;
                    if (iw < 0 || iw >= s.W) continue;
                    acc += static_cast<double>(plane[ih * s.W + iw]) * static_cast<double>(kernel[ki * s.KW + kj]);
                }
            }
        }
        y[i] = static_cast<T>(acc);
    }
}

/// Gather: input cell (h, w) receives tap (ki, kj) of output (oh, ow) iff h = oh·sh - ph + ki·dh.
template <class T>
__global__ void conv2d_backward_data_direct_kernel(const T* __restrict__ w, const T* __restrict__ dy,
                                                   T* __restrict__ dx, Conv2dShape s) {
    const int64_t total = s.N * s.C * s.H * s.W, Cg = s.Cg(), Og = s.Og();
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t iw = i % s.W, ih = (i / s.W) % s.H, ci = (i / (s.W * s.H)) % s.C, n = i / (s.W * s.H * s.C);
        const int64_t g = ci / Cg, c = ci % Cg;
        double acc = 0.0;
        for (int64_t o = g * Og; o < (g + 1) * Og; ++o) {
            const T* grad = dy + (n * s.O + o) * s.OH * s.OW;
            const T* kernel = w + (o * Cg + c) * s.KH * s.KW;
            for (int64_t ki = 0; ki < s.KH; ++ki) {
                const int64_t th = ih + s.ph - ki * s.dh;
                if (th < 0 || th % s.sh != 0 || th / s.sh >= s.OH) continue;
                for (int64_t kj = 0; kj < s.KW; ++kj) {
                    const int64_t tw = iw + s.pw - kj * s.dw;
                    if (tw < 0 || tw % s.sw != 0 || tw / s.sw >= s.OW) continue;
                    acc += static_cast<double>(kernel[ki * s.KW + kj]) *
                           static_cast<double>(grad[(th / s.sh) * s.OW + tw / s.sw]);
                }
            }
        }
        dx[i] = static_cast<T>(acc);
    }
}

template <class T>
__global__ void conv2d_backward_weight_direct_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                                     T* __restrict__ dw, Conv2dShape s) {
    const int64_t Cg = s.Cg(), Og = s.Og(), total = s.O * Cg * s.KH * s.KW;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t kj = i % s.KW, ki = (i / s.KW) % s.KH, c = (i / (s.KW * s.KH)) % Cg, o = i / (s.KW * s.KH * Cg);
        const int64_t g = o / Og;
        double acc = 0.0;
        for (int64_t n = 0; n < s.N; ++n) {
            const T* plane = x + (n * s.C + g * Cg + c) * s.H * s.W;
            const T* grad = dy + (n * s.O + o) * s.OH * s.OW;
            for (int64_t oh = 0; oh < s.OH; ++oh) {
                const int64_t ih = oh * s.sh - s.ph + ki * s.dh;
                if (ih < 0 || ih >= s.H) continue;
                for (int64_t ow = 0; ow < s.OW; ++ow) {
                    const int64_t iw = ow * s.sw - s.pw + kj * s.dw;
                    if (iw < 0 || iw >= s.W) continue;
                    acc += static_cast<double>(grad[oh * s.OW + ow]) * static_cast<double>(plane[ih * s.W + iw]);
                }
            }
        }
        dw[i] = static_cast<T>(acc);
    }
}

/// db[o] = Σ dy[n, o, :, :]: one block per channel (grid-stride over channels), a fixed-order tree.
template <class T>
__global__ void conv2d_backward_bias_kernel(const T* __restrict__ dy, T* __restrict__ db, Conv2dShape s) {
    __shared__ double partial[conv2d_detail::kThreads];
    const int64_t P = s.OH * s.OW, per_channel = s.N * P;
    for (int64_t o = blockIdx.x; o < s.O; o += gridDim.x) {
        double acc = 0.0;
        for (int64_t k = threadIdx.x; k < per_channel; k += blockDim.x) {
            const int64_t n = k / P, p = k % P;
            acc += static_cast<double>(dy[(n * s.O + o) * P + p]);
        }
        partial[threadIdx.x] = acc;
        __syncthreads();
        for (int stride = conv2d_detail::kThreads / 2; stride > 0; stride /= 2) {
            if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
            __syncthreads();
        }
        if (threadIdx.x == 0) db[o] = static_cast<T>(partial[0]);
        __syncthreads();  // partial[] is rewritten for the next channel of this block
    }
}

// ===== version 2: implicit GEMM with shared-memory tiling ========================================

namespace conv2d_detail {

constexpr int kBK = 8;  // K-tile depth

/// Block tile BM x BN, 256 threads as 16 x 16; thread (ty, tx) owns rows si·64 + ty·4 + i and
/// columns sj·64 + tx·4 + j (i, j < 4; si < BM/64, sj < BN/64).
template <int BM, int BN>
struct Tile {
    static_assert(BM % 64 == 0 && BN % 64 == 0, "tiles are made of 64-wide sub-blocks");
    static constexpr int SM = BM / 64, SN = BN / 64;  // 4-wide sub-blocks per thread, rows / columns
    static constexpr int TM = 4 * SM, TN = 4 * SN;    // outputs per thread, rows / columns
    static constexpr int A_PER = BM * kBK / kThreads;  // A elements a thread gathers per K-tile
    static constexpr int B_PER = BN * kBK / kThreads;
    static constexpr int A_ROW_THREADS = kBK / A_PER;  // threads sharing one A row of a K-tile
    static_assert(A_PER >= 1 && B_PER >= 1 && kBK % A_PER == 0, "tile and thread counts do not fit");
};

template <class T>
struct Accumulator {
    using type = T;  // fp32 for float (as cuDNN's fp32 algorithms), double for double
};

/// A read through the read-only data cache on the GPU; a plain read in host code (the problem
/// structs below are host-callable so that tests/cuda/test_cuda_kernel_logic.cu can run their
/// index arithmetic on the CPU).
template <class T>
__host__ __device__ inline T read_only(const T* p) {
#if defined(__CUDA_ARCH__)
    return __ldg(p);
#else
    return *p;
#endif
}

/// Four consecutive shared-memory values (16-byte aligned) into registers.
__device__ inline void load4(const float* p, float* r) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    r[0] = v.x, r[1] = v.y, r[2] = v.z, r[3] = v.w;
}
__device__ inline void load4(const double* p, double* r) {
    const double2 a = *reinterpret_cast<const double2*>(p), b = *reinterpret_cast<const double2*>(p + 2);
    r[0] = a.x, r[1] = a.y, r[2] = b.x, r[3] = b.y;
}

/// The 32-bit sizes the K loop divides by (the launcher checks that everything fits).
struct Dims {
    int C, H, W, O, KH, KW, sh, sw, ph, pw, dh, dw, Cg, Og, OH, OW;
    int taps;        // KH·KW
    int in_pixels;   // H·W
    int out_pixels;  // OH·OW
};

inline Dims dims_of(const Conv2dShape& s) {
    Dims d;
    d.C = int(s.C), d.H = int(s.H), d.W = int(s.W), d.O = int(s.O), d.KH = int(s.KH), d.KW = int(s.KW);
    d.sh = int(s.sh), d.sw = int(s.sw), d.ph = int(s.ph), d.pw = int(s.pw), d.dh = int(s.dh), d.dw = int(s.dw);
    d.Cg = int(s.Cg()), d.Og = int(s.Og()), d.OH = int(s.OH), d.OW = int(s.OW);
    d.taps = int(s.KH * s.KW), d.in_pixels = int(s.H * s.W), d.out_pixels = int(s.OH * s.OW);
    return d;
}

// ----- the three GEMM problems: how A and B are gathered and where C goes ----------------------
// Each problem gives M, N, K (per group), and:
//   a_row(g, m) / a(row, k):  A[m, k], row resolved once per thread (k < K is the kernel's check)
//   b_col(g, n) / b(col, k):  B[k, n], column resolved once per thread
//   c_col(g, slice, n) / c_store(col, m, v): where C[m, n] goes (n < N and m < M checked by the kernel)

/// The kernel size the gathers divide by: a compile-time constant when a problem is instantiated
/// for it (FixedKH, FixedKW > 0, e.g. 3x3: the divisions by taps and KW become multiply-and-shift),
/// else read from the launch's Dims.
template <int FixedKH, int FixedKW>
struct KernelSize {
    __host__ __device__ static int kh(const Dims& d) {
        if constexpr (FixedKH > 0) return FixedKH;
        else return d.KH;
    }
    __host__ __device__ static int kw(const Dims& d) {
        if constexpr (FixedKW > 0) return FixedKW;
        else return d.KW;
    }
    __host__ __device__ static int taps(const Dims& d) {
        if constexpr (FixedKH > 0 && FixedKW > 0) return FixedKH * FixedKW;
        else return d.taps;
    }
};

/// Forward: A = w_g [Og, Cg·taps] (rows contiguous), B = the implicit im2col of x [Cg·taps, N·OH·OW].
/// FixedKH, FixedKW > 0: instantiated for that kernel size (it must equal d.KH, d.KW).
template <class T, int FixedKH = 0, int FixedKW = 0>
struct ForwardProblem {
    const T* x;
    const T* w;
    const T* bias;  // may be null
    T* y;
    Dims d;
    int M, N, K;

    __host__ __device__ int kw() const { return KernelSize<FixedKH, FixedKW>::kw(d); }
    __host__ __device__ int taps() const { return KernelSize<FixedKH, FixedKW>::taps(d); }

    struct Row {
        const T* p;
        bool valid;
    };
    struct Col {
        const T* base;  // x at (n, g·Cg, 0, 0)
        int ih0, iw0;
        bool valid;
    };
    struct Out {
        T* p;  // y at (n, g·Og, oh, ow); row m at p[m·OH·OW]
        const T* bias;
    };

    __host__ __device__ Row a_row(int g, int m) const {
        return {w + (int64_t(g) * d.Og + (m < M ? m : 0)) * int64_t(K), m < M};
    }
    __host__ __device__ T a(const Row& r, int k) const { return r.valid ? read_only(r.p + k) : T(0); }

    __host__ __device__ Col b_col(int g, int n) const {
        if (n >= N) return {x, 0, 0, false};
        const int img = n / d.out_pixels, pix = n - img * d.out_pixels;
        const int oh = pix / d.OW, ow = pix - oh * d.OW;
        return {x + (int64_t(img) * d.C + int64_t(g) * d.Cg) * d.in_pixels, oh * d.sh - d.ph, ow * d.sw - d.pw, true};
    }
    __host__ __device__ T b(const Col& c, int k) const {
        if (!c.valid) return T(0);
        const int ch = k / taps(), tap = k - ch * taps();
        const int ki = tap / kw(), kj = tap - ki * kw();
        const int ih = c.ih0 + ki * d.dh, iw = c.iw0 + kj * d.dw;
        if (unsigned(ih) >= unsigned(d.H) || unsigned(iw) >= unsigned(d.W)) return T(0);
        return read_only(c.base + int64_t(ch) * d.in_pixels + ih * d.W + iw);
    }

    /// Slice s > 0 of a split K writes its partial y into the workspace `y` points at, one whole
    /// [N, O, OH, OW] per slice (the bias is then null: sum_slices_bias adds it once).
    __host__ __device__ Out c_col(int g, int slice, int n) const {
        const int img = n / d.out_pixels, pix = n - img * d.out_pixels;
        return {y + int64_t(slice) * d.O * int64_t(N) + (int64_t(img) * d.O + int64_t(g) * d.Og) * d.out_pixels + pix,
                bias ? bias + int64_t(g) * d.Og : nullptr};
    }
    template <class Acc>
    __host__ __device__ void c_store(const Out& o, int m, Acc v) const {
        o.p[int64_t(m) * d.out_pixels] = static_cast<T>(o.bias ? v + static_cast<Acc>(o.bias[m]) : v);
    }
};

/// Backward-data: A[c, (o, tap)] = w[g·Og + o, c, tap], B[(o, tap), (n, h, w)] = dy at the output
/// whose tap lands on (h, w) (0 where none does), C = dx_g [Cg, N·H·W]. FixedKH, FixedKW: as for
/// ForwardProblem.
template <class T, int FixedKH = 0, int FixedKW = 0>
struct BackwardDataProblem {
    const T* w;
    const T* dy;
    T* dx;
    Dims d;
    int M, N, K;

    __host__ __device__ int kw() const { return KernelSize<FixedKH, FixedKW>::kw(d); }
    __host__ __device__ int taps() const { return KernelSize<FixedKH, FixedKW>::taps(d); }

    struct Row {
        const T* p;  // w at (g·Og, c, 0, 0)
        bool valid;
    };
    struct Col {
        const T* base;  // dy at (n, g·Og, 0, 0)
        int th, tw;     // h + ph, w + pw
        bool valid;
    };
    struct Out {
        T* p;  // dx at (n, g·Cg, h, w); row m at p[m·H·W]
    };

    __host__ __device__ Row a_row(int g, int m) const {
        return {w + (int64_t(g) * d.Og * d.Cg + (m < M ? m : 0)) * d.taps, m < M};
    }
    __host__ __device__ T a(const Row& r, int k) const {
        if (!r.valid) return T(0);
        const int o = k / taps(), tap = k - o * taps();
        return read_only(r.p + int64_t(o) * d.Cg * taps() + tap);
    }

    __host__ __device__ Col b_col(int g, int n) const {
        if (n >= N) return {dy, 0, 0, false};
        const int img = n / d.in_pixels, pix = n - img * d.in_pixels;
        const int h = pix / d.W, w_ = pix - h * d.W;
        return {dy + (int64_t(img) * d.O + int64_t(g) * d.Og) * d.out_pixels, h + d.ph, w_ + d.pw, true};
    }
    __host__ __device__ T b(const Col& c, int k) const {
        if (!c.valid) return T(0);
        const int o = k / taps(), tap = k - o * taps();
        const int ki = tap / kw(), kj = tap - ki * kw();
        int oh = c.th - ki * d.dh, ow = c.tw - kj * d.dw;
        if (oh < 0 || ow < 0) return T(0);
        if (d.sh != 1) {
            if (oh % d.sh != 0) return T(0);
            oh /= d.sh;
        }
        if (d.sw != 1) {
            if (ow % d.sw != 0) return T(0);
            ow /= d.sw;
        }
        if (oh >= d.OH || ow >= d.OW) return T(0);
        return read_only(c.base + int64_t(o) * d.out_pixels + oh * d.OW + ow);
    }

    /// Slice s of a split K writes its partial dx at dx + s·(N·C·H·W) (dx is then the workspace).
    __host__ __device__ Out c_col(int g, int slice, int n) const {
        const int img = n / d.in_pixels, pix = n - img * d.in_pixels;
        return {dx + int64_t(slice) * d.C * int64_t(N) + (int64_t(img) * d.C + int64_t(g) * d.Cg) * d.in_pixels + pix};
    }
    template <class Acc>
    __host__ __device__ void c_store(const Out& o, int m, Acc v) const {
        o.p[int64_t(m) * d.in_pixels] = static_cast<T>(v);
    }
};

/// Backward-weight: A[o, q] = dy[n, g·Og + o, oh, ow] with q = (n, oh, ow), B[q, (c, tap)] = the
/// implicit im2col of x transposed, C = dw_g [Og, Cg·taps]; slice s of K writes to out + s·O·Cg·taps.
/// Runs: provide b_run (Conv2dTuning::gather_runs); without it the kernel gathers element by
/// element through b(), as first timed.
template <class T, bool Runs = true>
struct BackwardWeightProblem {
    const T* x;
    const T* dy;
    T* out;  // dw itself (one slice) or the workspace of partials
    Dims d;
    int M, N, K;

    struct Row {
        const T* p;  // dy at (0, g·Og + o, 0, 0)
        bool valid;
    };
    struct Col {
        const T* base;   // x at (0, g·Cg + c, 0, 0)
        int hoff, woff;  // ki·dh - ph, kj·dw - pw
        bool valid;
    };
    struct Out {
        T* p;  // dw (of the slice) at (g·Og, c, ki, kj); row m at p[m·Cg·taps]
    };

    __host__ __device__ Row a_row(int g, int m) const {
        return {dy + (int64_t(g) * d.Og + (m < M ? m : 0)) * d.out_pixels, m < M};
    }
    __host__ __device__ T a(const Row& r, int q) const {
        if (!r.valid) return T(0);
        const int img = q / d.out_pixels, pix = q - img * d.out_pixels;
        return read_only(r.p + int64_t(img) * d.O * d.out_pixels + pix);
    }

    __host__ __device__ Col b_col(int g, int n) const {
        if (n >= N) return {x, 0, 0, false};
        const int ch = n / d.taps, tap = n - ch * d.taps;
        const int ki = tap / d.KW, kj = tap - ki * d.KW;
        return {x + (int64_t(g) * d.Cg + ch) * d.in_pixels, ki * d.dh - d.ph, kj * d.dw - d.pw, true};
    }
    __host__ __device__ T b(const Col& c, int q) const {
        if (!c.valid) return T(0);
        const int img = q / d.out_pixels, pix = q - img * d.out_pixels;
        const int oh = pix / d.OW, ow = pix - oh * d.OW;
        const int ih = oh * d.sh + c.hoff, iw = ow * d.sw + c.woff;
        if (unsigned(ih) >= unsigned(d.H) || unsigned(iw) >= unsigned(d.W)) return T(0);
        return read_only(c.base + int64_t(img) * d.C * d.in_pixels + ih * d.W + iw);
    }

    /// out[e] = b(c, q + e) for e < R (0 from k_end on): two divisions for the run, then the output
    /// position (oh, ow) steps along its row, to the next row, to the next image.
    template <int R>
        requires Runs
    __host__ __device__ void b_run(const Col& c, int q, int k_end, T (&out)[R]) const {
        const int img = q / d.out_pixels, pix = q - img * d.out_pixels;
        int oh = pix / d.OW, ow = pix - oh * d.OW;
        const T* base = c.base + int64_t(img) * d.C * d.in_pixels;
SEAM_CONV_UNROLL
        for (int e = 0; e < R; ++e) {
            const int ih = oh * d.sh + c.hoff, iw = ow * d.sw + c.woff;
            const bool inside = unsigned(ih) < unsigned(d.H) && unsigned(iw) < unsigned(d.W);
            out[e] = c.valid && q + e < k_end && inside ? read_only(base + ih * d.W + iw) : T(0);
            if (++ow == d.OW) {
                ow = 0;
                if (++oh == d.OH) oh = 0, base += int64_t(d.C) * d.in_pixels;
            }
        }
    }

    __host__ __device__ Out c_col(int g, int slice, int n) const {
        const int64_t per_slice = int64_t(d.O) * N;  // N = Cg·taps: one whole dw per slice
        return {out + slice * per_slice + int64_t(g) * d.Og * N + n};
    }
    template <class Acc>
    __host__ __device__ void c_store(const Out& o, int m, Acc v) const {
        o.p[int64_t(m) * N] = static_cast<T>(v);
    }
};

/// The tiled implicit-GEMM kernel. Grid: x over N tiles, y over M tiles, z = group · slices + slice;
/// slice s covers K range [s·k_slice, min(K, (s+1)·k_slice)), k_slice a multiple of kBK.
template <class T, int BM, int BN, class Problem>
__global__ void __launch_bounds__(kThreads, 2) implicit_gemm_kernel(Problem p, int slices, int k_slice) {
    using Cfg = Tile<BM, BN>;
    using Acc = typename Accumulator<T>::type;
    __shared__ __align__(16) T As[2][kBK][BM];
    __shared__ __align__(16) T Bs[2][kBK][BN];

    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int g = blockIdx.z / slices, slice = blockIdx.z % slices;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int k_begin = slice * k_slice;
    const int k_end = p.K - k_begin < k_slice ? p.K : k_begin + k_slice;

    // What this thread gathers per K-tile: A_PER consecutive k of one A row, B_PER of one B column.
    const int a_m = tid / Cfg::A_ROW_THREADS, a_k = (tid % Cfg::A_ROW_THREADS) * Cfg::A_PER;
    const int b_n = tid % BN, b_k = (tid / BN) * Cfg::B_PER;
    const auto row = p.a_row(g, m0 + a_m);
    const auto col = p.b_col(g, n0 + b_n);
    T a_next[Cfg::A_PER], b_next[Cfg::B_PER];

    // A thread's B elements of a K-tile are consecutive in k: a problem that can step from one to
    // the next without dividing again (b_run: backward-weight's k is a pixel index q) gathers them
    // as one run; the others element by element. (A run for A as well made the 128 x 128 float
    // kernel spill 32 bytes: ptxas, sm_90; A divides once per element, B twice.)
    auto gather = [&](int k0) {
SEAM_CONV_UNROLL
        for (int e = 0; e < Cfg::A_PER; ++e) {
            const int k = k0 + a_k + e;
            a_next[e] = k < k_end ? p.a(row, k) : T(0);
        }
        if constexpr (requires { p.b_run(col, 0, 0, b_next); }) {
            p.b_run(col, k0 + b_k, k_end, b_next);
        } else {
SEAM_CONV_UNROLL
            for (int e = 0; e < Cfg::B_PER; ++e) {
                const int k = k0 + b_k + e;
                b_next[e] = k < k_end ? p.b(col, k) : T(0);
            }
        }
    };
    auto stash = [&](int buf) {
SEAM_CONV_UNROLL
        for (int e = 0; e < Cfg::A_PER; ++e) As[buf][a_k + e][a_m] = a_next[e];
SEAM_CONV_UNROLL
        for (int e = 0; e < Cfg::B_PER; ++e) Bs[buf][b_k + e][b_n] = b_next[e];
    };

    Acc acc[Cfg::TM][Cfg::TN];
SEAM_CONV_UNROLL
    for (int i = 0; i < Cfg::TM; ++i)
SEAM_CONV_UNROLL
        for (int j = 0; j < Cfg::TN; ++j) acc[i][j] = Acc(0);

    if (k_begin < k_end) {  // uniform across the block
        gather(k_begin);
        stash(0);
        __syncthreads();
        int buf = 0;
        for (int k0 = k_begin; k0 < k_end; k0 += kBK) {
            const bool more = k0 + kBK < k_end;  // uniform across the block
            if (more) gather(k0 + kBK);          // global loads in flight during the FMAs below
SEAM_CONV_UNROLL
            for (int kk = 0; kk < kBK; ++kk) {
                T a_frag[Cfg::TM], b_frag[Cfg::TN];
SEAM_CONV_UNROLL
                for (int si = 0; si < Cfg::SM; ++si) load4(&As[buf][kk][si * 64 + ty * 4], a_frag + 4 * si);
SEAM_CONV_UNROLL
                for (int sj = 0; sj < Cfg::SN; ++sj) load4(&Bs[buf][kk][sj * 64 + tx * 4], b_frag + 4 * sj);
SEAM_CONV_UNROLL
                for (int i = 0; i < Cfg::TM; ++i)
SEAM_CONV_UNROLL
                    for (int j = 0; j < Cfg::TN; ++j)
                        acc[i][j] += static_cast<Acc>(a_frag[i]) * static_cast<Acc>(b_frag[j]);
            }
            // The other buffer was last read in the previous iteration, before its closing barrier.
            if (more) stash(buf ^ 1);
            __syncthreads();
            buf ^= 1;
        }
    }

SEAM_CONV_UNROLL
    for (int sj = 0; sj < Cfg::SN; ++sj)
SEAM_CONV_UNROLL
        for (int j = 0; j < 4; ++j) {
            const int n = n0 + sj * 64 + tx * 4 + j;
            if (n >= p.N) continue;
            const auto out = p.c_col(g, slice, n);
SEAM_CONV_UNROLL
            for (int si = 0; si < Cfg::SM; ++si)
SEAM_CONV_UNROLL
                for (int i = 0; i < 4; ++i) {
                    const int m = m0 + si * 64 + ty * 4 + i;
                    if (m < p.M) p.c_store(out, m, acc[4 * si + i][4 * sj + j]);
                }
        }
}

/// y[n, o, p] = bias[o] + Σ_{s < slices} partial[s·count + (n·O + o)·P + p], slices in order, in
/// double (bias 0 when null). Host-callable: the emulation in tests/cuda/test_conv_kernel_logic.cu
/// runs this very function.
template <class T>
__host__ __device__ inline T sum_slices_at(const T* partial, int64_t count, int slices, int64_t i, const T* bias, int o) {
    double sum = 0.0;
    for (int s = 0; s < slices; ++s) sum += static_cast<double>(partial[s * count + i]);
    if (bias) sum += static_cast<double>(bias[o]);
    return static_cast<T>(sum);
}

/// dw[i] = Σ_{s < slices} partial[s·count + i], in slice order, in double.
template <class T>
__global__ void sum_slices_kernel(const T* __restrict__ partial, T* __restrict__ out, int64_t count, int slices) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        out[i] = sum_slices_at<T>(partial, count, slices, i, nullptr, 0);
    }
}

/// How a GEMM's K is split: `slices` ranges of k_slice (shape only, so the result's bits do not
/// depend on the GPU).
struct SlicePlan {
    int slices = 1;
    int k_slice = 0;  // a multiple of kBK
};

/// The forward's split-K epilogue. Grid: x over the P = OH·OW pixels of one plane, y over output
/// channels, z over images (both grid-strided past 65535): the channel of an element comes from
/// the grid, so no thread divides.
template <class T>
__global__ void sum_slices_bias_kernel(const T* __restrict__ partial, const T* __restrict__ bias, T* __restrict__ y,
                                       int64_t count, int slices, int64_t images, int64_t channels, int64_t pixels) {
    const int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    if (p >= pixels) return;
    for (int64_t n = blockIdx.z; n < images; n += gridDim.z)
        for (int64_t o = blockIdx.y; o < channels; o += gridDim.y) {
            const int64_t i = (n * channels + o) * pixels + p;
            y[i] = sum_slices_at(partial, count, slices, i, bias, static_cast<int>(o));
        }
}

/// Launches sum_slices_kernel: out[i] = Σ_s partial[s·count + i] for i < count.
template <class T>
inline cudaError_t sum_slices(const T* partial, T* out, int64_t count, int slices, cudaStream_t stream) {
    sum_slices_kernel<T><<<blocks_for(count), kThreads, 0, stream>>>(partial, out, count, slices);
    return cudaGetLastError();
}

/// Launches sum_slices_bias_kernel for a forward output y [N, O, OH, OW] (bias may be null).
template <class T>
inline cudaError_t sum_forward_slices(const T* partial, const T* bias, T* y, const Conv2dShape& s, int slices,
                                      cudaStream_t stream) {
    const dim3 grid(static_cast<unsigned>((s.OH * s.OW + kThreads - 1) / kThreads),
                    static_cast<unsigned>(s.O < 65535 ? s.O : 65535), static_cast<unsigned>(s.N < 65535 ? s.N : 65535));
    sum_slices_bias_kernel<T><<<grid, kThreads, 0, stream>>>(partial, bias, y, s.N * s.O * s.OH * s.OW, slices, s.N, s.O,
                                                            s.OH * s.OW);
    return cudaGetLastError();
}

// ----- how a GEMM's K is split (split-K), from the shape only -----------------------------------
// A GEMM whose output tiles are too few to fill the GPU (Fashion-MNIST's conv3: 49 blocks of
// 64 x 128 for 132 multiprocessors; VGG conv4/conv5 backward-weight: 288 blocks, one full wave and
// a 24-block second one) runs K in S slices: S times the blocks, each with 1/S of the K loop,
// partials summed in slice order by a second kernel. The plan minimises a time model of one
// H100/H200 — 264 resident blocks (132 SMs x 2 blocks of 256 threads: __launch_bounds__(256, 2)),
// a wave of 128 x 128 x 8 K-tiles in ~2.8 µs (what the first H100 run measured: 25 TFLOP/s), the
// partials written once and read once at ~2.5 TB/s, ~4 µs for the summing launch:
//   time(S) = ceil(blocks·S / 264) · ceil(k_tiles / S) · 2.8 µs · BM/128 + (2S + 1)·|C|·bytes / 2.5 TB/s + 4 µs·[S > 1]
// It depends on the shape alone (not on the GPU it runs on), so the order of additions, and so
// every bit of the result, is the same on every run and every GPU; on GPUs with another
// multiprocessor count the plan is merely less well fitted.
struct SplitModel {
    static constexpr double kResidentBlocks = 264;
    static constexpr double kSecondsPerWaveTile128 = 2.8e-6;
    static constexpr double kBytesPerSecond = 2.5e12;
    static constexpr double kSumLaunchSeconds = 4e-6;
    static constexpr int64_t kMaxSlices = 256;
    static constexpr int64_t kMaxWorkspaceBytes = int64_t{1} << 30;
};

/// The modelled time in seconds of a GEMM of `blocks` output tiles (all groups), `k_tiles` K-tiles
/// deep, split in `slices`, writing `out_elements` elements of `elem_bytes`.
inline double split_time_model(int64_t blocks, int64_t k_tiles, int64_t slices, int64_t out_elements, int64_t elem_bytes,
                               int tile_rows) {
    using M = SplitModel;
    const double waves = static_cast<double>((blocks * slices + int64_t(M::kResidentBlocks) - 1) / int64_t(M::kResidentBlocks));
    const double depth = static_cast<double>((k_tiles + slices - 1) / slices);
    double t = waves * depth * M::kSecondsPerWaveTile128 * tile_rows / 128.0;
    if (slices > 1)
        t += static_cast<double>(2 * slices + 1) * static_cast<double>(out_elements * elem_bytes) / M::kBytesPerSecond +
             M::kSumLaunchSeconds;
    return t;
}

/// The split of K that minimises split_time_model (the fewest slices among equal times), with
/// k_slice a multiple of kBK and no empty slice. `max_slices` bounds grid.z (65535 / groups).
inline SlicePlan plan_split_k(int64_t blocks, int64_t K, int64_t out_elements, int64_t elem_bytes, int tile_rows,
                              int64_t max_slices) {
    using M = SplitModel;
    const int64_t k_tiles = (K + kBK - 1) / kBK;
    if (blocks <= 0 || k_tiles <= 1) return {1, kBK};
    int64_t limit = k_tiles < max_slices ? k_tiles : max_slices;
    if (limit > M::kMaxSlices) limit = M::kMaxSlices;
    const int64_t out_bytes = out_elements * elem_bytes;
    if (out_bytes > 0 && limit > M::kMaxWorkspaceBytes / out_bytes) limit = M::kMaxWorkspaceBytes / out_bytes;
    int64_t best = 1;
    double best_time = split_time_model(blocks, k_tiles, 1, out_elements, elem_bytes, tile_rows);
    for (int64_t slices = 2; slices <= limit; ++slices) {
        const double t = split_time_model(blocks, k_tiles, slices, out_elements, elem_bytes, tile_rows);
        if (t < best_time * (1.0 - 1e-9)) best = slices, best_time = t;
    }
    const int64_t k_slice = (k_tiles + best - 1) / best * kBK;
    return {static_cast<int>((K + k_slice - 1) / k_slice), static_cast<int>(k_slice)};
}

/// Block tile rows of version 2 for a GEMM with M rows: float 128 when M fills them, else 64;
/// double always 64 (half the registers). launch_gemm_for and the split plans agree through this.
inline int gemm_tile_rows(int64_t M, int64_t elem_bytes) { return elem_bytes == 4 && M > 64 ? 128 : 64; }

/// Output tiles of one version-2 GEMM over all groups (BN = 128).
inline int64_t gemm_blocks(int64_t M, int64_t N, int64_t groups, int tile_rows) {
    return ((N + 127) / 128) * ((M + tile_rows - 1) / tile_rows) * groups;
}

inline int64_t max_slices_for(int64_t groups) { return 65535 / (groups > 0 ? groups : 1); }

/// The modelled split of the forward GEMM (M = O/g, N = N·OH·OW, K = C/g·KH·KW).
inline SlicePlan forward_slices(const Conv2dShape& s, int64_t elem_bytes) {
    const int64_t M = s.Og(), N = s.N * s.OH * s.OW, K = s.Cg() * s.KH * s.KW;
    const int rows = gemm_tile_rows(M, elem_bytes);
    return plan_split_k(gemm_blocks(M, N, s.groups, rows), K, s.N * s.O * s.OH * s.OW, elem_bytes, rows,
                        max_slices_for(s.groups));
}

/// The modelled split of the backward-data GEMM (M = C/g, N = N·H·W, K = O/g·KH·KW).
inline SlicePlan backward_data_slices(const Conv2dShape& s, int64_t elem_bytes) {
    const int64_t M = s.Cg(), N = s.N * s.H * s.W, K = s.Og() * s.KH * s.KW;
    const int rows = gemm_tile_rows(M, elem_bytes);
    return plan_split_k(gemm_blocks(M, N, s.groups, rows), K, s.N * s.C * s.H * s.W, elem_bytes, rows,
                        max_slices_for(s.groups));
}

/// The modelled split of the backward-weight GEMM (M = O/g, N = C/g·KH·KW, K = N·OH·OW).
inline SlicePlan backward_weight_slices_modelled(const Conv2dShape& s, int64_t elem_bytes) {
    const int64_t M = s.Og(), N = s.Cg() * s.KH * s.KW, K = s.N * s.OH * s.OW;
    const int rows = gemm_tile_rows(M, elem_bytes);
    return plan_split_k(gemm_blocks(M, N, s.groups, rows), K, s.O * N, elem_bytes, rows, max_slices_for(s.groups));
}

// ----- backward-data for few input channels: a direct gather ------------------------------------
// The implicit GEMM of backward-data has M = C/groups rows; the first layer of a network has 1 or
// 3 (VGG conv1_1: C = 3), so a 64-row block tile computes 3 useful rows of 64 and the first H100
// run measured 2.7x cuDNN's GEMM time there (3.9x for Fashion-MNIST's C = 1). For C/groups ≤ 4
// one thread computes the CG input channels of one input pixel:
//   dx[n, g·CG + c, h, w] = Σ_{o < O/g} Σ_{ki, kj} w[g·O/g + o, c, ki, kj] · dy[n, g·O/g + o, oh, ow]
//   over the taps with h = oh·sh - ph + ki·dh, w = ow·sw - pw + kj·dw (0 ≤ oh < OH, 0 ≤ ow < OW).
// The group's weights sit in shared memory as ws[(o·taps + tap)·CG + c] (every thread of a warp
// reads the same address: a broadcast); neighbouring threads take neighbouring w, so each dy read
// is coalesced. Sums in o, ki, kj order with T accumulation (fp32 for float, as the GEMM).
// Grid: x over blocks of 256 pixels of one H·W plane, y over images (grid-strided past 65535),
// z over groups. Shared memory: O/g·taps·CG·sizeof(T) ≤ 32 KiB (the launcher checks).
constexpr int kSmallChannels = 4;
constexpr int64_t kSmallChannelSharedBytes = 32 * 1024;

/// One input pixel (h, w) of image n, group g: the kernel's per-thread work, host-callable. ws is
/// the group's weights in the layout above; dy_g points at dy[n, g·O/g, 0, 0], dx_g at dx[n, g·CG, 0, 0].
template <class T, int CG>
__host__ __device__ inline void small_channel_backward_data_pixel(const T* ws, const T* dy_g, T* dx_g, const Dims& d,
                                                                  int h, int w) {
    T acc[CG];
    for (int c = 0; c < CG; ++c) acc[c] = T(0);
    for (int o = 0; o < d.Og; ++o) {
        const T* plane = dy_g + int64_t(o) * d.out_pixels;
        const T* wo = ws + int64_t(o) * d.taps * CG;
        for (int ki = 0; ki < d.KH; ++ki) {
            int oh = h + d.ph - ki * d.dh;
            if (oh < 0) break;  // ki grows: oh only falls further
            if (d.sh != 1) {
                if (oh % d.sh != 0) continue;
                oh /= d.sh;
            }
            if (oh >= d.OH) continue;
            const T* row = plane + oh * d.OW;
            for (int kj = 0; kj < d.KW; ++kj) {
                int ow = w + d.pw - kj * d.dw;
                if (ow < 0) break;
                if (d.sw != 1) {
                    if (ow % d.sw != 0) continue;
                    ow /= d.sw;
                }
                if (ow >= d.OW) continue;
                const T v = read_only(row + ow);
                const T* wt = wo + (ki * d.KW + kj) * CG;
                for (int c = 0; c < CG; ++c) acc[c] += wt[c] * v;
            }
        }
    }
    for (int c = 0; c < CG; ++c) dx_g[int64_t(c) * d.in_pixels + h * d.W + w] = acc[c];
}

/// Where shared-memory cell i of group g's weights comes from: ws[(o·taps + tap)·CG + c] =
/// w[g·O/g + o, c, tap]. Host-callable (the emulation stages the weights with it).
template <int CG>
__host__ __device__ inline int64_t small_channel_weight_source(int i, int g, const Dims& d) {
    const int c = i % CG, rest = i / CG, tap = rest % d.taps, o = rest / d.taps;
    return (int64_t(g) * d.Og + o) * CG * d.taps + int64_t(c) * d.taps + tap;
}

template <class T, int CG>
__global__ void __launch_bounds__(kThreads) small_channel_backward_data_kernel(const T* __restrict__ w,
                                                                                const T* __restrict__ dy,
                                                                                T* __restrict__ dx, Dims d, int images) {
    extern __shared__ __align__(16) unsigned char small_channel_shared[];
    T* ws = reinterpret_cast<T*>(small_channel_shared);
    const int g = blockIdx.z;
    const int per_group = d.Og * d.taps * CG;
    for (int i = threadIdx.x; i < per_group; i += blockDim.x) ws[i] = w[small_channel_weight_source<CG>(i, g, d)];
    __syncthreads();
    const int pix = blockIdx.x * blockDim.x + threadIdx.x;
    if (pix >= d.in_pixels) return;
    const int h = pix / d.W, col = pix - h * d.W;
    for (int n = blockIdx.y; n < images; n += gridDim.y)
        small_channel_backward_data_pixel<T, CG>(ws, dy + (int64_t(n) * d.O + int64_t(g) * d.Og) * d.out_pixels,
                                                 dx + (int64_t(n) * d.C + int64_t(g) * CG) * d.in_pixels, d, h, col);
}

/// Whether backward-data of `s` takes the direct small-channel kernel.
template <class T>
inline bool small_channel_backward_data(const Conv2dShape& s) {
    return s.Cg() >= 1 && s.Cg() <= kSmallChannels &&
           s.Og() * s.KH * s.KW * s.Cg() * int64_t(sizeof(T)) <= kSmallChannelSharedBytes && s.groups <= 65535;
}

template <class T, int CG>
inline cudaError_t launch_small_channel_backward_data(const T* w, const T* dy, T* dx, const Conv2dShape& s,
                                                      cudaStream_t stream) {
    const Dims d = dims_of(s);
    const size_t shared = size_t(s.Og() * s.KH * s.KW) * CG * sizeof(T);
    const int64_t images = s.N < 65535 ? s.N : 65535;
    const dim3 grid(static_cast<unsigned>((s.H * s.W + kThreads - 1) / kThreads), static_cast<unsigned>(images),
                    static_cast<unsigned>(s.groups));
    small_channel_backward_data_kernel<T, CG><<<grid, kThreads, shared, stream>>>(w, dy, dx, d, int(s.N));
    return cudaGetLastError();
}

/// Below 2^31 with room for the K loop's k0 + kBK and tile-edge arithmetic.
inline bool fits_int32(int64_t v) { return v >= 0 && v < (int64_t{1} << 31) - 1024; }

/// Version 2's 32-bit limits (see the file comment).
inline bool gemm_fits(const Conv2dShape& s) {
    const int64_t taps = s.KH * s.KW;
    return fits_int32(s.C * s.H * s.W) && fits_int32(s.O * s.OH * s.OW) && fits_int32(s.N * s.OH * s.OW) &&
           fits_int32(s.N * s.H * s.W) && fits_int32(s.Cg() * taps) && fits_int32(s.Og() * taps) &&
           fits_int32(s.O * s.Cg() * taps) && s.groups <= 65535 && (s.H + 2 * s.ph) < (int64_t{1} << 30) &&
           (s.W + 2 * s.pw) < (int64_t{1} << 30) && s.dh * s.KH < (int64_t{1} << 30) && s.dw * s.KW < (int64_t{1} << 30);
}

template <class T, int BM, int BN, class Problem>
inline cudaError_t launch_gemm(const Problem& p, int groups, int slices, int k_slice, cudaStream_t stream) {
    const int64_t grid_n = (int64_t(p.N) + BN - 1) / BN, grid_m = (int64_t(p.M) + BM - 1) / BM;
    if (grid_n == 0 || grid_m == 0) return cudaSuccess;
    if (grid_m > 65535 || int64_t(groups) * slices > 65535) return cudaErrorInvalidConfiguration;
    const dim3 grid(static_cast<unsigned>(grid_n), static_cast<unsigned>(grid_m), static_cast<unsigned>(groups * slices));
    implicit_gemm_kernel<T, BM, BN, Problem><<<grid, kThreads, 0, stream>>>(p, slices, k_slice);
    return cudaGetLastError();
}

/// The block tile gemm_tile_rows picks: float 128 rows when M fills them, else 64; double 64.
template <class T, class Problem>
inline cudaError_t launch_gemm_for(const Problem& p, int groups, int slices, int k_slice, cudaStream_t stream) {
    if constexpr (sizeof(T) == 4) {
        if (gemm_tile_rows(p.M, 4) == 128) return launch_gemm<T, 128, 128>(p, groups, slices, k_slice, stream);
    }
    return launch_gemm<T, 64, 128>(p, groups, slices, k_slice, stream);
}

/// Backward-weight's first split of K (the version first timed on the H100, kept for the bench's
/// untuned column and used by the TF32 kernels): about 512 blocks counted with 64-row tiles, at
/// least 256 K per slice. It counted tiles of 64 rows where float runs 128-row tiles, so VGG's
/// conv4/conv5 got 288 blocks — one wave of 264 and a 24-block tail (measured 2.1x cuDNN's time).
inline SlicePlan backward_weight_slices(const Conv2dShape& s) {
    constexpr int64_t kTargetBlocks = 512, kMinSlice = 256;
    const int64_t K = s.N * s.OH * s.OW;
    const int64_t N = s.Cg() * s.KH * s.KW, M = s.Og();
    const int64_t tiles = ((N + 127) / 128) * ((M + 63) / 64) * s.groups;
    int64_t slices = 1;
    if (tiles < kTargetBlocks && K > kMinSlice) {
        slices = (kTargetBlocks + tiles - 1) / tiles;
        const int64_t most = (K + kMinSlice - 1) / kMinSlice;
        if (slices > most) slices = most;
        const int64_t z_limit = 65535 / s.groups;
        if (slices > z_limit) slices = z_limit;
        if (slices < 1) slices = 1;
    }
    int64_t k_slice = (K + slices - 1) / slices;
    k_slice = (k_slice + kBK - 1) / kBK * kBK;
    if (k_slice == 0) k_slice = kBK;
    slices = (K + k_slice - 1) / k_slice;
    if (slices < 1) slices = 1;
    return {static_cast<int>(slices), static_cast<int>(k_slice)};
}

}  // namespace conv2d_detail

// ===== host launchers: return the launch error (cudaSuccess when nothing needed launching) =======

/// Version 2's tuning, for study and for the bench: the defaults are the library's kernels;
/// first_timed() is version 2 as first timed on an H100 (bench/results/gpu-h100-2026-11-27-conv-pool.md):
/// no split-K in the forward and backward-data, the first backward-weight split, and backward-data
/// by the GEMM for every channel count.
struct Conv2dTuning {
    bool split_k = true;               // the modelled split-K plans (conv2d_detail::plan_split_k)
    bool small_channel_direct = true;  // backward-data with C/groups ≤ 4 by the direct gather
    bool fixed_3x3 = true;             // 3x3 kernels: forward and backward-data GEMMs instantiated for 3x3
    bool gather_runs = true;           // backward-weight's B gather takes each thread's consecutive q as one run
    /// Version 2 as first timed on the H100: every tuning off.
    static constexpr Conv2dTuning first_timed() { return {false, false, false, false}; }
};

/// Bytes of device workspace conv2d_forward can use to split K (0: it will not split). Without the
/// workspace (null or smaller) the forward runs unsplit: the same result to rounding, maybe slower.
template <class T>
inline size_t conv2d_forward_workspace_bytes(const Conv2dShape& s, ConvAlgo algo, Conv2dTuning tuning = {}) {
    namespace d = conv2d_detail;
    if (algo != ConvAlgo::implicit_gemm || !tuning.split_k || !d::valid(s) || !d::gemm_fits(s)) return 0;
    const d::SlicePlan plan = d::forward_slices(s, sizeof(T));
    if (plan.slices <= 1) return 0;
    return static_cast<size_t>(plan.slices) * static_cast<size_t>(s.N * s.O * s.OH * s.OW) * sizeof(T);
}

namespace conv2d_detail {
/// The forward GEMM, unsplit or split into forward_slices with the bias added by the epilogue.
template <class T, class Problem>
inline cudaError_t forward_gemm(Problem p, const Conv2dShape& s, bool split, void* workspace, cudaStream_t stream) {
    if (!split) return launch_gemm_for<T>(p, int(s.groups), 1, p.K > 0 ? p.K : kBK, stream);
    const SlicePlan plan = forward_slices(s, sizeof(T));
    T* y = p.y;
    const T* bias = p.bias;
    p.y = static_cast<T*>(workspace), p.bias = nullptr;  // slice s writes workspace[s], without the bias
    const cudaError_t status = launch_gemm_for<T>(p, int(s.groups), plan.slices, plan.k_slice, stream);
    if (status != cudaSuccess) return status;
    return sum_forward_slices<T>(p.y, bias, y, s, plan.slices, stream);
}

/// The backward-data GEMM, unsplit or split into backward_data_slices.
template <class T, class Problem>
inline cudaError_t backward_data_gemm(Problem p, const Conv2dShape& s, bool split, void* workspace, cudaStream_t stream) {
    if (!split) return launch_gemm_for<T>(p, int(s.groups), 1, p.K > 0 ? p.K : kBK, stream);
    const SlicePlan plan = backward_data_slices(s, sizeof(T));
    T* dx = p.dx;
    p.dx = static_cast<T*>(workspace);
    const cudaError_t status = launch_gemm_for<T>(p, int(s.groups), plan.slices, plan.k_slice, stream);
    if (status != cudaSuccess) return status;
    return sum_slices<T>(p.dx, dx, s.N * s.C * s.H * s.W, plan.slices, stream);
}
}  // namespace conv2d_detail

/// y [N, O, OH, OW] is overwritten; bias may be null. `workspace` (may be null) lets the
/// implicit GEMM split K when conv2d_forward_workspace_bytes says it would; it must stay valid
/// until the work on `stream` is done.
template <class T>
inline cudaError_t conv2d_forward(const T* x, const T* w, const T* bias, T* y, const Conv2dShape& s, ConvAlgo algo,
                                  cudaStream_t stream = nullptr, void* workspace = nullptr, size_t workspace_bytes = 0,
                                  Conv2dTuning tuning = {}) {
    namespace d = conv2d_detail;
    if (!d::valid(s)) return cudaErrorInvalidValue;
    const int64_t total = s.N * s.O * s.OH * s.OW;
    if (total == 0) return cudaSuccess;
    if (algo == ConvAlgo::direct) {
        conv2d_forward_direct_kernel<T><<<d::blocks_for(total), d::kThreads, 0, stream>>>(x, w, bias, y, s);
        return cudaGetLastError();
    }
    if (algo != ConvAlgo::implicit_gemm || !d::gemm_fits(s)) return cudaErrorInvalidValue;
    const size_t needed = conv2d_forward_workspace_bytes<T>(s, algo, tuning);
    const bool split = needed > 0 && workspace && workspace_bytes >= needed;
    const d::Dims dims = d::dims_of(s);
    const int M = int(s.Og()), N = int(s.N * s.OH * s.OW), K = int(s.Cg() * s.KH * s.KW);
    if (tuning.fixed_3x3 && s.KH == 3 && s.KW == 3)
        return d::forward_gemm<T>(d::ForwardProblem<T, 3, 3>{x, w, bias, y, dims, M, N, K}, s, split, workspace, stream);
    return d::forward_gemm<T>(d::ForwardProblem<T>{x, w, bias, y, dims, M, N, K}, s, split, workspace, stream);
}

/// Bytes of device workspace conv2d_backward_data can use to split K (0: it will not split).
template <class T>
inline size_t conv2d_backward_data_workspace_bytes(const Conv2dShape& s, ConvAlgo algo, Conv2dTuning tuning = {}) {
    namespace d = conv2d_detail;
    if (algo != ConvAlgo::implicit_gemm || !tuning.split_k || !d::valid(s) || !d::gemm_fits(s)) return 0;
    if (tuning.small_channel_direct && d::small_channel_backward_data<T>(s)) return 0;
    const d::SlicePlan plan = d::backward_data_slices(s, sizeof(T));
    if (plan.slices <= 1) return 0;
    return static_cast<size_t>(plan.slices) * static_cast<size_t>(s.N * s.C * s.H * s.W) * sizeof(T);
}

/// dx [N, C, H, W] is overwritten (every element written). `workspace`: as for conv2d_forward.
template <class T>
inline cudaError_t conv2d_backward_data(const T* w, const T* dy, T* dx, const Conv2dShape& s, ConvAlgo algo,
                                        cudaStream_t stream = nullptr, void* workspace = nullptr,
                                        size_t workspace_bytes = 0, Conv2dTuning tuning = {}) {
    namespace d = conv2d_detail;
    if (!d::valid(s)) return cudaErrorInvalidValue;
    const int64_t total = s.N * s.C * s.H * s.W;
    if (total == 0) return cudaSuccess;
    if (algo == ConvAlgo::direct) {
        conv2d_backward_data_direct_kernel<T><<<d::blocks_for(total), d::kThreads, 0, stream>>>(w, dy, dx, s);
        return cudaGetLastError();
    }
    if (algo != ConvAlgo::implicit_gemm || !d::gemm_fits(s)) return cudaErrorInvalidValue;
    if (tuning.small_channel_direct && d::small_channel_backward_data<T>(s)) {
        switch (s.Cg()) {
            case 1: return d::launch_small_channel_backward_data<T, 1>(w, dy, dx, s, stream);
            case 2: return d::launch_small_channel_backward_data<T, 2>(w, dy, dx, s, stream);
            case 3: return d::launch_small_channel_backward_data<T, 3>(w, dy, dx, s, stream);
            default: return d::launch_small_channel_backward_data<T, 4>(w, dy, dx, s, stream);
        }
    }
    const size_t needed = conv2d_backward_data_workspace_bytes<T>(s, algo, tuning);
    const bool split = needed > 0 && workspace && workspace_bytes >= needed;
    const d::Dims dims = d::dims_of(s);
    const int M = int(s.Cg()), N = int(s.N * s.H * s.W), K = int(s.Og() * s.KH * s.KW);
    if (tuning.fixed_3x3 && s.KH == 3 && s.KW == 3)
        return d::backward_data_gemm<T>(d::BackwardDataProblem<T, 3, 3>{w, dy, dx, dims, M, N, K}, s, split, workspace,
                                        stream);
    return d::backward_data_gemm<T>(d::BackwardDataProblem<T>{w, dy, dx, dims, M, N, K}, s, split, workspace, stream);
}

/// The backward-weight split in use for `tuning`.
template <class T>
inline conv2d_detail::SlicePlan conv2d_backward_weight_plan(const Conv2dShape& s, Conv2dTuning tuning = {}) {
    return tuning.split_k ? conv2d_detail::backward_weight_slices_modelled(s, sizeof(T))
                          : conv2d_detail::backward_weight_slices(s);
}

/// Bytes of device workspace conv2d_backward_weight needs (0: none).
template <class T>
inline size_t conv2d_backward_weight_workspace_bytes(const Conv2dShape& s, ConvAlgo algo, Conv2dTuning tuning = {}) {
    namespace d = conv2d_detail;
    if (algo != ConvAlgo::implicit_gemm || !d::valid(s) || !d::gemm_fits(s)) return 0;
    const d::SlicePlan plan = conv2d_backward_weight_plan<T>(s, tuning);
    if (plan.slices <= 1) return 0;
    return static_cast<size_t>(plan.slices) * static_cast<size_t>(s.O * s.Cg() * s.KH * s.KW) * sizeof(T);
}

/// dw [O, C/groups, KH, KW] is overwritten (zeros for an empty batch). `workspace` holds at least
/// conv2d_backward_weight_workspace_bytes<T>(s, algo, tuning) bytes of device memory (may be null
/// when 0) and must stay valid until the work on `stream` is done.
template <class T>
inline cudaError_t conv2d_backward_weight(const T* x, const T* dy, T* dw, const Conv2dShape& s, ConvAlgo algo,
                                          void* workspace, size_t workspace_bytes, cudaStream_t stream = nullptr,
                                          Conv2dTuning tuning = {}) {
    namespace d = conv2d_detail;
    if (!d::valid(s)) return cudaErrorInvalidValue;
    const int64_t total = s.O * s.Cg() * s.KH * s.KW;
    if (total == 0) return cudaSuccess;
    if (algo == ConvAlgo::direct) {
        conv2d_backward_weight_direct_kernel<T><<<d::blocks_for(total), d::kThreads, 0, stream>>>(x, dy, dw, s);
        return cudaGetLastError();
    }
    if (algo != ConvAlgo::implicit_gemm || !d::gemm_fits(s)) return cudaErrorInvalidValue;
    const d::SlicePlan plan = conv2d_backward_weight_plan<T>(s, tuning);
    const bool split = plan.slices > 1;
    if (split && (!workspace || workspace_bytes < conv2d_backward_weight_workspace_bytes<T>(s, algo, tuning)))
        return cudaErrorInvalidValue;
    T* target = split ? static_cast<T*>(workspace) : dw;
    const d::Dims dims = d::dims_of(s);
    const int M = int(s.Og()), N = int(s.Cg() * s.KH * s.KW), K = int(s.N * s.OH * s.OW);
    const cudaError_t status =
        tuning.gather_runs
            ? d::launch_gemm_for<T>(d::BackwardWeightProblem<T, true>{x, dy, target, dims, M, N, K}, int(s.groups),
                                    plan.slices, plan.k_slice, stream)
            : d::launch_gemm_for<T>(d::BackwardWeightProblem<T, false>{x, dy, target, dims, M, N, K}, int(s.groups),
                                    plan.slices, plan.k_slice, stream);
    if (status != cudaSuccess || !split) return status;
    return d::sum_slices<T>(target, dw, total, plan.slices, stream);
}

/// db [O] is overwritten (zeros for an empty batch).
template <class T>
inline cudaError_t conv2d_backward_bias(const T* dy, T* db, const Conv2dShape& s, cudaStream_t stream = nullptr) {
    namespace d = conv2d_detail;
    if (!d::valid(s)) return cudaErrorInvalidValue;
    if (s.O == 0) return cudaSuccess;
    const int blocks = static_cast<int>(s.O < 65535 ? s.O : 65535);
    conv2d_backward_bias_kernel<T><<<blocks, d::kThreads, 0, stream>>>(dy, db, s);
    return cudaGetLastError();
}

}  // namespace seam::kernels

#endif  // defined(__CUDACC__)
