// A user's own job in one file: plays per artist per day, in event time.
//
// Input lines: {"ts":1735689600123,"artist":"a77","ms_played":183000}
// Output (artist_day_plays.jsonl): {"artist":"a77","day":1735689600000,"plays":3}
#include <map>
#include <string>

#include "connectors/json_reader.h"
#include "engine/event_time.h"
#include "engine/job_builder.h"
#include "engine/job_registry.h"
#include "engine/json_writer.h"

namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;

struct Play {
  int64_t ts = 0;
  std::string artist;
  int64_t ms_played = 0;
};

absl::StatusOr<Play> ParsePlay(absl::string_view record) {
  Play p;
  int seen = 0;
  absl::Status s = eddy::ParseJsonObject(record, [&](absl::string_view key, eddy::JsonValue& v) {
    if (key == "ts") return seen |= 1, v.GetInt(p.ts);
    if (key == "artist") return seen |= 2, v.GetString(p.artist);
    if (key == "ms_played") return seen |= 4, v.GetInt(p.ms_played);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (seen != 7) return absl::InvalidArgumentError("missing field");
  return p;
}

struct DayPlays {
  std::string artist;
  int64_t day = 0;
  int64_t plays = 0;
};

// Counts an artist's plays per day; a timer at the end of each day emits
// that day's count. Counts are kept per day: a play of the next day may
// arrive before the watermark has closed the previous one.
class DailyCounter {
 public:
  using Out = DayPlays;
  using Days = std::map<int64_t, int64_t>;  // day start -> plays

  void Open(eddy::KeyedStateStore<std::string>& state) { days_ = state.Value<Days>("days"); }
  void ProcessElement(const Play& p, eddy::ProcessContext<std::string, DayPlays>& ctx) {
    const int64_t day = eddy::WindowStart(p.ts, kDayMs);
    ++days_.GetOrCreate()[day];
    ctx.RegisterTimer(day + kDayMs - 1);
  }
  void OnTimer(eddy::EventTime t, eddy::ProcessContext<std::string, DayPlays>& ctx) {
    Days* days = days_.Mutable();
    if (days == nullptr) return;
    const auto it = days->find(t + 1 - kDayMs);
    if (it == days->end()) return;
    ctx.Emit(DayPlays{ctx.key(), it->first, it->second});
    days->erase(it);
    if (days->empty()) days_.Clear();
  }

 private:
  eddy::ValueState<std::string, Days> days_;
};

absl::StatusOr<eddy::JobGraph> BuildArtistPlays(const eddy::JobConfig&) {
  eddy::JobBuilder job("artist_plays");
  job.Source<Play>("plays", ParsePlay)
      .WithEventTime(&Play::ts, absl::Minutes(1))
      .Filter([](const Play& p) { return p.ms_played >= 30000; })
      .KeyBy(&Play::artist)
      .Process("daily", DailyCounter{})
      .Sink("artist_day_plays", [](const DayPlays& d, std::string& out) {
        eddy::JsonObjectWriter w(out);
        w.Field("artist", d.artist).Field("day", d.day).Field("plays", d.plays);
        w.Close();
      });
  return std::move(job).Build();
}

}  // namespace

EDDY_REGISTER_JOB("artist_plays", "Plays per artist per day", BuildArtistPlays);
