#include "connectors/kafka_config.h"

#include <librdkafka/rdkafka.h>


#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "engine/log.h"
#include "engine/status_macros.h"

namespace eddy {
namespace kafka_internal {
namespace {

// librdkafka's own messages go to stderr, prefixed; connection failures are
// left to the error callbacks of the clients (they repeat every backoff).
void LogToStderr(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level > 4 || absl::string_view(fac) == "FAIL") return;
  // `--kafka KEY=VALUE` goes to both clients; each ignores the other's keys.
  if (absl::StrContains(buf, "will be ignored by this")) return;
  Log(level <= 3 ? LogLevel::kError : LogLevel::kWarning, "eddy: kafka", buf);
}

}  // namespace

bool IsSecretProperty(const std::string& key) {
  return absl::StrContains(key, "password") || absl::StrContains(key, "secret") ||
         absl::StrContains(key, "ssl.key.pem") || absl::StrContains(key, "ssl_key") ||
         absl::StrContains(key, "sasl.oauthbearer.config") || absl::StrContains(key, "token");
}

absl::StatusOr<rd_kafka_conf_s*> MakeConf(const KafkaOptions& options, KafkaClient client,
                                          const std::map<std::string, std::string>& defaults) {
  if (options.brokers.empty()) return absl::InvalidArgumentError("no Kafka brokers given (--brokers)");
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  const auto set = [&](const std::string& key, const std::string& value,
                       bool user) -> absl::Status {
    // A secret never reaches a log line, whoever writes it (engine/log.h).
    if (IsSecretProperty(key)) RedactInLogs(value);
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) ==
        RD_KAFKA_CONF_OK) {
      return absl::OkStatus();
    }
    std::string why = errstr;
    if (IsSecretProperty(key) && !value.empty()) why = absl::StrReplaceAll(why, {{value, "***"}});
    return absl::InvalidArgumentError(
        user ? absl::StrCat("--kafka ", key, ": ", why) : absl::StrCat("kafka ", key, ": ", why));
  };
  std::map<std::string, std::string> all = defaults;
  all["bootstrap.servers"] = options.brokers;
  const char* own = client == KafkaClient::kConsumer ? "consumer." : "producer.";
  const char* other = client == KafkaClient::kConsumer ? "producer." : "consumer.";
  // Generic keys first; "consumer."/"producer." ones override them.
  std::map<std::string, std::string> user;
  for (const auto& [key, value] : options.properties) {
    if (!absl::StartsWith(key, own) && !absl::StartsWith(key, other)) user[key] = value;
  }
  for (const auto& [key, value] : options.properties) {
    if (absl::StartsWith(key, own)) user[key.substr(9)] = value;
  }
  for (const auto& [key, value] : all) {
    if (user.count(key) > 0) continue;
    absl::Status s = set(key, value, false);
    if (!s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
  }
  for (const auto& [key, value] : user) {
    absl::Status s = set(key, value, true);
    if (!s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
  }
  rd_kafka_conf_set_log_cb(conf, LogToStderr);
  return conf;
}

absl::StatusOr<rd_kafka_s*> NewClient(KafkaClient client, rd_kafka_conf_s* conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(client == KafkaClient::kConsumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER,
                                conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new takes it only on success
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot create a Kafka ", client == KafkaClient::kConsumer ? "consumer" : "producer", ": ",
        errstr));
  }
  return rk;
}

absl::StatusOr<rd_kafka_s*> NewProducer(const KafkaOptions& options, void* opaque,
                                        DeliveryCallback on_delivery) {
  const std::map<std::string, std::string> defaults = {
      {"client.id", options.client_id},
      {"enable.idempotence", "true"},
      {"compression.type", "lz4"},
      {"linger.ms", "1"},
      // Outputs waiting for the brokers: at most 64 MiB (librdkafka's
      // default is 1 GiB), and 100,000 messages. Past either, the sink
      // waits for deliveries: a stalled output stops the job's batches,
      // and then its consumption (engine/live.h, input_buffer_bytes).
      {"queue.buffering.max.kbytes", "65536"},
  };
  EDDY_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, MakeConf(options, KafkaClient::kProducer, defaults));
  rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  return NewClient(KafkaClient::kProducer, conf);
}

absl::StatusOr<std::map<std::string, int>> ListTopics(rd_kafka_s* rk, const KafkaOptions& options) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(
      rk, 1, nullptr, &md, static_cast<int>(absl::ToInt64Milliseconds(options.connect_timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("cannot reach Kafka at ", options.brokers, " within ",
                                               absl::FormatDuration(options.connect_timeout), " (",
                                               rd_kafka_err2str(err), ")"));
  }
  std::map<std::string, int> topics;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[i].partition_cnt > 0) {
      topics[md->topics[i].topic] = md->topics[i].partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  return topics;
}

absl::Status MissingTopics(const KafkaOptions& options, const std::vector<std::string>& missing) {
  if (missing.empty()) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat("Kafka topic", missing.size() > 1 ? "s" : "",
                                          " missing at ", options.brokers, ": ",
                                          absl::StrJoin(missing, ", "), "; create ",
                                          missing.size() > 1 ? "them" : "it", " first"));
}

}  // namespace kafka_internal
}  // namespace eddy
