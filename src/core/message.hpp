// A clock message as it travels between machines.
#pragma once

#include <cstdint>

namespace clockbench {

struct Message {
  std::int32_t source = -1;  // sending machine
  std::int64_t tick = -1;    // sender's tick index: with source, identifies the send
  std::int64_t clock = -1;   // sender's Lamport clock after the send event
};

}  // namespace clockbench
