// safetensors and JSON: files laid out byte by byte here against the format's description, the
// reference writer's exact byte layout, half/bfloat16 rounding worked out by hand, every class of
// malformed file, atomic writes, and state_dict files.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <seam/io/json.hpp>
#include <seam/io/safetensors.hpp>
#include <seam/nn/layers.hpp>
#include <seam/nn/sequential.hpp>
#include <seam/seam.hpp>
#include <string>
#include <vector>

using namespace seam;
using namespace seam::io;
namespace fs = std::filesystem;

namespace {

/// A fresh empty folder under the system's temp folder, removed with everything in it at scope exit.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "seam_safetensors_XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
    /// Names of the files in the folder (to find leftover temporary files).
    std::vector<std::string> listing() const {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(path)) names.push_back(entry.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }
};

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The 8-byte little-endian length followed by the header text, then the data bytes.
std::string file_of(const std::string& header, const std::string& data) {
    std::string out(8, '\0');
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
    return out + header + data;
}

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) out += static_cast<char>(v);
    return out;
}

/// The error message parse_safetensors gives for this file ("" when it loads).
std::string error_of(const std::string& file) {
    try {
        parse_safetensors(file.data(), file.size(), "test.safetensors");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
    if (a.shape() != b.shape()) return false;
    auto va = a.to_vector(), vb = b.to_vector();
    return va.size() == vb.size() && (va.empty() || std::memcmp(va.data(), vb.data(), va.size() * sizeof(T)) == 0);
}

}  // namespace

// ----- JSON ----------------------------------------------------------------------------------------

TEST_CASE("json: parse reads objects, arrays, strings with escapes, integers and numbers") {
    auto v = json::parse(R"( {"a": [1, -2, 3.5, 1e2, true, false, null], "s": "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "big": 9223372036854775808} )");
    const auto& a = v.find("a")->as_array();
    REQUIRE(a.size() == 7);
    CHECK(a[0].as_integer() == 1);
    CHECK(a[1].as_integer() == -2);
    CHECK(a[2].kind() == json::Kind::number);
    CHECK(a[2].as_number() == 3.5);
    CHECK(a[3].kind() == json::Kind::number);  // an exponent makes it a number even when whole
    CHECK(a[3].as_number() == 100.0);
    CHECK(a[4].as_bool());
    CHECK_FALSE(a[5].as_bool());
    CHECK(a[6].is_null());
    // é is U+00E9 = C3 A9 in UTF-8; the surrogate pair D83D DE00 is U+1F600 = F0 9F 98 80.
    CHECK(v.find("s")->as_string() == "q\"\\/\b\f\n\r\t\xC3\xA9\xF0\x9F\x98\x80");
    // 2^63 does not fit in int64: it is a number.
    CHECK(v.find("big")->kind() == json::Kind::number);
    CHECK(v.find("big")->as_number() == 9223372036854775808.0);
    CHECK(v.find("missing") == nullptr);
    CHECK(v.find("a")->offset() == 7);  // the '[' is byte 7 of the text
}

TEST_CASE("json: write gives the compact text and quote escapes control characters") {
    const std::string compact = R"({"k":[1,-2,0.5,"x\ny",{"e":{}},[]],"t":true,"n":null})";
    CHECK(json::write(json::parse(compact)) == compact);
    CHECK(json::quote(std::string("a\x01\x1f\"\\") + "\xC3\xA9") == "\"a\\u0001\\u001f\\\"\\\\\xC3\xA9\"");
    CHECK_THROWS_WITH_AS(json::quote("\xFF"), doctest::Contains("not valid UTF-8"), Error);
    CHECK_THROWS_AS(json::number_text(std::numeric_limits<double>::infinity()), Error);
    CHECK(json::number_text(0.1) == "0.1");
    CHECK(json::number_text(1e20) == "1e+20");
    // Whole doubles keep a fraction so they read back as numbers: -0.0 would otherwise come back
    // as the integer 0 and lose its sign (found by fuzz/fuzz_safetensors.cpp).
    CHECK(json::number_text(100.0) == "100.0");
    CHECK(json::write(json::parse("-0e3")) == "-0.0");
    CHECK(std::signbit(json::parse(json::write(json::parse("-0e3"))).as_number()));
    CHECK(json::parse("[100.0]").as_array()[0].kind() == json::Kind::number);
}

