// tests/cuda/test_conv_tf32_cuda.cpp — the TF32 tensor-core conv2d (kernels/seam/conv2d_tf32.cuh,
// cuda::ConvAlgorithm::implicit_gemm_tf32) against the CPU conv2d, and the flag's default.
//
// Test suite "gpu" (skipped without a GPU, see tests/cuda/main.cpp), plus one "host" case for the
// flag's bookkeeping, which needs no GPU.
//
// Each case: float inputs; the reference is the CPU conv2d run in double on exactly those values
// (forward and autograd gradients), so the difference measured is the GPU's alone. Two levels:
//   * the launchers of seam/cuda/api.hpp with implicit_gemm_tf32, writing into NaN-prefilled
//     buffers (an element the kernel forgets stays NaN and fails); inputs read back unchanged;
//   * the public op conv2d on CUDA tensors with set_conv_algorithm(implicit_gemm_tf32), through
//     autograd (forward, d input, d weight, d bias).
//
// Tolerance per output element i, a sum of K terms a_k·b_k (K = C/g·KH·KW for the forward,
// O/g·KH·KW for backward-data, N·OH·OW for backward-weight):
//   the kernel rounds every operand to TF32 (round to nearest, unit roundoff u = 2^-11), so term k
//   becomes a_k·b_k·(1 + δ_k + ε_k + δ_k·ε_k) with |δ_k|, |ε_k| <= u. The rounding error of the sum
//   is then bounded (worst case) by (2u + u²)·Σ|a_k·b_k|; with the δ, ε independent and spread
//   over [-u, u] (as for random inputs: each term's operands are distinct tensor elements) it is
//   a sum of independent terms of standard deviation u·sqrt(2/3)·|a_k·b_k|, so
//   σ_i = u·sqrt(2/3)·sqrt(Σ (a_k·b_k)²). The tolerance takes the smaller of the worst case and
//   10·u·sqrt(Σ (a_k·b_k)²) (about 12 σ), plus 64·ε_fp32·Σ|a_k·b_k| for fp32 accumulation in
//   another order (the rule of test_conv_pool_ops.cpp), plus 1e-30:
//     tol_i = min((2u + u²)·Σ|ab|, 10u·sqrt(Σ(ab)²)) + 64·ε_fp32·Σ|ab| + 1e-30.
//   Σ|ab| and Σ(ab)² come from the same CPU convolution run on |x|, |w|, |dy| and on x², w², dy².
//   The sqrt(K) growth of the statistical term stays well below one typical term for the K here
//   (at most ~650: 10u·sqrt(K) < 0.13 of a term's r.m.s.), so a wrong or missing tap still fails.
// Mismatches are reported as (n, c, h, w) with both values.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/cuda/runtime.hpp"
#include "seam/ops/conv.hpp"

#include "conv_test_support.hpp"
#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;

