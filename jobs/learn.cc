// `learn`: online learning over example files (or a Kafka topic of example
// lines), in the style of Vowpal Wabbit: each example is scored, then the
// model learns from it (progressive validation), one pass, in input order.
//
//   eddy replay learn --input train.vw --format vw --output-dir out
//   eddy replay learn --input day.tsv --format criteo --model fm --output-dir out
//   eddy replay learn --input sea.csv --format csv --label class --numeric '*'
//       --drift adwin --output-dir out
//
// Input: one example per line in the --format given (connectors/
// example_formats.h: vw, criteo, csv). Lines that do not parse go to dead
// letters with the reason. The files carry no time: an example's position
// (0, 1, 2, ... in input order) stands for its time in metrics and alerts.
//
// Outputs (files in replay; topics learn.<name> with eddy run):
//   predictions  {"example":n,"tag":"...","p":0.031,"label":0,"model_version":n}
//                each example's score from before it was learned from
//                (off with --param predictions=false)
//   metrics      every --metrics-every examples (default 10000) and at the
//                end: {"window_start","window_end","examples","positives",
//                "logloss","auc","calibration","accuracy","model_version"}
//   alerts       with --drift: drift alerts and their resolutions
//                (operators/drift.h's JSON), one alert per episode, from the
//                chosen detector on the model's error (adwin, ddm; only a
//                rise alerts) or logloss (page-hinkley), from ADWIN on the
//                rate of positive labels (metric "positive_rate"), and a
//                prediction drift alert (detector "calibration") for a
//                metrics window whose mean score / observed rate is outside
//                [0.8, 1.25], and data drift per field (operators/
//                field_drift.h: PSI, and KS for numeric fields, of each
//                window of drift_window examples against the first
//                drift_reference, 10000 each by default)
// summary.json gets: examples, positives, logloss, auc, calibration,
// accuracy, examples_per_second, alerts, model, model_version.
//
// The model (operators/learners.h) is keyed state of a single key, so it is
// part of every checkpoint (--state-dir) and a resumed run continues it;
// --model-in warm-starts from a model file, --model-out writes one at the
// end. Hyperparameters: --param alpha=, beta=, l1=, l2= (FTRL),
// learning_rate=, fm_learning_rate=, factors= (FM).
#include <algorithm>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/example_formats.h"
#include "connectors/file_sink.h"
#include "engine/executor.h"
#include "engine/job_builder.h"
#include "engine/job_registry.h"
#include "engine/json_writer.h"
#include "engine/status_macros.h"
#include "operators/drift.h"
#include "operators/evaluation.h"
#include "operators/field_drift.h"
#include "operators/example.h"
#include "operators/learners.h"
#include "operators/online_learner.h"

namespace eddy {

namespace learn {

// The learner's progress, keyed state beside the model: a resumed run goes
// on counting where the checkpoint left it.
struct Progress {
  int64_t examples = 0;
  int64_t window_start = 0;
  BinaryMetrics window, total;
  uint64_t alerts = 0;
};

}  // namespace learn
}  // namespace eddy

EDDY_CODEC(eddy::learn::Progress, examples, window_start, window, total, alerts);

namespace eddy {
namespace learn {
namespace {

struct Settings {
  ModelKind kind = ModelKind::kFtrl;
  ModelOptions model;
  std::string model_in_bytes;  // --model-in's file, read when the job is built
  std::string model_out;
  DriftMonitor::Kind drift = DriftMonitor::Kind::kNone;
  int64_t drift_cooldown = 1000;  // examples without a detection that close an episode
  int64_t metrics_every = 10000;
  bool predictions = true;
  FieldDrift::Options field_drift;  // with --drift
  std::shared_ptr<const ExampleParser> parser;  // names the fields
};

// What the run's end (summary, --model-out) needs from the learner.
struct RunState {
  std::mutex mu;
  BinaryMetrics total;
  uint64_t alerts = 0;
  std::string final_model;  // serialized at the end of input
  uint64_t model_version = 0;
  // The model being learned (a live run's input does not end: --model-out
  // writes this one when the run stops).
  std::shared_ptr<const Model> latest;
};

struct Out {
  enum Kind : uint8_t { kPrediction, kMetrics, kAlert } kind = kPrediction;
  std::string json;
};

class Learner {
 public:
  using Out = learn::Out;

