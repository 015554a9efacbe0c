// batch_norm, batch_norm_relu, layer_norm and dropout: fast path vs the reference loops on awkward
// shapes, running statistics worked out by hand, error messages, gradchecks in double, dropout
// statistics and reproducibility across thread counts.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include <seam/cpu/reference/norm.hpp>
#include <seam/ops/norm.hpp>
#include <seam/seam.hpp>

using namespace seam;

namespace {
using Fn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;
void expect_gradcheck(const Fn& fn, std::vector<Tensor<double>> in) {
    auto r = gradcheck(fn, std::move(in));
    CHECK_MESSAGE(r.ok, r.message);
}
void check_close(const Tensor<float>& a, const Tensor<float>& b, float tol, const char* what) {
    REQUIRE(a.defined());
    REQUIRE(b.defined());
    REQUIRE(a.shape() == b.shape());
    auto va = a.to_vector(), vb = b.to_vector();
    for (size_t i = 0; i < va.size(); ++i)
        REQUIRE_MESSAGE(std::abs(va[i] - vb[i]) <= tol * (1 + std::abs(vb[i])), what, " element ", i, ": ", va[i],
                        " vs ", vb[i]);
}
bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
    auto va = a.to_vector(), vb = b.to_vector();
    return va.size() == vb.size() && std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}
/// Restores the thread count a test changed.
struct ThreadCountGuard {
    int saved = num_threads();
    ~ThreadCountGuard() { set_num_threads(saved); }
};
/// A fresh leaf with the same values (gradients of different runs must not accumulate).
Tensor<float> leaf(const Tensor<float>& t) { return t.detach().clone().set_requires_grad(); }
}  // namespace

TEST_CASE("batch_norm: fast path equals reference (forward and backward, train and eval, awkward shapes)") {
    Generator g(11);
    struct Case {
        Shape shape;
        bool transpose;  // build non-contiguous: allocate with dims 0 and 2 swapped, then transpose
    };
    for (const Case& cs : {Case{{2, 3, 5, 7}, false}, Case{{4, 5, 1, 1}, false}, Case{{1, 17, 3, 3}, false},
                           Case{{3, 5}, false}, Case{{2, 17, 9}, false}, Case{{6, 3, 4}, true}, Case{{5, 5, 3, 2}, true}}) {
        const int64_t C = cs.shape[1];
        Tensor<float> x;
        if (cs.transpose) {
            Shape s = cs.shape;
            std::swap(s[0], s[2]);
            x = add(mul(randn<float>(s, g), 2.0f), 3.0f).transpose(0, 2);  // offset mean, non-contiguous
            REQUIRE_FALSE(x.is_contiguous());
        } else {
            x = add(mul(randn<float>(cs.shape, g), 2.0f), 3.0f);
        }
        const Tensor<float> grad = randn<float>(x.shape(), g);
        const Tensor<float> w0 = randn<float>({C}, g), b0 = randn<float>({C}, g);
        const Tensor<float> rm = randn<float>({C}, g), rv = add(abs(randn<float>({C}, g)), 0.5f);
        for (bool training : {true, false}) {
            for (bool affine : {true, false}) {
                CAPTURE(shape_str(cs.shape));
                CAPTURE(training);
                CAPTURE(affine);
                // a fresh leaf for each run; a strided view of x keeps it non-contiguous when x is
                Tensor<float> xl = x.detach().set_requires_grad();
                Tensor<float> w = affine ? leaf(w0) : Tensor<float>(), b = affine ? leaf(b0) : Tensor<float>();
                Tensor<float> rm_fast = rm.clone(), rv_fast = rv.clone();
                Tensor<float> y = batch_norm(xl, rm_fast, rv_fast, w, b, training, 0.1f, 1e-5f);
                auto ref = reference::batch_norm(x, rm, rv, w, b, training, 1e-5);
                check_close(y, ref.out, 2e-5f, "output");
                y.backward(grad);
                auto rg = reference::batch_norm_backward(x, grad, w, ref.mean, ref.var, training, 1e-5);
                check_close(xl.grad(), rg.dx, 2e-4f, "dx");
                if (affine) {
                    check_close(w.grad(), rg.dweight, 2e-4f, "dweight");
                    check_close(b.grad(), rg.dbias, 2e-4f, "dbias");
                }
                if (training) {  // running buffers: (1 - m) * old + m * batch (unbiased variance)
                    for (int64_t c = 0; c < C; ++c) {
                        CHECK(rm_fast.at({c}) == doctest::Approx(0.9 * rm.at({c}) + 0.1 * ref.mean[c]).epsilon(1e-5));
                        CHECK(rv_fast.at({c}) == doctest::Approx(0.9 * rv.at({c}) + 0.1 * ref.unbiased_var[c]).epsilon(1e-5));
                    }
                } else {
                    CHECK(same_bits(rm_fast, rm));
                    CHECK(same_bits(rv_fast, rv));
                }
            }
        }
    }
}

