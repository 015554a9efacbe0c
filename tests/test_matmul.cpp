// matmul / linear: hand values, the GEMM fast path against the naive loops of cpu/reference/matmul.hpp
// (odd sizes, transposed / sliced / broadcast operands, threads), gradchecks in double, shape errors.
#include <doctest/doctest.h>

#include <seam/cpu/gemm.hpp>
#include <seam/cpu/reference/matmul.hpp>
#include <seam/ops/matmul.hpp>
#include <seam/seam.hpp>

#include <cmath>
#include <functional>

using namespace seam;

namespace {

template <class T>
void check_close(const Tensor<T>& got, const Tensor<T>& want, double tol, const std::string& what) {
    REQUIRE_MESSAGE(got.defined(), what, ": tensor missing");
    REQUIRE_MESSAGE(got.shape() == want.shape(), what, ": shape ", shape_str(got.shape()), " vs ", shape_str(want.shape()));
    auto g = got.to_vector(), w = want.to_vector();
    double scale = 1.0;  // see test_conv.cpp: float sums round in proportion to their scale
    for (auto v : w) scale = std::max(scale, std::abs(double(v)));
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < g.size(); ++i) {
        double err = std::abs(double(g[i]) - double(w[i])) / scale;
        if (err > worst) worst = err, at = i;
    }
    CHECK_MESSAGE(worst <= tol, what, ": worst error ", worst, " of the largest magnitude ", scale, " at element ", at);
}

using Fn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;
void expect_gradcheck(const Fn& fn, std::vector<Tensor<double>> in) {
    auto r = gradcheck(fn, std::move(in));
    CHECK_MESSAGE(r.ok, r.message);
}

struct ThreadsScope {
    int saved = num_threads();
    explicit ThreadsScope(int n) { set_num_threads(n); }
    ~ThreadsScope() { set_num_threads(saved); }
};

}  // namespace

TEST_CASE("matmul: hand-computed products (2-D, dot, matrix-vector)") {
    auto a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    auto b = from_vector<float>({7, 8, 9, 10, 11, 12}, {3, 2});
    // [1 2 3; 4 5 6] [7 8; 9 10; 11 12] = [58 64; 139 154]
    CHECK(matmul(a, b).to_vector() == std::vector<float>{58, 64, 139, 154});
    auto d = matmul(from_vector<float>({1, 2, 3}), from_vector<float>({4, 5, 6}));
    CHECK(d.dim() == 0);
    CHECK(d.item() == 32.0f);
    auto mv = matmul(a, from_vector<float>({1, 0, -1}));
    CHECK(mv.shape() == Shape{2});
    CHECK(mv.to_vector() == std::vector<float>{-2, -2});
    auto vm = matmul(from_vector<float>({1, -1}), a);
    CHECK(vm.shape() == Shape{3});
    CHECK(vm.to_vector() == std::vector<float>{-3, -3, -3});
    auto lin = linear(a, from_vector<float>({1, 1, 1, 0, 1, 0}, {2, 3}), from_vector<float>({0.5f, -1}));
    CHECK(lin.to_vector() == std::vector<float>{6.5f, 1, 15.5f, 4});
}

