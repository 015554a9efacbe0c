// Reductions (sum, mean, var, max/min, argmax, topk, vector_norm) and softmax/log_softmax: fast
// paths against cpu/reference on awkward shapes and layouts, hand-computed values, determinism
// across thread counts, error messages, and double-precision gradchecks.
#include <doctest/doctest.h>

#include <seam/cpu/reference/reduce.hpp>
#include <seam/ops/reduce.hpp>
#include <seam/ops/softmax.hpp>
#include <seam/seam.hpp>

#include <cstring>
#include <limits>

using namespace seam;

namespace {
template <class T>
void check_close(const Tensor<T>& got, const Tensor<T>& want, double tol, const std::string& what) {
    REQUIRE_MESSAGE(got.shape() == want.shape(), what, ": shape ", shape_str(got.shape()), " vs ", shape_str(want.shape()));
    const auto a = got.to_vector(), b = want.to_vector();
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(double(a[i])) && std::isnan(double(b[i]))) continue;  // both NaN (e.g. var of one element)
        REQUIRE_MESSAGE(std::abs(double(a[i]) - double(b[i])) <= tol * (1 + std::abs(double(b[i]))), what, ": element ", i,
                        " is ", a[i], ", expected ", b[i]);
    }
}
template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
    const auto x = a.to_vector(), y = b.to_vector();
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(T)) == 0;
}
using Fn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;
void expect_gradcheck(const Fn& fn, std::vector<Tensor<double>> in) {
    auto r = gradcheck(fn, std::move(in));
    CHECK_MESSAGE(r.ok, r.message);
}
/// Restores the thread count a test changed.
struct ThreadCountGuard {
    int saved = num_threads();
    ~ThreadCountGuard() { set_num_threads(saved); }
};
}  // namespace

TEST_CASE("sum/mean/var: fast path equals reference on awkward shapes, dims and layouts") {
    Generator g(11);
    struct Case {
        Shape shape;
        std::vector<std::vector<int64_t>> dims;
    };
    const std::vector<Case> cases = {
        {{7, 13}, {{0}, {1}, {-1}, {0, 1}, {}}},
        {{3, 5, 7}, {{0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1}, {2, 0, 1}}},
        {{2, 1, 9, 4}, {{1}, {0, 2}, {2}, {1, 3}, {0, 1, 3}}},     // size-1 dims between reduced ones
        {{1, 1}, {{0}, {1}, {}}},
        {{5, 1}, {{0}, {1}}},
        {{4, 3, 2, 5, 3}, {{0, 2, 4}, {1, 3}, {4}, {0}}},          // alternating kept/reduced groups
        {{2, 3, 70001}, {{2}, {1, 2}, {0, 2}, {}}},                // rows longer than kReduceBlock
        {{40003, 3}, {{0}}},                                      // long columns, narrow output
        {{3, 300, 517}, {{1}, {0, 1}}},                           // columns wider than one column block
    };
    for (const auto& c : cases) {
        const Tensor<float> x = randn<float>(c.shape, g);
        for (const auto& dims : c.dims)
            for (bool keep : {false, true}) {
                const std::string what = "shape " + shape_str(c.shape) + " dims " + shape_str(dims) + (keep ? " keepdim" : "");
                check_close(sum(x, dims, keep), reference::sum(x, dims, keep), 1e-6, "sum " + what);
                check_close(mean(x, dims, keep), reference::mean(x, dims, keep), 1e-6, "mean " + what);
                check_close(var(x, dims, true, keep), reference::var(x, dims, true, keep), 1e-5, "var " + what);
                check_close(var(x, dims, false, keep), reference::var(x, dims, false, keep), 1e-5, "var biased " + what);
            }
    }
    // Non-contiguous inputs: transposed, sliced with a step of 2, expanded (stride 0).
    const Tensor<float> base = randn<float>({6, 9, 10}, g);
    const std::vector<Tensor<float>> views = {base.transpose(0, 2), base.narrow(1, 1, 7).permute({2, 0, 1}),
                                              base.view({6, 9, 5, 2}).select(3, 1),
                                              randn<float>({3, 1, 4}, g).expand({3, 5, 4})};
    for (const auto& v : views) {
        REQUIRE_FALSE(v.is_contiguous());
        for (const std::vector<int64_t>& dims : {std::vector<int64_t>{0}, {1}, {2}, {0, 2}, {}}) {
            check_close(sum(v, dims), reference::sum(v, dims), 1e-6, "sum of a view " + shape_str(v.shape()));
            check_close(var(v, dims, true, true), reference::var(v, dims, true, true), 1e-5, "var of a view");
        }
    }
    // Double inputs too.
    const Tensor<double> xd = randn<double>({5, 6, 7}, g);
    check_close(sum(xd, {0, 2}), reference::sum(xd, {0, 2}), 1e-13, "double sum");
    check_close(var(xd, {1}), reference::var(xd, {1}), 1e-13, "double var");
}

