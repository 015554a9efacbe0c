// seam/ops/resize.hpp — changing spatial size: nearest and bilinear upsampling of NCHW tensors,
// and constant / reflect padding of any number of trailing dimensions.
//
// Upsampling follows PyTorch's coordinate conventions exactly (F.interpolate, mode 'nearest' and
// 'bilinear'), because a model trained there must see the same pixels here:
//   nearest:                 src = min(floor(dst * scale), in - 1), scale = in/out in float
//                            (or 1/scale_factor when one was given); out == in copies, and
//                            out == 2*in takes dst/2, as PyTorch's shortcuts do;
//   bilinear, corners off:   src = max(0, (dst + 0.5) * scale - 0.5);
//   bilinear, corners on:    src = dst * (in - 1) / (out - 1)   (0 when out == 1);
// then the two neighbours floor(src) and floor(src)+1 (clamped to the edge) are blended with
// weights 1 - frac and frac. The backward passes scatter the output gradient with the same
// indices and weights, one (n, c) plane per thread, so no two threads ever write one element.
//
// pad() takes PyTorch's F.pad order: the last dimension first, {left, right, top, bottom, ...}.
// constant mode fills with a value and accepts negative pads (cropping); reflect mode mirrors
// without repeating the edge and needs every pad smaller than its dimension. Both are a gather
// through one index map per padded dimension; the backward is the matching scatter-add.
//
// CUDA tensors (builds with SEAM_WITH_CUDA): both upsampling ops run kernels/seam/resize.cuh,
// forward and backward. The host builds the index and weight tables above (the same functions,
// so the same bits), copies them to the device (one or two small synchronous copies per forward
// call) and the kernels read them; the backward is a deterministic gather (no atomics): the
// nearest backward equals the CPU's sums bit for bit. pad() on CUDA tensors is composed from
// device ops (cat of a fill slice, then index_select per padded dimension: detail::cuda_pad), so
// its gradient is theirs; the same values as the CPU's, bit for bit (it only copies).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>
#include <vector>

#include "seam/core/tensor.hpp"
#if SEAM_WITH_CUDA
#include "seam/cuda/api.hpp"
#include "seam/ops/shape_ops.hpp"  // cat, index_select: pad on CUDA tensors
#endif

