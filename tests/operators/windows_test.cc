// Windows against brute force on random, out-of-order keyed streams with late
// events, over many seeds: each lookback value equals the aggregate over the
// same key's earlier-arrived events with times in [SliceFloor(ts - size), ts),
// with 1 task or several; an event never sees itself, a tie or the future;
// and state is dropped once no event can need it.
#include "operators/windows.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/tag_merge.h"
#include "engine/thread_pool.h"
#include "gtest/gtest.h"
#include "state/state_directory.h"
#include "tests/testing/command.h"
#include "tests/testing/keyed_harness.h"

namespace eddy {
namespace {

using testing::Arrival;
using testing::Ev;
using testing::Harness;
using testing::RandomStream;

constexpr int64_t kSize = 20000, kSlice = 3000, kDisorder = 2000, kLateness = 1500;

// Brute force: for each kept arrival, the events of its key that arrived
// before it with times in [SliceFloor(ts - size), ts).
template <typename Fold>
auto BruteForce(const std::vector<Arrival>& kept, Fold fold) {
  using R = decltype(fold(std::vector<const Arrival*>{}));
  std::vector<std::pair<int64_t, R>> out;
  for (size_t i = 0; i < kept.size(); ++i) {
    std::vector<const Arrival*> seen;
    const EventTime from = SliceFloor(kept[i].ts - kSize, kSlice);
    for (size_t j = 0; j < i; ++j) {
      if (kept[j].key == kept[i].key && kept[j].ts >= from && kept[j].ts < kept[i].ts) {
        seen.push_back(&kept[j]);
      }
    }
    out.emplace_back(kept[i].ev.id, fold(seen));
  }
  return out;
}

// The three latest items (time order, ties by arrival) before each kept
// arrival.
std::vector<std::pair<int64_t, std::vector<std::string>>> LastThreeBruteForce(
    const std::vector<Arrival>& kept) {
  return BruteForce(kept, [](std::vector<const Arrival*> s) {
    std::stable_sort(s.begin(), s.end(), [](const Arrival* a, const Arrival* b) { return a->ts < b->ts; });
    std::vector<std::string> v;
    for (auto it = s.rbegin(); it != s.rend() && v.size() < 3; ++it) v.push_back((*it)->ev.item);
    return v;
  });
}

TEST(LookbackTest, CountsSumsAndLastValuesEqualBruteForceOnOutOfOrderStreams) {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    std::mt19937_64 rng(seed);
    const std::vector<Arrival> stream = RandomStream(rng, 300 + rng() % 300, kDisorder);
    for (int parts : {1, 3}) {
      SCOPED_TRACE(absl::StrCat("seed ", seed, ", ", parts, " tasks"));
      // Count.
      {
        auto fn = MakeLookback<std::string, Ev, agg::Count>(
            absl::Milliseconds(kSize), absl::Milliseconds(kSlice), absl::Milliseconds(kLateness),
            [](agg::Count::Acc& a, const Ev&, EventTime ts) { agg::Count::Add(a, ts); });
        Harness<decltype(fn)> h(fn, parts);
        std::vector<Arrival> kept;
        const auto got = h.Run(stream, kDisorder, kLateness, &kept);
        const auto want = BruteForce(kept, [](const std::vector<const Arrival*>& s) {
          return static_cast<int64_t>(s.size());
        });
        ASSERT_EQ(got.size(), want.size());
        // Outputs come in tag order per batch; compare by event id.
        std::map<int64_t, int64_t> by_id;
        for (const auto& o : got) by_id[o.event.id] = o.value;
        for (const auto& [id, n] : want) EXPECT_EQ(by_id.at(id), n) << "event " << id;
        EXPECT_EQ(h.StateEntries(), 0u) << "state left after every window expired";
      }
      // Sum and the three latest items (time order, ties by arrival).
      {
        auto sum = MakeLookback<std::string, Ev, agg::Sum>(
            absl::Milliseconds(kSize), absl::Milliseconds(kSlice), absl::Milliseconds(kLateness),
            [](agg::Sum::Acc& a, const Ev& e, EventTime ts) { agg::Sum::Add(a, e.x, ts); });
        Harness<decltype(sum)> h(sum, parts);
        std::vector<Arrival> kept;
        std::map<int64_t, double> by_id;
        for (const auto& o : h.Run(stream, kDisorder, kLateness, &kept)) by_id[o.event.id] = o.value;
        for (const auto& [id, s] : BruteForce(kept, [](const std::vector<const Arrival*>& s) {
               double t = 0;
               for (const Arrival* a : s) t += a->ev.x;
               return t;
             })) {
          EXPECT_DOUBLE_EQ(by_id.at(id), s) << "event " << id;
        }
      }
      {
        using L = agg::LastN<std::string, 3>;
        auto last = MakeLookback<std::string, Ev, L>(
            absl::Milliseconds(kSize), absl::Milliseconds(kSlice), absl::Milliseconds(kLateness),
            [](L::Acc& a, const Ev& e, EventTime ts) { L::Add(a, e.item, ts); });
        Harness<decltype(last)> h(last, parts);
        std::vector<Arrival> kept;
        std::map<int64_t, std::vector<std::string>> by_id;
        for (const auto& o : h.Run(stream, kDisorder, kLateness, &kept)) by_id[o.event.id] = o.value;
        for (const auto& [id, items] : LastThreeBruteForce(kept)) {
          EXPECT_EQ(by_id.at(id), items) << "event " << id;
        }
      }
    }
  }
}

// In a state directory (a slice per part: state/parted.h), checkpointed
// every other batch and evicted from the cache after each checkpoint, so
// that most events find their key's state read back from what checkpoints
// wrote (slices added, slices dropped): the same values as brute force, and
// nothing left on disk once every window has expired.
TEST(LookbackTest, StoredInPartsAndReadBackEveryFewBatchesItEqualsBruteForce) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    std::mt19937_64 rng(seed);
    const std::vector<Arrival> stream = RandomStream(rng, 300 + rng() % 300, kDisorder);
    for (int parts : {1, 3}) {
      SCOPED_TRACE(absl::StrCat("seed ", seed, ", ", parts, " tasks"));
      absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open(
          {testing::MakeScratchDir(absl::StrCat("lookback_parts_", seed, "_", parts)) + "/db", "test",
           size_t{64} << 20});
      ASSERT_TRUE(dir.ok()) << dir.status();
      using L = agg::LastN<std::string, 3>;
      auto last = MakeLookback<std::string, Ev, L>(
          absl::Milliseconds(kSize), absl::Milliseconds(kSlice), absl::Milliseconds(kLateness),
          [](L::Acc& a, const Ev& e, EventTime ts) { L::Add(a, e.item, ts); });
      Harness<decltype(last)> h(last, parts, dir->get());
      std::vector<Arrival> kept;
      std::map<int64_t, std::vector<std::string>> by_id;
      for (const auto& o : h.Run(stream, kDisorder, kLateness, &kept)) by_id[o.event.id] = o.value;
      ASSERT_EQ(by_id.size(), kept.size());
      for (const auto& [id, items] : LastThreeBruteForce(kept)) {
        EXPECT_EQ(by_id.at(id), items) << "event " << id;
      }
      h.Checkpoint();
      const std::vector<std::string>& tables = (*dir)->table_names();
      size_t left = 0;
      for (size_t t = 0; t < tables.size(); ++t) {
        if (tables[t].find("lookback") == std::string::npos) continue;
        ASSERT_TRUE((*dir)->Scan(static_cast<int>(t), "", [&](absl::string_view, absl::string_view) {
                             ++left;
                             return true;
                           }).ok());
      }
      EXPECT_EQ(left, 0u) << "entries left on disk after every window expired";
    }
  }
}

