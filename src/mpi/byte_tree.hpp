// Bytes along a binomial tree rooted at rank 0: every rank's gathered to rank 0 in rank order, and
// rank 0's spread to every rank. Each rank takes its subtree's bytes from its children one after
// the other and passes them on as one message (or the other way down), with synchronous sends, so
// that no rank ever has more than log2 N messages waiting for it and no send is left detached.
// SimGrid 3.32 pays for every detached send's end with a scan of all the detached sends in flight,
// and a gather by N sends to rank 0, or a collective's round, has N of them in flight at once: N
// squared (docs/simulation.md, "Scale").
#pragma once

#include <mpi.h>

#include <cstddef>
#include <vector>

namespace clockbench {

// Collective over `comm`: on rank 0, the `bytes` of every rank, rank 0's first, each rank's after
// the lower ranks'; elsewhere empty. Blocks may differ in size (empty ones too).
std::vector<unsigned char> gather_bytes_to_root(const void* data, std::size_t bytes, MPI_Comm comm);

// Collective over `comm`: rank 0's `bytes` on every rank (the others' `bytes` are not read).
std::vector<unsigned char> bytes_from_root(const std::vector<unsigned char>& bytes, MPI_Comm comm);

}  // namespace clockbench
