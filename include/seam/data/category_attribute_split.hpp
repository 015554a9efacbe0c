// seam/data/category_attribute_split.hpp — one split of a DeepFashion-C root, decoded once and kept
// in memory at network size, and the training/evaluation batches made from it.
//
//   auto dataset = data::load_category_attribute(root);
//   data::CategoryAttributeSplit train = data::prepare_split(root, dataset, data::Split::train, {.size = 64});
//   data::CategoryAttributeBatch<float> b = train.batch(indices, /*augment=*/true, seed, epoch);
//
// Each image is cropped to its box grown by `margin` pixels, stretched to size x size (the public
// code's BBOXRESIZE, model-specs §0) with its landmarks moved along (points that leave the crop
// become truncated), and stored as bytes (SynthFashion's 3000 images at 64 px: 37 MB; the real
// DeepFashion-C's 289,222 would need 3.5 GB, so `limit` takes the first N of a split).
//
// A batch holds what every Table 2 model needs: images normalised with the ImageNet statistics
// [N, 3, S, S]; landmarks [N, 8, 2] as (x, y) normalised to [0, 1] of the input — pixel centre
// px maps to (px + 0.5) / S, the convention of seam/ops/landmark_pool.hpp — with 0 where a point
// is not visible; visible [N, 8] (1 only for a present, visible point); categories [N] (0-based);
// attributes [N, A] (1 for label 1; -1 and 0 are negatives, as in the evaluation). With
// `augment`, an image is mirrored (landmarks and their left/right slots too) with probability
// 1/2, drawn from (seed, epoch, image), so a batch never depends on the thread count.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/core/rng.hpp"
#include "seam/core/tensor.hpp"
#include "seam/cpu/parallel.hpp"
#include "seam/data/deepfashion.hpp"
#include "seam/data/image.hpp"
#include "seam/data/transforms.hpp"

namespace seam::data {

struct PrepareOptions {
    int size = 64;     // network input: size x size pixels
    int margin = 4;    // pixels added around the box before cropping
    size_t limit = 0;  // keep only the first N images of the split (0: all)
};

template <class T>
struct CategoryAttributeBatch {
    Tensor<T> images;            // [N, 3, S, S]
    Tensor<T> landmarks;         // [N, 8, 2]
    Tensor<T> visible;           // [N, 8]
    Tensor<int64_t> categories;  // [N]
    Tensor<T> attributes;        // [N, A]
    std::vector<size_t> rows;    // the split rows the batch holds, in order
};

struct CategoryAttributeSplit {
    int size = 0;
    size_t attribute_count = 0;
    std::vector<LabeledImage> images;  // size x size x 3, landmarks in its pixels
    std::vector<int> categories;       // 0-based
    std::vector<int8_t> attributes;    // count x attribute_count, as in the file (1, -1, 0)
    std::vector<size_t> dataset_index; // row -> index into CategoryAttributeDataset::images
    size_t count() const { return images.size(); }

    /// How many images of the split have label 1 for each attribute (for the loss weights).
    std::vector<int64_t> attribute_positives() const {
        std::vector<int64_t> positives(attribute_count, 0);
        for (size_t i = 0; i < count(); ++i)
            for (size_t a = 0; a < attribute_count; ++a) positives[a] += attributes[i * attribute_count + a] == 1;
        return positives;
    }

