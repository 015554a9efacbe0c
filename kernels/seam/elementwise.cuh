// kernels/seam/elementwise.cuh — pointwise kernels: unary and binary math (forward and backward),
// fill, select (where), comparisons (uint8 masks), and the strided copy behind contiguous() and
// Tensor::to.
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
// An output may be one of the inputs (in-place ops: reduce.hpp scales a sum where it lies): every
// element is read and then written by the same thread, so no pointer is __restrict__.
//
// Launch shapes — two kernels; the host picks one per call (launch plans are host code):
//   dense (version 2): every operand dense after collapse_dims and every pointer 16-byte aligned
//     (a mask operand: aligned to its share of a vector). The n elements are cut into vectors of
//     16 bytes (4 floats, 2 doubles, ...; the last vector may be partial); a tile is kDenseUnroll ×
//     256 vectors; a block of 256 threads takes tiles blockIdx.x, + gridDim.x, ... (at most
//     kDenseWaves waves of blocks, so a huge n needs no huge grid). In a tile, thread t owns
//     vectors t, t + 256, t + 512, t + 768 (each step of the warp reads 512 adjacent bytes): it
//     issues all its vector loads first, then computes and stores; the partial vector at the end
//     is done element by element by the thread that owns it. Indices are 32-bit when n < 2^31.
//     The per-thread work is dense_tile (host-callable: tests/cuda/test_elementwise_kernel_logic.cu
//     runs it for every thread of a launch on the CPU). The binary forward also takes this path
//     when one operand is dense and the other a channel broadcast — element i reads
//     p[(i / inner) % channels]: a bias [1,C,1,1] over [N,C,H,W] (inner = H·W), a row [C] over
//     [R,C] (inner = 1) or a scalar (channels = 1) — read with scalar loads (it is small and
//     stays in cache), the dense operand and the output with vector loads and stores.
//   strided (version 1, and every layout the dense kernel does not take): one kernel template
//     (elementwise_kernel) for every op: 1-D blocks of 256 threads, a grid-stride loop over the n
//     output elements, grid capped at one wave (common.cuh); each op is a small functor; the
//     kernel computes the operands' offsets (int64 arithmetic, one div/mod per dimension) and
//     calls it.
// The environment variable SEAM_ELEMENTWISE_VERSION=1 makes every call take version 1 (for
// bench/bench_elementwise_cuda and for study); unset, version 2 runs.
//
// Versions tried (256 MiB float tensors [65536, 1024] on an NVIDIA H100 80GB HBM3, as a fraction of
// seam's device copy at 2785 GB/s; bench/results/gpu-h100-2026-11-27-run3.md):
//   1. strided kernel for everything: scalar loads, one wave of blocks, int64 index arithmetic and
//      a run-time `contiguous` branch per element. relu 62 % (0.309 ms), x + y 75 % (0.387 ms),
//      x * 2 + 1 as two ops 63 % (0.611 ms). One 4-byte load in flight per thread and ~270k
//      threads in a wave keep about 1 MB in flight, short of what HBM3 needs to stay busy
//      (bandwidth × latency ≈ 3.35 TB/s × ~0.6-0.8 µs ≈ 2-3 MB).
//   2. the dense kernel above (default): 16-byte vectors, four per thread issued before any math,
//      32-bit indices, no per-element layout branch: 64 bytes in flight per thread per operand.
//      Measured on an NVIDIA H200 (bench/results/gpu-h200-2026-11-27-run1.md and -run3.md, against
//      seam's copy at 3.82-3.85 TB/s): relu 95 %, x + y 104-105 %, x * 2 + 1 98-99 %, bias add
//      95 % (version 1 in the same runs: 51-52 %, 64-65 %, 52-53 %, 29 %).
#pragma once

#include <cstring>
#include <initializer_list>

#include "seam/common.cuh"

