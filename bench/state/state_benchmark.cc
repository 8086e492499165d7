// Keyed state costs: get+update through the cache, a read that misses the
// cache and goes to RocksDB, checkpoint time against the number of dirty
// keys, and reopening (restoring) a large state directory.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "state/keyed_state.h"
#include "state/state_directory.h"

namespace eddy {
namespace {

std::string ScratchDir(const std::string& name) {
  std::string dir = "/tmp/eddy_bench_" + name + "_XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) std::abort();
  return dir;
}

void RemoveDir(const std::string& dir) {
  const int rc = std::system(("rm -rf '" + dir + "'").c_str());
  (void)rc;
}

// Peak resident set size of this process, in MiB.
double PeakRssMib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

std::unique_ptr<StateDirectory> OpenDir(const std::string& path, size_t budget_mib) {
  auto dir = StateDirectory::Open({path, "bench", budget_mib << 20});
  if (!dir.ok()) std::abort();
  return *std::move(dir);
}

void Commit(StateDirectory& dir, KeyedStateStore<int64_t>& store) {
  auto batch = dir.NewBatch();
  if (!store.Snapshot(*batch).ok() || !dir.Commit(*batch).ok()) std::abort();
}

// Get + update of a small value for keys already in the cache.
void BM_CachedGetUpdate(benchmark::State& state) {
  const bool persistent = state.range(0) == 1;
  const std::string path = ScratchDir("cached");
  std::unique_ptr<StateDirectory> dir = persistent ? OpenDir(path + "/db", 256) : nullptr;
  KeyedStateStore<int64_t> store;
  if (persistent) store.Bind(dir.get(), "op", dir->cache_budget());
  auto count = store.Value<int64_t>("count");
  constexpr int64_t kKeys = 100'000;
  for (int64_t k = 0; k < kKeys; ++k) {
    store.SetCurrentKey(&k);
    count.Set(k);
  }
  std::vector<int64_t> order(1 << 16);
  std::mt19937_64 rng(1);
  for (int64_t& k : order) k = static_cast<int64_t>(rng() % kKeys);
  size_t i = 0;
  for (auto _ : state) {
    const int64_t& key = order[i++ & (order.size() - 1)];
    store.SetCurrentKey(&key);
    ++count.GetOrCreate();
  }
  state.SetItemsProcessed(state.iterations());
  RemoveDir(path);
}
BENCHMARK(BM_CachedGetUpdate)->Arg(0)->Arg(1)->ArgName("rocksdb_backed");

// A read that misses the cache: RocksDB lookup, decode, cache insert.
void BM_CacheMissGet(benchmark::State& state) {
  const std::string path = ScratchDir("miss");
  auto dir = OpenDir(path + "/db", 256);
  constexpr int64_t kKeys = 1'000'000;
  {
    KeyedStateStore<int64_t> writer;
    writer.Bind(dir.get(), "op", dir->cache_budget());
    auto v = writer.Value<int64_t>("count");
    for (int64_t k = 0; k < kKeys; ++k) {
      writer.SetCurrentKey(&k);
      v.Set(k);
    }
    Commit(*dir, writer);
  }
  if (!dir->CompactAll().ok()) std::abort();
  KeyedStateStore<int64_t> store;
  store.Bind(dir.get(), "op", /*budget_bytes=*/0);  // evict everything on Trim
  auto count = store.Value<int64_t>("count");
  std::mt19937_64 rng(2);
  int64_t key = 0;
  int64_t sum = 0;
  size_t n = 0;
  for (auto _ : state) {
    key = static_cast<int64_t>(rng() % kKeys);
    store.SetCurrentKey(&key);
    sum += *count.Get();
    if (++n % 4096 == 0) {
      state.PauseTiming();
      store.Trim();
      store.Trim();
      state.ResumeTiming();
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
  dir.reset();
  RemoveDir(path);
}
BENCHMARK(BM_CacheMissGet);

// Snapshot + synced commit of N dirty keys (out of 2N stored).
void BM_Checkpoint(benchmark::State& state) {
  const int64_t dirty = state.range(0);
  const std::string path = ScratchDir("checkpoint");
  auto dir = OpenDir(path + "/db", 1024);
  KeyedStateStore<int64_t> store;
  store.Bind(dir.get(), "op", dir->cache_budget());
  auto v = store.Value<int64_t>("count");
  for (int64_t k = 0; k < 2 * dirty; ++k) {
    store.SetCurrentKey(&k);
    v.Set(k);
  }
  Commit(*dir, store);
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    state.PauseTiming();
    for (int64_t i = 0; i < dirty; ++i) {
      const int64_t k = static_cast<int64_t>(rng() % (2 * dirty));
      store.SetCurrentKey(&k);
      ++v.GetOrCreate();
    }
    state.ResumeTiming();
    Commit(*dir, store);
  }
  state.counters["dirty_keys"] = static_cast<double>(dirty);
  dir.reset();
  RemoveDir(path);
}
BENCHMARK(BM_Checkpoint)->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);

// Builds a 10M-key state directory with a 128 MiB budget (reporting peak
// RSS), then measures reopening it and reading the first 1000 random keys:
// what a resume costs before it processes records.
void BM_Restore10MKeys(benchmark::State& state) {
  constexpr int64_t kKeys = 10'000'000;
  const std::string path = ScratchDir("restore") + "/db";
  {
    auto dir = OpenDir(path, 128);
    KeyedStateStore<int64_t> store;
    store.Bind(dir.get(), "op", dir->cache_budget());
    auto v = store.Value<int64_t>("count");
    for (int64_t k = 0; k < kKeys; ++k) {
      store.SetCurrentKey(&k);
      v.Set(k);
      if (k % 100'000 == 99'999) {
        if (store.WantsCheckpoint()) Commit(*dir, store);
        store.Trim();
      }
    }
    Commit(*dir, store);
  }
  const double build_rss = PeakRssMib();
  std::mt19937_64 rng(4);
  for (auto _ : state) {
    auto dir = OpenDir(path, 128);
    KeyedStateStore<int64_t> store;
    store.Bind(dir.get(), "op", dir->cache_budget());
    auto v = store.Value<int64_t>("count");
    int64_t sum = 0;
    for (int i = 0; i < 1000; ++i) {
      const int64_t k = static_cast<int64_t>(rng() % kKeys);
      store.SetCurrentKey(&k);
      sum += *v.Get();
    }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["peak_rss_mib_while_building"] = build_rss;
  state.counters["budget_mib"] = 128;
  RemoveDir(path.substr(0, path.rfind('/')));
}
BENCHMARK(BM_Restore10MKeys)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace eddy
