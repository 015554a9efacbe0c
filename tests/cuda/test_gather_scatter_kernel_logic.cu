// tests/cuda/test_gather_scatter_kernel_logic.cu — version 2 of gather and scatter_add
// (kernels/seam/gather_scatter.cuh), emulated on the CPU over their launches (no GPU needed: this
// program runs wherever it compiles; exit 0 pass, 1 fail).
//
// gather: every 16-byte group through the kernel's own gather_group, with the index and output
// 16-byte aligned (vector path) and one element off (element path; load_vec / store_vec check
// alignment on the host, so a misaligned vector access fails here as it would fault on the GPU),
// against a naive loop over coordinates written here: values bit for bit, the first out-of-range
// position, guards past the end untouched. GatherPlan's 32-bit split is also checked against the
// coordinates on index shapes up to 2^31 - 1 elements.
//
// scatter_add: every warp of the launch (the launcher's grid, and a one-block grid that makes the
// warps walk several lines each), every tile, every lane: the kernel's own lane load
// (scatter_add_lane_load), group mask (row_group_mask), leader test and fold, with the warp's
// __match_any_sync replayed lane by lane here. Against the CPU op's sequential
// loop (row-major over the index, x's value first), bit for bit: values of widely spread
// magnitudes, so a fold in another order changes the bits; many repeated targets in a tile, a
// whole tile on one target, out-of-range values mixed in, lines of 1 .. 1025 positions (lanes
// 1 .. 32, several lines a warp, the last warp's groups past the end), x larger than the index off
// dim, x with trailing sizes (a target stride above 1); float, double and int64. Where the kernel
// writes out's starting values too (scatter_add_onto: a copy of x, or zeros for gather's gradient),
// out starts as a sentinel, so a value the kernel fails to write shows.
//
// The fit rules (gather_v2_fits, scatter_add_v2_fits) are checked against their definitions.
//
// Built by CMake as seam_cuda_test_gather_scatter_kernel_logic. By hand:
//   nvcc -std=c++20 -O1 -Iinclude -Ikernels tests/cuda/test_gather_scatter_kernel_logic.cu -o gs && ./gs
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "seam/gather_scatter.cuh"

#include "kernel_logic_check.hpp"

