// kernels/seam/conv2d_tf32.cuh — 2-D convolution on the tensor cores in TF32: forward,
// backward-data and backward-weight of float tensors (the bias gradient stays conv2d.cuh's).
// The launchers of the TF32 versions of kernels/seam/conv2d.cuh, and version 3 itself (wmma); version
// 4 (mma.sync + cp.async, the default) is in kernels/seam/conv2d_tf32_mma.cuh. Raw device pointers
// and conv2d.cuh's Conv2dShape, no other seam header. It compiles only under nvcc.
//
// Versions (Tf32Version, the launchers' last argument; bench/bench_conv_pool_cuda.cu times all):
//   3 v3_wmma   this file's kernel, described below. Measured on an NVIDIA H200
//               (bench/results/gpu-h200-2026-11-27-conv-pool.md, VGG-16 at batch 32): 17-32 TFLOP/s,
//               no faster than the fp32 kernels; against cuDNN's TF32 at its GEMM algorithm forward
//               0.70-1.22x cuDNN's time (cuDNN's IMPLICIT_GEMM does not use the tensor cores),
//               backward-data 7.0-13.3x and backward-weight 1.9-10.7x (ALGO_1, which does): the
//               tensor cores waited on the register-staged gathers, 16 k per barrier. Fails the
//               issue's floor (at most 2x cuDNN's time).
//   4 v4_mma    conv2d_tf32_mma.cuh: cp.async straight to swizzled shared memory, 4 K-tiles of 32
//               in flight, mma.sync.m16n8k8, gathers by counters; one block of 8 warps an SM (up to
//               255 registers, no spills). Backward-data with C/groups ≤ 4 goes to conv2d.cuh's
//               small-channel direct kernel (fp32). H200 (bench/results/gpu-h200-2026-11-27-conv-pool-run2.md,
//               VGG-16, batch 32): forward 31-49 TFLOP/s, backward-data 14-31, backward-weight 25-45
//               (conv1_1 aside); 1.2-2.0x faster than v3 on most layers, slower on conv1_2 and
//               conv2_1 backward-data.
//     v4_mma_two_blocks  the same kernel capped at 128 registers (ptxas spills up to 88 bytes) for
//               two blocks an SM with 3 stages each: the launchers' default (and the ops' on GPUs before
//               9.0), faster again on nearly every layer
//               (VGG conv3_2: forward 1.87 vs 2.46 ms, backward-data 2.42 vs 3.86, backward-weight
//               2.93 vs 3.45). Still up to 6.0x (backward-data; 4-6x from conv2_2 on) and 4.4x
//               (backward-weight) cuDNN's TF32 ALGO_1 time (gpu-h200-2026-11-27-conv-pool-run3.md;
//               ALGO_1 runs at 120-250 TFLOP/s there): the issue's floor is NOT met. The 4-byte
//               gathers and the per-fragment cvt.rna, not the tensor cores (at most 63 TFLOP/s of
//               about 495), bound it; next to try: 16-byte cp.async for contiguous runs, converting
//               once per staged element, a wider warp tile, wgmma on sm_90.
//   5 v5_nhwc   conv2d_tf32_nhwc.cuh: those first three ideas. Operands staged once per call into a
//               workspace, channels-last and TF32-rounded (memory-bound transforms), so every copy
//               is a 16-byte cp.async and the main loop has no cvt; 128 x 128 x 32 block tiles of 4
//               warps of 64 x 64 (32 mma per 16 shared loads of 8 bytes, or 8 of 16, against version
//               4's 16 per 24 of 4); fragments read with vector loads by permuting the mma's k slots
//               (and rows / columns for backward-weight). Checked by host emulation
//               (tests/cuda/test_tf32_nhwc_kernel_logic.cu) and on an H200 (2026-11-27): faster than
//               version 4 on every VGG-16 pass but conv1_1's (3 input channels), up to 2.6x cuDNN's TF32 time
//               (backward-data). The
//               ops' default on a 9.x GPU without version 6. Needs a workspace in every pass: use the
//               launchers that take one.
//   6 v6_wgmma  conv2d_tf32_wgmma.cuh: version 5 with the GEMMs on Hopper's warpgroup MMA
//               (wgmma.mma_async, both operands from 128-byte-swizzled shared memory), and a
//               backward-weight whose operands are staged K-major for it (from 256 output channels
//               a group; version 5's kernel below, where it measured faster). Runs only on a
//               compute-capability-9.0 GPU from code compiled for sm_90a (the launchers return
//               cudaErrorNotSupported otherwise); the ops' default there. Checked by host emulation
//               (tests/cuda/test_tf32_wgmma_kernel_logic.cu) and on an H200 (2026-11-27; figures in
//               conv2d_tf32_wgmma.cuh).
//
// What every version computes: exactly conv2d.cuh's definitions (cross-correlation, zero padding, stride,
// dilation, groups, bias), as the same three implicit GEMMs, one group per blockIdx.z:
//   forward          Y[o, q]  = Σ_k W[o, k] · X̂[k, q]    q = (n, oh, ow), k = (c, ki, kj)
//   backward-data    dX[c, p] = Σ_k Ŵ[c, k] · dŶ[k, p]   p = (n, h, w),   k = (o, ki, kj)
//   backward-weight  dW[o, k] = Σ_q dY[o, q] · X̂[k, q]   (K split into slices, partials summed
//                                                       in slice order in double: deterministic)
// The operands are gathered by conv2d.cuh's ForwardProblem / BackwardDataProblem /
// BackwardWeightProblem (the same index arithmetic, edge checks and 32-bit limits as version 2),
// and the results are stored through them (bias added in fp32 by the forward's store).
//
// Layouts (contiguous, row-major): x, dx [N, C, H, W]; w, dw [O, C/groups, KH, KW];
// y, dy [N, O, OH, OW]; b [O].
//
// Precision: every A and B element is rounded to TF32 (wmma::__float_to_tf32: round to nearest,
// ties away from zero, to a 10-bit mantissa, 8-bit exponent: unit roundoff 2^-11) as it is staged
// in shared memory; products and sums are fp32 on the tensor cores (mma m16n16k8, fp32
// accumulator fragments). So each term a·b carries a relative error of up to about 2·2^-11, on
// top of fp32 summation: results differ from the fp32 kernels by ~1e-3 relative, which is why it
// is opt-in.
//
// The flag: cuda::ConvAlgorithm::implicit_gemm_tf32 (include/seam/cuda/api.hpp), chosen with
// cuda::set_conv_algorithm like the other versions; the default stays implicit_gemm (fp32). It
// does NOT follow cuda::set_allow_tf32, which is documented as cuBLAS's setting: turning TF32 on
// for GEMMs must not silently change every convolution too (PyTorch also keeps two separate
// switches, allow_tf32 for matmul and for cuDNN). For double tensors the TF32 choice runs version 2
// in double (TF32 is a float32 format), decided in src/cuda/seam_cuda.cu; these launchers take
// float only.
//
// Version 3's launch shape: block tile BM x 128 x BK = 16 (BM = 128 when the GEMM's M exceeds 64, else 64),
// 256 threads = 8 warps as 2 (rows) x 4 (columns); warp tile (BM/2) x 32, i.e. (BM/32) x 2
// accumulator fragments of 16 x 16 per warp. Shared memory, double-buffered as in version 2:
// A as [BM][16 + 4] (row-major, m by k), B as [16][128 + 4] (row-major, k by n); the pad of 4
// floats keeps every fragment pointer 32-byte aligned and every leading dimension a multiple of
// 4 floats, as wmma requires, and shifts banks between rows. Each thread gathers BM·16/256 A
// elements of one row and 8 B elements of one column per K-tile into registers while the tensor
// cores work on the current tile, then stores them (converted to TF32) into the other buffer; one
// __syncthreads per K-tile. Edge tiles: gathers past M, N or K give 0 (in the problem structs and
// the k < k_end test), stores past M or N are skipped. Epilogue: each warp stores one accumulator
// fragment at a time into a 16 x 16 scratch (the A buffer, free after the last barrier) and its
// 32 lanes write it out, lane l taking column l % 16 and rows l / 16 + 2t (t < 8).
//
// Architectures: the tensor-core body is compiled for __CUDA_ARCH__ >= 800 (sm_80, sm_90: the
// default build); for an older architecture the kernel body is a trap, and the launchers never
// get there: they return cudaErrorNotSupported on a device below compute capability 8.0 or when
// the binary's code for the device was compiled for a virtual architecture below compute_80.
//
// Version 3's tiling and index arithmetic are checked on the CPU by tests/cuda/test_cuda_kernel_logic.cu,
// version 4's by tests/cuda/test_tf32_mma_kernel_logic.cu; tests/cuda/test_conv_tf32_cuda.cpp runs
// the default version on a GPU against the CPU convolution.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>
#include <mma.h>

