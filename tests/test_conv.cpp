// conv2d / conv_transpose2d: hand-computed values, the fast path (tiled im2col + GEMM) against the
// direct loops of cpu/reference/conv.hpp on awkward shapes, gradchecks in double, shape errors.
#include <doctest/doctest.h>

#include <seam/cpu/reference/conv.hpp>
#include <seam/ops/conv.hpp>
#include <seam/seam.hpp>

#include <cmath>
#include <cstring>
#include <functional>

using namespace seam;

namespace {

template <class T>
void check_close(const Tensor<T>& got, const Tensor<T>& want, double tol, const std::string& what) {
    REQUIRE_MESSAGE(got.defined(), what, ": gradient missing");
    REQUIRE_MESSAGE(got.shape() == want.shape(), what, ": shape ", shape_str(got.shape()), " vs ", shape_str(want.shape()));
    auto g = got.to_vector(), w = want.to_vector();
    // Errors are measured against the largest reference magnitude: a gradient summed over
    // thousands of float products carries rounding proportional to the sum's scale, not to
    // each (possibly cancelled) element.
    double scale = 1.0;
    for (auto v : w) scale = std::max(scale, std::abs(double(v)));
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < g.size(); ++i) {
        double err = std::abs(double(g[i]) - double(w[i])) / scale;
        if (err > worst) worst = err, at = i;
    }
    CHECK_MESSAGE(worst <= tol, what, ": worst error ", worst, " of the largest magnitude ", scale, " at element ", at,
                  " (got ", g[at], ", want ", w[at], ")");
}

using Fn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;
void expect_gradcheck(const Fn& fn, std::vector<Tensor<double>> in) {
    auto r = gradcheck(fn, std::move(in));
    CHECK_MESSAGE(r.ok, r.message);
}

/// Sets the thread count for one scope (the kernels' chunking depends on it).
struct ThreadsScope {
    int saved = num_threads();
    explicit ThreadsScope(int n) { set_num_threads(n); }
    ~ThreadsScope() { set_num_threads(saved); }
};

struct ConvCase {
    const char* name;
    int64_t N, C, H, W, O, KH, KW;
    Conv2dOptions opt;
    bool bias = true;
    bool strided_input = false;  // pass x (and w) as non-contiguous views
};

/// Forward and all three gradients of the fast path against the reference loops.
void check_conv2d_case(const ConvCase& c, Generator& gen) {
    INFO("case ", std::string(c.name));
    Tensor<float> x, w;
    if (c.strided_input) {  // x as a permuted view of an NHWC buffer, w as a slice of a wider tensor
        x = randn<float>({c.N, c.H, c.W, c.C}, gen).permute({0, 3, 1, 2});
        w = randn<float>({c.O, c.C / c.opt.groups, c.KH, c.KW + 2}, gen).narrow(3, 1, c.KW);
        REQUIRE_FALSE(x.is_contiguous());
        REQUIRE_FALSE(w.is_contiguous());
    } else {
        x = randn<float>({c.N, c.C, c.H, c.W}, gen);
        w = randn<float>({c.O, c.C / c.opt.groups, c.KH, c.KW}, gen);
    }
    x = x.detach().set_requires_grad();
    w = w.detach().set_requires_grad();
    Tensor<float> b = c.bias ? randn<float>({c.O}, gen).set_requires_grad() : Tensor<float>();
    Tensor<float> y = conv2d(x, w, b, c.opt);
    Tensor<float> y_ref = reference::conv2d(x.detach(), w.detach(), b.defined() ? b.detach() : b, c.opt.stride,
                                            c.opt.padding, c.opt.dilation, c.opt.groups);
    check_close(y, y_ref, 1e-5, "forward");
    Tensor<float> dy = randn<float>(y.shape(), gen);
    y.backward(dy);
    auto ref = reference::conv2d_backward(x.detach(), w.detach(), c.bias, dy, c.opt.stride, c.opt.padding,
                                          c.opt.dilation, c.opt.groups);
    check_close(x.grad(), ref.grad_input, 1e-5, "grad input");
    check_close(w.grad(), ref.grad_weight, 1e-5, "grad weight");
    if (c.bias) check_close(b.grad(), ref.grad_bias, 1e-5, "grad bias");
}

