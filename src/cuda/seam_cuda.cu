// src/cuda/seam_cuda.cu — the one nvcc translation unit of seam: the CUDA runtime layer declared in
// include/seam/cuda/runtime.hpp and the compute entry points of include/seam/cuda/api.hpp, built on
// the kernels of kernels/seam/*.cuh (the single-file implementation idiom of stb: every CUDA
// definition is compiled exactly once, here, into the seam::cuda library).
//
// Contents, in order: errors; devices; per-device state (default stream, cuBLAS handle, pinned
// staging buffers); streams and events; the caching allocator; staged copies; cuBLAS GEMM; the
// elementwise and reduction entry points (topk among them); softmax, cross-entropy and NLL; batch
// norm, layer norm and dropout; optimizer steps; landmark pooling; 2-D pooling; resampling; 2-D
// convolution; the explicit instantiations.
//
// Objects that live for the whole program (per-device state, the allocator) are created with new
// and never destroyed: tensors held in static variables may be freed after main returns, and must
// still find their allocator (the same reason as seam::detail::CpuBlockCache).

#include <cuda_runtime.h>
#include <cublas_v2.h>

#include <array>
#include <atomic>
#include <climits>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "seam/common.cuh"
#include "seam/cuda/api.hpp"
#include "seam/cuda/block_cache.hpp"
#include "seam/cuda/runtime.hpp"
#include "seam/conv2d.cuh"
#include "seam/conv2d_tf32.cuh"
#include "seam/elementwise.cuh"
#include "seam/gather_scatter.cuh"
#include "seam/landmark_pool.cuh"
#include "seam/norm.cuh"
#include "seam/optim.cuh"
#include "seam/pool2d.cuh"
#include "seam/reduce.cuh"
#include "seam/resize.cuh"
#include "seam/winograd.cuh"
#include "seam/softmax.cuh"

namespace seam::cuda {

// ===== errors ===================================================================================

[[noreturn]] void throw_cuda_error(int code, const char* call, const char* file, int line) {
    const auto error = static_cast<cudaError_t>(code);
    throw CudaError(detail::concat("CUDA error at ", file, ":", line, " in ", call, ": ", cudaGetErrorString(error),
                                   " (", cudaGetErrorName(error), ")"),
                    code);
}

[[noreturn]] void throw_cublas_error(int code, const char* call, const char* file, int line) {
    const auto status = static_cast<cublasStatus_t>(code);
    throw CudaError(detail::concat("cuBLAS error at ", file, ":", line, " in ", call, ": ",
                                   cublasGetStatusString(status), " (", cublasGetStatusName(status), ")"),
                    code);
}

// ===== devices ==================================================================================

namespace {

constexpr int kMaxDevices = 64;

struct DeviceQuery {
    int count = 0;
    std::string error;  // why count is 0
};

/// Asked once: the answer cannot change while the process runs.
const DeviceQuery& device_query() {
    static const DeviceQuery query = [] {
        DeviceQuery q;
        int n = 0;
        const cudaError_t status = cudaGetDeviceCount(&n);
        if (status != cudaSuccess) {
            q.error = std::string(cudaGetErrorString(status)) + " (" + cudaGetErrorName(status) + ")";
            cudaGetLastError();  // clear it: a failed query is "no GPU", not an error to report later
            return q;
        }
        q.count = n < kMaxDevices ? n : kMaxDevices;
        if (n == 0) q.error = "the CUDA driver reports 0 devices";
        return q;
    }();
    return query;
}

/// -1 means the current device; anything else must exist.
int resolve_device(int device) {
    if (device == -1) return current_device();
    const int count = device_count();
    SEAM_CHECK(device >= 0 && device < count, "CUDA device ", device, " does not exist (", count,
               " device(s) present", count == 0 ? ": " + device_query_error() : std::string(), ")");
    return device;
}

}  // namespace

int device_count() { return device_query().count; }
std::string device_query_error() { return device_query().error; }

int current_device() {
    int device = 0;
    SEAM_CUDA_CHECK(cudaGetDevice(&device));
    return device;
}

void set_device(int index) { SEAM_CUDA_CHECK(cudaSetDevice(resolve_device(index))); }

void synchronize(int device) {
    DeviceGuard guard(resolve_device(device));
    SEAM_CUDA_CHECK(cudaDeviceSynchronize());
}

DeviceInfo device_info(int index) {
    index = resolve_device(index);
    cudaDeviceProp prop{};
    SEAM_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
    DeviceInfo info;
    info.index = index;
    info.name = prop.name;
    info.compute_major = prop.major;
    info.compute_minor = prop.minor;
    info.multiprocessors = prop.multiProcessorCount;
    info.total_memory = prop.totalGlobalMem;
    SEAM_CUDA_CHECK(cudaDriverGetVersion(&info.driver_version));
    SEAM_CUDA_CHECK(cudaRuntimeGetVersion(&info.runtime_version));
    return info;
}

DeviceGuard::DeviceGuard(int index) {
    SEAM_CUDA_CHECK(cudaGetDevice(&previous_));
    if (index != previous_) SEAM_CUDA_CHECK(cudaSetDevice(index));
}

DeviceGuard::~DeviceGuard() {
    int now = previous_;
    if (cudaGetDevice(&now) == cudaSuccess && now != previous_) cudaSetDevice(previous_);  // a destructor must not throw
}

// ===== per-device state ===========================================================================

namespace {

struct DeviceState {
    std::once_flag stream_once;
    cudaStream_t default_stream = nullptr;
    std::once_flag cublas_once;
    cublasHandle_t cublas = nullptr;
    std::mutex staging_mutex;  // one staged copy at a time per device
    void* staging[2] = {nullptr, nullptr};
    cudaEvent_t staging_done[2] = {nullptr, nullptr};
};

DeviceState& device_state(int device) {
    static DeviceState* states = new DeviceState[kMaxDevices];
    SEAM_CHECK(device >= 0 && device < kMaxDevices, "CUDA device index ", device, " out of range");
    return states[device];
}

/// This thread's current stream per device (null: the device's default stream). Holding the
/// shared handle keeps a user's stream alive while it is current.
thread_local std::array<std::shared_ptr<CUstream_st>, kMaxDevices> current_streams;

}  // namespace

// ===== streams and events =========================================================================

Stream Stream::create(int device, bool non_blocking) {
    device = resolve_device(device);
    DeviceGuard guard(device);
    cudaStream_t stream = nullptr;
    SEAM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, non_blocking ? cudaStreamNonBlocking : cudaStreamDefault));
    return Stream(std::shared_ptr<CUstream_st>(stream, [](CUstream_st* s) { cudaStreamDestroy(s); }), device);
}

/// A created stream rather than the legacy stream 0: work on it can be captured into CUDA graphs
/// and ordered with events like any other stream, while (being a blocking stream) it still waits
/// for work that other code puts on stream 0.
Stream Stream::default_stream(int device) {
    device = resolve_device(device);
    DeviceState& state = device_state(device);
    std::call_once(state.stream_once, [&] {
        DeviceGuard guard(device);
        SEAM_CUDA_CHECK(cudaStreamCreateWithFlags(&state.default_stream, cudaStreamDefault));
    });
    return Stream(std::shared_ptr<CUstream_st>(state.default_stream, [](CUstream_st*) {}), device);
}

Stream Stream::current(int device) {
    device = resolve_device(device);
    if (const auto& mine = current_streams[device]) return Stream(mine, device);
    return default_stream(device);
}

void Stream::synchronize() const { SEAM_CUDA_CHECK(cudaStreamSynchronize(handle())); }

bool Stream::ready() const {
    const cudaError_t status = cudaStreamQuery(handle());
    if (status == cudaErrorNotReady) return false;
    SEAM_CUDA_CHECK(status);
    return true;
}

void set_current_stream(const Stream& stream) {
    const int device = resolve_device(stream.device());
    // Storing the shared handle keeps a created stream alive while it is current.
    current_streams[device] = stream.handle() == Stream::default_stream(device).handle() ? nullptr : stream.handle_;
}

StreamGuard::StreamGuard(const Stream& stream) : previous_(Stream::current(stream.device())) { set_current_stream(stream); }
StreamGuard::~StreamGuard() {
    try {
        set_current_stream(previous_);
    } catch (...) {  // a destructor must not throw; restoring a stream that existed cannot fail in practice
    }
}

Event Event::create(int device, bool timing) {
    device = resolve_device(device);
    DeviceGuard guard(device);
    cudaEvent_t event = nullptr;
    SEAM_CUDA_CHECK(cudaEventCreateWithFlags(&event, timing ? cudaEventDefault : cudaEventDisableTiming));
    return Event(std::shared_ptr<CUevent_st>(event, [](CUevent_st* e) { cudaEventDestroy(e); }), device);
}

void Event::record(const Stream& stream) { SEAM_CUDA_CHECK(cudaEventRecord(handle(), stream.handle())); }
void Event::block(const Stream& stream) const { SEAM_CUDA_CHECK(cudaStreamWaitEvent(stream.handle(), handle(), 0)); }
void Event::synchronize() const { SEAM_CUDA_CHECK(cudaEventSynchronize(handle())); }

bool Event::ready() const {
    const cudaError_t status = cudaEventQuery(handle());
    if (status == cudaErrorNotReady) return false;
    SEAM_CUDA_CHECK(status);
    return true;
}

float Event::elapsed_ms_since(const Event& start) const {
    float ms = 0;
    SEAM_CUDA_CHECK(cudaEventElapsedTime(&ms, start.handle(), handle()));
    return ms;
}

// ===== the caching allocator ======================================================================

namespace {

class CachingAllocator {
public:
    static CachingAllocator& instance() {
        static CachingAllocator* allocator = new CachingAllocator();  // never destroyed (see the file comment)
        return *allocator;
    }

