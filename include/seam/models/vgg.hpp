// seam/models/vgg.hpp — VGG-16 (configuration D of Simonyan & Zisserman), built exactly as
// torchvision builds it, plus the knobs that make it trainable on a CPU.
//
//   features    Sequential of 3x3 convolutions (pad 1) each followed by ReLU (with batch_norm: by
//               BatchNorm2d then ReLU), and a 2x2/2 max pool after each of the five blocks;
//   avgpool     AdaptiveAvgPool2d(7, 7);
//   classifier  Linear(512*7*7, 4096) ReLU Dropout Linear(4096, 4096) ReLU Dropout Linear(4096, classes).
//
// The children are numbered as torchvision numbers them, so state_dict keys and shapes are
// torchvision's and its ImageNet checkpoints load by name. Without batch norm:
//   features.0 conv1_1, .2 conv1_2, .4 pool1, .5 conv2_1, .7 conv2_2, .9 pool2, .10 conv3_1 ...
//   .16 pool3, .17 conv4_1, .19 conv4_2, .21 conv4_3, .23 pool4, .24 conv5_1 ... .28 conv5_3, .30 pool5;
//   classifier.0 fc6, .3 fc7, .6 fc8.
// With batch_norm (vgg16_bn) each conv takes three slots: features.0 conv1_1, .1 its BatchNorm2d,
// .2 its ReLU, .3 conv1_2, ... .43 pool5. With 1000 classes vgg16 has 138,357,544 parameters.
//
// forward_features(x, {"conv4_3", "pool4", "fc7"}) returns the named activations (conv taps and
// fc6/fc7 are taken after their ReLU) and stops at the deepest one asked for — FashionNet and
// AFGN branch off conv4_3 and pool4 and never need the rest. tap_points() tells where each tap
// sits in `features` / `classifier`, and run_features(x, begin, end) runs a slice of `features`,
// so a model can share the trunk and copy the later blocks into its own branches.
//
// CPU-sized runs (VggOptions): width_mult scales every conv width to max(1, llround(c * width_mult))
// (round half away from zero: 64 * 1/8 = 8, 64 * 0.3 = 19.2 -> 19); fc_width = 0 scales the 4096
// fc width the same way; avgpool_size shrinks the pooled grid (2x2 instead of 7x7), and the first
// Linear takes channels * h * w of it. Because the pool is adaptive, any input of at least 32x32
// works (a 32x32 input reaches pool5 at 1x1, which the pool spreads to the grid as PyTorch does).
//
// Initialisation is torchvision's: conv weights kaiming_normal_(fan_out, relu) with zero bias,
// BatchNorm weight 1 and bias 0, Linear weights normal(0, 0.01) with zero bias, all drawn from the
// Generator given to vgg16() (so a seed reproduces the model). Dropout draws its masks from
// default_generator(), as PyTorch's dropout draws from the global generator.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/nn/init.hpp"
#include "seam/nn/layers.hpp"
#include "seam/nn/sequential.hpp"

namespace seam::models {

struct VggOptions {
    int64_t num_classes = 1000;
    double width_mult = 1.0;                    // scales the conv widths 64..512 (see the header comment)
    int64_t fc_width = 0;                       // fc6/fc7 width; 0 = 4096 scaled by width_mult
    std::array<int64_t, 2> avgpool_size{7, 7};  // output of the adaptive pool before fc6
    bool batch_norm = false;                    // vgg16_bn: BatchNorm2d after every conv
    double dropout = 0.5;                       // the two Dropouts of the classifier
    int64_t in_channels = 3;                    // 1 for grayscale inputs (Fashion-MNIST)
};

namespace detail {
/// max(1, llround(channels * mult)): a width multiplier never removes a layer.
inline int64_t vgg_scaled_width(int64_t channels, double mult) {
    return std::max<int64_t>(1, static_cast<int64_t>(std::llround(static_cast<double>(channels) * mult)));
}
/// Configuration D: output widths of the 13 convs, 0 for a max pool.
inline constexpr std::array<int64_t, 18> kVgg16Layout{64,  64,  0,   128, 128, 0,   256, 256, 256,
                                                      0,   512, 512, 512, 0,   512, 512, 512, 0};
}  // namespace detail

/// Where a named activation is taken: after child `index` of `features` or of `classifier`.
struct VggTapPoint {
    std::string name;
    bool in_classifier;
    size_t index;
};

template <class T>
class VGG : public nn::Module<T> {
public:
    using Taps = std::map<std::string, Tensor<T>>;

