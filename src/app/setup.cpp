// Rank 0 decides the run; one broadcast shares the decision.
#include "app/setup.hpp"

#include <unistd.h>

#include <cstdio>
#include <random>

#include "core/footprint.hpp"
#include "core/rates.hpp"
#include "git_sha.hpp"
#include "io/h5_handles.hpp"
#include "io/journal.hpp"
#include "io/provenance.hpp"
#include "mpi/failure_vote.hpp"
#include "mpi/mpi_env.hpp"
#include "mpi/platform.hpp"
#include "mpi/realtime.hpp"
#include "version.hpp"

namespace clockbench {

namespace {

// Refuses a run whose reserved memory would not fit in this host's memory (all ranks counted,
// as when every rank runs here).
std::string check_memory(const std::vector<double>& rates, const Config& c, std::uint64_t seed) {
  const double need = static_cast<double>(run_footprint_bytes(rates, c.duration_s, c.max_ticks, c.topology, seed));
  const double have = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  if (have <= 0 || need <= 0.8 * have) return {};
  char msg[256];
  std::snprintf(msg, sizeof msg,
                "this run would reserve %.1f GB for its events and queues, more than 80%% of this host's %.1f GB: %s",
                need / 1e9, have / 1e9, c.flat_out ? "lower --max-ticks" : "shorten --duration or lower the rates");
  return msg;
}

// The journal folder of a run: <output>.<pid>.journal, beside <output>.<pid>.partial.
std::string journal_folder(const OutputPlan& output) {
  const std::string& partial = output.partial_path;
  return partial.substr(0, partial.size() - std::string(".partial").size()) + ".journal";
}

// Rank 0: everything but the broadcast. Stops at the first error, with its line in `message`.
Setup decide_on_rank0(int argc, char** argv, int n) {
  Setup s;
  CliOutcome cli = parse_cli(argc, argv, n);
  s.status = cli.status;
  s.message = cli.message;
  RunDescription& d = s.run;
  d.config = cli.config;
  d.slurm = slurm_job_from_env();
  // Checked before everything but --help: under a wrong launch the other errors mislead.
  if (s.status != CliStatus::exit_ok) {
    if (std::string err = check_world_size(d.slurm, n); !err.empty()) {
      s.status = CliStatus::error;
      s.message = err;
    }
  }
  if (s.status != CliStatus::run) return s;
  const Config& c = d.config;
  d.n_machines = n;
  d.seed = c.seed ? *c.seed : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  d.rates = resolve_rates(c, n, d.seed);
  d.rates_drawn = c.rates.empty() && !c.flat_out;
  d.command_line = quoted_command_line(argc, argv);
  d.version = kVersion;
  d.git_sha = kGitSha;
  d.mpi_library = MpiEnvironment::library_version();
  d.hdf5_version = h5_library_version();
  d.build = build_provenance();
  auto fail = [&s](std::string err) {
    if (err.empty()) return false;
    s.status = CliStatus::error;
    s.message = std::move(err);
    return true;
  };
  // Flat out, a tick takes no simulated time: every tick of the run would fall at model time 0.
  if (platform::kSimulated && c.flat_out &&
      fail("--rates max (flat out) has no meaning in a simulation: its ticks take no simulated time"))
    return s;
  if (platform::kSimulated && c.realtime &&
      fail("--realtime has no meaning in a simulation: its time is simulated, and no process competes for a processor"))
    return s;
  if (fail(check_peer_graph(c.topology, n, d.seed))) return s;
  if (fail(check_memory(d.rates, c, d.seed))) return s;
  if (!c.no_output && fail(plan_output(c.output, c.force, d.seed, d.output))) return s;
  if (!cli.json.empty() && fail(plan_json(cli.json, c.force, d.output.final_path, d.json))) return s;
  if (c.no_output) return s;
  // The journal folder is created last, when nothing on rank 0 can refuse the run (should another
  // rank refuse --realtime, decide_setup removes it again).
  if (c.flush_interval_s > 0 && platform::kOwnThreads) {  // a simulation has no journal (docs/simulation.md)
    d.journal = journal_folder(d.output);
    fail(create_journal_folder(d.journal));
  }
  return s;
}

}  // namespace

Setup decide_setup(int argc, char** argv, MPI_Comm comm) {
  int rank = 0, n = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  Setup s = rank == 0 ? decide_on_rank0(argc, argv, n) : Setup{};
  s.status = static_cast<CliStatus>(bcast_value<int>(static_cast<int>(s.status), 0, comm));
  s.message = bcast_string(s.message, 0, comm);
  if (s.status == CliStatus::run) share(s.run, comm);
  // --realtime: every rank tries its host's permission (hosts differ); the first refusal stops them all.
  if (s.status == CliStatus::run && s.run.config.realtime) {
    int from = -1;
    const std::string refused = first_rank_error(realtime_probe(), comm, &from);
    if (!refused.empty()) {
      if (rank == 0 && !s.run.journal.empty()) remove_journal_folder(s.run.journal);
      s.status = CliStatus::error;
      s.message = refused + (from > 0 ? " (rank " + std::to_string(from) + ")" : "");
    }
  }
  return s;
}

}  // namespace clockbench