    /// scratch: the caller gives the block back before its call returns (a launcher's workspace),
    /// so it may take a larger cached block (block_cache.hpp's best fit).
    void* allocate(size_t bytes, int device, bool scratch = false) {
        if (bytes == 0) return nullptr;
        const size_t size = allocation_size_class(bytes);
        const cudaStream_t stream = Stream::current(device).handle();
        std::lock_guard<std::mutex> lock(mutex_);
        MemoryStats& stats = stats_[device];
        const allocator_detail::BlockCache::Block cached = cache_.take(device, stream, size, scratch);
        void* ptr = cached.ptr;
        const size_t block_size = ptr ? cached.size : size;
        if (ptr) {
            stats.cached_bytes -= block_size;
            ++stats.cache_hits;
        } else {
            ptr = device_malloc(size, bytes, device);
        }
        live_[ptr] = Block{block_size, device, stream};
        stats.allocated_bytes += block_size;
        stats.peak_allocated_bytes = std::max(stats.peak_allocated_bytes, stats.allocated_bytes);
        ++stats.allocations;
        return ptr;
    }

    /// Called from seam::Storage's destructor: must never throw.
    void deallocate(void* ptr) {
        if (!ptr) return;
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = live_.find(ptr);
        if (it == live_.end()) {
            std::fprintf(stderr, "seam::cuda::deallocate: %p was not allocated by seam's CUDA allocator (ignored)\n", ptr);
            return;
        }
        const Block block = it->second;
        live_.erase(it);
        cache_.put(block.device, block.stream, block.size, ptr);
        MemoryStats& stats = stats_[block.device];
        stats.allocated_bytes -= block.size;
        stats.cached_bytes += block.size;
    }

    void empty_cache() {
        std::lock_guard<std::mutex> lock(mutex_);
        for (int device = 0; device < kMaxDevices; ++device) release_locked(device);
    }

    MemoryStats stats(int device) {
        std::lock_guard<std::mutex> lock(mutex_);
        MemoryStats s = stats_[device];
        s.reserved_bytes = s.allocated_bytes + s.cached_bytes;
        return s;
    }

    void reset_peak(int device) {
        std::lock_guard<std::mutex> lock(mutex_);
        stats_[device].peak_allocated_bytes = stats_[device].allocated_bytes;
    }

private:
    struct Block {
        size_t size;
        int device;
        cudaStream_t stream;
    };

    /// cudaMalloc; on out-of-memory, give this device's cache back and try once more.
    void* device_malloc(size_t size, size_t requested, int device) {
        DeviceGuard guard(device);
        void* ptr = nullptr;
        cudaError_t status = cudaMalloc(&ptr, size);
        if (status == cudaErrorMemoryAllocation) {
            cudaGetLastError();  // out-of-memory is not sticky; clear it before retrying
            release_locked(device);
            status = cudaMalloc(&ptr, size);
        }
        if (status != cudaSuccess) {
            cudaGetLastError();
            const MemoryStats& s = stats_[device];
            throw CudaError(detail::concat("CUDA allocation of ", requested, " bytes (size class ", size, ") on cuda:", device,
                                           " failed: ", cudaGetErrorString(status), " (", cudaGetErrorName(status),
                                           "); seam holds ", s.allocated_bytes, " bytes in live tensors and ",
                                           s.cached_bytes, " bytes cached"),
                            static_cast<int>(status));
        }
        ++stats_[device].device_mallocs;
        return ptr;
    }

    void release_locked(int device) {
        cache_.release(device, [&](void* ptr, size_t size) {
            DeviceGuard guard(device);  // only where a block exists: empty_cache visits devices that may not
            SEAM_CUDA_CHECK(cudaFree(ptr));
            stats_[device].cached_bytes -= size;
            ++stats_[device].device_frees;
        });
    }

    std::mutex mutex_;
    std::unordered_map<void*, Block> live_;
    allocator_detail::BlockCache cache_;  // the freed blocks, by (device, stream, size)
    std::array<MemoryStats, kMaxDevices> stats_{};
};

int stats_device(int device) {
    if (device == -1) return current_device();
    SEAM_CHECK(device >= 0 && device < kMaxDevices, "memory_stats: bad device index ", device);
    return device;
}

}  // namespace

void* allocate(size_t bytes, int device) {
    return CachingAllocator::instance().allocate(bytes, resolve_device(device));
}
void deallocate(void* ptr, Device) { CachingAllocator::instance().deallocate(ptr); }
MemoryStats memory_stats(int device) { return CachingAllocator::instance().stats(stats_device(device)); }
void reset_peak_memory(int device) { CachingAllocator::instance().reset_peak(stats_device(device)); }
void empty_cache() { CachingAllocator::instance().empty_cache(); }

namespace {
/// Device memory for one call's scratch space, handed back when the call returns. Giving it back
/// before the GPU has used it is safe: the block can only be reused by later work on the same stream.
struct Workspace {
    explicit Workspace(size_t bytes) : ptr(CachingAllocator::instance().allocate(bytes, resolve_device(-1), /*scratch=*/true)) {}
    ~Workspace() { deallocate(ptr, Device{DeviceType::cuda, 0}); }  // the allocator knows the block's device
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;
    void* ptr;
};
}  // namespace

// ===== copies through pinned staging ===============================================================

size_t staging_chunk_bytes() { return size_t(4) << 20; }

namespace {
void ensure_staging(DeviceState& state) {
    for (int slot = 0; slot < 2; ++slot) {
        if (!state.staging[slot]) SEAM_CUDA_CHECK(cudaMallocHost(&state.staging[slot], staging_chunk_bytes()));
        if (!state.staging_done[slot])
            SEAM_CUDA_CHECK(cudaEventCreateWithFlags(&state.staging_done[slot], cudaEventDisableTiming));
    }
}
}  // namespace

void copy_host_to_device(void* device_dst, const void* host_src, size_t bytes, int device) {
    if (bytes == 0) return;
    device = resolve_device(device);
    DeviceGuard guard(device);
    DeviceState& state = device_state(device);
    std::lock_guard<std::mutex> lock(state.staging_mutex);
    ensure_staging(state);
    const cudaStream_t stream = Stream::current(device).handle();
    const size_t chunk = staging_chunk_bytes();
    auto* dst = static_cast<char*>(device_dst);
    const auto* src = static_cast<const char*>(host_src);
    // Chunk k fills buffer k % 2 while the DMA of chunk k-1 (other buffer) runs.
    for (size_t done = 0, k = 0; done < bytes; done += chunk, ++k) {
        const int slot = static_cast<int>(k % 2);
        const size_t len = std::min(chunk, bytes - done);
        SEAM_CUDA_CHECK(cudaEventSynchronize(state.staging_done[slot]));  // the DMA of chunk k-2 has read it
        std::memcpy(state.staging[slot], src + done, len);
        SEAM_CUDA_CHECK(cudaMemcpyAsync(dst + done, state.staging[slot], len, cudaMemcpyHostToDevice, stream));
        SEAM_CUDA_CHECK(cudaEventRecord(state.staging_done[slot], stream));
    }
    SEAM_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void copy_device_to_host(void* host_dst, const void* device_src, size_t bytes, int device) {
    if (bytes == 0) return;
    device = resolve_device(device);
    DeviceGuard guard(device);
    DeviceState& state = device_state(device);
    std::lock_guard<std::mutex> lock(state.staging_mutex);
    ensure_staging(state);
    const cudaStream_t stream = Stream::current(device).handle();
    const size_t chunk = staging_chunk_bytes();
    const size_t chunks = (bytes + chunk - 1) / chunk;
    auto* dst = static_cast<char*>(host_dst);
    const auto* src = static_cast<const char*>(device_src);
    auto length = [&](size_t k) { return std::min(chunk, bytes - k * chunk); };
    auto enqueue = [&](size_t k) {  // DMA chunk k into buffer k % 2 (after the stream's earlier work)
        const int slot = static_cast<int>(k % 2);
        SEAM_CUDA_CHECK(cudaMemcpyAsync(state.staging[slot], src + k * chunk, length(k), cudaMemcpyDeviceToHost, stream));
        SEAM_CUDA_CHECK(cudaEventRecord(state.staging_done[slot], stream));
    };
    auto drain = [&](size_t k) {  // wait for chunk k, copy it out of its buffer
        const int slot = static_cast<int>(k % 2);
        SEAM_CUDA_CHECK(cudaEventSynchronize(state.staging_done[slot]));
        std::memcpy(dst + k * chunk, state.staging[slot], length(k));
    };
    enqueue(0);
    for (size_t k = 1; k < chunks; ++k) {
        enqueue(k);  // buffer k % 2 was drained at step k-1 (chunk k-2)
        drain(k - 1);
    }
    drain(chunks - 1);
}

void copy_device_to_device(void* dst, int dst_device, const void* src, int src_device, size_t bytes) {
    if (bytes == 0) return;
    dst_device = resolve_device(dst_device);
    src_device = resolve_device(src_device);
    Stream::current(src_device).synchronize();  // whatever produces src has finished
    const Stream stream = Stream::current(dst_device);
    DeviceGuard guard(dst_device);
    if (dst_device == src_device)
        SEAM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream.handle()));
    else
        SEAM_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device, src, src_device, bytes, stream.handle()));
    stream.synchronize();
}

// ===== cuBLAS =======================================================================================

