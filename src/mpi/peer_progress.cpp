// The board lives in an MPI shared-memory window over the host's ranks: one segment per rank,
// a slot (sent count, next send's deadline) per world rank, each word written by its owner only.
#include "mpi/peer_progress.hpp"

#include <limits>
#include <new>

#include "mpi/mpi_env.hpp"

namespace clockbench {

static_assert(std::atomic<double>::is_always_lock_free && std::atomic<std::int64_t>::is_always_lock_free,
              "the progress board needs lock-free atomics to live in shared memory");

PeerProgress::PeerProgress(MPI_Comm comm, const std::vector<std::int32_t>& senders) {
  int n = 0;
  check_mpi(MPI_Comm_rank(comm, &me_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  check_mpi(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, me_, MPI_INFO_NULL, &node_), "MPI_Comm_split_type");
  static_assert(sizeof(Slot) == 16, "two 8-byte words per slot");
  const auto slots = static_cast<std::size_t>(n);
  void* base = nullptr;
  check_mpi(MPI_Win_allocate_shared(static_cast<MPI_Aint>(slots * sizeof(Slot)), sizeof(Slot), MPI_INFO_NULL, node_,
                                    &base, &win_),
            "MPI_Win_allocate_shared");
  // Construct this rank's slots in place; the others construct theirs.
  mine_ = static_cast<Slot*>(base);
  for (std::size_t i = 0; i < slots; ++i) {
    new (&mine_[i].sent) std::atomic<std::int64_t>(0);
    new (&mine_[i].next) std::atomic<double>(-std::numeric_limits<double>::infinity());
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
  for (std::size_t i = 0; i < senders.size(); ++i) {
    if (in_node[i] == MPI_UNDEFINED) continue;
    MPI_Aint size = 0;
    int unit = 0;
    void* segment = nullptr;
    check_mpi(MPI_Win_shared_query(win_, in_node[i], &size, &unit, &segment), "MPI_Win_shared_query");
    senders_.push_back({senders[i], static_cast<const Slot*>(segment)});
  }
  // Every segment is constructed before anyone reads one.
  check_mpi(MPI_Barrier(node_), "MPI_Barrier");
}

PeerProgress::~PeerProgress() {
  if (win_ != MPI_WIN_NULL) MPI_Win_free(&win_);
  if (node_ != MPI_COMM_NULL) MPI_Comm_free(&node_);
}

bool PeerProgress::senders_done(double deadline, double least_latency, const std::vector<std::int64_t>& arrived_from,
                                std::size_t& from) const {
  for (; from < senders_.size(); ++from) {
    const Sender& s = senders_[from];
    // The acquire orders the count's load after the deadline's: a sender whose next send is at or
    // after T has published the count of every send it made before.
    if (s.slots[me_].next.load(std::memory_order_acquire) + least_latency < deadline) return false;
    if (arrived_from[static_cast<std::size_t>(s.rank)] < s.slots[me_].sent.load(std::memory_order_relaxed))
      return false;
  }
  return true;
}

}  // namespace clockbench
