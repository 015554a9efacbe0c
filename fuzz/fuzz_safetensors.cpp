// libFuzzer target: seam::io::parse_safetensors (and the JSON reader under it) on arbitrary bytes.
//
// fuzz-flags: -fopenmp
//
// The first input byte picks a mode, the rest is the payload:
//   0  the payload as a whole safetensors file
//   1  the payload as the header JSON followed by data bytes: the next byte says how many of the
//      payload's last bytes are data (up to 255), and the 8-byte length is written for the fuzzer,
//      so it explores the header grammar without having to guess the length field
//   2  a valid file built from the payload (tensors of every dtype, shapes, names, values,
//      metadata) by serialize_safetensors, then a few bytes overwritten at payload-chosen places:
//      near-valid files that reach every validation and decode path
// Also, in every mode, the payload goes to json::parse, and what it accepts must survive
// write -> parse -> write unchanged.
// Properties: parsing either throws seam::Error or returns tensors; each returned tensor, encoded
// again, must be exactly the bytes at its declared offsets in the input; what it returns must be
// writable, and the written file must parse to the same names, dtypes, shapes, metadata and
// values (bit for bit; NaN payloads may change when a half or bfloat16 NaN is re-encoded), and
// writing that again must give the same bytes. Anything else (a crash, a sanitizer report,
// another exception) is a finding.
#include <seam/io/json.hpp>
#include <seam/io/safetensors.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#define SEAM_FUZZ_ASSERT(condition)                                                                  \
    do {                                                                                             \
        if (!(condition)) {                                                                          \
            std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
            std::abort();                                                                            \
        }                                                                                            \
    } while (0)

namespace {

using namespace seam::io;

/// Same values bit for bit, NaN matching any NaN.
template <class T>
bool same_values(const seam::Tensor<T>& a, const seam::Tensor<T>& b) {
    if (a.shape() != b.shape()) return false;
    const auto va = a.to_vector(), vb = b.to_vector();
    for (size_t i = 0; i < va.size(); ++i) {
        if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(va[i]) && std::isnan(vb[i])) continue;
        }
        if (std::memcmp(&va[i], &vb[i], sizeof(T)) != 0) return false;
    }
    return true;
}

/// Each accepted tensor, encoded again in its dtype, is exactly the bytes at its declared offsets
/// in the original file (a half/bfloat16 NaN may come back with another payload).
void check_bytes_match(const std::string& bytes, const SafetensorsFile& file) {
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
    const std::string_view data = std::string_view(bytes).substr(8 + header_size);
    const SafetensorsLayout layout =
        parse_safetensors_header(std::string_view(bytes).substr(8, header_size), data.size(), "again");
    SEAM_FUZZ_ASSERT(layout.entries.size() == file.tensors.size());
    for (const auto& entry : layout.entries) {
        const SafetensorsTensor* t = file.find(entry.name);
        SEAM_FUZZ_ASSERT(t != nullptr && t->dtype == entry.dtype && t->shape() == entry.shape);
        const size_t length = static_cast<size_t>(entry.end - entry.begin);
        const std::string alone = serialize_safetensors({*t});
        SEAM_FUZZ_ASSERT(alone.size() >= length);
        const std::string_view encoded = std::string_view(alone).substr(alone.size() - length);
        const std::string_view original = data.substr(static_cast<size_t>(entry.begin), length);
        if (entry.dtype == Dtype::F16 || entry.dtype == Dtype::BF16) {
            for (size_t i = 0; i < length; i += 2) {
                uint16_t a, b;
                std::memcpy(&a, encoded.data() + i, 2);
                std::memcpy(&b, original.data() + i, 2);
                const bool half = entry.dtype == Dtype::F16;
                const bool both_nan = std::isnan(half ? half_to_float(a) : bf16_to_float(a)) &&
                                      std::isnan(half ? half_to_float(b) : bf16_to_float(b));
                SEAM_FUZZ_ASSERT(a == b || both_nan);
            }
        } else {
            SEAM_FUZZ_ASSERT(encoded == original);
        }
    }
}

