// seam/ops/loss.hpp — loss functions (cross-entropy, NLL, BCE with logits, MSE, smooth L1,
// triplet margin) and the distance helpers they use (normalize, cosine_similarity,
// pairwise_distance). Every loss takes a Reduction, defaulting to mean like PyTorch.
//
// Semantics follow PyTorch exactly, because the surveyed models were trained with it:
//   * cross_entropy / nll_loss: input [N, C] or [N, C, d1, ...] (or unbatched [C]), target of
//     class indices [N] or [N, d1, ...]. A target equal to ignore_index contributes nothing. With
//     class weights w the mean divides by Σ w[target] over the non-ignored targets (not by their
//     count); if every target is ignored the mean is 0/0 = NaN, as in PyTorch. Label smoothing ε
//     mixes in the uniform distribution: loss = (1-ε)·w[y]·(-log p_y) + (ε/C)·Σ_c w[c]·(-log p_c).
//     A target outside [0, C) that is not ignore_index is an error naming its position and value.
//     cross_entropy is one fused op: the forward keeps only log Σ exp per position, the backward
//     writes softmax - onehot (with the weights and smoothing folded in) in one pass.
//   * binary_cross_entropy_with_logits: the stable form
//         (1-z)·x + (1+(pw-1)·z)·(log(1+exp(-|x|)) + max(-x, 0)),
//     times an optional weight; pos_weight pw broadcasts against the logits from the last
//     dimension (shape [C] for [N, C] logits): FashionNet's weighted attribute loss.
//   * triplet_margin_loss: max(d(a,p) - d(a,n) + margin, 0) with d the p-norm distance of
//     pairwise_distance (eps added to the difference, as PyTorch) or 1 - cosine_similarity.
// Class weights, pos_weight and weight are constants: no gradient flows into them.
// On CUDA tensors (builds with SEAM_WITH_CUDA) cross_entropy and nll_loss run as kernels
// (kernels/seam/softmax.cuh) with the same semantics (class weights, ignore_index, every
// reduction, the same bad-target error); binary_cross_entropy_with_logits, mse_loss
// and smooth_l1_loss compose the same formulas and closed-form gradients from the device
// elementwise ops (one graph node each, as on the CPU); normalize, cosine_similarity,
// pairwise_distance and triplet_margin_loss are built from ops that all have a CUDA path.
#pragma once

#include <cmath>
#include <initializer_list>
#include <limits>
#include <memory>
#include <vector>

#include "seam/ops/elementwise.hpp"
#include "seam/ops/reduce.hpp"
#include "seam/ops/softmax.hpp"

