// Events of the music app, as JSON lines (ts in epoch milliseconds):
//   {"type":"listen","ts":1735689600123,"user":"u42","track":"t9001",
//    "artist":"a77","genre":"jazz","ms_played":183000}
// Unknown extra fields are ignored; a missing required field, a wrong type
// or another `type` is an error whose message becomes the dead-letter reason.
#ifndef EDDY_JOBS_MUSIC_EVENTS_H_
#define EDDY_JOBS_MUSIC_EVENTS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "state/codec.h"

namespace eddy::music {

struct Listen {
  int64_t ts = 0;
  std::string user;
  std::string track;
  std::string artist;
  std::string genre;
  int64_t ms_played = 0;
};

// REQUIRES: kRecordPadding readable bytes after `record` (sources guarantee
// it). Thread-safe.
absl::StatusOr<Listen> ParseListen(absl::string_view record);

// Appends `l` as one JSON object.
void AppendListenJson(const Listen& l, std::string& out);

}  // namespace eddy::music

// Listens cross processes at KeyBy in distributed runs.
EDDY_CODEC(eddy::music::Listen, ts, user, track, artist, genre, ms_played);

#endif  // EDDY_JOBS_MUSIC_EVENTS_H_
