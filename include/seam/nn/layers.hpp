// seam/nn/layers.hpp — the standard layers as Modules, with PyTorch's constructor arguments,
// default initialisation, parameter names and repr.
//
//   Linear, Conv2d, ConvTranspose2d                 weight (+ bias) parameters
//   BatchNorm1d, BatchNorm2d, LayerNorm             affine parameters, running-statistic buffers
//   MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, Dropout
//   ReLU, LeakyReLU, ELU, GELU, Sigmoid, Tanh, Flatten, Identity
//
// Each layer is a thin wrapper: it owns its tensors and settings, and forward() calls the op of
// ops/ (linear, conv2d, batch_norm, ...), which does the shape checks, the math and the backward.
// Default initialisation is PyTorch's reset_parameters(): Linear and the convolutions draw the
// weight from kaiming_uniform_(a = sqrt(5)) — uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) — and the
// bias from the same range; normalisation layers start at weight 1, bias 0, running mean 0,
// running variance 1. The constructors draw from default_generator(); call reset_parameters(gen)
// to draw from another generator. 2-D sizes are Size2: an integer (3 means 3x3) or {h, w}.
#pragma once

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "seam/nn/init.hpp"
#include "seam/nn/module.hpp"
#include "seam/ops/conv.hpp"
#include "seam/ops/elementwise.hpp"
#include "seam/ops/matmul.hpp"
#include "seam/ops/norm.hpp"
#include "seam/ops/pool.hpp"

namespace seam::nn {

/// A 2-D size given as one integer (square) or {h, w}; remembers which, so repr prints it as given
/// ("kernel_size=2" vs "kernel_size=(2, 2)") like PyTorch's pooling layers do.
struct Size2 {
    std::array<int64_t, 2> value;
    bool from_scalar;
    Size2(int64_t both) : value{both, both}, from_scalar(true) {}
    Size2(int64_t h, int64_t w) : value{h, w}, from_scalar(false) {}
    Size2(std::array<int64_t, 2> hw) : value(hw), from_scalar(false) {}
    int64_t operator[](size_t i) const { return value[i]; }
    operator std::array<int64_t, 2>() const { return value; }
    /// "(h, w)" always (Conv2d's repr).
    std::string tuple_str() const { return "(" + std::to_string(value[0]) + ", " + std::to_string(value[1]) + ")"; }
    /// "k" when given as one integer, else "(h, w)" (the pooling layers' repr).
    std::string as_given_str() const { return from_scalar ? std::to_string(value[0]) : tuple_str(); }
};

namespace detail {
/// The default init of Linear and the convolutions (PyTorch's _ConvNd/Linear.reset_parameters).
template <class T>
inline void reset_weight_and_bias(Tensor<T>& weight, Tensor<T>& bias, Generator& gen) {
    init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::fan_in, init::Nonlinearity::leaky_relu, gen);
    if (bias.defined()) {
        int64_t fan_in = init::calculate_fan_in_and_fan_out(weight.shape()).first;
        double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
        init::uniform_(bias, -bound, bound, gen);
    }
}
inline std::string bias_str(bool has_bias) { return has_bias ? "True" : "False"; }
}  // namespace detail

// ----- Linear ----------------------------------------------------------------------------------

/// y = x W^T + b on the last dimension: x [..., in_features] -> [..., out_features].
template <class T>
class Linear : public Module<T> {
public:
    const int64_t in_features, out_features;
    Tensor<T> weight;  // [out_features, in_features]
    Tensor<T> bias;    // [out_features], undefined without bias

    Linear(int64_t in_features_, int64_t out_features_, bool with_bias = true)
        : Module<T>("Linear"), in_features(in_features_), out_features(out_features_) {
        SEAM_CHECK(in_features_ > 0 && out_features_ > 0, "Linear: in_features and out_features must be positive, got ",
                   in_features_, " and ", out_features_);
        weight = this->register_parameter("weight", empty<T>({out_features, in_features}));
        if (with_bias) bias = this->register_parameter("bias", empty<T>({out_features}));
        reset_parameters();
    }
    void reset_parameters(Generator& gen = default_generator()) { detail::reset_weight_and_bias(weight, bias, gen); }

    Tensor<T> forward(const Tensor<T>& x) override { return linear(x, weight, bias); }
    std::string extra_repr() const override {
        return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
               ", bias=" + detail::bias_str(bias.defined());
    }
};

