// nn::Module, Sequential, the layers and the initialisers: names, counts, modes, state_dict,
// repr, initial statistics, forward passes against loops written here, and an end-to-end XOR fit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <seam/nn/init.hpp>
#include <seam/nn/layers.hpp>
#include <seam/nn/module.hpp>
#include <seam/nn/sequential.hpp>
#include <seam/ops/reduce.hpp>
#include <seam/optim/sgd.hpp>
#include <seam/seam.hpp>
#include <string>
#include <vector>

using namespace seam;
using namespace seam::nn;

namespace {
/// A torchvision-shaped model: a `features` Sequential and a `classifier`.
template <class T>
struct TinyNet : Module<T> {
    std::shared_ptr<Sequential<T>> features;
    std::shared_ptr<Linear<T>> classifier;
    TinyNet() : Module<T>("TinyNet") {
        features = this->register_module("features", std::make_shared<Sequential<T>>());
        features->add(std::make_shared<Conv2d<T>>(3, 8, 3, 1, 1));
        features->add(std::make_shared<BatchNorm2d<T>>(8));
        features->add(std::make_shared<ReLU<T>>());
        features->add(std::make_shared<MaxPool2d<T>>(2));
        features->add(std::make_shared<Flatten<T>>());
        classifier = this->register_module("classifier", std::make_shared<Linear<T>>(32, 10));
    }
    Tensor<T> forward(const Tensor<T>& x) override { return classifier->forward(features->forward(x)); }
};

template <class T>
std::vector<std::string> names_of(const NamedTensors<T>& named) {
    std::vector<std::string> out;
    for (const auto& entry : named) out.push_back(entry.first);
    return out;
}

void check_close(const std::vector<double>& a, const std::vector<double>& b, double tol) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) REQUIRE_MESSAGE(std::abs(a[i] - b[i]) <= tol * (1 + std::abs(b[i])), "element ", i);
}

struct Stats {
    double mean, var, max_abs;
};
Stats stats_of(const Tensor<double>& t) {
    auto v = t.to_vector();
    double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double var = 0, max_abs = 0;
    for (double x : v) var += (x - mean) * (x - mean), max_abs = std::max(max_abs, std::abs(x));
    return {mean, var / static_cast<double>(v.size()), max_abs};
}
}  // namespace