#include <cstddef>
#include <cstdint>

#include "seam/conv2d.cuh"
#include "seam/conv2d_tf32_mma.cuh"
#include "seam/conv2d_tf32_nhwc.cuh"
#include "seam/conv2d_tf32_wgmma.cuh"

namespace seam::kernels {

namespace conv2d_tf32_detail {

constexpr int kThreads = 256;
constexpr int kWarpsM = 2, kWarpsN = 4;  // warp grid of a block: 2 x 4 = 8 warps
constexpr int kBN = 128, kBK = 16;       // block tile columns, K-tile depth
constexpr int kFrag = 16;                // fragment rows and columns (m16n16k8)
constexpr int kFragK = 8;                // fragment depth
constexpr int kPad = 4;                  // floats added to each shared-memory row

/// Which thread stages which element, where each warp works and where each lane writes: host and
/// device code both call these, so the CPU test exercises the kernel's own mapping.
template <int BM>
struct Tf32Tile {
    static_assert(BM == 64 || BM == 128, "block tile rows: 64 or 128");
    static constexpr int BN = kBN, BK = kBK;
    static constexpr int WM = BM / kWarpsM, WN = BN / kWarpsN;  // warp tile
    static constexpr int FM = WM / kFrag, FN = WN / kFrag;      // fragments per warp
    static constexpr int LDA = BK + kPad, LDB = BN + kPad;      // shared-memory row lengths (floats)
    static constexpr int A_SIZE = BM * LDA, B_SIZE = BK * LDB;  // floats in one buffer
    static constexpr int A_PER = BM * BK / kThreads;            // A elements a thread stages per K-tile
    static constexpr int B_PER = BN * BK / kThreads;
    static constexpr int A_ROW_THREADS = BK / A_PER;            // threads sharing one A row of a K-tile
    static_assert(A_PER >= 1 && B_PER >= 1 && BK % A_PER == 0 && BK % B_PER == 0 && kThreads % BN == 0,
                  "tile and thread counts do not fit");
    static_assert(kWarpsM * kWarpsN * 32 == kThreads && WM % kFrag == 0 && WN % kFrag == 0 && BK % kFragK == 0,
                  "warps do not tile the block");
    // wmma: leading dimensions a multiple of 4 floats (16 bytes), fragment pointers 32-byte aligned
    // (the offsets below are multiples of 8 floats: m0·LDA with m0 % 16 == 0, k0 % 8 == 0, n0 % 16 == 0).
    static_assert(LDA % 4 == 0 && LDB % 4 == 0 && (kFrag * LDA) % 8 == 0 && (kFragK * LDB) % 8 == 0 &&
                      A_SIZE % 8 == 0 && B_SIZE % 8 == 0,
                  "wmma alignment");
    static_assert(A_SIZE * 2 >= kThreads / 32 * kFrag * kFrag, "the epilogue scratch fits in the A buffers");