namespace seam {

// How a loss folds its per-element values: keep them (none), average (mean) or add (sum).
enum class Reduction { none, mean, sum };

/// Apply a Reduction to a tensor of per-element losses.
template <class T>
inline Tensor<T> apply_reduction(const Tensor<T>& losses, Reduction reduction) {
    switch (reduction) {
        case Reduction::none: return losses;
        case Reduction::sum: return sum(losses);
        case Reduction::mean: break;
    }
    return mean(losses);
}

template <class T>
struct CrossEntropyOptions {
    Tensor<T> weight{};           // [C] per-class weights (optional)
    int64_t ignore_index = -100;  // targets equal to this contribute nothing
    Reduction reduction = Reduction::mean;
    T label_smoothing = T(0);     // in [0, 1]
};

template <class T>
struct NllLossOptions {
    Tensor<T> weight{};  // [C] per-class weights (optional)
    int64_t ignore_index = -100;
    Reduction reduction = Reduction::mean;
};

template <class T>
struct BceWithLogitsOptions {
    Tensor<T> pos_weight{};  // weight of the positive term, broadcast from the last dim ([C] for [N, C])
    Tensor<T> weight{};      // rescales each element's loss, broadcast to the logits' shape
    Reduction reduction = Reduction::mean;
};

/// The distance of triplet_margin_loss: the p-norm of the difference (p = 2 by default) or
/// 1 - cosine similarity.
enum class Distance { l2, cosine };

template <class T>
struct TripletOptions {
    T margin = T(1);
    Distance distance = Distance::l2;
    T p = T(2);        // norm order of the l2 (p-norm) distance
    T eps = T(1e-6);   // added to the difference by the p-norm distance (the cosine one uses 1e-8)
    bool swap = false; // use min(d(a,n), d(p,n)) as the negative distance (Balntas et al.)
    Reduction reduction = Reduction::mean;
};

namespace detail {

/// Where the classes are: input seen as [N, C, S] with S the product of the trailing dims.
struct ClassLayout {
    int64_t batch = 1, classes = 1, spatial = 1;
};

template <class T>
inline ClassLayout class_layout(const Tensor<T>& input, const Tensor<int64_t>& target, const Tensor<T>& weight,
                                const char* op, bool cuda_allowed = false) {
    if (!cuda_allowed)  // the CUDA path checks its devices itself
        SEAM_CHECK(input.device().is_cpu() && target.device().is_cpu(), op, ": tensors on ", input.device().str(), " and ",
                   target.device().str(), " need the CUDA backend");
    SEAM_CHECK(input.dim() >= 1, op, ": the input needs a class dimension ([C], [N, C] or [N, C, d1, ...]), got a scalar");
    ClassLayout l;
    Shape expected;
    if (input.dim() == 1) {
        l.classes = input.size(0);
    } else {
        l.batch = input.size(0);
        l.classes = input.size(1);
        expected.push_back(l.batch);
        for (int64_t d = 2; d < input.dim(); ++d) {
            l.spatial *= input.size(d);
            expected.push_back(input.size(d));
        }
    }
    SEAM_CHECK(target.shape() == expected, op, ": input of shape ", shape_str(input.shape()), " needs a target of shape ",
               shape_str(expected), ", got ", shape_str(target.shape()));
    SEAM_CHECK(l.classes > 0, op, ": the input ", shape_str(input.shape()), " has no classes");
    if (weight.defined())
        SEAM_CHECK(weight.dim() == 1 && weight.size(0) == l.classes, op, ": weight must have shape [", l.classes,
                   "] (one per class), got ", shape_str(weight.shape()));
    return l;
}

/// Every target must be a class index or ignore_index; the error names the first bad one.
inline void check_class_targets(const Tensor<int64_t>& target, int64_t classes, int64_t ignore_index, const char* op) {
    const int64_t* t = target.data();  // contiguous
    for (int64_t i = 0; i < target.numel(); ++i) {
        const int64_t v = t[i];
        if (v == ignore_index || (v >= 0 && v < classes)) continue;
        Shape position(target.shape().size());
        int64_t rest = i;
        for (size_t d = position.size(); d-- > 0;) {
            position[d] = rest % target.shape()[d];
            rest /= target.shape()[d];
        }
        fail(op, ": target ", v, " at position ", shape_str(position), " is out of range: expected a class index in [0, ",
             classes, ") or ignore_index (", ignore_index, ")");
    }
}

/// The fused NLL / cross-entropy forward shared by both ops: per-position losses, the sum of the
/// weights of the non-ignored targets, and the output for the chosen reduction.
template <class T, class Acc>
inline Tensor<T> reduce_class_losses(const std::vector<Acc>& losses, Acc weight_total, const Shape& target_shape,
                                     Reduction reduction) {
    if (reduction == Reduction::none) return tensor_from_sums<T>(losses, target_shape, Acc(1));
    Acc total = 0;
    for (Acc v : losses) total += v;  // sequential: a fixed order
    return scalar<T>(static_cast<T>(reduction == Reduction::mean ? total / weight_total : total));
}

/// The factor the gradient of position i gets from the reduction (g is the incoming gradient).
template <class T, class Acc>
inline std::vector<T> class_loss_scales(const Tensor<T>& g, int64_t positions, Acc weight_total, Reduction reduction) {
    if (reduction == Reduction::none) return g.contiguous().to_vector();
    const T s = reduction == Reduction::mean ? static_cast<T>(static_cast<Acc>(g.item()) / weight_total) : g.item();
    return std::vector<T>(static_cast<size_t>(positions), s);
}

/// out = f({in[0][i], in[1][i], ...}) with every operand broadcast to `shape`; out is contiguous.
template <size_t K, class T, class F>
inline Tensor<T> map_broadcast(const Shape& shape, const std::array<Tensor<T>, K>& in, F f) {
    Tensor<T> out = empty<T>(shape);
    std::array<Shape, K + 1> strides;
    std::array<const T*, K> ptr;
    strides[0] = out.strides();
    for (size_t k = 0; k < K; ++k) {
        strides[k + 1] = broadcast_strides(in[k].shape(), in[k].strides(), shape);
        ptr[k] = in[k].data();
    }
    T* o = out.data();
    for_each_row<K + 1>(shape, strides, [&](const std::array<int64_t, K + 1>& off, int64_t n,
                                            const std::array<int64_t, K + 1>& s) {
        for (int64_t i = 0; i < n; ++i) {
            std::array<T, K> v;
            for (size_t k = 0; k < K; ++k) v[k] = ptr[k][off[k + 1] + i * s[k + 1]];
            o[off[0] + i * s[0]] = f(v);
        }
    });
    return out;
}

/// True when `from` broadcasts to `to` without changing `to`.
inline bool broadcasts_to(const Shape& from, const Shape& to) {
    if (from.size() > to.size()) return false;
    const size_t lead = to.size() - from.size();
    for (size_t i = 0; i < from.size(); ++i)
        if (from[i] != 1 && from[i] != to[lead + i]) return false;
    return true;
}

template <class T>
inline void check_same_shape(const Tensor<T>& a, const Tensor<T>& b, const char* op, const char* what_a, const char* what_b) {
    SEAM_CHECK(a.shape() == b.shape(), op, ": ", what_a, " of shape ", shape_str(a.shape()), " and ", what_b, " of shape ",
               shape_str(b.shape()), " must have the same shape");
}

/// log(1 + exp(v)) without overflow.
template <class T>
inline T softplus_stable(T v) {
    return std::max(v, T(0)) + std::log1p(std::exp(-std::abs(v)));
}

#if SEAM_WITH_CUDA
/// cross_entropy on CUDA tensors (kernels/seam/softmax.cuh): one fused forward kernel, the
/// reduction on the device, and a backward that reads the saved lse and weight sums on the device.
/// A bad target costs a copy of the targets to the host, only to name it in the error.
template <class T>
inline Tensor<T> cuda_cross_entropy(const Tensor<T>& logits, const Tensor<int64_t>& target,
                                    const CrossEntropyOptions<T>& opt) {
    const char* op = "cross_entropy";
    const Device device = logits.device();
    SEAM_CHECK(target.device() == device && (!opt.weight.defined() || opt.weight.device() == device), op,
               ": tensors on different devices (logits on ", device.str(), ", target on ", target.device().str(),
               opt.weight.defined() ? ", weight on " + opt.weight.device().str() : std::string(),
               "); move them to one device with .to(...)");
    const ClassLayout l = class_layout(logits, target, opt.weight, op, /*cuda_allowed=*/true);
    SEAM_CHECK(opt.label_smoothing >= T(0) && opt.label_smoothing <= T(1), op, ": label_smoothing must be in [0, 1], got ",
               opt.label_smoothing);
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> xc = cuda_dense(logits.detach());
    const Tensor<int64_t> tc = cuda_dense(target.detach());
    const Tensor<T> wc = opt.weight.defined() ? cuda_dense(opt.weight.detach()) : Tensor<T>();
    cuda::CrossEntropyShape s;
    s.batch = l.batch, s.classes = l.classes, s.spatial = l.spatial;
    s.ignore_index = opt.ignore_index;
    s.label_smoothing = static_cast<double>(opt.label_smoothing);
    s.reduction = opt.reduction == Reduction::none ? 0 : (opt.reduction == Reduction::mean ? 1 : 2);
    Tensor<T> out = empty<T>(opt.reduction == Reduction::none ? target.shape() : Shape{}, device);
    const Tensor<double> lse = empty<double>({l.batch * l.spatial}, device), stats = empty<double>({3}, device);
    const T* w = wc.defined() ? wc.data() : nullptr;
    const int64_t bad = cuda::cross_entropy_forward<T>(xc.data(), tc.data(), w, s, out.data(), lse.data(), stats.data());
    if (bad >= 0) {  // let the CPU check name the first bad target (position and value)
        check_class_targets(tc.to(Device::cpu()), l.classes, opt.ignore_index, op);
        fail(op, ": target at linear position ", bad, " is out of range [0, ", l.classes, ")");  // not reached
    }
    if (needs_graph<T>({&logits})) {
        record<T>(op, out, {&logits}, [xc, tc, wc, lse, stats, s, device](const Tensor<T>& g) {
            SEAM_CHECK(g.device() == device, "cross_entropy backward: gradient on ", g.device().str(), ", logits on ",
                       device.str());
            cuda::DeviceGuard guard(device.index);
            const Tensor<T> gc = cuda_dense(g.detach());
            Tensor<T> dx = empty<T>(xc.shape(), device);
            cuda::cross_entropy_backward<T>(xc.data(), tc.data(), wc.defined() ? wc.data() : nullptr, lse.data(),
                                            stats.data(), gc.data(), s, dx.data());
            return std::vector<Tensor<T>>{dx};
        });
    }
    return out;
}

/// nll_loss on CUDA tensors (kernels/seam/softmax.cuh): one forward kernel and the reduction on
/// the device, a backward that reads the saved weight sum on the device. A bad target costs a
/// copy of the targets to the host, only to name it in the error (as cuda_cross_entropy).
template <class T>
inline Tensor<T> cuda_nll_loss(const Tensor<T>& log_probs, const Tensor<int64_t>& target, const NllLossOptions<T>& opt) {
    const char* op = "nll_loss";
    const Device device = log_probs.device();
    SEAM_CHECK(target.device() == device && (!opt.weight.defined() || opt.weight.device() == device), op,
               ": tensors on different devices (input on ", device.str(), ", target on ", target.device().str(),
               opt.weight.defined() ? ", weight on " + opt.weight.device().str() : std::string(),
               "); move them to one device with .to(...)");
    const ClassLayout l = class_layout(log_probs, target, opt.weight, op, /*cuda_allowed=*/true);
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> xc = cuda_dense(log_probs.detach());
    const Tensor<int64_t> tc = cuda_dense(target.detach());
    const Tensor<T> wc = opt.weight.defined() ? cuda_dense(opt.weight.detach()) : Tensor<T>();
    cuda::CrossEntropyShape s;
    s.batch = l.batch, s.classes = l.classes, s.spatial = l.spatial;
    s.ignore_index = opt.ignore_index;
    s.reduction = opt.reduction == Reduction::none ? 0 : (opt.reduction == Reduction::mean ? 1 : 2);
    Tensor<T> out = empty<T>(opt.reduction == Reduction::none ? target.shape() : Shape{}, device);
    const Tensor<double> stats = empty<double>({3}, device);
    const T* w = wc.defined() ? wc.data() : nullptr;
    const int64_t bad = cuda::nll_loss_forward<T>(xc.data(), tc.data(), w, s, out.data(), stats.data());
    if (bad >= 0) {  // let the CPU check name the first bad target (position and value)
        check_class_targets(tc.to(Device::cpu()), l.classes, opt.ignore_index, op);
        fail(op, ": target at linear position ", bad, " is out of range [0, ", l.classes, ")");  // not reached
    }
    if (needs_graph<T>({&log_probs})) {
        const Shape in_shape = log_probs.shape();
        record<T>(op, out, {&log_probs}, [tc, wc, stats, s, in_shape, device](const Tensor<T>& g) {
            SEAM_CHECK(g.device() == device, "nll_loss backward: gradient on ", g.device().str(), ", input on ",
                       device.str());
            cuda::DeviceGuard guard(device.index);
            const Tensor<T> gc = cuda_dense(g.detach());
            Tensor<T> dx = empty<T>(in_shape, device);
            cuda::nll_loss_backward<T>(tc.data(), wc.defined() ? wc.data() : nullptr, stats.data(), gc.data(), s,
                                       dx.data());
            return std::vector<Tensor<T>>{dx};
        });
    }
    return out;
}

/// All defined tensors of `tensors` on `device`, or an error naming the op.
template <class T>
inline void check_loss_devices(const char* op, Device device, std::initializer_list<const Tensor<T>*> tensors) {
    for (const Tensor<T>* t : tensors)
        SEAM_CHECK(!t->defined() || t->device() == device, op, ": tensors on different devices (", device.str(),
                   " and ", t->device().str(), "); move them to one device with .to(...)");
}

/// binary_cross_entropy_with_logits on GPU tensors: the CPU op's stable per-element formula
/// (softplus(-x) = log(1 + exp(-|x|)) + max(-x, 0)) from the device elementwise ops, without a
/// graph, and its closed-form gradients recorded as one node. pos_weight and weight may be
/// undefined (1).
template <class T>
inline Tensor<T> cuda_bce_with_logits(const Tensor<T>& logits, const Tensor<T>& targets, const Tensor<T>& pos_weight,
                                      const Tensor<T>& weight) {
    const Tensor<T> xs = logits.detach(), zs = targets.detach();
    const Tensor<T> pw = pos_weight.defined() ? pos_weight.detach() : Tensor<T>();
    const Tensor<T> wt = weight.defined() ? weight.detach() : Tensor<T>();
    cuda::DeviceGuard guard(xs.device().index);
    Tensor<T> per_element;
    {
        NoGradGuard no_grad;
        const Tensor<T> softplus_neg = log(exp(neg(abs(xs))) + T(1)) + relu(neg(xs));
        const Tensor<T> negative_part = (T(1) - zs) * xs;
        per_element = pw.defined() ? negative_part + ((pw - T(1)) * zs + T(1)) * softplus_neg : negative_part + softplus_neg;
        if (wt.defined()) per_element = per_element * wt;
    }
    if (needs_graph<T>({&logits, &targets})) {
        const bool gx = logits.requires_grad(), gz = targets.requires_grad();
        record<T>("binary_cross_entropy_with_logits", per_element, {&logits, &targets},
                  [xs, zs, pw, wt, gx, gz](const Tensor<T>& g) {
            cuda::DeviceGuard guard(xs.device().index);
            const Tensor<T> gw = wt.defined() ? g * wt : g;
            Tensor<T> dx, dz;
            if (gx)  // d/dx = w (L σ(x) - pw z), L = 1 + (pw-1) z
                dx = pw.defined() ? gw * (((pw - T(1)) * zs + T(1)) * sigmoid(xs) - pw * zs) : gw * (sigmoid(xs) - zs);
            if (gz) {  // d/dz = w (-x + (pw-1) softplus(-x))
                if (pw.defined()) {
                    const Tensor<T> softplus_neg = log(exp(neg(abs(xs))) + T(1)) + relu(neg(xs));
                    dz = gw * ((pw - T(1)) * softplus_neg - xs);
                } else {
                    dz = neg(gw * xs);
                }
            }
            // pw and wt broadcast: the results may be larger than the inputs only if g was; bring them back.
            if (dx.defined() && dx.shape() != xs.shape()) dx = sum_to(dx, xs.shape());
            if (dz.defined() && dz.shape() != zs.shape()) dz = sum_to(dz, zs.shape());
            return std::vector<Tensor<T>>{dx, dz};
        });
    }
    return per_element;
}

/// (a - b)² on GPU tensors, gradient 2 g (a - b) and its negative.
template <class T>
inline Tensor<T> cuda_mse(const Tensor<T>& a, const Tensor<T>& b) {
    const Tensor<T> as = a.detach(), bs = b.detach();
    cuda::DeviceGuard guard(as.device().index);
    Tensor<T> per_element;
    {
        NoGradGuard no_grad;
        per_element = square(as - bs);
    }
    if (needs_graph<T>({&a, &b})) {
        record<T>("mse_loss", per_element, {&a, &b}, [as, bs](const Tensor<T>& g) {
            cuda::DeviceGuard guard(as.device().index);
            const Tensor<T> da = g * (as - bs) * T(2);
            return std::vector<Tensor<T>>{da, neg(da)};
        });
    }
    return per_element;
}

/// smooth_l1 on GPU tensors without a branch per element: with d = |a - b| and m = min(d, beta),
/// 0.5 m² / beta + (d - m) is 0.5 d² / beta below beta and d - 0.5 beta above it (beta = 0: d).
/// The gradient's slope is clamp((a - b) / beta, -1, 1), the CPU rule (sign(a - b) for beta = 0).
template <class T>
inline Tensor<T> cuda_smooth_l1(const Tensor<T>& a, const Tensor<T>& b, T beta) {
    const Tensor<T> as = a.detach(), bs = b.detach();
    cuda::DeviceGuard guard(as.device().index);
    Tensor<T> per_element;
    {
        NoGradGuard no_grad;
        const Tensor<T> d = abs(as - bs);
        if (beta > T(0)) {
            const Tensor<T> m = clamp(d, T(0), beta);
            per_element = square(m) * (T(0.5) / beta) + (d - m);
        } else {
            per_element = d;
        }
    }
    if (needs_graph<T>({&a, &b})) {
        record<T>("smooth_l1_loss", per_element, {&a, &b}, [as, bs, beta](const Tensor<T>& g) {
            cuda::DeviceGuard guard(as.device().index);
            const Tensor<T> diff = as - bs;
            const T tiny = std::numeric_limits<T>::min(), inf = std::numeric_limits<T>::infinity();
            const Tensor<T> slope =
                beta > T(0) ? clamp(diff * (T(1) / beta), T(-1), T(1)) : diff / clamp(abs(diff), tiny, inf);
            const Tensor<T> da = g * slope;
            return std::vector<Tensor<T>>{da, neg(da)};
        });
    }
    return per_element;
}
#endif  // SEAM_WITH_CUDA

}  // namespace detail

// ----- classification ------------------------------------------------------------------------

/// Softmax cross-entropy of logits [N, C, ...] against class indices [N, ...]; see the header
/// comment for the exact semantics. Gradients flow into the logits only.
template <class T>
inline Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<int64_t>& target, const CrossEntropyOptions<T>& opt = {}) {
    static_assert(std::is_floating_point_v<T>, "cross_entropy needs float or double logits");
#if SEAM_WITH_CUDA
    if (logits.device().is_cuda() || target.device().is_cuda() || (opt.weight.defined() && opt.weight.device().is_cuda()))
        return detail::cuda_cross_entropy(logits, target, opt);
#endif
    using Acc = detail::reduction_acc_t<T>;
    const char* op = "cross_entropy";
    const detail::ClassLayout l = detail::class_layout(logits, target, opt.weight, op);
    SEAM_CHECK(opt.label_smoothing >= T(0) && opt.label_smoothing <= T(1), op, ": label_smoothing must be in [0, 1], got ",
               opt.label_smoothing);
    const Tensor<int64_t> tc = target.contiguous();
    detail::check_class_targets(tc, l.classes, opt.ignore_index, op);
    const Tensor<T> xc = logits.detach().contiguous();
    const Tensor<T> wc = opt.weight.defined() ? opt.weight.detach().contiguous() : Tensor<T>();
    const int64_t positions = l.batch * l.spatial, C = l.classes, S = l.spatial;
    const Acc eps = static_cast<Acc>(opt.label_smoothing);

    // log Σ_c exp(x_c) per position, the only thing the backward needs besides x.
    const detail::DimSplit split{l.batch, C, S};
    std::vector<T> maxima(static_cast<size_t>(positions));
    std::vector<Acc> sums(static_cast<size_t>(positions));
    if (positions > 0) detail::softmax_statistics(xc.data(), split, maxima.data(), sums.data());
    auto lse = std::make_shared<std::vector<Acc>>(static_cast<size_t>(positions));
    for (int64_t i = 0; i < positions; ++i) (*lse)[i] = static_cast<Acc>(maxima[i]) + std::log(sums[i]);

    const T* x = xc.data();
    const T* w = wc.defined() ? wc.data() : nullptr;
    const int64_t* t = tc.data();
    const int64_t ignore = opt.ignore_index;
    std::vector<Acc> losses(static_cast<size_t>(positions));
    parallel_for(0, positions, std::max<int64_t>(1, kParallelGrain / C), [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
            const int64_t y = t[i];
            if (y == ignore) {
                losses[i] = 0;
                continue;
            }
            const T* col = x + (i / S) * C * S + i % S;  // element c of this position is col[c * S]
            const Acc z = (*lse)[i];
            Acc loss = (Acc(1) - eps) * (w ? Acc(w[y]) : Acc(1)) * (z - Acc(col[y * S]));
            if (eps > 0) {
                Acc smooth = 0;
                for (int64_t c = 0; c < C; ++c) smooth += (w ? Acc(w[c]) : Acc(1)) * (z - Acc(col[c * S]));
                loss += eps / Acc(C) * smooth;
            }
            losses[i] = loss;
        }
    });
    Acc weight_total = 0;  // the mean's denominator: Σ w[y] over non-ignored targets
    for (int64_t i = 0; i < positions; ++i)
        if (t[i] != ignore) weight_total += w ? Acc(w[t[i]]) : Acc(1);

    Tensor<T> out = detail::reduce_class_losses<T>(losses, weight_total, target.shape(), opt.reduction);
    if (needs_graph<T>({&logits})) {
        const Reduction reduction = opt.reduction;
        record<T>(op, out, {&logits}, [xc, tc, wc, lse, l, eps, ignore, weight_total, reduction](const Tensor<T>& g) {
            const int64_t P = l.batch * l.spatial, C = l.classes, S = l.spatial;
            const std::vector<T> scale = detail::class_loss_scales(g, P, weight_total, reduction);
            const T* x = xc.data();
            const T* w = wc.defined() ? wc.data() : nullptr;
            const int64_t* t = tc.data();
            Acc W = 0;  // Σ_c w[c]
            for (int64_t c = 0; c < C; ++c) W += w ? Acc(w[c]) : Acc(1);
            Tensor<T> dx = empty<T>(xc.shape());
            T* d = dx.data();
            parallel_for(0, P, std::max<int64_t>(1, kParallelGrain / C), [&](int64_t lo, int64_t hi) {
                for (int64_t i = lo; i < hi; ++i) {
                    const int64_t y = t[i], first = (i / S) * C * S + i % S;
                    if (y == ignore) {
                        for (int64_t c = 0; c < C; ++c) d[first + c * S] = T(0);
                        continue;
                    }
                    // d loss / d x_c = (1-ε) w_y (p_c - [c = y]) + (ε/C) (W p_c - w_c)
                    const Acc z = (*lse)[i], wy = w ? Acc(w[y]) : Acc(1), s = Acc(scale[i]);
                    for (int64_t c = 0; c < C; ++c) {
                        const Acc prob = std::exp(static_cast<T>(Acc(x[first + c * S]) - z));  // exp in T: float speed
                        Acc grad = (Acc(1) - eps) * wy * (prob - (c == y ? Acc(1) : Acc(0)));
                        if (eps > 0) grad += eps / Acc(C) * (W * prob - (w ? Acc(w[c]) : Acc(1)));
                        d[first + c * S] = static_cast<T>(s * grad);
                    }
                }
            });
            return std::vector<Tensor<T>>{dx};
        });
    }
    return out;
}