namespace {

std::atomic<bool> tf32_allowed{false};

/// The device's handle, bound to the current stream and the current TF32 setting.
cublasHandle_t cublas_handle() {
    const int device = current_device();
    DeviceState& state = device_state(device);
    std::call_once(state.cublas_once, [&] { SEAM_CUBLAS_CHECK(cublasCreate(&state.cublas)); });
    SEAM_CUBLAS_CHECK(cublasSetStream(state.cublas, Stream::current(device).handle()));
    SEAM_CUBLAS_CHECK(cublasSetMathMode(state.cublas, tf32_allowed.load() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    return state.cublas;
}

int to_int(int64_t v, const char* what) {
    SEAM_CHECK(v >= 0 && v <= INT_MAX, "gemm: ", what, " = ", v, " does not fit cuBLAS's 32-bit int");
    return static_cast<int>(v);
}

/// Row-major operands seen by column-major cuBLAS: C^T = op(B)^T · op(A)^T, so B goes first and
/// the roles of m and n swap. The leading dimensions are then the row strides unchanged.
struct GemmArgs {
    cublasOperation_t op_b, op_a;
    int n, m, k, ldb, lda, ldc;
};

GemmArgs gemm_args(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc) {
    SEAM_CHECK(lda >= std::max<int64_t>(1, trans_a ? m : k), "gemm: lda = ", lda, " is smaller than the row length of A (",
               trans_a ? m : k, ")");
    SEAM_CHECK(ldb >= std::max<int64_t>(1, trans_b ? k : n), "gemm: ldb = ", ldb, " is smaller than the row length of B (",
               trans_b ? k : n, ")");
    SEAM_CHECK(ldc >= std::max<int64_t>(1, n), "gemm: ldc = ", ldc, " is smaller than the row length of C (", n, ")");
    return {trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, to_int(n, "n"), to_int(m, "m"),
            to_int(k, "k"), to_int(ldb, "ldb"), to_int(lda, "lda"), to_int(ldc, "ldc")};
}

void cublas_gemm(cublasHandle_t h, const GemmArgs& g, const float* alpha, const float* a, const float* b,
                 const float* beta, float* c) {
    SEAM_CUBLAS_CHECK(cublasSgemm(h, g.op_b, g.op_a, g.n, g.m, g.k, alpha, b, g.ldb, a, g.lda, beta, c, g.ldc));
}
void cublas_gemm(cublasHandle_t h, const GemmArgs& g, const double* alpha, const double* a, const double* b,
                 const double* beta, double* c) {
    SEAM_CUBLAS_CHECK(cublasDgemm(h, g.op_b, g.op_a, g.n, g.m, g.k, alpha, b, g.ldb, a, g.lda, beta, c, g.ldc));
}
void cublas_gemm_batched(cublasHandle_t h, const GemmArgs& g, const float* alpha, const float* a, int64_t sa,
                         const float* b, int64_t sb, const float* beta, float* c, int64_t sc, int batch) {
    SEAM_CUBLAS_CHECK(cublasSgemmStridedBatched(h, g.op_b, g.op_a, g.n, g.m, g.k, alpha, b, g.ldb, sb, a, g.lda, sa, beta,
                                                c, g.ldc, sc, batch));
}
void cublas_gemm_batched(cublasHandle_t h, const GemmArgs& g, const double* alpha, const double* a, int64_t sa,
                         const double* b, int64_t sb, const double* beta, double* c, int64_t sc, int batch) {
    SEAM_CUBLAS_CHECK(cublasDgemmStridedBatched(h, g.op_b, g.op_a, g.n, g.m, g.k, alpha, b, g.ldb, sb, a, g.lda, sa, beta,
                                                c, g.ldc, sc, batch));
}

}  // namespace

void set_allow_tf32(bool allow) { tf32_allowed.store(allow); }
bool allow_tf32() { return tf32_allowed.load(); }

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc) {
    const GemmArgs args = gemm_args(trans_a, trans_b, m, n, k, lda, ldb, ldc);
    if (m == 0 || n == 0) return;
    cublas_gemm(cublas_handle(), args, &alpha, a, b, &beta, c);
}

template <class T>
void gemm_strided_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                          int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T beta, T* c,
                          int64_t ldc, int64_t stride_c, int64_t batch) {
    const GemmArgs args = gemm_args(trans_a, trans_b, m, n, k, lda, ldb, ldc);
    if (m == 0 || n == 0 || batch == 0) return;
    cublas_gemm_batched(cublas_handle(), args, &alpha, a, stride_a, b, stride_b, &beta, c, stride_c,
                        to_int(batch, "batch"));
}

// ===== elementwise and reductions ==================================================================

const char* op_name(UnaryOp op) {
    switch (op) {
        case UnaryOp::neg: return "neg";
        case UnaryOp::abs: return "abs";
        case UnaryOp::exp: return "exp";
        case UnaryOp::log: return "log";
        case UnaryOp::sqrt: return "sqrt";
        case UnaryOp::square: return "square";
        case UnaryOp::relu: return "relu";
        case UnaryOp::sigmoid: return "sigmoid";
        case UnaryOp::tanh: return "tanh";
        case UnaryOp::gelu: return "gelu";
        case UnaryOp::add_scalar: return "add_scalar";
        case UnaryOp::mul_scalar: return "mul_scalar";
        case UnaryOp::pow_scalar: return "pow_scalar";
        case UnaryOp::clamp: return "clamp";
        case UnaryOp::leaky_relu: return "leaky_relu";
        case UnaryOp::elu: return "elu";
    }
    return "unknown unary op";
}

const char* op_name(BinaryOp op) {
    switch (op) {
        case BinaryOp::add: return "add";
        case BinaryOp::sub: return "sub";
        case BinaryOp::mul: return "mul";
        case BinaryOp::div: return "div";
        case BinaryOp::maximum: return "maximum";
        case BinaryOp::minimum: return "minimum";
        case BinaryOp::pow: return "pow";
    }
    return "unknown binary op";
}

CollapsedLayout collapse_layout(const Shape& shape, const std::vector<Shape>& strides) {
    return kernels::collapse_dims(shape, strides);
}

namespace {
cudaStream_t stream_now() { return Stream::current().handle(); }
}  // namespace

template <class T>
void unary(UnaryOp op, UnaryParams params, const T* x, const Shape& shape, const Shape& x_strides, T* out) {
    kernels::unary_forward<T>(op, static_cast<T>(params.a), static_cast<T>(params.b), x, shape, x_strides, out,
                              stream_now());
}

template <class T>
void unary_backward(UnaryOp op, UnaryParams params, const T* grad, const Shape& grad_strides, const T* x,
                    const Shape& x_strides, const T* y, const Shape& y_strides, const Shape& shape, T* grad_x) {
    kernels::unary_backward<T>(op, static_cast<T>(params.a), static_cast<T>(params.b), grad, grad_strides, x, x_strides,
                               y, y_strides, shape, grad_x, stream_now());
}

template <class T>
void binary(BinaryOp op, const T* a, const Shape& a_strides, const T* b, const Shape& b_strides, const Shape& shape,
            T* out) {
    kernels::binary_forward<T>(op, a, a_strides, b, b_strides, shape, out, stream_now());
}

template <class T>
void binary_backward(BinaryOp op, const T* grad, const Shape& grad_strides, const T* a, const Shape& a_strides,
                     const T* b, const Shape& b_strides, const T* y, const Shape& y_strides, const Shape& shape,
                     T* grad_a, T* grad_b) {
    kernels::binary_backward<T>(op, grad, grad_strides, a, a_strides, b, b_strides, y, y_strides, shape, grad_a, grad_b,
                                stream_now());
}

template <class T>
void fill(T* out, const Shape& shape, const Shape& out_strides, T value) {
    kernels::fill<T>(out, shape, out_strides, value, stream_now());
}

template <class T>
void copy(const T* src, const Shape& src_strides, T* dst, const Shape& dst_strides, const Shape& shape) {
    kernels::copy<T>(src, src_strides, dst, dst_strides, shape, stream_now());
}

template <class T>
void compare(CompareOp op, const T* a, const Shape& a_strides, const T* b, const Shape& b_strides, const Shape& shape,
             uint8_t* out) {
    kernels::compare<T>(op, a, a_strides, b, b_strides, shape, out, stream_now());
}

template <class T>
void where(const uint8_t* cond, const Shape& cond_strides, const T* a, const Shape& a_strides, const T* b,
           const Shape& b_strides, const Shape& shape, T* out) {
    kernels::select<T>(cond, cond_strides, a, a_strides, b, b_strides, shape, out, stream_now());
}

template <class T>
void gather(const T* x, const Shape& x_shape, int64_t dim, const int64_t* index, const Shape& index_shape, T* out,
            int64_t* bad) {
    kernels::gather<T>(x, x_shape, dim, index, index_shape, out, bad, stream_now());
}

template <class T>
void scatter_add(T* out, const Shape& x_shape, int64_t dim, const int64_t* index, const Shape& index_shape, const T* src,
                 int64_t* bad) {
    kernels::scatter_add<T>(out, x_shape, dim, index, index_shape, src, bad, stream_now());
}

template <class T>
void scatter_add_onto(const T* x, T* out, const Shape& x_shape, int64_t dim, const int64_t* index, const Shape& index_shape,
                      const T* src, int64_t* bad) {
    kernels::scatter_add_onto<T>(x, out, x_shape, dim, index, index_shape, src, bad, stream_now());
}

namespace {
void check_reduce_shape(const char* op, int64_t outer, int64_t reduce, int64_t inner) {
    SEAM_CHECK(outer >= 0 && reduce >= 0 && inner >= 0, op, ": negative size in [outer, reduce, inner] = [", outer, ", ",
               reduce, ", ", inner, "]");
}
}  // namespace

template <class T>
void sum_dim(const T* x, int64_t outer, int64_t reduce, int64_t inner, T* out) {
    check_reduce_shape("sum_dim", outer, reduce, inner);
    using R = kernels::SumReducer<T>;
    Workspace workspace(kernels::reduce_workspace_bytes<R>(outer, reduce, inner));
    kernels::launch_reduce<R>(x, outer, reduce, inner, kernels::SumOutput<T, typename R::Acc>{out}, workspace.ptr,
                              stream_now());
}

