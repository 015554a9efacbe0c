// seam/train/trainer.hpp — the training loop every example uses.
//
// You bring the model, the optimizer (and optionally an LRScheduler), a batch source and a step
// function that turns a batch into a scalar loss tensor; the Trainer does the rest:
//
//     train::IndexBatches batches(dataset_size, /*batch_size=*/64, /*seed=*/1);
//     train::Trainer<float> trainer(model, optimizer, {.epochs = 10, .log_dir = "runs/mlp",
//                                                     .checkpoint_every = 500});
//     trainer.set_scheduler(scheduler);
//     trainer.set_evaluation([&](int64_t epoch) { return train::Metrics{{"val_top1", accuracy()}}; });
//     train::FitResult result = trainer.fit(batches, [&](const std::vector<size_t>& indices) {
//         auto [x, y] = make_batch(indices);
//         return cross_entropy(model.forward(x), y);
//     });
//
// Each step: zero the gradients, call the step function, check the loss is finite, backward,
// clip (optional), optimizer step, scheduler step (when it runs per step). Each epoch ends with
// the scheduler step, the evaluation hook (model in eval mode, no graph), one log row written to
// <log_dir>/log.csv and log.json (atomically) and the loss/metric plots (seam/train/log.hpp, plot.hpp).
//
// Stopping:
//   - a NaN or infinite loss stops before the optimizer step (the weights stay finite); the result
//     says which epoch and step, and nothing is saved (the last good checkpoint stays);
//   - Ctrl-C (SIGINT) sets a flag — the handler does nothing else, as a signal handler must — the
//     loop finishes the step it is in, saves a checkpoint and returns; press Ctrl-\ to abort at once.
//
// Checkpoints (every N steps, at the end, on Ctrl-C) hold the model, the optimizer, the scheduler
// and a LoopState (epoch, batches done in it, global step, the epoch's running loss and time, the
// epoch's sample order, the log rows so far), and the position of every tracked random generator
// (default_generator() always). Resuming from one continues exactly where it stopped: the same batches
// in the same order with the same random numbers, so the final weights equal those of an
// uninterrupted run bit for bit (same thread count). A checkpoint taken at the last batch of an
// epoch is taken after that epoch's evaluation and log row, so it resumes at the next epoch.
//
// Batch sources: anything with batches_per_epoch(), start_epoch(epoch, first_batch), next()
// (an optional batch), batch_samples(b) and order() — IndexBatches below (shuffled index lists,
// the order from seam::data::epoch_order), or a seam::data::DataLoader passed to fit() directly.
//
// Storage goes through the Checkpointer interface: FileCheckpointer (the default) writes
// safetensors files with seam/io/checkpoint.hpp; MemoryCheckpointer keeps snapshots in memory
// (tests, "best model" copies).
#pragma once

#include <signal.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/core/error.hpp"
#include "seam/core/rng.hpp"
#include "seam/core/tensor.hpp"
#include "seam/data/loader.hpp"
#include "seam/io/checkpoint.hpp"
#include "seam/nn/module.hpp"
#include "seam/optim/clip.hpp"
#include "seam/optim/optimizer.hpp"
#include "seam/optim/schedule.hpp"
#include "seam/train/log.hpp"
#include "seam/train/plot.hpp"
#include "seam/train/progress.hpp"

namespace seam::train {

// ---------------------------------------------------------------------------------------------
// Ctrl-C

namespace detail {
// Set by the SIGINT handler, read by the loop. A lock-free atomic is one of the few things a
// signal handler may touch; constant initialisation means no first-use code runs in the handler.
inline std::atomic<bool> interrupt_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the SIGINT flag must be lock-free to be signal-safe");

extern "C" inline void seam_train_on_sigint(int) { interrupt_requested.store(true, std::memory_order_relaxed); }
}  // namespace detail

/// Installs the SIGINT flag handler for its lifetime and restores the previous handler after.
class InterruptGuard {
public:
    explicit InterruptGuard(bool enabled = true) : enabled_(enabled) {
        detail::interrupt_requested.store(false);
        if (!enabled_) return;
        struct sigaction action {};
        action.sa_handler = detail::seam_train_on_sigint;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;  // a read() interrupted by Ctrl-C resumes instead of failing
        installed_ = ::sigaction(SIGINT, &action, &previous_) == 0;
    }
    ~InterruptGuard() {
        if (installed_) ::sigaction(SIGINT, &previous_, nullptr);
    }
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

