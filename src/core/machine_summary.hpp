// One machine's numbers at the end of a run: a plain struct, so ranks can gather it as bytes.
#pragma once

#include <array>
#include <cstdint>
#include <limits>

#include "core/event.hpp"

namespace clockbench {

struct MachineSummary {
  std::int32_t rank = 0;
  std::int64_t pid = 0;
  double rate_hz = 0.0;
  double achieved_hz = 0.0;  // (ticks - 1) / (t_last - t_first); NaN below 2 ticks
  std::int64_t ticks = 0;
  std::int64_t sent = 0;
  std::int64_t received = 0;
  std::int64_t left_in_queue = 0;
  std::int64_t max_queue = 0;
  std::int64_t max_jump = 0;
  std::array<std::int64_t, 4> events_by_kind{};  // indexed by EventKind
  // This rank's clock minus rank 0's, estimated before the tick loop and after it; t is placed on
  // the line between the two (core/clock_line.hpp). The end fields are NaN without an end estimate.
  double clock_offset_s = 0.0;
  double clock_offset_uncertainty_s = 0.0;
  double clock_offset_end_s = std::numeric_limits<double>::quiet_NaN();
  double clock_offset_end_uncertainty_s = std::numeric_limits<double>::quiet_NaN();
  double clock_rate_ppm = std::numeric_limits<double>::quiet_NaN();           // (end - start) / interval * 1e6
  double clock_offset_interval_s = std::numeric_limits<double>::quiet_NaN();  // rank 0's clock, start to end
  double clock_offset_start_t_s = std::numeric_limits<double>::quiet_NaN();   // model time of the start estimate
  double lateness_p50_s = 0.0;
  double lateness_p99_s = 0.0;
  double lateness_max_s = 0.0;
  double phase_s = 0.0;  // model time of tick 0
  // Where the real-time loop fell short of the model (docs/model.md, "The real-time loop"):
  std::int64_t late_deliveries = 0;  // messages that arrived after a tick that should have seen them
  std::int64_t missed_ticks = 0;     // ticks due before end_s that could not run by end_s + grace
  double first_degraded_s = 0.0;     // model time of the first of either; NaN if none
};

// Fills the fields that follow from the event log: ticks, achieved rate, maxima, event mix.
void summarize_events(const EventLog& events, MachineSummary& s);

}  // namespace clockbench
