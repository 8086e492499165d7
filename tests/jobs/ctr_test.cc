// The CTR job and its generator, through the eddy binary: the generator's
// stream is reproducible and consistent; every impression's audited
// features equal a brute force over the raw events strictly before it; 1
// and 2 threads give the same predictions; every bad line is a dead letter
// with its reason; a change of the hidden click model raises an alert after
// it and none before; bad flags are one-line errors.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "jobs/ctr_events.h"
#include "tests/testing/command.h"
#include "tests/testing/json_field.h"
#include "tests/testing/replay_outputs.h"

namespace eddy {
namespace {

using ctr::Event;
using testing::EddyBinary;
using testing::FileLines;
using testing::JsonField;
using testing::MakeScratchDir;
using testing::ReadFileOrEmpty;
using testing::RunCommand;


std::string Generate(const std::string& dir, const std::string& flags) {
  const std::string path = dir + "/events.jsonl";
  const auto r = RunCommand(absl::StrCat(EddyBinary(), " gen ctr --out ", path, " ", flags), dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

testing::CommandResult Replay(const std::string& dir, const std::string& input,
                              const std::string& out, const std::string& flags = "") {
  return RunCommand(absl::StrCat(EddyBinary(), " replay ctr --input ", input, " --output-dir ",
                                 dir, "/", out, " ", flags),
                    dir);
}

TEST(CtrGeneratorTest, SameSeedSameBytesAndAConsistentStreamWithItsTruth) {
  const std::string dir = MakeScratchDir("ctr_gen");
  const std::string a = Generate(dir, "--events 20000 --seed 4 --truth " + dir + "/truth.jsonl");
  const std::string bytes = ReadFileOrEmpty(a);
  EXPECT_EQ(ReadFileOrEmpty(Generate(dir, "--events 20000 --seed 4")), bytes);
  EXPECT_NE(ReadFileOrEmpty(Generate(dir, "--events 20000 --seed 5")), bytes);
  Generate(dir, "--events 20000 --seed 4");  // back to seed 4's file

  const std::vector<std::string> lines = FileLines(a);
  ASSERT_EQ(lines.size(), 20000u);
  std::map<std::string, std::pair<std::string, int64_t>> impressions;  // imp -> (user, ts)
  std::vector<Event> click_events;
  int listens = 0;
  int64_t last_ts = 0;
  for (const std::string& line : lines) {
    absl::StatusOr<Event> e = ctr::ParseEvent(line + std::string(64, ' '));
    ASSERT_TRUE(e.ok()) << e.status() << ": " << line;
    // Written up to 2 s after its time (a client's batched upload): a click
    // may even come before its impression.
    EXPECT_GE(e->ts, last_ts - 2000) << line;
    last_ts = std::max(last_ts, e->ts);
    if (e->type == Event::kListen) {
      ++listens;
    } else if (e->type == Event::kImpression) {
      EXPECT_TRUE(impressions.emplace(e->imp, std::make_pair(e->user, e->ts)).second) << line;
    } else {
      click_events.push_back(*e);
    }
  }
  const size_t clicks = click_events.size();
  for (const Event* e = click_events.data(); e != click_events.data() + clicks; ++e) {
    {
      auto it = impressions.find(e->imp);
      ASSERT_NE(it, impressions.end()) << "a click without its impression: " << e->imp;
      EXPECT_EQ(it->second.first, e->user);
      EXPECT_GT(e->ts, it->second.second);
      EXPECT_LE(e->ts, it->second.second + 10 * 60 * 1000);
    }
  }
  EXPECT_GT(listens, 10000);
  EXPECT_GT(clicks, 100u);
  // The truth: every impression's probability (a few written at the end may
  // have no line: their stream was cut at 20000), never in the events.
  size_t truths = 0;
  for (const std::string& t : FileLines(dir + "/truth.jsonl")) {
    double p = 0;
    ASSERT_TRUE(absl::SimpleAtod(JsonField(t, "p"), &p)) << t;
    EXPECT_GT(p, 0);
    EXPECT_LT(p, 1);
    truths += impressions.count(JsonField(t, "imp"));
  }
  EXPECT_EQ(truths, impressions.size());
  EXPECT_EQ(bytes.find("\"p\""), std::string::npos);

  // Bad flags: one line, non-zero.
  for (const char* bad : {"--events -1", "--drift-at 1.5", "--malformed-rate 2",
                                 "--users 0", "--drift-at x"}) {
    const auto r = RunCommand(absl::StrCat(EddyBinary(), " gen ctr --out ", dir, "/x.jsonl ", bad), dir);
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << bad << ": " << r.err;
  }
}

// The audited features of every impression, against a brute force over the
// raw events: those that arrived before it (earlier in the file) with a
// strictly earlier time (lookbacks: within the window, its oldest slice
// whole). Events are written up to 50 s late here (within the job's
// allowed lateness), so arrival and time disagree: a listen that arrives
// before an impression but happened after it must not count. One record per
// batch, so that every stage sees events in the file's order.
TEST(CtrJobTest, EveryImpressionsFeaturesEqualABruteForceOverEarlierEvents) {
  const std::string dir = MakeScratchDir("ctr_features");
  const std::string input =
      Generate(dir, "--events 12000 --seed 9 --users 200 --ads 40 --disorder-ms 50000");
  const auto r = Replay(dir, input, "out", "--audit " + dir + "/audit.jsonl --batch-size 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<Event> events;
  for (const std::string& line : FileLines(input)) {
    events.push_back(*ctr::ParseEvent(line + std::string(64, ' ')));
  }
  std::map<std::string, size_t> at;  // imp -> index of its event
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].type == Event::kImpression) at[events[i].imp] = i;
  }
  // A click's ad, if its impression arrived before it (the user stage
  // learns it from the impression).
  const auto ad_of_click = [&](size_t click) -> std::string {
    auto it = at.find(events[click].imp);
    return it != at.end() && it->second < click ? events[it->second].ad : "";
  };
  size_t out_of_order = 0;
  const auto floor_to = [](int64_t t, int64_t slice) {
    return (t / slice - (t % slice < 0 ? 1 : 0)) * slice;
  };
  const auto bucket = [](int64_t n) { return absl::StrCat("b", static_cast<int>(std::floor(std::log2(1.0 + n)))); };
  const int64_t h = 3600 * 1000;
  size_t checked = 0;
  for (const std::string& audit : FileLines(dir + "/audit.jsonl")) {
    const size_t index = at.at(JsonField(audit, "imp"));
    const Event& imp = events[index];
    const int64_t ts = imp.ts;
    const int64_t from_1h = floor_to(ts - h, 60 * 1000), from_24h = floor_to(ts - 24 * h, 15 * 60 * 1000);
    std::map<std::string, double> want;  // name -> value
    std::map<std::string, int64_t> g1, g24;
    int64_t imps24 = 0, clicks24 = 0, ad_i1 = 0, ad_i24 = 0, ad_c1 = 0, ad_c24 = 0;
    std::vector<std::pair<int64_t, bool>> activity;  // (ts, is a listen) of the user
    std::vector<std::pair<int64_t, std::string>> artists;
    for (size_t j = 0; j < index; ++j) {  // arrived before it
      const Event& e = events[j];
      if (e.ts >= ts) {  // but not strictly earlier
        out_of_order += e.user == imp.user && e.type == Event::kListen;
        continue;
      }
      if (e.user == imp.user) {
        if (e.type == Event::kListen) {
          if (e.ts >= from_1h) ++g1[e.genre];
          if (e.ts >= from_24h) {
            ++g24[e.genre];
            artists.emplace_back(e.ts, e.artist);
          }
        } else if (e.ts >= from_24h) {
          ++(e.type == Event::kImpression ? imps24 : clicks24);
        }
        if (e.type != Event::kClick) activity.emplace_back(e.ts, e.type == Event::kListen);
      }
      const std::string ad = e.type == Event::kImpression ? e.ad
                             : e.type == Event::kClick   ? ad_of_click(j) : "";
      if (ad == imp.ad) {
        const bool is_click = e.type == Event::kClick;
        if (e.ts >= from_1h) ++(is_click ? ad_c1 : ad_i1);
        if (e.ts >= from_24h) ++(is_click ? ad_c24 : ad_i24);
      }
    }
    for (const auto& [g, n] : g1) want["user.listens_1h.genre=" + g] = std::log2(1.0 + n);
    for (const auto& [g, n] : g24) want["user.listens_24h.genre=" + g] = std::log2(1.0 + n);
    std::stable_sort(artists.begin(), artists.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = artists.size() > 10 ? artists.size() - 10 : 0; i < artists.size(); ++i) {
      want["user.last_artists=" + artists[i].second] += 1;
    }
    // The session: the user's listens and impressions back to the last gap
    // of over 30 min (none if the latest is over 30 min before).
    std::sort(activity.begin(), activity.end());
    int64_t session_listens = 0, session_ads = 0, after = ts;
    for (auto it = activity.rbegin(); it != activity.rend() && after - it->first <= 30 * 60 * 1000; ++it) {
      ++(it->second ? session_listens : session_ads);
      after = it->first;
    }
    want["user.session_listens=" + bucket(session_listens)] = 1;
    want["user.session_ads=" + bucket(session_ads)] = 1;
    want["user.id=" + imp.user] = 1;
    want["user.ctr_24h"] = std::log((1.0 + clicks24) / (30.0 + imps24) * 30);
    want["user.impressions_24h=" + bucket(imps24)] = 1;
    want["user.clicks_24h=" + bucket(clicks24)] = 1;
    int64_t total1 = 0;
    for (const auto& [g, n] : g1) total1 += n;
    for (const auto& [g, n] : g1) {
      want["taste.genre_1h=" + g] = static_cast<double>(n) / static_cast<double>(total1);
      want["taste.genre_1h=" + g + "^category.ad=" + imp.category] = static_cast<double>(n) / total1;
    }
    want["ad.id=" + imp.ad] = 1;
    want["ad.advertiser=" + imp.advertiser] = 1;
    want["ad.impressions_1h=" + bucket(ad_i1)] = 1;
    want["ad.impressions_24h=" + bucket(ad_i24)] = 1;
    want["ad.ctr_1h"] = std::log((1.0 + ad_c1) / (30.0 + ad_i1) * 30);
    want["ad.ctr_24h"] = std::log((1.0 + ad_c24) / (30.0 + ad_i24) * 30);
    want["category.ad=" + imp.category] = 1;
    want["slot.name=" + imp.slot] = 1;
    want["slot.name=" + imp.slot + "^category.ad=" + imp.category] = 1;
    want["context.hour=" + std::to_string((ts / h) % 24)] = 1;
    want["context.device=" + imp.device] = 1;

    std::map<std::string, double> got;
    for (size_t p = audit.find("{\"name\":\""); p != std::string::npos;
         p = audit.find("{\"name\":\"", p + 1)) {
      const std::string entry = audit.substr(p, audit.find('}', p) - p + 1);
      double v = 0;
      ASSERT_TRUE(absl::SimpleAtod(JsonField(entry, "value"), &v)) << entry;
      got[JsonField(entry, "name")] += v;
    }
    ASSERT_EQ(got.size(), want.size()) << audit;
    for (const auto& [name, v] : want) {
      ASSERT_EQ(got.count(name), 1u) << "missing " << name << " in " << audit;
      EXPECT_NEAR(got[name], v, 1e-5 * std::max(1.0, std::fabs(v))) << name << " in " << audit;
    }
    ++checked;
  }
  EXPECT_GT(checked, 2000u);
  EXPECT_GT(out_of_order, 0u) << "no listen arrived before an impression it followed";
}

TEST(CtrJobTest, ThreadsAndBatchSizesGiveTheSamePredictionsAndEveryBadLineIsADeadLetter) {
  const std::string dir = MakeScratchDir("ctr_threads");
  const std::string input = Generate(dir, "--events 60000 --seed 2 --malformed-rate 0.01");
  ASSERT_EQ(Replay(dir, input, "one").exit_code, 0);
  const auto r = Replay(dir, input, "two", "--threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> one = FileLines(dir + "/one/predictions.jsonl");
  EXPECT_GT(one.size(), 10000u);
  EXPECT_EQ(FileLines(dir + "/two/predictions.jsonl"), one);
  EXPECT_EQ(FileLines(dir + "/two/metrics.jsonl"), FileLines(dir + "/one/metrics.jsonl"));
  // Nor do batch sizes change anything (the learner learns what closed
  // before each record, wherever the batches end).
  const auto small = Replay(dir, input, "small", "--batch-size 7");
  ASSERT_EQ(small.exit_code, 0) << small.err;
  EXPECT_EQ(FileLines(dir + "/small/predictions.jsonl"), one);
  EXPECT_EQ(FileLines(dir + "/small/metrics.jsonl"), FileLines(dir + "/one/metrics.jsonl"));

  // Every line that does not parse is a dead letter with its origin (file
  // and line) and reason, and so is every click whose impression was lost.
  int bad = 0;
  std::set<std::string> lost_impressions, clicks_on_lost;
  const std::vector<std::string> lines = FileLines(input);
  for (const std::string& line : lines) {
    absl::StatusOr<Event> e = ctr::ParseEvent(line + std::string(64, ' '));
    // (A year-2100 time parses, but the job takes no record from the future.)
    bad += e.ok() && e->ts < 4102444800000 ? 0 : 1;
  }
  const std::vector<std::string> dead = FileLines(dir + "/one/dead_letters.jsonl");
  std::map<std::string, int> reasons;
  for (const std::string& d : dead) {
    EXPECT_NE(d.find("\"origin\":\""), std::string::npos) << d;
    ++reasons[JsonField(d, "reason")];
  }
  EXPECT_GT(bad, 300);
  EXPECT_EQ(static_cast<int>(dead.size()) - reasons["label for an unknown example id"], bad);
  EXPECT_GT(reasons.size(), 4u);
  const std::string summary = ReadFileOrEmpty(dir + "/one/summary.json");
  EXPECT_EQ(JsonField(summary, "dead_letters"), std::to_string(dead.size()));
  EXPECT_EQ(JsonField(summary, "impressions"), std::to_string(one.size()));
  for (const char* key : {"clicks", "logloss", "auc", "calibration", "alerts", "events_per_second"}) {
    EXPECT_FALSE(JsonField(summary, key).empty()) << key << " in " << summary;
  }
}

// A copy of a real impression stamped 1900, first in the file and again
// mid-stream: each is a dead letter ("event time in the past": the job takes
// nothing over a week behind its partition's newest time), even before any
// watermark, and the run's predictions are those of the stream without
// them (the copies take no id, no user state, no learning from the real ones).
TEST(CtrJobTest, ARecordStampedDecadesBackIsADeadLetterEvenFirst) {
  const std::string dir = MakeScratchDir("ctr_far_past");
  const std::string input = Generate(dir, "--events 20000 --seed 6");
  ASSERT_EQ(Replay(dir, input, "clean").exit_code, 0);
  std::vector<std::string> lines = FileLines(input);
  std::vector<size_t> impressions;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("\"type\":\"impression\"") != std::string::npos) impressions.push_back(i);
  }
  ASSERT_GT(impressions.size(), 100u);
  auto stamped_1900 = [&](size_t i) {
    const std::string ts = JsonField(lines[i], "ts");
    std::string copy = lines[i];
    const size_t at = copy.find("\"ts\":" + ts);
    EXPECT_NE(at, std::string::npos) << copy;
    if (at != std::string::npos) copy.replace(at, 5 + ts.size(), "\"ts\":-2208988800000");
    return copy;
  };
  const size_t middle = impressions[impressions.size() / 2];
  const std::string first = stamped_1900(impressions[0]), later = stamped_1900(middle);
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(middle) + 1, later);
  lines.insert(lines.begin(), first);
  {
    std::ofstream f(dir + "/stamped.jsonl");
    for (const std::string& l : lines) f << l << "\n";
  }
  const auto r = Replay(dir, dir + "/stamped.jsonl", "stamped");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> past;
  for (const std::string& d : FileLines(dir + "/stamped/dead_letters.jsonl")) {
    if (JsonField(d, "reason").find("event time in the past") != std::string::npos) past.push_back(d);
  }
  ASSERT_EQ(past.size(), 2u) << ReadFileOrEmpty(dir + "/stamped/dead_letters.jsonl");
  EXPECT_NE(past[0].find(":1\""), std::string::npos) << "origin line 1: " << past[0];
  EXPECT_EQ(FileLines(dir + "/stamped/predictions.jsonl"), FileLines(dir + "/clean/predictions.jsonl"));
}