TEST_CASE("sum/mean/var: hand-computed values and shapes") {
    const auto x = from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3});
    CHECK(sum(x, {0}).to_vector() == std::vector<float>{3, 5, 7});
    CHECK(sum(x, {1}).to_vector() == std::vector<float>{3, 12});
    CHECK(sum(x, {0}, true).shape() == Shape{1, 3});
    CHECK(sum(x, {-1}, true).shape() == Shape{2, 1});
    CHECK(sum(x).shape() == Shape{});
    CHECK(sum(x).item() == 15.0f);
    CHECK(sum(x, {}).item() == 15.0f);  // an empty dims list reduces everything (PyTorch's rule)
    CHECK(mean(x, {1}).to_vector() == std::vector<float>{1, 4});
    CHECK(mean(x).item() == 2.5f);
    // var of {1, 2, 3, 4}: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5
    const auto v = from_vector<double>({1, 2, 3, 4});
    CHECK(var(v).item() == doctest::Approx(5.0 / 3.0));
    CHECK(var(v, {0}, false).item() == doctest::Approx(5.0 / 4.0));
    // var over rows of x: each row {a, a+1, a+2} has unbiased variance 1
    CHECK(var(x, {1}).to_vector() == std::vector<float>{1, 1});
    // A single element: unbiased variance is 0/0 = NaN, biased is 0; the mean of nothing is NaN.
    CHECK(std::isnan(var(from_vector<double>({7})).item()));
    CHECK(var(from_vector<double>({7}), {0}, false).item() == 0.0);
    CHECK(std::isnan(mean(zeros<float>({0})).item()));
    CHECK(sum(zeros<float>({3, 0}), {1}).to_vector() == std::vector<float>{0, 0, 0});
    // A scalar reduces to itself.
    CHECK(sum(scalar<float>(4.5f), {0}).item() == 4.5f);
    CHECK(sum(scalar<float>(4.5f)).shape() == Shape{});
}

TEST_CASE("var is two-pass: no cancellation for data far from zero") {
    // 10000 + {1, 2, 3, 4} in float: E[x²] - E[x]² would lose every digit (x² ~ 1e8 needs 27 bits).
    const auto x = from_vector<float>({10001, 10002, 10003, 10004});
    CHECK(var(x).item() == doctest::Approx(5.0 / 3.0).epsilon(1e-6));
    const auto big = full<float>({1000}, 1e6f) + arange<float>(1000.0f) * 0.001f;  // spread 1e-3 around 1e6
    const double want = reference::var(big, {}).item();
    CHECK(var(big).item() == doctest::Approx(want).epsilon(1e-5));
}

