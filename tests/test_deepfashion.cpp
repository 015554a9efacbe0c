// Tests of the DeepFashion readers and writers (seam/data/deepfashion.hpp) and of TextTable.
//
// Fixture files are written here byte by byte in the real formats, quirks included: attribute
// names with spaces and trailing spaces, zero-padded numbers, 6/4/8-landmark rows, the
// variation column, "comsumer" file names, a BOM, CRLF, tabs. The expected values are read off
// those bytes by hand. The genuine fragments in SEAM_SHARED_DIR/fixtures/deepfashion-real are
// checked against the counts and values their README states.
#include <seam/data/deepfashion.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace seam::data;

// A fresh folder under the system temp folder, removed at the end of the test.
struct TempFolder {
    fs::path path;
    TempFolder() {
        static std::atomic<int> counter{0};
        path = fs::temp_directory_path() /
               ("seam_test_deepfashion_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempFolder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void write_bytes(const fs::path& path, const std::string& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

// The message of the seam::Error that `action` throws ("" when it throws none).
std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const seam::Error& error) {
        return error.what();
    }
    return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Split into lines at "\n" (a "\r" before it stays in the line).
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = text.find('\n', start);
        if (end == std::string::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

std::string strip_trailing_spaces(std::string line) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    return line;
}

template <class Parse>
auto parse_text(const std::string& text, Parse parse, const ListOptions& options = {}) {
    TextTable table(text, "t.txt");
    return parse(table, options);
}

// ---- a small Category-and-Attribute benchmark, written as the real files are ---------------

const char* const kCategoryCloth =
    "3\n"
    "category_name  category_type\n"
    "Anorak         1\n"
    "Capris         2\n"
    "Sundress       3\n";

// Names with inner spaces, a trailing space after a type (as on the real "grunge" row).
const char* const kAttrCloth =
    "4\n"
    "attribute_name  attribute_type\n"
    "a-line                       3\n"
    "abstract chevron print       1\n"
    "grunge                       5 \n"
    "lace-up                      4\n";

const char* const kCategoryImg =
    "3\n"
    "image_name  category_label\n"
    "img/Hooded_Anorak/img_00000001.jpg                                     1\n"
    "img/Floral_Capris/img_00000002.jpg                                     02\n"  // zero-padded: 2, not octal
    "img/Sun_Dress/img_00000003.jpg                                         3\n";

const char* const kAttrImg =
    "3\n"
    "image_name  attribute_labels\n"
    "img/Hooded_Anorak/img_00000001.jpg                                     -1  1  0 -1\n"
    "img/Floral_Capris/img_00000002.jpg                                      1 -1 -1 -1\n"
    "img/Sun_Dress/img_00000003.jpg                                          0  0  1  1\n";

// Rows in a different order than list_category_img, one with tabs.
const char* const kBbox =
    "3\n"
    "image_name  x_1  y_1  x_2  y_2\n"
    "img/Sun_Dress/img_00000003.jpg                                         010 020 290 299\n"
    "img/Hooded_Anorak/img_00000001.jpg                                     072 079 232 273\n"
    "img/Floral_Capris/img_00000002.jpg\t001\t008\t100\t200\n";

// 6, 4 and 8 triplets; no variation column; the trailing space of the real rows.
const char* const kLandmarks =
    "3\n"
    "image_name  clothes_type  landmark_visibility_1  landmark_location_x_1  landmark_location_y_1\n"
    "img/Hooded_Anorak/img_00000001.jpg                                      1  0 146 102  0 173 095  1 094 242  0 205 255  2 136 229  0 177 232 \n"
    "img/Floral_Capris/img_00000002.jpg                                      2  0 010 020  1 030 040  0 050 060  2 070 080 \n"
    "img/Sun_Dress/img_00000003.jpg                                          3  0 001 002  0 003 004  0 005 006  0 007 008  1 009 010  1 011 012  2 013 014  0 015 016 \n";

// CRLF line endings.
const char* const kPartition =
    "3\r\n"
    "image_name  evaluation_status\r\n"
    "img/Hooded_Anorak/img_00000001.jpg                                     train\r\n"
    "img/Floral_Capris/img_00000002.jpg                                     val\r\n"
    "img/Sun_Dress/img_00000003.jpg                                         test\r\n";

void write_category_fixture(const fs::path& root) {
    write_bytes(root / "Anno/list_category_cloth.txt", kCategoryCloth);
    write_bytes(root / "Anno/list_attr_cloth.txt", kAttrCloth);
    write_bytes(root / "Anno/list_category_img.txt", kCategoryImg);
    write_bytes(root / "Anno/list_attr_img.txt", kAttrImg);
    write_bytes(root / "Anno/list_bbox.txt", kBbox);
    write_bytes(root / "Anno/list_landmarks.txt", kLandmarks);
    write_bytes(root / "Eval/list_eval_partition.txt", kPartition);
}

Landmark point(float x, float y, int visibility) { return Landmark{x, y, visibility, true}; }

// ---- a small Consumer-to-shop benchmark ---------------------------------------------------

const char* const kItems =
    "3\n"
    "id_00000001\n"
    "id_00000002\n"
    "id_00000007\n";

const char* const kC2SBbox =
    "6\n"
    "image_name  clothes_type  source_type  x_1  y_1  x_2  y_2\n"
    "img/TOPS/T_Shirt/id_00000001/comsumer_01.jpg          1 2 010 020 110 220\n"
    "img/TOPS/T_Shirt/id_00000001/shop_01.jpg              1 1 005 006 250 290\n"
    "img/TOPS/T_Shirt/id_00000001/shop_02.jpg              1 1 000 000 299 299\n"
    "img/CLOTHING/Skirt/id_00000002/comsumer_01.jpg        2 2 030 040 130 140\n"
    "img/CLOTHING/Skirt/id_00000007/shop_01.jpg            2 1 001 002 003 004\n"
    "img/CLOTHING/Skirt/id_00000002/shop_01.jpg            2 1 050 060 070 080\n";

// With the variation column (3+3n tokens).
const char* const kC2SLandmarks =
    "6\n"
    "image_name  clothes_type  variation_type  landmark_visibility_1  landmark_location_x_1  landmark_location_y_1\n"
    "img/TOPS/T_Shirt/id_00000001/comsumer_01.jpg          1 2  0 011 012  0 013 014  1 015 016  0 017 018  2 019 020  0 021 022 \n"
    "img/TOPS/T_Shirt/id_00000001/shop_01.jpg              1 1  0 001 001  0 002 002  0 003 003  0 004 004  0 005 005  0 006 006 \n"
    "img/TOPS/T_Shirt/id_00000001/shop_02.jpg              1 5  0 001 001  0 002 002  0 003 003  0 004 004  0 005 005  0 006 006 \n"
    "img/CLOTHING/Skirt/id_00000002/comsumer_01.jpg        2 3  0 100 101  1 102 103  2 104 105  0 106 107 \n"
    "img/CLOTHING/Skirt/id_00000007/shop_01.jpg            2 4  0 001 001  0 002 002  0 003 003  0 004 004 \n"
    "img/CLOTHING/Skirt/id_00000002/shop_01.jpg            2 1  0 001 001  0 002 002  0 003 003  0 004 004 \n";

const char* const kC2SPartition =
    "3\n"
    "image_pair_name_1  image_pair_name_2  item_id  evaluation_status\n"
    "img/TOPS/T_Shirt/id_00000001/comsumer_01.jpg   img/TOPS/T_Shirt/id_00000001/shop_01.jpg   id_00000001  train\n"
    "img/TOPS/T_Shirt/id_00000001/comsumer_01.jpg   img/TOPS/T_Shirt/id_00000001/shop_02.jpg   id_00000001  train\n"
    "img/CLOTHING/Skirt/id_00000002/comsumer_01.jpg img/CLOTHING/Skirt/id_00000002/shop_01.jpg id_00000002  test\n";

// BOM + CRLF, Chinese names padded for 2-column CJK, an English name with spaces, a TAB before
// one type (as on the real line 257).
const std::string kC2SAttrCloth =
    "\xEF\xBB\xBF"
    "3\r\n"
    "attribute_name (Chinese)         attribute_name (English)                     attribute_type\r\n"
    "常规款（51-65cm）                Regular length (51-65cm)                     1\r\n"
    "宽松                             Wide/Loose                                \t  2\r\n"
    "贴布绣                           Appliqué                                     2\r\n";

const std::string kC2SAttrType =
    "2\r\n"
    "attribute_type (Chinese)      attribute_type (English)\r\n"
    "衣长                          length of upper-body clothes\r\n"
    "裤型                          type of trousers\r\n";

const char* const kC2SAttrItems =
    "2\n"
    "item_id  attribute_labels\n"
    "id_00000007  1 -1  0\n"
    "id_00000001 -1 -1  1\n";

void write_c2s_fixture(const fs::path& root) {
    write_bytes(root / "Anno/list_item_consumer2shop.txt", kItems);
    write_bytes(root / "Anno/list_bbox_consumer2shop.txt", kC2SBbox);
    write_bytes(root / "Anno/list_landmarks_consumer2shop.txt", kC2SLandmarks);
    write_bytes(root / "Anno/list_attr_cloth.txt", kC2SAttrCloth);
    write_bytes(root / "Anno/list_attr_type.txt", kC2SAttrType);
    write_bytes(root / "Anno/list_attr_items.txt", kC2SAttrItems);
    write_bytes(root / "Eval/list_eval_partition.txt", kC2SPartition);
}

fs::path real_fixtures() {
#ifdef SEAM_SHARED_DIR
    return fs::path(SEAM_SHARED_DIR) / "fixtures" / "deepfashion-real";
#else
    return {};
#endif
}

}  // namespace

// ============================================================================================
TEST_CASE("text_table: line endings, BOM, tabs, a last line without terminator") {
    const std::string text = "\xEF\xBB\xBF" "2\r\nname\tvalue \r\n  a   b\t\tc\nlast";
    TextTable table(text, "mem.txt");
    REQUIRE(table.next_line());
    CHECK(table.line() == "2");  // BOM and CR gone
    CHECK(table.line_number() == 1);
    REQUIRE(table.next_line());
    CHECK(table.line() == "name\tvalue ");
    REQUIRE(table.tokens().size() == 2);
    CHECK(table.tokens()[1] == "value");
    REQUIRE(table.next_line());
    REQUIRE(table.tokens().size() == 3);
    CHECK(table.tokens()[2] == "c");
    REQUIRE(table.next_line());
    CHECK(table.line() == "last");
    CHECK(table.line_number() == 4);
    CHECK_FALSE(table.next_line());
    CHECK(contains(error_of([&] { table.fail("boom ", 7); }), "mem.txt:4: boom 7"));
}

TEST_CASE("text_table: a file read in blocks keeps lines that span the 1 MiB block boundary") {
    TempFolder folder;
    std::string long_token(3'000'000, 'x');
    long_token[1'048'575] = 'y';  // the last byte of the first block
    std::string text = "first line\n" + long_token + " tail\n\nafter\n";
    write_bytes(folder.path / "big.txt", text);
    TextTable table(folder.path / "big.txt");
    REQUIRE(table.next_line());
    CHECK(table.line() == "first line");
    REQUIRE(table.next_line());
    REQUIRE(table.tokens().size() == 2);
    CHECK(table.tokens()[0] == long_token);
    CHECK(table.tokens()[1] == "tail");
    REQUIRE(table.next_line());
    CHECK(table.line().empty());
    REQUIRE(table.next_line());
    CHECK(table.line() == "after");
    CHECK(table.line_number() == 4);
    CHECK_FALSE(table.next_line());
}

TEST_CASE("text_table: numbers are decimal, whole-token and finite - display width counts CJK as 2") {
    long long value = 0;
    CHECK(parse_decimal("072", value));
    CHECK(value == 72);  // not octal 58
    CHECK(parse_decimal("-1", value));
    CHECK(value == -1);
    CHECK_FALSE(parse_decimal("7a", value));
    CHECK_FALSE(parse_decimal("+1", value));
    CHECK_FALSE(parse_decimal("", value));
    CHECK_FALSE(parse_decimal("99999999999999999999", value));
    float x = 0;
    CHECK(parse_finite_float("095", x));
    CHECK(x == 95.0f);
    CHECK(parse_finite_float("12.5", x));
    CHECK(x == 12.5f);
    CHECK_FALSE(parse_finite_float("nan", x));
    CHECK_FALSE(parse_finite_float("inf", x));
    CHECK_FALSE(parse_finite_float("1.5.", x));
    CHECK(display_width("abc") == 3);
    CHECK(display_width("常规款（51-65cm）") == 6 + 2 + 7 + 2);  // 3 CJK, full-width parens, ASCII
    CHECK(display_width("Appliqué") == 8);
    CHECK(display_width("\xff\xfe") == 2);  // invalid UTF-8: one column a byte
    CHECK(contains(error_of([] { TextTable t(fs::path("/nonexistent/seam/file.txt")); }),
                   "/nonexistent/seam/file.txt: cannot open"));
}

// ============================================================================================
TEST_CASE("deepfashion C: every field of a hand-written benchmark") {
    TempFolder folder;
    write_category_fixture(folder.path);
    const CategoryAttributeDataset data = load_category_attribute(folder.path);

    CHECK(data.category_names == std::vector<std::string>{"Anorak", "Capris", "Sundress"});
    CHECK(data.category_types == std::vector<int>{1, 2, 3});
    CHECK(data.attribute_names == std::vector<std::string>{"a-line", "abstract chevron print", "grunge", "lace-up"});
    CHECK(data.attribute_types == std::vector<int>{3, 1, 5, 4});
    CHECK(data.has_attribute_labels);
    CHECK(data.has_boxes);
    CHECK(data.has_landmarks);
    REQUIRE(data.images.size() == 3);

    const ImageRecord& upper = data.images[0];
    CHECK(upper.path == "img/Hooded_Anorak/img_00000001.jpg");
    CHECK(upper.category == 0);
    CHECK(upper.clothes_type == kUpperBody);
    CHECK(upper.split == Split::train);
    CHECK(upper.attributes == std::vector<std::int8_t>{-1, 1, 0, -1});
    CHECK(upper.box == Box{72, 79, 232, 273});
    // upper-body: the 6 points go to slots 0,1,2,3,6,7
    CHECK(upper.landmarks[0] == point(146, 102, 0));
    CHECK(upper.landmarks[1] == point(173, 95, 0));
    CHECK(upper.landmarks[2] == point(94, 242, 1));
    CHECK(upper.landmarks[3] == point(205, 255, 0));
    CHECK(upper.landmarks[4] == Landmark{});
    CHECK(upper.landmarks[5] == Landmark{});
    CHECK(upper.landmarks[6] == point(136, 229, 2));
    CHECK(upper.landmarks[7] == point(177, 232, 0));
    CHECK_FALSE(upper.landmarks[4].visible());
    CHECK_FALSE(upper.landmarks[6].visible());  // truncated
    CHECK(upper.landmarks[7].visible());

    const ImageRecord& lower = data.images[1];
    CHECK(lower.category == 1);  // "02" read as decimal 2, then 0-based
    CHECK(lower.clothes_type == kLowerBody);
    CHECK(lower.split == Split::val);
    CHECK(lower.attributes == std::vector<std::int8_t>{1, -1, -1, -1});
    CHECK(lower.box == Box{1, 8, 100, 200});
    for (int slot = 0; slot < 4; ++slot) CHECK_FALSE(lower.landmarks[static_cast<std::size_t>(slot)].present);
    CHECK(lower.landmarks[4] == point(10, 20, 0));  // lower-body: slots 4,5,6,7
    CHECK(lower.landmarks[5] == point(30, 40, 1));
    CHECK(lower.landmarks[6] == point(50, 60, 0));
    CHECK(lower.landmarks[7] == point(70, 80, 2));

    const ImageRecord& full = data.images[2];
    CHECK(full.category == 2);
    CHECK(full.clothes_type == kFullBody);
    CHECK(full.split == Split::test);
    CHECK(full.attributes == std::vector<std::int8_t>{0, 0, 1, 1});
    CHECK(full.box == Box{10, 20, 290, 299});
    for (int slot = 0; slot < 8; ++slot) {
        const auto expected_visibility = slot < 4 ? 0 : slot < 6 ? 1 : slot == 6 ? 2 : 0;
        CHECK(full.landmarks[static_cast<std::size_t>(slot)] ==
              point(static_cast<float>(1 + 2 * slot), static_cast<float>(2 + 2 * slot), expected_visibility));
    }

    CHECK(data.indices(Split::train) == std::vector<std::size_t>{0});
    CHECK(data.indices(Split::val) == std::vector<std::size_t>{1});
    CHECK(data.indices(Split::test) == std::vector<std::size_t>{2});
}

TEST_CASE("deepfashion C: optional files") {
    TempFolder folder;
    write_category_fixture(folder.path);
    fs::remove(folder.path / "Anno/list_bbox.txt");

    const std::string message = error_of([&] { load_category_attribute(folder.path); });
    CHECK(contains(message, "list_bbox.txt: required file is missing"));
    CHECK(contains(message, "LoadOptions::boxes"));

    LoadOptions options;
    options.boxes = Need::if_present;
    options.attribute_labels = Need::skip;
    const auto data = load_category_attribute(folder.path, options);
    CHECK_FALSE(data.has_boxes);
    CHECK_FALSE(data.has_attribute_labels);
    CHECK(data.has_landmarks);
    CHECK(data.images[0].attributes.empty());
    CHECK(data.images[0].box == Box{});
    CHECK(data.images[2].landmarks[7] == point(15, 16, 0));
}

TEST_CASE("deepfashion C: files that disagree with each other") {
    TempFolder folder;
    const fs::path& root = folder.path;
    const auto load_error = [&] { return error_of([&] { load_category_attribute(root); }); };

    SUBCASE("an image of list_category_img missing from the partition") {
        write_category_fixture(root);
        write_bytes(root / "Eval/list_eval_partition.txt",
                    "2\nimage_name  evaluation_status\n"
                    "img/Hooded_Anorak/img_00000001.jpg train\n"
                    "img/Floral_Capris/img_00000002.jpg val\n");
        const std::string message = load_error();
        CHECK(contains(message, "list_eval_partition.txt: 1 image(s) of "));
        CHECK(contains(message, "'img/Sun_Dress/img_00000003.jpg' ("));
        CHECK(contains(message, "list_category_img.txt:5)"));
    }
    SUBCASE("an image that list_category_img does not have") {
        write_category_fixture(root);
        write_bytes(root / "Anno/list_bbox.txt",
                    "3\nimage_name  x_1  y_1  x_2  y_2\n"
                    "img/Hooded_Anorak/img_00000001.jpg 1 2 3 4\n"
                    "img/Other/img_00000009.jpg 1 2 3 4\n"
                    "img/Sun_Dress/img_00000003.jpg 1 2 3 4\n");
        CHECK(contains(load_error(), "list_bbox.txt:4: image 'img/Other/img_00000009.jpg' is not in"));
    }
    SUBCASE("an image listed twice in one file") {
        write_category_fixture(root);
        write_bytes(root / "Anno/list_attr_img.txt",
                    "3\nimage_name  attribute_labels\n"
                    "img/Hooded_Anorak/img_00000001.jpg 1 1 1 1\n"
                    "img/Sun_Dress/img_00000003.jpg 1 1 1 1\n"
                    "img/Hooded_Anorak/img_00000001.jpg 1 1 1 1\n");
        CHECK(contains(load_error(), "list_attr_img.txt:5: image 'img/Hooded_Anorak/img_00000001.jpg' is listed "
                                     "twice (also on line 3)"));
    }
    SUBCASE("an image listed twice in list_category_img") {
        write_category_fixture(root);
        write_bytes(root / "Anno/list_category_img.txt",
                    "3\nimage_name  category_label\n"
                    "img/Hooded_Anorak/img_00000001.jpg 1\n"
                    "img/Floral_Capris/img_00000002.jpg 2\n"
                    "img/Hooded_Anorak/img_00000001.jpg 1\n");
        CHECK(contains(load_error(), "list_category_img.txt:5: image 'img/Hooded_Anorak/img_00000001.jpg' is "
                                     "listed twice (also on line 3)"));
    }
    SUBCASE("a landmark clothes_type that contradicts the category") {
        write_category_fixture(root);
        write_bytes(root / "Anno/list_landmarks.txt",
                    "3\nimage_name  clothes_type\n"
                    "img/Hooded_Anorak/img_00000001.jpg 1  0 1 1  0 1 1  0 1 1  0 1 1  0 1 1  0 1 1\n"
                    "img/Floral_Capris/img_00000002.jpg 1  0 1 1  0 1 1  0 1 1  0 1 1  0 1 1  0 1 1\n"
                    "img/Sun_Dress/img_00000003.jpg 2  0 1 1  0 1 1  0 1 1  0 1 1\n");
        const std::string message = load_error();
        CHECK(contains(message, "list_landmarks.txt:4: clothes_type 1 disagrees with the category 'Capris' (type 2)"));
        CHECK(contains(message, "list_category_img.txt:4"));
    }
    SUBCASE("a category label beyond list_category_cloth") {
        write_category_fixture(root);
        write_bytes(root / "Anno/list_category_img.txt",
                    "3\nimage_name  category_label\n"
                    "img/Hooded_Anorak/img_00000001.jpg 1\n"
                    "img/Floral_Capris/img_00000002.jpg 4\n"
                    "img/Sun_Dress/img_00000003.jpg 3\n");
        CHECK(contains(load_error(), "list_category_img.txt:4: category_label must be in [1, 3], got 4"));
    }
    SUBCASE("fewer attribute labels than list_attr_cloth has attributes") {
        write_category_fixture(root);
        write_bytes(root / "Anno/list_attr_img.txt",
                    "3\nimage_name  attribute_labels\n"
                    "img/Hooded_Anorak/img_00000001.jpg 1 1 1\n"
                    "img/Floral_Capris/img_00000002.jpg 1 1 1\n"
                    "img/Sun_Dress/img_00000003.jpg 1 1 1\n");
        CHECK(contains(load_error(), "list_attr_img.txt:3: expected 1+4=5 tokens (image_name and one label per "
                                     "attribute), got 4"));
    }
    SUBCASE("a count line that disagrees with the rows") {
        write_category_fixture(root);
        write_bytes(root / "Anno/list_category_cloth.txt", "4\ncategory_name  category_type\nAnorak 1\nCapris 2\nSundress 3\n");
        CHECK(contains(load_error(), "list_category_cloth.txt:1: line 1 says 4 rows but the file has 3 data rows"));
        LoadOptions lenient;
        lenient.check_counts = false;
        CHECK(load_category_attribute(root, lenient).category_names.size() == 3);
    }
}

// ============================================================================================
TEST_CASE("deepfashion list parsers: every kind of malformed line names file and line") {
    struct Case {
        const char* name;
        std::function<void(TextTable&)> parse;
        std::string text;
        std::string expected;
    };
    const ListOptions options;
    const auto bbox = [&](TextTable& t) { parse_list_bbox(t, options); };
    const auto landmarks = [&](TextTable& t) { parse_list_landmarks(t, options); };
    const auto category_img = [&](TextTable& t) { parse_list_category_img(t, options); };
    const auto attr_img = [&](TextTable& t) { parse_list_attr_img(t, options); };
    const auto category_cloth = [&](TextTable& t) { parse_list_category_cloth(t, options); };
    const auto attr_cloth = [&](TextTable& t) { parse_list_attr_cloth(t, options); };
    const auto partition = [&](TextTable& t) { parse_list_eval_partition(t, options); };
    const auto c2s_bbox = [&](TextTable& t) { parse_list_bbox_consumer2shop(t, options); };
    const auto items = [&](TextTable& t) { parse_list_item_consumer2shop(t, options); };
    const auto c2s_attr_cloth = [&](TextTable& t) { parse_list_attr_cloth_consumer2shop(t, options); };
    const auto attr_type = [&](TextTable& t) { parse_list_attr_type(t, options); };
    const auto attr_items = [&](TextTable& t) { parse_list_attr_items(t, options); };
    const auto pairs = [&](TextTable& t) { parse_list_eval_partition_consumer2shop(t, options); };
    const std::string h = "header\n";
    const std::string upper_row = "img/a.jpg 1  0 1 1  0 1 1  0 1 1  0 1 1  0 1 1  0 1 1\n";  // 20 tokens

    const std::vector<Case> cases = {
        {"empty file", bbox, "", "t.txt:1: the file is empty"},
        {"count not a number", bbox, "abc\n" + h, "t.txt:1: line 1 should hold the number of rows, got 'abc'"},
        {"negative count", bbox, "-1\n" + h, "t.txt:1: line 1 should hold the number of rows"},
        {"two tokens on the count line", bbox, "1 2\n" + h, "t.txt:1: line 1 should hold the number of rows"},
        {"no column-name line", bbox, "0\n", "t.txt:2: missing the column-name line"},
        {"blank column-name line", bbox, "0\n  \n", "t.txt:2: the column-name line is blank"},
        {"column-name line missing (a data row instead)", bbox, "1\nimg/a.jpg 1 2 3 4\n",
         "t.txt:2: expected the column-name line, got a data row starting with 'img/a.jpg'"},
        {"more rows than the count", bbox, "1\n" + h + "a 1 2 3 4\nb 1 2 3 4\n",
         "t.txt:1: line 1 says 1 rows but the file has 2 data rows"},
        {"blank line between rows", bbox, "2\n" + h + "a 1 2 3 4\n\nb 1 2 3 4\n", "t.txt:4: blank line between data rows"},
        {"bbox: 4 tokens", bbox, "2\n" + h + "a 1 2 3 4\nb 1 2 3\n",
         "t.txt:4: expected 5 tokens (image_name x_1 y_1 x_2 y_2), got 4"},
        {"bbox: not a number", bbox, "1\n" + h + "a 07a 2 3 4\n", "t.txt:3: x_1 must be a finite number, got '07a'"},
        {"bbox: nan", bbox, "1\n" + h + "a 1 nan 3 4\n", "t.txt:3: y_1 must be a finite number, got 'nan'"},
        {"category_img: label 0", category_img, "1\n" + h + "a 0\n", "t.txt:3: category_label must be in [1, "},
        {"category_img: overflow", category_img, "1\n" + h + "a 99999999999999999999\n",
         "t.txt:3: category_label must be an integer"},
        {"category_img: three tokens", category_img, "1\n" + h + "a 1 2\n",
         "t.txt:3: expected 2 tokens (image_name category_label), got 3"},
        {"attr_img: label 2", attr_img, "1\n" + h + "a -1 2 1\n", "t.txt:3: attribute label must be in [-1, 1], got 2"},
        {"attr_img: label word", attr_img, "1\n" + h + "a -1 yes 1\n", "t.txt:3: attribute label must be an integer, got 'yes'"},
        {"attr_img: shorter second row", attr_img, "2\n" + h + "a -1 1 1\nb 1 1\n",
         "t.txt:4: expected 1+3=4 tokens (image_name and one label per attribute), got 3"},
        {"attr_img: no labels", attr_img, "1\n" + h + "a\n", "t.txt:3: expected image_name and attribute labels, got 1 token"},
        {"landmarks: first row fits neither layout", landmarks,
         "1\n" + h + "img/a.jpg 1  0 1 1  0 1 1  0 1 1  0 1 1  0 1 1  0 1\n",
         "t.txt:3: expected 2+3*6=20 tokens (no variation column) or 3+3*6=21 (with one) for clothes_type 1, got 19"},
        {"landmarks: a later row one token short", landmarks,
         "2\n" + h + upper_row + "img/b.jpg 1  0 1 1  0 1 1  0 1 1  0 1 1  0 1 1  0 1\n",
         "t.txt:4: expected 2+3*6=20 tokens for clothes_type 1, got 19"},
        {"landmarks: a row with variation after rows without", landmarks,
         "2\n" + h + upper_row + "img/b.jpg 2 1  0 1 1  0 1 1  0 1 1  0 1 1\n",
         "t.txt:4: expected 2+3*4=14 tokens for clothes_type 2, got 15"},
        {"landmarks: a row without variation after rows with", landmarks,
         "2\n" + h + "img/b.jpg 2 1  0 1 1  0 1 1  0 1 1  0 1 1\n" + upper_row,
         "t.txt:4: expected 3+3*6=21 tokens (with the variation column) for clothes_type 1, got 20"},
        {"landmarks: clothes_type 4", landmarks, "1\n" + h + "img/a.jpg 4 0 1 1\n",
         "t.txt:3: clothes_type must be in [1, 3], got 4"},
        {"landmarks: visibility 3", landmarks, "1\n" + h + "img/a.jpg 2  0 1 1  3 1 1  0 1 1  0 1 1\n",
         "t.txt:3: landmark_visibility_2 must be 0, 1 or 2, got '3'"},
        {"landmarks: bad coordinate", landmarks, "1\n" + h + "img/a.jpg 2  0 1 1  0 1 1  0 x 1  0 1 1\n",
         "t.txt:3: landmark_location_3 must be two finite numbers, got 'x' '1'"},
        {"landmarks: variation 6", landmarks, "1\n" + h + "img/a.jpg 2 6  0 1 1  0 1 1  0 1 1  0 1 1\n",
         "t.txt:3: variation_type must be in [1, 5], got 6"},
        {"landmarks: image name only", landmarks, "1\n" + h + "img/a.jpg\n",
         "t.txt:3: expected image_name, clothes_type and landmarks, got 1 token"},
        {"category_cloth: name without type", category_cloth, "1\n" + h + "Anorak\n",
         "t.txt:3: expected a name and its category_type, got 1 token"},
        {"category_cloth: type 4", category_cloth, "1\n" + h + "Anorak 4\n", "t.txt:3: category_type must be in [1, 3], got 4"},
        {"attr_cloth: type 6", attr_cloth, "1\n" + h + "a-line 6\n", "t.txt:3: attribute_type must be in [1, 5], got 6"},
        {"attr_cloth: control character in a name", attr_cloth, "1\n" + h + "a\x01line  1\n",
         "t.txt:3: name 'a\\x01line' contains a control character"},
        {"partition: unknown status", partition, "1\n" + h + "img/a.jpg testing\n",
         "t.txt:3: evaluation_status must be train, val or test, got 'testing'"},
        {"c2s bbox: source_type 3", c2s_bbox, "1\n" + h + "img/a.jpg 1 3 1 2 3 4\n",
         "t.txt:3: source_type (1 shop, 2 consumer) must be in [1, 2], got 3"},
        {"c2s bbox: six tokens", c2s_bbox, "1\n" + h + "img/a.jpg 1 1 2 3 4\n",
         "t.txt:3: expected 7 tokens (image_name clothes_type source_type x_1 y_1 x_2 y_2), got 6"},
        {"items: two ids on a line", items, "1\nid_00000001 id_00000002\n", "t.txt:2: expected 1 token (item_id), got 2"},
        {"items: count mismatch", items, "2\nid_00000001\n", "t.txt:1: line 1 says 2 rows but the file has 1 data rows"},
        {"c2s attr_cloth: no type", c2s_attr_cloth, "1\n" + h + "宽松 Wide\n",
         "t.txt:3: expected a Chinese name, an English name and attribute_type, got 2 tokens"},
        {"c2s attr_cloth: type 0", c2s_attr_cloth, "1\n" + h + "宽松 Wide 0\n", "t.txt:3: attribute_type must be in [1, "},
        {"attr_type: Chinese name only", attr_type, "1\n" + h + "衣长\n",
         "t.txt:3: expected a Chinese name and an English name, got 1 token"},
        {"attr_items: label -2", attr_items, "1\n" + h + "id_1 -2\n", "t.txt:3: attribute label must be in [-1, 1], got -2"},
        {"c2s partition: 3 tokens", pairs, "1\n" + h + "a b id_1\n",
         "t.txt:3: expected 4 tokens (image_pair_name_1 image_pair_name_2 item_id evaluation_status), got 3"},
        {"c2s partition: unknown status", pairs, "1\n" + h + "a b id_1 gallery\n",
         "t.txt:3: evaluation_status must be train, val or test, got 'gallery'"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        const std::string message = error_of([&] {
            TextTable table(c.text, "t.txt");
            c.parse(table);
        });
        CHECK(contains(message, c.expected));
        if (!contains(message, c.expected)) MESSAGE("got: ", message);
    }
}

TEST_CASE("deepfashion list parsers: counts, trailing blank lines, fragments") {
    const auto rows = parse_text("2\nimage_name x_1 y_1 x_2 y_2\na 1 2 3 4\nb 5 6 7 8\n\n  \n", parse_list_bbox);
    CHECK(rows.declared_count == 2);
    REQUIRE(rows.rows.size() == 2);
    CHECK(rows.rows[1] == BoxEntry{"b", {5, 6, 7, 8}});

    ListOptions fragment;
    fragment.check_count = false;
    const auto partial = parse_text("33881\nid_00000001\nid_00000002\n", parse_list_item_consumer2shop, fragment);
    CHECK(partial.declared_count == 33881);
    CHECK(partial.rows == std::vector<std::string>{"id_00000001", "id_00000002"});

    // A landmark file with the variation column (C2S layout) parsed on its own.
    const auto with_variation =
        parse_text("1\nimage_name clothes_type variation_type\nimg/x/id_1/shop_01.jpg 2 4  0 1 2  1 3 4  2 5 6  0 7 8\n",
                   parse_list_landmarks);
    REQUIRE(with_variation.rows.size() == 1);
    CHECK(with_variation.rows[0].variation == 4);
    CHECK(with_variation.rows[0].landmarks[5] == point(3, 4, 1));
    CHECK(with_variation.rows[0].landmarks[6] == point(5, 6, 2));
}

// ============================================================================================
TEST_CASE("deepfashion C2S: every field of a hand-written benchmark") {
    TempFolder folder;
    write_c2s_fixture(folder.path);
    const ConsumerToShopDataset data = load_consumer_to_shop(folder.path);

    REQUIRE(data.items.size() == 3);
    CHECK(data.items[0].id == "id_00000001");
    CHECK(data.items[2].id == "id_00000007");
    CHECK(data.items[0].attributes == std::vector<std::int8_t>{-1, -1, 1});
    CHECK(data.items[1].attributes.empty());  // no row in list_attr_items
    CHECK(data.items[2].attributes == std::vector<std::int8_t>{1, -1, 0});

    REQUIRE(data.images.size() == 6);
    const ConsumerToShopImage& consumer = data.images[0];
    CHECK(consumer.path == "img/TOPS/T_Shirt/id_00000001/comsumer_01.jpg");
    CHECK(consumer.item == 0);
    CHECK(consumer.source == Source::consumer);
    CHECK(consumer.clothes_type == kUpperBody);
    CHECK(consumer.box == Box{10, 20, 110, 220});
    CHECK(consumer.variation == 2);
    CHECK(consumer.landmarks[0] == point(11, 12, 0));
    CHECK(consumer.landmarks[2] == point(15, 16, 1));
    CHECK(consumer.landmarks[4] == Landmark{});
    CHECK(consumer.landmarks[6] == point(19, 20, 2));
    CHECK(consumer.landmarks[7] == point(21, 22, 0));
    CHECK(data.images[1].source == Source::shop);
    CHECK(data.images[2].variation == 5);
    const ConsumerToShopImage& skirt = data.images[3];
    CHECK(skirt.item == 1);
    CHECK(skirt.clothes_type == kLowerBody);
    CHECK(skirt.variation == 3);
    CHECK(skirt.landmarks[4] == point(100, 101, 0));
    CHECK(skirt.landmarks[7] == point(106, 107, 0));
    CHECK(data.images[4].item == 2);  // id_00000007: list index 2, not id number 7

    REQUIRE(data.pairs.size() == 3);
    CHECK(data.pairs[0] == ConsumerToShopPair{0, 1, 0, Split::train});
    CHECK(data.pairs[1] == ConsumerToShopPair{0, 2, 0, Split::train});
    CHECK(data.pairs[2] == ConsumerToShopPair{3, 5, 1, Split::test});

    REQUIRE(data.attribute_types.size() == 2);
    CHECK(data.attribute_types[0] == BilingualNameEntry{"衣长", "length of upper-body clothes"});
    CHECK(data.attribute_types[1] == BilingualNameEntry{"裤型", "type of trousers"});
    REQUIRE(data.attributes.size() == 3);
    CHECK(data.attributes[0] == BilingualAttributeEntry{"常规款（51-65cm）", "Regular length (51-65cm)", 1});
    CHECK(data.attributes[1] == BilingualAttributeEntry{"宽松", "Wide/Loose", 2});  // TAB before the type
    CHECK(data.attributes[2] == BilingualAttributeEntry{"贴布绣", "Appliqué", 2});
}

TEST_CASE("deepfashion C2S: contradictions between files") {
    TempFolder folder;
    const fs::path& root = folder.path;
    write_c2s_fixture(root);
    const auto load_error = [&] { return error_of([&] { load_consumer_to_shop(root); }); };
    const std::string pair_header = "1\nimage_pair_name_1 image_pair_name_2 item_id evaluation_status\n";

    SUBCASE("was the fixture valid") { CHECK(load_error().empty()); }
    SUBCASE("a pair whose item differs from its images") {
        write_bytes(root / "Eval/list_eval_partition.txt",
                    pair_header + "img/TOPS/T_Shirt/id_00000001/comsumer_01.jpg img/TOPS/T_Shirt/id_00000001/shop_01.jpg id_00000002 test\n");
        CHECK(contains(load_error(), "list_eval_partition.txt:3: item 'id_00000002' differs from the items of its images"));
    }
    SUBCASE("a pair with the shop image first") {
        write_bytes(root / "Eval/list_eval_partition.txt",
                    pair_header + "img/TOPS/T_Shirt/id_00000001/shop_01.jpg img/TOPS/T_Shirt/id_00000001/shop_02.jpg id_00000001 test\n");
        CHECK(contains(load_error(), "list_eval_partition.txt:3: the first image of a pair must be a consumer image"));
    }
    SUBCASE("a pair image missing from the bbox list") {
        write_bytes(root / "Eval/list_eval_partition.txt",
                    pair_header + "img/TOPS/T_Shirt/id_00000001/comsumer_09.jpg img/TOPS/T_Shirt/id_00000001/shop_01.jpg id_00000001 test\n");
        CHECK(contains(load_error(), "list_eval_partition.txt:3: image 'img/TOPS/T_Shirt/id_00000001/comsumer_09.jpg' is not in"));
    }
    SUBCASE("an image whose folder is not an item") {
        write_bytes(root / "Anno/list_bbox_consumer2shop.txt",
                    "1\nimage_name clothes_type source_type x_1 y_1 x_2 y_2\nimg/TOPS/T_Shirt/id_00000003/shop_01.jpg 1 1 1 2 3 4\n");
        CHECK(contains(load_error(), "list_bbox_consumer2shop.txt:3: image 'img/TOPS/T_Shirt/id_00000003/shop_01.jpg': "
                                     "its folder 'id_00000003' is not an item of"));
    }
    SUBCASE("a comsumer image marked as a shop image") {
        write_bytes(root / "Anno/list_bbox_consumer2shop.txt",
                    "1\nimage_name clothes_type source_type x_1 y_1 x_2 y_2\nimg/TOPS/T_Shirt/id_00000001/comsumer_01.jpg 1 1 1 2 3 4\n");
        CHECK(contains(load_error(), "list_bbox_consumer2shop.txt:3: image 'img/TOPS/T_Shirt/id_00000001/comsumer_01.jpg' "
                                     "is named as a consumer image but has source_type 1 (shop)"));
    }
    SUBCASE("an item listed twice") {
        write_bytes(root / "Anno/list_item_consumer2shop.txt", "3\nid_00000001\nid_00000002\nid_00000001\n");
        CHECK(contains(load_error(), "list_item_consumer2shop.txt:4: item 'id_00000001' is listed twice (also on line 2)"));
    }
    SUBCASE("a landmark row missing") {
        std::string text = kC2SLandmarks;
        text.replace(0, 1, "5");
        const auto row_start = text.find("img/CLOTHING/Skirt/id_00000007");
        text.erase(row_start, text.find('\n', row_start) + 1 - row_start);
        write_bytes(root / "Anno/list_landmarks_consumer2shop.txt", text);
        const std::string message = load_error();
        CHECK(contains(message, "list_landmarks_consumer2shop.txt: 1 image(s) of "));
        CHECK(contains(message, "list_bbox_consumer2shop.txt:7)"));
    }
    SUBCASE("a landmark clothes_type that contradicts the bbox list") {
        std::string text = kC2SLandmarks;
        const std::string skirt_row =
            "img/CLOTHING/Skirt/id_00000002/comsumer_01.jpg        2 3  0 100 101  1 102 103  2 104 105  0 106 107 \n";
        REQUIRE(text.find(skirt_row) != std::string::npos);
        text.replace(text.find(skirt_row), skirt_row.size(),
                     "img/CLOTHING/Skirt/id_00000002/comsumer_01.jpg 1 3  0 1 1  0 1 1  0 1 1  0 1 1  0 1 1  0 1 1\n");
        write_bytes(root / "Anno/list_landmarks_consumer2shop.txt", text);
        const std::string message = load_error();
        CHECK(contains(message, "list_landmarks_consumer2shop.txt:6: clothes_type 1 disagrees with clothes_type 2 given on "));
        CHECK(contains(message, "list_bbox_consumer2shop.txt:6"));
    }
    SUBCASE("a landmark row with too few tokens for its type") {
        std::string text = kC2SLandmarks;
        text.replace(text.find("id_00000007/shop_01.jpg            2"), 36, "id_00000007/shop_01.jpg            3");
        write_bytes(root / "Anno/list_landmarks_consumer2shop.txt", text);
        CHECK(contains(load_error(), "list_landmarks_consumer2shop.txt:7: expected 3+3*8=27 tokens (with the variation "
                                     "column) for clothes_type 3, got 15"));
    }
    SUBCASE("an attribute type beyond list_attr_type") {
        std::string text = kC2SAttrCloth;
        text.replace(text.rfind("2\r\n"), 1, "3");
        write_bytes(root / "Anno/list_attr_cloth.txt", text);
        CHECK(contains(load_error(), "list_attr_cloth.txt:5: attribute_type must be in [1, 2], got 3"));
    }
    SUBCASE("an attribute row for an unknown item") {
        write_bytes(root / "Anno/list_attr_items.txt", "1\nitem_id attribute_labels\nid_00000099 1 1 1\n");
        CHECK(contains(load_error(), "list_attr_items.txt:3: item 'id_00000099' is not in"));
    }
    SUBCASE("attributes are optional") {
        fs::remove(root / "Anno/list_attr_items.txt");
        CHECK(contains(load_error(), "list_attr_items.txt: required file is missing"));
        LoadOptions options;
        options.attribute_labels = Need::if_present;
        const auto data = load_consumer_to_shop(root, options);
        CHECK_FALSE(data.has_attributes);
        CHECK(data.attributes.empty());
        CHECK(data.has_landmarks);
    }
}

// ============================================================================================
TEST_CASE("deepfashion C2S protocol: unique queries and gallery, relevant sets by hand") {
    // Items: A (test) with consumer a1, a2 and shop s1, s2; B (test) with b1 / t1;
    // C (val) with c1 / u1; D (train) with d1 / v1.
    ConsumerToShopDataset data;
    data.items = {{"A", {}}, {"B", {}}, {"C", {}}, {"D", {}}};
    const auto image = [](const char* path, int item, Source source) {
        ConsumerToShopImage record;
        record.path = path;
        record.item = item;
        record.source = source;
        record.clothes_type = kUpperBody;
        return record;
    };
    enum { a1, a2, s1, s2, b1, t1, c1, u1, d1, v1 };
    data.images = {image("a1", 0, Source::consumer), image("a2", 0, Source::consumer), image("s1", 0, Source::shop),
                   image("s2", 0, Source::shop),     image("b1", 1, Source::consumer), image("t1", 1, Source::shop),
                   image("c1", 2, Source::consumer), image("u1", 2, Source::shop),     image("d1", 3, Source::consumer),
                   image("v1", 3, Source::shop)};
    data.pairs = {{c1, u1, 2, Split::val},  {a1, s1, 0, Split::test}, {a1, s2, 0, Split::test},
                  {a2, s1, 0, Split::test}, {a2, s2, 0, Split::test}, {b1, t1, 1, Split::test},
                  {d1, v1, 3, Split::train}};

    const RetrievalProtocol test_only = make_c2s_protocol(data, GallerySplits::test);
    CHECK(test_only.queries == std::vector<int>{a1, a2, b1});
    CHECK(test_only.gallery == std::vector<int>{s1, s2, t1});  // 3 entries, not one per pair (5)
    CHECK(test_only.query_items == std::vector<int>{0, 0, 1});
    CHECK(test_only.gallery_items == std::vector<int>{0, 0, 1});
    REQUIRE(test_only.relevant.size() == 3);
    CHECK(test_only.relevant[0] == std::vector<int>{0, 1});  // a1 -> s1, s2 (mmfashion would count 4)
    CHECK(test_only.relevant[1] == std::vector<int>{0, 1});
    CHECK(test_only.relevant[2] == std::vector<int>{2});

    const RetrievalProtocol val_and_test = make_c2s_protocol(data, GallerySplits::val_and_test);
    CHECK(val_and_test.queries == std::vector<int>{a1, a2, b1});  // queries stay the test consumers
    CHECK(val_and_test.gallery == std::vector<int>{u1, s1, s2, t1});
    CHECK(val_and_test.relevant[0] == std::vector<int>{1, 2});
    CHECK(val_and_test.relevant[2] == std::vector<int>{3});
}

// ============================================================================================
TEST_CASE("deepfashion writers: write -> read gives the same datasets") {
    CategoryAttributeDataset c;
    c.category_names = {"Anorak", "Button-Down", "Capris", "Sundress"};
    c.category_types = {1, 1, 2, 3};
    c.attribute_names = {"a-line", "abstract chevron print", "grunge"};
    c.attribute_types = {3, 1, 5};
    c.has_attribute_labels = c.has_boxes = c.has_landmarks = true;
    for (int i = 0; i < 7; ++i) {
        ImageRecord image;
        image.path = "img/Folder_" + std::to_string(i % 3) + "/img_" + std::to_string(1000 + i) + ".jpg";
        image.category = i % 4;
        image.clothes_type = c.category_types[static_cast<std::size_t>(image.category)];
        image.attributes = {static_cast<std::int8_t>(i % 3 - 1), 1, static_cast<std::int8_t>(-(i % 2))};
        image.box = {static_cast<float>(i), 7.5f, 250.0f + static_cast<float>(i), 1234.0f};
        for (const int slot : landmark_slots(image.clothes_type))
            image.landmarks[static_cast<std::size_t>(slot)] =
                point(static_cast<float>(slot * 10 + i), i == 3 ? 0.1f : static_cast<float>(slot), slot % 3);
        image.split = static_cast<Split>(i % 3);
        c.images.push_back(image);
    }
    TempFolder folder;
    write_category_attribute(folder.path / "c", c);
    CHECK(load_category_attribute(folder.path / "c") == c);

    // The C file layout, byte by byte: names in 15/29 columns, images in 71, coordinates "007".
    const std::string bbox = read_bytes(folder.path / "c/Anno/list_bbox.txt");
    CHECK(bbox.starts_with("7\nimage_name  x_1  y_1  x_2  y_2\n"));
    CHECK(contains(bbox, "\nimg/Folder_0/img_1000.jpg" + std::string(71 - 25, ' ') + "000 7.5 250 1234\n"));
    CHECK(read_bytes(folder.path / "c/Anno/list_category_cloth.txt") ==
          "4\ncategory_name  category_type\nAnorak         1\nButton-Down    1\nCapris         2\nSundress       3\n");

    ConsumerToShopDataset s;
    s.items = {{"id_00000001", {1, -1}}, {"id_00000002", {}}, {"id_00000005", {0, 1}}};
    s.attribute_types = {{"衣长", "length of upper-body clothes"}, {"裤型", "type of trousers"}};
    s.attributes = {{"常规款（51-65cm）", "Regular length (51-65cm)", 1}, {"贴布绣", "Appliqué", 2}};
    s.has_attributes = s.has_landmarks = true;
    const auto c2s_image = [](std::string path, int item, Source source, int type, int variation) {
        ConsumerToShopImage image;
        image.path = std::move(path);
        image.item = item;
        image.source = source;
        image.clothes_type = type;
        image.variation = variation;
        image.box = {1, 2, 3.25f, 4};
        for (const int slot : landmark_slots(type))
            image.landmarks[static_cast<std::size_t>(slot)] = point(static_cast<float>(slot), 2.5f, slot % 3);
        return image;
    };
    s.images = {c2s_image("img/TOPS/Tee/id_00000001/comsumer_01.jpg", 0, Source::consumer, 1, 1),
                c2s_image("img/TOPS/Tee/id_00000001/shop_01.jpg", 0, Source::shop, 1, 2),
                c2s_image("img/DRESSES/Dress/id_00000002/comsumer_01.jpg", 1, Source::consumer, 3, 3),
                c2s_image("img/DRESSES/Dress/id_00000002/shop_01.jpg", 1, Source::shop, 3, 4),
                c2s_image("img/CLOTHING/Skirt/id_00000005/shop_03.jpg", 2, Source::shop, 2, 5)};
    s.pairs = {{0, 1, 0, Split::train}, {2, 3, 1, Split::test}};
    write_consumer_to_shop(folder.path / "s", s);
    CHECK(load_consumer_to_shop(folder.path / "s") == s);
    CHECK(read_bytes(folder.path / "s/Anno/list_item_consumer2shop.txt") == "3\nid_00000001\nid_00000002\nid_00000005\n");
    CHECK(read_bytes(folder.path / "s/Anno/list_attr_cloth.txt")
              .starts_with("\xEF\xBB\xBF" "2\r\nattribute_name (Chinese)         attribute_name (English)"));
}

TEST_CASE("deepfashion writers: refuse datasets the readers would reject") {
    TempFolder folder;
    CategoryAttributeDataset c;
    c.category_names = {"Anorak"};
    c.category_types = {1};
    ImageRecord image;
    image.path = "img/a.jpg";
    image.category = 0;
    image.clothes_type = 1;
    c.images = {image};
    CHECK(error_of([&] { write_category_attribute(folder.path / "ok", c); }).empty());

    auto bad = c;
    bad.images[0].category = 1;
    CHECK(contains(error_of([&] { write_category_attribute(folder.path / "x", bad); }), "has category 1, not in [0, 1)"));
    bad = c;
    bad.images[0].clothes_type = 2;
    CHECK(contains(error_of([&] { write_category_attribute(folder.path / "x", bad); }), "has clothes_type 2 but its category"));
    bad = c;
    bad.images[0].path = "img/a b.jpg";
    CHECK(contains(error_of([&] { write_category_attribute(folder.path / "x", bad); }), "must be one non-empty token"));
    bad = c;
    bad.images.push_back(bad.images[0]);
    CHECK(contains(error_of([&] { write_category_attribute(folder.path / "x", bad); }), "have the same path"));
    bad = c;
    bad.has_landmarks = true;  // an upper-body row whose slots are not marked present
    CHECK(contains(error_of([&] { write_category_attribute(folder.path / "x", bad); }),
                   "landmark slot 0 (left_collar) is not marked present"));

    ConsumerToShopDataset s;
    s.items = {{"id_1", {}}};
    ConsumerToShopImage shop;
    shop.path = "img/A/B/id_2/shop_01.jpg";
    shop.item = 0;
    shop.clothes_type = 1;
    s.images = {shop};
    CHECK(contains(error_of([&] { write_consumer_to_shop(folder.path / "s", s); }), "must lie in the folder of its item 'id_1'"));
}

// ============================================================================================
// The genuine fragments (fixtures/deepfashion-real/README.md states the counts used here).
TEST_CASE("deepfashion real fragments: Category-and-Attribute lists") {
    const fs::path root = real_fixtures();
    if (root.empty() || !fs::exists(root / "category-attribute")) {
        MESSAGE("skipped: no SEAM_SHARED_DIR/fixtures/deepfashion-real");
        return;
    }
    const fs::path anno = root / "category-attribute/Anno";

    const auto categories = read_list_category_cloth(anno / "list_category_cloth.txt");
    CHECK(categories.declared_count == 50);
    REQUIRE(categories.rows.size() == 50);
    CHECK(categories.rows[0] == NameTypeEntry{"Anorak", 1});
    CHECK(categories.rows[2].name == "Blouse");
    for (std::size_t i = 0; i < 50; ++i) CHECK(categories.rows[i].type == (i < 20 ? 1 : i < 36 ? 2 : 3));
    CHECK(categories.rows[37].name == "Cape");  // rows 38, 45, 49, 50 (1-based), kept although merged into Dress
    CHECK(categories.rows[44].name == "Nightdress");
    CHECK(categories.rows[48].name == "Shirtdress");
    CHECK(categories.rows[49].name == "Sundress");
    bool has_button_down = false;
    for (const auto& row : categories.rows) has_button_down |= row.name == "Button-Down";
    CHECK(has_button_down);
    {  // written back, byte for byte the distributed file
        std::ostringstream out;
        write_list_category_cloth(out, categories.rows);
        CHECK(out.str() == read_bytes(anno / "list_category_cloth.txt"));
    }

    const auto attributes = read_list_attr_cloth(anno / "list_attr_cloth.txt");
    CHECK(attributes.declared_count == 1000);
    REQUIRE(attributes.rows.size() == 1000);
    CHECK(attributes.rows[0] == NameTypeEntry{"a-line", 3});
    CHECK(attributes.rows[446] == NameTypeEntry{"grunge", 5});  // the row with a trailing space
    int per_type[6] = {};
    int with_space = 0;
    std::size_t longest = 0;
    for (const auto& row : attributes.rows) {
        ++per_type[row.type];
        with_space += row.name.find(' ') != std::string::npos;
        longest = std::max(longest, row.name.size());
    }
    CHECK(per_type[1] == 156);
    CHECK(per_type[2] == 218);
    CHECK(per_type[3] == 180);
    CHECK(per_type[4] == 216);
    CHECK(per_type[5] == 230);
    CHECK(with_space == 322);
    CHECK(longest == 25);
    {  // written back: the distributed file without its 48 stray trailing spaces
        std::ostringstream out;
        write_list_attr_cloth(out, attributes.rows);
        const auto written = lines_of(out.str());
        const auto real = lines_of(read_bytes(anno / "list_attr_cloth.txt"));
        REQUIRE(written.size() == real.size());
        int differing = 0;
        for (std::size_t i = 0; i < real.size(); ++i) differing += written[i] != strip_trailing_spaces(real[i]);
        CHECK(differing == 0);
    }

    // The one-line list_category_img fragment has neither count nor column names: rejected as it
    // stands, read once they are put in front of it.
    const std::string fragment = read_bytes(anno / "list_category_img.txt");
    CHECK(contains(error_of([&] { read_list_category_img(anno / "list_category_img.txt"); }),
                   "list_category_img.txt:1: line 1 should hold the number of rows"));
    const auto completed = parse_text("1\nimage_name  category_label\n" + fragment, parse_list_category_img);
    REQUIRE(completed.rows.size() == 1);
    CHECK(completed.rows[0].image == "img/Sheer_Pleated-Front_Blouse/img_00000001.jpg");
    CHECK(completed.rows[0].category_label == 3);
    CHECK(categories.rows[static_cast<std::size_t>(completed.rows[0].category_label - 1)].name == "Blouse");
    {  // the writer lays the row out the same way (71-column image field)
        std::ostringstream out;
        write_list_category_img(out, completed.rows);
        CHECK(out.str() == "1\nimage_name  category_label\n" + fragment);
    }
}

TEST_CASE("deepfashion real fragments: lines quoted in code") {
    const fs::path root = real_fixtures();
    if (root.empty() || !fs::exists(root / "quoted-in-code")) {
        MESSAGE("skipped: no SEAM_SHARED_DIR/fixtures/deepfashion-real");
        return;
    }
    const fs::path quoted_dir = root / "quoted-in-code/category-attribute";

    // Count 289222 kept above 6 rows: strict reading refuses it, a fragment reading takes it.
    CHECK(contains(error_of([&] { read_list_category_img(quoted_dir / "list_category_img.txt"); }),
                   "list_category_img.txt:1: line 1 says 289222 rows but the file has 6 data rows"));
    ListOptions fragment;
    fragment.check_count = false;
    const auto images = read_list_category_img(quoted_dir / "list_category_img.txt", fragment);
    CHECK(images.declared_count == 289222);
    REQUIRE(images.rows.size() == 6);
    for (std::size_t i = 0; i < 6; ++i) {
        CHECK(images.rows[i].image == "img/Sheer_Pleated-Front_Blouse/img_0000000" + std::to_string(i + 1) + ".jpg");
        CHECK(images.rows[i].category_label == 3);
    }
    {  // the data rows as the writer lays them out are the quoted rows
        std::ostringstream out;
        write_list_category_img(out, images.rows);
        const auto written = lines_of(out.str());
        const auto real = lines_of(read_bytes(quoted_dir / "list_category_img.txt"));
        REQUIRE(written.size() == 8);
        REQUIRE(real.size() == 8);
        for (std::size_t i = 2; i < 8; ++i) CHECK(written[i] == real[i]);
    }

    // One list_landmarks row: no variation column, 6 upper-body points, zero-padded coordinates.
    const std::string landmark_line = read_bytes(quoted_dir / "list_landmarks.txt");
    CHECK(contains(error_of([&] { read_list_landmarks(quoted_dir / "list_landmarks.txt"); }), "list_landmarks.txt:1:"));
    const auto landmarks = parse_text("1\nimage_name  clothes_type\n" + landmark_line, parse_list_landmarks);
    REQUIRE(landmarks.rows.size() == 1);
    const LandmarkEntry& row = landmarks.rows[0];
    CHECK(row.image == "img/Sheer_Pleated-Front_Blouse/img_00000001.jpg");
    CHECK(row.clothes_type == 1);
    CHECK(row.variation == 0);
    CHECK(row.landmarks[0] == point(146, 102, 0));
    CHECK(row.landmarks[1] == point(173, 95, 0));
    CHECK(row.landmarks[2] == point(94, 242, 0));
    CHECK(row.landmarks[3] == point(205, 255, 0));
    CHECK_FALSE(row.landmarks[4].present);
    CHECK_FALSE(row.landmarks[5].present);
    CHECK(row.landmarks[6] == point(136, 229, 0));
    CHECK(row.landmarks[7] == point(177, 232, 0));
    {  // written back: the quoted row, byte for byte (72-column field, "  0 146 102", trailing space)
        std::ostringstream out;
        write_list_landmarks(out, landmarks.rows, false);
        CHECK(lines_of(out.str()).at(2) + "\n" == landmark_line);
    }
}

TEST_CASE("deepfashion real fragments: Consumer-to-shop lists") {
    const fs::path root = real_fixtures();
    if (root.empty() || !fs::exists(root / "consumer-to-shop")) {
        MESSAGE("skipped: no SEAM_SHARED_DIR/fixtures/deepfashion-real");
        return;
    }
    const fs::path anno = root / "consumer-to-shop/Anno";

    // BOM + CRLF, CJK alignment, a TAB on line 257, trailing spaces on four lines.
    ListOptions eighteen_types;
    eighteen_types.num_attribute_types = 18;
    const auto attributes = read_list_attr_cloth_consumer2shop(anno / "list_attr_cloth.txt", eighteen_types);
    CHECK(attributes.declared_count == 303);
    REQUIRE(attributes.rows.size() == 303);
    CHECK(attributes.rows[0] == BilingualAttributeEntry{"常规款（51-65cm）", "Regular length (51-65cm)", 1});
    CHECK(attributes.rows[2].english_name == "Regular to long (longer than 65cm)");
    CHECK(attributes.rows[70].english_name == "Appliqué");  // line 73
    CHECK(attributes.rows[254] == BilingualAttributeEntry{"宽松", "Wide/Loose", 14});  // line 257, the TAB
    CHECK(attributes.rows[26].english_name == "Dress sets");  // line 29, trailing spaces
    const int expected_per_type[19] = {0, 14, 9, 77, 7, 8, 26, 21, 7, 15, 39, 12, 10, 9, 8, 11, 12, 7, 11};
    int per_type[19] = {};
    bool non_decreasing = true;
    for (std::size_t i = 0; i < attributes.rows.size(); ++i) {
        ++per_type[attributes.rows[i].type];
        if (i > 0 && attributes.rows[i].type < attributes.rows[i - 1].type) non_decreasing = false;
    }
    for (int type = 1; type <= 18; ++type) CHECK(per_type[type] == expected_per_type[type]);
    CHECK(non_decreasing);
    ListOptions seventeen_types;
    seventeen_types.num_attribute_types = 17;
    CHECK(contains(error_of([&] { read_list_attr_cloth_consumer2shop(anno / "list_attr_cloth.txt", seventeen_types); }),
                   "list_attr_cloth.txt:"));
    {  // written back: the distributed bytes, except line 257's TAB and the trailing spaces
        std::ostringstream out;
        write_list_attr_cloth_consumer2shop(out, attributes.rows);
        const auto written = lines_of(out.str());
        const auto real = lines_of(read_bytes(anno / "list_attr_cloth.txt"));
        REQUIRE(written.size() == real.size());
        int differing = 0;
        for (std::size_t i = 0; i < real.size(); ++i) {
            if (i + 1 == 257) continue;
            differing += strip_trailing_spaces(written[i]) != strip_trailing_spaces(real[i]);
            CHECK(written[i].back() == '\r');  // CRLF
        }
        CHECK(differing == 0);
        CHECK(out.str().starts_with("\xEF\xBB\xBF" "303\r\n"));
    }

    const auto types = read_list_attr_type(anno / "list_attr_type.txt");
    CHECK(types.declared_count == 18);
    REQUIRE(types.rows.size() == 18);
    CHECK(types.rows[0].english_name == "length of upper-body clothes");
    CHECK(types.rows[1].english_name == "type of trousers");
    CHECK(types.rows[17].english_name == "type of sleeves");
    {
        std::ostringstream out;
        write_list_attr_type(out, types.rows);
        CHECK(out.str() == read_bytes(anno / "list_attr_type.txt"));
    }

    // 300 of 33,881 ids: the count line is the original one.
    CHECK(contains(error_of([&] { read_list_item_consumer2shop(anno / "list_item_consumer2shop.txt"); }),
                   "list_item_consumer2shop.txt:1: line 1 says 33881 rows but the file has 300 data rows"));
    ListOptions fragment;
    fragment.check_count = false;
    const auto items = read_list_item_consumer2shop(anno / "list_item_consumer2shop.txt", fragment);
    CHECK(items.declared_count == 33881);
    REQUIRE(items.rows.size() == 300);
    CHECK(items.rows.front() == "id_00000001");
    CHECK(items.rows.back() == "id_00000300");
}

// ============================================================================================
// Not run by default (it writes ~0.9 GB): the real benchmark's size, 289,222 images with 1000
// attribute labels each. Run it with
//     seam_tests -tc="deepfashion perf*" --no-skip
TEST_CASE("deepfashion perf: load a Category-and-Attribute benchmark of the real size" * doctest::skip()) {
    constexpr std::size_t kImages = 289'222, kAttributes = 1000, kCategories = 50;
    CategoryAttributeDataset data;
    for (std::size_t c = 0; c < kCategories; ++c) {
        data.category_names.push_back("Category_" + std::to_string(c));
        data.category_types.push_back(c < 20 ? 1 : c < 36 ? 2 : 3);
    }
    for (std::size_t a = 0; a < kAttributes; ++a) {
        data.attribute_names.push_back("attribute number " + std::to_string(a));
        data.attribute_types.push_back(static_cast<int>(a % 5) + 1);
    }
    data.has_attribute_labels = data.has_boxes = data.has_landmarks = true;
    data.images.resize(kImages);
    for (std::size_t i = 0; i < kImages; ++i) {
        ImageRecord& image = data.images[i];
        char path[64];
        std::snprintf(path, sizeof path, "img/Some_Clothing_Folder_%04zu/img_%08zu.jpg", i / 60, i % 60 + 1);
        image.path = path;
        image.category = static_cast<int>(i % kCategories);
        image.clothes_type = data.category_types[static_cast<std::size_t>(image.category)];
        image.attributes.assign(kAttributes, -1);
        for (std::size_t k = 0; k < 4; ++k) image.attributes[(i * 7 + k * 131) % kAttributes] = 1;
        image.box = {static_cast<float>(i % 100), 20, 200, static_cast<float>(200 + i % 100)};
        for (const int slot : landmark_slots(image.clothes_type))
            image.landmarks[static_cast<std::size_t>(slot)] = point(static_cast<float>(slot * 30), 100, slot % 3);
        image.split = i < 209'222 ? Split::train : i < 249'222 ? Split::val : Split::test;
    }
    TempFolder folder;
    const auto seconds_since = [](std::chrono::steady_clock::time_point start) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    auto start = std::chrono::steady_clock::now();
    write_category_attribute(folder.path, data);
    const double write_seconds = seconds_since(start);
    std::uintmax_t bytes = 0;
    for (const auto& entry : fs::recursive_directory_iterator(folder.path))
        if (entry.is_regular_file()) bytes += entry.file_size();
    const auto attr_img_bytes = fs::file_size(folder.path / "Anno/list_attr_img.txt");

    start = std::chrono::steady_clock::now();
    const auto loaded = load_category_attribute(folder.path);
    const double load_seconds = seconds_since(start);
    CHECK(loaded == data);

    LoadOptions without_labels;
    without_labels.attribute_labels = Need::skip;
    start = std::chrono::steady_clock::now();
    const auto light = load_category_attribute(folder.path, without_labels);
    const double light_seconds = seconds_since(start);
    CHECK(light.images.size() == kImages);

    const double megabytes = static_cast<double>(bytes) / 1e6;
    MESSAGE("wrote ", megabytes, " MB (list_attr_img.txt ", static_cast<double>(attr_img_bytes) / 1e6, " MB) in ",
            write_seconds, " s; full load ", load_seconds, " s (", megabytes / load_seconds,
            " MB/s); load without list_attr_img ", light_seconds, " s");
}
