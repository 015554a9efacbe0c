// kernels/seam/conv2d_tf32_mma.cuh — version 4 of the TF32 convolution (kernels/seam/conv2d_tf32.cuh
// holds the launchers and version 3): forward, backward-data and backward-weight of float tensors
// as implicit GEMMs on the tensor cores, with mma.sync.m16n8k8 and a 3-stage cp.async pipeline.
// Raw device pointers and conv2d.cuh's Conv2dShape/Dims/problems; compiles only under nvcc.
//
// What it computes: exactly version 3's GEMMs (conv2d.cuh's definitions), one group per blockIdx.z:
//   forward          Y[o, q]  = Σ_k W[o, k] · X̂[k, q]    q = (n, oh, ow), k = (c, ki, kj)
//   backward-data    dX[c, p] = Σ_k Ŵ[c, k] · dŶ[k, p]   p = (n, h, w),   k = (o, ki, kj)
//   backward-weight  dW[o, k] = Σ_q dY[o, q] · X̂[k, q]   (K split into slices, partials summed in
//                                                       slice order in double by conv2d.cuh)
// Each product a·b uses a and b rounded to TF32 (cvt.rna.tf32.f32: to nearest, ties away from
// zero, 10-bit mantissa), sums are fp32 in the tensor cores: the same rounding as version 3.
//
// Why a version 4: version 3 (wmma, operands staged through registers, one 16-deep K-tile per
// barrier) ran at the fp32 kernels' speed on an H200 (bench/results/gpu-h200-2026-11-27-conv-pool.md:
// 17-32 TFLOP/s, backward-data 7-13x and backward-weight 4-11x cuDNN's TF32 ALGO_1 time): the
// tensor cores waited on the gathers. Version 4 keeps the gathers off the critical path:
//   * cp.async (4-byte, zero-fill for padding and edges) copies global memory straight to shared
//     memory, three K-tiles in flight, so the gathers' latency hides behind two tiles of MMAs;
//   * each gather costs a few integer operations: A is walked along k by the 32 lanes of a warp
//     (one division per K-tile and thread, then a pointer step per row), B along its columns by
//     the threads (one division per K-tile, then (c, ki, kj) or (n, oh, ow) counters step);
//   * K-tiles of 32 (two barriers' worth of version 3) and a 128 x 128 block tile, 8 warps of
//     64 x 32 (4 x 4 mma tiles of 16 x 8): 16 mma.sync per 24 shared-memory loads per k-step;
//   * shared memory is XOR-swizzled so that both the cp.async writes and every fragment load of a
//     warp hit 32 distinct banks (derivation at a_offset / b_offset below).
//
// Layouts (contiguous, row-major): x, dx [N, C, H, W]; w, dw [O, C/groups, KH, KW];
// y, dy [N, O, OH, OW]; b [O].
//
// Launch shape: grid (ceil(N/128), ceil(M/BM), groups·slices), 256 threads, BM = 128 when the
// GEMM's M exceeds 64, else 64. Dynamic shared memory: 3 stages × (BM·32 + 32·128) floats = 96 KiB
// (BM = 128) or 72 KiB (BM = 64), two blocks per SM on sm_80/sm_90 (the launcher raises the
// kernel's dynamic shared-memory limit and asks for the largest shared-memory carveout).
// Per stage: A as [BM][32] (k contiguous), element (m, k) at m·32 + (k ^ 4·(m mod 8));
// B as [32][128] (n contiguous), element (k, n) at k·128 + (n ^ 8·(k mod 4)).
//
// Fragments (PTX ISA, mma.m16n8k8 with .tf32; lane = 4·gid + tig):
//   A 16x8 (row):  a0 (gid, tig)  a1 (gid+8, tig)  a2 (gid, tig+4)  a3 (gid+8, tig+4)
//   B 8x8  (col):  b0 (k = tig, n = gid)  b1 (k = tig+4, n = gid)
//   C 16x8:        c0 (gid, 2tig)  c1 (gid, 2tig+1)  c2 (gid+8, 2tig)  c3 (gid+8, 2tig+1)
//
// Every per-thread decision (which element a thread copies where, which shared-memory element
// lands in which fragment register, where each accumulator goes) is a __host__ __device__
// function here, so tests/cuda/test_conv_kernel_logic.cu replays whole launches on the CPU with
// an independent model of the mma instruction. What the CPU cannot check: the pipeline's
// wait_group/barrier order (argued at the loop), and speed.
//
// Measured (NVIDIA H200, bench/results/gpu-h200-2026-11-27-run2.md, VGG-16 at batch 32, two blocks an
// SM): forward 0.46-2.81 ms (up to 63 TFLOP/s), backward-data 0.79-4.6 ms, backward-weight 0.69-3.6
// ms — faster than version 3, still far from cuDNN's TF32 (ALGO_1: 3-10x faster on the backward
// passes); see conv2d_tf32.cuh's version list for what to try next.
//
// Architectures: sm_80 and newer (the body is a trap below; the launchers refuse before that).
// Limits: those of conv2d.cuh's version 2 (32-bit indices inside a group's GEMM).
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "seam/conv2d.cuh"

