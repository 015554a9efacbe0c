// Checkpoints: the file's layout, exact round trips of every scalar, strict refusal of checkpoints
// that do not fit (leaving everything unchanged), and exact resumption — in process, and from a
// run killed with SIGKILL mid-epoch in a child process.
//
// The training run used throughout: conv + batch norm + ReLU + max-pool + dropout + linear on 40
// random 3x8x8 images of a fixed seed, batches of 6 (the 7th batch of an epoch has 4), 17 steps
// (epochs 0 and 1 and three steps of epoch 2), a StepLR schedule stepped each epoch, the epoch
// order shuffled by a named Generator, dropout drawing from default_generator().
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <seam/io/checkpoint.hpp>
#include <seam/io/safetensors.hpp>
#include <seam/nn/layers.hpp>
#include <seam/nn/sequential.hpp>
#include <seam/optim/adam.hpp>
#include <seam/optim/schedule.hpp>
#include <seam/optim/sgd.hpp>
#include <seam/seam.hpp>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using namespace seam;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "seam_checkpoint_XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
    std::vector<std::string> listing() const {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(path)) names.push_back(entry.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }
};

constexpr int64_t kSamples = 40;
constexpr int64_t kBatch = 6;
constexpr int64_t kTotalSteps = 17;

struct Dataset {
    Tensor<float> images;  // [40, 3, 8, 8]
    std::vector<int64_t> labels;
};
const Dataset& dataset() {
    static const Dataset data = [] {
        Generator gen(1234);
        Dataset d;
        d.images = randn<float>({kSamples, 3, 8, 8}, gen);
        for (int64_t i = 0; i < kSamples; ++i) d.labels.push_back(static_cast<int64_t>(gen.integer(5)));
        return d;
    }();
    return data;
}

enum class OptimizerKind { adamw, sgd };

/// One training run: model, optimizer, scheduler, the shuffling generator and where it stands.
struct Run {
    std::shared_ptr<nn::Sequential<float>> model;
    std::unique_ptr<optim::Optimizer<float>> optimizer;
    std::unique_ptr<optim::LRScheduler<float>> scheduler;
    Generator shuffle{77};
    io::TrainingState state;

