// Ping-pong offset estimation (Cristian's method), rank 0 serving each remote rank in turn.
#include "mpi/clock_sync.hpp"

#include <string>
#include <vector>

#include "mpi/monotonic.hpp"
#include "mpi/mpi_env.hpp"

namespace clockbench {

namespace {
constexpr int kPing = 41;
constexpr int kPong = 42;
}  // namespace

ClockOffset estimate_clock_offset(MPI_Comm comm, bool force_estimate, int rounds) {
  int rank = 0, size = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  const std::string host0 = bcast_string(MpiEnvironment::processor_name(), 0, comm);
  const int remote = (rank != 0 && (force_estimate || MpiEnvironment::processor_name() != host0)) ? 1 : 0;
  std::vector<int> is_remote(static_cast<std::size_t>(size), 0);
  check_mpi(MPI_Allgather(&remote, 1, MPI_INT, is_remote.data(), 1, MPI_INT, comm), "MPI_Allgather");

  ClockOffset result;
  if (rank == 0) {
    for (int r = 1; r < size; ++r) {
      if (!is_remote[static_cast<std::size_t>(r)]) continue;
      for (int i = 0; i < rounds; ++i) {
        double dummy = 0.0;
        check_mpi(MPI_Recv(&dummy, 1, MPI_DOUBLE, r, kPing, comm, MPI_STATUS_IGNORE), "MPI_Recv (ping)");
        const double now = monotonic_now();
        check_mpi(MPI_Send(&now, 1, MPI_DOUBLE, r, kPong, comm), "MPI_Send (pong)");
      }
    }
  } else if (remote) {
    double best_rtt = 1e300;
    for (int i = 0; i < rounds; ++i) {
      const double sent = monotonic_now();
      check_mpi(MPI_Send(&sent, 1, MPI_DOUBLE, 0, kPing, comm), "MPI_Send (ping)");
      double their = 0.0;
      check_mpi(MPI_Recv(&their, 1, MPI_DOUBLE, 0, kPong, comm, MPI_STATUS_IGNORE), "MPI_Recv (pong)");
      const double back = monotonic_now();
      if (back - sent < best_rtt) {
        best_rtt = back - sent;
        result.offset_s = 0.5 * (sent + back) - their;
        result.uncertainty_s = 0.5 * best_rtt;
      }
    }
  }
  return result;
}

}  // namespace clockbench
