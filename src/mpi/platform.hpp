// The platform services: what differs between a real machine and SimGrid's SMPI, where every rank is
// an actor of one simulator process and time is simulated (docs/simulation.md). Chosen here, at
// compile time (CLOCKBENCH_SMPI, cmake/smpi.cmake), and nowhere else: the model, the engine and
// the options are the same sources in both builds.
#pragma once

#include <string>

namespace clockbench::platform {

#ifdef CLOCKBENCH_SMPI
inline constexpr bool kSimulated = true;
#else
inline constexpr bool kSimulated = false;
#endif

// Threads of the program's own (the crash journal's flusher, the live progress line): a simulated
// rank is an actor that SimGrid schedules, and a thread beside it would run outside simulated time.
inline constexpr bool kOwnThreads = !kSimulated;
// SIGINT/SIGTERM as a request to stop cleanly: the simulator process owns its signals.
inline constexpr bool kStopSignals = !kSimulated;
// Every rank reads one clock, the simulated one: no offsets to estimate (docs/model.md, "God's-eye time").
inline constexpr bool kOneClock = kSimulated;
// The whole file written by rank 0 with serial HDF5, from every rank's rows (SMPI cannot host the
// Open MPI under Debian's parallel HDF5); else collectively with parallel HDF5.
inline constexpr bool kRootWritesFile = kSimulated;

// A rank blocked in an MPI call takes no core from the others: SMPI's waits are the simulator's, so
// the idle forms (a nonblocking collective polled between sleeps) are not needed, and SimGrid 3.32
// pays N squared for its nonblocking collectives (docs/simulation.md, "Scale").
inline constexpr bool kBlockedWaitsIdle = kSimulated;

// What a simulated run ran on, for the file's root attributes (docs/schema.md); empty on a real run.
struct Simulation {
  std::string platform;    // its name: cluster, fat-tree, two-sites or the file's
  std::string parameters;  // as scripts/simulate describes them (hosts, latency, bandwidth, ...)
  std::string simgrid_version;
};
// From SimGrid and the environment scripts/simulate sets (CLOCKBENCH_SIM_PLATFORM,
// CLOCKBENCH_SIM_PARAMETERS): smpirun run by hand leaves the platform "unnamed".
Simulation simulation();

}  // namespace clockbench::platform
