// Per-record cost of a fused Map -> Filter -> KeyBy chain, against a
// hand-written loop doing the same work (the framework's overhead is the
// ratio between the two).
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/key.h"
#include "engine/thread_pool.h"
#include "operators/filter_node.h"
#include "operators/key_by_node.h"
#include "operators/map_node.h"

namespace eddy {
namespace {

struct Ev {
  int64_t ts;
  std::string user;  // short: fits the small-string buffer, as real ids do
  int64_t ms_played;
};

struct Scored {
  int64_t ts;
  std::string user;
  double weight;
};

// A producer whose output the benchmark fills directly.
template <typename T>
class Feed final : public Producer<T> {
 public:
  Feed() : Producer<T>(NodeKind::kSource, "feed") {}
  bool partition_local() const override { return false; }
  absl::Status Open(int partitions) override {
    this->output_.Resize(partitions);
    return absl::OkStatus();
  }
};

constexpr int kBatch = 4096;

std::vector<Record<Ev>> MakeBatch() {
  std::vector<Record<Ev>> batch;
  for (int i = 0; i < kBatch; ++i) {
    batch.push_back(Record<Ev>{Ev{1000 + i, "u" + std::to_string(i * 7919 % 5000), (i * 37) % 300000},
                               1000 + i, Tag{static_cast<uint32_t>(i), 0, 0}});
  }
  return batch;
}

auto MapFn = [](const Ev& e) { return Scored{e.ts, e.user, e.ms_played / 1000.0}; };
auto FilterFn = [](const Scored& s) { return s.weight >= 30.0; };
auto KeyFn = [](const Scored& s) -> const std::string& { return s.user; };

// Runs batches through Map -> Filter -> KeyBy(key_fn) on one task.
template <typename K, typename KeyFnT>
void RunFusedChain(benchmark::State& state, KeyFnT key_fn) {
  Feed<Ev> feed;
  MapNode<Ev, Scored, decltype(MapFn)> map("map", &feed, MapFn);
  FilterNode<Scored, decltype(FilterFn)> filter("filter", &map, FilterFn);
  KeyByNode<K, Scored, KeyFnT> key_by("key_by", &filter, key_fn);
  ThreadPool pool(1);
  BatchContext ctx;
  ctx.pool = &pool;
  for (Node* n : std::vector<Node*>{&feed, &map, &filter, &key_by}) (void)n->Open(1);
  const std::vector<Record<Ev>> batch = MakeBatch();
  for (auto _ : state) {
    state.PauseTiming();
    feed.output().parts[0] = batch;
    map.ClearOutput();
    filter.ClearOutput();
    key_by.ClearOutput();
    state.ResumeTiming();
    map.RunPartition(0, ctx);
    filter.RunPartition(0, ctx);
    (void)key_by.RunBarrier(ctx);
    benchmark::DoNotOptimize(key_by.output()[0].records.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_FusedMapFilterKeyBy(benchmark::State& state) {
  RunFusedChain<std::string>(state, KeyFn);
}
BENCHMARK(BM_FusedMapFilterKeyBy);

// As above, with an integer key (no string copy for the key).
void BM_FusedMapFilterKeyByIntKey(benchmark::State& state) {
  RunFusedChain<int64_t>(state, [](const Scored& s) { return s.ts % 5000; });
}
BENCHMARK(BM_FusedMapFilterKeyByIntKey);

// The same work written by hand: map, filter, hash the key, append to the
// key group's partition.
void BM_HandWrittenLoop(benchmark::State& state) {
  const std::vector<Record<Ev>> batch = MakeBatch();
  std::vector<Record<Scored>> out;
  std::vector<uint32_t> groups;
  out.reserve(kBatch);
  groups.reserve(kBatch);
  for (auto _ : state) {
    out.clear();
    groups.clear();
    for (const Record<Ev>& r : batch) {
      Scored s = MapFn(r.value);
      if (!FilterFn(s)) continue;
      groups.push_back(KeyGroupOf(s.user));
      out.push_back(Record<Scored>{std::move(s), r.ts, r.tag});
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(groups.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_HandWrittenLoop);

}  // namespace
}  // namespace eddy
