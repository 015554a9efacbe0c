// tests/cuda/cuda_test_support.hpp — helpers shared by the CUDA test files (each of which used to
// carry its own copy): the device under test, a readable position for mismatch reports, and
// (namespace compare) the element-wise tolerance check of the op-level CUDA-vs-CPU tests.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
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

}  // namespace compare

}  // namespace seam::cuda_test
