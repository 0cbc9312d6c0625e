// The crash journal's writer: POSIX files, one per rank, appended by a background thread.
#include "io/journal.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace clockbench {

namespace {

template <typename T>
void put(std::vector<unsigned char>& out, T value) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // x86-64 and aarch64: little-endian, as the format says
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

void put_text(std::vector<unsigned char>& out, const std::string& s, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) out.push_back(i < s.size() ? static_cast<unsigned char>(s[i]) : 0);
}

// Header: magic[8], u32 header bytes, u32 record bytes, then the fields in the order below;
// text fields are NUL-padded to fixed widths; then n_machines rates (f64) and the peers (i32).
std::vector<unsigned char> encode_header(const JournalHeader& h) {
  std::vector<unsigned char> body;
  put<std::int32_t>(body, h.rank);
  put<std::int32_t>(body, h.n_machines);
  put<std::uint64_t>(body, h.seed);
  put<double>(body, h.duration_s);
  put<double>(body, h.speedup);
  put<double>(body, h.p_internal);
  put<double>(body, h.flush_interval_s);
  // At kJournalClockOffsetAt of the file: 16 bytes of prefix and 48 of the fields before.
  put<double>(body, h.clock_offset_s);
  put<double>(body, h.clock_offset_uncertainty_s);
  put<std::int32_t>(body, h.topology);
  put<std::int32_t>(body, h.flat_out);
  put<std::int64_t>(body, h.max_ticks);
  put<std::int64_t>(body, h.pid);
  put_text(body, h.version, 32);
  put_text(body, h.git_sha, 48);
  put_text(body, h.hostname, 256);
  put<std::int32_t>(body, static_cast<std::int32_t>(h.peers.size()));
  for (const double r : h.rates) put<double>(body, r);
  for (const std::int32_t p : h.peers) put<std::int32_t>(body, p);
  put<double>(body, h.phase_s);
  put<double>(body, h.grace_s);
  put<std::int32_t>(body, h.phase_mode);
  put_text(body, h.latency, 64);
  // The earliest arrival time of this rank's late deliveries: NaN until the flusher writes it there,
  // before the first record that counts one (the header's last kJournalFirstLateFromEnd bytes).
  put<double>(body, std::numeric_limits<double>::quiet_NaN());
  std::vector<unsigned char> out(kJournalMagic, kJournalMagic + 8);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(8 + 4 + 4 + body.size()));
  put<std::uint32_t>(out, kJournalRecordBytes);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