/// Negative log-likelihood of log-probabilities [N, C, ...] (e.g. log_softmax output) against
/// class indices; the same weights / ignore_index / reduction semantics as cross_entropy.
template <class T>
inline Tensor<T> nll_loss(const Tensor<T>& log_probs, const Tensor<int64_t>& target, const NllLossOptions<T>& opt = {}) {
    static_assert(std::is_floating_point_v<T>, "nll_loss needs float or double inputs");
#if SEAM_WITH_CUDA
    if (log_probs.device().is_cuda() || target.device().is_cuda() ||
        (opt.weight.defined() && opt.weight.device().is_cuda()))
        return detail::cuda_nll_loss(log_probs, target, opt);
#endif
    using Acc = detail::reduction_acc_t<T>;
    const char* op = "nll_loss";
    const detail::ClassLayout l = detail::class_layout(log_probs, target, opt.weight, op);
    const Tensor<int64_t> tc = target.contiguous();
    detail::check_class_targets(tc, l.classes, opt.ignore_index, op);
    const Tensor<T> xc = log_probs.detach().contiguous();
    const Tensor<T> wc = opt.weight.defined() ? opt.weight.detach().contiguous() : Tensor<T>();
    const int64_t positions = l.batch * l.spatial, C = l.classes, S = l.spatial, ignore = opt.ignore_index;
    const T* x = xc.data();
    const T* w = wc.defined() ? wc.data() : nullptr;
    const int64_t* t = tc.data();
    std::vector<Acc> losses(static_cast<size_t>(positions));
    Acc weight_total = 0;
    for (int64_t i = 0; i < positions; ++i) {
        const int64_t y = t[i];
        if (y == ignore) {
            losses[i] = 0;
            continue;
        }
        const Acc wy = w ? Acc(w[y]) : Acc(1);
        losses[i] = -wy * Acc(x[(i / S) * C * S + y * S + i % S]);
        weight_total += wy;
    }
    Tensor<T> out = detail::reduce_class_losses<T>(losses, weight_total, target.shape(), opt.reduction);
    if (needs_graph<T>({&log_probs})) {
        const Reduction reduction = opt.reduction;
        const Shape in_shape = log_probs.shape();
        record<T>(op, out, {&log_probs}, [tc, wc, l, ignore, weight_total, reduction, in_shape](const Tensor<T>& g) {
            const int64_t P = l.batch * l.spatial, C = l.classes, S = l.spatial;
            const std::vector<T> scale = detail::class_loss_scales(g, P, weight_total, reduction);
            const T* w = wc.defined() ? wc.data() : nullptr;
            const int64_t* t = tc.data();
            Tensor<T> dx = zeros<T>(in_shape);
            for (int64_t i = 0; i < P; ++i)
                if (t[i] != ignore) dx.data()[(i / S) * C * S + t[i] * S + i % S] = -(w ? w[t[i]] : T(1)) * scale[i];
            return std::vector<Tensor<T>>{dx};
        });
    }
    return out;
}