template <class T>
void max_dim(const T* x, int64_t outer, int64_t reduce, int64_t inner, T* values, int64_t* indices) {
    check_reduce_shape("max_dim", outer, reduce, inner);
    SEAM_CHECK(reduce > 0 || outer * inner == 0, "max_dim: cannot take the max over an empty dimension (outer ", outer,
               ", inner ", inner, ")");
    using R = kernels::MaxReducer<T>;
    Workspace workspace(kernels::reduce_workspace_bytes<R>(outer, reduce, inner));
    kernels::launch_reduce<R>(x, outer, reduce, inner, kernels::MaxOutput<T>{values, indices}, workspace.ptr,
                              stream_now());
}

template <class T>
void min_dim(const T* x, int64_t outer, int64_t reduce, int64_t inner, T* values, int64_t* indices) {
    check_reduce_shape("min_dim", outer, reduce, inner);
    SEAM_CHECK(reduce > 0 || outer * inner == 0, "min_dim: cannot take the min over an empty dimension (outer ", outer,
               ", inner ", inner, ")");
    using R = kernels::MinReducer<T>;
    Workspace workspace(kernels::reduce_workspace_bytes<R>(outer, reduce, inner));
    kernels::launch_reduce<R>(x, outer, reduce, inner, kernels::MaxOutput<T>{values, indices}, workspace.ptr,
                              stream_now());
}

template <class T>
void scatter_along(const T* grad, const int64_t* index, T* grad_in, int64_t outer, int64_t k, int64_t n, int64_t inner) {
    SEAM_CHECK(outer >= 0 && k >= 0 && n >= 0 && inner >= 0 && k <= n, "scatter_along: bad sizes outer=", outer,
               " k=", k, " n=", n, " inner=", inner);
    kernels::scatter_along<T>(grad, index, grad_in, outer, k, n, inner, stream_now());
}

template <class T>
void topk(const T* x, int64_t outer, int64_t n, int64_t inner, int64_t k, bool largest, bool sorted, T* values,
          int64_t* indices) {
    check_reduce_shape("topk", outer, n, inner);
    SEAM_CHECK(k >= 0 && k <= n, "topk: k = ", k, " is out of range for a dimension of size ", n);
    kernels::topk<T>(x, outer, n, inner, k, largest, sorted, values, indices, stream_now());
}

// ===== softmax and the fused cross-entropy ==========================================================

template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
    check_reduce_shape(log ? "log_softmax" : "softmax", outer, n, inner);
    kernels::softmax_forward<T>(x, y, outer, n, inner, log, stream_now());
}

template <class T>
void softmax_backward(const T* grad, const T* y, T* grad_x, int64_t outer, int64_t n, int64_t inner, bool log) {
    check_reduce_shape(log ? "log_softmax backward" : "softmax backward", outer, n, inner);
    kernels::softmax_backward<T>(grad, y, grad_x, outer, n, inner, log, stream_now());
}

namespace {
kernels::CrossEntropyArgs cross_entropy_args(const char* fn, const CrossEntropyShape& s) {
    SEAM_CHECK(s.batch >= 0 && s.classes > 0 && s.spatial >= 0, fn, ": bad sizes batch=", s.batch, " classes=", s.classes,
               " spatial=", s.spatial);
    SEAM_CHECK(s.reduction >= 0 && s.reduction <= 2, fn, ": unknown reduction code ", s.reduction, " (0 none, 1 mean, 2 sum)");
    SEAM_CHECK(s.label_smoothing >= 0 && s.label_smoothing <= 1, fn, ": label_smoothing ", s.label_smoothing,
               " is outside [0, 1]");
    kernels::CrossEntropyArgs a;
    a.batch = s.batch, a.classes = s.classes, a.spatial = s.spatial;
    a.ignore_index = s.ignore_index, a.label_smoothing = s.label_smoothing, a.reduction = s.reduction;
    return a;
}
}  // namespace

template <class T>
int64_t cross_entropy_forward(const T* logits, const int64_t* target, const T* weight, const CrossEntropyShape& shape,
                              T* out, double* lse, double* stats) {
    const kernels::CrossEntropyArgs a = cross_entropy_args("cross_entropy_forward", shape);
    Workspace workspace(kernels::cross_entropy_workspace_bytes(a));
    unsigned long long* first_bad = nullptr;
    const cudaStream_t stream = stream_now();
    kernels::cross_entropy_forward<T>(logits, target, weight, a, out, lse, stats, workspace.ptr, &first_bad, stream);
    // The CPU op names a bad target in an error; here that costs one small copy and a wait.
    unsigned long long bad = 0;
    SEAM_CUDA_CHECK(cudaMemcpyAsync(&bad, first_bad, sizeof(bad), cudaMemcpyDeviceToHost, stream));
    SEAM_CUDA_CHECK(cudaStreamSynchronize(stream));
    return bad == ~0ull ? -1 : static_cast<int64_t>(bad);
}

template <class T>
void cross_entropy_backward(const T* logits, const int64_t* target, const T* weight, const double* lse,
                            const double* stats, const T* grad_out, const CrossEntropyShape& shape, T* grad_logits) {
    const kernels::CrossEntropyArgs a = cross_entropy_args("cross_entropy_backward", shape);
    kernels::cross_entropy_backward<T>(logits, target, weight, lse, stats, grad_out, a, grad_logits, stream_now());
}

template <class T>
int64_t nll_loss_forward(const T* log_probs, const int64_t* target, const T* weight, const CrossEntropyShape& shape,
                         T* out, double* stats) {
    const kernels::CrossEntropyArgs a = cross_entropy_args("nll_loss_forward", shape);
    SEAM_CHECK(a.label_smoothing == 0, "nll_loss_forward: label_smoothing must be 0, got ", a.label_smoothing);
    Workspace workspace(kernels::cross_entropy_workspace_bytes(a));
    unsigned long long* first_bad = nullptr;
    const cudaStream_t stream = stream_now();
    kernels::nll_forward<T>(log_probs, target, weight, a, out, stats, workspace.ptr, &first_bad, stream);
    // As cross_entropy_forward: naming a bad target costs one small copy and a wait.
    unsigned long long bad = 0;
    SEAM_CUDA_CHECK(cudaMemcpyAsync(&bad, first_bad, sizeof(bad), cudaMemcpyDeviceToHost, stream));
    SEAM_CUDA_CHECK(cudaStreamSynchronize(stream));
    return bad == ~0ull ? -1 : static_cast<int64_t>(bad);
}

template <class T>
void nll_loss_backward(const int64_t* target, const T* weight, const double* stats, const T* grad_out,
                       const CrossEntropyShape& shape, T* grad_input) {
    const kernels::CrossEntropyArgs a = cross_entropy_args("nll_loss_backward", shape);
    kernels::nll_backward<T>(target, weight, stats, grad_out, a, grad_input, stream_now());
}

// ===== batch normalisation, layer normalisation and dropout =========================================

namespace {
kernels::BatchNormArgs batch_norm_args(const char* fn, const BatchNormShape& s, bool training, double momentum,
                                       double eps, bool relu) {
    SEAM_CHECK(s.N >= 0 && s.C >= 0 && s.inner >= 0, fn, ": bad sizes N=", s.N, " C=", s.C, " inner=", s.inner);
    SEAM_CHECK(!training || s.N * s.inner > 1, fn, ": training needs more than 1 value per channel, got N=", s.N,
               " inner=", s.inner);
    kernels::BatchNormArgs a;
    a.N = s.N, a.C = s.C, a.inner = s.inner;
    a.training = training, a.relu = relu, a.momentum = momentum, a.eps = eps;
    return a;
}
}  // namespace

template <class T>
void batch_norm_forward(const T* x, T* y, const BatchNormShape& shape, const T* weight, int64_t weight_stride,
                        const T* bias, int64_t bias_stride, T* running_mean, int64_t running_mean_stride,
                        T* running_var, int64_t running_var_stride, double* save_mean, double* save_invstd,
                        bool training, double momentum, double eps, bool relu) {
    const kernels::BatchNormArgs a = batch_norm_args("batch_norm_forward", shape, training, momentum, eps, relu);
    SEAM_CHECK((running_mean == nullptr) == (running_var == nullptr),
               "batch_norm_forward: running_mean and running_var must be both given or both null");
    SEAM_CHECK(training || running_mean, "batch_norm_forward: evaluation needs the running statistics");
    const int version = kernels::batch_norm_version(a);
    Workspace workspace(kernels::batch_norm_workspace_bytes(a, version));
    kernels::batch_norm_forward<T>(x, y, {weight, weight_stride}, {bias, bias_stride}, {running_mean, running_mean_stride},
                                   {running_var, running_var_stride}, save_mean, save_invstd, a, workspace.ptr,
                                   stream_now(), version);
}

template <class T>
void batch_norm_backward(const T* grad_out, const T* x, const T* y_relu, const T* weight, int64_t weight_stride,
                         const double* save_mean, const double* save_invstd, const BatchNormShape& shape, bool training,
                         T* grad_x, T* grad_weight, T* grad_bias) {
    const kernels::BatchNormArgs a = batch_norm_args("batch_norm_backward", shape, training, 0.0, 0.0, y_relu != nullptr);
    const int version = kernels::batch_norm_version(a);
    Workspace workspace(kernels::batch_norm_workspace_bytes(a, version));
    kernels::batch_norm_backward<T>(grad_out, x, y_relu, {weight, weight_stride}, save_mean, save_invstd, a, grad_x,
                                    grad_weight, grad_bias, workspace.ptr, stream_now(), version);
}

template <class T>
void dropout_forward(const T* x, T* y, uint8_t* keep, int64_t n, uint64_t key, uint64_t base, uint64_t threshold,
                     T scale) {
    SEAM_CHECK(n >= 0, "dropout_forward: negative size ", n);
    kernels::dropout_forward<T>(x, y, keep, n, key, base, threshold, scale, stream_now());
}

