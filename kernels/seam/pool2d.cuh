// kernels/seam/pool2d.cuh — CUDA forward and backward of 2-D pooling over NCHW maps: max pooling
// (with indices), average pooling, adaptive average and adaptive max pooling. Raw device pointers
// and a shape struct: no Tensor, no Eigen, no other seam header, so bench/ and other projects can
// include it alone. It compiles only under nvcc.
//
// What it computes: exactly the definitions of include/seam/ops/pool.hpp (PyTorch's CPU
// semantics), which the host resolves into the Pool2dShape below before launching:
//   max      out[n,c,oh,ow] = max over the taps (oh*sh - ph + i*dh, ow*sw - pw + j*dw), i < kh,
//            j < kw, that lie inside the map; taps in scan order (row by row, left to right), a
//            strictly larger value wins (ties keep the first), a NaN always wins (so the LAST NaN
//            of a window is kept, as on the CPU). index = h*W + w of the winner inside its (n, c)
//            plane; a window with no tap inside the map (dilation can do that) gives -inf, -1.
//   avg      out = (sum of the taps inside the map, added in scan order) / divisor; divisor =
//            divisor_override if non-zero, else the window clipped to [-p, size + p) with
//            count_include_pad, else the window clipped to the map; a window with no tap inside
//            gives 0. No dilation (PyTorch's avg_pool2d has none).
//   adaptive window i of `out` over `size` is [floor(i*size/out), ceil((i+1)*size/out)); average:
//            sum / rows / cols (two divisions, PyTorch's rounding); max: as above, never empty.
//   backward every input cell's gradient is the sum of the contributions of the outputs whose
//            window holds it (max: whose index is it), added in the order of the CPU's scatter.
// Both versions compute every output and every gradient with the same operations in the same
// order as the CPU op: results and indices are bit-identical to the CPU's (and to each other),
// except for the sign and payload of a NaN out of arithmetic (a sum meeting inf - inf or a NaN
// input: the GPU's and the CPU's default NaNs differ, and which of two NaN operands an addition
// passes on depends on the compiler's operand order); a max passes a NaN input on as it is.
//
// Layouts (contiguous, row-major, int64 indices):
//   x, grad_in   [N, C, H, W]        out, grad_out, indices   [N, C, OH, OW]
//
// Versions, selected by the launchers' last argument (Pool2dVersion; default v2, which the
// library's ops use). Both: 1-D blocks of 256 threads, grid-stride loops, grid capped at 2^20
// blocks; the backward passes are GATHERS: a thread owns input cells, visits the outputs whose
// window can contain them, adds their contributions in the CPU's order (output rows ascending,
// then columns; for average pooling the CPU's tap order, which is columns descending) and writes
// each cell once. No atomics, no zeroing pass: deterministic (the same bits on every run, the
// library's rule) and equal to the CPU's sums; a scatter with atomicAdd (PyTorch's adaptive
// pooling backward) gives order-dependent float sums.
//   1  One thread per output (forward) or per input cell (backward), all index arithmetic in
//      int64: a thread splits its flat index with 64-bit / and % (o % OW, (o / OW) % OH,
//      o / (OW*OH)), and the backward gather tries each of the kh*kw taps that could land on its
//      cell, testing it with th % stride and th / stride (for adaptive pooling a range of rows
//      and columns, but each window's bounds again divided per candidate). Kept for study and as
//      the fallback when a shape exceeds version 2's 32-bit limits.
//   2  The same work with 32-bit arithmetic and no hardware division (*_v2_kernel, *_v2_at):
//      - a flat index is split by two divisions by launch constants (OW then OH for outputs,
//        W then H for input cells), each a multiply-high, an add and a shift with a magic number
//        prepared on the host (FastDiv32; exact for dividends below 2^31);
//      - the backward gathers find the covering output range [first, last] per axis with one
//        such division per bound (PyTorch's p_start/p_end; adaptive: adaptive_covering) and
//        visit only those outputs: one per axis for non-overlapping windows, where version 1
//        tried kh*kw taps with a 64-bit % each;
//      - 2x2 windows, stride 2, no padding, no dilation (every VGG block), max and average:
//        forward, when every window lies inside the map (2*OH <= H, 2*OW <= W), one thread per
//        output reads its two input rows as one 2-element vector each (float2 / double2) when W
//        is even and x is aligned to it, else as scalars; backward, one thread per 2x2 block of
//        input cells (ceil(H/2) x ceil(W/2) per plane; the only window over a block is its own,
//        clipped or not) reads that output's gradient (and index) once and writes the block's
//        cells, as two 2-element vector stores when W is even and grad_in is aligned.
//      Each v2 kernel maps threads to elements and calls a __host__ __device__ function for one
//      element, so tests/cuda/test_pool_kernel_logic.cu runs the kernels' own code on the CPU
//      over every element of a launch and compares with the CPU op bit for bit.
//      Limits: planes·H·W and planes·OH·OW below 2^31, and the window arithmetic within int32
//      (pool2d_detail::fits_v2); otherwise the launcher runs version 1.
//
// Versions tried (float32, 2x2 stride 2 on the VGG-16 pooling inputs at batch 32 and the
// Fashion-MNIST ones at batch 128: bench/bench_conv_pool_cuda.cu; device-to-device copy on the
// same GPU 2970 GB/s; GB/s = the bytes a pass must move, over its median time):
//   1  H100 (bench/results/gpu-h100-2026-11-27-conv-pool.md): forward max (values + int64
//      indices) 908-1354 GB/s, avg 727-1243 GB/s, cuDNN 1.2-2.7x faster; backward max 196-301
//      GB/s, avg 136-236 GB/s, cuDNN 3.1-7.8x faster. Integer-ALU bound, not memory bound:
//      every thread does four 64-bit divisions and modulos to find its element (a GPU has no
//      divide instruction: each is a sequence of dozens of instructions, a shorter 32-bit one
//      when nvcc's run-time check finds the operands small), and a backward thread two more per
//      row tap and per column tap it tries.
//   2  measured on an NVIDIA H200 (bench/results/gpu-h200-2026-11-27-conv-pool.md and
//      -conv-pool-run3.md): forward 0.64-1.03x and backward 0.32-0.66x cuDNN's time, VGG pool1-
//      pool3 at 76-97 % of cudaMemcpy's 4.18 TB/s, pool4 64-79 %, the 14x14 maps 27-53 %
//      (latency-bound); backward 4-13x faster than version 1. Why it is faster: finding an element costs two multiply-highs
//      instead of four 64-bit divisions and modulos, a backward thread visits only its covering
//      outputs, and the 2x2 kernels read and write each element once with 2-element vector
//      accesses, so the passes should be limited by memory bandwidth; the project's goal is
//      >= 80 % of the copy bandwidth. To be measured: whether the forward's 8-byte index writes,
//      the scalar accesses of odd widths or the backward's one-thread-per-cell gathers outside
//      the 2x2 case keep it below that.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace seam::kernels {

/// Which kernels a launcher runs (see the file comment); v1 stays for study and as the fallback.
enum class Pool2dVersion : int { v1 = 1, v2 = 2 };

/// The resolved geometry of one pooling call (ops/pool.hpp's Pool2dGeometry). For adaptive
/// pooling only N, C, H, W, OH, OW are read.
struct Pool2dShape {
    int64_t N = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0;
    int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;

    __host__ __device__ int64_t planes() const { return N * C; }
    __host__ __device__ int64_t outputs() const { return N * C * OH * OW; }
    __host__ __device__ int64_t inputs() const { return N * C * H * W; }
};

/// What average pooling divides by (ops/pool.hpp's AvgPoolOptions).
struct AvgPoolDivisor {
    bool count_include_pad = true;
    int64_t divisor_override = 0;  // 0: none
};

