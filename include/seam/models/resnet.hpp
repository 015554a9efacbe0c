// seam/models/resnet.hpp — ResNet-50 built exactly as torchvision builds it (v1.5: the stride of a
// downsampling block sits on its 3x3 convolution), plus load_torchvision_state_dict.
//
//   conv1 7x7/2 (64, no bias), bn1, relu, maxpool 3x3/2 pad 1,
//   layer1..layer4: [3, 4, 6, 3] Bottleneck blocks of widths 64, 128, 256, 512 (expansion 4, so
//                   the stages output 256, 512, 1024, 2048 channels; layer2..4 halve the size),
//   avgpool (adaptive, 1x1), fc 2048 -> num_classes.
// A Bottleneck is conv1 1x1, bn1, conv2 3x3 (the stride), bn2, conv3 1x1 (4x width), bn3, relu,
// and, when the shape changes, downsample = Sequential(conv 1x1 with the stride, BatchNorm2d)
// ("layer1.0.downsample.0.weight"). Names and shapes are torchvision's; 25,557,032 parameters
// for 1000 classes.
//
// forward_features(x, {"layer3", "pooled"}) returns the named activations — "stem" (after the
// max pool), "layer1".."layer4", "pooled" (the 2048-d vector after avgpool and flatten), "logits" —
// and stops at the deepest one asked for.
//
// CPU-sized runs (ResNetOptions): width_mult scales the stem and every block width to
// max(1, llround(c * width_mult)) (64 * 1/8 = 8, so the stages output 32, 64, 128, 256 channels),
// and `layers` changes the number of blocks a stage ({1, 1, 1, 1} for a quick test).
//
// Initialisation is torchvision's: conv weights kaiming_normal_(fan_out, relu), BatchNorm weight 1
// and bias 0, fc PyTorch's default Linear init; zero_init_residual starts every block's bn3 weight
// at 0, so each residual branch begins as the identity. Draws come from the Generator given.
//
// BatchNorm and the ReLU after it run as one fused op (batch_norm_relu), which is faster forward
// and backward; the BatchNorm2d modules still own the parameters and follow train()/eval().
//
// Checkpoints: torchvision's state_dict also holds a "<bn>.num_batches_tracked" counter per
// BatchNorm (it only matters for momentum=None, which torchvision's models do not use). seam's
// BatchNorm2d has no such buffer, so load_torchvision_state_dict() drops those keys — only where
// the module really has a BatchNorm there — and then loads strictly. It serves vgg16_bn as well.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/nn/init.hpp"
#include "seam/nn/layers.hpp"
#include "seam/nn/module.hpp"
#include "seam/nn/sequential.hpp"
#include "seam/ops/elementwise.hpp"
#include "seam/ops/norm.hpp"

namespace seam::models {

struct ResNetOptions {
    int64_t num_classes = 1000;
    double width_mult = 1.0;                 // scales the stem and block widths (see the header comment)
    std::array<int64_t, 4> layers{3, 4, 6, 3};  // Bottleneck blocks in layer1..layer4
    bool zero_init_residual = false;         // start each block's bn3 weight at 0
    int64_t in_channels = 3;                 // 1 for grayscale inputs
};

namespace detail {
/// max(1, llround(channels * mult)): a width multiplier never removes a layer.
inline int64_t resnet_scaled_width(int64_t channels, double mult) {
    return std::max<int64_t>(1, static_cast<int64_t>(std::llround(static_cast<double>(channels) * mult)));
}

/// relu(bn(x)) in one fused pass, with the mode logic of BatchNorm2d::forward.
template <class T>
inline Tensor<T> bn_relu(nn::BatchNorm2d<T>& bn, const Tensor<T>& x) {
    const bool use_batch_stats = bn.is_training() || !bn.track_running_stats;
    return batch_norm_relu(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, use_batch_stats,
                           static_cast<T>(bn.momentum), static_cast<T>(bn.eps));
}
}  // namespace detail

/// torchvision's Bottleneck: 1x1 reduce, 3x3 (with the stride), 1x1 expand by 4, plus the shortcut.
template <class T>
class Bottleneck : public nn::Module<T> {
public:
    static constexpr int64_t expansion = 4;

    std::shared_ptr<nn::Conv2d<T>> conv1, conv2, conv3;
    std::shared_ptr<nn::BatchNorm2d<T>> bn1, bn2, bn3;
    std::shared_ptr<nn::ReLU<T>> relu;
    std::shared_ptr<nn::Sequential<T>> downsample;  // null when the shortcut is the identity

