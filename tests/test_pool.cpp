// Pooling: PyTorch's output sizes and divisors by hand, the fast path against the reference loops
// on awkward shapes (forward and backward), gradchecks in double, and the error messages.
#include <doctest/doctest.h>

#include <seam/cpu/reference/pool.hpp>
#include <seam/ops/pool.hpp>
#include <seam/seam.hpp>

using namespace seam;

namespace {
template <class T>
void check_close(const Tensor<T>& a, const Tensor<T>& b, double tol = 1e-5) {
    REQUIRE(a.shape() == b.shape());
    auto va = a.to_vector(), vb = b.to_vector();
    for (size_t i = 0; i < va.size(); ++i)
        REQUIRE_MESSAGE(std::abs(double(va[i]) - double(vb[i])) <= tol * (1 + std::abs(double(vb[i]))), "element ", i,
                        ": ", va[i], " vs ", vb[i]);
}
using Fn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;
void expect_gradcheck(const Fn& fn, std::vector<Tensor<double>> in) {
    auto r = gradcheck(fn, std::move(in));
    CHECK_MESSAGE(r.ok, r.message);
}
/// Values 0.1 apart in a scrambled order: no ties, so max pooling is differentiable at them.
Tensor<double> distinct(const Shape& shape) {
    const int64_t n = numel_of(shape);
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[i] = 0.1 * static_cast<double>((i * 7919) % n) - 0.05 * n;  // 7919 is prime
    return from_vector(v, shape);
}
Pool2dOptions pool(std::array<int64_t, 2> k, std::array<int64_t, 2> s = {0, 0}, std::array<int64_t, 2> p = {0, 0},
                   std::array<int64_t, 2> d = {1, 1}, bool ceil = false) {
    return Pool2dOptions{k, s, p, d, ceil};
}
/// The configurations every fast-vs-reference test runs through.
std::vector<Pool2dOptions> awkward_configs(bool with_dilation) {
    std::vector<Pool2dOptions> c = {
        pool({2, 2}),                                  // VGG: the specialised loop
        pool({2, 2}, {2, 2}, {0, 0}, {1, 1}, true),    // ceil_mode: odd sizes get a partial window
        pool({3, 3}, {2, 2}, {1, 1}),                  // ResNet stem
        pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, true),
        pool({3, 2}, {2, 1}, {1, 0}, {1, 1}, true),    // unequal kernel/stride/padding per axis
        pool({1, 1}, {2, 2}),                          // 1x1 kernel, stride 2
        pool({3, 3}, {3, 3}, {0, 0}, {1, 1}, true),
        pool({2, 2}, {2, 2}, {1, 1}),                  // padding 1 on a 2x2 window
        pool({3, 3}, {1, 1}, {1, 1}),
    };
    if (with_dilation) {
        c.push_back(pool({3, 3}, {1, 1}, {1, 1}, {2, 2}));
        c.push_back(pool({2, 3}, {2, 2}, {1, 1}, {2, 1}, true));
        c.push_back(pool({2, 2}, {1, 1}, {2, 2}, {3, 3}));  // padding 2 > kernel/2, allowed by the dilation
    }
    return c;
}
const std::vector<Shape> kShapes = {{1, 3, 7, 9}, {2, 5, 8, 8}, {1, 17, 5, 6}, {3, 2, 1, 1}, {1, 1, 2, 3}, {2, 3, 13, 4}};

std::string describe(const Shape& s, const Pool2dOptions& o) {
    return detail::concat("input ", shape_str(s), " kernel ", detail::pair_str(o.kernel), " stride ",
                          detail::pair_str(o.stride), " padding ", detail::pair_str(o.padding), " dilation ",
                          detail::pair_str(o.dilation), " ceil_mode ", o.ceil_mode);
}
bool geometry_ok(const Shape& s, const Pool2dOptions& o) {
    try {
        detail::pool2d_geometry("test", s, o);
        return true;
    } catch (const Error&) {
        return false;
    }
}
/// A float leaf stored NHWC and its NCHW view: a non-contiguous input whose gradient we can read.
std::pair<Tensor<float>, Tensor<float>> nhwc_input(const Shape& nchw, Generator& gen) {
    Tensor<float> base = randn<float>({nchw[0], nchw[2], nchw[3], nchw[1]}, gen).set_requires_grad();
    return {base, base.permute({0, 3, 1, 2})};
}
}  // namespace

