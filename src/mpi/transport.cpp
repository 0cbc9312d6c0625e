// The transport's MPI calls, each checked.
#include "mpi/transport.hpp"

#include <cstring>

#include "mpi/mpi_env.hpp"

namespace clockbench {

Transport::Transport(MPI_Comm comm, int recv_slots, int send_slots)
    : comm_(comm),
      recv_req_(static_cast<std::size_t>(recv_slots), MPI_REQUEST_NULL),
      recv_buf_(static_cast<std::size_t>(recv_slots)),
      send_req_(static_cast<std::size_t>(send_slots), MPI_REQUEST_NULL),
      send_buf_(static_cast<std::size_t>(send_slots)) {
  for (std::size_t i = 0; i < recv_req_.size(); ++i)
    check_mpi(MPI_Irecv(recv_buf_[i].data(), kWords, MPI_INT64_T, MPI_ANY_SOURCE, kTag, comm_, &recv_req_[i]),
              "MPI_Irecv");
  receives_posted_ = true;
}

Transport::~Transport() {
  try {
    cancel_receives();
    complete_sends();
  } catch (...) {
    // Destructors must not throw; an MPI failure here is reported by the caller's own path.
  }
}

void Transport::warm_up(const std::vector<std::int32_t>& peers) {
  std::vector<std::int64_t> in(peers.size()), out(peers.size(), 0);
  std::vector<MPI_Request> reqs(2 * peers.size(), MPI_REQUEST_NULL);
  for (std::size_t i = 0; i < peers.size(); ++i) {
    check_mpi(MPI_Irecv(&in[i], 1, MPI_INT64_T, peers[i], kWarmTag, comm_, &reqs[2 * i]), "MPI_Irecv (warm-up)");
    check_mpi(MPI_Isend(&out[i], 1, MPI_INT64_T, peers[i], kWarmTag, comm_, &reqs[2 * i + 1]), "MPI_Isend (warm-up)");
  }
  check_mpi(MPI_Waitall(static_cast<int>(reqs.size()), reqs.data(), MPI_STATUSES_IGNORE), "MPI_Waitall (warm-up)");
}

void Transport::send(int dest, std::int64_t tick, std::int64_t clock, double arrival) {
  MPI_Request& req = send_req_[send_next_];
  if (req != MPI_REQUEST_NULL) check_mpi(MPI_Wait(&req, MPI_STATUS_IGNORE), "MPI_Wait (send slot)");
  std::int64_t arrival_bits = 0;
  std::memcpy(&arrival_bits, &arrival, sizeof arrival);
  send_buf_[send_next_] = {tick, clock, arrival_bits};
  check_mpi(MPI_Isend(send_buf_[send_next_].data(), kWords, MPI_INT64_T, dest, kTag, comm_, &req), "MPI_Isend");
  send_next_ = (send_next_ + 1) % send_req_.size();
}

bool Transport::take_one(bool block, Message& m) {
  MPI_Request& req = recv_req_[recv_head_];
  MPI_Status status;
  int done = 0;
  if (block) {
    check_mpi(MPI_Wait(&req, &status), "MPI_Wait (receive)");
    done = 1;
  } else {
    check_mpi(MPI_Test(&req, &done, &status), "MPI_Test (receive)");
  }
  if (!done) return false;
  auto& buf = recv_buf_[recv_head_];
  m.source = status.MPI_SOURCE;
  m.tick = buf[0];
  m.clock = buf[1];
  std::memcpy(&m.arrival, &buf[2], sizeof m.arrival);
  check_mpi(MPI_Irecv(buf.data(), kWords, MPI_INT64_T, MPI_ANY_SOURCE, kTag, comm_, &req), "MPI_Irecv");
  recv_head_ = (recv_head_ + 1) % recv_req_.size();
  return true;
}

// One slot at a time, and only the slots in use: SMPI's MPI_Waitall calls its waitany once per
// request still pending, and each call makes room for all 8,192 and looks through them from the
// first (docs/simulation.md, "Scale").
void Transport::complete_sends() {
  for (auto& req : send_req_)
    if (req != MPI_REQUEST_NULL) check_mpi(MPI_Wait(&req, MPI_STATUS_IGNORE), "MPI_Wait (sends)");
}

void Transport::cancel_receives() {
  if (!receives_posted_) return;
  receives_posted_ = false;
  for (auto& req : recv_req_) {
    if (req == MPI_REQUEST_NULL) continue;
    check_mpi(MPI_Cancel(&req), "MPI_Cancel");
    MPI_Status status;
    check_mpi(MPI_Wait(&req, &status), "MPI_Wait (cancelled receive)");
    int cancelled = 0;
    MPI_Test_cancelled(&status, &cancelled);
    // The drain counted every message sent; one more would be a message the counts missed.
    if (!cancelled) throw MpiError("a clock message arrived after the end-of-run drain: counts disagree");
  }
}

}  // namespace clockbench
