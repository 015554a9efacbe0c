// seam/ops/norm.hpp — batch normalisation, layer normalisation and dropout, with backward rules.
//
//   batch_norm(x [N, C, ...], running_mean, running_var, weight, bias, training, momentum, eps)
//   batch_norm_relu(...)   the same followed by ReLU, in one pass (forward and backward)
//   layer_norm(x, normalized_shape, weight, bias, eps)
//   dropout(x, p, training, gen)
//
// BatchNorm follows PyTorch exactly: training normalises with the batch statistics (biased
// variance) and updates the running buffers in place with the unbiased variance,
//     running = (1 - momentum) * running + momentum * batch;
// evaluation normalises with the running buffers (then the op is an affine map per channel).
// Undefined buffers are simply not tracked; undefined weight/bias mean 1 and 0.
//
// Fast path: x is viewed as [N, C, inner] (inner = H*W, 1 for BatchNorm1d inputs [N, C]). Each
// channel is handled by one thread, start to finish: one pass for the mean, one for the variance
// (two passes: never the cancellation-prone E[x^2] - E[x]^2), then the fused normalise + affine
// pass y = x * scale[c] + shift[c]. A channel of a [8, 64, 64, 64] tensor is 128 KB, so the second
// and third passes read it from L2 and x crosses the memory bus about once. Statistics are summed
// in double with a fixed number of lanes in a fixed order, and a channel never spans threads, so
// the result has the same bits whatever the thread count. The backward does the same per channel:
// one pass for sum(g) and sum(g * xhat), one for dx. For [N, C] inputs (inner = 1) a channel is
// a strided column; such inputs are small (fully connected features), so they share the loop.
//
// batch_norm_relu fuses the ReLU into both directions (see its comment); measured on
// [8, 64, 64, 64] float, one thread: forward 1.35 vs 2.56 ms for relu(batch_norm(x)), forward +
// backward 5.7 vs 7.9 ms, so it pays. The oracles are in cpu/reference/norm.hpp.
//
// CUDA tensors (builds with SEAM_WITH_CUDA): batch_norm, batch_norm_relu, layer_norm and dropout
// run the kernels of kernels/seam/norm.cuh with the same rules (statistics in double, never
// E[x²] - E[x]²: batch_norm's version 2 makes one pass of sums shifted by each channel's first value);
// dropout's mask is bit-identical to the CPU mask for the same generator state.
#pragma once

#include <cmath>
#include <memory>
#include <type_traits>
#include <vector>

#include "seam/core/tensor.hpp"
#if SEAM_WITH_CUDA
#include "seam/ops/elementwise.hpp"  // detail::cuda_dense
#endif

namespace seam {

namespace detail {

/// sum_{i<n} term(i) in double, in 16 interleaved lanes (so the adds pipeline and vectorise)
/// combined in a fixed tree: deterministic, and far more accurate than one running float sum.
template <class F>
inline double lane_sum(int64_t n, F term) {
    constexpr int kLanes = 16;
    double acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int k = 0; k < kLanes; ++k) acc[k] += term(i + k);
    for (int k = 0; i < n; ++i, ++k) acc[k] += term(i);
    for (int width = kLanes / 2; width > 0; width /= 2)
        for (int k = 0; k < width; ++k) acc[k] += acc[k + width];
    return acc[0];
}

/// sum_g += sum(g'), sum_gx += sum(g' * (x - mean)) over n elements, where g' = g, or with
/// kMasked g' = (y > 0 ? g : 0) (the ReLU of batch_norm_relu). One pass, both sums in 16 double
/// lanes like lane_sum (a select, not a branch, so the loop vectorises).
template <bool kMasked, class T>
inline void grad_sums(const T* g, const T* x, const T* y, int64_t n, double mean, double& sum_g, double& sum_gx) {
    constexpr int kLanes = 16;
    double a[kLanes] = {}, b[kLanes] = {};
    auto term = [&](int64_t i, int k) {
        // The mask is a multiplication by 0 or 1, not a branch, so the loop vectorises.
        const double gv = kMasked ? static_cast<double>(g[i]) * static_cast<double>(y[i] > T(0))
                                  : static_cast<double>(g[i]);
        a[k] += gv;
        b[k] += gv * (static_cast<double>(x[i]) - mean);
    };
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int k = 0; k < kLanes; ++k) term(i + k, k);
    for (int k = 0; i < n; ++i, ++k) term(i, k);
    for (int width = kLanes / 2; width > 0; width /= 2)
        for (int k = 0; k < width; ++k) {
            a[k] += a[k + width];
            b[k] += b[k + width];
        }
    sum_g += a[0];
    sum_gx += b[0];
}

