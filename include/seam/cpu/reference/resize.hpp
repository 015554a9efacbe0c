// seam/cpu/reference/resize.hpp — the oracle for ops/resize.hpp (upsampling and padding).
//
// Naive loops written straight from PyTorch's formulas: every output element computes its own
// source coordinate from scratch, inputs are read through their strides, no threads, no index
// tables. The upsampling backward references gather (for every input element, every output that
// reads it, with its weight) where the fast path scatters through index tables, so the two cannot
// share an indexing mistake; pad's backward visits output elements one at a time.
#pragma once

#include <cmath>
#include <vector>

#include "seam/ops/resize.hpp"

namespace seam::reference {

namespace detail {
template <class T>
inline T read4(const Tensor<T>& x, int64_t n, int64_t c, int64_t h, int64_t w) {
    const Shape& s = x.strides();
    return x.data()[n * s[0] + c * s[1] + h * s[2] + w * s[3]];
}

/// PyTorch's nearest source index (float arithmetic and the out==in / out==2in shortcuts).
inline int64_t nearest_index(int64_t dst, int64_t in, int64_t out, double scale_factor) {
    if (out == in) return dst;
    if (out == 2 * in) return dst / 2;
    const float scale = scale_factor > 0 ? static_cast<float>(1.0 / scale_factor) : static_cast<float>(in) / out;
    const int64_t src = static_cast<int64_t>(std::floor(static_cast<float>(dst) * scale));
    return src < in - 1 ? src : in - 1;
}

/// Weight of input index i in output coordinate dst of a linear resampling (0 when unused).
template <class T>
inline T linear_weight(int64_t i, int64_t dst, int64_t in, int64_t out, bool align_corners, double scale_factor) {
    if (out == in) return i == dst ? T(1) : T(0);
    T src;
    if (align_corners) {
        src = out > 1 ? static_cast<T>(dst) * (static_cast<T>(in - 1) / static_cast<T>(out - 1)) : T(0);
    } else {
        const T scale = scale_factor > 0 ? static_cast<T>(1.0 / scale_factor) : static_cast<T>(in) / static_cast<T>(out);
        src = scale * (static_cast<T>(dst) + T(0.5)) - T(0.5);
        if (src < 0) src = 0;
    }
    int64_t lo = static_cast<int64_t>(std::floor(src));
    if (lo > in - 1) lo = in - 1;
    T frac = src - static_cast<T>(lo);
    frac = frac < 0 ? T(0) : (frac > 1 ? T(1) : frac);
    const int64_t hi = lo < in - 1 ? lo + 1 : lo;
    T weight = 0;  // lo == hi at the edge: both weights land on the same element
    if (i == lo) weight += T(1) - frac;
    if (i == hi) weight += frac;
    return weight;
}
}  // namespace detail

template <class T>
inline Tensor<T> upsample_nearest2d(const Tensor<T>& x, std::array<int64_t, 2> size, double scale_h = 0,
                                    double scale_w = 0) {
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    Tensor<T> out = empty<T>({N, C, size[0], size[1]});
    int64_t o = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t oh = 0; oh < size[0]; ++oh)
                for (int64_t ow = 0; ow < size[1]; ++ow, ++o)
                    out.data()[o] = detail::read4(x, n, c, detail::nearest_index(oh, H, size[0], scale_h),
                                                  detail::nearest_index(ow, W, size[1], scale_w));
    return out;
}

template <class T>
inline Tensor<T> upsample_nearest2d_backward(const Tensor<T>& grad_out, const Shape& in_shape, double scale_h = 0,
                                             double scale_w = 0) {
    const int64_t OH = grad_out.size(2), OW = grad_out.size(3);
    Tensor<T> grad_in = empty<T>(in_shape);
    int64_t e = 0;
    for (int64_t n = 0; n < in_shape[0]; ++n)
        for (int64_t c = 0; c < in_shape[1]; ++c)
            for (int64_t h = 0; h < in_shape[2]; ++h)
                for (int64_t w = 0; w < in_shape[3]; ++w, ++e) {
                    T sum = 0;
                    for (int64_t oh = 0; oh < OH; ++oh) {
                        if (detail::nearest_index(oh, in_shape[2], OH, scale_h) != h) continue;
                        for (int64_t ow = 0; ow < OW; ++ow)
                            if (detail::nearest_index(ow, in_shape[3], OW, scale_w) == w)
                                sum += detail::read4(grad_out, n, c, oh, ow);
                    }
                    grad_in.data()[e] = sum;
                }
    return grad_in;
}

