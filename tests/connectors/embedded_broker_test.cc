// The embedded broker is a real Kafka cluster on loopback: ordinary
// librdkafka producers and consumers use it, faults can be injected, and
// `eddy broker` serves it until SIGTERM.
#include "connectors/embedded_broker.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/command.h"

namespace eddy {
namespace {

rd_kafka_t* NewClient(rd_kafka_type_t type, const std::string& bootstrap,
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

// Produces `n` messages "m<i>" with keys "k<i>"; returns how many were acked.
int Produce(const std::string& bootstrap, const std::string& topic, int n,
            EmbeddedBroker* broker_to_restore = nullptr) {
  rd_kafka_t* p = NewClient(RD_KAFKA_PRODUCER, bootstrap,
                            {{"enable.idempotence", "true"}, {"compression.codec", "lz4"},
                             {"linger.ms", "5"}, {"message.timeout.ms", "30000"}});
  for (int i = 0; i < n; ++i) {
    const std::string key = absl::StrCat("k", i);
    const std::string value = absl::StrCat("m", i);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    EXPECT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    rd_kafka_poll(p, 0);
    if (broker_to_restore != nullptr && i == n / 2) {
      // Bring the broker back while messages wait to be delivered.
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      EXPECT_TRUE(broker_to_restore->SetBrokerUp(1).ok());
    }
  }
  EXPECT_EQ(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  const int unacked = rd_kafka_outq_len(p);
  rd_kafka_destroy(p);
  return n - unacked;
}

// Consumes from the start of `topic` until `n` messages or a timeout.
std::set<std::string> Consume(const std::string& bootstrap, const std::string& topic, int n) {
  rd_kafka_t* c = NewClient(RD_KAFKA_CONSUMER, bootstrap,
                            {{"group.id", "test-" + topic}, {"auto.offset.reset", "earliest"},
                             {"enable.auto.commit", "false"}});
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  EXPECT_EQ(rd_kafka_subscribe(c, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  std::set<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (static_cast<int>(seen.size()) < n && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 200);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      seen.emplace(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return seen;
}

TEST(EmbeddedBrokerTest, ProducersAndConsumersExchangeEveryMessage) {
  for (int brokers : {1, 3}) {
    absl::StatusOr<std::unique_ptr<EmbeddedBroker>> broker = EmbeddedBroker::Start({brokers});
    ASSERT_TRUE(broker.ok()) << broker.status();
    EXPECT_EQ((*broker)->bootstrap_servers().rfind("127.0.0.1:", 0), 0u);
    ASSERT_TRUE((*broker)->CreateTopic("events", 4, brokers).ok());
    EXPECT_FALSE((*broker)->CreateTopic("bad", 0).ok());
    ASSERT_EQ(Produce((*broker)->bootstrap_servers(), "events", 2000), 2000);
    const std::set<std::string> seen = Consume((*broker)->bootstrap_servers(), "events", 2000);
    EXPECT_EQ(seen.size(), 2000u) << brokers << " brokers";
  }
}

TEST(EmbeddedBrokerTest, ProducerRidesOutABrokerOutage) {
  absl::StatusOr<std::unique_ptr<EmbeddedBroker>> broker = EmbeddedBroker::Start({1});
  ASSERT_TRUE(broker.ok());
  ASSERT_TRUE((*broker)->CreateTopic("events", 2).ok());
  ASSERT_TRUE((*broker)->SetBrokerDown(1).ok());
  // Messages produced while the broker is down are delivered once it is
  // back, exactly once (idempotent producer).
  EXPECT_EQ(Produce((*broker)->bootstrap_servers(), "events", 500, broker->get()), 500);
  EXPECT_EQ(Consume((*broker)->bootstrap_servers(), "events", 500).size(), 500u);
}

TEST(EmbeddedBrokerTest, EddyBrokerCommandServesUntilSigterm) {
  const std::string dir = testing::MakeScratchDir("broker_cli");
  const std::string out = dir + "/broker.out";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (freopen(out.c_str(), "w", stdout) == nullptr) _exit(127);
    const std::string bin = testing::EddyBinary();
    execl(bin.c_str(), bin.c_str(), "broker", "--topic", "ctr.events:3", nullptr);
    _exit(127);
  }
  std::string bootstrap;
  for (int i = 0; i < 100 && bootstrap.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string text = testing::ReadFileOrEmpty(out);
    const size_t at = text.find("bootstrap: ");
    const size_t nl = text.find('\n', at);
    if (at != std::string::npos && nl != std::string::npos) bootstrap = text.substr(at + 11, nl - at - 11);
  }
  ASSERT_FALSE(bootstrap.empty()) << "no bootstrap line";
  EXPECT_EQ(Produce(bootstrap, "ctr.events", 300), 300);
  EXPECT_EQ(Consume(bootstrap, "ctr.events", 300).size(), 300u);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace eddy
