// synthfashion — writes a SynthFashion dataset (DeepFashion-C and C2S roots in the real formats).
//
//   synthfashion --out DIR [--seed N] [--images N] [--size PX] [--c2s-items N] [--threads N]
//                [--out-json FILE] [--contact-sheet FILE.png]
//
// Prints a readable report (counts per split and category, landmark visibility, time taken) and
// ends with one machine-readable line, SUMMARY {...}; --out-json writes the same object to a
// file. --contact-sheet reads the written DeepFashion-C root back with the library's readers and
// draws its first 32 images with their boxes (green) and landmarks (red visible, yellow occluded,
// blue truncated) into one PNG, to look at.
#include <seam/data/deepfashion.hpp>
#include <seam/data/image.hpp>
#include <seam/data/synthfashion.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

using namespace seam::data;

[[noreturn]] void usage(const std::string& problem) {
    std::cerr << "synthfashion: " << problem << "\n"
              << "usage: synthfashion --out DIR [--seed N] [--images N] [--size PX] [--c2s-items N] [--threads N]\n"
              << "                    [--out-json FILE] [--contact-sheet FILE.png]\n";
    std::exit(2);
}

long long parse_number(const std::string& flag, const std::string& text, long long low, long long high) {
    char* end = nullptr;
    long long value = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || value < low || value > high)
        usage(flag + " expects an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "], got '" + text + "'");
    return value;
}

std::string summary_json(const SynthFashionOptions& options, const SynthFashionReport& r) {
    std::ostringstream out;
    auto triple = [&](const std::array<size_t, 3>& a) {
        std::ostringstream t;
        t << "[" << a[0] << ", " << a[1] << ", " << a[2] << "]";
        return t.str();
    };
    out << "{\"seed\": " << options.seed << ", \"size\": " << options.size << ", \"threads\": " << r.threads
        << ", \"c_images\": " << r.c_images << ", \"c_train_val_test\": " << triple(r.c_split_images)
        << ", \"c_landmarks_visible_occluded_truncated\": " << triple(r.c_visibility) << ", \"c2s_items\": " << r.c2s_items
        << ", \"c2s_images\": " << r.c2s_images << ", \"c2s_shop_images\": " << r.c2s_shop_images
        << ", \"c2s_consumer_images\": " << r.c2s_consumer_images << ", \"c2s_pairs\": " << r.c2s_pairs
        << ", \"c2s_items_train_val_test\": " << triple(r.c2s_split_items)
        << ", \"c2s_pairs_train_val_test\": " << triple(r.c2s_split_pairs) << ", \"jpeg_bytes\": " << r.jpeg_bytes
        << ", \"seconds\": " << r.seconds << "}";
    return out.str();
}

void put_pixel(Image& sheet, int x, int y, int r, int g, int b) {
    if (x < 0 || y < 0 || x >= sheet.width || y >= sheet.height) return;
    sheet.at(x, y, 0) = static_cast<uint8_t>(r);
    sheet.at(x, y, 1) = static_cast<uint8_t>(g);
    sheet.at(x, y, 2) = static_cast<uint8_t>(b);
}

/// The first `count` DeepFashion-C images as read back from disk, boxes and landmarks drawn.
void write_contact_sheet(const std::filesystem::path& c_root, const std::string& png, int size) {
    CategoryAttributeDataset data = load_category_attribute(c_root);
    const int count = static_cast<int>(std::min<size_t>(32, data.images.size()));
    const int columns = 8, cell = size + 4, rows = (count + columns - 1) / columns;
    Image sheet(columns * cell, std::max(1, rows) * cell, 3, 255);
    for (int i = 0; i < count; ++i) {
        const ImageRecord& record = data.images[static_cast<size_t>(i)];
        Image image = read_image((c_root / record.path).string());
        const int ox = (i % columns) * cell + 2, oy = (i / columns) * cell + 2;
        for (int y = 0; y < image.height; ++y)
            for (int x = 0; x < image.width; ++x)
                put_pixel(sheet, ox + x, oy + y, image.at(x, y, 0), image.at(x, y, 1), image.at(x, y, 2));
        const int x1 = static_cast<int>(record.box.x1), y1 = static_cast<int>(record.box.y1);
        const int x2 = static_cast<int>(record.box.x2) - 1, y2 = static_cast<int>(record.box.y2) - 1;
        for (int x = x1; x <= x2; ++x) {
            put_pixel(sheet, ox + x, oy + y1, 0, 220, 0);
            put_pixel(sheet, ox + x, oy + y2, 0, 220, 0);
        }
        for (int y = y1; y <= y2; ++y) {
            put_pixel(sheet, ox + x1, oy + y, 0, 220, 0);
            put_pixel(sheet, ox + x2, oy + y, 0, 220, 0);
        }
        for (const Landmark& p : record.landmarks) {
            if (!p.present) continue;
            const int r = p.visibility == kTruncated ? 0 : 255, g = p.visibility == kOccluded ? 230 : 0,
                      b = p.visibility == kTruncated ? 255 : 0;
            const int px = ox + static_cast<int>(p.x), py = oy + static_cast<int>(p.y);
            for (int d = -2; d <= 2; ++d) {
                put_pixel(sheet, px + d, py, r, g, b);
                put_pixel(sheet, px, py + d, r, g, b);
            }
        }
    }
    write_png(png, sheet);
}

}  // namespace

