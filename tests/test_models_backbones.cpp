// The backbones VGG-16 and ResNet-50: parameter names, shapes and counts against torchvision's
// (written out here from torchvision's model definitions), initial statistics, feature taps and
// their early stop, forward shapes at reduced width, gradients for every parameter, a Bottleneck
// checked against torchvision's formula and by finite differences, a short training run, and the
// torchvision checkpoint loader.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <seam/autograd/gradcheck.hpp>
#include <seam/models/resnet.hpp>
#include <seam/models/vgg.hpp>
#include <seam/ops/loss.hpp>
#include <seam/ops/reduce.hpp>
#include <seam/optim/adam.hpp>
#include <seam/seam.hpp>
#include <string>
#include <utility>
#include <vector>

using namespace seam;
using namespace seam::models;

namespace {
template <class Fn>
void expect_gradcheck(const Fn& fn, std::vector<Tensor<double>> in) {
    auto r = gradcheck(fn, std::move(in));
    CHECK_MESSAGE(r.ok, r.message);
}

using NameShape = std::pair<std::string, Shape>;

template <class T>
std::vector<NameShape> names_and_shapes(const nn::NamedTensors<T>& named) {
    std::vector<NameShape> out;
    for (const auto& [name, tensor] : named) out.emplace_back(name, tensor.shape());
    return out;
}

template <class T>
Shape shape_of(const nn::StateDict<T>& dict, const std::string& name) {
    for (const auto& [key, tensor] : dict)
        if (key == name) return tensor.shape();
    return {};
}

template <class T>
bool has_key(const nn::StateDict<T>& dict, const std::string& name) {
    for (const auto& entry : dict)
        if (entry.first == name) return true;
    return false;
}

/// Mean and standard deviation of a float tensor, summed in double straight from its storage
/// (the fc6 weight has 102.8 million elements: no to_vector copy).
std::pair<double, double> mean_std(const Tensor<float>& t) {
    const float* p = t.data();
    const int64_t n = t.numel();
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; ++i) sum += p[i];
    const double mean = sum / static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) sq += (p[i] - mean) * (p[i] - mean);
    return {mean, std::sqrt(sq / static_cast<double>(n))};
}

bool all_zero(const Tensor<float>& t) {
    for (float v : t.to_vector())
        if (v != 0.0f) return false;
    return true;
}

bool same_values(const Tensor<float>& a, const Tensor<float>& b) {
    return a.shape() == b.shape() && a.contiguous().to_vector() == b.contiguous().to_vector();
}

/// Every parameter has a gradient of its own shape, finite and not identically zero.
template <class T>
void check_every_parameter_has_gradient(const nn::Module<T>& model) {
    // (Plain entries, not structured bindings: clang 14 cannot capture those in doctest's lambdas.)
    for (const auto& entry : model.named_parameters()) {
        const std::string& name = entry.first;
        const Tensor<T>& p = entry.second;
        const Tensor<T> g = p.grad();
        REQUIRE_MESSAGE(g.defined(), name, " has no gradient");
        CHECK_MESSAGE(g.shape() == p.shape(), name);
        double abs_sum = 0;
        bool finite = true;
        for (T v : g.contiguous().to_vector()) {
            finite = finite && std::isfinite(static_cast<double>(v));
            abs_sum += std::abs(static_cast<double>(v));
        }
        CHECK_MESSAGE(finite, name, " has a non-finite gradient");
        CHECK_MESSAGE(abs_sum > 0.0, name, " has an all-zero gradient");
    }
}

/// A layer that must never run: stands in for the layers past a requested tap.
template <class T>
struct MustNotRun : nn::Module<T> {
    MustNotRun() : nn::Module<T>("MustNotRun") {}
    Tensor<T> forward(const Tensor<T>&) override { fail("MustNotRun: a layer past the deepest tap was computed"); }
};
}  // namespace

// ----- VGG-16 ---------------------------------------------------------------------------------