void check_file(const std::string& bytes) {
    SafetensorsFile first;
    try {
        first = parse_safetensors(bytes.data(), bytes.size(), "fuzz.safetensors");
    } catch (const seam::Error&) {
        return;  // refused with a message: fine
    }
    // Accepted: from here on any exception is a finding (libFuzzer reports it as a crash).
    check_bytes_match(bytes, first);
    const std::string written = serialize_safetensors(first.tensors, first.metadata);
    const SafetensorsFile second = parse_safetensors(written.data(), written.size(), "rewritten.safetensors");
    SEAM_FUZZ_ASSERT(second.metadata == first.metadata);
    SEAM_FUZZ_ASSERT(second.tensors.size() == first.tensors.size());
    for (const auto& t : first.tensors) {
        const SafetensorsTensor* again = second.find(t.name);
        SEAM_FUZZ_ASSERT(again != nullptr);
        SEAM_FUZZ_ASSERT(again->dtype == t.dtype);
        SEAM_FUZZ_ASSERT(again->shape() == t.shape());
        SEAM_FUZZ_ASSERT(again->value.index() == t.value.index());
        std::visit(
            [&](const auto& value) {
                using Tensor = std::decay_t<decltype(value)>;
                SEAM_FUZZ_ASSERT(same_values(value, std::get<Tensor>(again->value)));
            },
            t.value);
    }
    SEAM_FUZZ_ASSERT(serialize_safetensors(second.tensors, second.metadata) == written);
}

void check_json(std::string_view text) {
    json::Value value;
    try {
        value = json::parse(text);
    } catch (const seam::Error&) {
        return;
    }
    const std::string written = json::write(value);
    SEAM_FUZZ_ASSERT(json::write(json::parse(written)) == written);
}

std::string length_prefix(uint64_t n) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
    return out;
}

/// Reads the payload byte by byte, then zeros.
struct Bytes {
    const uint8_t* data;
    size_t size;
    size_t pos = 0;
    uint8_t next() { return pos < size ? data[pos++] : 0; }
};

std::string structured_file(Bytes& in) {
    static const Dtype kDtypes[] = {Dtype::F32, Dtype::F64, Dtype::F16, Dtype::BF16, Dtype::I64};
    std::vector<SafetensorsTensor> tensors;
    const int count = in.next() % 5;
    for (int k = 0; k < count; ++k) {
        const Dtype dtype = kDtypes[in.next() % 5];
        seam::Shape shape(in.next() % 4);
        for (auto& extent : shape) extent = in.next() % 4;
        std::string name = "t" + std::to_string(in.next() % 6);
        const int64_t n = seam::numel_of(shape);
        if (dtype == Dtype::I64) {
            std::vector<int64_t> v(static_cast<size_t>(n));
            for (auto& x : v) x = static_cast<int64_t>(in.next()) - 128;
            tensors.push_back(named_tensor(name, seam::from_vector<int64_t>(v, shape)));
        } else if (dtype == Dtype::F64) {
            std::vector<double> v(static_cast<size_t>(n));
            for (auto& x : v) x = std::ldexp(static_cast<double>(static_cast<int8_t>(in.next())), in.next() % 64 - 32);
            tensors.push_back(named_tensor(name, seam::from_vector<double>(v, shape)));
        } else {
            std::vector<float> v(static_cast<size_t>(n));
            for (auto& x : v) {
                uint32_t bits = 0;
                for (int b = 0; b < 4; ++b) bits = (bits << 8) | in.next();
                std::memcpy(&x, &bits, 4);
            }
            tensors.push_back(named_tensor(name, seam::from_vector<float>(v, shape), dtype));
        }
    }
    Metadata metadata;
    if (in.next() % 2) metadata["k" + std::to_string(in.next() % 3)] = std::string(in.next() % 5, 'v');
    try {
        return serialize_safetensors(tensors, metadata);
    } catch (const seam::Error&) {
        return "";  // e.g. a repeated name: the writer refuses it
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    seam::set_num_threads(1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t mode = data[0] % 3;
    const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
    check_json(payload);
    if (mode == 0) {
        check_file(std::string(payload));
    } else if (mode == 1) {
        if (payload.empty()) return 0;
        const size_t data_bytes = std::min<size_t>(static_cast<uint8_t>(payload[0]), payload.size() - 1);
        const std::string_view rest = payload.substr(1);
        const std::string_view header = rest.substr(0, rest.size() - data_bytes);
        check_file(length_prefix(header.size()) + std::string(header) + std::string(rest.substr(header.size())));
    } else {
        Bytes in{data + 1, size - 1};
        std::string file = structured_file(in);
        if (file.empty()) return 0;
        const int edits = in.next() % 4;
        for (int e = 0; e < edits; ++e) {
            const size_t at = ((static_cast<size_t>(in.next()) << 8) | in.next()) % file.size();
            file[at] = static_cast<char>(in.next());
        }
        check_file(file);
    }
    return 0;
}
