// The Trainer loop (seam/train/trainer.hpp) and the training log (seam/train/log.hpp): a small
// regression problem trained end to end, NaN detection, Ctrl-C, exact resume, and the log files.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <seam/data/image.hpp>
#include <seam/data/loader.hpp>
#include <seam/seam.hpp>
#include <seam/train/log.hpp>
#include <seam/train/trainer.hpp>
#include <sstream>
#include <string>
#include <vector>

using namespace seam;
using namespace seam::train;

namespace {

/// y = x·(1.5, -2, 0.5) + 0.25 + small noise, 48 samples of 3 features, fixed by a seed.
struct Regression {
    static constexpr int64_t kSamples = 48, kFeatures = 3;
    std::vector<double> x, y;
    Regression() {
        Generator gen(2024);
        const double w[kFeatures] = {1.5, -2.0, 0.5};
        for (int64_t i = 0; i < kSamples; ++i) {
            double target = 0.25;
            for (int64_t f = 0; f < kFeatures; ++f) {
                double v = gen.uniform() * 2.0 - 1.0;
                x.push_back(v);
                target += w[f] * v;
            }
            y.push_back(target + 0.01 * (gen.uniform() - 0.5));
        }
    }
    /// The rows `indices` as ([B, 3], [B, 1]) tensors.
    std::pair<Tensor<double>, Tensor<double>> batch(const std::vector<size_t>& indices) const {
        std::vector<double> bx, by;
        for (size_t i : indices) {
            bx.insert(bx.end(), x.begin() + static_cast<std::ptrdiff_t>(i * kFeatures),
                      x.begin() + static_cast<std::ptrdiff_t>((i + 1) * kFeatures));
            by.push_back(y[i]);
        }
        const int64_t n = static_cast<int64_t>(indices.size());
        return {from_vector<double>(bx, {n, kFeatures}), from_vector<double>(by, {n, 1})};
    }
    std::vector<size_t> all() const {
        std::vector<size_t> out(kSamples);
        for (size_t i = 0; i < out.size(); ++i) out[i] = i;
        return out;
    }
};

/// A small MLP with dropout, so training draws from default_generator() (what resume must restore).
std::shared_ptr<nn::Sequential<double>> make_mlp() {
    return std::make_shared<nn::Sequential<double>>(std::initializer_list<nn::Sequential<double>::ModulePtr>{
        std::make_shared<nn::Linear<double>>(3, 16), std::make_shared<nn::Tanh<double>>(),
        std::make_shared<nn::Dropout<double>>(0.2), std::make_shared<nn::Linear<double>>(16, 1)});
}

std::vector<std::vector<double>> weights_of(const nn::Module<double>& model) {
    std::vector<std::vector<double>> out;
    for (const auto& p : model.parameters()) out.push_back(p.contiguous().to_vector());
    return out;
}

/// Bit-for-bit equality (== would also accept -0.0 for 0.0).
bool same_bits(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].size() != b[i].size() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(double)) != 0)
            return false;
    return true;
}

/// A fresh, empty folder under the system temp dir, removed by the destructor.
struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& name) {
        path = std::filesystem::temp_directory_path() / ("seam_test_trainer_" + name + "_" + std::to_string(::getpid()));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string str() const { return path.string(); }
};

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

/// Records the global step of every save, on top of keeping the snapshots.
struct RecordingCheckpointer : MemoryCheckpointer<double> {
    std::vector<int64_t> saved_steps;
    void save(const std::string& path, const nn::Module<double>& model, const optim::Optimizer<double>& optimizer,
              const optim::LRScheduler<double>* scheduler, const LoopState& state,
              const NamedGenerators& generators) override {
        saved_steps.push_back(state.global_step);
        MemoryCheckpointer<double>::save(path, model, optimizer, scheduler, state, generators);
    }
};

