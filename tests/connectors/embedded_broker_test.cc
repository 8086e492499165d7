// The embedded broker is a real Kafka cluster on loopback: ordinary
// librdkafka producers and consumers use it, faults can be injected, and
// `eddy broker` serves it until SIGTERM.
#include "connectors/embedded_broker.h"

#include <librdkafka/rdkafka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
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
#include "tests/testing/kafka.h"

namespace eddy {
namespace {

using testing::NewKafkaClient;

// Produces `n` messages "m<i>" with keys "k<i>"; returns how many were acked.
int Produce(const std::string& bootstrap, const std::string& topic, int n,
            EmbeddedBroker* broker_to_restore = nullptr) {
  rd_kafka_t* p = NewKafkaClient(RD_KAFKA_PRODUCER, bootstrap,
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
  rd_kafka_t* c = NewKafkaClient(RD_KAFKA_CONSUMER, bootstrap,
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

// A loopback port nobody listens on right now.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

void ServeAndUse(const std::vector<std::string>& extra_args, const std::string& want_bootstrap) {
  const std::string dir = testing::MakeScratchDir("broker_cli");
  const std::string out = dir + "/broker.out";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (freopen(out.c_str(), "w", stdout) == nullptr) _exit(127);
    std::string bin = testing::EddyBinary();
    std::vector<std::string> args = {bin, "broker", "--topic", "ctr.events:3"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
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
  if (!want_bootstrap.empty()) {
    EXPECT_EQ(bootstrap, want_bootstrap);
  }
  EXPECT_EQ(Produce(bootstrap, "ctr.events", 300), 300);
  EXPECT_EQ(Consume(bootstrap, "ctr.events", 300).size(), 300u);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(EmbeddedBrokerTest, EddyBrokerCommandServesUntilSigterm) { ServeAndUse({}, ""); }

TEST(EmbeddedBrokerTest, EddyBrokerAcceptsClientsOnARequestedPort) {
  const int port = FreePort();
  ServeAndUse({"--port", std::to_string(port)}, absl::StrCat("127.0.0.1:", port));
}

TEST(EmbeddedBrokerTest, EddyBrokerRefusesABadOrTakenPort) {
  const std::string dir = testing::MakeScratchDir("broker_port");
  testing::CommandResult r = testing::RunCommand(testing::EddyBinary() + " broker --port 0", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--port: 0 is outside"), std::string::npos) << r.err;
  // Hold a port, then ask for it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  r = testing::RunCommand(
      absl::StrCat(testing::EddyBinary(), " broker --port ", ntohs(addr.sin_port)), dir);
  close(fd);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot listen on 127.0.0.1:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace eddy
