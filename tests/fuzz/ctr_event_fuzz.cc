// libFuzzer: the CTR job's JSON event decoder (jobs/ctr_events.h) on any
// bytes. The JSON written for a record it accepts must read back as the same
// event (the same JSON again).
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/io.h"
#include "jobs/ctr_events.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Sources hand decoders records followed by kRecordPadding readable bytes.
  std::string record(reinterpret_cast<const char*>(data), size);
  record.append(eddy::kRecordPadding, '\0');
  absl::StatusOr<eddy::ctr::Event> e =
      eddy::ctr::ParseEvent(absl::string_view(record.data(), size));
  if (!e.ok()) return 0;
  std::string json;
  eddy::ctr::AppendEventJson(*e, json);
  const size_t n = json.size();
  json.append(eddy::kRecordPadding, '\0');
  absl::StatusOr<eddy::ctr::Event> again = eddy::ctr::ParseEvent(absl::string_view(json.data(), n));
  EDDY_FUZZ_CHECK(again.ok());
  std::string rewritten;
  eddy::ctr::AppendEventJson(*again, rewritten);
  EDDY_FUZZ_CHECK(rewritten == json.substr(0, n));
  return 0;
}
