// seam/train/plot.hpp — pictures for training and evaluation, drawn pixel by pixel into a
// data::Image and saved as PNG with data::write_png: no plotting library, no font file.
//
//   drawing primitives   put_pixel, blend_pixel, draw_line (Bresenham), draw_line_aa (Wu),
//                        draw_polyline (anti-aliased, any width), fill_rect, draw_rect,
//                        fill_circle, draw_circle, draw_cross, draw_text, draw_text_vertical
//   line_plot            curves with axes, ticks at round numbers, grid, legend and title;
//                        plot_log_columns / write_training_plots draw them from a TrainingLog
//   draw_landmarks       the 8 DeepFashion slots, a colour per slot: filled dot (visible),
//                        ring (occluded), cross (truncated)
//   overlay_heatmap      a map (any resolution) upsampled bilinearly, jet-coloured, alpha-blended
//   overlay_attention    the same map as attention: low weights dim the image, high ones glow
//   retrieval_grid       each query, then its top-k gallery images framed green (correct) or
//                        red (wrong), the layout of the survey's Figure 5
//   confusion_matrix_image  cells shaded by the row's fraction, counts inside, class labels
//
// Coordinates are pixels, x to the right and y down, (0, 0) the top-left pixel. Every primitive
// clips at the image border, so drawing partly (or wholly) outside is safe. Images of 1, 3 or 4
// channels can be drawn on (grey images receive the colour's luminance; alpha is set opaque);
// the picture functions return 3-channel RGB images.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/core/tensor.hpp"
#include "seam/data/deepfashion_common.hpp"
#include "seam/data/image.hpp"
#include "seam/data/transforms.hpp"
#include "seam/train/font.hpp"
#include "seam/train/log.hpp"

