// One machine's tick: the first message queued before the deadline is taken; otherwise the draw.
#include <gtest/gtest.h>

#include <cmath>

#include "core/machine.hpp"

namespace clockbench {

TEST(Machine, ReceivesTheFirstMessageQueuedBeforeTheDeadline) {
  Machine m(1, {0, 2}, 0.7, 9, 16);
  m.deliver({2, 5, 40, 0.5});
  m.deliver({0, 3, 7, 0.75});
  const EventRecord e = m.tick(0, 1.0, 1.0);
  EXPECT_EQ(e.kind, EventKind::receive);
  EXPECT_EQ(e.lamport, 41);
  EXPECT_EQ(e.jump, 41);
  EXPECT_EQ(e.peer, 2);
  EXPECT_EQ(e.msg_tick, 5);
  EXPECT_EQ(e.msg_clock, 40);
  EXPECT_EQ(e.msg_arrival, 0.5);
  EXPECT_EQ(e.queue, 1);  // one message still waiting after the event
  const EventRecord f = m.tick(1, 2.0, 2.0);
  EXPECT_EQ(f.kind, EventKind::receive);
  EXPECT_EQ(f.lamport, 42);  // own clock is ahead: +1
  EXPECT_EQ(f.jump, 1);
  EXPECT_EQ(f.queue, 0);
}

TEST(Machine, AMessageArrivingOnTheDeadlineWaitsForTheNextTick) {
  Machine m(0, {1}, 1.0, 9, 4);  // p_internal 1: a free tick is internal
  m.deliver({1, 0, 1, 1.0});     // sent at deadline 1 with latency 0
  const EventRecord e = m.tick(1, 1.0, 1.0);
  EXPECT_EQ(e.kind, EventKind::internal);
  EXPECT_EQ(e.queue, 0);  // in flight at T = 1, not queued
  EXPECT_TRUE(std::isnan(e.msg_arrival));
  const EventRecord f = m.tick(2, 2.0, 2.0);
  EXPECT_EQ(f.kind, EventKind::receive);
  EXPECT_EQ(f.msg_arrival, 1.0);
}

TEST(Machine, FreeTicksDrawAndAdvanceByOne) {
  Machine m(0, {1, 2}, 0.0, 3, 4);  // p_internal 0: every free tick sends
  for (int k = 0; k < 100; ++k) {
    const EventRecord e = m.tick(k, k, k);
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
    const EventRecord x = a.tick(k, k, 0), y = b.tick(k, k, 0);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.peer, y.peer);
  }
}

TEST(Machine, LatencyIsTheDeadlinePlusADrawInTheFormsRange) {
  Latency uniform;
  uniform.form = Latency::Form::uniform;
  uniform.a = 0.25;
  uniform.b = 0.5;
  Machine m(0, {1}, 0.7, 5, 4, uniform);
  for (int i = 0; i < 1000; ++i) {
    const double a = m.message_arrival(10.0);
    EXPECT_GE(a, 10.25);
    EXPECT_LE(a, 10.5);
  }
  Machine constant(0, {1}, 0.7, 5, 4, Latency{Latency::Form::constant, 0.05, 0.0});
  EXPECT_EQ(constant.message_arrival(3.0), 3.0 + 0.05);
}

}  // namespace clockbench