namespace seam::kernels::conv2d_tf32_mma {

namespace cd = conv2d_detail;

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kWarpsM = 2, kWarpsN = 4;       // warp grid of a block
constexpr int kBN = 128;                      // block tile columns
constexpr int kBK = 32;                       // K-tile depth
constexpr int kBPer = kBK * kBN / kThreads;   // B elements a thread copies per K-tile (16)

/// The block tile: its shared-memory layout and which thread does what. Stages: K-tiles in flight.
template <int BM, int Stages = 4>
struct Tile {
    static_assert(BM == 64 || BM == 128, "block tile rows: 64 or 128");
    static constexpr int STAGES = Stages;
    static constexpr int WM = BM / kWarpsM, WN = kBN / kWarpsN;  // warp tile: 64 or 32 rows, 32 columns
    static constexpr int MF = WM / 16, NF = WN / 8;              // mma tiles per warp: 4 or 2, 4
    static constexpr int A_ROWS = BM / kWarps;                   // A rows a thread copies per K-tile
    static constexpr int A_FLOATS = BM * kBK, B_FLOATS = kBK * kBN;
    static constexpr int STAGE_FLOATS = A_FLOATS + B_FLOATS;
    static constexpr size_t SMEM_BYTES = size_t(Stages) * STAGE_FLOATS * sizeof(float);

    // Shared memory. A fragment load reads rows gid (+8) and k = tig (+4): with k contiguous, the
    // plain address m·32 + k would put the 8 rows on the same 4 banks; XOR-ing bits 2..4 of k
    // with m mod 8 spreads them over all 32 (bank = 4·(gid ^ ·) + tig). The copy writes one row's
    // 32 k per warp: k ^ const is a permutation, still 32 banks.
    __host__ __device__ static int a_offset(int m, int k) { return m * kBK + (k ^ ((m & 7) << 2)); }
    // B fragment loads read n = gid and k = tig (+4): with n contiguous, k·128 + n would give 8
    // banks; XOR-ing bits 3..4 of n with k mod 4 makes it gid + 8·tig: 32 banks. The copy writes
    // 32 consecutive n of one k per warp: again a permutation.
    __host__ __device__ static int b_offset(int k, int n) { return k * kBN + (n ^ ((k & 3) << 3)); }

    // Copies. A: lane = k within the tile, rows warp + 8·i (i < A_ROWS): a warp reads one row's
    // 32 consecutive k (contiguous in memory for the forward's weights and backward-weight's dy).
    __host__ __device__ static int a_copy_k(int tid) { return tid % 32; }
    __host__ __device__ static int a_copy_row(int tid, int i) { return tid / 32 + kWarps * i; }
    // B: thread tid copies column n = tid % 128 at k = 16·(tid / 128) + e (e < 16): a warp reads
    // 32 consecutive columns of one k (consecutive pixels: contiguous for the forward and
    // backward-data), and each thread walks its k with counters instead of divisions.
    __host__ __device__ static int b_copy_n(int tid) { return tid % kBN; }
    __host__ __device__ static int b_copy_k(int tid) { return (tid / kBN) * kBPer; }

