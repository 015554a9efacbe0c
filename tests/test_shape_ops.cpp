// cat, stack, split, chunk, index_select/index_add, gather/scatter_add, where, masked_fill and the
// comparison masks: hand-computed values (PyTorch's documented examples where there is one),
// error messages for bad shapes and out-of-range indices, integer tensors, and gradchecks in double.
#include <doctest/doctest.h>

#include <functional>

#include <seam/ops/shape_ops.hpp>
#include <seam/seam.hpp>

using namespace seam;

namespace {
using Fn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;
void expect_gradcheck(const Fn& fn, std::vector<Tensor<double>> in) {
    auto r = gradcheck(fn, std::move(in));
    CHECK_MESSAGE(r.ok, r.message);
}
template <class T>
Tensor<T> tensor(std::vector<T> values, Shape shape) { return from_vector<T>(values, shape); }
Tensor<int64_t> indices(std::vector<int64_t> values, Shape shape) { return from_vector<int64_t>(values, shape); }
Tensor<int64_t> indices(std::vector<int64_t> values) { return from_vector<int64_t>(values); }
struct ThreadCountGuard {
    int saved = num_threads();
    ~ThreadCountGuard() { set_num_threads(saved); }
};
}  // namespace

TEST_CASE("cat: values along every dimension, strided inputs, integer tensors, errors") {
    auto a = tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    auto b = tensor<float>({7, 8, 9}, {1, 3});
    CHECK(cat<float>({a, b}, 0).shape() == Shape{3, 3});
    CHECK(cat<float>({a, b}, 0).to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9});
    auto c = tensor<float>({10, 20}, {2, 1});
    CHECK(cat<float>({a, c, a}, -1).to_vector() == std::vector<float>{1, 2, 3, 10, 1, 2, 3, 4, 5, 6, 20, 4, 5, 6});
    // a transposed input and an empty piece
    auto at = tensor<float>({1, 4, 2, 5, 3, 6}, {3, 2}).transpose(0, 1);  // equals a, non-contiguous
    CHECK(cat<float>({at, empty<float>({2, 0}), c}, 1).to_vector() == std::vector<float>{1, 2, 3, 10, 4, 5, 6, 20});
    // integer tensors (no autograd)
    auto i1 = indices({1, 2}), i2 = indices({3});
    CHECK(cat<int64_t>({i1, i2}).to_vector() == std::vector<int64_t>{1, 2, 3});
    CHECK(cat<uint8_t>({eq(a, 2.0f), ne(b, 8.0f)}).to_vector() == std::vector<uint8_t>{0, 1, 0, 0, 0, 0, 1, 0, 1});

    CHECK_THROWS_WITH_AS(cat<float>({a, tensor<float>({1, 2}, {1, 2})}, 0),
                         doctest::Contains("cat: tensor 1 has shape [1, 2] but tensor 0 has shape [2, 3]"), Error);
    CHECK_THROWS_WITH_AS(cat<float>({a, tensor<float>({1, 2, 3}, {3})}, 0), doctest::Contains("cat: tensor 1 has shape [3]"),
                         Error);
    CHECK_THROWS_WITH_AS(cat<float>({}, 0), doctest::Contains("cat: expected a non-empty list"), Error);
    CHECK_THROWS_WITH_AS(cat<float>({a, b}, 2), doctest::Contains("cat: dimension 2 is out of range"), Error);
}

