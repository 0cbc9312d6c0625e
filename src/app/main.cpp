// clockbench: every MPI rank is one machine of the scale model. Rank 0 reads the options and
// checks the output path; all ranks run the engine, then write one HDF5 file together.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <random>

#include "app/cli.hpp"
#include "app/output_path.hpp"
#include "app/report.hpp"
#include "app/slurm_job.hpp"
#include "core/config_text.hpp"
#include "core/footprint.hpp"
#include "core/rates.hpp"
#include "core/topology.hpp"
#include "git_sha.hpp"
#include "io/h5_handles.hpp"
#include "io/journal.hpp"
#include "io/run_writer.hpp"
#include "mpi/engine.hpp"
#include "mpi/failure_vote.hpp"
#include "mpi/monotonic.hpp"
#include "mpi/mpi_env.hpp"
#include "mpi/stop_control.hpp"
#include "version.hpp"

namespace clockbench {

namespace {

constexpr int kExitUsage = 2;

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+@") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (const char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + shell_quote(argv[i]);
  return s;
}

std::string utc_now_iso() {
  char buf[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// What every rank needs to run, decided on rank 0.
struct Setup {
  CliStatus status = CliStatus::run;
  std::string message;
  Config config;
  std::vector<double> rates;
  std::uint64_t seed = 0;
  OutputPlan output;
  std::string journal;  // crash journal folder, "" when off
};

// Refuses a run whose reserved memory would not fit in this host's memory (all ranks counted,
// as when every rank runs here).
std::string check_memory(const std::vector<double>& rates, const Config& c) {
  const double need = static_cast<double>(run_footprint_bytes(rates, c.duration_s, c.max_ticks, c.topology));
  const double have = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  if (have <= 0 || need <= 0.8 * have) return {};
  char msg[256];
  std::snprintf(msg, sizeof msg,
                "this run would reserve %.1f GB for its events and queues, more than 80%% of this host's %.1f GB: %s",
                need / 1e9, have / 1e9, c.flat_out ? "lower --max-ticks" : "shorten --duration or lower the rates");
  return msg;
}

Setup decide_on_rank0(int argc, char** argv, int n) {
  Setup s;
  CliOutcome cli = parse_cli(argc, argv, n);
  s.status = cli.status;
  s.message = cli.message;
  s.config = cli.config;
  // Checked before everything but --help: under a wrong launch the other errors mislead.
  if (s.status != CliStatus::exit_ok) {
    if (std::string err = check_world_size(slurm_job_from_env(), n); !err.empty()) {
      s.status = CliStatus::error;
      s.message = err;
    }
  }
  if (s.status != CliStatus::run) return s;
  s.seed = s.config.seed ? *s.config.seed : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  s.rates = resolve_rates(s.config, n, s.seed);
  if (std::string err = check_memory(s.rates, s.config); !err.empty()) {
    s.status = CliStatus::error;
    s.message = err;
    return s;
  }
  if (s.config.no_output) return s;
  if (std::string err = plan_output(s.config.output, s.config.force, s.seed, s.output); !err.empty()) {
    s.status = CliStatus::error;
    s.message = err;
    return s;
  }
  if (s.config.flush_interval_s > 0) {
    // <output>.<pid>.journal, beside <output>.<pid>.partial: created last, when nothing can refuse the run.
    const std::string& partial = s.output.partial_path;
    s.journal = partial.substr(0, partial.size() - std::string(".partial").size()) + ".journal";
    if (std::string err = create_journal_folder(s.journal); !err.empty()) {
      s.status = CliStatus::error;
      s.message = err;
    }
  }
  return s;
}

Setup share_setup(Setup s, MPI_Comm comm) {
  s.status = static_cast<CliStatus>(bcast_value<int>(static_cast<int>(s.status), 0, comm));
  s.message = bcast_string(s.message, 0, comm);
  if (s.status != CliStatus::run) return s;
  Config& c = s.config;
  c.duration_s = bcast_value(c.duration_s, 0, comm);
  c.speedup = bcast_value(c.speedup, 0, comm);
  c.p_internal = bcast_value(c.p_internal, 0, comm);
  c.topology = bcast_value(c.topology, 0, comm);
  c.quiet = bcast_value(c.quiet, 0, comm);
  c.force = bcast_value(c.force, 0, comm);
  c.flat_out = bcast_value(c.flat_out, 0, comm);
  c.max_ticks = bcast_value(c.max_ticks, 0, comm);
  c.no_output = bcast_value(c.no_output, 0, comm);
  s.seed = bcast_value(s.seed, 0, comm);
  s.rates = bcast_doubles(s.rates, 0, comm);
  s.output.final_path = bcast_string(s.output.final_path, 0, comm);
  s.output.partial_path = bcast_string(s.output.partial_path, 0, comm);
  s.journal = bcast_string(s.journal, 0, comm);
  c.flush_interval_s = bcast_value(c.flush_interval_s, 0, comm);
  return s;
}

std::vector<MachineSummary> gather_summaries(const MachineSummary& mine, int n, MPI_Comm comm) {
  std::vector<MachineSummary> all(static_cast<std::size_t>(n));
  check_mpi(MPI_Gather(&mine, sizeof(MachineSummary), MPI_BYTE, all.data(), sizeof(MachineSummary), MPI_BYTE, 0, comm),
            "MPI_Gather");
  return all;
}

// A failing rank waits this long for the others to finish writing before it aborts the job.
constexpr double kWriteVoteTimeoutS = 20.0;

// Collective. Writes the partial file; on a failure on any rank, every rank returns the first
// failing rank's error line (naming the file and the HDF5 call) and rank 0 removes the partial
// file. A failing rank whose peers are stuck inside HDF5 prints its own line and aborts the job.
std::string write_file_once(const OutputPlan& out, const RunMetadata& meta, const std::string& config_text,
                            const MachineResult& result, MPI_Comm comm) {
  MPI_Comm vote_comm = MPI_COMM_NULL;  // of its own: the vote must not match an HDF5 collective
  check_mpi(MPI_Comm_dup(comm, &vote_comm), "MPI_Comm_dup");
  std::string error;
  try {
    write_run_file(out.partial_path, meta, config_text, result, MpiEnvironment::processor_name(), comm);
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

// True on every rank if `mine` is true on every rank.
bool all_ranks_agree(bool mine, MPI_Comm comm) {
  int ok = mine ? 1 : 0, all = 0;
  check_mpi(MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
  return all == 1;
}

// Rank 0, after a failed write: what is left of the run in its crash journal.
std::string journal_note(const std::string& journal, bool complete) {
  struct stat st;
  if (stat(journal.c_str(), &st) != 0) return "; its crash journal '" + journal + "' is gone too";
  if (!complete) return "; its crash journal '" + journal + "' is incomplete (it could not be written either)";
  return "; every event is in the crash journal '" + journal + "' (clockbench-analyze recover " + journal + " -o FILE)";
}

// This rank's journal writer, or none (journal off, or its file cannot be made: the run goes on
// without it, with a warning).
void start_journal(const Setup& setup, const MpiEnvironment& mpi, const EventProgress& progress,
                   std::optional<EventFlusher>& flusher) {
  const Config& c = setup.config;
  if (setup.journal.empty() || c.no_output) return;
  JournalHeader h;
  h.rank = mpi.rank();
  h.n_machines = mpi.size();
  h.seed = setup.seed;
  h.duration_s = c.duration_s;
  h.speedup = c.speedup;
  h.p_internal = c.p_internal;
  h.flush_interval_s = c.flush_interval_s;
  h.topology = c.topology == Topology::ring ? 1 : 0;
  h.flat_out = c.flat_out ? 1 : 0;
  h.max_ticks = c.flat_out ? c.max_ticks : 0;
  h.pid = static_cast<std::int64_t>(getpid());
  h.version = kVersion;
  h.git_sha = kGitSha;
  h.hostname = MpiEnvironment::processor_name();
  h.rates = setup.rates;
  h.peers = peers_of(mpi.rank(), mpi.size(), c.topology);
  try {
    flusher.emplace(setup.journal, h, progress, c.flush_interval_s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clockbench: warning on rank %d: %s; running without a crash journal\n", mpi.rank(), e.what());
  }
}

int run(const MpiEnvironment& mpi, int argc, char** argv) {
  const MPI_Comm comm = mpi.world();
  const bool root = mpi.rank() == 0;
  Setup setup = share_setup(root ? decide_on_rank0(argc, argv, mpi.size()) : Setup{}, comm);
  if (setup.status == CliStatus::exit_ok) {
    if (root) std::fputs(setup.message.c_str(), stdout);
    return 0;
  }
  if (setup.status == CliStatus::error) {
    if (root) std::fprintf(stderr, "clockbench: error: %s\n", setup.message.c_str());
    return kExitUsage;
  }
  const Config& c = setup.config;

  RunFacts facts;
  facts.version = kVersion;
  facts.git_sha = kGitSha;
  facts.mpi_library = MpiEnvironment::library_version();
  facts.hdf5_version = h5_library_version();
  facts.n_machines = mpi.size();
  facts.rates = setup.rates;
  facts.rates_drawn = root && setup.config.rates.empty();
  facts.config = c;
  facts.seed = setup.seed;
  facts.output = c.no_output ? "none" : setup.output.final_path;
  if (const SlurmJob job = slurm_job_from_env(); !job.job_id.empty()) {
    facts.slurm = "job " + job.job_id + (job.array_task_id.empty() ? "" : ", array task " + job.array_task_id) +
                  ", name " + job.job_name;
  }
  if (root && !c.quiet) print_header(facts);

  EnginePlan plan;
  plan.rates = setup.rates;
  plan.max_ticks = c.max_ticks;
  plan.duration_s = c.duration_s;
  plan.speedup = c.speedup;
  plan.p_internal = c.p_internal;
  plan.seed = setup.seed;
  plan.topology = c.topology;
  plan.force_clock_estimate = std::getenv("CLOCKBENCH_FORCE_CLOCK_ESTIMATE") != nullptr;

  LiveStatus live;
  MachineResult result;
  EventProgress events_progress;
  std::optional<EventFlusher> flusher;
  start_journal(setup, mpi, events_progress, flusher);
  {
    ProgressPrinter progress(live, c.duration_s, c.speedup, root && !c.quiet);
    result = run_engine(plan, comm, root ? &live : nullptr, flusher ? &events_progress : nullptr);
  }
  // A last flush: should the file's write fail, the journal holds every event. A journal that
  // failed (its folder full or read-only) is told once, by rank 0, not once per rank.
  const bool journal_complete = all_ranks_agree(!flusher || flusher->finish().empty(), comm);
  if (root && !c.quiet && !result.completed)
    std::printf("stopped early at model t %.3f s: %s\n", result.end_s, result.stop_reason.c_str());

  RunMetadata meta;
  meta.clockbench_version = kVersion;
  meta.git_sha = kGitSha;
  meta.created_utc = bcast_string(utc_now_iso(), 0, comm);
  meta.command_line = bcast_string(command_line(argc, argv), 0, comm);
  meta.mpi_library_version = facts.mpi_library;
  meta.hdf5_version = facts.hdf5_version;
  meta.topology = topology_name(c.topology);
  meta.stop_reason = result.stop_reason;
  meta.n_machines = mpi.size();
  meta.duration_s = c.duration_s;
  meta.speedup = c.speedup;
  meta.p_internal = c.p_internal;
  meta.end_s = result.end_s;
  meta.seed = setup.seed;
  meta.completed = result.completed ? 1 : 0;
  const SlurmJob job = slurm_job_from_env();
  meta.slurm_job_id = bcast_string(job.job_id, 0, comm);
  meta.slurm_array_task_id = bcast_string(job.array_task_id, 0, comm);
  meta.slurm_job_name = bcast_string(job.job_name, 0, comm);
  meta.flat_out = c.flat_out ? 1 : 0;
  meta.max_ticks = c.flat_out ? c.max_ticks : 0;
  const std::string config_text =
      to_config_text(c, setup.rates, setup.seed,
                     std::string("clockbench ") + kVersion + " configuration; rerun with: mpirun -np " +
                         std::to_string(mpi.size()) + " clockbench --config FILE");
  double write_s = 0.0;  // rank 0's wall time from the first collective call to the file closed everywhere
  std::string publish_error;
  bool write_failed = false;
  if (!c.no_output) {
    const double write_start = monotonic_now();
    publish_error = write_file_once(setup.output, meta, config_text, result, comm);
    write_failed = !publish_error.empty();
    write_s = monotonic_now() - write_start;
    if (write_failed && !setup.journal.empty()) publish_error += journal_note(setup.journal, journal_complete);
    if (publish_error.empty()) publish_error = bcast_string(root ? publish_output(setup.output, c.force) : "", 0, comm);
    if (!write_failed && !journal_complete && root)
      std::fprintf(stderr,
                   "clockbench: warning: the crash journal '%s' could not be written completely; the "
                   "run's file is whole\n",
                   setup.journal.c_str());
    // The file is whole: the journal is not needed any more.
    if (!write_failed && !setup.journal.empty()) {  // every rank: one may have run without its journal file
      if (flusher) flusher->remove();
      check_mpi(MPI_Barrier(comm), "MPI_Barrier");
      if (root) remove_journal_folder(setup.journal);
    }
  }

  const auto machines = gather_summaries(result.summary, mpi.size(), comm);
  if (root) {
    if (!c.quiet) print_table(machines, result.end_s / c.speedup, c.flat_out);
    if (!publish_error.empty()) std::fprintf(stderr, "clockbench: error: %s\n", publish_error.c_str());
    // A flat-out run stopped near its tick cap did what was asked: only a signal makes it "stopped".
    const std::string status = !publish_error.empty() ? "error" : result.stop_signal ? "stopped" : "ok";
    std::printf("%s\n", result_line(facts, result, machines, status, write_s).c_str());
    std::fflush(stdout);
  }
  if (write_failed) {
    // HDF5 keeps a file whose close failed in its table and crashes closing it again inside
    // MPI_Finalize: end every rank here, together, with the error already printed once.
    check_mpi(MPI_Barrier(comm), "MPI_Barrier");
    std::fflush(nullptr);
    std::_Exit(1);
  }
  if (!publish_error.empty()) return 1;
  return result.stop_signal ? 128 + result.stop_signal : 0;
}

}  // namespace

}  // namespace clockbench

int main(int argc, char** argv) {
  std::optional<clockbench::MpiEnvironment> mpi;
  try {
    mpi.emplace(argc, argv);
    // From here on a SIGINT/SIGTERM is a request to stop cleanly, even during set-up.
    clockbench::install_stop_signals();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clockbench: error: %s\n", e.what());
    return 1;
  }
  try {
    return clockbench::run(*mpi, argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clockbench: error on rank %d: %s\n", mpi->rank(), e.what());
    std::fflush(stderr);
    // Other ranks may be waiting inside a collective call: only an abort frees them.
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}
