// kernels/seam/gather_scatter.cuh — gather and scatter_add along one dimension (seam::gather,
// seam::scatter_add of ops/shape_ops.hpp) on a GPU.
//
// What it computes, for dimension d (shown for d = 1 of a 3-D tensor):
//   gather       out[i][j][k] = x[i][index[i][j][k]][k]                 out has the index's shape
//   scatter_add  out[i][index[i][j][k]][k] += src[i][j][k]              out starts as a copy of x;
//                                                                       src has the index's shape
// The index may be smaller than x in every dimension but d (the CPU op's rule). An index value
// outside [0, x.size(d)) is never followed: the element is skipped and the smallest such linear
// position (over the index, row-major) is recorded in *bad by an atomic min, which the op reads
// back to raise the CPU op's error; *bad must hold INT64_MAX before the launch.
//
// Determinism: scatter_add's contributions to one destination differ only in their coordinate
// along d, so they all come from one "line" of the index (its elements with every other
// coordinate fixed). One thread owns a line and adds its elements in increasing position along d,
// from the value x put there: the CPU op's order, so float results are bit for bit the CPU's. No
// atomics on values; lines are disjoint in out.
//
// Layouts: x (and out of scatter_add) contiguous with shape x_shape; index, src and gather's out
// contiguous with shape index_shape; rank ≤ kMaxDims (the op checks).
//
// Launch shapes: gather, one thread per index element (grid-stride, 256 threads); scatter_add,
// one thread per line (index.numel() / index_shape[d] of them), each walking index_shape[d]
// elements. A tensor of few, long lines (a 1-D scatter of 10^6 elements: one line) runs on few
// threads — correct and deterministic, not fast; the usual uses (the gradient of gather over a
// class dimension, many short lines) fill the GPU.
//
// The per-element and per-line work is host-callable: tests/cuda/test_cuda_kernel_logic.cu runs it
// for every thread of a launch against the CPU op's definition.
//
// Versions tried: only this one. Measured on an H200 (bench_elementwise_cuda's third table, two
// runs of 2026-11-27: bench/results/gpu-h200-2026-11-27-run5.md and -run6.md;
// along dim 1 of [65536, 1024] with an int64 index, % of seam's
// 3.83 TB/s copy for the bytes each must move): gather 0.46 ms (60-61 %), scatter_add 5.2-5.3 ms
// (7 %) — its thread-per-line walk (neighbouring threads 4 KB apart) is the weak spot.
#pragma once

#include <cstdint>


#include "seam/common.cuh"

namespace seam::kernels {

/// The geometry both kernels share: the index's sizes, x's and the index's strides (elements),
/// the dimension and x's size along it.
struct GatherGeometry {
    int rank = 0, dim = 0;
    int64_t x_size_along = 0;  // x.size(dim): the valid range of index values
    int64_t index_sizes[kMaxDims] = {};
    int64_t x_strides[kMaxDims] = {};
    int64_t index_strides[kMaxDims] = {};

    /// gather's element e (a linear position in the index): the x offset it reads, or -1 for an
    /// index value out of range.
    SEAM_HOST_DEVICE int64_t gather_source(int64_t e, int64_t value) const {
        if (value < 0 || value >= x_size_along) return -1;
        int64_t offset = value * x_strides[dim];
        for (int r = rank - 1; r >= 0; --r) {
            const int64_t c = e % index_sizes[r];
            e /= index_sizes[r];
            if (r != dim) offset += c * x_strides[r];
        }
        return offset;
    }

    /// The number of lines along dim (index elements with every other coordinate fixed).
    SEAM_HOST_DEVICE int64_t lines() const {
        int64_t n = 1;
        for (int r = 0; r < rank; ++r)
            if (r != dim) n *= index_sizes[r];
        return n;
    }

