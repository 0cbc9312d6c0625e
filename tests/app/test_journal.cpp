// The crash journal's blocks: the byte layout docs/schema.md gives, which recovery reads, and the
// late deliveries (their running count and earliest arrival) that the flusher carries into it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include "core/timing_verdict.hpp"
#include "io/journal.hpp"

namespace clockbench {

namespace {

template <typename T>
void put(std::vector<unsigned char>& out, T v) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.insert(out.end(), b, b + sizeof(T));
}

// Appends the bytes in `codes`.
void put_bytes(std::vector<unsigned char>& out, std::initializer_list<unsigned char> codes) {
  out.insert(out.end(), codes.begin(), codes.end());
}

}  // namespace

// The block of events 1 and 2 below, byte for byte as docs/schema.md ("Crash journal") lays it out,
// every code worked out by hand: zigzag(v) = 2v for v >= 0, -2v - 1 for v < 0.
TEST(JournalBlocks, ABlockIsLaidOutAsDocumented) {
  EventLog log;
  log.reserve(3);
  for (std::int64_t k = 0; k < 3; ++k) {
    EventRecord e;
    e.tick = 10 + k;
    e.t = 0.5 * static_cast<double>(k);
    e.kind = k == 2 ? EventKind::receive : EventKind::send_one;
    e.lamport = 100 + k;
    e.jump = k + 1;
    e.queue = static_cast<std::int32_t>(7 * k);
    e.peer = static_cast<std::int32_t>(k);
    e.msg_tick = k == 2 ? 42 : -1;
    e.msg_clock = k == 2 ? 99 : -1;
    if (k == 2) e.msg_arrival = 0.75;
    log.append(e);
  }
  EventProgress progress;
  progress.set_columns(log);
  std::vector<unsigned char> out(5, 0xff);            // replaced, not appended to
  encode_journal_block(progress.columns, 1, 3, out);  // events 1 and 2 only

  std::vector<unsigned char> want;
  put<std::uint32_t>(want, 79);                   // block_bytes: 40 + 2 x 14 + 1 + 1 x 10
  put<std::uint32_t>(want, 2);                    // events
  put<std::int64_t>(want, 1);                     // first_tick: the block's first event index
  put<std::int64_t>(want, 100);                   // lamport_before: event 0's clock
  put<std::uint32_t>(want, 0);                    // late_deliveries
  put<std::uint32_t>(want, 1);                    // messages
  for (int w = 0; w < 7; ++w) want.push_back(1);  // every code fits a byte
  want.push_back(0);                              // the eighth width is reserved
  put_bytes(want, {20, 20});                      // tick - index: 11 - 1, 12 - 2
  put<double>(want, 0.5);
  put<double>(want, 1.0);
  put_bytes(want, {2, 2});    // lamport - the one before: 1, 1
  put_bytes(want, {4, 6});    // jump 2, 3
  put_bytes(want, {14, 28});  // queue 7, 14
  put_bytes(want, {2, 4});    // peer 1, 2
  put_bytes(want, {1, 3});    // kind send_one, receive
  want.push_back(0b10);       // only the second event carries a message
  want.push_back(84);         // msg_tick 42
  want.push_back(6);          // lamport - msg_clock: 102 - 99
  put<double>(want, 0.75);    // msg_arrival
  EXPECT_EQ(kJournalBlockHeaderBytes, 40u);
  EXPECT_EQ(out, want);
}