TEST_CASE("gemm: transposes, alpha/beta and strided sub-matrices against hand values") {
    // A = [1 2; 3 4] stored plainly and as its transpose; B = [5 6; 7 8].
    const float a[] = {1, 2, 3, 4}, at[] = {1, 3, 2, 4}, b[] = {5, 6, 7, 8}, bt[] = {5, 7, 6, 8};
    // A·B = [19 22; 43 50]
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
            float c[] = {1, 1, 1, 1};
            cpu::gemm<float>(ta, tb, 2, 2, 2, 2.0f, ta ? at : a, 2, tb ? bt : b, 2, 0.5f, c, 2);
            CHECK(std::vector<float>(c, c + 4) == std::vector<float>{38.5f, 44.5f, 86.5f, 100.5f});
        }
    // beta = 0 ignores garbage (even NaN) in C
    float c[] = {NAN, NAN, NAN, NAN};
    cpu::gemm<float>(false, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    CHECK(std::vector<float>(c, c + 4) == std::vector<float>{19, 22, 43, 50});
    // leading dimensions larger than the width: the 2x2 top-left blocks of 2x3 buffers, C in a 2x4 buffer
    const float a3[] = {1, 2, -9, 3, 4, -9}, b3[] = {5, 6, -9, 7, 8, -9};
    float c4[] = {0, 0, 7, 7, 0, 0, 7, 7};
    cpu::gemm<float>(false, false, 2, 2, 2, 1.0f, a3, 3, b3, 3, 0.0f, c4, 4);
    CHECK(std::vector<float>(c4, c4 + 8) == std::vector<float>{19, 22, 7, 7, 43, 50, 7, 7});
    // k = 0: C = beta·C
    float c0[] = {2, 4};
    cpu::gemm<float>(false, false, 1, 2, 0, 1.0f, a, 1, b, 2, 0.5f, c0, 2);
    CHECK(std::vector<float>(c0, c0 + 2) == std::vector<float>{1, 2});
}

namespace {

/// C = alpha * op(A) * op(B) + beta * C by the textbook triple loop in double precision, on the same
/// row-major storage conventions as cpu::gemm.
void reference_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const std::vector<float>& a,
                    int64_t lda, const std::vector<float>& b, int64_t ldb, float beta, std::vector<float>& c,
                    int64_t ldc) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double sum = 0;
            for (int64_t p = 0; p < k; ++p)
                sum += double(ta ? a[p * lda + i] : a[i * lda + p]) * double(tb ? b[j * ldb + p] : b[p * ldb + j]);
            const double prior = beta == 0.0f ? 0.0 : double(beta) * c[i * ldc + j];
            c[i * ldc + j] = float(alpha * sum + prior);
        }
}

}  // namespace

TEST_CASE("gemm: the blocked float kernel equals a triple loop on awkward shapes (edges, blocks, transposes)") {
    // Shapes chosen to hit every path of cpu/sgemm_avx512.hpp: rows not a multiple of the 8-row
    // tile and more than one 192-row A block; columns with 1-, 2- and 3-register tails and more than
    // one 768-column B block; depth 1, odd, and split into several equal blocks (> 256); all four
    // transpose combinations; leading dimensions wider than the operands; alpha and beta != 0, 1.
    // Where AVX-512 is compiled in, cpu::gemm takes that kernel for m >= 32 and n >= 64 and the
    // kernel is also called directly on small shapes; elsewhere this checks Eigen's path.
    struct Shape3 {
        int64_t m, n, k;
    };
    const std::vector<Shape3> shapes = {{32, 64, 1},  {33, 65, 7},   {45, 113, 257}, {200, 100, 513},
                                        {64, 800, 40}, {1, 1, 1},    {7, 17, 3},     {9, 97, 300},
                                        {8, 48, 16},   {17, 31, 600}};
    Generator g(31);
    int checked = 0;
    for (const auto& s : shapes)
        for (int ta = 0; ta < 2; ++ta)
            for (int tb = 0; tb < 2; ++tb)
                for (float beta : {0.0f, 1.0f, 0.5f}) {
                    // stored A is m x k (k x m transposed), stored B k x n (n x k transposed); pad the rows
                    const int64_t lda = (ta ? s.m : s.k) + 3, ldb = (tb ? s.k : s.n) + 5, ldc = s.n + 2;
                    const int64_t a_rows = ta ? s.k : s.m, b_rows = tb ? s.n : s.k;
                    auto a = randn<float>({a_rows * lda}, g).to_vector();
                    auto b = randn<float>({b_rows * ldb}, g).to_vector();
                    auto c0 = randn<float>({s.m * ldc}, g).to_vector();
                    if (beta == 0.0f) std::fill(c0.begin(), c0.end(), NAN);  // must be ignored, as in BLAS
                    auto want = c0;
                    reference_gemm(ta, tb, s.m, s.n, s.k, 1.5f, a, lda, b, ldb, beta, want, ldc);
                    auto got = c0;
                    cpu::gemm<float>(ta, tb, s.m, s.n, s.k, 1.5f, a.data(), lda, b.data(), ldb, beta, got.data(), ldc);
                    std::vector<std::pair<const char*, std::vector<float>>> results = {{"cpu::gemm", got}};
#if defined(SEAM_HAVE_AVX512_SGEMM)
                    if (beta != 0.5f) {  // the kernel itself: accumulate (beta 1) or overwrite (beta 0)
                        auto direct = c0;
                        cpu::avx512::sgemm(ta, tb, s.m, s.n, s.k, 1.5f, a.data(), lda, b.data(), ldb, beta == 1.0f,
                                           direct.data(), ldc);
                        results.push_back({"avx512::sgemm", direct});
                    }
#endif
                    for (const auto& [name, c] : results) {
                        INFO(name, " m=", s.m, " n=", s.n, " k=", s.k, " ta=", ta, " tb=", tb, " beta=", beta);
                        double worst = 0;
                        bool padding_kept = true;
                        for (int64_t i = 0; i < s.m; ++i) {
                            for (int64_t j = 0; j < s.n; ++j) {
                                const double w = want[i * ldc + j];
                                worst = std::max(worst, std::abs(c[i * ldc + j] - w) / (1.0 + std::abs(w)));
                            }
                            for (int64_t j = s.n; j < ldc; ++j)  // the padding of C is never touched
                                padding_kept = padding_kept && (std::isnan(c0[i * ldc + j])
                                                                    ? std::isnan(c[i * ldc + j])
                                                                    : c[i * ldc + j] == c0[i * ldc + j]);
                        }
                        CHECK(worst < 1e-4 * std::sqrt(double(s.k) + 1));
                        CHECK(padding_kept);
                        ++checked;
                    }
                }
    CHECK(checked >= int(shapes.size()) * 12);
}

