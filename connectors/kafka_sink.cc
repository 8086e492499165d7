#include "connectors/kafka_sink.h"

#include <librdkafka/rdkafka.h>

#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/status_macros.h"

namespace eddy {

struct KafkaSinkCallbacks {
  static void Delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    static_cast<KafkaOutputFactory*>(opaque)->OnDelivery(
        m->err, m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "?");
  }
};

class KafkaTopicWriter final : public OutputWriter {
 public:
  KafkaTopicWriter(KafkaOutputFactory* factory, rd_kafka_topic_t* topic)
      : factory_(factory), topic_(topic) {}
  absl::Status Write(absl::string_view line) override {
    EDDY_RETURN_IF_ERROR(factory_->Produce(topic_, line));
    ++written_;
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Sync() override {
    EDDY_RETURN_IF_ERROR(factory_->Flush());
    return written_;
  }
  absl::Status Close() override { return factory_->Flush(); }

 private:
  KafkaOutputFactory* factory_;
  rd_kafka_topic_t* topic_;
  uint64_t written_ = 0;
};

absl::StatusOr<std::unique_ptr<KafkaOutputFactory>> KafkaOutputFactory::Open(
    const KafkaOptions& options, std::map<std::string, std::string> topics) {
  std::unique_ptr<KafkaOutputFactory> f(new KafkaOutputFactory(std::move(topics)));
  EDDY_RETURN_IF_ERROR(f->Connect(options));
  return f;
}

absl::Status KafkaOutputFactory::Connect(const KafkaOptions& options) {
  brokers_ = options.brokers;
  const std::map<std::string, std::string> defaults = {
      {"client.id", options.client_id},
      {"enable.idempotence", "true"},
      {"compression.type", "lz4"},
      {"linger.ms", "1"},  // latency first; batches still fill at high rates
  };
  EDDY_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                        kafka_internal::MakeConf(options, KafkaClient::kProducer, defaults));
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, KafkaSinkCallbacks::Delivery);
  char errstr[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(absl::StrCat("cannot create a Kafka producer: ", errstr));
  }
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(
      rk_, 1, nullptr, &md, static_cast<int>(absl::ToInt64Milliseconds(options.connect_timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("cannot reach Kafka at ", brokers_, " within ",
                                               absl::FormatDuration(options.connect_timeout), " (",
                                               rd_kafka_err2str(err), ")"));
  }
  std::set<std::string> existing;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) existing.insert(md->topics[i].topic);
  }
  rd_kafka_metadata_destroy(md);
  std::vector<std::string> missing;
  for (const auto& [name, topic] : topics_) {
    if (existing.count(topic) == 0) missing.push_back(absl::StrCat(topic, " (output ", name, ")"));
  }
  if (!missing.empty()) {
    return absl::NotFoundError(absl::StrCat("Kafka topic", missing.size() > 1 ? "s" : "",
                                            " missing at ", brokers_, ": ",
                                            absl::StrJoin(missing, ", "), "; create ",
                                            missing.size() > 1 ? "them" : "it", " first"));
  }
  for (const auto& [name, topic] : topics_) {
    if (handles_.count(topic) == 0) handles_[topic] = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  }
  return absl::OkStatus();
}

KafkaOutputFactory::~KafkaOutputFactory() {
  if (rk_ == nullptr) return;
  // Whatever is still queued was produced after the last checkpoint; it is
  // produced again on restart. Give it a moment, then let go.
  rd_kafka_flush(rk_, 2000);
  for (auto& [topic, handle] : handles_) rd_kafka_topic_destroy(handle);
  rd_kafka_destroy(rk_);
}

absl::StatusOr<std::unique_ptr<OutputWriter>> KafkaOutputFactory::Open(const std::string& name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    return absl::InvalidArgumentError(absl::StrCat("output '", name, "' has no Kafka topic"));
  }
  return std::unique_ptr<OutputWriter>(new KafkaTopicWriter(this, handles_.at(it->second)));
}

absl::StatusOr<std::unique_ptr<OutputWriter>> KafkaOutputFactory::Resume(const std::string& name,
                                                                         uint64_t) {
  return Open(name);
}

void KafkaOutputFactory::OnDelivery(int err, const std::string& topic) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++delivered_;
  } else if (error_.ok()) {
    error_ = absl::UnavailableError(absl::StrCat("delivery to Kafka topic '", topic, "' failed: ",
                                                 rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err))));
  }
}

absl::Status KafkaOutputFactory::Produce(rd_kafka_topic_t* topic, absl::string_view value) {
  EDDY_RETURN_IF_ERROR(error_);
  for (;;) {
    if (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                         const_cast<char*>(value.data()), value.size(), nullptr, 0, nullptr) == 0) {
      break;
    }
    const rd_kafka_resp_err_t err = rd_kafka_last_error();
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return absl::InvalidArgumentError(absl::StrCat("producing to Kafka topic '",
                                                     rd_kafka_topic_name(topic), "': ",
                                                     rd_kafka_err2str(err)));
    }
    rd_kafka_poll(rk_, 10);  // wait for deliveries to make room
    EDDY_RETURN_IF_ERROR(error_);
  }
  if ((++produced_ & 1023) == 0) rd_kafka_poll(rk_, 0);  // serve delivery reports
  return error_;
}

absl::Status KafkaOutputFactory::Flush() {
  // Deliveries either succeed or fail within delivery.timeout.ms; wait for
  // all of them.
  while (rd_kafka_outq_len(rk_) > 0) {
    rd_kafka_flush(rk_, 1000);
    EDDY_RETURN_IF_ERROR(error_);
  }
  rd_kafka_poll(rk_, 0);
  return error_;
}

}  // namespace eddy
