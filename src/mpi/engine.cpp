// The timed tick loop and the end-of-run protocol (docs/model.md).
#include "mpi/engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
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
#include "mpi/platform.hpp"
#include "mpi/realtime.hpp"
#include "mpi/stop_control.hpp"
#include "mpi/transport.hpp"

namespace clockbench {

namespace {

// Between ticks a rank sleeps at most this long before looking for a stop (and, if senders are off
// its host's board or the board counts one on its way, taking arrivals): a quarter of the stop's
// lead. Each wake costs CPU (at 64 ranks on 2 cores, a stop poll's MPI progress over the peers and
// the switches: 40 us); at 10 ms, 64 idle ranks at speedup 1 kept 0.3 cores busy, at 25 ms 0.11
// (docs/measurements.md, "Where a tick's time goes"). A simulated rank sleeps until its next
// deadline: SMPI moves messages without being polled, and a simulation has no signals to stop it
// (docs/simulation.md); periodic wakes would be most of the simulation's work.
constexpr double kPollSliceWall = platform::kSimulated ? std::numeric_limits<double>::infinity() : 25e-3;
// An early stop takes effect this long (wall) after rank 0 decides it: time for every rank,
// even oversubscribed, to hear of it before the stop time passes.
constexpr double kStopLeadWall = 0.1;
// Model time 0 lies this far (wall) after the start is agreed, plus a little per rank.
constexpr double kStartLeadWall = 0.05;
// While a tick waits for its senders (at most the grace) by looking again and again (senders off
// the board, a simulation), or for a message the board counts that MPI has not shown yet, it looks
// again after this long (wall), doubling up to the most: a sender that is not there at once is
// likely descheduled, and many ranks waking every few microseconds to look would take the cores it
// needs to catch up. On one host a wait for a sender that is behind sleeps on the board instead.
constexpr double kSenderWaitSliceWall = 20e-6;
constexpr double kSenderWaitSliceMaxWall = 500e-6;
// How many of its coming draws a machine reads ahead to tell its peers when it may next send them.
constexpr std::int32_t kLookaheadDraws = 64;
// Stop messages are checked at most this often (wall): far inside the stop's lead, and it spares a
// tick an MPI call (with Open MPI oversubscribed, each idle MPI_Test is a sched_yield; at 1 ms, 64
// paced ranks at speed-up 100 made one a tick).
constexpr double kStopPollWall = 10e-3;

// Every rank's timing counts, on every rank.
std::vector<MachineTiming> gather_timing(const MachineTiming& mine, MPI_Comm comm) {
  int n = 1;
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  std::vector<MachineTiming> all(static_cast<std::size_t>(n));
  check_mpi(MPI_Allgather(&mine, sizeof(MachineTiming), MPI_BYTE, all.data(), sizeof(MachineTiming), MPI_BYTE, comm),
            "MPI_Allgather (timing)");
  return all;
}

// What both tick policies use while the loop runs: model time on this rank's clock, arrivals taken
// off the network (each counted late or not against the ticks decided), and the run's end, which
// a stop may bring forward.
class Loop {
 public:
  Loop(const EnginePlan& plan, Machine& machine, Transport& transport, StopControl& stop, PeerProgress& board,
       TimingLedger& ledger, EventProgress* progress, std::vector<std::int64_t>& arrived_from)
      : machine_(machine),
        transport_(transport),
        stop_(stop),
        board_(board),
        ledger_(ledger),
        progress_(progress),
        arrived_from_(arrived_from),
        speedup_(plan.speedup),
        end_(plan.duration_s) {}

  // Model time 0 on this rank's clock (wall).
  void start(double t0) { t0_ = t0; }
  double model_now(double wall) const { return (wall - t0_) * speedup_; }
  double wall_at(double model_t) const { return t0_ + model_t / speedup_; }
  double end() const { return end_; }  // model time the run ends at: the duration, or a stop's

  // Hears of a stop, at most every kStopPollWall.
  void update_end(double wall) {
    if (wall < next_stop_poll_) return;
    next_stop_poll_ = wall + kStopPollWall;
    stop_.poll(model_now(wall));
    if (stop_.stop_at()) end_ = std::min(end_, std::max(0.0, *stop_.stop_at()));
  }
  void request_stop(int cause) { stop_.request(cause); }
  // Tells the machines waiting on the board that this one will send them nothing more.
  void no_more_sends(const std::vector<std::int32_t>& peers) {
    for (const int p : peers) board_.next_send_to(p, std::numeric_limits<double>::infinity());
  }

