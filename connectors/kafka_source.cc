#include "connectors/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/log.h"
#include "engine/status_macros.h"

namespace eddy {

struct KafkaSourceCallbacks {
  static void Rebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<KafkaConsumerGroup*>(opaque)->OnRebalance(err, parts);
  }
  static void Error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    static_cast<KafkaConsumerGroup*>(opaque)->OnError(err, reason);
  }
};

// A Kafka partition as the executor sees it; a view into the group.
class KafkaInputPartition final : public InputPartition {
 public:
  KafkaInputPartition(KafkaConsumerGroup* group, size_t index)
      : group_(group), index_(index) {}

  const std::string& name() const override { return part().name; }
  absl::StatusOr<size_t> Read(size_t max_records, uint32_t partition,
                              RawRecordBatch& out) override {
    return group_->Read(index_, max_records, partition, out);
  }
  bool finished() const override { return false; }
  bool assigned() const override { return part().assigned; }
  std::string Position() const override {
    const KafkaConsumerGroup::Partition& p = part();
    // Not yet assigned again since a restore: keep the restored position
    // (on assignment it is compared with the group's committed offset).
    if (!p.assigned) return p.restore_offset >= 0 ? absl::StrCat(p.restore_offset) : "";
    if (p.next_offset < 0) return "";
    return absl::StrCat(p.next_offset);
  }
  absl::Status SeekTo(absl::string_view position) override {
    KafkaConsumerGroup::Partition& p = *group_->partitions_[index_];
    int64_t offset = -1;
    if (!position.empty() && (!absl::SimpleAtoi(position, &offset) || offset < 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(p.name, ": bad checkpointed position '", position, "'"));
    }
    if (!p.assigned) {
      p.restore_offset = offset;
      return absl::OkStatus();
    }
    // Rewinding a run in place (after a rebalance, exactly-once): an empty
    // position means the partition was assigned after the checkpoint, so it
    // goes back to where this process began reading it.
    if (offset < 0) offset = p.start_offset;
    // A checkpoint older than the group's committed offset is stale: the
    // group went further (another member, or this process between its
    // exactly-once offset commit and its checkpoint, then killed).
    if (offset >= 0) offset = std::max(offset, p.committed_offset);
    if (offset < 0) return absl::OkStatus();  // nothing handed out since assignment
    return group_->Rewind(p, offset);
  }
  void NoteWatermark(EventTime watermark) override {
    group_->partitions_[index_]->noted_watermark = watermark;
  }
  EventTime handed_over_watermark() const override {
    return part().assigned ? part().handed_over_watermark : kMinEventTime;
  }

 private:
  const KafkaConsumerGroup::Partition& part() const { return *group_->partitions_[index_]; }
  KafkaConsumerGroup* group_;
  size_t index_;
};