namespace seam::kernels {

// ----- device math for float and double ------------------------------------------------------------
// Explicit overloads so that a float op never silently runs in double (and the reader sees which
// CUDA function is called). No fast-math intrinsics: accuracy matches the CPU's libm closely.
namespace math {
SEAM_HOST_DEVICE float abs(float v) { return fabsf(v); }
SEAM_HOST_DEVICE double abs(double v) { return fabs(v); }
SEAM_HOST_DEVICE float exp(float v) { return expf(v); }
SEAM_HOST_DEVICE double exp(double v) { return ::exp(v); }
SEAM_HOST_DEVICE float expm1(float v) { return expm1f(v); }
SEAM_HOST_DEVICE double expm1(double v) { return ::expm1(v); }
SEAM_HOST_DEVICE float log(float v) { return logf(v); }
SEAM_HOST_DEVICE double log(double v) { return ::log(v); }
SEAM_HOST_DEVICE float sqrt(float v) { return sqrtf(v); }
SEAM_HOST_DEVICE double sqrt(double v) { return ::sqrt(v); }
SEAM_HOST_DEVICE float tanh(float v) { return tanhf(v); }
SEAM_HOST_DEVICE double tanh(double v) { return ::tanh(v); }
SEAM_HOST_DEVICE float erf(float v) { return erff(v); }
SEAM_HOST_DEVICE double erf(double v) { return ::erf(v); }
SEAM_HOST_DEVICE float pow(float x, float y) { return powf(x, y); }
SEAM_HOST_DEVICE double pow(double x, double y) { return ::pow(x, y); }
}  // namespace math

// ----- the strided kernel (version 1; any layout) -------------------------------------------------------

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

// ----- version 2: the dense kernel ------------------------------------------------------------------
// A body describes one op on dense operands for dense_tile:
//   kVec                         elements per vector (16 bytes of the op's element type)
//   Regs                         what one vector's loads hold
//   load(i, regs)                the vector loads of elements [i, i + kVec) (no math)
//   store(i, regs)               the math of those elements and their vector stores
//   scalar(i)                    element i alone, scalar loads and store (the partial last vector)
// All three are host-callable, so the host runs exactly the kernel's per-thread code.

inline constexpr int kDenseUnroll = 4;                     // vectors per thread per tile
inline constexpr int kDenseTile = kThreads * kDenseUnroll;  // vectors per tile
inline constexpr int kDenseWaves = 4;                      // grid cap, in waves of 2048-thread SMs

/// Thread `thread` of the block that takes tile `tile`: vectors j = tile·kDenseTile + thread +
/// u·kThreads (u < kDenseUnroll) of the n elements; vector j covers elements [j·kVec, j·kVec + kVec).
/// Whole vectors: all loads first, then math and stores. The vector j = n / kVec, when n is not a
/// multiple of kVec, is partial: its owner does its elements one by one. I: uint32_t (n < 2^31)
/// or int64_t.
template <class I, class Body>
SEAM_HOST_DEVICE void dense_tile(const Body& body, I n, I tile, unsigned thread) {
    constexpr int V = Body::kVec;
    const I whole = n / V;
    const I first = tile * I(kDenseTile) + I(thread);
    typename Body::Regs regs[kDenseUnroll];
SEAM_UNROLL
    for (int u = 0; u < kDenseUnroll; ++u) {
        const I j = first + I(u) * I(kThreads);
        if (j < whole) body.load(j * V, regs[u]);
    }
SEAM_UNROLL
    for (int u = 0; u < kDenseUnroll; ++u) {
        const I j = first + I(u) * I(kThreads);
        if (j < whole) body.store(j * V, regs[u]);
    }
SEAM_UNROLL
    for (int u = 0; u < kDenseUnroll; ++u) {
        const I j = first + I(u) * I(kThreads);
        if (j == whole)
            for (I i = whole * V; i < n; ++i) body.scalar(i);
    }
}

template <class I, class Body>
__global__ void __launch_bounds__(kThreads) dense_kernel(Body body, I n, I tiles) {
    for (I tile = blockIdx.x; tile < tiles; tile += gridDim.x) dense_tile<I>(body, n, tile, threadIdx.x);
}

/// The dense kernel's grid for n elements in vectors of `vec`: tiles (the vector slots, a partial
/// last one included, in groups of kDenseTile) and blocks (at most kDenseWaves waves). Host code.
struct DenseGrid {
    int64_t tiles = 0;
    int64_t blocks = 0;
    bool index32 = true;  // n < 2^31: the kernel counts in uint32_t
};
inline DenseGrid plan_dense(int64_t n, int vec, int multiprocessors) {
    DenseGrid g;
    g.tiles = ceil_div(ceil_div(n, vec), kDenseTile);
    const int64_t cap = int64_t(multiprocessors) * (2048 / kThreads) * kDenseWaves;
    g.blocks = std::max<int64_t>(1, std::min(g.tiles, cap));
    g.index32 = n < (int64_t(1) << 31);
    return g;
}

/// Where the launchers below send their work on the GPU (the tests send it to a host emulation
/// with the same members instead): version, and the two kernels plus the copy engine.
struct DeviceElementwise {
    cudaStream_t stream;
    int version = kernel_version("SEAM_ELEMENTWISE_VERSION", 2);

    template <int K, class F>
    void strided(int64_t n, const StridedIndexer<K>& indexer, const F& f) const {
        launch_elementwise(n, indexer, f, stream);
    }
    template <class Body>
    void dense(int64_t n, const Body& body) const {
        if (n == 0) return;
        const DenseGrid g = plan_dense(n, Body::kVec, multiprocessor_count());
        const unsigned blocks = static_cast<unsigned>(g.blocks);
        if (g.index32)
            dense_kernel<uint32_t, Body><<<blocks, kThreads, 0, stream>>>(body, uint32_t(n), uint32_t(g.tiles));
        else
            dense_kernel<int64_t, Body><<<blocks, kThreads, 0, stream>>>(body, n, g.tiles);
        SEAM_CUDA_CHECK(cudaGetLastError());
    }
    void zero_bytes(void* p, size_t bytes) const { SEAM_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream)); }
    void copy_bytes(void* dst, const void* src, size_t bytes) const {
        SEAM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
    }
};

/// Are all these pointers 16-byte aligned (null ones: not used, so yes)?
inline bool all_aligned16(std::initializer_list<const void*> ptrs) {
    for (const void* p : ptrs)
        if (!is_aligned(p, 16)) return false;
    return true;
}