/// One run of the MLP with Adam + StepLR + an evaluation hook, optionally resumed, optionally
/// raising SIGINT inside the step function at global step `interrupt_at` (1-based; 0 = never).
struct RunResult {
    FitResult fit;
    std::vector<std::vector<double>> weights;
};
RunResult run_mlp(const Regression& data, uint64_t init_seed, int64_t epochs, std::shared_ptr<Checkpointer<double>> store,
                  const std::string& path, bool resume, int64_t interrupt_at, uint64_t data_seed = 5) {
    manual_seed(init_seed);
    auto model = make_mlp();
    optim::Adam<double> optimizer(model->parameters(), {.lr = 0.02});
    optim::LRScheduler<double> scheduler(optimizer, std::make_shared<optim::StepLR>(2, 0.5));
    Trainer<double> trainer(*model, optimizer,
                            {.epochs = epochs, .checkpoint_path = path, .resume_from = resume ? path : "", .output = nullptr});
    trainer.set_checkpointer(store);
    trainer.set_scheduler(scheduler);
    // Input noise from a generator of the caller's: the trainer must save and restore it too.
    Generator noise(init_seed + 1);
    trainer.track_generator("noise", noise);
    trainer.set_evaluation([&](int64_t) {
        auto [x, y] = data.batch(data.all());
        return Metrics{{"val_mse", mse_loss(model->forward(x), y).item()}};
    });
    IndexBatches batches(Regression::kSamples, 8, data_seed);
    int64_t calls = 0;
    FitResult fit = trainer.fit(batches, [&](const std::vector<size_t>& indices) {
        auto [x, y] = data.batch(indices);
        Tensor<double> loss = mse_loss(model->forward(x + randn<double>(x.shape(), noise) * 0.01), y);
        if (++calls == interrupt_at) ::raise(SIGINT);
        return loss;
    });
    return {fit, weights_of(*model)};
}

}  // namespace

TEST_CASE("Trainer: a linear regression's loss falls - one log row per epoch - evaluation runs in eval mode") {
    Regression data;
    manual_seed(1);
    nn::Linear<double> model(3, 1);
    optim::SGD<double> optimizer(model.parameters(), {.lr = 0.2});
    Trainer<double> trainer(model, optimizer, {.epochs = 10, .output = nullptr});
    std::vector<double> returned;
    std::vector<bool> eval_mode, grads_on;
    trainer.set_evaluation([&](int64_t) {
        eval_mode.push_back(!model.is_training());
        grads_on.push_back(grad_enabled());
        auto [x, y] = data.batch(data.all());
        returned.push_back(mse_loss(model.forward(x), y).item());
        return Metrics{{"val_mse", returned.back()}};
    });
    IndexBatches batches(Regression::kSamples, 8, 3);
    FitResult result = trainer.fit(batches, [&](const std::vector<size_t>& indices) {
        auto [x, y] = data.batch(indices);
        return mse_loss(model.forward(x), y);
    });
    REQUIRE(result.finished());
    CHECK(result.global_step == 60);  // 10 epochs x 48/8 batches
    const TrainingLog& log = result.log;
    REQUIRE(log.size() == 10);
    CHECK(log.columns() == std::vector<std::string>{"epoch", "step", "train_loss", "lr", "seconds", "val_mse"});
    for (int64_t e = 0; e < 10; ++e) {
        const EpochRecord& r = log.records()[static_cast<size_t>(e)];
        CHECK(r.epoch == e + 1);
        CHECK(r.step == 6 * (e + 1));
        CHECK(r.lr == 0.2);
        CHECK(r.seconds >= 0.0);
        CHECK(r.metrics.at(0).second == returned[static_cast<size_t>(e)]);
        CHECK(eval_mode[static_cast<size_t>(e)]);
        CHECK_FALSE(grads_on[static_cast<size_t>(e)]);
    }
    CHECK(model.is_training());  // back in training mode after the last evaluation
    const std::vector<double> loss = log.column("train_loss");
    CHECK(loss.back() < loss.front() / 20.0);
    CHECK(returned.back() < 1e-3);
    // The fitted weights are the generating ones (noise is +-0.005).
    const auto w = model.weight.to_vector();
    CHECK(w[0] == doctest::Approx(1.5).epsilon(0.02));
    CHECK(w[1] == doctest::Approx(-2.0).epsilon(0.02));
    CHECK(w[2] == doctest::Approx(0.5).epsilon(0.04));
    CHECK(model.bias.item() == doctest::Approx(0.25).epsilon(0.04));
}

