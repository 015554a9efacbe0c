// tests/cuda/test_tf32_nhwc_kernel_logic.cu — the TF32 convolution's version 5
// (kernels/seam/conv2d_tf32_nhwc.cuh) replayed on the CPU, launch by launch, against naive loops
// (no GPU needed: exit 0 pass, 1 fail).
//
//   * The rounding: round_to_tf32 against this file's model of cvt.rna (ties, signs, infinity,
//     NaN, the largest float).
//   * The staging: every block and thread of the activation transpose (read phase, barrier, write
//     phase, the kernel's own functions), and every staged weight, against the staged layouts
//     written out here from their definitions: each staged element written once, pads zero,
//     values TF32-rounded.
//   * The GEMMs, for every block of a launch and every K-tile, on the staged tensors:
//       - every thread's 16-byte copies (the sources' load, the kernel's code) fill a NaN-filled
//         stage: each stage float written exactly once, destinations 16-byte aligned, valid
//         sources whole chunks inside their staged tensor and 16-byte aligned; each 8-lane phase
//         of a warp's copies on 8 distinct 16-byte bank groups;
//       - every warp's fragment loads (Tile::load_fragments, the kernel's code) read the stage
//         through 8- or 16-byte loads, aligned, and each phase (16 lanes for 8 bytes, 8 for 16)
//         on distinct banks; an independent model of mma.m16n8k8.tf32 (CuTe's thread-value
//         layouts, tests/cuda/conv_logic_support.hpp) multiplies the registers as the tensor core
//         reads them (the low 13 bits dropped: an operand the staging forgot to round would be
//         truncated and fail the comparison);
//       - the epilogue (Tile::c_row / c_col, the stores) writes each output (or slice element)
//         exactly once; backward-weight's slices are summed by conv2d.cuh's sum_slices_at.
//   Results against naive loops in double on TF32-rounded operands, on awkward shapes (odd maps,
//   stride, padding, dilation, groups, channel counts off multiples of 4, 1x1 and 5x3 kernels, M
//   on both sides of 64, N and K off the tiles, split backward-weight).
// What this cannot check: the PTX (cp.async, mma), the pipeline's wait/barrier order, and speed.
//
//   nvcc -std=c++20 -Ikernels -Iinclude tests/cuda/test_tf32_nhwc_kernel_logic.cu -o nhwc_logic && ./nhwc_logic
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "seam/conv2d_tf32.cuh"
#include "seam/conv2d_tf32_nhwc.cuh"

#include "conv_logic_support.hpp"

