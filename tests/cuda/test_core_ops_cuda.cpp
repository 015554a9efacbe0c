// tests/cuda/test_core_ops_cuda.cpp — the core ops on CUDA against the same ops on the CPU (test
// suite "gpu"; without a GPU the program skips it, see tests/cuda/main.cpp): softmax/log_softmax,
// the fused cross-entropy, batch_norm(_relu), dropout, sum/mean/max/min/argmax, matmul/linear and
// the fused SGD and Adam/AdamW steps.
//
// Two levels, float and double:
//   * the launchers of seam/cuda/api.hpp, writing into device buffers prefilled with NaN (an
//     element a kernel forgets to write shows up), against the CPU op's results;
//   * the public ops on CUDA leaves through autograd: forward outputs and every leaf gradient (which
//     must live on the GPU) against the same graph on the CPU; the device inputs are read back
//     afterwards and must be bit-identical to what was uploaded (inputs unchanged).
// "Equal" is |got - ref| <= atol + rtol·|ref| per element (NaN matches only NaN); a mismatch is
// reported with its index (n, c, h, w, ...). Selections (max/min/argmax indices, the dropout mask)
// must match exactly. Shapes are awkward on purpose: odd sizes, size-1 dims, rows longer than a
// block, softmax along the middle dim, non-contiguous inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/loss.hpp"
#include "seam/ops/matmul.hpp"
#include "seam/ops/norm.hpp"
#include "seam/ops/reduce.hpp"
#include "seam/ops/softmax.hpp"
#include "seam/optim/adam.hpp"
#include "seam/optim/sgd.hpp"

#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;
using namespace seam::cuda_test::compare;
using namespace seam::cuda_test::op_check;

