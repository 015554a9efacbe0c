// kernels/seam/common.cuh — what every kernel file of seam shares: error checks, launch shapes,
// grid-stride loops and the strided index calculator of the elementwise family.
//
// Kernels in kernels/seam/ take raw device pointers and small shape structs passed by value (no
// Tensor, no Eigen), so bench programs and other projects can include them alone; they need
// include/ on the include path only for seam::Error / seam::cuda::CudaError.
//
// Errors: SEAM_CUDA_CHECK(call) and SEAM_CUBLAS_CHECK(call) throw seam::cuda::CudaError naming the
// file, the line, the call and CUDA's error string. Short aliases CUDA_CHECK / CUBLAS_CHECK are
// defined unless the including project already has macros of those names. A kernel launch is
// followed by SEAM_CUDA_CHECK(cudaGetLastError()), which catches bad launch shapes at once; a
// fault inside a kernel surfaces at the next synchronising call (run with CUDA_LAUNCH_BLOCKING=1
// to pin it on the launch that caused it).
//
// Launch shape: 1-D blocks of kThreads = 256 threads and grid-stride loops; the grid is capped at
// one full wave (multiprocessors × 2048 / 256 blocks), so each thread handles ⌈n / threads-in-grid⌉
// elements and a huge n needs no huge grid. The H100 and H200 runs (bench/results/gpu-h*-2026-11-27-*)
// found the strided kernels on it at 51-65 % of the copy bandwidth; the dense 16-byte path
// (elementwise.cuh version 2) is what reaches 95-105 %, not a different cap.
//
// Also here, for the kernels that move dense data 16 bytes at a time: Vec<T, N> (N elements of T
// in one aligned register group), load_vec / store_vec (one 16-byte load or store on the GPU; on
// the host, where tests run the kernels' per-thread code, a memcpy that insists on the alignment
// the GPU would need), and kernel_version, the run-time choice between the versions a kernel file
// keeps for study (its "Versions tried").
#pragma once

#include <cuda_runtime.h>
#include <cublas_v2.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/core/macros.hpp"
#include "seam/cuda/api.hpp"
#include "seam/cuda/runtime.hpp"
#include "seam/fast_divisor.cuh"

#define SEAM_CUDA_CHECK(call)                                                                     \
    do {                                                                                          \
        const cudaError_t seam_cuda_status_ = (call);                                             \
        if (seam_cuda_status_ != cudaSuccess)                                                     \
            ::seam::cuda::throw_cuda_error(static_cast<int>(seam_cuda_status_), #call, __FILE__, __LINE__); \
    } while (0)

#define SEAM_CUBLAS_CHECK(call)                                                                   \
    do {                                                                                          \
        const cublasStatus_t seam_cublas_status_ = (call);                                        \
        if (seam_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                         \
            ::seam::cuda::throw_cublas_error(static_cast<int>(seam_cublas_status_), #call, __FILE__, __LINE__); \
    } while (0)

#ifndef CUDA_CHECK
#define CUDA_CHECK(call) SEAM_CUDA_CHECK(call)
#endif
#ifndef CUBLAS_CHECK
#define CUBLAS_CHECK(call) SEAM_CUBLAS_CHECK(call)
#endif

/// #pragma unroll for device code only (host compilers warn about the unknown pragma).
#if defined(__CUDA_ARCH__)
#define SEAM_UNROLL _Pragma("unroll")
#else
#define SEAM_UNROLL
#endif

/// for (int64_t i = first index of this thread; i < n; i += threads in the grid)
#define SEAM_GRID_STRIDE_LOOP(i, n)                                                               \
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);                     \
         i += int64_t(blockDim.x) * gridDim.x)

namespace seam::kernels {

inline constexpr int kThreads = 256;
inline constexpr int kMaxDims = seam::cuda::kMaxDims;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Multiprocessors of the current device, asked once per device.
inline int multiprocessor_count() {
    constexpr int kMaxDevices = 64;
    static std::atomic<int> cached[kMaxDevices];  // zero: not asked yet
    int device = 0;
    SEAM_CUDA_CHECK(cudaGetDevice(&device));
    if (device < 0 || device >= kMaxDevices) device = 0;
    int count = cached[device].load(std::memory_order_relaxed);
    if (count == 0) {
        SEAM_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
        cached[device].store(count, std::memory_order_relaxed);
    }
    return count;
}

/// Blocks for a grid-stride loop over n elements: enough to cover n, at most one full wave.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
    const int64_t wave = int64_t(multiprocessor_count()) * (2048 / threads);
    return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(ceil_div(n, threads), wave)));
}

/// The stream kernels are enqueued on: this thread's current stream of the current device.
inline cudaStream_t current_stream() { return seam::cuda::Stream::current().handle(); }

/// Element offsets of K operands that share one iteration shape (each with its own strides).
/// With `contiguous` every operand is dense row-major and the offset is the linear index.
template <int K>
struct StridedIndexer {
    int rank = 0;
    bool contiguous = true;
    int64_t sizes[kMaxDims] = {};
    int64_t strides[K][kMaxDims] = {};

    SEAM_HOST_DEVICE void offsets(int64_t linear, int64_t (&off)[K]) const {
SEAM_UNROLL
        for (int k = 0; k < K; ++k) off[k] = contiguous ? linear : 0;
        if (contiguous) return;
        // Peel coordinates off from the innermost dimension outwards.
        for (int d = rank - 1; d >= 0; --d) {
            const int64_t size = sizes[d];
            const int64_t coordinate = linear % size;
            linear /= size;
SEAM_UNROLL
            for (int k = 0; k < K; ++k) off[k] += coordinate * strides[k][d];
        }
    }
};