namespace {

using conv_check::conv_options;
using conv_check::ConvAlgorithmScope;
using conv_check::ConvCase;
using op_check::nan_buffer;
using op_check::random_input;

/// Sets cuBLAS's TF32 switch for a scope.
struct AllowTf32Scope {
    bool saved;
    explicit AllowTf32Scope(bool allow) : saved(cuda::allow_tf32()) { cuda::set_allow_tf32(allow); }
    ~AllowTf32Scope() { cuda::set_allow_tf32(saved); }
    AllowTf32Scope(const AllowTf32Scope&) = delete;
    AllowTf32Scope& operator=(const AllowTf32Scope&) = delete;
};

const std::vector<ConvCase>& tf32_cases() {
    static const std::vector<ConvCase> cases = {
        {"3x3 pad 1, odd 7x9 map, C=3, O=5 (K=27: not a multiple of 8 or 16)", {2, 3, 7, 9}, 5, {3, 3},
         conv_options({1, 1}, {1, 1}), true},
        {"3x3 stride 2 pad 1, C=19, O=33, batch 3", {3, 19, 15, 14}, 33, {3, 3}, conv_options({2, 2}, {1, 1}), false},
        {"3x3 dilation 2 pad 2, odd 11x13 map, C=5, O=6", {2, 5, 11, 13}, 6, {3, 3}, conv_options({1, 1}, {2, 2}, {2, 2}),
         true},
        {"groups 2, C=6, O=10", {2, 6, 9, 8}, 10, {3, 3}, conv_options({1, 1}, {1, 1}, {1, 1}, 2), true},
        {"groups 2 with stride 2 and dilation 2, batch 3", {3, 10, 13, 11}, 14, {3, 3},
         conv_options({2, 2}, {2, 2}, {2, 2}, 2), true},
        {"1x1, batch 1 (backward-weight not split)", {1, 5, 6, 9}, 7, {1, 1}, conv_options({1, 1}, {0, 0}), true},
        {"1x1 stride 2, C=12, O=20, batch 3", {3, 12, 9, 7}, 20, {1, 1}, conv_options({2, 2}, {0, 0}), false},
        {"5x3 kernel, dilation 2x3, padding 2x1, stride 1x2", {2, 6, 12, 11}, 10, {5, 3},
         conv_options({1, 2}, {2, 1}, {2, 3}), true},
        {"C=70, O=130 (128-row tiles, several column tiles, M and N edges)", {2, 70, 9, 9}, 130, {3, 3},
         conv_options({1, 1}, {1, 1}), true},
        {"7x7 stride 2 pad 3 (ResNet stem), batch 1", {1, 3, 17, 17}, 8, {7, 7}, conv_options({2, 2}, {3, 3}), true},
        {"VGG-like 3x3 pad 1, 64 -> 64, odd 17x19 map", {2, 64, 17, 19}, 64, {3, 3}, conv_options({1, 1}, {1, 1}), true},
        // 256 or more output channels a group: version 6's backward-weight takes its K-major path there
        // (OW = 11 and 5 padded to 12 and 8 in its staging).
        {"O=260, odd 9x11 map (version 6: K-major backward-weight)", {2, 12, 9, 11}, 260, {3, 3},
         conv_options({1, 1}, {1, 1}), true},
        {"groups 2 of 256 outputs, stride 1x2, dilation 2x1 (version 6: K-major backward-weight)", {2, 8, 10, 9}, 512,
         {3, 3}, conv_options({1, 2}, {2, 1}, {2, 1}, 2), true},
    };
    return cases;
}

cuda::Conv2dShape conv_shape(const ConvCase& k) {
    cuda::Conv2dShape s;
    s.N = k.x[0], s.C = k.x[1], s.H = k.x[2], s.W = k.x[3];
    s.O = k.O, s.KH = k.kernel[0], s.KW = k.kernel[1];
    s.sh = k.opt.stride[0], s.sw = k.opt.stride[1], s.ph = k.opt.padding[0], s.pw = k.opt.padding[1];
    s.dh = k.opt.dilation[0], s.dw = k.opt.dilation[1], s.groups = k.opt.groups;
    s.OH = (s.H + 2 * s.ph - s.dh * (s.KH - 1) - 1) / s.sh + 1;
    s.OW = (s.W + 2 * s.pw - s.dw * (s.KW - 1) - 1) / s.sw + 1;
    return s;
}

/// A host double copy of a float tensor on any device (exact).
Tensor<double> to_double(const Tensor<float>& t) {
    const std::vector<float> v = compare::on_host(t).to_vector();
    return from_vector<double>(std::vector<double>(v.begin(), v.end()), t.shape());
}

/// A host double copy with every element replaced by f(element).
template <class F>
Tensor<double> map_double(const Tensor<float>& t, F f) {
    std::vector<double> v = to_double(t).to_vector();
    for (double& e : v) e = f(e);
    return from_vector<double>(v, t.shape());
}

/// The CPU conv2d in double: output and gradients for gy.
struct DoubleConv {
    Tensor<double> y, dx, dw, db;
};

DoubleConv cpu_conv_double(const Tensor<double>& x_in, const Tensor<double>& w_in, const Tensor<double>& b_in,
                           const Tensor<double>& gy, const Conv2dOptions& opt) {
    Tensor<double> x = x_in.clone(), w = w_in.clone(), b = b_in.defined() ? b_in.clone() : Tensor<double>();
    x.set_requires_grad(), w.set_requires_grad();
    if (b.defined()) b.set_requires_grad();
    Tensor<double> out = conv2d(x, w, b, opt);
    out.backward(gy);
    return {out.detach(), x.grad(), w.grad(), b.defined() ? b.grad() : Tensor<double>()};
}

/// Inputs (float), the double reference, and Σ|ab|, Σ(ab)² of every output (see the file comment).
struct Tf32Reference {
    Tensor<float> x, w, b, gy;
    DoubleConv value, magnitude, squares;
};

Tf32Reference tf32_reference(const ConvCase& k, uint64_t seed) {
    Tf32Reference r;
    const int64_t Cg = k.x[1] / k.opt.groups;
    r.x = random_input<float>(k.x, seed);
    r.w = random_input<float>({k.O, Cg, k.kernel[0], k.kernel[1]}, seed + 1);
    if (k.bias) r.b = random_input<float>({k.O}, seed + 2);
    {
        NoGradGuard no_grad;
        const Tensor<float> probe = conv2d(r.x, r.w, r.b, k.opt);
        r.gy = random_input<float>(probe.shape(), seed + 3);
    }
    auto abs_f = [](double v) { return std::abs(v); };
    auto square = [](double v) { return v * v; };
    const Tensor<double> none;
    r.value = cpu_conv_double(to_double(r.x), to_double(r.w), k.bias ? to_double(r.b) : none, to_double(r.gy), k.opt);
    r.magnitude = cpu_conv_double(map_double(r.x, abs_f), map_double(r.w, abs_f), k.bias ? map_double(r.b, abs_f) : none,
                                  map_double(r.gy, abs_f), k.opt);
    r.squares = cpu_conv_double(map_double(r.x, square), map_double(r.w, square), k.bias ? map_double(r.b, square) : none,
                                map_double(r.gy, square), k.opt);
    return r;
}

/// tol_i = min((2u + u²)·Σ|ab|, 10u·sqrt(Σ(ab)²)) + 64·ε_fp32·Σ|ab| + 1e-30, u = 2^-11 (file comment).
std::vector<double> tf32_tolerance(const Tensor<double>& magnitude, const Tensor<double>& squares) {
    const std::vector<double> m = magnitude.to_vector(), q = squares.to_vector();
    const double u = std::ldexp(1.0, -11), eps = std::numeric_limits<float>::epsilon();
    std::vector<double> tol(m.size());
    for (size_t i = 0; i < m.size(); ++i)
        tol[i] = std::min((2 * u + u * u) * m[i], 10 * u * std::sqrt(q[i])) + 64 * eps * m[i] + 1e-30;
    return tol;
}

void expect_tf32_close(const Tensor<float>& got, const Tensor<double>& ref, const Tensor<double>& magnitude,
                       const Tensor<double>& squares, const std::string& what) {
    compare::expect_within(to_double(got), ref, tf32_tolerance(magnitude, squares), what);
}

template <class T>
void expect_same_bits(const Tensor<T>& got, const Tensor<T>& ref, const std::string& what) {
    compare::expect_close(got, ref, 0.0, 0.0, what);
}

/// True when the current GPU has TF32 tensor cores (compute capability 8.0 or newer).
bool gpu_has_tf32() { return cuda::device_info(0).compute_major >= 8; }

void check_tf32_case(const ConvCase& k, uint64_t seed) {
    const std::string name = std::string("conv2d TF32: ") + k.name;
    CAPTURE(name);
    const Tf32Reference r = tf32_reference(k, seed);
    const cuda::Conv2dShape s = conv_shape(k);
    REQUIRE(r.value.y.shape() == (Shape{s.N, s.O, s.OH, s.OW}));
    const auto algorithm = cuda::ConvAlgorithm::implicit_gemm_tf32;

    // 1. The launchers, into NaN-prefilled buffers.
    const Tensor<float> xd = r.x.to(gpu()), wd = r.w.to(gpu()), gyd = r.gy.to(gpu());
    const Tensor<float> bd = k.bias ? r.b.to(gpu()) : Tensor<float>();
    Tensor<float> y = nan_buffer<float>(r.value.y.shape()), dx = nan_buffer<float>(r.x.shape());
    Tensor<float> dw = nan_buffer<float>(r.w.shape());
    cuda::conv2d_forward<float>(xd.data(), wd.data(), k.bias ? bd.data() : nullptr, y.data(), s, algorithm);
    cuda::conv2d_backward_data<float>(wd.data(), gyd.data(), dx.data(), s, algorithm);
    cuda::conv2d_backward_weight<float>(xd.data(), gyd.data(), dw.data(), s, algorithm);
    expect_tf32_close(y, r.value.y, r.magnitude.y, r.squares.y, name + " launcher forward");
    expect_tf32_close(dx, r.value.dx, r.magnitude.dx, r.squares.dx, name + " launcher backward-data");
    expect_tf32_close(dw, r.value.dw, r.magnitude.dw, r.squares.dw, name + " launcher backward-weight");
    expect_same_bits(xd, r.x, name + " input unchanged");
    expect_same_bits(wd, r.w, name + " weight unchanged");
    expect_same_bits(gyd, r.gy, name + " grad_out unchanged");
    if (k.bias) expect_same_bits(bd, r.b, name + " bias unchanged");

    // 2. The public op on CUDA tensors, through autograd, with the TF32 algorithm chosen.
    ConvAlgorithmScope scope(algorithm);
    Tensor<float> x = r.x.clone(), w = r.w.clone(), b = k.bias ? r.b.clone() : Tensor<float>();
    x.set_requires_grad(), w.set_requires_grad();
    if (k.bias) b.set_requires_grad();
    const Tensor<float> y_dev = conv2d(x.to(gpu()), w.to(gpu()), k.bias ? b.to(gpu()) : Tensor<float>(), k.opt);
    CHECK(y_dev.device() == gpu());
    expect_tf32_close(y_dev, r.value.y, r.magnitude.y, r.squares.y, name + " op forward");
    y_dev.to(Device::cpu()).backward(r.gy);
    REQUIRE(x.grad().defined());
    REQUIRE(w.grad().defined());
    expect_tf32_close(x.grad(), r.value.dx, r.magnitude.dx, r.squares.dx, name + " op d input");
    expect_tf32_close(w.grad(), r.value.dw, r.magnitude.dw, r.squares.dw, name + " op d weight");
    if (k.bias) {
        REQUIRE(b.grad().defined());
        expect_tf32_close(b.grad(), r.value.db, r.magnitude.db, r.squares.db, name + " op d bias");
    }
}

}  // namespace

