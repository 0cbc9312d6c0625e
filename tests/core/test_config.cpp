// Validation of every bad experiment a user can ask for, and the rules it lets through.
#include <gtest/gtest.h>

#include <cmath>

#include "core/config.hpp"
#include "core/footprint.hpp"
#include "core/rates.hpp"
#include "core/schedule.hpp"
#include "core/topology.hpp"

namespace clockbench {

namespace {
// The error for `c` on `n` machines must mention `words`.
void expect_error(const Config& c, int n, const std::string& words) {
  const std::string err = validate(c, n);
  EXPECT_NE(err.find(words), std::string::npos) << "error was: '" << err << "', expected to mention '" << words << "'";
  EXPECT_EQ(err.find('\n'), std::string::npos) << "errors are one line";
}
}  // namespace

TEST(ConfigValidate, DefaultsAreTheClassicExperiment) {
  const Config c;
  EXPECT_EQ(validate(c, 3), "");
  EXPECT_EQ(c.duration_s, 60.0);
  EXPECT_EQ(c.p_internal, 0.7);
  EXPECT_EQ(c.rate_min, 1.0);
  EXPECT_EQ(c.rate_max, 6.0);
  EXPECT_EQ(c.topology, Topology::full());
}

TEST(ConfigValidate, RejectsOneMachine) { expect_error(Config{}, 1, "at least 2 machines"); }

TEST(ConfigValidate, RejectsRatesOfTheWrongCount) {
  Config c;
  c.rates = {1, 2};
  expect_error(c, 3, "lists 2 rates but there are 3 machines");
}

TEST(ConfigValidate, RejectsZeroNegativeAndNonFiniteRates) {
  for (double bad : {0.0, -1.0, std::nan(""), static_cast<double>(INFINITY)}) {
    Config c;
    c.rates = {1, bad, 3};
    expect_error(c, 3, "every rate must be a positive number");
  }
}

TEST(ConfigValidate, RejectsAnInvertedOrEmptyRange) {
  Config c;
  c.rate_min = 5;
  c.rate_max = 2;
  expect_error(c, 3, "--rate-min (5) is greater than --rate-max (2)");
  Config d;
  d.rate_min = 1.2;
  d.rate_max = 1.8;
  expect_error(d, 3, "no integer rate");
  d.fractional_rates = true;
  EXPECT_EQ(validate(d, 3), "");
}

TEST(ConfigValidate, RejectsProbabilitiesOutsideZeroOne) {
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    Config c;
    c.p_internal = bad;
    expect_error(c, 3, "--p-internal must be a probability in [0, 1]");
  }
  for (double good : {0.0, 1.0}) {
    Config c;
    c.p_internal = good;
    EXPECT_EQ(validate(c, 3), "");
  }
}

TEST(ConfigValidate, RejectsNonPositiveDurationAndSpeedup) {
  for (double bad : {0.0, -3.0, std::nan("")}) {
    Config c;
    c.duration_s = bad;
    expect_error(c, 3, "--duration must be a positive number");
    Config d;
    d.speedup = bad;
    expect_error(d, 3, "--speedup must be a positive number");
  }
}

TEST(ConfigValidate, RejectsRunsTooLongToHoldInMemory) {
  Config c;
  c.rates = {1e9, 1};
  expect_error(c, 2, "shorten --duration");
}

TEST(Rates, DrawnIntegersStayInRangeAndFollowTheSeed) {
  Config c;
  const auto a = resolve_rates(c, 64, 5), b = resolve_rates(c, 64, 5), d = resolve_rates(c, 64, 6);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, d);
  std::vector<int> seen(7, 0);
  for (double r : a) {
    ASSERT_EQ(r, std::floor(r));
    ASSERT_GE(r, 1);
    ASSERT_LE(r, 6);
    ++seen[static_cast<std::size_t>(r)];
  }
  for (int v = 1; v <= 6; ++v) EXPECT_GT(seen[static_cast<std::size_t>(v)], 0) << "rate " << v << " never drawn";
}

