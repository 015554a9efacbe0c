// kernels/seam/conv2d_tf32_wgmma.cuh — version 6 of the TF32 convolution (kernels/seam/conv2d_tf32.cuh
// holds the launchers): version 5's forward and backward-data (kernels/seam/conv2d_tf32_nhwc.cuh:
// operands staged channels-last and TF32-rounded, 16-byte cp.async gathers, split-K plan) with the
// GEMM on Hopper's warpgroup MMA, wgmma.mma_async, which reads both operands straight from shared
// memory; and a backward-weight of its own: its operands staged with the GEMM's K (the output
// pixel) innermost, since wgmma takes TF32 only K-major (section "backward-weight" below), into
// the same GEMM kernel. Raw device pointers and conv2d.cuh's Conv2dShape; compiles only under nvcc.
//
// Why a version 6: mma.sync (versions 4 and 5) is Hopper's legacy tensor-core path. Published
// measurements put its ceiling near 63-65% of the H100's tensor peak, and an Ampere-style TF32
// mma.sync GEMM at about 95 TFLOP/s (19% of peak) on an H100 (../shared/ref/perf-anchors.md,
// B.2), while cuDNN's TF32 ALGO_1 ran backward-data at 185-242 TFLOP/s on the H200
// (bench/results/gpu-h200-2026-11-27-conv-pool-run3.md). The issue's floor (at most 2x cuDNN's
// time) needs about 120 TFLOP/s with staging included: version 5 might reach it, version 6 is the
// second shot, and wgmma is the instruction Hopper's own libraries use.
//
// What it computes: exactly version 5's GEMMs (the same products of TF32 values, fp32 sums on the
// tensor cores in another order; split-K partials summed in slice order in double):
//   forward          Y[o, q]  = Σ_k Ŵf[o, k] · X̂[q, k]      q = (n, oh, ow), k = (ki, kj, c)
//   backward-data    dX[c, p] = Σ_k Ŵb[c, k] · dŶ[p, k]     p = (n, h, w),   k = (ki, kj, o)
//   backward-weight  dW[o, (ki, kj, c)] = Σ_q dY[o, q] · X̂[(ki, kj, c), q]   q = (n, oh, ow')
// Forward and backward-data: version 5's layouts, staging, gathers, stores, workspaces and split
// plans, unchanged. Backward-weight: its own staging and workspace (below), version 5's split model.
//
// Launch shape. 256 threads = 2 warpgroups; block tile BM x 128 x 32 (BM = 128, or 64 when the GEMM's
// M is at most 64); grid (⌈N/128⌉, ⌈M/BM⌉, groups·slices), as version 5's. Each K-tile of 32 is one
// [rows][32] fp32 tile per operand in wgmma's canonical K-major layout with the 128-byte swizzle
// (row r's 16-byte chunk c at r·128 + 16·(c XOR r mod 8) bytes from a 1024-byte-aligned base: the
// atom of 8 rows x 128 bytes, atoms 1024 bytes apart). Per K-tile each warpgroup issues 4 wgmma
// (k-steps of 8, the descriptors' start 32 bytes further each):
//   BM = 128: warpgroup w multiplies A rows 64w..64w+63 by all 128 B rows (m64n128k8, 64 fp32
//             accumulators a thread);
//   BM = 64:  both take A rows 0..63, warpgroup w B rows 64w..64w+63 (m64n64k8, 32 accumulators).
// The copies (version 5's KMajorSource with this tile and 256 threads: thread tid copies chunk
// tid mod 8 of rows tid/8 + 32i, 8 lanes a row, so each 8-lane phase writes one row's 8 chunks: 32
// distinct banks) run 3 stages deep: 3 x (BM + 128) x 32 floats = 96 KiB (BM = 128) plus 1 KiB to
// align the base, two blocks an SM (__launch_bounds__(256, 2): at most 128 registers a thread).
// Pipeline per K-tile t: wait for tile t's copies (cp.async.wait_group), fence.proxy.async (the
// copies wrote through the generic proxy; wgmma reads through the async proxy), barrier, issue the
// copies of tile t + 2 into the stage tile t - 1 used, then wgmma.fence, 4 wgmma, commit, and
// wait_group 0: the MMAs of tile t are done before the next barrier lets anyone overwrite their
// stage. (Keeping one wgmma group in flight across the barrier would need a fourth stage: a
// measured next step, not taken blind.)
//
// Accumulators (m64nNk8 .f32, CuTe's CLayout_64xN): value v of thread t of a warpgroup holds
// D[16·(t/32) + (t mod 32)/4 + 8·((v/2) mod 2)][8·(v/4) + 2·(t mod 4) + v mod 2].
//
// Descriptors (PTX ISA "Matrix Descriptor Format"; CUTLASS's cute::GmmaDescriptor): bits 0-13 the
// start address / 16; 16-29 the leading byte offset / 16 (unused by swizzled K-major layouts, set
// to 1 as CUTLASS does); 32-45 the stride byte offset / 16 = 1024 / 16 (8-row atoms); 49-51 the
// base offset, 0 (1024-byte-aligned tiles); 62-63 the layout, 1 = 128-byte swizzle.
//
// Architectures: the kernel body exists only in code compiled for sm_90a (the arch-specific target
// wgmma needs: -gencode arch=compute_90a,code=sm_90a, SEAM_CUDA_ARCHITECTURES "90a"; elsewhere it is
// a trap). Whether the running program has that code is asked once per device by launching a
// probe kernel compiled beside it (available() below); without it the launchers return
// cudaErrorNotSupported and launch nothing.
//
// Checked on the CPU by tests/cuda/test_tf32_wgmma_kernel_logic.cu: every launch of both block
// heights replayed block by block (the kernel's copies into a NaN-filled stage at the swizzled
// offsets; each wgmma's operands read back through an independent model of the descriptor and the
// hardware's address swizzle; the product given out by the accumulator layout above; the kernel's
// epilogue) against naive loops. What the CPU cannot check: that the hardware reads the descriptors
// as modelled, the proxy fence and wait order, and speed.
//
// Measured (bench_conv_pool_cuda, NVIDIA H200, 2026-11-27; bench/results/gpu-h200-2026-11-27-conv-pool-run4.md
// and later runs): forward 86-191 TFLOP/s on VGG-16's conv1_2..conv5_3 at batch 32 (0.13-0.26x
// cuDNN's TF32 IMPLICIT_GEMM time), backward-data 75-167 TFLOP/s (1.45-1.93x cuDNN's TF32 ALGO_1),
// staging included. Two backward-weights came before this one: version 5's (mma.sync on M/N-major
// tiles: 52-85 TFLOP/s, up to 2.2x ALGO_1) and a wgmma kernel that transposed version 5's staged
// tiles through registers on their way into shared memory (52-67 TFLOP/s, up to 2.7x: each warp's
// loads touched 8 rows of the staged tensor, and its L1 ran 92% busy — removed). This file's answer
// stages the operands K-major instead, so the pass runs the forward's kernel: 80-119 TFLOP/s on
// conv3_1..conv5_3, 1.14-1.70x ALGO_1 (bench/results/gpu-h200-2026-11-27-conv-pool-run6.md), but
// slower than version 5's below 256 output channels a group (its staging writes KW floats per input
// element), where version 5's kernel now runs (kKMajorWeightGradMinOg below). With that choice the
// same run's figures give every VGG-16 and Fashion-MNIST pass within 1.83x cuDNN's TF32 GEMM time
// (the worst: conv4_2 backward-data) — the issue's floor (2x) — but the choice itself was made after
// the run: the next GPU check times it as one.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "seam/conv2d.cuh"
#include "seam/conv2d_tf32_mma.cuh"
#include "seam/conv2d_tf32_nhwc.cuh"

