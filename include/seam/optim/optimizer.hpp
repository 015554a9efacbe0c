// seam/optim/optimizer.hpp — Optimizer<T>: the base of SGD, Adam and AdamW.
//
// An optimizer holds parameter groups (each a list of parameter tensors with its own learning
// rate and weight decay, PyTorch's param_groups) and one ParamState per parameter: the named
// tensors (momentum buffer, Adam's moments) and scalars (Adam's step count) it keeps between
// steps. Parameters are numbered flat, across groups in order, as in PyTorch's state_dict.
//
// state() exports everything a checkpoint needs to resume exactly, as named tensors and named
// scalars:
//   tensors  "state.<k>.<name>"   e.g. "state.3.momentum_buffer", "state.0.exp_avg"
//   scalars  "state.<k>.<name>"   e.g. "state.0.step"
//            "group.<g>.lr", "group.<g>.weight_decay", "group.<g>.size" (its parameter count)
// load_state() checks the layout (group count and sizes, tensor shapes, no unknown names) and
// copies the values in, onto each parameter's device; a parameter without entries has no state
// yet (it never got a gradient). Parameters may live on a GPU (builds with SEAM_WITH_CUDA): their
// state tensors are then created there, and state() hands out those device tensors.
//
// Updates run under NoGradGuard directly on the parameters' storage: an optimizer step is not
// part of any graph. Parameters without a gradient are skipped, as in PyTorch.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/core/tensor.hpp"

namespace seam::optim {

/// Parameters with optional per-group settings (unset ones take the optimizer's defaults).
template <class T>
struct ParamGroup {
    std::vector<Tensor<T>> params;
    std::optional<double> lr;
    std::optional<double> weight_decay;
};

/// The per-parameter state an optimizer keeps between steps.
template <class T>
struct ParamState {
    std::map<std::string, Tensor<T>> tensors;
    std::map<std::string, double> scalars;
    bool empty() const { return tensors.empty() && scalars.empty(); }
};

/// An optimizer's whole state as named tensors and scalars (see the header comment for names).
template <class T>
struct OptimizerState {
    std::vector<std::pair<std::string, Tensor<T>>> tensors;
    std::vector<std::pair<std::string, double>> scalars;
};

template <class T>
class Optimizer {
    static_assert(std::is_floating_point_v<T>, "optimizers need T = float or double");

public:
    /// A group as the optimizer holds it, with every setting resolved.
    struct Group {
        std::vector<Tensor<T>> params;
        double lr;
        double weight_decay;
    };

    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    /// One update of every parameter that has a gradient.
    virtual void step() = 0;
    /// The optimizer's name for error messages ("SGD", "Adam", ...).
    const char* name() const { return name_; }

    /// Drop the gradients of every parameter (PyTorch's set_to_none=True default).
    void zero_grad() {
        for (auto& group : groups_)
            for (auto& p : group.params) p.zero_grad();
    }

    std::vector<Group>& param_groups() { return groups_; }
    const std::vector<Group>& param_groups() const { return groups_; }

    /// Append a group after construction (e.g. unfreezing a backbone); state slots are added.
    void add_param_group(const ParamGroup<T>& group) {
        Group resolved{group.params, group.lr.value_or(default_lr_), group.weight_decay.value_or(default_weight_decay_)};
        SEAM_CHECK(resolved.lr >= 0.0, name(), ": learning rate ", resolved.lr, " is negative");
        SEAM_CHECK(resolved.weight_decay >= 0.0, name(), ": weight decay ", resolved.weight_decay, " is negative");
        for (const auto& p : resolved.params) {
            SEAM_CHECK(p.defined(), name(), ": a parameter is an undefined tensor");
            SEAM_CHECK(p.is_leaf(), name(), ": can only optimize leaf tensors (a parameter was produced by an operation)");
            SEAM_CHECK(p.is_contiguous(), name(), ": parameter of shape ", shape_str(p.shape()), " is not contiguous");
            // A CUDA parameter is updated by its optimizer's fused kernel (kernels/seam/optim.cuh),
            // with its state on the parameter's device; without the backend no such tensor exists.
            SEAM_CHECK(p.device().is_cpu() || built_with_cuda(), name(), ": parameter on ", p.device().str(),
                       " needs the CUDA backend");
            SEAM_CHECK(seen_.insert(p.impl()).second, name(),
                       ": a parameter appears twice (in one group or in two); it would be updated twice per step");
        }
        groups_.push_back(std::move(resolved));
        state_.resize(state_.size() + groups_.back().params.size());
    }

