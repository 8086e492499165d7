// ProcessNode: per-key state, event-time timers that fire when the watermark
// reaches them in (time, key group, key) order, and the event times, tags and
// watermarks that user code sees.
#include "operators/process_node.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/key.h"
#include "engine/record.h"
#include "engine/tag_merge.h"
#include "engine/thread_pool.h"
#include "gtest/gtest.h"
#include "state/keyed_state.h"
#include "tests/testing/feed.h"

namespace eddy {
namespace {

using testing::KeyedFeed;

// A command for the scripted process function below.
struct Cmd {
  std::string op;  // "count", "reg", "del", "emit_at", "chain"
  int64_t arg = 0;
};

std::string Wm(EventTime wm) { return wm == kMinEventTime ? "min" : std::to_string(wm); }

// count:   increments the key's counter, emits "<key>=<count> wm=<watermark>"
// reg/del: registers / deletes a timer at arg for the key
// emit_at: emits "at" with event time arg
// chain:   the key's next timer registers another one at arg when it fires
// OnTimer emits "timer <key> t=<time> ts=<timestamp()> wm=<watermark()> n=<count>".
struct Script {
  using Out = std::string;
  ValueState<std::string, int64_t> count;
  ValueState<std::string, int64_t> chain;

  void Open(KeyedStateStore<std::string>& state) {
    count = state.Value<int64_t>("count");
    chain = state.Value<int64_t>("chain");
  }
  void ProcessElement(const Cmd& c, ProcessContext<std::string, std::string>& ctx) {
    if (c.op == "count") {
      const int64_t n = ++count.GetOrCreate();
      ctx.Emit(ctx.key() + "=" + std::to_string(n) + " wm=" + Wm(ctx.watermark()));
    } else if (c.op == "reg") {
      ctx.RegisterTimer(c.arg);
    } else if (c.op == "del") {
      ctx.DeleteTimer(c.arg);
    } else if (c.op == "emit_at") {
      ctx.EmitAt("at", c.arg);
    } else if (c.op == "chain") {
      chain.Set(c.arg);
    }
  }
  void OnTimer(EventTime time, ProcessContext<std::string, std::string>& ctx) {
    const int64_t* n = count.Get();
    ctx.Emit("timer " + ctx.key() + " t=" + std::to_string(time) +
             " ts=" + std::to_string(ctx.timestamp()) + " wm=" + Wm(ctx.watermark()) +
             " n=" + std::to_string(n == nullptr ? 0 : *n));
    if (const int64_t* next = chain.Get()) {
      const int64_t at = *next;
      chain.Clear();
      ctx.RegisterTimer(at);
    }
  }
};

using Row = std::tuple<std::string, EventTime, Tag>;

// A process node over a hand-filled keyed stream.
class Harness {
 public:
  explicit Harness(int parts, int threads = 1)
      : parts_(parts), node_("process", &feed_, Script{}), pool_(threads) {
    EXPECT_TRUE(feed_.Open(parts).ok());
    EXPECT_TRUE(node_.Open(parts).ok());
  }

  void Add(const std::string& key, Cmd cmd, EventTime ts) {
    feed_.Push(key, std::move(cmd), ts, seq_++);
  }

  // Runs one batch over every partition and returns each partition's output.
  std::vector<std::vector<Row>> Batch(EventTime previous_watermark, EventTime watermark) {
    node_.ClearOutput();
    BatchContext ctx;
    ctx.previous_watermark = previous_watermark;
    ctx.watermark = watermark;
    ctx.partitions = parts_;
    ctx.pool = &pool_;
    pool_.ParallelFor(parts_, [&](int p) { node_.RunPartition(p, ctx); });
    std::vector<std::vector<Row>> out(parts_);
    for (int p = 0; p < parts_; ++p) {
      for (const auto& r : node_.output().parts[p]) out[p].emplace_back(r.value, r.ts, r.tag);
    }
    feed_.ClearOutput();
    seq_ = 0;
    return out;
  }

  // The whole output of the last batch, merged by tag (as a sink sees it).
  std::vector<std::string> Merged() {
    std::vector<std::string> out;
    MergeBuffer(node_.output(),
                [&](int p, size_t i) { out.push_back(node_.output().parts[p][i].value); });
    return out;
  }

  ProcessNode<std::string, Cmd, Script>& node() { return node_; }