TEST_CASE("float sums are carried in double (the documented precision decision)") {
    // 4,000,000 × 0.1f: the exact sum of the float value 0.100000001490116... is 400000.00596.
    // A float accumulator, even split over 8 lanes, ends far from it (401416.8); a double one
    // gives the correctly rounded float, 400000.0 (the next floats are ± 0.03125 away).
    const auto x = full<float>({4000000}, 0.1f);
    const double exact = 4000000.0 * static_cast<double>(0.1f);
    CHECK(std::abs(double(sum(x).item()) - exact) <= 0.015625);
    // Random data: a long sum is the long double reference rounded to float.
    Generator g(19);
    const auto r = rand<float>({3000001}, g);
    CHECK(std::abs(double(sum(r).item()) / double(reference::sum(r, {}).item()) - 1.0) <= 2e-7);
    CHECK(std::abs(double(mean(x.view({2000, 2000}), {0}).to_vector()[7]) - double(0.1f)) <= 1e-8);
    CHECK(std::abs(double(sum(x.view({2000, 2000}), {1}).to_vector()[3]) - 2000.0 * double(0.1f)) <= 1e-3);
}

TEST_CASE("reductions give the same bits whatever the thread count") {
    ThreadCountGuard guard;
    Generator g(12);
    const auto rows = randn<float>({3, 200000}, g), cols = randn<float>({50000, 37}, g), cube = randn<float>({64, 33, 65}, g);
    auto run = [&] {
        return std::vector<Tensor<float>>{sum(rows), sum(rows, {1}), mean(cols, {0}), var(cube, {0, 2}), var(cols, {1}),
                                          softmax(cube, 1), log_softmax(cols, 1)};
    };
    set_num_threads(1);
    const auto one = run();
    set_num_threads(2);
    const auto two = run();
    set_num_threads(3);
    const auto three = run();
    for (size_t i = 0; i < one.size(); ++i) {
        CHECK_MESSAGE(same_bits(one[i], two[i]), "result ", i, " differs between 1 and 2 threads");
        CHECK_MESSAGE(same_bits(one[i], three[i]), "result ", i, " differs between 1 and 3 threads");
    }
}

TEST_CASE("max/min/argmax: reference, keepdim, layouts, ties to the first index, NaN") {
    Generator g(13);
    for (Shape shape : {Shape{7, 13}, Shape{3, 5, 7}, Shape{2, 1, 300, 3}, Shape{1}, Shape{4, 1}}) {
        const auto x = randn<float>(shape, g);
        for (int64_t d = -static_cast<int64_t>(shape.size()); d < static_cast<int64_t>(shape.size()); ++d)
            for (bool keep : {false, true}) {
                const auto [v, i] = max(x, d, keep);
                const auto [rv, ri] = reference::extreme(x, d, true, keep);
                check_close(v, rv, 0, "max values");
                CHECK(i.to_vector() == ri.to_vector());
                CHECK(i.shape() == rv.shape());
                const auto [mv, mi] = min(x, d, keep);
                const auto [rmv, rmi] = reference::extreme(x, d, false, keep);
                check_close(mv, rmv, 0, "min values");
                CHECK(mi.to_vector() == rmi.to_vector());
                CHECK(argmax(x, d, keep).to_vector() == ri.to_vector());
                CHECK(argmin(x, d, keep).to_vector() == rmi.to_vector());
            }
    }
    const auto xt = randn<float>({9, 6}, g).transpose(0, 1).narrow(0, 1, 4);
    CHECK(max(xt, 1).second.to_vector() == reference::extreme(xt, 1, true).second.to_vector());
    CHECK(max(xt, 0).second.to_vector() == reference::extreme(xt, 0, true).second.to_vector());
    // Ties: the lowest index wins, along the last dim and along a strided dim.
    const auto ties = from_vector<float>({3, 1, 3,   //
                                          3, 2, 2,   //
                                          0, 2, 2}, {3, 3});
    CHECK(argmax(ties, 1).to_vector() == std::vector<int64_t>{0, 0, 1});
    CHECK(argmax(ties, 0).to_vector() == std::vector<int64_t>{0, 1, 0});
    CHECK(argmin(ties, 1).to_vector() == std::vector<int64_t>{1, 1, 0});
    CHECK(argmin(ties, 0).to_vector() == std::vector<int64_t>{2, 0, 1});
    // NaN propagates: it is the max and the min, and its first occurrence is the index.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const auto with_nan = from_vector<float>({1, nan, 3, nan, 0, 2}, {1, 6});
    CHECK(argmax(with_nan, 1).item() == 1);
    CHECK(argmin(with_nan, 1).item() == 1);
    CHECK(std::isnan(max(with_nan).item()));
    CHECK(std::isnan(max(with_nan, 1).first.item()));
    // Over everything.
    CHECK(max(ties).item() == 3.0f);
    CHECK(min(ties).item() == 0.0f);
    const auto longx = randn<float>({3, 100000}, g);
    CHECK(max(longx).item() == reference::extreme(longx.reshape({-1}), 0, true).first.item());
    CHECK(min(longx).item() == reference::extreme(longx.reshape({-1}), 0, false).first.item());
    // A scalar.
    CHECK(max(scalar<float>(2.0f), 0).first.item() == 2.0f);
    CHECK(max(scalar<float>(2.0f), 0).second.item() == 0);
}

