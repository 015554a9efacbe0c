// kernels/seam/norm.cuh — batch normalisation (training and evaluation, optional fused ReLU,
// forward and backward), layer normalisation (forward and backward) and dropout (forward and
// backward).
//
// What it computes: the rules of include/seam/ops/norm.hpp.
//   batch_norm forward   per channel c: training uses the batch mean m and the biased variance
//                        (sums in double, never E[x²] - E[x]²: v1 two passes, v2 one pass of sums
//                        shifted by the channel's first value) and updates the running
//                        buffers in place, running = (1 - momentum)·running + momentum·batch (the
//                        unbiased variance for running_var); evaluation uses the running buffers
//                        (0 and 1 when absent). invstd = 1/sqrt(var + eps);
//                        y = x·T(w·invstd) + T(b - m·w·invstd), then max(y, 0) when fused with ReLU.
//                        The per-channel m and invstd are saved (double) for the backward.
//   batch_norm backward  with g' = g (or g·[y > 0] when fused): Σ g', Σ g'·(x - m) in double;
//                        dbias = Σ g', dweight = Σ g'·(x - m)·invstd;
//                        dx = A·(g' - mean_g) - B·(x - m), A = w·invstd, and in training
//                        mean_g = Σ g'/M, B = w·invstd³·Σ g'(x - m)/M (both 0 in evaluation).
//   layer_norm forward   per row r of D values: m = Σ x / D, var = Σ (x - m)² / D (two passes, sums
//                        in double, as the CPU op), rstd = 1/sqrt(var + eps); in T, the CPU's order:
//                        y = (x - T(m))·T(rstd), then ·w[i], then +b[i] (each when given). m and
//                        rstd are saved per row (double) for the backward.
//   layer_norm backward  per row, with gw = g·w (g without weight) and xhat = (x - m)·rstd, both
//                        sums in double: a = Σ gw / D, b = Σ gw·xhat / D, then in T
//                        dx = T(rstd)·(gw - T(a) - (x - T(m))·T(rstd)·T(b));
//                        per column i: dweight[i] = Σ_r g·xhat, dbias[i] = Σ_r g (double).
//   dropout              element i (row-major) is kept when 32-bit word i % 4 of Philox block
//                        (base + i / 4, subsequence 0, key = the generator's seed) is below the
//                        threshold (1 - p)·2^32: the SAME function (seam::philox4x32 of
//                        core/rng.hpp, compiled for the device) and the same words as the CPU
//                        op, so for the same generator state the CUDA mask is bit-identical to
//                        the CPU mask. y = x·(keep ? scale : 0), dx = g·(keep ? scale : 0).
//
// Rounding: "in T, the CPU's order" above is the order of the operations. nvcc contracts a multiply
// and a following add into one FMA (its default -fmad=true; the host build rounds each), so a GPU
// result may differ from the CPU's in the last bits; the CUDA tests allow that, and the host
// emulations (tests/cuda/test_norm_kernel_logic.cu) check the order, not the FMA rounding. The same
// bits on every run of the same GPU code still hold: no atomics.
//
// Layouts: x, y, g, dx contiguous [N, C, inner] (inner = H·W, 1 for [N, C]); weight, bias and the
// running buffers are [C] vectors read through an element stride (any may be null); the saved
// statistics are contiguous [C] double; the dropout mask is [n] uint8 (1 = kept). layer_norm:
// x, y, g, dx contiguous [rows, D] (D = the product of normalized_shape), weight, bias, dweight,
// dbias contiguous [D] (any may be null), mean and rstd contiguous [rows] double; the parameter
// gradients use a workspace of 2·chunks·D doubles (layer_norm_param_workspace_bytes); batch_norm
// v2 a workspace of 2·C·chunks + C doubles (batch_norm_workspace_bytes). y may be x (in place).
//
// Launch shapes (SEAM_BATCH_NORM_VERSION, SEAM_LAYER_NORM_VERSION and SEAM_DROPOUT_VERSION = 1|2
// in the environment pick each family's version, read at every launch; default 2):
//   batch_norm v2        (default) two launches a direction, each of one 256-thread block per
//                        (channel, chunk of whole planes) — plan_batch_norm aims at 16384 values a
//                        chunk, at most 1024 chunks a channel, grid-stride beyond 2^20 blocks: a
//                        sums pass writing two double partials per block to a workspace, then an
//                        apply pass in which every block re-sums its channel's partials (warp 0, in
//                        a fixed order) and writes its chunk. 16-byte loads and stores when inner is
//                        a multiple of 4 floats (2 doubles) and the tensors are aligned. Details
//                        and the arithmetic (sums shifted by the channel's first value, one read
//                        for both statistics) at "batch_norm version 2" below. A chunk of 2^30
//                        values or more runs version 1.
//   batch_norm v1        one block of 256 threads per channel (grid-stride over channels): the
//                        threads stride over the channel's N·inner values (consecutive threads on
//                        consecutive values of one plane: coalesced), shared-memory trees combine
//                        the double sums in a fixed order, so the results are the same bits on
//                        every run. The block then writes the channel's output itself.
//   layer_norm rows v2   (default, D ≤ 1024) a group of `lanes` threads per row (row_group.cuh:
//                        the power of two ≥ D, at most 32; 256-thread blocks, grid-stride over
//                        rows), the row's values in registers (≤ 32 a lane), butterflies for the
//                        two double sums: one read of x, one write of y (backward: one read of g
//                        and x, one write of dx). Details at "layer_norm version 2" below.
//   layer_norm rows v1   (and D > 1024) one block per row (grid-stride over rows, at most 2^20
//                        blocks), a power of two of 32..256 threads ≥ D: the threads stride over
//                        the row (coalesced), shared-memory trees combine the double sums in a
//                        fixed order. A row longer than the block is walked several times.
//   layer_norm params    the column sums over rows: grid (⌈D/256⌉, chunks), one thread per column
//                        (neighbouring threads on neighbouring columns: coalesced), block y sums
//                        its chunk of rows in order into a [chunks, D] double workspace; a second
//                        kernel adds the chunks in order. chunks depends on the shape only, so
//                        every result is the same bits on every run and GPU (no atomics).
//   dropout              grid-stride loops over groups of four elements (one Philox call each);
//                        v2 (default) moves a group as one 16-byte load and store (two for double)
//                        and its mask as one 4-byte store when aligned, v1 element by element.
//
// Versions tried. batch_norm:
//   v1  a block per channel (above). Measured on an H200 (bench_elementwise_cuda's third table,
//       bench/results/gpu-h200-2026-11-27-run5.md, -run6.md and -run7.md; % of seam's copy rate for
//       the bytes each must move): training on [256, 64, 64, 64] forward 6.2-6.4 ms (2 %), forward +
//       backward 10.9-11.2 ms (3 %). Two causes: 64 channels give 64 blocks to a 132-SM GPU, and
//       every value's address costs a 64-bit division and remainder (k / inner, k % inner).
//   v2  (default) each channel cut into chunks of whole planes, a block per (channel, chunk), the
//       address from a FastDivisor within the chunk, 16-byte groups, one read of x for both
//       statistics. Its ceiling by bytes moved: 67 % of the copy rate forward (x read twice),
//       60 % backward (g and x read twice). NOT YET TIMED: written on 2026-11-28 without a GPU; its
//       logic is replayed on the CPU (tests/cuda/test_norm_kernel_logic.cu), and
//       bench_elementwise_cuda times it beside v1 at the next GPU run.
// layer_norm (the same runs):
//   v1  a block per row: [65536, 1024] forward + backward 0.84 ms (41 %): x is read three times
//       forward and twice backward, and rows shorter than 32 leave most of a block idle.
//   v2  (default, D ≤ 1024) a group of lanes per row, the row in registers. NOT YET TIMED (written
//       2026-11-28 without a GPU; replayed on the CPU by tests/cuda/test_norm_kernel_logic.cu).
// dropout (the same runs):
//   v1  element by element: p = 0.5 forward (values and a 1-byte mask) 0.44-0.45 ms (35 %).
//   v2  (default) 16-byte groups and 4-byte mask stores. NOT YET TIMED (as above).
// Known weak spot: batch_norm v2 with inner = 1 (BatchNorm1d) reads a channel's values C apart
// (uncoalesced, as v1): a column layout (threads over channels) is the thing to try for large
// [N, C] inputs.
#pragma once

#include <cstdint>

#include "seam/common.cuh"
#include "seam/row_group.cuh"
#include "seam/core/rng.hpp"