TEST_CASE("pooling_output_size follows PyTorch, ceil_mode included") {
    // floor((5 - 2) / 2) + 1 = 2; ceil: ceil(3 / 2) + 1 = 3 (the last window is [4, 6), half inside)
    CHECK(pooling_output_size(5, 2, 0, 2, 1, false) == 2);
    CHECK(pooling_output_size(5, 2, 0, 2, 1, true) == 3);
    // 4x4, k3 s2 p1: floor(3 / 2) + 1 = 2; ceil: 2 + 1 = 3, last window starts at 4 - 1 = 3 < 4 + 1
    CHECK(pooling_output_size(4, 3, 1, 2, 1, false) == 2);
    CHECK(pooling_output_size(4, 3, 1, 2, 1, true) == 3);
    // 5, k2 s2 p1, ceil: ceil((5 + 2 - 2) / 2) + 1 = 4, but window 3 would start at 3*2 - 1 = 5,
    // which is in the right padding, so it is dropped: 3 (the same as floor mode)
    CHECK(pooling_output_size(5, 2, 1, 2, 1, true) == 3);
    CHECK(pooling_output_size(5, 2, 1, 2, 1, false) == 3);
    // dilation 2 makes a 3-tap window span 5: floor((7 - 5) / 1) + 1 = 3
    CHECK(pooling_output_size(7, 3, 0, 1, 2, false) == 3);
    // too small: floor((1 - 3) / 1) + 1 = -1
    CHECK(pooling_output_size(1, 3, 0, 1, 1, false) == -1);
    auto y = max_pool2d(zeros<float>({1, 1, 5, 5}), pool({2, 2}, {2, 2}, {0, 0}, {1, 1}, true));
    CHECK(y.shape() == Shape{1, 1, 3, 3});
}

TEST_CASE("max_pool2d: a 4x4 plane with 2x2 windows, values and indices written out") {
    // Windows (flat index h*4 + w in brackets):
    //   top-left  {1[0], 5[1], 3[4], 4[5]}      -> 5 at 1
    //   top-right {2[2], 0[3], 8[6], 6[7]}      -> 8 at 6
    //   bot-left  {7[8], 0[9], 9[12], 3[13]}    -> 9 at 12
    //   bot-right {5[10], 2[11], 4[14], 5[15]}  -> 5, a tie: the first in scan order, 10
    auto x = from_vector<float>({1, 5, 2, 0,  //
                                 3, 4, 8, 6,  //
                                 7, 0, 5, 2,  //
                                 9, 3, 4, 5},
                                {1, 1, 4, 4})
                 .set_requires_grad();
    auto [y, idx] = max_pool2d_with_indices(x, pool({2, 2}));
    CHECK(y.to_vector() == std::vector<float>{5, 8, 9, 5});
    CHECK(idx.to_vector() == std::vector<int64_t>{1, 6, 12, 10});
    y.backward(from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2}));
    CHECK(x.grad().to_vector() == std::vector<float>{0, 1, 0, 0,  //
                                                     0, 0, 2, 0,  //
                                                     0, 0, 4, 0,  //
                                                     3, 0, 0, 0});
    // The general loop (same windows via a 2x2 kernel with an explicit stride and ceil_mode on a
    // 4x4 input, which changes nothing here) must agree with the specialised one.
    auto [y2, idx2] = max_pool2d_with_indices(x.detach(), pool({2, 2}, {2, 2}, {0, 0}, {1, 1}, true));
    CHECK(idx2.to_vector() == idx.to_vector());
    auto ref = reference::max_pool2d(x.detach(), pool({2, 2}));
    CHECK(ref.second.to_vector() == idx.to_vector());
}

