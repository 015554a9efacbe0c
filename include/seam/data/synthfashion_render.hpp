// seam/data/synthfashion_render.hpp — the procedural garment renderer behind SynthFashion.
//
// It draws one fashion photo: a background, a simple mannequin-like person, the garment being
// labelled (plus a plain complementary garment), optional occluders, then lighting, noise, blur.
// Everything is described by two plain structs: GarmentSpec (what the item is: category shape,
// pattern, fabric, parts, colours — identical across the shop and consumer views of a C2S item)
// and SceneSpec (how it is photographed: person, pose, framing, perspective, clutter, light).
// render_scene() returns the image with the garment's 8 landmark slots and bounding box.
//
// How it draws. Garments, body and occluders are polygons in garment space ("canonical"): the
// person's own frame, origin at the base of the neck, x to the image right, y down, about 2.2
// units from the top of the head to the feet, so patterns follow the garment when the view
// warps. (Background clutter is drawn directly in image space.) A projective map (rotation, scale, translation and, for consumer photos, a perspective tilt)
// takes garment space to the image. Polygons are filled by scanline on a supersampled canvas
// (painter's order); each covered sample is mapped back to garment space to evaluate its
// pattern, so stripes and dots bend with the garment. The canvas is box-filtered down at the end.
//
// Landmarks are garment-space points of the outline (collar = neckline corners, sleeve = cuff
// centre or armhole, waistline = outline at the waist, hem = hem corners or trouser-leg hem
// centres), mapped with the same projective map. Visibility follows the dataset: 2 (truncated)
// outside the frame, else 1 (occluded) under an occluder drawn over the garment, else 0.
// "Left" is the image left, as in DeepFashion's own rows (left collar has the smaller x).
//
// Determinism: no std:: distributions; randomness enters only through the specs (sampled by
// synthfashion.hpp from seam::Generator) and through integer-hash noise keyed by their seeds.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/data/deepfashion_common.hpp"
#include "seam/data/image.hpp"

namespace seam::data::synth {

// ---------------------------------------------------------------------------------------------
// Small maths

struct Vec2 {
    float x = 0, y = 0;
};
inline Vec2 operator+(Vec2 a, Vec2 b) { return {a.x + b.x, a.y + b.y}; }
inline Vec2 operator-(Vec2 a, Vec2 b) { return {a.x - b.x, a.y - b.y}; }
inline Vec2 operator*(Vec2 a, float s) { return {a.x * s, a.y * s}; }
inline Vec2 lerp(Vec2 a, Vec2 b, float t) { return a + (b - a) * t; }

struct Rgb {
    float r = 0, g = 0, b = 0;
};
inline Rgb operator*(Rgb c, float s) { return {c.r * s, c.g * s, c.b * s}; }
inline Rgb operator+(Rgb a, Rgb b) { return {a.r + b.r, a.g + b.g, a.b + b.b}; }
inline Rgb mix(Rgb a, Rgb b, float t) { return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t}; }
inline Rgb hex(uint32_t v) {
    return {static_cast<float>((v >> 16) & 0xFF) / 255.0f, static_cast<float>((v >> 8) & 0xFF) / 255.0f,
            static_cast<float>(v & 0xFF) / 255.0f};
}
inline float luminance(Rgb c) { return 0.299f * c.r + 0.587f * c.g + 0.114f * c.b; }

inline float fract(float x) { return x - std::floor(x); }
inline float smoothstep(float e0, float e1, float x) {
    float t = std::clamp((x - e0) / (e1 - e0), 0.0f, 1.0f);
    return t * t * (3.0f - 2.0f * t);
}

/// A 3×3 projective map (homography), row-major; apply() divides by the third coordinate.
struct Projective {
    std::array<double, 9> m{1, 0, 0, 0, 1, 0, 0, 0, 1};

    Vec2 apply(Vec2 p) const {
        double w = m[6] * p.x + m[7] * p.y + m[8];
        return {static_cast<float>((m[0] * p.x + m[1] * p.y + m[2]) / w),
                static_cast<float>((m[3] * p.x + m[4] * p.y + m[5]) / w)};
    }
    /// The map "this, then next".
    Projective then(const Projective& next) const {
        Projective out;
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 3; ++c) {
                double sum = 0;
                for (int k = 0; k < 3; ++k) sum += next.m[static_cast<size_t>(r * 3 + k)] * m[static_cast<size_t>(k * 3 + c)];
                out.m[static_cast<size_t>(r * 3 + c)] = sum;
            }
        return out;
    }
    Projective inverse() const {
        const auto& a = m;
        double c00 = a[4] * a[8] - a[5] * a[7], c01 = a[5] * a[6] - a[3] * a[8], c02 = a[3] * a[7] - a[4] * a[6];
        double det = a[0] * c00 + a[1] * c01 + a[2] * c02;
        SEAM_CHECK(std::fabs(det) > 1e-300, "synthfashion: singular view transform");
        double inv = 1.0 / det;
        Projective out;
        out.m = {c00 * inv,
                 (a[2] * a[7] - a[1] * a[8]) * inv,
                 (a[1] * a[5] - a[2] * a[4]) * inv,
                 c01 * inv,
                 (a[0] * a[8] - a[2] * a[6]) * inv,
                 (a[2] * a[3] - a[0] * a[5]) * inv,
                 c02 * inv,
                 (a[1] * a[6] - a[0] * a[7]) * inv,
                 (a[0] * a[4] - a[1] * a[3]) * inv};
        return out;
    }
    static Projective translation(double tx, double ty) { return {{1, 0, tx, 0, 1, ty, 0, 0, 1}}; }
    static Projective scaling(double s) { return {{s, 0, 0, 0, s, 0, 0, 0, 1}}; }
    static Projective rotation(double radians) {
        double c = std::cos(radians), s = std::sin(radians);
        return {{c, -s, 0, s, c, 0, 0, 0, 1}};
    }
    /// A perspective tilt about the origin: x and y shrink where 1 + px·x + py·y grows.
    static Projective tilt(double px, double py) { return {{1, 0, 0, 0, 1, 0, px, py, 1}}; }
};

// ---------------------------------------------------------------------------------------------
// Integer-hash noise (same numbers on every platform)

inline uint32_t hash32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}
inline uint32_t hash_cell(int32_t x, int32_t y, uint32_t seed) {
    return hash32(static_cast<uint32_t>(x) * 0x9E3779B1u ^ hash32(static_cast<uint32_t>(y) * 0x85EBCA77u ^ seed));
}
/// A value in [0, 1) for the lattice cell (x, y).
inline float cell_random(int32_t x, int32_t y, uint32_t seed) {
    return static_cast<float>(hash_cell(x, y, seed) >> 8) * (1.0f / 16777216.0f);
}
/// Smooth value noise in [0, 1): random values on the integer lattice, smoothstep-interpolated.
inline float value_noise(float x, float y, uint32_t seed) {
    float fx = std::floor(x), fy = std::floor(y);
    auto ix = static_cast<int32_t>(fx), iy = static_cast<int32_t>(fy);
    float tx = x - fx, ty = y - fy;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    float a = cell_random(ix, iy, seed), b = cell_random(ix + 1, iy, seed);
    float c = cell_random(ix, iy + 1, seed), d = cell_random(ix + 1, iy + 1, seed);
    return (a + (b - a) * tx) + ((c + (d - c) * tx) - (a + (b - a) * tx)) * ty;
}
/// Two octaves of value noise, in [0, 1).
inline float fractal_noise(float x, float y, uint32_t seed) {
    return 0.65f * value_noise(x, y, seed) + 0.35f * value_noise(2.03f * x, 2.03f * y, seed ^ 0x5bd1e995u);
}

// ---------------------------------------------------------------------------------------------
// Garment description

enum class Pattern : uint8_t { none, floral, striped, dotted, checked, camo, leopard, colorblock, chevron, heart, plaid };
enum class Finish : uint8_t { cotton, denim, knit, leather, chiffon, lace, quilted, ribbed, pleated };
enum class Neckline : uint8_t { crew, v_neck, scoop };
enum class LowerCut : uint8_t { none, trousers, skirt };
enum class PocketStyle : uint8_t { none, chest, lower_flap, kangaroo, jeans };
enum class Print : uint8_t { none, star, logo };

