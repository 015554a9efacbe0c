// seam/data/deepfashion_lists.hpp — readers for each DeepFashion annotation list file on its own.
//
// Every DeepFashion-1 list file has the row count on line 1, the column names on line 2 and the
// data from line 3 on (list_item_consumer2shop.txt has no column-name line). Fields are
// separated by runs of spaces; integers may be zero-padded ("072"); attribute names contain
// spaces; landmark rows have 6, 4 or 8 (visibility, x, y) triplets by clothes type, with a
// variation column in Consumer-to-shop and none in Category-and-Attribute; one C2S file starts
// with a UTF-8 BOM and uses CRLF. /shared/ref/deepfashion.md §2 has the evidence for each rule.
//
// For each file there is a scanner and two conveniences:
//   scan_list_bbox(table, options, on_row)   calls on_row(BoxEntry&) for every data row;
//                                             the dataset loaders use it to merge files
//                                             without copies and with line numbers in errors;
//   parse_list_bbox(table, options)           collects the rows (for a buffer or a fragment);
//   read_list_bbox(path, options)             the same for a file.
// Each row is checked as it is read: the token count, every number and its range. The row
// count on line 1 must equal the number of data rows unless ListOptions::check_count is off
// (for fragments: the first lines of a real file keep the original count). Every problem is a
// seam::Error "file:line: what is wrong".
//
// The matching writers are in deepfashion_list_writers.hpp; the whole-dataset loaders that
// cross-check the files are in deepfashion_category.hpp and deepfashion_c2s.hpp.
#pragma once

#include <seam/data/deepfashion_common.hpp>
#include <seam/data/text_table.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace seam::data {

struct ListOptions {
    /// Require the count on line 1 to equal the number of data rows. Turn off only for
    /// fragments; the declared count is returned either way.
    bool check_count = true;
    /// list_category_img: labels must be in [1, num_categories] (0: unknown, only >= 1 checked).
    int num_categories = 0;
    /// list_attr_img / list_attr_items: labels per row (0: taken from the first data row).
    int num_attributes = 0;
    /// C2S list_attr_cloth: types must be in [1, num_attribute_types] (0: unknown, only >= 1).
    int num_attribute_types = 0;
};

/// The rows of one list file, plus the count its line 1 declares.
template <class Entry>
struct ListFile {
    std::int64_t declared_count = 0;
    std::vector<Entry> rows;
};

/// list_category_cloth.txt and the Category-and-Attribute list_attr_cloth.txt: a name (which
/// may contain single spaces, "abstract chevron print") and a type, the last token.
struct NameTypeEntry {
    std::string name;
    int type = 0;
    bool operator==(const NameTypeEntry&) const = default;
};

/// list_category_img.txt: an image and its 1-based category label (row of list_category_cloth).
struct CategoryImageEntry {
    std::string image;
    int category_label = 0;
    bool operator==(const CategoryImageEntry&) const = default;
};

/// list_attr_img.txt (key = image name) and list_attr_items.txt (key = item id): one label per
/// attribute, 1 positive, -1 negative, 0 unknown.
struct AttributeLabelsEntry {
    std::string key;
    std::vector<std::int8_t> labels;
    bool operator==(const AttributeLabelsEntry&) const = default;
};

/// list_bbox.txt.
struct BoxEntry {
    std::string image;
    Box box;
    bool operator==(const BoxEntry&) const = default;
};

/// list_landmarks.txt and list_landmarks_consumer2shop.txt, landmarks placed in the 8 slots.
struct LandmarkEntry {
    std::string image;
    int clothes_type = 0;
    int variation = 0;  ///< 1..5; 0 when the file has no variation column
    Landmarks landmarks{};
    bool operator==(const LandmarkEntry&) const = default;
};

/// Category-and-Attribute Eval/list_eval_partition.txt.
struct PartitionEntry {
    std::string image;
    Split split = Split::train;
    bool operator==(const PartitionEntry&) const = default;
};

/// Consumer-to-shop source_type: 1 shop image, 2 consumer image.
enum class Source : std::uint8_t { shop = 1, consumer = 2 };

/// list_bbox_consumer2shop.txt.
struct SourcedBoxEntry {
    std::string image;
    int clothes_type = 0;
    Source source = Source::shop;
    Box box;
    bool operator==(const SourcedBoxEntry&) const = default;
};