TEST_CASE("max pooling: ties go to the first maximum in scan order in every loop") {
    // 2x2 windows at stride 1 over [[5, 1, 5], [5, 5, 0]] (the general loop, not the VGG one):
    //   window (0,0) = {5[0], 1[1], 5[3], 5[4]} -> index 0; window (0,1) = {1[1], 5[2], 5[4], 0[5]} -> 2
    auto x = from_vector<float>({5, 1, 5, 5, 5, 0}, {1, 1, 2, 3}).set_requires_grad();
    auto [y, idx] = max_pool2d_with_indices(x, pool({2, 2}, {1, 1}));
    CHECK(idx.to_vector() == std::vector<int64_t>{0, 2});
    CHECK(reference::max_pool2d(x.detach(), pool({2, 2}, {1, 1})).second.to_vector() == idx.to_vector());
    y.backward(from_vector<float>({1, 10}, {1, 1, 1, 2}));
    CHECK(x.grad().to_vector() == std::vector<float>{1, 0, 10, 0, 0, 0});
    // Adaptive {1, 2} over width 3: windows [0, 2) and [1, 3) -> the same two windows.
    auto [ya, ia] = adaptive_max_pool2d_with_indices(x.detach(), {1, 2});
    CHECK(ia.to_vector() == std::vector<int64_t>{0, 2});
    CHECK(reference::adaptive_max_pool2d(x.detach(), {1, 2}).second.to_vector() == ia.to_vector());
    // The VGG loop: a constant plane gives the top-left element of each window.
    auto [yc, ic] = max_pool2d_with_indices(full<float>({1, 1, 4, 4}, 2.0f), pool({2, 2}));
    CHECK(ic.to_vector() == std::vector<int64_t>{0, 2, 8, 10});
}

TEST_CASE("max_pool2d: padding is -inf (never wins), NaN propagates") {
    // 2x2 plane of negatives, k2 s2 p1: every window holds exactly one real element.
    auto x = from_vector<float>({-3, -1, -4, -2}, {1, 1, 2, 2});
    auto [y, idx] = max_pool2d_with_indices(x, pool({2, 2}, {2, 2}, {1, 1}));
    CHECK(y.to_vector() == std::vector<float>{-3, -1, -4, -2});
    CHECK(idx.to_vector() == std::vector<int64_t>{0, 1, 2, 3});
    // k2 dilation 3 padding 1 on a height of 2: the taps are rows -1 and 2, both outside. The
    // window is empty: -inf, index -1, and no gradient (PyTorch would return an index off the plane).
    auto tall = from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2}).set_requires_grad();
    auto empty_window = pool({2, 1}, {1, 1}, {1, 0}, {3, 1});
    auto [ye, ie] = max_pool2d_with_indices(tall, empty_window);
    REQUIRE(ye.shape() == Shape{1, 1, 1, 2});
    CHECK(ye.to_vector() == std::vector<float>(2, -INFINITY));
    CHECK(ie.to_vector() == std::vector<int64_t>{-1, -1});
    CHECK(reference::max_pool2d(tall.detach(), empty_window).second.to_vector() == ie.to_vector());
    ye.backward(ones<float>({1, 1, 1, 2}));
    CHECK(tall.grad().to_vector() == std::vector<float>(4, 0.0f));
    auto nan = from_vector<float>({1, NAN, 3, 2}, {1, 1, 2, 2});
    auto [yn, in] = max_pool2d_with_indices(nan, pool({2, 2}));
    CHECK(std::isnan(yn.item()));
    CHECK(in.item() == 1);
    CHECK(std::isnan(reference::max_pool2d(nan, pool({2, 2})).first.item()));
}

TEST_CASE("max_pool2d: fast path equals reference on awkward shapes, forward and backward") {
    Generator gen(11);
    int checked = 0;
    for (const auto& opt : awkward_configs(true))
        for (const Shape& s : kShapes) {
            if (!geometry_ok(s, opt)) continue;
            INFO(describe(s, opt));
            auto [base, x] = nhwc_input(s, gen);
            auto [y, idx] = max_pool2d_with_indices(x, opt);
            auto [ry, ridx] = reference::max_pool2d(x.detach(), opt);
            REQUIRE(y.to_vector() == ry.to_vector());  // a max is exact
            REQUIRE(idx.to_vector() == ridx.to_vector());
            CHECK(max_pool2d(x.detach(), opt).to_vector() == ry.to_vector());  // the no-index path
            auto g = randn<float>(y.shape(), gen);
            y.backward(g);
            check_close(base.grad().permute({0, 3, 1, 2}).contiguous(), reference::max_pool2d_backward(g, ridx, s));
            ++checked;
        }
    CHECK(checked > 40);
}

