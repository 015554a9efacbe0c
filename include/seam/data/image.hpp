// seam/data/image.hpp — the 8-bit image type of the data pipeline, and JPEG/PNG decoding and
// encoding through stb (stb_image, stb_image_write).
//
// An Image is width × height × channels bytes in HWC order (row-major, channels interleaved, no
// row padding): pixel (x, y), channel c lives at pixels[(y * width + x) * channels + c]. Bytes
// rather than floats because that is what files hold and what the cheap geometric transforms
// (crop, flip, resize) work on; conversion to normalised CHW floats happens once, at the end of
// the pipeline (seam/data/transforms.hpp, normalize_to_chw).
//
// Decoding always asks for a fixed channel count (3 by default), so grayscale JPEGs become RGB and
// RGBA PNGs lose alpha: a batch never mixes channel counts. Every failure (missing file,
// truncated or corrupt data, an image too large) throws seam::Error naming the file and stb's
// reason. Files are read and written with our own I/O so that the error can name the path and the
// OS reason; stb only ever sees memory.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "seam/core/error.hpp"

// ---------------------------------------------------------------------------------------------
// stb, compiled into every translation unit that includes this header.
//
// Why STB_IMAGE_STATIC + STB_IMAGE_IMPLEMENTATION here: seam is header-only, so there is no .cpp
// where the one stb implementation could live. Defining the implementation with external linkage
// in a header would give duplicate symbols as soon as two translation units include it; declaring
// every stb function `static` gives each translation unit its own private copy instead (a few
// hundred KiB of code each, no link clash, and no clash with a user's own stb build in another
// file). The price: a translation unit that includes this header must not also define
// STB_IMAGE_IMPLEMENTATION / STB_IMAGE_WRITE_IMPLEMENTATION itself; use seam::data's functions or
// the stbi_* names this header already brings in.
//
// Only JPEG and PNG are compiled in (what DeepFashion and SynthFashion use): less code per
// translation unit and less attack surface for malformed files. STBI_NO_STDIO because all file
// access goes through read_file_bytes/write_file_bytes below. STBI_MAX_DIMENSIONS bounds what a
// corrupt header can make stb allocate; decode_image adds a cap on the pixel count.
#ifndef SEAM_STB_COMPILED_IN
#define SEAM_STB_COMPILED_IN
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS (1 << 16)
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
// Static functions a translation unit does not call are expected here (see above).
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wshadow"
#endif
#include <stb_image.h>
#include <stb_image_write.h>
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif
// Keep the configuration macros from leaking into the user's code.
#undef STB_IMAGE_IMPLEMENTATION
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#endif  // SEAM_STB_COMPILED_IN

namespace seam::data {

/// An 8-bit image, HWC (see the header comment for the layout).
struct Image {
    int width = 0;
    int height = 0;
    int channels = 0;
    std::vector<uint8_t> pixels;

    Image() = default;
    /// A width × height × channels image filled with `fill`.
    Image(int width_, int height_, int channels_, uint8_t fill = 0)
        : width(width_), height(height_), channels(channels_) {
        SEAM_CHECK(width_ >= 0 && height_ >= 0 && channels_ >= 1 && channels_ <= 4,
                   "Image: bad size ", width_, "x", height_, "x", channels_);
        pixels.assign(static_cast<size_t>(width_) * static_cast<size_t>(height_) * static_cast<size_t>(channels_),
                      fill);
    }

    bool empty() const { return pixels.empty(); }
    size_t index(int x, int y, int c = 0) const {
        return (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) *
                   static_cast<size_t>(channels) +
               static_cast<size_t>(c);
    }
    uint8_t& at(int x, int y, int c = 0) { return pixels[index(x, y, c)]; }
    uint8_t at(int x, int y, int c = 0) const { return pixels[index(x, y, c)]; }
};

/// Decoding refuses images with more pixels than this (a corrupt header can claim 65536²).
inline constexpr size_t kMaxImagePixels = size_t(1) << 26;

// ---------------------------------------------------------------------------------------------
// File bytes

/// The whole file as bytes; seam::Error naming the path and the OS reason when it cannot be read.
inline std::vector<uint8_t> read_file_bytes(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
        int err = errno;
        fail("cannot open '", path, "': ", std::generic_category().message(err));
    }
    std::vector<uint8_t> bytes;
    std::vector<uint8_t> chunk(size_t(1) << 16);
    size_t got = 0;
    while ((got = std::fread(chunk.data(), 1, chunk.size(), file)) > 0)
        bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
    bool read_error = std::ferror(file) != 0;
    std::fclose(file);
    SEAM_CHECK(!read_error, "cannot read '", path, "': I/O error");
    return bytes;
}

