// tests/cuda/test_training_cuda.cpp — training on a GPU end to end (test suite "gpu"; without a GPU
// the program skips it, see tests/cuda/main.cpp), each piece against the same computation on the
// CPU:
//   * Module::to: cpu -> cuda -> cpu gives bit-identical parameters and buffers; parameters stay
//     leaves with requires_grad, the layers' own handles see the move, a gradient moves along;
//   * the ops the losses and heads need, through autograd (forward and every leaf gradient, which
//     must stay on the GPU): binary_cross_entropy_with_logits (pos_weight, weight), mse_loss,
//     smooth_l1_loss, normalize / vector_norm, cosine_similarity (broadcasting: expand's backward),
//     pairwise_distance, triplet_margin_loss, var, cat / stack / narrow / select, index_select /
//     index_add, where / masked_fill;
//   * the optimizers on CUDA parameters (SGD with momentum, Nesterov and weight decay; Adam; AdamW
//     with amsgrad) step for step against the CPU, their state on the GPU, load_state onto the GPU;
//     clip_grad_norm_ / clip_grad_value_ on GPU gradients;
//   * a checkpoint of a GPU model and optimizer written and read back onto the GPU;
//   * four training steps of a tiny FashionNet (the cpu profile's layers at 32 px, triplets, clipping)
//     whose losses equal the CPU run's to 1e-4 relative.
// "Equal" is |got - ref| <= atol + rtol·|ref| per element, mismatches reported with their index.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "seam/seam.hpp"

#include "cuda_test_support.hpp"

using namespace seam;
using namespace seam::cuda_test;
using namespace seam::cuda_test::compare;

namespace {

/// Bit-for-bit equality (NaN equals NaN).
template <class T>
void expect_identical(const Tensor<T>& got_any, const Tensor<T>& ref_any, const std::string& what) {
    const Tensor<T> got = on_host(got_any), ref = on_host(ref_any);
    REQUIRE_MESSAGE(got.shape() == ref.shape(), what, ": shape ", shape_str(got.shape()), " vs ", shape_str(ref.shape()));
    const std::vector<T> g = got.to_vector(), r = ref.to_vector();
    int64_t bad = 0;
    for (size_t i = 0; i < g.size(); ++i)
        if (!(g[i] == r[i] || (std::isnan(double(g[i])) && std::isnan(double(r[i]))))) ++bad;
    CHECK_MESSAGE(bad == 0, what, ": ", bad, " elements differ");
}

template <class T>
Tensor<T> random_input(const Shape& shape, uint64_t seed, T scale = T(1)) {
    Generator gen(seed);
    Tensor<T> t = randn<T>(shape, gen);
    T* p = t.data();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] *= scale;
    return t;
}

/// Uniform in [lo, hi).
template <class T>
Tensor<T> uniform_input(const Shape& shape, uint64_t seed, T lo, T hi) {
    Generator gen(seed);
    return rand<T>(shape, gen, lo, hi);
}

/// The same graph on the CPU and on the GPU: outputs, then the gradients of every leaf that needs
/// one (on the GPU) for one random output gradient.
template <class T>
void compare_graph(const std::vector<Tensor<T>>& inputs, const std::vector<bool>& needs_grad,
                   const std::function<Tensor<T>(const std::vector<Tensor<T>>&)>& f, const std::string& what,
                   double atol = default_atol<T>(), double rtol = default_rtol<T>()) {
    std::vector<Tensor<T>> cpu_leaves, gpu_leaves;
    for (size_t i = 0; i < inputs.size(); ++i) {
        Tensor<T> c = inputs[i].clone().detach(), g = inputs[i].detach().to(gpu());
        if (needs_grad[i]) c.set_requires_grad(), g.set_requires_grad();
        cpu_leaves.push_back(c);
        gpu_leaves.push_back(g);
    }
    const Tensor<T> y_cpu = f(cpu_leaves);
    const Tensor<T> y_gpu = f(gpu_leaves);
    REQUIRE_MESSAGE(y_gpu.device().is_cuda(), what, ": the result left the GPU");
    expect_close(y_gpu, y_cpu, atol, rtol, what + " forward");
    const Tensor<T> gy = random_input<T>(y_cpu.shape(), 99);
    y_cpu.backward(gy);
    y_gpu.backward(gy.to(gpu()));
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (!needs_grad[i]) continue;
        REQUIRE_MESSAGE(gpu_leaves[i].grad().defined(), what, ": no gradient for input ", i);
        CHECK_MESSAGE(gpu_leaves[i].grad().device().is_cuda(), what, ": the gradient of input ", i, " left the GPU");
        expect_close(gpu_leaves[i].grad(), cpu_leaves[i].grad(), atol, rtol, what + " gradient of input " + std::to_string(i));
    }
}

