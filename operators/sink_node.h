// Sink: encodes records and writes them, one line each, in tag order.
//
// The encoder appends one record's encoding (typically a JSON object, with no
// newline) to a string. Encoding runs per task in parallel; writing merges
// the tasks' records by tag so the output is the same for any --threads.
#ifndef EDDY_OPERATORS_SINK_NODE_H_
#define EDDY_OPERATORS_SINK_NODE_H_

#include <string>
#include <utility>
#include <vector>

#include "engine/source_sink.h"
#include "engine/tag_merge.h"
#include "engine/thread_pool.h"
#include "engine/status_macros.h"

namespace eddy {

template <typename T, typename Encoder>
class SinkNode final : public SinkNodeBase {
 public:
  SinkNode(std::string name, Producer<T>* input, Encoder encoder)
      : SinkNodeBase(std::move(name)), input_(input), encoder_(std::move(encoder)) {
    this->AddInput(input);
  }

  absl::Status Open(int partitions) override {
    encoded_.resize(partitions);
    // Encoding runs on all tasks at once: each uses its own copy.
    encoders_.clear();
    for (int p = 0; p < partitions; ++p) encoders_.push_back(encoder_);
    return absl::OkStatus();
  }

  absl::Status RunBarrier(const BatchContext& ctx) override {
    auto& in = input_->output();
    const int parts = static_cast<int>(in.parts.size());
    ctx.pool->ParallelFor(parts, [&](int p) {
      Encoded& enc = encoded_[p];
      Encoder& encoder = encoders_[p];
      enc.bytes.clear();
      enc.ends.clear();
      for (const Record<T>& r : in.parts[p]) {
        encoder(r.value, enc.bytes);
        enc.ends.push_back(enc.bytes.size());
      }
    });
    absl::Status status;
    MergeBuffer(in, [&](int p, size_t i) {
      if (!status.ok()) return;
      const Encoded& enc = encoded_[p];
      const size_t begin = i == 0 ? 0 : enc.ends[i - 1];
      status = writer_->Write(absl::string_view(enc.bytes).substr(begin, enc.ends[i] - begin));
      if (status.ok()) ++written_;
    });
    return status;
  }

 private:
  struct Encoded {
    std::string bytes;
    std::vector<size_t> ends;
  };
  Producer<T>* input_;
  Encoder encoder_;
  std::vector<Encoder> encoders_;  // one per task
  std::vector<Encoded> encoded_;
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_SINK_NODE_H_
