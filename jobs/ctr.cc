// `ctr`: click-through prediction for a music app's ads. For each ad
// impression, the probability of a click, from features over the user's
// recent listening and the ad's recent clicks; the model learns from every
// click and non-click as it happens; alerts when clicks or features drift.
//
//   eddy gen ctr --events 1000000 --out events.jsonl --truth truth.jsonl
//   eddy replay ctr --input events.jsonl --output-dir out
//   eddy run ctr --brokers HOST:PORT      (ctr.events in; ctr.predictions,
//                                          ctr.metrics, ctr.alerts, ctr.dlq out)
//
// Input: listen, impression and click events (jobs/ctr_events.h), keyed by
// user; up to 5 s out of order, 1 min allowed lateness.
//
// Pipeline:
//   by user   - the listens of the current session before the event (a gap
//               of 30 min starts a new one); lookbacks (operators/windows.h, strictly earlier
//               events) over 1 h (1 min slices) and 24 h (15 min slices):
//               listens per genre, the last 10 artists, the user's ad
//               impressions and clicks; a click learns its impression's ad
//               here (the user saw it);
//   by ad     - lookbacks over 1 h and 24 h of the ad's impressions and
//               clicks (by the click's time): an impression gets the ad's
//               figures as of its own time (an as-of join of the ad stream);
//   features  - a hashed sparse vector (2^bits, default 20) with readable
//               names (see Features below);
//   model     - operators/online_learner.h's DelayedLabelLearner: scored at
//               once (a prediction), learned when its click comes within the
//               attribution window (10 min, --param attribution_ms) or, with
//               none, as a non-click when the window has passed;
//   drift     - on the model's excess logloss (--drift, default
//               page-hinkley), calibration per metrics window, and every feature
//               field's distribution (operators/field_drift.h: PSI, KS) per
//               window of --param drift_window impressions (default 20000)
//               against the drift_reference (20000) after the first
//               drift_skip (40000, the features' warm-up); PSI alerts, KS
//               is reported in feature_drift.
//
// Outputs (files in replay; topics ctr.NAME with eddy run):
//   predictions    {"imp","ts","p","model_version","user"}
//   metrics        per hour of event time (--param metrics_window_ms), once
//                  its clicks are known: window_start, window_end, examples,
//                  positives, logloss, auc, calibration, accuracy, model_version
//   alerts         drift alerts and resolutions (operators/drift.h's JSON)
//   feature_drift  per field and drift window: {"window_start","window_end",
//                  "field","psi","ks"}
//   audit          with --audit: per impression, its features' names,
//                  values and indices
// summary.json (replay) adds: impressions, clicks, logloss, auc,
// calibration, alerts, model, model_version.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "engine/job_builder.h"
#include "engine/job_registry.h"
#include "engine/json_writer.h"
#include "engine/status_macros.h"
#include "jobs/ctr_events.h"
#include "operators/aggregates.h"
#include "operators/drift.h"
#include "operators/evaluation.h"
#include "operators/features.h"
#include "operators/field_drift.h"
#include "operators/learners.h"
#include "operators/online_learner.h"
#include "operators/windows.h"

namespace eddy::ctr {

// Listens per genre (a handful of genres per user: a small sorted vector).
struct GenreCounts {
  std::vector<std::pair<std::string, int64_t>> n;
  void Add(const std::string& genre, int64_t k) {
    auto it = Find(genre);
    if (it != n.end() && it->first == genre) {
      it->second += k;
    } else {
      n.insert(it, {genre, k});
    }
  }
  // Removes counts added before (a genre's entry goes at 0, as if never
  // added).
  void Subtract(const GenreCounts& earlier) {
    for (const auto& [genre, k] : earlier.n) {
      auto it = Find(genre);
      if (it == n.end() || it->first != genre) continue;
      it->second -= k;
      if (it->second == 0) n.erase(it);
    }
  }
  // The genre's entry, or where it would go.
  std::vector<std::pair<std::string, int64_t>>::iterator Find(const std::string& genre) {
    return std::lower_bound(n.begin(), n.end(), genre,
                            [](const auto& e, const std::string& g) { return e.first < g; });
  }
  int64_t Total() const {
    int64_t t = 0;
    for (const auto& [g, k] : n) t += k;
    return t;
  }
};

// A user's 24 h lookback accumulator.
struct UserDayAcc {
  GenreCounts genres;
  agg::LastNAcc<std::string> artists;
  int64_t impressions = 0;
  int64_t clicks = 0;
};

// What the user stage knows of a user at an impression.
struct UserView {
  int64_t session_listens = 0;
  int64_t session_ads = 0;  // impressions earlier in the session
  GenreCounts genres_1h, genres_24h;
  std::vector<std::string> last_artists;  // oldest first
  int64_t impressions_24h = 0;
  int64_t clicks_24h = 0;
};

// An impression or a click after the user stage (a click with the ad of its
// impression, when the user stage saw it).
struct Staged {
  Event event;
  UserView user;
};

// The user stage's per-user state besides the lookbacks.
struct UserSession {
  // Times of the latest listens (at most kSessionListens), sorted: events
  // arrive a little out of order, and an impression counts only the listens
  // before it.
  std::vector<int64_t> listens;
  std::vector<int64_t> ads;  // times of the latest impressions, the same way
  // Recent impressions: (ts, imp, ad, category), by arrival.
  std::vector<std::tuple<int64_t, std::string, std::string, std::string>> impressions;
  int64_t expires = kMinEventTime;  // when none of it can matter any more
  int64_t timer = kMinEventTime;    // the pending expiry timer
};

// An ad's lookback accumulator.
struct AdAcc {
  int64_t impressions = 0;
  int64_t clicks = 0;
};

// The features of one impression, built by the ad stage.
struct Featured {
  bool impression = false;
  LearnerInput input;       // an example, or a click's label
  std::string audit;        // with --audit: the impression's features as JSON
  std::vector<FieldValue> fields;  // for feature drift
  EventTime ts = 0;
};

}  // namespace eddy::ctr

