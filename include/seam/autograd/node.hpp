// seam/autograd/node.hpp — graph nodes of the dynamic (define-by-run) autograd.
//
// Every differentiable op that sees an input requiring gradients creates one Node for its single
// output. The node owns edges to the nodes of its inputs (`next`), and a backward closure that
// maps the output's gradient to one gradient per input. Leaves get an AccumulateGrad node that
// adds into tensor.grad with `+=`, so a leaf used twice receives the sum.
//
// Ownership runs only from outputs to inputs. A closure must never capture its own output tensor
// as such (that would be a cycle: output -> node -> output); it captures `out.detach()`, which
// shares the data but not the graph. After backward, closures are dropped (saved tensors freed)
// unless retain_graph was asked for.
//
// Deep graphs (a 100,000-step recurrence) must not overflow the stack when they die: destroying a
// node would recursively destroy its inputs' nodes. Node destructors therefore hand their owned
// references to a thread-local "graveyard" that is drained in a loop (flat recursion depth).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "seam/autograd/grad_mode.hpp"

namespace seam {

namespace detail {
struct Graveyard {
    std::vector<std::shared_ptr<void>> pending;
    bool draining = false;
};
inline Graveyard& graveyard() {
    thread_local Graveyard g;
    return g;
}
/// Take ownership of `p` and release it iteratively (see the header comment).
inline void bury(std::shared_ptr<void> p) {
    if (!p) return;
    Graveyard& g = graveyard();
    g.pending.push_back(std::move(p));
    if (g.draining) return;
    g.draining = true;
    while (!g.pending.empty()) {
        std::shared_ptr<void> last = std::move(g.pending.back());
        g.pending.pop_back();
        last.reset();  // may push more entries; they are handled by this loop
    }
    g.draining = false;
}
}  // namespace detail

template <class T>
class Tensor;

template <class T>
struct Node {
    using Backward = std::function<std::vector<Tensor<T>>(const Tensor<T>& grad_output)>;

    std::string name;                            // op name, for error messages and graph dumps
    std::vector<std::shared_ptr<Node<T>>> next;  // one per input; null when that input needs no grad
    std::shared_ptr<Backward> backward_fn;       // null once released
    Shape output_shape;                          // to check the incoming gradient

    Node(std::string n, Shape out_shape) : name(std::move(n)), output_shape(std::move(out_shape)) {}
    virtual ~Node() {
        for (auto& child : next) detail::bury(std::move(child));
        detail::bury(std::move(backward_fn));
    }
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    /// Gradients for each input (undefined tensors where next[i] is null).
    virtual std::vector<Tensor<T>> apply(const Tensor<T>& grad_output) {
        if (!backward_fn)
            fail("backward: trying to go through the graph of '", name, "' a second time; its saved tensors were freed. ",
                 "Pass retain_graph=true to the first backward() if you need to backward twice.");
        return (*backward_fn)(grad_output);
    }
    /// Free what the closure saved (called after this node's backward unless retain_graph).
    virtual void release() { detail::bury(std::move(backward_fn)); }
};

/// The sink of a leaf: adds the incoming gradient into leaf.grad.
template <class T>
struct AccumulateGrad final : Node<T> {
    std::weak_ptr<TensorImpl<T>> leaf;  // weak: the graph must not keep parameters alive
    explicit AccumulateGrad(const std::shared_ptr<TensorImpl<T>>& l) : Node<T>("AccumulateGrad", l->shape), leaf(l) {}
    std::vector<Tensor<T>> apply(const Tensor<T>& grad_output) override;  // ops/view.hpp (needs ops)
    void release() override {}
};

/// The edge an op should record for input `t`: its grad_fn, its (cached) AccumulateGrad, or null.
template <class T>
inline std::shared_ptr<Node<T>> gradient_edge(const Tensor<T>& t) {
    if (!t.defined() || !t.requires_grad()) return nullptr;
    TensorImpl<T>* im = t.impl();
    if (im->grad_fn) return im->grad_fn;
    if (auto acc = im->grad_accumulator.lock()) return acc;
    auto acc = std::make_shared<AccumulateGrad<T>>(t.impl_ptr());
    im->grad_accumulator = acc;
    return acc;
}

/// True when an op on these inputs must record a node.
template <class T>
inline bool needs_graph(std::initializer_list<const Tensor<T>*> inputs) {
    if (!grad_enabled()) return false;
    for (const Tensor<T>* t : inputs)
        if (t && t->defined() && t->requires_grad()) return true;
    return false;
}

/// Attach a backward closure to `out`, the result of op `name` on `inputs`. No-op when no input
/// requires grad or grad mode is off, so ops can call it unconditionally after their forward.
/// The closure returns one gradient per input, in the same order (undefined = no gradient).
template <class T, class F>
inline void record(const char* name, Tensor<T>& out, std::initializer_list<const Tensor<T>*> inputs, F&& backward) {
    if (!needs_graph<T>(inputs)) return;
    auto node = std::make_shared<Node<T>>(name, out.shape());
    node->next.reserve(inputs.size());
    for (const Tensor<T>* t : inputs) node->next.push_back(t ? gradient_edge(*t) : nullptr);
    node->backward_fn = std::make_shared<typename Node<T>::Backward>(std::forward<F>(backward));
    out.impl()->grad_fn = std::move(node);
}

/// Same, for a variable number of inputs (cat, stack).
template <class T, class F>
inline void record(const char* name, Tensor<T>& out, const std::vector<Tensor<T>>& inputs, F&& backward) {
    if (!grad_enabled()) return;
    bool any = false;
    for (const auto& t : inputs) any = any || (t.defined() && t.requires_grad());
    if (!any) return;
    auto node = std::make_shared<Node<T>>(name, out.shape());
    for (const auto& t : inputs) node->next.push_back(gradient_edge(t));
    node->backward_fn = std::make_shared<typename Node<T>::Backward>(std::forward<F>(backward));
    out.impl()->grad_fn = std::move(node);
}

}  // namespace seam
