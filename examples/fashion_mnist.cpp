// fashion_mnist — train a small CNN (conv + BatchNorm + pooling) on the real Fashion-MNIST.
//
//   fashion_mnist [--data DIR] [--epochs N] [--batch B] [--lr LR] [--threads T] [--seed S]
//                 [--limit N] [--out FILE.json]
//
// Data: /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist), 60,000 training
// and 10,000 test images of 28x28 grey levels, ten classes of Zalando product photos.
// Network (about 0.1 M parameters):
//   conv 3x3 1->32, BN, ReLU, max-pool 2      28x28 -> 14x14
//   conv 3x3 32->64, BN, ReLU, max-pool 2     14x14 -> 7x7
//   conv 3x3 64->64, BN, ReLU                 7x7
//   flatten, dropout, linear 3136->10
// Training: AdamW with a linear warm-up then cosine decay, random horizontal flips and 2-pixel
// shifts. Evaluation has no randomness. Same seed and thread count -> the same numbers.
// Prints a progress bar, test accuracy, per-class accuracy and the confusion matrix, ends with
// one `SUMMARY {...}` line, and writes the same as JSON with --out.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <seam/seam.hpp>

using namespace seam;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::string data = "/usr/share/datasets/fashion-mnist";
    int epochs = 6;
    int batch = 128;
    double lr = 3e-3;
    double weight_decay = 1e-4;
    int threads = 0;  // 0: OpenMP default (all cores)
    uint64_t seed = 1;
    int64_t limit = 0;  // use only the first N training images (quick runs)
    std::string out;
};

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr,
                 "fashion_mnist: %s\nusage: fashion_mnist [--data DIR] [--epochs N] [--batch B] [--lr LR] "
                 "[--threads T] [--seed S] [--limit N] [--out FILE.json]\n",
                 problem.c_str());
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage("missing value after " + a);
            return argv[++i];
        };
        try {
            if (a == "--data") o.data = value();
            else if (a == "--epochs") o.epochs = std::stoi(value());
            else if (a == "--batch") o.batch = std::stoi(value());
            else if (a == "--lr") o.lr = std::stod(value());
            else if (a == "--threads") o.threads = std::stoi(value());
            else if (a == "--seed") o.seed = std::stoull(value());
            else if (a == "--limit") o.limit = std::stoll(value());
            else if (a == "--out") o.out = value();
            else if (a == "--help" || a == "-h") usage("help");
            else usage("unknown argument " + a);
        } catch (const std::invalid_argument&) {
            usage("bad number for " + a);
        } catch (const std::out_of_range&) {
            usage("number out of range for " + a);
        }
    }
    if (o.epochs < 1 || o.batch < 1 || o.lr <= 0) usage("--epochs, --batch and --lr must be positive");
    return o;
}

/// Fashion-MNIST mean and standard deviation of the training pixels (in [0,1] units).
constexpr float kMean = 0.2860f, kStd = 0.3530f;

std::shared_ptr<nn::Sequential<float>> make_network() {
    auto net = std::make_shared<nn::Sequential<float>>();
    net->add(std::make_shared<nn::Conv2d<float>>(1, 32, 3, 1, 1, 1, 1, /*bias=*/false));
    net->add(std::make_shared<nn::BatchNorm2d<float>>(32));
    net->add(std::make_shared<nn::ReLU<float>>());
    net->add(std::make_shared<nn::MaxPool2d<float>>(2));
    net->add(std::make_shared<nn::Conv2d<float>>(32, 64, 3, 1, 1, 1, 1, false));
    net->add(std::make_shared<nn::BatchNorm2d<float>>(64));
    net->add(std::make_shared<nn::ReLU<float>>());
    net->add(std::make_shared<nn::MaxPool2d<float>>(2));
    net->add(std::make_shared<nn::Conv2d<float>>(64, 64, 3, 1, 1, 1, 1, false));
    net->add(std::make_shared<nn::BatchNorm2d<float>>(64));
    net->add(std::make_shared<nn::ReLU<float>>());
    net->add(std::make_shared<nn::Flatten<float>>());
    net->add(std::make_shared<nn::Dropout<float>>(0.25));
    net->add(std::make_shared<nn::Linear<float>>(64 * 7 * 7, 10));
    return net;
}