TEST_CASE("Trainer: the train_loss column is the mean of the epoch's step losses - a per-step scheduler moves lr") {
    Regression data;
    manual_seed(1);
    nn::Linear<double> model(3, 1);
    optim::SGD<double> optimizer(model.parameters(), {.lr = 0.1});
    // Per step: lr = 0.1 * 0.5^floor(step / 3): steps 0-2 use 0.1, 3-5 use 0.05, 6-8 0.025, ...
    optim::LRScheduler<double> scheduler(optimizer, std::make_shared<optim::StepLR>(3, 0.5));
    Trainer<double> trainer(model, optimizer, {.epochs = 2, .scheduler_per_step = true, .output = nullptr});
    trainer.set_scheduler(scheduler);
    std::vector<double> losses, lrs;
    IndexBatches batches(Regression::kSamples, 8, 3);
    FitResult result = trainer.fit(batches, [&](const std::vector<size_t>& indices) {
        auto [x, y] = data.batch(indices);
        lrs.push_back(optimizer.lr());
        Tensor<double> loss = mse_loss(model.forward(x), y);
        losses.push_back(loss.item());
        return loss;
    });
    REQUIRE(losses.size() == 12);
    CHECK(lrs == std::vector<double>{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125});
    double first = 0, second = 0;
    for (int i = 0; i < 6; ++i) first += losses[static_cast<size_t>(i)], second += losses[static_cast<size_t>(i + 6)];
    REQUIRE(result.log.size() == 2);
    CHECK(result.log.records()[0].train_loss == doctest::Approx(first / 6).epsilon(1e-15));
    CHECK(result.log.records()[1].train_loss == doctest::Approx(second / 6).epsilon(1e-15));
    CHECK(result.log.records()[0].lr == 0.05);    // the rate of the epoch's last step
    CHECK(result.log.records()[1].lr == 0.0125);
}

TEST_CASE("Trainer: a NaN loss stops before the optimizer step, naming the epoch and step") {
    Regression data;
    manual_seed(1);
    nn::Linear<double> model(3, 1);
    optim::SGD<double> optimizer(model.parameters(), {.lr = 0.1});
    Trainer<double> trainer(model, optimizer, {.epochs = 5, .output = nullptr});
    IndexBatches batches(Regression::kSamples, 8, 3);
    int64_t calls = 0;
    std::vector<std::vector<double>> before_bad_step;
    FitResult result = trainer.fit(batches, [&](const std::vector<size_t>& indices) {
        auto [x, y] = data.batch(indices);
        Tensor<double> loss = mse_loss(model.forward(x), y);
        if (++calls == 9) {  // epoch 2, step 3 (6 batches an epoch)
            before_bad_step = weights_of(model);
            return loss * std::numeric_limits<double>::quiet_NaN();
        }
        return loss;
    });
    CHECK(result.reason == StopReason::non_finite_loss);
    CHECK(calls == 9);
    CHECK(result.epoch == 2);
    CHECK(result.step == 3);
    CHECK(result.global_step == 8);
    CHECK(std::isnan(result.last_loss));
    CHECK_MESSAGE(result.message.find("loss is nan at epoch 2, step 3 of 6 (global step 9)") != std::string::npos,
                  result.message);
    CHECK(same_bits(weights_of(model), before_bad_step));  // the bad step changed nothing
    CHECK(result.log.size() == 1);                          // epoch 1 finished, epoch 2 did not
}

TEST_CASE("Trainer: an infinite loss at the very first step stops too") {
    Regression data;
    manual_seed(1);
    nn::Linear<double> model(3, 1);
    const auto initial = weights_of(model);
    optim::SGD<double> optimizer(model.parameters(), {.lr = 0.1});
    Trainer<double> trainer(model, optimizer, {.epochs = 1, .output = nullptr});
    IndexBatches batches(Regression::kSamples, 8, 3);
    FitResult result = trainer.fit(batches, [&](const std::vector<size_t>& indices) {
        auto [x, y] = data.batch(indices);
        return mse_loss(model.forward(x), y) / 0.0;
    });
    CHECK(result.reason == StopReason::non_finite_loss);
    CHECK(result.message.find("loss is inf at epoch 1, step 1 of 6 (global step 1)") != std::string::npos);
    CHECK(same_bits(weights_of(model), initial));
    CHECK(result.log.empty());
}

TEST_CASE("Trainer: the step function must return a scalar") {
    Regression data;
    nn::Linear<double> model(3, 1);
    optim::SGD<double> optimizer(model.parameters(), {.lr = 0.1});
    Trainer<double> trainer(model, optimizer, {.epochs = 1, .output = nullptr});
    IndexBatches batches(Regression::kSamples, 8, 3);
    CHECK_THROWS_WITH_AS(trainer.fit(batches,
                                     [&](const std::vector<size_t>& indices) {
                                         auto [x, y] = data.batch(indices);
                                         return model.forward(x);  // [8, 1], not a loss
                                     }),
                         doctest::Contains("must return a scalar loss, got [8, 1]"), Error);
}

