// Predict now, learn when the label is known: an online model on a stream of
// examples whose labels come later, as clicks come after ad impressions.
//
// DelayedLabelLearner is a Process function (operators/process_node.h) over
// LearnerInput records, on a stream keyed by one constant (one model, in
// keyed state, so it is in every checkpoint):
//   - an example (kind kExample, with an id and a feature vector) is scored
//     at once and its prediction emitted; the exact vector it was scored on,
//     its score and the model version are held in keyed state;
//   - a label (kind kLabel) for a held example's id, with event time within
//     [example time, example time + attribution window], makes it positive;
//   - when the watermark passes example time + window, the model learns from
//     the example: positive if a label came, else negative. Positives wait
//     too: learned at once, they would reach the model up to a window ahead
//     of the negatives of the same moments, and the features of a user's
//     current session (which get their clicks at once, their non-clicks a
//     window later) would drift up: on the CTR job, mean prediction / click
//     rate was 1.4-8 with positives learned at once, 1.0 with both waiting
//     (the delayed-feedback bias of Chapelle, "Modeling Delayed Feedback in
//     Display Advertising", KDD 2014);
//   - a label that arrives before its example is held until the watermark
//     passes its time + `label_wait` (out-of-order streams); its example
//     arriving in that time is positive as soon as it is scored;
//   - duplicate labels of an example are counted and dropped; a label whose
//     example never came (or had expired, or is outside the window) goes to
//     the dead-letter output with the reason, as does a second example with
//     an id already held.
// Progressive validation: every example is evaluated with the score it was
// served (before the model learned from it). Metrics are reported per
// event-time window of the examples (`metrics_window`), once every label of
// the window is known (the watermark past its end + the attribution window).
//
// Outputs (LearnerOutput, JSON): predictions {"id","ts","p","model_version"}
// plus the example's `extra` fields; labeled {"id","ts","label","p",
// "model_version","learned_at"}; metrics {"window_start","window_end",
// "examples","positives","logloss","auc","calibration","accuracy",
// "model_version"}; alerts (DriftMonitor).
//
// All of the learner's state (model, held examples and labels, open metrics
// windows, drift detectors' inputs aside) is keyed state of the one key:
// resumed runs continue it. The held examples are one value, rewritten at
// each checkpoint: fine for thousands of impressions in flight, not for
// millions.
#ifndef EDDY_OPERATORS_ONLINE_LEARNER_H_
#define EDDY_OPERATORS_ONLINE_LEARNER_H_

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/json_writer.h"
#include "operators/drift.h"
#include "operators/evaluation.h"
#include "operators/learners.h"
#include "operators/model_state.h"
#include "operators/process_node.h"
#include "state/codec.h"

namespace eddy {

struct LearnerInput {
  enum Kind : uint8_t { kExample, kLabel };
  uint8_t kind = kExample;  // a Kind
  std::string id;
  SparseVector x;      // kExample
  float weight = 1;    // kExample: importance
  std::string extra;   // kExample: JSON fields copied into its prediction ("\"user\":\"u1\"")
};

// A metrics window as one JSON object: window_start, window_end, examples,
// positives, logloss, auc, calibration, accuracy, model_version.
inline std::string MetricsJson(const BinaryMetrics& m, int64_t start, int64_t end, uint64_t version) {
  std::string json;
  JsonObjectWriter j(json);
  j.Field("window_start", start)
      .Field("window_end", end)
      .Field("examples", m.count())
      .Field("positives", m.positives())
      .Field("logloss", m.logloss())
      .Field("auc", m.auc())
      .Field("calibration", m.calibration())
      .Field("accuracy", m.accuracy())
      .Field("model_version", static_cast<int64_t>(version));
  j.Close();
  return json;
}

struct LearnerOutput {
  enum Kind : uint8_t { kPrediction, kLabeled, kMetrics, kAlert };
  Kind kind = kPrediction;
  std::string json;
};

// Drift alerts from the served scores and labels (jobs/learn.cc's choice of
// detector): the chosen detector on the 0/1 error (only a rise alerts) or,
// for Page-Hinkley, the logloss; and ADWIN on the rate of positive labels
// (a model that adapts fast recovers its error within a few hundred
// examples of a change; the label rate stays moved). One alert per episode,
// a resolution after `cooldown` quiet positions.
class DriftMonitor {
 public:
  enum class Kind { kNone, kAdwin, kPageHinkley, kDdm };

