// Tests of SynthFashion (seam/data/synthfashion.hpp, synthfashion_render.hpp): byte-for-byte
// determinism, a read-back through the library's DeepFashion readers with consistent counts and
// geometry, the real category/attribute names (checked against the genuine list files in
// ../shared when present), attributes that change pixels, and landmark positions and visibility.
#include <doctest/doctest.h>

#include <seam/data/deepfashion.hpp>
#include <seam/data/image.hpp>
#include <seam/data/loader.hpp>
#include <seam/data/synthfashion.hpp>
#include <seam/data/transforms.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace seam::data;
using namespace seam::data::synth;
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("seam_test_synthfashion_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

/// Relative path -> FNV-1a hash of the file's bytes, for every file under `root`.
std::map<std::string, uint64_t> hash_tree(const fs::path& root) {
    std::map<std::string, uint64_t> hashes;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file()) continue;
        uint64_t h = 1469598103934665603ull;
        for (uint8_t byte : read_file_bytes(entry.path().string())) h = (h ^ byte) * 1099511628211ull;
        hashes[fs::relative(entry.path(), root).generic_string()] = h;
    }
    return hashes;
}

SynthFashionOptions small_options(uint64_t seed, int threads) {
    SynthFashionOptions options;
    options.seed = seed;
    options.images = 40;
    options.c2s_items = 10;
    options.size = 48;
    options.threads = threads;
    return options;
}

/// A fixed, clean studio scene (no noise, frontal) for the pixel-level tests.
SceneSpec studio_scene(int size = 96) {
    SceneSpec scene;
    scene.width = scene.height = size;
    scene.fill = 0.7f;
    scene.arm_left = scene.arm_right = 0.3f;
    return scene;
}

/// The number of pixels of two same-sized images where some channel differs by more than `levels`.
int changed_pixels(const Image& a, const Image& b, int levels) {
    REQUIRE(a.width == b.width);
    REQUIRE(a.height == b.height);
    int count = 0;
    for (int y = 0; y < a.height; ++y)
        for (int x = 0; x < a.width; ++x) {
            bool changed = false;
            for (int c = 0; c < 3; ++c) changed = changed || std::abs(a.at(x, y, c) - b.at(x, y, c)) > levels;
            count += changed;
        }
    return count;
}

bool visible(const Landmark& p) { return p.present && p.visibility == kVisible; }

}  // namespace

TEST_CASE("synthfashion: the category and attribute tables use real names, indices and types") {
    // Independent structure: 50 rows typed 1 (rows 1-20), 2 (21-36), 3 (37-50); drawn categories of
    // all three types; attributes of all five types.
    REQUIRE(kCategoryTable.size() == 50);
    for (size_t i = 0; i < 50; ++i) CHECK(kCategoryTable[i].type == (i < 20 ? 1 : i < 36 ? 2 : 3));
    CHECK(std::string(kCategoryTable[17].name) == "Tee");     // label 18
    CHECK(std::string(kCategoryTable[40].name) == "Dress");   // label 41
    std::set<int> drawn_types;
    for (const auto& c : kDrawnCategories) drawn_types.insert(kCategoryTable[static_cast<size_t>(c.label - 1)].type);
    CHECK(drawn_types == std::set<int>{1, 2, 3});
    std::map<int, int> per_type;
    for (const auto& a : kAttributeTable) ++per_type[a.type];
    CHECK(per_type.size() == 5);
    for (const auto& [type, count] : per_type) CHECK(count >= 7);

    const fs::path anno = fs::path(SEAM_SHARED_DIR) / "fixtures/deepfashion-real/category-attribute/Anno";
    if (!fs::exists(anno / "list_category_cloth.txt")) {
        MESSAGE("skipped: no genuine DeepFashion lists under " << anno.string());
        return;
    }
    auto categories = read_list_category_cloth(anno / "list_category_cloth.txt");
    REQUIRE(categories.rows.size() == 50);
    for (size_t i = 0; i < 50; ++i) {
        CAPTURE(i);
        CHECK(categories.rows[i].name == kCategoryTable[i].name);
        CHECK(categories.rows[i].type == kCategoryTable[i].type);
    }
    auto attributes = read_list_attr_cloth(anno / "list_attr_cloth.txt");
    std::map<std::string, int> real_types;
    for (const auto& row : attributes.rows) real_types[row.name] = row.type;
    for (const auto& a : kAttributeTable) {
        CAPTURE(a.name);
        REQUIRE(real_types.count(a.name) == 1);
        CHECK(real_types[a.name] == a.type);
    }
}

