// seam/io/safetensors.hpp — read and write Hugging Face's safetensors files, and save/load a
// module's state_dict as one.
//
// The format (https://github.com/huggingface/safetensors):
//   8 bytes   N, little-endian unsigned 64-bit: the length of the header
//   N bytes   UTF-8 JSON: {"__metadata__": {"key": "value", ...},            (optional, strings only)
//                          "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//             offsets count bytes from the first byte after the header; the header may end in spaces
//   the rest  the tensors' raw little-endian row-major bytes, back to back: the tensors must cover
//             this region exactly (no gap, no overlap, nothing after the last one).
// seam reads and writes F64, F32, F16, BF16 (as Tensor<float>/<double>) and I64 (as Tensor<int64_t>).
// Half and bfloat16 values widen exactly on reading; on writing, values round to the nearest
// representable one, ties to even (what a float cast does in hardware and in PyTorch).
//
// The writer lays files out as the reference Rust writer (behind safetensors.torch.save_file)
// does: tensors in order of decreasing dtype alignment (I64, F64, F32, BF16, F16), then by name,
// each one's data right after the previous one's (so every tensor is aligned to its element
// size); "__metadata__" first in the header, then the tensors in data order, compact JSON; the
// header padded with spaces to a multiple of 8 bytes so the data region starts 8-byte aligned.
// Metadata keys are written sorted (the reference writes them in hash-map order), so with at most
// one metadata key the bytes are the reference's exactly.
//
// The reader refuses, with the file name and the problem: files shorter than 8 bytes, a header
// length past the end of the file or above 100 MB (the reference limit), a header that is not
// strict JSON (json.hpp), unknown dtypes and dtypes seam does not read, shapes whose element count
// times the dtype size differs from end - begin, offsets past the data region, overlapping tensors,
// bytes no tensor covers, repeated names, shapes above 64 dimensions or 2^63 elements. It allocates
// nothing before the file's size has confirmed the header's claims, and never reads out of bounds.
//
// Writes are atomic: the bytes go to "<path>.tmp.<pid>", are flushed to disk (fsync), and the file
// is renamed over <path>. A crash or a failed write leaves the old file intact and removes the
// temporary one (a process killed mid-write leaves the old file and a stale ".tmp.<pid>").
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/core/tensor.hpp"
#include "seam/io/json.hpp"
#include "seam/nn/module.hpp"

namespace seam::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors.hpp copies tensor bytes as they are in memory; safetensors data is little-endian");

// ----- dtypes ----------------------------------------------------------------------------------

