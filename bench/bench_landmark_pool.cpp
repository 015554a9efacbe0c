// bench_landmark_pool — FashionNet's landmark pooling on the CPU (ops/landmark_pool.hpp):
// forward and forward+backward on FashionNet's shape (batch 8, conv4_3 of a 224 input:
// [8, 512, 28, 28], 8 landmarks, 7x7-cell windows, 2x2 bins) and on the reduced CPU profile
// inputs of perf-anchors.md (batch 8 at 112 and 64 px: conv4_3 maps of 14x14 and 8x8).
//
//   bench_landmark_pool [--threads 1,2] [--quick] [--out bench/results/landmark_pool.md]
//
// Every shape is validated before timing: the fast path's outputs and argmax equal the
// reference (cpu/reference/landmark_pool.hpp) exactly, its feature gradient (and, soft gate,
// visibility gradient) agree within 1e-5 relative.
// Peer (with LibTorch): PyTorch has no landmark pooling op, so the peer is what a PyTorch user
// writes without a custom kernel: one gather of every bin's cells (indices precomputed from the
// same bin spans, outside the timing), amax per bin, gated, differentiated by autograd; it is
// validated against seam's output. mmfashion's affine_grid + grid_sample variant computes something else
// (bilinear crops of conv5) and is not comparable.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <string>

#include <seam/cpu/reference/landmark_pool.hpp>
#include <seam/ops/landmark_pool.hpp>
#include <seam/seam.hpp>

#include "bench_common.hpp"
#ifdef SEAM_BENCH_WITH_TORCH
#include <torch/torch.h>
#endif

namespace {

struct BenchShape {
    const char* name;
    int64_t N, C, H, W, L;
};

/// Like bench::time_it, but in CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): with one
/// thread all the work runs on the caller, and time spent descheduled by other processes on this
/// shared machine does not count. Median of 7 samples of at least 0.1 s CPU each, in ms per call.
double thread_cpu_ms(const std::function<void()>& f) {
    auto now = [] {
        timespec t{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
    };
    f(), f();
    double t0 = now();
    f();
    const int reps = std::max(1, static_cast<int>(100.0 / std::max(now() - t0, 1e-6)));
    std::vector<double> samples;
    for (int s = 0; s < 7; ++s) {
        const double a = now();
        for (int r = 0; r < reps; ++r) f();
        samples.push_back((now() - a) / reps);
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

/// Worst relative difference |a - b| / (1 + |b|); exact comparisons test for 0.
template <class T>
double worst_difference(const std::vector<T>& a, const std::vector<T>& b) {
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])) / (1.0 + std::abs(static_cast<double>(b[i]))));
    return worst;
}

bool validate(const BenchShape& s, const seam::LandmarkPoolOptions& opt, const seam::Tensor<float>& x,
              const seam::Tensor<float>& lm, const seam::Tensor<float>& vis, seam::Generator& gen) {
    auto xg = x.clone().set_requires_grad();
    auto vg = vis.clone().set_requires_grad();
    auto [out, idx] = seam::landmark_pool_with_indices(xg, lm, vg, opt);
    auto [ref, ref_idx] = seam::reference::landmark_pool(x, lm, vis, opt);
    if (out.to_vector() != ref.to_vector() || idx.to_vector() != ref_idx.to_vector()) {
        std::fprintf(stderr, "bench_landmark_pool: %s (%s gate): forward differs from the reference\n", s.name,
                     seam::landmark_gate_name(opt.gate));
        return false;
    }
    auto g = seam::randn<float>(out.shape(), gen);
    out.backward(g);
    double worst = worst_difference(xg.grad().to_vector(),
                                    seam::reference::landmark_pool_backward_features(g, ref_idx, vis, opt, x.shape()).to_vector());
    if (opt.gate == seam::LandmarkGate::soft)
        worst = std::max(worst, worst_difference(vg.grad().to_vector(),
                                                 seam::reference::landmark_pool_backward_visibility(g, x, lm, opt).to_vector()));
    if (worst > 1e-5) {
        std::fprintf(stderr, "bench_landmark_pool: %s (%s gate): backward differs from the reference (%g)\n", s.name,
                     seam::landmark_gate_name(opt.gate), worst);
        return false;
    }
    return true;
}

