// seam/ops/pool.hpp — 2-D pooling over NCHW tensors: max, average, adaptive average, adaptive max.
//
// Every op follows PyTorch's CPU semantics exactly, so that models and checkpoints ported from
// PyTorch give the same numbers:
//   * output size: floor((H + 2p - d(k-1) - 1) / s) + 1, or with ceil_mode rounded up, but a last
//     window that would start in the right padding is dropped;
//   * padding may be at most half the (dilated) kernel; max pooling treats padding as -inf (it
//     never wins), ties go to the first maximum in scan order, and a NaN in a window wins;
//   * average pooling divides by the window clipped to (input + padding) with count_include_pad,
//     or to the input without it, or by divisor_override when that is set;
//   * adaptive pooling uses window i = [floor(i*H/oh), ceil((i+1)*H/oh)).
// The fast path works on one (n, c) plane at a time, planes split across threads. Inside a plane
// it loops over window taps outside and output columns inside (TapRange), so the innermost loop
// is a branch-free pass along a row that the compiler vectorises. 2x2 stride-2 max pooling
// (every VGG block) has its own loop. The backward passes scatter into the input plane that
// owns the window, so planes never race. cpu/reference/pool.hpp holds the naive loops the fast
// path is tested against.
//
// CUDA: when the input lives on a GPU, every op here runs the kernels of kernels/seam/pool2d.cuh
// through seam/cuda/api.hpp with the same geometry; the output, the indices and the gradients stay
// on that device. Forward results are the CPU's bit for bit (the same operations in the same
// order); the backward kernels gather, per input cell, the contributions in the CPU scatter's
// order (no atomics: deterministic).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "seam/core/tensor.hpp"
#if SEAM_WITH_CUDA
#include "seam/cuda/api.hpp"
#endif