TEST_CASE("pooling: large inputs (threaded over planes) match the reference, forward and backward") {
    Generator gen(12);
    auto x = randn<float>({2, 40, 30, 31}, gen).set_requires_grad();
    // The VGG 2x2 path.
    auto [y, idx] = max_pool2d_with_indices(x, pool({2, 2}));
    auto [ry, ridx] = reference::max_pool2d(x.detach(), pool({2, 2}));
    CHECK(y.shape() == Shape{2, 40, 15, 15});
    CHECK(y.to_vector() == ry.to_vector());
    CHECK(idx.to_vector() == ridx.to_vector());
    auto g = randn<float>(y.shape(), gen);
    y.backward(g);
    check_close(x.grad(), reference::max_pool2d_backward(g, ridx, x.shape()));
    // Average 3x3 stride 2 padding 1, ceil_mode.
    const auto opt = pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, true);
    x.zero_grad();
    auto ya = avg_pool2d(x, opt);
    check_close(ya, reference::avg_pool2d(x.detach(), opt));
    auto ga = randn<float>(ya.shape(), gen);
    ya.backward(ga);
    check_close(x.grad(), reference::avg_pool2d_backward(ga, x.shape(), opt));
    // Adaptive average and max.
    x.zero_grad();
    auto yd = adaptive_avg_pool2d(x, {7, 7});
    check_close(yd, reference::adaptive_avg_pool2d(x.detach(), {7, 7}));
    auto gd = randn<float>(yd.shape(), gen);
    yd.backward(gd);
    check_close(x.grad(), reference::adaptive_avg_pool2d_backward(gd, x.shape()));
    x.zero_grad();
    auto [ym, im] = adaptive_max_pool2d_with_indices(x, {7, 7});
    auto [rm, rim] = reference::adaptive_max_pool2d(x.detach(), {7, 7});
    CHECK(ym.to_vector() == rm.to_vector());
    CHECK(im.to_vector() == rim.to_vector());
    ym.backward(gd);
    check_close(x.grad(), reference::max_pool2d_backward(gd, rim, x.shape()));
}

TEST_CASE("avg_pool2d: PyTorch's divisors by hand") {
    // x = 1..9 in a 3x3 plane, k2 s2 ceil_mode: windows [0,2)x[0,2) = (1+2+4+5)/4 = 3,
    // [0,2)x[2,3) = (3+6)/2 = 4.5, [2,3)x[0,2) = (7+8)/2 = 7.5, [2,3)x[2,3) = 9/1 = 9.
    // (Without padding, the part past the input is not counted even with count_include_pad.)
    auto x = from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
    auto ceil = pool({2, 2}, {2, 2}, {0, 0}, {1, 1}, true);
    CHECK(avg_pool2d(x, ceil).to_vector() == std::vector<float>{3, 4.5f, 7.5f, 9});
    CHECK(avg_pool2d(x, pool({2, 2})).to_vector() == std::vector<float>{3});

    // ones(4x4), k3 s2 p1, ceil_mode -> 3x3 outputs (floor mode gives 2x2).
    // Rows of window 0: [-1, 2) -> 3 padded, 2 inside; window 1: [1, 4) -> 3, 3;
    // window 2: [3, 6) clipped to the padding end 5 -> 2 padded, 1 inside.
    auto ones4 = ones<float>({1, 1, 4, 4});
    auto opt = pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, true);
    auto with_pad = avg_pool2d(ones4, opt).to_vector();  // inside*inside / padded*padded
    std::vector<float> expect_with = {4.f / 9, 6.f / 9, 2.f / 6, 6.f / 9, 1, 3.f / 6, 2.f / 6, 3.f / 6, 1.f / 4};
    REQUIRE(with_pad.size() == 9);
    for (size_t i = 0; i < 9; ++i) CHECK(with_pad[i] == doctest::Approx(expect_with[i]));
    CHECK(avg_pool2d(ones4, opt, {.count_include_pad = false}).to_vector() == std::vector<float>(9, 1.0f));
    CHECK(avg_pool2d(ones4, pool({3, 3}, {2, 2}, {1, 1})).shape() == Shape{1, 1, 2, 2});
    // divisor_override replaces every divisor: corner sum 4 / 2 = 2
    CHECK(avg_pool2d(ones4, opt, {.divisor_override = 2}).to_vector()[0] == 2.0f);
}