TEST_CASE("synthfashion: the same seed gives the same bytes with 1 or 3 threads - another seed differs") {
    fs::path a = fresh_dir("a"), b = fresh_dir("b"), c = fresh_dir("c");
    SynthFashionReport ra = write_synthfashion(a, small_options(7, 1));
    SynthFashionReport rb = write_synthfashion(b, small_options(7, 3));
    write_synthfashion(c, small_options(8, 2));
    auto ha = hash_tree(a), hb = hash_tree(b), hc = hash_tree(c);
    CHECK(ha.size() >= 40 + 10 * 2 + 13);  // 40 C images, >= 2 images per C2S item, 13 list files
    CHECK(ha == hb);
    CHECK(ra.jpeg_bytes == rb.jpeg_bytes);
    CHECK(ha != hc);
    // Not just different names: the annotation files differ in content too.
    CHECK(ha.at("category-attribute/Anno/list_bbox.txt") != hc.at("category-attribute/Anno/list_bbox.txt"));
    for (const auto& dir : {a, b, c}) fs::remove_all(dir);
}

TEST_CASE("synthfashion: written files read back with the DeepFashion readers, counts and geometry agree") {
    fs::path dir = fresh_dir("readback");
    SynthFashionOptions options = small_options(3, 2);
    options.images = 60;
    options.c2s_items = 16;
    SynthFashionReport report = write_synthfashion(dir, options);

    // ---- DeepFashion-C
    CategoryAttributeDataset c = load_category_attribute(dir / "category-attribute");
    REQUIRE(c.images.size() == 60);
    CHECK(report.c_images == 60);
    CHECK(c.has_attribute_labels);
    CHECK(c.has_boxes);
    CHECK(c.has_landmarks);
    CHECK(c.category_names.size() == 50);
    CHECK(c.attribute_names.size() == static_cast<size_t>(kAttributeCount));
    std::array<size_t, 3> splits{};
    std::set<int> drawn;
    for (const auto& d : kDrawnCategories) drawn.insert(d.label - 1);
    int visible_points = 0;
    for (const ImageRecord& record : c.images) {
        CAPTURE(record.path);
        ++splits[static_cast<size_t>(record.split)];
        CHECK(drawn.count(record.category) == 1);
        CHECK(record.clothes_type == kCategoryTable[static_cast<size_t>(record.category)].type);
        for (int8_t label : record.attributes) CHECK((label == 1 || label == -1));
        Image image = read_image((dir / "category-attribute" / record.path).string());
        CHECK(image.height == 48);
        CHECK(image.width <= 48);
        CHECK(image.width >= 34);  // 72% of 48, rounded
        const Box& box = record.box;
        CHECK(box.x1 >= 0);
        CHECK(box.y1 >= 0);
        CHECK(box.x1 < box.x2);
        CHECK(box.y1 < box.y2);
        CHECK(box.x2 <= image.width);
        CHECK(box.y2 <= image.height);
        std::set<int> present;
        for (int k = 0; k < kLandmarkSlots; ++k) {
            const Landmark& p = record.landmarks[static_cast<size_t>(k)];
            if (!p.present) continue;
            present.insert(k);
            CHECK(p.x >= 0);  // written inside the image, even when truncated
            CHECK(p.y >= 0);
            CHECK(p.x <= image.width - 1);
            CHECK(p.y <= image.height - 1);
            if (p.visibility == kVisible) {  // visible landmarks lie in the box (half-open)
                ++visible_points;
                CHECK(p.x >= box.x1);
                CHECK(p.x < box.x2);
                CHECK(p.y >= box.y1);
                CHECK(p.y < box.y2);
            }
        }
        auto slots = landmark_slots(record.clothes_type);
        CHECK(present == std::set<int>(slots.begin(), slots.end()));
    }
    CHECK(splits == report.c_split_images);
    CHECK(visible_points > 200);

    // ---- DeepFashion-C2S
    ConsumerToShopDataset s = load_consumer_to_shop(dir / "consumer-to-shop");
    CHECK(s.items.size() == 16);
    CHECK(s.images.size() == report.c2s_images);
    CHECK(s.pairs.size() == report.c2s_pairs);
    CHECK(s.has_landmarks);
    CHECK(s.has_attributes);
    CHECK(s.attributes.size() == static_cast<size_t>(kAttributeCount));
    CHECK(s.attribute_types.size() == 5);
    std::vector<int> shops(s.items.size()), consumers(s.items.size());
    for (const ConsumerToShopImage& image : s.images) {
        CAPTURE(image.path);
        (image.source == Source::shop ? shops : consumers)[static_cast<size_t>(image.item)] += 1;
        if (image.source == Source::shop) CHECK(image.variation == 1);
        else CHECK((image.variation >= 2 && image.variation <= 5));
        for (const Landmark& p : image.landmarks)
            if (visible(p)) {
                CHECK(p.x >= image.box.x1);
                CHECK(p.x < image.box.x2);
                CHECK(p.y >= image.box.y1);
                CHECK(p.y < image.box.y2);
            }
    }
    for (size_t i = 0; i < s.items.size(); ++i) {
        CHECK(shops[i] >= 1);
        CHECK(shops[i] <= 2);
        CHECK(consumers[i] >= 1);
        CHECK(consumers[i] <= 3);
    }
    // Pairs: every consumer × shop image of an item, and one split per item.
    size_t expected_pairs = 0;
    for (size_t i = 0; i < s.items.size(); ++i) expected_pairs += static_cast<size_t>(shops[i] * consumers[i]);
    CHECK(s.pairs.size() == expected_pairs);
    std::map<int, Split> item_split;
    for (const auto& pair : s.pairs) {
        auto [it, inserted] = item_split.emplace(pair.item, pair.split);
        CHECK(it->second == pair.split);
    }
    fs::remove_all(dir);
}

