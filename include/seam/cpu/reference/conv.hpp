// seam/cpu/reference/conv.hpp — the oracle for conv2d and conv_transpose2d, forward and backward.
//
// Straight from the definitions, seven nested loops, no im2col, no GEMM, no threads, accumulation
// in double:
//   conv2d            y[n, o, ho, wo] = b[o] + Σ_{c, ki, kj} x[n, g·C/g + c, ho·s - p + ki·d, wo·s - p + kj·d]
//                                                       · w[o, c, ki, kj]        (g = o's group)
//   conv_transpose2d  y[n, g·Co/g + co, hi·s - p + ki·d, wi·s - p + kj·d] += x[n, ci, hi, wi] · w[ci, co, ki, kj]
// (taps falling outside the input/output are skipped: zero padding). The backward functions walk the
// very same loops and apply the chain rule to each product term, so they need no adjoint reasoning
// of their own: each term x·w contributes dy·w to dx, dy·x to dw and dy to db.
// The fast paths (cpu/conv.hpp through ops/conv.hpp) are tested against these on awkward shapes.
#pragma once

#include <array>
#include <vector>

#include "seam/core/tensor.hpp"

namespace seam::reference {

template <class T>
struct ConvBackward {
    Tensor<T> grad_input, grad_weight, grad_bias;  // grad_bias undefined when there is no bias
};

namespace detail {

/// The loop shared by conv2d's forward and backward: f(x_index, w_index, y_index, o) for every term.
template <class F>
inline void conv2d_terms(const Shape& xs, const Shape& ws, std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                         std::array<int64_t, 2> dilation, int64_t groups, int64_t Ho, int64_t Wo, F&& f) {
    const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
    const int64_t O = ws[0], Cg = ws[1], KH = ws[2], KW = ws[3];
    const int64_t Og = O / groups;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < O; ++o)
            for (int64_t ho = 0; ho < Ho; ++ho)
                for (int64_t wo = 0; wo < Wo; ++wo)
                    for (int64_t c = 0; c < Cg; ++c)
                        for (int64_t ki = 0; ki < KH; ++ki)
                            for (int64_t kj = 0; kj < KW; ++kj) {
                                const int64_t hi = ho * stride[0] - padding[0] + ki * dilation[0];
                                const int64_t wi = wo * stride[1] - padding[1] + kj * dilation[1];
                                if (hi < 0 || hi >= H || wi < 0 || wi >= W) continue;
                                const int64_t ci = (o / Og) * Cg + c;
                                f(((n * C + ci) * H + hi) * W + wi, ((o * Cg + c) * KH + ki) * KW + kj,
                                  ((n * O + o) * Ho + ho) * Wo + wo, o);
                            }
}

inline int64_t conv_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/// The loop of conv_transpose2d: f(x_index, w_index, y_index, output channel) for every term.
template <class F>
inline void conv_transpose2d_terms(const Shape& xs, const Shape& ws, std::array<int64_t, 2> stride,
                                   std::array<int64_t, 2> padding, std::array<int64_t, 2> dilation, int64_t groups,
                                   int64_t Ho, int64_t Wo, F&& f) {
    const int64_t N = xs[0], Cin = xs[1], H = xs[2], W = xs[3];
    const int64_t Cog = ws[1], KH = ws[2], KW = ws[3];
    const int64_t Cout = Cog * groups, Cig = Cin / groups;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t ci = 0; ci < Cin; ++ci)
            for (int64_t hi = 0; hi < H; ++hi)
                for (int64_t wi = 0; wi < W; ++wi)
                    for (int64_t co = 0; co < Cog; ++co)
                        for (int64_t ki = 0; ki < KH; ++ki)
                            for (int64_t kj = 0; kj < KW; ++kj) {
                                const int64_t ho = hi * stride[0] - padding[0] + ki * dilation[0];
                                const int64_t wo = wi * stride[1] - padding[1] + kj * dilation[1];
                                if (ho < 0 || ho >= Ho || wo < 0 || wo >= Wo) continue;
                                const int64_t oc = (ci / Cig) * Cog + co;
                                f(((n * Cin + ci) * H + hi) * W + wi, ((ci * Cog + co) * KH + ki) * KW + kj,
                                  ((n * Cout + oc) * Ho + ho) * Wo + wo, oc);
                            }
}

template <class T>
inline std::vector<double> as_double(const Tensor<T>& t) {
    std::vector<T> v = t.to_vector();
    return std::vector<double>(v.begin(), v.end());
}

template <class T>
inline Tensor<T> from_double(const std::vector<double>& v, const Shape& shape) {
    return from_vector(std::vector<T>(v.begin(), v.end()), shape);
}

}  // namespace detail

/// conv2d(x[N, C, H, W], w[O, C/groups, kh, kw]) + bias[O] (bias may be undefined).
template <class T>
inline Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, std::array<int64_t, 2> stride,
                        std::array<int64_t, 2> padding, std::array<int64_t, 2> dilation, int64_t groups) {
    const Shape xs = x.shape(), ws = w.shape();
    const int64_t Ho = detail::conv_out_size(xs[2], ws[2], stride[0], padding[0], dilation[0]);
    const int64_t Wo = detail::conv_out_size(xs[3], ws[3], stride[1], padding[1], dilation[1]);
    const std::vector<double> vx = detail::as_double(x), vw = detail::as_double(w);
    std::vector<double> vy(static_cast<size_t>(xs[0] * ws[0] * Ho * Wo), 0.0);
    if (bias.defined()) {
        const std::vector<double> vb = detail::as_double(bias);
        for (size_t i = 0; i < vy.size(); ++i) vy[i] = vb[(i / static_cast<size_t>(Ho * Wo)) % static_cast<size_t>(ws[0])];
    }
    detail::conv2d_terms(xs, ws, stride, padding, dilation, groups, Ho, Wo,
                         [&](int64_t xi, int64_t wi, int64_t yi, int64_t) { vy[yi] += vx[xi] * vw[wi]; });
    return detail::from_double<T>(vy, {xs[0], ws[0], Ho, Wo});
}