TEST_CASE("matmul: fast path equals the reference loops (odd sizes, views, broadcasting, threads)") {
    Generator g(21);
    struct Case {
        const char* name;
        Tensor<float> a, b;
    };
    auto big_t = randn<float>({257, 130}, g);
    auto wide = randn<float>({9, 20}, g);
    std::vector<Case> cases = {
        {"1x1 . 1x1", randn<float>({1, 1}, g), randn<float>({1, 1}, g)},
        {"7x13 . 13x5", randn<float>({7, 13}, g), randn<float>({13, 5}, g)},
        {"large, split across threads", randn<float>({130, 257}, g), randn<float>({257, 67}, g)},
        {"tall-thin, split along rows", randn<float>({301, 40}, g), randn<float>({40, 3}, g)},
        {"transposed lhs view", big_t.transpose(0, 1), randn<float>({257, 19}, g)},
        {"transposed rhs view", randn<float>({17, 9}, g), randn<float>({33, 9}, g).transpose(0, 1)},
        {"sliced operand (row stride > width)", wide.narrow(1, 3, 11), randn<float>({11, 4}, g)},
        {"expanded rows (stride 0: copied)", randn<float>({1, 6}, g).expand({5, 6}), randn<float>({6, 7}, g)},
        {"batched [3,4,5] . [3,5,6]", randn<float>({3, 4, 5}, g), randn<float>({3, 5, 6}, g)},
        {"broadcast [2,1,4,3] . [3,3,5]", randn<float>({2, 1, 4, 3}, g), randn<float>({3, 3, 5}, g)},
        {"shared matrix [5,4,3] . [3,2] (batch folded into rows)", randn<float>({5, 4, 3}, g), randn<float>({3, 2}, g)},
        {"matrix times batch [4,3] . [2,3,5]", randn<float>({4, 3}, g), randn<float>({2, 3, 5}, g)},
        {"batch 1 of a large product", randn<float>({1, 70, 90}, g), randn<float>({1, 90, 80}, g)},
        {"transposed batch views", randn<float>({2, 6, 5}, g).transpose(1, 2), randn<float>({2, 4, 6}, g).transpose(1, 2)},
        {"1-D . 1-D", randn<float>({37}, g), randn<float>({37}, g)},
        {"1-D . 2-D", randn<float>({6}, g), randn<float>({6, 4}, g)},
        {"2-D . 1-D", randn<float>({5, 6}, g), randn<float>({6}, g)},
        {"1-D . batched", randn<float>({3}, g), randn<float>({2, 3, 4}, g)},
        {"batched . 1-D", randn<float>({2, 2, 3}, g), randn<float>({3}, g)},
        {"empty depth", randn<float>({3, 0}, g), randn<float>({0, 2}, g)},
    };
    for (int threads : {1, 2, 3}) {
        ThreadsScope scope(threads);
        for (const Case& c : cases) {
            INFO(std::string(c.name), ", threads ", threads);
            check_close(matmul(c.a, c.b), reference::matmul(c.a, c.b), 1e-6, "forward");
        }
    }
}

