// The keyed-state caches of a run share one budget (half of the state
// directory's memory): an operator with large per-key state may use what a
// small one leaves, and all together stay within the budget, reading back
// what they evicted.
#include <map>
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
  int64_t key, count;
};

// Per key: a 2000-byte profile and a count (large state).
struct Profile {
  std::string bytes;
  int64_t count = 0;
};

}  // namespace
}  // namespace eddy

EDDY_CODEC(eddy::Profile, bytes, count);

namespace eddy {
namespace {

class Big {
 public:
  using Out = Seen;
  void Open(KeyedStateStore<int64_t>& s) { profile_ = s.Value<Profile>("profile"); }
  void ProcessElement(const Ev&, ProcessContext<int64_t, Seen>& ctx) {
    Profile& p = profile_.GetOrCreate();
    if (p.bytes.empty()) p.bytes.assign(2000, static_cast<char>('a' + ctx.key() % 26));
    if (p.bytes[0] != static_cast<char>('a' + ctx.key() % 26)) return;  // a wrong read back
    ctx.Emit(Seen{ctx.key(), ++p.count});
  }

 private:
  ValueState<int64_t, Profile> profile_;
};

// Per key (ten keys): a count (small state).
class Small {
 public:
  using Out = Seen;
  void Open(KeyedStateStore<int64_t>& s) { count_ = s.Value<int64_t>("count"); }
  void ProcessElement(const Ev&, ProcessContext<int64_t, Seen>& ctx) {
    ctx.Emit(Seen{ctx.key(), ++count_.GetOrCreate()});
  }

 private:
  ValueState<int64_t, int64_t> count_;
};

JobGraph Build() {
  JobBuilder job("budget");
  auto events = job.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, absl::ZeroDuration());
  auto encode = [](const Seen& s, std::string& out) { absl::StrAppend(&out, s.key, ",", s.count); };
  events.KeyBy(&Ev::key).Process("big", Big()).Sink("big_seen", encode);
  events.KeyBy("decile", [](const Ev& e) { return e.key % 10; })
      .Process("small", Small())
      .Sink("small_seen", encode);
  return *std::move(job).Build();
}

// `keys` keys, each seen `rounds` times, round after round.
struct Outcome {
  RunStats stats;
  std::vector<std::string> big, small;
};
Outcome RunOver(int64_t keys, int rounds, StateDirectory* dir) {
  std::vector<std::string> lines;
  int64_t ts = 1'000'000;
  for (int r = 0; r < rounds; ++r) {
    for (int64_t k = 0; k < keys; ++k) lines.push_back(absl::StrCat(ts++, ",", k));
  }
  Executor::Inputs inputs;
  inputs["events"].push_back(std::make_unique<testing::MemoryInput>("in", lines));
  testing::MemoryOutputs outputs;
  RunOptions ro;
  ro.threads = 2;
  ro.batch_size = 500;
  ro.state = dir;
  ro.checkpoint_every_records = 2000;
  absl::StatusOr<RunStats> stats = Executor::Run(Build(), std::move(inputs), outputs, ro);
  EXPECT_TRUE(stats.ok()) << stats.status();
  return Outcome{stats.ok() ? *stats : RunStats(), outputs.lines("big_seen"), outputs.lines("small_seen")};
}

// Every key's counts 1..rounds, in some order.
void ExpectCounts(const std::vector<std::string>& lines, int64_t keys, int rounds) {
  std::map<int64_t, int64_t> last;
  for (const std::string& l : lines) {
    std::vector<absl::string_view> f = absl::StrSplit(l, ',');
    int64_t k = 0, n = 0;
    ASSERT_TRUE(f.size() == 2 && absl::SimpleAtoi(f[0], &k) && absl::SimpleAtoi(f[1], &n)) << l;
    ASSERT_EQ(n, last[k] + 1) << "key " << k;
    last[k] = n;
  }
  ASSERT_EQ(static_cast<int64_t>(last.size()), keys);
  for (const auto& [k, n] : last) EXPECT_EQ(n, rounds) << "key " << k;
}

TEST(CacheBudgetTest, AnOperatorWithLargeStateUsesWhatTheOthersLeave) {
  // 16 MiB of state memory: 8 MiB for the caches. 3000 keys of ~2 KiB: about
  // 6.5 MiB, more than a quarter of the budget (two operators, two tasks)
  // but within the whole: all of it stays cached.
  auto dir = StateDirectory::Open({testing::MakeScratchDir("budget_share") + "/db", "budget", 16 << 20});
  ASSERT_TRUE(dir.ok()) << dir.status();
  const size_t budget = (*dir)->cache_budget();
  const Outcome r = RunOver(3000, 2, dir->get());
  ExpectCounts(r.big, 3000, 2);
  ExpectCounts(r.small, 10, 600);
  EXPECT_GT(r.stats.state_cache_bytes, 3000u * 2000u);
  EXPECT_LE(r.stats.state_cache_bytes, budget);
}

TEST(CacheBudgetTest, TogetherTheCachesStayWithinTheBudgetAndReadBackWhatTheyEvicted) {
  // 12000 keys of ~2 KiB: about 26 MiB of state for 8 MiB of caches.
  auto dir = StateDirectory::Open({testing::MakeScratchDir("budget_over") + "/db", "budget", 16 << 20});
  ASSERT_TRUE(dir.ok()) << dir.status();
  const size_t budget = (*dir)->cache_budget();
  const Outcome r = RunOver(12000, 3, dir->get());
  ExpectCounts(r.big, 12000, 3);
  ExpectCounts(r.small, 10, 3600);
  EXPECT_LE(r.stats.state_cache_bytes, budget);
  EXPECT_GT(r.stats.state_cache_bytes, budget / 2);
}

}  // namespace
}  // namespace eddy