    /// Set the learning rate of every group (what a scheduler does).
    void set_lr(double lr) {
        for (auto& group : groups_) group.lr = lr;
    }
    /// The first group's learning rate.
    double lr() const { return groups_.empty() ? default_lr_ : groups_.front().lr; }

    /// The state of the k-th parameter (flat numbering across groups).
    const ParamState<T>& param_state(size_t k) const {
        SEAM_CHECK(k < state_.size(), name(), ": parameter index ", k, " out of range (", state_.size(), " parameters)");
        return state_[k];
    }

    // ----- checkpoint export / import ----------------------------------------------------------

    /// Everything needed to resume: per-parameter tensors and scalars, and each group's settings.
    /// Tensors share memory with the optimizer; clone them to keep a snapshot.
    OptimizerState<T> state() const {
        OptimizerState<T> out;
        for (size_t g = 0; g < groups_.size(); ++g) {
            const std::string prefix = "group." + std::to_string(g) + ".";
            out.scalars.emplace_back(prefix + "lr", groups_[g].lr);
            out.scalars.emplace_back(prefix + "weight_decay", groups_[g].weight_decay);
            out.scalars.emplace_back(prefix + "size", static_cast<double>(groups_[g].params.size()));
        }
        for (size_t k = 0; k < state_.size(); ++k) {
            const std::string prefix = "state." + std::to_string(k) + ".";
            for (const auto& [key, tensor] : state_[k].tensors) out.tensors.emplace_back(prefix + key, tensor.detach());
            for (const auto& [key, value] : state_[k].scalars) out.scalars.emplace_back(prefix + key, value);
        }
        return out;
    }

