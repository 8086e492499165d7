// The Kafka source and sink against the embedded broker: every record read
// once with its key, headers, timestamp and offset; positions restored;
// backpressure bounds what is buffered; delivery failures and deployment
// mistakes (missing topics, unreachable brokers, bad properties) are errors.
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/embedded_broker.h"
#include "connectors/kafka_sink.h"
#include "connectors/kafka_source.h"
#include "gtest/gtest.h"
#include "state/state_directory.h"
#include "tests/testing/kafka.h"

namespace eddy {
namespace {

using testing::ConsumeMessages;
using testing::ProduceMessages;
using testing::TestMessage;

struct Cluster {
  std::unique_ptr<EmbeddedBroker> broker;
  std::string bootstrap;
};

Cluster StartCluster(const std::vector<std::pair<std::string, int>>& topics) {
  Cluster c;
  auto broker = EmbeddedBroker::Start({1});
  EXPECT_TRUE(broker.ok()) << broker.status();
  c.broker = *std::move(broker);
  c.bootstrap = c.broker->bootstrap_servers();
  for (const auto& [name, partitions] : topics) {
    EXPECT_TRUE(c.broker->CreateTopic(name, partitions).ok());
  }
  return c;
}

// A fresh state directory for one test, named after it.
absl::StatusOr<std::unique_ptr<StateDirectory>> OpenStateDirectory(const std::string& name) {
  StateDirectory::Options so;
  so.path = ::testing::TempDir() + "/eddy_kafka_" + name + "_" + std::to_string(getpid());
  so.job = "eos";
  return StateDirectory::Open(so);
}

KafkaConsumerGroup::Options GroupOptions(const Cluster& c, const std::string& topic) {
  KafkaConsumerGroup::Options o;
  o.kafka.brokers = c.bootstrap;
  o.kafka.connect_timeout = absl::Seconds(10);
  o.group = "g-" + topic;
  // The embedded broker hands a departed member's partitions on only after
  // its session times out.
  o.kafka.properties["session.timeout.ms"] = "6000";
  o.kafka.properties["heartbeat.interval.ms"] = "500";
  o.topics = {topic};
  return o;
}

// `topic` holds exactly `n` records, all different (none lost, none twice).
void ExpectEachOnce(const std::string& bootstrap, const std::string& topic, size_t n) {
  const std::vector<TestMessage> got = ConsumeMessages(bootstrap, topic, n, std::chrono::seconds(30));
  std::set<std::string> values;
  for (const TestMessage& m : got) values.insert(m.value);
  EXPECT_EQ(got.size(), n);
  EXPECT_EQ(values.size(), n);
}

struct ReadRecord {
  std::string value;
  std::string key;
  std::string partition;
  uint64_t offset = 0;
  int64_t timestamp = 0;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Reads from the partitions until `n` records or a timeout.
std::vector<ReadRecord> ReadUntil(KafkaConsumerGroup& group,
                                  std::vector<std::unique_ptr<InputPartition>>& parts, size_t n,
                                  size_t per_read = 100) {
  std::vector<ReadRecord> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    RawRecordBatch batch;
    for (size_t p = 0; p < parts.size(); ++p) {
      absl::StatusOr<size_t> got = parts[p]->Read(per_read, static_cast<uint32_t>(p), batch);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok()) return out;
    }
    batch.Pad();
    for (const RawRecordBatch::Entry& e : batch.entries) {
      RecordMeta meta(batch, e);
      ReadRecord r;
      r.value = std::string(batch.View(e));
      r.key = std::string(meta.key());
      r.partition = parts[e.partition]->name();
      r.offset = e.position;
      r.timestamp = meta.timestamp();
      for (const auto& [k, v] : meta.Headers()) r.headers.emplace_back(std::string(k), std::string(v));
      out.push_back(std::move(r));
    }
    if (batch.entries.empty()) group.WaitForRecords(absl::Milliseconds(100));
  }
  return out;
}

TEST(KafkaSourceTest, ReadsEveryRecordOnceWithKeyHeadersTimestampAndOrigin) {
  Cluster c = StartCluster({{"events", 3}});
  std::vector<TestMessage> msgs;
  for (int i = 0; i < 3000; ++i) {
    TestMessage m;
    m.key = absl::StrCat("user", i % 17);
    m.value = absl::StrCat("{\"i\":", i, "}");
    m.timestamp = 1735689600000 + i;
    if (i % 3 == 0) m.headers = {{"trace", absl::StrCat("t", i)}, {"empty", ""}};
    msgs.push_back(m);
  }
  ASSERT_EQ(ProduceMessages(c.bootstrap, "events", msgs), msgs.size());

  auto group = KafkaConsumerGroup::Open(GroupOptions(c, "events"));
  ASSERT_TRUE(group.ok()) << group.status();
  auto parts = (*group)->TakePartitions("events");
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[2]->name(), "events/2");
  std::vector<ReadRecord> got = ReadUntil(**group, parts, msgs.size());
  ASSERT_EQ(got.size(), msgs.size());

