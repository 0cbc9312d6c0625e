// The network queue: FIFO order, wrap-around, and a capacity that is never silently exceeded.
#include <gtest/gtest.h>

#include <stdexcept>

#include "core/message_queue.hpp"

namespace clockbench {

TEST(MessageQueue, IsFirstInFirstOut) {
  MessageQueue q(4);
  for (int i = 0; i < 3; ++i) q.push({i, 10 + i, 100 + i});
  EXPECT_EQ(q.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const Message m = q.pop();
    EXPECT_EQ(m.source, i);
    EXPECT_EQ(m.tick, 10 + i);
    EXPECT_EQ(m.clock, 100 + i);
  }
  EXPECT_TRUE(q.empty());
}

TEST(MessageQueue, KeepsOrderAcrossManyWrapArounds) {
  MessageQueue q(3);  // rounded up to 4 slots
  std::int64_t next_in = 0, next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int burst = 1 + round % 4;
    for (int i = 0; i < burst; ++i) q.push({0, next_in++, 0});
    while (!q.empty()) EXPECT_EQ(q.pop().tick, next_out++);
  }
  EXPECT_EQ(next_in, next_out);
}

TEST(MessageQueue, ThrowsInsteadOfGrowingPastItsCapacity) {
  MessageQueue q(2);
  q.push({});
  q.push({});
  EXPECT_THROW(q.push({}), std::length_error);
  EXPECT_EQ(q.size(), 2u);
}

TEST(MessageQueue, ForEachVisitsWaitingMessagesOldestFirst) {
  MessageQueue q(8);
  for (int i = 0; i < 5; ++i) q.push({i, i, i});
  q.pop();
  std::vector<int> seen;
  q.for_each([&](const Message& m) { seen.push_back(m.source); });
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4}));
}

}  // namespace clockbench