namespace seam::kernels::conv2d_tf32_wgmma {

namespace v5 = conv2d_tf32_nhwc;
namespace cd = conv2d_detail;

constexpr int kThreads = 256;           // two warpgroups of 128
constexpr int kWarpgroupThreads = 128;
constexpr int kBN = v5::kBN;            // 128 block tile columns
constexpr int kBK = v5::kBK;            // 32 floats = one 128-byte swizzle row per tile row
constexpr int kStages = 3;
constexpr int kAtomBytes = 1024;        // 8 rows x 128 bytes: the swizzle's period and the stride byte offset
static_assert(kBK * sizeof(float) == 128, "a tile row is one 128-byte swizzle row");

/// wgmma's K-major layout with the 128-byte swizzle, in floats: tile row r, k < 32.
struct Sw128KMajor {
    __host__ __device__ static int offset(int row, int k) { return row * kBK + (((k >> 2) ^ (row & 7)) << 2) + (k & 3); }
};

/// The block tile: stage layout, which rows each warpgroup's wgmma reads, where accumulators go.
template <int BM>
struct Tile {
    static_assert(BM == 64 || BM == 128, "block tile rows: 64 or 128");
    static constexpr int A_FLOATS = BM * kBK, B_FLOATS = kBN * kBK, STAGE_FLOATS = A_FLOATS + B_FLOATS;
    static_assert((A_FLOATS * sizeof(float)) % kAtomBytes == 0 && (STAGE_FLOATS * sizeof(float)) % kAtomBytes == 0,
                  "every operand tile starts on a swizzle atom");
    static constexpr size_t SMEM_BYTES = size_t(kStages) * STAGE_FLOATS * sizeof(float) + kAtomBytes;  // + alignment slack
    static constexpr int WG_N = BM == 128 ? kBN : kBN / 2;  // the wgmma's N
    static constexpr int ACC = WG_N / 2;                     // fp32 accumulators a thread: 64 x WG_N / 128