/// C2S list_attr_cloth.txt: Chinese name (one token), English name (may contain spaces), type.
struct BilingualAttributeEntry {
    std::string chinese_name;
    std::string english_name;
    int type = 0;
    bool operator==(const BilingualAttributeEntry&) const = default;
};

/// C2S list_attr_type.txt: attribute type k is data row k; there is no id column.
struct BilingualNameEntry {
    std::string chinese_name;
    std::string english_name;
    bool operator==(const BilingualNameEntry&) const = default;
};

/// C2S Eval/list_eval_partition.txt: one (consumer image, shop image) pair of one item.
struct PairEntry {
    std::string consumer_image;
    std::string shop_image;
    std::string item_id;
    Split split = Split::train;
    bool operator==(const PairEntry&) const = default;
};

/// A name the list files can hold: non-empty, no control characters (tabs and line breaks
/// included), no leading or trailing space. Inner spaces are kept as they are.
inline bool is_valid_list_name(std::string_view name) {
    if (name.empty() || name.front() == ' ' || name.back() == ' ') return false;
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) return false;
    }
    return true;
}

/// A single field (image name, item id, Chinese name): non-empty, no spaces or line breaks.
inline bool is_valid_list_token(std::string_view token) {
    if (token.empty()) return false;
    for (const char c : token)
        if (is_table_space(c) || c == '\n') return false;
    return true;
}

namespace detail {

// Line 1: the number of data rows.
inline std::int64_t read_count_line(TextTable& table) {
    if (!table.next_line()) table.fail_at(1, "the file is empty; line 1 should hold the number of rows");
    const auto& tokens = table.tokens();
    long long count = 0;
    if (tokens.size() != 1 || !parse_decimal(tokens[0], count) || count < 0)
        table.fail("line 1 should hold the number of rows, got ", quote_token(table.line()));
    return count;
}

// Line 2: the column names. They are not matched word by word (several are known only from
// secondary sources), but a line that looks like an image row means the header is missing.
inline void read_header_line(TextTable& table) {
    if (!table.next_line()) table.fail_at(2, "missing the column-name line");
    const auto& tokens = table.tokens();
    if (tokens.empty()) table.fail("the column-name line is blank");
    if (tokens[0].find('/') != std::string_view::npos)
        table.fail("expected the column-name line, got a data row starting with ", quote_token(tokens[0]));
}

// Calls on_line() for every data line. Blank lines are tolerated only at the end of the file,
// so data row i (0-based) is always on line first_data_line + i.
template <class OnLine>
std::int64_t for_each_data_line(TextTable& table, OnLine&& on_line) {
    std::int64_t rows = 0;
    std::size_t first_blank_line = 0;
    while (table.next_line()) {
        if (table.tokens().empty()) {
            if (first_blank_line == 0) first_blank_line = table.line_number();
            continue;
        }
        if (first_blank_line != 0) table.fail_at(first_blank_line, "blank line between data rows");
        on_line();
        ++rows;
    }
    return rows;
}

inline void check_row_count(const TextTable& table, const ListOptions& options, std::int64_t declared,
                            std::int64_t rows) {
    if (options.check_count && declared != rows)
        table.fail_at(1, "line 1 says ", declared, " rows but the file has ", rows, " data rows");
}

inline void expect_token_count(const TextTable& table, std::size_t got, std::size_t expected,
                               std::string_view columns) {
    if (got != expected)
        table.fail("expected ", expected, expected == 1 ? " token (" : " tokens (", columns, "), got ", got);
}

// The text from the first character of `first` to the last character of `last` (both views
// into the same line): a multi-word name with its inner spacing kept.
inline std::string_view span_of(std::string_view first, std::string_view last) {
    return {first.data(), static_cast<std::size_t>(last.data() + last.size() - first.data())};
}

inline std::string_view checked_name(const TextTable& table, std::string_view name, std::string_view what) {
    if (!is_valid_list_name(name)) table.fail(what, " ", quote_token(name), " contains a control character");
    return name;
}

// -1 / 0 / 1 (the common spellings first; "01" still parses, as decimal).
inline std::int8_t parse_attribute_label(const TextTable& table, std::string_view token) {
    if (token.size() == 1 && token[0] == '1') return 1;
    if (token.size() == 1 && token[0] == '0') return 0;
    if (token.size() == 2 && token[0] == '-' && token[1] == '1') return -1;
    return static_cast<std::int8_t>(table.parse_int(token, "attribute label", -1, 1));
}

// "<key> <label> x A" rows of list_attr_img.txt and list_attr_items.txt.
template <class OnRow>
std::int64_t scan_attribute_labels(TextTable& table, const ListOptions& options, std::string_view key_name,
                                   OnRow&& on_row) {
    const auto declared = read_count_line(table);
    read_header_line(table);
    std::size_t num_attributes = options.num_attributes > 0 ? static_cast<std::size_t>(options.num_attributes) : 0;
    AttributeLabelsEntry entry;
    const auto rows = for_each_data_line(table, [&] {
        const auto& tokens = table.tokens();
        if (num_attributes == 0) {
            if (tokens.size() < 2) table.fail("expected ", key_name, " and attribute labels, got 1 token");
            num_attributes = tokens.size() - 1;
        }
        if (tokens.size() != 1 + num_attributes)
            table.fail("expected 1+", num_attributes, "=", 1 + num_attributes, " tokens (", key_name,
                       " and one label per attribute), got ", tokens.size());
        entry.key.assign(tokens[0]);
        entry.labels.resize(num_attributes);
        for (std::size_t a = 0; a < num_attributes; ++a)
            entry.labels[a] = parse_attribute_label(table, tokens[1 + a]);
        on_row(entry);
    });
    check_row_count(table, options, declared, rows);
    return declared;
}

template <class Entry, class Scan>
ListFile<Entry> collect_rows(TextTable& table, Scan&& scan) {
    ListFile<Entry> file;
    file.declared_count = scan(table, [&](Entry& row) { file.rows.push_back(row); });
    return file;
}

}  // namespace detail

