// The engine: runs this rank's machine through the timed tick loop, exchanging clock messages,
// then the end-of-run protocol (complete sends, exchange counts, drain, settle the stop).
#pragma once

#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "core/config.hpp"
#include "core/event_progress.hpp"
#include "core/machine_result.hpp"

namespace clockbench {

struct EnginePlan {
  std::vector<double> rates;   // every machine's, so each rank can bound its queue; kFlatOutRate: flat out
  std::int64_t max_ticks = 0;  // the tick budget of a flat-out machine
  double duration_s = 0.0;
  double speedup = 1.0;
  double p_internal = 0.0;
  std::uint64_t seed = 0;
  Topology topology;  // full
  PhaseMode phase = PhaseMode::random;
  Latency latency;
  double grace_s = 0.0;   // wall seconds a tick may wait for its senders (docs/model.md)
  bool realtime = false;  // paced: the timed window at real-time priority (mpi/realtime.hpp)
  ClockEstimate clock_estimate = ClockEstimate::automatic;
};

// What rank 0's progress printer reads while the loop runs (relaxed atomics, no MPI).
struct LiveStatus {
  std::atomic<double> wall_t0{0.0};  // monotonic time of model time 0; 0 until set
  std::atomic<std::int64_t> ticks{0};
  std::atomic<std::int32_t> queue{0};
  std::atomic<bool> stopping{false};
};

// Collective over `comm`. `status` may be null (ranks other than 0); `progress`, when not null,
// is told where the event log lives and how many events it holds (for the journal's flusher).
MachineResult run_engine(const EnginePlan& plan, MPI_Comm comm, LiveStatus* status, EventProgress* progress = nullptr);

}  // namespace clockbench
