// tests/cuda/test_conv_kernel_logic.cu — the host-callable parts of conv2d.cuh's version-2 tuning,
// run on the CPU against naive convolution loops (no GPU needed: exit 0 pass, 1 fail).
//
// What is checked, each against an independent computation:
//   * the split-K plans (plan_split_k through forward_slices, backward_data_slices,
//     backward_weight_slices_modelled): on random and on the benchmark's shapes the slices
//     partition K with no empty slice, k_slice is a multiple of kBK, grid.z stays legal, the
//     workspace functions agree with the plan; and the model does what it is for: it splits the
//     under-filled GEMMs the first H100 run measured slow (Fashion-MNIST conv3, VGG conv4/conv5
//     backward-weight) and leaves the full ones (VGG conv3_2 forward) alone;
//   * the split GEMMs themselves, at the level of the problem structs: every (group, slice) of the
//     launch grid computes C[m, n] over its K range through the structs' own gathers (a_row/a,
//     b_col/b) and stores through their own c_col/c_store with the slice — the code the GPU runs —
//     then sum_slices_at (the epilogues' own function) adds the partials and the bias. Workspace
//     and outputs start as NaN, so a partial or an output that nobody writes poisons the result.
//     Forward, backward-data and backward-weight equal naive loops in double on awkward shapes
//     (odd maps, stride, padding, dilation, groups, 1x1, M above a 128-row tile), 3x3 kernels also
//     with the problems instantiated for 3x3 (Conv2dTuning::fixed_3x3). The fp32
//     kernel's thread mapping is not emulated here (unchanged since it passed on an H100); the
//     order of additions inside a slice is, so the tolerance is a float rounding bound;
//   * backward-weight's run gather (b_run, Conv2dTuning::gather_runs) against its element gather,
//     for every start q, every cut of the K range inside the run, valid and invalid columns, runs
//     that cross a row and an image boundary;
//   * the small-channel backward-data kernel (C/groups ≤ 4): its weight staging
//     (small_channel_weight_source) and its per-pixel function (small_channel_backward_data_pixel)
//     run for every thread of the launch grid, in float and double, against naive loops.
//
//   nvcc -std=c++20 -Iinclude -Ikernels tests/cuda/test_conv_kernel_logic.cu -o conv_logic && ./conv_logic
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "seam/conv2d.cuh"

#include "conv_logic_support.hpp"

