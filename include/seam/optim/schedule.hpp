// seam/optim/schedule.hpp — learning-rate schedules as closed forms, and the scheduler that
// applies one to an optimizer.
//
// A schedule is a pure function lr_at(epoch, base_lr), the closed form PyTorch documents
// (its `_get_closed_form_lr`), so any epoch can be asked for directly and resuming needs no
// replay:
//   StepLR             base * gamma^floor(epoch / step_size)
//   MultiStepLR        base * gamma^(number of milestones <= epoch)
//   CosineAnnealingLR  eta_min + (base - eta_min) * (1 + cos(pi * epoch / t_max)) / 2
//   LinearWarmup       base * (start_factor + (1 - start_factor) * epoch / warmup) while epoch < warmup,
//                      then inner.lr_at(epoch - warmup, base): PyTorch's
//                      SequentialLR([LinearLR(start_factor, total_iters=warmup), inner], [warmup]).
// LRScheduler<T> remembers each group's base learning rate (its lr when the scheduler was made)
// and the epoch; step() advances the epoch and writes lr_at(epoch, base) into every group. Its
// state() is those numbers, for checkpoints.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "seam/optim/optimizer.hpp"

namespace seam::optim {

class LRSchedule {
public:
    virtual ~LRSchedule() = default;
    /// The learning rate at `epoch` (0-based) for a group whose base learning rate is `base_lr`.
    virtual double lr_at(int64_t epoch, double base_lr) const = 0;
};

class StepLR : public LRSchedule {
public:
    StepLR(int64_t step_size, double gamma = 0.1) : step_size_(step_size), gamma_(gamma) {
        SEAM_CHECK(step_size > 0, "StepLR: step_size ", step_size, " must be positive");
    }
    double lr_at(int64_t epoch, double base_lr) const override {
        check_epoch(epoch);
        return base_lr * std::pow(gamma_, static_cast<double>(epoch / step_size_));
    }
    static void check_epoch(int64_t epoch) { SEAM_CHECK(epoch >= 0, "learning-rate schedule: epoch ", epoch, " is negative"); }

private:
    int64_t step_size_;
    double gamma_;
};

class MultiStepLR : public LRSchedule {
public:
    MultiStepLR(std::vector<int64_t> milestones, double gamma = 0.1) : milestones_(std::move(milestones)), gamma_(gamma) {
        for (size_t i = 1; i < milestones_.size(); ++i)
            SEAM_CHECK(milestones_[i - 1] < milestones_[i], "MultiStepLR: milestones must be strictly increasing (",
                       milestones_[i - 1], " then ", milestones_[i], ")");
    }
    double lr_at(int64_t epoch, double base_lr) const override {
        StepLR::check_epoch(epoch);
        auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
        return base_lr * std::pow(gamma_, static_cast<double>(passed));
    }

private:
    std::vector<int64_t> milestones_;
    double gamma_;
};

class CosineAnnealingLR : public LRSchedule {
public:
    CosineAnnealingLR(int64_t t_max, double eta_min = 0.0) : t_max_(t_max), eta_min_(eta_min) {
        SEAM_CHECK(t_max > 0, "CosineAnnealingLR: t_max ", t_max, " must be positive");
    }
    double lr_at(int64_t epoch, double base_lr) const override {
        StepLR::check_epoch(epoch);
        double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(t_max_);
        return eta_min_ + (base_lr - eta_min_) * (1.0 + std::cos(phase)) / 2.0;
    }

private:
    int64_t t_max_;
    double eta_min_;
};

class LinearWarmup : public LRSchedule {
public:
    LinearWarmup(std::shared_ptr<const LRSchedule> inner, int64_t warmup_epochs, double start_factor = 1.0 / 3.0)
        : inner_(std::move(inner)), warmup_(warmup_epochs), start_factor_(start_factor) {
        SEAM_CHECK(inner_ != nullptr, "LinearWarmup: the wrapped schedule is null");
        SEAM_CHECK(warmup_epochs >= 0, "LinearWarmup: warmup_epochs ", warmup_epochs, " is negative");
        SEAM_CHECK(start_factor > 0.0 && start_factor <= 1.0, "LinearWarmup: start_factor ", start_factor,
                   " is outside (0, 1]");
    }
    double lr_at(int64_t epoch, double base_lr) const override {
        StepLR::check_epoch(epoch);
        if (epoch >= warmup_) return inner_->lr_at(epoch - warmup_, base_lr);
        double progress = static_cast<double>(epoch) / static_cast<double>(warmup_);
        return base_lr * (start_factor_ + (1.0 - start_factor_) * progress);
    }

private:
    std::shared_ptr<const LRSchedule> inner_;
    int64_t warmup_;
    double start_factor_;
};

/// Drives an optimizer's learning rates from a schedule. Construction sets epoch 0's rates.
template <class T>
class LRScheduler {
public:
    LRScheduler(Optimizer<T>& optimizer, std::shared_ptr<const LRSchedule> schedule)
        : optimizer_(optimizer), schedule_(std::move(schedule)) {
        SEAM_CHECK(schedule_ != nullptr, "LRScheduler: the schedule is null");
        for (const auto& group : optimizer_.param_groups()) base_lrs_.push_back(group.lr);
        apply();
    }

