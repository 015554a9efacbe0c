// seam/cpu/sgemm_avx512.hpp — single-precision GEMM written for AVX-512: packed panels and a
// register-blocked micro-kernel, in the manner of BLIS/GotoBLAS.
//
// Computes, single-threaded, on row-major buffers (the contract of cpu::gemm in gemm.hpp):
//     C[m x n] = alpha * op(A)[m x k] * op(B)[k x n]        (accumulate == false: C only written)
//     C[m x n] += alpha * op(A) * op(B)                     (accumulate == true)
// op(A) is A (row stride lda) or, with trans_a, the transpose of a stored k x m matrix; same for B.
//
// Why not Eigen here: on this project's AVX-512 Xeon (two 512-bit FMA pipes, ~240 GFLOP/s fp32 per
// core) Eigen 3.4's float GEMM reaches 47-62% of peak on VGG's im2col shapes; issue 2 asks for 65%.
// Double precision (gradcheck, references) stays on Eigen: its speed does not matter.
//
// The loops, outermost first (the five loops around the micro-kernel of Van Zee & van de Geijn,
// "BLIS", TOMS 2015), with the level of the memory hierarchy each packed block is sized for:
//   jc over n in steps of kNc
//     pc over k in equal depth blocks of at most kKc
//       pack B[pc.., jc..] into column panels of kNr: for each k, kNr contiguous floats (L2);
//       a row-major B is packed inside the micro-kernels of the first row panel (see micro_kernel)
//       ic over m in steps of kMc
//         pack A[ic.., pc..], alpha folded in, into row panels of kMr: for each k, kMr floats
//         ir over the block's rows in steps of kMr: A micro-panel, kMr x kc, stays in L1
//           jr over the block's columns in steps of kNr: B micro-panels stream from L2
//             micro-kernel: a kMr x kNr tile of C held in kMr * kNv zmm registers
// As in BLIS, the L1-resident micro-panel is the broadcast operand's (8 KiB) and the vector
// operand's panels stream from L2; holding the 48 KiB B micro-panel in the 48 KiB L1 instead was
// measured slower. Also tried and not kept: prefetching the next B block's source (or the next A
// block's) into L2 during the current block, in bursts between tiles or spread through the k loop
// (packing got twice as fast, the micro-kernels slower by as much), reading B in place without
// packing (slower), packing A inside the first column panel's kernels as B is (no gain on the
// A-heavy 512 x 128 x 4608 product), 12 x 32 and 14 x 32 tiles (a faster kernel in isolation, but
// m = 128 wastes 3-9% of a 12- or 14-row tile) and kKc = 384 (no change).
// Measured on one core (interleaved A/B pairs, medians): packing B inside the kernels made the
// B-heavy products 3-7% faster (128 x 8192 x 1152, 256 x 2048 x 2304, 256 x 3136 x 2304).
// Panels are zero-padded to whole kMr / kNr. The last, narrower column panel runs a 1- or
// 2-register variant of the micro-kernel; tiles that stick out of C are computed into a small
// buffer and the valid part is added or copied.
//
// Micro-kernel: for each of the kc steps, kNv vector loads of B and, per row, one broadcast of A and
// kNv FMAs: 24 accumulators, where two FMA pipes with a 4-cycle latency need at least 8 in flight.
// Block sizes and tile shape were chosen by measurement (8x32, 8x48, 12x32, 14x32, 6x64; kKc 128-512;
// kNc 512-3072) on VGG's im2col shapes; differences under ~5% were within the noise of this machine.
//
// The summation order depends only on (m, n, k) and the block sizes, never on timing: results are
// reproducible run to run. Thread-level parallelism lives outside (gemm.hpp's parallel_gemm).
#pragma once

#if defined(__AVX512F__)
#define SEAM_HAVE_AVX512_SGEMM 1

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <memory>

#include "seam/core/storage.hpp"

