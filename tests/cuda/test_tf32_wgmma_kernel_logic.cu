// tests/cuda/test_tf32_wgmma_kernel_logic.cu — the TF32 convolution's version 6
// (kernels/seam/conv2d_tf32_wgmma.cuh: version 5's staged operands, wgmma's GEMM) replayed on the
// CPU, launch by launch, against naive loops (no GPU needed: exit 0 pass, 1 fail).
//
//   * Bits and sizes by hand: the descriptor of a known address, the swizzled offsets of a few
//     elements, stage sizes (1024-byte multiples; two blocks' shared memory fit an SM).
//   * The accumulator map (Tile::c_row / c_col) against CuTe's CLayout_64xN written out here as
//     its (thread, value) → (m, n) formula: a bijection on each warpgroup's 64 x N, and the two
//     warpgroups' tiles covering the block tile once.
//   * For every block of a launch and every K-tile: all 256 threads' 16-byte copies (the sources'
//     load, the kernel's code) fill a NaN-filled stage — each float written exactly once,
//     destinations 16-byte aligned, valid sources whole aligned chunks of their staged tensor, each
//     8-lane phase of a warp on 8 distinct 16-byte bank groups. Then every wgmma of both
//     warpgroups: its descriptors (the kernel's sw128_descriptor at the kernel's start offsets,
//     the stage placed at a 1024-aligned shared address that is not 0) decoded by this file's
//     model of the hardware (PTX ISA, canonical K-major layout with the 128-byte swizzle: element
//     (r, k) at start + (r / 8)·SBO + (r mod 8)·128 + 4k, then address bits 4-6 XOR-ed with bits
//     7-9), the 64 x N x 8 product formed, and each thread's accumulators given out by the CuTe
//     layout. Then the kernel's epilogue (c_row / c_col, keeps_col, col, put), each output written
//     once, split partials summed by conv2d.cuh's sum_slices_at.
//   Results against naive loops in double on TF32-rounded operands, on the shapes the version-5
//   replay uses (both block heights, splits).
// What this cannot check: that the hardware reads descriptors as the model says (the model is this
// file's reading of the PTX ISA and CUTLASS's GmmaDescriptor, not the silicon), the proxy fence and
// the wait order, and speed.
//
//   nvcc -std=c++20 -Ikernels -Iinclude tests/cuda/test_tf32_wgmma_kernel_logic.cu -o wgmma_logic && ./wgmma_logic
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "seam/conv2d_tf32.cuh"
#include "seam/conv2d_tf32_wgmma.cuh"

#include "conv_logic_support.hpp"

