// tests/cuda/test_masks_pad_cuda.cpp — the ops that were CPU-only until 2026-11-27 on CUDA, against
// the same ops on the CPU (test suite "gpu"; without a GPU the program skips it, see
// tests/cuda/main.cpp): comparisons and mask algebra (eq, ne, gt, lt, ge, le, logical_and/or/not),
// max(x)/min(x) over every element, and pad (constant with a value and negative pads, reflect).
//
// Masks must equal the CPU's bit for bit (IEEE rules: NaN compares false except ne), with
// broadcasting (a [C, 1] against a [1, W], a number), non-contiguous views and every element type
// the kernel is built for. max(x)/min(x): the value equals the CPU's, ties and NaN included, and
// the gradient — shared evenly among the elements equal to the result — equals the CPU's, exactly
// (the share is one division, the same on both sides). The comparison rule itself is also checked
// on the host by tests/cuda/test_cuda_kernel_logic.cu (compare_values against C++'s operators).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/reduce.hpp"
#include "seam/ops/resize.hpp"
#include "seam/ops/shape_ops.hpp"

#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;
using namespace seam::cuda_test::compare;
using namespace seam::cuda_test::op_check;

namespace {

/// a and b with many equal pairs, NaN, ±0 and ±inf.
template <class T>
Tensor<T> awkward(const Shape& shape, uint64_t seed) {
    Tensor<T> t = random_input<T>(shape, seed, true, true);
    T* p = t.data();
    const T specials[] = {T(0), -T(0), std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity()};
    for (int64_t i = 0; i < t.numel(); ++i)
        if (i % 13 == 5) p[i] = specials[(i / 13) % 4];
    return t;
}

template <class T>
void check_comparisons() {
    const std::string type = sizeof(T) == 4 ? " [float]" : " [double]";
    struct Case {
        const char* name;
        Shape a, b;
    };
    const std::vector<Case> cases = {
        {"same shape [37, 41]", {37, 41}, {37, 41}},
        {"[5, 1] against [1, 9] (both broadcast)", {5, 1}, {1, 9}},
        {"[2, 3, 7] against a 0-D tensor", {2, 3, 7}, {}},
        {"[1000] against [1000]", {1000}, {1000}},
    };
    for (const Case& c : cases) {
        const Tensor<T> a = awkward<T>(c.a, 5), b = awkward<T>(c.b, 6);
        // b shares some of a's values, so eq finds equal pairs.
        const Tensor<T> ag = to_gpu(a), bg = to_gpu(b);
        const std::string what = std::string(c.name) + type;
        expect_same(eq(ag, bg), eq(a, b), "eq " + what);
        expect_same(ne(ag, bg), ne(a, b), "ne " + what);
        expect_same(gt(ag, bg), gt(a, b), "gt " + what);
        expect_same(lt(ag, bg), lt(a, b), "lt " + what);
        expect_same(ge(ag, bg), ge(a, b), "ge " + what);
        expect_same(le(ag, bg), le(a, b), "le " + what);
        expect_same(eq(ag, ag), eq(a, a), "eq with itself (NaN: 0) " + what);
        expect_same(gt(ag, T(0.5)), gt(a, T(0.5)), "gt a number " + what);
        expect_same(le(ag, -T(0)), le(a, -T(0)), "le -0 " + what);
        expect_unchanged(ag, a, "comparison input " + what);
    }
    // A non-contiguous view (a transpose) against a contiguous tensor.
    const Tensor<T> a = awkward<T>({9, 14}, 7), b = awkward<T>({14, 9}, 8);
    expect_same(lt(to_gpu(a).transpose(0, 1), to_gpu(b)), lt(a.transpose(0, 1), b), "lt of a transposed view" + type);
}

void check_mask_algebra() {
    const Tensor<float> x = awkward<float>({6, 50}, 11);
    const Tensor<uint8_t> m1 = gt(x, 0.0f), m2 = le(x, 0.5f);
    const Tensor<uint8_t> g1 = m1.to(gpu()), g2 = m2.to(gpu());
    expect_same(logical_and(g1, g2), logical_and(m1, m2), "logical_and");
    expect_same(logical_or(g1, g2), logical_or(m1, m2), "logical_or");
    expect_same(logical_not(g1), logical_not(m1), "logical_not");
    expect_same(logical_and(g1, g2.narrow(0, 0, 1)), logical_and(m1, m2.narrow(0, 0, 1)), "logical_and, broadcast row");
    // Integer element types of the kernel: int64 and int32 compare exactly.
    std::vector<int64_t> iv(40);
    for (size_t i = 0; i < iv.size(); ++i) iv[i] = int64_t(i % 7) - 3;
    const Tensor<int64_t> i64 = from_vector(iv, {5, 8});
    expect_same(ge(i64.to(gpu()), int64_t(0)), ge(i64, int64_t(0)), "ge on int64");
    CHECK_THROWS_WITH_AS(eq(x.to(gpu()), x), doctest::Contains("move them to one device"), seam::Error);
}

template <class T>
void check_extreme_all() {
    const std::string type = sizeof(T) == 4 ? " [float]" : " [double]";
    struct Case {
        const char* name;
        Tensor<T> x;
    };
    std::vector<T> tied(300);
    for (size_t i = 0; i < tied.size(); ++i) tied[i] = T(int(i % 17) - 8);  // the maximum 8 appears 18 times
    std::vector<T> with_nan(64, T(1));
    with_nan[9] = with_nan[40] = std::numeric_limits<T>::quiet_NaN();
    const std::vector<Case> cases = {
        {"random [33, 70]", random_input<T>({33, 70}, 21)},
        {"ties: 18 equal maxima, 18 equal minima [300]", from_vector(tied, {300})},
        {"two NaN (the result, both share the gradient) [8, 8]", from_vector(with_nan, {8, 8})},
        {"one element", from_vector(std::vector<T>{T(-2.5)}, {1})},
        {"a million elements (chunked two-pass reduction)", random_input<T>({1000, 1000}, 22)},
    };
    for (const Case& c : cases) {
        for (bool largest : {true, false}) {
            const std::string what = std::string(largest ? "max" : "min") + " over all, " + c.name + type;
            compare_graph<T>({c.x}, {true}, [largest](const std::vector<Tensor<T>>& in) {
                return largest ? max(in[0]) : min(in[0]);
            }, what, 0.0, 0.0);
        }
    }
    // A non-contiguous input.
    const Tensor<T> x = random_input<T>({12, 31}, 23, true);
    compare_graph<T>({x}, {true}, [](const std::vector<Tensor<T>>& in) { return max(in[0].transpose(0, 1)); },
                     "max over all of a transposed view" + type, 0.0, 0.0);
    CHECK_THROWS_WITH_AS(max(empty<T>({0, 3}, gpu())), doctest::Contains("no elements"), seam::Error);
}

/// pad copies, so values and gradients must equal the CPU's exactly (the backward's index_add sums
/// at most a handful of terms per element in the CPU's order for these shapes: compared exactly).
template <class T>
void check_pad() {
    const std::string type = sizeof(T) == 4 ? " [float]" : " [double]";
    struct Case {
        const char* name;
        Shape x;
        std::vector<int64_t> pads;
        PadMode mode;
        double value;
    };
    const std::vector<Case> cases = {
        {"constant 1 each side of the last dim", {3, 4, 5}, {1, 1}, PadMode::constant, 0.0},
        {"constant, two dims, value 2.5", {2, 3, 4, 5}, {2, 1, 0, 3}, PadMode::constant, 2.5},
        {"constant, negative pads crop", {2, 3, 6, 7}, {-1, 2, 1, -2}, PadMode::constant, -1.0},
        {"reflect, two dims (each source row used twice)", {2, 3, 5, 6}, {2, 3, 1, 4}, PadMode::reflect, 0.0},
        {"reflect, three dims", {2, 4, 5, 3}, {1, 1, 2, 2, 1, 0}, PadMode::reflect, 0.0},
        {"zero pads: a copy", {3, 4}, {0, 0}, PadMode::constant, 0.0},
    };
    for (const Case& c : cases) {
        const Tensor<T> x = random_input<T>(c.x, 31);
        const std::string what = std::string("pad, ") + c.name + type;
        compare_graph<T>({x}, {true}, [&c](const std::vector<Tensor<T>>& in) {
            return pad(in[0], c.pads, c.mode, static_cast<T>(c.value));
        }, what, 1e-12, 1e-6);
    }
    CHECK_THROWS_WITH_AS(pad(to_gpu(random_input<T>({2, 3}, 3)), {3, 0}, PadMode::reflect),
                         doctest::Contains("smaller than its size"), seam::Error);
}

}  // namespace

TEST_SUITE("gpu") {
    TEST_CASE("pad on CUDA equals the CPU's, values and gradients (constant, negative, reflect)") {
        check_pad<float>();
        check_pad<double>();
    }
    TEST_CASE("comparisons on CUDA equal the CPU's, NaN, ±0, ±inf and broadcasting included") {
        check_comparisons<float>();
        check_comparisons<double>();
    }
    TEST_CASE("mask algebra and integer comparisons on CUDA") { check_mask_algebra(); }
    TEST_CASE("max(x) and min(x) over every element on CUDA: value and shared gradient equal the CPU's") {
        check_extreme_all<float>();
        check_extreme_all<double>();
    }
}
