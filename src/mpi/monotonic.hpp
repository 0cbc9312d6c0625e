// The monotonic clock the tick loop runs on, and sleeping until an absolute time on it.
#pragma once

namespace clockbench {

double monotonic_now();                // seconds, CLOCK_MONOTONIC
void sleep_until(double monotonic_t);  // absolute; returns early only on a signal
void lower_timer_slack();              // nanosleep's default 50 us slack would blur lateness

}  // namespace clockbench
