// tests/cuda/test_more_ops_cuda.cpp — layer_norm, upsample_nearest2d / upsample_bilinear2d, topk,
// nll_loss and conv_transpose2d on CUDA against the same ops on the CPU (test suite "gpu"; without
// a GPU the program skips it, see tests/cuda/main.cpp).
//
// Two levels, float and double, as in test_core_ops_cuda.cpp:
//   * the launchers of seam/cuda/api.hpp (layer norm, resampling, topk, NLL), writing into device
//     buffers prefilled with NaN (an element a kernel forgets to write shows up), against the CPU
//     op's forward and autograd gradients;
//   * the public ops on CUDA leaves through autograd (op_check::compare_graph): the forward output
//     and every leaf gradient (which must be on the GPU) against the same graph on the CPU; the
//     device inputs are read back afterwards and must be bit-identical to what was uploaded.
// "Equal" is |got - ref| <= atol + rtol·|ref| per element (NaN matches only NaN), a mismatch
// reported with its index. Exact (tolerance 0) where the op selects or copies: topk's values,
// indices and gradient, nearest resampling forward and backward (the gather adds in the CPU's
// order). conv_transpose2d sums products in another order than the CPU, so it gets conv2d's
// per-element tolerance, 64·eps·Σ|terms| (compare::conv_tolerance).
// Shapes are awkward on purpose: odd sizes, size-1 dims, rows longer than a block of 256 threads
// (and than topk's tile of 1024), k = n, ties, NaN and ±0, non-contiguous inputs.
// One case runs without a GPU (suite "host"): the reader ranges of the resampling tables. The
// kernels' host-callable parts (topk's order, resampling per element, layer_norm's row chunks)
// are checked on the CPU by tests/cuda/test_cuda_kernel_logic.cu.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/ops/conv.hpp"
#include "seam/ops/loss.hpp"
#include "seam/ops/norm.hpp"
#include "seam/ops/reduce.hpp"
#include "seam/ops/resize.hpp"
#include "seam/ops/softmax.hpp"

#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;
using namespace seam::cuda_test::compare;
using namespace seam::cuda_test::op_check;

namespace {

template <class T>
Tensor<T> requiring_grad(const Tensor<T>& t) {
    Tensor<T> leaf = t.clone().detach();
    leaf.set_requires_grad();
    return leaf;
}

// ===== layer_norm ======================================================================================

template <class T>
void check_layer_norm() {
    struct Case {
        const char* name;
        Shape x;
        Shape normalized;
        bool weight, bias;
        T offset;  // added to every input: data far from zero (the variance must not cancel)
    };
    const std::vector<Case> cases = {
        {"[7, 33], weight and bias", {7, 33}, {33}, true, true, T(0)},
        {"[2, 3, 5, 7] over [5, 7], weight only", {2, 3, 5, 7}, {5, 7}, true, false, T(0)},
        {"[3, 1000]: a row longer than a block", {3, 1000}, {1000}, true, true, T(0)},
        {"[1, 257]: one row, one element more than a block", {1, 257}, {257}, true, true, T(0)},
        {"[4, 1]: one element a row (variance 0)", {4, 1}, {1}, false, false, T(0)},
        {"[5000, 6]: short rows, chunked parameter sums", {5000, 6}, {6}, true, true, T(0)},
        {"[2, 300, 1] over [300, 1], bias only", {2, 300, 1}, {300, 1}, false, true, T(0)},
        {"[6, 50] near 1000 (two-pass variance)", {6, 50}, {50}, true, true, T(1000)},
        // Version 2 holds rows of up to 1024 values in registers (32 a lane); 1025 runs version 1.
        {"[40, 1024] weight and bias", {40, 1024}, {1024}, true, true, T(0)},
        {"[3, 1025]: one value past version 2", {3, 1025}, {1025}, true, true, T(0)},
        {"[700, 10]: 16 lanes a row, 2 rows a warp", {700, 10}, {10}, true, false, T(0)},
    };
    for (const Case& c : cases) {
        Tensor<T> x = random_input<T>(c.x, 101, false, false, T(2));
        if (c.offset != T(0))
            for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] += c.offset;
        const Tensor<T> w = random_input<T>(c.normalized, 102), b = random_input<T>(c.normalized, 103);
        std::vector<Tensor<T>> inputs = {x};
        std::vector<bool> grads = {true};
        if (c.weight) inputs.push_back(w), grads.push_back(true);
        if (c.bias) inputs.push_back(b), grads.push_back(true);
        compare_graph<T>(inputs, grads, [&](const std::vector<Tensor<T>>& in) {
            size_t next = 1;
            const Tensor<T> wi = c.weight ? in[next++] : Tensor<T>();
            const Tensor<T> bi = c.bias ? in[next++] : Tensor<T>();
            return layer_norm(in[0], c.normalized, wi, bi, T(1e-5));
        }, std::string("layer_norm ") + c.name);
    }
    // A non-contiguous input (a transposed view), and a weight without gradient.
    const Tensor<T> xt = random_input<T>({7, 5}, 104), wt = random_input<T>({7}, 105);
    compare_graph<T>({xt, wt}, {true, false}, [](const std::vector<Tensor<T>>& in) {
        return layer_norm(in[0].transpose(0, 1), {7}, in[1], Tensor<T>());
    }, "layer_norm of a transposed view");

