// kernels/seam/conv2d_tf32_nhwc.cuh — version 5 of the TF32 convolution (kernels/seam/conv2d_tf32.cuh
// holds the launchers; version 4 is kernels/seam/conv2d_tf32_mma.cuh): forward, backward-data and
// backward-weight of float tensors as implicit GEMMs on the tensor cores, with operands first staged
// channels-last and rounded to TF32, so that every global-to-shared copy moves 16 bytes. Raw device
// pointers and conv2d.cuh's Conv2dShape; compiles only under nvcc.
//
// What it computes: the convolution of conv2d.cuh (cross-correlation, zero padding, stride,
// dilation, groups, bias), each product of TF32-rounded operands (round to nearest, ties away from
// zero: cvt.rna's rule) and every sum in fp32 on the tensor cores — the same rounding as versions
// 3 and 4, in another summation order.
//
// Why a version 5: version 4 (mma.sync + 4-byte cp.async straight from the NCHW tensors) ran at
// 31-63 TFLOP/s on an H200, backward-data 4-6x and backward-weight 3-4x cuDNN's TF32 ALGO_1
// (bench/results/gpu-h200-2026-11-27-conv-pool-run3.md). Counted per warp and K-tile of 32, its
// 64 mma.sync came with 24 scalar shared loads and 24 cvt.rna per 16 mma and 32 four-byte copies
// with their index arithmetic per thread: the issue slots, not the tensor cores, set the pace.
// Version 5 removes each of those costs:
//   1. Staging (memory-bound transform kernels, a few % of a layer's time): activations NCHW →
//      [N][pixels][groups][channels per group padded to a multiple of 4], weights to the GEMM's
//      row order, every value rounded to TF32 once. A K-chunk of 4 channels of one pixel is then
//      16 contiguous, aligned bytes: one cp.async.cg of 16 bytes (8 per operand, thread and
//      K-tile, zero-filled for padding), and the main loop needs no cvt (the operands are
//      TF32 values already, which the tensor core reads exactly).
//   2. A 128 x 128 x 32 block tile with 4 warps of 64 x 64 (4 x 8 mma tiles of 16 x 8): 32 mma per
//      16 shared loads of 8 bytes (K-major operands) or 8 of 16 bytes (M/N-major ones), against
//      version 4's 16 mma per 24 loads of 4 bytes.
//   3. Fragments read with vector loads, by permuting what the mma instruction's k slots, rows and
//      columns mean (a GEMM's sum does not care which k a slot holds, so long as A and B agree; rows
//      and columns are renamed back in the epilogue):
//        k:  slot s of k-step ks (s = tig + 4j, j = 0/1) holds tile k = 8·ks + 2·tig + j, so a
//            lane's two k of a k-step (a0/a2, a1/a3, b0/b1) are adjacent: one 8-byte load
//            per row of a K-major operand;
//        m:  (M-major A, backward-weight) the mma row gid + 8h of m-tile i is tile row
//            wr + 2·MF·gid + 2i + h: a lane's 2·MF rows are adjacent, one 16-byte load per 4;
//        n:  (N-major B, backward-weight) the mma column gid of n-tile ni is tile column
//            wc + 8·gid + ni: a lane's 8 columns are adjacent, two 16-byte loads.
//   4. The gathers' per-K-tile divisions (by the padded channel count, KW, OH·OW, OW) are a
//      multiply-high and a shift (FastDivisor), not ~20-instruction integer divisions.
//   5. Shared memory XOR-swizzled at 16-byte granularity so that every copy (8 lanes a phase) and
//      every fragment load (16 lanes a phase for 8-byte loads, 8 for 16-byte ones) hits 32
//      distinct banks (derivations at KMajor and MnMajor below).
//
// The three GEMMs (per group g; the staged operands are named ^):
//   forward          Y[o, q]  = Σ_k Ŵf[o, k] · X̂[q, k]      q = (n, oh, ow), k = (ki, kj, c)
//   backward-data    dX[c, p] = Σ_k Ŵb[c, k] · dŶ[p, k]     p = (n, h, w),   k = (ki, kj, o)
//   backward-weight  dW[o, k] = Σ_q dŶ[q, o] · X̂[q, k]      k = (ki, kj, c)
//   Any of the three may run its K in slices when its grid is small (split-K, below): the partials
//   go to the workspace and a second kernel sums them in slice order, in double.
//   with X̂[q, (ki, kj, c)] = xs[n, oh·sh - ph + ki·dh, ow·sw - pw + kj·dw, g, c] (0 outside the image)
//   and dŶ[p, (ki, kj, o)] = dys[n, oh, ow, g, o] where oh·sh = h + ph - ki·dh, ow·sw = w + pw - kj·dw
//   (0 where that has no integral, in-range solution). Forward and backward-data read both
//   operands K-major (k contiguous: [row][32] tiles); backward-weight reads both M/N-major
//   (o or (ki, kj, c) contiguous: [32][row] tiles).
//
// Layouts. Inputs and outputs (contiguous, row-major): x, dx [N, C, H, W]; w, dw [O, C/g, KH, KW];
// y, dy [N, O, OH, OW]; b [O]. Staged, in the caller's workspace (Cgp = C/g and Ogp = O/g rounded up
// to multiples of 4, the pad zero):
//   xs  [N][H·W][g][Cgp]          (forward, backward-weight)
//   dys [N][OH·OW][g][Ogp]        (backward-data, backward-weight)
//   wf  [O][KH·KW][Cgp]           (forward: GEMM rows o, K = KH·KW·Cgp)
//   wb  [g][C/g][KH·KW][Ogp]      (backward-data: GEMM rows c, K = KH·KW·Ogp; wb = w transposed, not
//                                  flipped: the gather above walks the taps)
//
// Launch shapes.
//   Staging, activations: blocks of 32 x 8 threads transpose 32 pixels x 32 staged channels through
//   a 32 x 33 shared tile (both sides coalesced); grid (pixels/32, g·Cgp/32, min(N, 65535)),
//   images grid-strided. Weights: one thread per staged element, 256 a block.
//   GEMM: 128 threads = 2 x 2 warps, block tile BM x 128 x 32 (BM = 128, or 64 when the GEMM's M
//   is at most 64), warp tile (BM/2) x 64; grid (⌈N/128⌉, ⌈M/BM⌉, groups·slices). 3 stages of
//   cp.async in flight: 3 x (BM + 128) x 32 floats = 96 KiB (BM = 128), two blocks an SM on sm_80 /
//   sm_90 (__launch_bounds__(128, 2): up to 255 registers; ptxas of CUDA 13.0 for sm_90 gives the
//   six instantiations 156-236 registers and no spills). Split passes add conv2d.cuh's summing kernel.
//   The PTX for sm_90 (nvcc 13.0 -O3, BM = 128) has what the design counts, per K-tile of the loop:
//   128 mma.sync per warp, fed by 64 ld.shared.v2 (forward, backward-data) or 32 ld.shared.v4
//   (backward-weight), 16 cp.async.cg of 16 bytes per thread, one bar.sync, no cvt, no local memory.
//
// Fragments (PTX ISA, mma.m16n8k8 .tf32; lane = 4·gid + tig):
//   A 16x8 (row):  a0 (gid, tig)  a1 (gid+8, tig)  a2 (gid, tig+4)  a3 (gid+8, tig+4)
//   B 8x8  (col):  b0 (k = tig, n = gid)  b1 (k = tig+4, n = gid)
//   C 16x8:        c0 (gid, 2tig)  c1 (gid, 2tig+1)  c2 (gid+8, 2tig)  c3 (gid+8, 2tig+1)
//
// Every per-thread decision (copy sources and destinations, swizzles, which shared element lands in
// which register, where each accumulator goes, the staging transforms) is a __host__ __device__
// function here, so tests/cuda/test_tf32_nhwc_kernel_logic.cu replays whole launches on the CPU
// against naive loops with an independent model of the mma instruction, and counts bank conflicts.
// What the CPU cannot check: the PTX, the pipeline's wait/barrier order (the same as version 4's,
// argued at the loop), and speed.
//
// Measured (NVIDIA H200, 2026-11-27, bench_conv_pool_cuda's TF32 tables, staging included;
// bench/results/gpu-h200-2026-11-27-conv-pool-run4.md to -run6.md): forward 77-142 TFLOP/s on VGG-16's
// conv1_2..conv5_3 at batch 32 (0.17-0.29x cuDNN's TF32 IMPLICIT_GEMM time), backward-data
// 56-119 TFLOP/s (1.9-2.6x cuDNN's TF32 ALGO_1), backward-weight 53-85 TFLOP/s (1.4-2.2x); faster
// than version 4 on every pass but conv1_1's (3 input channels), but short of the issue's floor
// (2x) on backward-data. The ops run it on a 9.x GPU without version 6's sm_90a code; version 6
// (conv2d_tf32_wgmma.cuh) reuses its staging and runs its backward-weight below 256 output channels
// a group. Nsight Compute on conv3_2 (gpu-h200-2026-11-27-run5.md, step 4e): 2 blocks of 4 warps an
// SM (218-236 registers), the busiest pipeline under half busy (forward 46.5 %, backward-data's
// tensor pipe 37 %), backward-weight's busiest the integer ALU (38 %: its M/N-major gathers' address
// arithmetic).
//
// Architectures: sm_80 and newer (the body is a trap below; the launchers refuse before that).
// Limits: conv2d.cuh's gemm_fits, and each staged tensor under 2^31 elements (fits()).
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "seam/conv2d.cuh"
#include "seam/fast_divisor.cuh"
#include "seam/conv2d_tf32_mma.cuh"

