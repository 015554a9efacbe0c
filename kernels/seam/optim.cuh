// kernels/seam/optim.cuh — fused optimizer steps: SGD (momentum, dampening, Nesterov, weight
// decay) and Adam / AdamW (with amsgrad), one pass over each parameter tensor.
//
// What it computes: exactly the per-element updates of include/seam/optim/sgd.hpp and adam.hpp
// (PyTorch's single-tensor formulas), in T with the same operations in the same order, and with
// the per-tensor constants (lr, bias corrections, 1 - lr·wd) computed by the host as the CPU
// optimizers do; a CUDA step therefore differs from the CPU step only where one compiler fuses a
// multiply and an add into an FMA and the other does not (nvcc does by default; sqrt and division
// are IEEE-exact on both): a last-bit difference, which the tests allow for.
//   SGD:   d = g (+ wd·w);  buf = first ? d : momentum·buf + (1 - dampening)·d;
//          d = nesterov ? d + momentum·buf : buf  (no buffer when momentum = 0);  w -= lr·d
//   Adam:  AdamW: w *= 1 - lr·wd;  Adam: g += wd·w;  m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²;
//          amsgrad: v_max = max(v_max, v);  w -= step_size·m / (sqrt(v or v_max)/bc2_sqrt + eps)
//
// Layouts: every array is the parameter's n contiguous elements (param, grad, state buffers).
// Launch shape: one grid-stride loop, 256 threads a block, grid capped at one wave (common.cuh).
// One launch per parameter tensor: a multi-tensor launch (all parameters in one kernel) is the
// next step when bench/ shows launch overhead on models with many small tensors.
//
// Versions tried (SEAM_OPTIM_VERSION=1|2, read at every launch; default 2):
//   v1  element by element. Measured on an H200 (bench_elementwise_cuda's third table, runs of
//       2026-11-27: bench/results/gpu-h200-2026-11-27-run5.md to -run7.md; one 64M-float parameter,
//       % of seam's 3.83 TB/s copy for the bytes each step must move): SGD with momentum 0.41 ms
//       (83-84 %), Adam 0.86-0.88 ms (56 %).
//   v2  (default) 16-byte groups (details at "version 2" below). NOT YET TIMED: written on
//       2026-11-28 without a GPU; tests/cuda/test_cuda_kernel_logic.cu checks that its groups give
//       version 1's bits, aligned and misaligned.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "seam/common.cuh"

