// kernels/seam/reduce.cuh — sum, max and min (with their index) along one dimension, topk along
// one dimension, and the scatter that is the backward of every selection along a dimension.
//
// What it computes: for a contiguous input seen as [outer, n, inner] (reducing dimension d of a
// shape: outer = product of the sizes before d, inner = after),
//   sum:  out[o, j] = Σ_{r<n} x[o, r, j]                      float carried in double, as the CPU does
//   max:  values[o, j] = max_r x[o, r, j], indices[o, j] = r  ties to the lowest r; NaN beats all
//   min:  the same with the smallest value (NaN still beats all: it propagates, as on the CPU)
// Outputs are contiguous [outer, inner].
//   scatter: grad_in [outer, n, inner] = 0 except grad_in[o, index[o, t, j], j] = grad[o, t, j]
//   for t < k (the indices of one column are distinct: max/min have k = 1, topk distinct
//   indices), so every element is written by one thread at most: no atomics, deterministic.
//   Launch: one grid-stride pass writing zeros over grad_in, then one thread per grad element.
//
// Layouts and launch shapes — chosen by where the reduced elements lie:
//   rows (inner == 1): the n elements of a row are adjacent. Version 2 (default), shape-only choice:
//     * a chunk of at most kWarpRowMax = 1024 elements: `lanes` threads a row, the power of two
//       ≥ the row's 16-byte groups, at most 32 (10 floats: 3 groups, 4 lanes, 8 rows a warp; 1024
//       floats: 32 lanes, 8 groups each), 256-thread blocks, grid-stride over rows by warps
//       (reduce_rows_warp_kernel); no shared memory, no __syncthreads;
//     * longer: a block of 256 threads a row (reduce_rows_block_kernel): each warp's shuffle tree,
//       its 8 results through shared memory, warp 0's shuffle tree.
//     Thread t of the T threads of a row takes the groups g = t, t+T, t+2T, ... of 16 bytes (4
//     floats, 2 doubles), counted from the row's (chunk's) start, loads 4 groups before combining
//     them, and combines their elements in index order (accumulate_row); vector loads when the
//     row start is 16-byte aligned, scalar loads of the same groups when not (e.g. every other
//     row when n is odd) — the same additions in the same order either way. Then a shuffle tree
//     (__shfl_down_sync, offsets T/2, ..., 1; lane l combines its value with lane l + offset's).
//     Version 1: one block per row (grid-stride over rows), 32..256 threads (the power of two ≥
//     n); thread t combines r = t, t+T, t+2T, ... with scalar loads, then a tree in shared memory
//     with a __syncthreads per level (reduce_rows_kernel).
//   columns (inner > 1, both versions): neighbouring threads take neighbouring j, each walks
//     r = 0..n-1 alone, so a warp reads 32 adjacent elements per step (coalesced when inner ≥ 32).
// When the output is too small to fill the GPU (a loss reduced to one number, a bias gradient
// summed over a batch), n is cut into `chunks` (grid.y): a first pass writes one partial result
// per chunk into a workspace of [outer, chunks, inner] accumulators, and a second launch of the
// same kernels reduces the partials. The chunking and every thread's share depend on the shape
// (and the version) only — a fixed target of 256 blocks, not the GPU's multiprocessor count, and
// not the pointer's alignment — so the order of additions, and every bit of the result, is the
// same on every GPU and every run. The two versions add in different orders: their sums may
// differ in the last bits (both within the rounding bound of the CPU's). Max and min are exact in
// both. The per-thread work (accumulate_row, accumulate_column, the Output stores) is host-callable:
// tests/cuda/test_elementwise_kernel_logic.cu runs it for every thread of a launch and replays
// each shuffle tree lane by lane. SEAM_REDUCE_VERSION=1 in the environment selects version 1.
//
// topk (values and indices of the k first elements of each column [o, :, j] in the CPU op's strict
// total order: NaN first when largest, last when smallest; then by value, larger first when
// largest, smaller first when smallest; then the lower index first — ops/reduce.hpp's `before`):
//   values, indices [outer, k, inner] contiguous. One block per column (grid-stride over columns,
//   a power of two of 32..256 threads ≥ n). The rank of element u is the number of elements that
//   come before it; the order is strict and total, so the ranks are 0..n-1 without repeats and
//   element u belongs at output rank(u) when rank(u) < k (sorted). Each thread counts the rank of
//   its elements against the column staged through shared memory in tiles of 1024. sorted = false
//   wants the k chosen elements in increasing index order: the element of rank k-1 (the pivot) is
//   found in the same pass, the chosen ones are the pivot and those before it, and a block-wide
//   prefix count over the column in index order gives each its place. Exact: values are copies,
//   indices equal the CPU's. Limits: O(n²) comparisons per column (n²/threads per thread), meant
//   for class-sized rows (up to a few thousand elements: 4096 costs 16·10^6 comparisons a column);
//   a row of 10^5 elements costs 10^10 — a radix select is the fix when that is needed. Any
//   1 ≤ k ≤ n works; columns with inner > 1 are read with stride inner (uncoalesced).
//
// Versions tried (rows kernel; 256 MiB float [65536, 1024] on an NVIDIA H100 80GB HBM3, as a
// fraction of seam's device copy at 2785 GB/s; bench/results/gpu-h100-2026-11-27-run3.md):
//   1. block a row, scalar loads, shared-memory tree with a __syncthreads per level: sum over the
//      last dim 65 % (0.149 ms), max with int64 indices 40 % (0.244 ms: a 16-byte (value, index)
//      candidate through shared memory at each of the 8 levels). Sum over the first dim (columns
//      kernel) 81 % (0.118 ms).
//   2. (default) the warp / block shuffle kernels above: 16-byte loads, 4 in flight per thread,
//      one shared-memory step (block rows) or none (warp rows), rows of ≤ 1024 elements without
//      a single __syncthreads, and several short rows a warp. NOT YET TIMED ON A GPU (written
//      without one; checked by host emulation only) — expected to lift the row sums and the max
//      towards the copy bandwidth, and short (softmax-sized) rows most of all;
//      bench/bench_elementwise_cuda.cpp times both versions side by side.
// Known weak spots to measure: columns with a small inner (2..16) read uncoalesced; double
// accumulation of float sums costs on GPUs with slow fp64 (consumer cards), not on sm_80/sm_90.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "seam/common.cuh"

