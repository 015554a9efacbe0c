// synthfashion_baselines — is SynthFashion learnable, and is it not trivial? Two baselines on DeepFashion-C.
//
//   synthfashion_baselines [--data DIR] [--size PX] [--margin PX] [--epochs N] [--batch B]
//                          [--lr LR] [--weight-decay WD] [--split test|val]
//                          [--models linear,cnn|linear|cnn] [--threads T] [--seed S] [--out FILE.json]
//
// Data: the DeepFashion-C root under DIR (DIR itself when it holds Anno/, else DIR/category-attribute).
// When DIR is absent or empty, the default SynthFashion data set is written there first (3000 C images
// of 96 px and 1000 C2S items, seed 1; the same bytes as `synthfashion --out DIR`). Every image is read
// with the library's readers, cropped to its box grown by --margin pixels, stretched to PX x PX and
// normalised with the ImageNet statistics. Every image of the train and evaluated splits is kept in memory
// at that size (SynthFashion: ~18 MB; the real DeepFashion-C would need ~2 GB at 48 px, and a long time).
//
// Two models are trained on the train split with the same budget (epochs, batch, AdamW and its learning
// rate, warm-up and cosine decay, random horizontal flips), each with two heads: a 50-way softmax for the
// category (cross-entropy) and one logit per attribute (binary cross-entropy with logits; label 1 is a positive,
// 0 and -1 are negatives, as in the evaluation):
//   linear  a linear classifier on the raw pixels (softmax regression + a linear attribute layer)
//   cnn     three blocks of conv 3x3 - BatchNorm - ReLU - max-pool 2 (32, 64, 64 channels), then
//           the same two linear heads on the flattened features
// A third row, "prior", scores every image the same way (the training frequency of each category and
// each attribute): the numbers a model gets without looking at the picture.
//
// --models linear or --models cnn trains one of them only (the prior row is always there).
// Both are evaluated on the test split (or --split val, for choosing settings without looking at test)
// with the papers' protocol (seam/eval/metrics.hpp): category top-1/3/5 accuracy, attribute top-3/5
// recall per type and All. Prints the rows as Table 2 with the protocol sentences under it, the timings
// and the load average of the machine, and ends with one `SUMMARY {...}` line; --out writes JSON.
// Same seed and thread count -> the same numbers.
#include <seam/autograd/grad_mode.hpp>
#include <seam/core/tensor.hpp>
#include <seam/data/deepfashion.hpp>
#include <seam/data/image.hpp>
#include <seam/data/synthfashion.hpp>
#include <seam/data/transforms.hpp>
#include <seam/eval/metrics.hpp>
#include <seam/eval/tables.hpp>
#include <seam/nn/layers.hpp>
#include <seam/ops/elementwise.hpp>
#include <seam/nn/sequential.hpp>
#include <seam/ops/loss.hpp>
#include <seam/optim/adam.hpp>
#include <seam/train/progress.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace seam;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::string data = "./out/synthfashion";
    int size = 48;      // network input: size x size pixels
    int margin = 4;     // pixels added around the box before cropping
    int epochs = 10;
    int batch = 64;
    double lr = 1e-3;  // the same for both models (on the val split, 1e-3 was best for linear, 1e-3 ~ 3e-3 for cnn)
    double weight_decay = 1e-4;
    std::string split = "test";
    std::string models = "linear,cnn";  // which models to train (the prior row is always computed)
    int threads = 0;  // 0: OpenMP default (all cores)
    uint64_t seed = 1;
    std::string out;
};