#ifdef SEAM_BENCH_WITH_TORCH
/// The PyTorch composition, vectorised the way a PyTorch user would: the cells of every bin as
/// precomputed flat indices (padded to the largest bin with a repeat of the bin's first cell, which
/// leaves the max unchanged), one gather over the map, amax over each bin's cells, a mask for
/// empty bins and switched-off landmarks, and the soft gate. Autograd differentiates it (gather's
/// backward is one scatter-add into one zero tensor).
struct TorchPeer {
    int64_t N = 0, C = 0, L = 0, B = 0, K = 0, bh = 0, bw = 0, cells = 0;
    torch::Tensor index;  // [N, 1, L*B*K] int64
    torch::Tensor keep;   // [N, L, 1, bh, bw] 0/1

    TorchPeer(const seam::detail::LandmarkPoolGeometry& g, const seam::detail::LandmarkPoolPlan<float>& plan)
        : N(g.N), C(g.C), L(g.L), B(g.bins()), bh(g.bins_h), bw(g.bins_w), cells(g.H * g.W) {
        for (const auto& sp : plan.spans)
            if (!sp.empty()) K = std::max(K, (sp.h1 - sp.h0) * (sp.w1 - sp.w0));
        K = std::max<int64_t>(K, 1);
        std::vector<int64_t> idx(static_cast<size_t>(N * L * B * K), 0);
        std::vector<float> kept(static_cast<size_t>(N * L * B), 0.0f);
        for (int64_t nlb = 0; nlb < N * L * B; ++nlb) {
            const auto& sp = plan.spans[static_cast<size_t>(nlb)];
            if (sp.empty()) continue;
            kept[static_cast<size_t>(nlb)] = plan.active[nlb / B] ? 1.0f : 0.0f;
            int64_t k = 0;
            for (int64_t h = sp.h0; h < sp.h1; ++h)
                for (int64_t w = sp.w0; w < sp.w1; ++w) idx[static_cast<size_t>(nlb * K + k++)] = h * g.W + w;
            for (; k < K; ++k) idx[static_cast<size_t>(nlb * K + k)] = sp.h0 * g.W + sp.w0;
        }
        index = torch::from_blob(idx.data(), {N, 1, L * B * K}, torch::kLong).clone();
        keep = torch::from_blob(kept.data(), {N, L, 1, bh, bw}).clone();
    }
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& vis) const {
        auto gathered = x.view({N, C, cells}).gather(2, index.expand({N, C, L * B * K}));
        auto pooled = gathered.view({N, C, L, B, K}).amax(-1).permute({0, 2, 1, 3}).reshape({N, L, C, bh, bw}) * keep;
        return vis.defined() ? pooled * vis.view({N, L, 1, 1, 1}) : pooled;
    }
};
#endif

}  // namespace