/// Every dtype the format defines, in the reference's order of increasing alignment (the writer
/// lays tensors out in the reverse of this order).
enum class Dtype { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

inline const char* dtype_str(Dtype dtype) {
    switch (dtype) {
        case Dtype::BOOL: return "BOOL";
        case Dtype::U8: return "U8";
        case Dtype::I8: return "I8";
        case Dtype::F8_E5M2: return "F8_E5M2";
        case Dtype::F8_E4M3: return "F8_E4M3";
        case Dtype::I16: return "I16";
        case Dtype::U16: return "U16";
        case Dtype::F16: return "F16";
        case Dtype::BF16: return "BF16";
        case Dtype::I32: return "I32";
        case Dtype::U32: return "U32";
        case Dtype::F32: return "F32";
        case Dtype::F64: return "F64";
        case Dtype::I64: return "I64";
        case Dtype::U64: return "U64";
    }
    return "?";
}

/// Bytes per element.
inline uint64_t dtype_size(Dtype dtype) {
    switch (dtype) {
        case Dtype::BOOL: case Dtype::U8: case Dtype::I8: case Dtype::F8_E5M2: case Dtype::F8_E4M3: return 1;
        case Dtype::I16: case Dtype::U16: case Dtype::F16: case Dtype::BF16: return 2;
        case Dtype::I32: case Dtype::U32: case Dtype::F32: return 4;
        case Dtype::F64: case Dtype::I64: case Dtype::U64: return 8;
    }
    return 1;
}

inline std::optional<Dtype> dtype_from_string(std::string_view name) {
    for (int d = 0; d <= static_cast<int>(Dtype::U64); ++d)
        if (name == dtype_str(static_cast<Dtype>(d))) return static_cast<Dtype>(d);
    return std::nullopt;
}

/// The dtypes seam converts to and from tensors.
inline bool dtype_supported(Dtype dtype) {
    return dtype == Dtype::F64 || dtype == Dtype::F32 || dtype == Dtype::F16 || dtype == Dtype::BF16 ||
           dtype == Dtype::I64;
}
inline bool dtype_is_floating(Dtype dtype) {
    return dtype == Dtype::F64 || dtype == Dtype::F32 || dtype == Dtype::F16 || dtype == Dtype::BF16;
}

// ----- half and bfloat16 -------------------------------------------------------------------------

namespace detail {

/// v rounded to the nearest integer, ties to even (v >= 0 and below 2^31; every step is exact).
inline uint32_t round_half_even(double v) {
    double r = std::floor(v);
    double rest = v - r;
    if (rest > 0.5 || (rest == 0.5 && std::fmod(r, 2.0) == 1.0)) r += 1.0;
    return static_cast<uint32_t>(r);
}

/// x rounded to the nearest number of an IEEE-style binary format with `MantissaBits` stored
/// fraction bits and `ExponentBits` exponent bits (ties to even, overflow to infinity, gradual
/// underflow to subnormals), as its bit pattern. Working from the double is what keeps the
/// rounding single: float -> double is exact, so a float input is rounded once.
template <int MantissaBits, int ExponentBits>
inline uint16_t encode_small_float(double x) {
    constexpr int bias = (1 << (ExponentBits - 1)) - 1;
    constexpr int min_exponent = 1 - bias;  // of the normal numbers
    constexpr int max_exponent = bias;
    constexpr uint32_t exponent_all_ones = (1u << ExponentBits) - 1;
    const uint32_t sign = std::signbit(x) ? 1u << (MantissaBits + ExponentBits) : 0u;
    if (std::isnan(x)) return static_cast<uint16_t>(sign | (exponent_all_ones << MantissaBits) | (1u << (MantissaBits - 1)));
    const double a = std::fabs(x);
    // From halfway between the largest finite value and 2^(max_exponent + 1) up, the nearest
    // representable value is infinity (the largest finite one has an odd mantissa: ties go up).
    const double overflow = std::ldexp(2.0 - std::ldexp(1.0, -(MantissaBits + 1)), max_exponent);
    if (a >= overflow) return static_cast<uint16_t>(sign | (exponent_all_ones << MantissaBits));
    if (a == 0.0) return static_cast<uint16_t>(sign);
    int e;
    std::frexp(a, &e);  // a = m * 2^e with m in [0.5, 1)
    int exponent = e - 1;
    if (exponent < min_exponent) {
        // Subnormal: count units of 2^(min_exponent - MantissaBits). A count that rounds up to
        // 2^MantissaBits is the smallest normal number, whose bits are that same count.
        return static_cast<uint16_t>(sign | round_half_even(std::ldexp(a, MantissaBits - min_exponent)));
    }
    uint32_t fraction = round_half_even(std::ldexp(std::ldexp(a, -exponent) - 1.0, MantissaBits));
    if (fraction == (1u << MantissaBits)) {  // rounded up to the next power of two
        fraction = 0;
        ++exponent;
    }
    return static_cast<uint16_t>(sign | (static_cast<uint32_t>(exponent + bias) << MantissaBits) | fraction);
}

template <int MantissaBits, int ExponentBits>
inline double decode_small_float(uint16_t bits) {
    constexpr int bias = (1 << (ExponentBits - 1)) - 1;
    constexpr uint32_t exponent_all_ones = (1u << ExponentBits) - 1;
    const bool negative = (bits >> (MantissaBits + ExponentBits)) & 1u;
    const uint32_t exponent = (bits >> MantissaBits) & exponent_all_ones;
    const uint32_t fraction = bits & ((1u << MantissaBits) - 1);
    double magnitude;
    if (exponent == exponent_all_ones)
        magnitude = fraction ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
    else if (exponent == 0)
        magnitude = std::ldexp(static_cast<double>(fraction), 1 - bias - MantissaBits);
    else
        magnitude = std::ldexp(static_cast<double>(fraction + (1u << MantissaBits)), static_cast<int>(exponent) - bias - MantissaBits);
    return negative ? -magnitude : magnitude;
}

}  // namespace detail

/// IEEE 754 binary16 (1 sign, 5 exponent, 10 fraction bits), round to nearest even.
inline uint16_t half_from_double(double x) { return detail::encode_small_float<10, 5>(x); }
inline float half_to_float(uint16_t bits) { return static_cast<float>(detail::decode_small_float<10, 5>(bits)); }
/// bfloat16 (the upper half of a float32: 1 sign, 8 exponent, 7 fraction bits), round to nearest even.
inline uint16_t bf16_from_double(double x) { return detail::encode_small_float<7, 8>(x); }
/// Exact: a bfloat16 is a float32 whose low 16 bits are zero (NaN payloads survive too).
inline float bf16_to_float(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

// ----- in-memory form ----------------------------------------------------------------------------

/// One tensor of a safetensors file: F32, F16 and BF16 hold a Tensor<float>, F64 a
/// Tensor<double>, I64 a Tensor<int64_t>. `dtype` is the file's dtype (read) or the one to write.
using AnyTensor = std::variant<Tensor<float>, Tensor<double>, Tensor<int64_t>>;

struct SafetensorsTensor {
    std::string name;
    Dtype dtype = Dtype::F32;
    AnyTensor value;

    const Shape& shape() const {
        return std::visit([](const auto& t) -> const Shape& { return t.shape(); }, value);
    }
};

using Metadata = std::map<std::string, std::string>;

/// A tensor with the dtype it is written as: its own type's by default (float -> F32,
/// double -> F64, int64_t -> I64); a floating tensor may instead be written as F64/F32/F16/BF16.
template <class T>
inline SafetensorsTensor named_tensor(std::string name, Tensor<T> tensor, std::optional<Dtype> dtype = std::nullopt) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int64_t>,
                  "safetensors holds Tensor<float>, Tensor<double> or Tensor<int64_t>");
    Dtype natural = std::is_same_v<T, float> ? Dtype::F32 : std::is_same_v<T, double> ? Dtype::F64 : Dtype::I64;
    return SafetensorsTensor{std::move(name), dtype.value_or(natural), std::move(tensor)};
}

