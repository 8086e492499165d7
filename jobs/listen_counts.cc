// The example job: plays per user and genre in tumbling one-hour windows of
// event time.
//
// A listen of 30 s or more counts as a play. Each window's counts are emitted
// once the watermark passes the window's end (events may be 5 s out of
// order); listens later than that go to late_events.jsonl.
//
// Input:  listen events (jobs/music_events.h), e.g. from `eddy gen listens`.
// Output: hourly_genre_counts.jsonl, one record per (user, hour, genre):
//   {"user":"u42","window_start":1735689600000,"window_end":1735693200000,
//    "genre":"jazz","plays":3}
#include <map>
#include <string>

#include "absl/time/time.h"
#include "engine/event_time.h"
#include "engine/job_builder.h"
#include "engine/job_registry.h"
#include "engine/json_writer.h"
#include "jobs/music_events.h"

namespace eddy::music {
namespace {

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kMinPlayMs = 30 * 1000;

struct GenreCount {
  std::string user;
  int64_t window_start = 0;
  std::string genre;
  int64_t plays = 0;
};

void AppendGenreCount(const GenreCount& c, std::string& out) {
  JsonObjectWriter w(out);
  w.Field("user", c.user)
      .Field("window_start", c.window_start)
      .Field("window_end", c.window_start + kHourMs)
      .Field("genre", c.genre)
      .Field("plays", c.plays);
  w.Close();
}

// Keeps, per user, the open windows' counts; a timer at each window's last
// millisecond emits and drops it.
class HourlyGenreCounter {
 public:
  using Out = GenreCount;
  using Windows = std::map<int64_t, std::map<std::string, int64_t>>;

  void Open(KeyedStateStore<std::string>& state) { windows_ = state.Value<Windows>("windows"); }

  void ProcessElement(const Listen& l, ProcessContext<std::string, GenreCount>& ctx) {
    const int64_t start = WindowStart(l.ts, kHourMs);
    ++windows_.GetOrCreate()[start][l.genre];
    ctx.RegisterTimer(start + kHourMs - 1);
  }

  void OnTimer(EventTime time, ProcessContext<std::string, GenreCount>& ctx) {
    Windows* windows = windows_.Mutable();
    if (windows == nullptr) return;
    const int64_t start = time + 1 - kHourMs;
    auto it = windows->find(start);
    if (it == windows->end()) return;
    for (const auto& [genre, plays] : it->second) {
      ctx.Emit(GenreCount{ctx.key(), start, genre, plays});
    }
    windows->erase(it);
    if (windows->empty()) windows_.Clear();
  }

 private:
  ValueState<std::string, Windows> windows_;
};

absl::StatusOr<JobGraph> BuildListenCounts(const JobConfig&) {
  JobBuilder job("listen_counts");
  job.Source<Listen>("events", ParseListen)
      .WithEventTime(&Listen::ts, absl::Seconds(5))
      .Filter("plays", [](const Listen& l) { return l.ms_played >= kMinPlayMs; })
      .KeyBy("by_user", &Listen::user)
      .Process("hourly_counts", HourlyGenreCounter{})
      .Sink("hourly_genre_counts", AppendGenreCount);
  return std::move(job).Build();
}

}  // namespace

EDDY_REGISTER_JOB("listen_counts", "Plays per user and genre in one-hour event-time windows",
                  BuildListenCounts);

}  // namespace eddy::music
