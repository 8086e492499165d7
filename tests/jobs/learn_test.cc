// The `learn` job end to end (jobs/learn.cc): the same figures as the model
// run by hand, warm starts that continue exactly, bad input in dead letters,
// bad model files refused, and drift alerts on real data (SEA) only where
// the concept changes.
#include <zlib.h>

#include <chrono>
#include <random>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "connectors/example_formats.h"
#include "connectors/json_reader.h"
#include "engine/flags.h"
#include "engine/job_registry.h"
#include "engine/replay.h"
#include "gtest/gtest.h"
#include "jobs/logistic_stream.h"
#include "operators/evaluation.h"
#include "operators/learners.h"
#include "tests/testing/command.h"
#include "tests/testing/replay_outputs.h"

namespace eddy {
namespace {

using testing::MakeScratchDir;
using testing::ReadFileOrEmpty;

std::string WriteSynthetic(const std::string& path, int n, uint64_t seed) {
  synthetic::LogisticStreamOptions o;
  o.seed = seed;
  synthetic::LogisticStream stream(o);
  std::ofstream f(path);
  std::string line;
  for (int i = 0; i < n; ++i) {
    line.clear();
    synthetic::LogisticStream::AppendVw(stream.Next(), line);
    f << line << "\n";
  }
  return path;
}

absl::StatusOr<RunStats> Learn(const std::string& input, const std::string& dir,
                               std::map<std::string, std::string> params) {
  ReplayOptions o;
  o.job = "learn";
  o.inputs = {input};
  o.output_dir = dir;
  o.params = std::move(params);
  return RunReplay(o);
}

// A top-level number of summary.json.
double SummaryNumber(const std::string& dir, const std::string& field) {
  const std::string json = ReadFileOrEmpty(dir + "/summary.json");
  const std::string key = "\"" + field + "\":";
  const size_t at = json.find(key);
  if (at == std::string::npos) return NAN;
  double v = NAN;
  const size_t end = json.find_first_of(",}", at + key.size());
  if (!absl::SimpleAtod(json.substr(at + key.size(), end - at - key.size()), &v)) return NAN;
  return v;
}

std::vector<double> Predictions(const std::string& dir) {
  std::vector<double> out;
  for (const std::string& line : testing::FileLines(dir + "/predictions.jsonl")) {
    const size_t at = line.find("\"p\":");
    double p = NAN;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(at + 4, line.find(',', at) - at - 4), &p)) << line;
    out.push_back(p);
  }
  return out;
}

// The job's predictions and summary equal FTRL run by hand over the same
// parsed lines: the pipeline adds nothing and loses nothing.
TEST(LearnJobTest, PredictionsAndSummaryEqualTheModelRunByHand) {
  const std::string dir = MakeScratchDir("learn_same");
  const std::string input = WriteSynthetic(dir + "/in.vw", 30000, 3);
  ASSERT_TRUE(Learn(input, dir + "/out", {{"format", "vw"}, {"bits", "20"}}).ok());

  ExampleFormatOptions fo;
  fo.format = "vw";
  fo.bits = 20;
  auto parser = ExampleParser::Make(fo);
  ASSERT_TRUE(parser.ok());
  ModelOptions mo;
  mo.bits = 20;
  FtrlModel model(mo);
  BinaryMetrics metrics;
  std::vector<double> want;
  for (const std::string& line : testing::FileLines(input)) {
    Example ex;
    ASSERT_TRUE((*parser)->Parse(line, &ex).ok());
    want.push_back(model.PredictThenLearn(ex.x, ex.label));
    metrics.Add(want.back(), ex.label);
  }
  const std::vector<double> got = Predictions(dir + "/out");
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "example " << i;
  EXPECT_EQ(SummaryNumber(dir + "/out", "examples"), 30000);
  EXPECT_NEAR(SummaryNumber(dir + "/out", "logloss"), metrics.logloss(), 1e-12);
  EXPECT_NEAR(SummaryNumber(dir + "/out", "auc"), metrics.auc(), 1e-12);
  EXPECT_GT(SummaryNumber(dir + "/out", "examples_per_second"), 0);
  EXPECT_EQ(SummaryNumber(dir + "/out", "alerts"), 0);
  // Metrics windows of 10000 examples, the last one at the end.
  const std::vector<std::string> windows = testing::FileLines(dir + "/out/metrics.jsonl");
  ASSERT_EQ(windows.size(), 3u);
  EXPECT_NE(windows[2].find("\"window_start\":20000,\"window_end\":30000"), std::string::npos);
}