namespace pool2d_detail {

constexpr int kThreads = 256;

inline int blocks_for(int64_t work) {
    const int64_t blocks = (work + kThreads - 1) / kThreads;
    return static_cast<int>(blocks < (int64_t{1} << 20) ? blocks : (int64_t{1} << 20));
}

/// The max-pooling update rule of the CPU (ops/pool.hpp max_pool_takes): a larger value wins, a
/// NaN always wins. Host-callable for the emulation in tests/cuda/test_pool_kernel_logic.cu.
template <class T>
__host__ __device__ inline bool takes(T v, T current) {
#if defined(__CUDA_ARCH__)
    return v > current || isnan(v);
#else
    return v > current || std::isnan(v);
#endif
}

template <class T>
__host__ __device__ inline T negative_infinity() {
#if defined(__CUDA_ARCH__)
    if constexpr (sizeof(T) == 4) return -__int_as_float(0x7f800000);
    else return -__longlong_as_double(0x7ff0000000000000LL);
#else
    return -std::numeric_limits<T>::infinity();
#endif
}

/// Average pooling's window along one axis (ops/pool.hpp avg_pool_windows): the clipped range
/// [begin, end) inside the map and the length clipped to the padded map.
struct AvgSpan {
    int64_t begin, end, pooled;
};

__host__ __device__ inline AvgSpan avg_span(int64_t o, int64_t size, int64_t kernel, int64_t stride, int64_t pad) {
    const int64_t begin = o * stride - pad;
    const int64_t end = begin + kernel < size + pad ? begin + kernel : size + pad;
    return {begin > 0 ? begin : 0, end < size ? end : size, end - begin};
}

/// The divisor of output (oh, ow), 0 for a window with no tap inside the map (its output is 0).
__device__ inline int64_t avg_divisor(const Pool2dShape& s, const AvgPoolDivisor& d, int64_t oh, int64_t ow) {
    const AvgSpan h = avg_span(oh, s.H, s.kh, s.sh, s.ph), w = avg_span(ow, s.W, s.kw, s.sw, s.pw);
    if (h.begin >= h.end || w.begin >= w.end) return 0;
    if (d.divisor_override != 0) return d.divisor_override;
    return d.count_include_pad ? h.pooled * w.pooled : (h.end - h.begin) * (w.end - w.begin);
}

/// Adaptive window i of `out` over `size`: [floor(i*size/out), ceil((i+1)*size/out)).
__host__ __device__ inline int64_t adaptive_begin(int64_t i, int64_t size, int64_t out) { return i * size / out; }
__host__ __device__ inline int64_t adaptive_end(int64_t i, int64_t size, int64_t out) {
    return ((i + 1) * size + out - 1) / out;
}

/// The adaptive windows that contain input position h: rows [first, last] (empty when last < first).
/// begin(i) <= h  <=>  i*size < (h+1)*out  <=>  i <= ceil((h+1)*out/size) - 1;
/// end(i) > h     <=>  (i+1)*size > h*out   <=>  i >= floor(h*out/size).
__device__ inline void adaptive_covering(int64_t h, int64_t size, int64_t out, int64_t& first, int64_t& last) {
    first = h * out / size;
    last = ((h + 1) * out + size - 1) / size - 1;
    if (last > out - 1) last = out - 1;
}

}  // namespace pool2d_detail

// ===== version 1: int64 index arithmetic ======================================================

// ----- max pooling ----------------------------------------------------------------------------

/// indices may be null (inference).
template <class T>
__global__ void max_pool2d_forward_v1_kernel(const T* __restrict__ x, T* __restrict__ out,
                                             int64_t* __restrict__ indices, Pool2dShape s) {
    namespace d = pool2d_detail;
    const int64_t total = s.outputs();
    for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < total;
         o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t ow = o % s.OW;
        const int64_t oh = (o / s.OW) % s.OH;
        const int64_t plane = o / (s.OW * s.OH);
        const T* in = x + plane * s.H * s.W;
        T best = d::negative_infinity<T>();
        int64_t best_at = -1;
        for (int64_t i = 0; i < s.kh; ++i) {
            const int64_t h = oh * s.sh - s.ph + i * s.dh;
            if (h < 0 || h >= s.H) continue;
            for (int64_t j = 0; j < s.kw; ++j) {
                const int64_t w = ow * s.sw - s.pw + j * s.dw;
                if (w < 0 || w >= s.W) continue;
                const T v = in[h * s.W + w];
                // The first tap inside the map is taken whatever its value (the CPU starts the
                // index there), then the CPU's rule.
                if (best_at < 0 || d::takes(v, best)) best = v, best_at = h * s.W + w;
            }
        }
        out[o] = best;
        if (indices) indices[o] = best_at;
    }
}

/// Gather: grad_in[n,c,h,w] = Σ grad_out over the outputs of plane (n,c) whose index is h*W + w.
/// Output (oh, ow) has a tap at h iff h = oh*sh - ph + i*dh for some i < kh; i descending gives
/// oh ascending, so the sum runs in the CPU scatter's order (outputs in row-major order).
template <class T>
__global__ void max_pool2d_backward_v1_kernel(const T* __restrict__ grad_out, const int64_t* __restrict__ indices,
                                              T* __restrict__ grad_in, Pool2dShape s) {
    const int64_t total = s.inputs();
    for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t w = e % s.W;
        const int64_t h = (e / s.W) % s.H;
        const int64_t plane = e / (s.W * s.H);
        const int64_t cell = h * s.W + w;
        const int64_t first = plane * s.OH * s.OW;
        T sum = T(0);
        for (int64_t i = s.kh - 1; i >= 0; --i) {
            const int64_t th = h + s.ph - i * s.dh;
            if (th < 0 || th % s.sh != 0) continue;
            const int64_t oh = th / s.sh;
            if (oh >= s.OH) continue;
            for (int64_t j = s.kw - 1; j >= 0; --j) {
                const int64_t tw = w + s.pw - j * s.dw;
                if (tw < 0 || tw % s.sw != 0) continue;
                const int64_t ow = tw / s.sw;
                if (ow >= s.OW) continue;
                const int64_t o = first + oh * s.OW + ow;
                if (indices[o] == cell) sum += grad_out[o];
            }
        }
        grad_in[e] = sum;
    }
}

// ----- average pooling ------------------------------------------------------------------------

template <class T>
__global__ void avg_pool2d_forward_v1_kernel(const T* __restrict__ x, T* __restrict__ out, Pool2dShape s,
                                             AvgPoolDivisor divisor) {
    namespace d = pool2d_detail;
    const int64_t total = s.outputs();
    for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < total;
         o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t ow = o % s.OW;
        const int64_t oh = (o / s.OW) % s.OH;
        const int64_t plane = o / (s.OW * s.OH);
        const T* in = x + plane * s.H * s.W;
        const d::AvgSpan hs = d::avg_span(oh, s.H, s.kh, s.sh, s.ph), ws = d::avg_span(ow, s.W, s.kw, s.sw, s.pw);
        T sum = T(0);
        for (int64_t h = hs.begin; h < hs.end; ++h)
            for (int64_t w = ws.begin; w < ws.end; ++w) sum += in[h * s.W + w];
        const int64_t div = d::avg_divisor(s, divisor, oh, ow);
        out[o] = div != 0 ? sum / static_cast<T>(div) : T(0);
    }
}

/// Gather: grad_in[h, w] = Σ grad_out[oh, ow] / divisor(oh, ow) over the windows that contain
/// (h, w), in the CPU scatter's order: output rows ascending, then its column taps ascending
/// (which is output columns descending).
template <class T>
__global__ void avg_pool2d_backward_v1_kernel(const T* __restrict__ grad_out, T* __restrict__ grad_in, Pool2dShape s,
                                              AvgPoolDivisor divisor) {
    namespace d = pool2d_detail;
    const int64_t total = s.inputs();
    for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t w = e % s.W;
        const int64_t h = (e / s.W) % s.H;
        const int64_t plane = e / (s.W * s.H);
        const T* g = grad_out + plane * s.OH * s.OW;
        T sum = T(0);
        for (int64_t i = s.kh - 1; i >= 0; --i) {  // tap row i of window oh: oh ascending
            const int64_t th = h + s.ph - i;
            if (th < 0 || th % s.sh != 0) continue;
            const int64_t oh = th / s.sh;
            if (oh >= s.OH) continue;
            for (int64_t j = 0; j < s.kw; ++j) {  // column taps ascending, as the CPU's loop
                const int64_t tw = w + s.pw - j;
                if (tw < 0 || tw % s.sw != 0) continue;
                const int64_t ow = tw / s.sw;
                if (ow >= s.OW) continue;
                const int64_t div = d::avg_divisor(s, divisor, oh, ow);
                sum += div != 0 ? g[oh * s.OW + ow] / static_cast<T>(div) : T(0);
            }
        }
        grad_in[e] = sum;
    }
}

// ----- adaptive pooling -----------------------------------------------------------------------

