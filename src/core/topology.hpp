// Who may send to whom: `full` (everyone), `ring` (the two neighbours) or `random:K` (K random
// peers each, drawn from the run's seed; docs/model.md, "Topologies").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clockbench {

struct Topology {
  enum class Kind { full, ring, random };
  Kind kind = Kind::full;
  std::int32_t k = 0;  // random: peers per machine (even, 2 .. N/2); 0 otherwise

  static Topology full() { return {}; }
  static Topology ring() { return {Kind::ring, 0}; }
  static Topology random(std::int32_t k) { return {Kind::random, k}; }
  // As the option takes it and the file records it: full, ring, random:K.
  std::string text() const;
  bool operator==(const Topology& o) const { return kind == o.kind && k == o.k; }
  bool operator!=(const Topology& o) const { return !(*this == o); }
};

// Parses a --topology setting; on failure returns nullopt and sets `error` to one line naming the fix.
std::optional<Topology> parse_topology(std::string_view text, std::string& error);

// Empty if `t` can join `n` machines; otherwise one line naming the fix (random:K needs K <= N/2).
std::string check_topology(const Topology& t, std::int32_t n);

// Every machine's peers, ascending, without duplicates (a ring of 2 has 1 peer). Symmetric: j is
// a peer of i iff i is a peer of j. random:K draws its graph from `seed` (the same on every rank;
// the last graph is kept for the next call); the other topologies ignore the seed. Throws
// std::runtime_error if random:K finds no graph within docs/model.md's bounded tries.
std::vector<std::vector<std::int32_t>> peer_graph(std::int32_t n, const Topology& topology, std::uint64_t seed);

// Empty if peer_graph finds the graph of (n, t, seed); otherwise its one-line error.
std::string check_peer_graph(const Topology& t, std::int32_t n, std::uint64_t seed);

// Peers of `rank` among `n` machines: row `rank` of peer_graph.
std::vector<std::int32_t> peers_of(std::int32_t rank, std::int32_t n, const Topology& topology, std::uint64_t seed);

}  // namespace clockbench
