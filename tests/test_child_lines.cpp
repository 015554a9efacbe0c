// bench/child_lines.hpp: a child's lines, its exit status or signal, and the idle and deadline kills,
// with /bin/sh children whose behaviour is written out in each case.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "../bench/child_lines.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using seam::bench::ChildOutcome;
using seam::bench::run_child_lines;

struct Ran {
    ChildOutcome outcome;
    std::vector<std::string> lines;
    double seconds;
};

Ran run_sh(const std::string& script, double idle_s = 10, double deadline_s = 30) {
    Ran r;
    const auto t0 = Clock::now();
    r.outcome = run_child_lines({"/bin/sh", "-c", script}, idle_s,
                                t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(deadline_s)),
                                [&](const std::string& line) { r.lines.push_back(line); });
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
}

}  // namespace

TEST_CASE("run_child_lines: every line in order, the last one without a newline too, and the exit status") {
    const Ran r = run_sh("printf 'one\\ntwo\\n\\nthree'; exit 3");
    CHECK(r.outcome.started);
    CHECK(r.outcome.exited);
    CHECK(r.outcome.exit_code == 3);
    CHECK_FALSE(r.outcome.clean());
    CHECK(r.lines == std::vector<std::string>{"one", "two", "", "three"});
    CHECK(r.outcome.describe() == "exit status 3");

    const Ran ok = run_sh("echo done");
    CHECK(ok.outcome.clean());
    CHECK(ok.lines == std::vector<std::string>{"done"});
}

TEST_CASE("run_child_lines: long output arrives whole across pipe reads") {
    // 20000 lines of 12 bytes: far more than one 4 KiB read and than the pipe's buffer.
    const Ran r = run_sh("i=0; while [ $i -lt 20000 ]; do printf 'line %06d\\n' $i; i=$((i+1)); done");
    REQUIRE(r.outcome.clean());
    REQUIRE(r.lines.size() == 20000);
    CHECK(r.lines.front() == "line 000000");
    CHECK(r.lines[12345] == "line 012345");
    CHECK(r.lines.back() == "line 019999");
}

TEST_CASE("run_child_lines: a child killed by a signal is reported with it, its lines before kept") {
    const Ran r = run_sh("echo begin 7; kill -TERM $$; echo never");  // TERM: no core file
    CHECK(r.outcome.started);
    CHECK_FALSE(r.outcome.exited);
    CHECK(r.outcome.signal == SIGTERM);
    CHECK(r.lines == std::vector<std::string>{"begin 7"});
    CHECK(r.outcome.describe().find("signal 15") != std::string::npos);
}

TEST_CASE("run_child_lines: a silent child is killed at the idle limit, a chatty one at the deadline") {
    const Ran hung = run_sh("echo begin 2; exec sleep 30", 1.0, 30);
    CHECK(hung.outcome.killed_idle);
    CHECK_FALSE(hung.outcome.killed_deadline);
    CHECK(hung.outcome.signal == SIGKILL);
    CHECK(hung.lines == std::vector<std::string>{"begin 2"});
    CHECK(hung.seconds < 10);

    // A line every 0.1 s never trips the 3 s idle limit; the 1.5 s deadline ends it.
    const Ran chatty = run_sh("while :; do echo tick; sleep 0.1; done", 3, 1.5);
    CHECK(chatty.outcome.killed_deadline);
    CHECK_FALSE(chatty.outcome.killed_idle);
    CHECK(chatty.lines.size() >= 1);
    CHECK(chatty.seconds < 10);
}

TEST_CASE("run_child_lines: a child that closes its output and goes on running is still bounded") {
    const Ran r = run_sh("echo closing; exec 1>&-; exec sleep 30", 1.0, 30);
    CHECK(r.outcome.killed_idle);
    CHECK(r.lines == std::vector<std::string>{"closing"});
    CHECK(r.seconds < 10);
}

