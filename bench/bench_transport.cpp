// Taking clock messages off MPI, in one process sending to itself: the engine's strategy (a ring
// of pre-posted MPI_Irecv taken in posting order with MPI_Test: Transport::poll), the same ring
// completed with MPI_Testsome, MPI_Iprobe + MPI_Recv, and MPI_Improbe + MPI_Mrecv. Every strategy
// receives the same bursts of 1..1024 messages, sent by the same MPI_Isend code, so the
// differences between them are the receive side's. Items are messages.
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "mpi/mpi_env.hpp"
#include "mpi/transport.hpp"

namespace clockbench {

namespace {

constexpr int kTag = Transport::kTag;
using Payload = std::array<std::int64_t, 2>;  // (tick, clock), as the engine sends

// A communicator of this process alone, per benchmark, so no strategy sees another's messages.
class SelfComm {
 public:
  SelfComm() { check_mpi(MPI_Comm_dup(MPI_COMM_SELF, &comm_), "MPI_Comm_dup"); }
  ~SelfComm() { MPI_Comm_free(&comm_); }
  SelfComm(const SelfComm&) = delete;
  SelfComm& operator=(const SelfComm&) = delete;
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

// Sends a burst of self-messages with MPI_Isend; complete() waits for all of them.
class BurstSender {
 public:
  BurstSender(MPI_Comm comm, std::size_t burst) : comm_(comm), req_(burst, MPI_REQUEST_NULL), buf_(burst) {}
  void send() {
    for (std::size_t i = 0; i < req_.size(); ++i) {
      buf_[i] = {static_cast<std::int64_t>(i), static_cast<std::int64_t>(i)};
      check_mpi(MPI_Isend(buf_[i].data(), 2, MPI_INT64_T, 0, kTag, comm_, &req_[i]), "MPI_Isend");
    }
  }
  void complete() {
    check_mpi(MPI_Waitall(static_cast<int>(req_.size()), req_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
  }

 private:
  MPI_Comm comm_;
  std::vector<MPI_Request> req_;
  std::vector<Payload> buf_;
};

// The benchmark loop shared by every strategy: send a burst, take it all with `drain`.
template <typename Drain>
void run_bursts(benchmark::State& state, MPI_Comm comm, Drain&& drain) {
  const auto burst = static_cast<std::int64_t>(state.range(0));
  BurstSender sender(comm, static_cast<std::size_t>(burst));
  std::int64_t sum = 0;
  for (auto _ : state) {
    sender.send();
    for (std::int64_t taken = 0; taken < burst;) taken += drain(sum);
    sender.complete();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * burst);
}

// The engine's strategy, Transport's own code: pre-posted ring, MPI_Test on the oldest receive.
void BM_DrainRingTest(benchmark::State& state) {
  SelfComm comm;
  Transport transport(comm.get());
  run_bursts(state, comm.get(),
             [&](std::int64_t& sum) { return transport.poll([&](const Message& m) { sum += m.clock; }); });
}

// The same ring, completed with one MPI_Testsome over all of it; taken in posting order (matching
// order), so arrivals keep their order as in Transport.
class TestsomeRing {
 public:
  TestsomeRing(MPI_Comm comm, int slots)
      : comm_(comm),
        req_(static_cast<std::size_t>(slots)),
        buf_(req_.size()),
        done_(req_.size(), 0),
        indices_(req_.size()) {
    for (std::size_t i = 0; i < req_.size(); ++i) post(i);
  }
  ~TestsomeRing() {
    for (auto& r : req_) {
      MPI_Cancel(&r);
      MPI_Wait(&r, MPI_STATUS_IGNORE);
    }
  }
  TestsomeRing(const TestsomeRing&) = delete;
  TestsomeRing& operator=(const TestsomeRing&) = delete;

  template <typename F>
  int poll(F&& on_message) {
    int count = 0;
    check_mpi(MPI_Testsome(static_cast<int>(req_.size()), req_.data(), &count, indices_.data(), MPI_STATUSES_IGNORE),
              "MPI_Testsome");
    if (count <= 0) return 0;  // MPI_UNDEFINED when no request is active
    for (int i = 0; i < count; ++i) done_[static_cast<std::size_t>(indices_[static_cast<std::size_t>(i)])] = 1;
    int taken = 0;
    while (done_[head_]) {
      done_[head_] = 0;
      on_message(buf_[head_][1]);
      post(head_);
      head_ = (head_ + 1) % req_.size();
      ++taken;
    }
    if (taken != count) throw std::logic_error("MPI_Testsome completed receives out of posting order");
    return taken;
  }

 private:
  void post(std::size_t i) {
    check_mpi(MPI_Irecv(buf_[i].data(), 2, MPI_INT64_T, MPI_ANY_SOURCE, kTag, comm_, &req_[i]), "MPI_Irecv");
  }
  MPI_Comm comm_;
  std::vector<MPI_Request> req_;
  std::vector<Payload> buf_;
  std::vector<char> done_;
  std::vector<int> indices_;
  std::size_t head_ = 0;
};

void BM_DrainRingTestsome(benchmark::State& state) {
  SelfComm comm;
  TestsomeRing ring(comm.get(), 64);  // as many slots as Transport's default
  run_bursts(state, comm.get(),
             [&](std::int64_t& sum) { return ring.poll([&](std::int64_t clock) { sum += clock; }); });
}

// No receive posted ahead: probe for any arrival, then receive exactly it.
void BM_DrainIprobeRecv(benchmark::State& state) {
  SelfComm comm;
  run_bursts(state, comm.get(), [&](std::int64_t& sum) {
    int taken = 0;
    for (;;) {
      int flag = 0;
      MPI_Status status;
      check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, kTag, comm.get(), &flag, &status), "MPI_Iprobe");
      if (!flag) return taken;
      Payload buf;
      check_mpi(MPI_Recv(buf.data(), 2, MPI_INT64_T, status.MPI_SOURCE, kTag, comm.get(), MPI_STATUS_IGNORE),
                "MPI_Recv");
      sum += buf[1];
      ++taken;
    }
  });
}

// Matched probe: the probe takes the message out of matching, so no other receive can steal it.
void BM_DrainImprobeMrecv(benchmark::State& state) {
  SelfComm comm;
  run_bursts(state, comm.get(), [&](std::int64_t& sum) {
    int taken = 0;
    for (;;) {
      int flag = 0;
      MPI_Message msg;
      check_mpi(MPI_Improbe(MPI_ANY_SOURCE, kTag, comm.get(), &flag, &msg, MPI_STATUS_IGNORE), "MPI_Improbe");
      if (!flag) return taken;
      Payload buf;
      check_mpi(MPI_Mrecv(buf.data(), 2, MPI_INT64_T, &msg, MPI_STATUS_IGNORE), "MPI_Mrecv");
      sum += buf[1];
      ++taken;
    }
  });
}

// The engine's whole message path, one message at a time: Transport::send to itself, then poll.
void BM_TransportSendPoll(benchmark::State& state) {
  SelfComm comm;
  Transport transport(comm.get());
  std::int64_t k = 0, sum = 0;
  for (auto _ : state) {
    transport.send(0, k, k, 0.0);
    while (transport.poll([&](const Message& m) { sum += m.clock; }) == 0) {
    }
    ++k;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_DrainRingTest)->RangeMultiplier(4)->Range(1, 1024);
BENCHMARK(BM_DrainRingTestsome)->RangeMultiplier(4)->Range(1, 1024);
BENCHMARK(BM_DrainIprobeRecv)->RangeMultiplier(4)->Range(1, 1024);
BENCHMARK(BM_DrainImprobeMrecv)->RangeMultiplier(4)->Range(1, 1024);
BENCHMARK(BM_TransportSendPoll);

}  // namespace clockbench