/// How a garment's cloth looks: colours, pattern and finish (evaluated per sample in garment space).
struct Look {
    Rgb base{0.5f, 0.5f, 0.5f};
    Rgb second{0.9f, 0.9f, 0.9f};
    Rgb third{0.1f, 0.1f, 0.1f};
    Pattern pattern = Pattern::none;
    Finish finish = Finish::cotton;
    float scale = 0.12f;    // pattern period, garment units
    float angle = 0.0f;     // pattern rotation (radians)
    bool sequins = false;   // "party": sparkles
    uint32_t seed = 1;
};

/// What the item is. Lengths are in garment units (y of the hem, 0 = base of the neck).
struct GarmentSpec {
    int category = 0;      // 0-based row of list_category_cloth
    int clothes_type = 1;  // 1 upper, 2 lower, 3 full body
    Look look;
    // upper part (types 1 and 3)
    bool has_top = true;
    float top_hem = 0.8f;     // where an upper garment ends
    float fit = 1.0f;         // torso width factor: < 1 bodycon, > 1.15 boxy
    float sleeve = 0.35f;     // sleeve length as a fraction of the arm; 0 = sleeveless
    float sleeve_width = 1.0f;
    bool strap = false;       // narrow shoulder straps (tank, sleeveless dresses)
    Neckline neckline = Neckline::crew;
    bool open_front = false;  // cardigan, blazer, kimono: a gap shows the shirt beneath
    Rgb inner_colour{0.95f, 0.95f, 0.95f};
    bool collar = false;
    bool lapels = false;
    bool hood = false;
    // lower part (types 2 and 3)
    LowerCut lower = LowerCut::none;
    float lower_hem = 1.7f;   // hem height
    float leg_width = 0.09f;  // trouser half-width at the hem
    float flare = 0.2f;       // skirt widening per unit of length
    // parts and prints
    bool buttons = false;
    bool zip = false;
    PocketStyle pockets = PocketStyle::none;
    bool belt = false;
    Rgb belt_colour{0.15f, 0.1f, 0.08f};
    bool drawstring = false;
    bool cuffs = false;
    bool sport_stripes = false;
    Print print = Print::none;
    Rgb detail_colour{0.9f, 0.85f, 0.6f};  // buttons, zip, logo, stripes
};

enum class Background : uint8_t { studio, clutter };
enum class OccluderKind : uint8_t { none, bag, arm, hair };

/// How the item is photographed.
struct SceneSpec {
    int width = 96, height = 96;
    int supersample = 2;
    // person
    Rgb skin{0.85f, 0.66f, 0.53f};
    Rgb hair{0.2f, 0.12f, 0.08f};
    bool long_hair = false;
    Rgb shoes{0.1f, 0.1f, 0.1f};
    float body_width = 1.0f;
    float arm_left = 0.25f, arm_right = 0.25f;  // arm angles from vertical, outwards (radians)
    float leg_spread = 0.05f;
    bool show_body = true;                      // false: a flat-lay shop photo (garment only)
    // the complementary garment (plain)
    Rgb companion{0.2f, 0.25f, 0.35f};
    bool companion_skirt = false;
    bool untucked = false;                      // lower-body items: the top hangs over the waistband
    // framing: the garment's box centre goes to image centre + offset (fractions of the size)
    float fill = 0.7f;                          // garment box height (or width) / image size
    float offset_x = 0, offset_y = 0;
    float rotation = 0;                         // radians
    float tilt_x = 0, tilt_y = 0;               // perspective, fraction of size: 0.2 = 20% nearer side
    // occluder
    OccluderKind occluder = OccluderKind::none;
    float occluder_at = 0.5f;                   // where along the garment the occluder sits (0..1)
    bool occluder_left = true;
    Rgb occluder_colour{0.5f, 0.3f, 0.2f};
    // background and photo
    Background background = Background::studio;
    Rgb backdrop{0.93f, 0.93f, 0.93f};
    Rgb backdrop2{0.85f, 0.85f, 0.87f};
    int clutter_shapes = 0;
    float gain = 1.0f;
    Rgb cast{1, 1, 1};
    float light_gradient = 0.0f;                // brightness change across the image
    float light_angle = 0.0f;
    float vignette = 0.0f;
    float noise = 0.0f;                         // noise amplitude (0..1 scale)
    int blur = 0;                               // box blur radius in pixels
    uint32_t seed = 1;
};

struct RenderResult {
    Image image;
    Landmarks landmarks{};  // pixel-centre coordinates of the image, rounded to integers
    Box box;                // [x1, x2) × [y1, y2), integers, clipped to the image
};

// ---------------------------------------------------------------------------------------------
// Cloth shading

/// Five-petal flower, heart and star tests on local cell coordinates in [-0.5, 0.5).
inline bool in_heart(float x, float y) {
    x *= 2.6f;
    y = -y * 2.6f + 0.2f;
    float a = x * x + y * y - 1.0f;
    return a * a * a - x * x * y * y * y < 0.0f;
}

/// The pattern colour of a look at garment point (u, v).
inline Rgb pattern_colour(const Look& look, float u, float v) {
    const float s = look.scale;
    const float ca = std::cos(look.angle), sa = std::sin(look.angle);
    const float pu = (ca * u - sa * v) / s, pv = (sa * u + ca * v) / s;  // pattern coordinates, period 1
    switch (look.pattern) {
        case Pattern::none:
            return look.base;
        case Pattern::striped:
            return fract(pv) < 0.42f ? look.second : look.base;
        case Pattern::dotted: {
            float row = std::floor(pv);
            float cu = fract(pu + 0.5f * (static_cast<int>(row) & 1)) - 0.5f, cv = fract(pv) - 0.5f;
            return cu * cu + cv * cv < 0.09f ? look.second : look.base;
        }
        case Pattern::checked: {
            bool a = fract(pu) < 0.5f, b = fract(pv) < 0.5f;
            if (a && b) return look.second;
            if (a || b) return mix(look.base, look.second, 0.5f);
            return look.base;
        }
        case Pattern::plaid: {
            float bu = fract(pu), bv = fract(pv);
            Rgb c = look.base;
            if (bu < 0.3f) c = mix(c, look.second, 0.55f);
            if (bv < 0.3f) c = mix(c, look.second, 0.55f);
            if (std::fabs(bu - 0.65f) < 0.04f || std::fabs(bv - 0.65f) < 0.04f) c = mix(c, look.third, 0.7f);
            return c;
        }
        case Pattern::camo: {
            float n = fractal_noise(pu * 0.9f, pv * 0.9f, look.seed);
            if (n < 0.38f) return look.base;
            if (n < 0.55f) return look.second;
            if (n < 0.7f) return look.third;
            return look.base * 0.55f;
        }
        case Pattern::leopard: {
            float gu = pu * 1.4f, gv = pv * 1.4f;
            auto cx = static_cast<int32_t>(std::floor(gu)), cy = static_cast<int32_t>(std::floor(gv));
            float jx = 0.3f + 0.4f * cell_random(cx, cy, look.seed), jy = 0.3f + 0.4f * cell_random(cx, cy, look.seed + 7);
            float dx = fract(gu) - jx, dy = (fract(gv) - jy) * 1.3f;
            float r = std::sqrt(dx * dx + dy * dy) * (0.9f + 0.5f * value_noise(gu * 4, gv * 4, look.seed));
            if (r < 0.13f) return look.second;
            if (r < 0.24f) return look.third;
            return look.base;
        }
        case Pattern::colorblock: {
            // Panels in garment space (not pattern space): a vertical and a horizontal split.
            bool right = u > (look.seed % 3 == 0 ? 0.0f : 10.0f);
            bool low = v > 0.35f + 0.25f * static_cast<float>(look.seed % 5) / 4.0f;
            if (low) return right ? look.third : look.second;
            return right ? look.third : look.base;
        }
        case Pattern::chevron: {
            float zig = pv + 0.6f * std::fabs(fract(pu) - 0.5f);
            return fract(zig) < 0.45f ? look.second : look.base;
        }
        case Pattern::floral: {
            auto cx = static_cast<int32_t>(std::floor(pu)), cy = static_cast<int32_t>(std::floor(pv));
            float jx = 0.35f + 0.3f * cell_random(cx, cy, look.seed), jy = 0.35f + 0.3f * cell_random(cx, cy, look.seed + 3);
            float dx = fract(pu) - jx, dy = fract(pv) - jy;
            float r = std::sqrt(dx * dx + dy * dy);
            if (r < 0.07f) return hex(0xF2C94C);  // yellow heart of the flower
            if (r < 0.3f) {
                float turn = cell_random(cx, cy, look.seed + 5) * 6.283f;
                float petal = std::cos(5.0f * (std::atan2(dy, dx) + turn));
                if (r < 0.17f + 0.13f * petal) return (cx + cy) & 1 ? look.second : look.third;
            }
            if (r > 0.3f && r < 0.38f && cell_random(cx, cy, look.seed + 9) < 0.5f) return mix(look.base, hex(0x4A7A3A), 0.8f);
            return look.base;
        }
        case Pattern::heart: {
            float row = std::floor(pv);
            float cu = fract(pu + 0.5f * (static_cast<int>(row) & 1)) - 0.5f, cv = fract(pv) - 0.5f;
            return in_heart(cu, cv) ? look.second : look.base;
        }
    }
    return look.base;
}