EDDY_CODEC(eddy::ctr::GenreCounts, n);
EDDY_CODEC(eddy::ctr::Featured, impression, input, audit, fields, ts);
EDDY_CODEC(eddy::ctr::UserDayAcc, genres, artists, impressions, clicks);
EDDY_CODEC(eddy::ctr::UserView, session_listens, session_ads, genres_1h, genres_24h, last_artists,
           impressions_24h, clicks_24h);
EDDY_CODEC(eddy::ctr::Staged, event, user);
EDDY_CODEC(eddy::ctr::UserSession, listens, ads, impressions, expires, timer);
EDDY_CODEC(eddy::ctr::AdAcc, impressions, clicks);

namespace eddy::ctr {
namespace {

constexpr int64_t kSessionGapMs = 30 * 60 * 1000;
using LastArtists = agg::LastN<std::string, 10>;

struct UserDayAgg {
  using Acc = UserDayAcc;
  static void Add(Acc& a, const Event& e, EventTime ts) {
    if (e.type == Event::kListen) {
      a.genres.Add(e.genre, 1);
      LastArtists::Add(a.artists, e.artist, ts);
    } else if (e.type == Event::kImpression) {
      ++a.impressions;
    } else {
      ++a.clicks;
    }
  }
  static void Merge(Acc& earlier, const Acc& later) {
    for (const auto& [g, k] : later.genres.n) earlier.genres.Add(g, k);
    LastArtists::Merge(earlier.artists, later.artists);
    earlier.impressions += later.impressions;
    earlier.clicks += later.clicks;
  }
  static void Subtract(Acc& acc, const Acc& earliest) {
    acc.genres.Subtract(earliest.genres);
    LastArtists::Subtract(acc.artists, earliest.artists);
    acc.impressions -= earliest.impressions;
    acc.clicks -= earliest.clicks;
  }
  static Acc Result(const Acc& a, EventTime) { return a; }
};

struct UserHourAgg {
  using Acc = GenreCounts;
  static void Add(Acc& a, const Event& e, EventTime) {
    if (e.type == Event::kListen) a.Add(e.genre, 1);
  }
  static void Merge(Acc& earlier, const Acc& later) {
    for (const auto& [g, k] : later.n) earlier.Add(g, k);
  }
  static void Subtract(Acc& acc, const Acc& earliest) { acc.Subtract(earliest); }
  static Acc Result(const Acc& a, EventTime) { return a; }
};

struct AdAgg {
  using Acc = AdAcc;
  static void Add(Acc& a, const Staged& s, EventTime) {
    if (s.event.type == Event::kImpression) {
      ++a.impressions;
    } else {
      ++a.clicks;
    }
  }
  static void Merge(Acc& earlier, const Acc& later) {
    earlier.impressions += later.impressions;
    earlier.clicks += later.clicks;
  }
  static void Subtract(Acc& acc, const Acc& earliest) {
    acc.impressions -= earliest.impressions;
    acc.clicks -= earliest.clicks;
  }
  static AdAcc Result(const Acc& a, EventTime) { return a; }
};

// The settings every stage shares.
struct Settings {
  int64_t attribution_ms = 10 * 60 * 1000;
  int64_t lateness_ms = 60 * 1000;
  int bits = 20;
  bool audit = false;
  std::vector<std::string> ignore;  // feature fields or namespaces left out
  std::shared_ptr<const FeatureSpace> space;  // built once, with `ignore` applied
  FieldDrift::Options field_drift;
};

// By user: session, lookbacks, and each click's ad.
class UserStage {
 public:
  using Out = Staged;
  explicit UserStage(std::shared_ptr<const Settings> settings)
      : settings_(std::move(settings)),
        day_(absl::Hours(24), absl::Minutes(15), absl::Milliseconds(settings_->lateness_ms),
             &UserDayAgg::Add, "lookback_24h"),
        hour_(absl::Hours(1), absl::Minutes(1), absl::Milliseconds(settings_->lateness_ms),
              &UserHourAgg::Add, "lookback_1h") {}

