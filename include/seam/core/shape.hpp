// seam/core/shape.hpp — shapes, strides and broadcasting rules.
//
// A shape is a list of extents, outermost first (row-major, NCHW for images). Strides count
// elements, not bytes. These helpers are shared by the tensor, every op's shape check, and the
// error messages (shape_str prints "[2, 3, 4]").
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "seam/core/error.hpp"

namespace seam {

using Shape = std::vector<int64_t>;

inline int64_t numel_of(const Shape& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

inline Shape contiguous_strides(const Shape& shape) {
    Shape strides(shape.size());
    int64_t s = 1;
    for (size_t i = shape.size(); i-- > 0;) {
        strides[i] = s;
        s *= shape[i] > 0 ? shape[i] : 1;
    }
    return strides;
}

inline std::string shape_str(const Shape& shape) {
    std::ostringstream out;
    out << '[';
    for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    out << ']';
    return out.str();
}

namespace detail {
/// "(h, w)" for the 2-D parameters of convolution and pooling, as PyTorch prints them.
inline std::string pair_str(const std::array<int64_t, 2>& v) {
    return "(" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ")";
}
}  // namespace detail

/// Wrap a possibly negative dimension index (Python style) and check it is in range.
inline int64_t wrap_dim(int64_t dim, int64_t rank, const char* op) {
    int64_t r = rank == 0 ? 1 : rank;
    SEAM_CHECK(dim >= -r && dim < r, op, ": dimension ", dim, " is out of range for a tensor of rank ", rank);
    return dim < 0 ? dim + r : dim;
}

/// NumPy broadcasting: align trailing dimensions; each pair must be equal or contain a 1.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (size_t i = 0; i < rank; ++i) {
        int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        SEAM_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
                   " cannot be broadcast (dimension ", i, ": ", da, " vs ", db, ")");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

/// Strides that read `shape`/`strides` as if broadcast to `target` (stride 0 on broadcast dims).
inline Shape broadcast_strides(const Shape& shape, const Shape& strides, const Shape& target) {
    Shape out(target.size(), 0);
    size_t lead = target.size() - shape.size();
    for (size_t i = 0; i < shape.size(); ++i)
        out[lead + i] = (shape[i] == 1 && target[lead + i] != 1) ? 0 : strides[i];
    return out;
}

}  // namespace seam