namespace seam::kernels {

// ----- reducers: identity, lift (input element -> accumulator), combine -------------------------------

template <class T>
struct SumReducer {
    using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
    SEAM_HOST_DEVICE static Acc identity() { return Acc(0); }
    SEAM_HOST_DEVICE static Acc lift(Acc v, int64_t) { return v; }  // T converts; a partial is already Acc
    SEAM_HOST_DEVICE static Acc combine(Acc a, Acc b) { return a + b; }
};

template <class T>
struct ValueIndex {
    T value;
    int64_t index;
};

/// The winner of two (value, index) candidates under the CPU's rules: NaN beats every number,
/// otherwise the larger value, and on a tie (or two NaNs) the lower index. The rule is associative
/// and commutative, so the tree's shape cannot change the answer.
template <class T>
struct MaxReducer {
    using Acc = ValueIndex<T>;
    SEAM_HOST_DEVICE static Acc identity() { return {-static_cast<T>(INFINITY), INT64_MAX}; }  // loses to every element
    SEAM_HOST_DEVICE static Acc lift(T v, int64_t r) { return {v, r}; }
    SEAM_HOST_DEVICE static Acc lift(Acc partial, int64_t) { return partial; }
    SEAM_HOST_DEVICE static Acc combine(Acc p, Acc q) {
        const bool p_nan = p.value != p.value, q_nan = q.value != q.value;
        if (p_nan != q_nan) return p_nan ? p : q;
        if (!p_nan && p.value != q.value) return p.value > q.value ? p : q;
        return p.index <= q.index ? p : q;
    }
};

/// MaxReducer's rule with the smaller value winning (NaN still wins, ties to the lower index).
template <class T>
struct MinReducer {
    using Acc = ValueIndex<T>;
    SEAM_HOST_DEVICE static Acc identity() { return {static_cast<T>(INFINITY), INT64_MAX}; }
    SEAM_HOST_DEVICE static Acc lift(T v, int64_t r) { return {v, r}; }
    SEAM_HOST_DEVICE static Acc lift(Acc partial, int64_t) { return partial; }
    SEAM_HOST_DEVICE static Acc combine(Acc p, Acc q) {
        const bool p_nan = p.value != p.value, q_nan = q.value != q.value;
        if (p_nan != q_nan) return p_nan ? p : q;
        if (!p_nan && p.value != q.value) return p.value < q.value ? p : q;
        return p.index <= q.index ? p : q;
    }
};

// ----- where results go ------------------------------------------------------------------------------

template <class T, class Acc>
struct SumOutput {
    T* out;
    SEAM_HOST_DEVICE void store(int64_t pos, Acc acc) const { out[pos] = static_cast<T>(acc); }
};
template <class T>
struct MaxOutput {
    T* values;
    int64_t* indices;  // may be null
    SEAM_HOST_DEVICE void store(int64_t pos, ValueIndex<T> acc) const {
        values[pos] = acc.value;
        if (indices) indices[pos] = acc.index;
    }
};
/// First pass of a chunked reduction: one accumulator per (o, chunk, j).
template <class Acc>
struct PartialOutput {
    Acc* partial;
    SEAM_HOST_DEVICE void store(int64_t pos, Acc acc) const { partial[pos] = acc; }
};

// ----- kernels -----------------------------------------------------------------------------------------

/// inner == 1, version 1 (kept for study; SEAM_REDUCE_VERSION=1). Block (row, chunk) combines
/// x[row, chunk·chunk_len .. +chunk_len) and stores at row · chunks + chunk. blockDim.x is a power
/// of two ≤ kThreads.
template <class R, class In, class Out>
__global__ void reduce_rows_kernel(const In* x, int64_t rows, int64_t n, int64_t chunk_len, Out out) {
    using Acc = typename R::Acc;
    __shared__ Acc partial[kThreads];
    const int64_t begin = int64_t(blockIdx.y) * chunk_len;
    const int64_t end = begin + chunk_len < n ? begin + chunk_len : n;
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const In* p = x + row * n;
        Acc acc = R::identity();
        for (int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) acc = R::combine(acc, R::lift(p[r], r));
        partial[threadIdx.x] = acc;
        __syncthreads();
        for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
            if (threadIdx.x < width) partial[threadIdx.x] = R::combine(partial[threadIdx.x], partial[threadIdx.x + width]);
            __syncthreads();
        }
        if (threadIdx.x == 0) out.store(row * gridDim.y + blockIdx.y, partial[0]);
        __syncthreads();  // partial[] is rewritten for the next row
    }
}

