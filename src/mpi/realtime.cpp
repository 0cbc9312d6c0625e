// SCHED_FIFO for the calling thread only (pthread_setschedparam): the crash journal's thread and
// MPI's own threads keep their normal priority.
#include "mpi/realtime.hpp"

#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstring>

namespace clockbench {

namespace {

constexpr int kRealtimePriority = 1;  // the lowest: above every ordinary process, below the kernel's

int set_policy(int policy, int priority) {
  sched_param p{};
  p.sched_priority = priority;
  return pthread_setschedparam(pthread_self(), policy, &p);
}

std::string why_not(int err) {
  std::string line =
      std::string("--realtime: cannot run the ticks at real-time priority (SCHED_FIFO): ") + std::strerror(err);
  if (err == EPERM)
    line +=
        "; it needs root with CAP_SYS_NICE (a container: docker run --cap-add SYS_NICE) or an RLIMIT_RTPRIO of "
        "at least 1 (ulimit -r 1); or run without --realtime";
  return line;
}

}  // namespace

std::string realtime_probe() {
  const RealtimeWindow trial;
  return trial.error();
}

RealtimeWindow::RealtimeWindow() {
  sched_param own{};
  if (const int err = pthread_getschedparam(pthread_self(), &policy_, &own); err != 0) {
    error_ = why_not(err);
    return;
  }
  priority_ = own.sched_priority;
  if (const int err = set_policy(SCHED_FIFO, kRealtimePriority); err != 0) error_ = why_not(err);
}

RealtimeWindow::~RealtimeWindow() {
  if (error_.empty()) set_policy(policy_, priority_);
}

}  // namespace clockbench
