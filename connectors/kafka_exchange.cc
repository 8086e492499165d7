#include "connectors/kafka_exchange.h"

#include "connectors/kafka_sink.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/key.h"
#include "engine/status_macros.h"
#include "state/codec.h"

namespace eddy {
namespace {

// One changelog message.
struct ChangelogRecord {
  // A value too large for one Kafka message goes as kPutPart records with
  // the leading pieces, then a kPut with the last: consecutive in their
  // partition (one producer, ordered), joined again when read.
  // kReset starts a snapshot: drop the partition's key groups in every
  // table of the KeyBy (the snapshot's entries follow).
  enum Kind : uint8_t {
    kPut = 0, kDelete = 1, kDeleteRange = 2, kCommit = 3, kClaim = 4, kPutPart = 5, kReset = 6
  };
  std::string checkpoint;  // "<sender>:<n>": ties writes to their commit marker
  uint8_t kind = kPut;
  std::string table;
  std::string key;
  // kDeleteRange: the range's end. kCommit, kClaim: the marker's epoch in
  // decimal ("" is 0: markers written before epochs).
  std::string value;
  int64_t base = -1;       // kCommit, kClaim: the chain offset extended
  int64_t position = -1;   // kCommit, kClaim: repartition offset covered
};

struct OwnedRecord {
  std::vector<int64_t> held;
  std::vector<int64_t> pointer;
  std::vector<int64_t> position;
};

// Kept under its own meta key, so that a state directory written before
// snapshots still reads (its partitions then take a snapshot first). Valid
// for a partition only at the chain pointer it was written with (a build
// without snapshots may have gone on since).
struct SnapshotRecord {
  std::vector<int64_t> pointer;
  std::vector<int64_t> epoch;
  std::vector<int64_t> since_snapshot;
  std::vector<int64_t> snapshot_size;
};

int64_t MarkerEpoch(const ChangelogRecord& marker) {
  int64_t epoch = 0;
  if (marker.value.empty() || !absl::SimpleAtoi(marker.value, &epoch)) return 0;
  return epoch;
}

}  // namespace
}  // namespace eddy

EDDY_CODEC(eddy::ChangelogRecord, checkpoint, kind, table, key, value, base, position);
EDDY_CODEC(eddy::OwnedRecord, held, pointer, position);
EDDY_CODEC(eddy::SnapshotRecord, pointer, epoch, since_snapshot, snapshot_size);

namespace eddy {

struct KafkaExchange::PendingWrites {
  std::map<std::string, std::vector<ChangelogRecord>> by_checkpoint;
  // Checkpoints first read while seeking a snapshot: their first writes may
  // have been deleted, so only a whole snapshot of theirs may be applied.
  std::set<std::string> maybe_cut;
};

namespace {

int64_t NowMillis() { return absl::ToUnixMillis(absl::Now()); }

void PutFixed64(std::string& out, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xFF));
}

int64_t GetFixed64(const char* p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<int64_t>(u);
}

std::string KeyGroupPrefix(uint32_t group) {
  std::string out;
  AppendKeyGroupPrefix(group, out);
  return out;
}

// The key groups [first, last] that land on partition r of P.
std::pair<uint32_t, uint32_t> KeyGroupRange(int r, int partitions) {
  uint32_t first = kKeyGroups, last = 0;
  for (uint32_t g = 0; g < kKeyGroups; ++g) {
    if (PartitionOfKeyGroup(g, partitions) == r) {
      first = std::min(first, g);
      last = std::max(last, g);
    }
  }
  return {first, last};
}

}  // namespace

struct KafkaExchangeCallbacks {
  static void Delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    static_cast<KafkaExchange*>(opaque)->OnDelivery(
        m->err, m->offset, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private)));
  }
};

absl::StatusOr<std::unique_ptr<KafkaExchange>> KafkaExchange::Open(Options options,
                                                                   KafkaConsumerGroup* group) {
  std::unique_ptr<KafkaExchange> x(new KafkaExchange(std::move(options), group));
  EDDY_RETURN_IF_ERROR(x->Connect());
  return x;
}