namespace seam::train {

using data::Image;

struct Color {
    uint8_t r = 0, g = 0, b = 0;
    bool operator==(const Color&) const = default;
};

namespace colors {
inline constexpr Color white{255, 255, 255};
inline constexpr Color black{0, 0, 0};
inline constexpr Color text{30, 30, 30};
inline constexpr Color axis{70, 70, 70};
inline constexpr Color grid{226, 226, 226};
inline constexpr Color correct{34, 160, 60};   // retrieval: a gallery item of the query's identity
inline constexpr Color wrong{214, 40, 40};     // retrieval: any other item
inline constexpr Color query{60, 60, 60};
}  // namespace colors

/// Ten distinct colours (matplotlib's "tab10"), for curves.
inline constexpr std::array<Color, 10> kSeriesColors{{{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                                      {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                                                      {188, 189, 34}, {23, 190, 207}}};

/// One colour per landmark slot (left/right collar, sleeve, waistline, hem): left and right of a
/// pair are neighbouring hues, so a swapped pair is easy to spot.
inline constexpr std::array<Color, data::kLandmarkSlots> kLandmarkColors{
    {{230, 25, 75}, {255, 140, 0}, {255, 225, 25}, {60, 180, 75}, {0, 190, 190}, {0, 130, 200}, {145, 30, 180}, {240, 50, 230}}};

/// a + (b - a) t, t clamped to [0, 1].
inline Color mix(Color a, Color b, double t) {
    t = std::clamp(t, 0.0, 1.0);
    auto channel = [t](uint8_t x, uint8_t y) { return static_cast<uint8_t>(std::lround(x + (y - x) * t)); };
    return {channel(a.r, b.r), channel(a.g, b.g), channel(a.b, b.b)};
}

/// The jet colormap: dark blue (0) -> blue -> cyan -> yellow -> red -> dark red (1).
inline Color jet(double t) {
    t = std::isfinite(t) ? std::clamp(t, 0.0, 1.0) : 0.0;
    auto ramp = [](double v) { return static_cast<uint8_t>(std::lround(255.0 * std::clamp(v, 0.0, 1.0))); };
    return {ramp(1.5 - std::abs(4.0 * t - 3.0)), ramp(1.5 - std::abs(4.0 * t - 2.0)), ramp(1.5 - std::abs(4.0 * t - 1.0))};
}

/// White (0) to dark blue (1) through light blue, for the confusion matrix.
inline Color blues(double t) {
    t = std::isfinite(t) ? std::clamp(t, 0.0, 1.0) : 0.0;
    constexpr Color low{247, 251, 255}, middle{107, 174, 214}, high{8, 48, 107};
    return t < 0.5 ? mix(low, middle, t * 2.0) : mix(middle, high, t * 2.0 - 1.0);
}

// ---------------------------------------------------------------------------------------------
// Pixels

inline bool inside(const Image& image, int x, int y) { return x >= 0 && y >= 0 && x < image.width && y < image.height; }

/// The colour at (x, y) (grey images read as grey colours); black outside the image.
inline Color pixel_color(const Image& image, int x, int y) {
    if (!inside(image, x, y)) return colors::black;
    const uint8_t* p = &image.pixels[image.index(x, y)];
    if (image.channels < 3) return {p[0], p[0], p[0]};
    return {p[0], p[1], p[2]};
}

/// Sets (x, y) to `color`; nothing outside the image.
inline void put_pixel(Image& image, int x, int y, Color color) {
    if (!inside(image, x, y)) return;
    uint8_t* p = &image.pixels[image.index(x, y)];
    if (image.channels < 3) {
        p[0] = static_cast<uint8_t>((299 * color.r + 587 * color.g + 114 * color.b + 500) / 1000);
        if (image.channels == 2) p[1] = 255;
        return;
    }
    p[0] = color.r;
    p[1] = color.g;
    p[2] = color.b;
    if (image.channels == 4) p[3] = 255;
}

/// Mixes `color` into (x, y) with weight alpha in [0, 1].
inline void blend_pixel(Image& image, int x, int y, Color color, double alpha) {
    if (!inside(image, x, y) || !(alpha > 0.0)) return;
    put_pixel(image, x, y, alpha >= 1.0 ? color : mix(pixel_color(image, x, y), color, alpha));
}

inline Image blank_image(int width, int height, Color fill = colors::white) {
    SEAM_CHECK(width > 0 && height > 0, "blank_image: size ", width, "x", height, " must be positive");
    Image image(width, height, 3);
    for (size_t i = 0; i < image.pixels.size(); i += 3) {
        image.pixels[i] = fill.r;
        image.pixels[i + 1] = fill.g;
        image.pixels[i + 2] = fill.b;
    }
    return image;
}

/// An RGB copy of a 1-, 3- or 4-channel image.
inline Image to_rgb(const Image& image) {
    SEAM_CHECK(image.width > 0 && image.height > 0 && image.channels >= 1 && image.channels <= 4,
               "to_rgb: bad image ", image.width, "x", image.height, "x", image.channels);
    if (image.channels == 3) return image;
    Image out(image.width, image.height, 3);
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x) put_pixel(out, x, y, pixel_color(image, x, y));
    return out;
}

// ---------------------------------------------------------------------------------------------
// Shapes

/// Fills the rectangle [x, x + w) x [y, y + h).
inline void fill_rect(Image& image, int x, int y, int w, int h, Color color) {
    const int x0 = std::max(x, 0), y0 = std::max(y, 0);
    const int x1 = std::min<int64_t>(int64_t(x) + w, image.width), y1 = std::min<int64_t>(int64_t(y) + h, image.height);
    for (int yy = y0; yy < y1; ++yy)
        for (int xx = x0; xx < x1; ++xx) put_pixel(image, xx, yy, color);
}

/// A border of `thickness` pixels drawn inside the rectangle [x, x + w) x [y, y + h).
inline void draw_rect(Image& image, int x, int y, int w, int h, Color color, int thickness = 1) {
    if (w <= 0 || h <= 0 || thickness <= 0) return;
    const int t = std::min({thickness, (w + 1) / 2, (h + 1) / 2});
    fill_rect(image, x, y, w, t, color);                  // top
    fill_rect(image, x, y + h - t, w, t, color);          // bottom
    fill_rect(image, x, y + t, t, h - 2 * t, color);      // left
    fill_rect(image, x + w - t, y + t, t, h - 2 * t, color);  // right
}

/// Bresenham's line from (x0, y0) to (x1, y1), both ends included, integer steps only. A
/// thickness above 1 stamps a square of that size centred on each point.
inline void draw_line(Image& image, int x0, int y0, int x1, int y1, Color color, int thickness = 1) {
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    const int before = (thickness - 1) / 2;  // pixels of the square left of / above the point
    int error = dx + dy;                      // error of the next pixel, times dx·dy
    for (;;) {
        if (thickness <= 1) put_pixel(image, x0, y0, color);
        else fill_rect(image, x0 - before, y0 - before, thickness, thickness, color);
        if (x0 == x1 && y0 == y1) break;
        const int twice = 2 * error;
        if (twice >= dy) { error += dy; x0 += sx; }
        if (twice <= dx) { error += dx; y0 += sy; }
    }
}

/// Xiaolin Wu's anti-aliased line, one pixel wide: along the major axis each step covers two
/// pixels of the minor axis, weighted by how close the ideal line passes to each.
inline void draw_line_aa(Image& image, double x0, double y0, double x1, double y1, Color color) {
    if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
    const bool steep = std::abs(y1 - y0) > std::abs(x1 - x0);
    if (steep) { std::swap(x0, y0); std::swap(x1, y1); }
    if (x0 > x1) { std::swap(x0, x1); std::swap(y0, y1); }
    auto plot = [&](double major, double minor, double weight) {
        if (!(minor >= -1.0 && minor <= 1e7)) return;  // far off the image (and too big for an int)
        const int a = static_cast<int>(major), b = static_cast<int>(minor);
        if (steep) blend_pixel(image, b, a, color, weight);
        else blend_pixel(image, a, b, color, weight);
    };
    const double dx = x1 - x0, gradient = dx == 0.0 ? 1.0 : (y1 - y0) / dx;
    // Lines far outside the image would loop over millions of columns for nothing.
    const double limit = 4.0 * std::max(image.width, image.height) + 4.0;
    const double start = std::max(std::round(x0), -limit), end = std::min(std::round(x1), limit);
    for (double x = start; x <= end; x += 1.0) {
        const double y = y0 + gradient * (x - x0);
        const double base = std::floor(y), fraction = y - base;
        // The end pixels are weighted by how much of them the segment covers.
        double cover = 1.0;
        if (x == std::round(x0)) cover = 1.0 - (x0 + 0.5 - std::floor(x0 + 0.5));
        if (x == std::round(x1)) cover = std::min(cover, x1 + 0.5 - std::floor(x1 + 0.5));
        if (start == end) cover = 1.0;
        plot(x, base, (1.0 - fraction) * cover);
        plot(x, base + 1.0, fraction * cover);
    }
}

/// A filled disc of radius r (pixel centres within r + 0.5 of the centre).
inline void fill_circle(Image& image, int cx, int cy, int radius, Color color) {
    if (radius < 0) return;
    const double limit = (radius + 0.5) * (radius + 0.5);
    for (int dy = -radius; dy <= radius; ++dy)
        for (int dx = -radius; dx <= radius; ++dx)
            if (dx * dx + dy * dy <= limit) put_pixel(image, cx + dx, cy + dy, color);
}

/// A ring of outer radius r, `thickness` pixels wide (pixel centres at distance d with
/// r - thickness + 0.5 < d <= r + 0.5).
inline void draw_circle(Image& image, int cx, int cy, int radius, Color color, int thickness = 1) {
    if (radius < 0 || thickness <= 0) return;
    const double outer = (radius + 0.5) * (radius + 0.5);
    const double inner_radius = std::max(0.0, radius - thickness + 0.5);
    const double inner = inner_radius * inner_radius;
    for (int dy = -radius; dy <= radius; ++dy)
        for (int dx = -radius; dx <= radius; ++dx) {
            const double d2 = dx * dx + dy * dy;
            if (d2 <= outer && (d2 > inner || thickness > radius)) put_pixel(image, cx + dx, cy + dy, color);
        }
}

/// An X of two diagonals reaching `half` pixels from the centre.
inline void draw_cross(Image& image, int cx, int cy, int half, Color color, int thickness = 1) {
    draw_line(image, cx - half, cy - half, cx + half, cy + half, color, thickness);
    draw_line(image, cx - half, cy + half, cx + half, cy - half, color, thickness);
}

/// Anti-aliased curve through `points`, `width` pixels wide, clipped to the rectangle
/// [clip_x0, clip_x1) x [clip_y0, clip_y1) (the whole image by default). Each pixel is covered by
/// how far its centre lies from the nearest segment (1 inside, fading over one pixel at the edge);
/// taking the largest coverage over all segments, rather than blending each segment, keeps the
/// joints from turning darker than the rest of the curve.
struct ClipRect {
    int x0 = 0, y0 = 0, x1 = std::numeric_limits<int>::max(), y1 = std::numeric_limits<int>::max();
};
inline void draw_polyline(Image& image, const std::vector<std::pair<double, double>>& points, Color color,
                          double width = 2.0, ClipRect clip = {}) {
    if (points.empty() || image.width <= 0 || image.height <= 0) return;
    const int cx0 = std::max(clip.x0, 0), cy0 = std::max(clip.y0, 0);
    const int cx1 = std::min(clip.x1, image.width), cy1 = std::min(clip.y1, image.height);
    if (cx0 >= cx1 || cy0 >= cy1) return;
    const double half = std::max(width, 0.5) / 2.0;
    std::vector<float> coverage(static_cast<size_t>(cx1 - cx0) * static_cast<size_t>(cy1 - cy0), 0.0f);
    auto cover_segment = [&](double ax, double ay, double bx, double by) {
        const int x_lo = std::max(cx0, static_cast<int>(std::floor(std::min(ax, bx) - half - 1)));
        const int x_hi = std::min(cx1 - 1, static_cast<int>(std::ceil(std::max(ax, bx) + half + 1)));
        const int y_lo = std::max(cy0, static_cast<int>(std::floor(std::min(ay, by) - half - 1)));
        const int y_hi = std::min(cy1 - 1, static_cast<int>(std::ceil(std::max(ay, by) + half + 1)));
        const double vx = bx - ax, vy = by - ay, length2 = vx * vx + vy * vy;
        for (int y = y_lo; y <= y_hi; ++y)
            for (int x = x_lo; x <= x_hi; ++x) {
                // Distance from the pixel centre to the segment: project, clamp to the ends.
                const double px = x - ax, py = y - ay;
                const double t = length2 > 0 ? std::clamp((px * vx + py * vy) / length2, 0.0, 1.0) : 0.0;
                const double ex = px - t * vx, ey = py - t * vy;
                const double c = std::clamp(half + 0.5 - std::sqrt(ex * ex + ey * ey), 0.0, 1.0);
                float& slot = coverage[static_cast<size_t>(y - cy0) * static_cast<size_t>(cx1 - cx0) +
                                       static_cast<size_t>(x - cx0)];
                slot = std::max(slot, static_cast<float>(c));
            }
    };
    // Far-away points (a value off the axis range) are clamped to a band around the image: the
    // visible part of the segment barely moves, and the loops stay small.
    const double bound = 4.0 * std::max(image.width, image.height);
    auto segment = [&](const std::pair<double, double>& a, const std::pair<double, double>& b) {
        if (!std::isfinite(a.first) || !std::isfinite(a.second) || !std::isfinite(b.first) || !std::isfinite(b.second))
            return;
        cover_segment(std::clamp(a.first, -bound, bound), std::clamp(a.second, -bound, bound),
                      std::clamp(b.first, -bound, bound), std::clamp(b.second, -bound, bound));
    };
    if (points.size() == 1) segment(points[0], points[0]);  // a lone point is a dot
    for (size_t i = 0; i + 1 < points.size(); ++i) segment(points[i], points[i + 1]);
    for (int y = cy0; y < cy1; ++y)
        for (int x = cx0; x < cx1; ++x) {
            const float c = coverage[static_cast<size_t>(y - cy0) * static_cast<size_t>(cx1 - cx0) + static_cast<size_t>(x - cx0)];
            if (c > 0.0f) blend_pixel(image, x, y, color, c);
        }
}

// ---------------------------------------------------------------------------------------------
// Text (the glyphs of seam/train/font.hpp)

enum class Align { left, center, right };

/// Draws one line of text whose cap box starts at row y: capitals and digits fill rows
/// [y, y + 7·scale), descenders reach y + 9·scale. x is the left end, the centre or the right
/// end of the text, as `align` says. Every font pixel becomes a scale x scale square.
inline void draw_text(Image& image, int x, int y, std::string_view text, Color color, int scale = 1,
                      Align align = Align::left) {
    scale = std::max(scale, 1);
    const int width = font::text_width(text, scale);
    int pen = align == Align::left ? x : align == Align::center ? x - width / 2 : x - width;
    for (char c : text) {
        const int offset = font::ink_offset(c);
        for (int row = 0; row < font::kGlyphHeight; ++row)
            for (int col = offset; col < font::kGlyphWidth; ++col)
                if (font::pixel(c, col, row))
                    fill_rect(image, pen + (col - offset) * scale, y + row * scale, scale, scale, color);
        pen += font::advance(c) * scale;
    }
}

/// Text turned a quarter counter-clockwise (read bottom to top), as on a y axis. The cap box
/// occupies columns [x, x + 7·scale); `y` is the bottom end, the centre or the top end of the text.
inline void draw_text_vertical(Image& image, int x, int y, std::string_view text, Color color, int scale = 1,
                               Align align = Align::left) {
    scale = std::max(scale, 1);
    const int length = font::text_width(text, scale);
    int pen = align == Align::left ? y : align == Align::center ? y + length / 2 : y + length;
    for (char c : text) {
        const int offset = font::ink_offset(c);
        for (int row = 0; row < font::kGlyphHeight; ++row)
            for (int col = offset; col < font::kGlyphWidth; ++col)
                if (font::pixel(c, col, row))  // glyph column -> up the page, glyph row -> right
                    fill_rect(image, x + row * scale, pen - (col - offset + 1) * scale, scale, scale, color);
        pen -= font::advance(c) * scale;
    }
}

// ---------------------------------------------------------------------------------------------
// Axes

/// Tick positions at round numbers (1, 2 or 5 times a power of ten) covering [lo, hi].
struct Ticks {
    double first = 0, step = 1;
    int count = 0;
    int decimals = 0;  // enough to tell neighbouring ticks apart
    double at(int i) const { return first + step * i; }
};

/// About `target` ticks spanning [lo, hi]; `integers` keeps the step a whole number (epochs).
inline Ticks nice_ticks(double lo, double hi, int target = 6, bool integers = false) {
    if (!(hi > lo)) {  // one value (or none): a small range around it
        const double pad = std::abs(lo) > 0 ? std::abs(lo) * 0.1 : 1.0;
        lo -= pad;
        hi += pad;
    }
    const double raw = (hi - lo) / std::max(target, 1);
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double f = raw / magnitude;
    double step = (f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0) * magnitude;
    if (integers) step = std::max(1.0, std::round(step));
    Ticks ticks;
    const double first = std::floor(lo / step + 1e-9) * step;
    const double count = std::round((std::ceil(hi / step - 1e-9) * step - first) / step) + 1;
    if (!std::isfinite(first) || !(step > 0) || !std::isfinite(step) || !(count >= 1 && count <= 1000)) {
        // Ranges at the ends of double (1e-320 wide, or 1e308 apart): just the two ends.
        ticks.first = lo;
        ticks.step = std::isfinite(hi - lo) && hi > lo ? hi - lo : 1.0;
        ticks.count = 2;
        ticks.decimals = 6;
        return ticks;
    }
    ticks.first = first;
    ticks.step = step;
    ticks.count = static_cast<int>(count);
    ticks.decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
    return ticks;
}

/// A tick label: fixed decimals for ordinary magnitudes, short scientific notation otherwise.
inline std::string tick_label(double value, const Ticks& ticks) {
    if (std::abs(value) < ticks.step * 1e-9) value = 0.0;  // no "-0.0"
    char buf[48];
    const double size = std::max(std::abs(ticks.first), std::abs(ticks.at(ticks.count - 1)));
    if (size >= 1e6 || ticks.decimals > 5) std::snprintf(buf, sizeof buf, "%.3g", value);
    else std::snprintf(buf, sizeof buf, "%.*f", ticks.decimals, value);
    return buf;
}

// ---------------------------------------------------------------------------------------------
// Line plots

struct Series {
    std::string name;
    std::vector<double> x, y;      // equal lengths; a non-finite y breaks the curve there
    std::optional<Color> color;    // default: kSeriesColors by position
};

struct LinePlotOptions {
    int width = 720, height = 440;
    std::string title, x_label, y_label;
    double line_width = 2.0;
    int max_markers = 40;              // dots at the data points when a curve has at most this many
    std::optional<double> y_min, y_max;  // fixed y range (default: the data's, rounded out to ticks)
    bool integer_x = false;            // whole-number x ticks (epochs)
};

/// Curves on shared axes. Returns a width x height RGB image.
inline Image line_plot(const std::vector<Series>& series, const LinePlotOptions& options = {}) {
    SEAM_CHECK(options.width >= 160 && options.height >= 120, "line_plot: size ", options.width, "x", options.height,
               " is too small (at least 160x120)");
    double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
    for (const Series& s : series) {
        SEAM_CHECK(s.x.size() == s.y.size(), "line_plot: series \"", s.name, "\" has ", s.x.size(), " x values but ",
                   s.y.size(), " y values");
        for (size_t i = 0; i < s.x.size(); ++i) {
            if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
            x_lo = std::min(x_lo, s.x[i]);
            x_hi = std::max(x_hi, s.x[i]);
            y_lo = std::min(y_lo, s.y[i]);
            y_hi = std::max(y_hi, s.y[i]);
        }
    }
    if (!(x_lo <= x_hi)) x_lo = 0, x_hi = 1;  // nothing to draw: empty axes
    if (!(y_lo <= y_hi)) y_lo = 0, y_hi = 1;
    SEAM_CHECK(std::isfinite(options.y_min.value_or(0.0)) && std::isfinite(options.y_max.value_or(0.0)),
               "line_plot: y_min and y_max must be finite numbers");
    if (options.y_min) y_lo = *options.y_min;
    if (options.y_max) y_hi = *options.y_max;
    SEAM_CHECK(y_lo <= y_hi, "line_plot: y_min ", y_lo, " is above y_max ", y_hi);

    const Ticks xt = nice_ticks(x_lo, x_hi, 8, options.integer_x);
    Ticks yt = nice_ticks(y_lo, y_hi, 6);
    // x spans the data plus 2% on each side (markers at the ends stay inside the frame).
    const double x_pad = 0.02 * (x_hi - x_lo);
    const double x0v = x_hi > x_lo ? x_lo - x_pad : xt.first, x1v = x_hi > x_lo ? x_hi + x_pad : xt.at(xt.count - 1);
    const double y0v = options.y_min ? *options.y_min : yt.first;
    const double y1v = options.y_max ? *options.y_max : yt.at(yt.count - 1);

    // Margins from what goes in them.
    int widest_y_label = 0;
    for (int i = 0; i < yt.count; ++i) widest_y_label = std::max(widest_y_label, font::text_width(tick_label(yt.at(i), yt)));
    const int top = options.title.empty() ? 18 : 46;
    const int left = 12 + (options.y_label.empty() ? 0 : font::kGlyphHeight + 10) + widest_y_label + 10;
    const int bottom = 12 + font::kCapHeight + 10 + (options.x_label.empty() ? 0 : font::kGlyphHeight + 10);
    const int right = 24;
    const int px0 = left, py0 = top, px1 = options.width - right, py1 = options.height - bottom;  // plot box
    SEAM_CHECK(px1 - px0 >= 40 && py1 - py0 >= 40, "line_plot: ", options.width, "x", options.height,
               " leaves no room for the plot area");
    // Data -> pixel coordinates, clamped to a band around the image: a value far off the axis
    // range (or a range wider than a double can hold) must not become an infinite pixel position.
    auto band = [](double v) { return std::isnan(v) ? v : std::clamp(v, -1e5, 1e5); };
    auto to_px = [&](double x) { return band(px0 + (x - x0v) / (x1v - x0v) * (px1 - px0)); };
    auto to_py = [&](double y) { return band(py1 - (y - y0v) / (y1v - y0v) * (py1 - py0)); };

    Image image = blank_image(options.width, options.height);
    // Grid and tick labels.
    for (int i = 0; i < yt.count; ++i) {
        const double v = yt.at(i);
        if (v < y0v - 1e-9 * yt.step || v > y1v + 1e-9 * yt.step) continue;
        const int py = static_cast<int>(std::lround(to_py(v)));
        fill_rect(image, px0, py, px1 - px0, 1, colors::grid);
        fill_rect(image, px0 - 5, py, 5, 1, colors::axis);
        draw_text(image, px0 - 9, py - font::kCapHeight / 2, tick_label(v, yt), colors::text, 1, Align::right);
    }
    for (int i = 0; i < xt.count; ++i) {
        const double v = xt.at(i);
        if (v < x0v - 1e-9 * xt.step || v > x1v + 1e-9 * xt.step) continue;
        const int px = static_cast<int>(std::lround(to_px(v)));
        fill_rect(image, px, py0, 1, py1 - py0, colors::grid);
        fill_rect(image, px, py1, 1, 5, colors::axis);
        draw_text(image, px, py1 + 10, tick_label(v, xt), colors::text, 1, Align::center);
    }
    draw_rect(image, px0 - 1, py0 - 1, px1 - px0 + 2, py1 - py0 + 2, colors::axis);

    // Curves: each run of finite points is one polyline.
    const ClipRect clip{px0, py0, px1, py1};
    std::vector<std::vector<std::pair<double, double>>> drawn(series.size());  // pixel points, for the legend
    for (size_t s = 0; s < series.size(); ++s) {
        const Color color = series[s].color.value_or(kSeriesColors[s % kSeriesColors.size()]);
        std::vector<std::pair<double, double>> run;
        size_t finite = 0;
        auto flush = [&] {
            draw_polyline(image, run, color, options.line_width, clip);
            run.clear();
        };
        for (size_t i = 0; i < series[s].x.size(); ++i) {
            if (!std::isfinite(series[s].x[i]) || !std::isfinite(series[s].y[i])) {
                flush();
                continue;
            }
            const double px = to_px(series[s].x[i]), py = to_py(series[s].y[i]);
            if (std::isnan(px) || std::isnan(py)) {
                flush();
                continue;
            }
            run.emplace_back(px, py);
            drawn[s].push_back(run.back());
            ++finite;
        }
        flush();
        if (finite <= static_cast<size_t>(options.max_markers)) {
            for (const auto& [x, y] : drawn[s]) {
                if (x < px0 - 0.5 || x > px1 + 0.5 || y < py0 - 0.5 || y > py1 + 0.5) continue;
                fill_circle(image, static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y)), 3, color);
            }
        }
    }

