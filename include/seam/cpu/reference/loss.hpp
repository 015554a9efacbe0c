// seam/cpu/reference/loss.hpp — the oracle for the losses and distances of ops/loss.hpp.
//
// Written straight from the textbook / PyTorch documentation formulas, in long double, one
// position at a time: cross-entropy through an explicit log-softmax, BCE through log σ(x) and
// log(1 - σ(x)) (valid for moderate logits only: the stability of the fast path is tested
// separately on ±1000), distances as explicit sums over the last dimension of [N, D] inputs.
#pragma once

#include <cmath>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cpu/reference/elementwise.hpp"
#include "seam/ops/loss.hpp"

namespace seam::reference {

namespace detail {
/// x as a row-major vector of long double, whatever its strides.
template <class T>
inline std::vector<long double> values(const Tensor<T>& x) {
    std::vector<long double> v(static_cast<size_t>(x.numel()));
    for (int64_t i = 0; i < x.numel(); ++i) v[i] = x.data()[offset_of(i, x.shape(), x.strides())];
    return v;
}
template <class T>
inline Tensor<T> finish(const std::vector<long double>& per_element, long double denominator, const Shape& shape,
                        Reduction reduction) {
    if (reduction == Reduction::none) {
        Tensor<T> out = empty<T>(shape);
        for (size_t i = 0; i < per_element.size(); ++i) out.data()[i] = static_cast<T>(per_element[i]);
        return out;
    }
    long double total = 0;
    for (long double v : per_element) total += v;
    return scalar<T>(static_cast<T>(reduction == Reduction::sum ? total : total / denominator));
}
}  // namespace detail

/// PyTorch's cross_entropy / nll_loss with class-index targets. `log_probs_given` = true treats
/// the input as log-probabilities (nll_loss), otherwise a log-softmax over dim 1 is taken first.
template <class T>
inline Tensor<T> class_loss(const Tensor<T>& input, const Tensor<int64_t>& target, const Tensor<T>& weight,
                            int64_t ignore_index, Reduction reduction, T label_smoothing, bool log_probs_given) {
    const bool batched = input.dim() >= 2;
    const int64_t N = batched ? input.shape()[0] : 1, C = batched ? input.shape()[1] : input.shape()[0];
    const int64_t S = batched ? input.numel() / (N * C) : 1;
    const std::vector<long double> x = detail::values(input);
    const std::vector<long double> w = weight.defined() ? detail::values(weight) : std::vector<long double>(C, 1.0L);
    const std::vector<int64_t> t = target.to_vector();
    std::vector<long double> per(static_cast<size_t>(N * S), 0.0L);
    long double denominator = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) {
            const int64_t y = t[n * S + s];
            if (y == ignore_index) continue;
            std::vector<long double> logp(static_cast<size_t>(C));
            long double m = -INFINITY, z = 0;
            for (int64_t c = 0; c < C; ++c) m = std::max(m, x[(n * C + c) * S + s]);
            for (int64_t c = 0; c < C; ++c) z += std::exp(x[(n * C + c) * S + s] - m);
            for (int64_t c = 0; c < C; ++c)
                logp[c] = log_probs_given ? x[(n * C + c) * S + s] : x[(n * C + c) * S + s] - m - std::log(z);
            long double smooth = 0;
            for (int64_t c = 0; c < C; ++c) smooth += -w[c] * logp[c];
            per[n * S + s] = (1.0L - label_smoothing) * -w[y] * logp[y] + label_smoothing / C * smooth;
            denominator += w[y];
        }
    return detail::finish<T>(per, denominator, target.shape(), reduction);
}

/// -w [pw z log σ(x) + (1 - z) log(1 - σ(x))], the textbook form (moderate logits only).
template <class T>
inline Tensor<T> bce_with_logits(const Tensor<T>& logits, const Tensor<T>& targets, const Tensor<T>& pos_weight,
                                 const Tensor<T>& weight, Reduction reduction) {
    const Shape& shape = logits.shape();
    const std::vector<long double> x = detail::values(logits), z = detail::values(targets);
    const int64_t last = shape.empty() ? 1 : shape.back();
    std::vector<long double> per(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        const long double sig = 1.0L / (1.0L + std::exp(-x[i]));
        const long double pw = pos_weight.defined() ? static_cast<long double>(pos_weight.to_vector()[pos_weight.numel() == 1 ? 0 : i % last]) : 1.0L;
        const long double wt = weight.defined() ? static_cast<long double>(
                                                      weight.expand(shape).contiguous().to_vector()[i]) : 1.0L;
        per[i] = -wt * (pw * z[i] * std::log(sig) + (1.0L - z[i]) * std::log(1.0L - sig));
    }
    return detail::finish<T>(per, static_cast<long double>(x.size()), shape, reduction);
}

