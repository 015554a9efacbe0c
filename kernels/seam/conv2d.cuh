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
//                    at batch 32), so K is split into S slices (S from the shape only: enough
//                    blocks for a large GPU, at least 256 K per slice): slice s writes its partial
//                    dW into a workspace, and a second kernel adds the S partials in order, in
//                    double. Deterministic: no atomics anywhere, the same bits on every run and GPU.
//                    double runs the same kernels with 64 x 128 tiles and double accumulation.
//   3 implicit_gemm_tf32  The same three GEMMs on the tensor cores in TF32 (fp32 accumulation),
//                    for float only, opt-in: kernels/seam/conv2d_tf32.cuh (which reuses the problem
//                    structs below, so its index arithmetic is this version's).
//   backward-bias    one block per channel, a fixed-order tree reduction in double.
// Speed of every version: not yet measured: no GPU so far. bench/bench_conv_pool_cuda.cu times
// versions 2 against cuDNN (IMPLICIT_GEMM forced, and its fastest algorithm) on the VGG-16 and
// Fashion-MNIST shapes. Weak spots to look at first: the two divisions per gathered element, the
// stride-s waste of backward-data, no split-K for the forward of small batches.
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

/// Forward: A = w_g [Og, Cg·taps] (rows contiguous), B = the implicit im2col of x [Cg·taps, N·OH·OW].
template <class T>
struct ForwardProblem {
    const T* x;
    const T* w;
    const T* bias;  // may be null
    T* y;
    Dims d;
    int M, N, K;

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
        const int ch = k / d.taps, tap = k - ch * d.taps;
        const int ki = tap / d.KW, kj = tap - ki * d.KW;
        const int ih = c.ih0 + ki * d.dh, iw = c.iw0 + kj * d.dw;
        if (unsigned(ih) >= unsigned(d.H) || unsigned(iw) >= unsigned(d.W)) return T(0);
        return read_only(c.base + int64_t(ch) * d.in_pixels + ih * d.W + iw);
    }

    __host__ __device__ Out c_col(int g, int, int n) const {
        const int img = n / d.out_pixels, pix = n - img * d.out_pixels;
        return {y + (int64_t(img) * d.O + int64_t(g) * d.Og) * d.out_pixels + pix, bias ? bias + int64_t(g) * d.Og : nullptr};
    }
    template <class Acc>
    __host__ __device__ void c_store(const Out& o, int m, Acc v) const {
        o.p[int64_t(m) * d.out_pixels] = static_cast<T>(o.bias ? v + static_cast<Acc>(o.bias[m]) : v);
    }
};

/// Backward-data: A[c, (o, tap)] = w[g·Og + o, c, tap], B[(o, tap), (n, h, w)] = dy at the output
/// whose tap lands on (h, w) (0 where none does), C = dx_g [Cg, N·H·W].
template <class T>
struct BackwardDataProblem {
    const T* w;
    const T* dy;
    T* dx;
    Dims d;
    int M, N, K;

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
        const int o = k / d.taps, tap = k - o * d.taps;
        return read_only(r.p + int64_t(o) * d.Cg * d.taps + tap);
    }

    __host__ __device__ Col b_col(int g, int n) const {
        if (n >= N) return {dy, 0, 0, false};
        const int img = n / d.in_pixels, pix = n - img * d.in_pixels;
        const int h = pix / d.W, w_ = pix - h * d.W;
        return {dy + (int64_t(img) * d.O + int64_t(g) * d.Og) * d.out_pixels, h + d.ph, w_ + d.pw, true};
    }
    __host__ __device__ T b(const Col& c, int k) const {
        if (!c.valid) return T(0);
        const int o = k / d.taps, tap = k - o * d.taps;
        const int ki = tap / d.KW, kj = tap - ki * d.KW;
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

    __host__ __device__ Out c_col(int g, int, int n) const {
        const int img = n / d.in_pixels, pix = n - img * d.in_pixels;
        return {dx + (int64_t(img) * d.C + int64_t(g) * d.Cg) * d.in_pixels + pix};
    }
    template <class Acc>
    __host__ __device__ void c_store(const Out& o, int m, Acc v) const {
        o.p[int64_t(m) * d.in_pixels] = static_cast<T>(v);
    }
};

