// kernels/seam/winograd.cuh — 3x3 convolution by Winograd's minimal filtering F(2x2, 3x3), forward,
// backward-data and backward-weight, "non-fused": transform kernels written here, the 16 products
// of transformed tiles as one strided-batched GEMM in cuBLAS (fp32 or fp64, never TF32).
//
// What it computes: exactly conv2d.cuh's definitions for the convolutions it serves — 3x3 kernel,
// stride 1, dilation 1, groups 1, padding at most 2 each side (winograd_applicable) — up to
// rounding: the transforms add and halve, so results differ from the direct sum by a few units in
// the last place of the largest terms (tests/cuda/test_winograd_kernel_logic.cu bounds it).
//
// The algorithm (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): a 2x2
// output tile y of a 3x3 correlation with filter g over a 4x4 input tile d is
//   y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,  with
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
//   Aᵀ = [1 1 1 0; 0 1 -1 -1]:
// 16 multiplications where the direct tile takes 36. Summed over input channels, each of the 16
// positions ξ of the transformed tile is a GEMM:  M[ξ](O x P) = U[ξ](O x C) · V[ξ](C x P), with
// U = G g Gᵀ per (o, c), V = Bᵀ d B per (c, tile), P = N · ceil(OH/2) · ceil(OW/2) tiles.
//   forward          U from w, V from x (padding ph, pw), y = Aᵀ M A (+ bias)
//   backward-data    the forward of dy with the filter flipped in both axes and transposed
//                    (U[ξ](C x O) from w[o, c, 2-ki, 2-kj]) and padding 2 - ph, 2 - pw: dx = Aᵀ M A
//   backward-weight  the dual F(3x3, 2x2) (the transposition principle applied to the forward's
//                    identity): per tile, dw += Gᵀ [ (A u Aᵀ) ⊙ (Bᵀ d B) ] G with u the 2x2 tile of
//                    dy and d the 4x4 tile of x the forward read; summed over tiles first:
//                    M[ξ](O x C) = Ũ[ξ](O x P) · V[ξ](C x P)ᵀ, then dw = Gᵀ M G.
//
// Layouts: x, dx [N, C, H, W]; w, dw [O, C, 3, 3]; y, dy [N, O, OH, OW] (contiguous); workspace:
// the transformed operands [16][rows][cols] row-major, one after the other. The batch is processed
// in chunks of images whose workspace fits winograd_workspace_cap (chunks by shape only, so the
// additions — backward-weight's accumulation over chunks in chunk order — are the same on every
// GPU and run).
//
// Launch shapes: every transform is one thread per (channel, tile) or per (o, c), 256-thread
// blocks, grid-stride; the launchers return the first CUDA error (cudaErrorUnknown for a cuBLAS
// failure), as conv2d.cuh's do, so the file stays usable without seam's runtime. The GEMM is
// cublasGemmStridedBatchedEx with CUBLAS_COMPUTE_32F_PEDANTIC
// (fp32: no TF32 whatever the handle's math mode) or CUBLAS_COMPUTE_64F.
//
// Versions tried: this first one only; checked on the CPU (every transform is a __host__ __device__
// function that the test runs for every thread, with a CPU GEMM in place of cuBLAS, against naive
// convolution loops) and on an H200 (tests/cuda/test_winograd_cuda.cpp; the benches validate it
// against the CPU before timing). Measured there (bench/results/gpu-h200-2026-11-27-conv-pool-run2.md,
// VGG-16 at batch 32): forward and backward-data of conv1_2-conv5 in 0.38-2.7 ms, 1.2-1.5x cuDNN's
// fastest (Winograd) time and 1.6-2.9x faster than seam's implicit GEMM; backward-weight 1.1-2.0x
// cuDNN's from conv2_2 on, but 10x slower than the implicit GEMM on conv1_1 (its 16 products are
// skinny GEMMs over a K of P tiles), hence winograd_worthwhile. The VGG-16 training step with it:
// 32.14 ms against PyTorch eager's 33.82 (cudnn.benchmark on) and 36.92 (off) (-run3.md). Why it
// exists: on an H200,
// cuDNN's fastest fp32 algorithms for VGG-16 are Winograd (WINOGRAD_NONFUSED), 1.5-5.1x faster
// than seam's implicit GEMM (bench/results/gpu-h200-2026-11-27-conv-pool.md), and the training
// step is 1.65-1.80x PyTorch's; 2.25x fewer multiplications is the lever the GEMM tuning lacks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "seam/common.cuh"
#include "seam/conv2d.cuh"

