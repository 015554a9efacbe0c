// bench_fashion_mnist_epoch — one training epoch (60,000 images, batch 128) of the Fashion-MNIST
// network of examples/fashion_mnist.cpp, seam against the identical network in LibTorch:
//   conv 3x3 1->32 (no bias), BN, ReLU, max-pool 2     28x28 -> 14x14
//   conv 3x3 32->64 (no bias), BN, ReLU, max-pool 2    14x14 -> 7x7
//   conv 3x3 64->64 (no bias), BN, ReLU                7x7
//   flatten, dropout 0.25, linear 3136->10, cross-entropy, AdamW (lr 3e-3, wd 1e-4)
//
//   bench_fashion_mnist_epoch [--threads 1,2] [--steps N] [--data DIR] [--out FILE.md]
//
// Data: the real Fashion-MNIST from /usr/share/datasets/fashion-mnist (or --data DIR) through
// seam/data/idx.hpp; when it is absent, 60,000 random 28x28 images with random labels (the report
// says which). Both frameworks train on the very same batches: each batch is built once (shuffled
// order, normalisation, the example's random flips and shifts) into a seam tensor that LibTorch
// reads in place (from_blob), so batch preparation is the same code and cost for both and is
// included in both times, as in the example's training loop.
// Timing: seam and LibTorch alternate in blocks of 10 steps over the same batches, after 3 warm-up
// steps each; --steps N times only the first N steps and extrapolates seconds per epoch.
// Validation before timing: with dropout off, LibTorch's network gets seam's initial weights; the
// loss and every parameter gradient, then the parameters after one AdamW step taken by both on seam's
// gradients, must agree to 1e-3
// (max|seam - LT| / max|LT|), or the program exits with status 1.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <seam/seam.hpp>

#include "bench_common.hpp"
#ifdef SEAM_BENCH_WITH_TORCH
#include <torch/torch.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr int64_t kBatch = 128;
constexpr double kLearningRate = 3e-3, kWeightDecay = 1e-4, kDropout = 0.25;
constexpr float kMean = 0.2860f, kStd = 0.3530f;  // of the training pixels, as in the example
constexpr int64_t kBlockSteps = 10;

void set_peer_threads(int threads) {
#ifdef SEAM_BENCH_WITH_TORCH
    torch::set_num_threads(threads);
    // LibTorch's Linear goes to OpenBLAS, whose own thread pool at::set_num_threads leaves alone.
    using SetThreads = void (*)(int);
    if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(threads);
#endif
    seam::set_num_threads(threads);
}

/// The example's network (make_network in examples/fashion_mnist.cpp), with the dropout rate as a
/// parameter so that validation can switch it off.
std::shared_ptr<seam::nn::Sequential<float>> seam_network(double dropout) {
    using namespace seam::nn;
    auto net = std::make_shared<Sequential<float>>();
    net->add(std::make_shared<Conv2d<float>>(1, 32, 3, 1, 1, 1, 1, /*bias=*/false));
    net->add(std::make_shared<BatchNorm2d<float>>(32));
    net->add(std::make_shared<ReLU<float>>());
    net->add(std::make_shared<MaxPool2d<float>>(2));
    net->add(std::make_shared<Conv2d<float>>(32, 64, 3, 1, 1, 1, 1, false));
    net->add(std::make_shared<BatchNorm2d<float>>(64));
    net->add(std::make_shared<ReLU<float>>());
    net->add(std::make_shared<MaxPool2d<float>>(2));
    net->add(std::make_shared<Conv2d<float>>(64, 64, 3, 1, 1, 1, 1, false));
    net->add(std::make_shared<BatchNorm2d<float>>(64));
    net->add(std::make_shared<ReLU<float>>());
    net->add(std::make_shared<Flatten<float>>());
    net->add(std::make_shared<Dropout<float>>(dropout));
    net->add(std::make_shared<Linear<float>>(64 * 7 * 7, 10));
    return net;
}

#ifdef SEAM_BENCH_WITH_TORCH
torch::nn::Sequential torch_network(double dropout) {
    using namespace torch::nn;
    return Sequential(Conv2d(Conv2dOptions(1, 32, 3).padding(1).bias(false)), BatchNorm2d(32), ReLU(),
                      MaxPool2d(MaxPool2dOptions(2)), Conv2d(Conv2dOptions(32, 64, 3).padding(1).bias(false)),
                      BatchNorm2d(64), ReLU(), MaxPool2d(MaxPool2dOptions(2)),
                      Conv2d(Conv2dOptions(64, 64, 3).padding(1).bias(false)), BatchNorm2d(64), ReLU(), Flatten(),
                      Dropout(DropoutOptions(dropout)), Linear(64 * 7 * 7, 10));
}

