// examples/common/device.hpp — the --device and --conv flags the training examples share.
//
//   --device cpu          the default
//   --device cuda[:N]     GPU N (0 by default): the model is moved there with Module::to, each batch
//                         is copied there, and predictions come back to the host for scoring.
//   --conv ALGORITHM      the convolution algorithm for CUDA tensors (cuda::set_conv_algorithm):
//                         implicit_gemm (the default, fp32), winograd (F(2x2, 3x3) for 3x3 stride-1
//                         layers, fp32), tf32 (tensor cores, TF32 products: ~1e-3 relative) or direct
//                         (the slow double-accumulating oracle). Without the flag, the process's
//                         starting algorithm: implicit_gemm, or the one the environment variable
//                         SEAM_CONV_ALGORITHM names (cuda::set_conv_algorithm). The CPU convolution
//                         has one algorithm: on the CPU the flag is accepted and reported as not applying.
// A build without the CUDA backend refuses `--device cuda` with seam's own "seam was built without
// CUDA" error (a seam::Error: the examples print it and exit 1), never a silent CPU run.
#pragma once

#include <seam/seam.hpp>

#include <cstdio>
#include <string>

namespace example {

/// True when `text` names a device this flag accepts ("cpu", "cuda", "cuda:N"); the flag's parser
/// rejects anything else as a usage error before any work starts.
inline bool is_device_name(const std::string& text) {
    if (text == "cpu" || text == "cuda") return true;
    if (text.rfind("cuda:", 0) != 0 || text.size() == 5) return false;
    for (size_t i = 5; i < text.size(); ++i)
        if (text[i] < '0' || text[i] > '9') return false;
    return text.size() <= 5 + 4;
}

/// The device named by `text` (checked with is_device_name). A CUDA device throws seam::Error
/// when seam was built without CUDA, or when the GPU does not exist.
inline seam::Device resolve_device(const std::string& text) {
    if (text == "cpu") return seam::Device::cpu();
    const int index = text == "cuda" ? 0 : std::stoi(text.substr(5));
    return seam::Device::cuda(index);
}

/// True when `text` names a --conv algorithm.
inline bool is_conv_name(const std::string& text) {
    return text == "implicit_gemm" || text == "winograd" || text == "tf32" || text == "direct";
}

/// Makes `text` (checked with is_conv_name; empty: no --conv given, the starting algorithm stays)
/// the algorithm of CUDA convolutions when `device` is a GPU; nothing on the CPU.
inline void set_conv(const std::string& text, seam::Device device) {
#if SEAM_WITH_CUDA
    if (device.is_cuda() && !text.empty()) {
        using seam::cuda::ConvAlgorithm;
        seam::cuda::set_conv_algorithm(text == "winograd" ? ConvAlgorithm::winograd
                                       : text == "tf32"   ? ConvAlgorithm::implicit_gemm_tf32
                                       : text == "direct" ? ConvAlgorithm::direct
                                                          : ConvAlgorithm::implicit_gemm);
    }
#endif
    (void)text, (void)device;
}

/// What the report and the JSON show for --conv `text`: the algorithm CUDA convolutions run, or on
/// the CPU a note that the flag does not apply there.
inline std::string conv_report(const std::string& text, seam::Device device) {
#if SEAM_WITH_CUDA
    if (device.is_cuda()) return seam::cuda::conv_algorithm_name(seam::cuda::conv_algorithm());
#endif
    (void)device;
    return text.empty() || text == "implicit_gemm" ? "cpu" : "cpu (--conv " + text + " applies to CUDA tensors only)";
}

/// "NVIDIA H100 80GB HBM3 (cuda:0)" or "cpu"; for the report's first lines.
inline std::string device_description(seam::Device device) {
#if SEAM_WITH_CUDA
    if (device.is_cuda()) return seam::cuda::device_info(device.index).name + " (" + device.str() + ")";
#endif
    return device.str();
}

/// Start a new peak for peak_device_memory_mib (each model of a run reports its own).
inline void reset_peak_device_memory(seam::Device device) {
#if SEAM_WITH_CUDA
    if (device.is_cuda()) seam::cuda::reset_peak_memory(device.index);
#endif
    (void)device;
}

/// The most device memory seam's allocator had handed out at once since the last reset, in MiB
/// (0 on the CPU).
inline double peak_device_memory_mib(seam::Device device) {
#if SEAM_WITH_CUDA
    if (device.is_cuda())
        return static_cast<double>(seam::cuda::memory_stats(device.index).peak_allocated_bytes) / (1024.0 * 1024.0);
#endif
    (void)device;
    return 0.0;
}

}  // namespace example