/// The finish (fabric) applied on top of the pattern; `alpha` < 1 lets what is beneath show.
inline Rgb apply_finish(const Look& look, Rgb c, float u, float v, float& alpha) {
    alpha = 1.0f;
    switch (look.finish) {
        case Finish::cotton:  // fine grain: one hash per weave cell (cheaper than smooth noise)
            return c * (0.97f + 0.06f * cell_random(static_cast<int32_t>(std::floor(u * 160)),
                                                    static_cast<int32_t>(std::floor(v * 160)), look.seed));
        case Finish::denim: {
            float twill = 0.5f + 0.5f * std::sin((u + v) * 6.283f / 0.035f);
            float fleck = value_noise(u * 90, v * 25, look.seed + 11);
            float fade = 0.85f + 0.3f * value_noise(u * 3, v * 2, look.seed + 12);
            return mix(c * (0.86f + 0.14f * twill) * fade, Rgb{0.85f, 0.88f, 0.95f}, fleck > 0.8f ? 0.35f : 0.0f);
        }
        case Finish::knit: {
            float column = std::fabs(fract(u / 0.05f) - 0.5f);
            float row = fract(v / 0.04f + column);
            return c * (0.8f + 0.25f * smoothstep(0.0f, 0.5f, row) * (1.0f - column));
        }
        case Finish::leather: {
            // Narrow vertical glints along the folds, and strong contrast between them.
            float sheen = value_noise(u * 14, v * 2.5f, look.seed + 21);
            float highlight = smoothstep(0.7f, 0.9f, sheen);
            return mix(c * (0.65f + 0.45f * sheen), Rgb{0.95f, 0.95f, 0.95f}, 0.45f * highlight);
        }
        case Finish::chiffon:
            alpha = 0.6f;
            return mix(c, Rgb{1, 1, 1}, 0.12f);
        case Finish::lace: {
            float cu = fract(u / 0.06f) - 0.5f, cv = fract(v / 0.06f + 0.5f * (fract(u / 0.12f) < 0.5f)) - 0.5f;
            if (cu * cu + cv * cv < 0.07f) alpha = 0.15f;
            return c;
        }
        case Finish::quilted: {
            float a = fract((u + v) / 0.11f), b = fract((u - v) / 0.11f);
            float seam = std::min(std::min(a, 1 - a), std::min(b, 1 - b));
            return c * (0.62f + 0.45f * smoothstep(0.0f, 0.22f, seam));
        }
        case Finish::ribbed:
            return c * (0.82f + 0.18f * (0.5f + 0.5f * std::sin(u * 6.283f / 0.045f)));
        case Finish::pleated: {
            float t = fract(u / (0.07f + 0.03f * std::max(0.0f, v - 0.5f)));
            return c * (0.72f + 0.35f * t);
        }
    }
    return c;
}

/// Folds: a slow brightness modulation common to every finish.
inline float fold_shading(const Look& look, float u, float v) {
    float n = value_noise(u * 5.0f, v * 2.2f, look.seed + 31);
    return 0.88f + 0.22f * n;
}

inline Rgb shade_cloth(const Look& look, float u, float v, Rgb beneath, float tint) {
    Rgb c = pattern_colour(look, u, v);
    float alpha = 1.0f;
    c = apply_finish(look, c, u, v, alpha) * (fold_shading(look, u, v) * tint);
    if (look.sequins) {
        auto cx = static_cast<int32_t>(std::floor(u / 0.035f)), cy = static_cast<int32_t>(std::floor(v / 0.035f));
        if (cell_random(cx, cy, look.seed + 41) < 0.28f) c = mix(c, hex(0xFFF3C4), 0.75f);
    }
    return alpha >= 1.0f ? c : mix(beneath, c, alpha);
}

// ---------------------------------------------------------------------------------------------
// Scene: shapes in painter's order

enum class Owner : uint8_t { body, companion, garment, garment_detail, occluder };

struct Paint {
    enum class Kind : uint8_t { flat, cloth, skin } kind = Kind::flat;
    Rgb colour{0.5f, 0.5f, 0.5f};
    const Look* look = nullptr;  // for cloth
    float tint = 1.0f;           // cloth brightness factor (collars, cuffs read as separate pieces)
    float texture = 0.0f;        // flat: amount of noise texture
};

/// A polygon in garment space with its paint; `owner` decides the draw order and occlusion.
struct Shape {
    std::vector<Vec2> points;
    Paint paint;
    Owner owner = Owner::body;
};

inline std::vector<Vec2> ellipse_points(Vec2 centre, float rx, float ry, int n = 20) {
    std::vector<Vec2> points;
    points.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        float t = 6.2831853f * static_cast<float>(i) / static_cast<float>(n);
        points.push_back({centre.x + rx * std::cos(t), centre.y + ry * std::sin(t)});
    }
    return points;
}
/// A quad around the segment a→b, half-widths wa at a and wb at b.
inline std::vector<Vec2> limb_points(Vec2 a, Vec2 b, float wa, float wb) {
    Vec2 d = b - a;
    float len = std::sqrt(d.x * d.x + d.y * d.y);
    Vec2 n = len > 0 ? Vec2{-d.y / len, d.x / len} : Vec2{1, 0};
    return {a + n * wa, b + n * wb, b - n * wb, a - n * wa};
}
inline std::vector<Vec2> rect_points(float x1, float y1, float x2, float y2) { return {{x1, y1}, {x2, y1}, {x2, y2}, {x1, y2}}; }
inline std::vector<Vec2> star_points(Vec2 c, float r) {
    std::vector<Vec2> points;
    for (int i = 0; i < 10; ++i) {
        float t = -1.5707963f + 3.14159265f * static_cast<float>(i) / 5.0f;
        float radius = (i % 2 == 0) ? r : r * 0.42f;
        points.push_back({c.x + radius * std::cos(t), c.y + radius * std::sin(t)});
    }
    return points;
}

/// Even-odd point-in-polygon test.
inline bool contains(const std::vector<Vec2>& poly, Vec2 p) {
    bool inside = false;
    for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
        const Vec2 a = poly[i], b = poly[j];
        if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x) inside = !inside;
    }
    return inside;
}

/// The body's fixed proportions in garment units (scaled sideways by SceneSpec::body_width).
struct Body {
    float w = 1.0f;  // width factor
    float shoulder() const { return 0.29f * w; }
    float chest() const { return 0.25f * w; }
    float waist() const { return 0.2f * w; }
    float hip() const { return 0.27f * w; }
    static constexpr float shoulder_y = 0.05f, armpit_y = 0.27f, waist_y = 0.55f, hip_y = 0.78f;
    static constexpr float crotch_y = 0.88f, ankle_y = 1.72f, arm_length = 0.72f;
    Vec2 arm_joint(bool left) const { return {(left ? -1.0f : 1.0f) * 0.25f * w, 0.09f}; }
    /// Unit direction of an arm hanging `angle` radians outwards from vertical.
    static Vec2 arm_direction(bool left, float angle) { return {(left ? -1.0f : 1.0f) * std::sin(angle), std::cos(angle)}; }
    Vec2 hip_joint(bool left) const { return {(left ? -1.0f : 1.0f) * 0.12f * w, 0.86f}; }
};

/// Everything the garment builder produces: the shapes and the 8 landmark slots (garment space).
struct GarmentDrawing {
    std::vector<Shape> shapes;
    std::array<Vec2, kLandmarkSlots> points{};
    std::array<bool, kLandmarkSlots> present{};
};

