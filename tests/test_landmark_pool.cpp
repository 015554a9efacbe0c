// Landmark pooling (FashionNet, model-specs §1.3): hand-computed cases, the window geometry,
// fast path vs reference on awkward shapes, the gates, gradchecks in double, errors, the module.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numeric>

#include <seam/cpu/reference/landmark_pool.hpp>
#include <seam/ops/landmark_pool.hpp>
#include <seam/seam.hpp>

using namespace seam;

namespace {

using Fn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;
void expect_gradcheck(const Fn& fn, std::vector<Tensor<double>> in) {
    auto r = gradcheck(fn, std::move(in));
    CHECK_MESSAGE(r.ok, r.message);
}

// The 6x6 map of the hand-computed case: the numbers 0..35, each once, so every max is unique.
const std::vector<float> kMap6x6 = {
    10, 2,  33, 14, 7,  21,  //
    5,  30, 1,  26, 19, 8,   //
    27, 12, 35, 3,  16, 29,  //
    0,  22, 9,  31, 11, 4,   //
    18, 34, 13, 6,  28, 24,  //
    25, 15, 20, 32, 17, 23,
};

template <class T>
void require_equal(const Tensor<T>& a, const Tensor<T>& b, const char* what) {
    REQUIRE(a.shape() == b.shape());
    auto va = a.to_vector(), vb = b.to_vector();
    for (size_t i = 0; i < va.size(); ++i) {
        const bool same = va[i] == vb[i] || (std::isnan(static_cast<double>(va[i])) && std::isnan(static_cast<double>(vb[i])));
        REQUIRE_MESSAGE(same, what, ": element ", i, " is ", va[i], " vs reference ", vb[i]);
    }
}

template <class T>
void require_close(const Tensor<T>& a, const Tensor<T>& b, double tol, const char* what) {
    REQUIRE(a.shape() == b.shape());
    auto va = a.to_vector(), vb = b.to_vector();
    for (size_t i = 0; i < va.size(); ++i)
        REQUIRE_MESSAGE(std::abs(static_cast<double>(va[i]) - static_cast<double>(vb[i])) <=
                            tol * (1.0 + std::abs(static_cast<double>(vb[i]))),
                        what, ": element ", i, " is ", va[i], " vs reference ", vb[i]);
}

/// Distinct values (a shuffled ramp, 0.1 apart), so no max has a tie and finite differences of
/// 1e-6 never change an argmax.
Tensor<double> distinct_values(const Shape& shape, Generator& gen) {
    const int64_t n = numel_of(shape);
    std::vector<double> key = rand<double>({n}, gen).to_vector();
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return key[a] < key[b]; });
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(order[i])] = 0.1 * static_cast<double>(i) - 0.05 * static_cast<double>(n);
    return from_vector(v, shape);
}

}  // namespace

