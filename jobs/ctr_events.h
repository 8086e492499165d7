// Events of the CTR job (jobs/ctr.cc), as JSON lines; `ts` is event time in
// epoch milliseconds and the Kafka key is the user:
//   {"type":"listen","ts":1735689600123,"user":"u42","track":"t9001",
//    "artist":"a77","genre":"jazz","ms_played":183000}
//   {"type":"impression","ts":1735689601000,"user":"u42","imp":"i-1",
//    "ad":"ad17","advertiser":"adv3","category":"concerts",
//    "slot":"between_tracks","device":"ios"}
//   {"type":"click","ts":1735689610000,"user":"u42","imp":"i-1"}
// Unknown extra fields are ignored. A missing required field (for the
// event's type), a field of the wrong JSON type, an empty id or an unknown
// `type` is an error whose one-line message becomes the dead-letter reason.
#ifndef EDDY_JOBS_CTR_EVENTS_H_
#define EDDY_JOBS_CTR_EVENTS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "state/codec.h"

namespace eddy::ctr {

struct Event {
  enum Type : uint8_t { kListen = 0, kImpression = 1, kClick = 2 };
  uint8_t type = kListen;
  int64_t ts = 0;
  std::string user;
  // listen
  std::string track, artist, genre;
  int64_t ms_played = 0;
  // impression (imp also for a click)
  std::string imp, ad, advertiser, category, slot, device;
};

// REQUIRES: kRecordPadding readable bytes after `record` (sources guarantee
// it). Thread-safe.
absl::StatusOr<Event> ParseEvent(absl::string_view record);

// Appends `e` as one JSON object (the fields of its type only).
void AppendEventJson(const Event& e, std::string& out);

}  // namespace eddy::ctr

EDDY_CODEC(eddy::ctr::Event, type, ts, user, track, artist, genre, ms_played, imp, ad, advertiser,
           category, slot, device);

#endif  // EDDY_JOBS_CTR_EVENTS_H_
