// After the run: all ranks write the file under its partial name, rank 0 moves it into place, and
// the crash journal is removed once the file is safe (or named in the error when it is not).
#pragma once

#include <mpi.h>

#include <optional>
#include <string>

#include "app/run_description.hpp"
#include "io/journal.hpp"
#include "mpi/engine.hpp"

namespace clockbench {

struct Publication {
  std::string error;          // "" or the one error line, the same on every rank
  bool write_failed = false;  // the HDF5 write itself failed (not only the move into place)
  double write_s = 0.0;       // rank 0's wall time from the first collective call to the file closed
};

// Collective. `journal_error`: the first rank's crash journal error ("" if the journal is whole
// or off), the same on every rank. Rank 0 prints the warning for a journal that is incomplete
// next to a whole file.
Publication publish_run(const RunDescription& d, const MachineResult& result, const std::string& journal_error,
                        std::optional<EventFlusher>& flusher, MPI_Comm comm);

}  // namespace clockbench
