// seam/data/deepfashion_c2s.hpp — the DeepFashion Consumer-to-shop Clothes Retrieval benchmark
// (DeepFashion-C2S) as one checked dataset, its writer, and the retrieval protocol.
//
//     auto data = seam::data::load_consumer_to_shop("/data/DeepFashion/Consumer-to-shop");
//     auto protocol = seam::data::make_c2s_protocol(data, seam::data::GallerySplits::test);
//
// The loader reads, from the benchmark root,
//   Anno/list_item_consumer2shop.txt       the item ids (count line, then one id a line)
//   Anno/list_bbox_consumer2shop.txt       the image list: clothes type, source, box
//   Eval/list_eval_partition.txt           (consumer image, shop image, item, split) pairs
//   Anno/list_landmarks_consumer2shop.txt  landmarks and variation type   (LoadOptions::landmarks)
//   Anno/list_attr_type.txt, list_attr_cloth.txt, list_attr_items.txt
//                                          303 per-item attributes        (LoadOptions::attribute_labels)
// An image's item is its folder, img/<GROUP>/<Category>/<item id>/<file>; its source type must
// agree with the file name where the name says it ("shop_01.jpg"; consumer images are named
// "comsumer_01.jpg", the dataset's own spelling, and "consumer_" is accepted too). Every pair's
// item must be the item of both images, its first image a consumer image and its second a shop
// image. Landmark rows must cover exactly the images of the bbox list, with the same clothes type.
#pragma once

#include <seam/data/deepfashion_loading.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seam::data {

/// File names inside the Consumer-to-shop root.
namespace consumer_to_shop_files {
inline constexpr const char* item = "Anno/list_item_consumer2shop.txt";
inline constexpr const char* bbox = "Anno/list_bbox_consumer2shop.txt";
inline constexpr const char* landmarks = "Anno/list_landmarks_consumer2shop.txt";
inline constexpr const char* attr_cloth = "Anno/list_attr_cloth.txt";
inline constexpr const char* attr_type = "Anno/list_attr_type.txt";
inline constexpr const char* attr_items = "Anno/list_attr_items.txt";
inline constexpr const char* eval_partition = "Eval/list_eval_partition.txt";
}  // namespace consumer_to_shop_files

struct ConsumerToShopItem {
    std::string id;                       ///< "id_00000218"
    std::vector<std::int8_t> attributes;  ///< 1, -1, 0 per attribute; empty when the item has no attribute row
    bool operator==(const ConsumerToShopItem&) const = default;
};

struct ConsumerToShopImage {
    std::string path;  ///< "img/TOPS/T_Shirt/id_00000218/comsumer_01.jpg"
    int item = -1;     ///< index into items (the image's folder)
    Source source = Source::shop;
    int clothes_type = 0;   ///< 1 upper, 2 lower, 3 full body
    Box box;
    Landmarks landmarks{};  ///< valid when has_landmarks
    int variation = 0;      ///< 1 normal pose .. 5 large zoom-in; 0 when not given
    bool operator==(const ConsumerToShopImage&) const = default;
};

struct ConsumerToShopPair {
    int consumer_image = -1;  ///< index into images
    int shop_image = -1;      ///< index into images
    int item = -1;            ///< index into items
    Split split = Split::train;
    bool operator==(const ConsumerToShopPair&) const = default;
};

struct ConsumerToShopDataset {
    std::vector<ConsumerToShopItem> items;   ///< in the order of list_item_consumer2shop.txt
    std::vector<ConsumerToShopImage> images; ///< in the order of list_bbox_consumer2shop.txt
    std::vector<ConsumerToShopPair> pairs;   ///< in the order of list_eval_partition.txt
    std::vector<BilingualAttributeEntry> attributes;  ///< names and type (1-based row of attribute_types)
    std::vector<BilingualNameEntry> attribute_types;
    bool has_landmarks = false;
    bool has_attributes = false;
    bool operator==(const ConsumerToShopDataset&) const = default;
};

