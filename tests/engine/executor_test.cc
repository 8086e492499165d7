// End-to-end behaviour of the executor on random, out-of-order streams:
// windowed results against a brute-force reference, identical outputs for
// every thread count, late and malformed records routed with their origin,
// timers in order, idle partitions releasing the watermark.
#include "engine/executor.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "connectors/json_reader.h"
#include "engine/event_time.h"
#include "engine/job_builder.h"
#include "gtest/gtest.h"
#include "tests/testing/memory_io.h"

namespace eddy {
namespace {

using testing::MemoryInput;
using testing::MemoryOutputs;

// "ts,key,value"
struct Ev {
  int64_t ts = 0;
  int64_t key = 0;
  int64_t value = 0;
};

absl::StatusOr<Ev> ParseEv(absl::string_view line) {
  std::vector<absl::string_view> f = absl::StrSplit(line, ',');
  Ev e;
  if (f.size() != 3 || !absl::SimpleAtoi(f[0], &e.ts) || !absl::SimpleAtoi(f[1], &e.key) ||
      !absl::SimpleAtoi(f[2], &e.value)) {
    return absl::InvalidArgumentError("expected ts,key,value");
  }
  return e;
}

constexpr int64_t kWindow = 1000;

struct WindowSum {
  int64_t key, start, sum, count;
};

// Tumbling event-time windows per key.
class WindowSummer {
 public:
  using Out = WindowSum;
  struct Acc {
    std::map<int64_t, std::pair<int64_t, int64_t>> windows;  // start -> (sum, count)
  };
  void Open(KeyedStateStore<int64_t>& s) { acc_ = s.Value<Acc>("acc"); }
  void ProcessElement(const Ev& e, ProcessContext<int64_t, WindowSum>& ctx) {
    const int64_t start = WindowStart(e.ts, kWindow);
    auto& w = acc_.GetOrCreate().windows[start];
    w.first += e.value;
    ++w.second;
    ctx.RegisterTimer(start + kWindow - 1);
  }
  void OnTimer(EventTime t, ProcessContext<int64_t, WindowSum>& ctx) {
    Acc* acc = acc_.Mutable();
    ASSERT_NE(acc, nullptr);
    auto it = acc->windows.find(t + 1 - kWindow);
    ASSERT_NE(it, acc->windows.end());
    ctx.Emit(WindowSum{ctx.key(), it->first, it->second.first, it->second.second});
    acc->windows.erase(it);
    if (acc->windows.empty()) acc_.Clear();
  }

 private:
  ValueState<int64_t, Acc> acc_;
};

struct Running {
  int64_t key, value, count;
};

// Emits, for every record, how many records its key has had so far.
class RunningCount {
 public:
  using Out = Running;
  void Open(KeyedStateStore<int64_t>& s) { n_ = s.Value<int64_t>("n"); }
  void ProcessElement(const Ev& e, ProcessContext<int64_t, Running>& ctx) {
    ctx.Emit(Running{ctx.key(), e.value, ++n_.GetOrCreate()});
  }

