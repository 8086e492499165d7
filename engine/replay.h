// `eddy replay`: running a registered job over files, in event time.
//
// Binds input files to the job's sources, writes every sink to
// DIR/<sink>.jsonl, dead letters to DIR/dead_letters.jsonl, late records to
// DIR/late_events.jsonl and a run summary to DIR/summary.json. The same
// inputs give byte-identical .jsonl outputs for any thread count; only
// summary.json (timings) differs between runs.
#ifndef EDDY_ENGINE_REPLAY_H_
#define EDDY_ENGINE_REPLAY_H_

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/executor.h"

namespace eddy {

struct ReplayOptions {
  std::string job;
  // "PATH" (the job must have one source) or "SOURCE=PATH". A directory
  // stands for the files in it, sorted by name, one partition each.
  std::vector<std::string> inputs;
  std::string output_dir;
  std::map<std::string, std::string> params;
  int threads = 1;
  size_t batch_size = 4096;
  size_t max_record_bytes = 1 << 20;
  // Keyed state and checkpoints in this directory (RocksDB); empty: state in
  // memory, no checkpoints. A directory holding a checkpoint is resumed.
  std::string state_dir;
  uint64_t checkpoint_every_records = 100000;
  int64_t checkpoint_interval_ms = 10000;
  size_t state_memory_bytes = size_t{256} << 20;
  // Called after every batch with the figures so far (final_watermark: the
  // current watermark).
  std::function<void(const RunStats&)> progress;
};

// Errors: InvalidArgument / NotFound for a bad invocation (unknown job,
// missing input, bad binding); others for failures while running.
absl::StatusOr<RunStats> RunReplay(const ReplayOptions& options);

// The summary.json text for a run, with the fields the job's finish hooks
// added (name, raw JSON value) at the end.
std::string SummaryJson(const std::string& job, const ReplayOptions& options, const RunStats& stats,
                        const std::vector<std::pair<std::string, std::string>>& job_fields = {});

}  // namespace eddy

#endif  // EDDY_ENGINE_REPLAY_H_