namespace seam {

/// Geometry of a 2-D pooling window. stride {0, 0} means "same as the kernel" (PyTorch's default).
struct Pool2dOptions {
    std::array<int64_t, 2> kernel{0, 0};
    std::array<int64_t, 2> stride{0, 0};
    std::array<int64_t, 2> padding{0, 0};
    std::array<int64_t, 2> dilation{1, 1};
    bool ceil_mode = false;
};

/// What average pooling divides by (PyTorch's avg_pool2d arguments of the same names).
struct AvgPoolOptions {
    bool count_include_pad = true;
    int64_t divisor_override = 0;  // 0: none; otherwise every window sum is divided by this (as PyTorch, any sign)
};

/// PyTorch's pooling_output_shape: the number of windows along one dimension.
inline int64_t pooling_output_size(int64_t input, int64_t kernel, int64_t pad, int64_t stride, int64_t dilation,
                                   bool ceil_mode) {
    const int64_t span = input + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
    // Floor division (span may be negative for a too-small input).
    int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
    // With ceil_mode the last window must start inside the input or the left padding.
    if (ceil_mode && (out - 1) * stride >= input + pad) --out;
    return out;
}

namespace detail {

/// Everything a pooling kernel needs, resolved and validated once.
struct Pool2dGeometry {
    int64_t N = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0;
    int64_t kh = 0, kw = 0, sh = 0, sw = 0, ph = 0, pw = 0, dh = 1, dw = 1;
    bool ceil_mode = false;
    int64_t planes() const { return N * C; }
};

inline void require_pool_input(const char* op, const Shape& shape) {
    SEAM_CHECK(shape.size() == 4, op, ": input of shape ", shape_str(shape), " must be 4-D [N, C, H, W]");
}

inline Pool2dGeometry pool2d_geometry(const char* op, const Shape& shape, const Pool2dOptions& o) {
    require_pool_input(op, shape);
    SEAM_CHECK(o.kernel[0] > 0 && o.kernel[1] > 0, op, ": kernel size must be positive, got ", pair_str(o.kernel));
    const bool stride_default = o.stride[0] == 0 && o.stride[1] == 0;
    SEAM_CHECK(stride_default || (o.stride[0] > 0 && o.stride[1] > 0), op, ": stride must be positive (or {0, 0} for ",
               "the kernel size), got ", pair_str(o.stride));
    SEAM_CHECK(o.dilation[0] > 0 && o.dilation[1] > 0, op, ": dilation must be positive, got ", pair_str(o.dilation));
    SEAM_CHECK(o.padding[0] >= 0 && o.padding[1] >= 0, op, ": padding must be non-negative, got ", pair_str(o.padding));
    // PyTorch bounds the padding by half the effective (dilated) kernel, (k - 1) * d + 1.
    const std::array<int64_t, 2> effective{(o.kernel[0] - 1) * o.dilation[0] + 1, (o.kernel[1] - 1) * o.dilation[1] + 1};
    SEAM_CHECK(o.padding[0] <= effective[0] / 2 && o.padding[1] <= effective[1] / 2, op, ": padding ",
               pair_str(o.padding), " must be at most half the effective kernel size ", pair_str(effective), " (kernel ",
               pair_str(o.kernel), ", dilation ", pair_str(o.dilation), ")");
    Pool2dGeometry g;
    g.N = shape[0], g.C = shape[1], g.H = shape[2], g.W = shape[3];
    g.kh = o.kernel[0], g.kw = o.kernel[1];
    g.sh = stride_default ? o.kernel[0] : o.stride[0];
    g.sw = stride_default ? o.kernel[1] : o.stride[1];
    g.ph = o.padding[0], g.pw = o.padding[1];
    g.dh = o.dilation[0], g.dw = o.dilation[1];
    g.ceil_mode = o.ceil_mode;
    g.OH = pooling_output_size(g.H, g.kh, g.ph, g.sh, g.dh, g.ceil_mode);
    g.OW = pooling_output_size(g.W, g.kw, g.pw, g.sw, g.dw, g.ceil_mode);
    SEAM_CHECK(g.OH >= 1 && g.OW >= 1, op, ": input of shape ", shape_str(shape), " is too small for kernel ",
               pair_str(o.kernel), ", stride ", pair_str({g.sh, g.sw}), ", padding ", pair_str(o.padding), ", dilation ",
               pair_str(o.dilation), ": the output would be ", g.OH, "x", g.OW);
    return g;
}

/// Half-open range of input positions [begin, end) that one window touches, after clipping.
struct WindowSpan {
    int64_t begin, end;
};

/// The taps of max-pool window `o` that land inside [0, size): begin is the first valid tap,
/// end the clipped end (taps are begin, begin + dilation, ... < end).
inline std::vector<WindowSpan> max_pool_spans(int64_t out, int64_t size, int64_t kernel, int64_t stride, int64_t pad,
                                        int64_t dilation) {
    std::vector<WindowSpan> spans(static_cast<size_t>(out));
    for (int64_t o = 0; o < out; ++o) {
        int64_t begin = o * stride - pad;
        const int64_t end = std::min(begin + (kernel - 1) * dilation + 1, size);
        while (begin < 0) begin += dilation;
        spans[o] = {begin, end};
    }
    return spans;
}

/// Column tap j of every window along one axis: the input position is o * stride + offset, and
/// it lies inside the input exactly for o in [lo, hi). Looping taps outside and outputs inside
/// turns the window loops into straight, branch-free passes over an output row that the
/// compiler vectorises, with no bounds test in the inner loop.
struct TapRange {
    int64_t offset, lo, hi;
};

inline std::vector<TapRange> tap_ranges(int64_t out, int64_t size, int64_t kernel, int64_t stride, int64_t pad,
                                        int64_t dilation) {
    std::vector<TapRange> taps(static_cast<size_t>(kernel));
    for (int64_t j = 0; j < kernel; ++j) {
        const int64_t offset = j * dilation - pad;
        const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        const int64_t hi = size - 1 - offset < 0 ? 0 : std::min(out, (size - 1 - offset) / stride + 1);
        taps[j] = {offset, std::min(lo, hi), hi};
    }
    return taps;
}

/// Update rule shared by every max-pooling loop here: a strictly larger value
/// wins, so ties keep the first maximum in scan order; a NaN always wins, so NaN propagates.
template <class T>
inline bool max_pool_takes(T v, T current) { return v > current || std::isnan(v); }

/// One plane of max pooling. A window that touches no input (possible only when dilation puts
/// every tap in the padding) gives -inf and index -1, which backward skips; PyTorch leaves
/// such an index pointing outside the plane.
template <class T, bool WithIndex>
inline void max_pool2d_plane(const T* __restrict in, T* __restrict out, int64_t* __restrict idx,
                             const Pool2dGeometry& g, const std::vector<WindowSpan>& hs,
                             const std::vector<WindowSpan>& ws, const std::vector<TapRange>& cols) {
    const int64_t W = g.W, OW = g.OW;
    if (g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1 &&
        2 * g.OH <= g.H && 2 * OW <= W) {
        // The VGG case: four taps, all inside, visited in scan order with the same rule.
        for (int64_t oh = 0; oh < g.OH; ++oh) {
            const T* r0 = in + 2 * oh * W;
            const T* r1 = r0 + W;
            T* o = out + oh * OW;
            int64_t* at = WithIndex ? idx + oh * OW : nullptr;
            for (int64_t ow = 0; ow < OW; ++ow) {
                const T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
                T m = a;
                int64_t k = 0;  // which tap: 0 1 / 2 3
                if (max_pool_takes(b, m)) m = b, k = 1;
                if (max_pool_takes(c, m)) m = c, k = 2;
                if (max_pool_takes(d, m)) m = d, k = 3;
                o[ow] = m;
                if constexpr (WithIndex) at[ow] = (2 * oh + (k >> 1)) * W + 2 * ow + (k & 1);
            }
        }
        return;
    }
    constexpr T lowest = -std::numeric_limits<T>::infinity();
    for (int64_t oh = 0; oh < g.OH; ++oh) {
        const WindowSpan h = hs[oh];
        T* m = out + oh * OW;
        int64_t* at = WithIndex ? idx + oh * OW : nullptr;
        for (int64_t ow = 0; ow < OW; ++ow) {
            m[ow] = lowest;
            // Start at the first real tap, so an all -inf window still points at its input.
            if constexpr (WithIndex) at[ow] = (h.begin < h.end && ws[ow].begin < ws[ow].end) ? h.begin * W + ws[ow].begin : -1;
        }
        // Rows outside, column taps next, output columns innermost: each window still sees its
        // taps in scan order (row by row, left to right), so the tie rule is unchanged.
        for (int64_t ih = h.begin; ih < h.end; ih += g.dh) {
            const T* row = in + ih * W;
            for (const TapRange& tap : cols) {
                for (int64_t ow = tap.lo; ow < tap.hi; ++ow) {
                    const int64_t iw = ow * g.sw + tap.offset;
                    const T v = row[iw];
                    const bool take = max_pool_takes(v, m[ow]);
                    m[ow] = take ? v : m[ow];
                    if constexpr (WithIndex) at[ow] = take ? ih * W + iw : at[ow];
                }
            }
        }
    }
}

/// Threads get whole planes; a plane of `work` operations is worth splitting at kParallelGrain.
inline int64_t pool_plane_grain(int64_t work) {
    return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work, 1));
}

