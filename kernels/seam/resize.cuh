// kernels/seam/resize.cuh — nearest and bilinear resampling of NCHW maps (upsample_nearest2d and
// upsample_bilinear2d of include/seam/ops/resize.hpp), forward and backward.
//
// What it computes: the rules of ops/resize.hpp (PyTorch's F.interpolate). The coordinate
// arithmetic is not redone here: the host builds, with the CPU op's own functions
// (detail::nearest_source, detail::linear_taps), one table per axis — for every output coordinate
// o its input neighbours i0[o], i1[o] and weights w0[o], w1[o] (nearest reads i0 only) — so the
// indices and weights are the CPU's bits whatever either compiler does with floating-point
// contraction, and align_corners, explicit sizes and scale factors are all just different tables.
//   nearest forward    out[n,c,oh,ow] = x[n,c,i0h[oh],i0w[ow]]                       (a copy: exact)
//   bilinear forward   top = x[i0h, i0w]·w0w + x[i0h, i1w]·w1w, bottom the same on row i1h,
//                      out = top·w0h + bottom·w1h                          (the CPU's order, in T)
//   backward (both)    the transpose, computed as a GATHER: one thread per INPUT element (n, c, ih,
//                      iw) visits the output rows that read row ih — readers_begin/readers_end give
//                      per input coordinate a range of output coordinates containing every reader;
//                      each candidate is tested against i0/i1 — and, inside them, the output
//                      columns that read iw, adding the contributions in the CPU's order:
//                        nearest   output rows ascending, then columns ascending: the CPU's sums,
//                                  bit for bit (additions only);
//                        bilinear  for each output column ascending: the column's vertical blend
//                                  over the output rows ascending (w0h then w1h within a row), then
//                                  its horizontal weight(s) w0w, w1w — the order of the CPU's
//                                  two-stage spread; equal up to nvcc's contraction of a·b + c
//                                  into one fma.
//                      Every grad_in element is written exactly once: no atomics, no zeroing pass,
//                      deterministic (the same bits on every run and GPU).
//
// Layouts (contiguous, row-major): x, grad_in [N, C, H, W]; out, grad_out [N, C, OH, OW]. Per axis
// (rows: in = H, out = OH; columns: in = W, out = OW): i0, i1 int64 [out], w0, w1 T [out] (bilinear
// only), readers_begin, readers_end int64 [in] (backward only).
//
// Launch shapes: 1-D blocks of 256 threads, grid-stride loops (grid capped at one wave, common.cuh).
//   forward    one thread per output element, neighbouring threads on neighbouring output columns.
//   backward   one thread per input element, neighbouring threads on neighbouring input columns;
//              its work is (output rows reading ih) × (output columns reading iw): about
//              (OH/H + 1)·(OW/W + 1) candidates for nearest and twice that per axis for bilinear
//              when upsampling, one or two per axis when downsampling.
//
// Versions tried (SEAM_RESIZE_VERSION=1|2, read at every launch; default 2):
//   v1  the linear index split with 64-bit divisions. Measured on an H200 (bench_elementwise_cuda's
//       third table, runs of 2026-11-27: bench/results/gpu-h200-2026-11-27-run5.md to -run7.md; x2
//       from [256, 64, 32, 32], % of seam's 3.83 TB/s copy for the bytes each must move): nearest
//       forward 0.42-0.44 ms (20 %), bilinear forward 0.48-0.49 ms (17-18 %), bilinear forward +
//       backward 1.17-1.18 ms (15 %).
//   v2  (default, maps below 2^31 elements) the same per-element arithmetic after a 32-bit split by
//       FastDivisors (details at "version 2" below). NOT YET TIMED: written on 2026-11-28 without a
//       GPU; tests/cuda/test_cuda_kernel_logic.cu checks the split against the divisions and every
//       element's result against version 1's, bit for bit.
// Weak spot to look at next: the bilinear backward blends each output column's rows again for each
// of the (one or two) input columns that read it.
#pragma once

#include <cstdint>

#include "seam/common.cuh"