TEST_CASE("vgg16: torchvision's parameter names, shapes, count and initialisation") {
    Generator gen(16);
    auto model = vgg16<float>({}, gen);
    // torchvision.models.vgg16(): make_layers(cfg "D") then the classifier, written out by hand.
    const std::vector<NameShape> expected{
        {"features.0.weight", {64, 3, 3, 3}},       {"features.0.bias", {64}},
        {"features.2.weight", {64, 64, 3, 3}},      {"features.2.bias", {64}},
        {"features.5.weight", {128, 64, 3, 3}},     {"features.5.bias", {128}},
        {"features.7.weight", {128, 128, 3, 3}},    {"features.7.bias", {128}},
        {"features.10.weight", {256, 128, 3, 3}},   {"features.10.bias", {256}},
        {"features.12.weight", {256, 256, 3, 3}},   {"features.12.bias", {256}},
        {"features.14.weight", {256, 256, 3, 3}},   {"features.14.bias", {256}},
        {"features.17.weight", {512, 256, 3, 3}},   {"features.17.bias", {512}},
        {"features.19.weight", {512, 512, 3, 3}},   {"features.19.bias", {512}},
        {"features.21.weight", {512, 512, 3, 3}},   {"features.21.bias", {512}},
        {"features.24.weight", {512, 512, 3, 3}},   {"features.24.bias", {512}},
        {"features.26.weight", {512, 512, 3, 3}},   {"features.26.bias", {512}},
        {"features.28.weight", {512, 512, 3, 3}},   {"features.28.bias", {512}},
        {"classifier.0.weight", {4096, 25088}},     {"classifier.0.bias", {4096}},
        {"classifier.3.weight", {4096, 4096}},      {"classifier.3.bias", {4096}},
        {"classifier.6.weight", {1000, 4096}},      {"classifier.6.bias", {1000}},
    };
    CHECK(names_and_shapes(model->named_parameters()) == expected);
    CHECK(names_and_shapes(model->state_dict()) == expected);  // no buffers without batch norm
    CHECK(model->parameter_count() == 138357544);
    CHECK(model->features->size() == 31);
    CHECK(model->classifier->size() == 7);

    // torchvision's repr of the same layers.
    const std::string repr = model->to_string();
    CHECK(repr.find("(0): Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))") != std::string::npos);
    CHECK(repr.find("(30): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)") !=
          std::string::npos);
    CHECK(repr.find("(avgpool): AdaptiveAvgPool2d(output_size=(7, 7))") != std::string::npos);
    CHECK(repr.find("(6): Linear(in_features=4096, out_features=1000, bias=True)") != std::string::npos);

    // The taps sit where the header says: after conv4_3's ReLU (features.22), pool4 = features.23, ...
    CHECK(model->tap_point("conv4_3").index == 22);
    CHECK(model->tap_point("pool4").index == 23);
    CHECK(model->tap_point("conv5_3").index == 29);
    CHECK(model->tap_point("pool5").index == 30);
    CHECK(model->tap_point("fc6").in_classifier);
    CHECK(model->tap_point("fc7").index == 4);
    CHECK(model->tap_point("fc7").in_classifier);
    CHECK(model->tap_names().size() == 13 + 5 + 3);

    // Init: conv kaiming_normal_(fan_out, relu): std sqrt(2 / (512 * 9)) = 0.020833 for conv5_3;
    // Linear normal(0, 0.01); every bias zero. 2.4M and 102.8M draws: the sample std is within 0.5%.
    REQUIRE(model->features->named_parameters()[24].first == "28.weight");
    auto [conv_mean, conv_std] = mean_std(model->features->named_parameters()[24].second);
    CHECK(std::abs(conv_mean) < 1e-4);
    CHECK(conv_std == doctest::Approx(std::sqrt(2.0 / (512 * 9))).epsilon(0.005));
    auto [conv1_mean, conv1_std] = mean_std(model->features->named_parameters()[0].second);  // fan_out 64*9
    CHECK(std::abs(conv1_mean) < 0.01);
    CHECK(conv1_std == doctest::Approx(std::sqrt(2.0 / (64 * 9))).epsilon(0.1));  // only 1728 draws
    auto [fc6_mean, fc6_std] = mean_std(model->classifier->named_parameters()[0].second);
    CHECK(std::abs(fc6_mean) < 1e-5);
    CHECK(fc6_std == doctest::Approx(0.01).epsilon(0.005));
    for (const auto& entry : model->named_parameters())
        if (entry.first.ends_with(".bias")) CHECK_MESSAGE(all_zero(entry.second), entry.first);
}