absl::Status KafkaExchange::Connect() {
  EDDY_ASSIGN_OR_RETURN(producer_, kafka_internal::NewProducer(options_.kafka, this,
                                                               KafkaExchangeCallbacks::Delivery));
  EDDY_ASSIGN_OR_RETURN(const auto counts, kafka_internal::ListTopics(producer_, options_.kafka));
  std::vector<std::string> missing;
  for (const std::string& t : {options_.repartition_topic, options_.changelog_topic}) {
    if (counts.count(t) == 0) missing.push_back(absl::StrCat(t, " (KeyBy ", options_.name, ")"));
  }
  EDDY_RETURN_IF_ERROR(kafka_internal::MissingTopics(options_.kafka, missing));
  partitions_ = counts.at(options_.repartition_topic);
  if (counts.at(options_.changelog_topic) != partitions_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "topics ", options_.repartition_topic, " (", partitions_, " partitions) and ",
        options_.changelog_topic, " (", counts.at(options_.changelog_topic),
        ") must have the same number of partitions"));
  }
  inputs_ = group_->TakePartitions(options_.repartition_topic);
  if (static_cast<int>(inputs_.size()) != partitions_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "topic ", options_.repartition_topic, " is not consumed by this run's group"));
  }
  owned_.assign(partitions_, Owned{});
  consumed_.assign(partitions_, -1);
  reported_.assign(partitions_, std::vector<EventTime>(options_.watermark_entries, kMinEventTime));
  partition_watermark_.assign(partitions_, kMinEventTime);
  return absl::OkStatus();
}

KafkaExchange::~KafkaExchange() {
  if (producer_ == nullptr) return;
  rd_kafka_flush(producer_, 2000);
  rd_kafka_destroy(producer_);
}

int64_t KafkaExchange::TakeAck(uint64_t ticket) {
  auto it = acks_.find(ticket);
  if (it == acks_.end()) return -1;
  const int64_t offset = it->second;
  acks_.erase(it);
  return offset;
}

void KafkaExchange::OnDelivery(int err, int64_t offset, uint64_t ticket) {
  // Offsets are kept by ticket, not written through a pointer: a delivery may
  // complete after the call that asked for it has returned with an error.
  if (ticket != 0) acks_[ticket] = err == 0 ? offset : -2;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && error_.ok()) {
    error_ = absl::UnavailableError(absl::StrCat(
        "KeyBy '", options_.name, "': delivery to Kafka failed: ",
        rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err))));
  }
}

absl::Status KafkaExchange::Produce(const std::string& topic, int32_t partition,
                                    absl::string_view value, uint64_t ticket) {
  EDDY_RETURN_IF_ERROR(error_);
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(ticket))),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return absl::UnavailableError(absl::StrCat("KeyBy '", options_.name, "': producing to ",
                                                 topic, ": ", rd_kafka_err2str(err)));
    }
    rd_kafka_poll(producer_, 10);  // the queue drains as deliveries complete
  }
  rd_kafka_poll(producer_, 0);
  return absl::OkStatus();
}

absl::Status KafkaExchange::Flush() {
  const rd_kafka_resp_err_t err = rd_kafka_flush(producer_, 60000);
  EDDY_RETURN_IF_ERROR(error_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("KeyBy '", options_.name,
                                               "': Kafka did not acknowledge within 60 s: ",
                                               rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

absl::Status KafkaExchange::Send(uint32_t key_group, EventTime ts, absl::string_view value) {
  // Kafka's default message.max.bytes, less room for the batch overhead.
  constexpr size_t kMaxEncoded = 1000000 - 512;
  if (value.size() + 9 > kMaxEncoded) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KeyBy '", options_.name, "': a record of ", value.size(),
        " encoded bytes is too large to cross processes (at most ", kMaxEncoded - 9, ")"));
  }
  buffer_.clear();
  buffer_.push_back('R');
  PutFixed64(buffer_, ts);
  buffer_.append(value.data(), value.size());
  return Emit(PartitionOfKeyGroup(key_group, partitions_), buffer_);
}

absl::Status KafkaExchange::Emit(int32_t partition, absl::string_view value) {
  if (options_.hold) return options_.hold(options_.repartition_topic, partition, value);
  return Produce(options_.repartition_topic, partition, value);
}

absl::Status KafkaExchange::SendMarkers(
    const std::vector<std::pair<uint32_t, EventTime>>& watermarks) {
  std::string marker;
  marker.push_back('W');
  for (const auto& [index, watermark] : watermarks) {
    for (int i = 0; i < 4; ++i) marker.push_back(static_cast<char>((index >> (8 * i)) & 0xFF));
    PutFixed64(marker, watermark);
  }
  for (int r = 0; r < partitions_; ++r) EDDY_RETURN_IF_ERROR(Emit(r, marker));
  return absl::OkStatus();
}

