// Draws the rates: integers in [ceil(min), floor(max)] as in the exercise, or reals in [min, max].
#include "core/rates.hpp"

#include <cmath>

#include "core/random.hpp"
#include "core/schedule.hpp"

namespace clockbench {

std::vector<double> resolve_rates(const Config& c, int n, std::uint64_t seed) {
  if (c.flat_out) return std::vector<double>(static_cast<std::size_t>(n), kFlatOutRate);
  if (!c.rates.empty()) return c.rates;
  Rng rng(stream_seed(seed, kRateStream));
  std::vector<double> rates(static_cast<std::size_t>(n));
  for (auto& r : rates) {
    if (c.fractional_rates) {
      r = c.rate_min + rng.uniform() * (c.rate_max - c.rate_min);
    } else {
      const auto lo = static_cast<std::uint64_t>(std::ceil(c.rate_min));
      const auto hi = static_cast<std::uint64_t>(std::floor(c.rate_max));
      r = static_cast<double>(lo + rng.below(hi - lo + 1));
    }
  }
  return rates;
}

}  // namespace clockbench
