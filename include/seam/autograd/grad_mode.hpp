// seam/autograd/grad_mode.hpp — the switch that lets evaluation skip graph building.
//
// While a NoGradGuard is alive on a thread, ops on that thread record no graph nodes: outputs
// have no grad_fn and save nothing, so evaluation costs only the forward pass.
#pragma once

namespace seam {

namespace detail {
inline bool& grad_mode_flag() {
    thread_local bool enabled = true;
    return enabled;
}
}  // namespace detail

inline bool grad_enabled() { return detail::grad_mode_flag(); }

/// RAII: disables gradient recording on this thread until destroyed (restores the old state).
class NoGradGuard {
public:
    NoGradGuard() : previous_(detail::grad_mode_flag()) { detail::grad_mode_flag() = false; }
    ~NoGradGuard() { detail::grad_mode_flag() = previous_; }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

/// RAII: re-enables gradient recording inside a no-grad region.
class EnableGradGuard {
public:
    EnableGradGuard() : previous_(detail::grad_mode_flag()) { detail::grad_mode_flag() = true; }
    ~EnableGradGuard() { detail::grad_mode_flag() = previous_; }
    EnableGradGuard(const EnableGradGuard&) = delete;
    EnableGradGuard& operator=(const EnableGradGuard&) = delete;

private:
    bool previous_;
};

}  // namespace seam