    bool requested() const { return detail::interrupt_requested.load(std::memory_order_relaxed); }

private:
    bool enabled_;
    bool installed_ = false;
    struct sigaction previous_ {};
};

// ---------------------------------------------------------------------------------------------
// Batch sources

/// Shuffled lists of dataset indices: the batch type is std::vector<size_t>. Epoch e's order is
/// seam::data::epoch_order(size, seed, e, shuffle), the same order a DataLoader with that seed
/// uses, so it depends on nothing but (seed, epoch) and resuming needs no saved generator.
class IndexBatches {
public:
    using Batch = std::vector<size_t>;

    IndexBatches(size_t dataset_size, size_t batch_size, uint64_t seed, bool shuffle = true, bool drop_last = false)
        : size_(dataset_size), batch_size_(batch_size), seed_(seed), shuffle_(shuffle), drop_last_(drop_last) {
        SEAM_CHECK(batch_size >= 1, "IndexBatches: batch_size must be >= 1");
    }

    int64_t batches_per_epoch() const {
        return static_cast<int64_t>(drop_last_ ? size_ / batch_size_ : (size_ + batch_size_ - 1) / batch_size_);
    }
    void start_epoch(int64_t epoch, int64_t first_batch = 0) {
        SEAM_CHECK(epoch >= 0 && first_batch >= 0 && first_batch <= batches_per_epoch(), "IndexBatches: cannot start epoch ",
                   epoch, " at batch ", first_batch, " (", batches_per_epoch(), " batches an epoch)");
        order_ = data::epoch_order(size_, seed_, static_cast<uint64_t>(epoch), shuffle_);
        next_ = first_batch;
    }
    std::optional<Batch> next() {
        if (next_ >= batches_per_epoch()) return std::nullopt;
        const size_t begin = static_cast<size_t>(next_++) * batch_size_;
        const size_t end = std::min(begin + batch_size_, size_);
        return Batch(order_.begin() + static_cast<std::ptrdiff_t>(begin), order_.begin() + static_cast<std::ptrdiff_t>(end));
    }
    int64_t batch_samples(int64_t b) const {
        return static_cast<int64_t>(std::min(batch_size_, size_ - static_cast<size_t>(b) * batch_size_));
    }
    const std::vector<size_t>& order() const { return order_; }

private:
    size_t size_, batch_size_;
    uint64_t seed_;
    bool shuffle_, drop_last_;
    std::vector<size_t> order_;
    int64_t next_ = 0;
};

/// A seam::data::DataLoader seen as a batch source. Starting mid-epoch (a resume) fetches and
/// drops the batches before first_batch: the loader has no way to skip them, and fetching keeps
/// every later batch (and its per-sample random numbers) exactly what it would have been.
template <class Loader>
class LoaderBatches {
public:
    explicit LoaderBatches(Loader& loader) : loader_(loader) {}
    int64_t batches_per_epoch() const { return static_cast<int64_t>(loader_.batches_per_epoch()); }
    void start_epoch(int64_t epoch, int64_t first_batch = 0) {
        loader_.start_epoch(static_cast<uint64_t>(epoch));
        for (int64_t b = 0; b < first_batch; ++b) SEAM_CHECK(loader_.next().has_value(), "LoaderBatches: the epoch ended early");
    }
    auto next() { return loader_.next(); }
    int64_t batch_samples(int64_t b) const {
        const size_t batch = loader_.options().batch_size, size = loader_.dataset_size();
        return static_cast<int64_t>(std::min(batch, size - static_cast<size_t>(b) * batch));
    }
    const std::vector<size_t>& order() const { return loader_.order(); }

private:
    Loader& loader_;
};

template <class S>
concept BatchSource = requires(S& source, const S& constant, int64_t n) {
    { constant.batches_per_epoch() } -> std::convertible_to<int64_t>;
    source.start_epoch(n, n);
    { *source.next() };
    { static_cast<bool>(source.next()) };
    { constant.batch_samples(n) } -> std::convertible_to<int64_t>;
    { constant.order() } -> std::convertible_to<const std::vector<size_t>&>;
};

// ---------------------------------------------------------------------------------------------
// What a checkpoint holds besides the model, optimizer and scheduler

struct LoopState {
    int64_t epoch = 0;           // 0-based epoch in progress (or the next one, when batch == 0)
    int64_t batch = 0;           // batches of that epoch already done
    int64_t samples = 0;         // samples of the epoch's order those batches consumed
    int64_t global_step = 0;     // optimizer steps since the start of training
    double epoch_loss_sum = 0;   // sum of the losses of those `batch` steps
    double epoch_seconds = 0;    // time spent on the epoch so far
    std::vector<size_t> order;   // the epoch's sample order (a resume checks it is reproduced)
    TrainingLog log;             // rows of the finished epochs
};

/// Generators saved and restored with a checkpoint besides default_generator() (always saved,
/// under the reserved name "default").
using NamedGenerators = io::NamedGenerators;

/// Where checkpoints go. save() stores the model, optimizer, scheduler (when not null), the loop
/// state and the position of default_generator() and of every generator in `generators`; it must
/// not keep references to live tensors (training goes on changing them). load() restores all of
/// it in place, generators included, and refuses a checkpoint that does not fit.
template <class T>
class Checkpointer {
public:
    virtual ~Checkpointer() = default;
    virtual void save(const std::string& path, const nn::Module<T>& model, const optim::Optimizer<T>& optimizer,
                      const optim::LRScheduler<T>* scheduler, const LoopState& state,
                      const NamedGenerators& generators) = 0;
    virtual LoopState load(const std::string& path, nn::Module<T>& model, optim::Optimizer<T>& optimizer,
                           optim::LRScheduler<T>* scheduler, const NamedGenerators& generators) = 0;
};

/// Snapshots kept in memory under their path (deep copies: later training does not change them).
template <class T>
class MemoryCheckpointer : public Checkpointer<T> {
public:
    void save(const std::string& path, const nn::Module<T>& model, const optim::Optimizer<T>& optimizer,
              const optim::LRScheduler<T>* scheduler, const LoopState& state, const NamedGenerators& generators) override {
        Snapshot snapshot;
        for (const auto& [name, tensor] : model.state_dict()) snapshot.model.emplace_back(name, tensor.clone());
        snapshot.optimizer = optimizer.state();
        for (auto& entry : snapshot.optimizer.tensors) entry.second = entry.second.clone();
        if (scheduler) snapshot.scheduler = scheduler->state();
        snapshot.has_scheduler = scheduler != nullptr;
        snapshot.state = state;
        snapshot.generators["default"] = default_generator();
        for (const auto& [name, generator] : generators) {
            SEAM_CHECK(name != "default" && generator != nullptr, "MemoryCheckpointer: generator \"", name,
                       "\" is reserved or null");
            snapshot.generators[name] = *generator;
        }
        snapshots_[path] = std::move(snapshot);
    }
    LoopState load(const std::string& path, nn::Module<T>& model, optim::Optimizer<T>& optimizer,
                   optim::LRScheduler<T>* scheduler, const NamedGenerators& generators) override {
        auto it = snapshots_.find(path);
        SEAM_CHECK(it != snapshots_.end(), "MemoryCheckpointer: no checkpoint saved under '", path, "'");
        const Snapshot& snapshot = it->second;
        SEAM_CHECK(snapshot.has_scheduler == (scheduler != nullptr), "MemoryCheckpointer: checkpoint '", path, "' was saved ",
                   snapshot.has_scheduler ? "with" : "without", " a scheduler, but the trainer has ",
                   scheduler ? "one" : "none");
        SEAM_CHECK(snapshot.generators.size() == generators.size() + 1, "MemoryCheckpointer: checkpoint '", path, "' holds ",
                   snapshot.generators.size(), " generators but ", generators.size() + 1, " are tracked");
        for (const auto& [name, generator] : generators)
            SEAM_CHECK(snapshot.generators.count(name) != 0, "MemoryCheckpointer: checkpoint '", path,
                       "' holds no generator \"", name, "\"");
        model.load_state_dict(snapshot.model);
        optimizer.load_state(snapshot.optimizer);
        if (scheduler) scheduler->load_state(snapshot.scheduler);
        default_generator() = snapshot.generators.at("default");
        for (const auto& [name, generator] : generators) *generator = snapshot.generators.at(name);
        return snapshot.state;
    }
    bool contains(const std::string& path) const { return snapshots_.count(path) != 0; }
    /// The loop state saved under `path` (for inspection in tests).
    const LoopState& state(const std::string& path) const {
        auto it = snapshots_.find(path);
        SEAM_CHECK(it != snapshots_.end(), "MemoryCheckpointer: no checkpoint saved under '", path, "'");
        return it->second.state;
    }

private:
    struct Snapshot {
        nn::StateDict<T> model;
        optim::OptimizerState<T> optimizer;
        std::vector<std::pair<std::string, double>> scheduler;
        bool has_scheduler = false;
        LoopState state;
        std::map<std::string, Generator> generators;
    };
    std::map<std::string, Snapshot> snapshots_;
};

/// Checkpoints as safetensors files (seam/io/checkpoint.hpp), written atomically. The loop state
/// maps onto io::TrainingState: epoch, step (the global step), epoch_order and epoch_position
/// (samples consumed); what the Trainer needs beyond that travels as its "extra" strings:
///   trainer.batch            batches of the epoch done
///   trainer.epoch_loss_sum   the running loss sum (shortest round-trip decimal: exact)
///   trainer.epoch_seconds    the epoch's time so far
///   trainer.log              the log rows so far, as the CSV text of TrainingLog::to_csv
/// io::load_checkpoint checks the file against the model, optimizer, scheduler and generators and
/// leaves them untouched when it refuses; a file it accepts but that lacks the trainer's strings
/// (one written by a hand-made loop) is refused afterwards, with the model already loaded.
template <class T>
class FileCheckpointer : public Checkpointer<T> {
public:
    void save(const std::string& path, const nn::Module<T>& model, const optim::Optimizer<T>& optimizer,
              const optim::LRScheduler<T>* scheduler, const LoopState& state, const NamedGenerators& generators) override {
        io::TrainingState saved;
        saved.epoch = state.epoch;
        saved.step = state.global_step;
        saved.epoch_order.assign(state.order.begin(), state.order.end());
        saved.epoch_position = state.samples;
        saved.extra["trainer.batch"] = std::to_string(state.batch);
        saved.extra["trainer.epoch_loss_sum"] = detail::shortest_double(state.epoch_loss_sum);
        saved.extra["trainer.epoch_seconds"] = detail::shortest_double(state.epoch_seconds);
        saved.extra["trainer.log"] = state.log.to_csv();
        io::save_checkpoint(path, model, optimizer, scheduler, saved, generators);
    }

