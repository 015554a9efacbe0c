// tests/cuda/test_softmax_kernel_logic.cu — version 2 of the fused cross-entropy and of the softmax
// rows (kernels/seam/softmax.cuh), emulated on the CPU over every block, warp and lane of their
// launches (no GPU needed: this program runs wherever it compiles; exit 0 pass, 1 fail).
//
// Softmax (HostSoftmax): the rows kernels' walk over the same grid, each lane's registers filled
// by row_lane_load, the max and sum butterflies replayed lane by lane, then each lane's
// softmax_lane_store (and softmax_lane_dot / softmax_lane_backward_store backward), against
// long-double references with the CPU's rules (NaN, ±inf, rows of -inf, underflow), for n = 1 ..
// 1024, float and double; routing: n > 1024, inner > 1 and version 1 take the other kernels.
//
// Cross-entropy: the launchers cross_entropy_forward_on / cross_entropy_backward_on are templates over an
// executor: on the GPU DeviceCrossEntropy launches the kernels; here HostCrossEntropy runs, for
// every block of the same grid and every thread, the kernels' own per-lane code
// (cross_entropy_lane_max_sum, merge_row_max_sum, row_lse, cross_entropy_lane_smooth,
// cross_entropy_row_loss, cross_entropy_lane_backward, loss_thread_sums) through the kernels' own
// row map (row_group_row_of, row_group_warp_first_row, row_group_stride), and
// replays the xor-shuffle butterflies lane by lane (at each offset every lane merges its value with
// lane ^ offset's value from before the step) and block_reduce's shared-memory tree. Every lane's
// result after a butterfly must have the same bits (the kernels let lane 0 write; the others must
// agree). The per-position kernels of version 1 (taken for S > 1 and by version 1) are not
// emulated: the executor records that they were chosen and fills their outputs from the reference.
//
// Checked against independent computations written here (long double, the CPU op's rules):
//   * the row lanes, the row map (every row served by exactly one group, every iteration of a
//     warp uniform), the reduction plan (at most 1024 partial blocks, the positions covered once);
//   * lse, the per-row loss and w[y], the reduced loss (none, mean, sum), stats, the first bad
//     row, and dx, for C = 1, 2, 3, 10, 31, 32, 33, 50, 1000 and 3000 rows and more (two
//     reduction levels), with and without class weights, ignore_index, label smoothing;
//   * NaN and infinities: a NaN logit, +inf, -inf in several places, a row of -inf — NaN exactly
//     where the CPU's rule gives NaN, the same values elsewhere;
//   * routing: S > 1 and version 1 take the per-position kernels; version 1 reduces in one block.
//
// Built by CMake as seam_cuda_test_softmax_kernel_logic. By hand:
//   nvcc -std=c++20 -O1 -Iinclude -Ikernels tests/cuda/test_softmax_kernel_logic.cu -o ce_logic && ./ce_logic

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "seam/softmax.cuh"

#include "kernel_logic_check.hpp"
#include "row_group_emulation.hpp"

namespace {

namespace k = seam::kernels;
using seam::kernel_emulation::butterfly;
using seam::kernel_emulation::LaneValues;

using seam::kernel_logic::checks;
using seam::kernel_logic::expect;
using seam::kernel_logic::failures;
using seam::kernel_logic::same_bits;

template <class T>
std::string tname() {
    return sizeof(T) == 4 ? "float" : "double";
}

// ----- the reference (long double, the CPU op's rules) ------------------------------------------------

struct RefRow {
    long double lse, loss, wy;
    bool bad;
};

template <class T>
RefRow reference_row(const T* row, int64_t y, const T* weight, const k::CrossEntropyArgs& a) {
    RefRow r{};
    long double m = -INFINITY;
    for (int64_t c = 0; c < a.classes; ++c)
        if (row[c] > m) m = row[c];  // NaN never becomes the maximum
    long double s = 0;
    for (int64_t c = 0; c < a.classes; ++c) s += std::exp(static_cast<long double>(row[c]) - m);
    r.lse = m + std::log(s);
    r.bad = y != a.ignore_index && (y < 0 || y >= a.classes);
    if (y == a.ignore_index || r.bad) return r;
    r.wy = weight ? weight[y] : 1;
    r.loss = (1 - static_cast<long double>(a.label_smoothing)) * r.wy * (r.lse - row[y]);
    if (a.label_smoothing > 0) {
        long double smooth = 0;
        for (int64_t c = 0; c < a.classes; ++c) smooth += (weight ? weight[c] : 1) * (r.lse - row[c]);
        r.loss += static_cast<long double>(a.label_smoothing) / a.classes * smooth;
    }
    return r;
}

/// got within tol·(1 + |want|), or both NaN; infinities must match exactly.
bool close(long double got, long double want, long double tol) {
    if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
    if (std::isinf(want) || std::isinf(got)) return got == want;
    return std::fabs(got - want) <= tol * (1 + std::fabs(want));
}

// ----- the host executor ------------------------------------------------------------------------------

/// block_reduce's tree over 256 values (thread t += thread t + width, width 128 .. 1).
double block_tree(std::vector<double> v) {
    for (int width = k::kThreads / 2; width > 0; width /= 2)
        for (int t = 0; t < width; ++t) v[t] += v[t + width];
    return v[0];
}

struct HostCrossEntropy {
    int version = 2;
    mutable int positions_calls = 0, rows_calls = 0, partial_calls = 0, total_calls = 0;
    mutable std::vector<int> row_visits;  // how often each row was served (forward)

