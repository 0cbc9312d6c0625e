// The tick cap guard: a flat-out machine asks for the stop while its ticks left outlast the lead.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

#include "core/tick_cap.hpp"

namespace clockbench {

namespace {
// The first tick at which the guard asks, for a machine ticking at `rate` per wall second.
std::int64_t first_request(std::int64_t budget, double rate, double lead) {
  TickCapGuard guard(budget, lead);
  for (std::int64_t k = 0; k < budget; ++k)
    if (guard.near_cap(k, static_cast<double>(k) / rate)) return k;
  return budget;
}
}  // namespace

TEST(TickCapGuard, AsksWhileTheTicksLeftOutlastTheLeadThreeTimes) {
  const std::int64_t k = first_request(5'000'000, 1e6, 0.1);  // 0.1 s of lead = 100 000 ticks
  EXPECT_LT(k, 5'000'000 - 3 * 100'000);
  EXPECT_GT(k, 5'000'000 - 3 * 100'000 - 2 * 1024);
}

TEST(TickCapGuard, AsksAtOnceWhenTheBudgetIsSmallerThanTheMargin) {
  EXPECT_EQ(first_request(500, 1e6, 0.1), 0);
  EXPECT_LE(first_request(200'000, 1e6, 0.1), 1024);
}

TEST(TickCapGuard, KeepsTheFastestRateItHasSeen) {
  TickCapGuard guard(10'000'000, 0.1);
  double now = 0.0;
  std::int64_t k = 0;
  for (; k < 4096; ++k, now += 1e-6) guard.near_cap(k, now);  // 1 M ticks/s
  for (; k < 8192; ++k, now += 1e-5) guard.near_cap(k, now);  // then 100 k ticks/s
  EXPECT_NEAR(guard.peak_rate(), 1e6, 1e3);
}

TEST(TickCapGuard, NearTheCapTheTicksLeftLastManyLeads) {
  // Paced by spacing_after from the first request, the ticks left last far longer than the
  // kSafety leads they were sized for: the machine cannot run out before a late stop arrives.
  const double lead = 0.1;
  const std::int64_t budget = 200'000;
  TickCapGuard guard(budget, lead);
  double now = 0.0;
  std::int64_t k = 0;
  for (; k < budget && !guard.near_cap(k, now); ++k) now += 1e-6;  // 1 M ticks/s until it asks
  const double asked = now;
  for (; k < budget; ++k) now += std::max(1e-6, guard.spacing_after(k));
  EXPECT_GT(now - asked, 10 * lead);
  EXPECT_EQ(guard.spacing_after(budget - 1), 0.0);  // after the last tick there is nothing to pace
}

}  // namespace clockbench
