// seam/cpu/conv.hpp — the fast CPU convolution: im2col tile by tile + Eigen GEMM, on raw NCHW pointers.
//
// Provides, for T = float or double, on contiguous NCHW buffers described by a ConvGeometry:
//   conv2d_forward(geom, x, w, bias, y)       y = conv(x, w) + bias
//   conv2d_backward_data(geom, w, dy, dx)     dx = convᵀ(dy, w)
//   conv2d_backward_weight(geom, x, dy, dw)   dw = dy ⋆ x
//   conv2d_backward(geom, x, w, dy, dx, dw)   both (either output pointer may be null)
//   channel_sums(dy, batch, channels, pixels, db)   the bias gradient
// conv_transpose2d is the adjoint of conv2d, so ops/conv.hpp builds it from the same two kernels.
//
// How (the classic im2col lowering, but never the whole column matrix):
//   The output pixels of all images, flattened to q = n*P + p (P = Ho*Wo), are cut into TILES of
//   256 columns or more. For one tile and one group, im2col writes the [C/g*kh*kw, tile] column
//   matrix into a buffer of about 1 MB, which stays in L2 (the full matrix of VGG conv1_2 at batch
//   8 would be 75 MB and every GEMM would stream it from DRAM: perf-anchors §A.3), then
//       forward:          Y[:, tile]  = W_g · col                 (M = O/g, K = C/g*kh*kw)
//       backward-weight:  dW_g       += dY[:, tile] · colᵀ
//       backward-data:    dcol        = W_gᵀ · dY[:, tile], then col2im adds dcol into dX.
//   A 1x1, stride-1, unpadded conv needs no im2col: x itself is the column matrix.
//   Large images get several tiles each; small images (conv5 at 4x4) are packed several to a
//   tile so the GEMM still has a wide N.
//
// Threads, two ways (TilePlan::shared):
//   - many tiles: one contiguous range of tiles per thread (parallel_for, static). Forward outputs
//     are disjoint per tile. Backward-weight sums into one dW copy per thread, added in thread order
//     at the end; backward-data writes images a thread owns completely straight into dX and the (at
//     most two) images it shares with a neighbour into private buffers, also added in thread order.
//   - few tiles (or a large dW for few columns): tiles one after another, each step (im2col, GEMM,
//     col2im) split across threads into disjoint pieces: by channel, or by rows/columns of the GEMM.
// Either way the same inputs and thread count give the same bits, with no atomics and no locks.
// Backward-data and backward-weight are separate passes over dY: one fused pass holding col, dcol,
// W and dW at once was measured 10-20% slower (1 and 2 threads, VGG-16 layers).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/cpu/gemm.hpp"
#include "seam/cpu/parallel.hpp"

namespace seam::cpu {

/// Everything a conv kernel needs to know about the shapes (all sizes in elements, NCHW).
struct ConvGeometry {
    int64_t batch = 1, in_channels = 1, in_h = 1, in_w = 1;
    int64_t out_channels = 1, kernel_h = 1, kernel_w = 1;
    int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
    int64_t groups = 1;
    int64_t out_h = 1, out_w = 1;  // explicit: conv_transpose2d's adjoint may use fewer rows than fit

