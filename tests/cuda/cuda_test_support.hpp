// tests/cuda/cuda_test_support.hpp — helpers shared by the CUDA test files (each of which used to
// carry its own copy): the device under test, a readable position for mismatch reports,
// (namespace compare) the element-wise tolerance checks of the op-level CUDA-vs-CPU tests (one
// rule for all elements, or a tolerance per element such as conv_tolerance's), and
// EnvScope (a kernel-version variable for a scope), (namespace op_check) what the core-ops and
// more-ops tests share: exact comparisons, NaN-filled
// output buffers, seeded inputs and compare_graph, the same graph run on the CPU and on the GPU.
// What the convolution tests alone share is in conv_test_support.hpp.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>
#include <sstream>
#include <string>
#include <vector>

#include "seam/core/tensor.hpp"

namespace seam::cuda_test {

/// The GPU every CUDA test runs on (the tests skip themselves when there is none).
inline Device gpu() { return Device::cuda(0); }

/// "(n, c, h, w)" of a linear index into a contiguous tensor of `shape` (any rank).
inline std::string index_str(int64_t linear, const Shape& shape) {
    std::vector<int64_t> idx(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
        idx[d] = linear % shape[d];
        linear /= shape[d];
    }
    std::ostringstream out;
    out << '(';
    for (size_t d = 0; d < idx.size(); ++d) out << (d ? ", " : "") << idx[d];
    return out.str() + ')';
}

/// Sets an environment variable for its lifetime (restores it after): the kernel-version variables
/// (SEAM_*_VERSION) under which a test runs each version of a kernel family.
class EnvScope {
public:
    EnvScope(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) saved_ = old;
        setenv(name, value, 1);
    }
    ~EnvScope() {
        if (saved_) setenv(name_, saved_->c_str(), 1);
        else unsetenv(name_);
    }
    EnvScope(const EnvScope&) = delete;
    EnvScope& operator=(const EnvScope&) = delete;

private:
    const char* name_;
    std::optional<std::string> saved_;
};

