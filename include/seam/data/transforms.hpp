// seam/data/transforms.hpp — the image transforms of the data pipeline, each applied to the image
// and its landmarks together: box crop with margin, bilinear resize (stretched or letterboxed),
// horizontal flip with left/right landmark swap, per-channel normalisation to CHW floats, and
// Gaussian heatmap targets.
//
// Why image and landmarks travel together: a transform that moves pixels but not the landmarks is
// the classic silent bug of landmark pipelines (mmfashion's test-time RandomResizedCrop, see
// ref/deepfashion.md §1.1). Every geometric function here takes a LabeledImage and returns one.
//
// Pixel-centre convention (used by every function here and by SynthFashion):
//   the coordinate (x, y) is the CENTRE of pixel column x, row y; pixel x covers [x - 0.5, x + 0.5).
//   An image of width W spans [-0.5, W - 0.5); a landmark is inside it when it falls on one of its
//   pixels, -0.5 <= x < W - 0.5 (integer landmarks: 0 <= x <= W - 1).
//   - crop at column x1:      x' = x - x1
//   - horizontal flip:        x' = W - 1 - x
//   - resize W -> W':         x' = (x + 0.5) * W' / W - 0.5     (half-pixel centres, as OpenCV's
//                                                               INTER_LINEAR and PyTorch's
//                                                               align_corners=False)
// Boxes (seam::data::Box, the readers' type) are read as half-open pixel ranges [x1, x2) ×
// [y1, y2), as PIL's crop (which mmfashion uses): the box holds x2 - x1 columns. Fractional edges
// are rounded outwards.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/core/rng.hpp"
#include "seam/data/image.hpp"
#include "seam/data/deepfashion_common.hpp"  // Landmark, Landmarks, Box, visibility codes

