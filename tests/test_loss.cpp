// Losses and distances (cross_entropy, nll_loss, BCE with logits, mse, smooth L1, triplet margin,
// cosine_similarity, normalize, pairwise_distance): hand-computed values, fast path against
// cpu/reference on awkward shapes, PyTorch's weighting / ignore_index semantics, extreme logits,
// error messages, and double-precision gradchecks.
#include <doctest/doctest.h>

#include <seam/cpu/reference/loss.hpp>
#include <seam/ops/loss.hpp>
#include <seam/seam.hpp>

#include <cmath>
#include <limits>

using namespace seam;

namespace {
template <class T>
void check_close(const Tensor<T>& got, const Tensor<T>& want, double tol, const std::string& what) {
    REQUIRE_MESSAGE(got.shape() == want.shape(), what, ": shape ", shape_str(got.shape()), " vs ", shape_str(want.shape()));
    const auto a = got.to_vector(), b = want.to_vector();
    for (size_t i = 0; i < a.size(); ++i)
        REQUIRE_MESSAGE(std::abs(double(a[i]) - double(b[i])) <= tol * (1 + std::abs(double(b[i]))), what, ": element ", i,
                        " is ", a[i], ", expected ", b[i]);
}
void check_values(const Tensor<double>& got, const std::vector<double>& want, double tol, const std::string& what) {
    const auto a = got.to_vector();
    REQUIRE_MESSAGE(a.size() == want.size(), what, ": ", a.size(), " values, expected ", want.size());
    for (size_t i = 0; i < a.size(); ++i)
        CHECK_MESSAGE(std::abs(a[i] - want[i]) <= tol, what, ": element ", i, " is ", a[i], ", expected ", want[i]);
}
bool all_finite(const Tensor<double>& t) {
    for (double v : t.to_vector())
        if (!std::isfinite(v)) return false;
    return true;
}
using Fn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;
void expect_gradcheck(const Fn& fn, std::vector<Tensor<double>> in) {
    auto r = gradcheck(fn, std::move(in));
    CHECK_MESSAGE(r.ok, r.message);
}
/// Class indices in [0, C) with every `ignore_every`-th one replaced by `ignore`.
Tensor<int64_t> random_targets(const Shape& shape, int64_t classes, Generator& g, int64_t ignore_every = 0,
                               int64_t ignore = -100) {
    const auto u = rand<double>(shape, g).to_vector();
    std::vector<int64_t> t(u.size());
    for (size_t i = 0; i < u.size(); ++i) {
        t[i] = std::min<int64_t>(classes - 1, static_cast<int64_t>(u[i] * classes));
        if (ignore_every > 0 && i % ignore_every == 1) t[i] = ignore;
    }
    return from_vector<int64_t>(t, shape);
}
}  // namespace

// The 2×3 example used by the hand-computed cross-entropy tests. Logits are logs so that the
// softmax is rational:
//   row 0: x = (0, ln 2, ln 5)  -> p = (1/8, 2/8, 5/8)
//   row 1: x = (ln 3, 0, 0)     -> p = (3/5, 1/5, 1/5)
// targets (2, 1), class weights w = (1, 2, 0.5):
//   per-sample nll:    -ln(5/8) = ln 1.6 = 0.4700036292,   -ln(1/5) = ln 5 = 1.6094379124
//   weighted (none):   0.5 · 0.4700036292 = 0.2350018146,  2 · 1.6094379124 = 3.2188758249
//   sum:               3.4538776395
//   mean:              3.4538776395 / (w[2] + w[1] = 2.5) = 1.3815510558   (not / 2: PyTorch's rule)
// With target 1 ignored (ignore_index = -100 in its place):
//   none (0.2350018146, 0), sum 0.2350018146, mean 0.2350018146 / 0.5 = 0.4700036292
namespace {
Tensor<double> example_logits() {
    return from_vector<double>({0.0, std::log(2.0), std::log(5.0), std::log(3.0), 0.0, 0.0}, {2, 3});
}
}  // namespace