absl::StatusOr<EventTime> KafkaExchange::Poll(
    const std::vector<std::pair<uint32_t, EventTime>>& watermarks) {
  const int64_t now = NowMillis();
  if (now - last_marker_ms_ >= options_.marker_interval_ms) {
    // Exactly-once: an unchanged report is repeated once a second only (each
    // goes into the interval's staged bundle).
    if (!options_.hold || watermarks != last_markers_ || now - last_marker_ms_ >= 1000) {
      EDDY_RETURN_IF_ERROR(SendMarkers(watermarks));
      last_marker_ms_ = now;
      last_markers_ = watermarks;
    }
  }
  arrivals_.clear();
  raw_.Clear();
  size_t total = 0;
  // The first partition read rotates, so a busy one cannot starve the rest
  // (their records and watermark reports would wait without bound).
  for (int k = 0; k < partitions_ && total < options_.max_records_per_batch; ++k) {
    const int r = (next_partition_ + k) % partitions_;
    // Partitions not yet restored are left unread until Restore.
    if (!owned_[r].held || !inputs_[r]->assigned()) continue;
    EDDY_ASSIGN_OR_RETURN(const size_t n, inputs_[r]->Read(options_.max_records_per_batch - total,
                                                            static_cast<uint32_t>(r), raw_));
    total += n;
  }
  next_partition_ = partitions_ > 0 ? (next_partition_ + 1) % partitions_ : 0;
  raw_.Pad();
  std::vector<bool> reported(partitions_, false);
  for (const RawRecordBatch::Entry& e : raw_.entries) {
    const absl::string_view v = raw_.View(e);
    const int r = static_cast<int>(e.partition);
    consumed_[r] = static_cast<int64_t>(e.position) + 1;
    if (v.size() >= 9 && v[0] == 'R' && !e.oversized) {
      const EventTime ts = GetFixed64(v.data() + 1);
      if (ts < -kMaxAbsEventTime || ts > kMaxAbsEventTime) {
        return absl::DataLossError(absl::StrCat(inputs_[r]->name(), ":", e.position,
                                                ": event time out of range"));
      }
      arrivals_.push_back(Arrival{ts, v.substr(9), inputs_[r]->name(), e.position});
    } else if (!v.empty() && v[0] == 'W' && (v.size() - 1) % 12 == 0) {
      for (size_t at = 1; at < v.size(); at += 12) {
        uint32_t index = 0;
        for (int i = 0; i < 4; ++i) {
          index |= static_cast<uint32_t>(static_cast<uint8_t>(v[at + i])) << (8 * i);
        }
        if (index < reported_[r].size()) reported_[r][index] = GetFixed64(v.data() + at + 4);
      }
      reported[r] = true;
    } else {
      return absl::DataLossError(absl::StrCat(inputs_[r]->name(), ":", e.position,
                                              ": not a record of an Eddy exchange"));
    }
  }
  EventTime result = kMaxEventTime;
  for (int r = 0; r < partitions_; ++r) {
    if (reported[r]) {
      EventTime w = kMaxEventTime;
      for (EventTime x : reported_[r]) w = std::min(w, x);
      partition_watermark_[r] = w;
    }
    // Held but no longer assigned: its state is still here (until Restore),
    // so its time must not jump ahead.
    if (inputs_[r]->assigned() || owned_[r].held) {
      result = std::min(result, partition_watermark_[r]);
    }
  }
  return result;
}

bool KafkaExchange::NeedsRestore() const {
  for (int r = 0; r < partitions_; ++r) {
    if (inputs_[r]->assigned() && !owned_[r].held) return true;
  }
  return false;
}

void KafkaExchange::OwnedWatermarks(uint32_t base,
                                    std::vector<std::pair<uint32_t, EventTime>>& out) const {
  for (int r = 0; r < partitions_; ++r) {
    if (owned_[r].held && inputs_[r]->assigned()) {
      out.emplace_back(base + static_cast<uint32_t>(r), partition_watermark_[r]);
    }
  }
}

