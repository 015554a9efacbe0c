// bench/bench_common.hpp — timing and reporting shared by the benchmark programs.
//
// Method (perf-anchors.md §A.0): warm up, then take `samples` samples, each at least
// `min_sample_seconds` long (the call is repeated inside a sample), and report the median and the
// minimum per call. The two cores of this machine are shared and noisy, so a comparison with the
// peer is only meaningful as a ratio measured in the same run, interleaved shape by shape.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <immintrin.h>

namespace bench {

/// This machine's measured fp32 FMA peak per core (perf-anchors.md §A.1).
inline constexpr double kPeakGflopsPerCore = 117.3;

/// This CPU's fp32 FMA peak on one core, measured here: 12 independent FMA chains (enough to hide
/// the latency of two FMA pipes), best of 9 runs of ~10 ms. The harness's kPeakGflopsPerCore
/// (117.3) is perf-anchors' AMD Zen 4, whose AVX-512 FMA is double-pumped; a CPU with two full
/// 512-bit FMA units reaches twice that, so a fixed constant would overstate "% of peak" there.
inline double measure_fma_peak_once() {
#if defined(__AVX512F__)
    using Vec = __m512;
    constexpr int lanes = 16;
    auto splat = [](float v) { return _mm512_set1_ps(v); };
    auto fma = [](Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); };
    auto first = [](Vec v) { return _mm512_cvtss_f32(v); };
#elif defined(__FMA__)
    using Vec = __m256;
    constexpr int lanes = 8;
    auto splat = [](float v) { return _mm256_set1_ps(v); };
    auto fma = [](Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); };
    auto first = [](Vec v) { return _mm256_cvtss_f32(v); };
#else
    return kPeakGflopsPerCore;  // no FMA: keep the harness's figure
#endif
#if defined(__AVX512F__) || defined(__FMA__)
    constexpr int chains = 12;
    constexpr long iterations = 200000;
    double best = 0;
    volatile float sink = 0;
    for (int run = 0; run < 9; ++run) {
        Vec acc[chains];
        for (int i = 0; i < chains; ++i) acc[i] = splat(static_cast<float>(i));
        const Vec m = splat(0.999999f), c = splat(1e-7f);
        auto t0 = std::chrono::steady_clock::now();
        for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
            for (int i = 0; i < chains; ++i) acc[i] = fma(acc[i], m, c);
        }
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        float s = 0;
        for (int i = 0; i < chains; ++i) s += first(acc[i]);
        sink = sink + s;
        best = std::max(best, 2.0 * lanes * chains * iterations / seconds / 1e9);
    }
    return best;
#endif
}

/// The per-core peak of this process, measured once (the report header and the tables share it).
inline double measured_peak_gflops_per_core() {
    static const double peak = measure_fma_peak_once();
    return peak;
}

struct Timing {
    double median_ms = 0, min_ms = 0;
};

inline Timing time_it(const std::function<void()>& f, int samples = 7, double min_sample_seconds = 0.1, int warmup = 2) {
    using clock = std::chrono::steady_clock;
    for (int i = 0; i < warmup; ++i) f();
    // calibrate the number of calls per sample
    auto t0 = clock::now();
    f();
    double one = std::chrono::duration<double>(clock::now() - t0).count();
    int reps = std::max(1, static_cast<int>(min_sample_seconds / std::max(one, 1e-9)));
    std::vector<double> per_call;
    for (int s = 0; s < samples; ++s) {
        auto a = clock::now();
        for (int r = 0; r < reps; ++r) f();
        per_call.push_back(std::chrono::duration<double, std::milli>(clock::now() - a).count() / reps);
    }
    std::sort(per_call.begin(), per_call.end());
    return {per_call[per_call.size() / 2], per_call.front()};
}

inline std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

inline std::string today() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
    return buf;
}

/// A markdown report accumulated in memory, printed and optionally written to a file.
class Report {
public:
    explicit Report(std::string title) {
        out_ << "# " << title << "\n\n"
             << "- date: " << today() << "\n- device: " << cpu_model() << "\n- fp32 FMA peak of one core, measured in this run: " << static_cast<int>(measured_peak_gflops_per_core() + 0.5)
             << " GFLOP/s (perf-anchors.md A.1 gives 117.3 for its AMD Zen 4)\n";
#ifdef SEAM_BENCH_WITH_TORCH
        out_ << "- peer: LibTorch (Debian libtorch-dev) in the same process, same thread count\n\n";
#else
        out_ << "- peer: none (built without LibTorch)\n\n";
#endif
    }
    std::ostringstream& body() { return out_; }
    void finish(const std::string& path) {
        std::string text = out_.str();
        std::fputs(text.c_str(), stdout);
        if (!path.empty()) std::ofstream(path) << text;
    }

private:
    std::ostringstream out_;
};

inline std::string fmt(double v, int digits = 1) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

/// `--out FILE` and `--threads LIST` parsing shared by the programs.
struct Args {
    std::string out;
    std::vector<int> threads{1, 2};
    bool quick = false;
    static Args parse(int argc, char** argv) {
        Args a;
        for (int i = 1; i < argc; ++i) {
            std::string s = argv[i];
            if (s == "--out" && i + 1 < argc) a.out = argv[++i];
            else if (s == "--quick") a.quick = true;
            else if (s == "--threads" && i + 1 < argc) {
                a.threads.clear();
                std::stringstream ss(argv[++i]);
                std::string tok;
                while (std::getline(ss, tok, ',')) a.threads.push_back(std::stoi(tok));
            }
        }
        return a;
    }
};

}  // namespace bench
