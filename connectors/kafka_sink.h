// Writing a job's outputs to Kafka topics.
//
// One idempotent producer (enable.idempotence: no duplicates or reordering
// from retries, ordered per partition) serves every output of a job; each
// output name maps to a topic. Records are produced without a key (librdkafka
// spreads them over the topic's partitions). Sync() waits until every record
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
// Thread-safety: one thread at a time.
#ifndef EDDY_CONNECTORS_KAFKA_SINK_H_
#define EDDY_CONNECTORS_KAFKA_SINK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "connectors/kafka_config.h"
#include "engine/io.h"

struct rd_kafka_s;
struct rd_kafka_topic_s;

namespace eddy {

class KafkaOutputFactory final : public OutputFactory {
 public:
  // `topics` maps output names (sinks, "dead_letters", "late_events") to
  // topics. Connects and checks that every topic exists. Errors: bad
  // properties, unreachable brokers, missing topics.
  static absl::StatusOr<std::unique_ptr<KafkaOutputFactory>> Open(
      const KafkaOptions& options, std::map<std::string, std::string> topics);
  ~KafkaOutputFactory() override;

  absl::StatusOr<std::unique_ptr<OutputWriter>> Open(const std::string& name) override;
  // At-least-once: records after the checkpoint are produced again.
  absl::StatusOr<std::unique_ptr<OutputWriter>> Resume(const std::string& name,
                                                       uint64_t size) override;

  // Records produced and acknowledged so far, over all outputs.
  uint64_t delivered() const { return delivered_; }

 private:
  friend class KafkaTopicWriter;
  friend struct KafkaSinkCallbacks;
  explicit KafkaOutputFactory(std::map<std::string, std::string> topics)
      : topics_(std::move(topics)) {}
  absl::Status Connect(const KafkaOptions& options);
  absl::Status Produce(rd_kafka_topic_s* topic, absl::string_view value);
  absl::Status Flush();
  void OnDelivery(int err, const std::string& topic);

  std::map<std::string, std::string> topics_;
  std::string brokers_;
  rd_kafka_s* rk_ = nullptr;
  std::map<std::string, rd_kafka_topic_s*> handles_;
  absl::Status error_;  // first delivery failure: stops the job
  uint64_t produced_ = 0;
  uint64_t delivered_ = 0;
};

}  // namespace eddy

#endif  // EDDY_CONNECTORS_KAFKA_SINK_H_
