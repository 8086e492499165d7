#include "connectors/embedded_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <vector>

#include "absl/strings/str_cat.h"

namespace eddy {
namespace {

absl::Status FromKafka(rd_kafka_resp_err_t err, absl::string_view what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", rd_kafka_err2str(err)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(const Options& options) {
  if (options.brokers < 1 || options.brokers > 16) {
    return absl::InvalidArgumentError("the embedded cluster takes 1 to 16 brokers");
  }
  std::unique_ptr<EmbeddedBroker> broker(new EmbeddedBroker());
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster; keep it quiet and off the network.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  broker->handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (broker->handle_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("cannot create the embedded broker: ", errstr));
  }
  broker->cluster_ = rd_kafka_mock_cluster_new(broker->handle_, options.brokers);
  if (broker->cluster_ == nullptr) {
    return absl::InternalError("cannot start librdkafka's mock cluster");
  }
  broker->brokers_ = options.brokers;
  broker->bootstrap_ = rd_kafka_mock_cluster_bootstraps(broker->cluster_);
  return broker;
}

EmbeddedBroker::~EmbeddedBroker() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

absl::Status EmbeddedBroker::CreateTopic(const std::string& name, int partitions,
                                         int replication_factor) {
  if (name.empty() || partitions < 1 || replication_factor < 1 || replication_factor > brokers_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "topic '", name, "': needs a name, at least one partition and a replication factor of 1..",
        brokers_));
  }
  return FromKafka(
      rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication_factor),
      absl::StrCat("cannot create topic '", name, "'"));
}

absl::Status EmbeddedBroker::SetBrokerDown(int broker_id) {
  return FromKafka(rd_kafka_mock_broker_set_down(cluster_, broker_id),
                   absl::StrCat("broker ", broker_id));
}

absl::Status EmbeddedBroker::SetBrokerUp(int broker_id) {
  return FromKafka(rd_kafka_mock_broker_set_up(cluster_, broker_id),
                   absl::StrCat("broker ", broker_id));
}

absl::Status EmbeddedBroker::SetBrokerRtt(int broker_id, int rtt_ms) {
  return FromKafka(rd_kafka_mock_broker_set_rtt(cluster_, broker_id, rtt_ms),
                   absl::StrCat("broker ", broker_id));
}

absl::Status EmbeddedBroker::SetPartitionLeader(const std::string& topic, int partition,
                                                int broker_id) {
  return FromKafka(rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker_id),
                   absl::StrCat("partition ", topic, "/", partition));
}

void EmbeddedBroker::PushRequestErrors(int16_t api_key, int count, int error) {
  std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count),
                                          static_cast<rd_kafka_resp_err_t>(error));
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, errors.size(), errors.data());
}

}  // namespace eddy
