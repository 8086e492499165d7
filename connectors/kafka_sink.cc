#include "connectors/kafka_sink.h"

#include <librdkafka/rdkafka.h>

#include <unistd.h>

#include <map>
#include <set>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/status_macros.h"
#include "state/codec.h"

namespace eddy {

struct KafkaSinkCallbacks {
  static void Delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    static_cast<KafkaOutputFactory*>(opaque)->OnDelivery(
        m->err, m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "?", m->offset, m->_private);
  }
};

class KafkaTopicWriter final : public OutputWriter {
 public:
  KafkaTopicWriter(KafkaOutputFactory* factory, rd_kafka_topic_t* topic)
      : factory_(factory), topic_(topic) {}
  absl::Status Write(absl::string_view line) override {
    EDDY_RETURN_IF_ERROR(factory_->Write(topic_, line));
    ++written_;
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Sync() override {
    // Exactly-once: held records are staged by the checkpoint itself.
    if (!factory_->exactly_once_) EDDY_RETURN_IF_ERROR(factory_->Flush());
    return written_;
  }
  absl::Status Close() override { return factory_->Flush(); }

 private:
  KafkaOutputFactory* factory_;
  rd_kafka_topic_t* topic_;
  uint64_t written_ = 0;
};

absl::StatusOr<std::unique_ptr<KafkaOutputFactory>> KafkaOutputFactory::Open(
    const KafkaOptions& options, std::map<std::string, std::string> topics, bool exactly_once,
    std::string staging_topic) {
  std::unique_ptr<KafkaOutputFactory> f(
      new KafkaOutputFactory(std::move(topics), exactly_once, std::move(staging_topic)));
  EDDY_RETURN_IF_ERROR(f->Connect(options));
  return f;
}

absl::Status KafkaOutputFactory::Connect(const KafkaOptions& options) {
  options_ = options;
  run_id_ = absl::StrCat(absl::Hex(absl::Uniform<uint64_t>(absl::BitGen())), "-", getpid());
  EDDY_ASSIGN_OR_RETURN(rk_, kafka_internal::NewProducer(options, this, KafkaSinkCallbacks::Delivery));
  char max_bytes[32];
  size_t max_bytes_size = sizeof(max_bytes);
  if (rd_kafka_conf_get(rd_kafka_conf(rk_), "message.max.bytes", max_bytes, &max_bytes_size) ==
      RD_KAFKA_CONF_OK) {
    (void)absl::SimpleAtoi(max_bytes, &max_message_bytes_);
  }
  EDDY_ASSIGN_OR_RETURN(partitions_, kafka_internal::ListTopics(rk_, options));
  std::vector<std::string> missing;
  for (const auto& [name, topic] : topics_) {
    if (partitions_.count(topic) == 0) missing.push_back(absl::StrCat(topic, " (output ", name, ")"));
  }
  if (!staging_topic_.empty() && partitions_.count(staging_topic_) == 0) {
    missing.push_back(absl::StrCat(staging_topic_, " (exactly-once staging, 1 partition)"));
  }
  EDDY_RETURN_IF_ERROR(kafka_internal::MissingTopics(options, missing));
  for (const auto& [name, topic] : topics_) {
    if (handles_.count(topic) == 0) handles_[topic] = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  }
  if (!staging_topic_.empty()) {
    handles_[staging_topic_] = rd_kafka_topic_new(rk_, staging_topic_.c_str(), nullptr);
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

void KafkaOutputFactory::OnDelivery(int err, const std::string& topic, int64_t offset,
                                    void* opaque) {
  if (opaque == &staging_offset_ && err == RD_KAFKA_RESP_ERR_NO_ERROR) staging_offset_ = offset;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++delivered_;
  } else if (error_.ok()) {
    error_ = absl::UnavailableError(absl::StrCat("delivery to Kafka topic '", topic, "' failed: ",
                                                 rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err))));
  }
}