// Widths of 0, 2, 4 and 8 bytes, negative values, and the running late count in the block header.
TEST(JournalBlocks, EachColumnTakesTheFewestBytesItsValuesNeed) {
  EventLog log;
  log.reserve(2);
  EventRecord e;  // tick 0, lamport 0, jump 0, queue 0, peer -1: no message
  e.t = 2.0;
  log.append(e);
  e.tick = 1;
  e.lamport = std::int64_t{1} << 40;  // the lamport step needs 8 bytes (its code is 2^41)
  e.jump = 40000;                     // code 80000: 4 bytes
  e.queue = 200;                      // code 400: 2 bytes
  e.peer = -1;                        // code 1: 1 byte
  e.kind = EventKind::receive;
  e.msg_tick = 0;               // code 0: width 0
  e.msg_clock = e.lamport - 1;  // lamport - msg_clock = 1: code 2, 1 byte
  e.msg_arrival = -0.5;
  log.append(e);
  EventProgress progress;
  progress.set_columns(log);
  std::vector<unsigned char> out;
  encode_journal_block(progress.columns, 0, 2, out, 4000000007u);
  ASSERT_GE(out.size(), kJournalBlockHeaderBytes);
  std::uint32_t late = 0, bytes = 0;
  std::memcpy(&bytes, out.data(), 4);
  std::memcpy(&late, out.data() + 24, 4);
  EXPECT_EQ(late, 4000000007u);
  const std::vector<unsigned char> widths(out.begin() + 32, out.begin() + 40);
  // tick, lamport, jump, queue, peer, msg_tick, msg_clock, reserved
  EXPECT_EQ(widths, (std::vector<unsigned char>{0, 8, 4, 2, 1, 0, 1, 0}));
  EXPECT_EQ(bytes, 40u + 2 * (0 + 8 + 8 + 4 + 2 + 1 + 1) + 1 + 1 * (0 + 1 + 8));
  EXPECT_EQ(out.size(), bytes);
  std::uint64_t lamport_code = 0;  // the second of the two 8-byte lamport codes
  std::memcpy(&lamport_code, out.data() + 40 + 16 + 8, 8);
  EXPECT_EQ(lamport_code, std::uint64_t{1} << 41);
}

TEST(JournalHeader, TheStartClockEstimateIsWrittenBeforeTheFirstRecord) {
  char folder[] = "/tmp/clockbench-journal-XXXXXX";
  ASSERT_NE(mkdtemp(folder), nullptr);
  JournalHeader header;
  header.rank = 1;
  header.n_machines = 2;
  header.rates = {1.0, 2.0};
  header.peers = {0};
  EXPECT_TRUE(std::isnan(header.clock_offset_s));  // not known when the journal starts
  EventLog log;
  log.reserve(2);
  EventRecord e;
  e.tick = 0;
  e.t = 0.25;
  log.append(e);
  EventProgress progress;
  progress.published.store(1);
  const std::string path = journal_file(folder, 1);
  {
    EventFlusher flusher(folder, header, progress, 60.0);
    // The engine's start estimate, then the columns (which makes them ready).
    progress.clock_offset_s = -12.5;
    progress.clock_offset_uncertainty_s = 3e-6;
    progress.set_columns(log);
    EXPECT_EQ(flusher.finish(), "");
  }
  std::ifstream in(path, std::ios::binary);
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), static_cast<std::size_t>(kJournalClockOffsetAt + 16 + kJournalBlockHeaderBytes));
  double offset = 0.0, uncertainty = 0.0;
  std::memcpy(&offset, bytes.data() + kJournalClockOffsetAt, 8);  // docs/schema.md: byte 64
  std::memcpy(&uncertainty, bytes.data() + kJournalClockOffsetAt + 8, 8);
  EXPECT_EQ(offset, -12.5);
  EXPECT_EQ(uncertainty, 3e-6);
  std::uint32_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data() + 8, 4);
  // One block of the one event after the header: 40 + 8 (t) + 1 (peer -1) + 1 (kind) + 1 (bitmap).
  EXPECT_EQ(bytes.size(), header_bytes + 51);
  double t = 0.0;
  std::memcpy(&t, bytes.data() + header_bytes + kJournalBlockHeaderBytes, 8);
  EXPECT_EQ(t, 0.25);
  std::remove(path.c_str());
  remove_journal_folder(folder);
}