const char* const usage_line =
    "usage: synthfashion_baselines [--data DIR] [--size PX] [--margin PX] [--epochs N] [--batch B]\n"
    "                              [--lr LR] [--weight-decay WD] [--split test|val]\n"
    "                              [--models linear,cnn|linear|cnn] [--threads T] [--seed S] [--out FILE.json]\n";

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr, "synthfashion_baselines: %s\n%s", problem.c_str(), usage_line);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::printf("%s", usage_line);
            std::exit(0);
        }
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage("missing value after " + a);
            return argv[++i];
        };
        try {
            if (a == "--data") o.data = value();
            else if (a == "--size") o.size = std::stoi(value());
            else if (a == "--margin") o.margin = std::stoi(value());
            else if (a == "--epochs") o.epochs = std::stoi(value());
            else if (a == "--batch") o.batch = std::stoi(value());
            else if (a == "--lr") o.lr = std::stod(value());
            else if (a == "--weight-decay") o.weight_decay = std::stod(value());
            else if (a == "--split") o.split = value();
            else if (a == "--models") o.models = value();
            else if (a == "--threads") o.threads = std::stoi(value());
            else if (a == "--seed") o.seed = std::stoull(value());
            else if (a == "--out") o.out = value();
            else usage("unknown argument " + a);
        } catch (const std::invalid_argument&) {
            usage("bad number for " + a);
        } catch (const std::out_of_range&) {
            usage("number out of range for " + a);
        }
    }
    if (o.size < 8 || o.size > 512 || o.size % 8 != 0) usage("--size must be a multiple of 8 in [8, 512]");
    if (o.margin < 0) usage("--margin must be >= 0");
    if (o.epochs < 1 || o.batch < 1 || o.lr <= 0 || o.weight_decay < 0)
        usage("--epochs, --batch and --lr must be positive, --weight-decay >= 0");
    if (o.split != "test" && o.split != "val") usage("--split must be test or val");
    if (o.models != "linear,cnn" && o.models != "linear" && o.models != "cnn")
        usage("--models must be linear,cnn or linear or cnn");
    return o;
}