  std::map<std::string, ReadRecord> by_value;
  std::map<std::string, uint64_t> next_offset;
  for (const ReadRecord& r : got) {
    EXPECT_TRUE(by_value.emplace(r.value, r).second) << "read twice: " << r.value;
    // Per partition, offsets arrive in order without gaps.
    EXPECT_EQ(r.offset, next_offset[r.partition]) << r.partition;
    next_offset[r.partition] = r.offset + 1;
  }
  std::map<std::string, std::string> partition_of_key;
  for (int i = 0; i < 3000; ++i) {
    const ReadRecord& r = by_value.at(msgs[i].value);
    EXPECT_EQ(r.key, msgs[i].key);
    EXPECT_EQ(r.timestamp, msgs[i].timestamp);
    EXPECT_EQ(r.headers, msgs[i].headers);
    // One key, one partition (Kafka's partitioner), so per-key order holds.
    auto [it, fresh] = partition_of_key.emplace(r.key, r.partition);
    EXPECT_EQ(it->second, r.partition);
  }
  for (const auto& p : parts) {
    EXPECT_TRUE(p->assigned());
    EXPECT_EQ(p->Position(), absl::StrCat(next_offset[p->name()]));
  }
  EXPECT_EQ((*group)->Lag(), 0);
}

TEST(KafkaSourceTest, AssignedPartitionsStartAtRestoredPositionsOrCommittedOffsets) {
  Cluster c = StartCluster({{"events", 2}});
  std::vector<TestMessage> msgs;
  for (int i = 0; i < 200; ++i) {
    TestMessage m;
    m.value = absl::StrCat("v", i);
    m.partition = i % 2;
    msgs.push_back(m);
  }
  ASSERT_EQ(ProduceMessages(c.bootstrap, "events", msgs), msgs.size());
  {
    // A first member reads partition 1 up to offset 40 and commits.
    auto group = KafkaConsumerGroup::Open(GroupOptions(c, "events"));
    ASSERT_TRUE(group.ok());
    auto parts = (*group)->TakePartitions("events");
    std::vector<ReadRecord> got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    size_t from1 = 0;
    while (from1 < 40 && std::chrono::steady_clock::now() < deadline) {
      RawRecordBatch batch;
      auto n = parts[1]->Read(40 - from1, 1, batch);
      ASSERT_TRUE(n.ok());
      from1 += *n;
      if (*n == 0) (*group)->WaitForRecords(absl::Milliseconds(100));
    }
    ASSERT_EQ(parts[1]->Position(), "40");
    ASSERT_TRUE((*group)->CommitPositions(/*wait=*/true).ok());
  }
  // The next member restores partition 0 at 70 (its checkpoint); its
  // checkpoint for partition 1 says 20, but the group has gone further (40):
  // a stale position gives way to the committed offset.
  auto group = KafkaConsumerGroup::Open(GroupOptions(c, "events"));
  ASSERT_TRUE(group.ok());
  auto parts = (*group)->TakePartitions("events");
  ASSERT_TRUE(parts[0]->SeekTo("70").ok());
  ASSERT_TRUE(parts[1]->SeekTo("20").ok());
  // Until assigned, a restored position is what a checkpoint would record.
  EXPECT_EQ(parts[0]->Position(), "70");
  EXPECT_FALSE(parts[0]->SeekTo("x").ok());
  std::vector<ReadRecord> got = ReadUntil(**group, parts, 30 + 60);
  ASSERT_EQ(got.size(), 90u);
  std::set<uint64_t> offsets0, offsets1;
  for (const ReadRecord& r : got) (r.partition == "events/0" ? offsets0 : offsets1).insert(r.offset);
  EXPECT_EQ(*offsets0.begin(), 70u);
  EXPECT_EQ(*offsets1.begin(), 40u);
  EXPECT_EQ(offsets0.size(), 30u);
  EXPECT_EQ(offsets1.size(), 60u);
}

