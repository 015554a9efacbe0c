// seam/ops/shape_ops.hpp — ops that combine, split and index tensors, and masks.
//
//   cat, stack                     join tensors along a dimension (backward: narrow the gradient)
//   split, chunk                   views via narrow (their backward is narrow's)
//   index_select, index_add        pick / accumulate whole slices by an int64 index vector
//   gather, scatter_add            pick / accumulate single elements by an int64 index tensor
//   where, masked_fill             choose between tensors by a uint8 mask (broadcasting)
//   eq ne gt lt ge le              comparisons (tensor or scalar) -> Tensor<uint8_t> masks
//   logical_not/and/or             mask algebra
//
// Each op is the other's backward: index_select <-> index_add, gather <-> scatter_add. Every
// index is validated before any memory is touched, in one serial pass, so a bad index throws a
// seam::Error that names the op, the index position and the value (throwing inside an OpenMP
// region would terminate the program instead). cat/stack/split/index_select/gather/where work
// for Tensor<int64_t> and Tensor<uint8_t> as well; autograd is recorded for float/double only.
//
// Accumulating ops (index_add, scatter_add) add in index order; index_add splits its work across
// threads by destination column only, scatter_add runs on one thread (two index entries may hit
// the same element), so both give the same bits whatever the thread count.
//
// CUDA tensors (builds with SEAM_WITH_CUDA): cat, stack (and split/chunk, which are views) work on
// any device through the strided device copy. index_select and index_add take their index on the
// host or on the tensor's device; the index is read on the host (checked there, one small copy)
// and each selected slice is one strided device copy, or one device add for index_add, in index
// order: deterministic, and slices are what models select (rows of a batch), so the count of
// copies stays small. gather and scatter_add run on a GPU through kernels/seam/gather_scatter.cuh
// (scatter_add there adds each line along dim in index order: the CPU's bits); their index is
// checked by the kernels themselves (an out-of-range value is skipped, never followed) and the op
// raises the CPU op's error after the launch, reading one flag back.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/core/tensor.hpp"
#include "seam/cuda/api.hpp"  // CompareOp: plain declarations, compiles without CUDA
#include "seam/ops/elementwise.hpp"  // add: index_add on a GPU

namespace seam {

namespace detail {

/// Every tensor of a list must be defined and on the first one's device; returns that device.
template <class T>
inline Device common_device(const std::vector<Tensor<T>>& tensors, const char* op) {
    for (size_t i = 0; i < tensors.size(); ++i) {
        SEAM_CHECK(tensors[i].defined(), op, ": tensor ", i, " of the list is an undefined tensor");
        SEAM_CHECK(tensors[i].device() == tensors[0].device(), op, ": tensor ", i, " is on ", tensors[i].device().str(),
                   " but tensor 0 is on ", tensors[0].device().str(), "; move them to one device with .to(...)");
    }
    return tensors[0].device();
}

template <class T>
inline void require_cpu_operand(const Tensor<T>& t, const char* op, const char* what) {
    SEAM_CHECK(t.defined(), op, ": ", what, " is an undefined tensor");
    SEAM_CHECK(t.device().is_cpu(), op, ": ", what, " is on ", t.device().str(), "; this is the CPU path");
}

/// "index[2, 0]": the position of row-major element `linear` of an index tensor of `shape`.
inline std::string index_position(int64_t linear, const Shape& shape) {
    Shape at(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
        at[d] = linear % shape[d];
        linear /= shape[d];
    }
    return "index" + shape_str(at);
}

/// Throw unless every value of the contiguous index tensor lies in [0, size).
inline void check_index_range(const Tensor<int64_t>& index, int64_t size, const char* op, int64_t dim,
                              const Shape& input_shape) {
    const int64_t* p = index.data();
    for (int64_t i = 0; i < index.numel(); ++i)
        if (p[i] < 0 || p[i] >= size)
            fail(op, ": ", index_position(i, index.shape()), " = ", p[i], " is out of range for dimension ", dim,
                 " of size ", size, " (input shape ", shape_str(input_shape), ")");
}

inline int64_t extent_product(const Shape& shape, int64_t begin, int64_t end) {
    int64_t n = 1;
    for (int64_t d = begin; d < end; ++d) n *= shape[d];
    return n;
}

/// dst[o, index[k], j] += src[o, k, j] for contiguous dst [outer, S, inner], src [outer, K, inner].
/// Threads own disjoint (o, j) columns and add k in order: race-free and thread-count independent.
template <class T>
inline void index_add_into(T* dst, const T* src, const int64_t* index, int64_t outer, int64_t S, int64_t K,
                           int64_t inner) {
    parallel_for(0, outer * inner, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, K)),
                 [&](int64_t lo, int64_t hi) {
        for (int64_t o = lo / inner; o < outer && o * inner < hi; ++o) {
            const int64_t j0 = std::max(lo, o * inner) - o * inner, j1 = std::min(hi, (o + 1) * inner) - o * inner;
            for (int64_t k = 0; k < K; ++k) {
                T* d = dst + (o * S + index[k]) * inner;
                const T* s = src + (o * K + k) * inner;
                for (int64_t j = j0; j < j1; ++j) d[j] += s[j];
            }
        }
    });
}