namespace seam {

namespace detail {

/// One output coordinate of a linear resampling: two input neighbours and their weights.
template <class T>
struct LinearTap {
    int64_t i0, i1;
    T w0, w1;
};

/// The column taps of a whole output row, stored as four arrays so the loops over them vectorise.
template <class T>
struct ColumnTaps {
    std::vector<int64_t> i0, i1;
    std::vector<T> w0, w1;
    explicit ColumnTaps(const std::vector<LinearTap<T>>& taps) {
        for (const auto& t : taps) i0.push_back(t.i0), i1.push_back(t.i1), w0.push_back(t.w0), w1.push_back(t.w1);
    }
    int64_t size() const { return static_cast<int64_t>(i0.size()); }
    /// out[o] = row[i0[o]] * w0[o] + row[i1[o]] * w1[o]: one input row resampled across.
    void blend(const T* __restrict row, T* __restrict out) const {
        for (int64_t o = 0; o < size(); ++o) out[o] = row[i0[o]] * w0[o] + row[i1[o]] * w1[o];
    }
    /// The transpose of blend: add grad[o] * weight into both neighbours of o.
    void spread(const T* __restrict grad, T* __restrict row) const {
        for (int64_t o = 0; o < size(); ++o) {
            row[i0[o]] += grad[o] * w0[o];
            row[i1[o]] += grad[o] * w1[o];
        }
    }
};

inline void require_upsample_input(const char* op, const Shape& shape, const std::array<int64_t, 2>& size) {
    SEAM_CHECK(shape.size() == 4, op, ": input of shape ", shape_str(shape), " must be 4-D [N, C, H, W]");
    SEAM_CHECK(shape[2] > 0 && shape[3] > 0 && size[0] > 0 && size[1] > 0, op, ": input size ",
               shape_str({shape[2], shape[3]}), " and output size ", shape_str({size[0], size[1]}),
               " must both be positive (input shape ", shape_str(shape), ")");
}

/// PyTorch's nearest_idx: the float arithmetic is part of the contract (it decides ties).
inline std::vector<int64_t> nearest_source(int64_t out, int64_t in, double scale_factor) {
    std::vector<int64_t> src(static_cast<size_t>(out));
    const float scale = scale_factor > 0 ? static_cast<float>(1.0 / scale_factor)
                                         : static_cast<float>(in) / static_cast<float>(out);
    for (int64_t o = 0; o < out; ++o) {
        if (out == in) src[o] = o;
        else if (out == 2 * in) src[o] = o >> 1;
        else src[o] = std::min(static_cast<int64_t>(std::floor(static_cast<float>(o) * scale)), in - 1);
    }
    return src;
}

/// PyTorch's area_pixel_compute_scale + compute_source_index_and_lambda, per output coordinate.
template <class T>
inline std::vector<LinearTap<T>> linear_taps(int64_t out, int64_t in, bool align_corners, double scale_factor) {
    std::vector<LinearTap<T>> taps(static_cast<size_t>(out));
    T scale;
    if (align_corners) scale = out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
    else scale = scale_factor > 0 ? static_cast<T>(1.0 / scale_factor) : static_cast<T>(in) / static_cast<T>(out);
    for (int64_t o = 0; o < out; ++o) {
        if (out == in) {  // PyTorch copies when the size does not change, whatever the scale factor
            taps[o] = {o, o, T(1), T(0)};
            continue;
        }
        T src = align_corners ? scale * static_cast<T>(o) : scale * (static_cast<T>(o) + T(0.5)) - T(0.5);
        if (src < T(0)) src = T(0);
        const int64_t i0 = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
        const T frac = std::min(std::max(src - static_cast<T>(i0), T(0)), T(1));
        taps[o] = {i0, i0 < in - 1 ? i0 + 1 : i0, T(1) - frac, frac};
    }
    return taps;
}

inline std::array<int64_t, 2> scaled_size(const char* op, const Shape& shape, double sh, double sw) {
    SEAM_CHECK(shape.size() == 4, op, ": input of shape ", shape_str(shape), " must be 4-D [N, C, H, W]");
    SEAM_CHECK(sh > 0 && sw > 0 && std::isfinite(sh) && std::isfinite(sw), op, ": scale factors (", sh, ", ", sw,
               ") must be positive and finite");
    // F.interpolate: output = floor(input * scale_factor), computed in double.
    return {static_cast<int64_t>(std::floor(static_cast<double>(shape[2]) * sh)),
            static_cast<int64_t>(std::floor(static_cast<double>(shape[3]) * sw))};
}

#if SEAM_WITH_CUDA
/// For every input coordinate i < in: [begin[i], end[i]) = the smallest range of output
/// coordinates that holds every o whose tap reads i (through i0 or i1); empty (0, 0) when none
/// does. The CUDA backward gathers over these ranges.
template <class T>
inline void reader_ranges(const std::vector<LinearTap<T>>& taps, int64_t in, std::vector<int64_t>& begin,
                          std::vector<int64_t>& end) {
    begin.assign(static_cast<size_t>(in), 0);
    end.assign(static_cast<size_t>(in), 0);
    for (int64_t o = 0; o < static_cast<int64_t>(taps.size()); ++o)
        for (const int64_t i : {taps[o].i0, taps[o].i1}) {
            if (end[i] == 0) begin[i] = o;  // the first reader: o only grows
            end[i] = o + 1;
        }
}

/// The two axes' tables of one resampling on the device (kernels/seam/resize.cuh's layout):
/// indices = rows {i0[OH], i1[OH], readers_begin[H], readers_end[H]} then the columns' four;
/// weights = rows {w0[OH], w1[OH]} then the columns' two (bilinear only). The pointers in
/// rows/cols point into them, so a copy of this struct keeps them alive.
template <class T>
struct CudaResizeTables {
    Tensor<int64_t> indices;
    Tensor<T> weights;
    cuda::ResizeAxis<T> rows, cols;
};

template <class T>
inline CudaResizeTables<T> cuda_resize_tables(const std::vector<LinearTap<T>>& h, int64_t H,
                                              const std::vector<LinearTap<T>>& w, int64_t W, bool bilinear,
                                              Device device) {
    std::vector<int64_t> index;
    std::vector<T> weight;
    std::vector<int64_t> begin, end;
    for (const auto* axis : {&h, &w}) {
        const int64_t in = axis == &h ? H : W;
        for (const LinearTap<T>& t : *axis) index.push_back(t.i0);
        for (const LinearTap<T>& t : *axis) index.push_back(t.i1);
        reader_ranges(*axis, in, begin, end);
        index.insert(index.end(), begin.begin(), begin.end());
        index.insert(index.end(), end.begin(), end.end());
        if (!bilinear) continue;
        for (const LinearTap<T>& t : *axis) weight.push_back(t.w0);
        for (const LinearTap<T>& t : *axis) weight.push_back(t.w1);
    }
    CudaResizeTables<T> tables;
    tables.indices = from_vector<int64_t>(index, {static_cast<int64_t>(index.size())}).to(device);
    if (bilinear) tables.weights = from_vector<T>(weight, {static_cast<int64_t>(weight.size())}).to(device);
    const int64_t OH = static_cast<int64_t>(h.size()), OW = static_cast<int64_t>(w.size());
    const int64_t* ip = tables.indices.data();
    const T* wp = bilinear ? tables.weights.data() : nullptr;
    auto axis_view = [bilinear](const int64_t* i, const T* wt, int64_t out, int64_t in) {
        cuda::ResizeAxis<T> a;
        a.i0 = i, a.i1 = i + out, a.readers_begin = i + 2 * out, a.readers_end = i + 2 * out + in;
        if (bilinear) a.w0 = wt, a.w1 = wt + out;
        return a;
    };
    tables.rows = axis_view(ip, wp, OH, H);
    tables.cols = axis_view(ip + 2 * OH + 2 * H, bilinear ? wp + 2 * OH : nullptr, OW, W);
    return tables;
}

/// upsample_nearest2d / upsample_bilinear2d on the input's GPU with the CPU op's taps (nearest:
/// i0 = i1 = the source index), and the backward record (the gradient stays on the device).
template <class T>
inline Tensor<T> cuda_upsample2d(const char* op, const Tensor<T>& x, const std::vector<LinearTap<T>>& h,
                                 const std::vector<LinearTap<T>>& w, bool bilinear) {
    const Device device = x.device();
    cuda::DeviceGuard guard(device.index);
    cuda::ResizeShape s;
    s.N = x.size(0), s.C = x.size(1), s.H = x.size(2), s.W = x.size(3);
    s.OH = static_cast<int64_t>(h.size()), s.OW = static_cast<int64_t>(w.size());
    const CudaResizeTables<T> tables = cuda_resize_tables(h, s.H, w, s.W, bilinear, device);
    const Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>({s.N, s.C, s.OH, s.OW}, device);
    if (bilinear) cuda::upsample_bilinear2d_forward<T>(xc.data(), out.data(), s, tables.rows, tables.cols);
    else cuda::upsample_nearest2d_forward<T>(xc.data(), out.data(), s, tables.rows, tables.cols);
    if (needs_graph<T>({&x})) {
        record<T>(op, out, {&x}, [op, tables, s, bilinear, device](const Tensor<T>& grad) {
            SEAM_CHECK(grad.device() == device, op, " backward: gradient on ", grad.device().str(), ", input on ",
                       device.str());
            cuda::DeviceGuard guard(device.index);
            const Tensor<T> gc = grad.detach().contiguous();
            Tensor<T> grad_in = empty<T>({s.N, s.C, s.H, s.W}, device);  // every element written by the gather
            if (bilinear) cuda::upsample_bilinear2d_backward<T>(gc.data(), grad_in.data(), s, tables.rows, tables.cols);
            else cuda::upsample_nearest2d_backward<T>(gc.data(), grad_in.data(), s, tables.rows, tables.cols);
            return std::vector<Tensor<T>>{grad_in};
        });
    }
    return out;
}

/// Nearest's source indices as taps (i1 = i0, weights 1 and 0), for cuda_upsample2d.
template <class T>
inline std::vector<LinearTap<T>> nearest_taps(const std::vector<int64_t>& src) {
    std::vector<LinearTap<T>> taps(src.size());
    for (size_t o = 0; o < src.size(); ++o) taps[o] = {src[o], src[o], T(1), T(0)};
    return taps;
}
#endif  // SEAM_WITH_CUDA

template <class T>
inline Tensor<T> upsample_nearest2d_impl(const Tensor<T>& x, std::array<int64_t, 2> size, double sh, double sw) {
    static_assert(std::is_floating_point_v<T>, "upsample_nearest2d needs a float or double tensor");
    require_upsample_input("upsample_nearest2d", x.shape(), size);
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), OH = size[0], OW = size[1];
    const auto hs = nearest_source(OH, H, sh), ws = nearest_source(OW, W, sw);
#if SEAM_WITH_CUDA
    if (x.device().is_cuda())
        return cuda_upsample2d<T>("upsample_nearest2d", x, nearest_taps<T>(hs), nearest_taps<T>(ws), false);
#endif
    SEAM_CHECK(x.device().is_cpu(), "upsample_nearest2d: input is on ", x.device().str(), "; this is the CPU path");
    Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>({N, C, OH, OW});
    const T* in = xc.data();
    T* o = out.data();
    // Output rows are independent: split (plane, row) pairs across threads. An output row that
    // reads the same input row as the one above it (every other row when upsampling by 2) is a
    // copy of it.
    parallel_for(0, N * C * OH, std::max<int64_t>(1, kParallelGrain / OW), [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
            T* dst = o + r * OW;
            const int64_t oh = r % OH;
            if (r > lo && oh > 0 && hs[oh] == hs[oh - 1]) {
                std::copy(dst - OW, dst, dst);
                continue;
            }
            const T* src = in + (r / OH) * H * W + hs[oh] * W;
            for (int64_t ow = 0; ow < OW; ++ow) dst[ow] = src[ws[ow]];
        }
    });
    if (needs_graph<T>({&x})) {
        Shape in_shape = x.shape();
        record<T>("upsample_nearest2d", out, {&x}, [in_shape, hs, ws](const Tensor<T>& grad) {
            const int64_t H = in_shape[2], W = in_shape[3];
            const int64_t OH = static_cast<int64_t>(hs.size()), OW = static_cast<int64_t>(ws.size());
            Tensor<T> gc = grad.contiguous();
            Tensor<T> grad_in = zeros<T>(in_shape);
            const T* g = gc.data();
            T* gi = grad_in.data();
            parallel_for(0, in_shape[0] * in_shape[1], std::max<int64_t>(1, kParallelGrain / (OH * OW)),
                         [&](int64_t lo, int64_t hi) {
                             for (int64_t p = lo; p < hi; ++p)
                                 for (int64_t oh = 0; oh < OH; ++oh) {
                                     T* dst = gi + p * H * W + hs[oh] * W;
                                     const T* src = g + (p * OH + oh) * OW;
                                     for (int64_t ow = 0; ow < OW; ++ow) dst[ws[ow]] += src[ow];
                                 }
                         });
            return std::vector<Tensor<T>>{grad_in};
        });
    }
    return out;
}

