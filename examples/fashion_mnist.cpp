// fashion_mnist — train a CNN on the real Fashion-MNIST with seam's Trainer (checkpoints, resume, logs,
// plots), then report test accuracy, per-class accuracy and the confusion matrix.
//
//   fashion_mnist [--model cnn|vgg|resnet] [--width-mult M] [--epochs N] [--batch B] [--lr LR]
//                 [--weight-decay WD] [--augment none|flip|flip+shift] [--threads T] [--seed S]
//                 [--limit N] [--data DIR] [--log-dir DIR] [--checkpoint-every N] [--resume FILE]
//                 [--device cpu|cuda[:N]] [--conv implicit_gemm|winograd|tf32|direct] [--out FILE.json]
//
// Data: /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist), 60,000 training
// and 10,000 test images of 28x28 grey levels, ten classes of Zalando product photos.
//
// Models (--model):
//   cnn     the default, 87,274 parameters (the network bench/bench_fashion_mnist_epoch times):
//             conv 3x3 1->32, BN, ReLU, max-pool 2      28x28 -> 14x14
//             conv 3x3 32->64, BN, ReLU, max-pool 2     14x14 -> 7x7
//             conv 3x3 64->64, BN, ReLU                 7x7
//             flatten, dropout 0.25, linear 3136->10
//   vgg     seam::models::vgg16_bn on one grey channel, every width scaled by --width-mult (default
//           0.125: 8, 16, 32, 64, 64 channels), the adaptive pool to 1x1, fc6/fc7 of 4096 * M
//   resnet  seam::models::resnet50 on one grey channel, widths scaled by --width-mult (default 0.125)
// The two backbones are the ones FashionNet and the other surveyed models stand on; on 28x28 inputs
// the image is framed to 32x32, and their five stride-2 stages leave a 1x1 map: they are here to show
// the backbones train, not to beat the small CNN.
//
// Training: AdamW, a linear warm-up over half an epoch then cosine decay to zero (per step), random
// horizontal flips (--augment). The random numbers of a sample come from (seed, epoch, index) and
// the epoch's order from (seed, epoch), so the same seed and thread count give the same weights.
//
// --device cuda trains on a GPU (builds with the CUDA backend; others refuse it with "seam was
// built without CUDA"): the model moves there with Module::to before the optimizer is made, each
// batch is assembled on the host and copied there, and predictions come back for scoring. The
// summary then also reports the peak device memory seam's allocator handed out.
//
// The Trainer writes <log-dir>/log.csv, log.json, loss.png, metrics.png and checkpoint.safetensors
// (every --checkpoint-every steps and at the end). Ctrl-C saves a checkpoint and stops; run again
// with --resume <log-dir>/checkpoint.safetensors (and the same other flags) to continue: the final
// weights are bit-identical to an uninterrupted run with the same thread count.
//
// Prints a progress bar, test accuracy, per-class accuracy and the confusion matrix, ends with one
// `SUMMARY {...}` line, and writes the same as JSON with --out.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <seam/seam.hpp>

#include "common/device.hpp"

using namespace seam;
using Clock = std::chrono::steady_clock;