  // Takes the messages that have arrived, at most `most` (how many the board counts, when known).
  int take_arrivals(std::int64_t most = std::numeric_limits<std::int64_t>::max()) {
    ++polls_;
    return transport_.poll_up_to(most, [this](const Message& m) { deliver(m); });
  }

  // Sleeps until wall time `until` in slices, taking arrivals and watching for a stop between them.
  // When the board covers every sender, it takes arrivals only if the board counts one on its way,
  // and not at all on the wake at `until`: wait_for_senders does that.
  double idle_until(double until) {
    double now = monotonic_now();
    while (now < until) {
      sleep_until(std::min(until, now + kPollSliceWall));
      ++sleeps_;
      now = monotonic_now();
      if (!board_gates_polls_ || (now < until && board_.any_on_the_way(arrived_from_))) take_arrivals();
      update_end(now);
    }
    return now;
  }

  // Before deciding the tick with deadline T: takes arrivals until the senders on this host can
  // send nothing more that arrives before T, or until wall time `until` (the grace) has passed.
  void wait_for_senders(double deadline, double until) {
    if (!board_gates_polls_) return wait_polling(deadline, until);
    // Every sender is on the board: it says when a message is on its way here (then one poll
    // takes it: a posted send is in this rank's shared-memory box), and a rank waits for a sender
    // that is behind on its own doorbell, which the sender rings once it is done for the deadline.
    std::size_t done = 0;  // senders found done for this deadline, in board order
    double slice = kSenderWaitSliceWall;
    for (;;) {
      ++board_checks_;
      const PeerProgress::Wait wait = board_.senders_done(deadline, arrived_from_, done);
      if (wait == PeerProgress::Wait::nothing) return;
      const double now = monotonic_now();
      if (now >= until) {
        take_arrivals();
        return;
      }
      if (wait == PeerProgress::Wait::sender) {
        board_.await_sender(done, deadline, until);
        ++sleeps_;
        continue;
      }
      // As many as the board counts from this sender: a poll that took every message there would
      // end on an empty MPI_Test, and its yield.
      if (take_arrivals(board_.on_the_way(done, arrived_from_)) > 0) continue;
      // Counted but not in yet (a send MPI has not pushed out): look again shortly.
      sleep_until(std::min(until, now + slice));
      ++sleeps_;
      slice = std::min(2 * slice, kSenderWaitSliceMaxWall);
    }
  }

  // Senders off the board (other hosts), or a simulation: take arrivals and look at the board in
  // slices.
  void wait_polling(double deadline, double until) {
    std::size_t done = 0;  // senders found done for this deadline, in board order
    for (double slice = kSenderWaitSliceWall;; slice = std::min(2 * slice, kSenderWaitSliceMaxWall)) {
      take_arrivals();
      const double now = monotonic_now();
      ++board_checks_;
      if (board_.senders_done(deadline, arrived_from_, done) == PeerProgress::Wait::nothing || now >= until) return;
      sleep_until(std::min(until, now + slice));
      ++sleeps_;
    }
  }

  // The loop's counts, into the rank's account.
  void count_into(LoopAccount& a) const {
    a[LoopAccount::sleeps] = static_cast<double>(sleeps_);
    a[LoopAccount::polls] = static_cast<double>(polls_);
    a[LoopAccount::board_checks] = static_cast<double>(board_checks_);
  }

 private:
  void deliver(const Message& m) {
    // The journal's records carry the running count (docs/schema.md, "Crash journal").
    if (ledger_.arrived(m.arrival) && progress_)
      progress_->count_late(ledger_.late_deliveries(), ledger_.first_late_s());
    machine_.deliver(m);
    ++arrived_from_[static_cast<std::size_t>(m.source)];
  }

