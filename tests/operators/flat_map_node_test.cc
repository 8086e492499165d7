// FlatMapNode: 0..n outputs per input, in order, each with the input's event
// time and tag; every task calls its own copy of the function.
#include "operators/flat_map_node.h"

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "engine/record.h"
#include "engine/thread_pool.h"
#include "gtest/gtest.h"
#include "tests/testing/feed.h"

namespace eddy {
namespace {

using testing::Feed;

using Row = std::tuple<std::string, EventTime, uint32_t, uint32_t, EventTime>;

std::vector<Row> Rows(const std::vector<Record<std::string>>& part) {
  std::vector<Row> rows;
  for (const auto& r : part) {
    rows.emplace_back(r.value, r.ts, r.tag.seq, r.tag.key_group, r.tag.timer_time);
  }
  return rows;
}

// Emits n copies "n.i" of an input n (nothing for 0), and checks that the
// emitter reports the input's timestamp.
struct Repeat {
  void operator()(const int64_t& n, Emitter<std::string>& out) const {
    for (int64_t i = 0; i < n; ++i) {
      out.Emit(std::to_string(n) + "." + std::to_string(i) + "@" +
               std::to_string(out.timestamp()));
    }
  }
};
using RepeatNode = FlatMapNode<int64_t, std::string, Repeat>;

BatchContext Ctx(ThreadPool& pool, int parts) {
  BatchContext ctx;
  ctx.partitions = parts;
  ctx.pool = &pool;
  return ctx;
}

TEST(FlatMapNodeTest, EmitsZeroToNPerInputInOrderWithInputTimeAndTag) {
  Feed<int64_t> feed;
  RepeatNode fm("flat_map", &feed, Repeat{});
  ASSERT_TRUE(feed.Open(2).ok());
  ASSERT_TRUE(fm.Open(2).ok());
  feed.output().parts[0].push_back(Record<int64_t>{2, 100, Tag{0, 0, 0}});
  feed.output().parts[0].push_back(Record<int64_t>{0, 200, Tag{2, 0, 0}});
  feed.output().parts[0].push_back(Record<int64_t>{3, -5, Tag{Tag::kTimerSeq, 4, 60}});
  feed.output().parts[1].push_back(Record<int64_t>{1, 7, Tag{1, 0, 0}});
  feed.output().parts[1].push_back(Record<int64_t>{0, 8, Tag{3, 0, 0}});

  ThreadPool pool(1);
  const BatchContext ctx = Ctx(pool, 2);
  fm.RunPartition(0, ctx);
  fm.RunPartition(1, ctx);

  EXPECT_EQ(Rows(fm.output().parts[0]), (std::vector<Row>{
                                            {"2.0@100", 100, 0u, 0u, 0},
                                            {"2.1@100", 100, 0u, 0u, 0},
                                            {"3.0@-5", -5, Tag::kTimerSeq, 4u, 60},
                                            {"3.1@-5", -5, Tag::kTimerSeq, 4u, 60},
                                            {"3.2@-5", -5, Tag::kTimerSeq, 4u, 60},
                                        }));
  EXPECT_EQ(Rows(fm.output().parts[1]), (std::vector<Row>{{"1.0@7", 7, 1u, 0u, 0}}));
  EXPECT_EQ(fm.PartitionOutputSize(0), 5u);
  EXPECT_EQ(fm.PartitionOutputSize(1), 1u);
}

TEST(FlatMapNodeTest, InputWithNoOutputsLeavesThePartitionEmpty) {
  Feed<int64_t> feed;
  RepeatNode fm("flat_map", &feed, Repeat{});
  ASSERT_TRUE(feed.Open(1).ok());
  ASSERT_TRUE(fm.Open(1).ok());
  feed.Push(0, 0, 1, 0);
  feed.Push(0, 0, 2, 1);
  ThreadPool pool(1);
  fm.RunPartition(0, Ctx(pool, 1));
  EXPECT_TRUE(fm.output().parts[0].empty());
}

// Counts its calls in a member and emits "<count>": with one copy per task,
// every partition's outputs count 1, 2, 3, ... on their own.
struct CountCalls {
  int64_t calls = 0;
  void operator()(const int64_t&, Emitter<std::string>& out) {
    ++calls;
    out.Emit(std::to_string(calls));
  }
};

TEST(FlatMapNodeTest, EachTaskUsesItsOwnCopyOfTheFunction) {
  constexpr int kParts = 4;
  const int sizes[kParts] = {3, 0, 5, 2};
  Feed<int64_t> feed;
  CountCalls prototype;
  prototype.calls = 0;
  FlatMapNode<int64_t, std::string, CountCalls> fm("flat_map", &feed, prototype);
  ASSERT_TRUE(feed.Open(kParts).ok());
  ASSERT_TRUE(fm.Open(kParts).ok());
  uint32_t seq = 0;
  int total = 0;
  for (int p = 0; p < kParts; ++p) {
    for (int i = 0; i < sizes[p]; ++i) feed.Push(p, i, i, seq++);
    total += sizes[p];
  }

  ThreadPool pool(1);  // partitions run one after another on one thread
  const BatchContext ctx = Ctx(pool, kParts);
  for (int p = 0; p < kParts; ++p) fm.RunPartition(p, ctx);

  int64_t sum_of_task_counts = 0;
  for (int p = 0; p < kParts; ++p) {
    const auto& out = fm.output().parts[p];
    ASSERT_EQ(out.size(), static_cast<size_t>(sizes[p]));
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i].value, std::to_string(i + 1)) << "partition " << p << " record " << i;
    }
    if (!out.empty()) sum_of_task_counts += std::stoll(out.back().value);
  }
  EXPECT_EQ(sum_of_task_counts, total);
}

