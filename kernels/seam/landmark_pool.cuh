// kernels/seam/landmark_pool.cuh — CUDA forward and backward of FashionNet's landmark pooling
// (model-specs §1.3), on raw device pointers and a shape struct: no Tensor, no Eigen, no other
// seam header, so bench/ and other projects can include it alone. It compiles only under nvcc.
//
// What it computes (the same definition as include/seam/ops/landmark_pool.hpp, which documents
// it in full): for landmark (n, l) at normalised (x, y), a window of window_h x window_w feature
// cells whose first column is floor(x*W - (window_w - 1) / 2) (rows likewise with y, H), split
// into bins_h x bins_w bins with RoI/adaptive bounds [floor(u*R/b), ceil((u+1)*R/b)); each output
// is the max over its bin's cells that lie inside the map (ties: first in scan order; NaN wins),
// 0 for a bin with no cell inside; then the gate: none, hard (visibility > threshold ? value : 0,
// selected, not multiplied), or soft (visibility * value).
//
// Layouts (all contiguous, row-major, element offsets in int64):
//   features   [N, C, H, W]            landmarks [N, L, 2] as (x, y)    visibility [N, L]
//   out        [N, L, C, bins_h, bins_w]
//   argmax     [N, L, C, bins_h, bins_w] int64: h*W + w inside the (n, c) plane of the winner,
//              -1 for an empty bin or a landmark the hard gate switched off
// visibility may be null with the gate `none`.
//
// Launch shapes (256 threads a block, grid-stride loops, so any size fits the grid limits):
//   forward              one thread per output element (n, l, c, u, v). Consecutive threads take
//                        neighbouring bins of one channel, then the next channel: their reads hit
//                        the same or nearby cache lines of a feature plane. The window start is
//                        recomputed per thread (a few double operations): cheaper than a second
//                        kernel and a buffer.
//   backward, features   one thread per feature element, a GATHER: the thread sums, landmark by
//                        landmark and bin by bin, gate * grad_out over the outputs of its (n, c)
//                        whose argmax is its cell, and writes the result once. No atomics: the
//                        sum order is fixed, so the gradient is the same bits on every run (the
//                        library's determinism rule) and matches the CPU path's order; no zeroing
//                        pass is needed; writes are coalesced. The price is L*bins_h*bins_w argmax
//                        reads per thread (32 for FashionNet), which the threads of a warp share
//                        (same (n, c), same addresses: broadcast loads). A scatter with atomicAdd
//                        would read each argmax once but needs a memset and gives
//                        order-dependent float sums.
//   backward, visibility one block per (n, l) (soft gate only): the block's threads stride over
//                        C*bins_h*bins_w outputs, accumulating grad_out * features[argmax] (the
//                        ungated maximum, read back through the argmax), then a shared-memory tree
//                        reduction in a fixed order.
//
// Window start without a rounding trap: floor_div(floor(2*x*W) - (window - 1), 2). 2*x*W rounds
// once (the product); there is no addition the compiler could fuse into an FMA, so the CPU and
// the GPU choose the same cells even for a landmark exactly on a cell border. The doubled
// coordinate is clamped first to a range so far outside the map that the window stays entirely
// outside (keeps the conversion to int64 defined); fmax/fmin send a NaN coordinate to the low
// end, so a NaN landmark gives an empty window (zeros) instead of undefined behaviour. The CPU op
// rejects non-finite landmarks with an error before computing anything.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <cstdint>

namespace seam::kernels {

/// Gate codes; the same numbering as seam::LandmarkGate (ops/landmark_pool.hpp).
enum LandmarkGateCode : int { kLandmarkGateNone = 0, kLandmarkGateHard = 1, kLandmarkGateSoft = 2 };

struct LandmarkPoolShape {
    int64_t N = 0, C = 0, H = 0, W = 0, L = 0;
    int64_t window_h = 7, window_w = 7, bins_h = 2, bins_w = 2;
    int gate = kLandmarkGateHard;
    double threshold = 0.5;