TEST_CASE("stack: values at the first, middle and last dimension - errors") {
    auto a = tensor<float>({1, 2, 3, 4}, {2, 2});
    auto b = tensor<float>({5, 6, 7, 8}, {2, 2});
    CHECK(stack<float>({a, b}, 0).shape() == Shape{2, 2, 2});
    CHECK(stack<float>({a, b}, 0).to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(stack<float>({a, b}, 1).to_vector() == std::vector<float>{1, 2, 5, 6, 3, 4, 7, 8});
    CHECK(stack<float>({a, b}, -1).shape() == Shape{2, 2, 2});
    CHECK(stack<float>({a, b}, 2).to_vector() == std::vector<float>{1, 5, 2, 6, 3, 7, 4, 8});
    CHECK(stack<int64_t>({indices({1, 2}), indices({3, 4}), indices({5, 6})}, 1).to_vector() ==
          std::vector<int64_t>{1, 3, 5, 2, 4, 6});
    CHECK(stack<float>({scalar<float>(1), scalar<float>(2)}).to_vector() == std::vector<float>{1, 2});
    CHECK_THROWS_WITH_AS(stack<float>({a, tensor<float>({1, 2}, {1, 2})}),
                         doctest::Contains("stack: tensor 1 has shape [1, 2] but tensor 0 has shape [2, 2]"), Error);
    CHECK_THROWS_WITH_AS(stack<float>({a, b}, 3), doctest::Contains("stack: dimension 3 is out of range"), Error);
}

TEST_CASE("split and chunk: PyTorch's piece sizes, views, errors") {
    auto x = arange<float>(10.0f).reshape({2, 5});
    auto parts = split(x, 2, 1);
    REQUIRE(parts.size() == 3);
    CHECK(parts[0].shape() == Shape{2, 2});
    CHECK(parts[2].shape() == Shape{2, 1});
    CHECK(parts[1].to_vector() == std::vector<float>{2, 3, 7, 8});
    CHECK(parts[1].data() == x.data() + 2);  // a view, no copy
    auto sized = split(x, std::vector<int64_t>{1, 0, 4}, -1);
    REQUIRE(sized.size() == 3);
    CHECK(sized[1].numel() == 0);
    CHECK(sized[2].to_vector() == std::vector<float>{1, 2, 3, 4, 6, 7, 8, 9});
    // chunk uses ceil(size / chunks): 5 in 3 -> 2, 2, 1; 6 in 4 -> 2, 2, 2 (only three chunks)
    auto c3 = chunk(x, 3, 1);
    REQUIRE(c3.size() == 3);
    CHECK(c3[2].shape() == Shape{2, 1});
    auto c4 = chunk(arange<float>(6.0f), 4);
    REQUIRE(c4.size() == 3);
    for (const auto& piece : c4) CHECK(piece.numel() == 2);
    CHECK(chunk(empty<float>({0, 3}), 2).size() == 2);
    CHECK(split(indices({1, 2, 3}), 2)[1].to_vector() == std::vector<int64_t>{3});
    CHECK_THROWS_WITH_AS(split(x, std::vector<int64_t>{2, 2}, 1),
                         doctest::Contains("split: sizes [2, 2] add up to 4 but dimension 1 of shape [2, 5] has size 5"), Error);
    CHECK_THROWS_WITH_AS(split(x, 0, 1), doctest::Contains("split: split_size must be positive"), Error);
    CHECK_THROWS_WITH_AS(chunk(x, 0, 1), doctest::Contains("chunk: number of chunks must be positive"), Error);
}

TEST_CASE("index_select and index_add: values, repeated indices, out-of-range errors") {
    auto x = tensor<float>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {3, 4});
    CHECK(index_select(x, 0, indices({2, 0, 2})).to_vector() == std::vector<float>{9, 10, 11, 12, 1, 2, 3, 4, 9, 10, 11, 12});
    CHECK(index_select(x, 1, indices({3, 1})).to_vector() == std::vector<float>{4, 2, 8, 6, 12, 10});
    CHECK(index_select(x.transpose(0, 1), 1, indices({1})).to_vector() == std::vector<float>{5, 6, 7, 8});
    CHECK(index_select(x, 0, from_vector<int64_t>({1}, {})).shape() == Shape{1, 4});
    CHECK(index_select(indices({5, 6, 7}), 0, indices({2, 2, 0})).to_vector() == std::vector<int64_t>{7, 7, 5});
    CHECK(index_select(x, 1, indices({})).shape() == Shape{3, 0});
    CHECK_THROWS_WITH_AS(index_select(x, 0, indices({0, 1, 3})),
                         doctest::Contains("index_select: index[2] = 3 is out of range for dimension 0 of size 3 (input shape [3, 4])"),
                         Error);
    CHECK_THROWS_WITH_AS(index_select(x, 1, indices({-1})), doctest::Contains("index_select: index[0] = -1 is out of range"),
                         Error);
    CHECK_THROWS_WITH_AS(index_select(x, 0, indices({0, 1}, {1, 2})), doctest::Contains("index must be 0-D or 1-D"), Error);

    // repeated indices accumulate in the backward: d/dx sum(index_select(x, 0, {1, 1, 3})) = {0, 2, 0, 1}
    auto v = tensor<double>({1, 2, 3, 4}, {4}).set_requires_grad();
    index_select(v, 0, indices({1, 1, 3})).backward(ones<double>({3}));
    CHECK(v.grad().to_vector() == std::vector<double>{0, 2, 0, 1});

    auto base = zeros<float>({3, 2});
    auto added = index_add(base, 0, indices({2, 0, 2}), tensor<float>({1, 2, 3, 4, 5, 6}, {3, 2}));
    CHECK(added.to_vector() == std::vector<float>{3, 4, 0, 0, 6, 8});
    CHECK(base.to_vector() == std::vector<float>(6, 0.0f));  // the input is not modified
    CHECK_THROWS_WITH_AS(index_add(base, 0, indices({0}), zeros<float>({2, 2})),
                         doctest::Contains("index_add: source has shape [2, 2]"), Error);
}

