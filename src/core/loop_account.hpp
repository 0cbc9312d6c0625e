// Where a rank's tick loop spent its processor time (docs/measurements.md, "Where a tick's time
// goes"): the CPU the loop's thread used during the timed window, split into user and kernel time,
// the sleeps and wake-ups, the network polls and board checks it made, and the ticks and messages
// they served. `clockbench --timings` prints the sums over the ranks in a CLOCKBENCH_LOOP line.
#pragma once

#include <array>
#include <cstddef>

namespace clockbench {

struct LoopAccount {
  enum Field : std::size_t {
    ticks,                 // ticks run
    messages,              // messages sent
    cpu_user_s,            // CPU seconds of the loop's thread in user space (clockbench and MPI)
    cpu_sys_s,             // ... in the kernel (sleeps, wake-ups, MPI's yields)
    sleeps,                // sleeps until a deadline or a slice's end (each a wake-up)
    polls,                 // passes over the network for arrivals
    board_checks,          // looks at the progress board before a decision
    voluntary_switches,    // the thread gave up the processor (a sleep, a blocking call)
    involuntary_switches,  // the thread was preempted while it could run
    journal_cpu_s,         // CPU seconds of the crash journal's thread over the whole run
    realtime_ranks,        // 1 if the loop ran at real-time priority (--realtime), else 0
    count
  };
  static constexpr std::array<const char*, count> kNames = {
      "ticks",        "messages",           "cpu_user_s",           "cpu_sys_s",     "sleeps",        "polls",
      "board_checks", "voluntary_switches", "involuntary_switches", "journal_cpu_s", "realtime_ranks"};

  std::array<double, count> v{};  // doubles: summed over the ranks by one MPI_Reduce
  double& operator[](Field f) { return v[f]; }
  double operator[](Field f) const { return v[f]; }
};

}  // namespace clockbench