    __host__ __device__ static int a_offset(int m, int k) { return Sw128KMajor::offset(m, k); }
    __host__ __device__ static int b_offset(int n, int k) { return Sw128KMajor::offset(n, k); }
    __host__ __device__ static int a_first_row(int wg) { return BM == 128 ? 64 * wg : 0; }
    __host__ __device__ static int b_first_row(int wg) { return BM == 128 ? 0 : WG_N * wg; }
    /// Byte offsets, within a stage, of the first element warpgroup wg's k-step ks reads (the
    /// descriptors' unswizzled start: the rows are multiples of 8, so their chunk 2·ks is unmoved).
    __host__ __device__ static uint32_t a_start_bytes(int wg, int ks) {
        return uint32_t(sizeof(float)) * uint32_t(a_first_row(wg) * kBK + 8 * ks);
    }
    __host__ __device__ static uint32_t b_start_bytes(int wg, int ks) {
        return uint32_t(sizeof(float)) * uint32_t(A_FLOATS + b_first_row(wg) * kBK + 8 * ks);
    }
    /// The block-tile row and column of accumulator v of thread t (0..127) of warpgroup wg.
    __host__ __device__ static int c_row(int wg, int t, int v) {
        return a_first_row(wg) + 16 * (t / 32) + (t % 32) / 4 + 8 * ((v >> 1) & 1);
    }
    __host__ __device__ static int c_col(int wg, int t, int v) { return b_first_row(wg) + 8 * (v >> 2) + 2 * (t % 4) + (v & 1); }
};

/// A shared-memory matrix descriptor for a K-major operand with the 128-byte swizzle whose first
/// element (unswizzled) is at shared address `address` (16-byte aligned, its atom 1024-aligned).
__host__ __device__ inline uint64_t sw128_descriptor(uint32_t address) {
    return uint64_t((address & 0x3FFFFu) >> 4)          // bits 0-13: start address / 16
           | (uint64_t(1) << 16)                        // bits 16-29: leading byte offset (unused here)
           | (uint64_t(kAtomBytes >> 4) << 32)          // bits 32-45: stride byte offset / 16
           | (uint64_t(1) << 62);                       // bits 62-63: 1 = 128-byte swizzle
}

template <int BM>
using ForwardSource = v5::KMajorSource<BM, v5::ForwardGather, Tile<BM>, kThreads>;
template <int BM>
using BackwardDataSource = v5::KMajorSource<BM, v5::BackwardDataGather, Tile<BM>, kThreads>;

// ----- backward-weight: its own staging, so that both operands are K-major ------------------------
// dW[o, (tap, c)] = Σ_q dY[o, q] · X̂[(tap, c), q], K = q = (n, oh, ow'). Version 5's staged tensors
// hold q as their outer index (M/N-major), and wgmma takes TF32 only K-major, so version 6 stages
// this pass's operands with q innermost instead (TF32-rounded, memory-bound element-wise kernels):
//   dyk [O][N][OH][OWp]            dyk[o, n, oh, ow'] = dy[n, o, oh, ow'] (0 for ow' >= OW)
//   xk  [KW][C][N][H][OWp]         xk[kj, c, n, ih, ow'] = x[n, c, ih, ow'·sw - pw + kj·dw] (0 outside
//                                  the image or for ow' >= OW)
// OWp = OW rounded up to a multiple of 4 and K = N·OH·OWp (the pad columns are zeros in both, so
// they add nothing): then the 4 q of a 16-byte chunk are 4 consecutive ow' of one output row, and
//   A chunk (row o, q):           dyk + (g·Og + o)·K + q
//   B chunk (row (ki, kj, c), q): xk + (((kj·C + g·Cg + c)·N + n)·H + ih)·OWp + ow',
//                                 ih = oh·sh - ph + ki·dh (none outside 0..H-1)
// are aligned and contiguous: 16-byte cp.async like the other passes, into the same kernel. B's
// rows are (tap, c) with c < Cg (no channel pad): C's columns n = tap·Cg + c, and version 5's
// BackwardWeightStore with Cgp = Cg stores them. xk is KW times x's size, the price of aligned
// chunks (VGG conv3_2 at batch 32: 308 MB); the path runs from 256 output channels a group only
// (kKMajorWeightGradMinOg, below), where that staging measured cheaper than version 5's GEMM.

/// The staging's sizes and divisors (every staged index < 2^31: weight_grad_fits).
struct WeightGradStaging {
    int N, C, H, W, O, OH, OW, OWp, KW, sw, pw, dw;
    v5::FastDivisor owp, h, oh, n, c;  // by OWp, H, OH, N, C
    __host__ __device__ int64_t dyk_count() const { return int64_t(O) * N * OH * OWp; }
    __host__ __device__ int64_t xk_count() const { return int64_t(KW) * C * N * H * OWp; }
};
inline WeightGradStaging weight_grad_staging(const Conv2dShape& s) {
    WeightGradStaging st;
    st.N = int(s.N), st.C = int(s.C), st.H = int(s.H), st.W = int(s.W), st.O = int(s.O), st.OH = int(s.OH), st.OW = int(s.OW);
    st.OWp = v5::pad4(st.OW), st.KW = int(s.KW), st.sw = int(s.sw), st.pw = int(s.pw), st.dw = int(s.dw);
    st.owp = v5::FastDivisor(st.OWp > 0 ? st.OWp : 1), st.h = v5::FastDivisor(st.H), st.oh = v5::FastDivisor(st.OH > 0 ? st.OH : 1);
    st.n = v5::FastDivisor(st.N > 0 ? st.N : 1), st.c = v5::FastDivisor(st.C > 0 ? st.C : 1);
    return st;
}
/// Staged element i of dyk.
__host__ __device__ inline float weight_grad_dy_at(const float* dy, int i, const WeightGradStaging& st) {
    const int row = st.owp.div(i), ow = i - row * st.OWp;  // row = (o, n, oh)
    const int r2 = st.oh.div(row), oh = row - r2 * st.OH, o = st.n.div(r2), n = r2 - o * st.N;
    return ow < st.OW ? v5::round_to_tf32(dy[((int64_t(n) * st.O + o) * st.OH + oh) * st.OW + ow]) : 0.0f;
}
/// Staged element i of xk.
__host__ __device__ inline float weight_grad_x_at(const float* x, int i, const WeightGradStaging& st) {
    const int row = st.owp.div(i), ow = i - row * st.OWp;  // row = (kj, c, n, ih)
    const int r2 = st.h.div(row), ih = row - r2 * st.H, r3 = st.n.div(r2), n = r2 - r3 * st.N;
    const int kj = st.c.div(r3), c = r3 - kj * st.C, iw = ow * st.sw - st.pw + kj * st.dw;
    return ow < st.OW && unsigned(iw) < unsigned(st.W) ? v5::round_to_tf32(x[((int64_t(n) * st.C + c) * st.H + ih) * st.W + iw])
                                                       : 0.0f;
}

/// Backward-weight's source for tf32_wgmma_kernel. Copies as KMajorSource's with 256 threads:
/// thread tid copies chunk tid mod 8 (q = k0 + 4·(tid mod 8)) of rows tid/8 + 32i, so a K-tile's
/// (n, oh, ow') is found once per thread (two divisions), and each 8-lane phase writes one row's 8
/// chunks (32 distinct banks).
template <int BM>
struct BackwardWeightSource {
    using Cfg = Tile<BM>;
    static constexpr int ROW_STEP = kThreads / 8, A_ROWS = BM / ROW_STEP, B_ROWS = kBN / ROW_STEP;
    const float* xk;
    const float* dyk;
    v5::Dims d;
    int M, N, K;             // Og, taps·Cg, N·OH·OWp
    int batch;               // N
    v5::FastDivisor owp, oh; // by OWp (owp.d), OH

