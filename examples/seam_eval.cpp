// seam-eval — score predictions from any framework on DeepFashion with the papers' protocols.
//
// It reads the predictions from CSV files and the ground truth from a DeepFashion benchmark folder (or a
// SynthFashion folder written in the same format), computes the metrics of seam/eval/metrics.hpp, prints a
// readable report with Table 2 or Table 3 (the measured row beside the papers' rows, the protocol under it), and
// ends with ONE machine-readable line "SUMMARY {json}". --out FILE.json writes the full result as JSON.
// The usage text below is the reference for the CSV formats.
#include <seam/data/deepfashion.hpp>
#include <seam/eval/csv.hpp>
#include <seam/eval/metrics.hpp>
#include <seam/eval/paper_rows.hpp>
#include <seam/eval/tables.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

namespace data = seam::data;
namespace eval = seam::eval;

const char* const usage_text = R"(seam-eval: score DeepFashion predictions with the papers' protocols.

usage:
  seam-eval category-attribute --root DIR --pred FILE.csv [--split test|val|train]
            [--attr-ranking within-type|global] [--average micro|per-image] [--all global|mean-of-types]
            [--model NAME] [--dataset NAME] [--out FILE.json] [--no-reported]
  seam-eval consumer-to-shop --root DIR --query-emb FILE.csv --gallery-emb FILE.csv
            [--gallery test|val+test] [--metric cosine|l2]
            [--model NAME] [--dataset NAME] [--out FILE.json] [--no-reported]
  seam-eval --help

category-attribute: DIR is the Category and Attribute Prediction benchmark (Anno/, Eval/). FILE.csv has
  the header   image_name,category_1,...,category_C,attribute_1,...,attribute_A
  where category_j is the score of row j of Anno/list_category_cloth.txt (category_label j; C = 50 on
  DeepFashion) and attribute_j the score of row j of Anno/list_attr_cloth.txt (A = 1000). The attribute
  columns may be left out entirely to score categories only. Then one row per image of the split:
  image_name exactly as in Anno/list_category_img.txt (img/.../img_00000001.jpg), then the scores (logits
  or probabilities: only their order within a row matters). Rows may come in any order; rows of images
  of other splits are ignored; an unknown image, a repeated image or a missing image is an error.
  Defaults: --split test --attr-ranking within-type --average micro --all global.

consumer-to-shop: DIR is the Consumer-to-shop Clothes Retrieval benchmark. Queries are the consumer images
  of the test pairs, the gallery the shop images of the test pairs (or val+test pairs), each image once.
  Both FILE.csv have the header   image_name,emb_1,...,emb_D
  and one row per image (image_name as in Anno/list_bbox_consumer2shop.txt): every query image must be in
  --query-emb and every gallery image in --gallery-emb; one file holding both may be given twice.
  Defaults: --gallery test --metric cosine. Reported: top-k hit rate at k = 1, 5, 10, 20, 30, 40, 50.

The report ends with a line "SUMMARY {json}" (numbers in percent); --out writes the full result as JSON.
)";

// A usage mistake (as opposed to bad data): print the usage and exit with 2.
struct UsageError {
    std::string message;
};

struct Arguments {
    std::string command;
    std::map<std::string, std::string> values;
    std::set<std::string> flags;

    std::string get(const std::string& name, const std::string& fallback = "") const {
        const auto it = values.find(name);
        return it == values.end() ? fallback : it->second;
    }
    std::string required(const std::string& name) const {
        const auto it = values.find(name);
        if (it == values.end()) throw UsageError{command + " needs --" + name};
        return it->second;
    }
    // The value of --name, which must be one of `choices`.
    std::string choice(const std::string& name, std::initializer_list<const char*> choices) const {
        const std::string value = get(name, *choices.begin());
        for (const char* c : choices)
            if (value == c) return value;
        std::string list;
        for (const char* c : choices) list += std::string(list.empty() ? "" : ", ") + c;
        throw UsageError{"--" + name + " must be one of " + list + ", got '" + value + "'"};
    }
};