TEST_CASE("json: strict grammar errors name the byte offset") {
    auto message = [](std::string_view text, json::Limits limits = {}) {
        try {
            json::parse(text, limits);
        } catch (const json::ParseError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    CHECK(message(R"({"a":1,})") == "JSON: byte 7: trailing comma before '}'");
    CHECK(message("[01]") == "JSON: byte 1: malformed number 01 (leading zeros are not allowed)");
    CHECK(message("[1.]").find("byte 1: malformed number") != std::string::npos);
    CHECK(message("[-]").find("byte 1: malformed number") != std::string::npos);
    CHECK(message("[1e]").find("the exponent has no digits") != std::string::npos);
    CHECK(message("[.5]") == "JSON: byte 1: unexpected character '.', expected a value");
    CHECK(message("[+1]") == "JSON: byte 1: unexpected character '+', expected a value");
    CHECK(message("{'a':1}") == "JSON: byte 1: expected a string key (object keys are quoted)");
    CHECK(message(R"({"a" 1})") == "JSON: byte 5: expected ':' after the object key");
    CHECK(message("[1 2]") == "JSON: byte 3: expected ',' or ']' in an array, got '2'");
    CHECK(message("[1] x") == "JSON: byte 4: unexpected 'x' after the end of the JSON value");
    CHECK(message("[tru]").find("byte 1: expected true or false") != std::string::npos);
    CHECK(message("[NaN]") == "JSON: byte 1: unexpected character 'N', expected a value");
    CHECK(message("\"abc") == "JSON: byte 0: the string starting here is not closed");
    CHECK(message("\"a\nb\"") == "JSON: byte 2: raw control character byte 0x0A inside a string (escape it)");
    CHECK(message(R"("\x")") == "JSON: byte 1: unknown escape \\'x'");
    CHECK(message(R"("\ud83d")") == "JSON: byte 1: \\u escape is a high surrogate without its low half");
    CHECK(message(R"("\ude00")") == "JSON: byte 1: \\u escape is a lone low surrogate");
    CHECK(message(R"("\u12G4")") == "JSON: byte 5: \\u escape needs four hex digits, got 'G'");
    CHECK(message("\"\xC0\xAF\"") == "JSON: byte 1: invalid UTF-8 inside a string");      // overlong '/'
    CHECK(message("\"\xED\xA0\x80\"") == "JSON: byte 1: invalid UTF-8 inside a string");  // a surrogate in UTF-8
    CHECK(message("\"\xF4\x90\x80\x80\"") == "JSON: byte 1: invalid UTF-8 inside a string");  // above U+10FFFF
    CHECK(message(R"({"a":1,"a":2})") == "JSON: byte 7: repeated key \"a\" in one object");
    CHECK(message("") == "JSON: byte 0: unexpected end of the text, expected a value");
    CHECK(message("[1,") == "JSON: byte 3: unexpected end of the text, expected a value");
    // Limits: 3 levels allowed, the 4th '[' (byte 3) is refused; the text length is checked first.
    CHECK(message("[[[[]]]]", {100, 3}) == "JSON: byte 3: nesting deeper than the limit of 3 levels");
    CHECK(message("[[[]]]", {100, 3}).empty());
    CHECK(message("[1, 2, 3]", {8, 64}) == "JSON: the text is 9 bytes long, more than the limit of 8");
    // The default depth limit stops a deep document without recursion trouble.
    CHECK(message(std::string(100000, '[')).find("nesting deeper than the limit of 64") != std::string::npos);
}

TEST_CASE("json: Reader pulls values one at a time and checks what is asked for") {
    json::Reader r(R"({"shape": [2, 3], "name": "w", "skip": {"x": [1, {"y": null}]}})");
    r.begin_object();
    std::string key;
    std::vector<int64_t> shape;
    std::string name;
    while (r.next_key(key)) {
        if (key == "shape") {
            r.begin_array();
            while (r.next_element()) shape.push_back(r.read_integer());
        } else if (key == "name") {
            name = r.read_string();
        } else {
            r.skip_value();
        }
    }
    r.finish();
    CHECK(shape == std::vector<int64_t>{2, 3});
    CHECK(name == "w");

    json::Reader wrong(R"([1.5, "x"])");
    wrong.begin_array();
    REQUIRE(wrong.next_element());
    CHECK_THROWS_WITH_AS(wrong.read_integer(), "JSON: byte 1: expected a whole number that fits in 64 bits, got 1.5",
                         json::ParseError);
}

// ----- half and bfloat16 ---------------------------------------------------------------------------

TEST_CASE("safetensors: F16 rounding to nearest even, worked out by hand") {
    // binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits; subnormal unit 2^-24, max 65504.
    CHECK(half_from_double(1.0) == 0x3C00);
    CHECK(half_from_double(-2.0) == 0xC000);
    CHECK(half_from_double(0.0) == 0x0000);
    CHECK(half_from_double(-0.0) == 0x8000);
    CHECK(half_from_double(65504.0) == 0x7BFF);
    CHECK(half_from_double(65519.99) == 0x7BFF);             // below the midpoint to 2^16
    CHECK(half_from_double(65520.0) == 0x7C00);              // the midpoint: ties to even = 2^16 = inf
    CHECK(half_from_double(1e10) == 0x7C00);
    CHECK(half_from_double(-std::numeric_limits<double>::infinity()) == 0xFC00);
    CHECK(half_from_double(std::ldexp(1.0, -24)) == 0x0001);  // smallest subnormal
    CHECK(half_from_double(std::ldexp(1.0, -25)) == 0x0000);  // half a unit: tie to even (0)
    CHECK(half_from_double(std::ldexp(3.0, -25)) == 0x0002);  // 1.5 units: tie to even (2)
    CHECK(half_from_double(std::ldexp(1.0, -25) + std::ldexp(1.0, -40)) == 0x0001);  // just above the tie
    CHECK(half_from_double(std::ldexp(1.0, -14)) == 0x0400);  // smallest normal
    CHECK(half_from_double(std::ldexp(1.0, -14) - std::ldexp(1.0, -25)) == 0x0400);  // 1023.5 units: up to even 1024
    CHECK(half_from_double(1.0 + std::ldexp(1.0, -11)) == 0x3C00);  // halfway 1 .. 1+2^-10: even is 1
    CHECK(half_from_double(1.0 + std::ldexp(3.0, -11)) == 0x3C02);  // halfway 1+2^-10 .. 1+2^-9: even is the latter
    CHECK(half_from_double(1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -20)) == 0x3C01);  // above the tie
    CHECK(half_from_double(2047.0 / 1024.0 + std::ldexp(1.0, -11)) == 0x4000);  // carries into the exponent: 2.0
    CHECK(half_from_double(0.1) == 0x2E66);  // 0.1 = 1.6 * 2^-4; 0.6 * 1024 = 614.4 -> 614 = 0x266
    const uint16_t nan = half_from_double(std::numeric_limits<double>::quiet_NaN());
    CHECK((nan & 0x7C00) == 0x7C00);
    CHECK((nan & 0x03FF) != 0);

    CHECK(half_to_float(0x3C00) == 1.0f);
    CHECK(half_to_float(0xC000) == -2.0f);
    CHECK(half_to_float(0x7BFF) == 65504.0f);
    CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));
    CHECK(half_to_float(0x03FF) == std::ldexp(1023.0f, -24));
    CHECK(half_to_float(0x2E66) == 0.0999755859375f);  // (1024 + 614) / 1024 * 2^-4
    CHECK(std::isinf(half_to_float(0xFC00)));
    CHECK(half_to_float(0xFC00) < 0);
    CHECK(std::isnan(half_to_float(0x7E00)));
    CHECK(std::signbit(half_to_float(0x8000)));
    // Every finite half value survives decode -> encode unchanged.
    int mismatches = 0;
    for (uint32_t bits = 0; bits < 0x10000; ++bits) {
        if ((bits & 0x7C00) == 0x7C00) continue;
        if (half_from_double(half_to_float(static_cast<uint16_t>(bits))) != bits) ++mismatches;
    }
    CHECK(mismatches == 0);
}