    // The launchers into NaN-prefilled buffers: output, saved statistics, all three gradients.
    const int64_t R = 9, D = 300;
    const Tensor<T> x = random_input<T>({R, D}, 111, false, false, T(3));
    const Tensor<T> w = random_input<T>({D}, 112), b = random_input<T>({D}, 113), gy = random_input<T>({R, D}, 114);
    Tensor<T> xl = requiring_grad(x), wl = requiring_grad(w), bl = requiring_grad(b);
    const Tensor<T> ref = layer_norm(xl, {D}, wl, bl, T(1e-5));
    ref.backward(gy);
    const Tensor<T> xd = to_gpu(x), wd = to_gpu(w), bd = to_gpu(b), gd = to_gpu(gy);
    Tensor<T> y = nan_buffer<T>({R, D});
    Tensor<double> mean = nan_buffer<double>({R}), rstd = nan_buffer<double>({R});
    const cuda::LayerNormShape s{R, D};
    cuda::layer_norm_forward<T>(xd.data(), wd.data(), bd.data(), y.data(), mean.data(), rstd.data(), s, 1e-5);
    expect_close(y, ref, "layer_norm launcher forward");
    std::vector<double> mean_ref(R), rstd_ref(R);  // by hand, two passes in double
    for (int64_t r = 0; r < R; ++r) {
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < D; ++i) sum += static_cast<double>(x.data()[r * D + i]);
        mean_ref[r] = sum / D;
        for (int64_t i = 0; i < D; ++i) {
            const double d = static_cast<double>(x.data()[r * D + i]) - mean_ref[r];
            sq += d * d;
        }
        rstd_ref[r] = 1.0 / std::sqrt(sq / D + 1e-5);
    }
    expect_close(mean, from_vector<double>(mean_ref, {R}), 1e-12, 1e-12, "layer_norm launcher saved mean");
    expect_close(rstd, from_vector<double>(rstd_ref, {R}), 1e-12, 1e-12, "layer_norm launcher saved rstd");
    Tensor<T> dx = nan_buffer<T>({R, D}), dw = nan_buffer<T>({D}), db = nan_buffer<T>({D});
    cuda::layer_norm_backward<T>(gd.data(), xd.data(), wd.data(), mean.data(), rstd.data(), s, dx.data(), dw.data(),
                                 db.data());
    expect_close(dx, xl.grad(), "layer_norm launcher grad x");
    expect_close(dw, wl.grad(), "layer_norm launcher grad weight");
    expect_close(db, bl.grad(), "layer_norm launcher grad bias");
    // Only the bias gradient wanted (null pointers for the others).
    Tensor<T> db_only = nan_buffer<T>({D});
    cuda::layer_norm_backward<T>(gd.data(), xd.data(), wd.data(), mean.data(), rstd.data(), s, nullptr, nullptr,
                                 db_only.data());
    expect_close(db_only, bl.grad(), "layer_norm launcher grad bias alone");
    expect_unchanged(xd, x, "layer_norm launcher input");
    expect_unchanged(wd, w, "layer_norm launcher weight");
    expect_unchanged(gd, gy, "layer_norm launcher grad_out");
    // Mixed devices are refused naming the op and both devices.
    CHECK_THROWS_WITH_AS(layer_norm(xd, {D}, w, Tensor<T>()),
                         doctest::Contains("layer_norm: tensors on different devices (input on cuda:0, weight on cpu)"),
                         Error);
}

// ===== upsampling ======================================================================================

enum class Resample { nearest, bilinear, bilinear_corners };

const char* resample_name(Resample m) {
    switch (m) {
        case Resample::nearest: return "upsample_nearest2d";
        case Resample::bilinear: return "upsample_bilinear2d (align_corners off)";
        case Resample::bilinear_corners: return "upsample_bilinear2d (align_corners on)";
    }
    return "?";
}

template <class T>
Tensor<T> resample(Resample m, const Tensor<T>& x, std::array<int64_t, 2> size) {
    if (m == Resample::nearest) return upsample_nearest2d(x, size);
    return upsample_bilinear2d(x, size, m == Resample::bilinear_corners);
}

