// Writing a job's outputs to Kafka topics.
//
// One idempotent producer (enable.idempotence: no duplicates or reordering
// from retries, ordered per partition) serves every output of a job; each
// output name maps to a topic. Outputs are produced without a key (librdkafka
// spreads them over the topic's partitions); records held for another
// topic's partition (Hold: records crossing processes) go to that partition. Sync() waits until every record
// produced so far is acknowledged by the brokers: the executor calls it before
// each checkpoint, so a checkpoint never covers an unacknowledged output.
// A record the brokers refuse for good (after librdkafka's retries, bounded
// by delivery.timeout.ms) fails the next Write or Sync, which stops the job:
// nothing is dropped silently. When librdkafka's queue is full, Write waits
// (backpressure on the job).
//
// After a crash, outputs produced after the last checkpoint are produced
// again (at-least-once).
//
// Exactly-once (`exactly_once`): outputs are held back until the checkpoint
// that covers them. Stage() writes them into the checkpoint's write batch
// (so they become durable atomically with the state and input positions
// that produced them), together with where each output partition ended;
// Publish(), after the checkpoint is committed, produces them with headers
// `eddy.run` and `eddy.seq` ("<checkpoint>:<index>"). If the process dies
// between commit and the end of publishing, Complete() (through the pointer
// ShareStaged put in the group's committed offsets; what `eddy run` uses) or
// Recover() (from the local checkpoint; only where no other process can
// complete the same interval) reads the output partitions from where they
// ended, finds which of the staged records arrived, and produces only the
// others. This needs no broker
// support (the embedded broker has no transaction isolation); outputs become
// visible at checkpoints, so keep checkpoints frequent.
//
// Thread-safety: one thread at a time.
#ifndef EDDY_CONNECTORS_KAFKA_SINK_H_
#define EDDY_CONNECTORS_KAFKA_SINK_H_

#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/kafka_config.h"
#include "engine/io.h"
#include "state/state_directory.h"

struct rd_kafka_s;
struct rd_kafka_topic_s;

namespace eddy {

// An output record held for exactly-once publishing: its topic, its
// partition (-1: librdkafka picks) and its bytes.
struct HeldOutput {
  std::string topic;
  int32_t partition = -1;
  std::string value;
};

// The interval an exactly-once offset commit's metadata names: the
// "<run>:<checkpoint>" of ShareStaged's pointer or of IntervalMetadata; ""
// when `metadata` is neither.
std::string CommittedInterval(const std::string& metadata);

class KafkaOutputFactory final : public OutputFactory {
 public:
  // `topics` maps output names (sinks, "dead_letters", "late_events") to
  // topics. Connects and checks that every topic exists. Errors: bad
  // properties, unreachable brokers, missing topics.
  static absl::StatusOr<std::unique_ptr<KafkaOutputFactory>> Open(
      const KafkaOptions& options, std::map<std::string, std::string> topics,
      bool exactly_once = false, std::string staging_topic = "");
  ~KafkaOutputFactory() override;

  absl::StatusOr<std::unique_ptr<OutputWriter>> Open(const std::string& name) override;
  // At-least-once: records after the checkpoint are produced again.
  absl::StatusOr<std::unique_ptr<OutputWriter>> Resume(const std::string& name,
                                                       uint64_t size) override;

  // Records produced and acknowledged so far, over all outputs.
  uint64_t delivered() const { return delivered_; }

