// tests/cuda/test_conv_pool_ops.cpp — 2-D convolution and pooling on CUDA (kernels/seam/conv2d.cuh,
// kernels/seam/pool2d.cuh) against the same ops on the CPU (test suite "gpu"; without a GPU the
// program skips it, see tests/cuda/main.cpp).
//
// Two levels for every op, float and double:
//   * the launchers of seam/cuda/api.hpp, writing into caller buffers prefilled with NaN (an
//     element a kernel forgets to write shows up), checked against the CPU op's forward and
//     autograd gradients; the inputs are read back afterwards and must be unchanged;
//   * the public ops (max_pool2d, avg_pool2d, adaptive_*, conv2d) on CUDA tensors through autograd:
//     CPU leaves -> .to(gpu) -> op on the GPU -> .to(cpu) -> backward, whose leaf gradients must
//     equal those of the same graph computed on the CPU.
// Convolution runs with both kernel versions (ConvAlgorithm::direct and ::implicit_gemm), and the
// two are also compared with each other on a VGG-sized layer.
//
// What "equal" means: max pooling's values and indices exactly (a max selects an input value);
// everything else within atol + rtol·|ref| for pooling, and for convolution within
// 64·eps·Σ|terms| + tiny per element, where Σ|terms| is the same convolution of |x|, |w|, |dy| —
// a bound on the difference between two summation orders (the GPU sums in fp32 in GEMM tiles, the
// CPU in im2col + Eigen order), yet far below one term, so a wrong or missing tap fails. Each
// mismatch is reported as (n, c, h, w) with both values.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/conv.hpp"
#include "seam/ops/pool.hpp"

#include "conv_test_support.hpp"
#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;
using namespace seam::cuda_test::compare;

