// Ping-pong offset estimation (Cristian's method), rank 0 serving each measuring rank in turn.
#include "mpi/clock_sync.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "mpi/monotonic.hpp"
#include "mpi/mpi_env.hpp"
#include "mpi/platform.hpp"

namespace clockbench {

namespace {

constexpr int kGo = 40;
constexpr int kPing = 41;
constexpr int kPong = 42;
constexpr int kShare = 43;
// A rank waiting for its turn (or for the others to finish) looks this often (wall): often enough
// to start soon, seldom enough that the many waiting ranks leave the cores to the pair measuring
// (docs/measurements.md, "Clock offset estimates").
constexpr double kIdleSliceWall = 1e-3;

// Waits for `request` while sleeping between looks, so that only the pair measuring runs.
void wait_idly(MPI_Request& request) {
  for (;;) {
    int done = 0;
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    sleep_until(monotonic_now() + kIdleSliceWall);
  }
}

// A barrier in log2 N rounds, each rank sending one empty message a round (dissemination): SMPI's
// MPI_Barrier has rank 0 wait on N - 1 requests at once, which SimGrid 3.32 pays for in N squared
// scans; at 4,096 ranks it held a run for over 15 minutes (docs/simulation.md, "Scale").
void barrier_by_rounds(MPI_Comm comm) {
  constexpr int kRound = 44;
  int rank = 0, n = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  for (int d = 1; d < n; d *= 2)
    check_mpi(MPI_Sendrecv(nullptr, 0, MPI_BYTE, (rank + d) % n, kRound, nullptr, 0, MPI_BYTE, (rank - d % n + n) % n,
                           kRound, comm, MPI_STATUS_IGNORE),
              "MPI_Sendrecv (barrier)");
}

void barrier_idly(MPI_Comm comm) {
  if constexpr (platform::kBlockedWaitsIdle) {
    barrier_by_rounds(comm);
    return;
  }
  MPI_Request request = MPI_REQUEST_NULL;
  check_mpi(MPI_Ibarrier(comm, &request), "MPI_Ibarrier");
  wait_idly(request);
}

}  // namespace

ClockSync::ClockSync(MPI_Comm comm, ClockEstimate mode, int rounds) : comm_(comm), rounds_(rounds) {
  int size = 1;
  check_mpi(MPI_Comm_rank(comm, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  // Nobody measures: every rank takes rank 0's clock as its own (in a simulation it is).
  if (mode == ClockEstimate::off || platform::kOneClock) return;
  // Every rank's host, as the index of the lowest rank on it.
  std::vector<char> mine(MPI_MAX_PROCESSOR_NAME + 1, '\0');
  const std::string name = MpiEnvironment::processor_name();
  std::memcpy(mine.data(), name.data(), std::min(name.size(), static_cast<std::size_t>(MPI_MAX_PROCESSOR_NAME)));
  std::vector<char> names(mine.size() * static_cast<std::size_t>(size));
  check_mpi(MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_CHAR, names.data(),
                          static_cast<int>(mine.size()), MPI_CHAR, comm),
            "MPI_Allgather (processor names)");
  auto host_of = [&](int r) {
    const char* own = names.data() + mine.size() * static_cast<std::size_t>(r);
    for (int q = 0;; ++q)
      if (std::strcmp(names.data() + mine.size() * static_cast<std::size_t>(q), own) == 0) return q;
  };
  for (int r = 1; r < size; ++r) {
    const int host = host_of(r);
    if (mode == ClockEstimate::force || (host == r && host_of(0) != host)) {
      measuring_.push_back(r);  // a host's lowest rank, or every rank when forced
    } else if (mode == ClockEstimate::automatic && host != host_of(0)) {
      if (r == rank_) shares_from_ = host;
      if (host == rank_) sharing_.push_back(r);
    }
  }
  measures_ = std::find(measuring_.begin(), measuring_.end(), rank_) != measuring_.end();
  if (rank_ != 0) measuring_.clear();
}

OffsetEstimate ClockSync::estimate() const {
  static_assert(sizeof(OffsetEstimate) == 3 * sizeof(double), "sent as three doubles");
  OffsetEstimate result;
  if (rank_ == 0) {
    for (const int r : measuring_) {
      const int go = 1;
      check_mpi(MPI_Send(&go, 1, MPI_INT, r, kGo, comm_), "MPI_Send (go)");
      for (int i = 0; i < rounds_; ++i) {
        double dummy = 0.0;
        check_mpi(MPI_Recv(&dummy, 1, MPI_DOUBLE, r, kPing, comm_, MPI_STATUS_IGNORE), "MPI_Recv (ping)");
        const double now = monotonic_now();
        check_mpi(MPI_Send(&now, 1, MPI_DOUBLE, r, kPong, comm_), "MPI_Send (pong)");
      }
    }
  } else if (measures_) {
    int go = 0;
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Irecv(&go, 1, MPI_INT, 0, kGo, comm_, &request), "MPI_Irecv (go)");
    wait_idly(request);
    double best_rtt = 1e300;
    for (int i = 0; i < rounds_; ++i) {
      const double sent = monotonic_now();
      check_mpi(MPI_Send(&sent, 1, MPI_DOUBLE, 0, kPing, comm_), "MPI_Send (ping)");
      double their = 0.0;
      check_mpi(MPI_Recv(&their, 1, MPI_DOUBLE, 0, kPong, comm_, MPI_STATUS_IGNORE), "MPI_Recv (pong)");
      const double back = monotonic_now();
      // Rank 0 read `their` between `sent` and `back` on this clock: the offset lies within half
      // the round trip of the midpoint's.
      if (back - sent < best_rtt) {
        best_rtt = back - sent;
        result.own_clock_s = 0.5 * (sent + back);
        result.offset_s = result.own_clock_s - their;
        result.uncertainty_s = 0.5 * best_rtt;
      }
    }
    // The ranks of this host read the same clock: the estimate, and when it holds, are theirs.
    for (const int r : sharing_) check_mpi(MPI_Send(&result, 3, MPI_DOUBLE, r, kShare, comm_), "MPI_Send (estimate)");
  } else if (shares_from_ >= 0) {
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Irecv(&result, 3, MPI_DOUBLE, shares_from_, kShare, comm_, &request), "MPI_Irecv (estimate)");
    wait_idly(request);
  }
  barrier_idly(comm_);
  // Rank 0's clock, or one that is rank 0's (offset 0 exactly): the estimate holds now.
  if (!measures_ && shares_from_ < 0) result.own_clock_s = monotonic_now();
  return result;
}

}  // namespace clockbench
