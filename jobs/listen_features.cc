// Point-in-time user features for every play: what a model would see about
// the listener at the moment of each event, from that user's earlier plays.
//
// For each listen of 30 s or more (a play), a 24 h lookback with 15 min
// slices over the user's earlier plays (operators/windows.h): plays, distinct
// artists (HyperLogLog when large), the 5 most played genres (space-saving)
// and the last 5 artists. They become a hashed sparse vector (2^20, with the
// play's genre crossed with the user's top genres), written with its audit
// names (operators/features.h).
//
// Input:  listen events (jobs/music_events.h), e.g. from `eddy gen listens`.
// Output: features.jsonl, one record per play:
//   {"user":"u42","ts":1735689600123,"track":"t9","features":[
//     {"name":"user.plays_24h=b2","value":1,"index":123456}, ...]}
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/job_builder.h"
#include "engine/job_registry.h"
#include "engine/json_writer.h"
#include "engine/key.h"
#include "jobs/music_events.h"
#include "operators/aggregates.h"
#include "operators/features.h"
#include "operators/windows.h"

namespace eddy::music {

// Everything the lookback keeps per slice, merged as one aggregate.
struct UserAcc {
  agg::Count::Acc plays;
  agg::DistinctAcc artists;
  agg::TopKAcc genres;
  agg::LastNAcc<std::string> last_artists;
};

}  // namespace eddy::music

EDDY_CODEC(eddy::music::UserAcc, plays, artists, genres, last_artists);

namespace eddy::music {
namespace {

constexpr int64_t kMinPlayMs = 30 * 1000;
using Artists = agg::Distinct<10>;
using Genres = agg::TopK<16>;
using LastArtists = agg::LastN<std::string, 5>;

struct UserFeatures {
  int64_t plays = 0;
  double artists = 0;
  std::vector<std::pair<std::string, int64_t>> top_genres;
  std::vector<std::string> last_artists;
};

struct UserAgg {
  using Acc = UserAcc;
  static void Add(Acc& a, const Listen& l, EventTime ts) {
    agg::Count::Add(a.plays, ts);
    Artists::Add(a.artists, KeyTraits<std::string>::Hash(l.artist), ts);
    Genres::Add(a.genres, l.genre, ts);
    LastArtists::Add(a.last_artists, l.artist, ts);
  }
  static void Merge(Acc& earlier, const Acc& later) {
    agg::Count::Merge(earlier.plays, later.plays);
    Artists::Merge(earlier.artists, later.artists);
    Genres::Merge(earlier.genres, later.genres);
    LastArtists::Merge(earlier.last_artists, later.last_artists);
  }
  static UserFeatures Result(const Acc& a, EventTime) {
    return {agg::Count::Result(a.plays), Artists::Result(a.artists), Genres::Top(a.genres, 5),
            LastArtists::Result(a.last_artists)};
  }
};

// Encodes a play's features as a hashed vector with audit names. Copied
// once per task: the builder is per task.
class FeatureEncoder {
 public:
  FeatureEncoder() : space_(MakeSpace()), builder_(space_.get(), /*audit=*/true) {}
  FeatureEncoder(const FeatureEncoder& other)
      : space_(other.space_), builder_(space_.get(), /*audit=*/true) {}

  void operator()(const LookbackValue<Listen, UserFeatures>& v, std::string& out) {
    const UserFeatures& f = v.value;
    builder_.Clear();
    builder_.AddLogBucket(kPlays, static_cast<double>(f.plays));
    builder_.AddLogBucket(kArtists, f.artists);
    for (const auto& [genre, n] : f.top_genres) builder_.Add(kTopGenres, genre, static_cast<float>(n));
    for (const std::string& a : f.last_artists) builder_.Add(kLastArtists, a);
    builder_.Add(kGenre, v.event.genre);
    builder_.Finish();
    JsonObjectWriter w(out);
    w.Field("user", v.event.user).Field("ts", v.event.ts).Field("track", v.event.track);
    std::string features;
    AppendAuditJson(builder_.audit(), features);
    w.RawField("features", features);
    w.Close();
  }

 private:
  enum Field { kPlays, kArtists, kTopGenres, kLastArtists, kGenre };
  static std::shared_ptr<const FeatureSpace> MakeSpace() {
    auto space = std::make_shared<FeatureSpace>(20);
    space->AddField("user", "plays_24h");            // kPlays
    space->AddField("user", "artists_24h");          // kArtists
    space->AddField("user", "top_genres_24h");       // kTopGenres
    space->AddField("user", "last_artists");         // kLastArtists
    space->AddField("play", "genre");                // kGenre
    space->AddCross("play", "user");
    return space;
  }

  std::shared_ptr<const FeatureSpace> space_;
  FeatureBuilder builder_;
};

absl::StatusOr<JobGraph> BuildListenFeatures(const JobConfig&) {
  JobBuilder job("listen_features");
  job.Source<Listen>("events", ParseListen)
      .WithEventTime(&Listen::ts,
                     EventTimeOptions{absl::Seconds(5), absl::Minutes(1), absl::Minutes(1)})
      .Filter("plays", [](const Listen& l) { return l.ms_played >= kMinPlayMs; })
      .KeyBy("by_user", &Listen::user)
      .Process("lookback_24h",
               MakeLookback<std::string, Listen, UserAgg>(absl::Hours(24), absl::Minutes(15),
                                                          absl::Minutes(1), UserAgg::Add))
      .Sink("features", FeatureEncoder());
  return std::move(job).Build();
}

}  // namespace

EDDY_REGISTER_JOB("listen_features",
                  "Point-in-time 24 h user features for every play, as hashed sparse vectors "
                  "with audit names",
                  BuildListenFeatures);

}  // namespace eddy::music