    // Legend in the corner of the plot box that hides the fewest curve points.
    int named = 0, widest_name = 0;
    for (const Series& s : series)
        if (!s.name.empty()) ++named, widest_name = std::max(widest_name, font::text_width(s.name));
    if (named > 0) {
        const int row = 15, box_w = 10 + 22 + 8 + widest_name + 10, box_h = 8 + named * row;
        int best_x = px1 - box_w - 8, best_y = py0 + 8;
        size_t best_hidden = std::numeric_limits<size_t>::max();
        for (int corner = 0; corner < 4; ++corner) {
            const int bx = corner % 2 == 0 ? px1 - box_w - 8 : px0 + 8;
            const int by = corner < 2 ? py0 + 8 : py1 - box_h - 8;
            size_t hidden = 0;
            for (const auto& points : drawn)
                for (size_t i = 0; i < points.size(); ++i) {
                    // Sample each segment every few pixels so long segments count too.
                    const auto& a = points[i];
                    const auto& b = i + 1 < points.size() ? points[i + 1] : points[i];
                    const double length = std::hypot(b.first - a.first, b.second - a.second);
                    const int samples = 1 + static_cast<int>(std::min(length, 4.0 * (options.width + options.height)) / 4);
                    for (int k = 0; k < samples; ++k) {
                        const double t = static_cast<double>(k) / samples;
                        const double x = a.first + (b.first - a.first) * t, y = a.second + (b.second - a.second) * t;
                        hidden += x >= bx - 4 && x <= bx + box_w + 4 && y >= by - 4 && y <= by + box_h + 4;
                    }
                }
            if (hidden < best_hidden) best_hidden = hidden, best_x = bx, best_y = by;
        }
        fill_rect(image, best_x, best_y, box_w, box_h, colors::white);
        draw_rect(image, best_x, best_y, box_w, box_h, Color{190, 190, 190});
        int y = best_y + 6;
        for (size_t s = 0; s < series.size(); ++s) {
            if (series[s].name.empty()) continue;
            const Color color = series[s].color.value_or(kSeriesColors[s % kSeriesColors.size()]);
            const int mid = y + font::kCapHeight / 2;
            fill_rect(image, best_x + 10, mid - 1, 22, 3, color);
            draw_text(image, best_x + 10 + 22 + 8, y, series[s].name, colors::text);
            y += row;
        }
    }

