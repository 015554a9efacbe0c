// seam/models/fashionnet.hpp — FashionNet (Liu, Luo, Qiu, Wang, Tang; CVPR 2016, the DeepFashion
// paper), layer by layer as ../shared/ref/model-specs.md §1 describes it.
//
//   images [N, 3, S, S]
//     features      VGG-16 conv1_1 ... conv4_3 (torchvision's numbering, features.0 ... features.22)
//                   -> conv4_3 [N, 512, S/8, S/8], then pool4 (features.23) -> [N, 512, S/16, S/16]
//     pose branch   conv5_pose (3 x [3x3 conv, ReLU]) -> pool5 -> fc6_pose (1024) -> fc7_pose (1024)
//                     -> location   [N, L, 2]  landmark (x, y) normalised to [0, 1] of the input
//                     -> visibility [N, L, 2]  logits of (not visible, visible), one 2-way softmax each
//     global branch conv5_global (3 x [3x3 conv, ReLU]) -> pool5 -> fc6_global (4096)
//     local branch  landmark pooling on conv4_3 at the predicted landmarks, gated by the predicted
//                   visibility (seam/ops/landmark_pool.hpp) -> [N, L*512*2*2] -> fc6_local (1024)
//     fusion        fc7_fusion (4096) on concat(fc6_global, fc6_local)
//                     -> category logits [N, 50], attribute logits [N, 1000],
//                        embedding = L2-normalised fc7_fusion (the triplet loss's space)
// Every fc is followed by ReLU and dropout. Sizes: fc6_pose/fc7_pose/fc6_local 1024 and
// fc6_global/fc7_fusion 4096 follow the Chainer port and mmfashion (the paper gives none; §1.1);
// with width_mult every conv width and every fc width is scaled by it (CPU-sized runs).
//
// Choices where the paper is silent (each is an option; README lists them too):
//   - the location head is linear (no sigmoid): an L2 loss on [0, 1] targets needs no squashing,
//     and a sigmoid would flatten the gradient near the borders where truncated points sit;
//   - visibility is 2-way (visible or not: occluded and truncated both count as not visible, and a
//     slot the clothes type does not have is "not visible" too) — Liu & Lu collapse it the same way;
//   - the landmark window is a quarter of conv4_3's side (7 of 28 cells, 56 px of 224), 2x2 bins,
//     the hard gate p(visible) > 0.5 (§1.3);
//   - pooling never back-propagates into the landmark coordinates (RoI pooling's rule), so the
//     pose branch learns from its own losses only; the coordinates are detached before pooling;
//   - while training, the caller may pool at given landmarks (the ground truth, in the
//     landmark-centric phase of the alternating schedule, seam/models/fashionnet_loss.hpp);
//     predict() and forward() never take landmarks: inference uses predicted ones only.
//
// Weights: init is torchvision VGG's (kaiming_normal fan_out for convs, N(0, 0.01) for fcs, zero
// biases). load_vgg16_weights() copies a torchvision VGG-16 state_dict into it: the trunk by name,
// conv5_* into both conv5_pose and conv5_global (the paper initialises both from VGG's conv5),
// fc6 into fc6_global when the shapes agree (224 input, full width).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/core/error.hpp"
#include "seam/nn/init.hpp"
#include "seam/nn/layers.hpp"
#include "seam/nn/sequential.hpp"
#include "seam/ops/elementwise.hpp"
#include "seam/ops/landmark_pool.hpp"
#include "seam/ops/loss.hpp"
#include "seam/ops/shape_ops.hpp"
#include "seam/ops/softmax.hpp"