namespace seam::kernels {

/// The convolutions F(2x2, 3x3) serves here.
inline bool winograd_applicable(const Conv2dShape& s) {
    return s.KH == 3 && s.KW == 3 && s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1 && s.groups == 1 && s.ph <= 2 &&
           s.pw <= 2 && s.ph >= 0 && s.pw >= 0 && s.N > 0 && s.C > 0 && s.O > 0;
}

enum class WinogradPass { forward, backward_data, backward_weight };

/// Whether the library's winograd algorithm takes `pass` of `s` (else the implicit GEMM runs it), by
/// the first timing on an NVIDIA H200 (bench/results/gpu-h200-2026-11-27-run2.md, every VGG-16 and
/// Fashion-MNIST layer): backward-data won on every layer; the forward lost only with C ≤ 3 (VGG
/// conv1_1: 1.23 vs 0.49 ms; Fashion-MNIST conv1, C = 1); backward-weight lost while O·C < 16384
/// (VGG conv1_1 13.1 vs 1.3 ms, conv1_2 13.3 vs 6.5, conv2_1 3.5 vs 2.5; Fashion-MNIST conv2 and
/// conv3), its batched GEMM then being a few skinny products over a very long K, and won from
/// conv2_2 (O·C = 16384) on. Shape only, so the choice is the same on every GPU.
inline bool winograd_worthwhile(const Conv2dShape& s, WinogradPass pass) {
    if (!winograd_applicable(s)) return false;
    switch (pass) {
        case WinogradPass::forward: return s.C >= 8;
        case WinogradPass::backward_data: return true;
        case WinogradPass::backward_weight: return s.O * s.C >= 16384;
    }
    return false;
}

namespace winograd_detail {

/// Tiles of one pass: input planes of H x W read with padding (ph, pw), output planes of OH x OW in
/// 2x2 tiles; tile p = (n, ty, tx) of a chunk of `images` images.
struct Tiling {
    int64_t H, W, OH, OW, ph, pw, TH, TW;
    SEAM_HOST_DEVICE int64_t per_image() const { return TH * TW; }
};

inline Tiling tiling(int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t ph, int64_t pw) {
    return {H, W, OH, OW, ph, pw, (OH + 1) / 2, (OW + 1) / 2};
}

/// V = Bᵀ d B of the 4x4 tile at rows r0.., columns c0.. of a plane (outside: zero).
template <class T>
SEAM_HOST_DEVICE void input_tile(const T* plane, int64_t H, int64_t W, int64_t r0, int64_t c0, T (&V)[16]) {
    T d[4][4];
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
            const int64_t r = r0 + i, c = c0 + j;
            d[i][j] = (r >= 0 && r < H && c >= 0 && c < W) ? plane[r * W + c] : T(0);
        }
    T t[4][4];
    for (int j = 0; j < 4; ++j) {
        t[0][j] = d[0][j] - d[2][j];
        t[1][j] = d[1][j] + d[2][j];
        t[2][j] = d[2][j] - d[1][j];
        t[3][j] = d[1][j] - d[3][j];
    }
    for (int i = 0; i < 4; ++i) {
        V[i * 4 + 0] = t[i][0] - t[i][2];
        V[i * 4 + 1] = t[i][1] + t[i][2];
        V[i * 4 + 2] = t[i][2] - t[i][1];
        V[i * 4 + 3] = t[i][1] - t[i][3];
    }
}

/// U = G g Gᵀ of a 3x3 filter g (row-major at g9); flip: g[2 - i][2 - j] instead (backward-data).
template <class T>
SEAM_HOST_DEVICE void filter_tile(const T* g9, bool flip, T (&U)[16]) {
    T g[3][3];
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) g[i][j] = flip ? g9[(2 - i) * 3 + (2 - j)] : g9[i * 3 + j];
    const T half = T(0.5);
    T t[4][3];
    for (int j = 0; j < 3; ++j) {
        t[0][j] = g[0][j];
        t[1][j] = (g[0][j] + g[1][j] + g[2][j]) * half;
        t[2][j] = (g[0][j] - g[1][j] + g[2][j]) * half;
        t[3][j] = g[2][j];
    }
    for (int i = 0; i < 4; ++i) {
        U[i * 4 + 0] = t[i][0];
        U[i * 4 + 1] = (t[i][0] + t[i][1] + t[i][2]) * half;
        U[i * 4 + 2] = (t[i][0] - t[i][1] + t[i][2]) * half;
        U[i * 4 + 3] = t[i][2];
    }
}

