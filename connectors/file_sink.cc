#include "connectors/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <zlib.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace eddy {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

class JsonLinesFileWriter final : public OutputWriter {
 public:
  JsonLinesFileWriter(std::string path, FILE* file) : path_(std::move(path)), file_(file) {
    std::setvbuf(file_, nullptr, _IOFBF, kBufferBytes);
  }
  ~JsonLinesFileWriter() override {
    if (file_ != nullptr) std::fclose(file_);
  }

  absl::Status Write(absl::string_view line) override {
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
        std::fputc('\n', file_) == EOF) {
      return Error("write");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Sync() override {
    if (std::fflush(file_) != 0 || ::fdatasync(fileno(file_)) != 0) return Error("sync");
    const long size = std::ftell(file_);
    if (size < 0) return Error("sync");
    return static_cast<uint64_t>(size);
  }

  absl::Status Close() override {
    if (file_ == nullptr) return absl::OkStatus();
    const bool failed = std::fflush(file_) != 0 || std::ferror(file_) != 0;
    const int err = errno;
    const bool close_failed = std::fclose(file_) != 0;
    file_ = nullptr;
    if (failed || close_failed) {
      errno = err;
      return Error("close");
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(const char* what) const {
    return absl::DataLossError(absl::StrCat(what, " ", path_, ": ", std::strerror(errno)));
  }

  std::string path_;
  FILE* file_;
};

class GzipLinesFileWriter final : public OutputWriter {
 public:
  GzipLinesFileWriter(std::string path, gzFile gz) : path_(std::move(path)), gz_(gz) {
    gzbuffer(gz_, kBufferBytes);
  }
  ~GzipLinesFileWriter() override {
    if (gz_ != nullptr) gzclose(gz_);
  }

  absl::Status Write(absl::string_view line) override {
    if (!line.empty() &&
        gzwrite(gz_, line.data(), static_cast<unsigned>(line.size())) !=
            static_cast<int>(line.size())) {
      return Error("write");
    }
    if (gzputc(gz_, '\n') == -1) return Error("write");
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Sync() override {
    // A gzip stream cannot be cut back at an arbitrary size: gzip outputs are
    // not resumable, and Sync only flushes.
    if (gzflush(gz_, Z_SYNC_FLUSH) != Z_OK) return Error("sync");
    return static_cast<uint64_t>(gztell(gz_));
  }

  absl::Status Close() override {
    if (gz_ == nullptr) return absl::OkStatus();
    const int rc = gzclose(gz_);
    gz_ = nullptr;
    if (rc != Z_OK) return absl::DataLossError(absl::StrCat("close ", path_, ": zlib error ", rc));
    return absl::OkStatus();
  }

 private:
  absl::Status Error(const char* what) const {
    int errnum = 0;
    const char* msg = gzerror(gz_, &errnum);
    return absl::DataLossError(absl::StrCat(what, " ", path_, ": ",
                                            errnum == Z_ERRNO ? std::strerror(errno) : msg));
  }

  std::string path_;
  gzFile gz_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<OutputWriter>> OpenJsonLinesFile(const std::string& path) {
  if (absl::EndsWith(path, ".gz")) {
    gzFile gz = gzopen(path.c_str(), "wb6");
    if (gz == nullptr) {
      return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
    }
    return std::unique_ptr<OutputWriter>(new GzipLinesFileWriter(path, gz));
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<OutputWriter>(new JsonLinesFileWriter(path, f));
}

absl::StatusOr<std::unique_ptr<OutputWriter>> AppendJsonLinesFile(const std::string& path) {
  if (absl::EndsWith(path, ".gz")) {
    return absl::InvalidArgumentError(absl::StrCat("cannot append to ", path, ": a .gz file"));
  }
  FILE* f = std::fopen(path.c_str(), "ab");
  if (f == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<OutputWriter>(new JsonLinesFileWriter(path, f));
}

std::string DirectoryOutputFactory::Path(const std::string& name) const {
  auto it = files_.find(name);
  return it != files_.end() ? it->second : absl::StrCat(dir_, "/", name, ".jsonl");
}

absl::StatusOr<std::unique_ptr<OutputWriter>> DirectoryOutputFactory::Open(
    const std::string& name) {
  return OpenJsonLinesFile(Path(name));
}

absl::StatusOr<std::unique_ptr<OutputWriter>> DirectoryOutputFactory::Resume(
    const std::string& name, uint64_t size) {
  const std::string path = Path(name);
  if (absl::EndsWith(path, ".gz")) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resume ", path, ": a .gz output"));
  }
  FILE* f = std::fopen(path.c_str(), "r+b");
  if (f == nullptr && errno == ENOENT && size == 0) f = std::fopen(path.c_str(), "w+b");
  if (f == nullptr) {
    return absl::DataLossError(absl::StrCat("cannot reopen ", path, " to resume: ", std::strerror(errno)));
  }
  struct stat st;
  if (::fstat(fileno(f), &st) != 0 || static_cast<uint64_t>(st.st_size) < size) {
    std::fclose(f);
    return absl::DataLossError(absl::StrCat(path, " is shorter than the checkpoint recorded (",
                                            size, " bytes): outputs were lost"));
  }
  if (::ftruncate(fileno(f), static_cast<off_t>(size)) != 0 ||
      std::fseek(f, static_cast<long>(size), SEEK_SET) != 0) {
    std::fclose(f);
    return absl::DataLossError(absl::StrCat("cannot cut ", path, " back to ", size, " bytes: ",
                                            std::strerror(errno)));
  }
  return std::unique_ptr<OutputWriter>(new JsonLinesFileWriter(path, f));
}

absl::Status EnsureDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create directory ", dir, ": ", ec.message()));
  if (!std::filesystem::is_directory(dir)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " is not a directory"));
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  }
  const bool ok = std::fwrite(contents.data(), 1, contents.size(), f) == contents.size() &&
                  std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  const int saved = errno;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot write ", tmp, ": ", std::strerror(ok ? errno : saved)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, " to ", path, ": ", std::strerror(e)));
  }
  // The rename itself survives a power loss once its directory is synced.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return absl::OkStatus();
}

}  // namespace eddy