// ----- unary ops: value(x) and derivative(x, y = value(x)), the CPU's formulas ----------------------

template <class T> struct NegOp {
    SEAM_HOST_DEVICE T value(T v) const { return -v; }
    SEAM_HOST_DEVICE T derivative(T, T) const { return T(-1); }
};
template <class T> struct AbsOp {
    SEAM_HOST_DEVICE T value(T v) const { return math::abs(v); }
    SEAM_HOST_DEVICE T derivative(T v, T) const { return v > T(0) ? T(1) : (v < T(0) ? T(-1) : T(0)); }
};
template <class T> struct ExpOp {
    SEAM_HOST_DEVICE T value(T v) const { return math::exp(v); }
    SEAM_HOST_DEVICE T derivative(T, T y) const { return y; }
};
template <class T> struct LogOp {
    SEAM_HOST_DEVICE T value(T v) const { return math::log(v); }
    SEAM_HOST_DEVICE T derivative(T v, T) const { return T(1) / v; }
};
template <class T> struct SqrtOp {
    SEAM_HOST_DEVICE T value(T v) const { return math::sqrt(v); }
    SEAM_HOST_DEVICE T derivative(T, T y) const { return T(0.5) / y; }
};
template <class T> struct SquareOp {
    SEAM_HOST_DEVICE T value(T v) const { return v * v; }
    SEAM_HOST_DEVICE T derivative(T v, T) const { return T(2) * v; }
};
template <class T> struct ReluOp {
    SEAM_HOST_DEVICE T value(T v) const { return v > T(0) ? v : T(0); }
    SEAM_HOST_DEVICE T derivative(T, T y) const { return y > T(0) ? T(1) : T(0); }
};
/// The CPU's stable_sigmoid: never evaluates exp of a large positive number.
template <class T> struct SigmoidOp {
    SEAM_HOST_DEVICE T value(T v) const {
        if (v >= T(0)) return T(1) / (T(1) + math::exp(-v));
        const T e = math::exp(v);
        return e / (T(1) + e);
    }
    SEAM_HOST_DEVICE T derivative(T, T y) const { return y * (T(1) - y); }
};
template <class T> struct TanhOp {
    SEAM_HOST_DEVICE T value(T v) const { return math::tanh(v); }
    SEAM_HOST_DEVICE T derivative(T, T y) const { return T(1) - y * y; }
};
/// Exact GELU, x · Φ(x) (PyTorch's approximate='none').
template <class T> struct GeluOp {
    static constexpr T inv_sqrt2 = T(0.70710678118654752440);
    static constexpr T inv_sqrt_2pi = T(0.39894228040143267794);
    SEAM_HOST_DEVICE T value(T v) const { return T(0.5) * v * (T(1) + math::erf(v * inv_sqrt2)); }
    SEAM_HOST_DEVICE T derivative(T v, T) const {
        const T cdf = T(0.5) * (T(1) + math::erf(v * inv_sqrt2));
        return cdf + v * inv_sqrt_2pi * math::exp(T(-0.5) * v * v);
    }
};
template <class T> struct AddScalarOp {
    T s;
    SEAM_HOST_DEVICE T value(T v) const { return v + s; }
    SEAM_HOST_DEVICE T derivative(T, T) const { return T(1); }
};
template <class T> struct MulScalarOp {
    T s;
    SEAM_HOST_DEVICE T value(T v) const { return v * s; }
    SEAM_HOST_DEVICE T derivative(T, T) const { return s; }
};
template <class T> struct PowScalarOp {
    T p;
    SEAM_HOST_DEVICE T value(T v) const { return math::pow(v, p); }
    SEAM_HOST_DEVICE T derivative(T v, T) const { return p * math::pow(v, p - T(1)); }
};
template <class T> struct ClampOp {
    T lo, hi;
    SEAM_HOST_DEVICE T value(T v) const { return v < lo ? lo : (v > hi ? hi : v); }
    SEAM_HOST_DEVICE T derivative(T v, T) const { return (v >= lo && v <= hi) ? T(1) : T(0); }
};
template <class T> struct LeakyReluOp {
    T slope;
    SEAM_HOST_DEVICE T value(T v) const { return v > T(0) ? v : slope * v; }
    SEAM_HOST_DEVICE T derivative(T v, T) const { return v > T(0) ? T(1) : slope; }
};
template <class T> struct EluOp {
    T alpha;
    SEAM_HOST_DEVICE T value(T v) const { return v > T(0) ? v : alpha * math::expm1(v); }
    SEAM_HOST_DEVICE T derivative(T v, T y) const { return v > T(0) ? T(1) : y + alpha; }
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
    SEAM_HOST_DEVICE void operator()(int64_t i, const int64_t (&off)[1]) const { out[i] = op.value(x[off[0]]); }
};

template <class T, class Op>
struct UnaryBackward {
    Op op;
    const T* grad;
    const T* x;
    const T* y;
    T* grad_x;
    SEAM_HOST_DEVICE void operator()(int64_t i, const int64_t (&off)[3]) const {
        grad_x[i] = grad[off[0]] * op.derivative(x[off[1]], y[off[2]]);
    }
};