namespace {

namespace k = seam::kernels;
namespace d = seam::kernels::conv2d_detail;
namespace v5 = seam::kernels::conv2d_tf32_nhwc;
namespace v6 = seam::kernels::conv2d_tf32_wgmma;
using seam::conv_logic::Case;
using seam::conv_logic::Reference;
using seam::conv_logic::Span;
using seam::conv_logic::shape_of;
using seam::conv_logic::tf32;
using seam::conv_logic::tf32_as_read;

int failures = 0;
long long checks = 0;

void expect(bool ok, const std::string& what, long long a = 0, long long b = 0) {
    ++checks;
    if (ok) return;
    if (++failures <= 25) std::printf("FAIL: %s (%lld, %lld)\n", what.c_str(), a, b);
}

// ----- the hardware, as modelled here ---------------------------------------------------------------

/// CuTe's CLayout_64xN: Shape ((4, 8, 4), (2, 2, N/8)), Stride ((128, 1, 16), (64, 8, 512)) maps
/// (thread t = t0 + 4·t1 + 32·t2, value v = v0 + 2·v1 + 4·v2) to the column-major index m + 64·n.
void accumulator_at(int t, int v, int& m, int& n) {
    const int t0 = t % 4, t1 = (t / 4) % 8, t2 = t / 32, v0 = v % 2, v1 = (v / 2) % 2, v2 = v / 4;
    const int index = 128 * t0 + t1 + 16 * t2 + 64 * v0 + 8 * v1 + 512 * v2;
    m = index % 64, n = index / 64;
}

/// The shared window of one stage, placed at `base` (a multiple of 1024) of the shared address space.
struct Window {
    uint32_t base;
    const std::vector<float>* stage;
    /// A K-major, 128-byte-swizzled .tf32 wgmma operand, rows x 8, as its descriptor describes it
    /// (the fields checked once): element (r, k) at start + (r / 8)·SBO + (r mod 8)·128 + 4k, address
    /// bits 4-6 XOR-ed with bits 7-9; an address outside the stage fails and reads NaN.
    void read(uint64_t desc, int rows, float* out, const std::string& what) const {
        const uint32_t start = uint32_t(desc & 0x3FFFu) << 4;
        const uint32_t leading = uint32_t((desc >> 16) & 0x3FFFu) << 4;
        const uint32_t stride = uint32_t((desc >> 32) & 0x3FFFu) << 4;
        const int base_offset = int((desc >> 49) & 7u), layout = int(desc >> 62);
        expect(layout == 1 && base_offset == 0 && stride == 1024 && leading == 16 && (desc & 0xC000C000ull) == 0 &&
                   ((desc >> 46) & 7u) == 0 && ((desc >> 52) & 0x3FFu) == 0,
               what + ": descriptor fields (128-byte swizzle, SBO 1024, base offset 0, reserved bits 0)");
        bool inside = true;
        for (int row = 0; row < rows; ++row)
            for (int k = 0; k < 8; ++k) {
                const uint32_t logical = start + uint32_t(row / 8) * stride + uint32_t(row % 8) * 128 + uint32_t(k) * 4;
                const uint32_t physical = logical ^ (((logical >> 7) & 7u) << 4);
                const int64_t index = (int64_t(physical) - int64_t(base)) / 4;
                const bool ok = index >= 0 && index < int64_t(stage->size()) && physical % 4 == 0;
                out[row * 8 + k] = ok ? (*stage)[size_t(index)] : std::numeric_limits<float>::quiet_NaN();
                inside = inside && ok;
            }
        expect(inside, what + ": every operand element inside the stage");
    }
};

// ----- by hand ---------------------------------------------------------------------------------------

void check_by_hand() {
    // Address 0x5420 = 21536: start field 0x542; LBO 1 (16 bytes); SBO 64 (1024 bytes); bit 62.
    expect(v6::sw128_descriptor(0x5420) == (0x542ull | (1ull << 16) | (64ull << 32) | (1ull << 62)),
           "sw128_descriptor(0x5420) by hand");
    expect(v6::sw128_descriptor(0x40000 + 0x5420) == v6::sw128_descriptor(0x5420), "the start field keeps 18 address bits");
    // Row 9, k = 6: chunk 1 XOR (9 mod 8 = 1) = chunk 0, element 2: 9·32 + 0 + 2 = 290. Row 15, k = 31:
    // chunk 7 XOR 7 = 0, element 3: 15·32 + 3 = 483. Row 0 is unswizzled.
    expect(v6::Sw128KMajor::offset(9, 6) == 290 && v6::Sw128KMajor::offset(15, 31) == 483 &&
               v6::Sw128KMajor::offset(0, 13) == 13 && v6::Sw128KMajor::offset(8, 13) == 8 * 32 + 13,
           "Sw128KMajor offsets by hand");
    // BM = 128: (128 + 128) x 32 floats = 32 KiB a stage, 3 stages + 1 KiB of alignment = 97 KiB;
    // BM = 64: 24 KiB a stage. Two blocks an SM: 2 x (97 + 1 reserved) KiB <= 228 KiB.
    expect(v6::Tile<128>::SMEM_BYTES == 97 * 1024 && v6::Tile<64>::SMEM_BYTES == 73 * 1024,
           "shared memory per block by hand", int64_t(v6::Tile<128>::SMEM_BYTES), int64_t(v6::Tile<64>::SMEM_BYTES));
    expect(2 * (v6::Tile<128>::SMEM_BYTES + 1024) <= 228 * 1024, "two blocks' shared memory fit an SM");
    expect(v6::Tile<128>::a_start_bytes(1, 3) == 64 * 128 + 96 && v6::Tile<128>::b_start_bytes(0, 1) == 128 * 128 + 32 &&
               v6::Tile<64>::b_start_bytes(1, 2) == 64 * 128 + 64 * 128 + 64 && v6::Tile<64>::a_start_bytes(1, 0) == 0,
           "descriptor start offsets by hand");
}

/// c_row / c_col against CuTe's layout, and the block tile covered once.
template <int BM>
void check_c_maps() {
    using Cfg = v6::Tile<BM>;
    std::vector<int> seen(size_t(BM) * v6::kBN, 0);
    bool agree = true;
    for (int wg = 0; wg < 2; ++wg)
        for (int t = 0; t < 128; ++t)
            for (int v = 0; v < Cfg::ACC; ++v) {
                int m = 0, n = 0;
                accumulator_at(t, v, m, n);
                const int row = Cfg::c_row(wg, t, v), col = Cfg::c_col(wg, t, v);
                agree = agree && n < Cfg::WG_N && row == Cfg::a_first_row(wg) + m && col == Cfg::b_first_row(wg) + n;
                if (row >= 0 && row < BM && col >= 0 && col < v6::kBN) ++seen[size_t(row) * v6::kBN + col];
            }
    bool once = true;
    for (int c : seen) once = once && c == 1;
    expect(agree, "BM " + std::to_string(BM) + ": c_row / c_col equal CuTe's CLayout_64xN at the warpgroup's rows and columns");
    expect(once, "BM " + std::to_string(BM) + ": accumulators cover the block tile once");
}

// ----- the launch ------------------------------------------------------------------------------------

/// One launch of tf32_wgmma_kernel<BM, Source, Store>, emulated. `stored` [groups·slices, M, N].
template <int BM, class Source, class Store>
void emulate(const Source& s, const Store& st, int groups, int slices, int k_slice, const Span& a_span, const Span& b_span,
             std::vector<int>& stored, const std::string& what) {
    using Cfg = v6::Tile<BM>;
    constexpr int T = v6::kThreads, WG_N = Cfg::WG_N;
    const int grid_n = (s.N + v6::kBN - 1) / v6::kBN, grid_m = (s.M + BM - 1) / BM;
    expect(k_slice % v6::kBK == 0, what + ": k_slice a multiple of kBK", k_slice);
    std::vector<float> stage(Cfg::STAGE_FLOATS);
    std::vector<int> hits(Cfg::STAGE_FLOATS);
    std::vector<float> acc(size_t(T) * Cfg::ACC);
    std::vector<float> A(size_t(64) * 8), B(size_t(WG_N) * 8);
    const Window window{7 * 1024u, &stage};  // a 1024-aligned stage base that is not 0
    bool banks_checked = false;
    for (int z = 0; z < groups * slices; ++z)
        for (int by = 0; by < grid_m; ++by)
            for (int bx = 0; bx < grid_n; ++bx) {
                const int g = z / slices, slice = z % slices, m0 = by * BM, n0 = bx * v6::kBN;
                const int k_begin = slice * k_slice;
                const int k_end = s.K - k_begin < k_slice ? s.K : k_begin + k_slice;
                const int tiles = k_begin < k_end ? (k_end - k_begin + v6::kBK - 1) / v6::kBK : 0;
                std::fill(acc.begin(), acc.end(), 0.0f);
                for (int t = 0; t < tiles; ++t) {
                    std::fill(stage.begin(), stage.end(), std::numeric_limits<float>::quiet_NaN());
                    std::fill(hits.begin(), hits.end(), 0);
                    std::vector<std::vector<int>> copy_offsets(T);
                    const int k0 = k_begin + t * v6::kBK;
                    for (int tid = 0; tid < T; ++tid) {
                        const auto copies = s.copies(tid, g, m0, n0);
                        s.load(copies, g, k0, k_end, [&](int offset, const float* src, bool valid) {
                            seam::conv_logic::record_chunk_copy(stage, hits, copy_offsets[size_t(tid)], Cfg::A_FLOATS, a_span,
                                                                b_span, offset, src, valid, what, expect);
                        });
                    }
                    seam::conv_logic::expect_each_copied_once(hits, what, expect);
                    if (!banks_checked) {  // the mapping is the same for every block and tile
                        for (int warp = 0; warp < T / 32; ++warp) {
                            const size_t stores = copy_offsets[size_t(warp * 32)].size();
                            for (int l = 1; l < 32; ++l)
                                expect(copy_offsets[size_t(warp * 32 + l)].size() == stores,
                                       what + ": a warp's lanes copy alike", warp, l);
                            for (size_t c = 0; c < stores; ++c)
                                for (int phase = 0; phase < 4; ++phase) {
                                    unsigned groups_seen = 0;
                                    for (int l = 0; l < 8; ++l) {
                                        const auto& lane = copy_offsets[size_t(warp * 32 + 8 * phase + l)];
                                        if (c < lane.size()) groups_seen |= 1u << ((lane[c] / 4) % 8);
                                    }
                                    expect(__builtin_popcount(groups_seen) == 8,
                                           what + ": a copy phase's 8 lanes on 8 distinct 16-byte bank groups", warp, phase);
                                }
                        }
                        banks_checked = true;
                    }
                    // Each warpgroup's 4 wgmma of this K-tile, through the descriptors the kernel builds.
                    for (int wg = 0; wg < 2; ++wg)
                        for (int ks = 0; ks < v6::kBK / 8; ++ks) {
                            const uint64_t a_desc = v6::sw128_descriptor(window.base + Cfg::a_start_bytes(wg, ks));
                            const uint64_t b_desc = v6::sw128_descriptor(window.base + Cfg::b_start_bytes(wg, ks));
                            window.read(a_desc, 64, A.data(), what + " A");
                            window.read(b_desc, WG_N, B.data(), what + " B");
                            for (float& v : A) v = tf32_as_read(v);
                            for (float& v : B) v = tf32_as_read(v);
                            for (int th = 0; th < 128; ++th)
                                for (int v = 0; v < Cfg::ACC; ++v) {
                                    int m = 0, n = 0;
                                    accumulator_at(th, v, m, n);
                                    float sum = acc[size_t(wg * 128 + th) * Cfg::ACC + size_t(v)];
                                    for (int kk = 0; kk < 8; ++kk) sum += A[size_t(m) * 8 + kk] * B[size_t(n) * 8 + kk];
                                    acc[size_t(wg * 128 + th) * Cfg::ACC + size_t(v)] = sum;
                                }
                        }
                }
                // Epilogue: the kernel's loop order and tests.
                for (int tid = 0; tid < T; ++tid) {
                    const int wg = tid / 128, th = tid % 128;
                    for (int j = 0; j < Cfg::ACC / 4; ++j)
                        for (int e = 0; e < 2; ++e) {
                            const int n = n0 + Cfg::c_col(wg, th, 4 * j + e);
                            if (!st.keeps_col(n)) continue;
                            float* out = st.col(g, slice, n);
                            for (int h = 0; h < 2; ++h) {
                                const int m = m0 + Cfg::c_row(wg, th, 4 * j + 2 * h + e);
                                if (m >= st.M) continue;
                                ++stored[(size_t(z) * s.M + m) * s.N + n];
                                st.put(out, g, m, acc[size_t(tid) * Cfg::ACC + size_t(4 * j + 2 * h + e)]);
                            }
                        }
                }
            }
}

/// emulate, then every C element stored exactly once, except the columns the store keeps none of
/// (backward-weight's channel pad): never.
template <int BM, class Source, class Store>
void emulate_checked(const Source& s, const Store& st, int groups, int slices, int k_slice, const Span& a_span,
                     const Span& b_span, const std::string& what) {
    std::vector<int> stored(size_t(groups) * slices * s.M * s.N, 0);
    emulate<BM>(s, st, groups, slices, k_slice, a_span, b_span, stored, what);
    for (size_t i = 0; i < stored.size(); ++i)
        if (stored[i] != (st.keeps_col(int(i % size_t(s.N))) ? 1 : 0)) {
            expect(false, what + ": C element stored exactly once (pad columns never)", static_cast<long long>(i), stored[i]);
            return;
        }
    ++checks;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& magnitude,
                  const std::string& what) {
    for (const auto& [i, scaled] : seam::conv_logic::mismatches(got, want, magnitude, 1e-5))
        expect(false, what + ": element equals the naive loops", static_cast<long long>(i),
               scaled < 0 ? -1 : static_cast<long long>(scaled * 1e9));
    checks += static_cast<long long>(want.size());
}

/// Staged activations [N][P][G][Chp] from their definition (test_tf32_nhwc_kernel_logic.cu checks
/// version 5's staging kernel against this same definition).
std::vector<float> staged(const std::vector<float>& src, int64_t N, int64_t Ch, int64_t P, int64_t G) {
    const int64_t Chg = Ch / G, Chp = v5::pad4(int(Chg));
    std::vector<float> out(size_t(N * P * G * Chp), 0.0f);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t p = 0; p < P; ++p)
            for (int64_t g = 0; g < G; ++g)
                for (int64_t c = 0; c < Chg; ++c)
                    out[size_t(((n * P + p) * G + g) * Chp + c)] = tf32(src[size_t((n * Ch + g * Chg + c) * P + p)]);
    return out;
}