template <class T>
inline void max_pool2d_forward(const Tensor<T>& xc, Tensor<T>& out, Tensor<int64_t>* indices, const Pool2dGeometry& g) {
    const auto hs = max_pool_spans(g.OH, g.H, g.kh, g.sh, g.ph, g.dh);
    const auto ws = max_pool_spans(g.OW, g.W, g.kw, g.sw, g.pw, g.dw);
    const auto cols = tap_ranges(g.OW, g.W, g.kw, g.sw, g.pw, g.dw);
    const T* in = xc.data();
    T* o = out.data();
    int64_t* ix = indices ? indices->data() : nullptr;
    const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
    parallel_for(0, g.planes(), pool_plane_grain(out_plane * g.kh * g.kw), [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) {
            if (ix) max_pool2d_plane<T, true>(in + p * in_plane, o + p * out_plane, ix + p * out_plane, g, hs, ws, cols);
            else max_pool2d_plane<T, false>(in + p * in_plane, o + p * out_plane, nullptr, g, hs, ws, cols);
        }
    });
}

/// grad_input[plane][index] += grad_output[plane][o]: the backward of every max pooling.
template <class T>
inline Tensor<T> scatter_max_gradient(const Tensor<T>& grad_out, const Tensor<int64_t>& indices, const Shape& in_shape) {
    Tensor<T> gc = grad_out.contiguous();
    Tensor<T> grad_in = zeros<T>(in_shape);
    const int64_t planes = in_shape[0] * in_shape[1], in_plane = in_shape[2] * in_shape[3];
    const int64_t out_plane = grad_out.numel() / std::max<int64_t>(planes, 1);
    const T* g = gc.data();
    const int64_t* ix = indices.data();
    T* gi = grad_in.data();
    parallel_for(0, planes, pool_plane_grain(out_plane + in_plane), [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) {
            T* dst = gi + p * in_plane;
            const T* src = g + p * out_plane;
            const int64_t* at = ix + p * out_plane;
            for (int64_t o = 0; o < out_plane; ++o)
                if (at[o] >= 0) dst[at[o]] += src[o];
        }
    });
    return grad_in;
}