TEST_CASE("matmul: backward of large float products equals the reference formulas") {
    Generator g(22);
    for (int threads : {1, 2}) {
        ThreadsScope scope(threads);
        // 2-D: dA = dC·Bᵀ, dB = Aᵀ·dC
        auto a = randn<float>({70, 129}, g).set_requires_grad();
        auto b = randn<float>({129, 45}, g).set_requires_grad();
        auto dc = randn<float>({70, 45}, g);
        matmul(a, b).backward(dc);
        check_close(a.grad(), reference::matmul(dc, b.detach().transpose(0, 1)), 1e-6, "2-D grad a");
        check_close(b.grad(), reference::matmul(a.detach().transpose(0, 1), dc), 1e-6, "2-D grad b");
        // shared matrix: dB sums over the batch
        auto x = randn<float>({6, 33, 17}, g).set_requires_grad();
        auto w = randn<float>({17, 9}, g).set_requires_grad();
        auto dy = randn<float>({6, 33, 9}, g);
        matmul(x, w).backward(dy);
        check_close(w.grad(), reference::matmul(x.detach().reshape({-1, 17}).transpose(0, 1), dy.reshape({-1, 9})), 1e-6,
                    "folded grad b");
        check_close(x.grad(), reference::matmul(dy, w.detach().transpose(0, 1)), 1e-6, "folded grad a");
    }
}

TEST_CASE("linear: fast path equals the reference (bias or not, 1-D / 3-D input, transposed weight)") {
    Generator g(23);
    for (int threads : {1, 2}) {
        ThreadsScope scope(threads);
        auto x = randn<float>({4, 25, 70}, g), w = randn<float>({33, 70}, g), b = randn<float>({33}, g);
        check_close(linear(x, w, b), reference::linear(x, w, b), 1e-6, "3-D with bias");
        check_close(linear(x, w), reference::linear(x, w), 1e-6, "3-D without bias");
        auto v = randn<float>({70}, g);
        auto y1 = linear(v, w, b);
        CHECK(y1.shape() == Shape{33});
        check_close(y1, reference::linear(v, w, b), 1e-6, "1-D input");
        auto wt = randn<float>({70, 33}, g).transpose(0, 1);  // a [33, 70] view with column stride 33
        check_close(linear(x, wt, b), reference::linear(x, wt, b), 1e-6, "transposed weight");
        auto xs = randn<float>({25, 80}, g).narrow(1, 5, 70);  // non-contiguous input
        check_close(linear(xs, w, b), reference::linear(xs, w, b), 1e-6, "sliced input");
        // backward: dX = dY·W, dW = dYᵀ·X, db = Σ dY
        auto xr = randn<float>({40, 70}, g).set_requires_grad();
        auto wr = randn<float>({33, 70}, g).set_requires_grad();
        auto br = randn<float>({33}, g).set_requires_grad();
        auto dy = randn<float>({40, 33}, g);
        linear(xr, wr, br).backward(dy);
        check_close(xr.grad(), reference::matmul(dy, wr.detach()), 1e-6, "grad x");
        check_close(wr.grad(), reference::matmul(dy.transpose(0, 1), xr.detach()), 1e-6, "grad w");
        check_close(br.grad(), reference::matmul(ones<float>({40}), dy), 1e-6, "grad b");
    }
}