// ------------------------------------------------------------------------------------------
// Category and Attribute Prediction benchmark (Anno/, Eval/)

/// "<name> <type>" lists: list_category_cloth.txt (types 1..3) and list_attr_cloth.txt (1..5).
/// The name is every token but the last, with its inner spacing kept.
template <class OnRow>
std::int64_t scan_name_type_list(TextTable& table, const ListOptions& options, std::string_view type_column,
                                 int max_type, OnRow&& on_row) {
    const auto declared = detail::read_count_line(table);
    detail::read_header_line(table);
    NameTypeEntry entry;
    const auto rows = detail::for_each_data_line(table, [&] {
        const auto& tokens = table.tokens();
        if (tokens.size() < 2) table.fail("expected a name and its ", type_column, ", got 1 token");
        entry.name.assign(detail::checked_name(table, detail::span_of(tokens.front(), tokens[tokens.size() - 2]), "name"));
        entry.type = table.parse_int(tokens.back(), type_column, 1, max_type);
        on_row(entry);
    });
    detail::check_row_count(table, options, declared, rows);
    return declared;
}

template <class OnRow>
std::int64_t scan_list_category_cloth(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    return scan_name_type_list(table, options, "category_type", kFullBody, on_row);
}

template <class OnRow>
std::int64_t scan_list_attr_cloth(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    return scan_name_type_list(table, options, "attribute_type", 5, on_row);
}

/// list_category_img.txt: "<image_name> <category_label>", label 1-based.
template <class OnRow>
std::int64_t scan_list_category_img(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    const auto declared = detail::read_count_line(table);
    detail::read_header_line(table);
    const int max_label = options.num_categories > 0 ? options.num_categories : 1'000'000;
    CategoryImageEntry entry;
    const auto rows = detail::for_each_data_line(table, [&] {
        const auto& tokens = table.tokens();
        detail::expect_token_count(table, tokens.size(), 2, "image_name category_label");
        entry.image.assign(tokens[0]);
        entry.category_label = table.parse_int(tokens[1], "category_label", 1, max_label);
        on_row(entry);
    });
    detail::check_row_count(table, options, declared, rows);
    return declared;
}

/// list_attr_img.txt: "<image_name> <label> x num_attributes", labels -1/0/1.
template <class OnRow>
std::int64_t scan_list_attr_img(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    return detail::scan_attribute_labels(table, options, "image_name", on_row);
}

