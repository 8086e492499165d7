// Reading JSON-lines (or any line-per-record) files, plain or gzip.
//
// Each file is one input partition; each non-blank line is one raw record
// whose origin is "path:line" (1-based). Gzip is detected from the content,
// not the name. A line longer than `max_record_bytes` becomes an oversized
// record (its first bytes are kept for the dead letter) and reading goes on
// at the next line. Trailing '\r' is dropped (CRLF files).
//
// Thread-safety: one thread at a time.
//
// Example:
//   EDDY_ASSIGN_OR_RETURN(auto part, FileInputPartition::Open("events.jsonl.gz"));
//   inputs["events"].push_back(std::move(part));
#ifndef EDDY_CONNECTORS_FILE_SOURCE_H_
#define EDDY_CONNECTORS_FILE_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/io.h"

namespace eddy {

inline constexpr size_t kDefaultMaxRecordBytes = 1 << 20;

class FileInputPartition final : public InputPartition {
 public:
  // Opens `path`. Errors: NotFound / PermissionDenied naming the path.
  static absl::StatusOr<std::unique_ptr<FileInputPartition>> Open(
      const std::string& path, size_t max_record_bytes = kDefaultMaxRecordBytes);
  ~FileInputPartition() override;

  const std::string& name() const override { return path_; }
  absl::StatusOr<size_t> Read(size_t max_records, uint32_t partition,
                              RawRecordBatch& out) override;
  bool finished() const override { return finished_; }
  // Uncompressed byte offset and line number of the next record, whether the
  // file was finished, and the file's size and mtime (SeekTo refuses a file
  // that changed).
  std::string Position() const override;
  absl::Status SeekTo(absl::string_view position) override;

 private:
  FileInputPartition(std::string path, void* gz, size_t max_record_bytes);

  // Refills buf_ from the file; false at end of file.
  absl::StatusOr<bool> Fill();

  std::string path_;
  void* gz_;  // gzFile
  size_t max_record_bytes_;
  std::string buf_;
  size_t pos_ = 0;           // start of unconsumed bytes in buf_
  uint64_t base_offset_ = 0;  // file offset (uncompressed) of buf_[0]
  uint64_t file_size_ = 0;    // at open, to detect a changed input on resume
  int64_t file_mtime_ns_ = 0;
  uint64_t line_ = 0;
  bool eof_ = false;
  bool finished_ = false;
};

}  // namespace eddy

#endif  // EDDY_CONNECTORS_FILE_SOURCE_H_