template <class T>
__global__ void adaptive_avg_pool2d_forward_v1_kernel(const T* __restrict__ x, T* __restrict__ out, Pool2dShape s) {
    namespace d = pool2d_detail;
    const int64_t total = s.outputs();
    for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < total;
         o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t ow = o % s.OW;
        const int64_t oh = (o / s.OW) % s.OH;
        const int64_t plane = o / (s.OW * s.OH);
        const T* in = x + plane * s.H * s.W;
        const int64_t h0 = d::adaptive_begin(oh, s.H, s.OH), h1 = d::adaptive_end(oh, s.H, s.OH);
        const int64_t w0 = d::adaptive_begin(ow, s.W, s.OW), w1 = d::adaptive_end(ow, s.W, s.OW);
        T sum = T(0);
        for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) sum += in[h * s.W + w];
        out[o] = sum / static_cast<T>(h1 - h0) / static_cast<T>(w1 - w0);
    }
}

template <class T>
__global__ void adaptive_avg_pool2d_backward_v1_kernel(const T* __restrict__ grad_out, T* __restrict__ grad_in,
                                                       Pool2dShape s) {
    namespace d = pool2d_detail;
    const int64_t total = s.inputs();
    for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t w = e % s.W;
        const int64_t h = (e / s.W) % s.H;
        const int64_t plane = e / (s.W * s.H);
        const T* g = grad_out + plane * s.OH * s.OW;
        int64_t oh0, oh1, ow0, ow1;
        d::adaptive_covering(h, s.H, s.OH, oh0, oh1);
        d::adaptive_covering(w, s.W, s.OW, ow0, ow1);
        T sum = T(0);
        for (int64_t oh = oh0; oh <= oh1; ++oh) {
            const int64_t h0 = d::adaptive_begin(oh, s.H, s.OH), h1 = d::adaptive_end(oh, s.H, s.OH);
            if (h < h0 || h >= h1) continue;  // cannot happen by construction; kept as a guard
            for (int64_t ow = ow0; ow <= ow1; ++ow) {
                const int64_t w0 = d::adaptive_begin(ow, s.W, s.OW), w1 = d::adaptive_end(ow, s.W, s.OW);
                if (w < w0 || w >= w1) continue;
                sum += g[oh * s.OW + ow] / static_cast<T>(h1 - h0) / static_cast<T>(w1 - w0);
            }
        }
        grad_in[e] = sum;
    }
}

template <class T>
__global__ void adaptive_max_pool2d_forward_v1_kernel(const T* __restrict__ x, T* __restrict__ out,
                                                      int64_t* __restrict__ indices, Pool2dShape s) {
    namespace d = pool2d_detail;
    const int64_t total = s.outputs();
    for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < total;
         o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t ow = o % s.OW;
        const int64_t oh = (o / s.OW) % s.OH;
        const int64_t plane = o / (s.OW * s.OH);
        const T* in = x + plane * s.H * s.W;
        const int64_t h0 = d::adaptive_begin(oh, s.H, s.OH), h1 = d::adaptive_end(oh, s.H, s.OH);
        const int64_t w0 = d::adaptive_begin(ow, s.W, s.OW), w1 = d::adaptive_end(ow, s.W, s.OW);
        T best = d::negative_infinity<T>();
        int64_t best_at = h0 * s.W + w0;  // adaptive windows are never empty (the CPU starts here too)
        for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) {
                const T v = in[h * s.W + w];
                if (d::takes(v, best)) best = v, best_at = h * s.W + w;
            }
        out[o] = best;
        if (indices) indices[o] = best_at;
    }
}

/// Gather over the adaptive windows containing the cell, outputs in row-major order (the CPU's).
template <class T>
__global__ void adaptive_max_pool2d_backward_v1_kernel(const T* __restrict__ grad_out,
                                                       const int64_t* __restrict__ indices, T* __restrict__ grad_in,
                                                       Pool2dShape s) {
    namespace d = pool2d_detail;
    const int64_t total = s.inputs();
    for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t w = e % s.W;
        const int64_t h = (e / s.W) % s.H;
        const int64_t plane = e / (s.W * s.H);
        const int64_t cell = h * s.W + w, first = plane * s.OH * s.OW;
        int64_t oh0, oh1, ow0, ow1;
        d::adaptive_covering(h, s.H, s.OH, oh0, oh1);
        d::adaptive_covering(w, s.W, s.OW, ow0, ow1);
        T sum = T(0);
        for (int64_t oh = oh0; oh <= oh1; ++oh)
            for (int64_t ow = ow0; ow <= ow1; ++ow) {
                const int64_t o = first + oh * s.OW + ow;
                if (indices[o] == cell) sum += grad_out[o];  // an index lies inside its own window
            }
        grad_in[e] = sum;
    }
}

// ===== version 2: 32-bit indices, no hardware division, a 2x2 stride-2 fast path ===============

namespace pool2d_detail {

/// n / d for a divisor d in [1, 2^31) fixed at launch and any n in [0, 2^31), with a multiply-high,
/// an add and a shift instead of a division (Granlund & Montgomery's round-up method, as PyTorch's
/// IntDivider): shift = ceil(log2 d), magic = floor(2^32 * (2^shift - d) / d) + 1 (fits 32 bits),
/// n / d = (umulhi(n, magic) + n) >> shift, where the sum stays below 2^32 because n < 2^31.
/// Built on the host; the device uses __umulhi, the host the same product in 64 bits.
struct FastDiv32 {
    uint32_t d = 1, magic = 1, shift = 0;

    FastDiv32() = default;
    explicit FastDiv32(uint32_t divisor) : d(divisor == 0 ? 1 : divisor) {  // 0: a size whose divisions never run
        while (shift < 31 && (uint32_t{1} << shift) < d) ++shift;
        magic = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << shift) - d)) / d + 1);
    }
    __host__ __device__ uint32_t div(uint32_t n) const {
#if defined(__CUDA_ARCH__)
        const uint32_t high = __umulhi(n, magic);
#else
        const uint32_t high = static_cast<uint32_t>((static_cast<uint64_t>(n) * magic) >> 32);
#endif
        return (high + n) >> shift;
    }
};

/// The geometry of one version-2 launch in 32-bit integers, with its divisors prepared (make_v2).
/// Every quantity the kernels form fits int32 (fits_v2 checks it before a v2 launch).
struct Pool2dV2 {
    int32_t H = 0, W = 0, OH = 0, OW = 0;
    int32_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
    int32_t reach_h = 1, reach_w = 1;  // the span of a window: (k - 1) * d + 1
    int32_t QH = 0, QW = 0;            // 2x2 blocks of a plane (the fast backward): ceil(H/2), ceil(W/2)
    uint32_t in_plane = 0, out_plane = 0;  // H*W, OH*OW
    FastDiv32 by_H, by_W, by_OH, by_OW, by_sh, by_sw, by_QH, by_QW;
};

/// A flat index of a [planes, rows, cols] array split into (plane, row, col): two divisions by constants.
struct Split {
    uint32_t plane;
    int32_t row, col;
};

__host__ __device__ inline Split split(uint32_t e, const FastDiv32& by_cols, const FastDiv32& by_rows) {
    const uint32_t r = by_cols.div(e), plane = by_rows.div(r);
    return {plane, static_cast<int32_t>(r - plane * by_rows.d), static_cast<int32_t>(e - r * by_cols.d)};
}


/// The 2-element vector type of T (8 bytes for float, 16 for double).
template <class T>
struct Pair2;
template <>
struct Pair2<float> {
    using type = float2;
};
template <>
struct Pair2<double> {
    using type = double2;
};

/// The host build's stand-in for the fault a misaligned vector access raises on the device.
[[noreturn]] inline void misaligned_pair() {
    std::fputs("pool2d.cuh: a 2-element vector access at a misaligned address (the GPU would fault)\n", stderr);
    std::abort();
}

/// Two neighbouring elements p[0], p[1]: one 2-element vector access (float2, double2) when Paired
/// (the launcher has checked that p is aligned to 2*sizeof(T)), else two scalar ones. On the host,
/// a misaligned paired access, which would fault on the device, aborts.
template <class T, bool Paired>
__host__ __device__ inline void load_pair(const T* p, T& a, T& b) {
    if constexpr (Paired) {
#if defined(__CUDA_ARCH__)
        const typename Pair2<T>::type v = *reinterpret_cast<const typename Pair2<T>::type*>(p);
        a = v.x, b = v.y;
        return;
#else
        if (reinterpret_cast<uintptr_t>(p) % (2 * sizeof(T)) != 0) misaligned_pair();
#endif
    }
    a = p[0], b = p[1];
}

