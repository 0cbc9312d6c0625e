// The peer graphs of core/topology.hpp: random:K's properties, its draws against the independent
// reading of docs/model.md in tests/analysis/replay.py, and the parsing of --topology.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/footprint.hpp"
#include "core/topology.hpp"

namespace clockbench {
namespace {

using Graph = std::vector<std::vector<std::int32_t>>;

// Machines reachable from machine 0 (breadth first).
std::size_t reachable_from_0(const Graph& g) {
  std::vector<bool> seen(g.size(), false);
  std::vector<std::int32_t> todo{0};
  seen[0] = true;
  std::size_t count = 1;
  while (!todo.empty()) {
    const std::int32_t i = todo.back();
    todo.pop_back();
    for (const std::int32_t j : g[static_cast<std::size_t>(i)])
      if (!seen[static_cast<std::size_t>(j)]) {
        seen[static_cast<std::size_t>(j)] = true;
        ++count;
        todo.push_back(j);
      }
  }
  return count;
}

// Symmetric, K-regular, no self loop, ascending without duplicates, connected.
void expect_random_k_graph(const Graph& g, std::int32_t n, std::int32_t k, const std::string& what) {
  ASSERT_EQ(g.size(), static_cast<std::size_t>(n)) << what;
  for (std::int32_t i = 0; i < n; ++i) {
    const auto& row = g[static_cast<std::size_t>(i)];
    EXPECT_EQ(row.size(), static_cast<std::size_t>(k)) << what << ": machine " << i;
    EXPECT_TRUE(std::is_sorted(row.begin(), row.end())) << what;
    EXPECT_EQ(std::adjacent_find(row.begin(), row.end()), row.end()) << what << ": a duplicate peer of " << i;
    for (const std::int32_t j : row) {
      EXPECT_NE(j, i) << what << ": machine " << i << " is its own peer";
      ASSERT_TRUE(j >= 0 && j < n) << what;
      const auto& back = g[static_cast<std::size_t>(j)];
      EXPECT_TRUE(std::binary_search(back.begin(), back.end(), i)) << what << ": " << j << " -> " << i << " missing";
    }
  }
  EXPECT_EQ(reachable_from_0(g), static_cast<std::size_t>(n)) << what << ": not connected";
}

TEST(RandomTopology, EveryGraphIsSymmetricRegularAndConnected) {
  for (std::int32_t n = 4; n <= 40; ++n)
    for (std::int32_t k = 2; 2 * k <= n; k += 2)
      for (std::uint64_t seed : {0ULL, 1ULL, 2ULL, 0xFFFFFFFFFFFFFFFFULL}) {
        const std::string what =
            "N=" + std::to_string(n) + " random:" + std::to_string(k) + " seed " + std::to_string(seed);
        expect_random_k_graph(peer_graph(n, Topology::random(k), seed), n, k, what);
      }
  expect_random_k_graph(peer_graph(4096, Topology::random(8), 17), 4096, 8, "N=4096 random:8");
}

// The same graphs as tests/analysis/replay.py draws from docs/model.md alone (N=12, K=6, seed 2
// needs the second attempt: its first gives up in the repair).
TEST(RandomTopology, DrawsAsTheModelSays) {
  EXPECT_EQ(peer_graph(4, Topology::random(2), 0), (Graph{{2, 3}, {2, 3}, {0, 1}, {0, 1}}));
  EXPECT_EQ(peer_graph(6, Topology::random(2), 1), (Graph{{2, 5}, {4, 5}, {0, 3}, {2, 4}, {1, 3}, {0, 1}}));
  EXPECT_EQ(peer_graph(9, Topology::random(4), 7), (Graph{{1, 3, 4, 6},
                                                          {0, 3, 6, 7},
                                                          {5, 6, 7, 8},
                                                          {0, 1, 5, 8},
                                                          {0, 5, 6, 7},
                                                          {2, 3, 4, 8},
                                                          {0, 1, 2, 4},
                                                          {1, 2, 4, 8},
                                                          {2, 3, 5, 7}}));
  EXPECT_EQ(peer_graph(12, Topology::random(6), 2), (Graph{{1, 2, 3, 4, 8, 10},
                                                           {0, 3, 5, 6, 7, 10},
                                                           {0, 3, 4, 8, 9, 11},
                                                           {0, 1, 2, 7, 8, 10},
                                                           {0, 2, 6, 9, 10, 11},
                                                           {1, 6, 7, 9, 10, 11},
                                                           {1, 4, 5, 8, 9, 11},
                                                           {1, 3, 5, 8, 9, 11},
                                                           {0, 2, 3, 6, 7, 11},
                                                           {2, 4, 5, 6, 7, 10},
                                                           {0, 1, 3, 4, 5, 9},
                                                           {2, 4, 5, 6, 7, 8}}));
}

// Each queue holds at most one message per tick of each machine that has it as a peer, plus one:
// the graph of random:2, N = 6, seed 1 above, ticks = rate x 10 s.
TEST(RandomTopology, QueueBoundsFollowTheGraph) {
  EXPECT_EQ(queue_bounds({1, 2, 3, 4, 5, 6}, 10, 0, Topology::random(2), 1),
            (std::vector<std::uint64_t>{1 + 30 + 60, 1 + 50 + 60, 1 + 10 + 40, 1 + 30 + 50, 1 + 20 + 40, 1 + 10 + 20}));
}

TEST(RandomTopology, TheSeedDecidesTheGraph) {
  const Graph a = peer_graph(64, Topology::random(4), 5);
  EXPECT_EQ(peer_graph(64, Topology::random(4), 5), a);  // deterministic
  int differing = 0;
  for (std::uint64_t seed = 6; seed < 16; ++seed) differing += peer_graph(64, Topology::random(4), seed) != a;
  EXPECT_EQ(differing, 10);
  // Each rank's own list is its row of the graph.
  for (std::int32_t r = 0; r < 64; ++r) EXPECT_EQ(peers_of(r, 64, Topology::random(4), 5), a[static_cast<size_t>(r)]);
  // random:2 is one cycle through every machine: connected and 2-regular (checked above), and
  // not the ring in rank order for this seed.
  EXPECT_NE(peer_graph(64, Topology::random(2), 5), peer_graph(64, Topology::ring(), 5));
}

TEST(RandomTopology, ParsesAndRefuses) {
  std::string error;
  EXPECT_EQ(parse_topology("full", error), Topology::full());
  EXPECT_EQ(parse_topology("ring", error), Topology::ring());
  EXPECT_EQ(parse_topology("random:8", error), Topology::random(8));
  EXPECT_EQ(Topology::random(8).text(), "random:8");
  for (const char* bad : {"random", "random:", "random:0", "random:3", "random:x", "random:-2", "random:4x", "star",
                          "Full", "random:99999999999"}) {
    error.clear();
    EXPECT_FALSE(parse_topology(bad, error)) << bad;
    EXPECT_NE(error.find(std::string("'") + bad + "'"), std::string::npos) << error;
  }
  EXPECT_EQ(check_topology(Topology::random(4), 8), "");
  EXPECT_EQ(check_topology(Topology::random(8), 6),
            "--topology random:8 with 6 machines: every machine would have every other as a peer; use --topology "
            "full");
  EXPECT_EQ(check_topology(Topology::random(4), 7),
            "--topology random:4 with 7 machines: random:K is a sparse graph, K at most N/2 (3 here); use a smaller "
            "K or --topology full");
  EXPECT_EQ(check_topology(Topology::random(4), 5).substr(0, 80),
            "--topology random:4 with 5 machines: every machine would have every other as a p");
  EXPECT_EQ(check_topology(Topology::random(2), 3).substr(0, 35), "--topology random:2 with 3 machines");
  EXPECT_EQ(check_topology(Topology::ring(), 2), "");
  EXPECT_EQ(check_peer_graph(Topology::random(6), 12, 2), "");
}

}  // namespace
}  // namespace clockbench