TEST_SUITE("host") {

TEST_CASE("conv algorithm flag: implicit_gemm (fp32) is the default; implicit_gemm_tf32 is named and can be chosen") {
    // The process starts on implicit_gemm unless SEAM_CONV_ALGORITHM names another (bench/gpu_check.sh
    // runs this program once under SEAM_CONV_ALGORITHM=winograd).
    const char* env = std::getenv("SEAM_CONV_ALGORITHM");
    const cuda::ConvAlgorithm start =
        env != nullptr && *env != '\0' ? cuda::conv_algorithm_from_name(env) : cuda::ConvAlgorithm::implicit_gemm;
    CHECK(cuda::conv_algorithm() == start);
    CHECK(std::string(cuda::conv_algorithm_name(cuda::ConvAlgorithm::implicit_gemm_tf32)) == "implicit_gemm_tf32");
    {
        ConvAlgorithmScope scope(cuda::ConvAlgorithm::implicit_gemm_tf32);
        CHECK(cuda::conv_algorithm() == cuda::ConvAlgorithm::implicit_gemm_tf32);
    }
    CHECK(cuda::conv_algorithm() == start);
    CHECK_THROWS_WITH_AS(cuda::set_conv_algorithm(static_cast<cuda::ConvAlgorithm>(7)),
                         doctest::Contains("unknown conv algorithm code 7"), Error);
    CHECK(cuda::conv_algorithm() == start);
    // cuBLAS's TF32 switch does not choose the conv algorithm.
    {
        AllowTf32Scope tf32(true);
        CHECK(cuda::conv_algorithm() == start);
    }
}

TEST_CASE("conv algorithm names: each name reads back as its algorithm; any other name is refused with the list") {
    for (cuda::ConvAlgorithm a : {cuda::ConvAlgorithm::direct, cuda::ConvAlgorithm::implicit_gemm,
                                  cuda::ConvAlgorithm::implicit_gemm_tf32, cuda::ConvAlgorithm::winograd})
        CHECK(cuda::conv_algorithm_from_name(cuda::conv_algorithm_name(a)) == a);
    CHECK(cuda::conv_algorithm_from_name("winograd") == cuda::ConvAlgorithm::winograd);
    for (const char* bad : {"", "Winograd", "tf32", "implicit_gemm ", "winograd2"})
        CHECK_THROWS_WITH_AS(cuda::conv_algorithm_from_name(bad),
                             doctest::Contains("is not a conv algorithm (direct, implicit_gemm, implicit_gemm_tf32, winograd)"),
                             Error);
}

}  // TEST_SUITE("host")