bool KafkaExchange::OwnsTable(const std::string& table) const {
  for (const std::string& prefix : options_.table_prefixes) {
    if (table.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

absl::Status KafkaExchange::WriteChanges(const StateDirectory& dir,
                                         const StateDirectory::Batch& batch,
                                         const std::string& interval) {
  std::vector<bool>& touched = touched_;
  touched.assign(partitions_, false);
  interval_bytes_.assign(partitions_, 0);
  interval_snapshot_.assign(partitions_, -1);
  ChangelogRecord rec;
  rec.checkpoint = interval;
  // librdkafka holds a copy of each message until it is acknowledged: wait
  // for the acknowledgements every few MiB, so that a checkpoint's changelog
  // never holds a second copy of the whole checkpoint in memory (the CTR
  // soak's median RSS fell 9 MiB, its largest sample 20 MiB;
  // bench/RESULTS.md).
  constexpr size_t kFlushBytes = 4 << 20;
  size_t unacknowledged = 0;
  auto produce = [&](int partition, const std::string& message) -> absl::Status {
    EDDY_RETURN_IF_ERROR(Produce(options_.changelog_topic, partition, message));
    interval_bytes_[partition] += static_cast<int64_t>(message.size());
    unacknowledged += message.size();
    if (unacknowledged >= kFlushBytes) {
      unacknowledged = 0;
      return Flush();
    }
    return absl::OkStatus();
  };
  // One table write (rec.kind, rec.table, rec.key set) with its value.
  auto write = [&](int r, absl::string_view value) -> absl::Status {
    // Kafka's default message.max.bytes is 1 MB: large values (a whole
    // model, say) go in pieces.
    constexpr size_t kPiece = 512 << 10;
    const uint8_t kind = rec.kind;
    while (kind == ChangelogRecord::kPut && value.size() > kPiece) {
      rec.kind = ChangelogRecord::kPutPart;
      rec.value.assign(value.data(), kPiece);
      EDDY_RETURN_IF_ERROR(produce(r, Encode(rec)));
      value.remove_prefix(kPiece);
    }
    rec.kind = kind;
    rec.value.assign(value.data(), value.size());
    EDDY_RETURN_IF_ERROR(produce(r, Encode(rec)));
    touched[r] = true;
    return absl::OkStatus();
  };

  // Snapshots first: the partition's state as of the last checkpoint; the
  // checkpoint's own writes follow below, under the same marker. At most
  // one partition's a checkpoint, the most overdue: a checkpoint blocks the
  // job, and snapshots of every partition at once stalled a live CTR run
  // for about a second every few checkpoints.
  int overdue = -1;
  double most_overdue = 1.0;
  for (int r = 0; r < partitions_ && options_.snapshot_bytes > 0; ++r) {
    const Owned& o = owned_[r];
    if (!o.held || !inputs_[r]->assigned()) continue;
    const double due = static_cast<double>(o.since_snapshot) /
                       static_cast<double>(std::max(
                           static_cast<int64_t>(options_.snapshot_bytes), o.snapshot_size));
    if (due >= most_overdue) {
      most_overdue = due;
      overdue = r;
    }
  }
  if (overdue >= 0) {
    const int r = overdue;
    rec.kind = ChangelogRecord::kReset;
    rec.table.clear();
    rec.key.clear();
    EDDY_RETURN_IF_ERROR(write(r, ""));
    const auto [first, last] = KeyGroupRange(r, partitions_);
    for (size_t t = 0; t < dir.table_names().size() && first <= last; ++t) {
      if (!OwnsTable(dir.table_names()[t])) continue;
      for (uint32_t g = first; g <= last; ++g) {
        absl::Status written;
        EDDY_RETURN_IF_ERROR(dir.Scan(static_cast<int>(t), KeyGroupPrefix(g),
                                      [&](absl::string_view key, absl::string_view value) {
                                        rec.kind = ChangelogRecord::kPut;
                                        rec.table = dir.table_names()[t];
                                        rec.key.assign(key.data(), key.size());
                                        written = write(r, value);
                                        return written.ok();
                                      },
                                      /*bulk=*/true));
        EDDY_RETURN_IF_ERROR(written);
      }
    }
    // Written first: all the partition has written so far is the snapshot.
    interval_snapshot_[r] = interval_bytes_[r];
    interval_bytes_[r] = 0;
  }

  EDDY_RETURN_IF_ERROR(batch.ForEachOp([&](const StateDirectory::Batch::Op& op) -> absl::Status {
    const std::string& table = dir.table_names()[op.table];
    if (!OwnsTable(table) || op.key.size() < 2) return absl::OkStatus();
    const uint32_t group = (static_cast<uint32_t>(static_cast<uint8_t>(op.key[0])) << 8) |
                           static_cast<uint8_t>(op.key[1]);
    const int r = PartitionOfKeyGroup(std::min(group, kKeyGroups - 1), partitions_);
    // A partition taken from this process since the last checkpoint: its
    // new owner continues from the last commit marker (see below).
    if (!owned_[r].held || !inputs_[r]->assigned()) return absl::OkStatus();
    rec.kind = op.kind == StateDirectory::Batch::Op::kPut      ? ChangelogRecord::kPut
               : op.kind == StateDirectory::Batch::Op::kDelete ? ChangelogRecord::kDelete
                                                               : ChangelogRecord::kDeleteRange;
    rec.table = table;
    rec.key.assign(op.key.data(), op.key.size());
    return write(r, op.value);
  }));
  // Acknowledged before anything marks them (the markers, and with
  // exactly-once the offset commit that makes them count): a marker after a
  // lost piece of a value would make the partition unrestorable.
  return Flush();
}

absl::Status KafkaExchange::WriteMarkers(StateDirectory::Batch& batch,
                                         const std::string& interval) {
  if (static_cast<int>(touched_.size()) != partitions_) touched_.assign(partitions_, false);
  const std::vector<bool>& touched = touched_;
  std::vector<uint64_t> tickets(partitions_, 0);
  std::vector<int64_t> marker_bytes(partitions_, 0);
  for (int r = 0; r < partitions_; ++r) {
    Owned& o = owned_[r];
    if (!o.held) continue;
    if (!inputs_[r]->assigned()) {
      // Taken from this process: its new owner continues from the last
      // commit marker, so no marker now (it would fork the chain), and the
      // local state is no longer a base to catch up from.
      o = Owned{};
      continue;
    }
    const int64_t position = consumed_[r] >= 0 ? consumed_[r] : o.position;
    if (!touched[r] && position == o.position) continue;
    ChangelogRecord marker;
    marker.checkpoint = interval;
    marker.kind = ChangelogRecord::kCommit;
    marker.base = o.pointer;
    marker.position = position;
    marker.value = absl::StrCat(o.epoch);
    tickets[r] = next_ticket_++;
    const std::string encoded = Encode(marker);
    marker_bytes[r] = static_cast<int64_t>(encoded.size());
    EDDY_RETURN_IF_ERROR(Produce(options_.changelog_topic, r, encoded, tickets[r]));
  }
  EDDY_RETURN_IF_ERROR(Flush());
  for (int r = 0; r < partitions_; ++r) {
    if (tickets[r] == 0) continue;
    const int64_t offset = TakeAck(tickets[r]);
    if (offset < 0) {
      return absl::UnavailableError(absl::StrCat("KeyBy '", options_.name,
                                                 "': a changelog commit was not acknowledged"));
    }
    Owned& o = owned_[r];
    o.pointer = offset;
    o.position = consumed_[r] >= 0 ? consumed_[r] : o.position;
    // The interval's writes now count (a snapshot's from its end), and so
    // does the marker: on a quiet partition markers are all that grows the
    // log, and they too push the last snapshot out.
    const bool counts = static_cast<int>(interval_bytes_.size()) == partitions_;
    const int64_t bytes = (counts ? interval_bytes_[r] : 0) + marker_bytes[r];
    if (counts && interval_snapshot_[r] >= 0) {
      o.snapshot_size = interval_snapshot_[r];
      o.since_snapshot = bytes;
      ++snapshots_written_;
    } else {
      o.Wrote(bytes);
    }
  }
  interval_bytes_.clear();
  interval_snapshot_.clear();
  batch.PutMeta(MetaKey(), EncodeOwned());
  batch.PutMeta(SnapshotMetaKey(), EncodeSnapshots());
  return absl::OkStatus();
}

std::string KafkaExchange::EncodeSnapshots() const {
  SnapshotRecord rec;
  for (const Owned& o : owned_) {
    rec.pointer.push_back(o.pointer);
    rec.epoch.push_back(o.epoch);
    rec.since_snapshot.push_back(o.since_snapshot);
    rec.snapshot_size.push_back(o.snapshot_size);
  }
  return Encode(rec);
}

std::string KafkaExchange::EncodeOwned() const {
  OwnedRecord rec;
  for (const Owned& o : owned_) {
    rec.held.push_back(o.held ? 1 : 0);
    rec.pointer.push_back(o.pointer);
    rec.position.push_back(o.position);
  }
  return Encode(rec);
}

absl::Status KafkaExchange::LoadOwned(const StateDirectory& dir) {
  EDDY_ASSIGN_OR_RETURN(const std::optional<std::string> saved, dir.GetMeta(MetaKey()));
  owned_.assign(partitions_, Owned{});
  if (!saved.has_value()) return absl::OkStatus();
  OwnedRecord rec;
  if (!DecodeAll(*saved, rec) || rec.held.size() != rec.pointer.size() ||
      rec.held.size() != rec.position.size()) {
    return absl::DataLossError(absl::StrCat("state directory ", dir.path(),
                                            ": undecodable exchange state of KeyBy '",
                                            options_.name, "'"));
  }
  if (static_cast<int>(rec.held.size()) != partitions_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state directory ", dir.path(), " was written when ", options_.repartition_topic, " had ",
        rec.held.size(), " partitions; it has ", partitions_, " now (use a new state directory)"));
  }
  for (int r = 0; r < partitions_; ++r) {
    owned_[r].held = rec.held[r] != 0;
    owned_[r].pointer = rec.pointer[r];
    owned_[r].position = rec.position[r];
  }
  EDDY_ASSIGN_OR_RETURN(const std::optional<std::string> snapshots,
                        dir.GetMeta(SnapshotMetaKey()));
  if (!snapshots.has_value()) return absl::OkStatus();  // written before snapshots
  SnapshotRecord s;
  if (!DecodeAll(*snapshots, s) || static_cast<int>(s.epoch.size()) != partitions_ ||
      s.pointer.size() != s.epoch.size() || s.since_snapshot.size() != s.epoch.size() ||
      s.snapshot_size.size() != s.epoch.size()) {
    return absl::DataLossError(absl::StrCat("state directory ", dir.path(),
                                            ": undecodable snapshot state of KeyBy '",
                                            options_.name, "'"));
  }
  for (int r = 0; r < partitions_; ++r) {
    if (s.pointer[r] != owned_[r].pointer) continue;  // stale: take a snapshot
    owned_[r].epoch = s.epoch[r];
    owned_[r].since_snapshot = s.since_snapshot[r];
    owned_[r].snapshot_size = s.snapshot_size[r];
  }
  return absl::OkStatus();
}

void KafkaExchange::DropKeyGroups(const StateDirectory& dir, int r,
                                  StateDirectory::Batch& batch) const {
  const auto [first, last] = KeyGroupRange(r, partitions_);
  if (first > last) return;
  const std::string begin = KeyGroupPrefix(first);
  const std::string end = KeyGroupPrefix(last + 1);
  for (size_t t = 0; t < dir.table_names().size(); ++t) {
    if (OwnsTable(dir.table_names()[t])) batch.DeleteRange(static_cast<int>(t), begin, end);
  }
}

absl::Status KafkaExchange::CatchUp(StateDirectory& dir, int r, int64_t from, Owned& owned,
                                    PendingWrites& writes, StateDirectory::Batch& batch,
                                    int64_t* end, int64_t* max_epoch) {
  const std::string& topic = options_.changelog_topic;
  const std::string where = absl::StrCat(topic, "/", r);
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(producer_, topic.c_str(), r, &low, &high, 10000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat(where, ": ", rd_kafka_err2str(err)));
  }
  *end = high;
  if (from >= high) return absl::OkStatus();
  const int64_t wanted = from;
  const auto deleted = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat(
        where, ": the state of KeyBy '", options_.name, "' must be rebuilt from offset ", wanted,
        " but the broker kept only offsets ", low, " and later (deleted by retention)", why));
  };
  // The start the chain needs is gone: begin at a retained snapshot.
  bool seeking = false;
  if (from < low) {
    if (options_.snapshot_bytes == 0) return deleted("");
    seeking = true;
    from = low;
  }
  const std::map<std::string, std::string> defaults = {
      {"group.id", "eddy-restore-" + options_.sender_id},
      {"client.id", options_.kafka.client_id},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "error"},
      {"fetch.wait.max.ms", "5"},
  };
  EDDY_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                        kafka_internal::MakeConf(options_.kafka, KafkaClient::kConsumer, defaults));
  EDDY_ASSIGN_OR_RETURN(rd_kafka_t * rk, kafka_internal::NewClient(KafkaClient::kConsumer, conf));
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), r)->offset = from;
  err = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  absl::Status status;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = absl::UnavailableError(absl::StrCat(where, ": ", rd_kafka_err2str(err)));
  }
  auto& pending = writes.by_checkpoint;
  int64_t next = from;
  while (status.ok() && next < high) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 10000);
    if (m == nullptr) {
      status = absl::UnavailableError(absl::StrCat(where, ": no record for 10 s at offset ", next,
                                                   " while restoring state"));
      break;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // The end (offsets may have gaps, e.g. transaction markers).
      const bool at_end = m->offset >= high;
      rd_kafka_message_destroy(m);
      if (at_end) break;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = absl::UnavailableError(absl::StrCat(where, ": ", rd_kafka_message_errstr(m)));
      rd_kafka_message_destroy(m);
      break;
    }
    const int64_t offset = m->offset;
    ChangelogRecord rec;
    const bool ok = DecodeAll(absl::string_view(static_cast<const char*>(m->payload), m->len), rec);
    rd_kafka_message_destroy(m);
    if (offset < next) continue;
    next = offset + 1;
    if (!ok) {
      status = absl::DataLossError(absl::StrCat(where, ":", offset, ": not a changelog record"));
      break;
    }
    switch (rec.kind) {
      case ChangelogRecord::kCommit:
      case ChangelogRecord::kClaim: {
        auto it = pending.find(rec.checkpoint);
        const int64_t epoch = MarkerEpoch(rec);
        // A complete snapshot (its reset record read) is a place to start:
        // when seeking, unless an owner with a newer epoch was seen before
        // it; off the chain followed, only from a newer owner than the
        // chain's (see kafka_exchange.h).
        const bool snapshot = it != pending.end() && !it->second.empty() &&
                              it->second.front().kind == ChangelogRecord::kReset;
        if (snapshot && (seeking || rec.base != owned.pointer) &&
            (seeking ? epoch >= *max_epoch : epoch > owned.epoch)) {
          if (seeking) ++restored_from_snapshot_;
          seeking = false;
          owned.pointer = rec.base;
        }
        *max_epoch = std::max(*max_epoch, epoch);
        if (rec.base == owned.pointer && !seeking) {
          if (it != pending.end() && !snapshot && writes.maybe_cut.count(rec.checkpoint) > 0) {
            status = absl::DataLossError(absl::StrCat(
                where, ":", offset, ": the chain goes on with a checkpoint whose first writes ",
                "were deleted by retention"));
            break;
          }
          if (it != pending.end()) {
            for (const ChangelogRecord& w : it->second) {
              if (w.kind == ChangelogRecord::kReset) {
                ++applied_;
                DropKeyGroups(dir, r, batch);
                continue;
              }
              absl::StatusOr<int> table = dir.Table(w.table);
              if (!table.ok()) {
                status = table.status();
                break;
              }
              ++applied_;
              if (w.kind == ChangelogRecord::kPut) {
                batch.Put(*table, w.key, w.value);
              } else if (w.kind == ChangelogRecord::kDelete) {
                batch.Delete(*table, w.key);
              } else if (w.kind == ChangelogRecord::kDeleteRange) {
                batch.DeleteRange(*table, w.key, w.value);
              } else {
                status = absl::DataLossError(
                    absl::StrCat(where, ":", offset, ": committed with a value cut short"));
                break;
              }
            }
          }
          owned.pointer = offset;
          owned.position = rec.position;
          // (max: a marker of a version before epochs reads as 0.)
          owned.epoch = std::max(owned.epoch, epoch);
        }
        // Off the chain: a member that no longer owned the partition.
        if (it != pending.end()) pending.erase(it);
        writes.maybe_cut.erase(rec.checkpoint);
        break;
      }
      default: {
        std::vector<ChangelogRecord>& list = pending[rec.checkpoint];
        if (seeking && list.empty()) writes.maybe_cut.insert(rec.checkpoint);
        // The rest of a value sent in pieces: appended to its first piece.
        if ((rec.kind == ChangelogRecord::kPutPart || rec.kind == ChangelogRecord::kPut) &&
            !list.empty() && list.back().kind == ChangelogRecord::kPutPart &&
            list.back().table == rec.table && list.back().key == rec.key) {
          list.back().value.append(rec.value);
          list.back().kind = rec.kind;
          break;
        }
        if (rec.kind == ChangelogRecord::kPutPart && !list.empty() &&
            list.back().kind == ChangelogRecord::kPutPart) {
          status = absl::DataLossError(
              absl::StrCat(where, ":", offset, ": a value's pieces are interleaved"));
          break;
        }
        list.push_back(std::move(rec));
      }
    }
    if (!status.ok()) break;
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (status.ok() && seeking) {
    return deleted(", and no complete snapshot of the partition's state was retained");
  }
  if (status.ok() && wanted < low && *max_epoch > owned.epoch) {
    return deleted(", and the snapshot retained is older than its newest owner");
  }
  return status;
}

