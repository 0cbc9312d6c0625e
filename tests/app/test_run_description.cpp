// The views of one run description say what it holds: the journal header (what recovery rebuilds
// a file from) and the file's root attributes each carry the description's facts, checked against
// the literals it was made of (not against each other), and /config text names the same experiment.
#include <gtest/gtest.h>

#include <string>

#include "app/run_description.hpp"
#include "core/config.hpp"

namespace clockbench {

namespace {

RunDescription ring_of_four() {
  RunDescription d;
  d.config.duration_s = 30;
  d.config.speedup = 100;
  d.config.p_internal = 0.25;
  d.config.topology = Topology::ring();
  d.config.flush_interval_s = 2;
  d.config.max_ticks = 1234;  // ignored: a paced run has no tick cap
  d.rates = {1, 2.5, 3, 6};
  d.seed = 42;
  d.n_machines = 4;
  d.version = "9.8.7";
  d.git_sha = "abc123";
  d.slurm.job_id = "77";
  d.slurm.array_task_id = "3";
  d.slurm.job_name = "sweep";
  return d;
}

}  // namespace

TEST(RunDescription, JournalHeaderAndFileAttributesCarryTheSameFacts) {
  const RunDescription d = ring_of_four();
  MachineResult result;
  result.end_s = 12.5;
  result.completed = false;
  result.stop_reason = "SIGTERM on rank 1";
  const JournalHeader h = journal_header(d, 2, "node7");
  const RunMetadata m = run_metadata(d, result, "2026-11-26T00:00:00Z");

  EXPECT_EQ(h.rank, 2);
  EXPECT_EQ(h.hostname, "node7");
  EXPECT_EQ(h.n_machines, 4);
  EXPECT_EQ(m.n_machines, 4);
  EXPECT_EQ(h.seed, 42u);
  EXPECT_EQ(m.seed, 42u);
  EXPECT_EQ(h.duration_s, 30.0);
  EXPECT_EQ(m.duration_s, 30.0);
  EXPECT_EQ(h.speedup, 100.0);
  EXPECT_EQ(m.speedup, 100.0);
  EXPECT_EQ(h.p_internal, 0.25);
  EXPECT_EQ(m.p_internal, 0.25);
  EXPECT_EQ(h.version, "9.8.7");
  EXPECT_EQ(m.clockbench_version, "9.8.7");
  EXPECT_EQ(h.git_sha, "abc123");
  EXPECT_EQ(m.git_sha, "abc123");
  EXPECT_EQ(h.topology, 1);  // the journal header's code for ring (0 full, 1 ring)
  EXPECT_EQ(m.topology, "ring");
  EXPECT_EQ(h.flat_out, 0);
  EXPECT_EQ(m.flat_out, 0);
  EXPECT_EQ(h.max_ticks, 0);  // paced: no cap, in both
  EXPECT_EQ(m.max_ticks, 0);
  EXPECT_EQ(h.rates, (std::vector<double>{1, 2.5, 3, 6}));
  EXPECT_EQ(h.peers, (std::vector<std::int32_t>{1, 3}));  // ring neighbours of 2 among 4

  EXPECT_EQ(m.end_s, 12.5);
  EXPECT_EQ(m.completed, 0);
  EXPECT_EQ(m.stop_reason, "SIGTERM on rank 1");
  EXPECT_EQ(m.slurm_job_id, "77");
  EXPECT_EQ(m.slurm_array_task_id, "3");
  EXPECT_EQ(slurm_label(d), "job 77, array task 3, name sweep");
}

TEST(RunDescription, FlatOutRecordsItsTickCapEverywhere) {
  RunDescription d = ring_of_four();
  d.config.flat_out = true;
  EXPECT_EQ(journal_header(d, 0, "h").max_ticks, 1234);
  EXPECT_EQ(run_metadata(d, MachineResult{}, "").max_ticks, 1234);
  EXPECT_EQ(engine_plan(d).max_ticks, 1234);
}

TEST(RunDescription, ConfigTextNamesTheSameExperiment) {
  const std::string text = config_text(ring_of_four());
  EXPECT_NE(text.find("\nseed=42\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntopology=\"ring\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nrates=[1,2.5,3,6]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mpirun -np 4 clockbench --config FILE"), std::string::npos) << text;
}

TEST(RunDescription, OutsideSlurmAndWithoutOutputTheLabelsSaySo) {
  RunDescription d = ring_of_four();
  d.slurm = SlurmJob{};
  d.config.no_output = true;
  d.output.final_path = "x.h5";
  EXPECT_EQ(slurm_label(d), "");
  EXPECT_EQ(output_label(d), "none");
}

TEST(RunDescription, CommandLineIsQuotedForTheShell) {
  char a0[] = "clockbench", a1[] = "--rates", a2[] = "1,2,3", a3[] = "-o", a4[] = "my run's.h5";
  char* argv[] = {a0, a1, a2, a3, a4};
  EXPECT_EQ(quoted_command_line(5, argv), "clockbench --rates 1,2,3 -o 'my run'\\''s.h5'");
}

}  // namespace clockbench
