// seam/ops/view.hpp — views and shape changes, with their backward rules.
//
// A view shares storage with its input and only changes (shape, strides, offset); its backward
// rule maps the gradient back to the input's shape:
//   reshape/view/flatten/squeeze/unsqueeze  -> reshape back
//   permute/transpose                       -> inverse permutation
//   narrow/select                           -> zeros of the input shape with the gradient placed in the slice
//   expand                                  -> sum over the expanded dimensions (sum_to)
// Because no op in seam writes into a tensor that is part of a graph, gradients through views are
// exact without PyTorch's version counters. In-place methods (fill_, copy_) are for optimizers
// and buffers under NoGradGuard.
#pragma once

#include <algorithm>
#include <numeric>

#include "seam/core/tensor.hpp"
#if SEAM_WITH_CUDA
#include "seam/cuda/api.hpp"
#include "seam/cuda/runtime.hpp"
#endif

namespace seam {

namespace detail {
template <class T>
inline Tensor<T> make_view(const Tensor<T>& base, Shape shape, Shape strides, int64_t offset) {
    auto im = std::make_shared<TensorImpl<T>>();
    im->storage = base.storage();
    im->shape = std::move(shape);
    im->strides = std::move(strides);
    im->offset = offset;
    return Tensor<T>(std::move(im));
}

/// Resolve one -1 in a requested shape against numel.
inline Shape infer_shape(Shape shape, int64_t numel, const char* op, const Shape& from) {
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            SEAM_CHECK(infer < 0, op, ": only one dimension can be -1 in ", shape_str(shape));
            infer = static_cast<int64_t>(i);
        } else {
            SEAM_CHECK(shape[i] >= 0, op, ": invalid dimension ", shape[i], " in ", shape_str(shape));
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        SEAM_CHECK(known > 0 && numel % known == 0, op, ": cannot reshape ", shape_str(from), " (", numel,
                   " elements) into ", shape_str(shape));
        shape[infer] = numel / known;
    }
    SEAM_CHECK(numel_of(shape) == numel, op, ": cannot reshape ", shape_str(from), " (", numel, " elements) into ",
               shape_str(shape), " (", numel_of(shape), " elements)");
    return shape;
}

/// Strides for viewing a tensor of (shape, strides) as new_shape without copying, if possible
/// (the algorithm of PyTorch's computeStride: split/merge only runs of dims that are contiguous
/// with each other). Returns false when a copy is needed.
inline bool view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape, Shape& out) {
    out.assign(new_shape.size(), 0);
    if (numel_of(shape) == 0 || shape.empty()) {  // empty tensors and 0-d scalars view as anything of their size
        out = contiguous_strides(new_shape);
        return true;
    }
    int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
    int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
    int64_t tensor_numel = 1, view_numel = 1;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
        tensor_numel *= shape[d];
        if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
                out[view_d] = view_numel * chunk_base_stride;
                view_numel *= new_shape[view_d];
                --view_d;
            }
            if (view_numel != tensor_numel) return false;
            if (d > 0) {
                chunk_base_stride = strides[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    return view_d == -1;
}
}  // namespace detail

#if SEAM_WITH_CUDA
namespace detail {
/// A dense copy of a device tensor (t itself when already dense); no autograd.
template <class T>
inline Tensor<T> cuda_dense(const Tensor<T>& t) {
    if (t.is_contiguous()) return t;
    Tensor<T> out = empty<T>(t.shape(), t.device());
    out.copy_(t.detach());
    return out;
}

/// sum_to on the device: reduce every broadcast dimension of g (leading ones and those where
/// `shape` has 1) with cuda::sum_dim, one dimension at a time.
template <class T>
inline Tensor<T> cuda_sum_to(const Tensor<T>& g, const Shape& shape) {
    if (g.shape() == shape) return g;
    Tensor<T> cur = cuda_dense(g);
    Shape cur_shape = cur.shape();
    const size_t lead = cur_shape.size() - shape.size();
    for (size_t d = 0; d < cur_shape.size(); ++d) {
        const bool reduce = d < lead || (shape[d - lead] == 1 && cur_shape[d] != 1);
        if (!reduce || cur_shape[d] == 1) continue;
        int64_t outer = 1, inner = 1;
        for (size_t e = 0; e < d; ++e) outer *= cur_shape[e];
        for (size_t e = d + 1; e < cur_shape.size(); ++e) inner *= cur_shape[e];
        Shape next_shape = cur_shape;
        next_shape[d] = 1;
        Tensor<T> next = empty<T>(next_shape, g.device());
        cuda::sum_dim<T>(cur.data(), outer, cur_shape[d], inner, next.data());
        cur = next;
        cur_shape = next_shape;
    }
    return cur.detach().view(shape);
}

}  // namespace detail
#endif

