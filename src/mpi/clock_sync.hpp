// One god's-eye timeline: each rank's monotonic clock offset to rank 0's, estimated before the tick
// loop and again after it (docs/model.md, "God's-eye time"). Ranks on rank 0's host share its
// clock (offset 0 exactly); others estimate it by ping-pong, keeping the fastest round.
#pragma once

#include <mpi.h>

#include <vector>

#include "core/clock_line.hpp"

namespace clockbench {

// automatic: ping-pong with the ranks whose processor name differs from rank 0's. forced: with
// every rank but 0 (CLOCKBENCH_FORCE_CLOCK_ESTIMATE, for the tests). off: with none, so that every
// offset is taken as 0 (CLOCKBENCH_CLOCK_ESTIMATE=off, a test hook: it shows what `verify` says of
// ranks on different clocks put on one timeline without it).
enum class ClockEstimateMode { automatic, forced, off };

// The mode from `force` (the plan's CLOCKBENCH_FORCE_CLOCK_ESTIMATE) and CLOCKBENCH_CLOCK_ESTIMATE
// (off, force or auto; unset is auto), which wins. Each rank reads its own environment; who
// measures is agreed when ClockSync is made, so differing environments cannot deadlock it.
ClockEstimateMode clock_estimate_mode(bool force);

class ClockSync {
 public:
  // Collective: agrees which ranks measure (those this rank's mode and host say).
  ClockSync(MPI_Comm comm, ClockEstimateMode mode, int rounds = 32);
  // Collective: rank 0 serves each measuring rank in turn, `rounds` ping-pongs each; the others
  // wait without spinning (oversubscribed, spinning ranks would take the cores the pair needs).
  OffsetEstimate estimate() const;
  bool measures() const { return measures_; }

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int rounds_;
  bool measures_ = false;
  std::vector<int> measuring_;  // the ranks rank 0 serves, in order
};

}  // namespace clockbench
