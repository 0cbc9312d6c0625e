// Clock messages over MPI: a ring of pre-posted MPI_Irecv (any source) taken in posting order,
// which is MPI's matching order, so arrivals keep their order; and a pool of MPI_Isend slots.
// All buffers are allocated at construction: nothing here allocates in the timed loop.
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/message.hpp"

namespace clockbench {

class Transport {
 public:
  static constexpr int kTag = 17;
  static constexpr int kWarmTag = 18;
  static constexpr int kWords = 3;  // tick, clock, arrival (the double's bits)

  // Send slots: a send whose slot is still busy waits (spinning in MPI_Wait), and a send stays busy
  // while its receiver is descheduled and Open MPI's shared-memory buffers to it are full. Flat
  // out, oversubscribed, a rank sends ~1000 messages in one time slice of a peer's absence, so a
  // few hundred slots leave senders spinning; 8192 slots (192 kB) keep sends from waiting long.
  // Waiting in MPI_Wait rather than testing and napping: with mpi_yield_when_idle the wait already
  // yields the core. The measurements behind both: docs/measurements.md, "Engine choices".
  Transport(MPI_Comm comm, int recv_slots = 64, int send_slots = 8192);
  ~Transport();  // cancels the receives still posted; never throws
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Collective among peers, before the run: one message each way with every peer, so that the
  // first clock message between two ranks is as fast as the rest (Open MPI sets up a connection
  // on first use).
  void warm_up(const std::vector<std::int32_t>& peers);

  // Sends (tick, clock, arrival) to `dest`. Reuses the oldest send slot, waiting for it if still busy.
  void send(int dest, std::int64_t tick, std::int64_t clock, double arrival);

  // Takes every message that has arrived, in arrival order, calling on_message(const Message&).
  template <typename F>
  int poll(F&& on_message) {
    return poll_up_to(std::numeric_limits<std::int64_t>::max(), on_message);
  }

  // Takes at most `most` of the messages that have arrived: when the caller knows how many are
  // there, it spares the last, empty MPI_Test (which, oversubscribed, yields the core).
  template <typename F>
  int poll_up_to(std::int64_t most, F&& on_message) {
    int taken = 0;
    Message m;
    while (taken < most && take_one(/*block=*/false, m)) {
      on_message(m);
      ++taken;
    }
    return taken;
  }

  // Blocks for the next message.
  Message receive_blocking() {
    Message m;
    take_one(/*block=*/true, m);
    return m;
  }

  void complete_sends();   // waits for every send to complete
  void cancel_receives();  // after the end-of-run drain: no message can still come

 private:
  bool take_one(bool block, Message& m);

  MPI_Comm comm_;
  std::vector<MPI_Request> recv_req_;
  std::vector<std::array<std::int64_t, kWords>> recv_buf_;
  std::size_t recv_head_ = 0;  // the oldest posted receive: the next to match
  std::vector<MPI_Request> send_req_;
  std::vector<std::array<std::int64_t, kWords>> send_buf_;
  std::size_t send_next_ = 0;
  bool receives_posted_ = false;
};

}  // namespace clockbench