TEST_CASE("safetensors: BF16 rounding to nearest even, worked out by hand") {
    // bfloat16: the upper 16 bits of a float32 (7 fraction bits).
    CHECK(bf16_from_double(1.0) == 0x3F80);
    CHECK(bf16_from_double(1.0 + std::ldexp(1.0, -8)) == 0x3F80);  // halfway 1 .. 1+2^-7: even is 1
    CHECK(bf16_from_double(1.0 + std::ldexp(3.0, -8)) == 0x3F82);  // halfway mantissa 1 .. 2: even is 2
    CHECK(bf16_from_double(1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -30)) == 0x3F81);
    // pi as a float is 0x40490FDB: the dropped half 0x0FDB is below 0x8000, so it truncates.
    CHECK(bf16_from_double(static_cast<double>(3.14159265f)) == 0x4049);
    CHECK(bf16_from_double(-3.140625) == 0xC049);
    // The largest float (0x7F7FFFFF) lies above the midpoint between 0x7F7F and 2^128: infinity.
    CHECK(bf16_from_double(static_cast<double>(std::numeric_limits<float>::max())) == 0x7F80);
    CHECK(bf16_from_double(std::ldexp(255.0, 120)) == 0x7F7F);  // exactly the largest bfloat16
    CHECK(bf16_from_double(std::ldexp(1.0, -133)) == 0x0001);    // smallest subnormal
    CHECK(bf16_from_double(std::ldexp(1.0, -134)) == 0x0000);    // half of it: tie to even
    CHECK(bf16_from_double(static_cast<double>(std::numeric_limits<float>::denorm_min())) == 0x0000);
    CHECK(bf16_from_double(-0.0) == 0x8000);
    CHECK(bf16_to_float(0x3F80) == 1.0f);
    CHECK(bf16_to_float(0xC049) == -3.140625f);
    CHECK(bf16_to_float(0x0001) == std::ldexp(1.0f, -133));
    // The bit trick every framework uses for float -> bfloat16 (round half to even on the low 16
    // bits) agrees with the generic rounding on a sweep of float bit patterns.
    int mismatches = 0;
    for (uint64_t bits = 0; bits < 0x100000000ull; bits += 0x10001ull * 7 + 3) {
        const uint32_t b = static_cast<uint32_t>(bits);
        const float f = std::bit_cast<float>(b);
        if (std::isnan(f)) continue;
        const uint16_t trick = static_cast<uint16_t>((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
        if (bf16_from_double(f) != trick) ++mismatches;
    }
    CHECK(mismatches == 0);
}

// ----- reading files laid out by hand ------------------------------------------------------------

TEST_CASE("safetensors: a file laid out byte by byte loads with the right values") {
    // Five tensors out of name order, the I64 one deliberately unaligned (offset 26), and the
    // header padded with spaces as writers do.
    std::string header = R"({"__metadata__":{"format":"pt","note":"by hand"},)"
                         R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]},)"
                         R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                         R"("h":{"dtype":"F16","shape":[3],"data_offsets":[20,26]},)"
                         R"("i":{"dtype":"I64","shape":[],"data_offsets":[26,34]},)"
                         R"("d":{"dtype":"F64","shape":[1],"data_offsets":[34,42]}}   )";
    std::string data;
    data += bytes({0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x3F, 0x00, 0x00, 0x40, 0x40});  // a: 1, -2, 0.5, 3
    data += bytes({0x80, 0x3F, 0x49, 0xC0});                    // b: 0x3F80 = 1, 0xC049 = -3.140625
    data += bytes({0x00, 0x3C, 0xFF, 0x7B, 0x01, 0x00});        // h: 0x3C00 = 1, 0x7BFF = 65504, 0x0001 = 2^-24
    data += bytes({0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF});  // i: -2
    data += bytes({0x9A, 0x99, 0x99, 0x99, 0x99, 0x99, 0xB9, 0x3F});  // d: 0x3FB999999999999A = 0.1
    REQUIRE(data.size() == 42);

    TempDir dir;
    const std::string path = dir.file("hand.safetensors");
    write_bytes(path, file_of(header, data));
    for (const SafetensorsFile& file : {load_safetensors(path), parse_safetensors(file_of(header, data).data(), file_of(header, data).size())}) {
        REQUIRE(file.tensors.size() == 5);
        // In data order.
        CHECK(file.tensors[0].name == "a");
        CHECK(file.tensors[1].name == "b");
        CHECK(file.tensors[4].name == "d");
        CHECK(file.at("a").dtype == Dtype::F32);
        CHECK(file.at("a").shape() == Shape{2, 2});
        CHECK(file.get<float>("a").to_vector() == std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f});
        CHECK(file.at("b").dtype == Dtype::BF16);
        CHECK(file.get<float>("b").to_vector() == std::vector<float>{1.0f, -3.140625f});
        CHECK(file.get<float>("h").to_vector() == std::vector<float>{1.0f, 65504.0f, std::ldexp(1.0f, -24)});
        CHECK(file.at("i").shape() == Shape{});
        CHECK(file.get<int64_t>("i").item() == -2);
        CHECK(file.get<double>("d").item() == 0.1);
        CHECK(file.get<float>("d").item() == 0.1f);  // converted with rounding
        CHECK(file.get<double>("b").to_vector() == std::vector<double>{1.0, -3.140625});
        CHECK(file.metadata == Metadata{{"format", "pt"}, {"note", "by hand"}});
        CHECK_THROWS_WITH_AS(file.get<int64_t>("a"), doctest::Contains("has dtype F32; asked for int64"), Error);
        CHECK_THROWS_WITH_AS(file.get<float>("i"), doctest::Contains("has dtype I64; asked for float32"), Error);
        CHECK_THROWS_WITH_AS(file.at("zz"), doctest::Contains("no tensor named \"zz\""), Error);
    }
}