namespace {

namespace k = seam::kernels;
namespace d = seam::kernels::conv2d_detail;

int failures = 0;
int fixed_3x3_cases = 0;  // cases that ran the problems instantiated for 3x3
int gather_run_checks = 0;  // backward-weight problems whose run gathers were compared

void expect(bool ok, const std::string& what, long long a = 0, long long b = 0) {
    if (ok) return;
    if (++failures <= 25) std::printf("FAIL: %s (%lld, %lld)\n", what.c_str(), a, b);
}

using seam::conv_logic::Case;
using seam::conv_logic::naive;
using seam::conv_logic::Reference;
using seam::conv_logic::shape_of;

template <class T>
void expect_close(const std::vector<T>& got, const std::vector<double>& want, const std::vector<double>& magnitude,
                  double rel, const std::string& what) {
    for (const auto& [i, scaled] : seam::conv_logic::mismatches(got, want, magnitude, rel))
        expect(false, what + " element", static_cast<long long>(i), scaled < 0 ? -1 : 1);
}

/// The grid of implicit_gemm_kernel, at the level of the problem structs: block z = g·slices + slice
/// computes C[m, n] over its K range and stores through c_col(g, slice, n) / c_store. Sums in the
/// kernel's accumulator type, in k order (the kernel's order within a slice).
template <class T, class Problem>
void emulate_gemm(const Problem& p, int groups, int slices, int k_slice) {
    using Acc = typename d::Accumulator<T>::type;
    for (int z = 0; z < groups * slices; ++z) {
        const int g = z / slices, slice = z % slices;
        const int k_begin = slice * k_slice, k_end = std::min(p.K, k_begin + k_slice);
        for (int n = 0; n < p.N; ++n) {
            const auto col = p.b_col(g, n);
            const auto out = p.c_col(g, slice, n);
            for (int m = 0; m < p.M; ++m) {
                const auto row = p.a_row(g, m);
                Acc acc = Acc(0);
                for (int kk = k_begin; kk < k_end; ++kk) acc += static_cast<Acc>(p.a(row, kk)) * static_cast<Acc>(p.b(col, kk));
                p.c_store(out, m, acc);
            }
        }
    }
}

/// Backward-weight's run gather (b_run: the kernel's path with Conv2dTuning::gather_runs) equals
/// the element gather b() for a run of R starting at every q, with the K-range end cut anywhere in
/// the run, on valid and invalid columns (n = N gives zeros).
template <class T, int R, class Problem>
void check_gather_runs(const Problem& p, int groups, const std::string& what) {
    int bad = 0;
    for (int g = 0; g < groups; ++g)
        for (int q = 0; q <= p.K; ++q)
            for (int cut = 0; cut <= R; ++cut) {
                const int k_end = std::min(p.K, q + cut);
                for (int n = 0; n <= p.N; ++n) {
                    const auto col = p.b_col(g, n);
                    T run[R];
                    for (T& v : run) v = std::numeric_limits<T>::quiet_NaN();
                    p.b_run(col, q, k_end, run);
                    for (int e = 0; e < R; ++e) {
                        const T want = q + e < k_end ? p.b(col, q + e) : T(0);
                        if (!(run[e] == want) && ++bad <= 3) expect(false, what + ": b_run", q, e);
                    }
                }
            }
    ++gather_run_checks;
}

void check_plan(const k::Conv2dShape& s, const d::SlicePlan& plan, int64_t K, const std::string& what) {
    expect(plan.slices >= 1 && plan.k_slice % d::kBK == 0 && plan.k_slice > 0, what + ": plan shape", plan.slices, plan.k_slice);
    expect(int64_t(plan.slices) * plan.k_slice >= K, what + ": slices cover K", plan.slices, plan.k_slice);
    expect(plan.slices == 1 || int64_t(plan.slices - 1) * plan.k_slice < K, what + ": no empty slice", plan.slices, K);
    expect(int64_t(plan.slices) * s.groups <= 65535, what + ": grid.z", plan.slices, s.groups);
}

template <class T>
void check_split_gemms(const Case& c, std::mt19937_64& rng, bool force_split) {
    const k::Conv2dShape s = shape_of(c);
    const std::string tname = sizeof(T) == 4 ? "float" : "double";
    expect(d::valid(s) && d::gemm_fits(s), std::string(c.name) + ": valid shape");
    const int64_t Cg = s.C / s.groups, Og = s.O / s.groups;
    std::vector<T> x(size_t(s.N * s.C * s.H * s.W)), w(size_t(s.O * Cg * s.KH * s.KW)), b(size_t(s.O)),
        dy(size_t(s.N * s.O * s.OH * s.OW));
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    for (auto* v : {&x, &w, &b, &dy})
        for (T& e : *v) e = T(uniform(rng));
    const Reference ref = naive(s, x, w, b, dy);
    const T nan = std::numeric_limits<T>::quiet_NaN();
    const double rel = sizeof(T) == 4 ? 2e-6 : 1e-13;
    const int groups = int(s.groups);

    // Forward: the modelled plan, or (force_split) a plan of about 3 slices, to reach the epilogue
    // on shapes too small for the model to split. Run with the runtime-size problem and, for 3x3
    // kernels, the one instantiated for 3x3 (Conv2dTuning::fixed_3x3).
    auto forward = [&]<class Problem>(const char* variant) {
        const int64_t K = Cg * s.KH * s.KW;
        d::SlicePlan plan = d::forward_slices(s, sizeof(T));
        if (force_split && K > d::kBK) plan = d::plan_split_k(1, K, 1, 0, 64, 3);  // free workspace: split
        const std::string what = std::string(c.name) + " [" + tname + variant + "] forward, " + std::to_string(plan.slices) + " slices";
        check_plan(s, plan, K, what);
        const size_t ny = dy.size();
        std::vector<T> partial(size_t(plan.slices) * ny, nan), y(ny, nan);
        Problem p{x.data(), w.data(), nullptr, partial.data(), d::dims_of(s), int(Og), int(s.N * s.OH * s.OW), int(K)};
        emulate_gemm<T>(p, groups, plan.slices, plan.k_slice);
        // sum_slices_bias_kernel's grid: x over pixels, y over channels, z over images.
        for (int64_t n = 0; n < s.N; ++n)
            for (int64_t o = 0; o < s.O; ++o)
                for (int64_t px = 0; px < s.OH * s.OW; ++px) {
                    const int64_t i = (n * s.O + o) * s.OH * s.OW + px;
                    y[size_t(i)] = d::sum_slices_at<T>(partial.data(), int64_t(ny), plan.slices, i, b.data(), int(o));
                }
        std::vector<double> mag(ref.y_mag);
        for (double& m : mag) m *= plan.slices;  // each partial was rounded to T once
        expect_close(y, ref.y, mag, rel, what);
    };
    // Backward-data through the GEMM (the small-channel kernel has its own check below).
    auto backward_data = [&]<class Problem>(const char* variant) {
        const int64_t K = Og * s.KH * s.KW;
        d::SlicePlan plan = d::backward_data_slices(s, sizeof(T));
        if (force_split && K > d::kBK) plan = d::plan_split_k(1, K, 1, 0, 64, 3);
        const std::string what = std::string(c.name) + " [" + tname + variant + "] backward-data, " + std::to_string(plan.slices) + " slices";
        check_plan(s, plan, K, what);
        const size_t nx = x.size();
        std::vector<T> partial(size_t(plan.slices) * nx, nan), dx(nx, nan);
        Problem p{w.data(), dy.data(), partial.data(), d::dims_of(s), int(Cg), int(s.N * s.H * s.W), int(K)};
        emulate_gemm<T>(p, groups, plan.slices, plan.k_slice);
        for (size_t i = 0; i < nx; ++i) dx[i] = d::sum_slices_at<T>(partial.data(), int64_t(nx), plan.slices, int64_t(i), nullptr, 0);
        std::vector<double> mag(ref.dx_mag);
        for (double& m : mag) m *= plan.slices;
        expect_close(dx, ref.dx, mag, rel, what);
    };
    forward.template operator()<d::ForwardProblem<T>>("");
    backward_data.template operator()<d::BackwardDataProblem<T>>("");
    if (s.KH == 3 && s.KW == 3) {
        forward.template operator()<d::ForwardProblem<T, 3, 3>>(", fixed 3x3");
        backward_data.template operator()<d::BackwardDataProblem<T, 3, 3>>(", fixed 3x3");
        ++fixed_3x3_cases;
    }
    // Backward-weight with the modelled plan.
    {
        const int64_t K = s.N * s.OH * s.OW;
        const d::SlicePlan plan = k::conv2d_backward_weight_plan<T>(s);
        const std::string what = std::string(c.name) + " [" + tname + "] backward-weight, " + std::to_string(plan.slices) + " slices";
        check_plan(s, plan, K, what);
        const size_t bytes = k::conv2d_backward_weight_workspace_bytes<T>(s, k::ConvAlgo::implicit_gemm);
        expect(bytes == (plan.slices > 1 ? size_t(plan.slices) * w.size() * sizeof(T) : 0), what + ": workspace bytes",
               static_cast<long long>(bytes));
        const size_t nw = w.size();
        std::vector<T> partial(size_t(plan.slices) * nw, nan), dw(nw, nan);
        T* target = plan.slices > 1 ? partial.data() : dw.data();
        d::BackwardWeightProblem<T> p{x.data(), dy.data(), target, d::dims_of(s), int(Og), int(Cg * s.KH * s.KW), int(K)};
        emulate_gemm<T>(p, groups, plan.slices, plan.k_slice);
        check_gather_runs<T, 4>(p, groups, what);
        check_gather_runs<T, 3>(p, groups, what);
        if (plan.slices > 1)
            for (size_t i = 0; i < nw; ++i) dw[i] = d::sum_slices_at<T>(partial.data(), int64_t(nw), plan.slices, int64_t(i), nullptr, 0);
        std::vector<double> mag(ref.dw_mag);
        for (double& m : mag) m *= plan.slices;
        expect_close(dw, ref.dw, mag, rel, what);
    }
}

/// The small-channel backward-data kernel over its whole launch grid: blocks (x over 256-pixel
/// chunks, y over images, z over groups), each staging its group's weights with the kernel's map
/// and running the per-pixel function for its threads.
template <class T, int CG>
void emulate_small_channel(const k::Conv2dShape& s, const T* w, const T* dy, T* dx) {
    const d::Dims dm = d::dims_of(s);
    const int per_group = dm.Og * dm.taps * CG;
    std::vector<T> ws(size_t(per_group), std::numeric_limits<T>::quiet_NaN());
    const int64_t blocks_x = (s.H * s.W + d::kThreads - 1) / d::kThreads;
    for (int g = 0; g < int(s.groups); ++g) {
        for (int i = 0; i < per_group; ++i) ws[size_t(i)] = w[d::small_channel_weight_source<CG>(i, g, dm)];
        for (int64_t bx = 0; bx < blocks_x; ++bx)
            for (int t = 0; t < d::kThreads; ++t) {
                const int pix = int(bx) * d::kThreads + t;
                if (pix >= dm.in_pixels) continue;
                const int h = pix / dm.W, col = pix - h * dm.W;
                for (int n = 0; n < int(s.N); ++n)
                    d::small_channel_backward_data_pixel<T, CG>(ws.data(), dy + (int64_t(n) * dm.O + int64_t(g) * dm.Og) * dm.out_pixels,
                                                                dx + (int64_t(n) * dm.C + int64_t(g) * CG) * dm.in_pixels, dm, h, col);
            }
    }
}

template <class T>
void check_small_channel(const Case& c, std::mt19937_64& rng) {
    const k::Conv2dShape s = shape_of(c);
    const std::string what = std::string(c.name) + " [" + (sizeof(T) == 4 ? "float" : "double") + "] small-channel backward-data";
    const int64_t Cg = s.C / s.groups;
    expect(d::small_channel_backward_data<T>(s), what + ": takes the direct kernel", Cg);
    expect(k::conv2d_backward_data_workspace_bytes<T>(s, k::ConvAlgo::implicit_gemm) == 0, what + ": needs no workspace");
    std::vector<T> x(size_t(s.N * s.C * s.H * s.W), T(0)), w(size_t(s.O * Cg * s.KH * s.KW)), b(size_t(s.O), T(0)),
        dy(size_t(s.N * s.O * s.OH * s.OW));
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    for (auto* v : {&w, &dy})
        for (T& e : *v) e = T(uniform(rng));
    const Reference ref = naive(s, x, w, b, dy);
    std::vector<T> dx(x.size(), std::numeric_limits<T>::quiet_NaN());
    switch (Cg) {
        case 1: emulate_small_channel<T, 1>(s, w.data(), dy.data(), dx.data()); break;
        case 2: emulate_small_channel<T, 2>(s, w.data(), dy.data(), dx.data()); break;
        case 3: emulate_small_channel<T, 3>(s, w.data(), dy.data(), dx.data()); break;
        default: emulate_small_channel<T, 4>(s, w.data(), dy.data(), dx.data()); break;
    }
    expect_close(dx, ref.dx, ref.dx_mag, sizeof(T) == 4 ? 2e-6 : 1e-13, what);
}

/// The model splits what the first H100 run found under-filled and leaves full GEMMs alone.
void check_model_choices() {
    auto conv = [](int64_t N, int64_t C, int64_t HW, int64_t O) {
        return shape_of(Case{"", N, C, HW, HW, O, 3, 3, 1, 1, 1, 1, 1, 1, 1});
    };
    const auto fmnist3 = conv(128, 64, 7, 64);  // 49 blocks of 64 x 128: 0.104 ms, 2.2x cuDNN
    const auto fwd = d::forward_slices(fmnist3, 4);
    expect(fwd.slices >= 3, "model: Fashion-MNIST conv3 forward is split", fwd.slices);
    const auto bwd = d::backward_data_slices(fmnist3, 4);
    expect(bwd.slices >= 3, "model: Fashion-MNIST conv3 backward-data is split", bwd.slices);
    const auto vgg42 = conv(32, 512, 28, 512);  // backward-weight: 144 tiles of 128 x 128, K = 25088
    const auto bw = d::backward_weight_slices_modelled(vgg42, 4);
    const int64_t blocks = d::gemm_blocks(512, 512 * 9, 1, 128) * bw.slices;
    expect(blocks >= 4 * 264, "model: VGG conv4_2 backward-weight fills several waves", blocks, bw.slices);
    const auto first = d::backward_weight_slices(vgg42);  // the first plan: 288 blocks
    expect(d::gemm_blocks(512, 512 * 9, 1, 128) * first.slices == 288, "first plan of VGG conv4_2 (288 blocks)",
           d::gemm_blocks(512, 512 * 9, 1, 128) * first.slices);
    const auto vgg32 = conv(32, 256, 56, 256);  // forward: 1568 blocks, ~6 waves
    expect(d::forward_slices(vgg32, 4).slices == 1, "model: VGG conv3_2 forward is not split", d::forward_slices(vgg32, 4).slices);
    const auto vgg11 = shape_of(Case{"", 32, 3, 224, 224, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1});
    expect(d::small_channel_backward_data<float>(vgg11), "VGG conv1_1 backward-data takes the small-channel kernel");
    expect(!d::small_channel_backward_data<float>(conv(32, 64, 224, 64)), "C = 64 does not");
    // The model's time never grows when a split removes whole waves at no workspace cost.
    expect(d::split_time_model(49, 72, 5, 0, 4, 64) < d::split_time_model(49, 72, 1, 0, 4, 64), "model: fewer K-tiles per wave");
}

void check_random_plans(std::mt19937_64& rng) {
    std::uniform_int_distribution<int64_t> small(1, 9), batch(1, 64), channels(1, 600), map(1, 80);
    for (int t = 0; t < 3000; ++t) {
        Case c{"random", batch(rng), 0, map(rng), map(rng), 0, small(rng) % 5 + 1, small(rng) % 5 + 1, 1, 1, 0, 0, 1, 1, 1};
        c.groups = (t % 4 == 0) ? small(rng) % 3 + 1 : 1;
        c.C = channels(rng) / c.groups * c.groups + c.groups;
        c.O = channels(rng) / c.groups * c.groups + c.groups;
        c.ph = c.KH / 2, c.pw = c.KW / 2;
        c.sh = (t % 3 == 0) ? 2 : 1, c.sw = c.sh;
        const k::Conv2dShape s = shape_of(c);
        if (!d::valid(s) || !d::gemm_fits(s)) continue;
        const std::string what = "random plan " + std::to_string(t);
        check_plan(s, d::forward_slices(s, 4), s.Cg() * s.KH * s.KW, what + " forward");
        check_plan(s, d::backward_data_slices(s, 8), s.Og() * s.KH * s.KW, what + " backward-data");
        check_plan(s, d::backward_weight_slices_modelled(s, 4), s.N * s.OH * s.OW, what + " backward-weight");
        const size_t fb = k::conv2d_forward_workspace_bytes<float>(s, k::ConvAlgo::implicit_gemm);
        const auto fp = d::forward_slices(s, 4);
        expect(fb == (fp.slices > 1 ? size_t(fp.slices) * size_t(s.N * s.O * s.OH * s.OW) * 4 : 0), what + " forward bytes");
        expect(fb <= (size_t(1) << 30), what + " workspace bounded");
        expect(k::conv2d_forward_workspace_bytes<float>(s, k::ConvAlgo::implicit_gemm, k::Conv2dTuning{false, true, true}) == 0,
               what + " untuned forward never splits");
    }
}

}  // namespace

