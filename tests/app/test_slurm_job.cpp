// Under Slurm the MPI world must match the job's tasks; outside Slurm anything goes.
#include <gtest/gtest.h>

#include <cstdlib>

#include "app/slurm_job.hpp"

namespace clockbench {

TEST(SlurmJob, NoJobNoCheck) {
  const SlurmJob none;
  EXPECT_EQ(check_world_size(none, 1), "");
  EXPECT_EQ(check_world_size(none, 64), "");
}

TEST(SlurmJob, WorldSizeMustMatchTheTasks) {
  SlurmJob job;
  job.ntasks = 4;
  EXPECT_EQ(check_world_size(job, 4), "");
  const std::string err = check_world_size(job, 1);
  EXPECT_EQ(err.rfind("MPI world size 1 differs from SLURM_NTASKS=4: ", 0), 0u) << err;
  EXPECT_NE(check_world_size(job, 2).find("srun --mpi=pmix"), std::string::npos);
}

TEST(SlurmJob, ReadsTheEnvironment) {
  setenv("SLURM_JOB_ID", "77", 1);
  setenv("SLURM_ARRAY_TASK_ID", "3", 1);
  setenv("SLURM_JOB_NAME", "sweep", 1);
  setenv("SLURM_NTASKS", "16", 1);
  const SlurmJob job = slurm_job_from_env();
  EXPECT_EQ(job.job_id, "77");
  EXPECT_EQ(job.array_task_id, "3");
  EXPECT_EQ(job.job_name, "sweep");
  EXPECT_EQ(job.ntasks, 16);
  setenv("SLURM_NTASKS", "many", 1);
  EXPECT_FALSE(slurm_job_from_env().ntasks.has_value());
  for (const char* v : {"SLURM_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_JOB_NAME", "SLURM_NTASKS"}) unsetenv(v);
}

}  // namespace clockbench
