// Upsampling and padding: PyTorch's coordinates worked out by hand, the fast path against the
// reference loops on awkward shapes (forward and backward), gradchecks in double, error messages.
#include <doctest/doctest.h>

#include <seam/cpu/reference/resize.hpp>
#include <seam/ops/resize.hpp>
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
template <class T>
void check_values(const Tensor<T>& a, const std::vector<double>& expect, double tol = 1e-6) {
    auto va = a.to_vector();
    REQUIRE(va.size() == expect.size());
    for (size_t i = 0; i < va.size(); ++i)
        CHECK_MESSAGE(std::abs(double(va[i]) - expect[i]) <= tol, "element ", i, ": ", va[i], " vs ", expect[i]);
}
using Fn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;
void expect_gradcheck(const Fn& fn, std::vector<Tensor<double>> in) {
    auto r = gradcheck(fn, std::move(in));
    CHECK_MESSAGE(r.ok, r.message);
}
/// A float leaf stored NHWC and its NCHW view: a non-contiguous input whose gradient we can read.
std::pair<Tensor<float>, Tensor<float>> nhwc_input(const Shape& nchw, Generator& gen) {
    Tensor<float> base = randn<float>({nchw[0], nchw[2], nchw[3], nchw[1]}, gen).set_requires_grad();
    return {base, base.permute({0, 3, 1, 2})};
}
Tensor<float> nchw_grad(const Tensor<float>& base) { return base.grad().permute({0, 3, 1, 2}).contiguous(); }

const std::vector<Shape> kShapes = {{1, 3, 7, 9}, {2, 5, 4, 4}, {1, 17, 5, 6}, {3, 2, 1, 1}, {1, 1, 2, 3}};
const std::vector<std::array<int64_t, 2>> kSizes = {{1, 1}, {3, 5}, {8, 8}, {14, 18}, {2, 7}, {5, 6}, {13, 4}};
}  // namespace

TEST_CASE("upsample_nearest2d: source index floor(dst * in / out) by hand") {
    // H 2 -> 3: floor(0 * 2/3) = 0, floor(2/3) = 0, floor(4/3) = 1
    // W 3 -> 5: floor(0 * .6) = 0, .6 -> 0, 1.2 -> 1, 1.8 -> 1, 2.4 -> 2
    auto x = from_vector<float>({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3}).set_requires_grad();
    auto y = upsample_nearest2d(x, {3, 5});
    CHECK(y.to_vector() == std::vector<float>{1, 1, 2, 2, 3,  //
                                              1, 1, 2, 2, 3,  //
                                              4, 4, 5, 5, 6});
    // Each input element receives the sum of the outputs that copied it.
    y.backward(ones<float>({1, 1, 3, 5}));
    CHECK(x.grad().to_vector() == std::vector<float>{4, 4, 2, 2, 2, 1});
    // Scale factor 2 doubles every pixel.
    CHECK(upsample_nearest2d(x.detach(), 2.0).to_vector() ==
          std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6});
    // A scale factor is used as given: W 4, scale 1.7 -> out floor(6.8) = 6 and src = floor(dst / 1.7):
    // 0, 0, 1.18 -> 1, 1.76 -> 1, 2.35 -> 2, 2.94 -> 2. Asking for size 6 instead uses 4/6:
    // 0, 0, 1.33 -> 1, 2, 2.67 -> 2, 3.33 -> 3.
    auto row = from_vector<float>({0, 1, 2, 3}, {1, 1, 1, 4});
    CHECK(upsample_nearest2d(row, 1.0, 1.7).to_vector() == std::vector<float>{0, 0, 1, 1, 2, 2});
    CHECK(upsample_nearest2d(row, {1, 6}).to_vector() == std::vector<float>{0, 0, 1, 2, 2, 3});
    // Downsampling 4 -> 3: floor(0), floor(4/3) = 1, floor(8/3) = 2
    CHECK(upsample_nearest2d(row, {1, 3}).to_vector() == std::vector<float>{0, 1, 2});
}