namespace {

// A committed offset's metadata: what the caller gave (an exactly-once
// interval pointer, or nothing), then the partition's watermark after this
// separator, in decimal.
constexpr absl::string_view kWatermarkTag = ";wm=";

std::string WithWatermark(const std::string& metadata, int64_t watermark) {
  if (watermark == kMinEventTime) return metadata;
  return absl::StrCat(metadata, kWatermarkTag, watermark);
}

// Splits committed metadata into the caller's part and the watermark
// (kMinEventTime when absent or unreadable: no floor, as before).
std::pair<std::string, int64_t> SplitWatermark(absl::string_view metadata) {
  const size_t at = metadata.rfind(kWatermarkTag);
  int64_t watermark = kMinEventTime;
  if (at == absl::string_view::npos ||
      !absl::SimpleAtoi(metadata.substr(at + kWatermarkTag.size()), &watermark)) {
    return {std::string(metadata), kMinEventTime};
  }
  return {std::string(metadata.substr(0, at)), watermark};
}

std::string KafkaError(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

int64_t NowMillis() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaConsumerGroup>> KafkaConsumerGroup::Open(
    const Options& options) {
  if (options.group.empty()) return absl::InvalidArgumentError("no consumer group given");
  if (options.topics.empty()) return absl::InvalidArgumentError("no topics to consume");
  std::unique_ptr<KafkaConsumerGroup> group(new KafkaConsumerGroup(options));
  EDDY_RETURN_IF_ERROR(group->Connect());
  return group;
}

absl::Status KafkaConsumerGroup::Connect() {
  const std::map<std::string, std::string> defaults = {
      {"group.id", options_.group},
      {"client.id", options_.kafka.client_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"enable.partition.eof", "false"},
      {"isolation.level", "read_committed"},
      // librdkafka stops fetching a partition whose prefetch queue is over
      // these, then waits a fixed second before fetching again (2.0.2): a
      // latency spike. Eddy drains that queue into its own bounded
      // per-partition buffers (max_buffered_bytes, paused when full) at
      // every batch, so the count threshold is set high and rarely reached.
      // The size threshold bounds what is fetched while no batch drains
      // it (a stalled output blocks the batches): as much as one
      // partition's buffer, for the whole queue.
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes",
       absl::StrCat(std::max<size_t>(1024, options_.max_buffered_bytes >> 10))},
      // A member that died is noticed (and its partitions handed on) within
      // 10 s, as in Kafka Streams before 3.0; librdkafka's default is 45 s.
      {"session.timeout.ms", "10000"},
      // Latency over request count: a fetch with nothing to return waits at
      // most 5 ms (the embedded broker holds a fetch for this long even
      // when records arrive meanwhile). Raise it with --kafka on a busy
      // cluster.
      {"fetch.wait.max.ms", "5"},
  };
  EDDY_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                        kafka_internal::MakeConf(options_.kafka, KafkaClient::kConsumer, defaults));
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_rebalance_cb(conf, KafkaSourceCallbacks::Rebalance);
  rd_kafka_conf_set_error_cb(conf, KafkaSourceCallbacks::Error);
  EDDY_ASSIGN_OR_RETURN(rk_, kafka_internal::NewClient(KafkaClient::kConsumer, conf));
  rd_kafka_poll_set_consumer(rk_);
  queue_ = rd_kafka_queue_get_consumer(rk_);

  // Every topic must exist: a missing one is a deployment error, not
  // something to wait for.
  EDDY_ASSIGN_OR_RETURN(const auto partition_counts, kafka_internal::ListTopics(rk_, options_.kafka));
  std::vector<std::string> topics;  // each once, in order
  for (const std::string& topic : options_.topics) {
    if (std::find(topics.begin(), topics.end(), topic) == topics.end()) topics.push_back(topic);
  }
  std::vector<std::string> missing;
  for (const std::string& topic : topics) {
    if (partition_counts.count(topic) == 0) missing.push_back(topic);
  }
  EDDY_RETURN_IF_ERROR(kafka_internal::MissingTopics(options_.kafka, missing));
  for (const std::string& topic : topics) {
    for (int p = 0; p < partition_counts.at(topic); ++p) {
      auto part = std::make_unique<Partition>();
      part->topic = topic;
      part->id = p;
      part->name = absl::StrCat(topic, "/", p);
      by_topic_[topic].push_back(part.get());
      partitions_.push_back(std::move(part));
    }
  }
  rd_kafka_topic_partition_list_t* subscription =
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const std::string& topic : topics) {
    rd_kafka_topic_partition_list_add(subscription, topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, subscription);
  rd_kafka_topic_partition_list_destroy(subscription);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("cannot subscribe: ", KafkaError(err)));
  }
  return absl::OkStatus();
}

KafkaConsumerGroup::~KafkaConsumerGroup() {
  if (rk_ == nullptr) return;
  (void)Close();
  for (auto& p : partitions_) Drop(*p);
  if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
  rd_kafka_destroy(rk_);
}

std::vector<std::unique_ptr<InputPartition>> KafkaConsumerGroup::TakePartitions(
    const std::string& topic) {
  std::vector<std::unique_ptr<InputPartition>> out;
  for (size_t i = 0; i < partitions_.size(); ++i) {
    if (partitions_[i]->topic == topic) out.push_back(std::make_unique<KafkaInputPartition>(this, i));
  }
  return out;
}

KafkaConsumerGroup::Partition* KafkaConsumerGroup::Find(const char* topic, int32_t id) {
  auto it = by_topic_.find(topic);
  if (it == by_topic_.end() || id < 0 || static_cast<size_t>(id) >= it->second.size()) return nullptr;
  return it->second[id];
}

