// seam/data/deepfashion_loading.hpp — what the two DeepFashion dataset loaders and writers share:
// LoadOptions (which optional files to read), the image matcher that joins list files by image
// name and catches images missing from or repeated in a file, and a checked file writer.
#pragma once

#include <seam/data/deepfashion_list_writers.hpp>
#include <seam/data/deepfashion_lists.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seam::data {

/// How a loader treats an optional annotation file.
enum class Need {
    required,    ///< read it; a missing file is an error
    if_present,  ///< read it when it exists
    skip,        ///< never read it (e.g. the ~900 MB list_attr_img.txt when only categories matter)
};

struct LoadOptions {
    /// Category-and-Attribute: Anno/list_attr_img.txt. Consumer-to-shop: the three files
    /// list_attr_cloth, list_attr_type and list_attr_items (present means all three).
    Need attribute_labels = Need::required;
    /// Category-and-Attribute: Anno/list_bbox.txt. (Consumer-to-shop always reads its bbox file:
    /// it is the list of images.)
    Need boxes = Need::required;
    /// Anno/list_landmarks.txt or Anno/list_landmarks_consumer2shop.txt.
    Need landmarks = Need::required;
    /// Require each file's line-1 count to equal its number of data rows. The cross-file checks
    /// stay on either way; turn this off only for a copy whose count lines are known to be off.
    bool check_counts = true;
};

namespace detail {

// Whether to read an optional file; a required one that is missing is an error here, with a
// message that says how to do without it.
inline bool should_read(const std::filesystem::path& path, Need need, std::string_view option_name) {
    if (need == Need::skip) return false;
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    if (!exists && need == Need::required)
        seam::fail(path.string(), ": required file is missing (set LoadOptions::", option_name,
                   " = Need::if_present to load without it)");
    return exists;
}

// Joins a list file to the reference list of images (list_category_img.txt, or the C2S bbox
// list) by image name. The files of one benchmark list the images in the same order, so row i
// is tried first and the hash map is the fallback. It remembers on which line each image was
// seen, so that an image listed twice, or an image missing from a file, is reported with the
// lines involved.
class ImageMatcher {
public:
    /// `paths` must outlive the matcher; data row i of the reference file is on line
    /// first_line + i. Throws when the reference list names an image twice.
    ImageMatcher(std::vector<std::string_view> paths, std::string reference_file, std::size_t first_line)
        : paths_(std::move(paths)), reference_file_(std::move(reference_file)), first_line_(first_line),
          seen_on_line_(paths_.size(), 0) {
        index_.reserve(paths_.size());
        for (std::size_t i = 0; i < paths_.size(); ++i) {
            const auto [it, inserted] = index_.emplace(paths_[i], static_cast<int>(i));
            if (!inserted)
                seam::fail(reference_file_, ":", first_line_ + i, ": image ", quote_token(paths_[i]),
                           " is listed twice (also on line ", first_line_ + static_cast<std::size_t>(it->second), ")");
        }
    }

    /// Index of `path` in the reference list, or -1.
    int find(std::string_view path) const {
        const auto it = index_.find(path);
        return it == index_.end() ? -1 : it->second;
    }

    /// Index of the image on data row `row` of `table`; fails when the image is unknown or was
    /// already seen in this file (since the last start_file()).
    int match(const TextTable& table, std::size_t row, std::string_view path) {
        int index = row < paths_.size() && paths_[row] == path ? static_cast<int>(row) : find(path);
        if (index < 0) table.fail("image ", quote_token(path), " is not in ", reference_file_);
        std::size_t& seen = seen_on_line_[static_cast<std::size_t>(index)];
        if (seen != 0) table.fail("image ", quote_token(path), " is listed twice (also on line ", seen, ")");
        seen = table.line_number();
        return index;
    }

    void start_file() { std::fill(seen_on_line_.begin(), seen_on_line_.end(), 0); }

    /// After a file: every image of the reference list must have had a row in it.
    void expect_all_matched(const TextTable& table) const {
        std::size_t missing = 0, first_missing = 0;
        for (std::size_t i = 0; i < paths_.size(); ++i)
            if (seen_on_line_[i] == 0 && missing++ == 0) first_missing = i;
        if (missing > 0)
            seam::fail(table.source_name(), ": ", missing, " image(s) of ", reference_file_,
                       " have no row in this file, the first is ", quote_token(paths_[first_missing]), " (",
                       reference_file_, ":", first_line_ + first_missing, ")");
    }

private:
    std::vector<std::string_view> paths_;
    std::string reference_file_;
    std::size_t first_line_;
    std::vector<std::size_t> seen_on_line_;
    std::unordered_map<std::string_view, int> index_;
};

// Write one file through `write(std::ostream&)`, creating its folder; fails when the disk does.
template <class Write>
void write_text_file(const std::filesystem::path& path, Write&& write) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) seam::fail(path.parent_path().string(), ": cannot create the folder: ", ec.message());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) seam::fail(path.string(), ": cannot open the file for writing");
    write(out);
    out.flush();
    if (!out) seam::fail(path.string(), ": write failed");
}

}  // namespace detail
}  // namespace seam::data