/// Sum `grad` down to `shape` (the inverse of broadcasting): used by every broadcasting backward.
/// A gradient on a GPU is reduced there (detail::cuda_sum_to).
template <class T>
inline Tensor<T> sum_to(const Tensor<T>& grad, const Shape& shape) {
    if (grad.shape() == shape) return grad;
#if SEAM_WITH_CUDA
    if (grad.device().is_cuda()) {
        SEAM_CHECK(broadcast_shapes(shape, grad.shape(), "sum_to") == grad.shape(), "sum_to: cannot reduce ",
                   shape_str(grad.shape()), " to ", shape_str(shape));
        cuda::DeviceGuard guard(grad.device().index);
        return detail::cuda_sum_to(grad, shape);
    }
#endif
    Shape target = broadcast_shapes(shape, grad.shape(), "sum_to");
    SEAM_CHECK(target == grad.shape(), "sum_to: cannot reduce ", shape_str(grad.shape()), " to ", shape_str(shape));
    Tensor<T> out = zeros<T>(shape);
    // Read grad in row-major order; write out through strides that are 0 on reduced dimensions.
    Shape out_strides = broadcast_strides(shape, out.strides(), grad.shape());
    T* o = out.data();
    const T* g = grad.data();
    for_each_row<2>(grad.shape(), {grad.strides(), out_strides}, [&](const std::array<int64_t, 2>& off, int64_t n,
                                                                     const std::array<int64_t, 2>& s) {
        const T* gp = g + off[0];
        T* op = o + off[1];
        if (s[1] == 0) {
            T acc = 0;
            for (int64_t i = 0; i < n; ++i) acc += gp[i * s[0]];
            *op += acc;
        } else {
            for (int64_t i = 0; i < n; ++i) op[i * s[1]] += gp[i * s[0]];
        }
    }, /*parallel=*/false);
    return out;
}

#if SEAM_WITH_CUDA
namespace detail {
/// out = a + b elementwise on the GPU (equal shapes; out may be a itself: each element is read
/// and written by the same thread).
template <class T>
inline void cuda_add_into(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& out, const char* who) {
    SEAM_CHECK(a.device() == b.device() && a.device() == out.device(), who, ": gradients on different devices (",
               a.device().str(), " and ", b.device().str(), ")");
    cuda::DeviceGuard guard(a.device().index);
    cuda::binary<T>(cuda::BinaryOp::add, a.data(), a.strides(), b.data(), b.strides(), a.shape(), out.data());
}
}  // namespace detail
#endif

/// a + b for two gradients of equal shape, as a new tensor (never aliases either input). On a GPU
/// the sum is computed there: gradients never leave the device of their tensor.
template <class T>
inline Tensor<T> add_gradients(const Tensor<T>& a, const Tensor<T>& b) {
#if SEAM_WITH_CUDA
    if (a.device().is_cuda() || b.device().is_cuda()) {
        Tensor<T> out = empty<T>(a.shape(), a.device());
        detail::cuda_add_into(a, b, out, "backward");
        return out;
    }
#endif
    Tensor<T> out = empty<T>(a.shape());
    out.copy_(a);
    T* o = out.data();
    Tensor<T> bc = b.contiguous();
    const T* q = bc.data();
    const int64_t n = out.numel();
    parallel_for(0, n, kParallelGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) o[i] += q[i];
    });
    return out;
}