    // Warps and fragments (rows and columns within the block tile; ks = the k-step of 8 in a K-tile).
    __host__ __device__ static int warp_row(int warp) { return (warp / kWarpsN) * WM; }
    __host__ __device__ static int warp_col(int warp) { return (warp % kWarpsN) * WN; }
    __host__ __device__ static int a_frag_row(int warp, int lane, int mi, int j) {
        return warp_row(warp) + mi * 16 + lane / 4 + (j & 1) * 8;
    }
    __host__ __device__ static int a_frag_k(int lane, int ks, int j) { return ks * 8 + lane % 4 + (j >> 1) * 4; }
    __host__ __device__ static int b_frag_col(int warp, int lane, int ni) { return warp_col(warp) + ni * 8 + lane / 4; }
    __host__ __device__ static int b_frag_k(int lane, int ks, int j) { return ks * 8 + lane % 4 + j * 4; }
    __host__ __device__ static int c_frag_row(int warp, int lane, int mi, int j) {
        return warp_row(warp) + mi * 16 + lane / 4 + (j >> 1) * 8;
    }
    __host__ __device__ static int c_frag_col(int warp, int lane, int ni, int j) {
        return warp_col(warp) + ni * 8 + (lane % 4) * 2 + (j & 1);
    }
};

inline int block_rows(int64_t M) { return M > 64 ? 128 : 64; }

// ----- where the operands come from -------------------------------------------------------------
// Each source gives, for A (walked along k): the row pointer a_row(g, m), the distance between
// consecutive rows a_row_stride(), and the offset of column k within a row a_koff(k); for B
// (walked along k down one column): the column b_col(g, n), a counter b_cursor(k) with b_step, and
// b_src(col, cursor, valid): the element's address, valid = false for padding, edges and n ≥ N.

/// Forward: A = w_g [Og, Cg·KH·KW] (rows contiguous), B = the implicit im2col of x. FKH, FKW > 0:
/// instantiated for that kernel size (the divisions by it become multiply-and-shift).
template <int FKH = 0, int FKW = 0>
struct ForwardSource {
    const float* x;
    const float* w;
    cd::Dims d;
    int M, N, K;

    __host__ __device__ int kh() const { return cd::KernelSize<FKH, FKW>::kh(d); }
    __host__ __device__ int kw() const { return cd::KernelSize<FKH, FKW>::kw(d); }
    __host__ __device__ int taps() const { return cd::KernelSize<FKH, FKW>::taps(d); }

    __host__ __device__ const float* a_row(int g, int m) const { return w + (int64_t(g) * d.Og + m) * K; }
    __host__ __device__ int64_t a_row_stride() const { return K; }
    __host__ __device__ int64_t a_koff(int k) const { return k; }
    __host__ __device__ const float* a_any() const { return w; }

    struct Col {
        const float* base;  // x at (n, g·Cg, 0, 0)
        int ih0, iw0;
        bool valid;
    };
    struct Cursor {
        int c, ki, kj;
    };
    __host__ __device__ Col b_col(int g, int n) const {
        if (n >= N) return {x, 0, 0, false};
        const int img = n / d.out_pixels, pix = n - img * d.out_pixels;
        const int oh = pix / d.OW, ow = pix - oh * d.OW;
        return {x + (int64_t(img) * d.C + int64_t(g) * d.Cg) * d.in_pixels, oh * d.sh - d.ph, ow * d.sw - d.pw, true};
    }
    __host__ __device__ Cursor b_cursor(int k) const {
        const int c = k / taps(), tap = k - c * taps();
        const int ki = tap / kw();
        return {c, ki, tap - ki * kw()};
    }
    __host__ __device__ void b_step(Cursor& u) const {
        if (++u.kj == kw()) {
            u.kj = 0;
            if (++u.ki == kh()) u.ki = 0, ++u.c;
        }
    }
    __host__ __device__ const float* b_src(const Col& col, const Cursor& u, bool& valid) const {
        const int ih = col.ih0 + u.ki * d.dh, iw = col.iw0 + u.kj * d.dw;
        valid = col.valid && unsigned(ih) < unsigned(d.H) && unsigned(iw) < unsigned(d.W);
        return valid ? col.base + int64_t(u.c) * d.in_pixels + ih * d.W + iw : x;
    }
};

/// Backward-data: A[c, (o, tap)] = w[g·Og + o, c, tap], B[(o, ki, kj), (n, h, w)] = dy at the
/// output whose tap (ki, kj) lands on (h, w), 0 where none does.
template <int FKH = 0, int FKW = 0>
struct BackwardDataSource {
    const float* w;
    const float* dy;
    cd::Dims d;
    int M, N, K;