TEST_CASE("Trainer: SIGINT finishes the current step, saves a checkpoint and returns - the old handler comes back") {
    Regression data;
    auto store = std::make_shared<MemoryCheckpointer<double>>();
    struct sigaction before {};
    ::sigaction(SIGINT, nullptr, &before);
    RunResult run = run_mlp(data, 7, 4, store, "mem:mlp", false, /*interrupt_at=*/10);
    CHECK(run.fit.reason == StopReason::interrupted);
    CHECK(run.fit.global_step == 10);  // the step in which Ctrl-C arrived was completed
    CHECK(run.fit.epoch == 2);
    CHECK(run.fit.step == 4);
    CHECK(run.fit.checkpoint == "mem:mlp");
    CHECK(run.fit.message.find("interrupted (Ctrl-C) after epoch 2, step 4 of 6 (global step 10)") != std::string::npos);
    REQUIRE(store->contains("mem:mlp"));
    const LoopState& saved = store->state("mem:mlp");
    CHECK(saved.epoch == 1);  // 0-based: the second epoch
    CHECK(saved.batch == 4);
    CHECK(saved.global_step == 10);
    CHECK(saved.order == data::epoch_order(Regression::kSamples, 5, 1, true));
    CHECK(saved.samples == 32);  // 4 batches of 8
    CHECK(saved.log.size() == 1);
    struct sigaction after {};
    ::sigaction(SIGINT, nullptr, &after);
    CHECK((after.sa_handler == before.sa_handler));
}

TEST_CASE("Trainer: resuming from the Ctrl-C checkpoint reproduces the uninterrupted run bit for bit") {
    Regression data;
    auto reference_store = std::make_shared<MemoryCheckpointer<double>>();
    const RunResult reference = run_mlp(data, 7, 4, reference_store, "mem:mlp", false, 0);
    REQUIRE(reference.fit.finished());
    REQUIRE(reference.fit.global_step == 24);
    // Mid-epoch, at the last batch of an epoch (the checkpoint then holds the next epoch), and at step 1.
    for (int64_t k : {10, 12, 1, 23}) {
        CAPTURE(k);
        auto store = std::make_shared<MemoryCheckpointer<double>>();
        const RunResult stopped = run_mlp(data, 7, 4, store, "mem:mlp", false, k);
        REQUIRE(stopped.fit.reason == StopReason::interrupted);
        CHECK_FALSE(same_bits(stopped.weights, reference.weights));
        // A different initialisation: everything must come from the checkpoint.
        const RunResult resumed = run_mlp(data, 12345, 4, store, "mem:mlp", true, 0);
        REQUIRE(resumed.fit.finished());
        CHECK(resumed.fit.global_step == 24);
        CHECK(same_bits(resumed.weights, reference.weights));
        // The log is the same too, apart from the wall times.
        REQUIRE(resumed.fit.log.size() == reference.fit.log.size());
        for (size_t e = 0; e < reference.fit.log.size(); ++e) {
            const EpochRecord& a = reference.fit.log.records()[e];
            const EpochRecord& b = resumed.fit.log.records()[e];
            CHECK(a.epoch == b.epoch);
            CHECK(a.step == b.step);
            CHECK(a.train_loss == b.train_loss);
            CHECK(a.lr == b.lr);
            CHECK(a.metrics == b.metrics);
        }
    }
}

TEST_CASE("Trainer: a resume whose data order differs from the checkpoint's is refused") {
    Regression data;
    auto store = std::make_shared<MemoryCheckpointer<double>>();
    run_mlp(data, 7, 4, store, "mem:mlp", false, 10);
    CHECK_THROWS_WITH_AS(run_mlp(data, 7, 4, store, "mem:mlp", true, 0, /*data_seed=*/6),
                         doctest::Contains("the sample order of epoch 2 differs from the one in the checkpoint"), Error);
}

TEST_CASE("Trainer: checkpoints every N steps, and none repeated at the end") {
    Regression data;
    manual_seed(3);
    nn::Linear<double> model(3, 1);
    optim::SGD<double> optimizer(model.parameters(), {.lr = 0.1});
    auto store = std::make_shared<RecordingCheckpointer>();
    Trainer<double> trainer(model, optimizer,
                            {.epochs = 2, .checkpoint_path = "mem:lin", .checkpoint_every = 4, .output = nullptr});
    trainer.set_checkpointer(store);
    IndexBatches batches(Regression::kSamples, 8, 3);
    auto step = [&](const std::vector<size_t>& indices) {
        auto [x, y] = data.batch(indices);
        return mse_loss(model.forward(x), y);
    };
    FitResult result = trainer.fit(batches, step);
    CHECK(store->saved_steps == std::vector<int64_t>{4, 8, 12});
    const LoopState& last = store->state("mem:lin");
    CHECK(last.epoch == 2);  // all done: the next epoch would be the third
    CHECK(last.batch == 0);
    CHECK(last.log.size() == 2);
    // With 5-step spacing the end (step 12) is not a multiple: one extra save at the end.
    store->saved_steps.clear();
    Trainer<double> spaced(model, optimizer,
                           {.epochs = 2, .checkpoint_path = "mem:lin", .checkpoint_every = 5, .output = nullptr});
    spaced.set_checkpointer(store);
    spaced.fit(batches, step);
    CHECK(store->saved_steps == std::vector<int64_t>{5, 10, 12});
    CHECK(result.finished());
}