  // `calibration_band` (> 1): a metrics window whose calibration (mean
  // score / observed rate) is outside [1 / band, band] raises a prediction
  // drift alert.
  DriftMonitor(std::string job, Kind kind, int64_t cooldown, double calibration_band = 1.25)
      : DriftMonitor(std::move(job), kind, cooldown, WithBand(calibration_band)) {}

  struct Options {
    double calibration_band = 1.25;
    // ADWIN on the rate of positive labels. Off where that rate moves by
    // itself (clicks follow the time of day).
    bool label_rate = true;
    // On the excess logloss, whose spread is large (sd ~0.5-0.7 for labels
    // that are often surprising): the library's defaults (delta 0.005,
    // lambda 50) false-alarmed 4 times in SEA's 100k rows; these do not.
    drift::PageHinkleyOptions page_hinkley = {30, 0.02, 100, 0.9999};
    // The per-example detectors (ADWIN, Page-Hinkley or DDM on the model,
    // ADWIN on the label rate) start after this many examples: a model that
    // starts from nothing is far off at first (an FM's early losses raised
    // a Page-Hinkley alarm in the CTR job's first half hour).
    int64_t warmup_examples = 0;
  };
  DriftMonitor(std::string job, Kind kind, int64_t cooldown, const Options& options)
      : job_(std::move(job)),
        kind_(kind),
        band_(options.calibration_band),
        label_rate_(options.label_rate),
        warmup_(options.warmup_examples),
        page_hinkley_(options.page_hinkley),
        episode_(cooldown),
        label_episode_(cooldown),
        calibration_episode_(cooldown),
        auc_episode_(cooldown) {}

  static Options WithBand(double band) {
    Options o;
    o.calibration_band = band;
    return o;
  }

  static std::optional<Kind> ParseKind(const std::string& name) {
    if (name.empty()) return Kind::kNone;
    if (name == "adwin") return Kind::kAdwin;
    if (name == "page-hinkley") return Kind::kPageHinkley;
    if (name == "ddm") return Kind::kDdm;
    return std::nullopt;
  }