namespace seam::kernels::conv2d_tf32_nhwc {

namespace cd = conv2d_detail;

constexpr int kThreads = 128;
constexpr int kWarpsM = 2, kWarpsN = 2;  // warp grid of a block
constexpr int kBN = 128;                 // block tile columns
constexpr int kBK = 32;                  // K-tile depth
constexpr int kStages = 3;               // K-tiles in flight
constexpr int kChunk = 4;                // floats per 16-byte copy

__host__ __device__ constexpr int pad4(int v) { return (v + 3) / 4 * 4; }

/// fp32 → TF32 (kept in fp32's bits, the low 13 mantissa bits zero): round to nearest, ties away
/// from zero, as cvt.rna.tf32.f32; NaN and infinity unchanged. Adding half of the dropped part to
/// the magnitude bits and truncating rounds the magnitude up on a tie; a carry into the exponent
/// is the correct rounding up to the next binade (or to infinity past the largest TF32 value).
__host__ __device__ inline float round_to_tf32(float v) {
    uint32_t u;
#if defined(__CUDA_ARCH__)
    u = __float_as_uint(v);
#else
    std::memcpy(&u, &v, 4);
#endif
    if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float r;
    std::memcpy(&r, &u, 4);
    return r;
#endif
}

// ----- staging: the transform kernels' per-thread work --------------------------------------------

/// Activations [N][Ch][P] → [N][P][G][Chp] (Chp = pad4(Ch/G)), rounded, the pad zero.
struct ActivationStaging {
    const float* src;
    float* dst;
    int N, Ch, P, G, Chg, Chp;

    __host__ __device__ int staged_channels() const { return G * Chp; }
    /// The source channel of staged channel cc (cc < G·Chp), or -1 for the pad.
    __host__ __device__ int source_channel(int cc) const {
        const int g = cc / Chp, c = cc - g * Chp;
        return c < Chg ? g * Chg + c : -1;
    }
    // A block (bx, by) of image n covers pixels 32·bx + [0, 32) and staged channels 32·by + [0, 32).
    // Read phase: thread (tx, ty) reads pixel 32·bx + tx of staged channels 32·by + ty + 8r (r < 4):
    // a warp reads 32 consecutive pixels of one channel (coalesced), into tile[ty + 8r][tx].
    __host__ __device__ void read(float (&tile)[32][33], int n, int bx, int by, int tx, int ty) const {
        for (int r = 0; r < 4; ++r) {
            const int cc = 32 * by + ty + 8 * r, p = 32 * bx + tx;
            float v = 0.0f;
            if (cc < staged_channels() && p < P) {
                const int c = source_channel(cc);
                if (c >= 0) v = round_to_tf32(src[(int64_t(n) * Ch + c) * P + p]);
            }
            tile[ty + 8 * r][tx] = v;
        }
    }
    // Write phase (after a barrier): thread (tx, ty) writes staged channel 32·by + tx of pixels
    // 32·bx + ty + 8r: a warp writes 32 consecutive staged channels of one pixel (coalesced). The
    // tile's 33-float rows put tile[tx][·] of the 32 lanes on 32 distinct banks.
    __host__ __device__ void write(const float (&tile)[32][33], int n, int bx, int by, int tx, int ty) const {
        for (int r = 0; r < 4; ++r) {
            const int p = 32 * bx + ty + 8 * r, cc = 32 * by + tx;
            if (cc < staged_channels() && p < P) dst[(int64_t(n) * P + p) * staged_channels() + cc] = tile[tx][ty + 8 * r];
        }
    }
};

/// Forward weights w [O][Cg][taps] → wf [O][taps][Cgp]: staged element i.
__host__ __device__ inline float forward_weight_at(const float* w, int64_t i, int Cg, int taps, int Cgp) {
    const int64_t row = i / (int64_t(taps) * Cgp);
    const int r = int(i - row * taps * Cgp), tap = r / Cgp, c = r - tap * Cgp;
    return c < Cg ? round_to_tf32(w[(row * Cg + c) * taps + tap]) : 0.0f;
}

/// Backward-data weights w [G·Og][Cg][taps] → wb [G][Cg][taps][Ogp]: staged element i.
__host__ __device__ inline float backward_data_weight_at(const float* w, int64_t i, int Og, int Cg, int taps, int Ogp) {
    const int64_t row = i / (int64_t(taps) * Ogp);  // g·Cg + c
    const int r = int(i - row * taps * Ogp), tap = r / Ogp, o = r - tap * Ogp;
    const int64_t g = row / Cg, c = row - g * Cg;
    return o < Og ? round_to_tf32(w[((g * Og + o) * Cg + c) * taps + tap]) : 0.0f;
}

// ----- shared-memory tiles --------------------------------------------------------------------------

/// A K-major tile [rows][32]: row r's 32 k as 8 chunks of 4 floats (16 bytes), chunk index
/// XOR-ed with 2·(r mod 4).
///   Copies: 8 consecutive lanes write the 8 chunks of one row (a permutation of them: 32 banks).
///   Fragment loads (8 bytes, 16 lanes a phase): lane (gid, tig) reads row R + gid (R a multiple
///   of 8, gid < 4 in a phase up to renaming) at k = 8·ks + 2·tig: chunk 2·ks + tig/2, half tig%2.
///   The swizzled chunk has bit 0 = tig/2 and bits 1-2 = (ks ^ gid) mod 4: 8 chunks x 2 halves =
///   16 distinct 8-byte slots, and rows are 32 floats (one full turn of the banks) apart.
struct KMajor {
    __host__ __device__ static int offset(int row, int k) {
        return row * kBK + ((((k >> 2) ^ ((row & 3) << 1))) << 2) + (k & 3);
    }
};

/// An M- or N-major tile [32][Cols]: k row k's Cols floats in chunks of 4, the chunk index's low 3
/// bits XOR-ed with s(k). Run: the floats a lane reads together (2·MF rows of A or 8 columns of B).
///   Copies: 8 consecutive lanes write 8 consecutive chunks of one k row: a permutation mod 8.
///   Fragment loads (16 bytes, 8 lanes a phase = gid ∈ {2p, 2p+1} x tig 0..3) read k rows
///   8·ks + 2·tig + j, so b = (k >> 1) mod 4 = tig; chunks (base + Run·gid)/4 (+1 for Run 8).
///     Run 8: the chunk's bit 1 is gid's parity; s ∈ {0, 1, 4, 5} (bits 0 and 2 from tig) makes
///            the 8 lanes' chunks distinct mod 8.
///     Run 4: the chunk's bit 0 is gid's parity; s = 2·tig ∈ {0, 2, 4, 6} (bits 1-2).
template <int Cols, int Run>
struct MnMajor {
    static_assert(Run == 4 || Run == 8, "a lane reads 4 or 8 adjacent floats");
    static_assert(Cols % 32 == 0, "k rows a whole number of bank turns");
    __host__ __device__ static int swizzle(int k) {
        const int b = (k >> 1) & 3;
        return Run == 8 ? ((b & 1) | ((b & 2) << 1)) : (b << 1);
    }
    __host__ __device__ static int offset(int k, int mn) { return k * Cols + (((mn >> 2) ^ swizzle(k)) << 2) + (mn & 3); }
};

/// The block tile. AK / BK_: A and B K-major (forward, backward-data) or M/N-major (backward-weight).
template <int BM, bool AK, bool BKm>
struct Tile {
    static_assert(BM == 64 || BM == 128, "block tile rows: 64 or 128");
    static constexpr bool A_K_MAJOR = AK, B_K_MAJOR = BKm;
    static constexpr int WM = BM / kWarpsM, WN = kBN / kWarpsN;  // warp tile: 64 or 32 rows, 64 columns
    static constexpr int MF = WM / 16, NF = WN / 8;              // mma tiles per warp: 4 or 2, 8
    static constexpr int A_FLOATS = BM * kBK, B_FLOATS = kBN * kBK;
    static constexpr int STAGE_FLOATS = A_FLOATS + B_FLOATS;
    static constexpr size_t SMEM_BYTES = size_t(kStages) * STAGE_FLOATS * sizeof(float);
    using AMn = MnMajor<BM, 2 * MF>;
    using BMn = MnMajor<kBN, NF>;

