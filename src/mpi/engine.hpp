// The engine: runs this rank's machine through the timed tick loop, exchanging clock messages,
// then the end-of-run protocol (complete sends, exchange counts, drain, settle the stop).
#pragma once

#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/event.hpp"
#include "core/event_progress.hpp"
#include "core/machine_summary.hpp"
#include "mpi/clock_sync.hpp"

namespace clockbench {

struct EnginePlan {
  std::vector<double> rates;   // every machine's, so each rank can bound its queue; kFlatOutRate: flat out
  std::int64_t max_ticks = 0;  // the tick budget of a flat-out machine
  double duration_s = 0.0;
  double speedup = 1.0;
  double p_internal = 0.0;
  std::uint64_t seed = 0;
  Topology topology = Topology::full;
  PhaseMode phase = PhaseMode::random;
  Latency latency;
  double grace_s = 0.0;  // wall seconds a tick may wait for its senders (docs/model.md)
  bool force_clock_estimate = false;
};

// What rank 0's progress printer reads while the loop runs (relaxed atomics, no MPI).
struct LiveStatus {
  std::atomic<double> wall_t0{0.0};  // monotonic time of model time 0; 0 until set
  std::atomic<std::int64_t> ticks{0};
  std::atomic<std::int32_t> queue{0};
  std::atomic<bool> stopping{false};
};

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
  bool degraded() const { return timing != "ok"; }
};

// Collective over `comm`. `status` may be null (ranks other than 0); `progress`, when not null,
// is told where the event log lives and how many events it holds (for the journal's flusher).
MachineResult run_engine(const EnginePlan& plan, MPI_Comm comm, LiveStatus* status, EventProgress* progress = nullptr);

}  // namespace clockbench