    int64_t group_in() const { return in_channels / groups; }    // C/g
    int64_t group_out() const { return out_channels / groups; }  // O/g
    int64_t patch() const { return group_in() * kernel_h * kernel_w; }  // GEMM depth of the forward
    int64_t in_pixels() const { return in_h * in_w; }
    int64_t out_pixels() const { return out_h * out_w; }
    /// 1x1 kernel, stride 1, no padding: the input already is the column matrix.
    bool pointwise() const {
        return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0 &&
               out_h == in_h && out_w == in_w;
    }
    /// Multiply-adds of the forward (= of backward-data = of backward-weight).
    double macs() const {
        return static_cast<double>(batch) * out_channels * out_pixels() * patch();
    }
};

namespace detail {

/// Bytes of column buffer one tile aims for (about half of a 2 MB L2), and the fewest columns a tile
/// gets even when that overflows the budget: a GEMM whose N is a few dozen columns spends its time
/// re-packing the weight matrix (9 MB for VGG's 512-channel layers). Chosen by timing VGG-16 layers:
/// budgets of 0.5-1 MB were within noise of each other, 2-4 MB lost 5-15% on conv1_2, and tiles of
/// 64 columns lost 20-40% in the backward passes of conv4_2/conv5_2.
inline constexpr int64_t kColumnTileBytes = 1024 * 1024;
inline constexpr int64_t kMinTileColumns = 256;

/// A run of output pixels: images [first_image, first_image + images), pixels [p_begin, p_end) of
/// each. Either one image and part of its pixels, or several whole images.
struct Tile {
    int64_t first_image, images, p_begin, p_end;
    int64_t columns() const { return images * (p_end - p_begin); }
};

struct TilePlan {
    int64_t tiles_per_image = 1;  // > 1: tiles cut images; == 1 with images_per_tile == 1: one image a tile
    int64_t images_per_tile = 1;  // > 1: tiles pack whole images
    int64_t tile_pixels = 1;      // pixels per tile within an image (when tiles_per_image > 1)
    int64_t count = 0;            // number of tiles
    int64_t max_columns = 0;      // widest tile
    // false: each thread takes its own contiguous range of tiles (many tiles);
    // true: tiles are processed one after another and every step is split across threads (few tiles).
    bool shared = false;