torch::Tensor as_torch(const seam::Tensor<float>& t) {
    std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
    return torch::from_blob(t.data(), shape, torch::kFloat32);
}
torch::Tensor as_torch(const seam::Tensor<int64_t>& t) {
    return torch::from_blob(t.data(), {t.numel()}, torch::kInt64);
}

double relative_error(const float* a, const float* b, int64_t n) {
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n; ++i) {
        diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
        scale = std::max(scale, std::abs(static_cast<double>(b[i])));
    }
    return scale > 0 ? diff / scale : diff;
}
#endif

/// 60,000 random images and labels of Fashion-MNIST's shape, for machines without the data set.
seam::data::IdxDataset synthetic_dataset() {
    seam::data::IdxDataset d;
    d.count = 60000, d.rows = 28, d.cols = 28;
    d.images.resize(static_cast<size_t>(d.count * 28 * 28));
    d.labels.resize(static_cast<size_t>(d.count));
    seam::Generator gen(3);
    for (auto& v : d.images) v = static_cast<uint8_t>(gen.integer(256));
    for (auto& v : d.labels) v = static_cast<uint8_t>(gen.integer(10));
    return d;
}

/// The example's make_batch: images order[begin, end) normalised into [B, 1, 28, 28], each flipped
/// with probability 1/2 and shifted by up to 2 pixels, random numbers from (seed, epoch, index).
void make_batch(const seam::data::IdxDataset& d, const std::vector<int64_t>& order, int64_t begin, int64_t end,
                uint64_t seed, seam::Tensor<float>& images, seam::Tensor<int64_t>& labels) {
    const int64_t b = end - begin, rows = d.rows, cols = d.cols, plane = rows * cols;
    images = seam::empty<float>({b, 1, rows, cols});
    labels = seam::empty<int64_t>({b});
    for (int64_t i = 0; i < b; ++i) {
        const int64_t index = order[static_cast<size_t>(begin + i)];
        const uint8_t* src = d.images.data() + index * plane;
        labels.data()[i] = d.labels[static_cast<size_t>(index)];
        float* dst = images.data() + i * plane;
        seam::Philox4x32 r = seam::philox4x32(static_cast<uint64_t>(index), 0, seed);
        const bool flip = (r.v[0] & 1u) != 0;
        const int dy = static_cast<int>(r.v[1] % 5) - 2, dx = static_cast<int>(r.v[2] % 5) - 2;
        const float zero = (0.0f - kMean) / kStd;
        for (int64_t y = 0; y < rows; ++y)
            for (int64_t x = 0; x < cols; ++x) {
                int64_t sy = y - dy, sx = x - dx;
                if (flip) sx = cols - 1 - sx;
                float v = zero;
                if (sy >= 0 && sy < rows && sx >= 0 && sx < cols) v = (src[sy * cols + sx] / 255.0f - kMean) / kStd;
                dst[y * cols + x] = v;
            }
    }
}

struct SeamTrainer {
    std::shared_ptr<seam::nn::Sequential<float>> net;
    std::unique_ptr<seam::optim::AdamW<float>> opt;
    explicit SeamTrainer(double dropout) : net(seam_network(dropout)) {
        net->train();
        opt = std::make_unique<seam::optim::AdamW<float>>(
            net->parameters(), seam::optim::AdamWOptions{kLearningRate, 0.9, 0.999, 1e-8, kWeightDecay});
    }
    double step(const seam::Tensor<float>& x, const seam::Tensor<int64_t>& y) {
        seam::Tensor<float> loss = seam::cross_entropy(net->forward(x), y);
        opt->zero_grad();
        loss.backward();
        opt->step();
        return loss.item();
    }
};

#ifdef SEAM_BENCH_WITH_TORCH
struct TorchTrainer {
    torch::nn::Sequential net;
    std::unique_ptr<torch::optim::AdamW> opt;
    explicit TorchTrainer(double dropout) : net(torch_network(dropout)) {
        net->train();
        opt = std::make_unique<torch::optim::AdamW>(
            net->parameters(),
            torch::optim::AdamWOptions(kLearningRate).betas({0.9, 0.999}).eps(1e-8).weight_decay(kWeightDecay));
    }
    double step(const torch::Tensor& x, const torch::Tensor& y) {
        torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x), y);
        opt->zero_grad();
        loss.backward();
        opt->step();
        return loss.item<double>();
    }
};
#endif

}  // namespace

