// seam/io/json.hpp — a small, strict JSON reader and writer (RFC 8259), enough for safetensors
// headers and checkpoint metadata.
//
// Two ways to read:
//   json::Reader  a pull parser: the caller asks for the next object key, array element, string
//                 or integer. Memory stays proportional to what the caller keeps, so a hostile
//                 100 MB header of "[0,0,0,..." cannot make it build a 2 GB tree (safetensors.hpp
//                 reads its header this way).
//   json::parse   builds a json::Value tree with the Reader, for small documents.
// Strict means: exactly the RFC grammar (no comments, no trailing commas, no leading zeros, no
// NaN/Infinity, no single quotes), strings must be valid UTF-8 with no raw control characters,
// \u escapes must form whole code points (a lone surrogate is an error), repeated keys in one
// object are an error in parse(). Limits: the text length (default 100 MB, the safetensors
// header limit) and the nesting depth (default 64). Every error is a json::ParseError (a
// seam::Error, so a caller can catch it apart and add its file name) that says
// "JSON: byte <offset>: <what is wrong>", the offset counted from 0 at the first byte of the text.
//
// Writing: json::quote(s) gives a JSON string literal (UTF-8 passed through, control characters
// escaped), json::write(value) the compact text of a Value (no spaces, keys in stored order).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "seam/core/error.hpp"

namespace seam::io::json {

struct Limits {
    size_t max_size = 100'000'000;  // bytes of text
    size_t max_depth = 64;          // nested objects/arrays
};

enum class Kind { null, boolean, integer, number, string, array, object };

/// What the reader throws: a seam::Error, its own type so that a caller can add the file name.
class ParseError : public Error {
public:
    explicit ParseError(const std::string& what) : Error(what) {}
};

inline const char* kind_name(Kind kind) {
    switch (kind) {
        case Kind::null: return "null";
        case Kind::boolean: return "a boolean";
        case Kind::integer: return "an integer";
        case Kind::number: return "a number";
        case Kind::string: return "a string";
        case Kind::array: return "an array";
        case Kind::object: return "an object";
    }
    return "?";
}

namespace detail {

/// Append the UTF-8 encoding of a code point (the caller guarantees <= 0x10FFFF, not a surrogate).
inline void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when it is not valid UTF-8
/// (overlong forms, surrogates and code points above U+10FFFF are invalid, RFC 3629).
inline size_t utf8_sequence_length(std::string_view s, size_t i) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
    else if (b0 == 0xE0) { n = 3; lo = 0xA0; }
    else if (b0 >= 0xE1 && b0 <= 0xEC) n = 3;
    else if (b0 == 0xED) { n = 3; hi = 0x9F; }  // U+D800..DFFF are surrogates, not characters
    else if (b0 >= 0xEE && b0 <= 0xEF) n = 3;
    else if (b0 == 0xF0) { n = 4; lo = 0x90; }
    else if (b0 >= 0xF1 && b0 <= 0xF3) n = 4;
    else if (b0 == 0xF4) { n = 4; hi = 0x8F; }  // nothing above U+10FFFF
    else return 0;
    if (i + n > s.size()) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k)
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    return n;
}

}  // namespace detail