    // Staging: thread tid gathers A[a_m, a_k + e] (e < A_PER) and B[b_k + e, b_n] (e < B_PER) of the tile.
    __host__ __device__ static int a_m(int tid) { return tid / A_ROW_THREADS; }
    __host__ __device__ static int a_k(int tid) { return (tid % A_ROW_THREADS) * A_PER; }
    __host__ __device__ static int b_n(int tid) { return tid % BN; }
    __host__ __device__ static int b_k(int tid) { return (tid / BN) * B_PER; }
    // Shared-memory offsets within one buffer.
    __host__ __device__ static int a_offset(int m, int k) { return m * LDA + k; }
    __host__ __device__ static int b_offset(int k, int n) { return k * LDB + n; }
    // The warp's tile origin within the block tile.
    __host__ __device__ static int warp_row(int warp) { return (warp / kWarpsN) * WM; }
    __host__ __device__ static int warp_col(int warp) { return (warp % kWarpsN) * WN; }
    // Epilogue: lane writes element (frag_row(lane, t), frag_col(lane)), t < 8, of a 16 x 16 fragment.
    static constexpr int kRowsPerLane = kFrag * kFrag / 32;
    __host__ __device__ static int frag_row(int lane, int t) { return lane / kFrag + 2 * t; }
    __host__ __device__ static int frag_col(int lane) { return lane % kFrag; }
};

/// The block tile rows for a GEMM with M rows.
inline int block_rows(int64_t M) { return M > 64 ? 128 : 64; }

/// The problems of the three passes (conv2d.cuh's structs, built as its launchers build them).
inline conv2d_detail::ForwardProblem<float> forward_problem(const float* x, const float* w, const float* bias, float* y,
                                                            const Conv2dShape& s) {
    return {x, w, bias, y, conv2d_detail::dims_of(s), int(s.Og()), int(s.N * s.OH * s.OW), int(s.Cg() * s.KH * s.KW)};
}
inline conv2d_detail::BackwardDataProblem<float> backward_data_problem(const float* w, const float* dy, float* dx,
                                                                       const Conv2dShape& s) {
    return {w, dy, dx, conv2d_detail::dims_of(s), int(s.Cg()), int(s.N * s.H * s.W), int(s.Og() * s.KH * s.KW)};
}
inline conv2d_detail::BackwardWeightProblem<float> backward_weight_problem(const float* x, const float* dy, float* out,
                                                                           const Conv2dShape& s) {
    return {x, dy, out, conv2d_detail::dims_of(s), int(s.Og()), int(s.Cg() * s.KH * s.KW), int(s.N * s.OH * s.OW)};
}

/// Backward-weight's split of K: version 2's plan (shape only) with k_slice rounded up to kBK.
inline conv2d_detail::SlicePlan backward_weight_slices(const Conv2dShape& s) {
    conv2d_detail::SlicePlan plan = conv2d_detail::backward_weight_slices(s);
    const int64_t K = s.N * s.OH * s.OW;
    int64_t k_slice = (int64_t(plan.k_slice) + kBK - 1) / kBK * kBK;
    int64_t slices = (K + k_slice - 1) / k_slice;
    if (slices < 1) slices = 1;
    return {static_cast<int>(slices), static_cast<int>(k_slice)};
}

/// The tensor-core implicit-GEMM kernel. Grid: x over N tiles, y over M tiles, z = group · slices +
/// slice; slice s covers K range [s·k_slice, min(K, (s+1)·k_slice)).
template <int BM, class Problem>
__global__ void __launch_bounds__(kThreads, 2) implicit_gemm_tf32_kernel(Problem p, int slices, int k_slice) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
    __trap();  // no TF32 tensor cores below sm_80; the launchers refuse before launching this
#else
    using namespace nvcuda;
    using Cfg = Tf32Tile<BM>;
    __shared__ __align__(128) float As[2][Cfg::A_SIZE];
    __shared__ __align__(128) float Bs[2][Cfg::B_SIZE];

    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int g = blockIdx.z / slices, slice = blockIdx.z % slices;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * Cfg::BN;
    const int k_begin = slice * k_slice;
    const int k_end = p.K - k_begin < k_slice ? p.K : k_begin + k_slice;

