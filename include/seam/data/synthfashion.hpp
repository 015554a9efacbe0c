// seam/data/synthfashion.hpp — SynthFashion: a deterministic procedural stand-in for DeepFashion.
//
// write_synthfashion(dir, options) writes two benchmark roots in the exact real file formats,
// through the writers of seam/data/deepfashion.hpp, so every reader, loader and evaluator of the
// library runs on them unchanged:
//   dir/category-attribute/   DeepFashion-C:   Anno/list_{category_cloth,category_img,attr_cloth,
//                             attr_img,bbox,landmarks}.txt, Eval/list_eval_partition.txt, img/<title>/img_*.jpg
//   dir/consumer-to-shop/     DeepFashion-C2S: Anno/list_{item_consumer2shop,bbox_consumer2shop,
//                             landmarks_consumer2shop,attr_cloth,attr_type,attr_items}.txt,
//                             Eval/list_eval_partition.txt, img/<GROUP>/<Category>/id_*/{shop,comsumer}_NN.jpg
//
// What is in the pictures (synthfashion_render.hpp draws them): 19 garment categories of all three
// clothes types, named and numbered as in the real list_category_cloth (all 50 rows are written,
// so labels keep their real 1-based indices; 31 categories simply have no images, as 4 do in
// the real data); 48 attributes with real DeepFashion names and types (texture, fabric, shape,
// part, style), each of which changes the pixels; the 8 landmark slots at the real garment parts
// with the real visibility codes; a bounding box; train/val/test splits (C: 70/15/15 per image;
// C2S: 50/25/25 per item). Attributes depend on the category (jeans are usually denim, hoodies
// hooded) but never deterministically, and some positives are left unlabelled (label_noise), as
// in the real lists. C2S items have clean shop views (plain backdrop, centred, frontal; on a
// person or flat) and consumer views of the same item (other person and pose, perspective, zoom,
// occluders, clutter, light, blur, noise).
//
// Determinism: the same options give the same bytes, whatever the number of threads. Each image
// draws from its own seam::Generator keyed by (seed, stream, index) — a counter-based Philox
// stream — and no std:: distribution is used (their output differs between standard libraries).
// Rendering uses float maths and std::sin/cos/sqrt; results are identical on one platform and
// compiler, and may differ in rare pixels across libm implementations.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/core/rng.hpp"
#include "seam/data/deepfashion.hpp"
#include "seam/data/image.hpp"
#include "seam/data/loader.hpp"  // derive_key
#include "seam/data/synthfashion_render.hpp"

