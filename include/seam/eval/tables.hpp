// seam/eval/tables.hpp — the survey's Table 2 (DeepFashion-C) and Table 3 (DeepFashion-C2S), measured rows beside
// the papers' reported rows, written as markdown, CSV or JSON.
//
// Provides the row types (numbers in percent, std::nullopt for a cell nobody reported), measured_row() to turn the
// results of metrics.hpp into a row, make_*_table() to put measured rows beside the reported ones of
// paper_rows.hpp with the protocol sentences, and the writers to_markdown / to_csv / to_json. The markdown table
// carries its protocol under it: a number without its protocol is how mmfashion's users got lost. Missing cells
// print as "–" (markdown), an empty field (CSV) or null (JSON). The JSON emitter is hand-written (no dependency)
// and escapes strings per RFC 8259, replacing invalid UTF-8 with U+FFFD so the output always parses.
#pragma once

#include <seam/core/error.hpp>
#include <seam/eval/metrics.hpp>
#include <seam/io/json.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace seam::eval {

/// How sure a row's numbers are (the confidence tags of /work/shared/ref/model-specs.md).
enum class Certainty {
    measured,       ///< computed by seam in this run
    read,           ///< read in a public table or the paper's text (e.g. the fdjingyuan README's comparison table)
    recalled,       ///< from memory of the paper's table or figure, not re-read: check against the PDF before use
    not_recovered,  ///< the paper's numbers were not found; the row only marks the gap
};

inline const char* to_string(Certainty c) {
    switch (c) {
        case Certainty::measured: return "measured";
        case Certainty::read: return "read";
        case Certainty::recalled: return "recalled";
        case Certainty::not_recovered: return "not recovered";
    }
    return "?";
}

/// A top-3 / top-5 pair of one Table 2 column, in percent.
struct TopThreeFive {
    std::optional<double> top3;
    std::optional<double> top5;
};

/// One row of Table 2. `source` is the citation of a reported row or a short description of a measured one.
struct CategoryAttributeRow {
    std::string model;
    std::string dataset;
    Certainty certainty = Certainty::measured;
    std::string source;
    std::string note;
    TopThreeFive category, texture, fabric, shape, part, style, all;

    /// The seven columns in table order: Category, Texture, Fabric, Shape, Part, Style, All.
    std::array<const TopThreeFive*, 7> columns() const {
        return {&category, &texture, &fabric, &shape, &part, &style, &all};
    }
};

/// One row of Table 3 (hit rates in percent).
struct ConsumerToShopRow {
    std::string model;
    std::string dataset;
    Certainty certainty = Certainty::measured;
    std::string source;
    std::string note;
    std::optional<double> top1, top20, top50;
};

struct CategoryAttributeTable {
    std::string title;
    std::vector<CategoryAttributeRow> rows;
    std::vector<std::string> protocol;  ///< sentences printed under the table
};

struct ConsumerToShopTable {
    std::string title;
    std::vector<ConsumerToShopRow> rows;
    std::vector<std::string> protocol;
};

inline constexpr std::array<const char*, 7> category_attribute_column_names = {"Category", "Texture", "Fabric", "Shape",
                                                                               "Part",     "Style",   "All"};

// ------------------------------------------------------------------------------------------------
// Measured rows from metric results

namespace detail {
// The value at k = `wanted` of a result computed for the list `ks`, as a percentage; nullopt if k was not computed.
inline std::optional<double> percent_at(std::span<const std::size_t> ks, std::span<const std::optional<double>> values,
                                        std::size_t wanted) {
    for (std::size_t j = 0; j < ks.size() && j < values.size(); ++j)
        if (ks[j] == wanted && values[j]) return 100.0 * *values[j];
    return std::nullopt;
}
inline std::vector<std::optional<double>> to_optional(std::span<const double> values) {
    return {values.begin(), values.end()};
}
}  // namespace detail

/// A measured Table 2 row from category_topk_accuracy (computed for `category_ks`) and attribute_topk_recall.
/// The cells need k = 3 and k = 5 in both lists; a k that was not computed stays an empty cell.
inline CategoryAttributeRow measured_row(std::string model, std::string dataset, std::string source,
                                         std::span<const std::size_t> category_ks,
                                         std::span<const double> category_accuracy, const AttributeRecall& attributes) {
    SEAM_CHECK(category_ks.size() == category_accuracy.size(), "measured_row: ", category_ks.size(), " ks for ",
               category_accuracy.size(), " category accuracies");
    CategoryAttributeRow row;
    row.model = std::move(model);
    row.dataset = std::move(dataset);
    row.source = std::move(source);
    row.certainty = Certainty::measured;
    const auto category = detail::to_optional(category_accuracy);
    row.category = {detail::percent_at(category_ks, category, 3), detail::percent_at(category_ks, category, 5)};
    TopThreeFive* types[] = {&row.texture, &row.fabric, &row.shape, &row.part, &row.style};
    for (std::size_t t = 0; t < attribute_type_count; ++t)
        *types[t] = {detail::percent_at(attributes.ks, attributes.type_recall[t], 3),
                     detail::percent_at(attributes.ks, attributes.type_recall[t], 5)};
    row.all = {detail::percent_at(attributes.ks, attributes.all_recall, 3),
               detail::percent_at(attributes.ks, attributes.all_recall, 5)};
    return row;
}

