// libFuzzer target: seam::data::decode_image (stb_image, JPEG and PNG) on arbitrary bytes.
//
// The first input byte picks a mode, the rest is the payload:
//   0  the payload as a file
//   1  the payload after a PNG signature and an IHDR chunk header (reaches the chunk parser and
//      inflate without having to discover the 16 magic bytes first)
//   2  the payload after a JPEG SOI marker (reaches the marker parser and the Huffman decoder)
//   3  a round trip: the payload as pixels of a small image -> encode_png -> decode must give the
//      same pixels back; -> encode_jpeg -> decode must give the same size
// Properties: decoding either throws seam::Error or returns width × height × channels bytes with
// positive sizes; nothing else may happen (crash, sanitizer report, other exception).
#include <seam/data/image.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define SEAM_FUZZ_ASSERT(condition)                                                                  \
    do {                                                                                             \
        if (!(condition)) {                                                                          \
            std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
            std::abort();                                                                            \
        }                                                                                            \
    } while (0)

namespace {

using seam::data::Image;

// Small enough that a corrupt header claiming a huge image is refused quickly (the default cap
// is larger; the code path is the same).
constexpr size_t kFuzzMaxPixels = size_t(1) << 22;

void check_decode(const std::vector<uint8_t>& bytes, int channels) {
    try {
        Image image = seam::data::decode_image(bytes, "fuzz", channels, kFuzzMaxPixels);
        SEAM_FUZZ_ASSERT(image.width > 0 && image.height > 0 && image.channels == channels);
        SEAM_FUZZ_ASSERT(image.pixels.size() ==
                         static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * static_cast<size_t>(channels));
    } catch (const seam::Error&) {
        // rejected with a message: fine
    }
}

void check_round_trip(const uint8_t* data, size_t size) {
    if (size < 3) return;
    const int width = 1 + data[0] % 32, height = 1 + data[1] % 32;
    const int channels = (data[2] % 2 == 0) ? 3 : 1;
    Image image(width, height, channels);
    for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = size > 3 ? data[3 + i % (size - 3)] : 0;
    Image png = seam::data::decode_image(seam::data::encode_png(image), "round-trip.png", channels);
    SEAM_FUZZ_ASSERT(png.width == width && png.height == height && png.pixels == image.pixels);
    Image jpeg = seam::data::decode_image(seam::data::encode_jpeg(image, 1 + data[2] % 100), "round-trip.jpg", 3);
    SEAM_FUZZ_ASSERT(jpeg.width == width && jpeg.height == height);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0] & 3;
    const int channels = (data[0] >> 2) % 3 == 0 ? 3 : ((data[0] >> 2) % 3 == 1 ? 1 : 4);
    const uint8_t* payload = data + 1;
    const size_t payload_size = size - 1;
    std::vector<uint8_t> bytes;
    switch (mode) {
        case 0:
            bytes.assign(payload, payload + payload_size);
            break;
        case 1:
            bytes = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
            bytes.insert(bytes.end(), payload, payload + payload_size);
            break;
        case 2:
            bytes = {0xFF, 0xD8};
            bytes.insert(bytes.end(), payload, payload + payload_size);
            break;
        default:
            check_round_trip(payload, payload_size);
            return 0;
    }
    check_decode(bytes, channels);
    return 0;
}
