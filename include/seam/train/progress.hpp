// seam/train/progress.hpp — a training progress bar that degrades to plain lines.
//
// On a terminal it redraws one line in place (epoch, step, loss, images/s, ETA); when stdout is
// a file or a pipe (CI logs) it prints a plain line every `log_every` steps and at the end, so
// logs stay readable and grep-able.
#pragma once

#include <unistd.h>

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
    /// total_steps of this epoch; images per step for the throughput figure.
    ProgressBar(std::string label, int64_t total_steps, int64_t log_every = 0)
        : label_(std::move(label)), total_(total_steps), start_(Clock::now()),
          terminal_(::isatty(STDOUT_FILENO) != 0),
          log_every_(log_every > 0 ? log_every : std::max<int64_t>(1, total_steps / 4)) {}

    /// Report step `step` (1-based) done, with the running loss and images processed so far.
    void update(int64_t step, double loss, int64_t images_so_far) {
        double elapsed = seconds();
        double rate = elapsed > 0 ? images_so_far / elapsed : 0.0;
        double eta = step > 0 ? elapsed * (total_ - step) / step : -1;
        if (terminal_) {
            const int width = 24;
            int filled = total_ ? static_cast<int>(width * step / total_) : width;
            std::string bar(static_cast<size_t>(filled), '#');
            bar.resize(width, '.');
            std::printf("\r%s [%s] %lld/%lld loss %.4f  %.0f img/s  ETA %s   ", label_.c_str(), bar.c_str(),
                        (long long)step, (long long)total_, loss, rate, format_duration(eta).c_str());
            std::fflush(stdout);
        } else if (step % log_every_ == 0 || step == total_) {
            std::printf("%s step %lld/%lld loss %.4f  %.0f img/s  ETA %s\n", label_.c_str(), (long long)step,
                        (long long)total_, loss, rate, format_duration(eta).c_str());
            std::fflush(stdout);
        }
    }
    /// Close the line (terminal mode) and return the elapsed seconds.
    double finish() {
        if (terminal_) std::printf("\n");
        return seconds();
    }
    double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

private:
    using Clock = std::chrono::steady_clock;
    std::string label_;
    int64_t total_;
    Clock::time_point start_;
    bool terminal_;
    int64_t log_every_;
};

}  // namespace seam::train
