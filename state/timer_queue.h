// Per-key event-time timers of one task.
//
// Timers are kept in (time, key group, key) order and fire in that order when
// the watermark passes them, so firing is deterministic. Registering the same
// (time, key) twice keeps one timer, as in Flink.
//
// Persistence: bound to a table of a StateDirectory (Bind), the queue
// journals registrations and deletions and writes them in Snapshot; Restore
// loads the timers of the key groups a task owns. All timers of a task are
// in memory.
//
// Thread-safety: belongs to one task.
#ifndef EDDY_STATE_TIMER_QUEUE_H_
#define EDDY_STATE_TIMER_QUEUE_H_

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/key.h"
#include "engine/record.h"
#include "state/codec.h"
#include "state/state_directory.h"

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

  void Bind(StateDirectory* dir, int table) {
    dir_ = dir;
    table_ = table;
  }

  void Register(EventTime time, uint32_t key_group, const K& key) {
    auto [it, inserted] = timers_.insert(Timer{time, key_group, key});
    if (inserted && dir_ != nullptr) journal_.emplace_back(true, *it);
  }
  void Delete(EventTime time, uint32_t key_group, const K& key) {
    Timer t{time, key_group, key};
    if (timers_.erase(t) > 0 && dir_ != nullptr) journal_.emplace_back(false, std::move(t));
  }

  // The earliest timer if its time is <= watermark, else nullptr.
  const Timer* PeekDue(EventTime watermark) const {
    if (timers_.empty() || timers_.begin()->time > watermark) return nullptr;
    return &*timers_.begin();
  }

  // Removes and returns the earliest timer if its time is <= watermark.
  bool PopDue(EventTime watermark, Timer* out) {
    if (timers_.empty() || timers_.begin()->time > watermark) return false;
    auto node = timers_.extract(timers_.begin());
    *out = std::move(node.value());
    if (dir_ != nullptr) journal_.emplace_back(false, *out);
    return true;
  }

  size_t size() const { return timers_.size(); }

  // Writes the registrations and deletions since the last snapshot.
  void Snapshot(StateDirectory::Batch& batch) {
    std::string key;
    for (const auto& [added, timer] : journal_) {
      key.clear();
      AppendTimerKey(timer, key);
      if (added) {
        batch.Put(table_, key, absl::string_view());
      } else {
        batch.Delete(table_, key);
      }
    }
    journal_.clear();
  }

  // Loads the stored timers of every key group for which `owns` is true.
  absl::Status Restore(absl::FunctionRef<bool(uint32_t)> owns) {
    for (uint32_t group = 0; group < kKeyGroups; ++group) {
      if (!owns(group)) continue;
      std::string prefix;
      AppendKeyGroupPrefix(group, prefix);
      absl::Status decode_error;
      absl::Status s = dir_->Scan(table_, prefix, [&](absl::string_view k, absl::string_view) {
        Timer t{0, group, K{}};
        if (k.size() < 10) {
          decode_error = absl::DataLossError(absl::StrCat("state directory ", dir_->path(),
                                                          ": malformed timer key"));
          return false;
        }
        uint64_t biased = 0;
        for (int i = 0; i < 8; ++i) biased = (biased << 8) | static_cast<uint8_t>(k[2 + i]);
        t.time = static_cast<EventTime>(biased ^ (uint64_t{1} << 63));
        absl::string_view rest = k.substr(10);
        if (!DecodeAll(rest, t.key)) {
          decode_error = absl::DataLossError(absl::StrCat("state directory ", dir_->path(),
                                                          ": undecodable timer key"));
          return false;
        }
        timers_.insert(std::move(t));
        return true;
      });
      if (!s.ok()) return s;
      if (!decode_error.ok()) return decode_error;
    }
    return absl::OkStatus();
  }

 private:
  // [key group u16 BE][time, sign bit flipped, u64 BE][encoded key]: sorts
  // like the in-memory order within a key group.
  static void AppendTimerKey(const Timer& t, std::string& out) {
    AppendKeyGroupPrefix(t.key_group, out);
    const uint64_t biased = static_cast<uint64_t>(t.time) ^ (uint64_t{1} << 63);
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(biased >> shift));
    EncodeTo(t.key, out);
  }

  // A B-tree: with a million pending timers a red-black tree's pointer
  // chasing dominated registering one (bench/operators/window_benchmark).
  absl::btree_set<Timer> timers_;
  StateDirectory* dir_ = nullptr;
  int table_ = -1;
  std::vector<std::pair<bool, Timer>> journal_;  // (added?, timer)
};

}  // namespace eddy

#endif  // EDDY_STATE_TIMER_QUEUE_H_
