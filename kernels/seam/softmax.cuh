// kernels/seam/softmax.cuh — softmax / log_softmax along one dimension (forward and backward), the
// fused softmax cross-entropy with class indices (forward, reduction, backward) and the NLL loss
// on log-probabilities (forward, reduction, backward).
//
// What it computes: exactly the rules of include/seam/ops/softmax.hpp and ops/loss.hpp, so a CUDA
// result is compared to the CPU one with a float tolerance only:
//   softmax        y = exp(x - m) / Σ exp(x - m), m = the slice's maximum with NaN skipped (a NaN
//                  still poisons its slice through the sum); exp in T, the sum carried in double
//                  for float (Acc below), y = T(Acc(e) · (1 / Σ)).
//   log_softmax    y = T(Acc(x - m) - log Σ).
//   backward       softmax: dx = y · (g - T(Σ g·y));  log_softmax: dx = g - exp(y) · T(Σ g).
//   cross-entropy  per position i of logits [B, C, S] (class c of position i at
//                  (i / S)·C·S + c·S + i % S): lse = m + log Σ exp(x - m);
//                  loss = (1-ε)·w[y]·(lse - x_y) + (ε/C)·Σ_c w[c]·(lse - x_c), 0 for ignore_index;
//                  then the reduction (mean divides by Σ w[y] over the non-ignored targets, 0/0 =
//                  NaN when all are ignored); backward
//                  dx_c = scale · ((1-ε)·w[y]·(p_c - [c = y]) + (ε/C)·(W·p_c - w[c])), W = Σ_c w[c],
//                  scale = g[i] (none), T(g / Σ w[y]) (mean) or g (sum), all read on the device.
//                  A target outside [0, C) that is not ignore_index is recorded (the lowest such
//                  position, atomicMin) for the host to report; its loss and gradient are 0.
//   nll_loss       per position i of log-probabilities [B, C, S]: loss = -w[y]·x_y (0 for
//                  ignore_index), the same reduction and bad-target report as cross-entropy
//                  (its stats[3] too), backward dx_c = [c = y]·(-w[y])·scale with cross-entropy's
//                  scale computed in T, as the CPU op: -w[y]·T(g/Σ w[y]) for mean.
//
// Layouts: contiguous row-major [outer, n, inner] around the softmax dimension (outer = product of
// the sizes before it, inner = after); logits [B, C, S], target [B, S] int64, weight [C] or null,
// lse [B·S] double, stats[3] double = {Σ loss, Σ w[y], Σ_c w[c]}.
//
// Launch shapes:
//   rows (inner == 1)      (SEAM_SOFTMAX_VERSION=1|2, read at every launch; default 2)
//     v2, n ≤ 1024         a group of `lanes` threads per row (the power of two ≥ n, at most 32;
//                          32 / lanes rows a warp, 256-thread blocks, grid-stride over rows), each
//                          lane holding its ≤ 32 values in registers: one read, butterflies for the
//                          maximum and the sum, one write; the backward likewise (details at
//                          "softmax version 2" below).
//     v1, and longer rows  one block per row (grid-stride over rows), a power of two of 32..256
//                          threads ≥ n; the threads stride over the row, then shared-memory trees
//                          combine the maximum and the sum in a fixed order (deterministic).
//   columns (inner > 1)    one thread per (o, j), neighbouring threads on neighbouring j (coalesced
//                          when inner ≥ 32), three passes over n.
//   cross-entropy (SEAM_CROSS_ENTROPY_VERSION=1|2 in the environment, read at every launch; default 2)
//     v2 forward, S = 1    a group of `lanes` threads per row (the power of two ≥ C, at most 32), one
//                          online pass for the maximum and the sum, xor-shuffle butterflies; details
//                          at "cross-entropy version 2" below.
//     v2 backward, S = 1   the same groups, lane l writing classes l, l + lanes, ...
//     v2 reduction         two levels: at most 1024 blocks over contiguous ranges of ≥ 2048
//                          positions, then one block over their partial sums (nll_loss too).
//     v1, and S > 1        forward one thread per position (coalesced across positions for S > 1;
//                          for [N, C] logits each thread walks its own row); backward one thread per
//                          logit element; ONE block of 256 threads reduces the per-position losses
//                          and weights in a fixed order.
//   nll_loss               one thread per position, the cross-entropy reduction of the version in
//                          force, one thread per input element in the backward.
//
// Versions tried (measured on an H200: bench_elementwise_cuda's third table, runs of 2026-11-27,
// bench/results/gpu-h200-2026-11-27-run5.md to -run7.md; 64M floats, % of seam's 3.83 TB/s copy
// for the bytes each must move). softmax / log_softmax rows:
//   v1  a block per row, 5 passes over the row: softmax [65536, 1024] forward 0.34 ms (40-41 %),
//       forward + backward 0.74-0.75 ms (46 %); log_softmax forward + backward 0.82-0.83 ms (42 %).
//   v2  (default, rows ≤ 1024) the row in registers, one read and one write. NOT YET TIMED:
//       written on 2026-11-28 without a GPU; replayed on the CPU (tests/cuda/
//       test_softmax_kernel_logic.cu); bench_elementwise_cuda times it beside v1 at the next GPU run.
// The column kernels (inner > 1): only one version.
// cross-entropy:
//   v1  a thread per position. The fused forward + backward 1.43-1.46 ms on [65536, 1024] (14 %)
//       and 3.2-3.3 ms on [1342177, 50] (6 %): on [N, C] logits a warp's loads touch 32 rows, the
//       backward divides a 64-bit index twice per element, and one block reduces 1.3 million
//       positions (21 MB) alone.
//   v2  (default) the three fixes above. NOT YET TIMED: written on 2026-11-28 without a GPU; its
//       logic is replayed on the CPU (tests/cuda/test_softmax_kernel_logic.cu), the CUDA tests run
//       both versions, and bench_elementwise_cuda times v2 beside v1 at the next GPU run.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "seam/common.cuh"
#include "seam/row_group.cuh"

namespace seam::kernels {

/// The accumulator of softmax sums: double for float (the CPU's reduction_acc_t), T otherwise.
template <class T>
using softmax_acc_t = std::conditional_t<std::is_same_v<T, float>, double, T>;

namespace softmax_detail {

SEAM_HOST_DEVICE float exp_t(float v) { return expf(v); }
SEAM_HOST_DEVICE double exp_t(double v) { return ::exp(v); }
SEAM_HOST_DEVICE double log_d(double v) { return ::log(v); }

/// The CPU's row_max combine: NaN never replaces the running maximum.
template <class T>
struct MaxSkipNaN {
    SEAM_HOST_DEVICE T operator()(T a, T b) const { return b > a ? b : a; }
};
template <class V>
struct Plus {
    SEAM_HOST_DEVICE V operator()(V a, V b) const { return a + b; }
};

/// Combine one value per thread of the block into one, in a fixed tree order; every thread gets
/// the result. `shared` holds blockDim.x values; blockDim.x is a power of two.
template <class V, class F>
__device__ V block_reduce(V v, V* shared, F combine) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
        if (threadIdx.x < width) shared[threadIdx.x] = combine(shared[threadIdx.x], shared[threadIdx.x + width]);
        __syncthreads();
    }
    const V result = shared[0];
    __syncthreads();  // shared[] is rewritten by the next call
    return result;
}