TEST(FlatMapNodeTest, PerTaskCopiesKeepCountingAcrossBatches) {
  // A task's copy lives for the run: its member state carries over batches.
  Feed<int64_t> feed;
  FlatMapNode<int64_t, std::string, CountCalls> fm("flat_map", &feed, CountCalls{});
  ASSERT_TRUE(feed.Open(2).ok());
  ASSERT_TRUE(fm.Open(2).ok());
  ThreadPool pool(1);
  const BatchContext ctx = Ctx(pool, 2);
  for (int batch = 0; batch < 2; ++batch) {
    feed.ClearOutput();
    fm.ClearOutput();
    feed.Push(0, 1, 1, 0);
    feed.Push(0, 1, 1, 1);
    feed.Push(1, 1, 1, 2);
    fm.RunPartition(0, ctx);
    fm.RunPartition(1, ctx);
    ASSERT_EQ(fm.output().parts[0].size(), 2u);
    ASSERT_EQ(fm.output().parts[1].size(), 1u);
    EXPECT_EQ(fm.output().parts[0][1].value, std::to_string(2 * batch + 2));
    EXPECT_EQ(fm.output().parts[1][0].value, std::to_string(batch + 1));
  }
}

TEST(FlatMapNodeTest, ConcurrentTasksWithStatefulFunctionsAreIndependent) {
  constexpr int kParts = 8;
  constexpr int kPerPart = 2000;
  Feed<int64_t> feed;
  FlatMapNode<int64_t, std::string, CountCalls> fm("flat_map", &feed, CountCalls{});
  ASSERT_TRUE(feed.Open(kParts).ok());
  ASSERT_TRUE(fm.Open(kParts).ok());
  uint32_t seq = 0;
  for (int i = 0; i < kPerPart; ++i) {
    for (int p = 0; p < kParts; ++p) feed.Push(p, i, i, seq++);
  }
  ThreadPool pool(4);
  const BatchContext ctx = Ctx(pool, kParts);
  pool.ParallelFor(kParts, [&](int p) { fm.RunPartition(p, ctx); });
  for (int p = 0; p < kParts; ++p) {
    const auto& out = fm.output().parts[p];
    ASSERT_EQ(out.size(), static_cast<size_t>(kPerPart));
    EXPECT_EQ(out.back().value, std::to_string(kPerPart)) << "partition " << p;
  }
}

}  // namespace
}  // namespace eddy