template <class T>
void check_upsample() {
    struct Case {
        const char* name;
        Shape x;
        std::array<int64_t, 2> size;
    };
    const std::vector<Case> cases = {
        {"5x7 -> 11x13 (a ratio that is not an integer)", {2, 3, 5, 7}, {11, 13}},
        {"4x4 -> 8x8 (exactly 2x)", {1, 2, 4, 4}, {8, 8}},
        {"9x6 -> 4x5 (downsampling)", {2, 1, 9, 6}, {4, 5}},
        {"1x1 -> 3x2 (a single input pixel)", {1, 1, 1, 1}, {3, 2}},
        {"3x3 -> 3x3 (the same size: a copy)", {1, 2, 3, 3}, {3, 3}},
        {"5x40 -> 1x300 (an output row wider than a block)", {1, 1, 5, 40}, {1, 300}},
        {"7x9 -> 1x1", {3, 2, 7, 9}, {1, 1}},
        {"6x6 -> 17x3 (up in one axis, down in the other)", {2, 2, 6, 6}, {17, 3}},
    };
    for (const Case& c : cases)
        for (Resample m : {Resample::nearest, Resample::bilinear, Resample::bilinear_corners}) {
            const Tensor<T> x = random_input<T>(c.x, 121);
            // Nearest copies forward and adds in the CPU's order backward: the same bits.
            const double tol_a = m == Resample::nearest ? 0.0 : default_atol<T>();
            const double tol_r = m == Resample::nearest ? 0.0 : default_rtol<T>();
            compare_graph<T>({x}, {true}, [&](const std::vector<Tensor<T>>& in) { return resample(m, in[0], c.size); },
                             std::string(resample_name(m)) + " " + c.name, tol_a, tol_r);
        }
    // Scale factors (the source coordinate uses 1/scale), and a non-contiguous input.
    const Tensor<T> x = random_input<T>({2, 3, 6, 5}, 131);
    compare_graph<T>({x}, {true}, [](const std::vector<Tensor<T>>& in) { return upsample_nearest2d(in[0], 1.7, 2.3); },
                     "upsample_nearest2d by 1.7 x 2.3", 0.0, 0.0);
    compare_graph<T>({x}, {true}, [](const std::vector<Tensor<T>>& in) {
        return upsample_bilinear2d(in[0], 0.6, 1.5, false);
    }, "upsample_bilinear2d by 0.6 x 1.5");
    compare_graph<T>({x}, {true}, [](const std::vector<Tensor<T>>& in) { return upsample_bilinear2d(in[0], 2.5, true); },
                     "upsample_bilinear2d by 2.5, align_corners on");
    const Tensor<T> nhwc = random_input<T>({2, 5, 6, 3}, 132);
    compare_graph<T>({nhwc}, {true}, [](const std::vector<Tensor<T>>& in) {
        return upsample_bilinear2d(in[0].permute({0, 3, 1, 2}), {9, 4}, false);
    }, "upsample_bilinear2d of a permuted view");

    // The launchers into NaN-prefilled buffers, with the op's tables; the backward twice (the same bits).
    const int64_t N = 2, C = 3, H = 5, W = 4, OH = 8, OW = 11;
    const Tensor<T> xs = random_input<T>({N, C, H, W}, 141), gy = random_input<T>({N, C, OH, OW}, 142);
    const Tensor<T> xd = to_gpu(xs), gd = to_gpu(gy);
    for (bool bilinear : {false, true}) {
        const std::string name = bilinear ? "upsample_bilinear2d launcher" : "upsample_nearest2d launcher";
        Tensor<T> leaf = requiring_grad(xs);
        const Tensor<T> ref = bilinear ? upsample_bilinear2d(leaf, {OH, OW}, false) : upsample_nearest2d(leaf, {OH, OW});
        ref.backward(gy);
        const auto h = bilinear ? detail::linear_taps<T>(OH, H, false, 0.0)
                                : detail::nearest_taps<T>(detail::nearest_source(OH, H, 0.0));
        const auto w = bilinear ? detail::linear_taps<T>(OW, W, false, 0.0)
                                : detail::nearest_taps<T>(detail::nearest_source(OW, W, 0.0));
        const detail::CudaResizeTables<T> tables = detail::cuda_resize_tables(h, H, w, W, bilinear, gpu());
        const cuda::ResizeShape s{N, C, H, W, OH, OW};
        Tensor<T> out = nan_buffer<T>({N, C, OH, OW}), grad_in = nan_buffer<T>({N, C, H, W});
        Tensor<T> grad_again = nan_buffer<T>({N, C, H, W});
        if (bilinear) {
            cuda::upsample_bilinear2d_forward<T>(xd.data(), out.data(), s, tables.rows, tables.cols);
            cuda::upsample_bilinear2d_backward<T>(gd.data(), grad_in.data(), s, tables.rows, tables.cols);
            cuda::upsample_bilinear2d_backward<T>(gd.data(), grad_again.data(), s, tables.rows, tables.cols);
        } else {
            cuda::upsample_nearest2d_forward<T>(xd.data(), out.data(), s, tables.rows, tables.cols);
            cuda::upsample_nearest2d_backward<T>(gd.data(), grad_in.data(), s, tables.rows, tables.cols);
            cuda::upsample_nearest2d_backward<T>(gd.data(), grad_again.data(), s, tables.rows, tables.cols);
        }
        const double atol = bilinear ? default_atol<T>() : 0.0, rtol = bilinear ? default_rtol<T>() : 0.0;
        expect_close(out, ref, atol, rtol, name + " forward");
        expect_close(grad_in, leaf.grad(), atol, rtol, name + " backward");
        expect_close(grad_again, grad_in, 0.0, 0.0, name + " backward run twice");
    }
    expect_unchanged(xd, xs, "upsample launcher input");
    expect_unchanged(gd, gy, "upsample launcher grad_out");
    // pad on CUDA: tests/cuda/test_masks_pad_cuda.cpp.
}