/// The 1-, 5- and 15-minute load averages (/proc/loadavg), or "?" where there is no such file.
std::string load_average() {
    std::ifstream in("/proc/loadavg");
    double a = 0, b = 0, c = 0;
    if (!(in >> a >> b >> c)) return "?";
    char text[64];
    std::snprintf(text, sizeof text, "%.2f %.2f %.2f", a, b, c);
    return text;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// CPU seconds this process has used, all threads together: unlike the wall clock, it hardly depends on what
/// else the machine is running.
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// ---------------------------------------------------------------------------------------------
// Data

/// The DeepFashion-C root to read: DIR when it holds Anno/, else DIR/category-attribute, which is written
/// (with the rest of the default SynthFashion set) when DIR is absent or empty.
fs::path find_or_generate(const fs::path& dir, double& generate_seconds) {
    generate_seconds = 0;
    const char* marker = data::category_attribute_files::category_img;
    if (fs::exists(dir / marker)) return dir;
    if (fs::exists(dir / "category-attribute" / marker)) return dir / "category-attribute";
    SEAM_CHECK(!fs::exists(dir) || (fs::is_directory(dir) && fs::is_empty(dir)), dir.string(),
               " holds neither Anno/list_category_img.txt nor category-attribute/", marker,
               "; give a DeepFashion-C root, a SynthFashion folder, or an absent or empty folder to generate into");
    data::SynthFashionOptions defaults;
    std::printf("%s is absent or empty: writing the default SynthFashion set there (%zu C images of %d px, "
                "%zu C2S items, seed %llu) ...\n",
                dir.string().c_str(), defaults.images, defaults.size, defaults.c2s_items,
                (unsigned long long)defaults.seed);
    std::fflush(stdout);
    data::SynthFashionReport report = data::write_synthfashion(dir, defaults);
    generate_seconds = report.seconds;
    std::printf("  written in %.1f s on %d threads\n", report.seconds, report.threads);
    return dir / "category-attribute";
}

/// One split, decoded, cropped and resized once (HWC bytes), with its labels.
struct Prepared {
    std::vector<data::Image> images;   // size x size x 3
    std::vector<int> categories;       // 0-based, into the 50 categories
    std::vector<int8_t> attributes;    // images x attributes, as in the file (1, -1, 0)
    size_t count() const { return images.size(); }
};

Prepared prepare(const fs::path& root, const data::CategoryAttributeDataset& dataset, data::Split split,
                 const Options& opt) {
    Prepared p;
    const size_t n_attributes = dataset.attribute_names.size();
    for (size_t index : dataset.indices(split)) {
        const data::ImageRecord& record = dataset.images[index];
        data::LabeledImage full{data::read_image((root / record.path).string(), 3), record.landmarks};
        data::LabeledImage input = data::crop_and_resize(full, record.box, opt.margin, opt.size, opt.size);
        p.images.push_back(std::move(input.image));
        p.categories.push_back(record.category);
        SEAM_CHECK(record.attributes.size() == n_attributes, record.path, " has ", record.attributes.size(),
                   " attribute labels, expected ", n_attributes);
        p.attributes.insert(p.attributes.end(), record.attributes.begin(), record.attributes.end());
    }
    return p;
}

/// A batch of images order[begin, end): normalised CHW floats, category labels and 0/1 attribute targets.
/// With `augment`, an image is mirrored with probability 1/2, drawn from (seed, epoch, image) so the batch
/// does not depend on the thread count.
struct Batch {
    Tensor<float> images;
    Tensor<int64_t> categories;
    Tensor<float> attributes;
};

Batch make_batch(const Prepared& p, const std::vector<size_t>& order, size_t begin, size_t end, bool augment,
                 uint64_t seed, int epoch) {
    const int64_t b = static_cast<int64_t>(end - begin), size = p.images.front().width;
    const int64_t n_attributes = static_cast<int64_t>(p.attributes.size() / p.count());
    Batch batch{empty<float>({b, 3, size, size}), empty<int64_t>({b}), empty<float>({b, n_attributes})};
    for (int64_t i = 0; i < b; ++i) {
        const size_t index = order[begin + static_cast<size_t>(i)];
        const bool flip = augment && (philox4x32(index, static_cast<uint64_t>(epoch), seed).v[0] & 1u) != 0;
        const data::Image& image = p.images[index];
        data::normalize_to_chw(flip ? data::hflip_image(image) : image, batch.images.data() + i * 3 * size * size);
        batch.categories.data()[i] = p.categories[index];
        for (int64_t a = 0; a < n_attributes; ++a)
            batch.attributes.data()[i * n_attributes + a] =
                p.attributes[index * static_cast<size_t>(n_attributes) + static_cast<size_t>(a)] == 1 ? 1.0f : 0.0f;
    }
    return batch;
}

// ---------------------------------------------------------------------------------------------
// Models: a feature extractor and two linear heads

class TwoHeadNet : public nn::Module<float> {
public:
    std::shared_ptr<nn::Sequential<float>> features;
    std::shared_ptr<nn::Linear<float>> category_head, attribute_head;

    TwoHeadNet(std::shared_ptr<nn::Sequential<float>> features_, int64_t feature_count, int64_t categories,
               int64_t attributes)
        : nn::Module<float>("TwoHeadNet") {
        features = register_module("features", std::move(features_));
        category_head = register_module("category", std::make_shared<nn::Linear<float>>(feature_count, categories));
        attribute_head = register_module("attributes", std::make_shared<nn::Linear<float>>(feature_count, attributes));
    }

    /// Category logits [N, categories] and attribute logits [N, attributes].
    std::pair<Tensor<float>, Tensor<float>> heads(const Tensor<float>& images) {
        Tensor<float> f = features->forward(images);
        return {category_head->forward(f), attribute_head->forward(f)};
    }
};

std::shared_ptr<TwoHeadNet> make_linear(int64_t size, int64_t categories, int64_t attributes) {
    auto features = std::make_shared<nn::Sequential<float>>();
    features->add(std::make_shared<nn::Flatten<float>>());
    return std::make_shared<TwoHeadNet>(features, 3 * size * size, categories, attributes);
}

std::shared_ptr<TwoHeadNet> make_cnn(int64_t size, int64_t categories, int64_t attributes) {
    auto features = std::make_shared<nn::Sequential<float>>();
    const int64_t channels[] = {3, 32, 64, 64};
    for (int block = 0; block < 3; ++block) {
        features->add(std::make_shared<nn::Conv2d<float>>(channels[block], channels[block + 1], 3, 1, 1, 1, 1,
                                                          /*bias=*/false));
        features->add(std::make_shared<nn::BatchNorm2d<float>>(channels[block + 1]));
        features->add(std::make_shared<nn::ReLU<float>>());
        features->add(std::make_shared<nn::MaxPool2d<float>>(2));
    }
    features->add(std::make_shared<nn::Flatten<float>>());
    const int64_t side = size / 8;
    return std::make_shared<TwoHeadNet>(features, channels[3] * side * side, categories, attributes);
}

// ---------------------------------------------------------------------------------------------
// Training and evaluation

struct Scores {
    std::vector<float> categories;  // images x categories
    std::vector<float> attributes;  // images x attributes
};

Scores predict(TwoHeadNet& net, const Prepared& p) {
    NoGradGuard no_grad;
    net.eval();
    Scores s;
    std::vector<size_t> order(p.count());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t begin = 0; begin < p.count(); begin += 256) {
        const size_t end = std::min(p.count(), begin + 256);
        Batch batch = make_batch(p, order, begin, end, false, 0, 0);
        auto [category, attribute] = net.heads(batch.images);
        std::vector<float> c = category.contiguous().to_vector(), a = attribute.contiguous().to_vector();
        s.categories.insert(s.categories.end(), c.begin(), c.end());
        s.attributes.insert(s.attributes.end(), a.begin(), a.end());
    }
    return s;
}