absl::Status KafkaOutputFactory::CheckFits(absl::string_view topic, size_t size) const {
  // Checked before anything is held: a record the brokers cannot take must
  // stop the job before a checkpoint promises to deliver it.
  if (size + kMessageOverhead <= max_message_bytes_) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("a record of ", size, " bytes for Kafka topic '",
                                                 topic, "' exceeds message.max.bytes (",
                                                 max_message_bytes_, ")"));
}

void KafkaOutputFactory::Keep(std::string topic, int32_t partition, absl::string_view value) {
  held_.push_back(HeldOutput{std::move(topic), partition, std::string(value)});
  held_bytes_ += value.size() + 64;
}

absl::Status KafkaOutputFactory::Write(rd_kafka_topic_t* topic, absl::string_view value) {
  EDDY_RETURN_IF_ERROR(CheckFits(rd_kafka_topic_name(topic), value.size()));
  if (!exactly_once_) return Produce(topic, RD_KAFKA_PARTITION_UA, value, nullptr);
  Keep(rd_kafka_topic_name(topic), RD_KAFKA_PARTITION_UA, value);
  return absl::OkStatus();
}

size_t KafkaOutputFactory::staged_records(const std::set<std::string>& topics) const {
  size_t n = 0;
  for (const HeldOutput& h : staged_) n += topics.count(h.topic);
  return n;
}

absl::Status KafkaOutputFactory::AddTopic(const std::string& topic) {
  if (partitions_.count(topic) == 0) {
    return absl::NotFoundError(absl::StrCat("Kafka topic ", topic, " does not exist"));
  }
  if (handles_.count(topic) == 0) handles_[topic] = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  return absl::OkStatus();
}

absl::Status KafkaOutputFactory::Hold(const std::string& topic, int32_t partition,
                                      absl::string_view value) {
  if (!exactly_once_ || handles_.count(topic) == 0) {
    return absl::InternalError(absl::StrCat("records for ", topic, " cannot be held"));
  }
  EDDY_RETURN_IF_ERROR(CheckFits(topic, value.size()));
  Keep(topic, partition, value);
  return absl::OkStatus();
}