namespace seam::kernels {

struct BatchNormArgs {
    int64_t N = 0, C = 0, inner = 1;
    bool training = true;
    bool relu = false;
    double momentum = 0.1;
    double eps = 1e-5;
};

/// A [C] vector read through its stride; `fallback` when absent.
template <class T>
struct ChannelVector {
    T* data = nullptr;
    int64_t stride = 1;
    SEAM_HOST_DEVICE double get(int64_t c, double fallback) const {
        return data ? static_cast<double>(data[c * stride]) : fallback;
    }
};

namespace norm_detail {

/// Σ over the block in a fixed tree order; every thread gets the result (blockDim.x = kThreads).
__device__ inline double block_sum(double v, double* shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
        if (threadIdx.x < width) shared[threadIdx.x] += shared[threadIdx.x + width];
        __syncthreads();
    }
    const double result = shared[0];
    __syncthreads();
    return result;
}

SEAM_HOST_DEVICE double rsqrt_d(double v) { return 1.0 / ::sqrt(v); }

}  // namespace norm_detail

template <class T>
__global__ void batch_norm_forward_kernel(const T* x, T* y, ChannelVector<const T> weight, ChannelVector<const T> bias,
                                          ChannelVector<T> running_mean, ChannelVector<T> running_var, double* save_mean,
                                          double* save_invstd, BatchNormArgs a) {
    __shared__ double shared[kThreads];
    const int64_t M = a.N * a.inner;
    for (int64_t c = blockIdx.x; c < a.C; c += gridDim.x) {
        double m, var;
        if (a.training) {
            double s = 0;
            for (int64_t k = threadIdx.x; k < M; k += blockDim.x)
                s += static_cast<double>(x[((k / a.inner) * a.C + c) * a.inner + k % a.inner]);
            m = norm_detail::block_sum(s, shared) / static_cast<double>(M);
            double q = 0;
            for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
                const double d = static_cast<double>(x[((k / a.inner) * a.C + c) * a.inner + k % a.inner]) - m;
                q += d * d;
            }
            q = norm_detail::block_sum(q, shared);
            var = q / static_cast<double>(M);
            if (threadIdx.x == 0 && running_mean.data) {
                T* rm = running_mean.data + c * running_mean.stride;
                T* rv = running_var.data + c * running_var.stride;
                const double unbiased = q / static_cast<double>(M - 1);
                *rm = static_cast<T>((1.0 - a.momentum) * static_cast<double>(*rm) + a.momentum * m);
                *rv = static_cast<T>((1.0 - a.momentum) * static_cast<double>(*rv) + a.momentum * unbiased);
            }
        } else {
            m = running_mean.get(c, 0.0);
            var = running_var.get(c, 1.0);
        }
        const double is = norm_detail::rsqrt_d(var + a.eps);
        if (threadIdx.x == 0) {
            save_mean[c] = m;
            save_invstd[c] = is;
        }
        const double sc = weight.get(c, 1.0) * is;
        const T scale = static_cast<T>(sc), shift = static_cast<T>(bias.get(c, 0.0) - m * sc);
        for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
            const int64_t e = ((k / a.inner) * a.C + c) * a.inner + k % a.inner;
            const T v = x[e] * scale + shift;
            y[e] = a.relu ? (v > T(0) ? v : T(0)) : v;
        }
    }
}

template <class T>
__global__ void batch_norm_backward_kernel(const T* g, const T* x, const T* y_relu, ChannelVector<const T> weight,
                                           const double* save_mean, const double* save_invstd, BatchNormArgs a, T* dx,
                                           T* dweight, T* dbias) {
    __shared__ double shared[kThreads];
    const int64_t M = a.N * a.inner;
    for (int64_t c = blockIdx.x; c < a.C; c += gridDim.x) {
        const double m = save_mean[c], is = save_invstd[c];
        double sum_g = 0, sum_gx = 0;
        for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
            const int64_t e = ((k / a.inner) * a.C + c) * a.inner + k % a.inner;
            const double gv = y_relu ? static_cast<double>(g[e]) * static_cast<double>(y_relu[e] > T(0))
                                     : static_cast<double>(g[e]);
            sum_g += gv;
            sum_gx += gv * (static_cast<double>(x[e]) - m);
        }
        sum_g = norm_detail::block_sum(sum_g, shared);
        sum_gx = norm_detail::block_sum(sum_gx, shared);
        if (threadIdx.x == 0) {
            if (dbias) dbias[c] = static_cast<T>(sum_g);
            if (dweight) dweight[c] = static_cast<T>(sum_gx * is);
        }
        if (!dx) continue;
        const double wc = weight.get(c, 1.0);
        const T A = static_cast<T>(wc * is);
        const T mean_g = a.training ? static_cast<T>(sum_g / double(M)) : T(0);
        const T B = a.training ? static_cast<T>(wc * is * is * is * sum_gx / double(M)) : T(0);
        const T mt = static_cast<T>(m);
        for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
            const int64_t e = ((k / a.inner) * a.C + c) * a.inner + k % a.inner;
            const T gi = y_relu ? g[e] * static_cast<T>(y_relu[e] > T(0)) : g[e];
            dx[e] = A * (gi - mean_g) - B * (x[e] - mt);
        }
    }
}

// ----- batch_norm version 2: each channel cut into chunks of whole planes -------------------------------
//
// Version 1 above gives a channel to one block, so [256, 64, 64, 64] runs on 64 blocks of a 132-SM
// GPU, and it finds each value's address with a 64-bit division and remainder. Version 2 cuts the
// N planes of a channel into `chunks` runs of `planes_per_chunk` planes (plan_batch_norm) and gives
// each (channel, chunk) to a block (b = c·chunks + chunk), in two launches per direction:
//   sums:   each block adds its chunk's values into two doubles and writes them to a workspace of
//           [C, chunks] pairs (partial_a, partial_b); the forward's chunk-0 blocks also write
//           each channel's shift K there, which the apply pass reads instead of x[0, c, 0] (in
//           place, y == x, chunk 0's block may already have overwritten it);
//   apply:  each block sums its channel's `chunks` pairs again (warp 0, in a fixed order), turns
//           them into the channel's coefficients, and writes its chunk's output; the block of chunk
//           0 also writes the per-channel results (saved statistics, running buffers, dweight,
//           dbias). Every block of a channel computes the same coefficients from the same partials
//           in the same order, so they agree bit for bit; no atomics, the same bits on every run.
// Inside a chunk, element j (0 ≤ j < planes·inner, 32-bit) lies in plane j / inner (a FastDivisor:
// a multiply and a shift) at offset ((n0 + plane)·C + c)·inner + j % inner. Thread t takes the
// groups of G = 16 / sizeof(T) consecutive j (4 floats, 2 doubles) g = t, t + 256, t + 512, ...,
// 4 groups loaded before they are combined, and adds their elements in j order. When inner is a
// multiple of G and every tensor is 16-byte aligned a group lies inside one plane and is one
// vector load or store; otherwise the same groups are read element by element — the same
// additions in the same order, so the sums do not depend on the alignment.
// One pass over x for both statistics: the sums are shifted by K = x[0, c, 0], the channel's first
// value (s = Σ(x - K), q = Σ(x - K)², in double), then mean = K + s/M and Σ(x - mean)² = q - s²/M.
// Because K is one of the values, (K - mean)² ≤ M·var, so the subtraction loses at most about
// log2(M + 1) bits of the double result: far below float rounding (never E[x²] - E[x]², whose loss
// grows with mean²/var). Bytes moved: forward reads x twice and writes y (3 units where a copy
// moves 2: at most 67 % of the copy rate), backward reads g and x twice and writes dx (5 units
// against 3: at most 60 %) when every byte comes from memory. The apply passes take the chunks in
// the reverse of the sums passes' order (batch_norm_apply_item), so their first reads find the
// chunks the sums passes read last still in L2: a tensor that fits in L2 is read from memory about
// once (NOT YET TIMED; bench_elementwise_cuda's ResNet-50 table measures it against a copy of the
// same size). Beyond that the chunk must stay on chip between the passes (a persistent kernel with
// a grid-wide barrier, as cuDNN's persistent batch norm does).

/// How version 2 cuts each channel (from the shape only).
struct BatchNormPlan {
    int64_t planes_per_chunk = 1;  // consecutive n values a chunk covers
    int64_t chunks = 1;            // chunks per channel: ceil(N / planes_per_chunk)
    int chunk_elems = 0;           // planes_per_chunk · inner (the last chunk of a channel may have fewer)
    FastDivisor inner;             // divides j by inner
};

inline constexpr int64_t kBatchNormChunkTarget = 16384;  // elements a block aims at (64 KiB of floats)
inline constexpr int64_t kBatchNormMaxChunks = 1024;     // bounds the apply blocks' re-summing of partials
inline constexpr int kBatchNormUnroll = 4;               // groups a thread loads before combining them