    LoopState load(const std::string& path, nn::Module<T>& model, optim::Optimizer<T>& optimizer,
                   optim::LRScheduler<T>* scheduler, const NamedGenerators& generators) override {
        const io::TrainingState saved = io::load_checkpoint(path, model, optimizer, scheduler, generators);
        auto extra = [&](const char* key) -> const std::string& {
            auto it = saved.extra.find(key);
            SEAM_CHECK(it != saved.extra.end(), "load_checkpoint('", path, "'): no \"extra.", key,
                       "\" in the metadata; the Trainer resumes only from checkpoints it wrote itself");
            return it->second;
        };
        auto number = [&](const char* key) {
            const std::string& text = extra(key);
            double value = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            SEAM_CHECK(!text.empty() && ec == std::errc() && end == text.data() + text.size(), "load_checkpoint('", path,
                       "'): \"extra.", key, "\" = \"", text, "\" is not a number");
            return value;
        };
        LoopState state;
        state.epoch = saved.epoch;
        state.global_step = saved.step;
        state.samples = saved.epoch_position;
        for (int64_t index : saved.epoch_order) {
            SEAM_CHECK(index >= 0, "load_checkpoint('", path, "'): the epoch order holds the negative index ", index);
            state.order.push_back(static_cast<size_t>(index));
        }
        const std::string& batch = extra("trainer.batch");
        auto [end, ec] = std::from_chars(batch.data(), batch.data() + batch.size(), state.batch);
        SEAM_CHECK(!batch.empty() && ec == std::errc() && end == batch.data() + batch.size(), "load_checkpoint('", path,
                   "'): \"extra.trainer.batch\" = \"", batch, "\" is not a whole number");
        state.epoch_loss_sum = number("trainer.epoch_loss_sum");
        state.epoch_seconds = number("trainer.epoch_seconds");
        std::istringstream log_text(extra("trainer.log"));
        state.log = parse_training_csv(log_text, path + " (extra.trainer.log)");
        return state;
    }
};

// ---------------------------------------------------------------------------------------------
// The trainer

struct TrainerOptions {
    int64_t epochs = 1;
    std::string log_dir;              // log.csv, log.json, loss.png, metrics.png and the checkpoint ("": none)
    std::string checkpoint_path;      // default: <log_dir>/checkpoint.safetensors
    int64_t checkpoint_every = 0;     // save every N optimizer steps (0: only at the end and on Ctrl-C)
    bool checkpoint_at_end = true;
    std::string resume_from;          // a checkpoint to continue from ("": start fresh)
    double clip_grad_norm = 0;        // > 0: clip the gradients' global 2-norm to this before each step
    bool scheduler_per_step = false;  // advance the scheduler after every step instead of every epoch
    bool write_plots = true;          // loss.png / metrics.png in log_dir after each epoch
    bool handle_sigint = true;        // Ctrl-C finishes the step, saves and returns
    int64_t log_every = 0;            // when the output is not a terminal: a line every N steps (0: 4 an epoch)
    std::FILE* output = stdout;       // progress and messages (nullptr: silent)
};

enum class StopReason { finished, interrupted, non_finite_loss };

inline const char* stop_reason_name(StopReason reason) {
    switch (reason) {
        case StopReason::finished: return "finished";
        case StopReason::interrupted: return "interrupted";
        case StopReason::non_finite_loss: return "non-finite loss";
    }
    return "?";
}

struct FitResult {
    StopReason reason = StopReason::finished;
    std::string message;          // what happened, when it did not simply finish
    int64_t epoch = 0;            // 1-based epoch of the last step taken (or attempted, for a bad loss)
    int64_t step = 0;             // 1-based step within that epoch
    int64_t global_step = 0;      // optimizer steps taken since the start of training
    double last_loss = std::numeric_limits<double>::quiet_NaN();
    std::string checkpoint;       // the last checkpoint written by this call ("" if none)
    TrainingLog log;
    bool finished() const { return reason == StopReason::finished; }
};

template <class T>
class Trainer {
public:
    using EvaluationFn = std::function<Metrics(int64_t epoch)>;

