// One machine's tick: a waiting message is always taken first; otherwise the draw.
#include <gtest/gtest.h>

#include "core/machine.hpp"

namespace clockbench {

TEST(Machine, ReceivesWhenTheQueueHoldsAMessage) {
  Machine m(1, {0, 2}, 0.7, 9, 16);
  m.deliver({2, 5, 40});
  m.deliver({0, 3, 7});
  const EventRecord e = m.tick(0, 0.0);
  EXPECT_EQ(e.kind, EventKind::receive);
  EXPECT_EQ(e.lamport, 41);
  EXPECT_EQ(e.jump, 41);
  EXPECT_EQ(e.peer, 2);
  EXPECT_EQ(e.msg_tick, 5);
  EXPECT_EQ(e.msg_clock, 40);
  EXPECT_EQ(e.queue, 1);  // one message still waiting after the event
  const EventRecord f = m.tick(1, 1.0);
  EXPECT_EQ(f.kind, EventKind::receive);
  EXPECT_EQ(f.lamport, 42);  // own clock is ahead: +1
  EXPECT_EQ(f.jump, 1);
  EXPECT_EQ(f.queue, 0);
}

TEST(Machine, FreeTicksDrawAndAdvanceByOne) {
  Machine m(0, {1, 2}, 0.0, 3, 4);  // p_internal 0: every free tick sends
  for (int k = 0; k < 100; ++k) {
    const EventRecord e = m.tick(k, k);
    EXPECT_TRUE(e.kind == EventKind::send_one || e.kind == EventKind::send_all);
    EXPECT_EQ(e.lamport, k + 1);
    EXPECT_EQ(e.jump, 1);
    EXPECT_EQ(e.queue, 0);
    EXPECT_EQ(e.msg_tick, -1);
    EXPECT_EQ(e.msg_clock, -1);
    if (e.kind == EventKind::send_one)
      EXPECT_TRUE(e.peer == 1 || e.peer == 2);
    else
      EXPECT_EQ(e.peer, -1);
  }
}

TEST(Machine, SameSeedSameEvents) {
  Machine a(0, {1, 2}, 0.5, 77, 4), b(0, {1, 2}, 0.5, 77, 4);
  for (int k = 0; k < 200; ++k) {
    const EventRecord x = a.tick(k, 0), y = b.tick(k, 0);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.peer, y.peer);
  }
}

}  // namespace clockbench
