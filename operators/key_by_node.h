// KeyBy: the exchange that partitions a stream by key.
//
// Records are merged across the input's partitions in tag order, given new
// tags in that order, and sent to the task that owns their key group
// (engine/key.h). Per key, records keep their input order.
//
// Across processes (SetRemoteExchange), records are encoded with their
// eddy::Codec and sent through the exchange in the same merged order; the
// output is what arrived for this process's key groups, in arrival order.
#ifndef EDDY_OPERATORS_KEY_BY_NODE_H_
#define EDDY_OPERATORS_KEY_BY_NODE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/exchange.h"
#include "engine/key.h"
#include "engine/node.h"
#include "state/codec.h"
#include "engine/tag_merge.h"
#include "engine/thread_pool.h"

namespace eddy {

// One task's share of a keyed stream: records with their keys, in order.
template <typename K, typename T>
struct KeyedPartition {
  std::vector<Record<T>> records;
  std::vector<K> keys;
  std::vector<uint32_t> key_groups;
  void clear() {
    records.clear();
    keys.clear();
    key_groups.clear();
  }
};

// A node whose output is a keyed stream.
template <typename K, typename T>
class KeyedProducer : public Node {
 public:
  using Node::Node;
  std::vector<KeyedPartition<K, T>>& output() { return output_; }
  void ClearOutput() override {
    for (auto& p : output_) p.clear();
  }
  size_t PartitionOutputSize(int p) const override { return output_[p].records.size(); }

 protected:
  std::vector<KeyedPartition<K, T>> output_;
};

template <typename K, typename T, typename KeyFn>
class KeyByNode final : public KeyedProducer<K, T> {
 public:
  KeyByNode(std::string name, Producer<T>* input, KeyFn key_fn)
      : KeyedProducer<K, T>(NodeKind::kKeyBy, std::move(name)),
        input_(input),
        key_fn_(std::move(key_fn)) {
    this->AddInput(input);
  }

  bool partition_local() const override { return false; }

  absl::Status Open(int partitions) override {
    this->output_.resize(partitions);
    keys_.resize(partitions);
    groups_.resize(partitions);
    return absl::OkStatus();
  }

  absl::Status RunBarrier(const BatchContext& ctx) override {
    auto& in = input_->output();
    const int in_parts = static_cast<int>(in.parts.size());
    // Key extraction and hashing are independent per record: run per task.
    ctx.pool->ParallelFor(in_parts, [&](int p) {
      auto& keys = keys_[p];
      auto& groups = groups_[p];
      keys.clear();
      groups.clear();
      keys.reserve(in.parts[p].size());
      groups.reserve(in.parts[p].size());
      for (const Record<T>& r : in.parts[p]) {
        keys.push_back(key_fn_(r.value));
        groups.push_back(KeyGroupOf(keys.back()));
      }
    });
    if (remote_ != nullptr) return SendAndReceive();
    absl::Status room = CheckSequenceRoom(in.TotalSize(), "key_by", this->name());
    if (!room.ok()) return room;
    const int out_parts = static_cast<int>(this->output_.size());
    const bool move = input_->sole_consumer();
    if (in_parts == 1 && out_parts == 1 && move) {
      // Single task: the order is already the input order; hand the vectors
      // over instead of moving record by record.
      KeyedPartition<K, T>& dest = this->output_[0];
      std::swap(dest.records, in.parts[0]);
      std::swap(dest.keys, keys_[0]);
      std::swap(dest.key_groups, groups_[0]);
      uint32_t seq = 0;
      for (Record<T>& r : dest.records) r.tag = Tag{seq++, 0, 0};
      return absl::OkStatus();
    }
    uint32_t seq = 0;
    MergeBuffer(in, [&](int p, size_t i) {
      const uint32_t group = groups_[p][i];
      KeyedPartition<K, T>& dest = this->output_[PartitionOfKeyGroup(group, out_parts)];
      AppendRetagged(dest.records, in.parts[p][i], move, seq++);
      dest.keys.push_back(std::move(keys_[p][i]));
      dest.key_groups.push_back(group);
    });
    return absl::OkStatus();
  }

  bool exchanges_keys() const override { return true; }

  absl::Status SetRemoteExchange(RemoteExchange* exchange) override {
    if constexpr (!kHasCodec<T>) {
      return absl::FailedPreconditionError(absl::StrCat(
          "KeyBy '", this->name(), "' cannot send its records to other processes: their type "
          "has no eddy::Codec (add EDDY_CODEC(Type, fields...), state/codec.h)"));
    } else {
      remote_ = exchange;
      return absl::OkStatus();
    }
  }

 private:
  absl::Status SendAndReceive() {
    if constexpr (kHasCodec<T>) {
      auto& in = input_->output();
      absl::Status status;
      MergeBuffer(in, [&](int p, size_t i) {
        if (!status.ok()) return;
        const Record<T>& r = in.parts[p][i];
        encoded_.clear();
        EncodeTo(r.value, encoded_);
        status = remote_->Send(groups_[p][i], r.ts, encoded_);
      });
      if (!status.ok()) return status;
      const auto& arrivals = remote_->arrivals();
      status = CheckSequenceRoom(arrivals.size(), "key_by", this->name());
      if (!status.ok()) return status;
      const int out_parts = static_cast<int>(this->output_.size());
      uint32_t seq = 0;
      for (const RemoteExchange::Arrival& a : arrivals) {
        T value;
        if (!DecodeAll(a.value, value)) {
          return absl::DataLossError(absl::StrCat("KeyBy '", this->name(), "': record ", a.partition, ":", a.offset,
                                                  " cannot be decoded (written by another job "
                                                  "or version?)"));
        }
        K key = key_fn_(value);
        const uint32_t group = KeyGroupOf(key);
        KeyedPartition<K, T>& dest = this->output_[PartitionOfKeyGroup(group, out_parts)];
        dest.records.push_back(Record<T>{std::move(value), a.ts, Tag{seq++, 0, 0}});
        dest.keys.push_back(std::move(key));
        dest.key_groups.push_back(group);
      }
    }
    return absl::OkStatus();
  }

  Producer<T>* input_;
  KeyFn key_fn_;
  RemoteExchange* remote_ = nullptr;
  std::string encoded_;
  std::vector<std::vector<K>> keys_;          // per input partition, this batch
  std::vector<std::vector<uint32_t>> groups_;  // per input partition, this batch
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_KEY_BY_NODE_H_
