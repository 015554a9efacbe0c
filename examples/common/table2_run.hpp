// examples/common/table2_run.hpp — what examples/fashionnet and examples/reproduce share: the
// command-line options of a Table 2 run, finding (or generating) the DeepFashion-C root, training
// and scoring each model, the pictures, and printing the table with the papers' rows.
#pragma once

#include <seam/seam.hpp>

#include "device.hpp"

#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace table2 {

using namespace seam;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
    std::string data = "./out/synthfashion";
    std::string profile = "cpu";  // cpu | paper
    int input_size = 0;           // 0: the profile's (cpu 64, paper 224)
    int64_t epochs = 0;           // 0: the profile's default
    size_t batch = 0;             // 0: the profile's default
    double lr = 1e-3;
    double weight_decay = 1e-4;
    int threads = 0;
    uint64_t seed = 1;
    size_t limit = 0;             // images per split (0: all)
    std::string split = "test";   // the split scored for the table (val: for choosing settings)
    std::string log_dir;          // default: runs/<program>
    int64_t checkpoint_every = 0;
    std::string resume;           // FashionNet only
    bool alternate = true;        // FashionNet's two-step schedule (false: task weights throughout)
    double triplet_weight = 1.0;  // in-batch category triplets (0: off)
    models::AttributeBalance attribute_balance = models::AttributeBalance::global;
    std::string vgg_weights;      // torchvision VGG-16 safetensors for the paper profile
    std::string data_name;        // the data set's name in the table (default: SynthFashion or DeepFashion-C)
    std::string device = "cpu";   // cpu | cuda | cuda:N (example/common/device.hpp)
    std::string conv;  // --conv: the CUDA convolution algorithm (examples/common/device.hpp; empty: the starting one)
    std::string out;
};

/// The usage text of the flags every Table 2 program takes.
inline const char* common_usage =
    "  --data DIR            DeepFashion-C root, or a SynthFashion folder (generated there when absent or empty)\n"
    "                        [./out/synthfashion]\n"
    "  --profile cpu|paper   cpu: 64x64 inputs, widths / 8, BatchNorm (minutes on 2 cores); paper: 224x224,\n"
    "                        full VGG-16 (a GPU) [cpu]\n"
    "  --input-size PX       override the profile's input size (a multiple of 32)\n"
    "  --epochs N --batch B --lr LR --weight-decay WD --threads T --seed S\n"
    "  --limit N             use the first N images of each split\n"
    "  --split test|val      the split the table reports [test]\n"
    "  --log-dir DIR         logs, plots, checkpoints and pictures\n"
    "  --checkpoint-every N  also save every N steps (Ctrl-C always saves)\n"
    "  --resume FILE         continue FashionNet from its checkpoint\n"
    "  --joint               FashionNet: no alternating schedule (task-centric weights throughout)\n"
    "  --triplet-weight W    FashionNet: weight of the in-batch category triplet loss [1]\n"
    "  --attribute-balance global|per-attribute|none\n"
    "                        positive weight of the attribute loss: one N_neg/N_pos for all attributes,\n"
    "                        per attribute (balanced), or none [global] (both models)\n"
    "  --vgg-weights FILE    torchvision VGG-16 weights (safetensors, tools/convert_torchvision.py)\n"
    "  --data-name NAME      the data set's name in the table [SynthFashion when generated or under a\n"
    "                        folder named synth*, else DeepFashion-C]\n"
    "  --device cpu|cuda[:N] train and score on the CPU or a GPU (needs a build with the CUDA backend) [cpu]\n"
    "  --conv implicit_gemm|winograd|tf32|direct  the convolution algorithm on a GPU [implicit_gemm, or $SEAM_CONV_ALGORITHM]\n"
    "  --out FILE.json       the results as JSON\n";