absl::Status KafkaOutputFactory::Produce(rd_kafka_topic_t* topic, int32_t partition,
                                         absl::string_view value, const std::string* seq) {
  EDDY_RETURN_IF_ERROR(error_);
  for (;;) {
    rd_kafka_resp_err_t err;
    if (seq == nullptr) {
      err = rd_kafka_producev(rk_, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    } else {
      err = rd_kafka_producev(rk_, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_HEADER("eddy.run", run_id_.data(),
                                                static_cast<ssize_t>(run_id_.size())),
                              RD_KAFKA_V_HEADER("eddy.seq", seq->data(),
                                                static_cast<ssize_t>(seq->size())),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
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

namespace {

constexpr char kPendingKey[] = "eddy.kafka.pending";

std::string SeqHeader(uint64_t checkpoint, size_t index) {
  return absl::StrCat(checkpoint, ":", index);
}

}  // namespace

// What a checkpoint stages for exactly-once publishing.
struct KafkaPendingOutputs {
  std::string run_id;
  uint64_t checkpoint = 0;
  // Where each output partition ended before publishing began.
  std::vector<std::tuple<std::string, int32_t, int64_t>> ends;
  std::vector<HeldOutput> records;
};

}  // namespace eddy

EDDY_CODEC(eddy::HeldOutput, topic, partition, value);
EDDY_CODEC(eddy::KafkaPendingOutputs, run_id, checkpoint, ends, records);

namespace eddy {

absl::Status KafkaOutputFactory::Stage(StateDirectory::Batch& batch) {
  KafkaPendingOutputs pending;
  pending.run_id = run_id_;
  pending.checkpoint = ++checkpoint_;
  if (!held_.empty()) {
    std::set<std::string> used;
    for (const HeldOutput& h : held_) used.insert(h.topic);
    // Where every partition of the used topics ends, in one request per
    // broker (timestamp -1: the latest offset).
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
    for (const std::string& topic : used) {
      for (int32_t p = 0; p < partitions_[topic]; ++p) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = -1;
      }
    }
    absl::Status status;
    const rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk_, list, 10000);
    for (int i = 0; i < list->cnt && status.ok(); ++i) {
      const rd_kafka_topic_partition_t& tp = list->elems[i];
      const rd_kafka_resp_err_t e = err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : tp.err;
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR || tp.offset < 0) {
        status = absl::UnavailableError(absl::StrCat("reading where ", tp.topic, "/", tp.partition,
                                                     " ends: ", rd_kafka_err2str(e)));
      } else {
        pending.ends.emplace_back(tp.topic, tp.partition, tp.offset);
      }
    }
    rd_kafka_topic_partition_list_destroy(list);
    EDDY_RETURN_IF_ERROR(status);
  }
  pending.records = std::move(held_);
  held_.clear();
  held_bytes_ = 0;
  staged_encoded_ = Encode(pending);
  batch.PutMeta(kPendingKey, staged_encoded_);
  staged_ = std::move(pending.records);
  return absl::OkStatus();
}

absl::Status KafkaOutputFactory::MarkPublished(StateDirectory& state) {
  KafkaPendingOutputs done;
  done.run_id = run_id_;
  done.checkpoint = checkpoint_;
  std::unique_ptr<StateDirectory::Batch> batch = state.NewBatch();
  batch->PutMeta(kPendingKey, Encode(done));
  return state.Commit(*batch);
}

absl::Status KafkaOutputFactory::Publish() {
  for (size_t i = 0; i < staged_.size(); ++i) {
    const std::string seq = SeqHeader(checkpoint_, i);
    const HeldOutput& h = staged_[i];
    EDDY_RETURN_IF_ERROR(Produce(handles_.at(h.topic), h.partition, h.value, &seq));
  }
  staged_.clear();
  return Flush();
}

namespace {

// A chunk of staged outputs in the staging topic.
struct StagingChunk {
  std::string bundle;  // "<run>:<checkpoint>"
  uint32_t index = 0;
  uint32_t count = 0;
  std::string bytes;
};

constexpr char kPointerPrefix[] = "eddy-staged:";
constexpr size_t kChunkBytes = 512 << 10;

}  // namespace
}  // namespace eddy

EDDY_CODEC(eddy::StagingChunk, bundle, index, count, bytes);

namespace eddy {

constexpr char kIntervalPrefix[] = "eddy-interval:";

std::string CommittedInterval(const std::string& metadata) {
  if (absl::StartsWith(metadata, kIntervalPrefix)) return metadata.substr(sizeof(kIntervalPrefix) - 1);
  if (!absl::StartsWith(metadata, kPointerPrefix)) return "";
  const std::vector<std::string> parts =
      absl::StrSplit(metadata.substr(sizeof(kPointerPrefix) - 1), absl::MaxSplits(':', 2));
  return parts.size() == 3 ? parts[2] : "";
}

std::string KafkaOutputFactory::IntervalMetadata(const std::string& pointer) const {
  if (!pointer.empty()) return pointer;
  return absl::StrCat(kIntervalPrefix, run_id_, ":", checkpoint_);
}

absl::StatusOr<std::string> KafkaOutputFactory::ShareStaged() {
  if (staging_topic_.empty() || staged_.empty()) return std::string();
  const std::string bundle = absl::StrCat(run_id_, ":", checkpoint_);
  const uint32_t count = static_cast<uint32_t>((staged_encoded_.size() + kChunkBytes - 1) / kChunkBytes);
  staging_offset_ = -1;
  rd_kafka_topic_t* topic = handles_.at(staging_topic_);
  for (uint32_t i = 0; i < count; ++i) {
    const std::string value = Encode(StagingChunk{
        bundle, i, count, staged_encoded_.substr(size_t{i} * kChunkBytes, kChunkBytes)});
    for (;;) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(0),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_OPAQUE(i == 0 ? static_cast<void*>(&staging_offset_) : nullptr),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return absl::UnavailableError(absl::StrCat("staging outputs in ", staging_topic_, ": ",
                                                   rd_kafka_err2str(err)));
      }
      rd_kafka_poll(rk_, 10);
    }
  }
  EDDY_RETURN_IF_ERROR(Flush());
  if (staging_offset_ < 0) {
    return absl::UnavailableError("staged outputs were not acknowledged by " + staging_topic_);
  }
  return absl::StrCat(kPointerPrefix, staging_offset_, ":", count, ":", bundle);
}

