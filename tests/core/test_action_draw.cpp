// The draw's probabilities, tested statistically with fixed seeds. Each bound is a chi-square
// critical value with a false-alarm probability below 1e-6 for a correct draw.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "core/action_draw.hpp"

namespace clockbench {

namespace {

// Chi-square statistic of observed counts against expected probabilities.
double chi_square(const std::vector<double>& observed, const std::vector<double>& probability, double n) {
  double chi = 0.0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    const double expected = probability[i] * n;
    chi += (observed[i] - expected) * (observed[i] - expected) / expected;
  }
  return chi;
}

// Counts of: internal, send_one to peer 0..k-1, send_all.
std::vector<double> tally(double p_internal, std::size_t peers, int n, std::uint64_t seed) {
  ActionDraw draw(p_internal, peers);
  Rng rng(seed);
  std::vector<double> counts(peers + 2, 0.0);
  for (int i = 0; i < n; ++i) {
    const Action a = draw.draw(rng);
    if (a.kind == EventKind::internal)
      counts[0] += 1;
    else if (a.kind == EventKind::send_one)
      counts[1 + static_cast<std::size_t>(a.peer_index)] += 1;
    else
      counts[peers + 1] += 1;
  }
  return counts;
}

}  // namespace

TEST(ActionDraw, ThreeMachinesMatchTheExercisesOneToTenDraw) {
  // 1 -> one peer, 2 -> the other, 3 -> both, 4..10 -> internal.
  const int n = 1'000'000;
  const auto counts = tally(0.7, 2, n, 12345);
  // 3 degrees of freedom: P(chi2 > 30.7) < 1e-6.
  EXPECT_LT(chi_square(counts, {0.7, 0.1, 0.1, 0.1}, n), 30.7);
}

TEST(ActionDraw, GeneralisedProbabilitiesHoldForManyPeersAndOtherP) {
  const int n = 2'000'000;
  const double p = 0.25;
  const std::size_t peers = 7;
  std::vector<double> prob{p};
  for (std::size_t i = 0; i < peers; ++i) prob.push_back(2.0 * (1 - p) / 3.0 / peers);
  prob.push_back((1 - p) / 3.0);
  // 8 degrees of freedom: P(chi2 > 44.3) < 1e-6.
  EXPECT_LT(chi_square(tally(p, peers, n, 99), prob, n), 44.3);
}

TEST(ActionDraw, ABadDrawIsCaught) {
  // The test's own power: a draw with p = 0.69 must fail the p = 0.7 bound.
  const int n = 1'000'000;
  EXPECT_GT(chi_square(tally(0.69, 2, n, 12345), {0.7, 0.1, 0.1, 0.1}, n), 30.7);
}

TEST(ActionDraw, EdgeProbabilities) {
  const auto all_internal = tally(1.0, 2, 10'000, 1);
  EXPECT_EQ(all_internal[0], 10'000);
  const auto never_internal = tally(0.0, 2, 10'000, 1);
  EXPECT_EQ(never_internal[0], 0);
  EXPECT_GT(never_internal[3], 0);
}

TEST(ActionDraw, SameSeedSameSequence) {
  ActionDraw draw(0.5, 3);
  Rng a(42), b(42), c(43);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const Action x = draw.draw(a), y = draw.draw(b), z = draw.draw(c);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.peer_index, y.peer_index);
    differ += (x.kind != z.kind || x.peer_index != z.peer_index);
  }
  EXPECT_GT(differ, 100);
}

TEST(RngStreams, RanksGetDifferentStreamsFromOneSeed) {
  EXPECT_NE(stream_seed(1, 0), stream_seed(1, 1));
  EXPECT_NE(stream_seed(1, 0), stream_seed(2, 0));
  EXPECT_EQ(stream_seed(7, 3), stream_seed(7, 3));
}

TEST(RngStreams, BelowIsUniform) {
  Rng rng(5);
  std::vector<double> counts(6, 0.0);
  const int n = 600'000;
  for (int i = 0; i < n; ++i) counts[rng.below(6)] += 1;
  // 5 degrees of freedom: P(chi2 > 35.9) < 1e-6.
  EXPECT_LT(chi_square(counts, std::vector<double>(6, 1.0 / 6), n), 35.9);
}

}  // namespace clockbench