// A checkpoint writes the slices compacted since the last one and deletes
// those dropped, not the key's whole lookback; a lost or damaged part is an
// error.
TEST(LookbackTest, ACheckpointWritesTheSlicesThatChangedNotTheLookback) {
  absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open(
      {testing::MakeScratchDir("lookback_delta") + "/db", "test", size_t{64} << 20});
  ASSERT_TRUE(dir.ok()) << dir.status();
  using State = LookbackState<agg::Count::Acc>;
  const auto open = [&](KeyedStateStore<std::string>& store) {
    store.Bind(dir->get(), "op", size_t{64} << 20);
    return store.Value<State>("lookback");
  };
  const auto checkpoint = [&](KeyedStateStore<std::string>& store) {
    auto batch = (*dir)->NewBatch();
    EXPECT_TRUE(store.Snapshot(*batch).ok());
    EXPECT_TRUE((*dir)->Commit(*batch).ok());
    return batch->bytes();
  };
  using Add = void (*)(agg::Count::Acc&, const Ev&, EventTime);
  Lookback<std::string, Ev, agg::Count, Add> lookback(
      absl::Seconds(100), absl::Seconds(1), absl::ZeroDuration(),
      +[](agg::Count::Acc& a, const Ev&, EventTime ts) { agg::Count::Add(a, ts); });
  KeyedStateStore<std::string> store;
  auto state = open(store);
  const std::string key = "u";
  store.SetCurrentKey(&key);
  State& s = state.GetOrCreate();
  for (int64_t t = 0; t < 100000; t += 500) s.recent.emplace_back(t, agg::Count::Acc{1});
  lookback.Compact(s, 100000);
  ASSERT_EQ(s.slices.size(), 100u);  // [0 s, 100 s)
  const size_t whole = checkpoint(store);
  // Another event: a slice compacted at the end, two dropped at the front.
  State& t = *state.Mutable();
  t.recent.emplace_back(100500, agg::Count::Acc{1});
  lookback.Compact(t, 102000);
  ASSERT_EQ(t.slices.size(), 99u);  // [2 s, 101 s)
  const size_t changed = checkpoint(store);
  EXPECT_LT(changed * 10, whole) << "whole " << whole << ", changed " << changed;

  const auto read_back = [&] {
    KeyedStateStore<std::string> fresh;
    auto read = open(fresh);
    fresh.SetCurrentKey(&key);
    std::vector<std::pair<EventTime, int64_t>> slices;
    EXPECT_TRUE(fresh.status().ok()) << fresh.status();
    if (read.Get() != nullptr) {
      for (const auto& [start, acc] : read.Get()->slices) slices.emplace_back(start, acc.n);
    }
    return slices;
  };
  std::vector<std::pair<EventTime, int64_t>> want;
  for (const auto& [start, acc] : t.slices) want.emplace_back(start, acc.n);
  EXPECT_EQ(read_back(), want);

  // A slice part lost (or a head damaged) is an error, not a shorter lookback.
  {
    const int table = *(*dir)->Table("op/lookback");
    std::vector<std::pair<std::string, std::string>> entries;
    ASSERT_TRUE((*dir)->Scan(table, "", [&](absl::string_view k, absl::string_view v) {
                         entries.emplace_back(std::string(k), std::string(v));
                         return true;
                       }).ok());
    ASSERT_EQ(entries.size(), 100u);  // the head and 99 slices
    for (const bool lose_a_slice : {true, false}) {
      auto batch = (*dir)->NewBatch();
      if (lose_a_slice) {
        batch->Delete(table, entries[50].first);
      } else {
        batch->Put(table, entries[0].first, entries[0].second + "x");
      }
      ASSERT_TRUE((*dir)->Commit(*batch).ok());
      KeyedStateStore<std::string> damaged;
      auto read = open(damaged);
      damaged.SetCurrentKey(&key);
      EXPECT_EQ(read.Get(), nullptr);
      EXPECT_EQ(damaged.status().code(), absl::StatusCode::kDataLoss) << damaged.status();
      auto mend = (*dir)->NewBatch();
      for (const auto& [k, v] : entries) mend->Put(table, k, v);
      ASSERT_TRUE((*dir)->Commit(*mend).ok());
    }
    EXPECT_EQ(read_back(), want);
  }

  // Cleared (the key expired) and given a state again before the next
  // checkpoint: none of the old slices come back.
  store.SetCurrentKey(&key);
  state.Clear();
  State& again = state.GetOrCreate();
  again.recent.emplace_back(500000, agg::Count::Acc{7});
  lookback.Compact(again, 502000);
  checkpoint(store);
  EXPECT_EQ(read_back(), (std::vector<std::pair<EventTime, int64_t>>{{500000, 7}}));
}

