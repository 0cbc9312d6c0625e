// Coordinated early stop. A rank that catches SIGINT/SIGTERM asks rank 0; rank 0 picks one model
// time a little ahead and tells every rank, so all ranks stop ticking at the same model time.
// Everything is nonblocking while ticking; finish() settles the messages collectively after.
#pragma once

#include <mpi.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace clockbench {

// Installs the SIGINT/SIGTERM handlers (they only record the signal number).
void install_stop_signals();

// Why a run stops early: a signal number (> 0), or one of these causes (< 0), which travel in
// the same field of the stop messages.
inline constexpr int kStopTickCap = -1;  // a flat-out machine is near its --max-ticks

class StopControl {
 public:
  // `lead_model_s`: how far ahead of now rank 0 sets the stop, in model seconds.
  StopControl(MPI_Comm comm, double lead_model_s);
  ~StopControl();
  StopControl(const StopControl&) = delete;
  StopControl& operator=(const StopControl&) = delete;

  // Checks for a local signal, a local request and stop messages. Cheap; call between ticks.
  void poll(double model_now);

  // Asks for an early stop for `cause` (kStopTickCap); takes effect at the next poll().
  void request(int cause) { local_cause_ = cause; }

  // The model time to stop at, once decided (and known to this rank).
  std::optional<double> stop_at() const { return stop_at_; }

  // Collective, after the tick loop: completes or cancels every stop message and returns what
  // rank 0 decided, identical on every rank.
  struct Outcome {
    std::string reason;  // "" when nobody asked to stop
    double at = 0.0;     // model time, +inf when nobody asked
    int signal = 0;      // the signal that stopped the run; 0 if none (or another cause)
  };
  Outcome finish();

 private:
  void decide(double model_now, int signal, int origin);

  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  double lead_;
  std::optional<double> stop_at_;
  int local_cause_ = 0;     // set by request()
  bool requested_ = false;  // this rank asked rank 0
  // rank 0: the posted request receive and how many requests it took
  std::array<int, 2> request_in_{};
  MPI_Request request_recv_ = MPI_REQUEST_NULL;
  int requests_taken_ = 0;
  // the request this rank sent, and (rank 0) the decisions it sent
  std::array<int, 2> request_out_{};
  MPI_Request request_send_ = MPI_REQUEST_NULL;
  std::array<double, 3> decision_{};  // stop model time, signal, origin rank
  std::vector<MPI_Request> decision_sends_;
  MPI_Request decision_recv_ = MPI_REQUEST_NULL;  // ranks other than 0
  int signal_ = 0;  // rank 0: the cause (signal or kStop*) that decided the stop, and the rank it came from
  int origin_ = -1;
};

}  // namespace clockbench
