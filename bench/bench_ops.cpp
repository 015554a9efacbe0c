// bench_ops — the memory-bound ops around the convolutions, at the sizes VGG-16 (batch 8, 64x64)
// and the Fashion-MNIST example (batch 128) feed them: max-pool, batch norm (training), ReLU,
// elementwise add, sum reductions, softmax and cross-entropy. seam against LibTorch, forward under
// no-grad and forward+backward (gradient of the input, and of BN's weight and bias), 1 and 2 threads.
//
//   bench_ops [--threads 1,2] [--quick] [--out FILE.md]
//
// Each case is validated first: seam's output and input gradient against LibTorch's (relative
// error max|seam - LT| / max|LT| <= 1e-3, else exit status 1). "fwd GB/s" counts the bytes the
// forward must move at least (each input read once, the output written once); compare with this
// machine's DRAM bandwidth (perf-anchors §A.1 measured ~25 GB/s for one thread on its machine)
// only for tensors larger than the 2 MiB L2; the smaller ones run out of cache.
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <seam/seam.hpp>

#include "bench_common.hpp"
#ifdef SEAM_BENCH_WITH_TORCH
#include <torch/torch.h>
#endif

namespace {

void set_peer_threads(int threads) {
#ifdef SEAM_BENCH_WITH_TORCH
    torch::set_num_threads(threads);
    using SetThreads = void (*)(int);
    if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(threads);
#endif
    seam::set_num_threads(threads);
}

double relative_error(const float* a, const float* b, int64_t n) {
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n; ++i) {
        diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
        scale = std::max(scale, std::abs(static_cast<double>(b[i])));
    }
    return scale > 0 ? diff / scale : diff;
}

using SeamOp = std::function<seam::Tensor<float>(const seam::Tensor<float>&)>;
#ifdef SEAM_BENCH_WITH_TORCH
using TorchOp = std::function<torch::Tensor(const torch::Tensor&)>;
torch::Tensor as_torch(const seam::Tensor<float>& t) {
    std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
    return torch::from_blob(t.data(), shape, torch::kFloat32);
}
#endif

/// One op at one size: the input shape, the forward's minimum traffic in bytes, both implementations.
struct Case {
    std::string name;
    seam::Shape shape;
    double bytes;  // forward: inputs read + output written, in bytes
    SeamOp seam_op;
#ifdef SEAM_BENCH_WITH_TORCH
    TorchOp torch_op;
#endif
};

std::string shape_text(const seam::Shape& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
    return out;
}

