// tests/cuda/cuda_test_support.hpp — helpers shared by the CUDA test files (each of which used to
// carry its own copy): the device under test and a readable position for mismatch reports.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "seam/core/tensor.hpp"

namespace seam::cuda_test {

/// The GPU every CUDA test runs on (the tests skip themselves when there is none).
inline Device gpu() { return Device::cuda(0); }

/// "(n, c, h, w)" of a linear index into a contiguous tensor of `shape` (any rank).
inline std::string index_str(int64_t linear, const Shape& shape) {
    std::vector<int64_t> idx(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
        idx[d] = linear % shape[d];
        linear /= shape[d];
    }
    std::ostringstream out;
    out << '(';
    for (size_t d = 0; d < idx.size(); ++d) out << (d ? ", " : "") << idx[d];
    return out.str() + ')';
}

}  // namespace seam::cuda_test
