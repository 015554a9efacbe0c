// seam/core/tensor.hpp — Tensor<T>: a cheap shared handle to (storage, shape, strides, offset).
//
// Copying a Tensor copies a pointer: both handles see the same data, gradient and graph node, the
// way a PyTorch tensor or a flashlight Variable behaves. Views (reshape of a contiguous tensor,
// permute, narrow, expand, ...) share storage and differ only in shape/strides/offset. T is float
// or double for differentiable math; int64_t tensors hold indices and labels (never any gradient).
//
// Autograd state lives on the impl: `requires_grad` marks a leaf the user wants gradients for,
// `grad_fn` is the node that produced a non-leaf, `grad` is filled by backward() on leaves.
// The graph is owned from outputs to inputs only, so it never forms cycles (DESIGN.md).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "seam/core/device.hpp"
#include "seam/core/error.hpp"
#include "seam/core/rng.hpp"
#include "seam/core/shape.hpp"
#include "seam/core/storage.hpp"
#include "seam/cpu/parallel.hpp"

#if SEAM_WITH_CUDA
#include "seam/cuda/api.hpp"  // device memory, copies and kernels (src/cuda/seam_cuda.cu, linked via seam::cuda)
#endif

namespace seam {

template <class T>
struct Node;  // autograd/node.hpp

template <class T>
inline const char* dtype_name() {
    if constexpr (std::is_same_v<T, float>) return "float32";
    else if constexpr (std::is_same_v<T, double>) return "float64";
    else if constexpr (std::is_same_v<T, int64_t>) return "int64";
    else if constexpr (std::is_same_v<T, int32_t>) return "int32";
    else if constexpr (std::is_same_v<T, uint8_t>) return "uint8";
    else return "unknown";
}

template <class T>
struct TensorImpl {
    std::shared_ptr<Storage<T>> storage;
    Shape shape;
    Shape strides;
    int64_t offset = 0;

    bool requires_grad = false;                // leaf flag set by the user
    std::shared_ptr<TensorImpl<T>> grad;       // accumulated gradient (leaves)
    std::shared_ptr<Node<T>> grad_fn;          // producer of a non-leaf
    std::weak_ptr<Node<T>> grad_accumulator;   // cached AccumulateGrad of a leaf
};

template <class T>
class Tensor {
public:
    using value_type = T;

    Tensor() = default;
    explicit Tensor(std::shared_ptr<TensorImpl<T>> impl) : impl_(std::move(impl)) {}

    // ----- basic properties ------------------------------------------------------------------
    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const { return checked().shape; }
    const Shape& strides() const { return checked().strides; }
    int64_t offset() const { return checked().offset; }
    int64_t dim() const { return static_cast<int64_t>(shape().size()); }
    int64_t size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
    int64_t stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }
    int64_t numel() const { return numel_of(shape()); }
    Device device() const { return checked().storage->device(); }
    const std::shared_ptr<Storage<T>>& storage() const { return checked().storage; }
    TensorImpl<T>* impl() const { return impl_.get(); }
    const std::shared_ptr<TensorImpl<T>>& impl_ptr() const { return impl_; }
    static const char* dtype() { return dtype_name<T>(); }

    /// Pointer to element [0,...,0] (host memory for CPU tensors).
    T* data() const { return checked().storage->data() + checked().offset; }

    bool is_contiguous() const {
        const auto& im = checked();
        int64_t expected = 1;
        for (size_t i = im.shape.size(); i-- > 0;) {
            if (im.shape[i] == 1) continue;
            if (im.strides[i] != expected) return false;
            expected *= im.shape[i];
        }
        return true;
    }

    // ----- autograd ----------------------------------------------------------------------------
    bool requires_grad() const { return impl_ && (impl_->requires_grad || impl_->grad_fn); }
    bool is_leaf() const { return !checked().grad_fn; }
    /// Mark a leaf as wanting gradients (returns *this for chaining, like PyTorch's requires_grad_).
    Tensor& set_requires_grad(bool on = true) {
        static_assert(std::is_floating_point_v<T>, "only floating-point tensors can require gradients");
        SEAM_CHECK(is_leaf(), "set_requires_grad: only leaf tensors can change requires_grad (this one was produced by ",
                   "an operation; use detach() first)");
        checked().requires_grad = on;
        return *this;
    }
    /// The accumulated gradient of a leaf (undefined until backward() reached it).
    Tensor grad() const { return Tensor(checked().grad); }
    void zero_grad() { checked().grad.reset(); }
    const std::shared_ptr<Node<T>>& grad_fn() const { return checked().grad_fn; }