using Leaves = std::vector<Tensor<float>>;
using LeavesD = std::vector<Tensor<double>>;

/// A small model with every kind of state: conv (+bias), BatchNorm (parameters and running
/// buffers), a shared Linear registered under two names.
struct SmallNet : nn::Module<float> {
    std::shared_ptr<nn::Conv2d<float>> conv;
    std::shared_ptr<nn::BatchNorm2d<float>> bn;
    std::shared_ptr<nn::Linear<float>> head;
    SmallNet() : nn::Module<float>("SmallNet") {
        conv = register_module("conv", std::make_shared<nn::Conv2d<float>>(3, 4, 3, 1, 1));
        bn = register_module("bn", std::make_shared<nn::BatchNorm2d<float>>(4));
        head = register_module("head", std::make_shared<nn::Linear<float>>(4 * 5 * 5, 3));
        register_module("head_again", head);  // shared: moved once
    }
    Tensor<float> forward(const Tensor<float>& x) override { return head->forward(relu(bn->forward(conv->forward(x))).flatten(1)); }
};

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("Module::to: cpu -> cuda -> cpu keeps every parameter and buffer bit for bit, in place") {
    manual_seed(3);
    SmallNet net;
    // Make the running statistics non-trivial and give the parameters gradients.
    const Tensor<float> x = random_input<float>({2, 3, 5, 5}, 1);
    cross_entropy(net.forward(x), from_vector<int64_t>({0, 2}, {2})).backward();
    const nn::StateDict<float> before = [&] {
        nn::StateDict<float> s;
        for (const auto& [name, t] : net.state_dict()) s.emplace_back(name, t.clone());
        return s;
    }();
    const Tensor<float> conv_grad = net.conv->weight.grad().clone();
    const size_t parameter_count = net.parameters().size();

    net.to(gpu());
    CHECK(net.device() == gpu());
    CHECK(net.parameters().size() == parameter_count);
    for (const auto& [name, p] : net.named_parameters()) {
        CHECK_MESSAGE(p.device().is_cuda(), name, " did not move");
        CHECK_MESSAGE(p.is_leaf(), name, " is no longer a leaf");
        CHECK_MESSAGE(p.requires_grad(), name, " lost requires_grad");
    }
    for (const auto& [name, b] : net.named_buffers()) CHECK_MESSAGE(b.device().is_cuda(), name, " did not move");
    // The layers' own handles are the moved tensors (the same impl), and the gradient moved along.
    CHECK(net.conv->weight.device().is_cuda());
    CHECK(net.bn->running_var.device().is_cuda());
    REQUIRE(net.conv->weight.grad().defined());
    CHECK(net.conv->weight.grad().device().is_cuda());
    expect_identical(net.conv->weight.grad(), conv_grad, "conv.weight gradient after the move");
    const auto on_gpu = net.state_dict();
    for (size_t i = 0; i < before.size(); ++i) expect_identical(on_gpu[i].second, before[i].second, before[i].first + " on the GPU");

    // A forward and backward on the GPU work with the moved model (BatchNorm updates its buffers there).
    net.zero_grad();
    cross_entropy(net.forward(x.to(gpu())), from_vector<int64_t>({0, 2}, {2}).to(gpu())).backward();
    CHECK(net.head->weight.grad().device().is_cuda());

    // And back: the values are those on the GPU, bit for bit.
    const nn::StateDict<float> after_gpu_step = [&] {
        nn::StateDict<float> s;
        for (const auto& [name, t] : net.state_dict()) s.emplace_back(name, on_host(t));
        return s;
    }();
    net.to(Device::cpu());
    CHECK(net.device().is_cpu());
    const auto back = net.state_dict();
    for (size_t i = 0; i < back.size(); ++i) {
        CHECK(back[i].second.device().is_cpu());
        expect_identical(back[i].second, after_gpu_step[i].second, back[i].first + " back on the CPU");
    }
    // A plain round trip with no step in between returns the original bits.
    SmallNet fresh;
    const auto original = [&] {
        nn::StateDict<float> s;
        for (const auto& [name, t] : fresh.state_dict()) s.emplace_back(name, t.clone());
        return s;
    }();
    fresh.to(gpu()).to(Device::cpu());
    const auto round_trip = fresh.state_dict();
    for (size_t i = 0; i < original.size(); ++i) expect_identical(round_trip[i].second, original[i].second, original[i].first + " round trip");
}

