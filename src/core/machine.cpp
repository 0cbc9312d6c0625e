// The tick rule of docs/model.md.
#include "core/machine.hpp"

#include <algorithm>
#include <utility>

namespace clockbench {

Machine::Machine(std::int32_t rank, std::vector<std::int32_t> peers, double p_internal, std::uint64_t run_seed,
                 std::size_t queue_capacity, const Latency& latency)
    : peers_(std::move(peers)),
      draw_(p_internal, peers_.size()),
      rng_(stream_seed(run_seed, action_stream(static_cast<std::uint64_t>(rank)))),
      latency_(latency),
      latency_rng_(stream_seed(run_seed, latency_stream(static_cast<std::uint64_t>(rank)))),
      queue_(queue_capacity) {}

EventRecord Machine::tick(std::int64_t index, double deadline, double t) {
  EventRecord e;
  e.tick = index;
  e.t = t;
  const std::int64_t before = clock_.value();
  queue_.advance_to(deadline);
  if (!queue_.empty()) {
    const Message m = queue_.pop();
    e.kind = EventKind::receive;
    e.lamport = clock_.merge(m.clock);
    e.peer = m.source;
    e.msg_tick = m.tick;
    e.msg_clock = m.clock;
    e.msg_arrival = m.arrival;
  } else {
    const Action a = draw_.draw(rng_);
    e.kind = a.kind;
    e.lamport = clock_.advance();
    if (a.kind == EventKind::send_one) e.peer = peers_[static_cast<std::size_t>(a.peer_index)];
  }
  e.jump = e.lamport - before;
  e.queue = static_cast<std::int32_t>(queue_.size());
  return e;
}

void Machine::quiet_ticks(std::vector<std::int32_t>& quiet, std::int32_t horizon) const {
  quiet.assign(peers_.size(), horizon);  // no allocation once sized: the engine keeps the vector
  Rng ahead = rng_;
  std::size_t open = peers_.size();
  for (std::int32_t d = 0; d < horizon && open > 0; ++d) {
    const Action a = draw_.draw(ahead);
    if (a.kind == EventKind::send_all) {
      for (auto& q : quiet) q = std::min(q, d);
      return;
    }
    if (a.kind == EventKind::send_one && quiet[static_cast<std::size_t>(a.peer_index)] == horizon) {
      quiet[static_cast<std::size_t>(a.peer_index)] = d;
      --open;
    }
  }
}

}  // namespace clockbench