namespace seam::cpu::avx512 {

inline constexpr int kMr = 8;            // rows of the register tile
inline constexpr int kNv = 3;            // zmm registers per row of the tile
inline constexpr int kNr = 16 * kNv;   // columns of the register tile
inline constexpr int64_t kKc = 256;    // depth of a packed block: A micro-panel kMr * kKc * 4 B = 8 KiB
inline constexpr int64_t kMc = 192;    // rows of the packed A block: kMc * kKc * 4 B = 192 KiB of L2
inline constexpr int64_t kNc = 768;    // columns of the packed B block: kKc * kNc * 4 B = 768 KiB of L2

namespace detail {

/// Per-thread packing buffers that only grow, in the library's 64-byte-aligned CPU storage:
/// every call on a thread reuses them, so nothing is allocated in the steady state.
inline float* grown_to(std::shared_ptr<Storage<float>>& held, int64_t floats) {
    if (!held || held->size() < floats) held = Storage<float>::allocate_cpu(floats);
    return held->data();
}
inline float* packed_a_buffer(int64_t floats) {
    thread_local std::shared_ptr<Storage<float>> held;
    return grown_to(held, floats);
}
inline float* packed_b_buffer(int64_t floats) {
    thread_local std::shared_ptr<Storage<float>> held;
    return grown_to(held, floats);
}

/// Packing writes panels of W lanes: panel q holds, for each p in [0, kc), the W values of
/// "lanes" q*W .. q*W+W-1 at panel[p * W + lane] (panel q starts at out + q * kc * W). A packed A
/// block has W = kMr (lanes = rows of op(A)), a packed B block W = kNr (lanes = columns of op(B)).
/// Lanes past `lanes` in the last panel are zero, so the micro-kernel never needs a short panel.

/// Source stored lane-contiguous: value (p, lane) at src[p * ld + lane]. Walks the source row by
/// row so that reads are sequential: walking a panel down its kc rows touches a new page every row
/// and was measured to cost a quarter of a 128 x 8192 x 1152 product.
template <int W>
inline void pack_lane_contiguous(const float* src, int64_t ld, int64_t lanes, int64_t kc, float alpha, float* out) {
    const int64_t full_panels = lanes / W, tail = lanes - full_panels * W;
    for (int64_t p = 0; p < kc; ++p) {
        const float* row = src + p * ld;
        float* dst = out + p * W;
        for (int64_t q = 0; q < full_panels; ++q, row += W, dst += kc * W)
            for (int t = 0; t < W; ++t) dst[t] = alpha * row[t];
        if (tail) {
            int64_t t = 0;
            for (; t < tail; ++t) dst[t] = alpha * row[t];
            for (; t < W; ++t) dst[t] = 0.0f;
        }
    }
}

/// In-register transpose of a 16 x 16 block: on return r[j] holds what was column j.
inline void transpose_16x16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {  // within 128-bit lanes: interleave row pairs
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 16; g += 4) {  // u[g + c], lane L = column 4L + c of rows g..g+3
        r[g + 0] = _mm512_shuffle_ps(t[g + 0], t[g + 2], 0x44);
        r[g + 1] = _mm512_shuffle_ps(t[g + 0], t[g + 2], 0xEE);
        r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
    }
    for (int c = 0; c < 4; ++c) {  // 4 x 4 transpose of 128-bit lanes across r[c], r[4+c], r[8+c], r[12+c]
        const __m512 v0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44), v1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xEE);
        const __m512 v2 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44),
                     v3 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xEE);
        t[c] = _mm512_shuffle_f32x4(v0, v2, 0x88);
        t[4 + c] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
        t[8 + c] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
    for (int j = 0; j < 16; ++j) r[j] = t[j];
}

/// Source stored depth-contiguous: value (p, lane) at src[lane * ld + p]. Blocks of 16 lanes x 16
/// steps are transposed in registers (a scalar loop here wrote every value to a different cache
/// line and took 30% of a 256 x 2304 x 2048 product with a transposed B).
template <int W>
inline void pack_depth_contiguous(const float* src, int64_t ld, int64_t lanes, int64_t kc, float alpha, float* out) {
    const __m512 scale = _mm512_set1_ps(alpha);
    auto at = [&](int64_t lane, int64_t p) -> float& { return out[(lane / W) * kc * W + p * W + lane % W]; };
    // 16 transposed lanes must fill two panels of 8 or sit inside one panel; other W take the scalar loop
    constexpr bool blocked = W == 8 || W % 16 == 0;
    int64_t l0 = 0;
    for (; blocked && l0 + 16 <= lanes; l0 += 16) {
        int64_t p = 0;
        for (; p + 16 <= kc; p += 16) {
            __m512 r[16];
            for (int i = 0; i < 16; ++i) r[i] = _mm512_mul_ps(scale, _mm512_loadu_ps(src + (l0 + i) * ld + p));
            transpose_16x16(r);  // r[j]: step p + j, lanes l0 .. l0+15
            for (int j = 0; j < 16; ++j) {
                if constexpr (W == 8) {
                    _mm256_store_ps(&at(l0, p + j), _mm512_castps512_ps256(r[j]));
                    _mm256_store_ps(&at(l0 + 8, p + j), _mm512_extractf32x8_ps(r[j], 1));
                } else {
                    if constexpr (W % 16 == 0) _mm512_store_ps(&at(l0, p + j), r[j]);
                }
            }
        }
        for (; p < kc; ++p)
            for (int i = 0; i < 16; ++i) at(l0 + i, p) = alpha * src[(l0 + i) * ld + p];
    }
    for (int64_t lane = l0; lane < lanes; ++lane) {
        const float* row = src + lane * ld;
        for (int64_t p = 0; p < kc; ++p) at(lane, p) = alpha * row[p];
    }
    const int64_t padded = (lanes + W - 1) / W * W;
    for (int64_t lane = lanes; lane < padded; ++lane)
        for (int64_t p = 0; p < kc; ++p) at(lane, p) = 0.0f;
}