/// Element-wise comparison of a result (on any device) with a reference, for the test files that
/// share one tolerance rule. In their own namespace because other test files define
/// expect_close with other rules.
namespace compare {

/// A dense host copy (the tensor itself, detached, when it already is one).
template <class T>
Tensor<T> on_host(const Tensor<T>& t) {
    return t.device().is_cpu() ? t.detach().contiguous() : t.detach().to(Device::cpu()).contiguous();
}

template <class T>
constexpr double default_atol() {
    return std::is_same_v<T, float> ? 2e-5 : 1e-12;
}
template <class T>
constexpr double default_rtol() {
    return std::is_same_v<T, float> ? 2e-5 : 1e-11;
}

/// |got - ref| <= atol + rtol·|ref| per element (NaN matches only NaN); either may live on the GPU.
template <class T>
void expect_close(const Tensor<T>& got_any, const Tensor<T>& ref_any, double atol, double rtol, const std::string& what) {
    REQUIRE_MESSAGE(got_any.defined(), what, ": undefined result");
    REQUIRE_MESSAGE(ref_any.defined(), what, ": undefined reference");
    const Tensor<T> got = on_host(got_any), ref = on_host(ref_any);
    REQUIRE_MESSAGE(got.shape() == ref.shape(), what, ": shape ", shape_str(got.shape()), " vs ", shape_str(ref.shape()));
    const std::vector<T> g = got.to_vector(), r = ref.to_vector();
    int64_t bad = 0;
    std::ostringstream report;
    for (size_t i = 0; i < g.size(); ++i) {
        const double gv = g[i], rv = r[i];
        if (std::isnan(gv) && std::isnan(rv)) continue;
        const double tol = atol + rtol * std::abs(rv);
        if (gv == rv || std::abs(gv - rv) <= tol) continue;  // NaN on one side only fails here
        if (++bad <= 8)
            report << "  " << what << " at " << index_str(static_cast<int64_t>(i), ref.shape()) << ": got " << gv
                   << ", expected " << rv << " (tolerance " << tol << ")\n";
    }
    CHECK_MESSAGE(bad == 0, what, ": ", bad, " mismatches\n", report.str());
}

template <class T>
void expect_close(const Tensor<T>& got, const Tensor<T>& ref, const std::string& what) {
    expect_close(got, ref, default_atol<T>(), default_rtol<T>(), what);
}

/// |got - ref| <= tol[i] per element (NaN matches only NaN); got may live on the GPU.
template <class T>
void expect_within(const Tensor<T>& got_any, const Tensor<T>& ref, const std::vector<double>& tol, const std::string& what) {
    REQUIRE(got_any.defined());
    const Tensor<T> got = on_host(got_any);
    REQUIRE_MESSAGE(got.shape() == ref.shape(), what, ": shape ", shape_str(got.shape()), " vs ", shape_str(ref.shape()));
    const std::vector<T> g = got.to_vector(), r = on_host(ref).to_vector();
    REQUIRE(tol.size() == g.size());
    int64_t bad = 0;
    std::ostringstream report;
    for (size_t i = 0; i < g.size(); ++i) {
        const double gv = g[i], rv = r[i];
        if (std::isnan(gv) && std::isnan(rv)) continue;
        if (gv == rv || std::abs(gv - rv) <= tol[i]) continue;  // NaN on one side only fails here
        if (++bad <= 8)
            report << "  " << what << " at " << index_str(static_cast<int64_t>(i), ref.shape()) << ": got " << gv
                   << ", expected " << rv << " (tolerance " << tol[i] << ")\n";
    }
    CHECK_MESSAGE(bad == 0, what, ": ", bad, " mismatches\n", report.str());
}

/// A host copy of t with every element replaced by its absolute value.
template <class T>
Tensor<T> abs_copy(const Tensor<T>& t) {
    std::vector<T> v = on_host(t).to_vector();
    for (T& e : v) e = std::abs(e);
    return from_vector<T>(v, t.shape());
}

/// The tolerance of a sum of products computed in another order (a convolution on the GPU against
/// the CPU's): 64·eps·Σ|terms| + tiny per element, `magnitude` holding Σ|terms| (the same op run
/// on the absolute values of its inputs). Far below one term, so a wrong or missing tap fails.
template <class T>
std::vector<double> conv_tolerance(const Tensor<T>& magnitude) {
    const std::vector<T> m = on_host(magnitude).to_vector();
    std::vector<double> tol(m.size());
    const double eps = std::numeric_limits<T>::epsilon();
    for (size_t i = 0; i < m.size(); ++i) tol[i] = 64 * eps * static_cast<double>(m[i]) + 1e-30;
    return tol;
}

}  // namespace compare

