#include "state/timer_queue.h"

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/record.h"
#include "gtest/gtest.h"

namespace eddy {
namespace {

using Queue = TimerQueue<std::string>;
using Fired = std::tuple<EventTime, uint32_t, std::string>;

std::vector<Fired> PopAll(Queue& q, EventTime watermark) {
  std::vector<Fired> out;
  Queue::Timer t;
  while (q.PopDue(watermark, &t)) out.emplace_back(t.time, t.key_group, t.key);
  return out;
}

TEST(TimerQueueTest, EmptyQueuePopsNothing) {
  Queue q;
  Queue::Timer t;
  EXPECT_FALSE(q.PopDue(kMaxEventTime, &t));
  EXPECT_EQ(q.size(), 0u);
}

TEST(TimerQueueTest, PopsInTimeKeyGroupKeyOrder) {
  Queue q;
  q.Register(200, 1, "b");
  q.Register(100, 5, "a");
  q.Register(100, 2, "z");
  q.Register(200, 1, "a");
  q.Register(100, 2, "c");
  q.Register(300, 0, "a");
  EXPECT_EQ(q.size(), 6u);

  const std::vector<Fired> expected = {
      {100, 2, "c"}, {100, 2, "z"}, {100, 5, "a"},
      {200, 1, "a"}, {200, 1, "b"}, {300, 0, "a"},
  };
  EXPECT_EQ(PopAll(q, kMaxEventTime), expected);
  EXPECT_EQ(q.size(), 0u);
}

TEST(TimerQueueTest, PopsOnlyTimersAtOrBeforeWatermark) {
  Queue q;
  q.Register(100, 0, "a");
  q.Register(150, 0, "b");
  q.Register(151, 0, "c");

  EXPECT_TRUE(PopAll(q, 99).empty());
  EXPECT_EQ(q.size(), 3u);

  EXPECT_EQ(PopAll(q, 150), (std::vector<Fired>{{100, 0, "a"}, {150, 0, "b"}}));
  EXPECT_EQ(q.size(), 1u);

  EXPECT_EQ(PopAll(q, 151), (std::vector<Fired>{{151, 0, "c"}}));
  EXPECT_EQ(q.size(), 0u);
}

TEST(TimerQueueTest, PopDueLeavesOutputUntouchedWhenNothingIsDue) {
  Queue q;
  q.Register(100, 3, "a");
  Queue::Timer t{7, 9, "unchanged"};
  EXPECT_FALSE(q.PopDue(50, &t));
  EXPECT_EQ(t.time, 7);
  EXPECT_EQ(t.key_group, 9u);
  EXPECT_EQ(t.key, "unchanged");
}

TEST(TimerQueueTest, DuplicateTimerIsRegisteredOnce) {
  Queue q;
  q.Register(100, 4, "a");
  q.Register(100, 4, "a");
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(PopAll(q, 100), (std::vector<Fired>{{100, 4, "a"}}));
}

TEST(TimerQueueTest, SameTimeDifferentKeysAreDistinct) {
  Queue q;
  q.Register(100, 4, "a");
  q.Register(100, 4, "b");
  q.Register(101, 4, "a");
  EXPECT_EQ(q.size(), 3u);
}

TEST(TimerQueueTest, DeleteRemovesOnlyThatTimer) {
  Queue q;
  q.Register(100, 1, "a");
  q.Register(100, 1, "b");
  q.Register(200, 1, "a");
  q.Delete(100, 1, "a");
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(PopAll(q, kMaxEventTime), (std::vector<Fired>{{100, 1, "b"}, {200, 1, "a"}}));
}

TEST(TimerQueueTest, DeleteOfMissingTimerIsHarmless) {
  Queue q;
  q.Register(100, 1, "a");
  q.Delete(100, 1, "zzz");
  q.Delete(999, 1, "a");
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(PopAll(q, kMaxEventTime), (std::vector<Fired>{{100, 1, "a"}}));
}

TEST(TimerQueueTest, TimerCanBeRegisteredAgainAfterFiring) {
  Queue q;
  q.Register(100, 1, "a");
  EXPECT_EQ(PopAll(q, 100).size(), 1u);
  q.Register(100, 1, "a");
  EXPECT_EQ(q.size(), 1u);
}

TEST(TimerQueueTest, TimersRegisteredWhilePoppingFireInOrder) {
  Queue q;
  q.Register(100, 0, "a");
  q.Register(300, 0, "c");
  std::vector<Fired> fired;
  Queue::Timer t;
  while (q.PopDue(250, &t)) {
    fired.emplace_back(t.time, t.key_group, t.key);
    if (t.key == "a") {
      // A timer callback registers a due timer (before c) and a later one.
      q.Register(200, 0, "b");
      q.Register(400, 0, "d");
    }
  }
  EXPECT_EQ(fired, (std::vector<Fired>{{100, 0, "a"}, {200, 0, "b"}}));
  EXPECT_EQ(PopAll(q, kMaxEventTime), (std::vector<Fired>{{300, 0, "c"}, {400, 0, "d"}}));
}

TEST(TimerQueueTest, TimerRegisteredInThePastWhilePoppingFiresNext) {
  Queue q;
  q.Register(100, 0, "a");
  q.Register(200, 0, "b");
  std::vector<Fired> fired;
  Queue::Timer t;
  while (q.PopDue(kMaxEventTime, &t)) {
    fired.emplace_back(t.time, t.key_group, t.key);
    if (t.key == "a") q.Register(50, 0, "late");
  }
  EXPECT_EQ(fired, (std::vector<Fired>{{100, 0, "a"}, {50, 0, "late"}, {200, 0, "b"}}));
}

TEST(TimerQueueTest, IntegerKeysOrderNumerically) {
  TimerQueue<int64_t> q;
  q.Register(10, 0, 10);
  q.Register(10, 0, 9);
  q.Register(10, 0, -1);
  std::vector<int64_t> keys;
  TimerQueue<int64_t>::Timer t;
  while (q.PopDue(10, &t)) keys.push_back(t.key);
  EXPECT_EQ(keys, (std::vector<int64_t>{-1, 9, 10}));
}

TEST(TimerQueueTest, ExtremeTimesFireAtMaxWatermark) {
  Queue q;
  q.Register(kMaxEventTime, 0, "end");
  q.Register(kMinEventTime, 0, "start");
  EXPECT_EQ(PopAll(q, kMinEventTime), (std::vector<Fired>{{kMinEventTime, 0, "start"}}));
  EXPECT_EQ(PopAll(q, kMaxEventTime - 1).size(), 0u);
  EXPECT_EQ(PopAll(q, kMaxEventTime), (std::vector<Fired>{{kMaxEventTime, 0, "end"}}));
}

// The bucketed queue against the plain definition (a sorted set of timers)
// over random interleavings of registrations (often duplicates, often at the
// time being fired, sometimes behind it), deletions, peeks, counts and pops,
// over many seeds.
TEST(TimerQueueTest, MatchesASortedSetOnRandomOperations) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 rng(seed);
    TimerQueue<int64_t> q;
    std::set<std::tuple<EventTime, uint32_t, int64_t>> model;
    EventTime watermark = 0;
    auto random_timer = [&] {
      const EventTime t = watermark - 3 + static_cast<EventTime>(rng() % 12);
      return std::make_tuple(t, static_cast<uint32_t>(rng() % 3), static_cast<int64_t>(rng() % 6));
    };
    for (int step = 0; step < 400; ++step) {
      const int op = static_cast<int>(rng() % 10);
      if (op < 4) {
        auto [t, g, k] = random_timer();
        q.Register(t, g, k);
        model.emplace(t, g, k);
      } else if (op < 6) {
        auto [t, g, k] = random_timer();
        q.Delete(t, g, k);
        model.erase({t, g, k});
      } else if (op < 7) {
        ASSERT_EQ(q.size(), model.size()) << "seed " << seed << " step " << step;
      } else {
        if (op == 9) watermark += static_cast<EventTime>(rng() % 4);
        TimerQueue<int64_t>::Timer fired;
        const bool due = !model.empty() && std::get<0>(*model.begin()) <= watermark;
        const auto* peeked = q.PeekDue(watermark);
        ASSERT_EQ(peeked != nullptr, due) << "seed " << seed << " step " << step;
        ASSERT_EQ(q.PopDue(watermark, &fired), due);
        if (!due) continue;
        ASSERT_EQ(std::make_tuple(fired.time, fired.key_group, fired.key), *model.begin())
            << "seed " << seed << " step " << step;
        model.erase(model.begin());
      }
    }
    TimerQueue<int64_t>::Timer fired;
    while (q.PopDue(kMaxEventTime, &fired)) {
      ASSERT_FALSE(model.empty());
      ASSERT_EQ(std::make_tuple(fired.time, fired.key_group, fired.key), *model.begin());
      model.erase(model.begin());
    }
    EXPECT_TRUE(model.empty()) << "seed " << seed;
  }
}

}  // namespace
}  // namespace eddy
