// Writing the file, moving it into place, and what is left when either fails.
#include "app/publish.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "app/output_path.hpp"
#include "io/run_writer.hpp"
#include "mpi/failure_vote.hpp"
#include "mpi/monotonic.hpp"
#include "mpi/mpi_env.hpp"

namespace clockbench {

namespace {

// A failing rank waits this long for the others to finish writing before it aborts the job.
constexpr double kWriteVoteTimeoutS = 20.0;

std::string utc_now_iso() {
  char buf[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Collective. Writes the partial file; on a failure on any rank, every rank returns the first
// failing rank's error line (naming the file and the HDF5 call) and rank 0 removes the partial
// file. A failing rank whose peers are stuck inside HDF5 prints its own line and aborts the job.
std::string write_file_once(const RunDescription& d, const MachineResult& result, MPI_Comm comm) {
  const OutputPlan& out = d.output;
  MPI_Comm vote_comm = MPI_COMM_NULL;  // of its own: the vote must not match an HDF5 collective
  check_mpi(MPI_Comm_dup(comm, &vote_comm), "MPI_Comm_dup");
  const RunMetadata meta = run_metadata(d, result, bcast_string(utc_now_iso(), 0, comm));
  std::string error;
  try {
    write_run_file(out.partial_path, meta, config_text(d), result, MpiEnvironment::processor_name(), d.config.hdf5_io,
                   comm);
  } catch (const std::exception& e) {
    error = e.what();
  }
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  const std::string line_head = "cannot write '" + out.final_path + "' (as '" + out.partial_path + "'): ";
  const FailureVote vote = vote_on_failure(!error.empty(), vote_comm, kWriteVoteTimeoutS);
  if (vote.timed_out) {
    std::fprintf(stderr, "clockbench: error on rank %d: %s%s; the other ranks did not finish, aborting\n", rank,
                 line_head.c_str(), error.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  if (vote.any_failed) {
    error = bcast_string(error, vote.first_rank, vote_comm);
    error = line_head + error + (vote.first_rank ? " on rank " + std::to_string(vote.first_rank) : "");
    // The partial file is removed: a failed write leaves nothing that could pass for a result.
    if (rank == 0) {
      if (const std::string why = diagnose_write_failure(out.final_path); !why.empty()) error += ": " + why;
      if (unlink(out.partial_path.c_str()) == 0) error += "; the partial file was removed";
    }
  }
  check_mpi(MPI_Comm_free(&vote_comm), "MPI_Comm_free");
  return error;
}

// Rank 0, after a failed write: what is left of the run in its crash journal.
std::string journal_note(const std::string& journal, const std::string& journal_error) {
  struct stat st;
  if (stat(journal.c_str(), &st) != 0) return "; its crash journal '" + journal + "' is gone too";
  if (!journal_error.empty()) return "; its crash journal is incomplete too (" + journal_error + ")";
  return "; every event is in the crash journal '" + journal + "' (clockbench-analyze recover " + journal + " -o FILE)";
}

}  // namespace

Publication publish_run(const RunDescription& d, const MachineResult& result, const std::string& journal_error,
                        std::optional<EventFlusher>& flusher, MPI_Comm comm) {
  Publication p;
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  const bool root = rank == 0;
  const double start = monotonic_now();
  p.error = write_file_once(d, result, comm);
  p.write_failed = !p.error.empty();
  p.write_s = monotonic_now() - start;
  if (p.write_failed) {
    if (!d.journal.empty()) p.error += journal_note(d.journal, journal_error);
    return p;
  }
  p.error = bcast_string(root ? publish_output(d.output, d.config.force) : "", 0, comm);
  if (!journal_error.empty() && root)
    std::fprintf(stderr, "clockbench: warning: the crash journal is incomplete (%s); the run's file is whole\n",
                 journal_error.c_str());
  // The file is whole: the journal is not needed any more.
  if (!d.journal.empty()) {  // every rank: one may have run without its journal file
    if (flusher) flusher->remove();
    check_mpi(MPI_Barrier(comm), "MPI_Barrier");
    if (root) remove_journal_folder(d.journal);
  }
  return p;
}

}  // namespace clockbench
