// seam/data/deepfashion_category.hpp — the DeepFashion Category and Attribute Prediction
// benchmark (DeepFashion-C, 289,222 images) as one checked in-memory dataset, and its writer.
//
//     auto data = seam::data::load_category_attribute("/data/DeepFashion/Category_and_Attribute");
//     for (std::size_t i : data.indices(seam::data::Split::test)) { const auto& image = data.images[i]; ... }
//
// The loader reads, from the benchmark root,
//   Anno/list_category_cloth.txt   50 category names and types (1 upper, 2 lower, 3 full body)
//   Anno/list_attr_cloth.txt       1000 attribute names and types (1 texture .. 5 style)
//   Anno/list_category_img.txt     the image list and each image's category
//   Eval/list_eval_partition.txt   train / val / test
//   Anno/list_attr_img.txt         1000 labels per image                 (LoadOptions::attribute_labels)
//   Anno/list_bbox.txt             one box per image                     (LoadOptions::boxes)
//   Anno/list_landmarks.txt        6/4/8 landmarks per image, 8 slots    (LoadOptions::landmarks)
// and cross-checks them: every file must list exactly the images of list_category_img.txt
// (each once), and a landmark row's clothes_type must equal its category's type. Category
// labels become 0-based; attribute labels stay as in the file (1, -1, and 0 for unknown), so
// the evaluation decides how to treat "unknown".
//
// write_category_attribute() writes the same files in the real layout (see
// deepfashion_list_writers.hpp); SynthFashion uses it, and write -> load gives back an equal dataset.
#pragma once

#include <seam/data/deepfashion_loading.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace seam::data {

/// File names inside the Category-and-Attribute root.
namespace category_attribute_files {
inline constexpr const char* category_cloth = "Anno/list_category_cloth.txt";
inline constexpr const char* category_img = "Anno/list_category_img.txt";
inline constexpr const char* attr_cloth = "Anno/list_attr_cloth.txt";
inline constexpr const char* attr_img = "Anno/list_attr_img.txt";
inline constexpr const char* bbox = "Anno/list_bbox.txt";
inline constexpr const char* landmarks = "Anno/list_landmarks.txt";
inline constexpr const char* eval_partition = "Eval/list_eval_partition.txt";
}  // namespace category_attribute_files

struct ImageRecord {
    std::string path;                     ///< relative to the root: "img/<folder>/img_00000001.jpg"
    int category = -1;                    ///< 0-based index into category_names
    std::vector<std::int8_t> attributes;  ///< one label per attribute: 1, -1, 0 (unknown); empty without labels
    Box box;                              ///< valid when has_boxes
    int clothes_type = 0;                 ///< 1 upper, 2 lower, 3 full body: the category's type
    Landmarks landmarks{};                ///< valid when has_landmarks; slots unused by the type are not present
    Split split = Split::train;
    bool operator==(const ImageRecord&) const = default;
};

struct CategoryAttributeDataset {
    std::vector<std::string> category_names;
    std::vector<int> category_types;  ///< 1..3, one per category
    std::vector<std::string> attribute_names;
    std::vector<int> attribute_types;  ///< 1 texture, 2 fabric, 3 shape, 4 part, 5 style
    std::vector<ImageRecord> images;   ///< in the order of list_category_img.txt
    bool has_attribute_labels = false;
    bool has_boxes = false;
    bool has_landmarks = false;

    /// Indices into `images` of one split, ascending.
    std::vector<std::size_t> indices(Split split) const {
        std::vector<std::size_t> result;
        for (std::size_t i = 0; i < images.size(); ++i)
            if (images[i].split == split) result.push_back(i);
        return result;
    }

    bool operator==(const CategoryAttributeDataset&) const = default;
};

