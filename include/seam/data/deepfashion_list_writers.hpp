// seam/data/deepfashion_list_writers.hpp — write each DeepFashion list file in the real layout.
//
// The writers produce what the readers of deepfashion_lists.hpp accept, in the layout of the
// distributed files so that a generated dataset (SynthFashion) looks like the real one:
// the row count, the column names, then column-aligned rows. Where the real layout is known
// from genuine files, it is reproduced byte for byte:
//   list_category_cloth   name left-justified in 15 columns, then the type     (whole file seen)
//   list_attr_cloth       name left-justified in 29 columns, then the type     (whole file seen)
//   list_category_img     image name left-justified in 71 columns, then label  (rows seen)
//   list_landmarks        image name in 72 columns, clothes_type, then "  v xxx yyy" per
//                         landmark, coordinates zero-padded to 3 digits, one trailing space
//   C2S list_attr_cloth   UTF-8 BOM, CRLF; Chinese name padded to display column 33, English
//                         name to display column 78 (CJK characters count two columns)
//   C2S list_attr_type    CRLF; Chinese name padded to display column 30
//   list_item_consumer2shop  the count, then one id per line (no column-name line)
// The other files (list_attr_img, list_bbox, partitions, C2S bbox and items) were not available
// whole; they get the same conventions (image names in 71 columns, coordinates as "072",
// labels right-aligned in 2 columns) and the column names of the official README.
// Columns widen when a name is longer than the real files' field. Coordinates that are whole
// numbers are written as integers (zero-padded to 3 digits when in 0..999, as in the real
// files); others in the shortest form that reads back to the same float.
//
// Every writer checks what it writes (one-token image names, names without control
// characters, labels in range) and throws seam::Error instead of writing a file that the
// readers would reject.
#pragma once

#include <seam/data/deepfashion_lists.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace seam::data {

