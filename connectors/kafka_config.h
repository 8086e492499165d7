// Settings shared by Eddy's Kafka clients (connectors/kafka_source.h,
// connectors/kafka_sink.h).
#ifndef EDDY_CONNECTORS_KAFKA_CONFIG_H_
#define EDDY_CONNECTORS_KAFKA_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct rd_kafka_conf_s;
struct rd_kafka_message_s;
struct rd_kafka_s;

namespace eddy {

struct KafkaOptions {
  // bootstrap.servers: "HOST:PORT[,HOST:PORT...]".
  std::string brokers;
  // Any librdkafka property (`eddy run --kafka KEY=VALUE`), e.g. TLS and SASL
  // settings; they override Eddy's defaults. "consumer.KEY" or
  // "producer.KEY" applies to one client only.
  std::map<std::string, std::string> properties;
  // client.id prefix, e.g. the job's name.
  std::string client_id = "eddy";
  // How long to wait for the cluster's metadata at start before reporting the
  // brokers unreachable.
  absl::Duration connect_timeout = absl::Seconds(10);
};

enum class KafkaClient { kConsumer, kProducer };

namespace kafka_internal {

// Builds a librdkafka configuration: `defaults`, then the user's properties
// for `client`. Errors name the property (never a secret's value).
absl::StatusOr<rd_kafka_conf_s*> MakeConf(const KafkaOptions& options, KafkaClient client,
                                          const std::map<std::string, std::string>& defaults);

// True for properties whose values must not appear in logs or errors.
bool IsSecretProperty(const std::string& key);

// Creates a client of kind `client` from `conf`, which it takes (also on
// error).
absl::StatusOr<rd_kafka_s*> NewClient(KafkaClient client, rd_kafka_conf_s* conf);

// Eddy's producers (outputs, exchanges): idempotent (no duplicates or
// reordering from retries), lz4, latency first (linger.ms=1; batches still
// fill at high rates), `options` applied over these. Delivery reports go to
// `on_delivery` with `opaque`.
using DeliveryCallback = void (*)(rd_kafka_s*, const rd_kafka_message_s*, void*);
absl::StatusOr<rd_kafka_s*> NewProducer(const KafkaOptions& options, void* opaque,
                                        DeliveryCallback on_delivery);

// The partition count of every topic the cluster has. Errors: Unavailable
// when the brokers do not answer within `options.connect_timeout`.
absl::StatusOr<std::map<std::string, int>> ListTopics(rd_kafka_s* rk, const KafkaOptions& options);

// NotFound listing `missing` (topics, as they should be named to the user),
// or OK when it is empty.
absl::Status MissingTopics(const KafkaOptions& options, const std::vector<std::string>& missing);

}  // namespace kafka_internal
}  // namespace eddy

#endif  // EDDY_CONNECTORS_KAFKA_CONFIG_H_