template <class T>
void dropout_backward(const T* grad, const uint8_t* keep, T* grad_x, int64_t n, T scale) {
    SEAM_CHECK(n >= 0, "dropout_backward: negative size ", n);
    kernels::dropout_backward<T>(grad, keep, grad_x, n, scale, stream_now());
}

namespace {
kernels::LayerNormArgs layer_norm_args(const char* fn, const LayerNormShape& s, double eps) {
    SEAM_CHECK(s.rows >= 0 && s.cols > 0, fn, ": bad sizes rows=", s.rows, " cols=", s.cols,
               " (cols, the normalised size, must be positive)");
    SEAM_CHECK(eps >= 0, fn, ": eps must be >= 0, got ", eps);
    kernels::LayerNormArgs a;
    a.rows = s.rows, a.cols = s.cols, a.eps = eps;
    return a;
}
}  // namespace

template <class T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, double* save_mean, double* save_rstd,
                        const LayerNormShape& shape, double eps) {
    const kernels::LayerNormArgs a = layer_norm_args("layer_norm_forward", shape, eps);
    kernels::layer_norm_forward<T>(x, weight, bias, y, save_mean, save_rstd, a, stream_now());
}

template <class T>
void layer_norm_backward(const T* grad_out, const T* x, const T* weight, const double* save_mean,
                         const double* save_rstd, const LayerNormShape& shape, T* grad_x, T* grad_weight,
                         T* grad_bias) {
    const kernels::LayerNormArgs a = layer_norm_args("layer_norm_backward", shape, 0.0);
    const bool params = grad_weight || grad_bias;
    Workspace workspace(params ? kernels::layer_norm_param_workspace_bytes(a.rows, a.cols) : 0);
    kernels::layer_norm_backward<T>(grad_out, x, weight, save_mean, save_rstd, a, grad_x, grad_weight, grad_bias,
                                    workspace.ptr, stream_now());
}

// ===== fused optimizer steps ==========================================================================

template <class T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const SgdStepArgs& args) {
    SEAM_CHECK(n >= 0, "sgd_step: negative size ", n);
    const kernels::SgdParams<T> s{static_cast<T>(args.lr), static_cast<T>(args.weight_decay),
                                  static_cast<T>(args.momentum), static_cast<T>(args.keep), args.nesterov, args.first};
    kernels::sgd_step<T>(param, grad, momentum_buffer, n, s, stream_now());
}

template <class T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const AdamStepArgs& args) {
    SEAM_CHECK(n >= 0, "adam_step: negative size ", n);
    const kernels::AdamParams<T> a{static_cast<T>(args.beta1),     static_cast<T>(args.beta2),
                                   static_cast<T>(args.eps),       static_cast<T>(args.step_size),
                                   static_cast<T>(args.bias_correction2_sqrt), static_cast<T>(args.weight_decay),
                                   static_cast<T>(args.decay),     args.decoupled};
    kernels::adam_step<T>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, a, stream_now());
}

// ===== landmark pooling ===============================================================================

namespace {

/// The kernel's shape struct, after checks that name what is wrong (the launchers would only say
/// "invalid argument"). The op has checked all of this already; these guard direct callers.
kernels::LandmarkPoolShape landmark_pool_kernel_shape(const char* fn, const LandmarkPoolShape& s) {
    SEAM_CHECK(s.N >= 0 && s.C >= 0 && s.L >= 0 && s.H > 0 && s.W > 0, fn, ": bad sizes N=", s.N, " C=", s.C, " H=", s.H,
               " W=", s.W, " L=", s.L, " (H and W must be positive, the others non-negative)");
    SEAM_CHECK(s.window_h > 0 && s.window_w > 0 && s.bins_h > 0 && s.bins_w > 0, fn, ": window ", s.window_h, "x",
               s.window_w, " and bins ", s.bins_h, "x", s.bins_w, " must be positive");
    SEAM_CHECK(s.gate == kernels::kLandmarkGateNone || s.gate == kernels::kLandmarkGateHard ||
                   s.gate == kernels::kLandmarkGateSoft,
               fn, ": unknown gate code ", s.gate, " (0 none, 1 hard, 2 soft)");
    kernels::LandmarkPoolShape k;
    k.N = s.N, k.C = s.C, k.H = s.H, k.W = s.W, k.L = s.L;
    k.window_h = s.window_h, k.window_w = s.window_w, k.bins_h = s.bins_h, k.bins_w = s.bins_w;
    k.gate = s.gate;
    k.threshold = s.threshold;
    return k;
}

}  // namespace

template <class T>
void landmark_pool_forward(const T* features, const T* landmarks, const T* visibility, T* out, int64_t* argmax,
                           const LandmarkPoolShape& shape) {
    const kernels::LandmarkPoolShape s = landmark_pool_kernel_shape("landmark_pool_forward", shape);
    if (s.outputs() == 0) return;  // nothing to write (and an empty visibility may be a null pointer)
    SEAM_CHECK(s.gate == kernels::kLandmarkGateNone || visibility, "landmark_pool_forward: the gate code ", s.gate,
               " needs a visibility array");
    SEAM_CUDA_CHECK(kernels::landmark_pool_forward<T>(features, landmarks, visibility, out, argmax, s, stream_now()));
}

template <class T>
void landmark_pool_backward_features(const T* grad_out, const int64_t* argmax, const T* visibility, T* grad_features,
                                     const LandmarkPoolShape& shape) {
    kernels::LandmarkPoolShape s = landmark_pool_kernel_shape("landmark_pool_backward_features", shape);
    if (s.feature_elements() == 0) return;
    // Without landmarks every cell's gradient is 0 and no gate factor is read; the visibility
    // array is then empty and may be a null pointer, which the launcher would refuse.
    if (s.N * s.L == 0) s.gate = kernels::kLandmarkGateNone;
    SEAM_CHECK(s.gate != kernels::kLandmarkGateSoft || visibility,
               "landmark_pool_backward_features: the soft gate needs the visibility array");
    SEAM_CUDA_CHECK(kernels::landmark_pool_backward_features<T>(grad_out, argmax, visibility, grad_features, s,
                                                                stream_now()));
}

template <class T>
void landmark_pool_backward_visibility(const T* grad_out, const T* features, const int64_t* argmax,
                                       T* grad_visibility, const LandmarkPoolShape& shape) {
    const kernels::LandmarkPoolShape s = landmark_pool_kernel_shape("landmark_pool_backward_visibility", shape);
    SEAM_CHECK(s.gate == kernels::kLandmarkGateSoft, "landmark_pool_backward_visibility: only the soft gate (code 2) ",
               "has a visibility gradient; got gate code ", s.gate);
    SEAM_CUDA_CHECK(
        kernels::landmark_pool_backward_visibility<T>(grad_out, features, argmax, grad_visibility, s, stream_now()));
}

// ===== 2-D pooling ==================================================================================

namespace {

/// The kernel's shape struct, after checks that name what is wrong (the launchers would only say
/// "invalid argument"). ops/pool.hpp has checked all of this already; these guard direct callers.
kernels::Pool2dShape pool2d_kernel_shape(const char* fn, const Pool2dShape& s, bool adaptive) {
    const bool map_ok = adaptive ? s.H > 0 && s.W > 0 : s.H >= 0 && s.W >= 0;
    SEAM_CHECK(s.N >= 0 && s.C >= 0 && map_ok && s.OH >= 0 && s.OW >= 0, fn, ": bad sizes N=", s.N, " C=", s.C,
               " H=", s.H, " W=", s.W, " OH=", s.OH, " OW=", s.OW, adaptive ? " (H and W must be positive," : " (",
               " sizes must be non-negative)");
    if (!adaptive)
        SEAM_CHECK(s.kh > 0 && s.kw > 0 && s.sh > 0 && s.sw > 0 && s.ph >= 0 && s.pw >= 0 && s.dh > 0 && s.dw > 0, fn,
                   ": bad window: kernel ", s.kh, "x", s.kw, ", stride ", s.sh, "x", s.sw, ", padding ", s.ph, "x", s.pw,
                   ", dilation ", s.dh, "x", s.dw);
    kernels::Pool2dShape k;
    k.N = s.N, k.C = s.C, k.H = s.H, k.W = s.W, k.OH = s.OH, k.OW = s.OW;
    k.kh = s.kh, k.kw = s.kw, k.sh = s.sh, k.sw = s.sw, k.ph = s.ph, k.pw = s.pw, k.dh = s.dh, k.dw = s.dw;
    return k;
}

kernels::AvgPoolDivisor avg_divisor_of(const char* fn, const Pool2dShape& s, bool count_include_pad,
                                       int64_t divisor_override) {
    SEAM_CHECK(s.dh == 1 && s.dw == 1, fn, ": dilation ", s.dh, "x", s.dw, " is not supported by average pooling");
    kernels::AvgPoolDivisor d;
    d.count_include_pad = count_include_pad;
    d.divisor_override = divisor_override;
    return d;
}

}  // namespace

template <class T>
void max_pool2d_forward(const T* x, T* out, int64_t* indices, const Pool2dShape& shape) {
    const auto s = pool2d_kernel_shape("max_pool2d_forward", shape, false);
    SEAM_CUDA_CHECK(kernels::max_pool2d_forward<T>(x, out, indices, s, stream_now()));
}

template <class T>
void max_pool2d_backward(const T* grad_out, const int64_t* indices, T* grad_in, const Pool2dShape& shape) {
    const auto s = pool2d_kernel_shape("max_pool2d_backward", shape, false);
    SEAM_CUDA_CHECK(kernels::max_pool2d_backward<T>(grad_out, indices, grad_in, s, stream_now()));
}

