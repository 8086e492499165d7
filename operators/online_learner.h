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
//     [example time, example time + attribution window], makes it positive:
//     the model learns from it at once;
//   - when the watermark passes example time + window with no label, the
//     example is negative: the model learns from it then;
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

#include <cstdint>
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
#include "operators/process_node.h"
#include "state/codec.h"

namespace eddy {

struct LearnerInput {
  enum Kind : uint8_t { kExample, kLabel };
  Kind kind = kExample;
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
      : job_(std::move(job)),
        kind_(kind),
        band_(calibration_band),
        episode_(cooldown),
        label_episode_(cooldown),
        calibration_episode_(cooldown) {}

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
        firing = page_hinkley_.Update(LogLoss(p, label));
        alert.detector = "page-hinkley";
        alert.metric = "logloss";
        alert.value = page_hinkley_.statistic();
        alert.threshold = drift::PageHinkleyOptions().threshold;
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

  // Prediction drift, once per metrics window [start, end) (positions as
  // in Observe): the window's calibration against the band. Windows with
  // fewer than 30 positives say too little and are skipped. Returns the
  // alerts raised.
  int ObserveCalibration(const BinaryMetrics& window, int64_t start, int64_t end,
                         std::vector<std::string>* alerts) {
    if (kind_ == Kind::kNone || window.positives() < 30) return 0;
    const double c = window.calibration();
    const bool firing = !(c >= 1 / band_ && c <= band_);
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

 private:
  static constexpr int64_t kRecent = 1000;

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
  drift::Adwin adwin_;
  drift::Ddm ddm_;
  drift::PageHinkley page_hinkley_;
  drift::Episode episode_;
  drift::Adwin label_adwin_;
  drift::Episode label_episode_;
  drift::Episode calibration_episode_;
  std::vector<uint8_t> recent_ = std::vector<uint8_t>(kRecent, 0);
  int64_t recent_errors_ = 0;
  int64_t count_ = 0;
};

// The model as keyed state: its codec is the model file. Shared, so that a
// job can keep a reference to the live model for the end of its run.
struct ModelBox {
  std::shared_ptr<Model> model;
};

template <>
struct Codec<ModelBox> {
  static constexpr bool kDefined = true;
  static void Encode(const ModelBox& box, std::string& out) {
    EncodeTo(box.model == nullptr ? std::string() : box.model->Serialize(), out);
  }
  static bool Decode(absl::string_view& in, ModelBox& box) {
    std::string bytes;
    if (!DecodeFrom(in, bytes)) return false;
    if (bytes.empty()) {
      box.model.reset();
      return true;
    }
    absl::StatusOr<std::unique_ptr<Model>> m = ParseModel(bytes);
    if (!m.ok()) return false;
    box.model = *std::move(m);
    return true;
  }
};

// What the learner holds between an example and its label.
struct HeldExample {
  EventTime ts = 0;
  std::vector<uint32_t> index;
  std::vector<float> value;
  float weight = 1;
  double p = 0;
  uint64_t version = 0;
  bool labeled = false;  // positive already learned; kept to drop duplicate labels
};

struct DelayedLabelState {
  std::map<std::string, HeldExample> examples;
  std::map<std::pair<EventTime, std::string>, bool> expiry;  // (ts + window, id)
  std::map<std::string, EventTime> labels;                  // held labels: id -> time
  std::map<std::pair<EventTime, std::string>, bool> label_expiry;
  std::map<EventTime, BinaryMetrics> windows;               // by window start
  uint64_t duplicate_labels = 0;
};

}  // namespace eddy

EDDY_CODEC(eddy::HeldExample, ts, index, value, weight, p, version, labeled);
EDDY_CODEC(eddy::DelayedLabelState, examples, expiry, labels, label_expiry, windows,
           duplicate_labels);

namespace eddy {

struct DelayedLabelOptions {
  ModelKind kind = ModelKind::kFtrl;
  ModelOptions model;
  std::string model_in;           // a model file's bytes to start from (checked by the caller)
  int64_t attribution_ms = 30 * 60 * 1000;
  int64_t label_wait_ms = 60 * 1000;
  int64_t metrics_window_ms = 60 * 60 * 1000;
  DriftMonitor::Kind drift = DriftMonitor::Kind::kNone;
  int64_t drift_cooldown_ms = 60 * 60 * 1000;
  std::string job = "learn";
};

class DelayedLabelLearner {
 public:
  using Out = LearnerOutput;