/// Gather images `order[begin, end)` into a normalised [B,1,28,28] batch. With `augment`, each image
/// is flipped left-right with probability 1/2 and shifted by up to 2 pixels (zero fill); the random
/// numbers come from (seed, epoch, image index), so batches do not depend on the thread count.
void make_batch(const data::IdxDataset& d, const std::vector<int64_t>& order, int64_t begin, int64_t end, bool augment,
                uint64_t seed, int epoch, Tensor<float>& images, Tensor<int64_t>& labels) {
    const int64_t b = end - begin, rows = d.rows, cols = d.cols, plane = rows * cols;
    images = empty<float>({b, 1, rows, cols});
    labels = empty<int64_t>({b});
    float* x = images.data();
    int64_t* y = labels.data();
    for (int64_t i = 0; i < b; ++i) {
        const int64_t index = order[static_cast<size_t>(begin + i)];
        const uint8_t* src = d.images.data() + index * plane;
        y[i] = d.labels[static_cast<size_t>(index)];
        float* dst = x + i * plane;
        bool flip = false;
        int dy = 0, dx = 0;
        if (augment) {
            Philox4x32 r = philox4x32(static_cast<uint64_t>(index), static_cast<uint64_t>(epoch), seed);
            flip = (r.v[0] & 1u) != 0;
            dy = static_cast<int>(r.v[1] % 5) - 2;
            dx = static_cast<int>(r.v[2] % 5) - 2;
        }
        const float zero = (0.0f - kMean) / kStd;
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) {
                int64_t sr = r - dy, sc = c - dx;
                if (flip) sc = cols - 1 - sc;
                float v = zero;
                if (sr >= 0 && sr < rows && sc >= 0 && sc < cols) v = (src[sr * cols + sc] / 255.0f - kMean) / kStd;
                dst[r * cols + c] = v;
            }
        }
    }
}

struct Evaluation {
    double accuracy = 0;
    std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
};