 private:
  ValueState<int64_t, int64_t> n_;
};

struct Options {
  int threads = 1;
  size_t batch_size = 64;
  int64_t bound_ms = 50;
  int64_t lateness_ms = 0;
  int64_t idle_ms = 0;
};

JobGraph BuildTestJob(const Options& o) {
  JobBuilder job("executor_test");
  EventTimeOptions et;
  et.max_out_of_orderness = absl::Milliseconds(o.bound_ms);
  et.allowed_lateness = absl::Milliseconds(o.lateness_ms);
  et.idle_timeout = absl::Milliseconds(o.idle_ms);
  Stream<Ev> events = job.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, et);
  // Values divisible by 3 are doubled into a second record (x10); values
  // divisible by 5 are dropped.
  Stream<Ev> expanded = events
                            .FlatMap<Ev>("expand",
                                         [](const Ev& e, Emitter<Ev>& out) {
                                           out.Emit(e);
                                           if (e.value % 3 == 0) out.Emit(Ev{e.ts, e.key, e.value * 10});
                                         })
                            .Filter("drop5", [](const Ev& e) { return e.value % 5 != 0; });
  KeyedStream<int64_t, Ev> keyed = expanded.KeyBy("by_key", &Ev::key);
  keyed.Process("window_sums", WindowSummer{})
      .Sink("windows", [](const WindowSum& w, std::string& out) {
        absl::StrAppend(&out, w.key, ",", w.start, ",", w.sum, ",", w.count);
      });
  keyed.Process("running_counts", RunningCount{})
      .Sink("running", [](const Running& r, std::string& out) {
        absl::StrAppend(&out, r.key, ",", r.value, ",", r.count);
      });
  expanded.Map("negate", [](const Ev& e) { return Ev{e.ts, e.key, -e.value}; })
      .Union("both", {expanded})
      .Sink("union", [](const Ev& e, std::string& out) { absl::StrAppend(&out, e.value); });
  absl::StatusOr<JobGraph> graph = std::move(job).Build();
  EXPECT_TRUE(graph.ok()) << graph.status();
  return *std::move(graph);
}

struct Stream3 {
  std::vector<std::vector<std::string>> partitions;
};

// Random events over `parts` partitions: each partition's clock moves forward;
// events are up to `jitter` ms out of order; a few are `late_by` ms late and
// a few lines are malformed.
Stream3 RandomStream(uint64_t seed, int parts, int n, int64_t jitter, int keys) {
  std::mt19937_64 rng(seed);
  Stream3 s;
  s.partitions.resize(parts);
  std::vector<int64_t> clock(parts, 1'000'000);
  for (int i = 0; i < n; ++i) {
    const int p = static_cast<int>(rng() % parts);
    clock[p] += static_cast<int64_t>(rng() % 40);
    int64_t ts = clock[p] - static_cast<int64_t>(rng() % (jitter + 1));
    if (rng() % 50 == 0) ts -= 20'000 + static_cast<int64_t>(rng() % 5000);  // late
    const int64_t key = static_cast<int64_t>(rng() % keys);
    const int64_t value = static_cast<int64_t>(rng() % 1000) - 100;
    if (rng() % 97 == 0) {
      s.partitions[p].push_back(absl::StrCat(ts, ";", key));  // malformed
    } else {
      s.partitions[p].push_back(absl::StrCat(ts, ",", key, ",", value));
    }
  }
  return s;
}

struct RunResult {
  RunStats stats;
  std::map<std::string, std::vector<std::string>> out;
};

RunResult RunJob(const Stream3& s, const Options& o) {
  Executor::Inputs inputs;
  for (size_t p = 0; p < s.partitions.size(); ++p) {
    inputs["events"].push_back(std::make_unique<MemoryInput>(absl::StrCat("p", p), s.partitions[p]));
  }
  MemoryOutputs outputs;
  RunOptions ro;
  ro.threads = o.threads;
  ro.batch_size = o.batch_size;
  absl::StatusOr<RunStats> stats = Executor::Run(BuildTestJob(o), std::move(inputs), outputs, ro);
  EXPECT_TRUE(stats.ok()) << stats.status();
  RunResult r;
  r.stats = *stats;
  for (const char* name : {"windows", "running", "union", "dead_letters", "late_events"}) {
    r.out[name] = outputs.lines(name);
  }
  return r;
}

// Origin "pN:line" of each late record.
std::set<std::string> LateOrigins(const RunResult& r) {
  std::set<std::string> origins;
  for (const std::string& line : r.out.at("late_events")) {
    std::string origin;
    EXPECT_TRUE(ParseJsonObjectCopy(line, [&](absl::string_view k, JsonValue& v) {
                  if (k == "origin") return v.GetString(origin);
                  return absl::OkStatus();
                }).ok());
    origins.insert(origin);
  }
  return origins;
}

TEST(ExecutorTest, WindowsMatchBruteForceOnRandomOutOfOrderStreams) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    for (size_t batch : {7u, 64u, 1000u}) {
      Options o;
      o.batch_size = batch;
      o.threads = static_cast<int>(1 + seed % 4);
      const Stream3 s = RandomStream(seed, 3, 3000, /*jitter=*/o.bound_ms, /*keys=*/17);
      const RunResult r = RunJob(s, o);
      const std::set<std::string> late = LateOrigins(r);

      // Reference: every well-formed, on-time record, in input order per
      // partition; windows are independent of arrival order.
      std::map<std::tuple<int64_t, int64_t>, std::pair<int64_t, int64_t>> ref;
      uint64_t malformed = 0;
      for (size_t p = 0; p < s.partitions.size(); ++p) {
        for (size_t i = 0; i < s.partitions[p].size(); ++i) {
          absl::StatusOr<Ev> e = ParseEv(s.partitions[p][i]);
          if (!e.ok()) {
            ++malformed;
            continue;
          }
          if (late.count(absl::StrCat("p", p, ":", i + 1))) continue;
          std::vector<Ev> expanded = {*e};
          if (e->value % 3 == 0) expanded.push_back(Ev{e->ts, e->key, e->value * 10});
          for (const Ev& x : expanded) {
            if (x.value % 5 == 0) continue;
            const int64_t start = WindowStart(x.ts, kWindow);
            auto& w = ref[{x.key, start}];
            w.first += x.value;
            ++w.second;
          }
        }
      }
      std::vector<std::string> expected;
      for (const auto& [k, v] : ref) {
        expected.push_back(absl::StrCat(std::get<0>(k), ",", std::get<1>(k), ",", v.first, ",", v.second));
      }
      std::vector<std::string> got = r.out.at("windows");
      std::sort(got.begin(), got.end());
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(got, expected) << "seed " << seed << " batch " << batch;
      EXPECT_EQ(r.stats.dead_letters, malformed);
      EXPECT_EQ(r.stats.late_events, late.size());
      EXPECT_GT(r.stats.late_events, 0u) << "the stream should contain late records";
      EXPECT_EQ(r.stats.events, 3000u);
    }
  }
}