/// A measured Table 3 row from retrieval_hit_rate (needs k = 1, 20 and 50 among its ks for full cells).
inline ConsumerToShopRow measured_row(std::string model, std::string dataset, std::string source,
                                      const RetrievalResult& retrieval) {
    ConsumerToShopRow row;
    row.model = std::move(model);
    row.dataset = std::move(dataset);
    row.source = std::move(source);
    row.certainty = Certainty::measured;
    const auto hit = detail::to_optional(retrieval.hit_rate);
    row.top1 = detail::percent_at(retrieval.ks, hit, 1);
    row.top20 = detail::percent_at(retrieval.ks, hit, 20);
    row.top50 = detail::percent_at(retrieval.ks, hit, 50);
    return row;
}

// ------------------------------------------------------------------------------------------------
// Formatting helpers

namespace detail {
inline std::string fixed2(double v) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.2f", v);
    return buffer;
}
inline std::string cell(const std::optional<double>& v) { return v ? fixed2(*v) : std::string("–"); }
inline std::string pair_cell(const TopThreeFive& p) { return cell(p.top3) + " / " + cell(p.top5); }

// Markdown table cells may not contain '|' or line breaks.
inline std::string markdown_text(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += "\\|";
        else if (c == '\n' || c == '\r') out += ' ';
        else out += c;
    }
    return out;
}
inline std::string source_cell(Certainty certainty, const std::string& source) {
    if (certainty == Certainty::measured) return source.empty() ? "measured" : "measured: " + source;
    return source + " [" + to_string(certainty) + "]";
}
}  // namespace detail

/// CSV field per RFC 4180: quoted when it holds ',', '"', CR or LF, with quotes doubled.
inline std::string csv_field(std::string_view s) {
    if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

namespace json {

/// A JSON string literal (RFC 8259); bytes that are not valid UTF-8 are replaced by U+FFFD, since a
/// JSON text must be UTF-8 and a table must not fail on an odd name in a list file.
inline std::string quote(std::string_view s) { return io::json::quote_lossy(s); }

/// A JSON number in the shortest form that reads back to the same double; null for nullopt, NaN or infinity
/// (JSON has no NaN).
inline std::string number(std::optional<double> v) {
    if (!v || !std::isfinite(*v)) return "null";
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, *v);
    return std::string(buffer, result.ptr);
}

}  // namespace json

// ------------------------------------------------------------------------------------------------
// Table 2: DeepFashion-C

/// Markdown: a title line, the table (each column "top-3 / top-5"), notes of the rows that have one, and the
/// protocol sentences under it.
inline std::string to_markdown(const CategoryAttributeTable& table) {
    std::string out = "**" + detail::markdown_text(table.title) + "**\n\n";
    out += "| Model | Data set |";
    for (const char* name : category_attribute_column_names) out += std::string(" ") + name + " |";
    out += " Source |\n|---|---|";
    for (std::size_t c = 0; c < category_attribute_column_names.size(); ++c) out += "---:|";
    out += "---|\n";
    for (const auto& row : table.rows) {
        out += "| " + detail::markdown_text(row.model) + " | " + detail::markdown_text(row.dataset) + " |";
        for (const TopThreeFive* column : row.columns()) out += " " + detail::pair_cell(*column) + " |";
        out += " " + detail::markdown_text(detail::source_cell(row.certainty, row.source)) + " |\n";
    }
    std::string notes;
    for (const auto& row : table.rows)
        if (!row.note.empty()) notes += "- " + row.model + " (" + row.dataset + "): " + row.note + "\n";
    if (!notes.empty()) out += "\nNotes:\n" + notes;
    if (!table.protocol.empty()) {
        out += "\n";
        for (const auto& sentence : table.protocol) out += sentence + "\n";
    }
    return out;
}

