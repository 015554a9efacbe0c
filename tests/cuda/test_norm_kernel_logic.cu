// tests/cuda/test_norm_kernel_logic.cu — version 2 of batch_norm, layer_norm and dropout
// (kernels/seam/norm.cuh), emulated on the CPU over every block and thread of their launches (no
// GPU needed: this program runs wherever it compiles; exit 0 pass, 1 fail).
//
// layer_norm: both kernels emulated over the row-group walk (tests/cuda/row_group_emulation.hpp),
// the butterflies replayed lane by lane, against long-double formulas (rows of 1 .. 1024 values,
// with and without weight and bias, float and double); dropout: every 4-element group through the
// kernels' own group functions, aligned (vector path) and one element off (scalar path), against
// the mask drawn word by word from Philox, bit for bit, and guards past the end untouched.
//
// batch_norm: the launchers batch_norm_forward_v2_on / batch_norm_backward_v2_on are templates over an
// executor: on the GPU DeviceBatchNorm launches the kernels; here HostBatchNorm runs, for every
// block b = (channel, chunk) of the same plan and every one of its 256 threads, the kernels' own
// per-thread code (batch_norm_thread_sums_*, batch_norm_lane_partials,
// batch_norm_*_coefficients, batch_norm_thread_apply_*), and replays the two trees the kernels
// build with shuffles in their order: each warp's __shfl_down_sync tree (offsets 16 .. 1, lane l
// adding lane l + offset's value, a lane whose partner lies past lane 31 adding its own value as
// the hardware returns it) and thread 0's in-order sum of the 8 warps. So the launcher's plan,
// its alignment test, its workspace split and the per-channel writes of the chunk-0 blocks all
// run. Vector loads and stores check their alignment on the host (load_vec / store_vec), so a
// misaligned pointer that reached the vector path fails here as it would fault on the GPU.
// Outputs start as NaN, so an element no thread writes fails.
//
// Checked against independent computations written here (long-double two-pass statistics, the
// batch-norm formulas element by element):
//   * plan_batch_norm: chunks cover every plane exactly once, at most 1024 chunks, the 2^30
//     limit and version 1's fallback, the workspace bytes by hand;
//   * forward in training: save_mean, save_invstd, running_mean / running_var (unbiased), y with
//     and without the fused ReLU, without affine parameters; evaluation from the running buffers;
//   * backward: dx, dweight, dbias in training and evaluation, with the ReLU mask, with only
//     some of them wanted;
//   * shapes with inner = 1, odd inner, inner a multiple of 4, more than 32 chunks a channel
//     (a lane sums several partials) with a short last chunk; float and double;
//   * the vector path and the scalar path (the same tensors one element off 16-byte alignment)
//     give the same bits; the statistics of a channel whose first value (the shift K) is an
//     outlier far from the rest stay accurate.
//
// Built by CMake as seam_cuda_test_norm_kernel_logic. By hand:
//   nvcc -std=c++20 -O1 -Iinclude -Ikernels tests/cuda/test_norm_kernel_logic.cu -o bn_logic && ./bn_logic
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "seam/norm.cuh"

#include "kernel_logic_check.hpp"
#include "row_group_emulation.hpp"

namespace {

namespace k = seam::kernels;

using seam::kernel_logic::Buffer;
using seam::kernel_logic::checks;
using seam::kernel_logic::expect;
using seam::kernel_logic::failures;
using seam::kernel_logic::same_bits;

// ----- the host executor ---------------------------------------------------------------------------------

/// A warp's __shfl_down_sync tree as the hardware runs it: at each offset every lane reads its
/// partner's value from before the step (its own when the partner is past lane 31).
k::SumPair shuffle_tree(std::vector<k::SumPair> lanes) {
    for (int offset = k::kWarpSize / 2; offset > 0; offset /= 2) {
        std::vector<k::SumPair> next(lanes);
        for (int l = 0; l < k::kWarpSize; ++l) {
            const k::SumPair& other = l + offset < k::kWarpSize ? lanes[l + offset] : lanes[l];
            next[l].a = lanes[l].a + other.a;
            next[l].b = lanes[l].b + other.b;
        }
        lanes = next;
    }
    return lanes[0];
}

/// norm_detail::block_sum_pair: each warp's tree, then warps 0 .. 7 in order.
k::SumPair block_tree(const std::vector<k::SumPair>& threads) {
    k::SumPair total;
    for (int w = 0; w < k::kThreads / k::kWarpSize; ++w) {
        const k::SumPair s = shuffle_tree(std::vector<k::SumPair>(threads.begin() + w * k::kWarpSize,
                                                                  threads.begin() + (w + 1) * k::kWarpSize));
        total.a += s.a;
        total.b += s.b;
    }
    return total;
}

k::SumPair channel_tree(const double* pa, const double* pb, const k::BatchNormPlan& p, int64_t c) {
    std::vector<k::SumPair> lanes(k::kWarpSize);
    for (int l = 0; l < k::kWarpSize; ++l) lanes[l] = k::batch_norm_lane_partials(pa, pb, p, c, l);
    return shuffle_tree(lanes);
}

/// Runs version 2's kernels on the CPU: every block of the launch (blocks in increasing order;
/// the kernels' blocks touch disjoint outputs), every thread of a block.
struct HostBatchNorm {
    mutable int sums_launches = 0, apply_launches = 0;
    mutable bool last_vec = false;
    bool forward_ascending = false;  // the forward apply pass's block order (the GPU runs them in any)