namespace seam::kernels {

template <class T>
struct SgdParams {
    T lr, weight_decay, momentum, keep;  // keep = 1 - dampening
    bool nesterov, first;
};

template <class T>
struct AdamParams {
    T beta1, beta2, eps, step_size, bias_correction2_sqrt, weight_decay, decay;  // decay = 1 - lr·wd
    bool decoupled;
};

namespace optim_detail {
SEAM_HOST_DEVICE float sqrt_t(float v) { return sqrtf(v); }
SEAM_HOST_DEVICE double sqrt_t(double v) { return ::sqrt(v); }
}  // namespace optim_detail

/// One element's SGD update (w and buf updated in place; buf null without momentum).
template <class T>
SEAM_HOST_DEVICE void sgd_element(T& w, T g, T* buf, const SgdParams<T>& s) {
    // Skipping the decay term when it is 0 keeps d == g exactly (as the CPU does).
    T d = s.weight_decay != T(0) ? g + s.weight_decay * w : g;
    if (buf) {
        *buf = s.first ? d : s.momentum * *buf + s.keep * d;
        d = s.nesterov ? d + s.momentum * *buf : *buf;
    }
    w -= s.lr * d;
}

/// One element's Adam / AdamW update (w, m, v and v_max updated in place; v_max null without amsgrad).
template <class T>
SEAM_HOST_DEVICE void adam_element(T& w, T g, T& m, T& v, T* v_max, const AdamParams<T>& a) {
    if (a.weight_decay != T(0)) {
        if (a.decoupled) w *= a.decay;
        else g += a.weight_decay * w;
    }
    m = a.beta1 * m + (T(1) - a.beta1) * g;
    v = a.beta2 * v + (T(1) - a.beta2) * g * g;
    T second = v;
    if (v_max) second = *v_max = *v_max < v ? v : *v_max;  // std::max(v_max, v), NaN included
    w -= a.step_size * m / (optim_detail::sqrt_t(second) / a.bias_correction2_sqrt + a.eps);
}

template <class T>
__global__ void sgd_step_kernel(T* w, const T* g, T* buf, int64_t n, SgdParams<T> s) {
    SEAM_GRID_STRIDE_LOOP(i, n) { sgd_element(w[i], g[i], buf ? buf + i : nullptr, s); }
}

template <class T>
__global__ void adam_step_kernel(T* w, const T* g, T* m, T* v, T* v_max, int64_t n, AdamParams<T> a) {
    SEAM_GRID_STRIDE_LOOP(i, n) { adam_element(w[i], g[i], m[i], v[i], v_max ? v_max + i : nullptr, a); }
}

// ----- version 2: 16-byte groups ----------------------------------------------------------------------
//
// Version 1 moves every array one element at a time. Version 2 (the default; SEAM_OPTIM_VERSION=1
// restores version 1) gives a thread groups of G = 16 / sizeof(T) consecutive elements (4 floats, 2
// doubles) and moves each array's group as one 16-byte load and store when every array is 16-byte
// aligned; the last partial group, and misaligned arrays, element by element. The per-element
// update is the same function (sgd_element, adam_element), so the results are version 1's bits.

/// Are all the (non-null) arrays 16-byte aligned?
inline bool optim_vector_aligned(std::initializer_list<const void*> arrays) {
    for (const void* p : arrays)
        if (!is_aligned(p, 16)) return false;
    return true;
}

/// SGD on group b (elements G·b .. G·b + G - 1 below n).
template <class T>
SEAM_HOST_DEVICE void sgd_group(T* w, const T* g, T* buf, int64_t n, const SgdParams<T>& s, int64_t b, bool vec) {
    constexpr int G = kVecOf<T>;
    const int64_t i0 = G * b;
    if (vec && i0 + G <= n) {
        Vec<T, G> wv = load_vec<G>(w + i0);
        const Vec<T, G> gv = load_vec<G>(g + i0);
        Vec<T, G> bv;
        if (buf) bv = load_vec<G>(buf + i0);
        for (int q = 0; q < G; ++q) sgd_element(wv.v[q], gv.v[q], buf ? &bv.v[q] : nullptr, s);
        store_vec<G>(w + i0, wv);
        if (buf) store_vec<G>(buf + i0, bv);
        return;
    }
    for (int64_t i = i0; i < i0 + G && i < n; ++i) sgd_element(w[i], g[i], buf ? buf + i : nullptr, s);
}

/// Adam on group b.
template <class T>
SEAM_HOST_DEVICE void adam_group(T* w, const T* g, T* m, T* v, T* v_max, int64_t n, const AdamParams<T>& a, int64_t b,
                                 bool vec) {
    constexpr int G = kVecOf<T>;
    const int64_t i0 = G * b;
    if (vec && i0 + G <= n) {
        Vec<T, G> wv = load_vec<G>(w + i0), mv = load_vec<G>(m + i0), vv = load_vec<G>(v + i0), xv;
        const Vec<T, G> gv = load_vec<G>(g + i0);
        if (v_max) xv = load_vec<G>(v_max + i0);
        for (int q = 0; q < G; ++q) adam_element(wv.v[q], gv.v[q], mv.v[q], vv.v[q], v_max ? &xv.v[q] : nullptr, a);
        store_vec<G>(w + i0, wv);
        store_vec<G>(m + i0, mv);
        store_vec<G>(v + i0, vv);
        if (v_max) store_vec<G>(v_max + i0, xv);
        return;
    }
    for (int64_t i = i0; i < i0 + G && i < n; ++i) adam_element(w[i], g[i], m[i], v[i], v_max ? v_max + i : nullptr, a);
}

template <class T>
__global__ void sgd_step_v2_kernel(T* w, const T* g, T* buf, int64_t n, SgdParams<T> s, bool vec) {
    SEAM_GRID_STRIDE_LOOP(b, (n + kVecOf<T> - 1) / kVecOf<T>) { sgd_group(w, g, buf, n, s, b, vec); }
}

template <class T>
__global__ void adam_step_v2_kernel(T* w, const T* g, T* m, T* v, T* v_max, int64_t n, AdamParams<T> a, bool vec) {
    SEAM_GRID_STRIDE_LOOP(b, (n + kVecOf<T> - 1) / kVecOf<T>) { adam_group(w, g, m, v, v_max, n, a, b, vec); }
}

template <class T>
inline void sgd_step(T* w, const T* g, T* buf, int64_t n, const SgdParams<T>& s, cudaStream_t stream) {
    if (n == 0) return;
    if (kernel_version("SEAM_OPTIM_VERSION", 2) >= 2) {
        const int64_t groups = ceil_div(n, kVecOf<T>);
        sgd_step_v2_kernel<T><<<grid_for(groups), kThreads, 0, stream>>>(w, g, buf, n, s,
                                                                         optim_vector_aligned({w, g, buf}));
    } else {
        sgd_step_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(w, g, buf, n, s);
    }
    SEAM_CUDA_CHECK(cudaGetLastError());
}

template <class T>
inline void adam_step(T* w, const T* g, T* m, T* v, T* v_max, int64_t n, const AdamParams<T>& a, cudaStream_t stream) {
    if (n == 0) return;
    if (kernel_version("SEAM_OPTIM_VERSION", 2) >= 2) {
        const int64_t groups = ceil_div(n, kVecOf<T>);
        adam_step_v2_kernel<T><<<grid_for(groups), kThreads, 0, stream>>>(w, g, m, v, v_max, n, a,
                                                                          optim_vector_aligned({w, g, m, v, v_max}));
    } else {
        adam_step_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(w, g, m, v, v_max, n, a);
    }
    SEAM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace seam::kernels
