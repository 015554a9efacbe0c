// seam/ops/landmark_pool.hpp — FashionNet's landmark pooling (model-specs §1.3): for every
// landmark, max pooling over a window of feature cells around it, gated by its visibility; plus
// the module nn::LandmarkPool<T>.
//
//   landmark_pool(features [N, C, H, W], landmarks [N, L, 2], visibility [N, L], options)
//       -> [N, L, C, bh, bw]
//
// Coordinates. landmarks[n, l] = (x, y), normalised to [0, 1] of the image the feature map was
// computed from: x along the width, y along the height, (0, 0) the image's top-left corner and
// (1, 1) its bottom-right corner (from pixels: x = px / image_width). FashionNet's location head
// predicts exactly this (§1.1). On the map the landmark sits at (x*W, y*H) in cell units, cell
// (h, w) covering [w, w+1) x [h, h+1): the map is assumed to tile the image evenly (conv4_3 of a
// 224 input: 28 cells of 8 px).
//
// Window. options.window = {Rh, Rw} cells. Its first column is floor(x*W - (Rw - 1) / 2): for an
// odd Rw the window is centred on the cell that holds the landmark (a landmark on a cell border
// belongs to the cell on its right, as floor decides), for an even Rw it is the Rw columns whose
// centres are nearest. Rows likewise with y, H, Rh. The start is computed as
// floor_div(floor(2*x*W) - (Rw - 1), 2), whose only rounding is the product itself, so the
// CUDA kernel (kernels/seam/landmark_pool.cuh) picks the same cells bit for bit: no fused
// multiply-add can move a landmark across a cell border on one device and not on the other.
//
// Bins. The window is split into options.bins = {bh, bw} bins the way RoI and adaptive pooling
// split a box: bin u covers window rows [floor(u*Rh/bh), ceil((u+1)*Rh/bh)), so bins overlap by
// one row when bh does not divide Rh (7 rows in 2 bins: rows 0-3 and 3-6). Each output is the
// max over its bin's cells. Cells outside the map do not take part (RoI pooling, not zero
// padding); a bin with no cell inside the map gives 0 and no gradient. Landmarks anywhere are
// allowed, including outside [0, 1]; non-finite coordinates are rejected. Ties keep the first
// maximum in scan order (row by row, left to right) and a NaN wins, as in max_pool2d.
//
// Gate (options.gate), from visibility[n, l] = the predicted probability that landmark l is
// visible, or a ground-truth 0/1 flag:
//   hard  visible iff p > threshold (0.5): the pooled value, or exactly 0. It selects rather
//         than multiplies, so a NaN under an invisible landmark does not leak. p gets no gradient
//         (a step function). FashionNet's default (§9 item 1).
//   soft  p * pooled value; the gradient flows into p as well.
//   none  visibility is ignored and may be an undefined tensor (mmfashion's variant).
//
// Gradients. Features: each output's gradient, times the gate, goes to the winning cell of its
// bin (Fast R-CNN RoI pooling); a cell that wins several bins or windows receives the sum.
// Landmarks: none. The window moves in whole cells (floor), so the output is piecewise constant
// in the coordinates; like RoI pooling with respect to its box coordinates, the op is not
// differentiable there, and the output never requires grad because of the landmarks. The location
// head is trained by its own regression loss (§1.2). Visibility: with the soft gate only.
//
// Layout. The output is contiguous [N, L, C, bh, bw]; pool5_local, the concatenation over the
// landmarks that feeds fc6_local, is out.reshape({N, L * C * bh * bw}) (landmark-major).
// landmark_pool_with_indices also returns, per output, the flat index h*W + w of the winning cell
// inside its (n, c) feature plane, or -1 for an empty bin and for a landmark the hard gate
// switched off.
//
// Fast path: threads share the (n, c) feature planes. A plane (28x28 floats, 3 KB) stays in L1
// while all L windows are pooled from it; each bin takes two branch-free passes over its rows
// (the max, then the first cell holding it: landmark_bin_max); the windows and bin spans are
// resolved once per (n, l). The backward scatters into the plane its thread owns: no races, a
// fixed order, the same bits for the same thread count. cpu/reference/landmark_pool.hpp holds the
// naive loops it is tested against.
//
// CUDA: when the inputs live on a GPU (all on the same one: mixed devices are refused), the op
// runs the kernels of kernels/seam/landmark_pool.cuh through seam/cuda/api.hpp; the output, the
// indices and the gradients stay on that device. The forward writes the same bits as the CPU
// path (a max, then one multiplication); the features gradient adds in the same order (landmark
// by landmark, bin by bin) and the visibility gradient in a tree order, so those agree within
// rounding. One difference: the landmarks are not copied to the host to be checked (that would
// synchronise the stream on every call), so a non-finite coordinate gives an empty window (0,
// index -1, no gradient) on the GPU where the CPU path throws.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "seam/core/tensor.hpp"
#include "seam/nn/module.hpp"
#if SEAM_WITH_CUDA
#include "seam/cuda/api.hpp"
#endif