    const int a_m = Cfg::a_m(tid), a_k = Cfg::a_k(tid), b_n = Cfg::b_n(tid), b_k = Cfg::b_k(tid);
    const auto row = p.a_row(g, m0 + a_m);
    const auto col = p.b_col(g, n0 + b_n);
    float a_next[Cfg::A_PER], b_next[Cfg::B_PER];

    auto gather = [&](int k0) {
SEAM_CONV_UNROLL
        for (int e = 0; e < Cfg::A_PER; ++e) {
            const int k = k0 + a_k + e;
            a_next[e] = k < k_end ? p.a(row, k) : 0.0f;
        }
SEAM_CONV_UNROLL
        for (int e = 0; e < Cfg::B_PER; ++e) {
            const int k = k0 + b_k + e;
            b_next[e] = k < k_end ? p.b(col, k) : 0.0f;
        }
    };
    auto stash = [&](int buf) {
SEAM_CONV_UNROLL
        for (int e = 0; e < Cfg::A_PER; ++e) As[buf][Cfg::a_offset(a_m, a_k + e)] = wmma::__float_to_tf32(a_next[e]);
SEAM_CONV_UNROLL
        for (int e = 0; e < Cfg::B_PER; ++e) Bs[buf][Cfg::b_offset(b_k + e, b_n)] = wmma::__float_to_tf32(b_next[e]);
    };