    // Offsets in int32 (every staged index is below 2^31: weight_grad_fits), to keep the registers
    // the copies hold through the K loop down.
    struct Copies {
        int tid;
        int a_first;             // dyk offset of row g·Og + m0 + tid/8 (row g·Og when past M)
        unsigned a_rows;         // bit i: row m0 + tid/8 + ROW_STEP·i < M
        unsigned b_rows;         // bit i: column n0 + tid/8 + ROW_STEP·i < N
        int b_first[B_ROWS];     // xk offset of (kj, g·Cg + c, image 0, row 0) of that column
        int hoff[B_ROWS];        // ki·dh - ph
    };
    __host__ __device__ Copies copies(int tid, int g, int m0, int n0) const {
        Copies c;
        c.tid = tid;
        const int first = m0 + tid / 8;
        c.a_first = (g * M + (first < M ? first : 0)) * K;
        c.a_rows = c.b_rows = 0;
        for (int i = 0; i < A_ROWS; ++i)
            if (first + ROW_STEP * i < M) c.a_rows |= 1u << i;
        for (int i = 0; i < B_ROWS; ++i) {
            const int n = n0 + tid / 8 + ROW_STEP * i;
            const bool valid = n < N;
            if (valid) c.b_rows |= 1u << i;
            const int nn = valid ? n : 0, tap = nn / d.Cg, ch = nn - tap * d.Cg, ki = tap / d.KW, kj = tap - ki * d.KW;
            c.b_first[i] = ((kj * d.C + g * d.Cg + ch) * batch) * d.H * owp.d;
            c.hoff[i] = ki * d.dh - d.ph;
        }
        return c;
    }
#pragma nv_exec_check_disable
    template <class Copy>
    __host__ __device__ void load(const Copies& c, int /*g*/, int k0, int k_end, Copy&& copy) const {
        const int kc = (c.tid % 8) * v5::kChunk, q = k0 + kc;
        const bool q_valid = q < k_end;
        const int row = owp.div(q_valid ? q : 0), ow = (q_valid ? q : 0) - row * owp.d;  // row = (n, oh)
        const int img = oh.div(row), out_row = row - img * d.OH;
SEAM_CONV_UNROLL
        for (int i = 0; i < A_ROWS; ++i) {
            const bool valid = q_valid && ((c.a_rows >> i) & 1u);
            copy(Cfg::a_offset(c.tid / 8 + ROW_STEP * i, kc), valid ? dyk + (c.a_first + ROW_STEP * i * K + q) : dyk, valid);
        }
SEAM_CONV_UNROLL
        for (int i = 0; i < B_ROWS; ++i) {
            const int ih = out_row * d.sh + c.hoff[i];
            const bool valid = q_valid && ((c.b_rows >> i) & 1u) && unsigned(ih) < unsigned(d.H);
            copy(Cfg::A_FLOATS + Cfg::b_offset(c.tid / 8 + ROW_STEP * i, kc),
                 valid ? xk + (c.b_first[i] + (img * d.H + ih) * owp.d + ow) : xk, valid);
        }
    }
};

// ----- the device side --------------------------------------------------------------------------

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ inline void fence_proxy_async_shared() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
__device__ inline void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ inline void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ inline void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
/// Pins the accumulators after wgmma_wait_all: an empty asm that "changes" each, so the compiler
/// cannot move a read of one above the wait (CUTLASS's warpgroup_fence_operand).
template <int N>
__device__ inline void fence_accumulators(float (&d)[N]) {
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
__device__ inline void wgmma_m64n64k8(float (&d)[32], uint64_t a_desc, uint64_t b_desc) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 {"
        "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
        "}, %32, %33, p, 1, 1;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
        : "l"(a_desc), "l"(b_desc), "n"(1));
}
__device__ inline void wgmma_m64n128k8(float (&d)[64], uint64_t a_desc, uint64_t b_desc) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {"
        "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
        "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
        "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
        "}, %64, %65, p, 1, 1;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "l"(a_desc), "l"(b_desc), "n"(1));
}
template <int N>
__device__ inline void wgmma_tf32(float (&d)[N / 2], uint64_t a_desc, uint64_t b_desc) {
    if constexpr (N == 128) wgmma_m64n128k8(d, a_desc, b_desc);
    else wgmma_m64n64k8(d, a_desc, b_desc);
}

/// The epilogue: straight from the accumulators (each C element has one owner). Values v = 4j + 2h + e
/// share column c_col(j, e) for h = 0, 1 (rows 8 apart).
template <int BM, class Store>
__device__ inline void store_accumulators(const float (&acc)[Tile<BM>::ACC], const Store& st, int g, int slice, int m0,
                                          int n0, int wg, int t) {
    using Cfg = Tile<BM>;
#pragma unroll
    for (int j = 0; j < Cfg::ACC / 4; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int n = n0 + Cfg::c_col(wg, t, 4 * j + e);
            if (!st.keeps_col(n)) continue;
            float* out = st.col(g, slice, n);
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int m = m0 + Cfg::c_row(wg, t, 4 * j + 2 * h + e);
                if (m < st.M) st.put(out, g, m, acc[4 * j + 2 * h + e]);
            }
        }
}
#endif