const std::vector<ConvCase>& awkward_conv_cases() {
    static const std::vector<ConvCase> cases = {
        {"3x3 pad 1, odd H/W, 3 channels, batch 1", 1, 3, 7, 5, 4, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1}},
        {"1x1 stride 1 (plain GEMM, no im2col), batch 3", 3, 5, 9, 11, 7, 1, 1, {}},
        {"1x1 stride 2", 2, 5, 9, 8, 6, 1, 1, {{2, 2}, {0, 0}, {1, 1}, 1}},
        {"1x1 stride 1 with padding", 2, 3, 4, 5, 2, 1, 1, {{1, 1}, {1, 1}, {1, 1}, 1}},
        {"5x5 stride 2 pad 2, 17 channels", 2, 17, 11, 10, 5, 5, 5, {{2, 2}, {2, 2}, {1, 1}, 1}},
        {"7x7 stride 3 pad 3", 1, 3, 13, 14, 5, 7, 7, {{3, 3}, {3, 3}, {1, 1}, 1}},
        {"3x3 dilation 2 pad 2", 3, 5, 9, 10, 3, 3, 3, {{1, 1}, {2, 2}, {2, 2}, 1}},
        {"groups 2", 2, 6, 7, 7, 4, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 2}},
        {"depthwise (groups = C), multiplier 2", 3, 5, 8, 9, 10, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 5}},
        {"output 1x1", 3, 5, 3, 3, 17, 3, 3, {}},
        {"rectangular 3x1 kernel, stride (2, 1), pad (1, 0)", 2, 3, 9, 6, 4, 3, 1, {{2, 1}, {1, 0}, {1, 1}, 1}},
        {"mixed stride/pad/dilation per axis", 2, 4, 12, 9, 6, 3, 2, {{2, 3}, {2, 1}, {2, 3}, 2}},
        {"no bias", 2, 5, 6, 7, 3, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1}, false},
        {"non-contiguous input and weight", 2, 5, 7, 6, 4, 3, 3, {{2, 2}, {1, 1}, {1, 1}, 1}, true, true},
        {"non-contiguous 1x1", 3, 6, 5, 7, 4, 1, 1, {}, true, true},
        {"several tiles per image, batch 1 (images shared between threads)", 1, 3, 67, 65, 5, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1}},
        {"several tiles per image, batch 3", 3, 4, 45, 41, 6, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1}},
        {"1x1 several tiles per image, batch 1", 1, 3, 70, 66, 4, 1, 1, {}},
        {"small images packed several to a tile", 7, 64, 4, 3, 9, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1}},
        // Deep patches (C·kh·kw >= 1024) get tiles of 256 columns (cpu/conv.hpp), so these are cut into
        // several tiles: with 2 threads the first two give each thread one tile of the same image (its
        // input gradient goes through private buffers), the third gives threads ranges of multi-image
        // tiles, the fourth has 3 tiles that the threads work on together, one after another.
        {"batch 1, 3x3, two tiles of one image", 1, 120, 20, 20, 2, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1}},
        {"batch 1, 1x1 with 1030 channels, two tiles of one image", 1, 1030, 16, 32, 2, 1, 1, {}},
        {"30 small images, 5 to a tile", 30, 128, 7, 7, 2, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1}},
        {"batch 1 cut into 3 tiles", 1, 120, 26, 26, 2, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1}},
        // Enough columns (>= 2048 a thread) for backward-weight to give each thread its own copy of dW.
        {"2 images of 64x64 with 114 channels: 32 tiles", 2, 114, 64, 64, 1, 3, 3, {{1, 1}, {1, 1}, {1, 1}, 1}},
    };
    return cases;
}

}  // namespace