// ----- convolutions ----------------------------------------------------------------------------

/// 2-D convolution, NCHW; weight [out_channels, in_channels / groups, kh, kw].
template <class T>
class Conv2d : public Module<T> {
public:
    const int64_t in_channels, out_channels;
    const Size2 kernel_size, stride, padding, dilation;
    const int64_t groups;
    Tensor<T> weight, bias;

    Conv2d(int64_t in_channels_, int64_t out_channels_, Size2 kernel_size_, Size2 stride_ = 1, Size2 padding_ = 0,
           Size2 dilation_ = 1, int64_t groups_ = 1, bool with_bias = true)
        : Module<T>("Conv2d"), in_channels(in_channels_), out_channels(out_channels_), kernel_size(kernel_size_),
          stride(stride_), padding(padding_), dilation(dilation_), groups(groups_) {
        SEAM_CHECK(in_channels > 0 && out_channels > 0, "Conv2d: channel counts must be positive, got ", in_channels,
                   " and ", out_channels);
        SEAM_CHECK(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0, "Conv2d: in_channels ",
                   in_channels, " and out_channels ", out_channels, " must both be divisible by groups ", groups);
        SEAM_CHECK(kernel_size[0] > 0 && kernel_size[1] > 0, "Conv2d: kernel_size ", kernel_size.tuple_str(),
                   " must be positive");
        weight = this->register_parameter("weight",
                                          empty<T>({out_channels, in_channels / groups, kernel_size[0], kernel_size[1]}));
        if (with_bias) bias = this->register_parameter("bias", empty<T>({out_channels}));
        reset_parameters();
    }
    void reset_parameters(Generator& gen = default_generator()) { detail::reset_weight_and_bias(weight, bias, gen); }

    Conv2dOptions options() const { return Conv2dOptions{stride, padding, dilation, groups}; }
    Tensor<T> forward(const Tensor<T>& x) override { return conv2d(x, weight, bias, options()); }
    std::string extra_repr() const override {
        std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                        ", kernel_size=" + kernel_size.tuple_str() + ", stride=" + stride.tuple_str();
        if (padding[0] != 0 || padding[1] != 0) s += ", padding=" + padding.tuple_str();
        if (dilation[0] != 1 || dilation[1] != 1) s += ", dilation=" + dilation.tuple_str();
        if (groups != 1) s += ", groups=" + std::to_string(groups);
        if (!bias.defined()) s += ", bias=False";
        return s;
    }
};

/// Transposed 2-D convolution (the gradient of conv2d w.r.t. its input); weight
/// [in_channels, out_channels / groups, kh, kw], PyTorch's layout.
template <class T>
class ConvTranspose2d : public Module<T> {
public:
    const int64_t in_channels, out_channels;
    const Size2 kernel_size, stride, padding, output_padding;
    const int64_t groups;
    const Size2 dilation;
    Tensor<T> weight, bias;

    ConvTranspose2d(int64_t in_channels_, int64_t out_channels_, Size2 kernel_size_, Size2 stride_ = 1,
                    Size2 padding_ = 0, Size2 output_padding_ = 0, int64_t groups_ = 1, bool with_bias = true,
                    Size2 dilation_ = 1)
        : Module<T>("ConvTranspose2d"), in_channels(in_channels_), out_channels(out_channels_),
          kernel_size(kernel_size_), stride(stride_), padding(padding_), output_padding(output_padding_),
          groups(groups_), dilation(dilation_) {
        SEAM_CHECK(in_channels > 0 && out_channels > 0, "ConvTranspose2d: channel counts must be positive, got ",
                   in_channels, " and ", out_channels);
        SEAM_CHECK(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0, "ConvTranspose2d: in_channels ",
                   in_channels, " and out_channels ", out_channels, " must both be divisible by groups ", groups);
        SEAM_CHECK(kernel_size[0] > 0 && kernel_size[1] > 0, "ConvTranspose2d: kernel_size ", kernel_size.tuple_str(),
                   " must be positive");
        weight = this->register_parameter("weight",
                                          empty<T>({in_channels, out_channels / groups, kernel_size[0], kernel_size[1]}));
        if (with_bias) bias = this->register_parameter("bias", empty<T>({out_channels}));
        reset_parameters();
    }
    /// PyTorch computes the fan from the weight as stored, so fan_in = (out_channels/groups)*kh*kw here.
    void reset_parameters(Generator& gen = default_generator()) { detail::reset_weight_and_bias(weight, bias, gen); }

