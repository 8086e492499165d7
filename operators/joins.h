// Joins of two keyed streams, as Process functions over their union: map
// both streams into std::variant<L, R>, Union them, KeyBy the shared key,
// then Process with one of these.
//
// IntervalJoin<K, L, R>(lower, upper, allowed_lateness): every pair (l, r)
// of the same key with r.ts in [l.ts + lower, l.ts + upper] is emitted once,
// when the second of the two arrives (at the later of the two times). Each
// side is kept until the watermark, less the allowed lateness, is past the
// last time a partner could have (then no partner can arrive: the sources
// send later events to the late output).
//
// AsOfJoin<K, L, R>(allowed_lateness, inclusive): every left event is
// emitted at once with the latest right value of its key with time < l.ts
// (<= with `inclusive`), among those that arrived before it (ties: the later
// arrival), or none. Right values are kept back to the watermark less the
// allowed lateness, plus the latest one before that.
//
// Thread-safety: Process functions (one copy per task).
#ifndef EDDY_OPERATORS_JOINS_H_
#define EDDY_OPERATORS_JOINS_H_

#include <algorithm>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "engine/record.h"
#include "operators/process_node.h"
#include "operators/windows.h"
#include "state/codec.h"
#include "state/keyed_state.h"

namespace eddy {

template <typename L, typename R>
struct JoinedPair {
  L left;
  R right;
};

template <typename L, typename R>
struct JoinBuffers {
  std::vector<std::pair<EventTime, L>> left;   // by time, arrival order within a time
  std::vector<std::pair<EventTime, R>> right;
  EventTime timer = kMinEventTime;             // the pending cleanup timer (none: min)
};

namespace join_internal {
// Inserts after every entry with time <= ts (ties keep arrival order).
template <typename T>
void InsertByTime(std::vector<std::pair<EventTime, T>>& v, EventTime ts, const T& value) {
  auto it = std::upper_bound(v.begin(), v.end(), ts,
                             [](EventTime t, const std::pair<EventTime, T>& e) { return t < e.first; });
  v.insert(it, {ts, value});
}
}  // namespace join_internal

template <typename K, typename L, typename R>
class IntervalJoin {
 public:
  using In = std::variant<L, R>;
  using Out = JoinedPair<L, R>;

  IntervalJoin(absl::Duration lower, absl::Duration upper, absl::Duration allowed_lateness)
      : lower_(WindowMillis(lower, /*signed_ok=*/true)),
        upper_(WindowMillis(upper, /*signed_ok=*/true)),
        lateness_(WindowMillis(allowed_lateness)) {}

  void Open(KeyedStateStore<K>& state) { state_ = state.template Value<JoinBuffers<L, R>>("join"); }

  void ProcessElement(const In& in, ProcessContext<K, Out>& ctx) {
    const EventTime ts = ctx.timestamp();
    JoinBuffers<L, R>& b = state_.GetOrCreate();
    if (const L* l = std::get_if<L>(&in)) {
      for (const auto& [tr, r] : b.right) {
        if (tr >= ts + lower_ && tr <= ts + upper_) ctx.EmitAt(Out{*l, r}, std::max(ts, tr));
      }
      join_internal::InsertByTime(b.left, ts, *l);
    } else {
      const R& r = std::get<R>(in);
      for (const auto& [tl, l] : b.left) {
        if (ts >= tl + lower_ && ts <= tl + upper_) ctx.EmitAt(Out{l, r}, std::max(ts, tl));
      }
      join_internal::InsertByTime(b.right, ts, r);
    }
    if (b.timer == kMinEventTime) {
      b.timer = Expiry(b);
      ctx.RegisterTimer(b.timer);
    }
  }

  void OnTimer(EventTime t, ProcessContext<K, Out>& ctx) {
    JoinBuffers<L, R>* b = state_.Mutable();
    if (b == nullptr) return;
    b->timer = kMinEventTime;
    // Events still to come have times > t - lateness. A left at tl can meet
    // rights up to tl + upper; a right at tr, lefts up to tr - lower.
    const EventTime horizon = t - lateness_;
    b->left.erase(std::remove_if(b->left.begin(), b->left.end(),
                                 [&](const auto& e) { return e.first + upper_ <= horizon; }),
                  b->left.end());
    b->right.erase(std::remove_if(b->right.begin(), b->right.end(),
                                  [&](const auto& e) { return e.first - lower_ <= horizon; }),
                   b->right.end());
    if (b->left.empty() && b->right.empty()) {
      state_.Clear();
      return;
    }
    b->timer = std::max(Expiry(*b), t + 1);
    ctx.RegisterTimer(b->timer);
  }