TEST_CASE("landmark_pool: hand-computed 6x6 map, two landmarks, 4x4 window, 2x2 bins") {
    // Landmark A at (0.5, 0.5): centre (3, 3) in cells; window start floor(3 - 1.5) = 1 on both
    // axes, so rows and columns 1..4; bins are 2x2 cells.
    //   bin (0,0) rows 1-2 cols 1-2: 30 1 / 12 35 -> 35 at (2,2) = 14
    //   bin (0,1) rows 1-2 cols 3-4: 26 19 / 3 16 -> 26 at (1,3) = 9
    //   bin (1,0) rows 3-4 cols 1-2: 22 9 / 34 13 -> 34 at (4,1) = 25
    //   bin (1,1) rows 3-4 cols 3-4: 31 11 / 6 28 -> 31 at (3,3) = 21
    // Landmark B at (0.05, 0.95): centre (0.3, 5.7); columns start floor(0.3 - 1.5) = -2 (cols
    // -2..1), rows start floor(5.7 - 1.5) = 4 (rows 4..7). Only bin (0,1) reaches the map:
    //   rows 4-5 cols 0-1: 18 34 / 25 15 -> 34 at (4,1) = 25; the other bins are empty: 0, -1.
    auto features = from_vector<float>(kMap6x6, {1, 1, 6, 6});
    auto landmarks = from_vector<float>({0.5f, 0.5f, 0.05f, 0.95f}, {1, 2, 2});
    auto visibility = from_vector<float>({0.9f, 0.7f}, {1, 2});
    LandmarkPoolOptions opt;
    opt.window = {4, 4};
    opt.bins = {2, 2};

    auto [out, idx] = landmark_pool_with_indices(features, landmarks, visibility, opt);
    CHECK(out.shape() == Shape{1, 2, 1, 2, 2});
    CHECK(out.to_vector() == std::vector<float>{35, 26, 34, 31, 0, 34, 0, 0});
    CHECK(idx.to_vector() == std::vector<int64_t>{14, 9, 25, 21, -1, 25, -1, -1});
    auto [ref_out, ref_idx] = reference::landmark_pool(features, landmarks, visibility, opt);
    CHECK(ref_out.to_vector() == out.to_vector());
    CHECK(ref_idx.to_vector() == idx.to_vector());

    SUBCASE("hard gate: gradient of ones lands on the winners; (4,1) wins for both landmarks") {
        auto f = features.clone().set_requires_grad();
        auto v = visibility.clone().set_requires_grad();
        landmark_pool(f, landmarks, v, opt).backward(ones<float>({1, 2, 1, 2, 2}));
        std::vector<float> expected(36, 0.0f);
        expected[14] = 1, expected[9] = 1, expected[21] = 1, expected[25] = 2;
        CHECK(f.grad().to_vector() == expected);
        CHECK_FALSE(v.grad().defined());  // the hard gate is a step: no gradient
    }
    SUBCASE("hard gate off for B (p = 0.3): zeros, indices -1, no gradient") {
        auto f = features.clone().set_requires_grad();
        auto vis_b_off = from_vector<float>({0.9f, 0.3f}, {1, 2});
        auto [o2, i2] = landmark_pool_with_indices(f, landmarks, vis_b_off, opt);
        CHECK(o2.to_vector() == std::vector<float>{35, 26, 34, 31, 0, 0, 0, 0});
        CHECK(i2.to_vector() == std::vector<int64_t>{14, 9, 25, 21, -1, -1, -1, -1});
        o2.backward(ones<float>({1, 2, 1, 2, 2}));
        std::vector<float> expected(36, 0.0f);
        expected[14] = 1, expected[9] = 1, expected[21] = 1, expected[25] = 1;
        CHECK(f.grad().to_vector() == expected);
    }
    SUBCASE("soft gate: outputs scaled by p, gradients p at the winners and sum of maxima to p") {
        LandmarkPoolOptions soft = opt;
        soft.gate = LandmarkGate::soft;
        auto f = features.clone().set_requires_grad();
        auto v = visibility.clone().set_requires_grad();
        auto o = landmark_pool(f, landmarks, v, soft);
        const std::vector<float> expected_out{0.9f * 35, 0.9f * 26, 0.9f * 34, 0.9f * 31, 0, 0.7f * 34, 0, 0};
        CHECK(o.to_vector() == expected_out);
        o.backward(ones<float>({1, 2, 1, 2, 2}));
        auto gf = f.grad().to_vector();
        CHECK(gf[14] == doctest::Approx(0.9));
        CHECK(gf[9] == doctest::Approx(0.9));
        CHECK(gf[21] == doctest::Approx(0.9));
        CHECK(gf[25] == doctest::Approx(1.6));  // 0.9 from A + 0.7 from B
        CHECK(std::accumulate(gf.begin(), gf.end(), 0.0f) == doctest::Approx(0.9 * 4 + 0.7));
        CHECK(v.grad().to_vector() == std::vector<float>{35 + 26 + 34 + 31, 34});
    }
    SUBCASE("no gate: visibility may be undefined") {
        LandmarkPoolOptions none = opt;
        none.gate = LandmarkGate::none;
        CHECK(landmark_pool(features, landmarks, Tensor<float>(), none).to_vector() == out.to_vector());
    }
}