/// p[0] = a and, when `second`, p[1] = b (Paired: one vector store; the launcher guarantees `second`).
template <class T, bool Paired>
__host__ __device__ inline void store_pair(T* p, T a, T b, bool second) {
    if constexpr (Paired) {
#if defined(__CUDA_ARCH__)
        typename Pair2<T>::type v;
        v.x = a, v.y = b;
        *reinterpret_cast<typename Pair2<T>::type*>(p) = v;
        return;
#else
        if (reinterpret_cast<uintptr_t>(p) % (2 * sizeof(T)) != 0 || !second) misaligned_pair();
#endif
    }
    p[0] = a;
    if (second) p[1] = b;
}

/// avg_span in 32 bits: the window [o*stride - pad, +kernel) clipped to the map, and its length
/// clipped to the padded map (the divisor with count_include_pad).
struct AvgSpan32 {
    int32_t begin, end, pooled;
};

__host__ __device__ inline AvgSpan32 avg_span_v2(int32_t o, int32_t size, int32_t kernel, int32_t stride, int32_t pad) {
    const int32_t begin = o * stride - pad;
    const int32_t end = begin + kernel < size + pad ? begin + kernel : size + pad;
    return {begin > 0 ? begin : 0, end < size ? end : size, end - begin};
}

/// avg_divisor's rule on 32-bit spans (0: a window with no tap inside the map; its output is 0).
__host__ __device__ inline int64_t avg_divisor_v2(const AvgSpan32& h, const AvgSpan32& w, const AvgPoolDivisor& d) {
    if (h.begin >= h.end || w.begin >= w.end) return 0;
    if (d.divisor_override != 0) return d.divisor_override;
    return d.count_include_pad ? h.pooled * w.pooled : (h.end - h.begin) * (w.end - w.begin);
}

/// The outputs along one axis whose window [o*stride - pad, o*stride - pad + reach) contains input
/// position x - pad (x = position + pad >= 0): first = ceil((x - reach + 1) / stride), at least 0,
/// and last = floor(x / stride), at most out - 1; empty when last < first (PyTorch's p_start, p_end).
__host__ __device__ inline void window_covering(int32_t x, int32_t reach, const FastDiv32& by_stride, int32_t out,
                                                int32_t& first, int32_t& last) {
    first = x < reach ? 0 : static_cast<int32_t>(by_stride.div(static_cast<uint32_t>(x - reach))) + 1;
    const int32_t q = static_cast<int32_t>(by_stride.div(static_cast<uint32_t>(x)));
    last = q < out - 1 ? q : out - 1;
}

/// Adaptive window i of `out` over `size`: [floor(i*size/out), ceil((i+1)*size/out)), by_out = out.
__host__ __device__ inline int32_t adaptive_begin_v2(int32_t i, int32_t size, const FastDiv32& by_out) {
    return static_cast<int32_t>(by_out.div(static_cast<uint32_t>(i * size)));
}
__host__ __device__ inline int32_t adaptive_end_v2(int32_t i, int32_t size, int32_t out, const FastDiv32& by_out) {
    return static_cast<int32_t>(by_out.div(static_cast<uint32_t>((i + 1) * size + out - 1)));
}

/// adaptive_covering with by_size = size: the adaptive windows [first, last] that contain position h.
__host__ __device__ inline void adaptive_covering_v2(int32_t h, int32_t size, int32_t out, const FastDiv32& by_size,
                                                     int32_t& first, int32_t& last) {
    first = static_cast<int32_t>(by_size.div(static_cast<uint32_t>(h * out)));
    last = static_cast<int32_t>(by_size.div(static_cast<uint32_t>((h + 1) * out + size - 1))) - 1;
    if (last > out - 1) last = out - 1;
}

}  // namespace pool2d_detail

// What one thread computes for element e of its launch (a flat index: an output, an input cell, or
// a 2x2 block of input cells): host-callable functions, so tests/cuda/test_pool_kernel_logic.cu runs
// the kernels' own code on the CPU. The __global__ kernels below only map threads to elements.

// ----- max pooling, version 2 -------------------------------------------------------------------

/// Output o: the taps in scan order, the first inside the map taken whatever its value, then the
/// CPU's rule; -inf and index -1 when no tap lies inside. indices may be null.
template <class T>
__host__ __device__ inline void max_pool2d_forward_v2_at(const T* __restrict__ x, T* __restrict__ out,
                                                         int64_t* __restrict__ indices, const pool2d_detail::Pool2dV2& p,
                                                         uint32_t o) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(o, p.by_OW, p.by_OH);
    const T* in = x + at.plane * p.in_plane;
    const int32_t h0 = at.row * p.sh - p.ph, w0 = at.col * p.sw - p.pw;
    T best = d::negative_infinity<T>();
    int32_t best_at = -1;
    for (int32_t i = 0; i < p.kh; ++i) {
        const int32_t h = h0 + i * p.dh;
        if (h < 0) continue;
        if (h >= p.H) break;  // taps move down: the rest are below the map too
        for (int32_t j = 0; j < p.kw; ++j) {
            const int32_t w = w0 + j * p.dw;
            if (w < 0) continue;
            if (w >= p.W) break;
            const int32_t cell = h * p.W + w;
            const T v = in[cell];
            if (best_at < 0 || d::takes(v, best)) best = v, best_at = cell;
        }
    }
    out[o] = best;
    if (indices) indices[o] = best_at;
}

/// Output o of a 2x2 stride-2 window lying wholly inside the map (the launcher checks 2*OH <= H and
/// 2*OW <= W): taps a b / c d in scan order, the CPU's 2x2 loop (ops/pool.hpp max_pool2d_plane).
template <class T, bool Paired>
__host__ __device__ inline void max_pool2d_forward_2x2_v2_at(const T* __restrict__ x, T* __restrict__ out,
                                                             int64_t* __restrict__ indices,
                                                             const pool2d_detail::Pool2dV2& p, uint32_t o) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(o, p.by_OW, p.by_OH);
    const int32_t cell = 2 * at.row * p.W + 2 * at.col;  // tap a, inside the plane
    const T* r0 = x + at.plane * p.in_plane + cell;
    T a, b, c, e;
    d::load_pair<T, Paired>(r0, a, b);
    d::load_pair<T, Paired>(r0 + p.W, c, e);
    T m = a;
    int32_t k = 0;  // which tap: 0 1 / 2 3
    if (d::takes(b, m)) m = b, k = 1;
    if (d::takes(c, m)) m = c, k = 2;
    if (d::takes(e, m)) m = e, k = 3;
    out[o] = m;
    if (indices) indices[o] = cell + (k >> 1) * p.W + (k & 1);
}

/// Input cell e: the sum of grad_out over the outputs of its plane whose index is this cell, in the
/// CPU scatter's order (outputs row-major). Only the outputs whose window span covers the cell
/// can hold it; with dilation some of them skip it, and their index simply differs.
template <class T>
__host__ __device__ inline void max_pool2d_backward_v2_at(const T* __restrict__ grad_out,
                                                          const int64_t* __restrict__ indices, T* __restrict__ grad_in,
                                                          const pool2d_detail::Pool2dV2& p, uint32_t e) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(e, p.by_W, p.by_H);
    const int32_t cell = at.row * p.W + at.col;
    int32_t oh0, oh1, ow0, ow1;
    d::window_covering(at.row + p.ph, p.reach_h, p.by_sh, p.OH, oh0, oh1);
    d::window_covering(at.col + p.pw, p.reach_w, p.by_sw, p.OW, ow0, ow1);
    const int64_t* ix = indices + at.plane * p.out_plane;
    const T* g = grad_out + at.plane * p.out_plane;
    T sum = T(0);
    for (int32_t oh = oh0; oh <= oh1; ++oh)
        for (int32_t ow = ow0; ow <= ow1; ++ow) {
            const int32_t o = oh * p.OW + ow;
            if (ix[o] == cell) sum += g[o];
        }
    grad_in[e] = sum;
}

