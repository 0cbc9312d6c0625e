// Deterministic random streams (xoshiro256**, seeded by splitmix64): the same seed gives the
// same draws with every compiler and library, which std:: distributions do not promise.
#pragma once

#include <cstdint>

namespace clockbench {

// One step of splitmix64: a good 64-bit mixer, used to seed and to derive streams.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// The seed of stream `stream` of a run: rank r draws from stream r; the rate draw uses its own.
inline std::uint64_t stream_seed(std::uint64_t run_seed, std::uint64_t stream) {
  std::uint64_t s = run_seed ^ (0xD1B54A32D192ED03ULL * (stream + 1));
  return splitmix64(s);
}

// The streams of a run (docs/model.md, "Random streams"): machine r's action draws, its phase and
// its message latencies; the drawn rates use kRateStream (core/rates.hpp).
inline std::uint64_t action_stream(std::uint64_t rank) { return rank; }
inline std::uint64_t phase_stream(std::uint64_t rank) { return (1ULL << 32) + rank; }
inline std::uint64_t latency_stream(std::uint64_t rank) { return (2ULL << 32) + rank; }
// The random:K peer graph (core/topology.cpp): one stream for the whole graph, drawn alike on every rank.
inline constexpr std::uint64_t kTopologyStream = 3ULL << 32;

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& word : s_) word = splitmix64(seed);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Uniform integer in [0, n), n > 0, without modulo bias: rejects the few values below
  // 2^64 mod n, so the rest split evenly into n classes.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace clockbench
