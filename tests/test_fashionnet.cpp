// FashionNet: the model's shapes in both profiles, its losses against hand computations, the
// alternating schedule, the VGG-16 weight map, training on a tiny SynthFashion set, and that
// evaluation never feeds ground-truth landmarks to the model.
#include <doctest/doctest.h>

#include <seam/seam.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace seam;
namespace fs = std::filesystem;

namespace {

models::FashionNetOptions tiny_options() {
    models::FashionNetOptions o = models::FashionNetOptions::cpu();
    o.input_size = 32;
    o.width_mult = 1.0 / 16;  // 4 ... 32 channels
    o.num_categories = 5;
    o.num_attributes = 7;
    o.dropout = 0.0;
    return o;
}

/// A tiny SynthFashion root (written once per test run) and its prepared splits.
struct TinyData {
    fs::path root;
    data::CategoryAttributeDataset dataset;
    data::CategoryAttributeSplit train, test;
};

const TinyData& tiny_data() {
    static const TinyData d = [] {
        TinyData t;
        const fs::path dir = fs::temp_directory_path() / ("seam_test_fashionnet_" + std::to_string(::getpid()));
        fs::remove_all(dir);
        data::SynthFashionOptions o;
        o.images = 96;
        o.c2s_items = 4;
        o.size = 64;
        o.threads = 1;
        data::write_synthfashion(dir, o);
        t.root = dir / "category-attribute";
        t.dataset = data::load_category_attribute(t.root);
        data::PrepareOptions p;
        p.size = 32;
        t.train = data::prepare_split(t.root, t.dataset, data::Split::train, p);
        t.test = data::prepare_split(t.root, t.dataset, data::Split::test, p);
        return t;
    }();
    return d;
}

}  // namespace

TEST_CASE("FashionNet: cpu profile shapes, landmark window and parameter count by hand") {
    models::FashionNetOptions o = models::FashionNetOptions::cpu();  // 64 px, widths / 8, BN
    Generator gen(3);
    models::FashionNet<float> net(o, gen);
    CHECK(net.conv4_side() == 8);
    CHECK(net.conv4_channels() == 64);
    CHECK(net.options().landmark_window == std::array<int64_t, 2>{2, 2});  // a quarter of 8 cells
    CHECK(net.options().pose_fc == 128);
    CHECK(net.options().global_fc == 512);
    CHECK(net.options().fusion_fc == 512);

    // Parameters by hand: convs (no bias, BN weight+bias), then the fcs.
    auto conv = [](int64_t in, int64_t out) { return in * out * 9 + 2 * out; };
    int64_t expected = conv(3, 8) + conv(8, 8) + conv(8, 16) + conv(16, 16) + conv(16, 32) + 2 * conv(32, 32) +
                       conv(32, 64) + 2 * conv(64, 64);
    expected += 2 * 3 * conv(64, 64);                 // conv5_pose, conv5_global
    auto fc = [](int64_t in, int64_t out) { return in * out + out; };
    const int64_t pool5 = 64 * 2 * 2;                 // 64 px / 32 = 2
    expected += fc(pool5, 128) + fc(128, 128) + fc(128, 16) + fc(128, 16);  // pose branch and heads
    expected += fc(pool5, 512);                       // fc6_global
    expected += fc(8 * 64 * 2 * 2, 128);              // fc6_local on 8 landmarks x 64 channels x 2x2 bins
    expected += fc(512 + 128, 512) + fc(512, 50) + fc(512, 1000);
    CHECK(net.parameter_count() == expected);

    net.eval();
    NoGradGuard no_grad;
    const Tensor<float> x = randn<float>({3, 3, 64, 64}, gen);
    const models::FashionNetOutput<float> out = net.forward_all(x);
    CHECK(out.landmarks.shape() == Shape{3, 8, 2});
    CHECK(out.visibility_logits.shape() == Shape{3, 8, 2});
    CHECK(out.visibility.shape() == Shape{3, 8});
    CHECK(out.category_logits.shape() == Shape{3, 50});
    CHECK(out.attribute_logits.shape() == Shape{3, 1000});
    CHECK(out.embedding.shape() == Shape{3, 512});
    // The embedding is L2-normalised; visibility is a probability.
    for (int64_t i = 0; i < 3; ++i) {
        double norm = 0;
        for (int64_t j = 0; j < 512; ++j) norm += std::pow(out.embedding.at({i, j}), 2);
        CHECK(std::sqrt(norm) == doctest::Approx(1.0).epsilon(1e-4));
    }
    for (float p : out.visibility.contiguous().to_vector()) CHECK((p >= 0.0f && p <= 1.0f));
    // The location head starts at the image centre.
    const models::FashionNet<float> fresh(o, gen);
    for (float b : fresh.location->bias.to_vector()) CHECK(b == 0.5f);

    CHECK_THROWS_WITH_AS(net.forward_all(randn<float>({1, 3, 96, 96}, gen)),
                         doctest::Contains("expected images [N, 3, 64, 64]"), Error);
}

