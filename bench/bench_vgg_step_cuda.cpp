// bench_vgg_step_cuda — one training step of VGG-16's conv trunk on the GPU with seam (issue 3,
// item 6): the network of bench_vgg_step (bench/vgg_trunk.hpp: 13 convs with bias + ReLU, 5
// max-pools), moved to the GPU with Module::to; a step is forward, loss = sum of squares of the
// output, backward, SGD step (lr 1e-6, momentum 0.9) and zero_grad. bench/vgg_step_torch.py is the
// PyTorch peer: same network, same step, same flags, same table, so bench/gpu_check.sh joins the two.
//
//   bench_vgg_step_cuda [--batch 16] [--size 224] [--steps 10] [--warmup 3]
//                       [--conv implicit_gemm|winograd|both|tf32] [--out FILE.md]
//
// --conv (default both): the convolution algorithm (cuda::set_conv_algorithm): seam's implicit GEMM
// (the library's default; row "seam"), and/or Winograd F(2x2, 3x3) (kernels/seam/winograd.cuh, opt-in;
// row "seam winograd": every VGG conv is 3x3, stride 1, padding 1). Each is validated, then timed.
// tf32: seam's TF32 conv kernels (implicit_gemm_tf32, version from SEAM_TF32_CONV_VERSION; row
// "seam tf32"), whose peer is bench/vgg_step_torch.py --tf32; validated within kTf32Tolerance.
//
// Validation before timing: one step of the same network (same weights, same input; batch 2, 32x32)
// on the CPU and on the GPU; the loss, every output value and every parameter gradient must agree
// within 1e-3 relative to the largest CPU value of each tensor (ReLU outputs are often near zero, so
// an element-wise relative test would be meaningless there), or the program exits 1 before timing.
// Timing: --warmup steps, then --steps steps; each step's time is the host clock from a device
// synchronisation before the forward to one after zero_grad (what a training loop waits for),
// median and min reported. The forward / backward / update split comes from CUDA events recorded on
// the stream between the phases (no extra synchronisation inside the step). Conv GFLOP/s counts only
// the 13 convolutions, 3x their forward FLOPs per step (forward, input gradient, weight gradient),
// bench_vgg_step's convention: the first layer's input gradient, which the step does not need, is
// in the count.
// Peak memory: the most seam's caching allocator handed out at once over the warm-up and timed
// steps (parameters, momentum buffers and the input included; CUDA context and cached free blocks
// not), comparable to torch.cuda.max_memory_allocated. No L2 flush: a step moves gigabytes.
//
// Needs a CUDA build of seam (it links seam::cuda). Exit status: 0 done, 1 validation or run
// failed, 2 bad flags, 77 not run (no usable GPU, or seam built without CUDA).
#include <cstdio>
#include <cstdlib>
#include <string>

#if SEAM_WITH_CUDA
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"
#include "seam/cuda/runtime.hpp"
#include "seam/nn/layers.hpp"
#include "seam/nn/sequential.hpp"
#include "seam/ops/elementwise.hpp"
#include "seam/ops/reduce.hpp"
#include "seam/optim/sgd.hpp"

#include "vgg_trunk.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kLearningRate = 1e-6, kMomentum = 0.9;
constexpr double kTolerance = 1e-3;
// TF32 (--conv tf32): each of the 13 convolutions rounds its operands to 10-bit mantissas (unit
// roundoff 2^-11 = 4.9e-4). The check's 32x32 input leaves the last blocks 2x2 and 1x1 pixels, where
// a rounding that flips a ReLU or a max-pool choice moves a few weights' gradients by a sizable part
// of the largest one. Measured on an H200 (2026-11-27, bench/results/gpu-h200-2026-11-27-run5.md):
// worst gradient error 0.12 for seam's TF32 versions 5 and 6, 0.11 for PyTorch with cuDNN's TF32,
// the forward within 1e-4. 0.25 passes both and still fails a wrong kernel, whose errors are of the
// order of the values. The same rule as the peer's (vgg_step_torch.py --tf32).
constexpr double kTf32Tolerance = 0.25;
constexpr int64_t kCheckBatch = 2, kCheckSize = 32;

struct Options {
    int64_t batch = 16, size = 224;
    int steps = 10, warmup = 3;
    std::string conv = "both";
    std::string out;
};