// --model-out after the first half and --model-in for the second give the
// same predictions on the second half as one run over both, for each model.
TEST(LearnJobTest, WarmStartContinuesExactly) {
  const std::string dir = MakeScratchDir("learn_warm");
  const std::string all = WriteSynthetic(dir + "/all.vw", 20000, 4);
  const std::vector<std::string> lines = testing::FileLines(all);
  {
    std::ofstream a(dir + "/a.vw"), b(dir + "/b.vw");
    for (size_t i = 0; i < lines.size(); ++i) (i < 12000 ? a : b) << lines[i] << "\n";
  }
  for (const char* model : {"ftrl", "sgd", "fm"}) {
    const std::string d = dir + "/" + model;
    ASSERT_TRUE(Learn(all, d + "/one", {{"format", "vw"}, {"model", model}}).ok());
    ASSERT_TRUE(Learn(dir + "/a.vw", d + "/first",
                      {{"format", "vw"}, {"model", model}, {"model-out", d + "/m.bin"}})
                    .ok());
    absl::StatusOr<RunStats> second =
        Learn(dir + "/b.vw", d + "/second", {{"format", "vw"}, {"model-in", d + "/m.bin"}});
    ASSERT_TRUE(second.ok()) << second.status();
    const std::vector<double> one = Predictions(d + "/one");
    const std::vector<double> two = Predictions(d + "/second");
    ASSERT_EQ(one.size(), 20000u);
    ASSERT_EQ(two.size(), 8000u);
    for (size_t i = 0; i < two.size(); ++i) ASSERT_EQ(two[i], one[12000 + i]) << model << " " << i;
    EXPECT_NE(ReadFileOrEmpty(d + "/second/predictions.jsonl").find("\"model_version\":12000"),
              std::string::npos);
  }
}

