// The failure vote: a nonblocking MIN-reduction of the failing ranks, polled with a deadline (a
// blocking one when rank 0 writes the file alone).
#include "mpi/failure_vote.hpp"

#include <climits>

#include "mpi/monotonic.hpp"
#include "mpi/mpi_env.hpp"
#include "mpi/platform.hpp"

namespace clockbench {

FailureVote vote_on_failure(bool failed, MPI_Comm comm, double timeout_s) {
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  int mine = failed ? rank : INT_MAX;
  int first = INT_MAX;
  FailureVote vote;
  if constexpr (platform::kRootWritesFile) {
    // A write from rank 0 shares each failure with every rank before its next step (file_access.cpp):
    // no rank can be stuck in another call, so the vote may block.
    check_mpi(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce (failure vote)");
  } else {
    MPI_Request req = MPI_REQUEST_NULL;
    check_mpi(MPI_Iallreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm, &req), "MPI_Iallreduce (failure vote)");
    if (!failed) {
      check_mpi(MPI_Wait(&req, MPI_STATUS_IGNORE), "MPI_Wait (failure vote)");
    } else {
      const double deadline = monotonic_now() + timeout_s;
      int done = 0;
      while (!done) {
        check_mpi(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test (failure vote)");
        if (done) break;
        if (monotonic_now() > deadline) {
          vote.timed_out = true;  // the request stays pending: the caller aborts
          vote.any_failed = true;
          vote.first_rank = rank;
          return vote;
        }
        sleep_until(monotonic_now() + 1e-3);
      }
    }
  }
  vote.any_failed = first != INT_MAX;
  vote.first_rank = vote.any_failed ? first : -1;
  return vote;
}

std::string first_rank_error(const std::string& mine, MPI_Comm comm, int* from) {
  int rank = 0, n = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  const int candidate = mine.empty() ? n : rank;
  int first = n;
  check_mpi(MPI_Allreduce(&candidate, &first, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
  if (from) *from = first == n ? -1 : first;
  if (first == n) return {};
  return bcast_string(mine, first, comm);
}

}  // namespace clockbench
