// seam/cuda/runtime.hpp — the CUDA runtime layer: devices, the caching allocator, streams,
// events, pinned-staged copies, cuBLAS settings and the CUDA error type.
//
// Plain C++ declarations only: this header compiles with g++ and needs no CUDA header. The
// definitions live in src/cuda/seam_cuda.cu, compiled by nvcc into the seam::cuda library, so a
// program that uses these functions links seam::cuda (which also defines SEAM_WITH_CUDA=1).
// CUDA's handle types are named through their underlying structs (cudaStream_t is CUstream_st*,
// cudaEvent_t is CUevent_st*), so a handle from here can be passed to any CUDA API unchanged.
//
// Rules every function follows:
//   * "no GPU" is a normal state: device_count() returns 0 when cudaGetDeviceCount fails for any
//     reason (no driver, driver too old, no device), and device_query_error() says why;
//   * every CUDA and cuBLAS call is checked; a failure throws CudaError (a seam::Error) whose
//     message names the source file, the line, the call and CUDA's own error string;
//   * work is enqueued on the current stream of the current device (Stream::current()); a copy
//     between host and device returns once the copy is complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "seam/core/device.hpp"
#include "seam/core/error.hpp"

struct CUstream_st;  // cudaStream_t is CUstream_st*
struct CUevent_st;   // cudaEvent_t is CUevent_st*

namespace seam::cuda {

using StreamHandle = CUstream_st*;
using EventHandle = CUevent_st*;

// ----- errors ----------------------------------------------------------------------------------

/// A failed CUDA or cuBLAS call. what() reads
/// "CUDA error at src/cuda/seam_cuda.cu:123 in cudaMalloc(&p, bytes): out of memory (cudaErrorMemoryAllocation)".
class CudaError : public Error {
public:
    CudaError(const std::string& what, int code) : Error(what), code_(code) {}
    /// The cudaError_t (or cublasStatus_t) value as an int.
    int code() const { return code_; }

private:
    int code_;
};

/// Throw CudaError for a failed CUDA runtime call (`code` is a cudaError_t).
[[noreturn]] void throw_cuda_error(int code, const char* call, const char* file, int line);
/// Throw CudaError for a failed cuBLAS call (`code` is a cublasStatus_t).
[[noreturn]] void throw_cublas_error(int code, const char* call, const char* file, int line);

// ----- devices ---------------------------------------------------------------------------------

/// Number of usable CUDA devices; 0 when the query fails for any reason (never throws).
int device_count();
/// Why device_count() is 0 (CUDA's error string), or "" when the query succeeded.
std::string device_query_error();
inline bool is_available() { return device_count() > 0; }

int current_device();
void set_device(int index);
/// Wait until every stream of the device has finished (-1: the current device).
void synchronize(int device = -1);

struct DeviceInfo {
    int index = 0;
    std::string name;
    int compute_major = 0, compute_minor = 0;
    int multiprocessors = 0;
    size_t total_memory = 0;
    int driver_version = 0;   // e.g. 13000 for CUDA 13.0
    int runtime_version = 0;
};
DeviceInfo device_info(int index);

/// Makes `index` the current device for the guard's lifetime (restores the previous one).
class DeviceGuard {
public:
    explicit DeviceGuard(int index);
    ~DeviceGuard();
    DeviceGuard(const DeviceGuard&) = delete;
    DeviceGuard& operator=(const DeviceGuard&) = delete;

private:
    int previous_;
};

// ----- streams and events ------------------------------------------------------------------------

class Stream;
/// Make `stream` this thread's current stream for its device.
void set_current_stream(const Stream& stream);

/// A CUDA stream: a shared handle (copies refer to the same stream). Streams made by create()
/// are destroyed with their last handle; the per-device default stream lives for the program.
class Stream {
public:
    /// A new stream on `device` (-1: current). non_blocking streams do not wait for the legacy stream 0.
    static Stream create(int device = -1, bool non_blocking = false);
    /// The device's default stream: created on first use, shared by every thread, never destroyed.
    static Stream default_stream(int device = -1);
    /// The stream this thread enqueues work on for `device` (the default stream unless changed).
    static Stream current(int device = -1);