TEST_CASE("FashionNet: paper profile sizes (224 input, full VGG-16 widths)") {
    models::FashionNetOptions o = models::FashionNetOptions::paper();
    o.dropout = 0.0;
    Generator gen(5);
    models::FashionNet<float> net(o, gen);
    CHECK(net.conv4_side() == 28);
    CHECK(net.conv4_channels() == 512);
    CHECK(net.options().landmark_window == std::array<int64_t, 2>{7, 7});  // model-specs §1.3
    CHECK(net.options().pose_fc == 1024);
    CHECK(net.options().global_fc == 4096);
    CHECK(net.options().local_fc == 1024);
    CHECK(net.options().fusion_fc == 4096);
    CHECK(net.fc6_global->weight.shape() == Shape{4096, 25088});  // VGG's fc6 shape: ImageNet fc6 loads into it
    CHECK(net.fc6_local->weight.shape() == Shape{1024, 8 * 512 * 2 * 2});
    CHECK(net.category->weight.shape() == Shape{50, 4096});
    CHECK(net.attributes->weight.shape() == Shape{1000, 4096});
    // The trunk keeps torchvision's names: conv4_3 is features.21, and conv5 lives in the branches.
    std::set<std::string> names;
    for (const auto& [name, t] : net.named_parameters()) names.insert(name);
    CHECK(names.count("features.21.weight") == 1);
    CHECK(names.count("features.24.weight") == 0);
    CHECK(names.count("conv5_pose.4.weight") == 1);
    CHECK(names.count("conv5_global.4.bias") == 1);

    net.eval();
    NoGradGuard no_grad;
    const models::FashionNetOutput<float> out = net.forward_all(randn<float>({1, 3, 224, 224}, gen));
    CHECK(out.landmarks.shape() == Shape{1, 8, 2});
    CHECK(out.category_logits.shape() == Shape{1, 50});
    CHECK(out.attribute_logits.shape() == Shape{1, 1000});
    CHECK(out.embedding.shape() == Shape{1, 4096});
}

TEST_CASE("FashionNet: load_vgg16_weights copies the trunk by name and conv5 into both branches") {
    models::FashionNetOptions o = tiny_options();
    o.batch_norm = false;
    o.input_size = 224;  // so fc6_global has VGG fc6's input size (512 * w * 7 * 7)
    Generator gen(7);
    models::FashionNet<float> net(o, gen);
    models::VggOptions v;
    v.width_mult = o.width_mult;
    v.fc_width = net.options().global_fc;
    auto vgg = models::vgg16<float>(v, gen);
    const auto copied = net.load_vgg16_weights(vgg->state_dict());
    CHECK(copied.size() == 10 * 2 + 12 + 2);  // 10 trunk convs, 2 x 3 conv5 convs, fc6
    auto param = [](auto& module, const std::string& name) {
        for (const auto& [n, t] : module.named_parameters())
            if (n == name) return t;
        FAIL("no parameter ", name);
        return Tensor<float>();
    };
    CHECK(param(net, "features.21.weight").to_vector() == param(*vgg, "features.21.weight").to_vector());
    CHECK(param(net, "conv5_pose.2.weight").to_vector() == param(*vgg, "features.26.weight").to_vector());
    CHECK(param(net, "conv5_global.4.bias").to_vector() == param(*vgg, "features.28.bias").to_vector());
    CHECK(param(net, "fc6_global.weight").to_vector() == param(*vgg, "classifier.0.weight").to_vector());

    nn::StateDict<float> broken = vgg->state_dict();
    broken.erase(broken.begin());  // features.0.weight
    CHECK_THROWS_WITH_AS(net.load_vgg16_weights(broken), doctest::Contains("missing \"features.0.weight\""), Error);
    models::FashionNet<float> with_bn(tiny_options(), gen);
    CHECK_THROWS_WITH_AS(with_bn.load_vgg16_weights(vgg->state_dict()), doctest::Contains("BatchNorm"), Error);
}