    __host__ __device__ static int a_offset(int m, int k) { return AK ? KMajor::offset(m, k) : AMn::offset(k, m); }
    __host__ __device__ static int b_offset(int n, int k) { return BKm ? KMajor::offset(n, k) : BMn::offset(k, n); }

    __host__ __device__ static int warp_row(int warp) { return (warp / kWarpsN) * WM; }
    __host__ __device__ static int warp_col(int warp) { return (warp % kWarpsN) * WN; }
    /// The tile k that slot tig + 4j of k-step ks holds.
    __host__ __device__ static int frag_k(int ks, int lane, int j) { return 8 * ks + 2 * (lane % 4) + j; }
    /// The tile row of mma row lane/4 + 8h of m-tile i.
    __host__ __device__ static int a_row(int warp, int lane, int i, int h) {
        return AK ? warp_row(warp) + 16 * i + 8 * h + lane / 4 : warp_row(warp) + 2 * MF * (lane / 4) + 2 * i + h;
    }
    /// The tile column of mma column c of n-tile ni.
    __host__ __device__ static int b_col_of(int warp, int ni, int c) {
        return BKm ? warp_col(warp) + 8 * ni + c : warp_col(warp) + 8 * c + ni;
    }
    /// The tile column a lane's b registers of n-tile ni hold (mma column lane/4).
    __host__ __device__ static int b_col(int warp, int lane, int ni) { return b_col_of(warp, ni, lane / 4); }
    /// Where accumulator v (c0..c3) of m-tile i, n-tile ni goes in the block tile.
    __host__ __device__ static int c_row(int warp, int lane, int i, int v) { return a_row(warp, lane, i, v >> 1); }
    __host__ __device__ static int c_col(int warp, int lane, int ni, int v) {
        return b_col_of(warp, ni, 2 * (lane % 4) + (v & 1));
    }

    /// A lane's fragments of k-step ks from one stage. Smem: ld2(offset) / ld4(offset) return 2 or
    /// 4 adjacent floats (one 8- or 16-byte shared load on the GPU; the host emulation checks them).
#pragma nv_exec_check_disable
    template <class Smem>
    __host__ __device__ static void load_fragments(Smem& smem, int warp, int lane, int ks, float (&a)[MF][4],
                                                   float (&b)[NF][2]) {
        if constexpr (AK) {
SEAM_CONV_UNROLL
            for (int i = 0; i < MF; ++i)
SEAM_CONV_UNROLL
                for (int h = 0; h < 2; ++h) {
                    const float2 v = smem.ld2(a_offset(a_row(warp, lane, i, h), frag_k(ks, lane, 0)));
                    a[i][h] = v.x, a[i][h + 2] = v.y;  // slots tig, tig + 4 of row gid + 8h
                }
        } else {
SEAM_CONV_UNROLL
            for (int j = 0; j < 2; ++j)
SEAM_CONV_UNROLL
                for (int q = 0; q < MF / 2; ++q) {  // rows a_row(i, h) = first + 2i + h, 4 per load
                    const float4 v = smem.ld4(a_offset(a_row(warp, lane, 0, 0) + 4 * q, frag_k(ks, lane, j)));
                    a[2 * q][2 * j] = v.x, a[2 * q][2 * j + 1] = v.y, a[2 * q + 1][2 * j] = v.z, a[2 * q + 1][2 * j + 1] = v.w;
                }
        }
        if constexpr (BKm) {
SEAM_CONV_UNROLL
            for (int ni = 0; ni < NF; ++ni) {
                const float2 v = smem.ld2(A_FLOATS + b_offset(b_col(warp, lane, ni), frag_k(ks, lane, 0)));
                b[ni][0] = v.x, b[ni][1] = v.y;
            }
        } else {
SEAM_CONV_UNROLL
            for (int j = 0; j < 2; ++j)
SEAM_CONV_UNROLL
                for (int q = 0; q < NF / 4; ++q) {  // columns b_col(ni) = first + ni, 4 per load
                    const float4 v = smem.ld4(A_FLOATS + b_offset(b_col(warp, lane, 0) + 4 * q, frag_k(ks, lane, j)));
                    b[4 * q][j] = v.x, b[4 * q + 1][j] = v.y, b[4 * q + 2][j] = v.z, b[4 * q + 3][j] = v.w;
                }
        }
    }
};

inline int block_rows(int64_t M) { return M > 64 ? 128 : 64; }

/// FastDivisor (fast_divisor.cuh): the gathers divide every K-tile by divisors fixed at launch.
using seam::kernels::FastDivisor;

/// conv2d.cuh's Dims plus the number of groups a staged pixel row holds and the divisors the
/// gathers use every K-tile.
struct Dims : cd::Dims {
    int groups_staged;
    FastDivisor kw_div, out_pixels_div, ow_div;  // by KW, OH·OW, OW
};

// ----- where the operands come from ---------------------------------------------------------------
// Each source's copies(tid, g, m0, n0) resolves a thread's share of a block once; its load(k0,
// k_end, copy) calls copy(offset, src, valid) for each 16-byte chunk the thread copies in the
// K-tile at k0: offset within the stage (A at [0, A_FLOATS), B after), src the chunk's global
// address (a harmless in-bounds one when !valid: the chunk is zero-filled, nothing is read).
//
// K-major copies: thread tid copies chunk tid % 8 (k = k0 + 4·(tid % 8)) of rows tid / 8 + 16·i
// (tid / 8 + 32·i with version 6's 256 threads).
// M/N-major copies: thread tid copies the chunk of columns 4·(tid % (Cols/4)) in the Cols/16
// consecutive k rows from (tid / (Cols/4))·Cols/16.

/// Forward and backward-data: A = staged weight rows g·M + m (K-major, K floats a row), B = a
/// K-major gather of staged activations: column n's chunk at k = (tap, ch) is the pixel Gather picks
/// for (n, tap), channels g·chp + ch .. + 3 (zero-filled where Gather finds none). TileCfg (its
/// a_offset, b_offset and A_FLOATS) places the chunks in a stage, and Threads copy them: this file's
/// tile and 128 threads, or version 6's (conv2d_tf32_wgmma.cuh: wgmma's 128-byte swizzle, 256).
template <int BM, class Gather, class TileCfg = Tile<BM, true, true>, int Threads = kThreads>
struct KMajorSource {
    using Cfg = TileCfg;
    static constexpr int ROW_STEP = Threads / 8;  // 8 threads a row (its 8 chunks): rows tid/8 + ROW_STEP·i
    static_assert(Threads % 8 == 0 && BM % ROW_STEP == 0 && kBN % ROW_STEP == 0, "the copies tile the rows");
    static constexpr int A_ROWS = BM / ROW_STEP, B_ROWS = kBN / ROW_STEP;
    const float* act;  // xs (forward) or dys (backward-data)
    const float* wt;   // wf or wb
    Dims d;
    int M, N, K;       // forward: Og, N·OH·OW, taps·Cgp; backward-data: Cg, N·H·W, taps·Ogp
    FastDivisor chp;   // channels of a group in a staged pixel row: Cgp or Ogp (chp.d)