namespace seam::data {

struct SynthFashionOptions {
    uint64_t seed = 1;
    size_t images = 3000;      // DeepFashion-C images
    size_t c2s_items = 1000;   // DeepFashion-C2S items (each 1–2 shop and 1–3 consumer images)
    int size = 96;             // the long side of every image, in pixels (real data: 300)
    int jpeg_quality = 90;     // shop and C images; consumer images vary below it
    float label_noise = 0.1f;  // chance that a drawn attribute is written as negative
    int supersample = 2;       // anti-aliasing: samples per pixel along each axis
    int threads = 0;           // 0: std::thread::hardware_concurrency()
};

struct SynthFashionReport {
    size_t c_images = 0;
    std::array<size_t, 3> c_split_images{};    // train, val, test
    std::vector<size_t> c_category_images;     // per 0-based category (50)
    std::vector<size_t> c_attribute_positives; // per attribute, labelled positives
    std::array<size_t, 3> c_visibility{};      // landmarks present: visible, occluded, truncated
    size_t c2s_items = 0, c2s_images = 0, c2s_shop_images = 0, c2s_consumer_images = 0, c2s_pairs = 0;
    std::array<size_t, 3> c2s_split_items{};
    std::array<size_t, 3> c2s_split_pairs{};
    std::array<size_t, 3> c2s_visibility{};
    uint64_t jpeg_bytes = 0;
    double seconds = 0;
    int threads = 1;
};

namespace synth {

// ---------------------------------------------------------------------------------------------
// The category table: all 50 rows of DeepFashion-C in their real order and types (written out
// here from the published list; labels are 1-based row numbers).

struct CategoryRow {
    const char* name;
    int type;
};
inline constexpr std::array<CategoryRow, 50> kCategoryTable{{
    {"Anorak", 1},   {"Blazer", 1},   {"Blouse", 1},     {"Bomber", 1},      {"Button-Down", 1}, {"Cardigan", 1},
    {"Flannel", 1},  {"Halter", 1},   {"Henley", 1},     {"Hoodie", 1},      {"Jacket", 1},      {"Jersey", 1},
    {"Parka", 1},    {"Peacoat", 1},  {"Poncho", 1},     {"Sweater", 1},     {"Tank", 1},        {"Tee", 1},
    {"Top", 1},      {"Turtleneck", 1}, {"Capris", 2},   {"Chinos", 2},      {"Culottes", 2},    {"Cutoffs", 2},
    {"Gauchos", 2},  {"Jeans", 2},    {"Jeggings", 2},   {"Jodhpurs", 2},    {"Joggers", 2},     {"Leggings", 2},
    {"Sarong", 2},   {"Shorts", 2},   {"Skirt", 2},      {"Sweatpants", 2},  {"Sweatshorts", 2}, {"Trunks", 2},
    {"Caftan", 3},   {"Cape", 3},     {"Coat", 3},       {"Coverup", 3},     {"Dress", 3},       {"Jumpsuit", 3},
    {"Kaftan", 3},   {"Kimono", 3},   {"Nightdress", 3}, {"Onesie", 3},      {"Robe", 3},        {"Romper", 3},
    {"Shirtdress", 3}, {"Sundress", 3},
}};

/// The categories SynthFashion draws: 1-based label and relative frequency (roughly the real
/// data's imbalance: dresses and tees common, chinos rare).
struct DrawnCategory {
    int label;
    float frequency;
};
inline constexpr std::array<DrawnCategory, 19> kDrawnCategories{{
    {2, 3.5f},  {3, 9.0f},  {6, 5.0f},  {10, 2.0f}, {11, 4.0f}, {16, 5.0f}, {17, 6.0f}, {18, 12.0f},  // upper
    {22, 1.0f}, {26, 3.5f}, {29, 2.0f}, {30, 2.5f}, {32, 7.0f}, {33, 6.0f},                            // lower
    {39, 1.5f}, {41, 20.0f}, {42, 3.0f}, {44, 1.5f}, {48, 3.5f},                                        // full
}};

// ---------------------------------------------------------------------------------------------
// The attribute table: real DeepFashion-C attribute names with their real types.

enum Attribute : int {
    // texture (1)
    floral, striped, dotted, checked, camo, leopard, colorblock, chevron, heart,
    // fabric (2)
    denim, knit, leather, chiffon, lace, quilted, ribbed, pleated, plaid,
    // shape (3)
    cropped, longline, boxy, bodycon, mini, midi, maxi, a_line, flare, skinny, wide_leg,
    // part (4)
    sleeveless, long_sleeve, v_neck, crew_neck, collar, button, zip, pocket, hooded, belted, drawstring, cuffed,
    // style (5)
    solid, logo, star, sporty, party, summer, retro,
    kAttributeCount
};

struct AttributeRow {
    const char* name;     // as in the real list_attr_cloth.txt
    int type;             // 1 texture, 2 fabric, 3 shape, 4 part, 5 style
    const char* chinese;  // for the C2S list (one token)
};
inline constexpr std::array<AttributeRow, kAttributeCount> kAttributeTable{{
    {"floral", 1, "碎花"},      {"striped", 1, "条纹"},     {"dotted", 1, "波点"},     {"checked", 1, "格子"},
    {"camo", 1, "迷彩"},        {"leopard", 1, "豹纹"},     {"colorblock", 1, "拼色"}, {"chevron", 1, "人字纹"},
    {"heart", 1, "爱心"},       {"denim", 2, "牛仔"},       {"knit", 2, "针织"},       {"leather", 2, "皮革"},
    {"chiffon", 2, "雪纺"},     {"lace", 2, "蕾丝"},        {"quilted", 2, "绗缝"},    {"ribbed", 2, "罗纹"},
    {"pleated", 2, "百褶"},     {"plaid", 2, "苏格兰格"},   {"cropped", 3, "短款"},    {"longline", 3, "长款"},
    {"boxy", 3, "宽松"},        {"bodycon", 3, "紧身"},     {"mini", 3, "超短"},       {"midi", 3, "中长"},
    {"maxi", 3, "及踝"},        {"a-line", 3, "A字"},       {"flare", 3, "喇叭"},      {"skinny", 3, "小脚"},
    {"wide-leg", 3, "阔腿"},    {"sleeveless", 4, "无袖"},  {"long-sleeve", 4, "长袖"}, {"v-neck", 4, "V领"},
    {"crew neck", 4, "圆领"},   {"collar", 4, "翻领"},      {"button", 4, "纽扣"},     {"zip", 4, "拉链"},
    {"pocket", 4, "口袋"},      {"hooded", 4, "连帽"},      {"belted", 4, "腰带"},     {"drawstring", 4, "抽绳"},
    {"cuffed", 4, "卷边"},      {"solid", 5, "纯色"},       {"logo", 5, "标志"},       {"star", 5, "星星"},
    {"sporty", 5, "运动"},      {"party", 5, "派对"},       {"summer", 5, "夏季"},     {"retro", 5, "复古"},
}};

/// C2S list_attr_type rows: one per attribute type.
inline constexpr std::array<std::array<const char*, 2>, 5> kAttributeTypeNames{{
    {"图案", "texture of clothes"},
    {"面料", "fabric of clothes"},
    {"版型", "shape of clothes"},
    {"细节", "part details of clothes"},
    {"风格", "style of clothes"},
}};

// ---------------------------------------------------------------------------------------------
// Random helpers over seam::Generator (no std:: distributions)

inline float uniform(Generator& rng, float lo, float hi) { return lo + (hi - lo) * static_cast<float>(rng.uniform()); }
inline bool chance(Generator& rng, float p) { return rng.uniform() < static_cast<double>(p); }
inline int below(Generator& rng, int n) { return static_cast<int>(rng.integer(static_cast<uint64_t>(n))); }
/// An index drawn with the given relative weights.
template <size_t N>
inline int weighted(Generator& rng, const std::array<float, N>& weights) {
    float total = 0;
    for (float w : weights) total += w;
    float r = uniform(rng, 0.0f, total);
    for (size_t i = 0; i < N; ++i) {
        if (r < weights[i]) return static_cast<int>(i);
        r -= weights[i];
    }
    return static_cast<int>(N - 1);
}
template <size_t N>
inline Rgb pick_colour(Generator& rng, const std::array<uint32_t, N>& palette) {
    Rgb c = hex(palette[static_cast<size_t>(below(rng, static_cast<int>(N)))]);
    return {c.r * uniform(rng, 0.92f, 1.08f), c.g * uniform(rng, 0.92f, 1.08f), c.b * uniform(rng, 0.92f, 1.08f)};
}

inline constexpr std::array<uint32_t, 16> kGeneralPalette{0x1C1C1C, 0xF4F4F0, 0x1F2A44, 0x8A8D91, 0xB22222, 0x6D1A36,
                                                          0x556B2F, 0xD8C3A5, 0xE8A0B4, 0x87AFC7, 0x2E6F6A, 0x7B4B2A,
                                                          0xC9B8E8, 0x3B7D3B, 0xE07A2E, 0xF0E2C0};
inline constexpr std::array<uint32_t, 7> kSummerPalette{0xFFD84D, 0xFF7F6B, 0x40C4C0, 0xFFB3C6, 0xB5E655, 0xFFFFFF, 0x7FD3F7};
inline constexpr std::array<uint32_t, 6> kRetroPalette{0xC8962E, 0xA0482A, 0x2F7C7C, 0x6B4A2B, 0x7D7A2E, 0xD86F2C};
inline constexpr std::array<uint32_t, 6> kPartyPalette{0x101010, 0xC9A43B, 0xBFC1C6, 0x8B0A1A, 0x1E3A8A, 0x4B1D5E};
inline constexpr std::array<uint32_t, 7> kSportyPalette{0xE53935, 0x1E88E5, 0x111111, 0x43A047, 0xFDD835, 0x8E24AA, 0x9E9E9E};
inline constexpr std::array<uint32_t, 5> kDenimPalette{0x2B3F66, 0x3E5C8A, 0x6C8EBF, 0x9DB4D6, 0x222428};
inline constexpr std::array<uint32_t, 4> kLeatherPalette{0x151515, 0x3A2418, 0x5A1F22, 0x9A6A3F};
inline constexpr std::array<uint32_t, 5> kKhakiPalette{0xC3B091, 0xD2C29D, 0x1F2A44, 0x6B6B3A, 0x8C8C8C};
inline constexpr std::array<uint32_t, 6> kSkinPalette{0xF1C9A5, 0xE0AC8A, 0xC68E6A, 0x9A6648, 0x6B4430, 0x4A2E21};
inline constexpr std::array<uint32_t, 6> kHairPalette{0x1A1410, 0x3B2A1E, 0x6B4A2B, 0xB08A4A, 0xD6BA80, 0x2A2A2A};

/// A colour that stands out against `base` (luminance differs by at least 0.25 when possible).
inline Rgb contrasting(Generator& rng, Rgb base) {
    Rgb c = pick_colour(rng, kGeneralPalette);
    for (int attempt = 0; attempt < 6 && std::fabs(luminance(c) - luminance(base)) < 0.25f; ++attempt)
        c = pick_colour(rng, kGeneralPalette);
    return c;
}

/// A sampled item: how it is drawn, and which attributes it visibly has.
struct Item {
    GarmentSpec garment;
    std::array<bool, kAttributeCount> has{};
};

/// Draws an item of category `label` (1-based). Every attribute set in `has` is visible in the
/// rendering: the flags are read off the drawing decisions, never set independently.
inline Item sample_item(int label, Generator& rng) {
    SEAM_CHECK(label >= 1 && label <= 50, "synthfashion: category label must be in 1..50, got ", label);
    const std::string name = kCategoryTable[static_cast<size_t>(label - 1)].name;
    const int type = kCategoryTable[static_cast<size_t>(label - 1)].type;
    Item item;
    GarmentSpec& g = item.garment;
    Look& look = g.look;
    g.category = label - 1;
    g.clothes_type = type;
    g.has_top = type != kLowerBody;
    look.seed = static_cast<uint32_t>(rng.integer(1u << 30)) + 1;

    auto is = [&](const char* n) { return name == n; };
    const bool top_like = is("Tee") || is("Tank") || is("Blouse");
    const bool outerwear = is("Blazer") || is("Jacket") || is("Coat") || is("Cardigan");

    // ---- style and palette
    float p_sporty = (is("Hoodie") || is("Joggers") || is("Leggings") || is("Tee") || is("Tank") || is("Shorts")) ? 0.3f : 0.03f;
    float p_party = (is("Dress") || is("Skirt") || is("Blouse") || is("Jumpsuit")) ? 0.12f : 0.02f;
    int style = weighted(rng, std::array<float, 5>{1.0f, 0.13f, 0.08f, p_party, p_sporty});  // plain, summer, retro, party, sporty
    if (style == 1) look.base = pick_colour(rng, kSummerPalette);
    else if (style == 2) look.base = pick_colour(rng, kRetroPalette);
    else if (style == 3) look.base = pick_colour(rng, kPartyPalette);
    else if (style == 4) look.base = pick_colour(rng, kSportyPalette);
    else look.base = pick_colour(rng, kGeneralPalette);
    look.second = style == 2 ? pick_colour(rng, kRetroPalette) : contrasting(rng, look.base);
    look.third = contrasting(rng, look.second);
    g.detail_colour = contrasting(rng, look.base);
    item.has[summer] = style == 1;
    item.has[retro] = style == 2;
    item.has[party] = style == 3;
    item.has[sporty] = style == 4;
    look.sequins = style == 3 && chance(rng, 0.7f);
    g.sport_stripes = style == 4 && chance(rng, 0.75f);
    if (g.sport_stripes) g.detail_colour = luminance(look.base) > 0.5f ? hex(0x111111) : hex(0xF8F8F8);

    // ---- finish (fabric)
    // weights: cotton, denim, knit, leather, chiffon, lace, quilted, ribbed, pleated
    std::array<float, 9> finish{6, 0.3f, 0.4f, 0.1f, 0.3f, 0.2f, 0.05f, 0.3f, 0.1f};
    if (is("Jeans")) finish = {0.4f, 8, 0, 0, 0, 0, 0, 0, 0};
    else if (is("Shorts")) finish = {3, 2.5f, 0, 0.1f, 0.2f, 0.3f, 0, 0, 0.2f};
    else if (is("Jacket")) finish = {2, 1.5f, 0, 1.5f, 0, 0, 0.8f, 0, 0};
    else if (is("Coat")) finish = {3, 0, 0.5f, 0.5f, 0, 0, 1.0f, 0, 0};
    else if (is("Sweater")) finish = {0.8f, 0, 5, 0, 0, 0, 0, 1.5f, 0};
    else if (is("Cardigan")) finish = {1.5f, 0, 4, 0, 0, 0.3f, 0, 1.0f, 0};
    else if (is("Blouse")) finish = {3, 0.1f, 0, 0, 2.5f, 1.0f, 0, 0, 0.3f};
    else if (is("Skirt")) finish = {3, 1.0f, 0.2f, 0.6f, 0.8f, 0.5f, 0, 0, 1.5f};
    else if (is("Dress")) finish = {4, 0.2f, 0.4f, 0.1f, 1.0f, 0.8f, 0, 0.3f, 0.5f};
    else if (is("Tank")) finish = {4, 0, 0.3f, 0, 0.5f, 0.3f, 0, 1.5f, 0};
    else if (is("Leggings")) finish = {4, 0, 0.3f, 0.6f, 0, 0, 0, 1.0f, 0};
    else if (is("Kimono")) finish = {3, 0, 0, 0, 2.0f, 0.6f, 0, 0, 0};
    else if (is("Blazer") || is("Chinos")) finish = {6, 0, 0.2f, 0.2f, 0, 0, 0, 0, 0};
    look.finish = static_cast<Finish>(weighted(rng, finish));
    if (look.finish == Finish::denim) look.base = pick_colour(rng, kDenimPalette);
    if (look.finish == Finish::leather) look.base = pick_colour(rng, kLeatherPalette);
    if (is("Chinos") && style == 0) look.base = pick_colour(rng, kKhakiPalette);
    item.has[denim] = look.finish == Finish::denim;
    item.has[knit] = look.finish == Finish::knit;
    item.has[leather] = look.finish == Finish::leather;
    item.has[chiffon] = look.finish == Finish::chiffon;
    item.has[lace] = look.finish == Finish::lace;
    item.has[quilted] = look.finish == Finish::quilted;
    item.has[ribbed] = look.finish == Finish::ribbed;
    item.has[pleated] = look.finish == Finish::pleated;

    // ---- pattern (texture), plaid counted as fabric as in the real list
    float p_pattern = 0.4f;
    if (look.finish == Finish::denim || look.finish == Finish::leather || look.finish == Finish::quilted) p_pattern = 0.04f;
    if (is("Blazer") || is("Chinos") || is("Joggers")) p_pattern = 0.15f;
    if (style == 3) p_pattern = 0.1f;
    // weights: floral, striped, dotted, checked, camo, leopard, colorblock, chevron, heart, plaid
    std::array<float, 10> patterns{1, 1, 0.7f, 0.5f, 0.2f, 0.25f, 0.4f, 0.3f, 0.3f, 0.4f};
    if (is("Dress") || is("Blouse") || is("Kimono") || is("Romper")) patterns[0] = 4.0f;
    if (is("Tee") || is("Sweater") || is("Tank")) patterns[1] = 3.0f;
    if (is("Leggings") || is("Joggers") || is("Shorts")) patterns[4] = 1.5f;
    if (is("Coat") || is("Blazer") || is("Skirt")) {
        patterns[3] = 2.0f;
        patterns[9] = 2.0f;
    }
    if (chance(rng, p_pattern)) {
        look.pattern = static_cast<Pattern>(1 + weighted(rng, patterns));
        look.scale = uniform(rng, 0.08f, 0.16f);
        look.angle = chance(rng, 0.7f) ? 0.0f : (chance(rng, 0.5f) ? 1.5708f : 0.785f);
        if (look.pattern == Pattern::leopard) {
            look.base = pick_colour(rng, std::array<uint32_t, 3>{0xC8A165, 0xD9B77E, 0xB88A52});
            look.second = hex(0x8A5A2B);
            look.third = hex(0x1A120C);
            look.angle = 0;
        }
        if (look.pattern == Pattern::camo) {
            look.base = pick_colour(rng, std::array<uint32_t, 3>{0x6B6B3A, 0x8C7D55, 0x4E5B3A});
            look.second = hex(0x3D4A2A);
            look.third = hex(0xA39770);
        }
    }
    item.has[floral] = look.pattern == Pattern::floral;
    item.has[striped] = look.pattern == Pattern::striped;
    item.has[dotted] = look.pattern == Pattern::dotted;
    item.has[checked] = look.pattern == Pattern::checked;
    item.has[camo] = look.pattern == Pattern::camo;
    item.has[leopard] = look.pattern == Pattern::leopard;
    item.has[colorblock] = look.pattern == Pattern::colorblock;
    item.has[chevron] = look.pattern == Pattern::chevron;
    item.has[heart] = look.pattern == Pattern::heart;
    item.has[plaid] = look.pattern == Pattern::plaid;

    // ---- shape of the upper part
    if (g.has_top) {
        // sleeve: sleeveless, short, three-quarter, long
        std::array<float, 4> sleeves{0.15f, 0.45f, 0.1f, 0.3f};
        if (is("Tank")) sleeves = {1, 0, 0, 0};
        else if (is("Tee")) sleeves = {0.05f, 0.8f, 0.05f, 0.15f};
        else if (is("Sweater") || is("Hoodie") || is("Cardigan") || outerwear || is("Kimono")) sleeves = {0, 0.03f, 0.12f, 0.85f};
        else if (is("Dress") || is("Romper") || is("Jumpsuit")) sleeves = {0.4f, 0.35f, 0.1f, 0.15f};
        int s = weighted(rng, sleeves);
        g.sleeve = s == 0 ? 0.0f : s == 1 ? uniform(rng, 0.22f, 0.35f) : s == 2 ? uniform(rng, 0.55f, 0.7f) : uniform(rng, 0.88f, 1.0f);
        g.strap = s == 0 && chance(rng, is("Tank") ? 0.8f : 0.5f);
        g.sleeve_width = is("Kimono") ? uniform(rng, 1.8f, 2.4f) : (is("Blouse") && chance(rng, 0.3f) ? 1.4f : uniform(rng, 0.9f, 1.1f));
        item.has[sleeveless] = s == 0;
        item.has[long_sleeve] = s == 3;

        g.fit = uniform(rng, 0.98f, 1.1f);
        if (chance(rng, is("Sweater") || is("Hoodie") || is("Tee") || is("Jacket") ? 0.25f : 0.08f)) g.fit = uniform(rng, 1.2f, 1.35f);
        else if (chance(rng, is("Dress") || is("Tank") || top_like ? 0.2f : 0.03f)) g.fit = uniform(rng, 0.86f, 0.92f);
        item.has[boxy] = g.fit >= 1.18f;
        item.has[bodycon] = g.fit <= 0.93f;

        if (type == kUpperBody) {
            g.top_hem = uniform(rng, 0.72f, 0.86f);
            if (chance(rng, is("Tee") || is("Tank") || is("Sweater") || is("Hoodie") || is("Jacket") ? 0.15f : 0.04f))
                g.top_hem = uniform(rng, 0.4f, 0.48f);
            else if (chance(rng, is("Cardigan") || is("Blazer") || is("Tee") ? 0.2f : 0.05f))
                g.top_hem = uniform(rng, 1.02f, 1.15f);
            item.has[cropped] = g.top_hem < 0.5f;
            item.has[longline] = g.top_hem > 1.0f;
        } else if (is("Coat")) {
            g.top_hem = uniform(rng, 1.15f, 1.4f);
        } else if (is("Kimono")) {
            g.top_hem = uniform(rng, 0.95f, 1.3f);
        }
        int neck = weighted(rng, std::array<float, 3>{is("Tee") || is("Sweater") ? 3.0f : 1.5f, 1.0f, 0.5f});
        g.neckline = static_cast<Neckline>(neck);
        g.open_front = is("Cardigan") || is("Kimono") || ((is("Blazer") || is("Coat") || is("Jacket")) && chance(rng, 0.6f));
        g.inner_colour = pick_colour(rng, std::array<uint32_t, 4>{0xF4F4F0, 0x1C1C1C, 0x8A8D91, 0xD8C3A5});
        g.lapels = (is("Blazer") && chance(rng, 0.95f)) || (is("Coat") && chance(rng, 0.5f));
        g.collar = !g.lapels && chance(rng, is("Blouse") ? 0.35f : is("Jacket") || is("Coat") ? 0.6f : is("Dress") ? 0.1f : 0.04f);
        g.hood = chance(rng, is("Hoodie") ? 0.95f : is("Jacket") ? 0.15f : 0.0f);
        item.has[v_neck] = g.neckline == Neckline::v_neck || g.open_front;
        item.has[crew_neck] = g.neckline == Neckline::crew && !g.open_front && !g.hood;
        item.has[collar] = g.collar || g.lapels;
        item.has[hooded] = g.hood;
    }

    // ---- shape of the lower part
    if (is("Skirt") || is("Dress")) {
        g.lower = LowerCut::skirt;
        int length = weighted(rng, std::array<float, 4>{0.4f, 0.2f, 0.28f, 0.12f});  // mini, knee, midi, maxi
        g.lower_hem = length == 0 ? uniform(rng, 0.95f, 1.05f) : length == 1 ? uniform(rng, 1.12f, 1.22f)
                    : length == 2 ? uniform(rng, 1.3f, 1.48f) : uniform(rng, 1.6f, 1.7f);
        int cut = weighted(rng, std::array<float, 3>{0.35f, 0.4f, 0.25f});  // straight, a-line, flare
        g.flare = cut == 0 ? uniform(rng, 0.0f, 0.08f) : cut == 1 ? uniform(rng, 0.2f, 0.3f) : uniform(rng, 0.42f, 0.6f);
        if (g.fit <= 0.93f) g.flare = std::min(g.flare, 0.05f);  // bodycon dresses are straight
        item.has[mini] = length == 0;
        item.has[midi] = length == 2;
        item.has[maxi] = length == 3;
        item.has[a_line] = g.flare >= 0.18f && g.flare <= 0.32f;
        item.has[flare] = g.flare > 0.4f;
        if (is("Skirt")) item.has[bodycon] = false;  // fit describes the top only
    } else if (type == kLowerBody || is("Jumpsuit") || is("Romper")) {
        g.lower = LowerCut::trousers;
        bool short_legs = is("Shorts") || is("Romper");
        g.lower_hem = short_legs ? uniform(rng, 0.98f, 1.1f) : uniform(rng, 1.62f, 1.72f);
        // leg width at the hem: skinny, straight, wide
        std::array<float, 3> widths{0.3f, 0.5f, 0.2f};
        if (is("Leggings")) widths = {1, 0, 0};
        else if (is("Jeans")) widths = {0.45f, 0.45f, 0.1f};
        else if (is("Joggers")) widths = {0.6f, 0.4f, 0};
        else if (is("Jumpsuit")) widths = {0.15f, 0.4f, 0.45f};
        else if (short_legs) widths = {0.1f, 0.5f, 0.4f};
        int w = weighted(rng, widths);
        g.leg_width = w == 0 ? uniform(rng, 0.045f, 0.058f) : w == 1 ? uniform(rng, 0.075f, 0.1f) : uniform(rng, 0.13f, 0.17f);
        if (short_legs) g.leg_width += 0.04f;  // shorts are wide at the thigh
        item.has[skinny] = !short_legs && g.leg_width <= 0.06f;
        item.has[wide_leg] = !short_legs && g.leg_width >= 0.13f;
        if (is("Leggings") && style == 0 && !look.sequins && look.pattern == Pattern::none && chance(rng, 0.6f))
            look.base = pick_colour(rng, std::array<uint32_t, 3>{0x111111, 0x1F2A44, 0x3A3A3A});
    }

    // ---- parts
    const bool trousers = g.lower == LowerCut::trousers;
    g.buttons = chance(rng, is("Blazer") ? 0.85f : is("Coat") ? 0.7f : is("Cardigan") ? 0.7f : is("Blouse") ? 0.45f
                          : is("Dress") ? 0.1f : is("Jacket") ? 0.3f : 0.03f);
    g.zip = !g.buttons && chance(rng, is("Jacket") ? 0.65f : is("Hoodie") ? 0.3f : is("Jeans") ? 0.35f : is("Jumpsuit") ? 0.2f : 0.03f);
    if (g.open_front && g.zip) g.zip = false;  // an open front has no visible zip line
    if (g.has_top && g.open_front && g.buttons && !g.lapels && !is("Cardigan")) g.buttons = chance(rng, 0.5f);
    PocketStyle pockets = PocketStyle::none;
    if (is("Hoodie") && chance(rng, 0.75f)) pockets = PocketStyle::kangaroo;
    else if ((outerwear || is("Coat")) && chance(rng, 0.55f)) pockets = PocketStyle::lower_flap;
    else if ((is("Jeans") || is("Shorts") || is("Chinos")) && chance(rng, 0.75f)) pockets = PocketStyle::jeans;
    else if ((top_like || is("Jumpsuit")) && chance(rng, 0.15f)) pockets = PocketStyle::chest;
    if (pockets == PocketStyle::jeans && !trousers) pockets = PocketStyle::none;
    if (pockets == PocketStyle::lower_flap && g.open_front && !g.lapels) pockets = PocketStyle::none;
    g.pockets = pockets;
    g.belt = chance(rng, is("Kimono") ? 0.5f : is("Dress") || is("Jumpsuit") || is("Romper") ? 0.25f
                         : is("Coat") ? 0.3f : is("Jeans") || is("Chinos") || is("Skirt") ? 0.15f : 0.0f);
    g.belt_colour = chance(rng, 0.5f) ? hex(0x2A1A10) : contrasting(rng, look.base) * 0.8f;
    g.drawstring = chance(rng, is("Hoodie") ? 0.8f : is("Joggers") ? 0.75f : is("Shorts") ? 0.15f : 0.0f);
    g.cuffs = chance(rng, is("Joggers") ? 0.9f : is("Sweater") || is("Hoodie") ? 0.45f : is("Jeans") || is("Shorts") ? 0.2f : 0.03f);
    g.cuffs = g.cuffs && ((g.has_top && g.sleeve > 0.0f) || trousers);  // only where there is something to cuff
    int print = weighted(rng, std::array<float, 3>{1.0f, is("Tee") || is("Hoodie") || is("Tank") ? 0.25f : 0.03f,
                                                   is("Tee") || is("Hoodie") || is("Joggers") || style == 4 ? 0.3f : 0.04f});
    g.print = static_cast<Print>(print);
    if (g.print == Print::star && look.pattern != Pattern::none) g.print = Print::none;  // a star print on plain cloth
    item.has[button] = g.buttons;
    item.has[zip] = g.zip;
    item.has[pocket] = g.pockets != PocketStyle::none;
    item.has[belted] = g.belt;
    item.has[drawstring] = g.drawstring;
    item.has[cuffed] = g.cuffs;
    item.has[star] = g.print == Print::star;
    item.has[logo] = g.print == Print::logo;
    item.has[solid] = look.pattern == Pattern::none && g.print == Print::none && !look.sequins && !g.sport_stripes;
    return item;
}

// ---------------------------------------------------------------------------------------------
// Scenes

enum class View : uint8_t { catalogue, shop, shop_alternate, consumer };

/// Draws how an image is photographed. `size` is the long side; C and consumer images are
/// portrait or square (width = 72–100% of the height), as most DeepFashion photos are.
inline SceneSpec sample_scene(const GarmentSpec& garment, View view, int size, int supersample, Generator& rng) {
    SceneSpec s;
    s.supersample = supersample;
    s.seed = static_cast<uint32_t>(rng.integer(1u << 30)) + 7;
    s.height = size;
    s.width = view == View::shop || view == View::shop_alternate ? size : std::max(8, static_cast<int>(std::lround(size * uniform(rng, 0.72f, 1.0f))));
    s.skin = pick_colour(rng, kSkinPalette);
    s.hair = pick_colour(rng, kHairPalette);
    s.long_hair = chance(rng, 0.55f);
    s.shoes = pick_colour(rng, std::array<uint32_t, 4>{0x111111, 0x5A3A22, 0xEEEEEE, 0x8B0A1A});
    s.body_width = uniform(rng, 0.9f, 1.1f);
    s.arm_left = uniform(rng, 0.12f, 0.45f);
    s.arm_right = uniform(rng, 0.12f, 0.45f);
    s.leg_spread = uniform(rng, 0.02f, 0.09f);
    s.companion = contrasting(rng, garment.look.base);
    s.companion_skirt = chance(rng, 0.25f);
    // An untucked top hides the waistband (the waistline landmarks become occluded), so not
    // when the waistband carries a labelled part.
    s.untucked = garment.clothes_type == kLowerBody && !garment.belt && !garment.drawstring && !garment.buttons &&
                 chance(rng, 0.3f);
    s.light_angle = uniform(rng, 0.0f, 6.283f);

    if (view == View::shop || view == View::shop_alternate) {
        s.background = Background::studio;
        s.backdrop = hex(chance(rng, 0.7f) ? 0xF6F6F6 : 0xEDEBE6);
        s.backdrop2 = s.backdrop * 0.97f;
        s.show_body = view == View::shop_alternate || chance(rng, 0.5f);
        s.untucked = false;
        s.arm_left = s.arm_right = 0.22f;
        s.fill = view == View::shop ? 0.8f : 0.9f;
        s.noise = 0.004f;
        return s;
    }
    const bool consumer = view == View::consumer;
    s.background = consumer || chance(rng, 0.6f) ? Background::clutter : Background::studio;
    if (s.background == Background::studio) {
        s.backdrop = pick_colour(rng, std::array<uint32_t, 5>{0xF2F2F2, 0xE6E1D8, 0xD9DEE3, 0xCFCFCF, 0xF0E6E6});
        s.backdrop2 = s.backdrop * uniform(rng, 0.85f, 0.98f);
    } else {
        s.backdrop = pick_colour(rng, kGeneralPalette) * 0.8f + Rgb{0.1f, 0.1f, 0.1f};
        s.backdrop2 = pick_colour(rng, kGeneralPalette) * 0.7f;
        s.clutter_shapes = 3 + below(rng, consumer ? 9 : 6);
    }
    s.fill = consumer ? uniform(rng, 0.45f, 0.9f) : uniform(rng, 0.5f, 0.85f);
    if (chance(rng, consumer ? 0.3f : 0.12f)) s.fill = uniform(rng, 0.95f, consumer ? 1.4f : 1.3f);  // zoomed in: truncation
    s.offset_x = uniform(rng, -0.12f, 0.12f);
    s.offset_y = uniform(rng, -0.12f, 0.12f);
    s.rotation = consumer ? uniform(rng, -0.25f, 0.25f) : uniform(rng, -0.08f, 0.08f);
    s.tilt_x = consumer ? uniform(rng, -0.25f, 0.25f) : uniform(rng, -0.06f, 0.06f);
    s.tilt_y = consumer ? uniform(rng, -0.2f, 0.2f) : uniform(rng, -0.04f, 0.04f);
    if (consumer) {
        s.arm_left = uniform(rng, 0.05f, 0.7f);
        s.arm_right = uniform(rng, 0.05f, 0.7f);
    }
    if (chance(rng, consumer ? 0.4f : 0.25f)) {
        int kind = below(rng, 3);
        s.occluder = kind == 0 ? OccluderKind::bag : kind == 1 ? OccluderKind::arm : OccluderKind::hair;
        if (s.occluder == OccluderKind::hair && !(s.long_hair && garment.has_top)) s.occluder = OccluderKind::bag;
        s.occluder_at = uniform(rng, 0.0f, 1.0f);
        s.occluder_colour = pick_colour(rng, std::array<uint32_t, 5>{0x5A3A22, 0x111111, 0xB22222, 0xD8C3A5, 0x2E6F6A});
    }
    s.gain = consumer ? uniform(rng, 0.65f, 1.2f) : uniform(rng, 0.82f, 1.12f);
    float cast = consumer ? 0.13f : 0.06f;
    s.cast = {uniform(rng, 1 - cast, 1 + cast), uniform(rng, 1 - cast, 1 + cast), uniform(rng, 1 - cast, 1 + cast)};
    s.light_gradient = consumer ? uniform(rng, -0.5f, 0.5f) : uniform(rng, -0.25f, 0.25f);
    s.vignette = uniform(rng, 0.0f, consumer ? 0.5f : 0.25f);
    s.noise = consumer ? uniform(rng, 0.01f, 0.05f) : uniform(rng, 0.005f, 0.025f);
    s.blur = chance(rng, consumer ? 0.4f : 0.1f) ? 1 : 0;
    if (consumer && size >= 128 && chance(rng, 0.1f)) s.blur = 2;
    return s;
}

/// The C2S variation type of a view: 1 normal pose (shop), 2/3 medium/large pose, 4/5 medium/large zoom-in.
inline int variation_type(View view, const SceneSpec& s) {
    if (view != View::consumer) return 1;
    if (s.fill > 1.15f) return 5;
    if (s.fill > 0.95f) return 4;
    return std::fabs(s.rotation) + std::fabs(s.tilt_x) + std::fabs(s.tilt_y) > 0.35f ? 3 : 2;
}

/// "Floral_Chiffon_Blouse": a product-title folder name from what the item shows.
inline std::string title_for(const Item& item) {
    std::vector<std::string> words;
    for (int a : {floral, striped, dotted, checked, camo, leopard, colorblock, chevron, heart, plaid, denim, knit, leather,
                  chiffon, lace, quilted, ribbed, pleated, cropped, longline, boxy, bodycon, mini, midi, maxi, flare, skinny,
                  wide_leg, hooded, belted, sporty, retro})
        if (item.has[static_cast<size_t>(a)] && words.size() < 2) {
            std::string w = kAttributeTable[static_cast<size_t>(a)].name;
            for (size_t i = 0; i < w.size(); ++i) {
                if (w[i] == ' ') w[i] = '_';
                if (i == 0 || w[i - 1] == '-' || w[i - 1] == '_') w[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[i])));
            }
            words.push_back(w);
        }
    if (words.empty()) words.push_back(item.has[solid] ? "Classic" : "Printed");
    std::string title;
    for (const auto& w : words) title += w + "_";
    return title + kCategoryTable[static_cast<size_t>(item.garment.category)].name;
}

