// Pictures (seam/train/plot.hpp) and the bitmap font (seam/train/font.hpp), checked pixel by
// pixel against positions and colours worked out by hand in the comments.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <seam/data/image.hpp>
#include <seam/seam.hpp>
#include <seam/train/font.hpp>
#include <seam/train/plot.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace seam;
using namespace seam::train;
using data::Image;

namespace {

constexpr Color kBackground{10, 20, 30};
constexpr Color kInk{200, 100, 50};

Image canvas(int w, int h, Color fill = kBackground) { return blank_image(w, h, fill); }

/// The pixels of `image` that are not `background`, as (x, y) pairs.
std::set<std::pair<int, int>> inked(const Image& image, Color background = kBackground) {
    std::set<std::pair<int, int>> out;
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
            if (!(pixel_color(image, x, y) == background)) out.insert({x, y});
    return out;
}

/// '#'/'.' art (rows of equal length) as the set of '#' positions shifted by (x0, y0).
std::set<std::pair<int, int>> from_art(const std::vector<std::string>& rows, int x0 = 0, int y0 = 0) {
    std::set<std::pair<int, int>> out;
    for (size_t y = 0; y < rows.size(); ++y)
        for (size_t x = 0; x < rows[y].size(); ++x)
            if (rows[y][x] == '#') out.insert({x0 + static_cast<int>(x), y0 + static_cast<int>(y)});
    return out;
}

std::string colour_str(Color c) {
    return "(" + std::to_string(c.r) + "," + std::to_string(c.g) + "," + std::to_string(c.b) + ")";
}

}  // namespace