/// Dense body (version 2): out = op.value(x).
template <class T, class Op>
struct DenseUnary {
    static constexpr int kVec = kVecOf<T>;
    struct Regs {
        Vec<T, kVec> x;
    };
    Op op;
    const T* x;
    T* out;
    template <class I>
    SEAM_HOST_DEVICE void load(I i, Regs& r) const { r.x = load_vec<kVec>(x + i); }
    template <class I>
    SEAM_HOST_DEVICE void store(I i, const Regs& r) const {
        Vec<T, kVec> y;
SEAM_UNROLL
        for (int e = 0; e < kVec; ++e) y.v[e] = op.value(r.x.v[e]);
        store_vec<kVec>(out + i, y);
    }
    template <class I>
    SEAM_HOST_DEVICE void scalar(I i) const { out[i] = op.value(x[i]); }
};

/// Dense body (version 2): grad_x = grad · op.derivative(x, y).
template <class T, class Op>
struct DenseUnaryBackward {
    static constexpr int kVec = kVecOf<T>;
    struct Regs {
        Vec<T, kVec> g, x, y;
    };
    Op op;
    const T* grad;
    const T* x;
    const T* y;
    T* grad_x;
    template <class I>
    SEAM_HOST_DEVICE void load(I i, Regs& r) const {
        r.g = load_vec<kVec>(grad + i);
        r.x = load_vec<kVec>(x + i);
        r.y = load_vec<kVec>(y + i);
    }
    template <class I>
    SEAM_HOST_DEVICE void store(I i, const Regs& r) const {
        Vec<T, kVec> gx;
SEAM_UNROLL
        for (int e = 0; e < kVec; ++e) gx.v[e] = r.g.v[e] * op.derivative(r.x.v[e], r.y.v[e]);
        store_vec<kVec>(grad_x + i, gx);
    }
    template <class I>
    SEAM_HOST_DEVICE void scalar(I i) const { grad_x[i] = grad[i] * op.derivative(x[i], y[i]); }
};

/// unary_forward on any executor (DeviceElementwise on the GPU; the tests' host emulation).
template <class T, class Exec>
inline void unary_forward_on(const Exec& exec, seam::cuda::UnaryOp op, T a, T b, const T* x, const Shape& shape,
                             const Shape& x_strides, T* out) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    const auto indexer = make_indexer<1>(seam::cuda::op_name(op), shape, {x_strides});
    const bool dense = exec.version >= 2 && indexer.contiguous && all_aligned16({x, out});
    visit_unary_op<T>(op, a, b, [&](auto f) {
        if (dense) exec.dense(n, DenseUnary<T, decltype(f)>{f, x, out});
        else exec.strided(n, indexer, UnaryForward<T, decltype(f)>{f, x, out});
    });
}

template <class T>
inline void unary_forward(seam::cuda::UnaryOp op, T a, T b, const T* x, const Shape& shape, const Shape& x_strides,
                          T* out, cudaStream_t stream) {
    unary_forward_on<T>(DeviceElementwise{stream}, op, a, b, x, shape, x_strides, out);
}

template <class T, class Exec>
inline void unary_backward_on(const Exec& exec, seam::cuda::UnaryOp op, T a, T b, const T* grad,
                              const Shape& grad_strides, const T* x, const Shape& x_strides, const T* y,
                              const Shape& y_strides, const Shape& shape, T* grad_x) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    const auto indexer = make_indexer<3>(seam::cuda::op_name(op), shape, {grad_strides, x_strides, y_strides});
    const bool dense = exec.version >= 2 && indexer.contiguous && all_aligned16({grad, x, y, grad_x});
    visit_unary_op<T>(op, a, b, [&](auto f) {
        if (dense) exec.dense(n, DenseUnaryBackward<T, decltype(f)>{f, grad, x, y, grad_x});
        else exec.strided(n, indexer, UnaryBackward<T, decltype(f)>{f, grad, x, y, grad_x});
    });
}

template <class T>
inline void unary_backward(seam::cuda::UnaryOp op, T a, T b, const T* grad, const Shape& grad_strides, const T* x,
                           const Shape& x_strides, const T* y, const Shape& y_strides, const Shape& shape, T* grad_x,
                           cudaStream_t stream) {
    unary_backward_on<T>(DeviceElementwise{stream}, op, a, b, grad, grad_strides, x, x_strides, y, y_strides, shape,
                         grad_x);
}

// ----- binary ops: value(a, b) and gradients(g, a, b, y) -> (ga, gb), the CPU's rules ----------------