/// Torso half-width of a garment at height y, for a fit factor.
inline float torso_side(const Body& body, float fit, float y) {
    const float boxy = std::max(0.0f, fit - 1.0f);
    float armpit = body.chest() * std::min(fit, 1.1f) + 0.02f;
    float waist = body.waist() * fit + 0.015f + boxy * 0.35f;
    float hip = body.hip() * fit + 0.015f;
    if (y <= Body::armpit_y)
        return body.shoulder() + (armpit - body.shoulder()) * (y - Body::shoulder_y) / (Body::armpit_y - Body::shoulder_y);
    if (y <= Body::waist_y) return armpit + (waist - armpit) * (y - Body::armpit_y) / (Body::waist_y - Body::armpit_y);
    if (y <= Body::hip_y) return waist + (hip - waist) * (y - Body::waist_y) / (Body::hip_y - Body::waist_y);
    return hip + 0.12f * std::max(0.0f, fit - 0.9f) * (y - Body::hip_y);  // coats widen slightly below
}

/// Adds the labelled garment (or, with `plain`, a companion garment in one flat colour) to `out`.
inline void build_garment(const GarmentSpec& g, const SceneSpec& scene, const Look& look, Owner owner,
                          GarmentDrawing& out) {
    const Body body{scene.body_width};
    const Owner detail = owner == Owner::garment ? Owner::garment_detail : owner;
    auto cloth = [&](float tint = 1.0f) {
        Paint p;
        p.kind = Paint::Kind::cloth;
        p.look = &look;
        p.tint = tint;
        return p;
    };
    auto flat = [](Rgb c, float texture = 0.0f) {
        Paint p;
        p.colour = c;
        p.texture = texture;
        return p;
    };
    auto add = [&](std::vector<Vec2> pts, Paint paint, Owner who) { out.shapes.push_back({std::move(pts), paint, who}); };
    auto set_point = [&](int slot, Vec2 p) {
        out.points[static_cast<size_t>(slot)] = p;
        out.present[static_cast<size_t>(slot)] = true;
    };

    const bool upper = g.has_top && (g.clothes_type == kUpperBody || g.clothes_type == kFullBody);
    const bool lower = g.lower != LowerCut::none;
    const float neck_w = g.strap ? 0.08f : (g.neckline == Neckline::scoop ? 0.12f : 0.095f);
    const float neck_y = -0.01f;
    const float shoulder_x = g.strap ? 0.17f * body.w : body.shoulder() + 0.015f;

    // Waist of the full outline (where a bodice meets the lower part).
    const float waist_y = Body::waist_y;
    const float top_end = lower && upper ? waist_y : g.top_hem;

    // ---- hood (behind the head, so it is added first; render_scene places it before the head)
    if (upper && g.hood) add(ellipse_points({0, -0.24f}, 0.2f, 0.25f), cloth(0.85f), detail);

    // ---- sleeves
    std::array<Vec2, 2> cuff_centre{}, cuff_dir{}, cuff_normal{};
    std::array<float, 2> cuff_width{};
    if (upper) {
        for (int side = 0; side < 2; ++side) {
            const bool left = side == 0;
            const float sign = left ? -1.0f : 1.0f;
            const float angle = left ? scene.arm_left : scene.arm_right;
            Vec2 shoulder{sign * shoulder_x, Body::shoulder_y};
            Vec2 armpit{sign * torso_side(body, g.fit, Body::armpit_y), Body::armpit_y};
            if (g.sleeve <= 0.0f) {
                set_point(left ? 2 : 3, lerp(shoulder, armpit, 0.5f));  // armhole
                continue;
            }
            Vec2 dir = Body::arm_direction(left, angle);
            Vec2 centre = body.arm_joint(left) + dir * (g.sleeve * Body::arm_length);
            Vec2 outward{sign * dir.y, -sign * dir.x};  // perpendicular to the arm, away from the body
            float w = (0.075f + 0.02f * (1.0f - g.sleeve)) * g.sleeve_width;
            add({shoulder, centre + outward * w, centre - outward * w, armpit}, cloth(0.95f), owner);
            set_point(left ? 2 : 3, centre);
            cuff_centre[static_cast<size_t>(side)] = centre;
            cuff_dir[static_cast<size_t>(side)] = dir;
            cuff_normal[static_cast<size_t>(side)] = outward;
            cuff_width[static_cast<size_t>(side)] = w;
        }
    }

    // ---- the main outline: left side top to bottom, the bottom, right side bottom to top, neckline
    std::vector<Vec2> left_side;  // x < 0, top to bottom
    std::vector<Vec2> bottom;     // left to right
    float hem_left_x = 0;
    if (upper) {
        left_side.push_back({-neck_w, neck_y});
        left_side.push_back({-shoulder_x, Body::shoulder_y});
        left_side.push_back({-torso_side(body, g.fit, Body::armpit_y), Body::armpit_y});
        for (float y : {0.42f, waist_y, 0.66f, Body::hip_y, 1.0f, 1.2f})
            if (y < top_end - 0.02f) left_side.push_back({-torso_side(body, g.fit, y), y});
        if (!lower) {
            hem_left_x = torso_side(body, g.fit, top_end);
            left_side.push_back({-hem_left_x, top_end});
            set_point(6, {-hem_left_x, top_end});
            set_point(7, {hem_left_x, top_end});
            bottom = {{-hem_left_x, top_end}, {hem_left_x, top_end}};
        }
    }
    if (lower) {
        const float ww = body.waist() * std::max(1.0f, g.fit) + 0.02f;
        Vec2 waist_left{-ww, waist_y};
        if (!upper) left_side.push_back(waist_left);
        else left_side.push_back({-torso_side(body, g.fit, waist_y), waist_y});
        set_point(4, left_side.back());
        set_point(5, {-left_side.back().x, waist_y});
        const float hip_x = body.hip() * std::max(1.0f, std::min(g.fit, 1.1f)) + 0.02f;
        if (g.lower == LowerCut::skirt) {
            const float len = std::max(0.0f, g.lower_hem - Body::hip_y);
            const float hem_x = hip_x + g.flare * len;
            if (g.lower_hem > Body::hip_y + 0.05f) left_side.push_back({-hip_x, Body::hip_y});
            left_side.push_back({-hem_x, g.lower_hem});
            set_point(6, {-hem_x, g.lower_hem});
            set_point(7, {hem_x, g.lower_hem});
            // A hem that dips slightly in the middle (and ripples for strong flares).
            for (int i = 0; i <= 8; ++i) {
                float t = static_cast<float>(i) / 8.0f;
                float x = -hem_x + 2 * hem_x * t;
                float dip = 0.03f * std::sin(3.14159f * t) + (g.flare > 0.35f ? 0.025f * std::sin(t * 25.13f) : 0.0f);
                bottom.push_back({x, g.lower_hem + dip});
            }
        } else {  // trousers and shorts: two legs
            left_side.push_back({-hip_x, Body::hip_y});
            std::array<Vec2, 2> hem_outer{}, hem_inner{}, knee_outer{}, knee_inner{};
            for (int side = 0; side < 2; ++side) {
                const bool left = side == 0;
                const float sign = left ? -1.0f : 1.0f;
                Vec2 dir{sign * std::sin(scene.leg_spread), std::cos(scene.leg_spread)};
                Vec2 joint = body.hip_joint(left);
                float length = g.lower_hem - joint.y;
                Vec2 centre = joint + dir * (length / dir.y);
                Vec2 outward{sign * dir.y, -sign * dir.x};
                hem_outer[static_cast<size_t>(side)] = centre + outward * g.leg_width;
                hem_inner[static_cast<size_t>(side)] = centre - outward * g.leg_width;
                Vec2 knee = joint + dir * ((1.28f - joint.y) / dir.y);
                float knee_w = std::min(0.1f, g.leg_width * 0.9f + 0.02f);
                knee_outer[static_cast<size_t>(side)] = knee + outward * knee_w;
                knee_inner[static_cast<size_t>(side)] = knee - outward * knee_w;
                set_point(left ? 6 : 7, centre);
                if (g.cuffs && owner == Owner::garment)
                    add(limb_points(centre - dir * 0.045f, centre, g.leg_width + 0.004f, g.leg_width + 0.004f),
                        cloth(0.7f), detail);
            }
            const bool long_legs = g.lower_hem > 1.35f;
            if (long_legs) left_side.push_back(knee_outer[0]);
            left_side.push_back(hem_outer[0]);
            bottom.push_back(hem_outer[0]);
            bottom.push_back(hem_inner[0]);
            if (long_legs) bottom.push_back(knee_inner[0]);
            bottom.push_back({0, Body::crotch_y + (g.lower_hem < 1.1f ? 0.0f : 0.02f)});
            if (long_legs) bottom.push_back(knee_inner[1]);
            bottom.push_back(hem_inner[1]);
            bottom.push_back(hem_outer[1]);
        }
    }
    std::vector<Vec2> outline;
    for (const Vec2& p : left_side) outline.push_back(p);
    for (const Vec2& p : bottom) outline.push_back(p);
    for (auto it = left_side.rbegin(); it != left_side.rend(); ++it) {
        if (bottom.size() >= 2 && it == left_side.rbegin()) continue;  // the hem end is already in `bottom`
        outline.push_back({-it->x, it->y});
    }
    if (upper) {  // neckline, right to left
        if (g.neckline == Neckline::v_neck || g.open_front) {
            outline.push_back({0, g.open_front ? 0.3f : 0.2f});
        } else {
            float depth = g.neckline == Neckline::scoop ? 0.13f : 0.06f;
            for (int i = 1; i < 6; ++i) {
                float t = static_cast<float>(i) / 6.0f;
                outline.push_back({neck_w * std::cos(3.14159f * t), neck_y + depth * std::sin(3.14159f * t)});
            }
        }
        set_point(0, {-neck_w, neck_y});
        set_point(1, {neck_w, neck_y});
    }
    // Full-body outlines: a coat or kimono has its waistline on the side outline.
    if (g.clothes_type == kFullBody && !lower) {
        set_point(4, {-torso_side(body, g.fit, waist_y), waist_y});
        set_point(5, {torso_side(body, g.fit, waist_y), waist_y});
    }
    if (owner != Owner::garment) {
        for (auto& s : out.shapes) s.paint = flat(scene.companion, 0.05f);
        out.shapes.push_back({outline, flat(scene.companion, 0.05f), owner});
        return;
    }
    add(outline, cloth(), owner);

    // ---- details (garment_detail: part of the garment, never occluders)
    const float hem_y = lower ? g.lower_hem : top_end;
    if (upper && g.open_front) {  // the shirt beneath shows in the gap
        float bottom_y = lower ? waist_y : top_end;
        add({{-0.07f, neck_y + 0.02f}, {0.07f, neck_y + 0.02f}, {0.045f, bottom_y}, {-0.045f, bottom_y}},
            flat(g.inner_colour, 0.04f), detail);
        if (!g.lapels) add({{-0.07f, neck_y + 0.02f}, {0.0f, 0.3f}, {0.07f, neck_y + 0.02f}, {0, neck_y + 0.08f}},
                           flat(g.inner_colour * 0.9f, 0.04f), detail);
    }
    if (upper && g.lapels) {
        for (float sign : {-1.0f, 1.0f}) {
            add({{sign * neck_w, neck_y}, {sign * (neck_w + 0.04f), 0.1f}, {sign * 0.12f, 0.2f}, {sign * 0.02f, 0.36f},
                 {sign * 0.035f, 0.12f}},
                cloth(0.78f), detail);
        }
    }
    if (upper && g.collar && !g.lapels) {
        for (float sign : {-1.0f, 1.0f})
            add({{sign * (neck_w + 0.015f), neck_y - 0.02f}, {sign * 0.005f, neck_y + 0.07f}, {sign * (neck_w - 0.005f), neck_y + 0.11f}},
                cloth(1.18f), detail);
    }
    if (upper && g.buttons) {
        float x = g.open_front ? 0.06f : 0.0f;
        float top = g.open_front || g.neckline == Neckline::v_neck ? 0.32f : 0.08f;
        float end = (lower ? waist_y : top_end) - 0.06f;
        if (g.open_front) add(rect_points(x - 0.004f, top - 0.04f, x + 0.004f, end + 0.03f), cloth(0.8f), detail);
        int count = std::max(2, static_cast<int>((end - top) / 0.1f) + 1);
        for (int i = 0; i < count; ++i) {
            float y = top + (end - top) * static_cast<float>(i) / static_cast<float>(std::max(1, count - 1));
            add(ellipse_points({x, y}, 0.024f, 0.024f, 10), flat(g.detail_colour), detail);
        }
    }
    if (!upper && g.buttons)  // trousers and skirts: one button on the waistband
        add(ellipse_points({0.0f, waist_y + 0.025f}, 0.024f, 0.024f, 10), flat(g.detail_colour), detail);
    if (g.zip) {
        float top = upper ? (g.neckline == Neckline::v_neck ? 0.2f : 0.05f) : waist_y + 0.02f;
        float end = upper ? (lower ? waist_y : top_end) - 0.01f : waist_y + 0.2f;
        add(rect_points(-0.011f, top, 0.011f, end), flat(Rgb{0.72f, 0.72f, 0.76f}), detail);
        add(rect_points(-0.022f, top, 0.022f, top + 0.06f), flat(Rgb{0.88f, 0.88f, 0.9f}), detail);
    }
    switch (g.pockets) {
        case PocketStyle::none:
            break;
        case PocketStyle::chest:  // a seam outline, then the pocket
            add(rect_points(-0.215f, 0.135f, -0.075f, 0.285f), flat(g.detail_colour * 0.8f), detail);
            add(rect_points(-0.2f, 0.15f, -0.09f, 0.27f), cloth(0.8f), detail);
            break;
        case PocketStyle::lower_flap: {
            float y = std::min(hem_y - 0.22f, 0.62f);
            for (float sign : {-1.0f, 1.0f}) {
                add(rect_points(sign * 0.2f - 0.065f, y, sign * 0.2f + 0.065f, y + 0.13f), cloth(0.8f), detail);
                add(rect_points(sign * 0.2f - 0.07f, y - 0.012f, sign * 0.2f + 0.07f, y + 0.035f), cloth(0.6f), detail);
            }
            break;
        }
        case PocketStyle::kangaroo: {
            float y = std::min(top_end - 0.25f, 0.5f);
            add({{-0.17f, y - 0.01f}, {0.17f, y - 0.01f}, {0.215f, y + 0.21f}, {-0.215f, y + 0.21f}}, flat(g.detail_colour * 0.8f), detail);
            add({{-0.16f, y}, {0.16f, y}, {0.2f, y + 0.2f}, {-0.2f, y + 0.2f}}, cloth(0.78f), detail);
            break;
        }
        case PocketStyle::jeans:
            for (float sign : {-1.0f, 1.0f}) {
                std::vector<Vec2> curve;
                for (int i = 0; i <= 6; ++i) {
                    float t = static_cast<float>(i) / 6.0f;
                    curve.push_back({sign * (0.08f + 0.12f * std::sin(t * 1.5708f)), waist_y + 0.012f + 0.11f * (1 - std::cos(t * 1.5708f))});
                }
                for (int i = 6; i >= 0; --i) curve.push_back(curve[static_cast<size_t>(i)] + Vec2{0, 0.026f});
                add(curve, flat(g.detail_colour * 0.9f), detail);
            }
            break;
    }
    if (g.drawstring) {
        float y0 = upper ? neck_y + 0.06f : waist_y + 0.03f;
        for (float sign : {-1.0f, 1.0f})
            add(limb_points({sign * 0.045f, y0}, {sign * 0.065f, y0 + 0.22f}, 0.013f, 0.013f), flat(g.detail_colour), detail);
    }
    if (upper && g.cuffs && g.sleeve > 0.0f) {
        for (size_t side = 0; side < 2; ++side) {
            Vec2 c = cuff_centre[side];
            add(limb_points(c - cuff_dir[side] * 0.05f, c, cuff_width[side] + 0.004f, cuff_width[side] + 0.004f), cloth(0.7f),
                detail);
        }
    }
    if (upper && g.sport_stripes && g.sleeve > 0.0f) {
        for (size_t side = 0; side < 2; ++side) {
            Vec2 n = cuff_normal[side];
            Vec2 start = Vec2{(side == 0 ? -1.0f : 1.0f) * shoulder_x, Body::shoulder_y} - n * 0.01f;
            Vec2 end = cuff_centre[side] + n * (cuff_width[side] * 0.6f);
            add(limb_points(start, end, 0.018f, 0.018f), flat(g.detail_colour), detail);
        }
    }
    if (lower && g.sport_stripes) {
        for (size_t side = 0; side < 2; ++side) {
            Vec2 top = out.points[4 + side];
            Vec2 hem = out.points[6 + side];
            float sign = side == 0 ? -1.0f : 1.0f;
            Vec2 end = g.lower == LowerCut::skirt ? hem + Vec2{-sign * 0.03f, 0} : hem + Vec2{sign * (g.leg_width - 0.02f), 0};
            add(limb_points(top + Vec2{-sign * 0.025f, 0.02f}, end + Vec2{0, -0.01f}, 0.018f, 0.018f), flat(g.detail_colour), detail);
        }
    }
    if (g.belt) {
        float half = (upper ? torso_side(body, g.fit, waist_y) : body.waist() * std::max(1.0f, g.fit) + 0.02f) + 0.005f;
        add(rect_points(-half, waist_y - 0.028f, half, waist_y + 0.028f), flat(g.belt_colour, 0.05f), detail);
        add(rect_points(-0.035f, waist_y - 0.035f, 0.035f, waist_y + 0.035f), flat(Rgb{0.85f, 0.75f, 0.35f}), detail);
        add(rect_points(-0.02f, waist_y - 0.02f, 0.02f, waist_y + 0.02f), flat(g.belt_colour), detail);
    }
    if (g.print == Print::star) {
        Vec2 c = upper ? Vec2{0, 0.3f} : Vec2{-0.15f, 1.05f};
        add(star_points(c, upper ? 0.11f : 0.07f), flat(look.second), detail);
    }
    if (g.print == Print::logo) {
        Vec2 c = upper ? Vec2{-0.13f, 0.18f} : Vec2{-0.16f, 0.72f};
        add(rect_points(c.x - 0.065f, c.y - 0.04f, c.x + 0.065f, c.y + 0.04f), flat(g.detail_colour), detail);
        add(rect_points(c.x - 0.045f, c.y - 0.012f, c.x + 0.045f, c.y + 0.012f), flat(look.base * 0.5f), detail);
    }
}