TEST(Rates, FractionalDrawsAndExplicitLists) {
  Config c;
  c.fractional_rates = true;
  c.rate_min = 0.5;
  c.rate_max = 0.75;
  for (double r : resolve_rates(c, 100, 1)) {
    EXPECT_GE(r, 0.5);
    EXPECT_LT(r, 0.75);
  }
  Config e;
  e.rates = {1, 2.5, 6};
  EXPECT_EQ(resolve_rates(e, 3, 1), e.rates);
}

TEST(Schedule, TicksBeforeCountsDeadlinesStrictlyBeforeTheEnd) {
  EXPECT_EQ(ticks_before(60, 1), 60);  // 0, 1, ..., 59
  EXPECT_EQ(ticks_before(60, 6), 360);
  EXPECT_EQ(ticks_before(1, 3), 3);      // 0, 1/3, 2/3
  EXPECT_EQ(ticks_before(1.01, 3), 4);   // 1.0 < 1.01
  EXPECT_EQ(ticks_before(0.1, 0.5), 1);  // only tick 0
  EXPECT_EQ(ticks_before(0, 5), 0);
  for (double r : {0.1, 0.3, 1.0, 2.9, 6.0, 1000.0})
    for (double end : {0.7, 10.0, 33.3}) {
      const auto n = ticks_before(end, r);
      EXPECT_LT(tick_due(n - 1, r), end);
      EXPECT_GE(tick_due(n, r), end);
    }
}

TEST(Footprint, QueueBoundsCountEverySendersTicks) {
  // Rates 1, 2, 4 for 10 s: 10, 20, 40 ticks. Full: each queue hears from the other two.
  const auto full = queue_bounds({1, 2, 4}, 10, 0, Topology::full(), 0);
  EXPECT_EQ(full, (std::vector<std::uint64_t>{61, 51, 31}));
  // Ring of 4: machine 0 hears from 1 and 3.
  const auto ring = queue_bounds({1, 2, 4, 8}, 10, 0, Topology::ring(), 0);
  EXPECT_EQ(ring[0], 1u + 20u + 80u);
  // The footprint counts every tick and every message a queue may hold: 61 + 51 + 31 of them here.
  const std::uint64_t ticks = 70 * kBytesPerTick;
  EXPECT_EQ(run_footprint_bytes({1, 2, 4}, 10, 0, Topology::full(), 0),
            ticks + (61 + 51 + 31) * kBytesPerQueuedMessage);
}

TEST(Topology, FullAndRingPeers) {
  EXPECT_EQ(peers_of(1, 4, Topology::full(), 0), (std::vector<std::int32_t>{0, 2, 3}));
  EXPECT_EQ(peers_of(0, 5, Topology::ring(), 0), (std::vector<std::int32_t>{1, 4}));
  EXPECT_EQ(peers_of(0, 2, Topology::ring(), 0), (std::vector<std::int32_t>{1}));
  EXPECT_EQ(peers_of(1, 3, Topology::ring(), 0), peers_of(1, 3, Topology::full(), 0));  // N = 3: the same
  EXPECT_EQ(Topology::ring().text(), "ring");
  EXPECT_EQ(Topology::full().text(), "full");
}

TEST(ConfigValidate, FlatOutNeedsAPositiveTickCap) {
  Config c;
  c.flat_out = true;
  EXPECT_EQ(validate(c, 3), "");
  for (std::int64_t bad : {std::int64_t{0}, std::int64_t{-1}, kMaxTicksPerMachine + 1}) {
    c.max_ticks = bad;
    expect_error(c, 3, "--max-ticks must be a whole number of ticks per machine");
  }
}

TEST(TickBudget, IsTheTicksDueForAPacedMachineAndTheCapFlatOut) {
  EXPECT_EQ(tick_budget(6, 60, 1000), 360);
  EXPECT_EQ(tick_budget(kFlatOutRate, 60, 1000), 1000);
  Config c;
  c.flat_out = true;
  for (double r : resolve_rates(c, 4, 1)) EXPECT_TRUE(is_flat_out(r));
}

}  // namespace clockbench