/// What load_safetensors returns: the tensors in the order of their data, and the metadata.
struct SafetensorsFile {
    std::vector<SafetensorsTensor> tensors;
    Metadata metadata;
    std::string source;  // the path (or "<memory>"), for messages

    const SafetensorsTensor* find(std::string_view name) const {
        for (const auto& t : tensors)
            if (t.name == name) return &t;
        return nullptr;
    }
    bool contains(std::string_view name) const { return find(name) != nullptr; }

    const SafetensorsTensor& at(std::string_view name) const {
        const SafetensorsTensor* t = find(name);
        if (!t) fail("safetensors '", source, "': no tensor named \"", name, "\"");
        return *t;
    }

    /// The tensor `name` as Tensor<T>. Floating dtypes convert to float or double (F64 -> float
    /// rounds to nearest); I64 only to int64_t. A fresh tensor when a conversion happens, else
    /// the stored one.
    template <class T>
    Tensor<T> get(std::string_view name) const {
        const SafetensorsTensor& t = at(name);
        if constexpr (std::is_same_v<T, int64_t>) {
            if (auto* p = std::get_if<Tensor<int64_t>>(&t.value)) return *p;
            fail("safetensors '", source, "': tensor \"", name, "\" has dtype ", dtype_str(t.dtype),
                 "; asked for int64 (I64)");
        } else {
            static_assert(std::is_floating_point_v<T>, "get<T>: T must be float, double or int64_t");
            if (auto* p = std::get_if<Tensor<T>>(&t.value)) return *p;
            auto convert = [](const auto& from) {
                Tensor<T> out = empty<T>(from.shape());
                const auto values = from.to_vector();
                T* dst = out.data();
                for (size_t i = 0; i < values.size(); ++i) dst[i] = static_cast<T>(values[i]);
                return out;
            };
            if (auto* p = std::get_if<Tensor<float>>(&t.value)) return convert(*p);
            if (auto* p = std::get_if<Tensor<double>>(&t.value)) return convert(*p);
            fail("safetensors '", source, "': tensor \"", name, "\" has dtype ", dtype_str(t.dtype), "; asked for ",
                 dtype_name<T>());
        }
    }
};

// ----- reading -----------------------------------------------------------------------------------

/// The largest header accepted (the reference's limit): a file claiming more is refused before
/// anything is allocated for it.
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;
/// Tensors of more dimensions are refused (no model has them; it bounds what a header can ask for).
inline constexpr size_t kMaxSafetensorsRank = 64;

/// A tensor's place in the file, as the header declares it (after validation).
struct SafetensorsEntry {
    std::string name;
    Dtype dtype;
    Shape shape;
    uint64_t begin;  // offsets into the data region
    uint64_t end;
};

/// The header, validated against a data region of `data_size` bytes: entries sorted by offset,
/// covering the region exactly. `where` names the file in messages.
struct SafetensorsLayout {
    std::vector<SafetensorsEntry> entries;
    Metadata metadata;
};