namespace {

// ===== softmax ====================================================================================

template <class T>
void check_softmax() {
    struct Case {
        Shape shape;
        int64_t dim;
    };
    const std::vector<Case> cases = {
        {{7, 10}, 1},       {{3, 1000}, -1},    {{2, 5, 3, 4}, 1}, {{4, 1}, 1},        {{1, 1, 1}, 0},
        {{5, 9000}, 1},     {{9, 33, 2}, 0},    {{6, 0}, 1},       {{2, 3, 300}, 1},
        // Version 2's rows (a group of lanes a row, ≤ 1024 values): 2 rows a warp, two values a
        // lane, 32 values a lane, and one past its limit (version 1).
        {{600, 10}, 1},     {{70, 33}, 1},      {{40, 1024}, -1},  {{3, 1025}, 1},
    };
    for (const Case& c : cases) {
        for (bool log : {false, true}) {
            const std::string name = std::string(log ? "log_softmax" : "softmax") + " " + shape_str(c.shape) + " dim " +
                                     std::to_string(c.dim);
            const Tensor<T> x = random_input<T>(c.shape, 11 + c.shape.size(), false, false, T(4));
            compare_graph<T>({x}, {true}, [&](const std::vector<Tensor<T>>& in) {
                return log ? log_softmax(in[0], c.dim) : softmax(in[0], c.dim);
            }, name);
            // The launchers into NaN-prefilled buffers, against the CPU op.
            const int64_t d = wrap_dim(c.dim, static_cast<int64_t>(c.shape.size()), "test");
            const detail::DimSplit s = detail::split_at_dim(c.shape, d);
            const Tensor<T> ref = log ? log_softmax(x, c.dim) : softmax(x, c.dim);
            const Tensor<T> xd = to_gpu(x);
            Tensor<T> y = nan_buffer<T>(c.shape);
            cuda::softmax_forward<T>(xd.data(), y.data(), s.outer, s.n, s.inner, log);
            expect_close(y, ref, name + " launcher forward");
            const Tensor<T> g = random_input<T>(c.shape, 5);
            Tensor<T> leaf = x.clone().detach();
            leaf.set_requires_grad();
            (log ? log_softmax(leaf, c.dim) : softmax(leaf, c.dim)).backward(g);
            Tensor<T> dx = nan_buffer<T>(c.shape);
            const Tensor<T> gd = to_gpu(g), yd = to_gpu(ref);
            cuda::softmax_backward<T>(gd.data(), yd.data(), dx.data(), s.outer, s.n, s.inner, log);
            expect_close(dx, leaf.grad(), name + " launcher backward");
            expect_unchanged(xd, x, name + " launcher input");
        }
    }
    // Extreme logits stay finite; a non-contiguous input (a transposed view) works.
    const Tensor<T> big = from_vector<T>({T(1000), T(-1000), T(0), T(999)}, {2, 2});
    compare_graph<T>({big}, {true}, [](const std::vector<Tensor<T>>& in) { return softmax(in[0], 1); }, "softmax of ±1000");
    const Tensor<T> wide = random_input<T>({6, 5}, 3);
    compare_graph<T>({wide}, {true}, [](const std::vector<Tensor<T>>& in) { return log_softmax(in[0].transpose(0, 1), 1); },
                     "log_softmax of a transposed view");
}

// ===== cross-entropy ================================================================================

template <class T>
void check_cross_entropy() {
    struct Case {
        const char* name;
        Shape logits;
        bool weighted;
        int64_t ignore_every;  // every k-th target is ignore_index (0: none)
        Reduction reduction;
        double smoothing;
    };
    const std::vector<Case> cases = {
        {"[N, C] mean", {9, 10}, false, 0, Reduction::mean, 0.0},
        {"[N, C] weighted mean with ignored targets", {13, 7}, true, 3, Reduction::mean, 0.0},
        {"[N, C] sum, label smoothing", {5, 11}, true, 0, Reduction::sum, 0.1},
        {"[N, C] none, ignored, smoothing", {6, 4}, false, 2, Reduction::none, 0.25},
        {"[N, C, H, W] mean (segmentation)", {2, 5, 3, 7}, true, 4, Reduction::mean, 0.0},
        {"[N, C, L] none", {3, 6, 5}, false, 0, Reduction::none, 0.0},
        {"unbatched [C]", {17}, false, 0, Reduction::mean, 0.05},
        {"every target ignored: mean is NaN", {4, 3}, false, 1, Reduction::mean, 0.0},
        {"1000 classes", {3, 1000}, false, 0, Reduction::mean, 0.0},
        // Version 2: a group of lanes a row (10 classes: 16 lanes, 2 rows a warp) and the two-level
        // reduction (more than 2048 positions); a row of 33 classes needs two passes of 32 lanes.
        {"[5000, 10] weighted mean with ignored targets", {5000, 10}, true, 7, Reduction::mean, 0.0},
        {"[3000, 33] sum, label smoothing", {3000, 33}, false, 0, Reduction::sum, 0.1},
        {"[2, 3, 50, 50] segmentation, 5000 positions", {2, 3, 50, 50}, true, 0, Reduction::mean, 0.0},
    };
    for (const Case& c : cases) {
        const Tensor<T> x = random_input<T>(c.logits, 21, false, false, T(3));
        const int64_t C = c.logits.size() == 1 ? c.logits[0] : c.logits[1];
        Shape tshape;
        if (c.logits.size() > 1) {
            tshape.push_back(c.logits[0]);
            for (size_t d = 2; d < c.logits.size(); ++d) tshape.push_back(c.logits[d]);
        }
        Tensor<int64_t> target = empty<int64_t>(tshape);
        for (int64_t i = 0; i < target.numel(); ++i)
            target.data()[i] = c.ignore_every > 0 && i % c.ignore_every == 0 ? -100 : (i * 7 + 3) % C;
        CrossEntropyOptions<T> cpu_opt, gpu_opt;
        cpu_opt.reduction = gpu_opt.reduction = c.reduction;
        cpu_opt.label_smoothing = gpu_opt.label_smoothing = static_cast<T>(c.smoothing);
        if (c.weighted) {
            Tensor<T> w = empty<T>({C});
            for (int64_t k = 0; k < C; ++k) w.data()[k] = T(0.25) + T(k % 5) * T(0.5);
            cpu_opt.weight = w;
            gpu_opt.weight = to_gpu(w);
        }
        const Tensor<int64_t> target_gpu = target.to(gpu());
        compare_graph<T>({x}, {true}, [&](const std::vector<Tensor<T>>& in) {
            return in[0].device().is_cuda() ? cross_entropy(in[0], target_gpu, gpu_opt) : cross_entropy(in[0], target, cpu_opt);
        }, std::string("cross_entropy ") + c.name);
        expect_same(target_gpu, target, std::string("cross_entropy ") + c.name + ": target unchanged");
    }
    // A target out of range is an error naming its position, as on the CPU.
    const Tensor<T> x = to_gpu(random_input<T>({3, 4}, 1));
    const Tensor<int64_t> bad = from_vector<int64_t>({1, 4, 0}, {3}).to(gpu());
    CHECK_THROWS_WITH_AS(cross_entropy(x, bad), doctest::Contains("target 4 at position [1]"), Error);
    // Mixed devices are refused with a message naming the op and both devices.
    const Tensor<int64_t> host_target = from_vector<int64_t>({1, 2, 0}, {3});
    CHECK_THROWS_WITH_AS(cross_entropy(x, host_target), doctest::Contains("cross_entropy: tensors on different devices"),
                         Error);
}

/// The launchers of the fused cross-entropy into NaN-prefilled buffers.
template <class T>
void check_cross_entropy_launchers() {
    const int64_t N = 7, C = 5;
    const Tensor<T> x = random_input<T>({N, C}, 4);
    Tensor<int64_t> target = from_vector<int64_t>({0, 4, -100, 2, 3, 1, 4}, {N});
    Tensor<T> w = from_vector<T>({T(1), T(2), T(0.5), T(3), T(1.5)}, {C});
    CrossEntropyOptions<T> opt;
    opt.weight = w;
    opt.label_smoothing = T(0.1);
    Tensor<T> leaf = x.clone().detach();
    leaf.set_requires_grad();
    const Tensor<T> ref = cross_entropy(leaf, target, opt);
    const Tensor<T> gy = scalar<T>(T(0.75));
    ref.backward(gy);
    const Tensor<T> xd = to_gpu(x), wd = to_gpu(w), gyd = to_gpu(gy);
    const Tensor<int64_t> td = target.to(gpu());
    cuda::CrossEntropyShape s;
    s.batch = N, s.classes = C, s.spatial = 1, s.ignore_index = -100, s.label_smoothing = 0.1, s.reduction = 1;
    Tensor<T> out = nan_buffer<T>({});
    Tensor<double> lse = nan_buffer<double>({N}), stats = nan_buffer<double>({3});
    CHECK(cuda::cross_entropy_forward<T>(xd.data(), td.data(), wd.data(), s, out.data(), lse.data(), stats.data()) == -1);
    expect_close(out, ref, "cross_entropy launcher forward");
    Tensor<T> dx = nan_buffer<T>({N, C});
    cuda::cross_entropy_backward<T>(xd.data(), td.data(), wd.data(), lse.data(), stats.data(), gyd.data(), s, dx.data());
    expect_close(dx, leaf.grad(), "cross_entropy launcher backward");
    // stats = {Σ loss, Σ w[target] over the non-ignored, Σ_c w[c]}: the last two by hand.
    const std::vector<double> st = on_host(stats).to_vector();
    CHECK(st[1] == doctest::Approx(1 + 1.5 + 0.5 + 3 + 2 + 1.5));
    CHECK(st[2] == doctest::Approx(8.0));
    expect_unchanged(xd, x, "cross_entropy launcher logits");
}

// ===== batch norm and dropout ========================================================================

template <class T>
void check_batch_norm() {
    struct Case {
        const char* name;
        Shape x;
        bool affine, running, training, relu;
    };
    const std::vector<Case> cases = {
        {"[N, C, H, W] training, affine, running stats", {4, 3, 5, 7}, true, true, true, false},
        {"[N, C] (BatchNorm1d) training, no affine", {9, 5}, false, true, true, false},
        {"[N, C, L] training, no running stats", {2, 17, 3}, true, false, true, false},
        {"evaluation with running stats", {3, 4, 2, 3}, true, true, false, false},
        {"fused ReLU, training", {2, 6, 4, 5}, true, true, true, true},
        {"fused ReLU, evaluation", {2, 3, 3, 3}, true, true, false, true},
        {"a 1x1 map: two values per channel, C = 65", {2, 65, 1, 1}, true, true, true, false},
        // Version 2 cuts these into several chunks a channel (16384 values a chunk): 3 chunks of
        // 16 planes, the last short, 16-byte groups; 2 chunks of a plane each with inner % 4 != 0.
        {"[40, 3, 32, 32] training: 3 chunks a channel", {40, 3, 32, 32}, true, true, true, false},
        {"[40, 3, 32, 32] fused ReLU", {40, 3, 32, 32}, true, true, true, true},
        {"[2, 2, 130, 131] a plane a chunk, odd plane", {2, 2, 130, 131}, true, true, true, false},
    };
    for (const Case& c : cases) {
        const int64_t C = c.x[1];
        const Tensor<T> x = random_input<T>(c.x, 31, false, false, T(2));
        const Tensor<T> w = c.affine ? random_input<T>({C}, 32) : Tensor<T>();
        const Tensor<T> b = c.affine ? random_input<T>({C}, 33) : Tensor<T>();
        Tensor<T> rm_cpu, rv_cpu, rm_gpu, rv_gpu;
        if (c.running) {
            rm_cpu = random_input<T>({C}, 34);
            rv_cpu = random_input<T>({C}, 35);
            for (int64_t k = 0; k < C; ++k) rv_cpu.data()[k] = std::abs(rv_cpu.data()[k]) + T(0.5);
            rm_gpu = to_gpu(rm_cpu);
            rv_gpu = to_gpu(rv_cpu);
        }
        std::vector<Tensor<T>> inputs = {x};
        std::vector<bool> grads = {true};
        if (c.affine) inputs.push_back(w), inputs.push_back(b), grads.push_back(true), grads.push_back(true);
        compare_graph<T>(inputs, grads, [&](const std::vector<Tensor<T>>& in) {
            const bool on_gpu = in[0].device().is_cuda();
            const Tensor<T> wi = c.affine ? in[1] : Tensor<T>(), bi = c.affine ? in[2] : Tensor<T>();
            Tensor<T> rm = on_gpu ? rm_gpu : rm_cpu, rv = on_gpu ? rv_gpu : rv_cpu;
            return c.relu ? batch_norm_relu(in[0], rm, rv, wi, bi, c.training, T(0.1), T(1e-5))
                          : batch_norm(in[0], rm, rv, wi, bi, c.training, T(0.1), T(1e-5));
        }, std::string("batch_norm ") + c.name);
        if (c.running) {  // the running buffers were updated in place (training) or left alone (evaluation)
            expect_close(rm_gpu, rm_cpu, std::string("batch_norm ") + c.name + " running_mean");
            expect_close(rv_gpu, rv_cpu, std::string("batch_norm ") + c.name + " running_var");
        }
    }
    // The launchers into NaN-prefilled buffers (outputs, saved statistics, all three gradients).
    const Shape shape{3, 4, 5, 2};
    const Tensor<T> x = random_input<T>(shape, 41), w = random_input<T>({4}, 42), b = random_input<T>({4}, 43);
    Tensor<T> xl = x.clone().detach(), wl = w.clone().detach(), bl = b.clone().detach();
    xl.set_requires_grad(), wl.set_requires_grad(), bl.set_requires_grad();
    const Tensor<T> ref = batch_norm(xl, Tensor<T>(), Tensor<T>(), wl, bl, true);
    const Tensor<T> gy = random_input<T>(shape, 44);
    ref.backward(gy);
    const Tensor<T> xd = to_gpu(x), wd = to_gpu(w), bd = to_gpu(b), gd = to_gpu(gy);
    Tensor<T> y = nan_buffer<T>(shape);
    Tensor<double> mean = nan_buffer<double>({4}), invstd = nan_buffer<double>({4});
    const cuda::BatchNormShape s{3, 4, 10};
    cuda::batch_norm_forward<T>(xd.data(), y.data(), s, wd.data(), 1, bd.data(), 1, nullptr, 1, nullptr, 1, mean.data(),
                                invstd.data(), true, 0.1, 1e-5, false);
    expect_close(y, ref, "batch_norm launcher forward");
    Tensor<T> dx = nan_buffer<T>(shape), dw = nan_buffer<T>({4}), db = nan_buffer<T>({4});
    cuda::batch_norm_backward<T>(gd.data(), xd.data(), nullptr, wd.data(), 1, mean.data(), invstd.data(), s, true,
                                 dx.data(), dw.data(), db.data());
    expect_close(dx, xl.grad(), "batch_norm launcher grad x");
    expect_close(dw, wl.grad(), "batch_norm launcher grad weight");
    expect_close(db, bl.grad(), "batch_norm launcher grad bias");
    // In place (y == x) in training with several chunks a channel ([150, 2, 256]: 3 chunks in
    // version 2, whose apply pass must not read x[0, c, 0] after chunk 0's block overwrote it):
    // the out-of-place result, bit for bit.
    {
        const Shape big{150, 2, 16, 16};
        const cuda::BatchNormShape sb{150, 2, 256};
        const Tensor<T> xb = to_gpu(random_input<T>(big, 45));
        Tensor<T> out = nan_buffer<T>(big), inplace = xb.clone();
        Tensor<double> m_out = nan_buffer<double>({2}), i_out = nan_buffer<double>({2});
        Tensor<double> m_in = nan_buffer<double>({2}), i_in = nan_buffer<double>({2});
        cuda::batch_norm_forward<T>(xb.data(), out.data(), sb, nullptr, 1, nullptr, 1, nullptr, 1, nullptr, 1, m_out.data(),
                                    i_out.data(), true, 0.1, 1e-5, false);
        cuda::batch_norm_forward<T>(inplace.data(), inplace.data(), sb, nullptr, 1, nullptr, 1, nullptr, 1, nullptr, 1,
                                    m_in.data(), i_in.data(), true, 0.1, 1e-5, false);
        expect_close(inplace, out, 0.0, 0.0, "batch_norm launcher in place (y == x): the out-of-place bits");
        expect_close(m_in, m_out, 0.0, 0.0, "batch_norm launcher in place: save_mean");
        expect_close(i_in, i_out, 0.0, 0.0, "batch_norm launcher in place: save_invstd");
    }
    // Mixed devices are refused naming the op and both devices.
    CHECK_THROWS_WITH_AS(batch_norm(xd, Tensor<T>(), Tensor<T>(), w, b, true),
                         doctest::Contains("batch_norm: tensors on different devices"), Error);
}

template <class T>
void check_dropout() {
    // The CUDA mask is the CPU mask, bit for bit, for the same generator state (n not a multiple of 4).
    for (const Shape& shape : {Shape{7, 13}, Shape{1}, Shape{3, 5, 2, 9}}) {
        for (double p : {0.5, 0.1, 0.9}) {
            const Tensor<T> x = random_input<T>(shape, 51);
            Generator cpu_gen(1234), gpu_gen(1234);
            cpu_gen.reserve(10), gpu_gen.reserve(10);  // not at offset 0
            Tensor<T> xc = x.clone().detach(), xg = to_gpu(x);
            xc.set_requires_grad(), xg.set_requires_grad();
            const Tensor<T> yc = dropout(xc, static_cast<T>(p), true, cpu_gen);
            const Tensor<T> yg = dropout(xg, static_cast<T>(p), true, gpu_gen);
            const std::string name = "dropout p=" + std::to_string(p) + " " + shape_str(shape);
            expect_close(yg, yc, 0.0, 0.0, name + " forward (same mask, same bits)");
            CHECK(cpu_gen.offset() == gpu_gen.offset());
            const Tensor<T> g = random_input<T>(shape, 52);
            yc.backward(g);
            yg.backward(to_gpu(g));
            CHECK(xg.grad().device().is_cuda());
            expect_close(xg.grad(), xc.grad(), 0.0, 0.0, name + " gradient");
            expect_unchanged(xg, x, name + " input");
        }
    }
    // The launcher into NaN-prefilled buffers: every element written, the kept fraction near 1 - p.
    const int64_t n = 100003;
    const Tensor<T> ones_d = to_gpu(ones<T>({n}));
    Tensor<T> y = nan_buffer<T>({n});
    Tensor<uint8_t> keep = empty<uint8_t>({n}, gpu());
    keep.fill_(uint8_t(7));
    const uint64_t threshold = static_cast<uint64_t>(0.7 * 4294967296.0);
    cuda::dropout_forward<T>(ones_d.data(), y.data(), keep.data(), n, 99, 0, threshold, T(1) / T(0.7));
    const std::vector<T> yv = on_host(y).to_vector();
    const std::vector<uint8_t> kv = keep.to(Device::cpu()).to_vector();
    int64_t kept = 0, bad = 0;
    for (int64_t i = 0; i < n; ++i) {
        kept += kv[i] == 1;
        bad += !(kv[i] <= 1) || !(yv[i] == (kv[i] ? T(1) / T(0.7) : T(0)));
    }
    CHECK(bad == 0);
    CHECK(std::abs(static_cast<double>(kept) / n - 0.7) < 0.01);  // 7 standard deviations of the binomial
    // Evaluation and p = 0 are the identity (the same tensor).
    CHECK(dropout(ones_d, T(0.5), false).data() == ones_d.data());
}

// ===== reductions ====================================================================================

template <class T>
void check_reductions() {
    struct SumCase {
        Shape shape;
        std::vector<int64_t> dims;
        bool keepdim;
    };
    const std::vector<SumCase> sums = {
        {{7, 9}, {1}, false},         {{7, 9}, {0}, true},           {{3, 4, 5}, {0, 2}, false},  // dims not neighbours
        {{3, 4, 5}, {}, false},       {{2, 1, 9000}, {-1}, true},    {{4, 3, 6, 5}, {0, 2, 3}, true},
        {{5, 1, 3}, {1}, false},      {{6, 0, 2}, {1}, false},       {{129, 65}, {0, 1}, true},
    };
    for (const SumCase& c : sums) {
        const Tensor<T> x = random_input<T>(c.shape, 61);
        const std::string name = shape_str(c.shape) + " dims " + shape_str(c.dims) + (c.keepdim ? " keepdim" : "");
        compare_graph<T>({x}, {true}, [&](const std::vector<Tensor<T>>& in) { return sum(in[0], c.dims, c.keepdim); },
                         "sum " + name);
        compare_graph<T>({x}, {true}, [&](const std::vector<Tensor<T>>& in) { return mean(in[0], c.dims, c.keepdim); },
                         "mean " + name);
    }
    // A non-contiguous input.
    const Tensor<T> xt = random_input<T>({5, 8}, 62);
    compare_graph<T>({xt}, {true}, [](const std::vector<Tensor<T>>& in) { return sum(in[0].transpose(0, 1), {1}); },
                     "sum of a transposed view");

    struct ExtremeCase {
        Shape shape;
        int64_t dim;
        bool ties, nans;
    };
    const std::vector<ExtremeCase> extremes = {
        {{7, 9}, 1, false, false}, {{7, 9}, 0, true, false}, {{3, 5, 4}, 1, true, false},
        {{4, 300}, 1, false, true}, {{2, 9000}, 1, true, false}, {{1, 1}, 0, false, false},
    };
    for (const ExtremeCase& c : extremes) {
        const Tensor<T> x = random_input<T>(c.shape, 63, c.ties, c.nans);
        const std::string name = shape_str(c.shape) + " dim " + std::to_string(c.dim) + (c.ties ? " ties" : "") +
                                 (c.nans ? " NaN" : "");
        for (bool largest : {true, false}) {
            for (bool keepdim : {false, true}) {
                const std::string op = std::string(largest ? "max " : "min ") + name + (keepdim ? " keepdim" : "");
                const auto ref = largest ? max(x, c.dim, keepdim) : min(x, c.dim, keepdim);
                const Tensor<T> xd = to_gpu(x);
                const auto got = largest ? max(xd, c.dim, keepdim) : min(xd, c.dim, keepdim);
                expect_close(got.first, ref.first, 0.0, 0.0, op + " values");
                expect_same(got.second, ref.second, op + " indices");
                expect_same(largest ? argmax(xd, c.dim, keepdim) : argmin(xd, c.dim, keepdim), ref.second,
                            op + (largest ? " argmax" : " argmin"));
                if (!c.nans)
                    compare_graph<T>({x}, {true}, [&](const std::vector<Tensor<T>>& in) {
                        return largest ? max(in[0], c.dim, keepdim).first : min(in[0], c.dim, keepdim).first;
                    }, op + " gradient");
            }
        }
    }
    // The launchers into NaN-prefilled buffers: min_dim with indices, and the scatter.
    const Tensor<T> x = random_input<T>({3, 6, 4}, 64, true);
    const auto ref = min(x, 1, false);
    const Tensor<T> xd = to_gpu(x);
    Tensor<T> values = nan_buffer<T>({3, 4});
    Tensor<int64_t> indices = empty<int64_t>({3, 4}, gpu());
    indices.fill_(-7);
    cuda::min_dim<T>(xd.data(), 3, 6, 4, values.data(), indices.data());
    expect_close(values, ref.first, 0.0, 0.0, "min_dim launcher values");
    expect_same(indices, ref.second, "min_dim launcher indices");
    const Tensor<T> g = random_input<T>({3, 4}, 65);
    Tensor<T> leaf = x.clone().detach();
    leaf.set_requires_grad();
    min(leaf, 1, false).first.backward(g);
    Tensor<T> grad_in = nan_buffer<T>({3, 6, 4});
    const Tensor<T> gd = to_gpu(g);
    cuda::scatter_along<T>(gd.data(), indices.data(), grad_in.data(), 3, 1, 6, 4);
    expect_close(grad_in, leaf.grad(), 0.0, 0.0, "scatter_along launcher");
}

// ===== matmul and linear ================================================================================

template <class T>
void check_matmul() {
    const double atol = std::is_same_v<T, float> ? 1e-4 : 1e-11, rtol = std::is_same_v<T, float> ? 1e-4 : 1e-11;
    struct Case {
        Shape a, b;
        bool transpose_a;  // pass a as the transposed view of a stored [.., K, M] tensor
    };
    const std::vector<Case> cases = {
        {{7, 5}, {5, 3}, false},       {{1, 1}, {1, 1}, false},          {{33, 17}, {17, 65}, false},
        {{4, 7, 5}, {5, 3}, false},    {{2, 1, 6, 5}, {3, 5, 4}, false}, {{5}, {5, 3}, false},
        {{4, 6, 5}, {5}, false},       {{9}, {9}, false},                {{3, 5, 7}, {3, 7, 2}, true},
        {{6, 5}, {5, 0}, false},       {{6, 0}, {0, 4}, false},          {{5, 4}, {4, 3}, true},
    };
    for (const Case& c : cases) {
        Shape stored = c.a;
        if (c.transpose_a) std::swap(stored[stored.size() - 1], stored[stored.size() - 2]);
        const Tensor<T> a = random_input<T>(stored, 71), b = random_input<T>(c.b, 72);
        const std::string name = "matmul " + shape_str(c.a) + " x " + shape_str(c.b) + (c.transpose_a ? " (a transposed)" : "");
        compare_graph<T>({a, b}, {true, true}, [&](const std::vector<Tensor<T>>& in) {
            return matmul(c.transpose_a ? in[0].transpose(-1, -2) : in[0], in[1]);
        }, name, atol, rtol);
    }
    struct LinearCase {
        Shape x;
        int64_t out;
        bool bias;
    };
    const std::vector<LinearCase> linears = {
        {{9, 5}, 3, true}, {{2, 4, 7}, 10, false}, {{5}, 4, true}, {{1, 1}, 1, true}, {{6, 33}, 65, true}, {{0, 4}, 3, true},
    };
    for (const LinearCase& c : linears) {
        const int64_t in = c.x.back();
        const Tensor<T> x = random_input<T>(c.x, 73), w = random_input<T>({c.out, in}, 74), b = random_input<T>({c.out}, 75);
        const std::string name = "linear " + shape_str(c.x) + " -> " + std::to_string(c.out) + (c.bias ? " + bias" : "");
        std::vector<Tensor<T>> inputs = {x, w};
        std::vector<bool> grads = {true, true};
        if (c.bias) inputs.push_back(b), grads.push_back(true);
        compare_graph<T>(inputs, grads, [&](const std::vector<Tensor<T>>& in) {
            return linear(in[0], in[1], c.bias ? in[2] : Tensor<T>());
        }, name, atol, rtol);
    }
    // A transposed weight view (what a tied embedding does) goes to cuBLAS without a copy.
    const Tensor<T> x = random_input<T>({4, 6}, 76), wt = random_input<T>({6, 3}, 77);
    compare_graph<T>({x, wt}, {true, true}, [](const std::vector<Tensor<T>>& in) {
        return linear(in[0], in[1].transpose(0, 1));
    }, "linear with a transposed weight view", atol, rtol);
    // Mixed devices are refused naming the op and both devices.
    CHECK_THROWS_WITH_AS(matmul(to_gpu(x), wt), doctest::Contains("matmul: tensors on different devices"), Error);
    CHECK_THROWS_WITH_AS(linear(to_gpu(x), wt.transpose(0, 1)), doctest::Contains("linear: tensors on different devices"),
                         Error);
}

// ===== optimizer steps ====================================================================================
// optim::Optimizer (optim/optimizer.hpp) still refuses CUDA parameters at construction, so the
// fused steps are checked through their launchers against the CPU optimizers, fed the same
// constants the CUDA branches of SGD::step and Adam::step compute.

/// Sets p's gradient to g (a fresh backward of Σ p·g).
template <class T>
void set_grad(Tensor<T>& p, const Tensor<T>& g) {
    p.zero_grad();
    sum(p * g).backward();
}

template <class T>
void check_sgd(double momentum, double dampening, double weight_decay, bool nesterov) {
    const Shape shape{5, 7};
    Tensor<T> p_cpu = random_input<T>(shape, 81).detach();
    p_cpu.set_requires_grad();
    Tensor<T> p_gpu = to_gpu(p_cpu);
    Tensor<T> buf = nan_buffer<T>(shape);  // the first step overwrites it
    optim::SGDOptions opt;
    opt.lr = 0.05, opt.momentum = momentum, opt.dampening = dampening, opt.weight_decay = weight_decay;
    opt.nesterov = nesterov;
    optim::SGD<T> sgd({p_cpu}, opt);
    for (int step = 0; step < 3; ++step) {
        const Tensor<T> g = random_input<T>(shape, 82 + step);
        set_grad(p_cpu, g);
        sgd.step();
        cuda::SgdStepArgs args;
        args.lr = static_cast<T>(opt.lr), args.weight_decay = static_cast<T>(opt.weight_decay);
        args.momentum = static_cast<T>(momentum), args.keep = static_cast<T>(1.0 - dampening);
        args.nesterov = nesterov, args.first = step == 0;
        const Tensor<T> gd = to_gpu(g);
        cuda::sgd_step<T>(p_gpu.data(), gd.data(), momentum != 0 ? buf.data() : nullptr, p_gpu.numel(), args);
    }
    const std::string name = "SGD momentum " + std::to_string(momentum) + " dampening " + std::to_string(dampening) +
                             " wd " + std::to_string(weight_decay) + (nesterov ? " nesterov" : "");
    expect_close(p_gpu, p_cpu, 1e-6, 1e-6, name + " parameters");
    if (momentum != 0) expect_close(buf, sgd.param_state(0).tensors.at("momentum_buffer"), 1e-6, 1e-6, name + " buffer");
}

template <class T>
void check_adam(bool adamw, double weight_decay, bool amsgrad) {
    const Shape shape{3, 11};
    Tensor<T> p_cpu = random_input<T>(shape, 91).detach();
    p_cpu.set_requires_grad();
    Tensor<T> p_gpu = to_gpu(p_cpu);
    Tensor<T> m = to_gpu(zeros<T>(shape)), v = to_gpu(zeros<T>(shape)), v_max = to_gpu(zeros<T>(shape));
    const double lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    std::unique_ptr<optim::Optimizer<T>> opt;
    if (adamw) opt = std::make_unique<optim::AdamW<T>>(std::vector<Tensor<T>>{p_cpu}, optim::AdamWOptions{lr, beta1, beta2, eps, weight_decay, amsgrad});
    else opt = std::make_unique<optim::Adam<T>>(std::vector<Tensor<T>>{p_cpu}, optim::AdamOptions{lr, beta1, beta2, eps, weight_decay, amsgrad});
    for (int t = 1; t <= 4; ++t) {
        const Tensor<T> g = random_input<T>(shape, 92 + t, false, false, T(t % 2 ? 1 : 3));
        set_grad(p_cpu, g);
        opt->step();
        cuda::AdamStepArgs args;  // the constants Adam::step computes, in T
        args.beta1 = static_cast<T>(beta1), args.beta2 = static_cast<T>(beta2), args.eps = static_cast<T>(eps);
        args.step_size = static_cast<T>(lr / (1.0 - std::pow(beta1, t)));
        args.bias_correction2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(beta2, t)));
        args.weight_decay = static_cast<T>(weight_decay), args.decay = static_cast<T>(1.0 - lr * weight_decay);
        args.decoupled = adamw;
        const Tensor<T> gd = to_gpu(g);
        cuda::adam_step<T>(p_gpu.data(), gd.data(), m.data(), v.data(), amsgrad ? v_max.data() : nullptr, p_gpu.numel(),
                           args);
    }
    const std::string name = std::string(adamw ? "AdamW" : "Adam") + " wd " + std::to_string(weight_decay) +
                             (amsgrad ? " amsgrad" : "");
    const auto& state = opt->param_state(0);
    expect_close(p_gpu, p_cpu, 1e-6, 1e-5, name + " parameters");
    expect_close(m, state.tensors.at("exp_avg"), 1e-7, 1e-5, name + " exp_avg");
    expect_close(v, state.tensors.at("exp_avg_sq"), 1e-9, 1e-5, name + " exp_avg_sq");
    if (amsgrad) expect_close(v_max, state.tensors.at("max_exp_avg_sq"), 1e-9, 1e-5, name + " max_exp_avg_sq");
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("softmax and log_softmax on CUDA equal the CPU ops (launchers, ops, gradients; float, double)") {
    // Both versions of kernels/seam/softmax.cuh's rows (SEAM_SOFTMAX_VERSION: 2 is the default).
    for (const char* version : {"1", "2"}) {
        CAPTURE(version);
        const EnvScope scope("SEAM_SOFTMAX_VERSION", version);
        check_softmax<float>();
        check_softmax<double>();
    }
}

