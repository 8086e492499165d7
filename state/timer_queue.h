// Per-key event-time timers of one task.
//
// Timers are kept in (time, key group, key) order and fire in that order when
// the watermark passes them, so firing is deterministic. Registering the same
// (time, key) twice keeps one timer, as in Flink.
//
// Layout: one bucket per distinct time, in a B-tree by time; a bucket's new
// timers go into a hash set (which drops duplicates at once: windows register
// the same timer for every event of a key) and are sorted only when the
// bucket is due or counted. Windows register many timers at few distinct
// times (slice ends), in random key order: a sorted tree of all timers paid
// a random insertion per registration, the largest cost of a lookback over a
// million keys (bench/operators/window_benchmark); a hash set of one time's
// timers is smaller and cheaper. Deletions are kept aside (they are rare)
// and applied when their bucket is sorted.
//
// Keys must be hashable by absl::Hash (as engine/key.h asks of all keys).
//
// Persistence: bound to a table of a StateDirectory (Bind), the queue
// journals registrations and deletions and writes them in Snapshot; Restore
// loads the timers of the key groups a task owns. All timers of a task are
// in memory.
//
// Thread-safety: belongs to one task.
#ifndef EDDY_STATE_TIMER_QUEUE_H_
#define EDDY_STATE_TIMER_QUEUE_H_

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
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
    friend bool operator==(const Timer& a, const Timer& b) {
      return a.time == b.time && a.key_group == b.key_group && a.key == b.key;
    }
  };

  void Bind(StateDirectory* dir, int table) {
    dir_ = dir;
    table_ = table;
  }

  void Register(EventTime time, uint32_t key_group, const K& key) {
    Timer t{time, key_group, key};
    if (!deleted_.empty()) deleted_.erase(t);
    Bucket& b = buckets_[time];
    if (dir_ != nullptr) journal_.emplace_back(true, t);
    // Appended as they come; duplicates (windows register the same timer
    // for every event of a key) are dropped when the bucket sorts, or once
    // the new ones are twice as many as the distinct ones seen last: memory
    // stays within twice the distinct timers, for a push_back per
    // registration (a hash-set insertion here cost ~15% of a lookback).
    b.pending.push_back(std::move(t));
    if (b.pending.size() >= b.compact_at) {
      SortPending(b);
      b.pending.erase(std::unique(b.pending.begin(), b.pending.end()), b.pending.end());
      b.pending_sorted = b.pending.size();
      b.compact_at = std::max<size_t>(kMinCompaction, 2 * b.pending.size());
    }
    if (journal_.size() >= journal_compact_at_) CompactJournal();
  }
  void Delete(EventTime time, uint32_t key_group, const K& key) {
    if (buckets_.find(time) == buckets_.end()) return;
    Timer t{time, key_group, key};
    if (dir_ != nullptr) journal_.emplace_back(false, t);
    deleted_.insert(std::move(t));
  }

  // The earliest timer if its time is <= watermark, else nullptr. Valid
  // until the queue is next changed.
  const Timer* PeekDue(EventTime watermark) {
    while (!buckets_.empty()) {
      auto it = buckets_.begin();
      if (it->first > watermark) return nullptr;
      Bucket& b = it->second;
      Normalize(it->first, b);
      if (b.head < b.timers.size()) return &b.timers[b.head];
      buckets_.erase(it);
    }
    return nullptr;
  }

  // Removes and returns the earliest timer if its time is <= watermark.
  bool PopDue(EventTime watermark, Timer* out) {
    if (PeekDue(watermark) == nullptr) return false;
    auto it = buckets_.begin();
    Bucket& b = it->second;
    *out = std::move(b.timers[b.head++]);
    if (b.head == b.timers.size() && b.pending.empty()) buckets_.erase(it);
    if (dir_ != nullptr) journal_.emplace_back(false, *out);
    return true;
  }

  // The timer `ahead` places after the one PeekDue returned, if it is known
  // already (same time, sorted), for prefetching its key's state; else
  // nullptr. REQUIRES: PeekDue returned a timer and nothing changed since.
  const Timer* Upcoming(size_t ahead) const {
    if (buckets_.empty()) return nullptr;
    const Bucket& b = buckets_.begin()->second;
    return b.pending.empty() && b.head + ahead < b.timers.size() ? &b.timers[b.head + ahead]
                                                                  : nullptr;
  }

  // Pending timers. Sorts every bucket with new timers: for tests and
  // metrics, not for every record.
  size_t size() const {
    size_t n = 0;
    for (auto& [time, b] : buckets_) {
      Normalize(time, b);
      n += b.timers.size() - b.head;
    }
    return n;
  }

  // Writes the registrations and deletions since the last snapshot.
  void Snapshot(StateDirectory::Batch& batch) {
    CompactJournal();
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
        t.time = ReadOrderedTime(k.substr(2, 8));
        absl::string_view rest = k.substr(10);
        if (!DecodeAll(rest, t.key)) {
          decode_error = absl::DataLossError(absl::StrCat("state directory ", dir_->path(),
                                                          ": undecodable timer key"));
          return false;
        }
        buckets_[t.time].pending.push_back(std::move(t));
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
    AppendOrderedTime(t.time, out);
    EncodeTo(t.key, out);
  }

  static constexpr size_t kMinCompaction = 1024;
  static constexpr size_t kMinJournalCompaction = 4096;

  struct Bucket {
    std::vector<Timer> timers;  // sorted, unique; [0, head) fired
    size_t head = 0;
    std::vector<Timer> pending;  // registered since the last sort
    size_t pending_sorted = 0;   // pending[0, pending_sorted) is sorted
    size_t compact_at = kMinCompaction;
  };

  // The order of one bucket's timers (all of one time): Timer's order
  // without comparing the times.
  struct InBucket {
    bool operator()(const Timer& a, const Timer& b) const {
      return a.key_group != b.key_group ? a.key_group < b.key_group : a.key < b.key;
    }
  };

  // Sorts `b.pending`: its unsorted tail, merged into its sorted head.
  static void SortPending(Bucket& b) {
    auto mid = b.pending.begin() + static_cast<std::ptrdiff_t>(b.pending_sorted);
    std::sort(mid, b.pending.end(), InBucket());
    std::inplace_merge(b.pending.begin(), mid, b.pending.end(), InBucket());
    b.pending_sorted = b.pending.size();
  }

  // Keeps the last operation on each timer (in order: a registration
  // after a deletion stands, and the other way round), so that a timer
  // registered for every event is written once per checkpoint.
  void CompactJournal() {
    std::stable_sort(journal_.begin(), journal_.end(),
                     [](const auto& a, const auto& b) { return a.second < b.second; });
    size_t out = 0;
    for (size_t i = 0; i < journal_.size(); ++i) {
      if (i + 1 < journal_.size() && journal_[i + 1].second == journal_[i].second) continue;
      if (out != i) journal_[out] = std::move(journal_[i]);
      ++out;
    }
    journal_.resize(out);
    journal_compact_at_ = std::max<size_t>(kMinJournalCompaction, 2 * out);
  }

  // Orders deleted timers, and finds those of one time.
  struct ByTime {
    using is_transparent = void;
    bool operator()(const Timer& a, const Timer& b) const { return a < b; }
    bool operator()(const Timer& a, EventTime t) const { return a.time < t; }
    bool operator()(EventTime t, const Timer& a) const { return t < a.time; }
  };

  // Moves `b`'s pending timers into [head, end), sorted and unique, and
  // drops deleted timers.
  void Normalize(EventTime time, Bucket& b) const {
    auto& v = b.timers;
    if (!b.pending.empty()) {
      const size_t sorted = v.size();
      SortPending(b);
      v.reserve(sorted + b.pending.size());
      for (Timer& t : b.pending) v.push_back(std::move(t));
      b.pending.clear();
      b.pending_sorted = 0;
      b.compact_at = kMinCompaction;
      auto mid = v.begin() + static_cast<std::ptrdiff_t>(sorted);
      std::inplace_merge(v.begin() + static_cast<std::ptrdiff_t>(b.head), mid, v.end(), InBucket());
      v.erase(std::unique(v.begin() + static_cast<std::ptrdiff_t>(b.head), v.end()), v.end());
    }
    auto head = v.begin() + static_cast<std::ptrdiff_t>(b.head);
    if (!deleted_.empty()) {
      auto [from, to] = deleted_.equal_range(time);
      for (auto d = from; d != to; ++d) {
        auto at = std::lower_bound(head, v.end(), *d);
        if (at != v.end() && *at == *d) v.erase(at);
        head = v.begin() + static_cast<std::ptrdiff_t>(b.head);
      }
      deleted_.erase(from, to);
    }
  }

  mutable absl::btree_map<EventTime, Bucket> buckets_;
  mutable std::set<Timer, ByTime> deleted_;  // applied when their bucket sorts
  StateDirectory* dir_ = nullptr;
  int table_ = -1;
  std::vector<std::pair<bool, Timer>> journal_;  // (added?, timer)
  size_t journal_compact_at_ = kMinJournalCompaction;
};

}  // namespace eddy

#endif  // EDDY_STATE_TIMER_QUEUE_H_
