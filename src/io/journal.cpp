// The crash journal's writer: POSIX files, one per rank, appended by a background thread.
#include "io/journal.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "mpi/monotonic.hpp"

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

// Header: magic[8], u32 header bytes, u32 record bytes (0: blocks), then the fields in the order below;
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
  // before the first block that counts one (the header's last kJournalFirstLateFromEnd bytes).
  put<double>(body, std::numeric_limits<double>::quiet_NaN());
  std::vector<unsigned char> out(kJournalMagic, kJournalMagic + 8);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(8 + 4 + 4 + body.size()));
  put<std::uint32_t>(out, 0);  // record_bytes: 0, the events come in blocks (CBJRNL04)
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

namespace {

// Signed differences travel as zigzag codes: 0, -1, 1, -2, ... become 0, 1, 2, 3, ... so that small
// values of either sign need few bytes. The subtraction wraps (unsigned) rather than overflow.
std::uint64_t zigzag(std::uint64_t diff) {
  return (diff << 1) ^ (0 - (diff >> 63));  // diff is the two's complement of a signed value
}
std::uint64_t diff(std::int64_t a, std::int64_t b) {
  return static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b);
}

// The fewest of 0, 1, 2, 4 or 8 bytes that hold every code up to `largest`.
unsigned char width_of(std::uint64_t largest) {
  if (largest == 0) return 0;
  if (largest <= 0xffu) return 1;
  if (largest <= 0xffffu) return 2;
  if (largest <= 0xffffffffu) return 4;
  return 8;
}

// Does event i carry a message's fields (a receive), rather than the "none" values -1, -1, NaN?
bool carries_message(const EventColumns& c, std::size_t i) {
  return !(c.msg_tick[i] == -1 && c.msg_clock[i] == -1 && std::isnan(c.msg_arrival[i]));
}

// Writes code(0), ..., code(count - 1), `width` bytes each, little-endian; returns the end.
template <typename Code>
unsigned char* put_codes(unsigned char* p, unsigned char width, std::size_t count, Code code) {
  auto each = [&](auto narrow) {
    using U = decltype(narrow);
    for (std::size_t i = 0; i < count; ++i, p += sizeof(U)) {
      const U v = static_cast<U>(code(i));
      std::memcpy(p, &v, sizeof(U));  // x86-64 and aarch64: little-endian, as the format says
    }
  };
  switch (width) {
    case 1:
      each(std::uint8_t{});
      break;
    case 2:
      each(std::uint16_t{});
      break;
    case 4:
      each(std::uint32_t{});
      break;
    case 8:
      each(std::uint64_t{});
      break;
    default:
      break;  // 0: every code is 0, nothing is stored
  }
  return p;
}

}  // namespace