/// True when `s` is valid UTF-8.
inline bool is_valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        size_t n = detail::utf8_sequence_length(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

/// `s` as a JSON string literal with its quotes. Throws when `s` is not valid UTF-8 (JSON text
/// must be, and writing it anyway would produce a file no strict reader accepts).
inline std::string quote(std::string_view s) {
    SEAM_CHECK(is_valid_utf8(s), "JSON: cannot write a string that is not valid UTF-8");
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (u < 0x20) {
                    out += "\\u00";
                    out += hex[u >> 4];
                    out += hex[u & 15];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

/// `s` as a JSON string literal, every byte that does not start a valid UTF-8 sequence replaced by
/// U+FFFD: for text read from files (names, paths, descriptions) that must never stop a report.
inline std::string quote_lossy(std::string_view s) {
    std::string valid;
    valid.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        const size_t n = detail::utf8_sequence_length(s, i);
        if (n == 0) {
            valid += "\xEF\xBF\xBD";  // U+FFFD, replacing one bad byte
            ++i;
        } else {
            valid.append(s.substr(i, n));
            i += n;
        }
    }
    return quote(valid);
}

/// A pull parser over one JSON text. Typical use, for {"a": [1, 2], "b": "x"}:
///   Reader r(text);
///   r.begin_object();
///   std::string key;
///   while (r.next_key(key)) {
///       if (key == "a") { r.begin_array(); while (r.next_element()) use(r.read_integer()); }
///       else r.skip_value();
///   }
///   r.finish();
/// Every method throws seam::Error ("JSON: byte N: ...") at the first thing that is not JSON or
/// not what was asked for.
class Reader {
public:
    explicit Reader(std::string_view text, Limits limits = {}) : text_(text), limits_(limits) {
        if (text.size() > limits.max_size)
            throw ParseError(seam::detail::concat("JSON: the text is ", text.size(), " bytes long, more than the limit of ",
                                                  limits.max_size));
    }

    /// Byte offset of the next unread character (after whitespace once peek() has run).
    size_t offset() const { return pos_; }
    /// Byte offset of the opening quote of the key next_key() returned last.
    size_t key_offset() const { return key_offset_; }

    /// The kind of the next value, without consuming it (integer vs number is decided by the
    /// presence of a fraction or exponent, or by overflow of int64).
    Kind peek() {
        skip_whitespace();
        if (pos_ >= text_.size()) error_at(pos_, "unexpected end of the text, expected a value");
        switch (text_[pos_]) {
            case '{': return Kind::object;
            case '[': return Kind::array;
            case '"': return Kind::string;
            case 't': case 'f': return Kind::boolean;
            case 'n': return Kind::null;
            default: break;
        }
        char c = text_[pos_];
        if (c == '-' || (c >= '0' && c <= '9')) {
            auto [end, integral] = scan_number(pos_);
            (void)end;
            return integral && parse_int64(pos_, end).first ? Kind::integer : Kind::number;
        }
        error_at(pos_, "unexpected character ", describe(c), ", expected a value");
    }

    void begin_object() { open('{', "an object"); }
    void begin_array() { open('[', "an array"); }

    /// The next key of the object opened last, or false at its closing '}' (consumed).
    bool next_key(std::string& key) {
        if (!next_member('}', "object")) return false;
        skip_whitespace();
        if (pos_ >= text_.size() || text_[pos_] != '"') error_at(pos_, "expected a string key (object keys are quoted)");
        key_offset_ = pos_;
        key = read_string();
        skip_whitespace();
        if (pos_ >= text_.size() || text_[pos_] != ':') error_at(pos_, "expected ':' after the object key");
        ++pos_;
        return true;
    }
    /// True when another element of the array opened last follows; false at its ']' (consumed).
    bool next_element() { return next_member(']', "array"); }

    std::string read_string() {
        skip_whitespace();
        expect_kind(Kind::string);
        const size_t start = pos_++;
        std::string out;
        while (true) {
            if (pos_ >= text_.size()) error_at(start, "the string starting here is not closed");
            const char c = text_[pos_];
            const auto u = static_cast<unsigned char>(c);
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (u < 0x20) error_at(pos_, "raw control character ", describe(c), " inside a string (escape it)");
            if (c == '\\') {
                read_escape(out);
                continue;
            }
            size_t n = detail::utf8_sequence_length(text_, pos_);
            if (n == 0) error_at(pos_, "invalid UTF-8 inside a string");
            out.append(text_.substr(pos_, n));
            pos_ += n;
        }
    }

    /// A whole number that fits in int64 (no fraction, no exponent).
    int64_t read_integer() {
        skip_whitespace();
        const size_t start = pos_;
        if (peek() != Kind::integer) {
            if (peek() == Kind::number) error_at(start, "expected a whole number that fits in 64 bits, got ", token_at(start));
            expect_kind(Kind::integer);
        }
        auto [end, integral] = scan_number(start);
        (void)integral;
        int64_t value = parse_int64(start, end).second;
        pos_ = end;
        return value;
    }

    /// Any JSON number, as the nearest double (an integer beyond 2^53 rounds).
    double read_number() {
        skip_whitespace();
        const Kind kind = peek();
        if (kind != Kind::integer && kind != Kind::number) expect_kind(Kind::number);
        auto [end, integral] = scan_number(pos_);
        (void)integral;
        double value = 0;
        auto result = std::from_chars(text_.data() + pos_, text_.data() + end, value);
        if (result.ec == std::errc::result_out_of_range || !std::isfinite(value))
            error_at(pos_, "the number ", token_at(pos_), " is out of the range of a double");
        if (result.ec != std::errc() || result.ptr != text_.data() + end) error_at(pos_, "malformed number");
        pos_ = end;
        return value;
    }

    bool read_bool() {
        skip_whitespace();
        expect_kind(Kind::boolean);
        if (text_.substr(pos_, 4) == "true") { pos_ += 4; return true; }
        if (text_.substr(pos_, 5) == "false") { pos_ += 5; return false; }
        error_at(pos_, "expected true or false");
    }

    void read_null() {
        skip_whitespace();
        expect_kind(Kind::null);
        if (text_.substr(pos_, 4) != "null") error_at(pos_, "expected null");
        pos_ += 4;
    }

    /// Consume the next value whatever it is (validating it all the same).
    void skip_value() {
        switch (peek()) {
            case Kind::object: {
                begin_object();
                std::string key;
                while (next_key(key)) skip_value();
                return;
            }
            case Kind::array:
                begin_array();
                while (next_element()) skip_value();
                return;
            case Kind::string: read_string(); return;
            case Kind::integer: read_integer(); return;
            case Kind::number: read_number(); return;
            case Kind::boolean: read_bool(); return;
            case Kind::null: read_null(); return;
        }
    }

    /// After the top-level value: only whitespace may remain.
    void finish() {
        skip_whitespace();
        if (!open_.empty()) error_at(pos_, "finish() called inside an unclosed ", open_.back().closer == '}' ? "object" : "array");
        if (pos_ != text_.size()) error_at(pos_, "unexpected ", describe(text_[pos_]), " after the end of the JSON value");
    }

    /// Throw "JSON: byte <offset>: <parts>" (for callers that find a valid value they cannot use).
    template <class... Parts>
    [[noreturn]] void error_at(size_t offset, const Parts&... parts) const {
        throw ParseError(seam::detail::concat("JSON: byte ", offset, ": ", parts...));
    }

private:
    struct Open {
        char closer;
        bool first;  // no member read yet (so no comma is expected)
    };

    void skip_whitespace() {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
            ++pos_;
        }
    }

    static std::string describe(char c) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7F) return std::string("'") + c + "'";
        static const char* hex = "0123456789ABCDEF";
        return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
    }

    /// The number or word starting at `start`, for messages (at most 40 characters).
    std::string token_at(size_t start) const {
        size_t end = start;
        while (end < text_.size() && end - start < 40) {
            char c = text_[end];
            if (c == ',' || c == ']' || c == '}' || c == ' ' || c == '\n' || c == '\t' || c == '\r') break;
            ++end;
        }
        std::string token(text_.substr(start, end - start));
        for (char& c : token)
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) c = '?';
        return token;
    }

    void expect_kind(Kind wanted) {
        Kind got = peek();
        if (got != wanted) error_at(pos_, "expected ", kind_name(wanted), ", got ", kind_name(got));
    }

    void open(char opener, const char* what) {
        skip_whitespace();
        if (pos_ >= text_.size() || text_[pos_] != opener) {
            if (pos_ >= text_.size()) error_at(pos_, "unexpected end of the text, expected ", what);
            expect_kind(opener == '{' ? Kind::object : Kind::array);
        }
        if (open_.size() >= limits_.max_depth)
            error_at(pos_, "nesting deeper than the limit of ", limits_.max_depth, " levels");
        ++pos_;
        open_.push_back({opener == '{' ? '}' : ']', true});
    }

    /// Shared by next_key and next_element: consume ',' between members or the closer.
    bool next_member(char closer, const char* what) {
        if (open_.empty() || open_.back().closer != closer)
            error_at(pos_, "next_", closer == '}' ? "key" : "element", "() called outside an ", what);
        skip_whitespace();
        if (pos_ >= text_.size()) error_at(pos_, "unexpected end of the text inside an ", what);
        Open& top = open_.back();
        if (text_[pos_] == closer) {
            ++pos_;
            open_.pop_back();
            return false;
        }
        if (!top.first) {
            if (text_[pos_] != ',')
                error_at(pos_, "expected ',' or '", closer, "' in an ", what, ", got ", describe(text_[pos_]));
            ++pos_;
            skip_whitespace();
            if (pos_ < text_.size() && text_[pos_] == closer) error_at(pos_, "trailing comma before '", closer, "'");
        }
        top.first = false;
        return true;
    }

    /// The end of the number token starting at `start` and whether it is integral; throws when
    /// the token is not an RFC 8259 number.
    std::pair<size_t, bool> scan_number(size_t start) const {
        size_t p = start;
        auto digit = [&](size_t k) { return k < text_.size() && text_[k] >= '0' && text_[k] <= '9'; };
        if (p < text_.size() && text_[p] == '-') ++p;
        if (!digit(p)) error_at(start, "malformed number ", token_at(start), " (a digit must follow '-')");
        if (text_[p] == '0') {
            ++p;
            if (digit(p)) error_at(start, "malformed number ", token_at(start), " (leading zeros are not allowed)");
        } else {
            while (digit(p)) ++p;
        }
        bool integral = true;
        if (p < text_.size() && text_[p] == '.') {
            integral = false;
            ++p;
            if (!digit(p)) error_at(start, "malformed number ", token_at(start), " (a digit must follow '.')");
            while (digit(p)) ++p;
        }
        if (p < text_.size() && (text_[p] == 'e' || text_[p] == 'E')) {
            integral = false;
            ++p;
            if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
            if (!digit(p)) error_at(start, "malformed number ", token_at(start), " (the exponent has no digits)");
            while (digit(p)) ++p;
        }
        return {p, integral};
    }

    /// (fits, value) for an integral token in [start, end).
    std::pair<bool, int64_t> parse_int64(size_t start, size_t end) const {
        int64_t value = 0;
        auto result = std::from_chars(text_.data() + start, text_.data() + end, value);
        return {result.ec == std::errc() && result.ptr == text_.data() + end, value};
    }

    uint32_t read_hex4(size_t at) const {
        if (at + 4 > text_.size()) error_at(at, "\\u escape needs four hex digits");
        uint32_t v = 0;
        for (size_t k = 0; k < 4; ++k) {
            char c = text_[at + k];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
            else error_at(at + k, "\\u escape needs four hex digits, got ", describe(c));
        }
        return v;
    }

    void read_escape(std::string& out) {
        const size_t start = pos_;
        if (pos_ + 1 >= text_.size()) error_at(start, "unfinished escape at the end of the text");
        const char c = text_[pos_ + 1];
        pos_ += 2;
        switch (c) {
            case '"': out += '"'; return;
            case '\\': out += '\\'; return;
            case '/': out += '/'; return;
            case 'b': out += '\b'; return;
            case 'f': out += '\f'; return;
            case 'n': out += '\n'; return;
            case 'r': out += '\r'; return;
            case 't': out += '\t'; return;
            case 'u': break;
            default: error_at(start, "unknown escape \\", describe(c));
        }
        uint32_t cp = read_hex4(pos_);
        pos_ += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF) error_at(start, "\\u escape is a lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by \u and a low surrogate: together one code point.
            if (text_.substr(pos_, 2) != "\\u") error_at(start, "\\u escape is a high surrogate without its low half");
            uint32_t low = read_hex4(pos_ + 2);
            if (low < 0xDC00 || low > 0xDFFF) error_at(pos_, "\\u escape after a high surrogate is not a low surrogate");
            pos_ += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        detail::append_utf8(out, cp);
    }

    std::string_view text_;
    Limits limits_;
    size_t pos_ = 0;
    size_t key_offset_ = 0;
    std::vector<Open> open_;
};