    ConvTranspose2dOptions options() const {
        return ConvTranspose2dOptions{stride, padding, output_padding, dilation, groups};
    }
    Tensor<T> forward(const Tensor<T>& x) override { return conv_transpose2d(x, weight, bias, options()); }
    std::string extra_repr() const override {
        std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                        ", kernel_size=" + kernel_size.tuple_str() + ", stride=" + stride.tuple_str();
        if (padding[0] != 0 || padding[1] != 0) s += ", padding=" + padding.tuple_str();
        if (dilation[0] != 1 || dilation[1] != 1) s += ", dilation=" + dilation.tuple_str();
        if (output_padding[0] != 0 || output_padding[1] != 0) s += ", output_padding=" + output_padding.tuple_str();
        if (groups != 1) s += ", groups=" + std::to_string(groups);
        if (!bias.defined()) s += ", bias=False";
        return s;
    }
};

// ----- normalisation ---------------------------------------------------------------------------

namespace detail {
/// What BatchNorm1d and BatchNorm2d share; they differ only in the input ranks they accept.
template <class T>
class BatchNormBase : public Module<T> {
public:
    const int64_t num_features;
    const double eps, momentum;
    const bool affine, track_running_stats;
    Tensor<T> weight, bias;                 // [C] parameters (affine)
    Tensor<T> running_mean, running_var;    // [C] buffers (track_running_stats)

    void reset_parameters() {
        if (running_mean.defined()) running_mean.fill_(T(0));
        if (running_var.defined()) running_var.fill_(T(1));
        if (weight.defined()) weight.fill_(T(1));
        if (bias.defined()) bias.fill_(T(0));
    }

    Tensor<T> forward(const Tensor<T>& x) override {
        check_input(x);
        SEAM_CHECK(x.size(1) == num_features, this->type_name(), ": expected ", num_features,
                   " channels (dimension 1) but the input has shape ", shape_str(x.shape()));
        // Without running statistics the layer always normalises with the batch's own (PyTorch).
        const bool use_batch_stats = this->is_training() || !track_running_stats;
        return batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, static_cast<T>(momentum),
                          static_cast<T>(eps));
    }
    std::string extra_repr() const override {
        return std::to_string(num_features) + ", eps=" + python_float(eps) + ", momentum=" + python_float(momentum) +
               ", affine=" + python_bool(affine) + ", track_running_stats=" + python_bool(track_running_stats);
    }

protected:
    BatchNormBase(const char* name, int64_t num_features_, double eps_, double momentum_, bool affine_, bool track_)
        : Module<T>(name), num_features(num_features_), eps(eps_), momentum(momentum_), affine(affine_),
          track_running_stats(track_) {
        SEAM_CHECK(num_features > 0, name, ": num_features must be positive, got ", num_features);
        SEAM_CHECK(eps > 0.0, name, ": eps must be positive, got ", eps);
        SEAM_CHECK(momentum >= 0.0 && momentum <= 1.0, name, ": momentum ", momentum, " is outside [0, 1]");
        if (affine) {
            weight = this->register_parameter("weight", empty<T>({num_features}));
            bias = this->register_parameter("bias", empty<T>({num_features}));
        }
        if (track_running_stats) {
            running_mean = this->register_buffer("running_mean", empty<T>({num_features}));
            running_var = this->register_buffer("running_var", empty<T>({num_features}));
        }
        reset_parameters();
    }
    virtual void check_input(const Tensor<T>& x) const = 0;
};
}  // namespace detail

/// Batch normalisation of [N, C] or [N, C, L] inputs over N (and L).
template <class T>
class BatchNorm1d : public detail::BatchNormBase<T> {
public:
    explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                         bool track_running_stats = true)
        : detail::BatchNormBase<T>("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats) {}

protected:
    void check_input(const Tensor<T>& x) const override {
        SEAM_CHECK(x.dim() == 2 || x.dim() == 3, "BatchNorm1d: expected a 2-D or 3-D input, got shape ",
                   shape_str(x.shape()));
    }
};

/// Batch normalisation of [N, C, H, W] inputs over N, H and W.
template <class T>
class BatchNorm2d : public detail::BatchNormBase<T> {
public:
    explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                         bool track_running_stats = true)
        : detail::BatchNormBase<T>("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats) {}

protected:
    void check_input(const Tensor<T>& x) const override {
        SEAM_CHECK(x.dim() == 4, "BatchNorm2d: expected a 4-D input [N, C, H, W], got shape ", shape_str(x.shape()));
    }
};