/// Backward-weight: A[o, q] = dy[n, g·Og + o, oh, ow] with q = (n, oh, ow), B[q, (c, tap)] = the
/// implicit im2col of x transposed, C = dw_g [Og, Cg·taps]; slice s of K writes to out + s·O·Cg·taps.
template <class T>
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

    auto gather = [&](int k0) {
SEAM_CONV_UNROLL
        for (int e = 0; e < Cfg::A_PER; ++e) {
            const int k = k0 + a_k + e;
            a_next[e] = k < k_end ? p.a(row, k) : T(0);
        }
SEAM_CONV_UNROLL
        for (int e = 0; e < Cfg::B_PER; ++e) {
            const int k = k0 + b_k + e;
            b_next[e] = k < k_end ? p.b(col, k) : T(0);
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

/// dw[i] = Σ_{s < slices} partial[s·count + i], in slice order, in double.
template <class T>
__global__ void sum_slices_kernel(const T* __restrict__ partial, T* __restrict__ out, int64_t count, int slices) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        double sum = 0.0;
        for (int s = 0; s < slices; ++s) sum += static_cast<double>(partial[s * count + i]);
        out[i] = static_cast<T>(sum);
    }
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

/// float: 128-row tiles when M fills them, else 64; double: always 64 (half the registers).
template <class T, class Problem>
inline cudaError_t launch_gemm_for(const Problem& p, int groups, int slices, int k_slice, cudaStream_t stream) {
    if constexpr (sizeof(T) == 4) {
        if (p.M > 64) return launch_gemm<T, 128, 128>(p, groups, slices, k_slice, stream);
    }
    return launch_gemm<T, 64, 128>(p, groups, slices, k_slice, stream);
}

/// How backward-weight splits K (shape only, so the result's bits do not depend on the GPU).
struct SlicePlan {
    int slices = 1;
    int k_slice = 0;  // a multiple of kBK
};

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

/// y [N, O, OH, OW] is overwritten; bias may be null.
template <class T>
inline cudaError_t conv2d_forward(const T* x, const T* w, const T* bias, T* y, const Conv2dShape& s, ConvAlgo algo,
                                  cudaStream_t stream = nullptr) {
    namespace d = conv2d_detail;
    if (!d::valid(s)) return cudaErrorInvalidValue;
    const int64_t total = s.N * s.O * s.OH * s.OW;
    if (total == 0) return cudaSuccess;
    if (algo == ConvAlgo::direct) {
        conv2d_forward_direct_kernel<T><<<d::blocks_for(total), d::kThreads, 0, stream>>>(x, w, bias, y, s);
        return cudaGetLastError();
    }
    if (algo != ConvAlgo::implicit_gemm || !d::gemm_fits(s)) return cudaErrorInvalidValue;
    d::ForwardProblem<T> p{x, w, bias, y, d::dims_of(s), int(s.Og()), int(s.N * s.OH * s.OW), int(s.Cg() * s.KH * s.KW)};
    return d::launch_gemm_for<T>(p, int(s.groups), 1, p.K > 0 ? p.K : d::kBK, stream);
}

/// dx [N, C, H, W] is overwritten (every element written).
template <class T>
inline cudaError_t conv2d_backward_data(const T* w, const T* dy, T* dx, const Conv2dShape& s, ConvAlgo algo,
                                        cudaStream_t stream = nullptr) {
    namespace d = conv2d_detail;
    if (!d::valid(s)) return cudaErrorInvalidValue;
    const int64_t total = s.N * s.C * s.H * s.W;
    if (total == 0) return cudaSuccess;
    if (algo == ConvAlgo::direct) {
        conv2d_backward_data_direct_kernel<T><<<d::blocks_for(total), d::kThreads, 0, stream>>>(w, dy, dx, s);
        return cudaGetLastError();
    }
    if (algo != ConvAlgo::implicit_gemm || !d::gemm_fits(s)) return cudaErrorInvalidValue;
    d::BackwardDataProblem<T> p{w, dy, dx, d::dims_of(s), int(s.Cg()), int(s.N * s.H * s.W), int(s.Og() * s.KH * s.KW)};
    return d::launch_gemm_for<T>(p, int(s.groups), 1, p.K > 0 ? p.K : d::kBK, stream);
}

/// Bytes of device workspace conv2d_backward_weight needs (0: none).
template <class T>
inline size_t conv2d_backward_weight_workspace_bytes(const Conv2dShape& s, ConvAlgo algo) {
    namespace d = conv2d_detail;
    if (algo != ConvAlgo::implicit_gemm || !d::valid(s) || !d::gemm_fits(s)) return 0;
    const d::SlicePlan plan = d::backward_weight_slices(s);
    if (plan.slices <= 1) return 0;
    return static_cast<size_t>(plan.slices) * static_cast<size_t>(s.O * s.Cg() * s.KH * s.KW) * sizeof(T);
}

/// dw [O, C/groups, KH, KW] is overwritten (zeros for an empty batch). `workspace` holds at least
/// conv2d_backward_weight_workspace_bytes<T>(s, algo) bytes of device memory (may be null when 0)
/// and must stay valid until the work on `stream` is done.
template <class T>
inline cudaError_t conv2d_backward_weight(const T* x, const T* dy, T* dw, const Conv2dShape& s, ConvAlgo algo,
                                          void* workspace, size_t workspace_bytes, cudaStream_t stream = nullptr) {
    namespace d = conv2d_detail;
    if (!d::valid(s)) return cudaErrorInvalidValue;
    const int64_t total = s.O * s.Cg() * s.KH * s.KW;
    if (total == 0) return cudaSuccess;
    if (algo == ConvAlgo::direct) {
        conv2d_backward_weight_direct_kernel<T><<<d::blocks_for(total), d::kThreads, 0, stream>>>(x, dy, dw, s);
        return cudaGetLastError();
    }
    if (algo != ConvAlgo::implicit_gemm || !d::gemm_fits(s)) return cudaErrorInvalidValue;
    const d::SlicePlan plan = d::backward_weight_slices(s);
    const bool split = plan.slices > 1;
    if (split && (!workspace || workspace_bytes < conv2d_backward_weight_workspace_bytes<T>(s, algo)))
        return cudaErrorInvalidValue;
    T* target = split ? static_cast<T*>(workspace) : dw;
    d::BackwardWeightProblem<T> p{x, dy, target, d::dims_of(s), int(s.Og()), int(s.Cg() * s.KH * s.KW),
                                  int(s.N * s.OH * s.OW)};
    const cudaError_t status = d::launch_gemm_for<T>(p, int(s.groups), plan.slices, plan.k_slice, stream);
    if (status != cudaSuccess || !split) return status;
    d::sum_slices_kernel<T><<<d::blocks_for(total), d::kThreads, 0, stream>>>(target, dw, total, plan.slices);
    return cudaGetLastError();
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
