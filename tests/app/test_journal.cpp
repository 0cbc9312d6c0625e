// The crash journal's records: the byte layout docs/schema.md gives, which recovery reads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

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
  for (std::size_t r = 0; r < 2; ++r)
    for (std::size_t b = 65; b < kJournalRecordBytes; ++b) EXPECT_EQ(out[r * kJournalRecordBytes + b], 0) << b;
}

}  // namespace clockbench
