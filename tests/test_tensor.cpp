// Tensor basics, views, autograd engine.
#include <doctest/doctest.h>

#include <seam/seam.hpp>

using namespace seam;

TEST_CASE("factories and element access") {
    auto t = arange<float>(6.0f).reshape({2, 3});
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.at({1, 2}) == 5.0f);
    CHECK(zeros<double>({3}).to_vector() == std::vector<double>{0, 0, 0});
    CHECK(full<float>({2}, 7.0f).to_vector() == std::vector<float>{7, 7});
    CHECK(reinterpret_cast<uintptr_t>(empty<float>({5}).data()) % 64 == 0);
    CHECK_THROWS_WITH_AS(from_vector<float>({1, 2, 3}, {2, 2}), doctest::Contains("do not fill shape [2, 2]"), Error);
    CHECK(scalar(3.5).item() == 3.5);
    CHECK_THROWS_AS(arange<float>(3.0f).item(), Error);
}

TEST_CASE("rng streams are reproducible and thread-count independent") {
    Generator g1(42), g2(42);
    auto a = randn<float>({1000}, g1);
    set_num_threads(1);
    auto b = randn<float>({1000}, g2);
    set_num_threads(2);
    CHECK(a.to_vector() == b.to_vector());
    auto c = randn<float>({1000}, g1);  // the stream moved on
    CHECK(c.to_vector() != a.to_vector());
    // moments of 100k normals and uniforms
    Generator g3(7);
    auto n = randn<double>({100000}, g3).to_vector();
    double mean = 0, var = 0;
    for (double v : n) mean += v;
    mean /= n.size();
    for (double v : n) var += (v - mean) * (v - mean);
    var /= n.size();
    CHECK(std::abs(mean) < 0.02);
    CHECK(std::abs(var - 1.0) < 0.02);
    auto u = rand<double>({100000}, g3).to_vector();
    double umean = 0;
    bool in_range = true;
    for (double v : u) {
        in_range = in_range && v >= 0.0 && v < 1.0;
        umean += v;
    }
    CHECK(in_range);
    CHECK(std::abs(umean / u.size() - 0.5) < 0.01);
    auto bern = bernoulli<float>({100000}, 0.3, g3).to_vector();
    double ones = 0;
    for (float v : bern) ones += v;
    CHECK(std::abs(ones / bern.size() - 0.3) < 0.01);
}

TEST_CASE("views share storage and have the right strides") {
    auto t = arange<float>(24.0f).reshape({2, 3, 4});
    auto p = t.permute({2, 0, 1});
    CHECK(p.shape() == Shape{4, 2, 3});
    CHECK(p.strides() == Shape{1, 12, 4});
    CHECK(p.at({3, 1, 2}) == t.at({1, 2, 3}));
    CHECK_FALSE(p.is_contiguous());
    auto pc = p.contiguous();
    CHECK(pc.is_contiguous());
    CHECK(pc.at({3, 1, 2}) == 23.0f);
    auto n = t.narrow(2, 1, 2);
    CHECK(n.shape() == Shape{2, 3, 2});
    CHECK(n.at({1, 2, 0}) == 21.0f);
    CHECK(n.storage() == t.storage());
    auto s = t.select(1, 2);
    CHECK(s.shape() == Shape{2, 4});
    CHECK(s.at({1, 3}) == 23.0f);
    auto e = from_vector<float>({1, 2, 3}, {3, 1}).expand({3, 4});
    CHECK(e.strides() == Shape{1, 0});
    CHECK(e.at({2, 3}) == 3.0f);
    CHECK(t.reshape({-1, 4}).shape() == Shape{6, 4});
    CHECK(t.unsqueeze(0).shape() == Shape{1, 2, 3, 4});
    CHECK(t.unsqueeze(0).squeeze().shape() == Shape{2, 3, 4});
    CHECK(t.flatten(1).shape() == Shape{2, 12});
    CHECK(scalar(2.0f).reshape({1}).shape() == Shape{1});      // 0-d -> [1]
    CHECK(scalar(2.0f).unsqueeze(0).at({0}) == 2.0f);
    // view of a transposed tensor needs a copy: view() refuses, reshape() copies
    CHECK_THROWS_AS(t.transpose(0, 2).view({24}), Error);
    auto r = t.transpose(0, 2).reshape({24});
    CHECK(r.at({1}) == 12.0f);
    CHECK_THROWS_WITH_AS(t.narrow(1, 2, 2), doctest::Contains("outside dimension 1 of size 3"), Error);
    CHECK_THROWS_WITH_AS(t.permute({0, 0, 1}), doctest::Contains("repeated"), Error);
}

TEST_CASE("autograd: chain rule, accumulation, reuse") {
    auto a = from_vector<double>({2.0, -3.0}).set_requires_grad();
    auto b = a + a;                // b = 2a
    auto c = b * b;                // c = 4a^2
    auto loss = c.to_vector()[0];  // just to exercise to_vector on a graph node
    (void)loss;
    auto s = add(mul(c, from_vector<double>({1.0, 1.0})), c);  // 2c = 8a^2
    s.backward(ones<double>({2}));
    CHECK(a.grad().to_vector() == std::vector<double>{32.0, -48.0});  // 16a
    // accumulation into leaves on a second backward
    auto s2 = a * from_vector<double>({1.0, 1.0});
    s2.backward(ones<double>({2}));
    CHECK(a.grad().to_vector() == std::vector<double>{33.0, -47.0});
}

