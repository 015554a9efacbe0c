// seam/cpu/reference/landmark_pool.hpp — the oracle for ops/landmark_pool.hpp.
//
// Deliberately naive and written from the definition, not from the fast path:
//   * the window is found by asking, for every cell of an axis, whether its centre k + 0.5 lies
//     in (c - R/2, c + R/2] around the landmark at c = x*W (ties go to the right/lower cell);
//     the fast path instead computes the first cell with integer arithmetic;
//   * bin bounds are computed in floating point (floor(u*R/b), ceil((u+1)*R/b));
//   * every output element scans the whole feature plane in row-major order and asks of each
//     cell whether it belongs to its bin; inputs are read through their strides; no threads;
//   * the feature gradient is a gather (for every feature element, the outputs whose argmax it
//     is), the fast path scatters; the visibility gradient recomputes the ungated maxima.
// Only the option and shape checks (landmark_pool_geometry) are shared; tests pin the geometry
// by hand.
#pragma once

#include <cmath>
#include <utility>
#include <vector>

#include "seam/ops/landmark_pool.hpp"

namespace seam::reference {

namespace detail {

/// Which cells of an axis of `size` cells the window of `cells` cells around normalised `coord`
/// covers, and each covered cell's position inside the window (-1: not covered). A window whose
/// centre lies more than `cells` cells outside the map cannot reach it.
inline std::vector<int64_t> landmark_window_positions(double coord, int64_t size, int64_t cells) {
    std::vector<int64_t> position(static_cast<size_t>(size), -1);
    const double c = coord * static_cast<double>(size);
    if (!(c > -static_cast<double>(cells) - 1.0 && c < static_cast<double>(size + cells) + 1.0)) return position;
    // The window's cells are the integers k with c - R/2 < k + 0.5 <= c + R/2 (R of them); the
    // first of them, possibly outside the map, numbers the rest.
    const double half = 0.5 * static_cast<double>(cells);
    int64_t first = static_cast<int64_t>(std::floor(c)) - cells - 1;
    while (!(static_cast<double>(first) + 0.5 > c - half)) ++first;
    for (int64_t k = 0; k < size; ++k) {
        const double centre = static_cast<double>(k) + 0.5;
        if (centre > c - half && centre <= c + half) position[static_cast<size_t>(k)] = k - first;
    }
    return position;
}

/// Window position `pos` lies in bin `bin` of `bins` over a window of `cells`.
inline bool landmark_in_bin(int64_t pos, int64_t bin, int64_t bins, int64_t cells) {
    const double lo = std::floor(static_cast<double>(bin) * static_cast<double>(cells) / static_cast<double>(bins));
    const double hi = std::ceil(static_cast<double>(bin + 1) * static_cast<double>(cells) / static_cast<double>(bins));
    return pos >= 0 && static_cast<double>(pos) >= lo && static_cast<double>(pos) < hi;
}

template <class T>
inline T strided_at(const Tensor<T>& t, std::initializer_list<int64_t> index) {
    int64_t off = 0;
    size_t d = 0;
    for (int64_t i : index) off += i * t.strides()[d++];
    return t.data()[off];
}

}  // namespace detail

/// Gated outputs [N, L, C, bh, bw] and argmax indices (h*W + w in the (n, c) plane; -1 for an
/// empty bin or a landmark the hard gate switched off).
template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> landmark_pool(const Tensor<T>& features, const Tensor<T>& landmarks,
                                                           const Tensor<T>& visibility, const LandmarkPoolOptions& opt) {
    const auto g = seam::detail::landmark_pool_geometry("reference::landmark_pool", features, landmarks, visibility, opt);
    Tensor<T> out = empty<T>({g.N, g.L, g.C, g.bins_h, g.bins_w});
    Tensor<int64_t> idx = empty<int64_t>(out.shape());
    int64_t o = 0;
    for (int64_t n = 0; n < g.N; ++n)
        for (int64_t l = 0; l < g.L; ++l) {
            const double x = detail::strided_at(landmarks, {n, l, 0}), y = detail::strided_at(landmarks, {n, l, 1});
            SEAM_CHECK(std::isfinite(x) && std::isfinite(y), "reference::landmark_pool: non-finite landmark");
            const auto rows = detail::landmark_window_positions(y, g.H, g.window_h);
            const auto cols = detail::landmark_window_positions(x, g.W, g.window_w);
            T p = T(1);
            if (opt.gate != LandmarkGate::none) p = detail::strided_at(visibility, {n, l});
            const bool off = opt.gate == LandmarkGate::hard && !(static_cast<double>(p) > opt.threshold);
            for (int64_t c = 0; c < g.C; ++c)
                for (int64_t u = 0; u < g.bins_h; ++u)
                    for (int64_t v = 0; v < g.bins_w; ++v, ++o) {
                        T best = T(0);
                        int64_t best_at = -1;
                        for (int64_t h = 0; h < g.H; ++h)
                            for (int64_t w = 0; w < g.W; ++w) {
                                if (!detail::landmark_in_bin(rows[h], u, g.bins_h, g.window_h)) continue;
                                if (!detail::landmark_in_bin(cols[w], v, g.bins_w, g.window_w)) continue;
                                const T value = detail::strided_at(features, {n, c, h, w});
                                // Strictly greater keeps the first maximum; NaN always wins.
                                if (best_at < 0 || value > best || std::isnan(value)) best = value, best_at = h * g.W + w;
                            }
                        if (off) {
                            out.data()[o] = T(0);
                            idx.data()[o] = -1;
                        } else {
                            out.data()[o] = best_at < 0 ? T(0) : (opt.gate == LandmarkGate::soft ? p * best : best);
                            idx.data()[o] = best_at;
                        }
                    }
        }
    return {out, idx};
}

/// Gradient of the features: for every feature element, the sum of grad_out * gate over the
/// outputs whose argmax it is (visited landmark by landmark, bin by bin).
template <class T>
inline Tensor<T> landmark_pool_backward_features(const Tensor<T>& grad_out, const Tensor<int64_t>& idx,
                                                 const Tensor<T>& visibility, const LandmarkPoolOptions& opt,
                                                 const Shape& feature_shape) {
    const int64_t N = feature_shape[0], C = feature_shape[1], H = feature_shape[2], W = feature_shape[3];
    const int64_t L = grad_out.size(1), BH = grad_out.size(3), BW = grad_out.size(4);
    Tensor<T> grad = empty<T>(feature_shape);
    int64_t e = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t h = 0; h < H; ++h)
                for (int64_t w = 0; w < W; ++w, ++e) {
                    T sum = 0;
                    for (int64_t l = 0; l < L; ++l) {
                        const T gate = opt.gate == LandmarkGate::soft ? detail::strided_at(visibility, {n, l}) : T(1);
                        for (int64_t u = 0; u < BH; ++u)
                            for (int64_t v = 0; v < BW; ++v)
                                if (idx.at({n, l, c, u, v}) == h * W + w)
                                    sum += gate * detail::strided_at(grad_out, {n, l, c, u, v});
                    }
                    grad.data()[e] = sum;
                }
    return grad;
}

