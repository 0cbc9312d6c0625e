// The timing verdict of a run (docs/model.md, "The real-time loop"): each machine's ledger of late
// deliveries and missed ticks, and the run's verdict, "ok" when every machine kept up with the
// model, else "degraded: ..." naming the counts, the worst machine and when.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace clockbench {

struct MachineTiming {
  std::int64_t late_deliveries = 0;
  std::int64_t missed_ticks = 0;
  std::int64_t overrun_ticks = 0;  // ticks that ran at or after a stop time they learned of too late
  double first_s = 0.0;            // model time of the first problem; NaN if none
  std::int64_t problems() const { return late_deliveries + missed_ticks + overrun_ticks; }
};

std::string timing_verdict(const std::vector<MachineTiming>& machines);

// One machine's count of where its loop fell short of the model, kept as it runs.
class TimingLedger {
 public:
  // Flat out, ticks have no deadlines: nothing can be late or missed.
  explicit TimingLedger(bool has_deadlines) : has_deadlines_(has_deadlines) {}

  // The tick with this deadline has decided: a message arriving before it can no longer be seen.
  void decided(double deadline) { decided_ = deadline; }
  // A message taken off the network, in the loop or the end-of-run drain: late if a tick whose
  // deadline is after its arrival time has decided without it. Returns whether it was.
  bool arrived(double arrival) {
    if (!has_deadlines_ || arrival >= decided_) return false;
    ++counts_.late_deliveries;
    first_ = std::min(first_, arrival);
    first_late_ = std::min(first_late_, arrival);
    return true;
  }
  // The running count, as the loop goes (for the crash journal), and the earliest arrival time of
  // the messages counted (+infinity while there are none).
  std::int64_t late_deliveries() const { return counts_.late_deliveries; }
  double first_late_s() const { return first_late_; }
  // After the run: the machine ran ticks 0 .. ran-1 while `due` were due before the final end;
  // `deadline(k)` is tick k's deadline. The shortfall is missed ticks, the excess ticks that ran
  // at or after the stop time.
  template <typename Deadline>
  MachineTiming settle(std::int64_t ran, std::int64_t due, Deadline deadline) {
    if (has_deadlines_) {
      counts_.missed_ticks = std::max<std::int64_t>(0, due - ran);
      counts_.overrun_ticks = std::max<std::int64_t>(0, ran - due);
      if (counts_.missed_ticks > 0) first_ = std::min(first_, deadline(ran));
      if (counts_.overrun_ticks > 0) first_ = std::min(first_, deadline(due));
    }
    counts_.first_s = counts_.problems() > 0 ? first_ : std::numeric_limits<double>::quiet_NaN();
    return counts_;
  }

 private:
  bool has_deadlines_;
  double decided_ = -std::numeric_limits<double>::infinity();
  double first_ = std::numeric_limits<double>::infinity();
  double first_late_ = std::numeric_limits<double>::infinity();  // first_ before settle() adds missed ticks
  MachineTiming counts_;
};

}  // namespace clockbench