/// Element c of a 1-D tensor (any stride), or `fallback` when the tensor is undefined.
template <class T>
inline double channel_value_or(const Tensor<T>& t, int64_t c, double fallback) {
    return t.defined() ? static_cast<double>(t.data()[c * t.strides()[0]]) : fallback;
}

template <class T>
inline void check_channel_vector(const Tensor<T>& t, int64_t channels, const char* op, const char* what,
                                 const Shape& x_shape, Device device = Device::cpu()) {
    if (!t.defined()) return;
    if (device.is_cpu())
        SEAM_CHECK(t.device().is_cpu(), op, ": ", what, " is on ", t.device().str(), "; the CPU path needs CPU tensors");
    else
        SEAM_CHECK(t.device() == device, op, ": tensors on different devices (input on ", device.str(), ", ", what, " on ",
                   t.device().str(), "); move them to one device with .to(...)");
    SEAM_CHECK(t.dim() == 1 && t.size(0) == channels, op, ": ", what, " has shape ", shape_str(t.shape()),
               " but the input ", shape_str(x_shape), " has ", channels, " channels (expected [", channels, "])");
}

/// Channel count and values per channel of batch_norm's input, after the argument checks both the
/// CPU and the CUDA path make (shapes, devices, eps, enough values per channel when training,
/// running statistics when evaluating). `device` is the input's device.
struct BatchNormDims {
    int64_t N, C, inner, M;  // M = N * inner: values per channel
};
template <class T>
inline BatchNormDims check_batch_norm_args(const char* op, const Tensor<T>& x, const Tensor<T>& running_mean,
                                           const Tensor<T>& running_var, const Tensor<T>& weight,
                                           const Tensor<T>& bias, bool training, double eps, Device device) {
    SEAM_CHECK(x.dim() >= 2, op, ": input of shape ", shape_str(x.shape()), " must be [N, C, ...] (at least 2-D)");
    const int64_t N = x.size(0), C = x.size(1), inner = x.numel() / std::max<int64_t>(1, N * C);
    const int64_t M = N * inner;
    check_channel_vector(running_mean, C, op, "running_mean", x.shape(), device);
    check_channel_vector(running_var, C, op, "running_var", x.shape(), device);
    check_channel_vector(weight, C, op, "weight", x.shape(), device);
    check_channel_vector(bias, C, op, "bias", x.shape(), device);
    SEAM_CHECK(running_mean.defined() == running_var.defined(), op,
               ": running_mean and running_var must be both defined or both undefined");
    SEAM_CHECK(eps >= 0.0, op, ": eps must be >= 0, got ", eps);
    if (training)
        SEAM_CHECK(M > 1, op, ": Expected more than 1 value per channel when training, got input size ",
                   shape_str(x.shape()));
    else
        SEAM_CHECK(running_mean.defined(), op, ": evaluation mode needs running_mean and running_var ",
                   "(pass training=true to normalise with the batch statistics)");
    return {N, C, inner, M};
}