/// 2x2 block q of input cells (rows 2qh, 2qh+1, columns 2qw, 2qw+1, clipped to the map) under a
/// 2x2 stride-2 unpadded window: the only output that covers any of them is (qh, qw), if it exists.
/// Each cell gets 0 + its gradient (the CPU adds into zeros) or 0. Any OH, OW (ceil_mode included).
template <class T, bool Paired>
__host__ __device__ inline void max_pool2d_backward_2x2_v2_at(const T* __restrict__ grad_out,
                                                              const int64_t* __restrict__ indices,
                                                              T* __restrict__ grad_in, const pool2d_detail::Pool2dV2& p,
                                                              uint32_t q) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(q, p.by_QW, p.by_QH);
    const int32_t h = 2 * at.row, w = 2 * at.col, cell = h * p.W + w;
    T v00 = T(0), v01 = T(0), v10 = T(0), v11 = T(0);
    if (at.row < p.OH && at.col < p.OW) {
        const uint32_t o = at.plane * p.out_plane + static_cast<uint32_t>(at.row * p.OW + at.col);
        const int64_t at_cell = indices[o] - cell;  // the maximum's offset from the block's first cell
        const T g = grad_out[o];
        if (at_cell == 0) v00 = T(0) + g;
        if (at_cell == 1) v01 = T(0) + g;
        if (at_cell == p.W) v10 = T(0) + g;
        if (at_cell == int64_t{p.W} + 1) v11 = T(0) + g;
    }
    T* dst = grad_in + at.plane * p.in_plane + cell;
    const bool right = w + 1 < p.W;
    d::store_pair<T, Paired>(dst, v00, v01, right);
    if (h + 1 < p.H) d::store_pair<T, Paired>(dst + p.W, v10, v11, right);
}

// ----- average pooling, version 2 ---------------------------------------------------------------

/// Output o: the taps inside the map added row by row, left to right, from 0, then / divisor.
template <class T>
__host__ __device__ inline void avg_pool2d_forward_v2_at(const T* __restrict__ x, T* __restrict__ out,
                                                         const pool2d_detail::Pool2dV2& p, const AvgPoolDivisor& divisor,
                                                         uint32_t o) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(o, p.by_OW, p.by_OH);
    const T* in = x + at.plane * p.in_plane;
    const d::AvgSpan32 hs = d::avg_span_v2(at.row, p.H, p.kh, p.sh, p.ph);
    const d::AvgSpan32 ws = d::avg_span_v2(at.col, p.W, p.kw, p.sw, p.pw);
    T sum = T(0);
    for (int32_t h = hs.begin; h < hs.end; ++h)
        for (int32_t w = ws.begin; w < ws.end; ++w) sum += in[h * p.W + w];
    const int64_t div = d::avg_divisor_v2(hs, ws, divisor);
    out[o] = div != 0 ? sum / static_cast<T>(div) : T(0);
}

/// Output o of a 2x2 stride-2 window wholly inside the map: ((0 + a) + b + c) + d, the CPU's order,
/// over divisor_override or 4 (both divisor rules give 4 for a full unpadded window).
template <class T, bool Paired>
__host__ __device__ inline void avg_pool2d_forward_2x2_v2_at(const T* __restrict__ x, T* __restrict__ out,
                                                             const pool2d_detail::Pool2dV2& p,
                                                             const AvgPoolDivisor& divisor, uint32_t o) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(o, p.by_OW, p.by_OH);
    const T* r0 = x + at.plane * p.in_plane + (2 * at.row * p.W + 2 * at.col);
    T a, b, c, e;
    d::load_pair<T, Paired>(r0, a, b);
    d::load_pair<T, Paired>(r0 + p.W, c, e);
    T sum = T(0);
    sum += a;
    sum += b;
    sum += c;
    sum += e;
    const int64_t div = divisor.divisor_override != 0 ? divisor.divisor_override : 4;
    out[o] = sum / static_cast<T>(div);
}

/// Input cell e: Σ grad_out[oh, ow] / divisor(oh, ow) over the windows that contain it, in the CPU
/// scatter's order: output rows ascending, then its column taps ascending, which is output columns
/// DESCENDING.
template <class T>
__host__ __device__ inline void avg_pool2d_backward_v2_at(const T* __restrict__ grad_out, T* __restrict__ grad_in,
                                                          const pool2d_detail::Pool2dV2& p,
                                                          const AvgPoolDivisor& divisor, uint32_t e) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(e, p.by_W, p.by_H);
    int32_t oh0, oh1, ow0, ow1;
    d::window_covering(at.row + p.ph, p.kh, p.by_sh, p.OH, oh0, oh1);
    d::window_covering(at.col + p.pw, p.kw, p.by_sw, p.OW, ow0, ow1);
    const T* g = grad_out + at.plane * p.out_plane;
    T sum = T(0);
    for (int32_t oh = oh0; oh <= oh1; ++oh) {
        const d::AvgSpan32 hs = d::avg_span_v2(oh, p.H, p.kh, p.sh, p.ph);
        for (int32_t ow = ow1; ow >= ow0; --ow) {
            const d::AvgSpan32 ws = d::avg_span_v2(ow, p.W, p.kw, p.sw, p.pw);
            const int64_t div = d::avg_divisor_v2(hs, ws, divisor);
            sum += div != 0 ? g[oh * p.OW + ow] / static_cast<T>(div) : T(0);
        }
    }
    grad_in[e] = sum;
}

/// 2x2 block q of input cells under a 2x2 stride-2 unpadded window: window (qh, qw), if it exists,
/// covers exactly the block's cells inside the map; each gets 0 + grad / divisor, the others 0.
template <class T, bool Paired>
__host__ __device__ inline void avg_pool2d_backward_2x2_v2_at(const T* __restrict__ grad_out, T* __restrict__ grad_in,
                                                              const pool2d_detail::Pool2dV2& p,
                                                              const AvgPoolDivisor& divisor, uint32_t q) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(q, p.by_QW, p.by_QH);
    const int32_t h = 2 * at.row, w = 2 * at.col;
    T v = T(0);
    if (at.row < p.OH && at.col < p.OW) {
        const d::AvgSpan32 hs = d::avg_span_v2(at.row, p.H, p.kh, p.sh, p.ph);
        const d::AvgSpan32 ws = d::avg_span_v2(at.col, p.W, p.kw, p.sw, p.pw);
        const int64_t div = d::avg_divisor_v2(hs, ws, divisor);
        const T g = grad_out[at.plane * p.out_plane + static_cast<uint32_t>(at.row * p.OW + at.col)];
        v = T(0) + (div != 0 ? g / static_cast<T>(div) : T(0));
    }
    T* dst = grad_in + at.plane * p.in_plane + (h * p.W + w);
    const bool right = w + 1 < p.W;
    d::store_pair<T, Paired>(dst, v, v, right);
    if (h + 1 < p.H) d::store_pair<T, Paired>(dst + p.W, v, v, right);
}

// ----- adaptive pooling, version 2 --------------------------------------------------------------

template <class T>
__host__ __device__ inline void adaptive_avg_pool2d_forward_v2_at(const T* __restrict__ x, T* __restrict__ out,
                                                                  const pool2d_detail::Pool2dV2& p, uint32_t o) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(o, p.by_OW, p.by_OH);
    const T* in = x + at.plane * p.in_plane;
    const int32_t h0 = d::adaptive_begin_v2(at.row, p.H, p.by_OH), h1 = d::adaptive_end_v2(at.row, p.H, p.OH, p.by_OH);
    const int32_t w0 = d::adaptive_begin_v2(at.col, p.W, p.by_OW), w1 = d::adaptive_end_v2(at.col, p.W, p.OW, p.by_OW);
    T sum = T(0);
    for (int32_t h = h0; h < h1; ++h)
        for (int32_t w = w0; w < w1; ++w) sum += in[h * p.W + w];
    out[o] = sum / static_cast<T>(h1 - h0) / static_cast<T>(w1 - w0);
}

/// Input cell e: Σ grad_out / rows / cols over the adaptive windows containing it, outputs in
/// row-major order (the CPU's). Every window of the covering ranges contains the cell.
template <class T>
__host__ __device__ inline void adaptive_avg_pool2d_backward_v2_at(const T* __restrict__ grad_out,
                                                                   T* __restrict__ grad_in,
                                                                   const pool2d_detail::Pool2dV2& p, uint32_t e) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(e, p.by_W, p.by_H);
    int32_t oh0, oh1, ow0, ow1;
    d::adaptive_covering_v2(at.row, p.H, p.OH, p.by_H, oh0, oh1);
    d::adaptive_covering_v2(at.col, p.W, p.OW, p.by_W, ow0, ow1);
    const T* g = grad_out + at.plane * p.out_plane;
    T sum = T(0);
    for (int32_t oh = oh0; oh <= oh1; ++oh) {
        const T rows =
            static_cast<T>(d::adaptive_end_v2(oh, p.H, p.OH, p.by_OH) - d::adaptive_begin_v2(oh, p.H, p.by_OH));
        for (int32_t ow = ow0; ow <= ow1; ++ow) {
            const T cols =
                static_cast<T>(d::adaptive_end_v2(ow, p.W, p.OW, p.by_OW) - d::adaptive_begin_v2(ow, p.W, p.by_OW));
            sum += g[oh * p.OW + ow] / rows / cols;
        }
    }
    grad_in[e] = sum;
}