TEST(KafkaSourceTest, ACommittedPositionHandsThePartitionsWatermarkToItsNextReader) {
  // A reader that took a partition over at a committed offset never sees the
  // records before it, which set the partition's watermark: the watermark
  // comes with the offset, and the caller's metadata is unchanged by it.
  Cluster c = StartCluster({{"events", 2}});
  std::vector<TestMessage> msgs;
  for (int i = 0; i < 100; ++i) {
    TestMessage m;
    m.value = absl::StrCat("v", i);
    m.partition = i % 2;
    msgs.push_back(m);
  }
  ASSERT_EQ(ProduceMessages(c.bootstrap, "events", msgs), msgs.size());
  {
    auto group = KafkaConsumerGroup::Open(GroupOptions(c, "events"));
    ASSERT_TRUE(group.ok());
    auto parts = (*group)->TakePartitions("events");
    ASSERT_EQ(ReadUntil(**group, parts, msgs.size()).size(), msgs.size());
    EXPECT_EQ(parts[0]->handed_over_watermark(), kMinEventTime);  // nothing committed yet
    parts[0]->NoteWatermark(1735689600123);
    parts[1]->NoteWatermark(-5);
    ASSERT_TRUE((*group)->CommitPositionsOrFail("eddy-interval:run:1").ok());
    auto committed = (*group)->CommittedMetadata({"events"});
    ASSERT_TRUE(committed.ok());
    ASSERT_EQ(committed->size(), 2u);
    for (const auto& p : *committed) EXPECT_EQ(p.metadata, "eddy-interval:run:1");
  }
  {
    auto group = KafkaConsumerGroup::Open(GroupOptions(c, "events"));
    ASSERT_TRUE(group.ok());
    auto parts = (*group)->TakePartitions("events");
    ASSERT_TRUE((*group)->WaitForAssignment(absl::Seconds(30)).ok());
    ASSERT_TRUE(parts[0]->assigned() && parts[1]->assigned());
    EXPECT_EQ(parts[0]->handed_over_watermark(), 1735689600123);
    EXPECT_EQ(parts[1]->handed_over_watermark(), -5);
    // At-least-once commits carry it too.
    parts[0]->NoteWatermark(1735689700000);
    ASSERT_TRUE((*group)->CommitPositions(/*wait=*/true).ok());
    auto committed = (*group)->CommittedMetadata({"events"});
    ASSERT_TRUE(committed.ok());
    EXPECT_EQ((*committed)[0].metadata, "");
  }
  auto group = KafkaConsumerGroup::Open(GroupOptions(c, "events"));
  ASSERT_TRUE(group.ok());
  auto parts = (*group)->TakePartitions("events");
  ASSERT_TRUE((*group)->WaitForAssignment(absl::Seconds(30)).ok());
  EXPECT_EQ(parts[0]->handed_over_watermark(), 1735689700000);
  // Not noted since its assignment, partition 1's last commit is left as it was.
  EXPECT_EQ(parts[1]->handed_over_watermark(), -5);
}

TEST(KafkaSourceTest, PausesAPartitionWhoseBufferIsFullAndLosesNothing) {
  Cluster c = StartCluster({{"events", 2}});
  std::vector<TestMessage> msgs;
  for (int i = 0; i < 8000; ++i) {
    TestMessage m;
    m.value = std::string(100, 'a' + i % 26) + std::to_string(i);
    m.partition = i % 2;
    msgs.push_back(m);
  }
  ASSERT_EQ(ProduceMessages(c.bootstrap, "events", msgs), msgs.size());
  KafkaConsumerGroup::Options o = GroupOptions(c, "events");
  o.max_buffered_bytes = 64 << 10;
  auto group = KafkaConsumerGroup::Open(o);
  ASSERT_TRUE(group.ok());
  auto parts = (*group)->TakePartitions("events");
  // Only partition 0 is read at first: partition 1's buffer fills and it is
  // paused; what it buffers stays near the limit (one fetch of slack).
  std::set<std::string> values;
  size_t max_buffered = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (values.size() < msgs.size() && std::chrono::steady_clock::now() < deadline) {
    RawRecordBatch batch;
    ASSERT_TRUE(parts[0]->Read(50, 0, batch).ok());
    if (values.size() > 3500) {
      ASSERT_TRUE(parts[1]->Read(50, 1, batch).ok());
    }
    batch.Pad();
    for (const auto& e : batch.entries) values.insert(std::string(batch.View(e)));
    max_buffered = std::max(max_buffered, (*group)->buffered_bytes());
    if (batch.entries.empty()) (*group)->WaitForRecords(absl::Milliseconds(50));
  }
  EXPECT_EQ(values.size(), msgs.size());
  EXPECT_GT(max_buffered, size_t{32} << 10);
  EXPECT_LT(max_buffered, (size_t{64} << 10) + 1024 * 120 * 2);
}