 private:
  // When the earliest kept entry can go.
  EventTime Expiry(const JoinBuffers<L, R>& b) const {
    EventTime e = kMaxEventTime;
    if (!b.left.empty()) e = std::min(e, b.left.front().first + upper_ + lateness_);
    if (!b.right.empty()) e = std::min(e, b.right.front().first - lower_ + lateness_);
    return e;
  }

  int64_t lower_;
  int64_t upper_;
  int64_t lateness_;
  ValueState<K, JoinBuffers<L, R>> state_;
};

template <typename L, typename R>
struct AsOfValue {
  L left;
  std::optional<R> right;
};

template <typename K, typename L, typename R>
class AsOfJoin {
 public:
  using In = std::variant<L, R>;
  using Out = AsOfValue<L, R>;

  explicit AsOfJoin(absl::Duration allowed_lateness, bool inclusive = false)
      : lateness_(WindowMillis(allowed_lateness)),
        inclusive_(inclusive) {}

  void Open(KeyedStateStore<K>& state) { state_ = state.template Value<JoinBuffers<L, R>>("asof"); }

  void ProcessElement(const In& in, ProcessContext<K, Out>& ctx) {
    const EventTime ts = ctx.timestamp();
    if (const L* l = std::get_if<L>(&in)) {
      const JoinBuffers<L, R>* b = state_.Get();
      std::optional<R> match;
      if (b != nullptr) {
        // The last entry with time < ts (<= ts if inclusive).
        auto it = std::partition_point(b->right.begin(), b->right.end(), [&](const auto& e) {
          return inclusive_ ? e.first <= ts : e.first < ts;
        });
        if (it != b->right.begin()) match = std::prev(it)->second;
      }
      ctx.Emit(Out{*l, std::move(match)});
      return;
    }
    JoinBuffers<L, R>& b = state_.GetOrCreate();
    join_internal::InsertByTime(b.right, ts, std::get<R>(in));
    if (b.timer == kMinEventTime && b.right.size() > 1) {
      b.timer = b.right[1].first + lateness_;
      ctx.RegisterTimer(b.timer);
    }
  }

  void OnTimer(EventTime t, ProcessContext<K, Out>& ctx) {
    JoinBuffers<L, R>* b = state_.Mutable();
    if (b == nullptr) return;
    b->timer = kMinEventTime;
    // Left events still to come have times > t - lateness: of the values at
    // or before that, only the latest can still be the answer.
    const EventTime horizon = t - lateness_;
    auto it = std::partition_point(b->right.begin(), b->right.end(),
                                   [&](const auto& e) { return e.first <= horizon; });
    if (it - b->right.begin() > 1) b->right.erase(b->right.begin(), std::prev(it));
    if (b->right.size() > 1) {
      b->timer = std::max(b->right[1].first + lateness_, t + 1);
      ctx.RegisterTimer(b->timer);
    }
  }

 private:
  int64_t lateness_;
  bool inclusive_;
  ValueState<K, JoinBuffers<L, R>> state_;
};

}  // namespace eddy

namespace eddy {
template <typename L, typename R>
struct Codec<JoinBuffers<L, R>, std::enable_if_t<kHasCodec<L> && kHasCodec<R>>> {
  static constexpr bool kDefined = true;
  static void Encode(const JoinBuffers<L, R>& v, std::string& out) {
    EncodeTo(v.left, out);
    EncodeTo(v.right, out);
    EncodeTo(v.timer, out);
  }
  static size_t HeapBytes(const JoinBuffers<L, R>& v) {
    return ::eddy::HeapBytes(v.left) + ::eddy::HeapBytes(v.right);
  }
  static bool Decode(absl::string_view& in, JoinBuffers<L, R>& v) {
    return DecodeFrom(in, v.left) && DecodeFrom(in, v.right) && DecodeFrom(in, v.timer);
  }
};
}  // namespace eddy

#endif  // EDDY_OPERATORS_JOINS_H_
