// The crash journal: each rank appends its newly recorded events, from a thread of its own and
// at a bounded interval, to <output>.<pid>.journal/rank-<r>.bin, so that a run whose ranks die
// before the HDF5 write can still be recovered (clockbench-analyze recover). The format is
// described in docs/schema.md ("Crash journal"); its fields are fixed-size little-endian.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/event_progress.hpp"

namespace clockbench {

inline constexpr char kJournalMagic[8] = {'C', 'B', 'J', 'R', 'N', 'L', '0', '4'};
// Where the header's clock_offset_s and clock_offset_uncertainty_s sit (docs/schema.md).
inline constexpr long kJournalClockOffsetAt = 64;
// The header's first_late_s (f64) is its last 8 bytes (docs/schema.md).
inline constexpr long kJournalFirstLateFromEnd = 8;
// Events follow the header in blocks (docs/schema.md, "Crash journal"): a fixed block header of
// this many bytes, then the block's columns, each narrowed to the fewest bytes its values need.
inline constexpr std::size_t kJournalBlockHeaderBytes = 40;
// The block header's eight column widths (bytes per value, 0 when every value is 0), in this order.
enum JournalWidth : std::size_t {
  kTickWidth,
  kLamportWidth,
  kJumpWidth,
  kQueueWidth,
  kPeerWidth,
  kMsgTickWidth,
  kMsgClockWidth,
  kJournalWidths = 8
};

// What recovery needs to rebuild the file without the program: the run's facts and this rank's.
struct JournalHeader {
  std::int32_t rank = 0;
  std::int32_t n_machines = 0;
  std::uint64_t seed = 0;
  double duration_s = 0.0;
  double speedup = 1.0;
  double p_internal = 0.0;
  double flush_interval_s = 0.0;
  // The start estimate is made after the journal starts: NaN ("not known") in the header until the
  // flusher writes it there, before its first block (EventProgress carries it).
  double clock_offset_s = std::numeric_limits<double>::quiet_NaN();
  double clock_offset_uncertainty_s = std::numeric_limits<double>::quiet_NaN();
  std::int32_t topology = 0;  // 0 full, 1 ring, K (even, >= 2) random:K
  std::int32_t flat_out = 0;
  std::int64_t max_ticks = 0;
  std::int64_t pid = 0;
  std::string version;   // clockbench version
  std::string git_sha;   //
  std::string hostname;  //
  std::vector<double> rates;
  std::vector<std::int32_t> peers;
  double phase_s = 0.0;         // this rank's phase, model seconds
  double grace_s = 0.0;         // wall seconds
  std::int32_t phase_mode = 0;  // 0 random, 1 zero
  std::string latency;          // the --latency setting as text
};

// Rank 0: the journal folder of a run, <partial path without .partial>.journal. Error line or "".
std::string create_journal_folder(const std::string& folder);
// Rank 0, after every rank removed its file: removes the folder.
void remove_journal_folder(const std::string& folder);
std::string journal_file(const std::string& folder, int rank);

// Encodes events [from, to) of `cols` (from < to) as one journal block into `out` (replacing its
// contents), carrying `late_deliveries`, the rank's running count when the block is written. The
// block stands alone: the clock before its first event is read from the column (0 at event 0).
void encode_journal_block(const EventColumns& cols, std::int64_t from, std::int64_t to, std::vector<unsigned char>& out,
                          std::uint32_t late_deliveries = 0);

// Owns this rank's journal file and the thread that appends to it. No MPI calls.
class EventFlusher {
 public:
  // Opens <folder>/rank-<r>.bin (never through a link, mode 0644) and writes the header; throws
  // std::runtime_error naming the file on failure.
  EventFlusher(const std::string& folder, const JournalHeader& header, const EventProgress& progress,
               double interval_s);
  ~EventFlusher();
  EventFlusher(const EventFlusher&) = delete;
  EventFlusher& operator=(const EventFlusher&) = delete;

  // Stops the thread after a last flush of everything published, and closes the file. Returns
  // "" or the first write error (the journal is a safety net: its failure does not stop the run).
  std::string finish();
  // Removes this rank's file (after the run's file is safely in place).
  void remove();
  // The processor seconds its thread used, user and kernel (known once finish() returned).
  double cpu_s() const { return cpu_s_; }

 private:
  void loop();
  void flush();
  void check_still_linked();
  bool write_clock_offset();
  bool write_first_late(double first_s);

  std::string path_;
  const EventProgress& progress_;
  double interval_s_;
  int fd_ = -1;
  std::int64_t flushed_ = 0;
  bool clock_written_ = false;
  long first_late_at_ = 0;                                                // in the header
  double first_late_written_ = std::numeric_limits<double>::quiet_NaN();  // NaN: none yet
  std::vector<unsigned char> buffer_;
  std::string error_;
  double cpu_s_ = 0.0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace clockbench