/// Binary cross-entropy on logits (sigmoid folded in, stable for any logit); targets in [0, 1]
/// of the logits' shape. Gradients flow into the logits and the targets.
template <class T>
inline Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& logits, const Tensor<T>& targets,
                                                  const BceWithLogitsOptions<T>& opt = {}) {
    static_assert(std::is_floating_point_v<T>, "binary_cross_entropy_with_logits needs float or double tensors");
    const char* op = "binary_cross_entropy_with_logits";
    detail::check_same_shape(logits, targets, op, "logits", "targets");
    const Shape& shape = logits.shape();
    for (const auto* extra : {&opt.pos_weight, &opt.weight})
        if (extra->defined())
            SEAM_CHECK(detail::broadcasts_to(extra->shape(), shape), op, ": ", extra == &opt.pos_weight ? "pos_weight" : "weight",
                       " of shape ", shape_str(extra->shape()), " cannot be broadcast to the logits' shape ", shape_str(shape));
#if SEAM_WITH_CUDA
    if (logits.device().is_cuda()) {
        detail::check_loss_devices<T>(op, logits.device(), {&targets, &opt.pos_weight, &opt.weight});
        return apply_reduction(detail::cuda_bce_with_logits(logits, targets, opt.pos_weight, opt.weight), opt.reduction);
    }
#endif
    SEAM_CHECK(logits.device().is_cpu() && targets.device().is_cpu(), op, " on ", logits.device().str(), " and ",
               targets.device().str(), ": move both to one device");
    for (const auto* extra : {&opt.pos_weight, &opt.weight})
        SEAM_CHECK(!extra->defined() || extra->device().is_cpu(), op, ": ", extra == &opt.pos_weight ? "pos_weight" : "weight",
                   " is on ", extra->defined() ? extra->device().str() : std::string(), " but the logits are on the CPU");
    const Tensor<T> pw = opt.pos_weight.defined() ? opt.pos_weight.detach() : scalar<T>(T(1));
    const Tensor<T> wt = opt.weight.defined() ? opt.weight.detach() : scalar<T>(T(1));
    Tensor<T> per_element = detail::map_broadcast<4, T>(shape, {logits, targets, pw, wt}, [](const std::array<T, 4>& v) {
        const T x = v[0], z = v[1], pos = v[2], weight = v[3];
        // log(1 + exp(-|x|)) + max(-x, 0) = softplus(-x), without overflow for any x
        const T sp = std::log1p(std::exp(-std::abs(x))) + std::max(-x, T(0));
        return weight * ((T(1) - z) * x + (T(1) + (pos - T(1)) * z) * sp);
    });
    if (needs_graph<T>({&logits, &targets})) {
        const Tensor<T> xs = logits.detach(), zs = targets.detach();
        const bool gx = logits.requires_grad(), gz = targets.requires_grad();
        record<T>(op, per_element, {&logits, &targets}, [xs, zs, pw, wt, gx, gz](const Tensor<T>& g) {
            const Shape& shape = xs.shape();
            Tensor<T> dx, dz;
            if (gx)  // d/dx = w (L σ(x) - pw z), L = 1 + (pw-1) z
                dx = detail::map_broadcast<5, T>(shape, {g, xs, zs, pw, wt}, [](const std::array<T, 5>& v) {
                    const T L = T(1) + (v[3] - T(1)) * v[2];
                    return v[0] * v[4] * (L * stable_sigmoid(v[1]) - v[3] * v[2]);
                });
            if (gz)  // d/dz = w (-x + (pw-1) softplus(-x))
                dz = detail::map_broadcast<5, T>(shape, {g, xs, zs, pw, wt}, [](const std::array<T, 5>& v) {
                    return v[0] * v[4] * (-v[1] + (v[3] - T(1)) * detail::softplus_stable(-v[1]));
                });
            return std::vector<Tensor<T>>{dx, dz};
        });
    }
    return apply_reduction(per_element, opt.reduction);
}