template <class T> struct AddOp {
    SEAM_HOST_DEVICE T value(T a, T b) const { return a + b; }
    SEAM_HOST_DEVICE void gradients(T g, T, T, T, T& ga, T& gb) const { ga = g, gb = g; }
};
template <class T> struct SubOp {
    SEAM_HOST_DEVICE T value(T a, T b) const { return a - b; }
    SEAM_HOST_DEVICE void gradients(T g, T, T, T, T& ga, T& gb) const { ga = g, gb = -g; }
};
template <class T> struct MulOp {
    SEAM_HOST_DEVICE T value(T a, T b) const { return a * b; }
    SEAM_HOST_DEVICE void gradients(T g, T a, T b, T, T& ga, T& gb) const { ga = g * b, gb = g * a; }
};
/// d(a/b)/db = -a/b² = -y/b, computed as the CPU does: -g · (y / b).
template <class T> struct DivOp {
    SEAM_HOST_DEVICE T value(T a, T b) const { return a / b; }
    SEAM_HOST_DEVICE void gradients(T g, T, T b, T y, T& ga, T& gb) const { ga = g / b, gb = -g * (y / b); }
};
/// Ties send the gradient to a.
template <class T> struct MaximumOp {
    SEAM_HOST_DEVICE T value(T a, T b) const { return a >= b ? a : b; }
    SEAM_HOST_DEVICE void gradients(T g, T a, T b, T, T& ga, T& gb) const {
        const T m = T(a >= b);
        ga = g * m, gb = g * (T(1) - m);
    }
};
template <class T> struct MinimumOp {
    SEAM_HOST_DEVICE T value(T a, T b) const { return a <= b ? a : b; }
    SEAM_HOST_DEVICE void gradients(T g, T a, T b, T, T& ga, T& gb) const {
        const T m = T(a <= b);
        ga = g * m, gb = g * (T(1) - m);
    }
};
/// d/da = b · a^(b-1); d/db = a^b · log a (0 where a ≤ 0).
template <class T> struct PowOp {
    SEAM_HOST_DEVICE T value(T a, T b) const { return math::pow(a, b); }
    SEAM_HOST_DEVICE void gradients(T g, T a, T b, T y, T& ga, T& gb) const {
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
    SEAM_HOST_DEVICE void operator()(int64_t i, const int64_t (&off)[2]) const { out[i] = op.value(a[off[0]], b[off[1]]); }
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
    SEAM_HOST_DEVICE void operator()(int64_t i, const int64_t (&off)[4]) const {
        T ga, gb;
        op.gradients(grad[off[0]], a[off[1]], b[off[2]], y ? y[off[3]] : T(0), ga, gb);
        if (grad_a) grad_a[i] = ga;
        if (grad_b) grad_b[i] = gb;
    }
};

/// A binary operand on the dense path: dense (element i at p[i]), or a channel broadcast
/// (element i at p[(i / inner) % channels]).
enum class Operand { dense, channel };

/// Channel-broadcast elements [i, i + V): one division pair for the vector, then a carried
/// (channel, position-in-channel) counter. Scalar loads: the operand is small and cached.
template <int V, class T, class I>
SEAM_HOST_DEVICE Vec<T, V> load_channel(const T* p, I i, I inner, I channels) {
    const I q = i / inner;
    I r = i - q * inner;
    I c = q % channels;
    Vec<T, V> v;
SEAM_UNROLL
    for (int e = 0; e < V; ++e) {
        v.v[e] = p[c];
        if (++r == inner) {
            r = 0;
            if (++c == channels) c = 0;
        }
    }
    return v;
}

/// Dense body (version 2): out = op.value(a, b), each operand dense or a channel broadcast (at
/// most one of them: the launcher sends two broadcast operands to the strided kernel).
template <class T, class Op, Operand A, Operand B>
struct DenseBinary {
    static constexpr int kVec = kVecOf<T>;
    struct Regs {
        Vec<T, kVec> a, b;
    };
    Op op;
    const T* a;
    const T* b;
    T* out;
    int64_t inner = 1, channels = 1;  // of the broadcast operand
    template <Operand K, class I>
    SEAM_HOST_DEVICE Vec<T, kVec> load_operand(const T* p, I i) const {
        if constexpr (K == Operand::dense) return load_vec<kVec>(p + i);
        else return load_channel<kVec>(p, i, I(inner), I(channels));
    }
    template <Operand K, class I>
    SEAM_HOST_DEVICE T operand_at(const T* p, I i) const {
        if constexpr (K == Operand::dense) return p[i];
        else return p[(i / I(inner)) % I(channels)];
    }
    template <class I>
    SEAM_HOST_DEVICE void load(I i, Regs& r) const {
        r.a = load_operand<A>(a, i);
        r.b = load_operand<B>(b, i);
    }
    template <class I>
    SEAM_HOST_DEVICE void store(I i, const Regs& r) const {
        Vec<T, kVec> y;
SEAM_UNROLL
        for (int e = 0; e < kVec; ++e) y.v[e] = op.value(r.a.v[e], r.b.v[e]);
        store_vec<kVec>(out + i, y);
    }
    template <class I>
    SEAM_HOST_DEVICE void scalar(I i) const { out[i] = op.value(operand_at<A>(a, i), operand_at<B>(b, i)); }
};

/// Dense body (version 2) of the binary backward (every operand dense; y, grad_a, grad_b may be null).
template <class T, class Op>
struct DenseBinaryBackward {
    static constexpr int kVec = kVecOf<T>;
    struct Regs {
        Vec<T, kVec> g, a, b, y;
    };
    Op op;
    const T* grad;
    const T* a;
    const T* b;
    const T* y;
    T* grad_a;
    T* grad_b;
    template <class I>
    SEAM_HOST_DEVICE void load(I i, Regs& r) const {
        r.g = load_vec<kVec>(grad + i);
        r.a = load_vec<kVec>(a + i);
        r.b = load_vec<kVec>(b + i);
        if (y) r.y = load_vec<kVec>(y + i);
        else
SEAM_UNROLL
            for (int e = 0; e < kVec; ++e) r.y.v[e] = T(0);
    }
    template <class I>
    SEAM_HOST_DEVICE void store(I i, const Regs& r) const {
        Vec<T, kVec> ga, gb;
SEAM_UNROLL
        for (int e = 0; e < kVec; ++e) op.gradients(r.g.v[e], r.a.v[e], r.b.v[e], r.y.v[e], ga.v[e], gb.v[e]);
        if (grad_a) store_vec<kVec>(grad_a + i, ga);
        if (grad_b) store_vec<kVec>(grad_b + i, gb);
    }
    template <class I>
    SEAM_HOST_DEVICE void scalar(I i) const {
        T ga, gb;
        op.gradients(grad[i], a[i], b[i], y ? y[i] : T(0), ga, gb);
        if (grad_a) grad_a[i] = ga;
        if (grad_b) grad_b[i] = gb;
    }
};

/// Is operand k of a collapsed layout a channel broadcast — stride 0 in every dimension but at
/// most one, where it is 1? Then element i of the iteration reads p[(i / inner) % channels].
/// Host code (tests/cuda/test_elementwise_kernel_logic.cu checks it against the strides).
struct ChannelLayout {
    bool is_channel = false;
    int64_t inner = 1, channels = 1;
};
inline ChannelLayout channel_layout(const seam::cuda::CollapsedLayout& layout, size_t k) {
    ChannelLayout c;
    const Shape& strides = layout.strides[k];
    int found = -1;
    for (size_t d = 0; d < layout.shape.size(); ++d) {
        if (strides[d] == 0) continue;
        if (strides[d] != 1 || found >= 0) return c;
        found = static_cast<int>(d);
    }
    c.is_channel = true;
    if (found >= 0) {
        c.channels = layout.shape[found];
        for (size_t d = found + 1; d < layout.shape.size(); ++d) c.inner *= layout.shape[d];
    }
    return c;
}

/// Is operand k of a collapsed layout dense row-major over the layout's shape?
inline bool dense_in(const seam::cuda::CollapsedLayout& layout, size_t k) {
    int64_t expect = 1;
    for (size_t d = layout.shape.size(); d-- > 0;) {
        if (layout.strides[k][d] != expect) return false;
        expect *= layout.shape[d];
    }
    return true;
}

template <class T, class Exec>
inline void binary_forward_on(const Exec& exec, seam::cuda::BinaryOp op, const T* a, const Shape& a_strides,
                              const T* b, const Shape& b_strides, const Shape& shape, T* out) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    const auto indexer = make_indexer<2>(seam::cuda::op_name(op), shape, {a_strides, b_strides});
    // Version 2: all dense, or one operand dense and the other a channel broadcast (a bias).
    Operand ka = Operand::dense, kb = Operand::dense;
    ChannelLayout channel;
    bool dense = false;
    if (exec.version >= 2) {
        if (indexer.contiguous) {
            dense = all_aligned16({a, b, out});
        } else {
            const seam::cuda::CollapsedLayout layout = collapse_dims(shape, {a_strides, b_strides});
            for (size_t k = 0; k < 2 && !dense; ++k) {  // k: the broadcast operand
                const ChannelLayout c = channel_layout(layout, k);
                if (!c.is_channel || !dense_in(layout, 1 - k) || !all_aligned16({k == 0 ? b : a, out})) continue;
                dense = true;
                channel = c;
                (k == 0 ? ka : kb) = Operand::channel;
            }
        }
    }
    visit_binary_op<T>(op, [&](auto f) {
        using F = decltype(f);
        if (!dense) exec.strided(n, indexer, BinaryForward<T, F>{f, a, b, out});
        else if (ka == Operand::channel)
            exec.dense(n, DenseBinary<T, F, Operand::channel, Operand::dense>{f, a, b, out, channel.inner, channel.channels});
        else if (kb == Operand::channel)
            exec.dense(n, DenseBinary<T, F, Operand::dense, Operand::channel>{f, a, b, out, channel.inner, channel.channels});
        else exec.dense(n, DenseBinary<T, F, Operand::dense, Operand::dense>{f, a, b, out});
    });
}