void KafkaConsumerGroup::Drop(Partition& p) {
  for (rd_kafka_message_t* m : p.buffer) rd_kafka_message_destroy(m);
  p.buffer.clear();
  p.buffered_bytes = 0;
}

void KafkaConsumerGroup::Pause(Partition& p, bool pause) {
  if (p.paused == pause) return;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.id);
  if (pause) {
    rd_kafka_pause_partitions(rk_, list);
  } else {
    rd_kafka_resume_partitions(rk_, list);
  }
  rd_kafka_topic_partition_list_destroy(list);
  p.paused = pause;
}

void KafkaConsumerGroup::OnRebalance(int err, rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk_), "COOPERATIVE") == 0;
  assignment_received_ = true;
  for (int i = 0; i < parts->cnt; ++i) changed_topics_.insert(parts->elems[i].topic);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // The group's committed offsets: a checkpointed position older than the
    // committed offset is stale (another member went further meanwhile), and
    // knowing where a partition starts lets the first record prove that
    // nothing between was deleted.
    rd_kafka_topic_partition_list_t* committed = rd_kafka_topic_partition_list_copy(parts);
    const rd_kafka_resp_err_t cerr = rd_kafka_committed(rk_, committed, 10000);
    for (int i = 0; i < parts->cnt; ++i) {
      rd_kafka_topic_partition_t& tp = parts->elems[i];
      Partition* p = Find(tp.topic, tp.partition);
      if (p == nullptr) {
        if (error_.ok()) {
          error_ = absl::FailedPreconditionError(absl::StrCat(
              "topic ", tp.topic, " has gained partitions since the start; restart eddy run to "
              "read them"));
        }
        continue;
      }
      int64_t group_offset = -1;
      int64_t group_watermark = kMinEventTime;
      if (cerr == RD_KAFKA_RESP_ERR_NO_ERROR && committed->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
          committed->elems[i].offset >= 0) {
        group_offset = committed->elems[i].offset;
        if (committed->elems[i].metadata != nullptr) {
          group_watermark =
              SplitWatermark(absl::string_view(static_cast<const char*>(committed->elems[i].metadata),
                                               committed->elems[i].metadata_size))
                  .second;
        }
      }
      p->assigned = true;
      p->paused = false;
      p->next_offset = -1;
      p->start_offset = -1;
      p->check_first = false;
      const int64_t start = std::max(p->restore_offset, group_offset);
      if (start >= 0) {
        tp.offset = start;
        p->next_offset = start;
        p->start_offset = start;
        p->check_first = true;
      }
      p->restore_offset = -1;
      p->committed_offset = group_offset;
      p->handed_over_watermark = group_watermark;
      p->noted_watermark = group_watermark;  // kept by a commit before the first note
    }
    rd_kafka_topic_partition_list_destroy(committed);
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_, parts);
      if (e != nullptr) {
        if (error_.ok()) error_ = absl::InternalError(absl::StrCat("assigning partitions: ", rd_kafka_error_string(e)));
        rd_kafka_error_destroy(e);
      }
    } else if (rd_kafka_assign(rk_, parts) != RD_KAFKA_RESP_ERR_NO_ERROR && error_.ok()) {
      error_ = absl::InternalError("assigning partitions failed");
    }
    return;
  }
  // Revoked, lost or a rebalance error: another member reads these
  // partitions from the committed offsets; what is buffered here is dropped.
  for (int i = 0; i < parts->cnt; ++i) {
    Partition* p = Find(parts->elems[i].topic, parts->elems[i].partition);
    if (p == nullptr) continue;
    if (p->assigned) revoked_ = true;
    Drop(*p);
    // librdkafka keeps a partition's pause across unassignment: resume it,
    // or it would never be fetched when assigned here again.
    Pause(*p, false);
    p->assigned = false;
    p->next_offset = -1;
    p->check_first = false;
  }
  if (cooperative && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, parts);
    if (e != nullptr) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(rk_, nullptr);
  }
}