TEST(KafkaSourceTest, APositionDeletedByRetentionIsDataLossNotASilentSkip) {
  // The embedded broker keeps the newest ~5 MiB of a partition: 9 MiB
  // produced move its log start far past offset 5.
  Cluster c = StartCluster({{"events", 1}});
  std::vector<TestMessage> msgs(60000);
  std::mt19937_64 rng(1);
  for (TestMessage& m : msgs) {
    for (int k = 0; k < 10; ++k) absl::StrAppend(&m.value, absl::Hex(rng(), absl::kZeroPad16));
  }
  ASSERT_EQ(ProduceMessages(c.bootstrap, "events", msgs), msgs.size());
  auto group = KafkaConsumerGroup::Open(GroupOptions(c, "events"));
  ASSERT_TRUE(group.ok());
  auto parts = (*group)->TakePartitions("events");
  ASSERT_TRUE(parts[0]->SeekTo("5").ok());  // a checkpoint from long ago
  absl::Status status;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (status.ok() && std::chrono::steady_clock::now() < deadline) {
    RawRecordBatch batch;
    absl::StatusOr<size_t> n = parts[0]->Read(100, 0, batch);
    status = n.status();
    if (n.ok() && *n == 0) (*group)->WaitForRecords(absl::Milliseconds(100));
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(status.message().find("events/0: offsets 5 to "), std::string::npos) << status;
}

TEST(KafkaSourceTest, DeploymentMistakesAreClearErrors) {
  Cluster c = StartCluster({{"events", 1}});
  KafkaConsumerGroup::Options o = GroupOptions(c, "nope");
  auto missing = KafkaConsumerGroup::Open(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("missing at " + c.bootstrap + ": nope; create it first"), std::string::npos);

  o = GroupOptions(c, "events");
  o.kafka.properties["no.such.property"] = "1";
  auto bad = KafkaConsumerGroup::Open(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--kafka no.such.property"), std::string::npos);

  o = GroupOptions(c, "events");
  o.kafka.properties["sasl.password"] = "hunter2";
  o.kafka.properties["security.protocol"] = "bogus";
  auto secret = KafkaConsumerGroup::Open(o);
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().message().find("hunter2"), std::string::npos);

  o = GroupOptions(c, "events");
  o.kafka.brokers = "127.0.0.1:1";
  o.kafka.connect_timeout = absl::Seconds(1);
  const auto start = std::chrono::steady_clock::now();
  auto unreachable = KafkaConsumerGroup::Open(o);
  ASSERT_FALSE(unreachable.ok());
  EXPECT_EQ(unreachable.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(unreachable.status().message().find("cannot reach Kafka at 127.0.0.1:1"),
            std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));

  KafkaOptions ko;
  ko.brokers = c.bootstrap;
  auto no_output = KafkaOutputFactory::Open(ko, {{"predictions", "missing.topic"}});
  ASSERT_FALSE(no_output.ok());
  EXPECT_NE(no_output.status().message().find("missing.topic (output predictions)"),
            std::string::npos);
}

TEST(KafkaSinkTest, SyncWaitsForEveryAcknowledgement) {
  Cluster c = StartCluster({{"out", 3}});
  KafkaOptions ko;
  ko.brokers = c.bootstrap;
  auto factory = KafkaOutputFactory::Open(ko, {{"predictions", "out"}});
  ASSERT_TRUE(factory.ok()) << factory.status();
  auto writer = (*factory)->Open("predictions");
  ASSERT_TRUE(writer.ok());
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE((*writer)->Write(absl::StrCat("r", i)).ok());
  auto synced = (*writer)->Sync();
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_EQ(*synced, 5000u);
  EXPECT_EQ((*factory)->delivered(), 5000u);
  ExpectEachOnce(c.bootstrap, "out", 5000);
}

TEST(KafkaSinkTest, ARecordOverTheMessageLimitIsRefusedBeforeItIsStaged) {
  Cluster c = StartCluster({{"out", 1}});
  KafkaOptions ko;
  ko.brokers = c.bootstrap;
  auto factory = KafkaOutputFactory::Open(ko, {{"s", "out"}}, /*exactly_once=*/true);
  ASSERT_TRUE(factory.ok());
  auto writer = (*factory)->Open("s");
  ASSERT_TRUE(writer.ok());
  absl::Status status = (*writer)->Write(std::string(2 << 20, 'x'));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("exceeds message.max.bytes (1000000)"), std::string::npos)
      << status;
  EXPECT_EQ((*factory)->held_bytes(), 0u);
  EXPECT_TRUE((*writer)->Write(std::string(100000, 'x')).ok());
}

