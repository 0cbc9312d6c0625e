// Sums what each machine reserves: its ticks, and room in its peers' queues for every send.
#include "core/footprint.hpp"

#include "core/schedule.hpp"
#include "core/topology.hpp"

namespace clockbench {

std::vector<std::uint64_t> queue_bounds(const std::vector<double>& rates, double duration_s, std::int64_t max_ticks,
                                        Topology topology) {
  const auto n = static_cast<std::int32_t>(rates.size());
  std::vector<std::uint64_t> bound(rates.size(), 1);
  for (std::int32_t j = 0; j < n; ++j) {
    const auto ticks =
        static_cast<std::uint64_t>(tick_budget(rates[static_cast<std::size_t>(j)], duration_s, max_ticks));
    for (const std::int32_t i : peers_of(j, n, topology)) bound[static_cast<std::size_t>(i)] += ticks;
  }
  return bound;
}

std::uint64_t run_footprint_bytes(const std::vector<double>& rates, double duration_s, std::int64_t max_ticks,
                                  Topology topology) {
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < rates.size(); ++i)
    bytes += static_cast<std::uint64_t>(tick_budget(rates[i], duration_s, max_ticks)) * kBytesPerTick;
  for (const std::uint64_t b : queue_bounds(rates, duration_s, max_ticks, topology))
    bytes += b * kBytesPerQueuedMessage;
  return bytes;
}

}  // namespace clockbench
