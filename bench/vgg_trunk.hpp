// bench/vgg_trunk.hpp — VGG-16's convolutional trunk (configuration "D": 13 convs 3x3, padding 1,
// with bias, each followed by ReLU; 5 max-pools 2x2) as the VGG step benchmarks build it: the CPU
// one against LibTorch (bench_vgg_step.cpp) and the GPU one (bench_vgg_step_cuda.cpp). One
// definition, so both time the same network; bench/vgg_step_torch.py builds the same layers in
// PyTorch.
//
// The trunk is built from nn layers rather than models::VGG because VGG also allocates the
// classifier (fc6 alone is 25088 x 4096), which the step does not use.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "seam/nn/layers.hpp"
#include "seam/nn/sequential.hpp"

namespace bench {

/// Output channels of each conv in order; 0 stands for a 2x2 max-pool.
inline constexpr std::array<int64_t, 18> kVgg16TrunkConfig = {64,  64,  0,   128, 128, 0,   256, 256, 256,
                                                              0,   512, 512, 512, 0,   512, 512, 512, 0};

/// The trunk on the CPU; its weights come from seam's default generator (seed it first to repeat them).
template <class T>
std::shared_ptr<seam::nn::Sequential<T>> make_vgg16_trunk() {
    auto net = std::make_shared<seam::nn::Sequential<T>>();
    int64_t channels = 3;
    for (int64_t c : kVgg16TrunkConfig) {
        if (c == 0) {
            net->add(std::make_shared<seam::nn::MaxPool2d<T>>(2));
            continue;
        }
        net->add(std::make_shared<seam::nn::Conv2d<T>>(channels, c, 3, 1, 1));
        net->add(std::make_shared<seam::nn::ReLU<T>>());
        channels = c;
    }
    return net;
}

/// FLOPs (2 per multiply-add) of the 13 convolutions in one forward pass of `batch` images of
/// size x size; the pools halve the size with floor, as MaxPool2d(2) does.
inline double vgg16_trunk_conv_flops(int64_t batch, int64_t size) {
    double flops = 0;
    int64_t channels = 3;
    for (int64_t c : kVgg16TrunkConfig) {
        if (c == 0) {
            size /= 2;
            continue;
        }
        flops += 2.0 * static_cast<double>(batch) * c * size * size * channels * 9;
        channels = c;
    }
    return flops;
}

}  // namespace bench