TEST_CASE("synthfashion: each attribute's drawing decision changes the pixels") {
    seam::Generator rng(11);
    Item base = sample_item(18, rng);  // a Tee
    GarmentSpec plain = base.garment;
    plain.look.pattern = Pattern::none;
    plain.look.finish = Finish::cotton;
    plain.look.sequins = false;
    plain.look.base = Rgb{0.7f, 0.2f, 0.2f};
    plain.look.second = Rgb{0.95f, 0.95f, 0.9f};
    plain.sleeve = 0.3f;
    plain.strap = false;
    plain.fit = 1.0f;
    plain.top_hem = 0.8f;
    plain.neckline = Neckline::crew;
    plain.collar = plain.lapels = plain.hood = plain.open_front = false;
    plain.buttons = plain.zip = plain.belt = plain.drawstring = plain.cuffs = plain.sport_stripes = false;
    plain.pockets = PocketStyle::none;
    plain.print = Print::none;
    const SceneSpec scene = studio_scene();
    const RenderResult reference = render_scene(plain, scene);

    struct Change {
        const char* attribute;
        void (*apply)(GarmentSpec&);
    };
    const Change changes[] = {
        {"striped", [](GarmentSpec& g) { g.look.pattern = Pattern::striped; }},
        {"floral", [](GarmentSpec& g) { g.look.pattern = Pattern::floral; }},
        {"dotted", [](GarmentSpec& g) { g.look.pattern = Pattern::dotted; }},
        {"leopard", [](GarmentSpec& g) { g.look.pattern = Pattern::leopard; }},
        {"plaid", [](GarmentSpec& g) { g.look.pattern = Pattern::plaid; }},
        {"denim", [](GarmentSpec& g) { g.look.finish = Finish::denim; }},
        {"knit", [](GarmentSpec& g) { g.look.finish = Finish::knit; }},
        {"leather", [](GarmentSpec& g) { g.look.finish = Finish::leather; }},
        {"chiffon", [](GarmentSpec& g) { g.look.finish = Finish::chiffon; }},
        {"quilted", [](GarmentSpec& g) { g.look.finish = Finish::quilted; }},
        {"boxy", [](GarmentSpec& g) { g.fit = 1.3f; }},
        {"cropped", [](GarmentSpec& g) { g.top_hem = 0.45f; }},
        {"sleeveless", [](GarmentSpec& g) { g.sleeve = 0.0f; }},
        {"long-sleeve", [](GarmentSpec& g) { g.sleeve = 0.95f; }},
        {"v-neck", [](GarmentSpec& g) { g.neckline = Neckline::v_neck; }},
        {"collar", [](GarmentSpec& g) { g.collar = true; }},
        {"button", [](GarmentSpec& g) { g.buttons = true; }},
        {"zip", [](GarmentSpec& g) { g.zip = true; }},
        {"pocket", [](GarmentSpec& g) { g.pockets = PocketStyle::chest; }},
        {"hooded", [](GarmentSpec& g) { g.hood = true; }},
        {"belted", [](GarmentSpec& g) { g.belt = true; }},
        {"drawstring", [](GarmentSpec& g) { g.drawstring = true; }},
        {"logo", [](GarmentSpec& g) { g.print = Print::logo; }},
        {"star", [](GarmentSpec& g) { g.print = Print::star; }},
        {"party", [](GarmentSpec& g) { g.look.sequins = true; }},
        {"sporty", [](GarmentSpec& g) { g.sport_stripes = true; }},
    };
    for (const Change& change : changes) {
        const std::string attribute = change.attribute;
        CAPTURE(attribute);
        GarmentSpec changed = plain;
        change.apply(changed);
        RenderResult r = render_scene(changed, scene);
        if (r.image.pixels == reference.image.pixels) FAIL("no pixel changed");
        // Visible, not a stray pixel: at least 10 pixels change by more than 24 grey levels.
        CHECK(changed_pixels(r.image, reference.image, 24) >= 10);
    }

    // Lengths: a maxi skirt reaches lower than a mini skirt (its box is taller at equal framing scale).
    seam::Generator rng2(5);
    GarmentSpec skirt = sample_item(33, rng2).garment;
    skirt.lower_hem = 1.0f;
    SceneSpec fixed = studio_scene();
    fixed.fill = 0.3f;
    RenderResult mini_skirt = render_scene(skirt, fixed);
    skirt.lower_hem = 1.65f;
    fixed.fill = 0.3f * (1.65f - 0.52f) / (1.0f - 0.52f);  // same pixels per garment unit
    RenderResult maxi_skirt = render_scene(skirt, fixed);
    CHECK(maxi_skirt.box.y2 - maxi_skirt.box.y1 > 1.8f * (mini_skirt.box.y2 - mini_skirt.box.y1));
}