  Machine& machine_;
  Transport& transport_;
  StopControl& stop_;
  PeerProgress& board_;
  TimingLedger& ledger_;
  EventProgress* progress_;
  std::vector<std::int64_t>& arrived_from_;
  double speedup_;
  double t0_ = 0.0;
  double end_;
  double next_stop_poll_ = 0.0;
  std::int64_t sleeps_ = 0, polls_ = 0, board_checks_ = 0;  // LoopAccount
  // The board covers every sender and waits block on it: the real build on one host.
  bool board_gates_polls_ = !platform::kSimulated && board_.covers_all();
};

// When a machine's ticks run (docs/model.md): paced, each at its deadline, or flat out, back to
// back. The loop asks the policy for each tick's turn, runs the tick, and tells the policy.
class TickPolicy {
 public:
  struct Turn {
    double deadline;  // model time the tick decides at (its receives see messages arriving before it)
    double t;         // god's-eye model time it runs at
  };
  virtual ~TickPolicy() = default;
  // Tells the machines waiting on the board when this one may next send them, from tick `next` on.
  virtual void publish_sends(std::int64_t next) = 0;
  // Waits for tick k's turn; nothing when this machine's ticks are over.
  virtual std::optional<Turn> await(std::int64_t k) = 0;
  // Tick k has run in the turn await(k) gave.
  virtual void ran(std::int64_t k) = 0;
  // Of the ticks due before the run's final end `end_s`, given that `ran` ran (the rest were missed).
  virtual std::int64_t due_before(double end_s, std::int64_t ran) const = 0;
  // The summary's nominal rate and lateness (after its achieved rate).
  virtual void summarize(MachineSummary& s) = 0;
};

// Each tick at its deadline: sleep until it, give the senders the grace to catch up, decide.
class PacedTicks final : public TickPolicy {
 public:
  PacedTicks(Loop& loop, const Machine& machine, PeerProgress& board, const std::vector<std::int32_t>& peers,
             double rate, double phase, double grace_s, std::int64_t budget)
      : loop_(loop), machine_(machine), board_(board), peers_(peers), rate_(rate), phase_(phase), grace_s_(grace_s) {
    lateness_.reserve(static_cast<std::size_t>(budget));
    quiet_.reserve(peers.size());
  }

  // Its coming draws are fixed, so the first tick that may send peer p is known from tick `next` on.
  void publish_sends(std::int64_t next) override {
    machine_.quiet_ticks(quiet_, kLookaheadDraws);
    for (std::size_t i = 0; i < peers_.size(); ++i)
      board_.next_send_to(peers_[i], tick_due(next + quiet_[i], rate_, phase_));
  }

  std::optional<Turn> await(std::int64_t k) override {
    const double due = tick_due(k, rate_, phase_);
    if (due >= loop_.end()) return std::nullopt;
    deadline_wall_ = loop_.wall_at(due);
    loop_.update_end(loop_.idle_until(deadline_wall_));
    if (due >= loop_.end()) return std::nullopt;  // a stop decided while this rank slept
    loop_.wait_for_senders(due, deadline_wall_ + grace_s_);
    // The decision's time, after the network was drained: a receive is stamped after its message
    // arrived, so after its send was stamped.
    now_ = monotonic_now();
    loop_.update_end(now_);
    if (now_ > loop_.wall_at(loop_.end()) + grace_s_) return std::nullopt;  // too late: this and the rest are missed
    return Turn{due, loop_.model_now(now_)};
  }

  void ran(std::int64_t k) override {
    publish_sends(k + 1);
    lateness_.push_back(now_ - deadline_wall_);
  }

  std::int64_t due_before(double end_s, std::int64_t) const override { return ticks_before(end_s, rate_, phase_); }

  void summarize(MachineSummary& s) override {
    s.rate_hz = rate_;
    const Percentiles late = percentiles(std::move(lateness_));
    s.lateness_p50_s = late.p50;
    s.lateness_p99_s = late.p99;
    s.lateness_max_s = late.max;
  }

 private:
  Loop& loop_;
  const Machine& machine_;
  PeerProgress& board_;
  const std::vector<std::int32_t>& peers_;
  double rate_;
  double phase_;
  double grace_s_;
  std::vector<double> lateness_;     // wall seconds each tick decided after its deadline
  std::vector<std::int32_t> quiet_;  // Machine::quiet_ticks, per peer
  double deadline_wall_ = 0.0;       // the current tick's
  double now_ = 0.0;
};

// Ticks back to back (tick 0 at model time 0), each at the model time it runs; near its tick cap
// the machine asks for an early stop and paces its last ticks. Nothing waits for it and it has no
// deadlines to miss.
class FlatOutTicks final : public TickPolicy {
 public:
  FlatOutTicks(Loop& loop, const std::vector<std::int32_t>& peers, std::int64_t budget)
      : loop_(loop), peers_(peers), cap_guard_(budget, kStopLeadWall) {}

  void publish_sends(std::int64_t) override { loop_.no_more_sends(peers_); }  // never waited for

