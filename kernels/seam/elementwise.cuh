// kernels/seam/elementwise.cuh — pointwise kernels: unary and binary math (forward and backward),
// fill, and the strided copy behind contiguous() and Tensor::to.
//
// What it computes: the op list of include/seam/ops/elementwise.hpp with the CPU's exact rules
// (the same formulas and the same derivative conventions: |x|' = 0 at 0, clamp's gradient is 1
// at the bounds, maximum's ties send the gradient to a, ...), so a CUDA result is compared to the
// CPU one with a float tolerance only.
//   unary:            out[i]  = f(x[i])
//   unary backward:   gx[i]   = g[i] · f'(x[i], y[i])           (y = f(x), one fused pass)
//   binary:           out[i]  = a[i] ∘ b[i]                      (broadcasting through strides)
//   binary backward:  ga[i], gb[i] = g[i] · ∂(a∘b)/∂a, ∂(a∘b)/∂b (at the broadcast shape)
//   fill, copy:       out[i] = v;  dst[i] = src[i]               (any strides on both sides)
//   select:           out[i] = cond[i] ? a[i] : b[i]             (seam::where; cond is uint8,
//                                                                  all three broadcast through strides)
//
// Layouts: every operand is a raw pointer plus element strides over one shared iteration shape;
// a broadcast input has stride 0 in the broadcast dimensions. Outputs of the math kernels are
// contiguous (offset = linear index); fill and copy write through strides. Before launching, the
// host merges neighbouring dimensions that every operand walks contiguously (collapse_dims), so
// the common cases (all dense; [N,C,H,W] ∘ [1,C,1,1]) index with a plain counter or with rank ≤ 3.
//
// Launch shape: one kernel template (elementwise_kernel) for every op: 1-D blocks of 256 threads,
// a grid-stride loop over the n output elements, grid capped at one wave (common.cuh). Each op is
// a small functor; the kernel computes the operands' offsets and calls it.
//
// Versions tried: only this one so far — scalar loads, int64 index arithmetic on the strided path.
// Nothing here has been timed on a GPU yet. When bench/ shows these below 80% of the device's
// copy bandwidth, the first things to try are 16-byte vector loads on the dense path and 32-bit
// index arithmetic when n < 2^31 (64-bit division is many instructions on a GPU).
#pragma once

#include <cstring>

#include "seam/common.cuh"