TEST_CASE("landmark_pool: odd window with overlapping bins - a cell winning four bins gets four gradients") {
    // 4x4 map, landmark (0.5, 0.5) -> centre (2, 2) on a cell border: an odd window is centred on
    // the cell to the right/below, so the 3x3 window is rows and cols 1..3. Bins of 3 cells in 2:
    // [0, 2) and [1, 3), i.e. rows {1,2} and {2,3}: cell (2,2) is in all four bins.
    std::vector<float> map = {
        0, 1, 2,  3,   //
        4, 5, 6,  7,   //
        8, 9, 50, 11,  //
        12, 13, 14, 15,
    };
    auto f = from_vector<float>(map, {1, 1, 4, 4}).set_requires_grad();
    auto lm = from_vector<float>({0.5f, 0.5f}, {1, 1, 2});
    LandmarkPoolOptions opt;
    opt.window = {3, 3};
    opt.gate = LandmarkGate::none;
    auto [out, idx] = landmark_pool_with_indices(f, lm, Tensor<float>(), opt);
    CHECK(out.to_vector() == std::vector<float>{50, 50, 50, 50});
    CHECK(idx.to_vector() == std::vector<int64_t>{10, 10, 10, 10});
    out.backward(ones<float>(out.shape()));
    CHECK(f.grad().to_vector()[10] == 4.0f);
    CHECK(f.grad().to_vector()[0] == 0.0f);

    // With 10 back in cell (2, 2) each bin has its own winner (the bottom-right cell of each).
    map[10] = 10;
    auto f2 = from_vector<float>(map, {1, 1, 4, 4});
    // rows {1,2} x cols {1,2}: 5 6 9 10 -> 10; rows {1,2} x cols {2,3}: 6 7 10 11 -> 11;
    // rows {2,3} x cols {1,2}: 9 10 13 14 -> 14; rows {2,3} x cols {2,3}: 10 11 14 15 -> 15.
    auto [o2, i2] = landmark_pool_with_indices(f2, lm, Tensor<float>(), opt);
    CHECK(o2.to_vector() == std::vector<float>{10, 11, 14, 15});
    CHECK(i2.to_vector() == std::vector<int64_t>{10, 11, 14, 15});
}

TEST_CASE("landmark_pool: ties keep the first maximum in scan order - a NaN wins") {
    // Landmark (0.5, 0.5) on a 4x4 map with a 4x4 window: start floor(2 - 1.5) = 0, the whole map;
    // bins are its four 2x2 quadrants.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> map = {
        1, 5, 1, 1,  //  bin (0,0): 5 at (0,1) and (1,0) -> (0,1) = 1 comes first
        5, 1, 1, 1,  //  bin (0,1): all 1 -> its first cell (0,2) = 2
        1, 1, 7, 7,  //  bin (1,0): all 1 -> its first cell (2,0) = 8
        1, 1, 7, nan,  // bin (1,1): the NaN at (3,3) = 15 wins over the 7s
    };
    auto f = from_vector<float>(map, {1, 1, 4, 4}).set_requires_grad();
    auto lm = from_vector<float>({0.5f, 0.5f}, {1, 1, 2});
    LandmarkPoolOptions opt;
    opt.window = {4, 4};
    opt.gate = LandmarkGate::none;
    auto [out, idx] = landmark_pool_with_indices(f, lm, Tensor<float>(), opt);
    auto v = out.to_vector();
    CHECK(v[0] == 5);
    CHECK(v[1] == 1);
    CHECK(v[2] == 1);
    CHECK(std::isnan(v[3]));
    CHECK(idx.to_vector() == std::vector<int64_t>{1, 2, 8, 15});
    auto [ref, ref_idx] = reference::landmark_pool(f.detach(), lm, Tensor<float>(), opt);
    CHECK(ref_idx.to_vector() == idx.to_vector());
    out.backward(ones<float>(out.shape()));
    std::vector<float> expected(16, 0.0f);
    expected[1] = expected[2] = expected[8] = expected[15] = 1;
    CHECK(f.grad().to_vector() == expected);
}