TEST_CASE("batch_norm: running statistics after two training steps, computed by hand - eval uses them") {
    // x is [4, 2] (BatchNorm1d). Step 1: channel 0 = {1,2,3,4}: mean 2.5, biased var 1.25,
    // unbiased 5/3; channel 1 = {0,0,2,2}: mean 1, biased var 1, unbiased 4/3.
    Tensor<double> x1 = from_vector<double>({1, 0, 2, 0, 3, 2, 4, 2}, {4, 2});
    // Step 2: channel 0 = {2,2,2,6}: mean 3, unbiased var 12/3 = 4; channel 1 = {-1,1,-1,1}: mean 0, unbiased 4/3.
    Tensor<double> x2 = from_vector<double>({2, -1, 2, 1, 2, -1, 6, 1}, {4, 2});
    Tensor<double> rm = zeros<double>({2}), rv = ones<double>({2});
    const double eps = 1e-5;
    Tensor<double> y1 = batch_norm(x1, rm, rv, Tensor<double>(), Tensor<double>(), true, 0.1, eps);
    CHECK(rm.at({0}) == doctest::Approx(0.25));
    CHECK(rm.at({1}) == doctest::Approx(0.1));
    CHECK(rv.at({0}) == doctest::Approx(0.9 + 0.1 * 5.0 / 3.0));
    CHECK(rv.at({1}) == doctest::Approx(0.9 + 0.1 * 4.0 / 3.0));
    // the batch is normalised with the biased variance
    CHECK(y1.at({0, 0}) == doctest::Approx((1 - 2.5) / std::sqrt(1.25 + eps)));
    CHECK(y1.at({3, 1}) == doctest::Approx((2 - 1.0) / std::sqrt(1.0 + eps)));

    batch_norm(x2, rm, rv, Tensor<double>(), Tensor<double>(), true, 0.1, eps);
    const double rm0 = 0.9 * 0.25 + 0.1 * 3.0, rm1 = 0.9 * 0.1 + 0.1 * 0.0;
    const double rv0 = 0.9 * (0.9 + 0.1 * 5.0 / 3.0) + 0.1 * 4.0, rv1 = 0.9 * (0.9 + 0.1 * 4.0 / 3.0) + 0.1 * 4.0 / 3.0;
    CHECK(rm.at({0}) == doctest::Approx(0.525));
    CHECK(rm.at({0}) == doctest::Approx(rm0));
    CHECK(rm.at({1}) == doctest::Approx(rm1));
    CHECK(rv.at({0}) == doctest::Approx(1.36));
    CHECK(rv.at({0}) == doctest::Approx(rv0));
    CHECK(rv.at({1}) == doctest::Approx(rv1));

    // Evaluation: the running statistics, the affine part, and the buffers stay untouched.
    Tensor<double> w = from_vector<double>({2.0, -1.0}), b = from_vector<double>({0.5, 0.25});
    Tensor<double> ye = batch_norm(x1, rm, rv, w, b, false, 0.1, eps);
    CHECK(ye.at({2, 0}) == doctest::Approx((3 - rm0) / std::sqrt(rv0 + eps) * 2.0 + 0.5));
    CHECK(ye.at({1, 1}) == doctest::Approx((0 - rm1) / std::sqrt(rv1 + eps) * -1.0 + 0.25));
    CHECK(rm.at({0}) == doctest::Approx(rm0));
    CHECK(rv.at({1}) == doctest::Approx(rv1));

    // Momentum 1 keeps only the last batch; undefined buffers are simply not tracked.
    Tensor<double> rm_last = zeros<double>({2}), rv_last = zeros<double>({2});
    batch_norm(x2, rm_last, rv_last, Tensor<double>(), Tensor<double>(), true, 1.0, eps);
    CHECK(rm_last.to_vector() == std::vector<double>{3.0, 0.0});
    CHECK(rv_last.at({0}) == doctest::Approx(4.0));
    Tensor<double> y_untracked = batch_norm(x1, Tensor<double>(), Tensor<double>(), Tensor<double>(), Tensor<double>(), true);
    CHECK(y_untracked.at({0, 0}) == doctest::Approx(y1.at({0, 0})));
}