TEST_CASE("Trainer: over a DataLoader, a resumed run equals the uninterrupted one") {
    Regression data;
    auto load = [&](size_t index, Generator& rng) {
        // Input noise from the per-sample generator, so the loader's randomness matters too.
        std::vector<double> row(data.x.begin() + static_cast<std::ptrdiff_t>(index * 3),
                                data.x.begin() + static_cast<std::ptrdiff_t>(index * 3 + 3));
        for (double& v : row) v += 0.01 * (rng.uniform() - 0.5);
        return std::make_pair(row, data.y[index]);
    };
    auto collate = [](std::vector<std::pair<std::vector<double>, double>>&& samples) {
        std::vector<double> x, y;
        for (auto& [row, target] : samples) x.insert(x.end(), row.begin(), row.end()), y.push_back(target);
        const int64_t n = static_cast<int64_t>(samples.size());
        return std::make_pair(from_vector<double>(x, {n, 3}), from_vector<double>(y, {n, 1}));
    };
    auto run = [&](uint64_t init_seed, std::shared_ptr<Checkpointer<double>> store, const std::string& resume, int64_t stop_at) {
        manual_seed(init_seed);
        nn::Linear<double> model(3, 1);
        optim::SGD<double> optimizer(model.parameters(), {.lr = 0.1, .momentum = 0.9});
        data::DataLoader loader(static_cast<size_t>(Regression::kSamples), load, collate,
                                {.batch_size = 10, .seed = 4, .workers = 1});  // 5 batches, the last one of 8
        Trainer<double> trainer(model, optimizer,
                                {.epochs = 3, .checkpoint_path = "mem:loader", .resume_from = resume, .output = nullptr});
        trainer.set_checkpointer(store);
        int64_t calls = 0;
        FitResult fit = trainer.fit(loader, [&](const std::pair<Tensor<double>, Tensor<double>>& batch) {
            if (++calls == stop_at) ::raise(SIGINT);
            return mse_loss(model.forward(batch.first), batch.second);
        });
        return std::make_pair(fit, weights_of(model));
    };
    auto store = std::make_shared<MemoryCheckpointer<double>>();
    auto [reference, reference_weights] = run(1, store, "", 0);
    REQUIRE(reference.finished());
    CHECK(reference.global_step == 15);
    CHECK(reference.log.records().back().train_loss < reference.log.records().front().train_loss);
    auto [stopped, stopped_weights] = run(1, store, "", 7);
    REQUIRE(stopped.reason == StopReason::interrupted);
    auto [resumed, resumed_weights] = run(99, store, "mem:loader", 0);
    REQUIRE(resumed.finished());
    CHECK(same_bits(resumed_weights, reference_weights));
}

