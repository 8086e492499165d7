// Event-time arithmetic shared by operators and jobs.
#ifndef EDDY_ENGINE_EVENT_TIME_H_
#define EDDY_ENGINE_EVENT_TIME_H_

#include "engine/record.h"

namespace eddy {

// Start of the tumbling window of `size_ms` that contains `ts`: the largest
// multiple of size_ms that is <= ts (correct for negative ts too).
// REQUIRES: size_ms > 0 and |ts| <= kMaxAbsEventTime (sources guarantee it).
constexpr EventTime WindowStart(EventTime ts, int64_t size_ms) {
  const int64_t r = ts % size_ms;
  return ts - (r < 0 ? r + size_ms : r);
}

}  // namespace eddy

#endif  // EDDY_ENGINE_EVENT_TIME_H_
