// The stop protocol's messages: tag kRequest (rank -> 0), tag kDecision (0 -> every rank).
#include "mpi/stop_control.hpp"

#include <csignal>
#include <cstring>
#include <limits>

#include "mpi/mpi_env.hpp"

namespace clockbench {

namespace {

constexpr int kRequest = 31;
constexpr int kDecision = 32;
volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_stop_signal(int sig) { g_signal = sig; }

int caught_signal() { return static_cast<int>(g_signal); }  // 0 if none

std::string cause_label(int cause) {
  if (cause == SIGTERM) return "SIGTERM";
  if (cause == SIGINT) return "SIGINT";
  if (cause == kStopTickCap) return "--max-ticks nearly reached";
  return "signal " + std::to_string(cause);
}

}  // namespace

void install_stop_signals() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

StopControl::StopControl(MPI_Comm comm, double lead_model_s) : comm_(comm), lead_(lead_model_s) {
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  decision_sends_.assign(static_cast<std::size_t>(size_ > 0 ? size_ - 1 : 0), MPI_REQUEST_NULL);
  if (rank_ == 0) {
    check_mpi(MPI_Irecv(request_in_.data(), 2, MPI_INT, MPI_ANY_SOURCE, kRequest, comm_, &request_recv_),
              "MPI_Irecv (stop request)");
  } else {
    check_mpi(MPI_Irecv(decision_.data(), 3, MPI_DOUBLE, 0, kDecision, comm_, &decision_recv_),
              "MPI_Irecv (stop decision)");
  }
}

StopControl::~StopControl() {
  // Only reached with requests pending on an error path; the program is going down anyway.
  for (MPI_Request* r : {&request_recv_, &decision_recv_}) {
    if (*r != MPI_REQUEST_NULL) {
      MPI_Cancel(r);
      MPI_Request_free(r);
    }
  }
}

// Runs inside the timed loop: no allocation (the request slots exist; the reason is spelt later).
void StopControl::decide(double model_now, int signal, int origin) {
  stop_at_ = model_now + lead_;
  decision_ = {*stop_at_, static_cast<double>(signal), static_cast<double>(origin)};
  signal_ = signal;
  origin_ = origin;
  for (int r = 1; r < size_; ++r)
    check_mpi(MPI_Isend(decision_.data(), 3, MPI_DOUBLE, r, kDecision, comm_,
                        &decision_sends_[static_cast<std::size_t>(r - 1)]),
              "MPI_Isend (stop decision)");
}

void StopControl::poll(double model_now) {
  const int cause = caught_signal() ? caught_signal() : local_cause_;
  if (rank_ == 0) {
    int got = 0;
    check_mpi(MPI_Test(&request_recv_, &got, MPI_STATUS_IGNORE), "MPI_Test (stop request)");
    if (got) {
      ++requests_taken_;
      if (!stop_at_) decide(model_now, request_in_[0], request_in_[1]);
      check_mpi(MPI_Irecv(request_in_.data(), 2, MPI_INT, MPI_ANY_SOURCE, kRequest, comm_, &request_recv_),
                "MPI_Irecv (stop request)");
    }
    if (cause && !stop_at_) decide(model_now, cause, 0);
    return;
  }
  if (cause && !requested_) {
    requested_ = true;
    request_out_ = {cause, rank_};
    check_mpi(MPI_Isend(request_out_.data(), 2, MPI_INT, 0, kRequest, comm_, &request_send_),
              "MPI_Isend (stop request)");
  }
  if (!stop_at_ && decision_recv_ != MPI_REQUEST_NULL) {
    int got = 0;
    check_mpi(MPI_Test(&decision_recv_, &got, MPI_STATUS_IGNORE), "MPI_Test (stop decision)");
    if (got) stop_at_ = decision_[0];
  }
}

StopControl::Outcome StopControl::finish() {
  int requested = requested_ ? 1 : 0;
  int total_requests = 0;
  check_mpi(MPI_Reduce(&requested, &total_requests, 1, MPI_INT, MPI_SUM, 0, comm_), "MPI_Reduce");
  if (rank_ == 0) {
    while (requests_taken_ < total_requests) {
      check_mpi(MPI_Wait(&request_recv_, MPI_STATUS_IGNORE), "MPI_Wait (stop request)");
      ++requests_taken_;
      if (requests_taken_ < total_requests)
        check_mpi(MPI_Irecv(request_in_.data(), 2, MPI_INT, MPI_ANY_SOURCE, kRequest, comm_, &request_recv_),
                  "MPI_Irecv (stop request)");
    }
    if (request_recv_ != MPI_REQUEST_NULL) {
      check_mpi(MPI_Cancel(&request_recv_), "MPI_Cancel");
      check_mpi(MPI_Wait(&request_recv_, MPI_STATUS_IGNORE), "MPI_Wait (cancelled stop request)");
    }
  }
  // A rank that asked after rank 0 finished ticking got no decision: rank 0's word is final.
  const int decided = bcast_value<int>(stop_at_.has_value() && rank_ == 0 ? 1 : 0, 0, comm_);
  if (rank_ != 0 && decision_recv_ != MPI_REQUEST_NULL) {
    if (decided) {
      check_mpi(MPI_Wait(&decision_recv_, MPI_STATUS_IGNORE), "MPI_Wait (stop decision)");
    } else {
      check_mpi(MPI_Cancel(&decision_recv_), "MPI_Cancel");
      check_mpi(MPI_Wait(&decision_recv_, MPI_STATUS_IGNORE), "MPI_Wait (cancelled stop decision)");
    }
  }
  if (request_send_ != MPI_REQUEST_NULL)
    check_mpi(MPI_Wait(&request_send_, MPI_STATUS_IGNORE), "MPI_Wait (stop request send)");
  if (rank_ == 0)
    check_mpi(MPI_Waitall(static_cast<int>(decision_sends_.size()), decision_sends_.data(), MPI_STATUSES_IGNORE),
              "MPI_Waitall (stop decisions)");
  Outcome out;
  const std::string reason = signal_ ? cause_label(signal_) + " on rank " + std::to_string(origin_) : "";
  out.reason = bcast_string(reason, 0, comm_);
  out.at = bcast_value<double>(stop_at_.value_or(std::numeric_limits<double>::infinity()), 0, comm_);
  out.signal = bcast_value<int>(signal_ > 0 ? signal_ : 0, 0, comm_);
  return out;
}

}  // namespace clockbench