TEST(LookbackTest, AnEventNeverSeesItselfATieOrTheFuture) {
  auto fn = MakeLookback<std::string, Ev, agg::Count>(
      absl::Hours(1), absl::Minutes(1), absl::ZeroDuration(),
      [](agg::Count::Acc& a, const Ev&, EventTime ts) { agg::Count::Add(a, ts); });
  Harness<decltype(fn)> h(fn, 1);
  // Arrival order: t=5000, t=9000 (future of the next), t=5000 (a tie), t=7000.
  const std::vector<Arrival> stream = {{"u", Ev{0, "", 0}, 5000, 0},
                                       {"u", Ev{1, "", 0}, 9000, 0},
                                       {"u", Ev{2, "", 0}, 5000, 0},
                                       {"u", Ev{3, "", 0}, 7000, 0},
                                       {"v", Ev{4, "", 0}, 8000, 0}};
  std::vector<Arrival> kept;
  std::map<int64_t, int64_t> by_id;
  for (const auto& o : h.Run(stream, 100000, 0, &kept)) by_id[o.event.id] = o.value;
  EXPECT_EQ(by_id, (std::map<int64_t, int64_t>{{0, 0}, {1, 1}, {2, 0}, {3, 2}, {4, 0}}));
}

// A burst of events in a key's recent accumulators: once compacted into
// slices, the state gives the burst's memory back, not only its entries.
TEST(LookbackTest, CompactionGivesABurstsMemoryBack) {
  using Add = void (*)(agg::Count::Acc&, const Ev&, EventTime);
  Lookback<std::string, Ev, agg::Count, Add> lookback(
      absl::Seconds(10), absl::Seconds(1), absl::ZeroDuration(),
      +[](agg::Count::Acc& a, const Ev&, EventTime ts) { agg::Count::Add(a, ts); });
  LookbackState<agg::Count::Acc> s;
  for (int64_t t = 0; t < 5000; ++t) s.recent.emplace_back(t, agg::Count::Acc{1});
  const size_t burst = HeapBytes(s);
  ASSERT_GE(burst, 5000 * sizeof(s.recent[0]));
  lookback.Compact(s, 10000);  // every slice of the burst is final
  EXPECT_TRUE(s.recent.empty());
  ASSERT_EQ(s.slices.size(), 5u);
  EXPECT_EQ(s.slices[0].second.n, 1000);
  EXPECT_LT(HeapBytes(s), burst / 50);
}