TEST_CASE("conv2d: hand-computed 3x3 example (values, orientation, gradients)") {
    // x = 0..15 in a 4x4 image. An all-ones 3x3 kernel without padding sums each 3x3 window.
    auto x = arange<float>(16.0f).reshape({1, 1, 4, 4}).detach().set_requires_grad();
    auto ones3 = ones<float>({1, 1, 3, 3}).set_requires_grad();
    auto y = conv2d(x, ones3, from_vector<float>({0.5f}));
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    // 0+1+2+4+5+6+8+9+10 = 45, then +1 per column step and +4 per row step (9 elements each)
    CHECK(y.to_vector() == std::vector<float>{45.5f, 54.5f, 81.5f, 90.5f});

    // Cross-correlation, not convolution: a kernel with a single 1 right of centre reads x[h, w + 1].
    auto right = zeros<float>({1, 1, 3, 3});
    right.data()[5] = 1.0f;  // (ki, kj) = (1, 2)
    auto shifted = conv2d(x.detach(), right, Tensor<float>(), Conv2dOptions{{1, 1}, {1, 1}});
    CHECK(shifted.to_vector() == std::vector<float>{1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0});

    // Padded all-ones 3x3 with dy = 1: dx counts the windows covering each pixel (4 at corners, 6 on
    // edges, 9 inside); dw[ki][kj] sums the pixels that tap sees: dw[0][0] = x[0..2][0..2] = 45,
    // dw[1][1] = all of x = 120.
    auto yp = conv2d(x, ones3, Tensor<float>(), Conv2dOptions{{1, 1}, {1, 1}});
    yp.backward(ones<float>(yp.shape()));
    CHECK(x.grad().to_vector() == std::vector<float>{4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4});
    auto dw = ones3.grad().to_vector();
    CHECK(dw[0] == 45.0f);
    CHECK(dw[4] == 120.0f);
    CHECK(dw[8] == 1.0f * (5 + 6 + 7 + 9 + 10 + 11 + 13 + 14 + 15));
}

TEST_CASE("conv2d: fast path equals the direct loops on awkward shapes (forward, grad input/weight/bias)") {
    Generator gen(11);
    for (int threads : {1, 2, 3}) {
        ThreadsScope scope(threads);
        INFO("threads ", threads);
        for (const ConvCase& c : awkward_conv_cases()) check_conv2d_case(c, gen);
    }
}

TEST_CASE("conv2d tiling: a thread writes only the input gradients of images it covers completely") {
    // Races cannot be caught reliably by comparing results, so check the ownership rule itself:
    // an image cut into 9 tiles and split 4 + 5 between two threads belongs to neither.
    cpu::ConvGeometry g;
    g.batch = 3, g.in_channels = 120, g.in_h = g.in_w = 48, g.out_channels = 4, g.kernel_h = g.kernel_w = 3;
    g.pad_h = g.pad_w = 1, g.out_h = g.out_w = 48;
    auto plan = cpu::detail::plan_tiles<float>(g, 2, cpu::detail::ConvPass::backward_data);
    REQUIRE(plan.images_per_tile == 1);
    REQUIRE(plan.tiles_per_image == 9);  // 2304 pixels in tiles of 256 (1 MB of 1080-float columns)
    CHECK(cpu::detail::images_not_owned(plan, g, 0, 4) == std::vector<int64_t>{0});
    CHECK(cpu::detail::images_not_owned(plan, g, 4, 9) == std::vector<int64_t>{0});
    CHECK(cpu::detail::images_not_owned(plan, g, 0, 9).empty());
    CHECK(cpu::detail::images_not_owned(plan, g, 4, 23) == std::vector<int64_t>{0, 2});  // 1 is complete
    CHECK(cpu::detail::images_not_owned(plan, g, 10, 12) == std::vector<int64_t>{1});
    CHECK(cpu::detail::images_not_owned(plan, g, 9, 27).empty());
    // Small images are packed whole into tiles, so no image is ever split.
    g.in_h = g.in_w = g.out_h = g.out_w = 4;
    auto packed = cpu::detail::plan_tiles<float>(g, 2, cpu::detail::ConvPass::backward_data);
    CHECK(packed.images_per_tile > 1);
    CHECK(cpu::detail::images_not_owned(packed, g, 0, 1).empty());
}