TEST_CASE("cross_entropy: the hand-computed 2x3 example with weights and an ignored target") {
    const auto x = example_logits();
    const auto w = from_vector<double>({1, 2, 0.5});
    const auto t = from_vector<int64_t>({2, 1});
    CrossEntropyOptions<double> opt{.weight = w, .reduction = Reduction::none};
    check_values(cross_entropy(x, t, opt), {0.2350018146, 3.2188758249}, 1e-9, "weighted none");
    opt.reduction = Reduction::sum;
    check_values(cross_entropy(x, t, opt), {3.4538776395}, 1e-9, "weighted sum");
    opt.reduction = Reduction::mean;
    check_values(cross_entropy(x, t, opt), {1.3815510558}, 1e-9, "weighted mean divides by the sum of target weights");
    // Unweighted mean: (0.4700036292 + 1.6094379124) / 2.
    check_values(cross_entropy(x, t), {1.0397207708}, 1e-9, "unweighted mean");

    const auto t_ignored = from_vector<int64_t>({2, -100});
    opt.reduction = Reduction::none;
    check_values(cross_entropy(x, t_ignored, opt), {0.2350018146, 0.0}, 1e-9, "ignored none");
    opt.reduction = Reduction::sum;
    check_values(cross_entropy(x, t_ignored, opt), {0.2350018146}, 1e-9, "ignored sum");
    opt.reduction = Reduction::mean;
    check_values(cross_entropy(x, t_ignored, opt), {0.4700036292}, 1e-9, "ignored mean");
    // A custom ignore_index that is also a valid class: class 1 is then skipped.
    opt.ignore_index = 1;
    check_values(cross_entropy(x, t, opt), {0.4700036292}, 1e-9, "ignore_index = 1");
    // Every target ignored: the mean is 0/0 = NaN (PyTorch), the sum is 0.
    opt.ignore_index = -100;
    CHECK(std::isnan(cross_entropy(x, from_vector<int64_t>({-100, -100}), opt).item()));
    opt.reduction = Reduction::sum;
    CHECK(cross_entropy(x, from_vector<int64_t>({-100, -100}), opt).item() == 0.0);

    // Gradient of the unweighted mean: (softmax - onehot) / 2.
    auto xg = example_logits().set_requires_grad();
    cross_entropy(xg, t).backward();
    check_values(xg.grad(), {0.125 / 2, 0.25 / 2, (0.625 - 1) / 2, 0.6 / 2, (0.2 - 1) / 2, 0.2 / 2}, 1e-12, "gradient");
    // Weighted mean with row 1 ignored: row 0 gets w[2] (p - onehot) / w[2], row 1 nothing.
    auto xw = example_logits().set_requires_grad();
    cross_entropy(xw, t_ignored, {.weight = w}).backward();
    check_values(xw.grad(), {0.125, 0.25, 0.625 - 1, 0, 0, 0}, 1e-12, "weighted gradient with an ignored row");
}

TEST_CASE("cross_entropy: label smoothing by hand") {
    // Row 0 of the example, target 2, ε = 0.1, no weights:
    //   (1-ε)·(-ln p_2) + (ε/3)·(-ln p_0 - ln p_1 - ln p_2) = 0.9·ln 1.6 + (0.1/3)·(ln 8 + ln 4 + ln 1.6)
    const auto x = example_logits().narrow(0, 0, 1);
    const double want = 0.9 * std::log(1.6) + 0.1 / 3 * (std::log(8.0) + std::log(4.0) + std::log(1.6));
    check_values(cross_entropy(x, from_vector<int64_t>({2}), {.label_smoothing = 0.1}), {want}, 1e-12, "smoothing");
    // With weights (1, 2, 0.5): 0.9·0.5·ln 1.6 + (0.1/3)·(1·ln 8 + 2·ln 4 + 0.5·ln 1.6), mean divides by w[2] = 0.5.
    const double weighted = (0.9 * 0.5 * std::log(1.6) + 0.1 / 3 * (std::log(8.0) + 2 * std::log(4.0) + 0.5 * std::log(1.6))) / 0.5;
    check_values(cross_entropy(x, from_vector<int64_t>({2}), {.weight = from_vector<double>({1, 2, 0.5}), .label_smoothing = 0.1}),
                 {weighted}, 1e-12, "weighted smoothing");
}