    template <class T>
    void sums_forward(const T* x, const k::BatchNormArgs& a, const k::BatchNormPlan& p, bool vec, double* pa,
                      double* pb, double* shift_k) const {
        ++sums_launches, last_vec = vec;
        for (int64_t b = 0; b < a.C * p.chunks; ++b) {
            const k::BatchNormChunk ch = k::batch_norm_chunk(a, p, b);
            const double K = static_cast<double>(x[ch.c * a.inner]);
            std::vector<k::SumPair> t(k::kThreads);
            for (int i = 0; i < k::kThreads; ++i)
                t[i] = k::batch_norm_thread_sums_forward(x, a, p, ch, K, i, k::kThreads, vec);
            const k::SumPair total = block_tree(t);
            pa[b] = total.a, pb[b] = total.b;
            if (ch.chunk == 0) shift_k[ch.c] = K;
        }
    }
    template <class T>
    void apply_forward(const T* x, T* y, k::ChannelVector<const T> weight, k::ChannelVector<const T> bias,
                       k::ChannelVector<T> running_mean, k::ChannelVector<T> running_var, double* save_mean,
                       double* save_invstd, const k::BatchNormArgs& a, const k::BatchNormPlan& p, bool vec,
                       const double* pa, const double* pb, const double* shift_k) const {
        ++apply_launches, last_vec = vec;
        // Blocks in reverse order by default: on the GPU chunk 0's block may update a channel's
        // running buffers (and, in place, its first values) before or after the channel's other
        // blocks compute their coefficients, so in training those must read neither (they read the
        // published shift K), and in evaluation nothing writes the buffers. forward_ascending runs
        // chunk 0 first instead.
        // Block slots in launch order, each mapped to its chunk by the kernel's batch_norm_apply_item
        // (the sums pass's chunks in reverse); forward_ascending walks the slots backwards.
        const int64_t blocks = a.C * p.chunks;
        std::vector<int> seen(static_cast<size_t>(blocks), 0);
        for (int64_t i = 0; i < blocks; ++i) {
            const int64_t b = k::batch_norm_apply_item(a, p, forward_ascending ? blocks - 1 - i : i);
            if (!expect_item(b, blocks, seen)) continue;  // reported; the emulation must not write out of bounds
            const k::BatchNormChunk ch = k::batch_norm_chunk(a, p, b);
            k::SumPair sums;
            if (a.training) sums = channel_tree(pa, pb, p, ch.c);
            const k::BatchNormForwardCoefficients f = k::batch_norm_forward_coefficients(
                a, sums, a.training ? shift_k[ch.c] : 0.0, weight.get(ch.c, 1.0),
                bias.get(ch.c, 0.0), a.training ? 0.0 : running_mean.get(ch.c, 0.0),
                a.training ? 1.0 : running_var.get(ch.c, 1.0));
            if (ch.chunk == 0) {
                save_mean[ch.c] = f.mean;
                save_invstd[ch.c] = f.invstd;
                if (a.training && running_mean.data) {
                    T* rm = running_mean.data + ch.c * running_mean.stride;
                    T* rv = running_var.data + ch.c * running_var.stride;
                    *rm = static_cast<T>((1.0 - a.momentum) * static_cast<double>(*rm) + a.momentum * f.mean);
                    *rv = static_cast<T>((1.0 - a.momentum) * static_cast<double>(*rv) + a.momentum * f.unbiased_var);
                }
            }
            for (int i = 0; i < k::kThreads; ++i)
                k::batch_norm_thread_apply_forward(x, y, a, p, ch, static_cast<T>(f.scale), static_cast<T>(f.shift), i,
                                                   k::kThreads, vec);
        }
        expect_every_item_once(seen, "batch_norm v2 forward apply pass");
    }
    template <class T>
    void sums_backward(const T* g, const T* x, const T* y_relu, const double* save_mean, const k::BatchNormArgs& a,
                       const k::BatchNormPlan& p, bool vec, double* pa, double* pb) const {
        ++sums_launches, last_vec = vec;
        for (int64_t b = 0; b < a.C * p.chunks; ++b) {
            const k::BatchNormChunk ch = k::batch_norm_chunk(a, p, b);
            std::vector<k::SumPair> t(k::kThreads);
            for (int i = 0; i < k::kThreads; ++i)
                t[i] = k::batch_norm_thread_sums_backward(g, x, y_relu, a, p, ch, save_mean[ch.c], i, k::kThreads, vec);
            const k::SumPair total = block_tree(t);
            pa[b] = total.a, pb[b] = total.b;
        }
    }
    template <class T>
    void apply_backward(const T* g, const T* x, const T* y_relu, k::ChannelVector<const T> weight,
                        const double* save_mean, const double* save_invstd, const k::BatchNormArgs& a,
                        const k::BatchNormPlan& p, bool vec, bool need_sums, const double* pa, const double* pb, T* dx,
                        T* dweight, T* dbias) const {
        ++apply_launches, last_vec = vec;
        const int64_t blocks = a.C * p.chunks;
        std::vector<int> seen(static_cast<size_t>(blocks), 0);
        for (int64_t slot = 0; slot < blocks; ++slot) {
            const int64_t b = k::batch_norm_apply_item(a, p, slot);
            if (!expect_item(b, blocks, seen)) continue;  // reported; the emulation must not write out of bounds
            const k::BatchNormChunk ch = k::batch_norm_chunk(a, p, b);
            if (!dx && ch.chunk != 0) continue;
            k::SumPair sums;
            if (need_sums) sums = channel_tree(pa, pb, p, ch.c);
            const double is = save_invstd[ch.c];
            if (ch.chunk == 0) {
                if (dbias) dbias[ch.c] = static_cast<T>(sums.a);
                if (dweight) dweight[ch.c] = static_cast<T>(sums.b * is);
            }
            const k::BatchNormBackwardCoefficients c = k::batch_norm_backward_coefficients(a, sums, weight.get(ch.c, 1.0), is);
            if (dx)
                for (int i = 0; i < k::kThreads; ++i)
                    k::batch_norm_thread_apply_backward(g, x, y_relu, dx, a, p, ch, static_cast<T>(c.A),
                                                        static_cast<T>(c.mean_g), static_cast<T>(c.B),
                                                        static_cast<T>(save_mean[ch.c]), i, k::kThreads, vec);
        }
        expect_every_item_once(seen, "batch_norm v2 backward apply pass");
    }