/// The folder an image lies in ("img/TOPS/T_Shirt/id_00000218/shop_01.jpg" -> "id_00000218"),
/// which is its item id; empty when the path has no folder.
inline std::string_view item_folder(std::string_view path) {
    const auto slash = path.rfind('/');
    if (slash == std::string_view::npos || slash == 0) return {};
    const auto previous = path.rfind('/', slash - 1);
    const std::size_t start = previous == std::string_view::npos ? 0 : previous + 1;
    return path.substr(start, slash - start);
}

/// The source a file name implies: "shop_*" a shop image, "comsumer_*" (the dataset's spelling)
/// or "consumer_*" a consumer image; false when the name says neither.
inline bool source_from_file_name(std::string_view path, Source& source) {
    const auto slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    if (name.starts_with("shop")) source = Source::shop;
    else if (name.starts_with("comsumer") || name.starts_with("consumer")) source = Source::consumer;
    else return false;
    return true;
}

inline std::string_view source_name(Source source) { return source == Source::shop ? "shop" : "consumer"; }

/// Load the benchmark under `root`; see the top of this header for the files and the checks.
inline ConsumerToShopDataset load_consumer_to_shop(const std::filesystem::path& root, const LoadOptions& options = {}) {
    namespace files = consumer_to_shop_files;
    ListOptions list_options;  // whole files: the count line must match (unless turned off)
    list_options.check_count = options.check_counts;
    ConsumerToShopDataset data;

    const std::string item_file_name = (root / files::item).string();
    {
        TextTable table(root / files::item);
        scan_list_item_consumer2shop(table, list_options, [&](std::string& id) { data.items.push_back({std::move(id), {}}); });
    }
    std::unordered_map<std::string_view, int> item_index;  // views into data.items, which no longer grows
    for (std::size_t i = 0; i < data.items.size(); ++i) {
        const auto [it, inserted] = item_index.emplace(data.items[i].id, static_cast<int>(i));
        if (!inserted)  // item ids start on line 2: this file has no column-name line
            seam::fail(item_file_name, ":", 2 + i, ": item ", quote_token(data.items[i].id), " is listed twice (also on line ",
                       2 + it->second, ")");
    }
    const auto find_item = [&](std::string_view id) {
        const auto it = item_index.find(id);
        return it == item_index.end() ? -1 : it->second;
    };

    const std::string bbox_file_name = (root / files::bbox).string();
    {
        TextTable table(root / files::bbox);
        scan_list_bbox_consumer2shop(table, list_options, [&](SourcedBoxEntry& row) {
            const std::string_view folder = item_folder(row.image);
            const int item = find_item(folder);
            if (item < 0)
                table.fail("image ", quote_token(row.image), ": its folder ", quote_token(folder), " is not an item of ",
                           item_file_name);
            Source named = Source::shop;
            if (source_from_file_name(row.image, named) && named != row.source)
                table.fail("image ", quote_token(row.image), " is named as a ", source_name(named), " image but has source_type ",
                           static_cast<int>(row.source), " (", source_name(row.source), ")");
            ConsumerToShopImage image;
            image.path = std::move(row.image);
            image.item = item;
            image.source = row.source;
            image.clothes_type = row.clothes_type;
            image.box = row.box;
            data.images.push_back(std::move(image));
        });
    }

    std::vector<std::string_view> paths;
    paths.reserve(data.images.size());
    for (const auto& image : data.images) paths.push_back(image.path);
    detail::ImageMatcher matcher(std::move(paths), bbox_file_name, 3);

    if (detail::should_read(root / files::landmarks, options.landmarks, "landmarks")) {
        TextTable table(root / files::landmarks);
        std::size_t row_index = 0;
        scan_list_landmarks_consumer2shop(table, list_options, [&](LandmarkEntry& row) {
            const int index = matcher.match(table, row_index++, row.image);
            auto& image = data.images[static_cast<std::size_t>(index)];
            if (row.clothes_type != image.clothes_type)
                table.fail("clothes_type ", row.clothes_type, " disagrees with clothes_type ", image.clothes_type,
                           " given on ", bbox_file_name, ":", 3 + index);
            image.landmarks = row.landmarks;
            image.variation = row.variation;
        });
        matcher.expect_all_matched(table);
        data.has_landmarks = true;
    }

    {
        TextTable table(root / files::eval_partition);
        scan_list_eval_partition_consumer2shop(table, list_options, [&](PairEntry& row) {
            ConsumerToShopPair pair;
            pair.consumer_image = matcher.find(row.consumer_image);
            pair.shop_image = matcher.find(row.shop_image);
            pair.item = find_item(row.item_id);
            pair.split = row.split;
            if (pair.consumer_image < 0) table.fail("image ", quote_token(row.consumer_image), " is not in ", bbox_file_name);
            if (pair.shop_image < 0) table.fail("image ", quote_token(row.shop_image), " is not in ", bbox_file_name);
            if (pair.item < 0) table.fail("item ", quote_token(row.item_id), " is not in ", item_file_name);
            const auto& consumer = data.images[static_cast<std::size_t>(pair.consumer_image)];
            const auto& shop = data.images[static_cast<std::size_t>(pair.shop_image)];
            if (consumer.source != Source::consumer)
                table.fail("the first image of a pair must be a consumer image, ", quote_token(row.consumer_image),
                           " is a shop image");
            if (shop.source != Source::shop)
                table.fail("the second image of a pair must be a shop image, ", quote_token(row.shop_image),
                           " is a consumer image");
            if (consumer.item != pair.item || shop.item != pair.item)
                table.fail("item ", quote_token(row.item_id), " differs from the items of its images (",
                           quote_token(data.items[static_cast<std::size_t>(consumer.item)].id), " and ",
                           quote_token(data.items[static_cast<std::size_t>(shop.item)].id), ")");
            data.pairs.push_back(pair);
        });
    }

    if (detail::should_read(root / files::attr_items, options.attribute_labels, "attribute_labels")) {
        {
            TextTable table(root / files::attr_type);
            scan_list_attr_type(table, list_options, [&](BilingualNameEntry& row) { data.attribute_types.push_back(row); });
        }
        {
            TextTable table(root / files::attr_cloth);
            ListOptions with_types = list_options;
            with_types.num_attribute_types = static_cast<int>(data.attribute_types.size());
            if (with_types.num_attribute_types == 0) table.fail_at(1, "list_attr_type.txt lists no attribute types");
            scan_list_attr_cloth_consumer2shop(table, with_types,
                                               [&](BilingualAttributeEntry& row) { data.attributes.push_back(row); });
        }
        TextTable table(root / files::attr_items);
        ListOptions with_attributes = list_options;
        with_attributes.num_attributes = static_cast<int>(data.attributes.size());
        if (with_attributes.num_attributes == 0) table.fail_at(1, "list_attr_cloth.txt lists no attributes");
        std::vector<std::size_t> seen_on_line(data.items.size(), 0);
        scan_list_attr_items(table, with_attributes, [&](AttributeLabelsEntry& row) {
            const int item = find_item(row.key);
            if (item < 0) table.fail("item ", quote_token(row.key), " is not in ", item_file_name);
            std::size_t& seen = seen_on_line[static_cast<std::size_t>(item)];
            if (seen != 0) table.fail("item ", quote_token(row.key), " is listed twice (also on line ", seen, ")");
            seen = table.line_number();
            data.items[static_cast<std::size_t>(item)].attributes = std::move(row.labels);
        });
        data.has_attributes = true;
    }
    return data;
}

