// seam/ops/elementwise.hpp — pointwise math with broadcasting, and its backward rules.
//
// Forward: the fast path is a flat loop over contiguous inputs of equal shape (vectorised by the
// compiler, split across threads by parallel_for); anything else (broadcast, transposed, sliced)
// goes through for_each_row, which walks the innermost dimension with its stride. Both are
// checked against cpu/reference/elementwise.hpp.
//
// Backward of a binary op reduces the gradient back over broadcast dimensions with sum_to. Unary
// ops fuse their derivative into one pass over (grad, x, y) so no temporary is materialised.
#pragma once

#include <cmath>

#include "seam/core/tensor.hpp"

namespace seam {

namespace detail {

/// out[i] = f(a[i]) for any strides of a; out is contiguous.
template <class T, class F>
inline Tensor<T> map_unary(const Tensor<T>& a, F f) {
    SEAM_CHECK(a.device().is_cpu(), "elementwise op on ", a.device().str(), " needs the CUDA backend");
    Tensor<T> out = empty<T>(a.shape());
    T* o = out.data();
    const T* p = a.data();
    if (a.is_contiguous()) {
        parallel_for(0, a.numel(), kParallelGrain, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) o[i] = f(p[i]);
        });
        return out;
    }
    for_each_row<2>(a.shape(), {out.strides(), a.strides()}, [&](const std::array<int64_t, 2>& off, int64_t n,
                                                                 const std::array<int64_t, 2>& s) {
        T* op = o + off[0];
        const T* ap = p + off[1];
        for (int64_t i = 0; i < n; ++i) op[i] = f(ap[i * s[1]]);
    });
    return out;
}

/// out = f(a, b) with broadcasting.
template <class T, class F>
inline Tensor<T> map_binary(const Tensor<T>& a, const Tensor<T>& b, const char* op, F f) {
    SEAM_CHECK(a.device() == b.device(), op, ": tensors on different devices (", a.device().str(), " and ",
               b.device().str(), ")");
    SEAM_CHECK(a.device().is_cpu(), op, " on ", a.device().str(), " needs the CUDA backend");
    Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
    Tensor<T> out = empty<T>(shape);
    T* o = out.data();
    const T* pa = a.data();
    const T* pb = b.data();
    if (a.shape() == shape && b.shape() == shape && a.is_contiguous() && b.is_contiguous()) {
        parallel_for(0, out.numel(), kParallelGrain, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) o[i] = f(pa[i], pb[i]);
        });
        return out;
    }
    Shape sa = broadcast_strides(a.shape(), a.strides(), shape);
    Shape sb = broadcast_strides(b.shape(), b.strides(), shape);
    for_each_row<3>(shape, {out.strides(), sa, sb}, [&](const std::array<int64_t, 3>& off, int64_t n,
                                                        const std::array<int64_t, 3>& s) {
        T* op = o + off[0];
        const T* ap = pa + off[1];
        const T* bp = pb + off[2];
        if (s[1] == 1 && s[2] == 1) {
            for (int64_t i = 0; i < n; ++i) op[i] = f(ap[i], bp[i]);
        } else if (s[1] == 1 && s[2] == 0) {
            const T bv = *bp;
            for (int64_t i = 0; i < n; ++i) op[i] = f(ap[i], bv);
        } else {
            for (int64_t i = 0; i < n; ++i) op[i] = f(ap[i * s[1]], bp[i * s[2]]);
        }
    });
    return out;
}

/// out[i] = f(g[i], x[i], y[i]) for three tensors of one shape (the fused unary backward).
template <class T, class F>
inline Tensor<T> map_ternary(const Tensor<T>& g, const Tensor<T>& x, const Tensor<T>& y, F f) {
    Tensor<T> gc = g.contiguous(), xc = x.contiguous(), yc = y.contiguous();
    Tensor<T> out = empty<T>(x.shape());
    T* o = out.data();
    const T *pg = gc.data(), *px = xc.data(), *py = yc.data();
    parallel_for(0, out.numel(), kParallelGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) o[i] = f(pg[i], px[i], py[i]);
    });
    return out;
}

