// FlatMap: zero or more output records per input record, same event time.
#ifndef EDDY_OPERATORS_FLAT_MAP_NODE_H_
#define EDDY_OPERATORS_FLAT_MAP_NODE_H_

#include <string>
#include <utility>
#include <vector>

#include "engine/node.h"

namespace eddy {

// Passed to FlatMap functions; Emit appends an output record carrying the
// input's event time.
template <typename Out>
class Emitter {
 public:
  void Emit(Out value) { out_->push_back(Record<Out>{std::move(value), ts_, tag_}); }
  EventTime timestamp() const { return ts_; }

 private:
  template <typename, typename, typename>
  friend class FlatMapNode;
  std::vector<Record<Out>>* out_ = nullptr;
  EventTime ts_ = 0;
  Tag tag_;
};

template <typename In, typename Out, typename Fn>
class FlatMapNode final : public Producer<Out> {
 public:
  FlatMapNode(std::string name, Producer<In>* input, Fn fn)
      : Producer<Out>(NodeKind::kFlatMap, std::move(name)), input_(input), fn_(std::move(fn)) {
    this->AddInput(input);
  }

  bool partition_local() const override { return true; }
  absl::Status Open(int partitions) override {
    this->output_.Resize(partitions);
    // Tasks run concurrently: each calls its own copy of the function.
    fns_.clear();
    for (int p = 0; p < partitions; ++p) fns_.push_back(fn_);
    return absl::OkStatus();
  }

  void RunPartition(int p, const BatchContext&) override {
    Fn& fn = fns_[p];
    Emitter<Out> emitter;
    emitter.out_ = &this->output_.parts[p];
    for (const Record<In>& r : input_->output().parts[p]) {
      emitter.ts_ = r.ts;
      emitter.tag_ = r.tag;
      fn(r.value, emitter);
    }
  }

 private:
  Producer<In>* input_;
  Fn fn_;
  std::vector<Fn> fns_;  // one per task
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_FLAT_MAP_NODE_H_