int main() {
    std::mt19937_64 rng(20261127);
    check_model_choices();
    check_random_plans(rng);
    const std::vector<Case> gemm_cases = seam::conv_logic::gemm_cases();
    for (const Case& c : gemm_cases) {
        check_split_gemms<float>(c, rng, false);
        check_split_gemms<float>(c, rng, true);
        check_split_gemms<double>(c, rng, true);
    }
    const std::vector<Case> small_cases = {
        {"C=1, O=32, 28x28 (Fashion-MNIST conv1)", 2, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"C=3, O=8, 3x3 pad 1, odd map 9x13", 2, 3, 9, 13, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"C=2, stride 2, pad 1, 5x5 kernel", 3, 2, 11, 10, 5, 5, 5, 2, 2, 1, 1, 1, 1, 1},
        {"C=4, dilation 2, pad 2, stride 1x3", 1, 4, 10, 14, 6, 3, 3, 1, 3, 2, 2, 2, 2, 1},
        {"C=6 groups 2 (3 per group), O=4", 2, 6, 7, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2},
        {"C=8 groups 2 (4 per group), 1x1", 2, 8, 5, 6, 6, 1, 1, 1, 1, 0, 0, 1, 1, 2},
        {"C=3, kernel larger than the map with padding", 1, 3, 2, 3, 5, 5, 5, 1, 1, 2, 2, 1, 1, 1},
        {"C=1, map of 300 pixels (two 256-pixel blocks)", 1, 1, 15, 20, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    };
    for (const Case& c : small_cases) {
        check_small_channel<float>(c, rng);
        check_small_channel<double>(c, rng);
    }
    expect(fixed_3x3_cases >= 10, "the 3x3-instantiated problems ran", fixed_3x3_cases);
    expect(gather_run_checks >= 20, "the run gathers were compared", gather_run_checks);
    if (failures) {
        std::printf("test_conv_kernel_logic: %d FAILED\n", failures);
        return 1;
    }
    std::printf("test_conv_kernel_logic: all passed (split-K plans and epilogues, small-channel backward-data; "
                "host emulation, no GPU used)\n");
    return 0;
}