template <class T>
inline Tensor<T> upsample_bilinear2d_impl(const Tensor<T>& x, std::array<int64_t, 2> size, bool align_corners,
                                          double sh, double sw) {
    static_assert(std::is_floating_point_v<T>, "upsample_bilinear2d needs a float or double tensor");
    require_upsample_input("upsample_bilinear2d", x.shape(), size);
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), OH = size[0], OW = size[1];
    const auto hs = linear_taps<T>(OH, H, align_corners, sh);
#if SEAM_WITH_CUDA
    if (x.device().is_cuda())
        return cuda_upsample2d<T>("upsample_bilinear2d", x, hs, linear_taps<T>(OW, W, align_corners, sw), true);
#endif
    SEAM_CHECK(x.device().is_cpu(), "upsample_bilinear2d: input is on ", x.device().str(), "; this is the CPU path");
    const ColumnTaps<T> ws(linear_taps<T>(OW, W, align_corners, sw));
    Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>({N, C, OH, OW});
    const T* in = xc.data();
    T* o = out.data();
    // Bilinear is separable: out = (row i0 blended across) * w0 + (row i1 blended across) * w1,
    // the order PyTorch evaluates it in. Neighbouring output rows share input rows, so each
    // thread keeps its last two horizontally blended rows and blends a new input row only
    // when it first needs it (upsampling by 2 blends every input row about once, not 4 times).
    parallel_for(0, N * C * OH, std::max<int64_t>(1, kParallelGrain / (4 * OW)), [&](int64_t lo, int64_t hi) {
        std::vector<T> blended[2] = {std::vector<T>(static_cast<size_t>(OW)), std::vector<T>(static_cast<size_t>(OW))};
        int64_t holds[2] = {-1, -1};  // which (plane * H + input row) each buffer holds
        auto row_slot = [&](int64_t key, int keep) {
            if (holds[0] == key) return 0;
            if (holds[1] == key) return 1;
            const int slot = keep >= 0 ? 1 - keep : (holds[0] < holds[1] ? 0 : 1);  // rows only move down
            ws.blend(in + key * W, blended[slot].data());
            holds[slot] = key;
            return slot;
        };
        for (int64_t r = lo; r < hi; ++r) {
            const LinearTap<T> h = hs[r % OH];
            const int64_t plane_row = (r / OH) * H;
            const int a = row_slot(plane_row + h.i0, -1);
            const int b = row_slot(plane_row + h.i1, a);
            const T* __restrict top = blended[a].data();
            const T* __restrict bottom = blended[b].data();
            T* __restrict dst = o + r * OW;
            for (int64_t ow = 0; ow < OW; ++ow) dst[ow] = top[ow] * h.w0 + bottom[ow] * h.w1;
        }
    });
    if (needs_graph<T>({&x})) {
        Shape in_shape = x.shape();
        record<T>("upsample_bilinear2d", out, {&x}, [in_shape, hs, ws](const Tensor<T>& grad) {
            const int64_t H = in_shape[2], W = in_shape[3];
            const int64_t OH = static_cast<int64_t>(hs.size()), OW = ws.size();
            Tensor<T> gc = grad.contiguous();
            Tensor<T> grad_in = zeros<T>(in_shape);
            const T* g = gc.data();
            T* gi = grad_in.data();
            // The transpose of the forward, one plane per thread: spread every output row over
            // its two input rows (still OW wide), then spread each of those rows across.
            parallel_for(0, in_shape[0] * in_shape[1], std::max<int64_t>(1, kParallelGrain / (4 * OH * OW)),
                         [&](int64_t lo, int64_t hi) {
                             std::vector<T> rows(static_cast<size_t>(H * OW));
                             for (int64_t p = lo; p < hi; ++p) {
                                 std::fill(rows.begin(), rows.end(), T(0));
                                 for (int64_t oh = 0; oh < OH; ++oh) {
                                     const LinearTap<T> h = hs[oh];
                                     const T* __restrict src = g + (p * OH + oh) * OW;
                                     T* __restrict top = rows.data() + h.i0 * OW;
                                     for (int64_t ow = 0; ow < OW; ++ow) top[ow] += src[ow] * h.w0;
                                     T* __restrict bottom = rows.data() + h.i1 * OW;
                                     for (int64_t ow = 0; ow < OW; ++ow) bottom[ow] += src[ow] * h.w1;
                                 }
                                 for (int64_t ih = 0; ih < H; ++ih) ws.spread(rows.data() + ih * OW, gi + (p * H + ih) * W);
                             }
                         });
            return std::vector<Tensor<T>>{grad_in};
        });
    }
    return out;
}

}  // namespace detail