template <class T>
inline std::vector<Tensor<T>> AccumulateGrad<T>::apply(const Tensor<T>& grad_output) {
    auto l = leaf.lock();
    if (!l) return {};  // the parameter is gone; nothing to accumulate into
    if (!l->grad) {
        // A fresh buffer on the gradient's device: never alias another gradient.
        Tensor<T> copy = empty<T>(grad_output.shape(), grad_output.device());
        copy.copy_(grad_output);
        l->grad = copy.impl_ptr();
    } else {
        Tensor<T> acc(l->grad);
#if SEAM_WITH_CUDA
        if (acc.device().is_cuda() || grad_output.device().is_cuda()) {  // in place, on the device
            detail::cuda_add_into(acc, grad_output, acc, "AccumulateGrad");
            return {};
        }
#endif
        T* a = acc.data();
        Tensor<T> gc = grad_output.contiguous();
        const T* g = gc.data();
        const int64_t n = acc.numel();
        parallel_for(0, n, kParallelGrain, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) a[i] += g[i];
        });
    }
    return {};
}

// ----- contiguous / clone --------------------------------------------------------------------

/// A contiguous copy that is differentiable (gradient passes through unchanged).
template <class T>
inline Tensor<T> Tensor<T>::clone() const {
    Tensor<T> out = empty<T>(shape(), device());  // stays on the source's device
    out.copy_(*this);
    if constexpr (std::is_floating_point_v<T>)
        record<T>("clone", out, {this}, [](const Tensor<T>& g) { return std::vector<Tensor<T>>{g}; });
    return out;
}

template <class T>
inline Tensor<T> Tensor<T>::contiguous() const {
    if (is_contiguous()) return *this;
    return clone();
}

// ----- reshape family ----------------------------------------------------------------------

template <class T>
inline Tensor<T> Tensor<T>::view(Shape new_shape) const {
    new_shape = detail::infer_shape(std::move(new_shape), numel(), "view", shape());
    Shape st;
    SEAM_CHECK(detail::view_strides(shape(), strides(), new_shape, st), "view: tensor of shape ", shape_str(shape()),
               " and strides ", shape_str(strides()), " cannot be viewed as ", shape_str(new_shape),
               " without a copy; use reshape()");
    Tensor<T> out = detail::make_view(*this, new_shape, st, offset());
    if constexpr (std::is_floating_point_v<T>) {
        Shape in_shape = shape();
        record<T>("view", out, {this}, [in_shape](const Tensor<T>& g) { return std::vector<Tensor<T>>{g.reshape(in_shape)}; });
    }
    return out;
}

template <class T>
inline Tensor<T> Tensor<T>::reshape(Shape new_shape) const {
    new_shape = detail::infer_shape(std::move(new_shape), numel(), "reshape", shape());
    Shape st;
    if (detail::view_strides(shape(), strides(), new_shape, st)) return view(new_shape);
    return clone().view(new_shape);
}