/// dst[..., index[i], ...] += src[i] along `dim` for every element i of the (contiguous, range-
/// checked) index; src has the index's shape. Serial: two entries may name the same element.
template <class T>
inline void scatter_add_into(Tensor<T>& dst, int64_t dim, const Tensor<int64_t>& index, const Tensor<T>& src) {
    Shape dst_strides = dst.strides();
    const int64_t step = dst_strides[dim];
    dst_strides[dim] = 0;  // the index supplies the position along dim
    T* d = dst.data();
    const T* s = src.data();
    const int64_t* ip = index.data();
    for_each_row<3>(index.shape(), {dst_strides, index.strides(), src.strides()},
                    [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& st) {
        for (int64_t i = 0; i < n; ++i) d[off[0] + i * st[0] + ip[off[1] + i * st[1]] * step] += s[off[2] + i * st[2]];
    }, /*parallel=*/false);
}

/// Shape checks shared by gather and scatter_add: same rank, index no larger than x off `dim`.
template <class T>
inline int64_t check_gather_shapes(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index, const char* op) {
    SEAM_CHECK(x.dim() >= 1, op, ": input must have at least one dimension");
    SEAM_CHECK(index.dim() == x.dim(), op, ": index of shape ", shape_str(index.shape()),
               " must have the same rank as the input of shape ", shape_str(x.shape()));
    dim = wrap_dim(dim, x.dim(), op);
    for (int64_t d = 0; d < x.dim(); ++d)
        SEAM_CHECK(d == dim || index.size(d) <= x.size(d), op, ": index of shape ", shape_str(index.shape()),
                   " is larger than the input of shape ", shape_str(x.shape()), " in dimension ", d);
    return dim;
}

/// A 0-D tensor holding `value` on `device` (the scalar operand of a comparison with a number).
template <class T>
inline Tensor<T> scalar_on(T value, Device device) {
    if (device.is_cpu()) return scalar<T>(value);
    Tensor<T> t = empty<T>({}, device);
    t.fill_(value);
    return t;
}

/// out = f(a, b) ? 1 : 0 with broadcasting (comparisons and mask algebra); on CUDA tensors the
/// same rule by kernels/seam/elementwise.cuh's compare (`cop` names it there).
template <class T, class F>
inline Tensor<uint8_t> compare_to_mask(const Tensor<T>& a, const Tensor<T>& b, const char* op, cuda::CompareOp cop, F f) {
#if SEAM_WITH_CUDA
    if ((a.defined() && a.device().is_cuda()) || (b.defined() && b.device().is_cuda())) {
        SEAM_CHECK(a.defined() && b.defined(), op, ": an operand is an undefined tensor");
        SEAM_CHECK(a.device() == b.device(), op, ": operands on ", a.device().str(), " and ", b.device().str(),
                   "; move them to one device with .to(...)");
        const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
        cuda::DeviceGuard guard(a.device().index);
        Tensor<uint8_t> out = empty<uint8_t>(shape, a.device());
        cuda::compare<T>(cop, a.data(), broadcast_strides(a.shape(), a.strides(), shape), b.data(),
                         broadcast_strides(b.shape(), b.strides(), shape), shape, out.data());
        return out;
    }
#else
    (void)cop;
#endif
    require_cpu_operand(a, op, "first operand");
    require_cpu_operand(b, op, "second operand");
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
    Tensor<uint8_t> out = empty<uint8_t>(shape);
    const Shape sa = broadcast_strides(a.shape(), a.strides(), shape);
    const Shape sb = broadcast_strides(b.shape(), b.strides(), shape);
    uint8_t* o = out.data();
    const T *pa = a.data(), *pb = b.data();
    for_each_row<3>(shape, {out.strides(), sa, sb}, [&](const std::array<int64_t, 3>& off, int64_t n,
                                                        const std::array<int64_t, 3>& s) {
        for (int64_t i = 0; i < n; ++i) o[off[0] + i] = f(pa[off[1] + i * s[1]], pb[off[2] + i * s[2]]) ? 1 : 0;
    });
    return out;
}

}  // namespace detail

// ----- cat, stack, split, chunk --------------------------------------------------------------

