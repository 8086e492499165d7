// UnionNode: input 0's records in tag order, then input 1's, and so on,
// re-tagged 0..n-1 in that order and split into contiguous chunks (one per
// task); an upstream read by more than one operator is copied, not moved.
#include "operators/union_node.h"

#include <algorithm>
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

// Heap-allocated (a move leaves the source empty).
std::string Long(const std::string& s) { return s + std::string(40, '~'); }

BatchContext Ctx(ThreadPool& pool, int parts) {
  BatchContext ctx;
  ctx.partitions = parts;
  ctx.pool = &pool;
  return ctx;
}

using Row = std::tuple<std::string, EventTime, uint32_t>;  // value, ts, new seq

// The output concatenated in partition order, checking along the way that
// tags are {seq, 0, 0} and that partitions hold contiguous, increasing seqs
// of at most ceil(n / parts) records each.
std::vector<Row> Concat(UnionNode<std::string>& u) {
  std::vector<Row> rows;
  const size_t parts = u.output().parts.size();
  const size_t n = u.output().TotalSize();
  const size_t max_chunk = (n + parts - 1) / parts;
  for (size_t p = 0; p < parts; ++p) {
    const auto& part = u.output().parts[p];
    EXPECT_LE(part.size(), max_chunk) << "partition " << p << " holds more than its share";
    for (const auto& r : part) {
      EXPECT_EQ(r.tag.seq, rows.size()) << "partition " << p << ": not contiguous";
      EXPECT_EQ(r.tag.key_group, 0u);
      EXPECT_EQ(r.tag.timer_time, 0);
      rows.emplace_back(r.value, r.ts, r.tag.seq);
    }
  }
  return rows;
}

TEST(UnionNodeTest, FirstInputInTagOrderThenSecondRetaggedInContiguousChunks) {
  Feed<std::string> a, b;
  UnionNode<std::string> u("union", {&a, &b});
  constexpr int kParts = 3;
  for (Node* n : std::vector<Node*>{&a, &b, &u}) ASSERT_TRUE(n->Open(kParts).ok());
  // a: tags interleaved over partitions, plus timer outputs (after records,
  // by timer time then key group).
  a.output().parts[0].push_back(Record<std::string>{Long("a1"), 11, Tag{1, 0, 0}});
  a.output().parts[0].push_back(Record<std::string>{Long("a4"), 14, Tag{4, 0, 0}});
  a.output().parts[0].push_back(Record<std::string>{Long("a7"), 17, Tag{Tag::kTimerSeq, 9, 50}});
  a.output().parts[1].push_back(Record<std::string>{Long("a0"), 10, Tag{0, 0, 0}});
  a.output().parts[1].push_back(Record<std::string>{Long("a6"), 16, Tag{Tag::kTimerSeq, 2, 50}});
  a.output().parts[2].push_back(Record<std::string>{Long("a2"), 12, Tag{2, 0, 0}});
  a.output().parts[2].push_back(Record<std::string>{Long("a3"), 13, Tag{3, 0, 0}});
  a.output().parts[2].push_back(Record<std::string>{Long("a5"), 15, Tag{5, 0, 0}});
  // b: its own tag space, starting at 0 again.
  b.output().parts[2].push_back(Record<std::string>{Long("b0"), 20, Tag{0, 0, 0}});
  b.output().parts[0].push_back(Record<std::string>{Long("b1"), 21, Tag{1, 0, 0}});
  b.output().parts[0].push_back(Record<std::string>{Long("b2"), 22, Tag{2, 0, 0}});

  ThreadPool pool(1);
  ASSERT_TRUE(u.RunBarrier(Ctx(pool, kParts)).ok());

  const std::vector<Row> expected = {
      {Long("a0"), 10, 0u}, {Long("a1"), 11, 1u}, {Long("a2"), 12, 2u}, {Long("a3"), 13, 3u},
      {Long("a4"), 14, 4u}, {Long("a5"), 15, 5u}, {Long("a6"), 16, 6u}, {Long("a7"), 17, 7u},
      {Long("b0"), 20, 8u}, {Long("b1"), 21, 9u}, {Long("b2"), 22, 10u},
  };
  EXPECT_EQ(Concat(u), expected);
  // 11 records over 3 tasks: chunks of 4, 4, 3.
  EXPECT_EQ(u.PartitionOutputSize(0), 4u);
  EXPECT_EQ(u.PartitionOutputSize(1), 4u);
  EXPECT_EQ(u.PartitionOutputSize(2), 3u);
}