namespace detail {

/// Reads the header's one tensor entry {"dtype": .., "shape": [..], "data_offsets": [b, e]}.
inline SafetensorsEntry read_entry(json::Reader& reader, const std::string& name, uint64_t data_size,
                                   const std::string& where) {
    reader.peek();  // skip whitespace so that `at` points at the entry itself
    const size_t at = reader.offset();
    auto problem = [&](const auto&... parts) {
        fail(where, ": tensor ", json::quote(name), " (header byte ", at, "): ", parts...);
    };
    if (reader.peek() != json::Kind::object)
        problem("expected an object {\"dtype\", \"shape\", \"data_offsets\"}, got ", json::kind_name(reader.peek()));
    SafetensorsEntry entry{name, Dtype::F32, {}, 0, 0};
    bool has_dtype = false, has_shape = false, has_offsets = false;
    reader.begin_object();
    std::string key;
    while (reader.next_key(key)) {
        if (key == "dtype") {
            if (has_dtype) problem("\"dtype\" appears twice");
            has_dtype = true;
            if (reader.peek() != json::Kind::string) problem("\"dtype\" must be a string");
            std::string text = reader.read_string();
            std::optional<Dtype> dtype = dtype_from_string(text);
            if (!dtype) problem("unknown dtype ", json::quote(text));
            if (!dtype_supported(*dtype))
                problem("dtype ", dtype_str(*dtype), " is valid safetensors but seam reads only F64, F32, F16, BF16 and I64");
            entry.dtype = *dtype;
        } else if (key == "shape") {
            if (has_shape) problem("\"shape\" appears twice");
            has_shape = true;
            if (reader.peek() != json::Kind::array) problem("\"shape\" must be an array of sizes");
            reader.begin_array();
            while (reader.next_element()) {
                if (reader.peek() != json::Kind::integer) problem("\"shape\" must hold whole numbers");
                int64_t extent = reader.read_integer();
                if (extent < 0) problem("\"shape\" holds the negative size ", extent);
                if (entry.shape.size() >= kMaxSafetensorsRank)
                    problem("\"shape\" has more than ", kMaxSafetensorsRank, " dimensions");
                entry.shape.push_back(extent);
            }
        } else if (key == "data_offsets") {
            if (has_offsets) problem("\"data_offsets\" appears twice");
            has_offsets = true;
            if (reader.peek() != json::Kind::array) problem("\"data_offsets\" must be an array [begin, end]");
            reader.begin_array();
            int64_t offsets[2] = {0, 0};
            int count = 0;
            while (reader.next_element()) {
                if (reader.peek() != json::Kind::integer || count == 2)
                    problem("\"data_offsets\" must be exactly two whole numbers [begin, end]");
                offsets[count++] = reader.read_integer();
            }
            if (count != 2) problem("\"data_offsets\" must be exactly two whole numbers [begin, end]");
            if (offsets[0] < 0 || offsets[1] < 0) problem("\"data_offsets\" [", offsets[0], ", ", offsets[1], "] are negative");
            entry.begin = static_cast<uint64_t>(offsets[0]);
            entry.end = static_cast<uint64_t>(offsets[1]);
        } else {
            problem("unexpected field ", json::quote(key), " (a tensor has only dtype, shape and data_offsets)");
        }
    }
    if (!has_dtype) problem("\"dtype\" is missing");
    if (!has_shape) problem("\"shape\" is missing");
    if (!has_offsets) problem("\"data_offsets\" is missing");

    // Element count, with overflow checks. The product of the non-zero sizes must fit in int64
    // even for an empty tensor: strides are computed from it.
    uint64_t nonzero_product = 1;
    bool any_zero = false;
    for (int64_t extent : entry.shape) {
        if (extent == 0) { any_zero = true; continue; }
        if (nonzero_product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / static_cast<uint64_t>(extent))
            problem("shape ", shape_str(entry.shape), " has more than 2^63 elements");
        nonzero_product *= static_cast<uint64_t>(extent);
    }
    const uint64_t numel = any_zero ? 0 : nonzero_product;
    const uint64_t element = dtype_size(entry.dtype);
    if (entry.end < entry.begin)
        problem("data_offsets [", entry.begin, ", ", entry.end, "] end before they begin");
    if (numel > std::numeric_limits<uint64_t>::max() / element || numel * element != entry.end - entry.begin)
        problem("data_offsets [", entry.begin, ", ", entry.end, "] hold ", entry.end - entry.begin, " bytes but shape ",
                shape_str(entry.shape), " of ", dtype_str(entry.dtype), " needs ", numel, " x ", element, " bytes");
    if (entry.end > data_size)
        problem("data_offsets [", entry.begin, ", ", entry.end, "] run past the end of the data region (",
                data_size, " bytes)");
    return entry;
}

}  // namespace detail