TEST_CASE("safetensors: empty tensors, zero-size data and a file of no tensors load") {
    // Two empty tensors at the same offset do not overlap (they hold no bytes).
    std::string header = R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"f":{"dtype":"I64","shape":[2,0],"data_offsets":[0,0]},"g":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
    std::string file = file_of(header, bytes({0, 0, 0x80, 0x3F}));
    auto loaded = parse_safetensors(file.data(), file.size());
    CHECK(loaded.get<float>("e").shape() == Shape{0, 3});
    CHECK(loaded.get<int64_t>("f").numel() == 0);
    CHECK(loaded.get<float>("g").item() == 1.0f);
    std::string none = file_of("{}", "");
    CHECK(parse_safetensors(none.data(), none.size()).tensors.empty());
}

// ----- the writer's layout -------------------------------------------------------------------------

TEST_CASE("safetensors: the writer's bytes follow the reference layout") {
    // One F32 tensor: the JSON below is 65 bytes, padded with 7 spaces to 72 so that the data
    // starts at byte 80, a multiple of 8. The data is 0..5 as little-endian floats.
    auto t = from_vector<float>({0, 1, 2, 3, 4, 5}, {1, 1, 2, 3});
    std::string expected_header = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
    REQUIRE(expected_header.size() == 65);
    std::string expected = bytes({72, 0, 0, 0, 0, 0, 0, 0}) + expected_header + "       " +
                           bytes({0, 0, 0, 0, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xA0, 0x40});
    CHECK(serialize_safetensors({named_tensor("attn0", t)}) == expected);

    // No tensors: "{}" padded to 8. Metadata only: 35 bytes padded to 40.
    CHECK(serialize_safetensors({}) == bytes({8, 0, 0, 0, 0, 0, 0, 0}) + "{}      ");
    CHECK(serialize_safetensors({}, {{"framework", "pt"}}) ==
          bytes({40, 0, 0, 0, 0, 0, 0, 0}) + R"({"__metadata__":{"framework":"pt"}})" + "     ");

    // Mixed dtypes: larger elements first (I64, F64, F32, BF16, F16), names sorted within a dtype,
    // so every tensor starts at a multiple of its element size.
    std::vector<SafetensorsTensor> mixed = {
        named_tensor("z_half", from_vector<float>({1.0f}), Dtype::F16),
        named_tensor("b_float", from_vector<float>({1.0f})),
        named_tensor("a_float", from_vector<float>({2.0f})),
        named_tensor("idx", from_vector<int64_t>({7})),
        named_tensor("dbl", from_vector<double>({0.5})),
        named_tensor("brain", from_vector<float>({1.0f}), Dtype::BF16),
    };
    std::string out = serialize_safetensors(mixed, {{"b", "2"}, {"a", "1"}});
    const std::string header = out.substr(8, out.find('}', out.rfind("data_offsets")) + 2 - 8);
    CHECK(header == R"({"__metadata__":{"a":"1","b":"2"},)"
                    R"("idx":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
                    R"("dbl":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},)"
                    R"("a_float":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},)"
                    R"("b_float":{"dtype":"F32","shape":[1],"data_offsets":[20,24]},)"
                    R"("brain":{"dtype":"BF16","shape":[1],"data_offsets":[24,26]},)"
                    R"("z_half":{"dtype":"F16","shape":[1],"data_offsets":[26,28]}})");
    CHECK((out.size() - 28) % 8 == 0);  // header padded so the data region starts 8-byte aligned
    CHECK(out.substr(out.size() - 4) == bytes({0x80, 0x3F, 0x00, 0x3C}));  // bf16 1.0, then f16 1.0
}