TEST_CASE("Trainer: writes log.csv, log.json and the plots to log_dir - the CSV reads back equal") {
    Regression data;
    TempDir dir("logs");
    manual_seed(1);
    nn::Linear<double> model(3, 1);
    optim::SGD<double> optimizer(model.parameters(), {.lr = 0.2});
    Trainer<double> trainer(model, optimizer, {.epochs = 3, .log_dir = dir.str(), .output = nullptr});
    trainer.set_evaluation([&](int64_t epoch) {
        return Metrics{{"val_mse", 1.0 / static_cast<double>(epoch)}, {"val_top1", 0.5 + 0.1 * static_cast<double>(epoch)}};
    });
    IndexBatches batches(Regression::kSamples, 8, 3);
    FitResult result = trainer.fit(batches, [&](const std::vector<size_t>& indices) {
        auto [x, y] = data.batch(indices);
        return mse_loss(model.forward(x), y);
    });
    REQUIRE(result.finished());
    const std::string csv = read_text(dir.str() + "/log.csv");
    CHECK(csv.substr(0, csv.find('\n')) == "epoch,step,train_loss,lr,seconds,val_mse,val_top1");
    CHECK(std::count(csv.begin(), csv.end(), '\n') == 4);  // header + 3 epochs
    CHECK(read_text(dir.str() + "/log.json") == result.log.to_json());
    CHECK_FALSE(std::filesystem::exists(dir.str() + "/log.csv.tmp"));

    const TrainingLog back = read_training_csv(dir.str() + "/log.csv");
    REQUIRE(back.size() == 3);
    CHECK(back.columns() == result.log.columns());
    for (const std::string& column : back.columns()) CHECK(back.column(column) == result.log.column(column));
    CHECK(back.column("val_mse") == std::vector<double>{1.0, 0.5, 1.0 / 3.0});

    // loss.png (train_loss) and metrics.png (val_mse, val_top1) decode.
    const data::Image loss_png = data::read_image(dir.str() + "/loss.png");
    CHECK(loss_png.width == 720);
    CHECK(loss_png.height == 440);
    CHECK(std::filesystem::exists(dir.str() + "/metrics.png"));
    // The default checkpoint is a file inside log_dir, written at the end.
    CHECK(result.checkpoint == dir.str() + "/checkpoint.safetensors");
    CHECK(std::filesystem::exists(result.checkpoint));
}

TEST_CASE("TrainingLog: CSV and JSON text of a hand-made log (missing metric, NaN, shortest numbers)") {
    TrainingLog log;
    log.add({1, 10, 0.5, 0.1, 2.25, {{"val_top1", 0.75}}});
    log.add({2, 20, std::numeric_limits<double>::quiet_NaN(), 0.05, 2.0, {{"val_top5", 1e-05}}});
    CHECK(log.columns() == std::vector<std::string>{"epoch", "step", "train_loss", "lr", "seconds", "val_top1", "val_top5"});
    CHECK(log.to_csv() ==
          "epoch,step,train_loss,lr,seconds,val_top1,val_top5\n"
          "1,10,0.5,0.1,2.25,0.75,\n"
          "2,20,nan,0.05,2,,1e-05\n");
    CHECK(log.to_json() ==
          "{\n  \"columns\": [\"epoch\", \"step\", \"train_loss\", \"lr\", \"seconds\", \"val_top1\", \"val_top5\"],\n"
          "  \"epochs\": [\n"
          "    {\"epoch\": 1, \"step\": 10, \"train_loss\": 0.5, \"lr\": 0.1, \"seconds\": 2.25, \"val_top1\": 0.75, "
          "\"val_top5\": null},\n"
          "    {\"epoch\": 2, \"step\": 20, \"train_loss\": null, \"lr\": 0.05, \"seconds\": 2, \"val_top1\": null, "
          "\"val_top5\": 1e-05}\n"
          "  ]\n}\n");
    std::istringstream in(log.to_csv());
    const TrainingLog back = parse_training_csv(in, "log.csv");
    CHECK(back.to_csv() == log.to_csv());
    CHECK(std::isnan(back.column("val_top1")[1]));
    CHECK(back.column("val_top5")[1] == 1e-05);
    CHECK_THROWS_WITH_AS(log.add({3, 30, 0, 0, 0, {{"lr", 1.0}}}), doctest::Contains("cannot be called \"lr\""), Error);
    CHECK_THROWS_WITH_AS(log.column("val_top3"), doctest::Contains("no column \"val_top3\""), Error);
}

TEST_CASE("read_training_csv: errors name the file, the line and the column") {
    auto parse = [](const std::string& text) {
        std::istringstream in(text);
        return parse_training_csv(in, "runs/log.csv");
    };
    CHECK_THROWS_WITH_AS(parse(""), doctest::Contains("runs/log.csv: the file is empty"), Error);
    CHECK_THROWS_WITH_AS(parse("epoch,step,loss,lr,seconds\n"),
                         doctest::Contains("runs/log.csv:1: column 3 of the header must be 'train_loss', found 'loss'"), Error);
    CHECK_THROWS_WITH_AS(parse("epoch,step,train_loss,lr,seconds,acc,acc\n"),
                         doctest::Contains("runs/log.csv:1: column 7 repeats the name 'acc' of column 6"), Error);
    CHECK_THROWS_WITH_AS(parse("epoch,step,train_loss,lr,seconds\n1,2,0.5,0.1,3\n2,4,0.4,0.1\n"),
                         doctest::Contains("runs/log.csv:3: the row has 4 fields but the header has 5"), Error);
    CHECK_THROWS_WITH_AS(parse("epoch,step,train_loss,lr,seconds\n1,2,abc,0.1,3\n"),
                         doctest::Contains("runs/log.csv:2: column 3 (train_loss): 'abc' is not a number"), Error);
    CHECK_THROWS_WITH_AS(parse("epoch,step,train_loss,lr,seconds\n1.5,2,0.5,0.1,3\n"),
                         doctest::Contains("runs/log.csv:2: column 1 (epoch): '1.5' is not a whole number"), Error);
    CHECK_THROWS_WITH_AS(read_training_csv("/nonexistent/seam/log.csv"),
                         doctest::Contains("/nonexistent/seam/log.csv: cannot open"), Error);
    // CRLF line ends and a blank line are fine.
    const TrainingLog ok = parse("epoch,step,train_loss,lr,seconds,acc\r\n\r\n1,2,0.5,0.1,3,0.9\r\n");
    CHECK(ok.column("acc") == std::vector<double>{0.9});
}