    void reset_first_bad(unsigned long long* p) const { *p = ~0ull; }

    template <class T>
    void positions_forward(const T* x, const int64_t* target, const T* weight, const k::CrossEntropyArgs& a,
                           double* lse, double* losses, double* weights, T* out_none,
                           unsigned long long* first_bad) const {
        ++positions_calls;  // version 1's kernel, not emulated: the reference fills its outputs
        for (int64_t i = 0; i < a.batch * a.spatial; ++i) {
            std::vector<T> col(a.classes);
            for (int64_t c = 0; c < a.classes; ++c)
                col[c] = x[(i / a.spatial) * a.classes * a.spatial + c * a.spatial + i % a.spatial];
            const RefRow r = reference_row(col.data(), target[i], weight, a);
            lse[i] = static_cast<double>(r.lse), losses[i] = static_cast<double>(r.loss);
            weights[i] = static_cast<double>(r.wy);
            if (out_none) out_none[i] = static_cast<T>(r.loss);
            if (r.bad && static_cast<unsigned long long>(i) < *first_bad) *first_bad = static_cast<unsigned long long>(i);
        }
    }

    template <class T>
    void rows_forward(const T* x, const int64_t* target, const T* weight, const k::CrossEntropyArgs& a, int lanes,
                      double* lse, double* losses, double* weights, T* out_none, unsigned long long* first_bad) const {
        ++rows_calls;
        const int64_t C = a.classes;
        row_visits = seam::kernel_emulation::walk_row_groups(a.batch, lanes, [&](int64_t row, bool valid) {
            const T* p = x + (valid ? row : 0) * C;
            std::vector<k::RowMaxSum<T>> r(lanes);
            for (int l = 0; l < lanes; ++l)
                if (valid) r[l] = k::cross_entropy_lane_max_sum(p, C, l, lanes);
            r = butterfly(r, [](const k::RowMaxSum<T>& u, const k::RowMaxSum<T>& v) { return k::merge_row_max_sum(u, v); });
            bool same = true;
            for (int l = 1; l < lanes; ++l) same = same && same_bits(r[l].m, r[0].m) && same_bits(r[l].s, r[0].s);
            expect(same, "every lane of a group holds the row's (m, s) bit for bit");
            const double z = k::row_lse(r[0]);
            double smooth = 0;
            if (a.label_smoothing > 0) {
                std::vector<double> sm(lanes, 0.0);
                for (int l = 0; l < lanes; ++l)
                    if (valid) sm[l] = k::cross_entropy_lane_smooth(p, weight, C, z, l, lanes);
                sm = butterfly(sm, [](double u, double v) { return u + v; });
                for (int l = 1; l < lanes; ++l) same = same && same_bits(sm[l], sm[0]);
                expect(same, "every lane of a group holds the smoothing sum bit for bit");
                smooth = sm[0];
            }
            if (!valid) return;
            const k::RowLoss l = k::cross_entropy_row_loss(p, target[row], weight, a, z, smooth);
            if (l.bad && static_cast<unsigned long long>(row) < *first_bad) *first_bad = static_cast<unsigned long long>(row);
            lse[row] = z, losses[row] = l.loss, weights[row] = l.wy;
            if (out_none) out_none[row] = static_cast<T>(l.loss);
        });
    }

