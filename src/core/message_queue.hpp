// A machine's network queue in model time (docs/model.md): messages taken off the network wait
// "in flight" until their arrival time a is before the deadline T of a tick, then "queued",
// ordered by (a, sender, sender tick). Both are binary heaps in one buffer reserved up front (the
// queued heap grows from its front, the in-flight heap from its back), so that taking arrivals
// inside the timed tick loop never allocates.
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
  explicit MessageQueue(std::size_t capacity) : buf_(std::max<std::size_t>(capacity, 1)) {}

  // Messages queued (a < the last deadline advanced to); the next tick's receive takes the first.
  bool empty() const { return queued_ == 0; }
  std::size_t size() const { return queued_; }
  std::size_t in_flight() const { return flight_; }
  std::size_t capacity() const { return buf_.size(); }

  // A message taken off the network. Throws when full: the capacity is a proven bound, so
  // overflowing it is a bug, not load.
  void push(const Message& m) {
    if (queued_ + flight_ >= buf_.size()) throw std::length_error("MessageQueue: capacity exceeded");
    if (m.arrival < horizon_) {
      put(buf_.begin(), queued_, m);
    } else {
      put(buf_.rbegin(), flight_, m);
    }
  }

  // Makes the queue that of deadline T: every message with arrival < T is queued.
  void advance_to(double deadline) {
    horizon_ = std::max(horizon_, deadline);
    while (flight_ > 0 && buf_.back().arrival < horizon_) put(buf_.begin(), queued_, take(buf_.rbegin(), flight_));
  }

  // The first queued message; the queue must not be empty.
  Message pop() { return take(buf_.begin(), queued_); }

  // Visits every message held, queued or in flight, in no particular order.
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < queued_; ++i) f(buf_[i]);
    for (std::size_t i = 0; i < flight_; ++i) f(buf_[buf_.size() - 1 - i]);
  }

 private:
  // std heaps put the largest first: "larger" here is "queued later". A heap is `size` elements
  // from `first` (an iterator from the front for the queued, from the back for the in flight).
  static bool later(const Message& x, const Message& y) { return queued_before(y, x); }
  template <typename It>
  static void put(It first, std::size_t& size, const Message& m) {
    first[static_cast<std::ptrdiff_t>(size)] = m;
    ++size;
    std::push_heap(first, first + static_cast<std::ptrdiff_t>(size), later);
  }
  template <typename It>
  static Message take(It first, std::size_t& size) {
    std::pop_heap(first, first + static_cast<std::ptrdiff_t>(size), later);
    --size;
    return first[static_cast<std::ptrdiff_t>(size)];
  }

  std::vector<Message> buf_;
  std::size_t queued_ = 0;  // heap at buf_[0, queued_)
  std::size_t flight_ = 0;  // heap at buf_'s last flight_ elements, its top the very last
  double horizon_ = -std::numeric_limits<double>::infinity();  // the latest deadline advanced to
};

}  // namespace clockbench