TEST_CASE("font: glyphs match their drawn art, and text is set with the documented advances") {
    const std::vector<std::string> A = {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#", ".....", "....."};
    const std::vector<std::string> g = {".....", ".....", ".####", "#...#", "#...#", "#...#", ".####", "....#", ".###."};
    for (int y = 0; y < font::kGlyphHeight; ++y)
        for (int x = 0; x < font::kGlyphWidth; ++x) {
            CHECK_MESSAGE(font::pixel('A', x, y) == (A[static_cast<size_t>(y)][static_cast<size_t>(x)] == '#'), "A ", x, ",", y);
            CHECK_MESSAGE(font::pixel('g', x, y) == (g[static_cast<size_t>(y)][static_cast<size_t>(x)] == '#'), "g ", x, ",", y);
        }
    CHECK_FALSE(font::pixel('A', -1, 0));
    CHECK_FALSE(font::pixel('A', 5, 0));
    CHECK(font::glyph('\x01') == font::glyph('?'));  // outside printable ASCII
    CHECK(font::glyph('\xe9') == font::glyph('?'));
    // Advances: 'A' inks all 5 columns -> 6; 'i' inks columns 1..3 -> 4; '1' is a digit -> 6
    // although it inks only columns 1..3; a space is 3.
    CHECK(font::advance('A') == 6);
    CHECK(font::advance('i') == 4);
    CHECK(font::advance('1') == 6);
    CHECK(font::advance(' ') == 3);
    CHECK(font::text_width("") == 0);
    CHECK(font::text_width("Ai") == 6 + 4 - 1);
    CHECK(font::text_width("Ai", 2) == 18);
}

TEST_CASE("draw_text: the glyph's bitmap lands at (x, y), scaled and aligned") {
    Image image = canvas(20, 12);
    draw_text(image, 3, 1, "A", kInk);
    CHECK(inked(image) == from_art({".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}, 3, 1));
    for (const auto& [x, y] : inked(image)) CHECK(pixel_color(image, x, y) == kInk);

    // 'i' starts at its first inked column: its stem is at x and x+1 of the text box.
    Image narrow = canvas(10, 10);
    draw_text(narrow, 0, 0, "i", kInk);
    CHECK(inked(narrow) == from_art({".#.", "...", "##.", ".#.", ".#.", ".#.", "###"}));

    // Scale 2: every font pixel is a 2x2 block; right alignment ends the text just before x.
    Image big = canvas(20, 20);
    draw_text(big, 12, 2, "-", kInk, 2, Align::right);  // '-' is "####." on row 3: 4 columns -> 8 pixels
    CHECK(inked(big) == from_art({"########", "########"}, 12 - 8, 2 + 3 * 2));

    // Vertical text reads upwards: the bottom of "A" (its left column) is at y, its top row at x.
    Image up = canvas(12, 12);
    draw_text_vertical(up, 2, 8, "A", kInk);
    // Rotating A counter-clockwise: glyph column c goes to y = 8 - 1 - c, glyph row r to x = 2 + r.
    std::set<std::pair<int, int>> expected;
    for (const auto& [c, r] : from_art({".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}))
        expected.insert({2 + r, 8 - 1 - c});
    CHECK(inked(up) == expected);
}

TEST_CASE("draw_line: Bresenham's pixels, the same both ways, clipped at the border") {
    // From (1,1) to (6,3): y = 1 + 0.4 (x - 1) rounds to 1, 1, 2, 2, 3, 3 for x = 1..6.
    const std::set<std::pair<int, int>> expected{{1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {6, 3}};
    Image forward = canvas(8, 5), backward = canvas(8, 5);
    draw_line(forward, 1, 1, 6, 3, kInk);
    draw_line(backward, 6, 3, 1, 1, kInk);
    CHECK(inked(forward) == expected);
    CHECK(inked(backward) == expected);
    // Steep, and a single point.
    Image steep = canvas(5, 6);
    draw_line(steep, 2, 0, 2, 5, kInk);
    CHECK(inked(steep) == std::set<std::pair<int, int>>{{2, 0}, {2, 1}, {2, 2}, {2, 3}, {2, 4}, {2, 5}});
    Image dot = canvas(3, 3);
    draw_line(dot, 1, 1, 1, 1, kInk);
    CHECK(inked(dot) == std::set<std::pair<int, int>>{{1, 1}});
    // Off the image on both ends: only the visible part, no out-of-bounds writes.
    Image clipped = canvas(4, 4);
    draw_line(clipped, -10, 2, 100, 2, kInk);
    CHECK(inked(clipped) == std::set<std::pair<int, int>>{{0, 2}, {1, 2}, {2, 2}, {3, 2}});
    // Thickness 3 stamps a 3x3 square on each point.
    Image thick = canvas(7, 5);
    draw_line(thick, 2, 2, 4, 2, kInk, 3);
    CHECK(inked(thick) == from_art({"#####", "#####", "#####"}, 1, 1));
}

TEST_CASE("draw_line_aa: Wu's line is full strength on the ideal line and splits between two rows at .5") {
    Image image = canvas(10, 6, colors::black);
    draw_line_aa(image, 1.0, 1.0, 8.0, 1.0, colors::white);  // horizontal, on pixel row 1
    for (int x = 2; x <= 7; ++x) CHECK(pixel_color(image, x, 1) == colors::white);
    CHECK(pixel_color(image, 1, 1) == Color{128, 128, 128});  // the end pixels are half covered
    CHECK(pixel_color(image, 8, 1) == Color{128, 128, 128});
    CHECK(pixel_color(image, 4, 0) == colors::black);
    CHECK(pixel_color(image, 4, 2) == colors::black);
    draw_line_aa(image, 1.0, 3.5, 8.0, 3.5, colors::white);  // halfway between rows 3 and 4
    CHECK(pixel_color(image, 4, 3) == Color{128, 128, 128});
    CHECK(pixel_color(image, 4, 4) == Color{128, 128, 128});
    // Far outside: nothing drawn, nothing out of bounds.
    Image untouched = image;
    draw_line_aa(image, -1e300, 1e300, 1e300, 1e300, colors::white);
    draw_line_aa(image, -1e300, -1e300, -1e300, 1e300, colors::white);
    CHECK(image.pixels == untouched.pixels);
}

TEST_CASE("draw_rect / fill_rect: border colour inside the rectangle, interior and outside untouched") {
    Image image = canvas(10, 8);
    draw_rect(image, 2, 1, 5, 4, kInk);  // columns 2..6, rows 1..4
    CHECK(inked(image) == from_art({"#####", "#...#", "#...#", "#####"}, 2, 1));
    CHECK(pixel_color(image, 2, 1) == kInk);
    CHECK(pixel_color(image, 6, 4) == kInk);
    Image thick = canvas(10, 8);
    draw_rect(thick, 1, 1, 6, 6, kInk, 2);
    CHECK(inked(thick) == from_art({"######", "######", "##..##", "##..##", "######", "######"}, 1, 1));
    Image filled = canvas(6, 6);
    fill_rect(filled, -2, 4, 4, 10, kInk);  // clipped to columns 0..1, rows 4..5
    CHECK(inked(filled) == std::set<std::pair<int, int>>{{0, 4}, {1, 4}, {0, 5}, {1, 5}});
}

TEST_CASE("circles and crosses: a disc, a ring with a hollow centre, an X") {
    Image disc = canvas(7, 7);
    fill_circle(disc, 3, 3, 2, kInk);  // centres within 2.5: everything in the 5x5 but its corners
    CHECK(inked(disc) == from_art({".###.", "#####", "#####", "#####", ".###."}, 1, 1));
    Image ring = canvas(7, 7);
    draw_circle(ring, 3, 3, 2, kInk);  // 1.5 < d <= 2.5
    CHECK(inked(ring) == from_art({".###.", "#...#", "#...#", "#...#", ".###."}, 1, 1));
    Image cross = canvas(7, 7);
    draw_cross(cross, 3, 3, 2, kInk);
    CHECK(inked(cross) == from_art({"#...#", ".#.#.", "..#..", ".#.#.", "#...#"}, 1, 1));
}

TEST_CASE("blend and colormaps: the hand-computed colours") {
    CHECK(mix(Color{0, 0, 0}, Color{255, 100, 10}, 0.5) == Color{128, 50, 5});
    CHECK(jet(0.0) == Color{0, 0, 128});        // b = 1.5 - |0 - 1| = 0.5
    CHECK(jet(0.5) == Color{128, 255, 128});    // r = g-peak... r = 1.5 - |2 - 3| = 0.5, g = 1.5, b = 0.5
    CHECK(jet(1.0) == Color{128, 0, 0});
    CHECK(jet(std::nan("")) == jet(0.0));
    CHECK(blues(0.0) == Color{247, 251, 255});
    CHECK(blues(0.25) == Color{177, 213, 235});  // halfway from (247,251,255) to (107,174,214)
    CHECK(blues(0.75) == Color{58, 111, 161});   // halfway from (107,174,214) to (8,48,107)
    CHECK(blues(1.0) == Color{8, 48, 107});
    Image grey(2, 1, 1, 0);
    put_pixel(grey, 0, 0, Color{255, 255, 255});
    blend_pixel(grey, 1, 0, Color{200, 200, 200}, 0.5);
    CHECK(grey.pixels == std::vector<uint8_t>{255, 100});
}

TEST_CASE("nice_ticks and tick_label: round steps covering the range") {
    // 0.13..2.41 over ~6 ticks: raw step 0.38 -> 0.5; ticks 0.0, 0.5, ..., 2.5.
    Ticks t = nice_ticks(0.13, 2.41, 6);
    CHECK(t.step == doctest::Approx(0.5));
    CHECK(t.first == doctest::Approx(0.0));
    CHECK(t.count == 6);
    CHECK(tick_label(t.at(0), t) == "0.0");
    CHECK(tick_label(t.at(5), t) == "2.5");
    // Whole-number steps for epochs: 1..3 over 8 ticks would be 0.25; integers force 1.
    Ticks e = nice_ticks(1, 3, 8, true);
    CHECK(e.step == 1.0);
    CHECK(tick_label(e.at(1), e) == "2");
    // Large values switch to short scientific notation.
    Ticks big = nice_ticks(0, 4e6, 4);
    CHECK(tick_label(big.at(1), big) == "1e+06");
    // Ranges at the ends of double fall back to the two ends instead of thousands of ticks.
    for (auto [lo, hi] : {std::pair{0.0, 1e-320}, std::pair{-1e308, 1e308}, std::pair{1e300, 1e300}}) {
        Ticks odd = nice_ticks(lo, hi, 6);
        CHECK(odd.count >= 1);
        CHECK(odd.count <= 1000);
        CHECK(std::isfinite(odd.step));
    }
    CHECK_NOTHROW(line_plot({Series{"tiny", {0, 1}, {0, 1e-320}, std::nullopt}}));
    CHECK_NOTHROW(line_plot({Series{"huge", {0, 1}, {-1e308, 1e308}, std::nullopt}}));
    // A negative zero never shows.
    Ticks around = nice_ticks(-1, 1, 4);
    bool saw_zero = false;
    for (int i = 0; i < around.count; ++i) saw_zero |= tick_label(around.at(i), around) == "0.0";
    CHECK(saw_zero);
}

TEST_CASE("line_plot: the curve's colour on its row, the legend, and a PNG that decodes back") {
    Series flat{"flat", {1, 2, 3, 4, 5}, {1.0, 1.0, 1.0, 1.0, 1.0}, Color{200, 30, 40}};
    Series rising{"rising", {1, 2, 3, 4, 5}, {0.9, 0.95, 1.0, 1.05, 1.1}, std::nullopt};
    LinePlotOptions options;
    options.title = "Test plot";
    options.x_label = "epoch";
    options.y_label = "value";
    Image plot = line_plot({flat, rising}, options);
    CHECK(plot.width == 720);
    CHECK(plot.height == 440);
    CHECK(plot.channels == 3);
    // The flat curve is a horizontal 2-pixel band of exactly its colour across the middle column.
    int rows_with_flat = 0;
    for (int y = 0; y < plot.height; ++y) rows_with_flat += pixel_color(plot, 360, y) == Color{200, 30, 40};
    CHECK(rows_with_flat >= 1);
    CHECK(rows_with_flat <= 3);
    // The unnamed colour comes from the palette, in order: "rising" is the second series.
    int palette_pixels = 0;
    for (int y = 0; y < plot.height; ++y)
        for (int x = 0; x < plot.width; ++x) palette_pixels += pixel_color(plot, x, y) == kSeriesColors[1];
    CHECK(palette_pixels > 200);
    // Round trip through PNG.
    const std::vector<uint8_t> png = data::encode_png(plot);
    const Image back = data::decode_image(png, "plot.png");
    CHECK(back.width == plot.width);
    CHECK(back.height == plot.height);
    CHECK(back.pixels == plot.pixels);
    // Bad input is refused with the series' name.
    CHECK_THROWS_WITH_AS(line_plot({Series{"broken", {1, 2}, {1}, std::nullopt}}),
                         doctest::Contains("series \"broken\" has 2 x values but 1 y values"), Error);
    // Empty, NaN-only and single-point series still draw axes.
    CHECK_NOTHROW(line_plot({}));
    CHECK_NOTHROW(line_plot({Series{"nan", {1}, {std::nan("")}, std::nullopt}}));
    CHECK_NOTHROW(line_plot({Series{"one", {3}, {0.5}, std::nullopt}}));
}

TEST_CASE("draw_landmarks: filled dot for visible, hollow ring for occluded, cross for truncated") {
    Image image = canvas(80, 40, Color{128, 128, 128});
    data::Landmarks lm{};
    lm[0] = {10.0f, 10.0f, data::kVisible, true};
    lm[1] = {30.0f, 10.0f, data::kOccluded, true};
    lm[2] = {50.0f, 10.0f, data::kTruncated, true};
    lm[3] = {70.0f, 10.0f, data::kVisible, false};  // absent slot: not drawn
    lm[4] = {-30.0f, 30.0f, data::kTruncated, true};  // outside: drawn at the nearest border pixel
    draw_landmarks(image, lm, {.radius = 4, .thickness = 2});
    CHECK(pixel_color(image, 10, 10) == kLandmarkColors[0]);
    CHECK(pixel_color(image, 13, 10) == kLandmarkColors[0]);
    CHECK(pixel_color(image, 30, 10) == Color{128, 128, 128});  // hollow
    CHECK(pixel_color(image, 34, 10) == kLandmarkColors[1]);     // on the ring (radius 4)
    CHECK(pixel_color(image, 26, 10) == kLandmarkColors[1]);
    CHECK(pixel_color(image, 50, 10) == kLandmarkColors[2]);     // the X's centre
    CHECK(pixel_color(image, 53, 13) == kLandmarkColors[2]);     // on a diagonal
    CHECK(pixel_color(image, 55, 10) == Color{128, 128, 128});   // between the arms, beyond the outline
    CHECK(pixel_color(image, 70, 10) == Color{128, 128, 128});
    CHECK(pixel_color(image, 0, 30) == kLandmarkColors[4]);
}

TEST_CASE("overlay_heatmap / overlay_attention: colours at the map's pixels") {
    Image image(2, 1, 3, 100);
    const float map[2] = {0.0f, 1.0f};
    // alpha 1: the jet colours themselves.
    Image full = overlay_heatmap(image, map, 2, 1, {.alpha = 1.0});
    CHECK(pixel_color(full, 0, 0) == jet(0.0));
    CHECK(pixel_color(full, 1, 0) == jet(1.0));
    // alpha 0.5 over grey 100: (100 + 0) / 2 = 50 and (100 + 128) / 2 = 114.
    Image half = overlay_heatmap(image, map, 2, 1);
    CHECK(pixel_color(half, 0, 0) == Color{50, 50, 114});
    CHECK(pixel_color(half, 1, 0) == Color{114, 50, 50});
    // A fixed range: [0, 2] maps 1.0 to 0.5.
    Image ranged = overlay_heatmap(image, map, 2, 1, {.alpha = 1.0, .min = 0.0, .max = 2.0});
    CHECK(pixel_color(ranged, 1, 0) == jet(0.5));
    // Upsampling a 1x1 map: every pixel gets its value.
    const float one = 3.0f;
    Image big(4, 3, 3, 0);
    Image up = overlay_heatmap(big, &one, 1, 1, {.alpha = 1.0, .min = 0.0, .max = 6.0});
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 4; ++x) CHECK(pixel_color(up, x, y) == jet(0.5));
    // Bilinear between two map pixels, half-pixel centres: a 2x1 map over a 4x1 image samples at
    // u = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped 0, 0.25, 0.75, 1.
    Image wide(4, 1, 3, 0);
    Image lerped = overlay_heatmap(wide, map, 2, 1, {.alpha = 1.0});
    CHECK(pixel_color(lerped, 0, 0) == jet(0.0));
    CHECK(pixel_color(lerped, 1, 0) == jet(0.25));
    CHECK(pixel_color(lerped, 2, 0) == jet(0.75));
    CHECK(pixel_color(lerped, 3, 0) == jet(1.0));
    // Attention: weight 0 dims the image to 35% and adds no colour; weight 1 blends jet(1) at alpha.
    Image att = overlay_attention(image, map, 2, 1, {.alpha = 0.5});
    CHECK(pixel_color(att, 0, 0) == Color{35, 35, 35});
    CHECK(pixel_color(att, 1, 0) == mix(Color{100, 100, 100}, jet(1.0), 0.5));
    // The Tensor overload agrees with the pointer one; a non-2-D map is refused.
    Tensor<float> t = from_vector<float>({0.0f, 1.0f}, {1, 2});
    CHECK(overlay_heatmap(image, t).pixels == half.pixels);
    CHECK_THROWS_WITH_AS(overlay_heatmap(image, from_vector<float>({0.0f, 1.0f}, {2})),
                         doctest::Contains("must be a 2-D tensor"), Error);
}

TEST_CASE("retrieval_grid: grey query frame, green frames for correct results, red for wrong ones, in rank order") {
    std::vector<RetrievalRow> rows(2);
    for (auto& row : rows) row.query = Image(20, 30, 3, 200);
    rows[0].results = {Image(20, 30, 3, 50), Image(20, 30, 3, 60), Image(20, 30, 3, 70)};
    rows[0].correct = {false, true, false};
    rows[1].results = {Image(40, 30, 3, 80)};  // wider than the cell: letterboxed
    rows[1].correct = {true};
    RetrievalGridOptions options{.cell_width = 24, .cell_height = 32, .border = 3, .gap = 5, .title = "Retrieval"};
    const Image grid = retrieval_grid(rows, options);
    const RetrievalGridLayout l = retrieval_grid_layout(2, 3, options);
    CHECK(grid.width == l.width);
    CHECK(grid.height == l.height);
    CHECK(l.frame_width == 30);
    CHECK(l.frame_height == 38);
    auto frame_colour = [&](int r, int i) { return pixel_color(grid, l.frame_x(i) + 1, l.frame_y(r) + 1); };
    CHECK(frame_colour(0, -1) == colors::query);
    CHECK(frame_colour(0, 0) == colors::wrong);
    CHECK(frame_colour(0, 1) == colors::correct);
    CHECK(frame_colour(0, 2) == colors::wrong);
    CHECK(frame_colour(1, -1) == colors::query);
    CHECK(frame_colour(1, 0) == colors::correct);
    // The far corner of each frame too (the border runs all the way round).
    CHECK(pixel_color(grid, l.frame_x(1) + l.frame_width - 1, l.frame_y(0) + l.frame_height - 1) == colors::correct);
    // Inside the frames: the images, in rank order (20x30 fits 24x32 at scale 16/20... centre pixel).
    auto centre = [&](int r, int i) {
        return pixel_color(grid, l.frame_x(i) + l.frame_width / 2, l.frame_y(r) + l.frame_height / 2);
    };
    CHECK(centre(0, -1) == Color{200, 200, 200});
    CHECK(centre(0, 0) == Color{50, 50, 50});
    CHECK(centre(0, 1) == Color{60, 60, 60});
    CHECK(centre(0, 2) == Color{70, 70, 70});
    CHECK(centre(1, 0) == Color{80, 80, 80});
    // Letterbox: the 40x30 image scaled by 0.6 is 24x18 in the 24x32 cell: 7 rows of background above.
    CHECK(pixel_color(grid, l.frame_x(0) + 3 + 12, l.frame_y(1) + 3 + 2) == Color{236, 236, 236});
    // Row 1 has no third result: white there.
    CHECK(centre(1, 2) == colors::white);
    CHECK_THROWS_WITH_AS(retrieval_grid({RetrievalRow{Image(2, 2, 3), {Image(2, 2, 3)}, {}}}),
                         doctest::Contains("row 0 has 1 results but 0 correct flags"), Error);
}

TEST_CASE("confusion_matrix_image: rows are true classes, cells shaded by the row's share, counts in contrast") {
    // Row 0: 3 and 1 of 4 -> shares 0.75, 0.25. Row 1: 0 and 4 -> 0, 1.
    const std::vector<std::vector<int64_t>> counts{{3, 1}, {0, 4}};
    const std::vector<std::string> names{"shirt", "dress"};
    const ConfusionOptions options;
    const Image image = confusion_matrix_image(counts, names, options);
    const ConfusionLayout l = confusion_matrix_layout(2, names, 4, options);
    CHECK(image.width == l.width);
    CHECK(image.height == l.height);
    auto cell_colour = [&](int t, int p) { return pixel_color(image, l.grid_x + p * l.cell + 2, l.grid_y + t * l.cell + 2); };
    CHECK_MESSAGE((cell_colour(0, 0) == Color{58, 111, 161}), colour_str(cell_colour(0, 0)));
    CHECK_MESSAGE((cell_colour(0, 1) == Color{177, 213, 235}), colour_str(cell_colour(0, 1)));
    CHECK(cell_colour(1, 0) == Color{247, 251, 255});
    CHECK(cell_colour(1, 1) == Color{8, 48, 107});
    // The count in a dark cell is white, in a light cell dark: look for those pixels in the cell.
    auto cell_has = [&](int t, int p, Color c) {
        for (int y = 1; y < l.cell; ++y)  // row and column 0 may hold the white separator lines
            for (int x = 1; x < l.cell; ++x)
                if (pixel_color(image, l.grid_x + p * l.cell + x, l.grid_y + t * l.cell + y) == c) return true;
        return false;
    };
    CHECK(cell_has(1, 1, colors::white));
    CHECK(cell_has(0, 1, colors::text));
    CHECK_FALSE(cell_has(0, 1, colors::white));
    // The digit drawn in cell (1, 1) is a "4": compare with the glyph at the centred position.
    const int text_x = l.cell / 2 - font::text_width("4") / 2, text_y = (l.cell - font::kCapHeight) / 2;
    for (int y = 0; y < font::kGlyphHeight; ++y)
        for (int x = 0; x < font::kGlyphWidth; ++x)
            CHECK(font::pixel('4', x, y) ==
                  (pixel_color(image, l.grid_x + l.cell + text_x + x, l.grid_y + l.cell + text_y + y) == colors::white));
    CHECK_THROWS_WITH_AS(confusion_matrix_image({{1, 2}, {3}}), doctest::Contains("row 1 has 1 entries"), Error);
    CHECK_THROWS_WITH_AS(confusion_matrix_image({{1}}, {"a", "b"}), doctest::Contains("2 class names for 1 classes"), Error);
}

TEST_CASE("pictures for the eye: written to SEAM_PLOT_DIR when it is set") {
    // The tests above check the pixels; a person should still look at the pictures. Set
    // SEAM_PLOT_DIR=/some/folder to get every kind as PNG files, drawn on SynthFashion images:
    //   SEAM_PLOT_DIR=/tmp/pictures ./seam_tests -tc="pictures for the eye*"
    const char* dir = std::getenv("SEAM_PLOT_DIR");
    if (dir == nullptr) {
        MESSAGE("skipped: set SEAM_PLOT_DIR to write the example pictures");
        return;
    }
    namespace fs = std::filesystem;
    const fs::path out = dir;
    fs::create_directories(out);

    TrainingLog log;
    for (int e = 1; e <= 20; ++e)
        log.add({e, e * 100, 2.3 * std::exp(-0.2 * e) + 0.1, 0.1, 3.0,
                 {{"val_loss", 2.3 * std::exp(-0.15 * e) + 0.25}, {"val_top1", 1 - 0.9 * std::exp(-0.25 * e)},
                  {"val_top5", 1 - 0.5 * std::exp(-0.35 * e)}}});
    CHECK(write_training_plots(log, out.string()).size() == 2);

    std::vector<std::vector<int64_t>> counts(10, std::vector<int64_t>(10, 0));
    for (size_t t = 0; t < 10; ++t)
        for (size_t p = 0; p < 10; ++p) counts[t][p] = t == p ? 850 + 10 * static_cast<int64_t>(t) : (t * 7 + p * 3) % 11 == 0 ? 60 : static_cast<int64_t>((t + p) % 5);
    data::write_png((out / "confusion.png").string(),
                    confusion_matrix_image(counts, {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                                    "Sneaker", "Bag", "Ankle boot"}));

    // A few SynthFashion images: landmarks, landmark heatmaps as heatmap and attention overlays,
    // and a consumer-to-shop retrieval grid (correct = the same item).
    const fs::path synth = out / "synthfashion";
    if (!fs::exists(synth / "category-attribute"))
        data::write_synthfashion(synth, {.images = 8, .c2s_items = 6, .size = 300, .threads = 1});
    const auto c = data::load_category_attribute(synth / "category-attribute");
    for (size_t i = 0; i < 3; ++i) {
        const auto& record = c.images[i];
        const Image image = data::read_image((synth / "category-attribute" / record.path).string());
        Image marked = image;
        draw_landmarks(marked, record.landmarks, {.radius = 4, .thickness = 2, .numbers = true});
        data::write_png((out / ("landmarks" + std::to_string(i) + ".png")).string(), marked);
        const int map = 28;
        const std::vector<float> maps =
            data::landmark_heatmaps(record.landmarks, image.width, image.height, map, map, 1.5f, true);
        std::vector<float> strongest(static_cast<size_t>(map * map), 0.0f);
        for (size_t k = 0; k < 8; ++k)
            for (size_t j = 0; j < strongest.size(); ++j)
                strongest[j] = std::max(strongest[j], maps[k * strongest.size() + j]);
        data::write_png((out / ("heatmap" + std::to_string(i) + ".png")).string(),
                        overlay_heatmap(image, strongest.data(), map, map));
        data::write_png((out / ("attention" + std::to_string(i) + ".png")).string(),
                        overlay_attention(image, strongest.data(), map, map));
    }
    const auto c2s = data::load_consumer_to_shop(synth / "consumer-to-shop");
    std::vector<RetrievalRow> rows;
    for (size_t p = 0; p < 3 && p < c2s.pairs.size(); ++p) {
        RetrievalRow row;
        const auto& pair = c2s.pairs[p];
        row.query = data::read_image((synth / "consumer-to-shop" / c2s.images[static_cast<size_t>(pair.consumer_image)].path).string());
        // A made-up ranking: the true shop image at rank p + 1, other shop images around it.
        std::vector<size_t> others;
        for (size_t i = 0; i < c2s.images.size(); ++i)
            if (c2s.images[i].source == data::Source::shop && c2s.images[i].item != pair.item) others.push_back(i);
        for (size_t rank = 0; rank < 5; ++rank) {
            const bool hit = rank == p;
            const size_t index = hit ? static_cast<size_t>(pair.shop_image) : others[(rank + p) % others.size()];
            row.results.push_back(data::read_image((synth / "consumer-to-shop" / c2s.images[index].path).string()));
            row.correct.push_back(hit);
        }
        rows.push_back(std::move(row));
    }
    data::write_png((out / "retrieval.png").string(), retrieval_grid(rows, {.title = "Consumer-to-shop retrieval, top-5"}));
    MESSAGE("pictures written to ", out.string());
}
