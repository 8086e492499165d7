// The untyped faces of sources and sinks that the executor drives.
#ifndef EDDY_ENGINE_SOURCE_SINK_H_
#define EDDY_ENGINE_SOURCE_SINK_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "engine/io.h"
#include "engine/node.h"

namespace eddy {

// How a source assigns event time. See engine/watermark_tracker.h.
struct EventTimeOptions {
  // Records may arrive this much out of order without being late.
  absl::Duration max_out_of_orderness = absl::ZeroDuration();
  // Records up to this far behind the watermark are still processed
  // (operators see ts <= watermark); later ones go to the late output.
  absl::Duration allowed_lateness = absl::ZeroDuration();
  // A partition silent for this long (clock of the run) stops holding the
  // watermark back. Zero: never idle.
  absl::Duration idle_timeout = absl::Minutes(1);
  // Records stamped more than this ahead of the wall clock go to the dead
  // letters ("event time in the future"): one of them would move its
  // partition's watermark past every record that follows, making them all
  // late. (A replay of old logs is not affected; only a record from the
  // run's future is.) Infinite: no check.
  absl::Duration max_future = absl::InfiniteDuration();
  // Records stamped more than this behind the newest event time of their
  // input partition (its on-time records in the same batch, or its
  // watermark from earlier batches) go to the dead letters ("event time in
  // the past"), not to the late records: a device clock a century off, say.
  // Unlike lateness it needs no watermark, so it also holds in a run's
  // first batch, where nothing is late yet. Infinite: no check.
  absl::Duration max_past = absl::InfiniteDuration();
  // Watermark alignment (as Flink's, within this source): a partition whose
  // watermark is more than this ahead of the slowest active one's is not
  // read until that one catches up (idle and finished partitions do not
  // hold others back). Keeps what operators see of different partitions
  // within this much event time of each other, plus a batch's share of one
  // partition; so a record of a slow partition does not arrive after
  // operators have moved on by other partitions' times (a delayed label
  // after its example was learned). Infinite: off.
  absl::Duration max_drift = absl::InfiniteDuration();
};

// What decoding one source's batch produced, besides its output records.
struct SourceDecodeReport {
  struct Failure {
    uint32_t entry = 0;  // index into RawRecordBatch::entries
    std::string reason;
  };
  struct Late {
    uint32_t entry = 0;
    EventTime ts = 0;
  };
  std::vector<Failure> failures;  // in entry order
  std::vector<Late> late;         // in entry order
  // Largest event time of an on-time record, per input partition
  // (kMinEventTime where none).
  std::vector<EventTime> max_ts;

  void Reset(size_t partitions) {
    failures.clear();
    late.clear();
    max_ts.assign(partitions, kMinEventTime);
  }
};

// Implemented by every source node (operators/source_node.h) next to
// Producer<T>; the executor drives sources through it.
class SourceOperator {
 public:
  virtual ~SourceOperator() = default;

  virtual Node* node() = 0;
  virtual const EventTimeOptions& event_time() const = 0;

  // Decodes `batch` into the node's output (split into ctx.partitions
  // contiguous chunks, tagged by entry index). Records that fail to parse and
  // records with ts <= ctx.previous_watermark - allowed_lateness are left out
  // of the output and listed in `report`. REQUIRES: batch.Pad() was called.
  virtual void Decode(const RawRecordBatch& batch, size_t input_partitions,
                      const BatchContext& ctx, SourceDecodeReport& report) = 0;
};

class SinkNodeBase : public Node {
 public:
  explicit SinkNodeBase(std::string name) : Node(NodeKind::kSink, std::move(name)) {}

  bool partition_local() const override { return false; }
  void ClearOutput() override {}
  size_t PartitionOutputSize(int) const override { return 0; }

  // The writer the sink's records go to. Not owned; set before Open.
  void set_writer(OutputWriter* writer) { writer_ = writer; }
  uint64_t written() const { return written_; }
  // Restores the count after resuming from a checkpoint.
  void set_written(uint64_t n) { written_ = n; }

 protected:
  OutputWriter* writer_ = nullptr;
  uint64_t written_ = 0;
};

}  // namespace eddy

#endif  // EDDY_ENGINE_SOURCE_SINK_H_
