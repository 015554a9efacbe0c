// seam/data/text_table.hpp — read whitespace-separated text tables line by line, with
// "file:line: problem" error messages.
//
// Research list files (DeepFashion's annotation lists among them) are column-aligned text:
// fields separated by runs of spaces and sometimes tabs, LF or CRLF line endings, now and then a
// UTF-8 byte-order mark. TextTable reads such a table from a file (streamed in 1 MiB blocks, so
// a 900 MB list needs no 900 MB buffer) or from a buffer in memory, hands out one line at a time
// as a string_view, splits it into tokens without allocating, parses numbers with
// std::from_chars, and turns every problem into a seam::Error that names the source and the
// 1-based line, e.g. "Anno/list_bbox.txt:57: expected 5 tokens, got 4".
//
// It also provides display_width(), the number of terminal columns a UTF-8 string takes
// (CJK characters take two), which writers of column-aligned tables with Chinese text need.
#pragma once

#include <seam/core/error.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace seam::data {

/// The field separators of a text table: space, tab, and the carriage return of CRLF files.
inline bool is_table_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/// Split `line` at runs of table spaces into `tokens` (cleared first; views into `line`).
inline void split_tokens(std::string_view line, std::vector<std::string_view>& tokens) {
    tokens.clear();
    std::size_t i = 0;
    const std::size_t n = line.size();
    while (i < n) {
        while (i < n && is_table_space(line[i])) ++i;
        const std::size_t start = i;
        while (i < n && !is_table_space(line[i])) ++i;
        if (i > start) tokens.push_back(line.substr(start, i - start));
    }
}

/// `text` without leading and trailing table spaces.
inline std::string_view trim_table_spaces(std::string_view text) {
    while (!text.empty() && is_table_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_table_space(text.back())) text.remove_suffix(1);
    return text;
}

/// A token quoted for an error message. Long tokens are cut and control bytes escaped, so that
/// a corrupted multi-megabyte line never becomes a multi-megabyte, unprintable message.
inline std::string quote_token(std::string_view token) {
    constexpr std::size_t max_shown = 60;
    std::string out = "'";
    const std::size_t shown = token.size() < max_shown ? token.size() : max_shown;
    for (std::size_t i = 0; i < shown; ++i) {
        const auto byte = static_cast<unsigned char>(token[i]);
        if (byte < 0x20 || byte == 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 15];
        } else {
            out += static_cast<char>(byte);
        }
    }
    if (shown < token.size()) out += "...";
    out += "'";
    return out;
}

/// Whole-token integer parse (decimal only, so zero-padded "072" is 72, never octal).
inline bool parse_decimal(std::string_view token, long long& value) {
    const char* end = token.data() + token.size();
    const auto [ptr, ec] = std::from_chars(token.data(), end, value, 10);
    return ec == std::errc{} && ptr == end && !token.empty();
}

/// Whole-token finite float parse ("072", "72.5", "1e2"; not "nan", "inf" or "+1").
inline bool parse_finite_float(std::string_view token, float& value) {
    const char* end = token.data() + token.size();
    const auto [ptr, ec] = std::from_chars(token.data(), end, value, std::chars_format::general);
    return ec == std::errc{} && ptr == end && !token.empty() && std::isfinite(value);
}

/// Terminal columns taken by a UTF-8 string: East Asian wide and full-width characters count
/// two, everything else one. Bytes that are not valid UTF-8 count one each. (The DeepFashion
/// Consumer-to-shop attribute lists align their columns this way.)
inline std::size_t display_width(std::string_view utf8) {
    std::size_t width = 0;
    std::size_t i = 0;
    while (i < utf8.size()) {
        const auto lead = static_cast<unsigned char>(utf8[i]);
        std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 6 ? 2 : (lead >> 4) == 14 ? 3
                                             : (lead >> 3) == 30 ? 4 : 0;
        char32_t code = length == 1 ? lead : length == 2 ? (lead & 0x1f)
                                          : length == 3 ? (lead & 0x0f) : (lead & 0x07);
        bool valid = length != 0 && i + length <= utf8.size();
        for (std::size_t k = 1; valid && k < length; ++k) {
            const auto next = static_cast<unsigned char>(utf8[i + k]);
            valid = (next & 0xc0) == 0x80;
            code = (code << 6) | (next & 0x3f);
        }
        if (!valid) {
            width += 1;
            i += 1;
            continue;
        }
        const bool wide = (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) ||
                          (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) ||
                          (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) ||
                          (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x20000 && code <= 0x3fffd);
        width += wide ? 2 : 1;
        i += length;
    }
    return width;
}

