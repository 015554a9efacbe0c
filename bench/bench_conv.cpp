// bench_conv — conv2d on the 13 convolutions of VGG-16 (batch 8, 64x64 input, 3x3, pad 1):
// seam's conv2d (ops/conv.hpp: tiled im2col + Eigen GEMM) against LibTorch's torch::conv2d
// (oneDNN, NCHW like seam), forward under no-grad and forward+backward (input, weight and bias
// gradients), with 1 and 2 threads.
//
//   bench_conv [--threads 1,2] [--quick] [--out FILE.md]
//
// Before timing, seam's forward output and all three gradients are checked against LibTorch's on
// every layer (and against seam's reference loops, cpu/reference/conv.hpp, on the smallest layer);
// a relative error max|seam - ref| / max|ref| above 1e-3 stops the program with exit status 1.
// FLOPs: forward 2*N*Cout*H*W*Cin*9, forward+backward 3x that. % of peak uses 117.3 GFLOP/s a core.
// seam and LibTorch are timed one after the other, layer by layer, in this process, with the same
// thread count, so the ratio seam/LibTorch is meaningful even on this shared, noisy machine.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <seam/cpu/reference/conv.hpp>
#include <seam/seam.hpp>

#include "bench_common.hpp"
#ifdef SEAM_BENCH_WITH_TORCH
#include <torch/torch.h>
#endif

namespace {

struct Layer {
    const char* name;
    int64_t in_channels, out_channels, size;  // square input size
};

// VGG-16's convolutions at 64x64 input (each block halves the size after its last conv).
const std::vector<Layer> kVggLayers = {
    {"conv1_1", 3, 64, 64},    {"conv1_2", 64, 64, 64},   {"conv2_1", 64, 128, 32},  {"conv2_2", 128, 128, 32},
    {"conv3_1", 128, 256, 16}, {"conv3_2", 256, 256, 16}, {"conv3_3", 256, 256, 16}, {"conv4_1", 256, 512, 8},
    {"conv4_2", 512, 512, 8},  {"conv4_3", 512, 512, 8},  {"conv5_1", 512, 512, 4},  {"conv5_2", 512, 512, 4},
    {"conv5_3", 512, 512, 4},
};
constexpr int64_t kBatch = 8;

/// Set the peer's threads: LibTorch's OpenMP pool, and the OpenBLAS pool underneath it, which
/// at::set_num_threads leaves alone (looked up at run time: it is a dependency of LibTorch, not of us).
void set_peer_threads(int threads) {
#ifdef SEAM_BENCH_WITH_TORCH
    torch::set_num_threads(threads);
    using SetThreads = void (*)(int);
    if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(threads);
#endif
    seam::set_num_threads(threads);  // last: both share libgomp's setting
}

/// max|a - b| / max|b| over n values (the normwise relative error; 0 when both are zero).
double relative_error(const float* a, const float* b, int64_t n) {
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n; ++i) {
        diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
        scale = std::max(scale, std::abs(static_cast<double>(b[i])));
    }
    return scale > 0 ? diff / scale : diff;
}

bool check(const char* layer, const char* what, double err, std::string& log) {
    log += std::string(layer) + " " + what + " " + bench::fmt(err * 1e6, 2) + "e-6; ";
    if (err <= 1e-3) return true;
    std::fprintf(stderr, "bench_conv: %s %s FAILED validation: relative error %g > 1e-3\n", layer, what, err);
    return false;
}

/// The tensors of one layer, shared by seam and (through from_blob) LibTorch.
struct LayerData {
    seam::Tensor<float> x, w, b, gy;
    explicit LayerData(const Layer& l, seam::Generator& gen) {
        x = seam::randn<float>({kBatch, l.in_channels, l.size, l.size}, gen);
        // PyTorch's default init scale keeps outputs O(1): uniform in +-1/sqrt(fan_in)
        const float bound = 1.0f / std::sqrt(static_cast<float>(l.in_channels * 9));
        w = seam::rand<float>({l.out_channels, l.in_channels, 3, 3}, gen, -bound, bound);
        b = seam::rand<float>({l.out_channels}, gen, -bound, bound);
        gy = seam::randn<float>({kBatch, l.out_channels, l.size, l.size}, gen);
    }
};

seam::Conv2dOptions same_3x3() {
    seam::Conv2dOptions o;
    o.padding = {1, 1};
    return o;
}

/// seam's forward and gradients for one layer (fresh leaves so nothing accumulates).
struct SeamResult {
    seam::Tensor<float> y, dx, dw, db;
};
SeamResult seam_forward_backward(const LayerData& d) {
    seam::Tensor<float> x = d.x.detach(), w = d.w.detach(), b = d.b.detach();
    x.set_requires_grad();
    w.set_requires_grad();
    b.set_requires_grad();
    seam::Tensor<float> y = seam::conv2d(x, w, b, same_3x3());
    y.backward(d.gy);
    return {y.detach(), x.grad(), w.grad(), b.grad()};
}

