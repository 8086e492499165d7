// The executor's view of inputs and outputs.
//
// Connectors (connectors/) implement these: files for replay, Kafka for live
// runs. The executor reads raw records (one line of bytes each) from input
// partitions, and writes encoded records (one line each) to outputs.
#ifndef EDDY_ENGINE_IO_H_
#define EDDY_ENGINE_IO_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/record.h"

namespace eddy {

// Readable bytes guaranteed after the end of every raw record handed to a
// parser, so that SIMD parsers (simdjson) may read past the end safely.
inline constexpr size_t kRecordPadding = 64;

inline constexpr int64_t kNoTimestamp = INT64_MIN;

// The raw records of one source for one batch. Bytes of all records are
// stored back to back in `bytes`; each record is a (offset, size) slice.
struct RawRecordBatch {
  struct Entry {
    size_t offset = 0;
    uint32_t size = 0;
    uint32_t partition = 0;   // index of the input partition within the source
    uint64_t position = 0;    // line number (files, 1-based) or offset (Kafka)
    bool oversized = false;   // longer than the maximum; bytes hold a prefix
    // Kafka: the record's key and headers follow its value in `bytes`
    // (key_size bytes, then headers_size bytes in RecordMeta's encoding),
    // and its timestamp in epoch milliseconds (kNoTimestamp if none).
    uint32_t key_size = 0;
    uint32_t headers_size = 0;
    int64_t timestamp = kNoTimestamp;
  };
  std::string bytes;
  std::vector<Entry> entries;

  void Clear() {
    bytes.clear();
    entries.clear();
  }
  // REQUIRES: Pad() was called after the last append.
  absl::string_view View(const Entry& e) const {
    return absl::string_view(bytes.data() + e.offset, e.size);
  }
  // Appends kRecordPadding zero bytes so every View() has readable padding.
  void Pad() { bytes.append(kRecordPadding, '\0'); }
};

// What a source knows about a record besides its bytes: its Kafka key,
// headers and timestamp (empty, none and kNoTimestamp for files) and where it
// came from. A parser taking (absl::string_view, const RecordMeta&) sees it.
//
// Example:
//   absl::StatusOr<Click> ParseClick(absl::string_view json, const eddy::RecordMeta& meta) {
//     ...
//     click.ts = meta.timestamp() != eddy::kNoTimestamp ? meta.timestamp() : click.ts;
//     if (auto trace = meta.Header("trace-id")) click.trace = std::string(*trace);
//   }
class RecordMeta {
 public:
  RecordMeta(const RawRecordBatch& batch, const RawRecordBatch::Entry& entry)
      : batch_(batch), entry_(entry) {}

  // The Kafka message key (empty when none).
  absl::string_view key() const {
    return absl::string_view(batch_.bytes.data() + entry_.offset + entry_.size, entry_.key_size);
  }
  // The Kafka timestamp in epoch milliseconds, or kNoTimestamp.
  int64_t timestamp() const { return entry_.timestamp; }
  // Kafka offset, or the 1-based line of a file.
  uint64_t position() const { return entry_.position; }
  // The value of the first header named `name`; nullopt if there is none
  // (a header with a null value reads as an empty string).
  std::optional<absl::string_view> Header(absl::string_view name) const;
  // Every header, in order.
  std::vector<std::pair<absl::string_view, absl::string_view>> Headers() const;

  // The encoding of headers appended after the key: per header, a 4-byte
  // little-endian name length, the name, a 4-byte value length, the value.
  static void AppendHeader(std::string& out, absl::string_view name, absl::string_view value);

 private:
  absl::string_view headers() const {
    return absl::string_view(batch_.bytes.data() + entry_.offset + entry_.size + entry_.key_size,
                             entry_.headers_size);
  }
  const RawRecordBatch& batch_;
  const RawRecordBatch::Entry& entry_;
};

// One input partition of a source: a file, or a Kafka topic partition.
//
// Thread-safety: used by one thread at a time.
class InputPartition {
 public:
  virtual ~InputPartition() = default;

  // Names the partition in record origins ("path" for files).
  virtual const std::string& name() const = 0;

  // Appends up to `max_records` records to `out`, tagging them with
  // `partition`. Returns how many were appended; 0 with finished() == false
  // means nothing is available right now. An error is an I/O or format error
  // of the partition itself (unreadable file, corrupt gzip), not a bad record.
  virtual absl::StatusOr<size_t> Read(size_t max_records, uint32_t partition,
                                      RawRecordBatch& out) = 0;

  // True once the partition can produce no more records.
  virtual bool finished() const = 0;

  // False while another process reads this partition (a Kafka partition
  // assigned to another member of the consumer group). It then does not hold
  // the watermark back, and its Position() is empty.
  virtual bool assigned() const { return true; }

  // Where reading would continue: an opaque value for SeekTo, stored in
  // checkpoints (file offset and line; Kafka offset).
  virtual std::string Position() const = 0;
  // Continues reading from a position returned by Position() (possibly by
  // another process). Errors: a position this partition cannot reach.
  virtual absl::Status SeekTo(absl::string_view position) = 0;

  // Handing a partition's watermark over to its next reader, for sources
  // read by several processes in turn (Kafka). The executor tells the
  // partition its watermark after each batch (NoteWatermark); the source
  // stores the last one with the position it commits. A process that is
  // then assigned the partition starts from that position and gets the
  // watermark back (handed_over_watermark; kMinEventTime: none): a floor for
  // the partition's watermark, since its records up to there, which set it,
  // will never be read here.
  virtual void NoteWatermark(EventTime watermark) { (void)watermark; }
  virtual EventTime handed_over_watermark() const { return kMinEventTime; }
};

// A destination for one output (a sink, dead letters, late records).
//
// Thread-safety: used by one thread at a time.
class OutputWriter {
 public:
  virtual ~OutputWriter() = default;
  // Writes one record; `line` holds no newline.
  virtual absl::Status Write(absl::string_view line) = 0;
  // Makes everything written so far durable and returns the output's size in
  // bytes (recorded in checkpoints; see OutputFactory::Resume).
  virtual absl::StatusOr<uint64_t> Sync() = 0;
  // Flushes and closes; no Write after it.
  virtual absl::Status Close() = 0;
};

// Creates the writer for the output named `name` (a sink name,
// "dead_letters" or "late_events").
class OutputFactory {
 public:
  virtual ~OutputFactory() = default;
  virtual absl::StatusOr<std::unique_ptr<OutputWriter>> Open(const std::string& name) = 0;
  // Reopens an output after a crash, cutting it back to `size` bytes (what a
  // checkpoint recorded), so that what the run writes next follows exactly
  // what was checkpointed. Errors: the output is shorter than `size`.
  virtual absl::StatusOr<std::unique_ptr<OutputWriter>> Resume(const std::string& name,
                                                               uint64_t size) {
    (void)size;
    return absl::UnimplementedError("output '" + name + "' cannot be resumed");
  }
};

}  // namespace eddy

#endif  // EDDY_ENGINE_IO_H_