    Tile tile(const ConvGeometry& g, int64_t t) const {
        const int64_t P = g.out_pixels();
        if (images_per_tile > 1) {
            int64_t n0 = t * images_per_tile;
            return {n0, std::min(images_per_tile, g.batch - n0), 0, P};
        }
        int64_t n = t / tiles_per_image, i = t % tiles_per_image;
        int64_t lo = i * tile_pixels, hi = std::min(P, lo + tile_pixels);
        return {n, 1, lo, hi};
    }
};

/// Tiles of about `width` columns: several per image when images are large, several images per tile
/// when they are small (never splitting a small image).
inline TilePlan tiles_of_width(const ConvGeometry& g, int64_t width) {
    TilePlan plan;
    const int64_t P = std::max<int64_t>(1, g.out_pixels());
    if (P >= width || g.batch == 1) {
        plan.tiles_per_image = std::max<int64_t>(1, (P + width - 1) / width);
        plan.tile_pixels = (P + plan.tiles_per_image - 1) / plan.tiles_per_image;
        if (plan.tiles_per_image > 1) plan.tile_pixels = (plan.tile_pixels + 15) / 16 * 16;  // whole vectors
        plan.tiles_per_image = (P + plan.tile_pixels - 1) / plan.tile_pixels;
        plan.count = g.batch * plan.tiles_per_image;
        plan.max_columns = plan.tile_pixels;
    } else {
        const int64_t per_tile = std::clamp<int64_t>(width / P, 1, g.batch);
        plan.images_per_tile = per_tile;
        plan.tile_pixels = P;
        plan.count = (g.batch + per_tile - 1) / per_tile;
        plan.max_columns = per_tile * P;
    }
    return plan;
}

/// Which of the three passes a plan is for: they differ in how threads may share the work.
enum class ConvPass { forward, backward_data, backward_weight };

/// Below this many output columns per thread, backward-weight lets threads share each tile instead
/// of giving each thread its own copy of dW to sum at the end: zeroing, filling and adding a copy
/// of dW only pays off over many columns. Measured with 2 threads on VGG-16 at batch 8: per-thread
/// copies gave 157-174 GFLOP/s on conv3_2 (1024 columns a thread) and 108-124 on conv4_2 (256),
/// shared tiles 244-248 and 217-228; on conv2_2 (4096 a thread) copies won, 245-250 vs 227-229.
inline constexpr int64_t kPrivateWeightColumns = 2048;

template <class T>
inline TilePlan plan_tiles(const ConvGeometry& g, int64_t threads, ConvPass pass) {
    const int64_t budget = kColumnTileBytes / static_cast<int64_t>(sizeof(T));
    const int64_t width = std::max(kMinTileColumns, budget / std::max<int64_t>(1, g.patch()) / 16 * 16);
    TilePlan plan = tiles_of_width(g, width);
    // Threads own whole tiles when there are enough to share evenly; otherwise (VGG's conv5 at
    // batch 8 is a single tile of 128 columns) they work together on each tile.
    plan.shared = threads > 1 && !(plan.count % threads == 0 || plan.count >= 4 * threads);
    if (pass == ConvPass::backward_weight && threads > 1 && g.batch * g.out_pixels() < kPrivateWeightColumns * threads)
        plan.shared = true;
    return plan;
}

/// The images that tiles [t_begin, t_end) touch but do not cover completely (some of their tiles
/// belong to another thread's range): at most the first and the last. Only a plan that cuts images
/// into several tiles can have any.
inline std::vector<int64_t> images_not_owned(const TilePlan& plan, const ConvGeometry& g, int64_t t_begin,
                                             int64_t t_end) {
    std::vector<int64_t> out;
    if (t_begin >= t_end || plan.images_per_tile > 1) return out;
    const int64_t first = plan.tile(g, t_begin).first_image, last = plan.tile(g, t_end - 1).first_image;
    for (int64_t n : {first, last}) {
        const int64_t lo = n * plan.tiles_per_image, hi = lo + plan.tiles_per_image;
        const bool owned = lo >= t_begin && hi <= t_end;
        if (!owned && (out.empty() || out.back() != n)) out.push_back(n);
    }
    return out;
}

/// Number of per-thread chunks for `tiles` tiles of `macs_per_tile` multiply-adds each.
inline int64_t chunk_count(int64_t tiles, double macs_per_tile) {
    if (in_parallel_region()) return 1;
    if (macs_per_tile * static_cast<double>(tiles) < static_cast<double>(kParallelGemmWork)) return 1;
    return std::max<int64_t>(1, std::min<int64_t>(num_threads(), tiles));
}

/// Run f(chunk, first_tile, end_tile) for each of `chunks` contiguous tile ranges, one per thread.
template <class F>
inline void for_each_chunk(int64_t chunks, int64_t tiles, F&& f) {
    parallel_for(0, chunks, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t c = lo; c < hi; ++c) f(c, tiles * c / chunks, tiles * (c + 1) / chunks);
    });
}

/// Output columns wo in [lo, hi) whose input column wo*stride - pad + offset lies inside [0, width).
inline void valid_range(int64_t out_extent, int64_t in_extent, int64_t stride, int64_t pad, int64_t offset,
                        int64_t& lo, int64_t& hi) {
    // need 0 <= wo*stride + (offset - pad) < in_extent
    const int64_t shift = offset - pad;
    lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
    hi = in_extent - shift <= 0 ? 0 : (in_extent - shift + stride - 1) / stride;
    lo = std::min(lo, out_extent);
    hi = std::clamp(hi, lo, out_extent);
}

/// Walk the (image, output row, column run) segments of a tile for one kernel tap (ki, kj):
/// f(image_in_tile, hi (input row, may be out of range), column offset in the tile, wo_begin, wo_end).
template <class F>
inline void for_each_row_segment(const ConvGeometry& g, const Tile& tile, F&& f) {
    const int64_t Wo = g.out_w;
    const int64_t span = tile.p_end - tile.p_begin;
    for (int64_t i = 0; i < tile.images; ++i) {
        int64_t p = tile.p_begin;
        while (p < tile.p_end) {
            const int64_t ho = p / Wo, wo0 = p % Wo;
            const int64_t wo1 = std::min(Wo, wo0 + (tile.p_end - p));
            f(i, ho, i * span + (p - tile.p_begin), wo0, wo1);
            p += wo1 - wo0;
        }
    }
}

