// bench_landmark_pool_cuda — FashionNet's landmark pooling on one GPU: the CUDA kernels of
// kernels/seam/landmark_pool.cuh (the ones ops/landmark_pool.hpp dispatches to for CUDA tensors),
// forward and forward+backward at FashionNet's shapes: conv4_3 of a 224 input ([N, 512, 28, 28]),
// 8 landmarks, 7x7-cell windows, 2x2 bins, batch 32 and 128, hard and soft gate, float.
//
// A standalone nvcc program (it needs neither seam::cuda nor CMake):
//
//   nvcc -std=c++20 -O3 -arch=sm_90 -Iinclude -Ikernels -Xcompiler -fopenmp
//        bench/bench_landmark_pool_cuda.cu -o bench_landmark_pool_cuda -lgomp   (one command line)
//   ./bench_landmark_pool_cuda [--reps 50]
//
// Before any timing it validates the kernels: on a reduced shape (same map, landmarks, window and
// bins, fewer images and channels; landmarks also outside [0, 1]) against the naive CPU reference
// (cpu/reference/landmark_pool.hpp), then at every timed shape against the CPU op
// (ops/landmark_pool.hpp, itself tested against that reference): forward and argmax exactly, the
// features gradient and the soft gate's visibility gradient within a rounding tolerance. Any
// mismatch stops the program with exit 1 before a figure is printed.
//
// Timing: cudaEvents around the launches on one stream; before every sample the L2 cache is
// flushed by writing a buffer of twice its size, so each call reads its features from HBM as in
// a training step. 3 warm-up calls, then --reps samples; the table gives median and minimum per
// call. "fwd" is the forward kernel (output and argmax, what a training step runs); "fwd+bwd" adds
// the features-gradient kernel and, with the soft gate, the visibility-gradient kernel.
// The inputs are deterministic formulas shared with bench/landmark_pool_torch.py, which times the
// same operation composed from PyTorch ops and prints the same table, so the two can be compared
// as a ratio (bench/gpu_check.sh does that): landmark k = n*L + l at
// x = 0.1 + 0.8*frac(0.618034 k), y = 0.1 + 0.8*frac(0.414214 k); hard gate: every landmark
// visible (the most work); soft gate: p = frac(0.754878 k).
//
// Exit status: 0 done, 1 a validation failure or CUDA error, 77 no usable GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <seam/cpu/reference/landmark_pool.hpp>
#include <seam/landmark_pool.cuh>
#include <seam/ops/landmark_pool.hpp>

namespace {

namespace sk = seam::kernels;
using seam::LandmarkGate;
using seam::LandmarkPoolOptions;
using seam::Tensor;

#define CUDA_OK(call)                                                                                         \
    do {                                                                                                      \
        const cudaError_t err_ = (call);                                                                      \
        if (err_ != cudaSuccess) {                                                                            \
            std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(err_)); \
            std::exit(1);                                                                                     \
        }                                                                                                     \
    } while (0)

template <class T>
struct DeviceArray {
    T* ptr = nullptr;
    size_t count = 0;
    explicit DeviceArray(size_t n) : count(n) { CUDA_OK(cudaMalloc(&ptr, (n ? n : 1) * sizeof(T))); }
    explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) {
        if (count) CUDA_OK(cudaMemcpy(ptr, host.data(), count * sizeof(T), cudaMemcpyHostToDevice));
    }
    ~DeviceArray() { cudaFree(ptr); }
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
    std::vector<T> download() const {
        std::vector<T> host(count);
        if (count) CUDA_OK(cudaMemcpy(host.data(), ptr, count * sizeof(T), cudaMemcpyDeviceToHost));
        return host;
    }
};

struct BenchShape {
    int64_t N, C, H, W, L;
    std::array<int64_t, 2> window{7, 7}, bins{2, 2};
    std::string str() const {
        return "N=" + std::to_string(N) + " C=" + std::to_string(C) + " " + std::to_string(H) + "x" + std::to_string(W) +
               " L=" + std::to_string(L) + " win " + std::to_string(window[0]) + "x" + std::to_string(window[1]) +
               " bins " + std::to_string(bins[0]) + "x" + std::to_string(bins[1]);
    }
};

