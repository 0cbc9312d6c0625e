// When a flat-out machine, whose ticks no rate bounds, must ask for the run to stop so that every
// machine still stops at one model time: while it has ticks left for the stop's lead (the time
// every rank needs to hear of the stop) several times over, at the fastest rate it has shown.
#pragma once

#include <algorithm>
#include <cstdint>

namespace clockbench {

class TickCapGuard {
 public:
  // `budget`: the ticks reserved (--max-ticks); `lead_wall_s`: how far ahead a stop is set.
  TickCapGuard(std::int64_t budget, double lead_wall_s) : budget_(budget), lead_wall_s_(lead_wall_s) {}

  // Called for every tick k = 0, 1, ... with the wall time it starts at; true once the ticks left
  // would last less than kSafety leads. The rate is measured over windows of kWindow ticks, and
  // the fastest window is kept: a machine that speeds up (a core freed) must not outrun its margin.
  bool near_cap(std::int64_t k, double now) {
    if (k % kWindow == 0) {
      if (k > 0 && now > window_start_)
        peak_rate_ = std::max(peak_rate_, static_cast<double>(kWindow) / (now - window_start_));
      window_start_ = now;
    }
    return static_cast<double>(budget_ - k) <= static_cast<double>(kWindow) + peak_rate_ * kSafety * lead_wall_s_;
  }

  // Once near the cap, the least wall time between tick k and tick k+1. With r ticks left a
  // machine ticks at most r / (kSafety * lead) times a second: its ticks left then shrink
  // exponentially and last about kSafety * lead * ln(r), many leads, however late the stop
  // decision comes (a rank 0 starved of a core, say), and the pause hands the core to it.
  double spacing_after(std::int64_t k) const {
    const std::int64_t left = budget_ - k - 1;
    return left > 0 ? kSafety * lead_wall_s_ / static_cast<double>(left) : 0.0;
  }

  double peak_rate() const { return peak_rate_; }  // ticks per wall second

 private:
  static constexpr std::int64_t kWindow = 1024;
  static constexpr double kSafety = 3.0;
  std::int64_t budget_;
  double lead_wall_s_;
  double window_start_ = 0.0;
  double peak_rate_ = 0.0;
};

}  // namespace clockbench
