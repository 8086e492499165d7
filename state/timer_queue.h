// Per-key event-time timers of one task.
//
// Timers are kept in (time, key group, key) order and fire in that order when
// the watermark passes them, so firing is deterministic. Registering the same
// (time, key) twice keeps one timer, as in Flink.
//
// Thread-safety: belongs to one task.
#ifndef EDDY_STATE_TIMER_QUEUE_H_
#define EDDY_STATE_TIMER_QUEUE_H_

#include <cstdint>
#include <set>
#include <tuple>
#include <utility>

#include "engine/record.h"

namespace eddy {

template <typename K>
class TimerQueue {
 public:
  struct Timer {
    EventTime time;
    uint32_t key_group;
    K key;
    friend bool operator<(const Timer& a, const Timer& b) {
      return std::tie(a.time, a.key_group, a.key) < std::tie(b.time, b.key_group, b.key);
    }
  };

  void Register(EventTime time, uint32_t key_group, const K& key) {
    timers_.insert(Timer{time, key_group, key});
  }
  void Delete(EventTime time, uint32_t key_group, const K& key) {
    timers_.erase(Timer{time, key_group, key});
  }

  // Removes and returns the earliest timer if its time is <= watermark.
  bool PopDue(EventTime watermark, Timer* out) {
    if (timers_.empty() || timers_.begin()->time > watermark) return false;
    auto node = timers_.extract(timers_.begin());
    *out = std::move(node.value());
    return true;
  }

  size_t size() const { return timers_.size(); }

 private:
  std::set<Timer> timers_;
};

}  // namespace eddy

#endif  // EDDY_STATE_TIMER_QUEUE_H_
