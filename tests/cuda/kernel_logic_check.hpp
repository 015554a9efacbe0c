// tests/cuda/kernel_logic_check.hpp — what the host emulation programs (tests/cuda/*_kernel_logic.cu)
// share: a check that counts and prints its first failures, a bit-for-bit comparison, and a
// 64-byte-aligned buffer that can sit one element off 16-byte alignment, with guard elements past
// its end. Each program prints its own summary from kernel_logic::checks and ::failures.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace seam::kernel_logic {

inline int failures = 0;
inline int64_t checks = 0;

/// Counts a check; prints the first 30 failures.
inline void expect(bool ok, const std::string& what) {
    ++checks;
    if (ok) return;
    if (++failures <= 30) std::printf("FAIL: %s\n", what.c_str());
}

template <class T>
bool same_bits(T a, T b) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

/// `count` elements of T in 64-byte-aligned storage, `offset` elements in (offset 1 is off 16-byte
/// alignment for every T of 2 to 8 bytes), then 8 guard elements; all count + 8 start as `value`
/// (NaN for floating types by default, so an element no emulated thread writes shows).
template <class T>
struct Buffer {
    struct Free {
        void operator()(T* p) const { std::free(p); }
    };
    std::unique_ptr<T, Free> storage;
    size_t n, offset;
    Buffer(size_t count, size_t off, T value = std::numeric_limits<T>::quiet_NaN()) : n(count), offset(off) {
        const size_t bytes = ((count + off + 8) * sizeof(T) + 63) / 64 * 64;
        storage.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
        for (size_t i = 0; i < count + 8; ++i) data()[i] = value;
    }
    T* data() const { return storage.get() + offset; }
    T& operator[](size_t i) const { return data()[i]; }
    /// The first n elements (the guards keep their value).
    void fill(T v) const {
        for (size_t i = 0; i < n; ++i) data()[i] = v;
    }
    void copy_from(const std::vector<T>& v) const { std::memcpy(data(), v.data(), v.size() * sizeof(T)); }
};

}  // namespace seam::kernel_logic