    struct Copies {
        int tid;
        const float* a_first;  // weight row g·M + m0 + tid/8 (or row g·M when past M)
        unsigned a_rows;       // bit i: row m0 + tid/8 + ROW_STEP·i < M
        typename Gather::Column col[B_ROWS];  // columns n0 + tid/8 + ROW_STEP·i
    };
    __host__ __device__ Copies copies(int tid, int g, int m0, int n0) const {
        Copies c;
        c.tid = tid;
        const int first = m0 + tid / 8;
        c.a_first = wt + (int64_t(g) * M + (first < M ? first : 0)) * K;
        c.a_rows = 0;
        for (int i = 0; i < A_ROWS; ++i)
            if (first + ROW_STEP * i < M) c.a_rows |= 1u << i;
        for (int i = 0; i < B_ROWS; ++i) c.col[i] = Gather::column(d, n0 + tid / 8 + ROW_STEP * i, N);
        return c;
    }
#pragma nv_exec_check_disable
    template <class Copy>
    __host__ __device__ void load(const Copies& c, int g, int k0, int k_end, Copy&& copy) const {
        const int kc = (c.tid % 8) * kChunk, k = k0 + kc;
        const bool k_valid = k < k_end;
        const int tap = k_valid ? chp.div(k) : 0, ch = k - tap * chp.d;
        const int ki = d.kw_div.div(tap), kj = tap - ki * d.KW;
        const int64_t row_floats = int64_t(d.groups_staged) * chp.d, channel = int64_t(g) * chp.d + ch;
SEAM_CONV_UNROLL
        for (int i = 0; i < A_ROWS; ++i) {
            const bool valid = k_valid && ((c.a_rows >> i) & 1u);
            copy(Cfg::a_offset(c.tid / 8 + ROW_STEP * i, kc), valid ? c.a_first + int64_t(ROW_STEP * i) * K + k : wt, valid);
        }
SEAM_CONV_UNROLL
        for (int i = 0; i < B_ROWS; ++i) {
            bool valid = false;
            const int pixel = Gather::pixel(d, c.col[i], ki * d.dh, kj * d.dw, valid);
            valid = valid && k_valid;
            copy(Cfg::A_FLOATS + Cfg::b_offset(c.tid / 8 + ROW_STEP * i, kc), valid ? act + pixel * row_floats + channel : act,
                 valid);
        }
    }
};

/// The forward's gather: column q = (n, oh, ow), tap (ki, kj) → input pixel (n, oh·sh - ph + ki·dh,
/// ow·sw - pw + kj·dw) of xs, none outside the image.
struct ForwardGather {
    struct Column {
        int pix, ih0, iw0;  // n·H·W, oh·sh - ph, ow·sw - pw
    };
    __host__ __device__ static Column column(const Dims& d, int n, int N) {
        if (n >= N) return {0, INT_MIN / 2, 0};  // every tap lands outside
        const int img = n / d.out_pixels, p = n - img * d.out_pixels, oh = p / d.OW, ow = p - oh * d.OW;
        return {img * d.in_pixels, oh * d.sh - d.ph, ow * d.sw - d.pw};
    }
    __host__ __device__ static int pixel(const Dims& d, const Column& c, int dh, int dw, bool& valid) {
        const int ih = c.ih0 + dh, iw = c.iw0 + dw;
        valid = unsigned(ih) < unsigned(d.H) && unsigned(iw) < unsigned(d.W);
        return valid ? c.pix + ih * d.W + iw : 0;
    }
};

/// Backward-data's gather: column p = (n, h, w), tap (ki, kj) → the output pixel (n, oh, ow) of dys
/// with oh·sh = h + ph - ki·dh and ow·sw = w + pw - kj·dw, none without an integral in-range solution.
struct BackwardDataGather {
    struct Column {
        int pix, th, tw;  // n·OH·OW, h + ph, w + pw
    };
    __host__ __device__ static Column column(const Dims& d, int n, int N) {
        if (n >= N) return {0, INT_MIN / 2, 0};  // every tap lands outside
        const int img = n / d.in_pixels, p = n - img * d.in_pixels, h = p / d.W, w = p - h * d.W;
        return {img * d.out_pixels, h + d.ph, w + d.pw};
    }
    __host__ __device__ static int pixel(const Dims& d, const Column& c, int dh, int dw, bool& valid) {
        int oh = c.th - dh, ow = c.tw - dw;  // oh·sh and ow·sw of the output the tap comes from
        valid = oh >= 0 && ow >= 0;
        if (d.sh != 1) {
            valid = valid && oh % d.sh == 0;
            oh /= d.sh;
        }
        if (d.sw != 1) {
            valid = valid && ow % d.sw == 0;
            ow /= d.sw;
        }
        valid = valid && oh < d.OH && ow < d.OW;
        return valid ? c.pix + oh * d.OW + ow : 0;
    }
};

template <int BM>
using ForwardSource = KMajorSource<BM, ForwardGather>;
template <int BM>
using BackwardDataSource = KMajorSource<BM, BackwardDataGather>;

/// Backward-weight: A = dŶ[q, o] (M-major rows of dys), B = X̂[q, (ki, kj, c)] (N-major gather of
/// xs); K = q = (n, oh, ow).
template <int BM>
struct BackwardWeightSource {
    using Cfg = Tile<BM, false, false>;
    static constexpr int A_CHUNKS = BM / kChunk, B_CHUNKS = kBN / kChunk;   // chunks in a k row
    static constexpr int A_KROWS = BM / 16, B_KROWS = kBN / 16;             // k rows a thread copies
    const float* xs;
    const float* dys;
    Dims d;
    int M, N, K;  // Og, taps·Cgp, N·OH·OW
    int Cgp, Ogp;