/// A parsed JSON value (a tree; for small documents — see Reader for large ones).
class Value {
public:
    using Array = std::vector<Value>;
    using Object = std::vector<std::pair<std::string, Value>>;  // document order, unique keys

    Value() = default;  // null
    static Value boolean(bool b) { Value v; v.kind_ = Kind::boolean; v.bool_ = b; return v; }
    static Value integer(int64_t i) { Value v; v.kind_ = Kind::integer; v.int_ = i; return v; }
    static Value number(double d) { Value v; v.kind_ = Kind::number; v.number_ = d; return v; }
    static Value string(std::string s) { Value v; v.kind_ = Kind::string; v.string_ = std::move(s); return v; }
    static Value array(Array a = {}) { Value v; v.kind_ = Kind::array; v.array_ = std::move(a); return v; }
    static Value object(Object o = {}) { Value v; v.kind_ = Kind::object; v.object_ = std::move(o); return v; }

    Kind kind() const { return kind_; }
    bool is_null() const { return kind_ == Kind::null; }
    /// Where the value started in the parsed text (0 for values built in code).
    size_t offset() const { return offset_; }

    bool as_bool() const { check(Kind::boolean); return bool_; }
    int64_t as_integer() const { check(Kind::integer); return int_; }
    /// Integers convert to double (exactly up to 2^53).
    double as_number() const {
        if (kind_ == Kind::integer) return static_cast<double>(int_);
        check(Kind::number);
        return number_;
    }
    const std::string& as_string() const { check(Kind::string); return string_; }
    const Array& as_array() const { check(Kind::array); return array_; }
    const Object& as_object() const { check(Kind::object); return object_; }
    Array& as_array() { check(Kind::array); return array_; }
    Object& as_object() { check(Kind::object); return object_; }