    template <class T>
    void positions_backward(const T*, const int64_t*, const T*, const double*, const double*, const T*,
                            const k::CrossEntropyArgs&, T*) const {
        ++positions_calls;  // routing only: version 1's kernel is not emulated (its outputs stay NaN)
    }

    template <class T>
    void rows_backward(const T* x, const int64_t* target, const T* weight, const double* lse, const double* stats,
                       const T* grad_out, const k::CrossEntropyArgs& a, int lanes, T* dx) const {
        ++rows_calls;
        const unsigned grid = k::row_group_blocks(a.batch, lanes);
        for (unsigned b = 0; b < grid; ++b)
            for (int t = 0; t < k::kThreads; ++t)
                for (int64_t row = k::row_group_row_of(lanes, b, t); row < a.batch;
                     row += k::row_group_stride(lanes, grid))
                    k::cross_entropy_lane_backward(x + row * a.classes, target[row], weight, lse[row], stats, grad_out, row,
                                                   a, dx + row * a.classes, t % lanes, lanes);
    }

    void loss_partials(const double* losses, const double* weights, int64_t positions, const k::LossReducePlan& p,
                       double* partial_loss, double* partial_weight) const {
        ++partial_calls;
        for (int64_t b = 0; b < p.blocks; ++b) {
            const int64_t begin = b * p.chunk, end = std::min(positions, begin + p.chunk);
            std::vector<double> l(k::kThreads), w(k::kThreads);
            for (int t = 0; t < k::kThreads; ++t) k::loss_thread_sums(losses, weights, begin, end, t, k::kThreads, l[t], w[t]);
            partial_loss[b] = block_tree(l), partial_weight[b] = block_tree(w);
        }
    }

