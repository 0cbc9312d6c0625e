// The progress board of a host (docs/model.md, "The real-time loop"): in memory shared by the
// ranks of one host, each rank publishes the deadline of its next undecided tick and how many
// messages it has sent to every rank. A rank about to decide the tick with deadline T reads its
// senders' entries: once each has passed T (less the least latency) and every message it sent
// here has arrived, no message with arrival time < T can still come from it, and the decision is
// exact. Senders on other hosts are not on the board.
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

  // This rank: every tick with a deadline before `deadline` is decided and its messages sent.
  void decided_before(double deadline) { mine_.next->store(deadline, std::memory_order_release); }
  // This rank sent one more message to `dest` (call after the send is posted).
  void sent_to(int dest) {
    auto& c = mine_.sent[dest];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // True if every sender on this host has decided past `deadline - least_latency` and every
  // message it has sent here is counted in `arrived_from` (per source rank).
  bool senders_done(double deadline, double least_latency, const std::vector<std::int64_t>& arrived_from) const;

  int senders_on_host() const { return static_cast<int>(senders_.size()); }

 private:
  struct Entry {
    std::atomic<double>* next = nullptr;        // deadline of the rank's next undecided tick
    std::atomic<std::int64_t>* sent = nullptr;  // [rank]: messages sent to it
  };
  struct Sender {
    int rank;
    Entry entry;
  };
  MPI_Comm node_ = MPI_COMM_NULL;
  MPI_Win win_ = MPI_WIN_NULL;
  int me_ = 0;
  Entry mine_;
  std::vector<Sender> senders_;
};

}  // namespace clockbench
