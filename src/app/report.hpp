// What rank 0 prints: the header before the run, a progress line during it, and at the end the
// per-machine table and the greppable CLOCKBENCH_RESULT line.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "core/machine_summary.hpp"
#include "mpi/engine.hpp"

namespace clockbench {

struct RunFacts {
  std::string version;
  std::string git_sha;
  std::string mpi_library;
  std::string hdf5_version;
  int n_machines = 0;
  std::vector<double> rates;
  bool rates_drawn = false;
  Config config;
  std::uint64_t seed = 0;
  std::string output;
};

void print_header(const RunFacts& f);

// Prints progress from its own thread, so the tick loop never does I/O. A live status line on
// a terminal, a line every few seconds otherwise.
class ProgressPrinter {
 public:
  ProgressPrinter(const LiveStatus& status, double duration_s, double speedup, bool enabled);
  ~ProgressPrinter();  // stops and joins
  ProgressPrinter(const ProgressPrinter&) = delete;
  ProgressPrinter& operator=(const ProgressPrinter&) = delete;

 private:
  void loop();
  const LiveStatus& status_;
  double duration_s_;
  double speedup_;
  bool tty_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

void print_table(const std::vector<MachineSummary>& machines);

// "CLOCKBENCH_RESULT key=value ..." on one line.
std::string result_line(const RunFacts& f, const MachineResult& run, const std::vector<MachineSummary>& machines,
                        const std::string& status);

}  // namespace clockbench
