// minimal_train — the 20-line program of the README: fit y = sin(x) with a two-layer MLP.
#include <cmath>
#include <cstdio>
#include <seam/seam.hpp>
using namespace seam;

int main() {
    manual_seed(0);
    std::vector<float> xs, ys;
    for (float v = -3.0f; v < 3.0f; v += 0.05f) xs.push_back(v), ys.push_back(std::sin(v));
    auto x = from_vector(xs, {int64_t(xs.size()), 1}), y = from_vector(ys, {int64_t(ys.size()), 1});
    nn::Sequential<float> net({std::make_shared<nn::Linear<float>>(1, 32), std::make_shared<nn::Tanh<float>>(),
                               std::make_shared<nn::Linear<float>>(32, 1)});
    optim::Adam<float> opt(net.parameters(), {.lr = 1e-2});
    for (int step = 0; step <= 2000; ++step) {
        auto loss = mse_loss(net.forward(x), y);
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (step % 500 == 0) std::printf("step %4d  loss %.5f\n", step, loss.item());
    }
    std::printf("SUMMARY {\"example\":\"minimal_train\",\"final_loss\":%.6f}\n", mse_loss(net.forward(x), y).item());
}