/// Y = Aᵀ M A: the 2x2 output tile of a transformed 4x4 product M.
template <class T>
SEAM_HOST_DEVICE void output_tile(const T (&M)[16], T (&Y)[4]) {
    T t[2][4];
    for (int j = 0; j < 4; ++j) {
        t[0][j] = M[0 * 4 + j] + M[1 * 4 + j] + M[2 * 4 + j];
        t[1][j] = M[1 * 4 + j] - M[2 * 4 + j] - M[3 * 4 + j];
    }
    for (int i = 0; i < 2; ++i) {
        Y[i * 2 + 0] = t[i][0] + t[i][1] + t[i][2];
        Y[i * 2 + 1] = t[i][1] - t[i][2] - t[i][3];
    }
}

/// Ũ = A u Aᵀ of the 2x2 tile of dy at rows r0.., columns c0.. (outside OH x OW: zero).
template <class T>
SEAM_HOST_DEVICE void gradient_tile(const T* plane, int64_t OH, int64_t OW, int64_t r0, int64_t c0, T (&Ut)[16]) {
    T u[2][2];
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) {
            const int64_t r = r0 + i, c = c0 + j;
            u[i][j] = (r < OH && c < OW) ? plane[r * OW + c] : T(0);
        }
    T t[4][2];
    for (int j = 0; j < 2; ++j) {
        t[0][j] = u[0][j];
        t[1][j] = u[0][j] + u[1][j];
        t[2][j] = u[0][j] - u[1][j];
        t[3][j] = -u[1][j];
    }
    for (int i = 0; i < 4; ++i) {
        Ut[i * 4 + 0] = t[i][0];
        Ut[i * 4 + 1] = t[i][0] + t[i][1];
        Ut[i * 4 + 2] = t[i][0] - t[i][1];
        Ut[i * 4 + 3] = -t[i][1];
    }
}

/// R = Gᵀ M G: the 3x3 filter gradient of a summed transformed product M.
template <class T>
SEAM_HOST_DEVICE void weight_tile(const T (&M)[16], T (&R)[9]) {
    const T half = T(0.5);
    T t[3][4];
    for (int j = 0; j < 4; ++j) {
        t[0][j] = M[0 * 4 + j] + (M[1 * 4 + j] + M[2 * 4 + j]) * half;
        t[1][j] = (M[1 * 4 + j] - M[2 * 4 + j]) * half;
        t[2][j] = (M[1 * 4 + j] + M[2 * 4 + j]) * half + M[3 * 4 + j];
    }
    for (int i = 0; i < 3; ++i) {
        R[i * 3 + 0] = t[i][0] + (t[i][1] + t[i][2]) * half;
        R[i * 3 + 1] = (t[i][1] - t[i][2]) * half;
        R[i * 3 + 2] = (t[i][1] + t[i][2]) * half + t[i][3];
    }
}

