// seam/cpu/reference/reduce.hpp — the oracle for reductions, topk and softmax.
//
// Deliberately naive: every input element is visited in row-major order through its own
// strides, accumulated in long double into the output element it belongs to; no threads, no
// fast paths, no merging of dimensions. ops/reduce.hpp and ops/softmax.hpp are tested against
// these on awkward shapes and layouts.
#pragma once

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cpu/reference/elementwise.hpp"

namespace seam::reference {

/// Which dims are reduced (empty list: all), after wrapping negative dims.
inline std::vector<bool> reduced_dims(int64_t rank, const std::vector<int64_t>& dims) {
    std::vector<bool> r(static_cast<size_t>(rank), dims.empty());
    if (rank == 0) return r;  // a scalar: nothing to mark
    for (int64_t d : dims) r[static_cast<size_t>(d < 0 ? d + rank : d)] = true;
    return r;
}

/// Output element of input element `linear` (row-major): the multi-index with reduced coordinates dropped.
inline int64_t reduced_index(int64_t linear, const Shape& shape, const std::vector<bool>& reduced) {
    int64_t out = 0, scale = 1;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
        const int64_t i = linear % shape[d];
        linear /= shape[d];
        if (reduced[d]) continue;
        out += i * scale;
        scale *= shape[d];
    }
    return out;
}

inline Shape reduced_shape(const Shape& shape, const std::vector<bool>& reduced, bool keepdim) {
    Shape out;
    for (size_t d = 0; d < shape.size(); ++d) {
        if (!reduced[d]) out.push_back(shape[d]);
        else if (keepdim) out.push_back(1);
    }
    return out;
}

/// Per output element: the sum of its inputs and how many there were.
template <class T>
inline std::pair<std::vector<long double>, int64_t> sums(const Tensor<T>& x, const std::vector<int64_t>& dims) {
    const auto reduced = reduced_dims(x.dim(), dims);
    const int64_t outs = numel_of(reduced_shape(x.shape(), reduced, false));
    std::vector<long double> acc(static_cast<size_t>(outs), 0.0L);
    for (int64_t i = 0; i < x.numel(); ++i)
        acc[reduced_index(i, x.shape(), reduced)] += x.data()[offset_of(i, x.shape(), x.strides())];
    return {acc, outs == 0 ? 0 : x.numel() / outs};
}

template <class T>
inline Tensor<T> from_long_double(const std::vector<long double>& v, const Shape& shape) {
    Tensor<T> out = empty<T>(shape);
    for (size_t i = 0; i < v.size(); ++i) out.data()[i] = static_cast<T>(v[i]);
    return out;
}

template <class T>
inline Tensor<T> sum(const Tensor<T>& x, const std::vector<int64_t>& dims, bool keepdim = false) {
    return from_long_double<T>(sums(x, dims).first, reduced_shape(x.shape(), reduced_dims(x.dim(), dims), keepdim));
}

template <class T>
inline Tensor<T> mean(const Tensor<T>& x, const std::vector<int64_t>& dims, bool keepdim = false) {
    auto [acc, count] = sums(x, dims);
    for (auto& v : acc) v /= count;
    return from_long_double<T>(acc, reduced_shape(x.shape(), reduced_dims(x.dim(), dims), keepdim));
}

template <class T>
inline Tensor<T> var(const Tensor<T>& x, const std::vector<int64_t>& dims, bool unbiased = true, bool keepdim = false) {
    const auto reduced = reduced_dims(x.dim(), dims);
    auto [mean, count] = sums(x, dims);
    for (auto& v : mean) v /= count;
    std::vector<long double> sq(mean.size(), 0.0L);
    for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t o = reduced_index(i, x.shape(), reduced);
        const long double d = x.data()[offset_of(i, x.shape(), x.strides())] - mean[o];
        sq[o] += d * d;
    }
    for (auto& v : sq) v /= (count - (unbiased ? 1 : 0));
    return from_long_double<T>(sq, reduced_shape(x.shape(), reduced, keepdim));
}

/// (Σ |x|^p)^(1/p) along one dim.
template <class T>
inline Tensor<T> vector_norm(const Tensor<T>& x, T p, int64_t dim, bool keepdim = false) {
    const auto reduced = reduced_dims(x.dim(), {dim});
    std::vector<long double> acc(static_cast<size_t>(numel_of(reduced_shape(x.shape(), reduced, false))), 0.0L);
    for (int64_t i = 0; i < x.numel(); ++i)
        acc[reduced_index(i, x.shape(), reduced)] +=
            std::pow(std::abs(static_cast<long double>(x.data()[offset_of(i, x.shape(), x.strides())])), static_cast<long double>(p));
    for (auto& v : acc) v = std::pow(v, 1.0L / p);
    return from_long_double<T>(acc, reduced_shape(x.shape(), reduced, keepdim));
}