/// Parse and validate a header (the N bytes after the length) for a data region of `data_size`
/// bytes. `where` starts every message ("safetensors file 'model.safetensors'").
inline SafetensorsLayout parse_safetensors_header(std::string_view header, uint64_t data_size, const std::string& where) {
    SafetensorsLayout layout;
    try {
        json::Reader reader(header, json::Limits{kMaxSafetensorsHeader, 8});
        if (reader.peek() != json::Kind::object)
            fail(where, ": the header is not a JSON object (got ", json::kind_name(reader.peek()), ")");
        reader.begin_object();
        std::set<std::string> names;
        bool has_metadata = false;
        std::string key;
        while (reader.next_key(key)) {
            const size_t key_at = reader.key_offset();
            if (key == "__metadata__") {
                if (has_metadata) fail(where, ": \"__metadata__\" appears twice in the header (byte ", key_at, ")");
                has_metadata = true;
                if (reader.peek() != json::Kind::object)
                    fail(where, ": \"__metadata__\" must be an object of strings, got ", json::kind_name(reader.peek()));
                reader.begin_object();
                std::string meta_key;
                while (reader.next_key(meta_key)) {
                    if (reader.peek() != json::Kind::string)
                        fail(where, ": metadata ", json::quote(meta_key), " must be a string, got ",
                             json::kind_name(reader.peek()), " (header byte ", reader.offset(), ")");
                    std::string value = reader.read_string();
                    if (!layout.metadata.emplace(meta_key, std::move(value)).second)
                        fail(where, ": metadata key ", json::quote(meta_key), " appears twice");
                }
                continue;
            }
            if (!names.insert(key).second)
                fail(where, ": tensor name ", json::quote(key), " appears twice in the header (byte ", key_at, ")");
            layout.entries.push_back(detail::read_entry(reader, key, data_size, where));
        }
        reader.finish();
    } catch (const json::ParseError& e) {
        fail(where, ": the header is not valid JSON: ", e.what());
    }

    // The tensors must tile the data region: sorted by offset, each begins where the last ended.
    std::sort(layout.entries.begin(), layout.entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t covered = 0;
    const SafetensorsEntry* previous = nullptr;
    for (const auto& entry : layout.entries) {
        if (entry.begin < covered)
            fail(where, ": tensors ", json::quote(previous->name), " [", previous->begin, ", ", previous->end, ") and ",
                 json::quote(entry.name), " [", entry.begin, ", ", entry.end, ") overlap");
        if (entry.begin > covered)
            fail(where, ": data bytes [", covered, ", ", entry.begin, ") belong to no tensor (a gap before ",
                 json::quote(entry.name), ")");
        covered = entry.end;
        previous = &entry;
    }
    if (covered < data_size)
        fail(where, ": the data region holds ", data_size, " bytes but the tensors cover only ", covered,
             " (bytes after the last tensor)");
    return layout;
}

namespace detail {

/// Decode one entry's bytes (read with read_bytes(offset_in_data, destination, count)) into a tensor.
template <class ReadBytes>
inline AnyTensor decode_entry(const SafetensorsEntry& entry, ReadBytes&& read_bytes) {
    auto direct = [&](auto tag) {
        using T = decltype(tag);
        Tensor<T> t = empty<T>(entry.shape);
        if (entry.end > entry.begin) read_bytes(entry.begin, static_cast<void*>(t.data()), entry.end - entry.begin);
        return AnyTensor(t);
    };
    auto sixteen_bit = [&](auto to_float) {
        Tensor<float> t = empty<float>(entry.shape);
        const int64_t n = t.numel();
        std::vector<uint16_t> bits(static_cast<size_t>(n));
        if (n > 0) read_bytes(entry.begin, static_cast<void*>(bits.data()), entry.end - entry.begin);
        float* out = t.data();
        for (int64_t i = 0; i < n; ++i) out[i] = to_float(bits[static_cast<size_t>(i)]);
        return AnyTensor(t);
    };
    switch (entry.dtype) {
        case Dtype::F32: return direct(float{});
        case Dtype::F64: return direct(double{});
        case Dtype::I64: return direct(int64_t{});
        case Dtype::F16: return sixteen_bit(half_to_float);
        case Dtype::BF16: return sixteen_bit(bf16_to_float);
        default: fail("safetensors: dtype ", dtype_str(entry.dtype), " cannot be decoded");
    }
}

inline uint64_t read_le64(const unsigned char* p) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | p[i];
    return n;
}

inline std::string errno_text(int err) { return std::strerror(err); }

}  // namespace detail

/// Parse a whole safetensors file held in memory. `source` names it in messages.
inline SafetensorsFile parse_safetensors(const void* bytes, size_t size, const std::string& source = "<memory>") {
    const std::string where = "safetensors data '" + source + "'";
    const auto* p = static_cast<const unsigned char*>(bytes);
    if (size < 8) fail(where, ": ", size, " bytes is too short to hold the 8-byte header length");
    const uint64_t header_size = detail::read_le64(p);
    if (header_size > kMaxSafetensorsHeader)
        fail(where, ": the header length ", header_size, " is larger than the limit of ", kMaxSafetensorsHeader, " bytes");
    if (header_size > size - 8)
        fail(where, ": the header length ", header_size, " runs past the end of the data (", size, " bytes in all)");
    const uint64_t data_size = size - 8 - header_size;
    SafetensorsLayout layout = parse_safetensors_header(
        std::string_view(reinterpret_cast<const char*>(p + 8), static_cast<size_t>(header_size)), data_size, where);
    SafetensorsFile file;
    file.source = source;
    file.metadata = std::move(layout.metadata);
    const unsigned char* data = p + 8 + header_size;
    for (auto& entry : layout.entries) {
        AnyTensor value = detail::decode_entry(entry, [&](uint64_t offset, void* into, uint64_t count) {
            std::memcpy(into, data + offset, static_cast<size_t>(count));
        });
        file.tensors.push_back(SafetensorsTensor{std::move(entry.name), entry.dtype, std::move(value)});
    }
    return file;
}