TEST_CASE("batch_norm: error messages") {
    Generator g(12);
    Tensor<float> rm = zeros<float>({3}), rv = ones<float>({3});
    // PyTorch: "Expected more than 1 value per channel when training"
    CHECK_THROWS_WITH_AS(batch_norm(randn<float>({1, 3, 1, 1}, g), rm, rv, Tensor<float>(), Tensor<float>(), true),
                         doctest::Contains("Expected more than 1 value per channel when training, got input size [1, 3, 1, 1]"),
                         Error);
    CHECK_THROWS_WITH_AS(batch_norm(randn<float>({1, 3}, g), rm, rv, Tensor<float>(), Tensor<float>(), true),
                         doctest::Contains("Expected more than 1 value per channel"), Error);
    // the same input is fine in evaluation, and so is N = 1 with spatial extent
    CHECK(batch_norm(randn<float>({1, 3, 1, 1}, g), rm, rv, Tensor<float>(), Tensor<float>(), false).numel() == 3);
    CHECK(batch_norm(randn<float>({1, 3, 2, 1}, g), rm, rv, Tensor<float>(), Tensor<float>(), true).numel() == 6);
    CHECK_THROWS_WITH_AS(batch_norm(randn<float>({2, 4, 3, 3}, g), rm, rv, Tensor<float>(), Tensor<float>(), true),
                         doctest::Contains("batch_norm: running_mean has shape [3] but the input [2, 4, 3, 3] has 4 channels"),
                         Error);
    CHECK_THROWS_WITH_AS(batch_norm(randn<float>({2, 3}, g), rm, rv, ones<float>({2}), Tensor<float>(), true),
                         doctest::Contains("batch_norm: weight has shape [2]"), Error);
    CHECK_THROWS_WITH_AS(batch_norm(randn<float>({6}, g), Tensor<float>(), Tensor<float>(), Tensor<float>(), Tensor<float>(), true),
                         doctest::Contains("at least 2-D"), Error);
    CHECK_THROWS_WITH_AS(batch_norm(randn<float>({2, 3}, g), Tensor<float>(), Tensor<float>(), Tensor<float>(), Tensor<float>(), false),
                         doctest::Contains("evaluation mode needs running_mean"), Error);
}

TEST_CASE("batch_norm: gradcheck in double (train and eval, with and without affine, 2-D and 4-D)") {
    Generator g(13);
    auto x4 = add(randn<double>({3, 2, 2, 3}, g), 1.0).detach().set_requires_grad();
    auto x2 = randn<double>({5, 3}, g).set_requires_grad();
    auto w2 = randn<double>({2}, g).set_requires_grad(), b2 = randn<double>({2}, g).set_requires_grad();
    auto w3 = randn<double>({3}, g).set_requires_grad(), b3 = randn<double>({3}, g).set_requires_grad();
    const Tensor<double> rm2 = randn<double>({2}, g), rv2 = add(abs(randn<double>({2}, g)), 0.5).detach();
    const Tensor<double> rm3 = randn<double>({3}, g), rv3 = add(abs(randn<double>({3}, g)), 0.5).detach();
    for (bool training : {true, false}) {
        CAPTURE(training);
        // the buffers are copied per call so that training-mode updates never feed back into the check
        expect_gradcheck([&](const auto& in) { return batch_norm(in[0], rm2.clone(), rv2.clone(), in[1], in[2], training); },
                         {x4, w2, b2});
        expect_gradcheck([&](const auto& in) { return batch_norm(in[0], rm3.clone(), rv3.clone(), in[1], in[2], training); },
                         {x2, w3, b3});
        expect_gradcheck([&](const auto& in) {
            return batch_norm(in[0], rm2.clone(), rv2.clone(), Tensor<double>(), Tensor<double>(), training);
        }, {x4});
        expect_gradcheck([&](const auto& in) {
            return batch_norm_relu(in[0], rm2.clone(), rv2.clone(), in[1], in[2], training);
        }, {x4, w2, b2});
    }
    // a non-contiguous input through the graph (transpose before the op)
    auto xt = randn<double>({2, 4, 3}, g).set_requires_grad();  // transposed to [4, 2, 3]: C = 2
    expect_gradcheck([&](const auto& in) {
        return batch_norm(in[0].transpose(0, 1), Tensor<double>(), Tensor<double>(), in[1], Tensor<double>(), true);
    }, {xt, randn<double>({2}, g).set_requires_grad()});
}