TEST_CASE("upsample_bilinear2d: 2x2 -> 4x4 with both align_corners values, by hand") {
    auto x = from_vector<double>({1, 2, 3, 4}, {1, 1, 2, 2});
    // align_corners = false: src = (dst + 0.5) * 2/4 - 0.5 = dst/2 - 1/4, clamped at 0:
    //   dst 0 -> 0 (clamped): x0;  1 -> 0.25: .75 x0 + .25 x1;  2 -> 0.75: .25 x0 + .75 x1;
    //   3 -> 1.25: floor 1 is the last element, so both neighbours are x1.
    // Along a row (1, 2): 1, 1.25, 1.75, 2; row (3, 4): 3, 3.25, 3.75, 4. The columns blend those
    // rows with the same weights: row 1 = .75 r0 + .25 r1, row 2 = .25 r0 + .75 r1.
    check_values(upsample_bilinear2d(x, {4, 4}, false), {1, 1.25, 1.75, 2,       //
                                                         1.5, 1.75, 2.25, 2.5,   //
                                                         2.5, 2.75, 3.25, 3.5,   //
                                                         3, 3.25, 3.75, 4});
    // align_corners = true: src = dst * (2 - 1)/(4 - 1) = dst/3, so the corners map to corners and
    // the output is the plane f(y, x) = 1 + x + 2y sampled at x, y in {0, 1/3, 2/3, 1}.
    check_values(upsample_bilinear2d(x, {4, 4}, true), {1, 4. / 3, 5. / 3, 2,          //
                                                        5. / 3, 2, 7. / 3, 8. / 3,    //
                                                        7. / 3, 8. / 3, 3, 10. / 3,   //
                                                        3, 10. / 3, 11. / 3, 4}, 1e-12);
    // Scale factor 1.5 on a width of 3: out 4, src = (dst + .5) / 1.5 - .5 = 0 (clamped), .5,
    // 1.1667, 1.8333; on the ramp 0, 1, 2 the value is the source coordinate itself. Asking for
    // size 4 instead uses 3/4: src = 0, .625, 1.375, 2.125 -> clamped to the last element, 2.
    auto ramp = from_vector<double>({0, 1, 2}, {1, 1, 1, 3});
    check_values(upsample_bilinear2d(ramp, 1.0, 1.5, false), {0, 0.5, 7. / 6, 11. / 6}, 1e-12);
    check_values(upsample_bilinear2d(ramp, {1, 4}, false), {0, 0.625, 1.375, 2}, 1e-12);
    // align_corners with one output column samples the first input column.
    check_values(upsample_bilinear2d(x, {2, 1}, true), {1, 3});
}

TEST_CASE("upsample_bilinear2d: backward spreads each gradient with the forward weights") {
    // 1 x 2 -> 1 x 4, corners off: the weights on (x0, x1) are (1,0), (.75,.25), (.25,.75), (0,1).
    auto x = from_vector<double>({5, 7}, {1, 1, 1, 2}).set_requires_grad();
    upsample_bilinear2d(x, {1, 4}, false).backward(from_vector<double>({1, 10, 100, 1000}, {1, 1, 1, 4}));
    check_values(x.grad(), {1 + 7.5 + 25, 2.5 + 75 + 1000}, 1e-12);
}

