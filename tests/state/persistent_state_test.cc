// Keyed state over a state directory: what a snapshot wrote reads back in a
// fresh cache, clears are deletes, the cache stays within its budget while
// the state is far larger, timers survive, TTL drops exactly the idle keys.
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "state/keyed_state.h"
#include "state/state_directory.h"
#include "state/timer_queue.h"
#include "tests/testing/command.h"

namespace eddy {
namespace {

using testing::MakeScratchDir;

std::unique_ptr<StateDirectory> OpenDir(const std::string& path, size_t budget = 64 << 20) {
  absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open({path, "test", budget});
  EXPECT_TRUE(dir.ok()) << dir.status();
  return *std::move(dir);
}

void Commit(StateDirectory& dir, KeyedStateStore<std::string>& store) {
  auto batch = dir.NewBatch();
  ASSERT_TRUE(store.Snapshot(*batch).ok());
  ASSERT_TRUE(dir.Commit(*batch).ok());
}

// A value rewritten at every batch (a model) takes more than a quarter of
// the budget: within the budget, it waits for the periodic checkpoint (a
// forced one would come after every batch and free nothing the next batch
// does not dirty again). New keys that push the cache past the budget do
// force one, and it makes them evictable.
TEST(PersistentStateTest, OnlyDirtyEntriesInTheWayOfTheBudgetForceACheckpoint) {
  auto dir = OpenDir(MakeScratchDir("pstate_force") + "/db");
  const size_t budget = 4 << 20;
  KeyedStateStore<std::string> store;
  store.Bind(dir.get(), "op", budget);
  auto value = store.Value<std::string>("v");
  const std::string model_key = "model";
  store.SetCurrentKey(&model_key);
  value.Set(std::string(budget / 3, 'm'));
  Commit(*dir, store);  // the entry's size is known from its encoding
  for (int batch = 0; batch < 5; ++batch) {
    store.SetCurrentKey(&model_key);
    (*value.Mutable())[static_cast<size_t>(batch)] = 'x';
    EXPECT_FALSE(store.WantsCheckpoint()) << "batch " << batch;
    store.Trim();
  }
  int keys = 0;
  while (!store.WantsCheckpoint() && keys < 100000) {
    const std::string key = absl::StrCat("user", keys++);
    store.SetCurrentKey(&key);
    value.Set(std::string(1000, 'u'));
  }
  ASSERT_TRUE(store.WantsCheckpoint()) << "no checkpoint after " << keys << " new keys";
  Commit(*dir, store);
  store.Trim();
  EXPECT_LE(store.approx_bytes(), budget);
  EXPECT_FALSE(store.WantsCheckpoint());
}

// The cache counts what its values hold in memory, not their encoded size:
// a value of short strings whose vector outgrew what it holds costs its
// capacity (read back from disk, its encoded size as decoded), so a cache
// at its budget holds about its budget.
TEST(PersistentStateTest, TheCacheCountsAValuesMemoryNotItsEncoding) {
  auto dir = OpenDir(MakeScratchDir("pstate_memory") + "/db");
  KeyedStateStore<std::string> store;
  store.Bind(dir.get(), "op", 64 << 20);
  using Genres = std::vector<std::pair<std::string, int64_t>>;
  auto value = store.Value<Genres>("genres");
  const std::string user = "user";
  store.SetCurrentKey(&user);
  Genres& g = value.GetOrCreate();
  g.reserve(10000);
  for (int i = 0; i < 100; ++i) g.emplace_back("genre" + std::to_string(i % 12), i);
  const size_t encoded = Encode(g).size();
  Commit(*dir, store);
  EXPECT_LT(encoded, size_t{2000});
  EXPECT_GE(store.approx_bytes(), 10000 * sizeof(Genres::value_type));
  // Read back into a fresh cache: the vector is as large as it holds.
  KeyedStateStore<std::string> fresh;
  fresh.Bind(dir.get(), "op", 64 << 20);
  auto again = fresh.Value<Genres>("genres");
  fresh.SetCurrentKey(&user);
  ASSERT_NE(again.Get(), nullptr);
  EXPECT_EQ(again.Get()->size(), 100u);
  EXPECT_GE(fresh.approx_bytes(), 100 * sizeof(Genres::value_type));
  EXPECT_LT(fresh.approx_bytes(), 10000 * sizeof(Genres::value_type) / 4);
}

TEST(PersistentStateTest, SnapshotReadsBackInAFreshCacheAndClearsAreDeletes) {
  const std::string path = MakeScratchDir("pstate") + "/db";
  {
    auto dir = OpenDir(path);
    KeyedStateStore<std::string> store;
    store.Bind(dir.get(), "op", 1 << 20);
    auto value = store.Value<int64_t>("count");
    auto map = store.Map<std::string, double>("scores");
    auto list = store.List<std::string>("recent");
    const std::string a = "alice", b = "bob", c = "carol";
    store.SetCurrentKey(&a);
    value.Set(3);
    map.Put("jazz", 0.5);
    map.Put("pop", 1.5);
    list.Add("t1");
    list.Add("t2");
    store.SetCurrentKey(&b);
    value.Set(7);
    store.SetCurrentKey(&c);
    value.Set(9);
    Commit(*dir, store);
    // After the first checkpoint: change a, clear c, and remove a map entry.
    store.SetCurrentKey(&a);
    ++value.GetOrCreate();
    map.Remove("pop");
    list.Add("t3");
    store.SetCurrentKey(&c);
    value.Clear();
    Commit(*dir, store);
    // Not committed: must not be visible after reopening.
    store.SetCurrentKey(&b);
    value.Set(1000);
    ASSERT_TRUE(store.status().ok()) << store.status();
  }
  auto dir = OpenDir(path);
  KeyedStateStore<std::string> store;
  store.Bind(dir.get(), "op", 1 << 20);
  auto value = store.Value<int64_t>("count");
  auto map = store.Map<std::string, double>("scores");
  auto list = store.List<std::string>("recent");
  const std::string a = "alice", b = "bob", c = "carol";
  store.SetCurrentKey(&a);
  ASSERT_NE(value.Get(), nullptr);
  EXPECT_EQ(*value.Get(), 4);
  EXPECT_EQ(map.Entries(), (std::map<std::string, double>{{"jazz", 0.5}}));
  EXPECT_EQ(list.Get(), (std::vector<std::string>{"t1", "t2", "t3"}));
  store.SetCurrentKey(&b);
  ASSERT_NE(value.Get(), nullptr);
  EXPECT_EQ(*value.Get(), 7);
  store.SetCurrentKey(&c);
  EXPECT_EQ(value.Get(), nullptr);
  EXPECT_TRUE(store.status().ok());
}

TEST(PersistentStateTest, StateFarLargerThanTheCacheBudgetReadsBackCorrectly) {
  // 5M keys with a 128 MB budget (500k under sanitizers, which are slower).
#if defined(__SANITIZE_ADDRESS__)
  const int64_t kKeys = 500'000;
  const size_t kBudget = size_t{16} << 20;
#else
  const int64_t kKeys = 5'000'000;
  const size_t kBudget = size_t{128} << 20;
#endif
  const std::string path = MakeScratchDir("pstate_big") + "/db";
  auto dir = OpenDir(path, kBudget);
  KeyedStateStore<int64_t> store;
  store.Bind(dir.get(), "op", dir->cache_budget());
  auto value = store.Value<std::string>("v");
  const auto expected = [](int64_t k) { return absl::StrCat("value-", k * 7919 % 1000003); };
  size_t peak_cache = 0;
  for (int64_t k = 0; k < kKeys; ++k) {
    store.SetCurrentKey(&k);
    value.Set(expected(k));
    if (k % 200'000 == 199'999) {  // what the executor does between batches
      if (store.WantsCheckpoint()) {
        auto batch = dir->NewBatch();
        ASSERT_TRUE(store.Snapshot(*batch).ok());
        ASSERT_TRUE(dir->Commit(*batch).ok());
      }
      store.Trim();
      peak_cache = std::max(peak_cache, store.approx_bytes());
    }
  }
  auto batch = dir->NewBatch();
  ASSERT_TRUE(store.Snapshot(*batch).ok());
  ASSERT_TRUE(dir->Commit(*batch).ok());
  store.Trim();
  store.Trim();
  EXPECT_LE(store.approx_bytes(), dir->cache_budget());
  // The budget held while writing (dirty data is bounded by forced
  // checkpoints, clean data by eviction), with one batch of slack.
  EXPECT_LE(peak_cache, dir->cache_budget() + (size_t{64} << 20));
  EXPECT_LT(store.TotalEntries(), static_cast<size_t>(kKeys)) << "nothing was evicted";
  // Random reads, most of them cache misses.
  std::mt19937_64 rng(5);
  for (int i = 0; i < 200'000; ++i) {
    const int64_t k = static_cast<int64_t>(rng() % kKeys);
    store.SetCurrentKey(&k);
    const std::string* v = value.Get();
    ASSERT_NE(v, nullptr) << k;
    ASSERT_EQ(*v, expected(k));
  }
  const int64_t missing = kKeys + 1;
  store.SetCurrentKey(&missing);
  EXPECT_EQ(value.Get(), nullptr);
  EXPECT_TRUE(store.status().ok());
}

// Windows register the same timer for every event of a key: the queue
// must keep (and journal) it once, not once per event.
TEST(PersistentStateTest, ATimerRegisteredOverAndOverIsJournalledOnce) {
  const std::string path = MakeScratchDir("pdup") + "/db";
  auto dir = OpenDir(path);
  absl::StatusOr<int> table = dir->Table("op/__timers");
  ASSERT_TRUE(table.ok());
  TimerQueue<std::string> q;
  q.Bind(dir.get(), *table);
  for (int i = 0; i < 10000; ++i) {
    const std::string key = absl::StrCat("k", i % 10);
    q.Register(1000, KeyGroupOf(key), key);
  }
  auto batch = dir->NewBatch();
  q.Snapshot(*batch);
  EXPECT_EQ(batch->operations(), 10u);
  EXPECT_EQ(q.size(), 10u);
}

TEST(PersistentStateTest, TimersSurviveARestartInTheirKeyGroups) {
  const std::string path = MakeScratchDir("ptimers") + "/db";
  std::vector<TimerQueue<std::string>::Timer> want;
  {
    auto dir = OpenDir(path);
    absl::StatusOr<int> table = dir->Table("op/__timers");
    ASSERT_TRUE(table.ok());
    TimerQueue<std::string> q;
    q.Bind(dir.get(), *table);
    for (int i = 0; i < 100; ++i) {
      const std::string key = absl::StrCat("k", i);
      q.Register(-50 + i * 10, KeyGroupOf(key), key);
    }
    q.Delete(-50, KeyGroupOf(std::string("k0")), "k0");
    TimerQueue<std::string>::Timer fired;
    ASSERT_TRUE(q.PopDue(-40, &fired));  // k1 fires before the checkpoint
    auto batch = dir->NewBatch();
    q.Snapshot(*batch);
    ASSERT_TRUE(dir->Commit(*batch).ok());
    while (q.PopDue(kMaxEventTime, &fired)) want.push_back(fired);
  }
  auto dir = OpenDir(path);
  absl::StatusOr<int> table = dir->Table("op/__timers");
  ASSERT_TRUE(table.ok());
  // Restored by two tasks, each owning half the key groups.
  std::vector<TimerQueue<std::string>::Timer> got;
  for (int p = 0; p < 2; ++p) {
    TimerQueue<std::string> q;
    q.Bind(dir.get(), *table);
    ASSERT_TRUE(q.Restore([&](uint32_t g) { return PartitionOfKeyGroup(g, 2) == p; }).ok());
    TimerQueue<std::string>::Timer t;
    while (q.PopDue(kMaxEventTime, &t)) {
      EXPECT_EQ(PartitionOfKeyGroup(t.key_group, 2), p);
      got.push_back(t);
    }
  }
  ASSERT_EQ(got.size(), 98u);
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].time, want[i].time);
    EXPECT_EQ(got[i].key, want[i].key);
    EXPECT_EQ(got[i].key_group, want[i].key_group);
  }
}