/// A differentiable unary op: forward f(x), backward grad * df(x, y) where y = f(x).
template <class T, class F, class DF>
inline Tensor<T> unary_op(const char* name, const Tensor<T>& x, F f, DF df) {
    static_assert(std::is_floating_point_v<T>, "math ops need float or double tensors");
    Tensor<T> out = map_unary(x, f);
    if (needs_graph<T>({&x})) {
        Tensor<T> xs = x.detach(), ys = out.detach();
        record<T>(name, out, {&x}, [xs, ys, df](const Tensor<T>& g) {
            return std::vector<Tensor<T>>{map_ternary(g, xs, ys, [df](T gv, T xv, T yv) { return gv * df(xv, yv); })};
        });
    }
    return out;
}

}  // namespace detail

#if SEAM_WITH_CUDA
// ----- the CUDA path (kernels/seam/elementwise.cuh through seam/cuda/api.hpp) ----------------------
// Each public op below starts with `if (x.device().is_cuda()) return detail::cuda_...(...)`: the
// same forward and backward rules, computed by the CUDA kernels. Gradients stay on the device.
namespace detail {

// cuda_dense and cuda_sum_to live in ops/view.hpp (sum_to, the broadcasting backward, needs them).

template <class T>
inline Tensor<T> cuda_unary(const char* name, cuda::UnaryOp op, cuda::UnaryParams params, const Tensor<T>& x) {
    static_assert(std::is_floating_point_v<T>, "math ops need float or double tensors");
    cuda::DeviceGuard guard(x.device().index);
    Tensor<T> out = empty<T>(x.shape(), x.device());
    cuda::unary<T>(op, params, x.data(), x.shape(), x.strides(), out.data());
    if (needs_graph<T>({&x})) {
        Tensor<T> xs = x.detach(), ys = out.detach();
        record<T>(name, out, {&x}, [xs, ys, op, params, name](const Tensor<T>& g) {
            SEAM_CHECK(g.device() == xs.device(), name, " backward: gradient on ", g.device().str(), ", input on ",
                       xs.device().str());
            cuda::DeviceGuard guard(xs.device().index);
            Tensor<T> gx = empty<T>(xs.shape(), xs.device());
            cuda::unary_backward<T>(op, params, g.data(), g.strides(), xs.data(), xs.strides(), ys.data(), ys.strides(),
                                    xs.shape(), gx.data());
            return std::vector<Tensor<T>>{gx};
        });
    }
    return out;
}

template <class T>
inline Tensor<T> cuda_binary(const char* name, cuda::BinaryOp op, const Tensor<T>& a, const Tensor<T>& b) {
    static_assert(std::is_floating_point_v<T>, "math ops need float or double tensors");
    SEAM_CHECK(a.device() == b.device(), name, ": tensors on different devices (", a.device().str(), " and ",
               b.device().str(), ")");
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
    cuda::DeviceGuard guard(a.device().index);
    Tensor<T> out = empty<T>(shape, a.device());
    cuda::binary<T>(op, a.data(), broadcast_strides(a.shape(), a.strides(), shape), b.data(),
                    broadcast_strides(b.shape(), b.strides(), shape), shape, out.data());
    if (!needs_graph<T>({&a, &b})) return out;
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    const Shape sa = a.shape(), sb = b.shape();
    if (op == cuda::BinaryOp::add || op == cuda::BinaryOp::sub) {  // nothing saved: the gradient is ±g
        const bool negate_b = op == cuda::BinaryOp::sub;
        record<T>(name, out, {&a, &b}, [ga, gb, sa, sb, negate_b, name](const Tensor<T>& g) {
            Tensor<T> gb_full = negate_b && gb ? cuda_unary<T>(name, cuda::UnaryOp::neg, {}, g) : g;
            return std::vector<Tensor<T>>{ga ? cuda_sum_to(g, sa) : Tensor<T>(), gb ? cuda_sum_to(gb_full, sb) : Tensor<T>()};
        });
        return out;
    }
    const bool needs_y = op == cuda::BinaryOp::div || op == cuda::BinaryOp::pow;
    Tensor<T> as = a.detach(), bs = b.detach(), ys = needs_y ? out.detach() : Tensor<T>();
    record<T>(name, out, {&a, &b}, [as, bs, ys, ga, gb, shape, op, name](const Tensor<T>& g) {
        SEAM_CHECK(g.device() == as.device(), name, " backward: gradient on ", g.device().str(), ", inputs on ",
                   as.device().str());
        cuda::DeviceGuard guard(as.device().index);
        Tensor<T> da = ga ? empty<T>(shape, as.device()) : Tensor<T>();
        Tensor<T> db = gb ? empty<T>(shape, as.device()) : Tensor<T>();
        cuda::binary_backward<T>(op, g.data(), g.strides(), as.data(), broadcast_strides(as.shape(), as.strides(), shape),
                                 bs.data(), broadcast_strides(bs.shape(), bs.strides(), shape),
                                 ys.defined() ? ys.data() : nullptr, ys.defined() ? ys.strides() : Shape(),
                                 shape, ga ? da.data() : nullptr, gb ? db.data() : nullptr);
        return std::vector<Tensor<T>>{ga ? cuda_sum_to(da, as.shape()) : Tensor<T>(),
                                      gb ? cuda_sum_to(db, bs.shape()) : Tensor<T>()};
    });
    return out;
}

}  // namespace detail
#endif  // SEAM_WITH_CUDA