TEST(UnionNodeTest, SameUpstreamTwiceIsCopiedNotMoved) {
  Feed<std::string> a;
  UnionNode<std::string> u("union", {&a, &a});
  ASSERT_FALSE(a.sole_consumer());
  constexpr int kParts = 2;
  for (Node* n : std::vector<Node*>{&a, &u}) ASSERT_TRUE(n->Open(kParts).ok());
  a.Push(0, Long("x"), 1, 0);
  a.Push(1, Long("y"), 2, 1);
  a.Push(0, Long("z"), 3, 2);

  ThreadPool pool(1);
  ASSERT_TRUE(u.RunBarrier(Ctx(pool, kParts)).ok());

  const std::vector<Row> expected = {
      {Long("x"), 1, 0u}, {Long("y"), 2, 1u}, {Long("z"), 3, 2u},
      {Long("x"), 1, 3u}, {Long("y"), 2, 4u}, {Long("z"), 3, 5u},
  };
  EXPECT_EQ(Concat(u), expected);
  // The upstream still holds its records.
  ASSERT_EQ(a.output().parts[0].size(), 2u);
  EXPECT_EQ(a.output().parts[0][0].value, Long("x"));
  EXPECT_EQ(a.output().parts[0][1].value, Long("z"));
  ASSERT_EQ(a.output().parts[1].size(), 1u);
  EXPECT_EQ(a.output().parts[1][0].value, Long("y"));
}

TEST(UnionNodeTest, UpstreamAlsoReadByAnotherOperatorIsLeftIntact) {
  Feed<std::string> a, b;
  UnionNode<std::string> u("union", {&a, &b});
  UnionNode<std::string> other("other", {&a});
  ASSERT_FALSE(a.sole_consumer());
  ASSERT_TRUE(b.sole_consumer());
  for (Node* n : std::vector<Node*>{&a, &b, &u, &other}) ASSERT_TRUE(n->Open(1).ok());
  a.Push(0, Long("a0"), 1, 0);
  b.Push(0, Long("b0"), 2, 0);
  ThreadPool pool(1);
  ASSERT_TRUE(u.RunBarrier(Ctx(pool, 1)).ok());
  ASSERT_TRUE(other.RunBarrier(Ctx(pool, 1)).ok());
  EXPECT_EQ(Concat(u), (std::vector<Row>{{Long("a0"), 1, 0u}, {Long("b0"), 2, 1u}}));
  EXPECT_EQ(Concat(other), (std::vector<Row>{{Long("a0"), 1, 0u}}));
}

TEST(UnionNodeTest, OrderDoesNotDependOnThePartitionLayoutOfTheInputs) {
  // The same records of two streams, laid out over 1 and over 4 partitions,
  // give the same sequence.
  const auto run = [](int parts) {
    Feed<std::string> a, b;
    UnionNode<std::string> u("union", {&a, &b});
    for (Node* n : std::vector<Node*>{&a, &b, &u}) EXPECT_TRUE(n->Open(parts).ok());
    for (uint32_t i = 0; i < 50; ++i) {
      a.Push(static_cast<int>((i * 7) % parts), Long("a" + std::to_string(i)), i, i);
      b.Push(static_cast<int>((i * 3) % parts), Long("b" + std::to_string(i)), 100 + i, i);
    }
    ThreadPool pool(1);
    EXPECT_TRUE(u.RunBarrier(Ctx(pool, parts)).ok());
    std::vector<std::pair<std::string, uint32_t>> seq;
    for (const auto& part : u.output().parts) {
      for (const auto& r : part) seq.emplace_back(r.value, r.tag.seq);
    }
    return seq;
  };
  const auto one = run(1);
  const auto four = run(4);
  ASSERT_EQ(one.size(), 100u);
  EXPECT_EQ(one, four);
  EXPECT_EQ(one.front().first, Long("a0"));
  EXPECT_EQ(one[49].first, Long("a49"));
  EXPECT_EQ(one[50].first, Long("b0"));
}

TEST(UnionNodeTest, FewerRecordsThanTasksAndEmptyInputs) {
  Feed<std::string> a, b, c;
  UnionNode<std::string> u("union", {&a, &b, &c});
  constexpr int kParts = 4;
  for (Node* n : std::vector<Node*>{&a, &b, &c, &u}) ASSERT_TRUE(n->Open(kParts).ok());
  ThreadPool pool(1);
  ASSERT_TRUE(u.RunBarrier(Ctx(pool, kParts)).ok());
  EXPECT_EQ(u.output().TotalSize(), 0u);

  u.ClearOutput();
  c.Push(3, Long("c0"), 5, 0);
  a.Push(2, Long("a0"), 6, 7);
  ASSERT_TRUE(u.RunBarrier(Ctx(pool, kParts)).ok());
  EXPECT_EQ(Concat(u), (std::vector<Row>{{Long("a0"), 6, 0u}, {Long("c0"), 5, 1u}}));
}

}  // namespace
}  // namespace eddy