TEST_CASE("binary_cross_entropy_with_logits on CUDA: pos_weight, weight, every reduction, gradients to logits and targets") {
    const Tensor<float> logits = random_input<float>({6, 7}, 11, 3.0f), targets = uniform_input<float>({6, 7}, 12, 0.0f, 1.0f);
    const Tensor<float> pos_weight = uniform_input<float>({7}, 13, 0.5f, 4.0f), weight = uniform_input<float>({7}, 14, 0.2f, 2.0f);
    for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
        const std::string name = r == Reduction::mean ? "mean" : (r == Reduction::sum ? "sum" : "none");
        compare_graph<float>({logits, targets, pos_weight, weight}, {true, true, false, false}, [r](const Leaves& in) {
            BceWithLogitsOptions<float> o;
            o.pos_weight = in[2];
            o.weight = in[3];
            o.reduction = r;
            return binary_cross_entropy_with_logits(in[0], in[1], o);
        }, "bce pos_weight+weight " + name);
        compare_graph<float>({logits, targets}, {true, true}, [r](const Leaves& in) {
            BceWithLogitsOptions<float> o;
            o.reduction = r;
            return binary_cross_entropy_with_logits(in[0], in[1], o);
        }, "bce plain " + name);
    }
    // Large logits stay finite, as the CPU's stable form.
    compare_graph<double>({random_input<double>({3, 5}, 15, 60.0), uniform_input<double>({3, 5}, 16, 0.0, 1.0),
                           uniform_input<double>({5}, 17, 0.5, 3.0)},
                          {true, false, false}, [](const LeavesD& in) {
        BceWithLogitsOptions<double> o;
        o.pos_weight = in[2];
        return binary_cross_entropy_with_logits(in[0], in[1], o);
    }, "bce double, large logits");
    // Mixed devices are an error, not a silent copy.
    BceWithLogitsOptions<float> o;
    o.pos_weight = pos_weight;  // on the CPU
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(logits.to(gpu()), targets.to(gpu()), o),
                         doctest::Contains("different devices"), Error);
}

TEST_CASE("mse_loss and smooth_l1_loss on CUDA equal the CPU ops (beta > 0 and beta = 0)") {
    const Tensor<float> a = random_input<float>({5, 9}, 21), b = random_input<float>({5, 9}, 22);
    for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
        compare_graph<float>({a, b}, {true, true}, [r](const Leaves& in) { return mse_loss(in[0], in[1], r); }, "mse");
        compare_graph<float>({a, b}, {true, true}, [r](const Leaves& in) { return smooth_l1_loss(in[0], in[1], 0.7f, r); },
                             "smooth_l1 beta 0.7");
        compare_graph<float>({a, b}, {true, true}, [r](const Leaves& in) { return smooth_l1_loss(in[0], in[1], 0.0f, r); },
                             "smooth_l1 beta 0");
    }
    compare_graph<double>({random_input<double>({4, 3}, 23), random_input<double>({4, 3}, 24)}, {true, true},
                          [](const LeavesD& in) { return smooth_l1_loss(in[0], in[1], 1.0); }, "smooth_l1 double");
}