    __host__ __device__ int kh() const { return cd::KernelSize<FKH, FKW>::kh(d); }
    __host__ __device__ int kw() const { return cd::KernelSize<FKH, FKW>::kw(d); }
    __host__ __device__ int taps() const { return cd::KernelSize<FKH, FKW>::taps(d); }

    __host__ __device__ const float* a_row(int g, int m) const {
        return w + int64_t(g) * d.Og * d.Cg * taps() + int64_t(m) * taps();
    }
    __host__ __device__ int64_t a_row_stride() const { return taps(); }
    __host__ __device__ int64_t a_koff(int k) const {
        const int o = k / taps();
        return int64_t(o) * d.Cg * taps() + (k - o * taps());
    }
    __host__ __device__ const float* a_any() const { return w; }

    struct Col {
        const float* base;  // dy at (n, g·Og, 0, 0)
        int th, tw;         // h + ph, w + pw
        bool valid;
    };
    struct Cursor {
        int o, ki, kj;
    };
    __host__ __device__ Col b_col(int g, int n) const {
        if (n >= N) return {dy, 0, 0, false};
        const int img = n / d.in_pixels, pix = n - img * d.in_pixels;
        const int h = pix / d.W, w_ = pix - h * d.W;
        return {dy + (int64_t(img) * d.O + int64_t(g) * d.Og) * d.out_pixels, h + d.ph, w_ + d.pw, true};
    }
    __host__ __device__ Cursor b_cursor(int k) const {
        const int o = k / taps(), tap = k - o * taps();
        const int ki = tap / kw();
        return {o, ki, tap - ki * kw()};
    }
    __host__ __device__ void b_step(Cursor& u) const {
        if (++u.kj == kw()) {
            u.kj = 0;
            if (++u.ki == kh()) u.ki = 0, ++u.o;
        }
    }
    __host__ __device__ const float* b_src(const Col& col, const Cursor& u, bool& valid) const {
        int oh = col.th - u.ki * d.dh, ow = col.tw - u.kj * d.dw;
        valid = col.valid && oh >= 0 && ow >= 0;
        if (d.sh != 1) {
            valid = valid && oh % d.sh == 0;
            oh /= d.sh;
        }
        if (d.sw != 1) {
            valid = valid && ow % d.sw == 0;
            ow /= d.sw;
        }
        valid = valid && oh < d.OH && ow < d.OW;
        return valid ? col.base + int64_t(u.o) * d.out_pixels + oh * d.OW + ow : dy;
    }
};

/// Backward-weight: A[o, q] = dy[n, g·Og + o, oh, ow] with q = (n, oh, ow), B[q, (c, ki, kj)] = x at
/// the input the tap reads for output q.
struct BackwardWeightSource {
    const float* x;
    const float* dy;
    cd::Dims d;
    int M, N, K;

    __host__ __device__ const float* a_row(int g, int m) const { return dy + (int64_t(g) * d.Og + m) * d.out_pixels; }
    __host__ __device__ int64_t a_row_stride() const { return d.out_pixels; }
    __host__ __device__ int64_t a_koff(int q) const {
        const int img = q / d.out_pixels;
        return int64_t(img) * d.O * d.out_pixels + (q - img * d.out_pixels);
    }
    __host__ __device__ const float* a_any() const { return dy; }

