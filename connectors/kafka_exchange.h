// A KeyBy across processes: a repartition topic for its records and a
// changelog topic for the keyed state downstream of it.
//
// Topics (each with P partitions, the same P for both): key group g goes to
// partition PartitionOfKeyGroup(g, P) of each. The repartition topic's
// partitions are consumed in the job's consumer group, so the process that
// owns repartition partition r owns the state of r's key groups.
//
// Records: value 'R', 8-byte event time (little-endian), the record's codec
// bytes. Watermarks: every `marker_interval_ms` each process writes 'W' and
// the watermark of each input partition it reads (index, value; 12 bytes
// each) to every partition. A repartition partition's watermark is the
// smallest over all `watermark_entries` input partitions of the latest value
// reported for each (unreported: not yet known, it holds time back). So a
// partition whose reader died holds the watermark where it was until its new
// owner reports it: nothing it has not delivered yet is made late. The
// exchange's watermark is the smallest over the partitions this process
// owns.
//
// Changelog: at each checkpoint the state writes of the key groups behind
// this KeyBy (ChangelogRecord, tagged with the checkpoint's id) go to their
// partitions, followed by one commit marker per owned partition that names
// its base (the marker it extends) and the repartition position it covers.
// A process that takes a partition over rebuilds its state by applying, in
// order, the checkpoints whose marker extends the chain; a marker off the
// chain (written by a member that had already lost the partition) is
// skipped with its writes. The new owner then appends a claim that extends
// the chain, so a late write of the old owner can never be applied after
// the new owner's. State is therefore always the state as of one position of
// the repartition partition, and reading resumes there: no input is lost.
// Outputs, and records the old owner sent again after a crash, are
// at-least-once (a record may be counted twice after a failover).
//
// Exactly-once (`Options::hold` set): records and watermark reports are not
// produced at once but held with the interval's outputs (KafkaOutputFactory::
// Hold) and published only after the interval's offset commit, so each
// reaches the repartition topic once even when its sender dies and its
// input is read again. The offset commit is then the one point where an
// interval counts, for the keyed state too: the state writes go to the
// changelog before it (WriteChanges), tagged with the interval the commit's
// metadata names, and the commit markers after it (WriteMarkers). A process
// that takes a partition over and finds the last committed interval's
// writes with no marker (the owner died between the two) claims the
// partition *for* that interval: the claim applies its writes, and the
// state covers the committed repartition offset.
//
// Snapshots: a broker keeps a bounded changelog (retention; the embedded
// broker keeps ~5 MiB per partition), so its start cannot be relied on.
// Once `snapshot_bytes` (and at least the size of the partition's last
// snapshot) were written to a changelog partition since its last snapshot,
// a checkpoint writes a snapshot there (one partition's at most, the most
// overdue, per checkpoint and KeyBy): a reset record
// (drop the partition's key groups), every entry of the partition's state
// as of the last checkpoint, then the checkpoint's own writes, all under
// its commit marker. Applying a snapshot's checkpoint therefore yields the
// whole state, wherever the chain stood. Snapshots at most double the bytes
// written to a changelog (a snapshot is no larger than what was written
// since the last).
// A process that must read from an offset the broker has deleted starts
// instead at the first complete snapshot retained (its reset record kept)
// and follows the chain from its marker. Markers carry an epoch, one more
// at each claim than any the claimer read: a snapshot of an owner that had
// already lost the partition (a zombie) is older than the chain's, so a
// complete snapshot with a newer epoch off the chain replaces the one
// started from, and a restore that ends behind the newest epoch it saw is a
// data-loss error, never a wrong state. A partition taken over without
// local state is snapshotted by its new owner at once (at the first
// checkpoint whose turn it is). With no
// complete snapshot retained, a deleted start is a data-loss error.
#ifndef EDDY_CONNECTORS_KAFKA_EXCHANGE_H_
#define EDDY_CONNECTORS_KAFKA_EXCHANGE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "connectors/kafka_config.h"
#include "connectors/kafka_source.h"
#include "engine/exchange.h"
#include "engine/io.h"
#include "engine/status_macros.h"
#include "state/state_directory.h"

struct rd_kafka_s;