    const int wr = Cfg::warp_row(warp), wc = Cfg::warp_col(warp);
    wmma::fragment<wmma::accumulator, kFrag, kFrag, kFragK, float> acc[Cfg::FM][Cfg::FN];
SEAM_CONV_UNROLL
    for (int i = 0; i < Cfg::FM; ++i)
SEAM_CONV_UNROLL
        for (int j = 0; j < Cfg::FN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    if (k_begin < k_end) {  // uniform across the block
        gather(k_begin);
        stash(0);
        __syncthreads();
        int buf = 0;
        for (int k0 = k_begin; k0 < k_end; k0 += Cfg::BK) {
            const bool more = k0 + Cfg::BK < k_end;  // uniform across the block
            if (more) gather(k0 + Cfg::BK);          // global loads in flight during the MMAs below
SEAM_CONV_UNROLL
            for (int kk = 0; kk < Cfg::BK; kk += kFragK) {
                wmma::fragment<wmma::matrix_a, kFrag, kFrag, kFragK, wmma::precision::tf32, wmma::row_major> a_frag[Cfg::FM];
                wmma::fragment<wmma::matrix_b, kFrag, kFrag, kFragK, wmma::precision::tf32, wmma::row_major> b_frag[Cfg::FN];
SEAM_CONV_UNROLL
                for (int i = 0; i < Cfg::FM; ++i)
                    wmma::load_matrix_sync(a_frag[i], &As[buf][Cfg::a_offset(wr + i * kFrag, kk)], Cfg::LDA);
SEAM_CONV_UNROLL
                for (int j = 0; j < Cfg::FN; ++j)
                    wmma::load_matrix_sync(b_frag[j], &Bs[buf][Cfg::b_offset(kk, wc + j * kFrag)], Cfg::LDB);
SEAM_CONV_UNROLL
                for (int i = 0; i < Cfg::FM; ++i)
SEAM_CONV_UNROLL
                    for (int j = 0; j < Cfg::FN; ++j) wmma::mma_sync(acc[i][j], a_frag[i], b_frag[j], acc[i][j]);
            }
            // The other buffer was last read in the previous iteration, before its closing barrier.
            if (more) stash(buf ^ 1);
            __syncthreads();
            buf ^= 1;
        }
    }

    // Epilogue. The loop above ended with a barrier (or never touched shared memory), so the A
    // buffers are free: each warp takes 16 x 16 floats of them as its scratch.
    float* scratch = &As[0][0] + warp * kFrag * kFrag;
    const int c = Cfg::frag_col(lane);
SEAM_CONV_UNROLL
    for (int j = 0; j < Cfg::FN; ++j) {
        const int n = n0 + wc + j * kFrag + c;
        const auto out = p.c_col(g, slice, n < p.N ? n : 0);  // pointer arithmetic only; stores need n < N
SEAM_CONV_UNROLL
        for (int i = 0; i < Cfg::FM; ++i) {
            wmma::store_matrix_sync(scratch, acc[i][j], kFrag, wmma::mem_row_major);
            __syncwarp();
            if (n < p.N) {
SEAM_CONV_UNROLL
                for (int t = 0; t < Cfg::kRowsPerLane; ++t) {
                    const int r = Cfg::frag_row(lane, t);
                    const int m = m0 + wr + i * kFrag + r;
                    if (m < p.M) p.c_store(out, m, scratch[r * kFrag + c]);
                }
            }
            __syncwarp();  // scratch is rewritten by the next fragment
        }
    }
#endif
}

template <int BM, class Problem>
inline cudaError_t launch_tf32(const Problem& p, int groups, int slices, int k_slice, cudaStream_t stream) {
    const int64_t grid_n = (int64_t(p.N) + kBN - 1) / kBN, grid_m = (int64_t(p.M) + BM - 1) / BM;
    if (grid_n == 0 || grid_m == 0) return cudaSuccess;
    if (grid_m > 65535 || int64_t(groups) * slices > 65535) return cudaErrorInvalidConfiguration;
    auto* kernel = implicit_gemm_tf32_kernel<BM, Problem>;
    const cudaError_t usable = conv2d_tf32_mma::tf32_kernel_usable(kernel);
    if (usable != cudaSuccess) return usable;
    const dim3 grid(static_cast<unsigned>(grid_n), static_cast<unsigned>(grid_m), static_cast<unsigned>(groups * slices));
    kernel<<<grid, kThreads, 0, stream>>>(p, slices, k_slice);
    return cudaGetLastError();
}

template <class Problem>
inline cudaError_t launch_tf32_for(const Problem& p, int groups, int slices, int k_slice, cudaStream_t stream) {
    if (block_rows(p.M) == 128) return launch_tf32<128>(p, groups, slices, k_slice, stream);
    return launch_tf32<64>(p, groups, slices, k_slice, stream);
}

}  // namespace conv2d_tf32_detail

// ===== host launchers (float only): return the launch error (cudaSuccess when nothing needed launching)

/// Which TF32 kernel: version 4 (mma.sync + cp.async, kernels/seam/conv2d_tf32_mma.cuh) at two
/// blocks an SM with 3 stages (the default: faster on nearly every layer of the first H200 run,
/// bench/results/gpu-h200-2026-11-27-run2.md) or at one block an SM with 4 stages, or version 3
/// (wmma, this file). All kept for study and for the bench's side-by-side.
/// Version 5 (kernels/seam/conv2d_tf32_nhwc.cuh: operands staged channels-last and TF32-rounded in a
/// workspace, 16-byte cp.async, 64 x 64 warp tiles, vector fragment loads) needs a workspace for every
/// pass: call the launchers that take one.
/// Version 6 (kernels/seam/conv2d_tf32_wgmma.cuh) is version 5 with wgmma GEMMs on sm_90a; its forward
/// and backward-data share version 5's workspaces, its backward-weight stages K-major operands of its
/// own (a bigger workspace: conv2d_backward_weight_tf32_workspace_bytes). These launchers default to
/// version 4 (the portable one); the library's ops pick per device (src/cuda/seam_cuda.cu,
/// default_tf32_conv_version: version 6 where it runs).
enum class Tf32Version : int { v3_wmma, v4_mma, v4_mma_two_blocks, v5_nhwc, v6_wgmma };
inline bool is_v4(Tf32Version v) { return v == Tf32Version::v4_mma || v == Tf32Version::v4_mma_two_blocks; }
inline int v4_min_blocks(Tf32Version v) { return v == Tf32Version::v4_mma_two_blocks ? 2 : 1; }
/// Versions 5 and 6: operands staged into a workspace (version 5's transforms; version 6's own for
/// backward-weight).
inline bool is_staged(Tf32Version v) { return v == Tf32Version::v5_nhwc || v == Tf32Version::v6_wgmma; }
/// The version that runs: version 5 or 6 asked of a shape past their limits (a staged tensor of
/// 2^31 elements or more, conv2d_tf32_nhwc::fits) runs version 4 at two blocks an SM instead.
inline Tf32Version effective_tf32_version(const Conv2dShape& s, Tf32Version v) {
    return is_staged(v) && !conv2d_tf32_nhwc::fits(s) ? Tf32Version::v4_mma_two_blocks : v;
}

/// Bytes of device workspace the forward needs (0 for versions 3 and 4; the staged x and weights for 5).
inline size_t conv2d_forward_tf32_workspace_bytes(const Conv2dShape& s, Tf32Version version = Tf32Version::v4_mma_two_blocks) {
    version = effective_tf32_version(s, version);
    return is_staged(version) ? conv2d_tf32_nhwc::forward_workspace_bytes(s) : 0;
}

/// Bytes of device workspace backward-data needs (0 for versions 3 and 4, and for C/groups ≤ 4,
/// which every version hands to the fp32 small-channel kernel).
inline size_t conv2d_backward_data_tf32_workspace_bytes(const Conv2dShape& s,
                                                        Tf32Version version = Tf32Version::v4_mma_two_blocks) {
    version = effective_tf32_version(s, version);
    if (!is_staged(version) || conv2d_detail::small_channel_backward_data<float>(s)) return 0;
    return conv2d_tf32_nhwc::backward_data_workspace_bytes(s);
}

/// y [N, O, OH, OW] is overwritten; bias may be null.
inline cudaError_t conv2d_forward_tf32(const float* x, const float* w, const float* bias, float* y, const Conv2dShape& s,
                                       cudaStream_t stream = nullptr, Tf32Version version = Tf32Version::v4_mma_two_blocks) {
    version = effective_tf32_version(s, version);
    namespace d = conv2d_tf32_detail;
    if (!conv2d_detail::valid(s) || !conv2d_detail::gemm_fits(s)) return cudaErrorInvalidValue;
    if (s.N * s.O * s.OH * s.OW == 0) return cudaSuccess;
    if (is_staged(version)) return cudaErrorInvalidValue;  // needs a workspace: the overload below
    if (is_v4(version)) return conv2d_tf32_mma::forward(x, w, bias, y, s, v4_min_blocks(version), stream);
    const auto p = d::forward_problem(x, w, bias, y, s);
    return d::launch_tf32_for(p, int(s.groups), 1, p.K > 0 ? p.K : d::kBK, stream);
}

/// The same with a workspace of conv2d_forward_tf32_workspace_bytes(s, version) bytes (may be null
/// when that is 0), valid until the work on `stream` is done: any version.
inline cudaError_t conv2d_forward_tf32(const float* x, const float* w, const float* bias, float* y, const Conv2dShape& s,
                                       void* workspace, size_t workspace_bytes, cudaStream_t stream,
                                       Tf32Version version = Tf32Version::v4_mma_two_blocks) {
    version = effective_tf32_version(s, version);
    if (!is_staged(version)) return conv2d_forward_tf32(x, w, bias, y, s, stream, version);
    if (version == Tf32Version::v6_wgmma)
        return conv2d_tf32_wgmma::forward(x, w, bias, y, s, workspace, workspace_bytes, stream);  // it checks the shape
    return conv2d_tf32_nhwc::forward(x, w, bias, y, s, workspace, workspace_bytes, stream);
}

/// dx [N, C, H, W] is overwritten (every element written).
inline cudaError_t conv2d_backward_data_tf32(const float* w, const float* dy, float* dx, const Conv2dShape& s,
                                             cudaStream_t stream = nullptr, Tf32Version version = Tf32Version::v4_mma_two_blocks) {
    version = effective_tf32_version(s, version);
    namespace d = conv2d_tf32_detail;
    if (!conv2d_detail::valid(s) || !conv2d_detail::gemm_fits(s)) return cudaErrorInvalidValue;
    if (s.N * s.C * s.H * s.W == 0) return cudaSuccess;
    if (is_v4(version)) {
        // C/groups ≤ 4 (first layers): a tensor-core tile would hold at most 4 useful rows of 64, so
        // version 4 hands these to conv2d.cuh's small-channel direct kernel (fp32 products: at least
        // as accurate as TF32; measured in fp32 on an H200 at 1.26 ms for VGG conv1_1, where version 3
        // took 6.76 ms).
        if (conv2d_detail::small_channel_backward_data<float>(s))
            return conv2d_backward_data<float>(w, dy, dx, s, ConvAlgo::implicit_gemm, stream);
        return conv2d_tf32_mma::backward_data(w, dy, dx, s, v4_min_blocks(version), stream);
    }
    if (is_staged(version)) {  // needs a workspace (the overload below) unless C/groups ≤ 4
        if (conv2d_detail::small_channel_backward_data<float>(s))
            return conv2d_backward_data<float>(w, dy, dx, s, ConvAlgo::implicit_gemm, stream);
        return cudaErrorInvalidValue;
    }
    const auto p = d::backward_data_problem(w, dy, dx, s);
    return d::launch_tf32_for(p, int(s.groups), 1, p.K > 0 ? p.K : d::kBK, stream);
}

/// The same with a workspace of conv2d_backward_data_tf32_workspace_bytes(s, version) bytes (may be
/// null when that is 0), valid until the work on `stream` is done: any version.
inline cudaError_t conv2d_backward_data_tf32(const float* w, const float* dy, float* dx, const Conv2dShape& s,
                                             void* workspace, size_t workspace_bytes, cudaStream_t stream,
                                             Tf32Version version = Tf32Version::v4_mma_two_blocks) {
    version = effective_tf32_version(s, version);
    if (!is_staged(version) || conv2d_detail::small_channel_backward_data<float>(s))
        return conv2d_backward_data_tf32(w, dy, dx, s, stream, version);
    if (version == Tf32Version::v6_wgmma)
        return conv2d_tf32_wgmma::backward_data(w, dy, dx, s, workspace, workspace_bytes, stream);  // it checks the shape
    return conv2d_tf32_nhwc::backward_data(w, dy, dx, s, workspace, workspace_bytes, stream);
}

/// Backward-weight's split of K for `version` (shape only).
inline conv2d_detail::SlicePlan conv2d_backward_weight_tf32_plan(const Conv2dShape& s,
                                                                 Tf32Version version = Tf32Version::v4_mma_two_blocks) {
    version = effective_tf32_version(s, version);
    if (version == Tf32Version::v6_wgmma) return conv2d_tf32_wgmma::backward_weight_slices(s);
    if (is_staged(version)) return conv2d_tf32_nhwc::backward_weight_slices(s);
    return is_v4(version) ? conv2d_tf32_mma::backward_weight_slices(s)
                                          : conv2d_tf32_detail::backward_weight_slices(s);
}

/// Bytes of device workspace conv2d_backward_weight_tf32 needs (0: none).
inline size_t conv2d_backward_weight_tf32_workspace_bytes(const Conv2dShape& s, Tf32Version version = Tf32Version::v4_mma_two_blocks) {
    version = effective_tf32_version(s, version);
    if (!conv2d_detail::valid(s) || !conv2d_detail::gemm_fits(s)) return 0;
    if (version == Tf32Version::v6_wgmma) return conv2d_tf32_wgmma::backward_weight_workspace_bytes(s);
    if (is_staged(version)) return conv2d_tf32_nhwc::backward_weight_workspace_bytes(s);
    const conv2d_detail::SlicePlan plan = conv2d_backward_weight_tf32_plan(s, version);
    if (plan.slices <= 1) return 0;
    return static_cast<size_t>(plan.slices) * static_cast<size_t>(s.O * s.Cg() * s.KH * s.KW) * sizeof(float);
}

/// dw [O, C/groups, KH, KW] is overwritten (zeros for an empty batch). `workspace` holds at least
/// conv2d_backward_weight_tf32_workspace_bytes(s, version) bytes of device memory (may be null
/// when 0) and must stay valid until the work on `stream` is done.
inline cudaError_t conv2d_backward_weight_tf32(const float* x, const float* dy, float* dw, const Conv2dShape& s,
                                               void* workspace, size_t workspace_bytes, cudaStream_t stream = nullptr,
                                               Tf32Version version = Tf32Version::v4_mma_two_blocks) {
    version = effective_tf32_version(s, version);
    namespace d = conv2d_tf32_detail;
    if (!conv2d_detail::valid(s) || !conv2d_detail::gemm_fits(s)) return cudaErrorInvalidValue;
    const int64_t total = s.O * s.Cg() * s.KH * s.KW;
    if (total == 0) return cudaSuccess;
    if (version == Tf32Version::v6_wgmma)  // its own staging (both operands K-major), plan and workspace
        return conv2d_tf32_wgmma::backward_weight(x, dy, dw, s, workspace, workspace_bytes, stream);
    if (is_staged(version)) return conv2d_tf32_nhwc::backward_weight(x, dy, dw, s, workspace, workspace_bytes, stream);
    const conv2d_detail::SlicePlan plan = conv2d_backward_weight_tf32_plan(s, version);
    const bool split = plan.slices > 1;
    if (split && (!workspace || workspace_bytes < conv2d_backward_weight_tf32_workspace_bytes(s, version)))
        return cudaErrorInvalidValue;
    float* target = split ? static_cast<float*>(workspace) : dw;
    cudaError_t status;
    if (is_v4(version)) {
        status = conv2d_tf32_mma::backward_weight(x, dy, target, s, plan, v4_min_blocks(version), stream);
    } else {
        const auto p = d::backward_weight_problem(x, dy, target, s);
        status = d::launch_tf32_for(p, int(s.groups), plan.slices, plan.k_slice, stream);
    }
    if (status != cudaSuccess || !split) return status;
    return conv2d_detail::sum_slices<float>(target, dw, total, plan.slices, stream);
}

}  // namespace seam::kernels

#endif  // defined(__CUDACC__)