inline BatchNormPlan plan_batch_norm(const BatchNormArgs& a) {
    BatchNormPlan p;
    if (a.N <= 0 || a.inner <= 0) return p;
    p.planes_per_chunk = std::max<int64_t>(1, kBatchNormChunkTarget / a.inner);
    p.planes_per_chunk = std::max(p.planes_per_chunk, ceil_div(a.N, kBatchNormMaxChunks));
    p.planes_per_chunk = std::min(p.planes_per_chunk, a.N);
    p.chunks = ceil_div(a.N, p.planes_per_chunk);
    const int64_t elems = p.planes_per_chunk * a.inner;
    p.chunk_elems = elems < int64_t(1) << 30 ? static_cast<int>(elems) : 0;
    p.inner = FastDivisor(a.inner < int64_t(1) << 30 ? static_cast<int>(a.inner) : 1);
    return p;
}

/// Can version 2 take this shape? Its chunk indices are 32-bit: a chunk below 2^30 elements.
inline bool batch_norm_v2_fits(const BatchNormArgs& a) {
    if (a.N <= 0 || a.C <= 0 || a.inner <= 0) return true;  // nothing to do: either version
    const BatchNormPlan p = plan_batch_norm(a);
    return p.chunk_elems > 0 && a.inner < int64_t(1) << 30;
}

/// The batch_norm version to run: SEAM_BATCH_NORM_VERSION (1 or 2; default 2), version 1 where
/// version 2's plan does not fit.
inline int batch_norm_version(const BatchNormArgs& a) {
    const int v = kernel_version("SEAM_BATCH_NORM_VERSION", 2);
    return v == 2 && !batch_norm_v2_fits(a) ? 1 : v;
}

/// Device workspace the batch_norm launchers need: version 2's [C, chunks] pairs of doubles, then
/// the [C] shifts K (the forward's sums pass publishes each channel's K there, so the apply pass
/// never reads x[0, c, 0] again: with y == x, chunk 0's block may already have overwritten it).
inline size_t batch_norm_workspace_bytes(const BatchNormArgs& a, int version) {
    if (version < 2 || a.N <= 0 || a.C <= 0 || a.inner <= 0) return 0;
    return static_cast<size_t>(2 * a.C * plan_batch_norm(a).chunks + a.C) * sizeof(double);
}

/// Block b's share: channel c, planes [n0, n0 + planes), elems = planes · inner values.
struct BatchNormChunk {
    int64_t c = 0, chunk = 0, n0 = 0;
    int elems = 0;
};

SEAM_HOST_DEVICE BatchNormChunk batch_norm_chunk(const BatchNormArgs& a, const BatchNormPlan& p, int64_t b) {
    BatchNormChunk k;
    k.c = b / p.chunks;
    k.chunk = b - k.c * p.chunks;
    k.n0 = k.chunk * p.planes_per_chunk;
    const int64_t planes = a.N - k.n0 < p.planes_per_chunk ? a.N - k.n0 : p.planes_per_chunk;
    k.elems = static_cast<int>(planes * a.inner);
    return k;
}

/// The work item (channel-major chunk index) the apply passes' block slot b takes: the sums pass's
/// items in reverse. Blocks start in about blockIdx order, so the sums pass reads the last chunks
/// last, and the apply pass starts with them while they are still in L2: on tensors up to about
/// the L2's size (50 MB on an H100 or H200; ResNet-50's batch-norm inputs at batch 32 are 13 to
/// 103 MB) most of the second read of x comes from L2, not from memory. Any order gives the same
/// results (the host emulation runs both).
SEAM_HOST_DEVICE int64_t batch_norm_apply_item(const BatchNormArgs& a, const BatchNormPlan& p, int64_t b) {
    return a.C * p.chunks - 1 - b;
}

/// Offset in [N, C, inner] of the chunk's element j.
SEAM_HOST_DEVICE int64_t batch_norm_offset(const BatchNormArgs& a, const BatchNormPlan& p, const BatchNormChunk& k,
                                           int j) {
    const int plane = p.inner.div(j);
    return ((k.n0 + plane) * a.C + k.c) * a.inner + (j - plane * static_cast<int>(a.inner));
}

/// The G elements of group g of a chunk (those past elems are left alone): one vector load when
/// `vec`, else one load each.
template <class T>
SEAM_HOST_DEVICE void batch_norm_load_group(const T* src, const BatchNormArgs& a, const BatchNormPlan& p,
                                            const BatchNormChunk& k, int g, bool vec, T (&v)[kVecOf<T>]) {
    constexpr int G = kVecOf<T>;
    if (vec) {
        const Vec<T, G> loaded = load_vec<G>(src + batch_norm_offset(a, p, k, G * g));
        for (int q = 0; q < G; ++q) v[q] = loaded.v[q];
        return;
    }
    for (int q = 0; q < G; ++q)
        if (G * g + q < k.elems) v[q] = src[batch_norm_offset(a, p, k, G * g + q)];
}

template <class T>
SEAM_HOST_DEVICE void batch_norm_store_group(T* dst, const BatchNormArgs& a, const BatchNormPlan& p,
                                             const BatchNormChunk& k, int g, bool vec, const T (&v)[kVecOf<T>]) {
    constexpr int G = kVecOf<T>;
    if (vec) {
        Vec<T, G> out;
        for (int q = 0; q < G; ++q) out.v[q] = v[q];
        store_vec<G>(dst + batch_norm_offset(a, p, k, G * g), out);
        return;
    }
    for (int q = 0; q < G; ++q)
        if (G * g + q < k.elems) dst[batch_norm_offset(a, p, k, G * g + q)] = v[q];
}

/// Two double sums a thread carries (and a block, a chunk, a channel combine).
struct SumPair {
    double a = 0, b = 0;
};

/// Thread t's forward sums over its groups of the chunk: Σ(x - K) and Σ(x - K)², j in order.
template <class T>
SEAM_HOST_DEVICE SumPair batch_norm_thread_sums_forward(const T* x, const BatchNormArgs& a, const BatchNormPlan& p,
                                                        const BatchNormChunk& k, double shift, int t, int threads,
                                                        bool vec) {
    constexpr int G = kVecOf<T>;
    const int groups = (k.elems + G - 1) / G;
    SumPair s;
    for (int g0 = t; g0 < groups; g0 += kBatchNormUnroll * threads) {
        T v[kBatchNormUnroll][G];
SEAM_UNROLL
        for (int u = 0; u < kBatchNormUnroll; ++u)
            if (g0 + u * threads < groups) batch_norm_load_group(x, a, p, k, g0 + u * threads, vec, v[u]);
SEAM_UNROLL
        for (int u = 0; u < kBatchNormUnroll; ++u) {
            const int g = g0 + u * threads;
            if (g >= groups) break;
            for (int q = 0; q < G; ++q) {
                if (G * g + q >= k.elems) break;
                const double d = static_cast<double>(v[u][q]) - shift;
                s.a += d;
                s.b += d * d;
            }
        }
    }
    return s;
}

/// Thread t's backward sums: Σ g' and Σ g'·(x - mean), g' = g (g·[y > 0] when y_relu is given).
template <class T>
SEAM_HOST_DEVICE SumPair batch_norm_thread_sums_backward(const T* g, const T* x, const T* y_relu,
                                                         const BatchNormArgs& a, const BatchNormPlan& p,
                                                         const BatchNormChunk& k, double mean, int t, int threads,
                                                         bool vec) {
    constexpr int G = kVecOf<T>;
    const int groups = (k.elems + G - 1) / G;
    SumPair s;
    for (int g0 = t; g0 < groups; g0 += kBatchNormUnroll * threads) {
        T gv[kBatchNormUnroll][G], xv[kBatchNormUnroll][G], yv[kBatchNormUnroll][G];
SEAM_UNROLL
        for (int u = 0; u < kBatchNormUnroll; ++u) {
            const int gi = g0 + u * threads;
            if (gi >= groups) break;
            batch_norm_load_group(g, a, p, k, gi, vec, gv[u]);
            batch_norm_load_group(x, a, p, k, gi, vec, xv[u]);
            if (y_relu) batch_norm_load_group(y_relu, a, p, k, gi, vec, yv[u]);
        }
SEAM_UNROLL
        for (int u = 0; u < kBatchNormUnroll; ++u) {
            const int gi = g0 + u * threads;
            if (gi >= groups) break;
            for (int q = 0; q < G; ++q) {
                if (G * gi + q >= k.elems) break;
                const double gq = y_relu ? (yv[u][q] > T(0) ? static_cast<double>(gv[u][q]) : 0.0)
                                         : static_cast<double>(gv[u][q]);
                s.a += gq;
                s.b += gq * (static_cast<double>(xv[u][q]) - mean);
            }
        }
    }
    return s;
}