TEST_CASE("upsampling: fast path equals reference on awkward shapes, forward and backward") {
    Generator gen(21);
    for (const Shape& s : kShapes)
        for (const auto& size : kSizes) {
            INFO("input ", shape_str(s), " output ", size[0], "x", size[1]);
            {
                auto [base, x] = nhwc_input(s, gen);
                auto y = upsample_nearest2d(x, size);
                REQUIRE(y.to_vector() == reference::upsample_nearest2d(x.detach(), size).to_vector());
                auto g = randn<float>(y.shape(), gen);
                y.backward(g);
                check_close(nchw_grad(base), reference::upsample_nearest2d_backward(g, s));
            }
            for (bool align : {false, true}) {
                INFO("align_corners ", align);
                auto [base, x] = nhwc_input(s, gen);
                auto y = upsample_bilinear2d(x, size, align);
                check_close(y, reference::upsample_bilinear2d(x.detach(), size, align));
                auto g = randn<float>(y.shape(), gen);
                y.backward(g);
                check_close(nchw_grad(base), reference::upsample_bilinear2d_backward(g, s, align));
            }
        }
    // scale-factor overloads (non-integer factors; 1.2 on a size of 4 keeps 4: PyTorch copies)
    for (const Shape& s : kShapes)
        for (auto [sh, sw] : {std::pair{2.0, 2.0}, {1.5, 2.7}, {0.6, 1.2}, {3.0, 1.0}}) {
            INFO("input ", shape_str(s), " scales ", sh, ", ", sw);
            auto x = randn<float>(s, gen);
            if (std::floor(s[2] * sh) < 1 || std::floor(s[3] * sw) < 1) continue;
            auto yn = upsample_nearest2d(x, sh, sw);
            std::array<int64_t, 2> size{yn.size(2), yn.size(3)};
            CHECK(size[0] == static_cast<int64_t>(std::floor(s[2] * sh)));
            CHECK(yn.to_vector() == reference::upsample_nearest2d(x, size, sh, sw).to_vector());
            for (bool align : {false, true})
                check_close(upsample_bilinear2d(x, sh, sw, align), reference::upsample_bilinear2d(x, size, align, sh, sw));
        }
}

TEST_CASE("upsampling: a large input (threaded over rows and planes) matches the reference") {
    Generator gen(24);
    auto x = randn<float>({2, 24, 20, 23}, gen).set_requires_grad();
    auto yn = upsample_nearest2d(x, {41, 47});
    CHECK(yn.to_vector() == reference::upsample_nearest2d(x.detach(), {41, 47}).to_vector());
    auto g = randn<float>(yn.shape(), gen);
    yn.backward(g);
    check_close(x.grad(), reference::upsample_nearest2d_backward(g, x.shape()));
    x.zero_grad();
    auto yb = upsample_bilinear2d(x, {41, 47}, false);
    check_close(yb, reference::upsample_bilinear2d(x.detach(), {41, 47}, false));
    yb.backward(g);
    check_close(x.grad(), reference::upsample_bilinear2d_backward(g, x.shape(), false), 1e-4);
}

TEST_CASE("pad: reflect and constant by hand") {
    auto v = from_vector<float>({1, 2, 3, 4});
    // reflect mirrors about the edge element without repeating it: 3 2 | 1 2 3 4 | 3
    CHECK(pad(v, {2, 1}, PadMode::reflect).to_vector() == std::vector<float>{3, 2, 1, 2, 3, 4, 3});
    CHECK(pad(v, {3, 3}, PadMode::reflect).to_vector() == std::vector<float>{4, 3, 2, 1, 2, 3, 4, 3, 2, 1});
    // constant with a negative pad crops: 9 | 1 2 3 (4 cut)
    CHECK(pad(v, {1, -1}, PadMode::constant, 9.0f).to_vector() == std::vector<float>{9, 1, 2, 3});
    CHECK(pad(v, {-2, -2}).numel() == 0);
    // 2-D: {left, right, top, bottom} = {1, 0, 0, 1} on [[1, 2], [3, 4]]:
    //   reflect: rows 1 2 / 3 4 / 1 2 (bottom mirrors row 0), each row gets its second element on the left.
    auto m = from_vector<float>({1, 2, 3, 4}, {2, 2}).set_requires_grad();
    auto r = pad(m, {1, 0, 0, 1}, PadMode::reflect);
    CHECK(r.shape() == Shape{3, 3});
    CHECK(r.to_vector() == std::vector<float>{2, 1, 2, 4, 3, 4, 2, 1, 2});
    // The gradient of each input element counts its copies: 1 appears twice, 2 four times, 3 once, 4 twice.
    r.backward(ones<float>({3, 3}));
    CHECK(m.grad().to_vector() == std::vector<float>{2, 4, 1, 2});
    CHECK(pad(m.detach(), {0, 1, 1, 0}, PadMode::constant, -1.0f).to_vector() ==
          std::vector<float>{-1, -1, -1, 1, 2, -1, 3, 4, -1});
    // Only the last dimension when one pair is given; a 3-D input padded in its last two only.
    auto cube = arange<float>(8.0f).reshape({2, 2, 2});
    CHECK(pad(cube, {0, 1}).shape() == Shape{2, 2, 3});
    CHECK(pad(cube, {0, 0, 1, 0}).to_vector() == std::vector<float>{0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 7});
    CHECK(pad(cube, {}).to_vector() == cube.to_vector());
}