/// Bilinear as an explicit weighted sum over the whole input plane (slow, obviously separable).
template <class T>
inline Tensor<T> upsample_bilinear2d(const Tensor<T>& x, std::array<int64_t, 2> size, bool align_corners,
                                     double scale_h = 0, double scale_w = 0) {
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    Tensor<T> out = empty<T>({N, C, size[0], size[1]});
    int64_t o = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t oh = 0; oh < size[0]; ++oh)
                for (int64_t ow = 0; ow < size[1]; ++ow, ++o) {
                    T sum = 0;
                    for (int64_t h = 0; h < H; ++h) {
                        const T wh = detail::linear_weight<T>(h, oh, H, size[0], align_corners, scale_h);
                        if (wh == T(0)) continue;
                        for (int64_t w = 0; w < W; ++w)
                            sum += wh * detail::linear_weight<T>(w, ow, W, size[1], align_corners, scale_w) *
                                   detail::read4(x, n, c, h, w);
                    }
                    out.data()[o] = sum;
                }
    return out;
}

template <class T>
inline Tensor<T> upsample_bilinear2d_backward(const Tensor<T>& grad_out, const Shape& in_shape, bool align_corners,
                                              double scale_h = 0, double scale_w = 0) {
    const int64_t OH = grad_out.size(2), OW = grad_out.size(3);
    Tensor<T> grad_in = empty<T>(in_shape);
    int64_t e = 0;
    for (int64_t n = 0; n < in_shape[0]; ++n)
        for (int64_t c = 0; c < in_shape[1]; ++c)
            for (int64_t h = 0; h < in_shape[2]; ++h)
                for (int64_t w = 0; w < in_shape[3]; ++w, ++e) {
                    T sum = 0;
                    for (int64_t oh = 0; oh < OH; ++oh) {
                        const T wh = detail::linear_weight<T>(h, oh, in_shape[2], OH, align_corners, scale_h);
                        if (wh == T(0)) continue;
                        for (int64_t ow = 0; ow < OW; ++ow)
                            sum += wh * detail::linear_weight<T>(w, ow, in_shape[3], OW, align_corners, scale_w) *
                                   detail::read4(grad_out, n, c, oh, ow);
                    }
                    grad_in.data()[e] = sum;
                }
    return grad_in;
}

namespace detail {
/// Source index along one dimension for output position o, or -1 for the fill value.
inline int64_t pad_source(int64_t o, int64_t before, int64_t n, PadMode mode) {
    int64_t i = o - before;
    if (mode == PadMode::constant) return (i >= 0 && i < n) ? i : -1;
    if (n <= 1) return 0;  // reflect of a single element (only pad 0 is valid there)
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;  // one reflection suffices when pad < n
    return i;
}
inline Shape padded_shape(const Shape& shape, const std::vector<int64_t>& pads) {
    Shape out = shape;
    const size_t rank = shape.size();
    for (size_t p = 0; p < pads.size() / 2; ++p) out[rank - 1 - p] += pads[2 * p] + pads[2 * p + 1];
    return out;
}
/// For output multi-index `idx`, the input element offset (through strides), or -1.
inline int64_t pad_source_offset(const Shape& idx, const Shape& shape, const Shape& strides,
                                 const std::vector<int64_t>& pads, PadMode mode) {
    const size_t rank = shape.size();
    int64_t off = 0;
    for (size_t d = 0; d < rank; ++d) {
        const size_t p = rank - 1 - d;  // position of dimension d in the last-first pad list
        const int64_t before = p < pads.size() / 2 ? pads[2 * p] : 0;
        const int64_t i = pad_source(idx[d], before, shape[d], mode);
        if (i < 0) return -1;
        off += i * strides[d];
    }
    return off;
}
}  // namespace detail

template <class T>
inline Tensor<T> pad(const Tensor<T>& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::constant,
                     std::type_identity_t<T> value = T(0)) {
    Tensor<T> out = empty<T>(detail::padded_shape(x.shape(), pads));
    for (int64_t e = 0; e < out.numel(); ++e) {
        Shape idx(out.shape().size());
        int64_t rest = e;
        for (size_t d = idx.size(); d-- > 0;) idx[d] = rest % out.shape()[d], rest /= out.shape()[d];
        const int64_t off = detail::pad_source_offset(idx, x.shape(), x.strides(), pads, mode);
        out.data()[e] = off < 0 ? value : x.data()[off];
    }
    return out;
}

/// For every input element, the sum of the output gradients that were copies of it.
template <class T>
inline Tensor<T> pad_backward(const Tensor<T>& grad_out, const Shape& in_shape, const std::vector<int64_t>& pads,
                              PadMode mode) {
    Tensor<T> grad_in = zeros<T>(in_shape);
    const Shape contiguous = contiguous_strides(in_shape);
    Tensor<T> g = grad_out.contiguous();
    for (int64_t e = 0; e < g.numel(); ++e) {
        Shape idx(g.shape().size());
        int64_t rest = e;
        for (size_t d = idx.size(); d-- > 0;) idx[d] = rest % g.shape()[d], rest /= g.shape()[d];
        const int64_t off = detail::pad_source_offset(idx, in_shape, contiguous, pads, mode);
        if (off >= 0) grad_in.data()[off] += g.data()[e];
    }
    return grad_in;
}

}  // namespace seam::reference