  Learner(std::shared_ptr<const Settings> settings, std::shared_ptr<RunState> run)
      : settings_(std::move(settings)), run_(std::move(run)) {}

  void Open(KeyedStateStore<int>& state) {
    model_ = state.Value<ModelBox>("model");
    progress_ = state.Value<Progress>("progress");
  }

  void ProcessElement(const Example& ex, ProcessContext<int, Out>& ctx) {
    if (ex.header) return;
    Model* model = GetModel(ctx);
    Progress& progress = progress_.GetOrCreate();
    const uint64_t version = model->version();  // the model that scored it
    const double p = model->PredictThenLearn(ex.x, ex.label, ex.weight);
    const int64_t n = progress.examples++;
    progress.window.Add(p, ex.label, ex.weight);
    progress.total.Add(p, ex.label, ex.weight);
    if (settings_->predictions) {
      std::string json;
      JsonObjectWriter w(json);
      w.Field("example", n);
      if (!ex.tag.empty()) w.Field("tag", ex.tag);
      w.Field("p", p).Field("label", static_cast<int64_t>(ex.label)).Field(
          "model_version", static_cast<int64_t>(version));
      w.Close();
      ctx.Emit(Out{Out::kPrediction, std::move(json)});
    }
    progress.alerts += Drift(p, ex.label, n, ctx);
    if (field_drift_.has_value()) {
      alerts_scratch_.clear();
      const uint64_t before = field_drift_->raised();
      field_drift_->Add(
          ex.fields, n, [this](uint32_t f) { return settings_->parser->FieldName(f); },
          &alerts_scratch_);
      for (std::string& a : alerts_scratch_) ctx.Emit(Out{Out::kAlert, std::move(a)});
      progress.alerts += field_drift_->raised() - before;
    }
    if (progress.examples - progress.window_start >= settings_->metrics_every) {
      EmitMetrics(*model, progress, ctx);
    }
  }

  // End of input (the watermark reaches the end of time): the last metrics
  // window, and the model and totals for the run's end.
  void OnTimer(EventTime, ProcessContext<int, Out>& ctx) {
    Model* model = GetModel(ctx);
    Progress& progress = progress_.GetOrCreate();
    if (progress.examples > progress.window_start) EmitMetrics(*model, progress, ctx);
    std::lock_guard<std::mutex> lock(run_->mu);
    run_->total.Merge(progress.total);
    run_->alerts += progress.alerts;
    run_->model_version = model->version();
    if (!settings_->model_out.empty()) run_->final_model = model->Serialize();
  }

 private:
  Model* GetModel(ProcessContext<int, Out>& ctx) {
    ModelBox* box = model_.Mutable();
    if (box == nullptr || box->model == nullptr) {
      ModelBox fresh;
      if (!settings_->model_in_bytes.empty()) {
        fresh.model = *ParseModel(settings_->model_in_bytes);  // checked when built
      } else {
        fresh.model = *MakeModel(settings_->kind, settings_->model);  // checked when built
      }
      model_.Set(std::move(fresh));
      box = model_.Mutable();
      // Fires when the input ends (replay's watermark reaches the end of time).
      ctx.RegisterTimer(kMaxEventTime);
    }
    if (box->model.get() != published_) {  // new, or read back from the state store
      published_ = box->model.get();
      std::lock_guard<std::mutex> lock(run_->mu);
      run_->latest = box->model;
    }
    return box->model.get();
  }