TEST_CASE("index_select backward (index_add) gives the same bits with 1 and 2 threads") {
    ThreadCountGuard guard;
    Generator g(31);
    auto x = randn<float>({50, 300, 7}, g);
    std::vector<int64_t> idx;
    for (int i = 0; i < 500; ++i) idx.push_back((i * 37) % 300);
    auto grad = randn<float>({50, 500, 7}, g);
    std::vector<float> results[2];
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        auto xl = x.detach().set_requires_grad();
        index_select(xl, 1, indices(idx)).backward(grad);
        results[threads - 1] = xl.grad().to_vector();
    }
    CHECK(results[0] == results[1]);
}

TEST_CASE("gather and scatter_add: values, strided inputs, errors") {
    // PyTorch's documentation example: gather([[1, 2], [3, 4]], 1, [[0, 0], [1, 0]]) = [[1, 1], [4, 3]]
    auto t = tensor<float>({1, 2, 3, 4}, {2, 2});
    CHECK(gather(t, 1, indices({0, 0, 1, 0}, {2, 2})).to_vector() == std::vector<float>{1, 1, 4, 3});
    CHECK(gather(t, 0, indices({1, 0, 0, 0}, {2, 2})).to_vector() == std::vector<float>{3, 2, 1, 2});
    // an index smaller than the input, and a transposed input: t^T = [[1, 3], [2, 4]]
    CHECK(gather(t.transpose(0, 1), 1, indices({1}, {1, 1})).to_vector() == std::vector<float>{3});
    auto x3 = arange<float>(24.0f).reshape({2, 3, 4});
    CHECK(gather(x3, 2, indices({3, 0, 1, 2}, {2, 1, 2})).to_vector() == std::vector<float>{3, 0, 13, 14});
    CHECK(gather(indices({10, 20, 30}), 0, indices({2, 2, 1})).to_vector() == std::vector<int64_t>{30, 30, 20});
    CHECK_THROWS_WITH_AS(gather(t, 1, indices({0, 1, 2, 0}, {2, 2})),
                         doctest::Contains("gather: index[1, 0] = 2 is out of range for dimension 1 of size 2 (input shape [2, 2])"),
                         Error);
    CHECK_THROWS_WITH_AS(gather(t, 1, indices({0, 1})), doctest::Contains("gather: index of shape [2] must have the same rank"),
                         Error);
    CHECK_THROWS_WITH_AS(gather(t, 1, indices({0, 0, 0, 0, 0, 0}, {3, 2})),
                         doctest::Contains("gather: index of shape [3, 2] is larger than the input of shape [2, 2] in dimension 0"),
                         Error);

    // scatter_add: out[i][index[i][j]] += src[i][j]; PyTorch-style repeated targets add up
    auto src = tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    auto out = scatter_add(zeros<float>({2, 4}), 1, indices({0, 3, 0, 1, 1, 2}, {2, 3}), src);
    CHECK(out.to_vector() == std::vector<float>{4, 0, 0, 2, 0, 9, 6, 0});
    CHECK_THROWS_WITH_AS(scatter_add(zeros<float>({2, 4}), 1, indices({0, 4, 0, 1, 1, 2}, {2, 3}), src),
                         doctest::Contains("scatter_add: index[0, 1] = 4 is out of range for dimension 1 of size 4"), Error);
    CHECK_THROWS_WITH_AS(scatter_add(zeros<float>({2, 4}), 1, indices({0, 1}, {2, 1}), src),
                         doctest::Contains("scatter_add: source of shape [2, 3] must have the index's shape [2, 1]"), Error);
}