Arguments parse_arguments(int argc, char** argv) {
    Arguments args;
    if (argc < 2) throw UsageError{"no command given"};
    args.command = argv[1];
    if (args.command == "--help" || args.command == "-h") return args;
    std::set<std::string> options, flags{"no-reported"};
    if (args.command == "category-attribute")
        options = {"root", "pred", "split", "attr-ranking", "average", "all", "model", "dataset", "out"};
    else if (args.command == "consumer-to-shop")
        options = {"root", "query-emb", "gallery-emb", "gallery", "metric", "model", "dataset", "out"};
    else
        throw UsageError{"unknown command '" + args.command + "'"};
    for (int i = 2; i < argc; ++i) {
        std::string word = argv[i];
        if (word == "--help" || word == "-h") {
            args.command = "--help";
            return args;
        }
        if (!word.starts_with("--")) throw UsageError{"unexpected argument '" + word + "'"};
        word.erase(0, 2);
        std::string value;
        bool has_value = false;
        if (const auto eq = word.find('='); eq != std::string::npos) {
            value = word.substr(eq + 1);
            word.erase(eq);
            has_value = true;
        }
        if (flags.contains(word)) {
            if (has_value) throw UsageError{"--" + word + " takes no value"};
            args.flags.insert(word);
            continue;
        }
        if (!options.contains(word)) throw UsageError{"unknown option --" + word + " for " + args.command};
        if (!has_value) {
            if (i + 1 >= argc) throw UsageError{"--" + word + " needs a value"};
            value = argv[++i];
        }
        if (args.values.contains(word)) throw UsageError{"--" + word + " is given twice"};
        args.values[word] = value;
    }
    return args;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string percent(const std::optional<double>& fraction) {
    if (!fraction) return "–";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f", 100.0 * *fraction);
    return buffer;
}

std::optional<double> as_percent(const std::optional<double>& fraction) {
    if (!fraction) return std::nullopt;
    return 100.0 * *fraction;
}

// A summary as JSON: keys in insertion order, values already formatted as JSON.
struct JsonObject {
    std::vector<std::pair<std::string, std::string>> entries;
    void add(const std::string& key, const std::string& json_value) { entries.emplace_back(key, json_value); }
    void add_number(const std::string& key, std::optional<double> v) { add(key, eval::json::number(v)); }
    void add_string(const std::string& key, std::string_view v) { add(key, eval::json::quote(v)); }
    std::string str() const {
        std::string out = "{";
        for (std::size_t i = 0; i < entries.size(); ++i)
            out += (i ? ", " : "") + eval::json::quote(entries[i].first) + ": " + entries[i].second;
        return out + "}";
    }
};

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    SEAM_CHECK(out.is_open(), path, ": cannot open the file for writing");
    out << text;
    out.close();
    SEAM_CHECK(out.good(), path, ": write failed");
}

// The label a measured row carries when --dataset is not given: the root folder's name and the split.
std::string default_dataset_name(const std::string& root, const std::string& split) {
    std::filesystem::path p(root);
    std::string name = p.filename().string();
    if (name.empty()) name = p.parent_path().filename().string();
    return (name.empty() ? root : name) + " (" + split + ")";
}

// ------------------------------------------------------------------------------------------------
// category-attribute