    Bottleneck(int64_t in_channels, int64_t width, int64_t stride) : nn::Module<T>("Bottleneck") {
        const int64_t out = width * expansion;
        conv1 = this->register_module("conv1", std::make_shared<nn::Conv2d<T>>(in_channels, width, 1, 1, 0, 1, 1, false));
        bn1 = this->register_module("bn1", std::make_shared<nn::BatchNorm2d<T>>(width));
        conv2 = this->register_module("conv2", std::make_shared<nn::Conv2d<T>>(width, width, 3, stride, 1, 1, 1, false));
        bn2 = this->register_module("bn2", std::make_shared<nn::BatchNorm2d<T>>(width));
        conv3 = this->register_module("conv3", std::make_shared<nn::Conv2d<T>>(width, out, 1, 1, 0, 1, 1, false));
        bn3 = this->register_module("bn3", std::make_shared<nn::BatchNorm2d<T>>(out));
        relu = this->register_module("relu", std::make_shared<nn::ReLU<T>>());
        if (stride != 1 || in_channels != out) {
            downsample = this->register_module("downsample", std::make_shared<nn::Sequential<T>>());
            downsample->add(std::make_shared<nn::Conv2d<T>>(in_channels, out, 1, stride, 0, 1, 1, false));
            downsample->add(std::make_shared<nn::BatchNorm2d<T>>(out));
        }
    }

    Tensor<T> forward(const Tensor<T>& x) override {
        Tensor<T> out = detail::bn_relu(*bn1, conv1->forward(x));
        out = detail::bn_relu(*bn2, conv2->forward(out));
        out = bn3->forward(conv3->forward(out));
        const Tensor<T> identity = downsample ? downsample->forward(x) : x;
        return relu->forward(out + identity);
    }
};

template <class T>
class ResNet : public nn::Module<T> {
public:
    using Taps = std::map<std::string, Tensor<T>>;

    std::shared_ptr<nn::Conv2d<T>> conv1;
    std::shared_ptr<nn::BatchNorm2d<T>> bn1;
    std::shared_ptr<nn::ReLU<T>> relu;
    std::shared_ptr<nn::MaxPool2d<T>> maxpool;
    std::array<std::shared_ptr<nn::Sequential<T>>, 4> stages;  // layer1..layer4
    std::shared_ptr<nn::AdaptiveAvgPool2d<T>> avgpool;
    std::shared_ptr<nn::Linear<T>> fc;

    explicit ResNet(const ResNetOptions& options, Generator& gen = default_generator())
        : nn::Module<T>("ResNet"), options_(options) {
        check_options(options);
        const int64_t stem = detail::resnet_scaled_width(64, options.width_mult);
        conv1 = this->register_module("conv1",
                                      std::make_shared<nn::Conv2d<T>>(options.in_channels, stem, 7, 2, 3, 1, 1, false));
        bn1 = this->register_module("bn1", std::make_shared<nn::BatchNorm2d<T>>(stem));
        relu = this->register_module("relu", std::make_shared<nn::ReLU<T>>());
        maxpool = this->register_module("maxpool", std::make_shared<nn::MaxPool2d<T>>(3, 2, 1));
        int64_t channels = stem;
        for (size_t s = 0; s < 4; ++s) {
            const int64_t width = detail::resnet_scaled_width(int64_t{64} << s, options.width_mult);
            stages[s] = this->register_module("layer" + std::to_string(s + 1), std::make_shared<nn::Sequential<T>>());
            for (int64_t b = 0; b < options.layers[s]; ++b) {
                const int64_t stride = (s > 0 && b == 0) ? 2 : 1;
                stages[s]->add(std::make_shared<Bottleneck<T>>(channels, width, stride));
                channels = width * Bottleneck<T>::expansion;
            }
        }
        feature_channels_ = channels;
        avgpool = this->register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d<T>>(nn::Size2(1, 1)));
        fc = this->register_module("fc", std::make_shared<nn::Linear<T>>(channels, options.num_classes));
        reset_parameters(gen);
    }

    /// torchvision's ResNet init (see the header comment), drawn in module pre-order.
    void reset_parameters(Generator& gen = default_generator()) {
        for (auto& [name, module] : this->named_modules()) {
            if (auto* conv = dynamic_cast<nn::Conv2d<T>*>(module)) {
                nn::init::kaiming_normal_(conv->weight, 0.0, nn::init::FanMode::fan_out, nn::init::Nonlinearity::relu,
                                          gen);
            } else if (auto* bn = dynamic_cast<nn::BatchNorm2d<T>*>(module)) {
                bn->reset_parameters();
            } else if (auto* linear = dynamic_cast<nn::Linear<T>*>(module)) {
                linear->reset_parameters(gen);
            }
        }
        if (options_.zero_init_residual)
            for (auto& stage : stages)
                for (const auto& [name, block] : stage->named_children())
                    nn::init::zeros_(static_cast<Bottleneck<T>&>(*block).bn3->weight);
    }

