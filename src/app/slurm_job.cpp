// Slurm's environment variables, and the world-size check against SLURM_NTASKS.
#include "app/slurm_job.hpp"

#include <cstdlib>

namespace clockbench {

namespace {
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}
}  // namespace

SlurmJob slurm_job_from_env() {
  SlurmJob job;
  job.job_id = env("SLURM_JOB_ID");
  job.array_task_id = env("SLURM_ARRAY_TASK_ID");
  job.job_name = env("SLURM_JOB_NAME");
  const std::string ntasks = env("SLURM_NTASKS");
  if (!ntasks.empty()) {
    char* end = nullptr;
    const long n = std::strtol(ntasks.c_str(), &end, 10);
    if (end && *end == '\0' && n > 0) job.ntasks = n;
  }
  return job;
}

std::string check_world_size(const SlurmJob& job, int world_size) {
  if (!job.ntasks || *job.ntasks == world_size) return {};
  return "MPI world size " + std::to_string(world_size) + " differs from SLURM_NTASKS=" + std::to_string(*job.ntasks) +
         ": start one rank per task (srun --mpi=pmix clockbench, or mpirun without -np inside the "
         "allocation); unset SLURM_NTASKS to run another size on purpose";
}

}  // namespace clockbench