TEST_CASE("batch_norm_relu equals relu(batch_norm) forward and backward") {
    Generator g(14);
    const Tensor<float> x = randn<float>({3, 5, 4, 7}, g), grad = randn<float>({3, 5, 4, 7}, g);
    const Tensor<float> w = randn<float>({5}, g), b = randn<float>({5}, g);
    for (bool training : {true, false}) {
        Tensor<float> rm1 = randn<float>({5}, g), rv1 = add(abs(randn<float>({5}, g)), 0.5f);
        Tensor<float> rm2 = rm1.clone(), rv2 = rv1.clone();
        Tensor<float> xa = leaf(x), xb = leaf(x), wa = leaf(w), wb = leaf(w), ba = leaf(b), bb = leaf(b);
        Tensor<float> ya = relu(batch_norm(xa, rm1, rv1, wa, ba, training));
        Tensor<float> yb = batch_norm_relu(xb, rm2, rv2, wb, bb, training);
        CHECK(same_bits(ya, yb));
        CHECK(same_bits(rm1, rm2));
        CHECK(same_bits(rv1, rv2));
        ya.backward(grad);
        yb.backward(grad);
        check_close(xb.grad(), xa.grad(), 1e-5f, "dx");
        check_close(wb.grad(), wa.grad(), 1e-5f, "dweight");
        check_close(bb.grad(), ba.grad(), 1e-5f, "dbias");
    }
}

TEST_CASE("batch_norm and layer_norm: the same bits with 1 and 2 threads") {
    ThreadCountGuard guard;
    Generator g(15);
    const Tensor<float> x = randn<float>({4, 16, 24, 24}, g), grad = randn<float>({4, 16, 24, 24}, g);
    const Tensor<float> w = randn<float>({16}, g), b = randn<float>({16}, g);
    const Tensor<float> lw = randn<float>({24, 24}, g);
    std::vector<Tensor<float>> results[2];
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        Tensor<float> xl = leaf(x), wl = leaf(w), bl = leaf(b), rm = zeros<float>({16}), rv = ones<float>({16});
        Tensor<float> y = batch_norm(xl, rm, rv, wl, bl, true);
        y.backward(grad);
        Tensor<float> xl2 = leaf(x), lwl = leaf(lw);
        Tensor<float> z = layer_norm(xl2, {24, 24}, lwl, Tensor<float>());
        z.backward(grad);
        results[threads - 1] = {y, xl.grad(), wl.grad(), bl.grad(), rm, rv, z, xl2.grad(), lwl.grad()};
    }
    for (size_t i = 0; i < results[0].size(); ++i) CHECK_MESSAGE(same_bits(results[0][i], results[1][i]), "result ", i);
}

