// seam/core/storage.hpp — the reference-counted buffer behind tensors, and the CPU block cache.
//
// CPU buffers are 64-byte aligned (one cache line, one AVX-512 vector) so vectorised loops never
// straddle lines at the start of a tensor. The deleter is a plain function pointer so that the
// CUDA backend can hand out device memory through the same type without this header knowing CUDA.
//
// Why a cache: a training step allocates the same large activation buffers every iteration. glibc
// serves big blocks with mmap and returns them on free, so every new tensor of a few MB is
// first-touched page by page: measured here, a ReLU over a 12.8 MB tensor spent more than half of
// its 5.2 ms in 3,137 page faults. Freed blocks of at least kCacheMinBytes are therefore kept in
// per-size free lists and handed out again for the same size (training loops repeat their shapes
// exactly). The cache holds at most cpu_cache_limit() bytes (default 2 GiB, SEAM_CPU_CACHE_MB
// overrides, 0 disables); release_cpu_cache() returns everything to the system.
#pragma once

#include <mutex>
#include <unordered_map>
#include <vector>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "seam/core/device.hpp"
#include "seam/core/error.hpp"

namespace seam {

inline constexpr size_t kStorageAlignment = 64;
inline constexpr size_t kCacheMinBytes = size_t(1) << 16;

namespace detail {
class CpuBlockCache {
public:
    static CpuBlockCache& instance() {
        static CpuBlockCache* cache = new CpuBlockCache();  // never destroyed: tensors may outlive statics
        return *cache;
    }
    void* take(size_t bytes) {
        if (bytes < kCacheMinBytes) return nullptr;
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = free_.find(bytes);
        if (it == free_.end() || it->second.empty()) return nullptr;
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= bytes;
        return p;
    }
    /// Keep the block for reuse, or free it when the cache is full or the block is small.
    void give(void* p, size_t bytes) {
        if (bytes >= kCacheMinBytes) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (cached_ + bytes <= limit_) {
                free_[bytes].push_back(p);
                cached_ += bytes;
                return;
            }
        }
        std::free(p);
    }
    void release() {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& entry : free_)
            for (void* p : entry.second) std::free(p);
        free_.clear();
        cached_ = 0;
    }
    size_t cached_bytes() {
        std::lock_guard<std::mutex> lock(mutex_);
        return cached_;
    }
    void set_limit(size_t bytes) {
        { std::lock_guard<std::mutex> lock(mutex_); limit_ = bytes; }
        if (cached_bytes() > bytes) release();
    }
    size_t limit() {
        std::lock_guard<std::mutex> lock(mutex_);
        return limit_;
    }

private:
    CpuBlockCache() {
        limit_ = size_t(2) << 30;
        if (const char* env = std::getenv("SEAM_CPU_CACHE_MB")) limit_ = size_t(std::strtoull(env, nullptr, 10)) << 20;
    }
    std::mutex mutex_;
    std::unordered_map<size_t, std::vector<void*>> free_;
    size_t cached_ = 0;
    size_t limit_ = 0;
};
}  // namespace detail

/// Bytes currently held by the CPU block cache (freed tensors kept for reuse).
inline size_t cpu_cache_bytes() { return detail::CpuBlockCache::instance().cached_bytes(); }
/// Return every cached block to the system.
inline void release_cpu_cache() { detail::CpuBlockCache::instance().release(); }
/// The most bytes the cache may hold (0 disables caching).
inline void set_cpu_cache_limit(size_t bytes) { detail::CpuBlockCache::instance().set_limit(bytes); }
inline size_t cpu_cache_limit() { return detail::CpuBlockCache::instance().limit(); }

template <class T>
class Storage {
public:
    using Deleter = void (*)(void* ptr, Device device);

    /// Uninitialised CPU storage of n elements (the factories fill it).
    static std::shared_ptr<Storage> allocate_cpu(int64_t n) {
        SEAM_CHECK(n >= 0, "Storage: negative size ", n);
        size_t bytes = static_cast<size_t>(n) * sizeof(T);
        bytes = (bytes + kStorageAlignment - 1) / kStorageAlignment * kStorageAlignment;
        if (bytes == 0) bytes = kStorageAlignment;
        void* p = detail::CpuBlockCache::instance().take(bytes);
        if (!p) p = std::aligned_alloc(kStorageAlignment, bytes);
        if (!p) fail("Storage: out of memory allocating ", bytes, " bytes");
        auto storage = std::shared_ptr<Storage>(new Storage(static_cast<T*>(p), n, Device::cpu(), &free_cpu));
        storage->bytes_ = bytes;
        return storage;
    }

    /// Adopt memory allocated elsewhere (used by the CUDA backend's caching allocator).
    static std::shared_ptr<Storage> adopt(T* ptr, int64_t n, Device device, Deleter deleter) {
        return std::shared_ptr<Storage>(new Storage(ptr, n, device, deleter));
    }

    ~Storage() {
        if (!data_) return;
        if (deleter_ == &free_cpu) detail::CpuBlockCache::instance().give(data_, bytes_);
        else if (deleter_) deleter_(data_, device_);
    }
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    T* data() const { return data_; }
    int64_t size() const { return size_; }
    Device device() const { return device_; }

private:
    Storage(T* data, int64_t n, Device device, Deleter deleter)
        : data_(data), size_(n), device_(device), deleter_(deleter) {}
    static void free_cpu(void* p, Device) { std::free(p); }

    T* data_;
    int64_t size_;
    Device device_;
    Deleter deleter_;
    size_t bytes_ = 0;  // allocated (rounded) size of a CPU block
};

}  // namespace seam