/// Concatenate along `dim`; all tensors share the rank and every size except dimension `dim`.
template <class T>
inline Tensor<T> cat(const std::vector<Tensor<T>>& tensors, int64_t dim = 0) {
    SEAM_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
    const Device device = detail::common_device(tensors, "cat");
    const Tensor<T>& first = tensors[0];
    SEAM_CHECK(first.dim() > 0, "cat: zero-dimensional tensors cannot be concatenated (use stack)");
    dim = wrap_dim(dim, first.dim(), "cat");
    Shape shape = first.shape();
    shape[dim] = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const Shape& s = tensors[i].shape();
        bool same = s.size() == first.shape().size();
        for (size_t d = 0; same && d < s.size(); ++d) same = static_cast<int64_t>(d) == dim || s[d] == first.shape()[d];
        SEAM_CHECK(same, "cat: tensor ", i, " has shape ", shape_str(s), " but tensor 0 has shape ", shape_str(first.shape()),
                   "; they must match in every dimension except ", dim);
        shape[dim] += s[dim];
    }
    Tensor<T> out = empty<T>(shape, device);
    std::vector<int64_t> sizes;
    int64_t offset = 0;
    for (const Tensor<T>& t : tensors) {
        sizes.push_back(t.size(dim));
        if (t.size(dim) > 0) out.detach().narrow(dim, offset, t.size(dim)).copy_(t);
        offset += t.size(dim);
    }
    if constexpr (std::is_floating_point_v<T>) {
        std::vector<bool> needs;
        for (const Tensor<T>& t : tensors) needs.push_back(t.requires_grad());
        record<T>("cat", out, tensors, [sizes, needs, dim](const Tensor<T>& g) {
            std::vector<Tensor<T>> grads;
            int64_t start = 0;
            for (size_t i = 0; i < sizes.size(); ++i) {
                grads.push_back(needs[i] ? g.narrow(dim, start, sizes[i]) : Tensor<T>());
                start += sizes[i];
            }
            return grads;
        });
    }
    return out;
}

/// Join tensors of one shape along a new dimension `dim` (0 <= dim <= rank).
template <class T>
inline Tensor<T> stack(const std::vector<Tensor<T>>& tensors, int64_t dim = 0) {
    SEAM_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
    detail::common_device(tensors, "stack");
    for (size_t i = 0; i < tensors.size(); ++i) {
        SEAM_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: tensor ", i, " has shape ",
                   shape_str(tensors[i].shape()), " but tensor 0 has shape ", shape_str(tensors[0].shape()),
                   "; stack needs equal shapes");
    }
    dim = wrap_dim(dim, tensors[0].dim() + 1, "stack");
    std::vector<Tensor<T>> parts;
    for (const Tensor<T>& t : tensors)  // expand({1}): view() cannot yet turn a 0-D tensor into [1]
        parts.push_back(t.dim() == 0 ? t.expand({1}) : t.unsqueeze(dim));
    return cat(parts, dim);
}

/// Views of consecutive pieces of `split_size` along dim (the last may be smaller).
template <class T>
inline std::vector<Tensor<T>> split(const Tensor<T>& x, int64_t split_size, int64_t dim = 0) {
    SEAM_CHECK(x.dim() > 0, "split: cannot split a zero-dimensional tensor");
    dim = wrap_dim(dim, x.dim(), "split");
    const int64_t n = x.size(dim);
    SEAM_CHECK(split_size > 0 || (split_size == 0 && n == 0), "split: split_size must be positive, got ", split_size,
               " for dimension ", dim, " of size ", n);
    if (n == 0) return {x.narrow(dim, 0, 0)};
    std::vector<Tensor<T>> parts;
    for (int64_t start = 0; start < n; start += split_size) parts.push_back(x.narrow(dim, start, std::min(split_size, n - start)));
    return parts;
}

/// Views of pieces with the given sizes along dim (they must add up to the dimension's size).
template <class T>
inline std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<int64_t>& sizes, int64_t dim = 0) {
    SEAM_CHECK(x.dim() > 0, "split: cannot split a zero-dimensional tensor");
    dim = wrap_dim(dim, x.dim(), "split");
    int64_t total = 0;
    for (int64_t s : sizes) {
        SEAM_CHECK(s >= 0, "split: negative size ", s, " in ", shape_str(sizes));
        total += s;
    }
    SEAM_CHECK(total == x.size(dim), "split: sizes ", shape_str(sizes), " add up to ", total, " but dimension ", dim,
               " of shape ", shape_str(x.shape()), " has size ", x.size(dim));
    std::vector<Tensor<T>> parts;
    int64_t start = 0;
    for (int64_t s : sizes) {
        parts.push_back(x.narrow(dim, start, s));
        start += s;
    }
    return parts;
}

/// PyTorch's chunk: pieces of ceil(size / chunks) along dim, so there may be fewer than `chunks`.
template <class T>
inline std::vector<Tensor<T>> chunk(const Tensor<T>& x, int64_t chunks, int64_t dim = 0) {
    SEAM_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
    SEAM_CHECK(x.dim() > 0, "chunk: cannot chunk a zero-dimensional tensor");
    dim = wrap_dim(dim, x.dim(), "chunk");
    const int64_t n = x.size(dim);
    if (n == 0) return split(x, std::vector<int64_t>(static_cast<size_t>(chunks), 0), dim);
    return split(x, (n + chunks - 1) / chunks, dim);
}

