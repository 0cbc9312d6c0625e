// One machine of the scale model: its clock, its network queue, its random stream, and the
// rule for one tick. Pure: the engine delivers messages in and carries sends out.
#pragma once

#include <cstdint>
#include <vector>

#include "core/action_draw.hpp"
#include "core/event.hpp"
#include "core/lamport_clock.hpp"
#include "core/message_queue.hpp"
#include "core/random.hpp"

namespace clockbench {

class Machine {
 public:
  Machine(std::int32_t rank, std::vector<std::int32_t> peers, double p_internal, std::uint64_t stream_seed,
          std::size_t queue_capacity);

  // A message taken from the network: waits in the queue for a tick.
  void deliver(const Message& m) { queue_.push(m); }

  // One tick: a receive if a message waits, else the draw. The returned event tells the
  // engine what to send: send_one to `peer`, send_all to every peer, both carrying `lamport`.
  EventRecord tick(std::int64_t index, double t);

  std::int32_t rank() const { return rank_; }
  const std::vector<std::int32_t>& peers() const { return peers_; }
  const MessageQueue& queue() const { return queue_; }
  std::int64_t clock() const { return clock_.value(); }

 private:
  std::int32_t rank_;
  std::vector<std::int32_t> peers_;
  ActionDraw draw_;
  Rng rng_;
  LamportClock clock_;
  MessageQueue queue_;
};

}  // namespace clockbench