/// Parses one common flag at argv[i] (advancing i past its value); false when it is not one.
template <class Fail>
bool parse_common(Options& o, int argc, char** argv, int& i, Fail&& fail) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
        if (i + 1 >= argc) fail("missing value after " + a);
        return argv[++i];
    };
    try {
        if (a == "--data") o.data = value();
        else if (a == "--profile") o.profile = value();
        else if (a == "--input-size") o.input_size = std::stoi(value());
        else if (a == "--epochs") o.epochs = std::stoll(value());
        else if (a == "--batch") o.batch = static_cast<size_t>(std::stoull(value()));
        else if (a == "--lr") o.lr = std::stod(value());
        else if (a == "--weight-decay") o.weight_decay = std::stod(value());
        else if (a == "--threads") o.threads = std::stoi(value());
        else if (a == "--seed") o.seed = std::stoull(value());
        else if (a == "--limit") o.limit = static_cast<size_t>(std::stoull(value()));
        else if (a == "--split") o.split = value();
        else if (a == "--log-dir") o.log_dir = value();
        else if (a == "--checkpoint-every") o.checkpoint_every = std::stoll(value());
        else if (a == "--resume") o.resume = value();
        else if (a == "--joint") o.alternate = false;
        else if (a == "--triplet-weight") o.triplet_weight = std::stod(value());
        else if (a == "--attribute-balance") {
            const std::string v = value();
            if (v == "global") o.attribute_balance = models::AttributeBalance::global;
            else if (v == "per-attribute") o.attribute_balance = models::AttributeBalance::per_attribute;
            else if (v == "none") o.attribute_balance = models::AttributeBalance::none;
            else fail("--attribute-balance must be global, per-attribute or none, not " + v);
        }
        else if (a == "--vgg-weights") o.vgg_weights = value();
        else if (a == "--out") o.out = value();
        else if (a == "--data-name") o.data_name = value();
        else if (a == "--device") {
            o.device = value();
            if (!example::is_device_name(o.device)) fail("--device must be cpu, cuda or cuda:N, not " + o.device);
        }
        else if (a == "--conv") {
            o.conv = value();
            if (!example::is_conv_name(o.conv)) fail("--conv must be implicit_gemm, winograd, tf32 or direct, not " + o.conv);
        }
        else return false;
    } catch (const std::invalid_argument&) {
        fail("bad number for " + a);
    } catch (const std::out_of_range&) {
        fail("number out of range for " + a);
    }
    return true;
}

template <class Fail>
void check(Options& o, Fail&& fail) {
    if (o.profile != "cpu" && o.profile != "paper") fail("--profile must be cpu or paper");
    if (o.split != "test" && o.split != "val") fail("--split must be test or val");
    if (o.epochs < 0 || o.lr <= 0 || o.weight_decay < 0 || o.checkpoint_every < 0 || o.triplet_weight < 0)
        fail("--epochs, --checkpoint-every, --weight-decay and --triplet-weight must be >= 0, --lr > 0");
    // The profiles' budgets: cpu finishes FashionNet in minutes on 2 cores (README has the timings).
    if (o.input_size == 0)
        o.input_size = static_cast<int>(o.profile == "cpu" ? models::FashionNetOptions::cpu().input_size
                                                           : models::FashionNetOptions::paper().input_size);
    if (o.input_size < 32 || o.input_size % 32 != 0) fail("--input-size must be a positive multiple of 32");
    if (o.epochs == 0) o.epochs = o.profile == "cpu" ? 16 : 30;
    if (o.batch == 0) o.batch = o.profile == "cpu" ? 64 : 32;
    if (!o.vgg_weights.empty() && o.profile == "cpu")
        fail("--vgg-weights needs --profile paper (the cpu profile's widths and BatchNorm do not match VGG-16)");
}

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

inline std::string load_average() {
    std::ifstream in("/proc/loadavg");
    double a = 0, b = 0, c = 0;
    if (!(in >> a >> b >> c)) return "?";
    char text[64];
    std::snprintf(text, sizeof text, "%.2f %.2f %.2f", a, b, c);
    return text;
}

