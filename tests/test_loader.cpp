// Tests of seam/data/loader.hpp: reproducible batches whatever the worker count, seeds that
// matter, evaluation order without randomness, error propagation with the sample index, bounded
// prefetch, and shutdown without hangs.
#include <doctest/doctest.h>

#include <seam/data/loader.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace seam::data;

/// A sample: its index and one random number drawn from the sample's generator.
struct Item {
    size_t index;
    uint64_t noise;
    bool operator==(const Item&) const = default;
};

auto noisy_load = [](size_t index, seam::Generator& rng) { return Item{index, rng.integer(1000000)}; };
auto keep_all = [](std::vector<Item>&& items) { return std::move(items); };

/// All batches of one epoch.
template <class Loader>
std::vector<std::vector<Item>> run_epoch(Loader& loader, uint64_t epoch) {
    std::vector<std::vector<Item>> batches;
    loader.start_epoch(epoch);
    while (auto batch = loader.next()) batches.push_back(std::move(*batch));
    return batches;
}

std::vector<std::vector<Item>> batches_with(size_t size, LoaderOptions options, uint64_t epoch) {
    DataLoader loader(size, noisy_load, keep_all, options);
    return run_epoch(loader, epoch);
}

}  // namespace

TEST_CASE("loader: same seed and epoch give the same batches with 0, 1 and 3 workers") {
    LoaderOptions options;
    options.batch_size = 7;
    options.seed = 1234;
    options.prefetch = 2;
    options.workers = 1;
    auto one = batches_with(50, options, 3);
    options.workers = 3;
    auto three = batches_with(50, options, 3);
    options.workers = 0;
    auto inline_built = batches_with(50, options, 3);
    CHECK(one == three);
    CHECK(one == inline_built);

    // 50 samples in batches of 7: 7 full batches and one of 1, every index exactly once.
    REQUIRE(one.size() == 8);
    CHECK(one.back().size() == 1);
    std::vector<size_t> seen;
    for (auto& batch : one)
        for (auto& item : batch) seen.push_back(item.index);
    std::vector<size_t> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    std::vector<size_t> expected(50);
    std::iota(expected.begin(), expected.end(), size_t{0});
    CHECK(sorted == expected);
    CHECK(seen != expected);  // shuffled (a 50-element shuffle is the identity with p = 1/50!)
}

TEST_CASE("loader: different seeds or epochs give different orders and per-sample noise") {
    LoaderOptions options;
    options.batch_size = 10;
    options.seed = 1;
    auto a = batches_with(40, options, 0);
    auto again = batches_with(40, options, 0);
    auto next_epoch = batches_with(40, options, 1);
    options.seed = 2;
    auto b = batches_with(40, options, 0);
    CHECK(a == again);
    CHECK(a != b);
    CHECK(a != next_epoch);
    CHECK((a[0][0].index != b[0][0].index || a[0][1].index != b[0][1].index));

    // The noise of a sample depends on (seed, epoch, index), not on where it landed in the order.
    auto noise_of = [](const std::vector<std::vector<Item>>& batches, size_t index) {
        for (auto& batch : batches)
            for (auto& item : batch)
                if (item.index == index) return item.noise;
        return uint64_t{0};
    };
    seam::Generator expected = sample_generator(1, 0, 17);
    CHECK(noise_of(a, 17) == expected.integer(1000000));
    CHECK(noise_of(a, 17) != noise_of(next_epoch, 17));

    // drop_last: 40 / 15 → 2 full batches.
    options.batch_size = 15;
    options.drop_last = true;
    DataLoader loader(40, noisy_load, keep_all, options);
    CHECK(loader.batches_per_epoch() == 2);
    CHECK(run_epoch(loader, 0).size() == 2);
}