namespace detail {

// Append `text` and pad with spaces to `width` columns (at least one space).
inline void append_padded(std::string& line, std::string_view text, std::size_t width) {
    line += text;
    line.append(text.size() < width ? width - text.size() : 1, ' ');
}

// The same, counting CJK characters as two columns.
inline void append_display_padded(std::string& line, std::string_view text, std::size_t width) {
    const std::size_t used = display_width(text);
    line += text;
    line.append(used < width ? width - used : 1, ' ');
}

inline void append_integer(std::string& line, long long value) {
    char digits[24];
    const auto result = std::to_chars(digits, digits + sizeof digits, value);
    line.append(digits, result.ptr);
}

// A coordinate: "072" for whole numbers 0..999 (the real files' form), else exact shortest form.
inline void append_coordinate(std::string& line, float value, std::string_view what) {
    if (!std::isfinite(value)) seam::fail("DeepFashion writer: ", what, " must be finite, got ", value);
    if (value == std::floor(value) && std::fabs(value) < 1e9f) {
        const auto whole = static_cast<long long>(value);
        if (whole >= 0 && whole < 10) line += "00";
        else if (whole >= 10 && whole < 100) line += "0";
        append_integer(line, whole);
        return;
    }
    char digits[32];
    const auto result = std::to_chars(digits, digits + sizeof digits, value);
    line.append(digits, result.ptr);
}

// A label -1/0/1 right-aligned in 2 columns.
inline void append_label(std::string& line, std::int8_t label) {
    if (label < -1 || label > 1) seam::fail("DeepFashion writer: attribute labels must be -1, 0 or 1, got ", int(label));
    line += label == -1 ? "-1" : label == 1 ? " 1" : " 0";
}

inline void check_token(std::string_view token, std::string_view what) {
    if (!is_valid_list_token(token))
        seam::fail("DeepFashion writer: ", what, " ", quote_token(token), " must be one non-empty token without spaces");
}

inline void check_name(std::string_view name, std::string_view what) {
    if (!is_valid_list_name(name))
        seam::fail("DeepFashion writer: ", what, " ", quote_token(name),
                   " must be non-empty, without control characters or leading/trailing spaces");
}

inline void check_range(long long value, long long low, long long high, std::string_view what) {
    if (value < low || value > high)
        seam::fail("DeepFashion writer: ", what, " must be in [", low, ", ", high, "], got ", value);
}

inline void write_line(std::ostream& out, const std::string& line, std::string_view end = "\n") {
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    out.write(end.data(), static_cast<std::streamsize>(end.size()));
}

inline void write_count_and_header(std::ostream& out, std::size_t count, std::string_view header,
                                   std::string_view end = "\n") {
    std::string line;
    append_integer(line, static_cast<long long>(count));
    write_line(out, line, end);
    if (!header.empty()) write_line(out, std::string(header), end);
}

// Width of a left-justified column: the real field width, or wider for longer names.
template <class Rows, class Field>
std::size_t column_width(const Rows& rows, Field field, std::size_t real_width) {
    std::size_t width = real_width;
    for (const auto& row : rows) width = std::max(width, std::string_view(field(row)).size() + 1);
    return width;
}

inline std::string landmark_header(bool with_variation) {
    std::string header = with_variation ? "image_name  clothes_type  variation_type" : "image_name  clothes_type";
    for (int k = 1; k <= kLandmarkSlots; ++k) {
        const std::string n = std::to_string(k);
        header += "  landmark_visibility_" + n + "  landmark_location_x_" + n + "  landmark_location_y_" + n;
    }
    return header;
}

inline std::string attribute_labels_header(std::string_view key_column) {
    return std::string(key_column) + "  attribute_labels";
}

inline void write_attribute_labels(std::ostream& out, const std::vector<AttributeLabelsEntry>& rows,
                                   std::string_view key_column, std::size_t key_width) {
    write_count_and_header(out, rows.size(), attribute_labels_header(key_column));
    const std::size_t width = column_width(rows, [](const auto& r) { return r.key; }, key_width);
    std::string line;
    for (const auto& row : rows) {
        check_token(row.key, key_column);
        if (row.labels.empty() || row.labels.size() != rows.front().labels.size())
            seam::fail("DeepFashion writer: every row of ", key_column,
                       " labels needs the same, non-zero number of labels; ", quote_token(row.key), " has ",
                       row.labels.size());
        line.clear();
        append_padded(line, row.key, width);
        for (std::size_t a = 0; a < row.labels.size(); ++a) {
            if (a > 0) line += ' ';
            append_label(line, row.labels[a]);
        }
        write_line(out, line);
    }
}

}  // namespace detail

/// list_category_cloth.txt (types 1..3) or, with the type column named, list_attr_cloth.txt.
inline void write_name_type_list(std::ostream& out, const std::vector<NameTypeEntry>& rows, std::string_view header,
                                 std::size_t name_width, int max_type) {
    detail::write_count_and_header(out, rows.size(), header);
    const std::size_t width = detail::column_width(rows, [](const auto& r) { return r.name; }, name_width);
    std::string line;
    for (const auto& row : rows) {
        detail::check_name(row.name, "name");
        detail::check_range(row.type, 1, max_type, "type");
        line.clear();
        detail::append_padded(line, row.name, width);
        detail::append_integer(line, row.type);
        detail::write_line(out, line);
    }
}

inline void write_list_category_cloth(std::ostream& out, const std::vector<NameTypeEntry>& rows) {
    write_name_type_list(out, rows, "category_name  category_type", 15, kFullBody);
}

inline void write_list_attr_cloth(std::ostream& out, const std::vector<NameTypeEntry>& rows) {
    write_name_type_list(out, rows, "attribute_name  attribute_type", 29, 5);
}

inline void write_list_category_img(std::ostream& out, const std::vector<CategoryImageEntry>& rows) {
    detail::write_count_and_header(out, rows.size(), "image_name  category_label");
    const std::size_t width = detail::column_width(rows, [](const auto& r) { return r.image; }, 71);
    std::string line;
    for (const auto& row : rows) {
        detail::check_token(row.image, "image name");
        detail::check_range(row.category_label, 1, 1'000'000, "category_label");
        line.clear();
        detail::append_padded(line, row.image, width);
        detail::append_integer(line, row.category_label);
        detail::write_line(out, line);
    }
}