TEST_CASE("write_text_atomically: replaces the file whole and leaves no temporary behind") {
    TempDir dir("atomic");
    const std::string path = dir.str() + "/a.txt";
    write_text_atomically(path, "first version\n");
    write_text_atomically(path, "second\n");
    CHECK(read_text(path) == "second\n");
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
    CHECK_THROWS_WITH_AS(write_text_atomically(dir.str() + "/missing/a.txt", "x"), doctest::Contains("cannot create"), Error);
}

TEST_CASE("IndexBatches: the order is data::epoch_order, batches cover it, the last one is partial") {
    IndexBatches batches(10, 4, 9);
    CHECK(batches.batches_per_epoch() == 3);
    batches.start_epoch(2, 0);
    CHECK(batches.order() == data::epoch_order(10, 9, 2, true));
    std::vector<size_t> seen;
    while (auto batch = batches.next()) seen.insert(seen.end(), batch->begin(), batch->end());
    CHECK(seen == batches.order());
    CHECK(batches.batch_samples(0) == 4);
    CHECK(batches.batch_samples(2) == 2);
    batches.start_epoch(2, 2);  // a resume at the third batch
    auto third = batches.next();
    REQUIRE(third.has_value());
    CHECK(*third == std::vector<size_t>(batches.order().begin() + 8, batches.order().end()));
    CHECK_FALSE(batches.next().has_value());
    IndexBatches dropping(10, 4, 9, true, /*drop_last=*/true);
    CHECK(dropping.batches_per_epoch() == 2);
}

TEST_CASE("Trainer: checkpoint files (safetensors): Ctrl-C writes one, and resuming from it reproduces the run bit for bit") {
    Regression data;
    TempDir dir("files");
    auto files = std::make_shared<FileCheckpointer<double>>();
    const RunResult reference = run_mlp(data, 7, 4, files, dir.str() + "/reference.safetensors", false, 0);
    REQUIRE(reference.fit.finished());
    for (int64_t k : {10, 12}) {
        CAPTURE(k);
        const std::string path = dir.str() + "/run" + std::to_string(k) + ".safetensors";
        const RunResult stopped = run_mlp(data, 7, 4, files, path, false, k);
        REQUIRE(stopped.fit.reason == StopReason::interrupted);
        REQUIRE(std::filesystem::exists(path));
        const RunResult resumed = run_mlp(data, 4242, 4, files, path, true, 0);
        REQUIRE(resumed.fit.finished());
        CHECK(same_bits(resumed.weights, reference.weights));
        REQUIRE(resumed.fit.log.size() == 4);
        for (size_t e = 0; e < 4; ++e) {
            CHECK(resumed.fit.log.records()[e].train_loss == reference.fit.log.records()[e].train_loss);
            CHECK(resumed.fit.log.records()[e].metrics == reference.fit.log.records()[e].metrics);
        }
    }
}

TEST_CASE("Trainer: its checkpoint file is an ordinary seam::io checkpoint with the loop state in its extras") {
    Regression data;
    TempDir dir("extras");
    const std::string path = dir.str() + "/ckpt.safetensors";
    run_mlp(data, 7, 4, std::make_shared<FileCheckpointer<double>>(), path, false, /*interrupt_at=*/10);
    manual_seed(1);
    auto model = make_mlp();
    optim::Adam<double> optimizer(model->parameters(), {.lr = 0.02});
    optim::LRScheduler<double> scheduler(optimizer, std::make_shared<optim::StepLR>(2, 0.5));
    Generator noise;
    const io::TrainingState state = io::load_checkpoint(path, *model, optimizer, &scheduler, {{"noise", &noise}});
    CHECK(state.epoch == 1);
    CHECK(state.step == 10);
    CHECK(state.epoch_position == 32);  // 4 batches of 8 of epoch 2
    std::vector<int64_t> order;
    for (size_t i : data::epoch_order(Regression::kSamples, 5, 1, true)) order.push_back(static_cast<int64_t>(i));
    CHECK(state.epoch_order == order);
    CHECK(state.extra.at("trainer.batch") == "4");
    CHECK(state.extra.at("trainer.log").starts_with("epoch,step,train_loss,lr,seconds,val_mse\n1,6,"));
    CHECK(scheduler.epoch() == 1);  // one epoch finished: StepLR stepped once
    CHECK(noise.offset() > 0);
}

