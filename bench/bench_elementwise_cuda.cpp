// bench_elementwise_cuda — seam's elementwise and reduction kernels on the GPU against the device's
// copy bandwidth (issue 3: "elementwise and reductions against the measured device-to-device copy
// bandwidth"; goal: at least 80% of it).
//
//   bench_elementwise_cuda [--mib N] [--reps R]
//
// Every op runs through the public ops (seam/ops/*.hpp) on CUDA tensors, so what is timed is what a
// model gets: relu (read 1, write 1), x + y (read 2, write 1), x * 2 + 1 as two ops, sum and max along
// the last dim of a [rows, 1024] matrix and along the first dim (read 1, write 1/1024), and seam's
// own device copy (copy_: read 1, write 1). Rows added with version 2 of the kernels (they show its
// new paths): x + bias with a [1024] bias broadcast over the rows (the dense kernel with a channel
// operand), and sum and max along the last dim of [rows', 10] (softmax-sized rows: several a warp);
// for these the GB/s also count the outputs written (4 bytes a row, + 8 for max's int64 index).
// Each op is first checked against the same op on the CPU on small inputs, with every kernel
// version (exact for relu, add, bias add and max; sums within 1e-5 relative; also a misaligned
// view, which must take the fallback; for the reductions also [37, 1031] over the first dim with
// a misaligned start and a [4099, 8] column case), then timed: R runs after a warm-up, the device
// synchronised before and after, the median of the per-run times. GB/s counts the bytes each op
// must move (inputs read once, outputs written once); "% of copy_" divides by copy_'s GB/s in the
// same run. Each op is timed with the default kernels (reductions version 3, elementwise version
// 2), then with the reductions at version 2 (elementwise unchanged), then with both families at
// version 1 (SEAM_REDUCE_VERSION / SEAM_ELEMENTWISE_VERSION set in this process between the runs;
// see the "Versions tried" of kernels/seam/elementwise.cuh and reduce.cuh).
//
// A third table times the other families of the elementwise and reduction kernels
// (kernels/seam/softmax.cuh, norm.cuh, resize.cuh, gather_scatter.cuh, optim.cuh) against the same
// copy_: softmax / log_softmax forward and forward + backward on [rows, 1024] (softmax also on float64
// rows: version 2's double kernels hold more registers a thread, one block an SM), the fused
// cross_entropy on [rows, 1024] and [rows', 50], batch_norm (training) forward and forward + backward
// on [N, 64, 64, 64], layer_norm, dropout, upsample nearest and bilinear x2 (bilinear also with its
// backward), gather and scatter_add along the class dimension, gather of one value a row out of
// [rows'', 32000] with its backward (whose zero fill is not fused into the kernel on this shape: below
// 32 warps an SM), and the fused SGD (momentum) and Adam steps on one parameter; forward + backward
// through autograd on a fresh leaf each run. Every row is timed twice: with the defaults (version 2 of
// each of these families) and with its family's SEAM_*_VERSION at 1 (the version each header keeps for
// study), with the ratio of the two medians in the last column: what decides each default.
// A fourth table times batch_norm (training; forward, and forward + backward) at ResNet-50's six
// batch-norm input sizes at batch 32 (13 to 103 MB, around the L2's size), each against a copy_ of
// the same size timed the same way, at the default version and at version 1.
// Each is first checked against the CPU op on small awkward shapes (values and input gradients;
// dropout's mask exactly, both devices drawing the same Philox stream; two optimizer steps). A
// failure there, or an error, ends the program with status 1 after the first table was printed.
//
// Needs a CUDA build of seam (SEAM_WITH_CUDA); without one, or without a usable GPU, it says so and
// exits 77.
#include <cstdio>
#include <cstdlib>
#include <string>

#if SEAM_WITH_CUDA
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <tuple>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/cuda/runtime.hpp"
#include "seam/ops/elementwise.hpp"
#include "seam/ops/loss.hpp"
#include "seam/ops/norm.hpp"
#include "seam/ops/reduce.hpp"
#include "seam/ops/resize.hpp"
#include "seam/ops/shape_ops.hpp"
#include "seam/ops/softmax.hpp"
#include "seam/optim/adam.hpp"
#include "seam/optim/sgd.hpp"

using namespace seam;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/// Median and minimum seconds of `reps` runs of f (the device synchronised around each).
struct OpTime {
    double median, min;
};
OpTime time_op_stats(const std::function<void()>& f, int reps) {
    f();  // warm-up: allocator blocks, module load
    cuda::synchronize();
    std::vector<double> s;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        cuda::synchronize();
        s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return {median(s), *std::min_element(s.begin(), s.end())};
}
double time_op(const std::function<void()>& f, int reps) { return time_op_stats(f, reps).median; }

/// Kernel versions for the next ops: 3 = the defaults (both variables unset: reductions 3,
/// elementwise 2), 2 = reductions 2 (elementwise 2), 1 = both families 1.
void use_version(int version) {
    unsetenv("SEAM_ELEMENTWISE_VERSION");
    unsetenv("SEAM_REDUCE_VERSION");
    if (version <= 2) setenv("SEAM_REDUCE_VERSION", std::to_string(version).c_str(), 1);
    if (version <= 1) setenv("SEAM_ELEMENTWISE_VERSION", "1", 1);
}

/// [36, 1031] starting one element into a [37, 1031] tensor: every row start misaligned.
Tensor<float> xs_view_rows(const Tensor<float>& x) { return x.reshape({37 * 1031}).narrow(0, 1, 36 * 1031).reshape({36, 1031}); }

