// The two ways of writing the run file: parallel HDF5 (MPI-IO), or rank 0 with serial HDF5.
#include "io/file_access.hpp"

#include <array>
#include <cstdint>
#include <vector>

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

// Every rank's block goes to rank 0, which writes each into its place as it comes: the shapes in
// whatever order they arrive, each followed by its rank's bytes. A receive from one named rank in
// turn (or a probe) costs SMPI a scan of every message waiting: N squared per dataset
// (docs/simulation.md, "Scale").
void FileAccess::write_from_root(hid_t dset, hid_t mem_type, hid_t fspace, const void* data) {
  constexpr int kShapeTag = 71;
  constexpr int kBytesTag = 72;
  int n = 1;
  check_mpi(MPI_Comm_size(comm_, &n), "MPI_Comm_size");
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
  }
  throw_first_error(error, comm_);
  if (rank_ != 0) {
    check_mpi(MPI_Send(&mine, sizeof mine, MPI_BYTE, 0, kShapeTag, comm_), "MPI_Send (block shape)");
    if (mine.bytes > 0)
      check_mpi(MPI_Send(data, static_cast<int>(mine.bytes), MPI_BYTE, 0, kBytesTag, comm_), "MPI_Send (block)");
  } else {
    std::vector<unsigned char> bytes;
    for (int r = 0; r < n; ++r) {
      BlockShape s = mine;
      const void* block = data;
      if (r > 0) {
        MPI_Status status;
        check_mpi(MPI_Recv(&s, sizeof s, MPI_BYTE, MPI_ANY_SOURCE, kShapeTag, comm_, &status),
                  "MPI_Recv (block shape)");
        bytes.resize(s.bytes);
        if (s.bytes > 0)
          check_mpi(MPI_Recv(bytes.data(), static_cast<int>(s.bytes), MPI_BYTE, status.MPI_SOURCE, kBytesTag, comm_,
                             MPI_STATUS_IGNORE),
                    "MPI_Recv (block)");
        block = bytes.data();
      }
      if (s.bytes == 0 || !error.empty()) continue;  // after a failure, the blocks are only taken
      try {
        write_block(dset, mem_type, s, block);
      } catch (const H5Error& e) {
        error = e.what();
      }
    }
  }
  throw_first_error(error, comm_);
}

// Rank 0: one block into its place in `dset`.
void FileAccess::write_block(hid_t dset, hid_t mem_type, const BlockShape& s, const void* block) {
  const H5Id space = owned_space(H5Dget_space(dset), "H5Dget_space");
  const int axes = H5Sget_simple_extent_ndims(space);
  if (axes == 0) {
    check_h5_status(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, dxpl_, block), "H5Dwrite");
    return;
  }
  std::array<hsize_t, 2> start{}, count{};
  hsize_t elements = 1;
  for (std::size_t a = 0; a < static_cast<std::size_t>(axes); ++a) {
    start[a] = s.first[a];
    count[a] = s.last[a] - s.first[a] + 1;
    elements *= count[a];
  }
  const H5Id mem = owned_space(H5Screate_simple(1, &elements, nullptr), "H5Screate_simple");
  check_h5_status(H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
                  "H5Sselect_hyperslab");
  check_h5_status(H5Dwrite(dset, mem_type, mem, space, dxpl_, block), "H5Dwrite");
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