/// Load the benchmark under `root` (the folder that holds Anno/ and Eval/); see the top of
/// this header for the files and the checks. Throws seam::Error naming file and line.
inline CategoryAttributeDataset load_category_attribute(const std::filesystem::path& root,
                                                        const LoadOptions& options = {}) {
    namespace files = category_attribute_files;
    ListOptions list_options;  // whole files: the count line must match (unless turned off)
    list_options.check_count = options.check_counts;
    CategoryAttributeDataset data;

    {
        TextTable table(root / files::category_cloth);
        scan_list_category_cloth(table, list_options, [&](NameTypeEntry& row) {
            data.category_names.push_back(std::move(row.name));
            data.category_types.push_back(row.type);
        });
    }
    {
        TextTable table(root / files::attr_cloth);
        scan_list_attr_cloth(table, list_options, [&](NameTypeEntry& row) {
            data.attribute_names.push_back(std::move(row.name));
            data.attribute_types.push_back(row.type);
        });
    }
    const std::string category_img_name = (root / files::category_img).string();
    {
        TextTable table(root / files::category_img);
        ListOptions with_categories = list_options;
        with_categories.num_categories = static_cast<int>(data.category_names.size());
        scan_list_category_img(table, with_categories, [&](CategoryImageEntry& row) {
            ImageRecord image;
            image.path = std::move(row.image);
            image.category = row.category_label - 1;
            image.clothes_type = data.category_types[static_cast<std::size_t>(image.category)];
            data.images.push_back(std::move(image));
        });
    }

    std::vector<std::string_view> paths;
    paths.reserve(data.images.size());
    for (const auto& image : data.images) paths.push_back(image.path);
    detail::ImageMatcher matcher(std::move(paths), category_img_name, 3);

    {
        TextTable table(root / files::eval_partition);
        std::size_t row_index = 0;
        scan_list_eval_partition(table, list_options, [&](PartitionEntry& row) {
            data.images[static_cast<std::size_t>(matcher.match(table, row_index++, row.image))].split = row.split;
        });
        matcher.expect_all_matched(table);
    }
    if (detail::should_read(root / files::attr_img, options.attribute_labels, "attribute_labels")) {
        TextTable table(root / files::attr_img);
        ListOptions with_attributes = list_options;
        with_attributes.num_attributes = static_cast<int>(data.attribute_names.size());
        if (with_attributes.num_attributes == 0) table.fail_at(1, "list_attr_cloth.txt lists no attributes");
        matcher.start_file();
        std::size_t row_index = 0;
        scan_list_attr_img(table, with_attributes, [&](AttributeLabelsEntry& row) {
            auto& image = data.images[static_cast<std::size_t>(matcher.match(table, row_index++, row.key))];
            image.attributes = std::move(row.labels);
        });
        matcher.expect_all_matched(table);
        data.has_attribute_labels = true;
    }
    if (detail::should_read(root / files::bbox, options.boxes, "boxes")) {
        TextTable table(root / files::bbox);
        matcher.start_file();
        std::size_t row_index = 0;
        scan_list_bbox(table, list_options, [&](BoxEntry& row) {
            data.images[static_cast<std::size_t>(matcher.match(table, row_index++, row.image))].box = row.box;
        });
        matcher.expect_all_matched(table);
        data.has_boxes = true;
    }
    if (detail::should_read(root / files::landmarks, options.landmarks, "landmarks")) {
        TextTable table(root / files::landmarks);
        matcher.start_file();
        std::size_t row_index = 0;
        scan_list_landmarks(table, list_options, [&](LandmarkEntry& row) {
            const int index = matcher.match(table, row_index++, row.image);
            auto& image = data.images[static_cast<std::size_t>(index)];
            // The Liu & Lu loader asserts this on the real data; a mismatch means the files disagree.
            if (row.clothes_type != image.clothes_type)
                table.fail("clothes_type ", row.clothes_type, " disagrees with the category ",
                           quote_token(data.category_names[static_cast<std::size_t>(image.category)]), " (type ",
                           image.clothes_type, ") given on ", category_img_name, ":", 3 + index);
            image.landmarks = row.landmarks;
        });
        matcher.expect_all_matched(table);
        data.has_landmarks = true;
    }
    return data;
}