TEST(LookbackTest, AnAllTimeLookbackWithUnboundedLatenessKeepsEverything) {
  auto fn = MakeLookback<std::string, Ev, agg::Count>(
      absl::InfiniteDuration(), absl::Hours(1), absl::InfiniteDuration(),
      [](agg::Count::Acc& a, const Ev&, EventTime ts) { agg::Count::Add(a, ts); });
  Harness<decltype(fn)> h(fn, 1);
  const int64_t day = 24 * 3600 * 1000;
  std::vector<Arrival> stream;
  for (int i = 0; i < 4; ++i) stream.push_back({"u", Ev{i, "", 0}, i * 100 * day, static_cast<size_t>(i)});
  std::vector<Arrival> kept;
  std::vector<int64_t> counts;
  for (const auto& o : h.Run(stream, 0, 0, &kept)) counts.push_back(o.value);
  EXPECT_EQ(counts, (std::vector<int64_t>{0, 1, 2, 3}));
}

// Count and sum at once: the aggregate the window tests use.
struct CountSum {
  struct Acc {
    int64_t n = 0;
    double sum = 0;
  };
  static void Merge(Acc& a, const Acc& b) {
    a.n += b.n;
    a.sum += b.sum;
  }
  static std::pair<int64_t, double> Result(const Acc& a, EventTime) { return {a.n, a.sum}; }
};
void AddCountSum(CountSum::Acc& a, const Ev& e, EventTime) {
  ++a.n;
  a.sum += e.x;
}

// Brute force for tumbling and hopping windows, batch by batch as the
// harness runs them: a window is emitted (with every event of it that
// arrived) in the first batch whose watermark reaches its end - 1; an event
// for an emitted window emits it again at once, corrected, as an update.
struct WindowRow {
  std::string key;
  EventTime start;
  int64_t count;
  double sum;
  bool update;
  bool operator<(const WindowRow& o) const {
    return std::tie(key, start, update, count, sum) < std::tie(o.key, o.start, o.update, o.count, o.sum);
  }
  bool operator==(const WindowRow& o) const {
    return key == o.key && start == o.start && count == o.count && sum == o.sum && update == o.update;
  }
};

void PrintTo(const WindowRow& r, std::ostream* os) {
  *os << r.key << "@" << r.start << " n=" << r.count << " sum=" << r.sum << (r.update ? " update" : "");
}