/// Lane l's share of a channel's chunk partials: chunks l, l + 32, ... in order.
SEAM_HOST_DEVICE SumPair batch_norm_lane_partials(const double* partial_a, const double* partial_b,
                                                  const BatchNormPlan& p, int64_t c, int lane) {
    SumPair s;
    for (int64_t chunk = lane; chunk < p.chunks; chunk += kWarpSize) {
        s.a += partial_a[c * p.chunks + chunk];
        s.b += partial_b[c * p.chunks + chunk];
    }
    return s;
}

/// A channel's forward statistics (training: from the shifted sums; evaluation: the running
/// buffers) and what the apply pass multiplies and adds.
struct BatchNormForwardCoefficients {
    double mean = 0, invstd = 1, unbiased_var = 0;
    double scale = 1, shift = 0;  // y = x·T(scale) + T(shift)
};

SEAM_HOST_DEVICE BatchNormForwardCoefficients batch_norm_forward_coefficients(const BatchNormArgs& a, SumPair sums,
                                                                             double K, double weight, double bias,
                                                                             double running_mean,
                                                                             double running_var) {
    BatchNormForwardCoefficients f;
    double var;
    if (a.training) {
        const double M = static_cast<double>(a.N * a.inner);
        const double mean_shift = sums.a / M;
        double centered = sums.b - sums.a * mean_shift;  // Σ(x - mean)²
        if (centered < 0) centered = 0;                  // rounding only: it is a sum of squares
        f.mean = K + mean_shift;
        var = centered / M;
        f.unbiased_var = centered / (M - 1);
    } else {
        f.mean = running_mean;
        var = running_var;
    }
    f.invstd = norm_detail::rsqrt_d(var + a.eps);
    f.scale = weight * f.invstd;
    f.shift = bias - f.mean * f.scale;
    return f;
}

/// A channel's backward coefficients from Σ g' and Σ g'·(x - mean): dx = A·(g' - mean_g) - B·(x - m).
struct BatchNormBackwardCoefficients {
    double A = 0, mean_g = 0, B = 0;
};

SEAM_HOST_DEVICE BatchNormBackwardCoefficients batch_norm_backward_coefficients(const BatchNormArgs& a, SumPair sums,
                                                                               double weight, double invstd) {
    BatchNormBackwardCoefficients b;
    const double M = static_cast<double>(a.N * a.inner);
    b.A = weight * invstd;
    b.mean_g = a.training ? sums.a / M : 0.0;
    b.B = a.training ? weight * invstd * invstd * invstd * sums.b / M : 0.0;
    return b;
}

/// Thread t's share of the forward output: y = x·scale + shift (then max(y, 0) when fused).
template <class T>
SEAM_HOST_DEVICE void batch_norm_thread_apply_forward(const T* x, T* y, const BatchNormArgs& a, const BatchNormPlan& p,
                                                      const BatchNormChunk& k, T scale, T shift, int t, int threads,
                                                      bool vec) {
    constexpr int G = kVecOf<T>;
    const int groups = (k.elems + G - 1) / G;
    for (int g = t; g < groups; g += threads) {
        T v[G];
        batch_norm_load_group(x, a, p, k, g, vec, v);
        for (int q = 0; q < G; ++q) {
            const T o = v[q] * scale + shift;
            v[q] = a.relu ? (o > T(0) ? o : T(0)) : o;
        }
        batch_norm_store_group(y, a, p, k, g, vec, v);
    }
}

/// Thread t's share of dx = A·(g' - mean_g) - B·(x - m), in T as version 1.
template <class T>
SEAM_HOST_DEVICE void batch_norm_thread_apply_backward(const T* g, const T* x, const T* y_relu, T* dx,
                                                       const BatchNormArgs& a, const BatchNormPlan& p,
                                                       const BatchNormChunk& k, T A, T mean_g, T B, T m, int t,
                                                       int threads, bool vec) {
    constexpr int G = kVecOf<T>;
    const int groups = (k.elems + G - 1) / G;
    for (int gi = t; gi < groups; gi += threads) {
        T gv[G], xv[G], yv[G];
        batch_norm_load_group(g, a, p, k, gi, vec, gv);
        batch_norm_load_group(x, a, p, k, gi, vec, xv);
        if (y_relu) batch_norm_load_group(y_relu, a, p, k, gi, vec, yv);
        for (int q = 0; q < G; ++q) {
            const T gq = y_relu ? gv[q] * static_cast<T>(yv[q] > T(0)) : gv[q];
            gv[q] = A * (gq - mean_g) - B * (xv[q] - m);
        }
        batch_norm_store_group(dx, a, p, k, gi, vec, gv);
    }
}

namespace norm_detail {

/// The block's two sums, every warp's shuffle tree (lane l += lane l + offset, offsets 16 .. 1),
/// then warp 0 .. 7's results added in order by thread 0. Returns the total in thread 0 only.
__device__ inline SumPair block_sum_pair(SumPair s, double* warp_a, double* warp_b) {
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
        s.a += __shfl_down_sync(0xffffffffu, s.a, offset);
        s.b += __shfl_down_sync(0xffffffffu, s.b, offset);
    }
    const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
    if (lane == 0) warp_a[warp] = s.a, warp_b[warp] = s.b;
    __syncthreads();
    SumPair total;
    if (threadIdx.x == 0)
        for (int w = 0; w < kThreads / kWarpSize; ++w) total.a += warp_a[w], total.b += warp_b[w];
    __syncthreads();  // warp_a and warp_b are reused by the block's next chunk
    return total;
}

/// Warp 0's sum of a channel's partials (lane shares, then the shuffle tree); the result in lane 0.
__device__ inline SumPair warp_channel_sums(const double* partial_a, const double* partial_b, const BatchNormPlan& p,
                                            int64_t c) {
    SumPair s = batch_norm_lane_partials(partial_a, partial_b, p, c, static_cast<int>(threadIdx.x));
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
        s.a += __shfl_down_sync(0xffffffffu, s.a, offset);
        s.b += __shfl_down_sync(0xffffffffu, s.b, offset);
    }
    return s;
}

}  // namespace norm_detail

