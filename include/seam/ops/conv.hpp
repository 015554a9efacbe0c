// seam/ops/conv.hpp — 2-D convolution and transposed convolution (NCHW), forward and backward.
//
//   conv2d(x[N, C, H, W], w[O, C/groups, kh, kw], bias[O] or Tensor<T>(), Conv2dOptions{...})
//       -> y[N, O, Ho, Wo],  Ho = (H + 2·pad - dilation·(kh - 1) - 1) / stride + 1
//   conv_transpose2d(x[N, Cin, H, W], w[Cin, Cout/groups, kh, kw], bias[Cout] or Tensor<T>(),
//                    ConvTranspose2dOptions{...})
//       -> y[N, Cout, Ho, Wo], Ho = (H - 1)·stride - 2·pad + dilation·(kh - 1) + output_padding + 1
//
// Both are PyTorch's definitions (cross-correlation, zero padding, grouped channels in contiguous
// blocks). conv_transpose2d is the adjoint of conv2d with the same weight tensor, so the two share
// the kernels of cpu/conv.hpp:
//                      forward                 grad wrt its input     grad wrt weight
//   conv2d             conv2d_forward          conv2d_backward_data   conv2d_backward_weight(x, dy)
//   conv_transpose2d   conv2d_backward_data    conv2d_forward         conv2d_backward_weight(dy, x)
// The oracle is cpu/reference/conv.hpp (direct loops).
//
// CUDA: conv2d on GPU tensors (input, weight and bias on one device; a mix is refused naming the
// devices) runs kernels/seam/conv2d.cuh through seam/cuda/api.hpp — forward, backward-data,
// backward-weight and the bias gradient — with the algorithm cuda::conv_algorithm() names when
// the forward runs (the tiled implicit GEMM by default, the direct kernels on request); output and
// gradients stay on the device. conv_transpose2d on GPU tensors runs the same kernels by the table
// above (no kernel of its own); its bias is added by the elementwise add and its bias gradient is
// conv2d's, on a 1x1 geometry whose output is the transposed convolution's.
#pragma once

#include <array>

#include "seam/core/tensor.hpp"
#include "seam/cpu/conv.hpp"
#include "seam/ops/view.hpp"
#if SEAM_WITH_CUDA
#include "seam/cuda/api.hpp"
#endif