TEST_CASE("topk: reference, deterministic tie order, sorted=false, k = 0 and k = n") {
    Generator g(14);
    for (Shape shape : {Shape{5, 17}, Shape{3, 8, 4}, Shape{2, 3, 5, 2}}) {
        const auto x = randn<float>(shape, g);
        for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
            for (int64_t k : {int64_t(0), int64_t(1), int64_t(2), shape[d]})
                for (bool largest : {true, false}) {
                    const auto [v, i] = topk(x, k, d, largest);
                    const auto [rv, ri] = reference::topk(x, k, d, largest);
                    check_close(v, rv, 0, "topk values");
                    CHECK(i.to_vector() == ri.to_vector());
                }
    }
    // Ties: equal values come out in increasing index order, for largest and smallest.
    const auto ties = from_vector<double>({1, 4, 4, 2, 4, 1});
    CHECK(topk(ties, 4).second.to_vector() == std::vector<int64_t>{1, 2, 4, 3});
    CHECK(topk(ties, 3, -1, false).second.to_vector() == std::vector<int64_t>{0, 5, 3});
    CHECK(topk(ties, 3).first.to_vector() == std::vector<double>{4, 4, 4});
    // sorted=false: the chosen elements in index order.
    const auto u = from_vector<double>({0.5, 9, -1, 7, 8});
    CHECK(topk(u, 3, 0, true, false).second.to_vector() == std::vector<int64_t>{1, 3, 4});
    CHECK(topk(u, 3, 0, true, false).first.to_vector() == std::vector<double>{9, 7, 8});
    CHECK(topk(u, 3, 0, true, true).second.to_vector() == std::vector<int64_t>{1, 4, 3});
    // NaN is the largest value.
    const auto n = from_vector<double>({1, std::nan(""), 3});
    CHECK(topk(n, 1).second.item() == 1);
    CHECK(topk(n, 1, 0, false).second.item() == 0);
    // A non-contiguous input.
    const auto xt = randn<float>({6, 9}, g).transpose(0, 1);
    CHECK(topk(xt, 3, 0).second.to_vector() == reference::topk(xt, 3, 0, true).second.to_vector());
}

TEST_CASE("vector_norm: reference for p = 1, 2, 3 along any dim") {
    Generator g(15);
    const auto x = randn<float>({4, 7, 5}, g);
    for (float p : {1.0f, 2.0f, 3.0f})
        for (int64_t d : {0, 1, 2})
            check_close(vector_norm(x, p, d), reference::vector_norm(x, p, d), 1e-5, "vector_norm");
    CHECK(vector_norm(from_vector<double>({3, -4}), 2.0, 0).item() == doctest::Approx(5.0));
    CHECK(vector_norm(from_vector<double>({3, -4}), 1.0, 0).item() == doctest::Approx(7.0));
    CHECK(vector_norm(from_vector<double>({3, 4}, {1, 2}), 2.0, 1, true).shape() == Shape{1, 1});
}

