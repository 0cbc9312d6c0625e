// clock_nanosleep on CLOCK_MONOTONIC with TIMER_ABSTIME: absolute deadlines, no drift.
#include "mpi/monotonic.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <ctime>

#include "mpi/platform.hpp"

namespace clockbench {

double monotonic_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

void sleep_until(double monotonic_t) {
  if constexpr (platform::kSimulated) {
    // SMPI routes nanosleep to simulated time, but not clock_nanosleep: sleep the difference.
    const double left = monotonic_t - monotonic_now();
    if (left <= 0) return;
    timespec d{};
    d.tv_sec = static_cast<time_t>(std::floor(left));
    d.tv_nsec = std::min(999'999'999L, static_cast<long>((left - std::floor(left)) * 1e9));
    nanosleep(&d, nullptr);
    return;
  }
  timespec ts{};
  const double whole = std::floor(monotonic_t);
  ts.tv_sec = static_cast<time_t>(whole);
  ts.tv_nsec = static_cast<long>((monotonic_t - whole) * 1e9);
  if (ts.tv_nsec >= 1'000'000'000L) ts.tv_nsec = 999'999'999L;
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

void lower_timer_slack() { prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); }

ThreadUsage thread_usage() {
  rusage u{};
  if (getrusage(RUSAGE_THREAD, &u) != 0) return {};
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + 1e-6 * static_cast<double>(tv.tv_usec);
  };
  return {seconds(u.ru_utime), seconds(u.ru_stime), static_cast<double>(u.ru_nvcsw), static_cast<double>(u.ru_nivcsw)};
}

}  // namespace clockbench