/// One column's work in reduce_columns_kernel: x[o, begin .. end, j] combined in order (host-callable).
template <class R, class In>
SEAM_HOST_DEVICE typename R::Acc accumulate_column(const In* x, int64_t o, int64_t j, int64_t n, int64_t inner,
                                                   int64_t begin, int64_t end) {
    using Acc = typename R::Acc;
    const In* p = x + o * n * inner + j;
    Acc acc = R::identity();
    for (int64_t r = begin; r < end; ++r) acc = R::combine(acc, R::lift(p[r * inner], r));
    return acc;
}

/// inner > 1. Thread column q = (o, j) combines x[o, chunk range, j] and stores at (o·chunks + chunk)·inner + j.
/// (Both versions: neighbouring threads read neighbouring j, so a warp's loads are coalesced.)
template <class R, class In, class Out>
__global__ void reduce_columns_kernel(const In* x, int64_t outer, int64_t n, int64_t inner, int64_t chunk_len, Out out) {
    const int64_t columns = outer * inner;
    const int64_t begin = int64_t(blockIdx.y) * chunk_len;
    const int64_t end = begin + chunk_len < n ? begin + chunk_len : n;
    SEAM_GRID_STRIDE_LOOP(q, columns) {
        const int64_t o = q / inner, j = q % inner;
        out.store((o * gridDim.y + blockIdx.y) * inner + j, accumulate_column<R>(x, o, j, n, inner, begin, end));
    }
}