/// col[row, j] for the tile's columns j and rows (c, ki, kj) of channels c0 + [c_begin, c_end)
/// (c0 is the group's first channel; rows are numbered within the group).
template <class T>
inline void im2col_tile(const ConvGeometry& g, const T* x, const Tile& tile, int64_t c0, int64_t c_begin,
                        int64_t c_end, T* col) {
    const int64_t width = tile.columns();
    const int64_t H = g.in_h, W = g.in_w, sw = g.stride_w;
    for (int64_t cl = c_begin; cl < c_end; ++cl) {
        for (int64_t ki = 0; ki < g.kernel_h; ++ki) {
            for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
                T* dst = col + ((cl * g.kernel_h + ki) * g.kernel_w + kj) * width;
                int64_t valid_lo, valid_hi;
                valid_range(g.out_w, W, sw, g.pad_w, kj * g.dilation_w, valid_lo, valid_hi);
                const int64_t shift = kj * g.dilation_w - g.pad_w;  // input column = wo*sw + shift
                for_each_row_segment(g, tile, [&](int64_t i, int64_t ho, int64_t j0, int64_t wo0, int64_t wo1) {
                    T* d = dst + j0;  // d[wo - wo0] is the column of output pixel (ho, wo)
                    const int64_t hi = ho * g.stride_h - g.pad_h + ki * g.dilation_h;
                    if (hi < 0 || hi >= H) {
                        std::fill(d, d + (wo1 - wo0), T(0));
                        return;
                    }
                    const T* src = x + ((tile.first_image + i) * g.in_channels + c0 + cl) * H * W + hi * W;
                    const int64_t a = std::clamp(valid_lo, wo0, wo1), b = std::clamp(valid_hi, wo0, wo1);
                    std::fill(d, d + (a - wo0), T(0));
                    if (sw == 1) std::memcpy(d + (a - wo0), src + a + shift, static_cast<size_t>(b - a) * sizeof(T));
                    else
                        for (int64_t wo = a; wo < b; ++wo) d[wo - wo0] = src[wo * sw + shift];
                    std::fill(d + (b - wo0), d + (wo1 - wo0), T(0));
                });
            }
        }
    }
}

/// The adjoint of im2col_tile: dx[image, c, hi, wi] += dcol[row, j] for every in-range tap.
/// `image_base(i)` gives the [C, H, W] block to add into for image i of the tile. Different
/// channels touch disjoint parts of dx, so channel ranges may run on different threads.
template <class T, class ImageBase>
inline void col2im_tile(const ConvGeometry& g, const T* dcol, const Tile& tile, int64_t c0, int64_t c_begin,
                        int64_t c_end, ImageBase&& image_base) {
    const int64_t width = tile.columns();
    const int64_t H = g.in_h, W = g.in_w, sw = g.stride_w;
    for (int64_t cl = c_begin; cl < c_end; ++cl) {
        for (int64_t ki = 0; ki < g.kernel_h; ++ki) {
            for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
                const T* srcrow = dcol + ((cl * g.kernel_h + ki) * g.kernel_w + kj) * width;
                int64_t valid_lo, valid_hi;
                valid_range(g.out_w, W, sw, g.pad_w, kj * g.dilation_w, valid_lo, valid_hi);
                const int64_t shift = kj * g.dilation_w - g.pad_w;
                for_each_row_segment(g, tile, [&](int64_t i, int64_t ho, int64_t j0, int64_t wo0, int64_t wo1) {
                    const int64_t hi = ho * g.stride_h - g.pad_h + ki * g.dilation_h;
                    if (hi < 0 || hi >= H) return;
                    const T* s = srcrow + j0;  // s[wo - wo0] belongs to output pixel (ho, wo)
                    T* d = image_base(i) + (c0 + cl) * H * W + hi * W;
                    const int64_t a = std::clamp(valid_lo, wo0, wo1), b = std::clamp(valid_hi, wo0, wo1);
                    if (sw == 1)
                        for (int64_t wo = a; wo < b; ++wo) d[wo + shift] += s[wo - wo0];
                    else
                        for (int64_t wo = a; wo < b; ++wo) d[wo * sw + shift] += s[wo - wo0];
                });
            }
        }
    }
}

