// Optimizers, schedules and gradient clipping against numbers computed by hand (in comments) or by
// plain loops written here from the papers' equations.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <numbers>
#include <seam/optim/adam.hpp>
#include <seam/optim/clip.hpp>
#include <seam/optim/schedule.hpp>
#include <seam/optim/sgd.hpp>
#include <seam/seam.hpp>
#include <vector>

using namespace seam;
using namespace seam::optim;

namespace {
/// Give a leaf parameter exactly this gradient (backward of the leaf itself accumulates `values`).
void set_grad(Tensor<double>& p, const std::vector<double>& values) {
    p.zero_grad();
    p.backward(from_vector<double>(values, p.shape()));
}
Tensor<double> param(const std::vector<double>& values) {
    auto t = from_vector<double>(values);
    t.set_requires_grad();
    return t;
}
void check_values(const Tensor<double>& t, const std::vector<double>& expected, double tol = 1e-12) {
    auto v = t.to_vector();
    REQUIRE(v.size() == expected.size());
    for (size_t i = 0; i < v.size(); ++i) CHECK_MESSAGE(v[i] == doctest::Approx(expected[i]).epsilon(tol), "element ", i);
}
}  // namespace

TEST_CASE("SGD: momentum, Nesterov and weight decay over two steps equal the hand computation") {
    // lr 0.1, momentum 0.9, dampening 0, weight_decay 0.01, nesterov. p0 = [1, -2].
    // step 1, g = [0.5, 0.25]:
    //   d   = g + 0.01 p      = [0.51, 0.23]
    //   buf = d (first step)  = [0.51, 0.23]
    //   d   = d + 0.9 buf     = [0.969, 0.437]
    //   p   = p - 0.1 d       = [0.9031, -2.0437]
    // step 2, g = [-1, 0.5]:
    //   d   = g + 0.01 p      = [-0.990969, 0.479563]
    //   buf = 0.9 buf + d     = [-0.531969, 0.686563]
    //   d   = d + 0.9 buf     = [-1.4697411, 1.0974697]
    //   p   = p - 0.1 d       = [1.05007411, -2.15344697]
    auto p = param({1.0, -2.0});
    SGD<double> opt({p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    set_grad(p, {0.5, 0.25});
    opt.step();
    check_values(p, {0.9031, -2.0437});
    check_values(opt.param_state(0).tensors.at("momentum_buffer"), {0.51, 0.23});
    set_grad(p, {-1.0, 0.5});
    opt.step();
    check_values(p, {1.05007411, -2.15344697});
    check_values(opt.param_state(0).tensors.at("momentum_buffer"), {-0.531969, 0.686563});
}

TEST_CASE("SGD: the first step copies the gradient into the buffer without dampening") {
    // lr 0.2, momentum 0.5, dampening 0.5, q0 = 3.
    // step 1, g = 2:  buf = 2 (not 0.5*2: PyTorch starts the buffer at d)  q = 3 - 0.2*2 = 2.6
    // step 2, g = -4: buf = 0.5*2 + 0.5*(-4) = -1                           q = 2.6 + 0.2 = 2.8
    auto q = param({3.0});
    SGD<double> opt({q}, {.lr = 0.2, .momentum = 0.5, .dampening = 0.5});
    set_grad(q, {2.0});
    opt.step();
    check_values(q, {2.6});
    set_grad(q, {-4.0});
    opt.step();
    check_values(q, {2.8});
}

TEST_CASE("SGD: parameter groups use their own lr and weight decay - parameters without grad are untouched") {
    auto a = param({1.0}), b = param({1.0}), c = param({5.0});
    SGD<double> opt(std::vector<ParamGroup<double>>{{{a}, std::nullopt, std::nullopt}, {{b, c}, 0.5, 0.1}}, {.lr = 0.1});
    set_grad(a, {1.0});
    set_grad(b, {1.0});
    opt.step();
    check_values(a, {0.9});                 // 1 - 0.1*1
    check_values(b, {1.0 - 0.5 * (1.1)});   // 1 - 0.5*(1 + 0.1*1) = 0.45
    check_values(c, {5.0});                 // no gradient: skipped
    opt.zero_grad();
    CHECK_FALSE(a.grad().defined());
    CHECK_THROWS_WITH_AS((SGD<double>({a}, {.lr = 0.1, .nesterov = true})), doctest::Contains("Nesterov"), Error);
    CHECK_THROWS_WITH_AS((SGD<double>({a, a}, {.lr = 0.1})), doctest::Contains("appears twice"), Error);
    auto non_leaf = a * 2.0;
    CHECK_THROWS_WITH_AS((SGD<double>({non_leaf}, {.lr = 0.1})), doctest::Contains("leaf"), Error);
}

namespace {
/// Adam from the paper's equations with bias-corrected moments, written independently of the
/// library: m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t), p -= lr * m_hat / (sqrt(v_hat) + eps).
struct PlainAdam {
    double lr, b1, b2, eps, wd;
    bool decoupled, amsgrad;
    std::vector<double> m, v, vmax;
    int t = 0;
    void step(std::vector<double>& p, const std::vector<double>& g_in) {
        if (m.empty()) m.assign(p.size(), 0.0), v.assign(p.size(), 0.0), vmax.assign(p.size(), 0.0);
        ++t;
        for (size_t i = 0; i < p.size(); ++i) {
            double g = g_in[i];
            if (decoupled) p[i] = p[i] - lr * wd * p[i];
            else g = g + wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            vmax[i] = std::max(vmax[i], v[i]);
            double m_hat = m[i] / (1 - std::pow(b1, t));
            double v_hat = (amsgrad ? vmax[i] : v[i]) / (1 - std::pow(b2, t));
            p[i] = p[i] - lr * m_hat / (std::sqrt(v_hat) + eps);
        }
    }
};

template <class Opt, class Options>
void compare_with_plain_adam(Options options, bool decoupled) {
    const std::vector<std::vector<double>> grads{{0.3, -1.2, 2.0}, {-0.7, 0.4, 1.5}, {0.1, -0.9, -3.0}};
    std::vector<double> expected{0.5, -1.5, 2.5};
    auto p = param(expected);
    Opt opt({p}, options);
    PlainAdam plain{options.lr, options.beta1, options.beta2, options.eps, options.weight_decay, decoupled, options.amsgrad, {}, {}, {}};
    for (const auto& g : grads) {
        set_grad(p, g);
        opt.step();
        plain.step(expected, g);
        check_values(p, expected, 1e-12);
    }
    CHECK(opt.param_state(0).scalars.at("step") == 3.0);
}
}  // namespace

TEST_CASE("Adam and AdamW: three steps match the equations computed with plain loops") {
    // eps is large here so that its place in the denominator (outside the square root) matters.
    SUBCASE("Adam with L2 weight decay") {
        compare_with_plain_adam<Adam<double>>(AdamOptions{.lr = 0.05, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-2, .weight_decay = 0.1}, false);
    }
    SUBCASE("Adam with amsgrad") {
        compare_with_plain_adam<Adam<double>>(AdamOptions{.lr = 0.05, .beta1 = 0.9, .beta2 = 0.5, .eps = 1e-3, .amsgrad = true}, false);
    }
    SUBCASE("AdamW decoupled decay") {
        compare_with_plain_adam<AdamW<double>>(AdamWOptions{.lr = 0.05, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-2, .weight_decay = 0.3}, true);
    }
    SUBCASE("AdamW with amsgrad") {
        compare_with_plain_adam<AdamW<double>>(AdamWOptions{.lr = 0.01, .beta2 = 0.6, .weight_decay = 0.5, .amsgrad = true}, true);
    }
    // The two decays differ: after one step from p = 1 with g = 0, Adam's L2 term becomes a
    // gradient of 0.1 (a full-size normalised step of lr), AdamW only shrinks p by lr*wd.
    auto a = param({1.0}), b = param({1.0});
    Adam<double> adam({a}, {.lr = 0.01, .weight_decay = 0.1});
    AdamW<double> adamw({b}, {.lr = 0.01, .weight_decay = 0.1});
    set_grad(a, {0.0});
    set_grad(b, {0.0});
    adam.step();
    adamw.step();
    CHECK(a.item() == doctest::Approx(1.0 - 0.01 * 0.1 / (0.1 + 1e-8)));  // m_hat = 0.1, v_hat = 0.01
    CHECK(b.item() == doctest::Approx(1.0 - 0.01 * 0.1));                 // 0.999, then m = v = 0
}

TEST_CASE("optimizer state: export, import into a fresh optimizer, identical continuation, layout errors") {
    auto p1 = param({0.5, -1.0, 2.0}), q1 = from_vector<double>({1.0, 2.0}, {2, 1}).set_requires_grad();
    AdamOptions options{.lr = 0.1, .amsgrad = true};
    Adam<double> first({p1, q1}, options);
    for (int s = 0; s < 2; ++s) {
        set_grad(p1, {0.1 * s + 0.2, -0.3, 0.4});
        set_grad(q1, {1.0, -2.0});
        first.step();
    }
    OptimizerState<double> saved = first.state();
    // 2 params x 3 tensors (exp_avg, exp_avg_sq, max_exp_avg_sq); scalars: 3 per group + 1 step per param.
    CHECK(saved.tensors.size() == 6);
    CHECK(saved.scalars.size() == 5);

    auto p2 = from_vector<double>(p1.to_vector()).set_requires_grad();
    auto q2 = from_vector<double>(q1.to_vector(), {2, 1}).set_requires_grad();
    Adam<double> second({p2, q2}, options);
    second.load_state(saved);
    set_grad(p1, {0.7, 0.1, -0.2});
    set_grad(q1, {0.5, 0.5});
    set_grad(p2, {0.7, 0.1, -0.2});
    set_grad(q2, {0.5, 0.5});
    first.step();
    second.step();
    CHECK(p1.to_vector() == p2.to_vector());
    CHECK(q1.to_vector() == q2.to_vector());

    // Errors are listed together and nothing is loaded.
    OptimizerState<double> bad = saved;
    bad.tensors[0].second = zeros<double>({7});
    bad.tensors.emplace_back("state.9.exp_avg", zeros<double>({1}));
    bad.scalars.emplace_back("nonsense", 1.0);
    Adam<double> third({p2, q2}, options);
    try {
        third.load_state(bad);
        FAIL("load_state accepted a bad state");
    } catch (const Error& e) {
        std::string what = e.what();
        CHECK(what.find("has shape [7] but parameter 0 has shape [3]") != std::string::npos);
        CHECK(what.find("unexpected tensor \"state.9.exp_avg\"") != std::string::npos);
        CHECK(what.find("unexpected scalar \"nonsense\"") != std::string::npos);
    }
    CHECK(third.param_state(0).empty());
    SGD<double> one_param({p2}, {.lr = 0.1});
    CHECK_THROWS_WITH_AS(one_param.load_state(saved), doctest::Contains("holds 1 parameters here but 2"), Error);
}

TEST_CASE("schedules: closed forms at given epochs") {
    const double base = 0.1;
    StepLR step(3, 0.5);  // 0.1 for epochs 0-2, 0.05 for 3-5, 0.025 for 6-8
    const double step_expected[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125};
    for (int e = 0; e < 10; ++e) CHECK(step.lr_at(e, base) == doctest::Approx(step_expected[e]).epsilon(1e-14));

    MultiStepLR multi({2, 5}, 0.1);  // x1 before epoch 2, x0.1 from 2, x0.01 from 5
    const double multi_expected[] = {0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001};
    for (int e = 0; e < 7; ++e) CHECK(multi.lr_at(e, base) == doctest::Approx(multi_expected[e]).epsilon(1e-14));

    CosineAnnealingLR cosine(10, 0.001);
    CHECK(cosine.lr_at(0, base) == doctest::Approx(0.1));
    // epoch 2: 0.001 + 0.099 * (1 + cos(pi/5)) / 2, cos(36 deg) = 0.8090169943749474
    CHECK(cosine.lr_at(2, base) == doctest::Approx(0.001 + 0.099 * 1.8090169943749474 / 2).epsilon(1e-14));
    CHECK(cosine.lr_at(5, base) == doctest::Approx(0.0505).epsilon(1e-14));  // halfway: the mean of 0.1 and 0.001
    CHECK(cosine.lr_at(10, base) == doctest::Approx(0.001).epsilon(1e-14));

    auto warm = LinearWarmup(std::make_shared<CosineAnnealingLR>(10, 0.001), 4, 0.25);
    CHECK(warm.lr_at(0, base) == doctest::Approx(0.025));                 // 0.1 * 0.25
    CHECK(warm.lr_at(1, base) == doctest::Approx(0.1 * (0.25 + 0.75 / 4)));  // 0.04375
    CHECK(warm.lr_at(3, base) == doctest::Approx(0.1 * (0.25 + 0.75 * 3 / 4)));
    CHECK(warm.lr_at(4, base) == doctest::Approx(0.1));                   // cosine at its epoch 0
    CHECK(warm.lr_at(9, base) == doctest::Approx(0.0505));                // cosine at its epoch 5
    CHECK_THROWS_AS(StepLR(0), Error);
    CHECK_THROWS_AS(MultiStepLR({5, 2}), Error);
}

TEST_CASE("LRScheduler drives each group from its own base lr and restores its state") {
    auto a = param({1.0}), b = param({1.0});
    SGD<double> opt(std::vector<ParamGroup<double>>{{{a}, 0.1, std::nullopt}, {{b}, 0.01, std::nullopt}}, {});
    LRScheduler<double> sched(opt, std::make_shared<StepLR>(2, 0.1));
    CHECK(sched.last_lr() == std::vector<double>{0.1, 0.01});
    sched.step();  // epoch 1: unchanged
    sched.step();  // epoch 2: x0.1
    CHECK(opt.param_groups()[0].lr == doctest::Approx(0.01));
    CHECK(opt.param_groups()[1].lr == doctest::Approx(0.001));
    auto saved = sched.state();

    SGD<double> opt2(std::vector<ParamGroup<double>>{{{a}, 0.1, std::nullopt}, {{b}, 0.01, std::nullopt}}, {});
    opt2.set_lr(123.0);  // whatever the optimizer holds, the scheduler state decides
    LRScheduler<double> sched2(opt2, std::make_shared<StepLR>(2, 0.1));
    sched2.load_state(saved);
    CHECK(sched2.epoch() == 2);
    CHECK(sched2.base_lrs() == std::vector<double>{0.1, 0.01});
    CHECK(opt2.param_groups()[1].lr == doctest::Approx(0.001));
    CHECK_THROWS_WITH_AS(sched2.load_state({{"epoch", 1.0}}), doctest::Contains("missing \"base_lr.0\""), Error);
}

TEST_CASE("clip_grad_norm_ and clip_grad_value_ by hand") {
    auto a = param({3.0, 4.0}), b = param({12.0}), c = param({100.0});
    set_grad(a, {3.0, 4.0});
    set_grad(b, {-12.0});  // c has no gradient and is skipped
    // 2-norm: sqrt(9 + 16 + 144) = 13; scale 6.5 / (13 + 1e-6)
    double norm = clip_grad_norm_<double>({a, b, c}, 6.5);
    CHECK(norm == doctest::Approx(13.0).epsilon(1e-15));
    const double s = 6.5 / (13.0 + 1e-6);
    check_values(a.grad(), {3.0 * s, 4.0 * s});
    check_values(b.grad(), {-12.0 * s});

    set_grad(a, {3.0, 4.0});
    set_grad(b, {-12.0});
    CHECK(clip_grad_norm_<double>({a, b}, 100.0) == doctest::Approx(13.0));  // below max: unchanged
    check_values(a.grad(), {3.0, 4.0});
    CHECK(clip_grad_norm_<double>({a, b}, 100.0, 1.0) == doctest::Approx(19.0));  // 3 + 4 + 12
    CHECK(clip_grad_norm_<double>({a, b}, 6.0, INFINITY) == doctest::Approx(12.0));
    check_values(b.grad(), {-12.0 * 6.0 / (12.0 + 1e-6)});

    set_grad(a, {3.0, -4.0});
    clip_grad_value_<double>({a}, 3.5);
    check_values(a.grad(), {3.0, -3.5});

    // A long gradient: the blocked double accumulation equals a plain sum.
    auto big = zeros<double>({50001}).set_requires_grad();
    std::vector<double> g(50001);
    double sum_sq = 0;
    for (size_t i = 0; i < g.size(); ++i) g[i] = std::sin(0.01 * static_cast<double>(i)), sum_sq += g[i] * g[i];
    set_grad(big, g);
    CHECK(clip_grad_norm_<double>({big}, 1e9) == doctest::Approx(std::sqrt(sum_sq)).epsilon(1e-12));
}