TEST_CASE("loader: evaluation mode keeps the dataset order and forbids randomness") {
    LoaderOptions options;
    options.batch_size = 4;
    options.evaluation = true;
    options.shuffle = true;  // ignored in evaluation mode
    options.workers = 3;
    auto deterministic = [](size_t index, seam::Generator&) { return Item{index, index * 3}; };
    DataLoader loader(10, deterministic, keep_all, options);
    auto batches = run_epoch(loader, 5);
    REQUIRE(batches.size() == 3);
    CHECK(batches[0] == std::vector<Item>{{0, 0}, {1, 3}, {2, 6}, {3, 9}});
    CHECK(batches[2] == std::vector<Item>{{8, 24}, {9, 27}});

    DataLoader random_in_eval(10, noisy_load, keep_all, options);
    random_in_eval.start_epoch(0);
    std::string message;
    try {
        random_in_eval.next();
    } catch (const seam::Error& e) {
        message = e.what();
    }
    CHECK(message.find("sample 0") != std::string::npos);
    CHECK(message.find("evaluation mode") != std::string::npos);
}

TEST_CASE("loader: an exception in a worker reaches the consumer with the sample index") {
    for (int workers : {0, 1, 3}) {
        CAPTURE(workers);
        LoaderOptions options;
        options.batch_size = 5;
        options.workers = workers;
        options.evaluation = true;
        auto failing = [](size_t index, seam::Generator&) {
            if (index == 17) throw std::runtime_error("corrupt JPEG");
            return Item{index, 0};
        };
        DataLoader loader(40, failing, keep_all, options);
        loader.start_epoch(0);
        int delivered = 0;
        std::string message;
        try {
            while (loader.next()) ++delivered;
        } catch (const seam::Error& e) {
            message = e.what();
        }
        CHECK(delivered == 3);  // batches 0..2 (samples 0..14) arrive before the failing batch 3
        CHECK(message.find("sample 17") != std::string::npos);
        CHECK(message.find("corrupt JPEG") != std::string::npos);
        CHECK_FALSE(loader.next().has_value());  // the epoch ended at the error
    }
}

TEST_CASE("loader: the prefetch queue is bounded and early destruction does not hang") {
    std::atomic<int> loaded{0};
    auto counting = [&loaded](size_t index, seam::Generator&) {
        loaded.fetch_add(1);
        return Item{index, 0};
    };
    LoaderOptions options;
    options.batch_size = 4;
    options.workers = 3;
    options.prefetch = 2;
    {
        DataLoader loader(10000, counting, keep_all, options);
        loader.start_epoch(0);
        auto first = loader.next();
        REQUIRE(first.has_value());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        // Consumed 1 batch; at most `prefetch` more may be built: (1 + 2) batches × 4 samples.
        CHECK(loaded.load() <= 12);
        CHECK(loaded.load() >= 4);
    }  // destructor joins the waiting workers

    // Slow samples, consumer walks away mid-epoch: the destructor waits for the samples in
    // progress only.
    auto slow = [](size_t index, seam::Generator&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return Item{index, 0};
    };
    auto start = std::chrono::steady_clock::now();
    {
        DataLoader loader(100000, slow, keep_all, options);
        loader.start_epoch(0);
        loader.next();
        loader.start_epoch(1);  // abandoning an epoch part-way is allowed too
        loader.next();
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(seconds < 5.0);
}

TEST_CASE("loader: bad options and next() before start_epoch are errors") {
    LoaderOptions options;
    options.batch_size = 0;
    CHECK_THROWS_AS(DataLoader(10, noisy_load, keep_all, options), seam::Error);
    options.batch_size = 2;
    options.prefetch = 0;
    CHECK_THROWS_AS(DataLoader(10, noisy_load, keep_all, options), seam::Error);
    options.prefetch = 1;
    DataLoader loader(10, noisy_load, keep_all, options);
    CHECK_THROWS_AS(loader.next(), seam::Error);
    // An empty dataset gives an empty epoch.
    DataLoader empty(0, noisy_load, keep_all, options);
    CHECK(run_epoch(empty, 0).empty());
}