TEST_CASE("safetensors: write then read gives identical tensors for every dtype") {
    Generator gen(42);
    auto f32 = randn<float>({3, 5, 2}, gen);
    auto f64 = randn<double>({7}, gen);
    auto i64 = from_vector<int64_t>({0, -1, std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}, {2, 2});
    // Values that bfloat16 and half hold exactly (k/8 in their ranges), and one double that F32 rounds.
    std::vector<float> exact;
    for (int k = -40; k <= 40; ++k) exact.push_back(static_cast<float>(k) / 8.0f);
    auto small = from_vector<float>(exact);
    auto small_double = from_vector<double>(std::vector<double>(exact.begin(), exact.end()));
    auto rounded = from_vector<double>({0.1, 1.0 / 3.0});
    auto strided = randn<float>({4, 3}, gen).transpose(0, 1);  // a non-contiguous view
    REQUIRE_FALSE(strided.is_contiguous());
    auto scalar_tensor = full<float>({}, 2.5f);

    TempDir dir;
    const std::string path = dir.file("all.safetensors");
    save_safetensors(path,
                     {named_tensor("f32", f32), named_tensor("f64", f64), named_tensor("i64", i64),
                      named_tensor("bf16", small, Dtype::BF16), named_tensor("f16", small, Dtype::F16),
                      named_tensor("bf16_from_double", small_double, Dtype::BF16),
                      named_tensor("f16_from_double", small_double, Dtype::F16), named_tensor("f32_from_double", rounded, Dtype::F32),
                      named_tensor("f64_from_float", small, Dtype::F64), named_tensor("strided", strided),
                      named_tensor("scalar", scalar_tensor)},
                     {{"k", "v"}});
    auto file = load_safetensors(path);
    CHECK(same_bits(file.get<float>("f32"), f32));
    CHECK(same_bits(file.get<double>("f64"), f64));
    CHECK(same_bits(file.get<int64_t>("i64"), i64));
    CHECK(file.at("bf16").dtype == Dtype::BF16);
    CHECK(file.at("f16").dtype == Dtype::F16);
    CHECK(same_bits(file.get<float>("bf16"), small));
    CHECK(same_bits(file.get<float>("f16"), small));
    CHECK(same_bits(file.get<float>("bf16_from_double"), small));
    CHECK(same_bits(file.get<float>("f16_from_double"), small));
    CHECK(file.get<float>("f32_from_double").to_vector() == std::vector<float>{0.1f, 1.0f / 3.0f});
    CHECK(file.at("f64_from_float").dtype == Dtype::F64);
    CHECK(same_bits(file.get<double>("f64_from_float"), small_double));
    CHECK(same_bits(file.get<float>("strided"), strided.contiguous()));
    CHECK(file.get<float>("scalar").shape() == Shape{});
    CHECK(file.get<float>("scalar").item() == 2.5f);
    // Writing the loaded tensors again (with their dtypes) reproduces the file byte for byte.
    CHECK(serialize_safetensors(file.tensors, file.metadata) == read_bytes(path));
}

TEST_CASE("safetensors: rounding cases survive a file round trip as worked out by hand") {
    auto values = from_vector<double>({1.0 + std::ldexp(1.0, -11), 1.0 + std::ldexp(3.0, -11), 65520.0,
                                       std::ldexp(1.0, -25), std::ldexp(3.0, -25), -65504.0});
    std::string file = serialize_safetensors({named_tensor("h", values, Dtype::F16), named_tensor("b", values, Dtype::BF16)});
    auto loaded = parse_safetensors(file.data(), file.size());
    auto h = loaded.get<float>("h").to_vector();
    CHECK(h[0] == 1.0f);
    CHECK(h[1] == 1.0f + std::ldexp(1.0f, -9));
    CHECK(std::isinf(h[2]));
    CHECK(h[3] == 0.0f);
    CHECK(h[4] == std::ldexp(1.0f, -23));
    CHECK(h[5] == -65504.0f);
    // bfloat16 has 7 fraction bits: 1 + 2^-11 and 1 + 3 * 2^-11 both round to 1; 65520 = 0xFFF0 * 1
    // needs 12 bits: it lies between 65280 and 65536 (the midpoint is 65408), so 65536.
    auto b = loaded.get<float>("b").to_vector();
    CHECK(b[0] == 1.0f);
    CHECK(b[1] == 1.0f);
    CHECK(b[2] == 65536.0f);
    CHECK(b[3] == std::ldexp(1.0f, -25));
    CHECK(b[5] == -65536.0f);  // 65504 is above the midpoint 65408 as well
}

TEST_CASE("safetensors: metadata round trips with escapes and UTF-8") {
    Metadata meta{{"framework", "pt"},
                  {"quote\"and\\backslash", "line\nbreak\ttab\x01"},
                  {"\xC3\xA9t\xC3\xA9", "\xF0\x9F\x98\x80"},
                  {"empty", ""}};
    TempDir dir;
    save_safetensors(dir.file("m.safetensors"), {named_tensor("x", zeros<float>({2}))}, meta);
    CHECK(load_safetensors(dir.file("m.safetensors")).metadata == meta);
}

