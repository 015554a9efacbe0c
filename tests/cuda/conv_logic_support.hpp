// tests/cuda/conv_logic_support.hpp — what the conv kernel-logic emulations
// (test_conv_kernel_logic.cu, test_tf32_mma_kernel_logic.cu, test_tf32_nhwc_kernel_logic.cu,
// test_tf32_wgmma_kernel_logic.cu) share:
// their test shapes, the naive convolution loops they compare against, and the TF32 rounding and
// mma.m16n8k8 models. Plain host C++ on conv2d.cuh's Conv2dShape.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "seam/conv2d.cuh"

namespace seam::conv_logic {

struct Case {
    const char* name;
    int64_t N, C, H, W, O, KH, KW, sh, sw, ph, pw, dh, dw, groups;
};

/// The awkward shapes the implicit-GEMM kernels' emulations share (fp32 version 2, TF32 versions 4
/// and 5): odd maps, stride, padding, dilation, groups, 1x1 and 5x3 kernels, M on both sides of 64,
/// N and K off the tiles.
inline std::vector<Case> gemm_cases() {
    return {
        {"3x3 pad 1, odd map, C=3", 2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"3x3 stride 2 pad 1, C=5, O=7, batch 3", 3, 5, 9, 8, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {"3x3 dilation 2 pad 2, groups 2", 2, 6, 8, 7, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2},
        {"1x1, batch 1", 1, 5, 6, 9, 7, 1, 1, 1, 1, 0, 0, 1, 1, 1},
        {"O=130, C=20 (128-row tiles, M edge)", 1, 20, 5, 5, 130, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"C=70 stride 2 (backward-data with 128-row tiles)", 1, 70, 5, 6, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1},
        {"5x3 kernel, dilation 2x3, padding 2x1, stride 1x2", 2, 6, 12, 11, 10, 5, 3, 1, 2, 2, 1, 2, 3, 1},
        {"batch 4, 7x7, C=O=48 (Fashion-MNIST conv3 in small)", 4, 48, 7, 7, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {"groups 3, C=12, O=9, 6x5", 2, 12, 6, 5, 9, 3, 3, 1, 1, 1, 1, 1, 1, 3},
        {"C=O=72, 12x12, batch 2 (several N tiles, K = 648)", 2, 72, 12, 12, 72, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    };
}

inline kernels::Conv2dShape shape_of(const Case& c) {
    kernels::Conv2dShape s;
    s.N = c.N, s.C = c.C, s.H = c.H, s.W = c.W, s.O = c.O, s.KH = c.KH, s.KW = c.KW, s.sh = c.sh, s.sw = c.sw;
    s.ph = c.ph, s.pw = c.pw, s.dh = c.dh, s.dw = c.dw, s.groups = c.groups;
    s.OH = (s.H + 2 * s.ph - s.dh * (s.KH - 1) - 1) / s.sh + 1;
    s.OW = (s.W + 2 * s.pw - s.dw * (s.KW - 1) - 1) / s.sw + 1;
    return s;
}

/// Naive convolution in Acc (double, or long double for the Winograd test): y (with bias), dx and
/// dw, and the sums of |terms| (for tolerances).
template <class Acc>
struct BasicReference {
    std::vector<Acc> y, y_mag, dx, dx_mag, dw, dw_mag;
};
using Reference = BasicReference<double>;

/// operand(v) is what a product sees of an input value v, in the accumulation type it returns: v
/// itself, or v rounded as a kernel rounds it (TF32); the bias is added unrounded.
template <class T, class Operand, class Acc = decltype(std::declval<Operand>()(T()))>
BasicReference<Acc> naive(const kernels::Conv2dShape& s, const std::vector<T>& x, const std::vector<T>& w,
                          const std::vector<T>& b, const std::vector<T>& dy, Operand operand) {
    const int64_t Cg = s.C / s.groups, Og = s.O / s.groups;
    BasicReference<Acc> r;
    r.y.assign(dy.size(), 0), r.y_mag.assign(dy.size(), 0), r.dx.assign(x.size(), 0), r.dx_mag.assign(x.size(), 0);
    r.dw.assign(w.size(), 0), r.dw_mag.assign(w.size(), 0);
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t o = 0; o < s.O; ++o)
            for (int64_t oh = 0; oh < s.OH; ++oh)
                for (int64_t ow = 0; ow < s.OW; ++ow) {
                    const int64_t g = o / Og;
                    const size_t yi = size_t(((n * s.O + o) * s.OH + oh) * s.OW + ow);
                    for (int64_t c = 0; c < Cg; ++c)
                        for (int64_t ki = 0; ki < s.KH; ++ki)
                            for (int64_t kj = 0; kj < s.KW; ++kj) {
                                const int64_t ih = oh * s.sh - s.ph + ki * s.dh, iw = ow * s.sw - s.pw + kj * s.dw;
                                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                                const size_t xi = size_t(((n * s.C + g * Cg + c) * s.H + ih) * s.W + iw);
                                const size_t wi = size_t(((o * Cg + c) * s.KH + ki) * s.KW + kj);
                                const Acc xv = operand(x[xi]), wv = operand(w[wi]), gv = operand(dy[yi]);
                                r.y[yi] += xv * wv, r.y_mag[yi] += std::abs(xv * wv);
                                r.dx[xi] += wv * gv, r.dx_mag[xi] += std::abs(wv * gv);
                                r.dw[wi] += gv * xv, r.dw_mag[wi] += std::abs(gv * xv);
                            }
                    r.y[yi] += Acc(b[size_t(o)]), r.y_mag[yi] += std::abs(Acc(b[size_t(o)]));
                }
    return r;
}

template <class T>
Reference naive(const kernels::Conv2dShape& s, const std::vector<T>& x, const std::vector<T>& w, const std::vector<T>& b,
                const std::vector<T>& dy) {
    return naive(s, x, w, b, dy, [](T v) { return double(v); });
}

/// The first `most` elements where |got - want| exceeds rel·magnitude (NaN fails), as (index, the
/// difference over the magnitude); the tests report them with their own counters.
template <class T>
std::vector<std::pair<size_t, double>> mismatches(const std::vector<T>& got, const std::vector<double>& want,
                                                  const std::vector<double>& magnitude, double rel, int most = 3) {
    std::vector<std::pair<size_t, double>> bad;
    for (size_t i = 0; i < want.size() && int(bad.size()) < most; ++i) {
        const double diff = std::abs(double(got[i]) - want[i]);
        if (!(diff <= rel * magnitude[i] + 1e-30)) bad.push_back({i, std::isnan(diff) ? -1.0 : diff / (magnitude[i] + 1e-30)});
    }
    return bad;
}

/// cvt.rna.tf32.f32: round to a 10-bit mantissa, to nearest, ties away from zero (NaN, inf kept).
inline float tf32(float v) {
    if (!std::isfinite(v)) return v;
    uint32_t u;
    std::memcpy(&u, &v, 4);
    u += 0x1000u;  // half of the 13 dropped bits: ties go away from zero (magnitude rounds up)
    u &= 0xffffe000u;
    float r;
    std::memcpy(&r, &u, 4);
    return r;
}

/// mma.m16n8k8 .tf32 with fp32 accumulation, from the 32 lanes' registers, by CuTe's layouts:
/// A value (t0, t1, v0, v1) sits at column-major index 16·t0 + t1 + 8·v0 + 64·v1 = m + 16·k of the
/// 16x8 A (register j = v0 + 2·v1); B (t0, t1, v) at 8·t0 + t1 + 32·v = n + 8·k of the 8x8 B;
/// C (t0, t1, v0, v1) at 32·t0 + t1 + 16·v0 + 8·v1 = m + 16·n of the 16x8 C; lane = t0 + 4·t1.
inline void mma_model(const float (&a)[32][4], const float (&b)[32][2], float (&c)[32][4]) {
    float A[16][8], B[8][8], C[16][8];
    for (int lane = 0; lane < 32; ++lane) {
        const int t0 = lane % 4, t1 = lane / 4;
        for (int v0 = 0; v0 < 2; ++v0)
            for (int v1 = 0; v1 < 2; ++v1) {
                const int ai = 16 * t0 + t1 + 8 * v0 + 64 * v1;
                A[ai % 16][ai / 16] = a[lane][v0 + 2 * v1];
                const int ci = 32 * t0 + t1 + 16 * v0 + 8 * v1;
                C[ci % 16][ci / 16] = c[lane][v0 + 2 * v1];
            }
        for (int v = 0; v < 2; ++v) {
            const int bi = 8 * t0 + t1 + 32 * v;
            B[bi / 8][bi % 8] = b[lane][v];
        }
    }
    for (int m = 0; m < 16; ++m)
        for (int n = 0; n < 8; ++n) {
            float s = C[m][n];
            for (int kk = 0; kk < 8; ++kk) s += A[m][kk] * B[kk][n];
            C[m][n] = s;
        }
    for (int lane = 0; lane < 32; ++lane) {
        const int t0 = lane % 4, t1 = lane / 4;
        for (int v0 = 0; v0 < 2; ++v0)
            for (int v1 = 0; v1 < 2; ++v1) {
                const int ci = 32 * t0 + t1 + 16 * v0 + 8 * v1;
                c[lane][v0 + 2 * v1] = C[ci % 16][ci / 16];
            }
    }
}

/// A staged tensor's extent (versions 5 and 6), for checking where copies read.
struct Span {
    const float* begin;
    size_t size;
    bool holds(const float* p, size_t n = 1) const { return p >= begin && p + n <= begin + size; }
};

/// The tests' expect(ok, what, a, b): counts a check and reports a failure.
using Expect = void (*)(bool, const std::string&, long long, long long);

/// One 16-byte copy of versions 5 and 6 (a source's load calls copy(offset, src, valid) for each),
/// applied to a NaN-filled stage of `stage.size()` floats whose A part is its first a_floats:
/// the destination an aligned chunk inside the stage, a valid source an aligned whole chunk of its
/// operand's staged tensor, a zero-fill source's (unread) address inside one of them; each float's
/// writes counted in hits, and the offset appended to offsets.
inline void record_chunk_copy(std::vector<float>& stage, std::vector<int>& hits, std::vector<int>& offsets, int a_floats,
                              const Span& a_span, const Span& b_span, int offset, const float* src, bool valid,
                              const std::string& what, Expect expect) {
    const bool inside = offset >= 0 && offset + 4 <= int(stage.size()) && offset % 4 == 0;
    expect(inside, what + ": copy destination an aligned chunk inside the stage", offset, 0);
    if (!inside) return;
    const Span& span = offset < a_floats ? a_span : b_span;
    if (valid) {
        const bool ok = span.holds(src, 4) && (src - span.begin) % 4 == 0;
        expect(ok, what + ": valid copy source an aligned chunk of its staged tensor", offset, 0);
        if (!ok) valid = false;
    } else {
        expect(a_span.holds(src) || b_span.holds(src), what + ": zero-fill source address a tensor's", offset, 0);
    }
    for (int e = 0; e < 4; ++e) {
        ++hits[size_t(offset + e)];
        stage[size_t(offset + e)] = valid ? src[e] : 0.0f;
    }
    offsets.push_back(offset);
}

/// After a K-tile's copies: every stage float written exactly once (the first miss reported).
inline void expect_each_copied_once(const std::vector<int>& hits, const std::string& what, Expect expect) {
    for (size_t i = 0; i < hits.size(); ++i)
        if (hits[i] != 1) {
            expect(false, what + ": stage float copied exactly once", static_cast<long long>(i), hits[i]);
            return;
        }
}

/// Naive convolution in double on TF32-rounded x, w, dy (bias unrounded): the TF32 kernels' reference.
inline Reference tf32_naive(const kernels::Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& w,
                            const std::vector<float>& b, const std::vector<float>& dy) {
    return naive(s, x, w, b, dy, [](float v) { return double(tf32(v)); });
}

/// What the tensor core reads of an fp32 register given as a .tf32 operand: the top 19 bits (the low
/// 13 mantissa bits ignored, i.e. truncated). A kernel that feeds unrounded values gets this, not tf32().
inline float tf32_as_read(float v) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    u &= 0xffffe000u;
    float r;
    std::memcpy(&r, &u, 4);
    return r;
}

}  // namespace seam::conv_logic