namespace seam {

struct Conv2dOptions {
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> padding{0, 0};
    std::array<int64_t, 2> dilation{1, 1};
    int64_t groups = 1;
};

struct ConvTranspose2dOptions {
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> padding{0, 0};
    std::array<int64_t, 2> output_padding{0, 0};  // extra rows/columns at the bottom/right of the output
    std::array<int64_t, 2> dilation{1, 1};
    int64_t groups = 1;
};

namespace detail {

/// The checks conv2d and conv_transpose2d share: ranks, hyper-parameters, device. With
/// cuda_allowed (conv2d and conv_transpose2d in a CUDA build) GPU tensors pass when input and
/// weight share a device; an op without a CUDA path passes false and refuses them.
template <class T>
inline void check_conv_arguments(const char* op, const Tensor<T>& x, const Tensor<T>& w, const char* weight_layout,
                                 std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                                 std::array<int64_t, 2> dilation, int64_t groups, bool cuda_allowed = false) {
    SEAM_CHECK(x.defined() && w.defined(), op, ": input and weight must be defined tensors");
    SEAM_CHECK(x.dim() == 4, op, ": input must be 4-D [N, C, H, W], got shape ", shape_str(x.shape()));
    SEAM_CHECK(w.dim() == 4, op, ": weight must be 4-D ", weight_layout, ", got shape ", shape_str(w.shape()));
    SEAM_CHECK(stride[0] > 0 && stride[1] > 0, op, ": stride ", pair_str(stride), " must be positive");
    SEAM_CHECK(dilation[0] > 0 && dilation[1] > 0, op, ": dilation ", pair_str(dilation), " must be positive");
    SEAM_CHECK(padding[0] >= 0 && padding[1] >= 0, op, ": padding ", pair_str(padding), " must not be negative");
    SEAM_CHECK(groups > 0, op, ": groups must be positive, got ", groups);
    if (cuda_allowed && (x.device().is_cuda() || w.device().is_cuda())) {
        SEAM_CHECK(x.device() == w.device(), op, ": inputs on different devices (input on ", x.device().str(),
                   ", weight on ", w.device().str(), "); move them to one device with .to(...)");
        return;
    }
#if SEAM_WITH_CUDA
    SEAM_CHECK(x.device().is_cpu() && w.device().is_cpu(), op, ": runs on the CPU only (no CUDA kernel yet); the ",
               "tensors are on ", x.device().str(), " and ", w.device().str());
#else
    SEAM_CHECK(x.device().is_cpu() && w.device().is_cpu(), op, ": tensors on ", x.device().str(), " and ",
               w.device().str(), " need the CUDA backend");
#endif
}

template <class T>
inline void check_bias(const char* op, const Tensor<T>& bias, int64_t channels, const Tensor<T>& w) {
    if (!bias.defined()) return;
    SEAM_CHECK(bias.dim() == 1 && bias.size(0) == channels, op, ": bias of shape ", shape_str(bias.shape()),
               " does not match weight of shape ", shape_str(w.shape()), " (expected [", channels, "])");
}

/// y[n, c, :] += bias[c] for a contiguous NCHW y.
template <class T>
inline void add_channel_bias(Tensor<T>& y, const Tensor<T>& bias) {
    Tensor<T> bc = bias.detach().contiguous();
    const int64_t N = y.size(0), C = y.size(1), P = y.size(2) * y.size(3);
    T* py = y.data();
    const T* pb = bc.data();
    parallel_for(0, N * C, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, P)), [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
            T* row = py + r * P;
            const T b = pb[r % C];
            for (int64_t p = 0; p < P; ++p) row[p] += b;
        }
    });
}

template <class T>
inline Tensor<T> channel_sums(const Tensor<T>& g) {  // g contiguous NCHW -> [C]
    Tensor<T> out = empty<T>({g.size(1)});
    cpu::channel_sums(g.data(), g.size(0), g.size(1), g.size(2) * g.size(3), out.data());
    return out;
}

#if SEAM_WITH_CUDA
// ----- the CUDA path of conv2d (kernels/seam/conv2d.cuh through seam/cuda/api.hpp) ----------------

template <class T>
inline bool conv2d_on_cuda(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias) {
    return x.device().is_cuda() || w.device().is_cuda() || (bias.defined() && bias.device().is_cuda());
}