template <class T>
__global__ void __launch_bounds__(kThreads)
    batch_norm_sums_forward_kernel(const T* x, BatchNormArgs a, BatchNormPlan p, bool vec, double* partial_a,
                                   double* partial_b, double* shift_k) {
    __shared__ double warp_a[kThreads / kWarpSize], warp_b[kThreads / kWarpSize];
    for (int64_t b = blockIdx.x; b < a.C * p.chunks; b += gridDim.x) {
        const BatchNormChunk k = batch_norm_chunk(a, p, b);
        const double K = static_cast<double>(x[k.c * a.inner]);  // x[0, c, 0]
        const SumPair s = batch_norm_thread_sums_forward(x, a, p, k, K, threadIdx.x, kThreads, vec);
        const SumPair total = norm_detail::block_sum_pair(s, warp_a, warp_b);
        if (threadIdx.x == 0) {
            partial_a[b] = total.a, partial_b[b] = total.b;
            if (k.chunk == 0) shift_k[k.c] = K;
        }
    }
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    batch_norm_apply_forward_kernel(const T* x, T* y, ChannelVector<const T> weight, ChannelVector<const T> bias,
                                    ChannelVector<T> running_mean, ChannelVector<T> running_var, double* save_mean,
                                    double* save_invstd, BatchNormArgs a, BatchNormPlan p, bool vec,
                                    const double* partial_a, const double* partial_b, const double* shift_k) {
    __shared__ T coefficients[2];
    for (int64_t b = blockIdx.x; b < a.C * p.chunks; b += gridDim.x) {
        const BatchNormChunk k = batch_norm_chunk(a, p, batch_norm_apply_item(a, p, b));
        if (threadIdx.x < kWarpSize) {
            SumPair sums;
            if (a.training) sums = norm_detail::warp_channel_sums(partial_a, partial_b, p, k.c);
            if (threadIdx.x == 0) {
                // In training the running buffers are not read: chunk 0's block of the channel may be
                // updating them at this moment.
                const BatchNormForwardCoefficients f = batch_norm_forward_coefficients(
                    a, sums, a.training ? shift_k[k.c] : 0.0, weight.get(k.c, 1.0),
                    bias.get(k.c, 0.0), a.training ? 0.0 : running_mean.get(k.c, 0.0),
                    a.training ? 1.0 : running_var.get(k.c, 1.0));
                coefficients[0] = static_cast<T>(f.scale);
                coefficients[1] = static_cast<T>(f.shift);
                if (k.chunk == 0) {  // one block per channel writes the per-channel results
                    save_mean[k.c] = f.mean;
                    save_invstd[k.c] = f.invstd;
                    if (a.training && running_mean.data) {
                        T* rm = running_mean.data + k.c * running_mean.stride;
                        T* rv = running_var.data + k.c * running_var.stride;
                        *rm = static_cast<T>((1.0 - a.momentum) * static_cast<double>(*rm) + a.momentum * f.mean);
                        *rv = static_cast<T>((1.0 - a.momentum) * static_cast<double>(*rv) +
                                             a.momentum * f.unbiased_var);
                    }
                }
            }
        }
        __syncthreads();
        batch_norm_thread_apply_forward(x, y, a, p, k, coefficients[0], coefficients[1], threadIdx.x, kThreads, vec);
        __syncthreads();  // coefficients is rewritten for the block's next chunk
    }
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    batch_norm_sums_backward_kernel(const T* g, const T* x, const T* y_relu, const double* save_mean, BatchNormArgs a,
                                    BatchNormPlan p, bool vec, double* partial_a, double* partial_b) {
    __shared__ double warp_a[kThreads / kWarpSize], warp_b[kThreads / kWarpSize];
    for (int64_t b = blockIdx.x; b < a.C * p.chunks; b += gridDim.x) {
        const BatchNormChunk k = batch_norm_chunk(a, p, b);
        const SumPair s =
            batch_norm_thread_sums_backward(g, x, y_relu, a, p, k, save_mean[k.c], threadIdx.x, kThreads, vec);
        const SumPair total = norm_detail::block_sum_pair(s, warp_a, warp_b);
        if (threadIdx.x == 0) partial_a[b] = total.a, partial_b[b] = total.b;
    }
}

/// need_sums: the sums pass ran (training, or dweight / dbias wanted); without it the partials
/// are not read and Σ g' = Σ g'·(x - m) = 0 enter the coefficients (evaluation: they do not matter).
template <class T>
__global__ void __launch_bounds__(kThreads)
    batch_norm_apply_backward_kernel(const T* g, const T* x, const T* y_relu, ChannelVector<const T> weight,
                                     const double* save_mean, const double* save_invstd, BatchNormArgs a,
                                     BatchNormPlan p, bool vec, bool need_sums, const double* partial_a,
                                     const double* partial_b, T* dx, T* dweight, T* dbias) {
    __shared__ T coefficients[4];
    for (int64_t b = blockIdx.x; b < a.C * p.chunks; b += gridDim.x) {
        const BatchNormChunk k = batch_norm_chunk(a, p, batch_norm_apply_item(a, p, b));
        if (!dx && k.chunk != 0) continue;  // only the per-channel results are wanted (uniform per block)
        if (threadIdx.x < kWarpSize) {
            SumPair sums;
            if (need_sums) sums = norm_detail::warp_channel_sums(partial_a, partial_b, p, k.c);
            if (threadIdx.x == 0) {
                const double is = save_invstd[k.c];
                if (k.chunk == 0) {
                    if (dbias) dbias[k.c] = static_cast<T>(sums.a);
                    if (dweight) dweight[k.c] = static_cast<T>(sums.b * is);
                }
                const BatchNormBackwardCoefficients c = batch_norm_backward_coefficients(a, sums, weight.get(k.c, 1.0), is);
                coefficients[0] = static_cast<T>(c.A);
                coefficients[1] = static_cast<T>(c.mean_g);
                coefficients[2] = static_cast<T>(c.B);
                coefficients[3] = static_cast<T>(save_mean[k.c]);
            }
        }
        __syncthreads();
        if (dx)
            batch_norm_thread_apply_backward(g, x, y_relu, dx, a, p, k, coefficients[0], coefficients[1],
                                             coefficients[2], coefficients[3], threadIdx.x, kThreads, vec);
        __syncthreads();
    }
}

/// Blocks of a version-2 launch: one per (channel, chunk), grid-stride beyond 2^20.
inline unsigned batch_norm_blocks(const BatchNormArgs& a, const BatchNormPlan& p) {
    return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(a.C * p.chunks, int64_t(1) << 20)));
}

/// Where the batch_norm launchers send version 2's passes on the GPU (tests/cuda/
/// test_norm_kernel_logic.cu sends them to a host emulation with the same members).
struct DeviceBatchNorm {
    cudaStream_t stream;