/// One average-pool window: its clipped input range and PyTorch's divisor.
struct AvgWindow {
    int64_t begin, end, pooled;  // pooled: window length clipped to input + padding
};

inline std::vector<AvgWindow> avg_pool_windows(int64_t out, int64_t size, int64_t kernel, int64_t stride, int64_t pad) {
    std::vector<AvgWindow> win(static_cast<size_t>(out));
    for (int64_t o = 0; o < out; ++o) {
        const int64_t begin = o * stride - pad;
        const int64_t end = std::min(begin + kernel, size + pad);
        win[o] = {std::max<int64_t>(begin, 0), std::min(end, size), end - begin};
    }
    return win;
}

inline int64_t avg_divisor(const AvgWindow& h, const AvgWindow& w, const AvgPoolOptions& a) {
    if (a.divisor_override != 0) return a.divisor_override;
    return a.count_include_pad ? h.pooled * w.pooled : (h.end - h.begin) * (w.end - w.begin);
}

inline Pool2dGeometry avg_pool2d_geometry(const Shape& shape, const Pool2dOptions& o) {
    SEAM_CHECK(o.dilation[0] == 1 && o.dilation[1] == 1, "avg_pool2d: dilation ", pair_str(o.dilation),
               " is not supported (PyTorch's avg_pool2d has none); use {1, 1}");
    return pool2d_geometry("avg_pool2d", shape, o);
}

/// Adaptive window i of `out` over `size`: [floor(i*size/out), ceil((i+1)*size/out)).
inline std::vector<WindowSpan> adaptive_spans(int64_t out, int64_t size) {
    std::vector<WindowSpan> spans(static_cast<size_t>(out));
    for (int64_t i = 0; i < out; ++i) spans[i] = {(i * size) / out, ((i + 1) * size + out - 1) / out};
    return spans;
}

inline void adaptive_check(const char* op, const Shape& shape, const std::array<int64_t, 2>& size) {
    require_pool_input(op, shape);
    SEAM_CHECK(shape[2] > 0 && shape[3] > 0, op, ": input of shape ", shape_str(shape),
               " must have non-zero height and width");
    SEAM_CHECK(size[0] >= 0 && size[1] >= 0, op, ": output size ", pair_str(size), " must be non-negative");
}

