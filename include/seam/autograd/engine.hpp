// seam/autograd/engine.hpp — reverse-mode traversal of the graph.
//
// 1. Walk the graph from the root's node with an explicit stack (no recursion: a 10,000-step
//    unrolled recurrence is 10,000 nodes deep) and count, for every node, how many edges point
//    at it.
// 2. Process nodes in an order where a node runs only after every consumer of its output has
//    delivered its gradient (Kahn's algorithm on those counts). Incoming gradients are summed
//    before the node runs, so a tensor used twice (b = a + a) gets both contributions — the case
//    a naive recursive "call backward on each child" gets wrong (micrograd PR #64).
// 3. After a node runs its saved tensors are freed, unless retain_graph.
#pragma once

#include <unordered_map>
#include <vector>

#include "seam/core/tensor.hpp"

namespace seam {

template <class T>
inline void run_backward(const Tensor<T>& root, const Tensor<T>& root_grad, bool retain_graph) {
    static_assert(std::is_floating_point_v<T>, "backward needs a floating-point tensor");
    SEAM_CHECK(root.requires_grad(), "backward: the tensor does not require grad and has no grad_fn ",
               "(did you forget set_requires_grad() on the parameters, or run the forward under NoGradGuard?)");
    Tensor<T> grad = root_grad;
    if (!grad.defined()) {
        SEAM_CHECK(root.numel() == 1, "backward: without an explicit gradient the tensor must hold one element, but it has shape ",
                   shape_str(root.shape()), "; pass a gradient of that shape");
        grad = ones<T>(root.shape());
        if (!root.device().is_cpu()) grad = grad.to(root.device());  // the seed lives where the root does
    }
    SEAM_CHECK(grad.shape() == root.shape(), "backward: gradient of shape ", shape_str(grad.shape()),
               " does not match the tensor's shape ", shape_str(root.shape()));
    NoGradGuard no_grad;  // backward closures must not build graphs of their own

    std::shared_ptr<Node<T>> start = gradient_edge(root);

    // 1. dependency counts (explicit-stack DFS)
    std::unordered_map<Node<T>*, int> dependencies;
    std::vector<Node<T>*> stack{start.get()};
    dependencies[start.get()] = 0;
    while (!stack.empty()) {
        Node<T>* node = stack.back();
        stack.pop_back();
        for (const auto& child : node->next) {
            if (!child) continue;
            auto it = dependencies.find(child.get());
            if (it == dependencies.end()) {
                dependencies.emplace(child.get(), 1);
                stack.push_back(child.get());
            } else {
                ++it->second;
            }
        }
    }

    // 2. Kahn order; gradients waiting for their node are summed here.
    std::unordered_map<Node<T>*, Tensor<T>> pending;
    pending[start.get()] = grad;
    std::vector<Node<T>*> ready{start.get()};
    while (!ready.empty()) {
        Node<T>* node = ready.back();
        ready.pop_back();
        Tensor<T> g = std::move(pending[node]);
        pending.erase(node);
        std::vector<Tensor<T>> input_grads = node->apply(g);
        SEAM_CHECK(input_grads.size() == node->next.size(), "backward: node '", node->name, "' returned ",
                   input_grads.size(), " gradients for ", node->next.size(), " inputs");
        for (size_t i = 0; i < node->next.size(); ++i) {
            Node<T>* child = node->next[i].get();
            if (!child) continue;
            Tensor<T>& gi = input_grads[i];
            if (gi.defined()) {
                SEAM_CHECK(gi.shape() == child->output_shape, "backward: node '", node->name, "' produced a gradient of shape ",
                           shape_str(gi.shape()), " for an input of shape ", shape_str(child->output_shape));
                auto it = pending.find(child);
                if (it == pending.end() || !it->second.defined()) pending[child] = gi;
                else it->second = add_gradients(it->second, gi);
            }
            if (--dependencies[child] == 0) {
                if (pending.count(child) && pending[child].defined()) ready.push_back(child);
                else pending.erase(child);  // no gradient flows there (e.g. through integer indices)
            }
        }
        if (!retain_graph) node->release();
    }
}

template <class T>
inline void Tensor<T>::backward(const Tensor<T>& gradient, bool retain_graph) const {
    if constexpr (std::is_floating_point_v<T>) run_backward(*this, gradient, retain_graph);
    else fail("backward: integer tensors have no gradients");
}

/// Gradients of `output` with respect to `inputs` without touching their .grad (like
/// torch.autograd.grad): the graph is retained so it can be used again.
template <class T>
inline std::vector<Tensor<T>> grad_of(const Tensor<T>& output, const std::vector<Tensor<T>>& inputs,
                                      const Tensor<T>& grad_output = Tensor<T>()) {
    std::vector<std::shared_ptr<TensorImpl<T>>> saved;
    for (const auto& in : inputs) {
        SEAM_CHECK(in.is_leaf() && in.requires_grad(), "grad_of: every input must be a leaf that requires grad");
        saved.push_back(in.impl()->grad);
        in.impl()->grad.reset();
    }
    output.backward(grad_output, /*retain_graph=*/true);
    std::vector<Tensor<T>> out;
    for (size_t i = 0; i < inputs.size(); ++i) {
        Tensor<T> g(inputs[i].impl()->grad);
        out.push_back(g.defined() ? g : zeros<T>(inputs[i].shape()));
        inputs[i].impl()->grad = saved[i];
    }
    return out;
}

}  // namespace seam
