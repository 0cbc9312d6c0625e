// A clock message as it travels between machines.
#pragma once

#include <cstdint>

namespace clockbench {

struct Message {
  std::int32_t source = -1;  // sending machine
  std::int64_t tick = -1;    // sender's tick index: with source, identifies the send
  std::int64_t clock = -1;   // sender's Lamport clock after the send event
  double arrival = 0.0;      // model arrival time: deadline of the send tick + latency (docs/model.md)
};

// The queue's order (docs/model.md): by arrival time, then sender rank, then sender tick.
inline bool queued_before(const Message& x, const Message& y) {
  if (x.arrival != y.arrival) return x.arrival < y.arrival;
  if (x.source != y.source) return x.source < y.source;
  return x.tick < y.tick;
}

}  // namespace clockbench
