// `eddy run` end to end on the embedded broker, fed and read by kcat (an
// ordinary Kafka client): live outputs equal replay's, a stop-and-restart
// neither loses nor repeats anything, two processes share a group and one
// survives the other's SIGKILL without losing an output, and deployment
// mistakes fail fast with a clear message.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "connectors/embedded_broker.h"
#include "gtest/gtest.h"
#include "tests/testing/command.h"
#include "tests/testing/json_field.h"
#include "tests/testing/http.h"
#include "tests/testing/kafka.h"

namespace eddy {
namespace {

using testing::EddyBinary;
using testing::MakeScratchDir;
using testing::ReadFileOrEmpty;
using testing::RunCommand;
using testing::SpawnEddy;
using testing::WaitExit;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view l : absl::StrSplit(text, '\n', absl::SkipEmpty())) out.emplace_back(l);
  return out;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// What `got` lacks and has too many of, compared with `want` (as
// multisets); "" when they are equal.
std::string MultisetDiff(std::vector<std::string> got, std::vector<std::string> want) {
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  std::vector<std::string> missing, extra;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(), std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
  if (missing.empty() && extra.empty()) return "";
  std::string out = absl::StrCat(got.size(), " written, ", want.size(), " expected; ",
                                 missing.size(), " missing, ", extra.size(), " extra");
  for (size_t i = 0; i < missing.size() && i < 5; ++i) absl::StrAppend(&out, "\n  missing ", missing[i]);
  for (size_t i = 0; i < extra.size() && i < 5; ++i) absl::StrAppend(&out, "\n  extra ", extra[i]);
  return out;
}

class KafkaRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("kafka_run");
    ASSERT_EQ(RunCommand("command -v kcat", dir_).exit_code, 0)
        << "kcat is not installed (scripts/setup.sh installs it)";
    auto broker = EmbeddedBroker::Start({1});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    bootstrap_ = broker_->bootstrap_servers();
    for (const auto& [topic, partitions] : std::vector<std::pair<std::string, int>>{
             {"qualified_plays.events", 4}, {"qualified_plays.plays", 2},
             {"qualified_plays.dlq", 1}, {"qualified_plays.late", 1},
             {"qualified_plays.staging", 1}}) {
      ASSERT_TRUE(broker_->CreateTopic(topic, partitions).ok());
    }
  }

  // Generates `n` listen events (some malformed) into FILE; returns the path.
  std::string Generate(const std::string& name, int n, int seed) {
    const std::string path = dir_ + "/" + name;
    EXPECT_EQ(RunCommand(absl::StrCat(EddyBinary(), " gen listens --events ", n, " --seed ", seed,
                                      " --malformed-rate 0.01 --late-rate 0 --out ", path),
                         dir_)
                  .exit_code,
              0);
    return path;
  }

  // One file holding `files` one after the other.
  std::string Concat(const std::vector<std::string>& files) {
    const std::string path = dir_ + "/concat.jsonl";
    std::ofstream out(path, std::ios::binary);
    for (const std::string& f : files) out << ReadFileOrEmpty(f);
    return path;
  }

  // Produces each line of `file` with kcat, keyed by its user.
  void ProduceWithKcat(const std::string& file,
                       const std::string& topic = "qualified_plays.events") {
    const std::string keyed = file + ".keyed";
    std::ofstream out(keyed);
    for (const std::string& line : Lines(ReadFileOrEmpty(file))) {
      std::string key = "none";
      const size_t at = line.find("\"user\":\"");
      if (at != std::string::npos) key = line.substr(at + 8, line.find('"', at + 8) - at - 8);
      out << key << '\t' << line << '\n';
    }
    out.close();
    const auto r = RunCommand(absl::StrCat("kcat -P -b ", bootstrap_,
                                           " -t ", topic, " -K '\\t' -z lz4 -l ", keyed),
                              dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Produces `file` in slices of 1000 lines, `gap` apart, calling
  // `after_first` once the first slice is in.
  void ProduceInSlices(const std::string& file, std::chrono::milliseconds gap,
                       const std::function<void()>& after_first = [] {},
                       const std::string& topic = "qualified_plays.events") {
    const std::vector<std::string> lines = Lines(ReadFileOrEmpty(file));
    for (size_t at = 0; at < lines.size(); at += 1000) {
      const std::string path = absl::StrCat(file, ".slice", at);
      std::ofstream out(path);
      for (size_t i = at; i < std::min(lines.size(), at + 1000); ++i) out << lines[i] << '\n';
      out.close();
      ProduceWithKcat(path, topic);
      if (at == 0) after_first();
      std::this_thread::sleep_for(gap);
    }
  }

  // What `eddy replay` writes for `file`: plays and the dead-letter count.
  std::pair<std::vector<std::string>, size_t> Replay(const std::string& file) {
    const std::string out = file + ".replay";
    const auto r = RunCommand(
        absl::StrCat(EddyBinary(), " replay qualified_plays --input ", file, " --output-dir ", out),
        dir_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return {Lines(ReadFileOrEmpty(out + "/plays.jsonl")),
            Lines(ReadFileOrEmpty(out + "/dead_letters.jsonl")).size()};
  }

  // Every record of `topic`, read with kcat to the end.
  std::vector<std::string> ReadWithKcat(const std::string& topic) {
    const auto r = RunCommand(absl::StrCat("kcat -C -b ", bootstrap_, " -t ", topic, " -e -q"), dir_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Lines(r.out);
  }

  // Waits until every line of `want` is in `topic` (duplicates aside).
  void WaitForAll(const std::string& topic, const std::vector<std::string>& want) {
    const std::set<std::string> need(want.begin(), want.end());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::vector<std::string> got = ReadWithKcat(topic);
      const std::set<std::string> have(got.begin(), got.end());
      if (std::includes(have.begin(), have.end(), need.begin(), need.end())) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    ADD_FAILURE() << "timed out waiting for every expected record in " << topic;
  }

  // Waits until `topic` holds at least `n` records.
  void WaitForRecords(const std::string& topic, size_t n) {
    const auto got = testing::ConsumeMessages(bootstrap_, topic, n, std::chrono::seconds(120));
    ASSERT_GE(got.size(), n) << "timed out waiting for " << topic;
  }

  // Waits (up to a minute) until the last line of every log contains
  // `text` (status lines: e.g. how many partitions a member owns).
  bool WaitForStatus(const std::vector<std::string>& logs, const std::string& text) {
    const auto all = [&] {
      for (const std::string& log : logs) {
        const std::vector<std::string> lines = Lines(ReadFileOrEmpty(log));
        if (lines.empty() || lines.back().find(text) == std::string::npos) return false;
      }
      return true;
    };
    for (int i = 0; i < 600 && !all(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return all();
  }

  std::vector<std::string> RunArgs(const std::string& state_dir,
                                   const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        "run", "qualified_plays", "--brokers", bootstrap_, "--state-dir", state_dir,
        "--checkpoint-interval-ms", "300", "--status-interval-ms", "500",
        "--kafka", "session.timeout.ms=6000", "--kafka", "heartbeat.interval.ms=500"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  std::string dir_;
  std::unique_ptr<EmbeddedBroker> broker_;
  std::string bootstrap_;
};

TEST_F(KafkaRunTest, LiveOutputsEqualReplayAndAStopAndRestartLosesAndRepeatsNothing) {
  const std::string first = Generate("first.jsonl", 6000, 1);
  const std::string second = Generate("second.jsonl", 4000, 2);
  const std::string both = Concat({first, second});
  const auto [want_first, dead_first] = Replay(first);
  const auto [want_all, dead_all] = Replay(both);
  ASSERT_GT(dead_first, 0u);
  ASSERT_GT(want_all.size(), want_first.size());

  ProduceWithKcat(first);
  const std::string log = dir_ + "/run.log";
  pid_t pid = SpawnEddy(RunArgs(dir_ + "/state"), log);
  WaitForRecords("qualified_plays.plays", want_first.size());
  WaitForRecords("qualified_plays.dlq", dead_first);
  kill(pid, SIGTERM);
  ASSERT_EQ(WaitExit(pid), 0) << ReadFileOrEmpty(log);
  EXPECT_EQ(Sorted(ReadWithKcat("qualified_plays.plays")), Sorted(want_first));

  // Restarted (on two threads this time), it goes on where it stopped:
  // nothing read twice.
  ProduceWithKcat(second);
  std::vector<std::string> args = RunArgs(dir_ + "/state");
  args.push_back("--threads");
  args.push_back("2");
  pid = SpawnEddy(args, log);
  WaitForRecords("qualified_plays.plays", want_all.size());
  WaitForRecords("qualified_plays.dlq", dead_all);
  kill(pid, SIGTERM);
  ASSERT_EQ(WaitExit(pid), 0) << ReadFileOrEmpty(log);
  EXPECT_NE(ReadFileOrEmpty(log).find("resumed from a checkpoint"), std::string::npos);
  EXPECT_EQ(Sorted(ReadWithKcat("qualified_plays.plays")), Sorted(want_all));
  const std::vector<std::string> dead = ReadWithKcat("qualified_plays.dlq");
  EXPECT_EQ(dead.size(), dead_all);
  for (const std::string& d : dead) {
    EXPECT_NE(d.find("\"origin\":\"qualified_plays.events/"), std::string::npos) << d;
    EXPECT_NE(d.find("\"reason\":"), std::string::npos) << d;
  }
}

// `eddy run learn` on Kafka scores and learns from every example as `eddy
// replay learn` does for the same lines: one input partition, one model, so
// the predictions (the score before learning, in order) and the metrics
// windows are the same, bit for bit, also when a second process without
// the first one's state directory continues after it: the model (1 MiB,
// more than a Kafka message holds) comes to it through the changelog, and
// it writes that model with --model-out when stopped.
// Malformed lines go to learn.dlq.
TEST_F(KafkaRunTest, LearnOnKafkaScoresEveryExampleAsReplayDoesAcrossARestart) {
  for (const char* t : {"learn.examples", "learn.predictions", "learn.metrics",
                               "learn.alerts", "learn.dlq", "learn.late",
                               "learn.one_model.repartition", "learn.one_model.changelog"}) {
    ASSERT_TRUE(broker_->CreateTopic(t, 1).ok());
  }
  // Examples from a hidden logistic rule over 3 fields of 50 values each.
  std::mt19937_64 rng(11);
  std::vector<double> weight(150);
  for (double& w : weight) w = std::normal_distribution<double>(0, 1)(rng);
  std::vector<std::string> lines;
  for (int i = 0; i < 6000; ++i) {
    if (i % 1000 == 500) lines.push_back(absl::StrCat("not|an example ", i));
    int v[3];
    double z = -1.0;
    for (int f = 0; f < 3; ++f) {
      v[f] = static_cast<int>(rng() % 50);
      z += weight[f * 50 + v[f]];
    }
    const bool click = std::uniform_real_distribution<double>(0, 1)(rng) < 1 / (1 + std::exp(-z));
    lines.push_back(absl::StrCat(click ? "1" : "-1", " 'e", i, " |a a", v[0], " |b b", v[1],
                                 " |c c", v[2]));
  }
  const auto write = [&](const std::string& name, size_t begin, size_t end) {
    std::ofstream out(dir_ + "/" + name);
    for (size_t i = begin; i < end; ++i) out << lines[i] << '\n';
    return dir_ + "/" + name;
  };
  const std::string first = write("first.vw", 0, 3003), rest = write("rest.vw", 3003, lines.size());
  const std::string all = write("all.vw", 0, lines.size());
  const std::vector<std::string> flags = {"--format", "vw", "--metrics-every", "1000",
                                          "--drift", "adwin", "--bits", "17"};
  std::string replay = absl::StrCat(EddyBinary(), " replay learn --input ", all,
                                    " --output-dir ", dir_, "/replay");
  for (const std::string& f : flags) absl::StrAppend(&replay, " ", f);
  absl::StrAppend(&replay, " --model-out ", dir_, "/replay_model.bin");
  const auto r = RunCommand(replay, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> want = Lines(ReadFileOrEmpty(dir_ + "/replay/predictions.jsonl"));
  ASSERT_EQ(want.size(), 6000u);
  // Live, the input never ends: the metrics windows that closed by count.
  std::vector<std::string> want_metrics = Lines(ReadFileOrEmpty(dir_ + "/replay/metrics.jsonl"));
  ASSERT_EQ(want_metrics.size(), 6u);

  // One checkpoint per run (at its end), so that the changelog keeps every
  // one (the embedded broker keeps 5 MiB per partition).
  const auto args = [&](const std::string& state) {
    std::vector<std::string> a = RunArgs(state, flags);
    a[1] = "learn";
    *(std::find(a.begin(), a.end(), "--checkpoint-interval-ms") + 1) = "600000";
    return a;
  };
  ProduceWithKcat(first, "learn.examples");
  const std::string log_a = dir_ + "/a.log", log_b = dir_ + "/b.log";
  pid_t pid = SpawnEddy(args(dir_ + "/state_a"), log_a);
  WaitForRecords("learn.predictions", 3000);
  kill(pid, SIGTERM);
  ASSERT_EQ(WaitExit(pid), 0) << ReadFileOrEmpty(log_a);
  ProduceWithKcat(rest, "learn.examples");
  std::vector<std::string> second = args(dir_ + "/state_b");
  second.push_back("--model-out");
  second.push_back(dir_ + "/live_model.bin");
  pid = SpawnEddy(second, log_b);
  WaitForRecords("learn.predictions", 6000);
  WaitForRecords("learn.metrics", 6);
  kill(pid, SIGTERM);
  ASSERT_EQ(WaitExit(pid), 0) << ReadFileOrEmpty(log_b);
  EXPECT_NE(ReadFileOrEmpty(log_b).find("KeyBy 'one_model': restored"), std::string::npos)
      << ReadFileOrEmpty(log_b);
  // Stopped, the live run writes its model: the one replay ends with.
  const std::string model = ReadFileOrEmpty(dir_ + "/live_model.bin");
  EXPECT_GT(model.size(), size_t{1} << 20);
  EXPECT_TRUE(model == ReadFileOrEmpty(dir_ + "/replay_model.bin"));
  EXPECT_EQ(ReadWithKcat("learn.predictions"), want);
  EXPECT_EQ(ReadWithKcat("learn.metrics"), want_metrics);
  EXPECT_EQ(ReadWithKcat("learn.alerts"), Lines(ReadFileOrEmpty(dir_ + "/replay/alerts.jsonl")));
  const std::vector<std::string> dead = ReadWithKcat("learn.dlq");
  ASSERT_EQ(dead.size(), 6u);
  for (const std::string& d : dead) {
    EXPECT_NE(d.find("\"origin\":\"learn.examples/0:"), std::string::npos) << d;
  }
}

// `eddy run ctr` on Kafka (one input partition, every internal topic one
// partition) predicts every impression exactly as `eddy replay ctr` does:
// its four KeyBys go through repartition topics, its learner learns when
// each example's window closes, and neither where the live batches end
// nor where its timers fire changes a prediction. Its --audit file equals
// replay's, and its metrics windows are replay's first ones (live, the
// input never ends, so the last windows stay open).
TEST_F(KafkaRunTest, CtrOnKafkaPredictsEveryImpressionAsReplayDoes) {
  for (const char* t : {"ctr.events", "ctr.predictions", "ctr.metrics", "ctr.alerts",
                        "ctr.feature_drift", "ctr.dlq", "ctr.late"}) {
    ASSERT_TRUE(broker_->CreateTopic(t, 1).ok());
  }
  for (const char* k : {"by_user", "by_ad", "model", "drift"}) {
    ASSERT_TRUE(broker_->CreateTopic(absl::StrCat("ctr.", k, ".repartition"), 1).ok());
    ASSERT_TRUE(broker_->CreateTopic(absl::StrCat("ctr.", k, ".changelog"), 1).ok());
  }
  const std::string events = dir_ + "/ctr.jsonl";
  auto r = RunCommand(absl::StrCat(EddyBinary(), " gen ctr --events 60000 --seed 4 --malformed-rate 0.002 --out ",
                                   events), dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand(absl::StrCat(EddyBinary(), " replay ctr --input ", events, " --output-dir ", dir_,
                              "/replay --audit ", dir_, "/replay_audit.jsonl"), dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> want = Lines(ReadFileOrEmpty(dir_ + "/replay/predictions.jsonl"));
  ASSERT_GT(want.size(), 5000u);
  const std::vector<std::string> want_metrics = Lines(ReadFileOrEmpty(dir_ + "/replay/metrics.jsonl"));

  ProduceWithKcat(events, "ctr.events");
  std::vector<std::string> args = RunArgs(
      dir_ + "/state", {"--audit", dir_ + "/live_audit.jsonl", "--metrics-port", "127.0.0.1:0"});
  args[1] = "ctr";
  const std::string log = dir_ + "/ctr.log";
  const pid_t pid = SpawnEddy(args, log);
  WaitForRecords("ctr.predictions", want.size());
  // The metrics endpoint shows the same run: every record read, every
  // impression predicted and scored, nothing left on the broker.
  const std::string announced = ReadFileOrEmpty(log);
  const size_t at = announced.find("metrics on http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << announced;
  const int port = std::stoi(announced.substr(at + 28));
  const double lines = static_cast<double>(Lines(ReadFileOrEmpty(events)).size());
  const double predicted = static_cast<double>(want.size());
  std::string page;
  // The run's figures are a snapshot of at most 200 ms ago; the learner's
  // are as of its last report (after its timers): wait for all three.
  for (int i = 0; i < 600; ++i) {
    page = testing::HttpGet(port, "/metrics").body;
    if (testing::PrometheusValue(page, "eddy_records_read_total{job=\"ctr\"}") == lines &&
        testing::PrometheusValue(page, "eddy_sink_records_total{job=\"ctr\",sink=\"predictions\"}") ==
            predicted &&
        testing::PrometheusValue(page, "eddy_model_impressions_scored_total{job=\"ctr\",model=\"ftrl\"}") ==
            predicted) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(testing::PrometheusValue(page, "eddy_records_read_total{job=\"ctr\"}"), lines) << page;
  EXPECT_EQ(testing::PrometheusValue(page, "eddy_sink_records_total{job=\"ctr\",sink=\"predictions\"}"),
            predicted);
  const double into_filter = testing::PrometheusValue(
      page, "eddy_operator_records_in_total{job=\"ctr\",operator=\"prediction_records\"}");
  EXPECT_GT(into_filter, predicted);  // predictions, metrics, alerts, drift records
  EXPECT_EQ(into_filter,
            testing::PrometheusValue(page, "eddy_operator_records_out_total{job=\"ctr\",operator=\"outputs\"}"));
  EXPECT_EQ(testing::PrometheusValue(page, "eddy_model_impressions_scored_total{job=\"ctr\",model=\"ftrl\"}"),
            predicted);
  EXPECT_EQ(testing::PrometheusValue(
                page, "eddy_consumer_lag_records{job=\"ctr\",topic=\"ctr.events\",partition=\"0\"}"),
            0);
  const double served_logloss = testing::PrometheusValue(page, "eddy_model_logloss{job=\"ctr\",model=\"ftrl\"}");
  EXPECT_GT(served_logloss, 0.05);
  EXPECT_LT(served_logloss, 0.5);
  EXPECT_GT(testing::PrometheusValue(page, "eddy_dead_letters_total{job=\"ctr\",reason=\"malformed JSON\"}"), 0)
      << page;
  EXPECT_GE(testing::PrometheusValue(page, "eddy_checkpoints_total{job=\"ctr\"}"), 1);
  const testing::HttpResponse health = testing::HttpGet(port, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  kill(pid, SIGTERM);
  ASSERT_EQ(WaitExit(pid), 0) << ReadFileOrEmpty(log);
  EXPECT_EQ(ReadWithKcat("ctr.predictions"), want);
  EXPECT_EQ(Lines(ReadFileOrEmpty(dir_ + "/live_audit.jsonl")),
            Lines(ReadFileOrEmpty(dir_ + "/replay_audit.jsonl")));
  const std::vector<std::string> metrics = ReadWithKcat("ctr.metrics");
  ASSERT_GE(metrics.size(), 2u);
  ASSERT_LE(metrics.size(), want_metrics.size());
  EXPECT_EQ(metrics, std::vector<std::string>(want_metrics.begin(), want_metrics.begin() + metrics.size()));
  EXPECT_EQ(ReadWithKcat("ctr.dlq").size(), Lines(ReadFileOrEmpty(dir_ + "/replay/dead_letters.jsonl")).size());

  // Four partitions everywhere, two threads: the records of different users
  // interleave in another order than the file's, so the predictions differ a
  // little; every impression is still predicted once, and the progressive
  // logloss is within 1% of replay's.
  auto wide = EmbeddedBroker::Start({1});
  ASSERT_TRUE(wide.ok()) << wide.status();
  for (const char* t : {"ctr.events", "ctr.predictions", "ctr.metrics", "ctr.alerts",
                        "ctr.feature_drift", "ctr.dlq", "ctr.late"}) {
    ASSERT_TRUE((*wide)->CreateTopic(t, 4).ok());
  }
  for (const char* k : {"by_user", "by_ad", "model", "drift"}) {
    ASSERT_TRUE((*wide)->CreateTopic(absl::StrCat("ctr.", k, ".repartition"), 4).ok());
    ASSERT_TRUE((*wide)->CreateTopic(absl::StrCat("ctr.", k, ".changelog"), 4).ok());
  }
  const std::string narrow = bootstrap_;
  bootstrap_ = (*wide)->bootstrap_servers();
  ProduceWithKcat(events, "ctr.events");
  std::vector<std::string> wide_args = RunArgs(dir_ + "/state_wide", {"--threads", "2"});
  wide_args[1] = "ctr";
  const pid_t wide_pid = SpawnEddy(wide_args, dir_ + "/wide.log");
  WaitForRecords("ctr.predictions", want.size());
  kill(wide_pid, SIGTERM);
  ASSERT_EQ(WaitExit(wide_pid), 0) << ReadFileOrEmpty(dir_ + "/wide.log");
  const std::vector<std::string> spread = ReadWithKcat("ctr.predictions");
  bootstrap_ = narrow;
  std::set<std::string> clicked;
  for (const std::string& line : Lines(ReadFileOrEmpty(events))) {
    if (line.rfind("{\"type\":\"click\"", 0) == 0) clicked.insert(testing::JsonField(line, "imp"));
  }
  const auto logloss = [&](const std::vector<std::string>& predictions) {
    std::map<std::string, double> p;
    for (const std::string& line : predictions) {
      EXPECT_TRUE(p.emplace(testing::JsonField(line, "imp"), std::stod(testing::JsonField(line, "p"))).second) << line;
    }
    double sum = 0;
    for (const auto& [imp, q] : p) sum -= std::log(clicked.count(imp) > 0 ? q : 1 - q);
    return std::make_pair(p.size(), sum / static_cast<double>(p.size()));
  };
  const auto [n_replay, ll_replay] = logloss(want);
  const auto [n_wide, ll_wide] = logloss(spread);
  EXPECT_EQ(n_wide, n_replay);
  EXPECT_NEAR(ll_wide, ll_replay, 0.01 * ll_replay);
  EXPECT_NE(spread, want) << "four partitions gave replay's order exactly: the check above is idle";
  std::printf("logloss: replay %.5f, 4 partitions %.5f\n", ll_replay, ll_wide);
}

TEST_F(KafkaRunTest, TwoProcessesShareTheGroupAndOneSurvivesTheOthersKill) {
  const std::string first = Generate("first.jsonl", 6000, 3);
  const std::string rest = Generate("rest.jsonl", 6000, 4);
  const std::string both = Concat({first, rest});
  const auto [want_first, dead_first] = Replay(first);
  const auto [want_all, dead_all] = Replay(both);
  ASSERT_GT(want_all.size(), want_first.size());

  const std::string log_a = dir_ + "/a.log", log_b = dir_ + "/b.log";
  const pid_t a = SpawnEddy(RunArgs(dir_ + "/state_a"), log_a);
  const pid_t b = SpawnEddy(RunArgs(dir_ + "/state_b"), log_b);
  // Both in the group first: else B alone can write every play before A's
  // join moves partitions, and A is still rebalancing (0 partitions) when
  // the split is checked (seen once in the clean-clone CI of cd4cf72).
  ASSERT_TRUE(WaitForStatus({log_a, log_b}, ", 2 partitions,"))
      << ReadFileOrEmpty(log_a) << ReadFileOrEmpty(log_b);
  ProduceWithKcat(first);
  WaitForRecords("qualified_plays.plays", want_first.size());
  // Both members work: each reports two of the four partitions.
  const auto last_status = [](const std::string& log) {
    const std::vector<std::string> lines = Lines(ReadFileOrEmpty(log));
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
      if (it->find(" partitions,") != std::string::npos) return *it;
    }
    return std::string();
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_NE(last_status(log_a).find("lag 0, 2 partitions"), std::string::npos) << last_status(log_a);
  EXPECT_NE(last_status(log_b).find("lag 0, 2 partitions"), std::string::npos) << last_status(log_b);

  // A dies mid-stream; B takes its partitions over from the committed offsets.
  ProduceInSlices(rest, std::chrono::milliseconds(300), [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    kill(a, SIGKILL);
  });
  WaitExit(a);
  // Not a count: A's unfinished interval is written twice (at-least-once).
  WaitForAll("qualified_plays.plays", want_all);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_NE(last_status(log_b).find("lag 0, 4 partitions"), std::string::npos) << last_status(log_b);
  kill(b, SIGTERM);
  EXPECT_EQ(WaitExit(b), 0) << ReadFileOrEmpty(log_b);

  // At-least-once: every output is there; a few may be there twice (those A
  // wrote after its last checkpoint).
  const std::vector<std::string> got = ReadWithKcat("qualified_plays.plays");
  std::map<std::string, int> count;
  for (const std::string& g : got) ++count[g];
  size_t missing = 0;
  for (const std::string& w : want_all) missing += count.count(w) == 0 ? 1 : 0;
  EXPECT_EQ(missing, 0u);
  std::set<std::string> want_set(want_all.begin(), want_all.end());
  for (const auto& [line, n] : count) EXPECT_EQ(want_set.count(line), 1u) << "unexpected " << line;
}

// Keyed state across processes: listen_counts re-keys by user, so records
// cross processes through listen_counts.by_user.repartition and the window
// state is written to listen_counts.by_user.changelog. A dies mid-stream; B
// takes over A's partitions, rebuilds A's windows from the changelog and
// finishes them: every window's count is at least replay's (a record A had
// sent but not checkpointed may count twice), and none is missing or short.
// listen_counts (KeyBy user, hourly windows in keyed state) on the embedded
// broker: its topics, its events in two halves, and what replay writes for
// them. Every partition gets one last listen too short to count, three hours
// on: it moves every partition's watermark past the last window.
struct KeyedCase {
  std::string first, rest;      // the events, in two halves
  std::string flush_line;       // produce to every partition at the end
  std::vector<std::string> want;  // replay's hourly_genre_counts
};

// (user, window, genre) -> plays, the largest when written more than once.
std::map<std::string, int64_t> Counts(const std::vector<std::string>& records) {
  std::map<std::string, int64_t> out;
  for (const std::string& rec : records) {
    const size_t at = rec.find(",\"plays\":");
    if (at == std::string::npos) continue;
    int64_t& n = out[rec.substr(0, at)];
    n = std::max<int64_t>(n, std::atoll(rec.c_str() + at + 9));
  }
  return out;
}

class KeyedRunTest : public KafkaRunTest {
 protected:
  KeyedCase Prepare(int seed) {
    KeyedCase c;
    for (const auto& [topic, partitions] : std::vector<std::pair<std::string, int>>{
             {"listen_counts.events", 4}, {"listen_counts.hourly_genre_counts", 1},
             {"listen_counts.dlq", 1}, {"listen_counts.late", 1}, {"listen_counts.staging", 1},
             {"listen_counts.by_user.repartition", 4}, {"listen_counts.by_user.changelog", 4}}) {
      EXPECT_TRUE(broker_->CreateTopic(topic, partitions).ok());
    }
    const std::vector<std::string> lines =
        Lines(ReadFileOrEmpty(Generate("all.jsonl", 12000, seed)));
    const auto write = [&](const std::string& name, size_t begin, size_t end) {
      const std::string path = dir_ + "/" + name;
      std::ofstream out(path);
      for (size_t i = begin; i < end; ++i) out << lines[i] << '\n';
      return path;
    };
    c.first = write("first.jsonl", 0, lines.size() / 2);
    c.rest = write("rest.jsonl", lines.size() / 2, lines.size());
    int64_t last_ts = 0;
    for (const std::string& l : lines) {
      const size_t at = l.find("\"ts\":");
      if (at != std::string::npos) {
        last_ts = std::max<int64_t>(last_ts, std::atoll(l.c_str() + at + 5));
      }
    }
    c.flush_line = absl::StrCat(
        R"({"type":"listen","ts":)", last_ts + 3 * 3600 * 1000,
        R"(,"user":"flush","track":"t","artist":"a","genre":"g","ms_played":0})");
    const std::string all = write("replayed.jsonl", 0, lines.size());
    { std::ofstream(all, std::ios::app) << c.flush_line << '\n'; }
    const std::string replay_dir = dir_ + "/listen_replay";
    const auto r = RunCommand(absl::StrCat(EddyBinary(), " replay listen_counts --input ", all,
                                           " --output-dir ", replay_dir),
                              dir_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    c.want = Lines(ReadFileOrEmpty(replay_dir + "/hourly_genre_counts.jsonl"));
    return c;
  }

  std::vector<std::string> Args(const std::string& state, bool exactly_once) {
    std::vector<std::string> args = RunArgs(state);
    args[1] = "listen_counts";
    if (exactly_once) args.push_back("--exactly-once");
    return args;
  }

  // Two members A and B; both own half of everything. The first half of
  // the events goes in, then the rest in slices; `after_first` runs once
  // the first slice of the rest is in. A must be dead by the end (killed by
  // `after_first` or by a failpoint); then `after_death` runs and the flush
  // line goes to every partition.
  void Feed(const KeyedCase& c, pid_t a, const std::string& log_a, const std::string& log_b,
            const std::function<void()>& after_first,
            const std::function<void()>& after_death = [] {}) {
    ASSERT_TRUE(WaitForStatus({log_a, log_b}, ", 4 partitions,"))
        << ReadFileOrEmpty(log_a) << ReadFileOrEmpty(log_b);
    ProduceWithKcat(c.first, "listen_counts.events");
    std::this_thread::sleep_for(std::chrono::seconds(2));
    ProduceInSlices(c.rest, std::chrono::milliseconds(300), after_first, "listen_counts.events");
    EXPECT_EQ(testing::WaitExitWithin(a, std::chrono::seconds(60)), -1)
        << "A was to die by SIGKILL\n" << ReadFileOrEmpty(log_a);
    after_death();
    ProduceFlush(c);
  }

  // The flush line (event time past every window) to every partition.
  void ProduceFlush(const KeyedCase& c) {
    std::vector<testing::TestMessage> flush;
    for (int p = 0; p < 4; ++p) {
      testing::TestMessage m;
      m.value = c.flush_line;
      m.partition = p;
      flush.push_back(m);
    }
    ASSERT_EQ(testing::ProduceMessages(bootstrap_, "listen_counts.events", flush), 4u);
  }

  // At least once: every window of `want` is in `got` with at least its count.
  static void ExpectAtLeastOnce(const std::map<std::string, int64_t>& want,
                                const std::map<std::string, int64_t>& got, const std::string& log) {
    size_t missing = 0, short_counts = 0;
    for (const auto& [key, n] : want) {
      auto it = got.find(key);
      if (it == got.end()) {
        ++missing;
      } else if (it->second < n) {
        ++short_counts;
      }
    }
    EXPECT_EQ(missing, 0u) << "of " << want.size() << " windows\n" << ReadFileOrEmpty(log);
    EXPECT_EQ(short_counts, 0u) << "of " << want.size() << " windows\n" << ReadFileOrEmpty(log);
  }

  // Waits (B must first notice A's death: session timeout) until every
  // window of `want` is out with at least replay's count; returns what is.
  std::vector<std::string> WaitForWindows(const std::vector<std::string>& want) {
    const std::map<std::string, int64_t> need = Counts(want);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);
    for (;;) {
      const std::vector<std::string> got = ReadWithKcat("listen_counts.hourly_genre_counts");
      const std::map<std::string, int64_t> have = Counts(got);
      bool all = true;
      for (const auto& [key, n] : need) {
        auto it = have.find(key);
        if (it == have.end() || it->second < n) all = false;
      }
      if (all || std::chrono::steady_clock::now() > deadline) return got;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
};

TEST_F(KeyedRunTest, KeyedStateMovesToTheSurvivorThroughTheChangelog) {
  const KeyedCase c = Prepare(5);
  const std::map<std::string, int64_t> want = Counts(c.want);
  ASSERT_GT(want.size(), 1000u);
  const std::string log_a = dir_ + "/a.log", log_b = dir_ + "/b.log";
  const pid_t a = SpawnEddy(Args(dir_ + "/state_a", false), log_a);
  const pid_t b = SpawnEddy(Args(dir_ + "/state_b", false), log_b);
  Feed(c, a, log_a, log_b, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill(a, SIGKILL);
  });
  const std::map<std::string, int64_t> got = Counts(WaitForWindows(c.want));
  kill(b, SIGTERM);
  EXPECT_EQ(WaitExit(b), 0) << ReadFileOrEmpty(log_b);
  ExpectAtLeastOnce(want, got, log_b);
  EXPECT_NE(ReadFileOrEmpty(log_b).find("restoring keyed state"), std::string::npos);
  EXPECT_FALSE(ReadWithKcat("listen_counts.by_user.changelog").empty());
  for (const auto& [key, n] : got) {
    EXPECT_EQ(want.count(key), 1u) << "a window replay does not have: " << key;
  }
}

// Resident memory of `pid` in bytes (VmRSS), 0 if unknown.
int64_t ResidentBytes(pid_t pid) {
  const std::string status = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/status"));
  const size_t at = status.find("VmRSS:");
  return at == std::string::npos ? 0 : std::atoll(status.c_str() + at + 6) * 1024;
}

// A burst arrives while the output is stalled (its broker is down): the
// sink waits for deliveries, the batches stop, and consumption stops at the
// input buffers (--input-buffer-mb: each partition's, and librdkafka's
// prefetch queue as much again) instead of taking the burst into memory.
// When the output is back every record comes out.
TEST_F(KafkaRunTest, AStalledOutputPausesConsumptionWithinItsBuffers) {
  // Inputs on broker 1, outputs on broker 2 (which goes down).
  auto two = EmbeddedBroker::Start({2});
  ASSERT_TRUE(two.ok()) << two.status();
  EmbeddedBroker& cluster = **two;
  // The embedded broker keeps ~5 MiB of each partition: the ~142,000 plays
  // (17 MB of JSON) go to 8 partitions, so that none is dropped before the
  // final read (2 would hold 8.5 MB each).
  for (const auto& [topic, partitions] : std::vector<std::pair<std::string, int>>{
           {"burst.events", 8}, {"qualified_plays.plays", 8}, {"qualified_plays.dlq", 1},
           {"qualified_plays.late", 1}}) {
    ASSERT_TRUE(cluster.CreateTopic(topic, partitions).ok());
    for (int p = 0; p < partitions; ++p) {
      ASSERT_TRUE(cluster.SetPartitionLeader(topic, p, topic == "burst.events" ? 1 : 2).ok());
    }
  }
  const std::string narrow = bootstrap_;
  bootstrap_ = cluster.bootstrap_servers();
  const std::string events = Generate("burst.jsonl", 180000, 13);
  const auto [want, dead] = Replay(events);
  const std::string log = dir_ + "/run.log";
  // EDDY_TEST_INPUT_BUFFER_MB=64 runs the control: buffers larger than the
  // burst take all of it in, and the memory bound below fails.
  const char* control = std::getenv("EDDY_TEST_INPUT_BUFFER_MB");
  const pid_t pid = SpawnEddy(
      RunArgs(dir_ + "/state", {"--topic", "events=burst.events", "--input-buffer-mb",
                                control != nullptr ? control : "1", "--kafka",
                                "producer.queue.buffering.max.messages=2000"}),
      log);
  ASSERT_TRUE(WaitForStatus({log}, ", 8 partitions,")) << ReadFileOrEmpty(log);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const int64_t before = ResidentBytes(pid);
  ASSERT_TRUE(cluster.SetBrokerDown(2).ok());
  ProduceWithKcat(events, "burst.events");  // ~30 MB
  int64_t peak = before;
  for (int i = 0; i < 80; ++i) {  // 8 s of the stall
    peak = std::max(peak, ResidentBytes(pid));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::printf("RSS %.1f MiB before the burst, peak %.1f MiB during the stall\n",
              before / 1048576.0, peak / 1048576.0);
  // 8 partitions x 1 MiB, librdkafka's queue 1 MiB, fetches in flight and
  // the 2,000 waiting outputs, and the batch being written. Checked in the
  // plain build only: under AddressSanitizer freed memory waits in its
  // quarantine (256 MiB by default) instead of being reused, so RSS grows
  // with what passed through, not with what is held (+34 MiB in one CI run).
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(peak - before, int64_t{24} << 20) << "the burst went into memory";
#endif
  ASSERT_TRUE(cluster.SetBrokerUp(2).ok());
  // The output comes back: everything is written, nothing lost. At least
  // once, and the embedded broker (librdkafka 2.0.2's mock cluster) does not
  // check the idempotent producer's sequence numbers, so the retries of the
  // requests in flight when broker 2 went down write 2-4% of the plays
  // twice: a count of records says nothing; the run is stopped once every
  // play is there.
  WaitForAll("qualified_plays.plays", want);
  kill(pid, SIGTERM);
  ASSERT_EQ(WaitExit(pid), 0) << ReadFileOrEmpty(log);
  const std::vector<std::string> plays = ReadWithKcat("qualified_plays.plays");
  bootstrap_ = narrow;
  const std::set<std::string> have(plays.begin(), plays.end());
  size_t missing = 0;
  for (const std::string& w : want) missing += have.count(w) == 0 ? 1 : 0;
  EXPECT_EQ(missing, 0u);
  std::printf("%zu plays written for %zu distinct\n", plays.size(), have.size());
}

// A write error in the state directory (here the file size limit, which
// fails writes as a full disk does) stops the run after a second attempt,
// with one clear line and exit code 1. The group's offsets are committed
// only after a checkpoint is written, so a restart with room again loses
// nothing: every window is there with at least replay's count.
TEST_F(KeyedRunTest, AStateWriteErrorStopsTheRunAndARestartLosesNothing) {
  const KeyedCase c = Prepare(12);
  const std::map<std::string, int64_t> want = Counts(c.want);
  const std::string log_a = dir_ + "/a.log", log_b = dir_ + "/b.log";
  const pid_t a = SpawnEddy(Args(dir_ + "/state", false), log_a, {}, 48 << 10);
  // Alone in the group: 4 input and 4 repartition partitions.
  ASSERT_TRUE(WaitForStatus({log_a}, ", 8 partitions,")) << ReadFileOrEmpty(log_a);
  ProduceWithKcat(c.first, "listen_counts.events");
  ProduceInSlices(c.rest, std::chrono::milliseconds(100), [] {}, "listen_counts.events");
  ASSERT_EQ(testing::WaitExitWithin(a, std::chrono::seconds(60)), 1) << ReadFileOrEmpty(log_a);
  const std::vector<std::string> lines = Lines(ReadFileOrEmpty(log_a));
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("checkpoint write failed twice"), std::string::npos) << lines.back();
  EXPECT_NE(lines.back().find(dir_ + "/state"), std::string::npos) << lines.back();

  const pid_t b = SpawnEddy(Args(dir_ + "/state", false), log_b);
  ASSERT_TRUE(WaitForStatus({log_b}, ", 8 partitions,")) << ReadFileOrEmpty(log_b);
  ProduceFlush(c);
  const std::map<std::string, int64_t> got = Counts(WaitForWindows(c.want));
  kill(b, SIGTERM);
  EXPECT_EQ(WaitExit(b), 0) << ReadFileOrEmpty(log_b);
  ExpectAtLeastOnce(want, got, log_b);
}

// --exactly-once with keyed state across processes: A dies by SIGKILL at
// the worst moments (failpoints, see engine/live.cc): right after its offset
// commit, before its changelog markers (B must apply A's last state writes
// from the changelog), or after its checkpoint, before publishing anything
// (B must publish A's outputs and the records A sent to the repartition
// topic). A then comes back with its state directory, whose checkpoint is
// older than what A committed to the group: it must not read that interval
// again. The windows equal replay's exactly: none missing, none counted
// twice, none written twice. Returns the logs of B and of A's return.
class KeyedExactlyOnceTest : public KeyedRunTest {
 protected:
  std::string KilledAndBack(const KeyedCase& c, const std::string& failpoint) {
    const std::string log_a = dir_ + "/a.log", log_b = dir_ + "/b.log";
    const pid_t a = SpawnEddy(Args(dir_ + "/state_a", true), log_a, {failpoint});
    const pid_t b = SpawnEddy(Args(dir_ + "/state_b", true), log_b);
    pid_t again = -1;
    const std::string log_again = dir_ + "/a2.log";
    Feed(c, a, log_a, log_b, [] {},
         [&] { again = SpawnEddy(Args(dir_ + "/state_a", true), log_again); });
    WaitForWindows(c.want);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    kill(b, SIGTERM);
    kill(again, SIGTERM);
    EXPECT_EQ(WaitExit(b), 0) << ReadFileOrEmpty(log_b);
    EXPECT_EQ(WaitExit(again), 0) << ReadFileOrEmpty(log_again);
    const std::vector<std::string> outputs = ReadWithKcat("listen_counts.hourly_genre_counts");
    { std::ofstream(dir_ + "/outputs.jsonl") << absl::StrJoin(outputs, "\n") << '\n'; }
    EXPECT_EQ(MultisetDiff(outputs, c.want), "") << "outputs and logs in " << dir_;
    return ReadFileOrEmpty(log_b) + ReadFileOrEmpty(log_again);
  }
};

TEST_F(KeyedExactlyOnceTest, ExactlyOnceKeyedStateWhenAMemberDiesAfterItsOffsetCommit) {
  const std::string logs = KilledAndBack(Prepare(8), "EDDY_FAULT_KILL_AFTER_COMMIT=1");
  EXPECT_NE(logs.find("committed but did not mark in the changelog"), std::string::npos) << logs;
}

TEST_F(KeyedExactlyOnceTest, ExactlyOnceKeyedStateWhenAMemberDiesBeforePublishing) {
  const std::string logs = KilledAndBack(Prepare(9), "EDDY_FAULT_KILL_BEFORE_PUBLISH=1");
  // Completed (from the committed pointer) by B or by A on its return,
  // whichever owned the partition carrying it first: once.
  EXPECT_NE(logs.find("left unfinished"), std::string::npos) << logs;
}

TEST_F(KafkaRunTest, ExactlyOnceOutputsSurviveSigkillsWithoutLossOrDuplicates) {
  const std::string events = Generate("events.jsonl", 12000, 5);
  const auto [want, dead] = Replay(events);
  // Events arrive in slices while the job is killed and restarted.
  std::atomic<bool> produced{false};
  std::thread producer([&] {
    ProduceInSlices(events, std::chrono::milliseconds(400));
    produced = true;
  });
  std::vector<std::string> args = RunArgs(dir_ + "/state");
  // EDDY_TEST_AT_LEAST_ONCE=1 runs the control: the same kills without
  // --exactly-once duplicate outputs, and this test fails.
  if (std::getenv("EDDY_TEST_AT_LEAST_ONCE") == nullptr) args.push_back("--exactly-once");
  const std::string log = dir_ + "/run.log";
  std::mt19937 rng(7);
  int kills = 0;
  while (kills < 5) {
    const pid_t pid = SpawnEddy(args, log);
    // Long enough to rejoin the group (the killed member's session must
    // expire first) and work a little.
    std::this_thread::sleep_for(std::chrono::milliseconds(4000 + rng() % 3000));
    kill(pid, SIGKILL);
    WaitExit(pid);
    ++kills;
  }
  producer.join();
  ASSERT_TRUE(produced.load());
  const pid_t pid = SpawnEddy(args, log);
  WaitForRecords("qualified_plays.plays", want.size());
  WaitForRecords("qualified_plays.dlq", dead);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  kill(pid, SIGTERM);
  ASSERT_EQ(WaitExit(pid), 0) << ReadFileOrEmpty(log);
  // Exactly the replay's outputs: none lost, none twice.
  EXPECT_EQ(Sorted(ReadWithKcat("qualified_plays.plays")), Sorted(want));
  EXPECT_EQ(ReadWithKcat("qualified_plays.dlq").size(), dead);
}

// The broker goes away mid-stream for longer than the group's session
// timeout (6 s here), then comes back: the run keeps going (librdkafka
// reconnects; the group is joined again), catches up, and its outputs are
// the replay's: none lost, and with --exactly-once none written twice.
class BrokerOutageTest : public KafkaRunTest {
 protected:
  void RideOutOutage(bool exactly_once);
};

void BrokerOutageTest::RideOutOutage(bool exactly_once) {
  const std::string events = Generate("events.jsonl", 12000, 11);
  const auto [want, dead] = Replay(events);
  // Logs as JSON lines: librdkafka's complaints during the outage included.
  std::vector<std::string> args = RunArgs(dir_ + "/state", {"--log-format", "json"});
  if (exactly_once) args.push_back("--exactly-once");
  const std::string log = dir_ + "/run.log";
  const pid_t pid = SpawnEddy(args, log);
  // Slices 400 ms apart; after the first, the outage (production waits for it).
  ProduceInSlices(events, std::chrono::milliseconds(400), [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    ASSERT_TRUE(broker_->SetBrokerDown(1).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(8000));
    ASSERT_TRUE(broker_->SetBrokerUp(1).ok());
  });
  // Every play, not a count: at least once may write some twice (below).
  WaitForAll("qualified_plays.plays", want);
  WaitForRecords("qualified_plays.dlq", dead);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_EQ(kill(pid, 0), 0) << "the run died during the outage:\n" << ReadFileOrEmpty(log);
  kill(pid, SIGTERM);
  ASSERT_EQ(WaitExit(pid), 0) << ReadFileOrEmpty(log);
  for (const std::string& line : Lines(ReadFileOrEmpty(log))) {
    EXPECT_TRUE(line.size() > 2 && line.front() == '{' && line.back() == '}' &&
                line.find("\"msg\":") != std::string::npos)
        << "not a JSON log line: " << line;
  }
  const std::vector<std::string> plays = ReadWithKcat("qualified_plays.plays");
  if (exactly_once) {
    EXPECT_EQ(MultisetDiff(plays, want), "") << ReadFileOrEmpty(log);
    EXPECT_EQ(ReadWithKcat("qualified_plays.dlq").size(), dead);
  } else {
    // At least once: every output is there (some may be there twice).
    const std::set<std::string> have(plays.begin(), plays.end());
    size_t missing = 0;
    for (const std::string& w : want) missing += have.count(w) == 0 ? 1 : 0;
    EXPECT_EQ(missing, 0u) << ReadFileOrEmpty(log);
  }
}

TEST_F(BrokerOutageTest, AtLeastOnceRidesOutABrokerOutageAndLosesNothing) { RideOutOutage(false); }

TEST_F(BrokerOutageTest, ExactlyOnceRidesOutABrokerOutageWithoutLossOrDuplicates) {
  RideOutOutage(true);
}

TEST_F(KafkaRunTest, ExactlyOnceScaleUpMidStreamLosesNothingAndRestartsFromTheCheckpoint) {
  const std::string events = Generate("events.jsonl", 12000, 6);
  const auto [want, dead] = Replay(events);
  const std::vector<std::string> args_a = RunArgs(dir_ + "/state_a", {"--exactly-once"});
  const std::vector<std::string> args_b = RunArgs(dir_ + "/state_b", {"--exactly-once"});
  const std::string log_a = dir_ + "/a.log", log_b = dir_ + "/b.log";
  const pid_t a = SpawnEddy(args_a, log_a);
  pid_t b = -1;
  // A works alone on all four partitions; B joins mid-stream and takes two:
  // A drops the outputs it holds for the interval (B will write those) and
  // restarts from its checkpoint.
  std::thread producer([&] {
    ProduceInSlices(events, std::chrono::milliseconds(500), [] {});
  });
  // Until A has all four partitions and has checkpointed its first outputs.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         (testing::ConsumeMessages(bootstrap_, "qualified_plays.plays", 1, std::chrono::seconds(5))
              .empty() ||
          ReadFileOrEmpty(log_a).find("4 partitions") == std::string::npos)) {
  }
  EXPECT_NE(ReadFileOrEmpty(log_a).find("4 partitions"), std::string::npos);
  b = SpawnEddy(args_b, log_b);
  producer.join();
  WaitForAll("qualified_plays.plays", want);
  WaitForRecords("qualified_plays.dlq", dead);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(a, SIGTERM);
  kill(b, SIGTERM);
  EXPECT_EQ(WaitExit(a), 0) << ReadFileOrEmpty(log_a);
  EXPECT_EQ(WaitExit(b), 0) << ReadFileOrEmpty(log_b);
  EXPECT_NE(ReadFileOrEmpty(log_a).find("restarting from the last checkpoint"), std::string::npos)
      << ReadFileOrEmpty(log_a);
  // Exactly once across the rebalance: an interval whose offset commit the
  // group refused is never published.
  const std::vector<std::string> got = ReadWithKcat("qualified_plays.plays");
  EXPECT_EQ(Sorted(got), Sorted(want)) << got.size() << " written, " << want.size() << " expected";
}

// Two members with --exactly-once; one is killed with SIGKILL mid-stream at
// the worst moment: its interval committed (offsets and checkpoint), none of
// its outputs published. The survivor completes that interval, continues
// from the committed offsets, and the outputs hold every expected record
// exactly once.
TEST_F(KafkaRunTest, ExactlyOnceAcrossMembersWhenOneIsKilled) {
  const std::string events = Generate("events.jsonl", 12000, 7);
  const auto [want, dead] = Replay(events);
  const std::vector<std::string> args_a = RunArgs(dir_ + "/state_a", {"--exactly-once"});
  const std::vector<std::string> args_b = RunArgs(dir_ + "/state_b", {"--exactly-once"});
  const std::string log_a = dir_ + "/a.log", log_b = dir_ + "/b.log";
  const pid_t a = SpawnEddy(args_a, log_a, {"EDDY_FAULT_KILL_BEFORE_PUBLISH=3"});
  const pid_t b = SpawnEddy(args_b, log_b);
  ASSERT_TRUE(WaitForStatus({log_a, log_b}, ", 2 partitions,"))
      << ReadFileOrEmpty(log_a) << ReadFileOrEmpty(log_b);
  ProduceInSlices(events, std::chrono::milliseconds(300));
  EXPECT_EQ(WaitExit(a), -1) << "A was to die by SIGKILL before publishing\n" << ReadFileOrEmpty(log_a);
  WaitForAll("qualified_plays.plays", want);
  WaitForRecords("qualified_plays.dlq", dead);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(b, SIGTERM);
  EXPECT_EQ(WaitExit(b), 0) << ReadFileOrEmpty(log_b);
  const std::vector<std::string> got = ReadWithKcat("qualified_plays.plays");
  EXPECT_EQ(Sorted(got), Sorted(want)) << got.size() << " written, " << want.size() << " expected";
  EXPECT_EQ(ReadWithKcat("qualified_plays.dlq").size(), dead);
  EXPECT_NE(ReadFileOrEmpty(log_b).find("left unfinished"), std::string::npos)
      << ReadFileOrEmpty(log_b);
}

TEST_F(KafkaRunTest, DeploymentMistakesFailFastWithOneClearLine) {
  const auto run = [&](const std::string& args) {
    return RunCommand(absl::StrCat(EddyBinary(), " run ", args, " --state-dir ", dir_, "/s"), dir_);
  };
  auto r = run(absl::StrCat("listen_counts --brokers ", bootstrap_));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "eddy: Kafka topics missing at " + bootstrap_ +
                       ": listen_counts.dlq (output dead_letters), listen_counts.hourly_genre_counts "
                       "(output hourly_genre_counts), listen_counts.late (output late_events); "
                       "create them first\n");
  // A job with KeyBy needs its internal topics too, alike in partitions.
  for (const char* t : {"listen_counts.events", "listen_counts.dlq",
                               "listen_counts.hourly_genre_counts", "listen_counts.late"}) {
    ASSERT_TRUE(broker_->CreateTopic(t, 2).ok());
  }
  r = run(absl::StrCat("listen_counts --brokers ", bootstrap_));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("this job also needs its internal topics listen_counts.by_user.repartition, "
                       "listen_counts.by_user.changelog, with equal partition counts"),
            std::string::npos)
      << r.err;
  ASSERT_TRUE(broker_->CreateTopic("listen_counts.by_user.repartition", 2).ok());
  ASSERT_TRUE(broker_->CreateTopic("listen_counts.by_user.changelog", 3).ok());
  r = run(absl::StrCat("listen_counts --brokers ", bootstrap_));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("must have the same number of partitions"), std::string::npos) << r.err;
  r = run("qualified_plays --brokers 127.0.0.1:1 --connect-timeout-ms 1000");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("eddy: cannot reach Kafka at 127.0.0.1:1 within 1s"), std::string::npos)
      << r.err;
  r = run(absl::StrCat("qualified_plays --brokers ", bootstrap_, " --kafka fetch.max.bytes=lots"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("eddy: --kafka fetch.max.bytes: "), std::string::npos) << r.err;
  r = run(absl::StrCat("qualified_plays --brokers ", bootstrap_, " --topic nothing=x"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("has no source or output named 'nothing'"), std::string::npos) << r.err;
  r = run("qualified_plays");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "eddy: eddy run: --brokers HOST:PORT is required\n");
}

}  // namespace
}  // namespace eddy