bool write_all(int fd, const unsigned char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

std::string create_journal_folder(const std::string& folder) {
  if (mkdir(folder.c_str(), 0755) != 0)
    return "cannot create the journal folder '" + folder + "': " + std::strerror(errno);
  chmod(folder.c_str(), 0755);  // whatever the umask
  return {};
}

void remove_journal_folder(const std::string& folder) { rmdir(folder.c_str()); }

std::string journal_file(const std::string& folder, int rank) {
  return folder + "/rank-" + std::to_string(rank) + ".bin";
}

// Fixed offsets of a record's fields (docs/schema.md, "Crash journal"); bytes 65..67 are zero.
void encode_journal_records(const EventColumns& cols, std::int64_t from, std::int64_t to,
                            std::vector<unsigned char>& out, std::uint32_t late_deliveries) {
  const auto first = static_cast<std::size_t>(from);
  const auto n = static_cast<std::size_t>(to - from);
  out.assign(n * kJournalRecordBytes, 0);  // one pass that zeroes the padding too
  unsigned char* p = out.data();
  for (std::size_t i = first; i < first + n; ++i, p += kJournalRecordBytes) {
    std::memcpy(p + 0, &cols.tick[i], 8);  // x86-64 and aarch64: little-endian, as the format says
    std::memcpy(p + 8, &cols.t[i], 8);
    std::memcpy(p + 16, &cols.lamport[i], 8);
    std::memcpy(p + 24, &cols.jump[i], 8);
    std::memcpy(p + 32, &cols.msg_tick[i], 8);
    std::memcpy(p + 40, &cols.msg_clock[i], 8);
    std::memcpy(p + 48, &cols.msg_arrival[i], 8);
    std::memcpy(p + 56, &cols.queue[i], 4);
    std::memcpy(p + 60, &cols.peer[i], 4);
    p[64] = cols.kind[i];
    std::memcpy(p + kJournalLateAt, &late_deliveries, 4);
  }
}

EventFlusher::EventFlusher(const std::string& folder, const JournalHeader& header, const EventProgress& progress,
                           double interval_s)
    : path_(journal_file(folder, header.rank)), progress_(progress), interval_s_(interval_s) {
  fd_ = open(path_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot create the journal '" + path_ + "': " + std::strerror(errno));
  fchmod(fd_, 0644);
  const std::vector<unsigned char> head = encode_header(header);
  first_late_at_ = static_cast<long>(head.size()) - kJournalFirstLateFromEnd;
  if (!write_all(fd_, head.data(), head.size()))
    throw std::runtime_error("cannot write the journal '" + path_ + "': " + std::strerror(errno));
  thread_ = std::thread([this] { loop(); });
}

EventFlusher::~EventFlusher() {
  finish();
  if (fd_ >= 0) close(fd_);
}

void EventFlusher::loop() {
  // Stop signals belong to the main thread: its sleep is the one they must interrupt.
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);
  std::unique_lock<std::mutex> lock(mutex_);
  const auto every = std::chrono::duration<double>(interval_s_);
  while (!stop_) {
    wake_.wait_for(lock, every, [this] { return stop_; });
    flush();
  }
  flush();  // the last one, also when finish() came before the thread first looked
}

// Appends the events published since the last flush: whole records only, so that a reader never
// sees half of one unless the process died inside write(2).
void EventFlusher::flush() {
  if (!progress_.ready.load(std::memory_order_acquire)) return;
  const EventColumns& cols = progress_.columns;
  if (fd_ < 0 || !error_.empty()) return;
  if (!clock_written_ && !write_clock_offset()) return;
  const std::int64_t upto = progress_.published.load(std::memory_order_acquire);
  if (upto <= flushed_) return;
  // The running count of late deliveries, loaded after `published`: at least the count when the
  // last of these events was published, with any counted since. Their earliest arrival goes into
  // the header first, so that a record counting one has it. The count saturates at u32's most.
  const std::int64_t late = progress_.late_deliveries.load(std::memory_order_acquire);
  if (late > 0 && !write_first_late(progress_.first_late_s.load(std::memory_order_relaxed))) return;
  const auto late_u32 =
      static_cast<std::uint32_t>(std::min<std::int64_t>(late, std::numeric_limits<std::uint32_t>::max()));
  // In pieces: a flat-out rank publishes millions of events between flushes, and a buffer for
  // all of them would cost the memory and the cache that the ticking ranks need.
  constexpr std::int64_t kPieceEvents = 16384;  // 1 MB
  for (std::int64_t from = flushed_; from < upto; from += kPieceEvents) {
    const std::int64_t to = std::min(upto, from + kPieceEvents);
    encode_journal_records(cols, from, to, buffer_, late_u32);
    if (!write_all(fd_, buffer_.data(), buffer_.size())) {
      error_ = "cannot write the journal '" + path_ + "': " + std::strerror(errno);
      return;
    }
    flushed_ = to;
  }
  check_still_linked();
}

// The start estimate of the clock offset, into the header's fields, before any record: a journal
// with records always has it.
bool EventFlusher::write_clock_offset() {
  const double both[2] = {progress_.clock_offset_s, progress_.clock_offset_uncertainty_s};
  for (;;) {
    const ssize_t w = ::pwrite(fd_, both, sizeof both, kJournalClockOffsetAt);
    if (w < 0 && errno == EINTR) continue;
    if (w == static_cast<ssize_t>(sizeof both)) break;
    error_ = "cannot write the journal '" + path_ + "': " + (w < 0 ? std::strerror(errno) : "short write");
    return false;
  }
  clock_written_ = true;
  return true;
}

// The earliest arrival time of the rank's late deliveries, into the header's last field, whenever
// it changed (a message from a slower sender can arrive late with an earlier arrival time).
bool EventFlusher::write_first_late(double first_s) {
  if (first_s == first_late_written_) return true;
  for (;;) {
    const ssize_t w = ::pwrite(fd_, &first_s, sizeof first_s, first_late_at_);
    if (w < 0 && errno == EINTR) continue;
    if (w == static_cast<ssize_t>(sizeof first_s)) break;
    error_ = "cannot write the journal '" + path_ + "': " + (w < 0 ? std::strerror(errno) : "short write");
    return false;
  }
  first_late_written_ = first_s;
  return true;
}

// Writes into a file that was deleted succeed and keep nothing: a journal removed mid-run (its
// folder cleaned up, say) must be reported, not trusted.
void EventFlusher::check_still_linked() {
  struct stat st;
  if (fstat(fd_, &st) == 0 && st.st_nlink == 0) error_ = "the journal '" + path_ + "' was removed during the run";
}

std::string EventFlusher::finish() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0 && error_.empty()) check_still_linked();
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  return error_;
}

void EventFlusher::remove() {
  finish();
  unlink(path_.c_str());
}

}  // namespace clockbench