    struct Col {
        const float* base;   // x at (0, g·Cg + c, 0, 0)
        int hoff, woff;      // ki·dh - ph, kj·dw - pw
        bool valid;
    };
    struct Cursor {
        int img, oh, ow;
    };
    __host__ __device__ Col b_col(int g, int n) const {
        if (n >= N) return {x, 0, 0, false};
        const int c = n / d.taps, tap = n - c * d.taps;
        const int ki = tap / d.KW, kj = tap - ki * d.KW;
        return {x + (int64_t(g) * d.Cg + c) * d.in_pixels, ki * d.dh - d.ph, kj * d.dw - d.pw, true};
    }
    __host__ __device__ Cursor b_cursor(int q) const {
        const int img = q / d.out_pixels, pix = q - img * d.out_pixels;
        const int oh = pix / d.OW;
        return {img, oh, pix - oh * d.OW};
    }
    __host__ __device__ void b_step(Cursor& u) const {
        if (++u.ow == d.OW) {
            u.ow = 0;
            if (++u.oh == d.OH) u.oh = 0, ++u.img;
        }
    }
    __host__ __device__ const float* b_src(const Col& col, const Cursor& u, bool& valid) const {
        const int ih = u.oh * d.sh + col.hoff, iw = u.ow * d.sw + col.woff;
        valid = col.valid && unsigned(ih) < unsigned(d.H) && unsigned(iw) < unsigned(d.W);
        return valid ? col.base + int64_t(u.img) * d.C * d.in_pixels + ih * d.W + iw : x;
    }
};

/// One thread's copies of a K-tile, resolved once per block. load(k0, k_end, copy) calls
/// copy(offset, src, valid) for every element the thread copies: offset within the stage (A at
/// [0, A_FLOATS), B after it), src its global address (a harmless in-bounds address when !valid:
/// then the element is zero-filled, nothing is read).
template <int BM, class Source>
struct ThreadCopies {
    using Cfg = Tile<BM>;  // (the copies do not depend on the stage count)
    int tid, a_k, b_n, b_k;
    const float* a_first;  // A row m0 + a_copy_row(tid, 0)
    int64_t a_step;        // the 8 rows from a_copy_row(tid, i) to a_copy_row(tid, i + 1)
    unsigned a_rows;       // bit i: row m0 + a_copy_row(tid, i) < M
    typename Source::Col col;

    __host__ __device__ ThreadCopies(const Source& s, int tid, int g, int m0, int n0)
        : tid(tid), a_k(Cfg::a_copy_k(tid)), b_n(Cfg::b_copy_n(tid)), b_k(Cfg::b_copy_k(tid)) {
        const int first = m0 + Cfg::a_copy_row(tid, 0);
        a_first = s.a_row(g, first < s.M ? first : 0);
        a_step = int64_t(kWarps) * s.a_row_stride();
        a_rows = 0;
        for (int i = 0; i < Cfg::A_ROWS; ++i)
            if (first + kWarps * i < s.M) a_rows |= 1u << i;
        col = s.b_col(g, n0 + b_n);
    }

