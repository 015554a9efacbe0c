// seam/io/checkpoint.hpp — a training checkpoint as ONE safetensors file, for exact resumption.
//
// Resuming exactly means the resumed run computes the same bits as a run that never stopped. That
// needs everything a training step reads: the weights and buffers, the optimizer's state and
// learning rates, the scheduler's epoch, every random stream's position, and where in which data
// order the run was. A checkpoint holds:
//   tensors   "model.<name>"            the module's state_dict (F32 for float models, F64 for double)
//             "optim.<k>.<name>"        optimizer tensors of parameter k (momentum_buffer, exp_avg, ...)
//             "train.epoch_order"       the current epoch's sample order, I64 [n]
//   metadata  "seam.format" = "checkpoint", "seam.format_version" = "1", "model.dtype", "optim.name"
//             "optim.<k>.<name>", "optim.group.<g>.<name>"   optimizer scalars (step, lr, ...)
//             "scheduler.<name>"                          LRScheduler::state() (when there is one)
//             "rng.default.seed", "rng.default.offset"    default_generator()
//             "rng.<name>.seed", "rng.<name>.offset"      each generator the caller names
//             "train.epoch", "train.step", "train.epoch_position"
//             "extra.<key>"                               the caller's own strings
// Every scalar is a string: integers in decimal, doubles with 17 significant digits (%.17g, which
// reads back as the same double).
//
// load_checkpoint is strict: the file must be a seam checkpoint of the same precision and
// optimizer, with exactly the model's keys and shapes, the same generators and a scheduler exactly
// when one is given. Every problem is reported naming the file; on failure the module, optimizer,
// scheduler and generators are left as they were.
//
// A training loop that resumes exactly (what tests/test_checkpoint.cpp does):
//   TrainingState state = have_checkpoint ? load_checkpoint(path, model, opt, &sched, {{"shuffle", &gen}})
//                                         : TrainingState{};
//   while (state.step < total_steps) {
//       if (state.epoch_position == size(state.epoch_order)) { /* next epoch: sched.step() unless the
//           first, state.epoch++, draw state.epoch_order from gen, state.epoch_position = 0 */ }
//       /* train on the next batch of state.epoch_order, advance epoch_position, ++state.step */
//       if (state.step % every == 0) save_checkpoint(path, model, opt, &sched, state, {{"shuffle", &gen}});
//   }
#pragma once

#include <charconv>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/core/rng.hpp"
#include "seam/core/tensor.hpp"
#include "seam/io/safetensors.hpp"
#include "seam/nn/module.hpp"
#include "seam/optim/optimizer.hpp"
#include "seam/optim/schedule.hpp"