TEST_CASE("run_child_lines: a program that does not exist exits 127 (the exec failed), an empty argv is refused") {
    const ChildOutcome missing =
        run_child_lines({"/nonexistent/seam-no-such-program"}, 5, Clock::now() + std::chrono::seconds(10), [](const std::string&) {});
    CHECK(missing.started);
    CHECK(missing.exited);
    CHECK(missing.exit_code == 127);

    const ChildOutcome none = run_child_lines({}, 5, Clock::now() + std::chrono::seconds(10), [](const std::string&) {});
    CHECK_FALSE(none.started);
    CHECK(none.describe() == "could not start: no program given");
}

// ----- run_items_in_children ------------------------------------------------------------------------

namespace {

using seam::bench::ItemLine;
using seam::bench::ItemRun;
using seam::bench::parse_item_line;
using seam::bench::run_items_in_children;

/// A shell child for the item protocol: runs items FROM .. COUNT-1, printing "@t rec K ok" for each,
/// except where `body` (shell code seeing $k) does something else first.
struct Items {
    std::vector<std::string> records;  // "K verb text"
    std::vector<std::string> faults;   // "K why"
    std::vector<size_t> froms;         // each child's first item
    ItemRun run;
};

Items run_items(size_t count, const std::string& body, double idle_s = 10, double kill_s = 60, int max_children = 8,
                const std::string& before = "echo '@t ready'", int max_hangs = 2) {
    Items it;
    const std::string script = before + "; k=$1; while [ $k -lt " + std::to_string(count) + " ]; do echo \"@t begin $k\"; " +
                               body + "; echo \"@t rec $k ok\"; k=$((k+1)); done; echo '@t end'";
    it.run = run_items_in_children(
        "t", count,
        [&](size_t from) {
            it.froms.push_back(from);
            return std::vector<std::string>{"/bin/sh", "-c", script, "child", std::to_string(from)};
        },
        idle_s, Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kill_s)), max_children,
        max_hangs,
        [&](size_t k, const std::string& verb, const std::string& text) { it.records.push_back(std::to_string(k) + " " + verb + " " + text); },
        [&](size_t k, const std::string& why) { it.faults.push_back(std::to_string(k) + " " + why); });
    return it;
}

}  // namespace

TEST_CASE("parse_item_line: verb, item and text - and other lines are not the protocol's") {
    const ItemLine a = parse_item_line("v5", "@v5 time 12 0.25 0.5");
    CHECK(a.ok);
    CHECK(a.verb == "time");
    CHECK(a.item == 12);
    CHECK(a.text == "0.25 0.5");
    const ItemLine b = parse_item_line("v5", "@v5 ready");
    CHECK(b.ok);
    CHECK(b.verb == "ready");
    CHECK(b.item == -1);
    CHECK(b.text.empty());
    const ItemLine c = parse_item_line("v5", "@v5 lab 3 1.5\tfields with spaces");
    CHECK(c.item == 3);
    CHECK(c.text == "1.5\tfields with spaces");
    const ItemLine d = parse_item_line("v5", "@v5 begin 7");
    CHECK(d.item == 7);
    CHECK(d.text.empty());
    CHECK_FALSE(parse_item_line("v5", "@v55 begin 1").ok);
    CHECK_FALSE(parse_item_line("v5", "v5 begin 1").ok);
    CHECK_FALSE(parse_item_line("v5", "@v5 ").ok);
    CHECK(parse_item_line("v5", "@v5 note 12x").item == -1);  // not a number: the text
    CHECK(parse_item_line("v5", "@v5 note 12x").text == "12x");
}

TEST_CASE("run_items_in_children: one clean child runs every item") {
    const Items it = run_items(4, ":");
    CHECK(it.run.children == 1);
    CHECK(it.run.faults == 0);
    CHECK_FALSE(it.run.gave_up);
    CHECK(it.records == std::vector<std::string>{"0 rec ok", "1 rec ok", "2 rec ok", "3 rec ok"});
    CHECK(it.faults.empty());
}