  void EmitMetrics(const Model& model, Progress& progress, ProcessContext<int, Out>& ctx) {
    ctx.Emit(Out{Out::kMetrics, MetricsJson(progress.window, progress.window_start,
                                            progress.examples, model.version())});
    alerts_scratch_.clear();
    progress.alerts += static_cast<uint64_t>(drift_.ObserveWindow(
        progress.window, progress.window_start, progress.examples, &alerts_scratch_));
    for (std::string& a : alerts_scratch_) ctx.Emit(Out{Out::kAlert, std::move(a)});
    progress.window = BinaryMetrics();
    progress.window_start = progress.examples;
  }

  // Drift alerts (operators/online_learner.h's DriftMonitor), by example
  // number.
  // Returns the alerts raised. (The detectors' own state, and the field
  // drift's reference, are not in checkpoints: after a resume they start
  // again.)
  uint64_t Drift(double p, float label, int64_t n, ProcessContext<int, Out>& ctx) {
    alerts_scratch_.clear();
    const int raised = drift_.Observe(p, label, n, &alerts_scratch_);
    for (std::string& a : alerts_scratch_) ctx.Emit(Out{Out::kAlert, std::move(a)});
    return static_cast<uint64_t>(raised);
  }

  std::shared_ptr<const Settings> settings_;
  std::shared_ptr<RunState> run_;
  ValueState<int, ModelBox> model_;
  ValueState<int, Progress> progress_;
  const Model* published_ = nullptr;  // what run_->latest holds
  DriftMonitor drift_{"learn", settings_->drift, settings_->drift_cooldown};
  std::optional<FieldDrift> field_drift_ =
      settings_->drift == DriftMonitor::Kind::kNone
          ? std::nullopt
          : std::optional<FieldDrift>(FieldDrift("learn", settings_->field_drift));
  std::vector<std::string> alerts_scratch_;
};

absl::StatusOr<std::vector<std::string>> SplitList(const std::string& s) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipEmpty())) out.emplace_back(part);
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read model file ", path));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

absl::StatusOr<JobGraph> BuildLearn(const JobConfig& config) {
  auto settings = std::make_shared<Settings>();
  ExampleFormatOptions format;
  format.format = config.GetString("format", "");
  if (format.format.empty()) {
    // `eddy describe learn` builds the job without parameters: show the vw form.
    if (!config.params().empty()) {
      return absl::InvalidArgumentError("learn: --format vw|criteo|csv is required");
    }
    format.format = "vw";
  }
  EDDY_ASSIGN_OR_RETURN(int64_t bits, config.GetInt("bits", 18));
  if (bits < 1 || bits > 28) return absl::InvalidArgumentError("learn: --bits must be 1..28");
  format.bits = static_cast<int>(bits);
  format.label_column = config.GetString("label", "");
  format.positive = config.GetString("positive", "");
  format.id_column = config.GetString("id", "");
  format.header = config.GetString("header", "");
  EDDY_ASSIGN_OR_RETURN(format.numeric_columns, SplitList(config.GetString("numeric", "")));
  format.fields = !config.GetString("drift", "").empty();
  EDDY_ASSIGN_OR_RETURN(std::unique_ptr<ExampleParser> parser_owned, ExampleParser::Make(format));
  std::shared_ptr<const ExampleParser> parser(std::move(parser_owned));
  settings->parser = parser;

  EDDY_ASSIGN_OR_RETURN(settings->kind, ParseModelKind(config.GetString("model", "ftrl")));
  ModelOptions& m = settings->model;
  m.bits = format.bits;
  EDDY_ASSIGN_OR_RETURN(m.alpha, config.GetDouble("alpha", m.alpha));
  EDDY_ASSIGN_OR_RETURN(m.beta, config.GetDouble("beta", m.beta));
  EDDY_ASSIGN_OR_RETURN(m.l1, config.GetDouble("l1", m.l1));
  EDDY_ASSIGN_OR_RETURN(m.l2, config.GetDouble("l2", m.l2));
  EDDY_ASSIGN_OR_RETURN(m.learning_rate, config.GetDouble("learning_rate", m.learning_rate));
  EDDY_ASSIGN_OR_RETURN(m.fm_learning_rate, config.GetDouble("fm_learning_rate", m.fm_learning_rate));
  EDDY_ASSIGN_OR_RETURN(int64_t factors, config.GetInt("factors", m.factors));
  m.factors = static_cast<int>(std::clamp<int64_t>(factors, -1, 1 << 20));
  {
    absl::StatusOr<std::unique_ptr<Model>> check = MakeModel(settings->kind, m);
    if (!check.ok()) return absl::InvalidArgumentError(absl::StrCat("learn: ", check.status().message()));
  }
  std::string model_name = ModelKindName(settings->kind);
  const std::string model_in = config.GetString("model-in", "");
  if (!model_in.empty()) {
    EDDY_ASSIGN_OR_RETURN(settings->model_in_bytes, ReadFile(model_in));
    absl::StatusOr<std::unique_ptr<Model>> check = ParseModel(settings->model_in_bytes);
    if (!check.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--model-in ", model_in, ": ", check.status().message()));
    }
    if ((*check)->options().bits != format.bits) {
      return absl::InvalidArgumentError(absl::StrCat("--model-in ", model_in, " has ",
                                                     (*check)->options().bits, " bits; --bits is ",
                                                     format.bits, " (give the same)"));
    }
    model_name = ModelKindName((*check)->kind());  // the model read, whatever --model says
  }
  settings->model_out = config.GetString("model-out", "");
  const std::string drift = config.GetString("drift", "");
  const std::optional<DriftMonitor::Kind> drift_kind = DriftMonitor::ParseKind(drift);
  if (!drift_kind.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("learn: unknown --drift '", drift, "' (expected adwin, page-hinkley or ddm)"));
  }
  settings->drift = *drift_kind;
  EDDY_ASSIGN_OR_RETURN(settings->drift_cooldown, config.GetInt("drift_cooldown", 1000));
  EDDY_ASSIGN_OR_RETURN(settings->metrics_every, config.GetInt("metrics-every", 10000));
  EDDY_ASSIGN_OR_RETURN(settings->field_drift.reference,
                        config.GetInt("drift_reference", settings->field_drift.reference));
  EDDY_ASSIGN_OR_RETURN(settings->field_drift.window,
                        config.GetInt("drift_window", settings->field_drift.window));
  if (settings->metrics_every < 1 || settings->drift_cooldown < 1 ||
      settings->field_drift.reference < 1 || settings->field_drift.window < 1) {
    return absl::InvalidArgumentError(
        "learn: --metrics-every, drift_cooldown, drift_reference and drift_window must be >= 1");
  }
  const std::string predictions = config.GetString("predictions", "true");
  if (predictions != "true" && predictions != "false") {
    return absl::InvalidArgumentError("learn: --param predictions must be true or false");
  }
  settings->predictions = predictions == "true";

