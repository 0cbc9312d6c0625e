// Real-time priority for a paced rank's timed window (--realtime; docs/measurements.md, "Lateness
// and the other processes"): the tick loop's thread runs under SCHED_FIFO at priority 1, so that no
// ordinary process can hold a processor while a tick is due. It only ever sleeps or runs one tick,
// so it takes no more processor time than at normal priority; flat out it would spin, and is refused.
#pragma once

#include <string>

namespace clockbench {

// Whether this thread may switch to SCHED_FIFO 1 and back: "" or one line naming why not and the fix.
// The thread is back at its normal priority afterwards.
std::string realtime_probe();

// While it lives, the calling thread runs under SCHED_FIFO 1; then back under the policy it had.
class RealtimeWindow {
 public:
  RealtimeWindow();
  ~RealtimeWindow();
  RealtimeWindow(const RealtimeWindow&) = delete;
  RealtimeWindow& operator=(const RealtimeWindow&) = delete;

  // "" if the thread runs at real-time priority, else why not (it then runs as before).
  const std::string& error() const { return error_; }

 private:
  std::string error_;
  int policy_ = 0;  // the thread's own, and its priority, restored at the end
  int priority_ = 0;
};

}  // namespace clockbench