double frac(double v) { return v - std::floor(v); }

/// The inputs both benchmarks use (see the file comment); features are randn from seam's generator.
struct Inputs {
    Tensor<float> features, landmarks, visibility;
};

Inputs make_inputs(const BenchShape& s, LandmarkGate gate, bool spread_outside, uint64_t seed) {
    seam::Generator gen(seed);
    Inputs in;
    in.features = seam::randn<float>({s.N, s.C, s.H, s.W}, gen);
    in.landmarks = seam::empty<float>({s.N, s.L, 2});
    in.visibility = seam::empty<float>({s.N, s.L});
    for (int64_t k = 0; k < s.N * s.L; ++k) {
        // For validation the landmarks also cover [-0.4, 1.4]: windows cut by the border and beyond it.
        const double lo = spread_outside ? -0.4 : 0.1, span = spread_outside ? 1.8 : 0.8;
        in.landmarks.data()[2 * k] = static_cast<float>(lo + span * frac(0.618034 * static_cast<double>(k)));
        in.landmarks.data()[2 * k + 1] = static_cast<float>(lo + span * frac(0.414214 * static_cast<double>(k)));
        const double p = frac(0.754878 * static_cast<double>(k));
        in.visibility.data()[k] = gate == LandmarkGate::hard && !spread_outside ? 1.0f : static_cast<float>(p);
    }
    return in;
}

sk::LandmarkPoolShape kernel_shape(const BenchShape& s, const LandmarkPoolOptions& opt) {
    sk::LandmarkPoolShape k;
    k.N = s.N, k.C = s.C, k.H = s.H, k.W = s.W, k.L = s.L;
    k.window_h = opt.window[0], k.window_w = opt.window[1], k.bins_h = opt.bins[0], k.bins_w = opt.bins[1];
    k.gate = static_cast<int>(opt.gate);
    k.threshold = opt.threshold;
    return k;
}

/// The GPU side of one shape: inputs, outputs and gradients in device memory.
struct GpuRun {
    sk::LandmarkPoolShape shape;
    DeviceArray<float> features, landmarks, visibility, grad_out, out, grad_features, grad_visibility;
    DeviceArray<int64_t> argmax;

    GpuRun(const BenchShape& s, const LandmarkPoolOptions& opt, const Inputs& in, const std::vector<float>& grad)
        : shape(kernel_shape(s, opt)),
          features(in.features.to_vector()),
          landmarks(in.landmarks.to_vector()),
          visibility(in.visibility.to_vector()),
          grad_out(grad),
          out(grad.size()),
          grad_features(static_cast<size_t>(in.features.numel())),
          grad_visibility(static_cast<size_t>(s.N * s.L)),
          argmax(grad.size()) {}

    void forward(cudaStream_t stream) {
        CUDA_OK(sk::landmark_pool_forward<float>(features.ptr, landmarks.ptr, visibility.ptr, out.ptr, argmax.ptr, shape,
                                                 stream));
    }
    void backward(cudaStream_t stream) {
        CUDA_OK(sk::landmark_pool_backward_features<float>(grad_out.ptr, argmax.ptr, visibility.ptr, grad_features.ptr,
                                                           shape, stream));
        if (shape.gate == sk::kLandmarkGateSoft)
            CUDA_OK(sk::landmark_pool_backward_visibility<float>(grad_out.ptr, features.ptr, argmax.ptr,
                                                                 grad_visibility.ptr, shape, stream));
    }
};

/// Worst |got - want| / (atol + rtol*|want|); <= 1 passes. NaN only matches NaN.
double worst_ratio(const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol) {
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double g = got[i], w = want[i];
        if (std::isnan(g) || std::isnan(w)) {
            if (!(std::isnan(g) && std::isnan(w))) return INFINITY;
            continue;
        }
        worst = std::max(worst, std::abs(g - w) / (atol + rtol * std::abs(w)));
    }
    return worst;
}

