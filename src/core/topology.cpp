// Peer lists of the topologies, and the random:K graph (docs/model.md, "Topologies").
#include "core/topology.hpp"

#include <algorithm>
#include <charconv>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "core/random.hpp"

namespace clockbench {

namespace {

// The bounds of docs/model.md: a cycle's repair gives up after kRepairDrawsPerMachine x N drawn
// swaps, the graph after kGraphAttempts attempts.
constexpr std::int64_t kRepairDrawsPerMachine = 64;
constexpr int kGraphAttempts = 8;

using Graph = std::vector<std::vector<std::int32_t>>;

bool joined(const Graph& g, std::int32_t a, std::int32_t b) {
  const auto& row = g[static_cast<std::size_t>(a)];
  return std::find(row.begin(), row.end(), b) != row.end();
}

// One Hamiltonian cycle sharing no edge with `g`, in `order` (machine at each position), or false
// when its repair gave up. Draws from `rng` as docs/model.md lists.
bool draw_cycle(const Graph& g, Rng& rng, std::vector<std::int32_t>& order) {
  const auto n = static_cast<std::int64_t>(order.size());
  std::iota(order.begin(), order.end(), 0);
  for (std::int64_t i = n - 1; i > 0; --i)
    std::swap(order[static_cast<std::size_t>(i)],
              order[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i + 1)))]);
  auto at = [&](std::int64_t pos) -> std::int32_t& { return order[static_cast<std::size_t>(((pos % n) + n) % n)]; };
  // The edge from position pos to pos + 1 repeats one of g's.
  auto clash = [&](std::int64_t pos) { return joined(g, at(pos), at(pos + 1)) ? 1 : 0; };
  std::int64_t draws = 0;
  for (;;) {
    std::int64_t bad = 0;
    while (bad < n && !clash(bad)) ++bad;
    if (bad == n) return true;
    const std::int64_t a = (bad + 1) % n;
    // Swap position a with a drawn position j, kept only if it lowers the clashes of the edges it
    // touches (those starting at bad, a, j - 1, j; each counted once).
    for (;;) {
      if (++draws > kRepairDrawsPerMachine * n) return false;
      const auto j = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n)));
      std::int64_t touched[4] = {bad, a, (j + n - 1) % n, j};
      std::sort(touched, touched + 4);
      const std::int64_t* end = std::unique(touched, touched + 4);
      auto clashes = [&] {
        int c = 0;
        for (const std::int64_t* p = touched; p != end; ++p) c += clash(*p);
        return c;
      };
      const int before = clashes();
      std::swap(at(a), at(j));
      if (clashes() < before) break;
      std::swap(at(a), at(j));
    }
  }
}

Graph random_graph(std::int32_t n, std::int32_t k, std::uint64_t seed) {
  Rng rng(stream_seed(seed, kTopologyStream));
  std::vector<std::int32_t> order(static_cast<std::size_t>(n));
  for (int attempt = 0; attempt < kGraphAttempts; ++attempt) {
    Graph g(static_cast<std::size_t>(n));
    bool whole = true;
    for (std::int32_t c = 0; whole && c < k / 2; ++c) {
      whole = draw_cycle(g, rng, order);
      if (!whole) break;
      for (std::int32_t i = 0; i < n; ++i) {
        const std::int32_t a = order[static_cast<std::size_t>(i)];
        const std::int32_t b = order[static_cast<std::size_t>((i + 1) % n)];
        g[static_cast<std::size_t>(a)].push_back(b);
        g[static_cast<std::size_t>(b)].push_back(a);
      }
    }
    if (!whole) continue;
    for (auto& row : g) std::sort(row.begin(), row.end());
    return g;
  }
  throw std::runtime_error("--topology random:" + std::to_string(k) + ": no graph of " + std::to_string(k / 2) +
                           " edge-disjoint random cycles found for " + std::to_string(n) +
                           " machines with this seed: try another --seed or a smaller K");
}

// The last graph drawn, kept: a rank asks for the same one several times (its peers, its queue
// bound; rank 0 also its check and the footprint), and under SMPI many ranks share one process.
std::shared_ptr<const Graph> kept_random_graph(std::int32_t n, std::int32_t k, std::uint64_t seed) {
  struct Kept {
    std::int32_t n = 0, k = 0;
    std::uint64_t seed = 0;
    std::shared_ptr<const Graph> graph;
  };
  static std::mutex mutex;
  static Kept kept;
  const std::lock_guard<std::mutex> lock(mutex);
  if (!kept.graph || kept.n != n || kept.k != k || kept.seed != seed)
    kept = {n, k, seed, std::make_shared<const Graph>(random_graph(n, k, seed))};
  return kept.graph;
}

}  // namespace

std::string Topology::text() const {
  switch (kind) {
    case Kind::ring:
      return "ring";
    case Kind::random:
      return "random:" + std::to_string(k);
    case Kind::full:
      break;
  }
  return "full";
}

std::optional<Topology> parse_topology(std::string_view text, std::string& error) {
  if (text == "full") return Topology::full();
  if (text == "ring") return Topology::ring();
  constexpr std::string_view kRandom = "random:";
  if (text.substr(0, kRandom.size()) != kRandom) {
    error = "'" + std::string(text) + "' is not full, ring or random:K (K random peers per machine, K even)";
    return std::nullopt;
  }
  const std::string_view digits = text.substr(kRandom.size());
  std::int32_t k = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), k);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || k < 2 || k % 2 != 0) {
    error = "'" + std::string(text) + "': K must be an even whole number, at least 2 (random:K joins K/2 random " +
            "cycles)";
    return std::nullopt;
  }
  return Topology::random(k);
}

std::string check_topology(const Topology& t, std::int32_t n) {
  if (t.kind != Topology::Kind::random) return {};
  if (t.k >= n - 1)
    return "--topology " + t.text() + " with " + std::to_string(n) + " machines: every machine would have every " +
           "other as a peer; use --topology full";
  if (2 * t.k > n)
    return "--topology " + t.text() + " with " + std::to_string(n) + " machines: random:K is a sparse graph, K at " +
           "most N/2 (" + std::to_string(n / 2) + " here); use a smaller K or --topology full";
  return {};
}

Graph peer_graph(std::int32_t n, const Topology& topology, std::uint64_t seed) {
  if (topology.kind == Topology::Kind::random) return *kept_random_graph(n, topology.k, seed);
  Graph g;
  g.reserve(static_cast<std::size_t>(n));
  for (std::int32_t r = 0; r < n; ++r) g.push_back(peers_of(r, n, topology, seed));
  return g;
}

std::string check_peer_graph(const Topology& t, std::int32_t n, std::uint64_t seed) {
  if (t.kind != Topology::Kind::random) return {};
  try {
    kept_random_graph(n, t.k, seed);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return {};
}

std::vector<std::int32_t> peers_of(std::int32_t rank, std::int32_t n, const Topology& topology, std::uint64_t seed) {
  if (topology.kind == Topology::Kind::random)
    return (*kept_random_graph(n, topology.k, seed))[static_cast<std::size_t>(rank)];
  std::vector<std::int32_t> peers;
  if (topology.kind == Topology::Kind::ring) {
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
