// tests/cuda/test_tf32_mma_kernel_logic.cu — the TF32 convolution's version 4
// (kernels/seam/conv2d_tf32_mma.cuh) replayed on the CPU, launch by launch, against naive loops
// (no GPU needed: exit 0 pass, 1 fail).
//
// For every block of a launch and every K-tile:
//   * every thread's copies (ThreadCopies::load, the kernel's own code) fill a NaN-filled stage:
//     each stage element must be written exactly once, every valid source address must lie inside
//     its tensor, and the 32 lanes of a warp must write 32 distinct banks at each copy;
//   * every warp's fragment loads (Tile::a_offset/a_frag_*, b_offset/b_frag_*) read the stage with
//     TF32 rounding (cvt.rna), 32 distinct banks per load, and an independent model of
//     mma.m16n8k8.tf32 multiplies them: the model places each lane's registers in the 16x8 / 8x8 /
//     16x8 tiles by CUTLASS's CuTe thread-value layouts for SM80_16x8x8_F32TF32TF32F32_TN
//     (A ((4,8),(2,2)):((16,1),(8,64)), B ((4,8),2):((8,1),32), C ((4,8),(2,2)):((32,1),(16,8)),
//     thread = 4·t1 + t0, on column-major tiles), not by the kernel's functions, so a fragment
//     mapping that disagrees with the hardware's gives a wrong product;
//   * the epilogue (Tile::c_frag_*) stores through conv2d.cuh's problems: each output (or
//     workspace slice element) written once; backward-weight's slices are then summed by
//     conv2d.cuh's sum_slices_at.
// Results are compared with naive loops in double on TF32-rounded operands, on awkward shapes
// (odd maps, stride, padding, dilation, groups, 1x1, 5x3, M on both sides of 64, N and K off the
// tiles), for the runtime-size and the 3x3-instantiated sources. What this cannot check: the
// cp.async pipeline's wait/barrier order, the PTX itself, and speed.
//
//   nvcc -std=c++20 -Ikernels tests/cuda/test_tf32_mma_kernel_logic.cu -o tf32_logic && ./tf32_logic
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "seam/conv2d_tf32.cuh"

#include "conv_logic_support.hpp"

