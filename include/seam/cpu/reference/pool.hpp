// seam/cpu/reference/pool.hpp — the oracle for ops/pool.hpp.
//
// Deliberately naive and written from PyTorch's definitions, not from the fast path: every output
// element walks its whole (unclipped) window and asks for each tap whether it lies inside the
// input; inputs are read through their strides (no contiguous copy); no threads; no special
// cases. Backward passes are written the other way round from the fast path where that is cheap
// to do (average pooling gathers, for every input element, the outputs whose windows cover it),
// so the two implementations do not share a mistake. Only the output-size formula
// (pooling_output_size) and the option checks are shared; tests pin those by hand.
#pragma once

#include <limits>
#include <utility>

#include "seam/ops/pool.hpp"

namespace seam::reference {

namespace detail {
/// x[n, c, h, w] read through arbitrary strides.
template <class T>
inline T at4(const Tensor<T>& x, int64_t n, int64_t c, int64_t h, int64_t w) {
    const Shape& s = x.strides();
    return x.data()[n * s[0] + c * s[1] + h * s[2] + w * s[3]];
}
}  // namespace detail

template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> max_pool2d(const Tensor<T>& x, const Pool2dOptions& opt) {
    const auto g = seam::detail::pool2d_geometry("reference::max_pool2d", x.shape(), opt);
    Tensor<T> out = empty<T>({g.N, g.C, g.OH, g.OW});
    Tensor<int64_t> idx = empty<int64_t>({g.N, g.C, g.OH, g.OW});
    int64_t o = 0;
    for (int64_t n = 0; n < g.N; ++n)
        for (int64_t c = 0; c < g.C; ++c)
            for (int64_t oh = 0; oh < g.OH; ++oh)
                for (int64_t ow = 0; ow < g.OW; ++ow, ++o) {
                    T best = -std::numeric_limits<T>::infinity();
                    int64_t best_at = -1;
                    for (int64_t i = 0; i < g.kh; ++i)
                        for (int64_t j = 0; j < g.kw; ++j) {
                            const int64_t h = oh * g.sh - g.ph + i * g.dh, w = ow * g.sw - g.pw + j * g.dw;
                            if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;  // padding: -inf, never wins
                            const T v = detail::at4(x, n, c, h, w);
                            // Strictly greater keeps the first maximum; NaN always wins (propagates).
                            if (best_at < 0 || v > best || std::isnan(v)) best = v, best_at = h * g.W + w;
                        }
                    out.data()[o] = best;
                    idx.data()[o] = best_at;
                }
    return {out, idx};
}

/// Gradient of any max pooling given its indices: each output's gradient lands on its argmax.
template <class T>
inline Tensor<T> max_pool2d_backward(const Tensor<T>& grad_out, const Tensor<int64_t>& idx, const Shape& in_shape) {
    Tensor<T> grad_in = zeros<T>(in_shape);
    const int64_t planes = in_shape[0] * in_shape[1], plane = in_shape[2] * in_shape[3];
    const int64_t out_plane = grad_out.size(2) * grad_out.size(3);
    for (int64_t p = 0; p < planes; ++p)
        for (int64_t o = 0; o < out_plane; ++o) {
            const int64_t n = p / in_shape[1], c = p % in_shape[1];
            const int64_t oh = o / grad_out.size(3), ow = o % grad_out.size(3);
            const int64_t at = idx.at({n, c, oh, ow});
            if (at >= 0) grad_in.data()[p * plane + at] += detail::at4(grad_out, n, c, oh, ow);
        }
    return grad_in;
}

/// PyTorch's divisor for output (oh, ow): window clipped to input+padding, or to the input.
inline int64_t avg_pool2d_divisor(const seam::detail::Pool2dGeometry& g, const AvgPoolOptions& a, int64_t oh, int64_t ow) {
    if (a.divisor_override) return a.divisor_override;
    const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    int64_t padded = 0, inside = 0;
    for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t h = h0 + i, w = w0 + j;
            if (h < g.H + g.ph && w < g.W + g.pw) ++padded;  // taps past the right padding never count
            if (h >= 0 && h < g.H && w >= 0 && w < g.W) ++inside;
        }
    return a.count_include_pad ? padded : inside;
}

template <class T>
inline Tensor<T> avg_pool2d(const Tensor<T>& x, const Pool2dOptions& opt, const AvgPoolOptions& avg = {}) {
    const auto g = seam::detail::avg_pool2d_geometry(x.shape(), opt);
    Tensor<T> out = empty<T>({g.N, g.C, g.OH, g.OW});
    int64_t o = 0;
    for (int64_t n = 0; n < g.N; ++n)
        for (int64_t c = 0; c < g.C; ++c)
            for (int64_t oh = 0; oh < g.OH; ++oh)
                for (int64_t ow = 0; ow < g.OW; ++ow, ++o) {
                    T sum = 0;
                    int64_t inside = 0;
                    for (int64_t i = 0; i < g.kh; ++i)
                        for (int64_t j = 0; j < g.kw; ++j) {
                            const int64_t h = oh * g.sh - g.ph + i, w = ow * g.sw - g.pw + j;
                            if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
                            sum += detail::at4(x, n, c, h, w);
                            ++inside;
                        }
                    out.data()[o] = inside ? sum / static_cast<T>(avg_pool2d_divisor(g, avg, oh, ow)) : T(0);
                }
    return out;
}