/// conv2d of geometry g on the inputs' GPU, and its backward record (all three gradients on the device).
template <class T>
inline Tensor<T> cuda_conv2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, const cpu::ConvGeometry& g) {
    const Device device = x.device();
    SEAM_CHECK(w.device() == device && (!bias.defined() || bias.device() == device),
               "conv2d: inputs on different devices (input on ", device.str(), ", weight on ", w.device().str(),
               bias.defined() ? ", bias on " + bias.device().str() : std::string(), "); move them to one device with .to(...)");
    cuda::Conv2dShape s;
    s.N = g.batch, s.C = g.in_channels, s.H = g.in_h, s.W = g.in_w;
    s.O = g.out_channels, s.KH = g.kernel_h, s.KW = g.kernel_w;
    s.sh = g.stride_h, s.sw = g.stride_w, s.ph = g.pad_h, s.pw = g.pad_w, s.dh = g.dilation_h, s.dw = g.dilation_w;
    s.groups = g.groups, s.OH = g.out_h, s.OW = g.out_w;
    const cuda::ConvAlgorithm algorithm = cuda::conv_algorithm();
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> xc = x.detach().contiguous(), wc = w.detach().contiguous();
    const Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
    Tensor<T> y = empty<T>({s.N, s.O, s.OH, s.OW}, device);
    cuda::conv2d_forward<T>(xc.data(), wc.data(), bc.defined() ? bc.data() : nullptr, y.data(), s, algorithm);

    if (needs_graph<T>({&x, &w, &bias})) {
        const bool gx = x.requires_grad(), gw = w.requires_grad(), gb = bias.defined() && bias.requires_grad();
        const Tensor<T> xs = gw ? xc : Tensor<T>(), ws = gx ? wc : Tensor<T>();  // save only what backward reads
        const Shape x_shape = x.shape(), w_shape = w.shape();
        record<T>("conv2d", y, {&x, &w, &bias},
                  [s, algorithm, device, xs, ws, x_shape, w_shape, gx, gw, gb](const Tensor<T>& grad) {
                      SEAM_CHECK(grad.device() == device, "conv2d backward: gradient on ", grad.device().str(),
                                 ", inputs on ", device.str());
                      cuda::DeviceGuard guard(device.index);
                      const Tensor<T> gc = grad.contiguous();
                      Tensor<T> dx, dw, db;
                      if (gx) {
                          dx = empty<T>(x_shape, device);
                          cuda::conv2d_backward_data<T>(ws.data(), gc.data(), dx.data(), s, algorithm);
                      }
                      if (gw) {
                          dw = empty<T>(w_shape, device);
                          cuda::conv2d_backward_weight<T>(xs.data(), gc.data(), dw.data(), s, algorithm);
                      }
                      if (gb) {
                          db = empty<T>({s.O}, device);
                          cuda::conv2d_backward_bias<T>(gc.data(), db.data(), s);
                      }
                      return std::vector<Tensor<T>>{dx, dw, db};
                  });
    }
    return y;
}