TEST_CASE("cross_entropy on CUDA equals the CPU op (weights, ignore_index, smoothing, reductions, spatial targets)") {
    // Both versions of kernels/seam/softmax.cuh's cross-entropy (SEAM_CROSS_ENTROPY_VERSION: 2 is the default).
    for (const char* version : {"1", "2"}) {
        CAPTURE(version);
        const EnvScope scope("SEAM_CROSS_ENTROPY_VERSION", version);
        check_cross_entropy<float>();
        check_cross_entropy<double>();
        check_cross_entropy_launchers<float>();
        check_cross_entropy_launchers<double>();
    }
}

TEST_CASE("batch_norm and batch_norm_relu on CUDA equal the CPU ops (training with running stats, evaluation)") {
    // Both versions of kernels/seam/norm.cuh (SEAM_BATCH_NORM_VERSION: 2 is the default).
    for (const char* version : {"1", "2"}) {
        CAPTURE(version);
        const EnvScope scope("SEAM_BATCH_NORM_VERSION", version);
        check_batch_norm<float>();
        check_batch_norm<double>();
    }
}

TEST_CASE("dropout on CUDA draws the CPU's mask bit for bit from the same generator state") {
    // Both versions of kernels/seam/norm.cuh's dropout (SEAM_DROPOUT_VERSION: 2 is the default).
    for (const char* version : {"1", "2"}) {
        CAPTURE(version);
        const EnvScope scope("SEAM_DROPOUT_VERSION", version);
        check_dropout<float>();
        check_dropout<double>();
    }
}

