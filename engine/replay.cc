#include "engine/replay.h"

#include <algorithm>
#include <optional>
#include <filesystem>
#include <set>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/file_sink.h"
#include "connectors/file_source.h"
#include "engine/job_registry.h"
#include "engine/json_writer.h"
#include "engine/status_macros.h"
#include "state/state_directory.h"

namespace eddy {
namespace {

// Expands a path into the files it stands for.
absl::StatusOr<std::vector<std::string>> ExpandInput(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.is_regular_file()) files.push_back(entry.path().string());
    }
    if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot list ", path, ": ", ec.message()));
    std::sort(files.begin(), files.end());
    if (files.empty()) return absl::InvalidArgumentError(absl::StrCat("input directory ", path, " is empty"));
    return files;
  }
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat("input ", path, " does not exist"));
  }
  return std::vector<std::string>{path};
}

// Where a finished run's checkpoint keeps its summary.
constexpr char kSummaryKey[] = "eddy.summary";

}  // namespace

absl::StatusOr<RunStats> RunReplay(const ReplayOptions& options) {
  const JobInfo* info = JobRegistry::Global().Find(options.job);
  if (info == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown job '", options.job, "' (see: eddy jobs)"));
  }
  if (options.inputs.empty()) return absl::InvalidArgumentError("no --input given");
  if (options.output_dir.empty()) return absl::InvalidArgumentError("no --output-dir given");
  if (options.threads < 1 || options.threads > 256) {
    return absl::InvalidArgumentError("--threads must be between 1 and 256");
  }

  EDDY_ASSIGN_OR_RETURN(JobGraph graph, info->factory(JobConfig(options.params)));
  std::set<std::string> source_names;
  for (SourceOperator* s : graph.sources()) source_names.insert(s->node()->name());

  Executor::Inputs inputs;
  std::vector<std::string> input_files;
  for (const std::string& spec : options.inputs) {
    std::string source;
    std::string path = spec;
    const size_t eq = spec.find('=');
    if (eq != std::string::npos && source_names.count(spec.substr(0, eq)) > 0) {
      source = spec.substr(0, eq);
      path = spec.substr(eq + 1);
    } else if (source_names.size() == 1) {
      source = *source_names.begin();
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "job '", options.job, "' has several sources; write --input SOURCE=PATH"));
    }
    EDDY_ASSIGN_OR_RETURN(std::vector<std::string> files, ExpandInput(path));
    for (const std::string& file : files) {
      EDDY_ASSIGN_OR_RETURN(auto part, FileInputPartition::Open(file, options.max_record_bytes));
      inputs[source].push_back(std::move(part));
      input_files.push_back(file);
    }
  }

  std::unique_ptr<StateDirectory> state;
  if (!options.state_dir.empty()) {
    StateDirectory::Options so;
    so.path = options.state_dir;
    so.job = options.job;
    so.memory_budget_bytes = options.state_memory_bytes;
    EDDY_ASSIGN_OR_RETURN(state, StateDirectory::Open(so));
  }
  EDDY_RETURN_IF_ERROR(EnsureDirectory(options.output_dir));
  // Outputs must not be read back as inputs (or truncated while being read).
  std::error_code ec;
  const auto out_dir = std::filesystem::weakly_canonical(options.output_dir, ec);
  for (const std::string& file : input_files) {
    if (std::filesystem::weakly_canonical(file, ec).parent_path() == out_dir) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--output-dir ", options.output_dir, " holds the input ", file, "; use another directory"));
    }
  }
  // A sink sent to a file of its own: not onto an input, nor onto another
  // output of the run; not gzip when the run can resume (a resumed output
  // is cut back to a byte offset).
  std::vector<std::string> taken = {"dead_letters.jsonl", "late_events.jsonl", "summary.json",
                                    "throughput.jsonl", "report.html"};
  for (SinkNodeBase* s : graph.sinks()) {
    if (graph.sink_files().count(s->name()) == 0) taken.push_back(s->name() + ".jsonl");
  }
  for (const auto& [sink, path] : graph.sink_files()) {
    const auto target = std::filesystem::weakly_canonical(path, ec);
    if (ec || target.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("sink '", sink, "': bad file name ", path));
    }
    for (const std::string& file : input_files) {
      if (std::filesystem::weakly_canonical(file, ec) == target) {
        return absl::InvalidArgumentError(
            absl::StrCat("sink '", sink, "' would overwrite the input ", file));
      }
    }
    for (const std::string& name : taken) {
      if (target == out_dir / name) {
        return absl::InvalidArgumentError(
            absl::StrCat("sink '", sink, "' would overwrite the run's ", name, " in --output-dir"));
      }
    }
    if (!options.state_dir.empty() && absl::EndsWith(path, ".gz")) {
      return absl::InvalidArgumentError(
          absl::StrCat("sink '", sink, "': a .gz file cannot be resumed; with --state-dir give a plain file"));
    }
  }
  DirectoryOutputFactory outputs(options.output_dir, graph.sink_files());
  RunOptions run;
  run.threads = options.threads;
  run.batch_size = options.batch_size;
  run.clock = RunOptions::Clock::kReplay;
  run.state = state.get();
  run.fingerprint = RunFingerprint(options.params, options.max_record_bytes);
  run.checkpoint_every_records = options.checkpoint_every_records;
  run.checkpoint_interval = absl::Milliseconds(options.checkpoint_interval_ms);
  run.progress = options.progress;
  // The run's end: the job's hooks (its figures, --model-out) run before
  // the last checkpoint commits, which stores the summary; summary.json is
  // written after. A crash before the commit resumes from the checkpoint
  // before and does it all again; a run resumed from after the input ended
  // (killed between the commit and the summary, or run again) writes the
  // stored summary. So a summary.json is always a finished run's.
  const std::vector<JobGraph::FinishHook> hooks = graph.finish_hooks();
  std::optional<std::string> summary;
  run.at_input_end = [&](const RunStats& stats, StateDirectory::Batch* batch) -> absl::Status {
    std::string json;
    if (stats.ended_before) {
      EDDY_ASSIGN_OR_RETURN(std::optional<std::string> stored, state->GetMeta(kSummaryKey));
      if (!stored.has_value()) {
        return absl::DataLossError(absl::StrCat("--state-dir ", options.state_dir,
                                                " holds a finished run without its summary"));
      }
      json = std::move(*stored);
    } else {
      std::vector<std::pair<std::string, std::string>> job_fields;
      for (const JobGraph::FinishHook& hook : hooks) EDDY_RETURN_IF_ERROR(hook(stats, &job_fields));
      json = SummaryJson(options.job, options, stats, job_fields);
    }
    if (batch != nullptr) batch->PutMeta(kSummaryKey, json);
    summary = std::move(json);
    return absl::OkStatus();
  };
  EDDY_ASSIGN_OR_RETURN(RunStats stats,
                        Executor::Run(std::move(graph), std::move(inputs), outputs, run));
  if (!summary.has_value()) return absl::InternalError("the replay ended before its input did");
  EDDY_RETURN_IF_ERROR(WriteFileAtomically(options.output_dir + "/summary.json", *summary + "\n"));
  return stats;
}