int run_category_attribute(const Arguments& args) {
    const std::string root = args.required("root"), pred_path = args.required("pred");
    const std::string split_text = args.choice("split", {"test", "val", "train"});
    eval::AttributeRecallProtocol protocol;
    protocol.ranking = args.choice("attr-ranking", {"within-type", "global"}) == "global"
                           ? eval::AttributeRanking::global
                           : eval::AttributeRanking::within_type;
    protocol.average = args.choice("average", {"micro", "per-image"}) == "per-image" ? eval::RecallAverage::per_image
                                                                                    : eval::RecallAverage::micro;
    protocol.all = args.choice("all", {"global", "mean-of-types"}) == "mean-of-types" ? eval::AllColumn::mean_of_types
                                                                                     : eval::AllColumn::global_topk;
    data::Split split = data::Split::test;
    data::parse_split_name(split_text, split);
    const auto start = std::chrono::steady_clock::now();

    // The header decides whether the attribute labels (the ~900 MB list_attr_img.txt) must be read.
    bool has_attribute_columns = false;
    {
        eval::CsvReader header_reader(pred_path);
        std::vector<std::string> header;
        if (!header_reader.next(header)) seam::fail(pred_path, ": the file is empty (expected a header line)");
        for (const auto& name : header)
            if (name.starts_with("attribute_")) has_attribute_columns = true;
    }
    data::LoadOptions load;
    load.boxes = data::Need::skip;
    load.landmarks = data::Need::skip;
    load.attribute_labels = has_attribute_columns ? data::Need::required : data::Need::skip;
    const data::CategoryAttributeDataset dataset = data::load_category_attribute(root, load);
    const std::size_t n_categories = dataset.category_names.size(), n_attributes = dataset.attribute_names.size();

    std::unordered_map<std::string_view, std::size_t> index_of_image;
    for (std::size_t i = 0; i < dataset.images.size(); ++i) index_of_image.emplace(dataset.images[i].path, i);
    std::size_t other_split_rows = 0;
    eval::CsvReader reader(pred_path);
    const eval::ScoreCsv csv = eval::read_score_csv(reader, [&](std::string_view name) {
        const auto it = index_of_image.find(name);
        if (it == index_of_image.end())
            reader.fail("image '", name, "' is not in ", root, "/", data::category_attribute_files::category_img);
        if (dataset.images[it->second].split != split) {
            ++other_split_rows;
            return false;
        }
        return true;
    });
    std::vector<std::string> expected;
    for (std::size_t c = 1; c <= n_categories; ++c) expected.push_back("category_" + std::to_string(c));
    if (has_attribute_columns)
        for (std::size_t a = 1; a <= n_attributes; ++a) expected.push_back("attribute_" + std::to_string(a));
    eval::expect_columns(csv, expected);

    const std::vector<std::size_t> split_images = dataset.indices(split);
    SEAM_CHECK(!split_images.empty(), root, ": the ", split_text, " split has no images");
    std::size_t missing = 0;
    std::string first_missing;
    for (std::size_t i : split_images)
        if (!csv.row_of_image.contains(dataset.images[i].path) && missing++ == 0) first_missing = dataset.images[i].path;
    SEAM_CHECK(missing == 0, pred_path, ": no row for ", missing, " of the ", split_images.size(), " ", split_text,
               " images, e.g. '", first_missing, "'");

    // Split the rows into the category and attribute score matrices, with the ground truth in the same order.
    const std::size_t n = csv.image_names.size(), width = csv.columns.size();
    std::vector<float> category_scores(n * n_categories), attribute_scores;
    std::vector<int> category_labels(n);
    std::vector<std::int8_t> attribute_labels;
    if (has_attribute_columns) {
        attribute_scores.resize(n * n_attributes);
        attribute_labels.resize(n * n_attributes);
    }
    for (std::size_t r = 0; r < n; ++r) {
        const data::ImageRecord& image = dataset.images[index_of_image.at(csv.image_names[r])];
        const float* row = csv.values.data() + r * width;
        std::copy(row, row + n_categories, category_scores.begin() + static_cast<std::ptrdiff_t>(r * n_categories));
        category_labels[r] = image.category;
        if (has_attribute_columns) {
            std::copy(row + n_categories, row + width,
                      attribute_scores.begin() + static_cast<std::ptrdiff_t>(r * n_attributes));
            std::copy(image.attributes.begin(), image.attributes.end(),
                      attribute_labels.begin() + static_cast<std::ptrdiff_t>(r * n_attributes));
        }
    }
    const double load_seconds = seconds_since(start);

    const auto scoring_start = std::chrono::steady_clock::now();
    const std::vector<std::size_t> category_ks{1, 3, 5}, attribute_ks{3, 5};
    const eval::MatrixView category_view(category_scores, n, n_categories);
    const auto accuracy = eval::category_topk_accuracy(category_view, category_labels, category_ks);
    const auto per_class = eval::category_mean_per_class_topk_recall(category_view, category_labels, category_ks);
    eval::AttributeRecall attributes;
    std::vector<std::optional<double>> mmfashion_attributes(attribute_ks.size());
    if (has_attribute_columns) {
        const eval::MatrixView attribute_view(attribute_scores, n, n_attributes);
        attributes = eval::attribute_topk_recall(attribute_view, attribute_labels, dataset.attribute_types,
                                                 attribute_ks, protocol);
        mmfashion_attributes = eval::mmfashion_attribute_topk_recall(attribute_view, attribute_labels, attribute_ks);
    } else {
        attributes.ks = attribute_ks;
        for (auto& column : attributes.type_recall) column.assign(attribute_ks.size(), std::nullopt);
        attributes.all_recall.assign(attribute_ks.size(), std::nullopt);
        attributes.protocol = protocol;
    }
    const double scoring_seconds = seconds_since(scoring_start);

    // Report.
    const std::string model = args.get("model", "predictions");
    const std::string dataset_name = args.get("dataset", default_dataset_name(root, split_text));
    std::cout << "seam-eval category-attribute\n"
              << "  root:        " << root << "\n"
              << "  predictions: " << pred_path << " (" << n << " rows scored, " << other_split_rows
              << " rows of other splits ignored)\n"
              << "  split:       " << split_text << ": " << n << " images, " << n_categories << " categories, "
              << (has_attribute_columns ? std::to_string(n_attributes) + " attributes"
                                        : std::string("attributes not scored (no attribute columns)"))
              << "\n  time:        " << load_seconds << " s reading, " << scoring_seconds << " s scoring\n\n";
    std::cout << "Category top-1 / top-3 / top-5 accuracy (%): " << percent(accuracy[0]) << " / "
              << percent(accuracy[1]) << " / " << percent(accuracy[2]) << "\n";
    if (has_attribute_columns) {
        std::cout << "Attribute top-3 / top-5 recall (%), with the evidence behind each column:\n";
        for (std::size_t t = 0; t < eval::attribute_type_count; ++t)
            std::cout << "  " << eval::attribute_type_names[t] << ": " << percent(attributes.type_recall[t][0])
                      << " / " << percent(attributes.type_recall[t][1]) << "  (" << attributes.type_attribute_count[t]
                      << " attributes, " << attributes.type_positives[t] << " positives in "
                      << attributes.type_images_with_positives[t] << " images)\n";
        std::cout << "  All: " << percent(attributes.all_recall[0]) << " / " << percent(attributes.all_recall[1])
                  << "  (" << attributes.all_positives << " positives in " << attributes.images_with_positives
                  << " of " << attributes.images << " images)\n";
    }
    std::cout << "\n";

    auto row = eval::measured_row(model, dataset_name, "seam-eval", category_ks, accuracy, attributes);
    std::vector<std::string> protocol_lines{eval::describe_category_protocol()};
    if (has_attribute_columns) protocol_lines.push_back(eval::describe(protocol));
    protocol_lines.push_back("Measured row: the " + split_text + " split of " + root + ", " + std::to_string(n) +
                             " images; predictions from " + pred_path + ".");
    const auto table =
        eval::make_table_2({row}, std::move(protocol_lines), !args.flags.contains("no-reported"));
    std::cout << eval::to_markdown(table) << "\n";
    std::cout << "For comparison only, mmfashion's definitions (NOT the papers' metrics): category mean per-class "
                 "top-3 / top-5 recall "
              << percent(per_class[1]) << " / " << percent(per_class[2]);
    if (has_attribute_columns)
        std::cout << "; attribute mean of the best 50 per-attribute top-3 / top-5 recalls "
                  << percent(mmfashion_attributes[0]) << " / " << percent(mmfashion_attributes[1]);
    std::cout << ".\n\n";

    JsonObject summary;
    summary.add_string("command", "category-attribute");
    summary.add_string("split", split_text);
    summary.add("images", std::to_string(n));
    summary.add_number("category_top1", as_percent(accuracy[0]));
    summary.add_number("category_top3", as_percent(accuracy[1]));
    summary.add_number("category_top5", as_percent(accuracy[2]));
    static constexpr const char* keys[] = {"texture", "fabric", "shape", "part", "style"};
    for (std::size_t t = 0; t < eval::attribute_type_count; ++t) {
        summary.add_number(std::string(keys[t]) + "_top3", as_percent(attributes.type_recall[t][0]));
        summary.add_number(std::string(keys[t]) + "_top5", as_percent(attributes.type_recall[t][1]));
    }
    summary.add_number("all_top3", as_percent(attributes.all_recall[0]));
    summary.add_number("all_top5", as_percent(attributes.all_recall[1]));

    if (args.values.contains("out")) {
        JsonObject full;
        full.add_string("command", "category-attribute");
        full.add_string("root", root);
        full.add_string("predictions", pred_path);
        full.add("summary", summary.str());
        JsonObject mmfashion;
        mmfashion.add_number("category_mean_per_class_top3", as_percent(per_class[1]));
        mmfashion.add_number("category_mean_per_class_top5", as_percent(per_class[2]));
        mmfashion.add_number("attribute_best50_top3", as_percent(mmfashion_attributes[0]));
        mmfashion.add_number("attribute_best50_top5", as_percent(mmfashion_attributes[1]));
        full.add("mmfashion_definitions_not_paper_metrics", mmfashion.str());
        full.add("table", eval::to_json(table));
        write_file(args.get("out"), full.str() + "\n");
        std::cout << "wrote " << args.get("out") << "\n";
    }
    std::cout << "SUMMARY " << summary.str() << std::endl;
    return 0;
}

