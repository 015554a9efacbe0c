// tests/cuda/test_gather_scatter_cuda.cpp — gather and scatter_add on CUDA (kernels/seam/gather_scatter.cuh),
// the last Core ops that refused GPU tensors, against the same ops on the CPU (test suite "gpu";
// without a GPU the program skips it, see tests/cuda/main.cpp).
//
// gather copies and scatter_add adds each line along dim in the CPU's order, so values and
// gradients must equal the CPU's bit for bit (compared with tolerance 0): float and double, every
// dimension of a 3-D tensor, an index smaller than the input off dim and longer along it (repeated
// values: scatter_add accumulates), a transposed (non-contiguous) input, an index given on the
// host; integer element types; and the errors: an out-of-range value names the op, the position and
// the value, as on the CPU, and leaves the input untouched. Every case runs under both kernel
// versions (SEAM_GATHER_VERSION 1 and 2), with shapes that reach version 2's paths: an index of x's
// shape off dim (gather's 16-byte groups, one element off alignment too), lines along the last
// dimension of 1 to 1025 positions with many repeats a tile (scatter_add's lane groups and warp
// match), and many lines; scatter_add's starting values written in its kernel (x's values, and
// gather's gradient's zeros: the index with x's shape off dim and at least 32 warps an SM) and by a
// copy or memset first (the others). The per-element and per-line code is also checked on the host by
// tests/cuda/test_cuda_kernel_logic.cu (version 1) and test_gather_scatter_kernel_logic.cu (version 2).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/shape_ops.hpp"

#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;
using namespace seam::cuda_test::op_check;

namespace {

/// An index of `shape` with values in [0, size), seeded, with repeats.
Tensor<int64_t> random_index(const Shape& shape, int64_t size, uint64_t seed) {
    Tensor<int64_t> t = empty<int64_t>(shape);
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < t.numel(); ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        t.data()[i] = int64_t((state >> 33) % uint64_t(size));
    }
    return t;
}

template <class T>
void check_values_and_gradients() {
    const std::string type = sizeof(T) == 4 ? " [float]" : " [double]";
    const Shape x_shape{4, 5, 6};
    for (int64_t dim = 0; dim < 3; ++dim) {
        // The index: smaller than x off dim, longer than x along dim (values repeat).
        Shape index_shape{3, 4, 5};
        index_shape[size_t(dim)] = 9;
        const Tensor<int64_t> index = random_index(index_shape, x_shape[size_t(dim)], 7 + uint64_t(dim));
        const Tensor<int64_t> index_gpu = index.to(gpu());
        const Tensor<T> x = random_input<T>(x_shape, 11 + uint64_t(dim));
        const Tensor<T> src = random_input<T>(index_shape, 21 + uint64_t(dim));
        const std::string what = " along dim " + std::to_string(dim) + type;
        compare_graph<T>({x}, {true}, [&](const std::vector<Tensor<T>>& in) {
            return gather(in[0], dim, in[0].device().is_cpu() ? index : index_gpu);
        }, "gather" + what, 0.0, 0.0);
        compare_graph<T>({x, src}, {true, true}, [&](const std::vector<Tensor<T>>& in) {
            return scatter_add(in[0], dim, in[0].device().is_cpu() ? index : index_gpu, in[1]);
        }, "scatter_add" + what, 0.0, 0.0);
        // The index on the host with the input on the GPU: the same result.
        expect_same(gather(to_gpu(x), dim, index), gather(x, dim, index), "gather with a host index" + what);
        expect_same(scatter_add(to_gpu(x), dim, index, to_gpu(src)), scatter_add(x, dim, index, src),
                    "scatter_add with a host index" + what);
    }
    // A non-contiguous input (a transposed view) and the gather of a class per row (NLL's use).
    const Tensor<T> x = random_input<T>({7, 10}, 31);
    const Tensor<int64_t> picks = random_index({10, 1}, 7, 5);
    const Tensor<int64_t> picks_gpu = picks.to(gpu());
    compare_graph<T>({x}, {true}, [&](const std::vector<Tensor<T>>& in) {
        return gather(in[0].transpose(0, 1), 1, in[0].device().is_cpu() ? picks : picks_gpu);
    }, "gather from a transposed view, one pick per row" + type, 0.0, 0.0);
    // An empty index along dim: gather gives an empty tensor, scatter_add a copy of the input.
    const Tensor<int64_t> none = empty<int64_t>({7, 0});
    CHECK(gather(to_gpu(x), 1, none).numel() == 0);
    expect_same(scatter_add(to_gpu(x), 1, none, empty<T>({7, 0}, gpu())), x, "scatter_add with an empty index" + type);
}

