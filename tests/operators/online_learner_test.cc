// DelayedLabelLearner (operators/online_learner.h) on random out-of-order
// streams of impressions and clicks, batch by batch as the executor runs it:
// every impression is predicted once and learned once, with the label a
// brute force gives (a click for its id within its attribution window,
// whichever arrived first), with the score it was served; duplicates and
// clicks without an impression are accounted for; metrics windows add up.
#include "operators/online_learner.h"

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/tag_merge.h"
#include "engine/thread_pool.h"
#include "gtest/gtest.h"
#include "tests/testing/json_field.h"
#include "tests/testing/feed.h"

namespace eddy {
namespace {

using testing::JsonField;

constexpr int64_t kWindow = 30 * 60 * 1000;   // attribution
constexpr int64_t kMetrics = 60 * 60 * 1000;  // metrics windows
constexpr int64_t kDisorder = 20 * 1000;

struct Event {
  LearnerInput in;
  EventTime ts;
  double arrival;  // sort key
};

// A field of a JSON line (numbers and strings without escapes).

TEST(DelayedLabelLearnerTest, LabelsMatchBruteForceOnRandomOutOfOrderStreams) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<Event> events;
    EventTime t = 1735689600000;
    std::map<std::string, bool> clicked;  // impression id -> has an in-window click
    for (int i = 0; i < 3000; ++i) {
      t += static_cast<EventTime>(u(rng) * 4000);
      Event imp;
      imp.in.kind = LearnerInput::kExample;
      imp.in.id = absl::StrCat("i", i);
      imp.in.x.index = {static_cast<uint32_t>(rng() % 50), static_cast<uint32_t>(50 + rng() % 50)};
      imp.in.x.value = {1, 1};
      imp.ts = t;
      imp.arrival = static_cast<double>(t) + u(rng) * kDisorder;
      events.push_back(imp);
      if (u(rng) < 0.01) {  // the same impression id again, seconds later
        Event dup = imp;
        dup.ts = t + 1000;
        dup.arrival = static_cast<double>(dup.ts) + u(rng) * kDisorder;
        events.push_back(dup);
      }
      const double r = u(rng);
      auto click = [&](EventTime ts) {
        Event c;
        c.in.kind = LearnerInput::kLabel;
        c.in.id = imp.in.id;
        c.ts = ts;
        // Some clicks race ahead of their impression (clock skew).
        c.arrival = static_cast<double>(ts) + u(rng) * kDisorder - (u(rng) < 0.1 ? 15000 : 0);
        events.push_back(c);
      };
      if (r < 0.3) {
        click(t + static_cast<EventTime>(u(rng) * kWindow));
        if (u(rng) < 0.1) click(t + static_cast<EventTime>(u(rng) * kWindow));  // duplicate
      } else if (r < 0.35) {
        click(t + kWindow + 1 + static_cast<EventTime>(u(rng) * kWindow));  // too late
      } else if (r < 0.40) {
        click(t - 1 - static_cast<EventTime>(u(rng) * 5000));  // before its impression
      }
      if (u(rng) < 0.02) {  // a click for an id that never had an impression
        Event c;
        c.in.kind = LearnerInput::kLabel;
        c.in.id = absl::StrCat("ghost", i);
        c.ts = t;
        c.arrival = static_cast<double>(t) + u(rng) * kDisorder;
        events.push_back(c);
      }
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.arrival < b.arrival; });

    auto options = std::make_shared<DelayedLabelOptions>();
    options->model.bits = 8;
    options->attribution_ms = kWindow;
    options->label_wait_ms = 60 * 1000;
    options->label_grace_ms = kDisorder;
    options->metrics_window_ms = kMetrics;
    testing::KeyedFeed<int, LearnerInput> feed;
    ProcessNode<int, LearnerInput, DelayedLabelLearner> node("learner", &feed,
                                                            DelayedLabelLearner(options));
    ThreadPool pool(1);
    ASSERT_TRUE(feed.Open(1).ok() && node.Open(1).ok());