// ----- binary ------------------------------------------------------------------------------

template <class T>
inline Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) return detail::cuda_binary("add", cuda::BinaryOp::add, a, b);
#endif
    Tensor<T> out = detail::map_binary(a, b, "add", [](T x, T y) { return x + y; });
    Shape sa = a.shape(), sb = b.shape();
    record<T>("add", out, {&a, &b}, [sa, sb](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{sum_to(g, sa), sum_to(g, sb)};
    });
    return out;
}

template <class T>
inline Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) return detail::cuda_binary("sub", cuda::BinaryOp::sub, a, b);
#endif
    Tensor<T> out = detail::map_binary(a, b, "sub", [](T x, T y) { return x - y; });
    Shape sa = a.shape(), sb = b.shape();
    record<T>("sub", out, {&a, &b}, [sa, sb](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{sum_to(g, sa), sum_to(detail::map_unary(g, [](T v) { return -v; }), sb)};
    });
    return out;
}

template <class T>
inline Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) return detail::cuda_binary("mul", cuda::BinaryOp::mul, a, b);
#endif
    Tensor<T> out = detail::map_binary(a, b, "mul", [](T x, T y) { return x * y; });
    if (needs_graph<T>({&a, &b})) {
        Tensor<T> as = a.detach(), bs = b.detach();
        bool ga = a.requires_grad(), gb = b.requires_grad();
        record<T>("mul", out, {&a, &b}, [as, bs, ga, gb](const Tensor<T>& g) {
            auto times = [](T x, T y) { return x * y; };
            return std::vector<Tensor<T>>{
                ga ? sum_to(detail::map_binary(g, bs, "mul backward", times), as.shape()) : Tensor<T>(),
                gb ? sum_to(detail::map_binary(g, as, "mul backward", times), bs.shape()) : Tensor<T>()};
        });
    }
    return out;
}