    struct Copies {
        int tid;
        int a_m;        // the A chunk's first row m (tile row 4·(tid % A_CHUNKS))
        int a_k;        // the first of its k rows within the tile
        int b_n;        // the B chunk's first column n (tile column 4·(tid % B_CHUNKS))
        int b_k;
        bool b_valid;   // n < N
        int b_off;      // g·Cgp + c of column n
        int hoff, woff; // ki·dh - ph, kj·dw - pw of column n
    };
    __host__ __device__ Copies copies(int tid, int g, int m0, int n0) const {
        Copies c;
        c.tid = tid;
        c.a_m = m0 + kChunk * (tid % A_CHUNKS), c.a_k = (tid / A_CHUNKS) * A_KROWS;
        c.b_n = n0 + kChunk * (tid % B_CHUNKS), c.b_k = (tid / B_CHUNKS) * B_KROWS;
        c.b_valid = c.b_n < N;
        const int n = c.b_valid ? c.b_n : 0, tap = n / Cgp, ch = n - tap * Cgp, ki = tap / d.KW, kj = tap - ki * d.KW;
        c.b_off = g * Cgp + ch, c.hoff = ki * d.dh - d.ph, c.woff = kj * d.dw - d.pw;
        return c;
    }
#pragma nv_exec_check_disable
    template <class Copy>
    __host__ __device__ void load(const Copies& c, int g, int k0, int k_end, Copy&& copy) const {
        const int64_t a_row_floats = int64_t(d.groups_staged) * Ogp, b_row_floats = int64_t(d.groups_staged) * Cgp;
        const bool a_valid = c.a_m < Ogp;  // the pad rows read staged zeros; chunks past Ogp are zero-filled
        const float* a_col = dys + int64_t(g) * Ogp + c.a_m;
SEAM_CONV_UNROLL
        for (int i = 0; i < A_KROWS; ++i) {
            const int q = k0 + c.a_k + i;
            const bool valid = a_valid && q < k_end;
            copy(Cfg::a_offset(c.a_m % BM, c.a_k + i), valid ? a_col + int64_t(q) * a_row_floats : dys, valid);
        }
        // B: the thread's k rows are B_KROWS consecutive q; (n, oh, ow) by one division, then steps.
        int q = k0 + c.b_k;
        int img = d.out_pixels_div.div(q), p = q - img * d.out_pixels, oh = d.ow_div.div(p), ow = p - oh * d.OW;
SEAM_CONV_UNROLL
        for (int i = 0; i < B_KROWS; ++i, ++q) {
            const int ih = oh * d.sh + c.hoff, iw = ow * d.sw + c.woff;
            const bool valid = c.b_valid && q < k_end && unsigned(ih) < unsigned(d.H) && unsigned(iw) < unsigned(d.W);
            const float* src = valid ? xs + (int64_t(img) * d.in_pixels + ih * d.W + iw) * b_row_floats + c.b_off : xs;
            copy(Cfg::A_FLOATS + Cfg::b_offset(c.b_n % kBN, c.b_k + i), src, valid);
            if (++ow == d.OW) {
                ow = 0;
                if (++oh == d.OH) oh = 0, ++img;
            }
        }
    }
};

// ----- where C goes ----------------------------------------------------------------------------------

/// Forward: C[o, q] → y[n, g·Og + o, oh, ow] + bias; split: slice s's partial at y + s·slice_floats
/// (y then the workspace of partials, bias null: the summing kernel adds it).
struct ForwardStore {
    float* y;
    const float* bias;
    Dims d;
    int M, N;
    int64_t slice_floats;  // N·O·OH·OW when split, else unused
    __host__ __device__ float* col(int g, int slice, int n) const {
        const int img = n / d.out_pixels, p = n - img * d.out_pixels;
        return y + slice * slice_floats + (int64_t(img) * d.O + int64_t(g) * d.Og) * d.out_pixels + p;
    }
    __host__ __device__ void put(float* col, int g, int m, float v) const {
        col[int64_t(m) * d.out_pixels] = v + (bias ? bias[g * d.Og + m] : 0.0f);
    }
    __host__ __device__ bool keeps_col(int n) const { return n < N; }
};

/// Backward-data: C[c, p] → dx[n, g·Cg + c, h, w]; split: slice s's partial at dx + s·slice_floats.
struct BackwardDataStore {
    float* dx;
    Dims d;
    int M, N;
    int64_t slice_floats;  // N·C·H·W when split, else unused
    __host__ __device__ float* col(int g, int slice, int n) const {
        const int img = n / d.in_pixels, p = n - img * d.in_pixels;
        return dx + slice * slice_floats + (int64_t(img) * d.C + int64_t(g) * d.Cg) * d.in_pixels + p;
    }
    __host__ __device__ void put(float* col, int /*g*/, int m, float v) const { col[int64_t(m) * d.in_pixels] = v; }
    __host__ __device__ bool keeps_col(int n) const { return n < N; }
};

/// Backward-weight: C[o, (tap, c)] → out[slice][g·Og + o][c][tap] (c < Cg; out = dw when unsplit).
struct BackwardWeightStore {
    float* out;
    Dims d;
    int M, N, Cgp;
    __host__ __device__ float* col(int g, int slice, int n) const {
        const int tap = n / Cgp, c = n - tap * Cgp;
        const int64_t total = int64_t(d.O) * d.Cg * d.taps;
        return out + slice * total + (int64_t(g) * d.Og * d.Cg + c) * d.taps + tap;
    }
    __host__ __device__ void put(float* col, int /*g*/, int m, float v) const { col[int64_t(m) * d.Cg * d.taps] = v; }
    __host__ __device__ bool keeps_col(int n) const { return n < N && n % Cgp < d.Cg; }  // not the channel pad
};

// ----- the device side --------------------------------------------------------------------------

#if defined(__CUDA_ARCH__)
__device__ inline void cp_async_16(float* smem_dst, const float* src, bool valid) {
    const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ inline void mma_tf32(float (&c)[4], const float (&a)[4], const float (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(__float_as_uint(a[0])), "r"(__float_as_uint(a[1])), "r"(__float_as_uint(a[2])), "r"(__float_as_uint(a[3])),
          "r"(__float_as_uint(b[0])), "r"(__float_as_uint(b[1])));
}
struct SharedStage {
    const float* base;
    __device__ float2 ld2(int offset) const { return *reinterpret_cast<const float2*>(base + offset); }
    __device__ float4 ld4(int offset) const { return *reinterpret_cast<const float4*>(base + offset); }
};
#endif

/// The kernel. Grid: x over N tiles, y over M tiles, z = group · slices + slice; slice s covers K
/// range [s·k_slice, min(K, (s+1)·k_slice)), k_slice a multiple of kBK.
template <int BM, class Source, class Store>
__global__ void __launch_bounds__(kThreads, 2) tf32_nhwc_kernel(Source s, Store st, int slices, int k_slice) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
    __trap();  // no TF32 tensor cores below sm_80; the launchers refuse before launching this
#elif defined(__CUDA_ARCH__)
    using Cfg = typename Source::Cfg;
    extern __shared__ __align__(16) float smem[];
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int g = blockIdx.z / slices, slice = blockIdx.z % slices;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * kBN;
    const int k_begin = slice * k_slice;
    const int k_end = s.K - k_begin < k_slice ? s.K : k_begin + k_slice;
    const int tiles = k_begin < k_end ? (k_end - k_begin + kBK - 1) / kBK : 0;

    const auto copies = s.copies(tid, g, m0, n0);
    auto load = [&](int t) {
        float* stage = smem + (t % kStages) * Cfg::STAGE_FLOATS;
        s.load(copies, g, k_begin + t * kBK, k_end,
               [&](int offset, const float* src, bool valid) { cp_async_16(stage + offset, src, valid); });
    };

    float acc[Cfg::MF][Cfg::NF][4];
SEAM_CONV_UNROLL
    for (int i = 0; i < Cfg::MF; ++i)
SEAM_CONV_UNROLL
        for (int j = 0; j < Cfg::NF; ++j)
SEAM_CONV_UNROLL
            for (int v = 0; v < 4; ++v) acc[i][j][v] = 0.0f;

    // Pipeline (version 4's): one commit group per K-tile, committed even when empty, so before
    // iteration t exactly kStages - 1 + t groups exist and wait_group(kStages - 2) leaves tile t's
    // complete; the barrier then makes every thread's copies of tile t visible and means every warp
    // is done with tile t - 1, whose stage the copies issued next overwrite.
SEAM_CONV_UNROLL
    for (int t = 0; t < kStages - 1; ++t) {
        if (t < tiles) load(t);
        conv2d_tf32_mma::cp_async_commit();
    }
    for (int t = 0; t < tiles; ++t) {
        conv2d_tf32_mma::cp_async_wait<kStages - 2>();
        __syncthreads();
        if (t + kStages - 1 < tiles) load(t + kStages - 1);
        conv2d_tf32_mma::cp_async_commit();

        SharedStage stage{smem + (t % kStages) * Cfg::STAGE_FLOATS};
SEAM_CONV_UNROLL
        for (int ks = 0; ks < kBK / 8; ++ks) {
            float a[Cfg::MF][4], b[Cfg::NF][2];
            Cfg::load_fragments(stage, warp, lane, ks, a, b);
SEAM_CONV_UNROLL
            for (int i = 0; i < Cfg::MF; ++i)
SEAM_CONV_UNROLL
                for (int j = 0; j < Cfg::NF; ++j) mma_tf32(acc[i][j], a[i], b[j]);
        }
    }
    conv2d_tf32_mma::cp_async_wait<0>();  // only empty groups can remain; nothing may be in flight at exit

    // Epilogue: straight from the accumulators (each C element has one owner).
SEAM_CONV_UNROLL
    for (int j = 0; j < Cfg::NF; ++j)
SEAM_CONV_UNROLL
        for (int vc = 0; vc < 2; ++vc) {
            const int n = n0 + Cfg::c_col(warp, lane, j, vc);
            if (!st.keeps_col(n)) continue;
            float* out = st.col(g, slice, n);
SEAM_CONV_UNROLL
            for (int i = 0; i < Cfg::MF; ++i)
SEAM_CONV_UNROLL
                for (int vr = 0; vr < 2; ++vr) {
                    const int m = m0 + Cfg::c_row(warp, lane, i, 2 * vr);
                    if (m < st.M) st.put(out, g, m, acc[i][j][2 * vr + vc]);
                }
        }
#endif
}

template <class Staging>
__global__ void __launch_bounds__(256) stage_activations_kernel(Staging st) {
    __shared__ float tile[32][33];
    for (int n = blockIdx.z; n < st.N; n += gridDim.z) {
        st.read(tile, n, blockIdx.x, blockIdx.y, threadIdx.x, threadIdx.y);
        __syncthreads();
        st.write(tile, n, blockIdx.x, blockIdx.y, threadIdx.x, threadIdx.y);
        __syncthreads();
    }
}

// (Templates, as every kernel of these headers: a header kernel that is not one is defined again in
// each translation unit that includes it, and a program linking two of them — seam::cuda and a
// user's .cu — fails to link.)
template <class T>
__global__ void stage_forward_weights_kernel(const T* w, T* wf, int64_t count, int Cg, int taps, int Cgp) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        wf[i] = forward_weight_at(w, i, Cg, taps, Cgp);
}