    // Batches of random size; watermark = max time - disorder; events at or
    // behind the previous watermark are late (left out, as at a source).
    std::vector<LearnerOutput> out;
    std::vector<OperatorDeadLetter> dead;
    std::vector<Event> kept;
    EventTime max_ts = kMinEventTime, previous = kMinEventTime;
    auto run = [&](EventTime watermark) {
      node.ClearOutput();
      BatchContext ctx;
      ctx.previous_watermark = previous;
      ctx.watermark = watermark;
      ctx.pool = &pool;
      node.RunPartition(0, ctx);
      for (const auto& r : node.output().parts[0]) out.push_back(r.value);
      node.TakeDeadLetters(&dead);
      feed.ClearOutput();
      previous = watermark;
    };
    size_t i = 0;
    while (i < events.size()) {
      const size_t n = 1 + rng() % 200;
      uint32_t seq = 0;
      for (size_t k = 0; k < n && i < events.size(); ++k, ++i) {
        const Event& e = events[i];
        if (previous != kMinEventTime && e.ts <= previous) continue;
        kept.push_back(e);
        feed.Push(0, e.in, e.ts, seq++);
        max_ts = std::max(max_ts, e.ts);
      }
      run(std::max(previous, max_ts - kDisorder));
    }
    run(kMaxEventTime);

    // Brute force over the kept events: the first arrival of an impression id
    // is the example; it is positive iff a kept click for it has a time in
    // [its time, its time + window] and arrives before any event with a time
    // past the window + grace (the example is learned when the learner sees
    // one: clicks that race ahead of the clock can end a window early).
    std::map<std::string, EventTime> example_ts;
    int duplicate_examples = 0;
    for (const Event& e : kept) {
      if (e.in.kind != LearnerInput::kExample) continue;
      if (!example_ts.emplace(e.in.id, e.ts).second) ++duplicate_examples;
    }
    std::map<std::string, int> want_label;
    int dead_clicks = 0;
    for (const auto& [id, ts] : example_ts) want_label[id] = 0;
    EventTime latest = kMinEventTime;  // of the events before
    for (const Event& e : kept) {
      const EventTime before = latest;
      latest = std::max(latest, e.ts);
      if (e.in.kind != LearnerInput::kLabel) continue;
      auto it = example_ts.find(e.in.id);
      if (it != example_ts.end() && e.ts >= it->second && e.ts <= it->second + kWindow &&
          before <= it->second + kWindow + kDisorder) {
        want_label[e.in.id] = 1;
      } else {
        ++dead_clicks;  // unknown id, or outside the window
      }
    }

    std::map<std::string, std::string> predicted_p;
    std::map<std::string, int> got_label;
    double metric_examples = 0, metric_positives = 0;
    for (const LearnerOutput& o : out) {
      const std::string id = JsonField(o.json, "id");
      if (o.kind == LearnerOutput::kPrediction) {
        ASSERT_TRUE(predicted_p.emplace(id, JsonField(o.json, "p")).second) << "predicted twice: " << id;
      } else if (o.kind == LearnerOutput::kLabeled) {
        ASSERT_TRUE(got_label.emplace(id, std::stoi(JsonField(o.json, "label"))).second)
            << "learned twice: " << id;
        EXPECT_EQ(JsonField(o.json, "p"), predicted_p[id]) << "learned with another score: " << id;
        // Positive or not, learned when its attribution window closed.
        EXPECT_EQ(std::stoll(JsonField(o.json, "learned_at")),
                  std::stoll(JsonField(o.json, "ts")) + kWindow) << id;
      } else if (o.kind == LearnerOutput::kMetrics) {
        double v = 0;
        ASSERT_TRUE(absl::SimpleAtod(JsonField(o.json, "examples"), &v));
        metric_examples += v;
        ASSERT_TRUE(absl::SimpleAtod(JsonField(o.json, "positives"), &v));
        metric_positives += v;
      }
    }
    ASSERT_EQ(predicted_p.size(), example_ts.size()) << "seed " << seed;
    EXPECT_EQ(got_label, want_label) << "seed " << seed;
    int positives = 0;
    for (const auto& [id, l] : want_label) positives += l;
    EXPECT_EQ(metric_examples, static_cast<double>(example_ts.size())) << "seed " << seed;
    EXPECT_EQ(metric_positives, positives) << "seed " << seed;
    // Dead letters: second impressions of an id, and clicks that matched no
    // example's window (duplicate in-window clicks are dropped, not dead).
    int dead_duplicates = 0, dead_labels = 0;
    for (const OperatorDeadLetter& d : dead) {
      if (d.reason == "duplicate example id") {
        ++dead_duplicates;
      } else {
        EXPECT_TRUE(d.reason == "label for an unknown example id" ||
                    d.reason == "label outside its example's attribution window")
            << d.reason;
        ++dead_labels;
      }
    }
    EXPECT_EQ(dead_duplicates, duplicate_examples) << "seed " << seed;
    EXPECT_EQ(dead_labels, dead_clicks) << "seed " << seed;
    EXPECT_GT(positives, 0);
    EXPECT_GT(dead_clicks, 0);
  }
}

}  // namespace
}  // namespace eddy