    /// The member called `key` of an object, or nullptr.
    const Value* find(std::string_view key) const {
        for (const auto& [k, v] : as_object())
            if (k == key) return &v;
        return nullptr;
    }

private:
    friend Value parse_value(Reader&);

    void check(Kind wanted) const {
        if (kind_ != wanted)
            throw ParseError(seam::detail::concat("JSON: byte ", offset_, ": expected ", kind_name(wanted), ", got ",
                                                  kind_name(kind_)));
    }

    Kind kind_ = Kind::null;
    size_t offset_ = 0;
    bool bool_ = false;
    int64_t int_ = 0;
    double number_ = 0;
    std::string string_;
    Array array_;
    Object object_;
};

/// Read one value with a Reader (the Reader's depth limit bounds the recursion).
inline Value parse_value(Reader& reader) {
    const Kind kind = reader.peek();
    const size_t offset = reader.offset();
    Value out;
    switch (kind) {
        case Kind::null: reader.read_null(); break;
        case Kind::boolean: out = Value::boolean(reader.read_bool()); break;
        case Kind::integer: out = Value::integer(reader.read_integer()); break;
        case Kind::number: out = Value::number(reader.read_number()); break;
        case Kind::string: out = Value::string(reader.read_string()); break;
        case Kind::array: {
            reader.begin_array();
            Value::Array items;
            while (reader.next_element()) items.push_back(parse_value(reader));
            out = Value::array(std::move(items));
            break;
        }
        case Kind::object: {
            reader.begin_object();
            Value::Object members;
            std::unordered_set<std::string> keys;
            std::string key;
            while (reader.next_key(key)) {
                if (!keys.insert(key).second) reader.error_at(reader.key_offset(), "repeated key ", quote(key), " in one object");
                members.emplace_back(key, parse_value(reader));
            }
            out = Value::object(std::move(members));
            break;
        }
    }
    out.offset_ = offset;
    return out;
}