  // One labelled score at `position` (an event time, or an example number);
  // appends alert JSON lines to `alerts`; returns how many were alerts (not
  // resolutions).
  int Observe(double p, float label, int64_t position, std::vector<std::string>* alerts) {
    if (kind_ == Kind::kNone) return 0;
    if (warmup_ > 0) {
      --warmup_;
      return 0;
    }
    int raised = 0;
    const bool error = (p >= 0.5) != (label > 0.5f);
    uint8_t& slot = recent_[static_cast<size_t>(count_ % kRecent)];
    recent_errors_ += (error ? 1 : 0) - slot;
    slot = error ? 1 : 0;
    ++count_;
    const int64_t recent = std::min<int64_t>(count_, kRecent);
    bool firing = false;
    drift::Alert alert = Base(position);
    switch (kind_) {
      case Kind::kAdwin: {
        const double before = adwin_.mean();
        firing = adwin_.Update(error ? 1.0 : 0.0) && adwin_.mean() > before;
        alert.detector = "adwin";
        alert.metric = "error_rate";
        alert.value = adwin_.mean();
        alert.threshold = 0.002;  // delta
        alert.window_start = position + 1 - adwin_.width();
        break;
      }
      case Kind::kDdm:
        firing = ddm_.Update(error) == drift::Ddm::Level::kDrift;
        alert.detector = "ddm";
        alert.metric = "error_rate";
        alert.value = static_cast<double>(recent_errors_) / static_cast<double>(recent);
        alert.threshold = 3;  // standard deviations above the best error rate seen
        alert.window_start = position + 1 - recent;
        break;
      case Kind::kPageHinkley:
        // The logloss beyond what the model expects of itself (the entropy
        // of its score): 0 on average while the model is calibrated, at any
        // base rate, so a click rate that moves with the time of day does
        // not look like a change; it rises when the model is wrong.
        firing = page_hinkley_.Update(LogLoss(p, label) - Entropy(p));
        alert.detector = "page-hinkley";
        alert.metric = "excess_logloss";
        alert.value = page_hinkley_.statistic();
        alert.threshold = page_hinkley_.options().threshold;  // lambda
        alert.window_start = position + 1 - recent;
        break;
      case Kind::kNone:
        break;
    }
    if (std::optional<bool> emit = episode_.Observe(firing, position)) {
      alert.resolved = !*emit;
      raised += *emit ? 1 : 0;
      alerts->push_back(drift::AlertJson(alert));
    }
    if (!label_rate_) return raised;
    const bool label_firing = label_adwin_.Update(label > 0.5f ? 1.0 : 0.0);
    if (std::optional<bool> emit = label_episode_.Observe(label_firing, position)) {
      drift::Alert a = Base(position);
      a.detector = "adwin";
      a.metric = "positive_rate";
      a.value = label_adwin_.mean();
      a.threshold = 0.002;
      a.window_start = position + 1 - label_adwin_.width();
      a.resolved = !*emit;
      raised += *emit ? 1 : 0;
      alerts->push_back(drift::AlertJson(a));
    }
    return raised;
  }

  // Alerts raised and not yet resolved (episodes open), over the detectors.
  int active() const {
    return (episode_.open() ? 1 : 0) + (label_episode_.open() ? 1 : 0) +
           (calibration_episode_.open() ? 1 : 0) + (auc_episode_.open() ? 1 : 0);
  }

  // Once per metrics window [start, end) (positions as in Observe):
  // prediction drift (the window's calibration against the band) and a
  // ranking drop (its AUC against the recent windows'). Windows with fewer
  // than 30 positives say too little and are skipped, and so is the first
  // window's calibration: the model has hardly learned yet (a run starting
  // from nothing scores its first window at its prior). Returns the alerts
  // raised.
  int ObserveWindow(const BinaryMetrics& window, int64_t start, int64_t end,
                    std::vector<std::string>* alerts) {
    if (kind_ == Kind::kNone || window.positives() < 30) return 0;
    const int calibration = ++windows_ > 1 ? ObserveCalibration(window, start, end, alerts) : 0;
    return calibration + ObserveAuc(window, start, end, alerts);
  }

 private:
  int ObserveCalibration(const BinaryMetrics& window, int64_t start, int64_t end,
                         std::vector<std::string>* alerts) {
    const double c = window.calibration();
    // Outside the band, and by more than chance: the positives a calibrated
    // model expects (its scores' sum, = c * positives) differ from those seen
    // by over 4 standard deviations (Poisson: sqrt of the expected count).
    // Not 3: a run judges hundreds of windows (24 a day), and 3 sigma
    // (two-sided p = 0.0027 a window) gave the CTR job a false alarm in one
    // of its 260 stationary windows; 4 sigma is p = 6e-5.
    const double expected = c * window.positives();
    const bool significant = std::fabs(window.positives() - expected) > 4 * std::sqrt(expected);
    const bool firing = !(c >= 1 / band_ && c <= band_) && significant;
    std::optional<bool> emit = calibration_episode_.Observe(firing, end - 1);
    if (!emit.has_value()) return 0;
    drift::Alert a = Base(end - 1);
    a.detector = "calibration";
    a.metric = "calibration_ratio";
    a.value = c;
    a.threshold = band_;
    a.window_start = start;
    a.window_end = end;
    a.severity = "warning";
    a.resolved = !*emit;
    alerts->push_back(drift::AlertJson(a));
    return *emit ? 1 : 0;
  }

