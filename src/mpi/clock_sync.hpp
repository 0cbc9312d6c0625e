// One god's-eye timeline: each rank's monotonic clock offset to rank 0's, estimated before the tick
// loop and again after it (docs/model.md, "God's-eye time"). Ranks on rank 0's host share its
// clock (offset 0 exactly); on every other host one rank estimates it by ping-pong, keeping the
// fastest round, and the host's other ranks, reading the same clock, take its estimate.
#pragma once

#include <mpi.h>

#include <vector>

#include "core/clock_line.hpp"
#include "core/config.hpp"

namespace clockbench {

class ClockSync {
 public:
  // Collective: agrees who measures and who shares whose estimate (`mode`, --clock-estimate, the
  // same on every rank).
  ClockSync(MPI_Comm comm, ClockEstimate mode, int rounds = 32);
  // Collective: rank 0 serves each measuring rank in turn, `rounds` ping-pongs each, and each
  // passes its estimate on to the ranks of its host; the others wait without spinning
  // (oversubscribed, spinning ranks would take the cores the measuring pair needs).
  OffsetEstimate estimate() const;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int rounds_;
  bool measures_ = false;
  int shares_from_ = -1;        // the rank of this host that measures for it; -1: none
  std::vector<int> measuring_;  // rank 0: the ranks it serves, in order
  std::vector<int> sharing_;    // a measuring rank: the other ranks of its host
};

}  // namespace clockbench
