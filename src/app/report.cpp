// Formatting of rank 0's output. Figures are printed with their units in the column names.
#include "app/report.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/config_text.hpp"
#include "core/schedule.hpp"
#include "mpi/monotonic.hpp"

namespace clockbench {

namespace {

// Flat out (every rate kFlatOutRate), the rates are the word the option takes: max.
std::string join_rates(const std::vector<double>& rates) {
  if (!rates.empty() && std::all_of(rates.begin(), rates.end(), is_flat_out)) return "max";
  std::string s;
  for (std::size_t i = 0; i < rates.size(); ++i) s += (i ? "," : "") + format_number(rates[i]);
  return s;
}

// Under mpirun a rank's stdout is a pseudo-terminal even when mpirun's own output goes to a
// file or a pipe, so ask about the launcher's (our parent's) stdout as well.
bool output_is_terminal() {
  if (!isatty(STDOUT_FILENO)) return false;
  char link[256];
  const std::string fd = "/proc/" + std::to_string(getppid()) + "/fd/1";
  const ssize_t n = readlink(fd.c_str(), link, sizeof link - 1);
  if (n <= 0) return false;
  const std::string target(link, static_cast<std::size_t>(n));
  return target.rfind("/dev/pts/", 0) == 0 || target.rfind("/dev/tty", 0) == 0;
}

// Events or messages per wall second of the tick window; 0 for an empty window.
double per_second(double count, double window_wall_s) { return window_wall_s > 0 ? count / window_wall_s : 0.0; }

}  // namespace

void print_header(const RunDescription& f) {
  const Config& c = f.config;
  std::printf("clockbench %s (git %s): logical clocks on machines of different speeds\n", f.version.c_str(),
              f.git_sha.c_str());
  std::printf("  MPI:       %s; HDF5 %s\n", f.mpi_library.c_str(), f.hdf5_version.c_str());
  std::printf("  machines:  %d, topology %s, p_internal %s\n", f.n_machines, c.topology.text().c_str(),
              format_number(c.p_internal).c_str());
  if (c.flat_out) {
    std::printf("  rates:     max: flat out, ticks back to back, at most %lld per machine (--max-ticks)\n",
                static_cast<long long>(c.max_ticks));
  } else {
    std::printf("  rates:     %s Hz (model)%s\n", join_rates(f.rates).c_str(),
                f.rates_drawn ? (" drawn from " + format_number(c.rate_min) + ".." + format_number(c.rate_max) +
                                 (c.fractional_rates ? " (real)" : " (integers)"))
                                    .c_str()
                              : "");
  }
  std::printf("  seed:      %llu\n", static_cast<unsigned long long>(f.seed));
  if (!c.flat_out)
    std::printf("  timing:    phase %s, latency %s model s, grace %s wall s%s%s\n", phase_mode_name(c.phase),
                c.latency.text().c_str(), format_number(c.grace_s).c_str(), c.strict_timing ? ", strict" : "",
                c.realtime ? ", real-time priority" : "");
  std::printf("  duration:  %s model s at speedup %s = %s wall s\n", format_number(c.duration_s).c_str(),
              format_number(c.speedup).c_str(), format_number(c.duration_s / c.speedup).c_str());
  if (const std::string job = slurm_label(f); !job.empty()) std::printf("  slurm:     %s\n", job.c_str());
  std::printf("  output:    %s\n", output_label(f).c_str());
  std::fflush(stdout);
}

ProgressPrinter::ProgressPrinter(const LiveStatus& status, double duration_s, double speedup, bool enabled)
    : status_(status), duration_s_(duration_s), speedup_(speedup), tty_(output_is_terminal()) {
  if (enabled) thread_ = std::thread([this] { loop(); });
}

ProgressPrinter::~ProgressPrinter() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
}