/// Copy the rows [o0, o0 + rows) of an NCHW tensor's pixels for the tile into a [rows, columns] matrix.
template <class T>
inline void gather_tile(const T* y, int64_t channels, int64_t P, const Tile& tile, int64_t o0, int64_t rows, T* out) {
    const int64_t span = tile.p_end - tile.p_begin, width = tile.columns();
    for (int64_t o = 0; o < rows; ++o)
        for (int64_t i = 0; i < tile.images; ++i)
            std::memcpy(out + o * width + i * span, y + ((tile.first_image + i) * channels + o0 + o) * P + tile.p_begin,
                        static_cast<size_t>(span) * sizeof(T));
}

/// The inverse of gather_tile.
template <class T>
inline void scatter_tile(const T* in, int64_t channels, int64_t P, const Tile& tile, int64_t o0, int64_t rows, T* y) {
    const int64_t span = tile.p_end - tile.p_begin, width = tile.columns();
    for (int64_t o = 0; o < rows; ++o)
        for (int64_t i = 0; i < tile.images; ++i)
            std::memcpy(y + ((tile.first_image + i) * channels + o0 + o) * P + tile.p_begin, in + o * width + i * span,
                        static_cast<size_t>(span) * sizeof(T));
}

/// Shared-tile helpers: one step of a tile split across threads (see TilePlan::shared).
template <class T>
inline void parallel_im2col(const ConvGeometry& g, const T* x, const Tile& tile, int64_t c0, T* col) {
    parallel_for(0, g.group_in(), 1, [&](int64_t lo, int64_t hi) { im2col_tile(g, x, tile, c0, lo, hi, col); });
}

}  // namespace detail

/// y[N, O, Ho, Wo] = conv2d(x[N, C, H, W], w[O, C/g, kh, kw]) + bias[O] (bias may be null).
template <class T>
inline void conv2d_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
    const int64_t P = g.out_pixels(), Og = g.group_out(), K = g.patch();
    if (g.batch == 0 || g.out_channels == 0 || P == 0) return;
    const int64_t threads = in_parallel_region() ? 1 : num_threads();
    const detail::TilePlan plan = detail::plan_tiles<T>(g, threads, detail::ConvPass::forward);
    const bool direct = g.pointwise() && plan.images_per_tile == 1;  // x is the column matrix

    // One tile, all groups: im2col, GEMM (straight into y when the tile is one image), bias.
    // `shared` runs each step on all threads; otherwise the caller is one thread among several.
    auto run_tile = [&](const detail::Tile& tile, std::vector<T>& col, std::vector<T>& out, bool shared) {
        const int64_t width = tile.columns();
        for (int64_t gi = 0; gi < g.groups; ++gi) {
            const T* wg = w + gi * Og * K;
            const T* b;
            int64_t ldb;
            if (direct) {
                b = x + (tile.first_image * g.in_channels + gi * g.group_in()) * P + tile.p_begin;
                ldb = P;
            } else {
                if (shared) detail::parallel_im2col(g, x, tile, gi * g.group_in(), col.data());
                else detail::im2col_tile(g, x, tile, gi * g.group_in(), 0, g.group_in(), col.data());
                b = col.data();
                ldb = width;
            }
            T* c = tile.images == 1 ? y + (tile.first_image * g.out_channels + gi * Og) * P + tile.p_begin : out.data();
            const int64_t ldc = tile.images == 1 ? P : width;
            if (shared) parallel_gemm<T>(false, false, Og, width, K, T(1), wg, K, b, ldb, T(0), c, ldc);
            else gemm<T>(false, false, Og, width, K, T(1), wg, K, b, ldb, T(0), c, ldc);
            if (tile.images > 1) detail::scatter_tile(out.data(), g.out_channels, P, tile, gi * Og, Og, y);
        }
        if (bias) {  // while the tile's outputs are still in cache
            const int64_t span = tile.p_end - tile.p_begin;
            for (int64_t i = 0; i < tile.images; ++i)
                for (int64_t o = 0; o < g.out_channels; ++o) {
                    T* row = y + ((tile.first_image + i) * g.out_channels + o) * P + tile.p_begin;
                    const T bo = bias[o];
                    for (int64_t p = 0; p < span; ++p) row[p] += bo;
                }
        }
    };
    auto buffers = [&](std::vector<T>& col, std::vector<T>& out) {
        col.resize(direct ? 0 : static_cast<size_t>(K * plan.max_columns));
        out.resize(plan.images_per_tile > 1 ? static_cast<size_t>(Og * plan.max_columns) : 0);
    };

    if (plan.shared) {
        std::vector<T> col, out;
        buffers(col, out);
        for (int64_t t = 0; t < plan.count; ++t) run_tile(plan.tile(g, t), col, out, true);
        return;
    }
    const int64_t chunks = detail::chunk_count(plan.count, g.macs() / std::max<int64_t>(1, plan.count));
    detail::for_each_chunk(chunks, plan.count, [&](int64_t, int64_t t_begin, int64_t t_end) {
        std::vector<T> col, out;
        buffers(col, out);
        for (int64_t t = t_begin; t < t_end; ++t) run_tile(plan.tile(g, t), col, out, false);
    });
}

