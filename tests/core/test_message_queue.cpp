// The network queue in model time: in flight until a deadline passes the arrival time, then
// queued by (arrival, sender, sender tick); a capacity that is never silently exceeded.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/message_queue.hpp"

namespace clockbench {

TEST(MessageQueue, OneSendersMessagesLeaveInTheOrderSent) {
  MessageQueue q(4);
  for (int i = 0; i < 3; ++i) q.push({1, 10 + i, 100 + i, 0.5 + i});
  q.advance_to(10.0);
  EXPECT_EQ(q.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const Message m = q.pop();
    EXPECT_EQ(m.tick, 10 + i);
    EXPECT_EQ(m.clock, 100 + i);
  }
  EXPECT_TRUE(q.empty());
}

TEST(MessageQueue, OrdersByArrivalThenSenderThenTick) {
  MessageQueue q(8);
  q.push({2, 7, 0, 1.0});
  q.push({0, 9, 0, 1.0});
  q.push({0, 3, 0, 1.0});
  q.push({1, 1, 0, 0.5});
  q.advance_to(2.0);
  const std::pair<int, std::int64_t> want[] = {{1, 1}, {0, 3}, {0, 9}, {2, 7}};
  for (const auto& [source, tick] : want) {
    const Message m = q.pop();
    EXPECT_EQ(m.source, source);
    EXPECT_EQ(m.tick, tick);
  }
}

TEST(MessageQueue, AMessageIsQueuedOnlyOnceADeadlineIsAfterItsArrival) {
  MessageQueue q(4);
  q.push({0, 0, 0, 1.0});
  q.advance_to(1.0);  // a < T is strict: arriving at 1.0, it is still in flight at T = 1.0
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.in_flight(), 1u);
  q.advance_to(1.0000001);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.in_flight(), 0u);
  // Taken off the network after a later deadline (a late delivery): queued at once, in order.
  q.push({1, 0, 0, 0.25});
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.pop().source, 1);
}

TEST(MessageQueue, ThrowsInsteadOfGrowingPastItsCapacity) {
  MessageQueue q(2);
  q.push({});
  q.push({});
  EXPECT_THROW(q.push({}), std::length_error);
  EXPECT_EQ(q.size() + q.in_flight(), 2u);
}

TEST(MessageQueue, ForEachVisitsQueuedAndInFlightMessages) {
  MessageQueue q(8);
  for (int i = 0; i < 5; ++i) q.push({i, i, i, static_cast<double>(i)});
  q.advance_to(2.5);  // 0, 1, 2 queued; 3, 4 in flight
  q.pop();
  std::vector<int> seen;
  q.for_each([&](const Message& m) { seen.push_back(m.source); });
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4}));
}

}  // namespace clockbench