#if SEAM_WITH_CUDA
/// batch_norm(_relu) on CUDA tensors (kernels/seam/norm.cuh): the same checks and rules as the
/// CPU path below; the running buffers are updated in place on the device, the per-channel mean
/// and 1/std are saved on the device (double) for the backward, every gradient stays there.
template <class T>
inline Tensor<T> cuda_batch_norm(const char* op, const Tensor<T>& x, Tensor<T> running_mean, Tensor<T> running_var,
                                 const Tensor<T>& weight, const Tensor<T>& bias, bool training, double momentum,
                                 double eps, bool fuse_relu) {
    const Device device = x.device();
    const BatchNormDims dims =
        check_batch_norm_args(op, x, running_mean, running_var, weight, bias, training, eps, device);
    const int64_t N = dims.N, C = dims.C, inner = dims.inner;
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> xc = cuda_dense(x.detach());
    Tensor<T> out = empty<T>(x.shape(), device);
    const Tensor<double> save_mean = empty<double>({C}, device), save_invstd = empty<double>({C}, device);
    auto ptr = [](const Tensor<T>& t) { return t.defined() ? t.data() : nullptr; };
    auto stride = [](const Tensor<T>& t) { return t.defined() ? t.strides()[0] : int64_t(1); };
    const cuda::BatchNormShape shape{N, C, inner};
    cuda::batch_norm_forward<T>(xc.data(), out.data(), shape, ptr(weight), stride(weight), ptr(bias), stride(bias),
                                ptr(running_mean), stride(running_mean), ptr(running_var), stride(running_var),
                                save_mean.data(), save_invstd.data(), training, momentum, eps, fuse_relu);
    if (needs_graph<T>({&x, &weight, &bias})) {
        const Tensor<T> w = weight.defined() ? weight.detach() : Tensor<T>();
        const Tensor<T> y_saved = fuse_relu ? out.detach() : Tensor<T>();  // the ReLU mask is y > 0
        const bool need_x = x.requires_grad(), need_w = weight.defined() && weight.requires_grad(),
                   need_b = bias.defined() && bias.requires_grad();
        const Shape x_shape = x.shape();
        record<T>(op, out, {&x, &weight, &bias},
                  [xc, w, y_saved, save_mean, save_invstd, training, need_x, need_w, need_b, shape, x_shape, device,
                   op](const Tensor<T>& grad_out) {
                      SEAM_CHECK(grad_out.device() == device, op, " backward: gradient on ", grad_out.device().str(),
                                 ", input on ", device.str());
                      cuda::DeviceGuard guard(device.index);
                      const Tensor<T> gc = cuda_dense(grad_out.detach());
                      Tensor<T> dx = need_x ? empty<T>(x_shape, device) : Tensor<T>();
                      Tensor<T> dw = need_w ? empty<T>({shape.C}, device) : Tensor<T>();
                      Tensor<T> db = need_b ? empty<T>({shape.C}, device) : Tensor<T>();
                      auto out_ptr = [](Tensor<T>& t) { return t.defined() ? t.data() : nullptr; };
                      cuda::batch_norm_backward<T>(gc.data(), xc.data(), y_saved.defined() ? y_saved.data() : nullptr,
                                                   w.defined() ? w.data() : nullptr, w.defined() ? w.strides()[0] : 1,
                                                   save_mean.data(), save_invstd.data(), shape, training, out_ptr(dx),
                                                   out_ptr(dw), out_ptr(db));
                      return std::vector<Tensor<T>>{dx, dw, db};
                  });
    }
    return out;
}

/// layer_norm on CUDA tensors (kernels/seam/norm.cuh), after layer_norm's checks: x seen as
/// [rows, cols], the per-row mean and 1/std saved on the device (double) for the backward, every
/// gradient on the device.
template <class T>
inline Tensor<T> cuda_layer_norm(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias,
                                 const Shape& normalized_shape, int64_t rows, int64_t cols, double eps) {
    const Device device = x.device();
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> xc = cuda_dense(x.detach());
    const Tensor<T> wc = weight.defined() ? cuda_dense(weight.detach()) : Tensor<T>();
    const Tensor<T> bc = bias.defined() ? cuda_dense(bias.detach()) : Tensor<T>();
    Tensor<T> out = empty<T>(x.shape(), device);
    const Tensor<double> save_mean = empty<double>({rows}, device), save_rstd = empty<double>({rows}, device);
    const cuda::LayerNormShape shape{rows, cols};
    cuda::layer_norm_forward<T>(xc.data(), wc.defined() ? wc.data() : nullptr, bc.defined() ? bc.data() : nullptr,
                                out.data(), save_mean.data(), save_rstd.data(), shape, eps);
    if (needs_graph<T>({&x, &weight, &bias})) {
        const bool need_x = x.requires_grad(), need_w = weight.defined() && weight.requires_grad(),
                   need_b = bias.defined() && bias.requires_grad();
        const Shape x_shape = x.shape(), p_shape = normalized_shape;
        record<T>("layer_norm", out, {&x, &weight, &bias},
                  [xc, wc, save_mean, save_rstd, shape, need_x, need_w, need_b, x_shape, p_shape,
                   device](const Tensor<T>& grad_out) {
                      SEAM_CHECK(grad_out.device() == device, "layer_norm backward: gradient on ",
                                 grad_out.device().str(), ", input on ", device.str());
                      cuda::DeviceGuard guard(device.index);
                      const Tensor<T> gc = cuda_dense(grad_out.detach());
                      Tensor<T> dx = need_x ? empty<T>(x_shape, device) : Tensor<T>();
                      Tensor<T> dw = need_w ? empty<T>(p_shape, device) : Tensor<T>();
                      Tensor<T> db = need_b ? empty<T>(p_shape, device) : Tensor<T>();
                      auto out_ptr = [](Tensor<T>& t) { return t.defined() ? t.data() : nullptr; };
                      cuda::layer_norm_backward<T>(gc.data(), xc.data(), wc.defined() ? wc.data() : nullptr,
                                                   save_mean.data(), save_rstd.data(), shape, out_ptr(dx),
                                                   out_ptr(dw), out_ptr(db));
                      return std::vector<Tensor<T>>{dx, dw, db};
                  });
    }
    return out;
}
#endif  // SEAM_WITH_CUDA