template <class T>
inline void binary_forward(seam::cuda::BinaryOp op, const T* a, const Shape& a_strides, const T* b,
                           const Shape& b_strides, const Shape& shape, T* out, cudaStream_t stream) {
    binary_forward_on<T>(DeviceElementwise{stream}, op, a, a_strides, b, b_strides, shape, out);
}

template <class T, class Exec>
inline void binary_backward_on(const Exec& exec, seam::cuda::BinaryOp op, const T* grad, const Shape& grad_strides,
                               const T* a, const Shape& a_strides, const T* b, const Shape& b_strides, const T* y,
                               const Shape& y_strides, const Shape& shape, T* grad_a, T* grad_b) {
    using B = seam::cuda::BinaryOp;
    const int64_t n = numel_of(shape);
    if (n == 0 || (!grad_a && !grad_b)) return;
    SEAM_CHECK(y || !((op == B::div || op == B::pow) && grad_b), seam::cuda::op_name(op),
               " backward: the forward output y is needed for the gradient of b");
    // A missing y is never read; give it stride 0 so the indexer still has a valid layout.
    const Shape y_layout = y ? y_strides : Shape(shape.size(), 0);
    const auto indexer = make_indexer<4>(seam::cuda::op_name(op), shape, {grad_strides, a_strides, b_strides, y_layout});
    // Dense: every operand read densely (a missing y's stride-0 layout is not, so test the others).
    bool dense = exec.version >= 2 && all_aligned16({grad, a, b, y, grad_a, grad_b});
    if (dense) {
        const seam::cuda::CollapsedLayout layout = collapse_dims(shape, {grad_strides, a_strides, b_strides, y_layout});
        for (size_t k = 0; k < 4 && dense; ++k) dense = (k == 3 && !y) || dense_in(layout, k);
    }
    visit_binary_op<T>(op, [&](auto f) {
        if (dense) exec.dense(n, DenseBinaryBackward<T, decltype(f)>{f, grad, a, b, y, grad_a, grad_b});
        else exec.strided(n, indexer, BinaryBackward<T, decltype(f)>{f, grad, a, b, y, grad_a, grad_b});
    });
}