Evaluation evaluate(nn::Module<float>& net, const data::IdxDataset& d) {
    NoGradGuard no_grad;
    net.eval();
    Evaluation ev;
    ev.confusion.assign(10, std::vector<int64_t>(10, 0));
    std::vector<int64_t> order(static_cast<size_t>(d.count));
    for (int64_t i = 0; i < d.count; ++i) order[static_cast<size_t>(i)] = i;
    int64_t correct = 0;
    const int64_t batch = 500;
    for (int64_t begin = 0; begin < d.count; begin += batch) {
        int64_t end = std::min(d.count, begin + batch);
        Tensor<float> x;
        Tensor<int64_t> y;
        make_batch(d, order, begin, end, false, 0, 0, x, y);
        Tensor<int64_t> predicted = argmax(net.forward(x), 1);
        for (int64_t i = 0; i < end - begin; ++i) {
            int64_t t = y.data()[i], p = predicted.data()[i];
            ev.confusion[static_cast<size_t>(t)][static_cast<size_t>(p)]++;
            correct += (t == p);
        }
    }
    ev.accuracy = static_cast<double>(correct) / static_cast<double>(d.count);
    return ev;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt = parse(argc, argv);
    try {
        if (opt.threads > 0) set_num_threads(opt.threads);
        auto t_start = Clock::now();
        data::IdxDataset train = data::load_idx_split(opt.data, "train");
        data::IdxDataset test = data::load_idx_split(opt.data, "t10k");
        if (opt.limit > 0 && opt.limit < train.count) train.count = opt.limit;
        std::printf("Fashion-MNIST from %s: %lld training and %lld test images of %lldx%lld, %d threads\n",
                    opt.data.c_str(), (long long)train.count, (long long)test.count, (long long)train.rows,
                    (long long)train.cols, num_threads());

        manual_seed(opt.seed);
        Generator shuffle_gen(opt.seed ^ 0x5eed5eedull);
        auto net = make_network();
        std::printf("%s\nparameters: %lld\n", net->to_string().c_str(), (long long)net->parameter_count());

        const int64_t steps_per_epoch = (train.count + opt.batch - 1) / opt.batch;
        const int64_t total_steps = steps_per_epoch * opt.epochs;
        const int64_t warmup_steps = std::max<int64_t>(1, steps_per_epoch / 2);
        optim::AdamW<float> optimizer(net->parameters(), {opt.lr, 0.9, 0.999, 1e-8, opt.weight_decay});
        // Per-step schedule: linear warm-up over half an epoch, then cosine to zero.
        auto lr_at = [&](int64_t step) {
            if (step < warmup_steps) return opt.lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
            double progress = static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
            return 0.5 * opt.lr * (1.0 + std::cos(3.14159265358979323846 * progress));
        };

        std::vector<double> epoch_loss;
        std::vector<double> epoch_test_accuracy;
        double train_seconds = 0;
        int64_t step = 0;
        std::vector<int64_t> order(static_cast<size_t>(train.count));
        for (int epoch = 0; epoch < opt.epochs; ++epoch) {
            net->train();
            for (int64_t i = 0; i < train.count; ++i) order[static_cast<size_t>(i)] = i;
            for (int64_t i = train.count - 1; i > 0; --i)  // Fisher-Yates with the seeded stream
                std::swap(order[static_cast<size_t>(i)],
                          order[static_cast<size_t>(shuffle_gen.integer(static_cast<uint64_t>(i + 1)))]);
            train::ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt.epochs),
                                   steps_per_epoch);
            double loss_sum = 0;
            int64_t seen = 0;
            for (int64_t s = 0; s < steps_per_epoch; ++s, ++step) {
                int64_t begin = s * opt.batch, end = std::min(train.count, begin + opt.batch);
                Tensor<float> x;
                Tensor<int64_t> y;
                make_batch(train, order, begin, end, true, opt.seed, epoch, x, y);
                for (auto& group : optimizer.param_groups()) group.lr = lr_at(step);
                Tensor<float> loss = cross_entropy(net->forward(x), y);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                double l = loss.item();
                if (!std::isfinite(l)) seam::fail("training diverged: loss is ", l, " at epoch ", epoch + 1, " step ", s + 1);
                loss_sum += l * static_cast<double>(end - begin);
                seen += end - begin;
                bar.update(s + 1, loss_sum / static_cast<double>(seen), seen);
            }
            train_seconds += bar.finish();
            epoch_loss.push_back(loss_sum / static_cast<double>(seen));
            Evaluation ev = evaluate(*net, test);
            epoch_test_accuracy.push_back(ev.accuracy);
            std::printf("epoch %d: train loss %.4f, test accuracy %.2f%%, %.0f s of training so far\n", epoch + 1,
                        epoch_loss.back(), 100 * ev.accuracy, train_seconds);
        }

        Evaluation ev = evaluate(*net, test);
        double wall = std::chrono::duration<double>(Clock::now() - t_start).count();
        const auto& names = data::fashion_mnist_classes();
        std::printf("\nTest accuracy: %.2f%% (%lld images)\n\nPer-class accuracy:\n", 100 * ev.accuracy,
                    (long long)test.count);
        std::vector<double> per_class(10);
        for (int c = 0; c < 10; ++c) {
            int64_t total = 0;
            for (int64_t v : ev.confusion[c]) total += v;
            per_class[c] = total ? static_cast<double>(ev.confusion[c][c]) / static_cast<double>(total) : 0.0;
            std::printf("  %-12s %6.2f%%\n", names[c], 100 * per_class[c]);
        }
        std::printf("\nConfusion matrix (rows: true class, columns: predicted):\n%12s", "");
        for (int c = 0; c < 10; ++c) std::printf("%6d", c);
        std::printf("\n");
        for (int r = 0; r < 10; ++r) {
            std::printf("%d %-10s", r, names[r]);
            for (int c = 0; c < 10; ++c) std::printf("%6lld", (long long)ev.confusion[r][c]);
            std::printf("\n");
        }

        // JSON: the same content as the report, machine-readable.
        std::ostringstream js;
        js << "{\"example\":\"fashion_mnist\",\"test_accuracy\":" << ev.accuracy << ",\"epochs\":" << opt.epochs
           << ",\"batch\":" << opt.batch << ",\"lr\":" << opt.lr << ",\"seed\":" << opt.seed
           << ",\"threads\":" << num_threads() << ",\"train_images\":" << train.count
           << ",\"train_seconds\":" << train_seconds << ",\"wall_seconds\":" << wall
           << ",\"parameters\":" << net->parameter_count() << ",\"epoch_loss\":[";
        for (size_t i = 0; i < epoch_loss.size(); ++i) js << (i ? "," : "") << epoch_loss[i];
        js << "],\"epoch_test_accuracy\":[";
        for (size_t i = 0; i < epoch_test_accuracy.size(); ++i) js << (i ? "," : "") << epoch_test_accuracy[i];
        js << "],\"per_class_accuracy\":{";
        for (int c = 0; c < 10; ++c) js << (c ? "," : "") << "\"" << names[c] << "\":" << per_class[c];
        js << "},\"confusion\":[";
        for (int r = 0; r < 10; ++r) {
            js << (r ? "," : "") << "[";
            for (int c = 0; c < 10; ++c) js << (c ? "," : "") << ev.confusion[r][c];
            js << "]";
        }
        js << "]}";
        if (!opt.out.empty()) {
            std::ofstream f(opt.out);
            if (!f) seam::fail("cannot write ", opt.out);
            f << js.str() << "\n";
        }
        std::printf("\nSUMMARY {\"example\":\"fashion_mnist\",\"test_accuracy\":%.4f,\"epochs\":%d,\"threads\":%d,"
                    "\"train_seconds\":%.1f,\"wall_seconds\":%.1f,\"seed\":%llu}\n",
                    ev.accuracy, opt.epochs, num_threads(), train_seconds, wall, (unsigned long long)opt.seed);
        return 0;
    } catch (const seam::Error& e) {
        std::fprintf(stderr, "fashion_mnist: error: %s\n", e.what());
        return 1;
    }
}