    /// cross_entropy_reduce_kernel: one block, threads strided over the positions and classes.
    template <class T>
    void loss_total(const double* losses, const double* weights, int64_t positions, const T* weight,
                    const k::CrossEntropyArgs& a, double* stats, T* out) const {
        ++total_calls;
        std::vector<double> l(k::kThreads), w(k::kThreads), c(k::kThreads);
        for (int t = 0; t < k::kThreads; ++t) {
            k::loss_thread_sums(losses, weights, 0, positions, t, k::kThreads, l[t], w[t]);
            for (int64_t j = t; j < a.classes; j += k::kThreads) c[t] += weight ? static_cast<double>(weight[j]) : 1.0;
        }
        stats[0] = block_tree(l), stats[1] = block_tree(w), stats[2] = block_tree(c);
        if (out) out[0] = static_cast<T>(a.reduction == 1 ? stats[0] / stats[1] : stats[0]);
    }
};

// ----- checks ---------------------------------------------------------------------------------------------

void check_plans() {
    const std::vector<std::pair<int64_t, int>> lanes = {{1, 1}, {2, 2}, {3, 4}, {10, 16}, {16, 16}, {17, 32},
                                                        {32, 32}, {33, 32}, {1000, 32}};
    for (const auto& [C, want] : lanes)
        expect(k::row_group_lanes(C) == want, "row lanes for C = " + std::to_string(C));
    for (int l = 1; l <= k::kWarpSize; l *= 2)  // the row map: a group's lanes serve one row, its groups consecutive rows
        for (int64_t b : {int64_t(0), int64_t(3)})
            for (int t = 0; t < k::kThreads; ++t) {
                expect(k::row_group_row_of(l, b, t) == k::row_group_row_of(l, b, t - t % l), "a group's lanes serve one row");
                expect(k::row_group_row_of(l, b, t) == b * (k::kThreads / l) + t / l, "rows of a block in thread order");
            }
    for (int64_t P : {int64_t(0), int64_t(1), int64_t(2047), int64_t(2048), int64_t(2049), int64_t(1000000),
                      int64_t(2097152), int64_t(2097153), int64_t(3000000), int64_t(1) << 31}) {
        const k::LossReducePlan p = k::plan_loss_reduce(P);
        const std::string name = "loss plan P = " + std::to_string(P);
        if (P == 0) {
            expect(p.blocks == 0, name + ": no blocks");
            continue;
        }
        expect(p.blocks >= 1 && p.blocks <= k::kLossPartialsMax, name + ": 1 .. 1024 blocks");
        expect(p.chunk >= k::kLossPartialMinChunk, name + ": chunks of at least 2048 positions");
        expect(p.blocks * p.chunk >= P && (p.blocks - 1) * p.chunk < P, name + ": the positions covered, no empty block");
    }
    expect(k::cross_entropy_workspace_bytes(k::CrossEntropyArgs{.batch = 10, .classes = 3, .spatial = 2}) ==
               size_t(20 * 2 * 8 + 2 * 1024 * 8 + 8),
           "workspace bytes by hand");
}

struct Case {
    int64_t N, C;
    bool weighted;
    int64_t ignore_every;  // every k-th target is ignore_index (0: none)
    int reduction;
    double smoothing;
    int specials;  // 0: none; 1: NaN, inf and -inf logits in some rows; 2: also a bad target
};

template <class T>
void check_case(const Case& cs, std::mt19937_64& rng, int version = 2) {
    const std::string name = tname<T>() + " [" + std::to_string(cs.N) + ", " + std::to_string(cs.C) + "] red " +
                             std::to_string(cs.reduction) + " eps " + std::to_string(cs.smoothing) + " w " +
                             std::to_string(cs.weighted) + " specials " + std::to_string(cs.specials) + " v" +
                             std::to_string(version);
    std::normal_distribution<double> normal(0.0, 3.0);
    const int64_t N = cs.N, C = cs.C;
    std::vector<T> x(N * C), w(C), g(cs.reduction == 0 ? N : 1);
    std::vector<int64_t> y(N);
    for (auto& v : x) v = static_cast<T>(normal(rng));
    for (int64_t c = 0; c < C; ++c) w[c] = static_cast<T>(0.25 + 0.5 * (c % 5));
    for (int64_t i = 0; i < N; ++i) y[i] = cs.ignore_every > 0 && i % cs.ignore_every == 0 ? -100 : (i * 7 + 3) % C;
    for (auto& v : g) v = static_cast<T>(0.5 + normal(rng) * 0.1);
    int64_t want_bad = -1;
    if (cs.specials >= 1) {
        const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
        const auto set = [&](int64_t row, int64_t c, T v) {
            if (row < N && c < C) x[row * C + c] = v;
        };
        set(1, 0, nan);                                         // NaN first
        set(2, C - 1, nan);                                     // NaN last
        set(3, C / 2, inf);                                     // +inf
        set(4, 0, -inf), set(4, C - 1, -inf);                   // -inf among finite values
        for (int64_t c = 0; c < C; ++c) set(5, c, -inf);        // a row of -inf
        for (int64_t c = 0; c < C; c += 2) set(6, c, -inf);     // every other -inf (whole lanes of -inf)
        set(6, 1, nan);                                         // ... and a NaN
        set(7, 0, inf), set(7, C - 1, -inf);                    // +inf and -inf
    }
    if (cs.specials >= 2 && N > 9) {
        y[9] = C + 5, y[N - 1] = -3;
        want_bad = 9;
    }
    k::CrossEntropyArgs a;
    a.batch = N, a.classes = C, a.spatial = 1, a.ignore_index = -100, a.label_smoothing = cs.smoothing;
    a.reduction = cs.reduction;
    const T* wp = cs.weighted ? w.data() : nullptr;
    std::vector<unsigned char> workspace(k::cross_entropy_workspace_bytes(a) + 16);
    std::vector<T> out(cs.reduction == 0 ? N : 1, std::numeric_limits<T>::quiet_NaN());
    std::vector<double> lse(N, std::numeric_limits<double>::quiet_NaN()), stats(3, std::numeric_limits<double>::quiet_NaN());
    HostCrossEntropy exec;
    exec.version = version;
    unsigned long long* first_bad = nullptr;
    k::cross_entropy_forward_on<T>(exec, x.data(), y.data(), wp, a, out.data(), lse.data(), stats.data(),
                                   workspace.data(), &first_bad);
    const k::LossReducePlan plan = k::plan_loss_reduce(N);
    expect(version >= 2 ? exec.rows_calls == 1 && exec.positions_calls == 0 : exec.positions_calls == 1 && exec.rows_calls == 0,
           name + ": the rows kernel iff version 2");
    expect(exec.partial_calls == (version >= 2 && plan.blocks > 1 ? 1 : 0) && exec.total_calls == 1,
           name + ": two reduction levels iff version 2 and more than one partial block");
    if (version >= 2) {
        bool once = true;
        for (int v : exec.row_visits) once = once && v == 1;
        expect(once, name + ": every row served exactly once");
    }
    expect(first_bad && *first_bad == (want_bad < 0 ? ~0ull : static_cast<unsigned long long>(want_bad)),
           name + ": the first bad row");

    // The reference.
    const long double tol = sizeof(T) == 4 ? 2e-6L : 1e-13L;
    long double total = 0, wtotal = 0, classes_w = 0, abs_total = 0;
    std::vector<RefRow> ref(N);
    int bad_lse = 0, bad_loss = 0;
    for (int64_t i = 0; i < N; ++i) {
        ref[i] = reference_row(x.data() + i * C, y[i], wp, a);
        if (!close(lse[i], ref[i].lse, tol)) ++bad_lse;
        if (cs.reduction == 0 && !close(out[i], ref[i].loss, 4 * tol)) ++bad_loss;
        total += ref[i].loss, wtotal += ref[i].wy, abs_total += std::fabs(ref[i].loss);
    }
    for (int64_t c = 0; c < C; ++c) classes_w += wp ? wp[c] : 1;
    expect(bad_lse == 0, name + ": lse (" + std::to_string(bad_lse) + " rows off)");
    expect(bad_loss == 0, name + ": per-row losses (" + std::to_string(bad_loss) + " rows off)");
    const bool any_nan = cs.specials >= 1;
    if (!any_nan) {
        expect(std::fabs(stats[0] - total) <= 4 * tol * abs_total + 1e-30L, name + ": Σ loss");
        expect(close(stats[1], wtotal, 1e-14), name + ": Σ w[y]");
    } else {
        expect(std::isnan(stats[0]), name + ": Σ loss is NaN when a used row is NaN");
    }
    expect(close(stats[2], classes_w, 1e-14), name + ": Σ_c w[c]");
    if (cs.reduction == 1 && !any_nan) expect(close(out[0], total / wtotal, 8 * tol), name + ": mean");
    if (cs.reduction == 2 && !any_nan) expect(std::fabs(out[0] - total) <= 8 * tol * abs_total, name + ": sum");

    // Backward, from the forward's lse and stats.
    std::vector<T> dx(N * C, std::numeric_limits<T>::quiet_NaN());
    HostCrossEntropy bexec;
    bexec.version = version;
    k::cross_entropy_backward_on<T>(bexec, x.data(), y.data(), wp, lse.data(), stats.data(), g.data(), a, dx.data());
    if (version < 2) {
        expect(bexec.positions_calls == 1 && bexec.rows_calls == 0, name + ": version 1's backward kernel");
        return;
    }
    expect(bexec.rows_calls == 1 && bexec.positions_calls == 0, name + ": the rows backward");
    int bad_dx = 0;
    for (int64_t i = 0; i < N; ++i) {
        const bool used = y[i] != a.ignore_index && y[i] >= 0 && y[i] < C;
        const long double scale = cs.reduction == 0 ? g[i]
                                  : cs.reduction == 1 ? static_cast<long double>(static_cast<T>(g[0] / stats[1]))
                                                      : g[0];
        for (int64_t c = 0; c < C; ++c) {
            long double want = 0;
            if (used) {
                const long double p = std::exp(static_cast<long double>(x[i * C + c]) - lse[i]);
                const long double wy = wp ? wp[y[i]] : 1, wc = wp ? wp[c] : 1;
                want = (1 - static_cast<long double>(cs.smoothing)) * wy * (p - (c == y[i] ? 1 : 0));
                if (cs.smoothing > 0) want += static_cast<long double>(cs.smoothing) / C * (stats[2] * p - wc);
                want *= scale;
            }
            if (!close(dx[i * C + c], want, 8 * tol)) ++bad_dx;
        }
    }
    expect(bad_dx == 0, name + ": dx (" + std::to_string(bad_dx) + " elements off)");
}

/// S > 1 keeps version 1's per-position kernels (and version 2's reduction).
void check_spatial_routing() {
    k::CrossEntropyArgs a;
    a.batch = 3, a.classes = 4, a.spatial = 5, a.reduction = 1;
    std::vector<float> x(60, 0.5f), out(1);
    std::vector<int64_t> y(15, 1);
    std::vector<double> lse(15), stats(3);
    std::vector<unsigned char> ws(k::cross_entropy_workspace_bytes(a));
    HostCrossEntropy exec;
    unsigned long long* first_bad = nullptr;
    k::cross_entropy_forward_on<float>(exec, x.data(), y.data(), nullptr, a, out.data(), lse.data(), stats.data(),
                                       ws.data(), &first_bad);
    expect(exec.positions_calls == 1 && exec.rows_calls == 0, "S = 5: the per-position forward");
    expect(close(out[0], std::log(4.0L), 1e-6L), "S = 5: uniform logits give log C");
}

// ----- softmax version 2 --------------------------------------------------------------------------------

/// Runs the softmax launchers' kernels on the CPU: version 2's rows kernels emulated lane by lane;
/// version 1's and the column kernels only recorded (their outputs come from the reference).
struct HostSoftmax {
    int version = 2;
    mutable int v1_calls = 0, v2_calls = 0, column_calls = 0;
    mutable std::vector<int> row_visits;