    template <class T>
    void sums_forward(const T* x, const BatchNormArgs& a, const BatchNormPlan& p, bool vec, double* partial_a,
                      double* partial_b, double* shift_k) const {
        batch_norm_sums_forward_kernel<T><<<batch_norm_blocks(a, p), kThreads, 0, stream>>>(x, a, p, vec, partial_a,
                                                                                            partial_b, shift_k);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void apply_forward(const T* x, T* y, ChannelVector<const T> weight, ChannelVector<const T> bias,
                       ChannelVector<T> running_mean, ChannelVector<T> running_var, double* save_mean,
                       double* save_invstd, const BatchNormArgs& a, const BatchNormPlan& p, bool vec,
                       const double* partial_a, const double* partial_b, const double* shift_k) const {
        batch_norm_apply_forward_kernel<T><<<batch_norm_blocks(a, p), kThreads, 0, stream>>>(
            x, y, weight, bias, running_mean, running_var, save_mean, save_invstd, a, p, vec, partial_a, partial_b,
            shift_k);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void sums_backward(const T* g, const T* x, const T* y_relu, const double* save_mean, const BatchNormArgs& a,
                       const BatchNormPlan& p, bool vec, double* partial_a, double* partial_b) const {
        batch_norm_sums_backward_kernel<T><<<batch_norm_blocks(a, p), kThreads, 0, stream>>>(
            g, x, y_relu, save_mean, a, p, vec, partial_a, partial_b);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void apply_backward(const T* g, const T* x, const T* y_relu, ChannelVector<const T> weight,
                        const double* save_mean, const double* save_invstd, const BatchNormArgs& a,
                        const BatchNormPlan& p, bool vec, bool need_sums, const double* partial_a,
                        const double* partial_b, T* dx, T* dweight, T* dbias) const {
        batch_norm_apply_backward_kernel<T><<<batch_norm_blocks(a, p), kThreads, 0, stream>>>(
            g, x, y_relu, weight, save_mean, save_invstd, a, p, vec, need_sums, partial_a, partial_b, dx, dweight,
            dbias);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
};

/// Version 2's forward on any executor (DeviceBatchNorm on the GPU; the tests' host emulation).
template <class T, class Exec>
inline void batch_norm_forward_v2_on(const Exec& exec, const T* x, T* y, ChannelVector<const T> weight,
                                     ChannelVector<const T> bias, ChannelVector<T> running_mean,
                                     ChannelVector<T> running_var, double* save_mean, double* save_invstd,
                                     const BatchNormArgs& a, void* workspace) {
    if (a.C == 0) return;
    SEAM_CHECK(batch_norm_v2_fits(a), "batch_norm_forward: version 2 cannot cut N=", a.N, " inner=", a.inner);
    const BatchNormPlan p = plan_batch_norm(a);
    const bool vec = a.inner % kVecOf<T> == 0 && is_aligned(x, 16) && is_aligned(y, 16);
    double* partial_a = static_cast<double*>(workspace);
    double* partial_b = partial_a ? partial_a + a.C * p.chunks : nullptr;
    double* shift_k = partial_a ? partial_b + a.C * p.chunks : nullptr;
    if (a.training) {
        SEAM_CHECK(a.N * a.inner > 0, "batch_norm_forward: training needs at least one value a channel, got N=", a.N,
                   " inner=", a.inner);
        SEAM_CHECK(workspace, "batch_norm_forward: a workspace of ", batch_norm_workspace_bytes(a, 2),
                   " bytes is required");
        exec.sums_forward(x, a, p, vec, partial_a, partial_b, shift_k);
    }
    exec.apply_forward(x, y, weight, bias, running_mean, running_var, save_mean, save_invstd, a, p, vec, partial_a,
                       partial_b, shift_k);
}

/// Version 2's backward on any executor.
template <class T, class Exec>
inline void batch_norm_backward_v2_on(const Exec& exec, const T* g, const T* x, const T* y_relu,
                                      ChannelVector<const T> weight, const double* save_mean,
                                      const double* save_invstd, const BatchNormArgs& a, T* dx, T* dweight, T* dbias,
                                      void* workspace) {
    if (a.C == 0) return;
    SEAM_CHECK(batch_norm_v2_fits(a), "batch_norm_backward: version 2 cannot cut N=", a.N, " inner=", a.inner);
    const BatchNormPlan p = plan_batch_norm(a);
    const bool vec = a.inner % kVecOf<T> == 0 && is_aligned(g, 16) && is_aligned(x, 16) && is_aligned(y_relu, 16) &&
                     is_aligned(dx, 16);
    // No values (N·inner = 0): no sums pass and no workspace; the apply pass writes dweight = dbias
    // = 0 from the zero sums.
    const bool need_sums = (a.training || dweight || dbias) && a.N * a.inner > 0;
    double* partial_a = static_cast<double*>(workspace);
    double* partial_b = partial_a ? partial_a + a.C * p.chunks : nullptr;
    if (need_sums) {
        SEAM_CHECK(workspace, "batch_norm_backward: a workspace of ", batch_norm_workspace_bytes(a, 2),
                   " bytes is required");
        exec.sums_backward(g, x, y_relu, save_mean, a, p, vec, partial_a, partial_b);
    }
    if (!dx && !dweight && !dbias) return;
    exec.apply_backward(g, x, y_relu, weight, save_mean, save_invstd, a, p, vec, need_sums, partial_a, partial_b, dx,
                        dweight, dbias);
}

/// batch_norm forward: version `version` (batch_norm_version(a) unless a test or bench asks for
/// one). `workspace` holds batch_norm_workspace_bytes(a, version) bytes (null when that is 0) and
/// must stay valid until the work on `stream` is done.
template <class T>
inline void batch_norm_forward(const T* x, T* y, ChannelVector<const T> weight, ChannelVector<const T> bias,
                               ChannelVector<T> running_mean, ChannelVector<T> running_var, double* save_mean,
                               double* save_invstd, const BatchNormArgs& a, void* workspace, cudaStream_t stream,
                               int version) {
    if (a.C == 0) return;
    if (version >= 2) {
        batch_norm_forward_v2_on<T>(DeviceBatchNorm{stream}, x, y, weight, bias, running_mean, running_var, save_mean,
                                    save_invstd, a, workspace);
        return;
    }
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(a.C, int64_t(1) << 20));
    batch_norm_forward_kernel<T><<<blocks, kThreads, 0, stream>>>(x, y, weight, bias, running_mean, running_var,
                                                                  save_mean, save_invstd, a);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

/// batch_norm backward (the same version and workspace rules as the forward).
template <class T>
inline void batch_norm_backward(const T* g, const T* x, const T* y_relu, ChannelVector<const T> weight,
                                const double* save_mean, const double* save_invstd, const BatchNormArgs& a, T* dx,
                                T* dweight, T* dbias, void* workspace, cudaStream_t stream, int version) {
    if (a.C == 0) return;
    if (version >= 2) {
        batch_norm_backward_v2_on<T>(DeviceBatchNorm{stream}, g, x, y_relu, weight, save_mean, save_invstd, a, dx,
                                     dweight, dbias, workspace);
        return;
    }
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(a.C, int64_t(1) << 20));
    batch_norm_backward_kernel<T><<<blocks, kThreads, 0, stream>>>(g, x, y_relu, weight, save_mean, save_invstd, a, dx,
                                                                   dweight, dbias);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

// ----- layer normalisation ----------------------------------------------------------------------------------

/// One layer_norm call: x is [rows, cols], cols = the product of normalized_shape (> 0).
struct LayerNormArgs {
    int64_t rows = 0, cols = 0;
    double eps = 1e-5;
};

namespace norm_detail {

/// Threads of a row block: a power of two of 32..kThreads, at least n when n ≤ kThreads
/// (block_sum's tree needs a power of two).
inline int row_block_threads(int64_t n) {
    int threads = 32;
    while (threads < kThreads && threads < n) threads *= 2;
    return threads;
}

/// One block per row, grid-stride beyond 2^20 rows.
inline unsigned row_blocks(int64_t rows) {
    return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(rows, int64_t(1) << 20)));
}

}  // namespace norm_detail

template <class T>
__global__ void layer_norm_forward_kernel(const T* x, const T* weight, const T* bias, T* y, double* mean, double* rstd,
                                          LayerNormArgs a) {
    __shared__ double shared[kThreads];
    const int64_t D = a.cols;
    for (int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {  // the same rows for every thread: syncs stay uniform
        const T* p = x + r * D;
        double s = 0;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += static_cast<double>(p[i]);
        const double m = norm_detail::block_sum(s, shared) / static_cast<double>(D);
        double q = 0;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
            const double d = static_cast<double>(p[i]) - m;
            q += d * d;
        }
        const double var = norm_detail::block_sum(q, shared) / static_cast<double>(D);  // biased, as PyTorch
        const double is = norm_detail::rsqrt_d(var + a.eps);
        if (threadIdx.x == 0) {
            mean[r] = m;
            rstd[r] = is;
        }
        const T mt = static_cast<T>(m), st = static_cast<T>(is);
        T* out = y + r * D;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
            T v = (p[i] - mt) * st;
            if (weight) v *= weight[i];
            if (bias) v += bias[i];
            out[i] = v;
        }
    }
}

template <class T>
__global__ void layer_norm_backward_input_kernel(const T* g, const T* x, const T* weight, const double* mean,
                                                 const double* rstd, LayerNormArgs a, T* dx) {
    __shared__ double shared[kThreads];
    const int64_t D = a.cols;
    for (int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {
        const T* gr = g + r * D;
        const T* p = x + r * D;
        const double m = mean[r], is = rstd[r];
        double sum_gw = 0, sum_gwx = 0;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
            const double gw = static_cast<double>(gr[i]) * (weight ? static_cast<double>(weight[i]) : 1.0);
            sum_gw += gw;
            sum_gwx += gw * (static_cast<double>(p[i]) - m) * is;
        }
        const double mean_gw = norm_detail::block_sum(sum_gw, shared) / static_cast<double>(D);
        const double mean_gwx = norm_detail::block_sum(sum_gwx, shared) / static_cast<double>(D);
        const T st = static_cast<T>(is), at = static_cast<T>(mean_gw), bt = static_cast<T>(mean_gwx),
                mt = static_cast<T>(m);
        T* d = dx + r * D;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
            const T gwi = weight ? gr[i] * weight[i] : gr[i];
            d[i] = st * (gwi - at - (p[i] - mt) * st * bt);
        }
    }
}

/// First pass of dweight / dbias: block (column tile, chunk) sums the rows of its chunk, in order,
/// for its columns into partial_w / partial_b [chunks, cols] (either may be null: not wanted).
template <class T>
__global__ void layer_norm_param_partial_kernel(const T* g, const T* x, const double* mean, const double* rstd,
                                                LayerNormArgs a, int64_t rows_per_chunk, double* partial_w,
                                                double* partial_b) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= a.cols) return;  // no shared memory, no syncs: an early return is safe
    const int64_t begin = int64_t(blockIdx.y) * rows_per_chunk;
    const int64_t end = begin + rows_per_chunk < a.rows ? begin + rows_per_chunk : a.rows;
    double sum_w = 0, sum_b = 0;
    for (int64_t r = begin; r < end; ++r) {
        const double gv = static_cast<double>(g[r * a.cols + i]);
        if (partial_w) sum_w += gv * (static_cast<double>(x[r * a.cols + i]) - mean[r]) * rstd[r];
        sum_b += gv;
    }
    const int64_t at = int64_t(blockIdx.y) * a.cols + i;
    if (partial_w) partial_w[at] = sum_w;
    if (partial_b) partial_b[at] = sum_b;
}

/// Second pass: dweight[i] = Σ_chunk partial_w[chunk, i] in chunk order (dbias likewise).
template <class T>
__global__ void layer_norm_param_finish_kernel(const double* partial_w, const double* partial_b, int64_t chunks,
                                               int64_t cols, T* dweight, T* dbias) {
    SEAM_GRID_STRIDE_LOOP(i, cols) {
        double sum_w = 0, sum_b = 0;
        for (int64_t c = 0; c < chunks; ++c) {
            if (partial_w) sum_w += partial_w[c * cols + i];
            if (partial_b) sum_b += partial_b[c * cols + i];
        }
        if (dweight) dweight[i] = static_cast<T>(sum_w);
        if (dbias) dbias[i] = static_cast<T>(sum_b);
    }
}

/// How the rows are cut for the parameter gradients: from the shape only (never the GPU), so the
/// order of additions and the bits of the result are the same everywhere. Enough chunks for about
/// 256 blocks, at least 16 rows a chunk, at most 65535 chunks (grid.y).
struct LayerNormParamPlan {
    int64_t chunks = 1, rows_per_chunk = 0;
};
inline LayerNormParamPlan plan_layer_norm_params(int64_t rows, int64_t cols) {
    constexpr int64_t kTargetBlocks = 256, kMinRowsPerChunk = 16;
    LayerNormParamPlan p;
    if (rows <= 0 || cols <= 0) return p;  // one chunk of no rows: the gradients are zeros
    const int64_t column_blocks = ceil_div(cols, kThreads);
    p.chunks = std::min({ceil_div(kTargetBlocks, column_blocks), ceil_div(rows, kMinRowsPerChunk), int64_t(65535)});
    p.chunks = std::max<int64_t>(1, p.chunks);
    p.rows_per_chunk = ceil_div(rows, p.chunks);
    p.chunks = ceil_div(rows, p.rows_per_chunk);
    return p;
}