void ProgressPrinter::loop() {
  using namespace std::chrono_literals;
  const double every = tty_ ? 0.25 : 5.0;  // wall seconds between lines
  double next = monotonic_now() + every;
  bool printed = false;
  while (!done_ && !status_.stopping.load(std::memory_order_relaxed)) {
    std::this_thread::sleep_for(50ms);
    const double now = monotonic_now();
    const double t0 = status_.wall_t0.load(std::memory_order_relaxed);
    if (now < next || t0 == 0.0 || now < t0) continue;
    next = now + every;
    const double model = std::min(duration_s_, (now - t0) * speedup_);
    const double left = (duration_s_ - model) / speedup_;
    std::printf("%s  running: model t %.1f / %.1f s (%3.0f%%), %.1f wall s left; rank 0: %lld ticks, queue %d%s",
                tty_ ? "\r" : "", model, duration_s_, 100.0 * model / duration_s_, left,
                static_cast<long long>(status_.ticks.load(std::memory_order_relaxed)),
                status_.queue.load(std::memory_order_relaxed), tty_ ? "   " : "\n");
    std::fflush(stdout);
    printed = true;
  }
  if (printed && tty_) std::printf("\n");
}

void print_table(const std::vector<MachineSummary>& machines, double window_wall_s, bool flat_out) {
  std::printf("\n%7s %8s %11s %8s %8s %8s %6s %9s %8s %12s %5s %6s %12s %12s\n", "machine", "rate_hz", "achieved_hz",
              "ticks", "sent", "received", "left", "max_queue", "max_jump", "late_p99_ms", "late", "missed",
              "events_per_s", "msgs_per_s");
  for (const auto& m : machines) {
    std::printf("%7d %8s %11.4f %8lld %8lld %8lld %6lld %9lld %8lld %12.3f %5lld %6lld %12.0f %12.0f\n", m.rank,
                flat_out ? "max" : format_number(m.rate_hz).c_str(), m.achieved_hz, static_cast<long long>(m.ticks),
                static_cast<long long>(m.sent), static_cast<long long>(m.received),
                static_cast<long long>(m.left_in_queue), static_cast<long long>(m.max_queue),
                static_cast<long long>(m.max_jump), 1e3 * m.lateness_p99_s, static_cast<long long>(m.late_deliveries),
                static_cast<long long>(m.missed_ticks), per_second(static_cast<double>(m.ticks), window_wall_s),
                per_second(static_cast<double>(m.sent), window_wall_s));
  }
  std::fflush(stdout);
}

