// Tests of seam/data/image.hpp (stb decoding/encoding) and seam/data/transforms.hpp (crop, resize,
// flip, normalisation, heatmaps). Expected values are computed by hand in the comments; the PNG
// decoder is checked on a file assembled byte by byte here from the PNG specification.
#include <doctest/doctest.h>

#include <seam/data/image.hpp>
#include <seam/data/transforms.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace seam::data;
namespace fs = std::filesystem;

/// A fresh, empty temporary folder for one test.
fs::path make_temp_dir(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("seam_test_image_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::string error_message(auto&& f) {
    try {
        f();
    } catch (const seam::Error& e) {
        return e.what();
    }
    return "<no error>";
}

// --- a minimal PNG writer, independent of stb: stored (uncompressed) deflate blocks -------------
uint32_t crc32_of(const std::vector<uint8_t>& bytes, size_t begin, size_t end) {
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = begin; i < end; ++i) {
        crc ^= bytes[i];
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}
void put_be32(std::vector<uint8_t>& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}
void put_chunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
    put_be32(png, static_cast<uint32_t>(data.size()));
    size_t start = png.size();
    png.insert(png.end(), type, type + 4);
    png.insert(png.end(), data.begin(), data.end());
    put_be32(png, crc32_of(png, start, png.size()));
}
/// PNG of a width × height image with colour type 2 (RGB, 8 bit) or 0 (gray), filter 0 on every row.
std::vector<uint8_t> handmade_png(int width, int height, int colour_type, const std::vector<uint8_t>& pixels) {
    const int channels = colour_type == 2 ? 3 : 1;
    std::vector<uint8_t> raw;  // scanlines, each prefixed with filter type 0
    for (int y = 0; y < height; ++y) {
        raw.push_back(0);
        for (int i = 0; i < width * channels; ++i) raw.push_back(pixels[static_cast<size_t>(y * width * channels + i)]);
    }
    std::vector<uint8_t> zlib = {0x78, 0x01};  // deflate, 32 KiB window, no preset dictionary
    zlib.push_back(0x01);                       // final block, stored
    uint16_t len = static_cast<uint16_t>(raw.size());
    zlib.push_back(static_cast<uint8_t>(len & 0xFF));
    zlib.push_back(static_cast<uint8_t>(len >> 8));
    zlib.push_back(static_cast<uint8_t>(~len & 0xFF));
    zlib.push_back(static_cast<uint8_t>((~len >> 8) & 0xFF));
    zlib.insert(zlib.end(), raw.begin(), raw.end());
    uint32_t a = 1, b = 0;  // Adler-32 of the uncompressed data
    for (uint8_t v : raw) {
        a = (a + v) % 65521u;
        b = (b + a) % 65521u;
    }
    put_be32(zlib, (b << 16) | a);

    std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    std::vector<uint8_t> ihdr;
    put_be32(ihdr, static_cast<uint32_t>(width));
    put_be32(ihdr, static_cast<uint32_t>(height));
    ihdr.insert(ihdr.end(), {8, static_cast<uint8_t>(colour_type), 0, 0, 0});
    put_chunk(png, "IHDR", ihdr);
    put_chunk(png, "IDAT", zlib);
    put_chunk(png, "IEND", {});
    return png;
}

/// A 1-channel image from rows of values.
Image gray(int width, int height, const std::vector<int>& values) {
    Image image(width, height, 1);
    for (size_t i = 0; i < values.size(); ++i) image.pixels[i] = static_cast<uint8_t>(values[i]);
    return image;
}

/// An RGB image whose red channel is x + 10·y (so a pixel says where it came from).
Image coordinate_image(int width, int height) {
    Image image(width, height, 3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            image.at(x, y, 0) = static_cast<uint8_t>(x + 10 * y);
            image.at(x, y, 1) = 7;
            image.at(x, y, 2) = static_cast<uint8_t>(y);
        }
    return image;
}

Landmark point(float x, float y, int visibility = kVisible) { return Landmark{x, y, visibility, true}; }

}  // namespace

