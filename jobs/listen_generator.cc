// `eddy gen listens`: a synthetic stream of music-app listen events.
//
// Users and genres are Zipf-popular; each user has a favourite genre; events
// arrive a few seconds out of order; a fraction arrive much later (late
// events) and a fraction are malformed (dead letters). Same flags and seed,
// same bytes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/file_sink.h"
#include "engine/job_registry.h"
#include "engine/status_macros.h"
#include "jobs/music_events.h"
#include "jobs/random_draws.h"

namespace eddy::music {
namespace {

constexpr int64_t kStartMs = 1735689600000;  // 2025-01-01T00:00:00Z

const char* const kGenres[] = {"pop",   "rock",   "hiphop", "jazz",      "classical", "electronic",
                               "indie", "metal",  "folk",   "reggae",    "blues",     "country"};
constexpr int kNumGenres = sizeof(kGenres) / sizeof(kGenres[0]);

std::string Malformed(Draw& d, const std::string& good) {
  switch (d.Below(5)) {
    case 0: return good.substr(0, good.size() / 2);  // truncated
    case 1: {
      std::string s = good;
      const size_t at = s.find("\"ts\":");
      return at == std::string::npos ? "{" : s.insert(at + 5, "\"").insert(at + 19, "\"");
    }
    case 2: return "{\"type\":\"listen\",\"ts\":1735689600000}";  // missing fields
    case 3: return "{\"type\":\"skip\",\"ts\":1735689600000,\"user\":\"u1\"}";  // unknown type
    default: return "not json at all";
  }
}

absl::Status GenerateListens(const ParsedArgs& args) {
  const std::string out_path = args.Get("out");
  if (out_path.empty()) return absl::InvalidArgumentError("eddy gen listens: --out FILE is required");
  EDDY_ASSIGN_OR_RETURN(int64_t events, args.GetInt("events", 100000, 0, int64_t{1} << 34));
  EDDY_ASSIGN_OR_RETURN(int64_t seed, args.GetInt("seed", 1));
  EDDY_ASSIGN_OR_RETURN(int64_t users, args.GetInt("users", 1000, 1, 100000000));
  EDDY_ASSIGN_OR_RETURN(double late_rate, args.GetDouble("late-rate", 0.001));
  EDDY_ASSIGN_OR_RETURN(double malformed_rate, args.GetDouble("malformed-rate", 0.0));
  if (late_rate < 0 || late_rate > 1 || malformed_rate < 0 || malformed_rate > 1) {
    return absl::InvalidArgumentError("eddy gen listens: rates must be within [0, 1]");
  }
  EDDY_ASSIGN_OR_RETURN(auto out, OpenJsonLinesFile(out_path));

  Draw d(static_cast<uint64_t>(seed));
  const Zipf user_pick(users, 1.1);
  const Zipf genre_pick(kNumGenres, 1.0);
  double clock = static_cast<double>(kStartMs);
  std::string line;
  for (int64_t i = 0; i < events; ++i) {
    clock += d.Exponential(500.0);  // ~2 events per second
    Listen l;
    const int64_t u = user_pick.Sample(d);
    l.user = absl::StrCat("u", u);
    // Each user's favourite genre takes half their listens.
    const int64_t favourite = (u * 7919) % kNumGenres;
    l.genre = kGenres[d.Uniform() < 0.5 ? favourite : genre_pick.Sample(d)];
    l.artist = absl::StrCat("a", d.Below(500));
    l.track = absl::StrCat("t", d.Below(20000));
    l.ms_played = d.Uniform() < 0.2 ? 5000 + d.Below(25000) : 30000 + d.Below(270000);
    l.ts = static_cast<int64_t>(clock) - d.Below(3000);  // up to 3 s out of order
    if (d.Uniform() < late_rate) l.ts -= 600000 + d.Below(1200000);  // 10-30 min late
    line.clear();
    AppendListenJson(l, line);
    if (d.Uniform() < malformed_rate) line = Malformed(d, line);
    EDDY_RETURN_IF_ERROR(out->Write(line));
  }
  return out->Close();
}

}  // namespace

EDDY_REGISTER_GENERATOR(GeneratorInfo{
    "listens",
    "music-app listen events (Zipf users and genres, out-of-order, some late or malformed)",
    {
        {"out", FlagDef::kValue, "output file (.jsonl, or .jsonl.gz for gzip)"},
        {"events", FlagDef::kValue, "number of events (default 100000)"},
        {"seed", FlagDef::kValue, "random seed (default 1); same seed, same bytes"},
        {"users", FlagDef::kValue, "distinct users (default 1000)"},
        {"late-rate", FlagDef::kValue, "fraction arriving 10-30 min late (default 0.001)"},
        {"malformed-rate", FlagDef::kValue, "fraction of malformed lines (default 0)"},
    },
    GenerateListens});

}  // namespace eddy::music