// ----- version 2 of the rows kernel: shuffles ----------------------------------------------------------
// Thread t of the T threads given a row (chunk) [begin, end) takes the groups g = t, t + T, t + 2T,
// ... of kGroupOf<In> consecutive elements (a 16-byte vector: 4 floats, 2 doubles; the groups are
// counted from `begin`, so which thread adds which element depends on the shape only), loading
// kReduceUnroll groups before combining them, and combines every element in increasing order. A
// row whose start is 16-byte aligned is read with vector loads, any other with scalar loads of
// the same groups: the same additions in the same order either way. Then the T partial results
// meet in a shuffle tree: at offsets T/2, ..., 1 lane l combines R::combine(its own, lane
// l + offset's) — tests/cuda/test_elementwise_kernel_logic.cu replays that tree lane by lane.

/// Elements per group: a 16-byte vector of a plain number type; 1 for the partial results of a
/// second pass that are (value, index) pairs.
template <class In>
inline constexpr int kGroupOf = std::is_arithmetic_v<In> ? kVecOf<In> : 1;
inline constexpr int kReduceUnroll = 4;               // groups loaded before they are combined
inline constexpr int kWarps = kThreads / kWarpSize;   // warps of a block
inline constexpr int64_t kWarpRowMax = 1024;          // a chunk up to this long: at most a warp per row

/// The V elements of one group: one vector load (Vector), else V scalar loads.
template <bool Vector, int V, class In>
SEAM_HOST_DEVICE void load_group(const In* p, In (&v)[V]) {
    if constexpr (Vector) {
        const Vec<In, V> w = load_vec<V>(p);
SEAM_UNROLL
        for (int e = 0; e < V; ++e) v[e] = w.v[e];
    } else {
SEAM_UNROLL
        for (int e = 0; e < V; ++e) v[e] = p[e];
    }
}

/// accumulate_row with the loads chosen at compile time (no branch in the loop).
template <bool Vector, class R, class In>
SEAM_HOST_DEVICE typename R::Acc accumulate_row_as(const In* row, int64_t begin, int64_t end, int t, int threads) {
    constexpr int V = kGroupOf<In>;
    using Acc = typename R::Acc;
    const In* p = row + begin;
    const int64_t len = end - begin, whole = len / V, T = threads;
    Acc acc = R::identity();
    int64_t g = t;
    for (; g + (kReduceUnroll - 1) * T < whole; g += kReduceUnroll * T) {
        In v[kReduceUnroll][V];
SEAM_UNROLL
        for (int u = 0; u < kReduceUnroll; ++u) load_group<Vector>(p + (g + u * T) * V, v[u]);
SEAM_UNROLL
        for (int u = 0; u < kReduceUnroll; ++u)
SEAM_UNROLL
            for (int e = 0; e < V; ++e) acc = R::combine(acc, R::lift(v[u][e], begin + (g + u * T) * V + e));
    }
    for (; g < whole; g += T) {
        In v[V];
        load_group<Vector>(p + g * V, v);
SEAM_UNROLL
        for (int e = 0; e < V; ++e) acc = R::combine(acc, R::lift(v[e], begin + g * V + e));
    }
    if (g == whole)  // the partial last group (V > 1 only), if any
        for (int64_t r = whole * V; r < len; ++r) acc = R::combine(acc, R::lift(p[r], begin + r));
    return acc;
}

/// What thread t of `threads` accumulates of row[begin, end) (the order described above): vector
/// loads when row + begin is 16-byte aligned, scalar loads of the same groups otherwise.
template <class R, class In>
SEAM_HOST_DEVICE typename R::Acc accumulate_row(const In* row, int64_t begin, int64_t end, int t, int threads) {
    constexpr int V = kGroupOf<In>;
    if constexpr (V > 1)
        if (is_aligned(row + begin, sizeof(In) * V)) return accumulate_row_as<true, R>(row, begin, end, t, threads);
    return accumulate_row_as<false, R>(row, begin, end, t, threads);
}

SEAM_DEVICE float shfl_down(float v, int offset, int width) { return __shfl_down_sync(0xffffffffu, v, offset, width); }
SEAM_DEVICE double shfl_down(double v, int offset, int width) { return __shfl_down_sync(0xffffffffu, v, offset, width); }
template <class T>
SEAM_DEVICE ValueIndex<T> shfl_down(ValueIndex<T> v, int offset, int width) {
    const long long index = __shfl_down_sync(0xffffffffu, static_cast<long long>(v.index), offset, width);
    return {shfl_down(v.value, offset, width), static_cast<int64_t>(index)};
}

