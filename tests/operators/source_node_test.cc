// SourceNode: decodes a batch of raw records into contiguous chunks tagged by
// entry index; reports parse failures, out-of-range event times and late
// records (with their entry index) instead of outputting them; reports the
// largest on-time event time per input partition.
#include "operators/source_node.h"

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/io.h"
#include "engine/record.h"
#include "engine/source_sink.h"
#include "engine/thread_pool.h"
#include "gtest/gtest.h"

namespace eddy {
namespace {

// "<ts>,<name>"
struct Ev {
  int64_t ts = 0;
  std::string name;
};

struct ParseEv {
  absl::StatusOr<Ev> operator()(absl::string_view line) const {
    const size_t comma = line.find(',');
    Ev e;
    if (comma == absl::string_view::npos || !absl::SimpleAtoi(line.substr(0, comma), &e.ts)) {
      return absl::InvalidArgumentError("bad record: " + std::string(line));
    }
    e.name = std::string(line.substr(comma + 1));
    return e;
  }
};

struct TsOf {
  EventTime operator()(const Ev& e) const { return e.ts; }
};

using Source = SourceNode<Ev, ParseEv, TsOf>;

struct Line {
  std::string text;
  uint32_t partition = 0;
  bool oversized = false;
};

RawRecordBatch MakeBatch(const std::vector<Line>& lines) {
  RawRecordBatch batch;
  uint64_t position = 1;
  for (const Line& l : lines) {
    RawRecordBatch::Entry e;
    e.offset = batch.bytes.size();
    e.size = static_cast<uint32_t>(l.text.size());
    e.partition = l.partition;
    e.position = position++;
    e.oversized = l.oversized;
    batch.bytes.append(l.text);
    batch.entries.push_back(e);
  }
  batch.Pad();
  return batch;
}

std::string Ln(int64_t ts, const std::string& name) { return std::to_string(ts) + "," + name; }

EventTimeOptions Lateness(absl::Duration d) {
  EventTimeOptions o;
  o.allowed_lateness = d;
  return o;
}

struct Decoded {
  SourceDecodeReport report;
  // (name, ts, seq) per output partition.
  std::vector<std::vector<std::tuple<std::string, EventTime, uint32_t>>> parts;
};

// Opens a source with `parts` tasks and decodes one batch.
class SourceHarness {
 public:
  SourceHarness(int parts, EventTimeOptions options, int threads = 1)
      : parts_(parts), source_("src", ParseEv{}, TsOf{}, options), pool_(threads) {
    EXPECT_TRUE(source_.Open(parts).ok());
  }

  Decoded Decode(const std::vector<Line>& lines, size_t input_partitions,
                 EventTime previous_watermark = kMinEventTime) {
    source_.ClearOutput();
    const RawRecordBatch batch = MakeBatch(lines);
    BatchContext ctx;
    ctx.previous_watermark = previous_watermark;
    ctx.watermark = previous_watermark;
    ctx.partitions = parts_;
    ctx.pool = &pool_;
    Decoded d;
    // One report reused across batches, as the executor does.
    source_.Decode(batch, input_partitions, ctx, report_);
    d.report = report_;
    d.parts.resize(parts_);
    for (int p = 0; p < parts_; ++p) {
      EXPECT_EQ(source_.PartitionOutputSize(p), source_.output().parts[p].size());
      for (const Record<Ev>& r : source_.output().parts[p]) {
        EXPECT_EQ(r.ts, r.value.ts);
        EXPECT_EQ(r.tag.key_group, 0u);
        EXPECT_EQ(r.tag.timer_time, 0);
        d.parts[p].emplace_back(r.value.name, r.ts, r.tag.seq);
      }
    }
    return d;
  }

  Source& source() { return source_; }