void KafkaConsumerGroup::OnError(int err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk_, buf, sizeof(buf));
    if (error_.ok()) {
      error_ = absl::InternalError(absl::StrCat("Kafka consumer failed: ", rd_kafka_err2name(fatal), ": ", buf));
    }
    return;
  }
  // Transient (brokers down, timeouts): librdkafka retries; say so now and
  // then rather than on every retry.
  const int64_t now = NowMillis();
  if (now - last_warning_ms_ >= 10000) {
    last_warning_ms_ = now;
    Log(LogLevel::kWarning, "eddy: kafka consumer", absl::StrCat(reason, " (retrying)"));
  }
}

absl::Status KafkaConsumerGroup::Pump(int timeout_ms) {
  constexpr size_t kMax = 1024;
  rd_kafka_message_t* msgs[kMax];
  for (int round = 0; round < 64; ++round) {
    ssize_t n = 0;
    if (round == 0 && timeout_ms > 0) {
      // Waiting: return with the first record (a batch call would wait for
      // kMax records or the whole timeout, adding latency at low rates).
      rd_kafka_message_t* first = rd_kafka_consume_queue(queue_, timeout_ms);
      if (first == nullptr) break;
      msgs[0] = first;
      const ssize_t more = rd_kafka_consume_batch_queue(queue_, 0, msgs + 1, kMax - 1);
      n = 1 + std::max<ssize_t>(0, more);
    } else {
      n = rd_kafka_consume_batch_queue(queue_, 0, msgs, kMax);
    }
    if (n < 0) return absl::InternalError(absl::StrCat("consuming: ", KafkaError(rd_kafka_last_error())));
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = msgs[i];
      Partition* p = m->rkt != nullptr ? Find(rd_kafka_topic_name(m->rkt), m->partition) : nullptr;
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
            m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
          if (error_.ok()) {
            error_ = absl::DataLossError(absl::StrCat(
                p != nullptr ? p->name : "a partition", ": ", rd_kafka_message_errstr(m),
                " (records were deleted before they were read: data loss)"));
          }
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          OnError(m->err, rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        continue;
      }
      if (p == nullptr || !p->assigned || (p->next_offset >= 0 && m->offset < p->next_offset)) {
        rd_kafka_message_destroy(m);  // revoked meanwhile, or already handed out
        continue;
      }
      if (p->check_first) {
        p->check_first = false;
        if (m->offset > p->next_offset) {
          // Offsets may skip transaction markers; only a log start beyond the
          // position means records were lost.
          int64_t low = 0, high = 0;
          if (rd_kafka_query_watermark_offsets(rk_, p->topic.c_str(), p->id, &low, &high, 5000) ==
                  RD_KAFKA_RESP_ERR_NO_ERROR &&
              low > p->next_offset && error_.ok()) {
            error_ = absl::DataLossError(absl::StrCat(
                p->name, ": offsets ", p->next_offset, " to ", low - 1,
                " were deleted by the broker before they were read (data loss)"));
          }
        }
      }
      p->buffered_bytes += m->len + m->key_len;
      p->buffer.push_back(m);
      if (p->buffered_bytes > options_.max_buffered_bytes) Pause(*p, true);
    }
    if (static_cast<size_t>(n) < kMax) break;
  }
  return error_;
}

