// seam/nn/module.hpp — nn::Module<T>: the building block every layer and model derives from.
//
// A Module owns three ordered, named collections:
//   parameters  tensors the optimizer trains (registered with requires_grad),
//   buffers     state that is saved but not trained (BatchNorm's running statistics),
//   children    sub-modules, held by shared_ptr (ownership runs parent -> child only, so a module
//               tree never forms a cycle; registering an ancestor as a child is refused).
// Names of nested entries are dotted paths built from the registration names, exactly as in
// PyTorch ("features.0.weight", "layer1.0.bn1.running_mean"), so a seam backbone's state_dict keys
// match torchvision's and pretrained weights load by name. Entries keep registration order, as
// PyTorch's do: state_dict lists a module's parameters, then its buffers, then each child's.
//
// A layer keeps a handle to each tensor it registers (`weight = register_parameter("weight",
// ...)`); both handles share one storage, and load_state_dict copies values INTO that storage, so
// the layer's handle never goes stale. forward(const Tensor&) is the single-input entry point;
// a module with several inputs defines its own forward signature and leaves this one throwing.
// to_string() prints the tree in the format of PyTorch's repr().
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "seam/autograd/grad_mode.hpp"
#include "seam/core/tensor.hpp"

namespace seam::nn {

/// Ordered (name, tensor) pairs: what named_parameters(), named_buffers() and state_dict() return.
template <class T>
using NamedTensors = std::vector<std::pair<std::string, Tensor<T>>>;
template <class T>
using StateDict = NamedTensors<T>;

/// What a non-strict load_state_dict skipped (PyTorch's _IncompatibleKeys).
struct LoadResult {
    std::vector<std::string> missing_keys;     // in the module, absent from the dict
    std::vector<std::string> unexpected_keys;  // in the dict, absent from the module
};

namespace detail {

/// Python's repr() of a float: the shortest digits that round-trip, scientific notation below
/// 1e-4 or from 1e16 on ("1e-05", "0.1", "1.0"), so extra_repr() strings read like PyTorch's.
inline std::string python_float(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    if (x == 0.0) return std::signbit(x) ? "-0.0" : "0.0";
    char buf[64];
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
        if (std::strtod(buf, nullptr) == x) break;
    }
    // buf is "[-]d.ddde[+-]XX": split into sign, digits and decimal exponent.
    std::string s(buf), sign, digits;
    size_t pos = 0;
    if (s[0] == '-') { sign = "-"; pos = 1; }
    size_t e = s.find('e');
    for (size_t i = pos; i < e; ++i)
        if (s[i] != '.') digits += s[i];
    int exponent = std::atoi(s.c_str() + e + 1);
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    if (exponent < -4 || exponent >= 16) {
        std::string mantissa = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
        char ebuf[16];
        std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
        return sign + mantissa + ebuf;
    }
    if (exponent < 0) return sign + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    size_t int_len = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= int_len) return sign + digits + std::string(int_len - digits.size(), '0') + ".0";
    return sign + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

inline std::string python_bool(bool b) { return b ? "True" : "False"; }

/// PyTorch's _addindent: indent every line but the first.
inline std::string add_indent(const std::string& text, int spaces) {
    std::string out;
    for (char c : text) {
        out += c;
        if (c == '\n') out.append(static_cast<size_t>(spaces), ' ');
    }
    return out;
}

inline void check_entry_name(const std::string& name, const std::string& owner, const char* what) {
    SEAM_CHECK(!name.empty(), owner, ": ", what, " name must not be empty");
    SEAM_CHECK(name.find('.') == std::string::npos, owner, ": ", what, " name \"", name,
               "\" must not contain '.' (dots separate the levels of nested names)");
}

}  // namespace detail

template <class T>
class Module {
    static_assert(std::is_floating_point_v<T>, "nn::Module<T> needs T = float or double");

public:
    using value_type = T;
    using ModulePtr = std::shared_ptr<Module<T>>;

    explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
    virtual ~Module() = default;
    // Copies would share parameter storage with the original behind the user's back.
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    /// The single-input forward pass. Modules with other signatures leave this one throwing.
    virtual Tensor<T> forward(const Tensor<T>& input) {
        (void)input;
        fail(type_name_, ": this module has no single-input forward(const Tensor&); call its own forward signature");
    }
    Tensor<T> operator()(const Tensor<T>& input) { return forward(input); }

    /// The class name shown by to_string() ("Conv2d", "Sequential", ...).
    const std::string& type_name() const { return type_name_; }

