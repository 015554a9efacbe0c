// seam/optim/adam.hpp — Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019).
//
// Per parameter p with gradient g, at step t (counted per parameter, from 1), PyTorch's order:
//   AdamW only:  p = p * (1 - lr * weight_decay)          (decoupled decay, before the update)
//   Adam only:   g = g + weight_decay * p                 (L2 penalty folded into the gradient)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   amsgrad:     v_max = max(v_max, v), and v_max replaces v below
//   p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// m and v start at zero. State: "exp_avg", "exp_avg_sq", "max_exp_avg_sq" (amsgrad) and the
// scalar "step". A parameter on a GPU is updated by one fused kernel (kernels/seam/optim.cuh, the
// same formulas and the same per-tensor constants in T); its state lives on the GPU.
#pragma once

#include <algorithm>
#include <cmath>

#include "seam/optim/optimizer.hpp"

namespace seam::optim {

struct AdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;
    bool amsgrad = false;
};

/// AdamW's options: the same fields, with PyTorch's AdamW default weight decay of 0.01.
struct AdamWOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 1e-2;
    bool amsgrad = false;
};

template <class T>
class Adam : public Optimizer<T> {
public:
    Adam(std::vector<Tensor<T>> params, AdamOptions options = {}) : Adam(single_group(std::move(params)), options) {}
    Adam(std::vector<ParamGroup<T>> groups, AdamOptions options) : Adam("Adam", std::move(groups), options, false) {}

    const AdamOptions& options() const { return options_; }

    void step() override {
        const double beta1 = options_.beta1, beta2 = options_.beta2;
        const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2), eps = static_cast<T>(options_.eps);
        const bool amsgrad = options_.amsgrad, decoupled = decoupled_;
        this->for_each_param_with_grad([&](Tensor<T>& p, const Tensor<T>& grad, auto& group, ParamState<T>& state) {
#if SEAM_WITH_CUDA
            if (p.device().is_cuda() || grad.device().is_cuda()) {
                SEAM_CHECK(grad.device() == p.device(), this->name(), ": parameter of shape ", shape_str(p.shape()),
                           " is on ", p.device().str(), " but its gradient is on ", grad.device().str());
                if (state.tensors.empty()) {  // zeros on the parameter's device
                    auto device_zeros = [&p] {
                        Tensor<T> z = empty<T>(p.shape(), p.device());
                        z.fill_(T(0));
                        return z;
                    };
                    state.tensors["exp_avg"] = device_zeros();
                    state.tensors["exp_avg_sq"] = device_zeros();
                    if (amsgrad) state.tensors["max_exp_avg_sq"] = device_zeros();
                    state.scalars["step"] = 0.0;
                }
            }
#endif
            if (state.tensors.empty()) {
                state.tensors["exp_avg"] = zeros<T>(p.shape());
                state.tensors["exp_avg_sq"] = zeros<T>(p.shape());
                if (amsgrad) state.tensors["max_exp_avg_sq"] = zeros<T>(p.shape());
                state.scalars["step"] = 0.0;
            }
            const double t = (state.scalars["step"] += 1.0);
            // The bias corrections are computed once per tensor in double, as PyTorch does on the host.
            const T step_size = static_cast<T>(group.lr / (1.0 - std::pow(beta1, t)));
            const T bias_correction2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(beta2, t)));
            const T wd = static_cast<T>(group.weight_decay);
            const T decay = static_cast<T>(1.0 - group.lr * group.weight_decay);
#if SEAM_WITH_CUDA
            if (p.device().is_cuda()) {  // one fused kernel (kernels/seam/optim.cuh), the same T constants
                cuda::DeviceGuard guard(p.device().index);
                cuda::AdamStepArgs args;
                args.beta1 = b1, args.beta2 = b2, args.eps = eps, args.step_size = step_size;
                args.bias_correction2_sqrt = bias_correction2_sqrt, args.weight_decay = wd, args.decay = decay;
                args.decoupled = decoupled;
                cuda::adam_step<T>(p.data(), grad.data(), state.tensors.at("exp_avg").data(),
                                   state.tensors.at("exp_avg_sq").data(),
                                   amsgrad ? state.tensors.at("max_exp_avg_sq").data() : nullptr, p.numel(), args);
                return;
            }
#endif
            T* w = p.data();
            const T* g = grad.data();
            T* m = state.tensors.at("exp_avg").data();
            T* v = state.tensors.at("exp_avg_sq").data();
            T* v_max = amsgrad ? state.tensors.at("max_exp_avg_sq").data() : nullptr;
            parallel_for(0, p.numel(), kParallelGrain, [&](int64_t lo, int64_t hi) {
                for (int64_t i = lo; i < hi; ++i) {
                    T gi = g[i];
                    if (wd != T(0)) {
                        if (decoupled) w[i] *= decay;
                        else gi += wd * w[i];
                    }
                    m[i] = b1 * m[i] + (T(1) - b1) * gi;
                    v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
                    T second = v[i];
                    if (v_max) second = v_max[i] = std::max(v_max[i], v[i]);
                    w[i] -= step_size * m[i] / (std::sqrt(second) / bias_correction2_sqrt + eps);
                }
            });
        });
    }

protected:
    Adam(const char* name, std::vector<ParamGroup<T>> groups, AdamOptions options, bool decoupled)
        : Optimizer<T>(name, std::move(groups), options.lr, options.weight_decay), options_(options),
          decoupled_(decoupled) {
        SEAM_CHECK(options.beta1 >= 0.0 && options.beta1 < 1.0, name, ": beta1 ", options.beta1, " is outside [0, 1)");
        SEAM_CHECK(options.beta2 >= 0.0 && options.beta2 < 1.0, name, ": beta2 ", options.beta2, " is outside [0, 1)");
        SEAM_CHECK(options.eps >= 0.0, name, ": eps ", options.eps, " is negative");
    }

private:
    AdamOptions options_;
    bool decoupled_;
};

template <class T>
class AdamW : public Adam<T> {
public:
    AdamW(std::vector<Tensor<T>> params, AdamWOptions options = {})
        : AdamW(single_group(std::move(params)), options) {}
    AdamW(std::vector<ParamGroup<T>> groups, AdamWOptions options)
        : Adam<T>("AdamW", std::move(groups), as_adam(options), true) {}

private:
    static AdamOptions as_adam(const AdamWOptions& o) {
        return AdamOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad};
    }
};

}  // namespace seam::optim
