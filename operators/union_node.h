// Union: merges streams of the same type.
//
// The output is the first input's records (in tag order), then the second's,
// and so on, re-tagged in that order and split into contiguous chunks, one
// per task. The order is a function of the inputs alone.
#ifndef EDDY_OPERATORS_UNION_NODE_H_
#define EDDY_OPERATORS_UNION_NODE_H_

#include <string>
#include <utility>
#include <vector>

#include "engine/node.h"
#include "engine/tag_merge.h"

namespace eddy {

template <typename T>
class UnionNode final : public Producer<T> {
 public:
  UnionNode(std::string name, std::vector<Producer<T>*> inputs)
      : Producer<T>(NodeKind::kUnion, std::move(name)), inputs_(std::move(inputs)) {
    for (Producer<T>* in : inputs_) this->AddInput(in);
  }

  bool partition_local() const override { return false; }
  absl::Status Open(int partitions) override {
    this->output_.Resize(partitions);
    return absl::OkStatus();
  }

  absl::Status RunBarrier(const BatchContext&) override {
    size_t total = 0;
    for (Producer<T>* in : inputs_) total += in->output().TotalSize();
    absl::Status room = CheckSequenceRoom(total, "union", this->name());
    if (!room.ok()) return room;
    const size_t parts = this->output_.parts.size();
    const size_t chunk = (total + parts - 1) / parts;
    uint32_t seq = 0;
    for (Producer<T>* in : inputs_) {
      // The same upstream may feed a union twice; only move from sole readers.
      const bool move = in->sole_consumer();
      auto& buffer = in->output();
      MergeBuffer(buffer, [&](int p, size_t i) {
        auto& dest = this->output_.parts[chunk == 0 ? 0 : seq / chunk];
        AppendRetagged(dest, buffer.parts[p][i], move, seq);
        ++seq;
      });
    }
    return absl::OkStatus();
  }

 private:
  std::vector<Producer<T>*> inputs_;
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_UNION_NODE_H_
