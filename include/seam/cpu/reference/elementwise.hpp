// seam/cpu/reference/elementwise.hpp — the oracle for elementwise ops.
//
// Deliberately naive: one multi-index per output element, offsets recomputed from scratch with
// the broadcast strides, no threads, no fast paths. The fast paths in ops/elementwise.hpp are
// tested against these on non-contiguous, broadcast and odd-sized inputs.
#pragma once

#include "seam/core/tensor.hpp"

namespace seam::reference {

/// Offset of the element with row-major linear index `linear` of `shape`, read through `strides`.
inline int64_t offset_of(int64_t linear, const Shape& shape, const Shape& strides) {
    int64_t off = 0;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
        off += (linear % shape[d]) * strides[d];
        linear /= shape[d];
    }
    return off;
}

template <class T, class F>
inline Tensor<T> unary(const Tensor<T>& x, F f) {
    Tensor<T> out = empty<T>(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) out.data()[i] = f(x.data()[offset_of(i, x.shape(), x.strides())]);
    return out;
}

template <class T, class F>
inline Tensor<T> binary(const Tensor<T>& a, const Tensor<T>& b, F f) {
    Shape shape = broadcast_shapes(a.shape(), b.shape(), "reference::binary");
    Shape sa = broadcast_strides(a.shape(), a.strides(), shape);
    Shape sb = broadcast_strides(b.shape(), b.strides(), shape);
    Tensor<T> out = empty<T>(shape);
    for (int64_t i = 0; i < out.numel(); ++i)
        out.data()[i] = f(a.data()[offset_of(i, shape, sa)], b.data()[offset_of(i, shape, sb)]);
    return out;
}

}  // namespace seam::reference
