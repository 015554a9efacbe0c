// End-to-end tests of the seam-eval command-line program (examples/seam_eval.cpp): a tiny DeepFashion-C root
// is written with the library's writers, prediction CSVs are written by hand, the real binary is run, and its
// exit code, its SUMMARY line and its error messages are checked against numbers worked out by hand below.
//
// The binary's path comes from the compile definition SEAM_EVAL_BINARY (set by CMake when both seam_tests and
// seam_eval are built); without it the tests say "skipped" and pass.
#include <doctest/doctest.h>

#include <seam/data/deepfashion.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using seam::data::Split;

// A fresh folder under the system's temp directory, removed when the test ends.
struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name) {
        path = fs::temp_directory_path() / ("seam_eval_cli_" + name + "_" + std::to_string(::getpid()));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    REQUIRE(out.good());
}

struct RunResult {
    int exit_code = -1;
    std::string out, err;
};

// Runs the seam-eval binary with `arguments` (already shell-quoted), capturing stdout and stderr in files.
RunResult run_seam_eval(const std::string& binary, const std::string& arguments, const fs::path& dir) {
    const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
    const std::string command =
        "'" + binary + "' " + arguments + " > '" + out.string() + "' 2> '" + err.string() + "'";
    const int status = std::system(command.c_str());
    RunResult r;
    if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    r.out = read_text(out);
    r.err = read_text(err);
    return r;
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// The JSON after "SUMMARY " on the last SUMMARY line of `out`, or "" when there is none.
std::string summary_line(const std::string& out) {
    const auto at = out.rfind("SUMMARY ");
    if (at == std::string::npos) return "";
    const auto end = out.find('\n', at);
    return out.substr(at + 8, end == std::string::npos ? std::string::npos : end - at - 8);
}

// The number of "key": in a flat JSON object; nullopt for null. FAILs when the key is missing.
std::optional<double> summary_number(const std::string& json, const std::string& key) {
    const std::string pattern = "\"" + key + "\": ";
    const auto at = json.find(pattern);
    if (at == std::string::npos) {
        FAIL_CHECK("SUMMARY has no key ", key, ": ", json);
        return std::nullopt;
    }
    const char* start = json.c_str() + at + pattern.size();
    if (std::string_view(start).starts_with("null")) return std::nullopt;
    char* end = nullptr;
    const double value = std::strtod(start, &end);
    CHECK_MESSAGE(end != start, "SUMMARY value of ", key, " is not a number: ", json);
    return value;
}

// ------------------------------------------------------------------------------------------------
// The tiny benchmark. 7 categories; 9 attributes: 5 texture (so a within-type top-3 leaves two out),
// then one each of fabric, shape, part and style. Five test images A..E, plus one train and one val image
// whose prediction rows must be ignored.

constexpr int kCategories = 7, kAttributes = 9;

seam::data::CategoryAttributeDataset tiny_dataset() {
    seam::data::CategoryAttributeDataset d;
    d.category_names = {"Tee", "Blouse", "Jeans", "Skirt", "Dress", "Romper", "Coat"};
    d.category_types = {1, 1, 2, 2, 3, 3, 3};
    d.attribute_names = {"floral", "striped", "dotted", "checked", "camo", "denim", "maxi", "hooded", "party"};
    d.attribute_types = {1, 1, 1, 1, 1, 2, 3, 4, 5};
    d.has_attribute_labels = true;
    auto add = [&](const std::string& path, int category, std::vector<std::int8_t> labels, Split split) {
        seam::data::ImageRecord r;
        r.path = path;
        r.category = category;
        r.clothes_type = d.category_types[static_cast<std::size_t>(category)];
        r.attributes = std::move(labels);
        r.split = split;
        d.images.push_back(r);
    };
    //                                         floral striped dotted checked camo denim maxi hooded party
    add("img/Tee_A/img_00000001.jpg", 0, {1, -1, -1, 1, 0, 1, -1, -1, -1}, Split::test);        // A
    add("img/Jeans_B/img_00000001.jpg", 2, {-1, -1, -1, 1, -1, -1, -1, 1, -1}, Split::test);    // B
    add("img/Dress_C/img_00000001.jpg", 4, {-1, -1, -1, -1, -1, -1, 1, -1, -1}, Split::test);   // C
    add("img/Coat_D/img_00000001.jpg", 6, {-1, -1, -1, -1, -1, -1, -1, -1, -1}, Split::test);   // D
    add("img/Skirt_E/img_00000001.jpg", 3, {-1, -1, 1, -1, 0, -1, -1, -1, -1}, Split::test);    // E
    add("img/Tee_T/img_00000001.jpg", 0, {1, 1, 1, 1, 1, 1, 1, 1, 1}, Split::train);            // ignored
    add("img/Romper_V/img_00000001.jpg", 5, {1, 1, 1, 1, 1, 1, 1, 1, 1}, Split::val);           // ignored
    return d;
}

std::string csv_header() {
    std::string h = "image_name";
    for (int c = 1; c <= kCategories; ++c) h += ",category_" + std::to_string(c);
    for (int a = 1; a <= kAttributes; ++a) h += ",attribute_" + std::to_string(a);
    return h + "\n";
}

// Scores chosen so that the metrics can be worked out by hand (see the test).
std::string tiny_predictions() {
    std::string csv = csv_header();
    //                                           7 category scores                 9 attribute scores
    csv += "img/Tee_A/img_00000001.jpg,   0.9,0.9,0.1,0.1,0.1,0.1,0.1,   0.9,0.8,0.7,0.6,0.95,0.1,0.2,0.3,0.4\n";
    csv += "img/Jeans_B/img_00000001.jpg, 0.9,0.8,0.5,0.1,0.1,0.1,0.1,   0.5,0.5,0.5,0.5,0.1,0,0,0.9,0\n";
    csv += "img/Dress_C/img_00000001.jpg, 0.9,0.8,0.7,0.6,0.3,0.1,0.1,   0,0,0,0,0,0,-1,0,0\n";
    // Rows of other splits may come anywhere; they would raise every number if they were counted.
    csv += "img/Tee_T/img_00000001.jpg,   9,0,0,0,0,0,0,                 1,1,1,1,1,1,1,1,1\n";
    csv += "img/Coat_D/img_00000001.jpg,  0.1,0.1,0.1,0.1,0.1,0.1,0.95,  0,0,0,0,0,0,0,0,0\n";
    csv += "img/Romper_V/img_00000001.jpg,0,0,0,0,0,9,0,                 1,1,1,1,1,1,1,1,1\n";
    csv += "img/Skirt_E/img_00000001.jpg, 0.5,0.5,0.5,0.0,0.5,0.5,0.5,   0.5,0.6,0.7,0.8,0.9,0,0,0,0\n";
    return csv;
}

#ifdef SEAM_EVAL_BINARY
constexpr const char* kBinary = SEAM_EVAL_BINARY;
#else
constexpr const char* kBinary = nullptr;
#endif

}  // namespace