/// A text table read one line at a time from a file or from memory.
///
///     TextTable table("Anno/list_bbox.txt");
///     while (table.next_line()) {
///         const auto& tokens = table.tokens();
///         if (tokens.size() != 5) table.fail("expected 5 tokens, got ", tokens.size());
///     }
///
/// line() and tokens() are views that stay valid until the next call of next_line().
class TextTable {
public:
    /// Stream the file at `path`; the path (as given) names the source in error messages.
    explicit TextTable(const std::filesystem::path& path) : source_name_(path.string()) {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) seam::fail(source_name_, ": is a directory, not a text file");
        file_.open(path, std::ios::binary);
        if (!file_) seam::fail(source_name_, ": cannot open the file for reading");
        // Small files get a small buffer (the first read then finds the end of the file).
        const auto size = std::filesystem::file_size(path, ec);
        if (!ec && size < kBlockSize) block_size_ = static_cast<std::size_t>(size) + 1;
    }

    /// Read `text` in place (it is not copied and must outlive the table).
    TextTable(std::string_view text, std::string source_name)
        : source_name_(std::move(source_name)), text_(text), end_of_input_(true) {}

    TextTable(const TextTable&) = delete;
    TextTable& operator=(const TextTable&) = delete;

    /// Advance to the next line; false at the end of the input. A final line without a line
    /// terminator still counts; a terminator at the very end does not start an empty line.
    bool next_line() {
        tokens_valid_ = false;
        std::size_t newline = find_newline();
        if (newline == std::string_view::npos) {
            if (next_ >= text_.size()) return false;
            newline = text_.size();
        }
        line_ = text_.substr(next_, newline - next_);
        next_ = newline < text_.size() ? newline + 1 : newline;
        if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);
        ++line_number_;
        if (line_number_ == 1 && line_.substr(0, 3) == "\xEF\xBB\xBF") line_.remove_prefix(3);
        return true;
    }

    /// The current line without its terminator (LF or CRLF), and without the BOM on line 1.
    std::string_view line() const { return line_; }

    /// 1-based number of the current line (0 before the first next_line()).
    std::size_t line_number() const { return line_number_; }

    /// The whitespace-separated tokens of the current line (computed once per line).
    const std::vector<std::string_view>& tokens() {
        if (!tokens_valid_) {
            split_tokens(line_, tokens_);
            tokens_valid_ = true;
        }
        return tokens_;
    }

    const std::string& source_name() const { return source_name_; }

    /// Throw seam::Error "source:line: parts..." for the current line.
    template <class... Parts>
    [[noreturn]] void fail(const Parts&... parts) const {
        fail_at(line_number_, parts...);
    }

    /// Throw seam::Error "source:line: parts..." for another line of this source.
    template <class... Parts>
    [[noreturn]] void fail_at(std::size_t line, const Parts&... parts) const {
        seam::fail(source_name_, ":", line, ": ", parts...);
    }

    /// Parse an integer token in [low, high]; `what` names the field in the error message.
    int parse_int(std::string_view token, std::string_view what, long long low, long long high) const {
        long long value = 0;
        if (!parse_decimal(token, value)) fail(what, " must be an integer, got ", quote_token(token));
        if (value < low || value > high) fail(what, " must be in [", low, ", ", high, "], got ", value);
        return static_cast<int>(value);
    }

    /// Parse a finite decimal number; `what` names the field in the error message.
    float parse_float(std::string_view token, std::string_view what) const {
        float value = 0;
        if (!parse_finite_float(token, value)) fail(what, " must be a finite number, got ", quote_token(token));
        return value;
    }

private:
    // Position of the next '\n' at or after next_, reading more of the file as needed.
    std::size_t find_newline() {
        std::size_t searched = next_;  // bytes before this hold no '\n' (a long line spans blocks)
        for (;;) {
            const std::size_t found = text_.find('\n', searched);
            if (found != std::string_view::npos || end_of_input_) return found;
            searched = text_.size() - next_;  // refill() moves the unconsumed bytes to offset 0
            refill();
        }
    }

    // Drop the consumed bytes and append the next block of the file.
    void refill() {
        buffer_.erase(0, next_);
        next_ = 0;
        const std::size_t kept = buffer_.size();
        buffer_.resize(kept + block_size_);
        file_.read(buffer_.data() + kept, static_cast<std::streamsize>(block_size_));
        block_size_ = kBlockSize;  // in case the file grew since its size was taken
        const auto got = static_cast<std::size_t>(file_.gcount());
        buffer_.resize(kept + got);
        if (file_.bad()) seam::fail(source_name_, ": read error");
        if (got == 0 || file_.eof()) end_of_input_ = true;
        text_ = buffer_;
    }

    static constexpr std::size_t kBlockSize = std::size_t{1} << 20;

    std::string source_name_;
    std::ifstream file_;
    std::size_t block_size_ = kBlockSize;
    std::string buffer_;          // file mode: the unconsumed bytes read so far
    std::string_view text_;       // the bytes available now (the buffer, or the whole text)
    std::size_t next_ = 0;        // start of the next line inside text_
    bool end_of_input_ = false;   // no more bytes will arrive after text_
    std::string_view line_;
    std::size_t line_number_ = 0;
    std::vector<std::string_view> tokens_;
    bool tokens_valid_ = false;
};

}  // namespace seam::data
