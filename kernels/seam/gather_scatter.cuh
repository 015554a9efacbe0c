// kernels/seam/gather_scatter.cuh — gather and scatter_add along one dimension (seam::gather,
// seam::scatter_add of ops/shape_ops.hpp) on a GPU.
//
// What it computes, for dimension d (shown for d = 1 of a 3-D tensor):
//   gather       out[i][j][k] = x[i][index[i][j][k]][k]                 out has the index's shape
//   scatter_add  out[i][index[i][j][k]][k] += src[i][j][k]              out starts as a copy of x
//                                                                       (scatter_add: out holds it;
//                                                                       scatter_add_onto: x, or zeros,
//                                                                       is copied in); src has the
//                                                                       index's shape
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
// Launch shapes: version 1: gather, one thread per index element (grid-stride, 256 threads);
// scatter_add, one thread per line (index.numel() / index_shape[d] of them), each walking
// index_shape[d] elements. A tensor of few, long lines (a 1-D scatter of 10^6 elements: one line)
// runs on few threads — correct and deterministic, not fast. Version 2: gather, one thread per
// 16-byte group of the output (grid-stride); scatter_add along the last dimension, a group of
// lanes per line (row_group.cuh: 256-thread blocks, 256 / lanes lines a block, grid-stride) with a
// 256-element shared tile a block.
//
// The per-element, per-group, per-line and per-lane work is host-callable:
// tests/cuda/test_cuda_kernel_logic.cu runs version 1's for every thread of a launch against the
// CPU op's definition, tests/cuda/test_gather_scatter_kernel_logic.cu emulates version 2's
// launches (every block, warp and lane; the warp match replayed lane by lane).
//
// Versions tried (SEAM_GATHER_VERSION=1|2, read at every launch, for both ops; default 2):
//   v1  the loops above. Measured on an H200 (bench_elementwise_cuda's third table, runs of
//       2026-11-27: bench/results/gpu-h200-2026-11-27-run5.md to -run7.md; along dim 1 of
//       [65536, 1024] with an int64 index, % of seam's 3.83-3.90 TB/s copy for the bytes each must
//       move): gather 0.45-0.46 ms (60-61 %), scatter_add 5.2-5.3 ms (7 %) — its thread-per-line
//       walk (neighbouring threads 4 KB apart) is the weak spot.
//   v2  (default) gather by 16-byte groups with the position split in 32 bits; scatter_add by
//       lane groups along contiguous lines, peers found by a warp match (details at "version 2"
//       below), which also writes out's starting values (x's, or zeros for gather's gradient) in
//       the same pass where it can (scatter_add_onto). NOT YET TIMED: written on 2026-11-28
//       without a GPU. Ceilings by bytes moved: the copy rate for both (gather reads the index
//       and x's picks and writes out once; the fused scatter_add reads x, the index and src and
//       writes out, the fold's reads and rewrites of out hitting the row just written, in L1/L2).
//       Version 1, and version 2 unfused, pay an extra pass over out (the copy of x, or a memset):
//       about 70 % of the copy rate at best on [rows, 1024]. Where version 2 does not fit
//       (gather: an index smaller than x off dim, or 2^31 elements and more; scatter_add: index
//       sizes after dim other than 1), version 1 runs.
#pragma once

#include <cstdint>


#include "seam/common.cuh"
#include "seam/row_group.cuh"

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

