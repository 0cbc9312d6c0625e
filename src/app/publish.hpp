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

// Collective. `flusher`: this rank's crash journal, paused after the run, or none. When the write
// fails the journal takes the rest of the events and the error says what it holds; when the file
// is whole the journal is removed (rank 0 warns, once, if it had failed along the way).
Publication publish_run(const RunDescription& d, const MachineResult& result, std::optional<EventFlusher>& flusher,
                        MPI_Comm comm);

}  // namespace clockbench