TEST_CASE("safetensors: the writer refuses what it cannot write") {
    auto t = zeros<float>({2});
    CHECK_THROWS_WITH_AS(serialize_safetensors({named_tensor("a", t), named_tensor("a", t)}),
                         doctest::Contains("tensor name \"a\" appears twice"), Error);
    CHECK_THROWS_WITH_AS(serialize_safetensors({named_tensor("__metadata__", t)}), doctest::Contains("reserved"), Error);
    CHECK_THROWS_WITH_AS(serialize_safetensors({named_tensor("a", t, Dtype::I64)}),
                         doctest::Contains("floating-point values and cannot be written as I64"), Error);
    CHECK_THROWS_WITH_AS(serialize_safetensors({named_tensor("a", zeros<double>({1}), Dtype::I32)}),
                         doctest::Contains("seam cannot write dtype I32"), Error);
    CHECK_THROWS_WITH_AS(serialize_safetensors({named_tensor("a", from_vector<int64_t>({1}), Dtype::F32)}),
                         doctest::Contains("int64 values and cannot be written as F32"), Error);
    CHECK_THROWS_WITH_AS(serialize_safetensors({named_tensor("a", Tensor<float>())}), doctest::Contains("undefined"), Error);
    CHECK_THROWS_WITH_AS(serialize_safetensors({named_tensor("\xFF", t)}), doctest::Contains("not valid UTF-8"), Error);
    CHECK_THROWS_WITH_AS(serialize_safetensors({}, {{"k", "\xC3"}}), doctest::Contains("metadata \"k\" is not valid UTF-8"),
                         Error);
}

// ----- malformed files -----------------------------------------------------------------------------

TEST_CASE("safetensors: malformed files are refused with the file name and the problem") {
    const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    const std::string eight = std::string(8, '\0');
    CHECK(error_of(file_of("{" + ok_entry + "}", eight)).empty());

    // Too short, truncated, oversized header.
    CHECK(error_of("abc") == "safetensors data 'test.safetensors': 3 bytes is too short to hold the 8-byte header length");
    CHECK(error_of(bytes({100, 0, 0, 0, 0, 0, 0, 0}) + "{}") ==
          "safetensors data 'test.safetensors': the header length 100 runs past the end of the data (10 bytes in all)");
    CHECK(error_of(bytes({0x00, 0xC2, 0xEB, 0x0B, 0, 0, 0, 0}) + "{}") ==  // 0x0BEBC200 = 200,000,000
          "safetensors data 'test.safetensors': the header length 200000000 is larger than the limit of 100000000 bytes");
    CHECK(error_of(bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})).find("is larger than the limit") != std::string::npos);
    CHECK(error_of(file_of("{" + ok_entry + "}", std::string(5, '\0'))) ==
          "safetensors data 'test.safetensors': tensor \"a\" (header byte 5): data_offsets [0, 8] run past the end of the "
          "data region (5 bytes)");

    // Not JSON, or not the expected JSON. ok_entry is 52 bytes: after "{" it fills bytes 1..52, the
    // comma is byte 53 and the '}' byte 54.
    REQUIRE(ok_entry.size() == 52);
    CHECK(error_of(file_of("{" + ok_entry + ",}", eight)) ==
          "safetensors data 'test.safetensors': the header is not valid JSON: JSON: byte 54: trailing comma before '}'");
    CHECK(error_of(file_of("[]", "")) == "safetensors data 'test.safetensors': the header is not a JSON object (got an array)");
    CHECK(error_of(file_of("{} x", "")).find("not valid JSON: JSON: byte 3: unexpected 'x'") != std::string::npos);
    CHECK(error_of(file_of(std::string("{}\0\0", 4), "")).find("not valid JSON") != std::string::npos);
    CHECK(error_of(file_of(R"({"a":[1]})", "")).find("tensor \"a\" (header byte 5): expected an object") != std::string::npos);
    CHECK(error_of(file_of(R"({"__metadata__":{"k":1}})", "")) ==
          "safetensors data 'test.safetensors': metadata \"k\" must be a string, got an integer (header byte 21)");
    CHECK(error_of(file_of(R"({"__metadata__":[]})", "")).find("\"__metadata__\" must be an object of strings") != std::string::npos);

    // Entry fields.
    auto entry_error = [&](const std::string& entry, const std::string& data) { return error_of(file_of("{\"a\":" + entry + "}", data)); };
    CHECK(entry_error(R"({"dtype":"F33","shape":[2],"data_offsets":[0,8]})", eight).find("unknown dtype \"F33\"") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"I32","shape":[2],"data_offsets":[0,8]})", eight)
              .find("dtype I32 is valid safetensors but seam reads only F64, F32, F16, BF16 and I64") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F32","shape":[2,2],"data_offsets":[0,8]})", eight) ==
          "safetensors data 'test.safetensors': tensor \"a\" (header byte 5): data_offsets [0, 8] hold 8 bytes but shape "
          "[2, 2] of F32 needs 4 x 4 bytes");
    CHECK(entry_error(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})", eight).find("end before they begin") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})", eight).find("negative size -2") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})", eight).find("\"shape\" must hold whole numbers") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8,8]})", eight).find("exactly two whole numbers") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})", eight).find("exactly two whole numbers") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F32","shape":[2],"data_offsets":[0,-8]})", eight).find("are negative") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F32","shape":[2]})", eight).find("\"data_offsets\" is missing") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F32","data_offsets":[0,8]})", eight).find("\"shape\" is missing") != std::string::npos);
    CHECK(entry_error(R"({"shape":[2],"data_offsets":[0,8]})", eight).find("\"dtype\" is missing") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]})", eight).find("\"dtype\" appears twice") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1})", eight).find("unexpected field \"x\"") != std::string::npos);
    // Sizes whose product overflows are refused before anything is allocated, even with a zero size.
    CHECK(entry_error(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})", eight).find("more than 2^63 elements") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]})", "").find("more than 2^63 elements") != std::string::npos);
    CHECK(entry_error(R"({"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]})", eight).find("needs 2305843009213693952 x 8 bytes") != std::string::npos);
    std::string deep_shape = R"({"dtype":"F32","shape":[)";
    for (int i = 0; i < 65; ++i) deep_shape += i ? ",1" : "1";
    CHECK(entry_error(deep_shape + R"(],"data_offsets":[0,4]})", std::string(4, '\0')).find("more than 64 dimensions") != std::string::npos);

    // The tensors must tile the data region.
    const std::string twelve(12, '\0');
    CHECK(error_of(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", twelve)) ==
          "safetensors data 'test.safetensors': tensors \"a\" [0, 8) and \"b\" [4, 12) overlap");
    CHECK(error_of(file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", twelve)) ==
          "safetensors data 'test.safetensors': data bytes [4, 8) belong to no tensor (a gap before \"b\")");
    CHECK(error_of(file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight)) ==
          "safetensors data 'test.safetensors': data bytes [0, 4) belong to no tensor (a gap before \"a\")");
    CHECK(error_of(file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight)) ==
          "safetensors data 'test.safetensors': the data region holds 8 bytes but the tensors cover only 4 (bytes after the last tensor)");
    CHECK(error_of(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", eight)) ==
          "safetensors data 'test.safetensors': tensor name \"a\" appears twice in the header (byte 54)");  // the second key starts after 1 + 52 + 1 bytes
}