/// conv_transpose2d on the inputs' GPU, g being the conv2d it is the adjoint of (input = the
/// transposed convolution's output [N, Cout, Ho, Wo], output = its input [N, Cin, H, W]).
///
/// The CUDA conv2d kernels insist that the conv2d output size follows the usual formula. With
/// output_padding ≥ stride (allowed when dilation > output_padding) that formula gives more
/// rows/columns than x has; the extra ones correspond to taps that no input reaches on the CPU
/// (it loops over H x W only), so x is zero-padded at the bottom/right to the formula's size:
/// zero rows add nothing to the forward and to the weight gradient, and the input gradient is
/// the top-left H x W corner of the padded one.
template <class T>
inline Tensor<T> cuda_conv_transpose2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias,
                                       const cpu::ConvGeometry& g) {
    const Device device = x.device();
    SEAM_CHECK(w.device() == device && (!bias.defined() || bias.device() == device),
               "conv_transpose2d: inputs on different devices (input on ", device.str(), ", weight on ",
               w.device().str(), bias.defined() ? ", bias on " + bias.device().str() : std::string(),
               "); move them to one device with .to(...)");
    cuda::Conv2dShape s;
    s.N = g.batch, s.C = g.in_channels, s.H = g.in_h, s.W = g.in_w;
    s.O = g.out_channels, s.KH = g.kernel_h, s.KW = g.kernel_w;
    s.sh = g.stride_h, s.sw = g.stride_w, s.ph = g.pad_h, s.pw = g.pad_w, s.dh = g.dilation_h, s.dw = g.dilation_w;
    s.groups = g.groups;
    s.OH = (s.H + 2 * s.ph - s.dh * (s.KH - 1) - 1) / s.sh + 1;  // >= g.out_h (more with output_padding >= stride)
    s.OW = (s.W + 2 * s.pw - s.dw * (s.KW - 1) - 1) / s.sw + 1;
    const bool padded = s.OH != g.out_h || s.OW != g.out_w;
    const cuda::ConvAlgorithm algorithm = cuda::conv_algorithm();
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> wc = w.detach().contiguous();
    Tensor<T> xc = x.detach().contiguous();
    if (padded) {
        Tensor<T> full = empty<T>({s.N, s.O, s.OH, s.OW}, device);
        full.fill_(T(0));
        full.narrow(2, 0, g.out_h).narrow(3, 0, g.out_w).copy_(xc);
        xc = full;
    }
    Tensor<T> y = empty<T>({s.N, s.C, s.H, s.W}, device);
    cuda::conv2d_backward_data<T>(wc.data(), xc.data(), y.data(), s, algorithm);
    if (bias.defined() && y.numel() > 0) {  // y[n, c, :, :] += bias[c], in place (each element read, then written)
        const Tensor<T> bc = bias.detach().contiguous();
        cuda::binary<T>(cuda::BinaryOp::add, y.data(), y.strides(), bc.data(), Shape{0, 1, 0, 0}, y.shape(), y.data());
    }

    if (needs_graph<T>({&x, &w, &bias})) {
        const bool gx = x.requires_grad(), gw = w.requires_grad(), gb = bias.defined() && bias.requires_grad();
        const Tensor<T> xs = gw ? xc : Tensor<T>(), ws = gx ? wc : Tensor<T>();  // xs padded when needed
        const Shape x_shape = x.shape(), w_shape = w.shape();
        record<T>("conv_transpose2d", y, {&x, &w, &bias},
                  [s, algorithm, device, xs, ws, x_shape, w_shape, gx, gw, gb, padded](const Tensor<T>& grad) {
                      SEAM_CHECK(grad.device() == device, "conv_transpose2d backward: gradient on ",
                                 grad.device().str(), ", inputs on ", device.str());
                      cuda::DeviceGuard guard(device.index);
                      const Tensor<T> gc = grad.detach().contiguous();
                      Tensor<T> dx, dw, db;
                      if (gx) {  // the adjoint of the adjoint: conv2d of the output gradient
                          dx = empty<T>({s.N, s.O, s.OH, s.OW}, device);
                          cuda::conv2d_forward<T>(gc.data(), ws.data(), nullptr, dx.data(), s, algorithm);
                          if (padded) dx = dx.narrow(2, 0, x_shape[2]).narrow(3, 0, x_shape[3]).contiguous();
                      }
                      if (gw) {  // conv2d's weight gradient with input and output gradient swapped
                          dw = empty<T>(w_shape, device);
                          cuda::conv2d_backward_weight<T>(gc.data(), xs.data(), dw.data(), s, algorithm);
                      }
                      if (gb) {  // Σ over n, h, w of the output gradient: conv2d's bias gradient of a 1x1
                                 // convolution whose output is [N, Cout, Ho, Wo]
                          cuda::Conv2dShape ones;
                          ones.N = s.N, ones.C = s.C, ones.H = s.H, ones.W = s.W, ones.O = s.C;
                          ones.OH = s.H, ones.OW = s.W;
                          db = empty<T>({s.C}, device);
                          cuda::conv2d_backward_bias<T>(gc.data(), db.data(), ones);
                      }
                      return std::vector<Tensor<T>>{dx, dw, db};
                  });
    }
    return y;
}
#endif  // SEAM_WITH_CUDA

}  // namespace detail

