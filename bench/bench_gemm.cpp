// bench_gemm — SGEMM on VGG-16's im2col shapes: seam (cpu/gemm.hpp: on AVX-512 builds the packed
// kernel of cpu/sgemm_avx512.hpp, one per thread, the product split along N or M outside the GEMM)
// against LibTorch's torch::mm (whatever BLAS LibTorch loads; on Debian the reference netlib one).
// Issue floor: >= 65% of the measured peak on the shapes with K >= 1152.
//
//   bench_gemm [--threads 1,2] [--quick] [--out bench/results/gemm.md]
//
// Validates every shape against a double-precision reference on a sampled set of entries before
// timing. Reports GFLOP/s, % of this CPU's fp32 FMA peak measured in the same run and seam/LibTorch time.
#include <cmath>
#include <cstdio>

#include <seam/cpu/gemm.hpp>
#include <seam/seam.hpp>

#include "bench_common.hpp"
#ifdef SEAM_BENCH_WITH_TORCH
#include <torch/torch.h>
#endif

struct GemmShape {
    const char* name;
    int64_t m, n, k;
    bool trans_a = false, trans_b = false;
};

int main(int argc, char** argv) {
    auto args = bench::Args::parse(argc, argv);
    std::vector<GemmShape> shapes = {
        {"v64b8_conv1_2", 64, 32768, 576},     {"v64b8_conv2_2", 128, 8192, 1152},
        {"v64b8_conv3_2", 256, 2048, 2304},    {"v64b8_conv4_2", 512, 512, 4608},
        {"v64b8_conv5_2", 512, 128, 4608},     {"v224b1_conv3_2", 256, 3136, 2304},
        {"v64b8_conv3_2 dW", 256, 2304, 2048, false, true},
        {"v64b8_conv3_2 dcol", 2304, 2048, 256, true, false},
        {"sq1024", 1024, 1024, 1024},
    };
    if (args.quick) shapes.resize(3);
    const double peak_per_core = bench::measured_peak_gflops_per_core();
    bench::Report report("SGEMM on VGG-16 im2col shapes: seam vs LibTorch");
    auto& out = report.body();
    out << "| shape | M x N x K | threads | seam ms | seam GFLOP/s (% peak) | LibTorch ms | LibTorch GFLOP/s | seam/LibTorch time |\n"
        << "|---|---|---|---|---|---|---|---|\n";
    seam::Generator gen(1);
    for (const auto& s : shapes) {
        // A is m x k (stored k x m when transposed), B is k x n (stored n x k when transposed)
        auto a = seam::randn<float>(s.trans_a ? seam::Shape{s.k, s.m} : seam::Shape{s.m, s.k}, gen);
        auto b = seam::randn<float>(s.trans_b ? seam::Shape{s.n, s.k} : seam::Shape{s.k, s.n}, gen);
        auto c = seam::empty<float>({s.m, s.n});
        const int64_t lda = s.trans_a ? s.m : s.k, ldb = s.trans_b ? s.k : s.n;
        auto run = [&] {
            seam::cpu::parallel_gemm<float>(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f,
                                            c.data(), s.n);
        };
        run();
        // validate 64 sampled entries against a double-precision dot product
        double worst = 0;
        for (int t = 0; t < 64; ++t) {
            int64_t i = (t * 7919) % s.m, j = (t * 104729) % s.n;
            double ref = 0;
            for (int64_t p = 0; p < s.k; ++p) {
                double av = s.trans_a ? a.data()[p * s.m + i] : a.data()[i * s.k + p];
                double bv = s.trans_b ? b.data()[j * s.k + p] : b.data()[p * s.n + j];
                ref += av * bv;
            }
            worst = std::max(worst, std::abs(ref - c.data()[i * s.n + j]) / (1.0 + std::abs(ref)));
        }
        if (worst > 1e-3) {
            std::fprintf(stderr, "bench_gemm: %s FAILED validation (relative error %g)\n", s.name, worst);
            return 1;
        }
        const double flops = 2.0 * s.m * s.n * s.k;
        for (int threads : args.threads) {
            seam::set_num_threads(threads);
            bench::Timing ts = bench::time_it(run);
            double seam_gf = flops / ts.median_ms / 1e6;
            out << "| " << s.name << " | " << s.m << "x" << s.n << "x" << s.k << " | " << threads << " | "
                << bench::fmt(ts.median_ms, 2) << " | " << bench::fmt(seam_gf) << " ("
                << bench::fmt(100 * seam_gf / (peak_per_core * threads), 0) << "%) | ";
#ifdef SEAM_BENCH_WITH_TORCH
            torch::set_num_threads(threads);
            auto ta = torch::from_blob(a.data(), {a.size(0), a.size(1)});
            auto tb = torch::from_blob(b.data(), {b.size(0), b.size(1)});
            auto lhs = s.trans_a ? ta.t() : ta;
            auto rhs = s.trans_b ? tb.t() : tb;
            auto tc = torch::empty({s.m, s.n});
            bench::Timing tt = bench::time_it([&] { torch::mm_out(tc, lhs, rhs); });
            out << bench::fmt(tt.median_ms, 2) << " | " << bench::fmt(flops / tt.median_ms / 1e6) << " | "
                << bench::fmt(ts.median_ms / tt.median_ms, 2) << " |\n";
#else
            out << "– | – | – |\n";
#endif
        }
    }
    out << "\n% of peak uses this CPU's measured fp32 FMA peak, " << bench::fmt(peak_per_core) << " GFLOP/s per core.\n";
    out << "\nAll shapes validated against a double-precision reference on 64 sampled entries before timing.\n";
    report.finish(args.out);
    return 0;
}