absl::StatusOr<size_t> KafkaConsumerGroup::Read(size_t index, size_t max_records,
                                                uint32_t partition, RawRecordBatch& out) {
  Partition& p = *partitions_[index];
  if (p.buffer.empty()) EDDY_RETURN_IF_ERROR(Pump(0));
  EDDY_RETURN_IF_ERROR(error_);
  size_t n = 0;
  while (n < max_records && !p.buffer.empty()) {
    rd_kafka_message_t* m = p.buffer.front();
    p.buffer.pop_front();
    p.buffered_bytes -= m->len + m->key_len;
    RawRecordBatch::Entry e;
    e.offset = out.bytes.size();
    e.partition = partition;
    e.position = static_cast<uint64_t>(m->offset);
    size_t len = m->len;
    if (len > options_.max_record_bytes) {
      e.oversized = true;
      len = std::min<size_t>(len, 256);  // a prefix for the dead letter
    }
    e.size = static_cast<uint32_t>(len);
    if (len > 0) out.bytes.append(static_cast<const char*>(m->payload), len);
    if (m->key_len > 0 && !e.oversized) {
      const size_t key_len = std::min<size_t>(m->key_len, options_.max_record_bytes);
      out.bytes.append(static_cast<const char*>(m->key), key_len);
      e.key_size = static_cast<uint32_t>(key_len);
    }
    rd_kafka_headers_t* headers = nullptr;
    if (!e.oversized && rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const size_t before = out.bytes.size();
      const char* name = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      for (size_t h = 0; rd_kafka_header_get_all(headers, h, &name, &value, &size) ==
                         RD_KAFKA_RESP_ERR_NO_ERROR;
           ++h) {
        RecordMeta::AppendHeader(out.bytes, name,
                                 absl::string_view(static_cast<const char*>(value), value ? size : 0));
      }
      e.headers_size = static_cast<uint32_t>(out.bytes.size() - before);
    }
    rd_kafka_timestamp_type_t ts_type;
    const int64_t ts = rd_kafka_message_timestamp(m, &ts_type);
    e.timestamp = ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ts < 0 ? kNoTimestamp : ts;
    if (p.start_offset < 0) p.start_offset = m->offset;
    p.next_offset = m->offset + 1;
    out.entries.push_back(e);
    rd_kafka_message_destroy(m);
    ++n;
  }
  if (p.paused && p.buffered_bytes <= options_.max_buffered_bytes / 2) Pause(p, false);
  return n;
}

absl::Status KafkaConsumerGroup::Rewind(Partition& p, int64_t offset) {
  Drop(p);
  Pause(p, false);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.id)->offset = offset;
  rd_kafka_error_t* e = nullptr;
  // A partition whose fetcher has not started yet (just assigned) refuses
  // to seek for a moment.
  for (int attempt = 0; attempt < 50; ++attempt) {
    list->elems[0].err = RD_KAFKA_RESP_ERR_NO_ERROR;
    e = rd_kafka_seek_partitions(rk_, list, 10000);
    if (e != nullptr || list->elems[0].err != RD_KAFKA_RESP_ERR__STATE) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  absl::Status status;
  if (e != nullptr) {
    status = absl::UnavailableError(absl::StrCat(p.name, ": seeking to ", offset, ": ",
                                                 rd_kafka_error_string(e)));
    rd_kafka_error_destroy(e);
  } else if (list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = absl::UnavailableError(absl::StrCat(p.name, ": seeking to ", offset, ": ",
                                                 rd_kafka_err2str(list->elems[0].err)));
  }
  rd_kafka_topic_partition_list_destroy(list);
  p.next_offset = offset;
  p.start_offset = offset;
  p.check_first = true;
  return status;
}

bool KafkaConsumerGroup::TakeRevocation() {
  const bool revoked = revoked_;
  revoked_ = false;
  return revoked;
}

bool KafkaConsumerGroup::TakeAssignmentChange(const std::string& topic) {
  return changed_topics_.erase(topic) > 0;
}

absl::Status KafkaConsumerGroup::WaitForAssignment(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!assignment_received_) {
    EDDY_RETURN_IF_ERROR(error_);
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "consumer group '", options_.group, "' assigned no partitions within ",
          absl::FormatDuration(timeout)));
    }
    EDDY_RETURN_IF_ERROR(Pump(100));
  }
  return error_;
}

void KafkaConsumerGroup::WaitForRecords(absl::Duration timeout) {
  for (const auto& p : partitions_) {
    if (!p->buffer.empty()) return;
  }
  (void)Pump(static_cast<int>(absl::ToInt64Milliseconds(timeout)));
}

rd_kafka_topic_partition_list_t* KafkaConsumerGroup::AssignedPositions(
    const std::string& metadata) const {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  for (const auto& p : partitions_) {
    if (!p->assigned || p->next_offset < 0) continue;
    rd_kafka_topic_partition_t* tp = rd_kafka_topic_partition_list_add(list, p->topic.c_str(), p->id);
    tp->offset = p->next_offset;
    const std::string m = WithWatermark(metadata, p->noted_watermark);
    if (!m.empty()) {
      // Freed with the list (librdkafka frees metadata with free()).
      tp->metadata = std::malloc(m.size());
      std::memcpy(tp->metadata, m.data(), m.size());
      tp->metadata_size = m.size();
    }
  }
  return list;
}

