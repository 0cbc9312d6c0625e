// The network queue: clockbench's reserved heaps (in flight, then queued by arrival time) against
// std::priority_queue, which allocates as it grows; one message in and out at a time, and in bursts
// pushed then drained (arrivals between ticks, taken by ticks).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <queue>
#include <vector>

#include "core/message_queue.hpp"

namespace clockbench {

namespace {

// The baseline behind MessageQueue's interface, so both run the same benchmark code: one heap in
// the queue's order; every message pushed here is already due.
class StdPriorityQueue {
 public:
  explicit StdPriorityQueue(std::size_t /*capacity*/) {}
  bool empty() const { return q_.empty(); }
  void push(const Message& m) { q_.push(m); }
  void advance_to(double /*deadline*/) {}
  Message pop() {
    const Message m = q_.top();
    q_.pop();
    return m;
  }

 private:
  struct Later {
    bool operator()(const Message& x, const Message& y) const { return queued_before(y, x); }
  };
  std::priority_queue<Message, std::vector<Message>, Later> q_;
};

// One message in, one out, with `range(0)` messages already waiting.
template <typename Queue>
void BM_QueuePushPop(benchmark::State& state) {
  const auto waiting = static_cast<std::int64_t>(state.range(0));
  Queue q(static_cast<std::size_t>(waiting + 1));
  for (std::int64_t i = 0; i < waiting; ++i) q.push({1, i, i, static_cast<double>(i)});
  std::int64_t i = waiting, sum = 0;
  for (auto _ : state) {
    q.push({1, i, i, static_cast<double>(i)});
    q.advance_to(static_cast<double>(i) + 1.0);
    sum += q.pop().clock;
    ++i;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations());
}

// Push a burst of `range(0)`, then drain it: items are messages (one push and one pop each).
template <typename Queue>
void BM_QueueBurst(benchmark::State& state) {
  const auto burst = static_cast<std::int64_t>(state.range(0));
  Queue q(static_cast<std::size_t>(burst));
  std::int64_t sum = 0;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < burst; ++i) q.push({1, i, i, static_cast<double>(i)});
    q.advance_to(static_cast<double>(burst));
    while (!q.empty()) sum += q.pop().clock;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * burst);
}

}  // namespace

BENCHMARK_TEMPLATE(BM_QueuePushPop, MessageQueue)->Arg(0)->Arg(64);
BENCHMARK_TEMPLATE(BM_QueuePushPop, StdPriorityQueue)->Arg(0)->Arg(64);
BENCHMARK_TEMPLATE(BM_QueueBurst, MessageQueue)->RangeMultiplier(4)->Range(1, 1024);
BENCHMARK_TEMPLATE(BM_QueueBurst, StdPriorityQueue)->RangeMultiplier(4)->Range(1, 1024);

}  // namespace clockbench