TEST_CASE("fashionnet_loss: every term against a hand computation") {
    // Two images, L = 2 landmarks, 3 categories, 2 attributes; outputs set by hand.
    models::FashionNetOutput<double> out;
    out.landmarks = from_vector<double>({0.5, 0.5, 0.2, 0.1, 0.9, 0.3, 0.0, 0.0}, {2, 2, 2});
    out.visibility_logits = from_vector<double>({0.0, 1.0, 2.0, 0.0, 0.5, 0.5, -1.0, 1.0}, {2, 2, 2});
    out.category_logits = from_vector<double>({1.0, 2.0, 3.0, 0.0, 0.0, 0.0}, {2, 3});
    out.attribute_logits = from_vector<double>({0.3, -0.2, 1.5, 0.0}, {2, 2});
    out.embedding = from_vector<double>({1.0, 0.0, 0.6, 0.8}, {2, 2});
    models::FashionNetTargets<double> t;
    t.landmarks = from_vector<double>({0.4, 0.7, 0.0, 0.0, 1.0, 0.0, 0.1, 0.2}, {2, 2, 2});
    t.visible = from_vector<double>({1, 0, 1, 1}, {2, 2});
    t.categories = from_vector<int64_t>({2, 1}, {2});
    t.attributes = from_vector<double>({1, 0, 0, 1}, {2, 2});
    // Attribute weights from counts: attribute 0 has 1 positive in 4 images, attribute 1 has 2.
    const auto aw = models::attribute_loss_weights<double>({1, 2}, 4, models::AttributeBalance::per_attribute);
    CHECK(aw.weight.at({0}) == doctest::Approx(2.0 * 1 / 4));     // w_neg = 2 N_pos / N
    CHECK(aw.pos_weight.at({0}) == doctest::Approx(1.5 / 0.5));   // w_pos / w_neg = (2 * 3/4) / (2 * 1/4)
    CHECK(aw.weight.at({1}) == doctest::Approx(1.0));
    CHECK(aw.pos_weight.at({1}) == doctest::Approx(1.0));
    models::FashionNetLossWeights w;
    w.alpha = 2;
    w.beta = 3;
    const auto loss = models::fashionnet_loss(out, t, aw, w);

    // Landmarks: visible points only, squared distances summed, divided by the batch size 2.
    const double lm = ((0.1 * 0.1 + 0.2 * 0.2) + (0.1 * 0.1 + 0.3 * 0.3) + (0.1 * 0.1 + 0.2 * 0.2)) / 2;
    CHECK(loss.landmark.item() == doctest::Approx(lm));
    // Visibility: 2-way CE with class 1 = visible; targets 1, 0, 1, 1.
    auto ce2 = [](double l0, double l1, int target) {
        const double m = std::max(l0, l1), lse = m + std::log(std::exp(l0 - m) + std::exp(l1 - m));
        return lse - (target ? l1 : l0);
    };
    const double vis = (ce2(0, 1, 1) + ce2(2, 0, 0) + ce2(0.5, 0.5, 1) + ce2(-1, 1, 1)) / 4;
    CHECK(loss.visibility.item() == doctest::Approx(vis));
    const double cat = ((std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0) + std::log(3.0)) / 2;
    CHECK(loss.category.item() == doctest::Approx(cat));
    // Attributes: weight * (pos_weight * y * -log s(x) + (1 - y) * -log(1 - s(x))), mean over 4.
    auto bce = [](double x, double y, double pw, double wt) {
        const double s = 1 / (1 + std::exp(-x));
        return wt * (pw * y * -std::log(s) + (1 - y) * -std::log(1 - s));
    };
    const double attr = (bce(0.3, 1, 3.0, 0.5) + bce(-0.2, 0, 1.0, 1.0) + bce(1.5, 0, 3.0, 0.5) + bce(0.0, 1, 1.0, 1.0)) / 4;
    CHECK(loss.attribute.item() == doctest::Approx(attr));
    CHECK_FALSE(loss.triplet.defined());
    CHECK(loss.total.item() == doctest::Approx(2 * (lm + vis) + 3 * (cat + attr)));

    // Triplet: squared L2 of unit vectors with margin 0.2: anchor 0, positive 1, negative 0 (itself).
    t.triplets = {{0, 1, 0}, {1, 0, 1}};
    const auto with_triplets = models::fashionnet_loss(out, t, aw, w);
    const double d01 = std::pow(1.0 - 0.6, 2) + std::pow(0.0 - 0.8, 2);  // 0.8
    const double tri = (std::max(0.0, 0.2 + d01 - 0.0) + std::max(0.0, 0.2 + d01 - 0.0)) / 2;
    CHECK(with_triplets.triplet.item() == doctest::Approx(tri).epsilon(1e-6));
    CHECK(with_triplets.total.item() == doctest::Approx(2 * (lm + vis) + 3 * (cat + attr + tri)).epsilon(1e-6));
    t.triplets = {{0, 1, 2}};
    CHECK_THROWS_WITH_AS(models::fashionnet_loss(out, t, aw, w), doctest::Contains("triplet row 2"), Error);
}