TEST_CASE("synthfashion: landmarks sit at the garment parts with the dataset's visibility codes") {
    seam::Generator rng(21);
    GarmentSpec tee = sample_item(18, rng).garment;
    tee.sleeve = 0.3f;
    SceneSpec scene = studio_scene();
    RenderResult r = render_scene(tee, scene);
    const Landmarks& p = r.landmarks;
    for (int k : {0, 1, 2, 3, 6, 7}) {
        CAPTURE(k);
        CHECK(p[static_cast<size_t>(k)].present);
        CHECK(p[static_cast<size_t>(k)].visibility == kVisible);
    }
    CHECK_FALSE(p[4].present);
    CHECK_FALSE(p[5].present);
    // Left is the image left (as in DeepFashion's rows); collars above the sleeves above the hem.
    CHECK(p[0].x < p[1].x);
    CHECK(p[2].x < p[3].x);
    CHECK(p[6].x < p[7].x);
    CHECK(p[2].x < p[0].x);  // short sleeves stick out beyond the collar
    CHECK(p[0].y < p[2].y);
    CHECK(p[2].y < p[6].y);
    // Mirror symmetry of a frontal view about the image centre (within rounding).
    CHECK(std::fabs((p[0].x + p[1].x) / 2 - (p[6].x + p[7].x) / 2) <= 1.0f);

    // Zoomed in and pushed down: the hem leaves the frame and is truncated (2), clamped inside.
    SceneSpec zoomed = scene;
    zoomed.fill = 1.5f;
    zoomed.offset_y = 0.35f;
    RenderResult z = render_scene(tee, zoomed);
    CHECK(z.landmarks[6].visibility == kTruncated);
    CHECK(z.landmarks[7].visibility == kTruncated);
    CHECK(z.landmarks[6].y == static_cast<float>(zoomed.height - 1));
    CHECK(z.landmarks[0].visibility == kVisible);

    // A bag held over the first present slot (the left collar) occludes it (1), not the others.
    SceneSpec bag = scene;
    bag.occluder = OccluderKind::bag;
    bag.occluder_at = 0.0f;
    RenderResult o = render_scene(tee, bag);
    CHECK(o.landmarks[0].visibility == kOccluded);
    CHECK(o.landmarks[7].visibility == kVisible);
    CHECK(o.image.pixels != r.image.pixels);

    // Lower-body items: waistline and hem slots; an untucked top hides the waistline (1).
    seam::Generator rng3(4);
    GarmentSpec jeans = sample_item(26, rng3).garment;
    jeans.belt = jeans.drawstring = jeans.buttons = false;
    SceneSpec untucked = scene;
    untucked.untucked = true;
    RenderResult tucked_in = render_scene(jeans, scene), over = render_scene(jeans, untucked);
    CHECK(tucked_in.landmarks[4].visibility == kVisible);
    CHECK(tucked_in.landmarks[5].visibility == kVisible);
    CHECK(over.landmarks[4].visibility == kOccluded);
    CHECK(over.landmarks[5].visibility == kOccluded);
    CHECK(over.landmarks[6].visibility == kVisible);
    CHECK_FALSE(over.landmarks[0].present);

    // Full-body: all eight slots, waistline between sleeves and hem.
    seam::Generator rng4(9);
    GarmentSpec dress = sample_item(41, rng4).garment;
    RenderResult d = render_scene(dress, scene);
    for (const Landmark& point : d.landmarks) CHECK(point.present);
    CHECK(d.landmarks[4].y < d.landmarks[6].y);
    CHECK(d.landmarks[0].y < d.landmarks[4].y);
}

