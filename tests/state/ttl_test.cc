// State TTL: a key whose last record is older than the TTL (in event time)
// loses its state; keys seen within the TTL keep it. Checked against a
// reference on a random stream whose gaps are either well under or well over
// the TTL, in memory and over a state directory with checkpoints.
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/executor.h"
#include "engine/job_builder.h"
#include "gtest/gtest.h"
#include "tests/testing/command.h"
#include "tests/testing/memory_io.h"

namespace eddy {
namespace {

constexpr int64_t kTtlMs = 60'000;

struct Ev {
  int64_t ts = 0;
  int64_t key = 0;
};

absl::StatusOr<Ev> ParseEv(absl::string_view line) {
  std::vector<absl::string_view> f = absl::StrSplit(line, ',');
  Ev e;
  if (f.size() != 2 || !absl::SimpleAtoi(f[0], &e.ts) || !absl::SimpleAtoi(f[1], &e.key)) {
    return absl::InvalidArgumentError("bad");
  }
  return e;
}

struct Seen {
  int64_t key, ts, count;
};

class CountWithTtl {
 public:
  using Out = Seen;
  explicit CountWithTtl(bool ttl) : ttl_(ttl) {}
  void Open(KeyedStateStore<int64_t>& s) {
    if (ttl_) s.SetTimeToLive(absl::Milliseconds(kTtlMs));
    count_ = s.Value<int64_t>("count");
  }
  void ProcessElement(const Ev& e, ProcessContext<int64_t, Seen>& ctx) {
    ctx.Emit(Seen{ctx.key(), e.ts, ++count_.GetOrCreate()});
  }

 private:
  bool ttl_;
  ValueState<int64_t, int64_t> count_;
};

JobGraph Build(bool ttl) {
  JobBuilder job("ttl");
  job.Source<Ev>("events", ParseEv)
      .WithEventTime(&Ev::ts, absl::ZeroDuration())
      .KeyBy(&Ev::key)
      .Process("counter", CountWithTtl(ttl))
      .Sink("seen", [](const Seen& s, std::string& out) {
        absl::StrAppend(&out, s.key, ",", s.ts, ",", s.count);
      });
  return *std::move(job).Build();
}

// Events in time order; each key's gaps are short (< TTL/2) or long (> 3 TTL).
std::vector<std::string> Stream(uint64_t seed, std::vector<std::string>* expected) {
  std::mt19937_64 rng(seed);
  std::multimap<int64_t, int64_t> events;  // ts -> key
  for (int64_t key = 0; key < 40; ++key) {
    int64_t ts = 1'000'000 + static_cast<int64_t>(rng() % 10'000);
    for (int i = 0; i < 60; ++i) {
      events.emplace(ts, key);
      ts += rng() % 4 == 0 ? 3 * kTtlMs + static_cast<int64_t>(rng() % kTtlMs)
                           : 1 + static_cast<int64_t>(rng() % (kTtlMs / 2));
    }
  }
  std::vector<std::string> lines;
  std::map<int64_t, std::pair<int64_t, int64_t>> last;  // key -> (ts, count)
  for (const auto& [ts, key] : events) {
    lines.push_back(absl::StrCat(ts, ",", key));
    auto it = last.find(key);
    int64_t count = 1;
    if (it != last.end() && ts - it->second.first < kTtlMs) count = it->second.second + 1;
    last[key] = {ts, count};
    expected->push_back(absl::StrCat(key, ",", ts, ",", count));
  }
  return lines;
}

std::vector<std::string> RunCounter(const std::vector<std::string>& lines, bool ttl, StateDirectory* dir,
                                    int threads) {
  Executor::Inputs inputs;
  inputs["events"].push_back(std::make_unique<testing::MemoryInput>("in", lines));
  testing::MemoryOutputs outputs;
  RunOptions ro;
  ro.threads = threads;
  ro.batch_size = 16;
  ro.state = dir;
  ro.checkpoint_every_records = 100;
  absl::StatusOr<RunStats> stats = Executor::Run(Build(ttl), std::move(inputs), outputs, ro);
  EXPECT_TRUE(stats.ok()) << stats.status();
  return outputs.lines("seen");
}

TEST(TtlTest, IdleKeysLoseTheirStateAndActiveKeysKeepIt) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::vector<std::string> expected;
    const std::vector<std::string> lines = Stream(seed, &expected);
    for (int threads : {1, 3}) {
      std::vector<std::string> got = RunCounter(lines, /*ttl=*/true, nullptr, threads);
      std::sort(got.begin(), got.end());
      std::vector<std::string> want = expected;
      std::sort(want.begin(), want.end());
      EXPECT_TRUE(got == want) << "seed " << seed << " threads " << threads;
      for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        if (got[i] != want[i]) {
          ADD_FAILURE() << "first difference: got " << got[i] << " want " << want[i];
          break;
        }
      }
    }
    // Without TTL nothing resets: the last count of each key is 60.
    std::vector<std::string> no_ttl = RunCounter(lines, /*ttl=*/false, nullptr, 1);
    size_t sixty = 0;
    for (const std::string& l : no_ttl) sixty += absl::EndsWith(l, ",60") ? 1 : 0;
    EXPECT_EQ(sixty, 40u);
  }
}