template <class T>
inline Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) return detail::cuda_binary("div", cuda::BinaryOp::div, a, b);
#endif
    Tensor<T> out = detail::map_binary(a, b, "div", [](T x, T y) { return x / y; });
    if (needs_graph<T>({&a, &b})) {
        Tensor<T> bs = b.detach(), ys = out.detach();
        Shape sa = a.shape();
        bool ga = a.requires_grad(), gb = b.requires_grad();
        record<T>("div", out, {&a, &b}, [bs, ys, sa, ga, gb](const Tensor<T>& g) {
            Tensor<T> ga_t = detail::map_binary(g, bs, "div backward", [](T gv, T bv) { return gv / bv; });
            // d(a/b)/db = -a/b^2 = -(a/b)/b = -y/b
            Tensor<T> gb_t;
            if (gb) {
                Tensor<T> y_over_b = detail::map_binary(ys, bs, "div backward", [](T yv, T bv) { return yv / bv; });
                gb_t = sum_to(detail::map_binary(g, y_over_b, "div backward", [](T gv, T q) { return -gv * q; }), bs.shape());
            }
            return std::vector<Tensor<T>>{ga ? sum_to(ga_t, sa) : Tensor<T>(), gb_t};
        });
    }
    return out;
}

/// Elementwise maximum / minimum (the gradient goes to the larger / smaller; ties to a).
template <class T>
inline Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) return detail::cuda_binary("maximum", cuda::BinaryOp::maximum, a, b);
#endif
    Tensor<T> out = detail::map_binary(a, b, "maximum", [](T x, T y) { return x >= y ? x : y; });
    if (needs_graph<T>({&a, &b})) {
        Tensor<T> as = a.detach(), bs = b.detach();
        record<T>("maximum", out, {&a, &b}, [as, bs](const Tensor<T>& g) {
            Tensor<T> mask_a = detail::map_binary(as, bs, "maximum backward", [](T x, T y) { return T(x >= y); });
            Tensor<T> ga = detail::map_binary(g, mask_a, "maximum backward", [](T gv, T m) { return gv * m; });
            Tensor<T> gb = detail::map_binary(g, mask_a, "maximum backward", [](T gv, T m) { return gv * (T(1) - m); });
            return std::vector<Tensor<T>>{sum_to(ga, as.shape()), sum_to(gb, bs.shape())};
        });
    }
    return out;
}

template <class T>
inline Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) return detail::cuda_binary("minimum", cuda::BinaryOp::minimum, a, b);
#endif
    Tensor<T> out = detail::map_binary(a, b, "minimum", [](T x, T y) { return x <= y ? x : y; });
    if (needs_graph<T>({&a, &b})) {
        Tensor<T> as = a.detach(), bs = b.detach();
        record<T>("minimum", out, {&a, &b}, [as, bs](const Tensor<T>& g) {
            Tensor<T> mask_a = detail::map_binary(as, bs, "minimum backward", [](T x, T y) { return T(x <= y); });
            Tensor<T> ga = detail::map_binary(g, mask_a, "minimum backward", [](T gv, T m) { return gv * m; });
            Tensor<T> gb = detail::map_binary(g, mask_a, "minimum backward", [](T gv, T m) { return gv * (T(1) - m); });
            return std::vector<Tensor<T>>{sum_to(ga, as.shape()), sum_to(gb, bs.shape())};
        });
    }
    return out;
}

/// a ** b elementwise, for a > 0 where b is non-integer (the gradient w.r.t. b uses log a).
template <class T>
inline Tensor<T> pow(const Tensor<T>& a, const Tensor<T>& b) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) return detail::cuda_binary("pow", cuda::BinaryOp::pow, a, b);
#endif
    Tensor<T> out = detail::map_binary(a, b, "pow", [](T x, T y) { return std::pow(x, y); });
    if (needs_graph<T>({&a, &b})) {
        Tensor<T> as = a.detach(), bs = b.detach(), ys = out.detach();
        bool gb = b.requires_grad();
        record<T>("pow", out, {&a, &b}, [as, bs, ys, gb](const Tensor<T>& g) {
            // d/da = b * a^(b-1);  d/db = a^b * log(a)
            Tensor<T> da = detail::map_binary(as, bs, "pow backward", [](T x, T y) { return y * std::pow(x, y - T(1)); });
            Tensor<T> ga = detail::map_binary(g, da, "pow backward", [](T gv, T d) { return gv * d; });
            Tensor<T> gbt;
            if (gb) {
                Tensor<T> db = detail::map_binary(ys, as, "pow backward", [](T y, T x) { return x > T(0) ? y * std::log(x) : T(0); });
                gbt = sum_to(detail::map_binary(g, db, "pow backward", [](T gv, T d) { return gv * d; }), bs.shape());
            }
            return std::vector<Tensor<T>>{sum_to(ga, as.shape()), gbt};
        });
    }
    return out;
}