template <class T>
void avg_pool2d_forward(const T* x, T* out, const Pool2dShape& shape, bool count_include_pad, int64_t divisor_override) {
    const auto s = pool2d_kernel_shape("avg_pool2d_forward", shape, false);
    const auto d = avg_divisor_of("avg_pool2d_forward", shape, count_include_pad, divisor_override);
    SEAM_CUDA_CHECK(kernels::avg_pool2d_forward<T>(x, out, s, d, stream_now()));
}

template <class T>
void avg_pool2d_backward(const T* grad_out, T* grad_in, const Pool2dShape& shape, bool count_include_pad,
                         int64_t divisor_override) {
    const auto s = pool2d_kernel_shape("avg_pool2d_backward", shape, false);
    const auto d = avg_divisor_of("avg_pool2d_backward", shape, count_include_pad, divisor_override);
    SEAM_CUDA_CHECK(kernels::avg_pool2d_backward<T>(grad_out, grad_in, s, d, stream_now()));
}

template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* out, const Pool2dShape& shape) {
    const auto s = pool2d_kernel_shape("adaptive_avg_pool2d_forward", shape, true);
    SEAM_CUDA_CHECK(kernels::adaptive_avg_pool2d_forward<T>(x, out, s, stream_now()));
}

template <class T>
void adaptive_avg_pool2d_backward(const T* grad_out, T* grad_in, const Pool2dShape& shape) {
    const auto s = pool2d_kernel_shape("adaptive_avg_pool2d_backward", shape, true);
    SEAM_CUDA_CHECK(kernels::adaptive_avg_pool2d_backward<T>(grad_out, grad_in, s, stream_now()));
}

template <class T>
void adaptive_max_pool2d_forward(const T* x, T* out, int64_t* indices, const Pool2dShape& shape) {
    const auto s = pool2d_kernel_shape("adaptive_max_pool2d_forward", shape, true);
    SEAM_CUDA_CHECK(kernels::adaptive_max_pool2d_forward<T>(x, out, indices, s, stream_now()));
}

template <class T>
void adaptive_max_pool2d_backward(const T* grad_out, const int64_t* indices, T* grad_in, const Pool2dShape& shape) {
    const auto s = pool2d_kernel_shape("adaptive_max_pool2d_backward", shape, true);
    SEAM_CUDA_CHECK(kernels::adaptive_max_pool2d_backward<T>(grad_out, indices, grad_in, s, stream_now()));
}

// ===== resampling ===================================================================================

namespace {

/// The kernel's structs, after checks that name what is wrong; ops/resize.hpp has checked the
/// sizes already, these guard direct callers.
kernels::ResizeShape resize_kernel_shape(const char* fn, const ResizeShape& s) {
    SEAM_CHECK(s.N >= 0 && s.C >= 0 && s.H > 0 && s.W > 0 && s.OH > 0 && s.OW > 0, fn, ": bad sizes N=", s.N, " C=", s.C,
               " H=", s.H, " W=", s.W, " OH=", s.OH, " OW=", s.OW, " (the map sizes must be positive)");
    kernels::ResizeShape k;
    k.N = s.N, k.C = s.C, k.H = s.H, k.W = s.W, k.OH = s.OH, k.OW = s.OW;
    return k;
}

template <class T>
kernels::ResizeAxis<T> resize_kernel_axis(const char* fn, const char* axis, const ResizeAxis<T>& a, bool bilinear,
                                          bool backward) {
    SEAM_CHECK(a.i0 && (!bilinear || (a.i1 && a.w0 && a.w1)) && (!backward || (a.readers_begin && a.readers_end)), fn,
               ": the ", axis, " table is incomplete (", bilinear ? "i0, i1, w0, w1" : "i0",
               backward ? " and readers_begin/readers_end" : "", " are needed)");
    kernels::ResizeAxis<T> k;
    k.i0 = a.i0, k.i1 = a.i1, k.w0 = a.w0, k.w1 = a.w1, k.readers_begin = a.readers_begin, k.readers_end = a.readers_end;
    return k;
}

}  // namespace

template <class T>
void upsample_nearest2d_forward(const T* x, T* out, const ResizeShape& shape, const ResizeAxis<T>& rows,
                                const ResizeAxis<T>& cols) {
    const char* fn = "upsample_nearest2d_forward";
    kernels::upsample_nearest2d_forward<T>(x, out, resize_kernel_shape(fn, shape),
                                           resize_kernel_axis(fn, "row", rows, false, false),
                                           resize_kernel_axis(fn, "column", cols, false, false), stream_now());
}

template <class T>
void upsample_nearest2d_backward(const T* grad_out, T* grad_in, const ResizeShape& shape, const ResizeAxis<T>& rows,
                                 const ResizeAxis<T>& cols) {
    const char* fn = "upsample_nearest2d_backward";
    kernels::upsample_nearest2d_backward<T>(grad_out, grad_in, resize_kernel_shape(fn, shape),
                                            resize_kernel_axis(fn, "row", rows, false, true),
                                            resize_kernel_axis(fn, "column", cols, false, true), stream_now());
}

template <class T>
void upsample_bilinear2d_forward(const T* x, T* out, const ResizeShape& shape, const ResizeAxis<T>& rows,
                                 const ResizeAxis<T>& cols) {
    const char* fn = "upsample_bilinear2d_forward";
    kernels::upsample_bilinear2d_forward<T>(x, out, resize_kernel_shape(fn, shape),
                                            resize_kernel_axis(fn, "row", rows, true, false),
                                            resize_kernel_axis(fn, "column", cols, true, false), stream_now());
}

template <class T>
void upsample_bilinear2d_backward(const T* grad_out, T* grad_in, const ResizeShape& shape, const ResizeAxis<T>& rows,
                                  const ResizeAxis<T>& cols) {
    const char* fn = "upsample_bilinear2d_backward";
    kernels::upsample_bilinear2d_backward<T>(grad_out, grad_in, resize_kernel_shape(fn, shape),
                                             resize_kernel_axis(fn, "row", rows, true, true),
                                             resize_kernel_axis(fn, "column", cols, true, true), stream_now());
}

// ===== 2-D convolution ==============================================================================

