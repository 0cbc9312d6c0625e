// Counts first (one MPI_Alltoall), then blocking receives for exactly the messages still missing.
#include "mpi/drain.hpp"

#include <string>

#include "mpi/mpi_env.hpp"

namespace clockbench {

void drain_in_flight(Transport& transport, const std::vector<std::int64_t>& sent_to,
                     std::vector<std::int64_t>& arrived_from, MPI_Comm comm,
                     const std::function<void(const Message&)>& on_message) {
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  transport.complete_sends();
  std::vector<std::int64_t> expected_from(arrived_from.size(), 0);
  check_mpi(MPI_Alltoall(sent_to.data(), 1, MPI_INT64_T, expected_from.data(), 1, MPI_INT64_T, comm),
            "MPI_Alltoall (send counts)");
  for (std::size_t j = 0; j < arrived_from.size(); ++j) {
    while (arrived_from[j] < expected_from[j]) {
      const Message m = transport.receive_blocking();
      ++arrived_from[static_cast<std::size_t>(m.source)];
      on_message(m);
    }
    if (arrived_from[j] > expected_from[j])
      throw MpiError("rank " + std::to_string(rank) + " received more messages from rank " + std::to_string(j) +
                     " than it sent");
  }
  transport.cancel_receives();
}

}  // namespace clockbench