namespace {

enum class Augment { none, flip, flip_shift };

struct Options {
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::string model = "cnn";
    double width_mult = 0.125;
    int epochs = 8;
    int batch = 128;
    double lr = 3e-3;
    double weight_decay = 1e-4;
    Augment augment = Augment::flip;
    int threads = 0;  // 0: OpenMP default (all cores)
    uint64_t seed = 1;
    int64_t limit = 0;  // use only the first N training images (quick runs)
    std::string log_dir = "runs/fashion_mnist";
    int64_t checkpoint_every = 0;  // 0: half an epoch
    std::string resume;
    std::string device = "cpu";  // cpu | cuda | cuda:N
    std::string conv;  // --conv (examples/common/device.hpp; empty: the starting algorithm)
    std::string out;
};

const char* const usage_text =
    "usage: fashion_mnist [--model cnn|vgg|resnet] [--width-mult M] [--epochs N] [--batch B] [--lr LR]\n"
    "                     [--weight-decay WD] [--augment none|flip|flip+shift] [--threads T] [--seed S]\n"
    "                     [--limit N] [--data DIR] [--log-dir DIR] [--checkpoint-every N] [--resume FILE]\n"
    "                     [--device cpu|cuda[:N]] [--conv implicit_gemm|winograd|tf32|direct] [--out FILE.json]\n";

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr, "fashion_mnist: %s\n%s", problem.c_str(), usage_text);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    bool width_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::printf("%s", usage_text);
            std::exit(0);
        }
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage("missing value after " + a);
            return argv[++i];
        };
        try {
            if (a == "--data") o.data = value();
            else if (a == "--model") o.model = value();
            else if (a == "--width-mult") o.width_mult = std::stod(value()), width_given = true;
            else if (a == "--epochs") o.epochs = std::stoi(value());
            else if (a == "--batch") o.batch = std::stoi(value());
            else if (a == "--lr") o.lr = std::stod(value());
            else if (a == "--weight-decay") o.weight_decay = std::stod(value());
            else if (a == "--augment") {
                std::string v = value();
                if (v == "none") o.augment = Augment::none;
                else if (v == "flip") o.augment = Augment::flip;
                else if (v == "flip+shift") o.augment = Augment::flip_shift;
                else usage("--augment must be none, flip or flip+shift, not " + v);
            } else if (a == "--threads") o.threads = std::stoi(value());
            else if (a == "--seed") o.seed = std::stoull(value());
            else if (a == "--limit") o.limit = std::stoll(value());
            else if (a == "--log-dir") o.log_dir = value();
            else if (a == "--checkpoint-every") o.checkpoint_every = std::stoll(value());
            else if (a == "--resume") o.resume = value();
            else if (a == "--out") o.out = value();
            else if (a == "--device") {
                o.device = value();
                if (!example::is_device_name(o.device)) usage("--device must be cpu, cuda or cuda:N, not " + o.device);
            } else if (a == "--conv") {
                o.conv = value();
                if (!example::is_conv_name(o.conv))
                    usage("--conv must be implicit_gemm, winograd, tf32 or direct, not " + o.conv);
            } else usage("unknown argument " + a);
        } catch (const std::invalid_argument&) {
            usage("bad number for " + a);
        } catch (const std::out_of_range&) {
            usage("number out of range for " + a);
        }
    }
    if (o.epochs < 1 || o.batch < 1 || o.lr <= 0 || o.weight_decay < 0 || o.limit < 0 || o.checkpoint_every < 0)
        usage("--epochs, --batch and --lr must be positive; --weight-decay, --limit and --checkpoint-every >= 0");
    if (o.model != "cnn" && o.model != "vgg" && o.model != "resnet") usage("--model must be cnn, vgg or resnet");
    if (o.width_mult <= 0 || o.width_mult > 1) usage("--width-mult must be in (0, 1]");
    if (width_given && o.model == "cnn") usage("--width-mult applies to --model vgg and resnet only");
    if (o.resume.empty() && o.log_dir.empty()) usage("--log-dir must not be empty");
    return o;
}

const char* augment_name(Augment a) {
    switch (a) {
        case Augment::none: return "none";
        case Augment::flip: return "flip";
        case Augment::flip_shift: return "flip+shift";
    }
    return "?";
}

/// Fashion-MNIST mean and standard deviation of the training pixels (in [0,1] units).
constexpr float kMean = 0.2860f, kStd = 0.3530f;