int main(int argc, char** argv) {
    auto args = bench::Args::parse(argc, argv);
    int64_t steps = 0;  // 0: the whole epoch
    std::string data_dir = "/usr/share/datasets/fashion-mnist";
    for (int i = 1; i + 1 < argc; ++i) {
        std::string a = argv[i];
        if (a == "--steps") steps = std::stoll(argv[++i]);
        else if (a == "--data") data_dir = argv[++i];
    }
    if (args.quick && steps == 0) steps = 40;

    seam::data::IdxDataset train;
    std::string data_note;
    try {
        train = seam::data::load_idx_split(data_dir, "train");
        data_note = "real Fashion-MNIST training split from " + data_dir;
    } catch (const seam::Error& e) {
        train = synthetic_dataset();
        data_note = "SYNTHETIC random images of Fashion-MNIST's shape (the real data was not found: " +
                    std::string(e.what()) + ")";
    }
    const int64_t epoch_steps = (train.count + kBatch - 1) / kBatch;
    if (steps <= 0 || steps > epoch_steps) steps = epoch_steps;
    std::vector<int64_t> order(static_cast<size_t>(train.count));
    for (int64_t i = 0; i < train.count; ++i) order[static_cast<size_t>(i)] = i;
    seam::Generator shuffle(5);
    for (int64_t i = train.count - 1; i > 0; --i)
        std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(shuffle.integer(static_cast<uint64_t>(i + 1)))]);
    auto batch_range = [&](int64_t s, int64_t& begin, int64_t& end) {
        begin = s * kBatch;
        end = std::min(train.count, begin + kBatch);
    };

    bench::Report report("Fashion-MNIST training epoch (batch 128, examples/fashion_mnist.cpp network): seam vs LibTorch");
    auto& out = report.body();
    out << "- data: " << data_note << "; " << train.count << " images, " << epoch_steps << " steps an epoch\n";
#ifdef SEAM_BENCH_WITH_TORCH
    out << "- LibTorch " << TORCH_VERSION << ": the same layers in torch::nn::Sequential, torch::optim::AdamW, "
        << "torch::nn::functional::cross_entropy\n";
#endif
    out << "- step = batch preparation (shared code) + forward + cross-entropy + zero_grad + backward + AdamW step + loss.item()\n"
        << "- timed: " << (steps == epoch_steps ? "the whole epoch" : "the first " + std::to_string(steps) + " steps, extrapolated to the epoch")
        << ", seam and LibTorch alternating in blocks of " << kBlockSteps << " steps over the same batches, "
        << "after 3 warm-up steps each\n\n";

    // Validation: dropout off, same initial weights, one step.
#ifdef SEAM_BENCH_WITH_TORCH
    std::string validation_log;
    {
        set_peer_threads(args.threads.front());
        seam::manual_seed(1);
        SeamTrainer s(0.0);
        TorchTrainer t(0.0);
        auto sp = s.net->parameters();
        auto tp = t.net->parameters();
        if (sp.size() != tp.size()) {
            std::fprintf(stderr, "bench_fashion_mnist_epoch: parameter counts differ (%zu vs %zu)\n", sp.size(), tp.size());
            return 1;
        }
        {
            torch::NoGradGuard no_grad;
            for (size_t i = 0; i < sp.size(); ++i) tp[i].copy_(as_torch(sp[i]).view(tp[i].sizes()));
        }
        seam::Tensor<float> x;
        seam::Tensor<int64_t> y;
        make_batch(train, order, 0, kBatch, 1, x, y);
        seam::Tensor<float> sl = seam::cross_entropy(s.net->forward(x), y);
        sl.backward();
        torch::Tensor tl = torch::nn::functional::cross_entropy(t.net->forward(as_torch(x)), as_torch(y));
        tl.backward();
        double worst = std::abs(sl.item() - tl.item<double>()) / std::abs(tl.item<double>());
        double worst_grad = 0, worst_param = 0;
        std::string worst_grad_name;
        const auto names = s.net->named_parameters();
        for (size_t i = 0; i < sp.size(); ++i) {
            torch::Tensor g = tp[i].grad().contiguous();
            const double e = relative_error(sp[i].grad().data(), g.data_ptr<float>(), g.numel());
            if (e >= worst_grad) worst_grad = e, worst_grad_name = names[i].first;
        }
        // The optimizers are compared on the same gradients (seam's, copied into LibTorch): the first
        // AdamW step moves every weight by about lr * sign(gradient), so a gradient element near zero
        // whose sign the two libraries round differently would otherwise show up as a 2 * lr error
        // here although the gradients themselves were just checked.
        {
            torch::NoGradGuard no_grad;
            for (size_t i = 0; i < sp.size(); ++i) tp[i].mutable_grad().copy_(as_torch(sp[i].grad()).view(tp[i].sizes()));
        }
        s.opt->step();
        t.opt->step();
        for (size_t i = 0; i < sp.size(); ++i) {
            torch::Tensor p = tp[i].detach().contiguous();
            worst_param = std::max(worst_param, relative_error(sp[i].data(), p.data_ptr<float>(), p.numel()));
        }
        validation_log = "loss " + bench::fmt(worst * 1e6, 2) + "e-6, worst gradient " + bench::fmt(worst_grad * 1e6, 2) +
                         "e-6 (" + worst_grad_name + "), worst parameter after one AdamW step on the same gradients " + bench::fmt(worst_param * 1e6, 2) + "e-6";
        if (!(std::max({worst, worst_grad, worst_param}) <= 1e-3)) {
            std::fprintf(stderr, "bench_fashion_mnist_epoch: FAILED validation against LibTorch: %s\n",
                         validation_log.c_str());
            return 1;
        }
    }