inline int row_threads(int64_t n) {
    int threads = 32;
    while (threads < kThreads && threads < n) threads *= 2;
    return threads;
}

inline unsigned capped_blocks(int64_t n) { return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(n, int64_t(1) << 20))); }

}  // namespace softmax_detail

// ----- softmax / log_softmax -------------------------------------------------------------------------

template <bool Log, class T>
__global__ void softmax_rows_kernel(const T* x, T* y, int64_t rows, int64_t n) {
    using Acc = softmax_acc_t<T>;
    using namespace softmax_detail;
    __shared__ T shared_max[kThreads];
    __shared__ Acc shared_sum[kThreads];
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const T* p = x + row * n;
        T* q = y + row * n;
        T m = -static_cast<T>(INFINITY);
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x) m = MaxSkipNaN<T>()(m, p[r]);
        m = block_reduce(m, shared_max, MaxSkipNaN<T>());
        Acc s = 0;
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
            const T e = exp_t(p[r] - m);
            if (!Log) q[r] = e;  // rescaled below by the same thread
            s += static_cast<Acc>(e);
        }
        s = block_reduce(s, shared_sum, Plus<Acc>());
        if (Log) {
            const Acc log_sum = static_cast<Acc>(log_d(static_cast<double>(s)));
            for (int64_t r = threadIdx.x; r < n; r += blockDim.x) q[r] = static_cast<T>(static_cast<Acc>(p[r] - m) - log_sum);
        } else {
            const Acc inv = Acc(1) / s;
            for (int64_t r = threadIdx.x; r < n; r += blockDim.x) q[r] = static_cast<T>(static_cast<Acc>(q[r]) * inv);
        }
    }
}

template <bool Log, class T>
__global__ void softmax_columns_kernel(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
    using Acc = softmax_acc_t<T>;
    using namespace softmax_detail;
    SEAM_GRID_STRIDE_LOOP(q, outer * inner) {
        const int64_t o = q / inner, j = q % inner;
        const T* p = x + o * n * inner + j;
        T* out = y + o * n * inner + j;
        T m = -static_cast<T>(INFINITY);
        for (int64_t r = 0; r < n; ++r) m = MaxSkipNaN<T>()(m, p[r * inner]);
        Acc s = 0;
        for (int64_t r = 0; r < n; ++r) {
            const T e = exp_t(p[r * inner] - m);
            if (!Log) out[r * inner] = e;
            s += static_cast<Acc>(e);
        }
        if (Log) {
            const Acc log_sum = static_cast<Acc>(log_d(static_cast<double>(s)));
            for (int64_t r = 0; r < n; ++r) out[r * inner] = static_cast<T>(static_cast<Acc>(p[r * inner] - m) - log_sum);
        } else {
            const Acc inv = Acc(1) / s;
            for (int64_t r = 0; r < n; ++r) out[r * inner] = static_cast<T>(static_cast<Acc>(out[r * inner]) * inv);
        }
    }
}

template <bool Log, class T>
__global__ void softmax_backward_rows_kernel(const T* g, const T* y, T* dx, int64_t rows, int64_t n) {
    using Acc = softmax_acc_t<T>;
    using namespace softmax_detail;
    __shared__ Acc shared_sum[kThreads];
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const int64_t base = row * n;
        Acc dot = 0;
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x)
            dot += Log ? static_cast<Acc>(g[base + r]) : static_cast<Acc>(g[base + r]) * static_cast<Acc>(y[base + r]);
        const T d = static_cast<T>(block_reduce(dot, shared_sum, Plus<Acc>()));
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
            const int64_t e = base + r;
            dx[e] = Log ? g[e] - exp_t(y[e]) * d : y[e] * (g[e] - d);
        }
    }
}

template <bool Log, class T>
__global__ void softmax_backward_columns_kernel(const T* g, const T* y, T* dx, int64_t outer, int64_t n, int64_t inner) {
    using Acc = softmax_acc_t<T>;
    using namespace softmax_detail;
    SEAM_GRID_STRIDE_LOOP(q, outer * inner) {
        const int64_t base = (q / inner) * n * inner + q % inner;
        Acc dot = 0;
        for (int64_t r = 0; r < n; ++r) {
            const int64_t e = base + r * inner;
            dot += Log ? static_cast<Acc>(g[e]) : static_cast<Acc>(g[e]) * static_cast<Acc>(y[e]);
        }
        const T d = static_cast<T>(dot);
        for (int64_t r = 0; r < n; ++r) {
            const int64_t e = base + r * inner;
            dx[e] = Log ? g[e] - exp_t(y[e]) * d : y[e] * (g[e] - d);
        }
    }
}

// Rows of at most 1024 values go to groups of lanes (kernels/seam/row_group.cuh).