TEST_CASE("fashionnet_loss: gradients by central differences (double)") {
    Generator gen(11);
    auto leaf = [](Tensor<double> t) { return t.set_requires_grad(); };
    const Tensor<double> landmarks = leaf(rand<double>({2, 3, 2}, gen)), vis = leaf(randn<double>({2, 3, 2}, gen));
    const Tensor<double> cat = leaf(randn<double>({2, 4}, gen)), attr = leaf(randn<double>({2, 5}, gen));
    const Tensor<double> emb = leaf(randn<double>({2, 6}, gen));
    models::FashionNetTargets<double> t;
    t.landmarks = rand<double>({2, 3, 2}, gen);
    t.visible = from_vector<double>({1, 0, 1, 1, 1, 0}, {2, 3});
    t.categories = from_vector<int64_t>({3, 0}, {2});
    t.attributes = from_vector<double>({1, 0, 0, 1, 1, 0, 1, 0, 0, 0}, {2, 5});
    t.triplets = {{0, 1, 1}};
    const auto aw = models::attribute_loss_weights<double>({1, 2, 0, 3, 1}, 4, models::AttributeBalance::per_attribute);
    auto result = gradcheck(
        [&](const std::vector<Tensor<double>>& in) {
            models::FashionNetOutput<double> out{in[0], in[1], Tensor<double>(), in[2], in[3], normalize(in[4], 2.0, 1)};
            return models::fashionnet_loss(out, t, aw, models::FashionNetLossWeights{}).total;
        },
        {landmarks, vis, cat, attr, emb});
    CHECK_MESSAGE(result.ok, result.message);
}

TEST_CASE("attribute_loss_weights: global ratio, per attribute, none") {
    // 3 attributes over 10 images with 1, 4 and 0 positives: 5 positive labels of 30.
    const auto global = models::attribute_loss_weights<double>({1, 4, 0}, 10);
    CHECK(global.pos_weight.to_vector() == std::vector<double>{5.0, 5.0, 5.0});  // 25 negatives / 5 positives
    CHECK_FALSE(global.weight.defined());
    const auto per = models::attribute_loss_weights<double>({1, 4, 0}, 10, models::AttributeBalance::per_attribute);
    CHECK(per.pos_weight.at({0}) == doctest::Approx(9.0));  // (2 * 9/10) / (2 * 1/10)
    CHECK(per.weight.at({0}) == doctest::Approx(0.2));
    CHECK(per.pos_weight.at({1}) == doctest::Approx(1.5));  // (2 * 6/10) / (2 * 4/10)
    CHECK(per.weight.at({1}) == doctest::Approx(0.8));
    CHECK(per.pos_weight.at({2}) == 1.0);                    // no positives: nothing to balance
    CHECK(per.weight.at({2}) == 1.0);
    const auto none = models::attribute_loss_weights<double>({1, 4, 0}, 10, models::AttributeBalance::none);
    CHECK_FALSE(none.pos_weight.defined());
    CHECK_FALSE(none.weight.defined());
    CHECK_THROWS_WITH_AS(models::attribute_loss_weights<double>({11}, 10), doctest::Contains("11 positives in 10"), Error);
}

