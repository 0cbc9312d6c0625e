// The Lamport clock of one machine: +1 on local events, max(own, message) + 1 on receive.
#pragma once

#include <algorithm>
#include <cstdint>

namespace clockbench {

class LamportClock {
 public:
  std::int64_t value() const { return value_; }

  // A local event (internal or send): returns the new value.
  std::int64_t advance() { return ++value_; }

  // A receive of a message stamped `message_clock`: returns the new value.
  std::int64_t merge(std::int64_t message_clock) {
    value_ = std::max(value_, message_clock) + 1;
    return value_;
  }

 private:
  std::int64_t value_ = 0;
};

}  // namespace clockbench