TEST_CASE("landmark_pool: features with many NaNs give the reference's values and argmax") {
    // 15% NaNs: bins with one NaN, several (the last one wins under the takes rule), a NaN in the
    // first cell, and bins without any (the two-pass path).
    Generator gen(31);
    auto x = randn<float>({2, 7, 9, 8}, gen);
    auto mask = rand<float>(x.shape(), gen).to_vector();
    for (size_t i = 0; i < mask.size(); ++i)
        if (mask[i] < 0.15f) x.data()[i] = std::numeric_limits<float>::quiet_NaN();
    auto lm = rand<float>({2, 5, 2}, gen, -0.2f, 1.2f);
    for (auto [window, bins] : {std::pair<std::array<int64_t, 2>, std::array<int64_t, 2>>{{5, 5}, {2, 2}},
                                {{3, 7}, {3, 2}}, {{9, 8}, {1, 1}}}) {
        LandmarkPoolOptions opt;
        opt.window = window;
        opt.bins = bins;
        opt.gate = LandmarkGate::none;
        auto [out, idx] = landmark_pool_with_indices(x, lm, Tensor<float>(), opt);
        auto [ref, ref_idx] = reference::landmark_pool(x, lm, Tensor<float>(), opt);
        require_equal(out, ref, "forward with NaNs");
        require_equal(idx, ref_idx, "indices with NaNs");
    }
}

TEST_CASE("landmark_pool: window placement (1x1 and 2x2 windows read back the cells they cover)") {
    // Cell (h, w) of a 4x5 map holds 100 + 10*h + w (no cell holds 0, the value of an empty bin).
    std::vector<float> map;
    for (int h = 0; h < 4; ++h)
        for (int w = 0; w < 5; ++w) map.push_back(static_cast<float>(100 + 10 * h + w));
    auto f = from_vector<float>(map, {1, 1, 4, 5});
    LandmarkPoolOptions one;
    one.window = {1, 1};
    one.bins = {1, 1};
    one.gate = LandmarkGate::none;
    auto pool1 = [&](float x, float y) {
        return landmark_pool(f, from_vector<float>({x, y}, {1, 1, 2}), Tensor<float>(), one).item();
    };
    CHECK(pool1(0.0f, 0.0f) == 100);      // the top-left corner is in cell (0, 0)
    CHECK(pool1(0.5f, 0.5f) == 122);      // (2.5, 2.0) -> column 2, row 2 (a border goes below)
    CHECK(pool1(0.39f, 0.24f) == 101);    // (1.95, 0.96) -> column 1, row 0
    CHECK(pool1(0.999f, 0.999f) == 134);  // the last cell
    CHECK(pool1(1.0f, 0.0f) == 0);        // x*W = 5: just right of the map -> empty bin -> 0
    CHECK(pool1(-0.01f, 0.3f) == 0);      // just left of the map -> 0
    CHECK(pool1(1e30f, 0.5f) == 0);       // far outside: the clamp keeps the int64 conversion defined
    CHECK(pool1(0.5f, -3e38f) == 0);

    // Even window: the 2 cells whose centres are nearest; bins 2x2 read the four cells one by one.
    // At (0.5, 0.5) = (2.5, 2.0) in cells: columns start floor(2.5 - 0.5) = 2 (centre 2.5, then
    // the tie between 1.5 and 3.5 goes right), rows floor(2.0 - 0.5) = 1 (centres 1.5 and 2.5).
    LandmarkPoolOptions two = one;
    two.window = {2, 2};
    two.bins = {2, 2};
    auto out = landmark_pool(f, from_vector<float>({0.5f, 0.5f}, {1, 1, 2}), Tensor<float>(), two);
    CHECK(out.to_vector() == std::vector<float>{112, 113, 122, 123});
    // At (0.55, 0.55) = (2.75, 2.2): columns floor(2.25) = 2 -> 2, 3; rows floor(1.7) = 1 -> 1, 2.
    out = landmark_pool(f, from_vector<float>({0.55f, 0.55f}, {1, 1, 2}), Tensor<float>(), two);
    CHECK(out.to_vector() == std::vector<float>{112, 113, 122, 123});
    // At (0.45, 0.6) = (2.25, 2.4): columns floor(1.75) = 1 -> 1, 2; rows floor(1.9) = 1 -> 1, 2.
    out = landmark_pool(f, from_vector<float>({0.45f, 0.6f}, {1, 1, 2}), Tensor<float>(), two);
    CHECK(out.to_vector() == std::vector<float>{111, 112, 121, 122});

    // The reference, which finds windows by cell centres, agrees on all of them.
    for (auto xy : {std::array<float, 2>{0.0f, 0.0f}, {0.5f, 0.5f}, {0.39f, 0.24f}, {1.0f, 0.0f}, {0.45f, 0.6f},
                    {0.55f, 0.55f}, {-0.1f, 1.1f}}) {
        auto lm = from_vector<float>({xy[0], xy[1]}, {1, 1, 2});
        for (const auto& o : {one, two}) {
            auto [a, ai] = landmark_pool_with_indices(f, lm, Tensor<float>(), o);
            auto [b, bi] = reference::landmark_pool(f, lm, Tensor<float>(), o);
            CHECK(a.to_vector() == b.to_vector());
            CHECK(ai.to_vector() == bi.to_vector());
        }
    }
}