TEST_CASE("vgg16_bn: torchvision's indices (features.1 is the BatchNorm) and count") {
    auto model = vgg16_bn<float>({.width_mult = 0.125, .fc_width = 64, .avgpool_size = {1, 1}});
    auto dict = model->state_dict();
    CHECK(dict[0].first == "features.0.weight");
    CHECK(dict[2].first == "features.1.weight");
    CHECK(dict[4].first == "features.1.running_mean");
    CHECK(dict[5].first == "features.1.running_var");
    CHECK(dict[6].first == "features.3.weight");
    CHECK(shape_of(dict, "features.40.weight") == Shape{64, 64, 3, 3});  // conv5_3
    CHECK(shape_of(dict, "features.41.running_var") == Shape{64});
    CHECK(model->features->size() == 44);
    CHECK(model->tap_point("conv4_3").index == 32);
    CHECK(model->tap_point("pool4").index == 33);
    CHECK(model->tap_point("pool5").index == 43);
    CHECK(dict.size() == 13 * 6 + 6);  // conv weight+bias, BN weight+bias+2 buffers; 3 Linears
    auto bn = std::dynamic_pointer_cast<nn::BatchNorm2d<float>>((*model->features)[1]);
    REQUIRE(bn);
    CHECK(bn->weight.to_vector() == std::vector<float>(8, 1.0f));
    CHECK(all_zero(bn->bias));

    // Batch norm adds a weight and a bias per conv channel: at width 1/8, 2 * (8*2 + 16*2 + 32*3 + 64*6).
    // (At full width that is torchvision's 138,365,992 = 138,357,544 + 2 * 4224; building a second
    // full-size VGG here would only cost seconds of random draws.)
    auto plain = vgg16<float>({.width_mult = 0.125, .fc_width = 64, .avgpool_size = {1, 1}});
    CHECK(model->parameter_count() == plain->parameter_count() + 2 * 528);
}

TEST_CASE("vgg16: reduced width, the same seed gives the same weights, bad options and inputs are refused") {
    VggOptions small{.num_classes = 10, .width_mult = 0.125};
    Generator a(3), b(3), c(4);
    auto m1 = vgg16<float>(small, a), m2 = vgg16<float>(small, b), m3 = vgg16<float>(small, c);
    auto d1 = m1->state_dict(), d2 = m2->state_dict(), d3 = m3->state_dict();
    CHECK(same_values(d1[0].second, d2[0].second));
    CHECK(same_values(d1[26].second, d2[26].second));
    CHECK(!same_values(d1[0].second, d3[0].second));

    // Widths: round(64/8) = 8 ... 512/8 = 64; fc width 4096/8 = 512; classifier input 64 * 7 * 7.
    CHECK(shape_of(d1, "features.0.weight") == Shape{8, 3, 3, 3});
    CHECK(shape_of(d1, "features.28.weight") == Shape{64, 64, 3, 3});
    CHECK(shape_of(d1, "classifier.0.weight") == Shape{512, 64 * 49});
    CHECK(shape_of(d1, "classifier.6.weight") == Shape{10, 512});
    // Rounding: 64 * 0.3 = 19.2 -> 19, 512 * 0.3 = 153.6 -> 154; a tiny multiplier keeps 1 channel.
    auto odd = vgg16<float>({.num_classes = 3, .width_mult = 0.3, .fc_width = 20, .avgpool_size = {2, 3}});
    auto od = odd->state_dict();
    CHECK(shape_of(od, "features.0.weight") == Shape{19, 3, 3, 3});
    CHECK(shape_of(od, "features.28.weight") == Shape{154, 154, 3, 3});
    CHECK(shape_of(od, "classifier.0.weight") == Shape{20, 154 * 6});
    CHECK(odd->feature_channels() == 154);
    auto thin = vgg16<float>({.num_classes = 2, .width_mult = 1e-4, .fc_width = 4, .in_channels = 1});
    CHECK(shape_of(thin->state_dict(), "features.0.weight") == Shape{1, 1, 3, 3});

    CHECK_THROWS_WITH_AS(vgg16<float>({.width_mult = 0.0}), doctest::Contains("width_mult"), Error);
    CHECK_THROWS_WITH_AS(vgg16<float>({.num_classes = 0}), doctest::Contains("num_classes"), Error);
    CHECK_THROWS_WITH_AS(vgg16<float>({.avgpool_size = {0, 7}}), doctest::Contains("avgpool_size"), Error);
    CHECK_THROWS_WITH_AS(vgg16<float>({.dropout = 1.5}), doctest::Contains("dropout"), Error);
    Generator g(1);
    CHECK_THROWS_WITH_AS(m1->forward(randn<float>({1, 1, 32, 32}, g)), doctest::Contains("[1, 1, 32, 32]"), Error);
    CHECK_THROWS_WITH_AS(m1->forward_features(randn<float>({1, 3, 32, 32}, g), {"conv6_1"}),
                         doctest::Contains("unknown tap \"conv6_1\""), Error);
}