/// Rows [i0, i0+mc) x depth [p0, p0+kc) of alpha * op(A), in panels of kMr rows.
inline void pack_a(bool trans_a, const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                   float alpha, float* out) {
    if (trans_a) pack_lane_contiguous<kMr>(a + p0 * lda + i0, lda, mc, kc, alpha, out);  // a[p * lda + i]
    else pack_depth_contiguous<kMr>(a + i0 * lda + p0, lda, mc, kc, alpha, out);         // a[i * lda + p]
}

/// Depth [p0, p0+kc) x columns [j0, j0+nc) of op(B), in panels of kNr columns.
inline void pack_b(bool trans_b, const float* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                   float* out) {
    if (!trans_b) pack_lane_contiguous<kNr>(b + p0 * ldb + j0, ldb, nc, kc, 1.0f, out);  // b[p * ldb + j]
    else pack_depth_contiguous<kNr>(b + j0 * ldb + p0, ldb, nc, kc, 1.0f, out);          // b[j * ldb + p]
}

/// The register tile: C[0..kMr) x [0..16*Nv) (row stride ldc) = or += A panel * B panel over kc
/// steps. `a` and `b` are one packed panel each (64-byte aligned); Nv < kNv uses the first 16*Nv
/// columns of a B panel (the last, narrower panel of a product whose n is not a multiple of kNr).
///
/// kPacksB: the B panel is not packed yet. The kernel reads its 16*Nv columns straight from the
/// row-major source (row p at b_source + p * ldb) and writes them to `b_packed` as it goes, so that
/// the slow first read of B (from L3 or DRAM) overlaps the FMAs instead of running in a packing loop
/// of its own. sgemm does this for the first row panel of each B block; the other row panels then
/// read the packed copy.
///
/// Never inlined: where g++ inlined it into sgemm's loop nest (it did in one test program) the 24
/// accumulators no longer stayed in registers and the product ran at half speed.
template <int Nv, bool kPacksB = false>
[[gnu::noinline]] inline void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* c,
                                           int64_t ldc, bool accumulate, const float* __restrict b_source = nullptr,
                                           int64_t ldb = 0, float* __restrict b_packed = nullptr) {
    // Ask for the C tile now: it is read (accumulate) or written only after the kc steps, and C is
    // usually far larger than the caches, so a miss there would otherwise stall the end of every tile.
    for (int r = 0; r < kMr; ++r)
        for (int v = 0; v < Nv; ++v) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 16 * v), _MM_HINT_T0);
    __m512 acc[kMr][Nv];
    for (int r = 0; r < kMr; ++r)
        for (int v = 0; v < Nv; ++v) acc[r][v] = _mm512_setzero_ps();
    // A packed B panel streams from L2 with no software prefetch: the hardware's L1 streamer keeps up
    // with one 192-byte step per 12 cycles, and explicit prefetches 4 steps ahead (three more
    // load-port uops a step) made whole products 3-4% slower (interleaved A/B runs, every VGG shape).
    // The unpacked source (kPacksB) is a new row of a large matrix at every step, which no hardware
    // prefetcher predicts: it is fetched 8 rows ahead. Unrolled twice so that the loop's integer
    // bookkeeping takes fewer slots from the two FMA ports.
    constexpr int64_t kSourceRowsAhead = 8;
#pragma GCC unroll 2
    for (int64_t p = 0; p < kc; ++p) {
        __m512 bv[Nv];
        if constexpr (kPacksB) {
            const float* row = b_source + p * ldb;
            if (p + kSourceRowsAhead < kc) {  // the row's 16*Nv floats span at most Nv + 1 cache lines
                const char* ahead = reinterpret_cast<const char*>(row + kSourceRowsAhead * ldb);
                for (int v = 0; v < Nv; ++v) _mm_prefetch(ahead + 64 * v, _MM_HINT_T0);
                _mm_prefetch(ahead + 64 * Nv - 1, _MM_HINT_T0);
            }
            for (int v = 0; v < Nv; ++v) {
                bv[v] = _mm512_loadu_ps(row + 16 * v);
                _mm512_store_ps(b_packed + p * kNr + 16 * v, bv[v]);
            }
        } else {
            for (int v = 0; v < Nv; ++v) bv[v] = _mm512_load_ps(b + 16 * v);
            b += kNr;
        }
        for (int r = 0; r < kMr; ++r) {
            const __m512 av = _mm512_set1_ps(a[r]);
            for (int v = 0; v < Nv; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
        }
        a += kMr;
    }
    for (int r = 0; r < kMr; ++r)
        for (int v = 0; v < Nv; ++v) {
            float* dst = c + r * ldc + 16 * v;
            _mm512_storeu_ps(dst, accumulate ? _mm512_add_ps(_mm512_loadu_ps(dst), acc[r][v]) : acc[r][v]);
        }
}