  // The model ranks worse than it did. Each window's AUC is compared with
  // the mean AUC of the last (up to 12) windows outside an episode, in
  // standard errors of the window's AUC (Hanley & McNeil, "The Meaning and
  // Use of the Area under a ROC Curve", Radiology 1982): z. A one-sided
  // CUSUM (Page, "Continuous Inspection Schemes", Biometrika 1954) sums the
  // shortfall, S = max(0, S - z - 1), and alerts when S > 3, after 6
  // baseline windows: one window 4 standard errors below, or two in a row
  // 2.5 below (a drift at a quiet hour, with few clicks a window, shows as
  // the latter). Under no change, z ~ N(0, 1) and Siegmund's approximation
  // puts the mean run between false alarms at ~2,000 windows (~3 months of
  // hourly windows). The episode lasts while windows stay 2 standard errors
  // below. A change that keeps the scores calibrated but scrambles which
  // examples are positive (new tastes, new ads) shows here and not in the
  // loss.
  int ObserveAuc(const BinaryMetrics& window, int64_t start, int64_t end,
                 std::vector<std::string>* alerts) {
    const double auc = window.auc();
    const double n1 = window.positives();
    const double n2 = window.count() - n1;
    if (!std::isfinite(auc) || n2 < 1) return 0;
    const double q1 = auc / (2 - auc);
    const double q2 = 2 * auc * auc / (1 + auc);
    const double se = std::sqrt(std::max(
        0.0, (auc * (1 - auc) + (n1 - 1) * (q1 - auc * auc) + (n2 - 1) * (q2 - auc * auc)) / (n1 * n2)));
    bool firing = false;
    double baseline = 0;
    if (recent_auc_.size() >= 6 && se > 0) {
      for (double a : recent_auc_) baseline += a;
      baseline /= static_cast<double>(recent_auc_.size());
      const double z = (auc - baseline) / se;
      auc_cusum_ = std::max(0.0, auc_cusum_ - z - 1);
      firing = auc_episode_.open() ? z < -2 : auc_cusum_ > 3;
      if (!firing && auc_episode_.open()) auc_cusum_ = 0;  // the episode ends
    }
    if (!firing) {
      recent_auc_.push_back(auc);
      if (recent_auc_.size() > kAucBaselineWindows) recent_auc_.erase(recent_auc_.begin());
    }
    std::optional<bool> emit = auc_episode_.Observe(firing, end - 1);
    if (!emit.has_value()) return 0;
    drift::Alert a = Base(end - 1);
    a.detector = "auc";
    a.metric = "auc";
    a.value = auc;
    a.threshold = baseline;  // the recent windows' mean AUC
    a.window_start = start;
    a.window_end = end;
    a.resolved = !*emit;
    alerts->push_back(drift::AlertJson(a));
    return *emit ? 1 : 0;
  }

  static constexpr int64_t kRecent = 1000;
  static constexpr size_t kAucBaselineWindows = 12;

  drift::Alert Base(int64_t position) const {
    drift::Alert a;
    a.job = job_;
    a.window_end = position + 1;
    a.event_time = position;
    a.severity = "critical";
    return a;
  }

