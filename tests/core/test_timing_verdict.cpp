// The timing verdict: "ok" only when no machine fell short; otherwise the counts, the worst
// machine and when.
#include <gtest/gtest.h>

#include <cmath>

#include "core/timing_verdict.hpp"

namespace clockbench {

TEST(TimingVerdict, OkWhenNothingWasLateOrMissed) {
  const double none = std::nan("");
  EXPECT_EQ(timing_verdict({{0, 0, 0, none}, {0, 0, 0, none}}), "ok");
}

TEST(TimingVerdict, DegradedNamesTotalsTheWorstMachineAndWhen) {
  const double none = std::nan("");
  const std::string v = timing_verdict({{2, 0, 0, 12.5}, {0, 0, 0, none}, {1, 7, 0, 40.25}});
  EXPECT_EQ(v,
            "degraded: 3 late deliveries, 7 missed ticks; worst machine 2 (1 late deliveries, 7 missed ticks), "
            "first at model t 40.25 s");
}

TEST(TimingVerdict, TicksAfterTheStopTimeDegradeTheRunToo) {
  const std::string v = timing_verdict({{0, 0, 3, 9.0}, {0, 0, 0, std::nan("")}});
  EXPECT_EQ(v.rfind("degraded: 0 late deliveries, 0 missed ticks, 3 ticks after the stop time; worst machine 0", 0), 0u)
      << v;
}

}  // namespace clockbench