/// Read a safetensors file. The header's claims are checked against the file's size before
/// any tensor is allocated; tensor bytes are read straight into the tensors.
inline SafetensorsFile load_safetensors(const std::string& path) {
    const std::string where = "safetensors file '" + path + "'";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(where, ": cannot open: ", detail::errno_text(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat info {};
    if (::fstat(fd, &info) != 0) fail(where, ": cannot stat: ", detail::errno_text(errno));
    if (!S_ISREG(info.st_mode)) fail(where, ": not a regular file");
    const uint64_t size = static_cast<uint64_t>(info.st_size);

    auto read_at = [&](uint64_t offset, void* into, uint64_t count) {
        auto* out = static_cast<char*>(into);
        while (count > 0) {
            const size_t chunk = static_cast<size_t>(std::min<uint64_t>(count, uint64_t(1) << 30));
            const ssize_t got = ::pread(fd, out, chunk, static_cast<off_t>(offset));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) fail(where, ": read error at byte ", offset, ": ", detail::errno_text(errno));
            if (got == 0) fail(where, ": the file ended at byte ", offset, " while reading (was it truncated while being read?)");
            out += got;
            offset += static_cast<uint64_t>(got);
            count -= static_cast<uint64_t>(got);
        }
    };

    if (size < 8) fail(where, ": the file is ", size, " bytes long, too short to hold the 8-byte header length");
    unsigned char prefix[8];
    read_at(0, prefix, 8);
    const uint64_t header_size = detail::read_le64(prefix);
    if (header_size > kMaxSafetensorsHeader)
        fail(where, ": the header length ", header_size, " is larger than the limit of ", kMaxSafetensorsHeader, " bytes");
    if (header_size > size - 8)
        fail(where, ": the header length ", header_size, " runs past the end of the file (", size,
             " bytes): the file is truncated or not safetensors");
    std::string header(static_cast<size_t>(header_size), '\0');
    if (header_size > 0) read_at(8, header.data(), header_size);
    SafetensorsLayout layout = parse_safetensors_header(header, size - 8 - header_size, where);

    SafetensorsFile file;
    file.source = path;
    file.metadata = std::move(layout.metadata);
    const uint64_t data_start = 8 + header_size;
    for (auto& entry : layout.entries) {
        AnyTensor value = detail::decode_entry(
            entry, [&](uint64_t offset, void* into, uint64_t count) { read_at(data_start + offset, into, count); });
        file.tensors.push_back(SafetensorsTensor{std::move(entry.name), entry.dtype, std::move(value)});
    }
    return file;
}

// ----- writing -----------------------------------------------------------------------------------

namespace detail {

/// The tensors in the order the reference writer lays them out, checked for writing.
inline std::vector<const SafetensorsTensor*> writing_order(const std::vector<SafetensorsTensor>& tensors,
                                                           const Metadata& metadata, const std::string& where) {
    std::set<std::string_view> names;
    std::vector<const SafetensorsTensor*> order;
    for (const auto& t : tensors) {
        SEAM_CHECK(json::is_valid_utf8(t.name), where, ": a tensor name is not valid UTF-8");
        SEAM_CHECK(t.name != "__metadata__", where, ": \"__metadata__\" is reserved and cannot name a tensor");
        SEAM_CHECK(names.insert(t.name).second, where, ": tensor name ", json::quote(t.name), " appears twice");
        SEAM_CHECK(dtype_supported(t.dtype), where, ": tensor ", json::quote(t.name), ": seam cannot write dtype ",
                   dtype_str(t.dtype), " (it writes F64, F32, F16, BF16 and I64)");
        const bool integer = std::holds_alternative<Tensor<int64_t>>(t.value);
        SEAM_CHECK(integer == (t.dtype == Dtype::I64), where, ": tensor ", json::quote(t.name), " holds ",
                   integer ? "int64" : "floating-point", " values and cannot be written as ", dtype_str(t.dtype));
        std::visit(
            [&](const auto& v) {
                SEAM_CHECK(v.defined(), where, ": tensor ", json::quote(t.name), " is undefined");
                SEAM_CHECK(v.device().is_cpu(), where, ": tensor ", json::quote(t.name), " is on ", v.device().str(),
                           "; copy it to the CPU first");
            },
            t.value);
        order.push_back(&t);
    }
    for (const auto& [key, value] : metadata)
        SEAM_CHECK(json::is_valid_utf8(key) && json::is_valid_utf8(value), where, ": metadata ",
                   json::is_valid_utf8(key) ? json::quote(key) : std::string("key"), " is not valid UTF-8");
    std::stable_sort(order.begin(), order.end(), [](const SafetensorsTensor* a, const SafetensorsTensor* b) {
        if (a->dtype != b->dtype) return a->dtype > b->dtype;
        return a->name < b->name;
    });
    return order;
}

inline uint64_t byte_size(const SafetensorsTensor& t) {
    return static_cast<uint64_t>(numel_of(t.shape())) * dtype_size(t.dtype);
}

/// The header bytes (padded) and the 8-byte length in front of them.
inline std::string header_bytes(const std::vector<const SafetensorsTensor*>& order, const Metadata& metadata) {
    std::string json = "{";
    bool first = true;
    if (!metadata.empty()) {
        json += "\"__metadata__\":{";
        bool first_meta = true;
        for (const auto& [key, value] : metadata) {
            json += (first_meta ? "" : ",") + json::quote(key) + ":" + json::quote(value);
            first_meta = false;
        }
        json += "}";
        first = false;
    }
    uint64_t offset = 0;
    for (const SafetensorsTensor* t : order) {
        const uint64_t n = byte_size(*t);
        json += (first ? "" : ",") + json::quote(t->name) + ":{\"dtype\":\"" + dtype_str(t->dtype) + "\",\"shape\":[";
        const Shape& shape = t->shape();
        for (size_t i = 0; i < shape.size(); ++i) json += (i ? "," : "") + std::to_string(shape[i]);
        json += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + n) + "]}";
        offset += n;
        first = false;
    }
    json += "}";
    json.append((8 - json.size() % 8) % 8, ' ');  // the data region starts 8-byte aligned
    std::string out(8, '\0');
    uint64_t length = json.size();
    for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xFF);
    return out + json;
}