namespace {
/// The TF32 forward launcher on the first case throws seam::Error containing `message`.
void expect_tf32_forward_refused(const char* message) {
    const ConvCase& k = tf32_cases().front();
    const cuda::Conv2dShape s = conv_shape(k);
    const Tensor<float> x = random_input<float>(k.x, 1).to(gpu()), w = random_input<float>({5, 3, 3, 3}, 2).to(gpu());
    Tensor<float> y = nan_buffer<float>({s.N, s.O, s.OH, s.OW});
    CHECK_THROWS_WITH_AS(cuda::conv2d_forward<float>(x.data(), w.data(), nullptr, y.data(), s,
                                                     cuda::ConvAlgorithm::implicit_gemm_tf32),
                         doctest::Contains(message), Error);
}
}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("conv2d TF32 on CUDA: launchers (NaN-prefilled outputs) and the op equal the CPU conv2d within TF32 rounding") {
    if (!gpu_has_tf32()) {
        const cuda::DeviceInfo info = cuda::device_info(0);
        MESSAGE("GPU ", info.name, " is compute capability ", info.compute_major, ".", info.compute_minor,
                ": checking that the TF32 algorithm is refused");
        expect_tf32_forward_refused("need compute capability 8.0 or newer");
        return;
    }
    uint64_t seed = 7100;
    for (const ConvCase& k : tf32_cases()) check_tf32_case(k, seed++);
}