    /// A tensor sharing this one's data but cut from the graph (no grad_fn, no requires_grad).
    Tensor detach() const {
        auto im = std::make_shared<TensorImpl<T>>();
        im->storage = checked().storage;
        im->shape = checked().shape;
        im->strides = checked().strides;
        im->offset = checked().offset;
        return Tensor(std::move(im));
    }

    /// Reverse-mode differentiation from this tensor (autograd/engine.hpp). Without a gradient
    /// the tensor must hold one element (a loss).
    void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;

    // ----- element access (host; for tests, printing and small bookkeeping) ----------------------
    /// The one element of a one-element tensor; on a GPU it is copied to the host (this waits for
    /// the work queued before it, like PyTorch's item()).
    T item() const {
        SEAM_CHECK(numel() == 1, "item: tensor of shape ", shape_str(shape()), " has ", numel(),
                   " elements, expected exactly 1");
        if (!device().is_cpu()) return detach().to(Device::cpu()).item();
        return *data();
    }
    T at(std::initializer_list<int64_t> index) const {
        require_cpu("at");
        SEAM_CHECK(static_cast<int64_t>(index.size()) == dim(), "at: got ", index.size(), " indices for a tensor of rank ",
                   dim());
        int64_t off = 0;
        size_t i = 0;
        for (int64_t v : index) {
            SEAM_CHECK(v >= 0 && v < shape()[i], "at: index ", v, " out of range for dimension ", i, " of size ",
                       shape()[i]);
            off += v * strides()[i++];
        }
        return data()[off];
    }
    /// Copy out in row-major order (works for any strides).
    std::vector<T> to_vector() const;

    // ----- views and shape (ops/view.hpp; differentiable) -------------------------------------
    Tensor reshape(Shape shape) const;
    Tensor view(Shape shape) const;
    Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
    Tensor permute(Shape dims) const;
    Tensor transpose(int64_t d0, int64_t d1) const;
    Tensor t() const { return transpose(0, 1); }
    Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
    Tensor select(int64_t dim, int64_t index) const;
    Tensor squeeze(int64_t dim) const;
    Tensor squeeze() const;
    Tensor unsqueeze(int64_t dim) const;
    Tensor expand(Shape shape) const;
    Tensor contiguous() const;
    Tensor clone() const;

    /// Copy to another device (explicit; nothing is ever mirrored behind the user's back).
    Tensor to(Device device) const;

    // ----- in-place (no autograd: for optimizers, initialisers and buffers) -------------------
    Tensor& fill_(T value);
    Tensor& zero_() { return fill_(T(0)); }
    /// Copy src (broadcast to this shape) into this tensor's memory, respecting both strides.
    Tensor& copy_(const Tensor& src);

private:
    TensorImpl<T>& checked() const {
        if (!impl_) fail("use of an undefined (default-constructed) tensor");
        return *impl_;
    }
    void require_cpu(const char* op) const {
        SEAM_CHECK(device().is_cpu(), op, ": tensor is on ", device().str(), "; call .to(Device::cpu()) first");
    }
    std::shared_ptr<TensorImpl<T>> impl_;
};

using FloatTensor = Tensor<float>;
using DoubleTensor = Tensor<double>;
using IndexTensor = Tensor<int64_t>;

// ----- strided iteration ---------------------------------------------------------------------

/// Call f(row_offsets, n, inner_strides) for every innermost row of `shape`, where row_offsets[k]
/// is the element offset of the row's first element in operand k. Rows are processed in
/// row-major order; with `parallel` the row range is split statically across threads.
template <size_t K, class F>
inline void for_each_row(const Shape& shape, const std::array<Shape, K>& strides, F&& f, bool parallel = true) {
    const int64_t rank = static_cast<int64_t>(shape.size());
    std::array<int64_t, K> inner{};
    int64_t n = rank ? shape[rank - 1] : 1;
    for (size_t k = 0; k < K; ++k) inner[k] = rank ? strides[k][rank - 1] : 0;
    int64_t rows = 1;
    for (int64_t d = 0; d + 1 < rank; ++d) rows *= shape[d];
    if (n == 0 || rows == 0) return;
    auto run = [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
            std::array<int64_t, K> off{};
            int64_t rest = r;
            for (int64_t d = rank - 2; d >= 0; --d) {
                int64_t idx = rest % shape[d];
                rest /= shape[d];
                for (size_t k = 0; k < K; ++k) off[k] += idx * strides[k][d];
            }
            f(off, n, inner);
        }
    };
    if (parallel) parallel_for(0, rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)), run);
    else run(0, rows);
}