/// Normalisation over the trailing `normalized_shape` dimensions of each sample.
template <class T>
class LayerNorm : public Module<T> {
public:
    const std::vector<int64_t> normalized_shape;
    const double eps;
    const bool elementwise_affine;
    Tensor<T> weight, bias;  // normalized_shape; bias undefined when bias=false

    explicit LayerNorm(std::vector<int64_t> normalized_shape_, double eps_ = 1e-5, bool elementwise_affine_ = true,
                       bool with_bias = true)
        : Module<T>("LayerNorm"), normalized_shape(std::move(normalized_shape_)), eps(eps_),
          elementwise_affine(elementwise_affine_) {
        SEAM_CHECK(!normalized_shape.empty(), "LayerNorm: normalized_shape must name at least one dimension");
        for (int64_t d : normalized_shape)
            SEAM_CHECK(d > 0, "LayerNorm: normalized_shape ", shape_str(normalized_shape), " has a non-positive size");
        if (elementwise_affine) {
            weight = this->register_parameter("weight", ones<T>(normalized_shape));
            if (with_bias) bias = this->register_parameter("bias", zeros<T>(normalized_shape));
        }
    }
    void reset_parameters() {
        if (weight.defined()) weight.fill_(T(1));
        if (bias.defined()) bias.fill_(T(0));
    }
    Tensor<T> forward(const Tensor<T>& x) override {
        return layer_norm(x, normalized_shape, weight, bias, static_cast<T>(eps));
    }
    std::string extra_repr() const override {
        std::string shape = "(";
        for (size_t i = 0; i < normalized_shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(normalized_shape[i]);
        shape += normalized_shape.size() == 1 ? ",)" : ")";
        return shape + ", eps=" + detail::python_float(eps) + ", elementwise_affine=" + detail::python_bool(elementwise_affine);
    }
};

// ----- pooling ---------------------------------------------------------------------------------

template <class T>
class MaxPool2d : public Module<T> {
public:
    const Size2 kernel_size, stride, padding, dilation;
    const bool ceil_mode;

    /// stride 0 (the default) means "equal to the kernel size", PyTorch's stride=None.
    explicit MaxPool2d(Size2 kernel_size_, Size2 stride_ = 0, Size2 padding_ = 0, Size2 dilation_ = 1,
                       bool ceil_mode_ = false)
        : Module<T>("MaxPool2d"), kernel_size(kernel_size_), stride(stride_[0] == 0 && stride_[1] == 0 ? kernel_size_ : stride_),
          padding(padding_), dilation(dilation_), ceil_mode(ceil_mode_) {}

    Pool2dOptions options() const { return Pool2dOptions{kernel_size, stride, padding, dilation, ceil_mode}; }
    Tensor<T> forward(const Tensor<T>& x) override { return max_pool2d(x, options()); }
    std::string extra_repr() const override {
        return "kernel_size=" + kernel_size.as_given_str() + ", stride=" + stride.as_given_str() +
               ", padding=" + padding.as_given_str() + ", dilation=" + dilation.as_given_str() +
               ", ceil_mode=" + detail::python_bool(ceil_mode);
    }
};

template <class T>
class AvgPool2d : public Module<T> {
public:
    const Size2 kernel_size, stride, padding;
    const bool ceil_mode, count_include_pad;
    const int64_t divisor_override;  // 0: none

    explicit AvgPool2d(Size2 kernel_size_, Size2 stride_ = 0, Size2 padding_ = 0, bool ceil_mode_ = false,
                       bool count_include_pad_ = true, int64_t divisor_override_ = 0)
        : Module<T>("AvgPool2d"), kernel_size(kernel_size_), stride(stride_[0] == 0 && stride_[1] == 0 ? kernel_size_ : stride_),
          padding(padding_), ceil_mode(ceil_mode_), count_include_pad(count_include_pad_),
          divisor_override(divisor_override_) {}