template <class T>
__host__ __device__ inline void adaptive_max_pool2d_forward_v2_at(const T* __restrict__ x, T* __restrict__ out,
                                                                  int64_t* __restrict__ indices,
                                                                  const pool2d_detail::Pool2dV2& p, uint32_t o) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(o, p.by_OW, p.by_OH);
    const T* in = x + at.plane * p.in_plane;
    const int32_t h0 = d::adaptive_begin_v2(at.row, p.H, p.by_OH), h1 = d::adaptive_end_v2(at.row, p.H, p.OH, p.by_OH);
    const int32_t w0 = d::adaptive_begin_v2(at.col, p.W, p.by_OW), w1 = d::adaptive_end_v2(at.col, p.W, p.OW, p.by_OW);
    T best = d::negative_infinity<T>();
    int32_t best_at = h0 * p.W + w0;  // adaptive windows are never empty (the CPU starts here too)
    for (int32_t h = h0; h < h1; ++h)
        for (int32_t w = w0; w < w1; ++w) {
            const T v = in[h * p.W + w];
            if (d::takes(v, best)) best = v, best_at = h * p.W + w;
        }
    out[o] = best;
    if (indices) indices[o] = best_at;
}

template <class T>
__host__ __device__ inline void adaptive_max_pool2d_backward_v2_at(const T* __restrict__ grad_out,
                                                                   const int64_t* __restrict__ indices,
                                                                   T* __restrict__ grad_in,
                                                                   const pool2d_detail::Pool2dV2& p, uint32_t e) {
    namespace d = pool2d_detail;
    const d::Split at = d::split(e, p.by_W, p.by_H);
    const int32_t cell = at.row * p.W + at.col;
    int32_t oh0, oh1, ow0, ow1;
    d::adaptive_covering_v2(at.row, p.H, p.OH, p.by_H, oh0, oh1);
    d::adaptive_covering_v2(at.col, p.W, p.OW, p.by_W, ow0, ow1);
    const int64_t* ix = indices + at.plane * p.out_plane;
    const T* g = grad_out + at.plane * p.out_plane;
    T sum = T(0);
    for (int32_t oh = oh0; oh <= oh1; ++oh)
        for (int32_t ow = ow0; ow <= ow1; ++ow) {
            const int32_t o = oh * p.OW + ow;
            if (ix[o] == cell) sum += g[o];  // an index lies inside its own window
        }
    grad_in[e] = sum;
}

// ----- version 2 kernels: grid-stride loops over the launch's elements (32-bit; total < 2^31) ---

#define SEAM_POOL2D_V2_LOOP(i, total)                                                                 \
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < (total); i += gridDim.x * blockDim.x)

template <class T>
__global__ void max_pool2d_forward_v2_kernel(const T* __restrict__ x, T* __restrict__ out,
                                             int64_t* __restrict__ indices, pool2d_detail::Pool2dV2 p, uint32_t total) {
    SEAM_POOL2D_V2_LOOP(o, total) max_pool2d_forward_v2_at<T>(x, out, indices, p, o);
}

template <class T, bool Paired>
__global__ void max_pool2d_forward_2x2_v2_kernel(const T* __restrict__ x, T* __restrict__ out,
                                                 int64_t* __restrict__ indices, pool2d_detail::Pool2dV2 p,
                                                 uint32_t total) {
    SEAM_POOL2D_V2_LOOP(o, total) max_pool2d_forward_2x2_v2_at<T, Paired>(x, out, indices, p, o);
}

template <class T>
__global__ void max_pool2d_backward_v2_kernel(const T* __restrict__ grad_out, const int64_t* __restrict__ indices,
                                              T* __restrict__ grad_in, pool2d_detail::Pool2dV2 p, uint32_t total) {
    SEAM_POOL2D_V2_LOOP(e, total) max_pool2d_backward_v2_at<T>(grad_out, indices, grad_in, p, e);
}

template <class T, bool Paired>
__global__ void max_pool2d_backward_2x2_v2_kernel(const T* __restrict__ grad_out, const int64_t* __restrict__ indices,
                                                  T* __restrict__ grad_in, pool2d_detail::Pool2dV2 p, uint32_t total) {
    SEAM_POOL2D_V2_LOOP(q, total) max_pool2d_backward_2x2_v2_at<T, Paired>(grad_out, indices, grad_in, p, q);
}

template <class T>
__global__ void avg_pool2d_forward_v2_kernel(const T* __restrict__ x, T* __restrict__ out, pool2d_detail::Pool2dV2 p,
                                             AvgPoolDivisor divisor, uint32_t total) {
    SEAM_POOL2D_V2_LOOP(o, total) avg_pool2d_forward_v2_at<T>(x, out, p, divisor, o);
}

template <class T, bool Paired>
__global__ void avg_pool2d_forward_2x2_v2_kernel(const T* __restrict__ x, T* __restrict__ out,
                                                 pool2d_detail::Pool2dV2 p, AvgPoolDivisor divisor, uint32_t total) {
    SEAM_POOL2D_V2_LOOP(o, total) avg_pool2d_forward_2x2_v2_at<T, Paired>(x, out, p, divisor, o);
}

template <class T>
__global__ void avg_pool2d_backward_v2_kernel(const T* __restrict__ grad_out, T* __restrict__ grad_in,
                                              pool2d_detail::Pool2dV2 p, AvgPoolDivisor divisor, uint32_t total) {
    SEAM_POOL2D_V2_LOOP(e, total) avg_pool2d_backward_v2_at<T>(grad_out, grad_in, p, divisor, e);
}

template <class T, bool Paired>
__global__ void avg_pool2d_backward_2x2_v2_kernel(const T* __restrict__ grad_out, T* __restrict__ grad_in,
                                                  pool2d_detail::Pool2dV2 p, AvgPoolDivisor divisor, uint32_t total) {
    SEAM_POOL2D_V2_LOOP(q, total) avg_pool2d_backward_2x2_v2_at<T, Paired>(grad_out, grad_in, p, divisor, q);
}

template <class T>
__global__ void adaptive_avg_pool2d_forward_v2_kernel(const T* __restrict__ x, T* __restrict__ out,
                                                      pool2d_detail::Pool2dV2 p, uint32_t total) {
    SEAM_POOL2D_V2_LOOP(o, total) adaptive_avg_pool2d_forward_v2_at<T>(x, out, p, o);
}

template <class T>
__global__ void adaptive_avg_pool2d_backward_v2_kernel(const T* __restrict__ grad_out, T* __restrict__ grad_in,
                                                       pool2d_detail::Pool2dV2 p, uint32_t total) {
    SEAM_POOL2D_V2_LOOP(e, total) adaptive_avg_pool2d_backward_v2_at<T>(grad_out, grad_in, p, e);
}

template <class T>
__global__ void adaptive_max_pool2d_forward_v2_kernel(const T* __restrict__ x, T* __restrict__ out,
                                                      int64_t* __restrict__ indices, pool2d_detail::Pool2dV2 p,
                                                      uint32_t total) {
    SEAM_POOL2D_V2_LOOP(o, total) adaptive_max_pool2d_forward_v2_at<T>(x, out, indices, p, o);
}

template <class T>
__global__ void adaptive_max_pool2d_backward_v2_kernel(const T* __restrict__ grad_out,
                                                       const int64_t* __restrict__ indices, T* __restrict__ grad_in,
                                                       pool2d_detail::Pool2dV2 p, uint32_t total) {
    SEAM_POOL2D_V2_LOOP(e, total) adaptive_max_pool2d_backward_v2_at<T>(grad_out, indices, grad_in, p, e);
}

#undef SEAM_POOL2D_V2_LOOP

// ----- host launchers: return the launch error (cudaSuccess when nothing needed launching) ------