  void Open(KeyedStateStore<std::string>& state) {
    day_.Open(state);
    hour_.Open(state);
    session_ = state.Value<UserSession>("session");
  }

  void ProcessElement(const Event& e, ProcessContext<std::string, Out>& ctx) {
    const EventTime ts = ctx.timestamp();
    UserSession& s = session_.GetOrCreate();
    // Expires when no click can be for its impressions, and no session
    // continues from its listens (+ lateness: events still arriving).
    s.expires = std::max(s.expires, ts + std::max(settings_->attribution_ms, kSessionGapMs) +
                                        settings_->lateness_ms);
    if (s.timer == kMinEventTime) {
      s.timer = s.expires;
      ctx.RegisterTimer(s.timer);
    }
    if (e.type == Event::kListen) {
      day_.Observe(e, ctx);
      hour_.Observe(e, ctx);
      InsertBounded(s.listens, ts, kSessionListens);
      return;
    }
    // Impressions older than any click can be for are forgotten.
    const int64_t horizon = ts - settings_->attribution_ms - settings_->lateness_ms;
    s.impressions.erase(std::remove_if(s.impressions.begin(), s.impressions.end(),
                                       [horizon](const auto& i) { return std::get<0>(i) < horizon; }),
                        s.impressions.end());
    Staged out;
    out.event = e;
    if (e.type == Event::kClick) {
      day_.Observe(e, ctx);
      for (const auto& [t, imp, ad, category] : s.impressions) {
        if (imp == e.imp) {
          out.event.ad = ad;
          out.event.category = category;
        }
      }
      ctx.Emit(std::move(out));
      return;
    }
    s.impressions.emplace_back(ts, e.imp, e.ad, e.category);
    // Served from strictly earlier events, then added.
    UserDayAcc day = day_.Serve(e, ctx);
    GenreCounts hour = hour_.Serve(e, ctx);
    UserView& u = out.user;
    CountSession(s, ts, u);
    InsertBounded(s.ads, ts, kSessionAds);
    u.genres_1h = std::move(hour);
    u.genres_24h = std::move(day.genres);
    u.last_artists = LastArtists::Result(day.artists);
    u.impressions_24h = day.impressions;
    u.clicks_24h = day.clicks;
    ctx.Emit(std::move(out));
  }

  void OnTimer(EventTime t, ProcessContext<std::string, Out>& ctx) {
    day_.OnTimer(t, ctx);
    hour_.OnTimer(t, ctx);
    UserSession* s = session_.Mutable();
    if (s == nullptr || s->timer != t) return;  // a lookback's timer
    s->timer = kMinEventTime;
    if (s->expires <= t) {
      session_.Clear();
    } else {
      s->timer = s->expires;
      ctx.RegisterTimer(s->timer);
    }
  }

 private:
  static constexpr size_t kSessionListens = 256;
  static constexpr size_t kSessionAds = 256;

  // Inserts t into sorted times, keeping the latest `limit`.
  static void InsertBounded(std::vector<int64_t>& times, int64_t t, size_t limit) {
    times.insert(std::upper_bound(times.begin(), times.end(), t), t);
    if (times.size() > limit) times.erase(times.begin());
  }

  // The session the user is in at `ts`: the user's listens and impressions
  // before ts, back to the last gap of over 30 min (none if the latest is
  // over 30 min before ts). Counts its listens and impressions.
  static void CountSession(const UserSession& s, EventTime ts, UserView& u) {
    auto l = std::lower_bound(s.listens.begin(), s.listens.end(), ts);  // first >= ts
    auto a = std::lower_bound(s.ads.begin(), s.ads.end(), ts);
    u.session_listens = u.session_ads = 0;
    int64_t after = ts;  // the session's earliest activity so far
    while (l != s.listens.begin() || a != s.ads.begin()) {
      // The latest activity not yet counted.
      const bool listen = a == s.ads.begin() || (l != s.listens.begin() && *(l - 1) >= *(a - 1));
      const int64_t t = listen ? *(l - 1) : *(a - 1);
      if (after - t > kSessionGapMs) break;
      after = t;
      if (listen) {
        --l;
        ++u.session_listens;
      } else {
        --a;
        ++u.session_ads;
      }
    }
  }

