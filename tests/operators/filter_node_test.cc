// FilterNode: keeps matching records with their event time and tag, in order;
// takes the input over when it is the input's only reader, and copies
// (leaving the input intact) when another operator also reads it.
#include "operators/filter_node.h"

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "engine/record.h"
#include "engine/thread_pool.h"
#include "gtest/gtest.h"
#include "operators/map_node.h"
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

// Long enough to live on the heap, so a move leaves the source empty.
std::string Long(const std::string& s) { return s + std::string(40, '.'); }

auto KeepA = [](const std::string& s) { return !s.empty() && s[0] == 'a'; };
using KeepANode = FilterNode<std::string, decltype(KeepA)>;

// Partition 0: a1 b2 a3 ; partition 1: b4 a5 ; tags include a timer tag.
void Fill(Feed<std::string>& feed) {
  feed.output().parts[0].push_back(Record<std::string>{Long("a1"), 10, Tag{0, 0, 0}});
  feed.output().parts[0].push_back(Record<std::string>{Long("b2"), 20, Tag{2, 0, 0}});
  feed.output().parts[0].push_back(
      Record<std::string>{Long("a3"), 5, Tag{Tag::kTimerSeq, 9, 700}});
  feed.output().parts[1].push_back(Record<std::string>{Long("b4"), 40, Tag{1, 0, 0}});
  feed.output().parts[1].push_back(Record<std::string>{Long("a5"), 50, Tag{3, 0, 0}});
}

const std::vector<Row> kExpected0 = {{Long("a1"), 10, 0u, 0u, 0},
                                     {Long("a3"), 5, Tag::kTimerSeq, 9u, 700}};
const std::vector<Row> kExpected1 = {{Long("a5"), 50, 3u, 0u, 0}};

BatchContext Ctx(ThreadPool& pool, int parts) {
  BatchContext ctx;
  ctx.partitions = parts;
  ctx.pool = &pool;
  return ctx;
}

TEST(FilterNodeTest, KeepsMatchingRecordsWithEventTimeAndTagInOrder) {
  Feed<std::string> feed;
  KeepANode filter("filter", &feed, KeepA);
  ASSERT_TRUE(feed.Open(2).ok());
  ASSERT_TRUE(filter.Open(2).ok());
  Fill(feed);
  ThreadPool pool(1);
  const BatchContext ctx = Ctx(pool, 2);
  filter.RunPartition(0, ctx);
  filter.RunPartition(1, ctx);
  EXPECT_EQ(Rows(filter.output().parts[0]), kExpected0);
  EXPECT_EQ(Rows(filter.output().parts[1]), kExpected1);
  EXPECT_EQ(filter.PartitionOutputSize(0), 2u);
  EXPECT_EQ(filter.PartitionOutputSize(1), 1u);
}

TEST(FilterNodeTest, SoleConsumerTakesTheInputOver) {
  Feed<std::string> feed;
  KeepANode filter("filter", &feed, KeepA);
  ASSERT_TRUE(feed.sole_consumer());
  ASSERT_TRUE(feed.Open(2).ok());
  ASSERT_TRUE(filter.Open(2).ok());
  Fill(feed);
  const char* first_kept_bytes = feed.output().parts[0][0].value.data();
  ThreadPool pool(1);
  const BatchContext ctx = Ctx(pool, 2);
  filter.RunPartition(0, ctx);
  filter.RunPartition(1, ctx);

  EXPECT_EQ(Rows(filter.output().parts[0]), kExpected0);
  EXPECT_EQ(Rows(filter.output().parts[1]), kExpected1);
  // Taken over: the input partitions no longer hold the records, and the
  // kept strings were moved, not copied (same heap buffer).
  EXPECT_TRUE(feed.output().parts[0].empty());
  EXPECT_TRUE(feed.output().parts[1].empty());
  EXPECT_EQ(filter.output().parts[0][0].value.data(), first_kept_bytes);
}