/// For every input element, the sum over the outputs whose window covers it of grad / divisor.
template <class T>
inline Tensor<T> avg_pool2d_backward(const Tensor<T>& grad_out, const Shape& in_shape, const Pool2dOptions& opt,
                                     const AvgPoolOptions& avg = {}) {
    const auto g = seam::detail::avg_pool2d_geometry(in_shape, opt);
    Tensor<T> grad_in = empty<T>(in_shape);
    int64_t e = 0;
    for (int64_t n = 0; n < g.N; ++n)
        for (int64_t c = 0; c < g.C; ++c)
            for (int64_t h = 0; h < g.H; ++h)
                for (int64_t w = 0; w < g.W; ++w, ++e) {
                    T sum = 0;
                    for (int64_t oh = 0; oh < g.OH; ++oh)
                        for (int64_t ow = 0; ow < g.OW; ++ow) {
                            const int64_t i = h - (oh * g.sh - g.ph), j = w - (ow * g.sw - g.pw);
                            if (i < 0 || i >= g.kh || j < 0 || j >= g.kw) continue;
                            sum += detail::at4(grad_out, n, c, oh, ow) / static_cast<T>(avg_pool2d_divisor(g, avg, oh, ow));
                        }
                    grad_in.data()[e] = sum;
                }
    return grad_in;
}

/// Adaptive window bounds written with floating point (independent of the integer fast path).
inline std::pair<int64_t, int64_t> adaptive_window(int64_t i, int64_t in, int64_t out) {
    return {static_cast<int64_t>(std::floor(static_cast<double>(i) * in / out)),
            static_cast<int64_t>(std::ceil(static_cast<double>(i + 1) * in / out))};
}

template <class T>
inline Tensor<T> adaptive_avg_pool2d(const Tensor<T>& x, std::array<int64_t, 2> size) {
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    Tensor<T> out = empty<T>({N, C, size[0], size[1]});
    int64_t o = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t oh = 0; oh < size[0]; ++oh)
                for (int64_t ow = 0; ow < size[1]; ++ow, ++o) {
                    auto [h0, h1] = adaptive_window(oh, H, size[0]);
                    auto [w0, w1] = adaptive_window(ow, W, size[1]);
                    T sum = 0;
                    for (int64_t h = h0; h < h1; ++h)
                        for (int64_t w = w0; w < w1; ++w) sum += detail::at4(x, n, c, h, w);
                    out.data()[o] = sum / static_cast<T>((h1 - h0) * (w1 - w0));
                }
    return out;
}

template <class T>
inline Tensor<T> adaptive_avg_pool2d_backward(const Tensor<T>& grad_out, const Shape& in_shape) {
    const int64_t N = in_shape[0], C = in_shape[1], H = in_shape[2], W = in_shape[3];
    const int64_t OH = grad_out.size(2), OW = grad_out.size(3);
    Tensor<T> grad_in = empty<T>(in_shape);
    int64_t e = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t h = 0; h < H; ++h)
                for (int64_t w = 0; w < W; ++w, ++e) {
                    T sum = 0;
                    for (int64_t oh = 0; oh < OH; ++oh)
                        for (int64_t ow = 0; ow < OW; ++ow) {
                            auto [h0, h1] = adaptive_window(oh, H, OH);
                            auto [w0, w1] = adaptive_window(ow, W, OW);
                            if (h < h0 || h >= h1 || w < w0 || w >= w1) continue;
                            sum += detail::at4(grad_out, n, c, oh, ow) / static_cast<T>((h1 - h0) * (w1 - w0));
                        }
                    grad_in.data()[e] = sum;
                }
    return grad_in;
}

template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> adaptive_max_pool2d(const Tensor<T>& x, std::array<int64_t, 2> size) {
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    Tensor<T> out = empty<T>({N, C, size[0], size[1]});
    Tensor<int64_t> idx = empty<int64_t>({N, C, size[0], size[1]});
    int64_t o = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t oh = 0; oh < size[0]; ++oh)
                for (int64_t ow = 0; ow < size[1]; ++ow, ++o) {
                    auto [h0, h1] = adaptive_window(oh, H, size[0]);
                    auto [w0, w1] = adaptive_window(ow, W, size[1]);
                    T best = 0;
                    int64_t best_at = -1;
                    for (int64_t h = h0; h < h1; ++h)
                        for (int64_t w = w0; w < w1; ++w) {
                            const T v = detail::at4(x, n, c, h, w);
                            if (best_at < 0 || v > best || std::isnan(v)) best = v, best_at = h * W + w;
                        }
                    out.data()[o] = best;
                    idx.data()[o] = best_at;
                }
    return {out, idx};
}

}  // namespace seam::reference
