// tests/cuda/test_cuda_ops.cpp — the public elementwise ops (include/seam/ops/elementwise.hpp) on
// CUDA tensors, forward and backward, against the same ops on the CPU (test suite "gpu").
//
// The leaves live on the CPU and reach the GPU through Tensor::to, whose backward brings the
// gradient home: so a whole graph (to -> op on the GPU -> to) is differentiated, and the CPU
// leaves' gradients are compared with those of the same graph computed entirely on the CPU.
// Outputs are checked within atol + rtol·|ref| with every mismatch reported by index.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/elementwise.hpp"

#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;

namespace {

/// compare::expect_close with atol = rtol = 1e-5 (float) or 1e-12 (double), on a host copy.
template <class T>
void expect_close(const Tensor<T>& got, const Tensor<T>& ref, const std::string& what) {
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    REQUIRE(got.device().is_cpu());
    compare::expect_close(got, ref, tol, tol, what);
}

template <class T>
Tensor<T> leaf(const Shape& shape, uint64_t seed, const std::function<T(T)>& values) {
    Generator gen(seed);
    Tensor<T> t = randn<T>(shape, gen);
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = values(t.data()[i]);
    t.set_requires_grad();
    return t;
}

/// y = f(x) computed (a) on the CPU and (b) as to(gpu) -> f -> to(cpu); values and dL/dx agree.
template <class T, class F>
void check_unary_op(const std::string& name, F f, bool positive, const Shape& shape, uint64_t seed) {
    auto values = [positive](T v) { return positive ? std::abs(v) + T(0.1) : v; };
    Tensor<T> x_cpu = leaf<T>(shape, seed, values), x_gpu = leaf<T>(shape, seed, values);
    Tensor<T> y_cpu = f(x_cpu);
    Generator gen(seed + 1);
    Tensor<T> g = randn<T>(y_cpu.shape(), gen);  // f may permute the shape
    Tensor<T> on_gpu = f(x_gpu.to(gpu()));
    CHECK(on_gpu.device() == gpu());
    Tensor<T> y_gpu = on_gpu.to(Device::cpu());
    expect_close(y_gpu, y_cpu, name + " forward");
    y_cpu.backward(g);
    y_gpu.backward(g);
    REQUIRE(x_gpu.grad().defined());
    expect_close(x_gpu.grad(), x_cpu.grad(), name + " gradient");
}

template <class T, class F>
void check_binary_op(const std::string& name, F f, const std::function<T(T)>& a_values,
                     const std::function<T(T)>& b_values, const Shape& sa, const Shape& sb, uint64_t seed) {
    Tensor<T> a_cpu = leaf<T>(sa, seed, a_values), a_gpu = leaf<T>(sa, seed, a_values);
    Tensor<T> b_cpu = leaf<T>(sb, seed + 7, b_values), b_gpu = leaf<T>(sb, seed + 7, b_values);
    Tensor<T> y_cpu = f(a_cpu, b_cpu);
    Tensor<T> y_gpu = f(a_gpu.to(gpu()), b_gpu.to(gpu())).to(Device::cpu());
    const std::string what = name + " " + shape_str(sa) + " ∘ " + shape_str(sb);
    expect_close(y_gpu, y_cpu, what + " forward");
    Generator gen(seed + 2);
    Tensor<T> g = randn<T>(y_cpu.shape(), gen);
    y_cpu.backward(g);
    y_gpu.backward(g);
    expect_close(a_gpu.grad(), a_cpu.grad(), what + " grad a");
    expect_close(b_gpu.grad(), b_cpu.grad(), what + " grad b");
}

template <class T>
void check_all_ops() {
    const Shape shape = {3, 5, 7};
    uint64_t seed = 100;
    using TT = Tensor<T>;
    check_unary_op<T>("neg", [](const TT& x) { return seam::neg(x); }, false, shape, seed++);
    check_unary_op<T>("abs", [](const TT& x) { return seam::abs(x); }, false, shape, seed++);
    check_unary_op<T>("exp", [](const TT& x) { return seam::exp(x); }, false, shape, seed++);
    check_unary_op<T>("log", [](const TT& x) { return seam::log(x); }, true, shape, seed++);
    check_unary_op<T>("sqrt", [](const TT& x) { return seam::sqrt(x); }, true, shape, seed++);
    check_unary_op<T>("square", [](const TT& x) { return seam::square(x); }, false, shape, seed++);
    check_unary_op<T>("relu", [](const TT& x) { return seam::relu(x); }, false, shape, seed++);
    check_unary_op<T>("sigmoid", [](const TT& x) { return seam::sigmoid(x); }, false, shape, seed++);
    check_unary_op<T>("tanh", [](const TT& x) { return seam::tanh(x); }, false, shape, seed++);
    check_unary_op<T>("gelu", [](const TT& x) { return seam::gelu(x); }, false, shape, seed++);
    check_unary_op<T>("clamp", [](const TT& x) { return seam::clamp(x, T(-0.5), T(0.75)); }, false, shape, seed++);
    check_unary_op<T>("leaky_relu", [](const TT& x) { return seam::leaky_relu(x, T(0.2)); }, false, shape, seed++);
    check_unary_op<T>("elu", [](const TT& x) { return seam::elu(x, T(0.7)); }, false, shape, seed++);
    check_unary_op<T>("x + s", [](const TT& x) { return x + T(1.5); }, false, shape, seed++);
    check_unary_op<T>("s - x", [](const TT& x) { return T(2) - x; }, false, shape, seed++);
    check_unary_op<T>("x * s", [](const TT& x) { return x * T(-3); }, false, shape, seed++);
    check_unary_op<T>("x / s", [](const TT& x) { return x / T(4); }, false, shape, seed++);
    check_unary_op<T>("pow(x, 2.5)", [](const TT& x) { return seam::pow(x, T(2.5)); }, true, shape, seed++);
    check_unary_op<T>("transposed relu", [](const TT& x) { return seam::relu(x.transpose(0, 2)); }, false, shape, seed++);

    auto any = [](T v) { return v; };
    auto away = [](T v) { return v < T(0) ? v - T(0.5) : v + T(0.5); };
    auto positive = [](T v) { return std::abs(v) + T(0.1); };
    auto halves = [](T v) { return std::round(v * T(2)) / T(2); };
    const std::vector<std::pair<Shape, Shape>> shapes = {{{4, 6}, {4, 6}}, {{2, 3, 4}, {3, 1}}, {{5, 1}, {1, 7}}, {{3}, {}}};
    for (const auto& [sa, sb] : shapes) {
        check_binary_op<T>("add", [](const TT& a, const TT& b) { return a + b; }, any, any, sa, sb, seed++);
        check_binary_op<T>("sub", [](const TT& a, const TT& b) { return a - b; }, any, any, sa, sb, seed++);
        check_binary_op<T>("mul", [](const TT& a, const TT& b) { return a * b; }, any, any, sa, sb, seed++);
        check_binary_op<T>("div", [](const TT& a, const TT& b) { return a / b; }, any, away, sa, sb, seed++);
        check_binary_op<T>("maximum", [](const TT& a, const TT& b) { return seam::maximum(a, b); }, halves, halves, sa, sb,
                           seed++);
        check_binary_op<T>("minimum", [](const TT& a, const TT& b) { return seam::minimum(a, b); }, halves, halves, sa, sb,
                           seed++);
        check_binary_op<T>("pow", [](const TT& a, const TT& b) { return seam::pow(a, b); }, positive, any, sa, sb, seed++);
    }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("public elementwise ops run on CUDA tensors, forward and backward, as on the CPU") {
    check_all_ops<float>();
    check_all_ops<double>();
}

TEST_CASE("elementwise ops refuse to mix devices, naming both") {
    Tensor<float> a = ones<float>({3}).to(gpu()), b = ones<float>({3});
    CHECK_THROWS_WITH_AS(a + b, doctest::Contains("different devices"), Error);
    CHECK_THROWS_WITH_AS(b * a, doctest::Contains("cuda:0"), Error);
}

TEST_CASE("a chain of ops stays on the GPU (no silent copy to the host)") {
    Tensor<float> x = ones<float>({2, 3}).to(gpu());
    Tensor<float> y = seam::relu(x * 2.0f + 1.0f) / 3.0f;
    CHECK(y.device() == gpu());
    CHECK(y.to(Device::cpu()).to_vector() == std::vector<float>(6, 1.0f));
}

}  // TEST_SUITE