// The block layout of docs/schema.md ("Crash journal"): a 40-byte block header, then the columns.
void encode_journal_block(const EventColumns& c, std::int64_t from, std::int64_t to, std::vector<unsigned char>& out,
                          std::uint32_t late_deliveries) {
  const auto first = static_cast<std::size_t>(from);
  const auto n = static_cast<std::size_t>(to - from);
  const std::int64_t lamport_before = from > 0 ? c.lamport[first - 1] : 0;
  // Pass 1: each column's largest code, and how many events carry a message.
  std::uint64_t most[kJournalWidths] = {};
  std::size_t messages = 0;
  std::int64_t prev = lamport_before;
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t i = first + j;
    most[kTickWidth] = std::max(most[kTickWidth], zigzag(diff(c.tick[i], from + static_cast<std::int64_t>(j))));
    most[kLamportWidth] = std::max(most[kLamportWidth], zigzag(diff(c.lamport[i], prev)));
    prev = c.lamport[i];
    most[kJumpWidth] = std::max(most[kJumpWidth], zigzag(static_cast<std::uint64_t>(c.jump[i])));
    most[kQueueWidth] = std::max(most[kQueueWidth], zigzag(static_cast<std::uint64_t>(std::int64_t{c.queue[i]})));
    most[kPeerWidth] = std::max(most[kPeerWidth], zigzag(static_cast<std::uint64_t>(std::int64_t{c.peer[i]})));
    if (carries_message(c, i)) {
      ++messages;
      most[kMsgTickWidth] = std::max(most[kMsgTickWidth], zigzag(static_cast<std::uint64_t>(c.msg_tick[i])));
      most[kMsgClockWidth] = std::max(most[kMsgClockWidth], zigzag(diff(c.lamport[i], c.msg_clock[i])));
    }
  }
  unsigned char width[kJournalWidths] = {};
  for (std::size_t w = 0; w < kJournalWidths; ++w) width[w] = width_of(most[w]);
  const std::size_t bytes = kJournalBlockHeaderBytes +
                            n * (width[kTickWidth] + 8 + width[kLamportWidth] + width[kJumpWidth] + width[kQueueWidth] +
                                 width[kPeerWidth] + 1) +
                            (n + 7) / 8 + messages * (width[kMsgTickWidth] + width[kMsgClockWidth] + 8);
  out.assign(bytes, 0);  // zeroes the message bitmap too
  unsigned char* p = out.data();
  const auto block_bytes = static_cast<std::uint32_t>(bytes);
  const auto events = static_cast<std::uint32_t>(n);
  const auto message_count = static_cast<std::uint32_t>(messages);
  const std::int64_t first_tick = from;
  std::memcpy(p + 0, &block_bytes, 4);
  std::memcpy(p + 4, &events, 4);
  std::memcpy(p + 8, &first_tick, 8);
  std::memcpy(p + 16, &lamport_before, 8);
  std::memcpy(p + 24, &late_deliveries, 4);
  std::memcpy(p + 28, &message_count, 4);
  std::memcpy(p + 32, width, kJournalWidths);
  p += kJournalBlockHeaderBytes;

  // Pass 2: the columns, in the documented order.
  p = put_codes(p, width[kTickWidth], n,
                [&](std::size_t j) { return zigzag(diff(c.tick[first + j], from + static_cast<std::int64_t>(j))); });
  std::memcpy(p, c.t + first, n * 8);
  p += n * 8;
  p = put_codes(p, width[kLamportWidth], n, [&](std::size_t j) {
    return zigzag(diff(c.lamport[first + j], j == 0 ? lamport_before : c.lamport[first + j - 1]));
  });
  p = put_codes(p, width[kJumpWidth], n,
                [&](std::size_t j) { return zigzag(static_cast<std::uint64_t>(c.jump[first + j])); });
  p = put_codes(p, width[kQueueWidth], n,
                [&](std::size_t j) { return zigzag(static_cast<std::uint64_t>(std::int64_t{c.queue[first + j]})); });
  p = put_codes(p, width[kPeerWidth], n,
                [&](std::size_t j) { return zigzag(static_cast<std::uint64_t>(std::int64_t{c.peer[first + j]})); });
  std::memcpy(p, c.kind + first, n);
  p += n;
  // The message bitmap: bit j % 8 of byte j / 8 is set when event j carries a message.
  unsigned char* bitmap = p;
  p += (n + 7) / 8;
  unsigned char* msg_tick = p;
  unsigned char* msg_clock = msg_tick + messages * width[kMsgTickWidth];
  unsigned char* msg_arrival = msg_clock + messages * width[kMsgClockWidth];
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t i = first + j;
    if (!carries_message(c, i)) continue;
    bitmap[j / 8] = static_cast<unsigned char>(bitmap[j / 8] | (1u << (j % 8)));
    msg_tick = put_codes(msg_tick, width[kMsgTickWidth], 1,
                         [&](std::size_t) { return zigzag(static_cast<std::uint64_t>(c.msg_tick[i])); });
    msg_clock = put_codes(msg_clock, width[kMsgClockWidth], 1,
                          [&](std::size_t) { return zigzag(diff(c.lamport[i], c.msg_clock[i])); });
    std::memcpy(msg_arrival, c.msg_arrival + i, 8);
    msg_arrival += 8;
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
  pthread_setname_np(pthread_self(), "cb-journal");  // as top and perf show it
  std::unique_lock<std::mutex> lock(mutex_);
  const auto every = std::chrono::duration<double>(interval_s_);
  while (!stop_) {
    wake_.wait_for(lock, every, [this] { return stop_; });
    flush();
  }
  flush();  // the last one, also when finish() came before the thread first looked
  const ThreadUsage used = thread_usage();
  cpu_s_ = used.user_s + used.sys_s;
}

// Appends the events published since the last flush as blocks, each in one write(2), so that a
// reader sees half of one only if the process died inside write(2).
void EventFlusher::flush() {
  if (!progress_.ready.load(std::memory_order_acquire)) return;
  const EventColumns& cols = progress_.columns;
  if (fd_ < 0 || !error_.empty()) return;
  if (!clock_written_ && !write_clock_offset()) return;
  const std::int64_t upto = progress_.published.load(std::memory_order_acquire);
  if (upto <= flushed_) return;
  // The running count of late deliveries, loaded after `published`: at least the count when the
  // last of these events was published, with any counted since. Their earliest arrival goes into
  // the header first, so that a block counting one has it. The count saturates at u32's most.
  const std::int64_t late = progress_.late_deliveries.load(std::memory_order_acquire);
  if (late > 0 && !write_first_late(progress_.first_late_s.load(std::memory_order_relaxed))) return;
  const auto late_u32 =
      static_cast<std::uint32_t>(std::min<std::int64_t>(late, std::numeric_limits<std::uint32_t>::max()));
  // In pieces: a flat-out rank publishes millions of events between flushes, and a buffer for
  // all of them would cost the memory and the cache that the ticking ranks need.
  constexpr std::int64_t kPieceEvents = 16384;  // one block: about 300 kB
  for (std::int64_t from = flushed_; from < upto; from += kPieceEvents) {
    const std::int64_t to = std::min(upto, from + kPieceEvents);
    encode_journal_block(cols, from, to, buffer_, late_u32);
    if (!write_all(fd_, buffer_.data(), buffer_.size())) {
      error_ = "cannot write the journal '" + path_ + "': " + std::strerror(errno);
      return;
    }
    flushed_ = to;
  }
  check_still_linked();
}

// The start estimate of the clock offset, into the header's fields, before any block: a journal
// with blocks always has it.
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