namespace seam {

/// How a landmark's visibility gates its pooled features. The numbering is shared with the CUDA
/// kernel's LandmarkPoolShape::gate (kernels/seam/landmark_pool.cuh).
enum class LandmarkGate : int { none = 0, hard = 1, soft = 2 };

inline const char* landmark_gate_name(LandmarkGate gate) {
    switch (gate) {
        case LandmarkGate::none: return "none";
        case LandmarkGate::hard: return "hard";
        case LandmarkGate::soft: return "soft";
    }
    return "unknown";
}

/// FashionNet's defaults (model-specs §1.3 and §9 item 1): a 7x7-cell window on conv4_3 (56 px of
/// a 224 input), 2x2 max bins, a hard gate at 0.5.
struct LandmarkPoolOptions {
    std::array<int64_t, 2> window{7, 7};  // {h, w} in feature cells
    std::array<int64_t, 2> bins{2, 2};    // {bh, bw} outputs per window
    LandmarkGate gate = LandmarkGate::hard;
    double threshold = 0.5;               // hard gate: visible iff p > threshold
};

namespace detail {

/// Sizes of one landmark_pool call, checked once.
struct LandmarkPoolGeometry {
    int64_t N = 0, C = 0, H = 0, W = 0, L = 0;
    int64_t window_h = 0, window_w = 0, bins_h = 0, bins_w = 0;
    int64_t bins() const { return bins_h * bins_w; }
};

inline void check_landmark_pool_options(const char* op, const LandmarkPoolOptions& o) {
    SEAM_CHECK(o.window[0] > 0 && o.window[1] > 0, op, ": window ", pair_str(o.window), " must be positive");
    SEAM_CHECK(o.bins[0] > 0 && o.bins[1] > 0, op, ": bins ", pair_str(o.bins), " must be positive");
    // Bounds that keep every index computation far from int64 overflow.
    SEAM_CHECK(o.window[0] <= (int64_t{1} << 24) && o.window[1] <= (int64_t{1} << 24), op, ": window ",
               pair_str(o.window), " is implausibly large (at most 2^24 cells)");
    SEAM_CHECK(o.bins[0] <= (int64_t{1} << 24) && o.bins[1] <= (int64_t{1} << 24), op, ": bins ", pair_str(o.bins),
               " is implausibly large (at most 2^24)");
    SEAM_CHECK(o.gate == LandmarkGate::none || o.gate == LandmarkGate::hard || o.gate == LandmarkGate::soft, op,
               ": unknown gate value ", static_cast<int>(o.gate));
    SEAM_CHECK(std::isfinite(o.threshold), op, ": threshold ", o.threshold, " must be finite");
}

/// Whether any defined input lives on a GPU (the op then takes its CUDA path, which refuses a mix).
template <class T>
inline bool landmark_pool_on_cuda(const Tensor<T>& features, const Tensor<T>& landmarks, const Tensor<T>& visibility) {
    for (const Tensor<T>* t : {&features, &landmarks, &visibility})
        if (t->defined() && t->device().is_cuda()) return true;
    return false;
}

/// Checks the shapes of the three inputs against each other and the options, and that they share
/// one device; a device other than the CPU only where the caller can run there (cuda_allowed).
template <class T>
inline LandmarkPoolGeometry landmark_pool_geometry(const char* op, const Tensor<T>& features, const Tensor<T>& landmarks,
                                                   const Tensor<T>& visibility, const LandmarkPoolOptions& o,
                                                   bool cuda_allowed = false) {
    check_landmark_pool_options(op, o);
    SEAM_CHECK(features.defined() && landmarks.defined(), op, ": features and landmarks must be defined tensors");
    const Device device = features.device();
    SEAM_CHECK(landmarks.device() == device && (!visibility.defined() || visibility.device() == device), op,
               ": inputs on different devices (features on ", device.str(), ", landmarks on ", landmarks.device().str(),
               visibility.defined() ? ", visibility on " + visibility.device().str() : std::string(),
               "); move them to one device with .to(...)");
    SEAM_CHECK(cuda_allowed || device.is_cpu(), op, ": runs on the CPU only; the inputs are on ", device.str(),
               " (move them with .to(Device::cpu()))");
    const Shape& fs = features.shape();
    SEAM_CHECK(fs.size() == 4, op, ": features of shape ", shape_str(fs), " must be 4-D [N, C, H, W]");
    SEAM_CHECK(fs[2] > 0 && fs[3] > 0, op, ": features of shape ", shape_str(fs), " must have a non-empty map (H, W > 0)");
    const Shape& ls = landmarks.shape();
    SEAM_CHECK(ls.size() == 3 && ls[0] == fs[0] && ls[2] == 2, op, ": landmarks of shape ", shape_str(ls),
               " must be [N, L, 2] (x, y) with N = ", fs[0], " as in features ", shape_str(fs));
    LandmarkPoolGeometry g;
    g.N = fs[0], g.C = fs[1], g.H = fs[2], g.W = fs[3], g.L = ls[1];
    g.window_h = o.window[0], g.window_w = o.window[1], g.bins_h = o.bins[0], g.bins_w = o.bins[1];
    if (o.gate != LandmarkGate::none || visibility.defined()) {
        SEAM_CHECK(visibility.defined(), op, ": the ", landmark_gate_name(o.gate),
                   " gate needs a visibility tensor [N, L] = [", g.N, ", ", g.L, "]");
        SEAM_CHECK(visibility.shape() == (Shape{g.N, g.L}), op, ": visibility of shape ", shape_str(visibility.shape()),
                   " must be [N, L] = [", g.N, ", ", g.L, "] to match landmarks ", shape_str(ls));
    }
    return g;
}

/// First cell of a window of `cells` cells around normalised coordinate `coord` on an axis of
/// `size` cells: floor(coord*size - (cells - 1) / 2), computed as floor_div(floor(2*coord*size) -
/// (cells - 1), 2) so that only the product rounds (see the header comment). The doubled
/// coordinate is first clamped to a range whose ends are so far outside the map that a window
/// starting there is still entirely outside, which keeps the conversion to int64 defined.
inline int64_t landmark_window_start(double coord, int64_t size, int64_t cells) {
    double twice = 2.0 * coord * static_cast<double>(size);
    const double lowest = -2.0 * static_cast<double>(cells) - 2.0;
    const double highest = 2.0 * static_cast<double>(size + cells) + 2.0;
    twice = std::min(std::max(twice, lowest), highest);
    const int64_t t = static_cast<int64_t>(std::floor(twice)) - (cells - 1);
    return t >= 0 ? t / 2 : -((1 - t) / 2);  // floor division by 2
}

/// The cells of one bin, clipped to the map: rows [h0, h1), columns [w0, w1); empty when
/// h0 >= h1 or w0 >= w1.
struct LandmarkBinSpan {
    int64_t h0, h1, w0, w1;
    bool empty() const { return h0 >= h1 || w0 >= w1; }
};

/// Everything the plane loops need per (n, l): the clipped span of each bin and the gate.
template <class T>
struct LandmarkPoolPlan {
    std::vector<LandmarkBinSpan> spans;  // [N * L * bins], bin (u, v) at u * bins_w + v
    std::vector<T> factor;               // [N * L]: 1 (none, hard) or p (soft)
    std::vector<uint8_t> active;         // [N * L]: 0 where the hard gate switched the landmark off
};

template <class T>
inline LandmarkPoolPlan<T> landmark_pool_plan(const char* op, const LandmarkPoolGeometry& g, const Tensor<T>& landmarks,
                                              const Tensor<T>& visibility, const LandmarkPoolOptions& o) {
    const Tensor<T> lm = landmarks.detach().contiguous();
    const Tensor<T> vis = o.gate == LandmarkGate::none ? Tensor<T>() : visibility.detach().contiguous();
    const T* xy = lm.data();
    const T* p = vis.defined() ? vis.data() : nullptr;
    LandmarkPoolPlan<T> plan;
    plan.spans.resize(static_cast<size_t>(g.N * g.L * g.bins()));
    plan.factor.assign(static_cast<size_t>(g.N * g.L), T(1));
    plan.active.assign(static_cast<size_t>(g.N * g.L), 1);
    for (int64_t nl = 0; nl < g.N * g.L; ++nl) {
        const T x = xy[2 * nl], y = xy[2 * nl + 1];
        SEAM_CHECK(std::isfinite(x) && std::isfinite(y), op, ": landmark (n=", nl / g.L, ", l=", nl % g.L,
                   ") has a non-finite coordinate (x=", x, ", y=", y, ")");
        if (o.gate == LandmarkGate::hard) plan.active[nl] = static_cast<double>(p[nl]) > o.threshold ? 1 : 0;
        if (o.gate == LandmarkGate::soft) plan.factor[nl] = p[nl];
        const int64_t h_start = landmark_window_start(static_cast<double>(y), g.H, g.window_h);
        const int64_t w_start = landmark_window_start(static_cast<double>(x), g.W, g.window_w);
        for (int64_t u = 0; u < g.bins_h; ++u)
            for (int64_t v = 0; v < g.bins_w; ++v) {
                // Window-relative bin bounds [floor(u*R/b), ceil((u+1)*R/b)), then clipped to the map.
                const int64_t r0 = u * g.window_h / g.bins_h, r1 = ((u + 1) * g.window_h + g.bins_h - 1) / g.bins_h;
                const int64_t c0 = v * g.window_w / g.bins_w, c1 = ((v + 1) * g.window_w + g.bins_w - 1) / g.bins_w;
                plan.spans[static_cast<size_t>(nl * g.bins() + u * g.bins_w + v)] = {
                    std::max<int64_t>(h_start + r0, 0), std::min<int64_t>(h_start + r1, g.H),
                    std::max<int64_t>(w_start + c0, 0), std::min<int64_t>(w_start + c1, g.W)};
            }
    }
    return plan;
}

/// The max-pooling update rule: a strictly larger value wins (ties keep the first), NaN always wins.
template <class T>
inline bool landmark_pool_takes(T v, T current) { return v > current || std::isnan(v); }

/// Max of one (non-empty) bin and, when `where` is given, the flat index of its winner.
/// A one-pass "compare, then select value and index" loop is one long dependency chain with a
/// hard-to-predict branch (7.3 ms for FashionNet's forward, one thread); two branch-free passes
/// run 1.7x faster: the max alone (NaNs only noted), then the first cell holding it, found by
/// walking the bin backwards and keeping the last match. Both passes give the takes() rule's
/// answer: the first maximum in scan order. A bin holding a NaN takes the rule cell by cell.
template <class T>
inline T landmark_bin_max(const T* plane, int64_t W, const LandmarkBinSpan& s, int64_t* where) {
    T best = plane[s.h0 * W + s.w0];
    bool saw_nan = false;
    for (int64_t h = s.h0; h < s.h1; ++h) {
        const T* row = plane + h * W;
        for (int64_t w = s.w0; w < s.w1; ++w) {
            best = row[w] > best ? row[w] : best;
            saw_nan |= row[w] != row[w];
        }
    }
    if (saw_nan) {
        int64_t at = s.h0 * W + s.w0;
        best = plane[at];
        for (int64_t h = s.h0; h < s.h1; ++h)
            for (int64_t w = s.w0; w < s.w1; ++w)
                if (landmark_pool_takes(plane[h * W + w], best)) best = plane[h * W + w], at = h * W + w;
        if (where) *where = at;
        return best;
    }
    if (where) {
        int64_t at = -1;
        for (int64_t h = s.h1 - 1; h >= s.h0; --h) {
            const T* row = plane + h * W;
            for (int64_t w = s.w1 - 1; w >= s.w0; --w) at = row[w] == best ? h * W + w : at;
        }
        *where = at;
    }
    return best;
}

/// Forward on contiguous features; writes the gated output and (when given) the argmax indices.
template <class T>
inline void landmark_pool_forward(const LandmarkPoolGeometry& g, const LandmarkPoolPlan<T>& plan, const T* features,
                                  T* out, int64_t* indices) {
    const int64_t plane_size = g.H * g.W, B = g.bins();
    const int64_t work = std::max<int64_t>(1, g.L * g.window_h * g.window_w);
    parallel_for(0, g.N * g.C, std::max<int64_t>(1, kParallelGrain / work), [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) {
            const int64_t n = p / g.C, c = p % g.C;
            const T* plane = features + p * plane_size;
            for (int64_t l = 0; l < g.L; ++l) {
                const int64_t nl = n * g.L + l;
                const int64_t first = (nl * g.C + c) * B;  // output offset of bin (0, 0)
                T* o = out + first;
                int64_t* at = indices ? indices + first : nullptr;
                if (!plan.active[nl]) {
                    for (int64_t b = 0; b < B; ++b) o[b] = T(0);
                    if (at)
                        for (int64_t b = 0; b < B; ++b) at[b] = -1;
                    continue;
                }
                const T factor = plan.factor[nl];
                const LandmarkBinSpan* spans = plan.spans.data() + nl * B;
                for (int64_t b = 0; b < B; ++b) {
                    const LandmarkBinSpan s = spans[b];
                    if (s.empty()) {
                        o[b] = T(0);
                        if (at) at[b] = -1;
                        continue;
                    }
                    o[b] = factor * landmark_bin_max(plane, g.W, s, at ? at + b : nullptr);
                }
            }
        }
    });
}

/// d features: each output's gradient times the gate factor lands on its argmax cell. Threads own
/// whole (n, c) planes and visit landmarks and bins in order, so the sums are deterministic.
template <class T>
inline Tensor<T> landmark_pool_backward_features(const LandmarkPoolGeometry& g, const std::vector<T>& factor,
                                                 const Tensor<T>& grad_out, const Tensor<int64_t>& indices) {
    const Tensor<T> gc = grad_out.contiguous();
    // Each plane is zeroed right before its scatter, while it is in L1: one pass over the
    // gradient instead of a separate zero-fill pass first.
    Tensor<T> grad = empty<T>({g.N, g.C, g.H, g.W});
    const T* go = gc.data();
    const int64_t* ix = indices.data();
    T* gf = grad.data();
    const int64_t plane_size = g.H * g.W, B = g.bins();
    const int64_t work = std::max<int64_t>(1, g.L * B + plane_size);
    parallel_for(0, g.N * g.C, std::max<int64_t>(1, kParallelGrain / work), [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) {
            const int64_t n = p / g.C, c = p % g.C;
            T* dst = gf + p * plane_size;
            std::fill(dst, dst + plane_size, T(0));
            for (int64_t l = 0; l < g.L; ++l) {
                const int64_t nl = n * g.L + l, first = (nl * g.C + c) * B;
                const T f = factor[nl];
                for (int64_t b = 0; b < B; ++b)
                    if (ix[first + b] >= 0) dst[ix[first + b]] += f * go[first + b];
            }
        }
    });
    return grad;
}