// ----- version 2 -------------------------------------------------------------------------------------
//
// gather, version 1, splits every element's 64-bit position by the index's sizes, one 64-bit
// division and remainder a dimension: with no 64-bit divide unit that is ~150 instructions an
// element, about what its measured 0.45 ms on 67M elements costs (60 % of the copy rate).
// Version 2, when the index has x's shape off dim (the usual case: a pick a row, a permutation of
// each row) and fewer than 2^31 elements, sees the index as [outer, along, inner] and x as
// [outer, x_along, inner], splits each position with two FastDivisors (fast_divisor.cuh), and moves
// the index and the output in 16-byte groups (kVecOf<T> elements a thread: 4 floats with two
// 16-byte index loads, 2 doubles with one). A copy: its results are version 1's bits.
//
// scatter_add, version 1, gives each line a thread, so on a line along the last dimension the 32
// threads of a warp read addresses a whole line apart (4 KB on [rows, 1024]): 7 % of the copy rate.
// Version 2, when the index's lines are contiguous (every index size after dim is 1, so along the
// last dimension), serves a line with a group of lanes (row_group.cuh's map: the power of two >=
// the line's length, at most a warp) that walks it in tiles of `lanes` consecutive elements, one a
// lane, so a warp's loads of the index and src are consecutive. Determinism, the CPU's order: in
// each tile the lanes with the same target find each other (__match_any_sync on the index value,
// masked to the group's lanes); the lowest of them (the "leader") reads the target once,
// adds its peers' src values in lane order (position order) from a per-warp shared tile, and writes
// it back; __syncwarp orders one tile's writes before the next tile's reads. So each target is
// folded out[k] = (((x[k] + s_t1) + s_t2) + ...) over its positions t1 < t2 < ..., the CPU's
// sequence: the same bits, with no atomics on values. When the index has x's shape off dim, each
// line's target row is a whole contiguous row of x that no other line touches, so the group first
// writes the row's starting values itself (x's, or zeros), then __syncwarp, then the tiles: the
// op's separate copy of x into out (or the fill of gather's gradient) is gone. The group's lanes
// then cover the row's x_along values too (scatter_add_v2_lanes), and the launcher fuses only
// where the launch has at least 32 warps an SM (scatter_add_v2_fuses_start): a few lines over
// long rows (a pick a row of [4096, 32000]) would write them with too few warps; there a memset
// or copy across the whole GPU runs first.

/// Version 2's gather geometry: the index as [outer, along, inner] (fewer than 2^31 elements),
/// x as [outer, x_along, inner].
struct GatherPlan {
    int64_t x_along = 0;
    FastDivisor inner, along;

    /// The x offset element e reads, or -1 for an index value out of range.
    SEAM_HOST_DEVICE int64_t source(int e, int64_t value) const {
        if (value < 0 || value >= x_along) return -1;
        const int q = inner.div(e);  // e / inner = o · along + j
        const int o = along.div(q);
        return (int64_t(o) * x_along + value) * inner.d + (e - q * inner.d);
    }
};

/// Version 2 runs gather when the index has x's sizes off dim and fewer than 2^31 elements
/// (n > 0: along ≥ 1).
SEAM_HOST_DEVICE bool gather_v2_fits(const GatherGeometry& g, const int64_t* x_sizes, int64_t n) {
    if (n <= 0 || n >= (int64_t(1) << 31)) return false;
    for (int r = 0; r < g.rank; ++r)
        if (r != g.dim && g.index_sizes[r] != x_sizes[r]) return false;
    return true;
}

inline GatherPlan gather_plan(const GatherGeometry& g) {
    GatherPlan p;
    p.x_along = g.x_size_along;
    int64_t inner = 1;
    for (int r = g.dim + 1; r < g.rank; ++r) inner *= g.index_sizes[r];
    p.inner = FastDivisor(static_cast<int>(inner));
    p.along = FastDivisor(static_cast<int>(g.index_sizes[g.dim]));
    return p;
}

