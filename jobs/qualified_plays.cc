// A stateless job: listens of 30 s or more ("plays"), re-encoded in a
// canonical form; malformed listens go to the dead letters.
//
// It is the pass-through job of the Kafka benchmarks and tests: with no state
// and no timers, `eddy run` over a topic and `eddy replay` over the same
// events give the same records (per input partition, in the same order).
//
// Input:  listen events (jobs/music_events.h).
// Output: plays, one record per qualifying listen:
//   {"ts":1735689600123,"user":"u42","track":"t9001","artist":"a77",
//    "genre":"jazz","ms_played":183000}
#include "absl/time/time.h"
#include "engine/job_builder.h"
#include "engine/job_registry.h"
#include "jobs/music_events.h"

namespace eddy::music {
namespace {

constexpr int64_t kMinPlayMs = 30 * 1000;

absl::StatusOr<JobGraph> BuildQualifiedPlays(const JobConfig&) {
  JobBuilder job("qualified_plays");
  EventTimeOptions time;
  // Nothing here waits on event time: no record is ever late.
  time.max_out_of_orderness = absl::Hours(24 * 365);
  time.allowed_lateness = absl::Hours(24 * 365 * 100);
  job.Source<Listen>("events", ParseListen)
      .WithEventTime(&Listen::ts, time)
      .Filter("at_least_30s", [](const Listen& l) { return l.ms_played >= kMinPlayMs; })
      .Sink("plays", AppendListenJson);
  return std::move(job).Build();
}

}  // namespace

EDDY_REGISTER_JOB("qualified_plays", "Listens of 30 s or more, re-encoded (stateless)",
                  BuildQualifiedPlays);

}  // namespace eddy::music
