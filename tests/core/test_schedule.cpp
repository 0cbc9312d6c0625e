// Deadlines with phases, the phase draw and the latency draw: the values docs/model.md defines,
// checked against figures computed by the independent simulator (tests/analysis/replay.py).
#include <gtest/gtest.h>

#include <cmath>

#include "core/machine.hpp"
#include "core/phase.hpp"
#include "core/schedule.hpp"

namespace clockbench {

TEST(Schedule, PhaseShiftsEveryDeadlineAndTheCountBeforeTheEnd) {
  EXPECT_EQ(tick_due(0, 4.0, 0.1), 0.1);
  EXPECT_EQ(tick_due(3, 4.0, 0.1), 0.1 + 3.0 / 4.0);
  EXPECT_EQ(ticks_before(1.0, 4.0, 0.1), 4);   // 0.1, 0.35, 0.6, 0.85
  EXPECT_EQ(ticks_before(0.85, 4.0, 0.1), 3);  // 0.85 is not before 0.85
  EXPECT_EQ(ticks_before(0.05, 4.0, 0.1), 0);  // the first tick is after the end
  for (double phase : {0.0, 0.01, 0.24999}) {
    for (double end : {0.3, 1.0, 10.0, 59.99}) {
      const auto n = ticks_before(end, 4.0, phase);
      EXPECT_LE(n, ticks_before(end, 4.0));  // phase 0 bounds what is reserved
      if (n > 0) {
        EXPECT_LT(tick_due(n - 1, 4.0, phase), end);
      }
      EXPECT_GE(tick_due(n, 4.0, phase), end);
    }
  }
}

TEST(Phase, DrawnFromTheMachinesPhaseStream) {
  // tests/analysis/replay.py: first uniform of stream 2^32 + rank of the seed, over the rate.
  EXPECT_EQ(machine_phase(5, 0, 2.0, PhaseMode::random), 0.1659632533926988);
  EXPECT_EQ(machine_phase(5, 1, 3.0, PhaseMode::random), 0.19427835164256835);
  EXPECT_EQ(machine_phase(123456789, 7, 6.0, PhaseMode::random), 0.15185154243232715);
  EXPECT_EQ(machine_phase(5, 1, 3.0, PhaseMode::zero), 0.0);
  EXPECT_EQ(machine_phase(5, 1, kFlatOutRate, PhaseMode::random), 0.0);
}

TEST(Latency, UniformDrawsComeFromTheSendersLatencyStream) {
  // tests/analysis/replay.py: uniforms of stream 2^33 + 1 of seed 5.
  const double u[] = {0.06370456712958328, 0.8742201348421533, 0.7369800092130662};
  Machine m(1, {0, 2}, 0.7, 5, 4, Latency{Latency::Form::uniform, 0.5, 1.5});
  for (const double x : u) EXPECT_EQ(m.message_arrival(2.0), 2.0 + (0.5 + x * (1.5 - 0.5)));
  Machine e(1, {0, 2}, 0.7, 5, 4, Latency{Latency::Form::exponential, 0.25, 0.0});
  for (const double x : u) EXPECT_EQ(e.message_arrival(2.0), 2.0 + -0.25 * std::log(1.0 - x));
}

TEST(Latency, TheFormNeverChangesTheActionDraws) {
  Machine a(0, {1, 2}, 0.5, 77, 4), b(0, {1, 2}, 0.5, 77, 4, Latency{Latency::Form::exponential, 1.0, 0.0});
  for (int k = 0; k < 200; ++k) {
    const EventRecord x = a.tick(k, k, 0), y = b.tick(k, k, 0);
    if (y.kind == EventKind::send_one || y.kind == EventKind::send_all) b.message_arrival(k);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.peer, y.peer);
  }
}

}  // namespace clockbench