/// The shared implementation of batch_norm and batch_norm_relu.
template <class T>
inline Tensor<T> batch_norm_impl(const char* op, const Tensor<T>& x, Tensor<T> running_mean, Tensor<T> running_var,
                                 const Tensor<T>& weight, const Tensor<T>& bias, bool training, double momentum,
                                 double eps, bool fuse_relu) {
    static_assert(std::is_floating_point_v<T>, "batch_norm needs float or double tensors");
#if SEAM_WITH_CUDA
    if (x.device().is_cuda())
        return cuda_batch_norm<T>(op, x, std::move(running_mean), std::move(running_var), weight, bias, training,
                                  momentum, eps, fuse_relu);
#endif
    SEAM_CHECK(x.device().is_cpu(), op, ": input is on ", x.device().str(), "; this is the CPU path");
    const BatchNormDims dims =
        check_batch_norm_args(op, x, running_mean, running_var, weight, bias, training, eps, Device::cpu());
    const int64_t N = dims.N, C = dims.C, inner = dims.inner, M = dims.M;

    const Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>(x.shape());
    const T* xp = xc.data();
    T* yp = out.data();
    // Per-channel statistics kept in double; invstd = 1 / sqrt(var + eps).
    auto mean = std::make_shared<std::vector<double>>(static_cast<size_t>(C));
    auto invstd = std::make_shared<std::vector<double>>(static_cast<size_t>(C));
    const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, M));
    parallel_for(0, C, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t c = lo; c < hi; ++c) {
            double m, var;
            if (training) {
                double s = 0;
                for (int64_t n = 0; n < N; ++n) {
                    const T* p = xp + (n * C + c) * inner;
                    s += lane_sum(inner, [p](int64_t i) { return static_cast<double>(p[i]); });
                }
                m = s / static_cast<double>(M);
                double q = 0;
                for (int64_t n = 0; n < N; ++n) {
                    const T* p = xp + (n * C + c) * inner;
                    q += lane_sum(inner, [p, m](int64_t i) {
                        double d = static_cast<double>(p[i]) - m;
                        return d * d;
                    });
                }
                var = q / static_cast<double>(M);  // biased: what the batch is normalised with
                if (running_mean.defined()) {
                    T* rm = running_mean.data() + c * running_mean.strides()[0];
                    T* rv = running_var.data() + c * running_var.strides()[0];
                    const double unbiased = q / static_cast<double>(M - 1);
                    *rm = static_cast<T>((1.0 - momentum) * static_cast<double>(*rm) + momentum * m);
                    *rv = static_cast<T>((1.0 - momentum) * static_cast<double>(*rv) + momentum * unbiased);
                }
            } else {
                m = channel_value_or(running_mean, c, 0.0);
                var = channel_value_or(running_var, c, 1.0);
            }
            const double is = 1.0 / std::sqrt(var + eps);
            (*mean)[c] = m;
            (*invstd)[c] = is;
            // Fused normalise + affine (+ ReLU): y = x * scale + shift.
            const double sc = channel_value_or(weight, c, 1.0) * is;
            const T scale = static_cast<T>(sc), shift = static_cast<T>(channel_value_or(bias, c, 0.0) - m * sc);
            for (int64_t n = 0; n < N; ++n) {
                const T* p = xp + (n * C + c) * inner;
                T* y = yp + (n * C + c) * inner;
                if (fuse_relu) {
                    for (int64_t i = 0; i < inner; ++i) {
                        T v = p[i] * scale + shift;
                        y[i] = v > T(0) ? v : T(0);
                    }
                } else {
                    for (int64_t i = 0; i < inner; ++i) y[i] = p[i] * scale + shift;
                }
            }
        }
    });

    if (needs_graph<T>({&x, &weight, &bias})) {
        const Tensor<T> w = weight.defined() ? weight.detach() : Tensor<T>();
        const Tensor<T> y_saved = fuse_relu ? out.detach() : Tensor<T>();  // the ReLU mask is y > 0
        const bool need_x = x.requires_grad(), need_w = weight.defined() && weight.requires_grad(),
                   need_b = bias.defined() && bias.requires_grad();
        const Shape x_shape = x.shape();
        record<T>(op, out, {&x, &weight, &bias},
                  [xc, w, y_saved, mean, invstd, training, need_x, need_w, need_b, N, C, inner, M, x_shape](
                      const Tensor<T>& grad_out) {
            const Tensor<T> gc = grad_out.contiguous();
            const T* gp = gc.data();
            const T* saved_x = xc.data();
            const T* saved_y = y_saved.defined() ? y_saved.data() : nullptr;
            Tensor<T> dx = need_x ? empty<T>(x_shape) : Tensor<T>();
            std::vector<double> dweight(static_cast<size_t>(C)), dbias(static_cast<size_t>(C));
            T* dxp = need_x ? dx.data() : nullptr;
            const int64_t channel_grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, M));
            parallel_for(0, C, channel_grain, [&](int64_t lo, int64_t hi) {
                for (int64_t c = lo; c < hi; ++c) {
                    const double m = (*mean)[c], is = (*invstd)[c];
                    // Pass 1: sum(g) and sum(g * (x - mean)), with g masked by the ReLU when fused.
                    double sum_g = 0, sum_gx = 0;
                    for (int64_t n = 0; n < N; ++n) {
                        const int64_t base = (n * C + c) * inner;
                        if (saved_y) grad_sums<true>(gp + base, saved_x + base, saved_y + base, inner, m, sum_g, sum_gx);
                        else grad_sums<false>(gp + base, saved_x + base, saved_x, inner, m, sum_g, sum_gx);
                    }
                    dbias[c] = sum_g;
                    dweight[c] = sum_gx * is;  // sum(g * xhat)
                    if (!dxp) continue;
                    // Pass 2: dx = A * (g - mean_g) - B * (x - mean)     (training; the three-term formula
                    //   dx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)) written per channel), or
                    // dx = A * g (evaluation: y is an affine map of x).
                    const double wc = channel_value_or(w, c, 1.0);
                    const T A = static_cast<T>(wc * is);
                    const T mean_g = training ? static_cast<T>(sum_g / double(M)) : T(0);
                    const T B = training ? static_cast<T>(wc * is * is * is * sum_gx / double(M)) : T(0);
                    const T mt = static_cast<T>(m);
                    for (int64_t n = 0; n < N; ++n) {
                        const int64_t base = (n * C + c) * inner;
                        const T *g = gp + base, *p = saved_x + base, *y = saved_y ? saved_y + base : nullptr;
                        T* d = dxp + base;
                        if (y) {
                            for (int64_t i = 0; i < inner; ++i) {
                                const T gi = g[i] * static_cast<T>(y[i] > T(0));  // as in grad_sums
                                d[i] = A * (gi - mean_g) - B * (p[i] - mt);
                            }
                        } else {
                            for (int64_t i = 0; i < inner; ++i) d[i] = A * (g[i] - mean_g) - B * (p[i] - mt);
                        }
                    }
                }
            });
            auto to_tensor = [C](const std::vector<double>& v) {
                Tensor<T> t = empty<T>({C});
                for (int64_t c = 0; c < C; ++c) t.data()[c] = static_cast<T>(v[c]);
                return t;
            };
            return std::vector<Tensor<T>>{dx, need_w ? to_tensor(dweight) : Tensor<T>(),
                                          need_b ? to_tensor(dbias) : Tensor<T>()};
        });
    }
    return out;
}

