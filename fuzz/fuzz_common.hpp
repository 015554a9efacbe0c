// fuzz/fuzz_common.hpp — what the DeepFashion libFuzzer targets share.
//
// Each list target feeds arbitrary bytes to one parser. Input the parser rejects must end in a
// seam::Error (anything else — a crash, a sanitizer report, another exception — is a finding).
// Input it accepts must survive the matching writer: write the rows, parse them again with the
// count check on, and get the same rows back (the reader and writer agree on the format).
#pragma once

#include <seam/data/deepfashion.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

// A property that must hold; abort() makes libFuzzer save the input as a crash.
#define SEAM_FUZZ_ASSERT(condition)                                                                  \
    do {                                                                                             \
        if (!(condition)) {                                                                          \
            std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
            std::abort();                                                                            \
        }                                                                                            \
    } while (0)

namespace seam_fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

/// parse(table, options) -> ListFile<Entry>; write(out, rows).
template <class Parse, class Write>
void check_list_round_trip(const std::uint8_t* data, std::size_t size, Parse parse, Write write) {
    seam::data::ListOptions fragment;
    fragment.check_count = false;  // reach the round trip even when the count line is off
    decltype(parse(std::declval<seam::data::TextTable&>(), fragment)) first;
    try {
        seam::data::TextTable table(as_text(data, size), "fuzz.txt");
        first = parse(table, fragment);
    } catch (const seam::Error&) {
        return;  // rejected with a message: fine
    }
    // From here on any exception escapes to libFuzzer: the writer must accept what the reader
    // accepted, and the reader must accept what the writer wrote.
    std::ostringstream out;
    write(out, first.rows);
    const std::string written = out.str();
    seam::data::TextTable again(written, "rewritten.txt");
    const auto second = parse(again, seam::data::ListOptions{});
    SEAM_FUZZ_ASSERT(second.declared_count == static_cast<std::int64_t>(first.rows.size()));
    SEAM_FUZZ_ASSERT(second.rows == first.rows);
}

/// The input cut at the byte 0x1E (ASCII record separator) into up to `count` file contents;
/// a missing part is nullptr (the file is absent), so optional files get exercised too.
inline std::vector<const std::string*> split_files(std::string_view text, std::size_t count,
                                                   std::vector<std::string>& storage) {
    storage.clear();
    std::size_t start = 0;
    while (storage.size() < count) {
        const auto end = text.find('\x1e', start);
        storage.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    std::vector<const std::string*> files(count, nullptr);
    for (std::size_t i = 0; i < storage.size(); ++i) files[i] = &storage[i];
    return files;
}

/// A scratch folder for this fuzzing process, removed when the process exits normally
/// (libFuzzer's -max_total_time ends with exit(), which runs static destructors).
struct ScratchFolder {
    std::filesystem::path path;
    explicit ScratchFolder(const char* name)
        : path(base() / ("seam_fuzz_" + std::string(name) + "_" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~ScratchFolder() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    // A memory file system when there is one: creating and deleting files on ext4 thousands of
    // times a second is what would limit the fuzzing speed otherwise.
    static std::filesystem::path base() {
        std::error_code ec;
        if (std::filesystem::is_directory("/dev/shm", ec)) return "/dev/shm";
        return std::filesystem::temp_directory_path();
    }
};


inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    SEAM_FUZZ_ASSERT(out.good());
}

/// Make `root` hold exactly the given files: write the present ones, delete the others.
inline void set_files(const std::filesystem::path& root, const char* const* names,
                      const std::vector<const std::string*>& contents) {
    for (std::size_t i = 0; i < contents.size(); ++i) {
        std::error_code ec;
        if (contents[i] != nullptr) write_file(root / names[i], *contents[i]);
        else std::filesystem::remove(root / names[i], ec);
    }
}

/// Delete the given files under `root` (before a writer that writes only some of them).
inline void remove_files(const std::filesystem::path& root, const char* const* names, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        std::error_code ec;
        std::filesystem::remove(root / names[i], ec);
    }
}

}  // namespace seam_fuzz