// ----- index_select / index_add ----------------------------------------------------------------

namespace detail {
/// The index of index_select / index_add as a contiguous host tensor, range-checked. It may live
/// on the host or on x's device.
template <class T>
inline Tensor<int64_t> host_index(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index, const char* op) {
    SEAM_CHECK(index.defined(), op, ": index is an undefined tensor");
    SEAM_CHECK(index.device().is_cpu() || index.device() == x.device(), op, ": index is on ", index.device().str(),
               " but the input is on ", x.device().str());
    const Tensor<int64_t> idx = index.to(Device::cpu()).contiguous();
    check_index_range(idx, x.size(dim), op, dim, x.shape());
    return idx;
}

#if SEAM_WITH_CUDA
/// out = x, then out[.., idx[k], ..] += src[.., k, ..] in index order on a GPU (float, double).
template <class T>
inline Tensor<T> cuda_index_add(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& idx, const Tensor<T>& src) {
    cuda::DeviceGuard guard(x.device().index);
    Tensor<T> out = empty<T>(x.shape(), x.device());
    out.copy_(x.detach());
    if constexpr (std::is_floating_point_v<T>) {
        NoGradGuard no_grad;
        const int64_t* ip = idx.data();
        for (int64_t k = 0; k < idx.numel(); ++k) {
            Tensor<T> slot = out.narrow(dim, ip[k], 1);
            slot.copy_(seam::add(slot, src.detach().narrow(dim, k, 1)));  // a fresh sum, then written back: repeats add up
        }
    } else {
        fail("index_add: integer tensors on ", x.device().str(), " are not supported (no integer add kernel)");
    }
    return out;
}

/// out[.., k, ..] = x[.., idx[k], ..] on a GPU: one strided device copy per selected slice; the
/// backward is cuda_index_add into zeros.
template <class T>
inline Tensor<T> cuda_index_select(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index) {
    const Tensor<int64_t> idx = host_index(x, dim, index, "index_select");
    cuda::DeviceGuard guard(x.device().index);
    Shape shape = x.shape();
    shape[dim] = idx.numel();
    Tensor<T> out = empty<T>(shape, x.device());
    const int64_t* ip = idx.data();
    for (int64_t k = 0; k < idx.numel(); ++k) out.detach().narrow(dim, k, 1).copy_(x.detach().narrow(dim, ip[k], 1));
    if constexpr (std::is_floating_point_v<T>) {
        const Shape x_shape = x.shape();
        const Device device = x.device();
        record<T>("index_select", out, {&x}, [idx, dim, x_shape, device](const Tensor<T>& g) {
            Tensor<T> zero = empty<T>(x_shape, device);
            zero.fill_(T(0));
            return std::vector<Tensor<T>>{cuda_index_add(zero, dim, idx, g)};
        });
    }
    return out;
}
#endif  // SEAM_WITH_CUDA
}  // namespace detail

/// out = x with dimension `dim` replaced by x's slices at `index` (0-D or 1-D, repeats allowed).
template <class T>
inline Tensor<T> index_select(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index) {
#if SEAM_WITH_CUDA
    if (x.defined() && x.device().is_cuda()) {
        SEAM_CHECK(x.dim() >= 1, "index_select: input must have at least one dimension");
        SEAM_CHECK(index.defined() && index.dim() <= 1, "index_select: index must be 0-D or 1-D");
        return detail::cuda_index_select(x, wrap_dim(dim, x.dim(), "index_select"), index);
    }
#endif
    detail::require_cpu_operand(x, "index_select", "input");
    detail::require_cpu_operand(index, "index_select", "index");
    SEAM_CHECK(x.dim() >= 1, "index_select: input must have at least one dimension");
    SEAM_CHECK(index.dim() <= 1, "index_select: index must be 0-D or 1-D, got shape ", shape_str(index.shape()));
    dim = wrap_dim(dim, x.dim(), "index_select");
    const Tensor<int64_t> idx = index.contiguous();
    detail::check_index_range(idx, x.size(dim), "index_select", dim, x.shape());
    const int64_t K = idx.numel(), S = x.size(dim), outer = detail::extent_product(x.shape(), 0, dim),
                  inner = detail::extent_product(x.shape(), dim + 1, x.dim());
    Shape shape = x.shape();
    shape[dim] = K;
    const Tensor<T> xc = x.detach().contiguous();
    Tensor<T> out = empty<T>(shape);
    const T* xp = xc.data();
    T* op = out.data();
    const int64_t* ip = idx.data();
    parallel_for(0, outer * K, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, inner)),
                 [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
            const int64_t o = r / K, k = r % K;
            if (inner > 0) std::memcpy(op + r * inner, xp + (o * S + ip[k]) * inner, static_cast<size_t>(inner) * sizeof(T));
        }
    });
    if constexpr (std::is_floating_point_v<T>) {
        const Shape x_shape = x.shape();
        record<T>("index_select", out, {&x}, [idx, x_shape, outer, S, K, inner](const Tensor<T>& g) {
            Tensor<T> gx = zeros<T>(x_shape);
            const Tensor<T> gc = g.contiguous();
            detail::index_add_into(gx.data(), gc.data(), idx.data(), outer, S, K, inner);
            return std::vector<Tensor<T>>{gx};
        });
    }
    return out;
}

