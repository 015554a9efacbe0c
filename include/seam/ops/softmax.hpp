// seam/ops/softmax.hpp — softmax and log_softmax along any dimension, with their backward rules.
//
// Numerically stable: every slice subtracts its maximum before exponentiating, so logits of
// ±1000 give finite results (a slice of all -inf gives NaN, as in PyTorch). The input is seen as
// [outer, n, inner] around the softmax dimension:
//   * inner == 1 (the last dimension, the common case): each row is reduced contiguously;
//   * inner > 1: blocks of `inner` columns are processed together, reading whole input rows
//     (vectorised over the columns), like the column loop of ops/reduce.hpp.
// Exponentials are computed in T, their sum is carried in double for float (reduce.hpp's rule).
// Backward (y = output, g = incoming gradient, sums along the dimension):
//   softmax:     dx = y * (g - Σ g*y)
//   log_softmax: dx = g - exp(y) * Σ g
// detail::softmax_statistics (max and Σ exp per slice) is shared with the fused cross-entropy.
// CUDA tensors (builds with SEAM_WITH_CUDA) run kernels/seam/softmax.cuh: the same formulas and
// accumulation precision, output and gradient on the device.
#pragma once

#include <cmath>
#include <limits>

#include "seam/ops/reduce.hpp"

namespace seam {

namespace detail {

/// The largest value of p[0, n), NaN skipped (a NaN still makes its whole slice NaN, through
/// exp(NaN - m) in the sum, as in PyTorch). 16 lanes under omp simd so that it vectorises.
template <class T>
inline T row_max(const T* p, int64_t n) {
    constexpr int64_t L = 16;
    T best[L];
    for (int64_t l = 0; l < L; ++l) best[l] = -std::numeric_limits<T>::infinity();
    int64_t i = 0;
    for (; i + L <= n; i += L)
#pragma omp simd
        for (int64_t l = 0; l < L; ++l) best[l] = p[i + l] > best[l] ? p[i + l] : best[l];
    for (; i < n; ++i) best[0] = p[i] > best[0] ? p[i] : best[0];
    T m = best[0];
    for (int64_t l = 1; l < L; ++l) m = best[l] > m ? best[l] : m;
    return m;
}

/// For every slice (a, j) of a contiguous [outer, n, inner] x: the maximum m and Σ exp(x - m)
/// (carried in Acc), written at a * inner + j.
template <class T, class Acc>
inline void softmax_statistics(const T* x, const DimSplit& s, T* maxima, Acc* sums) {
    if (s.inner == 1) {
        parallel_for(0, s.outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, s.n)), [&](int64_t lo, int64_t hi) {
            for (int64_t r = lo; r < hi; ++r) {
                const T* p = x + r * s.n;
                const T m = row_max(p, s.n);
                maxima[r] = m;
                sums[r] = row_sum<Acc>(p, s.n, [m](T v) { return static_cast<Acc>(std::exp(v - m)); });
            }
        });
        return;
    }
    const int64_t col_blocks = (s.inner + kReduceColumnBlock - 1) / kReduceColumnBlock;
    const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, s.n * std::min(s.inner, kReduceColumnBlock)));
    parallel_for(0, s.outer * col_blocks, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t u = lo; u < hi; ++u) {
            const int64_t a = u / col_blocks, j0 = (u % col_blocks) * kReduceColumnBlock;
            const int64_t w = std::min(kReduceColumnBlock, s.inner - j0);
            const T* p = x + a * s.n * s.inner + j0;
            T* m = maxima + a * s.inner + j0;
            Acc* z = sums + a * s.inner + j0;
            for (int64_t j = 0; j < w; ++j) m[j] = -std::numeric_limits<T>::infinity(), z[j] = 0;
            for (int64_t i = 0; i < s.n; ++i)
                for (int64_t j = 0; j < w; ++j) {
                    const T v = p[i * s.inner + j];
                    m[j] = v > m[j] ? v : m[j];  // NaN skipped, as in row_max
                }
            for (int64_t i = 0; i < s.n; ++i)
                for (int64_t j = 0; j < w; ++j) z[j] += static_cast<Acc>(std::exp(p[i * s.inner + j] - m[j]));
        }
    });
}

