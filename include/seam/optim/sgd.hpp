// seam/optim/sgd.hpp — stochastic gradient descent with momentum, PyTorch's exact update.
//
// For each parameter p with gradient g (torch.optim.SGD, the single-tensor path):
//   d = g + weight_decay * p                          (L2 penalty, when weight_decay != 0)
//   if momentum != 0:
//       buf = d                      on the first step (the buffer starts as a copy of d, not 0)
//       buf = momentum * buf + (1 - dampening) * d    afterwards
//       d = d + momentum * buf       with nesterov,   d = buf   without
//   p = p - lr * d
// The buffer is saved in state() as "state.<k>.momentum_buffer". A parameter on a GPU is updated by
// one fused kernel (kernels/seam/optim.cuh, the same formulas in T); its buffer lives on the GPU.
#pragma once

#include "seam/optim/optimizer.hpp"

namespace seam::optim {

struct SGDOptions {
    double lr = 1e-3;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;
};

template <class T>
class SGD : public Optimizer<T> {
public:
    SGD(std::vector<Tensor<T>> params, SGDOptions options = {}) : SGD(single_group(std::move(params)), options) {}
    SGD(std::vector<ParamGroup<T>> groups, SGDOptions options)
        : Optimizer<T>("SGD", std::move(groups), options.lr, options.weight_decay), options_(options) {
        SEAM_CHECK(options.momentum >= 0.0, "SGD: momentum ", options.momentum, " is negative");
        SEAM_CHECK(!options.nesterov || (options.momentum > 0.0 && options.dampening == 0.0),
                   "SGD: Nesterov momentum requires momentum > 0 and dampening = 0 (got momentum ", options.momentum,
                   ", dampening ", options.dampening, ")");
    }

    const SGDOptions& options() const { return options_; }

    void step() override {
        const T momentum = static_cast<T>(options_.momentum);
        const T keep = static_cast<T>(1.0 - options_.dampening);
        const bool nesterov = options_.nesterov;
        this->for_each_param_with_grad([&](Tensor<T>& p, const Tensor<T>& grad, auto& group, ParamState<T>& state) {
            const T lr = static_cast<T>(group.lr);
            const T wd = static_cast<T>(group.weight_decay);
#if SEAM_WITH_CUDA
            if (p.device().is_cuda() || grad.device().is_cuda()) {  // one fused kernel (kernels/seam/optim.cuh)
                SEAM_CHECK(grad.device() == p.device(), "SGD: parameter of shape ", shape_str(p.shape()), " is on ",
                           p.device().str(), " but its gradient is on ", grad.device().str());
                cuda::DeviceGuard guard(p.device().index);
                cuda::SgdStepArgs args;
                args.lr = lr, args.weight_decay = wd, args.momentum = momentum, args.keep = keep;
                args.nesterov = nesterov;
                T* buf = nullptr;
                if (momentum != T(0)) {
                    auto it = state.tensors.find("momentum_buffer");
                    args.first = it == state.tensors.end();
                    if (args.first) it = state.tensors.emplace("momentum_buffer", empty<T>(p.shape(), p.device())).first;
                    buf = it->second.data();
                }
                cuda::sgd_step<T>(p.data(), grad.data(), buf, p.numel(), args);
                return;
            }
#endif
            T* w = p.data();
            const T* g = grad.data();
            const int64_t n = p.numel();
            if (momentum == T(0)) {
                parallel_for(0, n, kParallelGrain, [&](int64_t lo, int64_t hi) {
                    for (int64_t i = lo; i < hi; ++i) w[i] -= lr * (wd != T(0) ? g[i] + wd * w[i] : g[i]);
                });
                return;
            }
            auto it = state.tensors.find("momentum_buffer");
            const bool first = it == state.tensors.end();
            if (first) it = state.tensors.emplace("momentum_buffer", empty<T>(p.shape())).first;
            T* buf = it->second.data();
            parallel_for(0, n, kParallelGrain, [&](int64_t lo, int64_t hi) {
                for (int64_t i = lo; i < hi; ++i) {
                    // Skipping the decay term when it is 0 keeps d == g exactly, even for an infinite weight.
                    T d = wd != T(0) ? g[i] + wd * w[i] : g[i];
                    buf[i] = first ? d : momentum * buf[i] + keep * d;
                    d = nesterov ? d + momentum * buf[i] : buf[i];
                    w[i] -= lr * d;
                }
            });
        });
    }

private:
    SGDOptions options_;
};

}  // namespace seam::optim
