// The network queue under bursts: clockbench's reserved ring buffer against std::queue<std::deque>.
#include <benchmark/benchmark.h>

#include <queue>

#include "core/message_queue.hpp"

namespace clockbench {

namespace {

// Push a burst, then drain it: what a machine's queue sees between ticks and at ticks.
void BM_MessageQueueBurst(benchmark::State& state) {
  const auto burst = static_cast<std::int64_t>(state.range(0));
  MessageQueue q(static_cast<std::size_t>(burst));
  std::int64_t sum = 0;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < burst; ++i) q.push({1, i, i});
    while (!q.empty()) sum += q.pop().clock;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * burst);
}

void BM_StdDequeBurst(benchmark::State& state) {
  const auto burst = static_cast<std::int64_t>(state.range(0));
  std::queue<Message, std::deque<Message>> q;
  std::int64_t sum = 0;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < burst; ++i) q.push({1, i, i});
    while (!q.empty()) {
      sum += q.front().clock;
      q.pop();
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * burst);
}

}  // namespace

BENCHMARK(BM_MessageQueueBurst)->RangeMultiplier(4)->Range(1, 1024);
BENCHMARK(BM_StdDequeBurst)->RangeMultiplier(4)->Range(1, 1024);

}  // namespace clockbench
