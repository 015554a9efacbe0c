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
// Every output is computed with the same operations in the same order as the CPU fast path, so
// forward results are bit-identical to the CPU op's.
//
// Layouts (contiguous, row-major, element offsets in int64):
//   x, grad_in   [N, C, H, W]        out, grad_out, indices   [N, C, OH, OW] (indices int64)
//
// Launch shapes: 1-D blocks of 256 threads, grid-stride loops (grid capped at 2^20 blocks).
//   forward    one thread per output element; consecutive threads take neighbouring output
//              columns of one plane, so their window reads overlap in cache lines.
//   backward   one thread per INPUT element, a GATHER: the thread visits the outputs whose window
//              can contain its cell (at most kh*kw of them, found by inverting the window
//              formula; for adaptive pooling a contiguous range of rows and columns) and adds
//              their contributions in the CPU's order (output rows ascending, then columns; for
//              average pooling the CPU's tap order), then writes its gradient once. No atomics,
//              no zeroing pass: deterministic (the same bits on every run, the library's rule)
//              and equal to the CPU's sums. The price is kh*kw index reads per input cell
//              instead of one scatter per output; for the common non-overlapping windows
//              (stride >= kernel) each input cell has at most one candidate, so the gather
//              reads about as much as a scatter would, and needs no memset. A scatter with
//              atomicAdd (PyTorch's adaptive pooling backward) gives order-dependent float sums.
//
// Versions tried: only this one. Nothing here has been timed on a GPU yet (no GPU so far):
// bench/bench_conv_pool_cuda.cu times the forward and backward passes against cuDNN pooling.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <cstdint>

