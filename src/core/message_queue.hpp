// A machine's network queue in model time (docs/model.md): messages taken off the network wait
// "in flight" until their arrival time a is before the deadline T of a tick, then "queued",
// ordered by (a, sender, sender tick). Both are binary heaps in one buffer reserved up front (the
// queued heap grows from its front, the in-flight heap from its back), so that taking arrivals
// inside the timed tick loop never allocates. The buffer is allocated, not written: a flat-out
// machine reserves room for millions of messages, and writing them all before the run took
// seconds (docs/measurements.md, "Phases of a run"); a slot is constructed when a message is put in it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>

#include "core/message.hpp"

namespace clockbench {

class MessageQueue {
 public:
  // Room for at least `capacity` messages held at once (queued and in flight together).
  explicit MessageQueue(std::size_t capacity)
      : capacity_(std::max<std::size_t>(capacity, 1)),
        buf_(std::allocator<Message>().allocate(capacity_), Free{capacity_}) {}

  // Messages queued (a < the last deadline advanced to); the next tick's receive takes the first.
  bool empty() const { return queued_ == 0; }
  std::size_t size() const { return queued_; }
  std::size_t in_flight() const { return flight_; }
  std::size_t capacity() const { return capacity_; }

  // A message taken off the network. Throws when full: the capacity is a proven bound, so
  // overflowing it is a bug, not load.
  void push(const Message& m) {
    if (queued_ + flight_ >= capacity_) throw std::length_error("MessageQueue: capacity exceeded");
    if (m.arrival < horizon_) {
      put(front(), queued_, m);
    } else {
      put(back(), flight_, m);
    }
  }

  // Makes the queue that of deadline T: every message with arrival < T is queued.
  void advance_to(double deadline) {
    horizon_ = std::max(horizon_, deadline);
    while (flight_ > 0 && back()[0].arrival < horizon_) put(front(), queued_, take(back(), flight_));
  }

  // The first queued message; the queue must not be empty.
  Message pop() { return take(front(), queued_); }

  // Visits every message held, queued or in flight, in no particular order.
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < queued_; ++i) f(buf_.get()[i]);
    for (std::size_t i = 0; i < flight_; ++i) f(buf_.get()[capacity_ - 1 - i]);
  }

 private:
  // std heaps put the largest first: "larger" here is "queued later". A heap is `size` elements
  // from `first` (an iterator from the front for the queued, from the back for the in flight).
  static bool later(const Message& x, const Message& y) { return queued_before(y, x); }
  Message* front() { return buf_.get(); }
  std::reverse_iterator<Message*> back() { return std::reverse_iterator<Message*>(buf_.get() + capacity_); }

  // The slot after the heap is constructed here, by copy (a slot once used holds a Message: the
  // heaps only ever move messages between constructed slots).
  template <typename It>
  static void put(It first, std::size_t& size, const Message& m) {
    ::new (static_cast<void*>(std::addressof(first[static_cast<std::ptrdiff_t>(size)]))) Message(m);
    ++size;
    std::push_heap(first, first + static_cast<std::ptrdiff_t>(size), later);
  }
  template <typename It>
  static Message take(It first, std::size_t& size) {
    std::pop_heap(first, first + static_cast<std::ptrdiff_t>(size), later);
    --size;
    return first[static_cast<std::ptrdiff_t>(size)];
  }

  // Messages are trivially destructible: freeing the storage is all a slot needs.
  static_assert(std::is_trivially_destructible_v<Message> && std::is_trivially_copyable_v<Message>);
  struct Free {
    std::size_t n;
    void operator()(Message* p) const { std::allocator<Message>().deallocate(p, n); }
  };
  std::size_t capacity_;
  std::unique_ptr<Message, Free> buf_;
  std::size_t queued_ = 0;  // heap at buf_[0, queued_)
  std::size_t flight_ = 0;  // heap at buf_'s last flight_ elements, its top the very last
  double horizon_ = -std::numeric_limits<double>::infinity();  // the latest deadline advanced to
};

}  // namespace clockbench