  std::optional<Turn> await(std::int64_t k) override {
    loop_.update_end(loop_.idle_until(std::max(not_before_, loop_.wall_at(0.0))));
    loop_.take_arrivals();
    const double now = monotonic_now();
    loop_.update_end(now);
    const double t = loop_.model_now(now);
    if (t >= loop_.end()) return std::nullopt;
    if (cap_guard_.near_cap(k, now)) {
      loop_.request_stop(kStopTickCap);  // only the first request is sent
      not_before_ = now + cap_guard_.spacing_after(k);
    }
    return Turn{t, t};
  }

  void ran(std::int64_t) override {}

  std::int64_t due_before(double, std::int64_t ran) const override { return ran; }

  void summarize(MachineSummary& s) override {
    s.rate_hz = s.achieved_hz;  // the nominal rate is the achieved one
    s.lateness_p50_s = s.lateness_p99_s = s.lateness_max_s = std::numeric_limits<double>::quiet_NaN();
  }

 private:
  Loop& loop_;
  const std::vector<std::int32_t>& peers_;
  TickCapGuard cap_guard_;
  double not_before_ = 0.0;  // wall time the next tick may start (paced near the cap), if after model time 0
};

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

  MachineResult res;
  PhaseClock phases(res.phases, monotonic_now());
  res.peers = peers_of(rank, n, plan.topology, plan.seed);
  res.sent_to.assign(un, 0);
  res.received_from.assign(un, 0);
  res.left_from.assign(un, 0);
  std::vector<std::int64_t> arrived_from(un, 0);

  // Everything the loop touches is allocated here, before model time 0.
  const std::int64_t budget = tick_budget(rate, plan.duration_s, plan.max_ticks);
  res.events.reserve(static_cast<std::size_t>(budget));
  Machine machine(rank, res.peers, plan.p_internal, plan.seed,
                  queue_bounds(plan.rates, plan.duration_s, plan.max_ticks, plan.topology,
                               plan.seed)[static_cast<std::size_t>(rank)],
                  plan.latency);
  Transport transport(comm);
  StopControl stop(comm, kStopLeadWall * speedup);
  // The senders are the peers: every topology is symmetric.
  PeerProgress board(comm, res.peers, plan.latency.least());

  TimingLedger ledger(!flat_out);  // flat out, ticks have no deadlines
  Loop loop(plan, machine, transport, stop, board, ledger, progress, arrived_from);
  std::optional<FlatOutTicks> flat;
  std::optional<PacedTicks> paced;
  if (flat_out)
    flat.emplace(loop, res.peers, budget);
  else
    paced.emplace(loop, machine, board, res.peers, rate, phase, plan.grace_s, budget);
  TickPolicy& policy = flat ? static_cast<TickPolicy&>(*flat) : *paced;