/// Parse a whole JSON text (one value, surrounding whitespace allowed).
inline Value parse(std::string_view text, Limits limits = {}) {
    Reader reader(text, limits);
    Value value = parse_value(reader);
    reader.finish();
    return value;
}

/// A double as JSON: the shortest text that reads back as the same double, with ".0" added when
/// that text looks like an integer ("100.0", "-0.0"), so that it reads back as a number and not
/// as an integer (which would lose the sign of -0.0). Non-finite values have no JSON form and throw.
inline std::string number_text(double x) {
    SEAM_CHECK(std::isfinite(x), "JSON: cannot write the non-finite number ", x);
    char buf[64];
    auto result = std::to_chars(buf, buf + sizeof buf, x);
    std::string text(buf, result.ptr);
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text;
}

/// The compact JSON text of a value.
inline std::string write(const Value& value) {
    switch (value.kind()) {
        case Kind::null: return "null";
        case Kind::boolean: return value.as_bool() ? "true" : "false";
        case Kind::integer: return std::to_string(value.as_integer());
        case Kind::number: return number_text(value.as_number());
        case Kind::string: return quote(value.as_string());
        case Kind::array: {
            std::string out = "[";
            for (size_t i = 0; i < value.as_array().size(); ++i) out += (i ? "," : "") + write(value.as_array()[i]);
            return out + "]";
        }
        case Kind::object: {
            std::string out = "{";
            bool first = true;
            for (const auto& [k, v] : value.as_object()) {
                out += (first ? "" : ",") + quote(k) + ":" + write(v);
                first = false;
            }
            return out + "}";
        }
    }
    return "null";
}

}  // namespace seam::io::json