namespace seam::kernels {

// ----- device math for float and double ------------------------------------------------------------
// Explicit overloads so that a float op never silently runs in double (and the reader sees which
// CUDA function is called). No fast-math intrinsics: accuracy matches the CPU's libm closely.
namespace math {
SEAM_DEVICE float abs(float v) { return fabsf(v); }
SEAM_DEVICE double abs(double v) { return fabs(v); }
SEAM_DEVICE float exp(float v) { return expf(v); }
SEAM_DEVICE double exp(double v) { return ::exp(v); }
SEAM_DEVICE float expm1(float v) { return expm1f(v); }
SEAM_DEVICE double expm1(double v) { return ::expm1(v); }
SEAM_DEVICE float log(float v) { return logf(v); }
SEAM_DEVICE double log(double v) { return ::log(v); }
SEAM_DEVICE float sqrt(float v) { return sqrtf(v); }
SEAM_DEVICE double sqrt(double v) { return ::sqrt(v); }
SEAM_DEVICE float tanh(float v) { return tanhf(v); }
SEAM_DEVICE double tanh(double v) { return ::tanh(v); }
SEAM_DEVICE float erf(float v) { return erff(v); }
SEAM_DEVICE double erf(double v) { return ::erf(v); }
SEAM_DEVICE float pow(float x, float y) { return powf(x, y); }
SEAM_DEVICE double pow(double x, double y) { return ::pow(x, y); }
}  // namespace math

// ----- the one elementwise kernel -------------------------------------------------------------------

/// For every linear index i < n: f(i, offsets of the K strided operands at i).
template <int K, class F>
__global__ void elementwise_kernel(int64_t n, StridedIndexer<K> indexer, F f) {
    SEAM_GRID_STRIDE_LOOP(i, n) {
        int64_t off[K];
        indexer.offsets(i, off);
        f(i, off);
    }
}

template <int K, class F>
inline void launch_elementwise(int64_t n, const StridedIndexer<K>& indexer, const F& f, cudaStream_t stream) {
    if (n == 0) return;
    elementwise_kernel<K, F><<<grid_for(n), kThreads, 0, stream>>>(n, indexer, f);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

// ----- unary ops: value(x) and derivative(x, y = value(x)), the CPU's formulas ----------------------

template <class T> struct NegOp {
    SEAM_DEVICE T value(T v) const { return -v; }
    SEAM_DEVICE T derivative(T, T) const { return T(-1); }
};
template <class T> struct AbsOp {
    SEAM_DEVICE T value(T v) const { return math::abs(v); }
    SEAM_DEVICE T derivative(T v, T) const { return v > T(0) ? T(1) : (v < T(0) ? T(-1) : T(0)); }
};
template <class T> struct ExpOp {
    SEAM_DEVICE T value(T v) const { return math::exp(v); }
    SEAM_DEVICE T derivative(T, T y) const { return y; }
};
template <class T> struct LogOp {
    SEAM_DEVICE T value(T v) const { return math::log(v); }
    SEAM_DEVICE T derivative(T v, T) const { return T(1) / v; }
};
template <class T> struct SqrtOp {
    SEAM_DEVICE T value(T v) const { return math::sqrt(v); }
    SEAM_DEVICE T derivative(T, T y) const { return T(0.5) / y; }
};
template <class T> struct SquareOp {
    SEAM_DEVICE T value(T v) const { return v * v; }
    SEAM_DEVICE T derivative(T v, T) const { return T(2) * v; }
};
template <class T> struct ReluOp {
    SEAM_DEVICE T value(T v) const { return v > T(0) ? v : T(0); }
    SEAM_DEVICE T derivative(T, T y) const { return y > T(0) ? T(1) : T(0); }
};
/// The CPU's stable_sigmoid: never evaluates exp of a large positive number.
template <class T> struct SigmoidOp {
    SEAM_DEVICE T value(T v) const {
        if (v >= T(0)) return T(1) / (T(1) + math::exp(-v));
        const T e = math::exp(v);
        return e / (T(1) + e);
    }
    SEAM_DEVICE T derivative(T, T y) const { return y * (T(1) - y); }
};
template <class T> struct TanhOp {
    SEAM_DEVICE T value(T v) const { return math::tanh(v); }
    SEAM_DEVICE T derivative(T, T y) const { return T(1) - y * y; }
};
/// Exact GELU, x · Φ(x) (PyTorch's approximate='none').
template <class T> struct GeluOp {
    static constexpr T inv_sqrt2 = T(0.70710678118654752440);
    static constexpr T inv_sqrt_2pi = T(0.39894228040143267794);
    SEAM_DEVICE T value(T v) const { return T(0.5) * v * (T(1) + math::erf(v * inv_sqrt2)); }
    SEAM_DEVICE T derivative(T v, T) const {
        const T cdf = T(0.5) * (T(1) + math::erf(v * inv_sqrt2));
        return cdf + v * inv_sqrt_2pi * math::exp(T(-0.5) * v * v);
    }
};
template <class T> struct AddScalarOp {
    T s;
    SEAM_DEVICE T value(T v) const { return v + s; }
    SEAM_DEVICE T derivative(T, T) const { return T(1); }
};
template <class T> struct MulScalarOp {
    T s;
    SEAM_DEVICE T value(T v) const { return v * s; }
    SEAM_DEVICE T derivative(T, T) const { return s; }
};
template <class T> struct PowScalarOp {
    T p;
    SEAM_DEVICE T value(T v) const { return math::pow(v, p); }
    SEAM_DEVICE T derivative(T v, T) const { return p * math::pow(v, p - T(1)); }
};
template <class T> struct ClampOp {
    T lo, hi;
    SEAM_DEVICE T value(T v) const { return v < lo ? lo : (v > hi ? hi : v); }
    SEAM_DEVICE T derivative(T v, T) const { return (v >= lo && v <= hi) ? T(1) : T(0); }
};
template <class T> struct LeakyReluOp {
    T slope;
    SEAM_DEVICE T value(T v) const { return v > T(0) ? v : slope * v; }
    SEAM_DEVICE T derivative(T v, T) const { return v > T(0) ? T(1) : slope; }
};
template <class T> struct EluOp {
    T alpha;
    SEAM_DEVICE T value(T v) const { return v > T(0) ? v : alpha * math::expm1(v); }
    SEAM_DEVICE T derivative(T v, T y) const { return v > T(0) ? T(1) : y + alpha; }
};

/// Call visit(op functor) for the runtime op code (host side: picks the kernel instantiation).
template <class T, class Visit>
inline void visit_unary_op(seam::cuda::UnaryOp op, T a, T b, Visit&& visit) {
    using U = seam::cuda::UnaryOp;
    switch (op) {
        case U::neg: return visit(NegOp<T>{});
        case U::abs: return visit(AbsOp<T>{});
        case U::exp: return visit(ExpOp<T>{});
        case U::log: return visit(LogOp<T>{});
        case U::sqrt: return visit(SqrtOp<T>{});
        case U::square: return visit(SquareOp<T>{});
        case U::relu: return visit(ReluOp<T>{});
        case U::sigmoid: return visit(SigmoidOp<T>{});
        case U::tanh: return visit(TanhOp<T>{});
        case U::gelu: return visit(GeluOp<T>{});
        case U::add_scalar: return visit(AddScalarOp<T>{a});
        case U::mul_scalar: return visit(MulScalarOp<T>{a});
        case U::pow_scalar: return visit(PowScalarOp<T>{a});
        case U::clamp: return visit(ClampOp<T>{a, b});
        case U::leaky_relu: return visit(LeakyReluOp<T>{a});
        case U::elu: return visit(EluOp<T>{a});
    }
    seam::fail("CUDA unary: unknown op code ", static_cast<int>(op));
}

template <class T, class Op>
struct UnaryForward {
    Op op;
    const T* x;
    T* out;
    SEAM_DEVICE void operator()(int64_t i, const int64_t (&off)[1]) const { out[i] = op.value(x[off[0]]); }
};

template <class T, class Op>
struct UnaryBackward {
    Op op;
    const T* grad;
    const T* x;
    const T* y;
    T* grad_x;
    SEAM_DEVICE void operator()(int64_t i, const int64_t (&off)[3]) const {
        grad_x[i] = grad[off[0]] * op.derivative(x[off[1]], y[off[2]]);
    }
};

template <class T>
inline void unary_forward(seam::cuda::UnaryOp op, T a, T b, const T* x, const Shape& shape, const Shape& x_strides,
                          T* out, cudaStream_t stream) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    const auto indexer = make_indexer<1>(seam::cuda::op_name(op), shape, {x_strides});
    visit_unary_op<T>(op, a, b, [&](auto f) {
        launch_elementwise(n, indexer, UnaryForward<T, decltype(f)>{f, x, out}, stream);
    });
}

template <class T>
inline void unary_backward(seam::cuda::UnaryOp op, T a, T b, const T* grad, const Shape& grad_strides, const T* x,
                           const Shape& x_strides, const T* y, const Shape& y_strides, const Shape& shape, T* grad_x,
                           cudaStream_t stream) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    const auto indexer = make_indexer<3>(seam::cuda::op_name(op), shape, {grad_strides, x_strides, y_strides});
    visit_unary_op<T>(op, a, b, [&](auto f) {
        launch_elementwise(n, indexer, UnaryBackward<T, decltype(f)>{f, grad, x, y, grad_x}, stream);
    });
}