// The hidden click model changes half-way (new tastes per category, new ad
// qualities): the model's ranking breaks (AUC from ~0.72 to ~0.55) while its
// calibration holds. An "auc" alert follows within four hourly windows; no
// alert comes before the change, nor on the same stream without it.
TEST(CtrJobTest, AChangeOfTheClickModelIsAlertedAfterItAndNotBefore) {
  const std::string dir = MakeScratchDir("ctr_drift");
  const std::string flags = "--events 400000 --seed 5 --truth " + dir + "/truth.jsonl";
  const std::string input = Generate(dir, flags + " --drift-at 0.5");
  int64_t drift_ts = -1;
  for (const std::string& t : FileLines(dir + "/truth.jsonl")) {
    if (t.find("\"drift\":1") != std::string::npos) {
      ASSERT_TRUE(absl::SimpleAtoi(JsonField(t, "ts"), &drift_ts));
    }
  }
  ASSERT_GT(drift_ts, 0);
  ASSERT_EQ(Replay(dir, input, "drift").exit_code, 0);
  std::vector<int64_t> auc_alerts;
  for (const std::string& a : FileLines(dir + "/drift/alerts.jsonl")) {
    if (JsonField(a, "state") != "alert") continue;
    int64_t t = 0;
    ASSERT_TRUE(absl::SimpleAtoi(JsonField(a, "event_time"), &t));
    EXPECT_GT(t, drift_ts) << "an alert before the change: " << a;
    if (JsonField(a, "detector") == "auc") auc_alerts.push_back(t);
  }
  ASSERT_FALSE(auc_alerts.empty()) << ReadFileOrEmpty(dir + "/drift/alerts.jsonl");
  EXPECT_LT(auc_alerts[0], drift_ts + 4 * 3600 * 1000);

  const std::string same = Generate(dir, "--events 400000 --seed 5");
  ASSERT_EQ(Replay(dir, same, "steady").exit_code, 0);
  // No alert of any kind: not the untrained model's first hour, not the
  // feature drift.
  EXPECT_EQ(FileLines(dir + "/steady/alerts.jsonl"), std::vector<std::string>{});
}