TEST_CASE("layer_norm: hand values, fast path vs reference, errors") {
    // [1, 2, 3]: mean 2, biased variance 2/3
    Tensor<double> h = from_vector<double>({1, 2, 3}, {1, 3});
    Tensor<double> yh = layer_norm(h, {3}, Tensor<double>(), Tensor<double>(), 1e-5);
    CHECK(yh.at({0, 0}) == doctest::Approx(-1.0 / std::sqrt(2.0 / 3.0 + 1e-5)));
    CHECK(yh.at({0, 1}) == doctest::Approx(0.0));
    Tensor<double> yw = layer_norm(h, {3}, from_vector<double>({1, 2, 3}), from_vector<double>({0, 0, 1}), 1e-5);
    CHECK(yw.at({0, 2}) == doctest::Approx(3.0 / std::sqrt(2.0 / 3.0 + 1e-5) + 1.0));

    Generator g(16);
    struct Case {
        Shape shape;
        Shape normalized;
        bool transpose;
    };
    for (const Case& cs : {Case{{3, 5, 7}, {7}, false}, Case{{3, 5, 7}, {5, 7}, false}, Case{{1, 17}, {17}, false},
                           Case{{4, 1}, {1}, false}, Case{{6, 9}, {6}, true}, Case{{2, 3, 33}, {33}, false}}) {
        CAPTURE(shape_str(cs.shape));
        Tensor<float> x = cs.transpose ? add(randn<float>(cs.shape, g), 5.0f).transpose(0, 1)
                                       : add(randn<float>(cs.shape, g), 5.0f);
        const int64_t D = numel_of(cs.normalized);
        Tensor<float> grad = randn<float>(x.shape(), g);
        for (bool affine : {true, false}) {
            Tensor<float> w = affine ? randn<float>(cs.normalized, g).set_requires_grad() : Tensor<float>();
            Tensor<float> b = affine ? randn<float>(cs.normalized, g).set_requires_grad() : Tensor<float>();
            Tensor<float> xl = x.detach().set_requires_grad();  // a strided leaf when transposed
            Tensor<float> y = layer_norm(xl, cs.normalized, w, b);
            check_close(y, reference::layer_norm(x, D, w, b, 1e-5), 2e-5f, "output");
            y.backward(grad);
            auto rg = reference::layer_norm_backward(x, grad, D, w, 1e-5);
            // D = 1 normalises every value to 0: its gradient is ~0 and only an absolute bound makes sense
            check_close(xl.grad(), rg.dx, D == 1 ? 1e-2f : 2e-4f, "dx");
            if (affine) {
                check_close(w.grad().reshape({D}), rg.dweight, 2e-4f, "dweight");
                check_close(b.grad().reshape({D}), rg.dbias, 2e-4f, "dbias");
            }
        }
    }
    CHECK_THROWS_WITH_AS(layer_norm(randn<float>({2, 3, 4}, g), {3}, Tensor<float>(), Tensor<float>()),
                         doctest::Contains("layer_norm: input of shape [2, 3, 4] does not end in normalized_shape [3]"), Error);
    CHECK_THROWS_WITH_AS(layer_norm(randn<float>({2, 4}, g), {4}, ones<float>({2, 2}), Tensor<float>()),
                         doctest::Contains("layer_norm: weight has shape [2, 2] but normalized_shape is [4]"), Error);
    CHECK_THROWS_WITH_AS(layer_norm(randn<float>({4}, g), {2, 4}, Tensor<float>(), Tensor<float>()),
                         doctest::Contains("does not end in normalized_shape"), Error);
}

TEST_CASE("layer_norm: gradcheck in double") {
    Generator g(17);
    auto x = randn<double>({3, 2, 4}, g).set_requires_grad();
    auto w = randn<double>({2, 4}, g).set_requires_grad(), b = randn<double>({2, 4}, g).set_requires_grad();
    auto w1 = randn<double>({4}, g).set_requires_grad();
    expect_gradcheck([](const auto& in) { return layer_norm(in[0], {2, 4}, in[1], in[2]); }, {x, w, b});
    expect_gradcheck([](const auto& in) { return layer_norm(in[0], {4}, in[1], Tensor<double>()); }, {x, w1});
    expect_gradcheck([](const auto& in) { return layer_norm(in[0], {4}, Tensor<double>(), Tensor<double>()); }, {x});
    expect_gradcheck([](const auto& in) { return layer_norm(in[0].transpose(0, 2), {3}, Tensor<double>(), Tensor<double>()); },
                     {x});
}