template <class T>
__global__ void stage_backward_data_weights_kernel(const T* w, T* wb, int64_t count, int Og, int Cg, int taps,
                                                   int Ogp) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        wb[i] = backward_data_weight_at(w, i, Og, Cg, taps, Ogp);
}

// ----- host side: sizes, plans, launches --------------------------------------------------------------

/// The staged tensors' element counts, and the workspace layout of each pass (regions 256-byte aligned).
struct Staged {
    int64_t xs, dys, wf, wb;
};
inline Staged staged_counts(const Conv2dShape& s) {
    const int64_t Cgp = pad4(int(s.Cg())), Ogp = pad4(int(s.Og())), taps = s.KH * s.KW;
    return {s.N * s.H * s.W * s.groups * Cgp, s.N * s.OH * s.OW * s.groups * Ogp, s.O * taps * Cgp,
            s.groups * s.Cg() * taps * Ogp};
}
inline size_t region_bytes(int64_t floats) { return (static_cast<size_t>(floats) * sizeof(float) + 255) / 256 * 256; }

/// Version 5's extra limits beyond conv2d.cuh's gemm_fits: every staged tensor and GEMM extent in int32.
inline bool fits(const Conv2dShape& s) {
    if (!cd::valid(s) || !cd::gemm_fits(s)) return false;
    const Staged n = staged_counts(s);
    const int64_t taps = s.KH * s.KW;
    return cd::fits_int32(n.xs) && cd::fits_int32(n.dys) && cd::fits_int32(n.wf) && cd::fits_int32(n.wb) &&
           cd::fits_int32(taps * pad4(int(s.Cg()))) && cd::fits_int32(taps * pad4(int(s.Og()))) &&
           s.groups * pad4(int(s.Cg())) <= 65535 * 32 && s.groups * pad4(int(s.Og())) <= 65535 * 32;
}

// ----- split-K -------------------------------------------------------------------------------------
// Backward-weight's grid is small by nature (O/g x KH·KW·Cgp outputs, K = N·OH·OW deep: VGG conv3_2
// has 36 blocks), and the forward's and backward-data's can be (VGG conv5 at batch 32: 196 blocks for
// 264 places; Fashion-MNIST's conv3 at batch 128: 49). The plan picks S slices minimising a time model of one
// 132-SM H100/H200 running two blocks an SM:
//   time(S) = ceil(blocks·S / 264) · ceil(k_tiles / S) · t_tile · BM/128
//             + [S > 1] · ((2S + 1) · |C| · 4 bytes / 2.5 TB/s + 4 µs)
// with t_tile = 1.85 µs for a wave of 128 x 128 x 32 K-tiles, assumed (150 TFLOP/s) before any GPU
// run. bench_conv_pool_cuda's version-5 lab times every pass at every split it may take beside this
// model's prediction: on an H200 (gpu-h200-2026-11-27-conv-pool-run4.md) the unsplit GEMMs imply
// t_tile 1.5-2.6 µs (median 2.1; 10 µs for conv1_1's 3 channels), and the model's split was within
// 10 % of the sweep's best on 44 of 46 passes, so the constant stays. Shape-only, so
// the summation order, hence every bit, is the same on every GPU. Partials summed in slice order
// in double (conv2d.cuh's sum_slices kernels), at most 16 slices and 1 GiB of partials. Backward-
// weight may take up to 256 (its partials are small, and a grid of 1-5 blocks — VGG conv1_1 and
// conv1_2, Fashion-MNIST conv1 — needs about 264 / blocks slices to fill the GPU once).
struct SplitModel {
    static constexpr double kResidentBlocks = 264, kSecondsPerWaveTile = 1.85e-6, kBytesPerSecond = 2.5e12,
                            kSumLaunchSeconds = 4e-6;
    static constexpr int64_t kMaxSlices = 16, kMaxWeightSlices = 256, kMaxPartialBytes = int64_t(1) << 30;
};

/// A pass's GEMM as the split model sees it (per group: M rows, N columns, K deep; out_elements
/// floats of output, one partial of that size per slice).
struct GemmExtent {
    int64_t M, N, K, groups, out_elements, max_slices;
    int rows() const { return block_rows(M); }
    int64_t blocks() const { return ((N + kBN - 1) / kBN) * ((M + rows() - 1) / rows()) * groups; }
    int64_t k_tiles() const { return (K + kBK - 1) / kBK; }
};
inline GemmExtent forward_extent(const Conv2dShape& s) {
    return {s.Og(), s.N * s.OH * s.OW, s.KH * s.KW * pad4(int(s.Cg())), s.groups, s.N * s.O * s.OH * s.OW,
            SplitModel::kMaxSlices};
}
inline GemmExtent backward_data_extent(const Conv2dShape& s) {
    return {s.Cg(), s.N * s.H * s.W, s.KH * s.KW * pad4(int(s.Og())), s.groups, s.N * s.C * s.H * s.W,
            SplitModel::kMaxSlices};
}
inline GemmExtent backward_weight_extent(const Conv2dShape& s) {
    return {s.Og(), s.KH * s.KW * pad4(int(s.Cg())), s.N * s.OH * s.OW, s.groups, s.O * s.Cg() * s.KH * s.KW,
            SplitModel::kMaxWeightSlices};
}

/// The model's time, in seconds, of the GEMM in `slices` slices (summing included when split).
inline double predicted_seconds(const GemmExtent& e, int64_t slices) {
    using M = SplitModel;
    const double waves = std::ceil(double(e.blocks() * slices) / M::kResidentBlocks);
    const double depth = double((e.k_tiles() + slices - 1) / slices);
    double t = waves * depth * M::kSecondsPerWaveTile * e.rows() / 128.0;
    if (slices > 1)
        t += double(2 * slices + 1) * double(e.out_elements) * 4.0 / M::kBytesPerSecond + M::kSumLaunchSeconds;
    return t;
}

/// The most slices a GEMM may run in: none empty, the grid's z within 65535, the partials within
/// kMaxPartialBytes.
inline int64_t slice_limit(const GemmExtent& e) {
    int64_t limit = std::min<int64_t>({e.k_tiles(), e.max_slices, 65535 / e.groups});
    if (e.out_elements > 0) limit = std::min<int64_t>(limit, SplitModel::kMaxPartialBytes / (e.out_elements * 4));
    return std::max<int64_t>(limit, 1);
}

/// K (per group) cut into about `slices` slices of whole K-tiles, none empty (fewer when K is short).
inline cd::SlicePlan slices_of(int64_t K, int64_t slices) {
    const int64_t k_tiles = (K + kBK - 1) / kBK;
    if (k_tiles <= 1 || slices <= 1) return {1, int(k_tiles > 0 ? k_tiles * kBK : kBK)};
    const int64_t k_slice = (k_tiles + slices - 1) / slices * kBK;
    return {static_cast<int>((K + k_slice - 1) / k_slice), static_cast<int>(k_slice)};
}

/// A GEMM's split: the model's fastest (the first of equals), or `requested` slices (clamped to
/// slice_limit) when requested > 0 — for benchmarks that sweep the split (bench_conv_pool_cuda's
/// version-5 lab) and for tests.
inline cd::SlicePlan gemm_slices(const GemmExtent& e, int requested = 0) {
    if (e.blocks() <= 0 || e.k_tiles() <= 1) return slices_of(e.K, 1);
    const int64_t limit = slice_limit(e);
    if (requested > 0) return slices_of(e.K, std::min<int64_t>(requested, limit));
    int64_t best = 1;
    double best_time = predicted_seconds(e, 1);
    for (int64_t slices = 2; slices <= limit; ++slices) {
        const double t = predicted_seconds(e, slices);
        if (t < best_time * (1.0 - 1e-9)) best = slices, best_time = t;
    }
    return slices_of(e.K, best);
}

// Each pass's plan; requested > 0 forces about that many slices (see gemm_slices).
inline cd::SlicePlan forward_slices(const Conv2dShape& s, int requested = 0) {
    return gemm_slices(forward_extent(s), requested);
}
inline cd::SlicePlan backward_data_slices(const Conv2dShape& s, int requested = 0) {
    return gemm_slices(backward_data_extent(s), requested);
}
inline cd::SlicePlan backward_weight_slices(const Conv2dShape& s, int requested = 0) {
    return gemm_slices(backward_weight_extent(s), requested);
}