template <class V>
bool check(const char* what, const Tensor<V>& gpu, const Tensor<V>& cpu, double rtol) {
    const std::vector<V> g = gpu.to(Device::cpu()).contiguous().to_vector(), c = cpu.contiguous().to_vector();
    if (g.size() != c.size()) {
        std::printf("FAILED %s: %zu values on the GPU, %zu on the CPU\n", what, g.size(), c.size());
        return false;
    }
    for (size_t i = 0; i < g.size(); ++i) {
        const double tol = rtol * std::max(1.0, std::fabs(static_cast<double>(c[i])));
        if (!(std::fabs(static_cast<double>(g[i]) - c[i]) <= tol)) {
            std::printf("FAILED %s at %zu: GPU %.9g, CPU %.9g\n", what, i, static_cast<double>(g[i]),
                        static_cast<double>(c[i]));
            return false;
        }
    }
    return true;
}

/// Forward, then backward with upstream gradient dy (undefined: a scalar output's 1), of op on a
/// fresh leaf copy of x: (y, dx). What a training step runs, autograd included.
template <class V, class Op>
std::pair<Tensor<V>, Tensor<V>> forward_backward(const Tensor<V>& x, const Tensor<V>& dy, const Op& op) {
    Tensor<V> leaf = x.detach();
    leaf.set_requires_grad();
    const Tensor<V> y = op(leaf);
    y.backward(dy);
    return {y.detach(), leaf.grad()};
}

/// One op of the other families, checked on small awkward inputs and timed on large ones, with the
/// defaults and again with its family's kernels at version 1.
struct FamilyRow {
    std::string op;
    double moved;  // bytes each kernel must move at least (see the table's note)
    std::function<void()> run;
    const char* version_variable;  // the family's SEAM_*_VERSION, set to "1" for the second timing
    OpTime time{}, time_v1{};
};

}  // namespace