template <class T>
inline Tensor<T> Tensor<T>::flatten(int64_t start_dim, int64_t end_dim) const {
    if (dim() == 0) return reshape({1});
    int64_t s = wrap_dim(start_dim, dim(), "flatten"), e = wrap_dim(end_dim, dim(), "flatten");
    SEAM_CHECK(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
    Shape ns(shape().begin(), shape().begin() + s);
    int64_t m = 1;
    for (int64_t d = s; d <= e; ++d) m *= shape()[d];
    ns.push_back(m);
    ns.insert(ns.end(), shape().begin() + e + 1, shape().end());
    return reshape(ns);
}

template <class T>
inline Tensor<T> Tensor<T>::squeeze(int64_t d) const {
    d = wrap_dim(d, dim(), "squeeze");
    if (shape()[d] != 1) return *this;
    Shape ns = shape();
    ns.erase(ns.begin() + d);
    return reshape(ns);
}

template <class T>
inline Tensor<T> Tensor<T>::squeeze() const {
    Shape ns;
    for (int64_t v : shape())
        if (v != 1) ns.push_back(v);
    return reshape(ns);
}

template <class T>
inline Tensor<T> Tensor<T>::unsqueeze(int64_t d) const {
    d = wrap_dim(d, dim() + 1, "unsqueeze");
    Shape ns = shape();
    ns.insert(ns.begin() + d, 1);
    return reshape(ns);
}

// ----- permutations --------------------------------------------------------------------------

template <class T>
inline Tensor<T> Tensor<T>::permute(Shape dims) const {
    SEAM_CHECK(static_cast<int64_t>(dims.size()) == dim(), "permute: got ", dims.size(), " dimensions ", shape_str(dims),
               " for a tensor of rank ", dim());
    Shape ns(dims.size()), st(dims.size()), inverse(dims.size());
    std::vector<bool> seen(dims.size(), false);
    for (size_t i = 0; i < dims.size(); ++i) {
        int64_t d = wrap_dim(dims[i], dim(), "permute");
        SEAM_CHECK(!seen[d], "permute: dimension ", d, " repeated in ", shape_str(dims));
        seen[d] = true;
        ns[i] = shape()[d];
        st[i] = strides()[d];
        inverse[d] = static_cast<int64_t>(i);
    }
    Tensor<T> out = detail::make_view(*this, ns, st, offset());
    if constexpr (std::is_floating_point_v<T>)
        record<T>("permute", out, {this}, [inverse](const Tensor<T>& g) { return std::vector<Tensor<T>>{g.permute(inverse)}; });
    return out;
}

template <class T>
inline Tensor<T> Tensor<T>::transpose(int64_t d0, int64_t d1) const {
    Shape dims(static_cast<size_t>(dim()));
    std::iota(dims.begin(), dims.end(), 0);
    std::swap(dims[wrap_dim(d0, dim(), "transpose")], dims[wrap_dim(d1, dim(), "transpose")]);
    return permute(dims);
}

// ----- slicing -------------------------------------------------------------------------------

template <class T>
inline Tensor<T> Tensor<T>::narrow(int64_t d, int64_t start, int64_t length) const {
    d = wrap_dim(d, dim(), "narrow");
    int64_t n = shape()[d];
    if (start < 0) start += n;
    SEAM_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: range [", start, ", ", start + length,
               ") is outside dimension ", d, " of size ", n, " (shape ", shape_str(shape()), ")");
    Shape ns = shape();
    ns[d] = length;
    Tensor<T> out = detail::make_view(*this, ns, strides(), offset() + start * strides()[d]);
    if constexpr (std::is_floating_point_v<T>) {
        Shape in_shape = shape();
        record<T>("narrow", out, {this}, [in_shape, d, start, length](const Tensor<T>& g) {
            Tensor<T> full = empty<T>(in_shape, g.device());  // on the gradient's device (a GPU slice stays there)
            full.fill_(T(0));
            full.detach().narrow(d, start, length).copy_(g);
            return std::vector<Tensor<T>>{full};
        });
    }
    return out;
}

template <class T>
inline Tensor<T> Tensor<T>::select(int64_t d, int64_t index) const {
    d = wrap_dim(d, dim(), "select");
    if (index < 0) index += shape()[d];
    SEAM_CHECK(index >= 0 && index < shape()[d], "select: index ", index, " is out of range for dimension ", d,
               " of size ", shape()[d]);
    return narrow(d, index, 1).squeeze(d);
}

// ----- broadcasting view ---------------------------------------------------------------------

template <class T>
inline Tensor<T> Tensor<T>::expand(Shape target) const {
    SEAM_CHECK(target.size() >= shape().size(), "expand: cannot expand ", shape_str(shape()), " to fewer dimensions ",
               shape_str(target));
    size_t lead = target.size() - shape().size();
    Shape st(target.size(), 0);
    for (size_t i = 0; i < target.size(); ++i) {
        if (i < lead) {
            SEAM_CHECK(target[i] >= 0, "expand: new leading dimension must be >= 0 in ", shape_str(target));
            continue;
        }
        int64_t have = shape()[i - lead];
        if (target[i] == -1) target[i] = have;
        SEAM_CHECK(have == target[i] || have == 1, "expand: dimension ", i - lead, " of size ", have, " cannot become ",
                   target[i], " (", shape_str(shape()), " -> ", shape_str(target), ")");
        st[i] = (have == target[i]) ? strides()[i - lead] : 0;
    }
    Tensor<T> out = detail::make_view(*this, target, st, offset());
    if constexpr (std::is_floating_point_v<T>) {
        Shape in_shape = shape();
        record<T>("expand", out, {this}, [in_shape](const Tensor<T>& g) { return std::vector<Tensor<T>>{sum_to(g, in_shape)}; });
    }
    return out;
}

}  // namespace seam

#include "seam/autograd/engine.hpp"
