// clockbench: every MPI rank is one machine of the scale model. Rank 0 reads the options and
// checks the output path (setup); all ranks run the engine, then write one HDF5 file together
// (publish). Exit codes: 0 done, 2 bad input, 1 a failure, 128 + signal when stopped by one.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "app/publish.hpp"
#include "app/report.hpp"
#include "app/run_description.hpp"
#include "app/setup.hpp"
#include "core/loop_account.hpp"
#include "core/phase_times.hpp"
#include "io/journal.hpp"
#include "mpi/engine.hpp"
#include "mpi/failure_vote.hpp"
#include "mpi/monotonic.hpp"
#include "mpi/mpi_env.hpp"
#include "mpi/platform.hpp"
#include "mpi/stop_control.hpp"

namespace clockbench {

namespace {

constexpr int kExitUsage = 2;

std::vector<MachineSummary> gather_summaries(const MachineSummary& mine, int n, MPI_Comm comm) {
  std::vector<MachineSummary> all(static_cast<std::size_t>(n));
  check_mpi(MPI_Gather(&mine, sizeof(MachineSummary), MPI_BYTE, all.data(), sizeof(MachineSummary), MPI_BYTE, 0, comm),
            "MPI_Gather");
  return all;
}

// This rank's journal writer, or none (journal off, a simulation, which has no thread to flush it
// from, or its file cannot be made: the run goes on without it, with a warning).
void start_journal(const RunDescription& d, int rank, const EventProgress& progress,
                   std::optional<EventFlusher>& flusher) {
  if (d.journal.empty() || d.config.no_output || !platform::kOwnThreads) return;
  try {
    flusher.emplace(d.journal, journal_header(d, rank, MpiEnvironment::processor_name()), progress,
                    d.config.flush_interval_s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clockbench: warning on rank %d: %s; running without a crash journal\n", rank, e.what());
  }
}

// The slowest rank's time in each phase, on rank 0, when --timings asked for it: the line is
// printed after MPI_Finalize, whose own time it then adds (rank 0's).
struct TimingsRequest {
  bool wanted = false;
  PhaseTimes slowest;
  LoopAccount total;  // the ranks' tick loops, summed
};

void print_timings(const PhaseTimes& t) {
  std::string line = "CLOCKBENCH_TIMINGS";
  double total = 0.0;
  for (std::size_t p = 0; p < PhaseTimes::count; ++p) {
    char value[32];
    std::snprintf(value, sizeof value, "%.6g", t.s[p]);
    line += " " + std::string(PhaseTimes::kNames[p]) + "=" + value;
    total += t.s[p];
  }
  std::printf("%s sum_s=%.6g\n", line.c_str(), total);
  std::fflush(stdout);
}

// The ranks' tick loops, summed (core/loop_account.hpp), and per tick; `cores`: the processors
// the loops kept busy on average over the slowest rank's ticking window.
void print_loop_account(const LoopAccount& a, double ticking_s, int ranks) {
  std::string line = "CLOCKBENCH_LOOP ranks=" + std::to_string(ranks);
  for (std::size_t f = 0; f < LoopAccount::count; ++f) {
    char value[32];
    std::snprintf(value, sizeof value, "%.6g", a.v[f]);
    line += " " + std::string(LoopAccount::kNames[f]) + "=" + value;
  }
  const double ticks = std::max(1.0, a[LoopAccount::ticks]);
  const double cpu = a[LoopAccount::cpu_user_s] + a[LoopAccount::cpu_sys_s];
  std::printf(
      "%s cpu_us_per_tick=%.4g user_us_per_tick=%.4g sys_us_per_tick=%.4g sleeps_per_tick=%.4g "
      "polls_per_tick=%.4g board_checks_per_tick=%.4g messages_per_tick=%.4g switches_per_tick=%.4g "
      "cores=%.4g\n",
      line.c_str(), 1e6 * cpu / ticks, 1e6 * a[LoopAccount::cpu_user_s] / ticks,
      1e6 * a[LoopAccount::cpu_sys_s] / ticks, a[LoopAccount::sleeps] / ticks, a[LoopAccount::polls] / ticks,
      a[LoopAccount::board_checks] / ticks, a[LoopAccount::messages] / ticks,
      (a[LoopAccount::voluntary_switches] + a[LoopAccount::involuntary_switches]) / ticks,
      ticking_s > 0 ? cpu / ticking_s : 0.0);
  std::fflush(stdout);
}

int run(const MpiEnvironment& mpi, int argc, char** argv, PhaseTimes& times, TimingsRequest& timings) {
  const MPI_Comm comm = mpi.world();
  const bool root = mpi.rank() == 0;
  PhaseClock phase(times, monotonic_now());
  const Setup setup = decide_setup(argc, argv, comm);
  if (setup.status == CliStatus::exit_ok) {
    if (root) std::fputs(setup.message.c_str(), stdout);
    return 0;
  }
  if (setup.status == CliStatus::error) {
    if (root) std::fprintf(stderr, "clockbench: error: %s\n", setup.message.c_str());
    return kExitUsage;
  }
  const RunDescription& d = setup.run;
  const Config& c = d.config;
  if (root && !c.quiet) print_header(d);

  const EnginePlan plan = engine_plan(d);
  LiveStatus live;
  MachineResult result;
  EventProgress events_progress;
  std::optional<EventFlusher> flusher;
  start_journal(d, mpi.rank(), events_progress, flusher);
  phase.mark(PhaseTimes::setup, monotonic_now());
  {
    ProgressPrinter progress(live, c.duration_s, c.speedup, root && !c.quiet && platform::kOwnThreads);
    result = run_engine(plan, comm, root ? &live : nullptr, flusher ? &events_progress : nullptr);
  }
  // A last flush: should the file's write fail, or a rank die during it, the journal holds every
  // event (deferring it until a write fails saved nothing measurable: docs/measurements.md,
  // "Engine choices"). A journal that failed (its folder full or read-only, its file removed) is
  // told once, by rank 0.
  for (std::size_t p = PhaseTimes::reserve; p <= PhaseTimes::settle; ++p) times.s[p] = result.phases.s[p];
  phase.restart(monotonic_now());
  const std::string journal_error = first_rank_error(flusher ? flusher->finish() : "", comm);
  if (flusher) result.account[LoopAccount::journal_cpu_s] = flusher->cpu_s();
  if (flusher) phase.mark(PhaseTimes::journal, monotonic_now());
  if (root && !c.quiet && !result.completed)
    std::printf("stopped early at model t %.3f s: %s\n", result.end_s, result.stop_reason.c_str());

  Publication published;
  if (!c.no_output) {
    phase.restart(monotonic_now());
    published = publish_run(d, result, journal_error, flusher, comm);
    phase.mark(PhaseTimes::write, monotonic_now());
  }
  phase.restart(monotonic_now());

  const auto machines = gather_summaries(result.summary, mpi.size(), comm);
  std::string json_error;
  if (root) {
    if (!c.quiet) print_table(machines, result.end_s / c.speedup, c.flat_out);
    if (!published.error.empty()) std::fprintf(stderr, "clockbench: error: %s\n", published.error.c_str());
    // A flat-out run stopped near its tick cap did what was asked: only a signal makes it "stopped".
    const std::string status = !published.error.empty() ? "error" : result.stop_signal ? "stopped" : "ok";
    std::printf("%s\n", result_line(d, result, machines, status, published.write_s).c_str());
    std::fflush(stdout);
    if (!d.json.final_path.empty()) {
      json_error = write_file(d.json, result_json(d, result, machines, status, published.write_s), c.force);
      if (!json_error.empty()) std::fprintf(stderr, "clockbench: error: --json: %s\n", json_error.c_str());
    }
    // The measurement's own failure is never quiet: it names how the run fell short of the model.
    // (When the file could not be written, the error is the one line; the result line still says.)
    if (result.degraded() && published.error.empty())
      std::fprintf(stderr, "clockbench: warning: the loop did not keep up with the model: timing %s%s\n",
                   result.timing.c_str(), c.strict_timing ? " (--strict-timing: exit 1)" : "");
  }
  // Every rank exits 1 when the --json file could not be written, as when the run's file could not.
  const bool json_failed = bcast_value<int>(json_error.empty() ? 0 : 1, 0, comm) != 0;
  phase.mark(PhaseTimes::report, monotonic_now());
  if (c.timings && !published.write_failed) {
    timings.wanted = true;
    check_mpi(MPI_Reduce(times.s.data(), timings.slowest.s.data(), PhaseTimes::count, MPI_DOUBLE, MPI_MAX, 0, comm),
              "MPI_Reduce");
    check_mpi(
        MPI_Reduce(result.account.v.data(), timings.total.v.data(), LoopAccount::count, MPI_DOUBLE, MPI_SUM, 0, comm),
        "MPI_Reduce");
  }
  if (published.write_failed) {
    // HDF5 keeps a file whose close failed in its table and crashes closing it again inside
    // MPI_Finalize: end every rank here, together, with the error already printed once.
    check_mpi(MPI_Barrier(comm), "MPI_Barrier");
    std::fflush(nullptr);
    std::_Exit(1);
  }
  if (!published.error.empty() || json_failed) return 1;
  if (result.stop_signal) return 128 + result.stop_signal;
  return c.strict_timing && result.degraded() ? 1 : 0;
}

}  // namespace

}  // namespace clockbench

int main(int argc, char** argv) {
  std::optional<clockbench::MpiEnvironment> mpi;
  clockbench::PhaseTimes times;
  clockbench::TimingsRequest timings;
  try {
    const double before_init = clockbench::monotonic_now();
    mpi.emplace(argc, argv);
    times[clockbench::PhaseTimes::mpi_init] = clockbench::monotonic_now() - before_init;
    // From here on a SIGINT/SIGTERM is a request to stop cleanly, even during set-up (a real run's).
    if constexpr (clockbench::platform::kStopSignals) clockbench::install_stop_signals();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clockbench: error: %s\n", e.what());
    return 1;
  }
  try {
    const int code = clockbench::run(*mpi, argc, argv, times, timings);
    const bool root = mpi->rank() == 0;
    const int mpi_size = mpi->size();
    const double before_finalize = clockbench::monotonic_now();
    mpi.reset();  // MPI_Finalize
    if (timings.wanted && root) {
      timings.slowest[clockbench::PhaseTimes::finalize] = clockbench::monotonic_now() - before_finalize;
      clockbench::print_timings(timings.slowest);
      clockbench::print_loop_account(timings.total, timings.slowest[clockbench::PhaseTimes::ticking], mpi_size);
    }
    return code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clockbench: error on rank %d: %s\n", mpi->rank(), e.what());
    std::fflush(stderr);
    // Other ranks may be waiting inside a collective call: only an abort frees them.
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}