namespace detail {
/// Clear a buffer on all threads (dx can be tens of MB).
template <class T>
inline void parallel_zero(T* p, int64_t n) {
    parallel_for(0, n, kParallelGrain, [&](int64_t lo, int64_t hi) { std::fill(p + lo, p + hi, T(0)); });
}

/// The dY columns of one tile and group as a matrix: straight from dy when the tile is one image,
/// else gathered into `scratch`.
template <class T>
inline const T* dy_tile(const ConvGeometry& g, const T* dy, const Tile& tile, int64_t group, std::vector<T>& scratch,
                        int64_t& ld) {
    const int64_t P = g.out_pixels(), Og = g.group_out();
    if (tile.images == 1) {
        ld = P;
        return dy + (tile.first_image * g.out_channels + group * Og) * P + tile.p_begin;
    }
    gather_tile(dy, g.out_channels, P, tile, group * Og, Og, scratch.data());
    ld = tile.columns();
    return scratch.data();
}
}  // namespace detail

/// Backward-data of conv2d_forward: dx[N, C, H, W] = the gradient w.r.t. x for output gradient dy
/// (overwritten). This is also conv_transpose2d's forward.
template <class T>
inline void conv2d_backward_data(const ConvGeometry& g, const T* w, const T* dy, T* dx) {
    const int64_t P = g.out_pixels(), Og = g.group_out(), K = g.patch();
    const int64_t image_size = g.in_channels * g.in_pixels();
    detail::parallel_zero(dx, g.batch * image_size);
    if (g.batch == 0 || g.out_channels == 0 || P == 0) return;
    const int64_t threads = in_parallel_region() ? 1 : num_threads();
    const detail::TilePlan plan = detail::plan_tiles<T>(g, threads, detail::ConvPass::backward_data);
    const bool direct = g.pointwise() && plan.images_per_tile == 1;

    // One tile, all groups: dcol = W_gᵀ · dY_tile, then col2im adds it into image_base(n) for each
    // image n of the tile. `shared`: each step split across all threads (disjoint outputs).
    auto run_tile = [&](const detail::Tile& tile, std::vector<T>& dcol, std::vector<T>& dyt, auto&& image_base,
                        bool shared) {
        const int64_t width = tile.columns();
        for (int64_t gi = 0; gi < g.groups; ++gi) {
            const int64_t c0 = gi * g.group_in();
            int64_t ld_dy;
            const T* dyg = detail::dy_tile(g, dy, tile, gi, dyt, ld_dy);
            const T* wg = w + gi * Og * K;
            // 1x1 stride 1: each input pixel feeds one output pixel, so the product lands in dx directly
            T* c = direct ? image_base(tile.first_image) + c0 * P + tile.p_begin : dcol.data();
            const int64_t ldc = direct ? P : width;
            if (shared) parallel_gemm<T>(true, false, K, width, Og, T(1), wg, K, dyg, ld_dy, T(0), c, ldc);
            else gemm<T>(true, false, K, width, Og, T(1), wg, K, dyg, ld_dy, T(0), c, ldc);
            if (direct) continue;
            auto base = [&](int64_t i) { return image_base(tile.first_image + i); };
            if (shared)
                parallel_for(0, g.group_in(), 1, [&](int64_t lo, int64_t hi) {
                    detail::col2im_tile(g, dcol.data(), tile, c0, lo, hi, base);
                });
            else
                detail::col2im_tile(g, dcol.data(), tile, c0, 0, g.group_in(), base);
        }
    };
    auto buffers = [&](std::vector<T>& dcol, std::vector<T>& dyt) {
        dcol.resize(direct ? 0 : static_cast<size_t>(K * plan.max_columns));
        dyt.resize(plan.images_per_tile > 1 ? static_cast<size_t>(Og * plan.max_columns) : 0);
    };

    if (plan.shared) {
        std::vector<T> dcol, dyt;
        buffers(dcol, dyt);
        auto image_base = [&](int64_t n) { return dx + n * image_size; };
        for (int64_t t = 0; t < plan.count; ++t) run_tile(plan.tile(g, t), dcol, dyt, image_base, true);
        return;
    }
    const int64_t chunks = detail::chunk_count(plan.count, g.macs() / std::max<int64_t>(1, plan.count));
    // An image whose tiles all lie in one chunk is written straight into dx; the (at most two) images
    // a chunk shares with its neighbours go to private buffers, added in chunk order at the end.
    struct SharedImage {
        int64_t image;
        std::vector<T> values;
    };
    std::vector<std::vector<SharedImage>> shared(static_cast<size_t>(chunks));
    detail::for_each_chunk(chunks, plan.count, [&](int64_t c, int64_t t_begin, int64_t t_end) {
        if (t_begin >= t_end) return;
        auto& mine = shared[c];
        for (int64_t n : detail::images_not_owned(plan, g, t_begin, t_end))
            mine.push_back({n, std::vector<T>(static_cast<size_t>(image_size), T(0))});
        auto image_base = [&](int64_t n) -> T* {
            for (auto& s : mine)
                if (s.image == n) return s.values.data();
            return dx + n * image_size;
        };
        std::vector<T> dcol, dyt;
        buffers(dcol, dyt);
        for (int64_t t = t_begin; t < t_end; ++t) run_tile(plan.tile(g, t), dcol, dyt, image_base, false);
    });
    for (int64_t c = 0; c < chunks; ++c)  // fixed order: deterministic for a given thread count
        for (const auto& s : shared[c]) {
            T* d = dx + s.image * image_size;
            const T* p = s.values.data();
            for (int64_t i = 0; i < image_size; ++i) d[i] += p[i];
        }
}