  auto run = std::make_shared<RunState>();
  JobBuilder job("learn");
  auto out = job.Source<Example>("examples",
                                 [parser](absl::string_view line) -> absl::StatusOr<Example> {
                                   Example ex;
                                   absl::Status s = parser->Parse(line, &ex);
                                   if (!s.ok()) return s;
                                   return ex;
                                 })
                 // No time in the files: input order is the order.
                 .WithEventTime([](const Example&) { return EventTime{0}; }, absl::ZeroDuration())
                 .KeyBy("one_model", [](const Example&) { return 0; })
                 .Process("learner", Learner(settings, run));
  out.Filter("prediction_records", [](const Out& o) { return o.kind == Out::kPrediction; })
      .Sink("predictions", [](const Out& o, std::string& line) { line.append(o.json); });
  out.Filter("metric_records", [](const Out& o) { return o.kind == Out::kMetrics; })
      .Sink("metrics", [](const Out& o, std::string& line) { line.append(o.json); });
  out.Filter("alert_records", [](const Out& o) { return o.kind == Out::kAlert; })
      .Sink("alerts", [](const Out& o, std::string& line) { line.append(o.json); });

  job.OnFinish([run, settings, model_name](
                   const RunStats& stats,
                   std::vector<std::pair<std::string, std::string>>* summary) -> absl::Status {
    std::lock_guard<std::mutex> lock(run->mu);
    // A live run's input never ends: its figures are in the metrics stream.
    const bool input_ended = stats.final_watermark == kMaxEventTime;
    if (!input_ended && settings->model_out.empty()) return absl::OkStatus();
    if (!settings->model_out.empty()) {
      // A stopped live run: the model as it stands (every thread is done).
      if (run->final_model.empty() && run->latest != nullptr) {
        run->final_model = run->latest->Serialize();
      }
      if (run->final_model.empty()) {
        return absl::FailedPreconditionError("--model-out: no example was learned from");
      }
      // Whole or not at all: a crash mid-write leaves the old file.
      absl::Status written = WriteFileAtomically(settings->model_out, run->final_model);
      if (!written.ok()) {
        return absl::InternalError(absl::StrCat("cannot write --model-out: ", written.message()));
      }
      if (!input_ended) return absl::OkStatus();
    }
    auto number = [](double v) {
      std::string s;
      AppendJsonDouble(s, v);
      return s;
    };
    // Counts (sums of example weights) as integers when they are.
    auto count = [&](double v) {
      return v == std::floor(v) && std::fabs(v) < 9e15 ? absl::StrCat(static_cast<int64_t>(v))
                                                       : number(v);
    };
    const BinaryMetrics& t = run->total;
    summary->emplace_back("model", absl::StrCat("\"", model_name, "\""));
    summary->emplace_back("examples", count(t.count()));
    summary->emplace_back("positives", count(t.positives()));
    summary->emplace_back("logloss", number(t.logloss()));
    summary->emplace_back("auc", number(t.auc()));
    summary->emplace_back("calibration", number(t.calibration()));
    summary->emplace_back("accuracy", number(t.accuracy()));
    summary->emplace_back("examples_per_second",
                          number(stats.wall_seconds > 0 ? t.count() / stats.wall_seconds : 0.0));
    summary->emplace_back("alerts", absl::StrCat(run->alerts));
    summary->emplace_back("model_version", absl::StrCat(run->model_version));
    return absl::OkStatus();
  });
  return std::move(job).Build();
}

}  // namespace
}  // namespace learn