/// out = x, then out[.., index[k], ..] += src[.., k, ..] along dim (repeated indices add up).
template <class T>
inline Tensor<T> index_add(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index, const Tensor<T>& src) {
#if SEAM_WITH_CUDA
    if (x.defined() && x.device().is_cuda()) {
        SEAM_CHECK(x.dim() >= 1, "index_add: input must have at least one dimension");
        SEAM_CHECK(index.defined() && index.dim() <= 1, "index_add: index must be 0-D or 1-D, got shape ",
                   shape_str(index.shape()));
        SEAM_CHECK(src.defined() && src.device() == x.device(), "index_add: the source must be on the input's device ",
                   x.device().str());
        dim = wrap_dim(dim, x.dim(), "index_add");
        const Tensor<int64_t> idx = detail::host_index(x, dim, index, "index_add");
        Shape want = x.shape();
        want[dim] = idx.numel();
        SEAM_CHECK(src.shape() == want, "index_add: source has shape ", shape_str(src.shape()), " but input ",
                   shape_str(x.shape()), " with ", idx.numel(), " indices along dimension ", dim, " needs ", shape_str(want));
        Tensor<T> out = detail::cuda_index_add(x, dim, idx, src);
        if constexpr (std::is_floating_point_v<T>)
            record<T>("index_add", out, {&x, &src}, [idx, dim](const Tensor<T>& g) {
                return std::vector<Tensor<T>>{g, detail::cuda_index_select(g, dim, idx)};
            });
        return out;
    }
#endif
    detail::require_cpu_operand(x, "index_add", "input");
    detail::require_cpu_operand(index, "index_add", "index");
    detail::require_cpu_operand(src, "index_add", "source");
    SEAM_CHECK(x.dim() >= 1, "index_add: input must have at least one dimension");
    SEAM_CHECK(index.dim() <= 1, "index_add: index must be 0-D or 1-D, got shape ", shape_str(index.shape()));
    dim = wrap_dim(dim, x.dim(), "index_add");
    const Tensor<int64_t> idx = index.contiguous();
    Shape want = x.shape();
    want[dim] = idx.numel();
    SEAM_CHECK(src.shape() == want, "index_add: source has shape ", shape_str(src.shape()), " but input ",
               shape_str(x.shape()), " with ", idx.numel(), " indices along dimension ", dim, " needs ", shape_str(want));
    detail::check_index_range(idx, x.size(dim), "index_add", dim, x.shape());
    const int64_t K = idx.numel(), S = x.size(dim), outer = detail::extent_product(x.shape(), 0, dim),
                  inner = detail::extent_product(x.shape(), dim + 1, x.dim());
    Tensor<T> out = empty<T>(x.shape());
    out.copy_(x);
    const Tensor<T> sc = src.detach().contiguous();
    detail::index_add_into(out.data(), sc.data(), idx.data(), outer, S, K, inner);
    if constexpr (std::is_floating_point_v<T>) {
        record<T>("index_add", out, {&x, &src}, [idx, dim](const Tensor<T>& g) {
            return std::vector<Tensor<T>>{g, index_select(g, dim, idx)};
        });
    }
    return out;
}

// ----- gather / scatter_add --------------------------------------------------------------------

