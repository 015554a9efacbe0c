// tests/cuda/test_winograd_cuda.cpp — conv2d with cuda::ConvAlgorithm::winograd (kernels/seam/winograd.cuh:
// F(2x2, 3x3), transforms by seam, tile products by cuBLAS) against the CPU conv2d, through the op
// and autograd (forward, d input, d weight, d bias), float and double (test suite "gpu"; skipped
// without a GPU). The CPU emulation of the same code is tests/cuda/test_winograd_kernel_logic.cu.
//
// Shapes: padding 1 (VGG), 0 and 2, odd and even maps (partial edge tiles), one channel, a batch
// large enough for several tile rows; a convolution Winograd does not serve (stride 2, groups 2)
// must fall back to the implicit GEMM and still be right. Tolerance: Winograd's transforms add and
// halve, so fp32 results carry a few more rounding errors than the direct sum: atol 2e-4, rtol 2e-4
// for float on values of order 1-10 (the direct kernels' tests use 1e-4); double 1e-10.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/conv.hpp"

#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;
using namespace seam::cuda_test::op_check;

namespace {

/// Sets the conv algorithm for its lifetime.
struct AlgorithmScope {
    cuda::ConvAlgorithm saved;
    explicit AlgorithmScope(cuda::ConvAlgorithm a) : saved(cuda::conv_algorithm()) { cuda::set_conv_algorithm(a); }
    ~AlgorithmScope() { cuda::set_conv_algorithm(saved); }
};

template <class T>
void check_winograd() {
    const std::string type = sizeof(T) == 4 ? " [float]" : " [double]";
    const double tol = sizeof(T) == 4 ? 2e-4 : 1e-10;
    struct Case {
        const char* name;
        Shape x;
        int64_t O, pad, stride, groups;
    };
    const std::vector<Case> cases = {
        {"VGG-like 3x3 pad 1, 16 -> 24, 14x14", {2, 16, 14, 14}, 24, 1, 1, 1},
        {"pad 1, odd map 13x9 (partial tiles)", {3, 5, 13, 9}, 7, 1, 1, 1},
        {"pad 0, 8x11", {2, 6, 8, 11}, 4, 0, 1, 1},
        {"pad 2, 5x6, one input channel", {2, 1, 5, 6}, 3, 2, 1, 1},
        {"falls back: stride 2", {2, 4, 9, 9}, 5, 1, 2, 1},
        {"falls back: groups 2", {2, 4, 7, 7}, 6, 1, 1, 2},
    };
    AlgorithmScope scope(cuda::ConvAlgorithm::winograd);
    for (const Case& c : cases) {
        Conv2dOptions opt;
        opt.padding = {c.pad, c.pad};
        opt.stride = {c.stride, c.stride};
        opt.groups = c.groups;
        const Tensor<T> x = random_input<T>(c.x, 3);
        const Tensor<T> w = random_input<T>({c.O, c.x[1] / c.groups, 3, 3}, 4);
        const Tensor<T> b = random_input<T>({c.O}, 5);
        compare_graph<T>({x, w, b}, {true, true, true}, [&](const std::vector<Tensor<T>>& in) {
            return conv2d(in[0], in[1], in[2], opt);
        }, std::string("conv2d winograd, ") + c.name + type, tol, tol);
    }
}

}  // namespace

TEST_SUITE("host") {
    TEST_CASE("conv algorithm winograd is named and can be chosen") {
        CHECK(std::string(cuda::conv_algorithm_name(cuda::ConvAlgorithm::winograd)) == "winograd");
        AlgorithmScope scope(cuda::ConvAlgorithm::winograd);
        CHECK(cuda::conv_algorithm() == cuda::ConvAlgorithm::winograd);
    }
}

TEST_SUITE("gpu") {
    TEST_CASE("conv2d with the Winograd algorithm on CUDA equals the CPU conv2d (values and gradients)") {
        check_winograd<float>();
        check_winograd<double>();
    }
}
