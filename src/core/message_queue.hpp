// A machine's network queue in model time (docs/model.md): messages taken off the network wait
// "in flight" until their arrival time a is before the deadline T of a tick, then "queued",
// ordered by (a, sender, sender tick). Both are binary heaps whose storage is reserved up front,
// so that taking arrivals inside the timed tick loop never allocates.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <vector>

#include "core/message.hpp"

namespace clockbench {

class MessageQueue {
 public:
  // Room for at least `capacity` messages held at once (queued and in flight together).
  explicit MessageQueue(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
    queued_.reserve(capacity_);
    flight_.reserve(capacity_);
  }

  // Messages queued (a < the last deadline advanced to); the next tick's receive takes the first.
  bool empty() const { return queued_.empty(); }
  std::size_t size() const { return queued_.size(); }
  std::size_t in_flight() const { return flight_.size(); }
  std::size_t capacity() const { return capacity_; }

  // A message taken off the network. Throws when full: the capacity is a proven bound, so
  // overflowing it is a bug, not load.
  void push(const Message& m) {
    if (queued_.size() + flight_.size() >= capacity_) throw std::length_error("MessageQueue: capacity exceeded");
    if (m.arrival < horizon_) {
      put(queued_, m);
    } else {
      put(flight_, m);
    }
  }

  // Makes the queue that of deadline T: every message with arrival < T is queued.
  void advance_to(double deadline) {
    horizon_ = std::max(horizon_, deadline);
    while (!flight_.empty() && flight_.front().arrival < horizon_) put(queued_, take(flight_));
  }

  // The first queued message; the queue must not be empty.
  Message pop() { return take(queued_); }

  // Visits every message held, queued or in flight, in no particular order.
  template <typename F>
  void for_each(F&& f) const {
    for (const Message& m : queued_) f(m);
    for (const Message& m : flight_) f(m);
  }

 private:
  // std heaps put the largest first: "larger" here is "queued later".
  static bool later(const Message& x, const Message& y) { return queued_before(y, x); }
  static void put(std::vector<Message>& heap, const Message& m) {
    heap.push_back(m);
    std::push_heap(heap.begin(), heap.end(), later);
  }
  static Message take(std::vector<Message>& heap) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Message m = heap.back();
    heap.pop_back();
    return m;
  }

  std::size_t capacity_;
  std::vector<Message> queued_;
  std::vector<Message> flight_;
  double horizon_ = -std::numeric_limits<double>::infinity();  // the latest deadline advanced to
};

}  // namespace clockbench
