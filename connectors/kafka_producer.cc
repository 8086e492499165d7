#include "connectors/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"

namespace eddy {

absl::StatusOr<std::unique_ptr<KafkaLineProducer>> KafkaLineProducer::Open(
    const KafkaOptions& options, const std::string& topic) {
  std::unique_ptr<KafkaLineProducer> p(new KafkaLineProducer(topic));
  EDDY_ASSIGN_OR_RETURN(p->rk_, kafka_internal::NewProducer(options, p.get(), &OnDelivery));
  EDDY_ASSIGN_OR_RETURN(const auto topics, kafka_internal::ListTopics(p->rk_, options));
  if (topics.count(topic) == 0) {
    EDDY_RETURN_IF_ERROR(kafka_internal::MissingTopics(options, {topic}));
  }
  return p;
}

KafkaLineProducer::~KafkaLineProducer() {
  if (rk_ == nullptr) return;
  rd_kafka_flush(rk_, 5000);
  rd_kafka_destroy(rk_);
}

void KafkaLineProducer::OnDelivery(rd_kafka_s*, const rd_kafka_message_s* m, void* opaque) {
  auto* self = static_cast<KafkaLineProducer*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++self->delivered_;
  } else if (self->error_.ok()) {
    self->error_ = absl::UnavailableError(absl::StrCat("delivery to ", self->topic_,
                                                       " failed: ", rd_kafka_err2str(m->err)));
  }
}

absl::Status KafkaLineProducer::Produce(absl::string_view key, absl::string_view value) {
  EDDY_RETURN_IF_ERROR(error_);
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic_.c_str()),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return absl::UnavailableError(absl::StrCat("producing to ", topic_, ": ", rd_kafka_err2str(err)));
    }
    rd_kafka_poll(rk_, 10);  // deliveries make room
  }
  rd_kafka_poll(rk_, 0);
  return absl::OkStatus();
}

absl::Status KafkaLineProducer::Flush() {
  const rd_kafka_resp_err_t err = rd_kafka_flush(rk_, 60000);
  EDDY_RETURN_IF_ERROR(error_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("Kafka did not acknowledge every record to ", topic_,
                                               " within 60 s: ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

}  // namespace eddy