absl::Status KafkaConsumerGroup::CommitPositions(bool wait) {
  EDDY_RETURN_IF_ERROR(error_);
  rd_kafka_topic_partition_list_t* list = AssignedPositions("");
  if (list->cnt > 0) {
    const rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list, wait ? 0 : 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      OnError(err, rd_kafka_err2str(err));
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  return absl::OkStatus();
}

absl::Status KafkaConsumerGroup::CommitPositionsOrFail(const std::string& metadata) {
  EDDY_RETURN_IF_ERROR(error_);
  rd_kafka_topic_partition_list_t* list = AssignedPositions(metadata);
  absl::Status status;
  if (list->cnt > 0) {
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list, 0);
    for (int i = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; ++i) err = list->elems[i].err;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      status = absl::AbortedError(absl::StrCat("offset commit refused: ", rd_kafka_err2str(err)));
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  return status;
}

absl::StatusOr<std::vector<KafkaConsumerGroup::Committed>> KafkaConsumerGroup::CommittedMetadata(
    const std::vector<std::string>& topics) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
  std::vector<Partition*> order;
  for (const std::string& topic : topics) {
    auto it = by_topic_.find(topic);
    if (it == by_topic_.end()) continue;
    for (Partition* p : it->second) {
      rd_kafka_topic_partition_list_add(list, p->topic.c_str(), p->id);
      order.push_back(p);
    }
  }
  const rd_kafka_resp_err_t err = rd_kafka_committed(rk_, list, 10000);
  std::vector<Committed> out;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = list->elems[i];
      Committed c;
      c.partition = order[i]->name;
      c.assigned = order[i]->assigned;
      if (tp.err == RD_KAFKA_RESP_ERR_NO_ERROR && tp.offset >= 0) c.offset = tp.offset;
      if (tp.err == RD_KAFKA_RESP_ERR_NO_ERROR && tp.metadata != nullptr) {
        c.metadata = SplitWatermark(absl::string_view(static_cast<const char*>(tp.metadata),
                                                      tp.metadata_size))
                         .first;
      }
      out.push_back(std::move(c));
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("reading the group's committed offsets: ",
                                               rd_kafka_err2str(err)));
  }
  return out;
}

std::vector<KafkaConsumerGroup::PartitionLag> KafkaConsumerGroup::PartitionLags() const {
  std::vector<PartitionLag> out;
  for (const auto& p : partitions_) {
    if (!p->assigned) continue;
    PartitionLag& l = out.emplace_back();
    l.topic = p->topic;
    l.partition = p->id;
    // Until its first record arrives, a partition's start (the group's
    // committed offset) is not known here.
    if (p->next_offset < 0) continue;
    int64_t low = 0, high = 0;
    if (rd_kafka_get_watermark_offsets(rk_, p->topic.c_str(), p->id, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    l.lag = std::max<int64_t>(0, high - p->next_offset);
  }
  return out;
}

int64_t KafkaConsumerGroup::Lag() const {
  int64_t lag = 0;
  for (const PartitionLag& p : PartitionLags()) lag += std::max<int64_t>(0, p.lag);
  return lag;
}

size_t KafkaConsumerGroup::assigned_partitions() const {
  size_t n = 0;
  for (const auto& p : partitions_) n += p->assigned ? 1 : 0;
  return n;
}

size_t KafkaConsumerGroup::buffered_bytes() const {
  size_t n = 0;
  for (const auto& p : partitions_) n += p->buffered_bytes;
  return n;
}

absl::Status KafkaConsumerGroup::Close() {
  if (closed_ || rk_ == nullptr) return absl::OkStatus();
  closed_ = true;
  // rdkafka.h: the consumer queue must be released before closing.
  if (queue_ != nullptr) {
    rd_kafka_queue_destroy(queue_);
    queue_ = nullptr;
  }
  // Positions not covered by a checkpoint are not committed: the next owner
  // starts from the last checkpoint's.
  rd_kafka_consumer_close(rk_);
  return absl::OkStatus();
}

}  // namespace eddy