/// The DeepFashion-C root to read: DIR when it holds the category list, else
/// DIR/category-attribute, which is written (the default SynthFashion set) when DIR is absent or empty.
inline fs::path find_or_generate(const fs::path& dir, bool* generated = nullptr) {
    if (generated) *generated = false;
    const char* marker = data::category_attribute_files::category_img;
    if (fs::exists(dir / marker)) return dir;
    if (fs::exists(dir / "category-attribute" / marker)) return dir / "category-attribute";
    SEAM_CHECK(!fs::exists(dir) || (fs::is_directory(dir) && fs::is_empty(dir)), dir.string(),
               " holds neither ", marker, " nor category-attribute/", marker,
               "; give a DeepFashion-C root, a SynthFashion folder, or an absent or empty folder to generate into");
    data::SynthFashionOptions defaults;
    std::printf("%s is absent or empty: writing the default SynthFashion set there (%zu C images of %d px, seed %llu)...\n",
                dir.string().c_str(), defaults.images, defaults.size, (unsigned long long)defaults.seed);
    std::fflush(stdout);
    const data::SynthFashionReport report = data::write_synthfashion(dir, defaults);
    std::printf("  written in %.1f s on %d threads\n", report.seconds, report.threads);
    if (generated) *generated = true;
    return dir / "category-attribute";
}

/// The data of one run: the dataset's lists and the three splits in memory at network size.
struct Data {
    fs::path root;
    std::string name;  // "SynthFashion" or "DeepFashion-C"
    data::CategoryAttributeDataset dataset;
    data::CategoryAttributeSplit train, val, scored;
    double seconds = 0;
};

inline Data load_data(const Options& o, int input_size) {
    const auto start = Clock::now();
    Data d;
    bool generated = false;
    d.root = find_or_generate(o.data, &generated);
    d.dataset = data::load_category_attribute(d.root);
    std::string lower = d.root.string();
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // The table names the data: SynthFashion when generated here or found under a folder named so.
    d.name = !o.data_name.empty() ? o.data_name
             : (generated || lower.find("synth") != std::string::npos) ? "SynthFashion"
                                                                       : "DeepFashion-C";
    data::PrepareOptions p;
    p.size = input_size;
    p.limit = o.limit;
    d.train = data::prepare_split(d.root, d.dataset, data::Split::train, p);
    d.val = data::prepare_split(d.root, d.dataset, data::Split::val, p);
    d.scored = o.split == "val" ? d.val : data::prepare_split(d.root, d.dataset, data::Split::test, p);
    d.seconds = seconds_since(start);
    std::printf("%s from %s: %zu train, %zu val, %zu %s images at %dx%d (%zu categories, %zu attributes), read in %.1f s\n",
                d.name.c_str(), d.root.string().c_str(), d.train.count(), d.val.count(), d.scored.count(),
                o.split.c_str(), input_size, input_size, d.dataset.category_names.size(),
                d.dataset.attribute_names.size(), d.seconds);
    return d;
}

inline models::FashionNetOptions network_options(const Options& o, const Data& d) {
    models::FashionNetOptions n = o.profile == "cpu" ? models::FashionNetOptions::cpu() : models::FashionNetOptions::paper();
    n.num_categories = static_cast<int64_t>(d.dataset.category_names.size());
    n.num_attributes = static_cast<int64_t>(d.dataset.attribute_names.size());
    n.input_size = o.input_size;
    return n;
}

/// The --device of a run (throws seam::Error for cuda on a build without CUDA: the mains call it
/// first, before any data is read or generated).
/// It also sets --conv's algorithm for a GPU (idempotent: every call sets the same).
inline Device run_device(const Options& o) {
    const Device device = example::resolve_device(o.device);
    example::set_conv(o.conv, device);
    return device;
}

inline train::CategoryAttributeTraining budget(const Options& o, const std::string& log_dir) {
    train::CategoryAttributeTraining b;
    b.device = run_device(o);
    b.epochs = o.epochs;
    b.batch = o.batch;
    b.lr = o.lr;
    b.weight_decay = o.weight_decay;
    b.seed = o.seed;
    b.log_dir = log_dir;
    b.checkpoint_every = o.checkpoint_every;
    b.attribute_balance = o.attribute_balance;
    return b;
}