// ----- factories -----------------------------------------------------------------------------

/// Uninitialised contiguous tensor.
template <class T>
inline Tensor<T> empty(const Shape& shape, Device device = Device::cpu()) {
    for (int64_t d : shape) SEAM_CHECK(d >= 0, "empty: negative dimension in shape ", shape_str(shape));
#if SEAM_WITH_CUDA
    if (device.is_cuda()) {  // device memory from the caching allocator, returned to it by the deleter
        const int64_t n = numel_of(shape);
        T* p = static_cast<T*>(cuda::allocate(static_cast<size_t>(n) * sizeof(T), device.index));
        auto im = std::make_shared<TensorImpl<T>>();
        im->storage = Storage<T>::adopt(p, n, device, &cuda::deallocate);
        im->shape = shape;
        im->strides = contiguous_strides(shape);
        return Tensor<T>(std::move(im));
    }
#endif
    SEAM_CHECK(device.is_cpu(), "empty: device ", device.str(), " needs the CUDA backend (seam/cuda/tensor.hpp)");
    auto im = std::make_shared<TensorImpl<T>>();
    im->storage = Storage<T>::allocate_cpu(numel_of(shape));
    im->shape = shape;
    im->strides = contiguous_strides(shape);
    return Tensor<T>(std::move(im));
}

template <class T>
inline Tensor<T> full(const Shape& shape, T value) {
    Tensor<T> t = empty<T>(shape);
    t.fill_(value);
    return t;
}
template <class T>
inline Tensor<T> zeros(const Shape& shape) { return full<T>(shape, T(0)); }
template <class T>
inline Tensor<T> ones(const Shape& shape) { return full<T>(shape, T(1)); }
template <class T>
inline Tensor<T> scalar(T value) { return full<T>({}, value); }
template <class T>
inline Tensor<T> zeros_like(const Tensor<T>& t) { return zeros<T>(t.shape()); }
template <class T>
inline Tensor<T> ones_like(const Tensor<T>& t) { return ones<T>(t.shape()); }

/// [start, start+step, ...) up to but excluding end.
template <class T>
inline Tensor<T> arange(T start, T end, T step = T(1)) {
    SEAM_CHECK(step != T(0), "arange: step must not be zero");
    double count = std::ceil((static_cast<double>(end) - static_cast<double>(start)) / static_cast<double>(step));
    int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
    Tensor<T> t = empty<T>({n});
    T* p = t.data();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<T>(i) * step);
    return t;
}
template <class T>
inline Tensor<T> arange(T end) { return arange<T>(T(0), end, T(1)); }

/// Copy a row-major vector into a new tensor of the given shape.
template <class T>
inline Tensor<T> from_vector(const std::vector<T>& values, const Shape& shape) {
    SEAM_CHECK(static_cast<int64_t>(values.size()) == numel_of(shape), "from_vector: ", values.size(),
               " values do not fill shape ", shape_str(shape), " (", numel_of(shape), " elements)");
    Tensor<T> t = empty<T>(shape);
    if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(T));
    return t;
}
template <class T>
inline Tensor<T> from_vector(const std::vector<T>& values) {
    return from_vector(values, {static_cast<int64_t>(values.size())});
}

/// Uniform in [low, high), reproducible from the generator state whatever the thread count.
template <class T>
inline Tensor<T> rand(const Shape& shape, Generator& gen = default_generator(), T low = T(0), T high = T(1)) {
    static_assert(std::is_floating_point_v<T>);
    Tensor<T> t = empty<T>(shape);
    const int64_t n = t.numel();
    const uint64_t key = gen.seed(), base = gen.reserve(static_cast<uint64_t>(n));
    T* p = t.data();
    parallel_for(0, n, 4096, [&](int64_t lo, int64_t hi) {
        philox_blocks(key, base, lo, hi, 0, 1, [&](int64_t i, uint32_t a, uint32_t b) {
            p[i] = low + (high - low) * static_cast<T>(uints_to_unit_double(a, b));
        });
    });
    return t;
}

