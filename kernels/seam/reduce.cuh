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
// Layouts and launch shapes — chosen by where the reduced elements lie (SEAM_REDUCE_VERSION=1|2|3
// in the environment picks the version, read at every launch; default 3):
//   rows (inner == 1): the n elements of a row are adjacent.
//     Version 3 (default):
//     * short rows, n ≤ 32 and n · sizeof ≤ 128 bytes (32 floats, 16 doubles), one pass:
//       reduce_rows_short_kernel. A block of 256 threads stages a tile of 256 consecutive rows
//       (a contiguous span of 256·n elements) in dynamic shared memory with coalesced 16-byte
//       loads (scalar loads for the ≤ 3 elements before the span's first aligned vector and after
//       its last), rows n | 1 elements apart (odd: no bank conflicts); after one __syncthreads
//       thread i folds row i in index order and stores out[row0 + i] (coalesced). Grid-stride
//       over tiles, ⌈rows / 256⌉ blocks (at most 2^20).
//     * longer rows (and chunked plans): version 2's warp and block kernels; max and min with
//       version 3's per-thread loop (accumulate_row_select_as: the winner of each 4 loaded
//       groups by values only, the int64 index computed once per winning group), sums unchanged.
//     Version 2, shape-only choice:
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
//   columns (inner > 1):
//     Version 3 (default): reduce_columns_tile_kernel. A thread takes 4 adjacent float columns (2
//     doubles) when inner is a multiple of 4 (2), else one column; a block is tx × ty = 256
//     threads, tx the power of two ≥ one o's column groups (at most 32), so a warp reads 512
//     contiguous bytes of a row (or, for a narrow inner, several whole consecutive rows); thread
//     (tx, ty) folds rows ty, ty + ty_count, ... of the chunk, 4 loads in flight (vector loads when
//     x is 16-byte aligned, scalar loads of the same elements otherwise), then a tree over ty in
//     shared memory (half = ty_count/2, ..., 1), ty = 0 stores. Chunks (grid.y): aim at 1024
//     blocks, each chunk ≥ max(64, 4·ty) rows (plan_reduce_v3).
//     Versions 1 and 2: neighbouring threads take neighbouring j, each walks r = 0..n-1 alone with
//     scalar loads, so a warp reads 32 adjacent elements per step (coalesced when inner ≥ 32).
// When the output is too small to fill the GPU (a loss reduced to one number, a bias gradient
// summed over a batch), n is cut into `chunks` (grid.y): a first pass writes one partial result
// per chunk into a workspace of [outer, chunks, inner] accumulators, and a second launch of the
// same kernels reduces the partials (reduce_workspace_bytes covers every version's plan). The
// chunking and every thread's share depend on the shape, the element type and the version only —
// fixed block targets, not the GPU's multiprocessor count, and not the pointer's alignment — so
// the order of additions, and every bit of the result, is the same on every GPU and every run.
// The versions add in different orders: their sums may differ in the last bits (all within the
// rounding bound of the CPU's; version 3's short rows add left to right, as the CPU does). Max and
// min are exact in all. The per-thread work (accumulate_row, accumulate_row_for,
// load_short_tile, reduce_short_row, column_tile_partial, the Output stores) is host-callable:
// tests/cuda/test_elementwise_kernel_logic.cu runs it for every thread of a launch and replays
// each shuffle tree lane by lane. The columns tile kernel's shared-memory tree is not replayed from
// a copy: its schedule (levels, partner, combining order, which thread stores) is ColumnsTree,
// host-callable, which the kernel calls and the emulation calls for every thread of every level.
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
// Versions tried. Measured on an NVIDIA H200 (bench/results/gpu-h200-2026-11-27-run1.md, section
// "bench_elementwise_cuda"): 256 MiB float32 tensors [65536, 1024], rows' = 6710886 rows of 10,
// as a share of seam's copy_ at 3850 GB/s in the same run (goal: ≥ 80 %):
//   | op                                         | v2 ms  | v2 %  | v1 ms  | v1 %  |
//   | sum over the last dim [rows, 1024]         | 0.082  | 85 %  | 0.151  | 46 %  |
//   | sum over the first dim (columns)           | 0.099  | 70 %  | 0.097  | 72 %  |
//   | max over the last dim (values + indices)   | 0.102  | 68 %  | 0.242  | 29 %  |
//   | sum over the last dim [rows', 10]          | 0.442  | 17 %  | 1.530  |  5 %  |
//   | max over the last dim [rows', 10] (+ idx)  | 0.694  | 13 %  | 2.378  |  4 %  |
//   1. block a row, scalar loads, shared-memory tree with a __syncthreads per level (the max moves
//      a 16-byte (value, index) candidate through shared memory at each of the 8 levels); columns:
//      a thread a column, scalar loads, the two-pass chunking aimed at 256 blocks.
//   2. the warp / block shuffle kernels: 16-byte loads, 4 in flight per thread, several short
//      rows a warp; columns as in version 1. Good for long-row sums (85 %); weak for short rows
//      (10 floats: 4 lanes a row, every other row misaligned, a shuffle tree longer than the
//      work), for columns (one scalar load a step per thread, 256 blocks of a quarter occupancy)
//      and for max/min (an index update with every element).
//   3. (default) the short-row kernel, the columns tile kernel, and the cheaper index tracking of
//      max/min described above. Written without a GPU and checked by host emulation; then ONE run
//      of bench/bench_elementwise_cuda.cpp on an NVIDIA H200 (2026-11-27, validated against the CPU
//      ops first, versions 3/2/1 in the same run; copy_ at 3801 GB/s;
//      bench/results/gpu-h200-2026-11-27-elementwise-reduce-v3.md), v3 ms and % of copy_ (v2 in that run): sum over the last dim [rows, 1024]
//      0.079, 90 % (0.078, 90 %); sum over the first dim 0.082, 86 % (0.094, 75 %); max over the
//      last dim 0.084, 84 % (0.099, 72 %); sum [rows', 10] 0.095, 82 % (0.437, 18 %); max
//      [rows', 10] 0.113, 81 % (0.689, 13 %). Repeated in gpu_check's third H200 run
//      (bench/results/gpu-h200-2026-11-27-run3.md): 87 %, 75 %, 83 %, 79 %, 79 % (the column sum
//      and the short rows just below 80 %), and the GPU tests of version 3
//      (tests/cuda/test_elementwise_v2_cuda.cpp) pass there.
// Known weak spots to measure: columns with a small inner (2..16) use a narrow tile; double
// accumulation of float sums costs on GPUs with slow fp64 (consumer cards), not on sm_80/sm_90.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "seam/common.cuh"

