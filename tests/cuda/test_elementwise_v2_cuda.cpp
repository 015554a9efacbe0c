// tests/cuda/test_elementwise_v2_cuda.cpp — the paths version 2 of the elementwise and row-reduction
// kernels added (kernels/seam/elementwise.cuh, reduce.cuh), on the GPU, against the CPU ops (test
// suite "gpu": runs only where a CUDA device is usable).
//
// The other CUDA tests reach version 2 through the ops, but mostly on small aligned tensors. Here,
// deliberately: the dense vector path and its scalar tail (n not a multiple of 4, n below one
// vector, n past several tiles and past the grid's cap, so the grid-stride loop runs), the
// fallback of a pointer misaligned by 1..3 elements (launchers called on data() + k, and ops on
// views with offset 1), the channel-broadcast path (bias [1,C,1,1] over [N,C,H,W] with H·W odd or
// a multiple of 4, a row [C] over [R,C], a scalar, either operand broadcast), fill and where on
// dense and misaligned memory, and the row reductions v2 (rows of 1 .. 4101 elements, a warp for
// several short rows, a block for long ones, the chunked two-pass plan; misaligned row starts).
// Outputs are prefilled with NaN; inputs are checked unchanged; exact where the op is exact
// (copies, relu, add, mul, max/min and their indices), sums within the rounding bound
// n·2^-53·Σ|x| (+ float's last rounding), transcendental ops within the usual float tolerance.
// Version 1 stays reachable (SEAM_ELEMENTWISE_VERSION / SEAM_REDUCE_VERSION = 1) and is checked too.
// Reductions version 3 (the default): the same row shapes plus short rows of 1 .. 32 elements in
// tiles of 256 (the short-row kernel), and columns (inner = 2 .. 1030, outer 1 .. 100, x misaligned
// by 0..3 elements, chunked and not) for version 3's tile kernel and version 2's columns kernel;
// version 2's row kernels stay reachable with SEAM_REDUCE_VERSION=2.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/elementwise.hpp"
#include "seam/ops/reduce.hpp"
#include "seam/ops/shape_ops.hpp"

#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;
using namespace seam::cuda_test::op_check;