  using DayLookback = Lookback<std::string, Event, UserDayAgg, void (*)(UserDayAcc&, const Event&, EventTime)>;
  using HourLookback = Lookback<std::string, Event, UserHourAgg, void (*)(GenreCounts&, const Event&, EventTime)>;
  std::shared_ptr<const Settings> settings_;
  DayLookback day_;
  HourLookback hour_;
  ValueState<std::string, UserSession> session_;
};

// Fields compared by the feature drift (FieldValue::field).
// (Not the hour: its distribution moves with every window by design. Not
// the ads' smoothed CTRs: most impressions go to a few popular ads, so the
// distribution is a few point masses that wander with each ad's clicks, and
// its PSI reached 0.44 on a stream without drift; the ads shown are watched
// as the `ad` field.)
enum DriftField : uint32_t {
  kFieldCategory, kFieldSlot, kFieldDevice, kFieldTopGenre, kFieldAd,
  kFieldSessionListens, kFieldListens1h, kDriftFields
};
const char* const kDriftFieldNames[] = {"category",        "slot",       "device",
                                        "top_genre_1h",    "ad",         "session_listens",
                                        "listens_1h"};

// The events' out-of-orderness bound (the watermark's delay).
constexpr int64_t kOutOfOrderMs = 5000;

// Smoothed CTR prior: 1 click in 30 impressions.
constexpr double kPriorClicks = 1;
constexpr double kPriorImpressions = 30;

// By ad: the ad's lookbacks, then the impression's feature vector.
class AdStage {
 public:
  using Out = Featured;
  explicit AdStage(std::shared_ptr<const Settings> settings)
      : settings_(std::move(settings)),
        day_(absl::Hours(24), absl::Minutes(15), absl::Milliseconds(settings_->lateness_ms),
             &AdAgg::Add, "ad_24h"),
        hour_(absl::Hours(1), absl::Minutes(1), absl::Milliseconds(settings_->lateness_ms),
              &AdAgg::Add, "ad_1h"),
        builder_(settings_->space.get(), settings_->audit) {}
  AdStage(const AdStage& other) : AdStage(other.settings_) {}

  void Open(KeyedStateStore<std::string>& state) {
    day_.Open(state);
    hour_.Open(state);
  }

  void ProcessElement(const Staged& s, ProcessContext<std::string, Out>& ctx) {
    const Event& e = s.event;
    Featured out;
    out.ts = ctx.timestamp();
    if (e.type == Event::kClick) {
      // A click whose impression the user stage did not see has no ad: it
      // goes on as a label, and the model's stage sends it to the dead
      // letters (an unknown id).
      if (!e.ad.empty()) {
        day_.Observe(s, ctx);
        hour_.Observe(s, ctx);
      }
      out.input.kind = LearnerInput::kLabel;
      out.input.id = e.imp;
      ctx.Emit(std::move(out));
      return;
    }
    const AdAcc day = day_.Serve(s, ctx);
    const AdAcc hour = hour_.Serve(s, ctx);
    Build(s, day, hour, out);
    ctx.Emit(std::move(out));
  }

  void OnTimer(EventTime t, ProcessContext<std::string, Out>& ctx) {
    day_.OnTimer(t, ctx);
    hour_.OnTimer(t, ctx);
  }

  enum Field {
    kListens1h, kListens24h, kLastArtists, kSession, kSessionAds, kUserImpressions,  // user
    kUserClicks, kUserCtr24h, kUserId,
    kTaste,                                                                          // taste
    kAdId, kAdvertiser, kAdImpressions1h, kAdImpressions24h, kAdCtr1h, kAdCtr24h,    // ad
    kCategory, kSlot, kHour, kDevice
  };

  // The feature space; errors: an ignored name that is no field or namespace.
  static absl::StatusOr<std::shared_ptr<const FeatureSpace>> MakeSpace(const Settings& settings) {
    auto space = std::make_shared<FeatureSpace>(settings.bits);
    space->AddField("user", "listens_1h.genre");
    space->AddField("user", "listens_24h.genre");
    space->AddField("user", "last_artists");
    space->AddField("user", "session_listens");
    space->AddField("user", "session_ads");
    space->AddField("user", "impressions_24h");
    space->AddField("user", "clicks_24h");
    space->AddField("user", "ctr_24h");  // smoothed, relative to the prior
    space->AddField("user", "id");
    space->AddField("taste", "genre_1h");  // share of the last hour's listens
    space->AddField("ad", "id");
    space->AddField("ad", "advertiser");
    space->AddField("ad", "impressions_1h");
    space->AddField("ad", "impressions_24h");
    space->AddField("ad", "ctr_1h");   // smoothed, relative to the prior
    space->AddField("ad", "ctr_24h");
    space->AddField("category", "ad");
    space->AddField("slot", "name");
    space->AddField("context", "hour");
    space->AddField("context", "device");
    space->AddCross("taste", "category");  // the user's recent genres x the ad's category
    space->AddCross("slot", "category");
    for (const std::string& name : settings.ignore) {
      if (absl::Status s = space->Ignore(name); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("ctr: --param ignore: ", s.message()));
      }
    }
    return std::shared_ptr<const FeatureSpace>(std::move(space));
  }