double numel(const seam::Shape& s) {
    double n = 1;
    for (auto d : s) n *= static_cast<double>(d);
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    auto args = bench::Args::parse(argc, argv);
    const int samples = args.quick ? 3 : 7;
    seam::Generator gen(17);

    // Parameters and side inputs the cases capture (shared by seam and, through from_blob, LibTorch).
    const seam::Shape vgg1{8, 64, 64, 64}, vgg3{8, 256, 16, 16}, fm1{128, 32, 28, 28};
    seam::Tensor<float> other = seam::randn<float>(vgg1, gen);  // second operand of add
    seam::Tensor<float> bn_w = seam::rand<float>({32}, gen, 0.5f, 1.5f), bn_b = seam::randn<float>({32}, gen);
    bn_w.set_requires_grad();
    bn_b.set_requires_grad();
    seam::Tensor<int64_t> labels = seam::empty<int64_t>({4096});
    for (int64_t i = 0; i < 4096; ++i) labels.data()[i] = static_cast<int64_t>(gen.integer(1000));
    seam::Tensor<int64_t> labels10 = seam::empty<int64_t>({128});
    for (int64_t i = 0; i < 128; ++i) labels10.data()[i] = static_cast<int64_t>(gen.integer(10));
    seam::Pool2dOptions pool2;
    pool2.kernel = {2, 2};
    pool2.stride = {2, 2};
#ifdef SEAM_BENCH_WITH_TORCH
    torch::Tensor t_other = as_torch(other);
    torch::Tensor t_bn_w = as_torch(bn_w).clone().requires_grad_(true), t_bn_b = as_torch(bn_b).clone().requires_grad_(true);
    torch::Tensor t_labels = torch::from_blob(labels.data(), {4096}, torch::kInt64);
    torch::Tensor t_labels10 = torch::from_blob(labels10.data(), {128}, torch::kInt64);
#endif
    const double f = 4;  // bytes per float
    std::vector<Case> cases;
    auto add_case = [&](std::string name, seam::Shape shape, double bytes, SeamOp s
#ifdef SEAM_BENCH_WITH_TORCH
                        ,
                        TorchOp t
#endif
    ) {
        cases.push_back({std::move(name), std::move(shape), bytes, std::move(s)
#ifdef SEAM_BENCH_WITH_TORCH
                                                                        ,
                         std::move(t)
#endif
        });
    };
#ifdef SEAM_BENCH_WITH_TORCH
#define PEER(expr) , expr
#else
#define PEER(expr)
#endif
    add_case("max_pool2d 2x2", vgg1, f * numel(vgg1) * 1.25, [&](const auto& x) { return seam::max_pool2d(x, pool2); }
             PEER([](const torch::Tensor& x) { return torch::max_pool2d(x, {2, 2}); }));
    add_case("max_pool2d 2x2", vgg3, f * numel(vgg3) * 1.25, [&](const auto& x) { return seam::max_pool2d(x, pool2); }
             PEER([](const torch::Tensor& x) { return torch::max_pool2d(x, {2, 2}); }));
    add_case("relu", vgg1, f * numel(vgg1) * 2, [](const auto& x) { return seam::relu(x); }
             PEER([](const torch::Tensor& x) { return torch::relu(x); }));
    add_case("add", vgg1, f * numel(vgg1) * 3, [&](const auto& x) { return x + other; }
             PEER([&](const torch::Tensor& x) { return x + t_other; }));
    add_case("batch_norm (train, affine)", fm1, f * numel(fm1) * 2,
             [&](const auto& x) { return seam::batch_norm(x, {}, {}, bn_w, bn_b, true); }
             PEER([&](const torch::Tensor& x) {
                 return torch::batch_norm(x, t_bn_w, t_bn_b, {}, {}, true, 0.1, 1e-5, false);
             }));
    add_case("batch_norm + relu (two ops)", fm1, f * numel(fm1) * 2,
             [&](const auto& x) { return seam::relu(seam::batch_norm(x, {}, {}, bn_w, bn_b, true)); }
             PEER([&](const torch::Tensor& x) {
                 return torch::relu(torch::batch_norm(x, t_bn_w, t_bn_b, {}, {}, true, 0.1, 1e-5, false));
             }));
    add_case("sum (all)", vgg1, f * numel(vgg1), [](const auto& x) { return seam::sum(x); }
             PEER([](const torch::Tensor& x) { return x.sum(); }));
    add_case("sum over H,W", vgg1, f * numel(vgg1), [](const auto& x) { return seam::sum(x, {2, 3}); }
             PEER([](const torch::Tensor& x) { return x.sum({2, 3}); }));
    add_case("softmax dim 1", {4096, 1000}, f * 4096 * 1000 * 2, [](const auto& x) { return seam::softmax(x, 1); }
             PEER([](const torch::Tensor& x) { return torch::softmax(x, 1); }));
    add_case("cross_entropy (mean)", {4096, 1000}, f * 4096 * 1000,
             [&](const auto& x) { return seam::cross_entropy(x, labels); }
             PEER([&](const torch::Tensor& x) { return torch::nn::functional::cross_entropy(x, t_labels); }));
    add_case("cross_entropy (mean)", {128, 10}, f * 128 * 10,
             [&](const auto& x) { return seam::cross_entropy(x, labels10); }
             PEER([&](const torch::Tensor& x) { return torch::nn::functional::cross_entropy(x, t_labels10); }));
#undef PEER
    if (args.quick) cases.resize(4);

    bench::Report report("Memory-bound ops (pooling, BN, elementwise, reductions, softmax/CE): seam vs LibTorch");
    auto& out = report.body();
#ifdef SEAM_BENCH_WITH_TORCH
    out << "- LibTorch " << TORCH_VERSION << " ATen CPU kernels; NCHW float\n";
#endif
    out << "- forward under no-grad; fwd+bwd = forward, then backward() with a random output gradient (inputs and BN's\n"
        << "  weight/bias require grad; gradients reset to none between calls); median of " << samples
        << " samples of >= 0.1 s\n"
        << "- fwd GB/s = minimum forward traffic (inputs once + output once) / time\n\n"
        << "| op | input | T | seam fwd ms | seam fwd GB/s | LibTorch fwd ms | LibTorch fwd GB/s | fwd seam/LT | "
           "seam fwd+bwd ms | LibTorch fwd+bwd ms | fwd+bwd seam/LT |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    std::string validation_log;
    for (const Case& c : cases) {
        seam::Tensor<float> x = seam::randn<float>(c.shape, gen);
        x.set_requires_grad();
        seam::Tensor<float> y0;
        {
            seam::NoGradGuard no_grad;
            y0 = c.seam_op(x);
        }
        seam::Tensor<float> gy = seam::randn<float>(y0.shape(), gen);
#ifdef SEAM_BENCH_WITH_TORCH
        set_peer_threads(args.threads.front());
        torch::Tensor tx = as_torch(x).clone().requires_grad_(true);
        torch::Tensor tgy = y0.dim() == 0 ? torch::tensor(gy.item()) : as_torch(gy).clone();
        {
            seam::Tensor<float> y = c.seam_op(x);
            y.backward(gy);
            torch::Tensor ty = c.torch_op(tx);
            ty.backward(tgy);
            torch::Tensor tyc = ty.detach().contiguous(), tgx = tx.grad().contiguous();
            const double ey = relative_error(y.data(), tyc.data_ptr<float>(), tyc.numel());
            const double eg = relative_error(x.grad().data(), tgx.data_ptr<float>(), tgx.numel());
            validation_log += c.name + " " + shape_text(c.shape) + ": y " + bench::fmt(ey * 1e6, 2) + "e-6, dx " +
                              bench::fmt(eg * 1e6, 2) + "e-6; ";
            if (!(ey <= 1e-3 && eg <= 1e-3)) {
                std::fprintf(stderr, "bench_ops: %s FAILED validation: y %g, dx %g\n", c.name.c_str(), ey, eg);
                return 1;
            }
            x.zero_grad();
            bn_w.zero_grad();
            bn_b.zero_grad();
            tx.mutable_grad() = torch::Tensor();
            t_bn_w.mutable_grad() = torch::Tensor();
            t_bn_b.mutable_grad() = torch::Tensor();
        }
#endif
        for (int threads : args.threads) {
            set_peer_threads(threads);
            bench::Timing sf = bench::time_it(
                [&] {
                    seam::NoGradGuard no_grad;
                    seam::Tensor<float> y = c.seam_op(x);
                },
                samples);
            bench::Timing st = bench::time_it(
                [&] {
                    seam::Tensor<float> y = c.seam_op(x);
                    y.backward(gy);
                    x.zero_grad();
                    bn_w.zero_grad();
                    bn_b.zero_grad();
                },
                samples);
            out << "| " << c.name << " | " << shape_text(c.shape) << " | " << threads << " | " << bench::fmt(sf.median_ms, 3)
                << " | " << bench::fmt(c.bytes / sf.median_ms / 1e6, 1) << " | ";
#ifdef SEAM_BENCH_WITH_TORCH
            bench::Timing tf = bench::time_it(
                [&] {
                    torch::NoGradGuard no_grad;
                    torch::Tensor y = c.torch_op(tx);
                },
                samples);
            bench::Timing tt = bench::time_it(
                [&] {
                    torch::Tensor y = c.torch_op(tx);
                    y.backward(tgy);
                    tx.mutable_grad() = torch::Tensor();
                    t_bn_w.mutable_grad() = torch::Tensor();
                    t_bn_b.mutable_grad() = torch::Tensor();
                },
                samples);
            out << bench::fmt(tf.median_ms, 3) << " | " << bench::fmt(c.bytes / tf.median_ms / 1e6, 1) << " | "
                << bench::fmt(sf.median_ms / tf.median_ms, 2) << " | " << bench::fmt(st.median_ms, 3) << " | "
                << bench::fmt(tt.median_ms, 3) << " | " << bench::fmt(st.median_ms / tt.median_ms, 2) << " |\n";
#else
            out << "– | – | – | " << bench::fmt(st.median_ms, 3) << " | – | – |\n";
#endif
        }
        std::fprintf(stderr, "bench_ops: %s done\n", c.name.c_str());
    }
#ifdef SEAM_BENCH_WITH_TORCH
    out << "\nValidation before timing (max|seam - LT| / max|LT|, limit 1e-3): " << validation_log << "\n";
#else
    out << "\nNo LibTorch: outputs not validated here (the op tests check seam against its reference loops).\n";
#endif
    report.finish(args.out);
    return 0;
}