TEST(LearnJobTest, BadModelFilesAndFlagsAreRefusedWithAReason) {
  const std::string dir = MakeScratchDir("learn_bad");
  const std::string input = WriteSynthetic(dir + "/in.vw", 100, 5);
  {
    std::ofstream f(dir + "/garbage.bin");
    f << "this is not a model";
  }
  auto error = [&](std::map<std::string, std::string> params) {
    absl::StatusOr<RunStats> r = Learn(input, dir + "/out", std::move(params));
    return r.ok() ? std::string("OK") : std::string(r.status().message());
  };
  EXPECT_NE(error({{"format", "vw"}, {"model-in", dir + "/garbage.bin"}}).find("not an Eddy model file"),
            std::string::npos);
  EXPECT_NE(error({{"format", "vw"}, {"model-in", dir + "/missing.bin"}}).find("cannot read"),
            std::string::npos);
  EXPECT_NE(error({{"format", "xml"}}).find("xml"), std::string::npos);
  EXPECT_NE(error({{"format", "vw"}, {"model", "tree"}}).find("tree"), std::string::npos);
  EXPECT_NE(error({{"format", "vw"}, {"drift", "magic"}}).find("magic"), std::string::npos);
  EXPECT_NE(error({{"format", "vw"}, {"bits", "40"}}).find("bits"), std::string::npos);
  EXPECT_NE(error({{"bits", "20"}}).find("--format"), std::string::npos);
  // Through the command line: a one-line error, a non-zero exit.
  const testing::CommandResult r = testing::RunCommand(
      absl::StrCat(testing::EddyBinary(), " replay learn --input ", input,
                   " --format vw --model-in ", dir, "/garbage.bin --output-dir ", dir, "/cli"),
      dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not an Eddy model file"), std::string::npos) << r.err;
}

TEST(LearnJobTest, MalformedLinesGoToDeadLettersWithTheirReason) {
  const std::string dir = MakeScratchDir("learn_dlq");
  {
    std::ofstream f(dir + "/in.vw");
    f << "1 |a x y\n"
      << "no bar here\n"
      << "1 |a x:abc\n"
      << "0 |a z\n"
      << "\xff\xfe |a q\n";
  }
  absl::StatusOr<RunStats> r = Learn(dir + "/in.vw", dir + "/out", {{"format", "vw"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->dead_letters, 3u);
  EXPECT_EQ(SummaryNumber(dir + "/out", "examples"), 2);
  const std::vector<std::string> dead = testing::FileLines(dir + "/out/dead_letters.jsonl");
  ASSERT_EQ(dead.size(), 3u);
  EXPECT_NE(dead[0].find("in.vw"), std::string::npos) << dead[0];
  EXPECT_NE(dead[1].find("x:abc"), std::string::npos) << dead[1];
}

// With the header given (--header), a CSV file needs no header line and may
// be parsed by several threads: the same predictions as one thread reading
// the header from the file.
TEST(LearnJobTest, CsvHeaderGivenUpFrontAllowsThreadsAndHeaderlessFiles) {
  const std::string dir = MakeScratchDir("learn_header");
  {
    std::ofstream with(dir + "/with.csv"), without(dir + "/without.csv");
    with << "a,b,label\n";
    for (int i = 0; i < 20000; ++i) {
      const std::string row = absl::StrCat(i % 7, ",", (i * 13) % 11, ",", (i % 7 + (i * 13) % 11) > 8);
      with << row << "\n";
      without << row << "\n";
    }
  }
  ReplayOptions o;
  o.job = "learn";
  o.inputs = {dir + "/with.csv"};
  o.output_dir = dir + "/one";
  o.params = {{"format", "csv"}, {"label", "label"}};
  ASSERT_TRUE(RunReplay(o).ok());
  o.inputs = {dir + "/without.csv"};
  o.output_dir = dir + "/two";
  o.threads = 2;
  o.batch_size = 512;
  o.params["header"] = "a,b,label";
  absl::StatusOr<RunStats> r = RunReplay(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->dead_letters, 0u);
  EXPECT_EQ(ReadFileOrEmpty(dir + "/one/predictions.jsonl"), ReadFileOrEmpty(dir + "/two/predictions.jsonl"));
}

// ../shared/data/sea_stream: 40,000 rows of class = attrib1 + attrib2 > 9
// with ~10% label noise, no drift. As it is: no alert. With the rule moved to
// > 7 from row 20,000 on: an alert within 1,000 rows after it, none before.
std::string SeaCsv(const std::string& dir, bool drifted) {
  const std::string src = std::string(EDDY_SOURCE_DIR) + "/../shared/data/sea_stream/sea_stream.csv.gz";
  gzFile in = gzopen(src.c_str(), "rb");
  EXPECT_NE(in, nullptr) << src;
  const std::string path = dir + (drifted ? "/sea_drift.csv" : "/sea.csv");
  std::ofstream out(path);
  char buf[256];
  int row = -1;  // the header is row -1
  while (in != nullptr && gzgets(in, buf, sizeof buf) != nullptr) {
    std::string line(buf);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (drifted && row >= 20000) {
      std::vector<std::string> f = absl::StrSplit(line, ',');
      double a = 0, b = 0;
      EXPECT_TRUE(absl::SimpleAtod(f[0], &a) && absl::SimpleAtod(f[1], &b));
      // The same label noise (a label that disagrees with the old rule
      // disagrees with the new one), the new rule.
      const bool noise = (f[3] == "1") != (a + b > 9);
      f[3] = (a + b > 7) != noise ? "1" : "0";
      line = absl::StrJoin(f, ",");
    }
    out << line << "\n";
    ++row;
  }
  if (in != nullptr) gzclose(in);
  return path;
}

std::vector<int64_t> AlertRows(const std::string& dir) {
  std::vector<int64_t> rows;
  for (const std::string& line : testing::FileLines(dir + "/alerts.jsonl")) {
    if (line.find("\"state\":\"alert\"") == std::string::npos) continue;
    const size_t at = line.find("\"event_time\":");
    int64_t row = -1;
    EXPECT_TRUE(absl::SimpleAtoi(line.substr(at + 13, line.find(',', at) - at - 13), &row)) << line;
    rows.push_back(row);
  }
  return rows;
}

TEST(LearnJobTest, DriftAlertsOnSeaOnlyWhereTheConceptChanges) {
  const std::string dir = MakeScratchDir("learn_sea");
  const std::string stationary = SeaCsv(dir, false);
  const std::string drifted = SeaCsv(dir, true);
  for (const char* detector : {"adwin", "ddm"}) {
    const std::map<std::string, std::string> params = {
        {"format", "csv"}, {"label", "class"}, {"numeric", "*"}, {"drift", detector},
        {"predictions", "false"}};
    const std::string quiet = dir + "/" + detector + "_quiet";
    ASSERT_TRUE(Learn(stationary, quiet, params).ok());
    EXPECT_EQ(AlertRows(quiet).size(), 0u) << detector << ": " << ReadFileOrEmpty(quiet + "/alerts.jsonl");
    const std::string loud = dir + "/" + detector + "_drift";
    ASSERT_TRUE(Learn(drifted, loud, params).ok());
    const std::vector<int64_t> rows = AlertRows(loud);
    ASSERT_FALSE(rows.empty()) << detector;
    EXPECT_GE(rows[0], 20000) << detector << " alerted before the change";
    EXPECT_LT(rows[0], 21000) << detector << " alerted too late";
    std::printf("%s: first alert at row %lld (change at 20000): %s\n", detector,
                static_cast<long long>(rows[0]), ReadFileOrEmpty(loud + "/alerts.jsonl").c_str());
  }
}

// Prediction drift: when every label turns positive half-way, the model's
// scores fall far below the observed rate in the next metrics window (500
// examples: FTRL's bias catches up within a few hundred): a calibration
// alert then, none before.
TEST(LearnJobTest, CalibrationAlertWhenScoresAndOutcomesPartWays) {
  const std::string dir = MakeScratchDir("learn_calibration");
  const std::string input = WriteSynthetic(dir + "/in.vw", 60000, 8);
  std::vector<std::string> lines = testing::FileLines(input);
  {
    std::ofstream f(dir + "/shifted.vw");
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i >= 30000 && lines[i].rfind("-1", 0) == 0) lines[i] = "1" + lines[i].substr(2);
      f << lines[i] << "\n";
    }
  }
  ASSERT_TRUE(Learn(dir + "/shifted.vw", dir + "/out",
                    {{"format", "vw"},
                     {"drift", "adwin"},
                     {"predictions", "false"},
                     {"metrics-every", "500"}})
                  .ok());
  std::vector<std::string> calibration;
  for (const std::string& line : testing::FileLines(dir + "/out/alerts.jsonl")) {
    if (line.find("\"detector\":\"calibration\"") != std::string::npos &&
        line.find("\"state\":\"alert\"") != std::string::npos) {
      calibration.push_back(line);
    }
  }
  ASSERT_FALSE(calibration.empty()) << ReadFileOrEmpty(dir + "/out/alerts.jsonl");
  EXPECT_NE(calibration[0].find("\"window_start\":30000"), std::string::npos) << calibration[0];
}

// Killed with SIGKILL at random moments and resumed from its state
// directory, a learn run ends with the same predictions, metrics and
// summary figures as an uninterrupted one: the model and the learner's
// progress are in every checkpoint.
TEST(LearnJobTest, KilledAndResumedRunsEqualAnUninterruptedRun) {
  const std::string dir = MakeScratchDir("learn_kill");
  const std::string input = WriteSynthetic(dir + "/in.vw", 200000, 6);
  std::vector<std::string> common = {"replay", "learn", "--input", input, "--format", "vw",
                                     "--bits", "16", "--batch-size", "1000"};
  int64_t reference_ms = 0;
  {
    std::vector<std::string> args = common;
    args.push_back("--output-dir");
    args.push_back(dir + "/ref");
    const auto begin = std::chrono::steady_clock::now();
    const pid_t pid = testing::SpawnEddy(args, dir + "/ref.log");
    ASSERT_EQ(testing::WaitExit(pid), 0) << ReadFileOrEmpty(dir + "/ref.log");
    reference_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - begin)
                       .count();
  }
  std::vector<std::string> args = common;
  for (const std::string& a : {std::string("--output-dir"), dir + "/out", std::string("--state-dir"),
                               dir + "/state", std::string("--checkpoint-every"),
                               std::string("9000")}) {
    args.push_back(a);
  }
  std::mt19937_64 rng(7);
  int kills = 0;
  bool finished = false;
  for (int attempt = 0; attempt < 40 && !finished; ++attempt) {
    const pid_t pid = testing::SpawnEddy(args, dir + "/run.log");
    const int64_t lo = 100 + reference_ms / 20, hi = 100 + reference_ms / 5;
    const int64_t delay_ms = kills < 6 ? lo + static_cast<int64_t>(rng() % (hi - lo)) : 1000000;
    const int code = testing::WaitExitWithin(pid, std::chrono::milliseconds(delay_ms));
    if (code == -2) {  // SIGKILLed
      ++kills;
      continue;
    }
    ASSERT_EQ(code, 0) << ReadFileOrEmpty(dir + "/run.log");
    finished = true;
  }
  ASSERT_TRUE(finished);
  std::printf("SIGKILLed %d times\n", kills);
  EXPECT_EQ(ReadFileOrEmpty(dir + "/out/predictions.jsonl"), ReadFileOrEmpty(dir + "/ref/predictions.jsonl"));
  EXPECT_EQ(ReadFileOrEmpty(dir + "/out/metrics.jsonl"), ReadFileOrEmpty(dir + "/ref/metrics.jsonl"));
  for (const char* field : {"examples", "positives", "logloss", "auc", "model_version"}) {
    EXPECT_EQ(SummaryNumber(dir + "/out", field), SummaryNumber(dir + "/ref", field)) << field;
  }
}