TEST_CASE("vgg16: every tap's shape at width 1/8, values equal the plain layer-by-layer pass") {
    Generator gen(5);
    auto model = vgg16<float>({.num_classes = 10, .width_mult = 0.125}, gen);
    model->eval();  // dropout off, so the classifier taps are comparable with a plain pass
    NoGradGuard no_grad;
    const std::vector<std::string> taps{"conv4_3", "pool4", "conv5_3", "pool5", "fc6", "fc7", "logits"};

    auto x64 = randn<float>({2, 3, 64, 64}, gen);
    auto out = model->forward_features(x64, taps);
    CHECK(out.size() == taps.size());
    CHECK(out.at("conv4_3").shape() == Shape{2, 64, 8, 8});
    CHECK(out.at("pool4").shape() == Shape{2, 64, 4, 4});
    CHECK(out.at("conv5_3").shape() == Shape{2, 64, 4, 4});
    CHECK(out.at("pool5").shape() == Shape{2, 64, 2, 2});
    CHECK(out.at("fc6").shape() == Shape{2, 512});
    CHECK(out.at("fc7").shape() == Shape{2, 512});
    CHECK(out.at("logits").shape() == Shape{2, 10});

    CHECK(same_values(out.at("conv4_3"), model->run_features(x64, 0, 23)));
    CHECK(same_values(out.at("pool5"), model->features->forward(x64)));
    CHECK(same_values(out.at("logits"), model->forward(x64)));
    Tensor<float> h = model->avgpool->forward(out.at("pool5")).flatten(1);
    for (size_t i = 0; i <= 4; ++i) h = (*model->classifier)[i]->forward(h);
    CHECK(same_values(out.at("fc7"), h));
    // Taps are activations after ReLU: nothing negative.
    for (float v : out.at("conv4_3").to_vector()) REQUIRE(v >= 0.0f);
    for (float v : out.at("fc7").to_vector()) REQUIRE(v >= 0.0f);
    // The slice from pool4 on continues the trunk: run_features(pool4, 24, 31) is pool5.
    CHECK(same_values(model->run_features(out.at("pool4"), 24, 31), out.at("pool5")));

    // 32x32 is the smallest input: pool5 is 1x1 and the adaptive pool spreads it to 7x7.
    auto out32 = model->forward_features(randn<float>({1, 3, 32, 32}, gen), {"pool5", "fc7"});
    CHECK(out32.at("pool5").shape() == Shape{1, 64, 1, 1});
    CHECK(out32.at("fc7").shape() == Shape{1, 512});
    CHECK(model->forward_features(x64, {}).empty());

    // A smaller pooled grid shrinks fc6's input, not the taps before it.
    auto small = vgg16<float>({.num_classes = 4, .width_mult = 0.125, .fc_width = 32, .avgpool_size = {2, 2}}, gen);
    auto s = small->forward_features(x64, {"pool5", "fc7", "logits"});
    CHECK(s.at("pool5").shape() == Shape{2, 64, 2, 2});
    CHECK(s.at("fc7").shape() == Shape{2, 32});
    CHECK(s.at("logits").shape() == Shape{2, 4});
}

TEST_CASE("vgg16: forward_features stops at the deepest tap asked for") {
    Generator gen(6);
    auto model = vgg16<float>({.num_classes = 10, .width_mult = 0.125}, gen);
    model->features->replace_module("24", std::make_shared<MustNotRun<float>>());  // conv5_1
    auto x = randn<float>({1, 3, 32, 32}, gen);
    auto out = model->forward_features(x, {"pool4", "conv4_3"});
    CHECK(out.size() == 2);
    CHECK(out.count("pool5") == 0);
    CHECK_THROWS_WITH_AS(model->forward_features(x, {"conv5_3"}), doctest::Contains("MustNotRun"), Error);

    auto head = vgg16<float>({.num_classes = 10, .width_mult = 0.125}, gen);
    head->classifier->replace_module("6", std::make_shared<MustNotRun<float>>());  // fc8
    CHECK(head->forward_features(x, {"fc7"}).at("fc7").shape() == Shape{1, 512});
    CHECK_THROWS_WITH_AS(head->forward_features(x, {"logits"}), doctest::Contains("MustNotRun"), Error);
}