  explicit DelayedLabelLearner(std::shared_ptr<const DelayedLabelOptions> options)
      : options_(std::move(options)),
        drift_(options_->job, options_->drift, options_->drift_cooldown_ms) {}

  void Open(KeyedStateStore<int>& state) {
    model_ = state.Value<ModelBox>("model");
    held_ = state.Value<DelayedLabelState>("held");
  }

  void ProcessElement(const LearnerInput& in, ProcessContext<int, Out>& ctx) {
    Model* model = GetModel();
    DelayedLabelState& s = held_.GetOrCreate();
    const EventTime ts = ctx.timestamp();
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
      w.Field("id", in.id).Field("ts", ts).Field("p", p).Field(
          "model_version", static_cast<int64_t>(h.version));
      if (!in.extra.empty()) {
        json.push_back(',');
        json.append(in.extra);
      }
      w.Close();
      ctx.Emit(Out{Out::kPrediction, std::move(json)});
      const EventTime expiry = ts + options_->attribution_ms;
      s.expiry[{expiry, in.id}] = true;
      ctx.RegisterTimer(expiry);
      // A label that came first.
      auto label = s.labels.find(in.id);
      if (label != s.labels.end()) {
        const EventTime label_ts = label->second;
        s.label_expiry.erase({label_ts + options_->label_wait_ms, in.id});
        s.labels.erase(label);
        if (label_ts >= ts && label_ts <= expiry) {
          Learn(*model, s, in.id, h, 1.0f, ts, ctx);
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
    Learn(*model, s, in.id, h, 1.0f, ts, ctx);
  }

  void OnTimer(EventTime t, ProcessContext<int, Out>& ctx) {
    DelayedLabelState* s = held_.Mutable();
    if (s == nullptr) return;
    Model* model = GetModel();
    // Examples whose window closed: negatives (positives were learned).
    while (!s->expiry.empty() && s->expiry.begin()->first.first <= t) {
      const std::string id = s->expiry.begin()->first.second;
      s->expiry.erase(s->expiry.begin());
      auto it = s->examples.find(id);
      if (it == s->examples.end()) continue;
      if (!it->second.labeled) Learn(*model, *s, id, it->second, 0.0f, t, ctx);
      s->examples.erase(it);
    }
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
    while (!s->windows.empty() &&
           s->windows.begin()->first + options_->metrics_window_ms - 1 + options_->attribution_ms <= t) {
      EmitWindow(s->windows.begin()->first, s->windows.begin()->second, *model, ctx);
      s->windows.erase(s->windows.begin());
    }
  }

 private:
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
      ctx.RegisterTimer(start + options_->metrics_window_ms - 1 + options_->attribution_ms);
    }
    w.Add(h.p, label, h.weight);
    std::string json;
    JsonObjectWriter j(json);
    j.Field("id", id)
        .Field("ts", h.ts)
        .Field("label", static_cast<int64_t>(label))
        .Field("p", h.p)
        .Field("model_version", static_cast<int64_t>(h.version))
        .Field("learned_at", now);
    j.Close();
    ctx.Emit(Out{Out::kLabeled, std::move(json)});
    std::vector<std::string> alerts;
    drift_.Observe(h.p, label, now, &alerts);
    for (std::string& a : alerts) ctx.Emit(Out{Out::kAlert, std::move(a)});
  }

  void EmitWindow(EventTime start, const BinaryMetrics& m, const Model& model,
                  ProcessContext<int, Out>& ctx) {
    ctx.Emit(Out{Out::kMetrics,
                 MetricsJson(m, start, start + options_->metrics_window_ms, model.version())});
    std::vector<std::string> alerts;
    drift_.ObserveCalibration(m, start, start + options_->metrics_window_ms, &alerts);
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