TEST_CASE("reductions: errors name the op, the dimension and the shape") {
    const auto x = zeros<float>({2, 3});
    CHECK_THROWS_WITH_AS(sum(x, {2}), doctest::Contains("sum: dimension 2 is out of range for a tensor of rank 2"), Error);
    CHECK_THROWS_WITH_AS(mean(x, {-3}), doctest::Contains("mean: dimension -3 is out of range"), Error);
    CHECK_THROWS_WITH_AS(var(x, {1, -1}), doctest::Contains("var: dimension -1 appears twice"), Error);
    CHECK_THROWS_WITH_AS(max(x, 5), doctest::Contains("max: dimension 5 is out of range"), Error);
    CHECK_THROWS_WITH_AS(max(zeros<float>({2, 0}), 1), doctest::Contains("max: cannot reduce dimension 1 of size 0"), Error);
    CHECK_THROWS_WITH_AS(min(zeros<float>({0})), doctest::Contains("min: the input has no elements"), Error);
    CHECK_THROWS_WITH_AS(topk(x, 4, 1), doctest::Contains("topk: k = 4 is out of range for dimension 1 of size 3"), Error);
    CHECK_THROWS_WITH_AS(topk(x, -1), doctest::Contains("topk: k = -1"), Error);
    CHECK_THROWS_WITH_AS(vector_norm(x, 0.0f, 1), doctest::Contains("vector_norm: the order p must be positive"), Error);
    CHECK_THROWS_WITH_AS(softmax(x, 2), doctest::Contains("softmax: dimension 2 is out of range"), Error);
    CHECK_THROWS_WITH_AS(log_softmax(x, -3), doctest::Contains("log_softmax: dimension -3 is out of range"), Error);
}

TEST_CASE("gradcheck: reductions in double") {
    Generator g(16);
    const auto x = randn<double>({3, 4, 5}, g).set_requires_grad();
    const auto m = randn<double>({4, 6}, g).set_requires_grad();
    expect_gradcheck([](const auto& in) { return sum(in[0]); }, {x});
    expect_gradcheck([](const auto& in) { return sum(in[0], {0, 2}); }, {x});
    expect_gradcheck([](const auto& in) { return sum(in[0], {1}, true); }, {x});
    expect_gradcheck([](const auto& in) { return mean(in[0], {2}); }, {x});
    expect_gradcheck([](const auto& in) { return mean(in[0]); }, {x});
    expect_gradcheck([](const auto& in) { return var(in[0], {1}); }, {x});
    expect_gradcheck([](const auto& in) { return var(in[0], {0, 2}, false, true); }, {x});
    expect_gradcheck([](const auto& in) { return var(in[0]); }, {m});
    expect_gradcheck([](const auto& in) { return max(in[0], 1).first; }, {x});
    expect_gradcheck([](const auto& in) { return min(in[0], 0, true).first; }, {x});
    expect_gradcheck([](const auto& in) { return max(in[0]); }, {m});
    expect_gradcheck([](const auto& in) { return min(in[0]); }, {m});
    expect_gradcheck([](const auto& in) { return topk(in[0], 2, 1).first; }, {x});
    expect_gradcheck([](const auto& in) { return topk(in[0], 3, -1, false, false).first; }, {m});
    expect_gradcheck([](const auto& in) { return vector_norm(in[0], 2.0, 1); }, {x});
    expect_gradcheck([](const auto& in) { return vector_norm(in[0], 3.0, 2, true); }, {x});
    expect_gradcheck([](const auto& in) { return vector_norm(in[0], 1.0, 0); }, {m});
    // Through non-contiguous views.
    expect_gradcheck([](const auto& in) { return sum(in[0].transpose(0, 2), {1}); }, {x});
    expect_gradcheck([](const auto& in) { return var(in[0].narrow(2, 1, 3), {2}); }, {x});
    expect_gradcheck([](const auto& in) { return max(in[0].transpose(0, 1), 0).first; }, {m});
}

