// One line for the file, the result line's warning and the report.
#include "core/timing_verdict.hpp"

#include <cmath>
#include <cstdio>

namespace clockbench {

std::string timing_verdict(const std::vector<MachineTiming>& machines) {
  MachineTiming total;
  std::size_t worst = 0;
  for (std::size_t i = 0; i < machines.size(); ++i) {
    total.late_deliveries += machines[i].late_deliveries;
    total.missed_ticks += machines[i].missed_ticks;
    total.overrun_ticks += machines[i].overrun_ticks;
    if (machines[i].problems() > machines[worst].problems()) worst = i;
  }
  if (total.problems() == 0) return "ok";
  const MachineTiming& w = machines[worst];
  char text[400];
  int len = std::snprintf(text, sizeof text, "degraded: %lld late deliveries, %lld missed ticks",
                          static_cast<long long>(total.late_deliveries), static_cast<long long>(total.missed_ticks));
  if (total.overrun_ticks > 0)
    len += std::snprintf(text + len, sizeof text - static_cast<std::size_t>(len), ", %lld ticks after the stop time",
                         static_cast<long long>(total.overrun_ticks));
  std::snprintf(text + len, sizeof text - static_cast<std::size_t>(len),
                "; worst machine %zu (%lld late deliveries, %lld missed ticks), first at model t %.6g s", worst,
                static_cast<long long>(w.late_deliveries), static_cast<long long>(w.missed_ticks), w.first_s);
  return text;
}

}  // namespace clockbench