TEST_CASE("conv2d: double precision fast path matches the loops tightly") {
    Generator gen(12);
    ConvCase c{"double 3x3 stride 2 groups", 2, 6, 9, 8, 4, 3, 3, {{2, 1}, {1, 1}, {1, 2}, 2}};
    auto x = randn<double>({c.N, c.C, c.H, c.W}, gen), w = randn<double>({c.O, c.C / 2, 3, 3}, gen);
    auto b = randn<double>({c.O}, gen);
    check_close(conv2d(x, w, b, c.opt), reference::conv2d(x, w, b, c.opt.stride, c.opt.padding, c.opt.dilation, 2), 1e-12,
                "forward");
}

TEST_CASE("conv2d: same inputs and thread count give the same bits") {
    ThreadsScope scope(2);
    Generator gen(13);
    auto x = randn<float>({1, 8, 40, 37}, gen).set_requires_grad();
    auto w = randn<float>({6, 8, 3, 3}, gen).set_requires_grad();
    auto dy = randn<float>({1, 6, 40, 37}, gen);
    std::vector<float> first_dx, first_dw;
    for (int run = 0; run < 2; ++run) {
        x.zero_grad();
        w.zero_grad();
        conv2d(x, w, Tensor<float>(), Conv2dOptions{{1, 1}, {1, 1}}).backward(dy);
        auto dx = x.grad().to_vector(), dw = w.grad().to_vector();
        if (run == 0) {
            first_dx = dx, first_dw = dw;
        } else {
            CHECK(std::memcmp(dx.data(), first_dx.data(), dx.size() * sizeof(float)) == 0);
            CHECK(std::memcmp(dw.data(), first_dw.data(), dw.size() * sizeof(float)) == 0);
        }
    }
}

TEST_CASE("conv2d: gradcheck in double for every option") {
    Generator gen(14);
    struct G {
        Shape x, w;
        Conv2dOptions opt;
        bool bias;
    };
    const std::vector<G> cases = {
        {{2, 3, 5, 4}, {2, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}, true},
        {{1, 4, 6, 7}, {4, 2, 3, 2}, {{2, 1}, {1, 2}, {2, 1}, 2}, true},   // stride, pad, dilation, groups
        {{2, 3, 5, 5}, {3, 1, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 3}, false},  // depthwise, stride 2, no bias
        {{2, 3, 3, 4}, {2, 3, 1, 1}, {}, true},                            // 1x1
        {{1, 2, 7, 7}, {2, 2, 5, 5}, {{3, 3}, {2, 2}, {1, 1}, 1}, true},   // 5x5 stride 3
    };
    for (const G& c : cases) {
        INFO("x ", shape_str(c.x), " w ", shape_str(c.w));
        auto x = randn<double>(c.x, gen).set_requires_grad();
        auto w = randn<double>(c.w, gen).set_requires_grad();
        auto b = randn<double>({c.w[0]}, gen).set_requires_grad();
        Conv2dOptions opt = c.opt;
        if (c.bias)
            expect_gradcheck([opt](const auto& in) { return conv2d(in[0], in[1], in[2], opt); }, {x, w, b});
        else
            expect_gradcheck([opt](const auto& in) { return conv2d(in[0], in[1], Tensor<double>(), opt); }, {x, w});
    }
}