/// 2-D convolution (cross-correlation) of x[N, C, H, W] with w[O, C/groups, kh, kw], plus bias[O].
template <class T>
inline Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias = Tensor<T>(),
                        const Conv2dOptions& opt = {}) {
    static_assert(std::is_floating_point_v<T>, "conv2d needs float or double tensors");
    detail::check_conv_arguments("conv2d", x, w, "[out_channels, in_channels/groups, kh, kw]", opt.stride,
                                 opt.padding, opt.dilation, opt.groups, /*cuda_allowed=*/SEAM_WITH_CUDA != 0);
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    const int64_t O = w.size(0), KH = w.size(2), KW = w.size(3);
    SEAM_CHECK(C % opt.groups == 0 && O % opt.groups == 0, "conv2d: input channels ", C, " and output channels ", O,
               " (input ", shape_str(x.shape()), ", weight ", shape_str(w.shape()), ") must both be divisible by groups=",
               opt.groups);
    SEAM_CHECK(w.size(1) * opt.groups == C, "conv2d: input of shape ", shape_str(x.shape()), " has ", C,
               " channels but weight of shape ", shape_str(w.shape()), " with groups=", opt.groups, " expects ",
               w.size(1) * opt.groups);
    detail::check_bias("conv2d", bias, O, w);
    const int64_t span_h = opt.dilation[0] * (KH - 1) + 1, span_w = opt.dilation[1] * (KW - 1) + 1;
    SEAM_CHECK(H + 2 * opt.padding[0] >= span_h && W + 2 * opt.padding[1] >= span_w, "conv2d: input of shape ",
               shape_str(x.shape()), " padded by ", detail::pair_str(opt.padding), " is smaller than the kernel ",
               KH, "x", KW, " with dilation ", detail::pair_str(opt.dilation), " (which spans ", span_h, "x", span_w, ")");

    cpu::ConvGeometry g;
    g.batch = N, g.in_channels = C, g.in_h = H, g.in_w = W;
    g.out_channels = O, g.kernel_h = KH, g.kernel_w = KW;
    g.stride_h = opt.stride[0], g.stride_w = opt.stride[1], g.pad_h = opt.padding[0], g.pad_w = opt.padding[1];
    g.dilation_h = opt.dilation[0], g.dilation_w = opt.dilation[1], g.groups = opt.groups;
    g.out_h = (H + 2 * g.pad_h - span_h) / g.stride_h + 1;
    g.out_w = (W + 2 * g.pad_w - span_w) / g.stride_w + 1;
#if SEAM_WITH_CUDA
    if (detail::conv2d_on_cuda(x, w, bias)) return detail::cuda_conv2d(x, w, bias, g);
#endif

    Tensor<T> xc = x.detach().contiguous(), wc = w.detach().contiguous();
    Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
    Tensor<T> y = empty<T>({N, O, g.out_h, g.out_w});
    cpu::conv2d_forward<T>(g, xc.data(), wc.data(), bc.defined() ? bc.data() : nullptr, y.data());

    if (needs_graph<T>({&x, &w, &bias})) {
        const bool gx = x.requires_grad(), gw = w.requires_grad(), gb = bias.defined() && bias.requires_grad();
        Tensor<T> xs = gw ? xc : Tensor<T>(), ws = gx ? wc : Tensor<T>();  // save only what backward reads
        Shape x_shape = x.shape(), w_shape = w.shape();
        record<T>("conv2d", y, {&x, &w, &bias}, [g, xs, ws, x_shape, w_shape, gx, gw, gb](const Tensor<T>& grad) {
            Tensor<T> gc = grad.contiguous();
            Tensor<T> dx, dw;
            if (gx) {
                dx = empty<T>(x_shape);
                cpu::conv2d_backward_data<T>(g, ws.data(), gc.data(), dx.data());
            }
            if (gw) {
                dw = empty<T>(w_shape);
                cpu::conv2d_backward_weight<T>(g, xs.data(), gc.data(), dw.data());
            }
            return std::vector<Tensor<T>>{dx, dw, gb ? detail::channel_sums(gc) : Tensor<T>()};
        });
    }
    return y;
}