    Trainer(nn::Module<T>& model, optim::Optimizer<T>& optimizer, TrainerOptions options = {})
        : model_(model), optimizer_(optimizer), options_(std::move(options)),
          checkpointer_(std::make_shared<FileCheckpointer<T>>()) {
        SEAM_CHECK(options_.epochs >= 0, "Trainer: epochs must be >= 0, got ", options_.epochs);
        SEAM_CHECK(options_.checkpoint_every >= 0, "Trainer: checkpoint_every must be >= 0, got ", options_.checkpoint_every);
        SEAM_CHECK(options_.clip_grad_norm >= 0, "Trainer: clip_grad_norm must be >= 0, got ", options_.clip_grad_norm);
        if (options_.checkpoint_path.empty() && !options_.log_dir.empty())
            options_.checkpoint_path = options_.log_dir + "/checkpoint.safetensors";
        SEAM_CHECK(options_.checkpoint_every == 0 || !options_.checkpoint_path.empty(),
                   "Trainer: checkpoint_every needs a log_dir or a checkpoint_path to save to");
    }

    void set_scheduler(optim::LRScheduler<T>& scheduler) { scheduler_ = &scheduler; }
    /// Called after every epoch with the 1-based epoch number, in eval mode under NoGradGuard.
    void set_evaluation(EvaluationFn evaluate) { evaluate_ = std::move(evaluate); }
    /// Where checkpoints are stored (files, FileCheckpointer, unless told otherwise).
    void set_checkpointer(std::shared_ptr<Checkpointer<T>> checkpointer) {
        SEAM_CHECK(checkpointer != nullptr, "Trainer: the checkpointer is null");
        checkpointer_ = std::move(checkpointer);
    }
    /// Saves and restores `generator` with every checkpoint, besides default_generator() (always
    /// saved, as "default"). The generator must outlive the trainer.
    void track_generator(const std::string& name, Generator& generator) {
        SEAM_CHECK(!name.empty() && name != "default", "Trainer: generator name \"", name,
                   "\" is empty or reserved (default_generator() is always saved as \"default\")");
        SEAM_CHECK(generators_.emplace(name, &generator).second, "Trainer: a generator is already tracked as \"", name, "\"");
    }
    const TrainerOptions& options() const { return options_; }
    const TrainingLog& log() const { return log_; }
    /// The 0-based epoch in progress (inside fit(); the step function uses it to seed per-epoch
    /// augmentation), or the last one after fit() returns.
    int64_t current_epoch() const { return current_epoch_; }