TEST_CASE("cross_entropy / nll_loss: fast path equals reference on awkward shapes") {
    Generator g(21);
    struct Case {
        Shape shape;
        int64_t ignore_every;
    };
    for (const Case& c : {Case{{7, 13}, 0}, Case{{1, 1}, 0}, Case{{5, 3, 4, 3}, 3}, Case{{2, 17, 9}, 4}, Case{{1, 5}, 0},
                          Case{{33, 2}, 5}, Case{{3, 4, 1, 1}, 0}}) {
        const auto x = randn<float>(c.shape, g, 0.0f, 2.0f);
        Shape tshape = c.shape;
        tshape.erase(tshape.begin() + 1);
        const int64_t C = c.shape[1];
        const auto t = random_targets(tshape, C, g, c.ignore_every);
        const auto w = add(rand<float>({C}, g), 0.5f);
        for (Reduction r : {Reduction::none, Reduction::mean, Reduction::sum})
            for (float eps : {0.0f, 0.2f})
                for (bool weighted : {false, true}) {
                    const std::string what = "cross_entropy " + shape_str(c.shape) + " reduction " + std::to_string(int(r)) +
                                             " eps " + std::to_string(eps) + (weighted ? " weighted" : "");
                    const Tensor<float> wt = weighted ? w : Tensor<float>();
                    check_close(cross_entropy(x, t, {.weight = wt, .reduction = r, .label_smoothing = eps}),
                                reference::class_loss(x, t, wt, -100, r, eps, false), 1e-5, what);
                }
        const auto logp = log_softmax(x, 1);
        check_close(nll_loss(logp, t, {.weight = w}), reference::class_loss(logp, t, w, -100, Reduction::mean, 0.0f, true),
                    1e-5, "nll_loss " + shape_str(c.shape));
        check_close(nll_loss(logp, t, {.reduction = Reduction::none}),
                    reference::class_loss(logp, t, Tensor<float>(), -100, Reduction::none, 0.0f, true), 1e-5, "nll_loss none");
        // cross_entropy is nll_loss of log_softmax.
        check_close(cross_entropy(x, t, {.weight = w}), nll_loss(logp, t, {.weight = w}), 1e-5, "ce == nll(log_softmax)");
    }
    // Non-contiguous logits ([C, N] transposed), and the unbatched form ([C] with a scalar target).
    const auto xt = randn<float>({6, 11}, g).transpose(0, 1);
    const auto tt = random_targets({11}, 6, g);
    check_close(cross_entropy(xt, tt), reference::class_loss(xt, tt, Tensor<float>(), -100, Reduction::mean, 0.0f, false), 1e-5,
                "transposed logits");
    const auto x1 = randn<float>({5}, g);
    const auto t1 = from_vector<int64_t>({3}, {});
    check_close(cross_entropy(x1, t1), cross_entropy(x1.unsqueeze(0), from_vector<int64_t>({3})), 1e-6, "unbatched");
    CHECK(cross_entropy(x1, t1, {.reduction = Reduction::none}).shape() == Shape{});
}

