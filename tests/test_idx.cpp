// IDX reader: files written byte by byte by the test (plain and gzip), the bad ones of the
// Fashion-MNIST acceptance list, and the real data set when the Debian package is installed.
#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include <seam/data/idx.hpp>

namespace fs = std::filesystem;
using seam::Error;
using namespace seam::data;

namespace {
fs::path temp_dir() {
    fs::path d = fs::temp_directory_path() / ("seam_idx_test_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}
std::vector<unsigned char> idx_bytes(std::vector<uint32_t> dims, const std::vector<unsigned char>& values) {
    std::vector<unsigned char> b = {0, 0, 0x08, static_cast<unsigned char>(dims.size())};
    for (uint32_t d : dims) {
        b.push_back(d >> 24);
        b.push_back((d >> 16) & 0xff);
        b.push_back((d >> 8) & 0xff);
        b.push_back(d & 0xff);
    }
    b.insert(b.end(), values.begin(), values.end());
    return b;
}
void write_plain(const fs::path& p, const std::vector<unsigned char>& b) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
}
void write_gz(const fs::path& p, const std::vector<unsigned char>& b) {
    gzFile f = gzopen(p.string().c_str(), "wb");
    gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
    gzclose(f);
}
}  // namespace

TEST_CASE("IDX: a 2x2x3 image file and its labels, plain and gzip") {
    fs::path dir = temp_dir() / "ok";
    fs::create_directories(dir);
    std::vector<unsigned char> pixels = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255};
    write_gz(dir / "train-images-idx3-ubyte.gz", idx_bytes({2, 2, 3}, pixels));
    write_plain(dir / "train-labels-idx1-ubyte", idx_bytes({2}, {7, 3}));
    IdxDataset d = load_idx_split(dir, "train");
    CHECK(d.count == 2);
    CHECK(d.rows == 2);
    CHECK(d.cols == 3);
    CHECK(d.images == std::vector<uint8_t>(pixels.begin(), pixels.end()));
    CHECK(d.labels == std::vector<uint8_t>{7, 3});
    fs::remove_all(dir);
}

TEST_CASE("IDX: bad files give errors naming the file and the problem") {
    fs::path dir = temp_dir() / "bad";
    fs::create_directories(dir);
    auto images = idx_bytes({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    SUBCASE("missing file") {
        CHECK_THROWS_WITH_AS(load_idx_split(dir, "train"), doctest::Contains("train-images-idx3-ubyte.gz"), Error);
    }
    SUBCASE("wrong magic") {
        auto b = images;
        b[0] = 0x1f;
        write_plain(dir / "x-idx3", b);
        CHECK_THROWS_WITH_AS(read_idx(dir / "x-idx3", 3), doctest::Contains("wrong magic number"), Error);
    }
    SUBCASE("labels file where images are expected") {
        write_plain(dir / "x-idx1", idx_bytes({2}, {1, 2}));
        CHECK_THROWS_WITH_AS(read_idx(dir / "x-idx1", 3), doctest::Contains("rank is 1, expected 3"), Error);
    }
    SUBCASE("truncated data") {
        auto b = images;
        b.resize(b.size() - 3);
        write_gz(dir / "t.gz", b);
        CHECK_THROWS_WITH_AS(read_idx(dir / "t.gz", 3), doctest::Contains("truncated"), Error);
    }
    SUBCASE("truncated header") {
        write_plain(dir / "h", {0, 0, 8, 3, 0, 0});
        CHECK_THROWS_WITH_AS(read_idx(dir / "h", 3), doctest::Contains("dimension sizes"), Error);
    }
    SUBCASE("trailing bytes") {
        auto b = images;
        b.push_back(9);
        write_plain(dir / "tr", b);
        CHECK_THROWS_WITH_AS(read_idx(dir / "tr", 3), doctest::Contains("trailing bytes"), Error);
    }
    SUBCASE("image and label counts disagree") {
        write_plain(dir / "train-images-idx3-ubyte", images);
        write_plain(dir / "train-labels-idx1-ubyte", idx_bytes({3}, {1, 2, 3}));
        CHECK_THROWS_WITH_AS(load_idx_split(dir, "train"), doctest::Contains("counts disagree"), Error);
    }
    SUBCASE("label out of range") {
        write_plain(dir / "train-images-idx3-ubyte", images);
        write_plain(dir / "train-labels-idx1-ubyte", idx_bytes({2}, {1, 12}));
        CHECK_THROWS_WITH_AS(load_idx_split(dir, "train"), doctest::Contains("label 12 of item 1"), Error);
    }
    SUBCASE("a gzip file cut in the middle of its stream") {
        write_gz(dir / "full.gz", idx_bytes({100, 28, 28}, std::vector<unsigned char>(78400, 7)));
        auto size = fs::file_size(dir / "full.gz");
        fs::resize_file(dir / "full.gz", size / 2);
        CHECK_THROWS_AS(read_idx(dir / "full.gz", 3), Error);
    }
    fs::remove_all(dir);
}

TEST_CASE("IDX: the real Fashion-MNIST (Debian dataset-fashion-mnist)") {
    fs::path dir = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz")) {
        MESSAGE("skipped: Fashion-MNIST is not installed");
        return;
    }
    IdxDataset test = load_idx_split(dir, "t10k");
    CHECK(test.count == 10000);
    CHECK(test.rows == 28);
    CHECK(test.cols == 28);
    std::array<int, 10> per_class{};
    for (uint8_t l : test.labels) per_class[l]++;
    for (int c : per_class) CHECK(c == 1000);  // the test split is balanced, 1000 per class
}