namespace {

namespace k = seam::kernels;
namespace d = seam::kernels::conv2d_detail;
namespace v4 = seam::kernels::conv2d_tf32_mma;

int failures = 0;
long long checks = 0;

void expect(bool ok, const std::string& what, long long a = 0, long long b = 0) {
    ++checks;
    if (ok) return;
    if (++failures <= 25) std::printf("FAIL: %s (%lld, %lld)\n", what.c_str(), a, b);
}

using seam::conv_logic::mma_model;
using seam::conv_logic::tf32;

void expect_distinct_banks(const int (&offsets)[32], const std::string& what) {
    unsigned seen = 0;
    for (int lane = 0; lane < 32; ++lane) seen |= 1u << (offsets[lane] % 32);
    expect(seen == 0xffffffffu, what + ": 32 lanes on 32 distinct banks", static_cast<long long>(__builtin_popcount(seen)));
}

struct Span {
    const float* begin;
    size_t size;
    bool holds(const float* p) const { return p >= begin && p < begin + size; }
};

/// One launch of tf32_mma_kernel<BM, ·, Source, Store>, emulated: the grid, every block's K-tiles,
/// copies, fragment loads, mma and stores. a_span, b_span: the tensors A and B are read from.
/// `stored` [groups·slices, M, N] counts the epilogue's stores of C[m, n] per (group, slice).
template <int BM, class Source, class Store>
void emulate(const Source& s, const Store& st, int groups, int slices, int k_slice, const Span& a_span,
             const Span& b_span, std::vector<int>& stored, const std::string& what) {
    using Cfg = v4::Tile<BM>;
    constexpr int MF = Cfg::MF, NF = Cfg::NF;
    const int grid_n = (s.N + v4::kBN - 1) / v4::kBN, grid_m = (s.M + BM - 1) / BM;
    expect(k_slice % v4::kBK == 0, what + ": k_slice a multiple of kBK", k_slice);
    std::vector<float> stage(Cfg::STAGE_FLOATS);
    std::vector<int> hits(Cfg::STAGE_FLOATS);
    std::vector<float> acc(size_t(v4::kThreads) * MF * NF * 4);
    std::vector<std::vector<int>> copy_offsets(v4::kThreads);
    bool banks_checked = false;
    for (int z = 0; z < groups * slices; ++z)
        for (int by = 0; by < grid_m; ++by)
            for (int bx = 0; bx < grid_n; ++bx) {
                const int g = z / slices, slice = z % slices, m0 = by * BM, n0 = bx * v4::kBN;
                const int k_begin = slice * k_slice;
                const int k_end = s.K - k_begin < k_slice ? s.K : k_begin + k_slice;
                const int tiles = k_begin < k_end ? (k_end - k_begin + v4::kBK - 1) / v4::kBK : 0;
                std::fill(acc.begin(), acc.end(), 0.0f);
                for (int t = 0; t < tiles; ++t) {
                    std::fill(stage.begin(), stage.end(), std::numeric_limits<float>::quiet_NaN());
                    std::fill(hits.begin(), hits.end(), 0);
                    for (int tid = 0; tid < v4::kThreads; ++tid) {
                        const v4::ThreadCopies<BM, Source> copies(s, tid, g, m0, n0);
                        copy_offsets[size_t(tid)].clear();
                        copies.load(s, k_begin + t * v4::kBK, k_end, [&](int offset, const float* src, bool valid) {
                            const bool inside = offset >= 0 && offset < Cfg::STAGE_FLOATS;
                            expect(inside, what + ": copy offset inside the stage", offset);
                            if (!inside) return;
                            const Span& span = offset < Cfg::A_FLOATS ? a_span : b_span;
                            expect(span.holds(src) || !valid, what + ": valid copy source inside its tensor", offset);
                            expect(span.holds(src) || a_span.holds(src) || b_span.holds(src),
                                   what + ": zero-fill source address is a tensor's", offset);
                            ++hits[size_t(offset)];
                            stage[size_t(offset)] = valid && span.holds(src) ? *src : 0.0f;
                            copy_offsets[size_t(tid)].push_back(offset);
                        });
                    }
                    for (int i = 0; i < Cfg::STAGE_FLOATS; ++i)
                        if (hits[size_t(i)] != 1) {
                            expect(false, what + ": stage element copied exactly once", i, hits[size_t(i)]);
                            break;
                        }
                    if (!banks_checked) {  // the mapping is the same for every block and tile
                        for (int warp = 0; warp < v4::kThreads / 32; ++warp)
                            for (size_t c = 0; c < copy_offsets[size_t(warp * 32)].size(); ++c) {
                                int offsets[32];
                                for (int lane = 0; lane < 32; ++lane) offsets[lane] = copy_offsets[size_t(warp * 32 + lane)][c];
                                expect_distinct_banks(offsets, what + ": copy");
                            }
                    }
                    const float* As = stage.data();
                    const float* Bs = stage.data() + Cfg::A_FLOATS;
                    for (int warp = 0; warp < v4::kThreads / 32; ++warp)
                        for (int ks = 0; ks < v4::kBK / 8; ++ks) {
                            float a[MF][32][4], b[NF][32][2];
                            for (int i = 0; i < MF; ++i)
                                for (int j = 0; j < 4; ++j) {
                                    int offsets[32];
                                    for (int lane = 0; lane < 32; ++lane) {
                                        offsets[lane] = Cfg::a_offset(Cfg::a_frag_row(warp, lane, i, j), Cfg::a_frag_k(lane, ks, j));
                                        a[i][lane][j] = tf32(As[offsets[lane]]);
                                    }
                                    if (!banks_checked) expect_distinct_banks(offsets, what + ": A fragment load");
                                }
                            for (int i = 0; i < NF; ++i)
                                for (int j = 0; j < 2; ++j) {
                                    int offsets[32];
                                    for (int lane = 0; lane < 32; ++lane) {
                                        offsets[lane] = Cfg::b_offset(Cfg::b_frag_k(lane, ks, j), Cfg::b_frag_col(warp, lane, i));
                                        b[i][lane][j] = tf32(Bs[offsets[lane]]);
                                    }
                                    if (!banks_checked) expect_distinct_banks(offsets, what + ": B fragment load");
                                }
                            for (int i = 0; i < MF; ++i)
                                for (int j = 0; j < NF; ++j) {
                                    float c[32][4];
                                    for (int lane = 0; lane < 32; ++lane)
                                        for (int v = 0; v < 4; ++v)
                                            c[lane][v] = acc[((size_t(warp * 32 + lane) * MF + i) * NF + j) * 4 + v];
                                    mma_model(a[i], b[j], c);
                                    for (int lane = 0; lane < 32; ++lane)
                                        for (int v = 0; v < 4; ++v)
                                            acc[((size_t(warp * 32 + lane) * MF + i) * NF + j) * 4 + v] = c[lane][v];
                                }
                        }
                    banks_checked = true;
                }
                // Epilogue: the kernel's loop order and bounds.
                for (int tid = 0; tid < v4::kThreads; ++tid) {
                    const int warp = tid / 32, lane = tid % 32;
                    for (int j = 0; j < NF; ++j)
                        for (int jc = 0; jc < 2; ++jc) {
                            const int n = n0 + Cfg::c_frag_col(warp, lane, j, jc);
                            if (n >= s.N) continue;
                            const auto o = st.c_col(g, slice, n);
                            for (int i = 0; i < MF; ++i)
                                for (int jr = 0; jr < 2; ++jr) {
                                    const int m = m0 + Cfg::c_frag_row(warp, lane, i, 2 * jr);
                                    if (m >= s.M) continue;
                                    ++stored[(size_t(z) * s.M + m) * s.N + n];
                                    st.c_store(o, m, acc[((size_t(tid) * MF + i) * NF + j) * 4 + 2 * jr + jc]);
                                }
                        }
                }
            }
}

template <class Source, class Store>
void emulate_for(const Source& s, const Store& st, int groups, int slices, int k_slice, const Span& a_span,
                 const Span& b_span, const std::string& what) {
    std::vector<int> stored(size_t(groups) * slices * s.M * s.N, 0);
    if (v4::block_rows(s.M) == 128) emulate<128>(s, st, groups, slices, k_slice, a_span, b_span, stored, what + " [BM 128]");
    else emulate<64>(s, st, groups, slices, k_slice, a_span, b_span, stored, what + " [BM 64]");
    for (size_t i = 0; i < stored.size(); ++i)
        if (stored[i] != 1) {
            expect(false, what + ": C element stored exactly once", static_cast<long long>(i), stored[i]);
            return;
        }
}

using seam::conv_logic::Case;
using seam::conv_logic::Reference;
using seam::conv_logic::shape_of;

/// Every element within 1e-5 of its Σ|terms| (fp32 sums of up to a few thousand TF32 products: a
/// generous float rounding bound); the first mismatches reported with (index, diff / Σ|terms| in 1e-9).
void expect_close(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& magnitude,
                  const std::string& what) {
    for (const auto& [i, scaled] : seam::conv_logic::mismatches(got, want, magnitude, 1e-5))
        expect(false, what + ": element equals the naive loops", static_cast<long long>(i),
               scaled < 0 ? -1 : static_cast<long long>(scaled * 1e9));
    checks += static_cast<long long>(want.size());
}

int cases_3x3 = 0, split_cases = 0;

void check_case(const Case& c, std::mt19937_64& rng) {
    const k::Conv2dShape s = shape_of(c);
    expect(d::valid(s) && d::gemm_fits(s), std::string(c.name) + ": valid shape");
    const int64_t Cg = s.C / s.groups, Og = s.O / s.groups;
    std::vector<float> x(size_t(s.N * s.C * s.H * s.W)), w(size_t(s.O * Cg * s.KH * s.KW)), b(size_t(s.O)),
        dy(size_t(s.N * s.O * s.OH * s.OW));
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (auto* v : {&x, &w, &b, &dy})
        for (float& e : *v) e = uniform(rng);
    const Reference ref = seam::conv_logic::tf32_naive(s, x, w, b, dy);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const d::Dims dims = d::dims_of(s);
    const int groups = int(s.groups);
    const Span xs{x.data(), x.size()}, ws{w.data(), w.size()}, dys{dy.data(), dy.size()};

    // Forward, runtime size and (3x3) fixed 3x3: the launcher's single slice.
    auto forward = [&]<class Source>(const char* variant) {
        const int M = int(Og), N = int(s.N * s.OH * s.OW), K = int(Cg * s.KH * s.KW);
        std::vector<float> y(dy.size(), nan);
        const d::ForwardProblem<float> store{x.data(), w.data(), b.data(), y.data(), dims, M, N, K};
        const std::string what = std::string(c.name) + " forward" + variant;
        emulate_for(Source{x.data(), w.data(), dims, M, N, K}, store, groups, 1, (K + v4::kBK - 1) / v4::kBK * v4::kBK, ws,
                    xs, what);
        expect_close(y, ref.y, ref.y_mag, what);
    };
    auto backward_data = [&]<class Source>(const char* variant) {
        const int M = int(Cg), N = int(s.N * s.H * s.W), K = int(Og * s.KH * s.KW);
        std::vector<float> dx(x.size(), nan);
        const d::BackwardDataProblem<float> store{w.data(), dy.data(), dx.data(), dims, M, N, K};
        const std::string what = std::string(c.name) + " backward-data" + variant;
        emulate_for(Source{w.data(), dy.data(), dims, M, N, K}, store, groups, 1, (K + v4::kBK - 1) / v4::kBK * v4::kBK,
                    ws, dys, what);
        expect_close(dx, ref.dx, ref.dx_mag, what);
    };
    forward.template operator()<v4::ForwardSource<>>("");
    backward_data.template operator()<v4::BackwardDataSource<>>("");
    if (s.KH == 3 && s.KW == 3) {
        forward.template operator()<v4::ForwardSource<3, 3>>(" (fixed 3x3)");
        backward_data.template operator()<v4::BackwardDataSource<3, 3>>(" (fixed 3x3)");
        ++cases_3x3;
    }

    // Backward-weight: the launcher's plan, and a forced split into about 3 slices of 32-multiples.
    const int M = int(Og), N = int(Cg * s.KH * s.KW), K = int(s.N * s.OH * s.OW);
    d::SlicePlan forced{1, (K + v4::kBK - 1) / v4::kBK * v4::kBK};
    if (K > 2 * v4::kBK) {
        const int k_slice = ((K + 2) / 3 + v4::kBK - 1) / v4::kBK * v4::kBK;
        forced = {(K + k_slice - 1) / k_slice, k_slice};
    }
    const d::SlicePlan plans[2] = {k::conv2d_backward_weight_tf32_plan(s), forced};
    for (int which = 0; which < 2; ++which) {
        const d::SlicePlan& plan = plans[which];
        const std::string what = std::string(c.name) + " backward-weight, " + std::to_string(plan.slices) + " slices";
        expect(int64_t(plan.slices - 1) * plan.k_slice < K && int64_t(plan.slices) * plan.k_slice >= K,
               what + ": the slices cover K, none empty", plan.slices, plan.k_slice);
        if (which == 0)  // the launcher's plan and its workspace
            expect(k::conv2d_backward_weight_tf32_workspace_bytes(s) ==
                       (plan.slices > 1 ? size_t(plan.slices) * w.size() * sizeof(float) : 0),
                   what + ": workspace bytes match the plan");
        std::vector<float> partial(size_t(plan.slices) * w.size(), nan), dw(w.size(), nan);
        const d::BackwardWeightProblem<float, false> store{x.data(), dy.data(), partial.data(), dims, M, N, K};
        emulate_for(v4::BackwardWeightSource{x.data(), dy.data(), dims, M, N, K}, store, groups, plan.slices, plan.k_slice,
                    dys, xs, what);
        for (size_t i = 0; i < w.size(); ++i)
            dw[i] = d::sum_slices_at<float>(partial.data(), int64_t(w.size()), plan.slices, int64_t(i), nullptr, 0);
        std::vector<double> mag(ref.dw_mag);
        for (double& m : mag) m *= plan.slices;
        expect_close(dw, ref.dw, mag, what);
        if (plan.slices > 1) ++split_cases;
    }
}

}  // namespace