int main(int argc, char** argv) {
    int64_t mib = 256;
    int reps = 20;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--mib" && i + 1 < argc) mib = std::atoll(argv[++i]);
        else if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: bench_elementwise_cuda [--mib N] [--reps R]\n");
            return 2;
        }
    }
    if (cuda::device_count() == 0) {
        std::printf("bench_elementwise_cuda: no usable GPU, not run\n");
        return 77;
    }
    try {
        const Device gpu = Device::cuda(0);
        // 1. Correctness on small inputs with awkward sizes, with every kernel version.
        Generator gen(7);
        const Tensor<float> xs = randn<float>({37, 1031}, gen), ys = randn<float>({37, 1031}, gen);
        const Tensor<float> bs = randn<float>({1031}, gen), ss = randn<float>({1001, 10}, gen);
        const Tensor<float> cs = randn<float>({4099, 8}, gen);
        const Tensor<float> xg = xs.to(gpu), yg = ys.to(gpu), bg = bs.to(gpu), sg = ss.to(gpu), cg = cs.to(gpu);
        const Tensor<float> xs_rows = xs_view_rows(xs), xg_rows = xs_view_rows(xg);  // [36, 1031] from element 1
        const Tensor<float> xs_view = xs.reshape({37 * 1031}).narrow(0, 1, 37 * 1031 - 1);  // misaligned start
        const Tensor<float> xg_view = xg.reshape({37 * 1031}).narrow(0, 1, 37 * 1031 - 1);
        bool ok = true;
        for (int version : {3, 2, 1}) {
            use_version(version);
            ok = check("relu", relu(xg), relu(xs), 0.0) && ok;
            ok = check("relu of a misaligned view", relu(xg_view), relu(xs_view), 0.0) && ok;
            ok = check("add", xg + yg, xs + ys, 0.0) && ok;
            ok = check("bias add", xg + bg, xs + bs, 0.0) && ok;
            ok = check("mul-add", xg * 2.0f + 1.0f, xs * 2.0f + 1.0f, 0.0) && ok;
            ok = check("sum last dim", sum(xg, {1}), sum(xs, {1}), 1e-5) && ok;
            ok = check("sum first dim", sum(xg, {0}), sum(xs, {0}), 1e-5) && ok;
            ok = check("max last dim", std::get<0>(max(xg, 1)), std::get<0>(max(xs, 1)), 0.0) && ok;
            ok = check("argmax last dim", std::get<1>(max(xg, 1)), std::get<1>(max(xs, 1)), 0.0) && ok;
            ok = check("sum of rows of 10", sum(sg, {1}), sum(ss, {1}), 1e-5) && ok;
            ok = check("max of rows of 10", std::get<0>(max(sg, 1)), std::get<0>(max(ss, 1)), 0.0) && ok;
            ok = check("argmax of rows of 10", std::get<1>(max(sg, 1)), std::get<1>(max(ss, 1)), 0.0) && ok;
            ok = check("sum first dim, misaligned", sum(xg_rows, {0}), sum(xs_rows, {0}), 1e-5) && ok;
            ok = check("sum of rows of 1031, misaligned", sum(xg_rows, {1}), sum(xs_rows, {1}), 1e-5) && ok;
            ok = check("max first dim", std::get<0>(max(xg, 0)), std::get<0>(max(xs, 0)), 0.0) && ok;
            ok = check("argmax first dim", std::get<1>(max(xg, 0)), std::get<1>(max(xs, 0)), 0.0) && ok;
            ok = check("sum of [4099, 8] over the first dim", sum(cg, {0}), sum(cs, {0}), 1e-5) && ok;
            ok = check("argmin of [4099, 8] over the first dim", std::get<1>(min(cg, 0)), std::get<1>(min(cs, 0)), 0.0) &&
                 ok;
        }
        use_version(3);
        if (!ok) return 1;
        std::printf("- validated against the CPU ops on [37, 1031] (+ a [1031] bias, misaligned views), [1001, 10] and "
                    "[4099, 8], kernel versions 3, 2 and 1: relu, add, bias add, mul-add exact; sums within 1e-5; max, "
                    "min and their indices exact\n");

        // 2. Timing: version 3 (default), 2 and 1.
        const int64_t n = mib * 1024 * 1024 / 4, cols = 1024, rows = n / cols, short_rows = n / 10;
        Tensor<float> x = randn<float>({rows, cols}, gen).to(gpu), y = randn<float>({rows, cols}, gen).to(gpu);
        Tensor<float> bias = randn<float>({cols}, gen).to(gpu);
        Tensor<float> x10 = randn<float>({short_rows, 10}, gen).to(gpu);
        Tensor<float> out = empty<float>({rows, cols}, gpu);
        const double bytes = static_cast<double>(rows * cols) * 4.0;
        const double bytes10 = static_cast<double>(short_rows * 10) * 4.0;
        struct Row {
            const char* op;
            double moved;
            std::function<void()> run;
            double seconds[3];  // version 3, 2, 1
        };
        std::vector<Row> results = {
            {"copy_ (seam's copy kernel)", 2 * bytes, [&] { out.copy_(x); }, {}},
            {"relu", 2 * bytes, [&] { out = relu(x); }, {}},
            {"x + y", 3 * bytes, [&] { out = x + y; }, {}},
            {"x * 2 + 1 (two ops)", 4 * bytes, [&] { out = x * 2.0f + 1.0f; }, {}},
            {"sum over the last dim [rows, 1024]", bytes, [&] { out = sum(x, {1}); }, {}},
            {"sum over the first dim", bytes, [&] { out = sum(x, {0}); }, {}},
            {"max over the last dim (values + indices)", bytes, [&] { out = std::get<0>(max(x, 1)); }, {}},
            {"x + bias [1024] (broadcast over the rows)", 2 * bytes + cols * 4.0, [&] { out = x + bias; }, {}},
            {"sum over the last dim [rows', 10]", bytes10 + short_rows * 4.0, [&] { out = sum(x10, {1}); }, {}},
            {"max over the last dim [rows', 10] (values + indices)", bytes10 + short_rows * 12.0,
             [&] { out = std::get<0>(max(x10, 1)); }, {}},
        };
        for (Row& r : results)
            for (int v = 0; v < 3; ++v) {
                use_version(3 - v);
                r.seconds[v] = time_op(r.run, reps);
            }
        use_version(3);
        const double copy_gbs = results[0].moved / results[0].seconds[0] / 1e9;
        std::printf("- %lld MiB float32 tensors ([%lld, %lld]; rows' = %lld rows of 10), median of %d runs after a "
                    "warm-up, host clock around a device synchronisation; v3 = the defaults (reductions version 3, "
                    "elementwise version 2), v2 = reductions version 2, v1 = both families version 1 (copy_ is "
                    "cudaMemcpyAsync in all)\n\n",
                    (long long)mib, (long long)rows, (long long)cols, (long long)short_rows, reps);
        std::printf("| op | v3 ms | v3 GB/s moved | v3 %% of copy_ | v2 ms | v2 %% of copy_ | v1 ms | v1 %% of copy_ |\n"
                    "|---|---|---|---|---|---|---|---|\n");
        for (const Row& r : results) {
            double gbs[3];
            for (int v = 0; v < 3; ++v) gbs[v] = r.moved / r.seconds[v] / 1e9;
            std::printf("| %s | %.3f | %.0f | %.0f%% | %.3f | %.0f%% | %.3f | %.0f%% |\n", r.op, 1e3 * r.seconds[0], gbs[0],
                        100.0 * gbs[0] / copy_gbs, 1e3 * r.seconds[1], 100.0 * gbs[1] / copy_gbs, 1e3 * r.seconds[2],
                        100.0 * gbs[2] / copy_gbs);
        }
        x = Tensor<float>(), y = Tensor<float>(), x10 = Tensor<float>(), out = Tensor<float>();  // room for the next part

        // 3. The other families (kernels/seam/softmax.cuh, norm.cuh, resize.cuh, optim.cuh; one version
        // each): checked against the CPU ops on small awkward shapes, forward and gradient, then timed.
        {
            Generator g3(11);
            const Tensor<float> a = randn<float>({37, 1031}, g3), da = randn<float>({37, 1031}, g3);
            const Tensor<float> b = randn<float>({5, 7, 9, 11}, g3), db = randn<float>({5, 7, 9, 11}, g3);
            const Tensor<float> bw = randn<float>({7}, g3), bb = randn<float>({7}, g3), lw = randn<float>({1031}, g3),
                                lb = randn<float>({1031}, g3);
            const Tensor<float> u = randn<float>({3, 5, 7, 9}, g3), du = randn<float>({3, 5, 14, 18}, g3);
            std::vector<int64_t> tv(37);
            for (size_t i = 0; i < tv.size(); ++i) tv[i] = int64_t(i * 131 % 1031);
            const Tensor<int64_t> ts = from_vector(tv, {37}), tg = ts.to(gpu);
            const Tensor<float> bwg = bw.to(gpu), bbg = bb.to(gpu), lwg = lw.to(gpu), lbg = lb.to(gpu);
            auto on = [&](const Tensor<float>& x_, const Tensor<float>& cpu_t, const Tensor<float>& gpu_t) {
                return x_.device().is_cuda() ? gpu_t : cpu_t;
            };
            auto check_fb = [&]<class V>(const std::string& what, const Tensor<V>& xs_, const Tensor<V>& dys, double rtol,
                                         const auto& op) {
                const auto [yc, gc] = forward_backward(xs_, dys, op);
                const auto [yg, gg] = forward_backward(xs_.to(gpu), dys.defined() ? dys.to(gpu) : dys, op);
                const bool fwd = check((what + ", forward").c_str(), yg, yc, rtol);
                return check((what + ", gradient").c_str(), gg, gc, rtol) && fwd;
            };
            bool ok3 = true;
            ok3 = check_fb("softmax [37, 1031] over the last dim", a, da, 1e-6, [](const Tensor<float>& t) { return softmax(t, 1); }) && ok3;
            ok3 = check_fb("log_softmax [37, 1031]", a, da, 1e-5, [](const Tensor<float>& t) { return log_softmax(t, 1); }) && ok3;
            {  // rows of at most 1024 values: softmax.cuh's version 2 (the default) and version 1
                const Tensor<float> a2 = a.narrow(1, 0, 1024).contiguous(), da2 = da.narrow(1, 0, 1024).contiguous();
                const Tensor<double> a64 = randn<double>({37, 1024}, g3), da64 = randn<double>({37, 1024}, g3);
                for (const char* version : {"2", "1"}) {
                    setenv("SEAM_SOFTMAX_VERSION", version, 1);
                    const std::string v = std::string(" (version ") + version + ")";
                    ok3 = check_fb("softmax [37, 1024]" + v, a2, da2, 1e-6, [](const Tensor<float>& t) { return softmax(t, 1); }) && ok3;
                    ok3 = check_fb("log_softmax [37, 1024]" + v, a2, da2, 1e-5, [](const Tensor<float>& t) { return log_softmax(t, 1); }) && ok3;
                    // float64 rows: version 2's double kernels (more registers a thread) are timed below too
                    ok3 = check_fb("softmax float64 [37, 1024]" + v, a64, da64, 1e-12,
                                   [](const Tensor<double>& t) { return softmax(t, 1); }) && ok3;
                    unsetenv("SEAM_SOFTMAX_VERSION");
                }
            }
            for (const char* version : {"2", "1"}) {  // both versions of softmax.cuh's cross-entropy
                setenv("SEAM_CROSS_ENTROPY_VERSION", version, 1);
                ok3 = check_fb(std::string("cross_entropy [37, 1031] (version ") + version + ")", a, Tensor<float>(), 1e-5,
                               [&](const Tensor<float>& t) { return cross_entropy(t, t.device().is_cuda() ? tg : ts); }) && ok3;
                unsetenv("SEAM_CROSS_ENTROPY_VERSION");
            }
            {  // both versions of kernels/seam/norm.cuh; [40, 7, 32, 32] is 3 chunks a channel in version 2
                const Tensor<float> b2 = randn<float>({40, 7, 32, 32}, g3), db2 = randn<float>({40, 7, 32, 32}, g3);
                for (const char* version : {"2", "1"}) {
                    setenv("SEAM_BATCH_NORM_VERSION", version, 1);
                    const std::string v = std::string(" (version ") + version + ")";
                    for (const auto& [what, xs_, dys] : {std::tuple{"batch_norm [5, 7, 9, 11], training", b, db},
                                                         std::tuple{"batch_norm_relu [40, 7, 32, 32], training", b2, db2}}) {
                        const bool relu = std::string(what).find("relu") != std::string::npos;
                        ok3 = check_fb(what + v, xs_, dys, 1e-5, [&](const Tensor<float>& t) {
                                  return relu ? batch_norm_relu(t, Tensor<float>(), Tensor<float>(), on(t, bw, bwg), on(t, bb, bbg), true)
                                              : batch_norm(t, Tensor<float>(), Tensor<float>(), on(t, bw, bwg), on(t, bb, bbg), true);
                              }) && ok3;
                    }
                }
                unsetenv("SEAM_BATCH_NORM_VERSION");
            }
            ok3 = check_fb("layer_norm [37, 1031] over the last dim", a, da, 1e-5,
                           [&](const Tensor<float>& t) { return layer_norm(t, {1031}, on(t, lw, lwg), on(t, lb, lbg)); }) && ok3;
            {  // rows of at most 1024 values: norm.cuh's layer_norm version 2 (the default) and version 1
                const Tensor<float> a2 = a.narrow(1, 0, 1024).contiguous(), da2 = da.narrow(1, 0, 1024).contiguous();
                const Tensor<float> lw2 = lw.narrow(0, 0, 1024).contiguous(), lb2 = lb.narrow(0, 0, 1024).contiguous();
                const Tensor<float> lw2g = lw2.to(gpu), lb2g = lb2.to(gpu);
                for (const char* version : {"2", "1"}) {
                    setenv("SEAM_LAYER_NORM_VERSION", version, 1);
                    ok3 = check_fb(std::string("layer_norm [37, 1024] (version ") + version + ")", a2, da2, 1e-5,
                                   [&](const Tensor<float>& t) { return layer_norm(t, {1024}, on(t, lw2, lw2g), on(t, lb2, lb2g)); }) && ok3;
                    unsetenv("SEAM_LAYER_NORM_VERSION");
                }
            }
            for (const char* version : {"2", "1"}) {  // both versions of resize.cuh
                setenv("SEAM_RESIZE_VERSION", version, 1);
                const std::string v = std::string(" (version ") + version + ")";
                ok3 = check_fb("upsample_nearest2d x2 [3, 5, 7, 9]" + v, u, du, 0.0,
                               [](const Tensor<float>& t) { return upsample_nearest2d(t, 2.0); }) && ok3;
                ok3 = check_fb("upsample_bilinear2d x2 [3, 5, 7, 9]" + v, u, du, 1e-6,
                               [](const Tensor<float>& t) { return upsample_bilinear2d(t, 2.0, false); }) && ok3;
                unsetenv("SEAM_RESIZE_VERSION");
            }
            {  // gather and scatter_add along the class dimension: [37, 1031] with a [37, 50] index
                std::vector<int64_t> iv(37 * 50);
                for (size_t i = 0; i < iv.size(); ++i) iv[i] = int64_t((i * 613 + 5) % 1031);
                const Tensor<int64_t> is = from_vector(iv, {37, 50}), ig = is.to(gpu);
                const Tensor<float> src = randn<float>({37, 50}, g3);
                std::vector<int64_t> rv(37 * 50);  // repeated targets: 7 values a row
                for (size_t i = 0; i < rv.size(); ++i) rv[i] = int64_t((i * 5 + i / 3) % 7);
                const Tensor<int64_t> rs = from_vector(rv, {37, 50}), rg = rs.to(gpu);
                // [20000, 64] with the index of x's shape: version 2 writes out's start in its kernel
                std::vector<int64_t> fv(20000 * 64);
                for (size_t i = 0; i < fv.size(); ++i) fv[i] = int64_t((i * 7 + i / 5) % 64);
                const Tensor<int64_t> fs = from_vector(fv, {20000, 64}), fg = fs.to(gpu);
                const Tensor<float> fx = randn<float>({20000, 64}, g3), fsrc = randn<float>({20000, 64}, g3);
                const Tensor<int64_t> ps = from_vector(std::vector<int64_t>(tv), {37, 1}), pg = ps.to(gpu);
                for (const char* version : {"2", "1"}) {  // both versions of gather_scatter.cuh
                    setenv("SEAM_GATHER_VERSION", version, 1);
                    const std::string v = std::string(" (version ") + version + ")";
                    ok3 = check(("gather [37, 1031] along dim 1, index [37, 50]" + v).c_str(), gather(a.to(gpu), 1, ig),
                                gather(a, 1, is), 0.0) && ok3;
                    ok3 = check(("scatter_add into [37, 1031] along dim 1 (bit for bit: the CPU's order)" + v).c_str(),
                                scatter_add(a.to(gpu), 1, ig, src.to(gpu)), scatter_add(a, 1, is, src), 0.0) && ok3;
                    ok3 = check(("scatter_add into [37, 1031], 7 targets a row (repeats: the CPU's order)" + v).c_str(),
                                scatter_add(a.to(gpu), 1, rg, src.to(gpu)), scatter_add(a, 1, rs, src), 0.0) && ok3;
                    ok3 = check(("scatter_add into [20000, 64], the index of x's shape (out's start in the kernel)" + v).c_str(),
                                scatter_add(fx.to(gpu), 1, fg, fsrc.to(gpu)), scatter_add(fx, 1, fs, fsrc), 0.0) && ok3;
                    // one pick a row (a label's logit): the gradient is zeros with one value a row
                    ok3 = check_fb("gather [37, 1] from [37, 1031] along dim 1" + v, a, da.narrow(1, 0, 1).contiguous(), 0.0,
                                   [&](const Tensor<float>& t) { return gather(t, 1, t.device().is_cuda() ? pg : ps); }) && ok3;
                    unsetenv("SEAM_GATHER_VERSION");
                }
            }
            for (const char* version : {"2", "1"}) {  // dropout: the same Philox stream on both devices gives the same mask
                setenv("SEAM_DROPOUT_VERSION", version, 1);
                Generator gc(5), gg(5);
                ok3 = check((std::string("dropout p = 0.3 (version ") + version + ")").c_str(), dropout(a.to(gpu), 0.3f, true, gg),
                            dropout(a, 0.3f, true, gc), 0.0) && ok3;
                unsetenv("SEAM_DROPOUT_VERSION");
            }
            // Two optimizer steps (the second uses the state the first made) from the same parameter and gradient.
            auto two_steps = [&](const char* what, const auto& make) {
                Tensor<float> pc = a.clone(), pg = a.to(gpu);
                pc.set_requires_grad(), pg.set_requires_grad();
                (pc * 1.0f).backward(da), (pg * 1.0f).backward(da.to(gpu));
                auto oc = make(pc), og = make(pg);
                oc.step(), og.step(), oc.step(), og.step();
                return check(what, pg.detach(), pc.detach(), 1e-6);
            };
            for (const char* version : {"2", "1"}) {  // both versions of optim.cuh
                setenv("SEAM_OPTIM_VERSION", version, 1);
                const std::string v = std::string(" (version ") + version + ")";
                ok3 = two_steps(("SGD step, momentum 0.9, weight decay 1e-4" + v).c_str(), [](const Tensor<float>& p_) {
                          return optim::SGD<float>({p_}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
                      }) && ok3;
                ok3 = two_steps(("Adam step" + v).c_str(), [](const Tensor<float>& p_) { return optim::Adam<float>({p_}, {.lr = 0.01}); }) && ok3;
                unsetenv("SEAM_OPTIM_VERSION");
            }
            if (!ok3) return 1;
            std::printf("\n- the other families, validated against the CPU ops: softmax, log_softmax, cross_entropy, layer_norm "
                        "on [37, 1031], batch_norm (training) on [5, 7, 9, 11], upsample nearest and bilinear x2 on [3, 5, 7, 9] "
                        "(forward and gradient; within 1e-6 to 1e-5, nearest exact), gather and scatter_add (exact, also with 7 "
                        "targets a row), dropout's mask "
                        "and values (exact: the same Philox stream), two SGD (momentum) and Adam steps (within 1e-6); the families with two "
                        "versions (batch_norm, cross_entropy, softmax, layer_norm, dropout, upsample, gather and scatter_add, the "
                        "optimizer steps) checked "
                        "at both\n");

            // Timing, on tensors of about --mib MiB.
            const int64_t cols3 = 1024, rows3 = n / cols3, bn_n = std::max<int64_t>(1, n / (64 * 64 * 64)),
                          up_n = std::max<int64_t>(1, n / (4 * 64 * 32 * 32));
            const Tensor<float> s3 = randn<float>({rows3, cols3}, g3).to(gpu), ds3 = randn<float>({rows3, cols3}, g3).to(gpu);
            const Tensor<float> b3 = randn<float>({bn_n, 64, 64, 64}, g3).to(gpu), db3 = randn<float>({bn_n, 64, 64, 64}, g3).to(gpu);
            const Tensor<float> w64 = randn<float>({64}, g3).to(gpu), b64 = randn<float>({64}, g3).to(gpu);
            const Tensor<float> lw3 = randn<float>({cols3}, g3).to(gpu), lb3 = randn<float>({cols3}, g3).to(gpu);
            const Tensor<float> u3 = randn<float>({up_n, 64, 32, 32}, g3).to(gpu), du3 = randn<float>({up_n, 64, 64, 64}, g3).to(gpu);
            std::vector<int64_t> t3v(static_cast<size_t>(rows3));
            for (size_t i = 0; i < t3v.size(); ++i) t3v[i] = int64_t(i * 131 % 1024);
            const Tensor<int64_t> t3 = from_vector(t3v, {rows3}).to(gpu);
            const int64_t rows50 = n / 50;
            const Tensor<float> c50 = randn<float>({rows50, 50}, g3).to(gpu);
            std::vector<int64_t> t50v(static_cast<size_t>(rows50));
            for (size_t i = 0; i < t50v.size(); ++i) t50v[i] = int64_t(i * 7 % 50);
            const Tensor<int64_t> t50 = from_vector(t50v, {rows50}).to(gpu);
            std::vector<int64_t> perm(static_cast<size_t>(rows3 * cols3));  // each row: a permutation of its columns
            for (size_t i = 0; i < perm.size(); ++i) perm[i] = int64_t((i % size_t(cols3)) * 389 % size_t(cols3));
            const Tensor<int64_t> idx3 = from_vector(perm, {rows3, cols3}).to(gpu);
            perm = std::vector<int64_t>();
            // float64 softmax rows (half as many, the same bytes), and one pick a row of long rows (a label's
            // logit out of 32000 classes: gather's gradient is zeros with one value a row)
            const Tensor<double> s64 = randn<double>({rows3 / 2, cols3}, g3).to(gpu), ds64 = randn<double>({rows3 / 2, cols3}, g3).to(gpu);
            const int64_t cols_pick = 32000, rows_pick = std::max<int64_t>(1, n / cols_pick);
            const Tensor<float> xp = randn<float>({rows_pick, cols_pick}, g3).to(gpu), dp = randn<float>({rows_pick, 1}, g3).to(gpu);
            std::vector<int64_t> pickv(static_cast<size_t>(rows_pick));
            for (size_t i = 0; i < pickv.size(); ++i) pickv[i] = int64_t(i * 7919 % size_t(cols_pick));
            const Tensor<int64_t> ip = from_vector(pickv, {rows_pick, 1}).to(gpu);
            Tensor<float> p_sgd = randn<float>({n}, g3).to(gpu), p_adam = randn<float>({n}, g3).to(gpu);
            const Tensor<float> grad3 = randn<float>({n}, g3).to(gpu);
            p_sgd.set_requires_grad(), p_adam.set_requires_grad();
            (p_sgd * 1.0f).backward(grad3), (p_adam * 1.0f).backward(grad3);
            optim::SGD<float> sgd({p_sgd}, {.lr = 1e-6, .momentum = 0.9});
            optim::Adam<float> adam({p_adam}, {.lr = 1e-6});
            const double B = double(rows3 * cols3) * 4.0, BN = double(b3.numel()) * 4.0, U = double(u3.numel()) * 4.0,
                         P = double(n) * 4.0;
            // the pick: the forward reads the index and a value a row and writes it; the backward reads the
            // upstream gradient and the index and writes the whole [rows'', 32000] gradient once
            const double PICK = double(rows_pick) * (8 + 4 + 4 + 4 + 8) + double(xp.numel()) * 4.0;
            Tensor<float> sink;
            Tensor<double> sink64;
            Generator gd(3);
            // Each row is timed with the defaults, then with its family's variable at "1" (version 1, which
            // each header keeps for study); the last column is the ratio of the two medians.
            const char* const SOFTMAX = "SEAM_SOFTMAX_VERSION";
            const char* const XENT = "SEAM_CROSS_ENTROPY_VERSION";
            const char* const BATCH_NORM = "SEAM_BATCH_NORM_VERSION";
            const char* const RESIZE = "SEAM_RESIZE_VERSION";
            const char* const GATHER = "SEAM_GATHER_VERSION";
            const char* const OPTIM = "SEAM_OPTIM_VERSION";
            std::vector<FamilyRow> fam = {
                {"softmax [rows, 1024], forward", 2 * B, [&] { sink = softmax(s3, 1); }, SOFTMAX},
                {"softmax, forward + backward", 5 * B,
                 [&] { sink = forward_backward(s3, ds3, [](const Tensor<float>& t) { return softmax(t, 1); }).second; }, SOFTMAX},
                {"log_softmax, forward + backward", 5 * B,
                 [&] { sink = forward_backward(s3, ds3, [](const Tensor<float>& t) { return log_softmax(t, 1); }).second; }, SOFTMAX},
                {"softmax float64 [rows / 2, 1024], forward + backward", 5 * B,
                 [&] { sink64 = forward_backward(s64, ds64, [](const Tensor<double>& t) { return softmax(t, 1); }).second; }, SOFTMAX},
                {"cross_entropy [rows, 1024] (fused), forward + backward", 3 * B + double(rows3) * 8.0,
                 [&] { sink = forward_backward(s3, Tensor<float>(), [&](const Tensor<float>& t) { return cross_entropy(t, t3); }).second; },
                 XENT},
                {"cross_entropy [rows', 50] (DeepFashion's 50 categories), forward + backward",
                 3 * double(rows50 * 50) * 4.0 + double(rows50) * 8.0,
                 [&] { sink = forward_backward(c50, Tensor<float>(), [&](const Tensor<float>& t) { return cross_entropy(t, t50); }).second; },
                 XENT},
                {"batch_norm [N, 64, 64, 64] training, forward", 2 * BN,
                 [&] { sink = batch_norm(b3, Tensor<float>(), Tensor<float>(), w64, b64, true); }, BATCH_NORM},
                {"batch_norm training, forward + backward", 5 * BN, [&] {
                     sink = forward_backward(b3, db3, [&](const Tensor<float>& t) {
                                return batch_norm(t, Tensor<float>(), Tensor<float>(), w64, b64, true);
                            }).second;
                 }, BATCH_NORM},
                {"layer_norm [rows, 1024], forward + backward", 5 * B,
                 [&] { sink = forward_backward(s3, ds3, [&](const Tensor<float>& t) { return layer_norm(t, {cols3}, lw3, lb3); }).second; },
                 "SEAM_LAYER_NORM_VERSION"},
                {"dropout p = 0.5, forward (values + 1-byte mask)", 2 * B + B / 4, [&] { sink = dropout(s3, 0.5f, true, gd); },
                 "SEAM_DROPOUT_VERSION"},
                {"upsample_nearest2d x2 [N, 64, 32, 32], forward", 5 * U, [&] { sink = upsample_nearest2d(u3, 2.0); }, RESIZE},
                {"upsample_bilinear2d x2, forward", 5 * U, [&] { sink = upsample_bilinear2d(u3, 2.0, false); }, RESIZE},
                {"upsample_bilinear2d x2, forward + backward", 10 * U, [&] {
                     sink = forward_backward(u3, du3, [](const Tensor<float>& t) { return upsample_bilinear2d(t, 2.0, false); }).second;
                 }, RESIZE},
                {"gather [rows, 1024] along dim 1, a permutation a row (int64 index)", 4 * B, [&] { sink = gather(s3, 1, idx3); },
                 GATHER},
                {"scatter_add into [rows, 1024] along dim 1, the same index", 5 * B, [&] { sink = scatter_add(s3, 1, idx3, ds3); },
                 GATHER},
                {"gather [rows'', 1] from [rows'', 32000] (one pick a row), forward + backward", PICK,
                 [&] { sink = forward_backward(xp, dp, [&](const Tensor<float>& t) { return gather(t, 1, ip); }).second; }, GATHER},
                {"SGD step, momentum 0.9 (fused)", 5 * P, [&] { sgd.step(); }, OPTIM},
                {"Adam step (fused)", 7 * P, [&] { adam.step(); }, OPTIM},
            };
            for (FamilyRow& r : fam) {
                r.time = time_op_stats(r.run, reps);
                setenv(r.version_variable, "1", 1);
                r.time_v1 = time_op_stats(r.run, reps);
                unsetenv(r.version_variable);
            }
            const double copy_gbs3 = results[0].moved / results[0].seconds[0] / 1e9;
            std::printf("- %lld-element float32 tensors (the softmax/loss/layer_norm/dropout ones [%lld, 1024], rows' = %lld; batch_norm "
                        "[%lld, 64, 64, 64]; upsample from [%lld, 64, 32, 32]; rows'' = %lld; the optimizers one [%lld] parameter), median "
                        "of %d runs after a warm-up; forward + backward through autograd, on a fresh leaf each run\n\n",
                        (long long)n, (long long)rows3, (long long)rows50, (long long)bn_n, (long long)up_n, (long long)rows_pick,
                        (long long)n, reps);
            std::printf("| op | median ms | min ms | GB/s moved (median) | %% of copy_ | version 1 median ms | version 1 %% of "
                        "copy_ | version 1 time / default time |\n|---|---|---|---|---|---|---|---|\n");
            for (const FamilyRow& r : fam)
                std::printf("| %s | %.3f | %.3f | %.0f | %.0f%% | %.3f | %.0f%% | %.2f |\n", r.op.c_str(), 1e3 * r.time.median,
                            1e3 * r.time.min, r.moved / r.time.median / 1e9, 100.0 * r.moved / r.time.median / 1e9 / copy_gbs3,
                            1e3 * r.time_v1.median, 100.0 * r.moved / r.time_v1.median / 1e9 / copy_gbs3,
                            r.time_v1.median / r.time.median);
            // The decision each family's default waits on, in one line: rows where version 1 was faster,
            // and rows below the 80 % of copy_ at the default.
            std::string slower, below;
            for (const FamilyRow& r : fam) {
                if (r.time_v1.median < r.time.median) slower += (slower.empty() ? "" : "; ") + r.op + " (" + r.version_variable + ")";
                if (r.moved / r.time.median / 1e9 < 0.8 * copy_gbs3) below += (below.empty() ? "" : "; ") + r.op;
            }
            std::printf("\n- default slower than version 1 on: %s\n- default below 80%% of copy_ on: %s\n",
                        slower.empty() ? "no row" : slower.c_str(), below.empty() ? "no row" : below.c_str());
            std::printf("\n(Bytes moved, the least each kernel must read and write: a forward reads its input and writes its "
                        "output; a backward reads what it saved (the output for softmax, the input for the norms) and the "
                        "upstream gradient and writes the input's gradient; cross_entropy's backward reads the logits again "
                        "and writes their gradient, and both passes read the int64 targets once; gather reads the index (8 bytes an "
                        "element) and the values it picks and writes them; scatter_add reads x, the index and src and writes "
                        "out; a step reads the parameter, "
                        "its gradient and each state tensor and writes the parameter and the state. Parameter gradients of "
                        "the norms ([64], [1024]) are not counted.)\n");

            // 4. batch_norm at ResNet-50's sizes (batch 32), each against a copy of its own size: tensors
            // of 13 to 103 MB, around the L2's 50 MB, where the apply pass's second read of x may come
            // from L2 (norm.cuh: batch_norm_apply_item). The inputs are views of the first values of s3
            // and ds3 (randn), so nothing new is drawn.
            struct BnSize {
                const char* where;
                int64_t C, side;
            };
            const BnSize bn_sizes[] = {{"stem (after conv1)", 64, 112}, {"layer1, 1x1 in", 64, 56},
                                       {"layer1, out", 256, 56},        {"layer2, out", 512, 28},
                                       {"layer3, out", 1024, 14},      {"layer4, out", 2048, 7}};
            std::printf("\n- batch_norm (training) at ResNet-50's sizes, batch 32, float32; %% of a device copy_ of "
                        "the same size timed in the same way (forward: 2 units moved, forward + backward: 5, as "
                        "above); v1 = SEAM_BATCH_NORM_VERSION=1\n\n");
            std::printf("| ResNet-50 | shape | MiB | copy_ GB/s | forward ms | %% of copy_ | v1 %% | forward + backward ms | "
                        "%% of copy_ | v1 %% |\n|---|---|---|---|---|---|---|---|---|---|\n");
            for (const BnSize& z : bn_sizes) {
                const int64_t count = 32 * z.C * z.side * z.side;
                if (count > s3.numel()) continue;  // --mib too small for this size
                const Tensor<float> xb = s3.reshape({s3.numel()}).narrow(0, 0, count).reshape({32, z.C, z.side, z.side});
                const Tensor<float> gb = ds3.reshape({ds3.numel()}).narrow(0, 0, count).reshape({32, z.C, z.side, z.side});
                const Tensor<float> weight_c = randn<float>({z.C}, g3).to(gpu), bias_c = randn<float>({z.C}, g3).to(gpu);
                Tensor<float> copy_out = empty<float>({32, z.C, z.side, z.side}, gpu);
                const double units = double(count) * 4.0;
                auto bn = [&](const Tensor<float>& t) { return batch_norm(t, Tensor<float>(), Tensor<float>(), weight_c, bias_c, true); };
                auto forward = [&] { sink = bn(xb); };
                auto both = [&] { sink = forward_backward(xb, gb, bn).second; };
                const double t_copy = time_op([&] { copy_out.copy_(xb); }, reps);
                const double t_fwd = time_op(forward, reps), t_both = time_op(both, reps);
                setenv(BATCH_NORM, "1", 1);
                const double t_fwd1 = time_op(forward, reps), t_both1 = time_op(both, reps);
                unsetenv(BATCH_NORM);
                const double copy_gbs_here = 2 * units / t_copy / 1e9;
                auto pct = [&](double moved, double t) { return 100.0 * moved / t / 1e9 / copy_gbs_here; };
                std::printf("| %s | [32, %lld, %lld, %lld] | %.1f | %.0f | %.3f | %.0f%% | %.0f%% | %.3f | %.0f%% | %.0f%% |\n",
                            z.where, (long long)z.C, (long long)z.side, (long long)z.side, units / 1048576.0, copy_gbs_here,
                            1e3 * t_fwd, pct(2 * units, t_fwd), pct(2 * units, t_fwd1), 1e3 * t_both, pct(5 * units, t_both),
                            pct(5 * units, t_both1));
            }
        }
        return 0;
    } catch (const std::exception& e) {
        std::printf("bench_elementwise_cuda: error: %s\n", e.what());
        return 1;
    }
}

#else
int main() {
    std::printf("bench_elementwise_cuda: seam was built without CUDA (SEAM_WITH_CUDA); nothing to time\n");
    return 77;
}
#endif