/// d visibility (soft gate): for each (n, l), the sum over channels and bins of the output's
/// gradient times the ungated pooled value, read back from the features through the argmax.
template <class T>
inline Tensor<T> landmark_pool_backward_visibility(const LandmarkPoolGeometry& g, const Tensor<T>& features,
                                                   const Tensor<T>& grad_out, const Tensor<int64_t>& indices) {
    const Tensor<T> gc = grad_out.contiguous();
    Tensor<T> grad = empty<T>({g.N, g.L});
    const T* go = gc.data();
    const T* f = features.data();
    const int64_t* ix = indices.data();
    T* gv = grad.data();
    const int64_t plane_size = g.H * g.W, B = g.bins();
    parallel_for(0, g.N * g.L, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, g.C * B)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t nl = lo; nl < hi; ++nl) {
                         const int64_t n = nl / g.L;
                         T sum = 0;
                         for (int64_t c = 0; c < g.C; ++c) {
                             const T* plane = f + (n * g.C + c) * plane_size;
                             const int64_t first = (nl * g.C + c) * B;
                             for (int64_t b = 0; b < B; ++b)
                                 if (ix[first + b] >= 0) sum += go[first + b] * plane[ix[first + b]];
                         }
                         gv[nl] = sum;
                     }
                 });
    return grad;
}