 private:
  static float Log2p1(int64_t n) { return static_cast<float>(std::log2(1.0 + static_cast<double>(n))); }

  static double SmoothedCtr(int64_t clicks, int64_t impressions) {
    return (kPriorClicks + static_cast<double>(clicks)) / (kPriorImpressions + static_cast<double>(impressions));
  }
  static double SmoothedCtr(const AdAcc& a) { return SmoothedCtr(a.clicks, a.impressions); }

  void Build(const Staged& s, const AdAcc& day, const AdAcc& hour, Featured& out) {
    const Event& e = s.event;
    const UserView& u = s.user;
    builder_.Clear();
    const double prior = kPriorClicks / kPriorImpressions;
    // Counts enter as log2(1 + n): a heavy listener's hundreds of plays
    // would otherwise swamp the linear model's other terms.
    for (const auto& [g, k] : u.genres_1h.n) builder_.Add(kListens1h, g, Log2p1(k));
    for (const auto& [g, k] : u.genres_24h.n) builder_.Add(kListens24h, g, Log2p1(k));
    for (const std::string& a : u.last_artists) builder_.Add(kLastArtists, a);
    builder_.AddLogBucket(kSession, static_cast<double>(u.session_listens));
    builder_.AddLogBucket(kUserImpressions, static_cast<double>(u.impressions_24h));
    builder_.AddLogBucket(kSessionAds, static_cast<double>(u.session_ads));
    builder_.AddLogBucket(kUserClicks, static_cast<double>(u.clicks_24h));
    builder_.AddNumeric(kUserCtr24h, std::log(SmoothedCtr(u.clicks_24h, u.impressions_24h) / prior));
    builder_.Add(kUserId, e.user);
    const int64_t listens_1h = u.genres_1h.Total();
    std::string top_genre;
    int64_t top = 0;
    for (const auto& [g, k] : u.genres_1h.n) {
      builder_.Add(kTaste, g, static_cast<float>(static_cast<double>(k) / static_cast<double>(listens_1h)));
      if (k > top) {
        top = k;
        top_genre = g;
      }
    }
    builder_.Add(kAdId, e.ad);
    builder_.Add(kAdvertiser, e.advertiser);
    builder_.AddLogBucket(kAdImpressions1h, static_cast<double>(hour.impressions));
    builder_.AddLogBucket(kAdImpressions24h, static_cast<double>(day.impressions));
    builder_.AddNumeric(kAdCtr1h, std::log(SmoothedCtr(hour) / prior));
    builder_.AddNumeric(kAdCtr24h, std::log(SmoothedCtr(day) / prior));
    builder_.Add(kCategory, e.category);
    builder_.Add(kSlot, e.slot);
    const int64_t hour_of_day = ((e.ts / 3600000) % 24 + 24) % 24;
    const std::string hour_text = absl::StrCat(hour_of_day);
    builder_.Add(kHour, hour_text);
    builder_.Add(kDevice, e.device);
    const SparseVector& x = builder_.Finish();

    out.impression = true;
    out.input.kind = LearnerInput::kExample;
    out.input.id = e.imp;
    out.input.x = x;
    out.input.extra.clear();
    AppendJsonString(out.input.extra.append("\"user\":"), e.user);
    if (settings_->audit) {
      JsonObjectWriter w(out.audit);
      w.Field("imp", e.imp).Field("ts", e.ts).Field("user", e.user).Field("ad", e.ad);
      std::string features;
      AppendAuditJson(builder_.audit(), features);
      w.RawField("features", features);
      w.Close();
    }
    const auto category = [](absl::string_view v) {
      return static_cast<double>(XXH3_64bits(v.data(), v.size()) >> 12);
    };
    out.fields = {
        {kFieldCategory, false, category(e.category)},
        {kFieldSlot, false, category(e.slot)},
        {kFieldDevice, false, category(e.device)},
        {kFieldAd, false, category(e.ad)},
        {kFieldSessionListens, true, static_cast<double>(u.session_listens)},
        {kFieldListens1h, true, static_cast<double>(listens_1h)},
    };
    if (!top_genre.empty()) out.fields.push_back({kFieldTopGenre, false, category(top_genre)});
  }

