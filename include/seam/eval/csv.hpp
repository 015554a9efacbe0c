// seam/eval/csv.hpp — a small CSV reader whose every error names the file, the 1-based line and the problem.
//
// Provides CsvReader (one record at a time, so a large file of embeddings is streamed), parse_csv_float, and
// read_score_csv / expect_columns for the per-image score files seam-eval reads ("image_name,<score>,..."). The
// dialect is what numpy, pandas and spreadsheet programs write:
//   - fields separated by ',' ; LF or CRLF line ends; a UTF-8 byte-order mark at the start is skipped;
//   - a field may be wrapped in double quotes, inside which "" stands for one quote and ',' is plain text;
//     a quoted field must end on its own line (image names and numbers never contain line breaks);
//   - spaces and tabs around an unquoted field are dropped; blank lines are skipped.
// Anything else (a stray quote, text after a closing quote, an unterminated quote) is an error, never a guess.
#pragma once

#include <seam/core/error.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <istream>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace seam::eval {

class CsvReader {
public:
    /// Opens `path`; throws seam::Error naming the path when it cannot be opened.
    explicit CsvReader(const std::string& path)
        : owned_(std::make_unique<std::ifstream>(path, std::ios::binary)), in_(owned_.get()), name_(path) {
        SEAM_CHECK(owned_->is_open(), path, ": cannot open the file for reading");
    }
    /// Reads from a stream the caller keeps alive; `name` stands for the file in error messages.
    CsvReader(std::istream& in, std::string name) : in_(&in), name_(std::move(name)) {}

    /// Reads the next non-blank record into `fields`; returns false at the end of the input.
    bool next(std::vector<std::string>& fields) {
        std::string text;
        while (std::getline(*in_, text)) {
            ++line_;
            if (!text.empty() && text.back() == '\r') text.pop_back();
            if (line_ == 1 && text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
            if (text.find_first_not_of(" \t") == std::string::npos) continue;
            split(text, fields);
            return true;
        }
        SEAM_CHECK(!in_->bad(), name_, ": read error after line ", line_);
        return false;
    }

    /// 1-based line number of the record `next` returned last.
    std::size_t line() const { return line_; }
    const std::string& name() const { return name_; }

    /// Throws seam::Error "name:line: <parts>" for the current record.
    template <class... Parts>
    [[noreturn]] void fail(const Parts&... parts) const {
        seam::fail(name_, ":", line_, ": ", parts...);
    }

private:
    void split(std::string_view text, std::vector<std::string>& fields) const {
        fields.clear();
        std::size_t at = 0;
        while (true) {
            while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
            std::string field;
            if (at < text.size() && text[at] == '"') {
                const std::size_t column = fields.size() + 1;
                ++at;
                bool closed = false;
                while (at < text.size()) {
                    if (text[at] == '"') {
                        if (at + 1 < text.size() && text[at + 1] == '"') {
                            field += '"';
                            at += 2;
                            continue;
                        }
                        closed = true;
                        ++at;
                        break;
                    }
                    field += text[at++];
                }
                if (!closed) fail("column ", column, ": the quoted field is not closed on this line");
                while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
                if (at < text.size() && text[at] != ',')
                    fail("column ", column, ": unexpected text after the closing quote");
            } else {
                const std::size_t end = std::min(text.find(',', at), text.size());
                std::string_view raw = text.substr(at, end - at);
                while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t')) raw.remove_suffix(1);
                if (raw.find('"') != std::string_view::npos)
                    fail("column ", fields.size() + 1, ": a double quote inside an unquoted field");
                field = std::string(raw);
                at = end;
            }
            fields.push_back(std::move(field));
            if (at >= text.size()) break;
            ++at;  // the ','
            if (at == text.size()) {  // "a,b," ends with an empty field
                fields.emplace_back();
                break;
            }
        }
    }

    std::unique_ptr<std::ifstream> owned_;
    std::istream* in_;
    std::string name_;
    std::size_t line_ = 0;
};

/// Parses a whole field as a finite float (decimal or exponent form, optional sign); on failure throws
/// "name:line: column C (header): 'text' is not a number" through the reader, so the user sees where.
inline float parse_csv_float(const CsvReader& reader, std::string_view field, std::size_t column,
                             std::string_view column_name = {}) {
    auto where = [&] {
        std::string w = "column " + std::to_string(column);
        if (!column_name.empty()) w += " (" + std::string(column_name) + ")";
        return w;
    };
    std::string_view text = field;
    if (text.starts_with('+')) text.remove_prefix(1);
    if (text.empty()) reader.fail(where(), ": empty field where a number is expected");
    float value = 0.0f;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range) reader.fail(where(), ": '", field, "' is out of the range of float");
    if (ec != std::errc() || end != text.data() + text.size())
        reader.fail(where(), ": '", field, "' is not a number");
    if (!std::isfinite(value)) reader.fail(where(), ": '", field, "' is not a finite number");
    return value;
}