  // Exactly-once only. Adds the records written since the last Stage to
  // `batch` (a checkpoint about to be committed). Errors: brokers
  // unreachable while reading where the outputs end.
  absl::Status Stage(StateDirectory::Batch& batch);
  // Across processes: writes what the last Stage staged to the staging
  // topic (in chunks) and returns a pointer to it for the offset commit's
  // metadata ("" when nothing was staged), so that whichever process takes
  // the partitions over can complete the publishing (Complete).
  absl::StatusOr<std::string> ShareStaged();
  // Completes the publishing of the staged outputs `pointer` (from
  // ShareStaged, read back from a committed offset's metadata) points to:
  // produces those that did not reach the brokers. A pointer that is not
  // Eddy's is ignored.
  absl::Status Complete(const std::string& pointer);
  // Whether every record of the staged interval `pointer` has reached the
  // brokers (another member completing it), without producing anything.
  absl::StatusOr<bool> IsComplete(const std::string& pointer);
  // Makes `topic` (listed by the brokers) writable through Hold.
  absl::Status AddTopic(const std::string& topic);
  // Exactly-once only: holds `value` for `topic`'s `partition` until the
  // next Stage, like an output (a record crossing processes: it is
  // published, with the interval's outputs, only once the interval counts).
  absl::Status Hold(const std::string& topic, int32_t partition, absl::string_view value);
  // The offset-commit metadata naming the last Stage's interval: ShareStaged's
  // pointer when it staged records, otherwise "eddy-interval:<run>:<n>".
  std::string IntervalMetadata(const std::string& pointer) const;
  // Produces what the last Stage staged and waits for every acknowledgement.
  absl::Status Publish();
  // Records in `state` that the last checkpoint's outputs were all
  // published (after a clean stop), so the next start need not check.
  absl::Status MarkPublished(StateDirectory& state);
  // Completes the publishing of the last checkpoint of `state`, if a crash
  // interrupted it. Call before running.
  absl::Status Recover(const StateDirectory& state);
  // Forgets what was written since the last Stage (the run is restarting
  // from its last checkpoint).
  void DiscardHeld() {
    held_.clear();
    held_bytes_ = 0;
  }
  // Bytes written and not yet staged.
  size_t held_bytes() const { return held_bytes_; }
  // Records staged and not yet published for any of `topics`.
  size_t staged_records(const std::set<std::string>& topics) const;
  // Records republished by Recover (those a crash kept from the brokers).
  uint64_t recovered() const { return recovered_; }

 private:
  friend class KafkaTopicWriter;
  friend struct KafkaSinkCallbacks;
  KafkaOutputFactory(std::map<std::string, std::string> topics, bool exactly_once,
                     std::string staging_topic)
      : topics_(std::move(topics)),
        exactly_once_(exactly_once),
        staging_topic_(std::move(staging_topic)) {}
  absl::Status Connect(const KafkaOptions& options);
  absl::Status Write(rd_kafka_topic_s* topic, absl::string_view value);
  // An error if a record of `size` bytes cannot go to the brokers.
  absl::Status CheckFits(absl::string_view topic, size_t size) const;
  // Holds a record until the next Stage (exactly-once).
  void Keep(std::string topic, int32_t partition, absl::string_view value);
  absl::Status Produce(rd_kafka_topic_s* topic, int32_t partition, absl::string_view value,
                       const std::string* seq_header);
  absl::Status Flush();
  void OnDelivery(int err, const std::string& topic, int64_t offset, void* opaque);
  // Produces the records of `encoded` (staged outputs) that did not arrive;
  // with `missing` set, only counts them there.
  absl::Status RecoverPending(const std::string& encoded, const std::string& where,
                              size_t* missing = nullptr);
  // Reads the staged interval `pointer` from the staging topic ("" for a
  // pointer that is not Eddy's).
  absl::StatusOr<std::string> ReadStaged(const std::string& pointer);

  std::map<std::string, std::string> topics_;
  rd_kafka_s* rk_ = nullptr;
  std::map<std::string, rd_kafka_topic_s*> handles_;
  absl::Status error_;  // first delivery failure: stops the job
  uint64_t produced_ = 0;
  uint64_t delivered_ = 0;

  // librdkafka's message.max.bytes, less what headers and framing take.
  static constexpr size_t kMessageOverhead = 1024;
  size_t max_message_bytes_ = 1000000;

  // Exactly-once.
  bool exactly_once_ = false;
  KafkaOptions options_;
  std::string run_id_;                    // random per process
  std::map<std::string, int> partitions_;  // per output topic
  std::vector<HeldOutput> held_;          // unstaged
  size_t held_bytes_ = 0;
  std::vector<HeldOutput> staged_;        // awaiting Publish
  uint64_t checkpoint_ = 0;               // number of the last Stage
  std::string staging_topic_;             // "": not shared across processes
  std::string staged_encoded_;            // the last Stage, as staged
  int64_t staging_offset_ = -1;           // offset of ShareStaged's first chunk
  uint64_t recovered_ = 0;
};

}  // namespace eddy

#endif  // EDDY_CONNECTORS_KAFKA_SINK_H_
