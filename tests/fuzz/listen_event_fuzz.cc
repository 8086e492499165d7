// libFuzzer: the listen events' JSON decoder (jobs/music_events.h) on any
// bytes. A record it accepts must come back unchanged through its writer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/io.h"
#include "jobs/music_events.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string record(reinterpret_cast<const char*>(data), size);
  record.append(eddy::kRecordPadding, '\0');
  absl::StatusOr<eddy::music::Listen> l = eddy::music::ParseListen(absl::string_view(record.data(), size));
  if (!l.ok()) return 0;
  std::string json;
  eddy::music::AppendListenJson(*l, json);
  const size_t n = json.size();
  json.append(eddy::kRecordPadding, '\0');
  absl::StatusOr<eddy::music::Listen> again = eddy::music::ParseListen(absl::string_view(json.data(), n));
  EDDY_FUZZ_CHECK(again.ok());
  EDDY_FUZZ_CHECK(again->ts == l->ts && again->user == l->user && again->track == l->track &&
                  again->artist == l->artist && again->genre == l->genre &&
                  again->ms_played == l->ms_played);
  return 0;
}
