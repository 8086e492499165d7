#include "engine/job_builder.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace eddy {
namespace {

bool ValidJobName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Outputs the executor writes besides the job's sinks.
constexpr absl::string_view kReservedOutputs[] = {"dead_letters", "late_events", "summary"};

}  // namespace

absl::StatusOr<JobGraph> JobBuilder::Build() && {
  std::vector<std::string> problems = errors_;
  if (built_) problems.push_back("Build() was already called on this builder");
  if (!ValidJobName(name_)) {
    problems.push_back(absl::StrCat("job name '", name_,
                                    "' must be non-empty letters, digits, '_', '-' or '.'"));
  }
  for (const std::string& s : sources_without_time_) {
    problems.push_back(absl::StrCat("source '", s, "' has no event time: call WithEventTime"));
  }
  if (sources_.empty() && sources_without_time_.empty()) problems.push_back("the job has no source");
  if (sinks_.empty()) problems.push_back("the job has no sink: nothing would be written");

  absl::flat_hash_set<std::string> names;
  for (const auto& node : nodes_) {
    if (!names.insert(node->name()).second) {
      problems.push_back(absl::StrCat("duplicate operator name '", node->name(), "'"));
    }
    if (node->kind() != NodeKind::kSink && node->consumers() == 0) {
      problems.push_back(absl::StrCat("the output of ", NodeKindName(node->kind()), " '",
                                      node->name(),
                                      "' is not connected: send it to an operator or a sink"));
    }
  }
  for (SinkNodeBase* sink : sinks_) {
    for (absl::string_view reserved : kReservedOutputs) {
      if (sink->name() == reserved) {
        problems.push_back(absl::StrCat("sink name '", sink->name(),
                                        "' is reserved for the engine's own output"));
      }
    }
  }
  built_ = true;
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("job '", name_, "' is invalid: ", absl::StrJoin(problems, "; ")));
  }
  JobGraph graph;
  graph.name_ = name_;
  graph.nodes_ = std::move(nodes_);
  graph.sources_ = std::move(sources_);
  graph.sinks_ = std::move(sinks_);
  graph.finish_hooks_ = std::move(finish_hooks_);
  graph.metrics_hooks_ = std::move(metrics_hooks_);
  graph.sink_files_ = std::move(sink_files_);
  return graph;
}

}  // namespace eddy