TEST_CASE("normalize, vector_norm, cosine_similarity, pairwise_distance and triplet_margin_loss on CUDA") {
    const Tensor<float> x = random_input<float>({6, 10}, 31);
    Tensor<float> with_zero_row = x.clone();
    with_zero_row.narrow(0, 2, 1).fill_(0.0f);  // a zero vector: the gradient is 0 there, not NaN
    compare_graph<float>({with_zero_row}, {true}, [](const Leaves& in) { return normalize(in[0], 2.0f, 1); }, "normalize dim 1");
    compare_graph<float>({x}, {true}, [](const Leaves& in) { return normalize(in[0], 2.0f, 0); }, "normalize dim 0");
    compare_graph<float>({with_zero_row}, {true}, [](const Leaves& in) { return vector_norm(in[0], 2.0f, 1, false); },
                         "vector_norm p 2");
    compare_graph<float>({x}, {true}, [](const Leaves& in) { return vector_norm(in[0], 3.0f, 0, true); }, "vector_norm p 3 keepdim",
                         1e-4, 1e-4);
    compare_graph<double>({random_input<double>({4, 7}, 32)}, {true},
                          [](const LeavesD& in) { return vector_norm(in[0], 1.5, -1, false); }, "vector_norm p 1.5 double");
    // [4, 1, 8] against [1, 5, 8]: both expanded, their gradients summed back (expand's backward).
    compare_graph<float>({random_input<float>({4, 1, 8}, 33), random_input<float>({1, 5, 8}, 34)}, {true, true},
                         [](const Leaves& in) { return cosine_similarity(in[0], in[1], -1); }, "cosine_similarity broadcast");
    compare_graph<float>({random_input<float>({5, 8}, 35), random_input<float>({5, 8}, 36)}, {true, true},
                         [](const Leaves& in) { return pairwise_distance(in[0], in[1]); }, "pairwise_distance");
    for (Distance d : {Distance::l2, Distance::cosine}) {
        compare_graph<float>({random_input<float>({7, 6}, 37), random_input<float>({7, 6}, 38), random_input<float>({7, 6}, 39)},
                             {true, true, true}, [d](const Leaves& in) {
            TripletOptions<float> o;
            o.distance = d;
            o.margin = 0.5f;
            o.swap = true;
            return triplet_margin_loss(in[0], in[1], in[2], o);
        }, d == Distance::l2 ? "triplet l2 swap" : "triplet cosine swap");
    }
}

TEST_CASE("var, cat, stack, narrow/select, index_select, index_add, where and masked_fill on CUDA") {
    const Tensor<float> x = random_input<float>({4, 6, 3}, 41);
    compare_graph<float>({x}, {true}, [](const Leaves& in) { return var(in[0], {1}, true, false); }, "var dim 1 unbiased");
    compare_graph<float>({x}, {true}, [](const Leaves& in) { return var(in[0], {0, 2}, false, true); }, "var dims 0,2 keepdim");
    compare_graph<float>({x, random_input<float>({4, 2, 3}, 42), random_input<float>({4, 5, 3}, 43)}, {true, false, true},
                         [](const Leaves& in) { return cat<float>({in[0], in[1], in[2]}, 1); }, "cat dim 1");
    compare_graph<float>({random_input<float>({3, 4}, 44), random_input<float>({3, 4}, 45)}, {true, true},
                         [](const Leaves& in) { return stack<float>({in[0], in[1]}, 1); }, "stack dim 1");
    compare_graph<float>({x}, {true}, [](const Leaves& in) { return in[0].narrow(1, 2, 3).select(2, 1) * 2.0f; },
                         "narrow + select");
    // Repeated indices: their gradients add up, in index order.
    const Tensor<int64_t> idx = from_vector<int64_t>({3, 0, 3, 1, 3}, {5});
    compare_graph<float>({x}, {true}, [idx](const Leaves& in) { return index_select(in[0], 0, idx.to(in[0].device())); },
                         "index_select dim 0, index on the tensor's device");
    compare_graph<float>({x}, {true}, [idx](const Leaves& in) { return index_select(in[0], 1, idx); },
                         "index_select dim 1, host index");
    compare_graph<float>({x, random_input<float>({4, 5, 3}, 46)}, {true, true},
                         [idx](const Leaves& in) { return index_add(in[0], 1, idx, in[1]); }, "index_add dim 1");
    Tensor<uint8_t> mask = empty<uint8_t>({6, 1});
    for (int64_t i = 0; i < 6; ++i) mask.data()[i] = static_cast<uint8_t>(i % 3 == 0);
    compare_graph<float>({x.permute({0, 2, 1}).contiguous(), random_input<float>({1, 6}, 47)}, {true, true},
                         [mask](const Leaves& in) { return where(mask.to(in[0].device()).reshape({6}), in[0], in[1]); },
                         "where with broadcasting");
    compare_graph<float>({x}, {true}, [mask](const Leaves& in) {
        // -inf in the unchosen positions must not turn into NaN (a select, not a blend).
        return softmax(masked_fill(in[0], mask.to(in[0].device()), -std::numeric_limits<float>::infinity()), 1);
    }, "masked_fill -inf then softmax");
    CHECK_THROWS_WITH_AS(masked_fill(x.to(gpu()), mask, 0.0f), doctest::Contains("move them to one device"), Error);
    CHECK_THROWS_WITH_AS(cat<float>({x.to(gpu()), x}, 0), doctest::Contains("move them to one device"), Error);
}

