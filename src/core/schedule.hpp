// When ticks happen: tick k of a machine at rate r is due at model time k / r. The engine's loop
// and the memory reserved for it use these same functions, so they cannot disagree.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace clockbench {

inline double tick_due(std::int64_t k, double rate) { return static_cast<double>(k) / rate; }

// Number of ticks due strictly before model time `end` (ticks k = 0, 1, ... with k / r < end).
inline std::int64_t ticks_before(double end, double rate) {
  if (!(end > 0.0)) return 0;
  auto k = static_cast<std::int64_t>(std::floor(end * rate));
  if (k < 0) k = 0;
  while (k > 0 && tick_due(k - 1, rate) >= end) --k;
  while (tick_due(k, rate) < end) ++k;
  return k;
}

// The rate of a flat-out machine (--rates max): every tick is due at once, so they run back to back.
inline constexpr double kFlatOutRate = std::numeric_limits<double>::infinity();
inline bool is_flat_out(double rate) { return std::isinf(rate); }

// Ticks a machine may make in the run, reserved before its first tick: those due before the end
// for a paced machine; for a flat-out one, whose ticks no rate bounds, the cap `max_ticks`.
inline std::int64_t tick_budget(double rate, double duration_s, std::int64_t max_ticks) {
  return is_flat_out(rate) ? max_ticks : ticks_before(duration_s, rate);
}

}  // namespace clockbench