int main(int argc, char** argv) {
    auto args = bench::Args::parse(argc, argv);
    std::vector<BenchShape> shapes = {
        {"FashionNet b8 @224 (conv4_3 28x28)", 8, 512, 28, 28, 8},
        {"CPU profile b8 @112 (conv4_3 14x14)", 8, 512, 14, 14, 8},
        {"CPU profile b8 @64 (conv4_3 8x8)", 8, 512, 8, 8, 8},
    };
    if (args.quick) shapes.resize(1);
    bench::Report report("Landmark pooling (FashionNet) on the CPU: seam vs a LibTorch composition (gather + amax)");
    auto& out = report.body();
    {
        std::ifstream load("/proc/loadavg");
        std::string one, five;
        load >> one >> five;
        out << "Machine load average at start (1 min, 5 min): " << one << ", " << five
            << " (other processes share the cores: compare only within a row).\n\n";
    }
    out << "Options: 7x7-cell window, 2x2 bins, 8 landmarks drawn uniformly in [0.1, 0.9]^2. Hard gate: every\n"
        << "landmark visible (the most work). Soft gate: p uniform in [0, 1], visibility gradient included.\n"
        << "fwd runs without a graph; fwd+bwd runs the forward with a graph and backward() with a random gradient.\n\n"
        << "| shape | gate | threads | seam fwd ms (min) | seam fwd+bwd ms (min) | LibTorch fwd ms | LibTorch fwd+bwd ms | seam/LibTorch fwd+bwd |\n"
        << "|---|---|---|---|---|---|---|---|\n";
    std::ostringstream cpu_table;
    cpu_table << "\nOne thread, thread CPU time (robust to other processes sharing the machine):\n\n"
              << "| shape | gate | seam fwd ms | seam fwd+bwd ms | LibTorch fwd ms | LibTorch fwd+bwd ms | seam/LibTorch fwd+bwd |\n"
              << "|---|---|---|---|---|---|---|\n";
    seam::Generator gen(7);
    for (const auto& s : shapes) {
        auto x = seam::randn<float>({s.N, s.C, s.H, s.W}, gen);
        auto lm = seam::rand<float>({s.N, s.L, 2}, gen, 0.1f, 0.9f);
        for (seam::LandmarkGate gate : {seam::LandmarkGate::hard, seam::LandmarkGate::soft}) {
            seam::LandmarkPoolOptions opt;
            opt.gate = gate;
            auto vis = gate == seam::LandmarkGate::hard ? seam::ones<float>({s.N, s.L}) : seam::rand<float>({s.N, s.L}, gen);
            if (!validate(s, opt, x, lm, vis, gen)) return 1;
            auto xg = x.clone().set_requires_grad();
            auto vg = vis.clone().set_requires_grad(gate == seam::LandmarkGate::soft);
            auto grad = seam::randn<float>({s.N, s.L, s.C, 2, 2}, gen);
            auto forward = [&] {
                seam::NoGradGuard no_grad;
                auto y = seam::landmark_pool(x, lm, vis, opt);
            };
            auto forward_backward = [&] {
                xg.zero_grad();
                vg.zero_grad();
                seam::landmark_pool(xg, lm, vg, opt).backward(grad);
            };
#ifdef SEAM_BENCH_WITH_TORCH
            const auto g = seam::detail::landmark_pool_geometry("bench", x, lm, vis, opt);
            const TorchPeer peer(g, seam::detail::landmark_pool_plan("bench", g, lm, vis, opt));
            // Copies, so that the peer owns its memory and seam's tensors are never aliased.
            auto tx = torch::from_blob(x.data(), {s.N, s.C, s.H, s.W}).clone();
            auto tvis = torch::from_blob(vis.data(), {s.N, s.L}).clone();
            auto tgrad = torch::from_blob(grad.data(), {s.N, s.L, s.C, 2, 2}).clone();
            {
                torch::NoGradGuard no_grad;
                auto ty = peer.forward(tx, gate == seam::LandmarkGate::soft ? tvis : torch::Tensor()).contiguous();
                std::vector<float> tv(ty.data_ptr<float>(), ty.data_ptr<float>() + ty.numel());
                if (worst_difference(tv, seam::landmark_pool(x, lm, vis, opt).to_vector()) > 1e-6) {
                    std::fprintf(stderr, "bench_landmark_pool: the LibTorch peer disagrees with seam on %s\n", s.name);
                    return 1;
                }
            }
            auto txg = tx.clone().requires_grad_(true);
            auto tvg = tvis.clone().requires_grad_(gate == seam::LandmarkGate::soft);
            {
                // The peer's feature gradient must be seam's too (same work, not a shortcut).
                peer.forward(txg, gate == seam::LandmarkGate::soft ? tvg : torch::Tensor()).backward(tgrad);
                auto xs = x.clone().set_requires_grad();
                seam::landmark_pool(xs, lm, vis, opt).backward(grad);
                auto tg = txg.grad().contiguous();
                std::vector<float> tv(tg.data_ptr<float>(), tg.data_ptr<float>() + tg.numel());
                if (worst_difference(tv, xs.grad().to_vector()) > 1e-5) {
                    std::fprintf(stderr, "bench_landmark_pool: the LibTorch peer's gradient disagrees with seam on %s\n", s.name);
                    return 1;
                }
            }
#endif
            {
                seam::set_num_threads(1);
                const double f1 = thread_cpu_ms(forward), fb1 = thread_cpu_ms(forward_backward);
                cpu_table << "| " << s.name << " | " << seam::landmark_gate_name(gate) << " | " << bench::fmt(f1, 3) << " | "
                          << bench::fmt(fb1, 3) << " | ";
#ifdef SEAM_BENCH_WITH_TORCH
                torch::set_num_threads(1);
                const bool soft_vis = gate == seam::LandmarkGate::soft;
                const double tf1 = thread_cpu_ms([&] {
                    torch::NoGradGuard no_grad;
                    auto y = peer.forward(tx, soft_vis ? tvis : torch::Tensor());
                });
                const double tfb1 = thread_cpu_ms([&] {
                    txg.mutable_grad() = torch::Tensor();
                    if (soft_vis) tvg.mutable_grad() = torch::Tensor();
                    peer.forward(txg, soft_vis ? tvg : torch::Tensor()).backward(tgrad);
                });
                cpu_table << bench::fmt(tf1, 3) << " | " << bench::fmt(tfb1, 3) << " | " << bench::fmt(fb1 / tfb1, 3) << " |\n";
#else
                cpu_table << "– | – | – |\n";
#endif
            }
            for (int threads : args.threads) {
                seam::set_num_threads(threads);
                const bench::Timing f = bench::time_it(forward), fb = bench::time_it(forward_backward);
                out << "| " << s.name << " | " << seam::landmark_gate_name(gate) << " | " << threads << " | "
                    << bench::fmt(f.median_ms, 3) << " (" << bench::fmt(f.min_ms, 3) << ") | " << bench::fmt(fb.median_ms, 3)
                    << " (" << bench::fmt(fb.min_ms, 3) << ") | ";
#ifdef SEAM_BENCH_WITH_TORCH
                torch::set_num_threads(threads);
                const auto soft_vis = gate == seam::LandmarkGate::soft;
                const bench::Timing tf = bench::time_it([&] {
                    torch::NoGradGuard no_grad;
                    auto y = peer.forward(tx, soft_vis ? tvis : torch::Tensor());
                });
                const bench::Timing tfb = bench::time_it([&] {
                    txg.mutable_grad() = torch::Tensor();
                    if (soft_vis) tvg.mutable_grad() = torch::Tensor();
                    peer.forward(txg, soft_vis ? tvg : torch::Tensor()).backward(tgrad);
                });
                out << bench::fmt(tf.median_ms, 3) << " | " << bench::fmt(tfb.median_ms, 3) << " | "
                    << bench::fmt(fb.median_ms / tfb.median_ms, 3) << " |\n";
#else
                out << "– | – | – |\n";
#endif
            }
        }
    }
    out << cpu_table.str();
    out << "\nEvery shape and gate validated against cpu/reference/landmark_pool.hpp before timing (forward and argmax\n"
        << "exact, gradients within 1e-5 relative)";
#ifdef SEAM_BENCH_WITH_TORCH
    out << "; the LibTorch composition validated against seam's forward and feature gradient";
#endif
    out << ".\n";
    report.finish(args.out);
    return 0;
}
