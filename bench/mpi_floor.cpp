// The hardware floor: the messages of a clockbench run, and nothing else. Every rank sends the
// same number of messages of the same size (three 64-bit words, as the engine's Transport) to the
// same peers as a flat-out clockbench run did (its /network/sent matrix), as fast as MPI takes
// them: no model, no clock reading per tick, no draws, no recording, no Transport. bench/run prints
// clockbench and the null baseline per message and per event against this floor.
//   mpirun -np 3 build/bench/clockbench_mpi_floor --sent sent.txt     (an N x N matrix of counts)
//   mpirun -np 3 build/bench/clockbench_mpi_floor --messages 100000   (that many to every peer)
// Plain MPI on purpose (pre-posted MPI_Irecv ring taken in order, a pool of MPI_Isend slots), so
// that the figure does not depend on clockbench's own code.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr int kTag = 23;
constexpr int kWords = 3;
constexpr int kRecvSlots = 64;
constexpr int kSendSlots = 8192;
using Buffer = std::array<std::int64_t, kWords>;

// Reads an N x N matrix of non-negative counts (whitespace separated, '#' lines ignored); returns
// an error text, empty when it is good.
std::string read_matrix(const std::string& path, int n, std::vector<std::int64_t>& out) {
  std::ifstream in(path);
  if (!in) return "cannot read " + path;
  std::string line;
  out.clear();
  while (std::getline(in, line)) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string w;
    while (words >> w) {
      std::size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(w, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      // Counts are written as integers, possibly in floating-point text by numpy ("12.0").
      if (used != w.size()) {
        double d = -1;
        try {
          d = std::stod(w, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != w.size() || d != static_cast<double>(static_cast<long long>(d))) {
          return path + ": '" + w + "' is not a whole number of messages";
        }
        v = static_cast<long long>(d);
      }
      if (v < 0) return path + ": '" + w + "' is negative";
      out.push_back(v);
    }
  }
  const auto want = static_cast<std::size_t>(n) * static_cast<std::size_t>(n);
  if (out.size() != want) {
    return path + ": " + std::to_string(out.size()) + " counts, but " + std::to_string(n) +
           " ranks need an N x N matrix of " + std::to_string(want);
  }
  for (int i = 0; i < n; ++i) {
    if (out[static_cast<std::size_t>(i * n + i)] != 0) return path + ": a rank sends to itself (diagonal not 0)";
  }
  return {};
}

struct Totals {
  std::int64_t sent = 0;
  double seconds = 0.0;
};

// Sends row `rank` of the matrix, interleaving peers in proportion to their counts (the peer
// furthest behind its share goes next), while taking arrivals; returns when everything sent has
// completed and everything addressed to this rank has arrived.
Totals run(MPI_Comm comm, int rank, int n, const std::vector<std::int64_t>& sent) {
  const auto un = static_cast<std::size_t>(n);
  std::vector<std::int64_t> todo(un), done(un, 0);
  std::int64_t total_out = 0, total_in = 0;
  for (std::size_t p = 0; p < un; ++p) {
    todo[p] = sent[static_cast<std::size_t>(rank) * un + p];
    total_out += todo[p];
    total_in += sent[p * un + static_cast<std::size_t>(rank)];
  }
  std::vector<Buffer> recv_buf(kRecvSlots), send_buf(kSendSlots);
  std::vector<MPI_Request> recv_req(kRecvSlots, MPI_REQUEST_NULL), send_req(kSendSlots, MPI_REQUEST_NULL);
  const std::int64_t posted = std::min<std::int64_t>(kRecvSlots, total_in);
  for (std::int64_t i = 0; i < posted; ++i) {
    MPI_Irecv(recv_buf[static_cast<std::size_t>(i)].data(), kWords, MPI_INT64_T, MPI_ANY_SOURCE, kTag, comm,
              &recv_req[static_cast<std::size_t>(i)]);
  }
  std::int64_t arrived = 0, next_post = posted;
  std::size_t head = 0;
  auto take_arrivals = [&] {
    for (;;) {
      if (arrived == total_in) return;
      int flag = 0;
      MPI_Test(&recv_req[head], &flag, MPI_STATUS_IGNORE);
      if (!flag) return;
      ++arrived;
      if (next_post < total_in) {
        MPI_Irecv(recv_buf[head].data(), kWords, MPI_INT64_T, MPI_ANY_SOURCE, kTag, comm, &recv_req[head]);
        ++next_post;
      }
      head = (head + 1) % kRecvSlots;
    }
  };

  MPI_Barrier(comm);
  const double t0 = MPI_Wtime();
  std::size_t slot = 0;
  for (std::int64_t k = 0; k < total_out; ++k) {
    // Peer furthest behind: smallest done/todo, compared without division.
    std::size_t best = un;
    for (std::size_t p = 0; p < un; ++p) {
      if (done[p] == todo[p]) continue;
      if (best == un || done[p] * todo[best] < done[best] * todo[p]) best = p;
    }
    MPI_Wait(&send_req[slot], MPI_STATUS_IGNORE);
    send_buf[slot] = {k, k, 0};
    MPI_Isend(send_buf[slot].data(), kWords, MPI_INT64_T, static_cast<int>(best), kTag, comm, &send_req[slot]);
    slot = (slot + 1) % kSendSlots;
    ++done[best];
    take_arrivals();
  }
  while (arrived < total_in) {
    MPI_Wait(&recv_req[head], MPI_STATUS_IGNORE);
    take_arrivals();  // counts the one just completed, and any after it
  }
  MPI_Waitall(kSendSlots, send_req.data(), MPI_STATUSES_IGNORE);
  const double mine = MPI_Wtime() - t0;
  Totals t;
  MPI_Reduce(&mine, &t.seconds, 1, MPI_DOUBLE, MPI_MAX, 0, comm);
  MPI_Reduce(&total_out, &t.sent, 1, MPI_INT64_T, MPI_SUM, 0, comm);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, n = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  std::string matrix_path;
  std::int64_t per_peer = -1;
  CLI::App app{"the MPI floor: a clockbench run's messages, and nothing else (mpirun -np N)"};
  auto* from =
      app.add_option("--sent", matrix_path, "N x N matrix of messages sent (row: sender), e.g. a run's /network/sent");
  app.add_option("--messages", per_peer, "instead: this many messages from every rank to every other")
      ->check(CLI::NonNegativeNumber)
      ->excludes(from);
  try {
    app.parse(argc, argv);  // every rank parses the same arguments
  } catch (const CLI::ParseError& e) {
    if (rank == 0) app.exit(e);
    MPI_Finalize();
    return e.get_exit_code() == 0 ? 0 : 2;
  }
  std::vector<std::int64_t> sent;
  std::string problem;
  if (n < 2) {
    problem = "needs at least 2 ranks (mpirun -np N, N >= 2)";
  } else if (matrix_path.empty() && per_peer < 0) {
    problem = "give --sent FILE (a run's /network/sent) or --messages COUNT";
  } else if (!matrix_path.empty()) {
    problem = read_matrix(matrix_path, n, sent);
  } else {
    const auto un = static_cast<std::size_t>(n);
    sent.assign(un * un, per_peer);
    for (std::size_t i = 0; i < un; ++i) sent[i * un + i] = 0;
  }
  if (!problem.empty()) {
    if (rank == 0) std::fprintf(stderr, "clockbench_mpi_floor: error: %s\n", problem.c_str());
    MPI_Finalize();
    return 2;
  }
  const Totals t = run(MPI_COMM_WORLD, rank, n, sent);
  if (rank == 0) {
    std::printf(
        "CLOCKBENCH_FLOOR_RESULT machines=%d messages_sent=%lld seconds=%.6f messages_per_s=%.0f ns_per_message=%.1f\n",
        n, static_cast<long long>(t.sent), t.seconds, t.seconds > 0 ? static_cast<double>(t.sent) / t.seconds : 0.0,
        t.sent > 0 ? 1e9 * t.seconds / static_cast<double>(t.sent) : 0.0);
    std::fflush(stdout);
  }
  MPI_Finalize();
  return 0;
}