/// One tile of C: rows x cols (at most kMr x kNr) at `c`, through the narrowest kernel that covers
/// the columns. Whole tiles go straight to C; a tile with fewer rows, or columns that are not a whole
/// number of registers, is computed into a buffer and the part that exists is added or copied.
template <int Nv>
inline void compute_tile_with(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                              bool accumulate) {
    if (rows == kMr && cols == 16 * Nv) return micro_kernel<Nv>(kc, a, b, c, ldc, accumulate);
    alignas(64) float tile[kMr * 16 * Nv];
    micro_kernel<Nv>(kc, a, b, tile, 16 * Nv, false);
    for (int r = 0; r < rows; ++r)
        for (int t = 0; t < cols; ++t)
            c[r * ldc + t] = accumulate ? c[r * ldc + t] + tile[r * 16 * Nv + t] : tile[r * 16 * Nv + t];
}

inline void compute_tile(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                         bool accumulate) {
    static_assert(kNv == 3, "compute_tile: one branch per register count");
    const int vectors = (cols + 15) / 16;
    if (vectors == 3) compute_tile_with<3>(kc, a, b, c, ldc, rows, cols, accumulate);
    else if (vectors == 2) compute_tile_with<2>(kc, a, b, c, ldc, rows, cols, accumulate);
    else compute_tile_with<1>(kc, a, b, c, ldc, rows, cols, accumulate);
}

}  // namespace detail

/// C = alpha * op(A) * op(B) (+ C when accumulate), single-threaded; see the header comment.
/// Requires m, n, k > 0.
inline void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, bool accumulate, float* c, int64_t ldc) {
    // Depth blocks of equal size (a 1152-deep product as 4 x 256 + 128 would run its last block
    // at half the work per packed byte): ceil(k / kKc) blocks of at most kc_max.
    const int64_t depth_blocks = (k + kKc - 1) / kKc;
    const int64_t kc_max = (k + depth_blocks - 1) / depth_blocks;
    const int64_t nc_max = (std::min(n, kNc) + kNr - 1) / kNr * kNr;
    const int64_t mc_max = (std::min(m, kMc) + kMr - 1) / kMr * kMr;
    float* bpack = detail::packed_b_buffer(kc_max * nc_max);
    float* apack = detail::packed_a_buffer(kc_max * mc_max);
    for (int64_t jc = 0; jc < n; jc += kNc) {
        const int64_t nc = std::min(kNc, n - jc);
        for (int64_t pc = 0; pc < k; pc += kc_max) {
            const int64_t kc = std::min(kc_max, k - pc);
            const bool add = accumulate || pc > 0;
            // A row-major B is packed panel by panel by the first row panel's micro-kernels (the
            // first tile has kMr whole rows when m >= kMr); a transposed B by the packing loop.
            const bool pack_b_in_kernel = !trans_b && m >= kMr;
            if (!pack_b_in_kernel) detail::pack_b(trans_b, b, ldb, pc, kc, jc, nc, bpack);
            for (int64_t ic = 0; ic < m; ic += kMc) {
                const int64_t mc = std::min(kMc, m - ic);
                detail::pack_a(trans_a, a, lda, ic, mc, pc, kc, alpha, apack);
                for (int64_t ir = 0; ir < mc; ir += kMr) {
                    const int rows = static_cast<int>(std::min<int64_t>(kMr, mc - ir));
                    const float* apanel = apack + ir * kc;
                    for (int64_t jr = 0; jr < nc; jr += kNr) {
                        const int cols = static_cast<int>(std::min<int64_t>(kNr, nc - jr));
                        float* ctile = c + (ic + ir) * ldc + jc + jr;
                        if (pack_b_in_kernel && ic == 0 && ir == 0) {  // this B panel's first use
                            const float* source = b + pc * ldb + jc + jr;
                            if (cols == kNr) {
                                detail::micro_kernel<kNv, true>(kc, apanel, nullptr, ctile, ldc, add, source, ldb,
                                                                bpack + jr * kc);
                                continue;
                            }
                            detail::pack_lane_contiguous<kNr>(source, ldb, cols, kc, 1.0f, bpack + jr * kc);
                        }
                        detail::compute_tile(kc, apanel, bpack + jr * kc, ctile, ldc, rows, cols, add);
                    }
                }
            }
        }
    }
}

}  // namespace seam::cpu::avx512

#endif  // __AVX512F__