#if SEAM_WITH_CUDA
namespace detail {
/// The index of a GPU gather / scatter_add, contiguous on x's device (it may come from the host).
template <class T>
inline Tensor<int64_t> device_gather_index(const Tensor<T>& x, const Tensor<int64_t>& index, const char* op) {
    SEAM_CHECK(index.device().is_cpu() || index.device() == x.device(), op, ": index is on ", index.device().str(),
               " but the input is on ", x.device().str());
    SEAM_CHECK(x.dim() <= cuda::kMaxDims, op, ": the input has ", x.dim(), " dimensions; the CUDA kernels handle at most ",
               cuda::kMaxDims);
    return index.to(x.device()).contiguous();
}

/// A device int64 holding INT64_MAX: where the kernels record the first out-of-range index position.
inline Tensor<int64_t> bad_index_flag(Device device) {
    Tensor<int64_t> bad = empty<int64_t>({}, device);
    bad.fill_(INT64_MAX);
    return bad;
}

/// Reads the flag back (waiting for the kernel) and raises the CPU op's error when it was set.
inline void check_bad_index_flag(const Tensor<int64_t>& bad, const Tensor<int64_t>& index, int64_t size, const char* op,
                                 int64_t dim, const Shape& input_shape) {
    const int64_t at = bad.to(Device::cpu()).data()[0];
    if (at == INT64_MAX) return;
    const Tensor<int64_t> host = index.to(Device::cpu());
    fail(op, ": ", index_position(at, index.shape()), " = ", host.data()[at], " is out of range for dimension ", dim,
         " of size ", size, " (input shape ", shape_str(input_shape), ")");
}

/// out (contiguous, on the GPU, every element written) = start (contiguous, out's shape; zeros when
/// undefined) + src scattered along dim by the device index ic, in one kernel where it can;
/// `check`: read the flag back and raise on an out-of-range value (off for an index already
/// checked: no wait).
template <class T>
inline void cuda_scatter_add_onto(const Tensor<T>& start, Tensor<T>& out, int64_t dim, const Tensor<int64_t>& ic,
                                  const Tensor<T>& src, bool check) {
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int64_t> ||
                  std::is_same_v<T, int32_t>) {
        const Tensor<T> sc = src.detach().contiguous();
        Tensor<int64_t> bad = bad_index_flag(out.device());
        cuda::scatter_add_onto<T>(start.defined() ? start.data() : nullptr, out.data(), out.shape(), dim, ic.data(), ic.shape(),
                                  sc.data(), bad.data());
        if (check) check_bad_index_flag(bad, ic, out.size(dim), "scatter_add", dim, out.shape());
    } else {
        fail("scatter_add: this element type on ", out.device().str(),
             " is not supported (float, double, int64, int32 are); move the tensors to the CPU");
    }
}

template <class T>
inline Tensor<T> cuda_gather(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index) {
    const Device device = x.device();
    cuda::DeviceGuard guard(device.index);
    const Tensor<int64_t> ic = device_gather_index(x, index, "gather");
    Tensor<T> out = empty<T>(ic.shape(), device);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int64_t> ||
                  std::is_same_v<T, int32_t> || std::is_same_v<T, uint8_t>) {
        const Tensor<T> xc = x.detach().contiguous();
        Tensor<int64_t> bad = bad_index_flag(device);
        cuda::gather<T>(xc.data(), xc.shape(), dim, ic.data(), ic.shape(), out.data(), bad.data());
        check_bad_index_flag(bad, ic, x.size(dim), "gather", dim, x.shape());
    } else {
        fail("gather: this element type on ", device.str(), " is not supported; move the tensors to the CPU");
    }
    if constexpr (std::is_floating_point_v<T>) {
        const Shape x_shape = x.shape();
        record<T>("gather", out, {&x}, [ic, dim, x_shape, device](const Tensor<T>& g) {
            Tensor<T> gx = empty<T>(x_shape, device);
            cuda_scatter_add_onto(Tensor<T>(), gx, dim, ic, g, /*check=*/false);  // zeros, then the scatter
            return std::vector<Tensor<T>>{gx};
        });
    }
    return out;
}

template <class T>
inline Tensor<T> cuda_scatter_add(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index, const Tensor<T>& src) {
    const Device device = x.device();
    SEAM_CHECK(src.device() == device, "scatter_add: the source is on ", src.device().str(), " but the input is on ",
               device.str(), "; move it with .to(...)");
    cuda::DeviceGuard guard(device.index);
    const Tensor<int64_t> ic = device_gather_index(x, index, "scatter_add");
    Tensor<T> out = empty<T>(x.shape(), device);
    cuda_scatter_add_onto(x.detach().contiguous(), out, dim, ic, src, /*check=*/true);  // x's values, then the scatter
    if constexpr (std::is_floating_point_v<T>) {
        record<T>("scatter_add", out, {&x, &src}, [ic, dim](const Tensor<T>& g) {
            return std::vector<Tensor<T>>{g, gather(g, dim, ic)};
        });
    }
    return out;
}
}  // namespace detail
#endif  // SEAM_WITH_CUDA