namespace pool2d_detail {
inline bool valid_window(const Pool2dShape& s) {
    // H or W may be 0: padding can still give windows, all empty (-inf and index -1, or 0).
    return s.N >= 0 && s.C >= 0 && s.H >= 0 && s.W >= 0 && s.OH >= 0 && s.OW >= 0 && s.kh > 0 && s.kw > 0 && s.sh > 0 &&
           s.sw > 0 && s.ph >= 0 && s.pw >= 0 && s.dh > 0 && s.dw > 0;
}
inline bool valid_adaptive(const Pool2dShape& s) {
    return s.N >= 0 && s.C >= 0 && s.H > 0 && s.W > 0 && s.OH >= 0 && s.OW >= 0;
}

/// Whether version 2's 32-bit arithmetic holds for this (valid) shape: planes·H·W and planes·OH·OW
/// below 2^31 (flat indices, and the dividends of FastDiv32), and every window quantity the kernels
/// form below 2^31: o·stride + (k-1)·dilation + pad + size per axis, kh·kw (the average divisor),
/// and for adaptive pooling (out+1)·(size+1) (bounds i·size + out and h·out + size).
inline bool fits_v2(const Pool2dShape& s, bool adaptive) {
    constexpr int64_t kMax = 0x7fffffff;
    const int64_t fields[] = {s.N, s.C, s.H, s.W, s.OH, s.OW, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw};
    for (const int64_t v : fields)
        if (v < 0 || v > kMax) return false;
    // From here every product of two fields fits int64.
    const int64_t planes = s.N * s.C, in_plane = s.H * s.W, out_plane = s.OH * s.OW;
    if (planes > kMax || in_plane > kMax || out_plane > kMax) return false;
    if (planes * in_plane > kMax || planes * out_plane > kMax) return false;
    if (adaptive) return (s.OH + 1) * (s.H + 1) <= kMax && (s.OW + 1) * (s.W + 1) <= kMax;
    auto axis = [&](int64_t size, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dilation) {
        return out * stride <= kMax && k * dilation <= kMax && out * stride + k * dilation + pad + size <= kMax;
    };
    return axis(s.H, s.OH, s.kh, s.sh, s.ph, s.dh) && axis(s.W, s.OW, s.kw, s.sw, s.pw, s.dw) && s.kh * s.kw <= kMax;
}

/// The 32-bit geometry of a shape that fits_v2.
inline Pool2dV2 make_v2(const Pool2dShape& s) {
    Pool2dV2 p;
    p.H = static_cast<int32_t>(s.H), p.W = static_cast<int32_t>(s.W);
    p.OH = static_cast<int32_t>(s.OH), p.OW = static_cast<int32_t>(s.OW);
    p.kh = static_cast<int32_t>(s.kh), p.kw = static_cast<int32_t>(s.kw);
    p.sh = static_cast<int32_t>(s.sh), p.sw = static_cast<int32_t>(s.sw);
    p.ph = static_cast<int32_t>(s.ph), p.pw = static_cast<int32_t>(s.pw);
    p.dh = static_cast<int32_t>(s.dh), p.dw = static_cast<int32_t>(s.dw);
    // (Adaptive pooling ignores the window fields, and fits_v2 does not bound them there.)
    p.reach_h = static_cast<int32_t>((s.kh - 1) * s.dh + 1), p.reach_w = static_cast<int32_t>((s.kw - 1) * s.dw + 1);
    p.QH = (p.H + 1) / 2, p.QW = (p.W + 1) / 2;
    p.in_plane = static_cast<uint32_t>(s.H * s.W), p.out_plane = static_cast<uint32_t>(s.OH * s.OW);
    p.by_H = FastDiv32(static_cast<uint32_t>(p.H)), p.by_W = FastDiv32(static_cast<uint32_t>(p.W));
    p.by_OH = FastDiv32(static_cast<uint32_t>(p.OH)), p.by_OW = FastDiv32(static_cast<uint32_t>(p.OW));
    p.by_sh = FastDiv32(static_cast<uint32_t>(p.sh)), p.by_sw = FastDiv32(static_cast<uint32_t>(p.sw));
    p.by_QH = FastDiv32(static_cast<uint32_t>(p.QH)), p.by_QW = FastDiv32(static_cast<uint32_t>(p.QW));
    return p;
}

/// Which version-2 kernel a launcher runs, on how many elements, with how many blocks: the launchers
/// and tests/cuda/test_pool_kernel_logic.cu both take it from plan_v2.
struct Pool2dV2Plan {
    Pool2dV2 p;
    uint32_t total = 0;   // the elements the threads walk: outputs, input cells, or 2x2 blocks of cells
    int blocks = 0;       // of kThreads threads
    bool fast = false;    // the 2x2 stride-2 kernel
    bool paired = false;  // ... with 2-element vector loads (forward) or stores (backward)
};

/// paired_base: the array the fast kernel accesses two elements at a time (x forward, grad_in backward).
template <class T>
inline Pool2dV2Plan plan_v2(const Pool2dShape& s, bool adaptive, bool backward, const T* paired_base) {
    Pool2dV2Plan plan;
    plan.p = make_v2(s);
    const bool window_2x2 = !adaptive && s.kh == 2 && s.kw == 2 && s.sh == 2 && s.sw == 2 && s.ph == 0 && s.pw == 0 &&
                            s.dh == 1 && s.dw == 1;
    // Forward: only where every window lies inside the map. Backward: any OH, OW (a 2x2 block of
    // cells is covered by at most its own window, clipped or not).
    plan.fast = window_2x2 && (backward || (2 * s.OH <= s.H && 2 * s.OW <= s.W));
    plan.paired = plan.fast && s.W % 2 == 0 && reinterpret_cast<uintptr_t>(paired_base) % (2 * sizeof(T)) == 0;
    const int64_t per_plane = !backward ? s.OH * s.OW : plan.fast ? int64_t{plan.p.QH} * plan.p.QW : s.H * s.W;
    plan.total = static_cast<uint32_t>(s.N * s.C * per_plane);
    plan.blocks = blocks_for(plan.total);
    return plan;
}

/// The launch's version: v1 when asked for or when the shape does not fit v2's 32-bit arithmetic.
inline bool use_v2(Pool2dVersion version, const Pool2dShape& s, bool adaptive) {
    return version == Pool2dVersion::v2 && fits_v2(s, adaptive);
}
inline bool valid_version(Pool2dVersion version) {
    return version == Pool2dVersion::v1 || version == Pool2dVersion::v2;
}
}  // namespace pool2d_detail

/// out [N, C, OH, OW]; indices [N, C, OH, OW] or null.
template <class T>
inline cudaError_t max_pool2d_forward(const T* x, T* out, int64_t* indices, const Pool2dShape& s,
                                      cudaStream_t stream = nullptr, Pool2dVersion version = Pool2dVersion::v2) {
    namespace d = pool2d_detail;
    if (!d::valid_window(s) || !d::valid_version(version)) return cudaErrorInvalidValue;
    if (s.outputs() == 0) return cudaSuccess;
    if (!d::use_v2(version, s, false)) {
        max_pool2d_forward_v1_kernel<T><<<d::blocks_for(s.outputs()), d::kThreads, 0, stream>>>(x, out, indices, s);
        return cudaGetLastError();
    }
    const d::Pool2dV2Plan plan = d::plan_v2<T>(s, false, false, x);
    if (plan.paired)
        max_pool2d_forward_2x2_v2_kernel<T, true>
            <<<plan.blocks, d::kThreads, 0, stream>>>(x, out, indices, plan.p, plan.total);
    else if (plan.fast)
        max_pool2d_forward_2x2_v2_kernel<T, false>
            <<<plan.blocks, d::kThreads, 0, stream>>>(x, out, indices, plan.p, plan.total);
    else
        max_pool2d_forward_v2_kernel<T><<<plan.blocks, d::kThreads, 0, stream>>>(x, out, indices, plan.p, plan.total);
    return cudaGetLastError();
}