/// Write `data` under `root` in the real file layout (items, bbox and partition always;
/// landmarks and the three attribute files when the dataset has them). The landmark file gets
/// the variation column when any image has a variation type (then all must, 1..5). Checks the
/// dataset first and throws seam::Error rather than writing files that load_consumer_to_shop
/// would reject.
inline void write_consumer_to_shop(const std::filesystem::path& root, const ConsumerToShopDataset& data) {
    namespace files = consumer_to_shop_files;
    const auto item_count = static_cast<int>(data.items.size());
    const auto image_count = static_cast<int>(data.images.size());
    std::unordered_map<std::string_view, std::size_t> first_use;
    for (std::size_t i = 0; i < data.images.size(); ++i) {
        const ConsumerToShopImage& image = data.images[i];
        const auto [it, inserted] = first_use.emplace(image.path, i);
        SEAM_CHECK(inserted, "write_consumer_to_shop: images ", it->second, " and ", i, " have the same path ",
                   quote_token(image.path));
        SEAM_CHECK(image.item >= 0 && image.item < item_count, "write_consumer_to_shop: image ", quote_token(image.path),
                   " has item ", image.item, ", not in [0, ", item_count, ")");
        const std::string& id = data.items[static_cast<std::size_t>(image.item)].id;
        SEAM_CHECK(item_folder(image.path) == id, "write_consumer_to_shop: image ", quote_token(image.path),
                   " must lie in the folder of its item ", quote_token(id), " (img/<group>/<category>/<item id>/<file>)");
        Source named = Source::shop;
        SEAM_CHECK(!source_from_file_name(image.path, named) || named == image.source, "write_consumer_to_shop: image ",
                   quote_token(image.path), " is named as a ", source_name(named), " image but has source ",
                   source_name(image.source));
    }
    for (const auto& pair : data.pairs) {
        SEAM_CHECK(pair.consumer_image >= 0 && pair.consumer_image < image_count && pair.shop_image >= 0 &&
                       pair.shop_image < image_count && pair.item >= 0 && pair.item < item_count,
                   "write_consumer_to_shop: pair (", pair.consumer_image, ", ", pair.shop_image, ", item ", pair.item,
                   ") is out of range");
        const auto& consumer = data.images[static_cast<std::size_t>(pair.consumer_image)];
        const auto& shop = data.images[static_cast<std::size_t>(pair.shop_image)];
        SEAM_CHECK(consumer.source == Source::consumer && shop.source == Source::shop,
                   "write_consumer_to_shop: a pair must join a consumer image to a shop image: ", quote_token(consumer.path),
                   " and ", quote_token(shop.path));
        SEAM_CHECK(consumer.item == pair.item && shop.item == pair.item, "write_consumer_to_shop: pair ",
                   quote_token(consumer.path), " / ", quote_token(shop.path), " has item ", pair.item,
                   " but its images belong to items ", consumer.item, " and ", shop.item);
    }

    std::vector<std::string> ids;
    for (const auto& item : data.items) ids.push_back(item.id);
    detail::write_text_file(root / files::item, [&](std::ostream& out) { write_list_item_consumer2shop(out, ids); });

    std::vector<SourcedBoxEntry> boxes;
    for (const auto& image : data.images) boxes.push_back({image.path, image.clothes_type, image.source, image.box});
    detail::write_text_file(root / files::bbox, [&](std::ostream& out) { write_list_bbox_consumer2shop(out, boxes); });

    std::vector<PairEntry> pairs;
    for (const auto& pair : data.pairs)
        pairs.push_back({data.images[static_cast<std::size_t>(pair.consumer_image)].path,
                         data.images[static_cast<std::size_t>(pair.shop_image)].path,
                         data.items[static_cast<std::size_t>(pair.item)].id, pair.split});
    detail::write_text_file(root / files::eval_partition,
                            [&](std::ostream& out) { write_list_eval_partition_consumer2shop(out, pairs); });

    if (data.has_landmarks) {
        const bool with_variation =
            std::any_of(data.images.begin(), data.images.end(), [](const auto& image) { return image.variation != 0; });
        std::vector<LandmarkEntry> rows;
        for (const auto& image : data.images)
            rows.push_back({image.path, image.clothes_type, image.variation, image.landmarks});
        detail::write_text_file(root / files::landmarks,
                                [&](std::ostream& out) { write_list_landmarks(out, rows, with_variation); });
    }
    if (data.has_attributes) {
        for (const auto& attribute : data.attributes)
            SEAM_CHECK(attribute.type >= 1 && static_cast<std::size_t>(attribute.type) <= data.attribute_types.size(),
                       "write_consumer_to_shop: attribute ", quote_token(attribute.english_name), " has type ",
                       attribute.type, ", not in [1, ", data.attribute_types.size(), "]");
        std::vector<AttributeLabelsEntry> rows;
        for (const auto& item : data.items) {
            if (item.attributes.empty()) continue;  // items without labels have no row
            SEAM_CHECK(item.attributes.size() == data.attributes.size(), "write_consumer_to_shop: item ",
                       quote_token(item.id), " has ", item.attributes.size(), " attribute labels, expected ",
                       data.attributes.size());
            rows.push_back({item.id, item.attributes});
        }
        detail::write_text_file(root / files::attr_type,
                                [&](std::ostream& out) { write_list_attr_type(out, data.attribute_types); });
        detail::write_text_file(root / files::attr_cloth,
                                [&](std::ostream& out) { write_list_attr_cloth_consumer2shop(out, data.attributes); });
        detail::write_text_file(root / files::attr_items, [&](std::ostream& out) { write_list_attr_items(out, rows); });
    }
}