absl::Status KafkaOutputFactory::Complete(const std::string& pointer) {
  EDDY_ASSIGN_OR_RETURN(const std::string encoded, ReadStaged(pointer));
  if (encoded.empty()) return absl::OkStatus();
  return RecoverPending(encoded, absl::StrCat(staging_topic_, " (", pointer, ")"));
}

absl::StatusOr<bool> KafkaOutputFactory::IsComplete(const std::string& pointer) {
  EDDY_ASSIGN_OR_RETURN(const std::string encoded, ReadStaged(pointer));
  if (encoded.empty()) return true;
  size_t missing = 0;
  EDDY_RETURN_IF_ERROR(
      RecoverPending(encoded, absl::StrCat(staging_topic_, " (", pointer, ")"), &missing));
  return missing == 0;
}

absl::StatusOr<std::string> KafkaOutputFactory::ReadStaged(const std::string& pointer) {
  if (!absl::StartsWith(pointer, kPointerPrefix) || staging_topic_.empty()) return std::string();
  const std::vector<std::string> parts =
      absl::StrSplit(pointer.substr(sizeof(kPointerPrefix) - 1), absl::MaxSplits(':', 2));
  int64_t offset = 0;
  uint32_t count = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &offset) ||
      !absl::SimpleAtoi(parts[1], &count) || count == 0) {
    return absl::DataLossError("bad staged-outputs pointer in a committed offset: " + pointer);
  }
  const std::string& bundle = parts[2];
  EDDY_ASSIGN_OR_RETURN(
      rd_kafka_conf_t * conf,
      kafka_internal::MakeConf(options_, KafkaClient::kConsumer,
                               {{"group.id", "eddy-complete-" + run_id_},
                                {"enable.auto.commit", "false"},
                                {"auto.offset.reset", "error"}}));
  EDDY_ASSIGN_OR_RETURN(rd_kafka_t * c, kafka_internal::NewClient(KafkaClient::kConsumer, conf));
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, staging_topic_.c_str(), 0)->offset = offset;
  rd_kafka_assign(c, list);
  rd_kafka_topic_partition_list_destroy(list);
  std::string encoded;
  uint32_t next = 0;
  absl::Status status;
  const auto deadline = absl::Now() + absl::Seconds(30);
  while (status.ok() && next < count) {
    if (absl::Now() > deadline) {
      status = absl::UnavailableError(absl::StrCat("reading staged outputs at ", staging_topic_,
                                                   "/0:", offset, ": timed out"));
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (m == nullptr) continue;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        status = absl::DataLossError(absl::StrCat("reading staged outputs at ", staging_topic_,
                                                  "/0:", offset, ": ", rd_kafka_message_errstr(m)));
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    StagingChunk chunk;
    if (DecodeAll(absl::string_view(static_cast<const char*>(m->payload), m->len), chunk) &&
        chunk.bundle == bundle && chunk.index == next && chunk.count == count) {
      encoded += chunk.bytes;
      ++next;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  EDDY_RETURN_IF_ERROR(status);
  return encoded;
}

absl::Status KafkaOutputFactory::Recover(const StateDirectory& state) {
  EDDY_ASSIGN_OR_RETURN(std::optional<std::string> saved, state.GetMeta(kPendingKey));
  if (!saved.has_value()) return absl::OkStatus();
  return RecoverPending(*saved, absl::StrCat("state directory ", state.path()));
}

absl::Status KafkaOutputFactory::RecoverPending(const std::string& encoded,
                                                const std::string& where, size_t* missing) {
  KafkaPendingOutputs pending;
  if (!DecodeAll(encoded, pending)) {
    return absl::DataLossError(absl::StrCat(where, ": undecodable staged outputs"));
  }
  if (pending.records.empty()) return absl::OkStatus();
  // Which staged records reached the brokers before the crash?
  std::set<size_t> arrived;
  const std::string prefix = absl::StrCat(pending.checkpoint, ":");
  EDDY_ASSIGN_OR_RETURN(
      rd_kafka_conf_t * conf,
      kafka_internal::MakeConf(options_, KafkaClient::kConsumer,
                               {{"group.id", "eddy-recover-" + pending.run_id},
                                {"enable.auto.commit", "false"},
                                {"enable.partition.eof", "true"},
                                {"isolation.level", "read_uncommitted"}}));
  EDDY_ASSIGN_OR_RETURN(rd_kafka_t * c, kafka_internal::NewClient(KafkaClient::kConsumer, conf));
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  // Partitions still to scan, up to the end they had when recovery began.
  std::map<std::pair<std::string, int32_t>, int64_t> until;
  for (const auto& [topic, partition, end] : pending.ends) {
    int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(c, topic.c_str(), partition, &low, &high, 10000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_partition_list_destroy(list);
      rd_kafka_destroy(c);
      return absl::UnavailableError(absl::StrCat("reading ", topic, "/", partition, " to recover"));
    }
    if (high <= end) continue;
    if (low > end) {
      rd_kafka_topic_partition_list_destroy(list);
      rd_kafka_destroy(c);
      return absl::DataLossError(absl::StrCat(
          topic, "/", partition, ": outputs written before the crash were deleted by retention "
          "before they could be checked; cannot recover exactly once"));
    }
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = end;
    until[{topic, partition}] = high;
  }
  if (!until.empty()) rd_kafka_assign(c, list);
  rd_kafka_topic_partition_list_destroy(list);
  const auto deadline = absl::Now() + absl::Seconds(60);
  while (!until.empty() && absl::Now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (m == nullptr) continue;
    const std::pair<std::string, int32_t> where(m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "",
                                                m->partition);
    auto it = until.find(where);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (it != until.end()) until.erase(it);
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (it != until.end() && m->offset + 1 >= it->second) until.erase(it);
      rd_kafka_headers_t* headers = nullptr;
      const void* run = nullptr;
      const void* seq = nullptr;
      size_t run_size = 0, seq_size = 0;
      if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_header_get_last(headers, "eddy.run", &run, &run_size) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_header_get_last(headers, "eddy.seq", &seq, &seq_size) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          absl::string_view(static_cast<const char*>(run), run_size) == pending.run_id) {
        const absl::string_view s(static_cast<const char*>(seq), seq_size);
        size_t index = 0;
        if (absl::StartsWith(s, prefix) && absl::SimpleAtoi(s.substr(prefix.size()), &index)) {
          arrived.insert(index);
        }
      }
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_destroy(c);
  if (!until.empty()) return absl::UnavailableError("timed out reading the outputs to recover");
  if (missing != nullptr) {
    *missing = 0;
    for (size_t i = 0; i < pending.records.size(); ++i) *missing += arrived.count(i) == 0 ? 1 : 0;
    return absl::OkStatus();
  }
  // Produce the rest under the crashed run's identity, so that a crash now
  // is recovered the same way.
  const std::string own_run = run_id_;
  run_id_ = pending.run_id;
  absl::Status status;
  for (size_t i = 0; i < pending.records.size() && status.ok(); ++i) {
    if (arrived.count(i) > 0) continue;
    const HeldOutput& h = pending.records[i];
    auto it = handles_.find(h.topic);
    if (it == handles_.end()) {
      status = absl::InvalidArgumentError("staged outputs name topic " + h.topic +
                                          ", which this run does not write");
      break;
    }
    const std::string seq = SeqHeader(pending.checkpoint, i);
    status = Produce(it->second, h.partition, h.value, &seq);
    ++recovered_;
  }
  if (status.ok()) status = Flush();
  run_id_ = own_run;
  return status;
}

}  // namespace eddy
