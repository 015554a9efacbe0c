// seam/data/loader.hpp — a multi-threaded, prefetching, reproducible batch loader.
//
// DataLoader is generic over two callables:
//     Sample load(size_t index, seam::Generator& rng)      one dataset item, with its own randomness
//     Batch  collate(std::vector<Sample>&& samples)         stacks samples into a batch
// Worker threads (std::thread) build whole batches ahead of the consumer, at most `prefetch`
// batches ahead (a bounded queue: memory stays flat however slow the consumer is), and the
// consumer receives them strictly in order.
//
// Reproducibility: the epoch's order is a Fisher-Yates shuffle keyed by (seed, epoch), and each
// sample gets a fresh Generator keyed by (seed, epoch, index). Nothing depends on which thread
// built what, so the same seed and epoch give the same batches with 0, 1 or 8 workers.
//
// Evaluation mode: dataset order, no shuffling, and no randomness. The generator handed to load()
// is fixed, and a sample that draws from it is an error — a deterministic evaluation must not
// augment (mmfashion's random test-time crops are the cautionary tale, ref/deepfashion.md §1.1).
//
// Errors: an exception thrown by load() or collate() in a worker reaches the consumer as a
// seam::Error naming the sample index (and batch), at the point in the sequence where that batch
// would have arrived; the epoch then ends. Shutdown: the destructor (or start_epoch) stops the
// workers and joins them; a worker finishes the sample it is loading, never more. A consumer that
// stops early therefore never hangs.
//
// load() and collate() are called concurrently from several threads: they must not modify shared
// state without their own locking (reading a shared, immutable index is the usual case).
// start_epoch() and next() belong to one consumer thread.
//
//     seam::data::DataLoader loader(dataset.size(), load, collate, {.batch_size = 32, .seed = 7});
//     for (uint64_t epoch = 0; epoch < epochs; ++epoch) {
//         loader.start_epoch(epoch);
//         while (auto batch = loader.next()) train_step(*batch);
//     }
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/core/rng.hpp"

namespace seam::data {

struct LoaderOptions {
    size_t batch_size = 32;
    bool shuffle = true;      // ignored (false) in evaluation mode
    bool drop_last = false;   // drop a last, partial batch
    uint64_t seed = 0;
    int workers = 2;          // worker threads; 0 builds batches on the consumer's thread
    size_t prefetch = 4;      // batches built ahead of the consumer (>= 1)
    bool evaluation = false;  // dataset order, and load() must not draw random numbers
};

/// SplitMix64's finaliser: a cheap, well-mixing hash used to derive independent generator keys.
inline uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
/// A key for the stream (seed, a, b): different tuples give unrelated keys.
inline uint64_t derive_key(uint64_t seed, uint64_t a, uint64_t b) { return mix64(mix64(mix64(seed) ^ a) ^ b); }

/// The generator a sample of (seed, epoch) gets: independent of thread and of batch position.
inline Generator sample_generator(uint64_t seed, uint64_t epoch, size_t index) {
    return Generator(derive_key(seed, epoch, static_cast<uint64_t>(index) * 2 + 1));
}

/// The order of an epoch: 0..size-1, shuffled by (seed, epoch) when `shuffle`.
inline std::vector<size_t> epoch_order(size_t size, uint64_t seed, uint64_t epoch, bool shuffle) {
    std::vector<size_t> order(size);
    for (size_t i = 0; i < size; ++i) order[i] = i;
    if (!shuffle) return order;
    Generator rng(derive_key(seed, epoch, 0));  // even stream ids: never a sample's (odd) stream
    for (size_t i = size; i > 1; --i) std::swap(order[i - 1], order[rng.integer(i)]);
    return order;
}

template <class LoadFn, class CollateFn>
class DataLoader {
public:
    using Sample = std::decay_t<std::invoke_result_t<LoadFn&, size_t, Generator&>>;
    using Batch = std::decay_t<std::invoke_result_t<CollateFn&, std::vector<Sample>&&>>;

    DataLoader(size_t dataset_size, LoadFn load, CollateFn collate, LoaderOptions options = {})
        : size_(dataset_size), load_(std::move(load)), collate_(std::move(collate)), options_(options) {
        SEAM_CHECK(options_.batch_size >= 1, "DataLoader: batch_size must be >= 1");
        SEAM_CHECK(options_.prefetch >= 1, "DataLoader: prefetch must be >= 1");
        SEAM_CHECK(options_.workers >= 0, "DataLoader: workers must be >= 0, got ", options_.workers);
        if (options_.evaluation) options_.shuffle = false;
    }
    DataLoader(const DataLoader&) = delete;
    DataLoader& operator=(const DataLoader&) = delete;
    ~DataLoader() { stop_workers(); }

    size_t dataset_size() const { return size_; }
    const LoaderOptions& options() const { return options_; }
    size_t batches_per_epoch() const {
        return options_.drop_last ? size_ / options_.batch_size
                                  : (size_ + options_.batch_size - 1) / options_.batch_size;
    }
    /// The sample order of the current epoch (valid after start_epoch).
    const std::vector<size_t>& order() const { return order_; }

