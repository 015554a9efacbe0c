// reproduce — the main job: train and evaluate every model of a survey table that seam has, and
// print the table with the papers' rows beside the measured ones.
//
//   reproduce --table 2 [--data DIR] [--profile cpu|paper] [--epochs N] ... [--out FILE.json]
//
// Table 2 (DeepFashion-C: category top-3/top-5, attribute top-3/top-5 recall per type and All):
//   FashionNet           seam/models/fashionnet.hpp with its alternating schedule
//   VGG-16 classifier    the same trunk, width and budget without the landmark branch: the
//                        reference FashionNet is measured against
// (the other Table 2 models — AFGN, Corbiere et al., DARN, WTBI — join this list as they arrive.)
// Table 3 (DeepFashion-C2S retrieval) has no seam model yet: --table 3 says so and exits 2.
//
// With --data absent or empty, the default SynthFashion set is generated there first. Every model
// writes its logs, plots and checkpoint under --log-dir (default runs/reproduce)/<model>; the table
// goes to table2.md / table2.csv there and, with --out, JSON. Ends with one `SUMMARY {...}` line.
#include "common/table2_run.hpp"

namespace {

const char* const usage_head = "usage: reproduce --table 2 [flags]\n";

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr, "reproduce: %s\n%s%s", problem.c_str(), usage_head, table2::common_usage);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    table2::Options opt;
    int table = 2;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::printf("%s  --table 2|3            which survey table [2]\n%s", usage_head, table2::common_usage);
            return 0;
        }
        if (a == "--table") {
            if (i + 1 >= argc) usage("missing value after --table");
            const std::string v = argv[++i];
            if (v == "2") table = 2;
            else if (v == "3") table = 3;
            else usage("--table must be 2 or 3, not " + v);
        } else if (!table2::parse_common(opt, argc, argv, i, usage)) {
            usage("unknown argument " + a);
        }
    }
    if (table == 3) {
        std::fprintf(stderr,
                     "reproduce: Table 3 (DeepFashion-C2S retrieval) has no seam model yet; the metric and the table "
                     "writer exist (seam-eval, seam/eval/tables.hpp), the models come with their issues.\n");
        return 2;
    }
    table2::check(opt, usage);
    if (opt.log_dir.empty()) opt.log_dir = "runs/reproduce";
    try {
        table2::run_device(opt);  // --device cuda on a build without CUDA fails here, before any data work
        if (opt.threads > 0) seam::set_num_threads(opt.threads);
        const auto start = table2::Clock::now();
        const int input = opt.input_size;
        table2::Data d = table2::load_data(opt, input);
        std::printf("Table 2 on %s, %s profile, %lld epochs per model, %d threads, load average %s\n", d.name.c_str(),
                    opt.profile.c_str(), (long long)opt.epochs, seam::num_threads(), table2::load_average().c_str());

        std::vector<table2::ModelRun> runs;
        runs.push_back(table2::run_fashionnet(opt, d, opt.log_dir + "/fashionnet"));
        if (!runs.back().finished) {
            std::fprintf(stderr, "reproduce: FashionNet stopped: %s\n", runs.back().stop_message.c_str());
            return 130;
        }
        runs.push_back(table2::run_vgg_baseline(opt, d, opt.log_dir + "/vgg16"));

        const seam::eval::CategoryAttributeTable t = table2::make_table(runs, d, opt);
        std::printf("\n%s\n", seam::eval::to_markdown(t).c_str());
        for (const auto& r : runs) {
            std::printf("%s: %lld parameters, trained in %.1f s", r.name.c_str(), (long long)r.parameters, r.train_seconds);
            if (r.evaluation.landmark_error)
                std::printf("; landmark normalised error %.4f (paper, DeepFashion-C: 0.0872)", *r.evaluation.landmark_error);
            std::printf("\n");
        }
        const auto& fashionnet = runs[0].evaluation;
        const auto& vgg = runs[1].evaluation;
        const double f3 = fashionnet.category[1], v3 = vgg.category[1];
        const double f5 = fashionnet.attributes.all_recall[1].value_or(0), v5 = vgg.attributes.all_recall[1].value_or(0);
        std::printf("FashionNet vs the plain VGG-16 classifier: category top-3 %+.2f points, attribute All top-5 %+.2f points\n",
                    100 * (f3 - v3), 100 * (f5 - v5));
        std::filesystem::create_directories(opt.log_dir);
        {
            std::ofstream md(opt.log_dir + "/table2.md"), csv(opt.log_dir + "/table2.csv");
            md << seam::eval::to_markdown(t);
            csv << seam::eval::to_csv(t);
        }
        const double wall = table2::seconds_since(start);
        std::ostringstream js;
        js.precision(10);
        js << "{\"example\":\"reproduce\",\"table\":2,\"profile\":\"" << opt.profile << "\",\"data\":"
           << table2::json_string(d.name) << ",\"split\":\"" << opt.split << "\",\"epochs\":" << opt.epochs
           << ",\"threads\":" << seam::num_threads() << ",\"seed\":" << opt.seed << ",\"wall_seconds\":" << wall
           << ",\"models\":[";
        for (size_t i = 0; i < runs.size(); ++i) js << (i ? "," : "") << table2::run_json(runs[i]);
        js << "],\"table_2\":" << seam::eval::to_json(t) << "}";
        if (!opt.out.empty()) {
            std::ofstream f(opt.out);
            if (!f) seam::fail("cannot write ", opt.out);
            f << js.str() << "\n";
        }
        std::printf("\nSUMMARY {\"example\":\"reproduce\",\"table\":2,\"profile\":\"%s\",\"fashionnet_category_top3\":%.4f,"
                    "\"vgg16_category_top3\":%.4f,\"fashionnet_attribute_all_top5\":%.4f,\"vgg16_attribute_all_top5\":%.4f,"
                    "\"fashionnet_landmark_error\":%.4f,\"wall_seconds\":%.1f,\"threads\":%d,\"seed\":%llu}\n",
                    opt.profile.c_str(), f3, v3, f5, v5, fashionnet.landmark_error.value_or(std::nan("")), wall,
                    seam::num_threads(), (unsigned long long)opt.seed);
        return 0;
    } catch (const seam::Error& e) {
        std::fprintf(stderr, "reproduce: error: %s\n", e.what());
        return 1;
    }
}
