// Elementwise ops: fast path vs reference on awkward layouts, and gradchecks in double.
#include <doctest/doctest.h>

#include <seam/cpu/reference/elementwise.hpp>
#include <seam/seam.hpp>

using namespace seam;

namespace {
void check_close(const Tensor<float>& a, const Tensor<float>& b, float tol = 1e-6f) {
    REQUIRE(a.shape() == b.shape());
    auto va = a.to_vector(), vb = b.to_vector();
    for (size_t i = 0; i < va.size(); ++i) REQUIRE_MESSAGE(std::abs(va[i] - vb[i]) <= tol * (1 + std::abs(vb[i])), "element ", i);
}
using Fn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;
void expect_gradcheck(const Fn& fn, std::vector<Tensor<double>> in) {
    auto r = gradcheck(fn, std::move(in));
    CHECK_MESSAGE(r.ok, r.message);
}
}  // namespace

TEST_CASE("binary ops: fast path equals reference (contiguous, transposed, broadcast, large)") {
    Generator g(1);
    for (Shape sa : {Shape{7, 13}, Shape{1, 1}, Shape{3, 1, 5}, Shape{300, 257}}) {
        auto a = randn<float>(sa, g);
        auto b = randn<float>(sa, g);
        check_close(add(a, b), reference::binary(a, b, [](float x, float y) { return x + y; }));
        check_close(mul(a, b), reference::binary(a, b, [](float x, float y) { return x * y; }));
    }
    auto a = randn<float>({5, 7}, g);
    auto bt = randn<float>({7, 5}, g).transpose(0, 1);  // non-contiguous
    check_close(sub(a, bt), reference::binary(a, bt, [](float x, float y) { return x - y; }));
    auto row = randn<float>({1, 7}, g), col = randn<float>({5, 1}, g);
    check_close(div(row, add(abs(col), 1.0f)), reference::binary(row, add(abs(col), 1.0f), [](float x, float y) { return x / y; }));
    auto big = randn<float>({4, 3, 99}, g), bias = randn<float>({3, 1}, g);
    check_close(add(big, bias), reference::binary(big, bias, [](float x, float y) { return x + y; }));
    CHECK_THROWS_WITH_AS(add(randn<float>({2, 3}, g), randn<float>({4}, g)), doctest::Contains("add: shapes [2, 3] and [4]"), Error);
}

TEST_CASE("unary ops: fast path equals reference on a strided input") {
    Generator g(2);
    auto x = randn<float>({6, 9}, g).transpose(0, 1).narrow(0, 1, 7);
    check_close(exp(x), reference::unary(x, [](float v) { return std::exp(v); }));
    check_close(relu(x), reference::unary(x, [](float v) { return v > 0 ? v : 0.0f; }));
    check_close(tanh(x), reference::unary(x, [](float v) { return std::tanh(v); }));
    check_close(sigmoid(x), reference::unary(x, [](float v) { return 1.0f / (1.0f + std::exp(-v)); }), 1e-5f);
    // hand values
    auto h = from_vector<float>({-1.0f, 0.0f, 2.0f});
    CHECK(relu(h).to_vector() == std::vector<float>{0, 0, 2});
    CHECK(leaky_relu(h, 0.1f).to_vector()[0] == doctest::Approx(-0.1f));
    CHECK(elu(h).to_vector()[0] == doctest::Approx(std::exp(-1.0f) - 1.0f));
    CHECK(gelu(h).to_vector()[2] == doctest::Approx(1.9544997f));  // 2 * Phi(2)
    CHECK(clamp(h, -0.5f, 1.0f).to_vector() == std::vector<float>{-0.5f, 0.0f, 1.0f});
    CHECK(sigmoid(from_vector<float>({-1000.0f, 1000.0f})).to_vector() == std::vector<float>{0.0f, 1.0f});
}

TEST_CASE("gradcheck: every elementwise op in double") {
    Generator g(3);
    auto x = randn<double>({3, 4}, g).set_requires_grad();
    auto y = randn<double>({3, 4}, g).set_requires_grad();
    auto pos = add(abs(randn<double>({3, 4}, g)), 0.5).detach().set_requires_grad();
    auto row = randn<double>({1, 4}, g).set_requires_grad();
    expect_gradcheck([](const auto& in) { return add(in[0], in[1]); }, {x, row});
    expect_gradcheck([](const auto& in) { return sub(in[0], in[1]); }, {x, row});
    expect_gradcheck([](const auto& in) { return mul(in[0], in[1]); }, {x, row});
    expect_gradcheck([](const auto& in) { return div(in[0], in[1]); }, {x, pos});
    expect_gradcheck([](const auto& in) { return pow(in[0], in[1]); }, {pos, y});
    expect_gradcheck([](const auto& in) { return maximum(in[0], in[1]); }, {x, y});
    expect_gradcheck([](const auto& in) { return minimum(in[0], in[1]); }, {x, y});
    expect_gradcheck([](const auto& in) { return neg(in[0]); }, {x});
    expect_gradcheck([](const auto& in) { return abs(in[0]); }, {x});
    expect_gradcheck([](const auto& in) { return exp(in[0]); }, {x});
    expect_gradcheck([](const auto& in) { return log(in[0]); }, {pos});
    expect_gradcheck([](const auto& in) { return sqrt(in[0]); }, {pos});
    expect_gradcheck([](const auto& in) { return pow(in[0], 2.5); }, {pos});
    expect_gradcheck([](const auto& in) { return clamp(in[0], -0.5, 0.5); }, {x});
    expect_gradcheck([](const auto& in) { return relu(in[0]); }, {x});
    expect_gradcheck([](const auto& in) { return leaky_relu(in[0], 0.2); }, {x});
    expect_gradcheck([](const auto& in) { return elu(in[0], 1.3); }, {x});
    expect_gradcheck([](const auto& in) { return sigmoid(in[0]); }, {x});
    expect_gradcheck([](const auto& in) { return tanh(in[0]); }, {x});
    expect_gradcheck([](const auto& in) { return gelu(in[0]); }, {x});
    expect_gradcheck([](const auto& in) { return in[0].transpose(0, 1).narrow(0, 1, 2) * 3.0; }, {x});
    expect_gradcheck([](const auto& in) { return in[0].expand({2, 3, 4}) * in[1]; }, {row, x});
}