    template <class F>
    void walk(int64_t rows, int lanes, const F& fn) const {
        row_visits = seam::kernel_emulation::walk_row_groups(rows, lanes, fn);
    }

    template <class T>
    void rows_v2(const T* x, T* y, int64_t rows, int64_t n, int lanes, bool log) const {
        ++v2_calls;
        using Acc = k::softmax_acc_t<T>;
        walk(rows, lanes, [&](int64_t row, bool valid) {
            std::vector<LaneValues<T>> v(lanes);
            std::vector<int> count(lanes, 0);
            std::vector<T> m(lanes);
            for (int l = 0; l < lanes; ++l) {
                auto& vl = v[l].v;
                if (valid) count[l] = k::row_lane_load(x + row * n, n, l, lanes, vl);
                m[l] = k::softmax_lane_max(vl, count[l]);
            }
            m = butterfly(m, [](T a, T b) { return k::softmax_detail::MaxSkipNaN<T>()(a, b); });
            std::vector<Acc> s(lanes);
            for (int l = 0; l < lanes; ++l) {
                auto& vl = v[l].v;
                s[l] = log ? k::softmax_lane_exp_sum<true>(vl, count[l], m[l]) : k::softmax_lane_exp_sum<false>(vl, count[l], m[l]);
            }
            s = butterfly(s, [](Acc a, Acc b) { return a + b; });
            bool same = true;
            for (int l = 1; l < lanes; ++l) same = same && m[l] == m[0] && same_bits(s[l], s[0]);
            expect(same, "softmax: every lane of a group holds the row's maximum and sum");
            if (!valid) return;
            for (int l = 0; l < lanes; ++l) {
                const auto& vl = v[l].v;
                if (log) k::softmax_lane_store<true>(vl, count[l], m[l], s[l], y + row * n, l, lanes);
                else k::softmax_lane_store<false>(vl, count[l], m[l], s[l], y + row * n, l, lanes);
            }
        });
    }
    template <class T>
    void backward_rows_v2(const T* g, const T* y, T* dx, int64_t rows, int64_t n, int lanes, bool log) const {
        ++v2_calls;
        using Acc = k::softmax_acc_t<T>;
        walk(rows, lanes, [&](int64_t row, bool valid) {
            std::vector<LaneValues<T>> gv(lanes), yv(lanes);
            std::vector<int> count(lanes, 0);
            std::vector<Acc> dot(lanes);
            for (int l = 0; l < lanes; ++l) {
                auto& gl = gv[l].v;
                auto& yl = yv[l].v;
                if (valid) count[l] = k::row_lane_load(g + row * n, n, l, lanes, gl);
                if (valid) k::row_lane_load(y + row * n, n, l, lanes, yl);
                dot[l] = log ? k::softmax_lane_dot<true>(gl, yl, count[l]) : k::softmax_lane_dot<false>(gl, yl, count[l]);
            }
            dot = butterfly(dot, [](Acc a, Acc b) { return a + b; });
            if (!valid) return;
            for (int l = 0; l < lanes; ++l) {
                const auto& gl = gv[l].v;
                const auto& yl = yv[l].v;
                const T d = static_cast<T>(dot[l]);
                if (log) k::softmax_lane_backward_store<true>(gl, yl, count[l], d, dx + row * n, l, lanes);
                else k::softmax_lane_backward_store<false>(gl, yl, count[l], d, dx + row * n, l, lanes);
            }
        });
    }
    template <class T>
    void rows_v1(const T*, T*, int64_t, int64_t, bool) const { ++v1_calls; }
    template <class T>
    void backward_rows_v1(const T*, const T*, T*, int64_t, int64_t, bool) const { ++v1_calls; }
    template <class T>
    void columns(const T*, T*, int64_t, int64_t, int64_t, bool) const { ++column_calls; }
    template <class T>
    void backward_columns(const T*, const T*, T*, int64_t, int64_t, int64_t, bool) const { ++column_calls; }
};

template <class T>
void check_softmax_rows(int64_t rows, int64_t n, bool log, int specials, std::mt19937_64& rng) {
    const std::string name = tname<T>() + (log ? " log_softmax [" : " softmax [") + std::to_string(rows) + ", " +
                             std::to_string(n) + "] specials " + std::to_string(specials);
    std::normal_distribution<double> normal(0.0, 4.0);
    std::vector<T> x(rows * n), g(rows * n);
    for (auto& v : x) v = static_cast<T>(normal(rng));
    for (auto& v : g) v = static_cast<T>(normal(rng) * 0.25);
    if (specials) {
        const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
        const auto set = [&](int64_t r, int64_t c, T v) {
            if (r < rows && c < n) x[r * n + c] = v;
        };
        set(0, n - 1, nan);
        set(1, 0, inf);
        set(2, 0, -inf), set(2, n - 1, -inf);
        for (int64_t c = 0; c < n; ++c) set(3, c, -inf);
        for (int64_t c = 0; c < n; c += 2) set(4, c, T(1000));  // large equal maxima
    }
    std::vector<T> y(rows * n, std::numeric_limits<T>::quiet_NaN()), dx(rows * n, std::numeric_limits<T>::quiet_NaN());
    HostSoftmax exec;
    k::softmax_forward_on<T>(exec, x.data(), y.data(), 1 * rows, n, 1, log);
    expect(exec.v2_calls == 1 && exec.v1_calls == 0, name + ": version 2's rows kernel");
    bool once = true;
    for (int v : exec.row_visits) once = once && v == 1;
    expect(once, name + ": every row served once");
    const long double tol = sizeof(T) == 4 ? 4e-7L : 1e-15L;
    int bad = 0, bad_dx = 0;
    for (int64_t r = 0; r < rows; ++r) {
        const T* p = x.data() + r * n;
        long double m = -INFINITY;
        for (int64_t c = 0; c < n; ++c)
            if (p[c] > m) m = p[c];
        long double s = 0;
        for (int64_t c = 0; c < n; ++c) s += std::exp(static_cast<long double>(p[c]) - m);
        for (int64_t c = 0; c < n; ++c) {
            const long double want = log ? (p[c] - m) - std::log(s) : std::exp(p[c] - m) / s;
            // log_softmax: within T rounding of |x - m| + log s; softmax: relative, and x - m rounded
            // in T (as the CPU does) moves exp(x - m) by |x - m|·eps relatively.
            const long double scale = log ? std::fabs(p[c] - m) + std::fabs(std::log(s))
                                          : want == 0 ? 0 : std::fabs(want) * (1 + std::fabs(p[c] - m) / 4);
            const long double got = y[r * n + c];
            // The sum of n terms in Acc (double) is within n·2^-53 of its value, relatively: log s
            // within that absolutely, the softmax values within that relatively.
            const long double sum_err = n * std::ldexp(1.0L, -53);
            const bool ok = std::isnan(want)   ? std::isnan(got)
                            : std::isinf(want) ? got == want
                                               : std::fabs(got - want) <= 4 * tol * scale + sum_err * (log ? 1 : std::fabs(want)) +
                                                     std::numeric_limits<T>::min();  // underflow to 0 or subnormals
            if (!ok && ++bad <= 2 && std::getenv("SEAM_TEST_VERBOSE"))
                std::printf("  row %lld col %lld x %.9Lg m %.9Lg got %.17Lg want %.17Lg\n", (long long)r, (long long)c,
                            (long double)p[c], m, got, want);
        }
    }
    expect(bad == 0, name + ": y (" + std::to_string(bad) + " values off)");
    // Backward from the computed y (as autograd would), against the formula in long double.
    k::softmax_backward_on<T>(exec, g.data(), y.data(), dx.data(), rows, n, 1, log);
    for (int64_t r = 0; r < rows; ++r) {
        long double dot = 0, mag = 0;
        for (int64_t c = 0; c < n; ++c) {
            dot += log ? static_cast<long double>(g[r * n + c]) : static_cast<long double>(g[r * n + c]) * y[r * n + c];
            mag += std::fabs(log ? static_cast<long double>(g[r * n + c]) : static_cast<long double>(g[r * n + c]) * y[r * n + c]);
        }
        for (int64_t c = 0; c < n; ++c) {
            const long double yc = y[r * n + c], gc = g[r * n + c];
            const long double want = log ? gc - std::exp(yc) * dot : yc * (gc - dot);
            const long double scale = log ? std::fabs(gc) + std::exp(yc) * mag : std::fabs(yc) * (std::fabs(gc) + mag);
            const long double got = dx[r * n + c];
            const bool ok = std::isnan(want)   ? std::isnan(got)
                            : std::isinf(want) ? got == want
                                               : std::fabs(got - want) <= 8 * tol * scale + n * std::ldexp(1.0L, -53) * scale +
                                                     std::numeric_limits<T>::min();
            if (!ok) ++bad_dx;
        }
    }
    expect(bad_dx == 0, name + ": dx (" + std::to_string(bad_dx) + " values off)");
}

void check_softmax_routing() {
    std::vector<float> x(4 * 1025, 0.f), y(4 * 1025);
    HostSoftmax v2;
    k::softmax_forward_on<float>(v2, x.data(), y.data(), 4, 1025, 1, false);
    expect(v2.v1_calls == 1 && v2.v2_calls == 0, "softmax: 1025 values a row run version 1");
    k::softmax_forward_on<float>(v2, x.data(), y.data(), 4, 5, 3, true);
    expect(v2.column_calls == 1, "softmax: inner > 1 runs the column kernel");
    k::softmax_backward_on<float>(v2, x.data(), x.data(), y.data(), 4, 1025, 1, true);
    expect(v2.v1_calls == 2, "softmax backward: 1025 values a row run version 1");
    HostSoftmax v1;
    v1.version = 1;
    k::softmax_forward_on<float>(v1, x.data(), y.data(), 4, 1024, 1, false);
    k::softmax_backward_on<float>(v1, x.data(), x.data(), y.data(), 4, 1024, 1, false);
    expect(v1.v1_calls == 2 && v1.v2_calls == 0, "softmax: SEAM_SOFTMAX_VERSION=1 runs version 1");
    expect(k::softmax_rows_v2_fits(1) && k::softmax_rows_v2_fits(1024) && !k::softmax_rows_v2_fits(1025) &&
               !k::softmax_rows_v2_fits(0),
           "softmax: version 2 takes rows of 1 .. 1024 values");
}

}  // namespace

