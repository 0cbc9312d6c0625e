// The binomial tree rooted at rank 0: rank r's parent is r less its lowest set bit, its children
// are r + 1, r + 2, r + 4, ... below that bit (rank 0: every power of two below N). The subtree of
// child r + 2^k is the ranks r + 2^k .. r + 2^(k+1) - 1, so taking the children in that order
// keeps the gathered bytes in rank order.
#include "mpi/byte_tree.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>

#include "mpi/mpi_env.hpp"

namespace clockbench {

namespace {

constexpr int kSizeTag = 73;
constexpr int kBytesTag = 74;
// A message's count is an int: a subtree's bytes go in pieces of at most 1 GiB.
constexpr std::size_t kPiece = std::size_t{1} << 30;
static_assert(kPiece <= INT_MAX, "a piece's count must fit an int");

// MPI_Ssend: SMPI leaves a small MPI_Send detached (docs/simulation.md, "Scale").
void send_bytes(const std::vector<unsigned char>& bytes, int to, MPI_Comm comm) {
  const std::uint64_t size = bytes.size();
  check_mpi(MPI_Ssend(&size, 1, MPI_UINT64_T, to, kSizeTag, comm), "MPI_Ssend (tree size)");
  for (std::size_t at = 0; at < bytes.size(); at += kPiece)
    check_mpi(MPI_Ssend(bytes.data() + at, static_cast<int>(std::min(kPiece, bytes.size() - at)), MPI_BYTE, to,
                        kBytesTag, comm),
              "MPI_Ssend (tree bytes)");
}

// Appends what rank `from` sends to `bytes`.
void take_bytes(std::vector<unsigned char>& bytes, int from, MPI_Comm comm) {
  std::uint64_t size = 0;
  check_mpi(MPI_Recv(&size, 1, MPI_UINT64_T, from, kSizeTag, comm, MPI_STATUS_IGNORE), "MPI_Recv (tree size)");
  const std::size_t start = bytes.size();
  bytes.resize(start + size);
  for (std::size_t at = start; at < bytes.size(); at += kPiece)
    check_mpi(MPI_Recv(bytes.data() + at, static_cast<int>(std::min(kPiece, bytes.size() - at)), MPI_BYTE, from,
                       kBytesTag, comm, MPI_STATUS_IGNORE),
              "MPI_Recv (tree bytes)");
}

struct Place {
  int rank = 0;
  int size = 1;
  int lowest_bit = INT_MAX;  // the children are rank + d for d below it (and below size - rank)
};

Place place_in(MPI_Comm comm) {
  Place p;
  check_mpi(MPI_Comm_rank(comm, &p.rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &p.size), "MPI_Comm_size");
  if (p.rank > 0) p.lowest_bit = p.rank & -p.rank;
  return p;
}

}  // namespace

std::vector<unsigned char> gather_bytes_to_root(const void* data, std::size_t bytes, MPI_Comm comm) {
  const Place p = place_in(comm);
  const auto* mine = static_cast<const unsigned char*>(data);
  std::vector<unsigned char> subtree(mine, mine + bytes);
  for (int d = 1; d < p.lowest_bit && d < p.size - p.rank; d *= 2) take_bytes(subtree, p.rank + d, comm);
  if (p.rank == 0) return subtree;
  send_bytes(subtree, p.rank - p.lowest_bit, comm);
  return {};
}

std::vector<unsigned char> bytes_from_root(const std::vector<unsigned char>& bytes, MPI_Comm comm) {
  const Place p = place_in(comm);
  std::vector<unsigned char> got;
  if (p.rank == 0)
    got = bytes;
  else
    take_bytes(got, p.rank - p.lowest_bit, comm);
  int d = 1;
  while (d < p.lowest_bit && d < p.size - p.rank) d *= 2;
  for (d /= 2; d >= 1; d /= 2) send_bytes(got, p.rank + d, comm);  // the largest subtree first
  return got;
}

}  // namespace clockbench