TEST_CASE("FashionNetSchedule: alternates landmark and task phases and their weights") {
    models::FashionNetSchedule s;
    CHECK(s.phase(0) == models::FashionNetPhase::landmark);
    CHECK(s.phase(1) == models::FashionNetPhase::task);
    CHECK(s.phase(2) == models::FashionNetPhase::landmark);
    CHECK(s.weights(0).alpha == 5);
    CHECK(s.weights(0).beta == 1);
    CHECK(s.weights(1).alpha == 1);
    CHECK(s.weights(1).beta == 5);
    CHECK(s.pools_at_ground_truth(0));
    CHECK_FALSE(s.pools_at_ground_truth(1));
    s.block_epochs = 2;
    CHECK(s.phase(1) == models::FashionNetPhase::landmark);
    CHECK(s.phase(2) == models::FashionNetPhase::task);
    s.alternate = false;
    CHECK(s.phase(0) == models::FashionNetPhase::task);
    CHECK_FALSE(s.pools_at_ground_truth(0));
}

TEST_CASE("category_triplets: positives share the anchor's category, negatives do not - seeded") {
    const std::vector<int64_t> labels{0, 1, 0, 2, 1, 0, 3};
    const auto t = models::category_triplets(labels, 1, 5);
    CHECK(t.size() == 5);  // image 3 (category 2) and 6 (category 3) have no positive
    for (const auto& [a, p, n] : t) {
        CHECK(a != p);
        CHECK(labels[static_cast<size_t>(a)] == labels[static_cast<size_t>(p)]);
        CHECK(labels[static_cast<size_t>(a)] != labels[static_cast<size_t>(n)]);
    }
    CHECK(models::category_triplets(labels, 1, 5) == t);
    CHECK(models::category_triplets({4, 4, 4}, 1, 0).empty());  // no negative anywhere
}

TEST_CASE("FashionNet: a few training steps on a tiny SynthFashion set lower the loss") {
    const TinyData& d = tiny_data();
    REQUIRE(d.train.count() > 16);
    models::FashionNetOptions o = tiny_options();
    o.num_categories = static_cast<int64_t>(d.dataset.category_names.size());
    o.num_attributes = static_cast<int64_t>(d.dataset.attribute_names.size());
    Generator gen(13);
    models::FashionNet<float> net(o, gen);
    const auto aw = models::attribute_loss_weights<float>(d.train.attribute_positives(), static_cast<int64_t>(d.train.count()));
    std::vector<size_t> rows;
    for (size_t i = 0; i < 16; ++i) rows.push_back(i);
    const auto b = d.train.batch<float>(rows);
    models::FashionNetTargets<float> target{b.landmarks, b.visible, b.categories, b.attributes,
                                            models::category_triplets(b.categories.to_vector(), 1, 0)};
    optim::AdamW<float> opt(net.parameters(), {3e-3, 0.9, 0.999, 1e-8, 0.0});
    const models::FashionNetSchedule schedule;
    std::vector<double> losses;
    for (int step = 0; step < 12; ++step) {
        const int64_t epoch = step / 6;  // six landmark-phase steps, then six task-phase steps
        auto out = schedule.pools_at_ground_truth(epoch) ? net.forward_pooling_at(b.images, b.landmarks, b.visible)
                                                         : net.forward_all(b.images);
        auto loss = models::fashionnet_loss(out, target, aw, models::FashionNetLossWeights{});
        losses.push_back(loss.total.item());
        opt.zero_grad();
        loss.total.backward();
        opt.step();
    }
    CHECK(std::isfinite(losses.back()));
    CHECK(losses.back() < 0.8 * losses.front());
    // The local branch was trained: fc6_local received gradients.
    bool any = false;
    for (float g : net.fc6_local->weight.grad().to_vector()) any = any || g != 0.0f;
    CHECK(any);
}