template <class T>
inline void binary_backward(seam::cuda::BinaryOp op, const T* grad, const Shape& grad_strides, const T* a,
                            const Shape& a_strides, const T* b, const Shape& b_strides, const T* y,
                            const Shape& y_strides, const Shape& shape, T* grad_a, T* grad_b, cudaStream_t stream) {
    binary_backward_on<T>(DeviceElementwise{stream}, op, grad, grad_strides, a, a_strides, b, b_strides, y, y_strides,
                          shape, grad_a, grad_b);
}

// ----- fill and copy -----------------------------------------------------------------------------------

template <class T>
struct FillValue {
    T* out;
    T value;
    SEAM_HOST_DEVICE void operator()(int64_t, const int64_t (&off)[1]) const { out[off[0]] = value; }
};

template <class T>
struct CopyElement {
    const T* src;
    T* dst;
    SEAM_HOST_DEVICE void operator()(int64_t, const int64_t (&off)[2]) const { dst[off[1]] = src[off[0]]; }
};

/// Dense body (version 2): out = value (any element type; 16 bytes of it per vector store).
template <class T>
struct DenseFill {
    static constexpr int kVec = kVecOf<T>;
    struct Regs {};
    T* out;
    T value;
    template <class I>
    SEAM_HOST_DEVICE void load(I, Regs&) const {}
    template <class I>
    SEAM_HOST_DEVICE void store(I i, const Regs&) const {
        Vec<T, kVec> v;
SEAM_UNROLL
        for (int e = 0; e < kVec; ++e) v.v[e] = value;
        store_vec<kVec>(out + i, v);
    }
    template <class I>
    SEAM_HOST_DEVICE void scalar(I i) const { out[i] = value; }
};

template <class T, class Exec>
inline void fill_on(const Exec& exec, T* out, const Shape& shape, const Shape& out_strides, T value) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    const auto indexer = make_indexer<1>("fill", shape, {out_strides});
    const T zero{};
    if (indexer.contiguous && std::memcmp(&value, &zero, sizeof(T)) == 0) {  // all-zero bytes (not -0.0)
        exec.zero_bytes(out, static_cast<size_t>(n) * sizeof(T));
        return;
    }
    if (exec.version >= 2 && indexer.contiguous && is_aligned(out, 16)) exec.dense(n, DenseFill<T>{out, value});
    else exec.strided(n, indexer, FillValue<T>{out, value});
}

template <class T>
inline void fill(T* out, const Shape& shape, const Shape& out_strides, T value, cudaStream_t stream) {
    fill_on<T>(DeviceElementwise{stream}, out, shape, out_strides, value);
}

template <class T, class Exec>
inline void copy_on(const Exec& exec, const T* src, const Shape& src_strides, T* dst, const Shape& dst_strides,
                    const Shape& shape) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    const auto indexer = make_indexer<2>("copy", shape, {src_strides, dst_strides});
    if (indexer.contiguous) {  // both dense: the copy engine does it
        exec.copy_bytes(dst, src, static_cast<size_t>(n) * sizeof(T));
        return;
    }
    exec.strided(n, indexer, CopyElement<T>{src, dst});
}

template <class T>
inline void copy(const T* src, const Shape& src_strides, T* dst, const Shape& dst_strides, const Shape& shape,
                 cudaStream_t stream) {
    copy_on<T>(DeviceElementwise{stream}, src, src_strides, dst, dst_strides, shape);
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
    SEAM_HOST_DEVICE void operator()(int64_t, const int64_t (&off)[4]) const {
        out[off[3]] = cond[off[0]] ? a[off[1]] : b[off[2]];
    }
};