TEST(CtrJobTest, BadFlagsAreOneLineErrors) {
  const std::string dir = MakeScratchDir("ctr_flags");
  const std::string input = Generate(dir, "--events 100");
  for (const char* bad : {"--drift magic", "--bits 40", "--model tree", "--param attribution_ms=0",
                          "--param ph_lambda=0", "--param ph_alpha=1.5", "--param ph_delta=x",
                          "--param ignore=user.nope", "--audit"}) {
    const auto r = Replay(dir, input, "out", bad);
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << bad << ": " << r.err;
  }
  // An audit file must not land on another output of the run, nor be gzip
  // in a run that can resume.
  for (const std::string& bad : {"--audit " + dir + "/out/predictions.jsonl",
                                 "--audit " + dir + "/out/summary.json",
                                 "--audit " + dir + "/a.jsonl.gz --state-dir " + dir + "/state",
                                 std::string("--audit false")}) {
    const auto r = Replay(dir, input, "out", bad);
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << bad << ": " << r.err;
  }
  // The demo refuses bad flags before it starts anything.
  for (const char* bad : {"--drift-at 1.5", "--drift-at x", "--rate 0", "--seconds 0"}) {
    const auto r = RunCommand(absl::StrCat(EddyBinary(), " demo --output-dir ", dir, "/demo ", bad), dir);
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << bad << ": " << r.err;
  }
}