/// list_bbox.txt: "<image_name> <x_1> <y_1> <x_2> <y_2>".
template <class OnRow>
std::int64_t scan_list_bbox(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    const auto declared = detail::read_count_line(table);
    detail::read_header_line(table);
    BoxEntry entry;
    const auto rows = detail::for_each_data_line(table, [&] {
        const auto& tokens = table.tokens();
        detail::expect_token_count(table, tokens.size(), 5, "image_name x_1 y_1 x_2 y_2");
        entry.image.assign(tokens[0]);
        entry.box = {table.parse_float(tokens[1], "x_1"), table.parse_float(tokens[2], "y_1"),
                     table.parse_float(tokens[3], "x_2"), table.parse_float(tokens[4], "y_2")};
        on_row(entry);
    });
    detail::check_row_count(table, options, declared, rows);
    return declared;
}

/// list_landmarks.txt and list_landmarks_consumer2shop.txt:
///     <image_name> <clothes_type> [<variation_type>] (<visibility> <x> <y>) x 6|4|8
/// Whether the file has the variation column is decided on its first data row from the token
/// count, 2+3n without and 3+3n with it (the two cannot both hold), and every later row must
/// follow the same layout. Category-and-Attribute has no variation column (its README says
/// otherwise, copied from C2S); Consumer-to-shop has one.
template <class OnRow>
std::int64_t scan_list_landmarks(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    enum class Layout { undecided, without_variation, with_variation };
    const auto declared = detail::read_count_line(table);
    detail::read_header_line(table);
    Layout layout = Layout::undecided;
    LandmarkEntry entry;
    const auto rows = detail::for_each_data_line(table, [&] {
        const auto& tokens = table.tokens();
        if (tokens.size() < 2) table.fail("expected image_name, clothes_type and landmarks, got 1 token");
        entry.image.assign(tokens[0]);
        entry.clothes_type = table.parse_int(tokens[1], "clothes_type", kUpperBody, kFullBody);
        const std::span<const int> slots = landmark_slots(entry.clothes_type);
        const std::size_t n = slots.size();
        const std::size_t without = 2 + 3 * n, with = 3 + 3 * n;
        if (layout == Layout::undecided) {
            if (tokens.size() == without) layout = Layout::without_variation;
            else if (tokens.size() == with) layout = Layout::with_variation;
            else
                table.fail("expected 2+3*", n, "=", without, " tokens (no variation column) or 3+3*", n, "=", with,
                           " (with one) for clothes_type ", entry.clothes_type, ", got ", tokens.size());
        } else if (layout == Layout::without_variation && tokens.size() != without) {
            table.fail("expected 2+3*", n, "=", without, " tokens for clothes_type ", entry.clothes_type,
                       ", got ", tokens.size());
        } else if (layout == Layout::with_variation && tokens.size() != with) {
            table.fail("expected 3+3*", n, "=", with, " tokens (with the variation column) for clothes_type ",
                       entry.clothes_type, ", got ", tokens.size());
        }
        std::size_t at = 2;
        entry.variation = 0;
        if (layout == Layout::with_variation) entry.variation = table.parse_int(tokens[at++], "variation_type", 1, 5);
        entry.landmarks = Landmarks{};
        for (std::size_t k = 0; k < n; ++k, at += 3) {
            Landmark& point = entry.landmarks[static_cast<std::size_t>(slots[k])];
            long long visibility = 0;
            if (!parse_decimal(tokens[at], visibility) || visibility < kVisible || visibility > kTruncated)
                table.fail("landmark_visibility_", k + 1, " must be 0, 1 or 2, got ", quote_token(tokens[at]));
            if (!parse_finite_float(tokens[at + 1], point.x) || !parse_finite_float(tokens[at + 2], point.y))
                table.fail("landmark_location_", k + 1, " must be two finite numbers, got ", quote_token(tokens[at + 1]),
                           " ", quote_token(tokens[at + 2]));
            point.visibility = static_cast<int>(visibility);
            point.present = true;
        }
        on_row(entry);
    });
    detail::check_row_count(table, options, declared, rows);
    return declared;
}

