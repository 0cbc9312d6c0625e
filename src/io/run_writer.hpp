// Writes one run into one HDF5 file: every rank its own rows, collectively (io/file_access.hpp: how).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "core/config.hpp"
#include "core/machine_result.hpp"
#include "io/provenance.hpp"
#include "mpi/platform.hpp"

namespace clockbench {

// Root attributes; identical on every rank (broadcast from rank 0 before writing).
struct RunMetadata {
  std::string clockbench_version;
  std::string git_sha;
  std::string created_utc;
  std::string command_line;
  std::string mpi_library_version;
  std::string hdf5_version;
  std::string topology;
  std::string stop_reason;
  std::string slurm_job_id;  // "" outside Slurm
  std::string slurm_array_task_id;
  std::string slurm_job_name;
  std::int32_t n_machines = 0;
  double duration_s = 0.0;
  double speedup = 1.0;
  double p_internal = 0.0;
  double end_s = 0.0;
  std::uint64_t seed = 0;
  std::int32_t completed = 0;
  std::int32_t flat_out = 0;   // 1: --rates max, every machine ticked back to back
  std::int64_t max_ticks = 0;  // flat out: the tick cap per machine; 0 for a paced run
  std::string phase_mode;      // random or zero
  std::string latency;         // the --latency setting as text
  double grace_s = 0.0;
  std::string timing;  // "ok" or "degraded: ..."
  std::int64_t late_deliveries = 0;
  std::int64_t missed_ticks = 0;
  std::int32_t realtime = 0;        // 1: every rank ticked at real-time priority (--realtime)
  BuildProvenance build;            // compiler, flags, build type; rank 0's CPU model
  platform::Simulation simulation;  // a simulated run's platform; its name empty on a real run
};

// Collective. Creates `path` (which must not exist), writes everything, closes it. The file follows the
// netCDF-4/CF conventions of docs/schema.md: every group's dimension scales, _FillValue, kind's flags.
void write_run_file(const std::string& path, const RunMetadata& meta, const std::string& config_text,
                    const MachineResult& local, const std::string& hostname, IoMode io, MPI_Comm comm);

}  // namespace clockbench