/// The C2S folder of a category: img/<GROUP>/<Category>.
inline std::string c2s_folder(int category) {
    const CategoryRow& row = kCategoryTable[static_cast<size_t>(category)];
    std::string name = row.name;
    if (name == "Tee") name = "T_Shirt";
    for (char& c : name)
        if (c == '-') c = '_';
    const char* group = row.type == kUpperBody ? "TOPS" : row.type == kFullBody ? "DRESSES" : name == "Skirt" ? "SKIRTS" : "TROUSERS";
    return std::string("img/") + group + "/" + name;
}

inline std::vector<std::int8_t> labels_for(const Item& item, float label_noise, Generator& rng) {
    std::vector<std::int8_t> labels(kAttributeCount, -1);
    for (size_t a = 0; a < kAttributeCount; ++a)
        if (item.has[a] && !chance(rng, label_noise)) labels[a] = 1;
    return labels;
}

// Stream ids of the generators (so C images, C2S items and C2S views never share a stream).
inline constexpr uint64_t kStreamCategoryImage = 1, kStreamItem = 2, kStreamView = 3;

/// Runs job(i) for i in [0, n) on `threads` std::threads; the first exception is rethrown.
template <class Job>
inline void parallel_jobs(size_t n, int threads, Job&& job) {
    std::atomic<size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto worker = [&] {
        for (;;) {
            size_t i = next.fetch_add(1);
            if (i >= n) return;
            try {
                job(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                next.store(n);  // stop handing out work
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

inline void count_visibility(const Landmarks& landmarks, std::array<size_t, 3>& counts) {
    for (const Landmark& p : landmarks)
        if (p.present) ++counts[static_cast<size_t>(p.visibility)];
}

}  // namespace synth

/// Writes the DeepFashion-C and C2S roots under `out_dir` (see the top of this header) and
/// returns counts and timing. Files of the same names are overwritten; other files already in
/// `out_dir` (say, from an earlier run with more images) are left alone, so use a fresh folder.
inline SynthFashionReport write_synthfashion(const std::filesystem::path& out_dir, const SynthFashionOptions& options) {
    using namespace synth;
    namespace fs = std::filesystem;
    SEAM_CHECK(options.size >= 16 && options.size <= 1024, "synthfashion: size must be in 16..1024, got ", options.size);
    SEAM_CHECK(options.jpeg_quality >= 20 && options.jpeg_quality <= 100, "synthfashion: jpeg quality must be in 20..100");
    SEAM_CHECK(options.label_noise >= 0 && options.label_noise < 1, "synthfashion: label_noise must be in [0, 1)");
    const auto start = std::chrono::steady_clock::now();
    SynthFashionReport report;
    report.threads = options.threads > 0 ? options.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    std::atomic<uint64_t> jpeg_bytes{0};

    // ---------------- DeepFashion-C
    const fs::path c_root = out_dir / "category-attribute";
    CategoryAttributeDataset c;
    for (const auto& row : kCategoryTable) {
        c.category_names.push_back(row.name);
        c.category_types.push_back(row.type);
    }
    for (const auto& row : kAttributeTable) {
        c.attribute_names.push_back(row.name);
        c.attribute_types.push_back(row.type);
    }
    c.has_attribute_labels = c.has_boxes = c.has_landmarks = true;

    // Sample every item first (cheap, sequential: folder numbering depends on order), then render.
    std::array<float, kDrawnCategories.size()> frequencies{};
    for (size_t i = 0; i < kDrawnCategories.size(); ++i) frequencies[i] = kDrawnCategories[i].frequency;
    std::vector<Item> c_items(options.images);
    std::vector<Generator> c_rngs;
    c_rngs.reserve(options.images);
    std::map<std::string, int> folder_counts;
    c.images.resize(options.images);
    for (size_t i = 0; i < options.images; ++i) {
        c_rngs.emplace_back(derive_key(options.seed, kStreamCategoryImage, i));
        Generator& rng = c_rngs.back();
        int label = kDrawnCategories[static_cast<size_t>(weighted(rng, frequencies))].label;
        c_items[i] = sample_item(label, rng);
        ImageRecord& record = c.images[i];
        std::string title = title_for(c_items[i]);
        int number = ++folder_counts[title];
        char file[32];
        std::snprintf(file, sizeof file, "img_%08d.jpg", number);
        record.path = "img/" + title + "/" + file;
        record.category = label - 1;
        record.clothes_type = kCategoryTable[static_cast<size_t>(label - 1)].type;
        record.attributes = labels_for(c_items[i], options.label_noise, rng);
        float split = uniform(rng, 0.0f, 1.0f);
        record.split = split < 0.7f ? Split::train : split < 0.85f ? Split::val : Split::test;
    }
    for (const auto& [title, count] : folder_counts) fs::create_directories(c_root / "img" / title);
    parallel_jobs(options.images, report.threads, [&](size_t i) {
        Generator& rng = c_rngs[i];
        SceneSpec scene = sample_scene(c_items[i].garment, View::catalogue, options.size, options.supersample, rng);
        RenderResult r = render_scene(c_items[i].garment, scene);
        std::vector<uint8_t> jpeg = encode_jpeg(r.image, options.jpeg_quality);
        write_file_bytes((c_root / c.images[i].path).string(), jpeg);
        jpeg_bytes += jpeg.size();
        c.images[i].box = r.box;
        c.images[i].landmarks = r.landmarks;
    });
    fs::create_directories(c_root / "Anno");
    fs::create_directories(c_root / "Eval");
    write_category_attribute(c_root, c);

    report.c_images = c.images.size();
    report.c_category_images.assign(kCategoryTable.size(), 0);
    report.c_attribute_positives.assign(kAttributeCount, 0);
    for (const ImageRecord& record : c.images) {
        ++report.c_split_images[static_cast<size_t>(record.split)];
        ++report.c_category_images[static_cast<size_t>(record.category)];
        for (size_t a = 0; a < record.attributes.size(); ++a) report.c_attribute_positives[a] += record.attributes[a] == 1;
        count_visibility(record.landmarks, report.c_visibility);
    }

    // ---------------- DeepFashion-C2S
    const fs::path s_root = out_dir / "consumer-to-shop";
    ConsumerToShopDataset s;
    for (size_t a = 0; a < kAttributeCount; ++a) {
        std::string english = kAttributeTable[a].name;
        english[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(english[0])));
        s.attributes.push_back({kAttributeTable[a].chinese, english, kAttributeTable[a].type});
    }
    for (const auto& row : kAttributeTypeNames) s.attribute_types.push_back({row[0], row[1]});
    s.has_attributes = s.has_landmarks = true;

    struct ViewJob {
        size_t item;
        View view;
        int number;
    };
    std::vector<Item> s_items(options.c2s_items);
    std::vector<ViewJob> jobs;
    std::vector<Split> item_split(options.c2s_items);
    int next_id = 0;
    for (size_t i = 0; i < options.c2s_items; ++i) {
        Generator rng(derive_key(options.seed, kStreamItem, i));
        int label = kDrawnCategories[static_cast<size_t>(weighted(rng, frequencies))].label;
        s_items[i] = sample_item(label, rng);
        next_id += chance(rng, 0.02f) ? 2 : 1;  // the real ids have gaps
        char id[24];
        std::snprintf(id, sizeof id, "id_%08d", next_id);
        s.items.push_back({id, labels_for(s_items[i], options.label_noise, rng)});
        float split = uniform(rng, 0.0f, 1.0f);
        item_split[i] = split < 0.5f ? Split::train : split < 0.75f ? Split::val : Split::test;
        int shops = 1 + (chance(rng, 0.5f) ? 1 : 0);
        int consumers = 1 + below(rng, 3);
        for (int k = 1; k <= shops; ++k) jobs.push_back({i, k == 1 ? View::shop : View::shop_alternate, k});
        for (int k = 1; k <= consumers; ++k) jobs.push_back({i, View::consumer, k});
    }
    s.images.resize(jobs.size());
    for (size_t j = 0; j < jobs.size(); ++j) {
        const ViewJob& job = jobs[j];
        const Item& item = s_items[job.item];
        ConsumerToShopImage& image = s.images[j];
        char file[32];
        std::snprintf(file, sizeof file, "%s_%02d.jpg", job.view == View::consumer ? "comsumer" : "shop", job.number);
        image.path = c2s_folder(item.garment.category) + "/" + s.items[job.item].id + "/" + file;
        image.item = static_cast<int>(job.item);
        image.source = job.view == View::consumer ? Source::consumer : Source::shop;
        image.clothes_type = item.garment.clothes_type;
        fs::create_directories((s_root / image.path).parent_path());
    }
    parallel_jobs(jobs.size(), report.threads, [&](size_t j) {
        const ViewJob& job = jobs[j];
        Generator rng(derive_key(options.seed, kStreamView, j));
        SceneSpec scene = sample_scene(s_items[job.item].garment, job.view, options.size, options.supersample, rng);
        RenderResult r = render_scene(s_items[job.item].garment, scene);
        int quality = job.view == View::consumer ? std::max(20, options.jpeg_quality - below(rng, 20)) : options.jpeg_quality;
        std::vector<uint8_t> jpeg = encode_jpeg(r.image, quality);
        write_file_bytes((s_root / s.images[j].path).string(), jpeg);
        jpeg_bytes += jpeg.size();
        s.images[j].box = r.box;
        s.images[j].landmarks = r.landmarks;
        s.images[j].variation = variation_type(job.view, scene);
    });
    // Pairs: every (consumer, shop) combination of an item, in item order (an item's views are
    // consecutive jobs).
    for (size_t begin = 0, end = 0; begin < jobs.size(); begin = end) {
        while (end < jobs.size() && jobs[end].item == jobs[begin].item) ++end;
        for (size_t j = begin; j < end; ++j)
            for (size_t k = begin; k < end; ++k)
                if (jobs[j].view == View::consumer && jobs[k].view != View::consumer)
                    s.pairs.push_back({static_cast<int>(j), static_cast<int>(k), static_cast<int>(jobs[j].item),
                                       item_split[jobs[j].item]});
    }
    fs::create_directories(s_root / "Anno");
    fs::create_directories(s_root / "Eval");
    write_consumer_to_shop(s_root, s);

    report.c2s_items = s.items.size();
    report.c2s_images = s.images.size();
    for (const auto& image : s.images) {
        (image.source == Source::shop ? report.c2s_shop_images : report.c2s_consumer_images) += 1;
        count_visibility(image.landmarks, report.c2s_visibility);
    }
    for (Split split : item_split) ++report.c2s_split_items[static_cast<size_t>(split)];
    report.c2s_pairs = s.pairs.size();
    for (const auto& pair : s.pairs) ++report.c2s_split_pairs[static_cast<size_t>(pair.split)];
    report.jpeg_bytes = jpeg_bytes.load();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace seam::data