TEST_CASE("conv_transpose2d: fast path equals the direct loops (output_padding, groups, dilation)") {
    Generator gen(15);
    struct T2 {
        const char* name;
        Shape x, w;
        ConvTranspose2dOptions opt;
        bool bias;
    };
    const std::vector<T2> cases = {
        {"3x3 stride 2 pad 1 output_padding 1", {2, 5, 4, 5}, {5, 3, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, {1, 1}, 1}, true},
        {"4x4 stride 2 pad 1 (the DCGAN upsampler)", {1, 4, 3, 3}, {4, 6, 4, 4}, {{2, 2}, {1, 1}, {0, 0}, {1, 1}, 1}, true},
        {"stride 3, output_padding (2, 1), groups 2", {2, 6, 3, 4}, {6, 2, 3, 2}, {{3, 3}, {0, 1}, {2, 1}, {1, 1}, 2}, false},
        {"dilation 2, output_padding 1 < dilation with stride 1", {2, 3, 5, 4}, {3, 4, 3, 3}, {{1, 1}, {1, 0}, {1, 1}, {2, 2}, 1}, true},
        {"1x1 stride 1", {3, 7, 5, 6}, {7, 5, 1, 1}, {}, true},
        {"depthwise", {2, 4, 5, 5}, {4, 1, 3, 3}, {{2, 2}, {1, 1}, {0, 1}, {1, 1}, 4}, true},
        {"larger, several tiles", {1, 9, 37, 33}, {9, 5, 3, 3}, {{1, 1}, {1, 1}, {0, 0}, {1, 1}, 1}, true},
    };
    for (int threads : {1, 2}) {
        ThreadsScope scope(threads);
        for (const T2& c : cases) {
            INFO("case ", std::string(c.name), ", threads ", threads);
            auto x = randn<float>(c.x, gen).set_requires_grad();
            auto w = randn<float>(c.w, gen).set_requires_grad();
            const int64_t cout = c.w[1] * c.opt.groups;
            Tensor<float> b = c.bias ? randn<float>({cout}, gen).set_requires_grad() : Tensor<float>();
            auto y = conv_transpose2d(x, w, b, c.opt);
            auto y_ref = reference::conv_transpose2d(x.detach(), w.detach(), c.bias ? b.detach() : b, c.opt.stride,
                                                     c.opt.padding, c.opt.output_padding, c.opt.dilation, c.opt.groups);
            check_close(y, y_ref, 1e-5, "forward");
            auto dy = randn<float>(y.shape(), gen);
            y.backward(dy);
            auto ref = reference::conv_transpose2d_backward(x.detach(), w.detach(), c.bias, dy, c.opt.stride,
                                                            c.opt.padding, c.opt.dilation, c.opt.groups);
            check_close(x.grad(), ref.grad_input, 1e-5, "grad input");
            check_close(w.grad(), ref.grad_weight, 1e-5, "grad weight");
            if (c.bias) check_close(b.grad(), ref.grad_bias, 1e-5, "grad bias");
        }
    }
    // PyTorch's documented output size for the DCGAN case: (3 - 1)*2 - 2 + 3 + 1 = 6
    CHECK(conv_transpose2d(zeros<float>({1, 4, 3, 3}), zeros<float>({4, 6, 4, 4}), Tensor<float>(),
                           ConvTranspose2dOptions{{2, 2}, {1, 1}})
              .shape() == Shape{1, 6, 6, 6});
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d: <conv2d(x), y> = <x, conv_transpose2d(y)>") {
    Generator gen(16);
    auto x = randn<double>({2, 6, 11, 9}, gen);
    auto w = randn<double>({4, 3, 3, 5}, gen);  // conv2d: 6 -> 4 channels in 2 groups
    Conv2dOptions o{{2, 3}, {1, 2}, {2, 1}, 2};
    auto y = randn<double>(conv2d(x, w, Tensor<double>(), o).shape(), gen);
    // conv2d maps 11 x 9 to 5 x 3; transposing 5 x 3 back gives 11 x 7, so output_padding adds 2 columns
    ConvTranspose2dOptions t{o.stride, o.padding, {0, 2}, o.dilation, o.groups};
    auto back = conv_transpose2d(y, w, Tensor<double>(), t);
    REQUIRE(back.shape() == x.shape());
    auto dot = [](const Tensor<double>& a, const Tensor<double>& b) {
        auto va = a.to_vector(), vb = b.to_vector();
        double s = 0;
        for (size_t i = 0; i < va.size(); ++i) s += va[i] * vb[i];
        return s;
    };
    const double lhs = dot(conv2d(x, w, Tensor<double>(), o), y), rhs = dot(x, back);
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
}

