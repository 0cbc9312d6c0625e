// The model's steps on the path of every tick: the draw, the Lamport update, one machine's tick,
// and recording its event; and the crash journal's encoding. Items are draws, updates, ticks or
// events.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "core/action_draw.hpp"
#include "core/event.hpp"
#include "core/lamport_clock.hpp"
#include "core/machine.hpp"
#include "core/random.hpp"
#include "io/journal.hpp"

namespace clockbench {

namespace {

void BM_ActionDraw(benchmark::State& state) {
  const ActionDraw draw(0.7, 2);
  Rng rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(draw.draw(rng));
  state.SetItemsProcessed(state.iterations());
}

// A receive's update, max(own, message) + 1, with message clocks now behind and now ahead.
void BM_LamportMerge(benchmark::State& state) {
  LamportClock clock;
  std::int64_t message = 0;
  for (auto _ : state) {
    message += 3;
    benchmark::DoNotOptimize(clock.merge(message & 1 ? message : 0));
  }
  state.SetItemsProcessed(state.iterations());
}

// Free ticks (empty queue): the draw and a clock advance.
void BM_MachineTickFree(benchmark::State& state) {
  Machine m(0, {1, 2}, 0.7, 1, 16);
  std::int64_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.tick(k, static_cast<double>(k), 0.0));
    ++k;
  }
  state.SetItemsProcessed(state.iterations());
}

// Receive ticks: one message delivered to the queue and taken by the tick.
void BM_MachineTickReceive(benchmark::State& state) {
  Machine m(0, {1, 2}, 0.7, 1, 16);
  std::int64_t k = 0;
  for (auto _ : state) {
    m.deliver({1, k, 2 * k, static_cast<double>(k)});
    benchmark::DoNotOptimize(m.tick(k, static_cast<double>(k) + 1.0, 0.0));
    ++k;
  }
  state.SetItemsProcessed(state.iterations());
}

// Appends into a reserved log, started afresh (capacity kept) whenever it fills.
void BM_EventLogAppend(benchmark::State& state) {
  constexpr std::size_t kCapacity = 1 << 16;
  EventLog log;
  log.reserve(kCapacity);
  EventRecord e;
  for (auto _ : state) {
    if (log.size() == kCapacity) log.clear();
    e.tick++;
    log.append(e);
  }
  benchmark::DoNotOptimize(log.lamport.data());
  state.SetItemsProcessed(state.iterations());
}

// The engine's per-tick work without MPI: the machine's tick and recording its event.
void BM_TickAndRecord(benchmark::State& state) {
  constexpr std::size_t kCapacity = 1 << 16;
  Machine m(0, {1, 2}, 0.7, 1, 16);
  EventLog log;
  log.reserve(kCapacity);
  std::int64_t k = 0;
  for (auto _ : state) {
    if (log.size() == kCapacity) log.clear();
    if (k % 4 == 0) m.deliver({1, k, k, static_cast<double>(k)});  // about the share of receive ticks flat out
    log.append(m.tick(k, static_cast<double>(k) + 1.0, 0.0));
    ++k;
  }
  benchmark::DoNotOptimize(log.lamport.data());
  state.SetItemsProcessed(state.iterations());
}

// The crash journal's flusher thread: one piece of recorded events encoded as a journal block.
void BM_JournalEncode(benchmark::State& state) {
  constexpr std::int64_t kPiece = 16384;
  Machine m(0, {1, 2}, 0.7, 1, 16);
  EventLog log;
  log.reserve(kPiece);
  for (std::int64_t k = 0; k < kPiece; ++k) log.append(m.tick(k, static_cast<double>(k), 0.0));
  EventProgress progress;
  progress.set_columns(log);
  std::vector<unsigned char> out;
  for (auto _ : state) {
    encode_journal_block(progress.columns, 0, kPiece, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kPiece);
}

}  // namespace

BENCHMARK(BM_ActionDraw);
BENCHMARK(BM_LamportMerge);
BENCHMARK(BM_MachineTickFree);
BENCHMARK(BM_MachineTickReceive);
BENCHMARK(BM_EventLogAppend);
BENCHMARK(BM_TickAndRecord);
BENCHMARK(BM_JournalEncode);

}  // namespace clockbench