// ----- one thread's work in each transform kernel (the kernels and the CPU test call these) ------

/// Input transform: thread (ch, p) of a chunk starting at image n0; src [N, channels, H, W];
/// out [16][channels][P], P = images · TH · TW.
template <class T>
SEAM_HOST_DEVICE void input_transform_at(const Tiling& tl, const T* src, int64_t channels, int64_t n0, int64_t P,
                                         int64_t ch, int64_t p, T* out) {
    const int64_t n = p / tl.per_image(), rest = p % tl.per_image(), ty = rest / tl.TW, tx = rest % tl.TW;
    T V[16];
    input_tile(src + ((n0 + n) * channels + ch) * tl.H * tl.W, tl.H, tl.W, 2 * ty - tl.ph, 2 * tx - tl.pw, V);
    for (int xi = 0; xi < 16; ++xi) out[(int64_t(xi) * channels + ch) * P + p] = V[xi];
}

/// Filter transform: thread (row, col) of U[16][rows][cols]. Forward: rows = O, cols = C, filter
/// w[row, col]; backward-data (flip): rows = C, cols = O, filter w[col, row] flipped.
template <class T>
SEAM_HOST_DEVICE void filter_transform_at(const T* w, int64_t rows, int64_t cols, bool backward_data, int64_t row,
                                          int64_t col, T* U) {
    const int64_t C = backward_data ? rows : cols;
    const T* g = backward_data ? w + (col * C + row) * 9 : w + (row * C + col) * 9;
    T u[16];
    filter_tile(g, backward_data, u);
    for (int xi = 0; xi < 16; ++xi) U[(int64_t(xi) * rows + row) * cols + col] = u[xi];
}

/// Output transform: thread (ch, p): out [N, channels, OH, OW] at the chunk's images; bias may be null.
template <class T>
SEAM_HOST_DEVICE void output_transform_at(const Tiling& tl, const T* M, int64_t channels, int64_t n0, int64_t P, int64_t ch,
                                          int64_t p, const T* bias, T* out) {
    T m[16], y[4];
    for (int xi = 0; xi < 16; ++xi) m[xi] = M[(int64_t(xi) * channels + ch) * P + p];
    output_tile(m, y);
    const int64_t n = p / tl.per_image(), rest = p % tl.per_image(), ty = rest / tl.TW, tx = rest % tl.TW;
    T* plane = out + ((n0 + n) * channels + ch) * tl.OH * tl.OW;
    const T b = bias ? bias[ch] : T(0);
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) {
            const int64_t r = 2 * ty + i, c = 2 * tx + j;
            if (r < tl.OH && c < tl.OW) plane[r * tl.OW + c] = y[i * 2 + j] + b;
        }
}

/// Gradient-tile transform (backward-weight): thread (o, p): dy [N, O, OH, OW] -> out [16][O][P].
template <class T>
SEAM_HOST_DEVICE void gradient_transform_at(const Tiling& tl, const T* dy, int64_t O, int64_t n0, int64_t P, int64_t o,
                                            int64_t p, T* out) {
    const int64_t n = p / tl.per_image(), rest = p % tl.per_image(), ty = rest / tl.TW, tx = rest % tl.TW;
    T u[16];
    gradient_tile(dy + ((n0 + n) * O + o) * tl.OH * tl.OW, tl.OH, tl.OW, 2 * ty, 2 * tx, u);
    for (int xi = 0; xi < 16; ++xi) out[(int64_t(xi) * O + o) * P + p] = u[xi];
}

/// Weight transform (backward-weight): thread (o, c): M [16][O][C] -> dw [O, C, 3, 3].
template <class T>
SEAM_HOST_DEVICE void weight_transform_at(const T* M, int64_t O, int64_t C, int64_t o, int64_t c, T* dw) {
    T m[16], r[9];
    for (int xi = 0; xi < 16; ++xi) m[xi] = M[(int64_t(xi) * O + o) * C + c];
    weight_tile(m, r);
    for (int k = 0; k < 9; ++k) dw[(o * C + c) * 9 + k] = r[k];
}

