// Reading Kafka topics as a member of a consumer group.
//
// One KafkaConsumerGroup (a librdkafka high-level consumer) serves every
// Kafka source of a job. Each partition of each topic is one InputPartition
// (named "topic/partition"; record origins "topic/partition:offset") for the
// executor, whether or not it is assigned to this process: partitions the
// group gives to other members read as empty and unassigned (they do not hold
// the watermark back).
//
// Offsets: never auto-committed. The executor's checkpoints hold each
// assigned partition's position, and a partition assigned to this process
// starts at the position its checkpoint recorded; without one, at the group's
// committed offset; without that, at `auto.offset.reset` (default earliest).
// CommitPositions() mirrors the positions to Kafka after each checkpoint, for
// lag tools and for the next owner of a partition. A position the broker no
// longer holds (deleted by retention) stops the run with a data-loss error.
//
// Backpressure: each partition buffers at most `max_buffered_bytes`; a
// partition over it is paused (fetching stops) until the executor has read it
// down to half. Records move into those buffers when the executor reads;
// while it does not (a stalled output blocks its batches), librdkafka's own
// prefetch queue holds what arrives, bounded by as much again in all.
// Input memory is thus at most (partitions + 1) x max_buffered_bytes, plus a
// fetch response in flight.
//
// Rebalances use the cooperative-sticky protocol by default: only moved
// partitions are revoked. Records of a revoked partition still buffered are
// dropped (its new owner reads them from the committed offset). Seeking an
// assigned partition (SeekTo while it is assigned) rewinds it, so that a run
// can restart in place from its last checkpoint.
//
// Thread-safety: the group and its partitions are used by one thread.
//
// Example:
//   EDDY_ASSIGN_OR_RETURN(auto group, KafkaConsumerGroup::Open(options));
//   inputs["events"] = group->TakePartitions("ctr.events");
//   run.wait_for_input = [&](absl::Duration d) { group->WaitForRecords(d); };
#ifndef EDDY_CONNECTORS_KAFKA_SOURCE_H_
#define EDDY_CONNECTORS_KAFKA_SOURCE_H_

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/kafka_config.h"
#include "engine/io.h"

struct rd_kafka_s;
struct rd_kafka_message_s;
struct rd_kafka_queue_s;
struct rd_kafka_topic_partition_list_s;

namespace eddy {

class KafkaConsumerGroup {
 public:
  struct Options {
    KafkaOptions kafka;
    std::string group;
    std::vector<std::string> topics;
    size_t max_record_bytes = 1 << 20;
    size_t max_buffered_bytes = 8 << 20;  // per partition
  };

  // Connects, checks that every topic exists, and subscribes. Errors: bad
  // properties, unreachable brokers, missing topics (each named).
  static absl::StatusOr<std::unique_ptr<KafkaConsumerGroup>> Open(const Options& options);
  ~KafkaConsumerGroup();  // leaves the group (see Close)
  KafkaConsumerGroup(const KafkaConsumerGroup&) = delete;
  KafkaConsumerGroup& operator=(const KafkaConsumerGroup&) = delete;

  // The partitions of `topic` (one of Options::topics), in partition order,
  // for the executor. They refer to this group, which must outlive them.
  std::vector<std::unique_ptr<InputPartition>> TakePartitions(const std::string& topic);

  // Waits up to `timeout` for records (or a rebalance) to arrive.
  void WaitForRecords(absl::Duration timeout);

  // Commits the current positions of the assigned partitions to the group,
  // waiting for the broker's answer if `wait` (a failed commit is reported on
  // stderr, not an error: the checkpoint is what counts). Call it right after
  // a checkpoint. Errors: a fatal consumer error.
  absl::Status CommitPositions(bool wait = false);
  // Commits as above, waiting, with `metadata` on every partition, and
  // fails (Aborted) if the group refuses the commit (e.g. a rebalance is
  // under way).
  absl::Status CommitPositionsOrFail(const std::string& metadata);