/// The person under the clothes: legs, arms, torso skin, neck, head and hair.
inline void build_body(const SceneSpec& scene, std::vector<Shape>& back, std::vector<Shape>& front_head) {
    const Body body{scene.body_width};
    auto flat = [](Rgb c, float texture = 0.02f) {
        Paint p;
        p.kind = Paint::Kind::skin;
        p.colour = c;
        p.texture = texture;
        return p;
    };
    if (scene.long_hair) back.push_back({{{-0.17f, -0.38f}, {0.17f, -0.38f}, {0.2f, 0.2f}, {-0.2f, 0.2f}}, flat(scene.hair, 0.1f), Owner::body});
    for (int side = 0; side < 2; ++side) {
        const bool left = side == 0;
        const float sign = left ? -1.0f : 1.0f;
        Vec2 dir{sign * std::sin(scene.leg_spread), std::cos(scene.leg_spread)};
        Vec2 hip = body.hip_joint(left);
        Vec2 ankle = hip + dir * ((Body::ankle_y - hip.y) / dir.y);
        back.push_back({limb_points(hip, ankle, 0.1f * body.w, 0.045f), flat(scene.skin), Owner::body});
        back.push_back({ellipse_points(ankle + Vec2{sign * 0.02f, 0.04f}, 0.07f, 0.04f, 12), flat(scene.shoes, 0.03f), Owner::body});
        float angle = left ? scene.arm_left : scene.arm_right;
        Vec2 joint = body.arm_joint(left);
        Vec2 wrist = joint + Body::arm_direction(left, angle) * Body::arm_length;
        back.push_back({limb_points(joint, wrist, 0.06f, 0.04f), flat(scene.skin * 0.97f), Owner::body});
        back.push_back({ellipse_points(wrist + Body::arm_direction(left, angle) * 0.05f, 0.045f, 0.06f, 12), flat(scene.skin * 0.97f), Owner::body});
    }
    back.push_back({{{-body.shoulder(), Body::shoulder_y}, {body.shoulder(), Body::shoulder_y}, {body.chest(), Body::armpit_y},
                     {body.waist(), Body::waist_y}, {body.hip(), Body::hip_y}, {0.0f, Body::crotch_y}, {-body.hip(), Body::hip_y},
                     {-body.waist(), Body::waist_y}, {-body.chest(), Body::armpit_y}},
                    flat(scene.skin), Owner::body});
    back.push_back({rect_points(-0.055f, -0.16f, 0.055f, 0.06f), flat(scene.skin * 0.93f), Owner::body});
    front_head.push_back({ellipse_points({0, -0.27f}, 0.12f, 0.15f), flat(scene.skin), Owner::body});
    front_head.push_back({{{-0.13f, -0.3f}, {-0.1f, -0.4f}, {0, -0.44f}, {0.1f, -0.4f}, {0.13f, -0.3f}, {0.05f, -0.36f}, {-0.08f, -0.35f}},
                          flat(scene.hair, 0.1f), Owner::body});
}

