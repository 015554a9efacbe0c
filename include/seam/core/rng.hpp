// seam/core/rng.hpp — counter-based random numbers (Philox4x32-10).
//
// Why counter-based: the i-th random number of a stream is a pure function of (seed, offset + i),
// so a tensor filled by two OpenMP threads, by a CUDA kernel, or by one thread gives the same
// values. A Generator is just (seed, offset); each draw of n numbers advances the offset by n
// (rounded up to a block of 4), so successive draws are independent and a checkpoint only needs
// the two integers to resume exactly (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011).
#pragma once

#include <cmath>
#include <cstdint>

#include "seam/core/macros.hpp"

namespace seam {

struct Philox4x32 {
    uint32_t v[4];
};

/// Philox4x32 with 10 rounds: counter (c0..c3) and key (k0,k1) -> four 32-bit random words.
SEAM_HOST_DEVICE Philox4x32 philox4x32(uint64_t counter, uint64_t subsequence, uint64_t key) {
    uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
    uint32_t c2 = static_cast<uint32_t>(subsequence), c3 = static_cast<uint32_t>(subsequence >> 32);
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
        uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
        uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
        uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
        uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return {{c0, c1, c2, c3}};
}

/// A uniform float in [0, 1) from 24 random bits (exactly representable, never 1.0).
SEAM_HOST_DEVICE float uint_to_unit_float(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
/// A uniform double in [0, 1) from 53 random bits.
SEAM_HOST_DEVICE double uints_to_unit_double(uint32_t hi, uint32_t lo) {
    uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
    return static_cast<double>(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/// The i-th uniform in [0,1) of the stream (key, base): element i uses word i%4 of block i/4.
SEAM_HOST_DEVICE double philox_uniform(uint64_t key, uint64_t base, uint64_t i) {
    Philox4x32 r = philox4x32(base + i / 4, 0, key);
    uint32_t w = r.v[i % 4];
    Philox4x32 r2 = philox4x32(base + i / 4, 1, key);  // second word for 53-bit doubles
    return uints_to_unit_double(w, r2.v[i % 4]);
}

/// The i-th standard normal of the stream (Box-Muller on two independent uniforms).
SEAM_HOST_DEVICE double philox_normal(uint64_t key, uint64_t base, uint64_t i) {
    Philox4x32 a = philox4x32(base + i / 4, 2, key);
    Philox4x32 b = philox4x32(base + i / 4, 3, key);
    double u1 = (static_cast<double>(a.v[i % 4]) + 1.0) * (1.0 / 4294967296.0);  // (0, 1]
    double u2 = static_cast<double>(b.v[i % 4]) * (1.0 / 4294967296.0);          // [0, 1)
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

/// Call f(i, a, b) for every i in [lo, hi), where (a, b) are word i%4 of the Philox blocks
/// (base + i/4, subsequence s0) and (base + i/4, s1): exactly the words philox_uniform (s0=0, s1=1)
/// and philox_normal (s0=2, s1=3) use for element i, but each block is computed once for four
/// elements. Filling a tensor this way gives the same values as the per-element functions.
template <class F>
inline void philox_blocks(uint64_t key, uint64_t base, int64_t lo, int64_t hi, uint64_t s0, uint64_t s1, F&& f) {
    for (int64_t block = lo / 4; block * 4 < hi; ++block) {
        Philox4x32 a = philox4x32(base + static_cast<uint64_t>(block), s0, key);
        Philox4x32 b = philox4x32(base + static_cast<uint64_t>(block), s1, key);
        for (int w = 0; w < 4; ++w) {
            int64_t i = block * 4 + w;
            if (i >= lo && i < hi) f(i, a.v[w], b.v[w]);
        }
    }
}

/// A reproducible random stream: (seed, offset). Copyable state, so checkpoints store it.
class Generator {
public:
    explicit Generator(uint64_t seed = 0x5EA4u) : seed_(seed) {}

    uint64_t seed() const { return seed_; }
    uint64_t offset() const { return offset_; }
    void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }

    /// Reserve n numbers: returns the base counter to pass to philox_* for i in [0, n).
    uint64_t reserve(uint64_t n) {
        uint64_t base = offset_;
        offset_ += (n + 3) / 4;
        return base;
    }

    double uniform() { return philox_uniform(seed_, reserve(1), 0); }
    double normal() { return philox_normal(seed_, reserve(1), 0); }
    /// A uniform integer in [0, n) (n > 0), unbiased enough for shuffles (53-bit source).
    uint64_t integer(uint64_t n) { return static_cast<uint64_t>(uniform() * static_cast<double>(n)) % n; }

private:
    uint64_t seed_;
    uint64_t offset_ = 0;
};

/// The process-wide default generator (used when an op is not given one). Not thread-safe by
/// design: seed it once with manual_seed(), draw from one thread.
inline Generator& default_generator() {
    static Generator gen;
    return gen;
}
inline void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

}  // namespace seam