TEST_CASE("safetensors: files on disk name the path - truncated files are refused") {
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    save_safetensors(path, {named_tensor("w", randn<float>({16})), named_tensor("b", zeros<float>({4}))});
    const std::string good = read_bytes(path);
    CHECK(load_safetensors(path).tensors.size() == 2);

    write_bytes(path, good.substr(0, good.size() - 1));  // one data byte short
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains(("safetensors file '" + path + "': tensor \"w\"").c_str()), Error);
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains("run past the end of the data region (79 bytes)"), Error);
    write_bytes(path, good.substr(0, 20));  // cut inside the header
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains("runs past the end of the file (20 bytes)"), Error);
    write_bytes(path, good.substr(0, 5));
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains("the file is 5 bytes long"), Error);
    write_bytes(path, good + "x");  // one byte too many
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains("cover only 80 (bytes after the last tensor)"), Error);
    CHECK_THROWS_WITH_AS(load_safetensors(dir.file("absent.safetensors")),
                         doctest::Contains(("safetensors file '" + dir.file("absent.safetensors") + "': cannot open").c_str()), Error);
    CHECK_THROWS_WITH_AS(load_safetensors(dir.path.string()), doctest::Contains("not a regular file"), Error);
}

// ----- atomic writes -------------------------------------------------------------------------------

TEST_CASE("safetensors: a successful save replaces the file and leaves no temporary file") {
    TempDir dir;
    const std::string path = dir.file("w.safetensors");
    save_safetensors(path, {named_tensor("x", full<float>({3}, 1.0f))});
    save_safetensors(path, {named_tensor("x", full<float>({3}, 2.0f))});
    CHECK(load_safetensors(path).get<float>("x").to_vector() == std::vector<float>{2, 2, 2});
    CHECK(dir.listing() == std::vector<std::string>{"w.safetensors"});
}

TEST_CASE("safetensors: a write that fails midway leaves the old file intact and no temporary file") {
    TempDir dir;
    const std::string path = dir.file("w.safetensors");
    save_safetensors(path, {named_tensor("x", full<float>({3}, 1.0f))});
    const std::string old_bytes = read_bytes(path);

    // Cap the size of files this process may write: the 400 KB tensor stops after 64 KB with
    // EFBIG (SIGXFSZ ignored so the write returns the error instead of killing the process).
    struct rlimit saved {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit capped = saved;
    capped.rlim_cur = 65536;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &capped) == 0);
    std::string message;
    try {
        save_safetensors(path, {named_tensor("x", zeros<float>({100000}))});
    } catch (const Error& e) {
        message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    ::signal(SIGXFSZ, old_handler);

    CHECK(message.find("save_safetensors('" + path + "'): write error") != std::string::npos);
    CHECK(read_bytes(path) == old_bytes);
    CHECK(dir.listing() == std::vector<std::string>{"w.safetensors"});
}

TEST_CASE("safetensors: a failed rename (a folder in the way) or an unwritable folder leaves nothing behind") {
    TempDir dir;
    const std::string folder = dir.file("in_the_way");
    fs::create_directory(folder);
    CHECK_THROWS_WITH_AS(save_safetensors(folder, {named_tensor("x", zeros<float>({2}))}),
                         doctest::Contains("cannot rename the temporary file over it"), Error);
    CHECK(fs::is_directory(folder));
    CHECK(dir.listing() == std::vector<std::string>{"in_the_way"});
    CHECK_THROWS_WITH_AS(save_safetensors(dir.file("no/such/folder/x.safetensors"), {named_tensor("x", zeros<float>({2}))}),
                         doctest::Contains("cannot create the temporary file"), Error);
}

// ----- state_dict files ----------------------------------------------------------------------------

namespace {
std::shared_ptr<nn::Sequential<float>> small_net() {
    auto net = std::make_shared<nn::Sequential<float>>();
    net->add(std::make_shared<nn::Conv2d<float>>(3, 4, 3));
    net->add(std::make_shared<nn::BatchNorm2d<float>>(4));
    net->add(std::make_shared<nn::Flatten<float>>());
    net->add(std::make_shared<nn::Linear<float>>(16, 2));
    return net;
}
}  // namespace