    /// The apply passes' slot-to-chunk map must stay in range and be a permutation.
    static bool expect_item(int64_t b, int64_t blocks, std::vector<int>& seen) {
        const bool in_range = b >= 0 && b < blocks;
        expect(in_range, "batch_norm v2 apply pass: chunk " + std::to_string(b) + " of " + std::to_string(blocks));
        if (in_range) ++seen[static_cast<size_t>(b)];
        return in_range;
    }
    static void expect_every_item_once(const std::vector<int>& seen, const std::string& what) {
        bool once = true;
        for (int v : seen) once = once && v == 1;
        expect(once, what + ": every chunk exactly once");
    }
};

// ----- references ----------------------------------------------------------------------------------------

struct Shape3 {
    int64_t N, C, inner;
    int64_t size() const { return N * C * inner; }
    int64_t at(int64_t n, int64_t c, int64_t i) const { return (n * C + c) * inner + i; }
};

/// Two-pass long-double statistics of channel c.
template <class T>
void reference_stats(const std::vector<T>& x, const Shape3& s, int64_t c, long double& mean, long double& var) {
    const long double M = static_cast<long double>(s.N * s.inner);
    long double sum = 0;
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t i = 0; i < s.inner; ++i) sum += x[s.at(n, c, i)];
    mean = sum / M;
    long double q = 0;
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t i = 0; i < s.inner; ++i) q += (x[s.at(n, c, i)] - mean) * (x[s.at(n, c, i)] - mean);
    var = q / M;
}

template <class T>
double type_eps() {
    return std::numeric_limits<T>::epsilon();
}

bool close(double got, long double want, double tol) {
    return std::isfinite(got) && std::fabs(static_cast<long double>(got) - want) <= tol * (1 + std::fabs(want));
}

// ----- checks -----------------------------------------------------------------------------------------------

void check_plan() {
    std::mt19937_64 rng(7);
    std::vector<k::BatchNormArgs> shapes;
    for (int64_t N : {1, 2, 3, 31, 150, 1024, 1025, 3000, 100000, 5000000})
        for (int64_t inner : {1, 3, 49, 4096, 16383, 16384, 16385, 50176, 1 << 20}) {
            k::BatchNormArgs a;
            a.N = N, a.C = 3, a.inner = inner;
            shapes.push_back(a);
        }
    for (const k::BatchNormArgs& a : shapes) {
        const std::string name = "plan N=" + std::to_string(a.N) + " inner=" + std::to_string(a.inner);
        const k::BatchNormPlan p = k::plan_batch_norm(a);
        const bool fits = p.planes_per_chunk * a.inner < int64_t(1) << 30;
        expect(k::batch_norm_v2_fits(a) == fits, name + ": fits iff a chunk is below 2^30 elements");
        if (!fits) continue;  // version 1's (N = 5e6 planes of 2^20: a chunk of 4883 planes)
        expect(p.planes_per_chunk >= 1 && p.chunks >= 1 && p.chunks <= k::kBatchNormMaxChunks, name + ": bounds");
        expect(p.chunks * p.planes_per_chunk >= a.N && (p.chunks - 1) * p.planes_per_chunk < a.N,
               name + ": the chunks cover N planes, none empty");
        expect(p.chunk_elems == p.planes_per_chunk * a.inner, name + ": chunk elements");
        expect(p.planes_per_chunk == a.N || (p.planes_per_chunk + 1) * a.inner > k::kBatchNormChunkTarget,
               name + ": a chunk holds all N planes or as many as the target size allows (or more)");
        expect(p.planes_per_chunk == 1 || p.planes_per_chunk * a.inner <= k::kBatchNormChunkTarget ||
                   p.chunks == k::kBatchNormMaxChunks || p.chunks == k::kBatchNormMaxChunks - 1 ||
                   (p.planes_per_chunk - 1) * k::kBatchNormMaxChunks < a.N,
               name + ": a chunk beyond the target size only to keep the chunks at most 1024");
        int64_t planes = 0;
        for (int64_t chunk = 0; chunk < p.chunks; ++chunk) {
            const k::BatchNormChunk ch = k::batch_norm_chunk(a, p, 2 * p.chunks + chunk);  // channel 2
            expect(ch.c == 2 && ch.chunk == chunk && ch.n0 == planes, name + ": chunk " + std::to_string(chunk));
            planes += ch.elems / a.inner;
        }
        expect(planes == a.N, name + ": planes of a channel");
        expect(k::batch_norm_workspace_bytes(a, 2) == size_t((2 * 3 * p.chunks + 3) * 8), name + ": workspace");
        expect(k::batch_norm_workspace_bytes(a, 1) == 0, name + ": version 1 needs no workspace");
    }
    // A chunk of 2^30 elements or more is version 1's (indices inside a chunk are 32-bit).
    k::BatchNormArgs huge;
    huge.N = 2, huge.C = 1, huge.inner = int64_t(1) << 30;
    expect(!k::batch_norm_v2_fits(huge), "inner = 2^30 does not fit version 2");
    unsetenv("SEAM_BATCH_NORM_VERSION");
    expect(k::batch_norm_version(huge) == 1, "inner = 2^30 runs version 1");
    k::BatchNormArgs small;
    small.N = 4, small.C = 3, small.inner = 10;
    expect(k::batch_norm_version(small) == 2, "version 2 by default");
    setenv("SEAM_BATCH_NORM_VERSION", "1", 1);
    expect(k::batch_norm_version(small) == 1, "SEAM_BATCH_NORM_VERSION=1");
    setenv("SEAM_BATCH_NORM_VERSION", "3", 1);
    bool refused = false;
    try {
        (void)k::batch_norm_version(small);
    } catch (const seam::Error& e) {
        refused = std::string(e.what()).find("SEAM_BATCH_NORM_VERSION=3") != std::string::npos;
    }
    expect(refused, "SEAM_BATCH_NORM_VERSION=3 is refused, naming the variable");
    unsetenv("SEAM_BATCH_NORM_VERSION");
    // The chunk offsets by hand: N=5, C=3, inner=7 with 2 planes a chunk would put j = 9 of channel 1,
    // chunk 1 (planes 2, 3) at plane 3, i = 2.
    k::BatchNormArgs a;
    a.N = 5, a.C = 3, a.inner = 7;
    k::BatchNormPlan p;
    p.planes_per_chunk = 2, p.chunks = 3, p.chunk_elems = 14, p.inner = k::FastDivisor(7);
    const k::BatchNormChunk ch = k::batch_norm_chunk(a, p, 1 * 3 + 1);
    expect(ch.c == 1 && ch.chunk == 1 && ch.n0 == 2 && ch.elems == 14, "chunk (1, 1) by hand");
    expect(k::batch_norm_offset(a, p, ch, 9) == (3 * 3 + 1) * 7 + 2, "offset by hand");
    const k::BatchNormChunk last = k::batch_norm_chunk(a, p, 1 * 3 + 2);
    expect(last.n0 == 4 && last.elems == 7, "the short last chunk by hand");
    (void)rng;
}