/// Stream one tensor's bytes, converted to its dtype, to sink(const void*, size_t) in chunks.
template <class Sink>
inline void encode_tensor(const SafetensorsTensor& t, Sink&& sink) {
    std::visit(
        [&](const auto& tensor) {
            using T = typename std::decay_t<decltype(tensor)>::value_type;
            // A strided view is gathered first (to_vector works for every element type).
            std::vector<T> gathered;
            if (!tensor.is_contiguous()) gathered = tensor.to_vector();
            const T* src = tensor.is_contiguous() ? tensor.data() : gathered.data();
            const int64_t n = tensor.numel();
            if (n == 0) return;
            const bool same_bytes = (t.dtype == Dtype::I64 && std::is_same_v<T, int64_t>) ||
                                    (t.dtype == Dtype::F32 && std::is_same_v<T, float>) ||
                                    (t.dtype == Dtype::F64 && std::is_same_v<T, double>);
            if (same_bytes) {
                sink(static_cast<const void*>(src), static_cast<size_t>(n) * sizeof(T));
                return;
            }
            if constexpr (std::is_floating_point_v<T>) {
                // Convert through a small staging buffer: no second copy of a large tensor.
                constexpr int64_t kChunk = 8192;
                unsigned char staging[kChunk * 8];
                for (int64_t lo = 0; lo < n; lo += kChunk) {
                    const int64_t hi = std::min(n, lo + kChunk);
                    size_t bytes = 0;
                    for (int64_t i = lo; i < hi; ++i) {
                        const double x = static_cast<double>(src[i]);
                        switch (t.dtype) {
                            case Dtype::F64: std::memcpy(staging + bytes, &x, 8); bytes += 8; break;
                            case Dtype::F32: {
                                const float f = static_cast<float>(src[i]);  // round to nearest even
                                std::memcpy(staging + bytes, &f, 4);
                                bytes += 4;
                                break;
                            }
                            case Dtype::F16: {
                                const uint16_t h = half_from_double(x);
                                std::memcpy(staging + bytes, &h, 2);
                                bytes += 2;
                                break;
                            }
                            case Dtype::BF16: {
                                const uint16_t b = bf16_from_double(x);
                                std::memcpy(staging + bytes, &b, 2);
                                bytes += 2;
                                break;
                            }
                            default: fail("safetensors: cannot convert to ", dtype_str(t.dtype));
                        }
                    }
                    sink(static_cast<const void*>(staging), bytes);
                }
            } else {
                fail("safetensors: cannot write int64 values as ", dtype_str(t.dtype));
            }
        },
        t.value);
}

/// Write a file atomically: body(write) writes the contents through write(bytes, count); the
/// result lands at `path` only when everything was written and synced.
template <class Body>
inline void write_file_atomically(const std::string& path, const std::string& where, Body&& body) {
    const std::string temporary = path + ".tmp." + std::to_string(static_cast<long long>(::getpid()));
    int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail(where, ": cannot create the temporary file '", temporary, "': ", errno_text(errno));
    try {
        auto write_all = [&](const void* bytes, size_t count) {
            const auto* p = static_cast<const char*>(bytes);
            while (count > 0) {
                const ssize_t put = ::write(fd, p, std::min<size_t>(count, size_t(1) << 30));
                if (put < 0 && errno == EINTR) continue;
                if (put < 0) fail(where, ": write error: ", errno_text(errno), " (the old file, if any, is untouched)");
                p += put;
                count -= static_cast<size_t>(put);
            }
        };
        body(write_all);
        if (::fsync(fd) != 0) fail(where, ": fsync failed: ", errno_text(errno));
        const int closed = ::close(fd);
        fd = -1;
        if (closed != 0) fail(where, ": close failed: ", errno_text(errno));
        if (::rename(temporary.c_str(), path.c_str()) != 0)
            fail(where, ": cannot rename the temporary file over it: ", errno_text(errno));
    } catch (...) {
        if (fd >= 0) ::close(fd);
        ::unlink(temporary.c_str());
        throw;
    }
    // Make the rename itself durable (best effort: the file is complete either way).
    const size_t slash = path.find_last_of('/');
    const std::string directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        (void)::fsync(dir_fd);
        ::close(dir_fd);
    }
}

}  // namespace detail