/// Transposed convolution (the adjoint of conv2d; "deconvolution") of x[N, Cin, H, W] with
/// w[Cin, Cout/groups, kh, kw], plus bias[Cout].
template <class T>
inline Tensor<T> conv_transpose2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias = Tensor<T>(),
                                  const ConvTranspose2dOptions& opt = {}) {
    static_assert(std::is_floating_point_v<T>, "conv_transpose2d needs float or double tensors");
    detail::check_conv_arguments("conv_transpose2d", x, w, "[in_channels, out_channels/groups, kh, kw]", opt.stride,
                                 opt.padding, opt.dilation, opt.groups, /*cuda_allowed=*/SEAM_WITH_CUDA != 0);
    const int64_t N = x.size(0), Cin = x.size(1), H = x.size(2), W = x.size(3);
    const int64_t KH = w.size(2), KW = w.size(3), Cout = w.size(1) * opt.groups;
    SEAM_CHECK(w.size(0) == Cin, "conv_transpose2d: input of shape ", shape_str(x.shape()), " has ", Cin,
               " channels but weight of shape ", shape_str(w.shape()), " expects ", w.size(0));
    SEAM_CHECK(Cin % opt.groups == 0, "conv_transpose2d: input channels ", Cin, " (input ", shape_str(x.shape()),
               ") must be divisible by groups=", opt.groups);
    for (int d = 0; d < 2; ++d)
        SEAM_CHECK(opt.output_padding[d] >= 0 &&
                       (opt.output_padding[d] < opt.stride[d] || opt.output_padding[d] < opt.dilation[d]),
                   "conv_transpose2d: output_padding ", detail::pair_str(opt.output_padding),
                   " must be non-negative and smaller than either stride ", detail::pair_str(opt.stride),
                   " or dilation ", detail::pair_str(opt.dilation));
    detail::check_bias("conv_transpose2d", bias, Cout, w);
    const int64_t Ho = (H - 1) * opt.stride[0] - 2 * opt.padding[0] + opt.dilation[0] * (KH - 1) + opt.output_padding[0] + 1;
    const int64_t Wo = (W - 1) * opt.stride[1] - 2 * opt.padding[1] + opt.dilation[1] * (KW - 1) + opt.output_padding[1] + 1;
    SEAM_CHECK(Ho > 0 && Wo > 0, "conv_transpose2d: input of shape ", shape_str(x.shape()), " with weight ",
               shape_str(w.shape()), " and padding ", detail::pair_str(opt.padding), " gives an empty output (", Ho,
               "x", Wo, ")");

    // The conv2d whose adjoint this is: it maps y[N, Cout, Ho, Wo] to x's shape with the same weight.
    cpu::ConvGeometry g;
    g.batch = N, g.in_channels = Cout, g.in_h = Ho, g.in_w = Wo;
    g.out_channels = Cin, g.kernel_h = KH, g.kernel_w = KW;
    g.stride_h = opt.stride[0], g.stride_w = opt.stride[1], g.pad_h = opt.padding[0], g.pad_w = opt.padding[1];
    g.dilation_h = opt.dilation[0], g.dilation_w = opt.dilation[1], g.groups = opt.groups;
    g.out_h = H, g.out_w = W;
#if SEAM_WITH_CUDA
    if (detail::conv2d_on_cuda(x, w, bias)) return detail::cuda_conv_transpose2d(x, w, bias, g);
#endif

    Tensor<T> xc = x.detach().contiguous(), wc = w.detach().contiguous();
    Tensor<T> y = empty<T>({N, Cout, Ho, Wo});
    cpu::conv2d_backward_data<T>(g, wc.data(), xc.data(), y.data());
    if (bias.defined()) detail::add_channel_bias(y, bias);

    if (needs_graph<T>({&x, &w, &bias})) {
        const bool gx = x.requires_grad(), gw = w.requires_grad(), gb = bias.defined() && bias.requires_grad();
        Tensor<T> xs = gw ? xc : Tensor<T>(), ws = gx ? wc : Tensor<T>();
        Shape x_shape = x.shape(), w_shape = w.shape();
        record<T>("conv_transpose2d", y, {&x, &w, &bias}, [g, xs, ws, x_shape, w_shape, gx, gw, gb](const Tensor<T>& grad) {
            Tensor<T> gc = grad.contiguous();
            Tensor<T> dx, dw;
            if (gx) {  // the adjoint of the adjoint: conv2d of the output gradient
                dx = empty<T>(x_shape);
                cpu::conv2d_forward<T>(g, gc.data(), ws.data(), nullptr, dx.data());
            }
            if (gw) {  // conv2d's weight gradient with the roles of input and output gradient swapped
                dw = empty<T>(w_shape);
                cpu::conv2d_backward_weight<T>(g, gc.data(), xs.data(), dw.data());
            }
            return std::vector<Tensor<T>>{dx, dw, gb ? detail::channel_sums(gc) : Tensor<T>()};
        });
    }
    return y;
}

}  // namespace seam
