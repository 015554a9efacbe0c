// kernels/seam/norm.cuh — batch normalisation (training and evaluation, optional fused ReLU,
// forward and backward), layer normalisation (forward and backward) and dropout (forward and
// backward).
//
// What it computes: the rules of include/seam/ops/norm.hpp.
//   batch_norm forward   per channel c: training uses the batch mean m and the biased variance
//                        (two passes, sums in double: never E[x²] - E[x]²) and updates the running
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
// Layouts: x, y, g, dx contiguous [N, C, inner] (inner = H·W, 1 for [N, C]); weight, bias and the
// running buffers are [C] vectors read through an element stride (any may be null); the saved
// statistics are contiguous [C] double; the dropout mask is [n] uint8 (1 = kept). layer_norm:
// x, y, g, dx contiguous [rows, D] (D = the product of normalized_shape), weight, bias, dweight,
// dbias contiguous [D] (any may be null), mean and rstd contiguous [rows] double; the parameter
// gradients use a workspace of 2·chunks·D doubles (layer_norm_param_workspace_bytes).
//
// Launch shapes:
//   batch_norm           one block of 256 threads per channel (grid-stride over channels): the
//                        threads stride over the channel's N·inner values (consecutive threads on
//                        consecutive values of one plane: coalesced), shared-memory trees combine
//                        the double sums in a fixed order, so the results are the same bits on
//                        every run. The block then writes the channel's output itself.
//   layer_norm rows      one block per row (grid-stride over rows, at most 2^20 blocks), a power of
//                        two of 32..256 threads ≥ D: the threads stride over the row (coalesced),
//                        shared-memory trees combine the double sums in a fixed order. A row longer
//                        than the block is simply walked several times by each thread.
//   layer_norm params    the column sums over rows: grid (⌈D/256⌉, chunks), one thread per column
//                        (neighbouring threads on neighbouring columns: coalesced), block y sums
//                        its chunk of rows in order into a [chunks, D] double workspace; a second
//                        kernel adds the chunks in order. chunks depends on the shape only, so
//                        every result is the same bits on every run and GPU (no atomics).
//   dropout              grid-stride loops over blocks of four elements (one Philox call each).
//
// Versions tried: only this one. Measured on an H200 (bench_elementwise_cuda's third table, two
// runs of 2026-11-27: bench/results/gpu-h200-2026-11-27-run5.md and -run6.md;
// % of seam's 3.83 TB/s copy for the bytes each must move):
// batch_norm training on [256, 64, 64, 64] forward 6.2-6.4 ms (2 %), forward + backward 10.9-11.2
// ms (3 %) — far from the copy rate, for the reason below; layer_norm [65536, 1024] forward +
// backward 0.84 ms (41 %); dropout p = 0.5 forward (values and a 1-byte mask) 0.45 ms (35 %). Known
// weak spots: one block per channel leaves most of a large GPU idle
// for C = 64 (the first VGG/ResNet layers); splitting each channel over several blocks with a
// second reduction pass is the first thing to try when bench/ shows it. layer_norm gives a whole
// block of at least 32 threads to each row, so very short rows (D < 32) leave threads idle; a warp
// per row, several rows per block, is the first thing to try there.
#pragma once

#include <cstdint>

#include "seam/common.cuh"
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
    SEAM_DEVICE double get(int64_t c, double fallback) const {
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

SEAM_DEVICE double rsqrt_d(double v) { return 1.0 / ::sqrt(v); }

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

template <class T>
inline void batch_norm_forward(const T* x, T* y, ChannelVector<const T> weight, ChannelVector<const T> bias,
                               ChannelVector<T> running_mean, ChannelVector<T> running_var, double* save_mean,
                               double* save_invstd, const BatchNormArgs& a, cudaStream_t stream) {
    if (a.C == 0) return;
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(a.C, int64_t(1) << 20));
    batch_norm_forward_kernel<T><<<blocks, kThreads, 0, stream>>>(x, y, weight, bias, running_mean, running_var,
                                                                  save_mean, save_invstd, a);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

template <class T>
inline void batch_norm_backward(const T* g, const T* x, const T* y_relu, ChannelVector<const T> weight,
                                const double* save_mean, const double* save_invstd, const BatchNormArgs& a, T* dx,
                                T* dweight, T* dbias, cudaStream_t stream) {
    if (a.C == 0) return;
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

template <class T>
inline void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, double* mean, double* rstd,
                               const LayerNormArgs& a, cudaStream_t stream) {
    if (a.rows == 0 || a.cols == 0) return;
    layer_norm_forward_kernel<T><<<norm_detail::row_blocks(a.rows), norm_detail::row_block_threads(a.cols), 0, stream>>>(
        x, weight, bias, y, mean, rstd, a);
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
        layer_norm_backward_input_kernel<T>
            <<<norm_detail::row_blocks(a.rows), norm_detail::row_block_threads(a.cols), 0, stream>>>(g, x, weight, mean,
                                                                                                     rstd, a, dx);
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

template <class T>
inline void dropout_forward(const T* x, T* y, uint8_t* keep, int64_t n, uint64_t key, uint64_t base, uint64_t threshold,
                            T scale, cudaStream_t stream) {
    if (n == 0) return;
    dropout_forward_kernel<T><<<grid_for((n + 3) / 4), kThreads, 0, stream>>>(x, y, keep, n, key, base, threshold, scale);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

template <class T>
inline void dropout_backward(const T* g, const uint8_t* keep, T* dx, int64_t n, T scale, cudaStream_t stream) {
    if (n == 0) return;
    dropout_backward_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(g, keep, dx, n, scale);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace seam::kernels