/// Backward-weight of conv2d_forward: dw[O, C/g, kh, kw] = the gradient w.r.t. w (overwritten).
template <class T>
inline void conv2d_backward_weight(const ConvGeometry& g, const T* x, const T* dy, T* dw) {
    const int64_t P = g.out_pixels(), Og = g.group_out(), K = g.patch();
    const int64_t weight_size = g.out_channels * K;
    detail::parallel_zero(dw, weight_size);
    if (g.batch == 0 || g.out_channels == 0 || P == 0) return;
    const int64_t threads = in_parallel_region() ? 1 : num_threads();
    const detail::TilePlan plan = detail::plan_tiles<T>(g, threads, detail::ConvPass::backward_weight);
    const bool direct = g.pointwise() && plan.images_per_tile == 1;

    // One tile, all groups: dW_g += dY_tile · colᵀ into dw_acc.
    auto run_tile = [&](const detail::Tile& tile, std::vector<T>& col, std::vector<T>& dyt, T* dw_acc, bool shared) {
        const int64_t width = tile.columns();
        for (int64_t gi = 0; gi < g.groups; ++gi) {
            const int64_t c0 = gi * g.group_in();
            int64_t ld_dy;
            const T* dyg = detail::dy_tile(g, dy, tile, gi, dyt, ld_dy);
            const T* b;
            int64_t ldb;
            if (direct) {
                b = x + (tile.first_image * g.in_channels + c0) * P + tile.p_begin;
                ldb = P;
            } else {
                if (shared) detail::parallel_im2col(g, x, tile, c0, col.data());
                else detail::im2col_tile(g, x, tile, c0, 0, g.group_in(), col.data());
                b = col.data();
                ldb = width;
            }
            T* c = dw_acc + gi * Og * K;
            if (shared) parallel_gemm<T>(false, true, Og, K, width, T(1), dyg, ld_dy, b, ldb, T(1), c, K);
            else gemm<T>(false, true, Og, K, width, T(1), dyg, ld_dy, b, ldb, T(1), c, K);
        }
    };
    auto buffers = [&](std::vector<T>& col, std::vector<T>& dyt) {
        col.resize(direct ? 0 : static_cast<size_t>(K * plan.max_columns));
        dyt.resize(plan.images_per_tile > 1 ? static_cast<size_t>(Og * plan.max_columns) : 0);
    };

    if (plan.shared) {
        std::vector<T> col, dyt;
        buffers(col, dyt);
        for (int64_t t = 0; t < plan.count; ++t) run_tile(plan.tile(g, t), col, dyt, dw, true);
        return;
    }
    const int64_t chunks = detail::chunk_count(plan.count, g.macs() / std::max<int64_t>(1, plan.count));
    // Each chunk sums into its own copy of dW (chunk 0 into dw itself), added in chunk order.
    std::vector<std::vector<T>> partial(static_cast<size_t>(chunks));
    detail::for_each_chunk(chunks, plan.count, [&](int64_t c, int64_t t_begin, int64_t t_end) {
        if (t_begin >= t_end) return;
        T* dw_acc = dw;
        if (c > 0) {
            partial[c].assign(static_cast<size_t>(weight_size), T(0));
            dw_acc = partial[c].data();
        }
        std::vector<T> col, dyt;
        buffers(col, dyt);
        for (int64_t t = t_begin; t < t_end; ++t) run_tile(plan.tile(g, t), col, dyt, dw_acc, false);
    });
    for (int64_t c = 1; c < chunks; ++c) {
        if (partial[c].empty()) continue;
        const T* p = partial[c].data();
        parallel_for(0, weight_size, kParallelGrain, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) dw[i] += p[i];
        });
    }
}

/// Both gradients of conv2d_forward (either pointer may be null to skip it). Two passes over dy
/// rather than one: keeping col, dcol, W and dW in cache at once was measured 10-20% slower.
template <class T>
inline void conv2d_backward(const ConvGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw) {
    if (dx) conv2d_backward_data(g, w, dy, dx);
    if (dw) conv2d_backward_weight(g, x, dy, dw);
}

/// db[c] = sum over images and pixels of dy[n, c, :] (the bias gradient), in a fixed order.
template <class T>
inline void channel_sums(const T* dy, int64_t batch, int64_t channels, int64_t pixels, T* db) {
    parallel_for(0, channels, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, batch * pixels)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t c = lo; c < hi; ++c) {
                         T total = 0;
                         for (int64_t n = 0; n < batch; ++n) {
                             const T* row = dy + (n * channels + c) * pixels;
                             T s = 0;
                             for (int64_t p = 0; p < pixels; ++p) s += row[p];
                             total += s;
                         }
                         db[c] = total;
                     }
                 });
}

}  // namespace seam::cpu
