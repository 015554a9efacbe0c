// seam/core/storage.hpp — the reference-counted buffer behind tensors.
//
// CPU buffers are 64-byte aligned (one cache line, one AVX-512 vector) so vectorised loops never
// straddle lines at the start of a tensor. The deleter is a plain function pointer so that the
// CUDA backend can hand out device memory through the same type without this header knowing CUDA.
#pragma once

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
        void* p = std::aligned_alloc(kStorageAlignment, bytes);
        if (!p) fail("Storage: out of memory allocating ", bytes, " bytes");
        return std::shared_ptr<Storage>(new Storage(static_cast<T*>(p), n, Device::cpu(), &free_cpu));
    }

    /// Adopt memory allocated elsewhere (used by the CUDA backend's caching allocator).
    static std::shared_ptr<Storage> adopt(T* ptr, int64_t n, Device device, Deleter deleter) {
        return std::shared_ptr<Storage>(new Storage(ptr, n, device, deleter));
    }

    ~Storage() {
        if (data_ && deleter_) deleter_(data_, device_);
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
};

}  // namespace seam
