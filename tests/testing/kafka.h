// Plain librdkafka clients for tests: what any Kafka user's code would do.
#ifndef EDDY_TESTS_TESTING_KAFKA_H_
#define EDDY_TESTS_TESTING_KAFKA_H_

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace eddy::testing {

inline rd_kafka_t* NewKafkaClient(rd_kafka_type_t type, const std::string& bootstrap,
                                  const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const auto set = [&](const std::string& k, const std::string& v) {
    EXPECT_EQ(rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)), RD_KAFKA_CONF_OK)
        << k << ": " << err;
  };
  set("bootstrap.servers", bootstrap);
  set("log_level", "3");
  for (const auto& [k, v] : extra) set(k, v);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  EXPECT_NE(rk, nullptr) << err;
  return rk;
}

// A Kafka message as a test writes or reads it.
struct TestMessage {
  std::string key;
  std::string value;
  int32_t partition = RD_KAFKA_PARTITION_UA;  // UA: by key
  int64_t offset = -1;
  int64_t timestamp = 0;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Produces `messages` (idempotent, lz4); returns how many were acknowledged.
inline size_t ProduceMessages(const std::string& bootstrap, const std::string& topic,
                              const std::vector<TestMessage>& messages) {
  rd_kafka_t* p = NewKafkaClient(RD_KAFKA_PRODUCER, bootstrap,
                                 {{"enable.idempotence", "true"}, {"compression.codec", "lz4"},
                                  {"linger.ms", "5"}, {"message.timeout.ms", "30000"}});
  for (const TestMessage& m : messages) {
    rd_kafka_headers_t* headers = nullptr;
    if (!m.headers.empty()) {
      headers = rd_kafka_headers_new(m.headers.size());
      for (const auto& [k, v] : m.headers) {
        rd_kafka_header_add(headers, k.data(), k.size(), v.data(), v.size());
      }
    }
    rd_kafka_resp_err_t err;
    for (;;) {
      err = rd_kafka_producev(
          p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(m.partition),
          RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
          RD_KAFKA_V_TIMESTAMP(m.timestamp), RD_KAFKA_V_HEADERS(headers),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(p, 10);
    }
    EXPECT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && headers != nullptr) rd_kafka_headers_destroy(headers);
    rd_kafka_poll(p, 0);
  }
  EXPECT_EQ(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  const size_t unacked = static_cast<size_t>(rd_kafka_outq_len(p));
  rd_kafka_destroy(p);
  return messages.size() - unacked;
}

// Reads every partition of `topic` from the start until `n` messages have
// arrived or `timeout` passed; returns them all (duplicates included), in
// arrival order. `read_committed` skips aborted transactions' records.
inline std::vector<TestMessage> ConsumeMessages(const std::string& bootstrap,
                                                const std::string& topic, size_t n,
                                                std::chrono::seconds timeout,
                                                bool read_committed = true) {
  static int groups = 0;
  rd_kafka_t* c = NewKafkaClient(
      RD_KAFKA_CONSUMER, bootstrap,
      {{"group.id", "test-reader-" + topic + "-" + std::to_string(++groups)},
       {"auto.offset.reset", "earliest"},
       {"enable.auto.commit", "false"},
       {"isolation.level", read_committed ? "read_committed" : "read_uncommitted"}});
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  EXPECT_EQ(rd_kafka_subscribe(c, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  std::vector<TestMessage> seen;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (seen.size() < n && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      TestMessage t;
      if (m->key != nullptr) t.key.assign(static_cast<const char*>(m->key), m->key_len);
      t.value.assign(static_cast<const char*>(m->payload), m->len);
      t.partition = m->partition;
      t.offset = m->offset;
      seen.push_back(std::move(t));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return seen;
}

}  // namespace eddy::testing

#endif  // EDDY_TESTS_TESTING_KAFKA_H_