TEST_CASE("dropout: statistics, exact scaling, identity at eval, p = 0 and p = 1") {
    Generator g(18);
    const Tensor<float> x = add(abs(randn<float>({400, 500}, g)), 0.1f);  // never 0, so zeros are drops
    for (float p : {0.1f, 0.3f, 0.5f, 0.9f}) {
        CAPTURE(p);
        Tensor<float> y = dropout(x, p, true, g);
        auto vx = x.to_vector(), vy = y.to_vector();
        const float scale = 1.0f / (1.0f - p);
        int64_t dropped = 0;
        bool exact = true;
        for (size_t i = 0; i < vx.size(); ++i) {
            if (vy[i] == 0.0f) ++dropped;
            else exact = exact && vy[i] == vx[i] * scale;
        }
        const double fraction = static_cast<double>(dropped) / static_cast<double>(vx.size());
        // 200,000 draws: the standard deviation of the fraction is at most 0.0012; allow ~5 sigma
        CHECK(std::abs(fraction - p) < 0.006);
        CHECK(exact);
    }
    // evaluation and p = 0: the identity (the same tensor comes back)
    CHECK(dropout(x, 0.5f, false, g).data() == x.data());
    CHECK(dropout(x, 0.0f, true, g).data() == x.data());
    // p = 1: zeros, and a zero gradient
    Tensor<float> xl = x.narrow(0, 0, 3).detach().clone().set_requires_grad();
    Tensor<float> z = dropout(xl, 1.0f, true, g);
    for (float v : z.to_vector()) CHECK(v == 0.0f);
    z.backward(ones<float>(z.shape()));
    for (float v : xl.grad().to_vector()) CHECK(v == 0.0f);
    CHECK_THROWS_WITH_AS(dropout(x, 1.5f, true, g), doctest::Contains("dropout: probability 1.5 is outside [0, 1]"), Error);
}

TEST_CASE("dropout: reproducible from the generator state, whatever the thread count or layout") {
    ThreadCountGuard guard;
    Generator g(19);
    const Tensor<float> x = randn<float>({301, 301}, g);  // 90601 elements: a partial last block
    Tensor<float> y[2];
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        Generator gen(77);
        y[threads - 1] = dropout(x, 0.4f, true, gen);
        CHECK(gen.offset() == (301 * 301 + 3) / 4);  // the stream advanced by exactly the elements used
    }
    CHECK(same_bits(y[0], y[1]));
    // the next draw from the same generator gives another mask
    Generator gen(77);
    Tensor<float> first = dropout(x, 0.4f, true, gen), second = dropout(x, 0.4f, true, gen);
    CHECK(same_bits(first, y[0]));
    CHECK_FALSE(same_bits(first, second));
    // the mask follows the row-major logical order, not the memory layout
    const Tensor<float> xt = randn<float>({7, 5}, g).transpose(0, 1);
    Generator ga(5), gb(5);
    CHECK(same_bits(dropout(xt, 0.5f, true, ga), dropout(xt.contiguous(), 0.5f, true, gb)));
    // backward multiplies by the same mask: the gradient of sum(y) is scale where kept, 0 where dropped
    Generator gc(78);
    Tensor<float> xl = x.detach().clone().set_requires_grad();
    Tensor<float> yl = dropout(xl, 0.25f, true, gc);
    yl.backward(ones<float>(yl.shape()));
    auto vy = yl.to_vector(), vg = xl.grad().to_vector(), vx = x.to_vector();
    bool consistent = true;
    for (size_t i = 0; i < vy.size(); ++i)
        consistent = consistent && (vg[i] == (vy[i] == 0.0f && vx[i] != 0.0f ? 0.0f : 1.0f / 0.75f));
    CHECK(consistent);
}

TEST_CASE("dropout: gradcheck in double with a fixed mask") {
    Generator g(20);
    auto x = randn<double>({4, 5}, g).set_requires_grad();
    // a fresh generator with the same state on every call: the same mask for every evaluation
    expect_gradcheck([](const auto& in) {
        Generator gen(123);
        return dropout(in[0], 0.4, true, gen);
    }, {x});
    expect_gradcheck([](const auto& in) {
        Generator gen(124);
        return dropout(in[0].transpose(0, 1), 0.6, true, gen) * 2.0;
    }, {x});
}