/// Images per chunk: the most whose workspace (elements per image · images + fixed) stays within
/// `cap` elements, at least 1. Shape only.
inline int64_t images_per_chunk(int64_t N, int64_t per_image, int64_t fixed, int64_t cap) {
    if (per_image <= 0) return N;
    int64_t n = (cap - fixed) / per_image;
    if (n < 1) n = 1;
    return n < N ? n : N;
}

}  // namespace winograd_detail

/// The workspace cap, in bytes (the chunking keeps each pass below it when one image fits).
inline constexpr size_t winograd_workspace_cap = size_t(1) << 30;

/// Workspace layout of one pass: sizes in elements of its three buffers for a chunk of `images`.
struct WinogradPlan {
    winograd_detail::Tiling tl;
    int64_t images;      // per chunk
    int64_t rows, cols;  // the GEMM's output: [16][rows][cols] (forward: O x P, backward-data: C x P, backward-weight: O x C)
    int64_t k;           // its inner dimension
    size_t a_elems, b_elems, c_elems;
    size_t bytes(size_t elem) const { return (a_elems + b_elems + c_elems) * elem; }
};

/// The plan of one pass; cap_bytes: the workspace cap (the launchers use winograd_workspace_cap; the
/// CPU test passes small ones to exercise the chunking).
template <class T>
inline WinogradPlan winograd_plan(const Conv2dShape& s, WinogradPass pass, size_t cap_bytes = winograd_workspace_cap) {
    namespace wd = winograd_detail;
    WinogradPlan plan{};
    const int64_t cap = int64_t(cap_bytes / sizeof(T));
    if (pass == WinogradPass::backward_data) {
        plan.tl = wd::tiling(s.OH, s.OW, s.H, s.W, 2 - s.ph, 2 - s.pw);
        const int64_t tiles = plan.tl.per_image();
        // U (16·C·O) fixed; per image: V (16·O·tiles) and M (16·C·tiles).
        plan.images = wd::images_per_chunk(s.N, 16 * (s.O + s.C) * tiles, 16 * s.C * s.O, cap);
        const int64_t P = plan.images * tiles;
        plan.rows = s.C, plan.cols = P, plan.k = s.O;
        plan.a_elems = size_t(16 * s.C * s.O), plan.b_elems = size_t(16 * s.O * P), plan.c_elems = size_t(16 * s.C * P);
    } else {
        plan.tl = wd::tiling(s.H, s.W, s.OH, s.OW, s.ph, s.pw);
        const int64_t tiles = plan.tl.per_image();
        // forward: U fixed, V (16·C·tiles) and M (16·O·tiles) per image; backward-weight: Ũ (16·O·tiles)
        // and V (16·C·tiles) per image, M (16·O·C) fixed. The same sizes either way.
        plan.images = wd::images_per_chunk(s.N, 16 * (s.O + s.C) * tiles, 16 * s.C * s.O, cap);
        const int64_t P = plan.images * tiles;
        if (pass == WinogradPass::forward) {
            plan.rows = s.O, plan.cols = P, plan.k = s.C;
            plan.a_elems = size_t(16 * s.O * s.C), plan.b_elems = size_t(16 * s.C * P), plan.c_elems = size_t(16 * s.O * P);
        } else {
            plan.rows = s.O, plan.cols = s.C, plan.k = P;
            plan.a_elems = size_t(16 * s.O * P), plan.b_elems = size_t(16 * s.C * P), plan.c_elems = size_t(16 * s.O * s.C);
        }
    }
    return plan;
}

template <class T>
inline size_t winograd_workspace_bytes(const Conv2dShape& s, WinogradPass pass) {
    return winograd_applicable(s) ? winograd_plan<T>(s, pass).bytes(sizeof(T)) : 0;
}