// ===== topk ============================================================================================

template <class T>
void check_topk_case(const Tensor<T>& x, int64_t k, int64_t dim, const std::string& name) {
    for (bool largest : {true, false})
        for (bool sorted : {true, false}) {
            const std::string what = name + (largest ? " largest" : " smallest") + (sorted ? " sorted" : " unsorted");
            const auto ref = topk(x, k, dim, largest, sorted);
            const Tensor<T> xd = to_gpu(x);
            const auto got = topk(xd, k, dim, largest, sorted);
            CHECK(got.first.device().is_cuda());
            CHECK(got.second.device().is_cuda());
            expect_close(got.first, ref.first, 0.0, 0.0, what + " values");
            expect_same(got.second, ref.second, what + " indices");
            expect_unchanged(xd, x, what + " input");
            if (k > 0)  // the gradient goes to the chosen indices: copies, exact
                compare_graph<T>({x}, {true}, [&](const std::vector<Tensor<T>>& in) {
                    return topk(in[0], k, dim, largest, sorted).first;
                }, what + " gradient", 0.0, 0.0);
        }
}

template <class T>
void check_topk() {
    struct Case {
        const char* name;
        Shape shape;
        int64_t dim, k;
        bool ties, nans;
    };
    const std::vector<Case> cases = {
        {"[7, 33] k 5", {7, 33}, 1, 5, false, false},
        {"[7, 33] ties, k 12", {7, 33}, -1, 12, true, false},
        {"[5, 40] NaN, k 10", {5, 40}, 1, 10, false, true},
        {"[3, 6, 4] along the middle (inner 4), ties, k = n", {3, 6, 4}, 1, 6, true, false},
        {"[2, 3000] ties and NaN, k = n (longer than a block and a tile)", {2, 3000}, 1, 3000, true, true},
        {"[2, 1100] ties, k 700", {2, 1100}, 1, 700, true, false},
        {"[4, 1] k 1", {4, 1}, 1, 1, false, false},
        {"[9, 5] along dim 0, k 0 (empty output)", {9, 5}, 0, 0, false, false},
        {"[17] ties and NaN, k = n", {17}, 0, 17, true, true},
        {"[6, 300, 2] along dim 1 (inner 2), ties and NaN, k 33", {6, 300, 2}, 1, 33, true, true},
    };
    for (const Case& c : cases)
        check_topk_case<T>(random_input<T>(c.shape, 151, c.ties, c.nans), c.k, c.dim, std::string("topk ") + c.name);
    // Every element equal: the indices come in index order.
    check_topk_case<T>(full<T>({3, 50}, T(1)), 20, 1, "topk of equal values");
    // -0 and +0 tie (index order), infinities are numbers, NaN is above +inf.
    const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
    check_topk_case<T>(from_vector<T>({T(0), -T(0), inf, nan, -inf, T(0), nan, -T(0), T(1), -inf}, {2, 5}), 5, 1,
                       "topk of signed zeros, infinities and NaN");

    // The launcher into NaN-prefilled values and indices filled with -7.
    const Tensor<T> x = random_input<T>({3, 6, 4}, 152, true);
    const Tensor<T> xd = to_gpu(x);
    for (bool sorted : {true, false}) {
        const auto ref = topk(x, 4, 1, true, sorted);
        Tensor<T> values = nan_buffer<T>({3, 4, 4});
        Tensor<int64_t> indices = empty<int64_t>({3, 4, 4}, gpu());
        indices.fill_(-7);
        cuda::topk<T>(xd.data(), 3, 6, 4, 4, true, sorted, values.data(), indices.data());
        const std::string name = std::string("topk launcher") + (sorted ? " sorted" : " unsorted");
        expect_close(values, ref.first, 0.0, 0.0, name + " values");
        expect_same(indices, ref.second, name + " indices");
    }
    expect_unchanged(xd, x, "topk launcher input");
    CHECK_THROWS_WITH_AS(topk(xd, 7, 1), doctest::Contains("topk: k = 7 is out of range for dimension 1 of size 6"), Error);
}