inline void write_list_attr_img(std::ostream& out, const std::vector<AttributeLabelsEntry>& rows) {
    detail::write_attribute_labels(out, rows, "image_name", 71);
}

inline void write_list_bbox(std::ostream& out, const std::vector<BoxEntry>& rows) {
    detail::write_count_and_header(out, rows.size(), "image_name  x_1  y_1  x_2  y_2");
    const std::size_t width = detail::column_width(rows, [](const auto& r) { return r.image; }, 71);
    std::string line;
    for (const auto& row : rows) {
        detail::check_token(row.image, "image name");
        line.clear();
        detail::append_padded(line, row.image, width);
        detail::append_coordinate(line, row.box.x1, "x_1");
        line += ' ';
        detail::append_coordinate(line, row.box.y1, "y_1");
        line += ' ';
        detail::append_coordinate(line, row.box.x2, "x_2");
        line += ' ';
        detail::append_coordinate(line, row.box.y2, "y_2");
        detail::write_line(out, line);
    }
}

/// list_landmarks.txt (with_variation false) or list_landmarks_consumer2shop.txt (true).
/// Only the slots of each row's clothes type are written; they must be marked present.
inline void write_list_landmarks(std::ostream& out, const std::vector<LandmarkEntry>& rows, bool with_variation) {
    detail::write_count_and_header(out, rows.size(), detail::landmark_header(with_variation));
    const std::size_t width = detail::column_width(rows, [](const auto& r) { return r.image; }, 72);
    std::string line;
    for (const auto& row : rows) {
        detail::check_token(row.image, "image name");
        detail::check_range(row.clothes_type, kUpperBody, kFullBody, "clothes_type");
        line.clear();
        detail::append_padded(line, row.image, width);
        detail::append_integer(line, row.clothes_type);
        if (with_variation) {
            detail::check_range(row.variation, 1, 5, "variation_type");
            line += ' ';
            detail::append_integer(line, row.variation);
        }
        const std::span<const int> slots = landmark_slots(row.clothes_type);
        for (int slot = 0; slot < kLandmarkSlots; ++slot) {
            const bool used = std::find(slots.begin(), slots.end(), slot) != slots.end();
            if (row.landmarks[static_cast<std::size_t>(slot)].present != used)
                seam::fail("DeepFashion writer: ", quote_token(row.image), ": landmark slot ", slot, " (",
                           kLandmarkSlotNames[static_cast<std::size_t>(slot)], ") is ", used ? "not " : "",
                           "marked present, but clothes_type ", row.clothes_type, " (",
                           clothes_type_name(row.clothes_type), ") ", used ? "has that landmark" : "has no such landmark");
        }
        for (const int slot : slots) {
            const Landmark& point = row.landmarks[static_cast<std::size_t>(slot)];
            detail::check_range(point.visibility, kVisible, kTruncated, "landmark visibility");
            line += "  ";
            detail::append_integer(line, point.visibility);
            line += ' ';
            detail::append_coordinate(line, point.x, "landmark x");
            line += ' ';
            detail::append_coordinate(line, point.y, "landmark y");
        }
        line += ' ';  // the real rows end with one space
        detail::write_line(out, line);
    }
}

inline void write_list_eval_partition(std::ostream& out, const std::vector<PartitionEntry>& rows) {
    detail::write_count_and_header(out, rows.size(), "image_name  evaluation_status");
    const std::size_t width = detail::column_width(rows, [](const auto& r) { return r.image; }, 71);
    std::string line;
    for (const auto& row : rows) {
        detail::check_token(row.image, "image name");
        line.clear();
        detail::append_padded(line, row.image, width);
        line += split_name(row.split);
        detail::write_line(out, line);
    }
}