/// y = softmax (Log = false) or log_softmax (Log = true) of a contiguous [outer, n, inner] x.
/// softmax stores exp(x - m) in y while summing it, then scales by 1/Σ: one exp per element.
template <bool Log, class T>
inline void softmax_forward_kernel(const T* x, T* y, const DimSplit& s) {
    using Acc = reduction_acc_t<T>;
    if constexpr (Log) {
        const int64_t slices = s.outer * s.inner;
        std::vector<T> maxima(static_cast<size_t>(slices));
        std::vector<Acc> log_sums(static_cast<size_t>(slices));
        softmax_statistics(x, s, maxima.data(), log_sums.data());
        for (Acc& z : log_sums) z = std::log(z);
        const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, s.n * s.inner));
        parallel_for(0, s.outer, grain, [&](int64_t lo, int64_t hi) {
            for (int64_t a = lo; a < hi; ++a) {
                const T* m = maxima.data() + a * s.inner;
                const Acc* lz = log_sums.data() + a * s.inner;
                for (int64_t i = 0; i < s.n; ++i) {
                    const int64_t row = (a * s.n + i) * s.inner;
                    for (int64_t j = 0; j < s.inner; ++j)
                        y[row + j] = static_cast<T>(static_cast<Acc>(x[row + j] - m[j]) - lz[j]);
                }
            }
        });
    } else if (s.inner == 1) {  // rows
        parallel_for(0, s.outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, s.n)), [&](int64_t lo, int64_t hi) {
            for (int64_t r = lo; r < hi; ++r) {
                const T* p = x + r * s.n;
                T* q = y + r * s.n;
                const T m = row_max(p, s.n);
                for (int64_t i = 0; i < s.n; ++i) q[i] = std::exp(p[i] - m);
                const Acc inv = Acc(1) / row_sum<Acc>(q, s.n, [](T v) { return static_cast<Acc>(v); });
                for (int64_t i = 0; i < s.n; ++i) q[i] = static_cast<T>(static_cast<Acc>(q[i]) * inv);
            }
        });
    } else {  // columns: blocks of `inner` read along whole rows
        const int64_t col_blocks = (s.inner + kReduceColumnBlock - 1) / kReduceColumnBlock;
        const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, s.n * std::min(s.inner, kReduceColumnBlock)));
        parallel_for(0, s.outer * col_blocks, grain, [&](int64_t lo, int64_t hi) {
            T m[kReduceColumnBlock];
            Acc z[kReduceColumnBlock];
            for (int64_t u = lo; u < hi; ++u) {
                const int64_t a = u / col_blocks, j0 = (u % col_blocks) * kReduceColumnBlock;
                const int64_t w = std::min(kReduceColumnBlock, s.inner - j0);
                const int64_t first = a * s.n * s.inner + j0;
                std::fill(m, m + w, -std::numeric_limits<T>::infinity());
                std::fill(z, z + w, Acc(0));
                for (int64_t i = 0; i < s.n; ++i)
                    for (int64_t j = 0; j < w; ++j) {
                        const T v = x[first + i * s.inner + j];
                        m[j] = v > m[j] ? v : m[j];  // NaN skipped, as in row_max
                    }
                for (int64_t i = 0; i < s.n; ++i)
                    for (int64_t j = 0; j < w; ++j) {
                        const T e = std::exp(x[first + i * s.inner + j] - m[j]);
                        y[first + i * s.inner + j] = e;
                        z[j] += static_cast<Acc>(e);
                    }
                for (int64_t j = 0; j < w; ++j) z[j] = Acc(1) / z[j];
                for (int64_t i = 0; i < s.n; ++i)
                    for (int64_t j = 0; j < w; ++j) {
                        T& out = y[first + i * s.inner + j];
                        out = static_cast<T>(static_cast<Acc>(out) * z[j]);
                    }
            }
        });
    }
}