#if SEAM_WITH_CUDA
// ----- the CUDA path (kernels/seam/landmark_pool.cuh through seam/cuda/api.hpp) ------------------
// The same forward and backward rules as above, computed on the inputs' GPU; the output, the
// indices and the gradients stay there.

inline cuda::LandmarkPoolShape cuda_landmark_pool_shape(const LandmarkPoolGeometry& g, const LandmarkPoolOptions& o) {
    cuda::LandmarkPoolShape s;
    s.N = g.N, s.C = g.C, s.H = g.H, s.W = g.W, s.L = g.L;
    s.window_h = g.window_h, s.window_w = g.window_w, s.bins_h = g.bins_h, s.bins_w = g.bins_w;
    s.gate = static_cast<int>(o.gate);
    s.threshold = o.threshold;
    return s;
}

/// Forward on the GPU (the kernel always writes the indices, so they are always returned) and the
/// backward record: the features gradient, and the visibility gradient under the soft gate.
template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> cuda_landmark_pool(const Tensor<T>& features, const Tensor<T>& landmarks,
                                                                const Tensor<T>& visibility,
                                                                const LandmarkPoolOptions& opt) {
    const auto g = landmark_pool_geometry("landmark_pool", features, landmarks, visibility, opt, /*cuda_allowed=*/true);
    const Device device = features.device();
    const cuda::LandmarkPoolShape shape = cuda_landmark_pool_shape(g, opt);
    cuda::DeviceGuard guard(device.index);
    const Tensor<T> fc = features.detach().contiguous();
    const Tensor<T> lc = landmarks.detach().contiguous();
    const bool gated = opt.gate != LandmarkGate::none;
    const Tensor<T> vc = gated ? visibility.detach().contiguous() : Tensor<T>();
    Tensor<T> out = empty<T>({g.N, g.L, g.C, g.bins_h, g.bins_w}, device);
    Tensor<int64_t> indices = empty<int64_t>(out.shape(), device);
    cuda::landmark_pool_forward<T>(fc.data(), lc.data(), gated ? vc.data() : nullptr, out.data(), indices.data(), shape);

    // As on the CPU: only the soft gate is differentiable in the visibility; the landmarks never are.
    const bool soft = opt.gate == LandmarkGate::soft;
    const Tensor<T>* vis_input = soft ? &visibility : nullptr;
    if (!needs_graph<T>({&features, vis_input})) return {out, indices};
    const bool want_features = features.requires_grad();
    const bool want_visibility = soft && visibility.defined() && visibility.requires_grad();
    // The visibility is kept for the soft gate's factor, the features for the visibility gradient.
    const Tensor<T> saved_visibility = soft ? vc : Tensor<T>();
    const Tensor<T> saved_features = want_visibility ? fc : Tensor<T>();
    record<T>("landmark_pool", out, {&features, vis_input},
              [g, shape, device, indices, saved_visibility, saved_features, want_features,
               want_visibility](const Tensor<T>& grad) {
                  SEAM_CHECK(grad.device() == device, "landmark_pool backward: gradient on ", grad.device().str(),
                             ", inputs on ", device.str());
                  cuda::DeviceGuard guard(device.index);
                  const Tensor<T> gc = grad.contiguous();
                  Tensor<T> gf, gv;
                  if (want_features) {
                      gf = empty<T>({g.N, g.C, g.H, g.W}, device);
                      cuda::landmark_pool_backward_features<T>(
                          gc.data(), indices.data(), saved_visibility.defined() ? saved_visibility.data() : nullptr,
                          gf.data(), shape);
                  }
                  if (want_visibility) {
                      gv = empty<T>({g.N, g.L}, device);
                      cuda::landmark_pool_backward_visibility<T>(gc.data(), saved_features.data(), indices.data(),
                                                                 gv.data(), shape);
                  }
                  return std::vector<Tensor<T>>{gf, gv};
              });
    return {out, indices};
}
#endif  // SEAM_WITH_CUDA

}  // namespace detail

