// tests/cuda/test_winograd_kernel_logic.cu — kernels/seam/winograd.cuh run on the CPU (no GPU
// needed: exit 0 pass, 1 fail): every transform kernel's per-thread function for every thread of
// its launch, the launchers' chunk loops, and a plain CPU GEMM in place of cuBLAS's batched one
// (same row-major products, same accumulation over chunks), against naive convolution loops in
// long double, for forward, backward-data and backward-weight, float and double, on random
// shapes (N 1..3, C and O 1..6, maps 1..9 with padding 0..2, odd and even sizes: partial edge
// tiles) and with workspace caps that force one image per chunk. Also checked: the three
// transforms themselves on hand-made tiles (a delta filter reproduces the input; a 2x2 gradient
// tile of a single 1 reproduces the input window), and the plans' buffer sizes.
//
// Tolerance: Winograd's transforms add up to 16 terms and halve, so the error bound grows with the
// magnitudes of the transformed tiles rather than of the direct terms: each element may differ
// from the exact sum by 64·ε·(Σ|direct terms| + the largest |term| of the element's tiles) — a
// bound a wrong transform or a wrong tile misses by orders of magnitude (the mutations tried
// in the commit that added this file changed results by O(1)).
//
//   nvcc -std=c++20 -Iinclude -Ikernels tests/cuda/test_winograd_kernel_logic.cu -o wino && ./wino
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "seam/winograd.cuh"

#include "conv_logic_support.hpp"

namespace {

namespace k = seam::kernels;
namespace wd = seam::kernels::winograd_detail;

int failures = 0;
long long checks = 0;

void expect(bool ok, const std::string& what, double a = 0, double b = 0) {
    ++checks;
    if (ok) return;
    if (++failures <= 25) std::printf("FAIL: %s (%g, %g)\n", what.c_str(), a, b);
}


/// Row-major C[ξ] (rows x cols) = beta·C + A[ξ] (rows x k) · B[ξ] (k x cols, or cols x k when transposed).
template <class T>
void cpu_batched_gemm(const T* A, const T* B, T* C, int64_t rows, int64_t cols, int64_t kk, bool b_transposed, T beta) {
    for (int xi = 0; xi < 16; ++xi)
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j) {
                T acc = T(0);
                for (int64_t q = 0; q < kk; ++q) {
                    const T bv = b_transposed ? B[(xi * cols + j) * kk + q] : B[(xi * kk + q) * cols + j];
                    acc += A[(xi * rows + i) * kk + q] * bv;
                }
                T& c = C[(xi * rows + i) * cols + j];
                c = beta == T(0) ? acc : beta * c + acc;  // cuBLAS: with beta = 0, C is not read
            }
}

template <class T>
void expect_close(const std::vector<T>& got, const std::vector<long double>& want, const std::vector<long double>& mag,
                  long double scale, const std::string& what) {
    const long double eps = std::numeric_limits<T>::epsilon();
    int bad = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const long double diff = std::fabs((long double)got[i] - want[i]);
        if (!(diff <= 64 * eps * (mag[i] + scale) + 1e-300L)) {
            if (++bad <= 3) expect(false, what + " element " + std::to_string(i), double(got[i]), double(want[i]));
        } else {
            ++checks;
        }
    }
}