namespace {

/// Sets SEAM_ELEMENTWISE_VERSION and SEAM_REDUCE_VERSION (or only the latter: reduce_only) for its
/// lifetime (restores them after).
class KernelVersionScope {
public:
    explicit KernelVersionScope(const char* version, bool reduce_only = false) {
        for (int k = 0; k < 2; ++k) {
            const char* old = std::getenv(kNames[k]);
            if (old) saved_[k] = old;
            if (k == 1 || !reduce_only) setenv(kNames[k], version, 1);
        }
    }
    ~KernelVersionScope() {
        for (int k = 0; k < 2; ++k) {
            if (saved_[k]) setenv(kNames[k], saved_[k]->c_str(), 1);
            else unsetenv(kNames[k]);
        }
    }
    KernelVersionScope(const KernelVersionScope&) = delete;
    KernelVersionScope& operator=(const KernelVersionScope&) = delete;

private:
    static constexpr const char* kNames[2] = {"SEAM_ELEMENTWISE_VERSION", "SEAM_REDUCE_VERSION"};
    std::optional<std::string> saved_[2];
};

/// Elements a raw launcher call handles: around the vector width, tiles and (20M) the grid's cap.
std::vector<int64_t> launcher_counts(bool big) {
    std::vector<int64_t> n = {1, 2, 3, 4, 5, 7, 8, 9, 1031, 4 * 1024 * 4 + 3};
    if (big) n.push_back(20 * 1000 * 1000 + 3);  // > 132 SMs · 32 blocks · 4096 floats: the grid-stride loop runs
    return n;
}

/// x (CPU, n + 4 elements) → the result of `launch(x_dev + off, out + 0)` against `cpu(x[off, off + n))`.
template <class T>
void check_unary_launcher(const std::string& name, cuda::UnaryOp op, cuda::UnaryParams params,
                          const std::function<Tensor<T>(const Tensor<T>&)>& cpu, bool exact, bool positive) {
    uint64_t seed = 300;
    for (int64_t n : launcher_counts(op == cuda::UnaryOp::relu && std::is_same_v<T, float>))
        for (int64_t off : {0, 1, 2, 3}) {
            if (n > 100000 && off % 2) continue;  // the big case: aligned and one misaligned start
            const std::string what = name + "<" + dtype_name<T>() + "> n=" + std::to_string(n) + " offset " +
                                     std::to_string(off);
            Tensor<T> x = random_input<T>({n + 4}, seed++);
            if (positive)
                for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = std::abs(x.data()[i]) + T(0.1);
            const Tensor<T> x_dev = to_gpu(x);
            Tensor<T> y = nan_buffer<T>({n + 4});
            cuda::unary<T>(op, params, x_dev.data() + off, {n}, {1}, y.data() + (off == 3 ? 1 : 0));
            const Tensor<T> ref = cpu(x.narrow(0, off, n));
            const Tensor<T> got = y.narrow(0, off == 3 ? 1 : 0, n);
            if (exact) expect_close(got, ref, 0.0, 0.0, what);
            else expect_close(got, ref, what);
            expect_unchanged(x_dev, x, what);
            if (n > 100000) continue;
            // The fused backward: grad_x = g · f'(x, y), misaligned grad when off == 2.
            Tensor<T> leaf = x.narrow(0, off, n).contiguous().detach();
            leaf.set_requires_grad();
            const Tensor<T> g = random_input<T>({n + 4}, seed++), g_dev = to_gpu(g);
            cpu(leaf).backward(g.narrow(0, off == 2 ? 1 : 0, n).contiguous());
            Tensor<T> gx = nan_buffer<T>({n});
            cuda::unary_backward<T>(op, params, g_dev.data() + (off == 2 ? 1 : 0), {1}, x_dev.data() + off, {1},
                                    y.data() + (off == 3 ? 1 : 0), {1}, {n}, gx.data());
            if (exact) expect_close(gx, leaf.grad(), 0.0, 0.0, what + " backward");
            else expect_close(gx, leaf.grad(), what + " backward");
        }
}

template <class T>
void check_unary_launchers() {
    using U = cuda::UnaryOp;
    check_unary_launcher<T>("relu", U::relu, {}, [](const Tensor<T>& x) { return seam::relu(x); }, true, false);
    check_unary_launcher<T>("neg", U::neg, {}, [](const Tensor<T>& x) { return seam::neg(x); }, true, false);
    check_unary_launcher<T>("mul_scalar", U::mul_scalar, {-0.25}, [](const Tensor<T>& x) { return x * T(-0.25); },
                            true, false);
    check_unary_launcher<T>("clamp", U::clamp, {-0.5, 0.75},
                            [](const Tensor<T>& x) { return seam::clamp(x, T(-0.5), T(0.75)); }, true, false);
    check_unary_launcher<T>("sigmoid", U::sigmoid, {}, [](const Tensor<T>& x) { return seam::sigmoid(x); }, false,
                            false);
    check_unary_launcher<T>("gelu", U::gelu, {}, [](const Tensor<T>& x) { return seam::gelu(x); }, false, false);
    check_unary_launcher<T>("log", U::log, {}, [](const Tensor<T>& x) { return seam::log(x); }, false, true);
}

/// Dense binary ops and their gradients through the launchers, every operand misaligned in turn.
template <class T>
void check_binary_launchers() {
    uint64_t seed = 400;
    for (int64_t n : launcher_counts(false))
        for (int mis = 0; mis < 4; ++mis) {  // 0: aligned; 1: a; 2: b; 3: out
            const std::string what = std::string("binary<") + dtype_name<T>() + "> n=" + std::to_string(n) +
                                     " misaligned " + std::to_string(mis);
            const Tensor<T> a = random_input<T>({n + 1}, seed++), b0 = random_input<T>({n + 1}, seed++);
            Tensor<T> b = b0.clone();
            for (int64_t i = 0; i < b.numel(); ++i) b.data()[i] = b.data()[i] < T(0) ? b.data()[i] - T(0.5) : b.data()[i] + T(0.5);
            const Tensor<T> a_dev = to_gpu(a), b_dev = to_gpu(b);
            const int64_t oa = mis == 1, ob = mis == 2, oy = mis == 3;
            const Tensor<T> av = a.narrow(0, oa, n), bv = b.narrow(0, ob, n);
            struct Op {
                cuda::BinaryOp op;
                const char* name;
                std::function<Tensor<T>(const Tensor<T>&, const Tensor<T>&)> cpu;
                bool exact;
            };
            const Op ops[] = {
                {cuda::BinaryOp::add, "add", [](const Tensor<T>& p, const Tensor<T>& q) { return p + q; }, true},
                {cuda::BinaryOp::mul, "mul", [](const Tensor<T>& p, const Tensor<T>& q) { return p * q; }, true},
                {cuda::BinaryOp::div, "div", [](const Tensor<T>& p, const Tensor<T>& q) { return p / q; }, false},
                {cuda::BinaryOp::maximum, "maximum",
                 [](const Tensor<T>& p, const Tensor<T>& q) { return seam::maximum(p, q); }, true},
            };
            for (const Op& o : ops) {
                Tensor<T> y = nan_buffer<T>({n + 1});
                cuda::binary<T>(o.op, a_dev.data() + oa, {1}, b_dev.data() + ob, {1}, {n}, y.data() + oy);
                const Tensor<T> ref = o.cpu(av, bv);
                if (o.exact) expect_close(y.narrow(0, oy, n), ref, 0.0, 0.0, what + " " + o.name);
                else expect_close(y.narrow(0, oy, n), ref, what + " " + o.name);
                // Gradients against the CPU autograd of the same op.
                Tensor<T> la = av.contiguous().detach(), lb = bv.contiguous().detach();
                la.set_requires_grad(), lb.set_requires_grad();
                const Tensor<T> g = random_input<T>({n}, seed++);
                o.cpu(la, lb).backward(g);
                Tensor<T> ga = nan_buffer<T>({n}), gb = nan_buffer<T>({n});
                const Tensor<T> g_dev = to_gpu(g);
                cuda::binary_backward<T>(o.op, g_dev.data(), {1}, a_dev.data() + oa, {1}, b_dev.data() + ob, {1},
                                         y.data() + oy, {1}, {n}, ga.data(), gb.data());
                expect_close(ga, la.grad(), what + " " + o.name + " grad a");
                expect_close(gb, lb.grad(), what + " " + o.name + " grad b");
            }
            expect_unchanged(a_dev, a, what);
            expect_unchanged(b_dev, b, what);
        }
}

/// The channel-broadcast path through the public ops, forward and backward.
template <class T>
void check_broadcast_ops() {
    struct Case {
        Shape x, bias;
    };
    const std::vector<Case> cases = {
        {{2, 5, 7, 5}, {1, 5, 1, 1}}, {{3, 8, 4, 4}, {1, 8, 1, 1}}, {{2, 3, 1, 1}, {1, 3, 1, 1}},
        {{37, 1031}, {1031}},        {{9, 4}, {4}},                {{1, 6, 3, 3}, {6, 1, 1}},
        {{1031}, {}},                {{5, 7}, {1, 7}},             {{4099}, {1}},
    };
    uint64_t seed = 500;
    for (const Case& c : cases) {
        const std::string what = std::string("<") + dtype_name<T>() + "> " + shape_str(c.x) + " and " + shape_str(c.bias);
        const Tensor<T> x = random_input<T>(c.x, seed++), b = random_input<T>(c.bias, seed++);
        using V = std::vector<Tensor<T>>;
        compare_graph<T>({x, b}, {true, true}, [](const V& in) { return in[0] + in[1]; }, "x + bias" + what);
        compare_graph<T>({x, b}, {true, true}, [](const V& in) { return in[1] - in[0]; }, "bias - x" + what);
        compare_graph<T>({x, b}, {true, true}, [](const V& in) { return in[0] * in[1]; }, "x * bias" + what);
        // Exact forward: the GPU's add and mul round as the CPU's.
        const Tensor<T> xg = to_gpu(x), bg = to_gpu(b);
        expect_close(xg + bg, x + b, 0.0, 0.0, "x + bias exact" + what);
        expect_close(bg * xg, b * x, 0.0, 0.0, "bias * x exact" + what);
    }
    // A misaligned dense operand (a view with offset 1) with a bias: the fallback.
    const Tensor<T> base = random_input<T>({1 + 6 * 35}, seed++), b = random_input<T>({35}, seed++);
    const Tensor<T> view = base.narrow(0, 1, 6 * 35).reshape({6, 35});
    expect_close(to_gpu(base).narrow(0, 1, 6 * 35).reshape({6, 35}) + to_gpu(b), view + b, 0.0, 0.0,
                 "misaligned x + bias");
}

/// Ops on views that start one element in (dense but misaligned: the strided kernel), with autograd.
template <class T>
void check_misaligned_views() {
    using V = std::vector<Tensor<T>>;
    for (int64_t n : {int64_t(6), int64_t(1032), int64_t(4100)}) {
        const Tensor<T> x = random_input<T>({n}, 600 + n), y = random_input<T>({n}, 700 + n);
        const std::string what = std::string("<") + dtype_name<T>() + "> n=" + std::to_string(n - 1);
        compare_graph<T>({x}, {true}, [n](const V& in) { return seam::relu(in[0].narrow(0, 1, n - 1)); }, "relu view" + what);
        compare_graph<T>({x}, {true}, [n](const V& in) { return seam::sigmoid(in[0].narrow(0, 1, n - 1)); },
                         "sigmoid view" + what);
        compare_graph<T>({x, y}, {true, true},
                         [n](const V& in) { return in[0].narrow(0, 1, n - 1) * in[1].narrow(0, 0, n - 1) + T(1); },
                         "x[1:] * y[:-1] + 1" + what);
    }
}

template <class T>
void check_fill_and_where() {
    for (int64_t n : {int64_t(1), int64_t(3), int64_t(1031), int64_t(4 * 4096 + 5)}) {
        const std::string what = std::string("<") + dtype_name<T>() + "> n=" + std::to_string(n);
        Tensor<T> t = nan_buffer<T>({n + 1});
        t.fill_(T(2.5));  // dense, aligned: the vector kernel
        t.narrow(0, 1, n).fill_(T(-1));  // dense, misaligned: the strided kernel
        std::vector<T> want(n + 1, T(-1));
        want[0] = T(2.5);
        expect_close(t, from_vector<T>(want, {n + 1}), 0.0, 0.0, "fill" + what);
        Tensor<T> z = nan_buffer<T>({n});
        z.fill_(T(-0.0));
        const std::vector<T> zv = z.to(Device::cpu()).to_vector();
        bool negative_zero = true;
        for (T v : zv) negative_zero = negative_zero && v == T(0) && std::signbit(v);
        CHECK_MESSAGE(negative_zero, "fill -0.0", what);

        // where: dense and aligned, then every operand one element in.
        Tensor<uint8_t> cond = empty<uint8_t>({n + 1});
        for (int64_t i = 0; i <= n; ++i) cond.data()[i] = static_cast<uint8_t>((i * 7) % 3 != 0);
        const Tensor<T> a = random_input<T>({n + 1}, 800 + n), b = random_input<T>({n + 1}, 900 + n);
        const Tensor<uint8_t> cg = cond.to(gpu());
        const Tensor<T> ag = to_gpu(a), bg = to_gpu(b);
        expect_close(seam::where(cg, ag, bg), seam::where(cond, a, b), 0.0, 0.0, "where" + what);
        expect_close(seam::where(cg.narrow(0, 1, n), ag.narrow(0, 1, n), bg.narrow(0, 1, n)),
                     seam::where(cond.narrow(0, 1, n), a.narrow(0, 1, n), b.narrow(0, 1, n)), 0.0, 0.0,
                     "where, misaligned" + what);
    }
}

// ----- row reductions -----------------------------------------------------------------------------------

struct Rows {
    int64_t outer, n;
};
const std::vector<Rows> kRowShapes = {
    {1, 1},  {37, 1},  {37, 3},  {1000, 10}, {5, 31},    {9, 32},    {70, 33},  {3, 1000},
    {11, 1024}, {4, 1031}, {3, 4101}, {260, 9000}, {1, 100003}, {3, 20000}, {2, 8193},
    // version 3's short rows (n ≤ 32 floats, ≤ 16 doubles): tiles of 256 rows, partial last tiles
    {256, 10}, {257, 5}, {1025, 7}, {513, 16}, {300, 2}, {2000, 1}, {777, 17}, {259, 32},
};

/// sum/max/min along the last dim through the launchers, the rows starting `off` elements into the buffer.
template <class T>
void check_rows(int64_t off) {
    uint64_t seed = 1000 + off;
    for (const Rows& s : kRowShapes) {
        const std::string what = std::string("<") + dtype_name<T>() + "> [" + std::to_string(s.outer) + ", " +
                                 std::to_string(s.n) + "] offset " + std::to_string(off);
        const int64_t total = s.outer * s.n;
        for (bool ties : {false, true}) {
            Tensor<T> buf = random_input<T>({total + 4}, seed++, ties, false);
            T* p = buf.data() + off;
            if (s.n > 3 && s.outer > 0) {  // NaN twice in row 0 (the first wins), +inf twice in the last row
                p[1] = p[s.n - 1] = std::numeric_limits<T>::quiet_NaN();
                p[(s.outer - 1) * s.n + 2] = p[(s.outer - 1) * s.n + 3] = std::numeric_limits<T>::infinity();
            }
            const Tensor<T> x = buf.narrow(0, off, total).reshape({s.outer, s.n});
            const Tensor<T> dev = to_gpu(buf);
            // max and min: exact values and indices.
            for (bool largest : {true, false}) {
                Tensor<T> values = nan_buffer<T>({s.outer});
                Tensor<int64_t> indices = empty<int64_t>({s.outer}, gpu());
                indices.fill_(int64_t(-7));
                if (largest) cuda::max_dim<T>(dev.data() + off, s.outer, s.n, 1, values.data(), indices.data());
                else cuda::min_dim<T>(dev.data() + off, s.outer, s.n, 1, values.data(), indices.data());
                const auto [ref_values, ref_indices] = largest ? seam::max(x, 1) : seam::min(x, 1);
                expect_close(values, ref_values, 0.0, 0.0, std::string(largest ? "max" : "min") + what);
                expect_same(indices, ref_indices, std::string(largest ? "argmax" : "argmin") + what);
            }
            // sum (no NaN/inf rows for a meaningful tolerance): within n·2^-53·Σ|x| (+ float's rounding).
            Tensor<T> clean = random_input<T>({total + 4}, seed++, ties, false);
            const Tensor<T> cx = clean.narrow(0, off, total).reshape({s.outer, s.n});
            const Tensor<T> cdev = to_gpu(clean);
            Tensor<T> out = nan_buffer<T>({s.outer});
            cuda::sum_dim<T>(cdev.data() + off, s.outer, s.n, 1, out.data());
            const Tensor<T> ref = seam::sum(cx, {1});
            const Tensor<T> mag = seam::sum(compare::abs_copy(cx), {1});
            std::vector<double> tol(s.outer);
            for (int64_t r = 0; r < s.outer; ++r)
                tol[r] = 2.0 * double(s.n) * std::ldexp(1.0, -53) * double(mag.data()[r]) +
                         (std::is_same_v<T, float> ? std::ldexp(std::abs(double(ref.data()[r])), -22) : 0.0) + 1e-300;
            compare::expect_within(out, ref, tol, "sum" + what);
            // The order of the additions depends on the shape only: the same rows one element further
            // in give the same bits.
            Tensor<T> shifted = nan_buffer<T>({total + 5});
            cuda::copy<T>(cdev.data() + off, {1}, shifted.data() + 1, {1}, {total});
            Tensor<T> out2 = nan_buffer<T>({s.outer});
            cuda::sum_dim<T>(shifted.data() + 1, s.outer, s.n, 1, out2.data());
            expect_close(out2, out, 0.0, 0.0, "sum, shifted by one element" + what);
            expect_unchanged(dev, buf, what);
        }
    }
}

/// sum/max/min over the middle dim of [outer, n, inner] (inner > 1: the columns kernels) through the
/// launchers, x starting `off` elements into the buffer: max/min and indices exact, sums within the
/// rounding bound and the same bits with x one element further in.
template <class T>
void check_columns(int64_t off) {
    struct Cols {
        int64_t outer, n, inner;
    };
    uint64_t seed = 2000 + off;
    for (const Cols& s : std::vector<Cols>{{1, 65536 / 16, 1024}, {1, 5000, 2}, {3, 1000, 3}, {1, 700, 4}, {5, 33, 5},
                                           {2, 129, 1024}, {1, 600, 1030}, {40, 3, 6}, {1, 2000, 16}, {7, 1, 8},
                                           {1, 3000, 8}, {100, 50, 12}}) {
        const std::string what = std::string("<") + dtype_name<T>() + "> [" + std::to_string(s.outer) + ", " +
                                 std::to_string(s.n) + ", " + std::to_string(s.inner) + "] offset " + std::to_string(off);
        const int64_t total = s.outer * s.n * s.inner, outs = s.outer * s.inner;
        for (bool ties : {false, true}) {
            Tensor<T> buf = random_input<T>({total + 4}, seed++, ties, false);
            T* p = buf.data() + off;
            if (s.n > 3) {  // NaN twice in column 0 (the first wins), +inf twice in the last column
                p[1 * s.inner] = p[(s.n - 1) * s.inner] = std::numeric_limits<T>::quiet_NaN();
                p[2 * s.inner + s.inner - 1] = p[3 * s.inner + s.inner - 1] = std::numeric_limits<T>::infinity();
            }
            const Tensor<T> x = buf.narrow(0, off, total).reshape({s.outer, s.n, s.inner});
            const Tensor<T> dev = to_gpu(buf);
            for (bool largest : {true, false}) {
                Tensor<T> values = nan_buffer<T>({outs});
                Tensor<int64_t> indices = empty<int64_t>({outs}, gpu());
                indices.fill_(int64_t(-7));
                if (largest) cuda::max_dim<T>(dev.data() + off, s.outer, s.n, s.inner, values.data(), indices.data());
                else cuda::min_dim<T>(dev.data() + off, s.outer, s.n, s.inner, values.data(), indices.data());
                const auto [ref_values, ref_indices] = largest ? seam::max(x, 1) : seam::min(x, 1);
                expect_close(values, ref_values.reshape({outs}), 0.0, 0.0, std::string(largest ? "max" : "min") + what);
                expect_same(indices, ref_indices.reshape({outs}), std::string(largest ? "argmax" : "argmin") + what);
            }
            Tensor<T> clean = random_input<T>({total + 4}, seed++, ties, false);
            const Tensor<T> cx = clean.narrow(0, off, total).reshape({s.outer, s.n, s.inner});
            const Tensor<T> cdev = to_gpu(clean);
            Tensor<T> out = nan_buffer<T>({outs});
            cuda::sum_dim<T>(cdev.data() + off, s.outer, s.n, s.inner, out.data());
            const Tensor<T> ref = seam::sum(cx, {1}).reshape({outs});
            const Tensor<T> mag = seam::sum(compare::abs_copy(cx), {1}).reshape({outs});
            std::vector<double> tol(outs);
            for (int64_t i = 0; i < outs; ++i)
                tol[i] = 2.0 * double(s.n) * std::ldexp(1.0, -53) * double(mag.data()[i]) +
                         (std::is_same_v<T, float> ? std::ldexp(std::abs(double(ref.data()[i])), -22) : 0.0) + 1e-300;
            compare::expect_within(out, ref, tol, "sum columns" + what);
            Tensor<T> shifted = nan_buffer<T>({total + 5});
            cuda::copy<T>(cdev.data() + off, {1}, shifted.data() + 1, {1}, {total});
            Tensor<T> out2 = nan_buffer<T>({outs});
            cuda::sum_dim<T>(shifted.data() + 1, s.outer, s.n, s.inner, out2.data());
            expect_close(out2, out, 0.0, 0.0, "sum columns, shifted by one element" + what);
            expect_unchanged(dev, buf, what);
        }
    }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("elementwise v2: unary launchers on dense memory, tails and misaligned pointers match the CPU") {
    check_unary_launchers<float>();
    check_unary_launchers<double>();
}

TEST_CASE("elementwise v2: binary launchers and gradients, each operand misaligned in turn, match the CPU") {
    check_binary_launchers<float>();
    check_binary_launchers<double>();
}

TEST_CASE("elementwise v2: bias, row and scalar broadcasts (the channel path) match the CPU, forward and backward") {
    check_broadcast_ops<float>();
    check_broadcast_ops<double>();
}

TEST_CASE("elementwise v2: ops on views with offset 1 (dense, misaligned) match the CPU") {
    check_misaligned_views<float>();
    check_misaligned_views<double>();
}

TEST_CASE("elementwise v2: fill and where on dense and misaligned memory") {
    check_fill_and_where<float>();
    check_fill_and_where<double>();
}

TEST_CASE("reduce v3 (default): sum, max and min along rows of 1 to 100003 elements, aligned and misaligned, match the CPU") {
    for (int64_t off : {0, 1, 2, 3}) {
        check_rows<float>(off);
        check_rows<double>(off);
    }
}

TEST_CASE("reduce v3: columns (inner > 1) of 2 to 1030, aligned and misaligned, match the CPU; v2 columns too") {
    for (int64_t off : {0, 1, 2, 3}) {
        check_columns<float>(off);
        check_columns<double>(off);
    }
    KernelVersionScope v2("2", true);
    check_columns<float>(1);
    check_columns<double>(0);
}

TEST_CASE("reduce v2 stays reachable: rows (warp and block kernels, no short-row kernel) match the CPU") {
    KernelVersionScope v2("2", true);
    for (int64_t off : {0, 1}) {
        check_rows<float>(off);
        check_rows<double>(off);
    }
}

TEST_CASE("kernel version 1 stays reachable and right; an unknown version is refused") {
    {
        KernelVersionScope v1("1");
        check_rows<float>(1);
        check_broadcast_ops<float>();
        check_fill_and_where<double>();
    }
    const Tensor<float> x = to_gpu(random_input<float>({8}, 1));  // uploaded before: copies read the variable too
    {
        KernelVersionScope v3("3");  // elementwise has versions 1 and 2 only (reductions' 3 is valid: below)
        CHECK_THROWS_WITH_AS(seam::relu(x), doctest::Contains("SEAM_ELEMENTWISE_VERSION=3"), Error);
    }
    {
        KernelVersionScope v4("4", true);  // past the newest reduction version (3)
        CHECK_THROWS_WITH_AS(seam::sum(x, {0}), doctest::Contains("SEAM_REDUCE_VERSION=4"), Error);
    }
    CHECK_NOTHROW(seam::relu(x));
}

}  // TEST_SUITE