// ----- upsampling --------------------------------------------------------------------------------

/// Nearest-neighbour resize of [N, C, H, W] to [N, C, size[0], size[1]].
template <class T>
inline Tensor<T> upsample_nearest2d(const Tensor<T>& x, std::array<int64_t, 2> size) {
    return detail::upsample_nearest2d_impl(x, size, 0.0, 0.0);
}
/// Nearest resize by scale factors: output floor(H * scale_h) x floor(W * scale_w), and the
/// source coordinate uses 1/scale (F.interpolate(scale_factor=...), recompute_scale_factor off).
template <class T>
inline Tensor<T> upsample_nearest2d(const Tensor<T>& x, double scale_h, double scale_w) {
    auto size = detail::scaled_size("upsample_nearest2d", x.shape(), scale_h, scale_w);
    return detail::upsample_nearest2d_impl(x, size, scale_h, scale_w);
}
template <class T>
inline Tensor<T> upsample_nearest2d(const Tensor<T>& x, double scale_factor) {
    return upsample_nearest2d(x, scale_factor, scale_factor);
}

/// Bilinear resize of [N, C, H, W] to [N, C, size[0], size[1]].
template <class T>
inline Tensor<T> upsample_bilinear2d(const Tensor<T>& x, std::array<int64_t, 2> size, bool align_corners) {
    return detail::upsample_bilinear2d_impl(x, size, align_corners, 0.0, 0.0);
}
/// Bilinear resize by scale factors (with align_corners the factors only set the output size).
template <class T>
inline Tensor<T> upsample_bilinear2d(const Tensor<T>& x, double scale_h, double scale_w, bool align_corners) {
    auto size = detail::scaled_size("upsample_bilinear2d", x.shape(), scale_h, scale_w);
    return detail::upsample_bilinear2d_impl(x, size, align_corners, scale_h, scale_w);
}
template <class T>
inline Tensor<T> upsample_bilinear2d(const Tensor<T>& x, double scale_factor, bool align_corners) {
    return upsample_bilinear2d(x, scale_factor, scale_factor, align_corners);
}

