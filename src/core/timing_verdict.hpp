// The timing verdict of a run (docs/model.md, "The real-time loop"): "ok" when every machine kept
// up with the model, else "degraded: ..." naming the counts, the worst machine and when.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace clockbench {

struct MachineTiming {
  std::int64_t late_deliveries = 0;
  std::int64_t missed_ticks = 0;
  std::int64_t overrun_ticks = 0;  // ticks that ran at or after a stop time they learned of too late
  double first_s = 0.0;            // model time of the first problem; NaN if none
  std::int64_t problems() const { return late_deliveries + missed_ticks + overrun_ticks; }
};

std::string timing_verdict(const std::vector<MachineTiming>& machines);

}  // namespace clockbench
