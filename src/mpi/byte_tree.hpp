// Every rank's bytes to rank 0, in rank order, along a binomial tree: each rank takes its subtree's
// bytes from its children one after the other and passes them on as one message, so that no rank
// ever has more than log2 N messages waiting for it. SMPI's gather and a gather by N sends to rank 0
// leave N messages waiting at once, which SimGrid 3.32 pays for in N squared list scans
// (docs/simulation.md, "Scale").
#pragma once

#include <mpi.h>

#include <cstddef>
#include <vector>

namespace clockbench {

// Collective over `comm`: on rank 0, the `bytes` of every rank, rank 0's first, each rank's after
// the lower ranks'; elsewhere empty. Blocks may differ in size (empty ones too).
std::vector<unsigned char> gather_bytes_to_root(const void* data, std::size_t bytes, MPI_Comm comm);

}  // namespace clockbench