struct Result {
    std::string name, description;
    std::vector<double> category;  // top-1, top-3, top-5
    eval::AttributeRecall attributes;
    double train_seconds = 0;  // wall clock
    double train_cpu_seconds = 0;
    int64_t parameters = 0;
    std::vector<double> epoch_loss;
};

const std::vector<size_t> category_ks{1, 3, 5}, attribute_ks{3, 5};

Result score(std::string name, std::string description, const Scores& s, const Prepared& p,
             const data::CategoryAttributeDataset& dataset) {
    Result r;
    r.name = std::move(name);
    r.description = std::move(description);
    const size_t n = p.count(), n_categories = dataset.category_names.size();
    const size_t n_attributes = dataset.attribute_names.size();
    r.category =
        eval::category_topk_accuracy(eval::MatrixView(s.categories, n, n_categories), p.categories, category_ks);
    r.attributes = eval::attribute_topk_recall(eval::MatrixView(s.attributes, n, n_attributes), p.attributes,
                                               dataset.attribute_types, attribute_ks);
    return r;
}

Result train_and_score(const std::string& name, const std::string& description, TwoHeadNet& net, const Prepared& train,
                       const Prepared& eval_split, const data::CategoryAttributeDataset& dataset, const Options& opt) {
    std::printf("\n== %s: %lld parameters, AdamW lr %g, weight decay %g, %d epochs of batch %d\n", name.c_str(),
                (long long)net.parameter_count(), opt.lr, opt.weight_decay, opt.epochs, opt.batch);
    Generator shuffle_gen(opt.seed ^ 0x5eed5eedull);
    const size_t batch_size = static_cast<size_t>(opt.batch);
    const size_t steps_per_epoch = (train.count() + batch_size - 1) / batch_size;
    const double total_steps = static_cast<double>(steps_per_epoch) * opt.epochs;
    const double warmup_steps = std::max<double>(1.0, static_cast<double>(steps_per_epoch) / 2);
    optim::AdamW<float> optimizer(net.parameters(), {opt.lr, 0.9, 0.999, 1e-8, opt.weight_decay});
    // Per step: linear warm-up over half an epoch, then cosine decay to zero.
    auto lr_at = [&](double step) {
        if (step < warmup_steps) return opt.lr * (step + 1) / warmup_steps;
        const double progress = (step - warmup_steps) / (total_steps - warmup_steps);
        return 0.5 * opt.lr * (1.0 + std::cos(3.14159265358979323846 * progress));
    };

    Result r;
    r.parameters = net.parameter_count();
    const double cpu_at_start = cpu_seconds();
    std::vector<size_t> order(train.count());
    double step = 0;
    for (int epoch = 0; epoch < opt.epochs; ++epoch) {
        net.train();
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        for (size_t i = order.size() - 1; i > 0; --i)  // Fisher-Yates with the seeded stream
            std::swap(order[i], order[static_cast<size_t>(shuffle_gen.integer(i + 1))]);
        train::ProgressBar bar(name + " epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt.epochs),
                               static_cast<int64_t>(steps_per_epoch));
        double loss_sum = 0;
        size_t seen = 0;
        for (size_t s = 0; s < steps_per_epoch; ++s, ++step) {
            const size_t begin = s * batch_size, end = std::min(train.count(), begin + batch_size);
            Batch batch = make_batch(train, order, begin, end, true, opt.seed, epoch);
            for (auto& group : optimizer.param_groups()) group.lr = lr_at(step);
            auto [category, attribute] = net.heads(batch.images);
            // One loss for both heads: cross-entropy over the categories plus the mean attribute BCE.
            Tensor<float> loss = cross_entropy(category, batch.categories) +
                                 binary_cross_entropy_with_logits(attribute, batch.attributes);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            const double l = loss.item();
            if (!std::isfinite(l)) seam::fail(name, ": training diverged (loss ", l, ") at epoch ", epoch + 1);
            loss_sum += l * static_cast<double>(end - begin);
            seen += end - begin;
            bar.update(static_cast<int64_t>(s + 1), loss_sum / static_cast<double>(seen), static_cast<int64_t>(seen));
        }
        r.train_seconds += bar.finish();
        r.epoch_loss.push_back(loss_sum / static_cast<double>(seen));
    }
    r.train_cpu_seconds = cpu_seconds() - cpu_at_start;
    Result scored = score(name, description, predict(net, eval_split), eval_split, dataset);
    scored.train_seconds = r.train_seconds;
    scored.train_cpu_seconds = r.train_cpu_seconds;
    scored.parameters = r.parameters;
    scored.epoch_loss = r.epoch_loss;
    std::printf("%s: %.1f s of training (%.1f CPU s), final train loss %.4f, %s category top-1 %.2f%%\n",
                name.c_str(), scored.train_seconds, scored.train_cpu_seconds, scored.epoch_loss.back(),
                opt.split.c_str(), 100 * scored.category[0]);
    return scored;
}

