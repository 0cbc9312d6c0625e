// Recursive doubling: after the round of distance d, each rank holds the sum of the up to 2d
// values ending at its own; it sends that to the rank d above and adds what the rank d below sent.
#include "mpi/prefix_sum.hpp"

#include "mpi/mpi_env.hpp"

namespace clockbench {

std::int64_t sum_below(std::int64_t value, MPI_Comm comm) {
  constexpr int kTag = 61;
  int rank = 0, n = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  std::int64_t through_me = value;  // the sum over the ranks this one has heard of, and its own
  for (int d = 1; d < n; d *= 2) {
    const int up = rank + d < n ? rank + d : MPI_PROC_NULL;
    const int down = rank - d >= 0 ? rank - d : MPI_PROC_NULL;
    std::int64_t below = 0;  // stays 0 from MPI_PROC_NULL
    check_mpi(MPI_Sendrecv(&through_me, 1, MPI_INT64_T, up, kTag, &below, 1, MPI_INT64_T, down, kTag, comm,
                           MPI_STATUS_IGNORE),
              "MPI_Sendrecv (prefix sum)");
    through_me += below;
  }
  return through_me - value;
}

}  // namespace clockbench