TEST_CASE("vgg16: backward reaches every parameter, and a reduced VGG learns random labels") {
    Generator gen(7);
    auto model = vgg16<float>({.num_classes = 5, .width_mult = 0.125, .fc_width = 64, .avgpool_size = {2, 2}}, gen);
    auto x = randn<float>({4, 3, 32, 32}, gen);
    auto labels = from_vector<int64_t>({0, 3, 1, 4}, {4});
    cross_entropy(model->forward(x), labels).backward();
    check_every_parameter_has_gradient(*model);

    // Eight images, eight fixed random labels, dropout off: Adam drives the training loss down.
    Generator train_gen(7);
    auto net = vgg16<float>({.num_classes = 4, .width_mult = 0.125, .fc_width = 64, .avgpool_size = {2, 2},
                             .dropout = 0.0},
                            train_gen);
    auto images = randn<float>({8, 3, 32, 32}, train_gen);
    auto targets = from_vector<int64_t>({0, 1, 2, 3, 3, 2, 1, 0}, {8});
    optim::Adam<float> opt(net->parameters(), {.lr = 1e-3});
    std::vector<float> losses;
    for (int step = 0; step < 20; ++step) {
        opt.zero_grad();
        auto loss = cross_entropy(net->forward(images), targets);
        loss.backward();
        opt.step();
        losses.push_back(loss.item());
    }
    MESSAGE("reduced VGG-16 training loss: ", losses.front(), " -> ", losses.back(), " in 20 Adam steps");
    CHECK(losses.front() == doctest::Approx(std::log(4.0)).epsilon(0.05));  // tiny fc init: near-uniform
    // The tiny fc init makes the first steps slow (measured: 1.386 -> 0.86 after 20 steps).
    CHECK(losses.back() < 0.8f * losses.front());
}

// ----- ResNet-50 ------------------------------------------------------------------------------

TEST_CASE("resnet50: torchvision's names, shapes, entry counts and initialisation") {
    Generator gen(50);
    auto model = resnet50<float>({}, gen);
    CHECK(model->parameter_count() == 25557032);
    CHECK(model->named_parameters().size() == 161);
    // torchvision's state_dict has 320 entries: 161 parameters, 53 BatchNorms x (running_mean,
    // running_var, num_batches_tracked). seam keeps no num_batches_tracked: 161 + 106.
    CHECK(model->named_buffers().size() == 106);
    auto dict = model->state_dict();
    CHECK(dict.size() == 267);

    // Spot checks from torchvision.models.resnet50().
    const std::vector<NameShape> expected{
        {"conv1.weight", {64, 3, 7, 7}},
        {"bn1.running_mean", {64}},
        {"layer1.0.conv1.weight", {64, 64, 1, 1}},
        {"layer1.0.conv2.weight", {64, 64, 3, 3}},
        {"layer1.0.conv3.weight", {256, 64, 1, 1}},
        {"layer1.0.bn3.weight", {256}},
        {"layer1.0.downsample.0.weight", {256, 64, 1, 1}},
        {"layer1.0.downsample.1.running_var", {256}},
        {"layer1.1.conv1.weight", {64, 256, 1, 1}},
        {"layer1.2.bn3.bias", {256}},
        {"layer2.0.conv1.weight", {128, 256, 1, 1}},
        {"layer2.0.conv2.weight", {128, 128, 3, 3}},
        {"layer2.0.downsample.0.weight", {512, 256, 1, 1}},
        {"layer2.3.conv3.weight", {512, 128, 1, 1}},
        {"layer3.0.conv1.weight", {256, 512, 1, 1}},
        {"layer3.0.downsample.0.weight", {1024, 512, 1, 1}},
        {"layer3.5.conv2.weight", {256, 256, 3, 3}},
        {"layer4.0.conv1.weight", {512, 1024, 1, 1}},
        {"layer4.0.downsample.0.weight", {2048, 1024, 1, 1}},
        {"layer4.2.conv3.weight", {2048, 512, 1, 1}},
        {"layer4.2.bn3.running_mean", {2048}},
        {"fc.weight", {1000, 2048}},
        {"fc.bias", {1000}},
    };
    for (const auto& entry : expected) CHECK_MESSAGE(shape_of(dict, entry.first) == entry.second, entry.first);
    CHECK(!has_key(dict, "layer1.1.downsample.0.weight"));
    CHECK(!has_key(dict, "layer4.3.conv1.weight"));
    CHECK(!has_key(dict, "conv1.bias"));
    // torchvision's order (less its num_batches_tracked): stem conv, bn1's four, then layer1.0.
    CHECK(dict[0].first == "conv1.weight");
    CHECK(dict[1].first == "bn1.weight");
    CHECK(dict[4].first == "bn1.running_var");
    CHECK(dict[5].first == "layer1.0.conv1.weight");
    CHECK(dict[266].first == "fc.bias");

    // v1.5: the stride sits on the 3x3 conv of the first block of layer2..4, and on the shortcut.
    auto block = std::dynamic_pointer_cast<Bottleneck<float>>((*model->stages[1])[0]);
    REQUIRE(block);
    CHECK(block->conv1->stride[0] == 1);
    CHECK(block->conv2->stride[0] == 2);
    auto shortcut = std::dynamic_pointer_cast<nn::Conv2d<float>>((*block->downsample)[0]);
    REQUIRE(shortcut);
    CHECK(shortcut->stride[0] == 2);
    const std::string repr = model->to_string();
    CHECK(repr.find("(conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)") !=
          std::string::npos);
    CHECK(repr.find("(maxpool): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)") !=
          std::string::npos);
    CHECK(repr.find("(conv2): Conv2d(128, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)") !=
          std::string::npos);

    // Init: kaiming_normal_(fan_out): layer4's 3x3 has std sqrt(2 / (512 * 9)); BN weight 1, bias 0.
    auto [mean, std] = mean_std(model->stages[3]->named_parameters()[3].second);  // layer4.0.conv2.weight
    CHECK(model->stages[3]->named_parameters()[3].first == "0.conv2.weight");
    CHECK(std::abs(mean) < 1e-4);
    CHECK(std == doctest::Approx(std::sqrt(2.0 / (512 * 9))).epsilon(0.005));
    CHECK(model->bn1->weight.to_vector() == std::vector<float>(64, 1.0f));
    CHECK(all_zero(block->bn3->bias));
    CHECK(!all_zero(block->bn3->weight));
    // fc keeps PyTorch's default Linear init: uniform within 1/sqrt(2048).
    double fc_max = 0;
    for (float v : model->fc->weight.to_vector()) fc_max = std::max(fc_max, static_cast<double>(std::abs(v)));
    CHECK(fc_max <= 1.0 / std::sqrt(2048.0));
    CHECK(fc_max > 0.9 / std::sqrt(2048.0));
}