#ifdef SEAM_BENCH_WITH_TORCH
torch::Tensor as_torch(const seam::Tensor<float>& t) {
    std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
    return torch::from_blob(t.data(), shape, torch::kFloat32);
}
#endif

}  // namespace

int main(int argc, char** argv) {
    auto args = bench::Args::parse(argc, argv);
    const double peak_per_core = bench::measured_peak_gflops_per_core();
    std::vector<Layer> layers = kVggLayers;
    if (args.quick) layers = {kVggLayers[1], kVggLayers[5], kVggLayers[11]};
    const int samples = args.quick ? 3 : 7;
    seam::Generator gen(2024);
    std::string validation_log;

    // 1. Validation against the reference loops on the smallest layer (runs with or without LibTorch).
    {
        const Layer& l = kVggLayers[0];
        LayerData d(l, gen);
        SeamResult s = seam_forward_backward(d);
        auto ry = seam::reference::conv2d(d.x, d.w, d.b, {1, 1}, {1, 1}, {1, 1}, 1);
        auto rg = seam::reference::conv2d_backward(d.x, d.w, true, d.gy, {1, 1}, {1, 1}, {1, 1}, 1);
        bool ok = check("conv1_1 vs reference", "y", relative_error(s.y.data(), ry.data(), ry.numel()), validation_log) &&
                  check("conv1_1 vs reference", "dx", relative_error(s.dx.data(), rg.grad_input.data(), s.dx.numel()),
                        validation_log) &&
                  check("conv1_1 vs reference", "dw", relative_error(s.dw.data(), rg.grad_weight.data(), s.dw.numel()),
                        validation_log) &&
                  check("conv1_1 vs reference", "db", relative_error(s.db.data(), rg.grad_bias.data(), s.db.numel()),
                        validation_log);
        if (!ok) return 1;
    }

    bench::Report report("conv2d, VGG-16 layers (batch 8, 64x64 input, 3x3 pad 1): seam vs LibTorch");
    auto& out = report.body();
    out << "- **% of peak uses this CPU's measured FMA peak, " << bench::fmt(peak_per_core, 1)
        << " GFLOP/s per core** (best of 9 short FMA-loop runs at start; the line above is the harness's constant)\n";
#ifdef SEAM_BENCH_WITH_TORCH
    out << "- LibTorch " << TORCH_VERSION << ", torch::conv2d on NCHW float tensors (oneDNN), autograd for the backward\n";
#endif
    out << "- seam: seam::conv2d (tiled im2col + Eigen GEMM), autograd for the backward\n"
        << "- forward timed under no-grad; forward+backward = conv2d, then backward() with a given output gradient,\n"
        << "  computing input, weight and bias gradients (gradients reset to none between calls, in both)\n"
        << "- median of " << samples << " samples of >= 0.1 s; FLOPs fwd = 2*N*Cout*H*W*Cin*9, fwd+bwd = 3x\n\n"
        << "| layer | Cin->Cout @HxW | T | seam fwd ms | GFLOP/s (% peak) | LibTorch fwd ms | GFLOP/s (% peak) | "
           "fwd seam/LT | seam fwd+bwd ms | GFLOP/s (% peak) | LibTorch fwd+bwd ms | GFLOP/s (% peak) | fwd+bwd seam/LT |\n"
        << "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";

    struct Totals {
        double seam_fwd = 0, torch_fwd = 0, seam_train = 0, torch_train = 0;
    };
    std::vector<Totals> totals(args.threads.size());
    double total_flops = 0;

    for (const Layer& l : layers) {
        LayerData d(l, gen);
        const double flops = 2.0 * kBatch * l.out_channels * l.size * l.size * l.in_channels * 9;
        total_flops += flops;
        auto gflops = [&](double f, double ms) { return f / ms / 1e6; };
        auto cell = [&](double f, double ms, int threads) {
            double gf = gflops(f, ms);
            return bench::fmt(ms, 2) + " | " + bench::fmt(gf, 1) + " (" +
                   bench::fmt(100 * gf / (peak_per_core * threads), 0) + "%)";
        };

        // 2. Validation against LibTorch on every layer: forward and the three gradients.
#ifdef SEAM_BENCH_WITH_TORCH
        set_peer_threads(args.threads.front());
        torch::Tensor tx = as_torch(d.x).clone().requires_grad_(true);
        torch::Tensor tw = as_torch(d.w).clone().requires_grad_(true);
        torch::Tensor tb = as_torch(d.b).clone().requires_grad_(true);
        torch::Tensor tgy = as_torch(d.gy).clone();
        {
            SeamResult s = seam_forward_backward(d);
            torch::Tensor ty = torch::conv2d(tx, tw, tb, 1, 1);
            ty.backward(tgy);
            bool ok =
                check(l.name, "y", relative_error(s.y.data(), ty.data_ptr<float>(), ty.numel()), validation_log) &&
                check(l.name, "dx", relative_error(s.dx.data(), tx.grad().data_ptr<float>(), tx.numel()), validation_log) &&
                check(l.name, "dw", relative_error(s.dw.data(), tw.grad().data_ptr<float>(), tw.numel()), validation_log) &&
                check(l.name, "db", relative_error(s.db.data(), tb.grad().data_ptr<float>(), tb.numel()), validation_log);
            if (!ok) return 1;
        }
#endif

        for (size_t ti = 0; ti < args.threads.size(); ++ti) {
            const int threads = args.threads[ti];
            set_peer_threads(threads);
            seam::Tensor<float> x = d.x.detach(), w = d.w.detach(), b = d.b.detach();
            x.set_requires_grad();
            w.set_requires_grad();
            b.set_requires_grad();

            bench::Timing sf = bench::time_it(
                [&] {
                    seam::NoGradGuard no_grad;
                    seam::Tensor<float> y = seam::conv2d(x, w, b, same_3x3());
                },
                samples);
            out << "| " << l.name << " | " << l.in_channels << "->" << l.out_channels << " @" << l.size << " | " << threads
                << " | " << cell(flops, sf.median_ms, threads) << " | ";
#ifdef SEAM_BENCH_WITH_TORCH
            bench::Timing tf = bench::time_it(
                [&] {
                    torch::NoGradGuard no_grad;
                    torch::Tensor y = torch::conv2d(tx, tw, tb, 1, 1);
                },
                samples);
            out << cell(flops, tf.median_ms, threads) << " | " << bench::fmt(sf.median_ms / tf.median_ms, 2) << " | ";
#else
            bench::Timing tf;
            out << "– | – | – | ";
#endif
            bench::Timing st = bench::time_it(
                [&] {
                    seam::Tensor<float> y = seam::conv2d(x, w, b, same_3x3());
                    y.backward(d.gy);
                    x.zero_grad();
                    w.zero_grad();
                    b.zero_grad();
                },
                samples);
            out << cell(3 * flops, st.median_ms, threads) << " | ";
#ifdef SEAM_BENCH_WITH_TORCH
            bench::Timing tt = bench::time_it(
                [&] {
                    torch::Tensor y = torch::conv2d(tx, tw, tb, 1, 1);
                    y.backward(tgy);
                    tx.mutable_grad() = torch::Tensor();
                    tw.mutable_grad() = torch::Tensor();
                    tb.mutable_grad() = torch::Tensor();
                },
                samples);
            out << cell(3 * flops, tt.median_ms, threads) << " | " << bench::fmt(st.median_ms / tt.median_ms, 2) << " |\n";
#else
            bench::Timing tt;
            out << "– | – | – |\n";
#endif
            totals[ti].seam_fwd += sf.median_ms;
            totals[ti].torch_fwd += tf.median_ms;
            totals[ti].seam_train += st.median_ms;
            totals[ti].torch_train += tt.median_ms;
            std::fflush(stdout);
            std::fprintf(stderr, "bench_conv: %s, %d thread(s) done\n", l.name, threads);
        }
    }

    out << "\n**Sum over the " << layers.size() << " layers** (sum of medians):\n\n"
        << "| T | seam fwd ms (% peak) | LibTorch fwd ms (% peak) | fwd seam/LT | seam fwd+bwd ms (% peak) | "
           "LibTorch fwd+bwd ms (% peak) | fwd+bwd seam/LT |\n|---|---|---|---|---|---|---|\n";
    for (size_t ti = 0; ti < args.threads.size(); ++ti) {
        const Totals& t = totals[ti];
        const double peak = peak_per_core * args.threads[ti];
        auto pct = [&](double f, double ms) { return bench::fmt(100 * f / ms / 1e6 / peak, 0) + "%"; };
        out << "| " << args.threads[ti] << " | " << bench::fmt(t.seam_fwd, 1) << " (" << pct(total_flops, t.seam_fwd)
            << ") | ";
#ifdef SEAM_BENCH_WITH_TORCH
        out << bench::fmt(t.torch_fwd, 1) << " (" << pct(total_flops, t.torch_fwd) << ") | "
            << bench::fmt(t.seam_fwd / t.torch_fwd, 2) << " | ";
#else
        out << "– | – | ";
#endif
        out << bench::fmt(t.seam_train, 1) << " (" << pct(3 * total_flops, t.seam_train) << ") | ";
#ifdef SEAM_BENCH_WITH_TORCH
        out << bench::fmt(t.torch_train, 1) << " (" << pct(3 * total_flops, t.torch_train) << ") | "
            << bench::fmt(t.seam_train / t.torch_train, 2) << " |\n";
#else
        out << "– | – | – |\n";
#endif
    }
    out << "\nValidation before timing (max|seam - ref| / max|ref|, limit 1e-3): " << validation_log << "\n";
    report.finish(args.out);
    return 0;
}
