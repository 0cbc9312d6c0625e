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

TEST(TimingLedger, AMessageIsLateOnlyIfADecidedTickShouldHaveSeenIt) {
  TimingLedger ledger(true);
  ledger.arrived(0.5);  // nothing decided yet
  ledger.decided(1.0);
  ledger.arrived(1.0);   // a < T is strict: the tick at 1.0 could not have taken it
  ledger.arrived(1.25);  // in flight
  ledger.arrived(0.75);  // the tick at 1.0 should have: late
  ledger.decided(2.0);
  ledger.arrived(0.25);  // late, and earlier
  const MachineTiming t = ledger.settle(10, 10, [](std::int64_t k) { return 0.5 * static_cast<double>(k); });
  EXPECT_EQ(t.late_deliveries, 2);
  EXPECT_EQ(t.missed_ticks, 0);
  EXPECT_EQ(t.overrun_ticks, 0);
  EXPECT_EQ(t.first_s, 0.25);
}

TEST(TimingLedger, MissedAndOverrunTicksAgainstThoseDue) {
  auto deadline = [](std::int64_t k) { return 0.1 + 0.5 * static_cast<double>(k); };
  const MachineTiming missed = TimingLedger(true).settle(7, 10, deadline);
  EXPECT_EQ(missed.missed_ticks, 3);
  EXPECT_EQ(missed.first_s, deadline(7));  // the first tick that did not run
  const MachineTiming over = TimingLedger(true).settle(12, 10, deadline);
  EXPECT_EQ(over.overrun_ticks, 2);
  EXPECT_EQ(over.first_s, deadline(10));  // the first tick at or after the stop time
  const MachineTiming fine = TimingLedger(true).settle(10, 10, deadline);
  EXPECT_EQ(fine.problems(), 0);
  EXPECT_TRUE(std::isnan(fine.first_s));
}

TEST(TimingLedger, FlatOutHasNoDeadlinesToMiss) {
  TimingLedger ledger(false);
  ledger.decided(5.0);
  ledger.arrived(1.0);
  const MachineTiming t = ledger.settle(100, 0, [](std::int64_t) { return 0.0; });
  EXPECT_EQ(t.problems(), 0);
}

}  // namespace clockbench
