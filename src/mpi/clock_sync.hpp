// One god's-eye timeline: each rank's monotonic clock offset to rank 0's. Ranks on rank 0's host
// share its clock (offset 0 exactly); others estimate it by ping-pong, keeping the fastest round.
#pragma once

#include <mpi.h>

namespace clockbench {

struct ClockOffset {
  double offset_s = 0.0;       // this rank's clock minus rank 0's
  double uncertainty_s = 0.0;  // half the best round trip
};

// Collective. `force_estimate` measures even on rank 0's host (used by the tests).
ClockOffset estimate_clock_offset(MPI_Comm comm, bool force_estimate, int rounds = 32);

}  // namespace clockbench