struct Case {
    const char* name;
    Shape3 s;
    bool affine, running, training, relu;
    double centre;  // added to every value (a large one tests the shifted sums)
    bool outlier;   // x[0, c, 0] (the shift K) far from the rest of its channel
};

template <class T>
std::string tname() {
    return sizeof(T) == 4 ? "float" : "double";
}

template <class T>
void check_case(const Case& cs, std::mt19937_64& rng) {
    const Shape3 s = cs.s;
    const std::string name = std::string(cs.name) + " " + tname<T>();
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<T> x(s.size()), g(s.size()), w(s.C), bvec(s.C), rm0(s.C), rv0(s.C);
    for (int64_t e = 0; e < s.size(); ++e) x[e] = static_cast<T>(cs.centre + normal(rng) * (1 + (e / s.inner) % s.C));
    if (cs.outlier)
        for (int64_t c = 0; c < s.C; ++c) x[s.at(0, c, 0)] = static_cast<T>(cs.centre + 1e4);
    for (auto& v : g) v = static_cast<T>(normal(rng));
    for (int64_t c = 0; c < s.C; ++c) {
        w[c] = static_cast<T>(0.5 + 0.1 * c), bvec[c] = static_cast<T>(0.3 - 0.05 * c);
        rm0[c] = static_cast<T>(0.1 * c), rv0[c] = static_cast<T>(1.0 + 0.2 * c);
    }
    k::BatchNormArgs a;
    a.N = s.N, a.C = s.C, a.inner = s.inner;
    a.training = cs.training, a.relu = cs.relu, a.momentum = 0.1, a.eps = 1e-5;
    const k::BatchNormPlan plan = k::plan_batch_norm(a);
    const size_t ws_doubles = k::batch_norm_workspace_bytes(a, 2) / sizeof(double);

    // Runs forward + backward with every tensor `offset` elements off 64-byte alignment; returns
    // the outputs in one vector (y, dx, saved stats, running buffers, dweight, dbias), in T or double.
    struct Out {
        std::vector<double> y, dx, mean, invstd, rm, rv, dw, db;
        bool vec_forward = false, vec_backward = false;
    };
    auto run = [&](size_t offset) {
        const size_t n = static_cast<size_t>(s.size());
        Buffer<T> bx(n, offset), by(n, offset), bg(n, offset), bdx(n, offset);
        Buffer<T> bw(s.C, 0), bb(s.C, 0), brm(s.C, 0), brv(s.C, 0), bdw(s.C, 0), bdb(s.C, 0);
        Buffer<double> mean(s.C, 0), invstd(s.C, 0), ws(ws_doubles + 1, 0);
        bx.copy_from(x), bg.copy_from(g), bw.copy_from(w), bb.copy_from(bvec), brm.copy_from(rm0), brv.copy_from(rv0);
        const std::vector<T> x_before(bx.data(), bx.data() + n);
        HostBatchNorm exec;
        k::ChannelVector<const T> cw{cs.affine ? bw.data() : nullptr, 1}, cb{cs.affine ? bb.data() : nullptr, 1};
        k::ChannelVector<T> crm{cs.running ? brm.data() : nullptr, 1}, crv{cs.running ? brv.data() : nullptr, 1};
        k::batch_norm_forward_v2_on<T>(exec, bx.data(), by.data(), cw, cb, crm, crv, mean.data(), invstd.data(), a,
                                       ws.data());
        Out o;
        o.vec_forward = exec.last_vec;
        expect(exec.sums_launches == (cs.training ? 1 : 0) && exec.apply_launches == 1, name + ": forward launches");
        k::batch_norm_backward_v2_on<T>(exec, bg.data(), bx.data(), cs.relu ? by.data() : nullptr, cw, mean.data(),
                                        invstd.data(), a, bdx.data(), cs.affine ? bdw.data() : nullptr,
                                        cs.affine ? bdb.data() : nullptr, ws.data());
        o.vec_backward = exec.last_vec;
        expect(std::memcmp(x_before.data(), bx.data(), n * sizeof(T)) == 0, name + ": x unchanged");
        for (size_t e = 0; e < n; ++e) o.y.push_back(by[e]), o.dx.push_back(bdx[e]);
        for (int64_t c = 0; c < s.C; ++c) {
            o.mean.push_back(mean[c]), o.invstd.push_back(invstd[c]);
            o.rm.push_back(brm[c]), o.rv.push_back(brv[c]);
            if (cs.affine) o.dw.push_back(bdw[c]), o.db.push_back(bdb[c]);
        }
        return o;
    };
    const Out aligned = run(0);
    const Out misaligned = run(1);
    expect(aligned.vec_forward == (s.inner % k::kVecOf<T> == 0), name + ": the vector path iff inner % G == 0");
    expect(!misaligned.vec_forward && !misaligned.vec_backward, name + ": misaligned tensors take the scalar path");
    bool same = aligned.y.size() == misaligned.y.size();
    for (size_t e = 0; same && e < aligned.y.size(); ++e)
        same = same_bits(aligned.y[e], misaligned.y[e]) && same_bits(aligned.dx[e], misaligned.dx[e]);
    for (int64_t c = 0; same && c < s.C; ++c)
        same = same_bits(aligned.mean[c], misaligned.mean[c]) && same_bits(aligned.invstd[c], misaligned.invstd[c]);
    expect(same, name + ": the vector and the scalar path give the same bits");

    // The reference, channel by channel, in long double.
    const Out& o = aligned;
    const double teps = type_eps<T>();
    int bad_y = 0, bad_dx = 0;
    for (int64_t c = 0; c < s.C; ++c) {
        long double m, var;
        if (cs.training) {
            reference_stats(x, s, c, m, var);
        } else {
            m = cs.running ? rm0[c] : 0;
            var = cs.running ? rv0[c] : 1;
        }
        const long double ref_is = 1 / std::sqrt(var + 1e-5L);
        const std::string ch = name + " channel " + std::to_string(c);
        // Statistics in double, from at most ~1.2 million values: relative errors far below 1e-12
        // (the shifted sums of the outlier case lose ~log2(M) bits of 53).
        constexpr double kStatsTol = 1e-12;
        expect(close(o.mean[c], m, kStatsTol * (1 + std::sqrt(var) / (1 + std::fabs(m)))), ch + ": save_mean");
        expect(close(o.invstd[c], ref_is, kStatsTol), ch + ": save_invstd");
        if (cs.running) {
            const long double M = static_cast<long double>(s.N * s.inner);
            const long double want_rm = cs.training ? 0.9L * rm0[c] + 0.1L * m : rm0[c];
            const long double want_rv = cs.training ? 0.9L * rv0[c] + 0.1L * var * M / (M - 1) : rv0[c];
            expect(close(o.rm[c], want_rm, 2 * teps + kStatsTol * (1 + std::sqrt(var))), ch + ": running_mean");
            expect(close(o.rv[c], want_rv, 2 * teps + kStatsTol), ch + ": running_var");
        }
        // The outputs from the kernel's own statistics (checked just above), so their tolerance is
        // the T arithmetic of the apply pass alone.
        m = o.mean[c];
        const long double is = o.invstd[c];
        const long double wc = cs.affine ? w[c] : 1, bc = cs.affine ? bvec[c] : 0;
        long double sum_g = 0, sum_gx = 0, sum_abs_g = 0, sum_abs_gx = 0;
        std::vector<long double> gp(s.N * s.inner);
        for (int64_t n = 0; n < s.N; ++n)
            for (int64_t i = 0; i < s.inner; ++i) {
                const int64_t e = s.at(n, c, i);
                long double y = (x[e] - m) * is * wc + bc;
                if (cs.relu) y = y > 0 ? y : 0;
                // y is computed in T as x·T(scale) + T(shift): within a few T-ulps of |x·scale| + |shift|.
                const long double scale_mag = std::fabs(x[e] * is * wc) + std::fabs(bc - m * is * wc);
                if (!(std::fabs(o.y[e] - y) <= 4 * teps * (scale_mag + 1e-30L))) ++bad_y;
                // The relu mask is the computed y's, as the kernels use it.
                const long double gv = cs.relu ? (o.y[e] > 0 ? g[e] : 0) : g[e];
                gp[n * s.inner + i] = gv;
                sum_g += gv;
                sum_gx += gv * (x[e] - m);
                sum_abs_g += std::fabs(gv);
                sum_abs_gx += std::fabs(gv * (x[e] - m));
            }
        const long double M = static_cast<long double>(s.N * s.inner);
        if (cs.affine) {  // double sums (n·2^-53·Σ|terms| at worst), then one rounding to T
            const long double u = std::ldexp(1.0L, -53) * M;
            expect(std::fabs(o.db[c] - sum_g) <= teps * std::fabs(sum_g) + u * sum_abs_g, ch + ": dbias");
            expect(std::fabs(o.dw[c] - sum_gx * is) <= teps * std::fabs(sum_gx * is) + u * sum_abs_gx * is,
                   ch + ": dweight");
        }
        const long double sums_u = std::ldexp(1.0L, -53) * M;
        const long double A = wc * is, mean_g = cs.training ? sum_g / M : 0,
                          B = cs.training ? wc * is * is * is * sum_gx / M : 0;
        for (int64_t n = 0; n < s.N; ++n)
            for (int64_t i = 0; i < s.inner; ++i) {
                const int64_t e = s.at(n, c, i);
                const long double want = A * (gp[n * s.inner + i] - mean_g) - B * (x[e] - m);
                const long double mag = std::fabs(A) * (std::fabs(gp[n * s.inner + i]) + std::fabs(mean_g)) +
                                        std::fabs(B) * (std::fabs(x[e]) + std::fabs(m));
                // mean_g and B come from double sums: their error bounds (as dbias's and dweight's) too.
                const long double sums_err = std::fabs(A) * sums_u * sum_abs_g / M +
                                             std::fabs(wc * is * is * is) * sums_u * sum_abs_gx / M *
                                                 std::fabs(x[e] - m);
                if (!(std::fabs(o.dx[e] - want) <= 8 * teps * (mag + 1e-30L) + (cs.training ? sums_err : 0))) ++bad_dx;
            }
    }
    expect(bad_y == 0, name + ": y (" + std::to_string(bad_y) + " elements off)");
    expect(bad_dx == 0, name + ": dx (" + std::to_string(bad_dx) + " elements off)");
    (void)plan;
}

