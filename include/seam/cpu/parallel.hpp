// seam/cpu/parallel.hpp — the one threading layer of the CPU path (OpenMP).
//
// Rule (perf-anchors §A.2): parallelise over batch / rows / output tiles OUTSIDE the GEMM and
// call single-threaded Eigen inside, never a multithreaded library inside a parallel loop (that
// nests and oversubscribes two cores). All parallel loops here use static schedules so that, for
// a fixed thread count, every reduction adds in the same order: same seed + same threads give the
// same bits.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace seam {

/// Number of threads the CPU kernels use (defaults to OMP_NUM_THREADS or the core count).
inline int num_threads() { return omp_get_max_threads(); }
inline void set_num_threads(int n) { omp_set_num_threads(std::max(1, n)); }
inline bool in_parallel_region() { return omp_in_parallel() != 0; }

/// Below this many elements an elementwise loop stays on one thread (thread wake-up costs ~µs).
inline constexpr int64_t kParallelGrain = 32768;

/// parallel_for(begin, end, grain, f): f(lo, hi) on contiguous static chunks; serial when small
/// or when already inside a parallel region (no nesting).
template <class F>
inline void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& f) {
    int64_t n = end - begin;
    if (n <= 0) return;
    int threads = num_threads();
    if (threads <= 1 || n <= grain || in_parallel_region()) {
        f(begin, end);
        return;
    }
    int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(chunks))
    for (int64_t c = 0; c < chunks; ++c) {
        int64_t lo = begin + n * c / chunks, hi = begin + n * (c + 1) / chunks;
        if (lo < hi) f(lo, hi);
    }
}

}  // namespace seam