/// gather's group b (elements G·b .. G·b + G - 1 below n, G = kVecOf<T>): the index read and the
/// output written as 16-byte vectors when `vec` (both 16-byte aligned) and the group is whole,
/// else element by element. Returns the group's first out-of-range position, or INT64_MAX.
template <class T>
SEAM_HOST_DEVICE int64_t gather_group(const GatherPlan& p, const T* x, const int64_t* index, T* out, int64_t n, int64_t b,
                                      bool vec) {
    constexpr int G = kVecOf<T>;
    static_assert(G >= 2 && G % 2 == 0, "gather_group: elements of 1 to 8 bytes (the index moves in pairs)");
    const int64_t e0 = G * b;
    int64_t first_bad = INT64_MAX;
    if (vec && e0 + G <= n) {
        int64_t values[G];
        for (int h = 0; h < G; h += 2) {
            const Vec<int64_t, 2> pair = load_vec<2>(index + e0 + h);
            values[h] = pair.v[0], values[h + 1] = pair.v[1];
        }
        Vec<T, G> y;
        for (int q = G - 1; q >= 0; --q) {
            const int64_t s = p.source(static_cast<int>(e0 + q), values[q]);
            if (s < 0) first_bad = e0 + q;
            y.v[q] = s < 0 ? T(0) : x[s];
        }
        store_vec<G>(out + e0, y);
        return first_bad;
    }
    const int64_t end = e0 + G < n ? e0 + G : n;
    for (int64_t e = end - 1; e >= e0; --e) {
        const int64_t s = p.source(static_cast<int>(e), index[e]);
        if (s < 0) first_bad = e;
        out[e] = s < 0 ? T(0) : x[s];
    }
    return first_bad;
}

/// Version 2 runs scatter_add when the index's lines are contiguous: every index size after dim is 1.
SEAM_HOST_DEVICE bool scatter_add_v2_fits(const GatherGeometry& g) {
    for (int r = g.dim + 1; r < g.rank; ++r)
        if (g.index_sizes[r] != 1) return false;
    return true;
}

/// The lanes of a warp that serve the same line as lane `lane` (groups of `lanes`, a power of two).
SEAM_HOST_DEVICE unsigned row_group_mask(int lanes, int lane) {
    if (lanes >= kWarpSize) return 0xffffffffu;
    return ((1u << lanes) - 1u) << (lane - lane % lanes);
}

/// The lowest set bit's position (m ≠ 0).
SEAM_HOST_DEVICE int lowest_lane(unsigned m) {
#if defined(__CUDA_ARCH__)
    return __ffs(m) - 1;
#else
    return __builtin_ctz(m);
#endif
}

/// A lane's element of a scatter_add tile: position t of line `line` (contiguous lines of n), if the
/// line exists and t < n. Returns whether it is to be added (value in range); `bad_at` is its
/// position when the value is out of range, else -1.
template <class T>
SEAM_HOST_DEVICE bool scatter_add_lane_load(const GatherGeometry& g, const int64_t* index, const T* src, int64_t line,
                                            int64_t lines, int64_t t, int64_t& value, T& v, int64_t& bad_at) {
    const int64_t n = g.index_sizes[g.dim];
    value = -1, v = T(0), bad_at = -1;
    if (line >= lines || t >= n) return false;
    const int64_t at = line * n + t;
    value = index[at];
    if (value < 0 || value >= g.x_size_along) {
        bad_at = at;
        return false;
    }
    v = src[at];
    return true;
}

/// Is `lane` its peers' leader (the lowest lane holding the same target)?
SEAM_HOST_DEVICE bool scatter_add_leads(unsigned peers, int lane) {
    return ((peers >> lane) & 1u) != 0 && (peers & ((1u << lane) - 1u)) == 0;
}

/// The leader's fold: *target += the peers' values, in lane order (their positions' order).
template <class T>
SEAM_HOST_DEVICE void scatter_add_fold(T* target, unsigned peers, const T* warp_tile) {
    T acc = *target;
    for (unsigned m = peers; m != 0; m &= m - 1) acc = acc + warp_tile[lowest_lane(m)];
    *target = acc;
}

/// How version 2's scatter_add starts out: as it is (the caller put x's values there), a copy of x,
/// or zeros (gather's gradient).
enum class ScatterStart : int { as_is = 0, copy = 1, zeros = 2 };

/// Version 2 also writes out's starting values (fusing the op's copy of x, or the zeros of gather's
/// gradient) when every element of x lies on exactly one line's target row: where version 2 fits
/// and the index has x's sizes off dim. x's sizes after dim are then 1 like the index's, so a
/// line's targets are a contiguous row of x_along elements.
SEAM_HOST_DEVICE bool scatter_add_v2_starts(const GatherGeometry& g, const int64_t* x_sizes) {
    if (!scatter_add_v2_fits(g)) return false;
    for (int r = 0; r < g.rank; ++r)
        if (r != g.dim && g.index_sizes[r] != x_sizes[r]) return false;
    return true;
}