/// Normal(mean, std), reproducible from the generator state whatever the thread count.
template <class T>
inline Tensor<T> randn(const Shape& shape, Generator& gen = default_generator(), T mean = T(0), T std = T(1)) {
    static_assert(std::is_floating_point_v<T>);
    Tensor<T> t = empty<T>(shape);
    const int64_t n = t.numel();
    const uint64_t key = gen.seed(), base = gen.reserve(static_cast<uint64_t>(n));
    T* p = t.data();
    parallel_for(0, n, 4096, [&](int64_t lo, int64_t hi) {
        philox_blocks(key, base, lo, hi, 2, 3, [&](int64_t i, uint32_t a, uint32_t b) {
            double u1 = (static_cast<double>(a) + 1.0) * (1.0 / 4294967296.0);  // (0, 1]
            double u2 = static_cast<double>(b) * (1.0 / 4294967296.0);          // [0, 1)
            p[i] = mean + std * static_cast<T>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
        });
    });
    return t;
}

/// 1 with probability p, else 0.
template <class T>
inline Tensor<T> bernoulli(const Shape& shape, double p, Generator& gen = default_generator()) {
    SEAM_CHECK(p >= 0.0 && p <= 1.0, "bernoulli: probability ", p, " is outside [0, 1]");
    Tensor<T> t = empty<T>(shape);
    const int64_t n = t.numel();
    const uint64_t key = gen.seed(), base = gen.reserve(static_cast<uint64_t>(n));
    T* out = t.data();
    parallel_for(0, n, 4096, [&](int64_t lo, int64_t hi) {
        philox_blocks(key, base, lo, hi, 0, 1, [&](int64_t i, uint32_t a, uint32_t b) {
            out[i] = uints_to_unit_double(a, b) < p ? T(1) : T(0);
        });
    });
    return t;
}

// ----- member definitions that need no autograd ----------------------------------------------

template <class T>
inline Tensor<T>& Tensor<T>::fill_(T value) {
#if SEAM_WITH_CUDA
    if (device().is_cuda()) {
        cuda::DeviceGuard guard(device().index);
        cuda::fill<T>(data(), shape(), strides(), value);
        return *this;
    }
#endif
    require_cpu("fill_");
    T* base = checked().storage->data();
    for_each_row<1>(shape(), {strides()}, [&](const std::array<int64_t, 1>& off, int64_t n,
                                               const std::array<int64_t, 1>& s) {
        T* p = base + offset() + off[0];
        for (int64_t i = 0; i < n; ++i) p[i * s[0]] = value;
    });
    return *this;
}

template <class T>
inline Tensor<T>& Tensor<T>::copy_(const Tensor<T>& src) {
#if SEAM_WITH_CUDA
    if (device().is_cuda() || src.device().is_cuda()) {
        SEAM_CHECK(broadcast_shapes(shape(), src.shape(), "copy_") == shape(), "copy_: source of shape ",
                   shape_str(src.shape()), " cannot be broadcast to destination shape ", shape_str(shape()));
        if (src.device() != device()) return copy_(src.detach().to(device()));  // move it here, then copy locally
        if (src.data() == data() && src.shape() == shape() && src.strides() == strides()) return *this;
        cuda::DeviceGuard guard(device().index);
        cuda::copy<T>(src.data(), broadcast_strides(src.shape(), src.strides(), shape()), data(), strides(), shape());
        return *this;
    }
#endif
    require_cpu("copy_");
    SEAM_CHECK(src.device().is_cpu(), "copy_: source is on ", src.device().str());
    Shape target = broadcast_shapes(shape(), src.shape(), "copy_");
    SEAM_CHECK(target == shape(), "copy_: source of shape ", shape_str(src.shape()),
               " cannot be broadcast to destination shape ", shape_str(shape()));
    Shape src_strides = broadcast_strides(src.shape(), src.strides(), shape());
    T* dst_base = data();
    const T* src_base = src.data();
    if (is_contiguous() && src.is_contiguous() && src.shape() == shape()) {
        if (dst_base != src_base) std::memmove(dst_base, src_base, static_cast<size_t>(numel()) * sizeof(T));
        return *this;
    }
    for_each_row<2>(shape(), {strides(), src_strides}, [&](const std::array<int64_t, 2>& off, int64_t n,
                                                           const std::array<int64_t, 2>& s) {
        T* d = dst_base + off[0];
        const T* q = src_base + off[1];
        for (int64_t i = 0; i < n; ++i) d[i * s[0]] = q[i * s[1]];
    });
    return *this;
}

