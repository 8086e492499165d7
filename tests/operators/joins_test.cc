// Joins against brute force on random, out-of-order keyed streams with late
// events (tests/testing/keyed_harness.h), 1 and 3 tasks: an interval join
// emits exactly the pairs within the bounds, once each; an as-of join gives
// each left event the latest earlier right value that arrived before it.
#include "operators/joins.h"

#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/keyed_harness.h"

namespace eddy {
namespace {

struct Left {
  testing::Ev ev;
};
struct Right {
  testing::Ev ev;
};
using Either = std::variant<Left, Right>;

bool IsLeft(const testing::Ev& e) { return e.id % 3 != 0; }

}  // namespace

namespace testing {
template <>
Either Convert<Either>(const Ev& e) {
  if (IsLeft(e)) return Left{e};
  return Right{e};
}
}  // namespace testing

namespace {

using testing::Arrival;
using testing::Harness;
using testing::RandomStream;

constexpr int64_t kDisorder = 2000, kLateness = 1500;

TEST(IntervalJoinTest, EmitsExactlyThePairsWithinTheBoundsOnceEach) {
  size_t pairs = 0;
  for (const auto& [lower, upper] : std::vector<std::pair<int64_t, int64_t>>{{-3000, 1000}, {0, 5000}, {-500, -100}}) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      std::mt19937_64 rng(seed);
      const std::vector<Arrival> stream = RandomStream(rng, 200 + rng() % 300, kDisorder);
      for (int parts : {1, 3}) {
        SCOPED_TRACE(absl::StrCat("bounds [", lower, ", ", upper, "] seed ", seed, ", ", parts, " tasks"));
        IntervalJoin<std::string, Left, Right> fn(absl::Milliseconds(lower), absl::Milliseconds(upper),
                                                  absl::Milliseconds(kLateness));
        Harness<decltype(fn), Either> h(fn, parts);
        std::vector<Arrival> kept;
        std::multiset<std::pair<int64_t, int64_t>> got, want;
        for (const auto& o : h.Run(stream, kDisorder, kLateness, &kept)) got.insert({o.left.ev.id, o.right.ev.id});
        for (const Arrival& l : kept) {
          if (!IsLeft(l.ev)) continue;
          for (const Arrival& r : kept) {
            if (IsLeft(r.ev) || r.key != l.key) continue;
            if (r.ts >= l.ts + lower && r.ts <= l.ts + upper) want.insert({l.ev.id, r.ev.id});
          }
        }
        EXPECT_EQ(got, want);
        pairs += want.size();
        EXPECT_EQ(h.StateEntries(), 0u) << "state left after every partner's time passed";
      }
    }
  }
  EXPECT_GT(pairs, 1000u);
}

TEST(AsOfJoinTest, EachLeftGetsTheLatestEarlierRightThatArrivedBeforeIt) {
  size_t matched = 0;
  for (const bool inclusive : {false, true}) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      std::mt19937_64 rng(seed);
      const std::vector<Arrival> stream = RandomStream(rng, 200 + rng() % 300, kDisorder);
      for (int parts : {1, 3}) {
        SCOPED_TRACE(absl::StrCat("inclusive ", inclusive, " seed ", seed, ", ", parts, " tasks"));
        AsOfJoin<std::string, Left, Right> fn(absl::Milliseconds(kLateness), inclusive);
        Harness<decltype(fn), Either> h(fn, parts);
        std::vector<Arrival> kept;
        std::map<int64_t, std::optional<int64_t>> got;
        for (const auto& o : h.Run(stream, kDisorder, kLateness, &kept)) {
          got[o.left.ev.id] = o.right ? std::optional<int64_t>(o.right->ev.id) : std::nullopt;
        }
        std::map<int64_t, std::optional<int64_t>> want;
        for (size_t i = 0; i < kept.size(); ++i) {
          if (!IsLeft(kept[i].ev)) continue;
          const Arrival* best = nullptr;
          for (size_t j = 0; j < i; ++j) {
            const Arrival& r = kept[j];
            if (IsLeft(r.ev) || r.key != kept[i].key) continue;
            if (inclusive ? r.ts > kept[i].ts : r.ts >= kept[i].ts) continue;
            if (best == nullptr || r.ts >= best->ts) best = &r;  // ties: the later arrival
          }
          want[kept[i].ev.id] = best ? std::optional<int64_t>(best->ev.id) : std::nullopt;
          matched += best != nullptr;
        }
        EXPECT_EQ(got, want);
      }
    }
  }
  EXPECT_GT(matched, 1000u);
}

TEST(JoinCodecTest, TheUnionOfBothSidesCrossesProcesses) {
  using V = std::variant<int64_t, std::string>;
  V a = int64_t{42}, b = std::string("jazz"), out;
  ASSERT_TRUE(DecodeAll(Encode(a), out));
  EXPECT_EQ(out, a);
  ASSERT_TRUE(DecodeAll(Encode(b), out));
  EXPECT_EQ(out, b);
  std::string bad = Encode(b);
  bad[0] = 7;  // no such alternative
  EXPECT_FALSE(DecodeAll(bad, out));
  EXPECT_FALSE(DecodeAll(Encode(b).substr(0, 3), out));
}

}  // namespace
}  // namespace eddy