TEST_CASE("optimizers on CUDA parameters: SGD, Adam, AdamW step for step equal to the CPU; state on the GPU") {
    const Tensor<float> start = random_input<float>({33, 17}, 51);
    auto run = [&](Device device, auto make_optimizer, int steps) {
        Tensor<float> p = start.detach().to(device).clone().detach();
        p.set_requires_grad();
        auto opt = make_optimizer(std::vector<Tensor<float>>{p});
        for (int s = 0; s < steps; ++s) {
            opt->zero_grad();
            const Tensor<float> target = random_input<float>({33, 17}, 100 + s).to(device);
            sum(square(p - target) * 0.5f).backward();
            opt->step();
        }
        return std::make_pair(p, std::move(opt));
    };
    auto sgd = [](std::vector<Tensor<float>> ps) {
        return std::make_unique<optim::SGD<float>>(ps, optim::SGDOptions{0.05, 0.9, 0.0, 1e-2, true});
    };
    auto adam = [](std::vector<Tensor<float>> ps) {
        return std::make_unique<optim::Adam<float>>(ps, optim::AdamOptions{1e-2, 0.9, 0.99, 1e-8, 1e-3, false});
    };
    auto adamw = [](std::vector<Tensor<float>> ps) {
        return std::make_unique<optim::AdamW<float>>(ps, optim::AdamWOptions{1e-2, 0.8, 0.95, 1e-6, 5e-2, true});
    };
    {
        auto [pc, oc] = run(Device::cpu(), sgd, 4);
        auto [pg, og] = run(gpu(), sgd, 4);
        expect_close(pg, pc, 1e-5, 1e-5, "SGD nesterov + weight decay after 4 steps");
        const auto state = og->state();
        REQUIRE(state.tensors.size() == 1);
        CHECK(state.tensors[0].second.device().is_cuda());
        expect_close(state.tensors[0].second, oc->state().tensors[0].second, 1e-5, 1e-5, "SGD momentum buffer");
    }
    {
        auto [pc, oc] = run(Device::cpu(), adam, 5);
        auto [pg, og] = run(gpu(), adam, 5);
        expect_close(pg, pc, 1e-5, 1e-5, "Adam after 5 steps");
    }
    {
        auto [pc, oc] = run(Device::cpu(), adamw, 5);
        auto [pg, og] = run(gpu(), adamw, 5);
        expect_close(pg, pc, 1e-5, 1e-5, "AdamW amsgrad after 5 steps");
        for (const auto& [name, t] : og->state().tensors) CHECK_MESSAGE(t.device().is_cuda(), name, " is not on the GPU");
        // load_state from the CPU optimizer's export lands on the GPU, and the next steps agree.
        Tensor<float> p2 = pc.detach().to(gpu());
        p2.set_requires_grad();
        optim::AdamW<float> resumed({p2}, optim::AdamWOptions{1e-2, 0.8, 0.95, 1e-6, 5e-2, true});
        resumed.load_state(oc->state());
        for (const auto& [name, t] : resumed.state().tensors) CHECK_MESSAGE(t.device().is_cuda(), name, " was loaded to the CPU");
        for (auto* o : {static_cast<optim::Optimizer<float>*>(oc.get()), static_cast<optim::Optimizer<float>*>(&resumed)}) {
            Tensor<float> p = o == oc.get() ? pc : p2;
            o->zero_grad();
            sum(square(p) * 0.5f).backward();
            o->step();
        }
        expect_close(p2, pc, 1e-5, 1e-5, "AdamW step after load_state onto the GPU");
    }
}