TEST_CASE("cross_entropy / nll_loss: errors name the position and value of a bad target, and bad shapes") {
    const auto x = zeros<float>({2, 3});
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector<int64_t>({0, 3})),
                         doctest::Contains("cross_entropy: target 3 at position [1] is out of range: expected a class index in [0, 3)"),
                         Error);
    CHECK_THROWS_WITH_AS(cross_entropy(zeros<float>({2, 3, 2}), from_vector<int64_t>({0, 1, 2, -1}, {2, 2})),
                         doctest::Contains("target -1 at position [1, 1]"), Error);
    CHECK_THROWS_WITH_AS(nll_loss(x, from_vector<int64_t>({7, 0})), doctest::Contains("nll_loss: target 7 at position [0]"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector<int64_t>({0, 1, 2})),
                         doctest::Contains("cross_entropy: input of shape [2, 3] needs a target of shape [2], got [3]"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector<int64_t>({0, 1}), {.weight = ones<float>({2})}),
                         doctest::Contains("cross_entropy: weight must have shape [3] (one per class), got [2]"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector<int64_t>({0, 1}), {.label_smoothing = 1.5f}),
                         doctest::Contains("label_smoothing must be in [0, 1]"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(scalar<float>(1.0f), from_vector<int64_t>({0}, {})),
                         doctest::Contains("cross_entropy: the input needs a class dimension"), Error);
}

TEST_CASE("cross_entropy and BCE: extreme logits (±1000) give finite losses and gradients") {
    auto x = from_vector<double>({1000, -1000, 0, -1000, 1000, 1000}, {2, 3}).set_requires_grad();
    const auto t = from_vector<int64_t>({1, 0});
    const auto loss = cross_entropy(x, t, {.reduction = Reduction::none});
    // row 0: log Σ exp = 1000, loss = 1000 - (-1000) = 2000; row 1: log Σ exp = 1000 + ln 2, loss = 2000 + ln 2
    check_values(loss, {2000.0, 2000.0 + std::log(2.0)}, 1e-9, "extreme ce");
    sum(loss).backward();
    CHECK(all_finite(x.grad()));
    check_values(x.grad(), {1, -1, 0, -1, 0.5, 0.5}, 1e-12, "extreme ce gradient");
    auto xs = from_vector<double>({1000, -1000, 1000, -1000}).set_requires_grad();
    const auto z = from_vector<double>({1, 0, 0, 1});
    const auto bce = binary_cross_entropy_with_logits(xs, z, {.pos_weight = from_vector<double>({2}), .reduction = Reduction::none});
    check_values(bce, {0, 0, 1000, 2000}, 1e-9, "extreme bce");  // the last: pos_weight 2 × 1000
    sum(bce).backward();
    CHECK(all_finite(xs.grad()));
    check_values(xs.grad(), {0, 0, 1, -2}, 1e-12, "extreme bce gradient");
    auto xf = from_vector<float>({1000.0f, -1000.0f, 3.0f}, {1, 3});
    CHECK(std::isfinite(cross_entropy(xf, from_vector<int64_t>({1})).item()));
    CHECK(std::isfinite(cross_entropy(xf, from_vector<int64_t>({1}), {.label_smoothing = 0.3f}).item()));
}