  phases.mark(PhaseTimes::reserve, monotonic_now());
  const ClockSync clock_sync(comm, plan.clock_estimate);
  ClockLine clock;
  clock.start = clock_sync.estimate();
  phases.mark(PhaseTimes::clock_estimate, monotonic_now());
  if (progress) {
    // The journal's header gets the start estimate before its first record (docs/schema.md).
    progress->clock_offset_s = clock.start.offset_s;
    progress->clock_offset_uncertainty_s = clock.start.uncertainty_s;
    progress->set_columns(res.events);
  }
  lower_timer_slack();
  policy.publish_sends(0);
  transport.warm_up(res.peers);
  phases.mark(PhaseTimes::warm_up, monotonic_now());
  // Rank 0 fixes model time 0 on its clock; each rank shifts it onto its own clock by the start
  // offset. The loop paces and stamps t on that; the file's t is placed on the line between the
  // start and end estimates when it is written (run_writer.cpp), the journal keeps the loop's.
  const double t0_rank0 = bcast_value<double>(monotonic_now() + kStartLeadWall + 2e-3 * n, 0, comm);
  const double t0 = t0_rank0 + clock.start.offset_s;
  if (status) status->wall_t0.store(t0, std::memory_order_relaxed);
  // From the wait for t0 to the loop's end, at real-time priority if asked (mpi/realtime.hpp).
  std::optional<RealtimeWindow> realtime;
  if (plan.realtime) realtime.emplace();
  loop.start(t0);
  phases.mark(PhaseTimes::start_wait, std::max(t0, monotonic_now()));  // the loop waits for t0
  const ThreadUsage usage_before = thread_usage();

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
  // (Run on the policy's own type, a final class: its calls are direct, and inlined.)
  auto tick_loop = [&](auto& ticks) {
    for (std::int64_t k = 0; k < budget; ++k) {
      const std::optional<TickPolicy::Turn> turn = ticks.await(k);
      if (!turn) break;
      run_tick(k, turn->deadline, turn->t);
      ticks.ran(k);
    }
  };
  if (flat)
    tick_loop(*flat);
  else
    tick_loop(*paced);
  loop.no_more_sends(res.peers);
  // Wait out the run's end: a rank done with its ticks would otherwise spin in the end-of-run
  // collectives, taking the CPU from ranks still ticking on a shared core.
  for (double now = monotonic_now(); now < loop.wall_at(loop.end());)
    now = loop.idle_until(std::min(loop.wall_at(loop.end()), now + kPollSliceWall));
  const double loop_end = monotonic_now();
  const ThreadUsage usage_after = thread_usage();
  // ---- end of the timed window ----
  phases.mark(PhaseTimes::ticking, loop_end);
  // The probe in set-up let every rank switch; should one have failed here, it says so.
  const bool ticked_realtime = realtime && realtime->error().empty();
  if (realtime && !ticked_realtime)
    std::fprintf(stderr, "clockbench: warning on rank %d: %s; this rank ticked at its normal priority\n", rank,
                 realtime->error().c_str());
  realtime.reset();  // before any collective: MPI's waits yield in a loop
  loop.count_into(res.account);
  res.account[LoopAccount::cpu_user_s] = usage_after.user_s - usage_before.user_s;
  res.account[LoopAccount::cpu_sys_s] = usage_after.sys_s - usage_before.sys_s;
  res.account[LoopAccount::voluntary_switches] = usage_after.voluntary_switches - usage_before.voluntary_switches;
  res.account[LoopAccount::involuntary_switches] = usage_after.involuntary_switches - usage_before.involuntary_switches;
  res.account[LoopAccount::ticks] = static_cast<double>(ran);
  res.account[LoopAccount::realtime_ranks] = ticked_realtime ? 1.0 : 0.0;
  if (plan.realtime) {
    int all = ticked_realtime ? 1 : 0;
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
    res.realtime = all;
  }
  if (status) status->stopping.store(true, std::memory_order_relaxed);

  // End of run: complete sends, learn how many messages each peer sent here, take them all.
  drain_in_flight(transport, res.peers, res.sent_to, arrived_from, comm, [&](const Message& m) {
    if (ledger.arrived(m.arrival) && progress) progress->count_late(ledger.late_deliveries(), ledger.first_late_s());
    machine.deliver(m);
  });
  machine.queue().for_each([&](const Message& m) { ++res.left_from[static_cast<std::size_t>(m.source)]; });

  const StopControl::Outcome stopped = stop.finish();
  phases.mark(PhaseTimes::drain, monotonic_now());
  // The offsets again, now that the network is quiet: how far each clock ran from rank 0's.
  clock.end = clock_sync.estimate();
  phases.mark(PhaseTimes::end_estimate, monotonic_now());
  res.end_s = std::min(plan.duration_s, std::max(0.0, stopped.at));
  res.completed = res.end_s >= plan.duration_s;
  res.stop_reason = res.completed ? "duration reached" : stopped.reason;
  res.stop_signal = res.completed ? 0 : stopped.signal;
  res.wall_s = bcast_value<double>(loop_end - t0, 0, comm);

  // Against the final end: ticks due before it that did not run were missed; ticks that ran at or
  // after it (a stop heard too late) overran.
  const MachineTiming timing =
      ledger.settle(ran, policy.due_before(res.end_s, ran), [&](std::int64_t k) { return tick_due(k, rate, phase); });
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
  policy.summarize(s);
  for (std::size_t j = 0; j < un; ++j) {
    res.account[LoopAccount::messages] += static_cast<double>(res.sent_to[j]);
    s.sent += res.sent_to[j];
    s.received += res.received_from[j];
    s.left_in_queue += res.left_from[j];
  }
  s.phase_s = phase;
  s.late_deliveries = timing.late_deliveries;
  s.missed_ticks = timing.missed_ticks;
  s.first_degraded_s = timing.first_s;
  phases.mark(PhaseTimes::settle, monotonic_now());
  return res;
}

}  // namespace clockbench
