// What `eddy run --metrics-port` shows: the run's figures as Prometheus
// metrics, and its health.
//
// The run's thread calls BatchDone after every batch; the metrics server's
// thread calls Render and Health. Figures are copied at most every
// `refresh` (and at every checkpoint), so a scrape sees the run as of at
// most that long ago, and the batch loop pays for a copy a few times a
// second, not per batch.
//
// Metrics (every one labelled job="<job>"):
//   eddy_records_read_total                    raw records read from the inputs
//   eddy_operator_records_in_total{operator}   records into each operator
//   eddy_operator_records_out_total{operator}  records out of each operator
//   eddy_sink_records_total{sink}              records written per output
//   eddy_dead_letters_total{reason}            bad records, by reason
//   eddy_late_records_total                    records behind the watermark
//   eddy_batches_total
//   eddy_consumer_lag_records{topic,partition} records on the broker not yet read
//   eddy_watermark_delay_seconds               wall clock minus the event-time watermark
//   eddy_state_size_bytes                      keyed state (RocksDB's estimate)
//   eddy_checkpoints_total
//   eddy_checkpoint_duration_seconds           the last checkpoint's
//   eddy_checkpoint_age_seconds                since the last checkpoint (or the start)
//   eddy_up                                    1 while running; 0 while stopping
//   eddy_memory_bytes{component}               where the memory is: state_cache (the
//                                              keyed-state caches), rocksdb_memtables,
//                                              rocksdb_table_readers, rocksdb_block_cache,
//                                              heap_in_use and heap_free (the
//                                              allocator's: allocated, and the rest
//                                              of what it holds resident: freed
//                                              chunks, jemalloc's metadata; see
//                                              engine/memory.h)
//   process_resident_memory_bytes              RSS
// and the job's own (JobGraph::MetricsHook: model logloss and AUC, drift
// alerts raised and active, for the CTR job).
#ifndef EDDY_ENGINE_LIVE_METRICS_H_
#define EDDY_ENGINE_LIVE_METRICS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine/executor.h"
#include "engine/job_graph.h"
#include "engine/metrics_server.h"

namespace eddy {

class LiveMetrics {
 public:
  struct PartitionLag {
    std::string topic;
    int32_t partition = 0;
    int64_t lag = 0;
  };
  struct Sources {
    std::function<std::vector<PartitionLag>()> lags;  // known lags only
    std::function<uint64_t()> state_bytes;
    // Named parts of the memory in use besides the heap's totals (RocksDB's).
    std::function<std::vector<std::pair<std::string, uint64_t>>()> memory;
  };

  // `stall_after`: Health fails when no batch has ended for that long.
  LiveMetrics(std::string job,
              std::chrono::milliseconds refresh = std::chrono::milliseconds(200),
              std::chrono::milliseconds stall_after = std::chrono::seconds(60));

  // Where lags and the state's size come from (called on the run's thread,
  // in BatchDone). Call on the run's thread before its first batch.
  void SetSources(Sources sources) { sources_ = std::move(sources); }
  // The graph about to run (again, after a restart in place): its
  // operators' inputs and its metrics hooks. Call before its first batch.
  // (Record counts continue across restarts: a run resumes them from its
  // checkpoint.)
  void SetGraph(const JobGraph& graph);
  // After every batch, on the run's thread.
  void BatchDone(const RunStats& stats);
  // Health says so from now on (the run is draining or restoring).
  void SetPhase(std::string phase);

  // Thread-safe.
  std::string Render() const;
  MetricsServer::Health Health() const;

 private:
  using Clock = std::chrono::steady_clock;
  const std::string job_;
  Sources sources_;  // used on the run's thread only
  const std::chrono::milliseconds refresh_;
  const std::chrono::milliseconds stall_after_;
  const Clock::time_point started_ = Clock::now();

  mutable std::mutex mu_;
  RunStats stats_;                                                 // GUARDED_BY(mu_)
  std::vector<PartitionLag> lags_;                                 // GUARDED_BY(mu_)
  uint64_t state_bytes_ = 0;                                       // GUARDED_BY(mu_)
  std::vector<std::pair<std::string, uint64_t>> memory_;           // GUARDED_BY(mu_)
  std::map<std::string, std::vector<std::string>> inputs_;        // GUARDED_BY(mu_)
  std::vector<JobGraph::MetricsHook> hooks_;                       // GUARDED_BY(mu_)
  std::string phase_ = "starting";                                 // GUARDED_BY(mu_)
  bool batched_ = false;                                           // GUARDED_BY(mu_)
  Clock::time_point last_batch_;                                   // GUARDED_BY(mu_)
  Clock::time_point last_copy_;                                    // GUARDED_BY(mu_)
  Clock::time_point last_checkpoint_ = started_;                   // GUARDED_BY(mu_)
  uint64_t run_checkpoints_ = 0;   // RunStats::checkpoints of this run GUARDED_BY(mu_)
  uint64_t checkpoints_total_ = 0; // over the runs of this process GUARDED_BY(mu_)
};

}  // namespace eddy

#endif  // EDDY_ENGINE_LIVE_METRICS_H_
