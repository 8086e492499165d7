// Writing outputs as JSON-lines files: DIR/<output>.jsonl.
//
// Thread-safety: each writer is used by one thread at a time.
#ifndef EDDY_CONNECTORS_FILE_SINK_H_
#define EDDY_CONNECTORS_FILE_SINK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/io.h"

namespace eddy {

// Opens (truncating) `path` for writing records one per line; gzip when the
// name ends in ".gz".
absl::StatusOr<std::unique_ptr<OutputWriter>> OpenJsonLinesFile(const std::string& path);

// Writes each output to `<dir>/<name>.jsonl`.
class DirectoryOutputFactory final : public OutputFactory {
 public:
  explicit DirectoryOutputFactory(std::string dir) : dir_(std::move(dir)) {}
  absl::StatusOr<std::unique_ptr<OutputWriter>> Open(const std::string& name) override;
  absl::StatusOr<std::unique_ptr<OutputWriter>> Resume(const std::string& name,
                                                       uint64_t size) override;

 private:
  std::string dir_;
};

// Creates `dir` and its parents if missing. Errors name the directory.
absl::Status EnsureDirectory(const std::string& dir);

}  // namespace eddy

#endif  // EDDY_CONNECTORS_FILE_SINK_H_
