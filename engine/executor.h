// Running a job graph over its inputs, batch by batch.
//
// Each batch: read up to `batch_size` raw records per source (round-robin over
// the source's input partitions), decode them on all tasks, route bad and late
// records, advance the watermark, then run the operators in topological order.
// Runs of partition-local operators (Map, Filter, FlatMap, Process) are fused
// into one chain that each task runs over its partition; exchanges (KeyBy),
// unions and sinks are barriers between chains.
//
// Determinism: tags (engine/record.h) fix the order of records wherever
// partitions merge, key groups fix which task owns a key, and watermarks
// advance between batches. With the replay clock, a run's outputs are
// therefore byte-identical for any number of threads and any run.
//
// Example:
//   EDDY_ASSIGN_OR_RETURN(JobGraph graph, BuildMyJob(config));
//   Executor::Inputs inputs;
//   inputs["events"].push_back(std::move(file_partition));
//   EDDY_ASSIGN_OR_RETURN(RunStats stats,
//                         Executor::Run(std::move(graph), std::move(inputs), outputs, {}));
#ifndef EDDY_ENGINE_EXECUTOR_H_
#define EDDY_ENGINE_EXECUTOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/io.h"
#include "engine/job_graph.h"
#include "state/state_directory.h"

namespace eddy {

struct RunStats;

struct RunOptions {
  // Worker threads, and so tasks per operator. 1 runs everything on the
  // calling thread.
  int threads = 1;
  // Raw records read per source per batch. Watermarks advance between
  // batches, so results depend on it; replays with the same value agree.
  size_t batch_size = 4096;
  // Replay: the idle-partition clock is the largest event time read so far.
  // Live: it is the wall clock.
  enum class Clock { kReplay, kWall } clock = Clock::kReplay;
  // When set and true, the run stops after the current batch (live runs).
  const std::atomic<bool>* stop = nullptr;

  // Checkpoints. With a state directory, keyed state lives there (behind a
  // cache) and a checkpoint is taken after the batch in which
  // `checkpoint_every_records` input records or `checkpoint_interval` of
  // wall time have passed since the last one, when an operator's dirty state
  // outgrows its budget, and at the end of the run. A run over a directory
  // holding a checkpoint resumes from it. Not owned.
  StateDirectory* state = nullptr;
  uint64_t checkpoint_every_records = 100000;
  absl::Duration checkpoint_interval = absl::Seconds(10);
  // What else a resume must match besides the graph (job parameters, record
  // limits); stored in checkpoints.
  std::string fingerprint;

  // Live runs. Called when a batch read nothing: waits up to the given time
  // for input to arrive (instead of spinning). Unset: no wait.
  std::function<void(absl::Duration)> wait_for_input;
  // Called with each checkpoint's write batch just before it is committed
  // (e.g. to stage outputs atomically with the state). An error stops the run.
  std::function<absl::Status(StateDirectory::Batch&)> before_commit;
  // Called after each checkpoint is committed (e.g. to mirror the input
  // positions to Kafka's committed offsets). An error stops the run.
  std::function<absl::Status()> after_checkpoint;
  // Asked after every batch; true forces a checkpoint (e.g. held outputs
  // outgrew their memory).
  std::function<bool()> wants_checkpoint;
  // Called once the input has ended (every partition finished and the
  // watermark at the end of time), with the run's final figures, after the
  // outputs are synced and, with a state directory, with the last
  // checkpoint's batch just before it commits (nullptr without one). What
  // the run's end stores in the batch (a summary) commits with that
  // checkpoint, so a resume from a checkpoint taken after the input ended
  // (RunStats::ended_before) finds it; what it writes elsewhere it should
  // write again when resumed from an earlier one. An error stops the run.
  std::function<absl::Status(const RunStats&, StateDirectory::Batch*)> at_input_end;
  // Runs whose KeyBys cross processes (engine/exchange.h). Called after the
  // sources are read, before the operators run, with the watermark of each
  // input partition this process reads (by index over all sources, in
  // order; WatermarkTracker::AssignedWatermarks); returns the highest
  // watermark this batch may reach (what the exchanges' senders promise).
  // An error stops the run.
  std::function<absl::StatusOr<EventTime>(const std::vector<std::pair<uint32_t, EventTime>>&)>
      bound_watermark;
  // Asked after every batch; true takes a checkpoint and ends the run with
  // RunStats::restart_requested (e.g. ownership of keyed state moved).
  std::function<bool()> wants_restart;
  // Called after every batch with the run's figures so far (status lines).
  std::function<void(const RunStats&)> progress;
};

struct RunStats {
  uint64_t events = 0;        // raw records read
  uint64_t dead_letters = 0;  // records that failed to decode
  uint64_t late_events = 0;   // records behind the watermark
  uint64_t batches = 0;
  uint64_t checkpoints = 0;          // taken by this run
  double last_checkpoint_seconds = 0;
  uint64_t last_checkpoint_bytes = 0;  // its write batch: state, meta, outputs' records
  uint64_t state_cache_bytes = 0;    // keyed-state caches after the last batch
  bool resumed = false;              // this run continued from a checkpoint
  bool ended_before = false;         // ... taken after the input had ended
  bool restart_requested = false;    // ended by RunOptions::wants_restart
  EventTime final_watermark = kMinEventTime;
  double wall_seconds = 0;
  std::map<std::string, uint64_t> dead_letter_reasons;
  std::vector<std::pair<std::string, uint64_t>> sink_records;      // in sink order
  std::vector<std::pair<std::string, uint64_t>> operator_records;  // records out, per operator
};

// RunOptions::fingerprint of a registered job's run: its parameters and
// record size limit (what `eddy replay` and `eddy run` must resume with).
std::string RunFingerprint(const std::map<std::string, std::string>& params,
                           size_t max_record_bytes);

class Executor {
 public:
  // Input partitions per source name.
  using Inputs = std::map<std::string, std::vector<std::unique_ptr<InputPartition>>>;

  // Runs `graph` until its inputs are exhausted (or `options.stop`). Every
  // source must have at least one input partition and every input must name a
  // source. Sinks, dead letters ("dead_letters") and late records
  // ("late_events") are written through `outputs`. Errors: a bad binding, an
  // I/O error of an input or output.
  static absl::StatusOr<RunStats> Run(JobGraph graph, Inputs inputs, OutputFactory& outputs,
                                      const RunOptions& options);
};

}  // namespace eddy

#endif  // EDDY_ENGINE_EXECUTOR_H_