TEST_CASE("landmark_pool: fast path equals the reference on awkward shapes") {
    struct Case {
        int64_t N, C, H, W, L;
        std::array<int64_t, 2> window, bins;
        LandmarkGate gate;
    };
    const std::vector<Case> cases = {
        {1, 3, 7, 9, 4, {3, 3}, {2, 2}, LandmarkGate::hard},    // odd map, odd window, overlapping bins
        {3, 17, 6, 5, 3, {4, 5}, {3, 3}, LandmarkGate::soft},   // C = 17, bins 3x3 over 4x5
        {2, 3, 5, 7, 5, {11, 13}, {2, 2}, LandmarkGate::none},  // window larger than the map
        {1, 17, 9, 4, 2, {1, 1}, {1, 1}, LandmarkGate::soft},   // 1x1 window and bins
        {3, 5, 8, 8, 6, {7, 7}, {1, 1}, LandmarkGate::hard},    // one bin over the whole window
        {2, 4, 3, 11, 3, {2, 6}, {3, 3}, LandmarkGate::none},   // more bin rows than window rows
        {2, 40, 28, 28, 8, {7, 7}, {2, 2}, LandmarkGate::soft}, // FashionNet geometry, threaded
    };
    Generator gen(17);
    for (const Case& k : cases) {
        CAPTURE(k.N);
        CAPTURE(k.C);
        CAPTURE(k.H);
        CAPTURE(k.W);
        CAPTURE(k.L);
        LandmarkPoolOptions opt;
        opt.window = k.window;
        opt.bins = k.bins;
        opt.gate = k.gate;
        // Landmarks spread over [-0.4, 1.4], plus fixed border and far-outside points.
        auto lm = rand<float>({k.N, k.L, 2}, gen, -0.4f, 1.4f);
        const std::vector<std::array<float, 2>> special = {{0.0f, 0.0f}, {1.0f, 1.0f}, {1.0f, 0.5f}, {-3.0f, 0.5f},
                                                           {0.5f, 7.0f}};
        for (int64_t l = 0; l < std::min<int64_t>(k.L, 5); ++l) {
            lm.data()[2 * l] = special[l][0];
            lm.data()[2 * l + 1] = special[l][1];
        }
        auto vis = rand<float>({k.N, k.L}, gen);
        auto x = randn<float>({k.N, k.C, k.H, k.W}, gen).set_requires_grad();
        auto v = vis.clone().set_requires_grad();
        auto [out, idx] = landmark_pool_with_indices(x, lm, v, opt);
        auto [ref, ref_idx] = reference::landmark_pool(x.detach(), lm, vis, opt);
        require_equal(out, ref, "forward");
        require_equal(idx, ref_idx, "indices");
        CHECK(landmark_pool(x.detach(), lm, vis, opt).to_vector() == out.to_vector());  // inference path

        auto grad = randn<float>(out.shape(), gen);
        out.backward(grad);
        require_close(x.grad(), reference::landmark_pool_backward_features(grad, ref_idx, vis, opt, x.shape()), 1e-6,
                      "d features");
        if (k.gate == LandmarkGate::soft)
            require_close(v.grad(), reference::landmark_pool_backward_visibility(grad, x.detach(), lm, opt), 1e-5,
                          "d visibility");
        else
            CHECK_FALSE(v.grad().defined());
    }
}

