// A plain keyed producer of lines to one Kafka topic, for tools that feed a
// job (`eddy gen ctr --brokers`, `eddy demo`): idempotent (no duplicates or
// reordering from retries), waits when librdkafka's queue is full, and
// reports the first failed delivery as an error instead of dropping it.
//
// Example:
//   EDDY_ASSIGN_OR_RETURN(auto p, KafkaLineProducer::Open(kafka, "ctr.events"));
//   EDDY_RETURN_IF_ERROR(p->Produce("u42", line));
//   EDDY_RETURN_IF_ERROR(p->Flush());
//
// Thread-safety: one thread at a time.
#ifndef EDDY_CONNECTORS_KAFKA_PRODUCER_H_
#define EDDY_CONNECTORS_KAFKA_PRODUCER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "connectors/kafka_config.h"

struct rd_kafka_s;

namespace eddy {

class KafkaLineProducer {
 public:
  // Errors: bad properties, unreachable brokers, a missing topic.
  static absl::StatusOr<std::unique_ptr<KafkaLineProducer>> Open(const KafkaOptions& options,
                                                                  const std::string& topic);
  ~KafkaLineProducer();  // flushes for up to 5 s
  KafkaLineProducer(const KafkaLineProducer&) = delete;
  KafkaLineProducer& operator=(const KafkaLineProducer&) = delete;

  // Queues one record (partitioned by its key). Errors: a failed delivery
  // so far, or librdkafka refusing the record.
  absl::Status Produce(absl::string_view key, absl::string_view value);
  // Waits until every queued record is acknowledged (up to 60 s).
  absl::Status Flush();
  uint64_t delivered() const { return delivered_; }

 private:
  explicit KafkaLineProducer(std::string topic) : topic_(std::move(topic)) {}
  static void OnDelivery(rd_kafka_s*, const struct rd_kafka_message_s* m, void* opaque);

  std::string topic_;
  rd_kafka_s* rk_ = nullptr;
  uint64_t delivered_ = 0;
  absl::Status error_;
};

}  // namespace eddy

#endif  // EDDY_CONNECTORS_KAFKA_PRODUCER_H_