TEST_CASE("where, masked_fill and comparisons: values with broadcasting") {
    auto a = tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    auto b = tensor<float>({-1, -2, -3}, {1, 3});
    auto cond = from_vector<uint8_t>({1, 0}, {2, 1});
    CHECK(where(cond, a, b).to_vector() == std::vector<float>{1, 2, 3, -1, -2, -3});
    CHECK(where(from_vector<uint8_t>({0, 7, 0}), a, scalar<float>(0)).to_vector() == std::vector<float>{0, 2, 0, 0, 5, 0});
    CHECK(where(cond, indices({1, 2}), indices({9})).to_vector() == std::vector<int64_t>{1, 2, 9, 9});
    CHECK_THROWS_WITH_AS(where(from_vector<uint8_t>({1, 0}), a, b), doctest::Contains("where: shapes [2] and [2, 3]"), Error);

    CHECK(masked_fill(a, from_vector<uint8_t>({0, 1, 1}, {1, 3}), -9.0f).to_vector() ==
          std::vector<float>{1, -9, -9, 4, -9, -9});
    CHECK(masked_fill(a.transpose(0, 1), cond.reshape({1, 2}), 0.5f).to_vector() == std::vector<float>{0.5f, 4, 0.5f, 5, 0.5f, 6});
    CHECK_THROWS_WITH_AS(masked_fill(b, cond, 0.0f),
                         doctest::Contains("masked_fill: mask of shape [2, 1] cannot be broadcast to the input shape [1, 3]"), Error);

    CHECK(eq(a, 2.0f).to_vector() == std::vector<uint8_t>{0, 1, 0, 0, 0, 0});
    CHECK(ne(a, 2.0f).to_vector() == std::vector<uint8_t>{1, 0, 1, 1, 1, 1});
    CHECK(gt(a, 4.0f).to_vector() == std::vector<uint8_t>{0, 0, 0, 0, 1, 1});
    CHECK(ge(a, 4.0f).to_vector() == std::vector<uint8_t>{0, 0, 0, 1, 1, 1});
    CHECK(lt(a, 2.0f).to_vector() == std::vector<uint8_t>{1, 0, 0, 0, 0, 0});
    CHECK(le(a, 2.0f).to_vector() == std::vector<uint8_t>{1, 1, 0, 0, 0, 0});
    auto row = tensor<float>({2, 2, 6}, {3});
    CHECK(gt(a, row).to_vector() == std::vector<uint8_t>{0, 0, 0, 1, 1, 0});
    CHECK(le(a.transpose(0, 1), tensor<float>({1, 5}, {1, 2})).to_vector() == std::vector<uint8_t>{1, 1, 0, 1, 0, 0});
    CHECK(eq(indices({1, 2, 3}), indices({3, 2, 1})).to_vector() == std::vector<uint8_t>{0, 1, 0});
    CHECK(lt(indices({1, 2, 3}), int64_t{3}).to_vector() == std::vector<uint8_t>{1, 1, 0});
    CHECK_THROWS_WITH_AS(eq(a, tensor<float>({1, 2}, {2})), doctest::Contains("eq: shapes [2, 3] and [2]"), Error);

    auto m1 = from_vector<uint8_t>({1, 1, 0, 0}), m2 = from_vector<uint8_t>({1, 0, 1, 0});
    CHECK(logical_and(m1, m2).to_vector() == std::vector<uint8_t>{1, 0, 0, 0});
    CHECK(logical_or(m1, m2).to_vector() == std::vector<uint8_t>{1, 1, 1, 0});
    CHECK(logical_not(m1).to_vector() == std::vector<uint8_t>{0, 0, 1, 1});
}

