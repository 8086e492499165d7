// Filter: keeps the records for which the predicate is true.
#ifndef EDDY_OPERATORS_FILTER_NODE_H_
#define EDDY_OPERATORS_FILTER_NODE_H_

#include <string>
#include <utility>

#include "engine/node.h"

namespace eddy {

template <typename T, typename Pred>
class FilterNode final : public Producer<T> {
 public:
  FilterNode(std::string name, Producer<T>* input, Pred pred)
      : Producer<T>(NodeKind::kFilter, std::move(name)), input_(input), pred_(std::move(pred)) {
    this->AddInput(input);
  }

  bool partition_local() const override { return true; }
  absl::Status Open(int partitions) override {
    this->output_.Resize(partitions);
    return absl::OkStatus();
  }

  void RunPartition(int p, const BatchContext&) override {
    auto& in = input_->output().parts[p];
    auto& out = this->output_.parts[p];
    out.reserve(in.size());
    if (input_->sole_consumer()) {
      // Nobody else reads the input: move instead of copying.
      for (Record<T>& r : in) {
        if (pred_(static_cast<const T&>(r.value))) out.push_back(std::move(r));
      }
    } else {
      for (const Record<T>& r : in) {
        if (pred_(r.value)) out.push_back(r);
      }
    }
  }

 private:
  Producer<T>* input_;
  Pred pred_;
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_FILTER_NODE_H_
