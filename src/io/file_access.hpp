// How the ranks' rows reach the one run file (docs/simulation.md, "The file"). With parallel HDF5
// every rank writes its own block of each dataset, collectively or independently (--hdf5-io).
// Without it (the SMPI build: Debian's parallel HDF5 is built on Open MPI), rank 0 writes every
// rank's block with serial HDF5, gathered to it; the other ranks lay out the same objects in a
// file held in memory and never stored, so that the layout (src/io/run_writer.cpp) is one code
// path for both.
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "io/h5_handles.hpp"

namespace clockbench {

// A block of a dataset of at most two axes, as one rank sends it towards rank 0: its first and last
// element per axis and its size in bytes (0: nothing selected), then the size of the rank's error
// (0: none), whose text follows the block's bytes.
struct BlockShape {
  std::array<std::uint64_t, 2> first{};
  std::array<std::uint64_t, 2> last{};
  std::uint64_t bytes = 0;
  std::uint64_t error_bytes = 0;
};

class FileAccess {
 public:
  // Collective. Creates `path`, which must not exist.
  FileAccess(const std::string& path, IoMode io, MPI_Comm comm);

  // The file this rank lays the objects out in (rank 0's is `path`).
  hid_t file() const { return file_; }

  // Collective: this rank's selection of `dset` (as H5Dwrite takes it; a selection of none writes
  // nothing). Every rank leaves having succeeded, or every rank throws the first failing rank's error.
  void write(hid_t dset, hid_t mem_type, hid_t mspace, hid_t fspace, const void* data);

  // How the last write really went: HDF5 may quietly fall back to independent I/O.
  std::string io_mode() const;

  void close();

 private:
  void write_parallel(hid_t dset, hid_t mem_type, hid_t mspace, hid_t fspace, const void* data);
  void write_from_root(hid_t dset, hid_t mem_type, hid_t fspace, const void* data);
  void write_blocks(hid_t dset, hid_t mem_type, const std::vector<unsigned char>& blocks, std::int32_t& from,
                    std::string& error);

  MPI_Comm comm_;
  int rank_ = 0;
  IoMode io_;
  H5Id file_;
  H5Id dxpl_;
};

}  // namespace clockbench