    std::shared_ptr<nn::Sequential<T>> features;
    std::shared_ptr<nn::AdaptiveAvgPool2d<T>> avgpool;
    std::shared_ptr<nn::Sequential<T>> classifier;

    explicit VGG(const VggOptions& options, Generator& gen = default_generator())
        : nn::Module<T>("VGG"), options_(options) {
        check_options(options);
        features = this->register_module("features", std::make_shared<nn::Sequential<T>>());
        int64_t channels = options.in_channels;
        int block = 1, conv_in_block = 0;
        for (int64_t width : detail::kVgg16Layout) {
            if (width == 0) {
                features->add(std::make_shared<nn::MaxPool2d<T>>(2, 2));
                tap_points_.push_back({"pool" + std::to_string(block), false, features->size() - 1});
                ++block;
                conv_in_block = 0;
                continue;
            }
            const int64_t out = detail::vgg_scaled_width(width, options.width_mult);
            features->add(std::make_shared<nn::Conv2d<T>>(channels, out, 3, 1, 1));
            if (options.batch_norm) features->add(std::make_shared<nn::BatchNorm2d<T>>(out));
            features->add(std::make_shared<nn::ReLU<T>>());
            tap_points_.push_back({"conv" + std::to_string(block) + "_" + std::to_string(++conv_in_block), false,
                                   features->size() - 1});
            channels = out;
        }
        last_conv_width_ = channels;

        avgpool = this->register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d<T>>(
                                                       nn::Size2(options.avgpool_size[0], options.avgpool_size[1])));
        const int64_t fc = fc_width();
        classifier = this->register_module("classifier", std::make_shared<nn::Sequential<T>>());
        classifier->add(std::make_shared<nn::Linear<T>>(channels * options.avgpool_size[0] * options.avgpool_size[1], fc));
        classifier->add(std::make_shared<nn::ReLU<T>>());
        tap_points_.push_back({"fc6", true, 1});
        classifier->add(std::make_shared<nn::Dropout<T>>(options.dropout));
        classifier->add(std::make_shared<nn::Linear<T>>(fc, fc));
        classifier->add(std::make_shared<nn::ReLU<T>>());
        tap_points_.push_back({"fc7", true, 4});
        classifier->add(std::make_shared<nn::Dropout<T>>(options.dropout));
        classifier->add(std::make_shared<nn::Linear<T>>(fc, options.num_classes));
        tap_points_.push_back({"logits", true, 6});

        reset_parameters(gen);
    }

    /// torchvision's VGG weight init (see the header comment), drawn in module pre-order.
    void reset_parameters(Generator& gen = default_generator()) {
        for (auto& [name, module] : this->named_modules()) {
            if (auto* conv = dynamic_cast<nn::Conv2d<T>*>(module)) {
                nn::init::kaiming_normal_(conv->weight, 0.0, nn::init::FanMode::fan_out, nn::init::Nonlinearity::relu,
                                          gen);
                if (conv->bias.defined()) nn::init::zeros_(conv->bias);
            } else if (auto* bn = dynamic_cast<nn::BatchNorm2d<T>*>(module)) {
                bn->reset_parameters();
            } else if (auto* fc = dynamic_cast<nn::Linear<T>*>(module)) {
                nn::init::normal_(fc->weight, 0.0, 0.01, gen);
                if (fc->bias.defined()) nn::init::zeros_(fc->bias);
            }
        }
    }

    /// Logits [N, num_classes] for images [N, in_channels, H, W] (H, W >= 32).
    Tensor<T> forward(const Tensor<T>& x) override {
        check_input(x);
        return classifier->forward(avgpool->forward(features->forward(x)).flatten(1));
    }

