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
// see the "Versions tried" of kernels/seam/elementwise.cuh and reduce.cuh). Needs a CUDA build of seam
// (SEAM_WITH_CUDA); without one, or without a usable GPU, it says so and exits 77.
#include <cstdio>
#include <cstdlib>
#include <string>

#if SEAM_WITH_CUDA
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/cuda/runtime.hpp"
#include "seam/ops/elementwise.hpp"
#include "seam/ops/reduce.hpp"

using namespace seam;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/// Median seconds of `reps` runs of f (the device synchronised around each).
double time_op(const std::function<void()>& f, int reps) {
    f();  // warm-up: allocator blocks, module load
    cuda::synchronize();
    std::vector<double> s;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        cuda::synchronize();
        s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return median(s);
}

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
