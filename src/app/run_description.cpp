// Views of a run's description; the broadcast that makes it the same on every rank.
#include "app/run_description.hpp"

#include <unistd.h>

#include "core/config_text.hpp"
#include "core/phase.hpp"
#include "core/topology.hpp"
#include "mpi/mpi_env.hpp"
#include "mpi/platform.hpp"

namespace clockbench {

namespace {

std::string shell_quote(const std::string& s) {
  constexpr const char* kPlain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+@";
  if (!s.empty() && s.find_first_not_of(kPlain) == std::string::npos) return s;
  std::string q = "'";
  for (const char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

void share(RunDescription& d, MPI_Comm comm) {
  // The options the run needs on every rank; the rest of Config (--config, --rates as typed,
  // --seed as typed) only rank 0 reads, and its results travel as rates and seed.
  Config& c = d.config;
  c.duration_s = bcast_value(c.duration_s, 0, comm);
  c.speedup = bcast_value(c.speedup, 0, comm);
  c.p_internal = bcast_value(c.p_internal, 0, comm);
  c.topology = bcast_value(c.topology, 0, comm);
  c.quiet = bcast_value(c.quiet, 0, comm);
  c.timings = bcast_value(c.timings, 0, comm);
  c.force = bcast_value(c.force, 0, comm);
  c.flat_out = bcast_value(c.flat_out, 0, comm);
  c.max_ticks = bcast_value(c.max_ticks, 0, comm);
  c.no_output = bcast_value(c.no_output, 0, comm);
  c.flush_interval_s = bcast_value(c.flush_interval_s, 0, comm);
  c.hdf5_io = bcast_value(c.hdf5_io, 0, comm);
  c.phase = bcast_value(c.phase, 0, comm);
  c.latency = bcast_value(c.latency, 0, comm);
  c.grace_s = bcast_value(c.grace_s, 0, comm);
  c.strict_timing = bcast_value(c.strict_timing, 0, comm);
  c.realtime = bcast_value(c.realtime, 0, comm);
  c.clock_estimate = bcast_value(c.clock_estimate, 0, comm);
  d.rates = bcast_doubles(d.rates, 0, comm);
  d.rates_drawn = bcast_value(d.rates_drawn, 0, comm);
  d.seed = bcast_value(d.seed, 0, comm);
  d.n_machines = bcast_value(d.n_machines, 0, comm);
  d.output.final_path = bcast_string(d.output.final_path, 0, comm);
  d.output.partial_path = bcast_string(d.output.partial_path, 0, comm);
  d.journal = bcast_string(d.journal, 0, comm);
  d.command_line = bcast_string(d.command_line, 0, comm);
  d.slurm.job_id = bcast_string(d.slurm.job_id, 0, comm);
  d.slurm.array_task_id = bcast_string(d.slurm.array_task_id, 0, comm);
  d.slurm.job_name = bcast_string(d.slurm.job_name, 0, comm);
  d.version = bcast_string(d.version, 0, comm);
  d.git_sha = bcast_string(d.git_sha, 0, comm);
  d.mpi_library = bcast_string(d.mpi_library, 0, comm);
  d.hdf5_version = bcast_string(d.hdf5_version, 0, comm);
  for (std::string* s :
       {&d.build.compiler_id, &d.build.compiler_version, &d.build.build_type, &d.build.build_flags, &d.build.cpu_model})
    *s = bcast_string(*s, 0, comm);
}

std::string slurm_label(const RunDescription& d) {
  const SlurmJob& j = d.slurm;
  if (j.job_id.empty()) return {};
  return "job " + j.job_id + (j.array_task_id.empty() ? "" : ", array task " + j.array_task_id) + ", name " +
         j.job_name;
}

std::string output_label(const RunDescription& d) { return d.config.no_output ? "none" : d.output.final_path; }

EnginePlan engine_plan(const RunDescription& d) {
  const Config& c = d.config;
  EnginePlan plan;
  plan.rates = d.rates;
  plan.max_ticks = c.max_ticks;
  plan.duration_s = c.duration_s;
  plan.speedup = c.speedup;
  plan.p_internal = c.p_internal;
  plan.seed = d.seed;
  plan.topology = c.topology;
  plan.phase = c.phase;
  plan.latency = c.latency;
  plan.grace_s = c.grace_s;
  plan.realtime = c.realtime;
  plan.clock_estimate = c.clock_estimate;
  return plan;
}

JournalHeader journal_header(const RunDescription& d, int rank, const std::string& hostname) {
  const Config& c = d.config;
  JournalHeader h;
  h.rank = rank;
  h.n_machines = d.n_machines;
  h.seed = d.seed;
  h.duration_s = c.duration_s;
  h.speedup = c.speedup;
  h.p_internal = c.p_internal;
  h.flush_interval_s = c.flush_interval_s;
  // 0 full, 1 ring, K (even, >= 2) random:K: the field's layout is unchanged.
  h.topology = c.topology.kind == Topology::Kind::ring     ? 1
               : c.topology.kind == Topology::Kind::random ? c.topology.k
                                                           : 0;
  h.flat_out = c.flat_out ? 1 : 0;
  h.max_ticks = c.flat_out ? c.max_ticks : 0;
  h.pid = static_cast<std::int64_t>(getpid());
  h.version = d.version;
  h.git_sha = d.git_sha;
  h.hostname = hostname;
  h.rates = d.rates;
  h.peers = peers_of(rank, d.n_machines, c.topology, d.seed);
  h.phase_s = machine_phase(d.seed, static_cast<std::uint64_t>(rank), d.rates[static_cast<std::size_t>(rank)], c.phase);
  h.grace_s = c.grace_s;
  h.phase_mode = c.phase == PhaseMode::zero ? 1 : 0;
  h.latency = c.latency.text();
  return h;
}

RunMetadata run_metadata(const RunDescription& d, const MachineResult& result, const std::string& created_utc) {
  const Config& c = d.config;
  RunMetadata m;
  m.clockbench_version = d.version;
  m.git_sha = d.git_sha;
  m.created_utc = created_utc;
  m.command_line = d.command_line;
  m.mpi_library_version = d.mpi_library;
  m.hdf5_version = d.hdf5_version;
  m.build = d.build;
  m.simulation = platform::simulation();
  m.topology = c.topology.text();
  m.stop_reason = result.stop_reason;
  m.slurm_job_id = d.slurm.job_id;
  m.slurm_array_task_id = d.slurm.array_task_id;
  m.slurm_job_name = d.slurm.job_name;
  m.n_machines = d.n_machines;
  m.duration_s = c.duration_s;
  m.speedup = c.speedup;
  m.p_internal = c.p_internal;
  m.end_s = result.end_s;
  m.seed = d.seed;
  m.completed = result.completed ? 1 : 0;
  m.flat_out = c.flat_out ? 1 : 0;
  m.max_ticks = c.flat_out ? c.max_ticks : 0;
  m.phase_mode = phase_mode_name(c.phase);
  m.latency = c.latency.text();
  m.grace_s = c.grace_s;
  m.timing = result.timing;
  m.late_deliveries = result.late_deliveries;
  m.missed_ticks = result.missed_ticks;
  m.realtime = result.realtime;
  return m;
}

std::string config_text(const RunDescription& d) {
  return to_config_text(d.config, d.rates, d.seed,
                        "clockbench " + d.version + " configuration; rerun with: mpirun -np " +
                            std::to_string(d.n_machines) + " clockbench --config FILE");
}

std::string quoted_command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + shell_quote(argv[i]);
  return s;
}

}  // namespace clockbench
