// The timed tick loop and the end-of-run protocol (docs/model.md).
#include "mpi/engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/footprint.hpp"
#include "core/machine.hpp"
#include "core/phase.hpp"
#include "core/random.hpp"
#include "core/schedule.hpp"
#include "core/stats.hpp"
#include "core/tick_cap.hpp"
#include "core/timing_verdict.hpp"
#include "core/topology.hpp"
#include "mpi/clock_sync.hpp"
#include "mpi/drain.hpp"
#include "mpi/monotonic.hpp"
#include "mpi/mpi_env.hpp"
#include "mpi/peer_progress.hpp"
#include "mpi/stop_control.hpp"
#include "mpi/transport.hpp"

namespace clockbench {

namespace {

// Between ticks a rank sleeps at most this long before taking arrivals off the network.
constexpr double kPollSliceWall = 10e-3;
// An early stop takes effect this long (wall) after rank 0 decides it: time for every rank,
// even oversubscribed, to hear of it before the stop time passes.
constexpr double kStopLeadWall = 0.1;
// Model time 0 lies this far (wall) after the start is agreed, plus a little per rank.
constexpr double kStartLeadWall = 0.05;
// While a tick waits for its senders (at most the grace), it looks again after this long (wall),
// doubling up to the most: a sender that is not there at once is likely descheduled, and many
// ranks waking every few microseconds to look would take the cores it needs to catch up.
constexpr double kSenderWaitSliceWall = 20e-6;
constexpr double kSenderWaitSliceMaxWall = 500e-6;
// How many of its coming draws a machine reads ahead to tell its peers when it may next send them.
constexpr std::int32_t kLookaheadDraws = 64;
// Stop messages are checked at most this often (wall): far inside the stop's lead, and it spares a
// flat-out tick an MPI call (with Open MPI oversubscribed, each idle MPI_Test is a sched_yield).
constexpr double kStopPollWall = 1e-3;

// Every rank's timing counts, on every rank.
std::vector<MachineTiming> gather_timing(const MachineTiming& mine, MPI_Comm comm) {
  int n = 1;
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  std::vector<MachineTiming> all(static_cast<std::size_t>(n));
  check_mpi(MPI_Allgather(&mine, sizeof(MachineTiming), MPI_BYTE, all.data(), sizeof(MachineTiming), MPI_BYTE, comm),
            "MPI_Allgather (timing)");
  return all;
}

}  // namespace

MachineResult run_engine(const EnginePlan& plan, MPI_Comm comm, LiveStatus* status, EventProgress* progress) {
  int rank = 0, n = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  const auto un = static_cast<std::size_t>(n);
  const double rate = plan.rates[static_cast<std::size_t>(rank)];
  const bool flat_out = is_flat_out(rate);
  const double speedup = plan.speedup;
  const double phase = machine_phase(plan.seed, static_cast<std::uint64_t>(rank), rate, plan.phase);
  constexpr double kNever = std::numeric_limits<double>::infinity();

  MachineResult res;
  res.peers = peers_of(rank, n, plan.topology);
  res.sent_to.assign(un, 0);
  res.received_from.assign(un, 0);
  res.left_from.assign(un, 0);
  std::vector<std::int64_t> arrived_from(un, 0);

  // Everything the loop touches is allocated here, before model time 0.
  const std::int64_t budget = tick_budget(rate, plan.duration_s, plan.max_ticks);
  res.events.reserve(static_cast<std::size_t>(budget));
  std::vector<double> lateness;
  if (!flat_out) lateness.reserve(static_cast<std::size_t>(budget));  // flat out, ticks have no deadlines
  Machine machine(
      rank, res.peers, plan.p_internal, plan.seed,
      queue_bounds(plan.rates, plan.duration_s, plan.max_ticks, plan.topology)[static_cast<std::size_t>(rank)],
      plan.latency);
  Transport transport(comm);
  StopControl stop(comm, kStopLeadWall * speedup);
  // The senders are the peers: every topology is symmetric.
  PeerProgress board(comm, res.peers);

  TimingLedger ledger(!flat_out);
  auto deliver = [&](const Message& m) {
    // The journal's records carry the running count (docs/schema.md, "Crash journal").
    if (ledger.arrived(m.arrival) && progress) progress->count_late(ledger.late_deliveries(), ledger.first_late_s());
    machine.deliver(m);
    ++arrived_from[static_cast<std::size_t>(m.source)];
  };

  // Tells the senders waiting on the board how far ahead this machine cannot send them anything:
  // its coming draws are fixed, so the first tick that may send peer p is known from tick `next` on.
  std::vector<std::int32_t> quiet;
  quiet.reserve(res.peers.size());
  auto publish_no_more_sends = [&] {
    for (const int p : res.peers) board.next_send_to(p, kNever);
  };
  auto publish_next_sends = [&](std::int64_t next) {
    if (flat_out) return publish_no_more_sends();  // a flat-out machine is never waited for
    machine.quiet_ticks(quiet, kLookaheadDraws);
    for (std::size_t i = 0; i < res.peers.size(); ++i)
      board.next_send_to(res.peers[i], tick_due(next + quiet[i], rate, phase));
  };

  const ClockSync clock_sync(comm, plan.clock_estimate);
  ClockLine clock;
  clock.start = clock_sync.estimate();
  if (progress) {
    // The journal's header gets the start estimate before its first record (docs/schema.md).
    progress->clock_offset_s = clock.start.offset_s;
    progress->clock_offset_uncertainty_s = clock.start.uncertainty_s;
    progress->set_columns(res.events);
  }
  lower_timer_slack();
  publish_next_sends(0);
  transport.warm_up(res.peers);
  // Rank 0 fixes model time 0 on its clock; each rank shifts it onto its own clock by the start
  // offset. The loop paces and stamps t on that; the file's t is placed on the line between the
  // start and end estimates when it is written (run_writer.cpp), the journal keeps the loop's.
  const double t0_rank0 = bcast_value<double>(monotonic_now() + kStartLeadWall + 2e-3 * n, 0, comm);
  const double t0 = t0_rank0 + clock.start.offset_s;
  if (status) status->wall_t0.store(t0, std::memory_order_relaxed);

  double end = plan.duration_s;
  double next_stop_poll = 0.0;
  auto model_now = [&](double wall) { return (wall - t0) * speedup; };
  auto update_end = [&](double wall) {
    if (wall < next_stop_poll) return;
    next_stop_poll = wall + kStopPollWall;
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

  // Before deciding the tick with deadline T: takes arrivals until the senders on this host can
  // send nothing more that arrives before T, or until wall time `until` (the grace) has passed.
  auto wait_for_senders = [&](double deadline, double until) {
    const double least = plan.latency.least();
    for (double slice = kSenderWaitSliceWall;; slice = std::min(2 * slice, kSenderWaitSliceMaxWall)) {
      transport.poll(deliver);
      const double now = monotonic_now();
      if (board.senders_done(deadline, least, arrived_from) || now >= until) return;
      sleep_until(std::min(until, now + slice));
    }
  };

  // One tick decided at god's-eye model time t with model deadline T: the machine's event, its
  // messages (arriving at T + latency), the record and what the tick publishes.
  std::int64_t ran = 0;
  auto run_tick = [&](std::int64_t k, double deadline, double t) {
    const EventRecord e = machine.tick(k, deadline, t);
    ledger.decided(deadline);
    auto send = [&](int to) {
      transport.send(to, k, e.lamport, machine.message_arrival(deadline));
      board.sent_to(to);
      ++res.sent_to[static_cast<std::size_t>(to)];
    };
    if (e.kind == EventKind::receive) {
      ++res.received_from[static_cast<std::size_t>(e.peer)];
    } else if (e.kind == EventKind::send_one) {
      send(e.peer);
    } else if (e.kind == EventKind::send_all) {
      for (const int p : res.peers) send(p);
    }
    res.events.append(e);
    ran = k + 1;
    if (progress) progress->published.store(k + 1, std::memory_order_release);
    if (status) {
      status->ticks.store(k + 1, std::memory_order_relaxed);
      status->queue.store(e.queue, std::memory_order_relaxed);
    }
  };

  // ---- the timed window: no allocation, no I/O from here to its end ----
  if (flat_out) {
    // Ticks back to back (tick 0 at model time 0), each at the model time it runs; near its tick
    // cap the machine asks for an early stop and paces its last ticks.
    TickCapGuard cap_guard(budget, kStopLeadWall);
    double not_before = t0;
    for (std::int64_t k = 0; k < budget; ++k) {
      update_end(idle_until(not_before));
      transport.poll(deliver);
      const double now = monotonic_now();
      update_end(now);
      const double t = model_now(now);
      if (t >= end) break;
      if (cap_guard.near_cap(k, now)) {
        stop.request(kStopTickCap);  // only the first request is sent
        not_before = now + cap_guard.spacing_after(k);
      }
      run_tick(k, t, t);
    }
  } else {
    // Each tick at its deadline: sleep until it, give the senders the grace to catch up, decide.
    for (std::int64_t k = 0; k < budget; ++k) {
      const double due = tick_due(k, rate, phase);
      if (due >= end) break;
      const double deadline = t0 + due / speedup;
      update_end(idle_until(deadline));
      if (due >= end) break;  // a stop decided while this rank slept
      wait_for_senders(due, deadline + plan.grace_s);
      // The decision's time, after the network was drained: a receive is stamped after its
      // message arrived, so after its send was stamped.
      const double now = monotonic_now();
      update_end(now);
      if (now > t0 + end / speedup + plan.grace_s) break;  // too late to run: this and the rest are missed
      run_tick(k, due, model_now(now));
      publish_next_sends(k + 1);
      lateness.push_back(now - deadline);
    }
  }
  publish_no_more_sends();
  // Wait out the run's end: a rank done with its ticks would otherwise spin in the end-of-run
  // collectives, taking the CPU from ranks still ticking on a shared core.
  for (double now = monotonic_now(); now < t0 + end / speedup;)
    now = idle_until(std::min(t0 + end / speedup, now + kPollSliceWall));
  const double loop_end = monotonic_now();
  // ---- end of the timed window ----
  if (status) status->stopping.store(true, std::memory_order_relaxed);

  // End of run: complete sends, learn how many messages each peer sent here, take them all.
  drain_in_flight(transport, res.sent_to, arrived_from, comm, [&](const Message& m) {
    if (ledger.arrived(m.arrival) && progress) progress->count_late(ledger.late_deliveries(), ledger.first_late_s());
    machine.deliver(m);
  });
  machine.queue().for_each([&](const Message& m) { ++res.left_from[static_cast<std::size_t>(m.source)]; });

  const StopControl::Outcome stopped = stop.finish();
  // The offsets again, now that the network is quiet: how far each clock ran from rank 0's.
  clock.end = clock_sync.estimate();
  res.end_s = std::min(plan.duration_s, std::max(0.0, stopped.at));
  res.completed = res.end_s >= plan.duration_s;
  res.stop_reason = res.completed ? "duration reached" : stopped.reason;
  res.stop_signal = res.completed ? 0 : stopped.signal;
  res.wall_s = bcast_value<double>(loop_end - t0, 0, comm);

  // Against the final end: ticks due before it that did not run were missed; ticks that ran at or
  // after it (a stop heard too late) overran.
  const MachineTiming timing = ledger.settle(ran, flat_out ? ran : ticks_before(res.end_s, rate, phase),
                                             [&](std::int64_t k) { return tick_due(k, rate, phase); });
  const std::vector<MachineTiming> all_timing = gather_timing(timing, comm);
  res.timing = timing_verdict(all_timing);
  for (const MachineTiming& m : all_timing) {
    res.late_deliveries += m.late_deliveries;
    res.missed_ticks += m.missed_ticks;
  }

  MachineSummary& s = res.summary;
  s.rank = rank;
  s.pid = static_cast<std::int64_t>(getpid());
  summarize_events(res.events, s);
  s.clock_offset_s = clock.start.offset_s;
  s.clock_offset_uncertainty_s = clock.start.uncertainty_s;
  s.clock_offset_start_t_s = start_estimate_t(clock, t0_rank0, speedup);
  if (clock.has_end()) {  // else NaN: t stays on the start offset
    s.clock_offset_end_s = clock.end.offset_s;
    s.clock_offset_end_uncertainty_s = clock.end.uncertainty_s;
    s.clock_rate_ppm = clock.rate_ppm();
    s.clock_offset_interval_s = clock.interval_s();
  }
  const TimePlacement place =
      time_placement(s.clock_offset_start_t_s, s.clock_offset_s, s.clock_offset_end_s, s.clock_offset_interval_s);
  if (place.moves() && s.ticks >= 2)  // the rate between the first and last t as the file has them
    s.achieved_hz = static_cast<double>(s.ticks - 1) / (place(res.events.t.back()) - place(res.events.t.front()));
  s.rate_hz = flat_out ? s.achieved_hz : rate;  // flat out, the nominal rate is the achieved one
  for (std::size_t j = 0; j < un; ++j) {
    s.sent += res.sent_to[j];
    s.received += res.received_from[j];
    s.left_in_queue += res.left_from[j];
  }
  const Percentiles late = percentiles(std::move(lateness));
  const double no_deadlines = std::numeric_limits<double>::quiet_NaN();
  s.lateness_p50_s = flat_out ? no_deadlines : late.p50;
  s.lateness_p99_s = flat_out ? no_deadlines : late.p99;
  s.lateness_max_s = flat_out ? no_deadlines : late.max;
  s.phase_s = phase;
  s.late_deliveries = timing.late_deliveries;
  s.missed_ticks = timing.missed_ticks;
  s.first_degraded_s = timing.first_s;
  return res;
}

}  // namespace clockbench
