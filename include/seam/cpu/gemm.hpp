// seam/cpu/gemm.hpp — GEMM on raw row-major pointers: the one entry point of every CPU matrix product.
//
// Provides, for T = float or double:
//   gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
//       C[m x n] = alpha * op(A) * op(B) + beta * C, BLAS-style but row-major: op(A) is m x k and is
//       stored as an m x k matrix with row stride lda (or, with trans_a, as a k x m matrix with row
//       stride lda); likewise B. Single-threaded: it is meant to be called inside parallel_for chunks.
//   parallel_gemm(...)  the same product split across threads OUTSIDE the GEMM, in blocks of columns
//       (or rows when n is small); each block calls the single-threaded gemm.
//
// Why split outside: perf-anchors §A.2 measured Eigen's own OpenMP GEMM at 1.1x for two threads on
// the M=64 shapes of VGG's first block, while splitting N across threads and calling single-threaded
// Eigen per slice gives 1.9-2.0x. So Eigen's threading is switched off (EIGEN_DONT_PARALLELIZE) and
// all threading goes through cpu/parallel.hpp. Every element of C is computed by exactly one call,
// so results do not depend on timing; they may depend on the thread count (the block widths do).
//
// Which kernel: float products of at least kAvx512MinRows x kAvx512MinCols go to seam's own AVX-512
// kernel (cpu/sgemm_avx512.hpp) when the build targets AVX-512; everything else (double, small or
// thin products, non-AVX-512 builds) to Eigen, which wins below those sizes (measured: a 100 x 50 or
// 128 x 10 product runs 1.1-1.4x faster in Eigen; a 32 x 6272 x 9 one 1.3x faster in seam's kernel).
//
// The Eigen product is instantiated only here, for float and double, and for the four storage-order
// combinations of the operands (trans_a x trans_b): that bounds the compile cost of every op above.
#pragma once

// Must come before the first #include of Eigen in a translation unit. If another header included
// Eigen earlier without it, Eigen's GEMM still stays serial inside our parallel loops (it checks
// omp_in_parallel) but may spawn threads when called from serial code: define EIGEN_DONT_PARALLELIZE
// for the whole build to be sure.
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE
#endif
#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "seam/cpu/parallel.hpp"
#include "seam/cpu/sgemm_avx512.hpp"

namespace seam::cpu {

namespace detail {

template <class T, int Order>
using MatrixMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>, Eigen::Unaligned,
                             Eigen::OuterStride<>>;
template <class T>
using OutputMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, Eigen::Unaligned,
                             Eigen::OuterStride<>>;

/// View op(X) (rows x cols) of a row-major buffer: a transposed row-major matrix is a column-major
/// one with the same stride, so no data moves.
template <class T, int Order>
inline MatrixMap<T, Order> operand(const T* p, int64_t rows, int64_t cols, int64_t ld) {
    // Eigen wants a positive stride even for a single row/column, where it is never used.
    return MatrixMap<T, Order>(p, rows, cols, Eigen::OuterStride<>(std::max<int64_t>(ld, 1)));
}

template <class T, int OrderA, int OrderB>
inline void gemm_kernel(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b, int64_t ldb,
                        bool accumulate, T* c, int64_t ldc) {
    OutputMap<T> out(c, m, n, Eigen::OuterStride<>(std::max<int64_t>(ldc, 1)));
    auto lhs = operand<T, OrderA>(a, m, k, lda);
    auto rhs = operand<T, OrderB>(b, k, n, ldb);
    if (accumulate) out.noalias() += alpha * lhs * rhs;
    else out.noalias() = alpha * lhs * rhs;
}

}  // namespace detail

/// Smallest float product (rows, columns of C) sent to the AVX-512 kernel; see the header comment.
inline constexpr int64_t kAvx512MinRows = 32;
inline constexpr int64_t kAvx512MinCols = 64;

/// C = alpha * op(A) * op(B) + beta * C on row-major buffers, single-threaded (see the header comment).
/// With beta == 0, C is only written (it may hold garbage or NaN beforehand), as in BLAS.
template <class T>
inline void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                 const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "gemm: float or double only");
    if (m <= 0 || n <= 0) return;
    if (beta != T(0) && beta != T(1)) {
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) c[i * ldc + j] *= beta;
    }
    const bool accumulate = beta != T(0);
    if (k <= 0 || alpha == T(0)) {  // nothing to add; Eigen would still be asked for a 0-depth product
        if (!accumulate)
            for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
        return;
    }