    // ----- registration ----------------------------------------------------------------------

    /// Register a trainable tensor under `name` and return its handle (store it in the layer).
    /// An undefined tensor registers nothing, like PyTorch's `bias=None`: it is absent from
    /// parameters() and state_dict().
    Tensor<T> register_parameter(const std::string& name, Tensor<T> tensor, bool requires_grad = true) {
        check_new_name(name, "parameter");
        if (!tensor.defined()) return tensor;
        SEAM_CHECK(tensor.is_leaf(), type_name_, ": parameter \"", name,
                   "\" was produced by an operation; register a leaf tensor (use detach() or clone().detach())");
        tensor.set_requires_grad(requires_grad);
        parameters_.emplace_back(name, tensor);
        return tensor;
    }

    /// Register a saved, untrained tensor (running statistics). Undefined registers nothing.
    Tensor<T> register_buffer(const std::string& name, Tensor<T> tensor) {
        check_new_name(name, "buffer");
        if (!tensor.defined()) return tensor;
        SEAM_CHECK(!tensor.requires_grad(), type_name_, ": buffer \"", name,
                   "\" requires grad; buffers are not trained (register it as a parameter, or detach it)");
        buffers_.emplace_back(name, tensor);
        return tensor;
    }

    /// Register a child module; returns it with its own type so the caller can keep a typed handle.
    template <class M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
        static_assert(std::is_base_of_v<Module<T>, M>, "register_module: M must derive from nn::Module<T>");
        check_new_name(name, "module");
        check_child(name, module.get());
        children_.emplace_back(name, module);
        return module;
    }

    /// Swap an existing child for another (fine-tuning: a new classifier head in place of the old).
    template <class M>
    std::shared_ptr<M> replace_module(const std::string& name, std::shared_ptr<M> module) {
        static_assert(std::is_base_of_v<Module<T>, M>, "replace_module: M must derive from nn::Module<T>");
        for (auto& [child_name, child] : children_) {
            if (child_name != name) continue;
            check_child(name, module.get());
            child = module;
            return module;
        }
        fail(type_name_, ": replace_module: no child named \"", name, "\"");
    }

    // ----- traversal ----------------------------------------------------------------------------

    /// Parameters with dotted names, pre-order (own first, then each child's). A tensor shared by
    /// two modules is listed once, under its first name, so an optimizer never updates it twice.
    NamedTensors<T> named_parameters(bool recurse = true) const {
        NamedTensors<T> out;
        std::set<const void*> seen;
        collect(out, "", recurse, /*params=*/true, /*buffers=*/false, &seen);
        return out;
    }
    std::vector<Tensor<T>> parameters(bool recurse = true) const { return values(named_parameters(recurse)); }

    NamedTensors<T> named_buffers(bool recurse = true) const {
        NamedTensors<T> out;
        std::set<const void*> seen;
        collect(out, "", recurse, /*params=*/false, /*buffers=*/true, &seen);
        return out;
    }
    std::vector<Tensor<T>> buffers(bool recurse = true) const { return values(named_buffers(recurse)); }

    const std::vector<std::pair<std::string, ModulePtr>>& named_children() const { return children_; }
    std::vector<ModulePtr> children() const {
        std::vector<ModulePtr> out;
        for (const auto& entry : children_) out.push_back(entry.second);
        return out;
    }
    /// The direct child called `name` (throws when there is none).
    ModulePtr child(const std::string& name) const {
        for (const auto& [child_name, module] : children_)
            if (child_name == name) return module;
        fail(type_name_, ": no child module named \"", name, "\"");
    }

    /// Every module of the tree in pre-order with its dotted name; this module comes first as "".
    std::vector<std::pair<std::string, Module<T>*>> named_modules() {
        std::vector<std::pair<std::string, Module<T>*>> out;
        std::vector<std::pair<std::string, Module<T>*>> stack{{"", this}};
        while (!stack.empty()) {
            auto [name, module] = stack.back();
            stack.pop_back();
            out.emplace_back(name, module);
            for (size_t i = module->children_.size(); i-- > 0;) {
                const auto& [child_name, child] = module->children_[i];
                stack.emplace_back(name.empty() ? child_name : name + "." + child_name, child.get());
            }
        }
        return out;
    }

    /// Call fn on every child (recursively) and then on this module, PyTorch's order: the way a
    /// model re-initialises all its Conv2d layers at once.
    void apply(const std::function<void(Module<T>&)>& fn) {
        for (auto& entry : children_) entry.second->apply(fn);
        fn(*this);
    }

    // ----- modes and bookkeeping ------------------------------------------------------------

    /// Training mode on or off, for this module and every descendant (Dropout and BatchNorm read it).
    virtual Module& train(bool on = true) {
        training_ = on;
        for (auto& entry : children_) entry.second->train(on);
        return *this;
    }
    Module& eval() { return train(false); }
    bool is_training() const { return training_; }

    /// Move every parameter and buffer of the tree to `device`, in place (PyTorch's module.to):
    /// each tensor's storage is replaced by a contiguous copy on the device, so the handles the
    /// layers hold (and an optimizer built afterwards) see the moved data, parameters stay leaves
    /// with their requires_grad, and an existing gradient moves with its parameter. A tensor
    /// shared by two modules moves once. Asking for a CUDA device in a build without CUDA throws
    /// "seam was built without CUDA" before anything changes. Build the optimizer after the
    /// move: its state tensors are created on the parameters' device.
    Module& to(Device device) {
        if (device.is_cuda()) device = Device::cuda(device.index);  // a clear error when it does not exist
        NoGradGuard no_grad;
        for (auto& entry : named_parameters()) move_tensor(entry.second, device);
        for (auto& entry : named_buffers()) move_tensor(entry.second, device);
        return *this;
    }

    /// The device of the first parameter (or buffer); the CPU for a module that holds neither.
    Device device() const {
        for (const auto& entry : named_parameters()) return entry.second.device();
        for (const auto& entry : named_buffers()) return entry.second.device();
        return Device::cpu();
    }

    /// Drop every parameter's gradient (PyTorch's set_to_none=True default).
    void zero_grad() {
        for (Tensor<T>& p : parameters()) p.zero_grad();
    }

    /// Number of parameter elements (shared tensors counted once); optionally only trainable ones.
    int64_t parameter_count(bool only_trainable = false) const {
        int64_t n = 0;
        for (const Tensor<T>& p : parameters())
            if (!only_trainable || p.requires_grad()) n += p.numel();
        return n;
    }

    // ----- state_dict -----------------------------------------------------------------------

    /// Every parameter and buffer with its dotted name. The tensors share memory with the module
    /// (like PyTorch's); clone them to keep a snapshot that later training cannot change.
    StateDict<T> state_dict() const {
        StateDict<T> out;
        collect(out, "", /*recurse=*/true, /*params=*/true, /*buffers=*/true, nullptr);
        for (auto& entry : out) entry.second = entry.second.detach();
        return out;
    }

    /// Copy the values of `dict` into this module's parameters and buffers, in place.
    /// Shape mismatches and repeated keys always throw; with `strict`, so do missing and
    /// unexpected keys. Every problem is listed in one message, and nothing is copied unless the
    /// whole load is valid (a failed load leaves the module unchanged).
    LoadResult load_state_dict(const StateDict<T>& dict, bool strict = true) {
        StateDict<T> own = state_dict();
        std::unordered_map<std::string, size_t> index;
        for (size_t i = 0; i < own.size(); ++i) index.emplace(own[i].first, i);

        LoadResult result;
        std::vector<std::string> mismatched, repeated;
        std::vector<std::pair<size_t, size_t>> copies;  // (own index, dict index)
        std::vector<bool> found(own.size(), false);
        std::set<std::string> dict_names;
        for (size_t j = 0; j < dict.size(); ++j) {
            const auto& [name, value] = dict[j];
            if (!dict_names.insert(name).second) {
                repeated.push_back("\"" + name + "\"");
                continue;
            }
            auto it = index.find(name);
            if (it == index.end()) {
                result.unexpected_keys.push_back(name);
                continue;
            }
            found[it->second] = true;
            const Tensor<T>& target = own[it->second].second;
            if (!value.defined() || value.shape() != target.shape()) {
                mismatched.push_back("\"" + name + "\": checkpoint " +
                                     (value.defined() ? shape_str(value.shape()) : std::string("undefined")) +
                                     " vs model " + shape_str(target.shape()));
                continue;
            }
            copies.emplace_back(it->second, j);
        }
        for (size_t i = 0; i < own.size(); ++i)
            if (!found[i]) result.missing_keys.push_back(own[i].first);

        const bool fails = !mismatched.empty() || !repeated.empty() ||
                           (strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty()));
        if (fails) {
            std::ostringstream msg;
            msg << "load_state_dict(" << type_name_ << "): the state dict does not fit the module";
            auto list = [&msg](const char* title, const std::vector<std::string>& items, bool quote) {
                if (items.empty()) return;
                msg << "\n  " << title << " (" << items.size() << "): ";
                for (size_t i = 0; i < items.size(); ++i)
                    msg << (i ? ", " : "") << (quote ? "\"" + items[i] + "\"" : items[i]);
            };
            if (strict) {
                list("missing keys", result.missing_keys, true);
                list("unexpected keys", result.unexpected_keys, true);
            }
            list("shape mismatches", mismatched, false);
            list("repeated keys", repeated, false);
            throw Error(msg.str());
        }
        NoGradGuard no_grad;
        for (auto [own_index, dict_index] : copies) own[own_index].second.copy_(dict[dict_index].second);
        return result;
    }

    // ----- printing ---------------------------------------------------------------------------

    /// The layer's own settings, as PyTorch's extra_repr() ("in_features=2, out_features=8, bias=True").
    virtual std::string extra_repr() const { return ""; }

    /// The module tree, in the format of PyTorch's repr(module).
    std::string to_string() const {
        std::vector<std::string> extra_lines, child_lines;
        std::string extra = extra_repr();
        if (!extra.empty()) {
            std::istringstream in(extra);
            for (std::string line; std::getline(in, line);) extra_lines.push_back(line);
        }
        for (const auto& [name, child] : children_)
            child_lines.push_back("(" + name + "): " + detail::add_indent(child->to_string(), 2));
        std::string out = type_name_ + "(";
        if (extra_lines.size() == 1 && child_lines.empty()) {
            out += extra_lines[0];
        } else if (!extra_lines.empty() || !child_lines.empty()) {
            std::vector<std::string> lines = extra_lines;
            lines.insert(lines.end(), child_lines.begin(), child_lines.end());
            out += "\n";
            for (const auto& line : lines) out += "  " + line + "\n";
        }
        return out + ")";
    }