// ---------------------------------------------------------------------------------------------
// Canvas

/// A supersampled RGB float canvas with scanline polygon fill.
class Canvas {
public:
    Canvas(int width, int height) : width_(width), height_(height), pixels_(static_cast<size_t>(width) * static_cast<size_t>(height)) {}
    int width() const { return width_; }
    int height() const { return height_; }
    Rgb& at(int x, int y) { return pixels_[static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)]; }

    /// Calls shade(x, y, pixel) for every sample whose centre lies inside the polygon (even-odd).
    template <class Shade>
    void fill(const std::vector<Vec2>& poly, Shade&& shade) {
        if (poly.size() < 3) return;
        float min_y = poly[0].y, max_y = poly[0].y;
        for (const Vec2& p : poly) {
            min_y = std::min(min_y, p.y);
            max_y = std::max(max_y, p.y);
        }
        int y0 = std::max(0, static_cast<int>(std::floor(min_y))), y1 = std::min(height_ - 1, static_cast<int>(std::ceil(max_y)));
        std::vector<float> crossings;
        for (int y = y0; y <= y1; ++y) {
            const float yc = static_cast<float>(y) + 0.5f;
            crossings.clear();
            for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
                const Vec2 a = poly[j], b = poly[i];
                if ((a.y <= yc) != (b.y <= yc)) crossings.push_back(a.x + (yc - a.y) * (b.x - a.x) / (b.y - a.y));
            }
            std::sort(crossings.begin(), crossings.end());
            for (size_t k = 0; k + 1 < crossings.size(); k += 2) {
                // Samples whose centre x + 0.5 lies in [left, right).
                int x0 = std::max(0, static_cast<int>(std::ceil(crossings[k] - 0.5f)));
                int x1 = std::min(width_ - 1, static_cast<int>(std::ceil(crossings[k + 1] - 0.5f)) - 1);
                for (int x = x0; x <= x1; ++x) shade(x, y, at(x, y));
            }
        }
    }

private:
    int width_, height_;
    std::vector<Rgb> pixels_;
};

// ---------------------------------------------------------------------------------------------
// The scene

/// The garment-space → image map for a scene: the garment box `lo`..`hi` is scaled to `fill` of
/// the image, centred with the offset, rotated, then tilted in perspective about the centre.
inline Projective view_transform(const SceneSpec& scene, Vec2 lo, Vec2 hi) {
    const double w = scene.width, h = scene.height;
    const double box_w = std::max(1e-3f, hi.x - lo.x), box_h = std::max(1e-3f, hi.y - lo.y);
    const double scale = scene.fill * std::min(w / box_w, h / box_h);
    const double cx = w / 2 + scene.offset_x * w, cy = h / 2 + scene.offset_y * h;
    const double size = std::max(w, h);
    return Projective::translation(-(lo.x + hi.x) / 2.0, -(lo.y + hi.y) / 2.0)
        .then(Projective::scaling(scale))
        .then(Projective::rotation(scene.rotation))
        .then(Projective::tilt(2.0 * scene.tilt_x / size, 2.0 * scene.tilt_y / size))
        .then(Projective::translation(cx, cy));
}