/// The "prior" row: every image gets the same scores, the training frequency of each category and attribute.
Result prior_baseline(const Prepared& train, const Prepared& eval_split,
                      const data::CategoryAttributeDataset& dataset) {
    const size_t n_categories = dataset.category_names.size(), n_attributes = dataset.attribute_names.size();
    std::vector<float> category_count(n_categories, 0.0f), attribute_count(n_attributes, 0.0f);
    for (int c : train.categories) category_count[static_cast<size_t>(c)] += 1;
    for (size_t i = 0; i < train.attributes.size(); ++i)
        if (train.attributes[i] == 1) attribute_count[i % n_attributes] += 1;
    Scores s;
    for (size_t i = 0; i < eval_split.count(); ++i) {
        s.categories.insert(s.categories.end(), category_count.begin(), category_count.end());
        s.attributes.insert(s.attributes.end(), attribute_count.begin(), attribute_count.end());
    }
    return score("prior", "training frequencies, no image", s, eval_split, dataset);
}

std::string json_number(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4f", v);
    return text;
}
std::string json_number(const std::optional<double>& v) { return v ? json_number(*v) : std::string("null"); }

/// {"category_top1": .., "category_top3": .., ..., "all_top5": ..} in percent.
std::string result_json(const Result& r) {
    std::ostringstream js;
    js << "{\"category_top1\": " << json_number(100 * r.category[0]) << ", \"category_top3\": "
       << json_number(100 * r.category[1]) << ", \"category_top5\": " << json_number(100 * r.category[2]);
    static constexpr const char* keys[] = {"texture", "fabric", "shape", "part", "style"};
    for (size_t t = 0; t < eval::attribute_type_count; ++t)
        for (size_t j = 0; j < attribute_ks.size(); ++j) {
            const auto& v = r.attributes.type_recall[t][j];
            js << ", \"" << keys[t] << "_top" << attribute_ks[j]
               << "\": " << json_number(v ? std::optional(100 * *v) : v);
        }
    for (size_t j = 0; j < attribute_ks.size(); ++j) {
        const auto& v = r.attributes.all_recall[j];
        js << ", \"all_top" << attribute_ks[j] << "\": " << json_number(v ? std::optional(100 * *v) : v);
    }
    js << "}";
    return js.str();
}

}  // namespace