    /// Weights drawn from default_generator() after manual_seed(init_seed).
    Run(OptimizerKind kind, uint64_t init_seed) {
        manual_seed(init_seed);
        model = std::make_shared<nn::Sequential<float>>();
        model->add(std::make_shared<nn::Conv2d<float>>(3, 4, 3, 1, 1));
        model->add(std::make_shared<nn::BatchNorm2d<float>>(4));
        model->add(std::make_shared<nn::ReLU<float>>());
        model->add(std::make_shared<nn::MaxPool2d<float>>(2));
        model->add(std::make_shared<nn::Flatten<float>>());
        model->add(std::make_shared<nn::Dropout<float>>(0.25));
        model->add(std::make_shared<nn::Linear<float>>(64, 5));
        if (kind == OptimizerKind::adamw)
            optimizer = std::make_unique<optim::AdamW<float>>(model->parameters(),
                                                               optim::AdamWOptions{.lr = 3e-3, .weight_decay = 0.05});
        else
            optimizer = std::make_unique<optim::SGD<float>>(
                model->parameters(), optim::SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = true});
        scheduler = std::make_unique<optim::LRScheduler<float>>(*optimizer, std::make_shared<optim::StepLR>(1, 0.7));
    }

    io::NamedGenerators generators() { return {{"shuffle", &shuffle}}; }

    /// One optimizer step on the next batch; a new epoch (and its shuffled order) when the last one is used up.
    void step() {
        if (state.epoch_position == static_cast<int64_t>(state.epoch_order.size())) {
            if (!state.epoch_order.empty()) {
                scheduler->step();
                ++state.epoch;
            }
            state.epoch_order.resize(kSamples);
            for (int64_t i = 0; i < kSamples; ++i) state.epoch_order[static_cast<size_t>(i)] = i;
            for (size_t i = kSamples; i > 1; --i) std::swap(state.epoch_order[i - 1], state.epoch_order[shuffle.integer(i)]);
            state.epoch_position = 0;
        }
        const Dataset& data = dataset();
        const int64_t batch = std::min(kBatch, kSamples - state.epoch_position);
        const int64_t image = 3 * 8 * 8;
        Tensor<float> x = empty<float>({batch, 3, 8, 8});
        std::vector<int64_t> y;
        for (int64_t b = 0; b < batch; ++b) {
            const int64_t index = state.epoch_order[static_cast<size_t>(state.epoch_position + b)];
            std::memcpy(x.data() + b * image, data.images.data() + index * image, sizeof(float) * image);
            y.push_back(data.labels[static_cast<size_t>(index)]);
        }
        model->train();
        optimizer->zero_grad();
        Tensor<float> loss = cross_entropy(model->forward(x), from_vector<int64_t>(y, {batch}));
        loss.backward();
        optimizer->step();
        state.epoch_position += batch;
        ++state.step;
    }

    void save(const std::string& path) {
        io::save_checkpoint(path, *model, *optimizer, scheduler.get(), state, generators());
    }
    void load(const std::string& path) {
        state = io::load_checkpoint(path, *model, *optimizer, scheduler.get(), generators());
    }

    /// The bytes of every parameter and buffer, in state_dict order.
    std::vector<std::string> weight_bytes() const {
        std::vector<std::string> out;
        for (const auto& [name, t] : model->state_dict()) {
            auto values = t.to_vector();
            out.emplace_back(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
        }
        return out;
    }
    /// The bytes of the optimizer's per-parameter tensors.
    std::vector<std::string> optimizer_bytes() const {
        std::vector<std::string> out;
        for (const auto& [name, t] : optimizer->state().tensors) {
            auto values = t.to_vector();
            out.emplace_back(name + ":" + std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
        }
        return out;
    }
};

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const char* const kKillTestName = "checkpoint: a run killed by SIGKILL mid-epoch resumes to the same bits";

/// The child's part of the SIGKILL test: train, checkpoint every 3 steps, die at step 11.
void killed_worker(const std::string& dir) {
    const char* threads = std::getenv("SEAM_CHECKPOINT_WORKER_THREADS");
    REQUIRE(threads != nullptr);
    set_num_threads(std::atoi(threads));
    Run run(OptimizerKind::sgd, 7);
    while (run.state.step < kTotalSteps) {
        run.step();
        if (run.state.step % 3 == 0) run.save(dir + "/run.safetensors");
        if (run.state.step == 11) ::raise(SIGKILL);  // mid-epoch 1, two steps after the last checkpoint
    }
}

}  // namespace

TEST_CASE("checkpoint: the file holds the model, optimizer, scheduler, generators and data order by name") {
    Run run(OptimizerKind::adamw, 7);
    for (int i = 0; i < 3; ++i) run.step();
    run.state.extra["best_accuracy"] = "0.25";
    TempDir dir;
    run.save(dir.file("c.safetensors"));
    auto file = io::load_safetensors(dir.file("c.safetensors"));
    CHECK(file.contains("model.0.weight"));
    CHECK(file.contains("model.1.running_mean"));
    CHECK(file.contains("model.6.bias"));
    CHECK(file.contains("optim.0.exp_avg"));
    CHECK(file.contains("optim.5.exp_avg_sq"));
    CHECK(file.at("train.epoch_order").dtype == io::Dtype::I64);
    CHECK(file.get<int64_t>("train.epoch_order").to_vector() == run.state.epoch_order);
    const auto& m = file.metadata;
    CHECK(m.at("seam.format") == "checkpoint");
    CHECK(m.at("model.dtype") == "F32");
    CHECK(m.at("optim.name") == "AdamW");
    CHECK(m.at("optim.0.step") == "3");
    CHECK(m.at("optim.group.0.lr") == "0.0030000000000000001");  // %.17g of 3e-3
    CHECK(m.at("optim.group.0.size") == "6");
    CHECK(m.at("scheduler.epoch") == "0");
    CHECK(m.at("scheduler.base_lr.0") == "0.0030000000000000001");
    CHECK(m.at("rng.shuffle.seed") == "77");
    CHECK(m.at("rng.shuffle.offset") == std::to_string(run.shuffle.offset()));
    CHECK(m.at("rng.default.seed") == "7");
    CHECK(m.at("rng.default.offset") == std::to_string(default_generator().offset()));
    CHECK(m.at("train.step") == "3");
    CHECK(m.at("train.epoch") == "0");
    CHECK(m.at("train.epoch_position") == "18");
    CHECK(m.at("extra.best_accuracy") == "0.25");
    CHECK(dir.listing() == std::vector<std::string>{"c.safetensors"});
}

