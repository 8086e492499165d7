// Windowed features: a keyed 1 h lookback count with 1 min slices over 1M
// keys (operators/windows.h, through a real Process node, state in memory)
// against a naive per-window implementation in the same harness (each event
// updates the 60 hopping 1 h windows it falls in, Flink's sliding-window
// assignment, and reads the window ending at its slice); and building a
// 40-feature hashed vector with 5 crosses (operators/features.h).
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/thread_pool.h"
#include "operators/aggregates.h"
#include "operators/features.h"
#include "operators/process_node.h"
#include "operators/windows.h"
#include "tests/testing/feed.h"

namespace eddy {
namespace {

constexpr int64_t kHour = 3600 * 1000, kMinute = 60 * 1000;
constexpr int kKeys = 1000000;
constexpr size_t kBatch = 4096;

struct Ev {
  int64_t id;
};

// Each event updates the count of every hopping window [s, s + 1 h) (s a
// multiple of 1 min) that holds it, and reads the one that ends where its
// own slice begins: the lookback value without slices.
struct NaiveLookback {
  struct Out {
    Ev event;
    int64_t value;
  };
  ValueState<int64_t, std::map<EventTime, int64_t>> windows;
  void Open(KeyedStateStore<int64_t>& state) {
    windows = state.Value<std::map<EventTime, int64_t>>("windows");
  }
  void ProcessElement(const Ev& e, ProcessContext<int64_t, Out>& ctx) {
    const EventTime ts = ctx.timestamp();
    auto& w = windows.GetOrCreate();
    const EventTime slice = SliceFloor(ts, kMinute);
    auto it = w.find(slice - kHour);
    ctx.Emit(Out{e, it == w.end() ? 0 : it->second});
    for (EventTime s = slice; s > ts - kHour; s -= kMinute) ++w[s];
    w.erase(w.begin(), w.lower_bound(slice - kHour));
  }
};

// Runs `fn` as a Process node over batches of events with uniformly random
// keys and times advancing ~2 ms per event (so a key sees about one event
// every 30 min); the watermark follows. Timed after a warm-up.
template <typename Fn>
void RunLookback(benchmark::State& state, Fn fn) {
  testing::KeyedFeed<int64_t, Ev> feed;
  ProcessNode<int64_t, Ev, Fn> node("lookback", &feed, std::move(fn));
  ThreadPool pool(1);
  if (!feed.Open(1).ok() || !node.Open(1).ok()) std::abort();
  std::mt19937_64 rng(1);
  EventTime ts = 1735689600000;
  EventTime watermark = kMinEventTime;
  int64_t id = 0;
  // One batch of events, ready to run.
  auto next_batch = [&] {
    feed.ClearOutput();
    node.ClearOutput();
    for (size_t i = 0; i < kBatch; ++i) {
      ts += static_cast<EventTime>(rng() % 4);
      feed.Push(static_cast<int64_t>(rng() % kKeys), Ev{id++}, ts, static_cast<uint32_t>(i));
    }
    BatchContext ctx;
    ctx.partitions = 1;
    ctx.pool = &pool;
    ctx.previous_watermark = watermark;
    watermark = ts - 1000;
    ctx.watermark = watermark;
    return ctx;
  };
  // State cached: first 2M untimed events (2 per key; about an hour of event
  // time, so state and timers reach their steady size).
  for (int b = 0; b < 500; ++b) node.RunPartition(0, next_batch());
  for (auto _ : state) {
    state.PauseTiming();
    const BatchContext ctx = next_batch();
    state.ResumeTiming();
    node.RunPartition(0, ctx);
    benchmark::DoNotOptimize(node.output().parts[0].size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.counters["state_entries"] = static_cast<double>(node.cached_state_entries());
}

void BM_LookbackSlices(benchmark::State& state) {
  RunLookback(state, MakeLookback<int64_t, Ev, agg::Count>(
                         absl::Hours(1), absl::Minutes(1), absl::Seconds(1),
                         [](agg::Count::Acc& a, const Ev&, EventTime ts) { agg::Count::Add(a, ts); }));
}
BENCHMARK(BM_LookbackSlices)->Iterations(2000)->Unit(benchmark::kMillisecond);

void BM_LookbackNaivePerWindow(benchmark::State& state) { RunLookback(state, NaiveLookback{}); }
BENCHMARK(BM_LookbackNaivePerWindow)->Iterations(2000)->Unit(benchmark::kMillisecond);

// 40 features (20 categorical in 4 namespaces, 10 numeric, 10 log buckets)
// and 5 crosses between namespaces of 2-6 features each.
void BM_FeatureVector40With5Crosses(benchmark::State& state) {
  FeatureSpace space(22);
  std::vector<int> cat, num, bucket;
  const char* ns[] = {"user", "ad", "ctx", "item"};
  for (int i = 0; i < 20; ++i) cat.push_back(space.AddField(ns[i % 4], absl::StrCat("c", i)));
  for (int i = 0; i < 10; ++i) num.push_back(space.AddField("num", absl::StrCat("n", i)));
  for (int i = 0; i < 10; ++i) bucket.push_back(space.AddField("cnt", absl::StrCat("b", i)));
  space.AddCross("user", "ad");
  space.AddCross("user", "ctx");
  space.AddCross("ad", "ctx");
  space.AddCross("ad", "item");
  space.AddCross("ctx", "item");
  FeatureBuilder builder(&space);
  std::vector<std::string> values;
  for (int i = 0; i < 1000; ++i) values.push_back(absl::StrCat("value", i * 7919 % 100003));
  size_t k = 0, entries = 0;
  for (auto _ : state) {
    builder.Clear();
    for (int f : cat) builder.Add(f, values[k++ % values.size()]);
    for (int f : num) builder.AddNumeric(f, 0.5 * static_cast<double>(k % 13));
    for (int f : bucket) builder.AddLogBucket(f, static_cast<double>(k % 1000));
    entries = builder.Finish().size();
    benchmark::DoNotOptimize(entries);
  }
  state.counters["entries"] = static_cast<double>(entries);
}
BENCHMARK(BM_FeatureVector40With5Crosses);

}  // namespace
}  // namespace eddy

BENCHMARK_MAIN();