[[noreturn]] void usage(const char* problem) {
    std::fprintf(stderr,
                 "bench_vgg_step_cuda: %s\nusage: bench_vgg_step_cuda [--batch N] [--size S] [--steps N] [--warmup N] "
                 "[--conv implicit_gemm|winograd|both|tf32] "
                 "[--out FILE.md]\n  (S >= 32: the trunk halves the size five times)\n",
                 problem);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value after " + a).c_str());
            return argv[++i];
        };
        if (a == "--batch") o.batch = std::atoll(value().c_str());
        else if (a == "--size") o.size = std::atoll(value().c_str());
        else if (a == "--steps") o.steps = std::atoi(value().c_str());
        else if (a == "--warmup") o.warmup = std::atoi(value().c_str());
        else if (a == "--out") o.out = value();
        else if (a == "--conv") o.conv = value();
        else if (a == "--help" || a == "-h") usage("help");
        else usage(("unknown argument " + a).c_str());
    }
    if (o.batch < 1 || o.size < 32 || o.steps < 1 || o.warmup < 0)
        usage("--batch and --steps must be >= 1, --size >= 32, --warmup >= 0");
    if (o.conv != "implicit_gemm" && o.conv != "winograd" && o.conv != "both" && o.conv != "tf32")
        usage("--conv takes implicit_gemm, winograd, both or tf32");
    return o;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::string fmt(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

std::vector<float> host_values(const seam::Tensor<float>& t) {
    return t.detach().to(seam::Device::cpu()).contiguous().to_vector();
}

/// max |got - want| / max |want| (the absolute difference when want is all zero); infinity when
/// the sizes differ or a value is not finite.
double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
    if (got.size() != want.size()) return INFINITY;
    double diff = 0, scale = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
        if (!std::isfinite(d)) return INFINITY;
        diff = std::max(diff, d);
        scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
    }
    return scale > 0 ? diff / scale : diff;
}

/// One forward + loss + backward of `net` on `x` (x on the network's device). Returns the loss;
/// the output's values and the parameters' gradients go to `output` and `grads` (host copies).
double one_step_values(seam::nn::Sequential<float>& net, const seam::Tensor<float>& x, std::vector<float>& output,
                       std::vector<std::vector<float>>& grads) {
    seam::Tensor<float> y = net.forward(x);
    seam::Tensor<float> loss = seam::sum(y * y);
    loss.backward();
    output = host_values(y);
    grads.clear();
    for (const seam::Tensor<float>& p : net.parameters()) grads.push_back(host_values(p.grad()));
    return loss.item();
}

/// The same weights and input on the CPU and on `gpu`; returns a one-line summary, or "" after
/// printing the failure.
std::string validate(seam::Device gpu, double tolerance) {
    seam::manual_seed(7);
    auto net = bench::make_vgg16_trunk<float>();
    seam::Generator gen(11);
    const seam::Tensor<float> x = seam::randn<float>({kCheckBatch, 3, kCheckSize, kCheckSize}, gen);
    std::vector<float> cpu_out, gpu_out;
    std::vector<std::vector<float>> cpu_grads, gpu_grads;
    const double cpu_loss = one_step_values(*net, x, cpu_out, cpu_grads);
    net->zero_grad();
    net->to(gpu);
    const double gpu_loss = one_step_values(*net, x.to(gpu), gpu_out, gpu_grads);

    const double loss_error = std::fabs(gpu_loss - cpu_loss) / std::max(std::fabs(cpu_loss), 1e-30);
    const double output_error = relative_error(gpu_out, cpu_out);
    double grad_error = 0;
    size_t worst_grad = 0;
    for (size_t i = 0; i < cpu_grads.size(); ++i) {
        const double e = relative_error(gpu_grads[i], cpu_grads[i]);
        if (!(e <= grad_error)) grad_error = e, worst_grad = i;
    }
    const auto names = net->named_parameters();
    const std::string worst_name = worst_grad < names.size() ? names[worst_grad].first : std::to_string(worst_grad);
    std::ostringstream line;
    line << "batch " << kCheckBatch << ", " << kCheckSize << "x" << kCheckSize << ": loss CPU " << cpu_loss << ", GPU "
         << gpu_loss << " (relative error " << loss_error << "); output [" << kCheckBatch << ", 512, 1, 1] first values CPU";
    for (size_t i = 0; i < 3 && i < cpu_out.size(); ++i) line << " " << cpu_out[i];
    line << ", GPU";
    for (size_t i = 0; i < 3 && i < gpu_out.size(); ++i) line << " " << gpu_out[i];
    line << " (all " << cpu_out.size() << " values: relative error " << output_error << "); worst of the "
         << cpu_grads.size() << " parameter gradients " << grad_error << " (" << worst_name << ")";
    const bool ok = loss_error <= tolerance && output_error <= tolerance && grad_error <= tolerance &&
                    gpu_grads.size() == cpu_grads.size() && std::isfinite(cpu_loss) && cpu_loss > 0;
    if (!ok) {
        std::printf("bench_vgg_step_cuda: FAILED validation against the CPU (tolerance %g): %s\n", tolerance,
                    line.str().c_str());
        return "";
    }
    return line.str();
}

