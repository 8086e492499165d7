// `eddy run`: running a registered job on Kafka until told to stop.
//
// Topics: a job's source NAME reads topic "<job>.NAME"; its sink NAME writes
// "<job>.NAME"; dead letters go to "<job>.dlq" and late records to
// "<job>.late". `topics` overrides any of them by output or source name
// (e.g. {"events", "prod.ctr.events"}, {"dead_letters", "ops.dlq"}). Every
// topic must exist.
//
// The run is a consumer-group member: more processes with the same job and
// group share the input partitions. Keyed state and checkpoints live in
// `state_dir` (RocksDB); a checkpoint is taken every `checkpoint_interval_ms`
// (or `checkpoint_every_records`), and the consumed positions are then
// mirrored to the group's committed offsets. On stop (SIGTERM/SIGINT in the
// CLI) the current batch finishes, a final checkpoint is taken, offsets are
// committed, and the run returns; a restart resumes from there.
//
// A job with KeyBy sends its re-keyed records through a repartition topic per
// KeyBy and writes the keyed state behind it to a changelog topic, so that
// processes can share it: the owner of a repartition partition owns its key
// groups' state, and a process that takes a partition over rebuilds that
// state from the changelog (connectors/kafka_exchange.h). When ownership
// moves, the run checkpoints and restarts in place with the new partitions.
#ifndef EDDY_ENGINE_LIVE_H_
#define EDDY_ENGINE_LIVE_H_

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/kafka_config.h"
#include "engine/executor.h"
#include "engine/job_graph.h"

namespace eddy {

struct LiveOptions {
  std::string job;
  std::map<std::string, std::string> params;
  KafkaOptions kafka;
  std::string group;      // default "eddy.<job>"
  std::map<std::string, std::string> topics;  // overrides, see above
  std::string state_dir;  // default "eddy-state/<group>"
  int threads = 1;
  size_t batch_size = 4096;
  size_t max_record_bytes = 1 << 20;
  uint64_t checkpoint_every_records = 1000000;
  int64_t checkpoint_interval_ms = 5000;
  size_t state_memory_bytes = size_t{256} << 20;
  // Records fetched and not yet read, per input partition: past it the
  // partition is paused until half of it is read (backpressure: a slow or
  // stalled output stops consumption instead of growing memory).
  size_t input_buffer_bytes = size_t{8} << 20;
  // Stops the run when it turns true. Not owned.
  const std::atomic<bool>* stop = nullptr;
  // Outputs exactly once (see connectors/kafka_sink.h): held back until the
  // checkpoint that covers them, then published and verified after a crash.
  bool exactly_once = false;
  // If set, serves Prometheus metrics and a health check on this address
  // ("PORT" or "HOST:PORT"; engine/live_metrics.h lists the metrics).
  std::string metrics_address;
  // A status line on stderr every this many ms; 0: none.
  int64_t status_interval_ms = 5000;
  // Called after every batch (benchmarks, embedding programs).
  std::function<void(const RunStats&)> progress;
  // If set, receives the summary fields the job's finish hooks give (name,
  // JSON value) instead of their being printed.
  std::vector<std::pair<std::string, std::string>>* job_fields = nullptr;
};

// The topic of each source and output of `graph`, by name ("dead_letters"
// and "late_events" included). Errors: an override naming nothing.
absl::StatusOr<std::map<std::string, std::string>> JobTopics(
    const JobGraph& graph, const std::string& job,
    const std::map<std::string, std::string>& overrides);

// The internal topics of each KeyBy in a run across processes
// (connectors/kafka_exchange.h): "<job>.<keyby>.repartition" and
// "<job>.<keyby>.changelog", with equal partition counts.
struct ExchangeTopics {
  std::string key_by;
  std::string repartition;
  std::string changelog;
};
std::vector<ExchangeTopics> JobExchangeTopics(const JobGraph& graph, const std::string& job);

// Errors: InvalidArgument / NotFound for a bad invocation or a missing topic;
// Unavailable for unreachable brokers; others for failures while running.
absl::StatusOr<RunStats> RunLive(const LiveOptions& options);

}  // namespace eddy

#endif  // EDDY_ENGINE_LIVE_H_