    /// Begins an epoch: abandons what is left of the previous one, computes the order and starts
    /// the workers.
    void start_epoch(uint64_t epoch) {
        stop_workers();
        epoch_ = epoch;
        order_ = epoch_order(size_, options_.seed, epoch, options_.shuffle);
        num_batches_ = batches_per_epoch();
        slots_.assign(options_.prefetch, Slot{});
        next_to_build_ = 0;
        consumed_ = 0;
        stop_ = false;
        started_ = true;
        for (int w = 0; w < options_.workers; ++w) workers_.emplace_back([this] { worker_loop(); });
    }

    /// The next batch of the epoch, or nothing when the epoch is over. Rethrows a worker's error.
    std::optional<Batch> next() {
        SEAM_CHECK(started_, "DataLoader::next: call start_epoch(epoch) first");
        if (consumed_ >= num_batches_) {
            stop_workers();
            return std::nullopt;
        }
        Slot slot;
        if (options_.workers == 0) {
            slot = build(consumed_);
        } else {
            std::unique_lock<std::mutex> lock(mutex_);
            Slot& waiting = slots_[consumed_ % slots_.size()];
            ready_.wait(lock, [&] { return waiting.ready; });
            slot = std::move(waiting);
            waiting = Slot{};
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ++consumed_;
        }
        space_.notify_all();
        if (slot.error) {
            stop_workers();
            consumed_ = num_batches_;  // the epoch ends at the first error
            std::rethrow_exception(slot.error);
        }
        return std::move(slot.batch);
    }

private:
    struct Slot {
        bool ready = false;
        std::optional<Batch> batch;
        std::exception_ptr error;
    };

    /// Loads and collates batch `b` of the epoch; exceptions become the slot's error.
    Slot build(size_t b) {
        Slot slot;
        slot.ready = true;
        const size_t begin = b * options_.batch_size;
        const size_t end = std::min(begin + options_.batch_size, size_);
        std::vector<Sample> samples;
        samples.reserve(end - begin);
        for (size_t position = begin; position < end; ++position) {
            if (stop_requested()) return slot;  // abandoned: nobody will read this slot
            const size_t index = order_[position];
            try {
                Generator rng = options_.evaluation ? Generator(0) : sample_generator(options_.seed, epoch_, index);
                samples.push_back(load_(index, rng));
                SEAM_CHECK(!options_.evaluation || rng.offset() == 0,
                           "drew random numbers in evaluation mode (evaluation transforms must be deterministic)");
            } catch (const std::exception& e) {
                slot.error = std::make_exception_ptr(Error(seam::detail::concat(
                    "DataLoader: sample ", index, " (batch ", b, ", epoch ", epoch_, ") failed: ", e.what())));
                return slot;
            } catch (...) {
                slot.error = std::make_exception_ptr(Error(seam::detail::concat(
                    "DataLoader: sample ", index, " (batch ", b, ", epoch ", epoch_, ") failed: unknown exception")));
                return slot;
            }
        }
        try {
            slot.batch.emplace(collate_(std::move(samples)));
        } catch (const std::exception& e) {
            slot.error = std::make_exception_ptr(Error(seam::detail::concat("DataLoader: collate of batch ", b, " (epoch ",
                                                                      epoch_, ") failed: ", e.what())));
        } catch (...) {
            slot.error = std::make_exception_ptr(
                Error(seam::detail::concat("DataLoader: collate of batch ", b, " (epoch ", epoch_, ") failed")));
        }
        return slot;
    }

    void worker_loop() {
        for (;;) {
            size_t b = 0;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                // Bounded queue: batch b reuses slot b % prefetch, free once batch b - prefetch is consumed.
                space_.wait(lock, [&] {
                    return stop_ || next_to_build_ >= num_batches_ || next_to_build_ < consumed_ + slots_.size();
                });
                if (stop_ || next_to_build_ >= num_batches_) return;
                b = next_to_build_++;
            }
            Slot slot = build(b);
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (stop_) return;
                slots_[b % slots_.size()] = std::move(slot);
            }
            ready_.notify_all();
        }
    }

    bool stop_requested() {
        std::lock_guard<std::mutex> lock(mutex_);
        return stop_;
    }

    void stop_workers() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        space_.notify_all();
        ready_.notify_all();
        for (std::thread& worker : workers_) worker.join();
        workers_.clear();
    }

    size_t size_;
    LoadFn load_;
    CollateFn collate_;
    LoaderOptions options_;

    uint64_t epoch_ = 0;
    std::vector<size_t> order_;
    size_t num_batches_ = 0;
    bool started_ = false;

    std::mutex mutex_;                 // guards everything below
    std::condition_variable space_;    // a slot freed, or stop
    std::condition_variable ready_;    // a batch finished
    std::vector<Slot> slots_;
    size_t next_to_build_ = 0;
    size_t consumed_ = 0;
    bool stop_ = false;
    std::vector<std::thread> workers_;
};

template <class LoadFn, class CollateFn>
DataLoader(size_t, LoadFn, CollateFn, LoaderOptions) -> DataLoader<LoadFn, CollateFn>;
template <class LoadFn, class CollateFn>
DataLoader(size_t, LoadFn, CollateFn) -> DataLoader<LoadFn, CollateFn>;

}  // namespace seam::data