TEST_CASE("sum, mean, max, min, argmax, argmin on CUDA equal the CPU ops (keepdim, ties, NaN, gradients)") {
    check_reductions<float>();
    check_reductions<double>();
}

TEST_CASE("matmul and linear on CUDA (cuBLAS, fp32) equal the CPU ops, gradients included") {
    REQUIRE_FALSE(cuda::allow_tf32());  // fp32 unless the user turns TF32 on
    check_matmul<float>();
    check_matmul<double>();
}

TEST_CASE("fused SGD and Adam/AdamW steps on CUDA equal the CPU optimizers") {
    // Both versions of kernels/seam/optim.cuh (SEAM_OPTIM_VERSION: 2, 16-byte groups, is the default;
    // the [5, 7] parameters end in a partial group).
    for (const char* version : {"1", "2"}) {
        CAPTURE(version);
        const EnvScope scope("SEAM_OPTIM_VERSION", version);
        for (bool nesterov : {false, true}) {
            check_sgd<float>(0.9, 0.0, 0.01, nesterov);
            check_sgd<double>(0.9, 0.0, 0.0, nesterov);
        }
        check_sgd<float>(0.0, 0.0, 0.1, false);
        check_sgd<double>(0.5, 0.3, 0.05, false);
        for (bool adamw : {false, true})
            for (bool amsgrad : {false, true}) {
                check_adam<float>(adamw, 0.01, amsgrad);
                check_adam<double>(adamw, 0.0, amsgrad);
            }
    }
}

}  // TEST_SUITE("gpu")
