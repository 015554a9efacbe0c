// seam/cpu/reference/norm.hpp — the oracles for batch_norm and layer_norm (forward and backward).
//
// Deliberately naive: every element is visited through its row-major linear index, its offset
// recomputed from the tensor's own strides (so non-contiguous inputs need no copy), its channel or
// row read off the index; sums are plain sequential double loops; no threads. The formulas are
// the textbook ones (Ioffe & Szegedy 2015; Ba et al. 2016), written without the per-channel
// coefficient folding of the fast path in ops/norm.hpp.
#pragma once

#include <cmath>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/cpu/reference/elementwise.hpp"

namespace seam::reference {

/// Everything the reference batch norm produces: output, the statistics it normalised with
/// (batch or running), and the batch's unbiased variance (what a running buffer receives).
template <class T>
struct BatchNormResult {
    Tensor<T> out;
    std::vector<double> mean, var, unbiased_var;
};

template <class T>
inline double channel_value(const Tensor<T>& t, int64_t c, double fallback) {
    return t.defined() ? static_cast<double>(t.at({c})) : fallback;
}

/// batch_norm over dimension 1; training uses the batch statistics, evaluation the running ones.
/// The running buffers are only read (evaluation), never updated.
template <class T>
inline BatchNormResult<T> batch_norm(const Tensor<T>& x, const Tensor<T>& running_mean, const Tensor<T>& running_var,
                                     const Tensor<T>& weight, const Tensor<T>& bias, bool training, double eps) {
    const int64_t C = x.size(1), inner = x.numel() / (x.size(0) * C), M = x.numel() / C;
    auto channel_of = [&](int64_t i) { return (i / inner) % C; };
    auto value = [&](int64_t i) { return static_cast<double>(x.data()[offset_of(i, x.shape(), x.strides())]); };
    BatchNormResult<T> r;
    r.mean.assign(C, 0.0);
    r.var.assign(C, 0.0);
    r.unbiased_var.assign(C, 0.0);
    for (int64_t i = 0; i < x.numel(); ++i) r.mean[channel_of(i)] += value(i);
    for (int64_t c = 0; c < C; ++c) r.mean[c] /= static_cast<double>(M);
    for (int64_t i = 0; i < x.numel(); ++i) {
        double d = value(i) - r.mean[channel_of(i)];
        r.var[channel_of(i)] += d * d;
    }
    for (int64_t c = 0; c < C; ++c) {
        r.unbiased_var[c] = M > 1 ? r.var[c] / static_cast<double>(M - 1) : NAN;
        r.var[c] /= static_cast<double>(M);
        if (!training) {
            r.mean[c] = channel_value(running_mean, c, 0.0);
            r.var[c] = channel_value(running_var, c, 1.0);
        }
    }
    r.out = empty<T>(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t c = channel_of(i);
        const double xhat = (value(i) - r.mean[c]) / std::sqrt(r.var[c] + eps);
        r.out.data()[i] = static_cast<T>(xhat * channel_value(weight, c, 1.0) + channel_value(bias, c, 0.0));
    }
    return r;
}

template <class T>
struct NormGrads {
    Tensor<T> dx, dweight, dbias;
};

/// Gradients of batch_norm given the statistics it used (mean, var from BatchNormResult).
/// Training: dx = w / sqrt(var+eps) * (g - mean_c(g) - xhat * mean_c(g * xhat)); evaluation:
/// dx = w / sqrt(var+eps) * g. In both, dweight = sum_c(g * xhat) and dbias = sum_c(g).
template <class T>
inline NormGrads<T> batch_norm_backward(const Tensor<T>& x, const Tensor<T>& grad, const Tensor<T>& weight,
                                        const std::vector<double>& mean, const std::vector<double>& var, bool training,
                                        double eps) {
    const int64_t C = x.size(1), inner = x.numel() / (x.size(0) * C), M = x.numel() / C;
    auto channel_of = [&](int64_t i) { return (i / inner) % C; };
    auto xv = [&](int64_t i) { return static_cast<double>(x.data()[offset_of(i, x.shape(), x.strides())]); };
    auto gv = [&](int64_t i) { return static_cast<double>(grad.data()[offset_of(i, grad.shape(), grad.strides())]); };
    auto xhat = [&](int64_t i) { return (xv(i) - mean[channel_of(i)]) / std::sqrt(var[channel_of(i)] + eps); };
    std::vector<double> sum_g(C, 0.0), sum_gxhat(C, 0.0);
    for (int64_t i = 0; i < x.numel(); ++i) {
        sum_g[channel_of(i)] += gv(i);
        sum_gxhat[channel_of(i)] += gv(i) * xhat(i);
    }
    NormGrads<T> r{empty<T>(x.shape()), empty<T>({C}), empty<T>({C})};
    for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t c = channel_of(i);
        const double k = channel_value(weight, c, 1.0) / std::sqrt(var[c] + eps);
        const double d = training ? k * (gv(i) - sum_g[c] / M - xhat(i) * sum_gxhat[c] / M) : k * gv(i);
        r.dx.data()[i] = static_cast<T>(d);
    }
    for (int64_t c = 0; c < C; ++c) {
        r.dweight.data()[c] = static_cast<T>(sum_gxhat[c]);
        r.dbias.data()[c] = static_cast<T>(sum_g[c]);
    }
    return r;
}

