#include "jobs/ctr_generator.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "connectors/file_sink.h"
#include "connectors/kafka_producer.h"
#include "engine/job_registry.h"
#include "engine/json_writer.h"
#include "engine/status_macros.h"
#include "jobs/ctr_events.h"
#include "jobs/random_draws.h"

namespace eddy::ctr {
namespace {

const char* const kGenres[] = {"pop",   "rock",   "hiphop", "jazz",      "classical", "electronic",
                               "indie", "metal",  "folk",   "reggae",    "blues",     "country"};
constexpr int kNumGenres = 12;
const char* const kCategories[] = {"concerts", "streaming", "fashion", "games",   "food",
                                   "travel",   "tech",      "cars",    "finance", "fitness"};
constexpr int kNumCategories = 10;
const char* const kSlots[] = {"app_open", "between_tracks", "playlist_end"};
constexpr double kSlotEffect[] = {0.4, 0.0, -0.3};
const char* const kDevices[] = {"ios", "android", "web"};
constexpr double kDeviceEffect[] = {0.15, 0.0, -0.35};
constexpr double kBias = -3.3;
constexpr int64_t kHourMs = 3600 * 1000;
constexpr double kTwoPi = 6.283185307179586;

struct User {
  double propensity = 0;  // how click-prone the user is
  int session_ads = 0;    // ads seen in the current session
  int favourite = 0;
  int second = 0;
  int device = 0;
  bool in_session = false;
  int tracks_left = 0;
  int until_ad = 0;
  std::deque<std::pair<int64_t, int>> recent;  // (ts, genre) of the last hour's listens
};

struct Ad {
  int advertiser = 0;
  int category = 0;
  double quality = 0;
};

// Something due at `ts`: the next session start, a session's next step, a click.
struct Action {
  enum Kind : uint8_t { kStart, kStep, kClick } kind = kStart;
  int64_t ts = 0;
  uint64_t seq = 0;  // ties broken by creation order: deterministic
  int64_t user = 0;
  std::string imp;   // kClick
  bool operator>(const Action& o) const { return ts != o.ts ? ts > o.ts : seq > o.seq; }
  static Action Make(Kind kind, int64_t ts, int64_t user = 0) {
    Action a;
    a.kind = kind;
    a.ts = ts;
    a.user = user;
    return a;
  }
};

// A line waiting for its (slightly late) write time.
struct Pending {
  int64_t at = 0;
  uint64_t seq = 0;
  std::string line;
  std::string key;
  bool operator>(const Pending& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

std::string Malformed(Draw& d, const std::string& good) {
  switch (d.Below(7)) {
    case 0: return good.substr(0, good.size() / 2);  // truncated
    case 1: {                                        // ts as a string
      std::string s = good;
      const size_t at = s.find("\"ts\":");
      if (at == std::string::npos) return "{";
      const size_t end = s.find(',', at);
      return s.insert(end, "\"").insert(at + 5, "\"");
    }
    case 2: return "{\"type\":\"impression\",\"ts\":1735689600000,\"user\":\"u1\"}";  // missing fields
    case 3: return "{\"type\":\"skip\",\"ts\":1735689600000,\"user\":\"u1\"}";        // unknown type
    case 4: return "{\"type\":\"listen\",\"user\":\"\xff\xfe\"}";                     // invalid UTF-8
    case 5: {  // a device clock in the year 2100
      std::string s = good;
      const size_t at = s.find("\"ts\":");
      if (at == std::string::npos) return "{";
      return s.replace(at + 5, s.find(',', at) - at - 5, "4102444800000");
    }
    default: return "not json at all";
  }
}

class World {
 public:
  World(const GeneratorOptions& o, const LineSink& out, const TruthSink& truth)
      : o_(o), out_(out), truth_(truth), d_(o.seed), user_pick_(o.users, 1.1),
        ad_pick_(o.ads, 1.0), genre_pick_(kNumGenres, 1.0) {
    users_.resize(static_cast<size_t>(o.users));
    for (User& u : users_) {
      u.favourite = static_cast<int>(d_.Below(kNumGenres));
      u.second = static_cast<int>((u.favourite + 1 + d_.Below(kNumGenres - 1)) % kNumGenres);
      const double r = d_.Uniform();
      u.device = r < 0.45 ? 0 : r < 0.85 ? 1 : 2;
      u.propensity = 0.5 * d_.Normal();
    }
    ads_.resize(static_cast<size_t>(o.ads));
    for (Ad& a : ads_) {
      a.advertiser = static_cast<int>(d_.Below(40));
      a.category = static_cast<int>(d_.Below(kNumCategories));
    }
    DrawHiddenModel(d_);
    for (double f : o.drift_at) drift_lines_.push_back(static_cast<int64_t>(f * o.events));
    std::sort(drift_lines_.begin(), drift_lines_.end());
  }

  absl::Status Run(const std::atomic<bool>* stop) {
    Schedule(Action::Make(Action::kStart, o_.start_ms));
    while (written_ < o_.events && !actions_.empty()) {
      if (stop != nullptr && stop->load(std::memory_order_relaxed)) return absl::OkStatus();
      Action a = actions_.top();
      actions_.pop();
      EDDY_RETURN_IF_ERROR(FlushUntil(a.ts));
      switch (a.kind) {
        case Action::kStart: EDDY_RETURN_IF_ERROR(StartSession(a.ts)); break;
        case Action::kStep: EDDY_RETURN_IF_ERROR(Step(a.user, a.ts)); break;
        case Action::kClick: {
          Event e;
          e.type = Event::kClick;
          e.ts = a.ts;
          e.user = UserName(a.user);
          e.imp = a.imp;
          EDDY_RETURN_IF_ERROR(Emit(e));
          break;
        }
      }
    }
    return FlushUntil(kFlushAll);
  }

 private:
  static constexpr int64_t kFlushAll = INT64_MAX;

  void DrawHiddenModel(Draw& d) {
    for (double& a : affinity_) a = 0.9 * d.Normal();
    for (Ad& a : ads_) a.quality = 0.6 * d.Normal();
  }

  void Schedule(Action a) {
    a.seq = next_seq_++;
    actions_.push(std::move(a));
  }

  static std::string UserName(int64_t u) { return absl::StrCat("u", u); }

  // Session starts: a Poisson process thinned to the daily rate.
  absl::Status StartSession(int64_t ts) {
    const double peak = 1.6 * o_.sessions_per_hour;
    Schedule(Action::Make(Action::kStart, ts + 1 + static_cast<int64_t>(d_.Exponential(kHourMs / peak))));
    const double hour = static_cast<double>((ts / 1000) % 86400) / 3600.0;
    const double rate = o_.sessions_per_hour * (1 + 0.6 * std::sin(kTwoPi * (hour - 14) / 24));
    if (d_.Uniform() * peak > rate) return absl::OkStatus();
    int64_t u = -1;
    for (int attempt = 0; attempt < 5 && u < 0; ++attempt) {
      const int64_t pick = user_pick_.Sample(d_);
      if (!users_[pick].in_session) u = pick;
    }
    if (u < 0) return absl::OkStatus();
    User& user = users_[u];
    user.in_session = true;
    user.session_ads = 0;
    // Geometric, mean ~12 tracks.
    user.tracks_left = 1 + static_cast<int>(d_.Exponential(11.0));
    user.until_ad = 3 + static_cast<int>(d_.Below(3));
    if (d_.Uniform() < 0.3) EDDY_RETURN_IF_ERROR(Impression(u, 0, ts));
    Schedule(Action::Make(Action::kStep, ts + 1000 + d_.Below(2000), u));
    return absl::OkStatus();
  }

  // Plays the session's next track (its listen event at the end of the
  // play), then maybe an ad, then schedules the next step or ends.
  absl::Status Step(int64_t u, int64_t ts) {
    User& user = users_[u];
    const double r = d_.Uniform();
    const int genre = r < 0.5 ? user.favourite
                              : r < 0.75 ? user.second : static_cast<int>(genre_pick_.Sample(d_));
    const int64_t artist = genre + kNumGenres * d_.Below(50);
    Event e;
    e.type = Event::kListen;
    e.user = UserName(u);
    e.genre = kGenres[genre];
    e.artist = absl::StrCat("a", artist);
    e.track = absl::StrCat("t", artist * 30 + d_.Below(30));
    e.ms_played = d_.Uniform() < 0.2 ? 5000 + d_.Below(25000) : 120000 + d_.Below(180000);
    e.ts = ts + e.ms_played;
    EDDY_RETURN_IF_ERROR(Emit(e));
    user.recent.emplace_back(e.ts, genre);
    int64_t next = e.ts + 500 + d_.Below(2500);
    if (--user.tracks_left <= 0) {
      if (d_.Uniform() < 0.5) EDDY_RETURN_IF_ERROR(Impression(u, 2, next));
      user.in_session = false;
      return absl::OkStatus();
    }
    if (--user.until_ad <= 0) {
      EDDY_RETURN_IF_ERROR(Impression(u, 1, next));
      user.until_ad = 3 + static_cast<int>(d_.Below(3));
      next += 15000 + d_.Below(15000);  // the ad break
    }
    Schedule(Action::Make(Action::kStep, next, u));
    return absl::OkStatus();
  }

  absl::Status Impression(int64_t u, int slot, int64_t ts) {
    User& user = users_[u];
    const int64_t a = ad_pick_.Sample(d_);
    const Ad& ad = ads_[a];
    // The user's genres over the hour before.
    while (!user.recent.empty() && user.recent.front().first < ts - kHourMs) user.recent.pop_front();
    double affinity = 0;
    if (!user.recent.empty()) {
      for (const auto& [t, g] : user.recent) affinity += affinity_[g * kNumCategories + ad.category];
      affinity /= static_cast<double>(user.recent.size());
    }
    const double hour = static_cast<double>((ts / 1000) % 86400) / 3600.0;
    const double z = kBias + ad.quality + 1.5 * affinity + user.propensity -
                     0.1 * user.session_ads + kSlotEffect[slot] + kDeviceEffect[user.device] +
                     0.25 * std::sin(kTwoPi * (hour - 15) / 24);
    ++user.session_ads;
    const double p = 1 / (1 + std::exp(-z));
    Event e;
    e.type = Event::kImpression;
    e.ts = ts;
    e.user = UserName(u);
    e.imp = absl::StrCat("i-", ++impressions_);
    e.ad = absl::StrCat("ad", a);
    e.advertiser = absl::StrCat("adv", ad.advertiser);
    e.category = kCategories[ad.category];
    e.slot = kSlots[slot];
    e.device = kDevices[user.device];
    // (Past the stream's end an impression is not written: nor its truth.)
    if (truth_ && written_ + static_cast<int64_t>(pending_.size()) < o_.events) {
      std::string json;
      JsonObjectWriter w(json);
      w.Field("imp", e.imp).Field("ts", ts).Field("p", p);
      w.Close();
      EDDY_RETURN_IF_ERROR(truth_(json));
    }
    if (d_.Uniform() < p) {
      const double delay = d_.Uniform() < 0.8 ? d_.Exponential(8000) : d_.Exponential(90000);
      Action click = Action::Make(Action::kClick, ts + 200 + std::min<int64_t>(static_cast<int64_t>(delay), 540000), u);
      click.imp = e.imp;
      Schedule(std::move(click));
    }
    return Emit(e);
  }

  // Queues an event's line for its write time; drifts when a drift point's
  // line count is reached.
  absl::Status Emit(const Event& e) {
    if (written_ + static_cast<int64_t>(pending_.size()) >= o_.events) return absl::OkStatus();
    Pending p;
    AppendEventJson(e, p.line);
    if (o_.malformed_rate > 0 && d_.Uniform() < o_.malformed_rate) p.line = Malformed(d_, p.line);
    p.key = e.user;
    p.at = e.ts + (o_.disorder_ms > 0 ? d_.Below(o_.disorder_ms + 1) : 0);
    p.seq = next_seq_++;
    pending_.push(std::move(p));
    const int64_t queued = written_ + static_cast<int64_t>(pending_.size());
    while (next_drift_ < drift_lines_.size() && queued >= drift_lines_[next_drift_]) {
      ++next_drift_;
      Draw fresh(o_.seed * 0x9E3779B97F4A7C15ULL + next_drift_);
      DrawHiddenModel(fresh);
      if (truth_) {
        std::string json;
        JsonObjectWriter w(json);
        w.Field("drift", static_cast<int64_t>(next_drift_)).Field("ts", e.ts).Field(
            "fraction", o_.drift_at.empty() ? 0.0 : static_cast<double>(drift_lines_[next_drift_ - 1]) /
                                                         static_cast<double>(o_.events));
        w.Close();
        EDDY_RETURN_IF_ERROR(truth_(json));
      }
    }
    return absl::OkStatus();
  }

  // Writes the lines due by `now`.
  absl::Status FlushUntil(int64_t now) {
    while (!pending_.empty() && pending_.top().at <= now) {
      const Pending& p = pending_.top();
      EDDY_RETURN_IF_ERROR(out_(p.line, p.key));
      ++written_;
      pending_.pop();
    }
    return absl::OkStatus();
  }

  const GeneratorOptions& o_;
  const LineSink& out_;
  const TruthSink& truth_;
  Draw d_;
  Zipf user_pick_, ad_pick_, genre_pick_;
  std::vector<User> users_;
  std::vector<Ad> ads_;
  double affinity_[kNumGenres * kNumCategories] = {};
  std::priority_queue<Action, std::vector<Action>, std::greater<Action>> actions_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> pending_;
  std::vector<int64_t> drift_lines_;
  size_t next_drift_ = 0;
  uint64_t next_seq_ = 0;
  int64_t impressions_ = 0;
  int64_t written_ = 0;
};

}  // namespace

absl::Status GenerateCtr(const GeneratorOptions& options, const LineSink& out,
                         const TruthSink& truth, const std::atomic<bool>* stop) {
  if (options.events < 0) return absl::InvalidArgumentError("--events must be >= 0");
  if (options.users < 1 || options.ads < 1) {
    return absl::InvalidArgumentError("--users and --ads must be >= 1");
  }
  if (!(options.sessions_per_hour > 0)) {
    return absl::InvalidArgumentError("--sessions-per-hour must be > 0");
  }
  if (!(options.malformed_rate >= 0 && options.malformed_rate <= 1)) {
    return absl::InvalidArgumentError("--malformed-rate must be within [0, 1]");
  }
  if (options.disorder_ms < 0) return absl::InvalidArgumentError("--disorder-ms must be >= 0");
  for (double f : options.drift_at) {
    if (!(f > 0 && f < 1)) {
      return absl::InvalidArgumentError(absl::StrCat("--drift-at ", f, ": a fraction in (0, 1)"));
    }
  }
  World world(options, out, truth);
  return world.Run(stop);
}

namespace {

// `eddy gen ctr`: to a file, or with --brokers into a Kafka topic.
absl::Status GenerateCtrCommand(const ParsedArgs& args) {
  GeneratorOptions o;
  EDDY_ASSIGN_OR_RETURN(o.events, args.GetInt("events", o.events, 0, int64_t{1} << 34));
  EDDY_ASSIGN_OR_RETURN(int64_t seed, args.GetInt("seed", 1));
  o.seed = static_cast<uint64_t>(seed);
  EDDY_ASSIGN_OR_RETURN(o.users, args.GetInt("users", o.users, 1, 100000000));
  EDDY_ASSIGN_OR_RETURN(o.ads, args.GetInt("ads", o.ads, 1, 10000000));
  EDDY_ASSIGN_OR_RETURN(o.sessions_per_hour, args.GetDouble("sessions-per-hour", o.sessions_per_hour));
  EDDY_ASSIGN_OR_RETURN(o.malformed_rate, args.GetDouble("malformed-rate", 0.0));
  EDDY_ASSIGN_OR_RETURN(o.disorder_ms, args.GetInt("disorder-ms", o.disorder_ms, 0, 3600000));
  for (const std::string& f : args.GetAll("drift-at")) {
    double v = 0;
    if (!absl::SimpleAtod(f, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("--drift-at: '", f, "' is not a number"));
    }
    o.drift_at.push_back(v);
  }
  const std::string out_path = args.Get("out");
  const std::string brokers = args.Get("brokers");
  if (out_path.empty() == brokers.empty()) {
    return absl::InvalidArgumentError("eddy gen ctr: give --out FILE, or --brokers B --topic T");
  }
  std::unique_ptr<OutputWriter> truth_file;
  TruthSink truth;
  if (args.Has("truth")) {
    EDDY_ASSIGN_OR_RETURN(truth_file, OpenJsonLinesFile(args.Get("truth")));
    truth = [&truth_file](absl::string_view json) { return truth_file->Write(json); };
  }
  if (!out_path.empty()) {
    EDDY_ASSIGN_OR_RETURN(auto out, OpenJsonLinesFile(out_path));
    EDDY_RETURN_IF_ERROR(GenerateCtr(
        o, [&out](absl::string_view line, absl::string_view) { return out->Write(line); }, truth));
    EDDY_RETURN_IF_ERROR(out->Close());
  } else {
    const std::string topic = args.Get("topic");
    if (topic.empty()) return absl::InvalidArgumentError("eddy gen ctr: --brokers needs --topic T");
    EDDY_ASSIGN_OR_RETURN(double rate, args.GetDouble("rate", 0));
    if (rate < 0) return absl::InvalidArgumentError("--rate must be >= 0 (0: as fast as possible)");
    KafkaOptions kafka;
    kafka.brokers = brokers;
    kafka.client_id = "eddy-gen";
    EDDY_ASSIGN_OR_RETURN(kafka.properties, args.GetKeyValues("kafka"));
    EDDY_ASSIGN_OR_RETURN(auto producer, KafkaLineProducer::Open(kafka, topic));
    const absl::Time start = absl::Now();
    int64_t n = 0;
    EDDY_RETURN_IF_ERROR(GenerateCtr(
        o,
        [&](absl::string_view line, absl::string_view key) {
          if (rate > 0) {
            // Paced by the wall clock: event n goes out at start + n / rate.
            const absl::Time due = start + absl::Seconds(static_cast<double>(n) / rate);
            const absl::Duration wait = due - absl::Now();
            if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
          }
          ++n;
          return producer->Produce(key, line);
        },
        truth));
    EDDY_RETURN_IF_ERROR(producer->Flush());
  }
  if (truth_file != nullptr) EDDY_RETURN_IF_ERROR(truth_file->Close());
  return absl::OkStatus();
}

}  // namespace

EDDY_REGISTER_GENERATOR(GeneratorInfo{
    "ctr",
    "music-app listens, ad impressions and clicks from a hidden click model (the ctr job's input)",
    {
        {"out", FlagDef::kValue, "output file (.jsonl, or .jsonl.gz for gzip)"},
        {"brokers", FlagDef::kValue, "instead of --out: produce to Kafka (keyed by user)"},
        {"topic", FlagDef::kValue, "with --brokers: the topic (e.g. ctr.events)"},
        {"rate", FlagDef::kValue, "with --brokers: events per second (default: as fast as possible)"},
        {"kafka", FlagDef::kRepeated, "with --brokers: a librdkafka property KEY=VALUE"},
        {"events", FlagDef::kValue, "number of lines (default 100000)"},
        {"seed", FlagDef::kValue, "random seed (default 1); same seed, same bytes"},
        {"truth", FlagDef::kValue,
         "write each impression's true click probability and each drift's event time here"},
        {"drift-at", FlagDef::kRepeated,
         "a fraction of the stream (0..1) where the hidden click model changes: the "
         "genre x category affinities and every ad's quality are drawn anew"},
        {"malformed-rate", FlagDef::kValue, "fraction of malformed lines (default 0)"},
        {"users", FlagDef::kValue, "users (default 5000)"},
        {"ads", FlagDef::kValue, "ads (default 300)"},
        {"sessions-per-hour", FlagDef::kValue, "mean listening sessions started per hour (default 600)"},
        {"disorder-ms", FlagDef::kValue, "each event written up to this late (default 2000)"},
    },
    GenerateCtrCommand});

}  // namespace eddy::ctr
