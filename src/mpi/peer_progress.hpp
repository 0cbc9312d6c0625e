// The progress board of a host (docs/model.md, "The real-time loop"): in memory shared by the
// ranks of one host, each rank publishes, for every rank, how many messages it has sent it and the
// deadline of its earliest tick that could still send it one (its next undecided tick, or later:
// its coming draws are known). A rank about to decide the tick with deadline T reads its senders'
// entries: once each can no longer send it a message arriving before T and every message it sent
// has arrived, the decision is exact. Senders on other hosts are not on the board. A rank waiting
// for a sender writes into the sender's entry for it the deadline it waits for, and sleeps on its
// own doorbell (a futex); the sender rings it when its next send's deadline gets there, and only
// then: a sender running late, tick after tick, wakes no rank for nothing.
#pragma once

#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <vector>

namespace clockbench {

class PeerProgress {
 public:
  // Collective over `comm`. `senders`: the ranks that may send to this one, which are also the ones
  // it sends to (every topology is symmetric). `least_latency`: the least a message can take.
  PeerProgress(MPI_Comm comm, const std::vector<std::int32_t>& senders, double least_latency);
  ~PeerProgress();  // collective (frees the shared window)
  PeerProgress(const PeerProgress&) = delete;
  PeerProgress& operator=(const PeerProgress&) = delete;

  // This rank sent one more message to `dest` (call after the send is posted).
  void sent_to(int dest) {
    auto& c = mine_[dest].sent;
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // No tick of this rank with a deadline before `deadline` will send `dest` another message (call
  // after the sends it promises are counted). +inf: none at all. An unchanged value is not stored
  // again: the readers' cached copies of the line stay valid. Rings `dest` if it waits for this.
  void next_send_to(int dest, double deadline) {
    Slot& slot = mine_[dest];
    if (slot.next.load(std::memory_order_relaxed) == deadline) return;
    slot.next.store(deadline, std::memory_order_seq_cst);
    // The waiter writes its deadline, then reads `next`; this writes `next`, then reads the
    // deadline (all seq_cst): one of the two sees the other's write.
    const double waits_for = slot.waits_for.load(std::memory_order_seq_cst);
    if (waits_for != kNotWaiting && !(deadline + least_latency_ < waits_for)) ring(dest);
  }

  // What a tick with deadline T still waits for: nothing, a sender on this host whose next send
  // could arrive before T (its next send's deadline + the least latency is before T), or a message
  // a sender counted that is not yet in `arrived_from` (per source rank).
  enum class Wait { nothing, sender, message };
  // `from`: how many senders, in board order, an earlier call for the same deadline found done (0
  // for a new deadline); advanced past each sender found done, so that it then names the one
  // waited for. A sender done for a deadline stays done: whatever it sends later arrives after it.
  Wait senders_done(double deadline, const std::vector<std::int64_t>& arrived_from, std::size_t& from) const;
  // How many messages sender `index` (senders_done's `from`) counted here that are not in
  // `arrived_from` yet.
  std::int64_t on_the_way(std::size_t index, const std::vector<std::int64_t>& arrived_from) const {
    const Sender& s = senders_[index];
    return s.slots[me_].sent.load(std::memory_order_relaxed) - arrived_from[static_cast<std::size_t>(s.rank)];
  }
  // Has any sender counted a message here that is not in `arrived_from` yet?
  bool any_on_the_way(const std::vector<std::int64_t>& arrived_from) const {
    for (std::size_t i = 0; i < senders_.size(); ++i)
      if (on_the_way(i, arrived_from) > 0) return true;
    return false;
  }
  // Blocks until sender `index` (senders_done's `from`) is done for `deadline` (its next send's
  // deadline + the least latency is not before it), or until monotonic time `until`. Not in a
  // simulation (there the caller sleeps in slices): SMPI's ranks share one process.
  void await_sender(std::size_t index, double deadline, double until);
  // Every sender is on this host's board (a single-host run).
  bool covers_all() const { return covers_all_; }

 private:
  static constexpr double kNotWaiting = -1.0;  // deadlines are model times >= 0
  // What a rank publishes for one destination, side by side (a reader finds them in the same cache
  // line or two); and the deadline the destination waits for, written by it.
  struct Slot {
    std::atomic<std::int64_t> sent;  // messages sent to it
    std::atomic<double> next;        // deadline of the earliest tick that may send it one
    std::atomic<double> waits_for;   // the deadline it waits for this rank to pass, or kNotWaiting
  };
  // The head of each rank's segment, a cache line of its own: its doorbell (a futex word), rung by
  // the rank it waits for.
  struct alignas(64) Head {
    std::atomic<std::uint32_t> doorbell;
  };
  struct Sender {
    int rank;
    Slot* slots;  // its segment's slots: one per world rank
  };
  void ring(int dest);

  MPI_Comm node_ = MPI_COMM_NULL;
  MPI_Win win_ = MPI_WIN_NULL;
  int me_ = 0;
  double least_latency_ = 0.0;
  Head* head_ = nullptr;
  Slot* mine_ = nullptr;
  std::vector<Sender> senders_;
  std::vector<Head*> doorbells_;  // per world rank: its head if on this host and a peer, else null
  bool covers_all_ = false;
};

}  // namespace clockbench