/// Runs the kernels on `in` and compares with the CPU: `use_reference` picks the naive reference
/// (small shapes only: it scans the whole map per output) or the CPU op.
bool validate(const BenchShape& s, LandmarkGate gate, const Inputs& in, bool use_reference, const char* what) {
    LandmarkPoolOptions opt;
    opt.window = s.window, opt.bins = s.bins, opt.gate = gate;
    const bool soft = gate == LandmarkGate::soft;
    seam::Generator gen(99);
    Tensor<float> want_out, want_gf, want_gv;
    Tensor<int64_t> want_idx;
    const Tensor<float> grad = seam::randn<float>({s.N, s.L, s.C, s.bins[0], s.bins[1]}, gen);
    if (use_reference) {
        auto [o, i] = seam::reference::landmark_pool(in.features, in.landmarks, in.visibility, opt);
        want_out = o, want_idx = i;
        want_gf = seam::reference::landmark_pool_backward_features(grad, i, in.visibility, opt, in.features.shape());
        if (soft) want_gv = seam::reference::landmark_pool_backward_visibility(grad, in.features, in.landmarks, opt);
    } else {
        Tensor<float> f = in.features.clone().set_requires_grad(), v = in.visibility.clone().set_requires_grad(soft);
        auto [o, i] = seam::landmark_pool_with_indices(f, in.landmarks, v, opt);
        o.backward(grad);
        want_out = o.detach(), want_idx = i, want_gf = f.grad();
        if (soft) want_gv = v.grad();
    }
    GpuRun run(s, opt, in, grad.to_vector());
    run.forward(nullptr);
    run.backward(nullptr);
    CUDA_OK(cudaDeviceSynchronize());
    const std::vector<float> out = run.out.download();
    const std::vector<int64_t> idx = run.argmax.download();
    bool ok = true;
    if (std::memcmp(out.data(), want_out.to_vector().data(), out.size() * sizeof(float)) != 0) {
        std::fprintf(stderr, "validation (%s, %s gate, against the %s): forward differs\n", s.str().c_str(),
                     seam::landmark_gate_name(gate), what);
        ok = false;
    }
    if (idx != want_idx.to_vector()) {
        std::fprintf(stderr, "validation (%s, %s gate, against the %s): argmax differs\n", s.str().c_str(),
                     seam::landmark_gate_name(gate), what);
        ok = false;
    }
    const double gf = worst_ratio(run.grad_features.download(), want_gf.to_vector(), 1e-5, 1e-5);
    if (gf > 1) {
        std::fprintf(stderr, "validation (%s, %s gate, against the %s): features gradient differs (%.3g x tolerance)\n",
                     s.str().c_str(), seam::landmark_gate_name(gate), what, gf);
        ok = false;
    }
    if (soft) {
        // A sum of C*bins products in another order: a tolerance that grows with its length.
        const double tol = 1e-6 * static_cast<double>(s.C * s.bins[0] * s.bins[1]);
        const double gv = worst_ratio(run.grad_visibility.download(), want_gv.to_vector(), tol, 1e-5);
        if (gv > 1) {
            std::fprintf(stderr, "validation (%s, soft gate, against the %s): visibility gradient differs (%.3g x tolerance)\n",
                         s.str().c_str(), what, gv);
            ok = false;
        }
    }
    return ok;
}

struct Timing {
    double median_ms, min_ms;
};

/// Median and minimum of `reps` samples of `body`, each after an L2 flush, timed with events.
template <class F>
Timing time_gpu(F body, int reps, void* flush, size_t flush_bytes, cudaStream_t stream) {
    cudaEvent_t start, stop;
    CUDA_OK(cudaEventCreate(&start));
    CUDA_OK(cudaEventCreate(&stop));
    for (int i = 0; i < 3; ++i) body();  // warm-up
    std::vector<double> samples;
    for (int r = 0; r < reps; ++r) {
        CUDA_OK(cudaMemsetAsync(flush, r & 0xff, flush_bytes, stream));
        CUDA_OK(cudaEventRecord(start, stream));
        body();
        CUDA_OK(cudaEventRecord(stop, stream));
        CUDA_OK(cudaEventSynchronize(stop));
        float ms = 0;
        CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
        samples.push_back(ms);
    }
    CUDA_OK(cudaEventDestroy(start));
    CUDA_OK(cudaEventDestroy(stop));
    std::sort(samples.begin(), samples.end());
    return {samples[samples.size() / 2], samples.front()};
}

}  // namespace