/// grad_in [N, C, H, W] is overwritten (every element written; no memset needed).
template <class T>
inline cudaError_t max_pool2d_backward(const T* grad_out, const int64_t* indices, T* grad_in, const Pool2dShape& s,
                                       cudaStream_t stream = nullptr, Pool2dVersion version = Pool2dVersion::v2) {
    namespace d = pool2d_detail;
    if (!d::valid_window(s) || !d::valid_version(version)) return cudaErrorInvalidValue;
    if (s.inputs() == 0) return cudaSuccess;
    if (!d::use_v2(version, s, false)) {
        max_pool2d_backward_v1_kernel<T>
            <<<d::blocks_for(s.inputs()), d::kThreads, 0, stream>>>(grad_out, indices, grad_in, s);
        return cudaGetLastError();
    }
    const d::Pool2dV2Plan plan = d::plan_v2<T>(s, false, true, grad_in);
    if (plan.paired)
        max_pool2d_backward_2x2_v2_kernel<T, true>
            <<<plan.blocks, d::kThreads, 0, stream>>>(grad_out, indices, grad_in, plan.p, plan.total);
    else if (plan.fast)
        max_pool2d_backward_2x2_v2_kernel<T, false>
            <<<plan.blocks, d::kThreads, 0, stream>>>(grad_out, indices, grad_in, plan.p, plan.total);
    else
        max_pool2d_backward_v2_kernel<T>
            <<<plan.blocks, d::kThreads, 0, stream>>>(grad_out, indices, grad_in, plan.p, plan.total);
    return cudaGetLastError();
}

template <class T>
inline cudaError_t avg_pool2d_forward(const T* x, T* out, const Pool2dShape& s, const AvgPoolDivisor& divisor,
                                      cudaStream_t stream = nullptr, Pool2dVersion version = Pool2dVersion::v2) {
    namespace d = pool2d_detail;
    if (!d::valid_window(s) || s.dh != 1 || s.dw != 1 || !d::valid_version(version)) return cudaErrorInvalidValue;
    if (s.outputs() == 0) return cudaSuccess;
    if (!d::use_v2(version, s, false)) {
        avg_pool2d_forward_v1_kernel<T><<<d::blocks_for(s.outputs()), d::kThreads, 0, stream>>>(x, out, s, divisor);
        return cudaGetLastError();
    }
    const d::Pool2dV2Plan plan = d::plan_v2<T>(s, false, false, x);
    if (plan.paired)
        avg_pool2d_forward_2x2_v2_kernel<T, true>
            <<<plan.blocks, d::kThreads, 0, stream>>>(x, out, plan.p, divisor, plan.total);
    else if (plan.fast)
        avg_pool2d_forward_2x2_v2_kernel<T, false>
            <<<plan.blocks, d::kThreads, 0, stream>>>(x, out, plan.p, divisor, plan.total);
    else
        avg_pool2d_forward_v2_kernel<T><<<plan.blocks, d::kThreads, 0, stream>>>(x, out, plan.p, divisor, plan.total);
    return cudaGetLastError();
}

template <class T>
inline cudaError_t avg_pool2d_backward(const T* grad_out, T* grad_in, const Pool2dShape& s,
                                       const AvgPoolDivisor& divisor, cudaStream_t stream = nullptr,
                                       Pool2dVersion version = Pool2dVersion::v2) {
    namespace d = pool2d_detail;
    if (!d::valid_window(s) || s.dh != 1 || s.dw != 1 || !d::valid_version(version)) return cudaErrorInvalidValue;
    if (s.inputs() == 0) return cudaSuccess;
    if (!d::use_v2(version, s, false)) {
        avg_pool2d_backward_v1_kernel<T>
            <<<d::blocks_for(s.inputs()), d::kThreads, 0, stream>>>(grad_out, grad_in, s, divisor);
        return cudaGetLastError();
    }
    const d::Pool2dV2Plan plan = d::plan_v2<T>(s, false, true, grad_in);
    if (plan.paired)
        avg_pool2d_backward_2x2_v2_kernel<T, true>
            <<<plan.blocks, d::kThreads, 0, stream>>>(grad_out, grad_in, plan.p, divisor, plan.total);
    else if (plan.fast)
        avg_pool2d_backward_2x2_v2_kernel<T, false>
            <<<plan.blocks, d::kThreads, 0, stream>>>(grad_out, grad_in, plan.p, divisor, plan.total);
    else
        avg_pool2d_backward_v2_kernel<T>
            <<<plan.blocks, d::kThreads, 0, stream>>>(grad_out, grad_in, plan.p, divisor, plan.total);
    return cudaGetLastError();
}

template <class T>
inline cudaError_t adaptive_avg_pool2d_forward(const T* x, T* out, const Pool2dShape& s, cudaStream_t stream = nullptr,
                                               Pool2dVersion version = Pool2dVersion::v2) {
    namespace d = pool2d_detail;
    if (!d::valid_adaptive(s) || !d::valid_version(version)) return cudaErrorInvalidValue;
    if (s.outputs() == 0) return cudaSuccess;
    if (!d::use_v2(version, s, true)) {
        adaptive_avg_pool2d_forward_v1_kernel<T><<<d::blocks_for(s.outputs()), d::kThreads, 0, stream>>>(x, out, s);
        return cudaGetLastError();
    }
    const d::Pool2dV2Plan plan = d::plan_v2<T>(s, true, false, x);
    adaptive_avg_pool2d_forward_v2_kernel<T><<<plan.blocks, d::kThreads, 0, stream>>>(x, out, plan.p, plan.total);
    return cudaGetLastError();
}

/// With OH or OW = 0 every input gradient is 0 (no window covers anything): still written.
template <class T>
inline cudaError_t adaptive_avg_pool2d_backward(const T* grad_out, T* grad_in, const Pool2dShape& s,
                                                cudaStream_t stream = nullptr,
                                                Pool2dVersion version = Pool2dVersion::v2) {
    namespace d = pool2d_detail;
    if (!d::valid_adaptive(s) || !d::valid_version(version)) return cudaErrorInvalidValue;
    if (s.inputs() == 0) return cudaSuccess;
    if (!d::use_v2(version, s, true)) {
        adaptive_avg_pool2d_backward_v1_kernel<T>
            <<<d::blocks_for(s.inputs()), d::kThreads, 0, stream>>>(grad_out, grad_in, s);
        return cudaGetLastError();
    }
    const d::Pool2dV2Plan plan = d::plan_v2<T>(s, true, true, grad_in);
    adaptive_avg_pool2d_backward_v2_kernel<T>
        <<<plan.blocks, d::kThreads, 0, stream>>>(grad_out, grad_in, plan.p, plan.total);
    return cudaGetLastError();
}

template <class T>
inline cudaError_t adaptive_max_pool2d_forward(const T* x, T* out, int64_t* indices, const Pool2dShape& s,
                                               cudaStream_t stream = nullptr,
                                               Pool2dVersion version = Pool2dVersion::v2) {
    namespace d = pool2d_detail;
    if (!d::valid_adaptive(s) || !d::valid_version(version)) return cudaErrorInvalidValue;
    if (s.outputs() == 0) return cudaSuccess;
    if (!d::use_v2(version, s, true)) {
        adaptive_max_pool2d_forward_v1_kernel<T>
            <<<d::blocks_for(s.outputs()), d::kThreads, 0, stream>>>(x, out, indices, s);
        return cudaGetLastError();
    }
    const d::Pool2dV2Plan plan = d::plan_v2<T>(s, true, false, x);
    adaptive_max_pool2d_forward_v2_kernel<T>
        <<<plan.blocks, d::kThreads, 0, stream>>>(x, out, indices, plan.p, plan.total);
    return cudaGetLastError();
}

template <class T>
inline cudaError_t adaptive_max_pool2d_backward(const T* grad_out, const int64_t* indices, T* grad_in,
                                                const Pool2dShape& s, cudaStream_t stream = nullptr,
                                                Pool2dVersion version = Pool2dVersion::v2) {
    namespace d = pool2d_detail;
    if (!d::valid_adaptive(s) || !d::valid_version(version)) return cudaErrorInvalidValue;
    if (s.inputs() == 0) return cudaSuccess;
    if (!d::use_v2(version, s, true)) {
        adaptive_max_pool2d_backward_v1_kernel<T>
            <<<d::blocks_for(s.inputs()), d::kThreads, 0, stream>>>(grad_out, indices, grad_in, s);
        return cudaGetLastError();
    }
    const d::Pool2dV2Plan plan = d::plan_v2<T>(s, true, true, grad_in);
    adaptive_max_pool2d_backward_v2_kernel<T>
        <<<plan.blocks, d::kThreads, 0, stream>>>(grad_out, indices, grad_in, plan.p, plan.total);
    return cudaGetLastError();
}

}  // namespace seam::kernels

#endif  // defined(__CUDACC__)