/// Landmark pooling (see the header comment) that also returns the argmax indices [N, L, C, bh, bw].
template <class T>
inline std::pair<Tensor<T>, Tensor<int64_t>> landmark_pool_with_indices(const Tensor<T>& features,
                                                                        const Tensor<T>& landmarks,
                                                                        const Tensor<T>& visibility,
                                                                        const LandmarkPoolOptions& opt = {}) {
    static_assert(std::is_floating_point_v<T>, "landmark_pool needs float or double tensors");
#if SEAM_WITH_CUDA
    if (detail::landmark_pool_on_cuda(features, landmarks, visibility))
        return detail::cuda_landmark_pool(features, landmarks, visibility, opt);
#endif
    const auto g = detail::landmark_pool_geometry("landmark_pool", features, landmarks, visibility, opt);
    const auto plan = detail::landmark_pool_plan("landmark_pool", g, landmarks, visibility, opt);
    const Tensor<T> fc = features.detach().contiguous();
    Tensor<T> out = empty<T>({g.N, g.L, g.C, g.bins_h, g.bins_w});
    Tensor<int64_t> indices = empty<int64_t>(out.shape());
    detail::landmark_pool_forward(g, plan, fc.data(), out.data(), indices.data());

    // Only the soft gate is differentiable in the visibility; the landmarks never are.
    const bool soft = opt.gate == LandmarkGate::soft;
    const Tensor<T>* vis_input = soft ? &visibility : nullptr;
    const bool want_features = features.requires_grad();
    const bool want_visibility = soft && visibility.defined() && visibility.requires_grad();
    std::vector<T> factor = plan.factor;
    // The features are kept only for the visibility gradient (they give back the ungated maxima).
    Tensor<T> saved_features = want_visibility ? fc : Tensor<T>();
    record<T>("landmark_pool", out, {&features, vis_input},
              [g, factor, indices, saved_features, want_features, want_visibility](const Tensor<T>& grad) {
                  Tensor<T> gf = want_features ? detail::landmark_pool_backward_features(g, factor, grad, indices)
                                               : Tensor<T>();
                  Tensor<T> gv = want_visibility
                                     ? detail::landmark_pool_backward_visibility(g, saved_features, grad, indices)
                                     : Tensor<T>();
                  return std::vector<Tensor<T>>{gf, gv};
              });
    return {out, indices};
}