    /// Line l's first index element and its first x element (coordinate 0 along dim).
    SEAM_HOST_DEVICE void line_start(int64_t l, int64_t& index_offset, int64_t& x_offset) const {
        index_offset = 0, x_offset = 0;
        for (int r = rank - 1; r >= 0; --r) {
            if (r == dim) continue;
            const int64_t c = l % index_sizes[r];
            l /= index_sizes[r];
            index_offset += c * index_strides[r];
            x_offset += c * x_strides[r];
        }
    }
};

/// scatter_add of line l: out[x_offset + index[t]·x_stride] += src[t] along the line, in order;
/// a value out of range is skipped and its position returned through `bad` (the smallest, or
/// unchanged when none).
template <class T>
SEAM_HOST_DEVICE void scatter_add_line(const GatherGeometry& g, int64_t l, T* out, const int64_t* index, const T* src,
                                       int64_t& bad) {
    int64_t index_offset = 0, x_offset = 0;
    g.line_start(l, index_offset, x_offset);
    const int64_t n = g.index_sizes[g.dim], step = g.index_strides[g.dim], x_step = g.x_strides[g.dim];
    for (int64_t t = 0; t < n; ++t) {
        const int64_t at = index_offset + t * step;
        const int64_t value = index[at];
        if (value < 0 || value >= g.x_size_along) {
            if (at < bad) bad = at;
            continue;
        }
        T* d = out + x_offset + value * x_step;
        *d = *d + src[at];
    }
}

#if defined(__CUDACC__)

namespace gather_scatter_detail {

__device__ inline void record_bad(int64_t* bad, int64_t at) {
    atomicMin(reinterpret_cast<unsigned long long*>(bad), static_cast<unsigned long long>(at));  // at >= 0
}

template <class T>
__global__ void __launch_bounds__(kThreads) gather_kernel(GatherGeometry g, const T* __restrict__ x,
                                                           const int64_t* __restrict__ index, T* __restrict__ out,
                                                           int64_t n, int64_t* bad) {
    SEAM_GRID_STRIDE_LOOP(e, n) {
        const int64_t source = g.gather_source(e, index[e]);
        if (source < 0) {
            record_bad(bad, e);
            out[e] = T(0);
        } else {
            out[e] = x[source];
        }
    }
}

template <class T>
__global__ void __launch_bounds__(kThreads) scatter_add_kernel(GatherGeometry g, T* out, const int64_t* __restrict__ index,
                                                                const T* __restrict__ src, int64_t lines, int64_t* bad) {
    SEAM_GRID_STRIDE_LOOP(l, lines) {
        int64_t first_bad = INT64_MAX;
        scatter_add_line(g, l, out, index, src, first_bad);
        if (first_bad != INT64_MAX) record_bad(bad, first_bad);
    }
}

}  // namespace gather_scatter_detail

/// The geometry of a gather or scatter_add (checked by the op: same rank ≤ kMaxDims, index no
/// larger than x off dim). Contiguous strides for x and the index.
inline GatherGeometry gather_geometry(const Shape& x_shape, int64_t dim, const Shape& index_shape) {
    GatherGeometry g;
    g.rank = static_cast<int>(x_shape.size());
    g.dim = static_cast<int>(dim);
    g.x_size_along = x_shape[size_t(dim)];
    int64_t xs = 1, is = 1;
    for (int r = g.rank - 1; r >= 0; --r) {
        g.index_sizes[r] = index_shape[size_t(r)];
        g.x_strides[r] = xs, g.index_strides[r] = is;
        xs *= x_shape[size_t(r)], is *= index_shape[size_t(r)];
    }
    return g;
}

template <class T>
inline void gather(const T* x, const Shape& x_shape, int64_t dim, const int64_t* index, const Shape& index_shape, T* out,
                   int64_t* bad, cudaStream_t stream) {
    const GatherGeometry g = gather_geometry(x_shape, dim, index_shape);
    int64_t n = 1;
    for (int64_t s : index_shape) n *= s;
    if (n == 0) return;
    gather_scatter_detail::gather_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(g, x, index, out, n, bad);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

template <class T>
inline void scatter_add(T* out, const Shape& x_shape, int64_t dim, const int64_t* index, const Shape& index_shape,
                        const T* src, int64_t* bad, cudaStream_t stream) {
    const GatherGeometry g = gather_geometry(x_shape, dim, index_shape);
    if (g.index_sizes[g.dim] == 0) return;
    const int64_t lines = g.lines();
    if (lines == 0) return;
    gather_scatter_detail::scatter_add_kernel<T><<<grid_for(lines), kThreads, 0, stream>>>(g, out, index, src, lines, bad);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

#endif  // defined(__CUDACC__)

}  // namespace seam::kernels