namespace {

// A journal written by a flusher for `progress` (the events it publishes), as bytes.
std::vector<unsigned char> journal_of(EventProgress& progress, const EventLog& log) {
  char folder[] = "/tmp/clockbench-journal-XXXXXX";
  if (mkdtemp(folder) == nullptr) return {};
  JournalHeader header;
  header.rank = 0;
  header.n_machines = 2;
  header.rates = {1.0, 2.0};
  header.peers = {1};
  header.latency = "0";
  const std::string path = journal_file(folder, 0);
  {
    EventFlusher flusher(folder, header, progress, 60.0);
    progress.set_columns(log);
    EXPECT_EQ(flusher.finish(), "");
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  remove_journal_folder(folder);
  return bytes;
}

struct Written {
  std::string magic;
  double first_late_s = 0.0;
  std::vector<std::uint32_t> late;  // per block
};

Written read_back(const std::vector<unsigned char>& bytes) {
  Written w;
  if (bytes.size() < 16) return w;
  w.magic.assign(bytes.begin(), bytes.begin() + 8);
  std::uint32_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data() + 8, 4);
  std::memcpy(&w.first_late_s, bytes.data() + header_bytes - kJournalFirstLateFromEnd, 8);  // its last field
  for (std::size_t at = header_bytes; at + kJournalBlockHeaderBytes <= bytes.size();) {
    std::uint32_t block_bytes = 0, late = 0;
    std::memcpy(&block_bytes, bytes.data() + at, 4);
    std::memcpy(&late, bytes.data() + at + 24, 4);
    w.late.push_back(late);
    if (block_bytes == 0) break;
    at += block_bytes;
  }
  return w;
}

}  // namespace

TEST(JournalLateDeliveries, TheLedgersRunningCountAndFirstArrivalReachTheJournal) {
  EventLog log;
  log.reserve(3);
  EventRecord e;
  for (std::int64_t k = 0; k < 3; ++k) {
    e.tick = k;
    log.append(e);
  }
  // As the engine passes them: the ledger counts two late deliveries, the second arriving earlier.
  TimingLedger ledger(true);
  EventProgress progress;
  ledger.decided(2.0);
  for (const double arrival : {1.5, 0.75, 2.5}) {  // the last one is in time
    if (ledger.arrived(arrival)) progress.count_late(ledger.late_deliveries(), ledger.first_late_s());
  }
  EXPECT_EQ(ledger.late_deliveries(), 2);
  progress.published.store(3);
  const Written w = read_back(journal_of(progress, log));
  EXPECT_EQ(w.magic, "CBJRNL04");
  EXPECT_EQ(w.first_late_s, 0.75);                     // the earliest arrival, not the first counted
  EXPECT_EQ(w.late, (std::vector<std::uint32_t>{2}));  // one block of the three events
}

TEST(JournalLateDeliveries, NoneLeavesTheHeaderFieldNaNAndTheRecordsZero) {
  EventLog log;
  log.reserve(2);
  EventRecord e;
  log.append(e);
  e.tick = 1;
  log.append(e);
  TimingLedger flat_out(false);  // no deadlines: nothing is ever late
  flat_out.decided(2.0);
  EXPECT_FALSE(flat_out.arrived(0.5));
  EventProgress progress;
  progress.published.store(2);
  const Written w = read_back(journal_of(progress, log));
  EXPECT_EQ(w.magic, "CBJRNL04");
  EXPECT_TRUE(std::isnan(w.first_late_s));
  EXPECT_EQ(w.late, (std::vector<std::uint32_t>{0}));
}

TEST(JournalLateDeliveries, ACountPastU32Saturates) {
  EventLog log;
  log.reserve(1);
  log.append(EventRecord{});
  EventProgress progress;
  progress.count_late(std::int64_t{1} << 33, 0.5);
  progress.published.store(1);
  const Written w = read_back(journal_of(progress, log));
  EXPECT_EQ(w.late, (std::vector<std::uint32_t>{0xffffffffu}));
  EXPECT_EQ(w.first_late_s, 0.5);
}

}  // namespace clockbench
