// A validated job: its operators, sources and sinks, ready to run.
//
// A JobGraph is a plan, not a running job (as in Arrow Acero): JobBuilder
// builds and validates it, the Executor (engine/executor.h) runs it. It is
// move-only; running consumes it.
#ifndef EDDY_ENGINE_JOB_GRAPH_H_
#define EDDY_ENGINE_JOB_GRAPH_H_

#include <map>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

#include "engine/node.h"
#include "engine/source_sink.h"

namespace eddy {

struct RunStats;  // engine/executor.h

class JobGraph {
 public:
  JobGraph(JobGraph&&) = default;
  JobGraph& operator=(JobGraph&&) = default;

  const std::string& name() const { return name_; }
  // All operators, in topological order (every node after its inputs).
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  const std::vector<SourceOperator*>& sources() const { return sources_; }
  const std::vector<SinkNodeBase*>& sinks() const { return sinks_; }

  // One line per operator: "kind name <- input, input".
  std::string Describe() const;

  // Called once a run has ended (replay: its inputs are done; live: it was
  // stopped and drained), in the order the job added them; may add fields
  // (name, raw JSON value) to the run's summary. An error fails the run.
  using FinishHook = std::function<absl::Status(const RunStats& stats,
                                                std::vector<std::pair<std::string, std::string>>* summary)>;
  const std::vector<FinishHook>& finish_hooks() const { return finish_hooks_; }

  // A live figure of the job for the metrics endpoint (`eddy run
  // --metrics-port`): model quality, open alerts. Labels besides the job's
  // name, which the endpoint adds.
  struct Metric {
    std::string name;  // Prometheus metric name, e.g. "eddy_model_logloss"
    std::string help;
    bool counter = false;  // else a gauge
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
  };
  // Appends the job's current figures. Called on the metrics server's
  // thread while the job runs, and after the graph is gone (a run restarted
  // in place is a new graph): must be thread-safe with respect to the
  // operators that update what it reads, and own what it reads (a
  // shared_ptr), not point into the graph. A name of the run's own
  // (engine/live_metrics.h) is not shown.
  using MetricsHook = std::function<void(std::vector<Metric>* out)>;
  const std::vector<MetricsHook>& metrics_hooks() const { return metrics_hooks_; }

  // Sinks written to a file of the job's choosing (JobBuilder::SinkToFile):
  // sink name -> path.
  const std::map<std::string, std::string>& sink_files() const { return sink_files_; }

 private:
  friend class JobBuilder;
  JobGraph() = default;

  std::string name_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<SourceOperator*> sources_;
  std::vector<SinkNodeBase*> sinks_;
  std::vector<FinishHook> finish_hooks_;
  std::vector<MetricsHook> metrics_hooks_;
  std::map<std::string, std::string> sink_files_;
};

}  // namespace eddy

#endif  // EDDY_ENGINE_JOB_GRAPH_H_