    Tensor<T> forward(const Tensor<T>& x) override {
        return avg_pool2d(x, Pool2dOptions{kernel_size, stride, padding, {1, 1}, ceil_mode},
                          AvgPoolOptions{count_include_pad, divisor_override});
    }
    std::string extra_repr() const override {
        return "kernel_size=" + kernel_size.as_given_str() + ", stride=" + stride.as_given_str() +
               ", padding=" + padding.as_given_str();
    }
};

template <class T>
class AdaptiveAvgPool2d : public Module<T> {
public:
    const Size2 output_size;
    explicit AdaptiveAvgPool2d(Size2 output_size_) : Module<T>("AdaptiveAvgPool2d"), output_size(output_size_) {}
    Tensor<T> forward(const Tensor<T>& x) override { return adaptive_avg_pool2d(x, output_size.value); }
    std::string extra_repr() const override { return "output_size=" + output_size.as_given_str(); }
};

template <class T>
class AdaptiveMaxPool2d : public Module<T> {
public:
    const Size2 output_size;
    explicit AdaptiveMaxPool2d(Size2 output_size_) : Module<T>("AdaptiveMaxPool2d"), output_size(output_size_) {}
    Tensor<T> forward(const Tensor<T>& x) override { return adaptive_max_pool2d(x, output_size.value); }
    std::string extra_repr() const override { return "output_size=" + output_size.as_given_str(); }
};

// ----- dropout and activations -----------------------------------------------------------------

/// Zeroes each element with probability p while training (scaling the rest by 1/(1-p)); the
/// identity in eval mode. Draws its masks from `gen`, which must outlive the layer.
template <class T>
class Dropout : public Module<T> {
public:
    const double p;
    explicit Dropout(double p_ = 0.5, Generator& gen = default_generator()) : Module<T>("Dropout"), p(p_), gen_(&gen) {
        SEAM_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability ", p, " is outside [0, 1]");
    }
    Tensor<T> forward(const Tensor<T>& x) override { return dropout(x, static_cast<T>(p), this->is_training(), *gen_); }
    std::string extra_repr() const override { return "p=" + detail::python_float(p) + ", inplace=False"; }

private:
    Generator* gen_;
};

template <class T>
class ReLU : public Module<T> {
public:
    ReLU() : Module<T>("ReLU") {}
    Tensor<T> forward(const Tensor<T>& x) override { return relu(x); }
};

template <class T>
class LeakyReLU : public Module<T> {
public:
    const double negative_slope;
    explicit LeakyReLU(double negative_slope_ = 0.01) : Module<T>("LeakyReLU"), negative_slope(negative_slope_) {}
    Tensor<T> forward(const Tensor<T>& x) override { return leaky_relu(x, static_cast<T>(negative_slope)); }
    std::string extra_repr() const override { return "negative_slope=" + detail::python_float(negative_slope); }
};

template <class T>
class ELU : public Module<T> {
public:
    const double alpha;
    explicit ELU(double alpha_ = 1.0) : Module<T>("ELU"), alpha(alpha_) {}
    Tensor<T> forward(const Tensor<T>& x) override { return elu(x, static_cast<T>(alpha)); }
    std::string extra_repr() const override { return "alpha=" + detail::python_float(alpha); }
};

/// Exact GELU, x * Phi(x) (PyTorch's approximate='none').
template <class T>
class GELU : public Module<T> {
public:
    GELU() : Module<T>("GELU") {}
    Tensor<T> forward(const Tensor<T>& x) override { return gelu(x); }
    std::string extra_repr() const override { return "approximate='none'"; }
};

template <class T>
class Sigmoid : public Module<T> {
public:
    Sigmoid() : Module<T>("Sigmoid") {}
    Tensor<T> forward(const Tensor<T>& x) override { return sigmoid(x); }
};

template <class T>
class Tanh : public Module<T> {
public:
    Tanh() : Module<T>("Tanh") {}
    Tensor<T> forward(const Tensor<T>& x) override { return tanh(x); }
};

/// Flattens dimensions start_dim..end_dim into one (by default everything but the batch).
template <class T>
class Flatten : public Module<T> {
public:
    const int64_t start_dim, end_dim;
    explicit Flatten(int64_t start_dim_ = 1, int64_t end_dim_ = -1)
        : Module<T>("Flatten"), start_dim(start_dim_), end_dim(end_dim_) {}
    Tensor<T> forward(const Tensor<T>& x) override { return x.flatten(start_dim, end_dim); }
    std::string extra_repr() const override {
        return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
    }
};

template <class T>
class Identity : public Module<T> {
public:
    Identity() : Module<T>("Identity") {}
    Tensor<T> forward(const Tensor<T>& x) override { return x; }
};

}  // namespace seam::nn