TEST_CASE("resnet50: zero_init_residual, reduced width, options and input errors") {
    auto model = resnet50<float>({.num_classes = 7, .width_mult = 0.125, .zero_init_residual = true});
    for (const auto& stage : model->stages)
        for (const auto& [name, child] : stage->named_children()) {
            auto& block = dynamic_cast<Bottleneck<float>&>(*child);
            CHECK(all_zero(block.bn3->weight));
            CHECK(!all_zero(block.bn2->weight));
        }
    auto dict = model->state_dict();
    CHECK(shape_of(dict, "conv1.weight") == Shape{8, 3, 7, 7});
    CHECK(shape_of(dict, "layer1.0.conv3.weight") == Shape{32, 8, 1, 1});
    CHECK(shape_of(dict, "layer4.2.conv3.weight") == Shape{256, 64, 1, 1});
    CHECK(shape_of(dict, "fc.weight") == Shape{7, 256});
    CHECK(model->feature_channels() == 256);

    auto shallow = resnet50<float>({.width_mult = 0.125, .layers = {1, 2, 1, 1}});
    CHECK(shallow->named_parameters().size() == 3 + 5 * 9 + 4 * 3 + 2);
    CHECK(has_key(shallow->state_dict(), "layer2.1.conv1.weight"));
    CHECK(!has_key(shallow->state_dict(), "layer3.1.conv1.weight"));

    CHECK_THROWS_WITH_AS(resnet50<float>({.layers = {3, 0, 6, 3}}), doctest::Contains("layer2"), Error);
    CHECK_THROWS_WITH_AS(resnet50<float>({.width_mult = -1.0}), doctest::Contains("width_mult"), Error);
    Generator g(2);
    CHECK_THROWS_WITH_AS(model->forward(randn<float>({3, 32, 32}, g)), doctest::Contains("[3, 32, 32]"), Error);
    CHECK_THROWS_WITH_AS(model->forward_features(randn<float>({1, 3, 32, 32}, g), {"layer5"}),
                         doctest::Contains("unknown tap \"layer5\""), Error);
}