TEST_CASE("conv_transpose2d: gradcheck in double") {
    Generator gen(17);
    auto x = randn<double>({2, 4, 3, 3}, gen).set_requires_grad();
    auto w = randn<double>({4, 2, 3, 2}, gen).set_requires_grad();
    auto b = randn<double>({4}, gen).set_requires_grad();
    ConvTranspose2dOptions opt{{2, 1}, {1, 0}, {1, 0}, {1, 2}, 2};
    expect_gradcheck([opt](const auto& in) { return conv_transpose2d(in[0], in[1], in[2], opt); }, {x, w, b});
    auto x1 = randn<double>({1, 3, 4, 3}, gen).set_requires_grad();
    auto w1 = randn<double>({3, 2, 2, 2}, gen).set_requires_grad();
    expect_gradcheck(
        [](const auto& in) {
            return conv_transpose2d(in[0], in[1], Tensor<double>(), ConvTranspose2dOptions{{2, 2}, {0, 0}, {1, 1}, {2, 2}});
        },
        {x1, w1});
}

TEST_CASE("conv2d / conv_transpose2d: shape errors name the op and the shapes") {
    auto x = zeros<float>({2, 3, 8, 8});
    CHECK_THROWS_WITH_AS(conv2d(x, zeros<float>({4, 5, 3, 3})),
                         doctest::Contains("conv2d: input of shape [2, 3, 8, 8] has 3 channels but weight of shape [4, 5, 3, 3]"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(zeros<float>({3, 8, 8}), zeros<float>({4, 3, 3, 3})),
                         doctest::Contains("conv2d: input must be 4-D [N, C, H, W], got shape [3, 8, 8]"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, zeros<float>({4, 3, 3})), doctest::Contains("conv2d: weight must be 4-D"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, zeros<float>({4, 3, 3, 3}), zeros<float>({5})),
                         doctest::Contains("conv2d: bias of shape [5] does not match weight of shape [4, 3, 3, 3]"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, zeros<float>({4, 1, 3, 3}), Tensor<float>(), Conv2dOptions{{1, 1}, {0, 0}, {1, 1}, 2}),
                         doctest::Contains("must both be divisible by groups=2"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, zeros<float>({4, 3, 9, 3})),
                         doctest::Contains("conv2d: input of shape [2, 3, 8, 8] padded by (0, 0) is smaller than the kernel"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(x, zeros<float>({4, 3, 3, 3}), Tensor<float>(), Conv2dOptions{{0, 1}}),
                         doctest::Contains("conv2d: stride (0, 1) must be positive"), Error);
    CHECK_THROWS_WITH_AS(conv_transpose2d(x, zeros<float>({4, 2, 3, 3})),
                         doctest::Contains("conv_transpose2d: input of shape [2, 3, 8, 8] has 3 channels but weight of shape [4, 2, 3, 3] expects 4"),
                         Error);
    CHECK_THROWS_WITH_AS(conv_transpose2d(x, zeros<float>({3, 2, 3, 3}), Tensor<float>(),
                                          ConvTranspose2dOptions{{2, 2}, {0, 0}, {2, 0}}),
                         doctest::Contains("conv_transpose2d: output_padding (2, 0) must be non-negative and smaller"), Error);
}