namespace seam::models {

struct FashionNetOptions {
    int64_t input_size = 224;        // S: square inputs, a multiple of 32
    double width_mult = 1.0;         // scales every conv and fc width (CPU-sized runs)
    bool batch_norm = false;         // BatchNorm2d after every conv (training from scratch on a CPU)
    int64_t num_categories = 50;
    int64_t num_attributes = 1000;
    int64_t num_landmarks = 8;
    int64_t pose_fc = 0;             // fc6_pose / fc7_pose width (0: 1024 * width_mult)
    int64_t global_fc = 0;           // fc6_global width (0: 4096 * width_mult)
    int64_t local_fc = 0;            // fc6_local width (0: 1024 * width_mult)
    int64_t fusion_fc = 0;           // fc7_fusion width (0: 4096 * width_mult)
    std::array<int64_t, 2> landmark_window{0, 0};  // cells of conv4_3 (0: a quarter of its side, >= 2)
    std::array<int64_t, 2> landmark_bins{2, 2};
    LandmarkGate gate = LandmarkGate::hard;
    double gate_threshold = 0.5;
    double dropout = 0.5;
    int64_t in_channels = 3;

    /// The paper's network: 224x224 inputs, full VGG-16 widths (for a GPU and ImageNet weights).
    static FashionNetOptions paper() { return {}; }
    /// A CPU-sized FashionNet: 64x64 inputs, widths / 8 (8 ... 64 channels, fcs of 128 and 512),
    /// BatchNorm after every conv so it trains from scratch in minutes.
    static FashionNetOptions cpu() {
        FashionNetOptions o;
        o.input_size = 64;
        o.width_mult = 0.125;
        o.batch_norm = true;
        return o;
    }
};

/// Everything one forward pass gives.
template <class T>
struct FashionNetOutput {
    Tensor<T> landmarks;          // [N, L, 2] predicted (x, y), normalised to the input
    Tensor<T> visibility_logits;  // [N, L, 2] (not visible, visible)
    Tensor<T> visibility;         // [N, L] predicted P(visible)
    Tensor<T> category_logits;    // [N, categories]
    Tensor<T> attribute_logits;   // [N, attributes]
    Tensor<T> embedding;          // [N, fusion_fc] L2-normalised fc7_fusion
};

namespace detail {
inline int64_t fashionnet_width(int64_t channels, double mult) {
    return std::max<int64_t>(1, static_cast<int64_t>(std::llround(static_cast<double>(channels) * mult)));
}
}  // namespace detail

template <class T = float>
class FashionNet : public nn::Module<T> {
public:
    std::shared_ptr<nn::Sequential<T>> features;      // conv1_1 ... conv4_3, pool4
    std::shared_ptr<nn::Sequential<T>> conv5_pose, conv5_global;
    std::shared_ptr<nn::Linear<T>> fc6_pose, fc7_pose, location, visibility;
    std::shared_ptr<nn::Linear<T>> fc6_global, fc6_local, fc7_fusion;
    std::shared_ptr<nn::Linear<T>> category, attributes;
    std::shared_ptr<nn::LandmarkPool<T>> landmark_pool;
    std::shared_ptr<nn::MaxPool2d<T>> pool5;  // shared by the pose and global branches (no weights)
    std::shared_ptr<nn::Dropout<T>> drop;

