// Sums what each machine reserves: its ticks, and room in its peers' queues for every send.
#include "core/footprint.hpp"

#include "core/schedule.hpp"
#include "core/topology.hpp"

namespace clockbench {

std::uint64_t run_footprint_bytes(const std::vector<double>& rates, double duration_s, std::int64_t max_ticks,
                                  Topology topology) {
  const auto n = static_cast<std::int32_t>(rates.size());
  std::uint64_t bytes = 0;
  for (std::int32_t j = 0; j < n; ++j) {
    const auto ticks =
        static_cast<std::uint64_t>(tick_budget(rates[static_cast<std::size_t>(j)], duration_s, max_ticks));
    // Each of j's ticks may put one message in the queue of each of its peers.
    const auto peers = static_cast<std::uint64_t>(peers_of(j, n, topology).size());
    bytes += ticks * (kBytesPerTick + peers * kBytesPerQueuedMessage);
  }
  return bytes;
}

}  // namespace clockbench