// ----- regression ----------------------------------------------------------------------------

/// (a - b)² elementwise, reduced. Both inputs must have the same shape.
template <class T>
inline Tensor<T> mse_loss(const Tensor<T>& a, const Tensor<T>& b, Reduction reduction = Reduction::mean) {
    static_assert(std::is_floating_point_v<T>, "mse_loss needs float or double tensors");
    detail::check_same_shape(a, b, "mse_loss", "input", "target");
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) {
        detail::check_loss_devices<T>("mse_loss", a.device(), {&b});
        return apply_reduction(detail::cuda_mse(a, b), reduction);
    }
#endif
    Tensor<T> per_element = detail::map_binary(a, b, "mse_loss", [](T x, T y) { return (x - y) * (x - y); });
    if (needs_graph<T>({&a, &b})) {
        const Tensor<T> as = a.detach(), bs = b.detach();
        record<T>("mse_loss", per_element, {&a, &b}, [as, bs](const Tensor<T>& g) {
            const Tensor<T> da = detail::map_broadcast<3, T>(as.shape(), {g, as, bs}, [](const std::array<T, 3>& v) {
                return T(2) * v[0] * (v[1] - v[2]);
            });
            return std::vector<Tensor<T>>{da, neg(da)};
        });
    }
    return apply_reduction(per_element, reduction);
}