/// The three launchers' loops, on the CPU (winograd_forward / _backward_data / _backward_weight).
template <class T>
void emulate(const k::Conv2dShape& s, const std::vector<T>& x, const std::vector<T>& w, const std::vector<T>& b,
             const std::vector<T>& dy, size_t cap, std::vector<T>& y, std::vector<T>& dx, std::vector<T>& dw,
             int& chunks_seen) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    {  // forward
        const k::WinogradPlan plan = k::winograd_plan<T>(s, k::WinogradPass::forward, cap);
        std::vector<T> ws(plan.a_elems + plan.b_elems + plan.c_elems, nan);
        T *U = ws.data(), *V = U + plan.a_elems, *M = V + plan.b_elems;
        for (int64_t o = 0; o < s.O; ++o)
            for (int64_t c = 0; c < s.C; ++c) wd::filter_transform_at(w.data(), s.O, s.C, false, o, c, U);
        for (int64_t n0 = 0; n0 < s.N; n0 += plan.images) {
            ++chunks_seen;
            const int64_t images = std::min(plan.images, s.N - n0), P = images * plan.tl.per_image();
            for (int64_t c = 0; c < s.C; ++c)
                for (int64_t p = 0; p < P; ++p) wd::input_transform_at(plan.tl, x.data(), s.C, n0, P, c, p, V);
            cpu_batched_gemm(U, V, M, s.O, P, s.C, false, T(0));
            for (int64_t o = 0; o < s.O; ++o)
                for (int64_t p = 0; p < P; ++p) wd::output_transform_at(plan.tl, M, s.O, n0, P, o, p, b.data(), y.data());
        }
    }
    {  // backward-data
        const k::WinogradPlan plan = k::winograd_plan<T>(s, k::WinogradPass::backward_data, cap);
        std::vector<T> ws(plan.a_elems + plan.b_elems + plan.c_elems, nan);
        T *U = ws.data(), *V = U + plan.a_elems, *M = V + plan.b_elems;
        for (int64_t c = 0; c < s.C; ++c)
            for (int64_t o = 0; o < s.O; ++o) wd::filter_transform_at(w.data(), s.C, s.O, true, c, o, U);
        for (int64_t n0 = 0; n0 < s.N; n0 += plan.images) {
            const int64_t images = std::min(plan.images, s.N - n0), P = images * plan.tl.per_image();
            for (int64_t o = 0; o < s.O; ++o)
                for (int64_t p = 0; p < P; ++p) wd::input_transform_at(plan.tl, dy.data(), s.O, n0, P, o, p, V);
            cpu_batched_gemm(U, V, M, s.C, P, s.O, false, T(0));
            for (int64_t c = 0; c < s.C; ++c)
                for (int64_t p = 0; p < P; ++p)
                    wd::output_transform_at(plan.tl, M, s.C, n0, P, c, p, static_cast<const T*>(nullptr), dx.data());
        }
    }
    {  // backward-weight
        const k::WinogradPlan plan = k::winograd_plan<T>(s, k::WinogradPass::backward_weight, cap);
        std::vector<T> ws(plan.a_elems + plan.b_elems + plan.c_elems, nan);
        T *Ut = ws.data(), *V = Ut + plan.a_elems, *M = V + plan.b_elems;
        for (int64_t n0 = 0; n0 < s.N; n0 += plan.images) {
            const int64_t images = std::min(plan.images, s.N - n0), P = images * plan.tl.per_image();
            for (int64_t o = 0; o < s.O; ++o)
                for (int64_t p = 0; p < P; ++p) wd::gradient_transform_at(plan.tl, dy.data(), s.O, n0, P, o, p, Ut);
            for (int64_t c = 0; c < s.C; ++c)
                for (int64_t p = 0; p < P; ++p) wd::input_transform_at(plan.tl, x.data(), s.C, n0, P, c, p, V);
            cpu_batched_gemm(Ut, V, M, s.O, s.C, P, true, n0 == 0 ? T(0) : T(1));
        }
        for (int64_t o = 0; o < s.O; ++o)
            for (int64_t c = 0; c < s.C; ++c) wd::weight_transform_at(M, s.O, s.C, o, c, dw.data());
    }
}

template <class T>
void check_random(std::mt19937_64& rng, int trials) {
    const std::string type = sizeof(T) == 4 ? "float" : "double";
    int multi_chunk = 0;
    for (int trial = 0; trial < trials; ++trial) {
        k::Conv2dShape s;
        s.N = 1 + int64_t(rng() % 3), s.C = 1 + int64_t(rng() % 6), s.O = 1 + int64_t(rng() % 6);
        s.KH = s.KW = 3, s.ph = int64_t(rng() % 3), s.pw = int64_t(rng() % 3);
        s.H = std::max<int64_t>(3 - 2 * s.ph, 1) + int64_t(rng() % 8), s.W = std::max<int64_t>(3 - 2 * s.pw, 1) + int64_t(rng() % 8);
        s.OH = s.H + 2 * s.ph - 2, s.OW = s.W + 2 * s.pw - 2;
        if (!k::winograd_applicable(s) || s.OH < 1 || s.OW < 1) continue;
        std::vector<T> x(size_t(s.N * s.C * s.H * s.W)), w(size_t(s.O * s.C * 9)), b(size_t(s.O)),
            dy(size_t(s.N * s.O * s.OH * s.OW));
        std::uniform_real_distribution<double> uniform(-1.0, 1.0);
        for (auto* v : {&x, &w, &b, &dy})
            for (T& e : *v) e = T(uniform(rng));
        const auto ref = seam::conv_logic::naive(s, x, w, b, dy, [](T v) { return static_cast<long double>(v); });
        // Tiles' terms are at most 4·4 products of |values| ≤ 1 per channel: scale the bound by that.
        const long double scale = 16.0L * 9.0L * std::max(s.C, s.O) * (s.N * s.OH * s.OW);
        const T nan = std::numeric_limits<T>::quiet_NaN();
        const size_t cap = trial % 2 ? k::winograd_workspace_cap : 1;  // 1 byte: one image per chunk
        std::vector<T> y(dy.size(), nan), dx(x.size(), nan), dw(w.size(), nan);
        int chunks = 0;
        emulate(s, x, w, b, dy, cap, y, dx, dw, chunks);
        if (chunks > 1) ++multi_chunk;
        const std::string what = type + " N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) + " O=" +
                                 std::to_string(s.O) + " " + std::to_string(s.H) + "x" + std::to_string(s.W) + " pad " +
                                 std::to_string(s.ph) + "," + std::to_string(s.pw);
        // The forward and backward-data bounds use only the element's own terms, scaled by the
        // transform's growth (a tile sums at most 16 inputs per channel); backward-weight sums over
        // every tile, so its magnitude term is the global scale.
        std::vector<long double> ymag(ref.y_mag), dxmag(ref.dx_mag);
        for (auto& m : ymag) m *= 16;
        for (auto& m : dxmag) m *= 16;
        expect_close(y, ref.y, ymag, 16.0L * 9.0L * s.C, what + " forward");
        expect_close(dx, ref.dx, dxmag, 16.0L * 9.0L * s.O, what + " backward-data");
        expect_close(dw, ref.dw, ref.dw_mag, scale / 8, what + " backward-weight");
    }
    expect(multi_chunk > trials / 4, type + ": the chunked loops ran", multi_chunk);
}