#endif

    out << "| T | steps timed | seam s/epoch | seam images/s | LibTorch s/epoch | LibTorch images/s | seam/LibTorch time | "
           "final loss seam / LT |\n|---|---|---|---|---|---|---|---|\n";
    for (int threads : args.threads) {
        set_peer_threads(threads);
        seam::manual_seed(1);
        SeamTrainer s(kDropout);
        seam::Tensor<float> x;
        seam::Tensor<int64_t> y;
        int64_t begin, end;
        auto prepare = [&](int64_t step) {
            batch_range(step, begin, end);
            make_batch(train, order, begin, end, 1, x, y);
        };
#ifdef SEAM_BENCH_WITH_TORCH
        torch::manual_seed(1);
        TorchTrainer t(kDropout);
#endif
        for (int64_t w = 0; w < 3; ++w) {
            prepare(w);
            s.step(x, y);
#ifdef SEAM_BENCH_WITH_TORCH
            t.step(as_torch(x), as_torch(y));
#endif
        }
        double seam_seconds = 0, torch_seconds = 0, seam_loss = 0, torch_loss = 0;
        int64_t images = 0;
        for (int64_t block = 0; block < steps; block += kBlockSteps) {
            const int64_t block_end = std::min(steps, block + kBlockSteps);
            auto t0 = Clock::now();
            for (int64_t step = block; step < block_end; ++step) {
                prepare(step);
                seam_loss = s.step(x, y);
                images += end - begin;
            }
            seam_seconds += seconds_since(t0);
#ifdef SEAM_BENCH_WITH_TORCH
            t0 = Clock::now();
            for (int64_t step = block; step < block_end; ++step) {
                prepare(step);
                torch_loss = t.step(as_torch(x), as_torch(y));
            }
            torch_seconds += seconds_since(t0);
#endif
        }
        if (!std::isfinite(seam_loss)) {
            std::fprintf(stderr, "bench_fashion_mnist_epoch: seam's loss is not finite\n");
            return 1;
        }
        const double scale = static_cast<double>(train.count) / static_cast<double>(images);
        out << "| " << threads << " | " << steps << " | " << bench::fmt(seam_seconds * scale, 1) << " | "
            << bench::fmt(images / seam_seconds, 0) << " | ";
#ifdef SEAM_BENCH_WITH_TORCH
        out << bench::fmt(torch_seconds * scale, 1) << " | " << bench::fmt(images / torch_seconds, 0) << " | "
            << bench::fmt(seam_seconds / torch_seconds, 2) << " | " << bench::fmt(seam_loss, 3) << " / "
            << bench::fmt(torch_loss, 3) << " |\n";
#else
        (void)torch_loss, (void)torch_seconds;
        out << "– | – | – | " << bench::fmt(seam_loss, 3) << " / – |\n";
#endif
        std::fprintf(stderr, "bench_fashion_mnist_epoch: %d thread(s) done\n", threads);
    }
#ifdef SEAM_BENCH_WITH_TORCH
    out << "\nValidation before timing (dropout off, LibTorch given seam's initial weights, one step on the first batch): "
        << validation_log << "\n";
#endif
    report.finish(args.out);
    return 0;
}
