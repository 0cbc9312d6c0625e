// When ticks happen (docs/model.md): tick k of a machine at rate r with phase φ is due at model
// time φ + k / r. The engine's loop and the memory reserved for it use these same functions, so
// they cannot disagree.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace clockbench {

inline double tick_due(std::int64_t k, double rate, double phase = 0.0) {
  return phase + static_cast<double>(k) / rate;
}

// Number of ticks due strictly before model time `end` (ticks k = 0, 1, ... with φ + k / r < end).
inline std::int64_t ticks_before(double end, double rate, double phase = 0.0) {
  if (!(end > phase)) return 0;
  auto k = static_cast<std::int64_t>(std::floor((end - phase) * rate));
  if (k < 0) k = 0;
  while (k > 0 && tick_due(k - 1, rate, phase) >= end) --k;
  while (tick_due(k, rate, phase) < end) ++k;
  return k;
}

// The rate of a flat-out machine (--rates max): every tick is due at once, so they run back to back.
inline constexpr double kFlatOutRate = std::numeric_limits<double>::infinity();
inline bool is_flat_out(double rate) { return std::isinf(rate); }

// Ticks a machine may make in the run, reserved before its first tick: those due before the end
// for a paced machine (at phase 0, the most any phase gives); for a flat-out one, whose ticks no
// rate bounds, the cap `max_ticks`.
inline std::int64_t tick_budget(double rate, double duration_s, std::int64_t max_ticks) {
  return is_flat_out(rate) ? max_ticks : ticks_before(duration_s, rate);
}

}  // namespace clockbench
