// An embedded Kafka cluster on loopback, for the demo, tests and local runs.
//
// Wraps librdkafka's mock cluster (rdkafka_mock.h): real Kafka protocol on
// 127.0.0.1, so any Kafka client talks to it. Each broker listens on a port
// the system picks; bootstrap_servers() says which. Facts about the mock in
// Debian 12's librdkafka 2.0.2 (see DESIGN.md): it keeps only the newest
// 5 MiB (or 100,000 batches) of each partition, and drops offsets committed
// through send_offsets_to_transaction.
//
// Thread-safety: the broker runs on librdkafka's own threads; the methods
// here may be called from any one thread at a time.
//
// Example:
//   EDDY_ASSIGN_OR_RETURN(auto broker, EmbeddedBroker::Start({.brokers = 1}));
//   EDDY_RETURN_IF_ERROR(broker->CreateTopic("ctr.events", 4));
//   Connect clients to broker->bootstrap_servers().
#ifndef EDDY_CONNECTORS_EMBEDDED_BROKER_H_
#define EDDY_CONNECTORS_EMBEDDED_BROKER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace eddy {

class EmbeddedBroker {
 public:
  struct Options {
    int brokers = 1;  // 1..16
  };

  // Starts the cluster. Errors: bad options, librdkafka failing to start it.
  static absl::StatusOr<std::unique_ptr<EmbeddedBroker>> Start(const Options& options);
  ~EmbeddedBroker();  // stops the cluster
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  // "127.0.0.1:PORT[,127.0.0.1:PORT...]"
  const std::string& bootstrap_servers() const { return bootstrap_; }
  int brokers() const { return brokers_; }

  // Creates a topic (the mock has no CreateTopics admin API). Creating an
  // existing topic is an error.
  absl::Status CreateTopic(const std::string& name, int partitions, int replication_factor = 1);

  // Fault injection (broker ids are 1..brokers()).
  absl::Status SetBrokerDown(int broker_id);
  absl::Status SetBrokerUp(int broker_id);
  absl::Status SetBrokerRtt(int broker_id, int rtt_ms);
  absl::Status SetPartitionLeader(const std::string& topic, int partition, int broker_id);
  // The next `count` requests of Kafka API `api_key` (e.g. 0 = Produce)
  // fail with `error` (a librdkafka rd_kafka_resp_err_t value).
  void PushRequestErrors(int16_t api_key, int count, int error);

 private:
  EmbeddedBroker() = default;

  rd_kafka_s* handle_ = nullptr;  // owns the mock cluster
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  std::string bootstrap_;
  int brokers_ = 0;
};

}  // namespace eddy

#endif  // EDDY_CONNECTORS_EMBEDDED_BROKER_H_
