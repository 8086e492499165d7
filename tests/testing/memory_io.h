// In-memory inputs and outputs for executor tests.
#ifndef EDDY_TESTS_TESTING_MEMORY_IO_H_
#define EDDY_TESTS_TESTING_MEMORY_IO_H_

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/io.h"

namespace eddy::testing {

// Serves a fixed list of lines. With `silent_until_last` > 0, it produces
// nothing (while not finished) for that many Read calls before its last
// line — a partition gone quiet.
class MemoryInput final : public InputPartition {
 public:
  MemoryInput(std::string name, std::vector<std::string> lines, int silent_reads = 0)
      : name_(std::move(name)), lines_(std::move(lines)), silent_reads_(silent_reads) {}

  const std::string& name() const override { return name_; }
  absl::StatusOr<size_t> Read(size_t max_records, uint32_t partition,
                              RawRecordBatch& out) override {
    if (silent_reads_ > 0 && next_ + 1 == lines_.size()) {
      --silent_reads_;
      return 0;
    }
    size_t n = 0;
    while (n < max_records && next_ < lines_.size()) {
      if (silent_reads_ > 0 && next_ + 1 == lines_.size()) break;
      RawRecordBatch::Entry e;
      e.offset = out.bytes.size();
      e.size = static_cast<uint32_t>(lines_[next_].size());
      e.partition = partition;
      e.position = next_ + 1;
      out.bytes.append(lines_[next_]);
      out.entries.push_back(e);
      ++next_;
      ++n;
    }
    return n;
  }
  bool finished() const override { return next_ == lines_.size(); }
  std::string Position() const override { return std::to_string(next_); }
  absl::Status SeekTo(absl::string_view position) override {
    next_ = std::stoull(std::string(position));
    return absl::OkStatus();
  }

 private:
  std::string name_;
  std::vector<std::string> lines_;
  size_t next_ = 0;
  int silent_reads_;
};

// Collects every output's lines in memory.
class MemoryOutputs final : public OutputFactory {
 public:
  absl::StatusOr<std::unique_ptr<OutputWriter>> Open(const std::string& name) override {
    lines_[name].clear();
    return std::unique_ptr<OutputWriter>(new Writer(&lines_[name]));
  }
  const std::vector<std::string>& lines(const std::string& name) { return lines_[name]; }

 private:
  class Writer final : public OutputWriter {
   public:
    explicit Writer(std::vector<std::string>* out) : out_(out) {}
    absl::Status Write(absl::string_view line) override {
      out_->emplace_back(line.data(), line.size());
      return absl::OkStatus();
    }
    absl::StatusOr<uint64_t> Sync() override {
      uint64_t n = 0;
      for (const std::string& l : *out_) n += l.size() + 1;
      return n;
    }
    absl::Status Close() override { return absl::OkStatus(); }

   private:
    std::vector<std::string>* out_;
  };
  std::map<std::string, std::vector<std::string>> lines_;
};

}  // namespace eddy::testing

#endif  // EDDY_TESTS_TESTING_MEMORY_IO_H_