/// The kernel. Grid: x over N tiles, y over M tiles, z = group · slices + slice; slice s covers K
/// range [s·k_slice, min(K, (s+1)·k_slice)), k_slice a multiple of kBK.
template <int BM, class Source, class Store>
__global__ void __launch_bounds__(kThreads, 2) tf32_wgmma_kernel(Source s, Store st, int slices, int k_slice) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using Cfg = Tile<BM>;
    extern __shared__ __align__(16) float smem_raw[];
    // The swizzle is applied to address bits, so each operand tile must start on a 1024-byte
    // boundary of the shared window: round the dynamic base up (SMEM_BYTES holds the slack).
    const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
    const uint32_t pad = (kAtomBytes - raw % kAtomBytes) % kAtomBytes;
    float* smem = smem_raw + pad / sizeof(float);
    const uint32_t smem_base = raw + pad;

    const int tid = threadIdx.x, wg = tid / kWarpgroupThreads, t = tid % kWarpgroupThreads;
    const int g = blockIdx.z / slices, slice = blockIdx.z % slices;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * kBN;
    const int k_begin = slice * k_slice;
    const int k_end = s.K - k_begin < k_slice ? s.K : k_begin + k_slice;
    const int tiles = k_begin < k_end ? (k_end - k_begin + kBK - 1) / kBK : 0;

    const auto copies = s.copies(tid, g, m0, n0);
    auto load = [&](int tile) {
        float* stage = smem + (tile % kStages) * Cfg::STAGE_FLOATS;
        s.load(copies, g, k_begin + tile * kBK, k_end,
               [&](int offset, const float* src, bool valid) { v5::cp_async_16(stage + offset, src, valid); });
    };

    float acc[Cfg::ACC];
#pragma unroll
    for (int v = 0; v < Cfg::ACC; ++v) acc[v] = 0.0f;

    // Version 5's pipeline (one commit group per K-tile, empty ones included, so wait_group(kStages
    // - 2) leaves tile t's complete), plus the proxy fence before the barrier and the wgmma wait
    // before the next one (the section's comment at the top).
#pragma unroll
    for (int tile = 0; tile < kStages - 1; ++tile) {
        if (tile < tiles) load(tile);
        conv2d_tf32_mma::cp_async_commit();
    }
    for (int tile = 0; tile < tiles; ++tile) {
        conv2d_tf32_mma::cp_async_wait<kStages - 2>();
        fence_proxy_async_shared();
        __syncthreads();
        if (tile + kStages - 1 < tiles) load(tile + kStages - 1);
        conv2d_tf32_mma::cp_async_commit();

        const uint32_t stage = smem_base + uint32_t((tile % kStages) * Cfg::STAGE_FLOATS * sizeof(float));
        wgmma_fence();
#pragma unroll
        for (int ks = 0; ks < kBK / 8; ++ks)
            wgmma_tf32<Cfg::WG_N>(acc, sw128_descriptor(stage + Cfg::a_start_bytes(wg, ks)),
                                  sw128_descriptor(stage + Cfg::b_start_bytes(wg, ks)));
        wgmma_commit();
        wgmma_wait_all();
        fence_accumulators(acc);
    }
    conv2d_tf32_mma::cp_async_wait<0>();  // only empty groups can remain; nothing may be in flight at exit
    store_accumulators<BM>(acc, st, g, slice, m0, n0, wg, t);
#else
    __trap();  // no wgmma code in this build for this device; the launchers refuse before launching this
#endif
}