TEST(FilterNodeTest, TwoConsumersBothSeeTheRecordsAndTheInputIsUnchanged) {
  Feed<std::string> feed;
  KeepANode filter("filter", &feed, KeepA);
  auto size_of = [](const std::string& s) { return static_cast<int64_t>(s.size()); };
  MapNode<std::string, int64_t, decltype(size_of)> other("other", &feed, size_of);
  ASSERT_FALSE(feed.sole_consumer());
  for (Node* n : std::vector<Node*>{&feed, &filter, &other}) ASSERT_TRUE(n->Open(2).ok());
  Fill(feed);
  const std::vector<Row> input0 = Rows(feed.output().parts[0]);
  const std::vector<Row> input1 = Rows(feed.output().parts[1]);

  ThreadPool pool(1);
  const BatchContext ctx = Ctx(pool, 2);
  // The filter runs first: the other consumer must still see every record.
  filter.RunPartition(0, ctx);
  filter.RunPartition(1, ctx);
  EXPECT_EQ(Rows(feed.output().parts[0]), input0);
  EXPECT_EQ(Rows(feed.output().parts[1]), input1);
  other.RunPartition(0, ctx);
  other.RunPartition(1, ctx);

  EXPECT_EQ(Rows(filter.output().parts[0]), kExpected0);
  EXPECT_EQ(Rows(filter.output().parts[1]), kExpected1);
  ASSERT_EQ(other.output().parts[0].size(), 3u);
  ASSERT_EQ(other.output().parts[1].size(), 2u);
  for (const auto& part : other.output().parts) {
    for (const auto& r : part) EXPECT_EQ(r.value, 42) << "a consumer saw a moved-from string";
  }
}

TEST(FilterNodeTest, SoleConsumerKeepsWorkingOverSeveralBatches) {
  // Taking the input over swaps buffers; the next batch must not see stale
  // records from either side.
  Feed<std::string> feed;
  KeepANode filter("filter", &feed, KeepA);
  ASSERT_TRUE(feed.Open(1).ok());
  ASSERT_TRUE(filter.Open(1).ok());
  ThreadPool pool(1);
  const BatchContext ctx = Ctx(pool, 1);
  for (int batch = 0; batch < 3; ++batch) {
    feed.ClearOutput();
    filter.ClearOutput();
    std::vector<Row> expected;
    for (uint32_t i = 0; i < 5; ++i) {
      const std::string v = Long((i % 2 == 0 ? "a" : "b") + std::to_string(batch * 10 + i));
      feed.Push(0, v, batch * 100 + i, i);
      if (i % 2 == 0) expected.emplace_back(v, batch * 100 + i, i, 0u, 0);
    }
    filter.RunPartition(0, ctx);
    EXPECT_EQ(Rows(filter.output().parts[0]), expected) << "batch " << batch;
  }
}

TEST(FilterNodeTest, KeepsNothingOrEverything) {
  Feed<std::string> feed;
  auto none = [](const std::string&) { return false; };
  auto all = [](const std::string&) { return true; };
  FilterNode<std::string, decltype(none)> drop("drop", &feed, none);
  FilterNode<std::string, decltype(all)> keep("keep", &feed, all);
  for (Node* n : std::vector<Node*>{&feed, &drop, &keep}) ASSERT_TRUE(n->Open(2).ok());
  Fill(feed);
  ThreadPool pool(1);
  const BatchContext ctx = Ctx(pool, 2);
  for (int p = 0; p < 2; ++p) {
    drop.RunPartition(p, ctx);
    keep.RunPartition(p, ctx);
  }
  EXPECT_EQ(drop.output().TotalSize(), 0u);
  EXPECT_EQ(Rows(keep.output().parts[0]), Rows(feed.output().parts[0]));
  EXPECT_EQ(Rows(keep.output().parts[1]), Rows(feed.output().parts[1]));
  EXPECT_EQ(keep.output().TotalSize(), 5u);
}

}  // namespace
}  // namespace eddy