#if defined(__CUDACC__)

namespace winograd_detail {

template <class T>
__global__ void __launch_bounds__(kThreads) input_transform_kernel(Tiling tl, const T* src, int64_t channels, int64_t n0,
                                                                    int64_t P, T* out) {
    SEAM_GRID_STRIDE_LOOP(i, channels * P) input_transform_at(tl, src, channels, n0, P, i / P, i % P, out);
}
template <class T>
__global__ void __launch_bounds__(kThreads) filter_transform_kernel(const T* w, int64_t rows, int64_t cols,
                                                                     bool backward_data, T* U) {
    SEAM_GRID_STRIDE_LOOP(i, rows * cols) filter_transform_at(w, rows, cols, backward_data, i / cols, i % cols, U);
}
template <class T>
__global__ void __launch_bounds__(kThreads) output_transform_kernel(Tiling tl, const T* M, int64_t channels, int64_t n0,
                                                                     int64_t P, const T* bias, T* out) {
    SEAM_GRID_STRIDE_LOOP(i, channels * P) output_transform_at(tl, M, channels, n0, P, i / P, i % P, bias, out);
}
template <class T>
__global__ void __launch_bounds__(kThreads) gradient_transform_kernel(Tiling tl, const T* dy, int64_t O, int64_t n0,
                                                                       int64_t P, T* out) {
    SEAM_GRID_STRIDE_LOOP(i, O * P) gradient_transform_at(tl, dy, O, n0, P, i / P, i % P, out);
}
template <class T>
__global__ void __launch_bounds__(kThreads) weight_transform_kernel(const T* M, int64_t O, int64_t C, T* dw) {
    SEAM_GRID_STRIDE_LOOP(i, O * C) weight_transform_at(M, O, C, i / C, i % C, dw);
}

/// 16 row-major products C[ξ] (rows x cols) = A[ξ] (rows x k) · B[ξ] (k x cols) (b_transposed: B[ξ]
/// stored cols x k), C = beta·C + A·B, in cuBLAS's column-major terms.
template <class T>
inline cudaError_t batched_gemm(cublasHandle_t h, const T* A, const T* B, T* C, int64_t rows, int64_t cols, int64_t k,
                                bool b_transposed, T beta) {
    const T alpha = T(1);
    const cudaDataType_t type = sizeof(T) == 4 ? CUDA_R_32F : CUDA_R_64F;
    const cublasComputeType_t compute = sizeof(T) == 4 ? CUBLAS_COMPUTE_32F_PEDANTIC : CUBLAS_COMPUTE_64F;
    // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: the column-major view of B's buffer is Bᵀ
    // (or B itself when B is stored transposed), of A's buffer Aᵀ.
    const cublasStatus_t status = cublasGemmStridedBatchedEx(
        h, b_transposed ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, int(cols), int(rows), int(k), &alpha, B, type,
        int(b_transposed ? k : cols), (long long)(k * cols), A, type, int(k), (long long)(rows * k), &beta, C, type,
        int(cols), (long long)(rows * cols), 16, compute, CUBLAS_GEMM_DEFAULT);
    // The launchers report in cudaError_t, as conv2d.cuh's do (no seam runtime needed); a cuBLAS
    // failure has no CUDA code of its own.
    return status == CUBLAS_STATUS_SUCCESS ? cudaSuccess : cudaErrorUnknown;
}

}  // namespace winograd_detail