TEST_CASE("seam-eval category-attribute: exit 0 and a SUMMARY equal to the metrics worked out by hand") {
    if (kBinary == nullptr) {
        MESSAGE("skipped: SEAM_EVAL_BINARY is not defined (seam-eval is not built with the tests)");
        return;
    }
    REQUIRE_MESSAGE(fs::exists(kBinary), "SEAM_EVAL_BINARY names a missing file: ", kBinary);
    TempDir dir("ok");
    const fs::path root = dir.path / "Category and Attribute";  // a space, as in the real folder name
    seam::data::write_category_attribute(root, tiny_dataset());
    const fs::path pred = dir.path / "pred.csv", json = dir.path / "result.json";
    write_text(pred, tiny_predictions());

    const RunResult r = run_seam_eval(kBinary,
                                      "category-attribute --root " + quoted(root) + " --pred " + quoted(pred) +
                                          " --out " + quoted(json),
                                      dir.path);
    INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
    REQUIRE(r.exit_code == 0);
    const std::string summary = summary_line(r.out);
    REQUIRE(!summary.empty());

    // Category, conservative ties (a tie counts against the true class), micro over the 5 test images:
    //   A true Tee    0.9, tied with Blouse 0.9     -> 1 class ahead: top-1 miss, top-3 hit
    //   B true Jeans  0.5, behind 0.9 and 0.8       -> 2 ahead: top-3 hit
    //   C true Dress  0.3, behind 0.9 0.8 0.7 0.6   -> 4 ahead: top-3 miss, top-5 hit
    //   D true Coat   0.95, the highest             -> top-1 hit
    //   E true Skirt  0.0, the lowest of 7          -> 6 ahead: top-5 miss
    // top-1 1/5, top-3 3/5 (A, B, D), top-5 4/5.
    CHECK(summary.find("\"images\": 5") != std::string::npos);
    CHECK(summary_number(summary, "category_top1").value_or(-1) == doctest::Approx(20.0).epsilon(1e-9));
    CHECK(summary_number(summary, "category_top3").value_or(-1) == doctest::Approx(60.0).epsilon(1e-9));
    CHECK(summary_number(summary, "category_top5").value_or(-1) == doctest::Approx(80.0).epsilon(1e-9));

    // Attributes, ranking within each type, ties to the lower index, micro (Σ found / Σ positives):
    //   Texture (floral..camo). A: positives floral, checked; order camo .95, floral .9, striped, dotted, checked
    //     -> top-3 finds floral (1 of 2), top-5 both. B: positive checked; all four .5 tie, lower index first:
    //     floral, striped, dotted, checked -> top-3 misses it, top-5 finds it. E: positive dotted; order camo,
    //     checked, dotted -> found at 3. Camo is 0 (unknown) for A and E: a negative.
    //     top-3 (1 + 0 + 1) / 4 = 50 %, top-5 4 / 4 = 100 %.
    //   Fabric (A), Shape (C), Part (B): a single attribute each, always in the top 3: 100 %.
    //   Style: no positive in the test split -> null.
    CHECK(summary_number(summary, "texture_top3").value_or(-1) == doctest::Approx(50.0).epsilon(1e-9));
    CHECK(summary_number(summary, "texture_top5").value_or(-1) == doctest::Approx(100.0).epsilon(1e-9));
    for (const char* key : {"fabric_top3", "fabric_top5", "shape_top3", "shape_top5", "part_top3", "part_top5"})
        CHECK_MESSAGE(summary_number(summary, key).value_or(-1) == doctest::Approx(100.0).epsilon(1e-9), key);
    CHECK_FALSE(summary_number(summary, "style_top3").has_value());
    CHECK_FALSE(summary_number(summary, "style_top5").has_value());

    // All: the 9 attributes ranked together.
    //   A (positives floral, checked, denim): camo, floral, striped | dotted, checked -> 1 at 3, 2 at 5
    //   B (checked, hooded): hooded .9, floral, striped | dotted, checked -> 1 at 3, 2 at 5
    //   C (maxi at -1, the lowest): 0 at 3 and 5
    //   E (dotted): camo, checked, dotted -> 1 at 3 and 5;  D has no positive and adds nothing.
    //   top-3 (1 + 1 + 0 + 1) / 7, top-5 (2 + 2 + 0 + 1) / 7.
    CHECK(summary_number(summary, "all_top3").value_or(-1) == doctest::Approx(300.0 / 7.0).epsilon(1e-9));
    CHECK(summary_number(summary, "all_top5").value_or(-1) == doctest::Approx(500.0 / 7.0).epsilon(1e-9));

    // The report says how many rows of other splits it ignored, and --out wrote the same summary.
    CHECK(r.out.find("2 rows of other splits ignored") != std::string::npos);
    const std::string written = read_text(json);
    CHECK(written.find("\"summary\": " + summary) != std::string::npos);
}

