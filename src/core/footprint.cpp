// Sums what each machine reserves: its ticks, and room in its peers' queues for every send.
#include "core/footprint.hpp"

#include "core/schedule.hpp"
#include "core/topology.hpp"

namespace clockbench {

std::vector<std::uint64_t> queue_bounds(const std::vector<double>& rates, double duration_s, std::int64_t max_ticks,
                                        const Topology& topology, std::uint64_t seed) {
  const auto n = static_cast<std::int32_t>(rates.size());
  std::vector<std::uint64_t> ticks(rates.size());
  std::uint64_t total = 0;
  for (std::size_t j = 0; j < rates.size(); ++j) {
    ticks[j] = static_cast<std::uint64_t>(tick_budget(rates[j], duration_s, max_ticks));
    total += ticks[j];
  }
  std::vector<std::uint64_t> bound(rates.size(), 1);
  if (topology.kind == Topology::Kind::full) {  // every other machine: no N x N peer lists
    for (std::size_t i = 0; i < rates.size(); ++i) bound[i] += total - ticks[i];
    return bound;
  }
  const auto graph = peer_graph(n, topology, seed);
  for (std::size_t j = 0; j < rates.size(); ++j)
    for (const std::int32_t i : graph[j]) bound[static_cast<std::size_t>(i)] += ticks[j];
  return bound;
}

std::uint64_t run_footprint_bytes(const std::vector<double>& rates, double duration_s, std::int64_t max_ticks,
                                  const Topology& topology, std::uint64_t seed) {
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < rates.size(); ++i)
    bytes += static_cast<std::uint64_t>(tick_budget(rates[i], duration_s, max_ticks)) * kBytesPerTick;
  for (const std::uint64_t b : queue_bounds(rates, duration_s, max_ticks, topology, seed))
    bytes += b * kBytesPerQueuedMessage;
  return bytes;
}

}  // namespace clockbench