TEST_CASE("binary_cross_entropy_with_logits: pos_weight by hand, reference, broadcasting") {
    // One row of logits (0, 2, -1), targets (1, 0, 1), pos_weight (3, 1, 2):
    //   0: z = 1, pw = 3: -3·ln σ(0)      = 3 ln 2          = 2.0794415417
    //   1: z = 0:         -ln(1 - σ(2))  = ln(1 + e^2)     = 2.1269280110
    //   2: z = 1, pw = 2: -2·ln σ(-1)     = 2 ln(1 + e)     = 2.6265233750
    // gradients (L σ(x) - pw z with L = 1 + (pw-1) z): 3·0.5 - 3 = -1.5, σ(2) = 0.8807970780,
    //   2σ(-1) - 2 = -1.4621171573; the mean divides each by 3.
    auto x = from_vector<double>({0, 2, -1}, {1, 3}).set_requires_grad();
    const auto z = from_vector<double>({1, 0, 1}, {1, 3});
    const auto pw = from_vector<double>({3, 1, 2});
    check_values(binary_cross_entropy_with_logits(x, z, {.pos_weight = pw, .reduction = Reduction::none}),
                 {2.0794415417, 2.1269280110, 2.6265233750}, 1e-9, "bce none");
    const auto mean_loss = binary_cross_entropy_with_logits(x, z, {.pos_weight = pw});
    check_values(mean_loss, {(2.0794415417 + 2.1269280110 + 2.6265233750) / 3}, 1e-9, "bce mean");
    mean_loss.backward();
    check_values(x.grad(), {-1.5 / 3, 0.8807970780 / 3, -1.4621171573 / 3}, 1e-9, "bce gradient");
    // weight rescales each element: weight (2, 0, 1) -> sum 2·2.0794415417 + 2.6265233750
    check_values(binary_cross_entropy_with_logits(x, z, {.pos_weight = pw, .weight = from_vector<double>({2, 0, 1}),
                                                         .reduction = Reduction::sum}),
                 {2 * 2.0794415417 + 2.6265233750}, 1e-9, "bce weighted sum");

    Generator g(22);
    for (Shape shape : {Shape{7, 13}, Shape{1, 1}, Shape{4, 3, 5}}) {
        const auto logits = randn<float>(shape, g, 0.0f, 3.0f);
        const auto targets = rand<float>(shape, g);
        const auto pos = add(rand<float>({shape.back()}, g), 0.5f);
        Shape wshape(shape.size(), 1);
        wshape[0] = shape[0];
        const auto weight = rand<float>(wshape, g);
        for (Reduction r : {Reduction::none, Reduction::mean, Reduction::sum}) {
            check_close(binary_cross_entropy_with_logits(logits, targets, {.reduction = r}),
                        reference::bce_with_logits(logits, targets, Tensor<float>(), Tensor<float>(), r), 1e-5, "bce plain");
            check_close(binary_cross_entropy_with_logits(logits, targets, {.pos_weight = pos, .weight = weight, .reduction = r}),
                        reference::bce_with_logits(logits, targets, pos, weight, r), 1e-5, "bce pos_weight + weight");
        }
    }
    const auto lt = randn<float>({9, 4}, g).transpose(0, 1), zt = rand<float>({4, 9}, g);
    check_close(binary_cross_entropy_with_logits(lt, zt), reference::bce_with_logits(lt, zt, Tensor<float>(), Tensor<float>(), Reduction::mean),
                1e-5, "bce transposed logits");
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(zeros<float>({2, 3}), zeros<float>({3, 2})),
                         doctest::Contains("binary_cross_entropy_with_logits: logits of shape [2, 3] and targets of shape [3, 2]"), Error);
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(zeros<float>({2, 3}), zeros<float>({2, 3}), {.pos_weight = ones<float>({2})}),
                         doctest::Contains("pos_weight of shape [2] cannot be broadcast to the logits' shape [2, 3]"), Error);
}

TEST_CASE("mse_loss and smooth_l1_loss: hand values, reference, errors") {
    const auto a = from_vector<double>({1, 2, 0.5});
    const auto b = from_vector<double>({3, -1, 0});
    // d = (-2, 3, 0.5): squares 4, 9, 0.25
    check_values(mse_loss(a, b), {13.25 / 3}, 1e-12, "mse mean");
    check_values(mse_loss(a, b, Reduction::sum), {13.25}, 1e-12, "mse sum");
    check_values(mse_loss(a, b, Reduction::none), {4, 9, 0.25}, 1e-12, "mse none");
    // beta = 1: |d| ≥ 1 -> |d| - 0.5 = 1.5, 2.5; |d| < 1 -> 0.5 d² = 0.125
    check_values(smooth_l1_loss(a, b, 1.0, Reduction::none), {1.5, 2.5, 0.125}, 1e-12, "smooth_l1 beta 1");
    // beta = 4: all inside -> 0.5 d²/4 = 0.5, 1.125, 0.03125
    check_values(smooth_l1_loss(a, b, 4.0, Reduction::none), {0.5, 1.125, 0.03125}, 1e-12, "smooth_l1 beta 4");
    check_values(smooth_l1_loss(a, b, 0.0, Reduction::sum), {5.5}, 1e-12, "smooth_l1 beta 0 is L1");
    Generator g(23);
    const auto x = randn<float>({5, 7}, g).transpose(0, 1), y = randn<float>({7, 5}, g);
    check_close(mse_loss(x, y), reference::mse(x, y, Reduction::mean), 1e-6, "mse reference");
    check_close(smooth_l1_loss(x, y, 0.7f, Reduction::none), reference::smooth_l1(x, y, 0.7f, Reduction::none), 1e-6,
                "smooth_l1 reference");
    CHECK_THROWS_WITH_AS(mse_loss(zeros<float>({2}), zeros<float>({3})),
                         doctest::Contains("mse_loss: input of shape [2] and target of shape [3] must have the same shape"), Error);
    CHECK_THROWS_WITH_AS(smooth_l1_loss(zeros<float>({2}), zeros<float>({2}), -1.0f), doctest::Contains("beta must be >= 0"), Error);
}