/// Landmark pooling: [N, C, H, W] features, [N, L, 2] normalised (x, y) landmarks and [N, L]
/// visibility -> [N, L, C, bh, bw]. See the header comment for the geometry, gate and gradients.
template <class T>
inline Tensor<T> landmark_pool(const Tensor<T>& features, const Tensor<T>& landmarks, const Tensor<T>& visibility,
                               const LandmarkPoolOptions& opt = {}) {
    static_assert(std::is_floating_point_v<T>, "landmark_pool needs float or double tensors");
#if SEAM_WITH_CUDA
    // On the GPU the indices come with the forward anyway (the kernel writes them).
    if (detail::landmark_pool_on_cuda(features, landmarks, visibility))
        return detail::cuda_landmark_pool(features, landmarks, visibility, opt).first;
#endif
    const bool soft = opt.gate == LandmarkGate::soft;
    if (needs_graph<T>({&features, soft ? &visibility : nullptr}))
        return landmark_pool_with_indices(features, landmarks, visibility, opt).first;
    // Inference: no index tensor.
    const auto g = detail::landmark_pool_geometry("landmark_pool", features, landmarks, visibility, opt);
    const auto plan = detail::landmark_pool_plan("landmark_pool", g, landmarks, visibility, opt);
    const Tensor<T> fc = features.detach().contiguous();
    Tensor<T> out = empty<T>({g.N, g.L, g.C, g.bins_h, g.bins_w});
    detail::landmark_pool_forward<T>(g, plan, fc.data(), out.data(), nullptr);
    return out;
}

}  // namespace seam