/// One trained and scored model.
struct ModelRun {
    std::string name, description;
    eval::CategoryAttributeRow row;
    train::CategoryAttributeEvaluation evaluation;
    int64_t parameters = 0;
    double train_seconds = 0, train_cpu_seconds = 0;
    double final_loss = std::nan("");   // the last epoch's mean training loss
    double peak_device_memory_mib = 0;  // seam's allocator on the GPU since the run began (0 on the CPU)
    std::string device = "cpu";
    std::string convolution = "cpu";  // --conv's algorithm on a GPU (example::conv_report), "cpu" on the CPU
    std::string log_dir, checkpoint;
    bool finished = true;
    std::string stop_message;
};

inline double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

/// Test (or val) images with the predicted landmarks drawn on them (filled dot: predicted visible,
/// ring: predicted not visible), 2x enlarged, 8 a row.
inline void write_landmark_sheet(const std::string& path, const data::CategoryAttributeSplit& split,
                                 const train::CategoryAttributeScores& scores, const std::vector<float>& visibility,
                                 size_t count = 24) {
    count = std::min(count, split.count());
    if (count == 0 || scores.landmarks == 0) return;
    const int cell = split.size * 2, columns = 8, rows = static_cast<int>((count + columns - 1) / columns), pad = 4;
    data::Image sheet = train::blank_image(columns * (cell + pad) + pad, rows * (cell + pad) + pad + 14);
    train::draw_text(sheet, pad, 3, "predicted landmarks (dot: visible, ring: not visible)", train::colors::black);
    for (size_t i = 0; i < count; ++i) {
        data::Image big = data::resize_image(split.images[i].image, cell, cell);
        data::Landmarks predicted{};
        for (size_t l = 0; l < scores.landmarks && l < predicted.size(); ++l) {
            data::Landmark& p = predicted[l];
            p.present = true;
            p.x = scores.landmark[(i * scores.landmarks + l) * 2] * static_cast<float>(cell) - 0.5f;
            p.y = scores.landmark[(i * scores.landmarks + l) * 2 + 1] * static_cast<float>(cell) - 0.5f;
            p.visibility = visibility[i * scores.landmarks + l] > 0.5f ? data::kVisible : data::kOccluded;
        }
        train::LandmarkStyle style;
        style.radius = 3;
        train::draw_landmarks(big, predicted, style);
        const int x0 = pad + static_cast<int>(i % columns) * (cell + pad), y0 = 14 + pad + static_cast<int>(i / columns) * (cell + pad);
        for (int y = 0; y < cell; ++y)
            for (int x = 0; x < cell; ++x) train::put_pixel(sheet, x0 + x, y0 + y, train::pixel_color(big, x, y));
    }
    data::write_png(path, sheet);
}