/// Shapes for version 2: the index with x's sizes off dim (gather's groups) and lines along the
/// last dimension (scatter_add's lane groups), values from a small range so a tile holds repeats.
template <class T>
void check_version2_shapes() {
    const std::string type = sizeof(T) == 4 ? " [float]" : " [double]";
    struct Case {
        Shape x_shape, index_shape;
        int64_t dim, range;
    };
    const std::vector<Case> cases = {
        {{6, 1024}, {6, 1024}, 1, 1024},  // a row of 1024, the bench's shape
        {{5, 1024}, {5, 1025}, 1, 3},     // 1025 positions a line (33 tiles), three targets
        {{9, 17}, {9, 33}, 1, 5},         // a partial last tile
        {{300, 10}, {300, 10}, 1, 10},    // two lines a warp, many warps
        {{40, 7}, {40, 3}, 1, 2},         // four lanes a line
        {{3, 4, 50}, {3, 4, 50}, 2, 50},  // rank 3, along the last dimension
        {{3, 8, 5}, {3, 11, 5}, 1, 8},    // gather's groups with inner 5 (scatter_add: version 1)
        {{13, 3}, {29, 1}, 0, 13},        // along dim 0 with a trailing size of 1 (scatter_add: version 2)
        {{20000, 16}, {20000, 16}, 1, 5}, // 10000 warps: the start written in the kernel (x's values, and
                                          // the zeros of gather's gradient) on GPUs of up to 312 SMs
    };
    for (const Case& c : cases) {
        const Tensor<int64_t> index = random_index(c.index_shape, c.range, 50 + uint64_t(c.index_shape[0]));
        const Tensor<int64_t> index_gpu = index.to(gpu());
        const Tensor<T> x = random_input<T>(c.x_shape, 60 + uint64_t(c.x_shape[0]));
        const Tensor<T> src = random_input<T>(c.index_shape, 70 + uint64_t(c.x_shape[0]));
        const std::string what = " " + shape_str(c.index_shape) + " into " + shape_str(c.x_shape) + " along dim " +
                                 std::to_string(c.dim) + type;
        compare_graph<T>({x}, {true}, [&](const std::vector<Tensor<T>>& in) {
            return gather(in[0], c.dim, in[0].device().is_cpu() ? index : index_gpu);
        }, "gather" + what, 0.0, 0.0);
        compare_graph<T>({x, src}, {true, true}, [&](const std::vector<Tensor<T>>& in) {
            return scatter_add(in[0], c.dim, in[0].device().is_cpu() ? index : index_gpu, in[1]);
        }, "scatter_add" + what, 0.0, 0.0);
    }
    // An index one element (8 bytes) off 16-byte alignment: gather's element path, the same values.
    const Tensor<T> x = random_input<T>({4, 65}, 81);
    const Tensor<int64_t> flat = random_index({4 * 66 + 1}, 64, 82);
    const Tensor<int64_t> index_host = flat.narrow(0, 1, 4 * 66).reshape({4, 66});
    const Tensor<int64_t> index_gpu = flat.to(gpu()).narrow(0, 1, 4 * 66).reshape({4, 66});
    CHECK(reinterpret_cast<uintptr_t>(index_gpu.data()) % 16 == 8);
    expect_same(gather(to_gpu(x), 1, index_gpu), gather(x, 1, index_host), "gather with a misaligned index" + type);
}

