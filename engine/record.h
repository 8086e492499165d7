// Records as they move between operators, and the tags that order them.
//
// Every record carries its event time (epoch milliseconds) and a Tag. Tags make
// the output of a parallel run independent of the number of threads: the
// executor orders the records of a batch by tag wherever partitions merge
// (exchanges, unions, sinks), so each record's place is a function of the input
// alone. See engine/executor.h for the contract that keeps tags unique across
// partitions.
#ifndef EDDY_ENGINE_RECORD_H_
#define EDDY_ENGINE_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

namespace eddy {

// Event time in epoch milliseconds.
using EventTime = int64_t;

inline constexpr EventTime kMinEventTime = std::numeric_limits<int64_t>::min();
inline constexpr EventTime kMaxEventTime = std::numeric_limits<int64_t>::max();
// Records must have |ts| <= this (2^53 ms, about 285,000 years either side of
// 1970); sources send others to the dead letters. It keeps event-time
// arithmetic (windows, timers, lateness) far from overflow.
inline constexpr EventTime kMaxAbsEventTime = int64_t{1} << 53;

// Position of a record within one batch of one stage, in deterministic order.
//
// Records produced while processing an input record inherit its tag (`seq` is
// the input's position in the batch). Records produced by event-time timers,
// which fire after the batch's records, get seq == kTimerSeq and are ordered
// by (timer time, key group).
struct Tag {
  static constexpr uint32_t kTimerSeq = std::numeric_limits<uint32_t>::max();

  uint32_t seq = 0;
  uint32_t key_group = 0;
  EventTime timer_time = 0;

  friend bool operator<(const Tag& a, const Tag& b) {
    return std::tie(a.seq, a.timer_time, a.key_group) <
           std::tie(b.seq, b.timer_time, b.key_group);
  }
  friend bool operator==(const Tag& a, const Tag& b) {
    return a.seq == b.seq && a.timer_time == b.timer_time &&
           a.key_group == b.key_group;
  }
};

template <typename T>
struct Record {
  T value;
  EventTime ts = 0;
  Tag tag;
};

// The records of one stream for one batch, split into the executor's
// partitions (one per task). Partition p is only touched by the task running
// partition p. Vectors keep their capacity across batches, so steady-state
// batches do not allocate.
template <typename T>
struct PartitionedBuffer {
  std::vector<std::vector<Record<T>>> parts;

  void Resize(int partitions) { parts.resize(partitions); }
  void Clear() {
    for (auto& p : parts) p.clear();
  }
  size_t TotalSize() const {
    size_t n = 0;
    for (const auto& p : parts) n += p.size();
    return n;
  }
};

}  // namespace eddy

#endif  // EDDY_ENGINE_RECORD_H_