    /// Trains over a seam::data::DataLoader.
    template <class LoadFn, class CollateFn, class StepFn>
    FitResult fit(data::DataLoader<LoadFn, CollateFn>& loader, StepFn&& step) {
        LoaderBatches<data::DataLoader<LoadFn, CollateFn>> source(loader);
        return fit(source, std::forward<StepFn>(step));
    }

    /// Trains `options().epochs` epochs (minus those a resumed checkpoint already did).
    template <BatchSource Source, class StepFn>
    FitResult fit(Source& source, StepFn&& step) {
        const int64_t batches = source.batches_per_epoch();
        SEAM_CHECK(batches > 0, "Trainer: the batch source has no batches in an epoch (empty dataset, or drop_last "
                                "with fewer samples than one batch)");
        LoopState state;
        if (!options_.resume_from.empty()) state = resume(batches);
        else log_ = TrainingLog();
        if (!options_.log_dir.empty()) std::filesystem::create_directories(options_.log_dir);

        InterruptGuard interrupt(options_.handle_sigint);
        FitResult result;
        result.global_step = state.global_step;
        int64_t saved_at_step = -1;  // global step of the last checkpoint this call wrote

        for (int64_t epoch = state.epoch; epoch < options_.epochs; ++epoch) {
            current_epoch_ = epoch;
            const int64_t first = epoch == state.epoch ? state.batch : 0;
            double loss_sum = epoch == state.epoch ? state.epoch_loss_sum : 0.0;
            const double seconds_before = epoch == state.epoch ? state.epoch_seconds : 0.0;
            source.start_epoch(epoch, first);
            if (epoch == state.epoch && !state.order.empty())  // a checkpoint taken mid-epoch
                SEAM_CHECK(source.order() == state.order, "Trainer: the sample order of epoch ", epoch + 1,
                           " differs from the one in the checkpoint '", options_.resume_from,
                           "' (a different dataset size, batch source or seed?); resuming would not reproduce the run");
            model_.train();
            ProgressBar bar(epoch_label(epoch), batches, options_.log_every, first, options_.output);
            const auto started = Clock::now();
            auto epoch_seconds = [&] { return seconds_before + std::chrono::duration<double>(Clock::now() - started).count(); };
            int64_t images = 0;
            double lr_used = optimizer_.lr();

            for (int64_t b = first; b < batches; ++b) {
                auto batch = source.next();
                SEAM_CHECK(static_cast<bool>(batch), "Trainer: the batch source ended at batch ", b + 1, " of ", batches,
                           " in epoch ", epoch + 1);
                result.epoch = epoch + 1;
                result.step = b + 1;
                optimizer_.zero_grad();
                Tensor<T> loss = step(*batch);
                SEAM_CHECK(loss.defined() && loss.numel() == 1, "Trainer: the step function must return a scalar loss, got ",
                           loss.defined() ? shape_str(loss.shape()) : std::string("an undefined tensor"));
                const double value = static_cast<double>(loss.item());
                if (!std::isfinite(value)) {
                    bar.finish();
                    result.reason = StopReason::non_finite_loss;
                    result.last_loss = value;
                    result.message = seam::detail::concat(
                        "Trainer: the loss is ", value, " at epoch ", epoch + 1, ", step ", b + 1, " of ", batches,
                        " (global step ", state.global_step + 1, "); stopped before the optimizer step. Lower the "
                        "learning rate, check the inputs for NaN/Inf, or clip the gradients (clip_grad_norm).");
                    say(result.message);
                    result.log = log_;
                    return result;
                }
                loss.backward();
                if (options_.clip_grad_norm > 0) optim::clip_grad_norm_(model_.parameters(), options_.clip_grad_norm);
                lr_used = optimizer_.lr();
                optimizer_.step();
                if (scheduler_ && options_.scheduler_per_step) scheduler_->step();
                ++state.global_step;
                loss_sum += value;
                images += source.batch_samples(b);
                result.global_step = state.global_step;
                result.last_loss = value;
                bar.update(b + 1, loss_sum / static_cast<double>(b + 1), images);

                const bool last = b + 1 == batches;
                if (last) {
                    bar.finish();
                    finish_epoch(epoch, state.global_step, loss_sum / static_cast<double>(batches), lr_used, epoch_seconds);
                }
                const bool due = options_.checkpoint_every > 0 && state.global_step % options_.checkpoint_every == 0;
                const bool interrupted = interrupt.requested();
                if (due || interrupted) {
                    LoopState now = last ? next_epoch_state(epoch, state.global_step)
                                         : LoopState{epoch, b + 1, samples_done(source, b + 1), state.global_step,
                                                     loss_sum, epoch_seconds(), source.order(), {}};
                    save(now, result);
                    saved_at_step = state.global_step;
                }
                if (interrupted) {
                    if (!last) bar.finish();
                    result.reason = StopReason::interrupted;
                    result.message = seam::detail::concat(
                        "Trainer: interrupted (Ctrl-C) after epoch ", epoch + 1, ", step ", b + 1, " of ", batches,
                        " (global step ", state.global_step, "); ",
                        result.checkpoint.empty() ? std::string("no checkpoint path is set, nothing was saved")
                                                  : "checkpoint saved to '" + result.checkpoint +
                                                        "'; continue with resume_from = that path");
                    say(result.message);
                    result.log = log_;
                    return result;
                }
            }
        }
        if (options_.checkpoint_at_end && !options_.checkpoint_path.empty() && saved_at_step != state.global_step) {
            save(next_epoch_state(std::max<int64_t>(options_.epochs, state.epoch) - 1, state.global_step), result);
        }
        result.log = log_;
        return result;
    }

private:
    using Clock = std::chrono::steady_clock;