TEST_CASE("clip_grad_norm_ and clip_grad_value_ on GPU gradients equal the CPU") {
    for (double norm_type : {2.0, 1.0, 3.0, std::numeric_limits<double>::infinity()}) {
        std::vector<Tensor<float>> cpu_params, gpu_params;
        for (int i = 0; i < 3; ++i) {
            const Shape shape = i == 0 ? Shape{40, 30} : (i == 1 ? Shape{7} : Shape{3, 3, 3});
            Tensor<float> c = random_input<float>(shape, 60 + i), g = c.detach().to(gpu());
            c.set_requires_grad(), g.set_requires_grad();
            sum(square(c) * static_cast<float>(i + 1)).backward();
            sum(square(g) * static_cast<float>(i + 1)).backward();
            cpu_params.push_back(c);
            gpu_params.push_back(g);
        }
        const double n_cpu = optim::clip_grad_norm_(cpu_params, 1.5, norm_type);
        const double n_gpu = optim::clip_grad_norm_(gpu_params, 1.5, norm_type);
        CHECK(n_gpu == doctest::Approx(n_cpu).epsilon(1e-5));
        for (size_t i = 0; i < cpu_params.size(); ++i) {
            CHECK(gpu_params[i].grad().device().is_cuda());
            expect_close(gpu_params[i].grad(), cpu_params[i].grad(), 1e-6, 1e-5, "clipped gradient " + std::to_string(i));
        }
        optim::clip_grad_value_(cpu_params, 0.01);
        optim::clip_grad_value_(gpu_params, 0.01);
        for (size_t i = 0; i < cpu_params.size(); ++i)
            expect_close(gpu_params[i].grad(), cpu_params[i].grad(), 1e-7, 1e-6, "value-clipped gradient " + std::to_string(i));
    }
}

TEST_CASE("checkpoint of a GPU model and optimizer: written from the GPU, read back onto the GPU") {
    namespace fs = std::filesystem;
    const fs::path path = fs::temp_directory_path() / ("seam_cuda_checkpoint_" + std::to_string(::getpid()) + ".safetensors");
    manual_seed(5);
    SmallNet a;
    a.to(gpu());
    optim::AdamW<float> opt_a(a.parameters());
    const Tensor<float> x = random_input<float>({2, 3, 5, 5}, 71).to(gpu());
    const Tensor<int64_t> y = from_vector<int64_t>({1, 2}, {2}).to(gpu());
    for (int s = 0; s < 2; ++s) {
        opt_a.zero_grad();
        cross_entropy(a.forward(x), y).backward();
        opt_a.step();
    }
    io::TrainingState state;
    state.epoch = 1;
    state.step = 2;
    io::save_checkpoint(path.string(), a, opt_a, nullptr, state);

    manual_seed(6);  // other initial weights
    SmallNet b;
    b.to(gpu());
    optim::AdamW<float> opt_b(b.parameters());
    const io::TrainingState loaded = io::load_checkpoint(path.string(), b, opt_b, nullptr);
    CHECK(loaded.step == 2);
    const auto sa = a.state_dict(), sb = b.state_dict();
    for (size_t i = 0; i < sa.size(); ++i) {
        CHECK(sb[i].second.device().is_cuda());
        expect_identical(sb[i].second, sa[i].second, sa[i].first + " loaded");
    }
    const auto oa = opt_a.state(), ob = opt_b.state();
    REQUIRE(oa.tensors.size() == ob.tensors.size());
    for (size_t i = 0; i < oa.tensors.size(); ++i) {
        CHECK(ob.tensors[i].second.device().is_cuda());
        expect_identical(ob.tensors[i].second, oa.tensors[i].second, oa.tensors[i].first + " loaded");
    }
    fs::remove(path);
}