TEST_CASE("checkpoint: every scalar and generator state reads back exactly") {
    Run run(OptimizerKind::adamw, 7);
    for (int i = 0; i < 9; ++i) run.step();  // into epoch 1: the scheduler has stepped once
    // A learning rate with no short decimal form, and a seed above 2^53 (a double would round it).
    run.optimizer->param_groups()[0].lr = 0.1 * 0.7 * 0.7 * 0.7;
    run.shuffle.set_state(0xFFFFFFFFFFFFFFF1ull, 123456789012345ull);
    default_generator().set_state(0x8000000000000001ull, 42);
    run.state.extra = {{"note", "line\nbreak"}};
    const auto saved_optimizer = run.optimizer->state();
    const auto saved_state = run.state;
    TempDir dir;
    run.save(dir.file("c.safetensors"));

    Run fresh(OptimizerKind::adamw, 999);
    fresh.load(dir.file("c.safetensors"));
    CHECK(fresh.optimizer->param_groups()[0].lr == 0.1 * 0.7 * 0.7 * 0.7);
    CHECK(fresh.scheduler->epoch() == 1);
    CHECK(fresh.scheduler->base_lrs() == run.scheduler->base_lrs());
    CHECK(fresh.shuffle.seed() == 0xFFFFFFFFFFFFFFF1ull);
    CHECK(fresh.shuffle.offset() == 123456789012345ull);
    CHECK(default_generator().seed() == 0x8000000000000001ull);
    CHECK(default_generator().offset() == 42);
    CHECK(fresh.state.step == 9);
    CHECK(fresh.state.epoch == 1);
    CHECK(fresh.state.epoch_position == 12);
    CHECK(fresh.state.epoch_order == saved_state.epoch_order);
    CHECK(fresh.state.extra == saved_state.extra);
    const auto loaded_optimizer = fresh.optimizer->state();
    CHECK(loaded_optimizer.scalars == saved_optimizer.scalars);
    CHECK(fresh.optimizer_bytes() == run.optimizer_bytes());
    CHECK(fresh.weight_bytes() == run.weight_bytes());
}

TEST_CASE("checkpoint: k steps, checkpoint, fresh objects, resume to K gives the same bits as K steps") {
    for (OptimizerKind kind : {OptimizerKind::adamw, OptimizerKind::sgd}) {
        CAPTURE(kind == OptimizerKind::adamw ? "AdamW" : "SGD");
        Run reference(kind, 7);
        while (reference.state.step < kTotalSteps) reference.step();
        const auto expected_weights = reference.weight_bytes();
        const auto expected_optimizer = reference.optimizer_bytes();

        TempDir dir;
        const std::string path = dir.file("k.safetensors");
        std::vector<std::string> weights_at_checkpoint;
        {
            Run first(kind, 7);
            while (first.state.step < 10) first.step();  // step 10: epoch 1, three batches in
            first.save(path);
            weights_at_checkpoint = first.weight_bytes();
        }  // everything of the first run is gone

        Run resumed(kind, 999);  // other initial weights, other default_generator state
        REQUIRE(resumed.weight_bytes() != weights_at_checkpoint);
        resumed.load(path);
        CHECK(resumed.weight_bytes() == weights_at_checkpoint);
        CHECK(resumed.state.step == 10);
        CHECK(resumed.state.epoch == 1);
        CHECK(resumed.state.epoch_position == 18);
        while (resumed.state.step < kTotalSteps) resumed.step();
        CHECK(resumed.weight_bytes() == expected_weights);
        CHECK(resumed.optimizer_bytes() == expected_optimizer);
        CHECK(resumed.optimizer->lr() == reference.optimizer->lr());

        // The test can fail: forgetting the dropout stream, or the shuffling stream (epoch 2's order),
        // changes the result.
        Run no_dropout_state(kind, 999);
        no_dropout_state.load(path);
        default_generator().reserve(1);
        while (no_dropout_state.state.step < kTotalSteps) no_dropout_state.step();
        CHECK(no_dropout_state.weight_bytes() != expected_weights);
        Run no_shuffle_state(kind, 999);
        no_shuffle_state.load(path);
        no_shuffle_state.shuffle.reserve(1);
        while (no_shuffle_state.state.step < kTotalSteps) no_shuffle_state.step();
        CHECK(no_shuffle_state.weight_bytes() != expected_weights);
    }
}

