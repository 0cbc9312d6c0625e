// After a step that can fail on some ranks only (the file write), every rank learns whether any
// rank failed and which failed first, and a failing rank never waits forever for the others.
#pragma once

#include <mpi.h>

#include <string>

namespace clockbench {

struct FailureVote {
  bool any_failed = false;
  int first_rank = -1;     // lowest failing rank, -1 if none
  bool timed_out = false;  // this rank failed and the others did not join within the bound
};

// Collective over `comm`, which should be a communicator of its own (MPI_Comm_dup), so that the
// vote never matches a collective call another rank is still stuck in. A rank that did not fail
// waits without bound (the others are still writing); a failing rank waits at most `timeout_s`,
// then the caller must abort.
FailureVote vote_on_failure(bool failed, MPI_Comm comm, double timeout_s);

// Collective, for a step every rank finishes (no timeout): the error of the lowest rank that has
// one ("" for none), the same on every rank; `from`, if given, is set to that rank (-1 for none).
std::string first_rank_error(const std::string& mine, MPI_Comm comm, int* from = nullptr);

}  // namespace clockbench