namespace {

// One key=value of the result line; `text`: a word, quoted in JSON (else a number).
struct ResultField {
  const char* key;
  std::string value;
  bool text;
};

std::vector<ResultField> result_fields(const RunDescription& f, const MachineResult& run,
                                       const std::vector<MachineSummary>& machines, const std::string& status,
                                       double write_s) {
  std::int64_t events = 0, sent = 0, received = 0, left = 0;
  double worst_rate_error = 0.0, worst_p99 = 0.0;
  for (const auto& m : machines) {
    events += m.ticks;
    sent += m.sent;
    received += m.received;
    left += m.left_in_queue;
    if (std::isfinite(m.achieved_hz))
      worst_rate_error = std::max(worst_rate_error, std::fabs(m.achieved_hz / m.rate_hz - 1.0));
    if (std::isfinite(m.lateness_p99_s)) worst_p99 = std::max(worst_p99, m.lateness_p99_s);
  }
  const double window_wall_s = run.end_s / f.config.speedup;
  const auto n = [](auto x) { return std::to_string(x); };
  return {{"status", status, true},
          {"completed", run.completed ? "1" : "0", false},
          {"machines", n(f.n_machines), false},
          {"topology", f.config.topology.text(), true},
          {"seed", n(f.seed), false},
          {"rates", join_rates(f.rates), true},
          {"p_internal", format_number(f.config.p_internal), false},
          {"duration_s", format_number(f.config.duration_s), false},
          {"end_s", format_number(run.end_s), false},
          {"speedup", format_number(f.config.speedup), false},
          {"events", n(events), false},
          {"messages_sent", n(sent), false},
          {"messages_received", n(received), false},
          {"left_in_queue", n(left), false},
          {"max_rate_error", format_number(worst_rate_error), false},
          {"max_lateness_p99_s", format_number(worst_p99), false},
          {"wall_s", format_number(run.wall_s), false},
          {"events_per_s", format_number(std::round(per_second(static_cast<double>(events), window_wall_s))), false},
          {"messages_per_s", format_number(std::round(per_second(static_cast<double>(sent), window_wall_s))), false},
          {"capped", !run.completed && run.stop_signal == 0 ? "1" : "0", false},
          {"timing", run.degraded() ? "degraded" : "ok", true},
          {"late_deliveries", n(run.late_deliveries), false},
          {"missed_ticks", n(run.missed_ticks), false},
          {"write_s", format_number(write_s), false},
          {"output", output_label(f), true}};
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A number as JSON has it: every digit (shortest round trip), null for NaN and the infinities.
std::string json_number(double x) { return std::isfinite(x) ? format_number(x) : "null"; }

std::string json_value(const ResultField& f) {
  if (f.text) return json_string(f.value);
  return f.value == "inf" || f.value == "-inf" || f.value == "nan" || f.value == "-nan" ? "null" : f.value;
}

}  // namespace

std::string result_line(const RunDescription& f, const MachineResult& run, const std::vector<MachineSummary>& machines,
                        const std::string& status, double write_s) {
  std::string s = "CLOCKBENCH_RESULT";
  for (const ResultField& field : result_fields(f, run, machines, status, write_s))
    s += std::string(" ") + field.key + "=" + field.value;
  return s;
}

std::string result_json(const RunDescription& f, const MachineResult& run, const std::vector<MachineSummary>& machines,
                        const std::string& status, double write_s) {
  const double window_wall_s = run.end_s / f.config.speedup;
  std::string s = "{\n  \"format\": \"clockbench-result/1\",\n  \"clockbench_version\": " + json_string(f.version) +
                  ",\n  \"git_sha\": " + json_string(f.git_sha) +
                  ",\n  \"command_line\": " + json_string(f.command_line) +
                  ",\n  \"build\": {\"compiler_id\": " + json_string(f.build.compiler_id) +
                  ", \"compiler_version\": " + json_string(f.build.compiler_version) +
                  ", \"build_type\": " + json_string(f.build.build_type) +
                  ", \"build_flags\": " + json_string(f.build.build_flags) +
                  ", \"cpu_model\": " + json_string(f.build.cpu_model) + "},\n  \"result\": {";
  const char* sep = "\n    ";
  for (const ResultField& field : result_fields(f, run, machines, status, write_s)) {
    s += sep + json_string(field.key) + ": " + json_value(field);
    sep = ",\n    ";
  }
  s += "\n  },\n  \"machines\": [";
  sep = "\n    ";
  for (const auto& m : machines) {
    const auto i = [](std::int64_t x) { return std::to_string(x); };
    s += sep;
    s += "{\"machine\": " + std::to_string(m.rank) +
         ", \"rate_hz\": " + (f.config.flat_out ? "null" : json_number(m.rate_hz)) +
         ", \"achieved_hz\": " + json_number(m.achieved_hz) + ", \"ticks\": " + i(m.ticks) +
         ", \"sent\": " + i(m.sent) + ", \"received\": " + i(m.received) + ", \"left\": " + i(m.left_in_queue) +
         ", \"max_queue\": " + i(m.max_queue) + ", \"max_jump\": " + i(m.max_jump) +
         ", \"late_p99_ms\": " + json_number(1e3 * m.lateness_p99_s) + ", \"late\": " + i(m.late_deliveries) +
         ", \"missed\": " + i(m.missed_ticks) +
         ", \"events_per_s\": " + json_number(per_second(static_cast<double>(m.ticks), window_wall_s)) +
         ", \"msgs_per_s\": " + json_number(per_second(static_cast<double>(m.sent), window_wall_s)) + "}";
    sep = ",\n    ";
  }
  return s + "\n  ]\n}\n";
}

}  // namespace clockbench
