// One logged event (one per tick) and the reserved, column-wise log that holds a machine's events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

namespace clockbench {

enum class EventKind : std::uint8_t { internal = 0, send_one = 1, send_all = 2, receive = 3 };

struct EventRecord {
  std::int64_t tick = 0;
  double t = 0.0;  // god's-eye model time the tick ran at
  EventKind kind = EventKind::internal;
  std::int64_t lamport = 0;                                       // after the event
  std::int64_t jump = 0;                                          // lamport after - lamport before
  std::int32_t queue = 0;                                         // messages still waiting after the event
  std::int32_t peer = -1;                                         // destination of send_one, source of receive
  std::int64_t msg_tick = -1;                                     // receive: sender's tick
  std::int64_t msg_clock = -1;                                    // receive: clock carried by the message
  double msg_arrival = std::numeric_limits<double>::quiet_NaN();  // receive: the message's model arrival time
};

// Column-wise storage, as the file stores it. Capacity is fixed by reserve(); append() past it
// throws rather than reallocate, because it runs inside the timed loop.
class EventLog {
 public:
  void reserve(std::size_t n) {
    tick.reserve(n);
    t.reserve(n);
    kind.reserve(n);
    lamport.reserve(n);
    jump.reserve(n);
    queue.reserve(n);
    peer.reserve(n);
    msg_tick.reserve(n);
    msg_clock.reserve(n);
    msg_arrival.reserve(n);
  }

  // Forgets every event and keeps the reserved capacity.
  void clear() {
    tick.clear();
    t.clear();
    kind.clear();
    lamport.clear();
    jump.clear();
    queue.clear();
    peer.clear();
    msg_tick.clear();
    msg_clock.clear();
    msg_arrival.clear();
  }

  std::size_t size() const { return tick.size(); }
  std::size_t capacity() const { return tick.capacity(); }

  void append(const EventRecord& e) {
    if (size() == capacity()) throw std::length_error("EventLog: reserved capacity exceeded");
    tick.push_back(e.tick);
    t.push_back(e.t);
    kind.push_back(static_cast<std::uint8_t>(e.kind));
    lamport.push_back(e.lamport);
    jump.push_back(e.jump);
    queue.push_back(e.queue);
    peer.push_back(e.peer);
    msg_tick.push_back(e.msg_tick);
    msg_clock.push_back(e.msg_clock);
    msg_arrival.push_back(e.msg_arrival);
  }

  std::vector<std::int64_t> tick;
  std::vector<double> t;
  std::vector<std::uint8_t> kind;
  std::vector<std::int64_t> lamport;
  std::vector<std::int64_t> jump;
  std::vector<std::int32_t> queue;
  std::vector<std::int32_t> peer;
  std::vector<std::int64_t> msg_tick;
  std::vector<std::int64_t> msg_clock;
  std::vector<double> msg_arrival;
};

}  // namespace clockbench
