// The monotonic clock the tick loop runs on, and sleeping until an absolute time on it.
#pragma once

namespace clockbench {

double monotonic_now();                // seconds, CLOCK_MONOTONIC
void sleep_until(double monotonic_t);  // absolute; returns early only on a signal
void lower_timer_slack();              // nanosleep's default 50 us slack would blur lateness

// The calling thread's processor time and context switches so far (getrusage RUSAGE_THREAD).
struct ThreadUsage {
  double user_s = 0.0;
  double sys_s = 0.0;
  double voluntary_switches = 0.0;
  double involuntary_switches = 0.0;
};
ThreadUsage thread_usage();

}  // namespace clockbench