TEST(KafkaSinkTest, ARefusedDeliveryFailsTheWriterInsteadOfDroppingRecords) {
  Cluster c = StartCluster({{"out", 1}});
  KafkaOptions ko;
  ko.brokers = c.bootstrap;
  ko.properties["producer.delivery.timeout.ms"] = "3000";
  auto factory = KafkaOutputFactory::Open(ko, {{"alerts", "out"}});
  ASSERT_TRUE(factory.ok()) << factory.status();
  auto writer = (*factory)->Open("alerts");
  ASSERT_TRUE(writer.ok());
  // Every Produce request is refused (TOPIC_AUTHORIZATION_FAILED, permanent).
  c.broker->PushRequestErrors(/*Produce=*/0, 100, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  absl::Status status;
  for (int i = 0; i < 100 && status.ok(); ++i) status = (*writer)->Write(absl::StrCat("a", i));
  if (status.ok()) status = (*writer)->Sync().status();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("delivery to Kafka topic 'out' failed"), std::string::npos)
      << status;
}

TEST(KafkaSinkTest, ExactlyOnceStagesWithTheCheckpointAndRecoversAnInterruptedPublish) {
  Cluster c = StartCluster({{"out", 2}});
  auto state = OpenStateDirectory("eos");
  ASSERT_TRUE(state.ok()) << state.status();
  KafkaOptions ko;
  ko.brokers = c.bootstrap;
  // Records in "out" (its partitions' high watermarks).
  const auto count = [&] {
    rd_kafka_t* rk = testing::NewKafkaClient(RD_KAFKA_CONSUMER, c.bootstrap, {{"group.id", "count"}});
    int64_t total = 0;
    for (int p = 0; p < 2; ++p) {
      int64_t low = 0, high = 0;
      EXPECT_EQ(rd_kafka_query_watermark_offsets(rk, "out", p, &low, &high, 10000),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      total += high;
    }
    rd_kafka_destroy(rk);
    return static_cast<size_t>(total);
  };
  {
    auto f = KafkaOutputFactory::Open(ko, {{"s", "out"}}, /*exactly_once=*/true);
    ASSERT_TRUE(f.ok()) << f.status();
    auto w = (*f)->Open("s");
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 100; ++i) ASSERT_TRUE((*w)->Write(absl::StrCat("a", i)).ok());
    EXPECT_GT((*f)->held_bytes(), 0u);
    ASSERT_TRUE((*w)->Sync().ok());
    // Nothing reaches Kafka before the checkpoint.
    EXPECT_EQ((*f)->delivered(), 0u);
    auto batch = (*state)->NewBatch();
    ASSERT_TRUE((*f)->Stage(*batch).ok());
    ASSERT_TRUE((*state)->Commit(*batch).ok());
    ASSERT_TRUE((*f)->Publish().ok());
    EXPECT_EQ((*f)->delivered(), 100u);
    // The next checkpoint is committed, then the process "dies" before
    // publishing it.
    for (int i = 0; i < 50; ++i) ASSERT_TRUE((*w)->Write(absl::StrCat("b", i)).ok());
    auto batch2 = (*state)->NewBatch();
    ASSERT_TRUE((*f)->Stage(*batch2).ok());
    ASSERT_TRUE((*state)->Commit(*batch2).ok());
  }
  EXPECT_EQ(count(), 100u);
  {
    auto f = KafkaOutputFactory::Open(ko, {{"s", "out"}}, true);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Recover(**state).ok());
    EXPECT_EQ((*f)->recovered(), 50u);
  }
  // Recovering again finds everything delivered: nothing twice.
  {
    auto f = KafkaOutputFactory::Open(ko, {{"s", "out"}}, true);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Recover(**state).ok());
    EXPECT_EQ((*f)->recovered(), 0u);
  }
  ExpectEachOnce(c.bootstrap, "out", 150);
}

