// bench/child_lines.hpp — run a program as a child process and read its standard output line by
// line, with a time limit between lines (POSIX: fork, exec, a pipe, poll).
//
// Why: bench_conv_pool_cuda times a kernel that has never run on a GPU (TF32 version 5). A fault
// in it (an illegal address, a misaligned cp.async) poisons the CUDA context of the process that
// launched it, and a deadlock hangs it: either way every later table of that process is lost. Run
// in a child process, the fault costs only the child: the parent sees which item the child had
// begun, reports it, and starts a new child after it. CUDA forbids using a context across fork(),
// so the child exec()s a fresh program image (the bench itself, in a child mode) rather than
// continuing the parent's.
//
// The child's standard error is the parent's (its diagnostics reach the same log); its standard
// output is the pipe. Host-only; tests/test_child_lines.cpp checks it with /bin/sh children.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace seam::bench {

/// How a child ended.
struct ChildOutcome {
    bool started = false;          // fork and pipe succeeded (exec failing shows as exit status 127)
    bool exited = false;           // it exited by itself: exit_code holds the status
    int exit_code = -1;
    int signal = 0;                // the signal that ended it (SIGKILL when we killed it)
    bool killed_idle = false;      // killed: no line for idle_timeout_s seconds
    bool killed_deadline = false;  // killed: the deadline passed
    std::string error;             // why it could not start

    bool clean() const { return exited && exit_code == 0; }
    std::string describe() const {
        if (!started) return "could not start: " + error;
        if (killed_idle) return "killed after no output within the idle limit (a hang?)";
        if (killed_deadline) return "killed at the time budget";
        if (exited) return "exit status " + std::to_string(exit_code);
        return "ended by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    }
};

/// Runs argv (argv[0] a path: no PATH search) and calls on_line with each line of its standard
/// output, newline removed (a last line without one included). Kills it (SIGKILL) when no line has
/// come for idle_timeout_s seconds, or at `deadline`. Returns once the child is reaped.
inline ChildOutcome run_child_lines(const std::vector<std::string>& argv, double idle_timeout_s,
                                    std::chrono::steady_clock::time_point deadline,
                                    const std::function<void(const std::string&)>& on_line) {
    using Clock = std::chrono::steady_clock;
    ChildOutcome out;
    if (argv.empty()) return out.error = "no program given", out;
    int fds[2];
    if (pipe(fds) != 0) return out.error = std::string("pipe: ") + std::strerror(errno), out;
    std::fflush(nullptr);  // nothing buffered may be written twice
    const pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]), close(fds[1]);
        return out.error = std::string("fork: ") + std::strerror(errno), out;
    }
    if (pid == 0) {  // the child: stdout into the pipe, then the new program
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]), close(fds[1]);
        std::vector<char*> args;
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        std::fprintf(stderr, "run_child_lines: cannot run %s: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }
    out.started = true;
    close(fds[1]);
    std::string pending;
    auto last_line = Clock::now();
    bool open = true;
    while (open) {
        const auto now = Clock::now();
        const auto idle_end = last_line + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(idle_timeout_s));
        const auto until = std::min(idle_end, deadline);
        if (now >= until) {
            (now >= deadline ? out.killed_deadline : out.killed_idle) = true;
            kill(pid, SIGKILL);
            break;
        }
        const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1;
        pollfd p{fds[0], POLLIN, 0};
        const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(wait_ms, 1000)));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;  // time checked at the top
        char buf[4096];
        const ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {  // end of output: the child closed its stdout (exited, or is about to)
            open = false;
            break;
        }
        pending.append(buf, static_cast<size_t>(n));
        size_t start = 0;
        for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
            on_line(pending.substr(start, nl - start));
            last_line = Clock::now();
        }
        pending.erase(0, start);
    }
    close(fds[0]);
    if (!pending.empty()) on_line(pending);
    // Reap it. A child that closed its output but goes on running gets the same limits.
    int status = 0;
    for (;;) {
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) break;
        const auto now = Clock::now();
        const bool idle = now - last_line > std::chrono::duration<double>(idle_timeout_s);
        if (idle || now >= deadline) {
            if (!out.killed_idle && !out.killed_deadline) (idle ? out.killed_idle : out.killed_deadline) = true;
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        usleep(2000);
    }
    if (WIFEXITED(status)) out.exited = true, out.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
    return out;
}

