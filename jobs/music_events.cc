#include "jobs/music_events.h"

#include "absl/strings/str_cat.h"
#include "connectors/json_reader.h"
#include "engine/json_writer.h"

namespace eddy::music {
namespace {

enum ListenField : uint32_t {
  kType = 1,
  kTs = 2,
  kUser = 4,
  kTrack = 8,
  kArtist = 16,
  kGenre = 32,
  kMsPlayed = 64,
  kAll = 127,
};

const char* MissingField(uint32_t seen) {
  if (!(seen & kType)) return "missing field 'type'";
  if (!(seen & kTs)) return "missing field 'ts'";
  if (!(seen & kUser)) return "missing field 'user'";
  if (!(seen & kTrack)) return "missing field 'track'";
  if (!(seen & kArtist)) return "missing field 'artist'";
  if (!(seen & kGenre)) return "missing field 'genre'";
  return "missing field 'ms_played'";
}

}  // namespace

absl::StatusOr<Listen> ParseListen(absl::string_view record) {
  Listen l;
  uint32_t seen = 0;
  absl::Status status = ParseJsonObject(record, [&](absl::string_view key, JsonValue& v) {
    if (key == "type") {
      absl::string_view type;
      absl::Status s = v.GetStringView(type);
      if (!s.ok()) return s;
      if (type != "listen") return absl::InvalidArgumentError("unknown event type");
      seen |= kType;
      return absl::OkStatus();
    }
    if (key == "ts") return seen |= kTs, v.GetInt(l.ts);
    if (key == "user") return seen |= kUser, v.GetString(l.user);
    if (key == "track") return seen |= kTrack, v.GetString(l.track);
    if (key == "artist") return seen |= kArtist, v.GetString(l.artist);
    if (key == "genre") return seen |= kGenre, v.GetString(l.genre);
    if (key == "ms_played") return seen |= kMsPlayed, v.GetInt(l.ms_played);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (seen != kAll) return absl::InvalidArgumentError(MissingField(seen));
  if (l.ms_played < 0) return absl::InvalidArgumentError("field 'ms_played': negative");
  return l;
}

void AppendListenJson(const Listen& l, std::string& out) {
  JsonObjectWriter w(out);
  w.Field("type", "listen")
      .Field("ts", l.ts)
      .Field("user", l.user)
      .Field("track", l.track)
      .Field("artist", l.artist)
      .Field("genre", l.genre)
      .Field("ms_played", l.ms_played);
  w.Close();
}

}  // namespace eddy::music