/// Only some of dx, dweight, dbias wanted: the others are not written, the wanted ones equal the
/// full run's bit for bit.
template <class T>
void check_partial_backward(std::mt19937_64& rng) {
    const Shape3 s{150, 2, 256};  // 16384 / 256 = 64 planes a chunk: 3 chunks, the last short
    k::BatchNormArgs a;
    a.N = s.N, a.C = s.C, a.inner = s.inner;
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<T> x(s.size()), g(s.size());
    for (auto& v : x) v = static_cast<T>(normal(rng));
    for (auto& v : g) v = static_cast<T>(normal(rng));
    const size_t n = x.size();
    Buffer<T> bx(n, 0), bg(n, 0), by(n, 0), w(s.C, 0);
    bx.copy_from(x), bg.copy_from(g);
    w.fill(T(1.5));
    Buffer<double> mean(s.C, 0), invstd(s.C, 0), ws(k::batch_norm_workspace_bytes(a, 2) / 8, 0);
    HostBatchNorm exec;
    k::batch_norm_forward_v2_on<T>(exec, bx.data(), by.data(), {w.data(), 1}, {nullptr, 1}, {nullptr, 1},
                                   {nullptr, 1}, mean.data(), invstd.data(), a, ws.data());
    Buffer<T> dx_all(n, 0), dw_all(s.C, 0), db_all(s.C, 0);
    k::batch_norm_backward_v2_on<T>(exec, bg.data(), bx.data(), nullptr, {w.data(), 1}, mean.data(), invstd.data(), a,
                                    dx_all.data(), dw_all.data(), db_all.data(), ws.data());
    Buffer<T> dw_only(s.C, 0), dx_only(n, 0);
    k::batch_norm_backward_v2_on<T>(exec, bg.data(), bx.data(), nullptr, {w.data(), 1}, mean.data(), invstd.data(), a,
                                    nullptr, dw_only.data(), nullptr, ws.data());
    k::batch_norm_backward_v2_on<T>(exec, bg.data(), bx.data(), nullptr, {w.data(), 1}, mean.data(), invstd.data(), a,
                                    dx_only.data(), nullptr, nullptr, ws.data());
    bool ok = true;
    for (int64_t c = 0; c < s.C; ++c) ok = ok && same_bits(dw_only[c], dw_all[c]);
    expect(ok, "dweight alone equals the full backward's " + tname<T>());
    ok = true;
    for (size_t e = 0; e < n; ++e) ok = ok && same_bits(dx_only[e], dx_all[e]);
    expect(ok, "dx alone equals the full backward's " + tname<T>());
    // Evaluation with nothing but dx: no sums pass, no workspace needed.
    a.training = false;
    HostBatchNorm eval;
    Buffer<T> dx_eval(n, 0);
    k::batch_norm_backward_v2_on<T>(eval, bg.data(), bx.data(), nullptr, {w.data(), 1}, mean.data(), invstd.data(), a,
                                    dx_eval.data(), nullptr, nullptr, nullptr);
    expect(eval.sums_launches == 0 && eval.apply_launches == 1, "evaluation dx alone: no sums pass");
    ok = true;
    for (size_t e = 0; e < n; ++e) {
        const int64_t c = (static_cast<int64_t>(e) / s.inner) % s.C;
        ok = ok && same_bits(dx_eval[e], static_cast<T>(static_cast<T>(1.5 * invstd[c]) * g[e]));
    }
    expect(ok, "evaluation dx = T(w·invstd)·g " + tname<T>());
    // Training without a workspace is refused with the size it needs.
    a.training = true;
    bool refused = false;
    try {
        k::batch_norm_forward_v2_on<T>(exec, bx.data(), by.data(), {w.data(), 1}, {nullptr, 1}, {nullptr, 1},
                                       {nullptr, 1}, mean.data(), invstd.data(), a, nullptr);
    } catch (const seam::Error& e) {
        refused = std::string(e.what()).find("a workspace of " + std::to_string(k::batch_norm_workspace_bytes(a, 2))) !=
                  std::string::npos;
    }
    expect(refused, "training without a workspace is refused, naming the bytes " + tname<T>());

    // In place (y == x) in training, chunk 0's blocks first or last: the same bits as out of place
    // (the apply pass takes each channel's shift K from the workspace, not from x[0, c, 0]).
    for (bool ascending : {false, true}) {
        HostBatchNorm order;
        order.forward_ascending = ascending;
        Buffer<T> y_out(n, 0), y_in(n, 0);
        Buffer<double> m_out(s.C, 0), is_out(s.C, 0), m_in(s.C, 0), is_in(s.C, 0);
        y_in.copy_from(x);
        k::batch_norm_forward_v2_on<T>(order, bx.data(), y_out.data(), {w.data(), 1}, {nullptr, 1}, {nullptr, 1},
                                       {nullptr, 1}, m_out.data(), is_out.data(), a, ws.data());
        k::batch_norm_forward_v2_on<T>(order, y_in.data(), y_in.data(), {w.data(), 1}, {nullptr, 1}, {nullptr, 1},
                                       {nullptr, 1}, m_in.data(), is_in.data(), a, ws.data());
        ok = true;
        for (size_t e = 0; e < n; ++e) ok = ok && same_bits(y_in[e], y_out[e]);
        for (int64_t c = 0; c < s.C; ++c) ok = ok && same_bits(m_in[c], m_out[c]) && same_bits(is_in[c], is_out[c]);
        expect(ok, std::string("in place (y == x), chunk 0 ") + (ascending ? "first" : "last") +
                       ": the out-of-place bits " + tname<T>());
    }

    // No values (N = 0) in evaluation with dweight and dbias wanted: no sums pass, no workspace,
    // dweight = dbias = 0 (as version 1).
    k::BatchNormArgs empty = a;
    empty.N = 0, empty.training = false;
    HostBatchNorm none;
    Buffer<T> dw0(s.C, 0), db0(s.C, 0);
    dw0.fill(T(7)), db0.fill(T(7));
    bool threw = false;
    try {
        k::batch_norm_backward_v2_on<T>(none, bg.data(), bx.data(), nullptr, {w.data(), 1}, mean.data(), invstd.data(),
                                        empty, nullptr, dw0.data(), db0.data(), nullptr);
    } catch (const seam::Error&) {
        threw = true;
    }
    ok = !threw && none.sums_launches == 0;
    for (int64_t c = 0; c < s.C; ++c) ok = ok && dw0[c] == T(0) && db0[c] == T(0);
    expect(ok, "N = 0, evaluation, dweight and dbias wanted: zeros, no sums pass, no workspace " + tname<T>());
    // N = 0 in training: the forward refuses it by name (no statistics to take), before any launch.
    empty.training = true;
    HostBatchNorm refused_exec;
    std::string message;
    try {
        k::batch_norm_forward_v2_on<T>(refused_exec, bx.data(), by.data(), {w.data(), 1}, {nullptr, 1}, {nullptr, 1}, {nullptr, 1},
                                       mean.data(), invstd.data(), empty, nullptr);
    } catch (const seam::Error& e) {
        message = e.what();
    }
    expect(message.find("training needs at least one value a channel, got N=0") != std::string::npos &&
               refused_exec.sums_launches == 0 && refused_exec.apply_launches == 0,
           "N = 0 in training: refused by name, nothing launched " + tname<T>());
}

