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
//   rows (inner == 1)      one block per row (grid-stride over rows), a power of two of 32..256
//                          threads ≥ n; the threads stride over the row, then shared-memory trees
//                          combine the maximum and the sum in a fixed order (deterministic).
//   columns (inner > 1)    one thread per (o, j), neighbouring threads on neighbouring j (coalesced
//                          when inner ≥ 32), three passes over n.
//   cross-entropy forward  one thread per position (coalesced across positions for S > 1; for
//                          [N, C] logits each thread walks its own row, fine for class counts up
//                          to a few thousand); then ONE block of 256 threads reduces the per-position
//                          losses and weights in a fixed order (a loss is one number: not worth a
//                          two-level reduction below a few million positions).
//   cross-entropy backward one thread per logit element.
//   nll_loss               the cross-entropy launch shapes: one thread per position, the same
//                          single reducing block, one thread per input element in the backward.
//
// Versions tried: only this one. Measured on an H200 (bench_elementwise_cuda's third table, two
// runs of 2026-11-27: bench/results/gpu-h200-2026-11-27-run5.md and -run6.md;
// 64M floats, % of seam's 3.83 TB/s copy for the bytes
// each must move): softmax [65536, 1024] forward 0.34 ms (40-41 %), forward + backward 0.75 ms
// (46 %); log_softmax forward + backward 0.83 ms (42 %); the fused cross_entropy forward + backward
// 1.46 ms on [65536, 1024] (14 %) and 3.3 ms on [1342177, 50] (6 %). The weak spots named before
// timing are the slow ones: the thread-per-position cross-entropy on [N, C] logits reads
// uncoalesced (a warp per row would fix it), and its single reducing block.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "seam/common.cuh"