TEST_CASE("checkpoint: a run killed by SIGKILL mid-epoch resumes to the same bits") {
    if (const char* worker_dir = std::getenv("SEAM_CHECKPOINT_WORKER_DIR")) {
        killed_worker(worker_dir);
        return;  // not reached unless the worker failed to kill itself; the parent then reports it
    }
#ifndef __linux__
    MESSAGE("skipped: the child process is started through /proc/self/exe (Linux only)");
    return;
#else
    // The child must be a fresh process (fork + exec of this test program): after a plain fork the
    // child inherits GNU OpenMP's thread pool without its threads and hangs in its first parallel region.
    TempDir dir;
    const std::string log = dir.file("worker.log");
    std::vector<std::string> args = {"seam_tests", std::string("--test-case=") + kKillTestName};
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "SEAM_CHECKPOINT_WORKER_", 23) != 0) env.emplace_back(*e);
    env.push_back("SEAM_CHECKPOINT_WORKER_DIR=" + dir.path.string());
    env.push_back("SEAM_CHECKPOINT_WORKER_THREADS=" + std::to_string(num_threads()));
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        ::execve("/proc/self/exe", argv.data(), envp.data());
        ::_exit(127);
    }
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (::waitpid(child, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(child, SIGKILL);
            ::waitpid(child, &status, 0);
            FAIL("the worker did not finish in 300 s; its log:\n" << read_text(log));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    INFO("worker log:\n" << read_text(log));
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    // Killed between checkpoints: only the checkpoint of step 9 and the log, no temporary file.
    CHECK(dir.listing() == std::vector<std::string>{"run.safetensors", "worker.log"});

    Run resumed(OptimizerKind::sgd, 999);
    resumed.load(dir.file("run.safetensors"));
    CHECK(resumed.state.step == 9);
    CHECK(resumed.state.epoch == 1);
    CHECK(resumed.state.epoch_position == 12);  // mid-epoch: two batches of epoch 1 done
    while (resumed.state.step < kTotalSteps) resumed.step();

    Run reference(OptimizerKind::sgd, 7);  // same thread count as the worker (passed to it above)
    while (reference.state.step < kTotalSteps) reference.step();
    CHECK(resumed.weight_bytes() == reference.weight_bytes());
    CHECK(resumed.optimizer_bytes() == reference.optimizer_bytes());
#endif
}

TEST_CASE("checkpoint: a checkpoint that does not fit is refused by name and changes nothing") {
    TempDir dir;
    const std::string path = dir.file("c.safetensors");
    Run run(OptimizerKind::adamw, 7);
    for (int i = 0; i < 2; ++i) run.step();
    run.save(path);

    auto message_of = [](auto&& load) {
        try {
            load();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    const std::string where = "load_checkpoint('" + path + "'): ";

    SUBCASE("another architecture") {
        manual_seed(5);
        auto other = std::make_shared<nn::Sequential<float>>();
        other->add(std::make_shared<nn::Conv2d<float>>(3, 4, 3, 1, 1));
        other->add(std::make_shared<nn::Linear<float>>(64, 5));
        optim::AdamW<float> opt(other->parameters());
        optim::LRScheduler<float> sched(opt, std::make_shared<optim::StepLR>(1, 0.7));
        const auto before = other->state_dict()[0].second.clone();
        Generator shuffle(1);
        std::string msg = message_of([&] { io::load_checkpoint(path, *other, opt, &sched, {{"shuffle", &shuffle}}); });
        CHECK(msg.find(where + "the checkpoint does not match the model, optimizer or scheduler") == 0);
        // The checkpoint's batch norm "1" has weight [4]; this model's "1" is a Linear(64, 5).
        CHECK(msg == where + "the checkpoint does not match the model, optimizer or scheduler\n"
                             "  load_state_dict(Sequential): the state dict does not fit the module\n"
                             "  unexpected keys (4): \"1.running_mean\", \"1.running_var\", \"6.bias\", \"6.weight\"\n"
                             "  shape mismatches (2): \"1.bias\": checkpoint [4] vs model [5], \"1.weight\": checkpoint [4] vs "
                             "model [5, 64]");
        CHECK(other->state_dict()[0].second.to_vector() == before.to_vector());
        CHECK(shuffle.seed() == 1);
    }
    SUBCASE("the model fits but the optimizer's parameter groups do not: the model is put back") {
        Run fresh(OptimizerKind::adamw, 999);
        fresh.optimizer = std::make_unique<optim::AdamW<float>>(
            std::vector<Tensor<float>>{fresh.model->parameters()[0], fresh.model->parameters()[1]});
        fresh.scheduler = std::make_unique<optim::LRScheduler<float>>(*fresh.optimizer, std::make_shared<optim::StepLR>(1, 0.7));
        const auto weights = fresh.weight_bytes();
        const auto default_state = std::make_pair(default_generator().seed(), default_generator().offset());
        std::string msg = message_of([&] { fresh.load(path); });
        CHECK(msg.find(where + "the checkpoint does not match the model, optimizer or scheduler") == 0);
        CHECK(msg.find("group 0 holds 2 parameters here but 6 in the saved state") != std::string::npos);
        CHECK(fresh.weight_bytes() == weights);
        CHECK(std::make_pair(default_generator().seed(), default_generator().offset()) == default_state);
    }
    SUBCASE("another optimizer, no scheduler, other generators") {
        manual_seed(7);
        Run fresh(OptimizerKind::sgd, 999);
        Generator other(3);
        std::string msg = message_of([&] {
            io::load_checkpoint(path, *fresh.model, *fresh.optimizer, nullptr, {{"other", &other}});
        });
        CHECK(msg == where + "the checkpoint does not match\n"
                             "  the checkpoint was written with the optimizer AdamW but this one is SGD\n"
                             "  the checkpoint holds scheduler state but no scheduler was given\n"
                             "  missing metadata \"rng.other.seed\"\n"
                             "  missing metadata \"rng.other.offset\"\n"
                             "  the checkpoint saves generator state \"rng.shuffle.offset\" that no given generator takes\n"
                             "  the checkpoint saves generator state \"rng.shuffle.seed\" that no given generator takes");
        CHECK(other.seed() == 3);
    }
    SUBCASE("a scheduler given for a checkpoint saved without one") {
        const std::string plain = dir.file("plain.safetensors");
        io::save_checkpoint(plain, *run.model, *run.optimizer, nullptr, run.state, run.generators());
        Run fresh(OptimizerKind::adamw, 999);
        std::string msg = message_of([&] { fresh.load(plain); });
        CHECK(msg == "load_checkpoint('" + plain + "'): the checkpoint does not match\n"
                     "  a scheduler was given but the checkpoint holds no scheduler state");
        auto state = io::load_checkpoint(plain, *fresh.model, *fresh.optimizer, nullptr, fresh.generators());
        CHECK(state.step == 2);
    }
    SUBCASE("a double model") {
        manual_seed(1);
        nn::Sequential<double> net;
        net.add(std::make_shared<nn::Linear<double>>(2, 2));
        optim::SGD<double> opt(net.parameters());
        std::string msg = message_of([&] { io::load_checkpoint(path, net, opt, nullptr); });
        CHECK(msg.find("the checkpoint holds a F32 model but this model is F64") != std::string::npos);
        CHECK(msg.find("tensor \"model.0.weight\" is F32, expected F64") != std::string::npos);
    }
    SUBCASE("a bare state_dict file") {
        io::save_state_dict_file(*run.model, dir.file("weights.safetensors"));
        Run fresh(OptimizerKind::adamw, 999);
        std::string msg = message_of([&] { fresh.load(dir.file("weights.safetensors")); });
        CHECK(msg == "load_checkpoint('" + dir.file("weights.safetensors") +
                         "'): not a seam checkpoint (no \"seam.format\": \"checkpoint\" in its metadata); a bare "
                         "state_dict file loads with load_state_dict_file()");
    }
    SUBCASE("edited metadata") {
        auto file = io::load_safetensors(path);
        file.metadata["train.step"] = "2.5";
        file.metadata["surprise"] = "1";
        const std::string edited = dir.file("edited.safetensors");
        io::save_safetensors(edited, file.tensors, file.metadata);
        Run fresh(OptimizerKind::adamw, 999);
        std::string msg = message_of([&] { fresh.load(edited); });
        CHECK(msg.find("metadata \"train.step\" = \"2.5\" is not a whole number") != std::string::npos);
        CHECK(msg.find("unexpected metadata \"surprise\"") != std::string::npos);
    }
}

TEST_CASE("checkpoint: a double model with SGD, no scheduler and no epoch order yet round trips") {
    manual_seed(11);
    nn::Sequential<double> net;
    net.add(std::make_shared<nn::Linear<double>>(3, 2));
    optim::SGD<double> opt(net.parameters(), {.lr = 0.1, .momentum = 0.5});
    Generator extra_stream(5);
    extra_stream.reserve(10);
    TempDir dir;
    io::save_checkpoint(dir.file("d.safetensors"), net, opt, nullptr, io::TrainingState{}, {{"extra", &extra_stream}});
    auto file = io::load_safetensors(dir.file("d.safetensors"));
    CHECK(file.at("model.0.weight").dtype == io::Dtype::F64);
    CHECK(file.at("train.epoch_order").shape() == Shape{0});
    CHECK_FALSE(file.metadata.count("scheduler.epoch"));

    manual_seed(12);
    nn::Sequential<double> other;
    other.add(std::make_shared<nn::Linear<double>>(3, 2));
    optim::SGD<double> other_opt(other.parameters(), {.lr = 0.1, .momentum = 0.5});
    Generator other_stream(6);
    REQUIRE(other.state_dict()[0].second.to_vector() != net.state_dict()[0].second.to_vector());
    auto state = io::load_checkpoint(dir.file("d.safetensors"), other, other_opt, nullptr, {{"extra", &other_stream}});
    CHECK(state.step == 0);
    CHECK(state.epoch_order.empty());
    CHECK(other.state_dict()[0].second.to_vector() == net.state_dict()[0].second.to_vector());
    CHECK(other_stream.seed() == 5);
    CHECK(other_stream.offset() == 3);  // 10 numbers are 3 blocks of 4
    CHECK(default_generator().seed() == 11);
}

TEST_CASE("checkpoint: save_checkpoint refuses a position outside the epoch order and reserved generator names") {
    Run run(OptimizerKind::sgd, 7);
    TempDir dir;
    run.state.epoch_position = 1;  // with an empty order
    CHECK_THROWS_WITH_AS(run.save(dir.file("c.safetensors")), doctest::Contains("epoch_position 1 is outside the epoch order of 0"),
                         Error);
    run.state.epoch_position = 0;
    CHECK_THROWS_WITH_AS(io::save_checkpoint(dir.file("c.safetensors"), *run.model, *run.optimizer, run.scheduler.get(),
                                             run.state, {{"default", &run.shuffle}}),
                         doctest::Contains("generator name \"default\" is reserved"), Error);
    CHECK(dir.listing().empty());
}
