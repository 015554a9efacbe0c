// seam/data/idx.hpp — the IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//
// IDX (LeCun's format): a 4-byte big-endian magic 0x00 0x00 <type> <rank>, then `rank` big-endian
// uint32 extents, then the values row-major. Type 0x08 is unsigned byte (the only type the
// MNIST family uses). The reader accepts `.gz` files through zlib (gzread reads plain files
// too), checks every byte count, and reports the file and the problem on any mismatch.
//
// Fashion-MNIST (Debian package dataset-fashion-mnist) lives in /usr/share/datasets/fashion-mnist:
// train-images-idx3-ubyte.gz (60000x28x28), train-labels-idx1-ubyte.gz, t10k-* (10000).
#pragma once

#include <zlib.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "seam/core/error.hpp"

namespace seam::data {

struct IdxArray {
    std::vector<int64_t> shape;  // extents, outermost first
    std::vector<uint8_t> values; // row-major
};

namespace detail {
class GzFile {
public:
    explicit GzFile(const std::filesystem::path& path) : path_(path.string()) {
        SEAM_CHECK(std::filesystem::exists(path), "IDX file not found: ", path_);
        file_ = gzopen(path_.c_str(), "rb");
        SEAM_CHECK(file_ != nullptr, "cannot open IDX file ", path_);
    }
    ~GzFile() {
        if (file_) gzclose(file_);
    }
    GzFile(const GzFile&) = delete;
    GzFile& operator=(const GzFile&) = delete;

    /// Read exactly n bytes or throw naming what was being read.
    void read(void* dst, size_t n, const char* what) {
        auto* out = static_cast<unsigned char*>(dst);
        size_t done = 0;
        while (done < n) {
            unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
            int got = gzread(file_, out + done, chunk);
            if (got < 0) {
                int errnum = 0;
                const char* msg = gzerror(file_, &errnum);
                fail(path_, ": read error while reading ", what, ": ", msg ? msg : "unknown zlib error",
                     " (is the file a corrupt gzip stream?)");
            }
            if (got == 0)
                fail(path_, ": file is truncated: expected ", n, " bytes of ", what, " but only ", done, " remain");
            done += static_cast<size_t>(got);
        }
    }
    /// True if no byte remains.
    bool at_end() {
        unsigned char c;
        return gzread(file_, &c, 1) == 0;
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    gzFile file_ = nullptr;
};

inline uint32_t big_endian_u32(const unsigned char* b) {
    return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}
}  // namespace detail

/// Read an unsigned-byte IDX file (plain or .gz) of the expected rank.
inline IdxArray read_idx(const std::filesystem::path& path, int expected_rank) {
    detail::GzFile file(path);
    unsigned char magic[4];
    file.read(magic, 4, "the magic number");
    SEAM_CHECK(magic[0] == 0 && magic[1] == 0, file.path(), ": wrong magic number (first bytes ", int(magic[0]), " ",
               int(magic[1]), ", expected 0 0): not an IDX file");
    SEAM_CHECK(magic[2] == 0x08, file.path(), ": unsupported IDX element type 0x", std::hex, int(magic[2]),
               " (only unsigned byte, 0x08, is supported)");
    SEAM_CHECK(magic[3] == expected_rank, file.path(), ": IDX rank is ", int(magic[3]), ", expected ", expected_rank,
               expected_rank == 3 ? " (an images file)" : " (a labels file)");
    IdxArray out;
    uint64_t total = 1;
    for (int d = 0; d < expected_rank; ++d) {
        unsigned char b[4];
        file.read(b, 4, "the dimension sizes");
        uint32_t extent = detail::big_endian_u32(b);
        out.shape.push_back(extent);
        total *= extent;
        SEAM_CHECK(total <= (uint64_t(1) << 34), file.path(), ": implausible IDX size (", total,
                   " values): header is corrupt");
    }
    out.values.resize(static_cast<size_t>(total));
    file.read(out.values.data(), out.values.size(), "pixel/label data");
    SEAM_CHECK(file.at_end(), file.path(), ": trailing bytes after ", total, " values: header and size disagree");
    return out;
}

/// One split of an MNIST-format data set: images [N, rows, cols] as bytes, labels [N].
struct IdxDataset {
    int64_t count = 0, rows = 0, cols = 0;
    std::vector<uint8_t> images;
    std::vector<uint8_t> labels;
};

/// Load `<dir>/<prefix>-images-idx3-ubyte[.gz]` and `<dir>/<prefix>-labels-idx1-ubyte[.gz]`
/// (prefix "train" or "t10k"), checking that counts agree and labels are below num_classes.
inline IdxDataset load_idx_split(const std::filesystem::path& dir, const std::string& prefix, int num_classes = 10) {
    auto pick = [&](const std::string& stem) {
        std::filesystem::path gz = dir / (stem + ".gz"), plain = dir / stem;
        if (std::filesystem::exists(gz)) return gz;
        if (std::filesystem::exists(plain)) return plain;
        fail("Fashion-MNIST file not found: neither ", gz.string(), " nor ", plain.string(),
             " exists (install the Debian package dataset-fashion-mnist or pass --data DIR)");
    };
    std::filesystem::path image_path = pick(prefix + "-images-idx3-ubyte");
    std::filesystem::path label_path = pick(prefix + "-labels-idx1-ubyte");
    IdxArray images = read_idx(image_path, 3);
    IdxArray labels = read_idx(label_path, 1);
    SEAM_CHECK(images.shape[0] == labels.shape[0], "image and label counts disagree: ", image_path.string(), " has ",
               images.shape[0], " images but ", label_path.string(), " has ", labels.shape[0], " labels");
    for (size_t i = 0; i < labels.values.size(); ++i)
        SEAM_CHECK(labels.values[i] < num_classes, label_path.string(), ": label ", int(labels.values[i]), " of item ", i,
                   " is not below the number of classes ", num_classes);
    IdxDataset out;
    out.count = images.shape[0];
    out.rows = images.shape[1];
    out.cols = images.shape[2];
    out.images = std::move(images.values);
    out.labels = std::move(labels.values);
    return out;
}

/// Fashion-MNIST class names, in label order.
inline const std::array<const char*, 10>& fashion_mnist_classes() {
    static const std::array<const char*, 10> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

}  // namespace seam::data