    template <class T = float>
    CategoryAttributeBatch<T> batch(const std::vector<size_t>& rows, bool augment = false, uint64_t seed = 0,
                                    int64_t epoch = 0) const {
        const int64_t n = static_cast<int64_t>(rows.size()), s = size, a = static_cast<int64_t>(attribute_count);
        const int64_t L = static_cast<int64_t>(kLandmarkSlots);
        CategoryAttributeBatch<T> b{empty<T>({n, 3, s, s}), zeros<T>({n, L, 2}), zeros<T>({n, L}), empty<int64_t>({n}),
                                    empty<T>({n, a}), rows};
        std::vector<float> chw(static_cast<size_t>(3 * s * s));
        for (int64_t i = 0; i < n; ++i) {
            const size_t row = rows[static_cast<size_t>(i)];
            SEAM_CHECK(row < count(), "CategoryAttributeSplit::batch: row ", row, " is outside the split of ", count());
            const bool flip = augment && (philox4x32(row, static_cast<uint64_t>(epoch), seed).v[0] & 1u) != 0;
            const LabeledImage& source = images[row];
            const LabeledImage flipped = flip ? hflip(source) : LabeledImage{};
            const LabeledImage& img = flip ? flipped : source;
            normalize_to_chw(img.image, chw.data());
            T* dst = b.images.data() + i * 3 * s * s;
            for (size_t k = 0; k < chw.size(); ++k) dst[k] = static_cast<T>(chw[k]);
            for (int64_t l = 0; l < L; ++l) {
                const Landmark& p = img.landmarks[static_cast<size_t>(l)];
                if (!p.visible()) continue;
                b.landmarks.data()[(i * L + l) * 2] = static_cast<T>((p.x + 0.5f) / static_cast<float>(s));
                b.landmarks.data()[(i * L + l) * 2 + 1] = static_cast<T>((p.y + 0.5f) / static_cast<float>(s));
                b.visible.data()[i * L + l] = T(1);
            }
            b.categories.data()[i] = categories[row];
            for (int64_t k = 0; k < a; ++k)
                b.attributes.data()[i * a + k] = attributes[row * attribute_count + static_cast<size_t>(k)] == 1 ? T(1) : T(0);
        }
        return b;
    }
};

/// Decodes, crops and resizes one split (in parallel over images; the result does not depend on
/// the thread count). Errors name the image file.
inline CategoryAttributeSplit prepare_split(const std::filesystem::path& root, const CategoryAttributeDataset& dataset,
                                            Split split, const PrepareOptions& options = {}) {
    SEAM_CHECK(options.size >= 8 && options.margin >= 0, "prepare_split: size must be >= 8 and margin >= 0");
    SEAM_CHECK(dataset.has_boxes, "prepare_split: the dataset was loaded without boxes (Anno/list_bbox.txt)");
    SEAM_CHECK(dataset.has_attribute_labels, "prepare_split: the dataset was loaded without attribute labels");
    CategoryAttributeSplit out;
    out.size = options.size;
    out.attribute_count = dataset.attribute_names.size();
    out.dataset_index = dataset.indices(split);
    if (options.limit > 0 && out.dataset_index.size() > options.limit) out.dataset_index.resize(options.limit);
    const size_t n = out.dataset_index.size();
    out.images.resize(n);
    out.categories.resize(n);
    out.attributes.resize(n * out.attribute_count);
    std::vector<std::string> errors(n);
    parallel_for(0, static_cast<int64_t>(n), 1, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
            const ImageRecord& record = dataset.images[out.dataset_index[static_cast<size_t>(i)]];
            try {
                SEAM_CHECK(record.attributes.size() == out.attribute_count, record.path, " has ",
                           record.attributes.size(), " attribute labels, expected ", out.attribute_count);
                LabeledImage full{read_image((root / record.path).string(), 3), record.landmarks};
                out.images[static_cast<size_t>(i)] =
                    crop_and_resize(full, record.box, options.margin, options.size, options.size);
                out.categories[static_cast<size_t>(i)] = record.category;
                std::copy(record.attributes.begin(), record.attributes.end(),
                          out.attributes.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(i) * out.attribute_count));
            } catch (const std::exception& e) {
                errors[static_cast<size_t>(i)] = e.what();  // reported after the loop: no throw across threads
            }
        }
    });
    for (const std::string& e : errors) SEAM_CHECK(e.empty(), "prepare_split(", root.string(), "): ", e);
    return out;
}

}  // namespace seam::data
