// seam/nn/sequential.hpp — Sequential<T>: children applied one after another.
//
// Children added without a name are called "0", "1", ... in order, as torch.nn.Sequential names
// them, so the parameter names of a torchvision-style `features` block ("features.0.weight")
// come out identical. forward() passes the input through every child's single-input forward;
// an empty Sequential returns its input unchanged (as PyTorch's does).
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "seam/nn/module.hpp"

namespace seam::nn {

template <class T>
class Sequential : public Module<T> {
public:
    using ModulePtr = typename Module<T>::ModulePtr;

    Sequential() : Module<T>("Sequential") {}
    Sequential(std::initializer_list<ModulePtr> modules) : Sequential() {
        for (const auto& m : modules) add(m);
    }
    explicit Sequential(const std::vector<ModulePtr>& modules) : Sequential() {
        for (const auto& m : modules) add(m);
    }

    /// Append a child named after its position ("0", "1", ...); returns it with its own type.
    template <class M>
    std::shared_ptr<M> add(std::shared_ptr<M> module) {
        return this->register_module(std::to_string(size()), std::move(module));
    }
    /// Append a child under a chosen name (an OrderedDict-built torch.nn.Sequential).
    template <class M>
    std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> module) {
        return this->register_module(name, std::move(module));
    }

    size_t size() const { return this->named_children().size(); }
    bool empty() const { return size() == 0; }
    /// The i-th child (0-based, in order of addition).
    ModulePtr operator[](size_t i) const {
        SEAM_CHECK(i < size(), "Sequential: index ", i, " is out of range for ", size(), " modules");
        return this->named_children()[i].second;
    }

    Tensor<T> forward(const Tensor<T>& input) override {
        Tensor<T> x = input;
        for (const auto& entry : this->named_children()) x = entry.second->forward(x);
        return x;
    }
};

}  // namespace seam::nn