/// The plain companion garment of a scene: trousers or a skirt under an upper-body item, a top
/// tucked in (or, untucked, hanging over the waistband as an occluder) with a lower-body item.
/// Full-body items and flat-lay photos have none.
inline GarmentDrawing build_companion(const GarmentSpec& garment, const SceneSpec& scene, GarmentSpec& other) {
    GarmentDrawing companion;
    other.look.base = scene.companion;
    if (!scene.show_body) return companion;
    if (garment.clothes_type == kUpperBody) {
        other.clothes_type = kLowerBody;
        other.has_top = false;
        other.lower = scene.companion_skirt ? LowerCut::skirt : LowerCut::trousers;
        other.lower_hem = scene.companion_skirt ? 1.25f : 1.7f;
        other.leg_width = 0.085f;
        other.flare = 0.2f;
        build_garment(other, scene, other.look, Owner::companion, companion);
    } else if (garment.clothes_type == kLowerBody) {
        other.clothes_type = kUpperBody;
        other.sleeve = 0.35f;
        other.top_hem = scene.untucked ? 0.64f : 0.6f;
        other.fit = 1.05f;
        build_garment(other, scene, other.look, scene.untucked ? Owner::occluder : Owner::companion, companion);
    }
    return companion;
}

/// The occluder of a scene (bag, crossing arm or a strand of hair), placed over one of the
/// garment's landmarks; empty when the scene has none.
inline std::vector<Shape> build_occluders(const GarmentDrawing& main, const SceneSpec& scene) {
    std::vector<Shape> occluders;
    std::vector<int> slots;
    for (int k = 0; k < kLandmarkSlots; ++k)
        if (main.present[static_cast<size_t>(k)]) slots.push_back(k);
    if (slots.empty() || scene.occluder == OccluderKind::none) return occluders;
    Paint skin;
    skin.kind = Paint::Kind::skin;
    skin.colour = scene.skin;
    Paint object;
    object.colour = scene.occluder_colour;
    object.texture = 0.06f;
    int slot = slots[std::min(slots.size() - 1, static_cast<size_t>(scene.occluder_at * static_cast<float>(slots.size())))];
    Vec2 target = main.points[static_cast<size_t>(slot)];
    float side = target.x < 0 ? -1.0f : 1.0f;
    switch (scene.occluder) {
        case OccluderKind::bag: {
            Vec2 c = target + Vec2{side * 0.02f, 0.03f};
            occluders.push_back({rect_points(c.x - 0.11f, c.y - 0.08f, c.x + 0.11f, c.y + 0.1f), object, Owner::occluder});
            Paint strap = object;
            strap.colour = object.colour * 0.6f;
            occluders.push_back({limb_points(c + Vec2{-0.08f, -0.08f}, c + Vec2{side * 0.1f, -0.5f}, 0.012f, 0.012f), strap,
                                 Owner::occluder});
            break;
        }
        case OccluderKind::arm: {
            Vec2 hand = target + Vec2{0, 0.01f};
            Vec2 elbow = hand + Vec2{-side * 0.32f, 0.12f};
            occluders.push_back({limb_points(elbow, hand, 0.05f, 0.04f), skin, Owner::occluder});
            occluders.push_back({ellipse_points(hand, 0.06f, 0.05f, 12), skin, Owner::occluder});
            break;
        }
        case OccluderKind::hair: {
            Paint hair;
            hair.kind = Paint::Kind::skin;
            hair.colour = scene.hair;
            hair.texture = 0.12f;
            Vec2 c = target;
            occluders.push_back({{{c.x - 0.05f, -0.35f}, {c.x + 0.05f, -0.35f}, {c.x + 0.06f, c.y + 0.08f}, {c.x - 0.02f, c.y + 0.12f}},
                                 hair, Owner::occluder});
            break;
        }
        case OccluderKind::none:
            break;
    }
    return occluders;
}

/// Paints the background: a gradient with smooth mottling (studio), or a scene of blocks, discs
/// and poles over a floor (clutter), drawn directly in image space.
inline void paint_background(Canvas& canvas, const SceneSpec& scene) {
    const int ss = scene.supersample;
    const float inv_size = 1.0f / static_cast<float>(std::max(scene.width, scene.height) * ss);
    // The backdrop is smooth, so it is evaluated once per output pixel and copied to its samples.
    for (int y = 0; y < scene.height; ++y)
        for (int x = 0; x < scene.width; ++x) {
            float fx = static_cast<float>(x * ss) * inv_size, fy = static_cast<float>(y * ss) * inv_size;
            float mottling = value_noise(fx * 3, fy * 3, scene.seed + 101);
            Rgb c = mix(scene.backdrop, scene.backdrop2, std::clamp(fy * 0.8f + 0.3f * mottling, 0.0f, 1.0f));
            if (scene.background == Background::clutter) c = c * (0.85f + 0.3f * fractal_noise(fx * 12, fy * 12, scene.seed + 102));
            for (int dy = 0; dy < ss; ++dy)
                for (int dx = 0; dx < ss; ++dx) canvas.at(x * ss + dx, y * ss + dy) = c;
        }
    if (scene.background != Background::clutter) return;
    const float w = static_cast<float>(scene.width), h = static_cast<float>(scene.height);
    for (int i = 0; i < scene.clutter_shapes; ++i) {
        auto r = [&](int k) { return cell_random(i, k, scene.seed + 200); };
        Rgb colour = mix(hex(0x303030), hex(0xF0E8D8), r(0));
        colour = mix(colour, Rgb{r(1), r(2), r(3)}, 0.45f);
        const float texture = 0.08f;
        float cx = r(4) * w, cy = r(5) * h, sx = (0.08f + 0.4f * r(6)) * w, sy = (0.08f + 0.5f * r(7)) * h;
        std::vector<Vec2> pts;
        int kind = static_cast<int>(r(8) * 4);
        if (kind == 0) pts = ellipse_points({cx, cy}, sx * 0.5f, sx * 0.5f, 16);
        else if (kind == 1) pts = limb_points({cx, cy}, {cx + sx, cy + sy * 0.5f - sy * r(9)}, 0.02f * w, 0.02f * w);
        else pts = rect_points(cx - sx / 2, cy - sy / 2, cx + sx / 2, cy + sy / 2);
        for (Vec2& p : pts) p = p * static_cast<float>(ss);
        canvas.fill(pts, [&](int px, int py, Rgb& dst) {
            float n = cell_random(px / 2, py / 2, scene.seed + 300);
            dst = colour * (1.0f - texture + 2 * texture * n);
        });
    }
    // A floor line: the lower part of the frame darker or lighter.
    float floor_y = (0.65f + 0.3f * cell_random(7, 7, scene.seed)) * static_cast<float>(canvas.height());
    Rgb floor_tint = cell_random(8, 8, scene.seed) < 0.5f ? Rgb{0.8f, 0.78f, 0.75f} : Rgb{1.1f, 1.05f, 1.0f};
    for (int y = std::max(0, static_cast<int>(floor_y)); y < canvas.height(); ++y)
        for (int x = 0; x < canvas.width(); ++x) {
            Rgb& c = canvas.at(x, y);
            c = {c.r * floor_tint.r, c.g * floor_tint.g, c.b * floor_tint.b};
        }
}

/// Paints one garment-space shape through the canvas map; each covered sample is mapped back
/// to garment space for its cloth pattern or skin grain.
inline void paint_shape(Canvas& canvas, const Shape& shape, const Projective& to_canvas, const Projective& from_canvas,
                        uint32_t seed) {
    std::vector<Vec2> pts;
    pts.reserve(shape.points.size());
    for (const Vec2& p : shape.points) pts.push_back(to_canvas.apply(p));
    const Paint& paint = shape.paint;
    canvas.fill(pts, [&](int x, int y, Rgb& dst) {
        Vec2 g = from_canvas.apply({static_cast<float>(x) + 0.5f, static_cast<float>(y) + 0.5f});
        switch (paint.kind) {
            case Paint::Kind::cloth:
                dst = shade_cloth(*paint.look, g.x, g.y, dst, paint.tint);
                break;
            case Paint::Kind::skin: {
                float n = cell_random(static_cast<int32_t>(std::floor(g.x * 100)), static_cast<int32_t>(std::floor(g.y * 100)),
                                      seed + 17);
                dst = paint.colour * (1.0f - paint.texture + 2 * paint.texture * n) * (1.02f - 0.08f * std::fabs(g.x) * 3.0f);
                break;
            }
            case Paint::Kind::flat: {
                float n = cell_random(static_cast<int32_t>(std::floor(g.x * 120)), static_cast<int32_t>(std::floor(g.y * 120)),
                                      seed + 19);
                dst = paint.colour * (1.0f - paint.texture + 2 * paint.texture * n);
                break;
            }
        }
    });
}