private:
    void check_new_name(const std::string& name, const char* what) const {
        detail::check_entry_name(name, type_name_, what);
        auto taken = [&name](const auto& entries) {
            for (const auto& entry : entries)
                if (entry.first == name) return true;
            return false;
        };
        SEAM_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), type_name_, ": cannot register ", what,
                   " \"", name, "\": the name is already used by a parameter, buffer or child module");
    }

    /// A child must exist and must not contain this module (that would be a cycle of shared_ptrs).
    void check_child(const std::string& name, Module<T>* module) {
        SEAM_CHECK(module != nullptr, type_name_, ": module \"", name, "\" is null");
        for (const auto& entry : module->named_modules())
            SEAM_CHECK(entry.second != this, type_name_, ": registering \"", name,
                       "\" would make the module its own descendant (a cycle)");
    }

    /// Re-point the tensor's impl at a copy of its data on `device`: every handle sharing that
    /// impl (the layer's member, the parameter list) sees the move; views taken before do not.
    static void move_tensor(const Tensor<T>& tensor, Device device) {
        if (tensor.device() == device) return;
        const Tensor<T> moved = tensor.detach().to(device);  // a dense copy on the target device
        TensorImpl<T>* impl = tensor.impl();
        if (impl->grad) {
            const Tensor<T> grad(impl->grad);
            impl->grad = grad.detach().to(device).impl_ptr();
        }
        impl->storage = moved.storage();
        impl->strides = moved.strides();
        impl->offset = moved.offset();
    }

    static std::vector<Tensor<T>> values(const NamedTensors<T>& named) {
        std::vector<Tensor<T>> out;
        out.reserve(named.size());
        for (const auto& entry : named) out.push_back(entry.second);
        return out;
    }

    /// Pre-order walk appending (prefix + name, tensor); `seen` (when given) drops repeated tensors.
    void collect(NamedTensors<T>& out, const std::string& prefix, bool recurse, bool params, bool buffers,
                 std::set<const void*>* seen) const {
        auto add = [&](const NamedTensors<T>& entries) {
            for (const auto& [name, tensor] : entries)
                if (!seen || seen->insert(tensor.impl()).second) out.emplace_back(prefix + name, tensor);
        };
        if (params) add(parameters_);
        if (buffers) add(buffers_);
        if (!recurse) return;
        for (const auto& [name, child] : children_) child->collect(out, prefix + name + ".", true, params, buffers, seen);
    }

    std::string type_name_;
    bool training_ = true;
    NamedTensors<T> parameters_;
    NamedTensors<T> buffers_;
    std::vector<std::pair<std::string, ModulePtr>> children_;
};

}  // namespace seam::nn