    explicit FashionNet(const FashionNetOptions& options = {}, Generator& gen = default_generator())
        : nn::Module<T>("FashionNet"), options_(resolved(options)) {
        const FashionNetOptions& o = options_;
        features = this->register_module("features", std::make_shared<nn::Sequential<T>>());
        // VGG-16 blocks 1-4 (2, 2, 3, 3 convs), a pool after each: features.0 ... pool4.
        const int64_t block_convs[4] = {2, 2, 3, 3}, block_widths[4] = {64, 128, 256, 512};
        int64_t channels = o.in_channels;
        for (int block = 0; block < 4; ++block) {
            for (int c = 0; c < block_convs[block]; ++c) {
                channels = add_conv(*features, channels, detail::fashionnet_width(block_widths[block], o.width_mult));
            }
            if (block == 3) conv4_3_index_ = features->size() - 1;  // after conv4_3's ReLU
            features->add(std::make_shared<nn::MaxPool2d<T>>(2, 2));
        }
        conv4_channels_ = channels;
        const int64_t c5 = detail::fashionnet_width(512, o.width_mult);
        conv5_pose = this->register_module("conv5_pose", std::make_shared<nn::Sequential<T>>());
        conv5_global = this->register_module("conv5_global", std::make_shared<nn::Sequential<T>>());
        for (auto* branch : {conv5_pose.get(), conv5_global.get()}) {
            int64_t ch = channels;
            for (int c = 0; c < 3; ++c) ch = add_conv(*branch, ch, c5);
        }
        pool5 = this->register_module("pool5", std::make_shared<nn::MaxPool2d<T>>(2, 2));
        const int64_t pool5_side = o.input_size / 32, pool5 = c5 * pool5_side * pool5_side;
        const int64_t L = o.num_landmarks;
        fc6_pose = this->register_module("fc6_pose", std::make_shared<nn::Linear<T>>(pool5, o.pose_fc));
        fc7_pose = this->register_module("fc7_pose", std::make_shared<nn::Linear<T>>(o.pose_fc, o.pose_fc));
        location = this->register_module("location", std::make_shared<nn::Linear<T>>(o.pose_fc, 2 * L));
        visibility = this->register_module("visibility", std::make_shared<nn::Linear<T>>(o.pose_fc, 2 * L));
        fc6_global = this->register_module("fc6_global", std::make_shared<nn::Linear<T>>(pool5, o.global_fc));
        LandmarkPoolOptions pool_options;
        pool_options.window = o.landmark_window;
        pool_options.bins = o.landmark_bins;
        pool_options.gate = o.gate;
        pool_options.threshold = o.gate_threshold;
        landmark_pool = this->register_module("landmark_pool", std::make_shared<nn::LandmarkPool<T>>(pool_options));
        const int64_t local_in = L * channels * o.landmark_bins[0] * o.landmark_bins[1];
        fc6_local = this->register_module("fc6_local", std::make_shared<nn::Linear<T>>(local_in, o.local_fc));
        fc7_fusion = this->register_module("fc7_fusion",
                                           std::make_shared<nn::Linear<T>>(o.global_fc + o.local_fc, o.fusion_fc));
        category = this->register_module("category", std::make_shared<nn::Linear<T>>(o.fusion_fc, o.num_categories));
        attributes = this->register_module("attributes", std::make_shared<nn::Linear<T>>(o.fusion_fc, o.num_attributes));
        drop = this->register_module("dropout", std::make_shared<nn::Dropout<T>>(o.dropout));
        reset_parameters(gen);
    }

    /// torchvision VGG's init (see the header comment), drawn in module pre-order from `gen`.
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
        // The location head starts at the centre of the image, so the first pooling windows land
        // on the garment rather than at the corner (0, 0).
        nn::init::constant_(location->bias, T(0.5));
    }

    /// Inference: every output from the images alone, pooling at the predicted landmarks.
    FashionNetOutput<T> forward_all(const Tensor<T>& images) { return run(images, Tensor<T>(), Tensor<T>()); }

    /// Training: the same, but the local branch pools at `pool_landmarks` [N, L, 2] gated by
    /// `pool_visibility` [N, L] (0/1 or probabilities), e.g. the ground truth in the
    /// landmark-centric phase. The pose outputs are still the network's own predictions.
    FashionNetOutput<T> forward_pooling_at(const Tensor<T>& images, const Tensor<T>& pool_landmarks,
                                           const Tensor<T>& pool_visibility) {
        SEAM_CHECK(pool_landmarks.defined() && pool_visibility.defined(),
                   "FashionNet::forward_pooling_at: landmarks and visibility must both be given");
        return run(images, pool_landmarks, pool_visibility);
    }

    /// Category logits (the Module interface); use forward_all for the other heads.
    Tensor<T> forward(const Tensor<T>& images) override { return forward_all(images).category_logits; }

