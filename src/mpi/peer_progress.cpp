// The board lives in an MPI shared-memory window over the host's ranks: one segment per rank, a
// head (its doorbell) and a slot (sent count, next send's deadline, and the deadline its
// destination waits for) per world rank; each word is written by its owner only, but for the
// deadline waited for (by the destination) and the doorbell (rung by the others).
#include "mpi/peer_progress.hpp"

#include <climits>
#include <cmath>
#include <ctime>
#include <limits>
#include <new>

#include "mpi/mpi_env.hpp"
#include "mpi/platform.hpp"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace clockbench {

static_assert(std::atomic<double>::is_always_lock_free && std::atomic<std::int64_t>::is_always_lock_free &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "the progress board needs lock-free atomics to live in shared memory");

namespace {

// Blocking on a word of the shared board, and waking its waiters: Linux futexes, shared between
// processes (no FUTEX_PRIVATE_FLAG). Elsewhere, and in a simulation, the waits are the caller's
// sleep slices (await_sender returns at once).
constexpr bool kFutexes = !platform::kSimulated &&
#if defined(__linux__)
                          true;
#else
                          false;
#endif

// Sleeps while *word == expected, until monotonic time `until` at the latest.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, double until) {
#if defined(__linux__)
  if constexpr (kFutexes) {
    timespec at{};
    const double whole = std::floor(until);
    at.tv_sec = static_cast<time_t>(whole);
    at.tv_nsec = std::min(999'999'999L, static_cast<long>((until - whole) * 1e9));
    // FUTEX_WAIT_BITSET takes an absolute time, on CLOCK_MONOTONIC without FUTEX_CLOCK_REALTIME.
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET, expected, &at, nullptr,
            FUTEX_BITSET_MATCH_ANY);
  }
#endif
  (void)word, (void)expected, (void)until;
}

void futex_wake(std::atomic<std::uint32_t>& word) {
#if defined(__linux__)
  if constexpr (kFutexes)
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
#endif
  (void)word;
}

}  // namespace

PeerProgress::PeerProgress(MPI_Comm comm, const std::vector<std::int32_t>& senders, double least_latency)
    : least_latency_(least_latency) {
  int n = 0;
  check_mpi(MPI_Comm_rank(comm, &me_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  check_mpi(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, me_, MPI_INFO_NULL, &node_), "MPI_Comm_split_type");
  static_assert(sizeof(Slot) == 24, "three 8-byte words per slot");
  static_assert(sizeof(Head) == 64, "a head is one cache line");
  const auto slots = static_cast<std::size_t>(n);
  // Whole cache lines per segment, so that every head starts one.
  const std::size_t segment_bytes = sizeof(Head) + (slots * sizeof(Slot) + 63) / 64 * 64;
  void* base = nullptr;
  check_mpi(MPI_Win_allocate_shared(static_cast<MPI_Aint>(segment_bytes), 1, MPI_INFO_NULL, node_, &base, &win_),
            "MPI_Win_allocate_shared");
  // Construct this rank's head and slots in place; the others construct theirs.
  head_ = new (base) Head{};
  head_->doorbell.store(0, std::memory_order_relaxed);
  mine_ = reinterpret_cast<Slot*>(static_cast<unsigned char*>(base) + sizeof(Head));
  for (std::size_t i = 0; i < slots; ++i) {
    new (&mine_[i].sent) std::atomic<std::int64_t>(0);
    new (&mine_[i].next) std::atomic<double>(-std::numeric_limits<double>::infinity());
    new (&mine_[i].waits_for) std::atomic<double>(kNotWaiting);
  }

  // Which of the senders share this host, and where their segments are.
  MPI_Group world_group, node_group;
  check_mpi(MPI_Comm_group(comm, &world_group), "MPI_Comm_group");
  check_mpi(MPI_Comm_group(node_, &node_group), "MPI_Comm_group");
  std::vector<int> in_node(senders.size(), MPI_UNDEFINED);
  const std::vector<int> ranks(senders.begin(), senders.end());
  check_mpi(
      MPI_Group_translate_ranks(world_group, static_cast<int>(ranks.size()), ranks.data(), node_group, in_node.data()),
      "MPI_Group_translate_ranks");
  MPI_Group_free(&world_group);
  MPI_Group_free(&node_group);
  doorbells_.assign(slots, nullptr);
  for (std::size_t i = 0; i < senders.size(); ++i) {
    if (in_node[i] == MPI_UNDEFINED) continue;
    MPI_Aint size = 0;
    int unit = 0;
    void* segment = nullptr;
    check_mpi(MPI_Win_shared_query(win_, in_node[i], &size, &unit, &segment), "MPI_Win_shared_query");
    doorbells_[static_cast<std::size_t>(senders[i])] = static_cast<Head*>(segment);
    senders_.push_back({senders[i], reinterpret_cast<Slot*>(static_cast<unsigned char*>(segment) + sizeof(Head))});
  }
  covers_all_ = senders_.size() == senders.size();
  // Every segment is constructed before anyone reads one.
  check_mpi(MPI_Barrier(node_), "MPI_Barrier");
}

PeerProgress::~PeerProgress() {
  if (win_ != MPI_WIN_NULL) MPI_Win_free(&win_);
  if (node_ != MPI_COMM_NULL) MPI_Comm_free(&node_);
}

PeerProgress::Wait PeerProgress::senders_done(double deadline, const std::vector<std::int64_t>& arrived_from,
                                              std::size_t& from) const {
  for (; from < senders_.size(); ++from) {
    const Sender& s = senders_[from];
    // The acquire orders the count's load after the deadline's: a sender whose next send is at or
    // after T has published the count of every send it made before.
    if (s.slots[me_].next.load(std::memory_order_acquire) + least_latency_ < deadline) return Wait::sender;
    if (arrived_from[static_cast<std::size_t>(s.rank)] < s.slots[me_].sent.load(std::memory_order_relaxed))
      return Wait::message;
  }
  return Wait::nothing;
}

void PeerProgress::ring(int dest) {
  if constexpr (!kFutexes) return;
  Head* bell = doorbells_[static_cast<std::size_t>(dest)];
  if (bell == nullptr) return;
  bell->doorbell.fetch_add(1, std::memory_order_seq_cst);
  futex_wake(bell->doorbell);
}

// The waiter reads its doorbell, writes the deadline it waits for into the sender's slot, and reads
// the slot's `next` once more before it sleeps on the doorbell; the sender writes `next`, then reads
// the deadline waited for, and rings (next_send_to). In one total order (seq_cst) either the waiter
// sees the new `next`, or the sender sees the deadline and rings, and then either the futex finds
// the doorbell changed and does not sleep, or the ring wakes it.
void PeerProgress::await_sender(std::size_t index, double deadline, double until) {
  if constexpr (!kFutexes) return;
  if (index >= senders_.size()) return;
  Slot& slot = senders_[index].slots[me_];
  const std::uint32_t rung = head_->doorbell.load(std::memory_order_seq_cst);
  slot.waits_for.store(deadline, std::memory_order_seq_cst);
  if (slot.next.load(std::memory_order_seq_cst) + least_latency_ < deadline) futex_wait(head_->doorbell, rung, until);
  slot.waits_for.store(kNotWaiting, std::memory_order_relaxed);
}

}  // namespace clockbench
