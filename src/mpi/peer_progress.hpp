// The progress board of a host (docs/model.md, "The real-time loop"): in memory shared by the
// ranks of one host, each rank publishes, for every rank, how many messages it has sent it and the
// deadline of its earliest tick that could still send it one (its next undecided tick, or later:
// its coming draws are known). A rank about to decide the tick with deadline T reads its senders'
// entries: once each can no longer send it a message arriving before T and every message it sent
// has arrived, the decision is exact. Senders on other hosts are not on the board. A rank waiting
// for a sender blocks on the sender's publish count (a futex) until the sender publishes again.
#pragma once

#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <vector>

namespace clockbench {

class PeerProgress {
 public:
  // Collective over `comm`. `senders`: the ranks that may send to this one.
  PeerProgress(MPI_Comm comm, const std::vector<std::int32_t>& senders);
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
  // again: the readers' cached copies of the line stay valid.
  void next_send_to(int dest, double deadline) {
    auto& next = mine_[dest].next;
    if (next.load(std::memory_order_relaxed) != deadline) next.store(deadline, std::memory_order_release);
  }

  // Wakes the ranks waiting on this one (await_sender): call after a round of sent_to and
  // next_send_to, once per tick.
  void published();

  // What a tick with deadline T still waits for: nothing, a sender on this host whose next send
  // could arrive before T (its next send's deadline + `least_latency` is before T), or a message
  // a sender counted that is not yet in `arrived_from` (per source rank).
  enum class Wait { nothing, sender, message };
  // `from`: how many senders, in board order, an earlier call for the same deadline found done (0
  // for a new deadline); advanced past each sender found done, so that it then names the one
  // waited for. A sender done for a deadline stays done: whatever it sends later arrives after it.
  Wait senders_done(double deadline, double least_latency, const std::vector<std::int64_t>& arrived_from,
                    std::size_t& from) const;
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
  // Blocks until sender `index` (senders_done's `from`) publishes, or until monotonic time
  // `until`, unless it is already done for `deadline`. Not in a simulation (there the caller
  // sleeps in slices): SMPI's ranks share one process.
  void await_sender(std::size_t index, double deadline, double least_latency, double until);
  // Every sender is on this host's board (a single-host run).
  bool covers_all() const { return covers_all_; }

 private:
  // What a rank publishes for one destination, side by side so that a reader finds both in one
  // cache line.
  struct Slot {
    std::atomic<std::int64_t> sent;  // messages sent to it
    std::atomic<double> next;        // deadline of the earliest tick that may send it one
  };
  // The head of each rank's segment, a cache line of its own: how many times the rank published
  // (a futex word), and how many ranks wait on it (written by them).
  struct alignas(64) Head {
    std::atomic<std::uint32_t> published;
    std::atomic<std::uint32_t> waiters;
  };
  struct Sender {
    int rank;
    Head* head;
    const Slot* slots;  // its segment's slots: one per world rank
  };
  MPI_Comm node_ = MPI_COMM_NULL;
  MPI_Win win_ = MPI_WIN_NULL;
  int me_ = 0;
  Head* head_ = nullptr;
  Slot* mine_ = nullptr;
  std::vector<Sender> senders_;
  bool covers_all_ = false;
};

}  // namespace clockbench