  using AdLookback = Lookback<std::string, Staged, AdAgg, void (*)(AdAcc&, const Staged&, EventTime)>;
  std::shared_ptr<const Settings> settings_;
  AdLookback day_, hour_;
  FeatureBuilder builder_;
};

// Output records of the model and drift stages, by sink.
struct Out {
  enum Kind : uint8_t { kPrediction, kMetrics, kAlert, kFeatureDrift, kOther } kind = kOther;
  std::string json;
};

Out FromLearner(const LearnerOutput& o) {
  switch (o.kind) {
    case LearnerOutput::kPrediction: return Out{Out::kPrediction, o.json};
    case LearnerOutput::kMetrics: return Out{Out::kMetrics, o.json};
    case LearnerOutput::kAlert: return Out{Out::kAlert, o.json};
    default: return Out{Out::kOther, o.json};
  }
}

// What the run's end (summary.json) needs.
struct RunState {
  std::mutex mu;
  BinaryMetrics total;
  int64_t impressions = 0;
  uint64_t model_alerts = 0;
  uint64_t field_alerts = 0;
  uint64_t model_version = 0;
  int active_model_alerts = 0;  // open drift episodes
  int active_field_alerts = 0;
  bool reported = false;
};

// Feature drift over all impressions (one key): windows of impressions
// against the first ones, per field.
class DriftStage {
 public:
  using Out = ctr::Out;
  DriftStage(std::shared_ptr<const Settings> settings, std::shared_ptr<RunState> run)
      : settings_(std::move(settings)), run_(std::move(run)),
        drift_("ctr", settings_->field_drift) {}

  void ProcessElement(const Featured& f, ProcessContext<int, Out>& ctx) {
    alerts_.clear();
    const uint64_t before = drift_.raised();
    const bool window = drift_.Add(
        f.fields, f.ts,
        [](uint32_t field) { return std::string(field < kDriftFields ? kDriftFieldNames[field] : "?"); },
        &alerts_);
    for (std::string& a : alerts_) ctx.Emit(Out{Out::kAlert, std::move(a)});
    if (!alerts_.empty()) {
      std::lock_guard<std::mutex> lock(run_->mu);
      run_->field_alerts += drift_.raised() - before;
      run_->active_field_alerts = drift_.active();
    }
    if (!window) return;
    for (const FieldDrift::Result& r : drift_.results()) {
      std::string json;
      JsonObjectWriter w(json);
      w.Field("window_start", drift_.window_start()).Field("window_end", f.ts).Field(
          "field", r.field < kDriftFields ? kDriftFieldNames[r.field] : "?");
      w.Field("psi", r.psi).Field("ks", r.ks);
      w.Close();
      ctx.Emit(Out{Out::kFeatureDrift, std::move(json)});
    }
  }