template <class T>
inline std::vector<T> Tensor<T>::to_vector() const {
    require_cpu("to_vector");
    std::vector<T> out(static_cast<size_t>(numel()));
    if (out.empty()) return out;
    Tensor<T> dst = from_vector(out, shape());
    dst.copy_(*this);
    std::memcpy(out.data(), dst.data(), out.size() * sizeof(T));
    return out;
}

#if !SEAM_WITH_CUDA
template <class T>
inline Tensor<T> Tensor<T>::to(Device device) const {
    if (device == this->device()) return *this;
    if (device.is_cuda()) Device::cuda(device.index);  // throws without the CUDA backend
    fail("Tensor::to(", device.str(), "): copies between ", this->device().str(), " and ", device.str(),
         " need the CUDA backend (seam/cuda)");
}
#endif  // with CUDA, to() is defined at the end of this file (it records a backward)

// ----- printing ----------------------------------------------------------------------------

namespace detail {
template <class T>
inline void print_rec(std::ostream& out, const T* base, const Shape& shape, const Shape& strides, size_t d,
                      int64_t off, int indent) {
    const int64_t edge = 3;  // elements shown at each end of a long dimension
    if (d == shape.size()) {
        if constexpr (std::is_floating_point_v<T>) out << std::setw(10) << std::setprecision(4) << base[off];
        else out << base[off];
        return;
    }
    out << '[';
    int64_t n = shape[d];
    for (int64_t i = 0; i < n; ++i) {
        if (n > 2 * edge + 1 && i == edge) {
            out << (d + 1 == shape.size() ? " ..., " : "...,\n" + std::string(indent + 1, ' '));
            i = n - edge - 1;
            continue;
        }
        print_rec(out, base, shape, strides, d + 1, off + i * strides[d], indent + 1);
        if (i + 1 < n) out << (d + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
    }
    out << ']';
}
}  // namespace detail

template <class T>
inline std::ostream& operator<<(std::ostream& out, const Tensor<T>& t) {
    if (!t.defined()) return out << "tensor(undefined)";
    out << "tensor(";
    if (t.device().is_cpu()) detail::print_rec(out, t.data(), t.shape(), t.strides(), 0, 0, 7);
    else out << "<on " << t.device().str() << ">";
    out << ", shape=" << shape_str(t.shape()) << ", dtype=" << t.dtype();
    if (t.requires_grad()) out << ", requires_grad";
    return out << ')';
}

}  // namespace seam

#include "seam/autograd/node.hpp"
#include "seam/ops/view.hpp"

#if SEAM_WITH_CUDA
namespace seam {

/// Host↔device and device↔device copies go through seam::cuda (pinned staging for the host side).
/// The copy is differentiable: its backward moves the gradient back to the source device, so a
/// CPU leaf used on a GPU receives its gradient on the CPU.
template <class T>
inline Tensor<T> Tensor<T>::to(Device device) const {
    if (device == this->device()) return *this;
    if (device.is_cuda()) Device::cuda(device.index);  // a clear error when that GPU does not exist
    const Device from = this->device();
    Tensor<T> src = detach();
    if (!src.is_contiguous()) {  // make it dense where it is, so one flat copy moves it
        Tensor<T> dense = empty<T>(shape(), from);
        dense.copy_(src);
        src = dense;
    }
    Tensor<T> out = empty<T>(shape(), device);
    const size_t bytes = static_cast<size_t>(numel()) * sizeof(T);
    if (from.is_cpu()) cuda::copy_host_to_device(out.data(), src.data(), bytes, device.index);
    else if (device.is_cpu()) cuda::copy_device_to_host(out.data(), src.data(), bytes, from.index);
    else cuda::copy_device_to_device(out.data(), device.index, src.data(), from.index, bytes);
    if constexpr (std::is_floating_point_v<T>)
        record<T>("to", out, {this}, [from](const Tensor<T>& g) { return std::vector<Tensor<T>>{g.to(from)}; });
    return out;
}

}  // namespace seam
#endif