    StreamHandle handle() const { return handle_.get(); }
    int device() const { return device_; }
    void synchronize() const;
    /// True when all work enqueued so far has finished.
    bool ready() const;
    bool operator==(const Stream& other) const { return handle() == other.handle() && device_ == other.device_; }

private:
    friend void set_current_stream(const Stream& stream);
    Stream(std::shared_ptr<CUstream_st> handle, int device) : handle_(std::move(handle)), device_(device) {}
    std::shared_ptr<CUstream_st> handle_;
    int device_ = 0;
};

/// Makes `stream` current on this thread for the guard's lifetime.
class StreamGuard {
public:
    explicit StreamGuard(const Stream& stream);
    ~StreamGuard();
    StreamGuard(const StreamGuard&) = delete;
    StreamGuard& operator=(const StreamGuard&) = delete;

private:
    Stream previous_;
};

/// A CUDA event (shared handle), for ordering streams and timing.
class Event {
public:
    /// A new event on `device` (-1: current); timing=false makes record/wait cheaper.
    static Event create(int device = -1, bool timing = true);
    void record(const Stream& stream);
    /// Make `stream` wait for this event (no host blocking).
    void block(const Stream& stream) const;
    void synchronize() const;
    bool ready() const;
    /// Milliseconds from `start` to this event (both recorded with timing on).
    float elapsed_ms_since(const Event& start) const;
    EventHandle handle() const { return handle_.get(); }

private:
    Event(std::shared_ptr<CUevent_st> handle, int device) : handle_(std::move(handle)), device_(device) {}
    std::shared_ptr<CUevent_st> handle_;
    int device_ = 0;
};

// ----- the caching allocator ---------------------------------------------------------------------
//
// Device memory is expensive to get (cudaMalloc synchronises the device and takes tens of µs) and
// a training step asks for the same sizes every iteration. Freed blocks therefore go back to a
// free list keyed by (device, stream, size class) and are handed out again for a request of the
// same class; the launchers' own workspaces (scratch they give back before returning) of 1 MiB or
// more may also take the smallest larger block (block_cache.hpp). Reuse is limited to the stream the block was allocated on: work on one stream runs
// in order, so a block freed there can be reused there at once; a tensor used on a second stream
// must be synchronised by the caller (PyTorch's recordStream rule, without its bookkeeping).
// When cudaMalloc runs out of memory, the cache of that device is released and the call retried.

/// The size class a request of `bytes` is served from: multiples of 512 B below 1 MiB, above that
/// the next of 1, 1.25, 1.5, 1.75 × a power of two (at most 25% waste, few distinct classes).
inline size_t allocation_size_class(size_t bytes) {
    constexpr size_t kSmallStep = 512, kLargeFrom = size_t(1) << 20;
    if (bytes == 0) return 0;
    if (bytes < kLargeFrom) return (bytes + kSmallStep - 1) / kSmallStep * kSmallStep;
    size_t power = kLargeFrom;
    while (power * 2 <= bytes) power *= 2;  // power ≤ bytes < 2·power
    const size_t step = power / 4;
    return (bytes + step - 1) / step * step;
}

/// Device memory of at least `bytes` on `device` (-1: current), for use on that device's current
/// stream. 0 bytes gives nullptr. Throws CudaError when even an emptied cache cannot serve it.
void* allocate(size_t bytes, int device = -1);
/// Return a block from allocate() to the cache (nullptr is ignored). `device` is where it lives;
/// the signature is seam::Storage's deleter, so device tensors free through it.
void deallocate(void* ptr, Device device);

struct MemoryStats {
    size_t allocated_bytes = 0;       // in blocks handed out and not yet freed (size classes)
    size_t peak_allocated_bytes = 0;  // the most allocated_bytes reached (since reset_peak_memory)
    size_t cached_bytes = 0;          // in freed blocks kept for reuse
    size_t reserved_bytes = 0;        // allocated + cached: what the process holds from cudaMalloc
    uint64_t allocations = 0;         // allocate() calls that returned memory
    uint64_t cache_hits = 0;          // ... served from the cache
    uint64_t device_mallocs = 0;      // cudaMalloc calls
    uint64_t device_frees = 0;        // cudaFree calls (releases)
};
MemoryStats memory_stats(int device = -1);
/// Peak := current allocated bytes.
void reset_peak_memory(int device = -1);
/// cudaFree every cached block of every device (blocks in use are untouched).
void empty_cache();

// ----- copies through pinned staging -------------------------------------------------------------
//
// Host memory from malloc is pageable: the GPU cannot read it directly. Copies go through two
// pinned (page-locked) buffers per device in chunks, so the host memcpy of one chunk overlaps
// the DMA of the previous one. Each function returns when the destination holds the data.

/// Bytes of one staging chunk (each device holds two pinned chunks once it has copied).
size_t staging_chunk_bytes();
void copy_host_to_device(void* device_dst, const void* host_src, size_t bytes, int device);
void copy_device_to_host(void* host_dst, const void* device_src, size_t bytes, int device);
/// Between two devices (or within one); waits for both devices' current streams first.
void copy_device_to_device(void* dst, int dst_device, const void* src, int src_device, size_t bytes);

// ----- cuBLAS ------------------------------------------------------------------------------------

/// Let cuBLAS use TF32 tensor cores for float GEMMs (10-bit mantissa inputs, fp32 accumulation).
/// Off by default: float GEMMs are computed in full fp32 unless the user turns this on.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace seam::cuda