/// layer_norm over the trailing D = numel(normalized_shape) elements of each row; weight and
/// bias (shape normalized_shape, may be undefined) are read in row-major order.
template <class T>
inline Tensor<T> layer_norm(const Tensor<T>& x, int64_t D, const Tensor<T>& weight, const Tensor<T>& bias, double eps) {
    const std::vector<T> w = weight.defined() ? weight.to_vector() : std::vector<T>();
    const std::vector<T> b = bias.defined() ? bias.to_vector() : std::vector<T>();
    auto xv = [&](int64_t i) { return static_cast<double>(x.data()[offset_of(i, x.shape(), x.strides())]); };
    Tensor<T> out = empty<T>(x.shape());
    for (int64_t row = 0; row < x.numel() / D; ++row) {
        double mean = 0, var = 0;
        for (int64_t j = 0; j < D; ++j) mean += xv(row * D + j);
        mean /= D;
        for (int64_t j = 0; j < D; ++j) var += (xv(row * D + j) - mean) * (xv(row * D + j) - mean);
        var /= D;
        for (int64_t j = 0; j < D; ++j) {
            double y = (xv(row * D + j) - mean) / std::sqrt(var + eps);
            if (!w.empty()) y *= w[j];
            if (!b.empty()) y += b[j];
            out.data()[row * D + j] = static_cast<T>(y);
        }
    }
    return out;
}

/// Gradients of layer_norm: per row, with gw = g * w,
/// dx = (gw - mean(gw) - xhat * mean(gw * xhat)) / sqrt(var + eps); dweight = sum_rows(g * xhat),
/// dbias = sum_rows(g) (returned flat, D elements).
template <class T>
inline NormGrads<T> layer_norm_backward(const Tensor<T>& x, const Tensor<T>& grad, int64_t D, const Tensor<T>& weight,
                                        double eps) {
    const std::vector<T> w = weight.defined() ? weight.to_vector() : std::vector<T>();
    auto xv = [&](int64_t i) { return static_cast<double>(x.data()[offset_of(i, x.shape(), x.strides())]); };
    auto gv = [&](int64_t i) { return static_cast<double>(grad.data()[offset_of(i, grad.shape(), grad.strides())]); };
    NormGrads<T> r{empty<T>(x.shape()), zeros<T>({D}), zeros<T>({D})};
    std::vector<double> dw(D, 0.0), db(D, 0.0);
    for (int64_t row = 0; row < x.numel() / D; ++row) {
        double mean = 0, var = 0;
        for (int64_t j = 0; j < D; ++j) mean += xv(row * D + j);
        mean /= D;
        for (int64_t j = 0; j < D; ++j) var += (xv(row * D + j) - mean) * (xv(row * D + j) - mean);
        var /= D;
        const double s = 1.0 / std::sqrt(var + eps);
        double mean_gw = 0, mean_gwxhat = 0;
        for (int64_t j = 0; j < D; ++j) {
            const double gw = gv(row * D + j) * (w.empty() ? 1.0 : w[j]);
            mean_gw += gw / D;
            mean_gwxhat += gw * (xv(row * D + j) - mean) * s / D;
        }
        for (int64_t j = 0; j < D; ++j) {
            const double xhat = (xv(row * D + j) - mean) * s;
            const double gw = gv(row * D + j) * (w.empty() ? 1.0 : w[j]);
            r.dx.data()[row * D + j] = static_cast<T>(s * (gw - mean_gw - xhat * mean_gwxhat));
            dw[j] += gv(row * D + j) * xhat;
            db[j] += gv(row * D + j);
        }
    }
    for (int64_t j = 0; j < D; ++j) {
        r.dweight.data()[j] = static_cast<T>(dw[j]);
        r.dbias.data()[j] = static_cast<T>(db[j]);
    }
    return r;
}

}  // namespace seam::reference
