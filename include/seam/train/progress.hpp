// seam/train/progress.hpp — a training progress bar that degrades to plain lines.
//
// On a terminal it redraws one line in place (epoch, step, loss, images/s, ETA); when the output
// is a file or a pipe (CI logs) it prints a plain line every `log_every` steps and at the end, so
// logs stay readable and grep-able. A bar that starts part-way through (a resumed epoch) is told
// its first step, so the rate and the ETA count only the steps it has timed. A null output
// stream silences it (tests).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace seam::train {

inline std::string format_duration(double seconds) {
    if (seconds < 0 || seconds != seconds) return "?";
    int64_t s = static_cast<int64_t>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    return buf;
}

class ProgressBar {
public:
    /// total_steps of this epoch; log_every: plain-line spacing (0: four lines an epoch);
    /// first_step: steps already done before this bar started; out: stdout unless told otherwise.
    ProgressBar(std::string label, int64_t total_steps, int64_t log_every = 0, int64_t first_step = 0,
                std::FILE* out = stdout)
        : label_(std::move(label)), total_(total_steps), first_(first_step), start_(Clock::now()), out_(out),
          terminal_(out != nullptr && ::isatty(::fileno(out)) != 0),
          log_every_(log_every > 0 ? log_every : std::max<int64_t>(1, total_steps / 4)) {}

    /// Report step `step` (1-based) done, with the running loss and the images this bar has seen.
    void update(int64_t step, double loss, int64_t images_so_far) {
        if (out_ == nullptr) return;
        double elapsed = seconds();
        double rate = elapsed > 0 ? images_so_far / elapsed : 0.0;
        double eta = step > first_ ? elapsed * (total_ - step) / (step - first_) : -1;
        if (terminal_) {
            const int width = 24;
            int filled = total_ ? static_cast<int>(width * step / total_) : width;
            std::string bar(static_cast<size_t>(std::clamp(filled, 0, width)), '#');
            bar.resize(width, '.');
            std::fprintf(out_, "\r%s [%s] %lld/%lld loss %.4f  %.0f img/s  ETA %s   ", label_.c_str(), bar.c_str(),
                         (long long)step, (long long)total_, loss, rate, format_duration(eta).c_str());
            std::fflush(out_);
        } else if (step % log_every_ == 0 || step == total_) {
            std::fprintf(out_, "%s step %lld/%lld loss %.4f  %.0f img/s  ETA %s\n", label_.c_str(), (long long)step,
                         (long long)total_, loss, rate, format_duration(eta).c_str());
            std::fflush(out_);
        }
    }
    /// Close the line (terminal mode) and return the elapsed seconds.
    double finish() {
        if (terminal_) std::fprintf(out_, "\n");
        return seconds();
    }
    double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

private:
    using Clock = std::chrono::steady_clock;
    std::string label_;
    int64_t total_;
    int64_t first_;
    Clock::time_point start_;
    std::FILE* out_;
    bool terminal_;
    int64_t log_every_;
};

}  // namespace seam::train