/// Lane `lane` of a line's group writes its share of the line's target row (x_along contiguous
/// elements from x_offset): x's values or zeros.
template <class T>
SEAM_HOST_DEVICE void scatter_add_start_row(ScatterStart start, const T* x, T* out, int64_t x_offset, int64_t x_along,
                                            int lane, int lanes) {
    for (int64_t c = lane; c < x_along; c += lanes) out[x_offset + c] = start == ScatterStart::copy ? x[x_offset + c] : T(0);
}

/// The lanes of version 2's line groups: enough for a line's positions and, when the kernel writes
/// the starting values, for the target row's x_along values too (a row written by one lane would
/// be stored by a warp 32 rows apart).
inline int scatter_add_v2_lanes(const GatherGeometry& g, bool writes_start) {
    const int64_t n = g.index_sizes[g.dim];
    return row_group_lanes(writes_start && g.x_size_along > n ? g.x_size_along : n);
}

/// scatter_add_onto fuses the start where it fits and the launch has at least 32 warps an SM (half
/// of an H100's or H200's 64): fewer warps writing whole rows would leave memory bandwidth unused
/// where a memset or copy across the whole GPU would not (a pick a row over a long row, few rows).
inline bool scatter_add_v2_fuses_start(const GatherGeometry& g, const int64_t* x_sizes, int64_t lines,
                                       int multiprocessors) {
    if (!scatter_add_v2_starts(g, x_sizes)) return false;
    return lines * scatter_add_v2_lanes(g, true) / kWarpSize >= int64_t(32) * multiprocessors;
}

/// Which version runs (SEAM_GATHER_VERSION=1|2; default 2, version 1 where version 2 does not fit).
inline int gather_scatter_version() { return kernel_version("SEAM_GATHER_VERSION", 2); }

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

template <class T>
__global__ void __launch_bounds__(kThreads) gather_v2_kernel(GatherPlan p, const T* __restrict__ x,
                                                              const int64_t* __restrict__ index, T* __restrict__ out,
                                                              int64_t n, int64_t groups, bool vec, int64_t* bad) {
    SEAM_GRID_STRIDE_LOOP(b, groups) {
        const int64_t first_bad = gather_group(p, x, index, out, n, b, vec);
        if (first_bad != INT64_MAX) record_bad(bad, first_bad);
    }
}