int split_cases = 0, block_rows_seen[2] = {0, 0};

void check_case(const Case& c, std::mt19937_64& rng) {
    const k::Conv2dShape s = shape_of(c);
    const std::string name = c.name;
    expect(v5::fits(s), name + ": fits version 5's (and 6's) limits");
    const int Cg = int(s.Cg()), Og = int(s.Og()), taps = int(s.KH * s.KW), G = int(s.groups);
    const int Cgp = v5::pad4(Cg), Ogp = v5::pad4(Og);
    std::vector<float> x(size_t(s.N * s.C * s.H * s.W)), w(size_t(s.O * Cg * taps)), b(size_t(s.O)),
        dy(size_t(s.N * s.O * s.OH * s.OW));
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (auto* v : {&x, &w, &b, &dy})
        for (float& e : *v) e = uniform(rng);
    const Reference ref = seam::conv_logic::tf32_naive(s, x, w, b, dy);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const v5::Dims dims = v5::dims_of(s);
    const std::vector<float> xs = staged(x, s.N, s.C, s.H * s.W, s.groups), dys = staged(dy, s.N, s.O, s.OH * s.OW, s.groups);
    std::vector<float> wf(size_t(s.O) * taps * Cgp), wb(size_t(G) * Cg * taps * Ogp);
    for (size_t i = 0; i < wf.size(); ++i) wf[i] = v5::forward_weight_at(w.data(), int64_t(i), Cg, taps, Cgp);
    for (size_t i = 0; i < wb.size(); ++i) wb[i] = v5::backward_data_weight_at(w.data(), int64_t(i), Og, Cg, taps, Ogp);
    const Span xs_span{xs.data(), xs.size()}, dys_span{dys.data(), dys.size()}, wf_span{wf.data(), wf.size()},
        wb_span{wb.data(), wb.size()};
    auto plans_for = [](const d::SlicePlan& launcher, int K) {
        std::vector<d::SlicePlan> plans{launcher};
        if (K > 2 * v6::kBK) plans.push_back(v5::slices_of(K, 3));
        return plans;
    };
    {  // forward: version 5's plan (the launcher's) and a forced split into about 3 slices
        const int M = Og, N = int(s.N * s.OH * s.OW), K = taps * Cgp;
        const int64_t count = int64_t(dy.size()), P = s.OH * s.OW;
        for (const d::SlicePlan& plan : plans_for(v5::forward_slices(s), K)) {
            const std::string what = name + " forward, " + std::to_string(plan.slices) + " slices";
            const bool split = plan.slices > 1;
            std::vector<float> y(dy.size(), nan), partial(split ? size_t(plan.slices) * dy.size() : 0, nan);
            const v5::ForwardStore store{split ? partial.data() : y.data(), split ? nullptr : b.data(), dims, M, N, count};
            if (v5::block_rows(M) == 128)
                emulate_checked<128>(v6::ForwardSource<128>{xs.data(), wf.data(), dims, M, N, K, Cgp}, store, G, plan.slices,
                                     plan.k_slice, wf_span, xs_span, what + " [BM 128]");
            else
                emulate_checked<64>(v6::ForwardSource<64>{xs.data(), wf.data(), dims, M, N, K, Cgp}, store, G, plan.slices,
                                    plan.k_slice, wf_span, xs_span, what + " [BM 64]");
            if (split) {
                for (int64_t i = 0; i < count; ++i)
                    y[size_t(i)] = d::sum_slices_at<float>(partial.data(), count, plan.slices, i, b.data(), int((i / P) % s.O));
                ++split_cases;
            }
            ++block_rows_seen[v5::block_rows(M) == 128];
            std::vector<double> mag(ref.y_mag);
            for (double& m : mag) m *= plan.slices;
            expect_close(y, ref.y, mag, what);
        }
    }
    {  // backward-data
        const int M = Cg, N = int(s.N * s.H * s.W), K = taps * Ogp;
        const int64_t count = int64_t(x.size());
        for (const d::SlicePlan& plan : plans_for(v5::backward_data_slices(s), K)) {
            const std::string what = name + " backward-data, " + std::to_string(plan.slices) + " slices";
            const bool split = plan.slices > 1;
            std::vector<float> dx(x.size(), nan), partial(split ? size_t(plan.slices) * x.size() : 0, nan);
            const v5::BackwardDataStore store{split ? partial.data() : dx.data(), dims, M, N, count};
            if (v5::block_rows(M) == 128)
                emulate_checked<128>(v6::BackwardDataSource<128>{dys.data(), wb.data(), dims, M, N, K, Ogp}, store, G,
                                     plan.slices, plan.k_slice, wb_span, dys_span, what + " [BM 128]");
            else
                emulate_checked<64>(v6::BackwardDataSource<64>{dys.data(), wb.data(), dims, M, N, K, Ogp}, store, G,
                                    plan.slices, plan.k_slice, wb_span, dys_span, what + " [BM 64]");
            if (split) {
                for (int64_t i = 0; i < count; ++i)
                    dx[size_t(i)] = d::sum_slices_at<float>(partial.data(), count, plan.slices, i, nullptr, 0);
                ++split_cases;
            }
            ++block_rows_seen[v5::block_rows(M) == 128];
            std::vector<double> mag(ref.dx_mag);
            for (double& m : mag) m *= plan.slices;
            expect_close(dx, ref.dx, mag, what);
        }
    }
    {  // backward-weight: its own staging (q innermost, OW padded to OWp), K = N·OH·OWp
        const v6::WeightGradStaging st = v6::weight_grad_staging(s);
        const int OWp = st.OWp, KW = int(s.KW), C = int(s.C), H = int(s.H), W = int(s.W), O = int(s.O);
        expect(v6::weight_grad_fits(s), name + ": fits version 6's backward-weight");
        // The staged tensors from their definitions (the staging functions checked element by element).
        std::vector<float> dyk(size_t(st.dyk_count())), xk(size_t(st.xk_count()));
        for (int o = 0; o < O; ++o)
            for (int n = 0; n < s.N; ++n)
                for (int oh = 0; oh < s.OH; ++oh)
                    for (int ow = 0; ow < OWp; ++ow)
                        dyk[size_t(((int64_t(o) * s.N + n) * s.OH + oh) * OWp + ow)] =
                            ow < s.OW ? tf32(dy[size_t(((n * O + o) * s.OH + oh) * s.OW + ow)]) : 0.0f;
        for (int kj = 0; kj < KW; ++kj)
            for (int c = 0; c < C; ++c)
                for (int n = 0; n < s.N; ++n)
                    for (int ih = 0; ih < H; ++ih)
                        for (int ow = 0; ow < OWp; ++ow) {
                            const int iw = ow * int(s.sw) - int(s.pw) + kj * int(s.dw);
                            xk[size_t((((int64_t(kj) * C + c) * s.N + n) * H + ih) * OWp + ow)] =
                                ow < s.OW && iw >= 0 && iw < W ? tf32(x[size_t(((n * C + c) * H + ih) * W + iw)]) : 0.0f;
                        }
        bool staged_ok = true;
        for (size_t i = 0; i < dyk.size(); ++i)
            staged_ok = staged_ok && v6::weight_grad_dy_at(dy.data(), int(i), st) == dyk[i];
        for (size_t i = 0; i < xk.size(); ++i) staged_ok = staged_ok && v6::weight_grad_x_at(x.data(), int(i), st) == xk[i];
        expect(staged_ok, name + ": backward-weight staging (dyk, xk) equals its definition");
        checks += int64_t(dyk.size() + xk.size());
        const Span dyk_span{dyk.data(), dyk.size()}, xk_span{xk.data(), xk.size()};
        const int M = Og, N = taps * Cg, K = int(int64_t(s.N) * s.OH * OWp);
        const int64_t count = int64_t(w.size());
        // The K-major path's own plan (the launchers take it from 256 output channels a group on;
        // these small shapes would run version 5's kernel there, replayed by the version-5 test).
        const d::SlicePlan kmajor_plan = v5::gemm_slices(v6::backward_weight_extent(s));
        expect(v6::weight_grad_kmajor(s) == (Og >= 256) &&
                   (v6::weight_grad_kmajor(s) ? v6::backward_weight_slices(s).k_slice == kmajor_plan.k_slice
                                              : v6::backward_weight_workspace_bytes(s) == v5::backward_weight_workspace_bytes(s)),
               name + ": version 6 takes the K-major backward-weight from 256 output channels a group, else version 5's");
        for (const d::SlicePlan& plan : plans_for(kmajor_plan, K)) {
            const std::string what = name + " backward-weight, " + std::to_string(plan.slices) + " slices";
            const bool split = plan.slices > 1;
            std::vector<float> dw(w.size(), nan), partial(split ? size_t(plan.slices) * w.size() : 0, nan);
            const v5::BackwardWeightStore store{split ? partial.data() : dw.data(), dims, M, N, Cg};
            if (v5::block_rows(M) == 128)
                emulate_checked<128>(v6::BackwardWeightSource<128>{xk.data(), dyk.data(), dims, M, N, K, int(s.N), st.owp, st.oh},
                                     store, G, plan.slices, plan.k_slice, dyk_span, xk_span, what + " [BM 128]");
            else
                emulate_checked<64>(v6::BackwardWeightSource<64>{xk.data(), dyk.data(), dims, M, N, K, int(s.N), st.owp, st.oh},
                                    store, G, plan.slices, plan.k_slice, dyk_span, xk_span, what + " [BM 64]");
            if (split) {
                for (int64_t i = 0; i < count; ++i)
                    dw[size_t(i)] = d::sum_slices_at<float>(partial.data(), count, plan.slices, i, nullptr, 0);
                ++split_cases;
            }
            ++block_rows_seen[v5::block_rows(M) == 128];
            std::vector<double> mag(ref.dw_mag);
            for (double& m : mag) m *= plan.slices;
            expect_close(dw, ref.dw, mag, what);
        }
    }
}

}  // namespace

