// Counts first (one MPI_Alltoall, or point to point between peers), then blocking receives for
// exactly the messages still missing.
#include "mpi/drain.hpp"

#include <string>

#include "mpi/mpi_env.hpp"

namespace clockbench {

namespace {

// What each rank sent here, from its own count: from every rank at once, or from the peers alone
// (SMPI pays N squared for a wait on N requests, so a full topology keeps the all-to-all).
std::vector<std::int64_t> expected_counts(const std::vector<std::int32_t>* peers,
                                          const std::vector<std::int64_t>& sent_to, MPI_Comm comm) {
  constexpr int kCountTag = 62;
  std::vector<std::int64_t> expected_from(sent_to.size(), 0);
  if (!peers || peers->size() + 1 >= sent_to.size()) {
    check_mpi(MPI_Alltoall(sent_to.data(), 1, MPI_INT64_T, expected_from.data(), 1, MPI_INT64_T, comm),
              "MPI_Alltoall (send counts)");
    return expected_from;
  }
  std::vector<MPI_Request> sends(peers->size(), MPI_REQUEST_NULL);
  for (std::size_t i = 0; i < peers->size(); ++i) {
    const int p = (*peers)[i];
    check_mpi(MPI_Isend(&sent_to[static_cast<std::size_t>(p)], 1, MPI_INT64_T, p, kCountTag, comm, &sends[i]),
              "MPI_Isend (send count)");
  }
  for (const int p : *peers)
    check_mpi(
        MPI_Recv(&expected_from[static_cast<std::size_t>(p)], 1, MPI_INT64_T, p, kCountTag, comm, MPI_STATUS_IGNORE),
        "MPI_Recv (send count)");
  check_mpi(MPI_Waitall(static_cast<int>(sends.size()), sends.data(), MPI_STATUSES_IGNORE),
            "MPI_Waitall (send counts)");
  return expected_from;
}

void drain(Transport& transport, const std::vector<std::int32_t>* peers, const std::vector<std::int64_t>& sent_to,
           std::vector<std::int64_t>& arrived_from, MPI_Comm comm,
           const std::function<void(const Message&)>& on_message) {
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  transport.complete_sends();
  const std::vector<std::int64_t> expected_from = expected_counts(peers, sent_to, comm);
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

}  // namespace

void drain_in_flight(Transport& transport, const std::vector<std::int64_t>& sent_to,
                     std::vector<std::int64_t>& arrived_from, MPI_Comm comm,
                     const std::function<void(const Message&)>& on_message) {
  drain(transport, nullptr, sent_to, arrived_from, comm, on_message);
}

void drain_in_flight(Transport& transport, const std::vector<std::int32_t>& peers,
                     const std::vector<std::int64_t>& sent_to, std::vector<std::int64_t>& arrived_from, MPI_Comm comm,
                     const std::function<void(const Message&)>& on_message) {
  drain(transport, &peers, sent_to, arrived_from, comm, on_message);
}

}  // namespace clockbench
