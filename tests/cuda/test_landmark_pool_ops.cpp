// tests/cuda/test_landmark_pool_ops.cpp — the public op landmark_pool (include/seam/ops/landmark_pool.hpp)
// on CUDA tensors, forward and backward through autograd, against the same op on the CPU with the
// same inputs (test suite "gpu"; without a GPU the program skips it, see tests/cuda/main.cpp).
//
// The leaves live on the CPU and reach the GPU through Tensor::to, whose backward brings the
// gradient home, so the graph to -> landmark_pool on the GPU -> to is differentiated and the CPU
// leaves' gradients are compared with those of the same graph computed on the CPU. What is
// compared: the output (bit for bit: a max, then one multiplication, on both devices), the argmax
// indices (exactly), the features gradient (same summation order; atol + rtol·|ref| for the
// multiply-adds nvcc fuses) and the soft gate's visibility gradient (a tree sum on the GPU, a
// sequential one on the CPU: within a bound proportional to the sum of the terms' magnitudes).
// Mismatches are reported by index.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/core/tensor.hpp"
#include "seam/cpu/reference/landmark_pool.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/landmark_pool.hpp"

#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;

namespace {

Device cpu() { return Device::cpu(); }

/// compare::expect_within, with `got` required to be a host copy already.
template <class T>
void expect_within(const Tensor<T>& got, const Tensor<T>& ref, const std::vector<double>& tol, const std::string& what) {
    REQUIRE(got.defined());
    REQUIRE(got.device().is_cpu());
    compare::expect_within(got, ref, tol, what);
}

template <class T>
void expect_close(const Tensor<T>& got, const Tensor<T>& ref, const std::string& what) {
    const double atol = std::is_same_v<T, float> ? 1e-5 : 1e-12, rtol = atol;
    const std::vector<T> r = ref.to_vector();
    std::vector<double> tol(r.size());
    for (size_t i = 0; i < r.size(); ++i) tol[i] = atol + rtol * std::abs(static_cast<double>(r[i]));
    expect_within(got, ref, tol, what);
}

template <class T>
void expect_same_bits(const Tensor<T>& got, const Tensor<T>& ref, const std::string& what) {
    expect_within(got, ref, std::vector<double>(static_cast<size_t>(ref.numel()), 0.0), what);
}

void expect_same_indices(const Tensor<int64_t>& got, const Tensor<int64_t>& ref, const std::string& what) {
    REQUIRE(got.device().is_cpu());
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

struct Case {
    const char* name;
    int64_t N, C, H, W, L;
    std::array<int64_t, 2> window, bins;
    LandmarkGate gate;
    bool ties = false;            // features rounded to halves: many equal maxima (the first must win on both)
    bool non_contiguous = false;  // features, landmarks and visibility as strided views
};

/// One input set on `device`; called twice with the same seed, it gives two equal, independent
/// sets of leaves. The leaves are on the CPU; the tensors the op sees are moved to `device` (a
/// differentiable copy) and, for non_contiguous, made strided views there, so the GPU path itself
/// meets the strides.
template <class T>
struct Inputs {
    Tensor<T> features, landmarks, visibility;  // what the op sees
    Tensor<T> features_leaf, visibility_leaf;   // where the gradients land (CPU)
};

template <class T>
Tensor<T> moved(const Tensor<T>& t, Device device) {
    return t.defined() ? t.to(device) : Tensor<T>();
}

template <class T>
Tensor<T> moved_to_gpu(const Tensor<T>& t) {
    return moved(t, gpu());
}

template <class T>
Inputs<T> make_inputs(const Case& k, uint64_t seed, Device device) {
    Generator gen(seed);
    Inputs<T> in;
    // Features stored [N, H, W, C] and permuted when non_contiguous, else stored [N, C, H, W].
    in.features_leaf = k.non_contiguous ? randn<T>({k.N, k.H, k.W, k.C}, gen) : randn<T>({k.N, k.C, k.H, k.W}, gen);
    if (k.ties)
        for (int64_t i = 0; i < in.features_leaf.numel(); ++i)
            in.features_leaf.data()[i] = std::round(in.features_leaf.data()[i] * T(2)) / T(2);
    in.features_leaf.set_requires_grad();
    // Landmarks over [-0.4, 1.4] (windows overlapping the border, some beyond it), stored [N, 2, L]
    // when non_contiguous. The first ones are pinned to awkward places: the corners, an exact cell
    // border (x = 3/W), far outside, and a point just off the middle.
    Tensor<T> lm = rand<T>({k.N, k.L, 2}, gen, T(-0.4), T(1.4));
    const T special[6][2] = {{0, 0}, {1, 1}, {T(3) / T(k.W), T(0.5)}, {-3, T(0.5)}, {T(0.5), 7}, {T(0.51), T(0.49)}};
    for (int64_t l = 0; l < std::min<int64_t>(k.L, 6); ++l)
        lm.data()[2 * l] = special[l][0], lm.data()[2 * l + 1] = special[l][1];
    // Visibility in [0, 1], one exactly at the hard gate's threshold (0.5: switched off); stored
    // [L, N] when non_contiguous.
    Tensor<T> vis = rand<T>({k.N, k.L}, gen);
    if (k.L > 1) vis.data()[1] = T(0.5);
    if (k.non_contiguous) vis = vis.transpose(0, 1).contiguous().detach();
    in.visibility_leaf = vis;
    if (k.gate != LandmarkGate::none) in.visibility_leaf.set_requires_grad();

    if (k.non_contiguous) {
        in.features = moved(in.features_leaf, device).permute({0, 3, 1, 2});
        in.landmarks = moved(lm.transpose(1, 2).contiguous(), device).transpose(1, 2);
        in.visibility = moved(in.visibility_leaf, device).transpose(0, 1);
        CHECK_FALSE(in.features.is_contiguous());
        CHECK_FALSE(in.landmarks.is_contiguous());
    } else {
        in.features = moved(in.features_leaf, device);
        in.landmarks = moved(lm, device);
        in.visibility = moved(in.visibility_leaf, device);
    }
    if (k.gate == LandmarkGate::none) in.visibility = Tensor<T>();  // the gate `none` takes no visibility
    return in;
}

/// Soft gate: per (n, l), 32·eps·Σ|grad_out · ungated max| — a bound on the difference between two
/// summation orders of the same terms that holds with room to spare, yet far below one term.
template <class T>
std::vector<double> visibility_tolerance(const Inputs<T>& in, const Tensor<T>& grad_out, const LandmarkPoolOptions& opt) {
    LandmarkPoolOptions ungated = opt;
    ungated.gate = LandmarkGate::none;
    NoGradGuard no_grad;
    const Tensor<T> pooled = landmark_pool(in.features, in.landmarks, Tensor<T>(), ungated).contiguous();
    const std::vector<T> p = pooled.to_vector(), g = grad_out.contiguous().to_vector();
    const int64_t NL = pooled.size(0) * pooled.size(1);
    const int64_t per = NL ? pooled.numel() / NL : 0;
    std::vector<double> tol(static_cast<size_t>(NL));
    const double eps = std::numeric_limits<T>::epsilon();
    for (int64_t nl = 0; nl < NL; ++nl) {
        double magnitude = 0;
        for (int64_t k = 0; k < per; ++k) magnitude += std::abs(double(g[nl * per + k]) * double(p[nl * per + k]));
        tol[static_cast<size_t>(nl)] = 32 * eps * magnitude + 1e-300;
    }
    return tol;
}

template <class T>
void check_case(const Case& k, uint64_t seed) {
    const std::string name = std::string(k.name) + " [" + dtype_name<T>() + ", gate " + landmark_gate_name(k.gate) + "]";
    CAPTURE(name);
    LandmarkPoolOptions opt;
    opt.window = k.window;
    opt.bins = k.bins;
    opt.gate = k.gate;
    Inputs<T> on_cpu = make_inputs<T>(k, seed, cpu()), for_gpu = make_inputs<T>(k, seed, gpu());

    const auto [y_cpu, idx_cpu] = landmark_pool_with_indices(on_cpu.features, on_cpu.landmarks, on_cpu.visibility, opt);
    const auto [y_dev, idx_dev] =
        landmark_pool_with_indices(for_gpu.features, for_gpu.landmarks, for_gpu.visibility, opt);
    CHECK(y_dev.device() == gpu());
    CHECK(idx_dev.device() == gpu());
    const Tensor<T> y_back = y_dev.to(cpu());
    expect_same_bits(y_back, y_cpu, name + " forward");
    expect_same_indices(idx_dev.to(cpu()), idx_cpu, name + " argmax");

    Generator gen(seed + 1000);
    const Tensor<T> grad_out = randn<T>(y_cpu.shape(), gen);
    y_cpu.backward(grad_out);
    y_back.backward(grad_out);
    REQUIRE(for_gpu.features_leaf.grad().defined());
    CHECK(for_gpu.features_leaf.grad().device().is_cpu());
    expect_close(for_gpu.features_leaf.grad(), on_cpu.features_leaf.grad(), name + " d features");

    // The kernels only read their inputs.
    expect_same_bits(for_gpu.features.detach().to(cpu()), on_cpu.features.detach(), name + " features unchanged");
    expect_same_bits(for_gpu.landmarks.detach().to(cpu()), on_cpu.landmarks.detach(), name + " landmarks unchanged");
    if (k.gate != LandmarkGate::none)
        expect_same_bits(for_gpu.visibility.detach().to(cpu()), on_cpu.visibility.detach(), name + " visibility unchanged");

    if (k.gate == LandmarkGate::soft) {
        REQUIRE(for_gpu.visibility_leaf.grad().defined());
        const Tensor<T> ref = on_cpu.visibility_leaf.grad();
        // The tolerance is indexed like grad_out's (n, l); the leaf may be stored [L, N].
        Tensor<T> got = for_gpu.visibility_leaf.grad(), want = ref;
        if (k.non_contiguous) got = got.transpose(0, 1).contiguous(), want = want.transpose(0, 1).contiguous();
        expect_within(got, want, visibility_tolerance(on_cpu, grad_out, opt), name + " d visibility");
    } else if (k.gate == LandmarkGate::hard) {
        // A step function: no gradient reaches the visibility, on either device.
        CHECK_FALSE(on_cpu.visibility_leaf.grad().defined());
        CHECK_FALSE(for_gpu.visibility_leaf.grad().defined());
    }
}

const std::vector<Case>& awkward_cases() {
    static const std::vector<Case> cases = {
        {"odd map, odd C, 3x3 window in overlapping 2x2 bins", 2, 3, 7, 9, 6, {3, 3}, {2, 2}, LandmarkGate::hard},
        {"odd map, odd C, 3x3 window in overlapping 2x2 bins", 2, 3, 7, 9, 6, {3, 3}, {2, 2}, LandmarkGate::soft},
        {"odd map, odd C, 3x3 window in overlapping 2x2 bins", 2, 3, 7, 9, 6, {3, 3}, {2, 2}, LandmarkGate::none},
        {"C=17, 4x5 window, 3x3 bins", 3, 17, 6, 5, 7, {4, 5}, {3, 3}, LandmarkGate::soft},
        {"window larger than the map", 2, 5, 5, 7, 6, {11, 13}, {2, 2}, LandmarkGate::hard},
        {"1x1 window and bins, batch 1", 1, 9, 9, 4, 6, {1, 1}, {1, 1}, LandmarkGate::soft},
        {"more bin rows than window rows", 2, 4, 3, 11, 6, {2, 6}, {3, 3}, LandmarkGate::none},
        {"even window 4x2", 2, 7, 8, 6, 6, {4, 2}, {2, 1}, LandmarkGate::soft},
        {"ties everywhere (features in halves)", 2, 11, 10, 10, 8, {7, 7}, {2, 2}, LandmarkGate::hard, true},
        {"ties everywhere (features in halves)", 2, 11, 10, 10, 8, {7, 7}, {2, 2}, LandmarkGate::soft, true},
        {"strided views of every input", 2, 13, 9, 11, 6, {5, 3}, {2, 2}, LandmarkGate::soft, false, true},
        {"strided views of every input", 2, 13, 9, 11, 6, {5, 3}, {2, 2}, LandmarkGate::hard, false, true},
        {"FashionNet geometry (28x28, L=8, 7x7 in 2x2), C=61", 3, 61, 28, 28, 8, {7, 7}, {2, 2}, LandmarkGate::hard},
        {"FashionNet geometry (28x28, L=8, 7x7 in 2x2), C=61", 3, 61, 28, 28, 8, {7, 7}, {2, 2}, LandmarkGate::soft},
        {"no landmarks (L = 0)", 2, 3, 5, 5, 0, {3, 3}, {2, 2}, LandmarkGate::soft},
    };
    return cases;
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("landmark_pool on CUDA tensors: output, argmax and gradients equal the CPU op's (float, double)") {
    uint64_t seed = 700;
    for (const Case& k : awkward_cases()) {
        check_case<float>(k, seed);
        check_case<double>(k, seed);
        ++seed;
    }
}

TEST_CASE("landmark_pool on CUDA tensors: inference path, soft gate without a features gradient, the module") {
    const Case k{"inference", 2, 5, 8, 7, 5, {3, 3}, {2, 2}, LandmarkGate::soft};
    LandmarkPoolOptions opt;
    opt.window = k.window, opt.bins = k.bins, opt.gate = k.gate;
    Inputs<float> in = make_inputs<float>(k, 42, cpu());
    const Tensor<float> y_cpu = landmark_pool_with_indices(in.features, in.landmarks, in.visibility, opt).first;

    SUBCASE("no grad: the output stays on the GPU, needs no graph and equals the CPU's") {
        NoGradGuard no_grad;
        const Tensor<float> y = landmark_pool(moved_to_gpu(in.features), moved_to_gpu(in.landmarks), moved_to_gpu(in.visibility), opt);
        CHECK(y.device() == gpu());
        CHECK_FALSE(y.requires_grad());
        expect_same_bits(y.to(cpu()), y_cpu, "no-grad forward");
    }
    SUBCASE("only the visibility requires grad: features get none, visibility its soft-gate gradient") {
        const Tensor<float> f = in.features.detach(), lm = in.landmarks.detach();
        Tensor<float> v_cpu = in.visibility.detach().clone(), v_dev_leaf = in.visibility.detach().clone();
        v_cpu.set_requires_grad(), v_dev_leaf.set_requires_grad();
        const Tensor<float> y_ref = landmark_pool(f, lm, v_cpu, opt);
        const Tensor<float> y_dev = landmark_pool(moved_to_gpu(f), moved_to_gpu(lm), moved_to_gpu(v_dev_leaf), opt);
        CHECK(y_dev.requires_grad());
        const Tensor<float> g = ones<float>(y_ref.shape());
        y_ref.backward(g);
        y_dev.to(cpu()).backward(g);
        Inputs<float> for_tol;
        for_tol.features = f, for_tol.landmarks = lm;
        expect_within(v_dev_leaf.grad(), v_cpu.grad(), visibility_tolerance(for_tol, g, opt), "d visibility only");
    }
    SUBCASE("nn::LandmarkPool forwards CUDA tensors to the CUDA path") {
        nn::LandmarkPool<float> pool(opt);
        const Tensor<float> y = pool(moved_to_gpu(in.features), moved_to_gpu(in.landmarks), moved_to_gpu(in.visibility));
        CHECK(y.device() == gpu());
        expect_same_bits(y.to(cpu()), y_cpu, "module forward");
    }
}

TEST_CASE("landmark_pool on CUDA: a NaN landmark gives an empty window (the CPU op throws instead)") {
    // Documented difference: the GPU path does not copy the landmarks home to check them.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    Tensor<float> f = ones<float>({1, 2, 4, 4});
    f.set_requires_grad();
    const Tensor<float> lm = from_vector<float>({nan, 0.5f, 0.5f, 0.5f}, {1, 2, 2});
    LandmarkPoolOptions opt;
    opt.window = {3, 3}, opt.gate = LandmarkGate::none;
    CHECK_THROWS_WITH_AS(landmark_pool(f, lm, Tensor<float>(), opt), doctest::Contains("non-finite"), Error);
    const auto [y, idx] = landmark_pool_with_indices(f.to(gpu()), lm.to(gpu()), Tensor<float>(), opt);
    const std::vector<float> out = y.to(cpu()).to_vector();  // [1, 2, 2, 2, 2]: landmark 0 first
    const std::vector<int64_t> at = idx.to(cpu()).to_vector();
    for (int i = 0; i < 8; ++i) {
        CHECK(out[i] == 0.0f);
        CHECK(at[i] == -1);
    }
    for (int i = 8; i < 16; ++i) {
        CHECK(out[i] == 1.0f);  // the other landmark pools normally
        CHECK(at[i] >= 0);
    }
    y.to(cpu()).backward(ones<float>(y.shape()));
    const std::vector<float> gf = f.grad().to_vector();
    double total = 0;
    for (float v : gf) total += v;
    CHECK(total == doctest::Approx(8.0));  // one per output of the finite landmark, none from the NaN one
}

TEST_CASE("landmark_pool refuses inputs on different devices, naming the op and the devices") {
    const Tensor<float> f = ones<float>({1, 2, 4, 4}), lm = full<float>({1, 3, 2}, 0.5f), v = full<float>({1, 3}, 0.9f);
    CHECK_THROWS_WITH_AS(landmark_pool(f.to(gpu()), lm, v.to(gpu())),
                         doctest::Contains("landmark_pool: inputs on different devices (features on cuda:0, landmarks on cpu"),
                         Error);
    CHECK_THROWS_WITH_AS(landmark_pool(f, lm, v.to(gpu())), doctest::Contains("visibility on cuda:0"), Error);
    CHECK_THROWS_WITH_AS(landmark_pool(f.to(gpu()), lm.to(gpu()), v), doctest::Contains("visibility on cpu"), Error);
    // The shape checks still speak on the GPU path.
    CHECK_THROWS_WITH_AS(landmark_pool(f.to(gpu()), lm.to(gpu()), full<float>({1, 2}, 0.9f).to(gpu())),
                         doctest::Contains("visibility of shape [1, 2] must be [N, L] = [1, 3]"), Error);
    // The naive reference is a CPU oracle only.
    LandmarkPoolOptions opt;
    CHECK_THROWS_WITH_AS(reference::landmark_pool(f.to(gpu()), lm.to(gpu()), v.to(gpu()), opt),
                         doctest::Contains("runs on the CPU only"), Error);
}

}  // TEST_SUITE