// ----- binary ops: value(a, b) and gradients(g, a, b, y) -> (ga, gb), the CPU's rules ----------------

template <class T> struct AddOp {
    SEAM_DEVICE T value(T a, T b) const { return a + b; }
    SEAM_DEVICE void gradients(T g, T, T, T, T& ga, T& gb) const { ga = g, gb = g; }
};
template <class T> struct SubOp {
    SEAM_DEVICE T value(T a, T b) const { return a - b; }
    SEAM_DEVICE void gradients(T g, T, T, T, T& ga, T& gb) const { ga = g, gb = -g; }
};
template <class T> struct MulOp {
    SEAM_DEVICE T value(T a, T b) const { return a * b; }
    SEAM_DEVICE void gradients(T g, T a, T b, T, T& ga, T& gb) const { ga = g * b, gb = g * a; }
};
/// d(a/b)/db = -a/b² = -y/b, computed as the CPU does: -g · (y / b).
template <class T> struct DivOp {
    SEAM_DEVICE T value(T a, T b) const { return a / b; }
    SEAM_DEVICE void gradients(T g, T, T b, T y, T& ga, T& gb) const { ga = g / b, gb = -g * (y / b); }
};
/// Ties send the gradient to a.
template <class T> struct MaximumOp {
    SEAM_DEVICE T value(T a, T b) const { return a >= b ? a : b; }
    SEAM_DEVICE void gradients(T g, T a, T b, T, T& ga, T& gb) const {
        const T m = T(a >= b);
        ga = g * m, gb = g * (T(1) - m);
    }
};
template <class T> struct MinimumOp {
    SEAM_DEVICE T value(T a, T b) const { return a <= b ? a : b; }
    SEAM_DEVICE void gradients(T g, T a, T b, T, T& ga, T& gb) const {
        const T m = T(a <= b);
        ga = g * m, gb = g * (T(1) - m);
    }
};
/// d/da = b · a^(b-1); d/db = a^b · log a (0 where a ≤ 0).
template <class T> struct PowOp {
    SEAM_DEVICE T value(T a, T b) const { return math::pow(a, b); }
    SEAM_DEVICE void gradients(T g, T a, T b, T y, T& ga, T& gb) const {
        ga = g * (b * math::pow(a, b - T(1)));
        gb = g * (a > T(0) ? y * math::log(a) : T(0));
    }
};