/// keep[i] = (word i % 4 of Philox block base + i / 4) < threshold, for the blocks [lo, hi) of an
/// n-element mask. A plain function (arguments are locals): the byte stores cannot alias them, and
/// the loop over whole blocks, free of bounds tests, vectorises.
inline void dropout_keep_blocks(uint8_t* keep, int64_t n, int64_t lo, int64_t hi, uint64_t key, uint64_t base,
                                uint64_t threshold) {
    const int64_t whole = std::min(hi, n / 4);
    for (int64_t b = lo; b < whole; ++b) {
        const Philox4x32 r = philox4x32(base + static_cast<uint64_t>(b), 0, key);
        for (int k = 0; k < 4; ++k) keep[4 * b + k] = static_cast<uint64_t>(r.v[k]) < threshold;
    }
    for (int64_t b = std::max(lo, whole); b < hi; ++b) {  // the last, partial block
        const Philox4x32 r = philox4x32(base + static_cast<uint64_t>(b), 0, key);
        for (int64_t k = 0; k < 4 && 4 * b + k < n; ++k) keep[4 * b + k] = static_cast<uint64_t>(r.v[k]) < threshold;
    }
}

#if SEAM_WITH_CUDA
/// dropout on a CUDA tensor (kernels/seam/norm.cuh): the same Philox words as the CPU op, so the
/// same generator state gives the same mask bit for bit; the mask (one byte an element) stays on
/// the device for the backward.
template <class T>
inline Tensor<T> cuda_dropout(const Tensor<T>& x, T p, Generator& gen) {
    const Device device = x.device();
    const int64_t n = x.numel();
    const T scale = p == T(1) ? T(0) : T(1) / (T(1) - p);
    const uint64_t threshold = static_cast<uint64_t>((1.0 - static_cast<double>(p)) * 4294967296.0);
    const uint64_t key = gen.seed(), base = gen.reserve(static_cast<uint64_t>(n));
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> xc = cuda_dense(x.detach());
    Tensor<T> out = empty<T>(x.shape(), device);
    const Tensor<uint8_t> keep = empty<uint8_t>({n}, device);
    cuda::dropout_forward<T>(xc.data(), out.data(), keep.data(), n, key, base, threshold, scale);
    if (needs_graph<T>({&x})) {
        const Shape shape = x.shape();
        record<T>("dropout", out, {&x}, [keep, n, scale, shape, device](const Tensor<T>& grad_out) {
            SEAM_CHECK(grad_out.device() == device, "dropout backward: gradient on ", grad_out.device().str(),
                       ", input on ", device.str());
            cuda::DeviceGuard guard(device.index);
            const Tensor<T> gc = cuda_dense(grad_out.detach());
            Tensor<T> dx = empty<T>(shape, device);
            cuda::dropout_backward<T>(gc.data(), keep.data(), dx.data(), n, scale);
            return std::vector<Tensor<T>>{dx};
        });
    }
    return out;
}
#endif  // SEAM_WITH_CUDA

}  // namespace detail