namespace seam::data {

/// A half-open integer pixel region [x1, x2) × [y1, y2): what a crop actually cuts.
struct PixelBox {
    int x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    int width() const { return x2 - x1; }
    int height() const { return y2 - y1; }
    bool operator==(const PixelBox&) const = default;
};

/// An image with its 8 canonical landmark slots, in that image's pixel coordinates.
struct LabeledImage {
    Image image;
    Landmarks landmarks{};
};

/// The slot pairs a horizontal flip exchanges: (Lcollar, Rcollar), (Lsleeve, Rsleeve),
/// (Lwaist, Rwaist), (Lhem, Rhem).
inline constexpr std::array<std::pair<int, int>, 4> kLandmarkFlipPairs{{{0, 1}, {2, 3}, {4, 5}, {6, 7}}};

/// ImageNet statistics (torchvision), used by every backbone of the survey.
inline constexpr std::array<float, 3> kImageNetMean{0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> kImageNetStd{0.229f, 0.224f, 0.225f};

// ---------------------------------------------------------------------------------------------
// Landmark bookkeeping

/// Marks every present landmark that falls on no pixel of a width × height image (see the
/// pixel-centre convention above) as truncated (2), as the dataset does for points cut off by the
/// frame. Coordinates are kept (not clamped), so the transform stays invertible; visibility tells
/// the losses to ignore them.
inline void mark_truncated(Landmarks& landmarks, int width, int height) {
    for (Landmark& point : landmarks) {
        if (!point.present) continue;
        bool inside = point.x >= -0.5f && point.x < static_cast<float>(width) - 0.5f && point.y >= -0.5f &&
                      point.y < static_cast<float>(height) - 0.5f;
        if (!inside) point.visibility = kTruncated;
    }
}

// ---------------------------------------------------------------------------------------------
// Crop

/// The pixel region of `box` grown by `margin` pixels on every side and clamped to a width ×
/// height image. seam::Error when the box is empty or nothing of it is inside the image.
inline PixelBox expand_and_clamp(const Box& box, int margin, int width, int height) {
    SEAM_CHECK(std::isfinite(box.x1) && std::isfinite(box.y1) && std::isfinite(box.x2) && std::isfinite(box.y2) &&
                   box.x1 < box.x2 && box.y1 < box.y2,
               "crop: empty or invalid box [", box.x1, ", ", box.y1, ", ", box.x2, ", ", box.y2, ")");
    // Clamp in float first: a huge coordinate must not overflow the int conversion.
    auto clamp_to = [](float v, int hi) { return static_cast<int>(std::clamp(v, -1.0f, static_cast<float>(hi) + 1.0f)); };
    PixelBox out{std::max(0, clamp_to(std::floor(box.x1), width) - margin),
                 std::max(0, clamp_to(std::floor(box.y1), height) - margin),
                 std::min(width, clamp_to(std::ceil(box.x2), width) + margin),
                 std::min(height, clamp_to(std::ceil(box.y2), height) + margin)};
    SEAM_CHECK(out.x1 < out.x2 && out.y1 < out.y2, "crop: box [", box.x1, ", ", box.y1, ", ", box.x2, ", ", box.y2,
               ") with margin ", margin, " lies outside the ", width, "x", height, " image");
    return out;
}

/// The pixels of `box` (which must lie inside the image).
inline Image crop_image(const Image& image, PixelBox box) {
    SEAM_CHECK(box.x1 >= 0 && box.y1 >= 0 && box.x2 <= image.width && box.y2 <= image.height && box.x1 < box.x2 &&
                   box.y1 < box.y2,
               "crop_image: box [", box.x1, ", ", box.y1, ", ", box.x2, ", ", box.y2, ") is not inside the ",
               image.width, "x", image.height, " image");
    Image out(box.width(), box.height(), image.channels);
    size_t row_bytes = static_cast<size_t>(box.width()) * static_cast<size_t>(image.channels);
    for (int y = 0; y < box.height(); ++y)
        std::copy_n(image.pixels.begin() + static_cast<std::ptrdiff_t>(image.index(box.x1, box.y1 + y)), row_bytes,
                    out.pixels.begin() + static_cast<std::ptrdiff_t>(out.index(0, y)));
    return out;
}

/// Crops `box` grown by `margin` (clamped to the image) and moves the landmarks with it; those
/// that leave the crop become truncated.
inline LabeledImage crop(const LabeledImage& input, const Box& box, int margin = 0) {
    PixelBox region = expand_and_clamp(box, margin, input.image.width, input.image.height);
    LabeledImage out{crop_image(input.image, region), input.landmarks};
    for (Landmark& point : out.landmarks) {
        if (!point.present) continue;
        point.x -= static_cast<float>(region.x1);
        point.y -= static_cast<float>(region.y1);
    }
    mark_truncated(out.landmarks, region.width(), region.height());
    return out;
}

// ---------------------------------------------------------------------------------------------
// Resize

/// Bilinear resampling to out_width × out_height with half-pixel centres (no antialiasing: shrink
/// by more than 2x and thin lines alias, as with OpenCV's INTER_LINEAR). Values round to nearest.
inline Image resize_image(const Image& image, int out_width, int out_height) {
    SEAM_CHECK(!image.empty(), "resize: empty input image");
    SEAM_CHECK(out_width > 0 && out_height > 0, "resize: bad output size ", out_width, "x", out_height);
    Image out(out_width, out_height, image.channels);
    const float scale_x = static_cast<float>(image.width) / static_cast<float>(out_width);
    const float scale_y = static_cast<float>(image.height) / static_cast<float>(out_height);
    // Source column pairs and weights are the same for every row: compute them once.
    std::vector<int> left(static_cast<size_t>(out_width)), right(static_cast<size_t>(out_width));
    std::vector<float> weight_right(static_cast<size_t>(out_width));
    for (int x = 0; x < out_width; ++x) {
        float sx = std::clamp((static_cast<float>(x) + 0.5f) * scale_x - 0.5f, 0.0f,
                              static_cast<float>(image.width - 1));
        int x0 = static_cast<int>(sx);
        left[static_cast<size_t>(x)] = x0;
        right[static_cast<size_t>(x)] = std::min(x0 + 1, image.width - 1);
        weight_right[static_cast<size_t>(x)] = sx - static_cast<float>(x0);
    }
    for (int y = 0; y < out_height; ++y) {
        float sy = std::clamp((static_cast<float>(y) + 0.5f) * scale_y - 0.5f, 0.0f,
                              static_cast<float>(image.height - 1));
        int y0 = static_cast<int>(sy);
        int y1 = std::min(y0 + 1, image.height - 1);
        float wy = sy - static_cast<float>(y0);
        for (int x = 0; x < out_width; ++x) {
            int x0 = left[static_cast<size_t>(x)], x1 = right[static_cast<size_t>(x)];
            float wx = weight_right[static_cast<size_t>(x)];
            for (int c = 0; c < image.channels; ++c) {
                float top = (1.0f - wx) * image.at(x0, y0, c) + wx * image.at(x1, y0, c);
                float bottom = (1.0f - wx) * image.at(x0, y1, c) + wx * image.at(x1, y1, c);
                float value = (1.0f - wy) * top + wy * bottom;
                out.at(x, y, c) = static_cast<uint8_t>(std::clamp(value + 0.5f, 0.0f, 255.0f));
            }
        }
    }
    return out;
}

/// How resize treats a change of aspect ratio.
enum class AspectMode {
    stretch,    // fill the output exactly, distorting the aspect (Liu & Lu's BBOXRESIZE)
    letterbox,  // scale by the smaller factor, centre, pad the rest with pad_value
};

/// Resizes the image to out_width × out_height and maps the landmarks with it (pixel-centre
/// convention: x' = (x + 0.5) · s - 0.5 + offset).
inline LabeledImage resize(const LabeledImage& input, int out_width, int out_height,
                           AspectMode mode = AspectMode::stretch, uint8_t pad_value = 0) {
    const Image& image = input.image;
    SEAM_CHECK(!image.empty(), "resize: empty input image");
    int inner_width = out_width, inner_height = out_height, offset_x = 0, offset_y = 0;
    if (mode == AspectMode::letterbox) {
        double scale = std::min(static_cast<double>(out_width) / image.width,
                                static_cast<double>(out_height) / image.height);
        inner_width = std::clamp(static_cast<int>(std::lround(image.width * scale)), 1, out_width);
        inner_height = std::clamp(static_cast<int>(std::lround(image.height * scale)), 1, out_height);
        offset_x = (out_width - inner_width) / 2;
        offset_y = (out_height - inner_height) / 2;
    }
    Image inner = resize_image(image, inner_width, inner_height);
    LabeledImage out{Image(out_width, out_height, image.channels, pad_value), input.landmarks};
    if (mode == AspectMode::stretch) {
        out.image = std::move(inner);
    } else {
        for (int y = 0; y < inner_height; ++y)
            std::copy_n(inner.pixels.begin() + static_cast<std::ptrdiff_t>(inner.index(0, y)),
                        static_cast<size_t>(inner_width) * static_cast<size_t>(image.channels),
                        out.image.pixels.begin() + static_cast<std::ptrdiff_t>(out.image.index(offset_x, offset_y + y)));
    }
    const float scale_x = static_cast<float>(inner_width) / static_cast<float>(image.width);
    const float scale_y = static_cast<float>(inner_height) / static_cast<float>(image.height);
    for (Landmark& point : out.landmarks) {
        if (!point.present) continue;
        point.x = (point.x + 0.5f) * scale_x - 0.5f + static_cast<float>(offset_x);
        point.y = (point.y + 0.5f) * scale_y - 0.5f + static_cast<float>(offset_y);
    }
    // A landmark inside the input stays inside the output; one already truncated stays truncated.
    mark_truncated(out.landmarks, out_width, out_height);
    return out;
}

/// The usual test-time path: crop the box with a margin, then resize (deterministic).
inline LabeledImage crop_and_resize(const LabeledImage& input, const Box& box, int margin, int out_width,
                                    int out_height, AspectMode mode = AspectMode::stretch) {
    return resize(crop(input, box, margin), out_width, out_height, mode);
}

// ---------------------------------------------------------------------------------------------
// Flip

/// Mirror image: pixel column x goes to W - 1 - x.
inline Image hflip_image(const Image& image) {
    Image out(image.width, image.height, image.channels);
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
            for (int c = 0; c < image.channels; ++c) out.at(image.width - 1 - x, y, c) = image.at(x, y, c);
    return out;
}

/// Horizontal flip of image and landmarks: x' = W - 1 - x, and the left and right slots are
/// exchanged (after mirroring, the left collar is where the right one was).
inline LabeledImage hflip(const LabeledImage& input) {
    LabeledImage out{hflip_image(input.image), input.landmarks};
    const float last_column = static_cast<float>(input.image.width - 1);
    for (Landmark& point : out.landmarks)
        if (point.present) point.x = last_column - point.x;
    for (auto [left, right] : kLandmarkFlipPairs)
        std::swap(out.landmarks[static_cast<size_t>(left)], out.landmarks[static_cast<size_t>(right)]);
    return out;
}

/// Training augmentation: flip with probability p (one draw from the generator, always made, so
/// the generator's position does not depend on the outcome).
inline LabeledImage random_hflip(const LabeledImage& input, Generator& rng, double p = 0.5) {
    return rng.uniform() < p ? hflip(input) : input;
}

// ---------------------------------------------------------------------------------------------
// Normalisation

/// HWC uint8 -> CHW float: out[c][y][x] = (pixel / 255 - mean[c]) / std[c]. `out` holds
/// channels × height × width floats (the image must have 3 channels, or 1 with mean/std[0]).
inline void normalize_to_chw(const Image& image, float* out, const std::array<float, 3>& mean = kImageNetMean,
                             const std::array<float, 3>& std_dev = kImageNetStd) {
    SEAM_CHECK(image.channels == 1 || image.channels == 3, "normalize_to_chw: expects 1 or 3 channels, got ",
               image.channels);
    const size_t plane = static_cast<size_t>(image.width) * static_cast<size_t>(image.height);
    for (int c = 0; c < image.channels; ++c) {
        SEAM_CHECK(std_dev[static_cast<size_t>(c)] > 0.0f, "normalize_to_chw: std of channel ", c, " must be > 0");
        const float scale = 1.0f / (255.0f * std_dev[static_cast<size_t>(c)]);
        const float shift = mean[static_cast<size_t>(c)] / std_dev[static_cast<size_t>(c)];
        float* dst = out + static_cast<size_t>(c) * plane;
        for (size_t i = 0; i < plane; ++i)
            dst[i] = static_cast<float>(image.pixels[i * static_cast<size_t>(image.channels) + static_cast<size_t>(c)]) *
                         scale -
                     shift;
    }
}
inline std::vector<float> normalize_to_chw(const Image& image, const std::array<float, 3>& mean = kImageNetMean,
                                           const std::array<float, 3>& std_dev = kImageNetStd) {
    std::vector<float> out(image.pixels.size());
    normalize_to_chw(image, out.data(), mean, std_dev);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Heatmaps

/// Gaussian heatmap targets, 8 × map_height × map_width floats (slot-major), for landmarks given
/// in an image_width × image_height image. Slot k peaks at the landmark mapped to the map grid
/// with the pixel-centre convention, value exp(-d² / (2 sigma²)) with d in map pixels (1.0 when
/// the landmark falls on a map pixel centre). Slots that are absent, truncated, or occluded (unless
/// include_occluded) are all zero: there is nothing to regress to.
inline void landmark_heatmaps(const Landmarks& landmarks, int image_width, int image_height, int map_width,
                              int map_height, float sigma, float* out, bool include_occluded = false) {
    SEAM_CHECK(image_width > 0 && image_height > 0 && map_width > 0 && map_height > 0,
               "landmark_heatmaps: bad sizes, image ", image_width, "x", image_height, ", map ", map_width, "x",
               map_height);
    SEAM_CHECK(sigma > 0.0f, "landmark_heatmaps: sigma must be > 0, got ", sigma);
    const size_t plane = static_cast<size_t>(map_width) * static_cast<size_t>(map_height);
    const float scale_x = static_cast<float>(map_width) / static_cast<float>(image_width);
    const float scale_y = static_cast<float>(map_height) / static_cast<float>(image_height);
    const float inv_two_sigma2 = 1.0f / (2.0f * sigma * sigma);
    for (size_t slot = 0; slot < landmarks.size(); ++slot) {
        float* map = out + slot * plane;
        std::fill(map, map + plane, 0.0f);
        const Landmark& point = landmarks[slot];
        bool wanted = point.present && (point.visibility == kVisible ||
                                        (include_occluded && point.visibility == kOccluded));
        if (!wanted) continue;
        const float cx = (point.x + 0.5f) * scale_x - 0.5f;
        const float cy = (point.y + 0.5f) * scale_y - 0.5f;
        for (int y = 0; y < map_height; ++y) {
            const float dy = static_cast<float>(y) - cy;
            for (int x = 0; x < map_width; ++x) {
                const float dx = static_cast<float>(x) - cx;
                map[static_cast<size_t>(y) * static_cast<size_t>(map_width) + static_cast<size_t>(x)] =
                    std::exp(-(dx * dx + dy * dy) * inv_two_sigma2);
            }
        }
    }
}
inline std::vector<float> landmark_heatmaps(const Landmarks& landmarks, int image_width, int image_height,
                                            int map_width, int map_height, float sigma,
                                            bool include_occluded = false) {
    std::vector<float> out(landmarks.size() * static_cast<size_t>(map_width) * static_cast<size_t>(map_height));
    landmark_heatmaps(landmarks, image_width, image_height, map_width, map_height, sigma, out.data(),
                      include_occluded);
    return out;
}

/// The peak of one map_width × map_height heatmap, mapped back to image pixel coordinates (the
/// inverse of landmark_heatmaps' mapping). Ties go to the first maximum in row-major order.
struct HeatmapPeak {
    float x = 0, y = 0, value = 0;
};
inline HeatmapPeak heatmap_peak(const float* map, int map_width, int map_height, int image_width, int image_height) {
    SEAM_CHECK(map_width > 0 && map_height > 0, "heatmap_peak: bad map size ", map_width, "x", map_height);
    size_t best = 0;
    const size_t plane = static_cast<size_t>(map_width) * static_cast<size_t>(map_height);
    for (size_t i = 1; i < plane; ++i)
        if (map[i] > map[best]) best = i;
    const float mx = static_cast<float>(best % static_cast<size_t>(map_width));
    const float my = static_cast<float>(best / static_cast<size_t>(map_width));
    return {(mx + 0.5f) * static_cast<float>(image_width) / static_cast<float>(map_width) - 0.5f,
            (my + 0.5f) * static_cast<float>(image_height) / static_cast<float>(map_height) - 0.5f, map[best]};
}

}  // namespace seam::data