/// Eval/list_eval_partition.txt (Category and Attribute): "<image_name> <train|val|test>".
template <class OnRow>
std::int64_t scan_list_eval_partition(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    const auto declared = detail::read_count_line(table);
    detail::read_header_line(table);
    PartitionEntry entry;
    const auto rows = detail::for_each_data_line(table, [&] {
        const auto& tokens = table.tokens();
        detail::expect_token_count(table, tokens.size(), 2, "image_name evaluation_status");
        entry.image.assign(tokens[0]);
        if (!parse_split_name(tokens[1], entry.split))
            table.fail("evaluation_status must be train, val or test, got ", quote_token(tokens[1]));
        on_row(entry);
    });
    detail::check_row_count(table, options, declared, rows);
    return declared;
}

// ------------------------------------------------------------------------------------------
// Consumer-to-shop Clothes Retrieval benchmark (Anno/, Eval/)

/// list_bbox_consumer2shop.txt: "<image_name> <clothes_type> <source_type> <x_1> <y_1> <x_2> <y_2>".
template <class OnRow>
std::int64_t scan_list_bbox_consumer2shop(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    const auto declared = detail::read_count_line(table);
    detail::read_header_line(table);
    SourcedBoxEntry entry;
    const auto rows = detail::for_each_data_line(table, [&] {
        const auto& tokens = table.tokens();
        detail::expect_token_count(table, tokens.size(), 7, "image_name clothes_type source_type x_1 y_1 x_2 y_2");
        entry.image.assign(tokens[0]);
        entry.clothes_type = table.parse_int(tokens[1], "clothes_type", kUpperBody, kFullBody);
        entry.source = static_cast<Source>(table.parse_int(tokens[2], "source_type (1 shop, 2 consumer)", 1, 2));
        entry.box = {table.parse_float(tokens[3], "x_1"), table.parse_float(tokens[4], "y_1"),
                     table.parse_float(tokens[5], "x_2"), table.parse_float(tokens[6], "y_2")};
        on_row(entry);
    });
    detail::check_row_count(table, options, declared, rows);
    return declared;
}

/// list_landmarks_consumer2shop.txt: the landmark layout, with the variation column.
template <class OnRow>
std::int64_t scan_list_landmarks_consumer2shop(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    return scan_list_landmarks(table, options, on_row);
}

/// list_item_consumer2shop.txt: the count, then one item id per line (no column-name line).
template <class OnRow>
std::int64_t scan_list_item_consumer2shop(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    const auto declared = detail::read_count_line(table);
    std::string item_id;
    const auto rows = detail::for_each_data_line(table, [&] {
        const auto& tokens = table.tokens();
        detail::expect_token_count(table, tokens.size(), 1, "item_id");
        item_id.assign(tokens[0]);
        on_row(item_id);
    });
    detail::check_row_count(table, options, declared, rows);
    return declared;
}

/// C2S list_attr_cloth.txt: "<Chinese name> <English name> <type>". The file starts with a BOM,
/// uses CRLF, and aligns its columns for CJK characters two columns wide, so character offsets
/// differ from row to row; it is split by tokens instead: the Chinese name is the first token
/// (no Chinese name has a space), the type the last, the English name all tokens between.
template <class OnRow>
std::int64_t scan_list_attr_cloth_consumer2shop(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    const auto declared = detail::read_count_line(table);
    detail::read_header_line(table);
    const int max_type = options.num_attribute_types > 0 ? options.num_attribute_types : 1'000'000;
    BilingualAttributeEntry entry;
    const auto rows = detail::for_each_data_line(table, [&] {
        const auto& tokens = table.tokens();
        if (tokens.size() < 3)
            table.fail("expected a Chinese name, an English name and attribute_type, got ", tokens.size(), " tokens");
        entry.chinese_name.assign(detail::checked_name(table, tokens[0], "Chinese name"));
        entry.english_name.assign(
            detail::checked_name(table, detail::span_of(tokens[1], tokens[tokens.size() - 2]), "English name"));
        entry.type = table.parse_int(tokens.back(), "attribute_type", 1, max_type);
        on_row(entry);
    });
    detail::check_row_count(table, options, declared, rows);
    return declared;
}