int main() {
    std::mt19937_64 rng(20261128);
    check_plans();
    check_spatial_routing();
    for (int64_t C : {1, 2, 3, 10, 31, 32, 33, 50, 1000}) {
        for (int reduction : {0, 1, 2}) {
            check_case<float>({7, C, false, 0, reduction, 0.0, 0}, rng);
            check_case<float>({300, C, true, 3, reduction, 0.1, 0}, rng);
            check_case<double>({300, C, true, 0, reduction, 0.0, 0}, rng);
        }
        check_case<float>({12, C, true, 0, 0, 0.2, 1}, rng);
        check_case<double>({12, C, false, 4, 0, 0.0, 2}, rng);
    }
    // Enough rows for two reduction levels (chunks of 2048 positions), 10 classes (2 rows a warp).
    check_case<float>({5000, 10, true, 7, 1, 0.0, 0}, rng);
    check_case<double>({5000, 10, false, 0, 2, 0.05, 0}, rng);
    check_case<float>({4099, 50, true, 0, 1, 0.1, 2}, rng);
    // Version 1 through the same launcher: the per-position kernels and one reduction block.
    check_case<float>({5000, 10, true, 7, 1, 0.0, 0}, rng, 1);
    // Softmax version 2.
    check_softmax_routing();
    for (int64_t n : {1, 2, 3, 10, 31, 32, 33, 100, 1000, 1024})
        for (bool log : {false, true}) {
            check_softmax_rows<float>(7, n, log, 0, rng);
            check_softmax_rows<float>(300, n, log, 1, rng);
            check_softmax_rows<double>(300, n, log, 0, rng);
        }
    check_softmax_rows<float>(2000, 10, true, 0, rng);  // 16 lanes, 2 rows a warp, several grid rows
    check_softmax_rows<double>(40, 1024, false, 1, rng);
    std::printf("%s: %lld checks, %d failed\n", failures ? "FAILED" : "passed", static_cast<long long>(checks),
                failures);
    return failures ? 1 : 0;
}