TEST_CASE("run_items_in_children: a child that crashes inside an item has that item faulted and a new child goes on after it") {
    // Items 2 and 4 crash (a signal, then exit 1 as a failed CUDA call does); the rest are recorded.
    const Items it = run_items(6, "if [ $k = 2 ]; then kill -TERM $$; fi; if [ $k = 4 ]; then exit 1; fi");
    CHECK(it.run.children == 3);
    CHECK(it.run.faults == 2);
    CHECK(it.froms == std::vector<size_t>{0, 3, 5});
    CHECK(it.records == std::vector<std::string>{"0 rec ok", "1 rec ok", "3 rec ok", "5 rec ok"});
    REQUIRE(it.faults.size() == 2);
    CHECK(it.faults[0].rfind("2 ended by signal 15", 0) == 0);
    CHECK(it.faults[1] == "4 exit status 1");
}

TEST_CASE("run_items_in_children: a hung item is killed at the idle limit and the next child skips it") {
    const Items it = run_items(3, "if [ $k = 1 ]; then exec sleep 30; fi", 1.0);
    CHECK(it.run.faults == 1);
    CHECK(it.records == std::vector<std::string>{"0 rec ok", "2 rec ok"});
    REQUIRE(it.faults.size() == 1);
    CHECK(it.faults[0].find("no output within the idle limit") != std::string::npos);
}

TEST_CASE("run_items_in_children: a child that cannot start runs nothing and says why") {
    const Items it = run_items(3, ":", 10, 60, 8, "echo 'no GPU' >&2; exit 3");
    CHECK(it.run.could_not_start);
    CHECK(it.run.children == 1);
    CHECK(it.run.start_failure == "exit status 3");
    CHECK(it.records.empty());
}

TEST_CASE("run_items_in_children: a cut stops the run where the child stopped") {
    const Items it = run_items(5, "if [ $k = 2 ]; then echo '@t cut 2'; echo '@t end'; exit 0; fi");
    CHECK(it.run.cut);
    CHECK(it.run.resume_at == 2);
    CHECK(it.run.children == 1);
    CHECK(it.records == std::vector<std::string>{"0 rec ok", "1 rec ok"});
    CHECK(it.faults.empty());
}

TEST_CASE("run_items_in_children: at most max_children run - and a child that dies between items is not restarted in a loop") {
    // Every item crashes: 2 children, 2 faults, then it gives up with items left.
    const Items crashing = run_items(5, "kill -KILL $$", 10, 60, 2);
    CHECK(crashing.run.children == 2);
    CHECK(crashing.run.faults == 2);
    CHECK(crashing.run.gave_up);
    CHECK(crashing.run.resume_at == 2);
    // Ready, then dead before its first item: starting again at the same item would repeat forever.
    const Items dying = run_items(3, ":", 10, 60, 8, "echo '@t ready'; if [ $1 = 0 ]; then exit 1; fi");
    CHECK(dying.run.children == 1);
    CHECK(dying.run.gave_up);
    CHECK(dying.run.resume_at == 0);
    CHECK(dying.records.empty());
}

TEST_CASE("run_items_in_children: the deadline kills the child and starts no other") {
    const Items it = run_items(4, "if [ $k = 1 ]; then while :; do echo tick; sleep 0.1; done; fi", 10, 1.5);
    CHECK(it.run.killed_at_deadline);
    CHECK(it.run.children == 1);
    CHECK(it.run.faults == 1);  // the item it was inside
    CHECK(it.run.resume_at == 2);
    CHECK(it.records == std::vector<std::string>{"0 rec ok"});
}

TEST_CASE("run_items_in_children: after max_hangs silent children no other starts") {
    // Every item hangs: two idle kills (1 s each), then it gives up with items 2.. left.
    const Items it = run_items(6, "exec sleep 30", 1.0, 60, 8, "echo '@t ready'", 2);
    CHECK(it.run.hangs == 2);
    CHECK(it.run.faults == 2);
    CHECK(it.run.children == 2);
    CHECK(it.run.gave_up);
    CHECK(it.run.resume_at == 2);
    CHECK(it.records.empty());
}