namespace eddy {

class KafkaExchange final : public RemoteExchange {
 public:
  struct Options {
    KafkaOptions kafka;
    std::string name;               // the KeyBy's name (meta keys, messages)
    std::string repartition_topic;  // consumed through `group`
    std::string changelog_topic;
    // Tables of the keyed operators behind this KeyBy: names starting with
    // one of these ("<operator>/").
    std::vector<std::string> table_prefixes;
    std::string sender_id;  // unique per process run
    // Input partitions whose watermarks the markers carry (over all
    // processes: every source partition, and the partitions of the
    // exchanges before this one).
    uint32_t watermark_entries = 0;
    int64_t marker_interval_ms = 100;
    size_t max_records_per_batch = 4096;
    // A changelog partition gets a snapshot once this many bytes (and at
    // least its last snapshot's size) were written to it since the last
    // one. 0: never (a deleted changelog start is then always data loss).
    size_t snapshot_bytes = size_t{1} << 20;
    // Exactly-once: holds a record for (topic, partition) until the
    // interval's outputs are published.
    std::function<absl::Status(const std::string&, int32_t, absl::string_view)> hold;
  };

  // `group` (which must have subscribed to the repartition topic) outlives
  // the exchange. Errors: missing topics, unequal partition counts.
  static absl::StatusOr<std::unique_ptr<KafkaExchange>> Open(Options options,
                                                             KafkaConsumerGroup* group);
  ~KafkaExchange() override;

  // ---- RemoteExchange ----
  absl::Status Send(uint32_t key_group, EventTime ts, absl::string_view value) override;
  const std::vector<Arrival>& arrivals() const override { return arrivals_; }

  // Sends this process's input watermarks (index, value) to every partition
  // when due, reads the next batch of arrivals from the owned partitions and
  // the watermarks reported in them. Returns the exchange's watermark.
  absl::StatusOr<EventTime> Poll(const std::vector<std::pair<uint32_t, EventTime>>& watermarks);

  // Appends (base + r, watermark) for each partition r this process owns:
  // what an exchange after this one reports for it.
  void OwnedWatermarks(uint32_t base,
                       std::vector<std::pair<uint32_t, EventTime>>& out) const;

  // Writes the state changes in `batch` (for this KeyBy's tables) and a
  // commit marker per owned partition to the changelog, waits for them, and
  // adds where the chain now stands to `batch`. Call just before it commits.
  absl::Status WriteChangelog(const StateDirectory& dir, StateDirectory::Batch& batch) {
    const std::string tag = absl::StrCat(options_.sender_id, ":", ++checkpoints_);
    EDDY_RETURN_IF_ERROR(WriteChanges(dir, batch, tag));
    return WriteMarkers(batch, tag);
  }
  // The two halves of WriteChangelog, for exactly-once: the state changes
  // (tagged `interval`) before the interval's offset commit, the markers
  // after it.
  absl::Status WriteChanges(const StateDirectory& dir, const StateDirectory::Batch& batch,
                            const std::string& interval);
  absl::Status WriteMarkers(StateDirectory::Batch& batch, const std::string& interval);

  // Makes the local state match this process's current assignment: drops
  // the key groups of partitions it no longer owns, brings the owned ones up
  // to date from the changelog, claims them, and seeks the repartition
  // partitions to the positions the state covers. Call before each run.
  absl::Status Restore(StateDirectory& dir);

  // True if a repartition partition is assigned to this process and not yet
  // restored: nothing may be committed over it before Restore (its
  // committed offset and metadata are its previous owner's).
  bool NeedsRestore() const;

  // True if repartition partitions moved since the last call.
  bool AssignmentChanged() { return group_->TakeAssignmentChange(options_.repartition_topic); }

  int partitions() const { return partitions_; }
  // Exactly-once: partitions claimed at a committed interval their owner
  // did not mark (its writes applied, or only its offset), over all Restores.
  uint64_t adopted() const { return adopted_; }
  // State writes applied from the changelog, over all Restores.
  uint64_t applied() const { return applied_; }
  // Snapshots written, and restores that started from a snapshot because
  // the changelog's start was deleted.
  uint64_t snapshots_written() const { return snapshots_written_; }
  uint64_t restored_from_snapshot() const { return restored_from_snapshot_; }
  const std::string& changelog_topic() const { return options_.changelog_topic; }
  const std::string& name() const { return options_.name; }