/// The shuffle tree over each group of `width` lanes (a power of two ≤ 32; every lane of the warp
/// takes part): lane 0 of the group ends with the combination of the group's values.
template <class R>
SEAM_DEVICE typename R::Acc warp_tree(typename R::Acc acc, int width) {
    for (int offset = width / 2; offset > 0; offset /= 2) acc = R::combine(acc, shfl_down(acc, offset, width));
    return acc;
}

/// Rows (chunks) of at most kWarpRowMax elements: `lanes` threads a row (a power of two ≤ 32),
/// 32 / lanes rows a warp, kWarps warps a block; warp w of the grid takes rows from
/// w · (32 / lanes) on, in steps of the grid's warps. No shared memory, no __syncthreads.
template <class R, class In, class Out>
__global__ void __launch_bounds__(kThreads) reduce_rows_warp_kernel(const In* x, int64_t rows, int64_t n,
                                                                    int64_t chunk_len, int lanes, Out out) {
    using Acc = typename R::Acc;
    const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
    const int rows_per_warp = kWarpSize / lanes, t = lane & (lanes - 1);
    const int64_t begin = int64_t(blockIdx.y) * chunk_len;
    const int64_t end = begin + chunk_len < n ? begin + chunk_len : n;
    const int64_t step = int64_t(gridDim.x) * kWarps * rows_per_warp;
    // The loop bound is the same for the whole warp (the shuffles need every lane).
    for (int64_t base = (int64_t(blockIdx.x) * kWarps + warp) * rows_per_warp; base < rows; base += step) {
        const int64_t row = base + lane / lanes;
        Acc acc = row < rows ? accumulate_row<R>(x + row * n, begin, end, t, lanes) : R::identity();
        acc = warp_tree<R>(acc, lanes);
        if (row < rows && t == 0) out.store(row * gridDim.y + blockIdx.y, acc);
    }
}

/// Longer rows (chunks): a block of kThreads a row (grid-stride over rows); each warp's shuffle
/// tree, then warp 0 combines the kWarps warp results (one step through shared memory).
template <class R, class In, class Out>
__global__ void __launch_bounds__(kThreads) reduce_rows_block_kernel(const In* x, int64_t rows, int64_t n,
                                                                     int64_t chunk_len, Out out) {
    using Acc = typename R::Acc;
    __shared__ Acc warp_result[kWarps];
    const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
    const int64_t begin = int64_t(blockIdx.y) * chunk_len;
    const int64_t end = begin + chunk_len < n ? begin + chunk_len : n;
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
        Acc acc = accumulate_row<R>(x + row * n, begin, end, threadIdx.x, kThreads);
        acc = warp_tree<R>(acc, kWarpSize);
        if (lane == 0) warp_result[warp] = acc;
        __syncthreads();
        if (warp == 0) {
            acc = warp_tree<R>(lane < kWarps ? warp_result[lane] : R::identity(), kWarps);
            if (lane == 0) out.store(row * gridDim.y + blockIdx.y, acc);
        }
        __syncthreads();  // warp_result[] is rewritten for the next row
    }
}

// ----- planning and launching --------------------------------------------------------------------------

struct ReducePlan {
    bool rows = true;     // inner == 1: reduce_rows_kernel, else reduce_columns_kernel
    int threads = kThreads;
    int64_t chunks = 1;   // > 1: two passes through a workspace
    int64_t chunk_len = 0;
};

