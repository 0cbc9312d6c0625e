// A machine's network queue: FIFO ring buffer whose storage is reserved up front, so that
// taking arrivals inside the timed tick loop never allocates.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <vector>

#include "core/message.hpp"

namespace clockbench {

class MessageQueue {
 public:
  // Room for at least `capacity` messages waiting at once.
  explicit MessageQueue(std::size_t capacity) : slots_(slots_for(capacity)), mask_(slots_.size() - 1) {}

  // Slots reserved for a capacity: a power of two, so that indexing is a mask.
  static std::size_t slots_for(std::size_t capacity) {
    std::size_t p = 1;
    while (p < capacity) p <<= 1;
    return p;
  }

  bool empty() const { return head_ == tail_; }
  std::size_t size() const { return tail_ - head_; }
  std::size_t capacity() const { return slots_.size(); }

  // Throws when full: the capacity is a proven bound, so overflowing it is a bug, not load.
  void push(const Message& m) {
    if (size() == slots_.size()) throw std::length_error("MessageQueue: capacity exceeded");
    slots_[tail_++ & mask_] = m;
  }

  // Oldest message; the queue must not be empty.
  Message pop() { return slots_[head_++ & mask_]; }

  // Visits the waiting messages, oldest first.
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t i = head_; i != tail_; ++i) f(slots_[i & mask_]);
  }

 private:
  std::vector<Message> slots_;
  std::size_t mask_;
  std::size_t head_ = 0;  // monotonically increasing; masked on access
  std::size_t tail_ = 0;
};

}  // namespace clockbench