/// Huber-like loss: 0.5 d²/beta where |d| < beta, |d| - 0.5 beta elsewhere (d = a - b); beta = 0
/// is the L1 loss.
template <class T>
inline Tensor<T> smooth_l1_loss(const Tensor<T>& a, const Tensor<T>& b, T beta = T(1), Reduction reduction = Reduction::mean) {
    static_assert(std::is_floating_point_v<T>, "smooth_l1_loss needs float or double tensors");
    detail::check_same_shape(a, b, "smooth_l1_loss", "input", "target");
    SEAM_CHECK(beta >= T(0), "smooth_l1_loss: beta must be >= 0, got ", beta);
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) {
        detail::check_loss_devices<T>("smooth_l1_loss", a.device(), {&b});
        return apply_reduction(detail::cuda_smooth_l1(a, b, beta), reduction);
    }
#endif
    Tensor<T> per_element = detail::map_binary(a, b, "smooth_l1_loss", [beta](T x, T y) {
        const T d = std::abs(x - y);
        return d < beta ? T(0.5) * d * d / beta : d - T(0.5) * beta;
    });
    if (needs_graph<T>({&a, &b})) {
        const Tensor<T> as = a.detach(), bs = b.detach();
        record<T>("smooth_l1_loss", per_element, {&a, &b}, [as, bs, beta](const Tensor<T>& g) {
            const Tensor<T> da = detail::map_broadcast<3, T>(as.shape(), {g, as, bs}, [beta](const std::array<T, 3>& v) {
                const T d = v[1] - v[2];
                const T slope = std::abs(d) < beta ? d / beta : (d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0)));
                return v[0] * slope;
            });
            return std::vector<Tensor<T>>{da, neg(da)};
        });
    }
    return apply_reduction(per_element, reduction);
}