#if SEAM_WITH_CUDA
// ----- the CUDA path (kernels/seam/pool2d.cuh through seam/cuda/api.hpp) --------------------------
// The same geometry and rules as above, computed on the input's GPU; outputs, indices and
// gradients stay there. Each backward overwrites a fresh gradient tensor (every element written).

inline cuda::Pool2dShape cuda_pool_shape(const Pool2dGeometry& g) {
    cuda::Pool2dShape s;
    s.N = g.N, s.C = g.C, s.H = g.H, s.W = g.W, s.OH = g.OH, s.OW = g.OW;
    s.kh = g.kh, s.kw = g.kw, s.sh = g.sh, s.sw = g.sw, s.ph = g.ph, s.pw = g.pw, s.dh = g.dh, s.dw = g.dw;
    return s;
}

inline cuda::Pool2dShape cuda_adaptive_shape(const Shape& in, const std::array<int64_t, 2>& size) {
    cuda::Pool2dShape s;
    s.N = in[0], s.C = in[1], s.H = in[2], s.W = in[3], s.OH = size[0], s.OW = size[1];
    return s;
}

template <class T>
inline void check_gradient_device(const char* op, const Tensor<T>& grad, Device device) {
    SEAM_CHECK(grad.device() == device, op, " backward: gradient on ", grad.device().str(), ", input on ", device.str());
}

/// Max pooling (window or adaptive) on the GPU: the output, and the indices when asked for or when
/// the backward needs them (otherwise an undefined tensor: inference writes no indices).
template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> cuda_max_pool(const char* op, const Tensor<T>& x, const cuda::Pool2dShape& s,
                                                           bool adaptive, bool want_indices) {
    const Device device = x.device();
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>({s.N, s.C, s.OH, s.OW}, device);
    const bool graph = needs_graph<T>({&x});
    Tensor<int64_t> indices = want_indices || graph ? empty<int64_t>(out.shape(), device) : Tensor<int64_t>();
    int64_t* ix = indices.defined() ? indices.data() : nullptr;
    if (adaptive) cuda::adaptive_max_pool2d_forward<T>(xc.data(), out.data(), ix, s);
    else cuda::max_pool2d_forward<T>(xc.data(), out.data(), ix, s);
    if (graph) {
        const Shape in_shape = x.shape();
        record<T>(op, out, {&x}, [op, indices, s, adaptive, device, in_shape](const Tensor<T>& grad) {
            check_gradient_device(op, grad, device);
            cuda::DeviceGuard guard(device.index);
            const Tensor<T> gc = grad.contiguous();
            Tensor<T> grad_in = empty<T>(in_shape, device);
            if (adaptive) cuda::adaptive_max_pool2d_backward<T>(gc.data(), indices.data(), grad_in.data(), s);
            else cuda::max_pool2d_backward<T>(gc.data(), indices.data(), grad_in.data(), s);
            return std::vector<Tensor<T>>{grad_in};
        });
    }
    return {out, indices};
}

template <class T>
inline Tensor<T> cuda_avg_pool(const char* op, const Tensor<T>& x, const cuda::Pool2dShape& s, bool adaptive,
                               const AvgPoolOptions& avg) {
    const Device device = x.device();
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>({s.N, s.C, s.OH, s.OW}, device);
    if (adaptive) cuda::adaptive_avg_pool2d_forward<T>(xc.data(), out.data(), s);
    else cuda::avg_pool2d_forward<T>(xc.data(), out.data(), s, avg.count_include_pad, avg.divisor_override);
    if (needs_graph<T>({&x})) {
        const Shape in_shape = x.shape();
        record<T>(op, out, {&x}, [op, s, adaptive, avg, device, in_shape](const Tensor<T>& grad) {
            check_gradient_device(op, grad, device);
            cuda::DeviceGuard guard(device.index);
            const Tensor<T> gc = grad.contiguous();
            Tensor<T> grad_in = empty<T>(in_shape, device);
            if (adaptive) cuda::adaptive_avg_pool2d_backward<T>(gc.data(), grad_in.data(), s);
            else cuda::avg_pool2d_backward<T>(gc.data(), grad_in.data(), s, avg.count_include_pad, avg.divisor_override);
            return std::vector<Tensor<T>>{grad_in};
        });
    }
    return out;
}
#endif  // SEAM_WITH_CUDA

}  // namespace detail