    // Title and axis labels.
    if (!options.title.empty()) draw_text(image, (px0 + px1) / 2, 14, options.title, colors::text, 2, Align::center);
    if (!options.x_label.empty())
        draw_text(image, (px0 + px1) / 2, options.height - 12 - font::kGlyphHeight, options.x_label, colors::text, 1,
                  Align::center);
    if (!options.y_label.empty())
        draw_text_vertical(image, 12, (py0 + py1) / 2, options.y_label, colors::text, 1, Align::center);
    return image;
}

/// Curves of the named log columns against the epoch number (empty `columns`: train_loss).
inline Image plot_log_columns(const TrainingLog& log, std::vector<std::string> columns, LinePlotOptions options = {}) {
    if (columns.empty()) columns = {"train_loss"};
    const std::vector<double> epochs = log.column("epoch");
    std::vector<Series> series;
    for (const std::string& name : columns) series.push_back({name, epochs, log.column(name), std::nullopt});
    if (options.x_label.empty()) options.x_label = "epoch";
    options.integer_x = true;
    return line_plot(series, options);
}

/// Writes `<dir>/loss.png` (train_loss and every metric whose name contains "loss") and, when
/// the log has other metrics, `<dir>/metrics.png`. Returns the paths written.
inline std::vector<std::string> write_training_plots(const TrainingLog& log, const std::string& dir) {
    std::vector<std::string> losses{"train_loss"}, others;
    for (const std::string& name : log.metric_names())
        (name.find("loss") != std::string::npos ? losses : others).push_back(name);
    std::vector<std::string> written;
    LinePlotOptions options;
    options.title = "Loss";
    options.y_label = "loss";
    written.push_back(dir + "/loss.png");
    data::write_png(written.back(), plot_log_columns(log, losses, options));
    if (!others.empty()) {
        options.title = "Evaluation metrics";
        options.y_label = "value";
        written.push_back(dir + "/metrics.png");
        data::write_png(written.back(), plot_log_columns(log, others, options));
    }
    return written;
}