/// Trains FashionNet and scores it on d.scored; pictures and the checkpoint go to log_dir.
inline ModelRun run_fashionnet(const Options& o, const Data& d, const std::string& log_dir) {
    ModelRun run;
    run.name = "FashionNet";
    run.log_dir = log_dir;
    manual_seed(o.seed);
    const Device device = run_device(o);
    run.device = device.str();
    run.convolution = example::conv_report(o.conv, device);
    example::reset_peak_device_memory(device);
    models::FashionNet<float> net(network_options(o, d));
    if (!o.vgg_weights.empty()) {
        const io::SafetensorsFile file = io::load_safetensors(o.vgg_weights);
        nn::StateDict<float> vgg;
        for (const auto& t : file.tensors)
            if (io::dtype_is_floating(t.dtype)) vgg.emplace_back(t.name, file.get<float>(t.name));
        auto copied = net.load_vgg16_weights(vgg);
        std::printf("loaded %zu tensors of VGG-16 weights from %s\n", copied.size(), o.vgg_weights.c_str());
    }
    net.to(device);  // after the weights are loaded, before the optimizer exists
    run.parameters = net.parameter_count();
    const auto& no = net.options();
    models::FashionNetSchedule schedule;
    schedule.alternate = o.alternate;
    models::FashionNetLossWeights terms;
    terms.triplet = o.triplet_weight;
    char description[512];
    std::snprintf(description, sizeof description,
                  "seam, %s profile: %lldx%lld input, width x%g%s; landmark pooling on conv4_3 (%lldx%lld cells), "
                  "window %lldx%lld, bins %lldx%lld, hard gate; %s; triplet weight %g; attribute balance %s; %lld epochs "
                  "of batch %zu, AdamW lr %g",
                  o.profile.c_str(), (long long)no.input_size, (long long)no.input_size, no.width_mult,
                  no.batch_norm ? ", BatchNorm" : "", (long long)net.conv4_side(), (long long)net.conv4_side(),
                  (long long)no.landmark_window[0], (long long)no.landmark_window[1], (long long)no.landmark_bins[0],
                  (long long)no.landmark_bins[1],
                  o.alternate ? "alternating landmark (alpha 5, beta 1) and task (alpha 1, beta 5) epochs"
                              : "task weights throughout",
                  o.triplet_weight, models::attribute_balance_name(o.attribute_balance), (long long)o.epochs, o.batch,
                  o.lr);
    run.description = description;
    std::printf("\n== FashionNet: %lld parameters on %s (convolution: %s)\n   %s\n", (long long)run.parameters,
                example::device_description(device).c_str(), run.convolution.c_str(), description);
    train::CategoryAttributeTraining b = budget(o, log_dir);
    b.resume_from = o.resume;
    const auto start = Clock::now();
    const double cpu_start = cpu_seconds();
    train::FitResult fit = train::train_fashionnet(net, d.train, &d.val, d.dataset.attribute_types, b, schedule, terms);
    run.train_seconds = seconds_since(start);
    run.train_cpu_seconds = cpu_seconds() - cpu_start;
    if (!fit.log.records().empty()) run.final_loss = fit.log.records().back().train_loss;
    run.checkpoint = fit.checkpoint;
    run.finished = fit.finished();
    run.stop_message = fit.message;
    net.eval();
    const train::CategoryAttributeScores scores = train::predict_split(d.scored, train::fashionnet_predictor(net, device));
    run.evaluation = train::evaluate_scores(scores, d.scored, d.dataset.attribute_types);
    run.row = train::table2_row("FashionNet (seam, " + o.profile + " profile)", d.name + " " + o.split, description,
                                run.evaluation);
    if (!log_dir.empty()) {
        // Predicted visibility for the picture (the scores hold only the coordinates).
        std::vector<float> visibility;
        {
            NoGradGuard no_grad;
            std::vector<size_t> rows;
            for (size_t i = 0; i < std::min<size_t>(24, d.scored.count()); ++i) rows.push_back(i);
            if (!rows.empty())
                visibility = net.forward_all(d.scored.batch<float>(rows).images.to(device))
                                 .visibility.to(Device::cpu())
                                 .contiguous()
                                 .to_vector();
        }
        write_landmark_sheet(log_dir + "/landmarks.png", d.scored, scores, visibility);
    }
    run.peak_device_memory_mib = example::peak_device_memory_mib(device);
    return run;
}