// A finished run's last checkpoint keeps its summary: run again over the
// same state directory (as after a kill between that checkpoint and the
// summary's write), it leaves the same summary.json and outputs, and does not
// learn twice; --model-out stays the model of the whole input.
TEST(LearnJobTest, AFinishedRunRunAgainLeavesItsSummaryAndOutputs) {
  const std::string dir = MakeScratchDir("learn_finished");
  const std::string input = WriteSynthetic(dir + "/in.vw", 20000, 9);
  auto params = [&](const std::string& model) {
    return std::map<std::string, std::string>{{"format", "vw"}, {"bits", "16"}, {"model-out", model}};
  };
  ASSERT_TRUE(Learn(input, dir + "/ref", params(dir + "/ref.model")).ok());
  auto run = [&]() {
    ReplayOptions o;
    o.job = "learn";
    o.inputs = {input};
    o.output_dir = dir + "/out";
    o.state_dir = dir + "/state";
    o.params = params(dir + "/out.model");
    return RunReplay(o);
  };
  ASSERT_TRUE(run().ok());
  const std::string summary = ReadFileOrEmpty(dir + "/out/summary.json");
  const std::string predictions = ReadFileOrEmpty(dir + "/out/predictions.jsonl");
  ASSERT_NE(summary.find("\"examples\":20000"), std::string::npos) << summary;
  ASSERT_EQ(ReadFileOrEmpty(dir + "/out.model"), ReadFileOrEmpty(dir + "/ref.model"));
  std::remove((dir + "/out/summary.json").c_str());
  absl::StatusOr<RunStats> again = run();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->ended_before);
  EXPECT_EQ(ReadFileOrEmpty(dir + "/out/summary.json"), summary);
  EXPECT_EQ(ReadFileOrEmpty(dir + "/out/predictions.jsonl"), predictions);
  EXPECT_EQ(ReadFileOrEmpty(dir + "/out.model"), ReadFileOrEmpty(dir + "/ref.model"));
  for (const char* field : {"examples", "positives", "logloss", "auc", "model_version"}) {
    EXPECT_EQ(SummaryNumber(dir + "/out", field), SummaryNumber(dir + "/ref", field)) << field;
  }
}

}  // namespace
}  // namespace eddy