TEST_CASE("Module: torchvision-style dotted names, registration order and parameter counts") {
    Conv2d<float> conv(3, 64, 3);
    CHECK(names_of(conv.named_parameters()) == std::vector<std::string>{"weight", "bias"});
    CHECK(conv.weight.shape() == Shape{64, 3, 3, 3});
    CHECK(conv.parameter_count() == 1792);  // 64*3*3*3 + 64
    CHECK(conv.weight.requires_grad());

    TinyNet<float> net;
    CHECK(names_of(net.named_parameters()) ==
          std::vector<std::string>{"features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                                   "classifier.weight", "classifier.bias"});
    CHECK(names_of(net.named_buffers()) == std::vector<std::string>{"features.1.running_mean", "features.1.running_var"});
    // PyTorch's state_dict order: each module's parameters, then its buffers, then its children.
    CHECK(names_of(net.state_dict()) ==
          std::vector<std::string>{"features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                                   "features.1.running_mean", "features.1.running_var", "classifier.weight",
                                   "classifier.bias"});
    CHECK(net.parameter_count() == 224 + 16 + 330);  // conv 3*8*9+8, bn 8+8, linear 32*10+10
    CHECK(net.parameters().size() == 6);
    CHECK(net.parameters(/*recurse=*/false).empty());
    net.classifier->bias.set_requires_grad(false);
    CHECK(net.parameter_count(/*only_trainable=*/true) == 570 - 10);

    std::vector<std::string> module_names;
    for (auto& [name, module] : net.named_modules()) module_names.push_back(name);
    CHECK(module_names == std::vector<std::string>{"", "features", "features.0", "features.1", "features.2", "features.3",
                                                   "features.4", "classifier"});
    CHECK(net.child("classifier").get() == net.classifier.get());
    CHECK_THROWS_WITH_AS(net.child("head"), doctest::Contains("no child module named \"head\""), Error);

    auto x = randn<float>({2, 3, 4, 4});
    CHECK(net(x).shape() == Shape{2, 10});
}

TEST_CASE("Module: shared children are trained once, cycles and bad names are refused") {
    auto shared = std::make_shared<Linear<float>>(2, 2);
    Sequential<float> seq;
    seq.add(shared);
    seq.add(std::make_shared<Tanh<float>>());
    seq.add(shared);
    CHECK(names_of(seq.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias"});
    CHECK(seq.parameter_count() == 6);
    CHECK(seq.state_dict().size() == 4);  // like PyTorch, the state dict lists both names

    auto outer = std::make_shared<Sequential<float>>();
    auto inner = std::make_shared<Sequential<float>>();
    outer->add(inner);
    CHECK_THROWS_WITH_AS(inner->add(outer), doctest::Contains("cycle"), Error);
    CHECK_THROWS_WITH_AS(outer->add(outer), doctest::Contains("cycle"), Error);
    CHECK_THROWS_WITH_AS(outer->add("0", std::make_shared<ReLU<float>>()), doctest::Contains("already used"), Error);
    CHECK_THROWS_WITH_AS(outer->add("a.b", std::make_shared<ReLU<float>>()), doctest::Contains("must not contain '.'"), Error);
    CHECK_THROWS_WITH_AS(outer->add(std::shared_ptr<ReLU<float>>()), doctest::Contains("is null"), Error);

    Module<float> plain;
    CHECK_THROWS_WITH_AS(plain.forward(zeros<float>({1})), doctest::Contains("no single-input forward"), Error);
    plain.register_parameter("w", zeros<float>({2}));
    CHECK_THROWS_WITH_AS(plain.register_buffer("w", zeros<float>({2})), doctest::Contains("already used"), Error);
    CHECK_THROWS_WITH_AS(plain.register_parameter("v", zeros<float>({2}).set_requires_grad() * 2.0f),
                         doctest::Contains("leaf"), Error);
    CHECK(!plain.register_parameter("none", Tensor<float>()).defined());  // bias=None: registers nothing
    CHECK(plain.parameters().size() == 1);

    // replace_module swaps a child in place (a new classifier head).
    TinyNet<float> net;
    net.replace_module("classifier", std::make_shared<Linear<float>>(32, 3));
    CHECK(net.state_dict().back().second.shape() == Shape{3});
}

TEST_CASE("Module: train() and eval() reach every descendant - Dropout and BatchNorm follow the mode") {
    TinyNet<float> net;
    auto dropout = net.features->add(std::make_shared<Dropout<float>>(0.5));
    for (auto& [name, m] : net.named_modules()) CHECK_MESSAGE(m->is_training(), name);
    net.eval();
    for (auto& [name, m] : net.named_modules()) CHECK_MESSAGE(!m->is_training(), name);
    net.features->train();
    CHECK(!net.is_training());
    CHECK(net.features->is_training());
    CHECK((*net.features)[1]->is_training());
    CHECK(!net.classifier->is_training());

    auto x = ones<float>({10000});
    dropout->eval();
    CHECK(dropout->forward(x).to_vector() == x.to_vector());
    dropout->train();
    auto y = dropout->forward(x).to_vector();
    auto zeros_count = std::count(y.begin(), y.end(), 0.0f);
    auto twos_count = std::count(y.begin(), y.end(), 2.0f);
    CHECK(zeros_count + twos_count == 10000);          // survivors are scaled by 1/(1-p)
    CHECK(std::abs(zeros_count - 5000) < 4 * 50);      // binomial(10000, 0.5): sd 50
}

TEST_CASE("BatchNorm2d: batch statistics and running-buffer update in training, running statistics in eval") {
    // x [N=2, C=2, H=1, W=2]; channel 0 holds 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3);
    // channel 1 holds 10 four times (mean 10, var 0).
    auto x = from_vector<double>({1, 2, 10, 10, 3, 4, 10, 10}, {2, 2, 1, 2});
    BatchNorm2d<double> bn(2);
    CHECK(bn.weight.to_vector() == std::vector<double>{1, 1});
    CHECK(bn.bias.to_vector() == std::vector<double>{0, 0});
    CHECK(bn.running_mean.to_vector() == std::vector<double>{0, 0});
    CHECK(bn.running_var.to_vector() == std::vector<double>{1, 1});
    auto y = bn(x).to_vector();
    const double s = std::sqrt(1.25 + 1e-5);
    check_close(y, {(1 - 2.5) / s, (2 - 2.5) / s, 0, 0, (3 - 2.5) / s, (4 - 2.5) / s, 0, 0}, 1e-12);
    // running = 0.9 * running + 0.1 * batch (unbiased variance)
    check_close(bn.running_mean.to_vector(), {0.25, 1.0}, 1e-12);
    check_close(bn.running_var.to_vector(), {0.9 + 0.1 * 5.0 / 3.0, 0.9}, 1e-12);

    bn.eval();
    auto z = bn(x).to_vector();
    const double s0 = std::sqrt(0.9 + 0.1 * 5.0 / 3.0 + 1e-5), s1 = std::sqrt(0.9 + 1e-5);
    check_close(z, {(1 - 0.25) / s0, (2 - 0.25) / s0, 9 / s1, 9 / s1, (3 - 0.25) / s0, (4 - 0.25) / s0, 9 / s1, 9 / s1},
                1e-12);
    check_close(bn.running_mean.to_vector(), {0.25, 1.0}, 1e-12);  // eval leaves the buffers alone
    CHECK_THROWS_WITH_AS(bn(zeros<double>({2, 2})), doctest::Contains("BatchNorm2d: expected a 4-D input"), Error);
    CHECK_THROWS_WITH_AS(bn(zeros<double>({2, 3, 1, 1})), doctest::Contains("expected 2 channels"), Error);

    BatchNorm1d<double> bn1(3, 1e-3, 0.5, /*affine=*/false, /*track_running_stats=*/false);
    CHECK(bn1.state_dict().empty());
    auto v = from_vector<double>({0, 1, 2, 2, 3, 6}, {2, 3});  // columns: {0,2} {1,3} {2,6}
    bn1.eval();  // without running statistics even eval normalises with the batch's own
    auto w = bn1(v).to_vector();
    check_close(w, {-1 / std::sqrt(1 + 1e-3), -1 / std::sqrt(1 + 1e-3), -2 / std::sqrt(4 + 1e-3), 1 / std::sqrt(1 + 1e-3),
                    1 / std::sqrt(1 + 1e-3), 2 / std::sqrt(4 + 1e-3)},
                1e-12);
}

TEST_CASE("state_dict: round trip into another model, in place - strict load lists every problem") {
    TinyNet<float> a, b;
    a.train();
    a(randn<float>({4, 3, 4, 4}));  // moves a's running statistics away from 0 / 1
    Tensor<float> b_weight_handle = b.classifier->weight;
    b.load_state_dict(a.state_dict());
    auto sa = a.state_dict(), sb = b.state_dict();
    REQUIRE(sa.size() == sb.size());
    for (size_t i = 0; i < sa.size(); ++i) {
        CHECK(sa[i].first == sb[i].first);
        CHECK(sa[i].second.to_vector() == sb[i].second.to_vector());
        CHECK(sa[i].second.data() != sb[i].second.data());  // copied, not aliased
    }
    CHECK(b_weight_handle.to_vector() == a.classifier->weight.to_vector());  // the layer's handle saw the copy
    a.eval();
    b.eval();
    auto x = randn<float>({2, 3, 4, 4});
    CHECK(a(x).to_vector() == b(x).to_vector());

    // One missing, one unexpected and one mismatched key: all three named in one message.
    StateDict<float> bad;
    for (const auto& e : a.state_dict())
        if (e.first != "features.1.running_var") bad.push_back(e);
    bad.emplace_back("features.9.weight", zeros<float>({1}));
    for (auto& e : bad)
        if (e.first == "classifier.weight") e.second = zeros<float>({10, 31});
    const auto before = b.classifier->bias.to_vector();
    try {
        b.load_state_dict(bad);
        FAIL("a bad state dict was accepted");
    } catch (const Error& e) {
        std::string what = e.what();
        CHECK(what.find("missing keys (1): \"features.1.running_var\"") != std::string::npos);
        CHECK(what.find("unexpected keys (1): \"features.9.weight\"") != std::string::npos);
        CHECK(what.find("\"classifier.weight\": checkpoint [10, 31] vs model [10, 32]") != std::string::npos);
    }
    CHECK(b.classifier->bias.to_vector() == before);  // a failed load changes nothing

    // Non-strict: missing and unexpected keys are reported back, the rest is loaded...
    for (auto& e : bad)
        if (e.first == "classifier.weight") e.second = zeros<float>({10, 32});
    LoadResult result = b.load_state_dict(bad, /*strict=*/false);
    CHECK(result.missing_keys == std::vector<std::string>{"features.1.running_var"});
    CHECK(result.unexpected_keys == std::vector<std::string>{"features.9.weight"});
    CHECK(b.classifier->weight.to_vector() == std::vector<float>(320, 0.0f));
    // ...but a shape mismatch is an error even then (as in PyTorch).
    for (auto& e : bad)
        if (e.first == "classifier.weight") e.second = zeros<float>({3});
    CHECK_THROWS_WITH_AS(b.load_state_dict(bad, false), doctest::Contains("shape mismatches (1)"), Error);
}

TEST_CASE("to_string prints the tree like PyTorch's repr") {
    TinyNet<float> net;
    CHECK(net.to_string() ==
          "TinyNet(\n"
          "  (features): Sequential(\n"
          "    (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
          "    (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
          "    (2): ReLU()\n"
          "    (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
          "    (4): Flatten(start_dim=1, end_dim=-1)\n"
          "  )\n"
          "  (classifier): Linear(in_features=32, out_features=10, bias=True)\n"
          ")");
    CHECK(Conv2d<float>(16, 32, {3, 1}, 2, 0, 2, 4, false).to_string() ==
          "Conv2d(16, 32, kernel_size=(3, 1), stride=(2, 2), dilation=(2, 2), groups=4, bias=False)");
    CHECK(ConvTranspose2d<float>(8, 4, 4, 2, 1, 1).to_string() ==
          "ConvTranspose2d(8, 4, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))");
    CHECK(LayerNorm<float>({64}).to_string() == "LayerNorm((64,), eps=1e-05, elementwise_affine=True)");
    CHECK(AvgPool2d<float>(3, 2, 1).to_string() == "AvgPool2d(kernel_size=3, stride=2, padding=1)");
    CHECK(AdaptiveAvgPool2d<float>({1, 1}).to_string() == "AdaptiveAvgPool2d(output_size=(1, 1))");
    CHECK(AdaptiveMaxPool2d<float>(7).to_string() == "AdaptiveMaxPool2d(output_size=7)");
    CHECK(Dropout<float>().to_string() == "Dropout(p=0.5, inplace=False)");
    CHECK(LeakyReLU<float>(0.2).to_string() == "LeakyReLU(negative_slope=0.2)");
    CHECK(ELU<float>().to_string() == "ELU(alpha=1.0)");
    CHECK(GELU<float>().to_string() == "GELU(approximate='none')");
    CHECK(Sequential<float>().to_string() == "Sequential()");
    // Python's float repr, which the settings above are printed with.
    using nn::detail::python_float;
    CHECK(python_float(1e-5) == "1e-05");
    CHECK(python_float(0.0001) == "0.0001");
    CHECK(python_float(2.5e-7) == "2.5e-07");
    CHECK(python_float(0.3) == "0.3");
    CHECK(python_float(1.0) == "1.0");
    CHECK(python_float(-123456.789) == "-123456.789");
    CHECK(python_float(1e15) == "1000000000000000.0");
    CHECK(python_float(1e16) == "1e+16");
}

TEST_CASE("init: gain table, fans and the statistics of each initialiser") {
    using namespace nn::init;
    CHECK(calculate_gain(Nonlinearity::linear) == 1.0);
    CHECK(calculate_gain(Nonlinearity::sigmoid) == 1.0);
    CHECK(calculate_gain(Nonlinearity::tanh) == doctest::Approx(5.0 / 3.0));
    CHECK(calculate_gain(Nonlinearity::relu) == doctest::Approx(std::sqrt(2.0)));
    CHECK(calculate_gain(Nonlinearity::leaky_relu) == doctest::Approx(std::sqrt(2.0 / (1 + 0.01 * 0.01))));
    CHECK(calculate_gain(Nonlinearity::leaky_relu, 0.2) == doctest::Approx(std::sqrt(2.0 / 1.04)));
    CHECK(calculate_gain(Nonlinearity::selu) == 0.75);
    CHECK(calculate_fan_in_and_fan_out({16, 8, 3, 3}) == std::pair<int64_t, int64_t>{72, 144});
    CHECK(calculate_fan_in_and_fan_out({10, 20}) == std::pair<int64_t, int64_t>{20, 10});
    CHECK_THROWS_WITH_AS(calculate_fan_in_and_fan_out({5}), doctest::Contains("fewer than 2 dimensions"), Error);

    Generator gen(11);
    // kaiming_uniform_: bound = sqrt(6 / ((1 + a^2) * fan_in)); uniform variance bound^2 / 3.
    for (double a : {0.0, std::sqrt(5.0), 1.0}) {
        auto w = empty<double>({512, 256});
        kaiming_uniform_(w, a, FanMode::fan_in, Nonlinearity::leaky_relu, gen);
        const double bound = std::sqrt(6.0 / ((1 + a * a) * 256));
        Stats s = stats_of(w);
        CHECK(s.max_abs <= bound);
        CHECK(s.max_abs >= 0.999 * bound);
        CHECK(std::abs(s.mean) < 4 * bound / std::sqrt(3.0 * 131072));
        CHECK(s.var == doctest::Approx(bound * bound / 3).epsilon(0.02));
    }
    auto conv_w = empty<double>({16, 8, 3, 3});
    kaiming_uniform_(conv_w, 0.0, FanMode::fan_out, Nonlinearity::relu, gen);
    CHECK(stats_of(conv_w).max_abs <= std::sqrt(6.0 / 144));
    CHECK(stats_of(conv_w).max_abs >= 0.98 * std::sqrt(6.0 / 144));

    // kaiming_normal_ (torchvision's ResNet init): std = sqrt(2 / fan_out), fan_out = 64 * 3 * 3.
    auto kn = empty<double>({64, 128, 3, 3});
    kaiming_normal_(kn, 0.0, FanMode::fan_out, Nonlinearity::relu, gen);
    Stats k = stats_of(kn);
    CHECK(std::sqrt(k.var) == doctest::Approx(std::sqrt(2.0 / 576)).epsilon(0.015));
    CHECK(std::abs(k.mean) < 4 * std::sqrt(2.0 / 576) / std::sqrt(73728.0));

    auto big = empty<double>({1000, 1000});
    normal_(big, 2.0, 3.0, gen);
    Stats n = stats_of(big);
    CHECK(std::abs(n.mean - 2.0) < 4 * 3.0 / 1000);
    CHECK(std::sqrt(n.var) == doctest::Approx(3.0).epsilon(0.005));

    auto xu = empty<double>({300, 200});
    xavier_uniform_(xu, 5.0 / 3.0, gen);
    const double xb = 5.0 / 3.0 * std::sqrt(6.0 / 500);
    CHECK(stats_of(xu).max_abs <= xb);
    CHECK(stats_of(xu).max_abs >= 0.999 * xb);
    auto xn = empty<double>({300, 200});
    xavier_normal_(xn, 1.0, gen);
    CHECK(std::sqrt(stats_of(xn).var) == doctest::Approx(std::sqrt(2.0 / 500)).epsilon(0.02));

    auto u = empty<double>({20000});
    uniform_(u, -3.0, -1.0, gen);
    auto uv = u.to_vector();
    CHECK(*std::min_element(uv.begin(), uv.end()) >= -3.0);
    CHECK(*std::max_element(uv.begin(), uv.end()) < -1.0);
    CHECK(constant_(empty<double>({3}), 0.5).to_vector() == std::vector<double>{0.5, 0.5, 0.5});
    CHECK(ones_(empty<float>({2})).to_vector() == std::vector<float>{1, 1});
    CHECK(zeros_(ones<float>({2})).to_vector() == std::vector<float>{0, 0});

    // The same generator state gives the same weights.
    Generator g1(3), g2(3);
    CHECK(kaiming_uniform_(empty<float>({4, 5}), 0.0, FanMode::fan_in, Nonlinearity::relu, g1).to_vector() ==
          kaiming_uniform_(empty<float>({4, 5}), 0.0, FanMode::fan_in, Nonlinearity::relu, g2).to_vector());
}

TEST_CASE("layers: PyTorch's default initialisation ranges") {
    Linear<double> lin(400, 300);
    const double bound = 1.0 / 20;  // kaiming_uniform(a=sqrt(5)) = uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))
    CHECK(stats_of(lin.weight).max_abs <= bound);
    CHECK(stats_of(lin.weight).max_abs >= 0.999 * bound);
    CHECK(stats_of(lin.bias).max_abs <= bound);
    CHECK(stats_of(lin.bias).max_abs >= 0.9 * bound);
    Conv2d<double> conv(3, 64, 3);  // fan_in = 27
    CHECK(stats_of(conv.weight).max_abs <= 1 / std::sqrt(27.0));
    CHECK(stats_of(conv.weight).max_abs >= 0.99 / std::sqrt(27.0));
    CHECK(stats_of(conv.bias).max_abs <= 1 / std::sqrt(27.0));
    ConvTranspose2d<double> deconv(64, 6, 3);  // weight [64, 6, 3, 3]: PyTorch's fan_in = 6 * 9
    CHECK(stats_of(deconv.weight).max_abs <= 1 / std::sqrt(54.0));
    CHECK(stats_of(deconv.weight).max_abs >= 0.99 / std::sqrt(54.0));
    LayerNorm<double> ln({2, 3});
    CHECK(ln.weight.to_vector() == std::vector<double>(6, 1.0));
    CHECK(ln.bias.to_vector() == std::vector<double>(6, 0.0));
    CHECK(LayerNorm<double>({4}, 1e-5, true, false).parameter_count() == 4);

    Generator g1(9), g2(9);
    Linear<float> p(5, 4), q(5, 4);
    p.reset_parameters(g1);
    q.reset_parameters(g2);
    CHECK(p.weight.to_vector() == q.weight.to_vector());
    CHECK(p.bias.to_vector() == q.bias.to_vector());
}

TEST_CASE("Linear and Conv2d: forward equals the op on the same weights and a direct loop") {
    Generator gen(21);
    Linear<double> lin(4, 3);
    auto x = randn<double>({5, 4}, gen);
    auto y = lin(x);
    CHECK(y.to_vector() == linear(x, lin.weight, lin.bias).to_vector());
    auto xv = x.to_vector(), wv = lin.weight.to_vector(), bv = lin.bias.to_vector();
    std::vector<double> expected(15);
    for (int i = 0; i < 5; ++i)
        for (int o = 0; o < 3; ++o) {
            double acc = bv[o];
            for (int k = 0; k < 4; ++k) acc += xv[i * 4 + k] * wv[o * 4 + k];
            expected[i * 3 + o] = acc;
        }
    check_close(y.to_vector(), expected, 1e-12);
    Linear<double> no_bias(4, 3, false);
    CHECK(no_bias.named_parameters().size() == 1);
    CHECK(no_bias(x).to_vector() == linear(x, no_bias.weight, Tensor<double>()).to_vector());

    // Conv2d(2 -> 3, kernel 3, stride 2, padding 1) on [1, 2, 5, 5]: output [1, 3, 3, 3].
    Conv2d<double> conv(2, 3, 3, 2, 1);
    auto img = randn<double>({1, 2, 5, 5}, gen);
    auto out = conv(img);
    REQUIRE(out.shape() == Shape{1, 3, 3, 3});
    CHECK(out.to_vector() == conv2d(img, conv.weight, conv.bias, conv.options()).to_vector());
    auto iv = img.to_vector(), cw = conv.weight.to_vector(), cb = conv.bias.to_vector();
    std::vector<double> direct(27);
    for (int oc = 0; oc < 3; ++oc)
        for (int oh = 0; oh < 3; ++oh)
            for (int ow = 0; ow < 3; ++ow) {
                double acc = cb[oc];
                for (int ic = 0; ic < 2; ++ic)
                    for (int kh = 0; kh < 3; ++kh)
                        for (int kw = 0; kw < 3; ++kw) {
                            int ih = oh * 2 - 1 + kh, iw = ow * 2 - 1 + kw;
                            if (ih < 0 || ih >= 5 || iw < 0 || iw >= 5) continue;
                            acc += iv[(ic * 5 + ih) * 5 + iw] * cw[((oc * 2 + ic) * 3 + kh) * 3 + kw];
                        }
                direct[(oc * 3 + oh) * 3 + ow] = acc;
            }
    check_close(out.to_vector(), direct, 1e-12);

    // ConvTranspose2d(2 -> 3, kernel 3, stride 2, padding 1, output_padding 1): [1,2,3,3] -> [1,3,6,6].
    ConvTranspose2d<double> deconv(2, 3, 3, 2, 1, 1);
    auto small = randn<double>({1, 2, 3, 3}, gen);
    auto up = deconv(small);
    REQUIRE(up.shape() == Shape{1, 3, 6, 6});
    CHECK(up.to_vector() == conv_transpose2d(small, deconv.weight, deconv.bias, deconv.options()).to_vector());
    auto sv = small.to_vector(), dw = deconv.weight.to_vector(), db = deconv.bias.to_vector();
    std::vector<double> scattered(108);
    for (int oc = 0; oc < 3; ++oc)
        for (int i = 0; i < 36; ++i) scattered[oc * 36 + i] = db[oc];
    for (int ic = 0; ic < 2; ++ic)
        for (int ih = 0; ih < 3; ++ih)
            for (int iw = 0; iw < 3; ++iw)
                for (int oc = 0; oc < 3; ++oc)
                    for (int kh = 0; kh < 3; ++kh)
                        for (int kw = 0; kw < 3; ++kw) {
                            int oh = ih * 2 - 1 + kh, ow = iw * 2 - 1 + kw;
                            if (oh < 0 || oh >= 6 || ow < 0 || ow >= 6) continue;
                            scattered[(oc * 6 + oh) * 6 + ow] += sv[(ic * 3 + ih) * 3 + iw] * dw[((ic * 3 + oc) * 3 + kh) * 3 + kw];
                        }
    check_close(up.to_vector(), scattered, 1e-12);

    // Gradients reach the layer's own parameters.
    auto loss = sum(conv(img));
    loss.backward();
    REQUIRE(conv.weight.grad().defined());
    REQUIRE(conv.bias.grad().defined());
    check_close(conv.bias.grad().to_vector(), {9, 9, 9}, 1e-12);  // d sum / d bias = number of output pixels
    conv.zero_grad();
    CHECK(!conv.weight.grad().defined());
}

TEST_CASE("pooling, activation, Flatten and Identity layers apply their ops") {
    auto x = arange<float>(16.0f).reshape({1, 1, 4, 4});  // rows 0-3, 4-7, 8-11, 12-15
    CHECK(MaxPool2d<float>(2)(x).to_vector() == std::vector<float>{5, 7, 13, 15});
    CHECK(AvgPool2d<float>(2)(x).to_vector() == std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f});
    CHECK(AdaptiveAvgPool2d<float>(1)(x).to_vector() == std::vector<float>{7.5f});
    CHECK(AdaptiveMaxPool2d<float>({1, 2})(x).to_vector() == std::vector<float>{13, 15});
    CHECK(MaxPool2d<float>(3, 1, 1)(x).shape() == Shape{1, 1, 4, 4});

    auto v = from_vector<float>({-2.0f, -0.5f, 0.0f, 1.5f});
    CHECK(ReLU<float>()(v).to_vector() == relu(v).to_vector());
    CHECK(LeakyReLU<float>(0.2)(v).to_vector() == leaky_relu(v, 0.2f).to_vector());
    CHECK(ELU<float>(0.5)(v).to_vector() == elu(v, 0.5f).to_vector());
    CHECK(GELU<float>()(v).to_vector() == gelu(v).to_vector());
    CHECK(Sigmoid<float>()(v).to_vector() == sigmoid(v).to_vector());
    CHECK(Tanh<float>()(v).to_vector() == tanh(v).to_vector());
    CHECK(Identity<float>()(v).to_vector() == v.to_vector());
    CHECK(Flatten<float>()(zeros<float>({2, 3, 4, 5})).shape() == Shape{2, 60});
    CHECK(Flatten<float>(0, 1)(zeros<float>({2, 3, 4})).shape() == Shape{6, 4});

    LayerNorm<double> ln({3});
    auto rows = from_vector<double>({1, 2, 3, -1, 0, 4}, {2, 3});
    CHECK(ln(rows).to_vector() == layer_norm(rows, {3}, ln.weight, ln.bias, 1e-5).to_vector());
    // row 0: mean 2, biased var 2/3
    CHECK(ln(rows).at({0, 0}) == doctest::Approx(-1 / std::sqrt(2.0 / 3 + 1e-5)));
}

TEST_CASE("end to end: a small MLP learns XOR with SGD") {
    Sequential<float> mlp{std::make_shared<Linear<float>>(2, 8), std::make_shared<Tanh<float>>(),
                          std::make_shared<Linear<float>>(8, 1), std::make_shared<Sigmoid<float>>()};
    Generator gen(2024);
    mlp.apply([&gen](Module<float>& m) {
        if (auto* l = dynamic_cast<Linear<float>*>(&m)) l->reset_parameters(gen);
    });
    auto x = from_vector<float>({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
    auto target = from_vector<float>({0, 1, 1, 0}, {4, 1});
    optim::SGD<float> opt(mlp.parameters(), {.lr = 0.5, .momentum = 0.9});
    float first_loss = 0, last_loss = 0;
    for (int step = 0; step < 500; ++step) {
        opt.zero_grad();
        auto loss = mean(square(mlp(x) - target));
        loss.backward();
        opt.step();
        if (step == 0) first_loss = loss.item();
        last_loss = loss.item();
    }
    MESSAGE("XOR: mean squared error ", first_loss, " -> ", last_loss, " after 500 SGD steps");
    CHECK(first_loss > 0.1f);
    CHECK(last_loss < 0.01f);
    auto prediction = mlp(x).to_vector();
    CHECK(prediction[0] < 0.5f);
    CHECK(prediction[1] > 0.5f);
    CHECK(prediction[2] > 0.5f);
    CHECK(prediction[3] < 0.5f);
}

TEST_CASE("Module::to(cpu) on a CPU model changes nothing - a CUDA device without the backend is refused") {
    TinyNet<float> net;
    const auto before = net.state_dict();
    std::vector<const float*> storages;
    for (const auto& [name, t] : before) storages.push_back(t.data());
    Tensor<float> x = randn<float>({2, 3, 4, 4});
    mean(net.forward(x)).backward();
    const Tensor<float> grad = net.classifier->weight.grad();

    CHECK(&net.to(Device::cpu()) == &net);  // in place, returns the module (PyTorch's semantics)
    CHECK(net.device().is_cpu());
    const auto after = net.state_dict();
    REQUIRE(after.size() == before.size());
    for (size_t i = 0; i < after.size(); ++i) {
        CHECK_MESSAGE(after[i].second.data() == storages[i], after[i].first, " was copied by a no-op move");
        CHECK(after[i].second.device().is_cpu());
    }
    for (const auto& p : net.parameters()) {
        CHECK(p.is_leaf());
        CHECK(p.requires_grad());
    }
    CHECK(net.classifier->weight.grad().data() == grad.data());  // the gradient stays too
#if !SEAM_WITH_CUDA
    // Without the backend: seam's own error, and the module is left as it was.
    CHECK_THROWS_WITH_AS(net.to(Device{DeviceType::cuda, 0}), doctest::Contains("seam was built without CUDA"), Error);
    for (size_t i = 0; i < after.size(); ++i) CHECK(net.state_dict()[i].second.data() == storages[i]);
#endif
}
