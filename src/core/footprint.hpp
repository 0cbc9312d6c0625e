// Memory a run reserves before its first tick (event log, lateness samples, queues), so that a
// run too big for the machine is refused up front rather than failing after minutes of running.
#pragma once

#include <cstdint>
#include <vector>

#include "core/config.hpp"
#include "core/message.hpp"

namespace clockbench {

// Bytes reserved per tick: the event log's columns, one lateness sample, and the rank column
// the writer builds.
inline constexpr std::uint64_t kBytesPerTick = 65 + 8 + 4;
inline constexpr std::uint64_t kBytesPerQueuedMessage = sizeof(Message);

// Most messages that can ever wait in each machine's queue: one per tick of every machine that
// has it as a peer (plus one). The engine sizes the queues with it; the footprint counts it.
// `seed` draws random:K's graph (core/topology.hpp).
std::vector<std::uint64_t> queue_bounds(const std::vector<double>& rates, double duration_s, std::int64_t max_ticks,
                                        const Topology& topology, std::uint64_t seed);

// Total over all machines, as if they all ran on one host. `max_ticks` bounds flat-out machines.
std::uint64_t run_footprint_bytes(const std::vector<double>& rates, double duration_s, std::int64_t max_ticks,
                                  const Topology& topology, std::uint64_t seed);

}  // namespace clockbench