/// The helpers of the op-level CUDA-vs-CPU test files that use them (test_core_ops_cuda.cpp,
/// test_more_ops_cuda.cpp). A namespace of their own: other test files define functions of the
/// same names with other signatures.
namespace op_check {

using compare::default_atol;
using compare::default_rtol;
using compare::expect_close;
using compare::on_host;

template <class I>
void expect_same(const Tensor<I>& got_any, const Tensor<I>& ref, const std::string& what) {
    REQUIRE(got_any.defined());
    const Tensor<I> got = got_any.device().is_cpu() ? got_any.contiguous() : got_any.to(Device::cpu()).contiguous();
    REQUIRE_MESSAGE(got.shape() == ref.shape(), what, ": shape ", shape_str(got.shape()), " vs ", shape_str(ref.shape()));
    const std::vector<I> g = got.to_vector(), r = ref.contiguous().to_vector();
    int64_t bad = 0;
    std::ostringstream report;
    for (size_t i = 0; i < g.size(); ++i) {
        if (g[i] == r[i]) continue;
        if (++bad <= 8)
            report << "  " << what << " at " << index_str(static_cast<int64_t>(i), ref.shape()) << ": got " << +g[i]
                   << ", expected " << +r[i] << "\n";
    }
    CHECK_MESSAGE(bad == 0, what, ": ", bad, " mismatches\n", report.str());
}

/// Bit-for-bit equality of a device tensor with the host tensor it was uploaded from.
template <class T>
void expect_unchanged(const Tensor<T>& device_copy, const Tensor<T>& original, const std::string& what) {
    const std::vector<T> g = on_host(device_copy).to_vector(), r = on_host(original).to_vector();
    REQUIRE(g.size() == r.size());
    int64_t bad = 0;
    for (size_t i = 0; i < g.size(); ++i)
        if (!(g[i] == r[i] || (std::isnan(double(g[i])) && std::isnan(double(r[i]))))) ++bad;
    CHECK_MESSAGE(bad == 0, what, ": the input changed on the device (", bad, " elements)");
}

/// A device buffer of `shape` full of NaN: whatever a kernel does not write stays NaN.
template <class T>
Tensor<T> nan_buffer(const Shape& shape) {
    Tensor<T> t = empty<T>(shape, gpu());
    t.fill_(std::numeric_limits<T>::quiet_NaN());
    return t;
}

/// randn values; `ties` rounds them to halves (many equal values), `nans` plants a few NaN.
template <class T>
Tensor<T> random_input(const Shape& shape, uint64_t seed, bool ties = false, bool nans = false, T scale = T(1)) {
    Generator gen(seed);
    Tensor<T> t = randn<T>(shape, gen);
    T* p = t.data();
    for (int64_t i = 0; i < t.numel(); ++i) {
        p[i] *= scale;
        if (ties) p[i] = std::round(p[i] * T(2)) / T(2);
        if (nans && i % 11 == 3) p[i] = std::numeric_limits<T>::quiet_NaN();
    }
    return t;
}

template <class T>
Tensor<T> to_gpu(const Tensor<T>& t) {
    return t.detach().to(gpu());
}

/// The same graph on the CPU and on the GPU: f maps leaves to one output. Compares the output,
/// then backpropagates the same random gradient and compares every leaf gradient (which must be
/// on the GPU), then checks that the device leaves still hold the uploaded values. To test a
/// non-contiguous input, let f take a view of its leaf (e.g. in[0].transpose(0, 1)).
template <class T>
void compare_graph(const std::vector<Tensor<T>>& inputs, const std::vector<bool>& needs_grad,
                   const std::function<Tensor<T>(const std::vector<Tensor<T>>&)>& f, const std::string& what,
                   double atol = default_atol<T>(), double rtol = default_rtol<T>(), uint64_t seed = 99) {
    std::vector<Tensor<T>> cpu_leaves, gpu_leaves;
    for (size_t i = 0; i < inputs.size(); ++i) {
        Tensor<T> c = inputs[i].clone().detach(), g = to_gpu(inputs[i]);
        if (needs_grad[i]) c.set_requires_grad(), g.set_requires_grad();
        cpu_leaves.push_back(c);
        gpu_leaves.push_back(g);
    }
    const Tensor<T> y_cpu = f(cpu_leaves);
    const Tensor<T> y_gpu = f(gpu_leaves);
    REQUIRE(y_gpu.device().is_cuda());
    expect_close(y_gpu, y_cpu, atol, rtol, what + " forward");
    bool any_grad = false;
    for (bool b : needs_grad) any_grad = any_grad || b;
    if (any_grad) {
        const Tensor<T> gy = random_input<T>(y_cpu.shape(), seed);
        y_cpu.backward(gy);
        y_gpu.backward(to_gpu(gy));
        for (size_t i = 0; i < inputs.size(); ++i) {
            if (!needs_grad[i]) continue;
            REQUIRE_MESSAGE(gpu_leaves[i].grad().defined(), what, ": no gradient for input ", i);
            CHECK_MESSAGE(gpu_leaves[i].grad().device().is_cuda(), what, ": gradient of input ", i, " left the GPU");
            expect_close(gpu_leaves[i].grad(), cpu_leaves[i].grad(), atol, rtol,
                         what + " gradient of input " + std::to_string(i));
        }
    }
    for (size_t i = 0; i < inputs.size(); ++i)
        expect_unchanged(gpu_leaves[i], inputs[i], what + " input " + std::to_string(i));
}

}  // namespace op_check

}  // namespace seam::cuda_test
