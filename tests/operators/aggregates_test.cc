// Aggregates against brute force on random streams: a stream cut into random
// slices, each slice accumulated on its own and the slices merged in order,
// gives what a direct computation over all values gives (exactly, or within
// the summary's published bound: HyperLogLog, space-saving).
#include "operators/aggregates.h"

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/key.h"
#include "gtest/gtest.h"

namespace eddy::agg {
namespace {

struct Event {
  EventTime ts;
  double x;
  std::string item;
};

// Random events with times in [0, 1e6), in random (not time) order.
std::vector<Event> RandomEvents(std::mt19937_64& rng, size_t n, int items) {
  std::vector<Event> out;
  std::uniform_int_distribution<EventTime> ts(0, 999999);
  std::normal_distribution<double> x(10, 30);
  // Zipf-like item popularity: item i drawn with weight 1 / (i + 1).
  std::vector<double> weights;
  for (int i = 0; i < items; ++i) weights.push_back(1.0 / (i + 1));
  std::discrete_distribution<int> item(weights.begin(), weights.end());
  for (size_t i = 0; i < n; ++i) {
    out.push_back({ts(rng), std::round(x(rng) * 100) / 100, absl::StrCat("i", item(rng))});
  }
  return out;
}

// Cuts [0, n) into random contiguous slices: their ends.
std::vector<size_t> RandomCuts(std::mt19937_64& rng, size_t n) {
  std::vector<size_t> ends;
  size_t at = 0;
  while (at < n) {
    at = std::min(n, at + 1 + rng() % 40);
    ends.push_back(at);
  }
  return ends;
}

// Accumulates each slice with `add`, then merges the slices in order.
template <typename A, typename AddFn>
typename A::Acc SlicedAndMerged(const std::vector<Event>& events, const std::vector<size_t>& cuts,
                                AddFn add) {
  std::vector<typename A::Acc> slices;
  size_t begin = 0;
  for (size_t end : cuts) {
    typename A::Acc acc;
    for (size_t i = begin; i < end; ++i) add(acc, events[i]);
    slices.push_back(acc);
    begin = end;
  }
  typename A::Acc total;
  for (const auto& s : slices) A::Merge(total, s);
  return total;
}

TEST(AggregatesTest, NumericAggregatesOfMergedSlicesEqualBruteForce) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    const std::vector<Event> events = RandomEvents(rng, rng() % 300, 50);
    const std::vector<size_t> cuts = RandomCuts(rng, events.size());
    double sum = 0, lo = INFINITY, hi = -INFINITY, num = 0, den = 0;
    for (const Event& e : events) {
      sum += e.x;
      lo = std::min(lo, e.x);
      hi = std::max(hi, e.x);
      num += e.x > 20 ? 1 : 0;
      den += 1;
    }
    const auto count = SlicedAndMerged<Count>(events, cuts, [](auto& a, const Event& e) { Count::Add(a, e.ts); });
    EXPECT_EQ(Count::Result(count), static_cast<int64_t>(events.size()));
    const auto s = SlicedAndMerged<Sum>(events, cuts, [](auto& a, const Event& e) { Sum::Add(a, e.x, e.ts); });
    EXPECT_NEAR(Sum::Result(s), sum, 1e-6 * (1 + std::abs(sum)));
    const auto mean = SlicedAndMerged<Mean>(events, cuts, [](auto& a, const Event& e) { Mean::Add(a, e.x, e.ts); });
    const auto mn = SlicedAndMerged<Min>(events, cuts, [](auto& a, const Event& e) { Min::Add(a, e.x, e.ts); });
    const auto mx = SlicedAndMerged<Max>(events, cuts, [](auto& a, const Event& e) { Max::Add(a, e.x, e.ts); });
    if (events.empty()) {
      EXPECT_TRUE(std::isnan(Mean::Result(mean)));
      EXPECT_TRUE(std::isnan(Min::Result(mn)));
      EXPECT_TRUE(std::isnan(Max::Result(mx)));
    } else {
      EXPECT_NEAR(Mean::Result(mean), sum / events.size(), 1e-9 * (1 + std::abs(sum)));
      EXPECT_EQ(Min::Result(mn), lo);
      EXPECT_EQ(Max::Result(mx), hi);
    }
    const auto ratio = SlicedAndMerged<Ratio>(events, cuts, [](auto& a, const Event& e) {
      Ratio::Add(a, e.x > 20 ? 1 : 0, 1, e.ts);
    });
    EXPECT_DOUBLE_EQ(Ratio::Result(ratio, 1, 30), (1 + num) / (30 + den)) << "seed " << seed;
  }
}