TEST_CASE("avg_pool2d: fast path equals reference on awkward shapes, forward and backward") {
    Generator gen(13);
    int checked = 0;
    for (const auto& opt : awkward_configs(false))
        for (const Shape& s : kShapes)
            for (AvgPoolOptions avg : {AvgPoolOptions{true, 0}, AvgPoolOptions{false, 0}, AvgPoolOptions{true, 3}}) {
                if (!geometry_ok(s, opt)) continue;
                INFO(describe(s, opt), " count_include_pad ", avg.count_include_pad, " divisor_override ",
                     avg.divisor_override);
                auto [base, x] = nhwc_input(s, gen);
                auto y = avg_pool2d(x, opt, avg);
                check_close(y, reference::avg_pool2d(x.detach(), opt, avg));
                auto g = randn<float>(y.shape(), gen);
                y.backward(g);
                check_close(base.grad().permute({0, 3, 1, 2}).contiguous(), reference::avg_pool2d_backward(g, s, opt, avg));
                ++checked;
            }
    CHECK(checked > 100);
}

TEST_CASE("adaptive pooling: overlapping windows by hand") {
    // H = 5 -> 3: windows [0, 2), [1, 4), [3, 5) (floor(i*5/3), ceil((i+1)*5/3)).
    auto x = from_vector<float>({1, 2, 3, 4, 10}, {1, 1, 5, 1}).set_requires_grad();
    CHECK(adaptive_avg_pool2d(x.detach(), {3, 1}).to_vector() == std::vector<float>{1.5f, 3, 7});
    auto [m, idx] = adaptive_max_pool2d_with_indices(x, {3, 1});
    CHECK(m.to_vector() == std::vector<float>{2, 4, 10});
    CHECK(idx.to_vector() == std::vector<int64_t>{1, 3, 4});
    m.backward(from_vector<float>({1, 2, 3}, {1, 1, 3, 1}));
    CHECK(x.grad().to_vector() == std::vector<float>{0, 1, 0, 2, 3});
    // global average pooling is adaptive {1, 1}
    CHECK(adaptive_avg_pool2d(x.detach(), {1, 1}).item() == doctest::Approx(4.0f));
}

TEST_CASE("adaptive pooling: fast path equals reference, forward and backward") {
    Generator gen(14);
    for (const Shape& s : kShapes)
        for (std::array<int64_t, 2> size : {std::array<int64_t, 2>{1, 1}, {3, 2}, {4, 4}, {7, 9}, {2, 5}}) {
            INFO("input ", shape_str(s), " output ", size[0], "x", size[1]);
            auto [base, x] = nhwc_input(s, gen);
            auto y = adaptive_avg_pool2d(x, size);
            check_close(y, reference::adaptive_avg_pool2d(x.detach(), size));
            auto g = randn<float>(y.shape(), gen);
            y.backward(g);
            check_close(base.grad().permute({0, 3, 1, 2}).contiguous(), reference::adaptive_avg_pool2d_backward(g, s));

            auto [base2, x2] = nhwc_input(s, gen);
            auto [m, idx] = adaptive_max_pool2d_with_indices(x2, size);
            auto [rm, ridx] = reference::adaptive_max_pool2d(x2.detach(), size);
            REQUIRE(m.to_vector() == rm.to_vector());
            REQUIRE(idx.to_vector() == ridx.to_vector());
            m.backward(g);
            check_close(base2.grad().permute({0, 3, 1, 2}).contiguous(), reference::max_pool2d_backward(g, ridx, s));
        }
}

