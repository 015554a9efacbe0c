// kernels/seam/norm.cuh — batch normalisation (training and evaluation, optional fused ReLU,
// forward and backward) and dropout (forward and backward).
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
//   dropout              element i (row-major) is kept when 32-bit word i % 4 of Philox block
//                        (base + i / 4, subsequence 0, key = the generator's seed) is below the
//                        threshold (1 - p)·2^32: the SAME function (seam::philox4x32 of
//                        core/rng.hpp, compiled for the device) and the same words as the CPU
//                        op, so for the same generator state the CUDA mask is bit-identical to
//                        the CPU mask. y = x·(keep ? scale : 0), dx = g·(keep ? scale : 0).
//
// Layouts: x, y, g, dx contiguous [N, C, inner] (inner = H·W, 1 for [N, C]); weight, bias and the
// running buffers are [C] vectors read through an element stride (any may be null); the saved
// statistics are contiguous [C] double; the dropout mask is [n] uint8 (1 = kept).
//
// Launch shapes:
//   batch_norm           one block of 256 threads per channel (grid-stride over channels): the
//                        threads stride over the channel's N·inner values (consecutive threads on
//                        consecutive values of one plane: coalesced), shared-memory trees combine
//                        the double sums in a fixed order, so the results are the same bits on
//                        every run. The block then writes the channel's output itself.
//   dropout              grid-stride loops over blocks of four elements (one Philox call each).
//
// Versions tried: only this one. Nothing here has been timed on a GPU yet (no GPU was available
// when it was written). Known weak spot: one block per channel leaves most of a large GPU idle
// for C = 64 (the first VGG/ResNet layers); splitting each channel over several blocks with a
// second reduction pass is the first thing to try when bench/ shows it.
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
