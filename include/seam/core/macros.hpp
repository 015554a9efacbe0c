// seam/core/macros.hpp — host/device annotations shared by plain C++ and nvcc.
//
// The CUTLASS idiom: under nvcc SEAM_HOST_DEVICE expands to __host__ __device__ so small shape
// helpers can be called from kernels; under g++/clang it is plain `inline`, so every header of
// the library still compiles without CUDA.
#pragma once

#if defined(__CUDACC__) || defined(__NVCC__)
#define SEAM_HOST_DEVICE __forceinline__ __host__ __device__
#define SEAM_DEVICE __forceinline__ __device__
#else
#define SEAM_HOST_DEVICE inline
#define SEAM_DEVICE inline
#endif

#if defined(_MSC_VER)
#define SEAM_RESTRICT __restrict
#else
#define SEAM_RESTRICT __restrict__
#endif

#define SEAM_STRINGIFY_IMPL(x) #x
#define SEAM_STRINGIFY(x) SEAM_STRINGIFY_IMPL(x)