    /// Logits [N, num_classes] for images [N, in_channels, H, W].
    Tensor<T> forward(const Tensor<T>& x) override {
        check_input(x);
        Tensor<T> h = stem_forward(x);
        for (auto& stage : stages) h = stage->forward(h);
        return fc->forward(avgpool->forward(h).flatten(1));
    }

    /// The activations named in `taps` (any of tap_names()), computing no layer past the deepest.
    Taps forward_features(const Tensor<T>& x, const std::vector<std::string>& taps) {
        check_input(x);
        const std::vector<std::string> order = tap_names();
        std::set<size_t> wanted;
        for (const std::string& name : taps) {
            auto it = std::find(order.begin(), order.end(), name);
            if (it == order.end()) {
                std::string known;
                for (const auto& n : order) known += (known.empty() ? "" : ", ") + n;
                fail("ResNet: unknown tap \"", name, "\"; the taps are ", known);
            }
            wanted.insert(static_cast<size_t>(it - order.begin()));
        }
        Taps out;
        if (wanted.empty()) return out;
        const size_t deepest = *wanted.rbegin();
        // Tap k is the output of step k: stem, layer1..layer4, pool+flatten, fc.
        Tensor<T> h = x;
        for (size_t k = 0; k <= deepest; ++k) {
            if (k == 0) h = stem_forward(h);
            else if (k <= 4) h = stages[k - 1]->forward(h);
            else if (k == 5) h = avgpool->forward(h).flatten(1);
            else h = fc->forward(h);
            if (wanted.count(k)) out[order[k]] = h;
        }
        return out;
    }

    /// The taps in network order.
    static std::vector<std::string> tap_names() { return {"stem", "layer1", "layer2", "layer3", "layer4", "pooled", "logits"}; }

    const ResNetOptions& options() const { return options_; }
    /// Channels of layer4 and of the pooled vector (2048 at full width).
    int64_t feature_channels() const { return feature_channels_; }

private:
    Tensor<T> stem_forward(const Tensor<T>& x) { return maxpool->forward(detail::bn_relu(*bn1, conv1->forward(x))); }

    static void check_options(const ResNetOptions& o) {
        SEAM_CHECK(o.num_classes > 0, "resnet50: num_classes must be positive, got ", o.num_classes);
        SEAM_CHECK(std::isfinite(o.width_mult) && o.width_mult > 0.0,
                   "resnet50: width_mult must be a positive number, got ", o.width_mult);
        for (size_t s = 0; s < 4; ++s)
            SEAM_CHECK(o.layers[s] > 0, "resnet50: layer", s + 1, " needs at least one block, got ", o.layers[s]);
        SEAM_CHECK(o.in_channels > 0, "resnet50: in_channels must be positive, got ", o.in_channels);
    }

    void check_input(const Tensor<T>& x) const {
        SEAM_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels, "ResNet: expected images [N, ",
                   options_.in_channels, ", H, W], got shape ", shape_str(x.shape()));
    }

    ResNetOptions options_;
    int64_t feature_channels_ = 0;
};

/// ResNet-50 as torchvision.models.resnet50 (options.layers changes the depth for CPU runs).
template <class T = float>
inline std::shared_ptr<ResNet<T>> resnet50(const ResNetOptions& options = {}, Generator& gen = default_generator()) {
    return std::make_shared<ResNet<T>>(options, gen);
}

/// Load a torchvision state_dict: drop each "<prefix>.num_batches_tracked" whose "<prefix>" is a
/// BatchNorm of `module` (seam's BatchNorm has no such counter), then load strictly — any other
/// missing, unexpected or mis-shaped key throws, listing every problem.
template <class T>
inline nn::LoadResult load_torchvision_state_dict(nn::Module<T>& module, const nn::StateDict<T>& dict) {
    static const std::string counter = "num_batches_tracked";
    std::set<std::string> batch_norms;  // dotted names; "" when `module` itself is a BatchNorm
    for (auto& [name, child] : module.named_modules())
        if (dynamic_cast<nn::detail::BatchNormBase<T>*>(child) != nullptr) batch_norms.insert(name);
    nn::StateDict<T> kept;
    kept.reserve(dict.size());
    for (const auto& entry : dict) {
        const std::string& key = entry.first;
        bool drop = false;
        if (key == counter) {
            drop = batch_norms.count("") > 0;
        } else if (key.size() > counter.size() + 1 && key.ends_with("." + counter)) {
            drop = batch_norms.count(key.substr(0, key.size() - counter.size() - 1)) > 0;
        }
        if (!drop) kept.push_back(entry);
    }
    return module.load_state_dict(kept, /*strict=*/true);
}

}  // namespace seam::models