/// A pass's workspace: its two staged tensors, then the partials of its split (each region
/// 256-byte aligned). One description for the byte count the caller allocates and the pointers the
/// pass takes from it.
struct WorkspaceLayout {
    cd::SlicePlan plan;
    size_t second = 0;   // offset of the second staged tensor (the first is at 0)
    size_t partial = 0;  // offset of the partials
    size_t bytes = 0;    // the whole workspace
};
inline WorkspaceLayout layout_of(int64_t first_floats, int64_t second_floats, const cd::SlicePlan& plan,
                                 int64_t out_elements) {
    WorkspaceLayout l;
    l.plan = plan;
    l.second = region_bytes(first_floats);
    l.partial = l.second + region_bytes(second_floats);
    l.bytes = l.partial + (plan.slices > 1 ? region_bytes(int64_t(plan.slices) * out_elements) : 0);
    return l;
}
inline WorkspaceLayout forward_layout(const Conv2dShape& s, int requested = 0) {  // xs, wf, partial y
    const Staged n = staged_counts(s);
    return layout_of(n.xs, n.wf, forward_slices(s, requested), s.N * s.O * s.OH * s.OW);
}
inline WorkspaceLayout backward_data_layout(const Conv2dShape& s, int requested = 0) {  // dys, wb, partial dx
    const Staged n = staged_counts(s);
    return layout_of(n.dys, n.wb, backward_data_slices(s, requested), s.N * s.C * s.H * s.W);
}
inline WorkspaceLayout backward_weight_layout(const Conv2dShape& s, int requested = 0) {  // xs, dys, partial dw
    const Staged n = staged_counts(s);
    return layout_of(n.xs, n.dys, backward_weight_slices(s, requested), s.O * s.Cg() * s.KH * s.KW);
}
inline size_t forward_workspace_bytes(const Conv2dShape& s, int requested = 0) {
    return fits(s) ? forward_layout(s, requested).bytes : 0;
}
inline size_t backward_data_workspace_bytes(const Conv2dShape& s, int requested = 0) {
    return fits(s) ? backward_data_layout(s, requested).bytes : 0;
}
inline size_t backward_weight_workspace_bytes(const Conv2dShape& s, int requested = 0) {
    return fits(s) ? backward_weight_layout(s, requested).bytes : 0;
}

inline ActivationStaging activation_staging(const float* src, float* dst, int64_t N, int64_t Ch, int64_t P, int64_t G) {
    return {src, dst, int(N), int(Ch), int(P), int(G), int(Ch / G), pad4(int(Ch / G))};
}

inline cudaError_t stage_activations(const ActivationStaging& st, cudaStream_t stream) {
    if (st.N == 0 || st.P == 0 || st.staged_channels() == 0) return cudaSuccess;
    const dim3 grid(static_cast<unsigned>((st.P + 31) / 32), static_cast<unsigned>((st.staged_channels() + 31) / 32),
                    static_cast<unsigned>(st.N < 65535 ? st.N : 65535));
    stage_activations_kernel<<<grid, dim3(32, 8), 0, stream>>>(st);
    return cudaGetLastError();
}

inline unsigned staging_blocks(int64_t count) {
    const int64_t blocks = (count + 255) / 256;
    return static_cast<unsigned>(blocks < 65535 * 8 ? (blocks > 0 ? blocks : 1) : 65535 * 8);
}

/// A GEMM kernel's checks (TF32 tensor cores, code for sm_80+) and shared-memory attributes (96 KiB
/// of dynamic shared memory needs the opt-in; the carveout asks for the configuration where two
/// blocks fit), done once per kernel and device: five driver calls a launch would cost microseconds
/// that a 20-µs Fashion-MNIST layer notices. Bit d of `ready` records device d (devices past 63
/// are set up at every launch). A cudaDeviceReset between launches is not supported.
template <int BM, class Source, class Store>
inline cudaError_t set_up_kernel() {
    static std::atomic<uint64_t> ready{0};
    int device = 0;
    cudaError_t status = cudaGetDevice(&device);
    if (status != cudaSuccess) return status;
    const bool tracked = device >= 0 && device < 64;
    if (tracked && ((ready.load(std::memory_order_acquire) >> device) & 1u)) return cudaSuccess;
    auto* kernel = tf32_nhwc_kernel<BM, Source, Store>;
    status = conv2d_tf32_mma::tf32_kernel_usable(kernel);
    if (status == cudaSuccess)
        status = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Source::Cfg::SMEM_BYTES));
    if (status == cudaSuccess)
        status = cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared);
    if (status == cudaSuccess && tracked) ready.fetch_or(uint64_t(1) << device, std::memory_order_acq_rel);
    return status;
}

template <int BM, class Source, class Store>
inline cudaError_t launch(const Source& s, const Store& st, int groups, int slices, int k_slice, cudaStream_t stream) {
    using Cfg = typename Source::Cfg;
    const int64_t grid_n = (int64_t(s.N) + kBN - 1) / kBN, grid_m = (int64_t(s.M) + BM - 1) / BM;
    if (grid_n == 0 || grid_m == 0) return cudaSuccess;
    if (grid_m > 65535 || int64_t(groups) * slices > 65535) return cudaErrorInvalidConfiguration;
    const cudaError_t status = set_up_kernel<BM, Source, Store>();
    if (status != cudaSuccess) return status;
    auto* kernel = tf32_nhwc_kernel<BM, Source, Store>;
    const dim3 grid(static_cast<unsigned>(grid_n), static_cast<unsigned>(grid_m), static_cast<unsigned>(groups * slices));
    kernel<<<grid, kThreads, Cfg::SMEM_BYTES, stream>>>(s, st, slices, k_slice);
    return cudaGetLastError();
}

/// The GEMM kernel at the block height M calls for: Source<128> or Source<64>, built from the same
/// fields (the sources are aggregates whose fields do not depend on the height).
template <template <int> class Source, class Store, class... Fields>
inline cudaError_t launch_gemm(int M, const Store& st, int groups, const cd::SlicePlan& plan, cudaStream_t stream,
                               Fields... fields) {
    if (block_rows(M) == 128) return launch<128>(Source<128>{fields...}, st, groups, plan.slices, plan.k_slice, stream);
    return launch<64>(Source<64>{fields...}, st, groups, plan.slices, plan.k_slice, stream);
}

inline Dims dims_of(const Conv2dShape& s) {
    Dims d;
    static_cast<cd::Dims&>(d) = cd::dims_of(s);
    d.groups_staged = int(s.groups);
    d.kw_div = FastDivisor(d.KW);
    d.out_pixels_div = FastDivisor(d.out_pixels > 0 ? d.out_pixels : 1);
    d.ow_div = FastDivisor(d.OW > 0 ? d.OW : 1);
    return d;
}

inline float* region(void* workspace, size_t offset) {
    return reinterpret_cast<float*>(static_cast<char*>(workspace) + offset);
}

// ----- the three passes (conv2d_tf32.cuh's launchers call these after their checks) -----------------
// Each pass is its staging (stage_*: the transform kernels into the workspace) then its GEMM
// (*_gemm: the kernel above, then the summing kernel when split), both on the same layout. The
// parts are public so that a benchmark can time them apart (bench_conv_pool_cuda's version-5 lab);
// a caller that runs both passes of a backward can stage dy once. The parts check nothing: the
// caller has checked fits(s) and sized the workspace for the layout, as the passes below do.
// slices_request > 0 forces about that many K slices (gemm_slices); the workspace must then be
// sized with the same request.

inline cudaError_t stage_forward(const float* x, const float* w, const Conv2dShape& s, const WorkspaceLayout& l,
                                 void* workspace, cudaStream_t stream) {
    const int64_t wf_count = staged_counts(s).wf;
    cudaError_t status = stage_activations(activation_staging(x, region(workspace, 0), s.N, s.C, s.H * s.W, s.groups), stream);
    if (status != cudaSuccess) return status;
    stage_forward_weights_kernel<float><<<staging_blocks(wf_count), 256, 0, stream>>>(
        w, region(workspace, l.second), wf_count, int(s.Cg()), int(s.KH * s.KW), pad4(int(s.Cg())));
    return cudaGetLastError();
}