/// Batch normalisation over dimension 1 of x [N, C, ...] (BatchNorm1d on [N, C] or [N, C, L],
/// BatchNorm2d on [N, C, H, W]). running_mean/running_var ([C]) are updated in place when training
/// and defined; weight/bias ([C]) may be undefined (no affine part). The buffers get no gradient.
template <class T>
inline Tensor<T> batch_norm(const Tensor<T>& x, Tensor<T> running_mean, Tensor<T> running_var, const Tensor<T>& weight,
                            const Tensor<T>& bias, bool training, std::type_identity_t<T> momentum = T(0.1),
                            std::type_identity_t<T> eps = T(1e-5)) {
    return detail::batch_norm_impl<T>("batch_norm", x, std::move(running_mean), std::move(running_var), weight, bias,
                                      training, static_cast<double>(momentum), static_cast<double>(eps), false);
}

/// relu(batch_norm(...)) in one pass. The unfused pair writes y = bn(x), reads it back for the
/// ReLU and writes again; backward reads the ReLU's output and writes its gradient before BN's
/// backward reads it. Fused, the ReLU is a `max(v, 0)` in BN's output loop, and its backward is a
/// `y > 0 ? g : 0` select inside BN's two backward passes (the output y is saved as the mask), so
/// one full tensor write + read disappears each way. The same trick fuses any pointwise epilogue
/// (leaky ReLU, residual add) whose derivative can be read from the saved output.
template <class T>
inline Tensor<T> batch_norm_relu(const Tensor<T>& x, Tensor<T> running_mean, Tensor<T> running_var,
                                 const Tensor<T>& weight, const Tensor<T>& bias, bool training,
                                 std::type_identity_t<T> momentum = T(0.1), std::type_identity_t<T> eps = T(1e-5)) {
    return detail::batch_norm_impl<T>("batch_norm_relu", x, std::move(running_mean), std::move(running_var), weight,
                                      bias, training, static_cast<double>(momentum), static_cast<double>(eps), true);
}