// ===== nll_loss ========================================================================================

template <class T>
void check_nll_loss() {
    struct Case {
        const char* name;
        Shape input;
        bool weighted;
        int64_t ignore_every;  // every k-th target is ignore_index (0: none)
        Reduction reduction;
        int64_t ignore_index;
    };
    const std::vector<Case> cases = {
        {"[N, C] mean", {9, 10}, false, 0, Reduction::mean, -100},
        {"[N, C] weighted mean with ignored targets", {13, 7}, true, 3, Reduction::mean, -100},
        {"[N, C] weighted sum", {5, 11}, true, 0, Reduction::sum, -100},
        {"[N, C] none, ignored targets", {6, 4}, false, 2, Reduction::none, -100},
        {"[N, C, H, W] weighted mean (segmentation)", {2, 5, 3, 7}, true, 4, Reduction::mean, -100},
        {"[N, C, L] weighted none", {3, 6, 5}, true, 0, Reduction::none, -100},
        {"unbatched [C]", {17}, true, 0, Reduction::mean, -100},
        {"every target ignored: mean is NaN", {4, 3}, false, 1, Reduction::mean, -100},
        {"ignore_index 2 is also a class index", {8, 5}, true, 0, Reduction::mean, 2},
        {"1000 classes, sum", {3, 1000}, false, 0, Reduction::sum, -100},
        // More than 2048 positions: the cross-entropy version 2's two-level reduction.
        {"[5000, 10] weighted mean, ignored targets", {5000, 10}, true, 9, Reduction::mean, -100},
    };
    for (const Case& c : cases) {
        const Tensor<T> x = random_input<T>(c.input, 161, false, false, T(3));
        const int64_t C = c.input.size() == 1 ? c.input[0] : c.input[1];
        Shape tshape;
        if (c.input.size() > 1) {
            tshape.push_back(c.input[0]);
            for (size_t d = 2; d < c.input.size(); ++d) tshape.push_back(c.input[d]);
        }
        Tensor<int64_t> target = empty<int64_t>(tshape);
        for (int64_t i = 0; i < target.numel(); ++i)
            target.data()[i] = c.ignore_every > 0 && i % c.ignore_every == 0 ? c.ignore_index : (i * 7 + 3) % C;
        NllLossOptions<T> cpu_opt, gpu_opt;
        cpu_opt.reduction = gpu_opt.reduction = c.reduction;
        cpu_opt.ignore_index = gpu_opt.ignore_index = c.ignore_index;
        if (c.weighted) {
            Tensor<T> w = empty<T>({C});
            for (int64_t k = 0; k < C; ++k) w.data()[k] = T(0.25) + T(k % 5) * T(0.5);
            cpu_opt.weight = w;
            gpu_opt.weight = to_gpu(w);
        }
        const Tensor<int64_t> target_gpu = target.to(gpu());
        const std::string name = std::string("nll_loss ") + c.name;
        compare_graph<T>({x}, {true}, [&](const std::vector<Tensor<T>>& in) {
            return in[0].device().is_cuda() ? nll_loss(in[0], target_gpu, gpu_opt) : nll_loss(in[0], target, cpu_opt);
        }, name);
        expect_same(target_gpu, target, name + ": target unchanged");
    }
    // Composed with log_softmax, as a classifier uses it.
    const Tensor<T> logits = random_input<T>({6, 9}, 162, false, false, T(2));
    const Tensor<int64_t> labels = from_vector<int64_t>({0, 8, 3, 3, 5, 1}, {6});
    const Tensor<int64_t> labels_gpu = labels.to(gpu());
    compare_graph<T>({logits}, {true}, [&](const std::vector<Tensor<T>>& in) {
        return nll_loss(log_softmax(in[0], 1), in[0].device().is_cuda() ? labels_gpu : labels);
    }, "nll_loss of log_softmax");
    // A target out of range is an error naming its position, as on the CPU; mixed devices are refused.
    const Tensor<T> xd = to_gpu(random_input<T>({3, 4}, 163));
    const Tensor<int64_t> bad = from_vector<int64_t>({1, 4, 0}, {3}).to(gpu());
    CHECK_THROWS_WITH_AS(nll_loss(xd, bad), doctest::Contains("target 4 at position [1]"), Error);
    CHECK_THROWS_WITH_AS(nll_loss(xd, from_vector<int64_t>({1, 2, 0}, {3})),
                         doctest::Contains("nll_loss: tensors on different devices"), Error);

    // The launchers into NaN-prefilled buffers.
    const int64_t N = 7, C = 5;
    const Tensor<T> x = random_input<T>({N, C}, 164);
    const Tensor<int64_t> target = from_vector<int64_t>({0, 4, -100, 2, 3, 1, 4}, {N});
    const Tensor<T> w = from_vector<T>({T(1), T(2), T(0.5), T(3), T(1.5)}, {C});
    NllLossOptions<T> opt;
    opt.weight = w;
    Tensor<T> leaf = requiring_grad(x);
    const Tensor<T> ref = nll_loss(leaf, target, opt);
    const Tensor<T> gy = scalar<T>(T(0.75));
    ref.backward(gy);
    const Tensor<T> xg = to_gpu(x), wd = to_gpu(w), gyd = to_gpu(gy);
    const Tensor<int64_t> td = target.to(gpu());
    cuda::CrossEntropyShape s;
    s.batch = N, s.classes = C, s.spatial = 1, s.ignore_index = -100, s.reduction = 1;
    Tensor<T> out = nan_buffer<T>({});
    Tensor<double> stats = nan_buffer<double>({3});
    CHECK(cuda::nll_loss_forward<T>(xg.data(), td.data(), wd.data(), s, out.data(), stats.data()) == -1);
    expect_close(out, ref, "nll_loss launcher forward");
    Tensor<T> dx = nan_buffer<T>({N, C});
    cuda::nll_loss_backward<T>(td.data(), wd.data(), stats.data(), gyd.data(), s, dx.data());
    expect_close(dx, leaf.grad(), "nll_loss launcher backward");
    CHECK(on_host(stats).to_vector()[1] == doctest::Approx(1 + 1.5 + 0.5 + 3 + 2 + 1.5));  // Σ w[target], not ignored
    expect_unchanged(xg, x, "nll_loss launcher input");
    // reduction none writes one loss per position; a bad target is reported by position.
    s.reduction = 0;
    Tensor<T> per_position = nan_buffer<T>({N});
    CHECK(cuda::nll_loss_forward<T>(xg.data(), td.data(), wd.data(), s, per_position.data(), stats.data()) == -1);
    NllLossOptions<T> none_opt = opt;
    none_opt.reduction = Reduction::none;
    expect_close(per_position, nll_loss(x, target, none_opt), "nll_loss launcher forward, reduction none");
    const Tensor<int64_t> bad_targets = from_vector<int64_t>({0, 1, 2, 3, -100, 9, 5}, {N}).to(gpu());
    CHECK(cuda::nll_loss_forward<T>(xg.data(), bad_targets.data(), wd.data(), s, per_position.data(), stats.data()) == 5);
}