    const FashionNetOptions& options() const { return options_; }
    int64_t conv4_channels() const { return conv4_channels_; }
    /// Side of the conv4_3 map (S / 8) and of pool5 (S / 32).
    int64_t conv4_side() const { return options_.input_size / 8; }

    /// Copies a torchvision VGG-16 (no BN) state_dict into this network: features.0 ... features.21
    /// by name; features.24/26/28 (conv5_1..3) into conv5_pose.{0,2,4} and conv5_global.{0,2,4};
    /// classifier.0 (fc6) into fc6_global when the shapes agree. Returns the names copied; throws,
    /// listing every problem, when a needed tensor is missing or has another shape.
    std::vector<std::string> load_vgg16_weights(const nn::StateDict<T>& vgg) {
        SEAM_CHECK(!options_.batch_norm, "FashionNet::load_vgg16_weights: this network has BatchNorm; torchvision's "
                                         "vgg16 weights have none (convert vgg16_bn weights by hand)");
        std::map<std::string, Tensor<T>> source(vgg.begin(), vgg.end());
        auto own = this->named_parameters();
        std::map<std::string, Tensor<T>> target(own.begin(), own.end());
        std::vector<std::pair<std::string, std::string>> plan;  // (from, to)
        for (const auto& [name, tensor] : target)
            if (name.rfind("features.", 0) == 0) plan.emplace_back(name, name);
        const int conv5_children[3] = {24, 26, 28};
        for (int c = 0; c < 3; ++c) {
            for (const char* kind : {"weight", "bias"}) {
                const std::string from = "features." + std::to_string(conv5_children[c]) + "." + kind;
                for (const char* branch : {"conv5_pose.", "conv5_global."})
                    plan.emplace_back(from, branch + std::to_string(2 * c) + "." + kind);
            }
        }
        auto fc6 = source.find("classifier.0.weight");
        if (fc6 != source.end() && fc6->second.shape() == fc6_global->weight.shape()) {
            plan.emplace_back("classifier.0.weight", "fc6_global.weight");
            plan.emplace_back("classifier.0.bias", "fc6_global.bias");
        }
        std::vector<std::string> problems, copied;
        for (const auto& [from, to] : plan) {
            auto s = source.find(from);
            auto t = target.find(to);
            if (t == target.end()) problems.push_back("this network has no \"" + to + "\"");
            else if (s == source.end()) problems.push_back("missing \"" + from + "\" (for " + to + ")");
            else if (s->second.shape() != t->second.shape())
                problems.push_back("\"" + from + "\" has shape " + shape_str(s->second.shape()) + " but " + to +
                                   " needs " + shape_str(t->second.shape()));
        }
        if (!problems.empty()) {
            std::string msg = "FashionNet::load_vgg16_weights: the VGG-16 state_dict does not fit";
            for (const auto& p : problems) msg += "\n  " + p;
            throw Error(msg);
        }
        NoGradGuard no_grad;
        for (const auto& [from, to] : plan) {
            target.at(to).copy_(source.at(from));
            copied.push_back(to);
        }
        return copied;
    }

private:
    static FashionNetOptions resolved(FashionNetOptions o) {
        SEAM_CHECK(o.input_size >= 32 && o.input_size % 32 == 0, "FashionNet: input_size ", o.input_size,
                   " must be a positive multiple of 32 (four 2x2 pools before conv5, one after)");
        SEAM_CHECK(std::isfinite(o.width_mult) && o.width_mult > 0, "FashionNet: width_mult must be positive, got ",
                   o.width_mult);
        SEAM_CHECK(o.num_categories > 0 && o.num_attributes > 0 && o.num_landmarks > 0,
                   "FashionNet: num_categories, num_attributes and num_landmarks must be positive");
        SEAM_CHECK(o.dropout >= 0 && o.dropout <= 1, "FashionNet: dropout ", o.dropout, " is outside [0, 1]");
        SEAM_CHECK(o.in_channels > 0, "FashionNet: in_channels must be positive");
        auto scaled = [&](int64_t& v, int64_t full, const char* name) {
            SEAM_CHECK(v >= 0, "FashionNet: ", name, " must be >= 0 (0: the scaled default), got ", v);
            if (v == 0) v = detail::fashionnet_width(full, o.width_mult);
        };
        scaled(o.pose_fc, 1024, "pose_fc");
        scaled(o.global_fc, 4096, "global_fc");
        scaled(o.local_fc, 1024, "local_fc");
        scaled(o.fusion_fc, 4096, "fusion_fc");
        const int64_t side = o.input_size / 8;
        for (int d = 0; d < 2; ++d) {
            SEAM_CHECK(o.landmark_window[d] >= 0, "FashionNet: landmark_window must be >= 0 (0: a quarter of conv4_3)");
            if (o.landmark_window[d] == 0) o.landmark_window[d] = std::max<int64_t>(2, (side + 2) / 4);
        }
        return o;
    }

