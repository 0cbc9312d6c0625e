// What rank 0 prints: the header before the run, a progress line during it, and at the end the
// per-machine table and the greppable CLOCKBENCH_RESULT line.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "app/run_description.hpp"
#include "core/config.hpp"
#include "core/machine_summary.hpp"
#include "mpi/engine.hpp"

namespace clockbench {

void print_header(const RunDescription& d);

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

// One row per machine; events and messages per second are over the tick window, `window_wall_s`
// (end_s / speedup), the same for every machine. Flat out, the rate column says max.
void print_table(const std::vector<MachineSummary>& machines, double window_wall_s, bool flat_out);

// "CLOCKBENCH_RESULT key=value ..." on one line. `write_s`: wall time of the file write (0: none).
std::string result_line(const RunDescription& d, const MachineResult& run, const std::vector<MachineSummary>& machines,
                        const std::string& status, double write_s);

// --json FILE: the same figures as one JSON document: "result" (the result line's keys, numbers as
// numbers), "machines" (one object per machine, the table's columns, every digit; flat out, rate_hz
// is null), and the version, git SHA and command line.
std::string result_json(const RunDescription& d, const MachineResult& run, const std::vector<MachineSummary>& machines,
                        const std::string& status, double write_s);

}  // namespace clockbench