TEST_CASE("pad: fast path equals reference on awkward shapes, forward and backward") {
    Generator gen(22);
    struct Case {
        Shape shape;
        std::vector<int64_t> pads;
        PadMode mode;
    };
    const std::vector<Case> cases = {
        {{7}, {3, 2}, PadMode::reflect},
        {{7}, {-2, 4}, PadMode::constant},
        {{2, 3, 5, 6}, {1, 2, 3, 0}, PadMode::reflect},
        {{2, 3, 5, 6}, {5, 5, 4, 4}, PadMode::reflect},
        {{2, 3, 5, 6}, {1, -2, -1, 3}, PadMode::constant},
        {{1, 17, 1, 1}, {0, 0, 0, 0}, PadMode::reflect},
        {{1, 17, 1, 1}, {2, 1, 1, 2}, PadMode::constant},
        {{3, 4, 5}, {1, 1, 2, 2, 2, 2}, PadMode::reflect},   // every dimension padded (one outer plane)
        {{2, 3, 4, 5}, {1, 0, 0, 2, 2, 1}, PadMode::reflect},  // 3 trailing dimensions
        {{2, 3, 4, 5}, {0, 0, 0, 0, 0, 0, 1, 1}, PadMode::constant},
        {{5, 3}, {0, 0, -5, 0}, PadMode::constant},              // crops a dimension to nothing
    };
    for (const auto& c : cases) {
        INFO("shape ", shape_str(c.shape), " pads ", shape_str(c.pads), " reflect ", c.mode == PadMode::reflect);
        // A transposed (non-contiguous) leaf view.
        Shape rev(c.shape.rbegin(), c.shape.rend());
        Tensor<float> base = randn<float>(rev, gen).set_requires_grad();
        Shape order(c.shape.size());
        for (size_t d = 0; d < order.size(); ++d) order[d] = static_cast<int64_t>(order.size() - 1 - d);
        Tensor<float> x = base.permute(order);
        auto y = pad(x, c.pads, c.mode, 0.5f);
        REQUIRE(y.to_vector() == reference::pad(x.detach(), c.pads, c.mode, 0.5f).to_vector());
        auto g = randn<float>(y.shape(), gen);
        y.backward(g);
        check_close(base.grad().permute(order).contiguous(), reference::pad_backward(g, c.shape, c.pads, c.mode));
    }
    // A large contiguous input (parallel rows, parallel backward planes).
    auto big = randn<float>({4, 16, 33, 35}, gen).set_requires_grad();
    for (PadMode mode : {PadMode::reflect, PadMode::constant}) {
        auto y = pad(big, {3, 2, 1, 4}, mode);
        REQUIRE(y.to_vector() == reference::pad(big.detach(), {3, 2, 1, 4}, mode).to_vector());
        auto g = randn<float>(y.shape(), gen);
        big.zero_grad();
        y.backward(g);
        check_close(big.grad(), reference::pad_backward(g, big.shape(), {3, 2, 1, 4}, mode));
    }
}

