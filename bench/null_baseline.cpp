// The null baseline: clockbench's flat-out messaging pattern with no model, no queue and no
// recording, so that what clockbench adds on top of MPI is a ratio (bench/run prints it).
//   mpirun -np 3 build/bench/clockbench_null_baseline --duration 3
// Every rank ticks back to back for the duration (wall seconds), taking arrivals off the network
// with the engine's Transport. As in the model, a tick with a message waiting takes it and sends
// nothing; a free tick draws and sends to one peer, to all peers or to none. The waiting messages
// are only counted, the clock is not kept, and nothing is recorded.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <vector>

#include "core/action_draw.hpp"
#include "core/random.hpp"
#include "core/topology.hpp"
#include "mpi/drain.hpp"
#include "mpi/monotonic.hpp"
#include "mpi/mpi_env.hpp"
#include "mpi/transport.hpp"

namespace clockbench {

namespace {

struct Options {
  double duration_s = 3.0;
  double p_internal = 0.7;
  std::uint64_t seed = 1;
};

int run(const MpiEnvironment& mpi, const Options& o) {
  const MPI_Comm comm = mpi.world();
  const int rank = mpi.rank(), n = mpi.size();
  const auto un = static_cast<std::size_t>(n);
  const std::vector<std::int32_t> peers = peers_of(rank, n, Topology::full(), 0);
  const ActionDraw draw(o.p_internal, peers.size());
  Rng rng(stream_seed(o.seed, static_cast<std::uint64_t>(rank)));
  Transport transport(comm);
  std::vector<std::int64_t> sent_to(un, 0), arrived_from(un, 0);
  std::int64_t waiting = 0, ticks = 0;
  auto arrive = [&](const Message& m) {
    ++arrived_from[static_cast<std::size_t>(m.source)];
    ++waiting;
  };

  // The same start as the engine's: rank 0 fixes time 0 a little ahead (one host, one clock).
  const double t0 = bcast_value<double>(monotonic_now() + 0.05 + 2e-3 * n, 0, comm);
  const double end = t0 + o.duration_s;
  sleep_until(t0);
  for (double now = monotonic_now(); now < end; now = monotonic_now(), ++ticks) {
    transport.poll(arrive);
    if (waiting > 0) {
      --waiting;
      continue;
    }
    const Action a = draw.draw(rng);
    if (a.kind == EventKind::send_one) {
      const std::int32_t p = peers[static_cast<std::size_t>(a.peer_index)];
      transport.send(p, ticks, ticks, 0.0);
      ++sent_to[static_cast<std::size_t>(p)];
    } else if (a.kind == EventKind::send_all) {
      for (const std::int32_t p : peers) {
        transport.send(p, ticks, ticks, 0.0);
        ++sent_to[static_cast<std::size_t>(p)];
      }
    }
  }
  drain_in_flight(transport, sent_to, arrived_from, comm, [](const Message&) {});

  std::int64_t sent = 0;
  for (const std::int64_t s : sent_to) sent += s;
  std::int64_t mine[2] = {ticks, sent}, total[2] = {0, 0};
  check_mpi(MPI_Reduce(mine, total, 2, MPI_INT64_T, MPI_SUM, 0, comm), "MPI_Reduce");
  if (rank == 0) {
    std::printf(
        "CLOCKBENCH_NULL_RESULT machines=%d duration_s=%g events=%lld messages_sent=%lld events_per_s=%.0f "
        "messages_per_s=%.0f\n",
        n, o.duration_s, static_cast<long long>(total[0]), static_cast<long long>(total[1]),
        static_cast<double>(total[0]) / o.duration_s, static_cast<double>(total[1]) / o.duration_s);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

}  // namespace clockbench

int main(int argc, char** argv) {
  std::optional<clockbench::MpiEnvironment> mpi;
  try {
    mpi.emplace(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clockbench_null_baseline: error: %s\n", e.what());
    return 1;
  }
  clockbench::Options o;
  CLI::App app{"clockbench's flat-out messaging pattern without model, queue or recording (mpirun -np N)"};
  app.add_option("--duration", o.duration_s, "wall seconds of ticking")->capture_default_str();
  app.add_option("--p-internal", o.p_internal, "probability that a free tick sends nothing")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", o.seed, "run seed")->capture_default_str();
  try {
    app.parse(argc, argv);  // every rank parses the same arguments, so all agree
  } catch (const CLI::ParseError& e) {
    if (mpi->rank() == 0) app.exit(e);
    return e.get_exit_code() == 0 ? 0 : 2;
  }
  const char* problem = mpi->size() < 2         ? "needs at least 2 ranks (mpirun -np N, N >= 2)"
                        : !(o.duration_s > 0.0) ? "--duration must be a positive number of seconds"
                                                : nullptr;
  if (problem) {
    if (mpi->rank() == 0) std::fprintf(stderr, "clockbench_null_baseline: error: %s\n", problem);
    return 2;
  }
  try {
    return clockbench::run(*mpi, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clockbench_null_baseline: error on rank %d: %s\n", mpi->rank(), e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}