  // The metadata committed with each partition of `topics` (in topic and
  // partition order), and whether it is assigned to this process. (Each
  // commit also carries the partition's noted watermark, appended to the
  // metadata; `metadata` is what the caller committed, without it.)
  struct Committed {
    std::string partition;
    bool assigned = false;
    std::string metadata;
    int64_t offset = -1;  // -1: none committed
  };
  absl::StatusOr<std::vector<Committed>> CommittedMetadata(const std::vector<std::string>& topics);

  // Records not yet read by the executor: what the brokers hold beyond each
  // assigned partition's position, summed (from the last fetch responses;
  // a partition that has not yet delivered a record counts as none).
  int64_t Lag() const;
  // The same per assigned partition (lag -1: not known yet).
  struct PartitionLag {
    std::string topic;
    int32_t partition = 0;
    int64_t lag = -1;
  };
  std::vector<PartitionLag> PartitionLags() const;
  // Partitions currently assigned to this process.
  size_t assigned_partitions() const;
  // Bytes of records fetched and not yet read, over all partitions.
  size_t buffered_bytes() const;

  // True if a partition was taken from this process since the last call.
  bool TakeRevocation();

  // True if partitions of `topic` were assigned to or taken from this
  // process since the last call for it.
  bool TakeAssignmentChange(const std::string& topic);

  // Waits until the group has given this process its first assignment
  // (possibly empty). Errors: none within `timeout`, or a consumer error.
  absl::Status WaitForAssignment(absl::Duration timeout);

  // Leaves the group, without committing (the destructor does it too).
  // Idempotent.
  absl::Status Close();

 private:
  friend class KafkaInputPartition;
  struct Partition {
    std::string topic;
    int32_t id = 0;
    std::string name;
    bool assigned = false;
    bool paused = false;
    // Next offset to hand out; -1 until known (the first record tells).
    int64_t next_offset = -1;
    // Position from a checkpoint, used when the partition is next assigned.
    int64_t restore_offset = -1;
    // First offset handed out since the partition was assigned (-1: none).
    int64_t start_offset = -1;
    // The group's committed offset when the partition was assigned (-1:
    // none): a checkpointed position before it is stale.
    int64_t committed_offset = -1;
    // After assignment at a known offset: the first record must be there, or
    // retention deleted what lay between.
    bool check_first = false;
    // The watermark committed with the group's offset when the partition was
    // assigned (kMinEventTime: none), and the last the executor noted, which
    // goes with the next commit (see InputPartition::NoteWatermark).
    int64_t handed_over_watermark = std::numeric_limits<int64_t>::min();
    int64_t noted_watermark = std::numeric_limits<int64_t>::min();
    std::deque<rd_kafka_message_s*> buffer;
    size_t buffered_bytes = 0;
  };

  explicit KafkaConsumerGroup(Options options) : options_(std::move(options)) {}
  absl::Status Connect();
  // Moves available records from librdkafka into the partitions' buffers.
  absl::Status Pump(int timeout_ms);
  absl::StatusOr<size_t> Read(size_t index, size_t max_records, uint32_t partition,
                              RawRecordBatch& out);
  void OnRebalance(int err, rd_kafka_topic_partition_list_s* parts);
  Partition* Find(const char* topic, int32_t id);
  void Drop(Partition& p);
  // The assigned partitions' positions (with `metadata` if not empty), for
  // a commit. The caller destroys the list.
  rd_kafka_topic_partition_list_s* AssignedPositions(const std::string& metadata) const;
  void Pause(Partition& p, bool pause);
  // Drops what is buffered and continues the (assigned) partition at `offset`.
  absl::Status Rewind(Partition& p, int64_t offset);

  void OnError(int err, const char* reason);
  friend struct KafkaSourceCallbacks;

  Options options_;
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_queue_s* queue_ = nullptr;
  std::vector<std::unique_ptr<Partition>> partitions_;
  std::map<std::string, std::vector<Partition*>> by_topic_;
  absl::Status error_;  // sticky: stops the run
  bool revoked_ = false;
  bool assignment_received_ = false;
  std::set<std::string> changed_topics_;  // see TakeAssignmentChange
  int64_t last_warning_ms_ = 0;
  bool closed_ = false;
};

}  // namespace eddy

#endif  // EDDY_CONNECTORS_KAFKA_SOURCE_H_
