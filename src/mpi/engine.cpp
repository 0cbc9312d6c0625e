// The timed tick loop and the end-of-run protocol of SPEC §1.
#include "mpi/engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/machine.hpp"
#include "core/random.hpp"
#include "core/schedule.hpp"
#include "core/stats.hpp"
#include "core/topology.hpp"
#include "mpi/monotonic.hpp"
#include "mpi/mpi_env.hpp"
#include "mpi/stop_control.hpp"
#include "mpi/transport.hpp"

namespace clockbench {

namespace {

// Between ticks a rank sleeps at most this long before taking arrivals off the network.
constexpr double kPollSliceWall = 1e-3;
// An early stop takes effect this long (wall) after rank 0 decides it: time for every rank,
// even oversubscribed, to hear of it before the stop time passes.
constexpr double kStopLeadWall = 0.1;
// Model time 0 lies this far (wall) after the start is agreed, plus a little per rank.
constexpr double kStartLeadWall = 0.05;

// Most messages that can ever wait in `rank`'s queue: every tick of every sender sends it one.
std::size_t queue_bound(const EnginePlan& plan, int rank, int n) {
  std::size_t bound = 1;
  for (const int j : senders_to(rank, n, plan.topology))
    bound += static_cast<std::size_t>(ticks_before(plan.duration_s, plan.rates[static_cast<std::size_t>(j)]));
  return bound;
}

}  // namespace

MachineResult run_engine(const EnginePlan& plan, MPI_Comm comm, LiveStatus* status) {
  int rank = 0, n = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  const auto un = static_cast<std::size_t>(n);
  const double rate = plan.rates[static_cast<std::size_t>(rank)];
  const double speedup = plan.speedup;

  MachineResult res;
  res.peers = peers_of(rank, n, plan.topology);
  res.sent_to.assign(un, 0);
  res.received_from.assign(un, 0);
  res.left_from.assign(un, 0);
  std::vector<std::int64_t> arrived_from(un, 0);

  // Everything the loop touches is allocated here, before model time 0.
  const auto max_ticks = static_cast<std::size_t>(ticks_before(plan.duration_s, rate));
  res.events.reserve(max_ticks);
  std::vector<double> lateness;
  lateness.reserve(max_ticks);
  Machine machine(rank, res.peers, plan.p_internal, stream_seed(plan.seed, static_cast<std::uint64_t>(rank)),
                  queue_bound(plan, rank, n));
  Transport transport(comm);
  StopControl stop(comm, kStopLeadWall * speedup);
  auto deliver = [&](const Message& m) {
    machine.deliver(m);
    ++arrived_from[static_cast<std::size_t>(m.source)];
  };

  const ClockOffset clock = estimate_clock_offset(comm, plan.force_clock_estimate);
  lower_timer_slack();
  // Rank 0 fixes model time 0 on its clock; each rank shifts it onto its own clock.
  const double t0_rank0 = bcast_value<double>(monotonic_now() + kStartLeadWall + 2e-3 * n, 0, comm);
  const double t0 = t0_rank0 + clock.offset_s;
  if (status) status->wall_t0.store(t0, std::memory_order_relaxed);

  double end = plan.duration_s;
  auto model_now = [&](double wall) { return (wall - t0) * speedup; };
  auto update_end = [&](double wall) {
    stop.poll(model_now(wall));
    if (stop.stop_at()) end = std::min(end, std::max(0.0, *stop.stop_at()));
  };

  // Sleeps until wall time `until` in slices, taking arrivals and watching for a stop between them.
  auto idle_until = [&](double until) {
    double now = monotonic_now();
    while (now < until) {
      sleep_until(std::min(until, now + kPollSliceWall));
      now = monotonic_now();
      transport.poll(deliver);
      update_end(now);
    }
    return now;
  };

  // ---- the timed window: no allocation, no I/O from here to its end ----
  for (std::int64_t k = 0;; ++k) {
    if (tick_due(k, rate) >= end) break;
    const double deadline = t0 + tick_due(k, rate) / speedup;
    const double now = idle_until(deadline);
    transport.poll(deliver);
    update_end(now);
    if (tick_due(k, rate) >= end) break;  // a stop decided while this rank slept
    const EventRecord e = machine.tick(k, model_now(now));
    if (e.kind == EventKind::receive) {
      ++res.received_from[static_cast<std::size_t>(e.peer)];
    } else if (e.kind == EventKind::send_one) {
      transport.send(e.peer, k, e.lamport);
      ++res.sent_to[static_cast<std::size_t>(e.peer)];
    } else if (e.kind == EventKind::send_all) {
      for (const int p : res.peers) {
        transport.send(p, k, e.lamport);
        ++res.sent_to[static_cast<std::size_t>(p)];
      }
    }
    res.events.append(e);
    lateness.push_back(now - deadline);
    if (status) {
      status->ticks.store(k + 1, std::memory_order_relaxed);
      status->queue.store(e.queue, std::memory_order_relaxed);
    }
  }
  // Wait out the run's end: a rank done with its ticks would otherwise spin in the end-of-run
  // collectives, taking the CPU from ranks still ticking on a shared core.
  for (double now = monotonic_now(); now < t0 + end / speedup;)
    now = idle_until(std::min(t0 + end / speedup, now + kPollSliceWall));
  const double loop_end = monotonic_now();
  // ---- end of the timed window ----
  if (status) status->stopping.store(true, std::memory_order_relaxed);

  // End of run: complete sends, learn how many messages each peer sent here, take them all.
  transport.complete_sends();
  std::vector<std::int64_t> expected_from(un, 0);
  check_mpi(MPI_Alltoall(res.sent_to.data(), 1, MPI_INT64_T, expected_from.data(), 1, MPI_INT64_T, comm),
            "MPI_Alltoall (send counts)");
  for (std::size_t j = 0; j < un; ++j) {
    while (arrived_from[j] < expected_from[j]) deliver(transport.receive_blocking());
    if (arrived_from[j] > expected_from[j])
      throw MpiError("rank " + std::to_string(rank) + " received more messages from rank " + std::to_string(j) +
                     " than it sent");
  }
  transport.cancel_receives();
  machine.queue().for_each([&](const Message& m) { ++res.left_from[static_cast<std::size_t>(m.source)]; });

  const StopControl::Outcome stopped = stop.finish();
  res.end_s = std::min(plan.duration_s, std::max(0.0, stopped.at));
  res.completed = res.end_s >= plan.duration_s;
  res.stop_reason = res.completed ? "duration reached" : stopped.reason;
  res.stop_signal = res.completed ? 0 : stopped.signal;
  res.wall_s = bcast_value<double>(loop_end - t0, 0, comm);

  MachineSummary& s = res.summary;
  s.rank = rank;
  s.pid = static_cast<std::int64_t>(getpid());
  s.rate_hz = rate;
  summarize_events(res.events, s);
  for (std::size_t j = 0; j < un; ++j) {
    s.sent += res.sent_to[j];
    s.received += res.received_from[j];
    s.left_in_queue += res.left_from[j];
  }
  s.clock_offset_s = clock.offset_s;
  s.clock_offset_uncertainty_s = clock.uncertainty_s;
  const Percentiles late = percentiles(std::move(lateness));
  s.lateness_p50_s = late.p50;
  s.lateness_p99_s = late.p99;
  s.lateness_max_s = late.max;
  return res;
}

}  // namespace clockbench