/// Layer normalisation over the trailing dimensions `normalized_shape` of x (biased variance,
/// like PyTorch); weight and bias, when defined, have shape normalized_shape.
template <class T>
inline Tensor<T> layer_norm(const Tensor<T>& x, const std::vector<int64_t>& normalized_shape, const Tensor<T>& weight,
                            const Tensor<T>& bias, std::type_identity_t<T> eps = T(1e-5)) {
    static_assert(std::is_floating_point_v<T>, "layer_norm needs float or double tensors");
    const int64_t k = static_cast<int64_t>(normalized_shape.size());
    SEAM_CHECK(k >= 1, "layer_norm: normalized_shape must name at least one dimension");
    bool matches = x.dim() >= k;
    for (int64_t i = 0; matches && i < k; ++i) matches = x.size(x.dim() - k + i) == normalized_shape[i];
    SEAM_CHECK(matches, "layer_norm: input of shape ", shape_str(x.shape()), " does not end in normalized_shape ",
               shape_str(normalized_shape));
    for (const Tensor<T>* p : {&weight, &bias}) {
        if (!p->defined()) continue;
        SEAM_CHECK(p->shape() == normalized_shape, "layer_norm: ", p == &weight ? "weight" : "bias", " has shape ",
                   shape_str(p->shape()), " but normalized_shape is ", shape_str(normalized_shape));
        if (x.device().is_cpu())
            SEAM_CHECK(p->device().is_cpu(), "layer_norm: parameters must be on the CPU");
        else
            SEAM_CHECK(p->device() == x.device(), "layer_norm: tensors on different devices (input on ",
                       x.device().str(), ", ", p == &weight ? "weight" : "bias", " on ", p->device().str(),
                       "); move them to one device with .to(...)");
    }
    SEAM_CHECK(eps >= T(0), "layer_norm: eps must be >= 0, got ", eps);
    const int64_t D = numel_of(normalized_shape);
    SEAM_CHECK(D > 0, "layer_norm: normalized_shape ", shape_str(normalized_shape), " has no elements");
    const int64_t R = x.numel() / D;
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_layer_norm<T>(x, weight, bias, normalized_shape, R, D, static_cast<double>(eps));
#endif
    SEAM_CHECK(x.device().is_cpu(), "layer_norm: input is on ", x.device().str(), "; this is the CPU path");

    const Tensor<T> xc = x.detach().contiguous();
    const Tensor<T> wc = weight.defined() ? weight.detach().contiguous() : Tensor<T>();
    const Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
    Tensor<T> out = empty<T>(x.shape());
    auto mean = std::make_shared<std::vector<double>>(static_cast<size_t>(R));
    auto rstd = std::make_shared<std::vector<double>>(static_cast<size_t>(R));
    const T* xp = xc.data();
    const T* wp = wc.defined() ? wc.data() : nullptr;
    const T* bp = bc.defined() ? bc.data() : nullptr;
    T* yp = out.data();
    const double deps = static_cast<double>(eps);
    parallel_for(0, R, std::max<int64_t>(1, kParallelGrain / D), [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
            const T* p = xp + r * D;
            const double m = detail::lane_sum(D, [p](int64_t i) { return static_cast<double>(p[i]); }) / static_cast<double>(D);
            const double var = detail::lane_sum(D, [p, m](int64_t i) {
                                   double d = static_cast<double>(p[i]) - m;
                                   return d * d;
                               }) / static_cast<double>(D);
            const double is = 1.0 / std::sqrt(var + deps);
            (*mean)[r] = m;
            (*rstd)[r] = is;
            const T mt = static_cast<T>(m), st = static_cast<T>(is);
            T* y = yp + r * D;
            for (int64_t i = 0; i < D; ++i) {
                T v = (p[i] - mt) * st;
                if (wp) v *= wp[i];
                if (bp) v += bp[i];
                y[i] = v;
            }
        }
    });

    if (needs_graph<T>({&x, &weight, &bias})) {
        const bool need_x = x.requires_grad(), need_w = weight.defined() && weight.requires_grad(),
                   need_b = bias.defined() && bias.requires_grad();
        const Shape x_shape = x.shape(), p_shape = normalized_shape;
        record<T>("layer_norm", out, {&x, &weight, &bias},
                  [xc, wc, mean, rstd, R, D, need_x, need_w, need_b, x_shape, p_shape](const Tensor<T>& grad_out) {
            const Tensor<T> gc = grad_out.contiguous();
            const T* gp = gc.data();
            const T* saved_x = xc.data();
            const T* saved_w = wc.defined() ? wc.data() : nullptr;
            Tensor<T> dx;
            if (need_x) {
                dx = empty<T>(x_shape);
                T* dxp = dx.data();
                // Per row, with gw = g * w and xhat = (x - mean) * rstd:
                //   dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))
                parallel_for(0, R, std::max<int64_t>(1, kParallelGrain / D), [&](int64_t lo, int64_t hi) {
                    for (int64_t r = lo; r < hi; ++r) {
                        const T *g = gp + r * D, *p = saved_x + r * D;
                        const double m = (*mean)[r], is = (*rstd)[r];
                        auto gw = [g, saved_w](int64_t i) { return static_cast<double>(g[i]) * (saved_w ? double(saved_w[i]) : 1.0); };
                        const double mean_gw = detail::lane_sum(D, gw) / double(D);
                        const double mean_gwx =
                            detail::lane_sum(D, [&](int64_t i) { return gw(i) * (double(p[i]) - m) * is; }) / double(D);
                        const T st = static_cast<T>(is), a = static_cast<T>(mean_gw), b = static_cast<T>(mean_gwx),
                                mt = static_cast<T>(m);
                        T* d = dxp + r * D;
                        for (int64_t i = 0; i < D; ++i) {
                            const T gwi = saved_w ? g[i] * saved_w[i] : g[i];
                            d[i] = st * (gwi - a - (p[i] - mt) * st * b);
                        }
                    }
                });
            }
            Tensor<T> dw = need_w ? empty<T>(p_shape) : Tensor<T>(), db = need_b ? empty<T>(p_shape) : Tensor<T>();
            if (need_w || need_b) {
                // Column sums over rows. Threads own disjoint column ranges and add rows in order, so
                // the bits do not depend on the thread count.
                T* dwp = need_w ? dw.data() : nullptr;
                T* dbp = need_b ? db.data() : nullptr;
                parallel_for(0, D, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, R)), [&](int64_t lo, int64_t hi) {
                    std::vector<double> sw(static_cast<size_t>(hi - lo)), sb(static_cast<size_t>(hi - lo));
                    for (int64_t r = 0; r < R; ++r) {
                        const T *g = gp + r * D, *p = saved_x + r * D;
                        const double m = (*mean)[r], is = (*rstd)[r];
                        for (int64_t i = lo; i < hi; ++i) {
                            sw[i - lo] += double(g[i]) * (double(p[i]) - m) * is;
                            sb[i - lo] += double(g[i]);
                        }
                    }
                    for (int64_t i = lo; i < hi; ++i) {
                        if (dwp) dwp[i] = static_cast<T>(sw[i - lo]);
                        if (dbp) dbp[i] = static_cast<T>(sb[i - lo]);
                    }
                });
            }
            return std::vector<Tensor<T>>{dx, dw, db};
        });
    }
    return out;
}