// ===== conv_transpose2d ================================================================================

ConvTranspose2dOptions transpose_options(std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                                         std::array<int64_t, 2> output_padding, std::array<int64_t, 2> dilation = {1, 1},
                                         int64_t groups = 1) {
    ConvTranspose2dOptions o;
    o.stride = stride, o.padding = padding, o.output_padding = output_padding, o.dilation = dilation, o.groups = groups;
    return o;
}

struct TransposeCase {
    const char* name;
    Shape x;       // [N, Cin, H, W]
    int64_t cout;  // output channels
    std::array<int64_t, 2> kernel;
    ConvTranspose2dOptions opt;
    bool bias;
};

const std::vector<TransposeCase>& transpose_cases() {
    static const std::vector<TransposeCase> cases = {
        {"3x3, stride 1, no padding", {2, 4, 5, 6}, 3, {3, 3}, transpose_options({1, 1}, {0, 0}, {0, 0}), true},
        {"3x3 stride 2 pad 1 output_padding 1 (the usual 2x upsampler), odd map", {2, 3, 7, 5}, 5, {3, 3},
         transpose_options({2, 2}, {1, 1}, {1, 1}), true},
        {"4x4 stride 2 pad 1 (DCGAN) from a 1x1 map, batch 1", {1, 6, 1, 1}, 3, {4, 4},
         transpose_options({2, 2}, {1, 1}, {0, 0}), false},
        {"5x3, stride 2x1, padding 1x0, output_padding 1x0, dilation 2x1", {2, 3, 6, 4}, 4, {5, 3},
         transpose_options({2, 1}, {1, 0}, {1, 0}, {2, 1}), true},
        {"groups 2 (Cin 4, Cout 6)", {2, 4, 5, 5}, 6, {3, 3}, transpose_options({1, 1}, {1, 1}, {0, 0}, {1, 1}, 2), true},
        {"depthwise (groups = Cin = Cout = 8), stride 2", {2, 8, 5, 6}, 8, {3, 3},
         transpose_options({2, 2}, {1, 1}, {1, 1}, {1, 1}, 8), false},
        {"output_padding 1 >= stride 1 (dilation 2): the zero-padded input", {2, 3, 4, 5}, 2, {3, 3},
         transpose_options({1, 1}, {0, 0}, {1, 1}, {2, 2}), true},
        {"output_padding 2x1 >= stride 2x1 (dilation 3x2), padding 1x0", {1, 2, 5, 4}, 3, {2, 3},
         transpose_options({2, 1}, {1, 0}, {2, 1}, {3, 2}), true},
        {"1x1 stride 3: output cells no input reaches", {2, 5, 4, 3}, 7, {1, 1}, transpose_options({3, 3}, {0, 0}, {0, 0}),
         true},
        {"Cin 70 -> Cout 33 (several GEMM tiles)", {2, 70, 6, 5}, 33, {3, 3}, transpose_options({1, 1}, {1, 1}, {0, 0}),
         true},
    };
    return cases;
}

