// The Slurm job a run belongs to, read from the environment Slurm gives its tasks.
#pragma once

#include <optional>
#include <string>

namespace clockbench {

struct SlurmJob {
  std::string job_id;         // "" outside Slurm
  std::string array_task_id;  // "" outside a job array
  std::string job_name;
  std::optional<long> ntasks;  // SLURM_NTASKS, when set and a number
};

SlurmJob slurm_job_from_env();

// "" when the MPI world matches the job's tasks (or there is no job); otherwise the error line.
// A launch that starts N single-rank jobs, or fewer ranks than tasks, must fail loudly.
std::string check_world_size(const SlurmJob& job, int world_size);

}  // namespace clockbench