    /// Restore a state() export. The optimizer must have been built over the same parameter
    /// layout; every problem found is reported in one message and nothing is changed then.
    void load_state(const OptimizerState<T>& saved) {
        std::vector<std::string> problems;
        std::map<std::string, double> scalars;
        for (const auto& [key, value] : saved.scalars)
            if (!scalars.emplace(key, value).second) problems.push_back("repeated scalar \"" + key + "\"");

        std::vector<Group> groups = groups_;
        for (size_t g = 0; g < groups.size(); ++g) {
            const std::string prefix = "group." + std::to_string(g) + ".";
            auto take = [&](const std::string& key, double& into) {
                auto it = scalars.find(prefix + key);
                if (it == scalars.end()) problems.push_back("missing scalar \"" + prefix + key + "\"");
                else { into = it->second; scalars.erase(it); }
            };
            double size = -1;
            take("lr", groups[g].lr);
            take("weight_decay", groups[g].weight_decay);
            take("size", size);
            if (size >= 0 && static_cast<size_t>(size) != groups[g].params.size())
                problems.push_back("group " + std::to_string(g) + " holds " + std::to_string(groups[g].params.size()) +
                                   " parameters here but " + std::to_string(static_cast<size_t>(size)) + " in the saved state");
        }

        std::vector<ParamState<T>> states(state_.size());
        std::vector<const Tensor<T>*> shapes_of;  // the parameter each flat index refers to
        for (const auto& group : groups_)
            for (const auto& p : group.params) shapes_of.push_back(&p);
        // Splits "state.<k>.<name>" into k and name; false when the key does not have that form.
        auto parse = [&](const std::string& key, size_t& k, std::string& entry) {
            if (key.rfind("state.", 0) != 0) return false;
            size_t dot = key.find('.', 6);
            if (dot == std::string::npos || dot == 6 || dot > 6 + 9 || dot + 1 == key.size()) return false;
            for (size_t i = 6; i < dot; ++i)
                if (key[i] < '0' || key[i] > '9') return false;
            k = std::stoul(key.substr(6, dot - 6));
            entry = key.substr(dot + 1);
            return k < states.size();
        };
        for (const auto& [key, value] : scalars) {
            size_t k;
            std::string entry;
            if (!parse(key, k, entry)) problems.push_back("unexpected scalar \"" + key + "\"");
            else states[k].scalars[entry] = value;
        }
        std::set<std::string> tensor_names;
        for (const auto& [key, value] : saved.tensors) {
            size_t k;
            std::string entry;
            if (!tensor_names.insert(key).second) problems.push_back("repeated tensor \"" + key + "\"");
            else if (!parse(key, k, entry)) problems.push_back("unexpected tensor \"" + key + "\"");
            else if (!value.defined() || value.shape() != shapes_of[k]->shape())
                problems.push_back("tensor \"" + key + "\" has shape " +
                                   (value.defined() ? shape_str(value.shape()) : std::string("undefined")) +
                                   " but parameter " + std::to_string(k) + " has shape " + shape_str(shapes_of[k]->shape()));
            else {  // a private copy on the parameter's device (a checkpoint is read into CPU tensors)
                const Tensor<T> v = value.detach();
                const Device device = shapes_of[k]->device();
                states[k].tensors[entry] = v.device() == device ? v.clone() : v.to(device);
            }
        }
        if (!problems.empty()) {
            std::string msg = std::string(name()) + ": load_state: the saved state does not fit this optimizer";
            for (const auto& p : problems) msg += "\n  " + p;
            throw Error(msg);
        }
        for (size_t g = 0; g < groups_.size(); ++g) {
            groups_[g].lr = groups[g].lr;
            groups_[g].weight_decay = groups[g].weight_decay;
        }
        state_ = std::move(states);
    }

protected:
    // The name is a constructor argument, not a virtual call: add_param_group() runs (and may
    // report errors) while the derived class is not constructed yet.
    Optimizer(const char* name, std::vector<ParamGroup<T>> groups, double default_lr, double default_weight_decay)
        : default_lr_(default_lr), default_weight_decay_(default_weight_decay), name_(name) {
        for (auto& group : groups) add_param_group(group);
    }

    /// Visit every parameter that has a gradient: f(param, grad, group, state). The gradient is
    /// made contiguous (it normally already is: backward writes fresh contiguous buffers).
    template <class F>
    void for_each_param_with_grad(F&& f) {
        NoGradGuard no_grad;
        size_t k = 0;
        for (auto& group : groups_) {
            for (auto& p : group.params) {
                Tensor<T> grad = p.grad();
                if (grad.defined()) {
                    SEAM_CHECK(grad.shape() == p.shape(), name(), ": gradient of shape ", shape_str(grad.shape()),
                               " does not match its parameter's shape ", shape_str(p.shape()));
                    f(p, grad.contiguous(), group, state_[k]);
                }
                ++k;
            }
        }
    }

    std::vector<Group> groups_;
    std::vector<ParamState<T>> state_;  // one per parameter, flat across groups
    double default_lr_;
    double default_weight_decay_;

private:
    const char* name_;
    std::set<const void*> seen_;  // parameters already in a group
};

/// Wrap a plain parameter list as the one group of an optimizer.
template <class T>
inline std::vector<ParamGroup<T>> single_group(std::vector<Tensor<T>> params) {
    return {ParamGroup<T>{std::move(params), std::nullopt, std::nullopt}};
}

}  // namespace seam::optim