// --report: one HTML file with the charts inline (no script, no external
// resource), and the throughput samples it draws; eddy compare sets two
// runs' summaries side by side.
TEST(CtrJobTest, ReportIsOneSelfContainedFileAndCompareSetsRunsSideBySide) {
  const std::string dir = MakeScratchDir("ctr_report");
  const std::string input = Generate(dir, "--events 150000 --seed 3");
  auto r = Replay(dir, input, "ftrl", "--report");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = ReadFileOrEmpty(dir + "/ftrl/report.html");
  EXPECT_GE(std::count(html.begin(), html.end(), '<') , 100);
  size_t charts = 0;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++charts;
  EXPECT_GE(charts, 4u);  // logloss, AUC, calibration, throughput (+ feature drift)
  for (const char* outside : {"<script", "src=", "href=", "@import", "url("}) {
    EXPECT_EQ(html.find(outside), std::string::npos) << outside;
  }
  EXPECT_NE(html.find(JsonField(ReadFileOrEmpty(dir + "/ftrl/summary.json"), "impressions")),
            std::string::npos);
  EXPECT_FALSE(FileLines(dir + "/ftrl/throughput.jsonl").empty());

  r = Replay(dir, input, "fm", "--model fm");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand(absl::StrCat(EddyBinary(), " compare ", dir, "/ftrl ", dir, "/fm"), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool models = false, logloss = false;
  for (const std::string& line : std::vector<std::string>(absl::StrSplit(r.out, '\n'))) {
    models |= line.find("model") == 0 && line.find("ftrl") != std::string::npos &&
              line.find("fm") != std::string::npos;
    logloss |= line.find("logloss") == 0 && line.find('%') != std::string::npos;
  }
  EXPECT_TRUE(models && logloss) << r.out;
  // A job without a report, and a directory without a summary: errors.
  r = RunCommand(absl::StrCat(EddyBinary(), " compare ", dir, "/ftrl ", dir, "/nothing"), dir);
  EXPECT_NE(r.exit_code, 0);
}

// eddy demo: broker, generator and job together, on loopback; it stops by
// itself and leaves the outputs, a summary with the model's figures and the
// report.
TEST(CtrDemoTest, DemoRunsTheJobLiveAndLeavesAReport) {
  const std::string dir = MakeScratchDir("ctr_demo");
  const auto r = RunCommand(
      absl::StrCat(EddyBinary(), " demo --seconds 10 --rate 3000 --output-dir ", dir, "/demo"), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string summary = ReadFileOrEmpty(dir + "/demo/summary.json");
  int64_t events = 0, impressions = 0;
  ASSERT_TRUE(absl::SimpleAtoi(JsonField(summary, "events"), &events)) << summary;
  ASSERT_TRUE(absl::SimpleAtoi(JsonField(summary, "impressions"), &impressions)) << summary;
  // (Lower bounds that hold under a sanitizer build, which is slower.)
  EXPECT_GT(events, 3000);
  EXPECT_GT(impressions, 300);
  EXPECT_EQ(FileLines(dir + "/demo/predictions.jsonl").size(), static_cast<size_t>(impressions));
  EXPECT_FALSE(FileLines(dir + "/demo/metrics.jsonl").empty());
  EXPECT_NE(ReadFileOrEmpty(dir + "/demo/report.html").find("<svg"), std::string::npos);
  EXPECT_NE(r.err.find("AUC"), std::string::npos) << r.err;  // the status line
}

}  // namespace
}  // namespace eddy