TEST(ExecutorTest, LateRecordsAreBehindTheWatermarkAndOnTimeOnesNeverAre) {
  Options o;
  const Stream3 s = RandomStream(42, 2, 4000, o.bound_ms, 5);
  const RunResult r = RunJob(s, o);
  for (const std::string& line : r.out.at("late_events")) {
    int64_t ts = 0, wm = 0;
    ASSERT_TRUE(ParseJsonObjectCopy(line, [&](absl::string_view k, JsonValue& v) {
                  if (k == "ts") return v.GetInt(ts);
                  if (k == "watermark") return v.GetInt(wm);
                  return absl::OkStatus();
                }).ok());
    EXPECT_LE(ts, wm) << line;
    // Only the records the generator made late (>= 20 s behind) are late.
    EXPECT_LT(ts, wm - 10'000) << line;
  }
}

TEST(ExecutorTest, AllowedLatenessLetsSlightlyLateRecordsThrough) {
  Options strict;
  Options lenient;
  lenient.lateness_ms = 60'000;
  const Stream3 s = RandomStream(7, 2, 3000, strict.bound_ms, 5);
  const RunResult a = RunJob(s, strict);
  const RunResult b = RunJob(s, lenient);
  EXPECT_GT(a.stats.late_events, 0u);
  EXPECT_EQ(b.stats.late_events, 0u);
  // The records that were late under the strict run now reach the operators.
  EXPECT_GT(b.out.at("running").size(), a.out.at("running").size());
  EXPECT_EQ(b.stats.dead_letters, a.stats.dead_letters);
}

TEST(ExecutorTest, OutputsAreByteIdenticalForAnyThreadCount) {
  const Stream3 s = RandomStream(99, 3, 5000, 50, 31);
  for (size_t batch : {13u, 256u}) {
    Options base;
    base.batch_size = batch;
    const RunResult one = RunJob(s, base);
    for (int threads : {2, 3, 4, 8}) {
      Options o = base;
      o.threads = threads;
      const RunResult many = RunJob(s, o);
      for (const auto& [name, lines] : one.out) {
        EXPECT_EQ(many.out.at(name), lines) << name << " threads=" << threads;
      }
    }
  }
}

TEST(ExecutorTest, KeyedOutputsKeepTheInputOrder) {
  // RunningCount emits one record per input; across tasks the sink must
  // restore exactly the order the records entered the KeyBy.
  Options o;
  o.threads = 4;
  o.batch_size = 100;
  const Stream3 s = RandomStream(5, 1, 2000, 0, 9);  // one partition: arrival order is known
  const RunResult r = RunJob(s, o);
  const std::set<std::string> late = LateOrigins(r);
  std::vector<std::string> expected;
  std::map<int64_t, int64_t> counts;
  for (size_t i = 0; i < s.partitions[0].size(); ++i) {
    absl::StatusOr<Ev> e = ParseEv(s.partitions[0][i]);
    if (!e.ok() || late.count(absl::StrCat("p0:", i + 1))) continue;
    std::vector<Ev> expanded = {*e};
    if (e->value % 3 == 0) expanded.push_back(Ev{e->ts, e->key, e->value * 10});
    for (const Ev& x : expanded) {
      if (x.value % 5 == 0) continue;
      expected.push_back(absl::StrCat(x.key, ",", x.value, ",", ++counts[x.key]));
    }
  }
  EXPECT_EQ(r.out.at("running"), expected);
}

TEST(ExecutorTest, MalformedRecordsGoToDeadLettersWithOrigin) {
  Stream3 s;
  s.partitions = {{"1000,1,5", "garbage", "1001,1,6"}, {"1000,2,7", "", "1,2"}};
  Options o;
  const RunResult r = RunJob(s, o);
  ASSERT_EQ(r.out.at("dead_letters").size(), 3u);
  EXPECT_EQ(r.out.at("dead_letters")[0],
            R"({"origin":"p0:2","source":"events","reason":"expected ts,key,value","record":"garbage"})");
  EXPECT_NE(r.out.at("dead_letters")[1].find(R"("origin":"p1:2")"), std::string::npos);
  EXPECT_NE(r.out.at("dead_letters")[2].find(R"("origin":"p1:3")"), std::string::npos);
  EXPECT_EQ(r.stats.dead_letters, 3u);
  EXPECT_EQ(r.stats.dead_letter_reasons.at("expected ts,key,value"), 3u);
}

TEST(ExecutorTest, AHugeBadRecordIsKeptAsAPrefixWithItsSize) {
  Stream3 s;
  const std::string huge(200000, 'z');
  s.partitions = {{"1000,1,5", huge}};
  Options o;
  const RunResult r = RunJob(s, o);
  ASSERT_EQ(r.out.at("dead_letters").size(), 1u);
  const std::string& d = r.out.at("dead_letters")[0];
  EXPECT_NE(d.find(R"("record":")" + std::string(64 << 10, 'z') + R"(","record_bytes":200000})"),
            std::string::npos);
  EXPECT_LT(d.size(), size_t{70} << 10);
}

// Records the watermark and time of every timer that fires.
struct Fired {
  int64_t key, time, watermark;
};
class TimerRecorder {
 public:
  using Out = Fired;
  void ProcessElement(const Ev& e, ProcessContext<int64_t, Fired>& ctx) {
    ctx.RegisterTimer(e.ts + e.value);  // value doubles as the delay
  }
  void OnTimer(EventTime t, ProcessContext<int64_t, Fired>& ctx) {
    ctx.Emit(Fired{ctx.key(), t, ctx.watermark()});
  }
};

TEST(ExecutorTest, TimersFireOnceInTimestampOrderWhenTheWatermarkPassesThem) {
  std::mt19937_64 rng(3);
  std::vector<std::string> lines;
  std::multiset<std::pair<int64_t, int64_t>> registered;  // (key, time), deduplicated below
  int64_t clock = 10'000;
  for (int i = 0; i < 3000; ++i) {
    clock += static_cast<int64_t>(rng() % 20);
    const int64_t key = static_cast<int64_t>(rng() % 7);
    const int64_t delay = static_cast<int64_t>(rng() % 500);
    lines.push_back(absl::StrCat(clock, ",", key, ",", delay));
    registered.insert({key, clock + delay});
  }
  std::set<std::pair<int64_t, int64_t>> unique(registered.begin(), registered.end());
  for (int threads : {1, 3}) {
    JobBuilder job("timers");
    job.Source<Ev>("events", ParseEv)
        .WithEventTime(&Ev::ts, absl::ZeroDuration())
        .KeyBy(&Ev::key)
        .Process("timers", TimerRecorder{})
        .Sink("fired", [](const Fired& f, std::string& out) {
          absl::StrAppend(&out, f.key, ",", f.time, ",", f.watermark);
        });
    absl::StatusOr<JobGraph> graph = std::move(job).Build();
    ASSERT_TRUE(graph.ok()) << graph.status();
    Executor::Inputs inputs;
    inputs["events"].push_back(std::make_unique<MemoryInput>("in", lines));
    MemoryOutputs outputs;
    RunOptions ro;
    ro.threads = threads;
    ro.batch_size = 50;
    ASSERT_TRUE(Executor::Run(*std::move(graph), std::move(inputs), outputs, ro).ok());
    std::set<std::pair<int64_t, int64_t>> fired;
    int64_t last_wm = kMinEventTime;
    std::map<int64_t, int64_t> last_time_per_key;
    for (const std::string& line : outputs.lines("fired")) {
      std::vector<std::string> f = absl::StrSplit(line, ',');
      const int64_t key = std::stoll(f[0]), time = std::stoll(f[1]), wm = std::stoll(f[2]);
      EXPECT_LE(time, wm) << "timer fired before the watermark reached it";
      EXPECT_GE(wm, last_wm) << "watermark went backwards";
      last_wm = wm;
      EXPECT_GE(time, last_time_per_key[key]) << "timers of a key out of order";
      last_time_per_key[key] = time;
      EXPECT_TRUE(fired.insert({key, time}).second) << "timer fired twice: " << line;
    }
    EXPECT_EQ(fired, unique);
  }
}

// Keyed timers whose sink "fired" records the watermark each fired at.
absl::StatusOr<JobGraph> TimerWatermarkJob(const EventTimeOptions& et) {
  JobBuilder job("timer_watermarks");
  job.Source<Ev>("events", ParseEv)
      .WithEventTime(&Ev::ts, et)
      .KeyBy(&Ev::key)
      .Process("timers", TimerRecorder{})
      .Sink("fired", [](const Fired& f, std::string& out) { absl::StrAppend(&out, f.watermark); });
  return std::move(job).Build();
}

// Timers of TimerWatermarkJob that fired before the end of the input.
size_t FiredBeforeTheEnd(MemoryOutputs& outputs) {
  size_t n = 0;
  for (const std::string& wm : outputs.lines("fired")) {
    if (wm != absl::StrCat(kMaxEventTime)) ++n;
  }
  return n;
}

TEST(ExecutorTest, IdlePartitionStopsHoldingBackTheWatermark) {
  // Partition "quiet" has one early record, then nothing until the very end.
  // Without an idle timeout the windows can only fire at the end of input;
  // with one, they fire as the busy partition advances.
  std::vector<std::string> busy;
  for (int i = 0; i < 2000; ++i) busy.push_back(absl::StrCat(10'000 + i * 10, ",1,1"));
  const std::vector<std::string> quiet = {"10000,2,1", "30000,2,1"};

  auto run = [&](int64_t idle_ms) {
    EventTimeOptions et;
    et.idle_timeout = absl::Milliseconds(idle_ms);
    absl::StatusOr<JobGraph> graph = TimerWatermarkJob(et);
    EXPECT_TRUE(graph.ok());
    Executor::Inputs inputs;
    inputs["events"].push_back(std::make_unique<MemoryInput>("busy", busy));
    inputs["events"].push_back(std::make_unique<MemoryInput>("quiet", quiet, /*silent_reads=*/1000));
    MemoryOutputs outputs;
    RunOptions ro;
    ro.batch_size = 100;
    absl::StatusOr<RunStats> stats = Executor::Run(*std::move(graph), std::move(inputs), outputs, ro);
    EXPECT_TRUE(stats.ok());
    // Both partitions are read from the first batch on: nothing is late.
    EXPECT_EQ(stats->late_events, 0u);
    return FiredBeforeTheEnd(outputs);
  };
  EXPECT_EQ(run(/*idle_ms=*/0), 0u);
  EXPECT_GT(run(/*idle_ms=*/1000), 1000u);
}

// Two partitions over the same hour of event time, one with 100 times the
// records of the other: read a fair share of records each per batch, the
// sparse one runs ahead in event time. How far a record is behind the
// largest time read before it is the skew operators see (a label arriving
// after its example was learned). With alignment it stays within the drift
// plus one batch's share of the sparse partition.
TEST(ExecutorTest, AlignmentKeepsPartitionsWithinTheDriftOfEachOther) {
  std::vector<std::string> dense, sparse;
  for (int64_t t = 0; t < 3'600'000; t += 100) dense.push_back(absl::StrCat(t, ",1,1"));
  for (int64_t t = 0; t < 3'600'000; t += 10'000) sparse.push_back(absl::StrCat(t, ",2,1"));
  const auto skew = [&](absl::Duration drift) {
    EventTimeOptions et;
    et.max_drift = drift;
    JobBuilder job("aligned");
    job.Source<Ev>("events", ParseEv)
        .WithEventTime(&Ev::ts, et)
        .Sink("out", [](const Ev& e, std::string& line) { absl::StrAppend(&line, e.ts); });
    absl::StatusOr<JobGraph> graph = std::move(job).Build();
    EXPECT_TRUE(graph.ok()) << graph.status();
    Executor::Inputs inputs;
    inputs["events"].push_back(std::make_unique<MemoryInput>("dense", dense));
    inputs["events"].push_back(std::make_unique<MemoryInput>("sparse", sparse));
    MemoryOutputs outputs;
    RunOptions ro;
    ro.batch_size = 20;  // 10 records per partition per batch
    absl::StatusOr<RunStats> stats = Executor::Run(*std::move(graph), std::move(inputs), outputs, ro);
    EXPECT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(outputs.lines("out").size(), dense.size() + sparse.size());  // nothing held forever
    EXPECT_EQ(stats->late_events, 0u);
    int64_t max_seen = 0, worst = 0;
    for (const std::string& line : outputs.lines("out")) {
      const int64_t ts = std::stoll(line);
      worst = std::max(worst, max_seen - ts);
      max_seen = std::max(max_seen, ts);
    }
    return worst;
  };
  const int64_t unaligned = skew(absl::InfiniteDuration());
  const int64_t aligned = skew(absl::Seconds(30));
  // Unaligned, the sparse partition is done while the dense one is at a
  // few percent of the hour.
  EXPECT_GT(unaligned, 3'000'000) << "the case does not skew: the check below is idle";
  // 30 s, plus one batch's share of the sparse partition (10 records).
  EXPECT_LE(aligned, 30'000 + 10 * 10'000);
  std::printf("skew: %lld ms unaligned, %lld ms aligned\n", static_cast<long long>(unaligned),
              static_cast<long long>(aligned));
}

TEST(ExecutorTest, APartitionThatDeliversThenRunsDryAdvancesTheWatermark) {
  // A live partition (Kafka) hands over what it has, then has nothing for a
  // while. Its records count: the watermark moves and timers fire before the
  // input ends, although a later poll in the same batch came back empty.
  std::vector<std::string> lines;
  for (int i = 0; i < 500; ++i) lines.push_back(absl::StrCat(10'000 + i * 100, ",", i % 7, ",1"));
  EventTimeOptions et;
  et.max_out_of_orderness = absl::Milliseconds(100);
  absl::StatusOr<JobGraph> graph = TimerWatermarkJob(et);
  ASSERT_TRUE(graph.ok());
  Executor::Inputs inputs;
  inputs["events"].push_back(std::make_unique<MemoryInput>("live", lines, /*silent_reads=*/50));
  MemoryOutputs outputs;
  RunOptions ro;
  ro.batch_size = 4096;  // the whole burst fits in one batch, then a poll finds nothing
  absl::StatusOr<RunStats> stats = Executor::Run(*std::move(graph), std::move(inputs), outputs, ro);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GT(FiredBeforeTheEnd(outputs), 0u);
}

TEST(ExecutorTest, EveryFileIsReadFromTheStartSoInOrderDataIsNeverLate) {
  // 20 files of in-order events with the default idle timeout, and batches
  // smaller and larger than the number of files: every file must be read
  // every batch (or in rotation), never starved until another finishes.
  std::vector<std::vector<std::string>> files(20);
  for (int f = 0; f < 20; ++f) {
    for (int i = 0; i < 500; ++i) files[f].push_back(absl::StrCat(1'000'000 + i * 1000, ",", f, ",1"));
  }
  for (size_t batch : {7u, 64u, 4096u}) {
    Stream3 s;
    s.partitions = files;
    Options o;
    o.batch_size = batch;
    o.bound_ms = 0;
    o.idle_ms = 60'000;
    const RunResult r = RunJob(s, o);
    EXPECT_EQ(r.stats.late_events, 0u) << "batch " << batch;
    EXPECT_EQ(r.stats.events, 10'000u);
  }
}

TEST(ExecutorTest, OperatorCountsAreTheSameForAnyThreadCount) {
  const Stream3 s = RandomStream(17, 3, 3000, 50, 11);
  Options o;
  const RunResult one = RunJob(s, o);
  o.threads = 3;
  const RunResult three = RunJob(s, o);
  EXPECT_EQ(one.stats.operator_records, three.stats.operator_records);
  std::map<std::string, uint64_t> counts(one.stats.operator_records.begin(),
                                         one.stats.operator_records.end());
  EXPECT_EQ(counts["events"], one.stats.events - one.stats.dead_letters - one.stats.late_events);
  EXPECT_EQ(counts["by_key"], counts["drop5"]);
  EXPECT_EQ(counts["running_counts"], counts["by_key"]);
  EXPECT_EQ(counts["both"], 2 * counts["drop5"]);
  EXPECT_GT(counts["window_sums"], 0u);
}

TEST(ExecutorTest, EventTimesOutOfRangeAreDeadLetters) {
  Stream3 s;
  s.partitions = {{"1000,1,1", "9223372036854775807,1,1", "-9223372036854775808,1,1",
                   "9007199254740993,1,1", "2000,1,1"}};
  Options o;
  const RunResult r = RunJob(s, o);
  EXPECT_EQ(r.stats.dead_letters, 3u);
  EXPECT_EQ(r.stats.dead_letter_reasons.at("event time out of range"), 3u);
  EXPECT_EQ(r.stats.late_events, 0u);
  EXPECT_EQ(r.out.at("running").size(), 2u);
}

TEST(ExecutorTest, MissingInputBindingIsAnError) {
  Options o;
  MemoryOutputs outputs;
  Executor::Inputs inputs;
  absl::StatusOr<RunStats> r = Executor::Run(BuildTestJob(o), std::move(inputs), outputs, RunOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no input given for source 'events'"), absl::string_view::npos);

  Executor::Inputs extra;
  extra["events"].push_back(std::make_unique<MemoryInput>("a", std::vector<std::string>{}));
  extra["nope"].push_back(std::make_unique<MemoryInput>("b", std::vector<std::string>{}));
  r = Executor::Run(BuildTestJob(o), std::move(extra), outputs, RunOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no source named nope"), absl::string_view::npos);
}

}  // namespace
}  // namespace eddy