/// The transforms on hand-made tiles.
void check_transforms() {
    // A delta filter at (1, 1) makes the 2x2 output the centre of the 4x4 input tile.
    double d[16], g[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0}, U[16], V[16], M[16], Y[4];
    for (int i = 0; i < 16; ++i) d[i] = i * 1.5 - 3;
    wd::filter_tile(g, false, U);
    wd::input_tile(d, 4, 4, 0, 0, V);
    for (int i = 0; i < 16; ++i) M[i] = U[i] * V[i];
    wd::output_tile(M, Y);
    expect(Y[0] == d[5] && Y[1] == d[6] && Y[2] == d[9] && Y[3] == d[10], "delta filter: the tile's centre", Y[0], d[5]);
    // The same delta flipped is itself; a corner delta flipped moves to the other corner.
    double corner[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0}, Uf[16], far[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1}, Ufar[16];
    wd::filter_tile(corner, true, Uf);
    wd::filter_tile(far, false, Ufar);
    bool same = true;
    for (int i = 0; i < 16; ++i) same = same && Uf[i] == Ufar[i];
    expect(same, "flip moves the (0, 0) tap to (2, 2)");
    // A gradient tile with a single 1 at (0, 0): the weight gradient is the input window at (0, 0).
    double u[4] = {1, 0, 0, 0}, Ut[16], R[9];
    wd::gradient_tile(u, 2, 2, 0, 0, Ut);
    for (int i = 0; i < 16; ++i) M[i] = Ut[i] * V[i];
    wd::weight_tile(M, R);
    bool window = true;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) window = window && std::fabs(R[i * 3 + j] - d[i * 4 + j]) < 1e-12;
    expect(window, "a unit gradient at (0, 0) gives the input window", R[0], d[0]);
}

void check_plans() {
    k::Conv2dShape s;
    s.N = 32, s.C = 64, s.H = s.W = 224, s.O = 64, s.KH = s.KW = 3, s.ph = s.pw = 1, s.OH = s.OW = 224;
    const k::WinogradPlan f = k::winograd_plan<float>(s, k::WinogradPass::forward);
    expect(f.bytes(4) <= k::winograd_workspace_cap, "VGG conv1_2 forward fits the cap", double(f.bytes(4)));
    expect(f.images >= 1 && f.images < 32 && f.tl.TH == 112 && f.tl.TW == 112, "conv1_2 is chunked, 112x112 tiles",
           double(f.images));
    expect(k::winograd_workspace_bytes<float>(s, k::WinogradPass::backward_weight) == f.bytes(4),
           "backward-weight's workspace equals the forward's (same buffers, other roles)");
    // The measured choice of passes (winograd_worthwhile), on VGG-16's layers: conv1_1 (C = 3) keeps
    // the implicit GEMM forward; backward-weight switches to Winograd from conv2_2 (O·C = 16384).
    {
        k::Conv2dShape c11 = s, c21 = s, c22 = s;
        c11.C = 3;
        c21.C = 64, c21.O = 128, c22.C = c22.O = 128;
        expect(!k::winograd_worthwhile(c11, k::WinogradPass::forward), "conv1_1 forward: implicit GEMM");
        expect(k::winograd_worthwhile(c11, k::WinogradPass::backward_data), "conv1_1 backward-data: Winograd");
        expect(k::winograd_worthwhile(s, k::WinogradPass::forward), "conv1_2 forward: Winograd");
        expect(!k::winograd_worthwhile(s, k::WinogradPass::backward_weight), "conv1_2 backward-weight: implicit GEMM");
        expect(!k::winograd_worthwhile(c21, k::WinogradPass::backward_weight), "conv2_1 backward-weight: implicit GEMM");
        expect(k::winograd_worthwhile(c22, k::WinogradPass::backward_weight), "conv2_2 backward-weight: Winograd");
    }
    s.sh = 2;
    expect(!k::winograd_applicable(s), "stride 2 is not served");
    expect(!k::winograd_worthwhile(s, k::WinogradPass::backward_data), "nothing is worthwhile where nothing applies");
    s.sh = 1, s.groups = 2;
    expect(!k::winograd_applicable(s), "groups are not served");
}

}  // namespace

int main() {
    std::mt19937_64 rng(20261127);
    check_transforms();
    check_plans();
    check_random<double>(rng, 120);
    check_random<float>(rng, 120);
    if (failures) {
        std::printf("test_winograd_kernel_logic: %d FAILED (of %lld checks)\n", failures, checks);
        return 1;
    }
    std::printf("test_winograd_kernel_logic: all %lld checks passed (F(2x2,3x3) transforms, chunk loops, CPU GEMM; "
                "host emulation, no GPU used)\n", checks);
    return 0;
}