struct StepTimes {
    double total = 0, forward = 0, backward = 0, update = 0;  // ms
    double loss = 0;
};

}  // namespace

int main(int argc, char** argv) {
    const Options opt = parse(argc, argv);
    if (seam::cuda::device_count() == 0) {
        const std::string why = seam::cuda::device_query_error();
        std::printf("bench_vgg_step_cuda: no usable GPU (%s): not run\n", why.empty() ? "no CUDA device" : why.c_str());
        return 77;
    }
    try {
        const seam::Device gpu = seam::Device::cuda(0);
        const seam::cuda::DeviceInfo info = seam::cuda::device_info(0);
        seam::cuda::set_allow_tf32(false);  // full fp32 everywhere, like the peer with TF32 disabled

        std::vector<std::pair<std::string, seam::cuda::ConvAlgorithm>> algorithms;
        if (opt.conv == "implicit_gemm" || opt.conv == "both")
            algorithms.push_back({"seam", seam::cuda::ConvAlgorithm::implicit_gemm});
        if (opt.conv == "winograd" || opt.conv == "both")
            algorithms.push_back({"seam winograd", seam::cuda::ConvAlgorithm::winograd});
        if (opt.conv == "tf32") algorithms.push_back({"seam tf32", seam::cuda::ConvAlgorithm::implicit_gemm_tf32});
        const char* tf32_version = std::getenv("SEAM_TF32_CONV_VERSION");  // the ops read it; named in the report
        const double flops = bench::vgg16_trunk_conv_flops(opt.batch, opt.size);
        const int64_t out_size = opt.size / 32;
        const double mib = 1024.0 * 1024.0;
        std::ostringstream rows, notes, validations;
        for (const auto& [row_name, algorithm] : algorithms) {
            seam::cuda::set_conv_algorithm(algorithm);
            const bool tf32 = algorithm == seam::cuda::ConvAlgorithm::implicit_gemm_tf32;
            const std::string validation = validate(gpu, tf32 ? kTf32Tolerance : kTolerance);
            if (validation.empty()) return 1;
            validations << "\n  - " << row_name << " (conv " << seam::cuda::conv_algorithm_name(algorithm) << "): " << validation;
            std::fprintf(stderr, "bench_vgg_step_cuda: %s validated against the CPU; timing batch %lld, %lldx%lld\n",
                         row_name.c_str(), static_cast<long long>(opt.batch), static_cast<long long>(opt.size),
                         static_cast<long long>(opt.size));

            seam::manual_seed(7);
            auto net = bench::make_vgg16_trunk<float>();
            net->to(gpu);
            seam::optim::SGD<float> sgd(net->parameters(), {kLearningRate, kMomentum});  // after the move: GPU buffers
            seam::Generator gen(11);
            const seam::Tensor<float> x = seam::randn<float>({opt.batch, 3, opt.size, opt.size}, gen).to(gpu);
            const seam::cuda::Stream stream = seam::cuda::Stream::current(gpu.index);
            seam::cuda::Event started = seam::cuda::Event::create(gpu.index), forwarded = seam::cuda::Event::create(gpu.index),
                              backwarded = seam::cuda::Event::create(gpu.index), updated = seam::cuda::Event::create(gpu.index);

            auto step = [&]() {
                StepTimes t;
                seam::cuda::synchronize(gpu.index);
                const auto t0 = Clock::now();
                started.record(stream);
                seam::Tensor<float> loss;
                {
                    seam::Tensor<float> y = net->forward(x);
                    loss = seam::sum(y * y);
                }
                forwarded.record(stream);
                loss.backward();
                backwarded.record(stream);
                sgd.step();
                sgd.zero_grad();
                updated.record(stream);
                seam::cuda::synchronize(gpu.index);
                t.total = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
                t.forward = forwarded.elapsed_ms_since(started);
                t.backward = backwarded.elapsed_ms_since(forwarded);
                t.update = updated.elapsed_ms_since(backwarded);
                t.loss = loss.item();  // after the clock: the copy to the host is not part of the step
                return t;
            };

            seam::cuda::reset_peak_memory(gpu.index);
            for (int i = 0; i < opt.warmup; ++i) step();
            std::vector<StepTimes> steps;
            for (int i = 0; i < opt.steps; ++i) steps.push_back(step());
            const seam::cuda::MemoryStats memory = seam::cuda::memory_stats(gpu.index);
            if (!std::isfinite(steps.back().loss)) {
                std::printf("bench_vgg_step_cuda: %s: the loss is not finite after the timed steps (%g)\n", row_name.c_str(),
                            steps.back().loss);
                return 1;
            }
            auto field = [&](double StepTimes::*f) {
                std::vector<double> v;
                for (const StepTimes& st : steps) v.push_back(st.*f);
                return v;
            };
            const std::vector<double> totals = field(&StepTimes::total);
            const double step_median = median(totals), step_min = *std::min_element(totals.begin(), totals.end());
            rows << "| " << row_name << " | " << opt.batch << " | " << opt.size << " | " << fmt(step_median, 2) << " | "
                 << fmt(step_min, 2) << " | " << fmt(median(field(&StepTimes::forward)), 2) << " / "
                 << fmt(median(field(&StepTimes::backward)), 2) << " / " << fmt(median(field(&StepTimes::update)), 2)
                 << " | " << fmt(3 * flops / (step_median * 1e6), 0) << " | " << fmt(memory.peak_allocated_bytes / mib, 0)
                 << " |\n";
            notes << "- " << row_name << ": seam's allocator held " << fmt(memory.reserved_bytes / mib, 0)
                  << " MiB from cudaMalloc at the end (cache included); loss after the last step: " << steps.back().loss
                  << "\n";
        }
        seam::cuda::set_conv_algorithm(seam::cuda::ConvAlgorithm::implicit_gemm);

        std::ostringstream out;
        out << "# VGG-16 conv trunk, one training step on the GPU: seam\n\n"
            << "- device: " << info.name << " (sm_" << info.compute_major << info.compute_minor << ", "
            << info.multiprocessors << " SMs, " << fmt(info.total_memory / mib / 1024.0, 1) << " GiB), CUDA runtime "
            << info.runtime_version << ", driver " << info.driver_version << "\n"
            << "- seam: its own CUDA kernels (conv2d, pooling, elementwise, SGD), fp32, TF32 off (but in row \"seam "
               "tf32\"), caching allocator; row \"seam\": conv by implicit GEMM (the default), row \"seam winograd\": "
               "conv by Winograd F(2x2, 3x3) (transforms by seam, the tile products by cuBLAS in fp32), row \"seam tf32\": "
               "conv by seam's TF32 kernels, version "
            << (tf32_version && *tf32_version ? tf32_version : "unset: the library's default (6 where it runs, else 5 on 9.x, else 4)") << " (SEAM_TF32_CONV_VERSION)\n"
            << "- network: 13 conv3x3 (bias) + ReLU, 5 max-pool 2x2; input [" << opt.batch << ", 3, " << opt.size << ", "
            << opt.size << "], output [" << opt.batch << ", 512, " << out_size << ", " << out_size << "]\n"
            << "- step = forward + loss (sum of squares of the output) + backward + SGD step (lr 1e-6, momentum 0.9) "
               "+ zero_grad\n"
            << "- timing: " << opt.warmup << " warm-up steps, then " << opt.steps
            << " steps; host clock between device synchronisations; phase split from CUDA events (medians)\n"
            << "- conv FLOPs: " << fmt(flops / 1e9, 1) << " GFLOP forward, x3 per step (GFLOP/s counts only these)\n"
            << "- validation before timing (CPU vs GPU, same weights and input):" << validations.str() << "\n\n"
            << "| implementation | batch | size | step median ms | step min ms | fwd / bwd / update ms | conv GFLOP/s "
               "(median step) | peak memory MiB |\n"
            << "|---|---|---|---|---|---|---|---|\n"
            << rows.str() << "\n"
            << "Peak memory is seam's allocator peak (allocated blocks, size classes).\n" << notes.str();
        const std::string text = out.str();
        std::fputs(text.c_str(), stdout);
        if (!opt.out.empty()) {
            std::ofstream file(opt.out);
            file << text;
            if (!file) {
                std::printf("bench_vgg_step_cuda: could not write %s\n", opt.out.c_str());
                return 1;
            }
        }
        return 0;
    } catch (const std::exception& e) {
        std::printf("bench_vgg_step_cuda: error: %s\n", e.what());
        return 1;
    }
}

#else
int main() {
    std::printf("bench_vgg_step_cuda: seam was built without CUDA (SEAM_WITH_CUDA); not run\n");
    return 77;
}
#endif
