// seam/optim/clip.hpp — gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
//
// clip_grad_norm_ treats the gradients of all parameters as one long vector: its p-norm
// (p = infinity: the largest |g|) is returned, and when it exceeds max_norm every gradient is
// scaled by max_norm / (norm + 1e-6), PyTorch's formula. Parameters without a gradient are
// skipped. The norm is accumulated in double over fixed blocks that are summed in order, so the
// result is the same whatever the thread count. Gradients on a GPU are reduced there (the CUDA
// elementwise ops and reductions, whose float sums are carried in double) and only each tensor's
// partial sum comes back to the host; the scaling and clamping run on the device too.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/core/tensor.hpp"
#include "seam/ops/elementwise.hpp"
#include "seam/ops/reduce.hpp"

namespace seam::optim {

namespace detail {
/// sum(|x|^p) (or max |x| when p is infinite) of one contiguous gradient, in double.
template <class T>
inline double grad_power_sum(const T* g, int64_t n, double p) {
    constexpr int64_t block = 16384;  // fixed blocks: the order of additions never depends on threads
    const int64_t blocks = (n + block - 1) / block;
    std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
    const bool infinite = std::isinf(p);
    parallel_for(0, blocks, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) {
            double acc = 0.0;
            for (int64_t i = b * block, end = std::min(n, (b + 1) * block); i < end; ++i) {
                double a = std::abs(static_cast<double>(g[i]));
                if (infinite) acc = std::max(acc, a);
                else if (p == 2.0) acc += a * a;
                else if (p == 1.0) acc += a;
                else acc += std::pow(a, p);
            }
            partial[static_cast<size_t>(b)] = acc;
        }
    });
    double total = 0.0;
    for (double v : partial) total = infinite ? std::max(total, v) : total + v;
    return total;
}

#if SEAM_WITH_CUDA
/// grad_power_sum of a gradient on a GPU: composed from the device ops, one scalar read back.
template <class T>
inline double cuda_grad_power_sum(const Tensor<T>& g, double p) {
    if (g.numel() == 0) return 0.0;
    const Tensor<T> flat = g.detach().reshape({-1});
    Tensor<T> r;
    if (std::isinf(p)) r = seam::max(seam::abs(flat), 0).first;
    else if (p == 2.0) r = seam::sum(seam::square(flat));
    else if (p == 1.0) r = seam::sum(seam::abs(flat));
    else r = seam::sum(seam::pow(seam::abs(flat), static_cast<T>(p)));
    return static_cast<double>(r.item());
}
#endif

/// grad_power_sum of any gradient, on the device where it lives.
template <class T>
inline double any_grad_power_sum(const Tensor<T>& g, double p) {
#if SEAM_WITH_CUDA
    if (g.device().is_cuda()) return cuda_grad_power_sum(g, p);
#endif
    return grad_power_sum(g.data(), g.numel(), p);
}
}  // namespace detail

/// Scale the gradients so that their joint norm is at most max_norm; returns the norm before clipping.
template <class T>
inline double clip_grad_norm_(const std::vector<Tensor<T>>& params, double max_norm, double norm_type = 2.0) {
    SEAM_CHECK(norm_type > 0.0, "clip_grad_norm_: norm_type ", norm_type, " must be positive (or infinity)");
    SEAM_CHECK(max_norm >= 0.0, "clip_grad_norm_: max_norm ", max_norm, " is negative");
    NoGradGuard no_grad;
    std::vector<Tensor<T>> grads;
    for (const auto& p : params) {
        Tensor<T> g = p.grad();
        if (!g.defined()) continue;
        SEAM_CHECK(g.is_contiguous(), "clip_grad_norm_: a gradient of shape ", shape_str(g.shape()), " is not contiguous");
        grads.push_back(g);
    }
    if (grads.empty()) return 0.0;
    const bool infinite = std::isinf(norm_type);
    double total = 0.0;
    for (const auto& g : grads) {
        double s = detail::any_grad_power_sum(g, norm_type);
        total = infinite ? std::max(total, s) : total + s;
    }
    const double norm = infinite ? total : (norm_type == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type));
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
        const T scale = static_cast<T>(coef);
        for (auto& g : grads) {
#if SEAM_WITH_CUDA
            if (g.device().is_cuda()) {  // scaled on the device, written back into the gradient
                g.copy_(seam::mul(g.detach(), scale));
                continue;
            }
#endif
            T* d = g.data();
            parallel_for(0, g.numel(), kParallelGrain, [&](int64_t lo, int64_t hi) {
                for (int64_t i = lo; i < hi; ++i) d[i] *= scale;
            });
        }
    }
    return norm;
}

/// Clamp every gradient element into [-clip_value, clip_value].
template <class T>
inline void clip_grad_value_(const std::vector<Tensor<T>>& params, double clip_value) {
    SEAM_CHECK(clip_value >= 0.0, "clip_grad_value_: clip_value ", clip_value, " is negative");
    NoGradGuard no_grad;
    const T hi_bound = static_cast<T>(clip_value), lo_bound = -hi_bound;
    for (const auto& p : params) {
        Tensor<T> g = p.grad();
        if (!g.defined()) continue;
        SEAM_CHECK(g.is_contiguous(), "clip_grad_value_: a gradient of shape ", shape_str(g.shape()), " is not contiguous");
#if SEAM_WITH_CUDA
        if (g.device().is_cuda()) {
            g.copy_(seam::clamp(g.detach(), lo_bound, hi_bound));
            continue;
        }
#endif
        T* d = g.data();
        parallel_for(0, g.numel(), kParallelGrain, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) d[i] = std::clamp(d[i], lo_bound, hi_bound);
        });
    }
}

}  // namespace seam::optim