/// Dense body (version 2): out = cond ? a : b, the mask read kVec bytes at a time (its pointer
/// aligned to kVec bytes), a, b and out 16 bytes at a time.
template <class T>
struct DenseSelect {
    static constexpr int kVec = kVecOf<T>;
    struct Regs {
        Vec<uint8_t, kVec> c;
        Vec<T, kVec> a, b;
    };
    const uint8_t* cond;
    const T* a;
    const T* b;
    T* out;
    template <class I>
    SEAM_HOST_DEVICE void load(I i, Regs& r) const {
        r.c = load_vec<kVec>(cond + i);
        r.a = load_vec<kVec>(a + i);
        r.b = load_vec<kVec>(b + i);
    }
    template <class I>
    SEAM_HOST_DEVICE void store(I i, const Regs& r) const {
        Vec<T, kVec> y;
SEAM_UNROLL
        for (int e = 0; e < kVec; ++e) y.v[e] = r.c.v[e] ? r.a.v[e] : r.b.v[e];
        store_vec<kVec>(out + i, y);
    }
    template <class I>
    SEAM_HOST_DEVICE void scalar(I i) const { out[i] = cond[i] ? a[i] : b[i]; }
};

/// out (contiguous over `shape`) = cond ? a : b, every input read through its (broadcast) strides.
template <class T, class Exec>
inline void select_on(const Exec& exec, const uint8_t* cond, const Shape& cond_strides, const T* a,
                      const Shape& a_strides, const T* b, const Shape& b_strides, const Shape& shape, T* out) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    Shape out_strides(shape.size(), 1);
    for (size_t d = shape.size(); d-- > 1;) out_strides[d - 1] = out_strides[d] * shape[d];
    const auto indexer = make_indexer<4>("where", shape, {cond_strides, a_strides, b_strides, out_strides});
    // Not for 1- and 2-byte T: 16 masks and 16 elements per vector cost registers (222 for uint8).
    if constexpr (sizeof(T) >= 4) {
        if (exec.version >= 2 && indexer.contiguous && all_aligned16({a, b, out}) && is_aligned(cond, kVecOf<T>)) {
            exec.dense(n, DenseSelect<T>{cond, a, b, out});
            return;
        }
    }
    exec.strided(n, indexer, SelectElement<T>{cond, a, b, out});
}

template <class T>
inline void select(const uint8_t* cond, const Shape& cond_strides, const T* a, const Shape& a_strides, const T* b,
                   const Shape& b_strides, const Shape& shape, T* out, cudaStream_t stream) {
    select_on<T>(DeviceElementwise{stream}, cond, cond_strides, a, a_strides, b, b_strides, shape, out);
}

// ----- comparisons and mask algebra (seam::eq ... logical_or) ----------------------------------------
// out = op(a, b) ? 1 : 0 as uint8, IEEE rules (every comparison with a NaN is false except ne);
// the logical ops read nonzero as true. Masks are small and rarely on a hot path: the strided
// kernel (version 1) only.

/// One comparison, host-callable (tests/cuda/test_cuda_kernel_logic.cu checks it against C++'s).
template <class T>
SEAM_HOST_DEVICE bool compare_values(seam::cuda::CompareOp op, T a, T b) {
    using Op = seam::cuda::CompareOp;
    switch (op) {
        case Op::eq: return a == b;
        case Op::ne: return a != b;
        case Op::gt: return a > b;
        case Op::lt: return a < b;
        case Op::ge: return a >= b;
        case Op::le: return a <= b;
        case Op::logical_and: return a != T(0) && b != T(0);
        case Op::logical_or: return a != T(0) || b != T(0);
    }
    return false;
}

template <class T>
struct CompareElement {
    seam::cuda::CompareOp op;
    const T* a;
    const T* b;
    uint8_t* out;
    SEAM_HOST_DEVICE void operator()(int64_t, const int64_t (&off)[3]) const {
        out[off[2]] = compare_values(op, a[off[0]], b[off[1]]) ? uint8_t(1) : uint8_t(0);
    }
};

/// out (contiguous over `shape`) = op(a, b) ? 1 : 0, a and b read through their (broadcast) strides.
template <class T, class Exec>
inline void compare_on(const Exec& exec, seam::cuda::CompareOp op, const T* a, const Shape& a_strides, const T* b,
                       const Shape& b_strides, const Shape& shape, uint8_t* out) {
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    Shape out_strides(shape.size(), 1);
    for (size_t d = shape.size(); d-- > 1;) out_strides[d - 1] = out_strides[d] * shape[d];
    const auto indexer = make_indexer<3>("compare", shape, {a_strides, b_strides, out_strides});
    exec.strided(n, indexer, CompareElement<T>{op, a, b, out});
}

template <class T>
inline void compare(seam::cuda::CompareOp op, const T* a, const Shape& a_strides, const T* b, const Shape& b_strides,
                    const Shape& shape, uint8_t* out, cudaStream_t stream) {
    compare_on<T>(DeviceElementwise{stream}, op, a, a_strides, b, b_strides, shape, out);
}

}  // namespace seam::kernels