#if defined(SEAM_HAVE_AVX512_SGEMM)
    if constexpr (std::is_same_v<T, float>) {
        if (m >= kAvx512MinRows && n >= kAvx512MinCols)
            return avx512::sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, accumulate, c, ldc);
    }
#endif
    constexpr int R = Eigen::RowMajor, C = Eigen::ColMajor;
    if (!trans_a && !trans_b) detail::gemm_kernel<T, R, R>(m, n, k, alpha, a, lda, b, ldb, accumulate, c, ldc);
    else if (!trans_a && trans_b) detail::gemm_kernel<T, R, C>(m, n, k, alpha, a, lda, b, ldb, accumulate, c, ldc);
    else if (trans_a && !trans_b) detail::gemm_kernel<T, C, R>(m, n, k, alpha, a, lda, b, ldb, accumulate, c, ldc);
    else detail::gemm_kernel<T, C, C>(m, n, k, alpha, a, lda, b, ldb, accumulate, c, ldc);
}

/// Below this many multiply-adds a product stays on one thread (waking a thread costs a few µs,
/// about 100k multiply-adds).
inline constexpr int64_t kParallelGemmWork = 1 << 17;

/// How to cut one m x n product into `blocks` pieces for threads. Each piece packs its own copy of
/// the operand it shares with the others (all of A when cutting columns, all of B when cutting
/// rows), so cut the longer side; pieces are multiples of 16 (one AVX-512 float register).
struct GemmSplit {
    bool along_n = true;
    int64_t blocks = 1;
};

inline GemmSplit plan_gemm_split(int64_t m, int64_t n, int64_t k, int64_t pieces) {
    GemmSplit s;
    if (pieces <= 1 || static_cast<double>(m) * n * k < static_cast<double>(kParallelGemmWork)) return s;
    s.along_n = n >= m;
    const int64_t extent = s.along_n ? n : m;
    s.blocks = std::clamp<int64_t>(pieces, 1, std::max<int64_t>(1, extent / 8));
    return s;
}

/// Rows or columns [lo, hi) of block `i` of `blocks` over `extent`, rounded to multiples of 16.
inline void split_range(int64_t extent, int64_t blocks, int64_t i, int64_t& lo, int64_t& hi) {
    auto edge = [&](int64_t j) {
        if (j >= blocks) return extent;
        int64_t e = extent * j / blocks;
        return std::min(extent, (e + 8) / 16 * 16);
    };
    lo = edge(i);
    hi = edge(i + 1);
}

/// One block of a split product (used by parallel_gemm and by batched products that split each item).
template <class T>
inline void gemm_block(const GemmSplit& split, int64_t block, bool trans_a, bool trans_b, int64_t m, int64_t n,
                       int64_t k, T alpha, const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
    int64_t lo, hi;
    if (split.along_n) {
        split_range(n, split.blocks, block, lo, hi);
        if (lo >= hi) return;
        // columns lo..hi of op(B): B[:, lo] without transpose, row lo of the stored B^T with it
        const T* b_part = trans_b ? b + lo * ldb : b + lo;
        gemm<T>(trans_a, trans_b, m, hi - lo, k, alpha, a, lda, b_part, ldb, beta, c + lo, ldc);
    } else {
        split_range(m, split.blocks, block, lo, hi);
        if (lo >= hi) return;
        const T* a_part = trans_a ? a + lo : a + lo * lda;
        gemm<T>(trans_a, trans_b, hi - lo, n, k, alpha, a_part, lda, b, ldb, beta, c + lo * ldc, ldc);
    }
}

/// gemm split across the threads of parallel_for (serial when small or already inside a parallel loop).
template <class T>
inline void parallel_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
    const GemmSplit split = plan_gemm_split(m, n, k, in_parallel_region() ? 1 : num_threads());
    if (split.blocks == 1) return gemm<T>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    parallel_for(0, split.blocks, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
            gemm_block<T>(split, i, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    });
}

}  // namespace seam::cpu