TEST_CASE("image: decodes a PNG assembled byte by byte from the specification") {
    // 3×2 RGB image, rows top to bottom.
    std::vector<uint8_t> rgb = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 255, 0, 1};
    Image image = decode_image(handmade_png(3, 2, 2, rgb), "handmade.png");
    CHECK(image.width == 3);
    CHECK(image.height == 2);
    CHECK(image.channels == 3);
    CHECK(image.pixels == rgb);
    CHECK(image.at(2, 1, 0) == 255);  // x = 2, y = 1: the last pixel
    CHECK(image.at(1, 0, 2) == 60);
}

TEST_CASE("image: grayscale is made 3-channel, or kept 1-channel on request") {
    std::vector<uint8_t> png = handmade_png(2, 2, 0, {0, 64, 128, 255});
    Image rgb = decode_image(png, "gray.png");
    REQUIRE(rgb.channels == 3);
    CHECK(rgb.at(1, 0, 0) == 64);
    CHECK(rgb.at(1, 0, 1) == 64);
    CHECK(rgb.at(1, 0, 2) == 64);
    CHECK(rgb.at(1, 1, 2) == 255);
    Image one = decode_image(png, "gray.png", 1);
    CHECK(one.channels == 1);
    CHECK(one.pixels == std::vector<uint8_t>{0, 64, 128, 255});
}

TEST_CASE("image: PNG encoding is lossless and starts with the PNG signature and IHDR size") {
    Image image = coordinate_image(5, 3);
    std::vector<uint8_t> png = encode_png(image);
    REQUIRE(png.size() > 24);
    CHECK(png[0] == 0x89);
    CHECK(png[1] == 'P');
    CHECK(png[12] == 'I');
    CHECK(png[15] == 'R');
    CHECK(png[19] == 5);  // IHDR width, big-endian, bytes 16..19
    CHECK(png[23] == 3);  // IHDR height, bytes 20..23
    Image back = decode_image(png);
    CHECK(back.width == 5);
    CHECK(back.height == 3);
    CHECK(back.pixels == image.pixels);
    CHECK(encode_png(image) == png);  // deterministic bytes

    fs::path dir = make_temp_dir("png");
    write_png((dir / "a.png").string(), image);
    CHECK(read_image((dir / "a.png").string()).pixels == image.pixels);
    fs::remove_all(dir);
}

TEST_CASE("image: JPEG round trip of a flat colour stays within JPEG error") {
    Image image(16, 16, 3);
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x) {
            image.at(x, y, 0) = 100;
            image.at(x, y, 1) = 150;
            image.at(x, y, 2) = 200;
        }
    std::vector<uint8_t> jpeg = encode_jpeg(image, 95);
    REQUIRE(jpeg.size() > 3);
    CHECK(jpeg[0] == 0xFF);  // SOI marker
    CHECK(jpeg[1] == 0xD8);
    fs::path dir = make_temp_dir("jpeg");
    write_jpeg((dir / "flat.jpg").string(), image, 95);
    Image back = read_image((dir / "flat.jpg").string());
    REQUIRE(back.width == 16);
    REQUIRE(back.height == 16);
    REQUIRE(back.channels == 3);
    for (int c = 0; c < 3; ++c) CHECK(std::abs(back.at(7, 9, c) - image.at(7, 9, c)) <= 3);
    fs::remove_all(dir);
}

