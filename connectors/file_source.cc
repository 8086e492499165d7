#include "connectors/file_source.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "state/codec.h"

namespace eddy {
namespace {

constexpr size_t kReadChunk = 256 * 1024;
// Bytes of an oversized record kept for its dead letter.
constexpr size_t kOversizedPrefix = 256;

bool IsBlank(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\t') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileInputPartition>> FileInputPartition::Open(
    const std::string& path, size_t max_record_bytes) {
  errno = 0;
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) {
    const int err = errno;
    std::string msg = absl::StrCat("cannot open ", path, ": ",
                                   err != 0 ? std::strerror(err) : "out of memory");
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES) return absl::PermissionDeniedError(msg);
    return absl::UnavailableError(msg);
  }
  gzbuffer(gz, kReadChunk);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    gzclose(gz);
    return absl::UnavailableError(absl::StrCat("cannot stat ", path, ": ", std::strerror(errno)));
  }
  auto part = std::unique_ptr<FileInputPartition>(new FileInputPartition(path, gz, max_record_bytes));
  part->file_size_ = static_cast<uint64_t>(st.st_size);
  part->file_mtime_ns_ = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return part;
}

FileInputPartition::FileInputPartition(std::string path, void* gz, size_t max_record_bytes)
    : path_(std::move(path)), gz_(gz), max_record_bytes_(max_record_bytes) {}

FileInputPartition::~FileInputPartition() { gzclose(static_cast<gzFile>(gz_)); }

absl::StatusOr<bool> FileInputPartition::Fill() {
  if (eof_) return false;
  // Drop consumed bytes, then append a chunk.
  base_offset_ += pos_;
  buf_.erase(0, pos_);
  pos_ = 0;
  const size_t old = buf_.size();
  buf_.resize(old + kReadChunk);
  gzFile gz = static_cast<gzFile>(gz_);
  const int n = gzread(gz, buf_.data() + old, static_cast<unsigned>(kReadChunk));
  if (n < 0) {
    int errnum = 0;
    const char* msg = gzerror(gz, &errnum);
    buf_.resize(old);
    return absl::DataLossError(absl::StrCat("read failed: ", msg));
  }
  buf_.resize(old + static_cast<size_t>(n));
  if (n == 0) {
    int errnum = 0;
    const char* msg = gzerror(gz, &errnum);
    if (errnum != Z_OK) return absl::DataLossError(absl::StrCat("corrupt or truncated gzip: ", msg));
    eof_ = true;
    return false;
  }
  return true;
}

absl::StatusOr<size_t> FileInputPartition::Read(size_t max_records, uint32_t partition,
                                                RawRecordBatch& out) {
  size_t produced = 0;
  while (produced < max_records && !finished_) {
    const char* start = buf_.data() + pos_;
    size_t avail = buf_.size() - pos_;
    const void* nl = std::memchr(start, '\n', avail);
    size_t len;
    size_t consumed;
    if (nl != nullptr) {
      len = static_cast<const char*>(nl) - start;
      consumed = len + 1;
    } else if (avail > max_record_bytes_) {
      len = avail;  // oversized and still growing: handled below
      consumed = 0;
    } else {
      absl::StatusOr<bool> more = Fill();
      if (!more.ok()) return more.status();
      if (*more) continue;
      // Fill() may have moved the buffer.
      start = buf_.data() + pos_;
      avail = buf_.size() - pos_;
      if (avail == 0) {
        finished_ = true;
        break;
      }
      len = avail;  // last line without a newline
      consumed = avail;
    }

    if (len > max_record_bytes_) {
      // Keep a prefix for the dead letter, then skip to the end of the line.
      ++line_;
      RawRecordBatch::Entry e;
      e.offset = out.bytes.size();
      const size_t keep = std::min(kOversizedPrefix, len);
      e.size = static_cast<uint32_t>(keep);
      e.partition = partition;
      e.position = line_;
      e.oversized = true;
      out.bytes.append(start, keep);
      out.entries.push_back(e);
      ++produced;
      // Discard until the newline.
      for (;;) {
        const char* s = buf_.data() + pos_;
        const size_t a = buf_.size() - pos_;
        const void* end = std::memchr(s, '\n', a);
        if (end != nullptr) {
          pos_ += static_cast<const char*>(end) - s + 1;
          break;
        }
        pos_ = buf_.size();
        absl::StatusOr<bool> more = Fill();
        if (!more.ok()) return more.status();
        if (!*more) break;
      }
      continue;
    }

    ++line_;
    pos_ += consumed;
    size_t n = len;
    if (n > 0 && start[n - 1] == '\r') --n;
    if (IsBlank(start, n)) continue;
    RawRecordBatch::Entry e;
    e.offset = out.bytes.size();
    e.size = static_cast<uint32_t>(n);
    e.partition = partition;
    e.position = line_;
    out.bytes.append(start, n);
    out.entries.push_back(e);
    ++produced;
  }
  return produced;
}

// A position is (offset, line, finished, file size, file mtime): the last
// two detect an input that changed between the checkpoint and the resume.
std::string FileInputPartition::Position() const {
  std::string out;
  EncodeTo(base_offset_ + pos_, out);
  EncodeTo(line_, out);
  EncodeTo(finished_, out);
  EncodeTo(file_size_, out);
  EncodeTo(file_mtime_ns_, out);
  return out;
}

absl::Status FileInputPartition::SeekTo(absl::string_view position) {
  uint64_t offset = 0;
  uint64_t line = 0;
  bool finished = false;
  uint64_t size = 0;
  int64_t mtime = 0;
  absl::string_view in = position;
  if (!DecodeFrom(in, offset) || !DecodeFrom(in, line) || !DecodeFrom(in, finished) ||
      !DecodeFrom(in, size) || !DecodeFrom(in, mtime) || !in.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": malformed file position"));
  }
  if (size != file_size_ || mtime != file_mtime_ns_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "input ", path_, " changed since the checkpoint (size or modification time differs)"));
  }
  gzFile gz = static_cast<gzFile>(gz_);
  // zlib seeks in the uncompressed stream (forward decompression for gzip).
  if (gzseek(gz, static_cast<z_off_t>(offset), SEEK_SET) != static_cast<z_off_t>(offset)) {
    int errnum = 0;
    return absl::DataLossError(absl::StrCat(path_, ": cannot seek to offset ", offset, ": ",
                                            gzerror(gz, &errnum)));
  }
  buf_.clear();
  pos_ = 0;
  base_offset_ = offset;
  line_ = line;
  eof_ = finished;
  finished_ = finished;
  return absl::OkStatus();
}

}  // namespace eddy
