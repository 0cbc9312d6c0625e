// What the tick loop publishes for a reader in another thread (the journal's flusher): where the
// event log's columns live (reserved before the loop, so they never move, not even when the
// engine's result is moved out of it), how many events they hold, and its late deliveries so far.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>

#include "core/event.hpp"

namespace clockbench {

struct EventColumns {
  const std::int64_t* tick = nullptr;
  const double* t = nullptr;
  const std::int64_t* lamport = nullptr;
  const std::int64_t* jump = nullptr;
  const std::int64_t* msg_tick = nullptr;
  const std::int64_t* msg_clock = nullptr;
  const double* msg_arrival = nullptr;
  const std::int32_t* queue = nullptr;
  const std::int32_t* peer = nullptr;
  const std::uint8_t* kind = nullptr;
};

struct EventProgress {
  EventColumns columns;                    // written once, before `ready` is set
  std::atomic<bool> ready{false};          // store-release once the columns are set
  std::atomic<std::int64_t> published{0};  // events appended; store-release after each append
  // The start estimate of the clock offset, for the journal's header: written before `ready` too.
  double clock_offset_s = 0.0;
  double clock_offset_uncertainty_s = 0.0;
  // The loop's running count of late deliveries (TimingLedger) and the earliest arrival time among
  // them, for the journal's records and header. The loop stores them at each late delivery, the
  // time first (relaxed), then the count (release): a reader that loads the count (acquire) then
  // the time sees a time at least as recent as the count.
  std::atomic<std::int64_t> late_deliveries{0};
  std::atomic<double> first_late_s{std::numeric_limits<double>::infinity()};

  void count_late(std::int64_t count, double first_s) {
    first_late_s.store(first_s, std::memory_order_relaxed);
    late_deliveries.store(count, std::memory_order_release);
  }

  // Called by the loop's owner once the log is reserved.
  void set_columns(const EventLog& log) {
    columns = {log.tick.data(),      log.t.data(),           log.lamport.data(), log.jump.data(), log.msg_tick.data(),
               log.msg_clock.data(), log.msg_arrival.data(), log.queue.data(),   log.peer.data(), log.kind.data()};
    ready.store(true, std::memory_order_release);
  }
};

}  // namespace clockbench
