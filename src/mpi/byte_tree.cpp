// The binomial tree rooted at rank 0: rank r's parent is r less its lowest set bit, its children
// are r + 1, r + 2, r + 4, ... below that bit (rank 0: every power of two below N). The subtree of
// child r + 2^k is the ranks r + 2^k .. r + 2^(k+1) - 1, so taking the children in that order
// keeps the bytes in rank order.
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

void send_subtree(const std::vector<unsigned char>& bytes, int to, MPI_Comm comm) {
  const std::uint64_t size = bytes.size();
  check_mpi(MPI_Send(&size, 1, MPI_UINT64_T, to, kSizeTag, comm), "MPI_Send (subtree size)");
  for (std::size_t at = 0; at < bytes.size(); at += kPiece)
    check_mpi(MPI_Send(bytes.data() + at, static_cast<int>(std::min(kPiece, bytes.size() - at)), MPI_BYTE, to,
                       kBytesTag, comm),
              "MPI_Send (subtree bytes)");
}

// Appends child `from`'s subtree to `bytes`.
void take_subtree(std::vector<unsigned char>& bytes, int from, MPI_Comm comm) {
  std::uint64_t size = 0;
  check_mpi(MPI_Recv(&size, 1, MPI_UINT64_T, from, kSizeTag, comm, MPI_STATUS_IGNORE), "MPI_Recv (subtree size)");
  const std::size_t start = bytes.size();
  bytes.resize(start + size);
  for (std::size_t at = start; at < bytes.size(); at += kPiece)
    check_mpi(MPI_Recv(bytes.data() + at, static_cast<int>(std::min(kPiece, bytes.size() - at)), MPI_BYTE, from,
                       kBytesTag, comm, MPI_STATUS_IGNORE),
              "MPI_Recv (subtree bytes)");
}

}  // namespace

std::vector<unsigned char> gather_bytes_to_root(const void* data, std::size_t bytes, MPI_Comm comm) {
  int rank = 0, n = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  const auto* mine = static_cast<const unsigned char*>(data);
  std::vector<unsigned char> subtree(mine, mine + bytes);
  const int lowest_bit = rank == 0 ? INT_MAX : rank & -rank;
  for (int d = 1; d < lowest_bit && d < n - rank; d *= 2) take_subtree(subtree, rank + d, comm);
  if (rank == 0) return subtree;
  send_subtree(subtree, rank - lowest_bit, comm);
  return {};
}

}  // namespace clockbench