template <class T>
void check_all(std::mt19937_64& rng) {
    const std::vector<Case> cases = {
        {"[4, 3, 35] training, affine, running", {4, 3, 35}, true, true, true, false, 0.0, false},
        {"[9, 5, 1] BatchNorm1d, no affine", {9, 5, 1}, false, true, true, false, 0.0, false},
        {"[2, 17, 3] no running stats", {2, 17, 3}, true, false, true, false, 0.0, false},
        {"[3, 4, 64] evaluation", {3, 4, 64}, true, true, false, false, 0.0, false},
        {"[2, 6, 20] fused ReLU", {2, 6, 20}, true, true, true, true, 0.0, false},
        {"[2, 3, 9] fused ReLU, evaluation", {2, 3, 9}, true, true, false, true, 0.0, false},
        {"[2, 65, 1] two values a channel", {2, 65, 1}, true, true, true, false, 0.0, false},
        {"[150, 2, 256] 3 chunks, the last short", {150, 2, 256}, true, true, true, false, 0.0, false},
        {"[150, 2, 4096] 38 chunks (lanes sum several), the last short, fused ReLU", {150, 2, 4096}, true, true, true, true, 0.0, false},
        {"[33, 2, 16352] a plane a chunk, 33 chunks", {33, 2, 16352}, true, true, true, false, 0.0, false},
        {"[8, 3, 48] values near 1000", {8, 3, 48}, true, true, true, false, 1000.0, false},
        {"[8, 3, 48] the shift K an outlier", {8, 3, 48}, true, true, true, false, 0.0, true},
        {"[5, 2, 5000] 5000 values a plane", {5, 2, 5000}, true, false, true, false, -3.0, false},
    };
    for (const Case& c : cases) check_case<T>(c, rng);
    check_partial_backward<T>(rng);
}


