// The example job end to end: generated events -> eddy replay -> hourly
// counts equal a brute-force count of the on-time plays, byte-identical for
// every thread count and for plain or gzip input.
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/json_reader.h"
#include "engine/job_registry.h"
#include "engine/replay.h"
#include "gtest/gtest.h"
#include "jobs/music_events.h"
#include "tests/testing/command.h"
#include "tests/testing/replay_outputs.h"

namespace eddy {
namespace {

using testing::MakeScratchDir;
using testing::ReadFileOrEmpty;

std::vector<std::string> Lines(const std::string& path) { return testing::FileLines(path); }

void Generate(const std::string& out, int64_t events, double malformed_rate) {
  const GeneratorInfo* gen = GeneratorRegistry::Global().Find("listens");
  ASSERT_NE(gen, nullptr);
  absl::StatusOr<ParsedArgs> args = ParseArgs(
      {"--out", out, "--events", std::to_string(events), "--seed", "11", "--users", "300",
       "--late-rate", "0.01", "--malformed-rate", std::to_string(malformed_rate)},
      gen->flags, "gen");
  ASSERT_TRUE(args.ok()) << args.status();
  ASSERT_TRUE(gen->run(*args).ok());
}

absl::StatusOr<RunStats> Replay(const std::string& input, const std::string& dir, int threads) {
  ReplayOptions o;
  o.job = "listen_counts";
  o.inputs = {input};
  o.output_dir = dir;
  o.threads = threads;
  return RunReplay(o);
}

TEST(ListenCountsTest, CountsMatchBruteForceAndAreIdenticalAcrossThreadsAndCompression) {
  const std::string dir = MakeScratchDir("listen_counts");
  Generate(dir + "/events.jsonl", 60000, 0.002);
  Generate(dir + "/events.jsonl.gz", 60000, 0.002);

  absl::StatusOr<RunStats> base = Replay(dir + "/events.jsonl", dir + "/t1", 1);
  ASSERT_TRUE(base.ok()) << base.status();
  EXPECT_EQ(base->events, 60000u);
  EXPECT_GT(base->dead_letters, 0u);
  EXPECT_GT(base->late_events, 0u);

  const std::vector<std::string> outputs = {"hourly_genre_counts.jsonl", "dead_letters.jsonl",
                                            "late_events.jsonl"};
  for (int threads : {2, 4}) {
    const std::string out = absl::StrCat(dir, "/t", threads);
    ASSERT_TRUE(Replay(dir + "/events.jsonl", out, threads).ok());
    for (const std::string& f : outputs) {
      EXPECT_EQ(ReadFileOrEmpty(out + "/" + f), ReadFileOrEmpty(dir + "/t1/" + f))
          << f << " differs with " << threads << " threads";
    }
  }
  ASSERT_TRUE(Replay(dir + "/events.jsonl.gz", dir + "/gz", 3).ok());
  EXPECT_EQ(ReadFileOrEmpty(dir + "/gz/hourly_genre_counts.jsonl"),
            ReadFileOrEmpty(dir + "/t1/hourly_genre_counts.jsonl"));

  // Brute force: count plays of every parseable, not-late listen.
  const std::set<uint64_t> late_lines = testing::LateLines(dir + "/t1/late_events.jsonl");
  EXPECT_EQ(late_lines.size(), base->late_events);
  std::map<std::tuple<std::string, int64_t, std::string>, int64_t> expected;
  uint64_t bad = 0;
  const std::vector<std::string> events = Lines(dir + "/events.jsonl");
  for (size_t i = 0; i < events.size(); ++i) {
    std::string padded = events[i] + std::string(64, '\0');
    absl::StatusOr<music::Listen> l =
        music::ParseListen(absl::string_view(padded.data(), events[i].size()));
    if (!l.ok()) {
      ++bad;
      continue;
    }
    if (late_lines.count(i + 1) || l->ms_played < 30000) continue;
    const int64_t hour = l->ts - l->ts % 3600000;
    ++expected[{l->user, hour, l->genre}];
  }
  EXPECT_EQ(bad, base->dead_letters);
  std::map<std::tuple<std::string, int64_t, std::string>, int64_t> got;
  for (const std::string& line : Lines(dir + "/t1/hourly_genre_counts.jsonl")) {
    std::string user, genre;
    int64_t start = 0, plays = 0;
    ASSERT_TRUE(ParseJsonObjectCopy(line, [&](absl::string_view k, JsonValue& v) {
                  if (k == "user") return v.GetString(user);
                  if (k == "genre") return v.GetString(genre);
                  if (k == "window_start") return v.GetInt(start);
                  if (k == "plays") return v.GetInt(plays);
                  return absl::OkStatus();
                }).ok());
    EXPECT_TRUE(got.emplace(std::make_tuple(user, start, genre), plays).second)
        << "window emitted twice: " << line;
  }
  EXPECT_EQ(got, expected);

  const std::string summary = ReadFileOrEmpty(dir + "/t1/summary.json");
  for (const char* field : {"\"events\":60000", "\"dead_letters\":", "\"late_events\":",
                            "\"wall_seconds\":", "\"events_per_second\":"}) {
    EXPECT_NE(summary.find(field), std::string::npos) << field << " in " << summary;
  }
}

TEST(ListenCountsTest, GeneratorIsDeterministic) {
  const std::string dir = MakeScratchDir("listen_gen");
  Generate(dir + "/a.jsonl", 5000, 0.01);
  Generate(dir + "/b.jsonl", 5000, 0.01);
  EXPECT_EQ(ReadFileOrEmpty(dir + "/a.jsonl"), ReadFileOrEmpty(dir + "/b.jsonl"));
  EXPECT_EQ(Lines(dir + "/a.jsonl").size(), 5000u);
}

TEST(ListenCountsTest, ParseListenReasons) {
  const auto parse = [](const std::string& s) {
    const std::string padded = s + std::string(64, '\0');
    return music::ParseListen(absl::string_view(padded.data(), s.size()));
  };
  EXPECT_TRUE(parse(R"({"type":"listen","ts":1,"user":"u","track":"t","artist":"a","genre":"g","ms_played":5,"extra":[1,2]})").ok());
  EXPECT_EQ(parse(R"({"type":"listen","ts":"1","user":"u"})").status().message(),
            "field 'ts': expected an integer");
  EXPECT_EQ(parse(R"({"type":"click","ts":1})").status().message(), "unknown event type");
  EXPECT_EQ(parse(R"({"type":"listen","ts":1,"user":"u","track":"t","artist":"a","genre":"g"})")
                .status()
                .message(),
            "missing field 'ms_played'");
  EXPECT_EQ(parse(R"({"type":"listen")").status().message(), "malformed JSON");
}

}  // namespace
}  // namespace eddy