// ---------------------------------------------------------------------------------------------
// Landmarks

struct LandmarkStyle {
    int radius = 4;          // marker size in pixels
    int thickness = 2;       // ring and cross stroke
    bool numbers = false;    // write the 1-based slot number beside each marker
};

/// Draws every present slot: visible = filled dot, occluded = ring (hollow), truncated = cross,
/// in the slot's colour (kLandmarkColors) over a one-pixel white outline so the marker shows on
/// dark and light clothes alike. A truncated point lies outside the frame more often than not;
/// its cross is drawn at the nearest point inside the image so it can still be seen.
inline void draw_landmarks(Image& image, const data::Landmarks& landmarks, const LandmarkStyle& style = {}) {
    const int r = std::max(style.radius, 1), t = std::max(style.thickness, 1);
    for (int slot = 0; slot < data::kLandmarkSlots; ++slot) {
        const data::Landmark& point = landmarks[static_cast<size_t>(slot)];
        if (!point.present || !std::isfinite(point.x) || !std::isfinite(point.y)) continue;
        const Color color = kLandmarkColors[static_cast<size_t>(slot)];
        // Pixel-centre convention: pixel (i, j) has its centre at (i, j).
        int x = static_cast<int>(std::lround(std::clamp<double>(point.x, -1e6, 1e6)));
        int y = static_cast<int>(std::lround(std::clamp<double>(point.y, -1e6, 1e6)));
        if (point.visibility == data::kTruncated) {
            x = std::clamp(x, 0, std::max(image.width - 1, 0));
            y = std::clamp(y, 0, std::max(image.height - 1, 0));
            draw_cross(image, x, y, r, colors::white, t + 2);
            draw_cross(image, x, y, r, color, t);
        } else if (point.visibility == data::kOccluded) {
            draw_circle(image, x, y, r + 1, colors::white, t + 2);
            draw_circle(image, x, y, r, color, t);
        } else {
            fill_circle(image, x, y, r + 1, colors::white);
            fill_circle(image, x, y, r, color);
        }
        if (style.numbers) {
            const std::string label = std::to_string(slot + 1);
            draw_text(image, x + r + 4, y - r - font::kCapHeight + 1, label, colors::white, 1);
            draw_text(image, x + r + 3, y - r - font::kCapHeight, label, color, 1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Heatmap and attention overlays

struct OverlayOptions {
    double alpha = 0.5;                // weight of the colour over the image
    std::optional<double> min, max;    // value range mapped to 0..1 (default: the map's own)
};

namespace detail {

/// The map resampled to width x height (bilinear, half-pixel centres) and scaled to [0, 1].
inline std::vector<float> normalized_map(const float* map, int map_width, int map_height, int width, int height,
                                         const OverlayOptions& options, const char* what) {
    SEAM_CHECK(map != nullptr && map_width > 0 && map_height > 0, what, ": empty map (", map_width, "x", map_height, ")");
    const size_t n = static_cast<size_t>(map_width) * static_cast<size_t>(map_height);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (size_t i = 0; i < n; ++i)
        if (std::isfinite(map[i])) lo = std::min<double>(lo, map[i]), hi = std::max<double>(hi, map[i]);
    if (options.min) lo = *options.min;
    if (options.max) hi = *options.max;
    const double span = hi > lo ? hi - lo : 1.0;
    auto value = [&](int x, int y) {
        const float v = map[static_cast<size_t>(y) * static_cast<size_t>(map_width) + static_cast<size_t>(x)];
        return std::isfinite(v) ? std::clamp((v - lo) / span, 0.0, 1.0) : 0.0;
    };
    std::vector<float> out(static_cast<size_t>(width) * static_cast<size_t>(height));
    for (int y = 0; y < height; ++y) {
        const double sy = std::clamp((y + 0.5) * map_height / height - 0.5, 0.0, map_height - 1.0);
        const int y0 = static_cast<int>(sy), y1 = std::min(y0 + 1, map_height - 1);
        const double fy = sy - y0;
        for (int x = 0; x < width; ++x) {
            const double sx = std::clamp((x + 0.5) * map_width / width - 0.5, 0.0, map_width - 1.0);
            const int x0 = static_cast<int>(sx), x1 = std::min(x0 + 1, map_width - 1);
            const double fx = sx - x0;
            const double top = value(x0, y0) * (1 - fx) + value(x1, y0) * fx;
            const double bottom = value(x0, y1) * (1 - fx) + value(x1, y1) * fx;
            out[static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)] =
                static_cast<float>(top * (1 - fy) + bottom * fy);
        }
    }
    return out;
}

template <class T>
inline std::vector<float> map_values(const Tensor<T>& map, const char* what) {
    SEAM_CHECK(map.defined() && map.dim() == 2, what, ": the map must be a 2-D tensor [H, W], got ",
               map.defined() ? shape_str(map.shape()) : std::string("an undefined tensor"));
    std::vector<float> out;
    for (auto v : map.contiguous().to_vector()) out.push_back(static_cast<float>(v));
    return out;
}

}  // namespace detail

/// The image with the map laid over it in jet colours: out = (1 - alpha) image + alpha jet(v).
inline Image overlay_heatmap(const Image& image, const float* map, int map_width, int map_height,
                             const OverlayOptions& options = {}) {
    Image out = to_rgb(image);
    const std::vector<float> v =
        detail::normalized_map(map, map_width, map_height, out.width, out.height, options, "overlay_heatmap");
    for (int y = 0; y < out.height; ++y)
        for (int x = 0; x < out.width; ++x)
            blend_pixel(out, x, y, jet(v[static_cast<size_t>(y) * static_cast<size_t>(out.width) + static_cast<size_t>(x)]),
                        options.alpha);
    return out;
}

/// Attention weights over the image: where the weight v is low the image is dimmed (to 35% at
/// v = 0), and the jet colour is blended in with weight alpha·v, so the attended parts glow and
/// the rest stays recognisable.
inline Image overlay_attention(const Image& image, const float* map, int map_width, int map_height,
                               const OverlayOptions& options = {}) {
    Image out = to_rgb(image);
    const std::vector<float> v =
        detail::normalized_map(map, map_width, map_height, out.width, out.height, options, "overlay_attention");
    for (int y = 0; y < out.height; ++y)
        for (int x = 0; x < out.width; ++x) {
            const double a = v[static_cast<size_t>(y) * static_cast<size_t>(out.width) + static_cast<size_t>(x)];
            const Color dimmed = mix(colors::black, pixel_color(out, x, y), 0.35 + 0.65 * a);
            put_pixel(out, x, y, mix(dimmed, jet(a), options.alpha * a));
        }
    return out;
}

template <class T>
inline Image overlay_heatmap(const Image& image, const Tensor<T>& map, const OverlayOptions& options = {}) {
    const std::vector<float> values = detail::map_values(map, "overlay_heatmap");
    return overlay_heatmap(image, values.data(), static_cast<int>(map.size(1)), static_cast<int>(map.size(0)), options);
}
template <class T>
inline Image overlay_attention(const Image& image, const Tensor<T>& map, const OverlayOptions& options = {}) {
    const std::vector<float> values = detail::map_values(map, "overlay_attention");
    return overlay_attention(image, values.data(), static_cast<int>(map.size(1)), static_cast<int>(map.size(0)), options);
}

// ---------------------------------------------------------------------------------------------
// Retrieval grid

/// One query and its ranked results; correct[i] says whether results[i] shows the query's item.
struct RetrievalRow {
    Image query;
    std::vector<Image> results;
    std::vector<bool> correct;
};

struct RetrievalGridOptions {
    int cell_width = 96, cell_height = 128;  // each image is fitted into this, keeping its aspect ratio
    int border = 4;                          // frame width: green / red / grey
    int gap = 8;                             // space between frames
    std::string title;
};

/// Pastes `image` scaled to fit a w x h box (aspect ratio kept, centred on a light grey field).
inline void paste_fitted(Image& canvas, const Image& image, int x, int y, int w, int h) {
    fill_rect(canvas, x, y, w, h, Color{236, 236, 236});
    if (image.width <= 0 || image.height <= 0) return;
    const double scale = std::min(static_cast<double>(w) / image.width, static_cast<double>(h) / image.height);
    const int fw = std::clamp(static_cast<int>(std::lround(image.width * scale)), 1, w);
    const int fh = std::clamp(static_cast<int>(std::lround(image.height * scale)), 1, h);
    const Image fitted = to_rgb(fw == image.width && fh == image.height ? image : data::resize_image(image, fw, fh));
    const int ox = x + (w - fw) / 2, oy = y + (h - fh) / 2;
    for (int yy = 0; yy < fh; ++yy)
        for (int xx = 0; xx < fw; ++xx) put_pixel(canvas, ox + xx, oy + yy, pixel_color(fitted, xx, yy));
}

/// Where retrieval_grid puts things: frame (r, i) — row r, result i, or the query for i = -1 —
/// has its top-left corner at frame_x(i), frame_y(r) and is frame_width x frame_height.
struct RetrievalGridLayout {
    int width = 0, height = 0;
    int frame_width = 0, frame_height = 0;
    int query_x = 0, results_x = 0, grid_y = 0, header_y = 0, separator_x = 0;
    int step_x = 0, step_y = 0;
    int frame_x(int i) const { return i < 0 ? query_x : results_x + i * step_x; }
    int frame_y(int r) const { return grid_y + r * step_y; }
};

inline RetrievalGridLayout retrieval_grid_layout(size_t rows, size_t k, const RetrievalGridOptions& options) {
    SEAM_CHECK(options.cell_width >= 8 && options.cell_height >= 8 && options.border >= 0 && options.gap >= 0,
               "retrieval_grid: bad cell size ", options.cell_width, "x", options.cell_height, ", border ", options.border,
               " or gap ", options.gap);
    RetrievalGridLayout l;
    const int margin = 12, separator = 3 * options.gap + 2;
    const int title_h = options.title.empty() ? 0 : 2 * font::kCapHeight + 14;
    l.frame_width = options.cell_width + 2 * options.border;
    l.frame_height = options.cell_height + 2 * options.border;
    l.step_x = l.frame_width + options.gap;
    l.step_y = l.frame_height + options.gap;
    l.query_x = margin;
    l.results_x = margin + l.frame_width + separator;
    l.separator_x = margin + l.frame_width + separator / 2;
    l.header_y = margin + title_h;
    l.grid_y = l.header_y + font::kCapHeight + 8;
    const int used_width = l.results_x + static_cast<int>(k) * l.step_x - (k > 0 ? options.gap : separator) + margin;
    l.width = std::max(used_width, 2 * margin + font::text_width(options.title, 2));
    l.height = l.grid_y + static_cast<int>(rows) * l.step_y - options.gap + margin;
    return l;
}

/// A row per query: the query in a grey frame, a separator, then its results left to right in
/// rank order, framed green when correct and red when wrong; ranks are written above the columns.
inline Image retrieval_grid(const std::vector<RetrievalRow>& rows, const RetrievalGridOptions& options = {}) {
    SEAM_CHECK(!rows.empty(), "retrieval_grid: no rows");
    size_t k = 0;
    for (size_t r = 0; r < rows.size(); ++r) {
        SEAM_CHECK(rows[r].results.size() == rows[r].correct.size(), "retrieval_grid: row ", r, " has ",
                   rows[r].results.size(), " results but ", rows[r].correct.size(), " correct flags");
        k = std::max(k, rows[r].results.size());
    }
    const RetrievalGridLayout l = retrieval_grid_layout(rows.size(), k, options);
    Image canvas = blank_image(l.width, l.height);

    if (!options.title.empty()) draw_text(canvas, l.query_x, 12, options.title, colors::text, 2);
    draw_text(canvas, l.query_x + l.frame_width / 2, l.header_y, "query", colors::text, 1, Align::center);
    for (size_t i = 0; i < k; ++i)
        draw_text(canvas, l.frame_x(static_cast<int>(i)) + l.frame_width / 2, l.header_y, "top-" + std::to_string(i + 1),
                  colors::text, 1, Align::center);
    // Dotted separator between the queries and the results.
    for (int y = l.grid_y; y < l.height - 12; y += 4) fill_rect(canvas, l.separator_x, y, 1, 2, Color{160, 160, 160});

    for (size_t r = 0; r < rows.size(); ++r) {
        const int y = l.frame_y(static_cast<int>(r));
        draw_rect(canvas, l.query_x, y, l.frame_width, l.frame_height, colors::query, options.border);
        paste_fitted(canvas, rows[r].query, l.query_x + options.border, y + options.border, options.cell_width,
                     options.cell_height);
        for (size_t i = 0; i < rows[r].results.size(); ++i) {
            const int x = l.frame_x(static_cast<int>(i));
            draw_rect(canvas, x, y, l.frame_width, l.frame_height, rows[r].correct[i] ? colors::correct : colors::wrong,
                      options.border);
            paste_fitted(canvas, rows[r].results[i], x + options.border, y + options.border, options.cell_width,
                         options.cell_height);
        }
    }
    return canvas;
}

// ---------------------------------------------------------------------------------------------
// Confusion matrix

struct ConfusionOptions {
    int cell = 36;                            // cell side in pixels (grown to fit the largest count)
    std::string title = "Confusion matrix";
};

/// Where confusion_matrix_image puts the cells: cell (t, p) covers
/// [grid_x + p·cell, +cell) x [grid_y + t·cell, +cell).
struct ConfusionLayout {
    int width = 0, height = 0;
    int grid_x = 0, grid_y = 0, cell = 0;
    int title_y = 0, axis_title_y = 0;
};

inline ConfusionLayout confusion_matrix_layout(size_t classes, const std::vector<std::string>& class_names,
                                               int64_t largest_count, const ConfusionOptions& options) {
    int widest_name = 0;
    for (const std::string& name : class_names) widest_name = std::max(widest_name, font::text_width(name));
    ConfusionLayout l;
    const int margin = 14, axis_title = font::kGlyphHeight + 10;
    const int title_h = options.title.empty() ? 0 : 2 * font::kCapHeight + 16;
    l.cell = std::max(options.cell, font::text_width(std::to_string(largest_count)) + 10);
    l.title_y = margin;
    l.axis_title_y = margin + title_h;
    l.grid_x = margin + axis_title + widest_name + 8;
    l.grid_y = margin + title_h + axis_title + widest_name + 8;
    const int grid = static_cast<int>(classes) * l.cell;
    l.width = std::max(l.grid_x + grid + margin, 2 * margin + font::text_width(options.title, 2));
    l.height = l.grid_y + grid + margin;
    return l;
}

/// counts[t][p] = how many items of true class t were predicted as p. Each cell is shaded by its
/// share of its row (white 0 -> dark blue 1: the diagonal of a good classifier is dark), and shows
/// the count, in white on dark cells. Rows are true classes (names on the left), columns the
/// predicted ones (names written upwards above the matrix).
inline Image confusion_matrix_image(const std::vector<std::vector<int64_t>>& counts,
                                    std::vector<std::string> class_names = {}, const ConfusionOptions& options = {}) {
    const size_t n = counts.size();
    SEAM_CHECK(n > 0, "confusion_matrix_image: no classes");
    int64_t largest = 0;
    for (size_t t = 0; t < n; ++t) {
        SEAM_CHECK(counts[t].size() == n, "confusion_matrix_image: row ", t, " has ", counts[t].size(),
                   " entries; the matrix must be ", n, "x", n);
        for (int64_t c : counts[t]) {
            SEAM_CHECK(c >= 0, "confusion_matrix_image: negative count ", c, " in row ", t);
            largest = std::max(largest, c);
        }
    }
    if (class_names.empty())
        for (size_t i = 0; i < n; ++i) class_names.push_back(std::to_string(i));
    SEAM_CHECK(class_names.size() == n, "confusion_matrix_image: ", class_names.size(), " class names for ", n, " classes");

    const ConfusionLayout l = confusion_matrix_layout(n, class_names, largest, options);
    const int cell = l.cell, grid = static_cast<int>(n) * cell;
    Image image = blank_image(l.width, l.height);
    if (!options.title.empty()) draw_text(image, l.width / 2, l.title_y, options.title, colors::text, 2, Align::center);
    draw_text(image, l.grid_x + grid / 2, l.axis_title_y, "predicted class", colors::text, 1, Align::center);
    draw_text_vertical(image, 14, l.grid_y + grid / 2, "true class", colors::text, 1, Align::center);
    for (size_t i = 0; i < n; ++i) {
        const int centre = static_cast<int>(i) * cell + cell / 2;
        draw_text(image, l.grid_x - 8, l.grid_y + centre - font::kCapHeight / 2, class_names[i], colors::text, 1,
                  Align::right);
        draw_text_vertical(image, l.grid_x + centre - font::kCapHeight / 2, l.grid_y - 8, class_names[i], colors::text, 1,
                           Align::left);
    }
    for (size_t t = 0; t < n; ++t) {
        int64_t row_total = 0;
        for (int64_t c : counts[t]) row_total += c;
        for (size_t p = 0; p < n; ++p) {
            const double share = row_total > 0 ? static_cast<double>(counts[t][p]) / static_cast<double>(row_total) : 0.0;
            const int x = l.grid_x + static_cast<int>(p) * cell, y = l.grid_y + static_cast<int>(t) * cell;
            fill_rect(image, x, y, cell, cell, blues(share));
            draw_text(image, x + cell / 2, y + (cell - font::kCapHeight) / 2, std::to_string(counts[t][p]),
                      share > 0.5 ? colors::white : colors::text, 1, Align::center);
        }
    }
    // Thin white lines between the cells, then a frame.
    for (size_t i = 1; i < n; ++i) {
        fill_rect(image, l.grid_x + static_cast<int>(i) * cell, l.grid_y, 1, grid, colors::white);
        fill_rect(image, l.grid_x, l.grid_y + static_cast<int>(i) * cell, grid, 1, colors::white);
    }
    draw_rect(image, l.grid_x - 1, l.grid_y - 1, grid + 2, grid + 2, colors::axis);
    return image;
}

}  // namespace seam::train