  std::string job_;
  Kind kind_;
  double band_;
  bool label_rate_ = true;
  int64_t warmup_ = 0;  // examples the per-example detector has still to skip
  drift::Adwin adwin_;
  drift::Ddm ddm_;
  drift::PageHinkley page_hinkley_;
  drift::Episode episode_;
  drift::Adwin label_adwin_;
  drift::Episode label_episode_;
  drift::Episode calibration_episode_;
  drift::Episode auc_episode_;
  std::vector<double> recent_auc_;  // windows outside an AUC episode
  double auc_cusum_ = 0;            // see ObserveAuc
  int64_t windows_ = 0;             // windows judged (with 30 positives)
  std::vector<uint8_t> recent_ = std::vector<uint8_t>(kRecent, 0);
  int64_t recent_errors_ = 0;
  int64_t count_ = 0;
};

// What the learner holds between an example and its label.
struct HeldExample {
  EventTime ts = 0;
  std::vector<uint32_t> index;
  std::vector<float> value;
  float weight = 1;
  double p = 0;
  uint64_t version = 0;
  bool labeled = false;  // a label came (positive); later ones are duplicates
};

struct DelayedLabelState {
  BinaryMetrics total;     // every example learned from, with its served score
  int64_t scored = 0;      // examples scored (predictions emitted)
  uint64_t alerts = 0;     // drift alerts raised
  std::map<std::string, HeldExample> examples;
  std::map<std::pair<EventTime, std::string>, bool> expiry;  // (ts + window, id)
  std::map<std::string, EventTime> labels;                  // held labels: id -> time
  std::map<std::pair<EventTime, std::string>, bool> label_expiry;
  std::map<EventTime, BinaryMetrics> windows;               // by window start
  uint64_t duplicate_labels = 0;
  // By window start: the latest model version that scored one of its
  // examples (the window's "model_version": fixed by the predictions, not
  // by when the window's timer fires).
  std::map<EventTime, uint64_t> window_versions;
};

}  // namespace eddy

EDDY_CODEC(eddy::HeldExample, ts, index, value, weight, p, version, labeled);
EDDY_CODEC(eddy::DelayedLabelState, total, scored, alerts, examples, expiry, labels, label_expiry,
           windows, duplicate_labels, window_versions);
EDDY_CODEC(eddy::LearnerInput, kind, id, x, weight, extra);

namespace eddy {

struct DelayedLabelOptions {
  ModelKind kind = ModelKind::kFtrl;
  ModelOptions model;
  std::string model_in;           // a model file's bytes to start from (checked by the caller)
  double initial_margin = 0;      // a new model's bias (Model::InitBias): its prior
  int64_t attribution_ms = 30 * 60 * 1000;
  int64_t label_wait_ms = 60 * 1000;
  // How long after its attribution window closes an example waits for a
  // click that arrives out of order before it is learned: at least the
  // input's out-of-orderness bound. The wait is measured on the records'
  // own times as well as by the watermark (see ProcessElement), so with
  // several input partitions it must also cover how far one partition's
  // event time runs ahead of another's; a click that comes later is a dead
  // letter ("label for an unknown example id").
  int64_t label_grace_ms = 0;
  int64_t metrics_window_ms = 60 * 60 * 1000;
  DriftMonitor::Kind drift = DriftMonitor::Kind::kNone;
  int64_t drift_cooldown_ms = 60 * 60 * 1000;
  std::string job = "learn";
  std::string id_name = "id";  // the id's key in predictions and labeled records
  DriftMonitor::Options monitor;
  // Called after each timer (metrics windows, expiries) with the state, the
  // model and the drift monitor: the last call of a replay sees the run's
  // final figures.
  std::function<void(const DelayedLabelState&, const Model&, const DriftMonitor&)> report;
};

class DelayedLabelLearner {
 public:
  using Out = LearnerOutput;

  explicit DelayedLabelLearner(std::shared_ptr<const DelayedLabelOptions> options)
      : options_(std::move(options)),
        drift_(options_->job, options_->drift, options_->drift_cooldown_ms, options_->monitor) {}

  void Open(KeyedStateStore<int>& state) {
    model_ = state.Value<ModelBox>("model");
    held_ = state.Value<DelayedLabelState>("held");
  }