int main(int argc, char** argv) {
    const Options opt = parse(argc, argv);
    try {
        if (opt.threads > 0) set_num_threads(opt.threads);
        const auto t_start = Clock::now();
        const std::string load_at_start = load_average();

        double generate_seconds = 0;
        const fs::path root = find_or_generate(opt.data, generate_seconds);
        const auto t_read = Clock::now();
        const data::CategoryAttributeDataset dataset = data::load_category_attribute(root);
        SEAM_CHECK(dataset.has_boxes && dataset.has_attribute_labels, root.string(),
                   ": the baselines need list_bbox.txt and list_attr_img.txt");
        const data::Split eval_split = opt.split == "val" ? data::Split::val : data::Split::test;
        const Prepared train = prepare(root, dataset, data::Split::train, opt);
        const Prepared evaluated = prepare(root, dataset, eval_split, opt);
        SEAM_CHECK(train.count() > 0 && evaluated.count() > 0, root.string(), ": the train or ", opt.split,
                   " split is empty");
        const double read_seconds = seconds_since(t_read);
        const int64_t n_categories = static_cast<int64_t>(dataset.category_names.size());
        const int64_t n_attributes = static_cast<int64_t>(dataset.attribute_names.size());
        std::printf("DeepFashion-C root %s: %zu train and %zu %s images, %lld categories, %lld attributes; "
                    "cropped to the box + %d px and resized to %dx%d in %.1f s; %d threads; load average %s\n",
                    root.string().c_str(), train.count(), evaluated.count(), opt.split.c_str(),
                    (long long)n_categories, (long long)n_attributes, opt.margin, opt.size, opt.size, read_seconds,
                    num_threads(), load_at_start.c_str());

        std::vector<Result> results;
        results.push_back(prior_baseline(train, evaluated, dataset));
        // Both models start from the same seed, so their initialisation does not depend on which ran first.
        if (opt.models.find("linear") != std::string::npos) {
            manual_seed(opt.seed);
            auto linear = make_linear(opt.size, n_categories, n_attributes);
            results.push_back(train_and_score("linear", "linear on raw pixels", *linear, train,
                                              evaluated, dataset, opt));
        }
        if (opt.models.find("cnn") != std::string::npos) {
            manual_seed(opt.seed);
            auto cnn = make_cnn(opt.size, n_categories, n_attributes);
            std::printf("\n%s\n", cnn->to_string().c_str());
            results.push_back(train_and_score("cnn", "conv-BN-ReLU-pool x3 + linear heads", *cnn, train,
                                              evaluated, dataset, opt));
        }
        const double wall_seconds = seconds_since(t_start);
        const std::string load_at_end = load_average();

        // ---- report
        const std::string dataset_label = root.parent_path().filename().string() + " (" + opt.split + ")";
        eval::CategoryAttributeTable table;
        table.title = "Baselines on " + root.string() + ", " + opt.split + " split (" +
                      std::to_string(evaluated.count()) + " images), top-3 / top-5 in percent";
        for (const Result& r : results)
            table.rows.push_back(
                eval::measured_row(r.name, dataset_label, r.description, category_ks, r.category, r.attributes));
        table.protocol = {eval::describe_category_protocol(), eval::describe(eval::AttributeRecallProtocol{}),
                          "Input: the box + " + std::to_string(opt.margin) + " px, stretched to " +
                              std::to_string(opt.size) + "x" + std::to_string(opt.size) +
                              ", ImageNet normalisation; training: " + std::to_string(opt.epochs) +
                              (opt.epochs == 1 ? " epoch" : " epochs") + " of batch " + std::to_string(opt.batch) +
                              " on the train split, AdamW, warm-up + cosine, random horizontal flips; seed " +
                              std::to_string(opt.seed) + "."};
        std::printf("\n%s\n", eval::to_markdown(table).c_str());
        std::printf("Category top-1 accuracy (%%):");
        for (const Result& r : results) std::printf("  %s %.2f", r.name.c_str(), 100 * r.category[0]);
        std::printf("\nEvidence: %zu positives of %lld attributes in %zu of %zu images.\n",
                    results[0].attributes.all_positives, (long long)n_attributes,
                    results[0].attributes.images_with_positives, results[0].attributes.images);
        std::printf("Time: %.1f s generating, %.1f s reading", generate_seconds, read_seconds);
        for (size_t m = 1; m < results.size(); ++m)
            std::printf(", %.1f s (%.1f CPU s) training %s", results[m].train_seconds, results[m].train_cpu_seconds,
                        results[m].name.c_str());
        std::printf(", %.1f s in all; load average (1/5/15 min) %s at the start, %s at the end; %d threads.\n",
                    wall_seconds, load_at_start.c_str(), load_at_end.c_str(), num_threads());

        std::ostringstream summary;
        summary << "{\"example\": \"synthfashion_baselines\", \"split\": \"" << opt.split
                << "\", \"images\": " << evaluated.count() << ", \"size\": " << opt.size
                << ", \"epochs\": " << opt.epochs
                << ", \"seed\": " << opt.seed << ", \"threads\": " << num_threads();
        for (const Result& r : results) summary << ", \"" << r.name << "\": " << result_json(r);
        summary << ", \"train_seconds\": {";
        for (size_t m = 1; m < results.size(); ++m)
            summary << (m > 1 ? ", " : "") << "\"" << results[m].name
                    << "\": " << json_number(results[m].train_seconds);
        summary << "}, \"train_cpu_seconds\": {";
        for (size_t m = 1; m < results.size(); ++m)
            summary << (m > 1 ? ", " : "") << "\"" << results[m].name << "\": "
                    << json_number(results[m].train_cpu_seconds);
        summary << "}, \"wall_seconds\": " << json_number(wall_seconds) << ", \"load_average\": [\"" << load_at_start
                << "\", \"" << load_at_end << "\"]}";
        if (!opt.out.empty()) {
            std::ostringstream full;
            full << "{\"summary\": " << summary.str() << ", \"root\": " << eval::json::quote(root.string())
                 << ", \"margin\": " << opt.margin << ", \"batch\": " << opt.batch << ", \"lr\": " << opt.lr
                 << ", \"weight_decay\": " << opt.weight_decay
                 << ", \"train_images\": " << train.count() << ", \"models\": {";
            for (size_t m = 1; m < results.size(); ++m) {
                full << (m > 1 ? ", " : "") << "\"" << results[m].name
                     << "\": {\"parameters\": " << results[m].parameters
                     << ", \"train_seconds\": " << json_number(results[m].train_seconds) << ", \"epoch_loss\": [";
                for (size_t e = 0; e < results[m].epoch_loss.size(); ++e)
                    full << (e ? ", " : "") << json_number(results[m].epoch_loss[e]);
                full << "]}";
            }
            full << "}, \"table\": " << eval::to_json(table) << "}\n";
            std::ofstream file(opt.out);
            file << full.str();
            if (!file) seam::fail("cannot write ", opt.out);
            std::printf("wrote %s\n", opt.out.c_str());
        }
        std::printf("SUMMARY %s\n", summary.str().c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "synthfashion_baselines: error: %s\n", e.what());
        return 1;
    }
}