/// out[i][j][k] = x[i][index[i][j][k]][k] (for dim = 1); out has the index's shape.
template <class T>
inline Tensor<T> gather(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index) {
#if SEAM_WITH_CUDA
    if (x.defined() && x.device().is_cuda()) {
        SEAM_CHECK(index.defined(), "gather: index is an undefined tensor");
        return detail::cuda_gather(x, detail::check_gather_shapes(x, dim, index, "gather"), index);
    }
#endif
    detail::require_cpu_operand(x, "gather", "input");
    detail::require_cpu_operand(index, "gather", "index");
    dim = detail::check_gather_shapes(x, dim, index, "gather");
    const Tensor<int64_t> idx = index.contiguous();
    detail::check_index_range(idx, x.size(dim), "gather", dim, x.shape());
    Tensor<T> out = empty<T>(idx.shape());  // contiguous like idx: one offset serves both
    Shape x_strides = x.strides();
    const int64_t step = x_strides[dim];
    x_strides[dim] = 0;
    const T* xp = x.data();
    T* op = out.data();
    const int64_t* ip = idx.data();
    for_each_row<2>(idx.shape(), {x_strides, idx.strides()}, [&](const std::array<int64_t, 2>& off, int64_t n,
                                                                 const std::array<int64_t, 2>& s) {
        for (int64_t i = 0; i < n; ++i) op[off[1] + i] = xp[off[0] + i * s[0] + ip[off[1] + i] * step];
    });
    if constexpr (std::is_floating_point_v<T>) {
        const Shape x_shape = x.shape();
        record<T>("gather", out, {&x}, [idx, dim, x_shape](const Tensor<T>& g) {
            Tensor<T> gx = zeros<T>(x_shape);
            detail::scatter_add_into(gx, dim, idx, g);
            return std::vector<Tensor<T>>{gx};
        });
    }
    return out;
}

/// out = x, then out[i][index[i][j][k]][k] += src[i][j][k] (for dim = 1); src has the index's shape.
template <class T>
inline Tensor<T> scatter_add(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index, const Tensor<T>& src) {
#if SEAM_WITH_CUDA
    if (x.defined() && x.device().is_cuda()) {
        SEAM_CHECK(index.defined(), "scatter_add: index is an undefined tensor");
        SEAM_CHECK(src.defined(), "scatter_add: source is an undefined tensor");
        dim = detail::check_gather_shapes(x, dim, index, "scatter_add");
        SEAM_CHECK(src.shape() == index.shape(), "scatter_add: source of shape ", shape_str(src.shape()),
                   " must have the index's shape ", shape_str(index.shape()));
        return detail::cuda_scatter_add(x, dim, index, src);
    }
#endif
    detail::require_cpu_operand(x, "scatter_add", "input");
    detail::require_cpu_operand(index, "scatter_add", "index");
    detail::require_cpu_operand(src, "scatter_add", "source");
    dim = detail::check_gather_shapes(x, dim, index, "scatter_add");
    SEAM_CHECK(src.shape() == index.shape(), "scatter_add: source of shape ", shape_str(src.shape()),
               " must have the index's shape ", shape_str(index.shape()));
    const Tensor<int64_t> idx = index.contiguous();
    detail::check_index_range(idx, x.size(dim), "scatter_add", dim, x.shape());
    Tensor<T> out = empty<T>(x.shape());
    out.copy_(x);
    detail::scatter_add_into(out, dim, idx, src.detach());
    if constexpr (std::is_floating_point_v<T>) {
        record<T>("scatter_add", out, {&x, &src}, [idx, dim](const Tensor<T>& g) {
            return std::vector<Tensor<T>>{g, gather(g, dim, idx)};
        });
    }
    return out;
}

// ----- where / masked_fill ---------------------------------------------------------------------

/// out = cond ? a : b elementwise, all three broadcast together (nonzero cond = true).
template <class T>
inline Tensor<T> where(const Tensor<uint8_t>& cond, const Tensor<T>& a, const Tensor<T>& b) {
#if SEAM_WITH_CUDA
    if ((cond.defined() && cond.device().is_cuda()) || (a.defined() && a.device().is_cuda()) ||
        (b.defined() && b.device().is_cuda())) {
        SEAM_CHECK(cond.defined() && a.defined() && b.defined(), "where: an operand is an undefined tensor");
        const Device device = a.device();
        SEAM_CHECK(cond.device() == device && b.device() == device, "where: the condition (", cond.device().str(),
                   ") and the values (", a.device().str(), ", ", b.device().str(),
                   ") must be on one device; move them with .to(...)");
        const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
        cuda::DeviceGuard guard(device.index);
        Tensor<T> out = empty<T>(shape, device);
        cuda::where<T>(cond.data(), broadcast_strides(cond.shape(), cond.strides(), shape), a.data(),
                       broadcast_strides(a.shape(), a.strides(), shape), b.data(),
                       broadcast_strides(b.shape(), b.strides(), shape), shape, out.data());
        if constexpr (std::is_floating_point_v<T>) {
            const Tensor<uint8_t> cs = cond.detach();
            const Shape shape_a = a.shape(), shape_b = b.shape();
            record<T>("where", out, {&a, &b}, [cs, shape_a, shape_b, device](const Tensor<T>& g) {
                Tensor<T> zero = empty<T>({}, device);
                zero.fill_(T(0));
                return std::vector<Tensor<T>>{sum_to(where(cs, g, zero), shape_a), sum_to(where(cs, zero, g), shape_b)};
            });
        }
        return out;
    }
#endif
    detail::require_cpu_operand(cond, "where", "condition");
    detail::require_cpu_operand(a, "where", "first value tensor");
    detail::require_cpu_operand(b, "where", "second value tensor");
    const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
    Tensor<T> out = empty<T>(shape);
    const Shape sc = broadcast_strides(cond.shape(), cond.strides(), shape);
    const Shape sa = broadcast_strides(a.shape(), a.strides(), shape);
    const Shape sb = broadcast_strides(b.shape(), b.strides(), shape);
    T* o = out.data();
    const uint8_t* pc = cond.data();
    const T *pa = a.data(), *pb = b.data();
    for_each_row<4>(shape, {out.strides(), sc, sa, sb}, [&](const std::array<int64_t, 4>& off, int64_t n,
                                                            const std::array<int64_t, 4>& s) {
        for (int64_t i = 0; i < n; ++i)
            o[off[0] + i] = pc[off[1] + i * s[1]] ? pa[off[2] + i * s[2]] : pb[off[3] + i * s[3]];
    });
    if constexpr (std::is_floating_point_v<T>) {
        const Tensor<uint8_t> cs = cond.detach();
        const Shape shape_a = a.shape(), shape_b = b.shape();
        record<T>("where", out, {&a, &b}, [cs, shape_a, shape_b](const Tensor<T>& g) {
            const Tensor<T> zero = scalar<T>(T(0));
            return std::vector<Tensor<T>>{sum_to(where(cs, g, zero), shape_a), sum_to(where(cs, zero, g), shape_b)};
        });
    }
    return out;
}

