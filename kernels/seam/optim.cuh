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
// Versions tried: only this one. Measured on an H200 (bench_elementwise_cuda's third table, two
// runs of 2026-11-27: bench/results/gpu-h200-2026-11-27-run5.md and -run6.md;
// one 64M-float parameter, % of seam's 3.83 TB/s copy for the
// bytes each step must move): SGD with momentum 0.41 ms (83-84 %), Adam 0.86-0.88 ms (56 %).
#pragma once

#include <cstdint>

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
SEAM_DEVICE float sqrt_t(float v) { return sqrtf(v); }
SEAM_DEVICE double sqrt_t(double v) { return ::sqrt(v); }
}  // namespace optim_detail

template <class T>
__global__ void sgd_step_kernel(T* w, const T* g, T* buf, int64_t n, SgdParams<T> s) {
    SEAM_GRID_STRIDE_LOOP(i, n) {
        // Skipping the decay term when it is 0 keeps d == g exactly (as the CPU does).
        T d = s.weight_decay != T(0) ? g[i] + s.weight_decay * w[i] : g[i];
        if (buf) {
            buf[i] = s.first ? d : s.momentum * buf[i] + s.keep * d;
            d = s.nesterov ? d + s.momentum * buf[i] : buf[i];
        }
        w[i] -= s.lr * d;
    }
}

template <class T>
__global__ void adam_step_kernel(T* w, const T* g, T* m, T* v, T* v_max, int64_t n, AdamParams<T> a) {
    SEAM_GRID_STRIDE_LOOP(i, n) {
        T gi = g[i];
        if (a.weight_decay != T(0)) {
            if (a.decoupled) w[i] *= a.decay;
            else gi += a.weight_decay * w[i];
        }
        m[i] = a.beta1 * m[i] + (T(1) - a.beta1) * gi;
        v[i] = a.beta2 * v[i] + (T(1) - a.beta2) * gi * gi;
        T second = v[i];
        if (v_max) second = v_max[i] = v_max[i] < v[i] ? v[i] : v_max[i];  // std::max(v_max, v), NaN included
        w[i] -= a.step_size * m[i] / (optim_detail::sqrt_t(second) / a.bias_correction2_sqrt + a.eps);
    }
}

template <class T>
inline void sgd_step(T* w, const T* g, T* buf, int64_t n, const SgdParams<T>& s, cudaStream_t stream) {
    if (n == 0) return;
    sgd_step_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(w, g, buf, n, s);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

template <class T>
inline void adam_step(T* w, const T* g, T* m, T* v, T* v_max, int64_t n, const AdamParams<T>& a, cudaStream_t stream) {
    if (n == 0) return;
    adam_step_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(w, g, m, v, v_max, n, a);
    SEAM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace seam::kernels