/// Shape-only decisions (see the header: results must not depend on the GPU).
inline ReducePlan plan_reduce(int64_t outer, int64_t n, int64_t inner) {
    constexpr int64_t kTargetBlocks = 256;
    ReducePlan p;
    p.rows = inner == 1;
    p.chunk_len = n;
    if (outer == 0 || inner == 0) return p;  // no output: nothing is launched (and no division by 0)
    if (p.rows) {
        p.threads = 32;
        while (p.threads < kThreads && p.threads < n) p.threads *= 2;
        if (outer < kTargetBlocks && n > 8192) p.chunks = std::min(ceil_div(kTargetBlocks, outer), ceil_div(n, 4096));
    } else {
        const int64_t column_blocks = ceil_div(outer * inner, kThreads);
        if (column_blocks < kTargetBlocks && n > 64)
            p.chunks = std::min(ceil_div(kTargetBlocks, column_blocks), ceil_div(n, 32));
    }
    if (n == 0) return {p.rows, p.threads, 1, 0};
    p.chunks = std::min<int64_t>(p.chunks, 65535);  // grid.y limit
    p.chunk_len = ceil_div(n, p.chunks);
    p.chunks = ceil_div(n, p.chunk_len);
    return p;
}

/// Workspace bytes launch_reduce needs for this shape (0: single pass).
template <class R>
inline size_t reduce_workspace_bytes(int64_t outer, int64_t n, int64_t inner) {
    const ReducePlan p = plan_reduce(outer, n, inner);
    return p.chunks > 1 ? static_cast<size_t>(outer * p.chunks * inner) * sizeof(typename R::Acc) : 0;
}

/// Version 2's launch of the rows kernels for chunks of chunk_len elements of In (shape and type
/// only): lanes == kThreads: reduce_rows_block_kernel, a block a row; else reduce_rows_warp_kernel
/// with `lanes` threads a row. Host code.
struct RowsLaunch {
    int lanes = kThreads;
    int64_t blocks = 1;
};
template <class In>
inline RowsLaunch plan_rows_v2(int64_t rows, int64_t chunk_len) {
    constexpr int64_t kMaxBlocks = int64_t(1) << 20;
    RowsLaunch l;
    if (chunk_len > kWarpRowMax) {
        l.blocks = std::max<int64_t>(1, std::min(rows, kMaxBlocks));
        return l;
    }
    const int64_t groups = ceil_div(chunk_len, kGroupOf<In>);
    l.lanes = 1;
    while (l.lanes < kWarpSize && l.lanes < groups) l.lanes *= 2;
    const int64_t rows_per_block = int64_t(kWarps) * (kWarpSize / l.lanes);
    l.blocks = std::max<int64_t>(1, std::min(ceil_div(rows, rows_per_block), kMaxBlocks));
    return l;
}

/// Where launch_reduce sends its passes on the GPU (the tests send them to a host emulation with
/// the same members): the version, and the kernels of one pass.
struct DeviceReduce {
    cudaStream_t stream;
    int version = kernel_version("SEAM_REDUCE_VERSION", 2);

