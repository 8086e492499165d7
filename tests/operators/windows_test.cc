// Windows against brute force on random, out-of-order keyed streams with late
// events, over many seeds: each lookback value equals the aggregate over the
// same key's earlier-arrived events with times in [SliceFloor(ts - size), ts),
// with 1 task or several; an event never sees itself, a tie or the future;
// and state is dropped once no event can need it.
#include "operators/windows.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/tag_merge.h"
#include "engine/thread_pool.h"
#include "gtest/gtest.h"
#include "tests/testing/feed.h"

namespace eddy {
namespace {

using testing::KeyedFeed;

struct Ev {
  int64_t id = 0;
  std::string item;
  double x = 0;
};

struct Arrival {
  std::string key;
  Ev ev;
  EventTime ts;
  size_t batch;
};

// A random keyed stream: times drift forward with jitter up to `disorder`,
// some events much later than that (late, some beyond the allowed lateness),
// cut into batches of random sizes.
std::vector<Arrival> RandomStream(std::mt19937_64& rng, size_t n, int64_t disorder) {
  std::vector<Arrival> out;
  EventTime clock = 1000000;
  size_t batch = 0;
  for (size_t i = 0; i < n; ++i) {
    clock += rng() % 400;
    EventTime ts = clock - static_cast<EventTime>(rng() % (disorder + 1));
    if (rng() % 20 == 0) ts -= static_cast<EventTime>(rng() % (6 * disorder));  // late
    if (rng() % 10 == 0) ts = out.empty() ? ts : out.back().ts;                  // a tie
    if (rng() % 8 == 0) ++batch;
    out.push_back({absl::StrCat("k", rng() % 5), Ev{static_cast<int64_t>(i), absl::StrCat("i", rng() % 7),
                                                   static_cast<double>(rng() % 100)},
                   ts, batch});
  }
  return out;
}

template <typename Fn>
class Harness {
 public:
  using Out = typename Fn::Out;
  Harness(Fn fn, int parts) : parts_(parts), node_("windows", &feed_, std::move(fn)), pool_(parts) {
    EXPECT_TRUE(feed_.Open(parts).ok());
    EXPECT_TRUE(node_.Open(parts).ok());
  }

  // Runs the stream batch by batch with watermark = max time - disorder;
  // like a source, leaves out events at or behind the previous watermark
  // less the allowed lateness (the late output's). Returns the outputs in
  // order and the arrivals that were not late.
  std::vector<Out> Run(const std::vector<Arrival>& stream, int64_t disorder, int64_t lateness,
                       std::vector<Arrival>* kept) {
    std::vector<Out> out;
    EventTime max_ts = kMinEventTime, previous = kMinEventTime;
    size_t i = 0;
    while (i < stream.size()) {
      const size_t batch = stream[i].batch;
      uint32_t seq = 0;
      for (; i < stream.size() && stream[i].batch == batch; ++i) {
        const Arrival& a = stream[i];
        if (previous != kMinEventTime && a.ts <= previous - lateness) continue;  // late output
        kept->push_back(a);
        feed_.Push(a.key, a.ev, a.ts, seq++);
        max_ts = std::max(max_ts, a.ts);
      }
      const EventTime watermark = max_ts == kMinEventTime ? kMinEventTime : max_ts - disorder;
      RunBatch(previous, std::max(previous, watermark), out);
      previous = std::max(previous, watermark);
    }
    RunBatch(previous, kMaxEventTime, out);  // end of input: everything expires
    return out;
  }

  size_t StateEntries() const { return node_.cached_state_entries(); }

 private:
  void RunBatch(EventTime previous, EventTime watermark, std::vector<Out>& out) {
    node_.ClearOutput();
    BatchContext ctx;
    ctx.previous_watermark = previous;
    ctx.watermark = watermark;
    ctx.partitions = parts_;
    ctx.pool = &pool_;
    pool_.ParallelFor(parts_, [&](int p) { node_.RunPartition(p, ctx); });
    MergeBuffer(node_.output(), [&](int p, size_t k) { out.push_back(node_.output().parts[p][k].value); });
    feed_.ClearOutput();
  }

  int parts_;
  KeyedFeed<std::string, Ev> feed_;
  ProcessNode<std::string, Ev, Fn> node_;
  ThreadPool pool_;
};

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
        for (const auto& [id, items] : BruteForce(kept, [](std::vector<const Arrival*> s) {
               std::stable_sort(s.begin(), s.end(),
                                [](const Arrival* a, const Arrival* b) { return a->ts < b->ts; });
               std::vector<std::string> v;
               for (auto it = s.rbegin(); it != s.rend() && v.size() < 3; ++it) v.push_back((*it)->ev.item);
               return v;
             })) {
          EXPECT_EQ(by_id.at(id), items) << "event " << id;
        }
      }
    }
  }
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

}  // namespace
}  // namespace eddy