 private:
  int parts_;
  Source source_;
  ThreadPool pool_;
  SourceDecodeReport report_;
};

using Out = std::vector<std::tuple<std::string, EventTime, uint32_t>>;

std::vector<std::pair<uint32_t, std::string>> Failures(const SourceDecodeReport& r) {
  std::vector<std::pair<uint32_t, std::string>> out;
  for (const auto& f : r.failures) out.emplace_back(f.entry, f.reason);
  return out;
}

std::vector<std::pair<uint32_t, EventTime>> Late(const SourceDecodeReport& r) {
  std::vector<std::pair<uint32_t, EventTime>> out;
  for (const auto& l : r.late) out.emplace_back(l.entry, l.ts);
  return out;
}

TEST(SourceNodeTest, SplitsRecordsIntoContiguousChunksTaggedByEntryIndex) {
  SourceHarness h(4, EventTimeOptions{}, /*threads=*/4);
  std::vector<Line> lines;
  for (int i = 0; i < 10; ++i) lines.push_back({Ln(100 + i, "e" + std::to_string(i))});
  const Decoded d = h.Decode(lines, 1);
  // 10 records over 4 tasks: chunks of 3, 3, 3, 1.
  EXPECT_EQ(d.parts[0], (Out{{"e0", 100, 0u}, {"e1", 101, 1u}, {"e2", 102, 2u}}));
  EXPECT_EQ(d.parts[1], (Out{{"e3", 103, 3u}, {"e4", 104, 4u}, {"e5", 105, 5u}}));
  EXPECT_EQ(d.parts[2], (Out{{"e6", 106, 6u}, {"e7", 107, 7u}, {"e8", 108, 8u}}));
  EXPECT_EQ(d.parts[3], (Out{{"e9", 109, 9u}}));
  EXPECT_TRUE(d.report.failures.empty());
  EXPECT_TRUE(d.report.late.empty());
}

TEST(SourceNodeTest, FewerRecordsThanTasksAndEmptyBatch) {
  SourceHarness h(4, EventTimeOptions{});
  Decoded d = h.Decode({{Ln(1, "a")}, {Ln(2, "b")}}, 1);
  EXPECT_EQ(d.parts[0], (Out{{"a", 1, 0u}}));
  EXPECT_EQ(d.parts[1], (Out{{"b", 2, 1u}}));
  EXPECT_TRUE(d.parts[2].empty());
  EXPECT_TRUE(d.parts[3].empty());

  d = h.Decode({}, 2);
  for (const auto& part : d.parts) EXPECT_TRUE(part.empty());
  EXPECT_EQ(d.report.max_ts, (std::vector<EventTime>{kMinEventTime, kMinEventTime}));
}

TEST(SourceNodeTest, ParseFailuresAreReportedWithEntryIndexAndMessageInEntryOrder) {
  SourceHarness h(3, EventTimeOptions{}, /*threads=*/3);
  const Decoded d = h.Decode({{Ln(1, "a")},
                              {"garbage"},
                              {Ln(3, "c")},
                              {Ln(4, "d")},
                              {"x,y"},
                              {Ln(6, "f")},
                              {"", 0},
                              {Ln(8, "too-long-prefix"), 0, /*oversized=*/true}},
                             1);
  EXPECT_EQ(Failures(d.report), (std::vector<std::pair<uint32_t, std::string>>{
                                    {1, "bad record: garbage"},
                                    {4, "bad record: x,y"},
                                    {6, "bad record: "},
                                    {7, "record larger than the maximum size"},
                                }));
  // Failed entries leave gaps in the tags; the rest keep their entry index.
  EXPECT_EQ(d.parts[0], (Out{{"a", 1, 0u}, {"c", 3, 2u}}));
  EXPECT_EQ(d.parts[1], (Out{{"d", 4, 3u}, {"f", 6, 5u}}));
  EXPECT_TRUE(d.parts[2].empty());
}

TEST(SourceNodeTest, ReportIsResetForEachBatch) {
  SourceHarness h(2, Lateness(absl::ZeroDuration()));
  Decoded d = h.Decode({{"bad"}, {Ln(5, "late")}, {Ln(50, "ok")}}, 1, /*previous_watermark=*/10);
  EXPECT_EQ(d.report.failures.size(), 1u);
  EXPECT_EQ(d.report.late.size(), 1u);
  d = h.Decode({{Ln(60, "ok")}}, 1, 10);
  EXPECT_TRUE(d.report.failures.empty());
  EXPECT_TRUE(d.report.late.empty());
  EXPECT_EQ(d.report.max_ts, (std::vector<EventTime>{60}));
}

TEST(SourceNodeTest, RecordsAtOrBehindTheWatermarkAreLateAndNotOutput) {
  SourceHarness h(2, Lateness(absl::ZeroDuration()), /*threads=*/2);
  const Decoded d = h.Decode(
      {{Ln(999, "a")}, {Ln(1000, "b")}, {Ln(1001, "c")}, {Ln(-5, "d")}, {Ln(2000, "e")}}, 1,
      /*previous_watermark=*/1000);
  EXPECT_EQ(Late(d.report),
            (std::vector<std::pair<uint32_t, EventTime>>{{0, 999}, {1, 1000}, {3, -5}}));
  EXPECT_EQ(d.parts[0], (Out{{"c", 1001, 2u}}));
  EXPECT_EQ(d.parts[1], (Out{{"e", 2000, 4u}}));
  EXPECT_TRUE(d.report.failures.empty());
}

TEST(SourceNodeTest, RecordsWithinTheAllowedLatenessAreOutput) {
  SourceHarness h(1, Lateness(absl::Milliseconds(100)));
  const Decoded d = h.Decode(
      {{Ln(899, "a")}, {Ln(900, "b")}, {Ln(901, "c")}, {Ln(1000, "d")}, {Ln(1001, "e")}}, 1,
      /*previous_watermark=*/1000);
  // Late: ts <= previous_watermark - allowed_lateness.
  EXPECT_EQ(Late(d.report), (std::vector<std::pair<uint32_t, EventTime>>{{0, 899}, {1, 900}}));
  EXPECT_EQ(d.parts[0], (Out{{"c", 901, 2u}, {"d", 1000, 3u}, {"e", 1001, 4u}}));
}

TEST(SourceNodeTest, NothingIsLateBeforeTheFirstWatermark) {
  SourceHarness h(2, Lateness(absl::ZeroDuration()));
  const Decoded d = h.Decode({{Ln(-(int64_t{1} << 53), "min")}, {Ln(0, "zero")}}, 1,
                             /*previous_watermark=*/kMinEventTime);
  EXPECT_TRUE(d.report.late.empty());
  EXPECT_EQ(d.parts[0], (Out{{"min", -(int64_t{1} << 53), 0u}}));
  EXPECT_EQ(d.parts[1], (Out{{"zero", 0, 1u}}));
}

TEST(SourceNodeTest, MaxTsPerInputPartitionExcludesLateAndFailedRecords) {
  SourceHarness h(3, Lateness(absl::ZeroDuration()), /*threads=*/2);
  const Decoded d = h.Decode({{Ln(150, "p0"), 0},
                              {Ln(5000, "p1-late"), 1},  // on time (> watermark)
                              {Ln(90, "p1-late"), 1},
                              {Ln(300, "p0"), 0},
                              {"9999999,bad-name-but-ok", 2},
                              {"99999999", 2},  // parse failure: ignored
                              {Ln(40, "p0-late"), 0},
                              {Ln(99, "p3-late"), 3},
                              {Ln(120, "p1"), 1}},
                             /*input_partitions=*/5, /*previous_watermark=*/100);
  EXPECT_EQ(d.report.max_ts,
            (std::vector<EventTime>{300, 5000, 9999999, kMinEventTime, kMinEventTime}));
  EXPECT_EQ(Late(d.report),
            (std::vector<std::pair<uint32_t, EventTime>>{{2, 90}, {6, 40}, {7, 99}}));
  EXPECT_EQ(Failures(d.report).size(), 1u);
}

TEST(SourceNodeTest, LateRecordsDoNotRaiseMaxTsOfTheirPartition) {
  SourceHarness h(1, Lateness(absl::ZeroDuration()));
  const Decoded d = h.Decode({{Ln(10, "late"), 0}, {Ln(20, "late"), 1}, {Ln(200, "ok"), 1}}, 2,
                             /*previous_watermark=*/100);
  EXPECT_EQ(d.report.max_ts, (std::vector<EventTime>{kMinEventTime, 200}));
}

// With max_future, a record stamped further ahead of the wall clock is a
// dead letter and does not raise its partition's max_ts (the watermark):
// a device with a wrong clock must not make every later record late.
TEST(SourceNodeTest, EventTimeFarAheadOfTheClockIsADeadLetter) {
  EventTimeOptions o;
  o.max_future = absl::Hours(1);
  SourceHarness h(1, o);
  const int64_t now = absl::ToUnixMillis(absl::Now());
  const Decoded d = h.Decode({{Ln(now - 1000, "now")},
                              {Ln(now + 2 * 3600 * 1000, "ahead")},
                              {Ln(now + 60 * 1000, "a minute ahead")}},
                             1);
  EXPECT_EQ(Failures(d.report),
            (std::vector<std::pair<uint32_t, std::string>>{{1, "event time in the future"}}));
  EXPECT_EQ(d.report.max_ts, (std::vector<EventTime>{now + 60 * 1000}));
  // Without the option nothing is judged by the clock.
  SourceHarness any(1, EventTimeOptions{});
  EXPECT_TRUE(Failures(any.Decode({{Ln(now + 2 * 3600 * 1000, "ahead")}}, 1).report).empty());
}

// With max_past, a record stamped further behind the newest event time of
// its partition is a dead letter, also in the first batch (no watermark
// yet: nothing is late) and also when it would be late; the newest time
// may come from a later chunk of the batch; partitions are judged apart.
TEST(SourceNodeTest, EventTimeFarBehindItsPartitionIsADeadLetter) {
  EventTimeOptions o;
  o.max_past = absl::Seconds(100);
  SourceHarness h(/*parts=*/2, o, /*threads=*/2);
  // Chunks of 3: entries 0..2 and 3..5; partition 0's newest (1,000,000)
  // is in the second chunk.
  const Decoded first = h.Decode({{Ln(950000, "a"), 0},
                                  {Ln(10, "a century back"), 0},
                                  {Ln(20, "old but alone"), 1},
                                  {Ln(1000000, "newest"), 0},
                                  {Ln(899999, "just over"), 0},
                                  {Ln(900000, "just within"), 0}},
                                 2);
  EXPECT_EQ(Failures(first.report), (std::vector<std::pair<uint32_t, std::string>>{
                                        {1, "event time in the past"},
                                        {4, "event time in the past"}}));
  EXPECT_EQ(first.report.max_ts, (std::vector<EventTime>{1000000, 20}));
  size_t out = 0;
  for (const auto& part : first.parts) out += part.size();
  EXPECT_EQ(out, 4u);
  // Later, with a watermark: behind it by less than max_past is late; by
  // more, a dead letter.
  const Decoded later = h.Decode({{Ln(999000, "late"), 0}, {Ln(5, "ancient"), 0}}, 2,
                                 /*previous_watermark=*/1000000);
  EXPECT_EQ(Failures(later.report),
            (std::vector<std::pair<uint32_t, std::string>>{{1, "event time in the past"}}));
  ASSERT_EQ(later.report.late.size(), 1u);
  EXPECT_EQ(later.report.late[0].entry, 0u);
  // Without the option nothing is judged so.
  SourceHarness any(1, EventTimeOptions{});
  EXPECT_TRUE(Failures(any.Decode({{Ln(1000000, "new")}, {Ln(10, "old")}}, 1).report).empty());
}

TEST(SourceNodeTest, EventTimeBeyondTwoToThe53IsAFailure) {
  constexpr int64_t kMax = int64_t{1} << 53;
  SourceHarness h(2, EventTimeOptions{});
  const Decoded d = h.Decode({{Ln(kMax, "max")},
                              {Ln(kMax + 1, "over")},
                              {Ln(-kMax, "min")},
                              {Ln(-kMax - 1, "under")},
                              {Ln(kMaxEventTime, "int64max")},
                              {Ln(kMinEventTime, "int64min")}},
                             1);
  EXPECT_EQ(Failures(d.report), (std::vector<std::pair<uint32_t, std::string>>{
                                    {1, "event time out of range"},
                                    {3, "event time out of range"},
                                    {4, "event time out of range"},
                                    {5, "event time out of range"},
                                }));
  // Chunks of 3 entries: 0..2 (two in range) and 3..5 (none).
  EXPECT_EQ(d.parts[0], (Out{{"max", kMax, 0u}, {"min", -kMax, 2u}}));
  EXPECT_TRUE(d.parts[1].empty());
  EXPECT_EQ(d.report.max_ts, (std::vector<EventTime>{kMax}));
}

TEST(SourceNodeTest, HugeAllowedLatenessWithVeryNegativeWatermarkDoesNotOverflow) {
  constexpr int64_t kMax = int64_t{1} << 53;
  const std::vector<Line> lines = {{Ln(-kMax, "a")}, {Ln(0, "b")}, {Ln(kMax, "c")}};
  const std::vector<absl::Duration> latenesses = {
      absl::InfiniteDuration(), absl::Milliseconds(kMaxEventTime),
      absl::Milliseconds(int64_t{1} << 62), absl::Hours(24 * 365 * 1000000LL)};
  const std::vector<EventTime> watermarks = {kMinEventTime + 1, -(int64_t{1} << 62), -kMax,
                                             -kMax + 5, -1, 0, 1};
  for (const absl::Duration lateness : latenesses) {
    for (const EventTime wm : watermarks) {
      SourceHarness h(2, Lateness(lateness));
      const Decoded d = h.Decode(lines, 1, wm);
      EXPECT_TRUE(d.report.late.empty()) << "lateness " << lateness << " watermark " << wm;
      EXPECT_EQ(d.parts[0].size() + d.parts[1].size(), 3u)
          << "lateness " << lateness << " watermark " << wm;
    }
  }
}

TEST(SourceNodeTest, LargeLatenessStillRoutesFarBehindRecords) {
  // A lateness of a year with a recent watermark: only records more than a
  // year behind are late.
  const int64_t year = int64_t{365} * 24 * 3600 * 1000;
  const int64_t wm = int64_t{1700000000000};
  SourceHarness h(1, Lateness(absl::Milliseconds(year)));
  const Decoded d = h.Decode({{Ln(wm - year, "edge")}, {Ln(wm - year + 1, "in")}}, 1, wm);
  EXPECT_EQ(Late(d.report), (std::vector<std::pair<uint32_t, EventTime>>{{0, wm - year}}));
  EXPECT_EQ(d.parts[0], (Out{{"in", wm - year + 1, 1u}}));
}

// A parser that also takes the record's metadata sees its Kafka key,
// timestamp, headers and position.
struct ParseWithMeta {
  absl::StatusOr<Ev> operator()(absl::string_view value, const RecordMeta& meta) const {
    Ev e;
    e.ts = meta.timestamp() == kNoTimestamp ? -1 : meta.timestamp();
    e.name = absl::StrCat(value, "|", meta.key(), "|", meta.position(), "|",
                          meta.Header("h").value_or("none"));
    for (const auto& [k, v] : meta.Headers()) absl::StrAppend(&e.name, "|", k, "=", v);
    return e;
  }
};

TEST(SourceNodeTest, AParserTakingRecordMetaSeesKeyTimestampHeadersAndPosition) {
  RawRecordBatch batch;
  const auto add = [&](absl::string_view value, absl::string_view key, int64_t ts,
                       std::vector<std::pair<std::string, std::string>> headers) {
    RawRecordBatch::Entry e;
    e.offset = batch.bytes.size();
    e.size = static_cast<uint32_t>(value.size());
    e.position = 40 + batch.entries.size();
    batch.bytes.append(value.data(), value.size());
    batch.bytes.append(key.data(), key.size());
    e.key_size = static_cast<uint32_t>(key.size());
    const size_t before = batch.bytes.size();
    for (const auto& [k, v] : headers) RecordMeta::AppendHeader(batch.bytes, k, v);
    e.headers_size = static_cast<uint32_t>(batch.bytes.size() - before);
    e.timestamp = ts;
    batch.entries.push_back(e);
  };
  add("v0", "user7", 1000, {{"h", "x"}, {"trace", "t1"}, {"h", "second"}});
  add("v1", "", kNoTimestamp, {});
  add("", "k", 5, {{"empty", ""}});
  batch.Pad();

  ThreadPool pool(2);
  SourceNode<Ev, ParseWithMeta, TsOf> src("s", ParseWithMeta{}, TsOf{}, EventTimeOptions{});
  ASSERT_TRUE(src.Open(2).ok());
  BatchContext ctx;
  ctx.partitions = 2;
  ctx.pool = &pool;
  SourceDecodeReport report;
  src.Decode(batch, 1, ctx, report);
  EXPECT_TRUE(report.failures.empty());
  std::vector<std::string> names;
  std::vector<int64_t> ts;
  for (const auto& part : src.output().parts) {
    for (const auto& r : part) {
      names.push_back(r.value.name);
      ts.push_back(r.ts);
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"v0|user7|40|x|h=x|trace=t1|h=second",
                                             "v1||41|none", "|k|42|none|empty="}));
  EXPECT_EQ(ts, (std::vector<int64_t>{1000, -1, 5}));
}

}  // namespace
}  // namespace eddy
