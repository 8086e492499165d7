// Writing outputs as JSON-lines files: DIR/<output>.jsonl.
//
// Thread-safety: each writer is used by one thread at a time.
#ifndef EDDY_CONNECTORS_FILE_SINK_H_
#define EDDY_CONNECTORS_FILE_SINK_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/io.h"

namespace eddy {

// Opens (truncating) `path` for writing records one per line; gzip when the
// name ends in ".gz".
absl::StatusOr<std::unique_ptr<OutputWriter>> OpenJsonLinesFile(const std::string& path);
// The same, appending to the file if it exists (not for .gz).
absl::StatusOr<std::unique_ptr<OutputWriter>> AppendJsonLinesFile(const std::string& path);

// Writes each output to `<dir>/<name>.jsonl`, or to the path `files` gives
// for its name.
class DirectoryOutputFactory final : public OutputFactory {
 public:
  explicit DirectoryOutputFactory(std::string dir, std::map<std::string, std::string> files = {})
      : dir_(std::move(dir)), files_(std::move(files)) {}
  absl::StatusOr<std::unique_ptr<OutputWriter>> Open(const std::string& name) override;
  absl::StatusOr<std::unique_ptr<OutputWriter>> Resume(const std::string& name,
                                                       uint64_t size) override;

 private:
  std::string Path(const std::string& name) const;

  std::string dir_;
  std::map<std::string, std::string> files_;
};

// Creates `dir` and its parents if missing. Errors name the directory.
absl::Status EnsureDirectory(const std::string& dir);

// Replaces `path` with `contents` whole: written to `path`.tmp, synced, then
// renamed over it (and the directory synced), so a crash leaves the old file
// or the new one.
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents);

}  // namespace eddy

#endif  // EDDY_CONNECTORS_FILE_SINK_H_