    /// The activations named in `taps` (any of tap_names()), computing no layer past the deepest.
    Taps forward_features(const Tensor<T>& x, const std::vector<std::string>& taps) {
        check_input(x);
        std::vector<bool> wanted(tap_points_.size(), false);
        size_t deepest = 0;
        bool any = false;
        for (const std::string& name : taps) {
            const size_t k = tap_position(name);
            wanted[k] = true;
            deepest = std::max(deepest, k);
            any = true;
        }
        Taps out;
        if (!any) return out;

        size_t next_tap = 0;  // tap_points_ is in network order
        auto collect = [&](bool in_classifier, size_t index, const Tensor<T>& h) {
            while (next_tap < tap_points_.size() && tap_points_[next_tap].in_classifier == in_classifier &&
                   tap_points_[next_tap].index == index) {
                if (wanted[next_tap]) out[tap_points_[next_tap].name] = h;
                ++next_tap;
            }
        };
        const VggTapPoint& last = tap_points_[deepest];
        const size_t features_end = last.in_classifier ? features->size() : last.index + 1;
        Tensor<T> h = x;
        for (size_t i = 0; i < features_end; ++i) {
            h = (*features)[i]->forward(h);
            collect(false, i, h);
        }
        if (!last.in_classifier) return out;
        h = avgpool->forward(h).flatten(1);
        for (size_t i = 0; i <= last.index; ++i) {
            h = (*classifier)[i]->forward(h);
            collect(true, i, h);
        }
        return out;
    }

    /// Children [begin, end) of `features` applied in order (a slice of the trunk).
    Tensor<T> run_features(const Tensor<T>& x, size_t begin, size_t end) {
        SEAM_CHECK(begin <= end && end <= features->size(), "VGG::run_features: slice [", begin, ", ", end,
                   ") is outside the ", features->size(), " feature layers");
        Tensor<T> h = x;
        for (size_t i = begin; i < end; ++i) h = (*features)[i]->forward(h);
        return h;
    }

    /// Every tap in network order, with the child after which it is taken.
    const std::vector<VggTapPoint>& tap_points() const { return tap_points_; }
    const VggTapPoint& tap_point(const std::string& name) const { return tap_points_[tap_position(name)]; }
    std::vector<std::string> tap_names() const {
        std::vector<std::string> names;
        for (const auto& p : tap_points_) names.push_back(p.name);
        return names;
    }

    const VggOptions& options() const { return options_; }
    /// Channels of conv5_3 / pool5 (512 at full width).
    int64_t feature_channels() const { return last_conv_width_; }
    /// Width of fc6 and fc7 (4096 at full width).
    int64_t fc_width() const {
        return options_.fc_width > 0 ? options_.fc_width : detail::vgg_scaled_width(4096, options_.width_mult);
    }

private:
    static void check_options(const VggOptions& o) {
        SEAM_CHECK(o.num_classes > 0, "vgg16: num_classes must be positive, got ", o.num_classes);
        SEAM_CHECK(std::isfinite(o.width_mult) && o.width_mult > 0.0, "vgg16: width_mult must be a positive number, got ",
                   o.width_mult);
        SEAM_CHECK(o.fc_width >= 0, "vgg16: fc_width must be positive (or 0 for 4096 * width_mult), got ", o.fc_width);
        SEAM_CHECK(o.avgpool_size[0] > 0 && o.avgpool_size[1] > 0, "vgg16: avgpool_size (", o.avgpool_size[0], ", ",
                   o.avgpool_size[1], ") must be positive");
        SEAM_CHECK(o.dropout >= 0.0 && o.dropout <= 1.0, "vgg16: dropout probability ", o.dropout, " is outside [0, 1]");
        SEAM_CHECK(o.in_channels > 0, "vgg16: in_channels must be positive, got ", o.in_channels);
    }

    void check_input(const Tensor<T>& x) const {
        SEAM_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels, "VGG: expected images [N, ", options_.in_channels,
                   ", H, W], got shape ", shape_str(x.shape()));
    }

    size_t tap_position(const std::string& name) const {
        for (size_t k = 0; k < tap_points_.size(); ++k)
            if (tap_points_[k].name == name) return k;
        std::string known;
        for (const auto& p : tap_points_) known += (known.empty() ? "" : ", ") + p.name;
        fail("VGG: unknown tap \"", name, "\"; the taps are ", known);
    }

    VggOptions options_;
    std::vector<VggTapPoint> tap_points_;
    int64_t last_conv_width_ = 0;
};

/// VGG-16 as torchvision.models.vgg16 (options.batch_norm selects vgg16_bn).
template <class T = float>
inline std::shared_ptr<VGG<T>> vgg16(const VggOptions& options = {}, Generator& gen = default_generator()) {
    return std::make_shared<VGG<T>>(options, gen);
}

/// VGG-16 with batch norm as torchvision.models.vgg16_bn (138,365,992 parameters for 1000 classes).
template <class T = float>
inline std::shared_ptr<VGG<T>> vgg16_bn(VggOptions options = {}, Generator& gen = default_generator()) {
    options.batch_norm = true;
    return std::make_shared<VGG<T>>(options, gen);
}

}  // namespace seam::models