// ----- max pooling -----------------------------------------------------------------------------

/// Max pooling that also returns, for every output, the flat index h*W + w of its maximum inside
/// the input plane (PyTorch's return_indices=True).
template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> max_pool2d_with_indices(const Tensor<T>& x, const Pool2dOptions& opt) {
    static_assert(std::is_floating_point_v<T>, "max_pool2d needs a float or double tensor");
    const detail::Pool2dGeometry g = detail::pool2d_geometry("max_pool2d", x.shape(), opt);
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_max_pool("max_pool2d", x, detail::cuda_pool_shape(g), false, true);
#endif
    Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>({g.N, g.C, g.OH, g.OW});
    Tensor<int64_t> indices = empty<int64_t>({g.N, g.C, g.OH, g.OW});
    detail::max_pool2d_forward(xc, out, &indices, g);
    Shape in_shape = x.shape();
    record<T>("max_pool2d", out, {&x}, [indices, in_shape](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{detail::scatter_max_gradient(grad, indices, in_shape)};
    });
    return {out, indices};
}

/// Max pooling; the gradient goes to each window's (first) maximum.
template <class T>
inline Tensor<T> max_pool2d(const Tensor<T>& x, const Pool2dOptions& opt) {
    static_assert(std::is_floating_point_v<T>, "max_pool2d needs a float or double tensor");
    if (needs_graph<T>({&x})) return max_pool2d_with_indices(x, opt).first;
    const detail::Pool2dGeometry g = detail::pool2d_geometry("max_pool2d", x.shape(), opt);
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_max_pool("max_pool2d", x, detail::cuda_pool_shape(g), false, false).first;
#endif
    Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>({g.N, g.C, g.OH, g.OW});
    detail::max_pool2d_forward<T>(xc, out, nullptr, g);  // inference: no index traffic
    return out;
}

// ----- average pooling -------------------------------------------------------------------------