/// Gradients of sum(conv2d(x, w, b) * dy) with respect to x, w and b.
template <class T>
inline ConvBackward<T> conv2d_backward(const Tensor<T>& x, const Tensor<T>& w, bool has_bias, const Tensor<T>& dy,
                                       std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                                       std::array<int64_t, 2> dilation, int64_t groups) {
    const Shape xs = x.shape(), ws = w.shape();
    const int64_t Ho = dy.size(2), Wo = dy.size(3);
    const std::vector<double> vx = detail::as_double(x), vw = detail::as_double(w), vdy = detail::as_double(dy);
    std::vector<double> dx(vx.size(), 0.0), dw(vw.size(), 0.0), db(static_cast<size_t>(ws[0]), 0.0);
    detail::conv2d_terms(xs, ws, stride, padding, dilation, groups, Ho, Wo,
                         [&](int64_t xi, int64_t wi, int64_t yi, int64_t) {
                             dx[xi] += vdy[yi] * vw[wi];
                             dw[wi] += vdy[yi] * vx[xi];
                         });
    for (size_t i = 0; i < vdy.size(); ++i) db[(i / static_cast<size_t>(Ho * Wo)) % db.size()] += vdy[i];
    ConvBackward<T> out;
    out.grad_input = detail::from_double<T>(dx, xs);
    out.grad_weight = detail::from_double<T>(dw, ws);
    if (has_bias) out.grad_bias = detail::from_double<T>(db, {ws[0]});
    return out;
}

/// conv_transpose2d(x[N, Cin, H, W], w[Cin, Cout/groups, kh, kw]) + bias[Cout].
template <class T>
inline Tensor<T> conv_transpose2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias,
                                  std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                                  std::array<int64_t, 2> output_padding, std::array<int64_t, 2> dilation,
                                  int64_t groups) {
    const Shape xs = x.shape(), ws = w.shape();
    const int64_t Cout = ws[1] * groups;
    const int64_t Ho = (xs[2] - 1) * stride[0] - 2 * padding[0] + dilation[0] * (ws[2] - 1) + output_padding[0] + 1;
    const int64_t Wo = (xs[3] - 1) * stride[1] - 2 * padding[1] + dilation[1] * (ws[3] - 1) + output_padding[1] + 1;
    const std::vector<double> vx = detail::as_double(x), vw = detail::as_double(w);
    std::vector<double> vy(static_cast<size_t>(xs[0] * Cout * Ho * Wo), 0.0);
    if (bias.defined()) {
        const std::vector<double> vb = detail::as_double(bias);
        for (size_t i = 0; i < vy.size(); ++i) vy[i] = vb[(i / static_cast<size_t>(Ho * Wo)) % static_cast<size_t>(Cout)];
    }
    detail::conv_transpose2d_terms(xs, ws, stride, padding, dilation, groups, Ho, Wo,
                                   [&](int64_t xi, int64_t wi, int64_t yi, int64_t) { vy[yi] += vx[xi] * vw[wi]; });
    return detail::from_double<T>(vy, {xs[0], Cout, Ho, Wo});
}

/// Gradients of sum(conv_transpose2d(x, w, b) * dy) with respect to x, w and b.
template <class T>
inline ConvBackward<T> conv_transpose2d_backward(const Tensor<T>& x, const Tensor<T>& w, bool has_bias,
                                                 const Tensor<T>& dy, std::array<int64_t, 2> stride,
                                                 std::array<int64_t, 2> padding, std::array<int64_t, 2> dilation,
                                                 int64_t groups) {
    const Shape xs = x.shape(), ws = w.shape();
    const int64_t Cout = dy.size(1), Ho = dy.size(2), Wo = dy.size(3);
    const std::vector<double> vx = detail::as_double(x), vw = detail::as_double(w), vdy = detail::as_double(dy);
    std::vector<double> dx(vx.size(), 0.0), dw(vw.size(), 0.0), db(static_cast<size_t>(Cout), 0.0);
    detail::conv_transpose2d_terms(xs, ws, stride, padding, dilation, groups, Ho, Wo,
                                   [&](int64_t xi, int64_t wi, int64_t yi, int64_t) {
                                       dx[xi] += vdy[yi] * vw[wi];
                                       dw[wi] += vdy[yi] * vx[xi];
                                   });
    for (size_t i = 0; i < vdy.size(); ++i) db[(i / static_cast<size_t>(Ho * Wo)) % db.size()] += vdy[i];
    ConvBackward<T> out;
    out.grad_input = detail::from_double<T>(dx, xs);
    out.grad_weight = detail::from_double<T>(dw, ws);
    if (has_bias) out.grad_bias = detail::from_double<T>(db, {Cout});
    return out;
}

}  // namespace seam::reference