TEST_CASE("landmark_pool: non-contiguous inputs and thread counts give the same bits") {
    Generator gen(5);
    LandmarkPoolOptions opt;
    opt.window = {5, 3};
    opt.bins = {2, 3};
    opt.gate = LandmarkGate::soft;
    // features as the transpose of a [N, C, W, H] tensor, landmarks as a narrowed [N, 2L, 2] one,
    // visibility as a transposed [L, N] one.
    auto xt = randn<float>({2, 6, 9, 7}, gen);
    auto x = xt.transpose(2, 3);
    auto lm_wide = rand<float>({2, 8, 2}, gen, -0.2f, 1.2f);
    auto lm = lm_wide.narrow(1, 2, 4);
    auto vis = rand<float>({4, 2}, gen).transpose(0, 1);
    REQUIRE_FALSE(x.is_contiguous());
    REQUIRE_FALSE(lm.is_contiguous());
    REQUIRE_FALSE(vis.is_contiguous());
    auto [out, idx] = landmark_pool_with_indices(x, lm, vis, opt);
    auto [ref, ref_idx] = reference::landmark_pool(x, lm, vis, opt);
    require_equal(out, ref, "forward, strided");
    require_equal(idx, ref_idx, "indices, strided");
    auto [oc, ic] = landmark_pool_with_indices(x.contiguous(), lm.contiguous(), vis.contiguous(), opt);
    require_equal(out, oc, "strided vs contiguous");

    // Threaded vs one thread, forward and backward, on a shape big enough to split.
    auto big = randn<float>({2, 64, 28, 28}, gen).set_requires_grad();
    auto blm = rand<float>({2, 8, 2}, gen);
    auto bvis = rand<float>({2, 8}, gen).set_requires_grad();
    auto g = randn<float>({2, 8, 64, 2, 3}, gen);
    auto run = [&](int threads) {
        set_num_threads(threads);
        big.zero_grad();
        bvis.zero_grad();
        auto o = landmark_pool(big, blm, bvis, opt);
        o.backward(g);
        return std::vector<std::vector<float>>{o.to_vector(), big.grad().to_vector(), bvis.grad().to_vector()};
    };
    const int before = num_threads();
    auto one = run(1), two = run(2);
    set_num_threads(before);
    CHECK(one == two);
}