/// One line of the item protocol, "@TAG VERB [K [TEXT]]": verb, item number (-1 when absent) and
/// the text after it. Lines without the tag are not protocol lines (ok false).
struct ItemLine {
    bool ok = false;
    std::string verb;
    long long item = -1;
    std::string text;
};
inline ItemLine parse_item_line(const std::string& tag, const std::string& line) {
    ItemLine out;
    const std::string prefix = "@" + tag + " ";
    if (line.rfind(prefix, 0) != 0) return out;
    size_t at = prefix.size();
    const size_t verb_end = std::min(line.find(' ', at), line.size());
    out.verb = line.substr(at, verb_end - at);
    if (out.verb.empty()) return out;
    out.ok = true;
    at = verb_end;
    if (at < line.size()) {
        char* end = nullptr;
        const char* start = line.c_str() + at + 1;
        const long long k = std::strtoll(start, &end, 10);
        if (end != start && (*end == ' ' || *end == '\0')) {
            out.item = k;
            at = static_cast<size_t>(end - line.c_str());
            if (at < line.size()) ++at;  // the space before the text
        } else {
            ++at;
        }
        out.text = line.substr(std::min(at, line.size()));
    }
    return out;
}

/// What run_items_in_children saw.
struct ItemRun {
    int children = 0;             // processes started
    int faults = 0;               // items inside which a child ended (on_fault was called for each)
    int hangs = 0;                // of which killed at the idle limit
    bool could_not_start = false; // the first child reported no "ready": nothing ran
    std::string start_failure;    // its outcome, then
    bool cut = false;             // a child said "cut K": it stopped at its time budget
    size_t cut_at = 0;
    bool killed_at_deadline = false;
    bool gave_up = false;         // max_children or max_hangs reached with items left
    size_t resume_at = 0;         // cut, killed or gave up: the first item not run
};

/// Runs items 0 .. count - 1 in child processes. argv_from(from) is the command that runs the items
/// from `from` on, and prints on its standard output, in this order:
///   @TAG ready            once it can run items,
///   @TAG begin K          before item K (items it skips need no line),
///   @TAG VERB K TEXT      any other verb: item K's record (on_record; the item is then done),
///   @TAG cut K            it stops before item K (its time budget),
///   @TAG end              when it is done.
/// A child that ends (or falls silent for idle_timeout_s) inside an item that has no record has
/// on_fault called for that item, and a new child goes on after it; at most max_children run, and
/// none after max_hangs children fell silent (each hang costs idle_timeout_s: a kernel that hangs
/// everywhere must not eat the caller's time limit). At kill_at the child is killed and no new one
/// starts. Lines without the tag go to stderr.
inline ItemRun run_items_in_children(const std::string& tag, size_t count,
                                     const std::function<std::vector<std::string>(size_t from)>& argv_from,
                                     double idle_timeout_s, std::chrono::steady_clock::time_point kill_at, int max_children,
                                     int max_hangs,
                                     const std::function<void(size_t, const std::string&, const std::string&)>& on_record,
                                     const std::function<void(size_t, const std::string&)>& on_fault) {
    ItemRun run;
    size_t from = 0;
    while (from < count) {
        long long current = -1;
        bool ready = false, ended = false, current_done = false;
        const ChildOutcome outcome = run_child_lines(argv_from(from), idle_timeout_s, kill_at, [&](const std::string& raw) {
            const ItemLine l = parse_item_line(tag, raw);
            if (!l.ok) {
                std::fprintf(stderr, "%s\n", raw.c_str());
                return;
            }
            if (l.verb == "ready") ready = true;
            else if (l.verb == "end") ended = true;
            else if (l.item < 0 || static_cast<size_t>(l.item) >= count)
                std::fprintf(stderr, "run_items_in_children: no item %lld (line '%s')\n", l.item, raw.c_str());
            else if (l.verb == "cut") run.cut = true, run.cut_at = static_cast<size_t>(l.item), current = -1;  // not a fault
            else if (l.verb == "begin") current = l.item, current_done = false;
            else {
                if (l.item == current) current_done = true;
                on_record(static_cast<size_t>(l.item), l.verb, l.text);
            }
        });
        ++run.children;
        if (!ready && run.children == 1) {
            run.could_not_start = true, run.start_failure = outcome.describe();
            return run;
        }
        const bool inside = current >= 0 && !current_done;
        if (inside) ++run.faults, on_fault(static_cast<size_t>(current), outcome.describe());
        run.hangs += outcome.killed_idle;
        if (run.cut) return run.resume_at = run.cut_at, run;
        if (ended) return run;  // every item it was given is done (a failure at its exit loses nothing)
        const size_t next = current >= 0 ? static_cast<size_t>(current) + 1 : from;
        if (outcome.killed_deadline) return run.killed_at_deadline = true, run.resume_at = next, run;
        if (!inside && next == from) {  // it ended between items, having run none: starting it again would not help
            run.gave_up = true, run.resume_at = from;
            return run;
        }
        from = next;
        if ((run.children >= max_children || run.hangs >= max_hangs) && from < count) {
            run.gave_up = true, run.resume_at = from;
            return run;
        }
    }
    return run;
}

}  // namespace seam::bench