template <class I>
void check_integers() {
    const std::string type = sizeof(I) == 8 ? " [int64]" : " [int32]";
    Tensor<I> x = empty<I>({3, 8});
    Tensor<I> src = empty<I>({3, 5});
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = I(i * 7 - 40);
    for (int64_t i = 0; i < src.numel(); ++i) src.data()[i] = I(100 - i);
    const Tensor<int64_t> index = random_index({3, 5}, 8, 3);
    expect_same(gather(x.to(gpu()), 1, index.to(gpu())), gather(x, 1, index), "gather" + type);
    expect_same(scatter_add(x.to(gpu()), 1, index.to(gpu()), src.to(gpu())), scatter_add(x, 1, index, src),
                "scatter_add" + type);
}

void check_errors() {
    const Tensor<float> x = random_input<float>({3, 4}, 41);
    const Tensor<float> xg = to_gpu(x);
    Tensor<int64_t> index = random_index({3, 2}, 4, 9);
    index.data()[3] = 4;  // position [1, 1]: one past the end of dim 1
    CHECK_THROWS_WITH_AS(gather(xg, 1, index.to(gpu())),
                         doctest::Contains("gather: index[1, 1] = 4 is out of range for dimension 1 of size 4"), Error);
    CHECK_THROWS_WITH_AS(scatter_add(xg, 1, index.to(gpu()), to_gpu(random_input<float>({3, 2}, 42))),
                         doctest::Contains("scatter_add: index[1, 1] = 4 is out of range for dimension 1 of size 4"),
                         Error);
    index.data()[3] = -1;
    index.data()[5] = 9;  // two bad values: the first position is named, as on the CPU
    CHECK_THROWS_WITH_AS(gather(xg, 1, index), doctest::Contains("index[1, 1] = -1"), Error);
    expect_unchanged(xg, x, "gather's input after a refused index");
    // Shape errors come from the shared checks, before any launch.
    CHECK_THROWS_WITH_AS(gather(xg, 1, random_index({4, 2}, 4, 1).to(gpu())), doctest::Contains("is larger than the input"),
                         Error);
    CHECK_THROWS_WITH_AS(scatter_add(xg, 1, random_index({3, 2}, 4, 1), to_gpu(random_input<float>({3, 3}, 1))),
                         doctest::Contains("must have the index's shape"), Error);
    CHECK_THROWS_WITH_AS(scatter_add(xg, 1, random_index({3, 2}, 4, 1), random_input<float>({3, 2}, 1)),
                         doctest::Contains("the source is on cpu"), Error);
}

}  // namespace

TEST_SUITE("gpu") {
    // Both versions of kernels/seam/gather_scatter.cuh (SEAM_GATHER_VERSION: 2 is the default).
    TEST_CASE("gather and scatter_add on CUDA equal the CPU's bit for bit, values and gradients") {
        for (const char* version : {"1", "2"}) {
            CAPTURE(version);
            const EnvScope scope("SEAM_GATHER_VERSION", version);
            check_values_and_gradients<float>();
            check_values_and_gradients<double>();
            check_version2_shapes<float>();
            check_version2_shapes<double>();
        }
    }
    TEST_CASE("gather and scatter_add on CUDA for int64 and int32") {
        for (const char* version : {"1", "2"}) {
            CAPTURE(version);
            const EnvScope scope("SEAM_GATHER_VERSION", version);
            check_integers<int64_t>();
            check_integers<int32_t>();
        }
    }
    TEST_CASE("gather and scatter_add on CUDA: out-of-range indices and shape errors are reported as on the CPU") {
        for (const char* version : {"1", "2"}) {
            CAPTURE(version);
            const EnvScope scope("SEAM_GATHER_VERSION", version);
            check_errors();
        }
    }
}
