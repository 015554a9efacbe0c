// kernels/seam/fast_divisor.cuh — division by a divisor fixed at launch, as a multiply-high and a
// shift. Shared by the TF32 convolutions (conv2d_tf32_nhwc.cuh, conv2d_tf32_wgmma.cuh), which stay
// free of the rest of seam, and by the kernels of common.cuh's family (norm.cuh). Host and device;
// needs only the CUDA headers.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace seam::kernels {

/// Division by a divisor fixed at launch, as a multiply-high and a shift (Granlund and Montgomery;
/// CUTLASS's FastDivmod): index arithmetic divides per element or per tile, and a 32-bit division
/// costs ~20 instructions where these cost 2. Exact for 0 <= n < 2^31 and divisors 1 .. 2^31 - 1: with
/// l = ceil(log2 d) and m = ceil(2^(31+l) / d) (which fits 32 bits), floor(n·m / 2^(31+l)) = floor(n/d)
/// because n·(m·d - 2^(31+l)) / (d·2^(31+l)) < 2^-l <= 1/d can never carry past the next integer.
struct FastDivisor {
    int d = 1;
    uint32_t mul = 0;
    int shift = 0;  // l - 1
    FastDivisor() = default;
    __host__ __device__ FastDivisor(int divisor) : d(divisor) {  // NOLINT: implicit, so sources take an int
        if (d > 1) {
            int l = 0;
            while ((uint64_t(1) << l) < uint64_t(d)) ++l;
            mul = static_cast<uint32_t>(((uint64_t(1) << (31 + l)) + uint64_t(d) - 1) / uint64_t(d));
            shift = l - 1;
        }
    }
    __host__ __device__ int div(int n) const {
        if (d == 1) return n;
#if defined(__CUDA_ARCH__)
        return static_cast<int>(__umulhi(static_cast<unsigned>(n), mul) >> shift);
#else
        return static_cast<int>(((uint64_t(static_cast<unsigned>(n)) * mul) >> 32) >> shift);
#endif
    }
};

}  // namespace seam::kernels
