// tests/cuda/conv_logic_support.hpp — what the conv kernel-logic emulations
// (test_conv_kernel_logic.cu, test_tf32_mma_kernel_logic.cu) share: their test shapes and the naive
// convolution loops they compare against. Plain host C++ on conv2d.cuh's Conv2dShape.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "seam/conv2d.cuh"

namespace seam::conv_logic {

struct Case {
    const char* name;
    int64_t N, C, H, W, O, KH, KW, sh, sw, ph, pw, dh, dw, groups;
};

inline kernels::Conv2dShape shape_of(const Case& c) {
    kernels::Conv2dShape s;
    s.N = c.N, s.C = c.C, s.H = c.H, s.W = c.W, s.O = c.O, s.KH = c.KH, s.KW = c.KW, s.sh = c.sh, s.sw = c.sw;
    s.ph = c.ph, s.pw = c.pw, s.dh = c.dh, s.dw = c.dw, s.groups = c.groups;
    s.OH = (s.H + 2 * s.ph - s.dh * (s.KH - 1) - 1) / s.sh + 1;
    s.OW = (s.W + 2 * s.pw - s.dw * (s.KW - 1) - 1) / s.sw + 1;
    return s;
}

/// Naive convolution in double: y (with bias), dx and dw, and the sums of |terms| (for tolerances).
struct Reference {
    std::vector<double> y, y_mag, dx, dx_mag, dw, dw_mag;
};

/// operand(v) is what a product sees of an input value v: v itself, or v rounded as a kernel rounds
/// it (TF32); the bias is added unrounded.
template <class T, class Operand>
Reference naive(const kernels::Conv2dShape& s, const std::vector<T>& x, const std::vector<T>& w, const std::vector<T>& b,
                const std::vector<T>& dy, Operand operand) {
    const int64_t Cg = s.C / s.groups, Og = s.O / s.groups;
    Reference r;
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
                                const double xv = operand(x[xi]), wv = operand(w[wi]), gv = operand(dy[yi]);
                                r.y[yi] += xv * wv, r.y_mag[yi] += std::abs(xv * wv);
                                r.dx[xi] += wv * gv, r.dx_mag[xi] += std::abs(wv * gv);
                                r.dw[wi] += gv * xv, r.dw_mag[wi] += std::abs(gv * xv);
                            }
                    r.y[yi] += double(b[size_t(o)]), r.y_mag[yi] += std::abs(double(b[size_t(o)]));
                }
    return r;
}

template <class T>
Reference naive(const kernels::Conv2dShape& s, const std::vector<T>& x, const std::vector<T>& w, const std::vector<T>& b,
                const std::vector<T>& dy) {
    return naive(s, x, w, b, dy, [](T v) { return double(v); });
}

}  // namespace seam::conv_logic