TEST_CASE("FashionNet evaluation feeds no ground-truth landmark to the model") {
    const TinyData& d = tiny_data();
    models::FashionNetOptions o = tiny_options();
    o.num_categories = static_cast<int64_t>(d.dataset.category_names.size());
    o.num_attributes = static_cast<int64_t>(d.dataset.attribute_names.size());
    Generator gen(17);
    models::FashionNet<float> net(o, gen);
    net.eval();
    const train::CategoryAttributeScores clean = train::predict_split(d.test, train::fashionnet_predictor(net), 8);

    // Poison every ground-truth landmark of the split: NaN coordinates, flipped visibility.
    data::CategoryAttributeSplit poisoned = d.test;
    for (auto& image : poisoned.images)
        for (auto& p : image.landmarks) {
            p.x = std::numeric_limits<float>::quiet_NaN();
            p.y = -1e9f;
            p.present = !p.present;
            p.visibility = p.visibility == data::kVisible ? data::kOccluded : data::kVisible;
        }
    const train::CategoryAttributeScores after = train::predict_split(poisoned, train::fashionnet_predictor(net), 8);
    CHECK(after.category == clean.category);
    CHECK(after.attribute == clean.attribute);
    CHECK(after.landmark == clean.landmark);
    CHECK(clean.landmarks == 8);

    // And the scores are what the model gives on the images alone (another batch size: GEMM
    // blocking may round differently, hence a tolerance).
    std::vector<size_t> rows{0, 1, 2};
    NoGradGuard no_grad;
    const auto direct = net.forward_all(d.test.batch<float>(rows).images);
    const std::vector<float> cat = direct.category_logits.contiguous().to_vector();
    for (size_t i = 0; i < cat.size(); ++i) CHECK(clean.category[i] == doctest::Approx(cat[i]).epsilon(1e-3).scale(0));

    // The metrics run end to end: the landmark error counts visible points only.
    const auto e = train::evaluate_scores(clean, d.test, d.dataset.attribute_types);
    CHECK(e.category.size() == 3);
    CHECK(e.landmark_error.has_value());
    size_t visible = 0;
    for (const auto& image : d.test.images)
        for (const auto& p : image.landmarks) visible += p.visible();
    CHECK(e.landmarks_counted == visible);
}

TEST_CASE("CategoryAttributeSplit: batches normalise landmarks, mirror them with their slots, and seed flips") {
    const TinyData& d = tiny_data();
    std::vector<size_t> rows;
    for (size_t i = 0; i < d.train.count(); ++i) rows.push_back(i);
    const auto plain = d.train.batch<float>(rows);
    const auto flipped = d.train.batch<float>(rows, true, 3, 0);
    CHECK(flipped.images.to_vector() == d.train.batch<float>(rows, true, 3, 0).images.to_vector());  // seeded
    size_t flips = 0;
    const int64_t s = d.train.size;
    for (size_t i = 0; i < rows.size(); ++i) {
        const auto& img = d.train.images[i];
        const bool was_flipped = (philox4x32(i, 0, 3).v[0] & 1u) != 0;
        flips += was_flipped;
        for (int l = 0; l < 8; ++l) {
            const auto& p = img.landmarks[static_cast<size_t>(l)];
            const float vis = plain.visible.at({static_cast<int64_t>(i), l});
            CHECK(vis == (p.visible() ? 1.0f : 0.0f));
            if (!p.visible()) {
                CHECK(plain.landmarks.at({static_cast<int64_t>(i), l, 0}) == 0.0f);
                continue;
            }
            CHECK(plain.landmarks.at({static_cast<int64_t>(i), l, 0}) == doctest::Approx((p.x + 0.5f) / s));
            CHECK(plain.landmarks.at({static_cast<int64_t>(i), l, 1}) == doctest::Approx((p.y + 0.5f) / s));
            if (was_flipped) {
                const int mirror = l ^ 1;  // (0,1), (2,3), (4,5), (6,7) swap
                CHECK(flipped.visible.at({static_cast<int64_t>(i), mirror}) == 1.0f);
                CHECK(flipped.landmarks.at({static_cast<int64_t>(i), mirror, 0}) == doctest::Approx(1.0f - (p.x + 0.5f) / s));
                CHECK(flipped.landmarks.at({static_cast<int64_t>(i), mirror, 1}) == doctest::Approx((p.y + 0.5f) / s));
            }
        }
    }
    CHECK(flips > 0);
    CHECK(flips < rows.size());
    const auto positives = d.train.attribute_positives();
    int64_t total = 0, by_hand = 0;
    for (int64_t v : positives) total += v;
    for (int8_t v : d.train.attributes) by_hand += v == 1;
    CHECK(total == by_hand);
}