template <class T, class Visit>
inline void visit_binary_op(seam::cuda::BinaryOp op, Visit&& visit) {
    using B = seam::cuda::BinaryOp;
    switch (op) {
        case B::add: return visit(AddOp<T>{});
        case B::sub: return visit(SubOp<T>{});
        case B::mul: return visit(MulOp<T>{});
        case B::div: return visit(DivOp<T>{});
        case B::maximum: return visit(MaximumOp<T>{});
        case B::minimum: return visit(MinimumOp<T>{});
        case B::pow: return visit(PowOp<T>{});
    }
    seam::fail("CUDA binary: unknown op code ", static_cast<int>(op));
}

template <class T, class Op>
struct BinaryForward {
    Op op;
    const T* a;
    const T* b;
    T* out;
    SEAM_DEVICE void operator()(int64_t i, const int64_t (&off)[2]) const { out[i] = op.value(a[off[0]], b[off[1]]); }
};

/// y may be null (ops that do not need it); grad_a / grad_b may be null (not wanted).
template <class T, class Op>
struct BinaryBackward {
    Op op;
    const T* grad;
    const T* a;
    const T* b;
    const T* y;
    T* grad_a;
    T* grad_b;
    SEAM_DEVICE void operator()(int64_t i, const int64_t (&off)[4]) const {
        T ga, gb;
        op.gradients(grad[off[0]], a[off[1]], b[off[2]], y ? y[off[3]] : T(0), ga, gb);
        if (grad_a) grad_a[i] = ga;
        if (grad_b) grad_b[i] = gb;
    }
};

template <class T>
inline void binary_forward(seam::cuda::BinaryOp op, const T* a, const Shape& a_strides, const T* b,
                           const Shape& b_strides, const Shape& shape, T* out, cudaStream_t stream) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    const auto indexer = make_indexer<2>(seam::cuda::op_name(op), shape, {a_strides, b_strides});
    visit_binary_op<T>(op, [&](auto f) { launch_elementwise(n, indexer, BinaryForward<T, decltype(f)>{f, a, b, out}, stream); });
}