/// The elements of x along `dim` for each slice, as (value, index) lists; slice order = the
/// row-major order of the other dims.
template <class T>
inline std::vector<std::vector<std::pair<T, int64_t>>> slices_along(const Tensor<T>& x, int64_t dim) {
    const auto reduced = reduced_dims(x.dim(), {dim});
    const int64_t d = dim < 0 ? dim + x.dim() : dim;
    std::vector<std::vector<std::pair<T, int64_t>>> out(
        static_cast<size_t>(numel_of(reduced_shape(x.shape(), reduced, false))));
    for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t coord = i;
        for (int64_t k = x.dim() - 1; k > d; --k) coord /= x.shape()[k];
        coord %= x.shape()[d];
        out[reduced_index(i, x.shape(), reduced)].push_back({x.data()[offset_of(i, x.shape(), x.strides())], coord});
    }
    return out;
}

/// Max (largest) or min along dim with the first index on ties (no NaN handling: tests avoid NaN here).
template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> extreme(const Tensor<T>& x, int64_t dim, bool largest, bool keepdim = false) {
    const auto slices = slices_along(x, dim);
    const Shape shape = reduced_shape(x.shape(), reduced_dims(x.dim(), {dim}), keepdim);
    Tensor<T> values = empty<T>(shape);
    Tensor<int64_t> indices = empty<int64_t>(shape);
    for (size_t s = 0; s < slices.size(); ++s) {
        auto best = slices[s][0];
        for (const auto& e : slices[s])
            if (largest ? e.first > best.first : e.first < best.first) best = e;
        values.data()[s] = best.first;
        indices.data()[s] = best.second;
    }
    return {values, indices};
}

/// topk by a stable sort of every slice (equal values keep index order), output dim kept at k.
template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> topk(const Tensor<T>& x, int64_t k, int64_t dim, bool largest) {
    auto slices = slices_along(x, dim);
    const int64_t d = dim < 0 ? dim + x.dim() : dim;
    Shape shape = x.shape();
    shape[d] = k;
    Tensor<T> values = empty<T>(shape);
    Tensor<int64_t> indices = empty<int64_t>(shape);
    int64_t inner = 1;
    for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[i];
    for (size_t s = 0; s < slices.size(); ++s) {
        auto& v = slices[s];
        std::stable_sort(v.begin(), v.end(), [&](const auto& a, const auto& b) {
            return largest ? a.first > b.first : a.first < b.first;
        });
        const int64_t outer_index = static_cast<int64_t>(s) / inner, inner_index = static_cast<int64_t>(s) % inner;
        for (int64_t t = 0; t < k; ++t) {
            const int64_t e = (outer_index * k + t) * inner + inner_index;
            values.data()[e] = v[t].first;
            indices.data()[e] = v[t].second;
        }
    }
    return {values, indices};
}

/// softmax (or log_softmax) along dim, in long double.
template <class T>
inline Tensor<T> softmax(const Tensor<T>& x, int64_t dim, bool log = false) {
    const auto slices = slices_along(x, dim);
    const int64_t d = dim < 0 ? dim + x.dim() : dim;
    int64_t inner = 1;
    for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[i];
    const int64_t n = x.dim() == 0 ? 1 : x.shape()[d];
    Tensor<T> out = empty<T>(x.shape());
    for (size_t s = 0; s < slices.size(); ++s) {
        long double m = -INFINITY, z = 0;
        for (const auto& e : slices[s]) m = std::max<long double>(m, e.first);
        for (const auto& e : slices[s]) z += std::exp(static_cast<long double>(e.first) - m);
        const int64_t outer_index = static_cast<int64_t>(s) / inner, inner_index = static_cast<int64_t>(s) % inner;
        for (const auto& e : slices[s]) {
            const long double v = static_cast<long double>(e.first) - m;
            out.data()[(outer_index * n + e.second) * inner + inner_index] =
                static_cast<T>(log ? v - std::log(z) : std::exp(v) / z);
        }
    }
    return out;
}

}  // namespace seam::reference