TEST_CASE("seam-eval category-attribute: per-image averaging and global ranking change the numbers as defined") {
    if (kBinary == nullptr) {
        MESSAGE("skipped: SEAM_EVAL_BINARY is not defined (seam-eval is not built with the tests)");
        return;
    }
    TempDir dir("options");
    const fs::path root = dir.path / "root";
    seam::data::write_category_attribute(root, tiny_dataset());
    const fs::path pred = dir.path / "pred.csv";
    write_text(pred, tiny_predictions());
    const RunResult r = run_seam_eval(kBinary,
                                      "category-attribute --root " + quoted(root) + " --pred " + quoted(pred) +
                                          " --average per-image --attr-ranking global --all mean-of-types",
                                      dir.path);
    INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
    REQUIRE(r.exit_code == 0);
    const std::string summary = summary_line(r.out);
    // Texture with the global ranking, per image over the images with a texture positive (A, B, E):
    //   A global top-3 camo, floral, striped -> 1/2; top-5 adds dotted, checked -> 2/2
    //   B global top-3 hooded, floral, striped -> 0/1; top-5 adds dotted, checked -> 1/1
    //   E global top-3 camo, checked, dotted -> 1/1 and 1/1
    //   top-3 (0.5 + 0 + 1) / 3 = 50 %, top-5 (1 + 1 + 1) / 3 = 100 %.
    // Fabric (A: denim is the last of 9 globally): 0 at 3 and 5. Shape (C: maxi last): 0 and 0.
    // Part (B: hooded first): 100 and 100. Style: null.
    // All as the mean of the type columns: one column is null (no style positive), so All is null too.
    CHECK(summary_number(summary, "texture_top3").value_or(-1) == doctest::Approx(50.0).epsilon(1e-9));
    CHECK(summary_number(summary, "texture_top5").value_or(-1) == doctest::Approx(100.0).epsilon(1e-9));
    CHECK(summary_number(summary, "fabric_top3").value_or(-1) == doctest::Approx(0.0));
    CHECK(summary_number(summary, "fabric_top5").value_or(-1) == doctest::Approx(0.0));
    CHECK(summary_number(summary, "shape_top5").value_or(-1) == doctest::Approx(0.0));
    CHECK(summary_number(summary, "part_top3").value_or(-1) == doctest::Approx(100.0).epsilon(1e-9));
    CHECK_FALSE(summary_number(summary, "style_top3").has_value());
    CHECK_FALSE(summary_number(summary, "all_top3").has_value());
}