namespace seam::io {

/// Where a training run stands, besides the model, optimizer, scheduler and generators.
struct TrainingState {
    int64_t epoch = 0;                 // the epoch in progress, 0-based
    int64_t step = 0;                  // optimizer steps since the start of training
    std::vector<int64_t> epoch_order;  // this epoch's sample order (empty when the caller keeps none)
    int64_t epoch_position = 0;        // entries of epoch_order already consumed
    Metadata extra;                    // the caller's own strings (best score so far, run name, ...)
};

/// Generators a checkpoint saves and restores besides default_generator(), by name. The name
/// "default" is taken by default_generator().
using NamedGenerators = std::map<std::string, Generator*>;

namespace detail {

inline constexpr const char* kCheckpointFormat = "checkpoint";
inline constexpr const char* kCheckpointVersion = "1";

/// %.17g without the locale: 17 significant digits read back as the same double.
inline std::string exact_double(double x) {
    char buf[64];
    auto result = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, 17);
    return std::string(buf, result.ptr);
}

template <class Int>
inline bool parse_whole(std::string_view text, Int& out) {
    auto result = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && result.ec == std::errc() && result.ptr == text.data() + text.size();
}

inline bool parse_double(std::string_view text, double& out) {
    auto result = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && result.ec == std::errc() && result.ptr == text.data() + text.size();
}

inline bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

/// The optimizer's export names ("state.<k>.x", "group.<g>.x") <-> the checkpoint's ("optim.<k>.x",
/// "optim.group.<g>.x").
inline std::string optim_key(const std::string& exported) {
    if (starts_with(exported, "state.")) return "optim." + exported.substr(6);
    return "optim." + exported;
}
inline std::string optim_export_name(const std::string& key) {
    std::string rest = key.substr(6);  // after "optim."
    if (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') return "state." + rest;
    return rest;
}

template <class T>
constexpr Dtype natural_dtype() {
    return std::is_same_v<T, float> ? Dtype::F32 : Dtype::F64;
}

/// What a checkpoint overwrites, snapshotted so that a failed load can put it back (generators
/// are set only after everything else succeeded, so they need no snapshot).
template <class T>
struct Snapshot {
    nn::StateDict<T> model;
    optim::OptimizerState<T> optimizer;
    std::vector<std::pair<std::string, double>> scheduler;
};

}  // namespace detail

/// Write a checkpoint (atomically: see save_safetensors).
template <class T>
inline void save_checkpoint(const std::string& path, const nn::Module<T>& module, const optim::Optimizer<T>& optimizer,
                            const std::type_identity_t<optim::LRScheduler<T>>* scheduler, const TrainingState& state,
                            const NamedGenerators& generators = {}) {
    const std::string where = "save_checkpoint('" + path + "')";
    SEAM_CHECK(state.epoch >= 0 && state.step >= 0, where, ": epoch ", state.epoch, " and step ", state.step,
               " must not be negative");
    SEAM_CHECK(state.epoch_position >= 0 && state.epoch_position <= static_cast<int64_t>(state.epoch_order.size()), where,
               ": epoch_position ", state.epoch_position, " is outside the epoch order of ", state.epoch_order.size(),
               " entries");
    std::vector<SafetensorsTensor> tensors;
    Metadata meta;
    meta["seam.format"] = detail::kCheckpointFormat;
    meta["seam.format_version"] = detail::kCheckpointVersion;
    meta["model.dtype"] = dtype_str(detail::natural_dtype<T>());
    meta["optim.name"] = optimizer.name();

    // A model or optimizer state on a GPU is copied to the host for the file (to() is a no-op on
    // the CPU); load_checkpoint copies the values back onto the tensors' devices.
    for (const auto& [name, tensor] : module.state_dict())
        tensors.push_back(named_tensor("model." + name, tensor.to(Device::cpu())));
    const optim::OptimizerState<T> optim_state = optimizer.state();
    for (const auto& [name, tensor] : optim_state.tensors)
        tensors.push_back(named_tensor(detail::optim_key(name), tensor.to(Device::cpu())));
    for (const auto& [name, value] : optim_state.scalars) meta[detail::optim_key(name)] = detail::exact_double(value);
    if (scheduler)
        for (const auto& [name, value] : scheduler->state()) meta["scheduler." + name] = detail::exact_double(value);

    auto save_generator = [&](const std::string& name, const Generator& gen) {
        meta["rng." + name + ".seed"] = std::to_string(gen.seed());
        meta["rng." + name + ".offset"] = std::to_string(gen.offset());
    };
    save_generator("default", default_generator());
    for (const auto& [name, gen] : generators) {
        SEAM_CHECK(name != "default" && !name.empty(), where, ": generator name \"", name,
                   "\" is reserved or empty (default_generator() is always saved as \"default\")");
        SEAM_CHECK(gen != nullptr, where, ": generator \"", name, "\" is null");
        save_generator(name, *gen);
    }

    meta["train.epoch"] = std::to_string(state.epoch);
    meta["train.step"] = std::to_string(state.step);
    meta["train.epoch_position"] = std::to_string(state.epoch_position);
    tensors.push_back(named_tensor(
        "train.epoch_order", from_vector<int64_t>(state.epoch_order, {static_cast<int64_t>(state.epoch_order.size())})));
    for (const auto& [key, value] : state.extra) meta["extra." + key] = value;

    save_safetensors(path, tensors, meta);
}

/// Read a checkpoint into fresh (or used) objects of the same architecture and return the
/// training state. Restores default_generator() and each generator in `generators`.
template <class T>
inline TrainingState load_checkpoint(const std::string& path, nn::Module<T>& module, optim::Optimizer<T>& optimizer,
                                     std::type_identity_t<optim::LRScheduler<T>>* scheduler,
                                     const NamedGenerators& generators = {}) {
    const std::string where = "load_checkpoint('" + path + "')";
    const SafetensorsFile file = load_safetensors(path);
    Metadata meta = file.metadata;
    std::vector<std::string> problems;

    auto take = [&](const std::string& key) -> std::optional<std::string> {
        auto it = meta.find(key);
        if (it == meta.end()) {
            problems.push_back("missing metadata \"" + key + "\"");
            return std::nullopt;
        }
        std::string value = it->second;
        meta.erase(it);
        return value;
    };
    auto take_int = [&](const std::string& key, auto& into) {
        auto text = take(key);
        if (text && !detail::parse_whole(*text, into)) problems.push_back("metadata \"" + key + "\" = \"" + *text + "\" is not a whole number");
    };
    auto take_double = [&](const std::string& key, double& into) {
        auto text = take(key);
        if (text && !detail::parse_double(*text, into)) problems.push_back("metadata \"" + key + "\" = \"" + *text + "\" is not a number");
    };

    // What the file is. Without these, nothing else is worth checking.
    {
        auto format = meta.find("seam.format");
        if (format == meta.end() || format->second != detail::kCheckpointFormat)
            fail(where, ": not a seam checkpoint (no \"seam.format\": \"checkpoint\" in its metadata); a bare state_dict ",
                 "file loads with load_state_dict_file()");
        auto version = meta.find("seam.format_version");
        if (version == meta.end() || version->second != detail::kCheckpointVersion)
            fail(where, ": checkpoint format version \"", version == meta.end() ? "" : version->second,
                 "\" is not the version this seam reads (\"", detail::kCheckpointVersion, "\")");
        meta.erase("seam.format");
        meta.erase("seam.format_version");
    }
    if (auto dtype = take("model.dtype"); dtype && *dtype != dtype_str(detail::natural_dtype<T>()))
        problems.push_back("the checkpoint holds a " + *dtype + " model but this model is " +
                           dtype_str(detail::natural_dtype<T>()));
    if (auto name = take("optim.name"); name && *name != optimizer.name())
        problems.push_back("the checkpoint was written with the optimizer " + *name + " but this one is " +
                           std::string(optimizer.name()));

    // Tensors by section.
    nn::StateDict<T> model_dict;
    optim::OptimizerState<T> optim_state;
    TrainingState state;
    bool has_order = false;
    for (const auto& t : file.tensors) {
        if (detail::starts_with(t.name, "model.") || detail::starts_with(t.name, "optim.")) {
            if (t.dtype != detail::natural_dtype<T>()) {
                problems.push_back("tensor \"" + t.name + "\" is " + dtype_str(t.dtype) + ", expected " +
                                   dtype_str(detail::natural_dtype<T>()));
                continue;
            }
            if (detail::starts_with(t.name, "model.")) model_dict.emplace_back(t.name.substr(6), file.get<T>(t.name));
            else optim_state.tensors.emplace_back(detail::optim_export_name(t.name), file.get<T>(t.name));
        } else if (t.name == "train.epoch_order" && t.dtype == Dtype::I64 && t.shape().size() == 1) {
            state.epoch_order = file.get<int64_t>(t.name).to_vector();
            has_order = true;
        } else {
            problems.push_back("unexpected tensor \"" + t.name + "\" (" + dtype_str(t.dtype) + " " + shape_str(t.shape()) + ")");
        }
    }
    if (!has_order) problems.push_back("missing tensor \"train.epoch_order\" (I64, one dimension)");

    // Scalars by section (everything taken out of `meta`; what remains is unexpected).
    std::vector<std::string> optim_keys, scheduler_keys;
    for (const auto& [key, value] : meta) {
        if (detail::starts_with(key, "optim.")) optim_keys.push_back(key);
        else if (detail::starts_with(key, "scheduler.")) scheduler_keys.push_back(key);
    }
    for (const auto& key : optim_keys) {
        double value = 0;
        take_double(key, value);
        optim_state.scalars.emplace_back(detail::optim_export_name(key), value);
    }
    std::vector<std::pair<std::string, double>> scheduler_state;
    if (scheduler && scheduler_keys.empty())
        problems.push_back("a scheduler was given but the checkpoint holds no scheduler state");
    if (!scheduler && !scheduler_keys.empty())
        problems.push_back("the checkpoint holds scheduler state but no scheduler was given");
    for (const auto& key : scheduler_keys) {
        double value = 0;
        take_double(key, value);
        scheduler_state.emplace_back(key.substr(10), value);
    }

    std::vector<std::pair<Generator*, Generator>> restored_generators;
    auto take_generator = [&](const std::string& name, Generator* gen) {
        uint64_t seed = 0, offset = 0;
        take_int("rng." + name + ".seed", seed);
        take_int("rng." + name + ".offset", offset);
        Generator value;
        value.set_state(seed, offset);
        restored_generators.emplace_back(gen, value);
    };
    take_generator("default", &default_generator());
    for (const auto& [name, gen] : generators) {
        if (name == "default" || name.empty() || gen == nullptr) {
            problems.push_back("generator \"" + name + "\" is reserved, empty or null");
            continue;
        }
        take_generator(name, gen);
    }

    take_int("train.epoch", state.epoch);
    take_int("train.step", state.step);
    take_int("train.epoch_position", state.epoch_position);
    if (state.epoch < 0 || state.step < 0 || state.epoch_position < 0 ||
        state.epoch_position > static_cast<int64_t>(state.epoch_order.size()))
        problems.push_back("train.epoch " + std::to_string(state.epoch) + ", train.step " + std::to_string(state.step) +
                           " or train.epoch_position " + std::to_string(state.epoch_position) + " is out of range (epoch order of " +
                           std::to_string(state.epoch_order.size()) + " entries)");

    std::vector<std::string> leftover;
    for (const auto& [key, value] : meta) {
        if (detail::starts_with(key, "extra.")) state.extra[key.substr(6)] = value;
        else if (detail::starts_with(key, "rng."))
            problems.push_back("the checkpoint saves generator state \"" + key + "\" that no given generator takes");
        else problems.push_back("unexpected metadata \"" + key + "\"");
    }

    auto report = [&](const std::string& title, const std::vector<std::string>& items) {
        std::string msg = where + ": " + title;
        for (const auto& item : items) msg += "\n  " + item;
        throw Error(msg);
    };
    if (!problems.empty()) report("the checkpoint does not match", problems);

    // Apply, keeping a snapshot to put back if any part refuses (each part checks its own fit).
    detail::Snapshot<T> before;
    for (const auto& [name, tensor] : module.state_dict()) before.model.emplace_back(name, tensor.clone());
    before.optimizer = optimizer.state();
    for (auto& entry : before.optimizer.tensors) entry.second = entry.second.clone();
    if (scheduler) before.scheduler = scheduler->state();
    try {
        module.load_state_dict(model_dict, /*strict=*/true);
        // The scheduler first: its load rewrites the optimizer's learning rates from the schedule;
        // the optimizer's saved rates (the ones actually in use) then win.
        if (scheduler) scheduler->load_state(scheduler_state);
        optimizer.load_state(optim_state);
    } catch (const Error& e) {
        module.load_state_dict(before.model, true);
        if (scheduler) scheduler->load_state(before.scheduler);
        optimizer.load_state(before.optimizer);
        report("the checkpoint does not match the model, optimizer or scheduler", {e.what()});
    }
    for (const auto& [gen, value] : restored_generators) gen->set_state(value.seed(), value.offset());
    return state;
}

}  // namespace seam::io