namespace seam::kernels {

/// The accumulator of softmax sums: double for float (the CPU's reduction_acc_t), T otherwise.
template <class T>
using softmax_acc_t = std::conditional_t<std::is_same_v<T, float>, double, T>;

namespace softmax_detail {

SEAM_DEVICE float exp_t(float v) { return expf(v); }
SEAM_DEVICE double exp_t(double v) { return ::exp(v); }
SEAM_DEVICE double log_d(double v) { return ::log(v); }

/// The CPU's row_max combine: NaN never replaces the running maximum.
template <class T>
struct MaxSkipNaN {
    SEAM_DEVICE T operator()(T a, T b) const { return b > a ? b : a; }
};
template <class V>
struct Plus {
    SEAM_DEVICE V operator()(V a, V b) const { return a + b; }
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

/// y = softmax or log_softmax of contiguous x [outer, n, inner] along n.
template <class T>
inline void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log, cudaStream_t stream) {
    if (outer * n * inner == 0) return;
    if (inner == 1) {
        const unsigned blocks = softmax_detail::capped_blocks(outer);
        const int threads = softmax_detail::row_threads(n);
        if (log) softmax_rows_kernel<true, T><<<blocks, threads, 0, stream>>>(x, y, outer, n);
        else softmax_rows_kernel<false, T><<<blocks, threads, 0, stream>>>(x, y, outer, n);
    } else {
        const unsigned blocks = grid_for(outer * inner);
        if (log) softmax_columns_kernel<true, T><<<blocks, kThreads, 0, stream>>>(x, y, outer, n, inner);
        else softmax_columns_kernel<false, T><<<blocks, kThreads, 0, stream>>>(x, y, outer, n, inner);
    }
    SEAM_CUDA_CHECK(cudaGetLastError());
}

/// dx from contiguous g and y [outer, n, inner].
template <class T>
inline void softmax_backward(const T* g, const T* y, T* dx, int64_t outer, int64_t n, int64_t inner, bool log,
                             cudaStream_t stream) {
    if (outer * n * inner == 0) return;
    if (inner == 1) {
        const unsigned blocks = softmax_detail::capped_blocks(outer);
        const int threads = softmax_detail::row_threads(n);
        if (log) softmax_backward_rows_kernel<true, T><<<blocks, threads, 0, stream>>>(g, y, dx, outer, n);
        else softmax_backward_rows_kernel<false, T><<<blocks, threads, 0, stream>>>(g, y, dx, outer, n);
    } else {
        const unsigned blocks = grid_for(outer * inner);
        if (log) softmax_backward_columns_kernel<true, T><<<blocks, kThreads, 0, stream>>>(g, y, dx, outer, n, inner);
        else softmax_backward_columns_kernel<false, T><<<blocks, kThreads, 0, stream>>>(g, y, dx, outer, n, inner);
    }
    SEAM_CUDA_CHECK(cudaGetLastError());
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

/// Bytes of device workspace cross_entropy_forward needs: losses, weights (double each) and the
/// first-bad-position word.
inline size_t cross_entropy_workspace_bytes(const CrossEntropyArgs& a) {
    return static_cast<size_t>(a.batch * a.spatial) * 2 * sizeof(double) + sizeof(unsigned long long);
}

/// The frame cross_entropy_forward and nll_forward share: the workspace carved into per-position
/// losses and weights (double each) and the first-bad-position word (reset to ULLONG_MAX), the
/// per-position kernel enqueued by `launch(P, losses, weights, per_position_out, first_bad)` when
/// there are positions (per_position_out is `out` for reduction none, else null), then the
/// reduction into `out` and `stats`.
template <class T, class Launch>
inline void per_position_loss_forward(const T* weight, const CrossEntropyArgs& a, T* out, double* stats, void* workspace,
                                      unsigned long long** first_bad_ptr, cudaStream_t stream, Launch&& launch) {
    const int64_t P = a.batch * a.spatial;
    auto* losses = static_cast<double*>(workspace);
    double* weights = losses + P;
    auto* first_bad = reinterpret_cast<unsigned long long*>(weights + P);
    *first_bad_ptr = first_bad;
    SEAM_CUDA_CHECK(cudaMemsetAsync(first_bad, 0xFF, sizeof(unsigned long long), stream));
    if (P > 0) {
        launch(P, losses, weights, a.reduction == 0 ? out : nullptr, first_bad);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    cross_entropy_reduce_kernel<T><<<1, kThreads, 0, stream>>>(losses, weights, P, weight, a.classes, a.reduction, stats,
                                                               a.reduction == 0 ? nullptr : out);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

/// Enqueue the forward; `out` is [B·S] for reduction none, [1] otherwise. first_bad (inside the
/// workspace, returned through *first_bad_ptr) is ULLONG_MAX unless a target is out of range.
template <class T>
inline void cross_entropy_forward(const T* x, const int64_t* target, const T* weight, const CrossEntropyArgs& a, T* out,
                                  double* lse, double* stats, void* workspace, unsigned long long** first_bad_ptr,
                                  cudaStream_t stream) {
    per_position_loss_forward<T>(
        weight, a, out, stats, workspace, first_bad_ptr, stream,
        [&](int64_t P, double* losses, double* weights, T* per_position_out, unsigned long long* first_bad) {
            cross_entropy_forward_kernel<T><<<grid_for(P), kThreads, 0, stream>>>(x, target, weight, a, lse, losses,
                                                                                  weights, per_position_out, first_bad);
        });
}

template <class T>
inline void cross_entropy_backward(const T* x, const int64_t* target, const T* weight, const double* lse,
                                   const double* stats, const T* grad_out, const CrossEntropyArgs& a, T* dx,
                                   cudaStream_t stream) {
    const int64_t n = a.batch * a.classes * a.spatial;
    if (n == 0) return;
    cross_entropy_backward_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(x, target, weight, lse, stats, grad_out, a, dx);
    SEAM_CUDA_CHECK(cudaGetLastError());
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
/// outputs and first-bad-position word.
template <class T>
inline void nll_forward(const T* x, const int64_t* target, const T* weight, const CrossEntropyArgs& a, T* out,
                        double* stats, void* workspace, unsigned long long** first_bad_ptr, cudaStream_t stream) {
    per_position_loss_forward<T>(
        weight, a, out, stats, workspace, first_bad_ptr, stream,
        [&](int64_t P, double* losses, double* weights, T* per_position_out, unsigned long long* first_bad) {
            nll_forward_kernel<T><<<grid_for(P), kThreads, 0, stream>>>(x, target, weight, a, losses, weights,
                                                                        per_position_out, first_bad);
        });
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