    // Copy is a device function in the kernel and a host one in the CPU emulation.
#pragma nv_exec_check_disable
    template <class Copy>
    __host__ __device__ void load(const Source& s, int k0, int k_end, Copy&& copy) const {
        const int ka = k0 + a_k;
        const bool ka_valid = ka < k_end;
        const int64_t koff = ka_valid ? s.a_koff(ka) : 0;
SEAM_CONV_UNROLL
        for (int i = 0; i < Cfg::A_ROWS; ++i) {
            const bool valid = ka_valid && ((a_rows >> i) & 1u);
            copy(Cfg::a_offset(Cfg::a_copy_row(tid, i), a_k), valid ? a_first + i * a_step + koff : s.a_any(), valid);
        }
        const int kb = k0 + b_k;
        auto u = s.b_cursor(kb);
SEAM_CONV_UNROLL
        for (int e = 0; e < kBPer; ++e) {
            bool valid = false;
            const float* src = s.b_src(col, u, valid);
            valid = valid && kb + e < k_end;
            copy(Cfg::A_FLOATS + Cfg::b_offset(b_k + e, b_n), valid ? src : s.a_any(), valid);
            s.b_step(u);
        }
    }
};

// ----- the device side ----------------------------------------------------------------------------

#if defined(__CUDA_ARCH__)
__device__ inline void cp_async_f32(float* smem_dst, const float* src, bool valid) {
    const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 4 : 0));
}
__device__ inline void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int Pending>
__device__ inline void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
}
__device__ inline uint32_t to_tf32(float v) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(v));
    return r;
}
__device__ inline void mma_tf32(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif

/// Two occupancies, both kept for the bench (the GPU decides): MinBlocks = 1 lets ptxas use up to
/// 255 registers (it takes 168-222, no spills) and runs 4 stages (128 KiB for BM = 128); MinBlocks
/// = 2 caps registers at 128 (ptxas spills up to 88 bytes for BM = 128) for two blocks an SM with
/// 3 stages (96 KiB each).
template <int MinBlocks>
__host__ __device__ constexpr int stages_for() { return MinBlocks == 1 ? 4 : 3; }

/// The kernel. Grid: x over N tiles, y over M tiles, z = group · slices + slice; slice s covers
/// K range [s·k_slice, min(K, (s+1)·k_slice)), k_slice a multiple of kBK. Store: conv2d.cuh's
/// problem of the same pass (c_col / c_store: where C[m, n] goes).
template <int BM, int MinBlocks, class Source, class Store>
__global__ void __launch_bounds__(kThreads, MinBlocks) tf32_mma_kernel(Source s, Store st, int slices, int k_slice) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
    __trap();  // no TF32 tensor cores below sm_80; the launchers refuse before launching this
#elif defined(__CUDA_ARCH__)
    using Cfg = Tile<BM, stages_for<MinBlocks>()>;
    constexpr int kStages = Cfg::STAGES;
    extern __shared__ __align__(16) float smem[];
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int g = blockIdx.z / slices, slice = blockIdx.z % slices;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * kBN;
    const int k_begin = slice * k_slice;
    const int k_end = s.K - k_begin < k_slice ? s.K : k_begin + k_slice;
    const int tiles = k_begin < k_end ? (k_end - k_begin + kBK - 1) / kBK : 0;

    const ThreadCopies<BM, Source> copies(s, tid, g, m0, n0);
    auto load = [&](int t) {
        float* stage = smem + (t % kStages) * Cfg::STAGE_FLOATS;
        copies.load(s, k_begin + t * kBK, k_end,
                    [&](int offset, const float* src, bool valid) { cp_async_f32(stage + offset, src, valid); });
    };

    float acc[Cfg::MF][Cfg::NF][4];
SEAM_CONV_UNROLL
    for (int i = 0; i < Cfg::MF; ++i)
SEAM_CONV_UNROLL
        for (int j = 0; j < Cfg::NF; ++j)
SEAM_CONV_UNROLL
            for (int v = 0; v < 4; ++v) acc[i][j][v] = 0.0f;

    // Pipeline. One commit group per K-tile, committed even when empty, so that before iteration
    // t exactly kStages - 1 + t groups exist and wait_group(kStages - 2) leaves tile t's complete.
    // The barrier after it makes every thread's copies of tile t visible, and also means every
    // warp has finished computing tile t - 1, whose stage ((t - 1) % kStages = (t + kStages - 1)
    // % kStages) the copies issued next overwrite.
SEAM_CONV_UNROLL
    for (int t = 0; t < kStages - 1; ++t) {
        if (t < tiles) load(t);
        cp_async_commit();
    }
    for (int t = 0; t < tiles; ++t) {
        cp_async_wait<kStages - 2>();
        __syncthreads();
        if (t + kStages - 1 < tiles) load(t + kStages - 1);
        cp_async_commit();

        const float* As = smem + (t % kStages) * Cfg::STAGE_FLOATS;
        const float* Bs = As + Cfg::A_FLOATS;
SEAM_CONV_UNROLL
        for (int ks = 0; ks < kBK / 8; ++ks) {
            uint32_t a[Cfg::MF][4], b[Cfg::NF][2];
SEAM_CONV_UNROLL
            for (int i = 0; i < Cfg::MF; ++i)
SEAM_CONV_UNROLL
                for (int j = 0; j < 4; ++j)
                    a[i][j] = to_tf32(As[Cfg::a_offset(Cfg::a_frag_row(warp, lane, i, j), Cfg::a_frag_k(lane, ks, j))]);
SEAM_CONV_UNROLL
            for (int i = 0; i < Cfg::NF; ++i)
SEAM_CONV_UNROLL
                for (int j = 0; j < 2; ++j)
                    b[i][j] = to_tf32(Bs[Cfg::b_offset(Cfg::b_frag_k(lane, ks, j), Cfg::b_frag_col(warp, lane, i))]);
SEAM_CONV_UNROLL
            for (int i = 0; i < Cfg::MF; ++i)
SEAM_CONV_UNROLL
                for (int j = 0; j < Cfg::NF; ++j) mma_tf32(acc[i][j], a[i], b[j]);
        }
    }
    cp_async_wait<0>();  // only empty groups can remain; nothing may be in flight at exit

    // Epilogue: straight from the accumulators (each C element has one owner: no shared memory).
SEAM_CONV_UNROLL
    for (int j = 0; j < Cfg::NF; ++j)
SEAM_CONV_UNROLL
        for (int jc = 0; jc < 2; ++jc) {
            const int n = n0 + Cfg::c_frag_col(warp, lane, j, jc);
            if (n >= s.N) continue;
            const auto out = st.c_col(g, slice, n);
SEAM_CONV_UNROLL
            for (int i = 0; i < Cfg::MF; ++i)
SEAM_CONV_UNROLL
                for (int jr = 0; jr < 2; ++jr) {
                    const int m = m0 + Cfg::c_frag_row(warp, lane, i, 2 * jr);
                    if (m < s.M) st.c_store(out, m, acc[i][j][2 * jr + jc]);
                }
        }
#endif
}