// ----- distances and metric learning ---------------------------------------------------------

/// x / max(||x||_p, eps) along `dim`.
template <class T>
inline Tensor<T> normalize(const Tensor<T>& x, T p = T(2), int64_t dim = 1, T eps = T(1e-12)) {
    dim = wrap_dim(dim, x.dim(), "normalize");  // name this op in the error, not vector_norm
    const Tensor<T> norm = vector_norm(x, p, dim, /*keepdim=*/true);
    return x / clamp(norm, eps, std::numeric_limits<T>::infinity());
}

/// Σ_dim (a / max(||a||, eps)) · (b / max(||b||, eps)): the cosine of the angle between a and b
/// along `dim` (a and b broadcast against each other first). Each vector is normalised before
/// the product, as PyTorch does, which keeps the result in [-1, 1] up to rounding.
template <class T>
inline Tensor<T> cosine_similarity(const Tensor<T>& a, const Tensor<T>& b, int64_t dim = 1, T eps = T(1e-8)) {
    const Shape common = broadcast_shapes(a.shape(), b.shape(), "cosine_similarity");
    const int64_t d = wrap_dim(dim, static_cast<int64_t>(common.size()), "cosine_similarity");
    const Tensor<T> ae = a.shape() == common ? a : a.expand(common);
    const Tensor<T> be = b.shape() == common ? b : b.expand(common);
    return sum(normalize(ae, T(2), d, eps) * normalize(be, T(2), d, eps), {d});
}

