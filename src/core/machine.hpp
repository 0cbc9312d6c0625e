// One machine of the scale model: its clock, its network queue, its random streams, and the
// rule for one tick (docs/model.md). Pure: the engine delivers messages in and carries sends out.
#pragma once

#include <cstdint>
#include <vector>

#include "core/action_draw.hpp"
#include "core/event.hpp"
#include "core/lamport_clock.hpp"
#include "core/latency.hpp"
#include "core/message_queue.hpp"
#include "core/random.hpp"

namespace clockbench {

class Machine {
 public:
  // Draws come from streams of `run_seed` for `rank` (docs/model.md, "Random streams").
  Machine(std::int32_t rank, std::vector<std::int32_t> peers, double p_internal, std::uint64_t run_seed,
          std::size_t queue_capacity, const Latency& latency = {});

  // A message taken from the network: in flight until a tick's deadline passes its arrival time.
  void deliver(const Message& m) { queue_.push(m); }

  // One tick with deadline `deadline`, run at god's-eye time `t`: a receive if a message with
  // arrival < deadline waits, else the draw. The returned event tells the engine what to send:
  // send_one to `peer`, send_all to every peer, each message carrying `lamport` and arriving at
  // message_arrival(deadline).
  EventRecord tick(std::int64_t index, double deadline, double t);

  // The model arrival time of the next message this machine sends from a tick with this deadline:
  // one latency draw per message, in the order they are sent.
  double message_arrival(double send_deadline) { return send_deadline + latency_.draw(latency_rng_); }

  // Lookahead from the machine's own stream: for each peer (index into peers()), how many of its
  // coming draws send that peer nothing, looking at most `horizon` draws ahead. Every tick either
  // receives (and sends nothing) or takes the next draw, so no tick before `quiet[p]` ticks from
  // now can send peer p a message.
  void quiet_ticks(std::vector<std::int32_t>& quiet, std::int32_t horizon) const;

  const MessageQueue& queue() const { return queue_; }

 private:
  std::vector<std::int32_t> peers_;
  ActionDraw draw_;
  Rng rng_;
  Latency latency_;
  Rng latency_rng_;
  LamportClock clock_;
  MessageQueue queue_;
};

}  // namespace clockbench
