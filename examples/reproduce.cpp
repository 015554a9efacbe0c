// reproduce — the main job: train and evaluate every model of a survey table that seam has, and
// print the table with the papers' rows beside the measured ones.
//
//   reproduce --table 2 [--data DIR] [--profile cpu|paper] [--epochs N] [--seeds N] ... [--out FILE.json]
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
//
// --seeds N trains both models N times, with seeds S, S+1, ... (S = --seed) on the same data, and
// adds the mean and sample standard deviation over the seeds of each acceptance figure and of the
// paired FashionNet - VGG difference: on a small data set two models a point apart are within what a
// seed changes, and one run cannot say which is better. Each seed's models, tables and logs go
// under --log-dir/seed<S>/.
#include <algorithm>
#include <cmath>

#include "common/table2_run.hpp"

namespace {

const char* const usage_head = "usage: reproduce --table 2 [flags]\n";
const char* const seeds_usage =
    "  --seeds N             train both models with N seeds (--seed, --seed + 1, ...) and report the\n"
    "                        mean and standard deviation over them [1]\n";

/// One seed's two trained models (FashionNet first, then the plain VGG-16 classifier) and its table.
struct SeedRun {
    uint64_t seed = 0;
    std::vector<table2::ModelRun> runs;
    seam::eval::CategoryAttributeTable table;
};

/// The two acceptance figures of a model: category top-3 accuracy and attribute All top-5 recall.
double category_top3(const table2::ModelRun& r) { return r.evaluation.category[1]; }
double attribute_all_top5(const table2::ModelRun& r) { return r.evaluation.attributes.all_recall[1].value_or(0); }

struct MeanStd {
    double mean = 0, std = 0;  // sample standard deviation (n - 1); 0 for one value
};
MeanStd mean_std(const std::vector<double>& v) {
    MeanStd m;
    for (double x : v) m.mean += x;
    m.mean /= static_cast<double>(v.size());
    if (v.size() > 1) {
        double sq = 0;
        for (double x : v) sq += (x - m.mean) * (x - m.mean);
        m.std = std::sqrt(sq / static_cast<double>(v.size() - 1));
    }
    return m;
}

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr, "reproduce: %s\n%s%s%s", problem.c_str(), usage_head, seeds_usage, table2::common_usage);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    table2::Options opt;
    int table = 2;
    int seeds = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::printf("%s  --table 2|3            which survey table [2]\n%s%s", usage_head, seeds_usage,
                        table2::common_usage);
            return 0;
        }
        if (a == "--table") {
            if (i + 1 >= argc) usage("missing value after --table");
            const std::string v = argv[++i];
            if (v == "2") table = 2;
            else if (v == "3") table = 3;
            else usage("--table must be 2 or 3, not " + v);
        } else if (a == "--seeds") {
            if (i + 1 >= argc) usage("missing value after --seeds");
            const std::string v = argv[++i];
            try {
                size_t used = 0;
                seeds = std::stoi(v, &used);
                if (used != v.size()) throw std::invalid_argument(v);
            } catch (const std::exception&) {
                usage("bad number for --seeds: " + v);
            }
            if (seeds < 1 || seeds > 100) usage("--seeds must be between 1 and 100, not " + v);
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

        std::vector<SeedRun> done;
        for (int k = 0; k < seeds; ++k) {
            table2::Options o = opt;
            o.seed = opt.seed + static_cast<uint64_t>(k);
            if (seeds > 1) {
                o.log_dir = opt.log_dir + "/seed" + std::to_string(o.seed);
                std::printf("\n=== seed %llu (%d of %d)\n", (unsigned long long)o.seed, k + 1, seeds);
            }
            SeedRun sr;
            sr.seed = o.seed;
            sr.runs.push_back(table2::run_fashionnet(o, d, o.log_dir + "/fashionnet"));
            if (!sr.runs.back().finished) {
                std::fprintf(stderr, "reproduce: FashionNet stopped: %s\n", sr.runs.back().stop_message.c_str());
                return 130;
            }
            sr.runs.push_back(table2::run_vgg_baseline(o, d, o.log_dir + "/vgg16"));
            sr.table = table2::make_table(sr.runs, d, o);
            std::printf("\n%s\n", seam::eval::to_markdown(sr.table).c_str());
            for (const auto& r : sr.runs) {
                std::printf("%s: %lld parameters, trained in %.1f s", r.name.c_str(), (long long)r.parameters,
                            r.train_seconds);
                if (r.evaluation.landmark_error)
                    std::printf("; landmark normalised error %.4f (paper, DeepFashion-C: 0.0872)", *r.evaluation.landmark_error);
                std::printf("\n");
            }
            std::printf("FashionNet vs the plain VGG-16 classifier%s: category top-3 %+.2f points, attribute All top-5 "
                        "%+.2f points\n",
                        seeds > 1 ? (" (seed " + std::to_string(o.seed) + ")").c_str() : "",
                        100 * (category_top3(sr.runs[0]) - category_top3(sr.runs[1])),
                        100 * (attribute_all_top5(sr.runs[0]) - attribute_all_top5(sr.runs[1])));
            if (seeds > 1) {  // each seed's own table; the one-seed table is the top-level file below
                std::filesystem::create_directories(o.log_dir);
                std::ofstream md(o.log_dir + "/table2.md"), csv(o.log_dir + "/table2.csv");
                md << seam::eval::to_markdown(sr.table);
                csv << seam::eval::to_csv(sr.table);
            }
            done.push_back(std::move(sr));
        }

        // Each acceptance figure over the seeds: FashionNet, VGG, and the paired difference.
        auto over_seeds = [&](double (*figure)(const table2::ModelRun&), size_t model) {
            std::vector<double> v;
            for (const auto& sr : done) v.push_back(figure(sr.runs[model]));
            return v;
        };
        auto differences = [&](double (*figure)(const table2::ModelRun&)) {
            std::vector<double> v;
            for (const auto& sr : done) v.push_back(figure(sr.runs[0]) - figure(sr.runs[1]));
            return v;
        };
        const MeanStd f3 = mean_std(over_seeds(category_top3, 0)), v3 = mean_std(over_seeds(category_top3, 1));
        const MeanStd f5 = mean_std(over_seeds(attribute_all_top5, 0)), v5 = mean_std(over_seeds(attribute_all_top5, 1));
        const std::vector<double> d3 = differences(category_top3), d5 = differences(attribute_all_top5);
        const MeanStd m3 = mean_std(d3), m5 = mean_std(d5);
        auto wins = [](const std::vector<double>& v) { return std::count_if(v.begin(), v.end(), [](double x) { return x > 0; }); };
        std::string summary_md;
        if (seeds > 1) {
            char buf[1024];
            std::snprintf(buf, sizeof buf,
                          "\n## Over %d seeds (%llu..%llu): mean +- sample standard deviation, points\n\n"
                          "| model | category top-3 | attribute All top-5 |\n|---|---|---|\n"
                          "| FashionNet | %.2f +- %.2f | %.2f +- %.2f |\n"
                          "| plain VGG-16 classifier | %.2f +- %.2f | %.2f +- %.2f |\n"
                          "| FashionNet - VGG (paired by seed) | %+.2f +- %.2f (FashionNet ahead in %d of %d) | "
                          "%+.2f +- %.2f (ahead in %d of %d) |\n",
                          seeds, (unsigned long long)done.front().seed, (unsigned long long)done.back().seed,
                          100 * f3.mean, 100 * f3.std, 100 * f5.mean, 100 * f5.std, 100 * v3.mean, 100 * v3.std,
                          100 * v5.mean, 100 * v5.std, 100 * m3.mean, 100 * m3.std, (int)wins(d3), seeds, 100 * m5.mean,
                          100 * m5.std, (int)wins(d5), seeds);
            summary_md = buf;
            std::printf("%s", summary_md.c_str());
        }
        std::filesystem::create_directories(opt.log_dir);
        {
            std::ofstream md(opt.log_dir + "/table2.md"), csv(opt.log_dir + "/table2.csv");
            for (const auto& sr : done) {
                if (seeds > 1) md << "## Seed " << sr.seed << "\n\n";
                md << seam::eval::to_markdown(sr.table) << (seeds > 1 ? "\n" : "");
                csv << seam::eval::to_csv(sr.table);
            }
            md << summary_md;
        }
        const double wall = table2::seconds_since(start);
        std::ostringstream js;
        js.precision(10);
        js << "{\"example\":\"reproduce\",\"table\":2,\"profile\":\"" << opt.profile << "\",\"data\":"
           << table2::json_string(d.name) << ",\"split\":\"" << opt.split << "\",\"epochs\":" << opt.epochs
           << ",\"threads\":" << seam::num_threads() << ",\"seed\":" << opt.seed << ",\"seeds\":" << seeds
           << ",\"wall_seconds\":" << wall;
        if (seeds == 1) {  // the single-seed layout, as before
            js << ",\"models\":[";
            for (size_t i = 0; i < done[0].runs.size(); ++i) js << (i ? "," : "") << table2::run_json(done[0].runs[i]);
            js << "],\"table_2\":" << seam::eval::to_json(done[0].table);
        } else {
            js << ",\"per_seed\":[";
            for (size_t k = 0; k < done.size(); ++k) {
                js << (k ? "," : "") << "{\"seed\":" << done[k].seed << ",\"models\":[";
                for (size_t i = 0; i < done[k].runs.size(); ++i) js << (i ? "," : "") << table2::run_json(done[k].runs[i]);
                js << "],\"table_2\":" << seam::eval::to_json(done[k].table) << "}";
            }
            auto ms = [&](const MeanStd& m) {
                std::ostringstream o;
                o.precision(10);
                o << "{\"mean\":" << m.mean << ",\"std\":" << m.std << "}";
                return o.str();
            };
            js << "],\"over_seeds\":{\"fashionnet_category_top3\":" << ms(f3) << ",\"vgg16_category_top3\":" << ms(v3)
               << ",\"fashionnet_attribute_all_top5\":" << ms(f5) << ",\"vgg16_attribute_all_top5\":" << ms(v5)
               << ",\"difference_category_top3\":" << ms(m3) << ",\"difference_attribute_all_top5\":" << ms(m5)
               << ",\"fashionnet_ahead_category_top3\":" << wins(d3) << ",\"fashionnet_ahead_attribute_all_top5\":"
               << wins(d5) << "}";
        }
        js << "}";
        if (!opt.out.empty()) {
            std::ofstream f(opt.out);
            if (!f) seam::fail("cannot write ", opt.out);
            f << js.str() << "\n";
        }
        const auto& first = done[0].runs[0].evaluation;
        // With several seeds the figures are means over them (the landmark error: the first seed's).
        std::printf("\nSUMMARY {\"example\":\"reproduce\",\"table\":2,\"profile\":\"%s\",\"fashionnet_category_top3\":%.4f,"
                    "\"vgg16_category_top3\":%.4f,\"fashionnet_attribute_all_top5\":%.4f,\"vgg16_attribute_all_top5\":%.4f,"
                    "\"fashionnet_landmark_error\":%.4f,\"wall_seconds\":%.1f,\"threads\":%d,\"seed\":%llu,\"seeds\":%d}\n",
                    opt.profile.c_str(), f3.mean, v3.mean, f5.mean, v5.mean, first.landmark_error.value_or(std::nan("")),
                    wall, seam::num_threads(), (unsigned long long)opt.seed, seeds);
        return 0;
    } catch (const seam::Error& e) {
        std::fprintf(stderr, "reproduce: error: %s\n", e.what());
        return 1;
    }
}