/// A CSV of one row per image: the header "image_name,<column>,<column>,..." and rows "<image>,<number>,...".
struct ScoreCsv {
    std::string file;
    std::vector<std::string> columns;      ///< the header's names after image_name
    std::vector<std::string> image_names;  ///< the kept rows, in file order
    std::vector<std::size_t> lines;        ///< 1-based line of each kept row
    std::vector<float> values;             ///< kept rows x columns.size(), row-major
    std::unordered_map<std::string, std::size_t> row_of_image;
};

/// Reads a score CSV. Checks that the first header field is image_name, that every row has as many fields as the
/// header, that every value is a finite number, and that no image has two rows; each error names file, line and
/// column. `keep(image_name)` says which rows to store (all when empty), so a file with rows for several splits
/// does not have to fit in memory; the other rows are still checked.
inline ScoreCsv read_score_csv(CsvReader& reader, const std::function<bool(std::string_view)>& keep = {}) {
    ScoreCsv csv;
    csv.file = reader.name();
    std::vector<std::string> fields;
    if (!reader.next(fields)) seam::fail(reader.name(), ": the file is empty (expected a header line image_name,...)");
    if (fields.front() != "image_name")
        reader.fail("the first column of the header must be 'image_name', found '", fields.front(), "'");
    csv.columns.assign(fields.begin() + 1, fields.end());
    const std::size_t width = fields.size();
    std::unordered_map<std::string, std::size_t> line_of_image;  // every row, kept or not, for the duplicate check
    while (reader.next(fields)) {
        if (fields.size() != width)
            reader.fail("the row has ", fields.size(), " fields but the header has ", width);
        if (fields.front().empty()) reader.fail("column 1 (image_name): empty image name");
        const auto [it, inserted] = line_of_image.emplace(fields.front(), reader.line());
        if (!inserted) reader.fail("image '", fields.front(), "' already has a row on line ", it->second);
        const bool kept = !keep || keep(fields.front());
        for (std::size_t c = 1; c < width; ++c) {
            const float v = parse_csv_float(reader, fields[c], c + 1, csv.columns[c - 1]);
            if (kept) csv.values.push_back(v);
        }
        if (kept) {
            csv.row_of_image.emplace(fields.front(), csv.image_names.size());
            csv.image_names.push_back(fields.front());
            csv.lines.push_back(reader.line());
        }
    }
    return csv;
}

/// Checks the header columns after image_name against `expected`, naming the first difference.
inline void expect_columns(const ScoreCsv& csv, std::span<const std::string> expected) {
    for (std::size_t c = 0; c < std::min(expected.size(), csv.columns.size()); ++c)
        if (csv.columns[c] != expected[c])
            seam::fail(csv.file, ":1: column ", c + 2, " is '", csv.columns[c], "', expected '", expected[c], "'");
    if (csv.columns.size() != expected.size())
        seam::fail(csv.file, ":1: the header has ", csv.columns.size() + 1, " columns, expected ", expected.size() + 1,
                   " (image_name then ", expected.size(), " scores", expected.empty() ? "" : ", the last one '",
                   expected.empty() ? "" : expected.back(), expected.empty() ? "" : "'", ")");
}

}  // namespace seam::eval