TEST_CASE("landmark_pool: the hard gate zeroes invisible landmarks and their gradient") {
    Generator gen(9);
    auto x = randn<float>({2, 5, 10, 10}, gen);
    // A NaN in a corner only the invisible landmark's window covers must not leak into its output.
    x.data()[0] = std::numeric_limits<float>::quiet_NaN();  // n = 0, c = 0, cell (0, 0)
    auto lm = from_vector<float>({0.05f, 0.05f, 0.5f, 0.5f, 0.8f, 0.3f,  //
                                  0.2f, 0.7f, 0.6f, 0.6f, 0.9f, 0.9f},
                                 {2, 3, 2});
    // p = 0.5 exactly is invisible (p > threshold is strict); 0.51 is visible.
    auto vis = from_vector<float>({0.2f, 0.9f, 0.5f, 0.51f, 0.0f, 1.0f}, {2, 3});
    LandmarkPoolOptions opt;
    opt.window = {5, 5};
    auto xg = x.clone().set_requires_grad();
    auto vg = vis.clone().set_requires_grad();
    auto out = landmark_pool(xg, lm, vg, opt);
    REQUIRE(out.shape() == Shape{2, 3, 5, 2, 2});
    const std::vector<std::array<int64_t, 2>> invisible = {{0, 0}, {0, 2}, {1, 1}};
    for (auto [n, l] : invisible)
        for (int64_t c = 0; c < 5; ++c)
            for (int64_t u = 0; u < 2; ++u)
                for (int64_t v = 0; v < 2; ++v) CHECK(out.at({n, l, c, u, v}) == 0.0f);
    CHECK(out.at({0, 1, 2, 0, 0}) != 0.0f);  // visible ones pool
    out.backward(ones<float>(out.shape()));
    CHECK_FALSE(vg.grad().defined());

    // The feature gradient equals that of pooling only the visible landmarks, ungated.
    auto xv = x.clone();
    xv.data()[0] = 0.0f;  // (the NaN cell gets no gradient either way)
    auto xvg = xv.set_requires_grad();
    LandmarkPoolOptions none = opt;
    none.gate = LandmarkGate::none;
    auto lm0 = from_vector<float>({0.5f, 0.5f}, {1, 1, 2});
    auto lm1 = from_vector<float>({0.2f, 0.7f, 0.9f, 0.9f}, {1, 2, 2});
    auto g0 = landmark_pool(xvg.narrow(0, 0, 1), lm0, Tensor<float>(), none);
    auto g1 = landmark_pool(xvg.narrow(0, 1, 1), lm1, Tensor<float>(), none);
    (sum(g0) + sum(g1)).backward();
    CHECK(xg.grad().to_vector() == xvg.grad().to_vector());
    CHECK(xg.grad().to_vector()[0] == 0.0f);
}

TEST_CASE("landmark_pool: gradcheck in double (features - visibility with the soft gate)") {
    Generator gen(23);
    auto x = distinct_values({2, 3, 5, 6}, gen).set_requires_grad();
    // One landmark inside, one across the top-left border, one across the bottom-right border.
    auto lm = from_vector<double>({0.4, 0.55, -0.05, 0.1, 0.95, 0.9,  //
                                   0.7, 0.2, 0.3, 0.8, 1.05, -0.1},
                                  {2, 3, 2});
    auto vis = from_vector<double>({0.8, 0.3, 0.6, 0.9, 0.7, 0.2}, {2, 3}).set_requires_grad();
    for (LandmarkGate gate : {LandmarkGate::none, LandmarkGate::hard, LandmarkGate::soft}) {
        CAPTURE(landmark_gate_name(gate));
        LandmarkPoolOptions opt;
        opt.window = {3, 4};
        opt.bins = {2, 2};
        opt.gate = gate;
        expect_gradcheck([&](const auto& in) { return landmark_pool(in[0], lm, vis.detach(), opt); }, {x});
        if (gate == LandmarkGate::soft)
            expect_gradcheck([&](const auto& in) { return landmark_pool(in[0], lm, in[1], opt); }, {x, vis});
    }
    // bins 3x3 over a 5x5 window, soft gate
    LandmarkPoolOptions opt;
    opt.window = {5, 5};
    opt.bins = {3, 3};
    opt.gate = LandmarkGate::soft;
    expect_gradcheck([&](const auto& in) { return landmark_pool(in[0], lm, in[1], opt); }, {x, vis});
}

TEST_CASE("landmark_pool: landmarks get no gradient and do not make the output require grad") {
    auto x = from_vector<float>(kMap6x6, {1, 1, 6, 6});
    auto lm = from_vector<float>({0.5f, 0.5f}, {1, 1, 2}).set_requires_grad();
    auto vis = from_vector<float>({1.0f}, {1, 1});
    CHECK_FALSE(landmark_pool(x, lm, vis).requires_grad());
    auto xg = x.clone().set_requires_grad();
    auto out = landmark_pool(xg, lm, vis);
    out.backward(ones<float>(out.shape()));
    CHECK_FALSE(lm.grad().defined());
    CHECK(xg.grad().defined());
}

