// Who may send to whom: `full` (everyone) or `ring` (the two neighbours).
#pragma once

#include <cstdint>
#include <vector>

#include "core/config.hpp"

namespace clockbench {

// Peers of `rank` among `n` machines, ascending, without duplicates (a ring of 2 has 1 peer).
std::vector<std::int32_t> peers_of(std::int32_t rank, std::int32_t n, Topology topology);

}  // namespace clockbench