TEST_CASE("conv2d on CUDA with the flag off runs the fp32 kernels bit for bit; with it on the bits change") {
    ConvAlgorithmScope fp32(cuda::ConvAlgorithm::implicit_gemm);  // the default, also under SEAM_CONV_ALGORITHM
    const ConvCase k{"VGG-like 3x3 64 -> 64", {2, 64, 17, 19}, 64, {3, 3}, conv_options({1, 1}, {1, 1}), true};
    const cuda::Conv2dShape s = conv_shape(k);
    const Shape y_shape{s.N, s.O, s.OH, s.OW}, w_shape{64, 64, 3, 3};
    const Tensor<float> x = random_input<float>(k.x, 31), w = random_input<float>(w_shape, 32);
    const Tensor<float> b = random_input<float>({64}, 33), gy = random_input<float>(y_shape, 34);
    const Tensor<float> xd = x.to(gpu()), wd = w.to(gpu()), bd = b.to(gpu()), gyd = gy.to(gpu());

    auto run_launchers = [&](cuda::ConvAlgorithm a, Tensor<float>& y, Tensor<float>& dx, Tensor<float>& dw) {
        y = nan_buffer<float>(y_shape), dx = nan_buffer<float>(k.x), dw = nan_buffer<float>(w_shape);
        cuda::conv2d_forward<float>(xd.data(), wd.data(), bd.data(), y.data(), s, a);
        cuda::conv2d_backward_data<float>(wd.data(), gyd.data(), dx.data(), s, a);
        cuda::conv2d_backward_weight<float>(xd.data(), gyd.data(), dw.data(), s, a);
    };
    Tensor<float> y32, dx32, dw32;
    run_launchers(cuda::ConvAlgorithm::implicit_gemm, y32, dx32, dw32);

    // The op with the default algorithm, and again with cuBLAS's TF32 switch on: the fp32 bits.
    for (bool cublas_tf32 : {false, true}) {
        AllowTf32Scope tf32(cublas_tf32);
        const std::string what = cublas_tf32 ? "default algorithm, set_allow_tf32(true)" : "default algorithm";
        Tensor<float> xl = x.clone(), wl = w.clone(), bl = b.clone();
        xl.set_requires_grad(), wl.set_requires_grad(), bl.set_requires_grad();
        const Tensor<float> y = conv2d(xl.to(gpu()), wl.to(gpu()), bl.to(gpu()), k.opt);
        expect_same_bits(y, compare::on_host(y32), what + ": forward");
        y.to(Device::cpu()).backward(gy);
        expect_same_bits(xl.grad(), compare::on_host(dx32), what + ": d input");
        expect_same_bits(wl.grad(), compare::on_host(dw32), what + ": d weight");
    }

    if (!gpu_has_tf32()) return;
    // The flag on: the TF32 kernels run, so some bits differ from the fp32 result (the inputs are
    // full-precision randn values, almost none of them exact in TF32).
    Tensor<float> y19, dx19, dw19;
    run_launchers(cuda::ConvAlgorithm::implicit_gemm_tf32, y19, dx19, dw19);
    auto differing = [](const Tensor<float>& a, const Tensor<float>& b) {
        const std::vector<float> u = compare::on_host(a).to_vector(), v = compare::on_host(b).to_vector();
        int64_t count = 0;
        for (size_t i = 0; i < u.size(); ++i) count += u[i] != v[i];
        return count;
    };
    CHECK(differing(y19, y32) > 0);
    CHECK(differing(dx19, dx32) > 0);
    CHECK(differing(dw19, dw32) > 0);

    // Double tensors: TF32 does not apply, implicit_gemm_tf32 runs implicit_gemm in double.
    const Tensor<double> xdd = to_double(x).to(gpu()), wdd = to_double(w).to(gpu());
    Tensor<double> y64 = nan_buffer<double>(y_shape), y64_tf32 = nan_buffer<double>(y_shape);
    cuda::conv2d_forward<double>(xdd.data(), wdd.data(), nullptr, y64.data(), s, cuda::ConvAlgorithm::implicit_gemm);
    cuda::conv2d_forward<double>(xdd.data(), wdd.data(), nullptr, y64_tf32.data(), s, cuda::ConvAlgorithm::implicit_gemm_tf32);
    expect_same_bits(y64_tf32, compare::on_host(y64), "double with implicit_gemm_tf32 = implicit_gemm");
}