/// Turns the supersampled canvas into the photo: lighting (gain, colour cast, gradient,
/// vignette), box-filter downsampling, sensor grain, an optional box blur, rounding to bytes.
inline Image develop_photo(Canvas& canvas, const SceneSpec& scene) {
    const int ss = scene.supersample;
    Image image(scene.width, scene.height, 3);
    const float area = 1.0f / static_cast<float>(ss * ss);
    const float ca = std::cos(scene.light_angle), sa = std::sin(scene.light_angle);
    std::vector<float> values(static_cast<size_t>(scene.width) * static_cast<size_t>(scene.height) * 3);
    auto at = [&](std::vector<float>& v, int x, int y, int c) -> float& {
        return v[(static_cast<size_t>(y) * static_cast<size_t>(scene.width) + static_cast<size_t>(x)) * 3 + static_cast<size_t>(c)];
    };
    for (int y = 0; y < scene.height; ++y)
        for (int x = 0; x < scene.width; ++x) {
            Rgb sum;
            for (int dy = 0; dy < ss; ++dy)
                for (int dx = 0; dx < ss; ++dx) sum = sum + canvas.at(x * ss + dx, y * ss + dy);
            sum = sum * area;
            float fx = (static_cast<float>(x) + 0.5f) / static_cast<float>(scene.width) - 0.5f;
            float fy = (static_cast<float>(y) + 0.5f) / static_cast<float>(scene.height) - 0.5f;
            float light = scene.gain * (1.0f + scene.light_gradient * (ca * fx + sa * fy)) *
                          (1.0f - scene.vignette * (fx * fx + fy * fy) * 2.0f);
            float grain = scene.noise > 0 ? scene.noise * (cell_random(x, y, scene.seed + 401) + cell_random(x, y, scene.seed + 402) - 1.0f) : 0.0f;
            at(values, x, y, 0) = sum.r * light * scene.cast.r + grain;
            at(values, x, y, 1) = sum.g * light * scene.cast.g + grain;
            at(values, x, y, 2) = sum.b * light * scene.cast.b + grain;
        }
    if (scene.blur > 0) {  // separable box blur, clipped at the borders
        const int r = scene.blur;
        std::vector<float> tmp(values.size());
        for (int pass = 0; pass < 2; ++pass) {
            for (int y = 0; y < scene.height; ++y)
                for (int x = 0; x < scene.width; ++x)
                    for (int c = 0; c < 3; ++c) {
                        float s = 0;
                        int n = 0;
                        for (int k = -r; k <= r; ++k) {
                            int xx = pass == 0 ? x + k : x, yy = pass == 0 ? y : y + k;
                            if (xx < 0 || yy < 0 || xx >= scene.width || yy >= scene.height) continue;
                            s += at(values, xx, yy, c);
                            ++n;
                        }
                        at(tmp, x, y, c) = s / static_cast<float>(n);
                    }
            values.swap(tmp);
        }
    }
    for (size_t i = 0; i < values.size(); ++i)
        image.pixels[i] = static_cast<uint8_t>(std::clamp(values[i] * 255.0f + 0.5f, 0.0f, 255.0f));
    return image;
}

/// Renders a garment in a scene: image, landmarks (visibility as in DeepFashion) and box.
inline RenderResult render_scene(const GarmentSpec& garment, const SceneSpec& scene) {
    SEAM_CHECK(scene.width >= 8 && scene.height >= 8 && scene.width <= 4096 && scene.height <= 4096,
               "synthfashion: image size must be in 8..4096, got ", scene.width, "x", scene.height);
    SEAM_CHECK(scene.supersample >= 1 && scene.supersample <= 4, "synthfashion: supersample must be 1..4");

    // --- the shapes
    GarmentDrawing main;
    build_garment(garment, scene, garment.look, Owner::garment, main);
    GarmentSpec other;  // outlives `companion`, whose cloth paints point at its look
    const GarmentDrawing companion = build_companion(garment, scene, other);
    std::vector<Shape> body_back, head;
    if (scene.show_body) build_body(scene, body_back, head);
    std::vector<Shape> hood, garment_shapes;  // the hood, when there is one, is the first shape
    for (size_t i = 0; i < main.shapes.size(); ++i) {
        if (i == 0 && garment.hood && garment.has_top) hood.push_back(main.shapes[i]);
        else garment_shapes.push_back(main.shapes[i]);
    }
    const std::vector<Shape> occluders = build_occluders(main, scene);

    // --- framing from the garment's own outline (details included)
    Vec2 lo{1e9f, 1e9f}, hi{-1e9f, -1e9f};
    for (const Shape& shape : main.shapes)
        for (const Vec2& p : shape.points) {
            lo = {std::min(lo.x, p.x), std::min(lo.y, p.y)};
            hi = {std::max(hi.x, p.x), std::max(hi.y, p.y)};
        }
    const Projective to_image = view_transform(scene, lo, hi);
    const Projective to_canvas = to_image.then(Projective::scaling(scene.supersample));
    const Projective from_canvas = to_canvas.inverse();

    // --- paint in painter's order: back hair and body, hood, head, the companion when tucked
    // beneath, the garment with its details, an untucked companion top, occluders
    Canvas canvas(scene.width * scene.supersample, scene.height * scene.supersample);
    paint_background(canvas, scene);
    auto paint_all = [&](const std::vector<Shape>& shapes) {
        for (const Shape& shape : shapes) paint_shape(canvas, shape, to_canvas, from_canvas, scene.seed);
    };
    const bool companion_first = companion.shapes.empty() || companion.shapes.back().owner == Owner::companion;
    paint_all(body_back);
    paint_all(hood);
    paint_all(head);
    if (companion_first) paint_all(companion.shapes);
    paint_all(garment_shapes);
    if (!companion_first) paint_all(companion.shapes);
    paint_all(occluders);

    RenderResult result;
    result.image = develop_photo(canvas, scene);

    // --- landmarks: project, round, then truncation (frame) and occlusion (occluders)
    for (int k = 0; k < kLandmarkSlots; ++k) {
        if (!main.present[static_cast<size_t>(k)]) continue;
        Vec2 g = main.points[static_cast<size_t>(k)];
        Vec2 p = to_image.apply(g);
        Landmark& point = result.landmarks[static_cast<size_t>(k)];
        point.present = true;
        point.x = std::round(p.x - 0.5f);  // continuous image coordinates → pixel-centre convention
        point.y = std::round(p.y - 0.5f);
        bool inside = point.x >= 0 && point.y >= 0 && point.x <= static_cast<float>(scene.width - 1) &&
                      point.y <= static_cast<float>(scene.height - 1);
        bool covered = false;
        for (const Shape& s : occluders) covered = covered || contains(s.points, g);
        for (const Shape& s : companion.shapes) covered = covered || (s.owner == Owner::occluder && contains(s.points, g));
        point.visibility = !inside ? kTruncated : covered ? kOccluded : kVisible;
        if (!inside) {  // files hold coordinates inside the image
            point.x = std::clamp(point.x, 0.0f, static_cast<float>(scene.width - 1));
            point.y = std::clamp(point.y, 0.0f, static_cast<float>(scene.height - 1));
        }
    }
    // --- box: the garment's projected extent, clipped to the image, holding every visible landmark
    float bx1 = 1e9f, by1 = 1e9f, bx2 = -1e9f, by2 = -1e9f;
    for (const Shape& shape : main.shapes)
        for (const Vec2& g : shape.points) {
            Vec2 p = to_image.apply(g);
            bx1 = std::min(bx1, p.x);
            by1 = std::min(by1, p.y);
            bx2 = std::max(bx2, p.x);
            by2 = std::max(by2, p.y);
        }
    float x1 = std::clamp(std::floor(bx1), 0.0f, static_cast<float>(scene.width - 1));
    float y1 = std::clamp(std::floor(by1), 0.0f, static_cast<float>(scene.height - 1));
    float x2 = std::clamp(std::ceil(bx2), x1 + 1, static_cast<float>(scene.width));
    float y2 = std::clamp(std::ceil(by2), y1 + 1, static_cast<float>(scene.height));
    for (const Landmark& point : result.landmarks) {
        if (!point.present || point.visibility == kTruncated) continue;
        x1 = std::min(x1, point.x);
        y1 = std::min(y1, point.y);
        x2 = std::max(x2, point.x + 1);
        y2 = std::max(y2, point.y + 1);
    }
    result.box = Box{x1, y1, x2, y2};
    return result;
}

}  // namespace seam::data::synth