TEST_CASE("Trainer: a checkpoint without the trainer's loop state, or of another model, is refused naming the file") {
    Regression data;
    TempDir dir("foreign");
    const std::string path = dir.str() + "/hand.safetensors";
    manual_seed(1);
    auto model = make_mlp();
    optim::Adam<double> optimizer(model->parameters(), {.lr = 0.02});
    optim::LRScheduler<double> scheduler(optimizer, std::make_shared<optim::StepLR>(2, 0.5));
    Generator noise;
    io::save_checkpoint(path, *model, optimizer, &scheduler, io::TrainingState{}, {{"noise", &noise}});
    CHECK_THROWS_WITH_AS(run_mlp(data, 7, 4, std::make_shared<FileCheckpointer<double>>(), path, true, 0),
                         doctest::Contains("no \"extra.trainer.batch\" in the metadata"), Error);
    // A linear model's checkpoint does not fit the MLP: io's check, naming the file.
    const std::string linear_path = dir.str() + "/linear.safetensors";
    nn::Linear<double> linear(3, 1);
    optim::Adam<double> linear_optimizer(linear.parameters(), {.lr = 0.02});
    io::save_checkpoint(linear_path, linear, linear_optimizer, nullptr, io::TrainingState{});
    CHECK_THROWS_WITH_AS(run_mlp(data, 7, 4, std::make_shared<FileCheckpointer<double>>(), linear_path, true, 0),
                         doctest::Contains(("load_checkpoint('" + linear_path + "')").c_str()), Error);
    CHECK_THROWS_WITH_AS(run_mlp(data, 7, 4, std::make_shared<FileCheckpointer<double>>(), dir.str() + "/missing", true, 0),
                         doctest::Contains("missing"), Error);
}

TEST_CASE("Trainer and ProgressBar: plain lines when the output is not a terminal") {
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    {
        ProgressBar bar("epoch 1/1", 8, 0, /*first_step=*/0, file);
        for (int64_t s = 1; s <= 8; ++s) bar.update(s, 0.5, s * 4);
        bar.finish();
    }
    Regression data;
    manual_seed(1);
    nn::Linear<double> model(3, 1);
    optim::SGD<double> optimizer(model.parameters(), {.lr = 0.2});
    Trainer<double> trainer(model, optimizer, {.epochs = 2, .log_every = 3, .output = file});
    trainer.set_evaluation([](int64_t epoch) { return Metrics{{"val_top1", 0.25 * static_cast<double>(epoch)}}; });
    IndexBatches batches(Regression::kSamples, 8, 3);
    trainer.fit(batches, [&](const std::vector<size_t>& indices) {
        auto [x, y] = data.batch(indices);
        return mse_loss(model.forward(x), y);
    });
    std::rewind(file);
    std::vector<std::string> lines;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, file)) lines.emplace_back(buffer);
    std::fclose(file);
    // The bar alone: 4 lines (every 8/4 = 2 steps), then per epoch of the trainer lines at steps 3 and
    // 6 (log_every 3; 6 is also the last) and the epoch's summary.
    REQUIRE(lines.size() == 4 + 2 * 3);
    CHECK(lines[0].starts_with("epoch 1/1 step 2/8 loss 0.5000"));
    CHECK(lines[3].starts_with("epoch 1/1 step 8/8 loss 0.5000"));
    CHECK(lines[4].starts_with("epoch 1/2 step 3/6 loss "));
    CHECK(lines[5].starts_with("epoch 1/2 step 6/6 loss "));
    CHECK(lines[6].starts_with("epoch 1/2: train_loss "));
    CHECK(lines[6].find("  lr 0.2  val_top1 0.25  (") != std::string::npos);
    CHECK(lines[9].find("val_top1 0.5  (") != std::string::npos);
    for (const std::string& line : lines) CHECK(line.find('\r') == std::string::npos);
}
