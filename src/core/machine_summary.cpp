// Per-machine figures computed from the event log alone.
#include "core/machine_summary.hpp"

#include <algorithm>
#include <limits>

namespace clockbench {

void summarize_events(const EventLog& events, MachineSummary& s) {
  const std::size_t n = events.size();
  s.ticks = static_cast<std::int64_t>(n);
  s.achieved_hz = n >= 2 ? static_cast<double>(n - 1) / (events.t.back() - events.t.front())
                         : std::numeric_limits<double>::quiet_NaN();
  s.max_queue = 0;
  s.max_jump = 0;
  s.events_by_kind = {};
  for (std::size_t i = 0; i < n; ++i) {
    s.max_queue = std::max<std::int64_t>(s.max_queue, events.queue[i]);
    s.max_jump = std::max(s.max_jump, events.jump[i]);
    ++s.events_by_kind[events.kind[i] & 3u];
  }
}

}  // namespace clockbench