/// ||a - b + eps||_p over the last dimension (eps keeps the gradient finite for a == b).
template <class T>
inline Tensor<T> pairwise_distance(const Tensor<T>& a, const Tensor<T>& b, T p = T(2), T eps = T(1e-6), bool keepdim = false) {
    const Shape common = broadcast_shapes(a.shape(), b.shape(), "pairwise_distance");
    SEAM_CHECK(!common.empty(), "pairwise_distance: inputs must have at least one dimension, got scalars");
    return vector_norm((a - b) + eps, p, -1, keepdim);
}

/// max(d(anchor, positive) - d(anchor, negative) + margin, 0) per triplet, reduced. Inputs are
/// [N, D] (or one triplet [D]) of one shape.
template <class T>
inline Tensor<T> triplet_margin_loss(const Tensor<T>& anchor, const Tensor<T>& positive, const Tensor<T>& negative,
                                     const TripletOptions<T>& opt = {}) {
    const char* op = "triplet_margin_loss";
    detail::check_same_shape(anchor, positive, op, "anchor", "positive");
    detail::check_same_shape(anchor, negative, op, "anchor", "negative");
    SEAM_CHECK(anchor.dim() == 1 || anchor.dim() == 2, op, ": inputs must be [N, D] or [D], got ", shape_str(anchor.shape()));
    auto distance = [&](const Tensor<T>& u, const Tensor<T>& v) {
        if (opt.distance == Distance::cosine) return T(1) - cosine_similarity(u, v, -1);
        return pairwise_distance(u, v, opt.p, opt.eps);
    };
    const Tensor<T> d_pos = distance(anchor, positive);
    Tensor<T> d_neg = distance(anchor, negative);
    if (opt.swap) d_neg = minimum(d_neg, distance(positive, negative));
    const Tensor<T> losses = clamp((d_pos - d_neg) + opt.margin, T(0), std::numeric_limits<T>::infinity());
    return apply_reduction(losses, opt.reduction);
}

}  // namespace seam