/// Backward-weight's staging kernels: one thread per staged element, grid-strided.
template <class T>
__global__ void __launch_bounds__(256) stage_weight_grad_dy_kernel(const T* dy, T* dyk, WeightGradStaging st) {
    const int64_t count = st.dyk_count();  // < 2^31 (weight_grad_fits); the index in int64 so the stride cannot wrap
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        dyk[i] = weight_grad_dy_at(dy, int(i), st);
}
template <class T>
__global__ void __launch_bounds__(256) stage_weight_grad_x_kernel(const T* x, T* xk, WeightGradStaging st) {
    const int64_t count = st.xk_count();  // < 2^31 (weight_grad_fits); the index in int64 so the stride cannot wrap
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        xk[i] = weight_grad_x_at(x, int(i), st);
}

/// Writes 1 when the code running it was compiled for sm_90a (where tf32_wgmma_kernel has a body),
/// else 0. A template, as every kernel of these headers (see conv2d_tf32_nhwc.cuh's note).
template <class T>
__global__ void wgmma_probe_kernel(T* flag) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    *flag = 1;
#else
    *flag = 0;
#endif
}

// ----- host side ---------------------------------------------------------------------------------

/// cudaSuccess when version 6 can run on the current device: compute capability 9.0 and this
/// program's code for it compiled for sm_90a (asked by running wgmma_probe_kernel once per device;
/// the answer is kept, as set_up_kernel keeps its own). Otherwise cudaErrorNotSupported (or the
/// error the probe met). The first call per device allocates 4 bytes and synchronizes the device:
/// make it outside stream capture (a warm-up call does it).
inline cudaError_t available() {
    static std::atomic<uint64_t> known{0}, yes{0};
    int device = 0;
    cudaError_t status = cudaGetDevice(&device);
    if (status != cudaSuccess) return status;
    const bool tracked = device >= 0 && device < 64;
    const uint64_t bit = tracked ? uint64_t(1) << device : 0;
    if (tracked && (known.load(std::memory_order_acquire) & bit))
        return (yes.load(std::memory_order_acquire) & bit) ? cudaSuccess : cudaErrorNotSupported;
    int major = 0, minor = 0;
    status = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
    if (status == cudaSuccess) status = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
    if (status != cudaSuccess) return status;
    bool ok = false;
    if (major == 9 && minor == 0) {
        int* flag = nullptr;
        status = cudaMalloc(&flag, sizeof(int));
        if (status != cudaSuccess) return status;
        int host = 0;
        wgmma_probe_kernel<int><<<1, 1>>>(flag);
        status = cudaGetLastError();
        if (status == cudaSuccess) status = cudaMemcpy(&host, flag, sizeof(int), cudaMemcpyDeviceToHost);
        const cudaError_t freed = cudaFree(flag);
        if (status == cudaSuccess) status = freed;
        if (status != cudaSuccess) return status;
        ok = host == 1;
    }
    if (tracked) {
        if (ok) yes.fetch_or(bit, std::memory_order_acq_rel);
        known.fetch_or(bit, std::memory_order_acq_rel);
    }
    return ok ? cudaSuccess : cudaErrorNotSupported;
}

/// The GEMM kernel's checks and shared-memory attributes, once per kernel and device (as version 5's
/// set_up_kernel: 97 KiB of dynamic shared memory needs the opt-in; the carveout asks for the
/// configuration where two blocks fit).
template <int BM, class Source, class Store>
inline cudaError_t set_up_kernel() {
    static std::atomic<uint64_t> ready{0};
    int device = 0;
    cudaError_t status = cudaGetDevice(&device);
    if (status != cudaSuccess) return status;
    const bool tracked = device >= 0 && device < 64;
    if (tracked && ((ready.load(std::memory_order_acquire) >> device) & 1u)) return cudaSuccess;
    status = available();
    auto* kernel = tf32_wgmma_kernel<BM, Source, Store>;
    if (status == cudaSuccess)
        status = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Tile<BM>::SMEM_BYTES));
    if (status == cudaSuccess)
        status = cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared);
    if (status == cudaSuccess && tracked) ready.fetch_or(uint64_t(1) << device, std::memory_order_acq_rel);
    return status;
}

template <int BM, class Source, class Store>
inline cudaError_t launch(const Source& s, const Store& st, int groups, int slices, int k_slice, cudaStream_t stream) {
    const int64_t grid_n = (int64_t(s.N) + kBN - 1) / kBN, grid_m = (int64_t(s.M) + BM - 1) / BM;
    if (grid_n == 0 || grid_m == 0) return cudaSuccess;
    if (grid_m > 65535 || int64_t(groups) * slices > 65535) return cudaErrorInvalidConfiguration;
    const cudaError_t status = conv2d_tf32_wgmma::set_up_kernel<BM, Source, Store>();
    if (status != cudaSuccess) return status;
    const dim3 grid(static_cast<unsigned>(grid_n), static_cast<unsigned>(grid_m), static_cast<unsigned>(groups * slices));
    tf32_wgmma_kernel<BM, Source, Store><<<grid, kThreads, Tile<BM>::SMEM_BYTES, stream>>>(s, st, slices, k_slice);
    return cudaGetLastError();
}

