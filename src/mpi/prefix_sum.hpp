// The sum of a value over the lower ranks (an exclusive scan), in log2 N rounds of point-to-point
// messages: SMPI's MPI_Exscan and MPI_Scan cost SimGrid N squared and more (docs/simulation.md,
// "Scale"), and the doubling costs a real MPI no more than its own scan.
#pragma once

#include <mpi.h>

#include <cstdint>

namespace clockbench {

// Collective over `comm`: the sum of `value` over ranks 0 .. rank - 1 (0 on rank 0).
std::int64_t sum_below(std::int64_t value, MPI_Comm comm);

}  // namespace clockbench
