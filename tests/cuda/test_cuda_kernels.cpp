// tests/cuda/test_cuda_kernels.cpp — the elementwise and reduction kernels against the CPU
// (test suite "gpu": runs only where a CUDA device is usable).
//
// Every CUDA result is written into an output prefilled with NaN (a skipped element stays NaN and
// fails), compared with the CPU result within atol + rtol·|ref|, and each mismatch is reported
// with its multi-index; the device inputs are read back afterwards and must be bit-identical to
// what was uploaded. Shapes are awkward on purpose: 1 element, odd sizes, broadcasts, transposed
// and narrowed views, and reductions long enough to take the two-pass (chunked) path.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/elementwise.hpp"

#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;

namespace {

template <class T>
struct Tolerance {
    double atol, rtol;
};
template <class T>
Tolerance<T> default_tolerance() {
    if constexpr (std::is_same_v<T, float>) return {1e-5, 1e-5};
    else return {1e-12, 1e-12};
}

/// got (any device) against ref (CPU), same shape; NaN matches NaN, infinities must be equal.
template <class T>
void expect_close(const Tensor<T>& got_anywhere, const Tensor<T>& ref, Tolerance<T> tol, const std::string& what) {
    const Tensor<T> got = got_anywhere.to(Device::cpu());
    REQUIRE_MESSAGE(got.shape() == ref.shape(), what, ": shape ", shape_str(got.shape()), " vs ", shape_str(ref.shape()));
    const std::vector<T> g = got.to_vector(), r = ref.to_vector();
    int64_t mismatches = 0;
    std::ostringstream report;
    for (size_t i = 0; i < g.size(); ++i) {
        const double gv = static_cast<double>(g[i]), rv = static_cast<double>(r[i]);
        const bool ok = (std::isnan(gv) && std::isnan(rv)) || gv == rv ||
                        std::abs(gv - rv) <= tol.atol + tol.rtol * std::abs(rv);
        if (!ok && ++mismatches <= 8)
            report << "  " << what << " at " << index_str(static_cast<int64_t>(i), ref.shape()) << ": got " << gv
                   << ", expected " << rv << "\n";
    }
    CHECK_MESSAGE(mismatches == 0, mismatches, " mismatches\n", report.str());
}

/// The device tensor must still hold exactly `original` (the bytes that were uploaded).
template <class T>
void expect_unchanged(const Tensor<T>& device_input, const Tensor<T>& original, const std::string& what) {
    const std::vector<T> now = device_input.to(Device::cpu()).to_vector(), before = original.to_vector();
    REQUIRE(now.size() == before.size());
    CHECK_MESSAGE(std::memcmp(now.data(), before.data(), now.size() * sizeof(T)) == 0, what, ": an input was modified");
}

template <class T>
Tensor<T> nan_filled(const Shape& shape) {
    Tensor<T> t = empty<T>(shape, gpu());
    t.fill_(std::numeric_limits<T>::quiet_NaN());
    return t;
}

/// Normal values with the boundary points of the ops planted in: 0, -0, ±1, ±0.5, -2, 0.75.
template <class T>
Tensor<T> nasty(const Shape& shape, uint64_t seed) {
    Generator gen(seed);
    Tensor<T> t = randn<T>(shape, gen, T(0), T(1.5));
    const T planted[] = {T(0), T(-0.0), T(1), T(-1), T(0.5), T(-0.5), T(-2), T(0.75)};
    T* p = t.data();
    for (int64_t i = 0; i < t.numel() && i < 8 * 5; i += 5) p[i] = planted[(i / 5) % 8];
    return t;
}

/// A CPU tensor and the same values on the GPU, as a view of the given kind of a base tensor.
template <class T>
struct Pair {
    Tensor<T> cpu, dev, dev_base, cpu_base;
};
enum class Layout { dense, transposed, narrowed, expanded };
const char* layout_name(Layout l) {
    switch (l) {
        case Layout::dense: return "dense";
        case Layout::transposed: return "transposed";
        case Layout::narrowed: return "narrowed";
        case Layout::expanded: return "expanded";
    }
    return "?";
}

/// A [rows, cols] operand in the requested layout (values from `nasty`, then `shape_values`).
template <class T>
Pair<T> make_operand(Layout layout, int64_t rows, int64_t cols, uint64_t seed, const std::function<T(T)>& shape_values) {
    Shape base_shape = {rows, cols};
    if (layout == Layout::transposed) base_shape = {cols, rows};
    if (layout == Layout::narrowed) base_shape = {rows, cols + 3};
    if (layout == Layout::expanded) base_shape = {rows, 1};
    Tensor<T> base = nasty<T>(base_shape, seed);
    for (int64_t i = 0; i < base.numel(); ++i) base.data()[i] = shape_values(base.data()[i]);
    Pair<T> p;
    p.cpu_base = base;
    p.dev_base = base.to(gpu());
    auto view = [&](const Tensor<T>& b) {
        switch (layout) {
            case Layout::dense: return b;
            case Layout::transposed: return b.transpose(0, 1);
            case Layout::narrowed: return b.narrow(1, 2, cols);
            case Layout::expanded: return b.expand({rows, cols});
        }
        return b;
    };
    p.cpu = view(p.cpu_base);
    p.dev = view(p.dev_base);
    return p;
}

// ----- unary ---------------------------------------------------------------------------------------

template <class T>
struct UnaryCase {
    cuda::UnaryOp op;
    cuda::UnaryParams params;
    bool positive_input;  // log, sqrt, fractional powers
    std::function<Tensor<T>(const Tensor<T>&)> cpu;
};

template <class T>
std::vector<UnaryCase<T>> unary_cases() {
    using U = cuda::UnaryOp;
    return {
        {U::neg, {}, false, [](const Tensor<T>& x) { return seam::neg(x); }},
        {U::abs, {}, false, [](const Tensor<T>& x) { return seam::abs(x); }},
        {U::exp, {}, false, [](const Tensor<T>& x) { return seam::exp(x); }},
        {U::log, {}, true, [](const Tensor<T>& x) { return seam::log(x); }},
        {U::sqrt, {}, true, [](const Tensor<T>& x) { return seam::sqrt(x); }},
        {U::square, {}, false, [](const Tensor<T>& x) { return seam::square(x); }},
        {U::relu, {}, false, [](const Tensor<T>& x) { return seam::relu(x); }},
        {U::sigmoid, {}, false, [](const Tensor<T>& x) { return seam::sigmoid(x); }},
        {U::tanh, {}, false, [](const Tensor<T>& x) { return seam::tanh(x); }},
        {U::gelu, {}, false, [](const Tensor<T>& x) { return seam::gelu(x); }},
        {U::add_scalar, {1.5}, false, [](const Tensor<T>& x) { return seam::add(x, T(1.5)); }},
        {U::mul_scalar, {-0.25}, false, [](const Tensor<T>& x) { return seam::mul(x, T(-0.25)); }},
        {U::pow_scalar, {2.5}, true, [](const Tensor<T>& x) { return seam::pow(x, T(2.5)); }},
        {U::pow_scalar, {3.0}, false, [](const Tensor<T>& x) { return seam::pow(x, T(3.0)); }},
        {U::clamp, {-0.5, 0.75}, false, [](const Tensor<T>& x) { return seam::clamp(x, T(-0.5), T(0.75)); }},
        {U::leaky_relu, {0.1}, false, [](const Tensor<T>& x) { return seam::leaky_relu(x, T(0.1)); }},
        {U::elu, {0.7}, false, [](const Tensor<T>& x) { return seam::elu(x, T(0.7)); }},
    };
}

template <class T>
void check_unary_family() {
    const std::vector<std::pair<int64_t, int64_t>> sizes = {{1, 1}, {1, 7}, {5, 17}, {33, 65}};
    const Layout layouts[] = {Layout::dense, Layout::transposed, Layout::narrowed, Layout::expanded};
    uint64_t seed = 1;
    for (const UnaryCase<T>& c : unary_cases<T>()) {
        for (auto [rows, cols] : sizes) {
            for (Layout layout : layouts) {
                const std::string what = std::string(cuda::op_name(c.op)) + "<" + dtype_name<T>() + "> " +
                                         layout_name(layout) + " [" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
                auto values = [&](T v) { return c.positive_input ? std::abs(v) + T(0.1) : v; };
                Pair<T> x = make_operand<T>(layout, rows, cols, seed++, values);
                const Shape shape = x.cpu.shape();

                // forward
                Tensor<T> y = nan_filled<T>(shape);
                cuda::unary<T>(c.op, c.params, x.dev.data(), shape, x.dev.strides(), y.data());
                expect_close(y, c.cpu(x.cpu), default_tolerance<T>(), what + " forward");

                // fused backward against the CPU autograd
                Tensor<T> leaf = x.cpu.contiguous().detach();
                leaf.set_requires_grad();
                Generator gen(seed++);
                Tensor<T> grad = randn<T>(shape, gen);
                c.cpu(leaf).backward(grad);
                Tensor<T> grad_dev = grad.to(gpu());
                Tensor<T> gx = nan_filled<T>(shape);
                cuda::unary_backward<T>(c.op, c.params, grad_dev.data(), grad_dev.strides(), x.dev.data(), x.dev.strides(),
                                        y.data(), y.strides(), shape, gx.data());
                expect_close(gx, leaf.grad(), default_tolerance<T>(), what + " backward");

                expect_unchanged(x.dev_base, x.cpu_base, what);
                expect_unchanged(grad_dev, grad, what + " (grad)");
            }
        }
    }
}

// ----- binary --------------------------------------------------------------------------------------

template <class T>
struct BinaryCase {
    cuda::BinaryOp op;
    std::function<T(T)> a_values, b_values;
    std::function<Tensor<T>(const Tensor<T>&, const Tensor<T>&)> cpu;
};

template <class T>
std::vector<BinaryCase<T>> binary_cases() {
    using B = cuda::BinaryOp;
    auto any = [](T v) { return v; };
    auto away_from_zero = [](T v) { return v < T(0) ? v - T(0.5) : v + T(0.5); };
    auto positive = [](T v) { return std::abs(v) + T(0.1); };
    auto halves = [](T v) { return std::round(std::max(T(-2), std::min(T(2), v)) * T(2)) / T(2); };  // many ties
    return {
        {B::add, any, any, [](const Tensor<T>& a, const Tensor<T>& b) { return seam::add(a, b); }},
        {B::sub, any, any, [](const Tensor<T>& a, const Tensor<T>& b) { return seam::sub(a, b); }},
        {B::mul, any, any, [](const Tensor<T>& a, const Tensor<T>& b) { return seam::mul(a, b); }},
        {B::div, any, away_from_zero, [](const Tensor<T>& a, const Tensor<T>& b) { return seam::div(a, b); }},
        {B::maximum, halves, halves, [](const Tensor<T>& a, const Tensor<T>& b) { return seam::maximum(a, b); }},
        {B::minimum, halves, halves, [](const Tensor<T>& a, const Tensor<T>& b) { return seam::minimum(a, b); }},
        {B::pow, positive, any, [](const Tensor<T>& a, const Tensor<T>& b) { return seam::pow(a, b); }},
    };
}

/// A device operand of arbitrary shape (dense, or a transposed view when `transposed` and rank 2).
template <class T>
Pair<T> make_shaped(const Shape& shape, bool transposed, uint64_t seed, const std::function<T(T)>& values) {
    Shape base_shape = shape;
    if (transposed) std::swap(base_shape[0], base_shape[1]);
    Tensor<T> base = nasty<T>(base_shape, seed);
    for (int64_t i = 0; i < base.numel(); ++i) base.data()[i] = values(base.data()[i]);
    Pair<T> p;
    p.cpu_base = base;
    p.dev_base = base.to(gpu());
    p.cpu = transposed ? base.transpose(0, 1) : base;
    p.dev = transposed ? p.dev_base.transpose(0, 1) : p.dev_base;
    return p;
}

template <class T>
void check_binary_family() {
    struct Shapes {
        Shape a, b;
        bool a_transposed;
    };
    const std::vector<Shapes> shape_cases = {
        {{1}, {1}, false},         {{7}, {7}, false},          {{5, 17}, {5, 17}, false}, {{2, 3, 4, 5}, {1, 3, 1, 1}, false},
        {{5, 1}, {1, 7}, false},   {{6, 4}, {4}, true},        {{3, 5}, {}, false},       {{1, 9}, {4, 1, 9}, false},
    };
    uint64_t seed = 1000;
    for (const BinaryCase<T>& c : binary_cases<T>()) {
        for (const Shapes& s : shape_cases) {
            const std::string what = std::string(cuda::op_name(c.op)) + "<" + dtype_name<T>() + "> " + shape_str(s.a) +
                                     (s.a_transposed ? "ᵀ" : "") + " ∘ " + shape_str(s.b);
            Pair<T> a = make_shaped<T>(s.a, s.a_transposed, seed++, c.a_values);
            Pair<T> b = make_shaped<T>(s.b, false, seed++, c.b_values);
            const Shape shape = broadcast_shapes(a.cpu.shape(), b.cpu.shape(), "test");
            const Shape a_strides = broadcast_strides(a.dev.shape(), a.dev.strides(), shape);
            const Shape b_strides = broadcast_strides(b.dev.shape(), b.dev.strides(), shape);

            Tensor<T> y = nan_filled<T>(shape);
            cuda::binary<T>(c.op, a.dev.data(), a_strides, b.dev.data(), b_strides, shape, y.data());
            expect_close(y, c.cpu(a.cpu, b.cpu), default_tolerance<T>(), what + " forward");

            Tensor<T> la = a.cpu.contiguous().detach(), lb = b.cpu.contiguous().detach();
            la.set_requires_grad();
            lb.set_requires_grad();
            Generator gen(seed++);
            Tensor<T> grad = randn<T>(shape, gen);
            c.cpu(la, lb).backward(grad);
            Tensor<T> grad_dev = grad.to(gpu());
            Tensor<T> ga = nan_filled<T>(shape), gb = nan_filled<T>(shape);
            cuda::binary_backward<T>(c.op, grad_dev.data(), grad_dev.strides(), a.dev.data(), a_strides, b.dev.data(),
                                     b_strides, y.data(), y.strides(), shape, ga.data(), gb.data());
            // The kernel gives gradients at the broadcast shape; reduce them as the op will (sum_to on the CPU).
            expect_close(sum_to(ga.to(Device::cpu()), a.cpu.shape()), la.grad(), default_tolerance<T>(), what + " grad a");
            expect_close(sum_to(gb.to(Device::cpu()), b.cpu.shape()), lb.grad(), default_tolerance<T>(), what + " grad b");

            expect_unchanged(a.dev_base, a.cpu_base, what);
            expect_unchanged(b.dev_base, b.cpu_base, what);
        }
    }
}

// ----- reductions ------------------------------------------------------------------------------------

struct ReduceShape {
    int64_t outer, n, inner;
};
const std::vector<ReduceShape> reduce_shapes = {
    {1, 1, 1},     {3, 1, 5},  {1, 7, 1},   {5, 33, 1},   {2, 10000, 1}, {1, 1000003, 1},
    {4, 1000, 3},  {7, 5, 300}, {2, 200, 64}, {1, 5000, 2}, {0, 5, 3},     {3, 4, 0},
};

template <class T>
void check_sum_dim() {
    uint64_t seed = 5000;
    for (const ReduceShape& s : reduce_shapes) {
        const std::string what = std::string("sum_dim<") + dtype_name<T>() + "> [" + std::to_string(s.outer) + ", " +
                                 std::to_string(s.n) + ", " + std::to_string(s.inner) + "]";
        Generator gen(seed++);
        Tensor<T> x = randn<T>({s.outer, s.n, s.inner}, gen);
        Tensor<T> x_dev = x.to(gpu());
        Tensor<T> out = nan_filled<T>({s.outer, s.inner});
        cuda::sum_dim<T>(x_dev.data(), s.outer, s.n, s.inner, out.data());
        // Reference in long double, and the rigorous bound on any summation order's error: n·u·Σ|x|.
        Tensor<T> ref = empty<T>({s.outer, s.inner});
        std::vector<long double> abs_sum(static_cast<size_t>(s.outer * s.inner), 0.0L);
        for (int64_t o = 0; o < s.outer; ++o)
            for (int64_t j = 0; j < s.inner; ++j) {
                long double acc = 0;
                for (int64_t r = 0; r < s.n; ++r) {
                    const T v = x.data()[(o * s.n + r) * s.inner + j];
                    acc += v;
                    abs_sum[o * s.inner + j] += std::abs(static_cast<long double>(v));
                }
                ref.data()[o * s.inner + j] = static_cast<T>(acc);
            }
        long double max_abs_sum = 0;
        for (long double v : abs_sum) max_abs_sum = std::max(max_abs_sum, v);
        // float: carried in double, one rounding at the end; double: the accumulation error itself.
        const double rtol = std::is_same_v<T, float> ? 2.5e-7 : 1e-15;
        const double atol = static_cast<double>(std::max<int64_t>(s.n, 1)) * std::ldexp(1.0, -53) *
                            static_cast<double>(max_abs_sum) + 1e-300;
        expect_close(out, ref, Tolerance<T>{atol, rtol}, what);
        expect_unchanged(x_dev, x, what);
    }
}

template <class T>
void check_max_dim() {
    uint64_t seed = 6000;
    for (const ReduceShape& s : reduce_shapes) {
        if (s.n == 0) continue;
        const std::string what = std::string("max_dim<") + dtype_name<T>() + "> [" + std::to_string(s.outer) + ", " +
                                 std::to_string(s.n) + ", " + std::to_string(s.inner) + "]";
        Generator gen(seed++);
        Tensor<T> x = randn<T>({s.outer, s.n, s.inner}, gen);
        T* p = x.data();
        for (int64_t i = 0; i < x.numel(); ++i) p[i] = std::round(p[i] * T(2)) / T(2);  // many ties
        // NaN in column/row 1 of the first outer slice (two of them: the first must win).
        if (s.outer > 0 && s.n > 3) {
            const int64_t j = s.inner > 1 ? 1 : 0;
            p[(0 * s.n + 2) * s.inner + j] = std::numeric_limits<T>::quiet_NaN();
            p[(0 * s.n + 3) * s.inner + j] = std::numeric_limits<T>::quiet_NaN();
        }
        Tensor<T> x_dev = x.to(gpu());
        Tensor<T> values = nan_filled<T>({s.outer, s.inner});
        Tensor<int64_t> indices = empty<int64_t>({s.outer, s.inner}, gpu());
        indices.fill_(-7);
        cuda::max_dim<T>(x_dev.data(), s.outer, s.n, s.inner, values.data(), indices.data());
        // Reference: a left-to-right scan with the CPU's rules (NaN wins, first occurrence wins).
        Tensor<T> ref_values = empty<T>({s.outer, s.inner});
        std::vector<int64_t> ref_indices(static_cast<size_t>(s.outer * s.inner));
        for (int64_t o = 0; o < s.outer; ++o)
            for (int64_t j = 0; j < s.inner; ++j) {
                int64_t best = 0;
                for (int64_t r = 1; r < s.n; ++r) {
                    const T v = p[(o * s.n + r) * s.inner + j], b = p[(o * s.n + best) * s.inner + j];
                    if (std::isnan(b)) break;
                    if (std::isnan(v) || v > b) best = r;
                }
                ref_values.data()[o * s.inner + j] = p[(o * s.n + best) * s.inner + j];
                ref_indices[o * s.inner + j] = best;
            }
        expect_close(values, ref_values, Tolerance<T>{0, 0}, what + " values");
        const std::vector<int64_t> got = indices.to(Device::cpu()).to_vector();
        int64_t wrong = 0;
        std::ostringstream report;
        for (size_t i = 0; i < got.size(); ++i)
            if (got[i] != ref_indices[i] && ++wrong <= 8)
                report << "  index at " << index_str(static_cast<int64_t>(i), {s.outer, s.inner}) << ": got " << got[i]
                       << ", expected " << ref_indices[i] << "\n";
        CHECK_MESSAGE(wrong == 0, what, ": ", wrong, " wrong indices\n", report.str());
        expect_unchanged(x_dev, x, what);
    }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("cuda unary ops and their fused backward match the CPU (every op, 4 sizes, 4 layouts)") {
    check_unary_family<float>();
    check_unary_family<double>();
}

TEST_CASE("cuda binary ops with broadcasting and their gradients match the CPU") {
    check_binary_family<float>();
    check_binary_family<double>();
}

TEST_CASE("cuda binary_backward: a null output pointer is skipped, a missing y is refused where needed") {
    Tensor<float> a = full<float>({4}, 3.0f).to(gpu()), b = full<float>({4}, 2.0f).to(gpu()), g = ones<float>({4}).to(gpu());
    Tensor<float> ga = nan_filled<float>({4});
    cuda::binary_backward<float>(cuda::BinaryOp::mul, g.data(), {1}, a.data(), {1}, b.data(), {1}, nullptr, {}, {4},
                                 ga.data(), nullptr);
    expect_close(ga, full<float>({4}, 2.0f), {0, 0}, "mul grad a");
    CHECK_THROWS_WITH_AS(cuda::binary_backward<float>(cuda::BinaryOp::div, g.data(), {1}, a.data(), {1}, b.data(), {1},
                                                      nullptr, {}, {4}, nullptr, ga.data()),
                         doctest::Contains("forward output y is needed"), Error);
}

TEST_CASE("cuda fill: dense (memset path), -0.0 (kernel path), strided views, integer types") {
    Tensor<float> t = nan_filled<float>({5, 7});
    t.fill_(0.0f);
    expect_close(t, zeros<float>({5, 7}), {0, 0}, "fill 0");
    t.fill_(-0.0f);
    for (float v : t.to(Device::cpu()).to_vector()) CHECK(std::signbit(v));  // memset would have written +0
    // A transposed view and a narrowed view: only their elements change.
    Tensor<float> base = nan_filled<float>({4, 6});
    base.narrow(1, 1, 3).fill_(2.5f);
    Tensor<float> expected = full<float>({4, 6}, std::numeric_limits<float>::quiet_NaN());
    expected.narrow(1, 1, 3).fill_(2.5f);
    expect_close(base, expected, {0, 0}, "fill narrowed");
    Tensor<double> tt = nan_filled<double>({3, 5});
    tt.transpose(0, 1).fill_(-1.25);
    expect_close(tt, full<double>({3, 5}, -1.25), {0, 0}, "fill transposed");
    Tensor<int64_t> i = empty<int64_t>({1001}, gpu());
    i.fill_(int64_t(-3));
    for (int64_t v : i.to(Device::cpu()).to_vector()) CHECK(v == -3);
    Tensor<uint8_t> m = empty<uint8_t>({17}, gpu());
    m.fill_(uint8_t(1));
    for (uint8_t v : m.to(Device::cpu()).to_vector()) CHECK(v == 1);
}

TEST_CASE("cuda copy: transposed, broadcast and narrowed sources and destinations") {
    Generator gen(7);
    Tensor<float> src = randn<float>({6, 9}, gen);
    Tensor<float> src_dev = src.to(gpu());
    // transposed source into a dense destination (contiguous(x))
    Tensor<float> dst = nan_filled<float>({9, 6});
    dst.copy_(src_dev.transpose(0, 1));
    expect_close(dst, src.transpose(0, 1).contiguous(), {0, 0}, "copy transposed");
    // a broadcast row into every row
    Tensor<float> rows = nan_filled<float>({4, 9});
    rows.copy_(src_dev.narrow(0, 2, 1));
    expect_close(rows, src.narrow(0, 2, 1).expand({4, 9}).contiguous(), {0, 0}, "copy broadcast");
    // into a narrowed destination: the other columns stay NaN
    Tensor<float> wide = nan_filled<float>({6, 12});
    wide.narrow(1, 2, 9).copy_(src_dev);
    Tensor<float> expected = full<float>({6, 12}, std::numeric_limits<float>::quiet_NaN());
    expected.narrow(1, 2, 9).copy_(src);
    expect_close(wide, expected, {0, 0}, "copy into narrowed");
    // integer data through the raw entry point
    Tensor<int64_t> idx = arange<int64_t>(0, 20).reshape({4, 5});
    Tensor<int64_t> idx_dev = idx.to(gpu());
    Tensor<int64_t> idx_t = empty<int64_t>({5, 4}, gpu());
    cuda::copy<int64_t>(idx_dev.data(), {1, 5}, idx_t.data(), {4, 1}, {5, 4});
    CHECK(idx_t.to(Device::cpu()).to_vector() == idx.transpose(0, 1).contiguous().to_vector());
    expect_unchanged(src_dev, src, "copy source");
}

TEST_CASE("cuda elementwise refuses shapes with more than 8 unmergeable dimensions") {
    const Shape shape(9, 2);
    Shape strides(9);
    for (int d = 0; d < 9; ++d) strides[static_cast<size_t>(d)] = int64_t(1) << (2 * (8 - d));  // gaps: nothing merges
    Tensor<float> out = empty<float>({87382}, gpu());  // covers the largest offset, Σ 4^k for k ≤ 8, should it run
    CHECK_THROWS_WITH_AS(cuda::fill<float>(out.data(), shape, strides, 1.0f), doctest::Contains("at most 8"), Error);
}

TEST_CASE("cuda sum_dim matches a long-double reference (rows, columns, chunked two-pass, empty)") {
    check_sum_dim<float>();
    check_sum_dim<double>();
}

TEST_CASE("cuda max_dim: values and indices with ties and NaN, the CPU's rules") {
    check_max_dim<float>();
    check_max_dim<double>();
    Tensor<float> out = empty<float>({3}, gpu());
    CHECK_THROWS_AS(cuda::max_dim<float>(out.data(), 3, 0, 1, out.data(), nullptr), Error);
}

}  // TEST_SUITE