namespace {

using conv_check::conv_options;
using conv_check::ConvAlgorithmScope;
using conv_check::ConvCase;
using op_check::nan_buffer;
using op_check::random_input;

template <class T>
void expect_same_bits(const Tensor<T>& got, const Tensor<T>& ref, const std::string& what) {
    expect_close(got, ref, 0.0, 0.0, what);
}

void expect_same_indices(const Tensor<int64_t>& got_any, const Tensor<int64_t>& ref, const std::string& what) {
    REQUIRE(got_any.defined());
    const Tensor<int64_t> got = got_any.device().is_cpu() ? got_any : got_any.to(Device::cpu());
    REQUIRE_MESSAGE(got.shape() == ref.shape(), what, ": shape ", shape_str(got.shape()), " vs ", shape_str(ref.shape()));
    const std::vector<int64_t> g = got.to_vector(), r = ref.to_vector();
    int64_t bad = 0;
    std::ostringstream report;
    for (size_t i = 0; i < g.size(); ++i) {
        if (g[i] == r[i]) continue;
        if (++bad <= 8)
            report << "  " << what << " at " << index_str(static_cast<int64_t>(i), ref.shape()) << ": got " << g[i]
                   << ", expected " << r[i] << "\n";
    }
    CHECK_MESSAGE(bad == 0, what, ": ", bad, " mismatches\n", report.str());
}

template <class T>
constexpr double pool_tolerance() {
    return std::is_same_v<T, float> ? 1e-6 : 1e-14;
}

// ===== pooling ====================================================================================

enum class PoolKind { max, avg, adaptive_avg, adaptive_max };

const char* pool_kind_name(PoolKind k) {
    switch (k) {
        case PoolKind::max: return "max_pool2d";
        case PoolKind::avg: return "avg_pool2d";
        case PoolKind::adaptive_avg: return "adaptive_avg_pool2d";
        case PoolKind::adaptive_max: return "adaptive_max_pool2d";
    }
    return "?";
}

struct PoolCase {
    const char* name;
    PoolKind kind;
    Shape x;
    Pool2dOptions opt{};              // windowed pooling
    AvgPoolOptions avg{};             // avg_pool2d
    std::array<int64_t, 2> size{};    // adaptive pooling
    bool ties = false;
    bool nans = false;
};

Pool2dOptions window(std::array<int64_t, 2> k, std::array<int64_t, 2> s, std::array<int64_t, 2> p = {0, 0},
                     std::array<int64_t, 2> d = {1, 1}, bool ceil_mode = false) {
    Pool2dOptions o;
    o.kernel = k, o.stride = s, o.padding = p, o.dilation = d, o.ceil_mode = ceil_mode;
    return o;
}

AvgPoolOptions divisor(bool include_pad, int64_t override_value = 0) {
    AvgPoolOptions a;
    a.count_include_pad = include_pad;
    a.divisor_override = override_value;
    return a;
}

const std::vector<PoolCase>& pool_cases() {
    using K = PoolKind;
    static const std::vector<PoolCase> cases = {
        {"2x2 stride 2 (VGG) on an odd 7x9 map, batch 1", K::max, {1, 3, 7, 9}, window({2, 2}, {2, 2})},
        {"2x2 stride 2, C=17, ties everywhere", K::max, {3, 17, 8, 6}, window({2, 2}, {2, 2}), {}, {}, true},
        {"3x3 stride 2 pad 1 (ResNet stem)", K::max, {2, 5, 9, 11}, window({3, 3}, {2, 2}, {1, 1})},
        {"3x3 stride 2 ceil_mode (last window cut by the border)", K::max, {2, 4, 6, 7},
         window({3, 3}, {2, 2}, {0, 0}, {1, 1}, true)},
        {"2x3 stride 1x2 pad 0x1 ceil_mode", K::max, {2, 3, 5, 8}, window({2, 3}, {1, 2}, {0, 1}, {1, 1}, true)},
        {"3x3 dilation 2 pad 2, overlapping windows", K::max, {2, 6, 9, 10}, window({3, 3}, {1, 1}, {2, 2}, {2, 2})},
        {"3x1 dilation 2x1 pad 2x0 stride 2x1", K::max, {1, 7, 11, 5}, window({3, 1}, {2, 1}, {2, 0}, {2, 1})},
        {"1x1 stride 2", K::max, {2, 3, 7, 8}, window({1, 1}, {2, 2})},
        {"windows with no tap inside the map (-inf, index -1)", K::max, {1, 2, 2, 2},
         window({2, 2}, {1, 1}, {1, 1}, {3, 3})},
        {"NaN in windows (the last NaN wins), ties", K::max, {2, 3, 6, 6}, window({3, 3}, {1, 1}, {1, 1}), {}, {}, true,
         true},
        {"avg 2x2 stride 2 odd map", K::avg, {2, 5, 7, 9}, window({2, 2}, {2, 2})},
        {"avg 3x3 stride 2 pad 1, count_include_pad", K::avg, {2, 4, 9, 8}, window({3, 3}, {2, 2}, {1, 1}), divisor(true)},
        {"avg 3x3 stride 2 pad 1, without pad", K::avg, {2, 4, 9, 8}, window({3, 3}, {2, 2}, {1, 1}), divisor(false)},
        {"avg 3x2 stride 2x1 pad 1 ceil_mode, without pad", K::avg, {1, 6, 6, 5},
         window({3, 2}, {2, 1}, {1, 1}, {1, 1}, true), divisor(false)},
        {"avg 3x3 stride 3 ceil_mode (window in the right padding dropped)", K::avg, {2, 3, 7, 7},
         window({3, 3}, {3, 3}, {1, 1}, {1, 1}, true), divisor(true)},
        {"avg divisor_override 3", K::avg, {2, 3, 6, 7}, window({2, 2}, {1, 1}, {1, 1}), divisor(true, 3)},
        {"avg divisor_override -2", K::avg, {1, 2, 5, 5}, window({3, 3}, {2, 2}), divisor(false, -2)},
        {"avg 1x1 stride 2", K::avg, {2, 3, 5, 6}, window({1, 1}, {2, 2})},
        {"adaptive avg 7x9 -> 3x4", K::adaptive_avg, {2, 5, 7, 9}, {}, {}, {3, 4}},
        {"adaptive avg 5x5 -> 7x3 (more outputs than rows)", K::adaptive_avg, {2, 3, 5, 5}, {}, {}, {7, 3}},
        {"adaptive avg 8x8 -> 1x1 (global), C=17", K::adaptive_avg, {3, 17, 8, 8}, {}, {}, {1, 1}},
        {"adaptive avg identity 6x10", K::adaptive_avg, {1, 2, 6, 10}, {}, {}, {6, 10}},
        {"adaptive max 7x9 -> 3x4", K::adaptive_max, {2, 5, 7, 9}, {}, {}, {3, 4}},
        {"adaptive max 5x5 -> 7x3, ties", K::adaptive_max, {2, 3, 5, 5}, {}, {}, {7, 3}, true},
        {"adaptive max 13x11 -> 7x7 (VGG's classifier input), NaN", K::adaptive_max, {2, 4, 13, 11}, {}, {}, {7, 7},
         false, true},
        {"adaptive max 8x8 -> 1x1, batch 1", K::adaptive_max, {1, 9, 8, 8}, {}, {}, {1, 1}},
    };
    return cases;
}

/// The CPU op's output, indices (max kinds) and gradient for grad_out = gy.
template <class T>
struct PoolReference {
    Tensor<T> out, grad_in, grad_out;
    Tensor<int64_t> indices;
};

template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> run_pool(const PoolCase& k, const Tensor<T>& x) {
    switch (k.kind) {
        case PoolKind::max: return max_pool2d_with_indices(x, k.opt);
        case PoolKind::avg: return {avg_pool2d(x, k.opt, k.avg), Tensor<int64_t>()};
        case PoolKind::adaptive_avg: return {adaptive_avg_pool2d(x, k.size), Tensor<int64_t>()};
        case PoolKind::adaptive_max: return adaptive_max_pool2d_with_indices(x, k.size);
    }
    return {};
}

template <class T>
PoolReference<T> pool_reference(const PoolCase& k, const Tensor<T>& x_values, uint64_t seed) {
    Tensor<T> x = x_values.clone();
    x.set_requires_grad();
    auto [out, indices] = run_pool(k, x);
    Generator gen(seed + 1);
    PoolReference<T> ref;
    ref.grad_out = randn<T>(out.shape(), gen);
    out.backward(ref.grad_out);
    ref.out = out.detach();
    ref.indices = indices;
    ref.grad_in = x.grad();
    return ref;
}

template <class T>
void check_pool_case(const PoolCase& k, uint64_t seed) {
    const std::string name = std::string(pool_kind_name(k.kind)) + ": " + k.name + " [" + dtype_name<T>() + "]";
    CAPTURE(name);
    const double tol = pool_tolerance<T>();
    const bool is_max = k.kind == PoolKind::max || k.kind == PoolKind::adaptive_max;
    const Tensor<T> x = random_input<T>(k.x, seed, k.ties, k.nans);
    const PoolReference<T> ref = pool_reference(k, x, seed);

    // 1. The launchers, into NaN-prefilled buffers.
    cuda::Pool2dShape s;
    if (k.kind == PoolKind::max) s = detail::cuda_pool_shape(detail::pool2d_geometry("max_pool2d", k.x, k.opt));
    else if (k.kind == PoolKind::avg) s = detail::cuda_pool_shape(detail::avg_pool2d_geometry(k.x, k.opt));
    else s = detail::cuda_adaptive_shape(k.x, k.size);
    const Tensor<T> xd = x.to(gpu()), gyd = ref.grad_out.to(gpu());
    Tensor<T> out = nan_buffer<T>(ref.out.shape()), grad_in = nan_buffer<T>(k.x);
    Tensor<int64_t> indices = empty<int64_t>(ref.out.shape(), gpu());
    indices.fill_(-7);
    switch (k.kind) {
        case PoolKind::max:
            cuda::max_pool2d_forward<T>(xd.data(), out.data(), indices.data(), s);
            cuda::max_pool2d_backward<T>(gyd.data(), indices.data(), grad_in.data(), s);
            break;
        case PoolKind::avg:
            cuda::avg_pool2d_forward<T>(xd.data(), out.data(), s, k.avg.count_include_pad, k.avg.divisor_override);
            cuda::avg_pool2d_backward<T>(gyd.data(), grad_in.data(), s, k.avg.count_include_pad, k.avg.divisor_override);
            break;
        case PoolKind::adaptive_avg:
            cuda::adaptive_avg_pool2d_forward<T>(xd.data(), out.data(), s);
            cuda::adaptive_avg_pool2d_backward<T>(gyd.data(), grad_in.data(), s);
            break;
        case PoolKind::adaptive_max:
            cuda::adaptive_max_pool2d_forward<T>(xd.data(), out.data(), indices.data(), s);
            cuda::adaptive_max_pool2d_backward<T>(gyd.data(), indices.data(), grad_in.data(), s);
            break;
    }
    if (is_max) {
        expect_same_bits(out, ref.out, name + " launcher forward");
        expect_same_indices(indices, ref.indices, name + " launcher indices");
    } else {
        expect_close(out, ref.out, tol, tol, name + " launcher forward");
    }
    expect_close(grad_in, ref.grad_in, tol, tol, name + " launcher backward");
    expect_same_bits(xd, x, name + " input unchanged");
    expect_same_bits(gyd, ref.grad_out, name + " grad_out unchanged");

    // 2. The public op on a CUDA tensor, through autograd.
    Tensor<T> leaf = x.clone();
    leaf.set_requires_grad();
    auto [y_dev, idx_dev] = run_pool(k, leaf.to(gpu()));
    CHECK(y_dev.device() == gpu());
    if (is_max) {
        REQUIRE(idx_dev.defined());
        CHECK(idx_dev.device() == gpu());
        expect_same_bits(y_dev, ref.out, name + " op forward");
        expect_same_indices(idx_dev, ref.indices, name + " op indices");
    } else {
        expect_close(y_dev, ref.out, tol, tol, name + " op forward");
    }
    y_dev.to(Device::cpu()).backward(ref.grad_out);
    REQUIRE(leaf.grad().defined());
    CHECK(leaf.grad().device().is_cpu());
    expect_close(leaf.grad(), ref.grad_in, tol, tol, name + " op gradient");

    // 3. Inference: no graph, no indices written (max_pool2d / adaptive_max_pool2d).
    NoGradGuard no_grad;
    Tensor<T> y_inf;
    if (k.kind == PoolKind::max) y_inf = max_pool2d(x.to(gpu()), k.opt);
    else if (k.kind == PoolKind::adaptive_max) y_inf = adaptive_max_pool2d(x.to(gpu()), k.size);
    else y_inf = run_pool(k, x.to(gpu())).first;
    CHECK_FALSE(y_inf.requires_grad());
    if (is_max) expect_same_bits(y_inf, ref.out, name + " inference forward");
    else expect_close(y_inf, ref.out, tol, tol, name + " inference forward");
}

// ===== convolution ================================================================================

const std::vector<ConvCase>& conv_cases() {
    static const std::vector<ConvCase> cases = {
        {"1x1, batch 1 (K of backward-weight not split)", {1, 5, 6, 9}, 7, {1, 1}, conv_options({1, 1}, {0, 0}), true},
        {"3x3 pad 1, odd map, C=3 (K=27: not a multiple of 8)", {2, 3, 11, 13}, 17, {3, 3}, conv_options({1, 1}, {1, 1}),
         true},
        {"3x3 stride 2 pad 1, C=19, O=33", {3, 19, 15, 14}, 33, {3, 3}, conv_options({2, 2}, {1, 1}), false},
        {"5x3 kernel, dilation 2x3, padding 2x1, stride 1x2", {2, 6, 12, 11}, 10, {5, 3},
         conv_options({1, 2}, {2, 1}, {2, 3}), true},
        {"groups 2", {2, 6, 9, 8}, 10, {3, 3}, conv_options({1, 1}, {1, 1}, {1, 1}, 2), true},
        {"depthwise (groups = C = O = 8)", {2, 8, 7, 7}, 8, {3, 3}, conv_options({1, 1}, {1, 1}, {1, 1}, 8), false},
        {"C=70, O=130 (128-row tiles, several column tiles)", {2, 70, 9, 9}, 130, {3, 3}, conv_options({1, 1}, {1, 1}),
         true},
        {"7x7 stride 2 pad 3 (ResNet stem), batch 1", {1, 3, 17, 17}, 8, {7, 7}, conv_options({2, 2}, {3, 3}), true},
        {"input smaller than the kernel, padded", {2, 4, 2, 3}, 5, {3, 3}, conv_options({1, 1}, {1, 1}), true},
        {"Fashion-MNIST conv1 (1 -> 32, 28x28), batch 4", {4, 1, 28, 28}, 32, {3, 3}, conv_options({1, 1}, {1, 1}), false},
        {"2x2 stride 3 (input cells no tap reaches), pad 0x1", {2, 5, 10, 11}, 6, {2, 2}, conv_options({3, 3}, {0, 1}),
         true},
    };
    return cases;
}

/// The CPU op's output and gradients for one set of inputs, plus Σ|terms| of each (the same
/// convolution run on |x|, |w|, |b| with |dy|), which scales the tolerance.
template <class T>
struct ConvReference {
    Tensor<T> x, w, b, gy;         // inputs (b undefined without bias)
    Tensor<T> y, dx, dw, db;       // the CPU op's results
    Tensor<T> my, mdx, mdw, mdb;   // Σ|terms| of each
};

template <class T>
void conv_on_cpu(const Tensor<T>& x_in, const Tensor<T>& w_in, const Tensor<T>& b_in, const Tensor<T>& gy,
                 const Conv2dOptions& opt, Tensor<T>& y, Tensor<T>& dx, Tensor<T>& dw, Tensor<T>& db) {
    Tensor<T> x = x_in.clone(), w = w_in.clone(), b = b_in.defined() ? b_in.clone() : Tensor<T>();
    x.set_requires_grad(), w.set_requires_grad();
    if (b.defined()) b.set_requires_grad();
    Tensor<T> out = conv2d(x, w, b, opt);
    out.backward(gy);
    y = out.detach(), dx = x.grad(), dw = w.grad();
    db = b.defined() ? b.grad() : Tensor<T>();
}

template <class T>
ConvReference<T> conv_reference(const ConvCase& k, uint64_t seed) {
    ConvReference<T> r;
    const int64_t Cg = k.x[1] / k.opt.groups;
    r.x = random_input<T>(k.x, seed);
    r.w = random_input<T>({k.O, Cg, k.kernel[0], k.kernel[1]}, seed + 1);
    if (k.bias) r.b = random_input<T>({k.O}, seed + 2);
    {
        NoGradGuard no_grad;
        const Tensor<T> probe = conv2d(r.x, r.w, r.b, k.opt);
        r.gy = random_input<T>(probe.shape(), seed + 3);
    }
    conv_on_cpu(r.x, r.w, r.b, r.gy, k.opt, r.y, r.dx, r.dw, r.db);
    conv_on_cpu(abs_copy(r.x), abs_copy(r.w), r.b.defined() ? abs_copy(r.b) : Tensor<T>(), abs_copy(r.gy), k.opt, r.my,
                r.mdx, r.mdw, r.mdb);
    return r;
}

cuda::Conv2dShape conv_shape(const ConvCase& k) {
    cuda::Conv2dShape s;
    s.N = k.x[0], s.C = k.x[1], s.H = k.x[2], s.W = k.x[3];
    s.O = k.O, s.KH = k.kernel[0], s.KW = k.kernel[1];
    s.sh = k.opt.stride[0], s.sw = k.opt.stride[1], s.ph = k.opt.padding[0], s.pw = k.opt.padding[1];
    s.dh = k.opt.dilation[0], s.dw = k.opt.dilation[1], s.groups = k.opt.groups;
    // The output size by hand (not through the op), so a wrong formula on either side shows.
    s.OH = (s.H + 2 * s.ph - s.dh * (s.KH - 1) - 1) / s.sh + 1;
    s.OW = (s.W + 2 * s.pw - s.dw * (s.KW - 1) - 1) / s.sw + 1;
    return s;
}

template <class T>
void check_conv_case(const ConvCase& k, cuda::ConvAlgorithm algorithm, uint64_t seed) {
    const std::string name = std::string("conv2d: ") + k.name + " [" + dtype_name<T>() + ", " +
                             cuda::conv_algorithm_name(algorithm) + "]";
    CAPTURE(name);
    const ConvReference<T> r = conv_reference<T>(k, seed);
    const cuda::Conv2dShape s = conv_shape(k);
    REQUIRE(r.y.shape() == (Shape{s.N, s.O, s.OH, s.OW}));

    // 1. The launchers, into NaN-prefilled buffers.
    const Tensor<T> xd = r.x.to(gpu()), wd = r.w.to(gpu()), gyd = r.gy.to(gpu());
    const Tensor<T> bd = k.bias ? r.b.to(gpu()) : Tensor<T>();
    Tensor<T> y = nan_buffer<T>(r.y.shape()), dx = nan_buffer<T>(r.x.shape()), dw = nan_buffer<T>(r.w.shape());
    cuda::conv2d_forward<T>(xd.data(), wd.data(), k.bias ? bd.data() : nullptr, y.data(), s, algorithm);
    cuda::conv2d_backward_data<T>(wd.data(), gyd.data(), dx.data(), s, algorithm);
    cuda::conv2d_backward_weight<T>(xd.data(), gyd.data(), dw.data(), s, algorithm);
    expect_within(y, r.y, conv_tolerance(r.my), name + " launcher forward");
    expect_within(dx, r.dx, conv_tolerance(r.mdx), name + " launcher backward-data");
    expect_within(dw, r.dw, conv_tolerance(r.mdw), name + " launcher backward-weight");
    if (k.bias) {
        Tensor<T> db = nan_buffer<T>({s.O});
        cuda::conv2d_backward_bias<T>(gyd.data(), db.data(), s);
        expect_within(db, r.db, conv_tolerance(r.mdb), name + " launcher backward-bias");
        expect_same_bits(bd, r.b, name + " bias unchanged");
    }
    expect_same_bits(xd, r.x, name + " input unchanged");
    expect_same_bits(wd, r.w, name + " weight unchanged");
    expect_same_bits(gyd, r.gy, name + " grad_out unchanged");

    // 2. The public op on CUDA tensors, through autograd, with this algorithm.
    ConvAlgorithmScope scope(algorithm);
    Tensor<T> x = r.x.clone(), w = r.w.clone(), b = k.bias ? r.b.clone() : Tensor<T>();
    x.set_requires_grad(), w.set_requires_grad();
    if (k.bias) b.set_requires_grad();
    const Tensor<T> y_dev = conv2d(x.to(gpu()), w.to(gpu()), k.bias ? b.to(gpu()) : Tensor<T>(), k.opt);
    CHECK(y_dev.device() == gpu());
    expect_within(y_dev, r.y, conv_tolerance(r.my), name + " op forward");
    y_dev.to(Device::cpu()).backward(r.gy);
    REQUIRE(x.grad().defined());
    REQUIRE(w.grad().defined());
    expect_within(x.grad(), r.dx, conv_tolerance(r.mdx), name + " op d input");
    expect_within(w.grad(), r.dw, conv_tolerance(r.mdw), name + " op d weight");
    if (k.bias) {
        REQUIRE(b.grad().defined());
        expect_within(b.grad(), r.db, conv_tolerance(r.mdb), name + " op d bias");
    }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("pooling on CUDA: launchers (NaN-prefilled outputs) and ops equal the CPU ops (float, double)") {
    uint64_t seed = 900;
    for (const PoolCase& k : pool_cases()) {
        check_pool_case<float>(k, seed);
        check_pool_case<double>(k, seed);
        ++seed;
    }
}

TEST_CASE("conv2d on CUDA, both kernel versions: launchers (NaN-prefilled outputs) and the op equal the CPU op") {
    uint64_t seed = 1300;
    for (const ConvCase& k : conv_cases()) {
        for (cuda::ConvAlgorithm a : {cuda::ConvAlgorithm::implicit_gemm, cuda::ConvAlgorithm::direct}) {
            check_conv_case<float>(k, a, seed);
            check_conv_case<double>(k, a, seed);
        }
        ++seed;
    }
}

TEST_CASE("conv2d on CUDA: the implicit GEMM equals the direct kernels (the GPU oracle) on a VGG-sized layer") {
    // conv3_1 of VGG-16 at 28x28 instead of 56x56, batch 2: 128-row tiles, split-K in backward-weight.
    const ConvCase k{"VGG conv3_1 geometry", {2, 128, 28, 28}, 256, {3, 3}, conv_options({1, 1}, {1, 1}), true};
    const cuda::Conv2dShape s = conv_shape(k);
    const Tensor<float> x = random_input<float>(k.x, 5).to(gpu()), w = random_input<float>({256, 128, 3, 3}, 6).to(gpu());
    const Tensor<float> b = random_input<float>({256}, 7).to(gpu()), gy = random_input<float>({2, 256, 28, 28}, 8).to(gpu());
    auto run = [&](cuda::ConvAlgorithm a, Tensor<float>& y, Tensor<float>& dx, Tensor<float>& dw) {
        y = nan_buffer<float>({2, 256, 28, 28}), dx = nan_buffer<float>(k.x), dw = nan_buffer<float>({256, 128, 3, 3});
        cuda::conv2d_forward<float>(x.data(), w.data(), b.data(), y.data(), s, a);
        cuda::conv2d_backward_data<float>(w.data(), gy.data(), dx.data(), s, a);
        cuda::conv2d_backward_weight<float>(x.data(), gy.data(), dw.data(), s, a);
    };
    Tensor<float> y1, dx1, dw1, y2, dx2, dw2;
    run(cuda::ConvAlgorithm::direct, y1, dx1, dw1);
    run(cuda::ConvAlgorithm::implicit_gemm, y2, dx2, dw2);
    // Magnitudes Σ|terms| from the direct kernels on |x|, |w|, |gy| (double accumulation).
    Tensor<float> my, mdx, mdw;
    {
        const Tensor<float> ax = abs_copy(x).to(gpu()), aw = abs_copy(w).to(gpu()), ab = abs_copy(b).to(gpu());
        const Tensor<float> agy = abs_copy(gy).to(gpu());
        my = nan_buffer<float>({2, 256, 28, 28}), mdx = nan_buffer<float>(k.x), mdw = nan_buffer<float>({256, 128, 3, 3});
        cuda::conv2d_forward<float>(ax.data(), aw.data(), ab.data(), my.data(), s, cuda::ConvAlgorithm::direct);
        cuda::conv2d_backward_data<float>(aw.data(), agy.data(), mdx.data(), s, cuda::ConvAlgorithm::direct);
        cuda::conv2d_backward_weight<float>(ax.data(), agy.data(), mdw.data(), s, cuda::ConvAlgorithm::direct);
    }
    expect_within(y2, on_host(y1), conv_tolerance(on_host(my)), "implicit GEMM vs direct: forward");
    expect_within(dx2, on_host(dx1), conv_tolerance(on_host(mdx)), "implicit GEMM vs direct: backward-data");
    expect_within(dw2, on_host(dw1), conv_tolerance(on_host(mdw)), "implicit GEMM vs direct: backward-weight");
}

TEST_CASE("conv2d and pooling on CUDA are deterministic: the same bits on a second run") {
    const ConvCase k{"determinism", {3, 20, 19, 17}, 24, {3, 3}, conv_options({1, 1}, {1, 1}), true};
    const cuda::Conv2dShape s = conv_shape(k);
    const Tensor<float> x = random_input<float>(k.x, 11).to(gpu()), w = random_input<float>({24, 20, 3, 3}, 12).to(gpu());
    const Tensor<float> gy = random_input<float>({3, 24, 19, 17}, 13).to(gpu());
    Tensor<float> dw1 = nan_buffer<float>({24, 20, 3, 3}), dw2 = nan_buffer<float>({24, 20, 3, 3});
    Tensor<float> db1 = nan_buffer<float>({24}), db2 = nan_buffer<float>({24});
    cuda::conv2d_backward_weight<float>(x.data(), gy.data(), dw1.data(), s, cuda::ConvAlgorithm::implicit_gemm);
    cuda::conv2d_backward_weight<float>(x.data(), gy.data(), dw2.data(), s, cuda::ConvAlgorithm::implicit_gemm);
    cuda::conv2d_backward_bias<float>(gy.data(), db1.data(), s);
    cuda::conv2d_backward_bias<float>(gy.data(), db2.data(), s);
    expect_same_bits(dw2, on_host(dw1), "backward-weight twice");
    expect_same_bits(db2, on_host(db1), "backward-bias twice");

    Tensor<float> leaf1 = random_input<float>({2, 7, 9, 9}, 14), leaf2 = leaf1.clone();
    leaf1.set_requires_grad(), leaf2.set_requires_grad();
    const Pool2dOptions overlap = window({3, 3}, {1, 1}, {1, 1});
    const Tensor<float> g = random_input<float>({2, 7, 9, 9}, 15);
    avg_pool2d(leaf1.to(gpu()), overlap).to(Device::cpu()).backward(g);
    avg_pool2d(leaf2.to(gpu()), overlap).to(Device::cpu()).backward(g);
    expect_same_bits(leaf2.grad(), leaf1.grad(), "avg_pool2d backward twice");
}

TEST_CASE("conv2d and conv_transpose2d on CUDA refuse mixed devices and name them") {
    const Tensor<float> x = ones<float>({1, 2, 5, 5}), w = ones<float>({3, 2, 3, 3}), b = ones<float>({3});
    CHECK_THROWS_WITH_AS(conv2d(x.to(gpu()), w), doctest::Contains("input on cuda:0, weight on cpu"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, w.to(gpu())), doctest::Contains("input on cpu, weight on cuda:0"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x.to(gpu()), w.to(gpu()), b), doctest::Contains("bias on cpu"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, w, b.to(gpu())), doctest::Contains("bias on cuda:0"), Error);
    // The shape checks still speak first on the GPU path.
    CHECK_THROWS_WITH_AS(conv2d(x.to(gpu()), ones<float>({3, 4, 3, 3}).to(gpu())),
                         doctest::Contains("conv2d: input of shape [1, 2, 5, 5] has 2 channels"), Error);
    // conv_transpose2d runs on the GPU (tests/cuda/test_more_ops_cuda.cpp); mixed devices are refused.
    const Tensor<float> wt = ones<float>({2, 3, 3, 3});
    CHECK_THROWS_WITH_AS(conv_transpose2d(x.to(gpu()), wt), doctest::Contains("conv_transpose2d: inputs on different devices"),
                         Error);
    CHECK_THROWS_WITH_AS(conv_transpose2d(x.to(gpu()), wt.to(gpu()), b), doctest::Contains("bias on cpu"), Error);
    // A launcher called directly with an inconsistent output size names it.
    cuda::Conv2dShape s;
    s.N = 1, s.C = 2, s.H = 5, s.W = 5, s.O = 3, s.KH = 3, s.KW = 3, s.OH = 5, s.OW = 3;
    CHECK_THROWS_WITH_AS(cuda::conv2d_forward<float>(nullptr, nullptr, nullptr, nullptr, s, cuda::ConvAlgorithm::direct),
                         doctest::Contains("output 5x3 does not match input 5x5"), Error);
}

}  // TEST_SUITE