/// Gradient of the visibility under the soft gate: sum over channels and bins of grad_out times
/// the ungated pooled value (recomputed with the gate off).
template <class T>
inline Tensor<T> landmark_pool_backward_visibility(const Tensor<T>& grad_out, const Tensor<T>& features,
                                                   const Tensor<T>& landmarks, const LandmarkPoolOptions& opt) {
    LandmarkPoolOptions ungated = opt;
    ungated.gate = LandmarkGate::none;
    const Tensor<T> pooled = reference::landmark_pool(features, landmarks, Tensor<T>(), ungated).first;
    const int64_t N = pooled.size(0), L = pooled.size(1), C = pooled.size(2), BH = pooled.size(3), BW = pooled.size(4);
    Tensor<T> grad = empty<T>({N, L});
    for (int64_t n = 0; n < N; ++n)
        for (int64_t l = 0; l < L; ++l) {
            T sum = 0;
            for (int64_t c = 0; c < C; ++c)
                for (int64_t u = 0; u < BH; ++u)
                    for (int64_t v = 0; v < BW; ++v)
                        sum += detail::strided_at(grad_out, {n, l, c, u, v}) * pooled.at({n, l, c, u, v});
            grad.data()[n * L + l] = sum;
        }
    return grad;
}

}  // namespace seam::reference