TEST_CASE("gradcheck: upsampling and padding in double") {
    Generator gen(23);
    auto x = randn<double>({1, 2, 3, 4}, gen).set_requires_grad();
    expect_gradcheck([](const auto& in) { return upsample_nearest2d(in[0], {5, 7}); }, {x});
    expect_gradcheck([](const auto& in) { return upsample_nearest2d(in[0], {2, 3}); }, {x});
    expect_gradcheck([](const auto& in) { return upsample_nearest2d(in[0], 2.0); }, {x});
    expect_gradcheck([](const auto& in) { return upsample_bilinear2d(in[0], {5, 7}, false); }, {x});
    expect_gradcheck([](const auto& in) { return upsample_bilinear2d(in[0], {5, 7}, true); }, {x});
    expect_gradcheck([](const auto& in) { return upsample_bilinear2d(in[0], {2, 3}, false); }, {x});
    expect_gradcheck([](const auto& in) { return upsample_bilinear2d(in[0], 1.5, 2.5, false); }, {x});
    expect_gradcheck([](const auto& in) { return upsample_bilinear2d(in[0].transpose(2, 3), {6, 1}, true); }, {x});
    expect_gradcheck([](const auto& in) { return pad(in[0], {2, 1, 1, 2}, PadMode::reflect); }, {x});
    expect_gradcheck([](const auto& in) { return pad(in[0], {3, 3}, PadMode::reflect); }, {x});
    expect_gradcheck([](const auto& in) { return pad(in[0], {1, -2, 2, -1}, PadMode::constant, 3.0); }, {x});
    expect_gradcheck([](const auto& in) { return pad(in[0], {1, 1, 1, 1, 1, 0}, PadMode::reflect); }, {x});
    expect_gradcheck([](const auto& in) { return pad(in[0].transpose(1, 3), {0, 1, 2, 0}, PadMode::constant); }, {x});
}

TEST_CASE("upsampling and padding: bad shapes give errors naming the op and the shapes") {
    auto x = zeros<float>({1, 2, 4, 4});
    CHECK_THROWS_WITH_AS(upsample_nearest2d(zeros<float>({2, 4, 4}), {8, 8}),
                         doctest::Contains("upsample_nearest2d: input of shape [2, 4, 4] must be 4-D"), Error);
    CHECK_THROWS_WITH_AS(upsample_bilinear2d(x, {0, 8}, false),
                         doctest::Contains("upsample_bilinear2d: input size [4, 4] and output size [0, 8] must both be positive"),
                         Error);
    CHECK_THROWS_WITH_AS(upsample_bilinear2d(x, 0.1, false),
                         doctest::Contains("upsample_bilinear2d: input size [4, 4] and output size [0, 0]"), Error);
    CHECK_THROWS_WITH_AS(upsample_nearest2d(x, -2.0), doctest::Contains("upsample_nearest2d: scale factors (-2, -2)"), Error);
    CHECK_THROWS_WITH_AS(pad(x, {1, 1, 1}), doctest::Contains("pad: the pad list [1, 1, 1] must have an even length"), Error);
    CHECK_THROWS_WITH_AS(pad(zeros<float>({3}), {1, 1, 1, 1}),
                         doctest::Contains("pad: 4 pad values (2 dimensions) for an input of shape [3] of rank 1"), Error);
    CHECK_THROWS_WITH_AS(pad(x, {4, 0}, PadMode::reflect),
                         doctest::Contains("pad: reflect padding (4, 0) of dimension 3 must be smaller than its size 4 "
                                           "(input shape [1, 2, 4, 4])"),
                         Error);
    CHECK_THROWS_WITH_AS(pad(x, {-1, 0}, PadMode::reflect), doctest::Contains("must be non-negative"), Error);
    CHECK_THROWS_WITH_AS(pad(x, {0, 0, -3, -2}),
                         doctest::Contains("pad: dimension 2 of size 4 with padding (-3, -2) would have a negative size"), Error);
}