EDDY_REGISTER_JOB_WITH_FLAGS(
    "learn", "Online learning (FTRL, SGD or FM) over VW, Criteo or CSV examples, with drift alerts",
    learn::BuildLearn,
    {{"format", FlagDef::kValue, "vw, criteo or csv (required)"},
     {"label", FlagDef::kValue, "csv: the label column"},
     {"positive", FlagDef::kValue, "csv: the label value that is positive (default: a number > 0)"},
     {"numeric", FlagDef::kValue, "csv: columns read as numbers, comma-separated, or '*'"},
     {"id", FlagDef::kValue, "csv: an id column, copied to predictions"},
     {"header", FlagDef::kValue,
      "csv: the column names (a,b,c) when the file has no header line, or to parse with "
      "--threads > 1 or resume mid-file; otherwise the first line is the header"},
     {"model", FlagDef::kValue, "ftrl (default), sgd or fm"},
     {"bits", FlagDef::kValue, "2^bits weights (default 18)"},
     {"drift", FlagDef::kValue,
      "adwin, page-hinkley or ddm on the model's error; with it, also the positive rate, "
      "calibration and each field's distribution (PSI, KS)"},
     {"model-in", FlagDef::kValue, "warm-start from this model file"},
     {"model-out", FlagDef::kValue, "write the model to this file at the end"},
     {"metrics-every", FlagDef::kValue, "examples per metrics window (default 10000)"}});

}  // namespace eddy
