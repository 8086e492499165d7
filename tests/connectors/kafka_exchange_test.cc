// Keyed state across processes when the broker no longer holds the start of
// the changelog: the embedded broker keeps ~5 MiB per partition, as a real
// one keeps what retention allows. A new owner rebuilds the state from the
// newest complete snapshot it finds and the changes after it, and gets
// exactly what the last owner committed; without snapshots that is a
// data-loss error, never an empty or partial state.
#include "connectors/kafka_exchange.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "connectors/embedded_broker.h"
#include "connectors/kafka_source.h"
#include "engine/key.h"
#include "gtest/gtest.h"
#include "state/state_directory.h"
#include "tests/testing/command.h"
#include "tests/testing/kafka.h"

namespace eddy {
namespace {

constexpr int kPartitions = 4;
constexpr char kRepartition[] = "x.by_key.repartition";
constexpr char kChangelog[] = "x.by_key.changelog";

// One process's side of the KeyBy: its state directory, its group member
// and its exchange. Declared so that the exchange goes before the group.
struct Member {
  std::unique_ptr<StateDirectory> dir;
  std::unique_ptr<KafkaConsumerGroup> group;
  std::unique_ptr<KafkaExchange> exchange;
  int table = -1;
};

// Joins the group and waits until it holds every partition (the previous
// member must have left). Restore is left to the test. `path`: the state
// directory (a new one if empty).
std::unique_ptr<Member> Join(const std::string& bootstrap, const std::string& name,
                             size_t snapshot_bytes, std::string path = "") {
  auto m = std::make_unique<Member>();
  if (path.empty()) path = testing::MakeScratchDir(name) + "/db";
  auto dir = StateDirectory::Open({path, "x"});
  EXPECT_TRUE(dir.ok()) << dir.status();
  if (!dir.ok()) return nullptr;
  m->dir = *std::move(dir);
  KafkaConsumerGroup::Options go;
  go.kafka.brokers = bootstrap;
  go.kafka.connect_timeout = absl::Seconds(10);
  go.kafka.properties["session.timeout.ms"] = "6000";
  go.kafka.properties["heartbeat.interval.ms"] = "500";
  go.group = "g";
  go.topics = {kRepartition};
  auto group = KafkaConsumerGroup::Open(go);
  EXPECT_TRUE(group.ok()) << group.status();
  if (!group.ok()) return nullptr;
  m->group = *std::move(group);
  KafkaExchange::Options xo;
  xo.kafka.brokers = bootstrap;
  xo.name = "by_key";
  xo.repartition_topic = kRepartition;
  xo.changelog_topic = kChangelog;
  xo.table_prefixes = {"op/"};
  xo.sender_id = name;
  xo.watermark_entries = 1;
  xo.snapshot_bytes = snapshot_bytes;
  auto x = KafkaExchange::Open(std::move(xo), m->group.get());
  EXPECT_TRUE(x.ok()) << x.status();
  if (!x.ok()) return nullptr;
  m->exchange = *std::move(x);
  auto table = m->dir->Table("op/value");
  EXPECT_TRUE(table.ok());
  m->table = *table;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (m->group->assigned_partitions() < kPartitions &&
         std::chrono::steady_clock::now() < deadline) {
    m->group->WaitForRecords(absl::Milliseconds(100));
  }
  EXPECT_EQ(m->group->assigned_partitions(), static_cast<size_t>(kPartitions));
  return m;
}

// What the state of op/value should be: key -> value.
using Contents = std::map<std::string, std::string>;

Contents Read(const Member& m) {
  Contents out;
  EXPECT_TRUE(m.dir->Scan(m.table, "", [&](absl::string_view k, absl::string_view v) {
                      out.emplace(std::string(k), std::string(v));
                      return true;
                    }).ok());
  return out;
}

// "" if `got` equals `want`, else how many keys are missing, extra or
// different (the values are kilobytes of random bytes: not printed).
std::string Diff(const Contents& want, const Contents& got) {
  size_t missing = 0, extra = 0, different = 0;
  for (const auto& [k, v] : want) {
    auto it = got.find(k);
    if (it == got.end()) {
      ++missing;
    } else if (it->second != v) {
      ++different;
    }
  }
  for (const auto& [k, v] : got) extra += want.count(k) == 0 ? 1 : 0;
  if (missing + extra + different == 0) return "";
  return absl::StrCat(missing, " of ", want.size(), " keys missing, ", extra, " extra, ",
                      different, " with another value");
}

std::string Key(uint32_t n) {
  std::string key;
  AppendKeyGroupPrefix(n % kKeyGroups, key);
  absl::StrAppend(&key, "k", n);
  return key;
}

// One checkpoint of random changes to ~250 of keys 0..`keys`-1 (values of
// 0.5-2 KiB of random bytes, which lz4 cannot shrink: retention comes
// soon), written to the changelog and committed as the engine does.
void Checkpoint(Member& m, std::mt19937_64& rng, Contents& want, uint32_t keys = 1000) {
  auto batch = m.dir->NewBatch();
  for (int i = 0; i < 250; ++i) {
    const std::string key = Key(static_cast<uint32_t>(rng() % keys));
    if (rng() % 8 == 0) {
      batch->Delete(m.table, key);
      want.erase(key);
      continue;
    }
    std::string value(512 + rng() % 1536, '\0');
    for (char& c : value) c = static_cast<char>(rng());
    batch->Put(m.table, key, value);
    want[key] = value;
  }
  ASSERT_TRUE(m.exchange->WriteChangelog(*m.dir, *batch).ok());
  ASSERT_TRUE(m.dir->Commit(*batch).ok());
}

// The lowest and the next offset the broker holds, per changelog partition.
std::vector<std::pair<int64_t, int64_t>> LogRanges(const std::string& bootstrap) {
  rd_kafka_t* rk = testing::NewKafkaClient(RD_KAFKA_CONSUMER, bootstrap, {{"group.id", "probe"}});
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int r = 0; r < kPartitions; ++r) {
    int64_t low = -1, high = -1;
    EXPECT_EQ(rd_kafka_query_watermark_offsets(rk, kChangelog, r, &low, &high, 10000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    out.emplace_back(low, high);
  }
  rd_kafka_destroy(rk);
  return out;
}

// `m` writes checkpoints until the broker has deleted, in every changelog
// partition, everything that was there when it began.
void WriteUntilRetentionDeletes(Member& m, const std::string& bootstrap, std::mt19937_64& rng,
                                Contents& want, uint32_t keys = 1000) {
  const std::vector<std::pair<int64_t, int64_t>> before = LogRanges(bootstrap);
  for (int i = 0;; ++i) {
    Checkpoint(m, rng, want, keys);
    if (::testing::Test::HasFatalFailure()) return;
    if (i % 10 != 9) continue;
    const std::vector<std::pair<int64_t, int64_t>> now = LogRanges(bootstrap);
    bool deleted = true;
    for (int r = 0; r < kPartitions; ++r) deleted = deleted && now[r].first > before[r].second;
    if (deleted) return;
    if (i > 2000) {
      ADD_FAILURE() << "the broker never deleted the changelog's start";
      return;
    }
  }
}

// Member "a" (its state directory at `*path`) writes until the broker has
// deleted the start of every changelog partition, then leaves. Returns the
// state it committed.
Contents FillPastRetention(const std::string& bootstrap, size_t snapshot_bytes,
                           std::string* path) {
  *path = testing::MakeScratchDir("a") + "/db";
  std::unique_ptr<Member> a = Join(bootstrap, "a", snapshot_bytes, *path);
  if (a == nullptr) return {};
  EXPECT_TRUE(a->exchange->Restore(*a->dir).ok());
  std::mt19937_64 rng(7);
  Contents want;
  WriteUntilRetentionDeletes(*a, bootstrap, rng, want);
  if (snapshot_bytes > 0) {
    EXPECT_GT(a->exchange->snapshots_written(), 0u);
  }
  return want;
}

class ChangelogRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start({1});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    ASSERT_TRUE(broker_->CreateTopic(kRepartition, kPartitions).ok());
    ASSERT_TRUE(broker_->CreateTopic(kChangelog, kPartitions).ok());
  }
  std::unique_ptr<EmbeddedBroker> broker_;
};

TEST_F(ChangelogRetentionTest, ANewOwnerRestoresFromTheNewestSnapshotPastRetention) {
  const std::string bootstrap = broker_->bootstrap_servers();
  std::string a_path;
  const Contents want = FillPastRetention(bootstrap, 64 << 10, &a_path);
  ASSERT_FALSE(want.empty());

  // "b" takes every partition over with no local state: from the snapshots.
  std::unique_ptr<Member> b = Join(bootstrap, "b", 64 << 10);
  ASSERT_NE(b, nullptr);
  const absl::Status restored = b->exchange->Restore(*b->dir);
  ASSERT_TRUE(restored.ok()) << restored;
  EXPECT_EQ(b->exchange->restored_from_snapshot(), static_cast<uint64_t>(kPartitions));
  EXPECT_EQ(Diff(want, Read(*b)), "");

  // It deletes keys 900-999 and goes on with the others (its first
  // checkpoint snapshots every partition, under its own epoch) until what
  // "a" last wrote, and those deletions, are deleted by retention; it
  // leaves. "a" comes back with its state directory, whose chain position
  // the broker no longer holds: it starts from one of b's snapshots, which
  // replaces its stale state (the deleted keys too), and has exactly what b
  // committed.
  Contents more = want;
  {
    auto batch = b->dir->NewBatch();
    for (uint32_t n = 900; n < 1000; ++n) {
      batch->Delete(b->table, Key(n));
      more.erase(Key(n));
    }
    ASSERT_TRUE(b->exchange->WriteChangelog(*b->dir, *batch).ok());
    ASSERT_TRUE(b->dir->Commit(*batch).ok());
  }
  ASSERT_GT(want.size(), more.size());
  std::mt19937_64 rng(11);
  WriteUntilRetentionDeletes(*b, bootstrap, rng, more, 900);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  EXPECT_GE(b->exchange->snapshots_written(), static_cast<uint64_t>(kPartitions));
  b.reset();
  std::unique_ptr<Member> a = Join(bootstrap, "a2", 64 << 10, a_path);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(Diff(want, Read(*a)), "");  // its own last checkpoint
  const absl::Status again = a->exchange->Restore(*a->dir);
  ASSERT_TRUE(again.ok()) << again;
  EXPECT_EQ(a->exchange->restored_from_snapshot(), static_cast<uint64_t>(kPartitions));
  EXPECT_EQ(Diff(more, Read(*a)), "");
}

// The control: the same history without snapshots cannot be rebuilt, and
// says so instead of starting from whatever is left.
TEST_F(ChangelogRetentionTest, WithoutSnapshotsADeletedStartIsDataLoss) {
  const std::string bootstrap = broker_->bootstrap_servers();
  std::string a_path;
  ASSERT_FALSE(FillPastRetention(bootstrap, 0, &a_path).empty());
  std::unique_ptr<Member> b = Join(bootstrap, "b", 0);
  ASSERT_NE(b, nullptr);
  const absl::Status restored = b->exchange->Restore(*b->dir);
  EXPECT_EQ(restored.code(), absl::StatusCode::kDataLoss) << restored;
  EXPECT_NE(restored.message().find("deleted by retention"), std::string::npos) << restored;
}

}  // namespace
}  // namespace eddy