std::vector<WindowRow> BruteForceWindows(const std::vector<Arrival>& stream, int64_t size,
                                         int64_t slide, int64_t disorder, int64_t lateness) {
  std::vector<WindowRow> out;
  std::map<std::pair<std::string, EventTime>, std::pair<int64_t, double>> windows;
  std::set<std::pair<std::string, EventTime>> emitted;
  EventTime max_ts = kMinEventTime, previous = kMinEventTime;
  const auto fire = [&](EventTime watermark) {
    for (const auto& [w, agg] : windows) {
      if (emitted.count(w) == 0 && w.second + size - 1 <= watermark) {
        out.push_back({w.first, w.second, agg.first, agg.second, false});
        emitted.insert(w);
      }
    }
  };
  size_t i = 0;
  while (i < stream.size()) {
    const size_t batch = stream[i].batch;
    for (; i < stream.size() && stream[i].batch == batch; ++i) {
      const Arrival& a = stream[i];
      if (previous != kMinEventTime && a.ts <= previous - lateness) continue;
      max_ts = std::max(max_ts, a.ts);
      for (EventTime start = SliceFloor(a.ts, slide); start > a.ts - size; start -= slide) {
        auto& agg = windows[{a.key, start}];
        ++agg.first;
        agg.second += a.ev.x;
        // A window the watermark has passed goes out at once: as an update
        // if it went out before.
        if (start + size - 1 <= previous) {
          out.push_back({a.key, start, agg.first, agg.second, emitted.count({a.key, start}) > 0});
          emitted.insert({a.key, start});
        }
      }
    }
    const EventTime watermark = std::max(previous, max_ts == kMinEventTime ? kMinEventTime : max_ts - disorder);
    fire(watermark);
    previous = watermark;
  }
  fire(kMaxEventTime);
  return out;
}

TEST(SlicedWindowsTest, TumblingAndHoppingWindowsEqualBruteForceWithLateUpdates) {
  struct Shape {
    int64_t size, slide;
  };
  size_t updates = 0, late = 0;
  for (const Shape shape : {Shape{10000, 10000}, Shape{12000, 4000}, Shape{10000, 4000}}) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      std::mt19937_64 rng(seed);
      const std::vector<Arrival> stream = RandomStream(rng, 300 + rng() % 300, kDisorder);
      const std::vector<WindowRow> want =
          BruteForceWindows(stream, shape.size, shape.slide, kDisorder, kLateness);
      for (const WindowRow& r : want) updates += r.update ? 1 : 0;
      for (int parts : {1, 3}) {
        SCOPED_TRACE(absl::StrCat("size ", shape.size, " slide ", shape.slide, " seed ", seed,
                                  ", ", parts, " tasks"));
        auto fn = MakeWindows<std::string, Ev, CountSum>(
            absl::Milliseconds(shape.size), absl::Milliseconds(shape.slide),
            absl::Milliseconds(kLateness), AddCountSum);
        Harness<decltype(fn)> h(fn, parts);
        std::vector<Arrival> kept;
        std::vector<WindowRow> got;
        for (const auto& o : h.Run(stream, kDisorder, kLateness, &kept)) {
          EXPECT_EQ(o.end, o.start + shape.size);
          got.push_back({o.key, o.start, o.value.first, o.value.second, o.update});
        }
        std::vector<WindowRow> sorted_want = want;
        std::sort(got.begin(), got.end());
        std::sort(sorted_want.begin(), sorted_want.end());
        EXPECT_EQ(got, sorted_want);
        EXPECT_EQ(h.StateEntries(), 0u) << "state left after every window expired";
        late += stream.size() - kept.size();
      }
    }
  }
  // The streams did exercise corrections and the late output.
  EXPECT_GT(updates, 20u);
  EXPECT_GT(late, 100u);
}

