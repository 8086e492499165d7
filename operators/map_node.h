// Map: one output record per input record, same event time.
#ifndef EDDY_OPERATORS_MAP_NODE_H_
#define EDDY_OPERATORS_MAP_NODE_H_

#include <string>
#include <utility>

#include "engine/node.h"

namespace eddy {

template <typename In, typename Out, typename Fn>
class MapNode final : public Producer<Out> {
 public:
  MapNode(std::string name, Producer<In>* input, Fn fn)
      : Producer<Out>(NodeKind::kMap, std::move(name)), input_(input), fn_(std::move(fn)) {
    this->AddInput(input);
  }

  bool partition_local() const override { return true; }
  absl::Status Open(int partitions) override {
    this->output_.Resize(partitions);
    return absl::OkStatus();
  }

  void RunPartition(int p, const BatchContext&) override {
    const auto& in = input_->output().parts[p];
    auto& out = this->output_.parts[p];
    out.reserve(in.size());
    for (const Record<In>& r : in) out.push_back(Record<Out>{fn_(r.value), r.ts, r.tag});
  }

 private:
  Producer<In>* input_;
  Fn fn_;
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_MAP_NODE_H_