TEST_CASE("max over everything shares the gradient among tied elements") {
    auto x = from_vector<double>({1, 3, 3, 2}).set_requires_grad();
    max(x).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{0, 0.5, 0.5, 0});
    auto y = from_vector<double>({1, 3, 3, 2}, {2, 2}).set_requires_grad();
    (max(y, 1).first * 2.0).backward(ones<double>({2}));
    CHECK(y.grad().to_vector() == std::vector<double>{0, 2, 2, 0});  // per row: the first maximum
    auto z = from_vector<double>({5, 1, 5, 7}).set_requires_grad();
    topk(z, 2).first.backward(from_vector<double>({10, 20}));
    CHECK(z.grad().to_vector() == std::vector<double>{20, 0, 0, 10});  // 7 (index 3) first, then the first 5
}

TEST_CASE("softmax/log_softmax: reference along every dim, on views, hand values, extreme logits") {
    Generator g(17);
    for (Shape shape : {Shape{7, 13}, Shape{3, 5, 7}, Shape{2, 3, 300}, Shape{4, 1, 3}, Shape{1}, Shape{2, 600, 3}}) {
        const auto x = randn<float>(shape, g, 0.0f, 3.0f);
        for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
            check_close(softmax(x, d), reference::softmax(x, d), 1e-6, "softmax dim " + std::to_string(d) + " of " + shape_str(shape));
            check_close(log_softmax(x, d), reference::softmax(x, d, true), 1e-6, "log_softmax dim " + std::to_string(d));
        }
    }
    const auto xt = randn<float>({5, 8, 6}, g).permute({2, 0, 1});
    check_close(softmax(xt, 1), reference::softmax(xt, 1), 1e-6, "softmax of a permuted view");
    check_close(log_softmax(xt, -1), reference::softmax(xt, -1, true), 1e-6, "log_softmax of a permuted view");
    // Hand values: softmax(0, ln 2, ln 5) = (1, 2, 5) / 8.
    const auto h = from_vector<double>({0, std::log(2.0), std::log(5.0)});
    check_close(softmax(h, 0), from_vector<double>({0.125, 0.25, 0.625}), 1e-15, "softmax hand");
    check_close(log_softmax(h, 0), from_vector<double>({std::log(0.125), std::log(0.25), std::log(0.625)}), 1e-15,
                "log_softmax hand");
    // ±1000: finite, exact where exp underflows.
    const auto e = from_vector<float>({1000, -1000, 0, 1000}, {2, 2});
    CHECK(softmax(e, 1).to_vector() == std::vector<float>{1, 0, 0, 1});
    CHECK(log_softmax(e, 1).to_vector() == std::vector<float>{0, -2000, -1000, 0});
    auto eg = from_vector<double>({1000, -1000, 999}).set_requires_grad();
    sum(log_softmax(eg, 0) * from_vector<double>({1, 2, 3})).backward();
    for (double v : eg.grad().to_vector()) CHECK(std::isfinite(v));
}

TEST_CASE("gradcheck: softmax and log_softmax in double, every dim") {
    Generator g(18);
    const auto x = randn<double>({3, 4, 5}, g).set_requires_grad();
    const auto w = randn<double>({3, 4, 5}, g);
    for (int64_t d : {0, 1, 2, -1}) {
        // Weighted so that the gradient of the sum-to-one constraint is not trivially zero.
        expect_gradcheck([d, w](const auto& in) { return softmax(in[0], d) * w; }, {x});
        expect_gradcheck([d, w](const auto& in) { return log_softmax(in[0], d) * w; }, {x});
    }
    expect_gradcheck([](const auto& in) { return softmax(in[0].transpose(0, 2), 1); }, {x});
}