template <class T>
inline void binary_backward(seam::cuda::BinaryOp op, const T* grad, const Shape& grad_strides, const T* a,
                            const Shape& a_strides, const T* b, const Shape& b_strides, const T* y,
                            const Shape& y_strides, const Shape& shape, T* grad_a, T* grad_b, cudaStream_t stream) {
    using B = seam::cuda::BinaryOp;
    const int64_t n = numel_of(shape);
    if (n == 0 || (!grad_a && !grad_b)) return;
    SEAM_CHECK(y || !((op == B::div || op == B::pow) && grad_b), seam::cuda::op_name(op),
               " backward: the forward output y is needed for the gradient of b");
    // A missing y is never read; give it stride 0 so the indexer still has a valid layout.
    const Shape y_layout = y ? y_strides : Shape(shape.size(), 0);
    const auto indexer = make_indexer<4>(seam::cuda::op_name(op), shape, {grad_strides, a_strides, b_strides, y_layout});
    visit_binary_op<T>(op, [&](auto f) {
        launch_elementwise(n, indexer, BinaryBackward<T, decltype(f)>{f, grad, a, b, y, grad_a, grad_b}, stream);
    });
}

// ----- fill and copy -----------------------------------------------------------------------------------

template <class T>
struct FillValue {
    T* out;
    T value;
    SEAM_DEVICE void operator()(int64_t, const int64_t (&off)[1]) const { out[off[0]] = value; }
};

template <class T>
struct CopyElement {
    const T* src;
    T* dst;
    SEAM_DEVICE void operator()(int64_t, const int64_t (&off)[2]) const { dst[off[1]] = src[off[0]]; }
};

template <class T>
inline void fill(T* out, const Shape& shape, const Shape& out_strides, T value, cudaStream_t stream) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    const auto indexer = make_indexer<1>("fill", shape, {out_strides});
    const T zero{};
    if (indexer.contiguous && std::memcmp(&value, &zero, sizeof(T)) == 0) {  // all-zero bytes (not -0.0)
        SEAM_CUDA_CHECK(cudaMemsetAsync(out, 0, static_cast<size_t>(n) * sizeof(T), stream));
        return;
    }
    launch_elementwise(n, indexer, FillValue<T>{out, value}, stream);
}

template <class T>
inline void copy(const T* src, const Shape& src_strides, T* dst, const Shape& dst_strides, const Shape& shape,
                 cudaStream_t stream) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    const auto indexer = make_indexer<2>("copy", shape, {src_strides, dst_strides});
    if (indexer.contiguous) {  // both dense: the copy engine does it
        SEAM_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(T), cudaMemcpyDeviceToDevice, stream));
        return;
    }
    launch_elementwise(n, indexer, CopyElement<T>{src, dst}, stream);
}

// ----- select (where) -------------------------------------------------------------------------------
// A copy, not arithmetic: cond ? a : b picks one operand's bits, so -inf or NaN in the operand not
// chosen never leaks into the result (a blend cond·a + (1-cond)·b would give NaN for inf·0).

template <class T>
struct SelectElement {
    const uint8_t* cond;
    const T* a;
    const T* b;
    T* out;
    SEAM_DEVICE void operator()(int64_t, const int64_t (&off)[4]) const {
        out[off[3]] = cond[off[0]] ? a[off[1]] : b[off[2]];
    }
};

/// out (contiguous over `shape`) = cond ? a : b, every input read through its (broadcast) strides.
template <class T>
inline void select(const uint8_t* cond, const Shape& cond_strides, const T* a, const Shape& a_strides, const T* b,
                   const Shape& b_strides, const Shape& shape, T* out, cudaStream_t stream) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    Shape out_strides(shape.size(), 1);
    for (size_t d = shape.size(); d-- > 1;) out_strides[d - 1] = out_strides[d] * shape[d];
    const auto indexer = make_indexer<4>("where", shape, {cond_strides, a_strides, b_strides, out_strides});
    launch_elementwise(n, indexer, SelectElement<T>{cond, a, b, out}, stream);
}

}  // namespace seam::kernels