    template <class R, class In, class Out>
    void rows_v1(const In* x, int64_t rows, int64_t n, const ReducePlan& p, Out out) const {
        const dim3 grid(static_cast<unsigned>(std::min<int64_t>(rows, int64_t(1) << 20)), static_cast<unsigned>(p.chunks));
        reduce_rows_kernel<R, In, Out><<<grid, p.threads, 0, stream>>>(x, rows, n, p.chunk_len, out);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class R, class In, class Out>
    void rows_v2(const In* x, int64_t rows, int64_t n, const ReducePlan& p, Out out) const {
        const RowsLaunch l = plan_rows_v2<In>(rows, p.chunk_len);
        const dim3 grid(static_cast<unsigned>(l.blocks), static_cast<unsigned>(p.chunks));
        if (l.lanes == kThreads)
            reduce_rows_block_kernel<R, In, Out><<<grid, kThreads, 0, stream>>>(x, rows, n, p.chunk_len, out);
        else
            reduce_rows_warp_kernel<R, In, Out><<<grid, kThreads, 0, stream>>>(x, rows, n, p.chunk_len, l.lanes, out);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class R, class In, class Out>
    void columns(const In* x, int64_t outer, int64_t n, int64_t inner, const ReducePlan& p, Out out) const {
        const int64_t blocks = std::min<int64_t>(ceil_div(outer * inner, kThreads), int64_t(1) << 20);
        const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(p.chunks));
        reduce_columns_kernel<R, In, Out><<<grid, kThreads, 0, stream>>>(x, outer, n, inner, p.chunk_len, out);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
};

template <class R, class In, class Out, class Exec>
inline void launch_reduce_pass(const Exec& exec, const In* x, int64_t outer, int64_t n, int64_t inner,
                               const ReducePlan& p, Out out) {
    if (!p.rows) exec.template columns<R>(x, outer, n, inner, p, out);
    else if (exec.version >= 2) exec.template rows_v2<R>(x, outer, n, p, out);
    else exec.template rows_v1<R>(x, outer, n, p, out);
}

/// launch_reduce on any executor (DeviceReduce on the GPU; the tests' host emulation).
template <class R, class T, class Out, class Exec>
inline void launch_reduce_on(const Exec& exec, const T* x, int64_t outer, int64_t n, int64_t inner, Out out,
                             void* workspace) {
    using Acc = typename R::Acc;
    if (outer == 0 || inner == 0) return;
    const ReducePlan p = plan_reduce(outer, n, inner);
    if (p.chunks == 1) {
        launch_reduce_pass<R>(exec, x, outer, n, inner, p, out);
        return;
    }
    SEAM_CHECK(workspace, "reduce: a workspace of ", reduce_workspace_bytes<R>(outer, n, inner), " bytes is required");
    Acc* partial = static_cast<Acc*>(workspace);
    launch_reduce_pass<R>(exec, x, outer, n, inner, p, PartialOutput<Acc>{partial});
    ReducePlan second;  // the partials [outer, chunks, inner] in one pass
    second.rows = p.rows;
    second.threads = 32;
    while (second.threads < kThreads && second.threads < p.chunks) second.threads *= 2;
    second.chunks = 1;
    second.chunk_len = p.chunks;
    launch_reduce_pass<R>(exec, static_cast<const Acc*>(partial), outer, p.chunks, inner, second, out);
}

/// Reduce contiguous x [outer, n, inner] with reducer R into `out`. `workspace` holds
/// reduce_workspace_bytes<R>(outer, n, inner) bytes of device memory (may be null when that is 0)
/// and must stay valid until the work on `stream` is done.
template <class R, class T, class Out>
inline void launch_reduce(const T* x, int64_t outer, int64_t n, int64_t inner, Out out, void* workspace,
                          cudaStream_t stream) {
    launch_reduce_on<R>(DeviceReduce{stream}, x, outer, n, inner, out, workspace);
}

// ----- the scatter along a dimension (backward of max/min/topk along a dim) ----------------------------

template <class T>
__global__ void zero_kernel(T* out, int64_t n) {
    SEAM_GRID_STRIDE_LOOP(i, n) { out[i] = T(0); }
}

template <class T>
__global__ void scatter_along_kernel(const T* grad, const int64_t* index, T* grad_in, int64_t outer, int64_t k,
                                     int64_t n, int64_t inner) {
    SEAM_GRID_STRIDE_LOOP(e, outer * k * inner) {
        const int64_t a = e / (k * inner), j = e % inner;
        const int64_t r = index[e];
        if (r >= 0 && r < n) grad_in[(a * n + r) * inner + j] = grad[e];  // an index is never out of range; guard anyway
    }
}

/// grad_in [outer, n, inner] = grad [outer, k, inner] placed at its indices, zeros elsewhere.
template <class T>
inline void scatter_along(const T* grad, const int64_t* index, T* grad_in, int64_t outer, int64_t k, int64_t n,
                          int64_t inner, cudaStream_t stream) {
    const int64_t total = outer * n * inner;
    if (total == 0) return;
    zero_kernel<T><<<grid_for(total), kThreads, 0, stream>>>(grad_in, total);
    SEAM_CUDA_CHECK(cudaGetLastError());
    if (outer * k * inner == 0) return;
    scatter_along_kernel<T><<<grid_for(outer * k * inner), kThreads, 0, stream>>>(grad, index, grad_in, outer, k, n, inner);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

// ----- topk along a dimension -----------------------------------------------------------------------------

/// Does element (u, xu) come before (v, xv) in topk's order? The CPU's comparator (ops/reduce.hpp)
/// exactly: NaN before numbers when largest, after them when smallest; then by value; then index.
/// Host-callable, so tests/cuda/test_cuda_kernel_logic.cu checks it without a GPU.
template <class T>
SEAM_HOST_DEVICE bool topk_before(T xu, int64_t u, T xv, int64_t v, bool largest) {
    const bool nu = xu != xu, nv = xv != xv;
    if (nu != nv) return largest ? nu : nv;
    if (!nu && xu != xv) return largest ? xu > xv : xu < xv;
    return u < v;
}

/// Column elements staged in shared memory per step of the rank count.
inline constexpr int kTopkTile = 1024;

template <class T>
__global__ void topk_kernel(const T* x, int64_t outer, int64_t n, int64_t inner, int64_t k, bool largest, bool sorted,
                            T* values, int64_t* indices) {
    __shared__ T tile[kTopkTile];
    __shared__ int64_t scan[kThreads];  // block prefix counts (sorted = false)
    __shared__ int64_t pivot;           // the index of the element of rank k - 1
    const int64_t columns = outer * inner;
    for (int64_t q = blockIdx.x; q < columns; q += gridDim.x) {  // the same columns for every thread
        const int64_t a = q / inner, j = q % inner;
        const T* col = x + a * n * inner + j;  // element r at col[r * inner]
        T* out_values = values + a * k * inner + j;  // output t at [t * inner]
        int64_t* out_indices = indices + a * k * inner + j;
        // Pass 1: every element's rank. Loop bounds depend on n only, so every thread reaches every
        // __syncthreads; `mine` only guards the work.
        for (int64_t base = 0; base < n; base += blockDim.x) {
            const int64_t u = base + threadIdx.x;
            const bool mine = u < n;
            const T xu = mine ? col[u * inner] : T(0);
            int64_t rank = 0;
            for (int64_t t0 = 0; t0 < n; t0 += kTopkTile) {
                const int64_t len = n - t0 < kTopkTile ? n - t0 : kTopkTile;
                __syncthreads();  // every thread is done with the previous tile
                for (int64_t i = threadIdx.x; i < len; i += blockDim.x) tile[i] = col[(t0 + i) * inner];
                __syncthreads();
                if (mine)
                    for (int64_t i = 0; i < len; ++i) rank += topk_before(tile[i], t0 + i, xu, u, largest);
            }
            if (mine && rank < k) {
                if (sorted) {
                    out_values[rank * inner] = xu;
                    out_indices[rank * inner] = u;
                }
                if (rank == k - 1) pivot = u;  // exactly one element has this rank
            }
        }
        if (!sorted) {  // uniform across the block
            __syncthreads();  // pivot is written
            const int64_t p = pivot;
            const T xp = col[p * inner];
            int64_t written = 0;
            for (int64_t base = 0; base < n; base += blockDim.x) {
                const int64_t u = base + threadIdx.x;
                const bool chosen = u < n && (u == p || topk_before(col[u * inner], u, xp, p, largest));
                scan[threadIdx.x] = chosen ? 1 : 0;
                __syncthreads();
                for (unsigned offset = 1; offset < blockDim.x; offset *= 2) {  // inclusive Hillis-Steele scan
                    const int64_t add = threadIdx.x >= offset ? scan[threadIdx.x - offset] : 0;
                    __syncthreads();
                    scan[threadIdx.x] += add;
                    __syncthreads();
                }
                if (chosen) {
                    const int64_t t = written + scan[threadIdx.x] - 1;
                    out_values[t * inner] = col[u * inner];
                    out_indices[t * inner] = u;
                }
                written += scan[blockDim.x - 1];
                __syncthreads();  // scan[] is rewritten by the next step
            }
        }
        __syncthreads();  // tile[] and pivot are rewritten for the next column
    }
}

/// values, indices [outer, k, inner] = the first k elements of each column of contiguous x
/// [outer, n, inner] in topk's order (sorted), or the same k elements in index order.
template <class T>
inline void topk(const T* x, int64_t outer, int64_t n, int64_t inner, int64_t k, bool largest, bool sorted, T* values,
                 int64_t* indices, cudaStream_t stream) {
    if (outer * inner == 0 || k == 0) return;
    int threads = 32;
    while (threads < kThreads && threads < n) threads *= 2;
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(outer * inner, int64_t(1) << 20));
    topk_kernel<T><<<blocks, threads, 0, stream>>>(x, outer, n, inner, k, largest, sorted, values, indices);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace seam::kernels