namespace {

namespace k = seam::kernels;

using seam::kernel_logic::Buffer;
using seam::kernel_logic::checks;
using seam::kernel_logic::expect;
using seam::kernel_logic::failures;
using seam::kernel_logic::same_bits;

/// A tensor's sizes and its contiguous strides.
std::vector<int64_t> strides_of(const seam::Shape& s) {
    std::vector<int64_t> st(s.size(), 1);
    for (int r = static_cast<int>(s.size()) - 2; r >= 0; --r) st[size_t(r)] = st[size_t(r) + 1] * s[size_t(r) + 1];
    return st;
}

int64_t numel(const seam::Shape& s) {
    int64_t n = 1;
    for (int64_t v : s) n *= v;
    return n;
}

/// Values of spread magnitudes (2^-20 .. 2^20, both signs): sums in another order change the bits.
template <class T>
T spread_value(std::mt19937_64& rng) {
    if constexpr (std::is_integral_v<T>) {
        return static_cast<T>(int64_t(rng() % 2000001) - 1000000);
    } else {
        std::uniform_real_distribution<double> unit(1.0, 2.0);
        const double v = std::ldexp(unit(rng), int(rng() % 41) - 20);
        return static_cast<T>(rng() % 2 ? v : -v);
    }
}

/// The naive gather and scatter_add: walk the index row-major by coordinates (the CPU op's order).
template <class T>
struct Naive {
    std::vector<T> gathered, scattered;
    int64_t first_bad = INT64_MAX;
};

template <class T>
Naive<T> naive(const seam::Shape& xs, const seam::Shape& is, int dim, const std::vector<T>& x, const std::vector<int64_t>& idx,
               const std::vector<T>& src) {
    Naive<T> r;
    const int rank = static_cast<int>(xs.size());
    const int64_t ni = numel(is);
    r.gathered.assign(size_t(ni), T(0));
    r.scattered = x;
    std::vector<int64_t> c(static_cast<size_t>(rank), 0);
    for (int64_t e = 0; e < ni; ++e) {
        int64_t rest = e;
        for (int d = rank - 1; d >= 0; --d) c[size_t(d)] = rest % is[size_t(d)], rest /= is[size_t(d)];
        const int64_t v = idx[size_t(e)];
        if (v < 0 || v >= xs[size_t(dim)]) {
            if (r.first_bad == INT64_MAX) r.first_bad = e;
            continue;
        }
        int64_t xo = 0;
        for (int d = 0; d < rank; ++d) xo = xo * xs[size_t(d)] + (d == dim ? v : c[size_t(d)]);
        r.gathered[size_t(e)] = x[size_t(xo)];
        r.scattered[size_t(xo)] = r.scattered[size_t(xo)] + src[size_t(e)];
    }
    return r;
}

// ----- gather ------------------------------------------------------------------------------------------

/// Version 2's gather on the host: every group (in reverse order: groups are independent), with
/// the launcher's vector test; returns the smallest recorded bad position.
template <class T>
int64_t emulate_gather_v2(const k::GatherGeometry& g, const T* x, const int64_t* index, T* out, int64_t n) {
    const k::GatherPlan p = k::gather_plan(g);
    const bool vec = k::is_aligned(index, 16) && k::is_aligned(out, 16);
    int64_t bad = INT64_MAX;
    for (int64_t b = k::ceil_div(n, k::kVecOf<T>) - 1; b >= 0; --b) bad = std::min(bad, k::gather_group(p, x, index, out, n, b, vec));
    return bad;
}

template <class T>
void check_gather(std::mt19937_64& rng, const seam::Shape& xs, const seam::Shape& is, int dim, bool allow_bad,
                  const std::string& what) {
    const int64_t nx = numel(xs), ni = numel(is), S = xs[size_t(dim)];
    std::vector<T> x(static_cast<size_t>(nx)), src(static_cast<size_t>(ni), T(0));
    for (T& v : x) v = spread_value<T>(rng);
    std::vector<int64_t> idx(static_cast<size_t>(ni));
    for (int64_t& v : idx)
        v = allow_bad && rng() % 16 == 0 ? (rng() % 2 ? -1 - int64_t(rng() % 3) : S + int64_t(rng() % 3)) : int64_t(rng() % uint64_t(S));
    const Naive<T> want = naive(xs, is, dim, x, idx, src);
    const k::GatherGeometry g = k::gather_geometry(xs, dim, is);
    expect(k::gather_v2_fits(g, xs.data(), ni), what + ": version 2 fits");
    const T guard = T(7);
    for (size_t offset : {size_t(0), size_t(1)}) {
        Buffer<T> xb(size_t(nx), 0, guard), out(size_t(ni), offset, guard);
        Buffer<int64_t> ib(size_t(ni), offset, int64_t(0));
        xb.copy_from(x);
        ib.copy_from(idx);
        const int64_t bad = emulate_gather_v2(g, xb.data(), ib.data(), out.data(), ni);
        const std::string w = what + (offset ? " (misaligned: element path)" : " (aligned: vector path)");
        expect(bad == want.first_bad, w + ": the recorded bad position is the first out-of-range one: " +
                                          std::to_string(bad) + " vs " + std::to_string(want.first_bad));
        int64_t wrong = 0;
        for (int64_t e = 0; e < ni; ++e) wrong += !same_bits(out.data()[e], want.gathered[size_t(e)]);
        expect(wrong == 0, w + ": every element equals the naive loop (" + std::to_string(wrong) + " differ)");
        bool guards = true;
        for (int64_t e = ni; e < ni + 8; ++e) guards = guards && same_bits(out.data()[e], guard);
        expect(guards, w + ": the guards past the end are untouched");
    }
}

/// GatherPlan's split against the coordinates on index shapes up to 2^31 - 1 elements (sampled
/// positions, the first and last ones among them).
void check_gather_plan_split(std::mt19937_64& rng) {
    const std::vector<std::pair<seam::Shape, int>> shapes = {
        {{2147483647}, 0}, {{1, 2147483647}, 1}, {{2147483647, 1}, 0}, {{46340, 46341}, 1},
        {{3, 7, 102261126}, 1},  // 2147483646 elements
        {{65537, 32767}, 0}, {{5, 429496729, 1}, 1}, {{1290, 1291, 1289}, 2}, {{1290, 1291, 1289}, 0},
    };
    for (const auto& [is, dim] : shapes) {
        seam::Shape xs = is;
        xs[size_t(dim)] = is[size_t(dim)] + 3;  // x longer along dim
        const k::GatherGeometry g = k::gather_geometry(xs, dim, is);
        const int64_t n = numel(is);
        expect(k::gather_v2_fits(g, xs.data(), n), "the split's shapes fit version 2");
        const k::GatherPlan p = k::gather_plan(g);
        const std::vector<int64_t> xst = strides_of(xs);
        int64_t wrong = 0;
        for (int trial = 0; trial < 20000; ++trial) {
            const int64_t e = trial == 0 ? 0 : trial == 1 ? n - 1 : int64_t(rng() % uint64_t(n));
            const int64_t v = int64_t(rng() % uint64_t(xs[size_t(dim)]));
            int64_t rest = e, want = 0;
            for (int r = static_cast<int>(is.size()) - 1; r >= 0; --r) {
                const int64_t c = rest % is[size_t(r)];
                rest /= is[size_t(r)];
                want += (r == dim ? v : c) * xst[size_t(r)];
            }
            wrong += p.source(static_cast<int>(e), v) != want;
        }
        expect(wrong == 0, "GatherPlan::source equals the coordinates' offset on " + seam::shape_str(is) + " (" +
                               std::to_string(wrong) + " differ)");
        expect(p.source(0, -1) == -1 && p.source(0, xs[size_t(dim)]) == -1, "GatherPlan::source refuses values out of range");
    }
}

// ----- scatter_add -------------------------------------------------------------------------------------

/// Version 2's scatter_add on the host over `grid` blocks: each warp's iterations as the kernel runs
/// them; per tile each lane's load, then the warp's match replayed, then the leaders'
/// folds. Returns the smallest recorded bad position; counts how often each position was loaded.
template <class T>
int64_t emulate_scatter_add_v2(const k::GatherGeometry& g, const T* x, k::ScatterStart start, T* out, const int64_t* index,
                               const T* src, int64_t lines, unsigned grid, std::vector<int>& loaded) {
    const int64_t n = g.index_sizes[g.dim], x_step = g.x_strides[g.dim];
    const int lanes = k::scatter_add_v2_lanes(g, start != k::ScatterStart::as_is);
    int64_t bad = INT64_MAX;
    constexpr int W = k::kWarpSize;
    for (int64_t b = int64_t(grid) - 1; b >= 0; --b)  // blocks in reverse: their lines are disjoint
        for (int t_warp = 0; t_warp < k::kThreads; t_warp += W) {
            std::vector<k::RowGroupWalk> walks;
            for (int l = 0; l < W; ++l) walks.emplace_back(lanes, b, t_warp + l, grid);
            for (int l = 1; l < W; ++l)
                if (walks[size_t(l)].first != walks[0].first || walks[size_t(l)].stride != walks[0].stride)
                    expect(false, "a warp's lanes walk the same iterations");
            for (int64_t base = walks[0].first; base < lines; base += walks[0].stride) {
                std::vector<int64_t> x_offset(W, 0);
                for (int l = 0; l < W; ++l) {
                    const int64_t line = base + walks[size_t(l)].offset;
                    int64_t index_offset = 0;
                    if (line < lines) g.line_start(line, index_offset, x_offset[size_t(l)]);
                }
                if (start != k::ScatterStart::as_is)  // every lane's share of its row, then __syncwarp
                    for (int l = 0; l < W; ++l)
                        if (base + walks[size_t(l)].offset < lines)
                            k::scatter_add_start_row(start, x, out, x_offset[size_t(l)], g.x_size_along, walks[size_t(l)].lane,
                                                     lanes);
                for (int64_t t0 = 0; t0 < n; t0 += lanes) {
                    int64_t value[W], bad_at[W];
                    T v[W], warp_tile[W];
                    bool valid[W];
                    for (int l = 0; l < W; ++l) {
                        const int64_t line = base + walks[size_t(l)].offset;
                        valid[l] = k::scatter_add_lane_load(g, index, src, line, lines, t0 + walks[size_t(l)].lane, value[l],
                                                            v[l], bad_at[l]);
                        if (line < lines && t0 + walks[size_t(l)].lane < n) ++loaded[size_t(line * n + t0 + walks[size_t(l)].lane)];
                        if (bad_at[l] >= 0) bad = std::min(bad, bad_at[l]);
                        warp_tile[l] = v[l];
                    }
                    for (int l = 0; l < W; ++l) {
                        unsigned match = 0;  // __match_any_sync over the whole warp
                        for (int m = 0; m < W; ++m)
                            if (uint64_t(value[m]) == uint64_t(value[l])) match |= 1u << m;
                        const unsigned peers = match & k::row_group_mask(lanes, l);
                        if (valid[l] && k::scatter_add_leads(peers, l))
                            k::scatter_add_fold(out + x_offset[size_t(l)] + value[l] * x_step, peers, warp_tile);
                    }
                }
            }
        }
    return bad;
}

template <class T>
void check_scatter(std::mt19937_64& rng, const seam::Shape& xs, const seam::Shape& is, int dim, int value_range,
                   bool allow_bad, const std::string& what) {
    const int64_t nx = numel(xs), ni = numel(is), S = xs[size_t(dim)];
    std::vector<T> x(static_cast<size_t>(nx)), src(static_cast<size_t>(ni));
    for (T& v : x) v = spread_value<T>(rng);
    for (T& v : src) v = spread_value<T>(rng);
    const int64_t range = std::min<int64_t>(S, value_range);
    std::vector<int64_t> idx(static_cast<size_t>(ni));
    for (int64_t& v : idx)
        v = allow_bad && rng() % 16 == 0 ? (rng() % 2 ? -1 - int64_t(rng() % 3) : S + int64_t(rng() % 3))
                                         : int64_t(rng() % uint64_t(range));
    const Naive<T> want = naive(xs, is, dim, x, idx, src);
    const k::GatherGeometry g = k::gather_geometry(xs, dim, is);
    expect(k::scatter_add_v2_fits(g), what + ": version 2 fits");
    const int64_t n = is[size_t(dim)], lines = g.lines();
    // The starting values: as they are (out holds x), or written by the kernel where it can (out
    // starts as a sentinel no result has): a copy of x, or zeros (against the naive loop from zeros).
    bool starts = true;
    for (int r = 0; r < static_cast<int>(xs.size()); ++r) {
        if (r != dim && is[size_t(r)] != xs[size_t(r)]) starts = false;
        if (r > dim && xs[size_t(r)] != 1) starts = false;
    }
    expect(k::scatter_add_v2_starts(g, xs.data()) == starts, what + ": scatter_add_v2_starts");
    const Naive<T> want_zeros = naive(xs, is, dim, std::vector<T>(x.size(), T(0)), idx, src);
    const T sentinel = std::is_integral_v<T> ? T(123456789) : T(3.0e7);
    for (k::ScatterStart start : {k::ScatterStart::as_is, k::ScatterStart::copy, k::ScatterStart::zeros}) {
        if (start != k::ScatterStart::as_is && !starts) continue;
        const std::vector<T>& expected = start == k::ScatterStart::zeros ? want_zeros.scattered : want.scattered;
        const int lanes = k::scatter_add_v2_lanes(g, start != k::ScatterStart::as_is);
        expect(lanes == k::row_group_lanes(start == k::ScatterStart::as_is ? n : std::max<int64_t>(n, S)),
               what + ": the groups' lanes cover the line (and the target row when the kernel writes it)");
        for (unsigned grid : {k::row_group_blocks(lines, lanes), 1u}) {
            std::vector<T> out = start == k::ScatterStart::as_is ? x : std::vector<T>(x.size(), sentinel);
            std::vector<int> loaded(static_cast<size_t>(ni), 0);
            const int64_t bad = emulate_scatter_add_v2(g, x.data(), start, out.data(), idx.data(), src.data(), lines, grid, loaded);
            const std::string w = what + " (start " + std::to_string(int(start)) + ", grid " + std::to_string(grid) + ", lanes " +
                                  std::to_string(lanes) + ")";
            expect(bad == want.first_bad, w + ": the recorded bad position is the first out-of-range one: " +
                                              std::to_string(bad) + " vs " + std::to_string(want.first_bad));
            int64_t once = 0;
            for (int c : loaded) once += c == 1;
            expect(once == ni, w + ": every index position is loaded exactly once (" + std::to_string(once) + " of " +
                                   std::to_string(ni) + ")");
            int64_t wrong = 0;
            for (int64_t i = 0; i < nx; ++i) wrong += !same_bits(out[size_t(i)], expected[size_t(i)]);
            expect(wrong == 0, w + ": every element equals the CPU op's sequential loop bit for bit (" +
                                   std::to_string(wrong) + " differ)");
        }
    }
}

/// A shape of `rank` dims with the line along `dim` of length n, the others small.
seam::Shape line_shape(std::mt19937_64& rng, int rank, int dim, int64_t n) {
    seam::Shape s(static_cast<size_t>(rank));
    for (int r = 0; r < rank; ++r) s[size_t(r)] = r == dim ? n : 1 + int64_t(rng() % 4);
    return s;
}

template <class T>
void check_scatter_family(std::mt19937_64& rng, const char* type) {
    const std::string t = type;
    // Lines of every length class (lanes 1 .. 32, one tile and many), with repeats in a tile.
    for (int64_t n : {1, 2, 3, 5, 8, 15, 16, 17, 31, 32, 33, 64, 100, 1024, 1025}) {
        for (int rank = 1; rank <= 3; ++rank) {
            const int dim = rank - 1;  // along the last dimension: the lines are contiguous
            const seam::Shape is = line_shape(rng, rank, dim, n);
            seam::Shape xs = is;
            xs[size_t(dim)] = 1 + int64_t(rng() % 40);
            const std::string what = t + " scatter_add, index " + seam::shape_str(is) + " into " + seam::shape_str(xs);
            check_scatter<T>(rng, xs, is, dim, 1 << 20, n % 2 == 1, what + ", values over x's range");
            check_scatter<T>(rng, xs, is, dim, 3, false, what + ", values in [0, 3): many peers a tile");
        }
    }
    // Every position of a line on one target: whole tiles of peers.
    check_scatter<T>(rng, {6, 9}, {6, 70}, 1, 1, false, t + " scatter_add, every position on target 0");
    // Lines that are not along the last dimension of x: index sizes after dim are 1, x's are not
    // (a target stride above 1); x larger than the index before dim.
    check_scatter<T>(rng, {5, 7, 3}, {4, 20, 1}, 1, 1 << 20, true, t + " scatter_add, index [4, 20, 1] into [5, 7, 3]");
    check_scatter<T>(rng, {3, 6, 2, 4}, {2, 6, 1, 1}, 1, 2, false, t + " scatter_add, index [2, 6, 1, 1] into [3, 6, 2, 4]");
    check_scatter<T>(rng, {9, 4}, {40, 1}, 0, 4, true, t + " scatter_add, index [40, 1] into [9, 4] along dim 0");
    // Many lines (several iterations a warp in the one-block grid).
    check_scatter<T>(rng, {700, 10}, {700, 10}, 1, 1 << 20, true, t + " scatter_add, [700, 10] (the gather gradient's shape)");
}

template <class T>
void check_gather_family(std::mt19937_64& rng, const char* type) {
    const std::string t = type;
    for (int trial = 0; trial < 120; ++trial) {
        const int rank = 1 + int(rng() % 4), dim = int(rng() % uint64_t(rank));
        seam::Shape is(static_cast<size_t>(rank)), xs(static_cast<size_t>(rank));
        for (int r = 0; r < rank; ++r) is[size_t(r)] = 1 + int64_t(rng() % 6);
        is[size_t(dim)] = 1 + int64_t(rng() % 40);
        xs = is;
        xs[size_t(dim)] = 1 + int64_t(rng() % 9);
        check_gather<T>(rng, xs, is, dim, trial % 3 == 0, t + " gather, index " + seam::shape_str(is) + " from " + seam::shape_str(xs));
    }
    check_gather<T>(rng, {64, 1024}, {64, 1024}, 1, false, t + " gather, [64, 1024] along dim 1");
    check_gather<T>(rng, {64, 1024}, {64, 1025}, 1, true, t + " gather, index [64, 1025] from [64, 1024]");
}

/// The fit rules against their definitions, and row_group_mask against "same group".
void check_fit_rules(std::mt19937_64& rng) {
    for (int trial = 0; trial < 2000; ++trial) {
        const int rank = 1 + int(rng() % 4), dim = int(rng() % uint64_t(rank));
        seam::Shape xs(static_cast<size_t>(rank)), is(static_cast<size_t>(rank));
        for (int r = 0; r < rank; ++r) {
            xs[size_t(r)] = 1 + int64_t(rng() % 3);
            is[size_t(r)] = r == dim ? 1 + int64_t(rng() % 4) : 1 + int64_t(rng() % uint64_t(xs[size_t(r)]));
        }
        const k::GatherGeometry g = k::gather_geometry(xs, dim, is);
        bool same_off_dim = true, trailing_ones = true;
        for (int r = 0; r < rank; ++r) {
            if (r != dim && is[size_t(r)] != xs[size_t(r)]) same_off_dim = false;
            if (r > dim && is[size_t(r)] != 1) trailing_ones = false;
        }
        expect(k::gather_v2_fits(g, xs.data(), numel(is)) == same_off_dim, "gather_v2_fits: the index has x's sizes off dim");
        expect(k::scatter_add_v2_fits(g) == trailing_ones, "scatter_add_v2_fits: index sizes after dim are 1");
    }
    const seam::Shape big{2, int64_t(1) << 30};
    const k::GatherGeometry gb = k::gather_geometry(big, 1, big);
    expect(!k::gather_v2_fits(gb, big.data(), int64_t(1) << 31), "gather_v2_fits refuses 2^31 elements");
    expect(k::gather_v2_fits(gb, big.data(), (int64_t(1) << 31) - 1), "gather_v2_fits takes 2^31 - 1 elements");
    expect(!k::gather_v2_fits(gb, big.data(), 0), "gather_v2_fits refuses an empty index");
    // The fused start wants at least 32 warps an SM: [65536, 1024] on 132 SMs fuses (65536 warps);
    // one pick a row of [4096, 32000] (4096 warps of 32 lanes) does not; nor does a shape whose
    // index is smaller than x off dim.
    {
        const seam::Shape xs{65536, 1024}, pick{4096, 32000}, pick_index{4096, 1}, small_index{100, 1024};
        const k::GatherGeometry full = k::gather_geometry(xs, 1, xs), one = k::gather_geometry(pick, 1, pick_index),
                                small = k::gather_geometry(xs, 1, small_index);
        expect(k::scatter_add_v2_fuses_start(full, xs.data(), full.lines(), 132), "the fused start on [65536, 1024]");
        expect(!k::scatter_add_v2_fuses_start(one, pick.data(), one.lines(), 132), "no fused start for [4096, 1] over [4096, 32000]");
        expect(k::scatter_add_v2_fuses_start(one, pick.data(), one.lines(), 4), "a fused start for it with 4 SMs");
        expect(k::scatter_add_v2_lanes(one, true) == 32 && k::scatter_add_v2_lanes(one, false) == 1,
               "a pick a row: 1 lane for its position, 32 when it also writes the 32000-value row");
        expect(!k::scatter_add_v2_fuses_start(small, xs.data(), small.lines(), 1), "no fused start for an index smaller off dim");
    }
    for (int lanes = 1; lanes <= 32; lanes *= 2)
        for (int l = 0; l < 32; ++l) {
            unsigned want = 0;
            for (int m = 0; m < 32; ++m)
                if (m / lanes == l / lanes) want |= 1u << m;
            expect(k::row_group_mask(lanes, l) == want, "row_group_mask(" + std::to_string(lanes) + ", " + std::to_string(l) + ")");
        }
    for (unsigned peers : {0x1u, 0x80000000u, 0x00f0u, 0xffffffffu, 0x10010u})
        for (int l = 0; l < 32; ++l) {
            const bool in = (peers >> l) & 1u;
            bool lowest = in;
            for (int m = 0; m < l; ++m) lowest = lowest && !((peers >> m) & 1u);
            expect(k::scatter_add_leads(peers, l) == lowest, "scatter_add_leads: the lowest lane of its peers");
        }
}

}  // namespace

int main() {
    std::mt19937_64 rng(20261128);
    check_fit_rules(rng);
    check_gather_plan_split(rng);
    check_gather_family<float>(rng, "float");
    check_gather_family<double>(rng, "double");
    check_gather_family<int64_t>(rng, "int64");
    check_gather_family<uint8_t>(rng, "uint8");
    check_scatter_family<float>(rng, "float");
    check_scatter_family<double>(rng, "double");
    check_scatter_family<int64_t>(rng, "int64");
    std::printf("test_gather_scatter_kernel_logic: %lld checks, %d failures\n", static_cast<long long>(checks), failures);
    return failures == 0 ? 0 : 1;
}