/// Device workspace layer_norm_backward needs for dweight and dbias: two [chunks, cols] doubles.
inline size_t layer_norm_param_workspace_bytes(int64_t rows, int64_t cols) {
    const LayerNormParamPlan p = plan_layer_norm_params(rows, cols);
    return static_cast<size_t>(2 * p.chunks * std::max<int64_t>(cols, 0)) * sizeof(double);
}

// ----- layer_norm version 2: a row held in registers ----------------------------------------------------
//
// Version 1 gives each row a block and reads it three times forward (Σ x, Σ (x - m)², the output)
// and twice backward. Version 2 (the default for rows of at most 1024 values;
// SEAM_LAYER_NORM_VERSION=1 restores version 1) gives a row to a group of lanes (row_group.cuh)
// that holds its values in registers: forward one read of x and one write of y, with the same two
// passes (Σ x, then Σ (x - m)², in double) over the registers and butterflies for the sums;
// backward one read of g and x and one write of dx. The arithmetic is version 1's value by value;
// only the order of the sums' additions differs. The parameter gradients keep version 1's column
// kernels (they read g and x once more). ptxas (sm_90, CUDA 13, -O3, 2026-11-28): float forward
// 158 registers (one 256-thread block an SM), backward 106, double forward 191, backward 170, no
// spills; __launch_bounds__(256, 2) spills 140-264 bytes. Whether one block an SM keeps enough loads in flight (32 KiB) is the first
// question for the GPU run; 16 values a lane (rows ≤ 512) would halve the registers.

inline bool layer_norm_rows_v2_fits(int64_t cols) { return cols >= 1 && cols <= int64_t(kWarpSize) * kRowLaneValues; }

/// The layer_norm version to run: SEAM_LAYER_NORM_VERSION (1 or 2; default 2), version 1 for rows
/// longer than 1024 values.
inline int layer_norm_version(int64_t cols) {
    const int v = kernel_version("SEAM_LAYER_NORM_VERSION", 2);
    return v == 2 && !layer_norm_rows_v2_fits(cols) ? 1 : v;
}

/// Σ x over the lane's values (double), and Σ (x - m)².
template <class T>
SEAM_HOST_DEVICE double layer_norm_lane_sum(const T (&v)[kRowLaneValues], int count) {
    double s = 0;
SEAM_UNROLL
    for (int k = 0; k < kRowLaneValues; ++k) {
        if (k >= count) break;
        s += static_cast<double>(v[k]);
    }
    return s;
}
template <class T>
SEAM_HOST_DEVICE double layer_norm_lane_squares(const T (&v)[kRowLaneValues], int count, double m) {
    double q = 0;
SEAM_UNROLL
    for (int k = 0; k < kRowLaneValues; ++k) {
        if (k >= count) break;
        const double d = static_cast<double>(v[k]) - m;
        q += d * d;
    }
    return q;
}

/// y = (x - T(m))·T(rstd), then ·w[i], then +b[i] (each when given), version 1's order.
template <class T>
SEAM_HOST_DEVICE void layer_norm_lane_store(const T (&v)[kRowLaneValues], int count, T mt, T st, const T* weight,
                                            const T* bias, T* out_row, int lane, int lanes) {
SEAM_UNROLL
    for (int k = 0; k < kRowLaneValues; ++k) {
        if (k >= count) break;
        const int64_t c = lane + int64_t(k) * lanes;
        T o = (v[k] - mt) * st;
        if (weight) o *= weight[c];
        if (bias) o += bias[c];
        out_row[c] = o;
    }
}

/// The lane's Σ gw and Σ gw·xhat, gw = g·w (g without weight), xhat = (x - m)·rstd, in double.
template <class T>
SEAM_HOST_DEVICE void layer_norm_lane_backward_sums(const T (&g)[kRowLaneValues], const T (&x)[kRowLaneValues], int count,
                                                    const T* weight, int lane, int lanes, double m, double is,
                                                    double& sum_gw, double& sum_gwx) {
    sum_gw = 0, sum_gwx = 0;
SEAM_UNROLL
    for (int k = 0; k < kRowLaneValues; ++k) {
        if (k >= count) break;
        const int64_t c = lane + int64_t(k) * lanes;
        const double gw = static_cast<double>(g[k]) * (weight ? static_cast<double>(weight[c]) : 1.0);
        sum_gw += gw;
        sum_gwx += gw * (static_cast<double>(x[k]) - m) * is;
    }
}

/// dx = T(rstd)·(gw - T(a) - (x - T(m))·T(rstd)·T(b)), version 1's formula.
template <class T>
SEAM_HOST_DEVICE void layer_norm_lane_backward_store(const T (&g)[kRowLaneValues], const T (&x)[kRowLaneValues],
                                                     int count, const T* weight, T st, T at, T bt, T mt, T* dx_row,
                                                     int lane, int lanes) {
SEAM_UNROLL
    for (int k = 0; k < kRowLaneValues; ++k) {
        if (k >= count) break;
        const int64_t c = lane + int64_t(k) * lanes;
        const T gwi = weight ? g[k] * weight[c] : g[k];
        dx_row[c] = st * (gwi - at - (x[k] - mt) * st * bt);
    }
}

/// Every lane of a warp runs the same iterations (the butterflies need the whole warp).
template <class T>
__global__ void __launch_bounds__(kThreads)
    layer_norm_forward_v2_kernel(const T* x, const T* weight, const T* bias, T* y, double* mean, double* rstd,
                                 LayerNormArgs a, int lanes) {
    const int64_t D = a.cols;
    const RowGroupWalk w(lanes, blockIdx.x, threadIdx.x, gridDim.x);
    const int lane = w.lane;
    for (int64_t base = w.first; base < a.rows; base += w.stride) {
        const int64_t r = base + w.offset;
        const bool valid = r < a.rows;
        T v[kRowLaneValues];
        const int count = valid ? row_lane_load(x + r * D, D, lane, lanes, v) : 0;
        const double m = row_group_sum(layer_norm_lane_sum(v, count), lanes) / static_cast<double>(D);
        const double var = row_group_sum(layer_norm_lane_squares(v, count, m), lanes) / static_cast<double>(D);
        const double is = norm_detail::rsqrt_d(var + a.eps);
        if (!valid) continue;
        if (lane == 0) mean[r] = m, rstd[r] = is;
        layer_norm_lane_store(v, count, static_cast<T>(m), static_cast<T>(is), weight, bias, y + r * D, lane, lanes);
    }
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    layer_norm_backward_input_v2_kernel(const T* g, const T* x, const T* weight, const double* mean, const double* rstd,
                                        LayerNormArgs a, int lanes, T* dx) {
    const int64_t D = a.cols;
    const RowGroupWalk w(lanes, blockIdx.x, threadIdx.x, gridDim.x);
    const int lane = w.lane;
    for (int64_t base = w.first; base < a.rows; base += w.stride) {
        const int64_t r = base + w.offset;
        const bool valid = r < a.rows;
        T gv[kRowLaneValues], xv[kRowLaneValues];
        const int count = valid ? row_lane_load(g + r * D, D, lane, lanes, gv) : 0;
        if (valid) row_lane_load(x + r * D, D, lane, lanes, xv);
        const double m = valid ? mean[r] : 0.0, is = valid ? rstd[r] : 1.0;
        double sum_gw, sum_gwx;
        layer_norm_lane_backward_sums(gv, xv, count, weight, lane, lanes, m, is, sum_gw, sum_gwx);
        const double mean_gw = row_group_sum(sum_gw, lanes) / static_cast<double>(D);
        const double mean_gwx = row_group_sum(sum_gwx, lanes) / static_cast<double>(D);
        if (!valid) continue;
        layer_norm_lane_backward_store(gv, xv, count, weight, static_cast<T>(is), static_cast<T>(mean_gw),
                                       static_cast<T>(mean_gwx), static_cast<T>(m), dx + r * D, lane, lanes);
    }
}

template <class T>
inline void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, double* mean, double* rstd,
                               const LayerNormArgs& a, cudaStream_t stream) {
    if (a.rows == 0 || a.cols == 0) return;
    if (layer_norm_version(a.cols) >= 2) {
        const int lanes = row_group_lanes(a.cols);
        layer_norm_forward_v2_kernel<T><<<row_group_blocks(a.rows, lanes), kThreads, 0, stream>>>(x, weight, bias, y, mean,
                                                                                                   rstd, a, lanes);
    } else {
        layer_norm_forward_kernel<T><<<norm_detail::row_blocks(a.rows), norm_detail::row_block_threads(a.cols), 0,
                                       stream>>>(x, weight, bias, y, mean, rstd, a);
    }
    SEAM_CUDA_CHECK(cudaGetLastError());
}

