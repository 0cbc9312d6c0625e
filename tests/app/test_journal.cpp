// The crash journal's records: the byte layout docs/schema.md gives, which recovery reads, and the
// late deliveries (their running count and earliest arrival) that the flusher carries into it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/timing_verdict.hpp"
#include "io/journal.hpp"

namespace clockbench {

namespace {

template <typename T>
T field(const std::vector<unsigned char>& bytes, std::size_t record, std::size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + record * kJournalRecordBytes + offset, sizeof v);
  return v;
}

}  // namespace

TEST(JournalRecords, FieldsSitAtTheirDocumentedOffsets) {
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
  std::vector<unsigned char> out(5, 0xff);              // replaced, not appended to
  encode_journal_records(progress.columns, 1, 3, out);  // events 1 and 2 only

  ASSERT_EQ(out.size(), 2 * kJournalRecordBytes);
  EXPECT_EQ(field<std::int64_t>(out, 0, 0), 11);
  EXPECT_EQ(field<double>(out, 0, 8), 0.5);
  EXPECT_EQ(field<std::int64_t>(out, 0, 16), 101);
  EXPECT_EQ(field<std::int64_t>(out, 0, 24), 2);
  EXPECT_EQ(field<std::int64_t>(out, 0, 32), -1);
  EXPECT_EQ(field<std::int64_t>(out, 0, 40), -1);
  EXPECT_TRUE(std::isnan(field<double>(out, 0, 48)));  // not a receive
  EXPECT_EQ(field<std::int32_t>(out, 0, 56), 7);
  EXPECT_EQ(field<std::int32_t>(out, 0, 60), 1);
  EXPECT_EQ(out[64], 1);  // send_one
  EXPECT_EQ(field<std::int64_t>(out, 1, 0), 12);
  EXPECT_EQ(field<std::int64_t>(out, 1, 32), 42);
  EXPECT_EQ(field<std::int64_t>(out, 1, 40), 99);
  EXPECT_EQ(field<double>(out, 1, 48), 0.75);
  EXPECT_EQ(out[kJournalRecordBytes + 64], 3);  // receive
  EXPECT_EQ(kJournalRecordBytes, 72u);          // docs/schema.md, "Crash journal"
  for (std::size_t r = 0; r < 2; ++r) {
    for (std::size_t b = 65; b < 68; ++b) EXPECT_EQ(out[r * kJournalRecordBytes + b], 0) << b;
    EXPECT_EQ(field<std::uint32_t>(out, r, 68), 0u);  // no late deliveries given
  }
}

TEST(JournalRecords, EachRecordCarriesTheRunningLateCountAtByte68) {
  EventLog log;
  log.reserve(2);
  EventRecord e;
  log.append(e);
  log.append(e);
  EventProgress progress;
  progress.set_columns(log);
  std::vector<unsigned char> out;
  encode_journal_records(progress.columns, 0, 2, out, 4000000007u);
  ASSERT_EQ(out.size(), 2 * kJournalRecordBytes);
  EXPECT_EQ(kJournalLateAt, 68u);  // docs/schema.md, "Crash journal"
  for (std::size_t r = 0; r < 2; ++r) {
    EXPECT_EQ(field<std::uint32_t>(out, r, 68), 4000000007u);
    for (std::size_t b = 65; b < 68; ++b) EXPECT_EQ(out[r * kJournalRecordBytes + b], 0) << b;
  }
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
  ASSERT_GT(bytes.size(), static_cast<std::size_t>(kJournalClockOffsetAt + 16 + kJournalRecordBytes));
  double offset = 0.0, uncertainty = 0.0;
  std::memcpy(&offset, bytes.data() + kJournalClockOffsetAt, 8);  // docs/schema.md: byte 64
  std::memcpy(&uncertainty, bytes.data() + kJournalClockOffsetAt + 8, 8);
  EXPECT_EQ(offset, -12.5);
  EXPECT_EQ(uncertainty, 3e-6);
  std::uint32_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data() + 8, 4);
  EXPECT_EQ(bytes.size(), header_bytes + kJournalRecordBytes);  // the one record, after the header
  double t = 0.0;
  std::memcpy(&t, bytes.data() + header_bytes + 8, 8);
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
  std::vector<std::uint32_t> late;  // per record
};

Written read_back(const std::vector<unsigned char>& bytes) {
  Written w;
  if (bytes.size() < 16) return w;
  w.magic.assign(bytes.begin(), bytes.begin() + 8);
  std::uint32_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data() + 8, 4);
  std::memcpy(&w.first_late_s, bytes.data() + header_bytes - kJournalFirstLateFromEnd, 8);  // its last field
  for (std::size_t at = header_bytes; at + kJournalRecordBytes <= bytes.size(); at += kJournalRecordBytes) {
    std::uint32_t late = 0;
    std::memcpy(&late, bytes.data() + at + 68, 4);
    w.late.push_back(late);
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
  EXPECT_EQ(w.magic, "CBJRNL03");
  EXPECT_EQ(w.first_late_s, 0.75);  // the earliest arrival, not the first counted
  EXPECT_EQ(w.late, (std::vector<std::uint32_t>{2, 2, 2}));
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
  EXPECT_EQ(w.magic, "CBJRNL03");
  EXPECT_TRUE(std::isnan(w.first_late_s));
  EXPECT_EQ(w.late, (std::vector<std::uint32_t>{0, 0}));
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
