// SinkNode: encodes records per task and writes one line per record in tag
// order, whatever the partition layout; each task encodes with its own copy of
// the encoder; a writer error stops the sink and is returned.
#include "operators/sink_node.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/io.h"
#include "engine/record.h"
#include "engine/thread_pool.h"
#include "gtest/gtest.h"
#include "tests/testing/feed.h"
#include "tests/testing/memory_io.h"

namespace eddy {
namespace {

using testing::Feed;
using testing::MemoryOutputs;

struct Encode {
  void operator()(const std::string& v, std::string& out) const { out.append(v); }
};
using StringSink = SinkNode<std::string, Encode>;

BatchContext Ctx(ThreadPool& pool, int parts) {
  BatchContext ctx;
  ctx.partitions = parts;
  ctx.pool = &pool;
  return ctx;
}

struct Item {
  int partition;
  Tag tag;
};

// Records named after their position in tag order, laid out over 3
// partitions so that tags interleave (each partition sorted, as producers
// guarantee).
const std::vector<Item> kLayout = {
    {0, Tag{0, 0, 0}},   {1, Tag{1, 0, 0}},   {2, Tag{2, 0, 0}},
    {2, Tag{3, 0, 0}},   {0, Tag{4, 0, 0}},   {1, Tag{7, 0, 0}},
    {0, Tag{9, 0, 0}},   {2, Tag{12, 0, 0}},
    // Timer outputs: after every record, by timer time then key group.
    {1, Tag{Tag::kTimerSeq, 8, 100}}, {0, Tag{Tag::kTimerSeq, 30, 100}},
    {2, Tag{Tag::kTimerSeq, 200, 100}}, {0, Tag{Tag::kTimerSeq, 3, 250}},
};

std::vector<std::string> ExpectedInTagOrder() {
  std::vector<Item> sorted = kLayout;
  std::sort(sorted.begin(), sorted.end(),
            [](const Item& a, const Item& b) { return a.tag < b.tag; });
  std::vector<std::string> lines;
  for (const Item& it : sorted) {
    lines.push_back("seq=" + std::to_string(it.tag.seq) + "/t=" + std::to_string(it.tag.timer_time) +
                    "/g=" + std::to_string(it.tag.key_group));
  }
  return lines;
}

void Fill(Feed<std::string>& feed, const std::vector<Item>& layout) {
  for (const Item& it : layout) {
    feed.output().parts[it.partition].push_back(Record<std::string>{
        "seq=" + std::to_string(it.tag.seq) + "/t=" + std::to_string(it.tag.timer_time) +
            "/g=" + std::to_string(it.tag.key_group),
        1, it.tag});
  }
}

TEST(SinkNodeTest, WritesLinesInTagOrderWhateverThePartitionLayout) {
  constexpr int kParts = 3;
  Feed<std::string> feed;
  StringSink sink("out", &feed, Encode{});
  MemoryOutputs outputs;
  auto writer = outputs.Open("out");
  ASSERT_TRUE(writer.ok());
  sink.set_writer(writer->get());
  ASSERT_TRUE(feed.Open(kParts).ok());
  ASSERT_TRUE(sink.Open(kParts).ok());
  Fill(feed, kLayout);

  ThreadPool pool(3);
  ASSERT_TRUE(sink.RunBarrier(Ctx(pool, kParts)).ok());
  EXPECT_EQ(outputs.lines("out"), ExpectedInTagOrder());
  EXPECT_EQ(sink.written(), kLayout.size());
}

TEST(SinkNodeTest, OneAndThreePartitionsWriteTheSameLines) {
  std::vector<std::vector<std::string>> results;
  for (int parts : {1, 3}) {
    std::vector<Item> layout = kLayout;
    if (parts == 1) {
      std::sort(layout.begin(), layout.end(),
                [](const Item& a, const Item& b) { return a.tag < b.tag; });
      for (Item& it : layout) it.partition = 0;
    }
    Feed<std::string> feed;
    StringSink sink("out", &feed, Encode{});
    MemoryOutputs outputs;
    auto writer = outputs.Open("out");
    ASSERT_TRUE(writer.ok());
    sink.set_writer(writer->get());
    ASSERT_TRUE(feed.Open(parts).ok());
    ASSERT_TRUE(sink.Open(parts).ok());
    Fill(feed, layout);
    ThreadPool pool(1);
    ASSERT_TRUE(sink.RunBarrier(Ctx(pool, parts)).ok());
    results.push_back(outputs.lines("out"));
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], ExpectedInTagOrder());
}

TEST(SinkNodeTest, LinesAccumulateOverBatchesWithoutStaleBytes) {
  Feed<std::string> feed;
  StringSink sink("out", &feed, Encode{});
  MemoryOutputs outputs;
  auto writer = outputs.Open("out");
  ASSERT_TRUE(writer.ok());
  sink.set_writer(writer->get());
  ASSERT_TRUE(feed.Open(2).ok());
  ASSERT_TRUE(sink.Open(2).ok());
  ThreadPool pool(2);

  feed.Push(1, "first-batch-a", 1, 0);
  feed.Push(0, "first-batch-b", 1, 1);
  ASSERT_TRUE(sink.RunBarrier(Ctx(pool, 2)).ok());
  feed.ClearOutput();
  feed.Push(0, "x", 2, 0);
  feed.Push(1, "", 2, 1);  // empty encoding: an empty line
  feed.Push(1, "yz", 2, 2);
  ASSERT_TRUE(sink.RunBarrier(Ctx(pool, 2)).ok());
  feed.ClearOutput();
  ASSERT_TRUE(sink.RunBarrier(Ctx(pool, 2)).ok());  // empty batch: nothing

  EXPECT_EQ(outputs.lines("out"),
            (std::vector<std::string>{"first-batch-a", "first-batch-b", "x", "", "yz"}));
  EXPECT_EQ(sink.written(), 5u);
}

// Counts its calls in a member and encodes "<value>#<count>".
struct CountingEncoder {
  int64_t calls = 0;
  void operator()(const std::string& v, std::string& out) {
    ++calls;
    out.append(v + "#" + std::to_string(calls));
  }
};

TEST(SinkNodeTest, EachTaskEncodesWithItsOwnCopyOfTheEncoder) {
  constexpr int kParts = 3;
  Feed<std::string> feed;
  SinkNode<std::string, CountingEncoder> sink("out", &feed, CountingEncoder{});
  MemoryOutputs outputs;
  auto writer = outputs.Open("out");
  ASSERT_TRUE(writer.ok());
  sink.set_writer(writer->get());
  ASSERT_TRUE(feed.Open(kParts).ok());
  ASSERT_TRUE(sink.Open(kParts).ok());
  // Partition p gets records p, p+3, p+6, ... (4, 4, 4 records; tags 0..11).
  for (uint32_t i = 0; i < 12; ++i) feed.Push(static_cast<int>(i % kParts), "r" + std::to_string(i), 0, i);

  ThreadPool pool(1);
  ASSERT_TRUE(sink.RunBarrier(Ctx(pool, kParts)).ok());
  std::vector<std::string> expected;
  for (uint32_t i = 0; i < 12; ++i) {
    expected.push_back("r" + std::to_string(i) + "#" + std::to_string(i / kParts + 1));
  }
  EXPECT_EQ(outputs.lines("out"), expected);
}

TEST(SinkNodeTest, ConcurrentTasksWithStatefulEncodersAreIndependent) {
  constexpr int kParts = 8;
  constexpr uint32_t kN = 8000;
  Feed<std::string> feed;
  SinkNode<std::string, CountingEncoder> sink("out", &feed, CountingEncoder{});
  MemoryOutputs outputs;
  auto writer = outputs.Open("out");
  ASSERT_TRUE(writer.ok());
  sink.set_writer(writer->get());
  ASSERT_TRUE(feed.Open(kParts).ok());
  ASSERT_TRUE(sink.Open(kParts).ok());
  for (uint32_t i = 0; i < kN; ++i) feed.Push(static_cast<int>(i % kParts), "r", 0, i);
  ThreadPool pool(4);
  ASSERT_TRUE(sink.RunBarrier(Ctx(pool, kParts)).ok());
  const auto& lines = outputs.lines("out");
  ASSERT_EQ(lines.size(), kN);
  for (uint32_t i = 0; i < kN; ++i) {
    ASSERT_EQ(lines[i], "r#" + std::to_string(i / kParts + 1)) << "line " << i;
  }
}

// Accepts `ok_writes` lines, then fails every write.
class FailingWriter final : public OutputWriter {
 public:
  explicit FailingWriter(int ok_writes) : ok_writes_(ok_writes) {}
  absl::Status Write(absl::string_view line) override {
    ++calls;
    if (ok_writes_-- > 0) {
      lines.emplace_back(line);
      return absl::OkStatus();
    }
    return absl::DataLossError("disk full");
  }
  absl::StatusOr<uint64_t> Sync() override { return uint64_t{0}; }
  absl::Status Close() override { return absl::OkStatus(); }

  int calls = 0;
  std::vector<std::string> lines;

 private:
  int ok_writes_;
};

TEST(SinkNodeTest, WriterErrorIsReturnedAndStopsWriting) {
  Feed<std::string> feed;
  StringSink sink("out", &feed, Encode{});
  FailingWriter writer(2);
  sink.set_writer(&writer);
  ASSERT_TRUE(feed.Open(2).ok());
  ASSERT_TRUE(sink.Open(2).ok());
  for (uint32_t i = 0; i < 6; ++i) feed.Push(static_cast<int>(i % 2), "l" + std::to_string(i), 0, i);
  ThreadPool pool(1);
  const absl::Status s = sink.RunBarrier(Ctx(pool, 2));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_EQ(writer.lines, (std::vector<std::string>{"l0", "l1"}));
  EXPECT_EQ(writer.calls, 3) << "the sink kept writing after an error";
}

}  // namespace
}  // namespace eddy