/// Writes bytes to path (replacing it); seam::Error naming the path and the OS reason on failure.
inline void write_file_bytes(const std::string& path, const uint8_t* data, size_t size) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
        int err = errno;
        fail("cannot create '", path, "': ", std::generic_category().message(err));
    }
    size_t written = size == 0 ? 0 : std::fwrite(data, 1, size, file);
    bool ok = written == size;
    ok = (std::fclose(file) == 0) && ok;
    SEAM_CHECK(ok, "cannot write '", path, "': I/O error (disk full?)");
}
inline void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    write_file_bytes(path, bytes.data(), bytes.size());
}

// ---------------------------------------------------------------------------------------------
// Decoding

namespace detail {

/// stb_image 2.27 (the version Debian ships) writes past its 256-entry Huffman arrays when a
/// JPEG's DHT table declares more than 256 codes (nothings/stb #1289 and #1291, fixed in 2.28).
/// This walks the JPEG marker stream the way stb does and reports such a table before stb sees
/// it. Where stb's own path is hard to predict (inside entropy-coded data, or junk between
/// segments), every FF C4 is checked: a superset of the places stb may parse a table.
/// Returns an empty string when the data is fine (or is not a JPEG at all).
inline std::string find_oversized_jpeg_huffman_table(const uint8_t* data, size_t size) {
    if (size < 2 || data[0] != 0xFF || data[1] != 0xD8) return {};
    auto byte = [&](size_t i) -> unsigned { return i < size ? data[i] : 0u; };  // stb reads 0 past the end
    // Checks the DHT segment whose FF C4 marker ends just before `pos`; returns where stb would
    // continue reading, or 0 after reporting a bad table in `problem`.
    std::string problem;
    auto check_dht = [&](size_t pos) -> size_t {
        long remaining = static_cast<long>((byte(pos) << 8) | byte(pos + 1)) - 2;
        pos += 2;
        while (remaining > 0 && pos < size) {
            unsigned q = byte(pos);
            if ((q >> 4) > 1 || (q & 15) > 3) return pos;  // stb rejects the table itself
            unsigned codes = 0;
            for (size_t i = 1; i <= 16; ++i) codes += byte(pos + i);
            if (codes > 256) {
                problem = seam::detail::concat("Huffman table at byte ", pos, " declares ", codes,
                                               " codes (at most 256)");
                return 0;
            }
            pos += 17 + codes;
            remaining -= 17 + static_cast<long>(codes);
        }
        return pos;
    };
    size_t pos = 2;
    while (pos < size) {
        // The next marker: skip junk and FF fill bytes, as stbi__get_marker does.
        while (pos < size && data[pos] != 0xFF) ++pos;
        while (pos < size && data[pos] == 0xFF) ++pos;
        if (pos >= size) break;
        const unsigned marker = data[pos++];
        if (marker == 0xD9) break;                                          // EOI
        if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
        if (marker == 0xC4) {
            pos = check_dht(pos);
            if (pos == 0) return problem;
            continue;
        }
        const size_t length = (byte(pos) << 8) | byte(pos + 1);
        pos += length;
        if (marker != 0xDA) continue;
        // Entropy-coded data after SOS: runs to the first marker that is not a stuffed 00 or a
        // restart; any FF C4 in it is checked as a table.
        while (pos < size) {
            if (data[pos] != 0xFF) {
                ++pos;
                continue;
            }
            size_t next = pos + 1;
            while (next < size && data[next] == 0xFF) ++next;
            if (next >= size) return {};
            const unsigned code = data[next];
            if (code == 0xC4 && check_dht(next + 1) == 0) return problem;
            if (code == 0x00 || (code >= 0xD0 && code <= 0xD7) || code == 0xC4) {
                pos = next + 1;
                continue;
            }
            pos = next - 1;  // at the FF of a real marker: back to the marker loop
            break;
        }
    }
    return {};
}

}  // namespace detail