namespace seam::kernels {

struct ResizeShape {
    int64_t N = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0;
};

/// One axis of a resampling (see the header): device arrays, null where the kernel does not read them.
template <class T>
struct ResizeAxis {
    const int64_t* i0 = nullptr;             // [out]
    const int64_t* i1 = nullptr;             // [out], bilinear
    const T* w0 = nullptr;                   // [out], bilinear
    const T* w1 = nullptr;                   // [out], bilinear
    const int64_t* readers_begin = nullptr;  // [in], backward
    const int64_t* readers_end = nullptr;    // [in], backward
};

// What one thread computes, for element e (row-major linear index) of its output: plain functions,
// host-callable, so tests/cuda/test_cuda_kernel_logic.cu runs the kernels' own arithmetic on the CPU.

// Each takes the element's (plane, row, column); the overloads below take its linear index.

template <class T>
SEAM_HOST_DEVICE T nearest_forward_at(const T* x, const ResizeShape& s, const ResizeAxis<T>& rows,
                                      const ResizeAxis<T>& cols, int64_t plane, int64_t oh, int64_t ow) {
    return x[(plane * s.H + rows.i0[oh]) * s.W + cols.i0[ow]];
}

template <class T>
SEAM_HOST_DEVICE T nearest_backward_at(const T* grad_out, const ResizeShape& s, const ResizeAxis<T>& rows,
                                       const ResizeAxis<T>& cols, int64_t plane, int64_t ih, int64_t iw) {
    const T* g = grad_out + plane * s.OH * s.OW;
    const int64_t w_begin = cols.readers_begin[iw], w_end = cols.readers_end[iw];
    T acc = T(0);
    for (int64_t oh = rows.readers_begin[ih]; oh < rows.readers_end[ih]; ++oh) {
        if (rows.i0[oh] != ih) continue;
        for (int64_t ow = w_begin; ow < w_end; ++ow)
            if (cols.i0[ow] == iw) acc += g[oh * s.OW + ow];
    }
    return acc;
}

template <class T>
SEAM_HOST_DEVICE T bilinear_forward_at(const T* x, const ResizeShape& s, const ResizeAxis<T>& rows,
                                       const ResizeAxis<T>& cols, int64_t plane, int64_t oh, int64_t ow) {
    const T* top = x + (plane * s.H + rows.i0[oh]) * s.W;
    const T* bottom = x + (plane * s.H + rows.i1[oh]) * s.W;
    const int64_t left = cols.i0[ow], right = cols.i1[ow];
    const T wl = cols.w0[ow], wr = cols.w1[ow];
    const T t = top[left] * wl + top[right] * wr;
    const T b = bottom[left] * wl + bottom[right] * wr;
    return t * rows.w0[oh] + b * rows.w1[oh];
}

template <class T>
SEAM_HOST_DEVICE T bilinear_backward_at(const T* grad_out, const ResizeShape& s, const ResizeAxis<T>& rows,
                                        const ResizeAxis<T>& cols, int64_t plane, int64_t ih, int64_t iw) {
    const T* g = grad_out + plane * s.OH * s.OW;
    const int64_t h_begin = rows.readers_begin[ih], h_end = rows.readers_end[ih];
    T acc = T(0);
    for (int64_t ow = cols.readers_begin[iw]; ow < cols.readers_end[iw]; ++ow) {
        const bool via_left = cols.i0[ow] == iw, via_right = cols.i1[ow] == iw;
        if (!via_left && !via_right) continue;
        // The CPU's first stage: output rows blended into input row ih, rows ascending.
        T blended = T(0);
        for (int64_t oh = h_begin; oh < h_end; ++oh) {
            const T v = g[oh * s.OW + ow];
            if (rows.i0[oh] == ih) blended += v * rows.w0[oh];
            if (rows.i1[oh] == ih) blended += v * rows.w1[oh];
        }
        // Its second stage: that blended row spread across, left weight first.
        if (via_left) acc += blended * cols.w0[ow];
        if (via_right) acc += blended * cols.w1[ow];
    }
    return acc;
}

// Version 1's split of a linear index: e → (e / (cols·rows), (e / cols) % rows, e % cols) in 64 bits.
template <class T>
SEAM_HOST_DEVICE T nearest_forward_at(const T* x, const ResizeShape& s, const ResizeAxis<T>& rows,
                                      const ResizeAxis<T>& cols, int64_t e) {
    return nearest_forward_at(x, s, rows, cols, e / (s.OW * s.OH), (e / s.OW) % s.OH, e % s.OW);
}
template <class T>
SEAM_HOST_DEVICE T nearest_backward_at(const T* grad_out, const ResizeShape& s, const ResizeAxis<T>& rows,
                                       const ResizeAxis<T>& cols, int64_t e) {
    return nearest_backward_at(grad_out, s, rows, cols, e / (s.W * s.H), (e / s.W) % s.H, e % s.W);
}
template <class T>
SEAM_HOST_DEVICE T bilinear_forward_at(const T* x, const ResizeShape& s, const ResizeAxis<T>& rows,
                                       const ResizeAxis<T>& cols, int64_t e) {
    return bilinear_forward_at(x, s, rows, cols, e / (s.OW * s.OH), (e / s.OW) % s.OH, e % s.OW);
}
template <class T>
SEAM_HOST_DEVICE T bilinear_backward_at(const T* grad_out, const ResizeShape& s, const ResizeAxis<T>& rows,
                                        const ResizeAxis<T>& cols, int64_t e) {
    return bilinear_backward_at(grad_out, s, rows, cols, e / (s.W * s.H), (e / s.W) % s.H, e % s.W);
}

// ----- version 2: the index split in 32 bits ---------------------------------------------------------
//
// Version 1 splits every element's 64-bit linear index with three 64-bit divisions and remainders,
// each a long instruction sequence on the GPU (no 64-bit divide unit): about what its measured
// 0.43 ms for the nearest x2 forward of [256, 64, 32, 32] costs (67M outputs, 20 % of the copy
// rate). Version 2 (the default; SEAM_RESIZE_VERSION=1 restores version 1) splits the index with two
// FastDivisors (fast_divisor.cuh: a multiply-high and a shift each) when the map has fewer than
// 2^31 elements, then runs the same per-element arithmetic, so its results are version 1's bits.

/// e → (plane, row, col) for a map of `rows` × `cols` planes, e < 2^31.
struct ResizeSplit {
    FastDivisor cols, rows;
    SEAM_HOST_DEVICE void split(int e, int64_t& plane, int64_t& row, int64_t& col) const {
        const int q = cols.div(e);  // e / cols
        const int p = rows.div(q);  // e / (cols · rows)
        col = e - q * cols.d;
        row = q - p * rows.d;
        plane = p;
    }
};

/// Version 2 takes maps of fewer than 2^31 elements (the FastDivisor range).
inline bool resize_v2_fits(int64_t elements) { return elements < (int64_t(1) << 31); }

inline int resize_version(int64_t elements) {
    const int v = kernel_version("SEAM_RESIZE_VERSION", 2);
    return v == 2 && !resize_v2_fits(elements) ? 1 : v;
}

/// The split of an output map (forward) or an input map (backward); rows, cols ≥ 1 when elements > 0.
inline ResizeSplit resize_split(int64_t rows, int64_t cols) {
    ResizeSplit sp;
    sp.cols = FastDivisor(static_cast<int>(std::max<int64_t>(cols, 1)));
    sp.rows = FastDivisor(static_cast<int>(std::max<int64_t>(rows, 1)));
    return sp;
}

/// Op: 0 nearest forward, 1 nearest backward, 2 bilinear forward, 3 bilinear backward.
template <int Op, class T>
SEAM_HOST_DEVICE T resize_at(const T* src, const ResizeShape& s, const ResizeAxis<T>& rows, const ResizeAxis<T>& cols,
                             const ResizeSplit& sp, int e) {
    int64_t plane, r, c;
    sp.split(e, plane, r, c);
    if constexpr (Op == 0) return nearest_forward_at(src, s, rows, cols, plane, r, c);
    else if constexpr (Op == 1) return nearest_backward_at(src, s, rows, cols, plane, r, c);
    else if constexpr (Op == 2) return bilinear_forward_at(src, s, rows, cols, plane, r, c);
    else return bilinear_backward_at(src, s, rows, cols, plane, r, c);
}

template <int Op, class T>
__global__ void __launch_bounds__(kThreads)
    resize_v2_kernel(const T* src, T* dst, int64_t n, ResizeShape s, ResizeAxis<T> rows, ResizeAxis<T> cols,
                     ResizeSplit sp) {
    SEAM_GRID_STRIDE_LOOP(e, n) { dst[e] = resize_at<Op>(src, s, rows, cols, sp, static_cast<int>(e)); }
}

/// Version 2's launch of op Op over n elements (the map split by sp).
template <int Op, class T>
inline void resize_v2(const T* src, T* dst, int64_t n, const ResizeShape& s, const ResizeAxis<T>& rows,
                      const ResizeAxis<T>& cols, const ResizeSplit& sp, cudaStream_t stream) {
    resize_v2_kernel<Op, T><<<grid_for(n), kThreads, 0, stream>>>(src, dst, n, s, rows, cols, sp);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

template <class T>
__global__ void upsample_nearest2d_forward_kernel(const T* x, T* out, ResizeShape s, ResizeAxis<T> rows,
                                                  ResizeAxis<T> cols) {
    SEAM_GRID_STRIDE_LOOP(e, s.N * s.C * s.OH * s.OW) { out[e] = nearest_forward_at(x, s, rows, cols, e); }
}

template <class T>
__global__ void upsample_nearest2d_backward_kernel(const T* grad_out, T* grad_in, ResizeShape s, ResizeAxis<T> rows,
                                                   ResizeAxis<T> cols) {
    SEAM_GRID_STRIDE_LOOP(e, s.N * s.C * s.H * s.W) { grad_in[e] = nearest_backward_at(grad_out, s, rows, cols, e); }
}

template <class T>
__global__ void upsample_bilinear2d_forward_kernel(const T* x, T* out, ResizeShape s, ResizeAxis<T> rows,
                                                   ResizeAxis<T> cols) {
    SEAM_GRID_STRIDE_LOOP(e, s.N * s.C * s.OH * s.OW) { out[e] = bilinear_forward_at(x, s, rows, cols, e); }
}

template <class T>
__global__ void upsample_bilinear2d_backward_kernel(const T* grad_out, T* grad_in, ResizeShape s, ResizeAxis<T> rows,
                                                    ResizeAxis<T> cols) {
    SEAM_GRID_STRIDE_LOOP(e, s.N * s.C * s.H * s.W) { grad_in[e] = bilinear_backward_at(grad_out, s, rows, cols, e); }
}

template <class T>
inline void upsample_nearest2d_forward(const T* x, T* out, const ResizeShape& s, const ResizeAxis<T>& rows,
                                       const ResizeAxis<T>& cols, cudaStream_t stream) {
    const int64_t n = s.N * s.C * s.OH * s.OW;
    if (n == 0) return;
    if (resize_version(n) >= 2) {
        resize_v2<0, T>(x, out, n, s, rows, cols, resize_split(s.OH, s.OW), stream);
        return;
    }
    upsample_nearest2d_forward_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(x, out, s, rows, cols);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

template <class T>
inline void upsample_nearest2d_backward(const T* grad_out, T* grad_in, const ResizeShape& s, const ResizeAxis<T>& rows,
                                        const ResizeAxis<T>& cols, cudaStream_t stream) {
    const int64_t n = s.N * s.C * s.H * s.W;
    if (n == 0) return;
    if (resize_version(n) >= 2) {
        resize_v2<1, T>(grad_out, grad_in, n, s, rows, cols, resize_split(s.H, s.W), stream);
        return;
    }
    upsample_nearest2d_backward_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(grad_out, grad_in, s, rows, cols);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

template <class T>
inline void upsample_bilinear2d_forward(const T* x, T* out, const ResizeShape& s, const ResizeAxis<T>& rows,
                                        const ResizeAxis<T>& cols, cudaStream_t stream) {
    const int64_t n = s.N * s.C * s.OH * s.OW;
    if (n == 0) return;
    if (resize_version(n) >= 2) {
        resize_v2<2, T>(x, out, n, s, rows, cols, resize_split(s.OH, s.OW), stream);
        return;
    }
    upsample_bilinear2d_forward_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(x, out, s, rows, cols);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

template <class T>
inline void upsample_bilinear2d_backward(const T* grad_out, T* grad_in, const ResizeShape& s, const ResizeAxis<T>& rows,
                                         const ResizeAxis<T>& cols, cudaStream_t stream) {
    const int64_t n = s.N * s.C * s.H * s.W;
    if (n == 0) return;
    if (resize_version(n) >= 2) {
        resize_v2<3, T>(grad_out, grad_in, n, s, rows, cols, resize_split(s.H, s.W), stream);
        return;
    }
    upsample_bilinear2d_backward_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(grad_out, grad_in, s, rows, cols);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace seam::kernels