    __host__ __device__ int64_t bins() const { return bins_h * bins_w; }
    __host__ __device__ int64_t outputs() const { return N * L * C * bins_h * bins_w; }
    __host__ __device__ int64_t feature_elements() const { return N * C * H * W; }
};

namespace landmark_pool_detail {

constexpr int kThreads = 256;

__device__ inline int64_t window_start(double coord, int64_t size, int64_t cells) {
    // __dmul_rn: never contracted into an FMA (there is nothing to contract with anyway).
    double twice = __dmul_rn(2.0 * coord, static_cast<double>(size));
    twice = fmin(fmax(twice, -2.0 * static_cast<double>(cells) - 2.0), 2.0 * static_cast<double>(size + cells) + 2.0);
    const int64_t t = static_cast<int64_t>(floor(twice)) - (cells - 1);
    return t >= 0 ? t / 2 : -((1 - t) / 2);  // floor division by 2
}

template <class T>
__device__ inline bool takes(T v, T current) {
    return v > current || isnan(v);
}

inline int blocks_for(int64_t work) {
    const int64_t blocks = (work + kThreads - 1) / kThreads;
    return static_cast<int>(blocks < (int64_t{1} << 20) ? blocks : (int64_t{1} << 20));
}

inline bool valid(const LandmarkPoolShape& s) {
    return s.N >= 0 && s.C >= 0 && s.L >= 0 && s.H > 0 && s.W > 0 && s.window_h > 0 && s.window_w > 0 &&
           s.bins_h > 0 && s.bins_w > 0 &&
           (s.gate == kLandmarkGateNone || s.gate == kLandmarkGateHard || s.gate == kLandmarkGateSoft);
}

}  // namespace landmark_pool_detail

template <class T>
__global__ void landmark_pool_forward_kernel(const T* __restrict__ features, const T* __restrict__ landmarks,
                                             const T* __restrict__ visibility, T* __restrict__ out,
                                             int64_t* __restrict__ argmax, LandmarkPoolShape s) {
    namespace d = landmark_pool_detail;
    const int64_t total = s.outputs();
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        int64_t rest = i;
        const int64_t v = rest % s.bins_w;
        rest /= s.bins_w;
        const int64_t u = rest % s.bins_h;
        rest /= s.bins_h;
        const int64_t c = rest % s.C;
        const int64_t nl = rest / s.C;  // n * L + l
        const int64_t n = nl / s.L;

        T factor = T(1);
        if (s.gate == kLandmarkGateHard && !(static_cast<double>(visibility[nl]) > s.threshold)) {
            out[i] = T(0);
            argmax[i] = -1;
            continue;
        }
        if (s.gate == kLandmarkGateSoft) factor = visibility[nl];

        const int64_t h_start = d::window_start(static_cast<double>(landmarks[2 * nl + 1]), s.H, s.window_h);
        const int64_t w_start = d::window_start(static_cast<double>(landmarks[2 * nl]), s.W, s.window_w);
        const int64_t h0 = max(h_start + u * s.window_h / s.bins_h, int64_t{0});
        const int64_t h1 = min(h_start + ((u + 1) * s.window_h + s.bins_h - 1) / s.bins_h, s.H);
        const int64_t w0 = max(w_start + v * s.window_w / s.bins_w, int64_t{0});
        const int64_t w1 = min(w_start + ((v + 1) * s.window_w + s.bins_w - 1) / s.bins_w, s.W);
        if (h0 >= h1 || w0 >= w1) {
            out[i] = T(0);
            argmax[i] = -1;
            continue;
        }
        const T* plane = features + (n * s.C + c) * s.H * s.W;
        T best = plane[h0 * s.W + w0];
        int64_t best_at = h0 * s.W + w0;
        for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) {
                const T value = plane[h * s.W + w];
                if (d::takes(value, best)) best = value, best_at = h * s.W + w;
            }
        out[i] = factor * best;
        argmax[i] = best_at;
    }
}

template <class T>
__global__ void landmark_pool_backward_features_kernel(const T* __restrict__ grad_out, const int64_t* __restrict__ argmax,
                                                       const T* __restrict__ visibility, T* __restrict__ grad_features,
                                                       LandmarkPoolShape s) {
    const int64_t total = s.feature_elements(), plane_size = s.H * s.W, B = s.bins();
    for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
         e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t cell = e % plane_size;
        const int64_t nc = e / plane_size;
        const int64_t n = nc / s.C, c = nc % s.C;
        T sum = T(0);
        for (int64_t l = 0; l < s.L; ++l) {
            const int64_t nl = n * s.L + l, first = (nl * s.C + c) * B;
            const T factor = s.gate == kLandmarkGateSoft ? visibility[nl] : T(1);
            for (int64_t b = 0; b < B; ++b)
                if (argmax[first + b] == cell) sum += factor * grad_out[first + b];
        }
        grad_features[e] = sum;
    }
}