/// dx, dweight, dbias (each may be null when not wanted). `workspace` holds
/// layer_norm_param_workspace_bytes(rows, cols) bytes when dweight or dbias is wanted, and must stay
/// valid until the work on `stream` is done.
template <class T>
inline void layer_norm_backward(const T* g, const T* x, const T* weight, const double* mean, const double* rstd,
                                const LayerNormArgs& a, T* dx, T* dweight, T* dbias, void* workspace,
                                cudaStream_t stream) {
    if (a.cols == 0) return;
    if (dx && a.rows > 0) {
        if (layer_norm_version(a.cols) >= 2) {
            const int lanes = row_group_lanes(a.cols);
            layer_norm_backward_input_v2_kernel<T><<<row_group_blocks(a.rows, lanes), kThreads, 0, stream>>>(
                g, x, weight, mean, rstd, a, lanes, dx);
        } else {
            layer_norm_backward_input_kernel<T>
                <<<norm_detail::row_blocks(a.rows), norm_detail::row_block_threads(a.cols), 0, stream>>>(
                    g, x, weight, mean, rstd, a, dx);
        }
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    if (!dweight && !dbias) return;
    SEAM_CHECK(workspace, "layer_norm_backward: the parameter gradients need a workspace of ",
               layer_norm_param_workspace_bytes(a.rows, a.cols), " bytes");
    const LayerNormParamPlan p = plan_layer_norm_params(a.rows, a.cols);
    double* partial_w = dweight ? static_cast<double*>(workspace) : nullptr;
    double* partial_b = dbias ? static_cast<double*>(workspace) + p.chunks * a.cols : nullptr;
    const int64_t column_blocks = ceil_div(a.cols, kThreads);
    SEAM_CHECK(column_blocks <= 0x7fffffff, "layer_norm_backward: ", a.cols, " columns are too many for one grid");
    const dim3 grid(static_cast<unsigned>(column_blocks), static_cast<unsigned>(p.chunks));
    layer_norm_param_partial_kernel<T><<<grid, kThreads, 0, stream>>>(g, x, mean, rstd, a, p.rows_per_chunk, partial_w,
                                                                      partial_b);
    SEAM_CUDA_CHECK(cudaGetLastError());
    layer_norm_param_finish_kernel<T><<<grid_for(a.cols), kThreads, 0, stream>>>(partial_w, partial_b, p.chunks, a.cols,
                                                                                  dweight, dbias);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

// ----- dropout ---------------------------------------------------------------------------------------------

template <class T>
__global__ void dropout_forward_kernel(const T* x, T* y, uint8_t* keep, int64_t n, uint64_t key, uint64_t base,
                                       uint64_t threshold, T scale) {
    SEAM_GRID_STRIDE_LOOP(b, (n + 3) / 4) {
        const Philox4x32 r = philox4x32(base + static_cast<uint64_t>(b), 0, key);
        for (int k = 0; k < 4; ++k) {
            const int64_t i = 4 * b + k;
            if (i >= n) break;
            const bool kept = static_cast<uint64_t>(r.v[k]) < threshold;
            keep[i] = kept;
            y[i] = x[i] * (kept ? scale : T(0));
        }
    }
}

template <class T>
__global__ void dropout_backward_kernel(const T* g, const uint8_t* keep, T* dx, int64_t n, T scale) {
    SEAM_GRID_STRIDE_LOOP(i, n) { dx[i] = g[i] * (keep[i] ? scale : T(0)); }
}

// ----- dropout version 2: 16-byte groups ----------------------------------------------------------------
//
// Version 1 draws one Philox block per 4 elements too, but loads and stores them one element at a
// time (and the mask one byte at a time). Version 2 (the default; SEAM_DROPOUT_VERSION=1 restores
// version 1) moves a group of 4 elements as one 16-byte load and store (two for double) and its 4
// mask bytes as one 4-byte store when x and y are 16-byte and the mask 4-byte aligned; the
// backward reads the 4 mask bytes as one word and g, dx by 16 bytes. A last partial group, and
// misaligned tensors, go element by element. Same words, same mask, same values as version 1.

/// x, y (and g, dx) 16-byte aligned and the mask 4-byte aligned: version 2's vector path.
inline bool dropout_vector_aligned(const void* a, const void* b, const uint8_t* keep) {
    return is_aligned(a, 16) && is_aligned(b, 16) && is_aligned(keep, 4);
}

/// The 4 elements of group b of a dropout forward: words of Philox block base + b.
template <class T>
SEAM_HOST_DEVICE void dropout_forward_group(const T* x, T* y, uint8_t* keep, int64_t n, uint64_t key, uint64_t base,
                                            uint64_t threshold, T scale, int64_t b, bool vec) {
    constexpr int G = kVecOf<T>;  // 4 floats or 2 doubles a 16-byte vector
    const Philox4x32 r = philox4x32(base + static_cast<uint64_t>(b), 0, key);
    const int64_t i0 = 4 * b;
    if (vec && i0 + 4 <= n) {
        Vec<T, G> in[4 / G], out[4 / G];
        Vec<uint8_t, 4> mask;
        for (int h = 0; h < 4 / G; ++h) in[h] = load_vec<G>(x + i0 + h * G);
        for (int k = 0; k < 4; ++k) {
            const bool kept = static_cast<uint64_t>(r.v[k]) < threshold;
            mask.v[k] = kept;
            out[k / G].v[k % G] = in[k / G].v[k % G] * (kept ? scale : T(0));
        }
        for (int h = 0; h < 4 / G; ++h) store_vec<G>(y + i0 + h * G, out[h]);
        store_vec<4>(keep + i0, mask);
        return;
    }
    for (int k = 0; k < 4 && i0 + k < n; ++k) {
        const bool kept = static_cast<uint64_t>(r.v[k]) < threshold;
        keep[i0 + k] = kept;
        y[i0 + k] = x[i0 + k] * (kept ? scale : T(0));
    }
}

/// dx = g·(keep ? scale : 0) for the 4 elements of group b.
template <class T>
SEAM_HOST_DEVICE void dropout_backward_group(const T* g, const uint8_t* keep, T* dx, int64_t n, T scale, int64_t b,
                                             bool vec) {
    constexpr int G = kVecOf<T>;
    const int64_t i0 = 4 * b;
    if (vec && i0 + 4 <= n) {
        const Vec<uint8_t, 4> mask = load_vec<4>(keep + i0);
        for (int h = 0; h < 4 / G; ++h) {
            Vec<T, G> v = load_vec<G>(g + i0 + h * G);
            for (int q = 0; q < G; ++q) v.v[q] = v.v[q] * (mask.v[h * G + q] ? scale : T(0));
            store_vec<G>(dx + i0 + h * G, v);
        }
        return;
    }
    for (int k = 0; k < 4 && i0 + k < n; ++k) dx[i0 + k] = g[i0 + k] * (keep[i0 + k] ? scale : T(0));
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    dropout_forward_v2_kernel(const T* x, T* y, uint8_t* keep, int64_t n, uint64_t key, uint64_t base,
                              uint64_t threshold, T scale, bool vec) {
    SEAM_GRID_STRIDE_LOOP(b, (n + 3) / 4) { dropout_forward_group(x, y, keep, n, key, base, threshold, scale, b, vec); }
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    dropout_backward_v2_kernel(const T* g, const uint8_t* keep, T* dx, int64_t n, T scale, bool vec) {
    SEAM_GRID_STRIDE_LOOP(b, (n + 3) / 4) { dropout_backward_group(g, keep, dx, n, scale, b, vec); }
}

template <class T>
inline void dropout_forward(const T* x, T* y, uint8_t* keep, int64_t n, uint64_t key, uint64_t base, uint64_t threshold,
                            T scale, cudaStream_t stream) {
    if (n == 0) return;
    if (kernel_version("SEAM_DROPOUT_VERSION", 2) >= 2)
        dropout_forward_v2_kernel<T><<<grid_for((n + 3) / 4), kThreads, 0, stream>>>(
            x, y, keep, n, key, base, threshold, scale, dropout_vector_aligned(x, y, keep));
    else
        dropout_forward_kernel<T><<<grid_for((n + 3) / 4), kThreads, 0, stream>>>(x, y, keep, n, key, base, threshold,
                                                                                   scale);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

template <class T>
inline void dropout_backward(const T* g, const uint8_t* keep, T* dx, int64_t n, T scale, cudaStream_t stream) {
    if (n == 0) return;
    if (kernel_version("SEAM_DROPOUT_VERSION", 2) >= 2)
        dropout_backward_v2_kernel<T><<<grid_for((n + 3) / 4), kThreads, 0, stream>>>(g, keep, dx, n, scale,
                                                                                       dropout_vector_aligned(g, dx, keep));
    else
        dropout_backward_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(g, keep, dx, n, scale);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace seam::kernels