    /// Advance one epoch (call after the epoch's optimizer steps, as in PyTorch).
    void step() { set_epoch(epoch_ + 1); }
    void set_epoch(int64_t epoch) {
        StepLR::check_epoch(epoch);
        epoch_ = epoch;
        apply();
    }
    int64_t epoch() const { return epoch_; }
    const std::vector<double>& base_lrs() const { return base_lrs_; }
    /// The learning rate of each group now.
    std::vector<double> last_lr() const {
        std::vector<double> out;
        for (const auto& group : optimizer_.param_groups()) out.push_back(group.lr);
        return out;
    }

    /// {"epoch", e}, {"base_lr.<g>", lr}...
    std::vector<std::pair<std::string, double>> state() const {
        std::vector<std::pair<std::string, double>> out{{"epoch", static_cast<double>(epoch_)}};
        for (size_t g = 0; g < base_lrs_.size(); ++g) out.emplace_back("base_lr." + std::to_string(g), base_lrs_[g]);
        return out;
    }
    void load_state(const std::vector<std::pair<std::string, double>>& saved) {
        std::map<std::string, double> values(saved.begin(), saved.end());
        std::vector<std::string> problems;
        auto take = [&](const std::string& key, double& into) {
            auto it = values.find(key);
            if (it == values.end()) problems.push_back("missing \"" + key + "\"");
            else { into = it->second; values.erase(it); }
        };
        double epoch = 0;
        std::vector<double> base = base_lrs_;
        take("epoch", epoch);
        for (size_t g = 0; g < base.size(); ++g) take("base_lr." + std::to_string(g), base[g]);
        for (const auto& entry : values) problems.push_back("unexpected \"" + entry.first + "\"");
        if (epoch < 0 || epoch != std::floor(epoch)) problems.push_back("epoch " + std::to_string(epoch) + " is not a whole number >= 0");
        if (!problems.empty()) {
            std::string msg = "LRScheduler: load_state: the saved state does not fit";
            for (const auto& p : problems) msg += "\n  " + p;
            throw Error(msg);
        }
        base_lrs_ = std::move(base);
        set_epoch(static_cast<int64_t>(epoch));
    }

private:
    void apply() {
        auto& groups = optimizer_.param_groups();
        // Groups added to the optimizer later start from the rate they were added with.
        for (size_t g = base_lrs_.size(); g < groups.size(); ++g) base_lrs_.push_back(groups[g].lr);
        for (size_t g = 0; g < groups.size(); ++g) groups[g].lr = schedule_->lr_at(epoch_, base_lrs_[g]);
    }

    Optimizer<T>& optimizer_;
    std::shared_ptr<const LRSchedule> schedule_;
    std::vector<double> base_lrs_;
    int64_t epoch_ = 0;
};

}  // namespace seam::optim