/// Sets the process-wide conv algorithm for a scope.
struct AlgorithmScope {
    cuda::ConvAlgorithm saved;
    explicit AlgorithmScope(cuda::ConvAlgorithm a) : saved(cuda::conv_algorithm()) { cuda::set_conv_algorithm(a); }
    ~AlgorithmScope() { cuda::set_conv_algorithm(saved); }
};

/// conv_transpose2d through autograd on the device of the inputs: output and the three gradients.
template <class T>
void transpose_run(const Tensor<T>& x_in, const Tensor<T>& w_in, const Tensor<T>& b_in, const Tensor<T>& gy,
                   const ConvTranspose2dOptions& opt, Device device, Tensor<T>& y, Tensor<T>& dx, Tensor<T>& dw,
                   Tensor<T>& db) {
    Tensor<T> x = x_in.detach().to(device), w = w_in.detach().to(device);
    Tensor<T> b = b_in.defined() ? b_in.detach().to(device) : Tensor<T>();
    x.set_requires_grad(), w.set_requires_grad();
    if (b.defined()) b.set_requires_grad();
    const Tensor<T> out = conv_transpose2d(x, w, b, opt);
    CHECK(out.device() == device);
    out.backward(gy.detach().to(device));
    y = out.detach(), dx = x.grad(), dw = w.grad();
    db = b.defined() ? b.grad() : Tensor<T>();
    for (const Tensor<T>* g : {&dx, &dw}) CHECK(g->device() == device);
    expect_unchanged(x, x_in, "conv_transpose2d input");  // x_in lives on the host
    expect_unchanged(w, w_in, "conv_transpose2d weight");
}

template <class T>
void check_transpose_case(const TransposeCase& k, cuda::ConvAlgorithm algorithm, uint64_t seed) {
    const std::string name = std::string("conv_transpose2d: ") + k.name + " [" + dtype_name<T>() + ", " +
                             cuda::conv_algorithm_name(algorithm) + "]";
    CAPTURE(name);
    const int64_t cin = k.x[1];
    const Tensor<T> x = random_input<T>(k.x, seed);
    const Tensor<T> w = random_input<T>({cin, k.cout / k.opt.groups, k.kernel[0], k.kernel[1]}, seed + 1);
    const Tensor<T> b = k.bias ? random_input<T>({k.cout}, seed + 2) : Tensor<T>();
    Tensor<T> gy;
    {
        NoGradGuard no_grad;
        gy = random_input<T>(conv_transpose2d(x, w, b, k.opt).shape(), seed + 3);
    }
    Tensor<T> y, dx, dw, db, my, mdx, mdw, mdb, y_dev, dx_dev, dw_dev, db_dev;
    transpose_run(x, w, b, gy, k.opt, Device::cpu(), y, dx, dw, db);
    // Σ|terms| of each result: the same op on the absolute values.
    transpose_run(abs_copy(x), abs_copy(w), k.bias ? abs_copy(b) : Tensor<T>(), abs_copy(gy), k.opt, Device::cpu(), my,
                  mdx, mdw, mdb);
    AlgorithmScope scope(algorithm);
    transpose_run(x, w, b, gy, k.opt, gpu(), y_dev, dx_dev, dw_dev, db_dev);
    expect_within(y_dev, y, conv_tolerance(my), name + " forward");
    expect_within(dx_dev, dx, conv_tolerance(mdx), name + " d input");
    expect_within(dw_dev, dw, conv_tolerance(mdw), name + " d weight");
    if (k.bias) {
        REQUIRE(db_dev.defined());
        CHECK(db_dev.device() == gpu());
        expect_within(db_dev, db, conv_tolerance(mdb), name + " d bias");
    }
}

}  // namespace