TEST_CASE("matmul / linear: gradcheck in double") {
    Generator g(24);
    auto a = randn<double>({3, 4}, g).set_requires_grad();
    auto b = randn<double>({4, 2}, g).set_requires_grad();
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {a, b});
    auto ba = randn<double>({2, 1, 3, 4}, g).set_requires_grad();
    auto bb = randn<double>({3, 4, 2}, g).set_requires_grad();
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {ba, bb});  // batch broadcast both ways
    auto sa = randn<double>({2, 3, 4}, g).set_requires_grad();
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {sa, b});  // shared rhs (folded dB)
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {a, bb});  // shared lhs
    auto u = randn<double>({4}, g).set_requires_grad();
    auto v = randn<double>({4}, g).set_requires_grad();
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {u, v});   // dot
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {u, b});   // vector . matrix
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {a, u});   // matrix . vector
    expect_gradcheck([](const auto& in) { return matmul(in[0], in[1]); }, {sa, u});  // batch . vector
    expect_gradcheck([](const auto& in) { return matmul(in[0].transpose(0, 1), in[1]); },
                     {randn<double>({4, 3}, g).set_requires_grad(), b});  // transposed view
    auto x = randn<double>({2, 3, 4}, g).set_requires_grad();
    auto w = randn<double>({5, 4}, g).set_requires_grad();
    auto bias = randn<double>({5}, g).set_requires_grad();
    expect_gradcheck([](const auto& in) { return linear(in[0], in[1], in[2]); }, {x, w, bias});
    expect_gradcheck([](const auto& in) { return linear(in[0], in[1]); }, {x, w});
    expect_gradcheck([](const auto& in) { return linear(in[0], in[1], in[2]); }, {u, w, bias});
    expect_gradcheck([](const auto& in) { return linear(in[0], in[1].transpose(0, 1), in[2]); },
                     {x, randn<double>({4, 5}, g).set_requires_grad(), bias});
}

TEST_CASE("matmul / linear: shape errors name the op and both shapes") {
    CHECK_THROWS_WITH_AS(matmul(zeros<float>({2, 3}), zeros<float>({4, 5})),
                         doctest::Contains("matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 columns vs 4 rows)"), Error);
    CHECK_THROWS_WITH_AS(matmul(zeros<float>({3}), zeros<float>({4})),
                         doctest::Contains("matmul: shapes [3] and [4] cannot be multiplied"), Error);
    CHECK_THROWS_WITH_AS(matmul(zeros<float>({2, 2, 3}), zeros<float>({3, 3, 4})),
                         doctest::Contains("matmul: batch dimensions of [2, 2, 3] and [3, 3, 4] cannot be broadcast (2 vs 3)"),
                         Error);
    CHECK_THROWS_WITH_AS(matmul(scalar<float>(1.0f), zeros<float>({3})),
                         doctest::Contains("matmul: both arguments need at least one dimension"), Error);
    CHECK_THROWS_WITH_AS(linear(zeros<float>({2, 5}), zeros<float>({3, 4})),
                         doctest::Contains("linear: input of shape [2, 5] has 5 features but weight of shape [3, 4] expects 4"),
                         Error);
    CHECK_THROWS_WITH_AS(linear(zeros<float>({2, 4}), zeros<float>({3, 4}), zeros<float>({4})),
                         doctest::Contains("linear: bias of shape [4] does not match weight of shape [3, 4]"), Error);
    CHECK_THROWS_WITH_AS(linear(zeros<float>({2, 4}), zeros<float>({4})), doctest::Contains("linear: weight must be 2-D"),
                         Error);
}