int main(int argc, char** argv) {
    SynthFashionOptions options;
    std::string out_dir, json_path, sheet_path;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::cout << "usage: synthfashion --out DIR [--seed N] [--images N] [--size PX] [--c2s-items N] [--threads N]\n"
                         "                    [--out-json FILE] [--contact-sheet FILE.png]\n";
            return 0;
        }
        if (i + 1 >= argc) usage(flag + " needs a value");
        const std::string value = argv[++i];
        if (flag == "--out") out_dir = value;
        else if (flag == "--seed") options.seed = static_cast<uint64_t>(parse_number(flag, value, 0, (1LL << 62)));
        else if (flag == "--images") options.images = static_cast<size_t>(parse_number(flag, value, 0, 10'000'000));
        else if (flag == "--size") options.size = static_cast<int>(parse_number(flag, value, 16, 1024));
        else if (flag == "--c2s-items") options.c2s_items = static_cast<size_t>(parse_number(flag, value, 0, 10'000'000));
        else if (flag == "--threads") options.threads = static_cast<int>(parse_number(flag, value, 0, 256));
        else if (flag == "--out-json") json_path = value;
        else if (flag == "--contact-sheet") sheet_path = value;
        else usage("unknown option " + flag);
    }
    if (out_dir.empty()) usage("--out DIR is required");

    try {
        std::cout << "SynthFashion: seed " << options.seed << ", " << options.images << " DeepFashion-C images and "
                  << options.c2s_items << " C2S items, long side " << options.size << " px, into " << out_dir << "\n";
        SynthFashionReport r = write_synthfashion(out_dir, options);

        const char* splits[] = {"train", "val", "test"};
        std::cout << "\nDeepFashion-C  (" << out_dir << "/category-attribute)\n";
        std::cout << "  images: " << r.c_images;
        for (int s = 0; s < 3; ++s) std::cout << (s ? ", " : "  (") << splits[s] << " " << r.c_split_images[static_cast<size_t>(s)];
        std::cout << ")\n  per category:\n";
        for (size_t c = 0; c < r.c_category_images.size(); ++c)
            if (r.c_category_images[c] > 0) {
                char line[96];
                std::snprintf(line, sizeof line, "    %2zu %-12s type %d  %6zu\n", c + 1, synth::kCategoryTable[c].name,
                              synth::kCategoryTable[c].type, r.c_category_images[c]);
                std::cout << line;
            }
        std::cout << "  labelled attribute positives (" << synth::kAttributeCount << " attributes):\n    ";
        for (size_t a = 0; a < r.c_attribute_positives.size(); ++a)
            std::cout << synth::kAttributeTable[a].name << " " << r.c_attribute_positives[a]
                      << (a + 1 == r.c_attribute_positives.size() ? "\n" : (a % 8 == 7 ? ",\n    " : ", "));
        std::cout << "  landmarks: " << r.c_visibility[0] << " visible, " << r.c_visibility[1] << " occluded, "
                  << r.c_visibility[2] << " truncated\n";
        std::cout << "\nDeepFashion-C2S  (" << out_dir << "/consumer-to-shop)\n";
        std::cout << "  items: " << r.c2s_items;
        for (int s = 0; s < 3; ++s) std::cout << (s ? ", " : "  (") << splits[s] << " " << r.c2s_split_items[static_cast<size_t>(s)];
        std::cout << ")\n  images: " << r.c2s_images << " (" << r.c2s_shop_images << " shop, " << r.c2s_consumer_images
                  << " consumer)\n  pairs: " << r.c2s_pairs;
        for (int s = 0; s < 3; ++s) std::cout << (s ? ", " : "  (") << splits[s] << " " << r.c2s_split_pairs[static_cast<size_t>(s)];
        std::cout << ")\n  landmarks: " << r.c2s_visibility[0] << " visible, " << r.c2s_visibility[1] << " occluded, "
                  << r.c2s_visibility[2] << " truncated\n";
        const double images = static_cast<double>(r.c_images + r.c2s_images);
        std::cout << "\n" << r.c_images + r.c2s_images << " JPEGs, " << r.jpeg_bytes / 1024 << " KiB, in " << r.seconds << " s on "
                  << r.threads << " threads (" << (r.seconds > 0 ? images / r.seconds : 0.0) << " images/s)\n";

        if (!sheet_path.empty()) {
            write_contact_sheet(std::filesystem::path(out_dir) / "category-attribute", sheet_path, options.size);
            std::cout << "contact sheet: " << sheet_path << "\n";
        }
        const std::string json = summary_json(options, r);
        if (!json_path.empty()) {
            std::ofstream file(json_path);
            file << json << "\n";
            if (!file) throw seam::Error("cannot write '" + json_path + "'");
        }
        std::cout << "SUMMARY " << json << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "synthfashion: error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