absl::Status KafkaExchange::Restore(StateDirectory& dir) { return RestoreOwned(dir); }

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> KafkaExchange::CommittedIntervals() {
  EDDY_ASSIGN_OR_RETURN(const auto committed,
                        group_->CommittedMetadata({options_.repartition_topic}));
  std::vector<std::pair<std::string, int64_t>> out(partitions_, {std::string(), -1});
  for (size_t r = 0; r < committed.size() && r < out.size(); ++r) {
    out[r] = {eddy::CommittedInterval(committed[r].metadata), committed[r].offset};
  }
  return out;
}

absl::Status KafkaExchange::RestoreOwned(StateDirectory& dir) {
  EDDY_RETURN_IF_ERROR(LoadOwned(dir));
  std::vector<std::pair<std::string, int64_t>> committed;
  if (options_.hold) {
    EDDY_ASSIGN_OR_RETURN(committed, CommittedIntervals());
  }
  std::unique_ptr<StateDirectory::Batch> batch = dir.NewBatch();
  for (int r = 0; r < partitions_; ++r) {
    Owned& o = owned_[r];
    std::fill(reported_[r].begin(), reported_[r].end(), kMinEventTime);
    partition_watermark_[r] = kMinEventTime;
    if (!inputs_[r]->assigned()) {
      // Another member owns it now: what is here is stale.
      if (o.held) DropKeyGroups(dir, r, *batch);
      o = Owned{};
      consumed_[r] = -1;
      continue;
    }
    int64_t from = o.pointer + 1;
    if (!o.held) {
      DropKeyGroups(dir, r, *batch);
      o = Owned{};
      from = 0;
    }
    const bool was_held = o.held;
    const uint64_t snapshots_before = restored_from_snapshot_;
    int64_t end = 0;
    int64_t max_epoch = o.epoch;
    PendingWrites pending;
    EDDY_RETURN_IF_ERROR(CatchUp(dir, r, from, o, pending, *batch, &end, &max_epoch));
    // Exactly-once: the last committed interval counts even if its owner
    // died before writing its marker; the claim then applies its writes.
    std::string adopt;
    int64_t adopt_position = o.position;
    if (!committed.empty() && !committed[r].first.empty() &&
        (pending.by_checkpoint.count(committed[r].first) > 0 ||
         committed[r].second > o.position)) {
      adopt = committed[r].first;
      adopt_position = std::max(o.position, committed[r].second);
    }
    // Claim: extend the chain so that a late commit of the previous owner
    // (based on what this process found) can never be applied after ours.
    for (int attempt = 0;; ++attempt) {
      if (attempt == 20) {
        return absl::UnavailableError(absl::StrCat(options_.changelog_topic, "/", r,
                                                   ": could not claim the partition's state"));
      }
      ChangelogRecord claim;
      claim.checkpoint = adopt.empty() ? absl::StrCat(options_.sender_id, ":claim") : adopt;
      claim.kind = ChangelogRecord::kClaim;
      claim.base = o.pointer;
      claim.position = adopt.empty() ? o.position : std::max(o.position, adopt_position);
      claim.value = absl::StrCat(max_epoch + 1);  // newer than any owner read
      const uint64_t ticket = next_ticket_++;
      const std::string encoded = Encode(claim);
      o.Wrote(static_cast<int64_t>(encoded.size()));
      EDDY_RETURN_IF_ERROR(Produce(options_.changelog_topic, r, encoded, ticket));
      EDDY_RETURN_IF_ERROR(Flush());
      const int64_t offset = TakeAck(ticket);
      if (offset < 0) {
        return absl::UnavailableError(absl::StrCat(options_.changelog_topic, "/", r,
                                                   ": the claim was not acknowledged"));
      }
      EDDY_RETURN_IF_ERROR(CatchUp(dir, r, end, o, pending, *batch, &end, &max_epoch));
      if (o.pointer == offset) break;  // nothing extended the chain before it
    }
    if (!adopt.empty()) ++adopted_;
    // Rebuilt from the changelog (or a snapshot): the next checkpoint
    // snapshots it, under this owner's epoch.
    if (!was_held || restored_from_snapshot_ != snapshots_before) {
      o.since_snapshot = kSnapshotDue;
    }
    o.held = true;
    consumed_[r] = o.position;
    EDDY_RETURN_IF_ERROR(
        inputs_[r]->SeekTo(o.position >= 0 ? absl::StrCat(o.position) : std::string()));
  }
  batch->PutMeta(MetaKey(), EncodeOwned());
  batch->PutMeta(SnapshotMetaKey(), EncodeSnapshots());
  return dir.Commit(*batch);
}

}  // namespace eddy