TEST_SUITE("host") {

TEST_CASE("upsampling on CUDA: the reader ranges the backward gathers over are tight and hold every reader") {
    // For each input coordinate i, [begin, end) must contain every output coordinate whose taps
    // read i (else the gather misses a gradient) and start and end on one (tight: no wasted work).
    int64_t missed = 0, loose = 0, cases = 0;
    auto check = [&](const std::vector<detail::LinearTap<double>>& taps, int64_t in) {
        std::vector<int64_t> begin, end;
        detail::reader_ranges(taps, in, begin, end);
        auto reads = [&](int64_t o, int64_t i) { return taps[o].i0 == i || taps[o].i1 == i; };
        for (int64_t o = 0; o < static_cast<int64_t>(taps.size()); ++o)
            for (const int64_t i : {taps[o].i0, taps[o].i1}) missed += !(begin[i] <= o && o < end[i]);
        for (int64_t i = 0; i < in; ++i)
            if (end[i] > begin[i]) loose += !(reads(begin[i], i) && reads(end[i] - 1, i));
        ++cases;
    };
    for (int64_t in = 1; in <= 9; ++in)
        for (int64_t out = 1; out <= 20; ++out) {
            check(detail::nearest_taps<double>(detail::nearest_source(out, in, 0.0)), in);
            check(detail::linear_taps<double>(out, in, false, 0.0), in);
            check(detail::linear_taps<double>(out, in, true, 0.0), in);
        }
    for (double scale : {0.3, 0.6, 1.7, 2.5}) {  // the scale-factor forms (1/scale for the coordinates)
        const int64_t in = 7, out = static_cast<int64_t>(std::floor(in * scale));
        check(detail::nearest_taps<double>(detail::nearest_source(out, in, scale)), in);
        check(detail::linear_taps<double>(out, in, false, scale), in);
    }
    CHECK(cases == 9 * 20 * 3 + 4 * 2);
    CHECK(missed == 0);
    CHECK(loose == 0);
}

}  // TEST_SUITE("host")

TEST_SUITE("gpu") {

TEST_CASE("layer_norm on CUDA equals the CPU op (launchers, ops, all three gradients; float, double)") {
    // Both versions of kernels/seam/norm.cuh's layer_norm (SEAM_LAYER_NORM_VERSION: 2 is the default).
    for (const char* version : {"1", "2"}) {
        CAPTURE(version);
        const EnvScope scope("SEAM_LAYER_NORM_VERSION", version);
        check_layer_norm<float>();
        check_layer_norm<double>();
    }
}

TEST_CASE("upsample_nearest2d and upsample_bilinear2d on CUDA equal the CPU ops (both align_corners, scale factors)") {
    // Both versions of kernels/seam/resize.cuh (SEAM_RESIZE_VERSION: 2, the 32-bit index split, is the default).
    for (const char* version : {"1", "2"}) {
        CAPTURE(version);
        const EnvScope scope("SEAM_RESIZE_VERSION", version);
        check_upsample<float>();
        check_upsample<double>();
    }
}

TEST_CASE("topk on CUDA gives the CPU's values and indices (ties, NaN, k = n, sorted and unsorted) and gradient") {
    check_topk<float>();
    check_topk<double>();
}

TEST_CASE("nll_loss on CUDA equals the CPU op (class weights, ignore_index, every reduction, spatial targets)") {
    // Under both reductions of kernels/seam/softmax.cuh (SEAM_CROSS_ENTROPY_VERSION 1: one block; 2: two levels).
    for (const char* version : {"1", "2"}) {
        CAPTURE(version);
        const EnvScope scope("SEAM_CROSS_ENTROPY_VERSION", version);
        check_nll_loss<float>();
        check_nll_loss<double>();
    }
}

TEST_CASE("conv_transpose2d on CUDA, both conv kernel versions, equals the CPU op (forward and three gradients)") {
    uint64_t seed = 1700;
    for (const TransposeCase& k : transpose_cases()) {
        for (cuda::ConvAlgorithm a : {cuda::ConvAlgorithm::implicit_gemm, cuda::ConvAlgorithm::direct}) {
            check_transpose_case<float>(k, a, seed);
            check_transpose_case<double>(k, a, seed);
        }
        seed += 4;
    }
    // Mixed devices are refused naming the op and the devices.
    const Tensor<float> x = ones<float>({1, 2, 4, 4}), w = ones<float>({2, 3, 3, 3}), b = ones<float>({3});
    CHECK_THROWS_WITH_AS(conv_transpose2d(x.to(gpu()), w),
                         doctest::Contains("conv_transpose2d: inputs on different devices (input on cuda:0, weight on cpu)"),
                         Error);
    CHECK_THROWS_WITH_AS(conv_transpose2d(x, w, b.to(gpu())), doctest::Contains("bias on cuda:0"), Error);
}

}  // TEST_SUITE("gpu")