namespace softmax_detail {

/// The group's maximum by an xor butterfly (MaxSkipNaN: NaN never becomes the maximum).
template <class T>
__device__ T group_max(T v, int lanes) {
    for (int offset = lanes / 2; offset > 0; offset /= 2) v = MaxSkipNaN<T>()(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

}  // namespace softmax_detail

// ----- softmax version 2: a row held in registers -------------------------------------------------------
//
// Version 1 gives a row to a block of threads and walks it three times: the maximum (read x), the
// exponentials (read x, write y), the scaling (read and write y) — 5 passes over the row where 2
// are needed (its measured 40-46 % of the copy rate is that ratio). Version 2 (the default for rows,
// inner = 1, of at most 1024 values; SEAM_SOFTMAX_VERSION=1 restores version 1) gives a row to a
// group of lanes (row_group.cuh) and keeps it in registers, at most kSoftmaxLaneValues = 32 values a lane:
// one read of x, the group's maximum and sum by butterflies, one write of y. The backward keeps g
// and y the same way (one read of each, one write of dx). The arithmetic is version 1's, value by
// value (exp in T, the sum in Acc, y = T(Acc(e)·(1/Σ)) or T(Acc(x - m) - log Σ)); only the order
// of the sum's additions differs. Longer rows and inner > 1 run version 1. ptxas (sm_90, CUDA 13):
// float forward 64 (log) / 120 registers, backward 92-94, double 118-180; no spills — at 120, two
// 256-thread blocks an SM, 64 KiB of loads in flight an SM (32 values a lane).

inline constexpr int kSoftmaxLaneValues = kRowLaneValues;

/// Rows version 2 takes: 1 .. 32·32 values.
inline bool softmax_rows_v2_fits(int64_t n) { return n >= 1 && n <= int64_t(kWarpSize) * kSoftmaxLaneValues; }

template <class T>
SEAM_HOST_DEVICE T softmax_lane_max(const T (&v)[kSoftmaxLaneValues], int count) {
    T m = -static_cast<T>(INFINITY);
SEAM_UNROLL
    for (int k = 0; k < kSoftmaxLaneValues; ++k) {
        if (k >= count) break;
        m = softmax_detail::MaxSkipNaN<T>()(m, v[k]);
    }
    return m;
}

/// Σ exp(v - m) over the lane's values; softmax keeps the exponentials in v.
template <bool Log, class T>
SEAM_HOST_DEVICE softmax_acc_t<T> softmax_lane_exp_sum(T (&v)[kSoftmaxLaneValues], int count, T m) {
    softmax_acc_t<T> s = 0;
SEAM_UNROLL
    for (int k = 0; k < kSoftmaxLaneValues; ++k) {
        if (k >= count) break;
        const T e = softmax_detail::exp_t(static_cast<T>(v[k] - m));
        if (!Log) v[k] = e;
        s += static_cast<softmax_acc_t<T>>(e);
    }
    return s;
}

/// The lane's outputs: softmax T(Acc(e)·(1/s)), log_softmax T(Acc(x - m) - log s).
template <bool Log, class T>
SEAM_HOST_DEVICE void softmax_lane_store(const T (&v)[kSoftmaxLaneValues], int count, T m, softmax_acc_t<T> s,
                                         T* out_row, int lane, int lanes) {
    using Acc = softmax_acc_t<T>;
    const Acc log_sum = Log ? static_cast<Acc>(softmax_detail::log_d(static_cast<double>(s))) : Acc(0);
    const Acc inv = Log ? Acc(0) : Acc(1) / s;
SEAM_UNROLL
    for (int k = 0; k < kSoftmaxLaneValues; ++k) {
        if (k >= count) break;
        out_row[lane + int64_t(k) * lanes] =
            Log ? static_cast<T>(static_cast<Acc>(v[k] - m) - log_sum) : static_cast<T>(static_cast<Acc>(v[k]) * inv);
    }
}

/// The lane's share of Σ g·y (softmax) or Σ g (log_softmax).
template <bool Log, class T>
SEAM_HOST_DEVICE softmax_acc_t<T> softmax_lane_dot(const T (&g)[kSoftmaxLaneValues],
                                                   const T (&y)[kSoftmaxLaneValues], int count) {
    using Acc = softmax_acc_t<T>;
    Acc dot = 0;
SEAM_UNROLL
    for (int k = 0; k < kSoftmaxLaneValues; ++k) {
        if (k >= count) break;
        dot += Log ? static_cast<Acc>(g[k]) : static_cast<Acc>(g[k]) * static_cast<Acc>(y[k]);
    }
    return dot;
}

/// dx = y·(g - d) (softmax) or g - exp(y)·d (log_softmax), d = T(the row's dot).
template <bool Log, class T>
SEAM_HOST_DEVICE void softmax_lane_backward_store(const T (&g)[kSoftmaxLaneValues], const T (&y)[kSoftmaxLaneValues],
                                                  int count, T d, T* dx_row, int lane, int lanes) {
SEAM_UNROLL
    for (int k = 0; k < kSoftmaxLaneValues; ++k) {
        if (k >= count) break;
        dx_row[lane + int64_t(k) * lanes] = Log ? g[k] - softmax_detail::exp_t(y[k]) * d : y[k] * (g[k] - d);
    }
}

/// Every lane of a warp runs the same iterations (the shuffles need the whole warp).
template <bool Log, class T>
__global__ void __launch_bounds__(kThreads) softmax_rows_v2_kernel(const T* x, T* y, int64_t rows, int64_t n, int lanes) {
    using namespace softmax_detail;
    const RowGroupWalk w(lanes, blockIdx.x, threadIdx.x, gridDim.x);
    const int lane = w.lane;
    for (int64_t base = w.first; base < rows; base += w.stride) {
        const int64_t row = base + w.offset;
        const bool valid = row < rows;
        T v[kSoftmaxLaneValues];
        const int count = valid ? row_lane_load(x + row * n, n, lane, lanes, v) : 0;
        const T m = group_max(softmax_lane_max(v, count), lanes);
        const softmax_acc_t<T> s = row_group_sum(softmax_lane_exp_sum<Log>(v, count, m), lanes);
        if (valid) softmax_lane_store<Log>(v, count, m, s, y + row * n, lane, lanes);
    }
}

template <bool Log, class T>
__global__ void __launch_bounds__(kThreads)
    softmax_backward_rows_v2_kernel(const T* g, const T* y, T* dx, int64_t rows, int64_t n, int lanes) {
    using namespace softmax_detail;
    const RowGroupWalk w(lanes, blockIdx.x, threadIdx.x, gridDim.x);
    const int lane = w.lane;
    for (int64_t base = w.first; base < rows; base += w.stride) {
        const int64_t row = base + w.offset;
        const bool valid = row < rows;
        T gv[kSoftmaxLaneValues], yv[kSoftmaxLaneValues];
        const int count = valid ? row_lane_load(g + row * n, n, lane, lanes, gv) : 0;
        if (valid) row_lane_load(y + row * n, n, lane, lanes, yv);
        const T d = static_cast<T>(row_group_sum(softmax_lane_dot<Log>(gv, yv, count), lanes));
        if (valid) softmax_lane_backward_store<Log>(gv, yv, count, d, dx + row * n, lane, lanes);
    }
}

/// Where softmax_forward / softmax_backward send their kernels on the GPU (the tests' host
/// emulation has the same members).
struct DeviceSoftmax {
    cudaStream_t stream;
    int version = kernel_version("SEAM_SOFTMAX_VERSION", 2);

    template <class T>
    void rows_v1(const T* x, T* y, int64_t rows, int64_t n, bool log) const {
        const unsigned blocks = softmax_detail::capped_blocks(rows);
        const int threads = softmax_detail::row_threads(n);
        if (log) softmax_rows_kernel<true, T><<<blocks, threads, 0, stream>>>(x, y, rows, n);
        else softmax_rows_kernel<false, T><<<blocks, threads, 0, stream>>>(x, y, rows, n);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void rows_v2(const T* x, T* y, int64_t rows, int64_t n, int lanes, bool log) const {
        const unsigned blocks = row_group_blocks(rows, lanes);
        if (log) softmax_rows_v2_kernel<true, T><<<blocks, kThreads, 0, stream>>>(x, y, rows, n, lanes);
        else softmax_rows_v2_kernel<false, T><<<blocks, kThreads, 0, stream>>>(x, y, rows, n, lanes);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void columns(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) const {
        const unsigned blocks = grid_for(outer * inner);
        if (log) softmax_columns_kernel<true, T><<<blocks, kThreads, 0, stream>>>(x, y, outer, n, inner);
        else softmax_columns_kernel<false, T><<<blocks, kThreads, 0, stream>>>(x, y, outer, n, inner);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void backward_rows_v1(const T* g, const T* y, T* dx, int64_t rows, int64_t n, bool log) const {
        const unsigned blocks = softmax_detail::capped_blocks(rows);
        const int threads = softmax_detail::row_threads(n);
        if (log) softmax_backward_rows_kernel<true, T><<<blocks, threads, 0, stream>>>(g, y, dx, rows, n);
        else softmax_backward_rows_kernel<false, T><<<blocks, threads, 0, stream>>>(g, y, dx, rows, n);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void backward_rows_v2(const T* g, const T* y, T* dx, int64_t rows, int64_t n, int lanes, bool log) const {
        const unsigned blocks = row_group_blocks(rows, lanes);
        if (log) softmax_backward_rows_v2_kernel<true, T><<<blocks, kThreads, 0, stream>>>(g, y, dx, rows, n, lanes);
        else softmax_backward_rows_v2_kernel<false, T><<<blocks, kThreads, 0, stream>>>(g, y, dx, rows, n, lanes);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void backward_columns(const T* g, const T* y, T* dx, int64_t outer, int64_t n, int64_t inner, bool log) const {
        const unsigned blocks = grid_for(outer * inner);
        if (log) softmax_backward_columns_kernel<true, T><<<blocks, kThreads, 0, stream>>>(g, y, dx, outer, n, inner);
        else softmax_backward_columns_kernel<false, T><<<blocks, kThreads, 0, stream>>>(g, y, dx, outer, n, inner);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
};

template <class T, class Exec>
inline void softmax_forward_on(const Exec& exec, const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
    if (outer * n * inner == 0) return;
    if (inner != 1) exec.columns(x, y, outer, n, inner, log);
    else if (exec.version >= 2 && softmax_rows_v2_fits(n)) exec.rows_v2(x, y, outer, n, row_group_lanes(n), log);
    else exec.rows_v1(x, y, outer, n, log);
}

template <class T, class Exec>
inline void softmax_backward_on(const Exec& exec, const T* g, const T* y, T* dx, int64_t outer, int64_t n,
                                int64_t inner, bool log) {
    if (outer * n * inner == 0) return;
    if (inner != 1) exec.backward_columns(g, y, dx, outer, n, inner, log);
    else if (exec.version >= 2 && softmax_rows_v2_fits(n)) exec.backward_rows_v2(g, y, dx, outer, n, row_group_lanes(n), log);
    else exec.backward_rows_v1(g, y, dx, outer, n, log);
}

/// y = softmax or log_softmax of contiguous x [outer, n, inner] along n.
template <class T>
inline void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log, cudaStream_t stream) {
    softmax_forward_on<T>(DeviceSoftmax{stream}, x, y, outer, n, inner, log);
}

/// dx from contiguous g and y [outer, n, inner].
template <class T>
inline void softmax_backward(const T* g, const T* y, T* dx, int64_t outer, int64_t n, int64_t inner, bool log,
                             cudaStream_t stream) {
    softmax_backward_on<T>(DeviceSoftmax{stream}, g, y, dx, outer, n, inner, log);
}

// ----- the fused cross-entropy --------------------------------------------------------------------------

/// The sizes and options of one cross-entropy call; reduction: 0 none, 1 mean, 2 sum.
struct CrossEntropyArgs {
    int64_t batch = 0, classes = 0, spatial = 1;
    int64_t ignore_index = -100;
    double label_smoothing = 0;
    int reduction = 1;
};

/// Per position: lse, the loss and w[y] (0 when ignored or out of range); the loss also goes to
/// out_none[i] (in T) for the reduction `none`.
template <class T>
__global__ void cross_entropy_forward_kernel(const T* x, const int64_t* target, const T* weight, CrossEntropyArgs a,
                                             double* lse, double* losses, double* weights, T* out_none,
                                             unsigned long long* first_bad) {
    using namespace softmax_detail;
    const int64_t C = a.classes, S = a.spatial;
    const double eps = a.label_smoothing;
    SEAM_GRID_STRIDE_LOOP(i, a.batch * S) {
        const T* col = x + (i / S) * C * S + i % S;  // class c at col[c * S]
        T m = -static_cast<T>(INFINITY);
        for (int64_t c = 0; c < C; ++c) m = MaxSkipNaN<T>()(m, col[c * S]);
        double s = 0;
        for (int64_t c = 0; c < C; ++c) s += static_cast<double>(exp_t(col[c * S] - m));
        const double z = static_cast<double>(m) + log_d(s);
        lse[i] = z;
        const int64_t y = target[i];
        double loss = 0, wy = 0;
        if (y != a.ignore_index) {
            if (y < 0 || y >= C) {
                atomicMin(first_bad, static_cast<unsigned long long>(i));
            } else {
                wy = weight ? static_cast<double>(weight[y]) : 1.0;
                loss = (1.0 - eps) * wy * (z - static_cast<double>(col[y * S]));
                if (eps > 0) {
                    double smooth = 0;
                    for (int64_t c = 0; c < C; ++c)
                        smooth += (weight ? static_cast<double>(weight[c]) : 1.0) * (z - static_cast<double>(col[c * S]));
                    loss += eps / static_cast<double>(C) * smooth;
                }
            }
        }
        losses[i] = loss;
        weights[i] = wy;
        if (out_none) out_none[i] = static_cast<T>(loss);
    }
}

/// One block: stats = {Σ losses, Σ weights, Σ_c weight[c]} in a fixed order, and out[0] = the
/// mean or the sum (when out is not null).
template <class T>
__global__ void cross_entropy_reduce_kernel(const double* losses, const double* weights, int64_t positions,
                                            const T* weight, int64_t classes, int reduction, double* stats, T* out) {
    using namespace softmax_detail;
    __shared__ double shared[kThreads];
    double total = 0, weight_total = 0, class_total = 0;
    for (int64_t i = threadIdx.x; i < positions; i += blockDim.x) {
        total += losses[i];
        weight_total += weights[i];
    }
    for (int64_t c = threadIdx.x; c < classes; c += blockDim.x) class_total += weight ? static_cast<double>(weight[c]) : 1.0;
    total = block_reduce(total, shared, Plus<double>());
    weight_total = block_reduce(weight_total, shared, Plus<double>());
    class_total = block_reduce(class_total, shared, Plus<double>());
    if (threadIdx.x == 0) {
        stats[0] = total;
        stats[1] = weight_total;
        stats[2] = class_total;
        if (out) out[0] = static_cast<T>(reduction == 1 ? total / weight_total : total);
    }
}

template <class T>
__global__ void cross_entropy_backward_kernel(const T* x, const int64_t* target, const T* weight, const double* lse,
                                              const double* stats, const T* grad_out, CrossEntropyArgs a, T* dx) {
    using namespace softmax_detail;
    const int64_t C = a.classes, S = a.spatial;
    const double eps = a.label_smoothing;
    SEAM_GRID_STRIDE_LOOP(e, a.batch * C * S) {
        const int64_t i = (e / (C * S)) * S + e % S, c = (e / S) % C;
        const int64_t y = target[i];
        if (y == a.ignore_index || y < 0 || y >= C) {
            dx[e] = T(0);
            continue;
        }
        // The CPU's scale: g[i] for none; T(g / Σ w[y]) for mean; g for sum.
        const double scale = a.reduction == 0   ? static_cast<double>(grad_out[i])
                             : a.reduction == 1 ? static_cast<double>(static_cast<T>(static_cast<double>(grad_out[0]) / stats[1]))
                                                : static_cast<double>(grad_out[0]);
        const double wy = weight ? static_cast<double>(weight[y]) : 1.0;
        const double prob = static_cast<double>(exp_t(static_cast<T>(static_cast<double>(x[e]) - lse[i])));  // exp in T, as the CPU
        double grad = (1.0 - eps) * wy * (prob - (c == y ? 1.0 : 0.0));
        if (eps > 0) grad += eps / static_cast<double>(C) * (stats[2] * prob - (weight ? static_cast<double>(weight[c]) : 1.0));
        dx[e] = static_cast<T>(scale * grad);
    }
}

/// Version 2's first reduction level: at most this many blocks, each summing a contiguous range of
/// at least kLossPartialMinChunk positions.
inline constexpr int64_t kLossPartialsMax = 1024, kLossPartialMinChunk = 2048;

/// Bytes of device workspace cross_entropy_forward and nll_forward need (either version): losses,
/// weights (double each, one a position), version 2's partial sums (2 · kLossPartialsMax doubles)
/// and the first-bad-position word.
inline size_t cross_entropy_workspace_bytes(const CrossEntropyArgs& a) {
    return (static_cast<size_t>(a.batch * a.spatial) * 2 + 2 * kLossPartialsMax) * sizeof(double) +
           sizeof(unsigned long long);
}

// ----- cross-entropy version 2 -------------------------------------------------------------------------
//
// Version 1 gives each position a thread: on [N, C] logits (S = 1) the 32 threads of a warp walk 32
// rows C elements apart, so each of their loads touches 32 sectors; the backward divides a 64-bit
// element index twice per element; one block reduces every position's loss. Version 2 (the
// default; SEAM_CROSS_ENTROPY_VERSION=1 restores version 1):
//   rows forward (S = 1)  a group of `lanes` threads per row (the power of two ≥ C, at most 32;
//                         32 / lanes rows a warp, 256-thread blocks, grid-stride over rows). Lane l
//                         reads classes l, l + lanes, ... (a warp reads consecutive addresses) and
//                         keeps an online maximum m and s = Σ exp(x - m), rescaled by exp(m_old -
//                         m_new) when the maximum grows: one read of the row for both. The group
//                         merges its (m, s) pairs with an xor-shuffle butterfly (the merge is
//                         symmetric, so every lane ends with the same bits), the lanes add their
//                         label-smoothing terms the same way (a second read, only when ε > 0), and
//                         the group's lane 0 reads the target's logit and writes lse, the loss and w[y].
//   rows backward (S = 1) the same groups, lane l writing dx for classes l, l + lanes, ... from its
//                         row's y, lse and scale (no division per element).
//   reduction             (every shape, and nll_loss) two levels: R = ⌈P / chunk⌉ blocks (chunk =
//                         max(2048, ⌈P / 1024⌉) positions, so R ≤ 1024) each sum a contiguous range
//                         into a workspace, then version 1's single block sums the R partials. The
//                         split depends on P only: the same bits on every run and GPU.
//   S > 1                 version 1's per-position kernels (there a warp's threads read neighbouring
//                         positions: already coalesced).
// NaN and infinities follow the CPU's rule (NaN never becomes the maximum; an inf or NaN logit
// makes the row's lse NaN, a row of -inf too): -inf logits add nothing to s, a group whose maximum
// is still -inf keeps its s (0, or NaN from a NaN logit), and a row whose maximum ends at -inf gets
// s = NaN, as Σ exp(-inf - (-inf)) is on the CPU.

/// The running maximum of some logits of a row and Σ exp(x - m) over them.
template <class T>
struct RowMaxSum {
    T m = -static_cast<T>(INFINITY);
    softmax_acc_t<T> s = 0;
};

/// s scaled from maximum `from` to maximum `to` (≥ from): unchanged when they are equal (also
/// -inf = -inf: the -inf logits added nothing), else s · exp(from - to) (0 from -inf, unless s is NaN).
/// On the GPU the product is rounded on its own (__dmul_rn): never contracted with a later add into
/// an FMA, which could round the two sides of merge_row_max_sum differently on partner lanes.
template <class T>
SEAM_HOST_DEVICE softmax_acc_t<T> rescale_sum(softmax_acc_t<T> s, T from, T to) {
    using namespace softmax_detail;
    if (from == to) return s;
    const auto factor = static_cast<softmax_acc_t<T>>(exp_t(static_cast<T>(from - to)));
#if defined(__CUDA_ARCH__)
    if constexpr (std::is_same_v<softmax_acc_t<T>, double>) return __dmul_rn(s, factor);
#endif
    return s * factor;
}

template <class T>
SEAM_HOST_DEVICE void row_max_sum_add(RowMaxSum<T>& r, T v) {
    using namespace softmax_detail;
    if (v > r.m) {  // NaN never becomes the maximum
        r.s = rescale_sum<T>(r.s, r.m, v);
        r.m = v;
    }
    if (v != -static_cast<T>(INFINITY)) r.s += static_cast<softmax_acc_t<T>>(exp_t(static_cast<T>(v - r.m)));
}

/// The merge of two groups of logits: symmetric (merge(a, b) and merge(b, a) give the same bits).
template <class T>
SEAM_HOST_DEVICE RowMaxSum<T> merge_row_max_sum(const RowMaxSum<T>& a, const RowMaxSum<T>& b) {
    RowMaxSum<T> r;
    r.m = b.m > a.m ? b.m : a.m;
    r.s = rescale_sum<T>(a.s, a.m, r.m) + rescale_sum<T>(b.s, b.m, r.m);
    return r;
}

/// Lane `lane` of `lanes`: classes lane, lane + lanes, ... of the row.
template <class T>
SEAM_HOST_DEVICE RowMaxSum<T> cross_entropy_lane_max_sum(const T* row, int64_t C, int lane, int lanes) {
    RowMaxSum<T> r;
    for (int64_t c = lane; c < C; c += lanes) row_max_sum_add(r, row[c]);
    return r;
}

/// lse = m + log s of the whole row (NaN when the maximum is -inf: every logit is -inf or NaN).
template <class T>
SEAM_HOST_DEVICE double row_lse(const RowMaxSum<T>& r) {
    using namespace softmax_detail;
    if (r.m == -static_cast<T>(INFINITY)) return static_cast<double>(NAN);
    return static_cast<double>(r.m) + log_d(static_cast<double>(r.s));
}

/// Lane `lane`'s share of the smoothing sum Σ_c w[c]·(lse - x_c).
template <class T>
SEAM_HOST_DEVICE double cross_entropy_lane_smooth(const T* row, const T* weight, int64_t C, double z, int lane,
                                                  int lanes) {
    double smooth = 0;
    for (int64_t c = lane; c < C; c += lanes)
        smooth += (weight ? static_cast<double>(weight[c]) : 1.0) * (z - static_cast<double>(row[c]));
    return smooth;
}

/// One row's loss and w[y] (both 0 when the target is ignored or out of range; *bad when out of
/// range), as version 1 computes them.
struct RowLoss {
    double loss = 0, wy = 0;
    bool bad = false;
};
template <class T>
SEAM_HOST_DEVICE RowLoss cross_entropy_row_loss(const T* row, int64_t y, const T* weight, const CrossEntropyArgs& a,
                                                double z, double smooth) {
    RowLoss r;
    if (y == a.ignore_index) return r;
    if (y < 0 || y >= a.classes) {
        r.bad = true;
        return r;
    }
    r.wy = weight ? static_cast<double>(weight[y]) : 1.0;
    r.loss = (1.0 - a.label_smoothing) * r.wy * (z - static_cast<double>(row[y]));
    if (a.label_smoothing > 0) r.loss += a.label_smoothing / static_cast<double>(a.classes) * smooth;
    return r;
}

/// Lane `lane`'s share of one row's gradient (version 1's formula, per class).
template <class T>
SEAM_HOST_DEVICE void cross_entropy_lane_backward(const T* row, int64_t y, const T* weight, double z,
                                                  const double* stats, const T* grad_out, int64_t i,
                                                  const CrossEntropyArgs& a, T* dx_row, int lane, int lanes) {
    using namespace softmax_detail;
    const int64_t C = a.classes;
    if (y == a.ignore_index || y < 0 || y >= C) {
        for (int64_t c = lane; c < C; c += lanes) dx_row[c] = T(0);
        return;
    }
    const double eps = a.label_smoothing;
    // The CPU's scale: g[i] for none; T(g / Σ w[y]) for mean; g for sum.
    const double scale = a.reduction == 0   ? static_cast<double>(grad_out[i])
                         : a.reduction == 1 ? static_cast<double>(static_cast<T>(static_cast<double>(grad_out[0]) / stats[1]))
                                            : static_cast<double>(grad_out[0]);
    const double wy = weight ? static_cast<double>(weight[y]) : 1.0;
    for (int64_t c = lane; c < C; c += lanes) {
        const double prob = static_cast<double>(exp_t(static_cast<T>(static_cast<double>(row[c]) - z)));
        double grad = (1.0 - eps) * wy * (prob - (c == y ? 1.0 : 0.0));
        if (eps > 0) grad += eps / static_cast<double>(C) * (stats[2] * prob - (weight ? static_cast<double>(weight[c]) : 1.0));
        dx_row[c] = static_cast<T>(scale * grad);
    }
}

namespace softmax_detail {

/// The butterfly over a row's group of lanes (xor offsets lanes/2 .. 1 stay inside the group).
template <class T>
__device__ RowMaxSum<T> group_merge(RowMaxSum<T> r, int lanes) {
    for (int offset = lanes / 2; offset > 0; offset /= 2) {
        RowMaxSum<T> other;
        other.m = __shfl_xor_sync(0xffffffffu, r.m, offset);
        other.s = __shfl_xor_sync(0xffffffffu, r.s, offset);
        r = merge_row_max_sum(r, other);
    }
    return r;
}

}  // namespace softmax_detail

/// Rows forward (S = 1). Every lane of a warp runs the same iterations (the shuffles need the whole
/// warp): a warp takes rows base .. base + 32/lanes - 1, base stepping by the groups in the grid.
template <class T>
__global__ void __launch_bounds__(kThreads)
    cross_entropy_rows_forward_kernel(const T* x, const int64_t* target, const T* weight, CrossEntropyArgs a, int lanes,
                                      double* lse, double* losses, double* weights, T* out_none,
                                      unsigned long long* first_bad) {
    using namespace softmax_detail;
    const int64_t C = a.classes, rows = a.batch;
    const RowGroupWalk w(lanes, blockIdx.x, threadIdx.x, gridDim.x);
    const int lane = w.lane;
    for (int64_t base = w.first; base < rows; base += w.stride) {
        const int64_t row = base + w.offset;
        const bool valid = row < rows;
        const T* p = x + (valid ? row : 0) * C;
        RowMaxSum<T> r = valid ? cross_entropy_lane_max_sum(p, C, lane, lanes) : RowMaxSum<T>{};
        r = group_merge(r, lanes);
        const double z = row_lse(r);
        double smooth = 0;
        if (a.label_smoothing > 0) smooth = row_group_sum(valid ? cross_entropy_lane_smooth(p, weight, C, z, lane, lanes) : 0.0, lanes);
        if (valid && lane == 0) {
            const RowLoss l = cross_entropy_row_loss(p, target[row], weight, a, z, smooth);
            if (l.bad) atomicMin(first_bad, static_cast<unsigned long long>(row));
            lse[row] = z;
            losses[row] = l.loss;
            weights[row] = l.wy;
            if (out_none) out_none[row] = static_cast<T>(l.loss);
        }
    }
}

/// Rows backward (S = 1): a group of lanes per row, grid-stride over rows.
template <class T>
__global__ void __launch_bounds__(kThreads)
    cross_entropy_rows_backward_kernel(const T* x, const int64_t* target, const T* weight, const double* lse,
                                       const double* stats, const T* grad_out, CrossEntropyArgs a, int lanes, T* dx) {
    const int64_t C = a.classes;
    const int lane = threadIdx.x % lanes;
    for (int64_t row = row_group_row_of(lanes, blockIdx.x, threadIdx.x); row < a.batch;
         row += row_group_stride(lanes, gridDim.x))
        cross_entropy_lane_backward(x + row * C, target[row], weight, lse[row], stats, grad_out, row, a, dx + row * C,
                                    lane, lanes);
}

/// The first reduction level's split of P positions (from P only).
struct LossReducePlan {
    int64_t chunk = 0, blocks = 0;
};
inline LossReducePlan plan_loss_reduce(int64_t positions) {
    LossReducePlan p;
    if (positions <= 0) return p;
    p.chunk = std::max(kLossPartialMinChunk, ceil_div(positions, kLossPartialsMax));
    p.blocks = ceil_div(positions, p.chunk);
    return p;
}

/// Thread t's sums of positions begin + t, begin + t + threads, ... < end (losses and weights).
SEAM_HOST_DEVICE void loss_thread_sums(const double* losses, const double* weights, int64_t begin, int64_t end, int t,
                                       int threads, double& loss, double& weight) {
    loss = 0, weight = 0;
    for (int64_t i = begin + t; i < end; i += threads) {
        loss += losses[i];
        weight += weights[i];
    }
}

/// First level: block b sums positions [b·chunk, min(P, (b+1)·chunk)) into partial_loss[b] and
/// partial_weight[b] (the block tree of block_reduce). A template (V = double) so that a header
/// included by several translation units defines no kernel twice.
template <class V>
__global__ void __launch_bounds__(kThreads)
    loss_partials_kernel(const V* losses, const V* weights, int64_t positions, int64_t chunk, V* partial_loss,
                         V* partial_weight) {
    using namespace softmax_detail;
    __shared__ V shared[kThreads];
    const int64_t begin = int64_t(blockIdx.x) * chunk, end = begin + chunk < positions ? begin + chunk : positions;
    V loss, weight;
    loss_thread_sums(losses, weights, begin, end, threadIdx.x, kThreads, loss, weight);
    loss = block_reduce(loss, shared, Plus<V>());
    weight = block_reduce(weight, shared, Plus<V>());
    if (threadIdx.x == 0) partial_loss[blockIdx.x] = loss, partial_weight[blockIdx.x] = weight;
}

/// Where the cross-entropy launchers send their kernels on the GPU (tests/cuda/
/// test_softmax_kernel_logic.cu sends them to a host emulation with the same members).
struct DeviceCrossEntropy {
    cudaStream_t stream;
    int version = kernel_version("SEAM_CROSS_ENTROPY_VERSION", 2);

    void reset_first_bad(unsigned long long* first_bad) const {
        SEAM_CUDA_CHECK(cudaMemsetAsync(first_bad, 0xFF, sizeof(unsigned long long), stream));
    }
    template <class T>
    void positions_forward(const T* x, const int64_t* target, const T* weight, const CrossEntropyArgs& a, double* lse,
                           double* losses, double* weights, T* out_none, unsigned long long* first_bad) const {
        cross_entropy_forward_kernel<T><<<grid_for(a.batch * a.spatial), kThreads, 0, stream>>>(
            x, target, weight, a, lse, losses, weights, out_none, first_bad);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void rows_forward(const T* x, const int64_t* target, const T* weight, const CrossEntropyArgs& a, int lanes,
                      double* lse, double* losses, double* weights, T* out_none, unsigned long long* first_bad) const {
        cross_entropy_rows_forward_kernel<T><<<row_group_blocks(a.batch, lanes),
                                               kThreads, 0, stream>>>(x, target, weight, a, lanes, lse, losses, weights,
                                                                      out_none, first_bad);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void positions_backward(const T* x, const int64_t* target, const T* weight, const double* lse, const double* stats,
                            const T* grad_out, const CrossEntropyArgs& a, T* dx) const {
        cross_entropy_backward_kernel<T><<<grid_for(a.batch * a.classes * a.spatial), kThreads, 0, stream>>>(
            x, target, weight, lse, stats, grad_out, a, dx);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void rows_backward(const T* x, const int64_t* target, const T* weight, const double* lse, const double* stats,
                       const T* grad_out, const CrossEntropyArgs& a, int lanes, T* dx) const {
        cross_entropy_rows_backward_kernel<T><<<row_group_blocks(a.batch, lanes),
                                                kThreads, 0, stream>>>(x, target, weight, lse, stats, grad_out, a,
                                                                       lanes, dx);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    void loss_partials(const double* losses, const double* weights, int64_t positions, const LossReducePlan& p,
                       double* partial_loss, double* partial_weight) const {
        loss_partials_kernel<double><<<static_cast<unsigned>(p.blocks), kThreads, 0, stream>>>(losses, weights, positions,
                                                                                     p.chunk, partial_loss,
                                                                                     partial_weight);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    template <class T>
    void loss_total(const double* losses, const double* weights, int64_t positions, const T* weight,
                    const CrossEntropyArgs& a, double* stats, T* out) const {
        cross_entropy_reduce_kernel<T><<<1, kThreads, 0, stream>>>(losses, weights, positions, weight, a.classes,
                                                                   a.reduction, stats, out);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
};

/// The workspace of cross_entropy_forward and nll_forward, carved: losses [P], weights [P],
/// partial sums [2, kLossPartialsMax], first-bad-position word.
struct LossWorkspace {
    double *losses, *weights, *partial_loss, *partial_weight;
    unsigned long long* first_bad;
    LossWorkspace(void* workspace, int64_t positions) {
        losses = static_cast<double*>(workspace);
        weights = losses + positions;
        partial_loss = weights + positions;
        partial_weight = partial_loss + kLossPartialsMax;
        first_bad = reinterpret_cast<unsigned long long*>(partial_weight + kLossPartialsMax);
    }
};

/// stats and out from the per-position losses and weights: one block (version 1) or two levels.
template <class T, class Exec>
inline void loss_reduce_on(const Exec& exec, const LossWorkspace& w, int64_t positions, const T* weight,
                           const CrossEntropyArgs& a, double* stats, T* out) {
    T* total_out = a.reduction == 0 ? nullptr : out;
    const LossReducePlan p = plan_loss_reduce(positions);
    if (exec.version < 2 || p.blocks <= 1) {
        exec.loss_total(w.losses, w.weights, positions, weight, a, stats, total_out);
        return;
    }
    exec.loss_partials(w.losses, w.weights, positions, p, w.partial_loss, w.partial_weight);
    exec.loss_total(w.partial_loss, w.partial_weight, p.blocks, weight, a, stats, total_out);
}

/// The cross-entropy forward on any executor (DeviceCrossEntropy on the GPU; the tests' host emulation).
template <class T, class Exec>
inline void cross_entropy_forward_on(const Exec& exec, const T* x, const int64_t* target, const T* weight,
                                     const CrossEntropyArgs& a, T* out, double* lse, double* stats, void* workspace,
                                     unsigned long long** first_bad_ptr) {
    const int64_t P = a.batch * a.spatial;
    const LossWorkspace w(workspace, P);
    *first_bad_ptr = w.first_bad;
    exec.reset_first_bad(w.first_bad);
    T* per_position_out = a.reduction == 0 ? out : nullptr;
    if (P > 0) {
        if (exec.version >= 2 && a.spatial == 1)
            exec.rows_forward(x, target, weight, a, row_group_lanes(a.classes), lse, w.losses, w.weights,
                              per_position_out, w.first_bad);
        else
            exec.positions_forward(x, target, weight, a, lse, w.losses, w.weights, per_position_out, w.first_bad);
    }
    loss_reduce_on(exec, w, P, weight, a, stats, out);
}

template <class T, class Exec>
inline void cross_entropy_backward_on(const Exec& exec, const T* x, const int64_t* target, const T* weight,
                                      const double* lse, const double* stats, const T* grad_out,
                                      const CrossEntropyArgs& a, T* dx) {
    if (a.batch * a.classes * a.spatial == 0) return;
    if (exec.version >= 2 && a.spatial == 1)
        exec.rows_backward(x, target, weight, lse, stats, grad_out, a, row_group_lanes(a.classes), dx);
    else
        exec.positions_backward(x, target, weight, lse, stats, grad_out, a, dx);
}

/// Enqueue the forward; `out` is [B·S] for reduction none, [1] otherwise. `workspace` holds
/// cross_entropy_workspace_bytes(a) bytes; first_bad (inside it, returned through *first_bad_ptr)
/// is ULLONG_MAX unless a target is out of range.
template <class T>
inline void cross_entropy_forward(const T* x, const int64_t* target, const T* weight, const CrossEntropyArgs& a, T* out,
                                  double* lse, double* stats, void* workspace, unsigned long long** first_bad_ptr,
                                  cudaStream_t stream) {
    cross_entropy_forward_on<T>(DeviceCrossEntropy{stream}, x, target, weight, a, out, lse, stats, workspace,
                                first_bad_ptr);
}

template <class T>
inline void cross_entropy_backward(const T* x, const int64_t* target, const T* weight, const double* lse,
                                   const double* stats, const T* grad_out, const CrossEntropyArgs& a, T* dx,
                                   cudaStream_t stream) {
    cross_entropy_backward_on<T>(DeviceCrossEntropy{stream}, x, target, weight, lse, stats, grad_out, a, dx);
}

// ----- NLL loss on log-probabilities ---------------------------------------------------------------------

/// Per position: the loss -w[y]·x_y and w[y] (both 0 when ignored or out of range); the loss also
/// goes to out_none[i] (in T) for the reduction `none`. args.label_smoothing is not read.
template <class T>
__global__ void nll_forward_kernel(const T* x, const int64_t* target, const T* weight, CrossEntropyArgs a,
                                   double* losses, double* weights, T* out_none, unsigned long long* first_bad) {
    const int64_t C = a.classes, S = a.spatial;
    SEAM_GRID_STRIDE_LOOP(i, a.batch * S) {
        const int64_t y = target[i];
        double loss = 0, wy = 0;
        if (y != a.ignore_index) {
            if (y < 0 || y >= C) {
                atomicMin(first_bad, static_cast<unsigned long long>(i));
            } else {
                wy = weight ? static_cast<double>(weight[y]) : 1.0;
                loss = -wy * static_cast<double>(x[(i / S) * C * S + y * S + i % S]);
            }
        }
        losses[i] = loss;
        weights[i] = wy;
        if (out_none) out_none[i] = static_cast<T>(loss);
    }
}

template <class T>
__global__ void nll_backward_kernel(const int64_t* target, const T* weight, const double* stats, const T* grad_out,
                                    CrossEntropyArgs a, T* dx) {
    const int64_t C = a.classes, S = a.spatial;
    SEAM_GRID_STRIDE_LOOP(e, a.batch * C * S) {
        const int64_t i = (e / (C * S)) * S + e % S, c = (e / S) % C;
        const int64_t y = target[i];
        if (y == a.ignore_index || y != c) {  // y != c also covers a target out of range
            dx[e] = T(0);
            continue;
        }
        // The CPU's scale, in T: g[i] (none), T(g / Σ w[y]) (mean), g (sum).
        const T scale = a.reduction == 0   ? grad_out[i]
                        : a.reduction == 1 ? static_cast<T>(static_cast<double>(grad_out[0]) / stats[1])
                                           : grad_out[0];
        dx[e] = -(weight ? weight[y] : T(1)) * scale;
    }
}

/// Enqueue the NLL forward, with cross_entropy_forward's workspace (cross_entropy_workspace_bytes),
/// outputs, first-bad-position word and reduction (version 2's two levels unless
/// SEAM_CROSS_ENTROPY_VERSION=1).
template <class T>
inline void nll_forward(const T* x, const int64_t* target, const T* weight, const CrossEntropyArgs& a, T* out,
                        double* stats, void* workspace, unsigned long long** first_bad_ptr, cudaStream_t stream) {
    const DeviceCrossEntropy exec{stream};
    const int64_t P = a.batch * a.spatial;
    const LossWorkspace w(workspace, P);
    *first_bad_ptr = w.first_bad;
    exec.reset_first_bad(w.first_bad);
    if (P > 0) {
        nll_forward_kernel<T><<<grid_for(P), kThreads, 0, stream>>>(x, target, weight, a, w.losses, w.weights,
                                                                    a.reduction == 0 ? out : nullptr, w.first_bad);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    loss_reduce_on(exec, w, P, weight, a, stats, out);
}

template <class T>
inline void nll_backward(const int64_t* target, const T* weight, const double* stats, const T* grad_out,
                         const CrossEntropyArgs& a, T* dx, cudaStream_t stream) {
    const int64_t n = a.batch * a.classes * a.spatial;
    if (n == 0) return;
    nll_backward_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(target, weight, stats, grad_out, a, dx);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace seam::kernels