/// Write `data` under `root` in the real file layout: the four base files always, and
/// list_attr_img / list_bbox / list_landmarks when the dataset has them. Checks the dataset
/// first (indices in range, types consistent, one label per attribute, unique image paths) and
/// throws seam::Error rather than writing files that load_category_attribute would reject.
inline void write_category_attribute(const std::filesystem::path& root, const CategoryAttributeDataset& data) {
    namespace files = category_attribute_files;
    SEAM_CHECK(data.category_names.size() == data.category_types.size(),
               "write_category_attribute: ", data.category_names.size(), " category names but ",
               data.category_types.size(), " category types");
    SEAM_CHECK(data.attribute_names.size() == data.attribute_types.size(),
               "write_category_attribute: ", data.attribute_names.size(), " attribute names but ",
               data.attribute_types.size(), " attribute types");
    SEAM_CHECK(!data.has_attribute_labels || !data.attribute_names.empty(),
               "write_category_attribute: attribute labels need at least one attribute");
    std::unordered_map<std::string_view, std::size_t> first_use;
    for (std::size_t i = 0; i < data.images.size(); ++i) {
        const ImageRecord& image = data.images[i];
        const auto [it, inserted] = first_use.emplace(image.path, i);
        SEAM_CHECK(inserted, "write_category_attribute: images ", it->second, " and ", i, " have the same path ",
                   quote_token(image.path));
        SEAM_CHECK(image.category >= 0 && static_cast<std::size_t>(image.category) < data.category_names.size(),
                   "write_category_attribute: image ", quote_token(image.path), " has category ", image.category,
                   ", not in [0, ", data.category_names.size(), ")");
        const int type = data.category_types[static_cast<std::size_t>(image.category)];
        SEAM_CHECK(image.clothes_type == type, "write_category_attribute: image ", quote_token(image.path),
                   " has clothes_type ", image.clothes_type, " but its category ",
                   quote_token(data.category_names[static_cast<std::size_t>(image.category)]), " has type ", type);
        SEAM_CHECK(!data.has_attribute_labels || image.attributes.size() == data.attribute_names.size(),
                   "write_category_attribute: image ", quote_token(image.path), " has ", image.attributes.size(),
                   " attribute labels, expected ", data.attribute_names.size());
    }

    std::vector<NameTypeEntry> categories, attributes;
    for (std::size_t c = 0; c < data.category_names.size(); ++c)
        categories.push_back({data.category_names[c], data.category_types[c]});
    for (std::size_t a = 0; a < data.attribute_names.size(); ++a)
        attributes.push_back({data.attribute_names[a], data.attribute_types[a]});
    detail::write_text_file(root / files::category_cloth, [&](std::ostream& out) { write_list_category_cloth(out, categories); });
    detail::write_text_file(root / files::attr_cloth, [&](std::ostream& out) { write_list_attr_cloth(out, attributes); });

    std::vector<CategoryImageEntry> category_rows;
    std::vector<PartitionEntry> partition_rows;
    for (const auto& image : data.images) {
        category_rows.push_back({image.path, image.category + 1});
        partition_rows.push_back({image.path, image.split});
    }
    detail::write_text_file(root / files::category_img, [&](std::ostream& out) { write_list_category_img(out, category_rows); });
    detail::write_text_file(root / files::eval_partition, [&](std::ostream& out) { write_list_eval_partition(out, partition_rows); });

    if (data.has_attribute_labels) {
        std::vector<AttributeLabelsEntry> rows;
        for (const auto& image : data.images) rows.push_back({image.path, image.attributes});
        detail::write_text_file(root / files::attr_img, [&](std::ostream& out) { write_list_attr_img(out, rows); });
    }
    if (data.has_boxes) {
        std::vector<BoxEntry> rows;
        for (const auto& image : data.images) rows.push_back({image.path, image.box});
        detail::write_text_file(root / files::bbox, [&](std::ostream& out) { write_list_bbox(out, rows); });
    }
    if (data.has_landmarks) {
        std::vector<LandmarkEntry> rows;
        for (const auto& image : data.images) rows.push_back({image.path, image.clothes_type, 0, image.landmarks});
        detail::write_text_file(root / files::landmarks, [&](std::ostream& out) { write_list_landmarks(out, rows, false); });
    }
}

}  // namespace seam::data
