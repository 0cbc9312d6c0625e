// Peer lists of the topologies.
#include "core/topology.hpp"

#include <algorithm>

namespace clockbench {

std::vector<std::int32_t> peers_of(std::int32_t rank, std::int32_t n, Topology topology) {
  std::vector<std::int32_t> peers;
  if (topology == Topology::ring) {
    peers = {(rank + n - 1) % n, (rank + 1) % n};
  } else {
    for (std::int32_t j = 0; j < n; ++j) peers.push_back(j);
  }
  peers.erase(std::remove(peers.begin(), peers.end(), rank), peers.end());
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  return peers;
}

}  // namespace clockbench