/// A split backward-weight (K = 3·19·17 = 969: several slices) run twice with the TF32 algorithm.
const ConvCase kDeterminismCase{"determinism", {3, 20, 19, 17}, 24, {3, 3}, conv_options({1, 1}, {1, 1}), false};

void expect_backward_weight_deterministic(uint64_t seed, const std::string& what) {
    const cuda::Conv2dShape s = conv_shape(kDeterminismCase);
    const Tensor<float> x = random_input<float>(kDeterminismCase.x, seed).to(gpu());
    const Tensor<float> w = random_input<float>({24, 20, 3, 3}, seed + 1).to(gpu());
    const Tensor<float> gy = random_input<float>({3, 24, 19, 17}, seed + 2).to(gpu());
    Tensor<float> dw1 = nan_buffer<float>({24, 20, 3, 3}), dw2 = nan_buffer<float>({24, 20, 3, 3});
    cuda::conv2d_backward_weight<float>(x.data(), gy.data(), dw1.data(), s, cuda::ConvAlgorithm::implicit_gemm_tf32);
    cuda::conv2d_backward_weight<float>(x.data(), gy.data(), dw2.data(), s, cuda::ConvAlgorithm::implicit_gemm_tf32);
    expect_same_bits(dw2, compare::on_host(dw1), what);
}