TEST_CASE("shape ops: gradcheck in double") {
    Generator g(32);
    auto x = randn<double>({3, 4}, g).set_requires_grad();
    auto y = randn<double>({3, 2}, g).set_requires_grad();
    auto z = randn<double>({3, 4}, g).set_requires_grad();
    auto row = randn<double>({1, 4}, g).set_requires_grad();
    auto constant = randn<double>({3, 1}, g);  // no requires_grad: cat must leave it out
    expect_gradcheck([&](const auto& in) { return cat<double>({in[0], constant, in[1]}, 1) * 2.0; }, {x, y});
    expect_gradcheck([](const auto& in) { return cat<double>({in[0].transpose(0, 1), in[1].transpose(0, 1)}, 0); }, {x, y});
    expect_gradcheck([](const auto& in) { return stack<double>({in[0], in[1], in[0]}, 1); }, {x, z});
    expect_gradcheck([](const auto& in) {
        auto p = split(in[0], 2, 1);  // [3,2], [3,2]
        auto q = chunk(in[1], 2, 0);  // [2,4], [1,4]
        return cat<double>({p[1] * 3.0, p[0], q[1].transpose(0, 1).expand({4, 3}).transpose(0, 1)}, 1);
    }, {x, z});
    expect_gradcheck([](const auto& in) {
        auto p = split(in[0], std::vector<int64_t>{1, 3}, 1);
        return p[1] * p[1];
    }, {x});
    expect_gradcheck([](const auto& in) { return index_select(in[0], 1, indices({3, 0, 3, 3})); }, {x});
    expect_gradcheck([](const auto& in) { return index_select(in[0], 0, indices({2, 2, 1})) * in[1]; }, {x, z});
    expect_gradcheck([](const auto& in) { return index_add(in[0], 1, indices({1, 1}), in[1]); }, {x, y});
    expect_gradcheck([](const auto& in) { return gather(in[0], 1, indices({0, 3, 3, 1, 1, 1, 2, 0, 2}, {3, 3})); }, {x});
    expect_gradcheck([](const auto& in) { return gather(in[0].transpose(0, 1), 0, indices({3, 3, 0, 1, 2, 1}, {2, 3})); }, {x});
    expect_gradcheck([](const auto& in) { return scatter_add(in[0], 1, indices({0, 0, 2, 3, 3, 1}, {3, 2}), in[1]); }, {x, y});
    auto cond = from_vector<uint8_t>({1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1}, {3, 4});
    expect_gradcheck([&](const auto& in) { return where(cond, in[0], in[1]); }, {x, row});
    expect_gradcheck([&](const auto& in) { return where(from_vector<uint8_t>({0, 1, 1, 0}), in[0], in[1]); }, {row, x});
    expect_gradcheck([&](const auto& in) { return masked_fill(in[0], cond, 7.0); }, {x});
    expect_gradcheck([&](const auto& in) { return masked_fill(in[0], from_vector<uint8_t>({1, 0, 0}, {3, 1}), -1.0); }, {x});
}