/// Version 2's scatter_add: a group of `lanes` lanes a line, tiles of `lanes` positions (see
/// "version 2" above). Every lane of a warp runs the same iterations (RowGroupWalk; all lines
/// have n positions), so the warp-wide match and __syncwarp see the whole warp.
template <class T>
__global__ void __launch_bounds__(kThreads) scatter_add_v2_kernel(GatherGeometry g, const T* __restrict__ x,
                                                                   ScatterStart start, T* out,
                                                                   const int64_t* __restrict__ index,
                                                                   const T* __restrict__ src, int64_t lines, int lanes,
                                                                   int64_t* bad) {
    __shared__ T tile[kThreads];
    const RowGroupWalk w(lanes, blockIdx.x, threadIdx.x, gridDim.x);
    const int lane = static_cast<int>(threadIdx.x % kWarpSize);
    T* warp_tile = tile + (threadIdx.x - lane);
    const unsigned group = row_group_mask(lanes, lane);
    const int64_t n = g.index_sizes[g.dim], x_step = g.x_strides[g.dim];
    for (int64_t base = w.first; base < lines; base += w.stride) {
        const int64_t line = base + w.offset;
        int64_t index_offset = 0, x_offset = 0;
        if (line < lines) g.line_start(line, index_offset, x_offset);
        if (start != ScatterStart::as_is) {  // uniform: the whole warp takes this branch or none does
            if (line < lines) scatter_add_start_row(start, x, out, x_offset, g.x_size_along, w.lane, lanes);
            __syncwarp();  // the row's starting values before the leaders read them
        }
        for (int64_t t0 = 0; t0 < n; t0 += lanes) {
            int64_t value, bad_at;
            T v;
            const bool valid = scatter_add_lane_load(g, index, src, line, lines, t0 + w.lane, value, v, bad_at);
            if (bad_at >= 0) record_bad(bad, bad_at);
            // A lane not adding holds a value outside [0, x_along) (-1 past the line or the lines),
            // so its peers are never valid lanes: the match needs no ballot of the valid lanes.
            const unsigned peers = __match_any_sync(0xffffffffu, static_cast<unsigned long long>(value)) & group;
            warp_tile[lane] = v;
            __syncwarp();
            if (valid && scatter_add_leads(peers, lane)) scatter_add_fold(out + x_offset + value * x_step, peers, warp_tile);
            __syncwarp();  // this tile's writes before the next tile's reads (memory order in the warp)
        }
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
    if (gather_scatter_version() >= 2 && gather_v2_fits(g, x_shape.data(), n)) {
        const bool vec = is_aligned(index, 16) && is_aligned(out, 16);
        const int64_t groups = ceil_div(n, kVecOf<T>);
        gather_scatter_detail::gather_v2_kernel<T>
            <<<grid_for(groups), kThreads, 0, stream>>>(gather_plan(g), x, index, out, n, groups, vec, bad);
        SEAM_CUDA_CHECK(cudaGetLastError());
        return;
    }
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
    if (gather_scatter_version() >= 2 && scatter_add_v2_fits(g)) {
        const int lanes = scatter_add_v2_lanes(g, false);
        gather_scatter_detail::scatter_add_v2_kernel<T><<<row_group_blocks(lines, lanes), kThreads, 0, stream>>>(
            g, static_cast<const T*>(nullptr), ScatterStart::as_is, out, index, src, lines, lanes, bad);
        SEAM_CUDA_CHECK(cudaGetLastError());
        return;
    }
    gather_scatter_detail::scatter_add_kernel<T><<<grid_for(lines), kThreads, 0, stream>>>(g, out, index, src, lines, bad);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

/// scatter_add with its starting values: out = x (or zeros when x is null; x contiguous with
/// x_shape), then out[.., index[e], ..] += src[e] as scatter_add. Version 2 writes the starting
/// values in the same kernel where scatter_add_v2_fuses_start holds (one pass over out instead of
/// two); elsewhere a device copy (or memset) runs first, then scatter_add.
template <class T>
inline void scatter_add_onto(const T* x, T* out, const Shape& x_shape, int64_t dim, const int64_t* index,
                             const Shape& index_shape, const T* src, int64_t* bad, cudaStream_t stream) {
    int64_t nx = 1;
    for (int64_t s : x_shape) nx *= s;
    if (nx == 0) return;
    const GatherGeometry g = gather_geometry(x_shape, dim, index_shape);
    const int64_t lines = g.index_sizes[g.dim] == 0 ? 0 : g.lines();
    if (lines > 0 && gather_scatter_version() >= 2 &&
        scatter_add_v2_fuses_start(g, x_shape.data(), lines, multiprocessor_count())) {
        const int lanes = scatter_add_v2_lanes(g, true);
        gather_scatter_detail::scatter_add_v2_kernel<T><<<row_group_blocks(lines, lanes), kThreads, 0, stream>>>(
            g, x, x ? ScatterStart::copy : ScatterStart::zeros, out, index, src, lines, lanes, bad);
        SEAM_CUDA_CHECK(cudaGetLastError());
        return;
    }
    const size_t bytes = static_cast<size_t>(nx) * sizeof(T);
    if (x) SEAM_CUDA_CHECK(cudaMemcpyAsync(out, x, bytes, cudaMemcpyDeviceToDevice, stream));
    else SEAM_CUDA_CHECK(cudaMemsetAsync(out, 0, bytes, stream));  // all-zero bits: 0 in every element type
    scatter_add(out, x_shape, dim, index, index_shape, src, bad, stream);
}

#endif  // defined(__CUDACC__)

}  // namespace seam::kernels
