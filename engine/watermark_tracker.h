// Event-time watermarks across the partitions of a job's inputs.
//
// Each input partition has its own watermark: the largest event time seen in
// it, minus its source's bounded out-of-orderness, minus one (a watermark W
// promises that no more records with ts <= W are expected, as in Flink's
// BoundedOutOfOrdernessWatermarks). The job's watermark is the minimum over
// partitions that are neither finished nor idle, and never moves backwards.
//
// A partition is idle when it has produced no record for `idle_timeout` of the
// tracker's clock. The clock is supplied by the caller: wall-clock milliseconds
// in a live run, and in a replay the largest event time read so far (so that
// replays are deterministic). When every unfinished partition is idle, the
// watermark holds. When every partition is finished it jumps to kMaxEventTime,
// which fires all remaining timers. Partitions read by another process (Kafka
// partitions assigned elsewhere in the consumer group) are left out.
//
// Thread-safety: not thread-safe; owned by the executor's coordinating thread.
//
// Example:
//   WatermarkTracker wm;
//   int p = wm.AddPartition(/*bound_ms=*/5000, /*idle_timeout_ms=*/60000);
//   wm.Observe(p, /*max_ts=*/1000, /*now=*/1000);
//   EventTime w = wm.Advance(/*now=*/1000);   // 1000 - 5000 - 1
#ifndef EDDY_ENGINE_WATERMARK_TRACKER_H_
#define EDDY_ENGINE_WATERMARK_TRACKER_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

#include "engine/record.h"

namespace eddy {

class WatermarkTracker {
 public:
  // Adds an input partition; returns its index. `bound_ms` >= 0 is the
  // out-of-orderness its source allows; `idle_timeout_ms` <= 0 means never idle.
  int AddPartition(int64_t bound_ms, int64_t idle_timeout_ms);

  // Records that partition `p` produced records whose largest event time is
  // `max_ts`, at clock time `now`.
  void Observe(int p, EventTime max_ts, int64_t now);

  // Partition `p`'s watermark is at least `watermark` (kMinEventTime: no
  // floor): what its previous reader, in another process, promised with the
  // position this process starts from. Checkpointed like what Observe learns.
  void RaiseWatermark(int p, EventTime watermark);

  // Partition `p` will produce no more records (end of file).
  void MarkFinished(int p);

  // Whether this process reads partition `p` (a Kafka partition assigned to
  // another consumer of the group is not). An unassigned partition does not
  // hold the watermark back; when assigned again its idle time starts at
  // `now`. Not part of Save(): assignment is decided afresh by each run.
  void SetAssigned(int p, bool assigned, int64_t now);

  // Recomputes and returns the job watermark at clock time `now`.
  EventTime Advance(int64_t now);

  EventTime current() const { return current_; }

  // Partition p's own watermark (its largest event time less the bound), or
  // what AssignedWatermarks last promised for it if that is later: a record
  // at or before it is late.
  EventTime WatermarkOf(int p) const {
    return std::max(PartitionWatermark(parts_[p]), parts_[p].promised);
  }

  // Per assigned partition (by index): its watermark; for an idle partition,
  // the job's watermark (it holds nothing back, and its records behind that
  // are late when it wakes up); kMaxEventTime once finished. Partitions
  // assigned elsewhere are left out. What a process tells the others in a
  // run across processes (engine/exchange.h).
  void AssignedWatermarks(int64_t now, std::vector<std::pair<uint32_t, EventTime>>& out);

  // The tracker's state, for checkpoints, and back. Restore requires the
  // same partitions (count and order) to have been added.
  std::string Save() const;
  bool Restore(absl::string_view saved);
  bool IsIdle(int p, int64_t now) const;
  int partitions() const { return static_cast<int>(parts_.size()); }

 private:
  struct Partition {
    int64_t bound_ms = 0;
    int64_t idle_timeout_ms = 0;
    EventTime max_ts = kMinEventTime;
    int64_t last_active = kMinEventTime;  // clock time of the last record
    bool finished = false;
    bool assigned = true;
    // The highest watermark AssignedWatermarks reported for it since it was
    // assigned here (not checkpointed).
    EventTime promised = kMinEventTime;
  };

  static EventTime PartitionWatermark(const Partition& part);

  std::vector<Partition> parts_;
  EventTime current_ = kMinEventTime;
  int64_t first_now_ = kMinEventTime;  // clock time of the first Advance/Observe
};

}  // namespace eddy

#endif  // EDDY_ENGINE_WATERMARK_TRACKER_H_