TEST_CASE("a tiny FashionNet trains on CUDA with the CPU's losses (four steps, triplets, clipping)") {
    models::FashionNetOptions o = models::FashionNetOptions::cpu();
    o.input_size = 32;
    o.width_mult = 1.0 / 16;
    o.num_categories = 5;
    o.num_attributes = 9;
    const int64_t n = 12, L = o.num_landmarks;
    // A synthetic batch: images, landmarks inside the image, visibility 0/1, labels.
    const Tensor<float> images = random_input<float>({n, 3, 32, 32}, 81);
    const Tensor<float> landmarks = uniform_input<float>({n, L, 2}, 82, 0.1f, 0.9f);
    Generator vis_gen(83);
    const Tensor<float> visible = bernoulli<float>({n, L}, 0.7, vis_gen);
    std::vector<int64_t> labels;
    for (int64_t i = 0; i < n; ++i) labels.push_back((i * 7) % o.num_categories);
    const Tensor<int64_t> categories = from_vector<int64_t>(labels, {n});
    Generator attr_gen(84);
    const Tensor<float> attributes = bernoulli<float>({n, o.num_attributes}, 0.3, attr_gen);
    const auto weights = models::attribute_loss_weights<float>({2, 3, 4, 1, 5, 6, 2, 3, 1}, n);
    const auto triplets = models::category_triplets(labels, 1, 0);
    REQUIRE(!triplets.empty());

    auto run_steps = [&](Device device) {
        Generator init(13);
        models::FashionNet<float> net(o, init);
        net.to(device);
        optim::SGD<float> opt(net.parameters(), optim::SGDOptions{0.02, 0.9, 0.0, 1e-4, false});
        models::FashionNetTargets<float> target{landmarks.to(device), visible.to(device), categories.to(device),
                                                attributes.to(device), triplets};
        models::AttributeLossWeights<float> w{weights.pos_weight.to(device), Tensor<float>()};
        manual_seed(21);  // the same dropout masks on both devices (the CUDA dropout draws the CPU's bits)
        std::vector<double> losses;
        for (int step = 0; step < 4; ++step) {
            // Pool at the ground truth (the landmark phase): the hard gate then reads exact 0/1
            // visibilities, so no rounding difference can flip a window on or off.
            auto out = net.forward_pooling_at(images.to(device), target.landmarks, target.visible);
            auto loss = models::fashionnet_loss(out, target, w, models::FashionNetLossWeights{});
            losses.push_back(loss.total.item());
            opt.zero_grad();
            loss.total.backward();
            optim::clip_grad_norm_(net.parameters(), 5.0);
            opt.step();
        }
        return losses;
    };
    const std::vector<double> cpu_losses = run_steps(Device::cpu());
    const std::vector<double> gpu_losses = run_steps(gpu());
    REQUIRE(gpu_losses.size() == cpu_losses.size());
    for (size_t s = 0; s < cpu_losses.size(); ++s) {
        INFO("step ", s, ": cpu ", cpu_losses[s], ", gpu ", gpu_losses[s]);
        CHECK(std::isfinite(gpu_losses[s]));
        CHECK(std::abs(gpu_losses[s] - cpu_losses[s]) <= 1e-4 * std::abs(cpu_losses[s]) + 1e-6);
    }
    CHECK(gpu_losses.back() < gpu_losses.front());  // it trains
}

}  // TEST_SUITE("gpu")