/// The plain VGG-16 classifier with FashionNet's trunk, width and budget.
inline ModelRun run_vgg_baseline(const Options& o, const Data& d, const std::string& log_dir) {
    ModelRun run;
    run.name = "VGG-16 classifier";
    run.log_dir = log_dir;
    manual_seed(o.seed);
    const models::FashionNetOptions like = network_options(o, d);
    const Device device = run_device(o);
    run.device = device.str();
    run.convolution = example::conv_report(o.conv, device);
    example::reset_peak_device_memory(device);
    auto net = train::make_vgg_classifier(like);
    net->to(device);
    run.parameters = net->parameter_count();
    char description[320];
    std::snprintf(description, sizeof description,
                  "seam, %s profile: VGG-16%s at width x%g, fc8 = [categories | attributes], no landmark branch; "
                  "the same losses (minus landmarks and triplets; attribute balance %s), budget and augmentation as "
                  "FashionNet",
                  o.profile.c_str(), like.batch_norm ? " with BatchNorm" : "", like.width_mult,
                  models::attribute_balance_name(o.attribute_balance));
    run.description = description;
    std::printf("\n== VGG-16 classifier: %lld parameters\n   %s\n", (long long)run.parameters, description);
    const auto start = Clock::now();
    const double cpu_start = cpu_seconds();
    train::FitResult fit =
        train::train_vgg_classifier(*net, like.num_categories, d.train, &d.val, d.dataset.attribute_types, budget(o, log_dir));
    run.train_seconds = seconds_since(start);
    run.train_cpu_seconds = cpu_seconds() - cpu_start;
    if (!fit.log.records().empty()) run.final_loss = fit.log.records().back().train_loss;
    run.checkpoint = fit.checkpoint;
    run.finished = fit.finished();
    run.stop_message = fit.message;
    net->eval();
    run.evaluation = train::evaluate_scores(
        train::predict_split(d.scored, train::split_logits_predictor(*net, like.num_categories, device)), d.scored,
        d.dataset.attribute_types);
    run.peak_device_memory_mib = example::peak_device_memory_mib(device);
    run.row = train::table2_row("VGG-16 classifier (seam, " + o.profile + " profile)", d.name + " " + o.split,
                                description, run.evaluation);
    return run;
}

/// The measured rows with the papers' rows, and the protocol sentences.
inline eval::CategoryAttributeTable make_table(const std::vector<ModelRun>& runs, const Data& d, const Options& o) {
    std::vector<eval::CategoryAttributeRow> rows;
    for (const auto& r : runs) rows.push_back(r.row);
    std::vector<std::string> protocol{
        "Measured rows: " + d.name + " " + o.split + " split (" + std::to_string(d.scored.count()) + " images); " +
            "models see only the image (inference uses predicted landmarks, never the ground truth).",
        eval::describe_category_protocol(), eval::describe(eval::AttributeRecallProtocol{})};
    return eval::make_table_2(rows, protocol, /*with_reported=*/true);
}

inline std::string json_string(const std::string& s) { return io::json::quote_lossy(s); }

inline std::string run_json(const ModelRun& r) {
    std::ostringstream js;
    js.precision(10);
    const auto& e = r.evaluation;
    js << "{\"model\":" << json_string(r.name) << ",\"description\":" << json_string(r.description)
       << ",\"parameters\":" << r.parameters << ",\"train_seconds\":" << r.train_seconds
       << ",\"train_cpu_seconds\":" << r.train_cpu_seconds << ",\"finished\":" << (r.finished ? "true" : "false")
       << ",\"device\":" << json_string(r.device) << ",\"convolution\":" << json_string(r.convolution)
       << ",\"peak_device_memory_mib\":" << r.peak_device_memory_mib;
    if (std::isfinite(r.final_loss)) js << ",\"final_loss\":" << r.final_loss;
    js
       << ",\"category_top1\":" << e.category[0] << ",\"category_top3\":" << e.category[1]
       << ",\"category_top5\":" << e.category[2];
    const char* types[] = {"texture", "fabric", "shape", "part", "style"};
    for (size_t t = 0; t < 5; ++t)
        for (size_t j = 0; j < e.attributes.ks.size(); ++j)
            if (e.attributes.type_recall[t][j])
                js << ",\"" << types[t] << "_top" << e.attributes.ks[j] << "\":" << *e.attributes.type_recall[t][j];
    for (size_t j = 0; j < e.attributes.ks.size(); ++j)
        if (e.attributes.all_recall[j]) js << ",\"attribute_all_top" << e.attributes.ks[j] << "\":" << *e.attributes.all_recall[j];
    if (e.landmark_error) js << ",\"landmark_normalized_error\":" << *e.landmark_error << ",\"landmarks_counted\":" << e.landmarks_counted;
    js << ",\"log_dir\":" << json_string(r.log_dir) << ",\"checkpoint\":" << json_string(r.checkpoint) << "}";
    return js.str();
}

}  // namespace table2
