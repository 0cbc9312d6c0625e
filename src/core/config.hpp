// The experiment's configuration, its defaults (the only place they live) and its validation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/latency.hpp"
#include "core/topology.hpp"

namespace clockbench {

// Where each machine's ticks start (docs/model.md): its own phase in [0, 1/r), or all at 0.
enum class PhaseMode { random, zero };

// How the ranks write their rows into the file: independently (each rank its own contiguous rows,
// straight to the file) or collectively (MPI-IO gathers them on aggregator ranks first).
enum class IoMode { independent, collective };

// Which ranks estimate their clock's offset to rank 0's (docs/model.md, "God's-eye time").
// automatic: the lowest rank of each host (processor name) other than rank 0's. force: every rank
// but 0, as if each were on a host of its own (for tests on one host). off: none, every offset
// taken as 0 (shows what `verify` says of ranks on different clocks put on one timeline without it).
enum class ClockEstimate { automatic, force, off };

// The words of each choice option, as the command line, the config text and the file spell them,
// in the order the help lists them.
template <class E>
struct Choice {
  const char* name;
  E value;
};
inline constexpr Choice<PhaseMode> kPhaseModes[] = {{"random", PhaseMode::random}, {"zero", PhaseMode::zero}};
inline constexpr Choice<IoMode> kIoModes[] = {{"independent", IoMode::independent}, {"collective", IoMode::collective}};
inline constexpr Choice<ClockEstimate> kClockEstimates[] = {
    {"auto", ClockEstimate::automatic}, {"force", ClockEstimate::force}, {"off", ClockEstimate::off}};

// The word for `value` among `choices`.
template <class E, std::size_t N>
constexpr const char* choice_name(const Choice<E> (&choices)[N], E value) {
  for (const Choice<E>& c : choices)
    if (c.value == value) return c.name;
  return "?";
}

inline const char* phase_mode_name(PhaseMode m) { return choice_name(kPhaseModes, m); }

struct Config {
  double duration_s = 60.0;   // model seconds
  std::vector<double> rates;  // ticks per model second, one per machine; empty: draw them (or flat out)
  // --rates max: every machine ticks back to back, no sleeping. Its ticks are then bounded by
  // max_ticks, not by rate x duration; the run ends at duration_s or near the cap, whichever first.
  bool flat_out = false;
  std::int64_t max_ticks = 5'000'000;  // flat out only: ticks per machine reserved ahead
  double rate_min = 1.0;               // range the rates are drawn from
  double rate_max = 6.0;
  bool fractional_rates = false;  // draw real rates in [min, max] instead of integers
  double p_internal = 0.7;
  std::optional<std::uint64_t> seed;  // empty: a random seed, printed and recorded
  Topology topology;                  // full
  double speedup = 1.0;               // wall time runs this many times faster than model time
  std::string output;                 // empty: a new name in the current folder
  bool force = false;                 // overwrite an existing output
  bool no_output = false;             // run and report, but write no file (measures what recording costs)
  bool quiet = false;
  bool timings = false;  // --timings: where each phase's wall time went (core/phase_times.hpp)
  // Wall seconds between background flushes of the recorded events to the run's journal (crash
  // recovery: clockbench-analyze recover); 0 turns the journal off.
  double flush_interval_s = 2.0;
  IoMode hdf5_io = IoMode::independent;
  PhaseMode phase = PhaseMode::random;
  Latency latency;  // model seconds; 0 by default
  // Wall seconds a tick may wait after its deadline for the machines that send to it to catch up
  // (docs/model.md, "The real-time loop"); also how late after end_s a last tick may still run.
  double grace_s = 0.01;
  bool strict_timing = false;  // a degraded run exits 1
  // Paced runs: each rank's timed window at real-time priority (mpi/realtime.hpp, docs/measurements.md).
  bool realtime = false;
  ClockEstimate clock_estimate = ClockEstimate::automatic;
};

// Ticks one machine may make, at most: kept below this so that reserving memory stays sane.
inline constexpr std::int64_t kMaxTicksPerMachine = 400'000'000;

// Empty if `c` is a valid experiment for `n_machines`; otherwise one line naming the problem.
// File-system checks (output path) are not here: they belong to the program.
std::string validate(const Config& c, int n_machines);

}  // namespace clockbench