// ----- dropout version 2 ----------------------------------------------------------------------------------

/// Every group of the launch through dropout_forward_group / dropout_backward_group, against the
/// mask drawn word by word (word i % 4 of Philox block base + i / 4, kept when below the threshold).
template <class T>
void check_dropout_v2(std::mt19937_64& rng) {
    std::normal_distribution<double> normal(0.0, 1.0);
    for (int64_t n : {1, 3, 4, 5, 8, 1001, 4099})
        for (size_t offset : {size_t(0), size_t(1)})
            for (double p : {0.5, 0.1}) {
                const std::string name = "dropout v2 " + tname<T>() + " n=" + std::to_string(n) + " offset " +
                                         std::to_string(offset) + " p=" + std::to_string(p);
                const size_t un = static_cast<size_t>(n);
                Buffer<T> x(un, offset), y(un, offset), g(un, offset), dx(un, offset);
                Buffer<uint8_t> keep(un, offset);
                keep.fill(uint8_t(7));
                for (size_t i = un; i < un + 4; ++i) keep[i] = 9, y[i] = T(-7), dx[i] = T(-7);  // guards past the end
                for (size_t i = 0; i < un; ++i) x[i] = static_cast<T>(normal(rng)), g[i] = static_cast<T>(normal(rng));
                const uint64_t key = rng(), base = rng() % 1000, threshold = static_cast<uint64_t>((1 - p) * 4294967296.0);
                const T scale = static_cast<T>(1 / (1 - p));
                const bool vec = k::dropout_vector_aligned(x.data(), y.data(), keep.data());
                expect(vec == (offset == 0), name + ": the vector path iff aligned");
                for (int64_t b = 0; b < (n + 3) / 4; ++b)
                    k::dropout_forward_group(x.data(), y.data(), keep.data(), n, key, base, threshold, scale, b, vec);
                const bool vec_back = k::dropout_vector_aligned(g.data(), dx.data(), keep.data());
                for (int64_t b = 0; b < (n + 3) / 4; ++b)
                    k::dropout_backward_group(g.data(), keep.data(), dx.data(), n, scale, b, vec_back);
                int bad = 0;
                for (int64_t i = 0; i < n; ++i) {
                    const uint32_t word = seam::philox4x32(base + static_cast<uint64_t>(i / 4), 0, key).v[i % 4];
                    const bool kept = word < threshold;
                    const T want_y = x[i] * (kept ? scale : T(0)), want_dx = g[i] * (kept ? scale : T(0));
                    if (keep[i] != kept || !same_bits(y[i], want_y) || !same_bits(dx[i], want_dx)) ++bad;
                }
                expect(bad == 0, name + ": mask, y and dx bit for bit (" + std::to_string(bad) + " off)");
                bool guards = true;
                for (size_t i = un; i < un + 4; ++i) guards = guards && keep[i] == 9 && y[i] == T(-7) && dx[i] == T(-7);
                expect(guards, name + ": nothing written past the end");
            }
}

// ----- layer_norm version 2 --------------------------------------------------------------------------------