template <class T>
inline Tensor<T> avg_pool2d(const Tensor<T>& x, const Pool2dOptions& opt, const AvgPoolOptions& avg = {}) {
    static_assert(std::is_floating_point_v<T>, "avg_pool2d needs a float or double tensor");
    const detail::Pool2dGeometry g = detail::avg_pool2d_geometry(x.shape(), opt);
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_avg_pool("avg_pool2d", x, detail::cuda_pool_shape(g), false, avg);
#endif
    const auto hw = detail::avg_pool_windows(g.OH, g.H, g.kh, g.sh, g.ph);
    const auto ww = detail::avg_pool_windows(g.OW, g.W, g.kw, g.sw, g.pw);
    const auto cols = detail::tap_ranges(g.OW, g.W, g.kw, g.sw, g.pw, 1);
    // PyTorch's divisor of every window (0 marks a window with no input; it outputs 0).
    std::vector<T> divisors(static_cast<size_t>(g.OH * g.OW));
    for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
            const bool empty_window = hw[oh].begin >= hw[oh].end || ww[ow].begin >= ww[ow].end;
            divisors[oh * g.OW + ow] = empty_window ? T(0) : static_cast<T>(detail::avg_divisor(hw[oh], ww[ow], avg));
        }
    Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>({g.N, g.C, g.OH, g.OW});
    const T* in = xc.data();
    T* o = out.data();
    const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
    parallel_for(0, g.planes(), detail::pool_plane_grain(out_plane * g.kh * g.kw), [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) {
            const T* plane = in + p * in_plane;
            for (int64_t oh = 0; oh < g.OH; ++oh) {
                T* __restrict sum = o + p * out_plane + oh * g.OW;
                const T* div = divisors.data() + oh * g.OW;
                std::fill(sum, sum + g.OW, T(0));
                // Rows, then column taps, then output columns: every window adds its taps row
                // by row, left to right, the order PyTorch's loop adds them in.
                for (int64_t ih = hw[oh].begin; ih < hw[oh].end; ++ih) {
                    const T* __restrict row = plane + ih * g.W;
                    for (const auto& tap : cols)
                        for (int64_t ow = tap.lo; ow < tap.hi; ++ow) sum[ow] += row[ow * g.sw + tap.offset];
                }
                for (int64_t ow = 0; ow < g.OW; ++ow) sum[ow] = div[ow] != T(0) ? sum[ow] / div[ow] : T(0);
            }
        }
    });
    if (needs_graph<T>({&x})) {
        record<T>("avg_pool2d", out, {&x}, [g, hw, cols, divisors](const Tensor<T>& grad) {
            Tensor<T> gc = grad.contiguous();
            Tensor<T> grad_in = zeros<T>({g.N, g.C, g.H, g.W});
            const T* gp = gc.data();
            T* gi = grad_in.data();
            const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
            parallel_for(0, g.planes(), detail::pool_plane_grain(out_plane * g.kh * g.kw), [&](int64_t lo, int64_t hi) {
                std::vector<T> share(static_cast<size_t>(g.OW));
                for (int64_t p = lo; p < hi; ++p) {
                    T* plane = gi + p * in_plane;
                    for (int64_t oh = 0; oh < g.OH; ++oh) {
                        const T* src = gp + p * out_plane + oh * g.OW;
                        const T* div = divisors.data() + oh * g.OW;
                        for (int64_t ow = 0; ow < g.OW; ++ow) share[ow] = div[ow] != T(0) ? src[ow] / div[ow] : T(0);
                        for (int64_t ih = hw[oh].begin; ih < hw[oh].end; ++ih) {
                            T* __restrict row = plane + ih * g.W;
                            for (const auto& tap : cols)
                                for (int64_t ow = tap.lo; ow < tap.hi; ++ow) row[ow * g.sw + tap.offset] += share[ow];
                        }
                    }
                }
            });
            return std::vector<Tensor<T>>{grad_in};
        });
    }
    return out;
}

// ----- adaptive pooling --------------------------------------------------------------------------

/// Average over PyTorch's adaptive windows, giving an output of exactly `size` = {oh, ow}.
template <class T>
inline Tensor<T> adaptive_avg_pool2d(const Tensor<T>& x, std::array<int64_t, 2> size) {
    static_assert(std::is_floating_point_v<T>, "adaptive_avg_pool2d needs a float or double tensor");
    detail::adaptive_check("adaptive_avg_pool2d", x.shape(), size);
#if SEAM_WITH_CUDA
    if (x.device().is_cuda())
        return detail::cuda_avg_pool("adaptive_avg_pool2d", x, detail::cuda_adaptive_shape(x.shape(), size), true, {});
#endif
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), OH = size[0], OW = size[1];
    const auto hs = detail::adaptive_spans(OH, H), ws = detail::adaptive_spans(OW, W);
    Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>({N, C, OH, OW});
    const T* in = xc.data();
    T* o = out.data();
    parallel_for(0, N * C, detail::pool_plane_grain(H * W), [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) {
            const T* plane = in + p * H * W;
            T* dst = o + p * OH * OW;
            for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const auto h = hs[oh], w = ws[ow];
                    T sum = 0;
                    for (int64_t ih = h.begin; ih < h.end; ++ih)
                        for (int64_t iw = w.begin; iw < w.end; ++iw) sum += plane[ih * W + iw];
                    // PyTorch divides twice (sum / kh / kw); keep its rounding.
                    dst[oh * OW + ow] = sum / static_cast<T>(h.end - h.begin) / static_cast<T>(w.end - w.begin);
                }
        }
    });
    if (needs_graph<T>({&x})) {
        Shape in_shape = x.shape();
        record<T>("adaptive_avg_pool2d", out, {&x}, [in_shape, hs, ws](const Tensor<T>& grad) {
            const int64_t H = in_shape[2], W = in_shape[3];
            const int64_t OH = static_cast<int64_t>(hs.size()), OW = static_cast<int64_t>(ws.size());
            Tensor<T> gc = grad.contiguous();
            Tensor<T> grad_in = zeros<T>(in_shape);
            const T* gp = gc.data();
            T* gi = grad_in.data();
            parallel_for(0, in_shape[0] * in_shape[1], detail::pool_plane_grain(H * W), [&](int64_t lo, int64_t hi) {
                for (int64_t p = lo; p < hi; ++p) {
                    T* dst = gi + p * H * W;
                    const T* src = gp + p * OH * OW;
                    for (int64_t oh = 0; oh < OH; ++oh)
                        for (int64_t ow = 0; ow < OW; ++ow) {
                            const auto h = hs[oh], w = ws[ow];
                            const T share = src[oh * OW + ow] / static_cast<T>(h.end - h.begin) /
                                            static_cast<T>(w.end - w.begin);
                            for (int64_t ih = h.begin; ih < h.end; ++ih)
                                for (int64_t iw = w.begin; iw < w.end; ++iw) dst[ih * W + iw] += share;
                        }
                }
            });
            return std::vector<Tensor<T>>{grad_in};
        });
    }
    return out;
}

