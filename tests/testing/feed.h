// Hand-filled producers for driving operators directly in unit tests.
//
// Feed<T> is a Producer<T> whose output the test writes; KeyedFeed<K, T> is the
// same for keyed streams (the input of Process). Neither does anything when
// run: tests fill output() before running the node under test.
#ifndef EDDY_TESTS_TESTING_FEED_H_
#define EDDY_TESTS_TESTING_FEED_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/key.h"
#include "engine/node.h"
#include "engine/record.h"
#include "operators/key_by_node.h"

namespace eddy::testing {

template <typename T>
class Feed final : public Producer<T> {
 public:
  Feed() : Producer<T>(NodeKind::kSource, "feed") {}
  bool partition_local() const override { return false; }
  absl::Status Open(int partitions) override {
    this->output_.Resize(partitions);
    return absl::OkStatus();
  }

  // Appends a record to partition p with tag {seq, 0, 0}.
  void Push(int p, T value, EventTime ts, uint32_t seq) {
    this->output_.parts[p].push_back(Record<T>{std::move(value), ts, Tag{seq, 0, 0}});
  }
};

template <typename K, typename T>
class KeyedFeed final : public KeyedProducer<K, T> {
 public:
  KeyedFeed() : KeyedProducer<K, T>(NodeKind::kKeyBy, "keyed_feed") {}
  bool partition_local() const override { return false; }
  absl::Status Open(int partitions) override {
    this->output_.resize(partitions);
    return absl::OkStatus();
  }

  // Appends a record with its key (and the key's real key group) to the
  // partition that owns the key group, tagged {seq, 0, 0}. Returns that
  // partition.
  int Push(K key, T value, EventTime ts, uint32_t seq) {
    const uint32_t group = KeyGroupOf(key);
    const int p = PartitionOfKeyGroup(group, static_cast<int>(this->output_.size()));
    KeyedPartition<K, T>& part = this->output_[p];
    part.records.push_back(Record<T>{std::move(value), ts, Tag{seq, 0, 0}});
    part.keys.push_back(std::move(key));
    part.key_groups.push_back(group);
    return p;
  }
};

}  // namespace eddy::testing

#endif  // EDDY_TESTS_TESTING_FEED_H_