/// Both kernels emulated over the launch (walk_row_groups, butterflies lane by lane), against the
/// long-double formulas; the outputs from the kernel's own statistics (checked first).
template <class T>
void check_layer_norm_v2(int64_t rows, int64_t D, bool affine, std::mt19937_64& rng) {
    namespace ke = seam::kernel_emulation;
    const std::string name = "layer_norm v2 " + tname<T>() + " [" + std::to_string(rows) + ", " + std::to_string(D) +
                             "]" + (affine ? " affine" : "");
    std::normal_distribution<double> normal(0.0, 1.0);
    const size_t n = static_cast<size_t>(rows * D);
    std::vector<T> x(n), g(n), w(D), b(D);
    for (auto& v : x) v = static_cast<T>(3 + 2 * normal(rng));
    for (auto& v : g) v = static_cast<T>(normal(rng));
    for (auto& v : w) v = static_cast<T>(1 + 0.5 * normal(rng));
    for (auto& v : b) v = static_cast<T>(normal(rng));
    const T* wp = affine ? w.data() : nullptr;
    const T* bp = affine ? b.data() : nullptr;
    k::LayerNormArgs a;
    a.rows = rows, a.cols = D, a.eps = 1e-5;
    const int lanes = k::row_group_lanes(D);
    std::vector<T> y(n, std::numeric_limits<T>::quiet_NaN()), dx(n, std::numeric_limits<T>::quiet_NaN());
    std::vector<double> mean(rows, std::numeric_limits<double>::quiet_NaN()), rstd(mean);
    bool same = true;
    const std::vector<int> visits = ke::walk_row_groups(rows, lanes, [&](int64_t r, bool valid) {
        std::vector<ke::LaneValues<T>> v(lanes);
        std::vector<int> count(lanes, 0);
        std::vector<double> s(lanes), q(lanes);
        for (int l = 0; l < lanes; ++l) {
            if (valid) count[l] = k::row_lane_load(x.data() + r * D, D, l, lanes, v[l].v);
            s[l] = k::layer_norm_lane_sum(v[l].v, count[l]);
        }
        s = ke::butterfly(s, [](double p, double o) { return p + o; });
        for (int l = 0; l < lanes; ++l) q[l] = k::layer_norm_lane_squares(v[l].v, count[l], s[l] / static_cast<double>(D));
        q = ke::butterfly(q, [](double p, double o) { return p + o; });
        for (int l = 1; l < lanes; ++l) same = same && same_bits(s[l], s[0]) && same_bits(q[l], q[0]);
        if (!valid) return;
        const double m = s[0] / static_cast<double>(D), is = k::norm_detail::rsqrt_d(q[0] / static_cast<double>(D) + a.eps);
        mean[r] = m, rstd[r] = is;
        for (int l = 0; l < lanes; ++l)
            k::layer_norm_lane_store(v[l].v, count[l], static_cast<T>(m), static_cast<T>(is), wp, bp, y.data() + r * D, l, lanes);
    });
    expect(same, name + ": every lane holds the row's sums bit for bit");
    bool once = true;
    for (int c : visits) once = once && c == 1;
    expect(once, name + ": every row served once");
    ke::walk_row_groups(rows, lanes, [&](int64_t r, bool valid) {
        std::vector<ke::LaneValues<T>> gv(lanes), xv(lanes);
        std::vector<int> count(lanes, 0);
        std::vector<double> sg(lanes), sgx(lanes);
        const double m = valid ? mean[r] : 0.0, is = valid ? rstd[r] : 1.0;
        for (int l = 0; l < lanes; ++l) {
            if (valid) count[l] = k::row_lane_load(g.data() + r * D, D, l, lanes, gv[l].v);
            if (valid) k::row_lane_load(x.data() + r * D, D, l, lanes, xv[l].v);
            k::layer_norm_lane_backward_sums(gv[l].v, xv[l].v, count[l], wp, l, lanes, m, is, sg[l], sgx[l]);
        }
        sg = ke::butterfly(sg, [](double p, double o) { return p + o; });
        sgx = ke::butterfly(sgx, [](double p, double o) { return p + o; });
        if (!valid) return;
        for (int l = 0; l < lanes; ++l)
            k::layer_norm_lane_backward_store(gv[l].v, xv[l].v, count[l], wp, static_cast<T>(is),
                                              static_cast<T>(sg[l] / static_cast<double>(D)),
                                              static_cast<T>(sgx[l] / static_cast<double>(D)), static_cast<T>(m),
                                              dx.data() + r * D, l, lanes);
    });
    const double teps = type_eps<T>();
    const long double sums_u = D * std::ldexp(1.0L, -53);
    int bad_stats = 0, bad_y = 0, bad_dx = 0;
    for (int64_t r = 0; r < rows; ++r) {
        const T* p = x.data() + r * D;
        long double s = 0, abs_s = 0;
        for (int64_t c = 0; c < D; ++c) s += p[c], abs_s += std::fabs(static_cast<long double>(p[c]));
        const long double m = s / D;
        long double q = 0;
        for (int64_t c = 0; c < D; ++c) q += (p[c] - m) * (p[c] - m);
        const long double is = 1 / std::sqrt(q / D + 1e-5L);
        if (!(std::fabs(mean[r] - m) <= sums_u * abs_s / D + 1e-300L) || !close(rstd[r], is, 1e-12)) ++bad_stats;
        const long double km = mean[r], kis = rstd[r];  // the kernel's statistics
        long double sum_gw = 0, sum_gwx = 0, abs_gw = 0, abs_gwx = 0;
        for (int64_t c = 0; c < D; ++c) {
            const long double wc = wp ? wp[c] : 1, bc = bp ? bp[c] : 0;
            const long double want = (p[c] - km) * kis * wc + bc;
            const long double mag = (std::fabs(static_cast<long double>(p[c])) + std::fabs(km)) * kis * std::fabs(wc) + std::fabs(bc);
            if (!(std::fabs(y[r * D + c] - want) <= 4 * teps * mag)) ++bad_y;
            const long double gw = static_cast<long double>(g[r * D + c]) * wc, xhat = (p[c] - km) * kis;
            sum_gw += gw, sum_gwx += gw * xhat, abs_gw += std::fabs(gw), abs_gwx += std::fabs(gw * xhat);
        }
        const long double A = sum_gw / D, B = sum_gwx / D;
        for (int64_t c = 0; c < D; ++c) {
            const long double wc = wp ? wp[c] : 1;
            const long double gw = static_cast<long double>(g[r * D + c]) * wc, xhat = (p[c] - km) * kis;
            const long double want = kis * (gw - A - xhat * B);
            const long double mag = kis * (std::fabs(gw) + std::fabs(A) +
                                           (std::fabs(static_cast<long double>(p[c])) + std::fabs(km)) * kis * std::fabs(B));
            const long double sums_err = kis * (sums_u * abs_gw / D + std::fabs(xhat) * sums_u * abs_gwx / D);
            if (!(std::fabs(dx[r * D + c] - want) <= 8 * teps * mag + sums_err)) ++bad_dx;
        }
    }
    expect(bad_stats == 0, name + ": mean and rstd (" + std::to_string(bad_stats) + " rows off)");
    expect(bad_y == 0, name + ": y (" + std::to_string(bad_y) + " values off)");
    expect(bad_dx == 0, name + ": dx (" + std::to_string(bad_dx) + " values off)");
}

void check_layer_norm_routing() {
    unsetenv("SEAM_LAYER_NORM_VERSION");
    expect(k::layer_norm_version(1) == 2 && k::layer_norm_version(1024) == 2, "layer_norm: version 2 up to 1024 values");
    expect(k::layer_norm_version(1025) == 1, "layer_norm: longer rows run version 1");
    setenv("SEAM_LAYER_NORM_VERSION", "1", 1);
    expect(k::layer_norm_version(10) == 1, "layer_norm: SEAM_LAYER_NORM_VERSION=1");
    unsetenv("SEAM_LAYER_NORM_VERSION");
}

}  // namespace

int main() {
    std::mt19937_64 rng(20261128);
    check_plan();
    check_all<float>(rng);
    check_all<double>(rng);
    check_dropout_v2<float>(rng);
    check_dropout_v2<double>(rng);
    check_layer_norm_routing();
    for (int64_t D : {1, 2, 3, 10, 31, 32, 33, 100, 768, 1024})
        for (bool affine : {false, true}) {
            check_layer_norm_v2<float>(9, D, affine, rng);
            check_layer_norm_v2<double>(9, D, affine, rng);
        }
    check_layer_norm_v2<float>(3000, 10, true, rng);  // 16 lanes, 2 rows a warp, grid-stride rows
    std::printf("%s: %lld checks, %d failed\n", failures ? "FAILED" : "passed", static_cast<long long>(checks),
                failures);
    return failures ? 1 : 0;
}