/// The forward GEMM on a staged workspace: its store, its source's fields and, when split, the
/// summing kernel. gemm(M, store, groups, plan, stream, source fields...) launches the GEMM kernel:
/// this file's (forward_gemm below) or version 6's (conv2d_tf32_wgmma.cuh), which share the rest.
template <class LaunchGemm>
inline cudaError_t forward_gemm_with(LaunchGemm&& gemm, const float* bias, float* y, const Conv2dShape& s,
                                     const WorkspaceLayout& l, void* workspace, cudaStream_t stream) {
    const float *xs = region(workspace, 0), *wf = region(workspace, l.second);
    float* partial = region(workspace, l.partial);
    const int Cgp = pad4(int(s.Cg()));
    const Dims d = dims_of(s);
    const int M = int(s.Og()), N = int(s.N * s.OH * s.OW), K = int(s.KH * s.KW) * Cgp;
    const cd::SlicePlan& plan = l.plan;
    const bool split = plan.slices > 1;
    const ForwardStore store{split ? partial : y, split ? nullptr : bias, d, M, N, s.N * s.O * s.OH * s.OW};
    const cudaError_t status = gemm(M, store, int(s.groups), plan, stream, xs, wf, d, M, N, K, FastDivisor(Cgp));
    if (status != cudaSuccess || !split) return status;
    return cd::sum_forward_slices<float>(partial, bias, y, s, plan.slices, stream);
}

inline cudaError_t forward_gemm(const float* bias, float* y, const Conv2dShape& s, const WorkspaceLayout& l,
                                void* workspace, cudaStream_t stream) {
    return forward_gemm_with([](int M, const auto& store, int groups, const cd::SlicePlan& plan, cudaStream_t st,
                                auto... fields) { return launch_gemm<ForwardSource>(M, store, groups, plan, st, fields...); },
                             bias, y, s, l, workspace, stream);
}

/// y [N, O, OH, OW] overwritten; bias may be null. workspace: forward_workspace_bytes(s, slices_request) bytes.
inline cudaError_t forward(const float* x, const float* w, const float* bias, float* y, const Conv2dShape& s,
                           void* workspace, size_t workspace_bytes, cudaStream_t stream, int slices_request = 0) {
    if (!fits(s)) return cudaErrorInvalidValue;
    if (s.N * s.O * s.OH * s.OW == 0) return cudaSuccess;
    const WorkspaceLayout l = forward_layout(s, slices_request);
    if (!workspace || workspace_bytes < l.bytes) return cudaErrorInvalidValue;
    const cudaError_t status = stage_forward(x, w, s, l, workspace, stream);
    return status != cudaSuccess ? status : forward_gemm(bias, y, s, l, workspace, stream);
}

inline cudaError_t stage_backward_data(const float* w, const float* dy, const Conv2dShape& s, const WorkspaceLayout& l,
                                       void* workspace, cudaStream_t stream) {
    const int64_t wb_count = staged_counts(s).wb;
    cudaError_t status =
        stage_activations(activation_staging(dy, region(workspace, 0), s.N, s.O, s.OH * s.OW, s.groups), stream);
    if (status != cudaSuccess) return status;
    stage_backward_data_weights_kernel<float><<<staging_blocks(wb_count), 256, 0, stream>>>(
        w, region(workspace, l.second), wb_count, int(s.Og()), int(s.Cg()), int(s.KH * s.KW), pad4(int(s.Og())));
    return cudaGetLastError();
}

/// Backward-data's GEMM on a staged workspace (as forward_gemm_with).
template <class LaunchGemm>
inline cudaError_t backward_data_gemm_with(LaunchGemm&& gemm, float* dx, const Conv2dShape& s, const WorkspaceLayout& l,
                                           void* workspace, cudaStream_t stream) {
    const float *dys = region(workspace, 0), *wb = region(workspace, l.second);
    float* partial = region(workspace, l.partial);
    const int64_t count = s.N * s.C * s.H * s.W;
    const int Ogp = pad4(int(s.Og()));
    const Dims d = dims_of(s);
    const int M = int(s.Cg()), N = int(s.N * s.H * s.W), K = int(s.KH * s.KW) * Ogp;
    const cd::SlicePlan& plan = l.plan;
    const bool split = plan.slices > 1;
    const BackwardDataStore store{split ? partial : dx, d, M, N, count};
    const cudaError_t status = gemm(M, store, int(s.groups), plan, stream, dys, wb, d, M, N, K, FastDivisor(Ogp));
    if (status != cudaSuccess || !split) return status;
    return cd::sum_slices<float>(partial, dx, count, plan.slices, stream);
}

inline cudaError_t backward_data_gemm(float* dx, const Conv2dShape& s, const WorkspaceLayout& l, void* workspace,
                                      cudaStream_t stream) {
    return backward_data_gemm_with(
        [](int M, const auto& store, int groups, const cd::SlicePlan& plan, cudaStream_t st, auto... fields) {
            return launch_gemm<BackwardDataSource>(M, store, groups, plan, st, fields...);
        },
        dx, s, l, workspace, stream);
}

/// dx [N, C, H, W] overwritten. workspace: backward_data_workspace_bytes(s, slices_request) bytes.
inline cudaError_t backward_data(const float* w, const float* dy, float* dx, const Conv2dShape& s, void* workspace,
                                 size_t workspace_bytes, cudaStream_t stream, int slices_request = 0) {
    if (!fits(s)) return cudaErrorInvalidValue;
    if (s.N * s.C * s.H * s.W == 0) return cudaSuccess;
    const WorkspaceLayout l = backward_data_layout(s, slices_request);
    if (!workspace || workspace_bytes < l.bytes) return cudaErrorInvalidValue;
    const cudaError_t status = stage_backward_data(w, dy, s, l, workspace, stream);
    return status != cudaSuccess ? status : backward_data_gemm(dx, s, l, workspace, stream);
}

inline cudaError_t stage_backward_weight(const float* x, const float* dy, const Conv2dShape& s, const WorkspaceLayout& l,
                                         void* workspace, cudaStream_t stream) {
    const cudaError_t status =
        stage_activations(activation_staging(x, region(workspace, 0), s.N, s.C, s.H * s.W, s.groups), stream);
    if (status != cudaSuccess) return status;
    return stage_activations(activation_staging(dy, region(workspace, l.second), s.N, s.O, s.OH * s.OW, s.groups), stream);
}

inline cudaError_t backward_weight_gemm(float* dw, const Conv2dShape& s, const WorkspaceLayout& l, void* workspace,
                                        cudaStream_t stream) {
    const float *xs = region(workspace, 0), *dys = region(workspace, l.second);
    float* partial = region(workspace, l.partial);
    const int64_t total = s.O * s.Cg() * s.KH * s.KW;
    const cd::SlicePlan& plan = l.plan;
    const bool split = plan.slices > 1;
    const Dims d = dims_of(s);
    const int Cgp = pad4(int(s.Cg())), Ogp = pad4(int(s.Og()));
    const int M = int(s.Og()), N = int(s.KH * s.KW) * Cgp, K = int(s.N * s.OH * s.OW);
    const BackwardWeightStore store{split ? partial : dw, d, M, N, Cgp};
    const cudaError_t status =
        launch_gemm<BackwardWeightSource>(M, store, int(s.groups), plan, stream, xs, dys, d, M, N, K, Cgp, Ogp);
    if (status != cudaSuccess || !split) return status;
    return cd::sum_slices<float>(partial, dw, total, plan.slices, stream);
}

/// dw [O, C/g, KH, KW] overwritten (zeros for an empty batch). workspace:
/// backward_weight_workspace_bytes(s, slices_request).
inline cudaError_t backward_weight(const float* x, const float* dy, float* dw, const Conv2dShape& s, void* workspace,
                                   size_t workspace_bytes, cudaStream_t stream, int slices_request = 0) {
    if (!fits(s)) return cudaErrorInvalidValue;
    const int64_t total = s.O * s.Cg() * s.KH * s.KW;
    if (total == 0) return cudaSuccess;
    if (s.N * s.OH * s.OW == 0) return cudaMemsetAsync(dw, 0, size_t(total) * sizeof(float), stream);
    const WorkspaceLayout l = backward_weight_layout(s, slices_request);
    if (!workspace || workspace_bytes < l.bytes) return cudaErrorInvalidValue;
    const cudaError_t status = stage_backward_weight(x, dy, s, l, workspace, stream);
    return status != cudaSuccess ? status : backward_weight_gemm(dw, s, l, workspace, stream);
}

}  // namespace seam::kernels::conv2d_tf32_nhwc

#endif  // defined(__CUDACC__)