TEST(AggregatesTest, LastNKeepsTheLatestByEventTimeWhateverTheArrivalOrder) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<Event> events = RandomEvents(rng, rng() % 100, 20);
    for (Event& e : events) e.ts %= 50;  // many ties
    const std::vector<size_t> cuts = RandomCuts(rng, events.size());
    using L = LastN<std::string, 7>;
    const auto acc = SlicedAndMerged<L>(events, cuts, [](auto& a, const Event& e) { L::Add(a, e.item, e.ts); });
    // Brute force: stable sort by time (ties keep arrival order), take the last 7.
    std::vector<size_t> order(events.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return events[a].ts < events[b].ts; });
    std::vector<std::string> want;
    for (size_t k = 0; k < 7 && k < order.size(); ++k) want.push_back(events[order[order.size() - 1 - k]].item);
    EXPECT_EQ(L::Result(acc), want) << "seed " << seed;
  }
}

// A lookback merges its slices oldest first, each at or after the last:
// the merge's in-order path must give what adding every value would, ties
// at the slices' edges included.
TEST(AggregatesTest, LastNOfSlicesMergedInTimeOrderEqualsBruteForce) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<Event> events = RandomEvents(rng, rng() % 100, 20);
    for (Event& e : events) e.ts %= 30;  // many ties
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.ts < b.ts; });
    const std::vector<size_t> cuts = RandomCuts(rng, events.size());
    using L = LastN<std::string, 5>;
    const auto acc = SlicedAndMerged<L>(events, cuts, [](auto& a, const Event& e) { L::Add(a, e.item, e.ts); });
    L::Acc one_by_one;
    for (const Event& e : events) L::Add(one_by_one, e.item, e.ts);
    EXPECT_EQ(acc.values, one_by_one.values) << "seed " << seed;
    std::vector<std::string> want;
    for (size_t k = 0; k < 5 && k < events.size(); ++k) want.push_back(events[events.size() - 1 - k].item);
    EXPECT_EQ(L::Result(acc), want) << "seed " << seed;
  }
}

TEST(AggregatesTest, DecayedSumsEqualTheSumOfDecayedValues) {
  constexpr int64_t kHalfLife = 60000;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    const std::vector<Event> events = RandomEvents(rng, 1 + rng() % 200, 10);
    const std::vector<size_t> cuts = RandomCuts(rng, events.size());
    using D = DecayedSum<kHalfLife>;
    using C = DecayedCount<kHalfLife>;
    const auto sum = SlicedAndMerged<D>(events, cuts, [](auto& a, const Event& e) { D::Add(a, e.x, e.ts); });
    const auto count = SlicedAndMerged<C>(events, cuts, [](auto& a, const Event& e) { C::Add(a, e.ts); });
    const EventTime at = 1000000;
    double want_sum = 0, want_count = 0;
    for (const Event& e : events) {
      const double w = std::exp2(-static_cast<double>(at - e.ts) / kHalfLife);
      want_sum += e.x * w;
      want_count += w;
    }
    EXPECT_NEAR(D::Result(sum, at), want_sum, 1e-9 * (1 + std::abs(want_sum))) << "seed " << seed;
    EXPECT_NEAR(C::Result(count, at), want_count, 1e-9 * (1 + want_count)) << "seed " << seed;
  }
  DecayedSum<1000>::Acc one;
  DecayedSum<1000>::Add(one, 8, 5000);
  EXPECT_DOUBLE_EQ(DecayedSum<1000>::Result(one, 8000), 1.0);  // three half-lives
  EXPECT_EQ(DecayedSum<1000>::Result(DecayedSum<1000>::Acc{}, 8000), 0.0);
}

TEST(AggregatesTest, DistinctIsExactForSmallSetsAndMergesLikeOneSketch) {
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    std::mt19937_64 rng(seed);
    const std::vector<Event> events = RandomEvents(rng, rng() % 400, 200);
    const std::vector<size_t> cuts = RandomCuts(rng, events.size());
    using D = Distinct<12>;  // exact up to 256 values
    const auto acc = SlicedAndMerged<D>(events, cuts, [](auto& a, const Event& e) {
      D::Add(a, KeyTraits<std::string>::Hash(e.item), e.ts);
    });
    std::set<std::string> distinct;
    for (const Event& e : events) distinct.insert(e.item);
    EXPECT_EQ(D::Result(acc), static_cast<double>(distinct.size())) << "seed " << seed;
  }
}

