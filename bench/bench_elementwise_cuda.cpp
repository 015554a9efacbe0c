// bench_elementwise_cuda — seam's elementwise and reduction kernels on the GPU against the device's
// copy bandwidth (issue 3: "elementwise and reductions against the measured device-to-device copy
// bandwidth"; goal: at least 80% of it).
//
//   bench_elementwise_cuda [--mib N] [--reps R]
//
// Every op runs through the public ops (seam/ops/*.hpp) on CUDA tensors, so what is timed is what a
// model gets: relu (read 1, write 1), x + y (read 2, write 1), x * 2 + 1 as two ops, sum and max along
// the last dim of a [rows, 1024] matrix and along the first dim (read 1, write 1/1024), and seam's
// own device copy (copy_: read 1, write 1). Each is first checked against the same op on the CPU on
// a small input (exact for relu, add and max; sums within 1e-5 relative), then timed: R runs after a
// warm-up, the device synchronised before and after, the median of the per-run times. GB/s counts
// the bytes each op must move (inputs read once, outputs written once); "% of copy" divides by
// copy_'s GB/s in the same run. Needs a CUDA build of seam (SEAM_WITH_CUDA); without one, or without a
// usable GPU, it says so and exits 77.
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

bool check(const char* what, const Tensor<float>& gpu, const Tensor<float>& cpu, double rtol) {
    const std::vector<float> g = gpu.to(Device::cpu()).contiguous().to_vector(), c = cpu.contiguous().to_vector();
    if (g.size() != c.size()) {
        std::printf("FAILED %s: %zu values on the GPU, %zu on the CPU\n", what, g.size(), c.size());
        return false;
    }
    for (size_t i = 0; i < g.size(); ++i) {
        const double tol = rtol * std::max(1.0, std::fabs(static_cast<double>(c[i])));
        if (!(std::fabs(static_cast<double>(g[i]) - c[i]) <= tol)) {
            std::printf("FAILED %s at %zu: GPU %.9g, CPU %.9g\n", what, i, g[i], c[i]);
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
        // 1. Correctness on a small input with awkward sizes.
        Generator gen(7);
        const Tensor<float> xs = randn<float>({37, 1031}, gen), ys = randn<float>({37, 1031}, gen);
        const Tensor<float> xg = xs.to(gpu), yg = ys.to(gpu);
        bool ok = check("relu", relu(xg), relu(xs), 0.0);
        ok = check("add", xg + yg, xs + ys, 0.0) && ok;
        ok = check("mul-add", xg * 2.0f + 1.0f, xs * 2.0f + 1.0f, 0.0) && ok;
        ok = check("sum last dim", sum(xg, {1}), sum(xs, {1}), 1e-5) && ok;
        ok = check("sum first dim", sum(xg, {0}), sum(xs, {0}), 1e-5) && ok;
        ok = check("max last dim", std::get<0>(max(xg, 1)), std::get<0>(max(xs, 1)), 0.0) && ok;
        if (!ok) return 1;
        std::printf("- validated against the CPU ops on [37, 1031]: relu, add, mul-add exact; sums within 1e-5; max exact\n");

        // 2. Timing.
        const int64_t n = mib * 1024 * 1024 / 4, cols = 1024, rows = n / cols;
        Tensor<float> x = randn<float>({rows, cols}, gen).to(gpu), y = randn<float>({rows, cols}, gen).to(gpu);
        Tensor<float> out = empty<float>({rows, cols}, gpu);
        const double bytes = static_cast<double>(rows * cols) * 4.0;
        struct Row { const char* op; double moved; double seconds; };
        std::vector<Row> results;
        results.push_back({"copy_ (seam's copy kernel)", 2 * bytes, time_op([&] { out.copy_(x); }, reps)});
        results.push_back({"relu", 2 * bytes, time_op([&] { out = relu(x); }, reps)});
        results.push_back({"x + y", 3 * bytes, time_op([&] { out = x + y; }, reps)});
        results.push_back({"x * 2 + 1 (two ops)", 4 * bytes, time_op([&] { out = x * 2.0f + 1.0f; }, reps)});
        results.push_back({"sum over the last dim [rows, 1024]", bytes, time_op([&] { out = sum(x, {1}); }, reps)});
        results.push_back({"sum over the first dim", bytes, time_op([&] { out = sum(x, {0}); }, reps)});
        results.push_back({"max over the last dim (values + indices)", bytes, time_op([&] { out = std::get<0>(max(x, 1)); }, reps)});
        const double copy_gbs = results[0].moved / results[0].seconds / 1e9;
        std::printf("- %lld MiB float32 tensors ([%lld, %lld]), median of %d runs after a warm-up, host clock around "
                    "a device synchronisation\n\n",
                    (long long)mib, (long long)rows, (long long)cols, reps);
        std::printf("| op | ms | GB/s moved | %% of copy_ |\n|---|---|---|---|\n");
        for (const Row& r : results) {
            const double gbs = r.moved / r.seconds / 1e9;
            std::printf("| %s | %.3f | %.0f | %.0f%% |\n", r.op, 1e3 * r.seconds, gbs, 100.0 * gbs / copy_gbs);
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
