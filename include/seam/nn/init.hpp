// seam/nn/init.hpp — parameter initialisers, with torch.nn.init's formulas and gain table.
//
// Provides calculate_gain, calculate_fan_in_and_fan_out, and the in-place fills uniform_,
// normal_, constant_, zeros_, ones_, xavier_uniform_, xavier_normal_, kaiming_uniform_ and
// kaiming_normal_. Each takes the tensor handle (writing through it into the shared storage),
// returns it for chaining, and draws from a Generator (default: default_generator()), so a seeded
// generator reproduces a model's initial weights exactly whatever the thread count.
//
// The fan of a weight follows PyTorch: dimension 1 is the input feature maps, dimension 0 the
// output ones, and every further dimension is the receptive field. This matters for
// ConvTranspose2d, whose weight is [in, out/groups, kh, kw]: PyTorch (and so seam) reads its
// "fan_in" from dimension 1, and we keep that quirk so initial statistics match.
#pragma once

#include <cmath>
#include <optional>
#include <utility>

#include "seam/core/tensor.hpp"

namespace seam::nn::init {

enum class FanMode { fan_in, fan_out };
enum class Nonlinearity { linear, sigmoid, tanh, relu, leaky_relu, selu };

/// torch.nn.init.calculate_gain: the factor that keeps activations' variance stable through a
/// nonlinearity. `param` is leaky_relu's negative slope (PyTorch's default 0.01 when absent).
inline double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param = std::nullopt) {
    switch (nonlinearity) {
        case Nonlinearity::linear:
        case Nonlinearity::sigmoid: return 1.0;
        case Nonlinearity::tanh: return 5.0 / 3.0;
        case Nonlinearity::relu: return std::sqrt(2.0);
        case Nonlinearity::leaky_relu: {
            double slope = param.value_or(0.01);
            return std::sqrt(2.0 / (1.0 + slope * slope));
        }
        case Nonlinearity::selu: return 3.0 / 4.0;
    }
    fail("calculate_gain: unknown nonlinearity");
}

/// (fan_in, fan_out) = (size(1) * receptive field, size(0) * receptive field).
inline std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Shape& shape) {
    SEAM_CHECK(shape.size() >= 2, "calculate_fan_in_and_fan_out: fan in and fan out cannot be computed for a tensor of shape ",
               shape_str(shape), " (fewer than 2 dimensions)");
    int64_t receptive_field = 1;
    for (size_t d = 2; d < shape.size(); ++d) receptive_field *= shape[d];
    return {shape[1] * receptive_field, shape[0] * receptive_field};
}

namespace detail {
inline int64_t correct_fan(const Shape& shape, FanMode mode) {
    auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(shape);
    return mode == FanMode::fan_in ? fan_in : fan_out;
}
}  // namespace detail

// ----- plain fills ----------------------------------------------------------------------------

/// Uniform in [low, high).
template <class T>
inline Tensor<T> uniform_(Tensor<T> tensor, double low = 0.0, double high = 1.0, Generator& gen = default_generator()) {
    SEAM_CHECK(low <= high, "uniform_: low ", low, " is greater than high ", high);
    tensor.copy_(rand<T>(tensor.shape(), gen, static_cast<T>(low), static_cast<T>(high)));
    return tensor;
}

/// Normal(mean, std).
template <class T>
inline Tensor<T> normal_(Tensor<T> tensor, double mean = 0.0, double std = 1.0, Generator& gen = default_generator()) {
    SEAM_CHECK(std >= 0.0, "normal_: standard deviation ", std, " is negative");
    tensor.copy_(randn<T>(tensor.shape(), gen, static_cast<T>(mean), static_cast<T>(std)));
    return tensor;
}

template <class T>
inline Tensor<T> constant_(Tensor<T> tensor, double value) {
    tensor.fill_(static_cast<T>(value));
    return tensor;
}
template <class T>
inline Tensor<T> zeros_(Tensor<T> tensor) { return constant_(std::move(tensor), 0.0); }
template <class T>
inline Tensor<T> ones_(Tensor<T> tensor) { return constant_(std::move(tensor), 1.0); }

// ----- Glorot & Bengio (2010) -----------------------------------------------------------------

/// Uniform(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).
template <class T>
inline Tensor<T> xavier_uniform_(Tensor<T> tensor, double gain = 1.0, Generator& gen = default_generator()) {
    auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor.shape());
    double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
    double bound = std::sqrt(3.0) * std;
    return uniform_(std::move(tensor), -bound, bound, gen);
}

/// Normal(0, std) with std = gain * sqrt(2 / (fan_in + fan_out)).
template <class T>
inline Tensor<T> xavier_normal_(Tensor<T> tensor, double gain = 1.0, Generator& gen = default_generator()) {
    auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor.shape());
    double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
    return normal_(std::move(tensor), 0.0, std, gen);
}

// ----- He et al. (2015) -----------------------------------------------------------------------

/// Uniform(-bound, bound) with bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
/// With PyTorch's defaults (a = 0, leaky_relu) the gain is sqrt(2).
template <class T>
inline Tensor<T> kaiming_uniform_(Tensor<T> tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                                  Nonlinearity nonlinearity = Nonlinearity::leaky_relu,
                                  Generator& gen = default_generator()) {
    if (tensor.numel() == 0) return tensor;  // PyTorch warns and leaves an empty tensor alone
    int64_t fan = detail::correct_fan(tensor.shape(), mode);
    SEAM_CHECK(fan > 0, "kaiming_uniform_: fan is zero for a tensor of shape ", shape_str(tensor.shape()));
    double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
    double bound = std::sqrt(3.0) * std;
    return uniform_(std::move(tensor), -bound, bound, gen);
}

/// Normal(0, std) with std = gain / sqrt(fan).
template <class T>
inline Tensor<T> kaiming_normal_(Tensor<T> tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                                 Nonlinearity nonlinearity = Nonlinearity::leaky_relu,
                                 Generator& gen = default_generator()) {
    if (tensor.numel() == 0) return tensor;
    int64_t fan = detail::correct_fan(tensor.shape(), mode);
    SEAM_CHECK(fan > 0, "kaiming_normal_: fan is zero for a tensor of shape ", shape_str(tensor.shape()));
    double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
    return normal_(std::move(tensor), 0.0, std, gen);
}

}  // namespace seam::nn::init
