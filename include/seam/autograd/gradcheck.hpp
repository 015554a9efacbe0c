// seam/autograd/gradcheck.hpp — compare backward() with central finite differences.
//
// gradcheck(fn, inputs) builds, for every input element x_j, the numerical column
//     (fn(x + eps e_j) - fn(x - eps e_j)) / (2 eps)
// of the Jacobian, and the analytical rows by running backward once per output element with a
// one-hot gradient (flashlight's jacobianTestImpl). Double precision only: with float the
// truncation and rounding errors of the differences swamp the comparison. An element passes
// when |analytic - numeric| <= atol + rtol * |numeric|. The result names the worst element: which
// input, its multi-index, which output element, both values.
#pragma once

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "seam/core/tensor.hpp"

namespace seam {

struct GradcheckResult {
    bool ok = true;
    double max_abs_error = 0.0;   // worst |analytic - numeric|
    double worst_ratio = 0.0;     // worst |analytic - numeric| / (atol + rtol*|numeric|); > 1 fails
    int input = -1;               // which input held the worst element
    Shape input_index;            // its multi-index
    int64_t output_element = -1;  // row-major index of the output element
    double analytic = 0.0, numeric = 0.0;
    std::string message;          // a readable one-line summary
};

struct GradcheckOptions {
    double eps = 1e-6;
    double atol = 1e-5;
    double rtol = 1e-3;
};

namespace detail {
inline Shape unravel(int64_t linear, const Shape& shape) {
    Shape idx(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
        idx[d] = linear % shape[d];
        linear /= shape[d];
    }
    return idx;
}
}  // namespace detail

/// Check the gradients of fn at `inputs` (each a double tensor; those with requires_grad are checked).
inline GradcheckResult gradcheck(const std::function<Tensor<double>(const std::vector<Tensor<double>>&)>& fn,
                                 std::vector<Tensor<double>> inputs, GradcheckOptions opt = {}) {
    // Work on private contiguous leaves so perturbing them cannot touch the caller's tensors.
    std::vector<bool> check(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
        check[i] = inputs[i].requires_grad();
        inputs[i] = inputs[i].detach().clone();
        if (check[i]) inputs[i].set_requires_grad(true);
    }
    Tensor<double> y0 = fn(inputs);
    const int64_t outputs = y0.numel();

    // Analytical Jacobian, one backward per output element.
    std::vector<std::vector<double>> analytic(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i)
        if (check[i]) analytic[i].assign(static_cast<size_t>(outputs * inputs[i].numel()), 0.0);
    for (int64_t o = 0; o < outputs; ++o) {
        for (auto& in : inputs)
            if (in.requires_grad()) in.zero_grad();
        Tensor<double> y = fn(inputs);
        SEAM_CHECK(y.requires_grad(), "gradcheck: the function's output does not depend on any input that requires grad");
        Tensor<double> onehot = zeros<double>(y.shape());
        onehot.data()[o] = 1.0;
        y.backward(onehot);
        for (size_t i = 0; i < inputs.size(); ++i) {
            if (!check[i]) continue;
            Tensor<double> g = inputs[i].grad();
            if (!g.defined()) continue;  // this output does not depend on input i
            std::vector<double> gv = g.to_vector();
            for (int64_t j = 0; j < inputs[i].numel(); ++j) analytic[i][static_cast<size_t>(o * inputs[i].numel() + j)] = gv[j];
        }
    }

    // Numerical Jacobian by central differences, and the comparison.
    GradcheckResult result;
    NoGradGuard no_grad;
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (!check[i]) continue;
        double* x = inputs[i].data();
        for (int64_t j = 0; j < inputs[i].numel(); ++j) {
            const double saved = x[j];
            x[j] = saved + opt.eps;
            std::vector<double> plus = fn(inputs).to_vector();
            x[j] = saved - opt.eps;
            std::vector<double> minus = fn(inputs).to_vector();
            x[j] = saved;
            for (int64_t o = 0; o < outputs; ++o) {
                double numeric = (plus[o] - minus[o]) / (2.0 * opt.eps);
                double a = analytic[i][static_cast<size_t>(o * inputs[i].numel() + j)];
                double err = std::abs(a - numeric);
                double ratio = err / (opt.atol + opt.rtol * std::abs(numeric));
                if (ratio > result.worst_ratio || result.input < 0) {
                    result.worst_ratio = ratio;
                    result.max_abs_error = std::max(result.max_abs_error, err);
                    result.input = static_cast<int>(i);
                    result.input_index = detail::unravel(j, inputs[i].shape());
                    result.output_element = o;
                    result.analytic = a;
                    result.numeric = numeric;
                }
                result.max_abs_error = std::max(result.max_abs_error, err);
            }
        }
    }
    result.ok = result.worst_ratio <= 1.0;
    std::ostringstream msg;
    msg << (result.ok ? "gradcheck passed" : "gradcheck FAILED") << ": worst element is input " << result.input
        << " at " << shape_str(result.input_index) << " for output element " << result.output_element
        << ": analytic " << result.analytic << " vs numeric " << result.numeric << " (|diff| "
        << std::abs(result.analytic - result.numeric) << ", tolerance " << opt.atol << " + " << opt.rtol << "*|numeric|)";
    result.message = msg.str();
    return result;
}

}  // namespace seam