/// The bytes of a safetensors file holding `tensors` and `metadata` (what save_safetensors writes).
inline std::string serialize_safetensors(const std::vector<SafetensorsTensor>& tensors, const Metadata& metadata = {}) {
    auto order = detail::writing_order(tensors, metadata, "serialize_safetensors");
    std::string out = detail::header_bytes(order, metadata);
    for (const SafetensorsTensor* t : order)
        detail::encode_tensor(*t, [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
    return out;
}

/// Write `tensors` and `metadata` to `path` as safetensors, atomically (see the header comment).
inline void save_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                             const Metadata& metadata = {}) {
    const std::string where = "save_safetensors('" + path + "')";
    auto order = detail::writing_order(tensors, metadata, where);
    const std::string header = detail::header_bytes(order, metadata);
    detail::write_file_atomically(path, where, [&](auto& write) {
        write(header.data(), header.size());
        for (const SafetensorsTensor* t : order) detail::encode_tensor(*t, write);
    });
}

// ----- module state_dict -------------------------------------------------------------------------

/// Save a module's state_dict (parameters and buffers, dotted names) as safetensors, by default in
/// the module's own precision (F32 for float, F64 for double).
template <class T>
inline void save_state_dict_file(const nn::Module<T>& module, const std::string& path, const Metadata& metadata = {},
                                 std::optional<Dtype> dtype = std::nullopt) {
    std::vector<SafetensorsTensor> tensors;
    for (auto& [name, tensor] : module.state_dict()) tensors.push_back(named_tensor(name, tensor.to(Device::cpu()), dtype));
    save_safetensors(path, tensors, metadata);
}

/// Load a safetensors file into a module's parameters and buffers by name, converting floating
/// dtypes to T. With `strict`, missing and unexpected names are errors; shape mismatches always
/// are; one message lists every problem and the module is left unchanged then.
/// PyTorch's BatchNorm files carry an I64 "<bn>.num_batches_tracked" counter that seam's BatchNorm
/// does not need (it uses a fixed momentum): such entries are skipped when the module has no
/// entry of that name, so torchvision checkpoints load strictly.
template <class T>
inline nn::LoadResult load_state_dict_file(nn::Module<T>& module, const std::string& path, bool strict = true) {
    const SafetensorsFile file = load_safetensors(path);
    std::unordered_map<std::string, Shape> own;
    std::vector<std::string> own_names;
    for (const auto& [name, tensor] : module.state_dict()) {
        own.emplace(name, tensor.shape());
        own_names.push_back(name);
    }
    nn::LoadResult result;
    std::vector<std::string> mismatched;
    std::set<std::string> found;
    nn::StateDict<T> dict;
    const std::string counter_suffix = ".num_batches_tracked";
    for (const auto& t : file.tensors) {
        auto it = own.find(t.name);
        if (it == own.end()) {
            const bool counter = t.dtype == Dtype::I64 && t.name.size() >= counter_suffix.size() &&
                                 t.name.compare(t.name.size() - counter_suffix.size(), counter_suffix.size(), counter_suffix) == 0;
            if (!counter) result.unexpected_keys.push_back(t.name);
            continue;
        }
        found.insert(t.name);
        if (!dtype_is_floating(t.dtype)) {
            mismatched.push_back(json::quote(t.name) + ": file dtype " + dtype_str(t.dtype) + " vs model " + dtype_name<T>());
        } else if (t.shape() != it->second) {
            mismatched.push_back(json::quote(t.name) + ": file " + shape_str(t.shape()) + " vs model " + shape_str(it->second));
        } else {
            dict.emplace_back(t.name, file.get<T>(t.name));
        }
    }
    for (const auto& name : own_names)
        if (!found.count(name)) result.missing_keys.push_back(name);
    if (!mismatched.empty() || (strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty()))) {
        std::string msg = "load_state_dict_file('" + path + "'): the file does not fit the " + module.type_name();
        auto list = [&](const char* title, const std::vector<std::string>& items, bool quote) {
            if (items.empty()) return;
            msg += "\n  " + std::string(title) + " (" + std::to_string(items.size()) + "): ";
            for (size_t i = 0; i < items.size(); ++i) msg += (i ? ", " : "") + (quote ? json::quote(items[i]) : items[i]);
        };
        if (strict) {
            list("missing keys", result.missing_keys, true);
            list("unexpected keys", result.unexpected_keys, true);
        }
        list("mismatched", mismatched, false);
        throw Error(msg);
    }
    module.load_state_dict(dict, /*strict=*/false);
    return result;
}

}  // namespace seam::io