template <template <int> class Source, class Store, class... Fields>
inline cudaError_t launch_gemm(int M, const Store& st, int groups, const cd::SlicePlan& plan, cudaStream_t stream,
                               Fields... fields) {
    // (qualified: the v5 argument types would otherwise bring version 5's launch in by ADL)
    if (v5::block_rows(M) == 128) return conv2d_tf32_wgmma::launch<128>(Source<128>{fields...}, st, groups, plan.slices, plan.k_slice, stream);
    return conv2d_tf32_wgmma::launch<64>(Source<64>{fields...}, st, groups, plan.slices, plan.k_slice, stream);
}

// ----- the two passes: version 5's staging and workspace layout, this file's GEMM -----------------

inline cudaError_t forward_gemm(const float* bias, float* y, const Conv2dShape& s, const v5::WorkspaceLayout& l,
                                void* workspace, cudaStream_t stream) {
    return v5::forward_gemm_with(
        [](int M, const auto& store, int groups, const cd::SlicePlan& plan, cudaStream_t st, auto... fields) {
            return conv2d_tf32_wgmma::launch_gemm<ForwardSource>(M, store, groups, plan, st, fields...);
        },
        bias, y, s, l, workspace, stream);
}

/// y [N, O, OH, OW] overwritten; bias may be null. workspace: v5::forward_workspace_bytes(s, slices_request).
inline cudaError_t forward(const float* x, const float* w, const float* bias, float* y, const Conv2dShape& s,
                           void* workspace, size_t workspace_bytes, cudaStream_t stream, int slices_request = 0) {
    if (!v5::fits(s)) return cudaErrorInvalidValue;
    if (s.N * s.O * s.OH * s.OW == 0) return cudaSuccess;
    const v5::WorkspaceLayout l = v5::forward_layout(s, slices_request);
    if (!workspace || workspace_bytes < l.bytes) return cudaErrorInvalidValue;
    cudaError_t status = available();  // refuse before staging anything
    if (status == cudaSuccess) status = v5::stage_forward(x, w, s, l, workspace, stream);
    return status != cudaSuccess ? status : conv2d_tf32_wgmma::forward_gemm(bias, y, s, l, workspace, stream);
}

inline cudaError_t backward_data_gemm(float* dx, const Conv2dShape& s, const v5::WorkspaceLayout& l, void* workspace,
                                      cudaStream_t stream) {
    return v5::backward_data_gemm_with(
        [](int M, const auto& store, int groups, const cd::SlicePlan& plan, cudaStream_t st, auto... fields) {
            return conv2d_tf32_wgmma::launch_gemm<BackwardDataSource>(M, store, groups, plan, st, fields...);
        },
        dx, s, l, workspace, stream);
}

/// dx [N, C, H, W] overwritten. workspace: v5::backward_data_workspace_bytes(s, slices_request).
inline cudaError_t backward_data(const float* w, const float* dy, float* dx, const Conv2dShape& s, void* workspace,
                                 size_t workspace_bytes, cudaStream_t stream, int slices_request = 0) {
    if (!v5::fits(s)) return cudaErrorInvalidValue;
    if (s.N * s.C * s.H * s.W == 0) return cudaSuccess;
    const v5::WorkspaceLayout l = v5::backward_data_layout(s, slices_request);
    if (!workspace || workspace_bytes < l.bytes) return cudaErrorInvalidValue;
    cudaError_t status = available();
    if (status == cudaSuccess) status = v5::stage_backward_data(w, dy, s, l, workspace, stream);
    return status != cudaSuccess ? status : conv2d_tf32_wgmma::backward_data_gemm(dx, s, l, workspace, stream);
}

// ----- backward-weight: this file's staging and plan, the same GEMM kernel ---------------------------

/// Whether this file's backward-weight can take the shape: version 5's limits, and every staged
/// index and K in int32. (Otherwise backward_weight runs version 5's, in version 5's workspace.)
inline bool weight_grad_fits(const Conv2dShape& s) {
    if (!v5::fits(s)) return false;
    const WeightGradStaging st = weight_grad_staging(s);
    return cd::fits_int32(st.dyk_count()) && cd::fits_int32(st.xk_count()) && cd::fits_int32(s.KH * s.KW * s.Cg());
}

/// Output channels a group from which the K-major path runs (below it, version 5's backward-weight).
/// Staging xk writes KW floats for each input element, and each feeds 2·Og·KH flops of the GEMM:
/// with few output channels the staging is the larger cost. Measured on an H200 (VGG-16 at batch
/// 32, bench/results/gpu-h200-2026-11-27-conv-pool-run6.md, K-major against version 5's, ms):
/// Og = 64: conv1_1 0.856 vs 0.778, conv1_2 3.086 vs 2.236; Og = 128: conv2_1 1.088 vs 0.935,
/// conv2_2 1.729 vs 1.497; Og = 256: conv3_1 0.664 vs 0.756, conv3_2 1.176 vs 1.396; Og = 512:
/// conv4_2 0.998 vs 1.397, conv5_1 0.372 vs 0.480. (Fashion-MNIST, Og 32 and 64: 0.053 vs 0.062,
/// 0.071 vs 0.057, 0.052 vs 0.050 — too small to matter either way.) One GPU's crossover, between
/// 128 and 256: re-measure on another.
constexpr int64_t kKMajorWeightGradMinOg = 256;