/// cudaSuccess when the current device and the binary's code for it can run the TF32 kernel
/// `kernel`; cudaErrorNotSupported below compute capability 8.0 or when the code was compiled for a
/// virtual architecture below compute_80 (whose kernel body is a trap); or the query's own error.
template <class Kernel>
inline cudaError_t tf32_kernel_usable(Kernel* kernel) {
    int device = 0, major = 0;
    cudaError_t status = cudaGetDevice(&device);
    if (status == cudaSuccess) status = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
    if (status != cudaSuccess) return status;
    if (major < 8) return cudaErrorNotSupported;
    cudaFuncAttributes attributes{};
    status = cudaFuncGetAttributes(&attributes, kernel);
    if (status != cudaSuccess) return status;
    return attributes.ptxVersion >= 80 ? cudaSuccess : cudaErrorNotSupported;
}

template <int BM, int MinBlocks, class Source, class Store>
inline cudaError_t launch(const Source& s, const Store& st, int groups, int slices, int k_slice, cudaStream_t stream) {
    using Cfg = Tile<BM, stages_for<MinBlocks>()>;
    const int64_t grid_n = (int64_t(s.N) + kBN - 1) / kBN, grid_m = (int64_t(s.M) + BM - 1) / BM;
    if (grid_n == 0 || grid_m == 0) return cudaSuccess;
    if (grid_m > 65535 || int64_t(groups) * slices > 65535) return cudaErrorInvalidConfiguration;
    auto* kernel = tf32_mma_kernel<BM, MinBlocks, Source, Store>;
    cudaError_t status = tf32_kernel_usable(kernel);
    if (status != cudaSuccess) return status;
    // Over 48 KiB of dynamic shared memory needs the opt-in; the carveout asks for the largest
    // shared-memory configuration (for MinBlocks = 2: where two blocks fit on an SM).
    status = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Cfg::SMEM_BYTES));
    if (status == cudaSuccess)
        status = cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared);
    if (status != cudaSuccess) return status;
    const dim3 grid(static_cast<unsigned>(grid_n), static_cast<unsigned>(grid_m), static_cast<unsigned>(groups * slices));
    kernel<<<grid, kThreads, Cfg::SMEM_BYTES, stream>>>(s, st, slices, k_slice);
    return cudaGetLastError();
}