TEST_CASE("synthfashion + loader: a decode-crop-flip-normalise pipeline is reproducible across worker counts") {
    fs::path dir = fresh_dir("pipeline");
    SynthFashionOptions options = small_options(5, 2);
    options.images = 24;
    options.c2s_items = 0;
    write_synthfashion(dir, options);
    const fs::path root = dir / "category-attribute";
    const CategoryAttributeDataset data = load_category_attribute(root);

    // One training sample: the image cropped to its box (10 px margin), resized to 32×32, flipped
    // at random, normalised to CHW floats; plus its category and the left-collar x.
    struct Sample {
        std::vector<float> pixels;
        int category;
        float left_collar_x;
    };
    struct Batch {
        std::vector<float> pixels;  // N × 3 × 32 × 32
        std::vector<int> categories;
        std::vector<float> left_collar_x;
        bool operator==(const Batch&) const = default;
    };
    auto load = [&](size_t index, seam::Generator& rng) {
        const ImageRecord& record = data.images[index];
        LabeledImage input{read_image((root / record.path).string()), record.landmarks};
        LabeledImage out = random_hflip(crop_and_resize(input, record.box, 10, 32, 32), rng);
        return Sample{normalize_to_chw(out.image), record.category, out.landmarks[0].x};
    };
    auto collate = [](std::vector<Sample>&& samples) {
        Batch batch;
        for (Sample& s : samples) {
            batch.pixels.insert(batch.pixels.end(), s.pixels.begin(), s.pixels.end());
            batch.categories.push_back(s.category);
            batch.left_collar_x.push_back(s.left_collar_x);
        }
        return batch;
    };
    auto epoch = [&](int workers) {
        LoaderOptions loader_options;
        loader_options.batch_size = 5;
        loader_options.seed = 99;
        loader_options.workers = workers;
        DataLoader loader(data.images.size(), load, collate, loader_options);
        std::vector<Batch> batches;
        loader.start_epoch(2);
        while (auto batch = loader.next()) batches.push_back(std::move(*batch));
        return batches;
    };
    std::vector<Batch> one = epoch(1), three = epoch(3);
    REQUIRE(one.size() == 5);  // 24 samples in batches of 5
    CHECK(one[0].pixels.size() == 5u * 3u * 32u * 32u);
    CHECK(one.back().categories.size() == 4);
    CHECK(one == three);
    fs::remove_all(dir);
}

TEST_CASE("synthfashion: options out of range are errors") {
    fs::path dir = fresh_dir("bad");
    SynthFashionOptions options = small_options(1, 1);
    options.size = 8;
    CHECK_THROWS_AS(write_synthfashion(dir, options), seam::Error);
    options.size = 48;
    options.label_noise = 1.5f;
    CHECK_THROWS_AS(write_synthfashion(dir, options), seam::Error);
    seam::Generator rng(1);
    CHECK_THROWS_AS(sample_item(51, rng), seam::Error);
    fs::remove_all(dir);
}
