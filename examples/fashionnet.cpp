// fashionnet — train FashionNet (Liu et al., CVPR 2016) on a DeepFashion-C root and report its
// Table 2 row: category top-3/top-5 accuracy, attribute top-3/top-5 recall per type and All, and
// the pose branch's landmark error.
//
//   fashionnet [--data DIR] [--profile cpu|paper] [--baseline] [--epochs N] [--batch B] [--lr LR]
//              [--threads T] [--seed S] [--limit N] [--split test|val] [--log-dir DIR]
//              [--checkpoint-every N] [--resume FILE] [--joint] [--triplet-weight W]
//              [--vgg-weights FILE] [--device cpu|cuda[:N]] [--out FILE.json]
//
// --device cuda trains and scores on a GPU (a build with the CUDA backend; others refuse it with
// "seam was built without CUDA" before any data is read): `--profile paper` is meant for it.
//
// The model is seam/models/fashionnet.hpp, its losses and alternating schedule
// seam/models/fashionnet_loss.hpp, the training and scoring seam/train/category_attribute_task.hpp.
// With --data absent or empty, the default SynthFashion set is generated there first (8 s).
// --baseline also trains the plain VGG-16 classifier (same trunk, width, budget; no landmark branch)
// and prints both rows.
//
// Writes to --log-dir (default runs/fashionnet): log.csv/json, loss.png and metrics.png (training
// curves with the validation metrics), checkpoint.safetensors (resume with --resume), landmarks.png
// (test images with the predicted landmarks), table2.md / table2.csv; --out writes the JSON.
// Ends with one `SUMMARY {...}` line.
#include "common/table2_run.hpp"

namespace {

const char* const usage_head = "usage: fashionnet [--baseline] [flags]\n";

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr, "fashionnet: %s\n%s%s", problem.c_str(), usage_head, table2::common_usage);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    table2::Options opt;
    bool baseline = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::printf("%s  --baseline            also train the plain VGG-16 classifier\n%s", usage_head,
                        table2::common_usage);
            return 0;
        }
        if (a == "--baseline") baseline = true;
        else if (!table2::parse_common(opt, argc, argv, i, usage)) usage("unknown argument " + a);
    }
    table2::check(opt, usage);
    if (opt.log_dir.empty()) opt.log_dir = "runs/fashionnet";
    try {
        table2::run_device(opt);  // --device cuda on a build without CUDA fails here, before any data work
        if (opt.threads > 0) seam::set_num_threads(opt.threads);
        const auto start = table2::Clock::now();
        const int input = opt.input_size;
        table2::Data d = table2::load_data(opt, static_cast<int>(input));
        std::printf("%d threads, load average %s\n", seam::num_threads(), table2::load_average().c_str());

        std::vector<table2::ModelRun> runs;
        runs.push_back(table2::run_fashionnet(opt, d, baseline ? opt.log_dir + "/fashionnet" : opt.log_dir));
        if (!runs.back().finished) {
            std::fprintf(stderr, "fashionnet: training stopped: %s\n", runs.back().stop_message.c_str());
            return 130;
        }
        if (baseline) runs.push_back(table2::run_vgg_baseline(opt, d, opt.log_dir + "/vgg16"));

        const seam::eval::CategoryAttributeTable table = table2::make_table(runs, d, opt);
        std::printf("\n%s\n", seam::eval::to_markdown(table).c_str());
        for (const auto& r : runs) {
            std::printf("%s: %lld parameters, trained in %.1f s (%.1f CPU s)", r.name.c_str(), (long long)r.parameters,
                        r.train_seconds, r.train_cpu_seconds);
            if (r.evaluation.landmark_error)
                std::printf("; landmark normalised error %.4f over %zu visible points", *r.evaluation.landmark_error,
                            r.evaluation.landmarks_counted);
            std::printf("\n");
        }
        std::filesystem::create_directories(opt.log_dir);
        {
            std::ofstream md(opt.log_dir + "/table2.md"), csv(opt.log_dir + "/table2.csv");
            md << seam::eval::to_markdown(table);
            csv << seam::eval::to_csv(table);
        }
        const double wall = table2::seconds_since(start);
        std::printf("pictures, logs and checkpoints in %s/ (landmarks.png, loss.png, metrics.png, checkpoint.safetensors)\n",
                    runs.front().log_dir.c_str());

        std::ostringstream js;
        js.precision(10);
        js << "{\"example\":\"fashionnet\",\"profile\":\"" << opt.profile << "\",\"data\":" << table2::json_string(d.name)
           << ",\"split\":\"" << opt.split << "\",\"epochs\":" << opt.epochs << ",\"threads\":" << seam::num_threads()
           << ",\"seed\":" << opt.seed << ",\"wall_seconds\":" << wall << ",\"models\":[";
        for (size_t i = 0; i < runs.size(); ++i) js << (i ? "," : "") << table2::run_json(runs[i]);
        js << "],\"table\":" << seam::eval::to_json(table) << "}";
        if (!opt.out.empty()) {
            std::ofstream f(opt.out);
            if (!f) seam::fail("cannot write ", opt.out);
            f << js.str() << "\n";
        }
        const auto& e = runs.front().evaluation;
        std::printf("\nSUMMARY {\"example\":\"fashionnet\",\"profile\":\"%s\",\"category_top3\":%.4f,\"category_top5\":%.4f,"
                    "\"attribute_all_top3\":%.4f,\"attribute_all_top5\":%.4f,\"landmark_error\":%.4f,\"epochs\":%lld,"
                    "\"train_seconds\":%.1f,\"wall_seconds\":%.1f,\"threads\":%d,\"seed\":%llu,\"device\":\"%s\","
                    "\"final_loss\":%.6g,\"peak_device_memory_mib\":%.1f}\n",
                    opt.profile.c_str(), e.category[1], e.category[2],
                    e.attributes.all_recall[0].value_or(std::nan("")), e.attributes.all_recall[1].value_or(std::nan("")),
                    e.landmark_error.value_or(std::nan("")), (long long)opt.epochs, runs.front().train_seconds, wall,
                    seam::num_threads(), (unsigned long long)opt.seed, runs.front().device.c_str(),
                    runs.front().final_loss, runs.front().peak_device_memory_mib);
        return 0;
    } catch (const seam::Error& e) {
        std::fprintf(stderr, "fashionnet: error: %s\n", e.what());
        return 1;
    }
}