namespace {

/// The process's starting algorithm: implicit_gemm, or the one SEAM_CONV_ALGORITHM names (its
/// conv_algorithm_name: direct, implicit_gemm, implicit_gemm_tf32, winograd), so that a test suite
/// or an example can run whole under another algorithm without a code change (bench/gpu_check.sh
/// runs the CUDA tests under winograd this way). Anything else is refused by name.
int starting_conv_algorithm() {
    const char* v = std::getenv("SEAM_CONV_ALGORITHM");
    if (v == nullptr || *v == '\0') return static_cast<int>(ConvAlgorithm::implicit_gemm);
    try {
        return static_cast<int>(conv_algorithm_from_name(v));
    } catch (const Error& e) {
        throw Error(detail::concat("environment variable SEAM_CONV_ALGORITHM: ", e.what()));
    }
}

/// Read from the environment on first use (a refused value throws there, and again at the next use).
std::atomic<int>& conv_algorithm_in_use() {
    static std::atomic<int> in_use{starting_conv_algorithm()};
    return in_use;
}

void check_conv_algorithm(const char* fn, ConvAlgorithm a) {
    SEAM_CHECK(a == ConvAlgorithm::direct || a == ConvAlgorithm::implicit_gemm || a == ConvAlgorithm::implicit_gemm_tf32 ||
                   a == ConvAlgorithm::winograd,
               fn, ": unknown conv algorithm code ", static_cast<int>(a),
               " (1 direct, 2 implicit_gemm, 3 implicit_gemm_tf32, 4 winograd)");
}

/// The fp32/fp64 kernel version of conv2d.cuh that runs `a` when the TF32 or Winograd kernels do not
/// (double tensors: TF32 is a float32 format, so implicit_gemm_tf32 means implicit_gemm for them;
/// winograd means implicit_gemm for the convolutions F(2x2, 3x3) does not serve).
kernels::ConvAlgo kernel_algo(const char* fn, ConvAlgorithm a) {
    check_conv_algorithm(fn, a);
    return a == ConvAlgorithm::direct ? kernels::ConvAlgo::direct : kernels::ConvAlgo::implicit_gemm;
}

/// Refuses, naming the GPU, a device without TF32 tensor cores (compute capability below 8.0); the
/// answer is kept per device (0 not asked yet, 1 capable, 2 not).
void require_tf32_device(const char* fn) {
    constexpr int kMaxDevices = 64;
    static std::array<std::atomic<int>, kMaxDevices> capable{};
    const int device = current_device();
    std::atomic<int>* cached = device >= 0 && device < kMaxDevices ? &capable[static_cast<size_t>(device)] : nullptr;
    int state = cached ? cached->load() : 0;
    if (state == 0) {
        int major = 0;
        SEAM_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
        state = major >= 8 ? 1 : 2;
        if (cached) cached->store(state);
    }
    if (state == 1) return;
    const DeviceInfo info = device_info(device);
    throw Error(detail::concat(fn, ": ConvAlgorithm::implicit_gemm_tf32 runs on TF32 tensor cores, which need compute "
                               "capability 8.0 or newer (Ampere); cuda:", device, " (", info.name, ") is ",
                               info.compute_major, ".", info.compute_minor, ": use ConvAlgorithm::implicit_gemm"));
}

/// The TF32 version the ops run when SEAM_TF32_CONV_VERSION is unset: the fastest measured on the
/// current device's kind. Version 6 where it runs (compute capability 9.0, sm_90a code in this
/// build): the fastest on an H200 (bench/results/gpu-h200-2026-11-27-conv-pool-run*.md). Else version
/// 5 on 9.x (on the H200 faster than version 4 on every VGG-16 pass but conv1_1's), else version 4
/// (versions 5 and 6 have not run on an Ampere card).
kernels::Tf32Version default_tf32_conv_version() {
    if (kernels::conv2d_tf32_wgmma::available() == cudaSuccess) return kernels::Tf32Version::v6_wgmma;
    int device = 0, major = 0;
    SEAM_CUDA_CHECK(cudaGetDevice(&device));
    SEAM_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    return major >= 9 ? kernels::Tf32Version::v5_nhwc : kernels::Tf32Version::v4_mma_two_blocks;
}

/// The TF32 conv kernel version the ops run (kernels/seam/conv2d_tf32.cuh): SEAM_TF32_CONV_VERSION=3
/// (wmma), 4 (mma.sync at two blocks an SM), 5 (staged channels-last) or 6 (5 with wgmma GEMMs;
/// compute capability 9.0 and sm_90a code only); unset, default_tf32_conv_version's choice.
/// Read at every call, like kernel_version, so a bench can switch in one process.
kernels::Tf32Version tf32_conv_version() {
    const char* v = std::getenv("SEAM_TF32_CONV_VERSION");
    if (v == nullptr || *v == '\0') return default_tf32_conv_version();
    const std::string_view text(v);
    if (text == "3") return kernels::Tf32Version::v3_wmma;
    if (text == "4") return kernels::Tf32Version::v4_mma_two_blocks;
    if (text == "5") return kernels::Tf32Version::v5_nhwc;
    if (text == "6") {
        const cudaError_t status = kernels::conv2d_tf32_wgmma::available();
        if (status == cudaErrorNotSupported) {
            int device = 0;
            SEAM_CUDA_CHECK(cudaGetDevice(&device));
            const DeviceInfo info = device_info(device);
            throw Error(detail::concat("SEAM_TF32_CONV_VERSION=6: TF32 version 6 (wgmma) needs a compute capability 9.0 "
                                       "GPU (H100, H200) and seam::cuda compiled for sm_90a (SEAM_CUDA_ARCHITECTURES "
                                       "containing 90a, the default); cuda:", device, " (", info.name, ") is ",
                                       info.compute_major, ".", info.compute_minor,
                                       info.compute_major == 9 && info.compute_minor == 0 ? ", and this build has no sm_90a code" : "",
                                       ": use version 4 or 5"));
        }
        SEAM_CUDA_CHECK(status);
        return kernels::Tf32Version::v6_wgmma;
    }
    throw Error(detail::concat("SEAM_TF32_CONV_VERSION=", v, ": the TF32 conv versions are 3, 4, 5 and 6 (unset: 6 where it runs, else 5 on compute capability 9.x, else 4)"));
}

/// The kernel's shape struct, checked with messages that name the problem (the launchers would
/// only say "invalid argument"); ops/conv.hpp has checked this already, these guard direct callers.
kernels::Conv2dShape conv2d_kernel_shape(const char* fn, const Conv2dShape& s, ConvAlgorithm algorithm) {
    SEAM_CHECK(s.N >= 0 && s.C >= 0 && s.H > 0 && s.W > 0 && s.O >= 0 && s.KH > 0 && s.KW > 0, fn, ": bad sizes N=",
               s.N, " C=", s.C, " H=", s.H, " W=", s.W, " O=", s.O, " kernel ", s.KH, "x", s.KW);
    SEAM_CHECK(s.sh > 0 && s.sw > 0 && s.dh > 0 && s.dw > 0 && s.ph >= 0 && s.pw >= 0 && s.groups > 0, fn,
               ": bad stride ", s.sh, "x", s.sw, ", dilation ", s.dh, "x", s.dw, ", padding ", s.ph, "x", s.pw,
               " or groups ", s.groups);
    SEAM_CHECK(s.C % s.groups == 0 && s.O % s.groups == 0, fn, ": channels C=", s.C, " and O=", s.O,
               " must be divisible by groups=", s.groups);
    kernels::Conv2dShape k;
    k.N = s.N, k.C = s.C, k.H = s.H, k.W = s.W, k.O = s.O, k.KH = s.KH, k.KW = s.KW;
    k.sh = s.sh, k.sw = s.sw, k.ph = s.ph, k.pw = s.pw, k.dh = s.dh, k.dw = s.dw, k.groups = s.groups;
    k.OH = s.OH, k.OW = s.OW;
    SEAM_CHECK(kernels::conv2d_detail::valid(k), fn, ": output ", s.OH, "x", s.OW, " does not match input ", s.H, "x",
               s.W, ", kernel ", s.KH, "x", s.KW, ", stride ", s.sh, "x", s.sw, ", padding ", s.ph, "x", s.pw,
               ", dilation ", s.dh, "x", s.dw, " (or the padded input is smaller than the kernel)");
    SEAM_CHECK(algorithm == ConvAlgorithm::direct || kernels::conv2d_detail::gemm_fits(k), fn,
               ": the implicit-GEMM kernels index with 32 bits; this convolution (N=", s.N, " C=", s.C, " ", s.H, "x",
               s.W, " O=", s.O, ") is too large for them: split the batch, or use ConvAlgorithm::direct");
    return k;
}

}  // namespace

const char* conv_algorithm_name(ConvAlgorithm algorithm) {
    switch (algorithm) {
        case ConvAlgorithm::direct: return "direct";
        case ConvAlgorithm::implicit_gemm: return "implicit_gemm";
        case ConvAlgorithm::implicit_gemm_tf32: return "implicit_gemm_tf32";
        case ConvAlgorithm::winograd: return "winograd";
    }
    return "unknown";
}

ConvAlgorithm conv_algorithm_from_name(std::string_view name) {
    for (ConvAlgorithm a : {ConvAlgorithm::direct, ConvAlgorithm::implicit_gemm, ConvAlgorithm::implicit_gemm_tf32,
                            ConvAlgorithm::winograd})
        if (name == conv_algorithm_name(a)) return a;
    throw Error(detail::concat("\"", name, "\" is not a conv algorithm (direct, implicit_gemm, implicit_gemm_tf32, winograd)"));
}

void set_conv_algorithm(ConvAlgorithm algorithm) {
    check_conv_algorithm("set_conv_algorithm", algorithm);
    conv_algorithm_in_use().store(static_cast<int>(algorithm));
}

ConvAlgorithm conv_algorithm() { return static_cast<ConvAlgorithm>(conv_algorithm_in_use().load()); }

template <class T>
void conv2d_forward(const T* x, const T* w, const T* bias, T* y, const Conv2dShape& shape, ConvAlgorithm algorithm) {
    const char* fn = "conv2d_forward";
    const auto algo = kernel_algo(fn, algorithm);
    const auto s = conv2d_kernel_shape(fn, shape, algorithm);
    if constexpr (std::is_same_v<T, float>) {
        if (algorithm == ConvAlgorithm::implicit_gemm_tf32) {
            require_tf32_device(fn);
            const auto version = tf32_conv_version();
            const size_t bytes = kernels::conv2d_forward_tf32_workspace_bytes(s, version);
            Workspace workspace(bytes);
            SEAM_CUDA_CHECK(kernels::conv2d_forward_tf32(x, w, bias, y, s, workspace.ptr, bytes, stream_now(), version));
            return;
        }
    }
    if (algorithm == ConvAlgorithm::winograd && kernels::winograd_worthwhile(s, kernels::WinogradPass::forward)) {
        Workspace workspace(kernels::winograd_workspace_bytes<T>(s, kernels::WinogradPass::forward));
        SEAM_CUDA_CHECK(kernels::winograd_forward<T>(cublas_handle(), x, w, bias, y, s, workspace.ptr, stream_now()));
        return;
    }
    const size_t bytes = kernels::conv2d_forward_workspace_bytes<T>(s, algo);  // 0 unless K is split
    Workspace workspace(bytes);
    SEAM_CUDA_CHECK(kernels::conv2d_forward<T>(x, w, bias, y, s, algo, stream_now(), workspace.ptr, bytes));
}

template <class T>
void conv2d_backward_data(const T* w, const T* dy, T* dx, const Conv2dShape& shape, ConvAlgorithm algorithm) {
    const char* fn = "conv2d_backward_data";
    const auto algo = kernel_algo(fn, algorithm);
    const auto s = conv2d_kernel_shape(fn, shape, algorithm);
    if constexpr (std::is_same_v<T, float>) {
        if (algorithm == ConvAlgorithm::implicit_gemm_tf32) {
            require_tf32_device(fn);
            const auto version = tf32_conv_version();
            const size_t bytes = kernels::conv2d_backward_data_tf32_workspace_bytes(s, version);
            Workspace workspace(bytes);
            SEAM_CUDA_CHECK(kernels::conv2d_backward_data_tf32(w, dy, dx, s, workspace.ptr, bytes, stream_now(), version));
            return;
        }
    }
    if (algorithm == ConvAlgorithm::winograd && kernels::winograd_worthwhile(s, kernels::WinogradPass::backward_data)) {
        Workspace workspace(kernels::winograd_workspace_bytes<T>(s, kernels::WinogradPass::backward_data));
        SEAM_CUDA_CHECK(kernels::winograd_backward_data<T>(cublas_handle(), w, dy, dx, s, workspace.ptr, stream_now()));
        return;
    }
    const size_t bytes = kernels::conv2d_backward_data_workspace_bytes<T>(s, algo);  // 0 unless K is split
    Workspace workspace(bytes);
    SEAM_CUDA_CHECK(kernels::conv2d_backward_data<T>(w, dy, dx, s, algo, stream_now(), workspace.ptr, bytes));
}