  void ProcessElement(const LearnerInput& in, ProcessContext<int, Out>& ctx) {
    Model* model = GetModel();
    DelayedLabelState& s = held_.GetOrCreate();
    const EventTime ts = ctx.timestamp();
    // What closed before this record is learned first, whether or not a
    // timer has done it yet: the model that scores a record has learned
    // exactly the examples whose window (+ grace) closed before its time,
    // in the order they closed. (Strictly before: a label at the window's
    // end may still come while the record's time is within the input's
    // out-of-orderness bound of it; a timer at `t` fires once no record at
    // or before `t` can come.) Timers fire wherever a batch ends, so
    // without this a run's predictions depended on its batch sizes (and a
    // live run's differed from replay's).
    LearnClosed(ts - 1, *model, s, ctx);
    if (in.kind == LearnerInput::kExample) {
      if (s.examples.count(in.id) > 0) {
        ctx.DeadLetter("duplicate example id", absl::StrCat("{\"id\":", Quoted(in.id), "}"));
        return;
      }
      const double p = model->Predict(in.x);
      HeldExample& h = s.examples[in.id];
      h.ts = ts;
      h.index = in.x.index;
      h.value = in.x.value;
      h.weight = in.weight;
      h.p = p;
      h.version = model->version();
      std::string json;
      JsonObjectWriter w(json);
      ++s.scored;
      w.Field(options_->id_name, in.id).Field("ts", ts).Field("p", p).Field(
          "model_version", static_cast<int64_t>(h.version));
      if (!in.extra.empty()) {
        json.push_back(',');
        json.append(in.extra);
      }
      w.Close();
      ctx.Emit(Out{Out::kPrediction, std::move(json)});
      const EventTime expiry = ts + options_->attribution_ms;
      s.expiry[{expiry, in.id}] = true;
      ctx.RegisterTimer(expiry + options_->label_grace_ms);
      // A label that came first.
      auto label = s.labels.find(in.id);
      if (label != s.labels.end()) {
        const EventTime label_ts = label->second;
        s.label_expiry.erase({label_ts + options_->label_wait_ms, in.id});
        s.labels.erase(label);
        if (label_ts >= ts && label_ts <= expiry) {
          h.labeled = true;
        } else {
          ctx.DeadLetter("label outside its example's attribution window",
                         absl::StrCat("{\"id\":", Quoted(in.id), ",\"label_ts\":", label_ts, "}"));
        }
      }
      return;
    }
    // A label.
    auto it = s.examples.find(in.id);
    if (it == s.examples.end()) {
      if (s.labels.count(in.id) > 0) {
        ++s.duplicate_labels;
        return;
      }
      s.labels[in.id] = ts;
      s.label_expiry[{ts + options_->label_wait_ms, in.id}] = true;
      ctx.RegisterTimer(ts + options_->label_wait_ms);
      return;
    }
    HeldExample& h = it->second;
    if (h.labeled) {
      ++s.duplicate_labels;
      return;
    }
    if (ts < h.ts || ts > h.ts + options_->attribution_ms) {
      ctx.DeadLetter("label outside its example's attribution window",
                     absl::StrCat("{\"id\":", Quoted(in.id), ",\"label_ts\":", ts, "}"));
      return;
    }
    h.labeled = true;  // learned from when its window closes
  }

  void OnTimer(EventTime t, ProcessContext<int, Out>& ctx) {
    DelayedLabelState* s = held_.Mutable();
    if (s == nullptr) return;
    Model* model = GetModel();
    LearnClosed(t, *model, *s, ctx);
    // Labels whose example never came.
    while (!s->label_expiry.empty() && s->label_expiry.begin()->first.first <= t) {
      const std::string id = s->label_expiry.begin()->first.second;
      s->label_expiry.erase(s->label_expiry.begin());
      auto it = s->labels.find(id);
      if (it == s->labels.end()) continue;
      ctx.DeadLetter("label for an unknown example id",
                     absl::StrCat("{\"id\":", Quoted(id), ",\"label_ts\":", it->second, "}"));
      s->labels.erase(it);
    }
    // Metrics windows whose every label is known.
    while (!s->windows.empty() && s->windows.begin()->first + options_->metrics_window_ms - 1 +
                                          options_->attribution_ms + options_->label_grace_ms <= t) {
      EmitWindow(*s, s->windows.begin()->first, s->windows.begin()->second, ctx);
      s->window_versions.erase(s->windows.begin()->first);
      s->windows.erase(s->windows.begin());
    }
    if (options_->report) options_->report(*s, *model, drift_);
  }

