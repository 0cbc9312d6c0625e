// Where one rank's wall time went, phase by phase (docs/measurements.md, "Phases of a run"):
// start-up, the tick loop and tear-down. `clockbench --timings` prints each phase's largest value
// over the ranks in a CLOCKBENCH_TIMINGS line; bench/run sets it beside a bare MPI program's.
#pragma once

#include <array>
#include <cstddef>

namespace clockbench {

struct PhaseTimes {
  // The phases in run order; each is wall seconds on this rank's monotonic clock.
  enum Phase : std::size_t {
    mpi_init,        // MPI_Init (the launcher's own start-up is before it, outside the program)
    setup,           // options, configuration and output checks, agreed by every rank
    reserve,         // the event log, queue, transport and other buffers the loop needs
    clock_estimate,  // the start estimate of this rank's clock offset to rank 0
    warm_up,         // a first message each way with every peer
    start_wait,      // from the warm-up until model time 0 (rank 0's broadcast start and lead)
    ticking,         // model time 0 to the end of the run, the timed window
    drain,           // completing sends and taking every message still in flight
    end_estimate,    // the clock offsets again, after the loop
    settle,          // the timing verdict, counts and the machine's summary, gathered
    journal,         // the crash journal's last flush and close
    write,           // the HDF5 file, from the first collective call to its rename
    report,          // the per-machine table, the result line, --json
    finalize,        // MPI_Finalize (rank 0's: nothing can be gathered after it)
    count
  };
  static constexpr std::array<const char*, count> kNames = {
      "mpi_init_s", "setup_s",        "reserve_s", "clock_estimate_s", "warm_up_s", "start_wait_s", "ticking_s",
      "drain_s",    "end_estimate_s", "settle_s",  "journal_s",        "write_s",   "report_s",     "finalize_s"};

  std::array<double, count> s{};  // 0 for a phase that did not happen (no file, no journal)
  double& operator[](Phase p) { return s[p]; }
  double operator[](Phase p) const { return s[p]; }
};

// Marks the boundaries between phases: each mark() ends the given phase at "now".
class PhaseClock {
 public:
  PhaseClock(PhaseTimes& times, double now) : times_(times), last_(now) {}
  void mark(PhaseTimes::Phase p, double now) {
    times_[p] += now - last_;
    last_ = now;
  }
  // Starts the next phase at `now` without ending one (the time between was counted elsewhere).
  void restart(double now) { last_ = now; }

 private:
  PhaseTimes& times_;
  double last_;
};

}  // namespace clockbench