 private:
  int parts_;
  KeyedFeed<std::string, Cmd> feed_;
  ProcessNode<std::string, Cmd, Script> node_;
  ThreadPool pool_;
  uint32_t seq_ = 0;
};

Tag TimerTag(const std::string& key, EventTime time) {
  return Tag{Tag::kTimerSeq, KeyGroupOf(key), time};
}

std::vector<std::string> Values(const std::vector<Row>& rows) {
  std::vector<std::string> v;
  for (const Row& r : rows) v.push_back(std::get<0>(r));
  return v;
}

// Two distinct keys in the same key group, and one in a larger group.
struct Keys {
  std::string same_a, same_b, other;
};
Keys FindKeys() {
  Keys k;
  std::vector<std::string> by_group(kKeyGroups);
  for (int i = 0; k.same_b.empty(); ++i) {
    const std::string key = "k" + std::to_string(i);
    std::string& seen = by_group[KeyGroupOf(key)];
    if (seen.empty()) {
      seen = key;
    } else {
      k.same_a = std::min(seen, key);
      k.same_b = std::max(seen, key);
    }
  }
  const uint32_t g = KeyGroupOf(k.same_a);
  for (int i = 0; k.other.empty(); ++i) {
    const std::string key = "o" + std::to_string(i);
    if (KeyGroupOf(key) > g) k.other = key;
  }
  return k;
}

TEST(ProcessNodeTest, StateIsPerKey) {
  Harness h(1);
  h.Add("alice", {"count"}, 10);
  h.Add("bob", {"count"}, 11);
  h.Add("alice", {"count"}, 12);
  h.Add("alice", {"count"}, 13);
  h.Add("bob", {"count"}, 14);
  const auto out = h.Batch(kMinEventTime, 0);
  EXPECT_EQ(out[0], (std::vector<Row>{
                        {"alice=1 wm=min", 10, Tag{0, 0, 0}},
                        {"bob=1 wm=min", 11, Tag{1, 0, 0}},
                        {"alice=2 wm=min", 12, Tag{2, 0, 0}},
                        {"alice=3 wm=min", 13, Tag{3, 0, 0}},
                        {"bob=2 wm=min", 14, Tag{4, 0, 0}},
                    }));
  // State carries over to the next batch.
  h.Add("bob", {"count"}, 20);
  h.Add("alice", {"count"}, 21);
  EXPECT_EQ(Values(h.Batch(0, 5)[0]),
            (std::vector<std::string>{"bob=3 wm=0", "alice=4 wm=0"}));
}

TEST(ProcessNodeTest, StateIsPerKeyOverManyKeysAndTasks) {
  constexpr int kParts = 4;
  Harness h(kParts, /*threads=*/4);
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < 40; ++k) h.Add("key" + std::to_string(k), {"count"}, round);
  }
  const auto out = h.Batch(kMinEventTime, kMinEventTime);
  std::vector<std::string> all;
  for (const auto& part : out) {
    for (const Row& r : part) all.push_back(std::get<0>(r));
  }
  std::vector<std::string> expected;
  for (int round = 1; round <= 3; ++round) {
    for (int k = 0; k < 40; ++k) {
      expected.push_back("key" + std::to_string(k) + "=" + std::to_string(round) + " wm=min");
    }
  }
  std::sort(all.begin(), all.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(all, expected);
}

TEST(ProcessNodeTest, EmitKeepsTheInputTimeAndTagAndEmitAtSetsTheTime) {
  Harness h(1);
  h.Add("a", {"count"}, 42);
  h.Add("a", {"emit_at", 7}, 43);
  const auto out = h.Batch(kMinEventTime, 0);
  EXPECT_EQ(out[0], (std::vector<Row>{{"a=1 wm=min", 42, Tag{0, 0, 0}}, {"at", 7, Tag{1, 0, 0}}}));
}

TEST(ProcessNodeTest, TimerFiresOnlyOnceTheWatermarkReachesIt) {
  Harness h(1);
  h.Add("a", {"count"}, 50);
  h.Add("a", {"reg", 100}, 50);
  EXPECT_EQ(Values(h.Batch(kMinEventTime, 99)[0]), (std::vector<std::string>{"a=1 wm=min"}));
  EXPECT_EQ(h.node().PendingTimers(), 1u);

  EXPECT_TRUE(h.Batch(99, 99)[0].empty());
  EXPECT_EQ(h.node().PendingTimers(), 1u);

  const auto out = h.Batch(99, 100);
  EXPECT_EQ(out[0], (std::vector<Row>{{"timer a t=100 ts=100 wm=100 n=1", 100, TimerTag("a", 100)}}));
  EXPECT_EQ(h.node().PendingTimers(), 0u);

  EXPECT_TRUE(h.Batch(100, 1000)[0].empty()) << "a timer fired twice";
}

TEST(ProcessNodeTest, TimersFireInTimeKeyGroupKeyOrder) {
  const Keys k = FindKeys();
  Harness h(1);
  h.Add(k.other, {"reg", 100}, 1);
  h.Add(k.same_b, {"reg", 100}, 1);
  h.Add(k.same_a, {"reg", 200}, 1);
  h.Add(k.other, {"reg", 50}, 1);
  h.Add(k.same_a, {"reg", 100}, 1);
  const auto out = h.Batch(kMinEventTime, 1000);
  const std::string w = " wm=1000 n=0";
  EXPECT_EQ(out[0], (std::vector<Row>{
                        {"timer " + k.other + " t=50 ts=50" + w, 50, TimerTag(k.other, 50)},
                        {"timer " + k.same_a + " t=100 ts=100" + w, 100, TimerTag(k.same_a, 100)},
                        {"timer " + k.same_b + " t=100 ts=100" + w, 100, TimerTag(k.same_b, 100)},
                        {"timer " + k.other + " t=100 ts=100" + w, 100, TimerTag(k.other, 100)},
                        {"timer " + k.same_a + " t=200 ts=200" + w, 200, TimerTag(k.same_a, 200)},
                    }));
}

TEST(ProcessNodeTest, TimersAcrossTasksMergeInTimeKeyGroupOrder) {
  constexpr int kParts = 4;
  Harness h(kParts, /*threads=*/2);
  std::vector<std::tuple<EventTime, uint32_t, std::string>> expected;
  for (int i = 0; i < 60; ++i) {
    const std::string key = "user" + std::to_string(i);
    const EventTime t = 100 * (1 + (i * 7) % 4);
    h.Add(key, {"reg", t}, 0);
    expected.emplace_back(t, KeyGroupOf(key), key);
  }
  const auto out = h.Batch(kMinEventTime, kMaxEventTime);
  for (int p = 0; p < kParts; ++p) {
    std::vector<Tag> tags;
    for (const Row& r : out[p]) tags.push_back(std::get<2>(r));
    EXPECT_TRUE(std::is_sorted(tags.begin(), tags.end())) << "partition " << p;
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> expected_values;
  for (const auto& [t, g, key] : expected) {
    expected_values.push_back("timer " + key + " t=" + std::to_string(t) + " ts=" +
                              std::to_string(t) + " wm=" + std::to_string(kMaxEventTime) + " n=0");
  }
  EXPECT_EQ(h.Merged(), expected_values);
}

TEST(ProcessNodeTest, TimerInThePastFiresAtTheEndOfTheSameBatch) {
  Harness h(1);
  h.Add("a", {"count"}, 510);
  h.Add("a", {"reg", 300}, 510);  // behind the previous watermark
  h.Add("b", {"reg", 550}, 520);  // between previous and new watermark
  h.Add("b", {"count"}, 530);
  h.Add("c", {"reg", 601}, 530);  // ahead: waits
  const auto out = h.Batch(500, 600);
  EXPECT_EQ(out[0], (std::vector<Row>{
                        {"a=1 wm=500", 510, Tag{0, 0, 0}},
                        {"b=1 wm=500", 530, Tag{3, 0, 0}},
                        {"timer a t=300 ts=300 wm=600 n=1", 300, TimerTag("a", 300)},
                        {"timer b t=550 ts=550 wm=600 n=1", 550, TimerTag("b", 550)},
                    }));
  EXPECT_EQ(h.node().PendingTimers(), 1u);
}

TEST(ProcessNodeTest, DeleteTimerPreventsFiringForThatKeyOnly) {
  Harness h(1);
  h.Add("a", {"reg", 100}, 1);
  h.Add("b", {"reg", 100}, 1);
  h.Add("a", {"reg", 200}, 1);
  EXPECT_TRUE(h.Batch(kMinEventTime, 50)[0].empty());
  EXPECT_EQ(h.node().PendingTimers(), 3u);
  h.Add("a", {"del", 100}, 60);
  h.Add("a", {"del", 999}, 60);  // no such timer: no effect
  EXPECT_EQ(Values(h.Batch(50, 1000)[0]),
            (std::vector<std::string>{"timer b t=100 ts=100 wm=1000 n=0",
                                      "timer a t=200 ts=200 wm=1000 n=0"}));
  EXPECT_EQ(h.node().PendingTimers(), 0u);
}

TEST(ProcessNodeTest, DeleteInTheSameBatchAsRegisterPreventsFiring) {
  Harness h(1);
  h.Add("a", {"reg", 10}, 1);
  h.Add("a", {"del", 10}, 2);
  EXPECT_TRUE(h.Batch(kMinEventTime, 1000)[0].empty());
  EXPECT_EQ(h.node().PendingTimers(), 0u);
}

TEST(ProcessNodeTest, RegisteringTheSameTimeAndKeyTwiceFiresOnce) {
  Harness h(1);
  h.Add("a", {"reg", 100}, 1);
  h.Add("a", {"reg", 100}, 2);
  EXPECT_TRUE(h.Batch(kMinEventTime, 10)[0].empty());
  h.Add("a", {"reg", 100}, 20);  // and again in a later batch
  EXPECT_EQ(h.node().PendingTimers(), 1u);
  EXPECT_EQ(Values(h.Batch(10, 100)[0]),
            (std::vector<std::string>{"timer a t=100 ts=100 wm=100 n=0"}));
}

TEST(ProcessNodeTest, WatermarkIsThePreviousOneForRecordsAndTheNewOneForTimers) {
  Harness h(1);
  h.Add("a", {"reg", 150}, 120);
  h.Add("a", {"count"}, 120);
  const auto out = h.Batch(100, 200);
  EXPECT_EQ(Values(out[0]),
            (std::vector<std::string>{"a=1 wm=100", "timer a t=150 ts=150 wm=200 n=1"}));
  // The next batch's records see the watermark the previous batch reached.
  h.Add("a", {"count"}, 210);
  EXPECT_EQ(Values(h.Batch(200, 300)[0]), (std::vector<std::string>{"a=2 wm=200"}));
}

TEST(ProcessNodeTest, TimerRegisteredByATimerBehindItFiresWithNonDecreasingTags) {
  Harness h(1);
  h.Add("a", {"reg", 100}, 1);
  h.Add("a", {"chain", 40}, 1);  // a's timer at 100 registers one at 40
  h.Add("b", {"reg", 120}, 1);
  const auto out = h.Batch(kMinEventTime, 500);
  ASSERT_EQ(out[0].size(), 3u);
  EXPECT_EQ(std::get<0>(out[0][0]), "timer a t=100 ts=100 wm=500 n=0");
  EXPECT_EQ(std::get<0>(out[0][1]), "timer a t=40 ts=40 wm=500 n=0");
  EXPECT_EQ(std::get<1>(out[0][1]), 40);
  EXPECT_EQ(std::get<0>(out[0][2]), "timer b t=120 ts=120 wm=500 n=0");
  std::vector<Tag> tags;
  for (const Row& r : out[0]) tags.push_back(std::get<2>(r));
  EXPECT_TRUE(std::is_sorted(tags.begin(), tags.end()));
  EXPECT_EQ(h.node().PendingTimers(), 0u);
}

TEST(ProcessNodeTest, OnTimerSeesTheStateOfItsKey) {
  Harness h(1);
  h.Add("a", {"count"}, 1);
  h.Add("a", {"count"}, 2);
  h.Add("b", {"count"}, 3);
  h.Add("a", {"reg", 10}, 4);
  h.Add("b", {"reg", 10}, 5);
  const auto out = Values(h.Batch(kMinEventTime, 10)[0]);
  ASSERT_EQ(out.size(), 5u);
  const std::string ka = "timer a t=10 ts=10 wm=10 n=2";
  const std::string kb = "timer b t=10 ts=10 wm=10 n=1";
  // Same time: key group order decides.
  if (KeyGroupOf(std::string("a")) < KeyGroupOf(std::string("b"))) {
    EXPECT_EQ(out[3], ka);
    EXPECT_EQ(out[4], kb);
  } else {
    EXPECT_EQ(out[3], kb);
    EXPECT_EQ(out[4], ka);
  }
}

// Counts calls in a member: each task has its own copy.
struct PerTask {
  using Out = int64_t;
  int64_t calls = 0;
  int opens = 0;
  void Open(KeyedStateStore<int64_t>&) { ++opens; }
  void ProcessElement(const int64_t&, ProcessContext<int64_t, int64_t>& ctx) {
    ctx.Emit(++calls * 1000 + opens);
  }
};

TEST(ProcessNodeTest, EachTaskHasItsOwnOpenedCopyOfTheFunction) {
  constexpr int kParts = 4;
  KeyedFeed<int64_t, int64_t> feed;
  ProcessNode<int64_t, int64_t, PerTask> node("process", &feed, PerTask{});
  ASSERT_TRUE(feed.Open(kParts).ok());
  ASSERT_TRUE(node.Open(kParts).ok());
  std::vector<int> per_part(kParts, 0);
  for (int64_t k = 0; k < 100; ++k) ++per_part[feed.Push(k, k, 0, static_cast<uint32_t>(k))];
  ThreadPool pool(4);
  BatchContext ctx;
  ctx.partitions = kParts;
  ctx.pool = &pool;
  pool.ParallelFor(kParts, [&](int p) { node.RunPartition(p, ctx); });
  int64_t total = 0;
  for (int p = 0; p < kParts; ++p) {
    const auto& out = node.output().parts[p];
    ASSERT_EQ(out.size(), static_cast<size_t>(per_part[p]));
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i].value, static_cast<int64_t>(i + 1) * 1000 + 1) << "partition " << p;
    }
    if (!out.empty()) total += out.back().value / 1000;
  }
  EXPECT_EQ(total, 100);
}

}  // namespace
}  // namespace eddy
