// KeyByNode: the exchange. Records go to the task owning their key group,
// merged across input partitions in tag order and re-tagged 0..n-1 in that
// order; keys and key groups travel alongside.
#include "operators/key_by_node.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/key.h"
#include "engine/record.h"
#include "engine/thread_pool.h"
#include "gtest/gtest.h"
#include "operators/map_node.h"
#include "tests/testing/feed.h"

namespace eddy {
namespace {

using testing::Feed;

struct Ev {
  std::string user;
  int64_t id = 0;  // unique per input record
};

// Heap-allocated user names (a move leaves the source empty).
std::string User(int i) { return "user-with-a-long-name-" + std::to_string(i); }

auto UserOf = [](const Ev& e) { return e.user; };
using ByUser = KeyByNode<std::string, Ev, decltype(UserOf)>;

struct Input {
  Record<Ev> record;
  int partition;
};

// 300 records over `parts` input partitions, tags interleaved across the
// partitions (and not contiguous), plus a few timer-tagged records as a
// Process upstream would emit them. Returned in input-partition layout.
std::vector<Input> MakeInput(int parts) {
  std::vector<Input> in;
  uint32_t state = 12345;
  for (int i = 0; i < 300; ++i) {
    state = state * 1103515245u + 12345u;
    const int p = static_cast<int>((state >> 16) % static_cast<uint32_t>(parts));
    in.push_back(Input{Record<Ev>{Ev{User(static_cast<int>((state >> 8) % 37)), i}, 1000 + (i * 7) % 50,
                                  Tag{static_cast<uint32_t>(3 * i + 1), 0, 0}},
                       p});
  }
  // Timer outputs: ordered after every record, by (timer time, key group).
  in.push_back(Input{Record<Ev>{Ev{User(1), 300}, 90, Tag{Tag::kTimerSeq, 5, 100}}, 1 % parts});
  in.push_back(Input{Record<Ev>{Ev{User(2), 301}, 80, Tag{Tag::kTimerSeq, 3, 100}}, 2 % parts});
  in.push_back(Input{Record<Ev>{Ev{User(3), 302}, 70, Tag{Tag::kTimerSeq, 1, 200}}, 2 % parts});
  // Each partition of a stream is sorted by tag (engine/tag_merge.h).
  std::stable_sort(in.begin(), in.end(),
                   [](const Input& a, const Input& b) { return a.record.tag < b.record.tag; });
  return in;
}

void FillFeed(Feed<Ev>& feed, const std::vector<Input>& in) {
  for (const Input& x : in) feed.output().parts[x.partition].push_back(x.record);
}

// The records in merged tag order (the order KeyBy must number them in).
std::vector<Record<Ev>> MergedOrder(std::vector<Input> in) {
  std::stable_sort(in.begin(), in.end(),
                   [](const Input& a, const Input& b) { return a.record.tag < b.record.tag; });
  std::vector<Record<Ev>> out;
  for (const Input& x : in) out.push_back(x.record);
  return out;
}

BatchContext Ctx(ThreadPool& pool, int parts) {
  BatchContext ctx;
  ctx.partitions = parts;
  ctx.pool = &pool;
  return ctx;
}

// A KeyBy run over `in` with `parts` partitions (input and output alike, as
// the executor opens every node with the same count).
struct KeyByRun {
  Feed<Ev> feed;
  ByUser key_by{"key_by", &feed, UserOf};
  explicit KeyByRun(int parts, const std::vector<Input>& in, int threads = 1) : pool(threads) {
    EXPECT_TRUE(feed.Open(parts).ok());
    EXPECT_TRUE(key_by.Open(parts).ok());
    FillFeed(feed, in);
    status = key_by.RunBarrier(Ctx(pool, parts));
  }
  ThreadPool pool;
  absl::Status status;
};

TEST(KeyByNodeTest, EveryRecordLandsInThePartitionOwningItsKeyGroup) {
  constexpr int kParts = 4;
  const std::vector<Input> in = MakeInput(kParts);
  KeyByRun run(kParts, in);
  ASSERT_TRUE(run.status.ok()) << run.status;
  size_t total = 0;
  for (int q = 0; q < kParts; ++q) {
    const KeyedPartition<std::string, Ev>& part = run.key_by.output()[q];
    EXPECT_FALSE(part.records.empty()) << "partition " << q << " got no key (test input too small)";
    for (const Record<Ev>& r : part.records) {
      EXPECT_EQ(PartitionOfKeyGroup(KeyGroupOf(r.value.user), kParts), q) << r.value.user;
    }
    total += part.records.size();
    EXPECT_EQ(run.key_by.PartitionOutputSize(q), part.records.size());
  }
  EXPECT_EQ(total, in.size());
}

using Placed = std::vector<std::tuple<int64_t, uint32_t, EventTime>>;  // id, new seq, ts

// What each output partition must hold: the merged order numbered 0..n-1,
// then routed by key group.
std::vector<Placed> ExpectedPlacement(const std::vector<Input>& in, int parts) {
  const std::vector<Record<Ev>> merged = MergedOrder(in);
  std::vector<Placed> expected(parts);
  for (size_t i = 0; i < merged.size(); ++i) {
    const int q = PartitionOfKeyGroup(KeyGroupOf(merged[i].value.user), parts);
    expected[q].emplace_back(merged[i].value.id, static_cast<uint32_t>(i), merged[i].ts);
  }
  return expected;
}

Placed Placement(ByUser& key_by, int q) {
  Placed got;
  for (const Record<Ev>& r : key_by.output()[q].records) {
    got.emplace_back(r.value.id, r.tag.seq, r.ts);
    EXPECT_EQ(r.tag.key_group, 0u);
    EXPECT_EQ(r.tag.timer_time, 0);
  }
  return got;
}

TEST(KeyByNodeTest, RecordsAreNumberedInMergedTagOrderAndKeepItWithinAPartition) {
  constexpr int kParts = 4;
  const std::vector<Input> in = MakeInput(kParts);
  KeyByRun run(kParts, in);
  ASSERT_TRUE(run.status.ok()) << run.status;

  const std::vector<Placed> expected = ExpectedPlacement(in, kParts);
  for (int q = 0; q < kParts; ++q) {
    EXPECT_EQ(Placement(run.key_by, q), expected[q]) << "partition " << q;
  }
}

TEST(KeyByNodeTest, NewTagsAreZeroToNMinusOneAndUnique) {
  constexpr int kParts = 4;
  const std::vector<Input> in = MakeInput(kParts);
  KeyByRun run(kParts, in);
  ASSERT_TRUE(run.status.ok()) << run.status;
  std::vector<uint32_t> seqs;
  for (const auto& part : run.key_by.output()) {
    for (const Record<Ev>& r : part.records) seqs.push_back(r.tag.seq);
  }
  std::sort(seqs.begin(), seqs.end());
  std::vector<uint32_t> expected(in.size());
  std::iota(expected.begin(), expected.end(), 0u);
  EXPECT_EQ(seqs, expected);
}

TEST(KeyByNodeTest, KeysAndKeyGroupsAlignWithRecords) {
  for (int parts : {1, 3, 4}) {
    const std::vector<Input> in = MakeInput(parts);
    KeyByRun run(parts, in);
    ASSERT_TRUE(run.status.ok()) << run.status;
    for (int q = 0; q < parts; ++q) {
      const auto& part = run.key_by.output()[q];
      ASSERT_EQ(part.keys.size(), part.records.size());
      ASSERT_EQ(part.key_groups.size(), part.records.size());
      for (size_t i = 0; i < part.records.size(); ++i) {
        EXPECT_EQ(part.keys[i], part.records[i].value.user) << "parts " << parts;
        EXPECT_EQ(part.key_groups[i], KeyGroupOf(part.keys[i])) << "parts " << parts;
        EXPECT_LT(part.key_groups[i], kKeyGroups);
      }
    }
  }
}

std::multiset<std::pair<std::string, int64_t>> KeyValues(ByUser& key_by) {
  std::multiset<std::pair<std::string, int64_t>> out;
  for (const auto& part : key_by.output()) {
    for (size_t i = 0; i < part.records.size(); ++i) {
      out.emplace(part.keys[i], part.records[i].value.id);
    }
  }
  return out;
}

TEST(KeyByNodeTest, OneAndFourPartitionsCarryTheSameKeyedRecords) {
  const std::vector<Input> in4 = MakeInput(4);
  std::vector<Input> in1 = in4;  // already in tag order
  for (Input& x : in1) x.partition = 0;
  KeyByRun one(1, in1);
  KeyByRun four(4, in4, /*threads=*/4);
  ASSERT_TRUE(one.status.ok()) << one.status;
  ASSERT_TRUE(four.status.ok()) << four.status;
  EXPECT_EQ(KeyValues(one.key_by), KeyValues(four.key_by));
  EXPECT_EQ(KeyValues(one.key_by).size(), in4.size());

  // And per key, the same order and the same new tags.
  std::map<std::string, std::vector<std::pair<int64_t, uint32_t>>> per_key_one, per_key_four;
  for (const auto& part : one.key_by.output()) {
    for (size_t i = 0; i < part.records.size(); ++i) {
      per_key_one[part.keys[i]].emplace_back(part.records[i].value.id, part.records[i].tag.seq);
    }
  }
  for (const auto& part : four.key_by.output()) {
    for (size_t i = 0; i < part.records.size(); ++i) {
      per_key_four[part.keys[i]].emplace_back(part.records[i].value.id, part.records[i].tag.seq);
    }
  }
  EXPECT_EQ(per_key_one, per_key_four);
}

TEST(KeyByNodeTest, SingleTaskRetagsFromZeroEvenIfInputTagsAreSparse) {
  Feed<Ev> feed;
  ByUser key_by("key_by", &feed, UserOf);
  ASSERT_TRUE(feed.Open(1).ok());
  ASSERT_TRUE(key_by.Open(1).ok());
  ThreadPool pool(1);
  for (int batch = 0; batch < 2; ++batch) {
    feed.ClearOutput();
    key_by.ClearOutput();
    feed.Push(0, Ev{User(1), 10}, 5, 7);
    feed.Push(0, Ev{User(2), 11}, 6, 9);
    feed.Push(0, Ev{User(1), 12}, 4, 40);
    ASSERT_TRUE(key_by.RunBarrier(Ctx(pool, 1)).ok());
    const auto& part = key_by.output()[0];
    ASSERT_EQ(part.records.size(), 3u) << "batch " << batch;
    const std::vector<int64_t> ids = {10, 11, 12};
    const std::vector<EventTime> ts = {5, 6, 4};
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(part.records[i].value.id, ids[i]);
      EXPECT_EQ(part.records[i].value.user, i == 1 ? User(2) : User(1));
      EXPECT_EQ(part.records[i].ts, ts[i]);
      EXPECT_EQ(part.records[i].tag, (Tag{static_cast<uint32_t>(i), 0, 0}));
      EXPECT_EQ(part.keys[i], part.records[i].value.user);
      EXPECT_EQ(part.key_groups[i], KeyGroupOf(part.keys[i]));
    }
  }
}

TEST(KeyByNodeTest, InputReadByAnotherOperatorIsCopiedNotMoved) {
  for (int parts : {1, 4}) {
    Feed<Ev> feed;
    ByUser key_by("key_by", &feed, UserOf);
    auto id_of = [](const Ev& e) { return e.id; };
    MapNode<Ev, int64_t, decltype(id_of)> other("other", &feed, id_of);
    ASSERT_FALSE(feed.sole_consumer());
    for (Node* n : std::vector<Node*>{&feed, &key_by, &other}) ASSERT_TRUE(n->Open(parts).ok());
    const std::vector<Input> in = MakeInput(parts);
    FillFeed(feed, in);
    ThreadPool pool(1);
    ASSERT_TRUE(key_by.RunBarrier(Ctx(pool, parts)).ok());

    size_t seen = 0;
    for (int p = 0; p < parts; ++p) {
      for (const Record<Ev>& r : feed.output().parts[p]) {
        EXPECT_EQ(r.value.user.rfind("user-with-a-long-name-", 0), 0u)
            << "parts " << parts << ": input record " << r.value.id << " was moved from";
        ++seen;
      }
    }
    EXPECT_EQ(seen, in.size());
    const std::vector<Placed> expected = ExpectedPlacement(in, parts);
    for (int q = 0; q < parts; ++q) {
      EXPECT_EQ(Placement(key_by, q), expected[q]) << "parts " << parts << " partition " << q;
      const auto& part = key_by.output()[q];
      for (size_t i = 0; i < part.records.size(); ++i) {
        EXPECT_EQ(part.keys[i], part.records[i].value.user);
        EXPECT_EQ(part.key_groups[i], KeyGroupOf(part.keys[i]));
      }
    }
  }
}

TEST(KeyByNodeTest, PairOfStringAndIntegerIsAKey) {
  using Key = std::pair<std::string, int64_t>;
  struct Click {
    std::string user;
    int64_t ad;
    int64_t id;
  };
  auto key_fn = [](const Click& c) { return Key(c.user, c.ad); };
  Feed<Click> feed;
  KeyByNode<Key, Click, decltype(key_fn)> key_by("key_by", &feed, key_fn);
  constexpr int kParts = 4;
  ASSERT_TRUE(feed.Open(kParts).ok());
  ASSERT_TRUE(key_by.Open(kParts).ok());
  uint32_t seq = 0;
  for (int i = 0; i < 200; ++i) {
    feed.Push(i % kParts, Click{User(i % 5), i % 7, i}, i, seq++);
  }
  ThreadPool pool(2);
  ASSERT_TRUE(key_by.RunBarrier(Ctx(pool, kParts)).ok());

  std::map<Key, std::vector<int64_t>> ids_per_key;
  size_t total = 0;
  for (int q = 0; q < kParts; ++q) {
    const auto& part = key_by.output()[q];
    ASSERT_EQ(part.keys.size(), part.records.size());
    for (size_t i = 0; i < part.records.size(); ++i) {
      const Key& k = part.keys[i];
      EXPECT_EQ(k, Key(part.records[i].value.user, part.records[i].value.ad));
      EXPECT_EQ(part.key_groups[i], KeyGroupOf(k));
      EXPECT_EQ(PartitionOfKeyGroup(part.key_groups[i], kParts), q);
      ids_per_key[k].push_back(part.records[i].value.id);
      ++total;
    }
  }
  EXPECT_EQ(total, 200u);
  // 35 distinct (user, ad) pairs, each keeping input order.
  EXPECT_EQ(ids_per_key.size(), 35u);
  for (const auto& [k, ids] : ids_per_key) {
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << k.first << "," << k.second;
  }
}

TEST(KeyByNodeTest, EmptyBatchProducesNothing) {
  for (int parts : {1, 4}) {
    Feed<Ev> feed;
    ByUser key_by("key_by", &feed, UserOf);
    ASSERT_TRUE(feed.Open(parts).ok());
    ASSERT_TRUE(key_by.Open(parts).ok());
    ThreadPool pool(1);
    ASSERT_TRUE(key_by.RunBarrier(Ctx(pool, parts)).ok());
    for (int q = 0; q < parts; ++q) {
      EXPECT_TRUE(key_by.output()[q].records.empty());
      EXPECT_TRUE(key_by.output()[q].keys.empty());
      EXPECT_TRUE(key_by.output()[q].key_groups.empty());
    }
  }
}

}  // namespace
}  // namespace eddy