/// Whether backward_weight takes the K-major path (else version 5's kernel and workspace).
inline bool weight_grad_kmajor(const Conv2dShape& s) { return weight_grad_fits(s) && s.Og() >= kKMajorWeightGradMinOg; }
inline v5::GemmExtent backward_weight_extent(const Conv2dShape& s) {
    const WeightGradStaging st = weight_grad_staging(s);
    return {s.Og(), s.KH * s.KW * s.Cg(), int64_t(st.N) * st.OH * st.OWp, s.groups, s.O * s.Cg() * s.KH * s.KW,
            v5::SplitModel::kMaxWeightSlices};
}
/// The split of K (version 5's model on this pass's GEMM; version 5's own plan where it runs).
inline cd::SlicePlan backward_weight_slices(const Conv2dShape& s, int requested = 0) {
    if (!weight_grad_kmajor(s)) return v5::backward_weight_slices(s, requested);
    return v5::gemm_slices(backward_weight_extent(s), requested);
}
inline v5::WorkspaceLayout backward_weight_layout(const Conv2dShape& s, int requested = 0) {  // xk, dyk, partial dw
    if (!weight_grad_kmajor(s)) return v5::backward_weight_layout(s, requested);
    const WeightGradStaging st = weight_grad_staging(s);
    return v5::layout_of(st.xk_count(), st.dyk_count(), backward_weight_slices(s, requested), s.O * s.Cg() * s.KH * s.KW);
}
inline size_t backward_weight_workspace_bytes(const Conv2dShape& s, int requested = 0) {
    return v5::fits(s) ? backward_weight_layout(s, requested).bytes : 0;
}

inline cudaError_t stage_backward_weight(const float* x, const float* dy, const Conv2dShape& s, const v5::WorkspaceLayout& l,
                                         void* workspace, cudaStream_t stream) {
    const WeightGradStaging st = weight_grad_staging(s);
    stage_weight_grad_x_kernel<float><<<v5::staging_blocks(st.xk_count()), 256, 0, stream>>>(x, v5::region(workspace, 0), st);
    cudaError_t status = cudaGetLastError();
    if (status != cudaSuccess) return status;
    stage_weight_grad_dy_kernel<float><<<v5::staging_blocks(st.dyk_count()), 256, 0, stream>>>(
        dy, v5::region(workspace, l.second), st);
    return cudaGetLastError();
}

inline cudaError_t backward_weight_gemm(float* dw, const Conv2dShape& s, const v5::WorkspaceLayout& l, void* workspace,
                                        cudaStream_t stream) {
    const WeightGradStaging st = weight_grad_staging(s);
    const float *xk = v5::region(workspace, 0), *dyk = v5::region(workspace, l.second);
    float* partial = v5::region(workspace, l.partial);
    const int64_t total = s.O * s.Cg() * s.KH * s.KW;
    const cd::SlicePlan& plan = l.plan;
    const bool split = plan.slices > 1;
    const v5::Dims d = v5::dims_of(s);
    const int M = int(s.Og()), N = int(s.KH * s.KW * s.Cg()), K = int(int64_t(st.N) * st.OH * st.OWp);
    const v5::BackwardWeightStore store{split ? partial : dw, d, M, N, int(s.Cg())};  // columns tap·Cg + c: no pad
    const cudaError_t status = conv2d_tf32_wgmma::launch_gemm<BackwardWeightSource>(
        M, store, int(s.groups), plan, stream, xk, dyk, d, M, N, K, st.N, st.owp, st.oh);
    if (status != cudaSuccess || !split) return status;
    return cd::sum_slices<float>(partial, dw, total, plan.slices, stream);
}

/// dw [O, C/g, KH, KW] overwritten (zeros for an empty batch). workspace:
/// backward_weight_workspace_bytes(s, slices_request): this file's on the K-major path, version 5's
/// where weight_grad_kmajor says no (fewer than 256 output channels a group, or past
/// weight_grad_fits), which then runs version 5's backward-weight.
inline cudaError_t backward_weight(const float* x, const float* dy, float* dw, const Conv2dShape& s, void* workspace,
                                   size_t workspace_bytes, cudaStream_t stream, int slices_request = 0) {
    if (!v5::fits(s)) return cudaErrorInvalidValue;
    const int64_t total = s.O * s.Cg() * s.KH * s.KW;
    if (total == 0) return cudaSuccess;
    cudaError_t status = available();
    if (status != cudaSuccess) return status;
    if (!weight_grad_kmajor(s))
        return v5::backward_weight(x, dy, dw, s, workspace, workspace_bytes, stream, slices_request);
    if (s.N * s.OH * s.OW == 0) return cudaMemsetAsync(dw, 0, size_t(total) * sizeof(float), stream);
    const v5::WorkspaceLayout l = backward_weight_layout(s, slices_request);
    if (!workspace || workspace_bytes < l.bytes) return cudaErrorInvalidValue;
    status = conv2d_tf32_wgmma::stage_backward_weight(x, dy, s, l, workspace, stream);  // (qualified: ADL finds version 5's)
    return status != cudaSuccess ? status : conv2d_tf32_wgmma::backward_weight_gemm(dw, s, l, workspace, stream);
}

}  // namespace seam::kernels::conv2d_tf32_wgmma

#endif  // defined(__CUDACC__)