TEST_CASE("seam-eval: a malformed predictions CSV exits 1 with an error naming the file and the line") {
    if (kBinary == nullptr) {
        MESSAGE("skipped: SEAM_EVAL_BINARY is not defined (seam-eval is not built with the tests)");
        return;
    }
    TempDir dir("bad");
    const fs::path root = dir.path / "root";
    seam::data::write_category_attribute(root, tiny_dataset());
    const std::string good = tiny_predictions();
    auto lines_of = [](const std::string& text) {
        std::vector<std::string> lines;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        return lines;
    };
    auto run_on = [&](const fs::path& pred) {
        const std::string arguments = "category-attribute --root " + quoted(root) + " --pred " + quoted(pred);
        return run_seam_eval(kBinary, arguments, dir.path);
    };
    auto join = [](const std::vector<std::string>& lines) {
        std::string text;
        for (const auto& line : lines) text += line + "\n";
        return text;
    };

    SUBCASE("a score that is not a number") {
        auto lines = lines_of(good);
        lines[3] = "img/Dress_C/img_00000001.jpg,0.9,0.8,0.7,0.6,0.3,0.1,0.1,0,0,abc,0,0,0,-1,0,0";
        const fs::path pred = dir.path / "not_a_number.csv";
        write_text(pred, join(lines));
        const RunResult r = run_on(pred);
        INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.err.find(pred.string() + ":4:") != std::string::npos);
        CHECK(r.err.find("'abc' is not a number") != std::string::npos);
        CHECK(r.err.find("attribute_3") != std::string::npos);
        CHECK(r.out.find("SUMMARY") == std::string::npos);
    }
    SUBCASE("a row with a missing field") {
        auto lines = lines_of(good);
        lines[5] = "img/Coat_D/img_00000001.jpg,0.1,0.1,0.1,0.1,0.1,0.1,0.95,0,0,0,0,0,0,0,0";
        const fs::path pred = dir.path / "short_row.csv";
        write_text(pred, join(lines));
        const RunResult r = run_on(pred);
        INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.err.find(pred.string() + ":6:") != std::string::npos);
        CHECK(r.err.find("16 fields but the header has 17") != std::string::npos);
    }
    SUBCASE("an image that is not in the benchmark") {
        auto lines = lines_of(good);
        lines[2] = "img/Jeans_X/img_00000009.jpg,0.9,0.8,0.5,0.1,0.1,0.1,0.1,0.5,0.5,0.5,0.5,0.1,0,0,0.9,0";
        const fs::path pred = dir.path / "unknown_image.csv";
        write_text(pred, join(lines));
        const RunResult r = run_on(pred);
        INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.err.find(pred.string() + ":3:") != std::string::npos);
        CHECK(r.err.find("img/Jeans_X/img_00000009.jpg") != std::string::npos);
    }
    SUBCASE("a usage mistake exits 2, not 1") {
        const RunResult r = run_seam_eval(kBinary, "category-attribute --root " + quoted(root) + " --no-such-option 1",
                                          dir.path);
        INFO("stdout:\n", r.out, "\nstderr:\n", r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("unknown option --no-such-option") != std::string::npos);
    }
}