template <class T>
__global__ void landmark_pool_backward_visibility_kernel(const T* __restrict__ grad_out, const T* __restrict__ features,
                                                         const int64_t* __restrict__ argmax,
                                                         T* __restrict__ grad_visibility, LandmarkPoolShape s) {
    namespace d = landmark_pool_detail;
    __shared__ T partial[d::kThreads];
    const int64_t plane_size = s.H * s.W, B = s.bins(), per_landmark = s.C * B;
    for (int64_t nl = blockIdx.x; nl < s.N * s.L; nl += gridDim.x) {
        const int64_t n = nl / s.L;
        T sum = T(0);
        for (int64_t k = threadIdx.x; k < per_landmark; k += blockDim.x) {
            const int64_t c = k / B, o = nl * per_landmark + k;
            const int64_t at = argmax[o];
            if (at >= 0) sum += grad_out[o] * features[(n * s.C + c) * plane_size + at];
        }
        partial[threadIdx.x] = sum;
        __syncthreads();
        for (int stride = d::kThreads / 2; stride > 0; stride /= 2) {
            if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
            __syncthreads();
        }
        if (threadIdx.x == 0) grad_visibility[nl] = partial[0];
        __syncthreads();  // partial[] is reused by the next landmark of this block
    }
}

// ----- host launchers: return the launch error (cudaSuccess when nothing needed launching) ------

/// out and argmax [N, L, C, bins_h, bins_w]; visibility may be null for the gate `none`.
template <class T>
inline cudaError_t landmark_pool_forward(const T* features, const T* landmarks, const T* visibility, T* out,
                                         int64_t* argmax, const LandmarkPoolShape& s, cudaStream_t stream = nullptr) {
    namespace d = landmark_pool_detail;
    if (!d::valid(s) || (s.gate != kLandmarkGateNone && !visibility)) return cudaErrorInvalidValue;
    const int64_t total = s.outputs();
    if (total == 0) return cudaSuccess;
    landmark_pool_forward_kernel<T>
        <<<d::blocks_for(total), d::kThreads, 0, stream>>>(features, landmarks, visibility, out, argmax, s);
    return cudaGetLastError();
}

/// grad_features [N, C, H, W] is overwritten (not accumulated into).
template <class T>
inline cudaError_t landmark_pool_backward_features(const T* grad_out, const int64_t* argmax, const T* visibility,
                                                   T* grad_features, const LandmarkPoolShape& s,
                                                   cudaStream_t stream = nullptr) {
    namespace d = landmark_pool_detail;
    if (!d::valid(s) || (s.gate == kLandmarkGateSoft && !visibility)) return cudaErrorInvalidValue;
    const int64_t total = s.feature_elements();
    if (total == 0) return cudaSuccess;
    landmark_pool_backward_features_kernel<T>
        <<<d::blocks_for(total), d::kThreads, 0, stream>>>(grad_out, argmax, visibility, grad_features, s);
    return cudaGetLastError();
}

/// grad_visibility [N, L] is overwritten; only meaningful for the soft gate.
template <class T>
inline cudaError_t landmark_pool_backward_visibility(const T* grad_out, const T* features, const int64_t* argmax,
                                                     T* grad_visibility, const LandmarkPoolShape& s,
                                                     cudaStream_t stream = nullptr) {
    namespace d = landmark_pool_detail;
    if (!d::valid(s) || s.gate != kLandmarkGateSoft) return cudaErrorInvalidValue;
    const int64_t landmarks = s.N * s.L;
    if (landmarks == 0) return cudaSuccess;
    const int blocks = static_cast<int>(landmarks < (int64_t{1} << 20) ? landmarks : (int64_t{1} << 20));
    landmark_pool_backward_visibility_kernel<T>
        <<<blocks, d::kThreads, 0, stream>>>(grad_out, features, argmax, grad_visibility, s);
    return cudaGetLastError();
}

}  // namespace seam::kernels

#endif  // defined(__CUDACC__)