namespace seam::kernels {

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

/// The max-pooling update rule of the CPU (ops/pool.hpp max_pool_takes).
template <class T>
__device__ inline bool takes(T v, T current) {
    return v > current || isnan(v);
}

template <class T>
__device__ inline T negative_infinity();
template <>
__device__ inline float negative_infinity<float>() { return -__int_as_float(0x7f800000); }
template <>
__device__ inline double negative_infinity<double>() { return -__longlong_as_double(0x7ff0000000000000LL); }

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

// ----- max pooling ----------------------------------------------------------------------------

/// indices may be null (inference).
template <class T>
__global__ void max_pool2d_forward_kernel(const T* __restrict__ x, T* __restrict__ out, int64_t* __restrict__ indices,
                                          Pool2dShape s) {
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
__global__ void max_pool2d_backward_kernel(const T* __restrict__ grad_out, const int64_t* __restrict__ indices,
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
__global__ void avg_pool2d_forward_kernel(const T* __restrict__ x, T* __restrict__ out, Pool2dShape s,
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
__global__ void avg_pool2d_backward_kernel(const T* __restrict__ grad_out, T* __restrict__ grad_in, Pool2dShape s,
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
__global__ void adaptive_avg_pool2d_forward_kernel(const T* __restrict__ x, T* __restrict__ out, Pool2dShape s) {
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
__global__ void adaptive_avg_pool2d_backward_kernel(const T* __restrict__ grad_out, T* __restrict__ grad_in,
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
__global__ void adaptive_max_pool2d_forward_kernel(const T* __restrict__ x, T* __restrict__ out,
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
__global__ void adaptive_max_pool2d_backward_kernel(const T* __restrict__ grad_out, const int64_t* __restrict__ indices,
                                                    T* __restrict__ grad_in, Pool2dShape s) {
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
}  // namespace pool2d_detail

/// out [N, C, OH, OW]; indices [N, C, OH, OW] or null.
template <class T>
inline cudaError_t max_pool2d_forward(const T* x, T* out, int64_t* indices, const Pool2dShape& s,
                                      cudaStream_t stream = nullptr) {
    namespace d = pool2d_detail;
    if (!d::valid_window(s)) return cudaErrorInvalidValue;
    if (s.outputs() == 0) return cudaSuccess;
    max_pool2d_forward_kernel<T><<<d::blocks_for(s.outputs()), d::kThreads, 0, stream>>>(x, out, indices, s);
    return cudaGetLastError();
}

/// grad_in [N, C, H, W] is overwritten (every element written; no memset needed).
template <class T>
inline cudaError_t max_pool2d_backward(const T* grad_out, const int64_t* indices, T* grad_in, const Pool2dShape& s,
                                       cudaStream_t stream = nullptr) {
    namespace d = pool2d_detail;
    if (!d::valid_window(s)) return cudaErrorInvalidValue;
    if (s.inputs() == 0) return cudaSuccess;
    max_pool2d_backward_kernel<T><<<d::blocks_for(s.inputs()), d::kThreads, 0, stream>>>(grad_out, indices, grad_in, s);
    return cudaGetLastError();
}

template <class T>
inline cudaError_t avg_pool2d_forward(const T* x, T* out, const Pool2dShape& s, const AvgPoolDivisor& divisor,
                                      cudaStream_t stream = nullptr) {
    namespace d = pool2d_detail;
    if (!d::valid_window(s) || s.dh != 1 || s.dw != 1) return cudaErrorInvalidValue;
    if (s.outputs() == 0) return cudaSuccess;
    avg_pool2d_forward_kernel<T><<<d::blocks_for(s.outputs()), d::kThreads, 0, stream>>>(x, out, s, divisor);
    return cudaGetLastError();
}

template <class T>
inline cudaError_t avg_pool2d_backward(const T* grad_out, T* grad_in, const Pool2dShape& s,
                                       const AvgPoolDivisor& divisor, cudaStream_t stream = nullptr) {
    namespace d = pool2d_detail;
    if (!d::valid_window(s) || s.dh != 1 || s.dw != 1) return cudaErrorInvalidValue;
    if (s.inputs() == 0) return cudaSuccess;
    avg_pool2d_backward_kernel<T><<<d::blocks_for(s.inputs()), d::kThreads, 0, stream>>>(grad_out, grad_in, s, divisor);
    return cudaGetLastError();
}

template <class T>
inline cudaError_t adaptive_avg_pool2d_forward(const T* x, T* out, const Pool2dShape& s, cudaStream_t stream = nullptr) {
    namespace d = pool2d_detail;
    if (!d::valid_adaptive(s)) return cudaErrorInvalidValue;
    if (s.outputs() == 0) return cudaSuccess;
    adaptive_avg_pool2d_forward_kernel<T><<<d::blocks_for(s.outputs()), d::kThreads, 0, stream>>>(x, out, s);
    return cudaGetLastError();
}

/// With OH or OW = 0 every input gradient is 0 (no window covers anything): still written.
template <class T>
inline cudaError_t adaptive_avg_pool2d_backward(const T* grad_out, T* grad_in, const Pool2dShape& s,
                                                cudaStream_t stream = nullptr) {
    namespace d = pool2d_detail;
    if (!d::valid_adaptive(s)) return cudaErrorInvalidValue;
    if (s.inputs() == 0) return cudaSuccess;
    adaptive_avg_pool2d_backward_kernel<T><<<d::blocks_for(s.inputs()), d::kThreads, 0, stream>>>(grad_out, grad_in, s);
    return cudaGetLastError();
}

template <class T>
inline cudaError_t adaptive_max_pool2d_forward(const T* x, T* out, int64_t* indices, const Pool2dShape& s,
                                               cudaStream_t stream = nullptr) {
    namespace d = pool2d_detail;
    if (!d::valid_adaptive(s)) return cudaErrorInvalidValue;
    if (s.outputs() == 0) return cudaSuccess;
    adaptive_max_pool2d_forward_kernel<T><<<d::blocks_for(s.outputs()), d::kThreads, 0, stream>>>(x, out, indices, s);
    return cudaGetLastError();
}

template <class T>
inline cudaError_t adaptive_max_pool2d_backward(const T* grad_out, const int64_t* indices, T* grad_in,
                                                const Pool2dShape& s, cudaStream_t stream = nullptr) {
    namespace d = pool2d_detail;
    if (!d::valid_adaptive(s)) return cudaErrorInvalidValue;
    if (s.inputs() == 0) return cudaSuccess;
    adaptive_max_pool2d_backward_kernel<T>
        <<<d::blocks_for(s.inputs()), d::kThreads, 0, stream>>>(grad_out, indices, grad_in, s);
    return cudaGetLastError();
}

}  // namespace seam::kernels

#endif  // defined(__CUDACC__)