/// Merge neighbouring dimensions wherever every operand's strides allow it and drop size-1
/// dimensions; then `contiguous` tells whether every operand is dense row-major. Host code,
/// plain C++ (seam::cuda::collapse_layout exposes it for tests).
inline seam::cuda::CollapsedLayout collapse_dims(const Shape& shape, const std::vector<Shape>& strides) {
    seam::cuda::CollapsedLayout out;
    out.strides.resize(strides.size());
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;  // a size-1 dimension moves no operand
        bool merge = !out.shape.empty();
        for (size_t k = 0; merge && k < strides.size(); ++k)
            merge = out.strides[k].back() == strides[k][d] * shape[d];
        if (merge) {
            out.shape.back() *= shape[d];
            for (size_t k = 0; k < strides.size(); ++k) out.strides[k].back() = strides[k][d];
        } else {
            out.shape.push_back(shape[d]);
            for (size_t k = 0; k < strides.size(); ++k) out.strides[k].push_back(strides[k][d]);
        }
    }
    out.contiguous = true;
    for (size_t k = 0; k < strides.size(); ++k)
        out.contiguous = out.contiguous && (out.shape.empty() || (out.shape.size() == 1 && out.strides[k][0] == 1));
    return out;
}

/// The indexer for `shape` and one stride list per operand (checked: ranks agree, ≤ kMaxDims
/// dimensions remain after merging).
template <int K>
inline StridedIndexer<K> make_indexer(const char* op, const Shape& shape, const std::vector<Shape>& strides) {
    SEAM_CHECK(static_cast<int>(strides.size()) == K, op, ": internal error, ", strides.size(), " stride lists for ", K,
               " operands");
    for (const Shape& s : strides)
        SEAM_CHECK(s.size() == shape.size(), op, ": strides ", shape_str(s), " do not match shape ", shape_str(shape));
    const seam::cuda::CollapsedLayout layout = collapse_dims(shape, strides);
    SEAM_CHECK(static_cast<int>(layout.shape.size()) <= kMaxDims, op, ": shape ", shape_str(shape), " has ",
               layout.shape.size(), " dimensions that cannot be merged; the CUDA kernels handle at most ", kMaxDims);
    StridedIndexer<K> indexer;
    indexer.rank = static_cast<int>(layout.shape.size());
    indexer.contiguous = layout.contiguous;
    for (int d = 0; d < indexer.rank; ++d) {
        indexer.sizes[d] = layout.shape[d];
        for (int k = 0; k < K; ++k) indexer.strides[k][d] = layout.strides[k][d];
    }
    return indexer;
}

// ----- 16-byte vectors ------------------------------------------------------------------------------

inline constexpr int kWarpSize = 32;

/// N elements of T loaded or stored as one unit (N · sizeof(T) = 16: float4, double2, ...; smaller
/// units such as 4 uint8 serve the masks that ride along with a vector of floats).
template <class T, int N>
struct alignas(sizeof(T) * N) Vec {
    T v[N];
};

/// Elements of T in a 16-byte vector.
template <class T>
inline constexpr int kVecOf = static_cast<int>(16 / sizeof(T));

/// Is p a multiple of `bytes` (a power of two)? Null counts as aligned (an operand not used).
SEAM_HOST_DEVICE bool is_aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

/// One vector load of p[0 .. N). The GPU needs p aligned to the vector's size; the host copy
/// checks that, so an emulated kernel that would fault on the GPU fails its test instead.
template <int N, class T>
SEAM_HOST_DEVICE Vec<T, N> load_vec(const T* p) {
#if defined(__CUDA_ARCH__)
    return *reinterpret_cast<const Vec<T, N>*>(p);
#else
    SEAM_CHECK(is_aligned(p, sizeof(Vec<T, N>)), "load_vec: misaligned vector load at ", static_cast<const void*>(p));
    Vec<T, N> v;
    std::memcpy(&v, p, sizeof v);
    return v;
#endif
}

/// One vector store of v into p[0 .. N) (the same alignment rule as load_vec).
template <int N, class T>
SEAM_HOST_DEVICE void store_vec(T* p, const Vec<T, N>& v) {
#if defined(__CUDA_ARCH__)
    *reinterpret_cast<Vec<T, N>*>(p) = v;
#else
    SEAM_CHECK(is_aligned(p, sizeof(Vec<T, N>)), "store_vec: misaligned vector store at ", static_cast<void*>(p));
    std::memcpy(p, &v, sizeof v);
#endif
}

// ----- kernel versions --------------------------------------------------------------------------------

/// The version of a kernel family to run: `newest` unless the environment variable `variable` asks
/// for another (1 .. newest; anything else is refused). Read at every launch, so a benchmark can
/// time the versions a file keeps for study one after the other in one process (setenv between
/// them, with no kernel of that family in flight from another thread).
inline int kernel_version(const char* variable, int newest) {
    const char* v = std::getenv(variable);
    if (v == nullptr || *v == '\0') return newest;
    char* end = nullptr;
    const long k = std::strtol(v, &end, 10);
    SEAM_CHECK(*end == '\0' && k >= 1 && k <= newest, variable, "=", v, ": the kernel versions are 1 to ", newest);
    return static_cast<int>(k);
}

}  // namespace seam::kernels