TEST_CASE("resnet50: every tap's shape at width 1/8, values equal the plain pass, backward reaches every parameter") {
    Generator gen(8);
    auto model = resnet50<float>({.num_classes = 6, .width_mult = 0.125}, gen);
    auto x = randn<float>({2, 3, 64, 64}, gen);
    {
        model->eval();
        NoGradGuard no_grad;
        auto out = model->forward_features(x, ResNet<float>::tap_names());
        CHECK(out.at("stem").shape() == Shape{2, 8, 16, 16});
        CHECK(out.at("layer1").shape() == Shape{2, 32, 16, 16});
        CHECK(out.at("layer2").shape() == Shape{2, 64, 8, 8});
        CHECK(out.at("layer3").shape() == Shape{2, 128, 4, 4});
        CHECK(out.at("layer4").shape() == Shape{2, 256, 2, 2});
        CHECK(out.at("pooled").shape() == Shape{2, 256});
        CHECK(out.at("logits").shape() == Shape{2, 6});
        CHECK(same_values(out.at("logits"), model->forward(x)));
        CHECK(same_values(out.at("layer3"), model->stages[2]->forward(out.at("layer2"))));
        // pooled is the spatial mean of layer4.
        auto l4 = out.at("layer4").to_vector();
        CHECK(out.at("pooled").at({1, 5}) ==
              doctest::Approx((l4[(256 + 5) * 4] + l4[(256 + 5) * 4 + 1] + l4[(256 + 5) * 4 + 2] +
                               l4[(256 + 5) * 4 + 3]) / 4.0));

        // Early stop: a layer4 that must not run is not run for taps up to layer3.
        auto probe = resnet50<float>({.num_classes = 6, .width_mult = 0.125}, gen);
        probe->eval();
        probe->stages[3]->replace_module("0", std::make_shared<MustNotRun<float>>());  // layer4.0
        CHECK(probe->forward_features(x, {"layer3", "stem"}).size() == 2);
        CHECK_THROWS_WITH_AS(probe->forward_features(x, {"layer4"}), doctest::Contains("MustNotRun"), Error);
    }
    model->train();
    cross_entropy(model->forward(x), from_vector<int64_t>({1, 4}, {2})).backward();
    check_every_parameter_has_gradient(*model);
    // Training mode updated the running statistics of every BatchNorm.
    CHECK(!all_zero(model->bn1->running_mean));
}

TEST_CASE("Bottleneck: torchvision's formula (stride on the 3x3), and finite-difference gradients") {
    Generator gen(9);
    auto randomize = [&gen](nn::Module<double>& m) {
        for (auto& p : m.parameters()) p.copy_(randn<double>(p.shape(), gen, 0.5, 0.5));
    };
    // A downsampling block: 4 -> width 2 -> 8 channels, stride 2.
    Bottleneck<double> down(4, 2, 2);
    randomize(down);
    auto x = randn<double>({2, 4, 5, 5}, gen);
    {
        // relu(bn3(conv3(relu(bn2(conv2_s2(relu(bn1(conv1(x)))))))) + bn(conv1x1_s2(x))), batch statistics.
        auto bn = [](const Tensor<double>& t, nn::BatchNorm2d<double>& m) {
            return batch_norm(t, Tensor<double>(), Tensor<double>(), m.weight, m.bias, true);
        };
        Conv2dOptions s1{}, s2{.stride = {2, 2}}, s2p1{.stride = {2, 2}, .padding = {1, 1}};
        auto h = relu(bn(conv2d(x, down.conv1->weight, Tensor<double>(), s1), *down.bn1));
        h = relu(bn(conv2d(h, down.conv2->weight, Tensor<double>(), s2p1), *down.bn2));
        h = bn(conv2d(h, down.conv3->weight, Tensor<double>(), s1), *down.bn3);
        auto& ds_bn = dynamic_cast<nn::BatchNorm2d<double>&>(*(*down.downsample)[1]);
        auto& ds_conv = dynamic_cast<nn::Conv2d<double>&>(*(*down.downsample)[0]);
        auto expected = relu(h + bn(conv2d(x, ds_conv.weight, Tensor<double>(), s2), ds_bn));
        auto got = down.forward(x);
        REQUIRE(got.shape() == Shape{2, 8, 3, 3});
        auto e = expected.to_vector(), g = got.to_vector();
        for (size_t i = 0; i < e.size(); ++i) REQUIRE(g[i] == doctest::Approx(e[i]).epsilon(1e-12));
    }
    expect_gradcheck([&down](const auto& in) { return down.forward(in[0]); }, {x.clone().set_requires_grad()});

    // An identity-shortcut block: 8 -> width 2 -> 8, stride 1, no downsample child.
    Bottleneck<double> same(8, 2, 1);
    randomize(same);
    CHECK(!same.downsample);
    CHECK(same.named_children().size() == 7);
    expect_gradcheck([&same](const auto& in) { return same.forward(in[0]); },
                     {randn<double>({2, 8, 3, 3}, gen).set_requires_grad()});
    // In eval mode the running statistics normalise; gradients still check.
    same.eval();
    expect_gradcheck([&same](const auto& in) { return same.forward(in[0]); },
                     {randn<double>({1, 8, 3, 3}, gen).set_requires_grad()});
}