std::shared_ptr<nn::Module<float>> make_cnn() {
    auto net = std::make_shared<nn::Sequential<float>>();
    net->add(std::make_shared<nn::Conv2d<float>>(1, 32, 3, 1, 1, 1, 1, /*bias=*/false));  // BN follows: no bias
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

std::shared_ptr<nn::Module<float>> make_network(const Options& o) {
    if (o.model == "vgg") {
        models::VggOptions v;
        v.num_classes = 10;
        v.width_mult = o.width_mult;
        v.avgpool_size = {1, 1};  // 32 -> 1 after the five pools
        v.batch_norm = true;      // without BN a 16-layer net at this width trains slowly
        v.in_channels = 1;
        return std::make_shared<models::VGG<float>>(v);
    }
    if (o.model == "resnet") {
        models::ResNetOptions r;
        r.num_classes = 10;
        r.width_mult = o.width_mult;
        r.in_channels = 1;
        r.zero_init_residual = true;  // each block starts as the identity: trains well at small width
        return std::make_shared<models::ResNet<float>>(r);
    }
    return make_cnn();
}

/// Gather images `indices` into a normalised [B,1,28+2*pad,28+2*pad] batch (the border is background). Augmentation: the image is flipped
/// left-right with probability 1/2, and with flip+shift also moved by up to 2 pixels (zero fill);
/// the random numbers come from (seed, epoch, image index), so batches do not depend on the thread count.
void make_batch(const data::IdxDataset& d, const std::vector<size_t>& indices, Augment augment, uint64_t seed,
                int64_t epoch, int64_t pad, Tensor<float>& images, Tensor<int64_t>& labels) {
    const int64_t b = static_cast<int64_t>(indices.size()), rows = d.rows, cols = d.cols, plane = rows * cols;
    const int64_t out_rows = rows + 2 * pad, out_cols = cols + 2 * pad, out_plane = out_rows * out_cols;
    images = empty<float>({b, 1, out_rows, out_cols});
    labels = empty<int64_t>({b});
    float* x = images.data();
    int64_t* y = labels.data();
    const float zero = (0.0f - kMean) / kStd;
    for (int64_t i = 0; i < b; ++i) {
        const size_t index = indices[static_cast<size_t>(i)];
        const uint8_t* src = d.images.data() + static_cast<int64_t>(index) * plane;
        y[i] = d.labels[index];
        float* dst = x + i * out_plane;
        bool flip = false;
        int dy = 0, dx = 0;
        if (augment != Augment::none) {
            Philox4x32 r = philox4x32(static_cast<uint64_t>(index), static_cast<uint64_t>(epoch), seed);
            flip = (r.v[0] & 1u) != 0;
            if (augment == Augment::flip_shift) {
                dy = static_cast<int>(r.v[1] % 5) - 2;
                dx = static_cast<int>(r.v[2] % 5) - 2;
            }
        }
        for (int64_t r = 0; r < out_rows; ++r) {
            for (int64_t c = 0; c < out_cols; ++c) {
                int64_t sr = r - pad - dy, sc = c - pad - dx;
                if (flip) sc = cols - 1 - sc;
                float v = zero;
                if (sr >= 0 && sr < rows && sc >= 0 && sc < cols) v = (src[sr * cols + sc] / 255.0f - kMean) / kStd;
                dst[r * out_cols + c] = v;
            }
        }
    }
}

struct Evaluation {
    double accuracy = 0;
    std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
};

/// Test accuracy and confusion matrix; the caller puts the model in eval mode (the Trainer does).
/// Batches go to `device` (the model's); the predicted classes come back to the host.
Evaluation evaluate(nn::Module<float>& net, const data::IdxDataset& d, int64_t pad, Device device) {
    NoGradGuard no_grad;
    Evaluation ev;
    ev.confusion.assign(10, std::vector<int64_t>(10, 0));
    int64_t correct = 0;
    const int64_t batch = 500;
    for (int64_t begin = 0; begin < d.count; begin += batch) {
        const int64_t end = std::min(d.count, begin + batch);
        std::vector<size_t> indices;
        for (int64_t i = begin; i < end; ++i) indices.push_back(static_cast<size_t>(i));
        Tensor<float> x;
        Tensor<int64_t> y;
        make_batch(d, indices, Augment::none, 0, 0, pad, x, y);
        Tensor<int64_t> predicted = argmax(net.forward(x.to(device)), 1).to(Device::cpu());
        for (int64_t i = 0; i < end - begin; ++i) {
            const int64_t t = y.data()[i], p = predicted.data()[i];
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
        // First: a CUDA device on a build without CUDA fails here, before any data is read.
        const Device device = example::resolve_device(opt.device);
        if (opt.threads > 0) set_num_threads(opt.threads);
        const auto t_start = Clock::now();
        data::IdxDataset train = data::load_idx_split(opt.data, "train");
        data::IdxDataset test = data::load_idx_split(opt.data, "t10k");
        if (opt.limit > 0 && opt.limit < train.count) train.count = opt.limit;
        std::printf("Fashion-MNIST from %s: %lld training and %lld test images of %lldx%lld, %d threads\n",
                    opt.data.c_str(), (long long)train.count, (long long)test.count, (long long)train.rows,
                    (long long)train.cols, num_threads());

        manual_seed(opt.seed);  // initial weights and dropout masks
        auto net = make_network(opt);
        net->to(device);  // before the optimizer: its state is created on the parameters' device
        example::set_conv(opt.conv, device);
        const std::string conv = example::conv_report(opt.conv, device);
        std::printf("device: %s, convolution: %s\n", example::device_description(device).c_str(), conv.c_str());
        // The backbones halve the map five times: 28 would end at 0x0, so they see the image framed
        // to 32x32 (32 -> 16 -> 8 -> 4 -> 2 -> 1), as LeNet-5 saw MNIST.
        const int64_t pad = opt.model == "cnn" ? 0 : 2;
        std::printf("model %s: %lld parameters\n", opt.model.c_str(), (long long)net->parameter_count());
        if (opt.model == "cnn") std::printf("%s\n", net->to_string().c_str());

        train::IndexBatches batches(static_cast<size_t>(train.count), static_cast<size_t>(opt.batch), opt.seed);
        const int64_t steps_per_epoch = batches.batches_per_epoch();
        const int64_t total_steps = steps_per_epoch * opt.epochs;
        const int64_t warmup_steps = std::min<int64_t>(std::max<int64_t>(1, steps_per_epoch / 2), total_steps - 1);
        optim::AdamW<float> optimizer(net->parameters(), {opt.lr, 0.9, 0.999, 1e-8, opt.weight_decay});
        // Per step: linear warm-up from lr/warmup over half an epoch, then cosine decay to zero.
        auto schedule = std::make_shared<optim::LinearWarmup>(
            std::make_shared<optim::CosineAnnealingLR>(std::max<int64_t>(1, total_steps - warmup_steps)), warmup_steps,
            1.0 / static_cast<double>(warmup_steps));
        optim::LRScheduler<float> scheduler(optimizer, schedule);

        train::TrainerOptions topt;
        topt.epochs = opt.epochs;
        topt.log_dir = opt.log_dir;
        topt.checkpoint_every = opt.checkpoint_every > 0 ? opt.checkpoint_every : std::max<int64_t>(1, steps_per_epoch / 2);
        topt.resume_from = opt.resume;
        topt.scheduler_per_step = true;
        train::Trainer<float> trainer(*net, optimizer, topt);
        trainer.set_scheduler(scheduler);
        trainer.set_evaluation([&](int64_t) { return train::Metrics{{"test_accuracy", evaluate(*net, test, pad, device).accuracy}}; });

        train::FitResult fit = trainer.fit(batches, [&](const std::vector<size_t>& indices) {
            Tensor<float> x;
            Tensor<int64_t> y;
            make_batch(train, indices, opt.augment, opt.seed, trainer.current_epoch(), pad, x, y);
            return cross_entropy(net->forward(x.to(device)), y.to(device));
        });
        if (!fit.finished()) {
            std::fprintf(stderr, "fashion_mnist: stopped (%s): %s\n", train::stop_reason_name(fit.reason),
                         fit.message.c_str());
            return fit.reason == train::StopReason::interrupted ? 130 : 1;
        }

        net->eval();
        Evaluation ev = evaluate(*net, test, pad, device);
        const double peak_mib = example::peak_device_memory_mib(device);
        const double wall = std::chrono::duration<double>(Clock::now() - t_start).count();
        double train_seconds = 0;
        std::vector<double> epoch_loss, epoch_accuracy;
        for (const auto& row : fit.log.records()) {
            train_seconds += row.seconds;
            epoch_loss.push_back(row.train_loss);
            for (const auto& [name, value] : row.metrics)
                if (name == "test_accuracy") epoch_accuracy.push_back(value);
        }

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
        std::string confusion_png;
        if (!opt.log_dir.empty()) {
            std::vector<std::string> labels(names.begin(), names.end());
            confusion_png = opt.log_dir + "/confusion.png";
            train::ConfusionOptions copt;
            copt.title = "Fashion-MNIST test set (rows: true, columns: predicted)";
            data::write_png(confusion_png, train::confusion_matrix_image(ev.confusion, labels, copt));
        }
        std::printf("\nlogs, plots and checkpoint in %s/ (resume with --resume %s)\n", opt.log_dir.c_str(),
                    fit.checkpoint.c_str());

        // JSON: the same content as the report, machine-readable.
        std::ostringstream js;
        js.precision(17);
        js << "{\"example\":\"fashion_mnist\",\"model\":\"" << opt.model << "\",\"test_accuracy\":" << ev.accuracy
           << ",\"epochs\":" << opt.epochs << ",\"batch\":" << opt.batch << ",\"lr\":" << opt.lr
           << ",\"augment\":\"" << augment_name(opt.augment) << "\",\"seed\":" << opt.seed
           << ",\"device\":\"" << device.str() << "\",\"convolution\":\"" << conv << "\""
           << ",\"peak_device_memory_mib\":" << peak_mib
           << ",\"threads\":" << num_threads() << ",\"train_images\":" << train.count
           << ",\"train_seconds\":" << train_seconds << ",\"wall_seconds\":" << wall
           << ",\"parameters\":" << net->parameter_count() << ",\"resumed\":" << (opt.resume.empty() ? "false" : "true")
           << ",\"checkpoint\":\"" << fit.checkpoint << "\",\"epoch_loss\":[";
        for (size_t i = 0; i < epoch_loss.size(); ++i) js << (i ? "," : "") << epoch_loss[i];
        js << "],\"epoch_test_accuracy\":[";
        for (size_t i = 0; i < epoch_accuracy.size(); ++i) js << (i ? "," : "") << epoch_accuracy[i];
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
        std::printf("\nSUMMARY {\"example\":\"fashion_mnist\",\"model\":\"%s\",\"test_accuracy\":%.4f,\"epochs\":%d,"
                    "\"threads\":%d,\"train_seconds\":%.1f,\"wall_seconds\":%.1f,\"seed\":%llu,\"device\":\"%s\","
                    "\"final_loss\":%.6g,\"peak_device_memory_mib\":%.1f}\n",
                    opt.model.c_str(), ev.accuracy, opt.epochs, num_threads(), train_seconds, wall,
                    (unsigned long long)opt.seed, device.str().c_str(), epoch_loss.empty() ? 0.0 : epoch_loss.back(),
                    peak_mib);
        return 0;
    } catch (const seam::Error& e) {
        std::fprintf(stderr, "fashion_mnist: error: %s\n", e.what());
        return 1;
    }
}