TEST_CASE("image: a missing file or undecodable bytes give an error naming the file and the reason") {
    fs::path dir = make_temp_dir("errors");
    std::string missing = (dir / "nope.jpg").string();
    std::string message = error_message([&] { read_image(missing); });
    CHECK(message.find(missing) != std::string::npos);
    CHECK(message.find("No such file") != std::string::npos);

    std::string text = (dir / "text.jpg").string();
    write_file_bytes(text, std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'});
    message = error_message([&] { read_image(text); });
    CHECK(message.find(text) != std::string::npos);
    CHECK(message.find("cannot decode") != std::string::npos);
    CHECK(message.find("unknown image type") != std::string::npos);  // stb's reason

    // A PNG cut after its header: the header parses, the pixel data does not.
    std::vector<uint8_t> png = encode_png(coordinate_image(8, 8));
    png.resize(40);
    std::string cut = (dir / "cut.png").string();
    write_file_bytes(cut, png);
    message = error_message([&] { read_image(cut); });
    CHECK(message.find(cut) != std::string::npos);
    CHECK(message.find("cannot decode") != std::string::npos);

    std::string empty = (dir / "empty.png").string();
    write_file_bytes(empty, std::vector<uint8_t>{});
    CHECK(error_message([&] { read_image(empty); }).find("empty file") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("image: a JPEG Huffman table with more than 256 codes is refused before stb reads it") {
    // SOI, then DHT: length 0x0020, class/id 0x00, 16 code counts summing to 3 × 200 = 600, which
    // would make stb_image 2.27 write past its 256-entry arrays (nothings/stb #1289).
    std::vector<uint8_t> jpeg = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x20, 0x00};
    for (int i = 0; i < 16; ++i) jpeg.push_back(i < 3 ? 200 : 0);
    jpeg.resize(jpeg.size() + 40, 0x11);
    std::string message = error_message([&] { decode_image(jpeg, "evil.jpg"); });
    CHECK(message.find("evil.jpg") != std::string::npos);
    CHECK(message.find("Huffman table at byte 6 declares 600 codes") != std::string::npos);

    // The same table hidden after a scan's entropy-coded data is found too.
    std::vector<uint8_t> late = encode_jpeg(coordinate_image(8, 8), 80);
    REQUIRE(late.size() > 4);
    late.erase(late.end() - 2, late.end());  // drop EOI
    late.insert(late.end(), jpeg.begin() + 2, jpeg.end());
    CHECK(error_message([&] { decode_image(late, "late.jpg"); }).find("declares 600 codes") != std::string::npos);

    // Genuine tables (at most 256 codes) pass: stb's own encoder output decodes.
    CHECK(decode_image(encode_jpeg(coordinate_image(8, 8), 80)).width == 8);
}

TEST_CASE("transforms: crop with margin moves landmarks and truncates those that leave") {
    LabeledImage input{coordinate_image(10, 8), {}};
    input.landmarks[0] = point(3, 2);
    input.landmarks[1] = point(8, 7);                 // outside the crop below
    input.landmarks[2] = point(1, 0, kOccluded);       // on the crop's top-left corner
    // Box [2, 1, 6, 5) grown by 1 → [1, 0, 7, 6): 6 × 6 pixels, top-left at (1, 0).
    LabeledImage out = crop(input, Box{2, 1, 6, 5}, 1);
    REQUIRE(out.image.width == 6);
    REQUIRE(out.image.height == 6);
    CHECK(out.image.at(0, 0, 0) == 1);          // source pixel (1, 0): 1 + 10·0
    CHECK(out.image.at(5, 5, 0) == 6 + 10 * 5);  // source pixel (6, 5)
    CHECK(out.landmarks[0].x == 2.0f);
    CHECK(out.landmarks[0].y == 2.0f);
    CHECK(out.landmarks[0].visibility == kVisible);
    CHECK(out.landmarks[1].x == 7.0f);  // 8 - 1: kept, but past the last column 5
    CHECK(out.landmarks[1].visibility == kTruncated);
    CHECK(out.landmarks[2].x == 0.0f);
    CHECK(out.landmarks[2].y == 0.0f);
    CHECK(out.landmarks[2].visibility == kOccluded);  // still inside: occlusion is kept
    CHECK_FALSE(out.landmarks[3].present);

    // The margin is clamped at the image border.
    LabeledImage edge = crop(input, Box{0, 0, 3, 2}, 5);
    CHECK(edge.image.width == 8);   // [0, 8)
    CHECK(edge.image.height == 7);  // [0, 7)
    CHECK(edge.landmarks[0].x == 3.0f);

    CHECK(error_message([&] { crop(input, Box{20, 20, 30, 30}, 0); }).find("outside the 10x8 image") !=
          std::string::npos);
    CHECK(error_message([&] { crop(input, Box{5, 5, 5, 6}, 0); }).find("empty") != std::string::npos);
}

TEST_CASE("transforms: horizontal flip maps x to W-1-x and swaps left/right slots") {
    LabeledImage input{coordinate_image(10, 4), {}};
    input.landmarks[0] = point(2, 1);               // left collar
    input.landmarks[1] = point(6, 1, kOccluded);     // right collar
    input.landmarks[4] = point(0, 3);               // left waistline
    LabeledImage out = hflip(input);
    CHECK(out.image.at(9, 2, 0) == 0 + 10 * 2);  // column 0 went to column 9
    CHECK(out.image.at(0, 2, 0) == 9 + 10 * 2);
    // The old right collar (x = 6) is now the left collar at 10 - 1 - 6 = 3, occlusion kept.
    CHECK(out.landmarks[0].x == 3.0f);
    CHECK(out.landmarks[0].visibility == kOccluded);
    CHECK(out.landmarks[1].x == 7.0f);  // 10 - 1 - 2
    CHECK(out.landmarks[1].visibility == kVisible);
    CHECK(out.landmarks[5].present);     // left waistline became the right one
    CHECK(out.landmarks[5].x == 9.0f);
    CHECK_FALSE(out.landmarks[4].present);
    CHECK(out.landmarks[5].y == 3.0f);

    LabeledImage twice = hflip(out);
    CHECK(twice.image.pixels == input.image.pixels);
    CHECK(twice.landmarks == input.landmarks);

    // random_hflip: one draw per call, reproducible from the generator's seed.
    seam::Generator a(42), b(42);
    int flipped = 0;
    for (int i = 0; i < 200; ++i) {
        LabeledImage x = random_hflip(input, a);
        LabeledImage y = random_hflip(input, b);
        CHECK(x.landmarks == y.landmarks);
        flipped += x.landmarks[0].x == 3.0f;
    }
    CHECK(flipped > 70);
    CHECK(flipped < 130);
}

TEST_CASE("transforms: bilinear resize matches hand-computed values (half-pixel centres)") {
    // 2×2 → 3×3. Source coordinate of output x: (x + 0.5)·2/3 − 0.5 = −1/6, 0.5, 7/6 → clamped 0, 0.5, 1.
    Image source = gray(2, 2, {0, 100, 200, 60});
    Image out = resize_image(source, 3, 3);
    std::vector<uint8_t> expected = {
        0,   50,  100,  // row 0 (source row 0): 0, (0+100)/2, 100
        100, 90,  80,   // row 1 (between rows): (0+200)/2, (0+100+200+60)/4, (100+60)/2
        200, 130, 60,   // row 2 (source row 1): 200, (200+60)/2, 60
    };
    CHECK(out.pixels == expected);

    // 4×1 → 2×1: sources at 0.5 and 2.5, the mean of each pair; 17.5 rounds to 18.
    Image wide = gray(4, 1, {10, 25, 40, 80});
    CHECK(resize_image(wide, 2, 1).pixels == std::vector<uint8_t>{18, 60});

    // Landmarks: 10 wide → 20 wide maps x = 4 to (4 + 0.5)·2 − 0.5 = 8.5.
    LabeledImage input{coordinate_image(10, 10), {}};
    input.landmarks[6] = point(4, 9);
    input.landmarks[7] = point(-3, 2, kTruncated);
    LabeledImage big = resize(input, 20, 5);
    CHECK(big.landmarks[6].x == doctest::Approx(8.5));
    CHECK(big.landmarks[6].y == doctest::Approx((9 + 0.5) * 0.5 - 0.5));  // 4.25
    CHECK(big.landmarks[6].visibility == kVisible);
    CHECK(big.landmarks[7].visibility == kTruncated);
}

TEST_CASE("transforms: letterbox resize keeps the aspect and pads") {
    // 10×5 → 20×20: scale 2, inner 20×10 placed at y offset 5; rows 0..4 and 15..19 are padding.
    LabeledImage input{coordinate_image(10, 5), {}};
    input.landmarks[0] = point(4, 2);
    LabeledImage out = resize(input, 20, 20, AspectMode::letterbox, 9);
    REQUIRE(out.image.width == 20);
    REQUIRE(out.image.height == 20);
    CHECK(out.image.at(3, 0, 1) == 9);
    CHECK(out.image.at(3, 19, 1) == 9);
    CHECK(out.image.at(3, 5, 1) == 7);  // the source's constant green channel
    CHECK(out.landmarks[0].x == doctest::Approx(8.5));   // (4 + 0.5)·2 − 0.5
    CHECK(out.landmarks[0].y == doctest::Approx(9.5));   // (2 + 0.5)·2 − 0.5 + 5
}

TEST_CASE("transforms: normalisation to CHW floats") {
    Image image(2, 1, 3);
    image.pixels = {255, 0, 128, 51, 102, 204};  // pixel 0 = (255, 0, 128), pixel 1 = (51, 102, 204)
    std::vector<float> out = normalize_to_chw(image);
    REQUIRE(out.size() == 6);
    // Layout: [R(x0), R(x1), G(x0), G(x1), B(x0), B(x1)].
    CHECK(out[0] == doctest::Approx((1.0 - 0.485) / 0.229));          // 2.2489
    CHECK(out[1] == doctest::Approx((0.2 - 0.485) / 0.229));          // 51/255 = 0.2
    CHECK(out[2] == doctest::Approx((0.0 - 0.456) / 0.224));          // −2.0357
    CHECK(out[3] == doctest::Approx((0.4 - 0.456) / 0.224));          // 102/255 = 0.4
    CHECK(out[4] == doctest::Approx((128.0 / 255.0 - 0.406) / 0.225));
    CHECK(out[5] == doctest::Approx((0.8 - 0.406) / 0.225));          // 204/255 = 0.8
    std::vector<float> plain = normalize_to_chw(image, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f});
    CHECK(plain[0] == doctest::Approx(1.0));
    CHECK(plain[2] == doctest::Approx(-1.0));
}

TEST_CASE("transforms: Gaussian heatmaps peak at the landmark with value 1") {
    Landmarks points{};
    points[0] = point(5, 3);
    points[1] = point(2, 2, kOccluded);
    points[2] = point(40, 2, kTruncated);
    const float sigma = 2.0f;
    std::vector<float> maps = landmark_heatmaps(points, 16, 8, 16, 8, sigma);
    REQUIRE(maps.size() == 8u * 16u * 8u);
    auto at = [&](int slot, int x, int y) { return maps[static_cast<size_t>(slot * 128 + y * 16 + x)]; };
    CHECK(at(0, 5, 3) == doctest::Approx(1.0));
    CHECK(at(0, 6, 3) == doctest::Approx(std::exp(-1.0 / 8.0)));  // d² = 1, 2σ² = 8
    CHECK(at(0, 3, 5) == doctest::Approx(std::exp(-8.0 / 8.0)));  // d² = 4 + 4
    HeatmapPeak peak = heatmap_peak(&maps[0], 16, 8, 16, 8);
    CHECK(peak.x == 5.0f);
    CHECK(peak.y == 3.0f);
    CHECK(peak.value == doctest::Approx(1.0));
    for (int slot = 1; slot < 8; ++slot) {  // occluded, truncated and absent slots are empty
        float sum = 0;
        for (int i = 0; i < 128; ++i) sum += maps[static_cast<size_t>(slot * 128 + i)];
        CHECK(sum == 0.0f);
    }
    std::vector<float> with_occluded = landmark_heatmaps(points, 16, 8, 16, 8, sigma, true);
    CHECK(with_occluded[static_cast<size_t>(128 + 2 * 16 + 2)] == doctest::Approx(1.0));

    // A 32×32 image on an 8×8 map (stride 4): image x = 13.5 maps to (13.5 + 0.5)/4 − 0.5 = 3.
    Landmarks one{};
    one[7] = point(13.5f, 5.5f);
    std::vector<float> small = landmark_heatmaps(one, 32, 32, 8, 8, 1.0f);
    HeatmapPeak back = heatmap_peak(&small[7 * 64], 8, 8, 32, 32);
    CHECK(small[static_cast<size_t>(7 * 64 + 1 * 8 + 3)] == doctest::Approx(1.0));
    CHECK(back.x == doctest::Approx(13.5));
    CHECK(back.y == doctest::Approx(5.5));
}