/// out = x with `value` where mask is nonzero; the mask broadcasts to x's shape.
template <class T>
inline Tensor<T> masked_fill(const Tensor<T>& x, const Tensor<uint8_t>& mask, std::type_identity_t<T> value) {
    SEAM_CHECK(x.defined() && mask.defined(), "masked_fill: the input or the mask is an undefined tensor");
    SEAM_CHECK(x.device() == mask.device(), "masked_fill: the input is on ", x.device().str(), " but the mask on ",
               mask.device().str(), "; move them to one device with .to(...)");
    SEAM_CHECK(broadcast_shapes(x.shape(), mask.shape(), "masked_fill") == x.shape(), "masked_fill: mask of shape ",
               shape_str(mask.shape()), " cannot be broadcast to the input shape ", shape_str(x.shape()));
    Tensor<T> fill = empty<T>({}, x.device());  // the value as a 0-D tensor where x lives
    fill.fill_(value);
    return where(mask, fill, x);
}

// ----- comparisons and mask algebra ------------------------------------------------------------

#define SEAM_COMPARISON(name, expr)                                                                          \
    template <class T>                                                                                       \
    inline Tensor<uint8_t> name(const Tensor<T>& a, const Tensor<T>& b) {                                    \
        return detail::compare_to_mask(a, b, #name, cuda::CompareOp::name, [](T x, T y) { return expr; });   \
    }                                                                                                        \
    template <class T>                                                                                       \
    inline Tensor<uint8_t> name(const Tensor<T>& a, std::type_identity_t<T> value) {                         \
        SEAM_CHECK(a.defined(), #name ": the input is an undefined tensor");                                 \
        return detail::compare_to_mask(a, detail::scalar_on<T>(value, a.device()), #name, cuda::CompareOp::name, \
                                       [](T x, T y) { return expr; });                                       \
    }
SEAM_COMPARISON(eq, x == y)
SEAM_COMPARISON(ne, x != y)
SEAM_COMPARISON(gt, x > y)
SEAM_COMPARISON(lt, x < y)
SEAM_COMPARISON(ge, x >= y)
SEAM_COMPARISON(le, x <= y)
#undef SEAM_COMPARISON

inline Tensor<uint8_t> logical_and(const Tensor<uint8_t>& a, const Tensor<uint8_t>& b) {
    return detail::compare_to_mask(a, b, "logical_and", cuda::CompareOp::logical_and,
                                   [](uint8_t x, uint8_t y) { return x && y; });
}
inline Tensor<uint8_t> logical_or(const Tensor<uint8_t>& a, const Tensor<uint8_t>& b) {
    return detail::compare_to_mask(a, b, "logical_or", cuda::CompareOp::logical_or,
                                   [](uint8_t x, uint8_t y) { return x || y; });
}
/// !a, i.e. a == 0.
inline Tensor<uint8_t> logical_not(const Tensor<uint8_t>& a) {
    SEAM_CHECK(a.defined(), "logical_not: the input is an undefined tensor");
    return detail::compare_to_mask(a, detail::scalar_on<uint8_t>(0, a.device()), "logical_not", cuda::CompareOp::eq,
                                   [](uint8_t x, uint8_t) { return !x; });
}

}  // namespace seam