int main(int argc, char** argv) {
    int reps = 50;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
        else {
            std::fprintf(stderr, "usage: %s [--reps N]\n", argv[0]);
            return 2;
        }
    }
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::printf("bench_landmark_pool_cuda: no usable GPU, not run\n");
        return 77;
    }
    cudaDeviceProp prop{};
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    std::printf("# Landmark pooling (FashionNet) on the GPU: seam's CUDA kernels\n\n");
    std::printf("- device: %s (sm_%d%d, %d SMs, L2 %d MiB)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                prop.l2CacheSize >> 20);

    // 1. Validation, before any timing.
    const BenchShape small{2, 13, 28, 28, 8};
    for (LandmarkGate gate : {LandmarkGate::none, LandmarkGate::hard, LandmarkGate::soft})
        if (!validate(small, gate, make_inputs(small, gate, /*spread_outside=*/true, 11), true, "CPU reference"))
            return 1;
    const std::vector<BenchShape> shapes = {{32, 512, 28, 28, 8}, {128, 512, 28, 28, 8}};
    for (const BenchShape& s : shapes)
        for (LandmarkGate gate : {LandmarkGate::hard, LandmarkGate::soft})
            if (!validate(s, gate, make_inputs(s, gate, false, 7), false, "CPU op")) return 1;
    std::printf("- validated: the naive CPU reference (%s; gates none, hard, soft; landmarks in [-0.4, 1.4]) and the "
                "CPU op at every timed shape: forward and argmax bit for bit, gradients within rounding\n",
                small.str().c_str());

    // 2. Timing.
    const size_t flush_bytes = std::max<size_t>(2 * static_cast<size_t>(prop.l2CacheSize), size_t(8) << 20);
    void* flush = nullptr;
    CUDA_OK(cudaMalloc(&flush, flush_bytes));
    cudaStream_t stream;
    CUDA_OK(cudaStreamCreate(&stream));
    std::printf("- timing: cudaEvents, median and min of %d samples after 3 warm-ups; L2 flushed (%zu MiB written) "
                "before each sample; float32\n\n",
                reps, flush_bytes >> 20);
    std::printf("| shape | gate | fwd median ms | fwd min ms | fwd+bwd median ms | fwd+bwd min ms |\n");
    std::printf("|---|---|---|---|---|---|\n");
    for (const BenchShape& s : shapes)
        for (LandmarkGate gate : {LandmarkGate::hard, LandmarkGate::soft}) {
            LandmarkPoolOptions opt;
            opt.window = s.window, opt.bins = s.bins, opt.gate = gate;
            const Inputs in = make_inputs(s, gate, false, 7);
            seam::Generator gen(5);
            GpuRun run(s, opt, in, seam::randn<float>({s.N, s.L, s.C, s.bins[0], s.bins[1]}, gen).to_vector());
            const Timing fwd = time_gpu([&] { run.forward(stream); }, reps, flush, flush_bytes, stream);
            const Timing both = time_gpu(
                [&] {
                    run.forward(stream);
                    run.backward(stream);
                },
                reps, flush, flush_bytes, stream);
            std::printf("| %s | %s | %.4f | %.4f | %.4f | %.4f |\n", s.str().c_str(), seam::landmark_gate_name(gate),
                        fwd.median_ms, fwd.min_ms, both.median_ms, both.min_ms);
        }
    CUDA_OK(cudaStreamDestroy(stream));
    CUDA_OK(cudaFree(flush));
    return 0;
}
