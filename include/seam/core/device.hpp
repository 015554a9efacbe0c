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
#endif

}  // namespace seam