// Random registrations (many of them repeats), deletions and firings, with
// checkpoints in between: a queue restored from the last checkpoint holds
// exactly the timers the live queue held then.
TEST(PersistentStateTest, RestoredTimersEqualTheQueueAtItsLastCheckpoint) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const std::string path = MakeScratchDir("prandom") + "/db";
    std::mt19937_64 rng(seed);
    std::vector<std::tuple<EventTime, uint32_t, std::string>> want;
    {
      auto dir = OpenDir(path);
      absl::StatusOr<int> table = dir->Table("op/__timers");
      ASSERT_TRUE(table.ok());
      TimerQueue<std::string> q;
      q.Bind(dir.get(), *table);
      EventTime watermark = 0;
      for (int step = 0; step < 20000; ++step) {
        const std::string key = absl::StrCat("k", rng() % 40);
        const EventTime t = watermark + 1 + static_cast<EventTime>(rng() % 20);
        const uint64_t op = rng() % 100;
        if (op < 80) {
          q.Register(t, KeyGroupOf(key), key);
        } else if (op < 90) {
          q.Delete(t, KeyGroupOf(key), key);
        } else {
          watermark += static_cast<EventTime>(rng() % 3);
          TimerQueue<std::string>::Timer fired;
          while (q.PopDue(watermark, &fired)) {
          }
        }
        if (rng() % 500 == 0 || step == 19999) {
          auto batch = dir->NewBatch();
          q.Snapshot(*batch);
          ASSERT_TRUE(dir->Commit(*batch).ok());
          want.clear();
          TimerQueue<std::string> copy = q;  // what the queue holds now
          copy.Bind(nullptr, -1);
          TimerQueue<std::string>::Timer t2;
          while (copy.PopDue(kMaxEventTime, &t2)) want.emplace_back(t2.time, t2.key_group, t2.key);
        }
      }
    }
    auto dir = OpenDir(path);
    absl::StatusOr<int> table = dir->Table("op/__timers");
    ASSERT_TRUE(table.ok());
    TimerQueue<std::string> q;
    q.Bind(dir.get(), *table);
    ASSERT_TRUE(q.Restore([](uint32_t) { return true; }).ok());
    std::vector<std::tuple<EventTime, uint32_t, std::string>> got;
    TimerQueue<std::string>::Timer t;
    while (q.PopDue(kMaxEventTime, &t)) got.emplace_back(t.time, t.key_group, t.key);
    ASSERT_GT(want.size(), 10u);
    EXPECT_EQ(got, want) << "seed " << seed;
  }
}

TEST(PersistentStateTest, MissingCodecIsAnErrorNotACrash) {
  struct NoCodec {
    int x = 0;
  };
  const std::string path = MakeScratchDir("pnocodec") + "/db";
  auto dir = OpenDir(path);
  KeyedStateStore<std::string> store;
  store.Bind(dir.get(), "op", 1 << 20);
  store.Value<NoCodec>("v");
  EXPECT_FALSE(store.status().ok());
  EXPECT_NE(store.status().message().find("without an eddy::Codec"), absl::string_view::npos);
}

}  // namespace
}  // namespace eddy