 private:
  // Where the chain and the reading of one partition stand, as checkpointed.
  struct Owned {
    bool held = false;      // local state holds this partition's key groups
    int64_t pointer = -1;   // changelog offset of the last applied marker/claim
    int64_t position = -1;  // repartition offset the state covers (-1: start)
    int64_t epoch = 0;      // this process's markers' epoch (its claim's)
    // Bytes written to the changelog partition since its last snapshot
    // (kSnapshotDue: unknown, take one), and that snapshot's size.
    int64_t since_snapshot = kSnapshotDue;
    int64_t snapshot_size = 0;
    // Counts bytes written to the partition toward its next snapshot.
    void Wrote(int64_t bytes) {
      if (since_snapshot < kSnapshotDue) since_snapshot += bytes;
    }
  };
  static constexpr int64_t kSnapshotDue = INT64_MAX / 2;

  KafkaExchange(Options options, KafkaConsumerGroup* group)
      : options_(std::move(options)), group_(group) {}
  absl::Status Connect();
  // `ticket` > 0 asks for the record's offset: TakeAck(ticket) after Flush.
  absl::Status Produce(const std::string& topic, int32_t partition, absl::string_view value,
                       uint64_t ticket = 0);
  // The acknowledged offset of `ticket`'s record; -1 if not acknowledged.
  int64_t TakeAck(uint64_t ticket);
  absl::Status Flush();
  absl::Status SendMarkers(const std::vector<std::pair<uint32_t, EventTime>>& watermarks);
  // A repartition record: produced at once, or held (exactly-once).
  absl::Status Emit(int32_t partition, absl::string_view value);
  // Exactly-once: per partition, the last committed interval and the
  // repartition offset it covers ("", -1: none).
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> CommittedIntervals();
  std::string MetaKey() const { return "eddy.exchange." + options_.name; }
  absl::Status LoadOwned(const StateDirectory& dir);
  absl::Status RestoreOwned(StateDirectory& dir);
  std::string EncodeOwned() const;
  std::string EncodeSnapshots() const;
  // Deletes partition r's key groups from every table of this KeyBy.
  void DropKeyGroups(const StateDirectory& dir, int r, StateDirectory::Batch& batch) const;
  // Applies changelog partition r from `from` to its end along the chain.
  // `pending` keeps the writes whose commit marker is not yet read.
  struct PendingWrites;
  // `*max_epoch` is raised to the newest marker epoch read.
  absl::Status CatchUp(StateDirectory& dir, int r, int64_t from, Owned& owned,
                       PendingWrites& pending, StateDirectory::Batch& batch, int64_t* end,
                       int64_t* max_epoch);
  std::string SnapshotMetaKey() const { return MetaKey() + ".snapshots"; }
  bool OwnsTable(const std::string& table) const;
  void OnDelivery(int err, int64_t offset, uint64_t ticket);

  friend struct KafkaExchangeCallbacks;

  Options options_;
  KafkaConsumerGroup* group_;
  rd_kafka_s* producer_ = nullptr;
  int partitions_ = 0;
  std::vector<std::unique_ptr<InputPartition>> inputs_;  // repartition partitions
  std::vector<Owned> owned_;
  std::vector<int64_t> consumed_;  // next repartition offset, per partition (-1: unknown)
  // Per partition: the latest watermark reported for each input partition.
  std::vector<std::vector<EventTime>> reported_;
  std::vector<EventTime> partition_watermark_;  // per partition, from reported_
  std::vector<bool> touched_;  // per partition: WriteChanges wrote to it
  // Per partition, by the last WriteChanges: bytes written outside a
  // snapshot, and the snapshot's bytes (-1: none). Counted at its marker.
  std::vector<int64_t> interval_bytes_;
  std::vector<int64_t> interval_snapshot_;
  uint64_t snapshots_written_ = 0;
  uint64_t restored_from_snapshot_ = 0;
  uint64_t adopted_ = 0;
  uint64_t applied_ = 0;
  int64_t last_marker_ms_ = 0;
  std::vector<std::pair<uint32_t, EventTime>> last_markers_;  // the last sent
  RawRecordBatch raw_;
  std::vector<Arrival> arrivals_;
  std::string buffer_;
  uint64_t checkpoints_ = 0;
  uint64_t next_ticket_ = 1;
  std::map<uint64_t, int64_t> acks_;  // ticket -> offset (-2: failed)
  int next_partition_ = 0;            // Poll reads from here first (rotating)
  absl::Status error_;  // first failed delivery
};

}  // namespace eddy

#endif  // EDDY_CONNECTORS_KAFKA_EXCHANGE_H_
