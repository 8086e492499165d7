// MapNode: one output per input, carrying the input's event time and tag, in
// input order, per partition.
#include "operators/map_node.h"

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

// (value, ts, seq, key_group, timer_time) of each record of a partition.
template <typename T>
using Row = std::tuple<T, EventTime, uint32_t, uint32_t, EventTime>;

template <typename T>
std::vector<Row<T>> Rows(const std::vector<Record<T>>& part) {
  std::vector<Row<T>> rows;
  for (const Record<T>& r : part) {
    rows.emplace_back(r.value, r.ts, r.tag.seq, r.tag.key_group, r.tag.timer_time);
  }
  return rows;
}

auto Describe = [](const int64_t& v) { return "v" + std::to_string(v * 10); };
using DescribeMap = MapNode<int64_t, std::string, decltype(Describe)>;

TEST(MapNodeTest, KeepsEventTimeAndTagOfEachInputInOrder) {
  Feed<int64_t> feed;
  DescribeMap map("map", &feed, Describe);
  ASSERT_TRUE(feed.Open(2).ok());
  ASSERT_TRUE(map.Open(2).ok());
  // Tags as a Process timer output would carry them, to check all fields.
  feed.output().parts[0].push_back(Record<int64_t>{1, 500, Tag{0, 0, 0}});
  feed.output().parts[0].push_back(Record<int64_t>{2, -7, Tag{3, 0, 0}});
  feed.output().parts[0].push_back(Record<int64_t>{3, 100, Tag{Tag::kTimerSeq, 17, 900}});
  feed.output().parts[1].push_back(Record<int64_t>{4, 42, Tag{1, 0, 0}});
  feed.output().parts[1].push_back(Record<int64_t>{5, 41, Tag{2, 0, 0}});

  ThreadPool pool(1);
  BatchContext ctx;
  ctx.partitions = 2;
  ctx.pool = &pool;
  map.RunPartition(0, ctx);
  map.RunPartition(1, ctx);

  EXPECT_EQ(Rows(map.output().parts[0]),
            (std::vector<Row<std::string>>{{"v10", 500, 0u, 0u, 0},
                                           {"v20", -7, 3u, 0u, 0},
                                           {"v30", 100, Tag::kTimerSeq, 17u, 900}}));
  EXPECT_EQ(Rows(map.output().parts[1]),
            (std::vector<Row<std::string>>{{"v40", 42, 1u, 0u, 0}, {"v50", 41, 2u, 0u, 0}}));
  EXPECT_EQ(map.PartitionOutputSize(0), 3u);
  EXPECT_EQ(map.PartitionOutputSize(1), 2u);
}

TEST(MapNodeTest, RunPartitionTouchesOnlyItsPartition) {
  Feed<int64_t> feed;
  DescribeMap map("map", &feed, Describe);
  ASSERT_TRUE(feed.Open(3).ok());
  ASSERT_TRUE(map.Open(3).ok());
  for (int p = 0; p < 3; ++p) feed.Push(p, p, 10 * p, static_cast<uint32_t>(p));

  ThreadPool pool(1);
  BatchContext ctx;
  ctx.partitions = 3;
  ctx.pool = &pool;
  map.RunPartition(1, ctx);

  EXPECT_TRUE(map.output().parts[0].empty());
  EXPECT_EQ(Rows(map.output().parts[1]), (std::vector<Row<std::string>>{{"v10", 10, 1u, 0u, 0}}));
  EXPECT_TRUE(map.output().parts[2].empty());
}

TEST(MapNodeTest, LeavesTheInputUntouchedForOtherConsumers) {
  Feed<std::string> feed;
  auto upper = [](const std::string& s) { return s + "!"; };
  MapNode<std::string, std::string, decltype(upper)> map("map", &feed, upper);
  ASSERT_TRUE(feed.Open(1).ok());
  ASSERT_TRUE(map.Open(1).ok());
  feed.Push(0, "a long string that does not fit the small buffer", 1, 0);
  feed.Push(0, "b", 2, 1);

  ThreadPool pool(1);
  BatchContext ctx;
  ctx.pool = &pool;
  map.RunPartition(0, ctx);

  ASSERT_EQ(feed.output().parts[0].size(), 2u);
  EXPECT_EQ(feed.output().parts[0][0].value, "a long string that does not fit the small buffer");
  EXPECT_EQ(feed.output().parts[0][1].value, "b");
  ASSERT_EQ(map.output().parts[0].size(), 2u);
  EXPECT_EQ(map.output().parts[0][0].value, "a long string that does not fit the small buffer!");
  EXPECT_EQ(map.output().parts[0][1].value, "b!");
}

TEST(MapNodeTest, ConcurrentPartitionsGiveTheSameOutputAsSequential) {
  constexpr int kParts = 8;
  const auto fill = [](Feed<int64_t>& feed) {
    uint32_t seq = 0;
    for (int i = 0; i < 4000; ++i) feed.Push(i % kParts, i, 1000 + i, seq++);
  };
  Feed<int64_t> feed_seq, feed_par;
  DescribeMap map_seq("map", &feed_seq, Describe), map_par("map", &feed_par, Describe);
  for (Node* n : std::vector<Node*>{&feed_seq, &feed_par, &map_seq, &map_par}) {
    ASSERT_TRUE(n->Open(kParts).ok());
  }
  fill(feed_seq);
  fill(feed_par);

  ThreadPool one(1), four(4);
  BatchContext ctx;
  ctx.partitions = kParts;
  ctx.pool = &one;
  for (int p = 0; p < kParts; ++p) map_seq.RunPartition(p, ctx);
  ctx.pool = &four;
  four.ParallelFor(kParts, [&](int p) { map_par.RunPartition(p, ctx); });

  for (int p = 0; p < kParts; ++p) {
    EXPECT_EQ(Rows(map_par.output().parts[p]), Rows(map_seq.output().parts[p])) << "partition " << p;
    EXPECT_EQ(map_par.output().parts[p].size(), 500u);
  }
}

TEST(MapNodeTest, ClearOutputEmptiesEveryPartitionForTheNextBatch) {
  Feed<int64_t> feed;
  DescribeMap map("map", &feed, Describe);
  ASSERT_TRUE(feed.Open(2).ok());
  ASSERT_TRUE(map.Open(2).ok());
  feed.Push(0, 1, 1, 0);
  feed.Push(1, 2, 2, 1);
  ThreadPool pool(1);
  BatchContext ctx;
  ctx.partitions = 2;
  ctx.pool = &pool;
  map.RunPartition(0, ctx);
  map.RunPartition(1, ctx);
  ASSERT_EQ(map.output().TotalSize(), 2u);

  map.ClearOutput();
  feed.ClearOutput();
  feed.Push(1, 3, 3, 0);
  map.RunPartition(0, ctx);
  map.RunPartition(1, ctx);
  EXPECT_TRUE(map.output().parts[0].empty());
  EXPECT_EQ(Rows(map.output().parts[1]), (std::vector<Row<std::string>>{{"v30", 3, 0u, 0u, 0}}));
}

}  // namespace
}  // namespace eddy