// Brute force for sessions, recomputed from scratch after every event: the
// key's events sorted by time, split where consecutive ones are `gap` or more
// apart. The session holding a new event is emitted at once if the
// watermark passed its end (as an update if it absorbed an emitted one);
// at each batch's end, every session the watermark passed whose current
// shape was not emitted is. Rows per batch, sorted.
std::vector<std::vector<WindowRow>> BruteForceSessions(const std::vector<Arrival>& stream,
                                                       int64_t gap, int64_t disorder,
                                                       int64_t lateness) {
  struct S {
    EventTime start, end;
    int64_t count;
    double sum;
  };
  std::map<std::string, std::vector<const Arrival*>> events;
  // Per key: emitted-ever sessions and current-shape-emitted sessions, by (start, end).
  std::map<std::string, std::set<std::pair<EventTime, EventTime>>> emitted, current;
  const auto sessions = [&](const std::string& key) {
    std::vector<const Arrival*> v = events[key];
    std::sort(v.begin(), v.end(), [](const Arrival* a, const Arrival* b) { return a->ts < b->ts; });
    std::vector<S> out;
    for (const Arrival* a : v) {
      if (out.empty() || a->ts - (out.back().end - gap) >= gap) {
        out.push_back({a->ts, a->ts + gap, 0, 0});
      }
      out.back().end = std::max(out.back().end, a->ts + gap);
      ++out.back().count;
      out.back().sum += a->ev.x;
    }
    return out;
  };
  const auto overlaps = [](const std::pair<EventTime, EventTime>& old, const S& s) {
    return old.first >= s.start && old.second <= s.end;
  };
  std::vector<std::vector<WindowRow>> out;
  EventTime max_ts = kMinEventTime, previous = kMinEventTime;
  const auto fire = [&](EventTime watermark) {
    for (auto& [key, unused] : events) {
      for (const S& s : sessions(key)) {
        if (s.end - 1 > watermark || current[key].count({s.start, s.end}) > 0) continue;
        bool was = false;
        for (const auto& e : emitted[key]) was = was || overlaps(e, s);
        out.back().push_back({key, s.start, s.count, s.sum, was});
        emitted[key].insert({s.start, s.end});
        current[key].insert({s.start, s.end});
      }
    }
  };
  size_t i = 0;
  while (i < stream.size()) {
    out.emplace_back();
    const size_t batch = stream[i].batch;
    for (; i < stream.size() && stream[i].batch == batch; ++i) {
      const Arrival& a = stream[i];
      if (previous != kMinEventTime && a.ts <= previous - lateness) continue;
      max_ts = std::max(max_ts, a.ts);
      events[a.key].push_back(&a);
      for (const S& s : sessions(a.key)) {
        if (a.ts < s.start || a.ts >= s.end) continue;
        // The shape of the session holding `a` is new.
        if (s.end - 1 <= previous) {
          bool was = false;
          for (const auto& e : emitted[a.key]) was = was || overlaps(e, s);
          out.back().push_back({a.key, s.start, s.count, s.sum, was});
          emitted[a.key].insert({s.start, s.end});
          current[a.key].insert({s.start, s.end});
        }
      }
    }
    const EventTime watermark = std::max(previous, max_ts == kMinEventTime ? kMinEventTime : max_ts - disorder);
    fire(watermark);
    previous = watermark;
  }
  out.emplace_back();
  fire(kMaxEventTime);
  for (auto& rows : out) std::sort(rows.begin(), rows.end());
  return out;
}

TEST(SessionWindowsTest, SessionsEqualBruteForceWithMergesAndLateUpdates) {
  size_t updates = 0, merges = 0;
  for (const int64_t gap : {500, 1500, 4000}) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      std::mt19937_64 rng(seed);
      const std::vector<Arrival> stream = RandomStream(rng, 200 + rng() % 200, kDisorder);
      const auto want = BruteForceSessions(stream, gap, kDisorder, kLateness);
      for (const auto& rows : want) {
        for (const WindowRow& r : rows) updates += r.update ? 1 : 0;
        for (const WindowRow& r : rows) merges += r.count > 1 ? 1 : 0;
      }
      for (int parts : {1, 3}) {
        SCOPED_TRACE(absl::StrCat("gap ", gap, " seed ", seed, ", ", parts, " tasks"));
        auto fn = MakeSessions<std::string, Ev, CountSum>(
            absl::Milliseconds(gap), absl::Milliseconds(kLateness), AddCountSum);
        Harness<decltype(fn)> h(fn, parts);
        std::vector<Arrival> kept;
        const auto outputs = h.Run(stream, kDisorder, kLateness, &kept);
        std::vector<std::vector<WindowRow>> got(want.size());
        for (size_t k = 0; k < outputs.size(); ++k) {
          const auto& o = outputs[k];
          ASSERT_LT(h.output_batches()[k], got.size());
          got[h.output_batches()[k]].push_back({o.key, o.start, o.value.first, o.value.second, o.update});
        }
        for (auto& rows : got) std::sort(rows.begin(), rows.end());
        EXPECT_EQ(got, want);
        EXPECT_EQ(h.StateEntries(), 0u) << "state left after every session expired";
      }
    }
  }
  EXPECT_GT(updates, 20u);
  EXPECT_GT(merges, 100u);
}

}  // namespace
}  // namespace eddy