std::string SummaryJson(const std::string& job, const ReplayOptions& options,
                        const RunStats& stats,
                        const std::vector<std::pair<std::string, std::string>>& job_fields) {
  const auto counts = [](const auto& pairs) {
    std::string obj;
    JsonObjectWriter w(obj);
    for (const auto& [name, n] : pairs) w.Field(name, static_cast<int64_t>(n));
    w.Close();
    return obj;
  };
  std::string out;
  JsonObjectWriter w(out);
  w.Field("job", job)
      .Field("events", static_cast<int64_t>(stats.events))
      .Field("dead_letters", static_cast<int64_t>(stats.dead_letters))
      .Field("late_events", static_cast<int64_t>(stats.late_events))
      .Field("wall_seconds", stats.wall_seconds)
      .Field("events_per_second",
             stats.wall_seconds > 0 ? static_cast<double>(stats.events) / stats.wall_seconds : 0.0)
      .Field("threads", options.threads)
      .Field("batch_size", static_cast<int64_t>(options.batch_size))
      .Field("batches", static_cast<int64_t>(stats.batches))
      .Field("final_watermark", stats.final_watermark)
      .Field("checkpoints", static_cast<int64_t>(stats.checkpoints))
      .Field("resumed", stats.resumed)
      .RawField("sinks", counts(stats.sink_records))
      .RawField("operators", counts(stats.operator_records))
      .RawField("dead_letter_reasons", counts(stats.dead_letter_reasons));
  for (const auto& [name, json] : job_fields) w.RawField(name, json);
  w.Close();
  return out;
}

}  // namespace eddy