int main() {
    std::mt19937_64 rng(20261127);
    check_by_hand();
    check_c_maps<128>();
    check_c_maps<64>();
    std::vector<Case> cases = seam::conv_logic::gemm_cases();
    cases.push_back({"C=1 (Fashion-MNIST conv1), O=32, 10x10, batch 6", 6, 1, 10, 10, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1});
    cases.push_back({"3x3 stride 3 pad 0, C=8, O=66", 2, 8, 10, 11, 66, 3, 3, 3, 3, 0, 0, 1, 1, 1});
    cases.push_back({"C=O=136, 6x6, batch 2 (128-row tiles both passes, two M tiles)", 2, 136, 6, 6, 136, 3, 3, 1, 1, 1, 1,
                     1, 1, 1});
    for (const Case& c : cases) check_case(c, rng);
    // The launchers' bookkeeping (conv2d_tf32.cuh, host code): version 6 takes version 5's
    // workspaces and plans, and a shape past their limits runs version 4.
    {
        using V = k::Tf32Version;
        const k::Conv2dShape vgg = shape_of({"VGG conv3_2, batch 2", 2, 256, 56, 56, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        expect(k::conv2d_forward_tf32_workspace_bytes(vgg, V::v6_wgmma) == v5::forward_workspace_bytes(vgg) &&
                   k::conv2d_backward_data_tf32_workspace_bytes(vgg, V::v6_wgmma) == v5::backward_data_workspace_bytes(vgg) &&
                   k::conv2d_backward_weight_tf32_workspace_bytes(vgg, V::v6_wgmma) == v6::backward_weight_workspace_bytes(vgg) &&
                   k::conv2d_backward_weight_tf32_plan(vgg, V::v6_wgmma).k_slice == v6::backward_weight_slices(vgg).k_slice,
               "version 6's workspaces through the launchers: version 5's (forward, backward-data), its own (backward-weight)");
        // VGG conv3_2 at batch 2, by hand: OW = 56 is a multiple of 4, so xk = 3·256·2·56·56 floats
        // (9.6 MB) and dyk = 256·2·56·56; K = 2·56·56 = 6272. 14x14 pads to 16: K = 2·14·16 = 448.
        expect(v6::weight_grad_staging(vgg).xk_count() == 3LL * 256 * 2 * 56 * 56 &&
                   v6::backward_weight_extent(vgg).K == 6272,
               "version 6 backward-weight sizes by hand (VGG conv3_2, batch 2)");
        // Og = 256 takes the K-major path: its workspace holds xk and dyk (256 x 6272) and the partials.
        const v5::WorkspaceLayout kl = v6::backward_weight_layout(vgg);
        expect(v6::weight_grad_kmajor(vgg) && kl.second >= size_t(3) * 256 * 2 * 56 * 56 * 4 &&
                   kl.partial >= kl.second + size_t(256) * 6272 * 4 && kl.bytes >= kl.partial,
               "version 6 backward-weight workspace (VGG conv3_2): xk, dyk, partials");
        // Og = 128 (VGG conv2_2) runs version 5's kernel, in version 5's workspace and plan.
        const k::Conv2dShape conv2_2 = shape_of({"VGG conv2_2, batch 2", 2, 128, 112, 112, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        expect(!v6::weight_grad_kmajor(conv2_2) &&
                   k::conv2d_backward_weight_tf32_workspace_bytes(conv2_2, V::v6_wgmma) ==
                       v5::backward_weight_workspace_bytes(conv2_2) &&
                   k::conv2d_backward_weight_tf32_plan(conv2_2, V::v6_wgmma).k_slice ==
                       v5::backward_weight_slices(conv2_2).k_slice,
               "version 6 backward-weight below 256 output channels a group: version 5's (VGG conv2_2)");
        const k::Conv2dShape conv5 = shape_of({"VGG conv5_1, batch 2", 2, 512, 14, 14, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        expect(v6::weight_grad_staging(conv5).OWp == 16 && v6::backward_weight_extent(conv5).K == 448,
               "version 6 backward-weight pads OW = 14 to 16 (VGG conv5_1)");
        k::Conv2dShape huge = vgg;
        huge.N = 40000, huge.C = huge.O = 4, huge.H = huge.W = 128, huge.OH = huge.OW = 128;
        expect(k::effective_tf32_version(huge, V::v6_wgmma) == V::v4_mma_two_blocks &&
                   k::effective_tf32_version(vgg, V::v6_wgmma) == V::v6_wgmma,
               "a shape past version 6's limits runs version 4");
    }
    expect(split_cases >= 10, "passes ran split", split_cases);
    expect(block_rows_seen[0] > 0 && block_rows_seen[1] > 0, "both block heights ran");
    if (failures) {
        std::printf("test_tf32_wgmma_kernel_logic: %d FAILED (of %lld checks)\n", failures, checks);
        return 1;
    }
    std::printf("test_tf32_wgmma_kernel_logic: all %lld checks passed (TF32 version 6: descriptors and the 128-byte "
                "swizzle, copies and bank phases, wgmma operands through a descriptor model, CuTe's accumulator layout, "
                "stores; host emulation, no GPU used)\n",
                checks);
    return 0;
}