/// Decodes a JPEG or PNG held in memory into `channels` channels (1, 3 or 4; 3 by default, so
/// grayscale becomes RGB). `name` is only used in error messages (a path, or "<memory>"). Images
/// with more than max_pixels pixels are refused before anything is allocated.
inline Image decode_image(const uint8_t* data, size_t size, const std::string& name = "<memory>",
                          int channels = 3, size_t max_pixels = kMaxImagePixels) {
    SEAM_CHECK(channels == 1 || channels == 3 || channels == 4, "decode_image: channels must be 1, 3 or 4, got ",
               channels, " (for '", name, "')");
    SEAM_CHECK(size > 0, "cannot decode image '", name, "': empty file");
    SEAM_CHECK(size <= static_cast<size_t>(INT32_MAX), "cannot decode image '", name, "': file too large (", size,
               " bytes)");
    const std::string bad_table = detail::find_oversized_jpeg_huffman_table(data, size);
    SEAM_CHECK(bad_table.empty(), "cannot decode image '", name, "': corrupt JPEG: ", bad_table);
    const auto* bytes = reinterpret_cast<const stbi_uc*>(data);
    int len = static_cast<int>(size);
    int width = 0, height = 0, file_channels = 0;
    // Check the header first, so a corrupt size never reaches the allocator.
    if (!stbi_info_from_memory(bytes, len, &width, &height, &file_channels)) {
        const char* reason = stbi_failure_reason();
        fail("cannot decode image '", name, "': ", reason ? reason : "unknown format");
    }
    SEAM_CHECK(width > 0 && height > 0 &&
                   static_cast<size_t>(width) * static_cast<size_t>(height) <= max_pixels,
               "cannot decode image '", name, "': size ", width, "x", height, " exceeds the limit of ",
               max_pixels, " pixels");
    stbi_uc* decoded = stbi_load_from_memory(bytes, len, &width, &height, &file_channels, channels);
    if (decoded == nullptr) {
        const char* reason = stbi_failure_reason();
        fail("cannot decode image '", name, "': ", reason ? reason : "unknown error");
    }
    Image image;
    image.width = width;
    image.height = height;
    image.channels = channels;
    image.pixels.assign(decoded, decoded + static_cast<size_t>(width) * static_cast<size_t>(height) *
                                               static_cast<size_t>(channels));
    stbi_image_free(decoded);
    return image;
}
inline Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name = "<memory>",
                          int channels = 3, size_t max_pixels = kMaxImagePixels) {
    return decode_image(bytes.data(), bytes.size(), name, channels, max_pixels);
}

/// Reads and decodes a JPEG or PNG file (see decode_image for `channels`).
inline Image read_image(const std::string& path, int channels = 3) {
    std::vector<uint8_t> bytes = read_file_bytes(path);
    return decode_image(bytes.data(), bytes.size(), path, channels);
}

// ---------------------------------------------------------------------------------------------
// Encoding

namespace detail {
inline void append_to_vector(void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    const auto* bytes = static_cast<const uint8_t*>(data);
    out->insert(out->end(), bytes, bytes + size);
}
inline void check_encodable(const Image& image, const char* what) {
    SEAM_CHECK(image.width > 0 && image.height > 0, what, ": empty image (", image.width, "x", image.height, ")");
    SEAM_CHECK(image.channels >= 1 && image.channels <= 4, what, ": bad channel count ", image.channels);
    SEAM_CHECK(image.pixels.size() == static_cast<size_t>(image.width) * static_cast<size_t>(image.height) *
                                          static_cast<size_t>(image.channels),
               what, ": pixel buffer holds ", image.pixels.size(), " bytes, expected ", image.width, "x",
               image.height, "x", image.channels);
}
}  // namespace detail

/// PNG bytes of an image (1–4 channels). stb's encoder is deterministic: same pixels, same bytes.
inline std::vector<uint8_t> encode_png(const Image& image) {
    detail::check_encodable(image, "encode_png");
    std::vector<uint8_t> out;
    int ok = stbi_write_png_to_func(detail::append_to_vector, &out, image.width, image.height, image.channels,
                                    image.pixels.data(), image.width * image.channels);
    SEAM_CHECK(ok != 0, "encode_png: stb_image_write failed for a ", image.width, "x", image.height, " image");
    return out;
}

/// JPEG bytes of an image (1 or 3 channels; alpha is ignored by the format), quality 1..100.
inline std::vector<uint8_t> encode_jpeg(const Image& image, int quality = 90) {
    detail::check_encodable(image, "encode_jpeg");
    SEAM_CHECK(quality >= 1 && quality <= 100, "encode_jpeg: quality must be in 1..100, got ", quality);
    std::vector<uint8_t> out;
    int ok = stbi_write_jpg_to_func(detail::append_to_vector, &out, image.width, image.height, image.channels,
                                    image.pixels.data(), quality);
    SEAM_CHECK(ok != 0, "encode_jpeg: stb_image_write failed for a ", image.width, "x", image.height, " image");
    return out;
}

inline void write_png(const std::string& path, const Image& image) { write_file_bytes(path, encode_png(image)); }
inline void write_jpeg(const std::string& path, const Image& image, int quality = 90) {
    write_file_bytes(path, encode_jpeg(image, quality));
}

}  // namespace seam::data