// ----- with a scalar -------------------------------------------------------------------------

template <class T>
inline Tensor<T> add(const Tensor<T>& a, T s) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda()) return detail::cuda_unary<T>("add_scalar", cuda::UnaryOp::add_scalar, {double(s)}, a);
#endif
    return detail::unary_op("add_scalar", a, [s](T x) { return x + s; }, [](T, T) { return T(1); });
}
template <class T>
inline Tensor<T> mul(const Tensor<T>& a, T s) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda()) return detail::cuda_unary<T>("mul_scalar", cuda::UnaryOp::mul_scalar, {double(s)}, a);
#endif
    return detail::unary_op("mul_scalar", a, [s](T x) { return x * s; }, [s](T, T) { return s; });
}
template <class T>
inline Tensor<T> pow(const Tensor<T>& a, T p) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda()) return detail::cuda_unary<T>("pow_scalar", cuda::UnaryOp::pow_scalar, {double(p)}, a);
#endif
    return detail::unary_op("pow_scalar", a, [p](T x) { return std::pow(x, p); },
                            [p](T x, T) { return p * std::pow(x, p - T(1)); });
}

// ----- unary -------------------------------------------------------------------------------

template <class T>
inline Tensor<T> neg(const Tensor<T>& x) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("neg", cuda::UnaryOp::neg, {}, x);
#endif
    return detail::unary_op("neg", x, [](T v) { return -v; }, [](T, T) { return T(-1); });
}
/// |x|; the gradient at 0 is 0 (the subgradient PyTorch uses).
template <class T>
inline Tensor<T> abs(const Tensor<T>& x) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("abs", cuda::UnaryOp::abs, {}, x);
#endif
    return detail::unary_op("abs", x, [](T v) { return std::abs(v); },
                            [](T v, T) { return v > T(0) ? T(1) : (v < T(0) ? T(-1) : T(0)); });
}
template <class T>
inline Tensor<T> exp(const Tensor<T>& x) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("exp", cuda::UnaryOp::exp, {}, x);
#endif
    return detail::unary_op("exp", x, [](T v) { return std::exp(v); }, [](T, T y) { return y; });
}
template <class T>
inline Tensor<T> log(const Tensor<T>& x) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("log", cuda::UnaryOp::log, {}, x);
#endif
    return detail::unary_op("log", x, [](T v) { return std::log(v); }, [](T v, T) { return T(1) / v; });
}
template <class T>
inline Tensor<T> sqrt(const Tensor<T>& x) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("sqrt", cuda::UnaryOp::sqrt, {}, x);
#endif
    return detail::unary_op("sqrt", x, [](T v) { return std::sqrt(v); }, [](T, T y) { return T(0.5) / y; });
}
template <class T>
inline Tensor<T> square(const Tensor<T>& x) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("square", cuda::UnaryOp::square, {}, x);
#endif
    return detail::unary_op("square", x, [](T v) { return v * v; }, [](T v, T) { return T(2) * v; });
}
/// clamp(x, lo, hi); the gradient is 1 strictly inside and at the bounds (PyTorch's convention), 0 outside.
template <class T>
inline Tensor<T> clamp(const Tensor<T>& x, T lo, T hi) {
    SEAM_CHECK(!(lo > hi), "clamp: lower bound ", lo, " exceeds upper bound ", hi);
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("clamp", cuda::UnaryOp::clamp, {double(lo), double(hi)}, x);
#endif
    return detail::unary_op("clamp", x, [lo, hi](T v) { return v < lo ? lo : (v > hi ? hi : v); },
                            [lo, hi](T v, T) { return (v >= lo && v <= hi) ? T(1) : T(0); });
}
template <class T>
inline Tensor<T> relu(const Tensor<T>& x) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("relu", cuda::UnaryOp::relu, {}, x);
#endif
    return detail::unary_op("relu", x, [](T v) { return v > T(0) ? v : T(0); }, [](T, T y) { return y > T(0) ? T(1) : T(0); });
}
template <class T>
inline Tensor<T> leaky_relu(const Tensor<T>& x, T slope = T(0.01)) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("leaky_relu", cuda::UnaryOp::leaky_relu, {double(slope)}, x);
#endif
    return detail::unary_op("leaky_relu", x, [slope](T v) { return v > T(0) ? v : slope * v; },
                            [slope](T v, T) { return v > T(0) ? T(1) : slope; });
}
template <class T>
inline Tensor<T> elu(const Tensor<T>& x, T alpha = T(1)) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("elu", cuda::UnaryOp::elu, {double(alpha)}, x);
#endif
    return detail::unary_op("elu", x, [alpha](T v) { return v > T(0) ? v : alpha * std::expm1(v); },
                            [alpha](T v, T y) { return v > T(0) ? T(1) : y + alpha; });
}
/// Numerically stable logistic: never evaluates exp of a large positive number.
template <class T>
inline T stable_sigmoid(T v) {
    if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
    T e = std::exp(v);
    return e / (T(1) + e);
}
template <class T>
inline Tensor<T> sigmoid(const Tensor<T>& x) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("sigmoid", cuda::UnaryOp::sigmoid, {}, x);
#endif
    return detail::unary_op("sigmoid", x, [](T v) { return stable_sigmoid(v); }, [](T, T y) { return y * (T(1) - y); });
}
template <class T>
inline Tensor<T> tanh(const Tensor<T>& x) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("tanh", cuda::UnaryOp::tanh, {}, x);
#endif
    return detail::unary_op("tanh", x, [](T v) { return std::tanh(v); }, [](T, T y) { return T(1) - y * y; });
}
/// GELU, exact form x * Phi(x) (PyTorch's default approximate='none').
template <class T>
inline Tensor<T> gelu(const Tensor<T>& x) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_unary<T>("gelu", cuda::UnaryOp::gelu, {}, x);
#endif
    constexpr T inv_sqrt2 = T(0.70710678118654752440);
    constexpr T inv_sqrt_2pi = T(0.39894228040143267794);
    return detail::unary_op("gelu", x, [](T v) { return T(0.5) * v * (T(1) + std::erf(v * inv_sqrt2)); },
                            [](T v, T) {
                                T cdf = T(0.5) * (T(1) + std::erf(v * inv_sqrt2));
                                return cdf + v * inv_sqrt_2pi * std::exp(T(-0.5) * v * v);
                            });
}

// ----- operators ---------------------------------------------------------------------------

template <class T> inline Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return add(a, b); }
template <class T> inline Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return sub(a, b); }
template <class T> inline Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return mul(a, b); }
template <class T> inline Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return div(a, b); }
template <class T> inline Tensor<T> operator-(const Tensor<T>& a) { return neg(a); }
template <class T> inline Tensor<T> operator+(const Tensor<T>& a, T s) { return add(a, s); }
template <class T> inline Tensor<T> operator+(T s, const Tensor<T>& a) { return add(a, s); }
template <class T> inline Tensor<T> operator-(const Tensor<T>& a, T s) { return add(a, -s); }
template <class T> inline Tensor<T> operator-(T s, const Tensor<T>& a) { return add(neg(a), s); }
template <class T> inline Tensor<T> operator*(const Tensor<T>& a, T s) { return mul(a, s); }
template <class T> inline Tensor<T> operator*(T s, const Tensor<T>& a) { return mul(a, s); }
template <class T> inline Tensor<T> operator/(const Tensor<T>& a, T s) { return mul(a, T(1) / s); }

}  // namespace seam
