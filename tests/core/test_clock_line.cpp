// The clock offset's line between its two estimates, and where it places t: cases worked by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "core/clock_line.hpp"

namespace clockbench {

namespace {

// Rank 0's clock reads 100 at the start estimate and 200 at the end one; this rank's clock is 10 s
// ahead at the start and 10.002 s at the end: it runs 0.002 s / 100 s = 20 ppm fast.
ClockLine twenty_ppm() {
  ClockLine line;
  line.start = {10.0, 1e-6, 110.0};    // own clock 110 = 100 + 10
  line.end = {10.002, 3e-6, 210.002};  // own clock 210.002 = 200 + 10.002
  return line;
}

constexpr double kTol = 1e-9;

}  // namespace

TEST(ClockLine, RateAndIntervalFromTheTwoEstimates) {
  const ClockLine line = twenty_ppm();
  ASSERT_TRUE(line.has_end());
  EXPECT_NEAR(line.interval_s(), 100.0, kTol);  // 200 - 100 on rank 0's clock
  EXPECT_NEAR(line.rate_ppm(), 20.0, 1e-6);     // 0.002 / 100 * 1e6
  EXPECT_EQ(line.uncertainty_s(), 3e-6);        // the larger of the two
}

TEST(ClockLine, OffsetIsLinearInTheRanksOwnClock) {
  const ClockLine line = twenty_ppm();
  EXPECT_NEAR(line.offset_at(110.0), 10.0, kTol);
  EXPECT_NEAR(line.offset_at(210.002), 10.002, kTol);
  // Halfway along this rank's clock, (160.001 - 110) / (210.002 - 110) = 1/2: halfway between.
  EXPECT_NEAR(line.offset_at(160.001), 10.001, kTol);
  // A quarter: 110 + 25.0005.
  EXPECT_NEAR(line.offset_at(135.0005), 10.0005, kTol);
}

TEST(ClockLine, PlacesTheLoopsTOnTheLine) {
  const ClockLine line = twenty_ppm();
  // Model time 0 at rank 0's clock 105, two model seconds per wall second.
  const double t0_rank0 = 105.0, speedup = 2.0;
  const double start_t = start_estimate_t(line, t0_rank0, speedup);
  EXPECT_NEAR(start_t, -10.0, kTol);  // (110 - 10 - 105) * 2
  const TimePlacement place = time_placement(start_t, line.start.offset_s, line.end.offset_s, line.interval_s());
  ASSERT_TRUE(place.moves());
  // A tick at own clock 160.001: the loop stamped (160.001 - 10 - 105) * 2 = 90.002 on the start
  // offset; on the line the offset there is 10.001, so t = (160.001 - 10.001 - 105) * 2 = 90.
  EXPECT_NEAR(place(90.002), 90.0, kTol);
  // At the start estimate nothing moves; at the end one, own clock 210.002, the loop's
  // (210.002 - 115) * 2 = 190.004 becomes (210.002 - 10.002 - 105) * 2 = 190 = start_t + 100 * 2.
  EXPECT_NEAR(place(-10.0), -10.0, kTol);
  EXPECT_NEAR(place(190.004), 190.0, kTol);
  // Every reading c, by the definition: (c - offset_at(c) - t0) * speedup.
  for (double c = 110.0; c <= 210.002; c += 7.25) {
    const double loop_t = (c - line.start.offset_s - t0_rank0) * speedup;
    EXPECT_NEAR(place(loop_t), (c - line.offset_at(c) - t0_rank0) * speedup, kTol) << c;
  }
}

TEST(ClockLine, AClockBehindRankZerosMovesTheOtherWay) {
  // 5 s behind at rank 0's 1000, 5.0005 s behind at 1500: 1 ppm slow.
  ClockLine line;
  line.start = {-5.0, 2e-6, 995.0};
  line.end = {-5.0005, 1e-6, 1494.9995};
  EXPECT_NEAR(line.interval_s(), 500.0, kTol);
  EXPECT_NEAR(line.rate_ppm(), -1.0, 1e-6);
  EXPECT_EQ(line.uncertainty_s(), 2e-6);
  const double start_t = start_estimate_t(line, 1000.0, 1.0);  // (995 + 5 - 1000) * 1 = 0
  EXPECT_NEAR(start_t, 0.0, kTol);
  const TimePlacement place = time_placement(start_t, line.start.offset_s, line.end.offset_s, line.interval_s());
  // Own clock 1244.99975 (halfway): stamped 1244.99975 + 5 - 1000 = 249.99975, placed with the
  // offset -5.00025: 1244.99975 + 5.00025 - 1000 = 250.
  EXPECT_NEAR(place(249.99975), 250.0, kTol);
}

TEST(ClockLine, WithoutAnEndEstimateTStaysOnTheStartOffset) {
  ClockLine line;
  line.start = {10.0, 1e-6, 110.0};  // end left NaN: no estimate
  EXPECT_FALSE(line.has_end());
  EXPECT_TRUE(std::isnan(line.rate_ppm()));
  EXPECT_EQ(line.offset_at(500.0), 10.0);
  EXPECT_EQ(line.uncertainty_s(), 1e-6);
  const double nan = std::nan("");
  const TimePlacement place = time_placement(-10.0, 10.0, nan, nan);
  EXPECT_FALSE(place.moves());
  EXPECT_EQ(place(123.456), 123.456);
  // An end estimate not after the start one is no end estimate either.
  line.end = {10.5, 1e-6, 110.0};
  EXPECT_FALSE(line.has_end());
}

TEST(ClockLine, OneClockMovesNothing) {
  // Rank 0's host: offset 0 exactly at both ends.
  ClockLine line;
  line.start = {0.0, 0.0, 50.0};
  line.end = {0.0, 0.0, 80.0};
  EXPECT_EQ(line.rate_ppm(), 0.0);
  const TimePlacement place = time_placement(start_estimate_t(line, 51.0, 4.0), 0.0, 0.0, line.interval_s());
  EXPECT_FALSE(place.moves());
  EXPECT_EQ(place(7.0), 7.0);
}

}  // namespace clockbench