int main() {
    std::mt19937_64 rng(20261127);
    // The rounding model itself, on hand-made values: 1 + 2^-11 is a tie (rounds away: up),
    // 1 + 2^-11 - 2^-23 rounds down, -(1 + 3·2^-11) is a tie between 1 + 2^-10 and 1 + 2^-9 (away: up in magnitude).
    expect(tf32(1.0f + 0x1p-11f) == 1.0f + 0x1p-10f, "tf32 rounds a tie away from zero");
    expect(tf32(1.0f + 0x1p-11f - 0x1p-23f) == 1.0f, "tf32 rounds below a tie down");
    expect(tf32(-(1.0f + 3 * 0x1p-11f)) == -(1.0f + 0x1p-9f), "tf32 rounds a negative tie away from zero");
    const std::vector<Case> cases = seam::conv_logic::gemm_cases();
    for (const Case& c : cases) check_case(c, rng);
    expect(cases_3x3 >= 8, "the 3x3-instantiated sources ran", cases_3x3);
    expect(split_cases >= 5, "backward-weight ran split", split_cases);
    if (failures) {
        std::printf("test_tf32_mma_kernel_logic: %d FAILED (of %lld checks)\n", failures, checks);
        return 1;
    }
    std::printf("test_tf32_mma_kernel_logic: all %lld checks passed (TF32 version 4: copies, swizzles, fragments, "
                "mma model, stores; host emulation, no GPU used)\n", checks);
    return 0;
}