    /// conv 3x3 pad 1 (+ BN) + ReLU appended to `seq`; returns the output width.
    int64_t add_conv(nn::Sequential<T>& seq, int64_t in, int64_t out) {
        seq.add(std::make_shared<nn::Conv2d<T>>(in, out, 3, 1, 1, 1, 1, /*bias=*/!options_.batch_norm));
        if (options_.batch_norm) seq.add(std::make_shared<nn::BatchNorm2d<T>>(out));
        seq.add(std::make_shared<nn::ReLU<T>>());
        return out;
    }

    Tensor<T> fc(nn::Linear<T>& layer, const Tensor<T>& x) { return drop->forward(relu(layer.forward(x))); }

    FashionNetOutput<T> run(const Tensor<T>& images, const Tensor<T>& pool_landmarks, const Tensor<T>& pool_visibility) {
        const FashionNetOptions& o = options_;
        SEAM_CHECK(images.dim() == 4 && images.size(1) == o.in_channels && images.size(2) == o.input_size &&
                       images.size(3) == o.input_size,
                   "FashionNet: expected images [N, ", o.in_channels, ", ", o.input_size, ", ", o.input_size, "], got ",
                   shape_str(images.shape()));
        const int64_t n = images.size(0), L = o.num_landmarks;
        Tensor<T> conv4 = images;
        for (size_t i = 0; i <= conv4_3_index_; ++i) conv4 = (*features)[i]->forward(conv4);
        Tensor<T> pool4 = (*features)[features->size() - 1]->forward(conv4);

        FashionNetOutput<T> out;
        // Pose branch.
        Tensor<T> pose = pool5->forward(conv5_pose->forward(pool4)).flatten(1);
        pose = fc(*fc7_pose, fc(*fc6_pose, pose));
        out.landmarks = location->forward(pose).reshape({n, L, 2});
        out.visibility_logits = visibility->forward(pose).reshape({n, L, 2});
        out.visibility = softmax(out.visibility_logits, -1).select(2, 1);

        // Global branch.
        Tensor<T> global = pool5->forward(conv5_global->forward(pool4)).flatten(1);
        global = fc(*fc6_global, global);

        // Local branch: pooling at the given landmarks, or at the predicted ones (detached: RoI
        // pooling passes no gradient to its coordinates, and the pose branch has its own losses).
        Tensor<T> where = pool_landmarks.defined() ? pool_landmarks : out.landmarks.detach();
        Tensor<T> gate = pool_visibility.defined() ? pool_visibility : out.visibility.detach();
        Tensor<T> local = landmark_pool->forward(conv4, where, gate).reshape({n, -1});
        local = fc(*fc6_local, local);

        Tensor<T> fusion = fc(*fc7_fusion, cat<T>({global, local}, 1));
        out.category_logits = category->forward(fusion);
        out.attribute_logits = attributes->forward(fusion);
        out.embedding = normalize(fusion, T(2), 1);
        return out;
    }

    FashionNetOptions options_;
    size_t conv4_3_index_ = 0;
    int64_t conv4_channels_ = 0;
};

}  // namespace seam::models