TEST_CASE("distances: normalize, cosine_similarity, pairwise_distance by hand and against reference") {
    check_values(normalize(from_vector<double>({3, 4}, {1, 2})), {0.6, 0.8}, 1e-15, "normalize");
    check_values(normalize(from_vector<double>({1, -3}, {1, 2}), 1.0), {0.25, -0.75}, 1e-15, "normalize p=1");
    check_values(normalize(zeros<double>({1, 3})), {0, 0, 0}, 0, "normalize of zero stays zero");
    check_values(normalize(from_vector<double>({3, 4, 0, 2}, {2, 2}), 2.0, 0), {1, 0.894427191, 0, 0.4472135955}, 1e-9,
                 "normalize along dim 0");
    // (1, 2, 2)·(0, 3, 4) = 14, norms 3 and 5 -> 14/15
    check_values(cosine_similarity(from_vector<double>({1, 2, 2}, {1, 3}), from_vector<double>({0, 3, 4}, {1, 3})), {14.0 / 15},
                 1e-15, "cosine");
    check_values(cosine_similarity(from_vector<double>({1, 0, 0, 1}, {2, 2}), from_vector<double>({1, 1}, {1, 2})),
                 {std::sqrt(0.5), std::sqrt(0.5)}, 1e-15, "cosine broadcast");
    check_values(cosine_similarity(zeros<double>({1, 2}), ones<double>({1, 2})), {0}, 0, "cosine of a zero vector");
    // eps is added to the difference: the distance of a vector to itself is eps·sqrt(D).
    check_values(pairwise_distance(from_vector<double>({1, 2}, {1, 2}), from_vector<double>({1, 2}, {1, 2})),
                 {1e-6 * std::sqrt(2.0)}, 1e-18, "pairwise eps");
    check_values(pairwise_distance(from_vector<double>({0, 0}, {1, 2}), from_vector<double>({3, 4}, {1, 2}), 2.0, 0.0), {5}, 1e-15,
                 "pairwise 3-4-5");
    check_values(pairwise_distance(from_vector<double>({0, 0}, {1, 2}), from_vector<double>({3, 4}, {1, 2}), 1.0, 0.0), {7}, 1e-15,
                 "pairwise p=1");
    Generator g(24);
    const auto a = randn<float>({9, 5}, g), b = randn<float>({5, 9}, g).transpose(0, 1);
    check_close(pairwise_distance(a, b), reference::pairwise_distance(a, b, 2.0f, 1e-6f), 1e-5, "pairwise reference");
    check_close(pairwise_distance(a, b, 3.0f), reference::pairwise_distance(a, b, 3.0f, 1e-6f), 1e-5, "pairwise p=3");
    check_close(cosine_similarity(a, b), reference::cosine_similarity(a, b, 1e-8f), 1e-5, "cosine reference");
    CHECK_THROWS_WITH_AS(cosine_similarity(zeros<float>({2, 3}), zeros<float>({2, 4})), doctest::Contains("cosine_similarity: shapes [2, 3] and [2, 4]"),
                         Error);
    CHECK_THROWS_WITH_AS(normalize(zeros<float>({4})), doctest::Contains("normalize: dimension 1 is out of range for a tensor of rank 1"),
                         Error);
    CHECK_THROWS_WITH_AS(pairwise_distance(scalar<float>(1.0f), scalar<float>(2.0f)),
                         doctest::Contains("pairwise_distance: inputs must have at least one dimension"), Error);
}