TEST_CASE("safetensors: save_state_dict_file and load_state_dict_file round trip a module") {
    manual_seed(1);
    auto a = small_net();
    a->named_buffers()[0].second.fill_(0.25f);  // running_mean: buffers travel too
    manual_seed(2);
    auto b = small_net();
    REQUIRE_FALSE(same_bits(a->state_dict()[0].second, b->state_dict()[0].second));
    TempDir dir;
    save_state_dict_file(*a, dir.file("net.safetensors"), {{"arch", "small_net"}});
    auto file = load_safetensors(dir.file("net.safetensors"));
    CHECK(file.metadata.at("arch") == "small_net");
    CHECK(file.contains("0.weight"));
    CHECK(file.contains("1.running_var"));
    auto result = load_state_dict_file(*b, dir.file("net.safetensors"));
    CHECK(result.missing_keys.empty());
    CHECK(result.unexpected_keys.empty());
    auto sa = a->state_dict(), sb = b->state_dict();
    REQUIRE(sa.size() == sb.size());
    for (size_t i = 0; i < sa.size(); ++i) CHECK_MESSAGE(same_bits(sa[i].second, sb[i].second), sa[i].first);

    // A half-precision copy loads into a float module, values rounded to half.
    save_state_dict_file(*a, dir.file("half.safetensors"), {}, Dtype::F16);
    load_state_dict_file(*b, dir.file("half.safetensors"));
    auto w = a->state_dict()[0].second.to_vector();
    auto wh = b->state_dict()[0].second.to_vector();
    for (size_t i = 0; i < w.size(); ++i) CHECK(wh[i] == half_to_float(half_from_double(w[i])));
}

TEST_CASE("safetensors: strict load_state_dict_file lists missing, unexpected and mismatched keys") {
    manual_seed(3);
    auto net = small_net();
    auto before = net->state_dict()[0].second.clone();
    TempDir dir;
    const std::string path = dir.file("bad.safetensors");
    std::vector<SafetensorsTensor> tensors;
    for (auto& [name, t] : net->state_dict()) {
        if (name == "3.bias") continue;                                                        // missing
        if (name == "0.weight") tensors.push_back(named_tensor(name, zeros<float>({4, 3, 3, 2})));  // wrong shape
        else tensors.push_back(named_tensor(name, t.clone()));
    }
    tensors.push_back(named_tensor("extra.weight", zeros<float>({1})));               // unexpected
    tensors.push_back(named_tensor("1.running_mean_i", from_vector<int64_t>({1})));  // unexpected integer
    save_safetensors(path, tensors);
    std::string message;
    try {
        load_state_dict_file(*net, path);
    } catch (const Error& e) {
        message = e.what();
    }
    CHECK(message == "load_state_dict_file('" + path + "'): the file does not fit the Sequential\n"
                     "  missing keys (1): \"3.bias\"\n"
                     "  unexpected keys (2): \"1.running_mean_i\", \"extra.weight\"\n"
                     "  mismatched (1): \"0.weight\": file [4, 3, 3, 2] vs model [4, 3, 3, 3]");
    CHECK(same_bits(net->state_dict()[0].second, before));  // nothing copied

    // Not strict: missing and unexpected are returned, a shape mismatch still refuses.
    CHECK_THROWS_WITH_AS(load_state_dict_file(*net, path, false), doctest::Contains("mismatched (1)"), Error);
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(), [](const auto& t) { return t.name == "0.weight"; }), tensors.end());
    save_safetensors(path, tensors);
    auto result = load_state_dict_file(*net, path, false);
    CHECK(result.missing_keys == std::vector<std::string>{"0.weight", "3.bias"});
    CHECK(result.unexpected_keys == std::vector<std::string>{"1.running_mean_i", "extra.weight"});

    // An integer tensor where the model has a float one is a mismatch.
    tensors = {};
    for (auto& [name, t] : net->state_dict()) tensors.push_back(name == "3.bias" ? named_tensor(name, from_vector<int64_t>({0, 0})) : named_tensor(name, t));
    save_safetensors(path, tensors);
    CHECK_THROWS_WITH_AS(load_state_dict_file(*net, path), doctest::Contains("\"3.bias\": file dtype I64 vs model float32"), Error);
}

TEST_CASE("safetensors: PyTorch's BatchNorm num_batches_tracked counters are skipped") {
    manual_seed(4);
    auto net = small_net();
    std::vector<SafetensorsTensor> tensors;
    for (auto& [name, t] : net->state_dict()) tensors.push_back(named_tensor(name, t));
    tensors.push_back(named_tensor("1.num_batches_tracked", full<int64_t>({}, 5)));
    TempDir dir;
    save_safetensors(dir.file("torch.safetensors"), tensors);
    auto result = load_state_dict_file(*net, dir.file("torch.safetensors"));
    CHECK(result.unexpected_keys.empty());
    // The same name as a float tensor is not a counter: unexpected.
    tensors.back() = named_tensor("1.num_batches_tracked", full<float>({}, 5.0f));
    save_safetensors(dir.file("torch.safetensors"), tensors);
    CHECK_THROWS_WITH_AS(load_state_dict_file(*net, dir.file("torch.safetensors")),
                         doctest::Contains("unexpected keys (1): \"1.num_batches_tracked\""), Error);
}