TEST_CASE("conv2d TF32 on CUDA is deterministic: the same bits on a second run (split-K backward-weight)") {
    if (!gpu_has_tf32()) return;
    expect_backward_weight_deterministic(41, "TF32 backward-weight twice");
}

/// Sets SEAM_TF32_CONV_VERSION for a scope (the ops read it at every call), restoring it after.
struct Tf32VersionScope {
    std::optional<std::string> saved;
    explicit Tf32VersionScope(const char* version) {
        if (const char* v = std::getenv("SEAM_TF32_CONV_VERSION")) saved = v;
        setenv("SEAM_TF32_CONV_VERSION", version, 1);
    }
    ~Tf32VersionScope() {
        if (saved) setenv("SEAM_TF32_CONV_VERSION", saved->c_str(), 1);
        else unsetenv("SEAM_TF32_CONV_VERSION");
    }
    Tf32VersionScope(const Tf32VersionScope&) = delete;
    Tf32VersionScope& operator=(const Tf32VersionScope&) = delete;
};

TEST_CASE("conv2d TF32 version 5 (channels-last staging, SEAM_TF32_CONV_VERSION=5): launchers and the op equal the "
          "CPU conv2d within TF32 rounding; deterministic; an unknown version is refused") {
    if (!gpu_has_tf32()) return;
    {
        Tf32VersionScope v5("5");
        uint64_t seed = 7300;
        for (const ConvCase& k : tf32_cases()) check_tf32_case(k, seed++);
        // Version 5's own split of backward-weight (K = 969 > 512: several slices): right, and the same bits twice.
        check_tf32_case(kDeterminismCase, seed++);
        expect_backward_weight_deterministic(51, "TF32 version 5 backward-weight twice");
    }
    Tf32VersionScope bad("7");
    expect_tf32_forward_refused("the TF32 conv versions are 3, 4, 5 and 6 (unset: 6 where it runs");
}

TEST_CASE("conv2d TF32 version 6 (wgmma, SEAM_TF32_CONV_VERSION=6): on a compute-capability-9.0 GPU with sm_90a code "
          "the launchers and the op equal the CPU conv2d within TF32 rounding and are deterministic; elsewhere refused") {
    if (!gpu_has_tf32()) return;
    const cuda::DeviceInfo info = cuda::device_info(0);
#if defined(SEAM_CUDA_TESTS_HAVE_SM90A)
    const bool runs = info.compute_major == 9 && info.compute_minor == 0;
#else
    const bool runs = false;
#endif
    Tf32VersionScope v6("6");
    if (!runs) {
        MESSAGE("GPU ", info.name, " (", info.compute_major, ".", info.compute_minor,
                ") or this build (no sm_90a code) cannot run version 6: checking that it is refused");
        expect_tf32_forward_refused("TF32 version 6 (wgmma) needs a compute capability 9.0");
        return;
    }
    uint64_t seed = 7500;
    for (const ConvCase& k : tf32_cases()) check_tf32_case(k, seed++);
    check_tf32_case(kDeterminismCase, seed++);
    expect_backward_weight_deterministic(51, "TF32 version 6 backward-weight twice");
}

}  // TEST_SUITE("gpu")