namespace {

namespace k = seam::kernels;
namespace d = seam::kernels::conv2d_detail;
namespace v5 = seam::kernels::conv2d_tf32_nhwc;
using seam::conv_logic::Case;
using seam::conv_logic::mma_model;
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

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

// ----- rounding -----------------------------------------------------------------------------------

void check_rounding() {
    const float values[] = {0.0f, -0.0f, 1.0f, 1.0f + 0x1p-11f, 1.0f + 0x1p-11f - 0x1p-23f, -(1.0f + 3 * 0x1p-11f),
                            0x1p-140f, -0x1p-140f + 0x1p-149f, 3.14159265f, -2.7182818f,
                            std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
    for (float v : values) expect(same_bits(v5::round_to_tf32(v), tf32(v)), "round_to_tf32 equals cvt.rna's model");
    expect(std::isnan(v5::round_to_tf32(std::numeric_limits<float>::quiet_NaN())), "round_to_tf32 keeps NaN");
    expect(v5::round_to_tf32(1.0f + 0x1p-11f) == 1.0f + 0x1p-10f, "a tie rounds away from zero");
    std::mt19937 rng(7);
    for (int i = 0; i < 100000; ++i) {
        uint32_t u = rng();
        float v;
        std::memcpy(&v, &u, 4);
        if (std::isnan(v)) continue;
        const float r = v5::round_to_tf32(v);
        if (!same_bits(r, tf32(v))) {
            expect(false, "round_to_tf32 on random bits", u);
            break;
        }
    }
    ++checks;
}

// ----- the gathers' divisions -----------------------------------------------------------------------

void check_fast_divisor() {
    std::mt19937_64 rng(31);
    std::vector<int> divisors;
    for (int d = 1; d <= 4096; ++d) divisors.push_back(d);
    for (int d : {12544, 50176, 100352, 65535, 65536, 65537, 1 << 20, (1 << 30) + 3, 2147483647}) divisors.push_back(d);
    for (int i = 0; i < 200; ++i) divisors.push_back(int(rng() % 2147483646) + 1);
    for (int d : divisors) {
        const v5::FastDivisor f(d);
        std::vector<int> ns = {0, 1, d - 1, d, d + 1, 2147483647, 2147483646};
        if (d < 1073741823) ns.insert(ns.end(), {2 * d - 1, 2 * d, 2147483647 / d * d, 2147483647 / d * d - 1});
        for (int i = 0; i < 64; ++i) ns.push_back(int(rng() % 2147483648u));
        for (int n : ns) {
            if (n < 0) continue;
            if (f.div(n) != n / d) {
                expect(false, "FastDivisor: n / d", n, d);
                return;
            }
        }
    }
    ++checks;
}

// ----- staging ------------------------------------------------------------------------------------

/// The staged activation layout from its definition: [N][P][G][Chp], rounded, pad zero.
std::vector<float> staged_reference(const std::vector<float>& src, int N, int Ch, int P, int G) {
    const int Chg = Ch / G, Chp = (Chg + 3) / 4 * 4;
    std::vector<float> out(size_t(N) * P * G * Chp, 0.0f);
    for (int n = 0; n < N; ++n)
        for (int p = 0; p < P; ++p)
            for (int g = 0; g < G; ++g)
                for (int c = 0; c < Chg; ++c)
                    out[((size_t(n) * P + p) * G + g) * Chp + c] = tf32(src[(size_t(n) * Ch + g * Chg + c) * P + p]);
    return out;
}

/// stage_activations_kernel emulated: every block, the read phase of all threads, then the write phase.
std::vector<float> stage_activations(const std::vector<float>& src, int64_t N, int64_t Ch, int64_t P, int64_t G,
                                     const std::string& what) {
    const int64_t Chp = v5::pad4(int(Ch / G));
    std::vector<float> dst(size_t(N * P * G * Chp), std::numeric_limits<float>::quiet_NaN());
    const v5::ActivationStaging probe = v5::activation_staging(src.data(), dst.data(), N, Ch, P, G);
    expect(probe.Chp == Chp && probe.staged_channels() == G * Chp, what + ": staging geometry");
    const int bx_count = int((P + 31) / 32), by_count = (probe.staged_channels() + 31) / 32;
    // Each block writes into a NaN-filled scratch (values written are never NaN: the inputs are
    // finite), so counting non-NaN scratch elements counts the block's writes exactly.
    std::vector<float> scratch(dst.size());
    const v5::ActivationStaging st = v5::activation_staging(src.data(), scratch.data(), N, Ch, P, G);
    std::vector<int> writes(dst.size(), 0);
    float tile[32][33];
    for (int n = 0; n < st.N; ++n)
        for (int by = 0; by < by_count; ++by)
            for (int bx = 0; bx < bx_count; ++bx) {
                for (auto& row : tile)
                    for (float& v : row) v = std::numeric_limits<float>::quiet_NaN();
                for (int ty = 0; ty < 8; ++ty)
                    for (int tx = 0; tx < 32; ++tx) st.read(tile, n, bx, by, tx, ty);
                std::fill(scratch.begin(), scratch.end(), std::numeric_limits<float>::quiet_NaN());
                for (int ty = 0; ty < 8; ++ty)
                    for (int tx = 0; tx < 32; ++tx) st.write(tile, n, bx, by, tx, ty);
                for (size_t i = 0; i < dst.size(); ++i)
                    if (!std::isnan(scratch[i])) ++writes[i], dst[i] = scratch[i];
            }
    const std::vector<float> want = staged_reference(src, int(N), int(Ch), int(P), int(G));
    for (size_t i = 0; i < dst.size(); ++i) {
        if (!same_bits(dst[i], want[i]) || writes[i] != 1) {
            expect(false, what + ": staged activation equals its definition, written once", static_cast<long long>(i),
                   writes[i]);
            break;
        }
    }
    ++checks;
    return dst;
}

std::vector<float> stage_forward_weights(const std::vector<float>& w, const k::Conv2dShape& s, const std::string& what) {
    const int Cg = int(s.Cg()), taps = int(s.KH * s.KW), Cgp = v5::pad4(Cg);
    std::vector<float> out(size_t(s.O) * taps * Cgp);
    for (size_t i = 0; i < out.size(); ++i) out[i] = v5::forward_weight_at(w.data(), int64_t(i), Cg, taps, Cgp);
    for (int64_t o = 0; o < s.O; ++o)
        for (int t = 0; t < taps; ++t)
            for (int c = 0; c < Cgp; ++c) {
                const float want = c < Cg ? tf32(w[size_t((o * Cg + c) * taps + t)]) : 0.0f;
                if (!same_bits(out[size_t((o * taps + t) * Cgp + c)], want)) {
                    expect(false, what + ": staged forward weight wf[o][tap][c] = w[o][c][tap]", o, c);
                    return out;
                }
            }
    ++checks;
    return out;
}

std::vector<float> stage_backward_data_weights(const std::vector<float>& w, const k::Conv2dShape& s, const std::string& what) {
    const int Cg = int(s.Cg()), Og = int(s.Og()), taps = int(s.KH * s.KW), Ogp = v5::pad4(Og);
    std::vector<float> out(size_t(s.groups) * Cg * taps * Ogp);
    for (size_t i = 0; i < out.size(); ++i) out[i] = v5::backward_data_weight_at(w.data(), int64_t(i), Og, Cg, taps, Ogp);
    for (int64_t g = 0; g < s.groups; ++g)
        for (int c = 0; c < Cg; ++c)
            for (int t = 0; t < taps; ++t)
                for (int o = 0; o < Ogp; ++o) {
                    const float want = o < Og ? tf32(w[size_t(((g * Og + o) * Cg + c) * taps + t)]) : 0.0f;
                    if (!same_bits(out[size_t(((g * Cg + c) * taps + t) * Ogp + o)], want)) {
                        expect(false, what + ": staged backward-data weight wb[g][c][tap][o] = w[g·Og + o][c][tap]", c, o);
                        return out;
                    }
                }
    ++checks;
    return out;
}

// ----- the GEMM kernel ----------------------------------------------------------------------------

/// Each group of `phase` consecutive lanes must touch distinct bank groups of `width` floats.
void expect_phases_distinct(const std::vector<int>& offsets, int phase, int width, const std::string& what) {
    for (size_t first = 0; first + size_t(phase) <= offsets.size(); first += size_t(phase)) {
        unsigned seen = 0;
        for (int l = 0; l < phase; ++l) seen |= 1u << ((offsets[first + size_t(l)] / width) % (32 / width));
        expect(__builtin_popcount(seen) == phase, what + ": one phase's lanes on distinct banks", static_cast<long long>(first),
               __builtin_popcount(seen));
    }
}

/// The host's shared-memory view for Tile::load_fragments: records each load's offset and width.
struct HostStage {
    const float* base;
    int limit;
    std::vector<std::pair<int, int>> loads;  // (offset, floats)
    bool bad = false;
    float2 ld2(int offset) {
        loads.push_back({offset, 2});
        if (offset % 2 != 0 || offset < 0 || offset + 2 > limit) return bad = true, float2{0, 0};
        return float2{base[offset], base[offset + 1]};
    }
    float4 ld4(int offset) {
        loads.push_back({offset, 4});
        if (offset % 4 != 0 || offset < 0 || offset + 4 > limit) return bad = true, float4{0, 0, 0, 0};
        return float4{base[offset], base[offset + 1], base[offset + 2], base[offset + 3]};
    }
};

/// One launch of tf32_nhwc_kernel<BM, Source, Store>, emulated. `stored` [groups·slices, M, N].
template <int BM, class Source, class Store>
void emulate(const Source& s, const Store& st, int groups, int slices, int k_slice, const Span& a_span, const Span& b_span,
             std::vector<int>& stored, const std::string& what) {
    using Cfg = typename Source::Cfg;
    constexpr int MF = Cfg::MF, NF = Cfg::NF, T = v5::kThreads;
    const int grid_n = (s.N + v5::kBN - 1) / v5::kBN, grid_m = (s.M + BM - 1) / BM;
    expect(k_slice % v5::kBK == 0, what + ": k_slice a multiple of kBK", k_slice);
    expect(slices > 1 || k_slice >= s.K, what + ": one slice covers K", k_slice);
    expect(Cfg::SMEM_BYTES <= 113 * 1024, what + ": two blocks' shared memory fit an SM (227 KiB)", static_cast<long long>(Cfg::SMEM_BYTES));
    std::vector<float> stage(Cfg::STAGE_FLOATS);
    std::vector<int> hits(Cfg::STAGE_FLOATS);
    std::vector<float> acc(size_t(T) * MF * NF * 4);
    bool banks_checked = false;
    for (int z = 0; z < groups * slices; ++z)
        for (int by = 0; by < grid_m; ++by)
            for (int bx = 0; bx < grid_n; ++bx) {
                const int g = z / slices, slice = z % slices, m0 = by * BM, n0 = bx * v5::kBN;
                const int k_begin = slice * k_slice;
                const int k_end = s.K - k_begin < k_slice ? s.K : k_begin + k_slice;
                const int tiles = k_begin < k_end ? (k_end - k_begin + v5::kBK - 1) / v5::kBK : 0;
                std::fill(acc.begin(), acc.end(), 0.0f);
                for (int t = 0; t < tiles; ++t) {
                    std::fill(stage.begin(), stage.end(), std::numeric_limits<float>::quiet_NaN());
                    std::fill(hits.begin(), hits.end(), 0);
                    std::vector<std::vector<int>> copy_offsets(T);
                    for (int tid = 0; tid < T; ++tid) {
                        const auto copies = s.copies(tid, g, m0, n0);
                        s.load(copies, g, k_begin + t * v5::kBK, k_end, [&](int offset, const float* src, bool valid) {
                            seam::conv_logic::record_chunk_copy(stage, hits, copy_offsets[size_t(tid)], Cfg::A_FLOATS, a_span,
                                                                b_span, offset, src, valid, what, expect);
                        });
                    }
                    seam::conv_logic::expect_each_copied_once(hits, what, expect);
                    if (!banks_checked)  // the mapping is the same for every block and tile
                        for (int warp = 0; warp < T / 32; ++warp)
                            for (size_t c = 0; c < copy_offsets[size_t(warp * 32)].size(); ++c) {
                                std::vector<int> offsets(32);
                                for (int lane = 0; lane < 32; ++lane) offsets[size_t(lane)] = copy_offsets[size_t(warp * 32 + lane)][c];
                                expect_phases_distinct(offsets, 8, 4, what + ": copy");
                            }
                    for (int warp = 0; warp < T / 32; ++warp)
                        for (int ks = 0; ks < v5::kBK / 8; ++ks) {
                            float a[MF][32][4], b[NF][32][2];
                            std::vector<std::vector<std::pair<int, int>>> lane_loads(32);
                            for (int lane = 0; lane < 32; ++lane) {
                                HostStage smem{stage.data(), Cfg::STAGE_FLOATS, {}};
                                float fa[MF][4], fb[NF][2];
                                Cfg::load_fragments(smem, warp, lane, ks, fa, fb);
                                expect(!smem.bad, what + ": fragment load aligned and inside the stage", lane);
                                for (int i = 0; i < MF; ++i)
                                    for (int j = 0; j < 4; ++j) a[i][lane][j] = tf32_as_read(fa[i][j]);
                                for (int i = 0; i < NF; ++i)
                                    for (int j = 0; j < 2; ++j) b[i][lane][j] = tf32_as_read(fb[i][j]);
                                lane_loads[size_t(lane)] = smem.loads;
                            }
                            if (!banks_checked)
                                for (size_t c = 0; c < lane_loads[0].size(); ++c) {
                                    std::vector<int> offsets(32);
                                    const int width = lane_loads[0][c].second;
                                    for (int lane = 0; lane < 32; ++lane) offsets[size_t(lane)] = lane_loads[size_t(lane)][c].first;
                                    expect_phases_distinct(offsets, width == 2 ? 16 : 8, width, what + ": fragment load");
                                }
                            for (int i = 0; i < MF; ++i)
                                for (int j = 0; j < NF; ++j) {
                                    float c[32][4];
                                    for (int lane = 0; lane < 32; ++lane)
                                        for (int v = 0; v < 4; ++v) c[lane][v] = acc[((size_t(warp * 32 + lane) * MF + i) * NF + j) * 4 + v];
                                    mma_model(a[i], b[j], c);
                                    for (int lane = 0; lane < 32; ++lane)
                                        for (int v = 0; v < 4; ++v) acc[((size_t(warp * 32 + lane) * MF + i) * NF + j) * 4 + v] = c[lane][v];
                                }
                        }
                    banks_checked = true;
                }
                // Epilogue: the kernel's loop order and tests.
                for (int tid = 0; tid < T; ++tid) {
                    const int warp = tid / 32, lane = tid % 32;
                    for (int j = 0; j < NF; ++j)
                        for (int vc = 0; vc < 2; ++vc) {
                            const int n = n0 + Cfg::c_col(warp, lane, j, vc);
                            if (!st.keeps_col(n)) continue;
                            float* out = st.col(g, slice, n);
                            for (int i = 0; i < MF; ++i)
                                for (int vr = 0; vr < 2; ++vr) {
                                    const int m = m0 + Cfg::c_row(warp, lane, i, 2 * vr);
                                    if (m >= st.M) continue;
                                    ++stored[(size_t(z) * s.M + m) * s.N + n];
                                    st.put(out, g, m, acc[((size_t(tid) * MF + i) * NF + j) * 4 + 2 * vr + vc]);
                                }
                        }
                }
            }
}

/// Every C element of the tile grid lands on one (m, n): the c_row / c_col maps are a bijection on
/// each block tile (checked apart from any shape, so a map that drops or doubles a tile cell fails).
template <class Cfg, int BM>
void check_c_maps(const std::string& what) {
    std::vector<int> seen(size_t(BM) * v5::kBN, 0);
    for (int tid = 0; tid < v5::kThreads; ++tid)
        for (int i = 0; i < Cfg::MF; ++i)
            for (int j = 0; j < Cfg::NF; ++j)
                for (int v = 0; v < 4; ++v) {
                    const int m = Cfg::c_row(tid / 32, tid % 32, i, v), n = Cfg::c_col(tid / 32, tid % 32, j, v);
                    if (m >= 0 && m < BM && n >= 0 && n < v5::kBN) ++seen[size_t(m) * v5::kBN + n];
                }
    bool ok = true;
    for (int c : seen) ok = ok && c == 1;
    expect(ok, what + ": accumulators cover the block tile once");
}

template <int BM, class Source, class Store>
void emulate_checked(const Source& s, const Store& st, int groups, int slices, int k_slice, const Span& a_span,
                     const Span& b_span, const std::vector<char>& must_store, const std::string& what) {
    std::vector<int> stored(size_t(groups) * slices * s.M * s.N, 0);
    emulate<BM>(s, st, groups, slices, k_slice, a_span, b_span, stored, what);
    for (size_t i = 0; i < stored.size(); ++i)
        if (stored[i] != (must_store[i % must_store.size()] ? 1 : 0)) {
            expect(false, what + ": C element stored exactly once (pad columns never)", static_cast<long long>(i), stored[i]);
            return;
        }
    ++checks;
}

/// Every element within 1e-5 of its Σ|terms| (fp32 sums of up to a few thousand TF32 products: a
/// generous float rounding bound); the first mismatches reported with (index, diff / Σ|terms| in 1e-9).
void expect_close(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& magnitude,
                  const std::string& what) {
    for (const auto& [i, scaled] : seam::conv_logic::mismatches(got, want, magnitude, 1e-5))
        expect(false, what + ": element equals the naive loops", static_cast<long long>(i),
               scaled < 0 ? -1 : static_cast<long long>(scaled * 1e9));
    checks += static_cast<long long>(want.size());
}

int split_cases = 0, block_rows_seen[2] = {0, 0};

void check_case(const Case& c, std::mt19937_64& rng) {
    const k::Conv2dShape s = shape_of(c);
    const std::string name = c.name;
    expect(v5::fits(s), name + ": fits version 5's limits");
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

    const std::vector<float> xs = stage_activations(x, s.N, s.C, s.H * s.W, s.groups, name + " x");
    const std::vector<float> dys = stage_activations(dy, s.N, s.O, s.OH * s.OW, s.groups, name + " dy");
    const std::vector<float> wf = stage_forward_weights(w, s, name);
    const std::vector<float> wb = stage_backward_data_weights(w, s, name);
    const v5::Staged counts = v5::staged_counts(s);
    expect(size_t(counts.xs) == xs.size() && size_t(counts.dys) == dys.size() && size_t(counts.wf) == wf.size() &&
               size_t(counts.wb) == wb.size(),
           name + ": staged_counts match the staged tensors");
    {
        const d::SlicePlan fp = v5::forward_slices(s), dp = v5::backward_data_slices(s);
        const size_t fpart = fp.slices > 1 ? size_t(fp.slices) * dy.size() : 0, dpart = dp.slices > 1 ? size_t(dp.slices) * x.size() : 0;
        expect(v5::forward_workspace_bytes(s) >= (xs.size() + wf.size() + fpart) * sizeof(float) &&
                   v5::backward_data_workspace_bytes(s) >= (dys.size() + wb.size() + dpart) * sizeof(float),
               name + ": workspaces hold the staged tensors and the partials");
    }
    const Span xs_span{xs.data(), xs.size()}, dys_span{dys.data(), dys.size()}, wf_span{wf.data(), wf.size()},
        wb_span{wb.data(), wb.size()};

    // Forward and backward-data: the launcher's plan and a forced split into about 3 slices; split
    // partials summed by conv2d.cuh's sum_slices_at (with the bias for the forward).
    auto plans_for = [](const d::SlicePlan& launcher, int K) {
        std::vector<d::SlicePlan> plans{launcher};
        if (K > 2 * v5::kBK) plans.push_back(v5::slices_of(K, 3));
        return plans;
    };
    auto expect_plan_covers = [](const d::SlicePlan& plan, int K, const std::string& what) {
        expect(plan.k_slice % v5::kBK == 0 && int64_t(plan.slices - 1) * plan.k_slice < K &&
                   int64_t(plan.slices) * plan.k_slice >= K,
               what + ": the slices cover K, none empty", plan.slices, plan.k_slice);
    };
    {  // forward
        const int M = Og, N = int(s.N * s.OH * s.OW), K = taps * Cgp;
        const int64_t count = int64_t(dy.size()), P = s.OH * s.OW;
        const std::vector<char> all(size_t(M) * N, 1);
        for (const d::SlicePlan& plan : plans_for(v5::forward_slices(s), K)) {
            const std::string what = name + " forward, " + std::to_string(plan.slices) + " slices";
            expect_plan_covers(plan, K, what);
            const bool split = plan.slices > 1;
            std::vector<float> y(dy.size(), nan), partial(split ? size_t(plan.slices) * dy.size() : 0, nan);
            const v5::ForwardStore store{split ? partial.data() : y.data(), split ? nullptr : b.data(), dims, M, N, count};
            if (v5::block_rows(M) == 128)
                emulate_checked<128>(v5::ForwardSource<128>{xs.data(), wf.data(), dims, M, N, K, Cgp}, store, G, plan.slices,
                                     plan.k_slice, wf_span, xs_span, all, what + " [BM 128]");
            else
                emulate_checked<64>(v5::ForwardSource<64>{xs.data(), wf.data(), dims, M, N, K, Cgp}, store, G, plan.slices,
                                    plan.k_slice, wf_span, xs_span, all, what + " [BM 64]");
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
        const std::vector<char> all(size_t(M) * N, 1);
        for (const d::SlicePlan& plan : plans_for(v5::backward_data_slices(s), K)) {
            const std::string what = name + " backward-data, " + std::to_string(plan.slices) + " slices";
            expect_plan_covers(plan, K, what);
            const bool split = plan.slices > 1;
            std::vector<float> dx(x.size(), nan), partial(split ? size_t(plan.slices) * x.size() : 0, nan);
            const v5::BackwardDataStore store{split ? partial.data() : dx.data(), dims, M, N, count};
            if (v5::block_rows(M) == 128)
                emulate_checked<128>(v5::BackwardDataSource<128>{dys.data(), wb.data(), dims, M, N, K, Ogp}, store, G,
                                     plan.slices, plan.k_slice, wb_span, dys_span, all, what + " [BM 128]");
            else
                emulate_checked<64>(v5::BackwardDataSource<64>{dys.data(), wb.data(), dims, M, N, K, Ogp}, store, G,
                                    plan.slices, plan.k_slice, wb_span, dys_span, all, what + " [BM 64]");
            if (split) {
                for (int64_t i = 0; i < count; ++i)
                    dx[size_t(i)] = d::sum_slices_at<float>(partial.data(), count, plan.slices, i, nullptr, 0);
                ++split_cases;
            }
            std::vector<double> mag(ref.dx_mag);
            for (double& m : mag) m *= plan.slices;
            expect_close(dx, ref.dx, mag, what);
        }
    }
    // Backward-weight: the launcher's plan, and a forced split into about 3 slices.
    const int M = Og, N = taps * Cgp, K = int(s.N * s.OH * s.OW);
    std::vector<char> real_columns(size_t(M) * N);  // C[m, (tap, c)] is stored only for c < Cg
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) real_columns[size_t(m) * N + n] = char(n % Cgp < Cg);
    const d::SlicePlan forced = v5::slices_of(K, K > 2 * v5::kBK ? 3 : 1);
    const d::SlicePlan plans[2] = {v5::backward_weight_slices(s), forced};
    for (int which = 0; which < 2; ++which) {
        const d::SlicePlan& plan = plans[which];
        const std::string what = name + " backward-weight, " + std::to_string(plan.slices) + " slices";
        expect(plan.k_slice % v5::kBK == 0 && int64_t(plan.slices - 1) * plan.k_slice < K &&
                   int64_t(plan.slices) * plan.k_slice >= K,
               what + ": the slices cover K, none empty", plan.slices, plan.k_slice);
        if (which == 0) {
            const size_t partial = plan.slices > 1 ? size_t(plan.slices) * w.size() * sizeof(float) : 0;
            expect(v5::backward_weight_workspace_bytes(s) >= (xs.size() + dys.size()) * sizeof(float) + partial,
                   what + ": workspace holds the staged tensors and the slices");
        }
        std::vector<float> partial(size_t(plan.slices) * w.size(), nan), dw(w.size(), nan);
        const v5::BackwardWeightStore store{plan.slices > 1 ? partial.data() : dw.data(), dims, M, N, Cgp};
        if (v5::block_rows(M) == 128)
            emulate_checked<128>(v5::BackwardWeightSource<128>{xs.data(), dys.data(), dims, M, N, K, Cgp, Ogp}, store, G,
                                 plan.slices, plan.k_slice, dys_span, xs_span, real_columns, what + " [BM 128]");
        else
            emulate_checked<64>(v5::BackwardWeightSource<64>{xs.data(), dys.data(), dims, M, N, K, Cgp, Ogp}, store, G,
                                plan.slices, plan.k_slice, dys_span, xs_span, real_columns, what + " [BM 64]");
        if (plan.slices > 1) {
            for (size_t i = 0; i < w.size(); ++i)
                dw[i] = d::sum_slices_at<float>(partial.data(), int64_t(w.size()), plan.slices, int64_t(i), nullptr, 0);
            ++split_cases;
        }
        std::vector<double> mag(ref.dw_mag);
        for (double& m : mag) m *= plan.slices;
        expect_close(dw, ref.dw, mag, what);
    }
}

}  // namespace

/// Requested splits (the benchmark's sweep): slices_of by hand, and every pass's plan at every
/// request covers K with non-empty slices, never more than requested, inside the workspace.
void check_requested_plans(const k::Conv2dShape& s, const std::string& name) {
    auto same = [](const d::SlicePlan& p, int slices, int k_slice) { return p.slices == slices && p.k_slice == k_slice; };
    // K = 320 floats = 10 K-tiles: 3 → ⌈10/3⌉ = 4 tiles a slice, 3 slices; 4 → 3 tiles, 4 slices;
    // 6 → 2 tiles, 5 slices (fewer than asked: none may be empty); 20 → 1 tile, 10 slices.
    expect(same(v5::slices_of(320, 1), 1, 320) && same(v5::slices_of(320, 3), 3, 128) && same(v5::slices_of(320, 4), 4, 96) &&
               same(v5::slices_of(320, 6), 5, 64) && same(v5::slices_of(320, 20), 10, 32) && same(v5::slices_of(20, 4), 1, 32),
           "slices_of by hand");
    const v5::Staged n = v5::staged_counts(s);
    struct Pass {
        const char* what;
        d::SlicePlan (*plan)(const k::Conv2dShape&, int);
        size_t (*bytes)(const k::Conv2dShape&, int);
        int64_t K, out, staged;
    } passes[3] = {
        {"forward", v5::forward_slices, v5::forward_workspace_bytes, s.KH * s.KW * v5::pad4(int(s.Cg())),
         s.N * s.O * s.OH * s.OW, n.xs + n.wf},
        {"backward-data", v5::backward_data_slices, v5::backward_data_workspace_bytes, s.KH * s.KW * v5::pad4(int(s.Og())),
         s.N * s.C * s.H * s.W, n.dys + n.wb},
        {"backward-weight", v5::backward_weight_slices, v5::backward_weight_workspace_bytes, s.N * s.OH * s.OW,
         s.O * s.Cg() * s.KH * s.KW, n.xs + n.dys}};
    for (const Pass& p : passes)
        for (int r : {1, 2, 3, 5, 8, 16, 64, 1000}) {
            const d::SlicePlan plan = p.plan(s, r);
            const std::string what = name + " " + p.what + ", " + std::to_string(r) + " slices requested";
            expect(plan.k_slice % v5::kBK == 0 && int64_t(plan.slices - 1) * plan.k_slice < p.K &&
                       int64_t(plan.slices) * plan.k_slice >= p.K && plan.slices >= 1 && plan.slices <= r,
                   what + ": covers K, none empty, at most as asked", plan.slices, plan.k_slice);
            const size_t need = size_t(p.staged + (plan.slices > 1 ? int64_t(plan.slices) * p.out : 0)) * sizeof(float);
            expect(p.bytes(s, r) >= need, what + ": the workspace holds it", int64_t(p.bytes(s, r)), int64_t(need));
        }
}

int main() {
    std::mt19937_64 rng(20261127);
    check_rounding();
    check_fast_divisor();
    check_c_maps<v5::Tile<128, true, true>, 128>("K-major, BM 128");
    check_c_maps<v5::Tile<64, true, true>, 64>("K-major, BM 64");
    check_c_maps<v5::Tile<128, false, false>, 128>("M/N-major, BM 128");
    check_c_maps<v5::Tile<64, false, false>, 64>("M/N-major, BM 64");
    std::vector<Case> cases = seam::conv_logic::gemm_cases();
    // Version 5 pads channels to multiples of 4 and splits backward-weight over K = N·OH·OW: one
    // input channel (pad 3) with many slices, and stride 3 (backward-data taps mostly empty).
    cases.push_back({"C=1 (Fashion-MNIST conv1), O=32, 10x10, batch 6 (K split many ways)", 6, 1, 10, 10, 32, 3, 3, 1, 1, 1,
                     1, 1, 1, 1});
    cases.push_back({"3x3 stride 3 pad 0, C=8, O=66", 2, 8, 10, 11, 66, 3, 3, 3, 3, 0, 0, 1, 1, 1});
    for (const Case& c : cases) check_case(c, rng), check_requested_plans(shape_of(c), c.name);
    // The launchers' bookkeeping (conv2d_tf32.cuh, host code): version 5's workspaces and plans are
    // this file's; versions 3 and 4 need none for the forward and backward-data; C/groups ≤ 4 hands
    // backward-data to the fp32 small-channel kernel (no workspace); a shape past version 5's
    // limits runs version 4.
    {
        using V = k::Tf32Version;
        const k::Conv2dShape vgg = shape_of({"VGG conv3_2, batch 2", 2, 256, 56, 56, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        const k::Conv2dShape rgb = shape_of({"conv1_1, C=3", 2, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        expect(k::conv2d_forward_tf32_workspace_bytes(vgg, V::v5_nhwc) == v5::forward_workspace_bytes(vgg) &&
                   k::conv2d_backward_data_tf32_workspace_bytes(vgg, V::v5_nhwc) == v5::backward_data_workspace_bytes(vgg) &&
                   k::conv2d_backward_weight_tf32_workspace_bytes(vgg, V::v5_nhwc) == v5::backward_weight_workspace_bytes(vgg),
               "version 5's workspaces through the launchers");
        expect(k::conv2d_forward_tf32_workspace_bytes(vgg, V::v4_mma_two_blocks) == 0 &&
                   k::conv2d_backward_data_tf32_workspace_bytes(vgg, V::v3_wmma) == 0,
               "versions 3 and 4 need no forward or backward-data workspace");
        expect(k::conv2d_backward_data_tf32_workspace_bytes(rgb, V::v5_nhwc) == 0 && v5::forward_workspace_bytes(rgb) > 0,
               "C/groups <= 4: backward-data needs no version-5 workspace (fp32 small-channel kernel)");
        const d::SlicePlan p5 = k::conv2d_backward_weight_tf32_plan(vgg, V::v5_nhwc), own = v5::backward_weight_slices(vgg);
        expect(p5.slices == own.slices && p5.k_slice == own.k_slice, "version 5's backward-weight plan through the launcher");
        k::Conv2dShape huge = shape_of({"huge", 1, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        huge.N = 40000, huge.C = huge.O = 4, huge.H = huge.W = 128, huge.OH = huge.OW = 128;  // 2.6e9 staged floats
        expect(!v5::fits(huge) && k::effective_tf32_version(huge, V::v5_nhwc) == V::v4_mma_two_blocks &&
                   k::effective_tf32_version(vgg, V::v5_nhwc) == V::v5_nhwc,
               "a shape past version 5's limits runs version 4");
    }
    // The split plans on real layers (shape arithmetic only): a layer whose grid fills the GPU many
    // times over runs unsplit; Fashion-MNIST's conv3 at batch 128 (49 blocks) is split.
    {
        const k::Conv2dShape vgg_conv3 = shape_of({"VGG conv3_2, batch 32", 32, 256, 56, 56, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        const k::Conv2dShape fmnist_conv3 = shape_of({"Fashion-MNIST conv3, batch 128", 128, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        expect(v5::forward_slices(vgg_conv3).slices == 1 && v5::backward_data_slices(vgg_conv3).slices == 1,
               "VGG conv3_2 forward and backward-data unsplit", v5::forward_slices(vgg_conv3).slices);
        const d::SlicePlan f = v5::forward_slices(fmnist_conv3), b = v5::backward_data_slices(fmnist_conv3);
        expect(f.slices > 1 && b.slices > 1 && f.slices <= 16, "Fashion-MNIST conv3 forward and backward-data split",
               f.slices, b.slices);
        std::printf("split plans: VGG conv3_2 forward %d, backward-data %d, backward-weight %d slices; Fashion-MNIST conv3 "
                    "forward %d, backward-data %d, backward-weight %d\n",
                    v5::forward_slices(vgg_conv3).slices, v5::backward_data_slices(vgg_conv3).slices,
                    v5::backward_weight_slices(vgg_conv3).slices, f.slices, b.slices,
                    v5::backward_weight_slices(fmnist_conv3).slices);
    }
    expect(split_cases >= 20, "backward-weight ran split", split_cases);
    expect(block_rows_seen[0] > 0 && block_rows_seen[1] > 0, "both block heights ran");
    if (failures) {
        std::printf("test_tf32_nhwc_kernel_logic: %d FAILED (of %lld checks)\n", failures, checks);
        return 1;
    }
    std::printf("test_tf32_nhwc_kernel_logic: all %lld checks passed (TF32 version 5: rounding, staging, 16-byte copies, "
                "swizzles and bank phases, vector fragment loads, mma model, stores; host emulation, no GPU used)\n",
                checks);
    return 0;
}