/// CSV: one header line, then one line a row; numbers in percent with two decimals; a missing cell is empty.
inline std::string to_csv(const CategoryAttributeTable& table) {
    std::string out = "model,dataset,certainty,source";
    static constexpr std::array<const char*, 7> keys = {"category", "texture", "fabric", "shape",
                                                        "part",     "style",   "all"};
    for (const char* key : keys) out += std::string(",") + key + "_top3," + key + "_top5";
    out += ",note\n";
    auto number = [](const std::optional<double>& v) { return v ? detail::fixed2(*v) : std::string(); };
    for (const auto& row : table.rows) {
        out += csv_field(row.model) + "," + csv_field(row.dataset) + "," + to_string(row.certainty) + "," +
               csv_field(row.source);
        for (const TopThreeFive* column : row.columns()) out += "," + number(column->top3) + "," + number(column->top5);
        out += "," + csv_field(row.note) + "\n";
    }
    return out;
}

/// JSON: {"title", "protocol": [...], "rows": [{model, dataset, certainty, source, note,
/// "category": {"top3", "top5"}, ..., "all": {...}}]}; numbers in percent, missing cells null.
inline std::string to_json(const CategoryAttributeTable& table) {
    static constexpr std::array<const char*, 7> keys = {"category", "texture", "fabric", "shape",
                                                        "part",     "style",   "all"};
    std::string out = "{\n  \"title\": " + json::quote(table.title) + ",\n  \"protocol\": [";
    for (std::size_t i = 0; i < table.protocol.size(); ++i)
        out += (i ? ", " : "") + json::quote(table.protocol[i]);
    out += "],\n  \"rows\": [";
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
        const auto& row = table.rows[r];
        out += r ? ",\n    {" : "\n    {";
        out += "\"model\": " + json::quote(row.model) + ", \"dataset\": " + json::quote(row.dataset) +
               ", \"certainty\": " + json::quote(to_string(row.certainty)) + ", \"source\": " + json::quote(row.source) +
               ", \"note\": " + json::quote(row.note);
        const auto columns = row.columns();
        for (std::size_t c = 0; c < keys.size(); ++c)
            out += std::string(", \"") + keys[c] + "\": {\"top3\": " + json::number(columns[c]->top3) +
                   ", \"top5\": " + json::number(columns[c]->top5) + "}";
        out += "}";
    }
    out += table.rows.empty() ? "]\n}\n" : "\n  ]\n}\n";
    return out;
}

// ------------------------------------------------------------------------------------------------
// Table 3: DeepFashion-C2S

inline std::string to_markdown(const ConsumerToShopTable& table) {
    std::string out = "**" + detail::markdown_text(table.title) + "**\n\n";
    out += "| Model | Data set | R@1 | R@20 | R@50 | Source |\n|---|---|---:|---:|---:|---|\n";
    for (const auto& row : table.rows)
        out += "| " + detail::markdown_text(row.model) + " | " + detail::markdown_text(row.dataset) + " | " +
               detail::cell(row.top1) + " | " + detail::cell(row.top20) + " | " + detail::cell(row.top50) + " | " +
               detail::markdown_text(detail::source_cell(row.certainty, row.source)) + " |\n";
    std::string notes;
    for (const auto& row : table.rows)
        if (!row.note.empty()) notes += "- " + row.model + " (" + row.dataset + "): " + row.note + "\n";
    if (!notes.empty()) out += "\nNotes:\n" + notes;
    if (!table.protocol.empty()) {
        out += "\n";
        for (const auto& sentence : table.protocol) out += sentence + "\n";
    }
    return out;
}

inline std::string to_csv(const ConsumerToShopTable& table) {
    std::string out = "model,dataset,certainty,source,top1,top20,top50,note\n";
    auto number = [](const std::optional<double>& v) { return v ? detail::fixed2(*v) : std::string(); };
    for (const auto& row : table.rows)
        out += csv_field(row.model) + "," + csv_field(row.dataset) + "," + to_string(row.certainty) + "," +
               csv_field(row.source) + "," + number(row.top1) + "," + number(row.top20) + "," + number(row.top50) +
               "," + csv_field(row.note) + "\n";
    return out;
}

inline std::string to_json(const ConsumerToShopTable& table) {
    std::string out = "{\n  \"title\": " + json::quote(table.title) + ",\n  \"protocol\": [";
    for (std::size_t i = 0; i < table.protocol.size(); ++i)
        out += (i ? ", " : "") + json::quote(table.protocol[i]);
    out += "],\n  \"rows\": [";
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
        const auto& row = table.rows[r];
        out += r ? ",\n    {" : "\n    {";
        out += "\"model\": " + json::quote(row.model) + ", \"dataset\": " + json::quote(row.dataset) +
               ", \"certainty\": " + json::quote(to_string(row.certainty)) + ", \"source\": " + json::quote(row.source) +
               ", \"note\": " + json::quote(row.note) + ", \"top1\": " + json::number(row.top1) +
               ", \"top20\": " + json::number(row.top20) + ", \"top50\": " + json::number(row.top50) + "}";
    }
    out += table.rows.empty() ? "]\n}\n" : "\n  ]\n}\n";
    return out;
}

}  // namespace seam::eval