TEST_CASE("landmark_pool: errors name the op and the shapes") {
    auto x = zeros<float>({2, 3, 6, 6});
    auto lm = zeros<float>({2, 4, 2});
    auto vis = zeros<float>({2, 4});
    CHECK_THROWS_WITH_AS(landmark_pool(zeros<float>({3, 6, 6}), lm, vis),
                         doctest::Contains("landmark_pool: features of shape [3, 6, 6] must be 4-D"), Error);
    CHECK_THROWS_WITH_AS(landmark_pool(zeros<float>({2, 3, 0, 6}), lm, vis), doctest::Contains("non-empty map"), Error);
    CHECK_THROWS_WITH_AS(landmark_pool(x, zeros<float>({2, 4, 3}), vis),
                         doctest::Contains("landmarks of shape [2, 4, 3] must be [N, L, 2]"), Error);
    CHECK_THROWS_WITH_AS(landmark_pool(x, zeros<float>({1, 4, 2}), vis), doctest::Contains("with N = 2"), Error);
    CHECK_THROWS_WITH_AS(landmark_pool(x, lm, zeros<float>({2, 3})),
                         doctest::Contains("visibility of shape [2, 3] must be [N, L] = [2, 4]"), Error);
    CHECK_THROWS_WITH_AS(landmark_pool(x, lm, Tensor<float>()), doctest::Contains("hard gate needs a visibility"), Error);
    LandmarkPoolOptions bad;
    bad.window = {0, 3};
    CHECK_THROWS_WITH_AS(landmark_pool(x, lm, vis, bad), doctest::Contains("window (0, 3) must be positive"), Error);
    bad = {};
    bad.bins = {2, -1};
    CHECK_THROWS_WITH_AS(landmark_pool(x, lm, vis, bad), doctest::Contains("bins (2, -1) must be positive"), Error);
    bad = {};
    bad.threshold = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS(landmark_pool(x, lm, vis, bad), doctest::Contains("threshold"), Error);
    auto nan_lm = zeros<float>({2, 4, 2});
    nan_lm.data()[2 * 6 + 1] = std::numeric_limits<float>::quiet_NaN();  // n = 1, l = 2, y
    CHECK_THROWS_WITH_AS(landmark_pool(x, nan_lm, vis), doctest::Contains("landmark (n=1, l=2) has a non-finite"), Error);
    nan_lm.data()[13] = std::numeric_limits<float>::infinity();
    CHECK_THROWS_AS(landmark_pool(x, nan_lm, vis), Error);
    CHECK_THROWS_WITH_AS((void)nn::LandmarkPool<float>(bad), doctest::Contains("LandmarkPool: threshold"), Error);
}

TEST_CASE("nn::LandmarkPool: options, repr, no parameters, forward equals the op") {
    nn::LandmarkPool<float> pool;
    CHECK(pool.to_string() == "LandmarkPool(window=(7, 7), bins=(2, 2), gate=hard, threshold=0.5)");
    CHECK(pool.parameters().empty());
    LandmarkPoolOptions opt;
    opt.window = {3, 5};
    opt.bins = {1, 2};
    opt.gate = LandmarkGate::soft;
    opt.threshold = 0.25;
    nn::LandmarkPool<float> soft(opt);
    CHECK(soft.to_string() == "LandmarkPool(window=(3, 5), bins=(1, 2), gate=soft, threshold=0.25)");
    Generator gen(3);
    auto x = randn<float>({2, 4, 9, 9}, gen);
    auto lm = rand<float>({2, 3, 2}, gen);
    auto vis = rand<float>({2, 3}, gen);
    CHECK(soft(x, lm, vis).to_vector() == landmark_pool(x, lm, vis, opt).to_vector());
    CHECK(pool.forward(x, lm, vis).shape() == Shape{2, 3, 4, 2, 2});
    CHECK_THROWS_WITH_AS(pool(x), doctest::Contains("no single-input forward"), Error);
}