// Each record sets a timer 30-90 s later that reports the key's count then;
// with a 60 s TTL, some timers fire after their key expired.
class CountAndReport {
 public:
  using Out = Seen;
  void Open(KeyedStateStore<int64_t>& s) {
    s.SetTimeToLive(absl::Milliseconds(kTtlMs));
    count_ = s.Value<int64_t>("count");
  }
  void ProcessElement(const Ev& e, ProcessContext<int64_t, Seen>& ctx) {
    ++count_.GetOrCreate();
    ctx.RegisterTimer(e.ts + kTtlMs / 2 + (e.ts % 7) * 10'000);
  }
  void OnTimer(EventTime t, ProcessContext<int64_t, Seen>& ctx) {
    const int64_t* n = count_.Get();
    ctx.Emit(Seen{ctx.key(), t, n == nullptr ? 0 : *n});
  }

 private:
  ValueState<int64_t, int64_t> count_;
};

TEST(TtlTest, ExpiryOrderedWithUserTimersIsTheSameForAnyThreadCount) {
  // Timers fire after their batch's records (watermarks advance between
  // batches), so what a timer sees may depend on the batch size; for a given
  // batch size, expiry and timers must not depend on the thread count.
  std::vector<std::string> unused;
  const std::vector<std::string> lines = Stream(4, &unused);
  for (size_t batch : {1u, 16u}) {
    std::vector<std::string> first;
    for (int threads : {1, 2, 4}) {
      JobBuilder job("ttl_timers");
      job.Source<Ev>("events", ParseEv)
          .WithEventTime(&Ev::ts, absl::ZeroDuration())
          .KeyBy(&Ev::key)
          .Process("counter", CountAndReport{})
          .Sink("seen", [](const Seen& s, std::string& out) {
            absl::StrAppend(&out, s.key, ",", s.ts, ",", s.count);
          });
      Executor::Inputs inputs;
      inputs["events"].push_back(std::make_unique<testing::MemoryInput>("in", lines));
      testing::MemoryOutputs outputs;
      RunOptions ro;
      ro.batch_size = batch;
      ro.threads = threads;
      ASSERT_TRUE(Executor::Run(*std::move(job).Build(), std::move(inputs), outputs, ro).ok());
      const std::vector<std::string>& got = outputs.lines("seen");
      size_t expired = 0;
      for (const std::string& l : got) expired += absl::EndsWith(l, ",0") ? 1 : 0;
      EXPECT_GT(expired, 0u) << "some timers should find their key expired";
      if (first.empty()) {
        first = got;
      } else {
        EXPECT_TRUE(got == first) << "batch " << batch << ": " << threads << " threads differ";
      }
    }
  }
}

size_t StoredKeys(StateDirectory& dir, const std::string& table_name) {
  absl::StatusOr<int> table = dir.Table(table_name);
  EXPECT_TRUE(table.ok());
  EXPECT_TRUE(dir.CompactAll().ok());
  size_t n = 0;
  EXPECT_TRUE(dir.Scan(*table, "", [&](absl::string_view, absl::string_view) {
                   ++n;
                   return true;
                 }).ok());
  return n;
}

TEST(TtlTest, ExpiredKeysAreDeletedFromTheStateDirectory) {
  std::vector<std::string> expected;
  const std::vector<std::string> lines = Stream(9, &expected);
  const std::string base = testing::MakeScratchDir("ttl");
  for (bool ttl : {true, false}) {
    auto dir = StateDirectory::Open({base + (ttl ? "/with" : "/without"), "ttl"});
    ASSERT_TRUE(dir.ok()) << dir.status();
    std::vector<std::string> got = RunCounter(lines, ttl, dir->get(), 2);
    if (ttl) {
      std::sort(got.begin(), got.end());
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(got, expected) << "checkpointed run differs from the reference";
      // The end of input moves the watermark past every key's TTL.
      EXPECT_EQ(StoredKeys(**dir, "counter/count"), 0u);
      EXPECT_EQ(StoredKeys(**dir, "counter/__ttl"), 0u);
    } else {
      EXPECT_EQ(StoredKeys(**dir, "counter/count"), 40u);
    }
  }
}

}  // namespace
}  // namespace eddy