TEST_CASE("autograd: broadcasting and views route gradients back") {
    auto x = arange<double>(6.0).reshape({2, 3}).detach().set_requires_grad();
    auto bias = from_vector<double>({1.0, 2.0, 3.0}).set_requires_grad();
    auto y = (x.transpose(0, 1) * from_vector<double>({10.0, 100.0}, {1, 2})).transpose(0, 1) + bias;
    y.backward(ones<double>({2, 3}));
    CHECK(x.grad().to_vector() == std::vector<double>{10, 10, 10, 100, 100, 100});
    CHECK(bias.grad().to_vector() == std::vector<double>{2, 2, 2});
    auto z = arange<double>(6.0).detach().set_requires_grad();
    auto w = z.narrow(0, 1, 3) * from_vector<double>({1.0, 2.0, 3.0});
    w.backward(ones<double>({3}));
    CHECK(z.grad().to_vector() == std::vector<double>{0, 1, 2, 3, 0, 0});
}

TEST_CASE("autograd: errors, retain_graph, detach and no_grad") {
    auto a = from_vector<double>({1.0, 2.0}).set_requires_grad();
    auto y = exp(a);
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("one element"), Error);
    y.backward(ones<double>({2}), /*retain_graph=*/true);
    y.backward(ones<double>({2}));
    CHECK(a.grad().at({0}) == doctest::Approx(2 * std::exp(1.0)));
    CHECK_THROWS_WITH_AS(y.backward(ones<double>({2})), doctest::Contains("second time"), Error);
    CHECK_FALSE(a.detach().requires_grad());
    {
        NoGradGuard guard;
        auto z = a * a;
        CHECK_FALSE(z.requires_grad());
    }
    CHECK((a * a).requires_grad());
    auto plain = from_vector<double>({1.0});
    CHECK_THROWS_WITH_AS((plain * plain).backward(), doctest::Contains("does not require grad"), Error);
}

TEST_CASE("autograd: a chain of 100000 ops neither overflows the stack going back nor dying") {
    auto x = scalar(1.0).set_requires_grad();
    Tensor<double> y = x;
    for (int i = 0; i < 100000; ++i) y = y * 1.0 + 0.0;
    y.backward();
    CHECK(x.grad().item() == 1.0);
    // a graph that is never differentiated must also die without recursion
    Tensor<double> z = x;
    for (int i = 0; i < 100000; ++i) z = z + 1.0;
    z = Tensor<double>();
    CHECK(x.requires_grad());
}

TEST_CASE("gradcheck reports the worst element") {
    auto x = randn<double>({3, 2}).set_requires_grad();
    auto ok = gradcheck([](const std::vector<Tensor<double>>& in) { return tanh(in[0]) * in[0]; }, {x});
    CHECK_MESSAGE(ok.ok, ok.message);
    // a deliberately wrong backward must be caught
    auto bad = gradcheck(
        [](const std::vector<Tensor<double>>& in) {
            return detail::unary_op("wrong", in[0], [](double v) { return v * v; }, [](double v, double) { return 3 * v; });
        },
        {x});
    CHECK_FALSE(bad.ok);
    CHECK(bad.input == 0);
    CHECK(bad.message.find("FAILED") != std::string::npos);
}

TEST_CASE("printing") {
    std::ostringstream out;
    out << arange<float>(4.0f).reshape({2, 2});
    CHECK(out.str().find("shape=[2, 2], dtype=float32") != std::string::npos);
}

TEST_CASE("asking for CUDA without the backend throws") {
    if (!built_with_cuda()) {
        CHECK_THROWS_WITH_AS(Device::cuda(0), doctest::Contains("seam was built without CUDA"), Error);
        CHECK_THROWS_WITH_AS(zeros<float>({2}).to(Device{DeviceType::cuda, 0}), doctest::Contains("built without CUDA"), Error);
    }
}

TEST_CASE("the CPU block cache reuses freed large blocks and can be emptied") {
    release_cpu_cache();
    const float* first;
    {
        auto a = empty<float>({1 << 18});  // 1 MiB: cached on free
        first = a.data();
    }
    CHECK(cpu_cache_bytes() >= (size_t(1) << 20));
    auto b = empty<float>({1 << 18});
    CHECK(b.data() == first);  // the same block came back
    CHECK(cpu_cache_bytes() == 0);
    b = Tensor<float>();
    release_cpu_cache();
    CHECK(cpu_cache_bytes() == 0);
    size_t old_limit = cpu_cache_limit();
    set_cpu_cache_limit(0);  // disabled: nothing is kept
    { auto c = empty<float>({1 << 18}); }
    CHECK(cpu_cache_bytes() == 0);
    set_cpu_cache_limit(old_limit);
}

TEST_CASE("block-wise tensor fills equal the per-element Philox functions") {
    Generator g1(99), g2(99);
    auto u = rand<double>({37}, g1).to_vector();
    auto n = randn<double>({37}, g1).to_vector();
    uint64_t ub = g2.reserve(37), nb = g2.reserve(37);
    for (int i = 0; i < 37; ++i) {
        CHECK(u[i] == philox_uniform(99, ub, i));
        CHECK(n[i] == doctest::Approx(philox_normal(99, nb, i)).epsilon(1e-15));
    }
}