 private:
  // Learns every held example whose window + grace closed at or before `t`,
  // positive or negative, in the order of their window ends ("learned_at":
  // the window's end).
  void LearnClosed(EventTime t, Model& model, DelayedLabelState& s, ProcessContext<int, Out>& ctx) {
    while (!s.expiry.empty() && s.expiry.begin()->first.first + options_->label_grace_ms <= t) {
      const EventTime expiry = s.expiry.begin()->first.first;
      const std::string id = s.expiry.begin()->first.second;
      s.expiry.erase(s.expiry.begin());
      auto it = s.examples.find(id);
      if (it == s.examples.end()) continue;
      Learn(model, s, id, it->second, it->second.labeled ? 1.0f : 0.0f, expiry, ctx);
      s.examples.erase(it);
    }
  }

  static std::string Quoted(const std::string& s) {
    std::string out;
    AppendJsonString(out, s);
    return out;
  }

  Model* GetModel() {
    ModelBox* box = model_.Mutable();
    if (box == nullptr || box->model == nullptr) {
      ModelBox fresh;
      fresh.model = options_->model_in.empty() ? *MakeModel(options_->kind, options_->model)
                                               : *ParseModel(options_->model_in);
      if (options_->model_in.empty() && options_->initial_margin != 0) {
        fresh.model->InitBias(options_->initial_margin);
      }
      model_.Set(std::move(fresh));
      box = model_.Mutable();
    }
    return box->model.get();
  }

  // Learns `h` with `label` (its served score evaluated), now (time `now`).
  void Learn(Model& model, DelayedLabelState& s, const std::string& id, HeldExample& h, float label,
             EventTime now, ProcessContext<int, Out>& ctx) {
    x_.index = h.index;
    x_.value = h.value;
    model.PredictThenLearn(x_, label, h.weight);
    h.labeled = label > 0.5f;
    // The example's metrics window.
    const EventTime start = h.ts - ((h.ts % options_->metrics_window_ms) + options_->metrics_window_ms) %
                                       options_->metrics_window_ms;
    BinaryMetrics& w = s.windows[start];
    if (w.count() == 0) {
      ctx.RegisterTimer(start + options_->metrics_window_ms - 1 + options_->attribution_ms +
                        options_->label_grace_ms);
    }
    w.Add(h.p, label, h.weight);
    uint64_t& version = s.window_versions[start];
    version = std::max(version, h.version);
    s.total.Add(h.p, label, h.weight);
    std::string json;
    JsonObjectWriter j(json);
    j.Field(options_->id_name, id)
        .Field("ts", h.ts)
        .Field("label", static_cast<int64_t>(label))
        .Field("p", h.p)
        .Field("model_version", static_cast<int64_t>(h.version))
        .Field("learned_at", now);
    j.Close();
    ctx.Emit(Out{Out::kLabeled, std::move(json)});
    std::vector<std::string> alerts;
    s.alerts += static_cast<uint64_t>(drift_.Observe(h.p, label, now, &alerts));
    for (std::string& a : alerts) ctx.Emit(Out{Out::kAlert, std::move(a)});
  }

  void EmitWindow(DelayedLabelState& s, EventTime start, const BinaryMetrics& m,
                  ProcessContext<int, Out>& ctx) {
    ctx.Emit(Out{Out::kMetrics,
                 MetricsJson(m, start, start + options_->metrics_window_ms, s.window_versions[start])});
    std::vector<std::string> alerts;
    s.alerts += static_cast<uint64_t>(
        drift_.ObserveWindow(m, start, start + options_->metrics_window_ms, &alerts));
    for (std::string& a : alerts) ctx.Emit(Out{Out::kAlert, std::move(a)});
  }

  std::shared_ptr<const DelayedLabelOptions> options_;
  ValueState<int, ModelBox> model_;
  ValueState<int, DelayedLabelState> held_;
  DriftMonitor drift_;
  SparseVector x_;  // scratch
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_ONLINE_LEARNER_H_