namespace seam::kernels {

// ----- reducers: identity, lift (input element -> accumulator), combine -------------------------------

// Version 3's loops also use start (the accumulator of a thread's first element) and step (fold in
// one more element whose index is larger than every index already folded in), which let max/min
// skip the index comparison of combine; kSelect marks the reducers whose result is one element.
template <class T>
struct SumReducer {
    using Value = T;
    using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
    static constexpr bool kSelect = false;
    SEAM_HOST_DEVICE static Acc identity() { return Acc(0); }
    SEAM_HOST_DEVICE static Acc lift(Acc v, int64_t) { return v; }  // T converts; a partial is already Acc
    SEAM_HOST_DEVICE static Acc combine(Acc a, Acc b) { return a + b; }
    // identity() + v, not v: a row of one -0.0 sums to +0.0, as on the CPU and in versions 1 and 2.
    SEAM_HOST_DEVICE static Acc start(Acc v, int64_t) { return Acc(0) + v; }
    SEAM_HOST_DEVICE static Acc step(Acc a, Acc v, int64_t) { return a + v; }
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
    using Value = T;
    using Acc = ValueIndex<T>;
    SEAM_HOST_DEVICE static Acc identity() { return {-static_cast<T>(INFINITY), INT64_MAX}; }  // loses to every element
    static constexpr bool kSelect = true;
    SEAM_HOST_DEVICE static Acc lift(T v, int64_t r) { return {v, r}; }
    SEAM_HOST_DEVICE static Acc lift(Acc partial, int64_t) { return partial; }
    SEAM_HOST_DEVICE static Acc combine(Acc p, Acc q) {
        const bool p_nan = p.value != p.value, q_nan = q.value != q.value;
        if (p_nan != q_nan) return p_nan ? p : q;
        if (!p_nan && p.value != q.value) return p.value > q.value ? p : q;
        return p.index <= q.index ? p : q;
    }
    /// Does v, coming after `best` in index order, take its place? Only a NaN over a number, or a
    /// strictly larger value (so ties and later NaNs keep the earlier element).
    SEAM_HOST_DEVICE static bool beats(T v, T best) { return v > best || (v != v && best == best); }
    SEAM_HOST_DEVICE static Acc start(T v, int64_t r) { return {v, r}; }
    SEAM_HOST_DEVICE static Acc start(Acc partial, int64_t) { return partial; }
    SEAM_HOST_DEVICE static Acc step(Acc a, T v, int64_t r) { return beats(v, a.value) ? Acc{v, r} : a; }
    SEAM_HOST_DEVICE static Acc step(Acc a, Acc partial, int64_t) { return combine(a, partial); }
};

/// MaxReducer's rule with the smaller value winning (NaN still wins, ties to the lower index).
template <class T>
struct MinReducer {
    using Value = T;
    using Acc = ValueIndex<T>;
    SEAM_HOST_DEVICE static Acc identity() { return {static_cast<T>(INFINITY), INT64_MAX}; }
    static constexpr bool kSelect = true;
    SEAM_HOST_DEVICE static Acc lift(T v, int64_t r) { return {v, r}; }
    SEAM_HOST_DEVICE static Acc lift(Acc partial, int64_t) { return partial; }
    SEAM_HOST_DEVICE static Acc combine(Acc p, Acc q) {
        const bool p_nan = p.value != p.value, q_nan = q.value != q.value;
        if (p_nan != q_nan) return p_nan ? p : q;
        if (!p_nan && p.value != q.value) return p.value < q.value ? p : q;
        return p.index <= q.index ? p : q;
    }
    /// Does v, coming after `best` in index order, take its place? Only a NaN over a number, or a
    /// strictly smaller value (so ties and later NaNs keep the earlier element).
    SEAM_HOST_DEVICE static bool beats(T v, T best) { return v < best || (v != v && best == best); }
    SEAM_HOST_DEVICE static Acc start(T v, int64_t r) { return {v, r}; }
    SEAM_HOST_DEVICE static Acc start(Acc partial, int64_t) { return partial; }
    SEAM_HOST_DEVICE static Acc step(Acc a, T v, int64_t r) { return beats(v, a.value) ? Acc{v, r} : a; }
    SEAM_HOST_DEVICE static Acc step(Acc a, Acc partial, int64_t) { return combine(a, partial); }
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

// ----- version 3, max/min along rows: the index only when a group wins ------------------------------
// The same groups as version 2 (thread t of T: g = t, t + T, ...; kReduceUnroll groups loaded at
// once), but a select reducer (max, min) first finds the winner among the kReduceUnroll · V values
// just loaded, comparing values only and remembering a small position (an int), in index order
// with R::beats (a later element wins only when strictly better, or a NaN over a number); then that
// one candidate meets the thread's running (value, int64 index) once. A thread's elements come in
// increasing index order, so the rule gives the first best element of the thread's share — the
// same (value, index) as version 2's combine of every element, and the same shuffle tree after it.

/// accumulate_row_as for a select reducer (R::kSelect), loads chosen at compile time.
template <bool Vector, class R, class In>
SEAM_HOST_DEVICE typename R::Acc accumulate_row_select_as(const In* row, int64_t begin, int64_t end, int t, int threads) {
    constexpr int V = kGroupOf<In>, K = kReduceUnroll * V;
    using Acc = typename R::Acc;
    const In* p = row + begin;
    const int64_t len = end - begin, whole = len / V, T = threads;
    Acc acc = R::identity();
    bool empty = true;  // identity's index must not survive a row of -inf (max) / +inf (min)
    int64_t g = t;
    for (; g + (kReduceUnroll - 1) * T < whole; g += kReduceUnroll * T) {
        In v[kReduceUnroll][V];
SEAM_UNROLL
        for (int u = 0; u < kReduceUnroll; ++u) load_group<Vector>(p + (g + u * T) * V, v[u]);
        In best = v[0][0];
        int at = 0;
SEAM_UNROLL
        for (int k = 1; k < K; ++k)
            if (R::beats(v[k / V][k % V], best)) best = v[k / V][k % V], at = k;
        if (empty || R::beats(best, acc.value)) acc = {best, begin + (g + (at / V) * T) * V + at % V};
        empty = false;
    }
    for (; g < whole; g += T) {
        In v[V];
        load_group<Vector>(p + g * V, v);
        In best = v[0];
        int at = 0;
SEAM_UNROLL
        for (int e = 1; e < V; ++e)
            if (R::beats(v[e], best)) best = v[e], at = e;
        if (empty || R::beats(best, acc.value)) acc = {best, begin + g * V + at};
        empty = false;
    }
    if (g == whole)  // the partial last group (V > 1 only), if any
        for (int64_t r = whole * V; r < len; ++r) {
            if (empty || R::beats(p[r], acc.value)) acc = {p[r], begin + r};
            empty = false;
        }
    return acc;
}

/// What thread t of `threads` accumulates of row[begin, end) in kernel version `Version`: version
/// 3 with a select reducer over plain numbers takes accumulate_row_select_as (same result, fewer
/// instructions); every other case is version 2's accumulate_row.
template <int Version, class R, class In>
SEAM_HOST_DEVICE typename R::Acc accumulate_row_for(const In* row, int64_t begin, int64_t end, int t, int threads) {
    if constexpr (Version >= 3 && R::kSelect && std::is_arithmetic_v<In>) {
        if (is_aligned(row + begin, sizeof(In) * kGroupOf<In>))
            return accumulate_row_select_as<true, R>(row, begin, end, t, threads);
        return accumulate_row_select_as<false, R>(row, begin, end, t, threads);
    } else {
        return accumulate_row<R>(row, begin, end, t, threads);
    }
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
template <class R, class In, class Out, int Version = 2>
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
        Acc acc = row < rows ? accumulate_row_for<Version, R>(x + row * n, begin, end, t, lanes) : R::identity();
        acc = warp_tree<R>(acc, lanes);
        if (row < rows && t == 0) out.store(row * gridDim.y + blockIdx.y, acc);
    }
}

/// Longer rows (chunks): a block of kThreads a row (grid-stride over rows); each warp's shuffle
/// tree, then warp 0 combines the kWarps warp results (one step through shared memory).
template <class R, class In, class Out, int Version = 2>
__global__ void __launch_bounds__(kThreads) reduce_rows_block_kernel(const In* x, int64_t rows, int64_t n,
                                                                     int64_t chunk_len, Out out) {
    using Acc = typename R::Acc;
    __shared__ Acc warp_result[kWarps];
    const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
    const int64_t begin = int64_t(blockIdx.y) * chunk_len;
    const int64_t end = begin + chunk_len < n ? begin + chunk_len : n;
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
        Acc acc = accumulate_row_for<Version, R>(x + row * n, begin, end, threadIdx.x, kThreads);
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

// ----- version 3, short rows: a block stages 256 rows in shared memory ----------------------------------
// Rows of n ≤ min(32, kShortRowBytes / sizeof(In)) elements (32 floats, 16 doubles) that need one pass: block
// b takes the tile of rows [256·b, 256·b + 256) (grid-stride over tiles), a contiguous span of
// 256·n elements. Load: the span is read with 16-byte vector loads from its first 16-byte aligned
// element on (thread t takes vectors t, t + 256, ..., 4 loads before their stores), the ≤ V - 1
// elements before that and the ≤ V - 1 after the last whole vector with scalar loads; element e of
// the span goes to shared row e / n, column e % n, rows `stride` = n | 1 elements apart (an odd
// stride: the 32 rows a warp reads next are in 32 different banks for 4-byte elements, 16 pairs
// for 8-byte ones). e / n is a multiply and a shift (ShortRows::magic). Reduce: after one
// __syncthreads, thread i folds row i of the tile in index order (R::start, then R::step for
// r = 1 .. n-1: a sum is the plain left-to-right sum in the accumulator type, max/min the first
// best element), and stores its result: 256 consecutive outputs, coalesced. Which thread adds
// what, and in which order, depends on n only; the alignment of the span only moves the
// boundary between scalar and vector loads of the same elements.

inline constexpr int kShortRowBytes = 128;
inline constexpr int kShortRowMax = 32;  // elements: keeps e · magic below 2^32 (e < 256 · 32 = 2^13, magic ≤ 2^19)

/// Does version 3's short-row kernel take rows of n elements of In?
template <class In>
inline constexpr bool short_rows_fit(int64_t n) {
    return std::is_arithmetic_v<In> && n >= 1 && n <= kShortRowMax && n * int64_t(sizeof(In)) <= kShortRowBytes;
}

/// The short-row kernel's shape: row length, the rows' stride in shared memory, and e / n as
/// (e · magic) >> kShortShift in 32 bits, exact for every e < kThreads · n when n ≤ kShortRowMax
/// (e · n < 2^18 ≤ 2^19; checked for every such n and e by tests/cuda/test_elementwise_kernel_logic.cu).
struct ShortRows {
    int n = 1;
    int stride = 1;
    uint32_t magic = 1;
};
inline constexpr int kShortShift = 19;
inline ShortRows plan_short_rows(int64_t n) {
    ShortRows s;
    s.n = static_cast<int>(n);
    s.stride = static_cast<int>(n | 1);
    s.magic = static_cast<uint32_t>(((int64_t(1) << kShortShift) + n - 1) / n);
    return s;
}
SEAM_HOST_DEVICE uint32_t short_div(uint32_t e, uint32_t magic) { return (e * magic) >> kShortShift; }

/// Shared-memory bytes of a tile of short rows.
template <class In>
inline size_t short_tile_bytes(const ShortRows& s) {
    return size_t(kThreads) * size_t(s.stride) * sizeof(In);
}

/// Span elements [e, e + count) (consecutive, count ≤ 16) into their rows of the tile.
template <class In, int Count>
SEAM_HOST_DEVICE void put_short(In* tile, const ShortRows& s, int e, const In (&v)[Count]) {
    const int q = static_cast<int>(short_div(static_cast<uint32_t>(e), s.magic));
    int c = e - q * s.n, at = q * s.stride + c;
SEAM_UNROLL
    for (int k = 0; k < Count; ++k) {
        tile[at] = v[k];
        ++at;
        if (++c == s.n) c = 0, at += s.stride - s.n;  // on to the next row
    }
}

/// Thread t's share of loading span[0, len) (the tile's rows, len = rows · n) into `tile`.
template <class In>
SEAM_HOST_DEVICE void load_short_tile(const In* span, int len, const ShortRows& s, int t, int threads, In* tile) {
    constexpr int V = kVecOf<In>;
    const int misalign = static_cast<int>(reinterpret_cast<uintptr_t>(span) % 16) / int(sizeof(In));
    const int head = misalign == 0 ? 0 : (V - misalign < len ? V - misalign : len);
    const int vectors = (len - head) / V, tail = head + vectors * V;
    for (int e = t; e < head; e += threads) put_short<In, 1>(tile, s, e, {span[e]});
    for (int e = tail + t; e < len; e += threads) put_short<In, 1>(tile, s, e, {span[e]});
    int k = t;
    for (; k + (kReduceUnroll - 1) * threads < vectors; k += kReduceUnroll * threads) {
        Vec<In, V> w[kReduceUnroll];
SEAM_UNROLL
        for (int u = 0; u < kReduceUnroll; ++u) w[u] = load_vec<V>(span + head + (k + u * threads) * V);
SEAM_UNROLL
        for (int u = 0; u < kReduceUnroll; ++u) put_short<In, V>(tile, s, head + (k + u * threads) * V, w[u].v);
    }
    for (; k < vectors; k += threads) put_short<In, V>(tile, s, head + k * V, load_vec<V>(span + head + k * V).v);
}

/// Row i of the tile folded in index order.
template <class R, class In>
SEAM_HOST_DEVICE typename R::Acc reduce_short_row(const In* tile, const ShortRows& s, int i) {
    const In* p = tile + i * s.stride;
    typename R::Acc acc = R::start(p[0], 0);
    for (int r = 1; r < s.n; ++r) acc = R::step(acc, p[r], r);
    return acc;
}

/// Rows of short_rows_fit<In>(n) elements, one pass (outputs at row). Dynamic shared memory:
/// short_tile_bytes<In>(s).
template <class R, class In, class Out>
__global__ void __launch_bounds__(kThreads) reduce_rows_short_kernel(const In* x, int64_t rows, ShortRows s, Out out) {
    extern __shared__ __align__(16) unsigned char short_tile_storage[];
    In* tile = reinterpret_cast<In*>(short_tile_storage);
    for (int64_t row0 = int64_t(blockIdx.x) * kThreads; row0 < rows; row0 += int64_t(gridDim.x) * kThreads) {
        const int count = rows - row0 < kThreads ? static_cast<int>(rows - row0) : kThreads;
        load_short_tile(x + row0 * s.n, count * s.n, s, threadIdx.x, kThreads, tile);
        __syncthreads();
        if (int(threadIdx.x) < count) out.store(row0 + threadIdx.x, reduce_short_row<R>(tile, s, threadIdx.x));
        __syncthreads();  // the tile is rewritten for the next rows
    }
}

// ----- version 3, columns (inner > 1): tiles of adjacent columns, rows split among the block ------------
// A thread takes `vec` adjacent columns (a 16-byte vector: 4 floats, 2 doubles) when inner is a
// multiple of that, else one; the block is tx × ty threads (tx the power of two ≥ the column groups
// of one o, at most 32; ty = 256 / tx). Block tile k covers o = k / tiles_per_o and column groups
// (k % tiles_per_o) · tx + [0, tx). Thread (tx, ty) folds rows r = begin + ty, begin + ty + ty_count,
// ... of its columns (R::start, then R::step, kReduceUnroll rows loaded at once: vector loads when x
// is 16-byte aligned, scalar loads of the same elements otherwise); a warp reads 32 groups of one
// row, or for a narrow inner several consecutive rows — contiguous memory either way. Then the ty
// partial results of each column meet in a tree in shared memory (at half = ty/2, ..., 1 thread
// ty < half combines its own with ty + half's), and ty = 0 stores. The chunking into a second pass
// (plan_reduce_v3) aims at 1024 blocks with at least max(64, 4·ty) rows a chunk. All of it is set
// by the shape and the element type; the order of additions never depends on the pointer.

struct ColumnsTile {
    int vec = 1;               // adjacent columns a thread
    int tx = 1, ty = kThreads;  // threads across column groups × across rows
    int64_t groups = 0;        // column groups of one o: inner / vec
    int64_t tiles_per_o = 0;   // ceil(groups / tx)
};

template <class In>
inline ColumnsTile plan_columns_v3(int64_t inner) {
    ColumnsTile c;
    c.vec = kGroupOf<In> > 1 && inner % kGroupOf<In> == 0 ? kGroupOf<In> : 1;
    c.groups = inner / c.vec;
    while (c.tx < kWarpSize && c.tx < c.groups) c.tx *= 2;
    c.ty = kThreads / c.tx;
    c.tiles_per_o = ceil_div(c.groups, c.tx);
    return c;
}

/// The Vec columns p[0 .. Vec) (p = x + o·n·inner + first column) folded over rows first, first +
/// step, ... < end, in that order. Vector loads at compile time (Vector).
template <bool Vector, class R, int Vec, class In>
SEAM_HOST_DEVICE void accumulate_columns_as(const In* p, int64_t inner, int64_t first, int64_t end, int64_t step,
                                            typename R::Acc (&acc)[Vec]) {
SEAM_UNROLL
    for (int v = 0; v < Vec; ++v) acc[v] = R::identity();
    int64_t r = first;
    if (r >= end) return;
    {
        In w[Vec];
        load_group<Vector>(p + r * inner, w);
SEAM_UNROLL
        for (int v = 0; v < Vec; ++v) acc[v] = R::start(w[v], r);
        r += step;
    }
    for (; r + (kReduceUnroll - 1) * step < end; r += kReduceUnroll * step) {
        In w[kReduceUnroll][Vec];
SEAM_UNROLL
        for (int u = 0; u < kReduceUnroll; ++u) load_group<Vector>(p + (r + u * step) * inner, w[u]);
SEAM_UNROLL
        for (int u = 0; u < kReduceUnroll; ++u)
SEAM_UNROLL
            for (int v = 0; v < Vec; ++v) acc[v] = R::step(acc[v], w[u][v], r + u * step);
    }
    for (; r < end; r += step) {
        In w[Vec];
        load_group<Vector>(p + r * inner, w);
SEAM_UNROLL
        for (int v = 0; v < Vec; ++v) acc[v] = R::step(acc[v], w[v], r);
    }
}

/// Thread (tx, ty)'s partial results for block tile `tile` and chunk [begin, end): identity for a
/// column group past the end of the row (host-callable; the kernel's whole per-thread load work).
template <class R, int Vec, class In>
SEAM_HOST_DEVICE void column_tile_partial(const In* x, int64_t n, int64_t inner, const ColumnsTile& c, int64_t tile,
                                          int tx, int ty, int64_t begin, int64_t end, typename R::Acc (&acc)[Vec]) {
    const int64_t o = tile / c.tiles_per_o, g = (tile % c.tiles_per_o) * c.tx + tx;
    if (g >= c.groups) {
SEAM_UNROLL
        for (int v = 0; v < Vec; ++v) acc[v] = R::identity();
        return;
    }
    const In* p = x + o * n * inner + g * Vec;
    if constexpr (Vec > 1)
        if (is_aligned(x, sizeof(In) * Vec))  // then every p is: inner and g · Vec are multiples of Vec
            return accumulate_columns_as<true, R, Vec>(p, inner, begin + ty, end, c.ty, acc);
    accumulate_columns_as<false, R, Vec>(p, inner, begin + ty, end, c.ty, acc);
}

/// The schedule of reduce_columns_tile_kernel's tree over ty in shared memory, where slot t · Vec + v
/// holds thread t's (threadIdx.x's) partial result for its column v. Levels half = ty/2, ty/4, ..., 1
/// (first, more, next: log2 ty levels); at level `half` thread t with ty_t = t / tx < half folds in
/// the slot of thread t + half · tx (the same tx, so the same columns) as R::combine(own, partner's)
/// (step). The slots written at a level (ty_t < half) are not read at it (ty_t ≥ half), so one
/// __syncthreads a level suffices. After the last level, thread ty = 0 holds its column group's
/// result and stores it (stores). The kernel runs exactly these functions; the host emulation in
/// tests/cuda/test_elementwise_kernel_logic.cu calls the same ones for every thread of every level,
/// so a wrong partner, level count or combining order here changes the emulated result. step reads
/// `from` and writes `to` (the kernel passes partial for both; the emulation also runs each level
/// from a snapshot, in place forwards and in place backwards, and requires the same bits: a slot
/// read and written at the same level makes them differ unless the write left its value unchanged).
struct ColumnsTree {
    SEAM_HOST_DEVICE static int first(const ColumnsTile& c) { return c.ty / 2; }
    SEAM_HOST_DEVICE static bool more(int half) { return half > 0; }
    SEAM_HOST_DEVICE static int next(int half) { return half / 2; }
    SEAM_HOST_DEVICE static unsigned partner(const ColumnsTile& c, unsigned t, int half) { return t + half * c.tx; }
    SEAM_HOST_DEVICE static bool stores(int ty) { return ty == 0; }
    template <class R, int Vec>
    SEAM_HOST_DEVICE static void step(const typename R::Acc* from, typename R::Acc* to, const ColumnsTile& c, int half,
                                      unsigned t, int ty) {
        if (ty < half)
SEAM_UNROLL
            for (int v = 0; v < Vec; ++v) to[t * Vec + v] = R::combine(from[t * Vec + v], from[partner(c, t, half) * Vec + v]);
    }
};

/// inner > 1, version 3: outputs at (o · chunks + chunk) · inner + column. blockDim.x = kThreads.
template <class R, int Vec, class In, class Out>
__global__ void __launch_bounds__(kThreads) reduce_columns_tile_kernel(const In* x, int64_t outer, int64_t n,
                                                                       int64_t inner, int64_t chunk_len, ColumnsTile c,
                                                                       Out out) {
    using Acc = typename R::Acc;
    __shared__ Acc partial[kThreads * Vec];
    const int tx = threadIdx.x % c.tx, ty = threadIdx.x / c.tx;
    const int64_t begin = int64_t(blockIdx.y) * chunk_len;
    const int64_t end = begin + chunk_len < n ? begin + chunk_len : n;
    for (int64_t tile = blockIdx.x; tile < outer * c.tiles_per_o; tile += gridDim.x) {
        Acc acc[Vec];
        column_tile_partial<R, Vec>(x, n, inner, c, tile, tx, ty, begin, end, acc);
SEAM_UNROLL
        for (int v = 0; v < Vec; ++v) partial[threadIdx.x * Vec + v] = acc[v];
        __syncthreads();
        for (int half = ColumnsTree::first(c); ColumnsTree::more(half); half = ColumnsTree::next(half)) {
            ColumnsTree::step<R, Vec>(partial, partial, c, half, threadIdx.x, ty);
            __syncthreads();
        }
        const int64_t o = tile / c.tiles_per_o, g = (tile % c.tiles_per_o) * c.tx + tx;
        if (ColumnsTree::stores(ty) && g < c.groups)
SEAM_UNROLL
            for (int v = 0; v < Vec; ++v)
                out.store((o * gridDim.y + blockIdx.y) * inner + g * Vec + v, partial[threadIdx.x * Vec + v]);
        __syncthreads();  // partial[] is rewritten for the next tile
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

/// Version 3's plan: the rows as in versions 1 and 2; columns chunked for the tile kernel (shape
/// and element type only: a fixed target of 1024 blocks of ColumnsTile, each chunk at least
/// max(64, 4 · ty) rows so that every thread folds several rows and the partials stay small).
template <class In>
inline ReducePlan plan_reduce_v3(int64_t outer, int64_t n, int64_t inner) {
    if (inner == 1) return plan_reduce(outer, n, inner);
    ReducePlan p;
    p.rows = false;
    p.chunk_len = n;
    if (outer == 0 || inner == 0 || n == 0) return p;
    constexpr int64_t kTargetBlocks = 1024;
    const ColumnsTile c = plan_columns_v3<In>(inner);
    const int64_t tiles = outer * c.tiles_per_o, min_chunk = std::max<int64_t>(64, 4 * c.ty);
    if (tiles < kTargetBlocks && n >= 2 * min_chunk) p.chunks = std::min(ceil_div(kTargetBlocks, tiles), n / min_chunk);
    p.chunks = std::min<int64_t>(p.chunks, 65535);  // grid.y limit
    p.chunk_len = ceil_div(n, p.chunks);
    p.chunks = ceil_div(n, p.chunk_len);
    return p;
}

/// The plan of kernel version `version` (1 and 2 share one).
template <class In>
inline ReducePlan plan_reduce_for(int version, int64_t outer, int64_t n, int64_t inner) {
    return version >= 3 ? plan_reduce_v3<In>(outer, n, inner) : plan_reduce(outer, n, inner);
}

/// Workspace bytes launch_reduce needs for this shape (0: single pass): the most any kernel version
/// needs, so the caller need not know which version the environment selects.
template <class R>
inline size_t reduce_workspace_bytes(int64_t outer, int64_t n, int64_t inner) {
    size_t bytes = 0;
    for (int version : {2, 3}) {
        const ReducePlan p = plan_reduce_for<typename R::Value>(version, outer, n, inner);
        if (p.chunks > 1) bytes = std::max(bytes, static_cast<size_t>(outer * p.chunks * inner) * sizeof(typename R::Acc));
    }
    return bytes;
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
    int version = kernel_version("SEAM_REDUCE_VERSION", 3);

    template <class R, class In, class Out>
    void rows_v1(const In* x, int64_t rows, int64_t n, const ReducePlan& p, Out out) const {
        const dim3 grid(static_cast<unsigned>(std::min<int64_t>(rows, int64_t(1) << 20)), static_cast<unsigned>(p.chunks));
        reduce_rows_kernel<R, In, Out><<<grid, p.threads, 0, stream>>>(x, rows, n, p.chunk_len, out);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class R, class In, class Out, int Version = 2>
    void rows_v2(const In* x, int64_t rows, int64_t n, const ReducePlan& p, Out out) const {
        const RowsLaunch l = plan_rows_v2<In>(rows, p.chunk_len);
        const dim3 grid(static_cast<unsigned>(l.blocks), static_cast<unsigned>(p.chunks));
        if (l.lanes == kThreads)
            reduce_rows_block_kernel<R, In, Out, Version><<<grid, kThreads, 0, stream>>>(x, rows, n, p.chunk_len, out);
        else
            reduce_rows_warp_kernel<R, In, Out, Version><<<grid, kThreads, 0, stream>>>(x, rows, n, p.chunk_len, l.lanes,
                                                                                        out);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    /// Version 3: short rows through shared memory; longer ones by version 2's kernels (with the
    /// cheaper index tracking of accumulate_row_select_as for max and min).
    template <class R, class In, class Out>
    void rows_v3(const In* x, int64_t rows, int64_t n, const ReducePlan& p, Out out) const {
        if (p.chunks == 1 && short_rows_fit<In>(n)) {
            const ShortRows s = plan_short_rows(n);
            const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(ceil_div(rows, kThreads), int64_t(1) << 20));
            reduce_rows_short_kernel<R, In, Out><<<blocks, kThreads, short_tile_bytes<In>(s), stream>>>(x, rows, s, out);
            SEAM_CUDA_CHECK(cudaGetLastError());
            return;
        }
        rows_v2<R, In, Out, 3>(x, rows, n, p, out);
    }
    template <class R, class In, class Out>
    void columns(const In* x, int64_t outer, int64_t n, int64_t inner, const ReducePlan& p, Out out) const {
        const int64_t blocks = std::min<int64_t>(ceil_div(outer * inner, kThreads), int64_t(1) << 20);
        const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(p.chunks));
        reduce_columns_kernel<R, In, Out><<<grid, kThreads, 0, stream>>>(x, outer, n, inner, p.chunk_len, out);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class R, class In, class Out>
    void columns_v3(const In* x, int64_t outer, int64_t n, int64_t inner, const ReducePlan& p, Out out) const {
        const ColumnsTile c = plan_columns_v3<In>(inner);
        const dim3 grid(static_cast<unsigned>(std::min<int64_t>(outer * c.tiles_per_o, int64_t(1) << 20)),
                        static_cast<unsigned>(p.chunks));
        if (c.vec > 1)
            reduce_columns_tile_kernel<R, kGroupOf<In>, In, Out><<<grid, kThreads, 0, stream>>>(x, outer, n, inner,
                                                                                                p.chunk_len, c, out);
        else
            reduce_columns_tile_kernel<R, 1, In, Out><<<grid, kThreads, 0, stream>>>(x, outer, n, inner, p.chunk_len, c, out);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
};

template <class R, class In, class Out, class Exec>
inline void launch_reduce_pass(const Exec& exec, const In* x, int64_t outer, int64_t n, int64_t inner,
                               const ReducePlan& p, Out out) {
    if (!p.rows) {
        if (exec.version >= 3) exec.template columns_v3<R>(x, outer, n, inner, p, out);
        else exec.template columns<R>(x, outer, n, inner, p, out);
    } else if (exec.version >= 3) exec.template rows_v3<R>(x, outer, n, p, out);
    else if (exec.version >= 2) exec.template rows_v2<R>(x, outer, n, p, out);
    else exec.template rows_v1<R>(x, outer, n, p, out);
}

/// launch_reduce on any executor (DeviceReduce on the GPU; the tests' host emulation).
template <class R, class T, class Out, class Exec>
inline void launch_reduce_on(const Exec& exec, const T* x, int64_t outer, int64_t n, int64_t inner, Out out,
                             void* workspace) {
    using Acc = typename R::Acc;
    if (outer == 0 || inner == 0) return;
    const ReducePlan p = plan_reduce_for<T>(exec.version, outer, n, inner);
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