namespace winograd_detail {

/// The forward and backward-data passes, which differ only in their operands: out (plan.rows
/// channels) = the correlation of src (plan.k channels) with w's filters, transposed and flipped
/// for backward-data, + bias (may be null).
template <class T>
inline cudaError_t filter_pass(cublasHandle_t h, const WinogradPlan& plan, int64_t N, const T* w, bool backward_data,
                               const T* src, const T* bias, T* out, void* workspace, cudaStream_t stream) {
    const int64_t out_channels = plan.rows, in_channels = plan.k;
    T* U = static_cast<T*>(workspace);
    T* V = U + plan.a_elems;
    T* M = V + plan.b_elems;
    filter_transform_kernel<T><<<conv2d_detail::blocks_for(out_channels * in_channels), kThreads, 0, stream>>>(
        w, out_channels, in_channels, backward_data, U);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    for (int64_t n0 = 0; n0 < N; n0 += plan.images) {
        const int64_t images = N - n0 < plan.images ? N - n0 : plan.images, P = images * plan.tl.per_image();
        input_transform_kernel<T><<<conv2d_detail::blocks_for(in_channels * P), kThreads, 0, stream>>>(plan.tl, src, in_channels,
                                                                                                        n0, P, V);
        if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
        if (cudaError_t e = batched_gemm<T>(h, U, V, M, out_channels, P, in_channels, false, T(0)); e != cudaSuccess) return e;
        output_transform_kernel<T><<<conv2d_detail::blocks_for(out_channels * P), kThreads, 0, stream>>>(
            plan.tl, M, out_channels, n0, P, bias, out);
        if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    }
    return cudaSuccess;
}

}  // namespace winograd_detail

/// y [N, O, OH, OW] = conv(x, w) + bias (bias may be null). workspace: winograd_workspace_bytes(s,
/// forward) bytes. The caller checks winograd_applicable(s). h: a cuBLAS handle on `stream`.
template <class T>
inline cudaError_t winograd_forward(cublasHandle_t h, const T* x, const T* w, const T* bias, T* y, const Conv2dShape& s,
                                    void* workspace, cudaStream_t stream) {
    return winograd_detail::filter_pass<T>(h, winograd_plan<T>(s, WinogradPass::forward), s.N, w, false, x, bias, y,
                                           workspace, stream);
}

/// dx [N, C, H, W] from dy and w (every element written).
template <class T>
inline cudaError_t winograd_backward_data(cublasHandle_t h, const T* w, const T* dy, T* dx, const Conv2dShape& s,
                                          void* workspace, cudaStream_t stream) {
    return winograd_detail::filter_pass<T>(h, winograd_plan<T>(s, WinogradPass::backward_data), s.N, w, true, dy,
                                           static_cast<const T*>(nullptr), dx, workspace, stream);
}

/// dw [O, C, 3, 3] from x and dy (overwritten). The chunks' products accumulate in M in chunk order.
template <class T>
inline cudaError_t winograd_backward_weight(cublasHandle_t h, const T* x, const T* dy, T* dw, const Conv2dShape& s,
                                     void* workspace, cudaStream_t stream) {
    namespace wd = winograd_detail;
    const WinogradPlan plan = winograd_plan<T>(s, WinogradPass::backward_weight);
    T* Ut = static_cast<T*>(workspace);
    T* V = Ut + plan.a_elems;
    T* M = V + plan.b_elems;
    for (int64_t n0 = 0; n0 < s.N; n0 += plan.images) {
        const int64_t images = s.N - n0 < plan.images ? s.N - n0 : plan.images, P = images * plan.tl.per_image();
        wd::gradient_transform_kernel<T><<<conv2d_detail::blocks_for(s.O * P), kThreads, 0, stream>>>(plan.tl, dy, s.O, n0, P, Ut);
        wd::input_transform_kernel<T><<<conv2d_detail::blocks_for(s.C * P), kThreads, 0, stream>>>(plan.tl, x, s.C, n0, P, V);
        if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
        if (cudaError_t e = wd::batched_gemm<T>(h, Ut, V, M, s.O, s.C, P, true, n0 == 0 ? T(0) : T(1)); e != cudaSuccess)
            return e;
    }
    wd::weight_transform_kernel<T><<<conv2d_detail::blocks_for(s.O * s.C), kThreads, 0, stream>>>(M, s.O, s.C, dw);
    return cudaGetLastError();
}

#endif  // defined(__CUDACC__)

}  // namespace seam::kernels
