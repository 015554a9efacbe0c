// tests/cuda/conv_test_support.hpp — what the fp32 and TF32 convolution tests share
// (test_conv_pool_ops.cpp, test_conv_tf32_cuda.cpp): a convolution case, its options, and a scope
// that sets the process-wide conv algorithm. Apart from cuda_test_support.hpp so that the other
// CUDA tests do not see the conv headers' names.
#pragma once

#include <array>
#include <cstdint>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/conv.hpp"

namespace seam::cuda_test {

namespace conv_check {

/// One convolution to test: input [N, C, H, W], O output channels, the kernel size and options.
struct ConvCase {
    const char* name;
    Shape x;  // [N, C, H, W]
    int64_t O;
    std::array<int64_t, 2> kernel;
    Conv2dOptions opt;
    bool bias;
};

inline Conv2dOptions conv_options(std::array<int64_t, 2> s, std::array<int64_t, 2> p,
                                  std::array<int64_t, 2> d = {1, 1}, int64_t groups = 1) {
    Conv2dOptions o;
    o.stride = s, o.padding = p, o.dilation = d, o.groups = groups;
    return o;
}

/// Sets the process-wide conv algorithm for a scope.
struct ConvAlgorithmScope {
    cuda::ConvAlgorithm saved;
    explicit ConvAlgorithmScope(cuda::ConvAlgorithm a) : saved(cuda::conv_algorithm()) { cuda::set_conv_algorithm(a); }
    ~ConvAlgorithmScope() { cuda::set_conv_algorithm(saved); }
    ConvAlgorithmScope(const ConvAlgorithmScope&) = delete;
    ConvAlgorithmScope& operator=(const ConvAlgorithmScope&) = delete;
};

}  // namespace conv_check

}  // namespace seam::cuda_test
