// Filter: keeps the records for which the predicate is true.
#ifndef EDDY_OPERATORS_FILTER_NODE_H_
#define EDDY_OPERATORS_FILTER_NODE_H_

#include <cstddef>
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
    if (input_->sole_consumer()) {
      // Nobody else reads the input: compact it in place and take it over.
      size_t kept = 0;
      for (size_t i = 0; i < in.size(); ++i) {
        if (!pred_(static_cast<const T&>(in[i].value))) continue;
        if (kept != i) in[kept] = std::move(in[i]);
        ++kept;
      }
      in.erase(in.begin() + static_cast<std::ptrdiff_t>(kept), in.end());
      out.clear();
      std::swap(out, in);
    } else {
      out.reserve(in.size());
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