namespace seam::nn {

/// FashionNet's landmark pooling layer: no parameters, only the options. forward takes the
/// feature map, the landmarks and their visibility (predicted, or the ground truth during the
/// landmark-centric training phase, §1.4) and returns [N, L, C, bh, bw].
template <class T>
class LandmarkPool : public Module<T> {
public:
    const LandmarkPoolOptions options;

    explicit LandmarkPool(LandmarkPoolOptions options_ = {}) : Module<T>("LandmarkPool"), options(options_) {
        seam::detail::check_landmark_pool_options("LandmarkPool", options);
    }

    using Module<T>::forward;     // the single-input form stays visible (and throws)
    using Module<T>::operator();
    Tensor<T> forward(const Tensor<T>& features, const Tensor<T>& landmarks, const Tensor<T>& visibility) {
        return landmark_pool(features, landmarks, visibility, options);
    }
    Tensor<T> operator()(const Tensor<T>& features, const Tensor<T>& landmarks, const Tensor<T>& visibility) {
        return forward(features, landmarks, visibility);
    }

    std::string extra_repr() const override {
        return "window=" + seam::detail::pair_str(options.window) + ", bins=" + seam::detail::pair_str(options.bins) +
               ", gate=" + landmark_gate_name(options.gate) + ", threshold=" + detail::python_float(options.threshold);
    }
};

}  // namespace seam::nn