TEST_CASE("triplet_margin_loss: both distances by hand, swap, reference") {
    // L2, eps = 0 so the distances are exact. Triplet 0: a (0,0), p (3,4), n (6,8): 5 - 10 + 1 < 0 -> 0.
    // Triplet 1: a (0,0), p (3,4), n (1,0): 5 - 1 + 1 = 5. Mean 2.5.
    const auto a = from_vector<double>({0, 0, 0, 0}, {2, 2});
    const auto p = from_vector<double>({3, 4, 3, 4}, {2, 2});
    const auto n = from_vector<double>({6, 8, 1, 0}, {2, 2});
    TripletOptions<double> opt{.eps = 0.0, .reduction = Reduction::none};
    check_values(triplet_margin_loss(a, p, n, opt), {0, 5}, 1e-12, "l2 none");
    opt.reduction = Reduction::mean;
    check_values(triplet_margin_loss(a, p, n, opt), {2.5}, 1e-12, "l2 mean");
    // Swap: a (0,0), p (3,4), n (3,5): d(a,n) = √34 = 5.8309518948, d(p,n) = 1.
    // Without swap 5 - 5.8309518948 + 1 = 0.1690481052; with swap 5 - 1 + 1 = 5.
    const auto n2 = from_vector<double>({3, 5}, {1, 2});
    const auto a1 = a.narrow(0, 0, 1), p1 = p.narrow(0, 0, 1);
    check_values(triplet_margin_loss(a1, p1, n2, {.eps = 0.0}), {0.1690481052}, 1e-9, "no swap");
    check_values(triplet_margin_loss(a1, p1, n2, {.eps = 0.0, .swap = true}), {5}, 1e-12, "swap");
    // Cosine: a (1,0), p (1,1), n (0,1): d(a,p) = 1 - 1/√2 = 0.2928932188, d(a,n) = 1; margin 1 -> 0.2928932188.
    // Margin 0.5 -> max(0.2928932188 - 0.5, 0) = 0.
    const auto ca = from_vector<double>({1, 0}, {1, 2}), cp = from_vector<double>({1, 1}, {1, 2}), cn = from_vector<double>({0, 1}, {1, 2});
    check_values(triplet_margin_loss(ca, cp, cn, {.distance = Distance::cosine}), {0.2928932188}, 1e-9, "cosine");
    check_values(triplet_margin_loss(ca, cp, cn, {.margin = 0.5, .distance = Distance::cosine}), {0}, 1e-12, "cosine margin 0.5");
    // One triplet without a batch dimension.
    check_values(triplet_margin_loss(from_vector<double>({0, 0}), from_vector<double>({3, 4}), from_vector<double>({1, 0}), {.eps = 0.0}),
                 {5}, 1e-12, "unbatched");

    Generator g(25);
    const auto ra = randn<float>({13, 7}, g), rp = randn<float>({13, 7}, g), rn = randn<float>({13, 7}, g);
    for (Distance d : {Distance::l2, Distance::cosine})
        for (bool swap : {false, true})
            for (Reduction r : {Reduction::none, Reduction::mean, Reduction::sum}) {
                TripletOptions<float> o{.margin = 0.8f, .distance = d, .swap = swap, .reduction = r};
                check_close(triplet_margin_loss(ra, rp, rn, o), reference::triplet(ra, rp, rn, o), 1e-5, "triplet reference");
            }
    CHECK_THROWS_WITH_AS(triplet_margin_loss(zeros<float>({2, 3}), zeros<float>({2, 3}), zeros<float>({3, 3})),
                         doctest::Contains("triplet_margin_loss: anchor of shape [2, 3] and negative of shape [3, 3]"), Error);
    CHECK_THROWS_WITH_AS(triplet_margin_loss(zeros<float>({1, 2, 3}), zeros<float>({1, 2, 3}), zeros<float>({1, 2, 3})),
                         doctest::Contains("inputs must be [N, D] or [D]"), Error);
}