/// C2S list_attr_type.txt: "<Chinese name> <English description>"; type k is data row k.
template <class OnRow>
std::int64_t scan_list_attr_type(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    const auto declared = detail::read_count_line(table);
    detail::read_header_line(table);
    BilingualNameEntry entry;
    const auto rows = detail::for_each_data_line(table, [&] {
        const auto& tokens = table.tokens();
        if (tokens.size() < 2) table.fail("expected a Chinese name and an English name, got 1 token");
        entry.chinese_name.assign(detail::checked_name(table, tokens[0], "Chinese name"));
        entry.english_name.assign(detail::checked_name(table, detail::span_of(tokens[1], tokens.back()), "English name"));
        on_row(entry);
    });
    detail::check_row_count(table, options, declared, rows);
    return declared;
}

/// C2S list_attr_items.txt: "<item_id> <label> x num_attributes", labels -1/0/1, per item.
template <class OnRow>
std::int64_t scan_list_attr_items(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    return detail::scan_attribute_labels(table, options, "item_id", on_row);
}

/// C2S Eval/list_eval_partition.txt: "<consumer image> <shop image> <item_id> <train|val|test>".
template <class OnRow>
std::int64_t scan_list_eval_partition_consumer2shop(TextTable& table, const ListOptions& options, OnRow&& on_row) {
    const auto declared = detail::read_count_line(table);
    detail::read_header_line(table);
    PairEntry entry;
    const auto rows = detail::for_each_data_line(table, [&] {
        const auto& tokens = table.tokens();
        detail::expect_token_count(table, tokens.size(), 4,
                                   "image_pair_name_1 image_pair_name_2 item_id evaluation_status");
        entry.consumer_image.assign(tokens[0]);
        entry.shop_image.assign(tokens[1]);
        entry.item_id.assign(tokens[2]);
        if (!parse_split_name(tokens[3], entry.split))
            table.fail("evaluation_status must be train, val or test, got ", quote_token(tokens[3]));
        on_row(entry);
    });
    detail::check_row_count(table, options, declared, rows);
    return declared;
}

// ------------------------------------------------------------------------------------------
// parse_list_*(table, options): collect the rows of a table (a file or a buffer in memory).
// read_list_*(path, options): the same for the file at `path`.

#define SEAM_DEEPFASHION_LIST_READERS(name, Entry)                                                     \
    inline ListFile<Entry> parse_##name(TextTable& table, const ListOptions& options = {}) {           \
        return detail::collect_rows<Entry>(                                                            \
            table, [&](TextTable& t, auto&& on_row) { return scan_##name(t, options, on_row); });      \
    }                                                                                                  \
    inline ListFile<Entry> read_##name(const std::filesystem::path& path, const ListOptions& options = {}) { \
        TextTable table(path);                                                                         \
        return parse_##name(table, options);                                                           \
    }

SEAM_DEEPFASHION_LIST_READERS(list_category_cloth, NameTypeEntry)
SEAM_DEEPFASHION_LIST_READERS(list_attr_cloth, NameTypeEntry)
SEAM_DEEPFASHION_LIST_READERS(list_category_img, CategoryImageEntry)
SEAM_DEEPFASHION_LIST_READERS(list_attr_img, AttributeLabelsEntry)
SEAM_DEEPFASHION_LIST_READERS(list_bbox, BoxEntry)
SEAM_DEEPFASHION_LIST_READERS(list_landmarks, LandmarkEntry)
SEAM_DEEPFASHION_LIST_READERS(list_eval_partition, PartitionEntry)
SEAM_DEEPFASHION_LIST_READERS(list_bbox_consumer2shop, SourcedBoxEntry)
SEAM_DEEPFASHION_LIST_READERS(list_landmarks_consumer2shop, LandmarkEntry)
SEAM_DEEPFASHION_LIST_READERS(list_item_consumer2shop, std::string)
SEAM_DEEPFASHION_LIST_READERS(list_attr_cloth_consumer2shop, BilingualAttributeEntry)
SEAM_DEEPFASHION_LIST_READERS(list_attr_type, BilingualNameEntry)
SEAM_DEEPFASHION_LIST_READERS(list_attr_items, AttributeLabelsEntry)
SEAM_DEEPFASHION_LIST_READERS(list_eval_partition_consumer2shop, PairEntry)

#undef SEAM_DEEPFASHION_LIST_READERS

}  // namespace seam::data