// Across processes: an interval one process staged (and committed the
// offsets for, with a pointer to it) but never published is completed by
// whichever process finds the pointer, exactly once.
TEST(KafkaSinkTest, AnotherProcessCompletesAStagedIntervalFromTheCommittedPointer) {
  Cluster c = StartCluster({{"out", 2}, {"job.staging", 1}, {"events", 2}});
  auto state = OpenStateDirectory("share");
  ASSERT_TRUE(state.ok()) << state.status();
  KafkaOptions ko;
  ko.brokers = c.bootstrap;
  std::string published_pointer, unpublished_pointer;
  {
    auto f = KafkaOutputFactory::Open(ko, {{"s", "out"}}, /*exactly_once=*/true, "job.staging");
    ASSERT_TRUE(f.ok()) << f.status();
    auto w = (*f)->Open("s");
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 100; ++i) ASSERT_TRUE((*w)->Write(absl::StrCat("a", i)).ok());
    auto batch = (*state)->NewBatch();
    ASSERT_TRUE((*f)->Stage(*batch).ok());
    auto pointer = (*f)->ShareStaged();
    ASSERT_TRUE(pointer.ok()) << pointer.status();
    published_pointer = *pointer;
    ASSERT_TRUE((*state)->Commit(*batch).ok());
    ASSERT_TRUE((*f)->Publish().ok());
    // The next interval is staged and shared, then the process "dies".
    for (int i = 0; i < 50; ++i) ASSERT_TRUE((*w)->Write(absl::StrCat("b", i)).ok());
    auto batch2 = (*state)->NewBatch();
    ASSERT_TRUE((*f)->Stage(*batch2).ok());
    pointer = (*f)->ShareStaged();
    ASSERT_TRUE(pointer.ok()) << pointer.status();
    unpublished_pointer = *pointer;
  }
  ASSERT_NE(published_pointer, unpublished_pointer);

  // The pointer travels in the group's committed offsets.
  {
    std::vector<TestMessage> msgs(10);
    for (int i = 0; i < 10; ++i) msgs[i].partition = i % 2;
    ASSERT_EQ(ProduceMessages(c.bootstrap, "events", msgs), 10u);
    auto group = KafkaConsumerGroup::Open(GroupOptions(c, "events"));
    ASSERT_TRUE(group.ok());
    auto parts = (*group)->TakePartitions("events");
    ASSERT_EQ(ReadUntil(**group, parts, 10).size(), 10u);
    ASSERT_TRUE((*group)->CommitPositionsOrFail(unpublished_pointer).ok());
    auto committed = (*group)->CommittedMetadata({"events"});
    ASSERT_TRUE(committed.ok()) << committed.status();
    ASSERT_EQ(committed->size(), 2u);
    for (const auto& p : *committed) {
      EXPECT_EQ(p.metadata, unpublished_pointer) << p.partition;
      EXPECT_TRUE(p.assigned);
    }
  }

  // Another process (no access to the first one's state directory).
  {
    auto f = KafkaOutputFactory::Open(ko, {{"s", "out"}}, true, "job.staging");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Complete(unpublished_pointer).ok());
    EXPECT_EQ((*f)->recovered(), 50u);
    // Completing again, or completing the published interval: nothing twice.
    ASSERT_TRUE((*f)->Complete(unpublished_pointer).ok());
    ASSERT_TRUE((*f)->Complete(published_pointer).ok());
    EXPECT_EQ((*f)->recovered(), 50u);
    // Not a pointer of Eddy's: ignored.
    EXPECT_TRUE((*f)->Complete("someone else's metadata").ok());
  }
  ExpectEachOnce(c.bootstrap, "out", 150);
}

}  // namespace
}  // namespace eddy