 private:
  std::shared_ptr<const Settings> settings_;
  std::shared_ptr<RunState> run_;
  FieldDrift drift_;
  std::vector<std::string> alerts_;
};

absl::StatusOr<JobGraph> BuildCtr(const JobConfig& config) {
  auto settings = std::make_shared<Settings>();
  EDDY_ASSIGN_OR_RETURN(int64_t bits, config.GetInt("bits", 20));
  if (bits < 1 || bits > 28) return absl::InvalidArgumentError("ctr: --bits must be 1..28");
  settings->bits = static_cast<int>(bits);
  EDDY_ASSIGN_OR_RETURN(settings->attribution_ms, config.GetInt("attribution_ms", settings->attribution_ms));
  const std::string audit_file = config.GetString("audit", "");
  if (audit_file == "true" || audit_file == "false") {
    return absl::InvalidArgumentError("ctr: --audit needs a file");
  }
  settings->audit = !audit_file.empty();
  settings->ignore = absl::StrSplit(config.GetString("ignore", ""), ',', absl::SkipEmpty());
  EDDY_ASSIGN_OR_RETURN(settings->space, AdStage::MakeSpace(*settings));
  // A day's warm-up (~40k impressions at the generator's default rate: the
  // features' 24 h windows fill), then reference and windows of about half
  // a day.
  settings->field_drift.skip = 40000;
  // Listening follows the time of day: KS, with 20k values a side, rejects
  // half a day against another; PSI (> 0.25) is what alerts here.
  settings->field_drift.ks_alerts = false;
  settings->field_drift.reference = 20000;
  settings->field_drift.window = 20000;
  EDDY_ASSIGN_OR_RETURN(settings->field_drift.skip,
                        config.GetInt("drift_skip", settings->field_drift.skip));
  EDDY_ASSIGN_OR_RETURN(settings->field_drift.reference,
                        config.GetInt("drift_reference", settings->field_drift.reference));
  EDDY_ASSIGN_OR_RETURN(settings->field_drift.window,
                        config.GetInt("drift_window", settings->field_drift.window));

  auto learner = std::make_shared<DelayedLabelOptions>();
  learner->job = "ctr";
  learner->id_name = "imp";
  learner->attribution_ms = settings->attribution_ms;
  learner->label_wait_ms = 60 * 1000;
  // A minute of grace: the out-of-orderness bound (5 s) within a
  // partition, and room for partitions read a little apart in event time
  // (the learner also learns by the records' own times; see
  // DelayedLabelOptions::label_grace_ms).
  learner->label_grace_ms = settings->lateness_ms;
  // The model starts at the prior click rate (the smoothed CTR's, 1/30),
  // not 0.5: it learns nothing until the first attribution windows close.
  learner->initial_margin = std::log(kPriorClicks / (kPriorImpressions - kPriorClicks));
  EDDY_ASSIGN_OR_RETURN(learner->metrics_window_ms, config.GetInt("metrics_window_ms", 3600 * 1000));
  EDDY_ASSIGN_OR_RETURN(learner->kind, ParseModelKind(config.GetString("model", "ftrl")));
  learner->model.bits = settings->bits;
  ModelOptions& m = learner->model;
  // 0.1: ~45 features an example (VW-style streams have ~10), each a step.
  m.alpha = 0.1;
  EDDY_ASSIGN_OR_RETURN(m.alpha, config.GetDouble("alpha", m.alpha));
  EDDY_ASSIGN_OR_RETURN(m.beta, config.GetDouble("beta", m.beta));
  EDDY_ASSIGN_OR_RETURN(m.l1, config.GetDouble("l1", m.l1));
  EDDY_ASSIGN_OR_RETURN(m.l2, config.GetDouble("l2", m.l2));
  EDDY_ASSIGN_OR_RETURN(int64_t factors, config.GetInt("factors", m.factors));
  m.factors = static_cast<int>(std::clamp<int64_t>(factors, -1, 1 << 20));
  {
    absl::StatusOr<std::unique_ptr<Model>> check = MakeModel(learner->kind, m);
    if (!check.ok()) return absl::InvalidArgumentError(absl::StrCat("ctr: ", check.status().message()));
  }
  // Clicks follow the time of day: no alert on the click rate itself (the
  // default Page-Hinkley watches the logloss beyond what the model expects
  // of itself, 0 on average while calibrated, at any click rate).
  learner->monitor.label_rate = false;
  learner->monitor.warmup_examples = 2000;  // ~1-3 hours of impressions
  drift::PageHinkleyOptions& ph = learner->monitor.page_hinkley;
  EDDY_ASSIGN_OR_RETURN(ph.delta, config.GetDouble("ph_delta", ph.delta));
  EDDY_ASSIGN_OR_RETURN(ph.threshold, config.GetDouble("ph_lambda", ph.threshold));
  EDDY_ASSIGN_OR_RETURN(ph.alpha, config.GetDouble("ph_alpha", ph.alpha));
  if (!(ph.delta >= 0) || !(ph.threshold > 0) || !(ph.alpha > 0 && ph.alpha <= 1)) {
    return absl::InvalidArgumentError(
        "ctr: ph_delta must be >= 0, ph_lambda > 0 and ph_alpha in (0, 1]");
  }
  const std::string drift = config.GetString("drift", "page-hinkley");
  const std::optional<DriftMonitor::Kind> drift_kind = DriftMonitor::ParseKind(drift);
  if (!drift_kind.has_value() || *drift_kind == DriftMonitor::Kind::kNone) {
    return absl::InvalidArgumentError(
        absl::StrCat("ctr: unknown --drift '", drift, "' (expected adwin, page-hinkley or ddm)"));
  }
  learner->drift = *drift_kind;
  if (settings->attribution_ms < 1 || learner->metrics_window_ms < 1 ||
      settings->field_drift.reference < 1 || settings->field_drift.window < 1) {
    return absl::InvalidArgumentError(
        "ctr: attribution_ms, metrics_window_ms, drift_reference and drift_window must be >= 1");
  }
  auto run = std::make_shared<RunState>();
  learner->report = [run](const DelayedLabelState& s, const Model& model, const DriftMonitor& drift) {
    std::lock_guard<std::mutex> lock(run->mu);
    run->total = s.total;
    run->impressions = s.scored;
    run->model_alerts = s.alerts;
    run->active_model_alerts = drift.active();
    run->model_version = model.version();
    run->reported = true;
  };

  JobBuilder job("ctr");
  auto featured =
      job.Source<Event>("events", ParseEvent)
          // Dead letters: stamped over a day ahead of the clock, or over a
          // week behind the newest event of their partition (a device clock
          // that is off, not a late event: the lookbacks span a day).
          .WithEventTime(&Event::ts, EventTimeOptions{absl::Milliseconds(kOutOfOrderMs),
                                                      absl::Milliseconds(settings->lateness_ms),
                                                      absl::Minutes(1), absl::Hours(24),
                                                      absl::Hours(24 * 7)})
          .KeyBy("by_user", &Event::user)
          .Process("user_features", UserStage(settings))
          .KeyBy("by_ad", [](const Staged& s) { return s.event.ad; })
          .Process("ad_features", AdStage(settings));
  if (settings->audit) {
    job.SinkToFile("audit", audit_file);
    featured.Filter("audited", [](const Featured& f) { return f.impression; })
        .Sink("audit", [](const Featured& f, std::string& line) { line.append(f.audit); });
  }
  auto model_out = featured.Map("learner_input", [](const Featured& f) { return f.input; })
                       .KeyBy("model", [](const LearnerInput&) { return 0; })
                       .Process("learner", DelayedLabelLearner(learner))
                       .Map("model_records", &FromLearner);
  auto drift_out = featured.Filter("impressions", [](const Featured& f) { return f.impression; })
                       .KeyBy("drift", [](const Featured&) { return 0; })
                       .Process("field_drift", DriftStage(settings, run));
  auto outputs = model_out.Union("outputs", {drift_out});
  outputs.Filter("prediction_records", [](const Out& o) { return o.kind == Out::kPrediction; })
      .Sink("predictions", [](const Out& o, std::string& line) { line.append(o.json); });
  outputs.Filter("metric_records", [](const Out& o) { return o.kind == Out::kMetrics; })
      .Sink("metrics", [](const Out& o, std::string& line) { line.append(o.json); });
  outputs.Filter("alert_records", [](const Out& o) { return o.kind == Out::kAlert; })
      .Sink("alerts", [](const Out& o, std::string& line) { line.append(o.json); });
  outputs.Filter("feature_drift_records", [](const Out& o) { return o.kind == Out::kFeatureDrift; })
      .Sink("feature_drift", [](const Out& o, std::string& line) { line.append(o.json); });

  const std::string model_name = ModelKindName(learner->kind);
  job.OnMetrics([run, model_name](std::vector<JobGraph::Metric>* out) {
    std::lock_guard<std::mutex> lock(run->mu);
    const BinaryMetrics& t = run->total;
    const std::vector<std::pair<std::string, std::string>> model = {{"model", model_name}};
    out->push_back({"eddy_model_examples_learned_total", "Impressions learned from (their click window closed)",
                    true, model, t.count()});
    out->push_back({"eddy_model_impressions_scored_total", "Impressions predicted", true, model,
                    static_cast<double>(run->impressions)});
    if (t.count() > 0) {
      out->push_back({"eddy_model_logloss", "Progressive logloss of the served predictions, since the start",
                      false, model, t.logloss()});
      out->push_back({"eddy_model_auc", "Progressive AUC of the served predictions, since the start", false,
                      model, t.auc()});
      out->push_back({"eddy_model_calibration", "Mean prediction over the click rate, since the start",
                      false, model, t.calibration()});
    }
    out->push_back({"eddy_model_version", "Updates the model has learned", false, model,
                    static_cast<double>(run->model_version)});
    out->push_back({"eddy_drift_alerts_total", "Drift alerts raised", true, {{"kind", "model"}},
                    static_cast<double>(run->model_alerts)});
    out->push_back({"eddy_drift_alerts_total", "Drift alerts raised", true, {{"kind", "feature"}},
                    static_cast<double>(run->field_alerts)});
    out->push_back({"eddy_drift_alerts_active", "Drift alerts raised and not yet resolved", false,
                    {{"kind", "model"}}, static_cast<double>(run->active_model_alerts)});
    out->push_back({"eddy_drift_alerts_active", "Drift alerts raised and not yet resolved", false,
                    {{"kind", "feature"}}, static_cast<double>(run->active_field_alerts)});
  });
  job.OnFinish([run, model_name](const RunStats&,
                                 std::vector<std::pair<std::string, std::string>>* summary) {
    std::lock_guard<std::mutex> lock(run->mu);
    if (!run->reported) return absl::OkStatus();
    auto number = [](double v) {
      std::string s;
      AppendJsonDouble(s, v);
      return s;
    };
    const BinaryMetrics& t = run->total;
    summary->emplace_back("model", absl::StrCat("\"", model_name, "\""));
    summary->emplace_back("impressions", absl::StrCat(run->impressions));
    summary->emplace_back("clicks", absl::StrCat(static_cast<int64_t>(t.positives())));
    summary->emplace_back("logloss", number(t.logloss()));
    summary->emplace_back("auc", number(t.auc()));
    summary->emplace_back("calibration", number(t.calibration()));
    summary->emplace_back("alerts", absl::StrCat(run->model_alerts + run->field_alerts));
    summary->emplace_back("model_version", absl::StrCat(run->model_version));
    return absl::OkStatus();
  });
  return std::move(job).Build();
}

}  // namespace

EDDY_REGISTER_JOB_WITH_FLAGS(
    "ctr",
    "Click-through prediction for a music app's ads: lookback features, FTRL or FM learning "
    "from delayed clicks, drift alerts",
    BuildCtr,
    {{"model", FlagDef::kValue, "ftrl (default) or fm"},
     {"bits", FlagDef::kValue, "2^bits weights (default 20)"},
     {"drift", FlagDef::kValue,
      "page-hinkley (default: on the excess logloss), adwin or ddm (on the 0/1 error)"},
     {"audit", FlagDef::kValue, "write every impression's named features and values to this file"}});

}  // namespace eddy::ctr