// ----- loading torchvision checkpoints ----------------------------------------------------------

TEST_CASE("load_torchvision_state_dict: drops BatchNorm num_batches_tracked, loads the rest strictly") {
    ResNetOptions small{.num_classes = 3, .width_mult = 0.125, .layers = {1, 1, 1, 1}};
    Generator ga(10), gb(11);
    auto source = resnet50<float>(small, ga);
    auto target = resnet50<float>(small, gb);
    // A torchvision-shaped dict: every BatchNorm's keys followed by its num_batches_tracked counter.
    nn::StateDict<float> torchvision_dict;
    for (const auto& [name, tensor] : source->state_dict()) {
        torchvision_dict.emplace_back(name, tensor.clone());
        if (name.ends_with(".running_var")) {
            const std::string prefix = name.substr(0, name.size() - std::string(".running_var").size());
            torchvision_dict.emplace_back(prefix + ".num_batches_tracked", full<float>({}, 1234.0f));
        }
    }
    CHECK(torchvision_dict.size() == source->state_dict().size() + 4 * 4 + 1);  // 4 blocks x (3 BN + downsample BN), stem
    REQUIRE(!same_values(source->fc->weight, target->fc->weight));

    // A counter at a key that is not a BatchNorm is an unexpected key, and nothing is copied.
    auto bad = torchvision_dict;
    bad.emplace_back("fc.num_batches_tracked", full<float>({}, 1.0f));
    CHECK_THROWS_WITH_AS(load_torchvision_state_dict(*target, bad), doctest::Contains("fc.num_batches_tracked"), Error);
    CHECK(!same_values(source->fc->weight, target->fc->weight));
    // A missing parameter is refused too.
    auto missing = torchvision_dict;
    missing.erase(missing.begin());  // conv1.weight
    CHECK_THROWS_WITH_AS(load_torchvision_state_dict(*target, missing), doctest::Contains("conv1.weight"), Error);

    auto result = load_torchvision_state_dict(*target, torchvision_dict);
    CHECK(result.missing_keys.empty());
    CHECK(result.unexpected_keys.empty());
    auto s = source->state_dict(), t = target->state_dict();
    REQUIRE(s.size() == t.size());
    for (size_t i = 0; i < s.size(); ++i) CHECK_MESSAGE(same_values(s[i].second, t[i].second), s[i].first);

    // The same helper serves vgg16_bn (features.1 is a BatchNorm).
    auto vgg = vgg16_bn<float>({.num_classes = 2, .width_mult = 0.125, .fc_width = 8, .avgpool_size = {1, 1}});
    auto vgg_dict = vgg->state_dict();
    vgg_dict.emplace_back("features.1.num_batches_tracked", full<float>({}, 5.0f));
    CHECK(load_torchvision_state_dict(*vgg, vgg_dict).unexpected_keys.empty());
    // A bare BatchNorm2d's own counter has no prefix.
    nn::BatchNorm2d<float> bn(3);
    nn::StateDict<float> bn_dict{{"weight", full<float>({3}, 2.0f)},
                                 {"bias", full<float>({3}, 0.5f)},
                                 {"running_mean", full<float>({3}, 0.25f)},
                                 {"running_var", full<float>({3}, 4.0f)},
                                 {"num_batches_tracked", full<float>({}, 9.0f)}};
    load_torchvision_state_dict(bn, bn_dict);
    CHECK(bn.weight.to_vector() == std::vector<float>(3, 2.0f));
    CHECK(bn.running_var.to_vector() == std::vector<float>(3, 4.0f));
}
