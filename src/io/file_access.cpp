// The two ways of writing the run file: parallel HDF5 (MPI-IO), or rank 0 with serial HDF5.
#include "io/file_access.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "mpi/byte_tree.hpp"
#include "mpi/failure_vote.hpp"
#include "mpi/mpi_env.hpp"
#include "mpi/platform.hpp"

namespace clockbench {

namespace {

// The first rank's error everywhere, with the rank named: no rank unwinds alone into a collective.
void throw_first_error(const std::string& mine, MPI_Comm comm) {
  int from = -1;
  const std::string error = first_rank_error(mine, comm, &from);
  if (from > 0) throw H5Error(error + " on rank " + std::to_string(from));
  if (from == 0) throw H5Error(error);
}

}  // namespace

FileAccess::FileAccess(const std::string& path, IoMode io, MPI_Comm comm) : comm_(comm), io_(io) {
  check_mpi(MPI_Comm_rank(comm, &rank_), "MPI_Comm_rank");
  quiet_h5_errors();
  const H5Id fapl = owned_plist(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  dxpl_ = owned_plist(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate");
  if constexpr (!platform::kRootWritesFile) {
#ifdef H5_HAVE_PARALLEL
    check_h5_status(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
    file_ = owned_file(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl), "H5Fcreate");
    check_h5_status(H5Pset_dxpl_mpio(dxpl_, io == IoMode::collective ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT),
                    "H5Pset_dxpl_mpio");
#endif
    return;
  }
  std::string error;
  try {
    if (rank_ == 0) {
      file_ = owned_file(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl), "H5Fcreate");
    } else {
      // In memory only (no backing store), under a name of its own: the ranks share one HDF5 library.
      check_h5_status(H5Pset_fapl_core(fapl, 64 * 1024, 0), "H5Pset_fapl_core");
      const std::string name = path + ".rank-" + std::to_string(rank_) + ".layout";
      file_ = owned_file(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), "H5Fcreate");
    }
  } catch (const H5Error& e) {
    error = e.what();
  }
  throw_first_error(error, comm);
}

void FileAccess::write(hid_t dset, hid_t mem_type, hid_t mspace, hid_t fspace, const void* data) {
  if constexpr (platform::kRootWritesFile)
    write_from_root(dset, mem_type, fspace, data);
  else
    write_parallel(dset, mem_type, mspace, fspace, data);
}

// A collective write fails on all ranks together; an independent one may fail on one rank only (its
// share of a full disk), and a rank that threw alone would unwind into H5Dclose/H5Fclose
// (collective) while the others went on to H5Dcreate: a deadlock.
void FileAccess::write_parallel(hid_t dset, hid_t mem_type, hid_t mspace, hid_t fspace, const void* data) {
  if (io_ == IoMode::collective) {
    check_h5_status(H5Dwrite(dset, mem_type, mspace, fspace, dxpl_, data), "H5Dwrite");
    return;
  }
  std::string error;
  try {
    check_h5_status(H5Dwrite(dset, mem_type, mspace, fspace, dxpl_, data), "H5Dwrite");
  } catch (const H5Error& e) {
    error = e.what();
  }
  throw_first_error(error, comm_);
}

// Every rank's block goes to rank 0 along a tree (mpi/byte_tree.hpp), each as its shape, its bytes
// and its error, if it has one; rank 0 places each block into a copy of the whole dataset, writes
// that at once and sends the first error (by rank) back down the tree. Neither way leaves a send
// detached, which SimGrid pays for in N squared scans, as it does for N sends straight to rank 0
// or a collective's rounds; and one write per block was one per element for a column of a
// contiguous dataset (docs/simulation.md, "Scale").
void FileAccess::write_from_root(hid_t dset, hid_t mem_type, hid_t fspace, const void* data) {
  std::string error;
  BlockShape mine;
  try {
    const H5Id whole = owned_space(H5Dget_space(dset), "H5Dget_space");
    const hid_t selection = fspace == H5S_ALL ? whole.get() : fspace;
    const hssize_t points = H5Sget_select_npoints(selection);
    if (points < 0) check_h5_status(-1, "H5Sget_select_npoints");
    const int axes = H5Sget_simple_extent_ndims(whole);
    if (axes < 0 || axes > 2) check_h5_status(-1, "H5Sget_simple_extent_ndims");
    if (points > 0 && axes > 0) {
      std::array<hsize_t, 2> first{}, last{};
      check_h5_status(H5Sget_select_bounds(selection, first.data(), last.data()), "H5Sget_select_bounds");
      for (std::size_t a = 0; a < static_cast<std::size_t>(axes); ++a) {
        mine.first[a] = first[a];
        mine.last[a] = last[a];
      }
    }
    mine.bytes = static_cast<std::uint64_t>(points) * H5Tget_size(mem_type);
  } catch (const H5Error& e) {
    error = e.what();
    mine = BlockShape{};
  }
  mine.error_bytes = error.size();
  std::vector<unsigned char> record(sizeof mine + mine.bytes + error.size());
  std::memcpy(record.data(), &mine, sizeof mine);
  if (mine.bytes > 0) std::memcpy(record.data() + sizeof mine, data, mine.bytes);
  std::memcpy(record.data() + sizeof mine + mine.bytes, error.data(), error.size());
  const std::vector<unsigned char> records = gather_bytes_to_root(record.data(), record.size(), comm_);

  // The outcome, from rank 0: the failing rank (or -1) and its error.
  std::vector<unsigned char> outcome(sizeof(std::int32_t), 0);
  if (rank_ == 0) {
    std::int32_t from = -1;
    try {
      write_blocks(dset, mem_type, records, from, error);
    } catch (const H5Error& e) {
      from = 0;
      error = e.what();
    }
    if (from < 0) error.clear();
    std::memcpy(outcome.data(), &from, sizeof from);
    outcome.insert(outcome.end(), error.begin(), error.end());
  }
  outcome = bytes_from_root(outcome, comm_);
  std::int32_t from = -1;
  std::memcpy(&from, outcome.data(), sizeof from);
  const std::string first(outcome.begin() + sizeof from, outcome.end());
  if (from > 0) throw H5Error(first + " on rank " + std::to_string(from));
  if (from == 0) throw H5Error(first);
}

// Rank 0: every rank's block (shape, bytes, error) into its place in a copy of `dset`, written at
// once; or, if a rank had an error, nothing, and `from` and `error` say the first.
void FileAccess::write_blocks(hid_t dset, hid_t mem_type, const std::vector<unsigned char>& blocks, std::int32_t& from,
                              std::string& error) {
  const H5Id space = owned_space(H5Dget_space(dset), "H5Dget_space");
  const int axes = H5Sget_simple_extent_ndims(space);
  std::array<hsize_t, 2> dims{1, 1};
  if (axes > 0) check_h5_status(H5Sget_simple_extent_dims(space, dims.data(), nullptr), "H5Sget_simple_extent_dims");
  // Rows of elements: a 1-axis dataset is one row, a scalar one element.
  const std::size_t element = H5Tget_size(mem_type);
  const std::size_t row = (axes == 2 ? dims[1] : dims[0]) * element;
  std::vector<unsigned char> whole((axes == 2 ? dims[0] : 1) * row);
  bool any = false;
  std::int32_t rank = 0;
  for (std::size_t at = 0; at < blocks.size(); ++rank) {
    BlockShape s;
    if (blocks.size() - at < sizeof s) throw H5Error("gathered blocks: a block shape cut short");
    std::memcpy(&s, blocks.data() + at, sizeof s);
    at += sizeof s;
    if (blocks.size() - at < s.bytes + s.error_bytes) throw H5Error("gathered blocks: a block cut short");
    const unsigned char* block = blocks.data() + at;
    at += s.bytes + s.error_bytes;
    if (s.error_bytes > 0 && from < 0) {
      from = rank;
      error.assign(reinterpret_cast<const char*>(block + s.bytes), s.error_bytes);
    }
    if (s.bytes == 0 || from >= 0) continue;
    any = true;
    if (axes == 0) {
      std::memcpy(whole.data(), block, std::min<std::size_t>(s.bytes, whole.size()));
      continue;
    }
    // Row by row: a block is a box of its dataset, its elements in row-major order.
    const std::uint64_t rows = axes == 1 ? 1 : s.last[0] - s.first[0] + 1;
    const std::uint64_t first_row = axes == 1 ? 0 : s.first[0];
    const std::uint64_t first_col = axes == 1 ? s.first[0] : s.first[1];
    const std::uint64_t cols = (axes == 1 ? s.last[0] : s.last[1]) - first_col + 1;
    if (rows * cols * element != s.bytes || (first_row + rows) * row > whole.size() ||
        (first_col + cols) * element > row)
      throw H5Error("gathered blocks: a block's shape and size disagree");
    for (std::uint64_t r = 0; r < rows; ++r)
      std::memcpy(whole.data() + (first_row + r) * row + first_col * element, block + r * cols * element,
                  cols * element);
  }
  if (!any || from >= 0) return;
  check_h5_status(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, dxpl_, whole.data()), "H5Dwrite");
}

std::string FileAccess::io_mode() const {
  if constexpr (platform::kRootWritesFile) return "rank 0 (serial HDF5)";
#ifdef H5_HAVE_PARALLEL
  H5D_mpio_actual_io_mode_t mode = H5D_MPIO_NO_COLLECTIVE;
  check_h5_status(H5Pget_mpio_actual_io_mode(dxpl_, &mode), "H5Pget_mpio_actual_io_mode");
  switch (mode) {
    case H5D_MPIO_CONTIGUOUS_COLLECTIVE:
    case H5D_MPIO_CHUNK_COLLECTIVE:
      return "collective";
    case H5D_MPIO_CHUNK_MIXED:
      return "mixed";
    case H5D_MPIO_CHUNK_INDEPENDENT:
    case H5D_MPIO_NO_COLLECTIVE:
    default:
      return "independent";
  }
#else
  return "independent";
#endif
}

void FileAccess::close() {
  dxpl_.close("H5Pclose");
  file_.close("H5Fclose");
}

}  // namespace clockbench
