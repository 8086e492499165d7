// listen_features end to end: every play's features are computed only from
// the user's earlier plays (point in time), equal a brute force over the raw
// events, and are byte-identical for 1, 2 and 4 threads.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/json_reader.h"
#include "engine/job_registry.h"
#include "engine/replay.h"
#include "gtest/gtest.h"
#include "jobs/music_events.h"
#include "operators/windows.h"
#include "tests/testing/command.h"
#include "tests/testing/replay_outputs.h"

namespace eddy {
namespace {

using testing::MakeScratchDir;
using testing::ReadFileOrEmpty;

std::vector<std::string> Lines(const std::string& path) { return testing::FileLines(path); }

absl::StatusOr<RunStats> Replay(const std::string& input, const std::string& dir, int threads) {
  ReplayOptions o;
  o.job = "listen_features";
  o.inputs = {input};
  o.output_dir = dir;
  o.threads = threads;
  return RunReplay(o);
}

// "user ts track | plays bucket | last artists, latest first".
std::string Row(const std::string& user, int64_t ts, const std::string& track,
                const std::string& bucket, const std::vector<std::string>& artists) {
  return absl::StrCat(user, " ", ts, " ", track, " | ", bucket, " | ", absl::StrJoin(artists, ","));
}

TEST(ListenFeaturesTest, FeaturesArePointInTimeAndIdenticalAcrossThreads) {
  const std::string dir = MakeScratchDir("listen_features");
  const GeneratorInfo* gen = GeneratorRegistry::Global().Find("listens");
  ASSERT_NE(gen, nullptr);
  absl::StatusOr<ParsedArgs> args =
      ParseArgs({"--out", dir + "/events.jsonl", "--events", "30000", "--seed", "5", "--users",
                 "200", "--late-rate", "0.01", "--malformed-rate", "0.002"},
                gen->flags, "gen");
  ASSERT_TRUE(args.ok()) << args.status();
  ASSERT_TRUE(gen->run(*args).ok());

  absl::StatusOr<RunStats> base = Replay(dir + "/events.jsonl", dir + "/t1", 1);
  ASSERT_TRUE(base.ok()) << base.status();
  EXPECT_GT(base->late_events, 0u);
  for (int threads : {2, 4}) {
    const std::string out = absl::StrCat(dir, "/t", threads);
    ASSERT_TRUE(Replay(dir + "/events.jsonl", out, threads).ok());
    EXPECT_EQ(ReadFileOrEmpty(out + "/features.jsonl"), ReadFileOrEmpty(dir + "/t1/features.jsonl"))
        << "features differ with " << threads << " threads";
  }

  // Brute force over the raw events, in file order: for each on-time play,
  // the user's earlier-arrived plays with times in [SliceFloor(ts - 24 h,
  // 15 min), ts).
  const std::set<uint64_t> late_lines = testing::LateLines(dir + "/t1/late_events.jsonl");
  std::vector<music::Listen> plays;
  std::vector<std::string> want;
  const std::vector<std::string> events = Lines(dir + "/events.jsonl");
  for (size_t i = 0; i < events.size(); ++i) {
    std::string padded = events[i] + std::string(64, '\0');
    absl::StatusOr<music::Listen> l =
        music::ParseListen(absl::string_view(padded.data(), events[i].size()));
    if (!l.ok() || late_lines.count(i + 1) || l->ms_played < 30000) continue;
    const EventTime from = SliceFloor(l->ts - 24 * 3600 * 1000, 15 * 60 * 1000);
    std::vector<const music::Listen*> seen;
    for (const music::Listen& p : plays) {
      if (p.user == l->user && p.ts >= from && p.ts < l->ts) seen.push_back(&p);
    }
    std::stable_sort(seen.begin(), seen.end(),
                     [](const music::Listen* a, const music::Listen* b) { return a->ts < b->ts; });
    std::vector<std::string> last;
    for (auto it = seen.rbegin(); it != seen.rend() && last.size() < 5; ++it) {
      last.push_back("user.last_artists=" + (*it)->artist);
    }
    const int bucket = static_cast<int>(std::floor(std::log2(1.0 + static_cast<double>(seen.size()))));
    want.push_back(Row(l->user, l->ts, l->track, absl::StrCat("user.plays_24h=b", bucket), last));
    plays.push_back(*l);
  }
  std::vector<std::string> got;
  for (const std::string& line : Lines(dir + "/t1/features.jsonl")) {
    std::string user, track, bucket;
    int64_t ts = 0;
    std::vector<std::string> last;
    ASSERT_TRUE(ParseJsonObjectCopy(line, [&](absl::string_view k, JsonValue& v) -> absl::Status {
                  if (k == "user") return v.GetString(user);
                  if (k == "track") return v.GetString(track);
                  if (k == "ts") return v.GetInt(ts);
                  return absl::OkStatus();
                }).ok())
        << line;
    // Feature names, in order (the array is not walked by the reader above).
    for (size_t at = line.find("\"name\":\""); at != std::string::npos;
         at = line.find("\"name\":\"", at + 1)) {
      const std::string name = line.substr(at + 8, line.find('"', at + 8) - at - 8);
      if (name.rfind("user.plays_24h=", 0) == 0) bucket = name;
      if (name.rfind("user.last_artists=", 0) == 0) last.push_back(name);
    }
    got.push_back(Row(user, ts, track, bucket, last));
  }
  ASSERT_EQ(got.size(), want.size());
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  size_t differ = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i] && ++differ <= 5) ADD_FAILURE() << "got  " << got[i] << "\nwant " << want[i];
  }
  EXPECT_EQ(differ, 0u) << "of " << got.size() << " plays";
}

}  // namespace
}  // namespace eddy