// ----- padding -----------------------------------------------------------------------------------

enum class PadMode { constant, reflect };

namespace detail {

/// How to build each output element: source index per padded dimension (-1 = fill value).
struct PadPlan {
    int64_t outer = 1;                       // product of the unpadded leading dimensions
    Shape in_tail, out_tail;                 // the padded trailing dimensions
    std::vector<std::vector<int64_t>> src;   // src[d][o]: input index along tail dim d, or -1
    Shape out_shape;
    // Along the last dimension, outputs [copy_begin, copy_end) read input o - shift: a straight
    // copy in both modes. Only the borders outside it need the index map.
    int64_t copy_begin = 0, copy_end = 0, shift = 0;
};

inline PadPlan pad_plan(const Shape& shape, const std::vector<int64_t>& pads, PadMode mode) {
    const int64_t rank = static_cast<int64_t>(shape.size());
    SEAM_CHECK(pads.size() % 2 == 0, "pad: the pad list ", shape_str(pads), " must have an even length ",
               "({left, right} per dimension, last dimension first)");
    const int64_t k = static_cast<int64_t>(pads.size()) / 2;
    SEAM_CHECK(k <= rank, "pad: ", pads.size(), " pad values (", k, " dimensions) for an input of shape ",
               shape_str(shape), " of rank ", rank);
    PadPlan plan;
    plan.out_shape = shape;
    for (int64_t d = 0; d < rank - k; ++d) plan.outer *= shape[d];
    plan.src.resize(static_cast<size_t>(k));
    for (int64_t t = 0; t < k; ++t) {
        const int64_t d = rank - k + t;                       // tensor dimension
        const int64_t before = pads[2 * (rank - 1 - d)], after = pads[2 * (rank - 1 - d) + 1];
        const int64_t n = shape[d], out = n + before + after;
        if (mode == PadMode::reflect) {
            SEAM_CHECK(before >= 0 && after >= 0, "pad: reflect padding (", before, ", ", after, ") of dimension ", d,
                       " must be non-negative (input shape ", shape_str(shape), ")");
            SEAM_CHECK(before < n && after < n, "pad: reflect padding (", before, ", ", after, ") of dimension ", d,
                       " must be smaller than its size ", n, " (input shape ", shape_str(shape), ")");
        }
        SEAM_CHECK(out >= 0, "pad: dimension ", d, " of size ", n, " with padding (", before, ", ", after,
                   ") would have a negative size (input shape ", shape_str(shape), ")");
        std::vector<int64_t> map(static_cast<size_t>(out));
        for (int64_t o = 0; o < out; ++o) {
            int64_t i = o - before;
            if (mode == PadMode::reflect) {
                if (i < 0) i = -i;                 // mirror about element 0, which is not repeated
                else if (i >= n) i = 2 * (n - 1) - i;
            } else if (i < 0 || i >= n) {
                i = -1;
            }
            map[o] = i;
        }
        plan.src[t] = std::move(map);
        plan.in_tail.push_back(n);
        plan.out_tail.push_back(out);
        plan.out_shape[d] = out;
        if (t == k - 1) {
            plan.shift = before;
            plan.copy_begin = std::clamp<int64_t>(before, 0, out);
            plan.copy_end = std::clamp<int64_t>(before + n, plan.copy_begin, out);
        }
    }
    return plan;
}

/// Visit every output row (innermost padded dimension) as (row index, input row offset or -1).
/// Rows are numbered over outer * (product of out_tail except the last).
inline int64_t pad_input_row(const PadPlan& plan, int64_t row) {
    const int64_t k = static_cast<int64_t>(plan.out_tail.size());
    int64_t in_off = 0, in_stride = plan.in_tail[k - 1];
    for (int64_t t = k - 2; t >= 0; --t) {
        const int64_t o = row % plan.out_tail[t];
        row /= plan.out_tail[t];
        const int64_t i = plan.src[t][o];
        if (i < 0) return -1;
        in_off += i * in_stride;
        in_stride *= plan.in_tail[t];
    }
    return in_off + row * in_stride;  // what is left of row is the outer (plane) index
}

#if SEAM_WITH_CUDA
/// pad on a CUDA tensor, composed from device ops that carry their own gradients: per padded
/// dimension, the plan's source map (plan.src) becomes an index_select; where it says "fill" (-1),
/// the map points at one extra slice of `value` appended with cat first. The backward is then
/// index_select's (an index_add on the device) and cat's; the fill slices are constants.
template <class T>
inline Tensor<T> cuda_pad(const Tensor<T>& x, const PadPlan& plan, T value) {
    const int64_t k = static_cast<int64_t>(plan.src.size()), rank = x.dim();
    const Device device = x.device();
    Tensor<T> cur = x;
    bool changed = false;
    for (int64_t t = 0; t < k; ++t) {
        const int64_t d = rank - k + t;
        std::vector<int64_t> map = plan.src[static_cast<size_t>(t)];
        const int64_t n = cur.size(d);
        bool identity = static_cast<int64_t>(map.size()) == n;
        for (int64_t o = 0; identity && o < n; ++o) identity = map[static_cast<size_t>(o)] == o;
        if (identity) continue;  // this dimension is not padded
        if (std::any_of(map.begin(), map.end(), [](int64_t i) { return i < 0; })) {
            Shape slab_shape = cur.shape();
            slab_shape[static_cast<size_t>(d)] = 1;
            Tensor<T> slab = empty<T>(slab_shape, device);
            slab.fill_(value);
            for (int64_t& i : map)
                if (i < 0) i = n;  // the appended slice
            cur = cat(std::vector<Tensor<T>>{cur, slab}, d);
        }
        const Tensor<int64_t> index = from_vector(map, {static_cast<int64_t>(map.size())}).to(device);
        cur = index_select(cur, d, index);
        changed = true;
    }
    return changed ? cur : x.clone();
}
#endif

}  // namespace detail

