// One description of a run, decided on rank 0 and shared with every rank before the run starts.
// The printed header, the engine's plan, the crash journal's header, the file's root attributes
// and its /config text are all views of it, so a fact of the run is set in one place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/output_path.hpp"
#include "app/slurm_job.hpp"
#include "core/config.hpp"
#include "io/journal.hpp"
#include "io/provenance.hpp"
#include "io/run_writer.hpp"
#include "mpi/engine.hpp"

namespace clockbench {

struct RunDescription {
  Config config;
  std::vector<double> rates;  // one per machine, resolved (drawn, listed, or kFlatOutRate)
  bool rates_drawn = false;   // drawn from --rate-min..--rate-max rather than listed
  std::uint64_t seed = 0;
  int n_machines = 0;
  OutputPlan output;         // unused with --no-output
  OutputPlan json;           // --json FILE, rank 0 only (final_path "": not asked for)
  std::string journal;       // crash journal folder, "" when off
  std::string command_line;  // as typed, shell-quoted
  SlurmJob slurm;            // the job rank 0 runs in (empty outside Slurm)
  std::string version;       // clockbench
  std::string git_sha;
  std::string mpi_library;
  std::string hdf5_version;
  BuildProvenance build;  // rank 0's: this binary's build and its CPU model
};

// Collective: every rank leaves with rank 0's description.
void share(RunDescription& d, MPI_Comm comm);

// "job 123, array task 4, name x" under Slurm, "" outside.
std::string slurm_label(const RunDescription& d);
// The output path as printed: the final file, or "none" with --no-output.
std::string output_label(const RunDescription& d);

EnginePlan engine_plan(const RunDescription& d);
JournalHeader journal_header(const RunDescription& d, int rank, const std::string& hostname);
RunMetadata run_metadata(const RunDescription& d, const MachineResult& result, const std::string& created_utc);
// The /config text: accepted by --config to run the same experiment again.
std::string config_text(const RunDescription& d);

// `argv` as a shell would need it typed again: words with unusual characters in single quotes.
std::string quoted_command_line(int argc, char** argv);

}  // namespace clockbench