/// Adaptive max pooling with the flat h*W + w index of every maximum.
template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> adaptive_max_pool2d_with_indices(const Tensor<T>& x,
                                                                               std::array<int64_t, 2> size) {
    static_assert(std::is_floating_point_v<T>, "adaptive_max_pool2d needs a float or double tensor");
    detail::adaptive_check("adaptive_max_pool2d", x.shape(), size);
#if SEAM_WITH_CUDA
    if (x.device().is_cuda())
        return detail::cuda_max_pool("adaptive_max_pool2d", x, detail::cuda_adaptive_shape(x.shape(), size), true, true);
#endif
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), OH = size[0], OW = size[1];
    const auto hs = detail::adaptive_spans(OH, H), ws = detail::adaptive_spans(OW, W);
    Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>({N, C, OH, OW});
    Tensor<int64_t> indices = empty<int64_t>({N, C, OH, OW});
    const T* in = xc.data();
    T* o = out.data();
    int64_t* ix = indices.data();
    parallel_for(0, N * C, detail::pool_plane_grain(H * W), [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) {
            const T* plane = in + p * H * W;
            for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const auto h = hs[oh], w = ws[ow];
                    T m = -std::numeric_limits<T>::infinity();
                    int64_t at = h.begin * W + w.begin;  // adaptive windows are never empty
                    for (int64_t ih = h.begin; ih < h.end; ++ih)
                        for (int64_t iw = w.begin; iw < w.end; ++iw) {
                            const T v = plane[ih * W + iw];
                            if (detail::max_pool_takes(v, m)) m = v, at = ih * W + iw;
                        }
                    o[p * OH * OW + oh * OW + ow] = m;
                    ix[p * OH * OW + oh * OW + ow] = at;
                }
        }
    });
    Shape in_shape = x.shape();
    record<T>("adaptive_max_pool2d", out, {&x}, [indices, in_shape](const Tensor<T>& grad) {
        return std::vector<Tensor<T>>{detail::scatter_max_gradient(grad, indices, in_shape)};
    });
    return {out, indices};
}

template <class T>
inline Tensor<T> adaptive_max_pool2d(const Tensor<T>& x, std::array<int64_t, 2> size) {
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) {
        detail::adaptive_check("adaptive_max_pool2d", x.shape(), size);
        return detail::cuda_max_pool("adaptive_max_pool2d", x, detail::cuda_adaptive_shape(x.shape(), size), true, false)
            .first;
    }
#endif
    return adaptive_max_pool2d_with_indices(x, size).first;
}

}  // namespace seam