// ------------------------------------------------------------------------------------------------
// consumer-to-shop

// Reads one embedding file and returns the rows of `wanted` (dataset image indices) in that order.
std::vector<float> read_embeddings(const std::string& path, const std::string& role, const std::string& root,
                                   const data::ConsumerToShopDataset& dataset,
                                   const std::unordered_map<std::string_view, std::size_t>& index_of_image,
                                   const std::vector<int>& wanted, std::size_t& dimension, std::size_t& ignored_rows) {
    std::vector<char> is_wanted(dataset.images.size(), 0);
    for (int i : wanted) is_wanted[static_cast<std::size_t>(i)] = 1;
    ignored_rows = 0;
    eval::CsvReader reader(path);
    const eval::ScoreCsv csv = eval::read_score_csv(reader, [&](std::string_view name) {
        const auto it = index_of_image.find(name);
        if (it == index_of_image.end())
            reader.fail("image '", name, "' is not in ", root, "/", data::consumer_to_shop_files::bbox);
        if (!is_wanted[it->second]) {
            ++ignored_rows;
            return false;
        }
        return true;
    });
    SEAM_CHECK(!csv.columns.empty(), path, ":1: the header has no embedding column (expected image_name,emb_1,...)");
    std::vector<std::string> expected;
    for (std::size_t d = 1; d <= csv.columns.size(); ++d) expected.push_back("emb_" + std::to_string(d));
    eval::expect_columns(csv, expected);
    dimension = csv.columns.size();

    std::vector<float> rows(wanted.size() * dimension);
    std::size_t missing = 0;
    std::string first_missing;
    for (std::size_t w = 0; w < wanted.size(); ++w) {
        const std::string& name = dataset.images[static_cast<std::size_t>(wanted[w])].path;
        const auto it = csv.row_of_image.find(name);
        if (it == csv.row_of_image.end()) {
            if (missing++ == 0) first_missing = name;
            continue;
        }
        std::copy_n(csv.values.begin() + static_cast<std::ptrdiff_t>(it->second * dimension), dimension,
                    rows.begin() + static_cast<std::ptrdiff_t>(w * dimension));
    }
    SEAM_CHECK(missing == 0, path, ": no row for ", missing, " of the ", wanted.size(), " ", role, " images, e.g. '",
               first_missing, "'");
    return rows;
}

