// The executor's view of inputs and outputs.
//
// Connectors (connectors/) implement these: files for replay, Kafka for live
// runs. The executor reads raw records (one line of bytes each) from input
// partitions, and writes encoded records (one line each) to outputs.
#ifndef EDDY_ENGINE_IO_H_
#define EDDY_ENGINE_IO_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace eddy {

// Readable bytes guaranteed after the end of every raw record handed to a
// parser, so that SIMD parsers (simdjson) may read past the end safely.
inline constexpr size_t kRecordPadding = 64;

// The raw records of one source for one batch. Bytes of all records are
// stored back to back in `bytes`; each record is a (offset, size) slice.
struct RawRecordBatch {
  struct Entry {
    size_t offset = 0;
    uint32_t size = 0;
    uint32_t partition = 0;   // index of the input partition within the source
    uint64_t position = 0;    // line number (files, 1-based) or offset (Kafka)
    bool oversized = false;   // longer than the maximum; bytes hold a prefix
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

  // Where reading would continue: an opaque value for SeekTo, stored in
  // checkpoints (file offset and line; Kafka offset).
  virtual std::string Position() const = 0;
  // Continues reading from a position returned by Position() (possibly by
  // another process). Errors: a position this partition cannot reach.
  virtual absl::Status SeekTo(absl::string_view position) = 0;
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