TEST_CASE("gradcheck: losses and distances in double") {
    Generator g(26);
    const auto logits = randn<double>({4, 5}, g).set_requires_grad();
    const auto target = from_vector<int64_t>({1, 4, -100, 0});
    const auto weight = from_vector<double>({0.5, 1, 2, 1.5, 0.7});
    expect_gradcheck([&](const auto& in) { return cross_entropy(in[0], target); }, {logits});
    expect_gradcheck([&](const auto& in) {
        return cross_entropy(in[0], target, {.weight = weight, .label_smoothing = 0.2});
    }, {logits});
    expect_gradcheck([&](const auto& in) {
        return cross_entropy(in[0], target, {.weight = weight, .reduction = Reduction::none, .label_smoothing = 0.1});
    }, {logits});
    const auto spatial = randn<double>({2, 3, 2, 2}, g).set_requires_grad();
    const auto spatial_target = from_vector<int64_t>({0, 2, 1, 1, 2, 0, -100, 1}, {2, 2, 2});
    expect_gradcheck([&](const auto& in) {
        return cross_entropy(in[0], spatial_target, {.weight = from_vector<double>({1, 2, 3}), .reduction = Reduction::sum});
    }, {spatial});
    expect_gradcheck([&](const auto& in) { return cross_entropy(in[0].transpose(0, 1), from_vector<int64_t>({3, 0, 2, 1, 1})); },
                     {logits});
    expect_gradcheck([&](const auto& in) { return nll_loss(log_softmax(in[0], 1), target, {.weight = weight}); }, {logits});
    expect_gradcheck([&](const auto& in) { return nll_loss(in[0], target, {.reduction = Reduction::none}); }, {logits});

    const auto bx = randn<double>({3, 4}, g, 0.0, 2.0).set_requires_grad();
    const auto bz = rand<double>({3, 4}, g).set_requires_grad();
    const auto pw = from_vector<double>({1, 2, 0.5, 3});
    expect_gradcheck([&](const auto& in) {
        return binary_cross_entropy_with_logits(in[0], in[1], {.pos_weight = pw, .weight = from_vector<double>({1, 0.5, 2}, {3, 1})});
    }, {bx, bz});
    expect_gradcheck([&](const auto& in) {
        return binary_cross_entropy_with_logits(in[0], in[1], {.reduction = Reduction::none});
    }, {bx, bz});

    const auto u = randn<double>({3, 4}, g).set_requires_grad(), v = randn<double>({3, 4}, g).set_requires_grad();
    expect_gradcheck([](const auto& in) { return mse_loss(in[0], in[1]); }, {u, v});
    expect_gradcheck([](const auto& in) { return smooth_l1_loss(in[0], in[1], 0.8, Reduction::sum); }, {u, v});
    expect_gradcheck([](const auto& in) { return smooth_l1_loss(in[0], in[1], 0.8, Reduction::none); }, {u, v});
    expect_gradcheck([](const auto& in) { return normalize(in[0]); }, {u});
    expect_gradcheck([](const auto& in) { return normalize(in[0], 3.0, 0); }, {u});
    expect_gradcheck([](const auto& in) { return cosine_similarity(in[0], in[1]); }, {u, v});
    expect_gradcheck([](const auto& in) { return pairwise_distance(in[0], in[1]); }, {u, v});
    expect_gradcheck([](const auto& in) { return pairwise_distance(in[0], in[1], 1.5); }, {u, v});
    const auto w3 = randn<double>({3, 4}, g).set_requires_grad();
    for (Distance d : {Distance::l2, Distance::cosine})
        for (bool swap : {false, true})
            expect_gradcheck([d, swap](const auto& in) {
                return triplet_margin_loss(in[0], in[1], in[2], {.margin = 2.0, .distance = d, .swap = swap, .reduction = Reduction::none});
            }, {u, v, w3});
}