    std::string epoch_label(int64_t epoch) const {
        return "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(options_.epochs);
    }

    void say(const std::string& text) const {
        if (options_.output == nullptr) return;
        std::fprintf(options_.output, "%s\n", text.c_str());
        std::fflush(options_.output);
    }

    /// The state at the start of the epoch after `epoch` (nothing of it done yet).
    LoopState next_epoch_state(int64_t epoch, int64_t global_step) const {
        LoopState s;
        s.epoch = epoch + 1;
        s.global_step = global_step;
        return s;
    }

    /// Scheduler, evaluation, log row, files.
    template <class SecondsFn>
    void finish_epoch(int64_t epoch, int64_t global_step, double train_loss, double lr_used, SecondsFn&& seconds) {
        Metrics metrics;
        if (evaluate_) {
            model_.eval();
            {
                NoGradGuard no_grad;
                metrics = evaluate_(epoch + 1);
            }
            model_.train();
        }
        if (scheduler_ && !options_.scheduler_per_step) scheduler_->step();
        EpochRecord record{epoch + 1, global_step, train_loss, lr_used, seconds(), metrics};
        log_.add(record);
        if (options_.output != nullptr) {
            auto number = [](double v) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.4g", v);
                return std::string(buf);
            };
            std::string line = epoch_label(epoch) + ": train_loss " + number(train_loss) + "  lr " + number(lr_used);
            for (const auto& [name, value] : metrics) line += "  " + name + " " + number(value);
            char took[32];
            std::snprintf(took, sizeof took, "  (%.1f s)", record.seconds);
            say(line + took);
        }
        if (!options_.log_dir.empty()) {
            log_.write_csv(options_.log_dir + "/log.csv");
            log_.write_json(options_.log_dir + "/log.json");
            if (options_.write_plots) write_training_plots(log_, options_.log_dir);
        }
    }

