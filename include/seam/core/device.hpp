// seam/core/device.hpp — where a tensor lives.
//
// CPU always exists. CUDA exists only when the program links seam::cuda (which defines
// SEAM_WITH_CUDA=1). Without it, asking for a CUDA device throws at once — never a silent CPU
// fallback, the mistake dlib users keep tripping over (style-anchors §1.2).
#pragma once

#include <ostream>
#include <string>

#include "seam/core/error.hpp"

#ifndef SEAM_WITH_CUDA
#define SEAM_WITH_CUDA 0
#endif

namespace seam {

enum class DeviceType { cpu, cuda };

struct Device {
    DeviceType type = DeviceType::cpu;
    int index = 0;

    static Device cpu() { return {DeviceType::cpu, 0}; }
    /// Throws "seam was built without CUDA" unless the CUDA backend is linked.
    static Device cuda(int index = 0);

    bool is_cpu() const { return type == DeviceType::cpu; }
    bool is_cuda() const { return type == DeviceType::cuda; }
    bool operator==(const Device&) const = default;
    std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

inline std::ostream& operator<<(std::ostream& out, const Device& d) { return out << d.str(); }

inline constexpr bool built_with_cuda() { return SEAM_WITH_CUDA != 0; }

#if !SEAM_WITH_CUDA
inline Device Device::cuda(int index) {
    fail("seam was built without CUDA: Device::cuda(", index,
         ") is unavailable (configure with -DSEAM_CUDA=ON on a machine with nvcc and link seam::cuda)");
}
#else
namespace cuda {
int device_count();                // seam/cuda/runtime.hpp; 0 when the CUDA query fails
std::string device_query_error();  // why device_count() is 0
}  // namespace cuda

/// Checks that the device exists now: a program built with CUDA may still run where there is no
/// GPU (or no driver), and that must be a clear error here, not a crash in the first kernel.
inline Device Device::cuda(int index) {
    const int count = ::seam::cuda::device_count();
    if (count == 0) {
        const std::string why = ::seam::cuda::device_query_error();
        fail("Device::cuda(", index, "): no CUDA device is available (",
             why.empty() ? std::string("the driver reports 0 devices") : why, ")");
    }
    SEAM_CHECK(index >= 0 && index < count, "Device::cuda(", index, "): no such device; ", count,
               " CUDA device(s) present, valid indices are 0..", count - 1);
    return {DeviceType::cuda, index};
}
#endif

}  // namespace seam