// Flajolet et al. (2007): standard error 1.04 / sqrt(m). Over many streams the
// root-mean-square relative error stays near it, and no single estimate is
// off by more than 4 standard errors; merging slices gives the very sketch a
// single pass gives.
TEST(AggregatesTest, HyperLogLogStaysWithinItsPublishedErrorBound) {
  using D = Distinct<10>;
  const double sigma = 1.04 / std::sqrt(1024.0);
  for (const int n : {200, 2000, 20000, 200000}) {
    double squares = 0;
    constexpr int kRuns = 40;
    for (int run = 0; run < kRuns; ++run) {
      D::Acc one, merged, slice;
      for (int i = 0; i < n; ++i) {
        const uint64_t h = KeyTraits<std::string>::Hash(absl::StrCat("run", run, "-", n, "-", i));
        D::Add(one, h, 0);
        D::Add(one, h, 0);  // duplicates do not count
        D::Add(slice, h, 0);
        if (i % 997 == 0) {
          D::Merge(merged, slice);
          slice = D::Acc{};
        }
      }
      D::Merge(merged, slice);
      const double estimate = D::Result(one);
      EXPECT_EQ(D::Result(merged), estimate);
      const double rel = (estimate - n) / n;
      EXPECT_LT(std::abs(rel), 4 * sigma) << "n " << n << " run " << run;
      squares += rel * rel;
    }
    EXPECT_LT(std::sqrt(squares / kRuns), 1.3 * sigma) << "n " << n;
  }
}

// Metwally et al. (2005) with Agarwal et al.'s merge (2012): an estimate is
// at least the true count and at most true + n / M; every item more frequent
// than n / M is in the summary.
TEST(AggregatesTest, SpaceSavingStaysWithinItsBoundAcrossMerges) {
  constexpr size_t kM = 20;
  using T = TopK<kM>;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    std::mt19937_64 rng(seed);
    const std::vector<Event> events = RandomEvents(rng, 500 + rng() % 3000, 300);
    const std::vector<size_t> cuts = RandomCuts(rng, events.size());
    const auto acc = SlicedAndMerged<T>(events, cuts, [](auto& a, const Event& e) { T::Add(a, e.item, e.ts); });
    std::map<std::string, int64_t> truth;
    for (const Event& e : events) ++truth[e.item];
    const double bound = static_cast<double>(events.size()) / kM;
    std::map<std::string, int64_t> est;
    for (const auto& [item, count] : T::Result(acc)) est[item] = count;
    EXPECT_LE(est.size(), kM);
    for (const auto& [item, count] : est) {
      EXPECT_GE(count, truth[item]) << "seed " << seed << " " << item;
      EXPECT_LE(count, truth[item] + bound) << "seed " << seed << " " << item;
    }
    for (const auto& [item, n] : truth) {
      if (n > bound) {
        EXPECT_EQ(est.count(item), 1u) << "seed " << seed << " lost " << item;
      }
    }
  }
  // The top items come first, most frequent first.
  T::Acc acc;
  for (int i = 0; i < 5; ++i) T::Add(acc, "jazz", 0);
  for (int i = 0; i < 3; ++i) T::Add(acc, "rock", 0);
  T::Add(acc, "pop", 0);
  EXPECT_EQ(T::Top(acc, 2), (std::vector<std::pair<std::string, int64_t>>{{"jazz", 5}, {"rock", 3}}));
}

TEST(AggregatesTest, AccumulatorsSurviveTheirCodec) {
  Distinct<8>::Acc d;
  for (int i = 0; i < 100; ++i) Distinct<8>::Add(d, KeyTraits<int64_t>::Hash(i), 0);
  Distinct<8>::Acc d2;
  ASSERT_TRUE(DecodeAll(Encode(d), d2));
  EXPECT_EQ(Distinct<8>::Result(d2), Distinct<8>::Result(d));
  TopK<4>::Acc t;
  for (const char* s : {"a", "b", "a", "c", "d", "e", "a"}) TopK<4>::Add(t, s, 0);
  TopK<4>::Acc t2;
  ASSERT_TRUE(DecodeAll(Encode(t), t2));
  EXPECT_EQ(TopK<4>::Result(t2), TopK<4>::Result(t));
  using L = LastN<std::string, 3>;
  L::Acc l;
  L::Add(l, "x", 5);
  L::Acc l2;
  ASSERT_TRUE(DecodeAll(Encode(l), l2));
  EXPECT_EQ(L::Result(l2), (std::vector<std::string>{"x"}));
  // A truncated accumulator is refused, not read past its end.
  const std::string bytes = Encode(d);
  EXPECT_FALSE(DecodeAll(bytes.substr(0, bytes.size() - 1), d2));
}

}  // namespace
}  // namespace eddy::agg