    template <class Source>
    static int64_t samples_done(const Source& source, int64_t batches) {
        int64_t samples = 0;
        for (int64_t b = 0; b < batches; ++b) samples += source.batch_samples(b);
        return samples;
    }

    void save(LoopState state, FitResult& result) {
        if (options_.checkpoint_path.empty()) return;
        state.log = log_;
        checkpointer_->save(options_.checkpoint_path, model_, optimizer_, scheduler_, state, generators_);
        result.checkpoint = options_.checkpoint_path;
    }

    /// Loads resume_from into the model, optimizer, scheduler and generators; checks it fits.
    LoopState resume(int64_t batches) {
        LoopState state = checkpointer_->load(options_.resume_from, model_, optimizer_, scheduler_, generators_);
        const std::string& from = options_.resume_from;
        SEAM_CHECK(state.epoch >= 0 && state.global_step >= 0, "Trainer: checkpoint '", from, "' holds epoch ", state.epoch,
                   " and step ", state.global_step, "; both must be >= 0");
        SEAM_CHECK(state.batch >= 0 && state.batch < batches, "Trainer: checkpoint '", from, "' stopped after batch ",
                   state.batch, " of its epoch, but an epoch here has ", batches,
                   " batches (a different dataset size or batch size?)");
        log_ = state.log;
        if (state.epoch >= options_.epochs)
            say(seam::detail::concat("resumed from '", from, "': it has finished ", state.epoch, " epochs (global step ",
                                     state.global_step, "); nothing is left to do for epochs = ", options_.epochs));
        else
            say(seam::detail::concat("resumed from '", from, "' at epoch ", state.epoch + 1, ", batch ", state.batch + 1,
                                     " (global step ", state.global_step, ")"));
        return state;
    }

    nn::Module<T>& model_;
    optim::Optimizer<T>& optimizer_;
    TrainerOptions options_;
    optim::LRScheduler<T>* scheduler_ = nullptr;
    EvaluationFn evaluate_;
    std::shared_ptr<Checkpointer<T>> checkpointer_;
    NamedGenerators generators_;
    TrainingLog log_;
    int64_t current_epoch_ = 0;
};

}  // namespace seam::train