template <class Source, class Store>
inline cudaError_t launch_for(const Source& s, const Store& st, int groups, int slices, int k_slice, int min_blocks,
                              cudaStream_t stream) {
    if (min_blocks == 2) {
        if (block_rows(s.M) == 128) return launch<128, 2>(s, st, groups, slices, k_slice, stream);
        return launch<64, 2>(s, st, groups, slices, k_slice, stream);
    }
    if (block_rows(s.M) == 128) return launch<128, 1>(s, st, groups, slices, k_slice, stream);
    return launch<64, 1>(s, st, groups, slices, k_slice, stream);
}

// ----- the three passes (the launchers of conv2d_tf32.cuh call these after their checks) ----------

inline cudaError_t forward(const float* x, const float* w, const float* bias, float* y, const Conv2dShape& s,
                           int min_blocks, cudaStream_t stream) {
    const cd::Dims d = cd::dims_of(s);
    const int M = int(s.Og()), N = int(s.N * s.OH * s.OW), K = int(s.Cg() * s.KH * s.KW);
    const cd::ForwardProblem<float> store{x, w, bias, y, d, M, N, K};
    const int k_slice = K > 0 ? (K + kBK - 1) / kBK * kBK : kBK;
    if (s.KH == 3 && s.KW == 3)
        return launch_for(ForwardSource<3, 3>{x, w, d, M, N, K}, store, int(s.groups), 1, k_slice, min_blocks, stream);
    return launch_for(ForwardSource<>{x, w, d, M, N, K}, store, int(s.groups), 1, k_slice, min_blocks, stream);
}

inline cudaError_t backward_data(const float* w, const float* dy, float* dx, const Conv2dShape& s, int min_blocks,
                                 cudaStream_t stream) {
    const cd::Dims d = cd::dims_of(s);
    const int M = int(s.Cg()), N = int(s.N * s.H * s.W), K = int(s.Og() * s.KH * s.KW);
    const cd::BackwardDataProblem<float> store{w, dy, dx, d, M, N, K};
    const int k_slice = K > 0 ? (K + kBK - 1) / kBK * kBK : kBK;
    if (s.KH == 3 && s.KW == 3)
        return launch_for(BackwardDataSource<3, 3>{w, dy, d, M, N, K}, store, int(s.groups), 1, k_slice, min_blocks, stream);
    return launch_for(BackwardDataSource<>{w, dy, d, M, N, K}, store, int(s.groups), 1, k_slice, min_blocks, stream);
}

/// Backward-weight's split of K: version 2's first plan (shape only) with k_slice rounded up to kBK.
inline cd::SlicePlan backward_weight_slices(const Conv2dShape& s) {
    cd::SlicePlan plan = cd::backward_weight_slices(s);
    const int64_t K = s.N * s.OH * s.OW;
    int64_t k_slice = (int64_t(plan.k_slice) + kBK - 1) / kBK * kBK;
    int64_t slices = (K + k_slice - 1) / k_slice;
    if (slices < 1) slices = 1;
    return {static_cast<int>(slices), static_cast<int>(k_slice)};
}

/// `out`: dw itself when plan.slices == 1, else the workspace of plan.slices partial dw.
inline cudaError_t backward_weight(const float* x, const float* dy, float* out, const Conv2dShape& s,
                                   const cd::SlicePlan& plan, int min_blocks, cudaStream_t stream) {
    const cd::Dims d = cd::dims_of(s);
    const int M = int(s.Og()), N = int(s.Cg() * s.KH * s.KW), K = int(s.N * s.OH * s.OW);
    const cd::BackwardWeightProblem<float, false> store{x, dy, out, d, M, N, K};
    return launch_for(BackwardWeightSource{x, dy, d, M, N, K}, store, int(s.groups), plan.slices, plan.k_slice, min_blocks, stream);
}

}  // namespace seam::kernels::conv2d_tf32_mma

#endif  // defined(__CUDACC__)