// ------------------------------------------------------------------------------------------
// Retrieval protocol

/// Which splits the shop images of the gallery come from.
enum class GallerySplits {
    test,          ///< the official README and the standard practice (GRNet era, seu-graph/clothingRetri)
    val_and_test,  ///< mmfashion's choice (its copy of the README says "val + test")
};

/// Queries, gallery, and for each query the gallery entries of the same item.
struct RetrievalProtocol {
    std::vector<int> queries;              ///< image indices: the consumer images of the test pairs, each once
    std::vector<int> gallery;              ///< image indices: the shop images of the chosen splits, each once
    std::vector<int> query_items;          ///< item of each query
    std::vector<int> gallery_items;        ///< item of each gallery entry
    std::vector<std::vector<int>> relevant;  ///< per query: positions in `gallery` of its item, ascending
};

/// The Consumer-to-shop retrieval protocol. Queries are the consumer images of the test pairs
/// and the gallery the shop images of the chosen splits, each image ONCE, in the order of their
/// first pair. A query is a hit at k when any of its `relevant` gallery entries ranks in the top k.
///
/// Why each image once: the partition has one row per (consumer, shop) pair, so the same shop
/// image appears in many rows. mmfashion's prepare_consumer_to_shop.py writes one gallery line
/// per pair (and uses val+test), so its gallery holds duplicate shop images; the duplicates fill
/// the top-k with copies of one image and inflate its count of relevant entries, which skews its
/// recall@k. The same holds for repeated consumer images on the query side: repeating a query
/// only reweights it. (Test-only gallery: 11,312 unique shop images of 8,471 items, counted from
/// seu-graph/clothingRetri.)
inline RetrievalProtocol make_c2s_protocol(const ConsumerToShopDataset& data, GallerySplits gallery_splits) {
    RetrievalProtocol protocol;
    std::vector<char> is_query(data.images.size(), 0), in_gallery(data.images.size(), 0);
    for (const auto& pair : data.pairs) {
        SEAM_CHECK(pair.consumer_image >= 0 && static_cast<std::size_t>(pair.consumer_image) < data.images.size() &&
                       pair.shop_image >= 0 && static_cast<std::size_t>(pair.shop_image) < data.images.size(),
                   "make_c2s_protocol: pair image index out of range");
        const bool gallery_split =
            pair.split == Split::test || (pair.split == Split::val && gallery_splits == GallerySplits::val_and_test);
        if (pair.split == Split::test && !is_query[static_cast<std::size_t>(pair.consumer_image)]) {
            is_query[static_cast<std::size_t>(pair.consumer_image)] = 1;
            protocol.queries.push_back(pair.consumer_image);
        }
        if (gallery_split && !in_gallery[static_cast<std::size_t>(pair.shop_image)]) {
            in_gallery[static_cast<std::size_t>(pair.shop_image)] = 1;
            protocol.gallery.push_back(pair.shop_image);
        }
    }
    std::unordered_map<int, std::vector<int>> gallery_positions_of_item;
    for (std::size_t g = 0; g < protocol.gallery.size(); ++g) {
        const int item = data.images[static_cast<std::size_t>(protocol.gallery[g])].item;
        protocol.gallery_items.push_back(item);
        gallery_positions_of_item[item].push_back(static_cast<int>(g));
    }
    for (const int query : protocol.queries) {
        const int item = data.images[static_cast<std::size_t>(query)].item;
        protocol.query_items.push_back(item);
        const auto it = gallery_positions_of_item.find(item);
        protocol.relevant.push_back(it == gallery_positions_of_item.end() ? std::vector<int>{} : it->second);
    }
    return protocol;
}

}  // namespace seam::data