/// F.pad(x, pads, mode, value). pads lists {before, after} per dimension, the last dimension first.
template <class T>
inline Tensor<T> pad(const Tensor<T>& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::constant,
                     std::type_identity_t<T> value = T(0)) {
    static_assert(std::is_floating_point_v<T>, "pad needs a float or double tensor");
    if (pads.empty()) return x.clone();  // nothing to pad (PyTorch returns a copy too)
    const detail::PadPlan plan = detail::pad_plan(x.shape(), pads, mode);
#if SEAM_WITH_CUDA
    if (x.device().is_cuda()) return detail::cuda_pad(x, plan, static_cast<T>(value));
#endif
    SEAM_CHECK(x.device().is_cpu(), "pad: the input is on ", x.device().str(), ", which needs the CUDA backend");
    Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>(plan.out_shape);
    const int64_t row_out = plan.out_tail.back();
    const int64_t rows = row_out ? out.numel() / row_out : 0;
    const std::vector<int64_t>& last = plan.src.back();
    const T* in = xc.data();
    T* o = out.data();
    parallel_for(0, rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_out, 1)), [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
            T* dst = o + r * row_out;
            const int64_t in_row = detail::pad_input_row(plan, r);
            if (in_row < 0) {
                std::fill(dst, dst + row_out, value);
                continue;
            }
            const T* src = in + in_row;
            for (int64_t j = 0; j < plan.copy_begin; ++j) dst[j] = last[j] >= 0 ? src[last[j]] : value;
            if (plan.copy_end > plan.copy_begin)
                std::copy(src + plan.copy_begin - plan.shift, src + plan.copy_end - plan.shift, dst + plan.copy_begin);
            for (int64_t j = plan.copy_end; j < row_out; ++j) dst[j] = last[j] >= 0 ? src[last[j]] : value;
        }
    });
    if (needs_graph<T>({&x})) {
        Shape in_shape = x.shape();
        record<T>("pad", out, {&x}, [plan, in_shape, mode](const Tensor<T>& grad) {
            Tensor<T> gc = grad.contiguous();
            Tensor<T> grad_in = zeros<T>(in_shape);
            const int64_t row_out = plan.out_tail.back();
            const int64_t rows = row_out ? gc.numel() / row_out : 0;
            const std::vector<int64_t>& last = plan.src.back();
            const T* g = gc.data();
            T* gi = grad_in.data();
            auto scatter_rows = [&](int64_t lo, int64_t hi) {
                for (int64_t r = lo; r < hi; ++r) {
                    const int64_t in_row = detail::pad_input_row(plan, r);
                    if (in_row < 0) continue;
                    T* dst = gi + in_row;
                    const T* src = g + r * row_out;
                    for (int64_t j = plan.copy_begin; j < plan.copy_end; ++j) dst[j - plan.shift] += src[j];
                    for (int64_t j = 0; j < plan.copy_begin; ++j)
                        if (last[j] >= 0) dst[last[j]] += src[j];
                    for (int64_t j = plan.copy_end; j < row_out; ++j)
                        if (last[j] >= 0) dst[last[j]] += src[j];
                }
            };
            if (mode == PadMode::constant) {
                // Every input element has at most one source: rows never collide.
                parallel_for(0, rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_out, 1)), scatter_rows);
            } else {
                // Reflection sends several output rows to one input row: give each thread whole
                // outer planes (rows of one plane are consecutive), which own disjoint input.
                const int64_t rows_per_plane = plan.outer ? rows / plan.outer : 0;
                parallel_for(0, plan.outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(rows_per_plane * row_out, 1)),
                             [&](int64_t lo, int64_t hi) { scatter_rows(lo * rows_per_plane, hi * rows_per_plane); });
            }
            return std::vector<Tensor<T>>{grad_in};
        });
    }
    return out;
}

}  // namespace seam