/// Inverted dropout: at train time each element is kept with probability 1 - p and scaled by
/// 1 / (1 - p), so evaluation is the identity. The mask comes from the generator's Philox stream:
/// element i (row-major) is kept when 32-bit word i % 4 of block (base + i / 4) is below
/// (1 - p) * 2^32 — one Philox call per four elements, and a pure function of the generator state,
/// never of the thread count or of the input's strides. p = 1 gives zeros. The backward multiplies
/// by the same saved mask (one byte an element).
template <class T>
inline Tensor<T> dropout(const Tensor<T>& x, std::type_identity_t<T> p, bool training,
                         Generator& gen = default_generator()) {
    static_assert(std::is_floating_point_v<T>, "dropout needs float or double tensors");
    SEAM_CHECK(p >= T(0) && p <= T(1), "dropout: probability ", p, " is outside [0, 1]");
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return !training || p == T(0) ? x : detail::cuda_dropout<T>(x, p, gen);
#endif
    SEAM_CHECK(x.device().is_cpu(), "dropout: input is on ", x.device().str(), "; this is the CPU path");
    if (!training || p == T(0)) return x;
    const int64_t n = x.numel();
    const T scale = p == T(1) ? T(0) : T(1) / (T(1) - p);
    const uint64_t threshold = static_cast<uint64_t>((1.0 - static_cast<double>(p)) * 4294967296.0);
    const uint64_t key = gen.seed(), base = gen.reserve(static_cast<uint64_t>(n));
    auto keep = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(n));
    uint8_t* kp = keep->data();
    parallel_for(0, (n + 3) / 4, 1024, [kp, n, key, base, threshold](int64_t lo, int64_t hi) {
        detail::dropout_keep_blocks(kp, n, lo, hi, key, base, threshold);
    });
    const Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>(x.shape());
    const T* xp = xc.data();
    T* yp = out.data();
    // x * (0 or scale), like PyTorch's x * mask * scale: a select of constants, so it vectorises.
    parallel_for(0, n, kParallelGrain, [xp, yp, kp, scale](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) yp[i] = xp[i] * (kp[i] ? scale : T(0));
    });
    const Shape shape = x.shape();
    record<T>("dropout", out, {&x}, [keep, n, scale, shape](const Tensor<T>& grad_out) {
        const Tensor<T> gc = grad_out.contiguous();
        Tensor<T> dx = empty<T>(shape);
        const T* g = gc.data();
        const uint8_t* kept = keep->data();
        T* d = dx.data();
        parallel_for(0, n, kParallelGrain, [d, g, kept, scale](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) d[i] = g[i] * (kept[i] ? scale : T(0));
        });
        return std::vector<Tensor<T>>{dx};
    });
    return out;
}

}  // namespace seam