inline void write_list_bbox_consumer2shop(std::ostream& out, const std::vector<SourcedBoxEntry>& rows) {
    detail::write_count_and_header(out, rows.size(), "image_name  clothes_type  source_type  x_1  y_1  x_2  y_2");
    const std::size_t width = detail::column_width(rows, [](const auto& r) { return r.image; }, 71);
    std::string line;
    for (const auto& row : rows) {
        detail::check_token(row.image, "image name");
        detail::check_range(row.clothes_type, kUpperBody, kFullBody, "clothes_type");
        detail::check_range(static_cast<int>(row.source), 1, 2, "source_type");
        line.clear();
        detail::append_padded(line, row.image, width);
        detail::append_integer(line, row.clothes_type);
        line += ' ';
        detail::append_integer(line, static_cast<int>(row.source));
        for (const float value : {row.box.x1, row.box.y1, row.box.x2, row.box.y2}) {
            line += ' ';
            detail::append_coordinate(line, value, "box coordinate");
        }
        detail::write_line(out, line);
    }
}

inline void write_list_landmarks_consumer2shop(std::ostream& out, const std::vector<LandmarkEntry>& rows) {
    write_list_landmarks(out, rows, true);
}

inline void write_list_item_consumer2shop(std::ostream& out, const std::vector<std::string>& item_ids) {
    detail::write_count_and_header(out, item_ids.size(), "");
    for (const auto& id : item_ids) {
        detail::check_token(id, "item id");
        detail::write_line(out, id);
    }
}

inline void write_list_attr_cloth_consumer2shop(std::ostream& out, const std::vector<BilingualAttributeEntry>& rows) {
    out.write("\xEF\xBB\xBF", 3);  // the real file starts with a UTF-8 BOM
    detail::write_count_and_header(
        out, rows.size(), "attribute_name (Chinese)         attribute_name (English)                     attribute_type",
        "\r\n");
    std::string line;
    for (const auto& row : rows) {
        detail::check_token(row.chinese_name, "Chinese attribute name");
        detail::check_name(row.chinese_name, "Chinese attribute name");
        detail::check_name(row.english_name, "English attribute name");
        detail::check_range(row.type, 1, 1'000'000, "attribute_type");
        line.clear();
        detail::append_display_padded(line, row.chinese_name, 33);
        detail::append_display_padded(line, row.english_name, 45);
        detail::append_integer(line, row.type);
        detail::write_line(out, line, "\r\n");
    }
}

inline void write_list_attr_type(std::ostream& out, const std::vector<BilingualNameEntry>& rows) {
    detail::write_count_and_header(out, rows.size(), "attribute_type (Chinese)      attribute_type (English)", "\r\n");
    std::string line;
    for (const auto& row : rows) {
        detail::check_token(row.chinese_name, "Chinese attribute type name");
        detail::check_name(row.chinese_name, "Chinese attribute type name");
        detail::check_name(row.english_name, "English attribute type name");
        line.clear();
        detail::append_display_padded(line, row.chinese_name, 30);
        line += row.english_name;
        detail::write_line(out, line, "\r\n");
    }
}

inline void write_list_attr_items(std::ostream& out, const std::vector<AttributeLabelsEntry>& rows) {
    detail::write_attribute_labels(out, rows, "item_id", 16);
}

inline void write_list_eval_partition_consumer2shop(std::ostream& out, const std::vector<PairEntry>& rows) {
    detail::write_count_and_header(out, rows.size(),
                                   "image_pair_name_1  image_pair_name_2  item_id  evaluation_status");
    const std::size_t consumer_width = detail::column_width(rows, [](const auto& r) { return r.consumer_image; }, 71);
    const std::size_t shop_width = detail::column_width(rows, [](const auto& r) { return r.shop_image; }, 71);
    const std::size_t item_width = detail::column_width(rows, [](const auto& r) { return r.item_id; }, 16);
    std::string line;
    for (const auto& row : rows) {
        detail::check_token(row.consumer_image, "consumer image name");
        detail::check_token(row.shop_image, "shop image name");
        detail::check_token(row.item_id, "item id");
        line.clear();
        detail::append_padded(line, row.consumer_image, consumer_width);
        detail::append_padded(line, row.shop_image, shop_width);
        detail::append_padded(line, row.item_id, item_width);
        line += split_name(row.split);
        detail::write_line(out, line);
    }
}

}  // namespace seam::data