int run_consumer_to_shop(const Arguments& args) {
    const std::string root = args.required("root"), query_path = args.required("query-emb"),
                      gallery_path = args.required("gallery-emb");
    const std::string gallery_text = args.choice("gallery", {"test", "val+test"});
    const std::string metric_text = args.choice("metric", {"cosine", "l2"});
    const auto start = std::chrono::steady_clock::now();

    data::LoadOptions load;
    load.attribute_labels = data::Need::skip;
    load.landmarks = data::Need::skip;
    const data::ConsumerToShopDataset dataset = data::load_consumer_to_shop(root, load);
    const data::RetrievalProtocol c2s = data::make_c2s_protocol(
        dataset, gallery_text == "test" ? data::GallerySplits::test : data::GallerySplits::val_and_test);
    SEAM_CHECK(!c2s.queries.empty(), root, ": the test split has no consumer-to-shop pairs");

    std::unordered_map<std::string_view, std::size_t> index_of_image;
    for (std::size_t i = 0; i < dataset.images.size(); ++i) index_of_image.emplace(dataset.images[i].path, i);
    std::size_t query_dim = 0, gallery_dim = 0, query_ignored = 0, gallery_ignored = 0;
    const auto queries = read_embeddings(query_path, "query", root, dataset, index_of_image, c2s.queries, query_dim,
                                         query_ignored);
    const auto gallery = read_embeddings(gallery_path, "gallery", root, dataset, index_of_image, c2s.gallery,
                                         gallery_dim, gallery_ignored);
    SEAM_CHECK(query_dim == gallery_dim, query_path, " has ", query_dim, "-dimensional embeddings but ", gallery_path,
               " has ", gallery_dim, "-dimensional ones");
    std::vector<std::vector<std::size_t>> relevant(c2s.relevant.size());
    for (std::size_t q = 0; q < relevant.size(); ++q)
        for (int g : c2s.relevant[q]) relevant[q].push_back(static_cast<std::size_t>(g));
    const double load_seconds = seconds_since(start);

    const auto scoring_start = std::chrono::steady_clock::now();
    eval::RetrievalOptions options;
    options.distance = metric_text == "l2" ? eval::Distance::l2 : eval::Distance::cosine;
    const std::vector<std::size_t> ks{1, 5, 10, 20, 30, 40, 50};
    const auto result = eval::retrieval_hit_rate(eval::MatrixView(queries, c2s.queries.size(), query_dim),
                                                 eval::MatrixView(gallery, c2s.gallery.size(), gallery_dim), relevant,
                                                 ks, options);
    const double scoring_seconds = seconds_since(scoring_start);

    const std::string model = args.get("model", "predictions");
    const std::string dataset_name = args.get("dataset", default_dataset_name(root, "test"));
    const std::string gallery_words = gallery_text == "test" ? "test" : "val and test";
    std::cout << "seam-eval consumer-to-shop\n"
              << "  root:     " << root << "\n"
              << "  queries:  " << c2s.queries.size() << " consumer images of the test pairs, each once ("
              << query_path << ", " << query_ignored << " other rows ignored)\n"
              << "  gallery:  " << c2s.gallery.size() << " shop images of the " << gallery_words
              << " pairs, each once (" << gallery_path << ", " << gallery_ignored << " other rows ignored)\n"
              << "  embedding: " << query_dim << " dimensions, " << metric_text << "\n"
              << "  queries without a matching gallery image: " << result.queries_without_relevant << "\n"
              << "  time:     " << load_seconds << " s reading, " << scoring_seconds << " s scoring\n\n";
    std::cout << "Top-k hit rate (%):";
    for (std::size_t j = 0; j < ks.size(); ++j) std::cout << "  k=" << ks[j] << " " << percent(result.hit_rate[j]);
    std::cout << "\n\n";

    auto row = eval::measured_row(model, dataset_name, "seam-eval", result);
    std::vector<std::string> protocol_lines{
        eval::describe_retrieval_protocol(options.distance),
        "Measured row: queries = the " + std::to_string(c2s.queries.size()) +
            " consumer images of the test pairs of " + root + ", gallery = the " + std::to_string(c2s.gallery.size()) +
            " shop images of the " + gallery_words + " pairs, each image once."};
    const auto table = eval::make_table_3({row}, std::move(protocol_lines), !args.flags.contains("no-reported"));
    std::cout << eval::to_markdown(table) << "\n";

    JsonObject summary;
    summary.add_string("command", "consumer-to-shop");
    summary.add_string("gallery", gallery_text);
    summary.add_string("metric", metric_text);
    summary.add("queries", std::to_string(c2s.queries.size()));
    summary.add("gallery_size", std::to_string(c2s.gallery.size()));
    for (std::size_t j = 0; j < ks.size(); ++j)
        summary.add_number("top" + std::to_string(ks[j]), 100.0 * result.hit_rate[j]);
    if (args.values.contains("out")) {
        JsonObject full;
        full.add_string("command", "consumer-to-shop");
        full.add_string("root", root);
        full.add_string("query_embeddings", query_path);
        full.add_string("gallery_embeddings", gallery_path);
        full.add("queries_without_relevant", std::to_string(result.queries_without_relevant));
        full.add("summary", summary.str());
        full.add("table", eval::to_json(table));
        write_file(args.get("out"), full.str() + "\n");
        std::cout << "wrote " << args.get("out") << "\n";
    }
    std::cout << "SUMMARY " << summary.str() << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Arguments args = parse_arguments(argc, argv);
        if (args.command == "--help" || args.command == "-h") {
            std::cout << usage_text;
            return 0;
        }
        if (args.command == "category-attribute") return run_category_attribute(args);
        return run_consumer_to_shop(args);
    } catch (const UsageError& e) {
        std::cerr << "seam-eval: " << e.message << "\n\n" << usage_text;
        return 2;
    } catch (const seam::Error& e) {
        std::cerr << "seam-eval: error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "seam-eval: error: " << e.what() << "\n";
        return 1;
    }
}