template <class T>
inline Tensor<T> mse(const Tensor<T>& a, const Tensor<T>& b, Reduction reduction) {
    const auto x = detail::values(a), y = detail::values(b);
    std::vector<long double> per(x.size());
    for (size_t i = 0; i < x.size(); ++i) per[i] = (x[i] - y[i]) * (x[i] - y[i]);
    return detail::finish<T>(per, static_cast<long double>(x.size()), a.shape(), reduction);
}

template <class T>
inline Tensor<T> smooth_l1(const Tensor<T>& a, const Tensor<T>& b, T beta, Reduction reduction) {
    const auto x = detail::values(a), y = detail::values(b);
    std::vector<long double> per(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        const long double d = std::abs(x[i] - y[i]);
        per[i] = d < beta ? 0.5L * d * d / beta : d - 0.5L * beta;
    }
    return detail::finish<T>(per, static_cast<long double>(x.size()), a.shape(), reduction);
}

/// Rows of an [N, D] (or [D]) tensor as long double vectors.
template <class T>
inline std::vector<std::vector<long double>> rows(const Tensor<T>& x) {
    const auto v = detail::values(x);
    const int64_t D = x.shape().back(), N = x.numel() / D;
    std::vector<std::vector<long double>> out(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) out[n].assign(v.begin() + n * D, v.begin() + (n + 1) * D);
    return out;
}

inline long double pnorm_distance(const std::vector<long double>& a, const std::vector<long double>& b, long double p,
                                  long double eps) {
    long double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += std::pow(std::abs(a[i] - b[i] + eps), p);
    return std::pow(s, 1.0L / p);
}

inline long double cosine(const std::vector<long double>& a, const std::vector<long double>& b, long double eps) {
    long double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) dot += a[i] * b[i], na += a[i] * a[i], nb += b[i] * b[i];
    return dot / (std::max(std::sqrt(na), eps) * std::max(std::sqrt(nb), eps));
}

/// Per row of [N, D] inputs (shape [N]).
template <class T>
inline Tensor<T> pairwise_distance(const Tensor<T>& a, const Tensor<T>& b, T p, T eps) {
    const auto ra = rows(a), rb = rows(b);
    std::vector<long double> d(ra.size());
    for (size_t n = 0; n < ra.size(); ++n) d[n] = pnorm_distance(ra[n], rb[n], p, eps);
    return detail::finish<T>(d, 1, {static_cast<int64_t>(d.size())}, Reduction::none);
}

template <class T>
inline Tensor<T> cosine_similarity(const Tensor<T>& a, const Tensor<T>& b, T eps) {
    const auto ra = rows(a), rb = rows(b);
    std::vector<long double> c(ra.size());
    for (size_t n = 0; n < ra.size(); ++n) c[n] = cosine(ra[n], rb[n], eps);
    return detail::finish<T>(c, 1, {static_cast<int64_t>(c.size())}, Reduction::none);
}

template <class T>
inline Tensor<T> triplet(const Tensor<T>& anchor, const Tensor<T>& positive, const Tensor<T>& negative,
                         const TripletOptions<T>& opt) {
    const auto ra = rows(anchor), rp = rows(positive), rn = rows(negative);
    std::vector<long double> per(ra.size());
    auto dist = [&](const std::vector<long double>& u, const std::vector<long double>& v) {
        return opt.distance == Distance::cosine ? 1.0L - cosine(u, v, 1e-8L) : pnorm_distance(u, v, opt.p, opt.eps);
    };
    for (size_t n = 0; n < ra.size(); ++n) {
        long double neg = dist(ra[n], rn[n]);
        if (opt.swap) neg = std::min(neg, dist(rp[n], rn[n]));
        per[n] = std::max(0.0L, dist(ra[n], rp[n]) - neg + opt.margin);
    }
    return detail::finish<T>(per, static_cast<long double>(per.size()), {static_cast<int64_t>(per.size())}, opt.reduction);
}

}  // namespace seam::reference
