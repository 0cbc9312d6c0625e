// Lamport clock rules: +1 on local events, max(own, message) + 1 on receive.
#include <gtest/gtest.h>

#include "core/lamport_clock.hpp"

namespace clockbench {

TEST(LamportClock, StartsAtZeroAndAdvancesByOne) {
  LamportClock c;
  EXPECT_EQ(c.value(), 0);
  EXPECT_EQ(c.advance(), 1);
  EXPECT_EQ(c.advance(), 2);
  EXPECT_EQ(c.value(), 2);
}

TEST(LamportClock, MergeJumpsPastALargerMessageClock) {
  LamportClock c;
  c.advance();
  EXPECT_EQ(c.merge(10), 11);
  EXPECT_EQ(c.value(), 11);
}

TEST(LamportClock, MergeWithASmallerMessageClockStillAdvancesByOne) {
  LamportClock c;
  for (int i = 0; i < 5; ++i) c.advance();
  EXPECT_EQ(c.merge(2), 6);
  EXPECT_EQ(c.merge(6), 7);  // equal clocks: still strictly after the message
}

}  // namespace clockbench
