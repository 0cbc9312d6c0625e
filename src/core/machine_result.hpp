// What one rank's run of the engine leaves: its machine's events and message counts, its summary,
// and the run-wide outcome. The engine (src/mpi) makes it; the writer (src/io) and the program
// (src/app) read it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "core/loop_account.hpp"
#include "core/machine_summary.hpp"
#include "core/phase_times.hpp"

namespace clockbench {

struct MachineResult {
  EventLog events;
  std::vector<std::int32_t> peers;
  std::vector<std::int64_t> sent_to;        // [j]: messages this rank sent to j
  std::vector<std::int64_t> received_from;  // [j]: messages from j taken by a tick
  std::vector<std::int64_t> left_from;      // [j]: messages from j still queued at the end
  MachineSummary summary;
  // Run-wide, identical on every rank:
  bool completed = true;
  std::string stop_reason;
  int stop_signal = 0;  // the signal that stopped the run early, 0 if it completed
  double end_s = 0.0;   // model time every rank stopped ticking at
  double wall_s = 0.0;  // wall time of the tick loop, rank 0's
  // Whether the real-time loop kept up with the model: "ok", or "degraded: ..." with the counts,
  // the worst machine and when (docs/model.md, "The real-time loop").
  std::string timing;
  std::int64_t late_deliveries = 0;  // totals over all machines
  std::int64_t missed_ticks = 0;
  // --realtime: 1 if every rank's timed window ran at real-time priority (mpi/realtime.hpp), else 0.
  int realtime = 0;
  PhaseTimes phases;    // this rank's engine phases, reserve .. settle (core/phase_times.hpp)
  LoopAccount account;  // this rank's tick loop: its CPU, sleeps and polls (core/loop_account.hpp)
  bool degraded() const { return timing != "ok"; }
};

}  // namespace clockbench