template <class T>
void conv2d_backward_weight(const T* x, const T* dy, T* dw, const Conv2dShape& shape, ConvAlgorithm algorithm) {
    const char* fn = "conv2d_backward_weight";
    const auto algo = kernel_algo(fn, algorithm);
    const auto s = conv2d_kernel_shape(fn, shape, algorithm);
    if constexpr (std::is_same_v<T, float>) {
        if (algorithm == ConvAlgorithm::implicit_gemm_tf32) {
            require_tf32_device(fn);
            const auto version = tf32_conv_version();
            const size_t bytes = kernels::conv2d_backward_weight_tf32_workspace_bytes(s, version);
            Workspace workspace(bytes);
            SEAM_CUDA_CHECK(kernels::conv2d_backward_weight_tf32(x, dy, dw, s, workspace.ptr, bytes, stream_now(), version));
            return;
        }
    }
    if (algorithm == ConvAlgorithm::winograd && kernels::winograd_worthwhile(s, kernels::WinogradPass::backward_weight)) {
        Workspace workspace(kernels::winograd_workspace_bytes<T>(s, kernels::WinogradPass::backward_weight));
        SEAM_CUDA_CHECK(kernels::winograd_backward_weight<T>(cublas_handle(), x, dy, dw, s, workspace.ptr, stream_now()));
        return;
    }
    const size_t bytes = kernels::conv2d_backward_weight_workspace_bytes<T>(s, algo);
    Workspace workspace(bytes);
    SEAM_CUDA_CHECK(kernels::conv2d_backward_weight<T>(x, dy, dw, s, algo, workspace.ptr, bytes, stream_now()));
}

template <class T>
void conv2d_backward_bias(const T* dy, T* db, const Conv2dShape& shape) {
    const auto s = conv2d_kernel_shape("conv2d_backward_bias", shape, ConvAlgorithm::direct);
    SEAM_CUDA_CHECK(kernels::conv2d_backward_bias<T>(dy, db, s, stream_now()));
}

// ----- explicit instantiations (the element types api.hpp promises) -----------------------------

#define SEAM_CUDA_INSTANTIATE_FLOATING(T)                                                                        \
    template void unary<T>(UnaryOp, UnaryParams, const T*, const Shape&, const Shape&, T*);                      \
    template void unary_backward<T>(UnaryOp, UnaryParams, const T*, const Shape&, const T*, const Shape&, const T*, \
                                    const Shape&, const Shape&, T*);                                             \
    template void binary<T>(BinaryOp, const T*, const Shape&, const T*, const Shape&, const Shape&, T*);         \
    template void binary_backward<T>(BinaryOp, const T*, const Shape&, const T*, const Shape&, const T*,         \
                                     const Shape&, const T*, const Shape&, const Shape&, T*, T*);                \
    template void sum_dim<T>(const T*, int64_t, int64_t, int64_t, T*);                                           \
    template void max_dim<T>(const T*, int64_t, int64_t, int64_t, T*, int64_t*);                                 \
    template void min_dim<T>(const T*, int64_t, int64_t, int64_t, T*, int64_t*);                                 \
    template void scatter_along<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t, int64_t);            \
    template void topk<T>(const T*, int64_t, int64_t, int64_t, int64_t, bool, bool, T*, int64_t*);               \
    template void softmax_forward<T>(const T*, T*, int64_t, int64_t, int64_t, bool);                             \
    template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, bool);                  \
    template int64_t cross_entropy_forward<T>(const T*, const int64_t*, const T*, const CrossEntropyShape&, T*,  \
                                              double*, double*);                                                 \
    template void cross_entropy_backward<T>(const T*, const int64_t*, const T*, const double*, const double*,    \
                                            const T*, const CrossEntropyShape&, T*);                             \
    template int64_t nll_loss_forward<T>(const T*, const int64_t*, const T*, const CrossEntropyShape&, T*, double*); \
    template void nll_loss_backward<T>(const int64_t*, const T*, const double*, const T*, const CrossEntropyShape&, \
                                       T*);                                                                      \
    template void batch_norm_forward<T>(const T*, T*, const BatchNormShape&, const T*, int64_t, const T*, int64_t, \
                                        T*, int64_t, T*, int64_t, double*, double*, bool, double, double, bool); \
    template void batch_norm_backward<T>(const T*, const T*, const T*, const T*, int64_t, const double*,         \
                                         const double*, const BatchNormShape&, bool, T*, T*, T*);                \
    template void layer_norm_forward<T>(const T*, const T*, const T*, T*, double*, double*, const LayerNormShape&, \
                                        double);                                                                 \
    template void layer_norm_backward<T>(const T*, const T*, const T*, const double*, const double*,             \
                                         const LayerNormShape&, T*, T*, T*);                                     \
    template void dropout_forward<T>(const T*, T*, uint8_t*, int64_t, uint64_t, uint64_t, uint64_t, T);          \
    template void dropout_backward<T>(const T*, const uint8_t*, T*, int64_t, T);                                 \
    template void sgd_step<T>(T*, const T*, T*, int64_t, const SgdStepArgs&);                                    \
    template void adam_step<T>(T*, const T*, T*, T*, T*, int64_t, const AdamStepArgs&);                          \
    template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T, T*,  \
                          int64_t);                                                                              \
    template void gemm_strided_batched<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, int64_t,  \
                                          const T*, int64_t, int64_t, T, T*, int64_t, int64_t, int64_t);          \
    template void landmark_pool_forward<T>(const T*, const T*, const T*, T*, int64_t*, const LandmarkPoolShape&); \
    template void landmark_pool_backward_features<T>(const T*, const int64_t*, const T*, T*,                     \
                                                     const LandmarkPoolShape&);                                  \
    template void landmark_pool_backward_visibility<T>(const T*, const T*, const int64_t*, T*,                   \
                                                       const LandmarkPoolShape&);                                \
    template void max_pool2d_forward<T>(const T*, T*, int64_t*, const Pool2dShape&);                             \
    template void max_pool2d_backward<T>(const T*, const int64_t*, T*, const Pool2dShape&);                      \
    template void avg_pool2d_forward<T>(const T*, T*, const Pool2dShape&, bool, int64_t);                        \
    template void avg_pool2d_backward<T>(const T*, T*, const Pool2dShape&, bool, int64_t);                       \
    template void adaptive_avg_pool2d_forward<T>(const T*, T*, const Pool2dShape&);                              \
    template void adaptive_avg_pool2d_backward<T>(const T*, T*, const Pool2dShape&);                             \
    template void adaptive_max_pool2d_forward<T>(const T*, T*, int64_t*, const Pool2dShape&);                    \
    template void adaptive_max_pool2d_backward<T>(const T*, const int64_t*, T*, const Pool2dShape&);             \
    template void upsample_nearest2d_forward<T>(const T*, T*, const ResizeShape&, const ResizeAxis<T>&,          \
                                                const ResizeAxis<T>&);                                           \
    template void upsample_nearest2d_backward<T>(const T*, T*, const ResizeShape&, const ResizeAxis<T>&,         \
                                                 const ResizeAxis<T>&);                                          \
    template void upsample_bilinear2d_forward<T>(const T*, T*, const ResizeShape&, const ResizeAxis<T>&,         \
                                                 const ResizeAxis<T>&);                                          \
    template void upsample_bilinear2d_backward<T>(const T*, T*, const ResizeShape&, const ResizeAxis<T>&,        \
                                                  const ResizeAxis<T>&);                                         \
    template void conv2d_forward<T>(const T*, const T*, const T*, T*, const Conv2dShape&, ConvAlgorithm);        \
    template void conv2d_backward_data<T>(const T*, const T*, T*, const Conv2dShape&, ConvAlgorithm);           \
    template void conv2d_backward_weight<T>(const T*, const T*, T*, const Conv2dShape&, ConvAlgorithm);         \
    template void conv2d_backward_bias<T>(const T*, T*, const Conv2dShape&);

#define SEAM_CUDA_INSTANTIATE_DATA(T)                                                  \
    template void fill<T>(T*, const Shape&, const Shape&, T);                          \
    template void copy<T>(const T*, const Shape&, T*, const Shape&, const Shape&);      \
    template void compare<T>(CompareOp, const T*, const Shape&, const T*, const Shape&, const Shape&, uint8_t*); \
    template void where<T>(const uint8_t*, const Shape&, const T*, const Shape&, const T*, const Shape&, \
                           const Shape&, T*);                                                              \
    template void gather<T>(const T*, const Shape&, int64_t, const int64_t*, const Shape&, T*, int64_t*);

SEAM_CUDA_INSTANTIATE_FLOATING(float)
SEAM_CUDA_INSTANTIATE_FLOATING(double)
SEAM_CUDA_INSTANTIATE_DATA(float)
SEAM_CUDA_INSTANTIATE_DATA(double)
SEAM_CUDA_INSTANTIATE_DATA(int64_t)
SEAM_CUDA_INSTANTIATE_DATA(int32_t)
SEAM_CUDA_INSTANTIATE_DATA(uint8_t)
template void scatter_add<float>(float*, const Shape&, int64_t, const int64_t*, const Shape&, const float*, int64_t*);
template void scatter_add<double>(double*, const Shape&, int64_t, const int64_t*, const Shape&, const double*, int64_t*);
template void scatter_add<int64_t>(int64_t*, const Shape&, int64_t, const int64_t*, const Shape&, const int64_t*, int64_t*);
template void scatter_add<int32_t>(int32_t*, const Shape&, int64_t, const int64_t*, const Shape&, const int32_t*, int64_t*);
template void scatter_add_onto<float>(const float*, float*, const Shape&, int64_t, const int64_t*, const Shape&, const float*,
                                      int64_t*);
template void scatter_add_onto<double>(const double*, double*, const Shape&, int64_t, const int64_t*, const Shape&,
                                       const double*, int64_t*);
template void scatter_add_onto<int64_t>(const int64_t*, int64_t*, const Shape&, int64_t, const int64_t*, const Shape&,
                                        const int64_t*, int64_t*);
template void scatter_add_onto<int32_t>(const int32_t*, int32_t*, const Shape&, int64_t, const int64_t*, const Shape&,
                                        const int32_t*, int64_t*);

#undef SEAM_CUDA_INSTANTIATE_FLOATING
#undef SEAM_CUDA_INSTANTIATE_DATA

}  // namespace seam::cuda
