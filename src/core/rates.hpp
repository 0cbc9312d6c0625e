// The machines' tick rates: the explicit list, or drawn from the range with the run's seed.
#pragma once

#include <cstdint>
#include <vector>

#include "core/config.hpp"

namespace clockbench {

// The rate draw has its own stream, apart from the machines' streams (0 .. N-1).
inline constexpr std::uint64_t kRateStream = 0xFFFF'FFFFULL;

// Rates for `n` machines; `seed` must be resolved. Assumes validate(c, n) passed. Flat out
// (--rates max), every rate is kFlatOutRate.
std::vector<double> resolve_rates(const Config& c, int n, std::uint64_t seed);

}  // namespace clockbench