TEST_CASE("gradcheck: pooling ops in double") {
    auto x = distinct({2, 2, 5, 6}).set_requires_grad();
    expect_gradcheck([](const auto& in) { return max_pool2d(in[0], pool({2, 2})); }, {x});
    expect_gradcheck([](const auto& in) { return max_pool2d(in[0], pool({3, 3}, {2, 2}, {1, 1})); }, {x});
    expect_gradcheck([](const auto& in) { return max_pool2d(in[0], pool({2, 2}, {1, 2}, {1, 0}, {2, 2}, true)); }, {x});
    expect_gradcheck([](const auto& in) { return max_pool2d(in[0].transpose(2, 3), pool({2, 3}, {2, 2}, {0, 0}, {1, 1}, true)); },
                     {x});
    expect_gradcheck([](const auto& in) { return avg_pool2d(in[0], pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, true)); }, {x});
    expect_gradcheck(
        [](const auto& in) { return avg_pool2d(in[0], pool({3, 2}, {2, 1}, {1, 1}, {1, 1}, true), {.count_include_pad = false}); },
        {x});
    expect_gradcheck([](const auto& in) { return avg_pool2d(in[0], pool({2, 2}), {.divisor_override = 3}); }, {x});
    expect_gradcheck([](const auto& in) { return adaptive_avg_pool2d(in[0], {3, 4}); }, {x});
    expect_gradcheck([](const auto& in) { return adaptive_avg_pool2d(in[0], {1, 1}); }, {x});
    expect_gradcheck([](const auto& in) { return adaptive_max_pool2d(in[0], {3, 4}); }, {x});
    expect_gradcheck([](const auto& in) { return adaptive_max_pool2d(in[0], {7, 8}); }, {x});
}

TEST_CASE("pooling: bad shapes and options give errors naming the op and the shapes") {
    auto x = zeros<float>({1, 2, 4, 4});
    CHECK_THROWS_WITH_AS(max_pool2d(zeros<float>({2, 4, 4}), pool({2, 2})),
                         doctest::Contains("max_pool2d: input of shape [2, 4, 4] must be 4-D"), Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, pool({0, 2})), doctest::Contains("max_pool2d: kernel size must be positive, got (0, 2)"),
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, pool({3, 3}, {1, 1}, {2, 1})),
                         doctest::Contains("max_pool2d: padding (2, 1) must be at most half the effective kernel size (3, 3)"), Error);
    // Dilation widens the bound: a 2-tap window at dilation 3 spans 4, so padding 2 is allowed, 3 is not.
    CHECK(max_pool2d(x, pool({2, 2}, {1, 1}, {2, 2}, {3, 3})).shape() == Shape{1, 2, 5, 5});
    CHECK_THROWS_WITH_AS(max_pool2d(x, pool({2, 2}, {1, 1}, {3, 3}, {3, 3})),
                         doctest::Contains("max_pool2d: padding (3, 3) must be at most half the effective kernel size (4, 4) "
                                           "(kernel (2, 2), dilation (3, 3))"),
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, pool({2, 2}, {0, 1})), doctest::Contains("max_pool2d: stride must be positive"), Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, pool({5, 5})), doctest::Contains("max_pool2d: input of shape [1, 2, 4, 4] is too small"),
                         Error);
    CHECK_THROWS_WITH_AS(avg_pool2d(x, pool({2, 2}, {2, 2}, {0, 0}, {2, 2})),
                         doctest::Contains("avg_pool2d: dilation (2, 2) is not supported"), Error);
    CHECK_THROWS_WITH_AS(avg_pool2d(zeros<float>({4, 4}), pool({2, 2})),
                         doctest::Contains("avg_pool2d: input of shape [4, 4] must be 4-D"), Error);
    CHECK_THROWS_WITH_AS(adaptive_avg_pool2d(zeros<float>({1, 2, 0, 4}), {1, 1}),
                         doctest::Contains("adaptive_avg_pool2d: input of shape [1, 2, 0, 4] must have non-zero height"), Error);
    CHECK_THROWS_WITH_AS(adaptive_max_pool2d(zeros<float>({3, 4}), {1, 1}),
                         doctest::Contains("adaptive_max_pool2d: input of shape [3, 4] must be 4-D"), Error);
}