/// dx from g and y (both contiguous [outer, n, inner]); see the header comment for the formulas.
template <bool Log, class T>
inline void softmax_backward_kernel(const T* g, const T* y, T* dx, const DimSplit& s) {
    using Acc = reduction_acc_t<T>;
    const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, s.n * s.inner));
    parallel_for(0, s.outer, grain, [&](int64_t lo, int64_t hi) {
        std::vector<Acc> dot(static_cast<size_t>(s.inner));
        for (int64_t a = lo; a < hi; ++a) {
            const int64_t base = a * s.n * s.inner;
            std::fill(dot.begin(), dot.end(), Acc(0));
            for (int64_t i = 0; i < s.n; ++i)
                for (int64_t j = 0; j < s.inner; ++j) {
                    const int64_t e = base + i * s.inner + j;
                    dot[j] += Log ? static_cast<Acc>(g[e]) : static_cast<Acc>(g[e]) * static_cast<Acc>(y[e]);
                }
            for (int64_t i = 0; i < s.n; ++i)
                for (int64_t j = 0; j < s.inner; ++j) {
                    const int64_t e = base + i * s.inner + j;
                    const T d = static_cast<T>(dot[j]);
                    if constexpr (Log) dx[e] = g[e] - std::exp(y[e]) * d;
                    else dx[e] = y[e] * (g[e] - d);
                }
        }
    });
}

#if SEAM_WITH_CUDA
/// The CUDA path (kernels/seam/softmax.cuh): the same rules, output and gradient on x's device.
template <bool Log, class T>
inline Tensor<T> cuda_softmax(const Tensor<T>& x, int64_t dim, const char* op) {
    const int64_t d = wrap_dim(dim, x.dim(), op);
    const DimSplit s = split_at_dim(x.shape(), d);
    const Device device = x.device();
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> xc = cuda_dense(x.detach());
    Tensor<T> out = empty<T>(x.shape(), device);
    cuda::softmax_forward<T>(xc.data(), out.data(), s.outer, s.n, s.inner, Log);
    if (needs_graph<T>({&x})) {
        const Tensor<T> ys = out.detach();
        record<T>(op, out, {&x}, [ys, s, op](const Tensor<T>& g) {
            SEAM_CHECK(g.device() == ys.device(), op, " backward: gradient on ", g.device().str(), ", output on ",
                       ys.device().str());
            cuda::DeviceGuard guard(ys.device().index);
            const Tensor<T> gc = cuda_dense(g.detach());
            Tensor<T> dx = empty<T>(ys.shape(), ys.device());
            cuda::softmax_backward<T>(gc.data(), ys.data(), dx.data(), s.outer, s.n, s.inner, Log);
            return std::vector<Tensor<T>>{dx};
        });
    }
    return out;
}
#endif  // SEAM_WITH_CUDA

template <bool Log, class T>
inline Tensor<T> softmax_impl(const Tensor<T>& x, int64_t dim, const char* op) {
    static_assert(std::is_floating_point_v<T>, "softmax needs float or double tensors");
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return cuda_softmax<Log>(x, dim, op);
#endif
    SEAM_CHECK(x.device().is_cpu(), op, " on ", x.device().str(), " needs the CUDA backend");
    const int64_t d = wrap_dim(dim, x.dim(), op);
    const DimSplit s = split_at_dim(x.shape(), d);
    const Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>(x.shape());
    if (out.numel() > 0) softmax_forward_kernel<Log>(xc.data(), out.data(), s);
    if (needs_graph<T>({&x})) {
        const Tensor<T> ys = out.detach();
        record<T>(op, out, {&x}, [ys, s](const Tensor<T>& g) {
            const Tensor<T> gc = g.contiguous();
            Tensor<T> dx = empty<T>(ys.shape());
            if (dx.numel() > 0) softmax_backward_kernel<Log>(gc.data(), ys.data(), dx.data(), s);
            return std::vector<Tensor<T>>{dx};
        });
    }
    return out;
}

}  // namespace detail

/// exp(x - max) / Σ exp(x - max) along `dim`.
template <class T>
inline Tensor<T> softmax(const Tensor<T>& x, int64_t dim) {
    return detail::softmax_impl<false>(x, dim, "softmax");
}

/// x - max - log Σ exp(x - max) along `dim` (the log of softmax without its underflow).
template <class T>
inline Tensor<T> log_softmax(const Tensor<T>& x, int64_t dim) {
    return detail::softmax_impl<true>(x, dim, "log_softmax");
}

}  // namespace seam
