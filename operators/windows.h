// Windows over keyed streams, built from slices (the tiling of Scotty, Traub
// et al. 2018, and Chronon): each key keeps one aggregate accumulator per
// slice (operators/aggregates.h), and a window's value is its slices' merged.
//
// Lookback<K, In, A>: per-event lookback, the form features need: each input
// event is emitted at once with the aggregate A over the same key's events
// with event time in [SliceStart(ts - size), ts) — strictly earlier than the
// event (an event never sees itself, an event with the same time, or a later
// one), reaching back `size` with the oldest slice taken whole. "Earlier"
// means earlier in event time among the events that arrived before it: an
// out-of-order event that arrives later is not in an earlier event's value
// (the value is what was known when the event was served; replay gives the
// same values for the same arrival order, with any number of threads, since
// a key's events keep their order).
//
// State per key (keyed state, so RocksDB-backed and changelogged like any
// other): accumulators per exact event time for recent times (so that values
// are exact at the head), compacted into one accumulator per slice once the
// watermark is `allowed_lateness` past the slice's end (no event can arrive
// for it any more: the sources send such events to the late output — give
// the source the same allowed lateness), and dropped once no event can need
// them: a key idle for size + allowed lateness has no state left (TTL).
//
// Thread-safety: a Process function (operators/process_node.h): one copy per
// task.
#ifndef EDDY_OPERATORS_WINDOWS_H_
#define EDDY_OPERATORS_WINDOWS_H_

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "engine/record.h"
#include "operators/aggregates.h"
#include "operators/process_node.h"
#include "state/codec.h"
#include "state/keyed_state.h"
#include "state/state_directory.h"

namespace eddy {

// A duration in milliseconds, clamped to [0 (or -2^53 with `signed_ok`),
// 2^53]: event times are within ±2^53 (engine/record.h), so time ± duration
// sums stay far from overflow, and an infinite duration means "all time".
inline int64_t WindowMillis(absl::Duration d, bool signed_ok = false) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  return std::clamp<int64_t>(ms, signed_ok ? -kMaxAbsEventTime : 0, kMaxAbsEventTime);
}

// Slice arithmetic (floor division: event times may be negative).
inline EventTime SliceFloor(EventTime ts, int64_t slice) {
  const EventTime q = ts / slice;
  return (q - ((ts % slice) < 0 ? 1 : 0)) * slice;
}

// A lookback's per-key state: compacted slices (by start) and recent
// accumulators (by exact event time), both oldest first.
// Sorted vectors, not maps: a key holds few entries, nearly always added at
// the end, and a node per entry cost an allocation per event. The first few
// entries are inline (in the state's hash slot): with a million keys, each
// separate allocation was another cache miss per event.
template <typename Acc>
struct LookbackState {
  using Entry = std::pair<EventTime, Acc>;
  using Entries = absl::InlinedVector<Entry, std::max<size_t>(1, 64 / sizeof(Entry))>;
  Entries slices;
  absl::InlinedVector<Entry, std::max<size_t>(1, 32 / sizeof(Entry))> recent;
  EventTime expires = kMinEventTime;  // when no event can need any of it
  EventTime timer = kMinEventTime;    // the pending timer (kMinEventTime: none)
  // Checkpoint bookkeeping (PartedCodec below; not part of the value): the
  // earliest slice changed since the last checkpoint (kMinEventTime: never
  // written, so all of them; kMaxEventTime: none), and the slices dropped
  // since, whose parts the next checkpoint deletes.
  EventTime changed_from = kMinEventTime;
  std::vector<EventTime> dropped;
  // For an aggregate that can subtract (see Lookback): all of `slices`
  // merged, kept as they are compacted and dropped. Not stored: rebuilt on
  // the first query after a restore.
  std::optional<Acc> total;
};

// Whether aggregate A has `Subtract(acc, earliest)`, removing from `acc` its
// earliest slice's accumulator, which was merged into it (exactly: integer
// counts, or values kept by time).
template <typename A, typename = void>
struct Subtractable : std::false_type {};
template <typename A>
struct Subtractable<A, std::void_t<decltype(A::Subtract(std::declval<typename A::Acc&>(),
                                                          std::declval<const typename A::Acc&>()))>>
    : std::true_type {};

template <typename In, typename R>
struct LookbackValue {
  In event;
  R value;
};

// `add(acc, event, ts)` adds one event to an accumulator of A.
template <typename K, typename In, typename A, typename AddFn>
class Lookback {
 public:
  using Acc = typename A::Acc;
  using Result = decltype(A::Result(std::declval<const Acc&>(), EventTime{}));
  using Out = LookbackValue<In, Result>;

  // An aggregate with Subtract answers a query from the running total of
  // the compacted slices, less the few at its start that the window has left
  // (those within the allowed lateness), plus the recent accumulators: O(1)
  // in the number of slices rather than a merge of all of them (a 24 h
  // lookback of 15-minute slices merged 96 per event).
  static constexpr bool kSubtractable = Subtractable<A>::value;

  // `state_name`: the keyed state's name; two lookbacks in one Process
  // function (say over 1 h and 24 h) need two.
  Lookback(absl::Duration size, absl::Duration slice, absl::Duration allowed_lateness, AddFn add,
           std::string state_name = "lookback")
      : size_(WindowMillis(size)),
        slice_(std::max<int64_t>(1, WindowMillis(slice))),
        lateness_(WindowMillis(allowed_lateness)),
        add_(std::move(add)),
        state_name_(std::move(state_name)) {}

  void Open(KeyedStateStore<K>& state) {
    state_ = state.template Value<LookbackState<Acc>>(state_name_);
  }

  void ProcessElement(const In& event, ProcessContext<K, Out>& ctx) {
    Result value = Serve(event, ctx);
    ctx.Emit(Out{event, std::move(value)});
  }

  // The lookback's value for `event` (from strictly earlier events), which
  // is then added: ProcessElement without the emit, for Process functions
  // that combine lookbacks. Any ProcessContext of key K will do (timers).
  template <typename Ctx>
  Result Serve(const In& event, Ctx& ctx) {
    LookbackState<Acc>& s = state_.GetOrCreate();
    if (ctx.watermark() != kMinEventTime) Compact(s, ctx.watermark());
    Result value = A::Result(Query(s, ctx.timestamp()), ctx.timestamp());
    AddTo(s, event, ctx);
    return value;
  }

  // Adds `event` without computing its value (an event no one is served for).
  template <typename Ctx>
  void Observe(const In& event, Ctx& ctx) {
    LookbackState<Acc>& s = state_.GetOrCreate();
    if (ctx.watermark() != kMinEventTime) Compact(s, ctx.watermark());
    AddTo(s, event, ctx);
  }

 private:
  template <typename Ctx>
  void AddTo(LookbackState<Acc>& s, const In& event, Ctx& ctx) {
    const EventTime ts = ctx.timestamp();
    add_(At(s.recent, ts), event, ts);
    const EventTime end = SliceFloor(ts, slice_) + slice_;
    s.expires = std::max(s.expires, end - 1 + lateness_ + size_);
    // One timer per key at a time (a timer costs more than the rest of an
    // event): it expires the state, or moves on to the new expiry.
    if (s.timer == kMinEventTime) {
      s.timer = s.expires;
      ctx.RegisterTimer(s.timer);
    }
  }

 public:
  template <typename Ctx>
  void OnTimer(EventTime t, Ctx& ctx) {
    LookbackState<Acc>* s = state_.Mutable();
    // Not this lookback's timer (another one's in the same Process function).
    if (s == nullptr || s->timer != t) return;
    s->timer = kMinEventTime;
    Compact(*s, t);
    if (s->slices.empty() && s->recent.empty()) {
      state_.Clear();
    } else {
      s->timer = std::max(s->expires, t + 1);
      ctx.RegisterTimer(s->timer);
    }
  }

  // With the watermark at `watermark`, events still to come have times after
  // watermark - lateness (the sources send the others to the late output):
  // recent accumulators of slices ending before are final (compacted), and
  // nothing before SliceFloor(that - size) is needed any more (dropped).
  void Compact(LookbackState<Acc>& s, EventTime watermark) const {
    // (A watermark at the end of time compacts and drops everything.)
    watermark = std::min<EventTime>(watermark, 4 * kMaxAbsEventTime);
    const EventTime horizon = watermark + 1 - lateness_;
    size_t done = 0;
    for (; done < s.recent.size(); ++done) {
      const EventTime start = SliceFloor(s.recent[done].first, slice_);
      if (start + slice_ > horizon) break;
      A::Merge(At(s.slices, start), s.recent[done].second);
      if constexpr (kSubtractable) {
        if (s.total) A::Merge(*s.total, s.recent[done].second);
      }
      s.changed_from = std::min(s.changed_from, start);
    }
    s.recent.erase(s.recent.begin(), s.recent.begin() + static_cast<std::ptrdiff_t>(done));
    const EventTime keep_from = SliceFloor(horizon - size_, slice_);
    const auto kept = LowerBound(s.slices, keep_from);
    // (A state never written has none on disk; one in memory never is.)
    if (s.changed_from != kMinEventTime) {
      for (auto it = s.slices.begin(); it != kept; ++it) s.dropped.push_back(it->first);
    }
    if constexpr (kSubtractable) {
      if (s.total) {
        if (kept == s.slices.end()) {
          s.total.reset();
        } else {
          for (auto it = s.slices.begin(); it != kept; ++it) A::Subtract(*s.total, it->second);
        }
      }
    }
    s.slices.erase(s.slices.begin(), kept);
    s.recent.erase(s.recent.begin(), LowerBound(s.recent, keep_from));
    ShrinkIfSparse(s.slices);
    ShrinkIfSparse(s.recent);
  }

  // A vector erased from the front keeps its largest capacity ever (a burst
  // of events, a busy day); give it back once under half used (then the
  // next growth doubles again: amortized O(1)).
  template <typename V>
  static void ShrinkIfSparse(V& v) {
    if (v.capacity() > codec_internal::InlineCapacity<V>::value && v.capacity() > 2 * v.size() + 4) {
      v.shrink_to_fit();
    }
  }

  // (V: one of LookbackState's sorted entry vectors.)
  template <typename V>
  static auto LowerBound(V& v, EventTime t) {
    return std::lower_bound(v.begin(), v.end(), t,
                            [](const std::pair<EventTime, Acc>& e, EventTime x) { return e.first < x; });
  }
  // The accumulator at time t, inserted (empty) in order if missing.
  template <typename V>
  static Acc& At(V& v, EventTime t) {
    if (v.empty() || v.back().first < t) return v.emplace_back(t, Acc{}).second;
    auto it = LowerBound(v, t);
    if (it == v.end() || it->first != t) it = v.insert(it, {t, Acc{}});
    return it->second;
  }

  // The aggregate over [SliceFloor(ts - size), ts) as `s` knows it.
  Acc Query(LookbackState<Acc>& s, EventTime ts) const {
    const EventTime from = SliceFloor(ts - size_, slice_);
    Acc acc;
    // Compacted slices all end at or before any time still arriving.
    const auto first = LowerBound(s.slices, from);
    const size_t before = static_cast<size_t>(first - s.slices.begin());
    bool merged = false;
    if constexpr (kSubtractable) {
      // When every compacted slice starts before ts, the window holds those
      // from `first` on: the total less the ones before `first`. (When
      // those outnumber the window's, merging the window's is cheaper.)
      if (!s.slices.empty() && s.slices.back().first < ts && 2 * before <= s.slices.size()) {
        if (!s.total) {
          s.total.emplace();
          for (const auto& slice : s.slices) A::Merge(*s.total, slice.second);
        }
        acc = *s.total;
        for (auto it = s.slices.begin(); it != first; ++it) A::Subtract(acc, it->second);
        merged = true;
      }
    }
    if (!merged) {
      for (auto it = first; it != s.slices.end() && it->first < ts; ++it) A::Merge(acc, it->second);
    }
    for (auto it = LowerBound(s.recent, from); it != s.recent.end() && it->first < ts; ++it) {
      A::Merge(acc, it->second);
    }
    return acc;
  }

 private:
  int64_t size_;
  int64_t slice_;
  int64_t lateness_;
  AddFn add_;
  std::string state_name_;
  ValueState<K, LookbackState<Acc>> state_;
};

// Deduces the types: Lookback over `In` with aggregate A.
template <typename K, typename In, typename A, typename AddFn>
Lookback<K, In, A, AddFn> MakeLookback(absl::Duration size, absl::Duration slice,
                                       absl::Duration allowed_lateness, AddFn add) {
  return Lookback<K, In, A, AddFn>(size, slice, allowed_lateness, std::move(add));
}

// Tumbling (slide = size) and hopping windows [k * slide, k * slide + size)
// of aggregate A, per key, in event time. Slices are gcd(size, slide) long;
// an event adds to one slice (O(1)), and a window's value merges its slices
// when it is emitted. A window is emitted once the watermark passes its end
// (if it has events); an event that arrives for a window already emitted
// (late, within the allowed lateness) emits the window again at once with
// the corrected value and `update` set. Slices are dropped once the
// watermark is `allowed_lateness` past the end of the last window holding
// them (the sources send later events to the late output: give them the same
// allowed lateness).
template <typename K, typename R>
struct WindowResult {
  K key;
  EventTime start = 0;
  EventTime end = 0;
  R value;
  bool update = false;  // a correction of an emitted window
};

template <typename K, typename In, typename A, typename AddFn>
class SlicedWindows {
 public:
  using Acc = typename A::Acc;
  using Result = decltype(A::Result(std::declval<const Acc&>(), EventTime{}));
  using Out = WindowResult<K, Result>;

  SlicedWindows(absl::Duration size, absl::Duration slide, absl::Duration allowed_lateness,
                AddFn add)
      : size_(std::max<int64_t>(1, WindowMillis(size))),
        slide_(std::max<int64_t>(1, WindowMillis(slide))),
        slice_(std::gcd(size_, slide_)),
        lateness_(WindowMillis(allowed_lateness)),
        add_(std::move(add)) {}

  void Open(KeyedStateStore<K>& state) {
    state_ = state.template Value<std::map<EventTime, Acc>>("slices");
  }

  void ProcessElement(const In& event, ProcessContext<K, Out>& ctx) {
    const EventTime ts = ctx.timestamp();
    std::map<EventTime, Acc>& slices = state_.GetOrCreate();
    // The windows holding ts: starts in (ts - size, ts], multiples of slide.
    // Those the watermark has passed are emitted again at once: as updates
    // if they had events then (their timer emitted them), else for the
    // first time.
    const EventTime last_start = SliceFloor(ts, slide_);
    std::vector<bool>& had = had_;
    had.clear();
    for (EventTime start = last_start; start > ts - size_; start -= slide_) {
      auto it = slices.lower_bound(start);
      had.push_back(it != slices.end() && it->first < start + size_);
    }
    add_(slices[SliceFloor(ts, slice_)], event, ts);
    size_t i = 0;
    for (EventTime start = last_start; start > ts - size_; start -= slide_, ++i) {
      const EventTime end = start + size_;
      if (end - 1 <= ctx.watermark()) {
        ctx.EmitAt(
            Out{ctx.key(), start, end, A::Result(Merged(slices, start, end), end - 1), had[i]},
            end - 1);
      } else {
        ctx.RegisterTimer(end - 1);
      }
    }
    ctx.RegisterTimer(last_start + size_ - 1 + lateness_);  // drop the slice
  }

  void OnTimer(EventTime t, ProcessContext<K, Out>& ctx) {
    std::map<EventTime, Acc>* slices = state_.Mutable();
    if (slices == nullptr) return;
    const EventTime end = t + 1;
    const EventTime start = end - size_;
    if (SliceFloor(start, slide_) == start) {
      auto it = slices->lower_bound(start);
      if (it != slices->end() && it->first < end) {
        ctx.EmitAt(Out{ctx.key(), start, end, A::Result(Merged(*slices, start, end), t), false}, t);
      }
    }
    // A slice is held by windows up to the one starting at SliceFloor(s,
    // slide); drop it once that one is past its lateness.
    while (!slices->empty()) {
      const EventTime s = slices->begin()->first;
      if (SliceFloor(s, slide_) + size_ - 1 + lateness_ > t) break;
      slices->erase(slices->begin());
    }
    if (slices->empty()) state_.Clear();
  }

 private:
  static Acc Merged(const std::map<EventTime, Acc>& slices, EventTime start, EventTime end) {
    Acc acc;
    for (auto it = slices.lower_bound(start); it != slices.end() && it->first < end; ++it) {
      A::Merge(acc, it->second);
    }
    return acc;
  }

  int64_t size_;
  int64_t slide_;
  int64_t slice_;
  int64_t lateness_;
  AddFn add_;
  ValueState<K, std::map<EventTime, Acc>> state_;
  std::vector<bool> had_;  // scratch
};

template <typename K, typename In, typename A, typename AddFn>
SlicedWindows<K, In, A, AddFn> MakeWindows(absl::Duration size, absl::Duration slide,
                                           absl::Duration allowed_lateness, AddFn add) {
  return SlicedWindows<K, In, A, AddFn>(size, slide, allowed_lateness, std::move(add));
}

// Session windows of aggregate A, per key: events less than `gap` apart
// (in event time) are in one session [first, last + gap). A session is
// emitted once the watermark passes its end; an event within the allowed
// lateness that extends, joins or starts a session the watermark has
// passed emits the merged session at once, with `update` set if it
// replaces sessions already emitted. Sessions are dropped `allowed_lateness`
// after their end.
template <typename Acc>
struct Session {
  EventTime end = 0;
  bool emitted = false;  // some version of it was emitted
  bool current = false;  // this version was emitted
  Acc acc;
};

template <typename K, typename In, typename A, typename AddFn>
class SessionWindows {
 public:
  using Acc = typename A::Acc;
  using Result = decltype(A::Result(std::declval<const Acc&>(), EventTime{}));
  using Out = WindowResult<K, Result>;

  SessionWindows(absl::Duration gap, absl::Duration allowed_lateness, AddFn add)
      : gap_(std::max<int64_t>(1, WindowMillis(gap))),
        lateness_(WindowMillis(allowed_lateness)),
        add_(std::move(add)) {}

  void Open(KeyedStateStore<K>& state) {
    state_ = state.template Value<std::map<EventTime, Session<Acc>>>("sessions");
  }

  void ProcessElement(const In& event, ProcessContext<K, Out>& ctx) {
    const EventTime ts = ctx.timestamp();
    std::map<EventTime, Session<Acc>>& sessions = state_.GetOrCreate();
    // Sessions within `gap` of ts: start < ts + gap and end > ts (end is the
    // last event + gap). Merged oldest first.
    EventTime start = ts;
    Session<Acc> merged;
    merged.end = ts + gap_;
    bool any = false;
    auto it = sessions.begin();
    while (it != sessions.end() && it->first < ts + gap_) {
      if (it->second.end <= ts) {
        ++it;
        continue;
      }
      if (!any) {
        start = std::min(start, it->first);
        merged.acc = it->second.acc;
      } else {
        A::Merge(merged.acc, it->second.acc);
      }
      any = true;
      merged.end = std::max(merged.end, it->second.end);
      merged.emitted = merged.emitted || it->second.emitted;
      it = sessions.erase(it);
    }
    add_(merged.acc, event, ts);
    if (merged.end - 1 <= ctx.watermark()) {
      ctx.EmitAt(Out{ctx.key(), start, merged.end, A::Result(merged.acc, merged.end - 1),
                     merged.emitted},
                 merged.end - 1);
      merged.emitted = merged.current = true;
    } else {
      ctx.RegisterTimer(merged.end - 1);
    }
    ctx.RegisterTimer(merged.end - 1 + lateness_);
    sessions[start] = std::move(merged);
  }

  void OnTimer(EventTime t, ProcessContext<K, Out>& ctx) {
    std::map<EventTime, Session<Acc>>* sessions = state_.Mutable();
    if (sessions == nullptr) return;
    for (auto it = sessions->begin(); it != sessions->end();) {
      Session<Acc>& s = it->second;
      if (!s.current && s.end - 1 <= t) {
        ctx.EmitAt(Out{ctx.key(), it->first, s.end, A::Result(s.acc, s.end - 1), s.emitted},
                   s.end - 1);
        s.emitted = s.current = true;
      }
      if (s.end - 1 + lateness_ <= t) {
        it = sessions->erase(it);
      } else {
        ++it;
      }
    }
    if (sessions->empty()) state_.Clear();
  }

 private:
  int64_t gap_;
  int64_t lateness_;
  AddFn add_;
  ValueState<K, std::map<EventTime, Session<Acc>>> state_;
};

template <typename K, typename In, typename A, typename AddFn>
SessionWindows<K, In, A, AddFn> MakeSessions(absl::Duration gap, absl::Duration allowed_lateness,
                                             AddFn add) {
  return SessionWindows<K, In, A, AddFn>(gap, allowed_lateness, std::move(add));
}

}  // namespace eddy

namespace eddy {
template <typename Acc>
struct Codec<Session<Acc>, std::enable_if_t<kHasCodec<Acc>>> {
  static constexpr bool kDefined = true;
  static void Encode(const Session<Acc>& v, std::string& out) {
    EncodeTo(v.end, out);
    EncodeTo(v.emitted, out);
    EncodeTo(v.current, out);
    EncodeTo(v.acc, out);
  }
  static size_t HeapBytes(const Session<Acc>& v) { return ::eddy::HeapBytes(v.acc); }
  static bool Decode(absl::string_view& in, Session<Acc>& v) {
    return DecodeFrom(in, v.end) && DecodeFrom(in, v.emitted) && DecodeFrom(in, v.current) &&
           DecodeFrom(in, v.acc);
  }
};

template <typename Acc>
struct Codec<LookbackState<Acc>, std::enable_if_t<kHasCodec<Acc>>> {
  static constexpr bool kDefined = true;
  static void Encode(const LookbackState<Acc>& v, std::string& out) {
    EncodeTo(v.slices, out);
    EncodeTo(v.recent, out);
    EncodeTo(v.expires, out);
    EncodeTo(v.timer, out);
  }
  static size_t HeapBytes(const LookbackState<Acc>& v) {
    return ::eddy::HeapBytes(v.slices) + ::eddy::HeapBytes(v.recent) + 8 * v.dropped.capacity() +
           (v.total ? ::eddy::HeapBytes(*v.total) : 0);
  }
  static bool Decode(absl::string_view& in, LookbackState<Acc>& v) {
    v.total.reset();
    return DecodeFrom(in, v.slices) && DecodeFrom(in, v.recent) && DecodeFrom(in, v.expires) &&
           DecodeFrom(in, v.timer);
  }
};

// In a state directory, a lookback is stored in parts (state/parted.h): a
// slice per part (named by its start, big-endian with the sign bit
// flipped, so parts sort by time), the rest and the slice count in the
// head. A checkpoint then
// writes the slices compacted and deletes those dropped since the last one:
// a user's 24 h lookback of 96 slices was rewritten whole whenever the
// user had an event.
template <typename Acc>
struct PartedCodec<LookbackState<Acc>, std::enable_if_t<kHasCodec<Acc>>> {
  static constexpr bool kDefined = true;

  static std::string SliceName(EventTime start) {
    std::string name;
    AppendOrderedTime(start, name);
    return name;
  }

  static void WriteChanges(LookbackState<Acc>& v, PartWriter& w, bool everything) {
    if (!everything) {
      for (EventTime start : v.dropped) w.DeletePart(SliceName(start));
    }
    std::vector<EventTime>().swap(v.dropped);
    std::string bytes;
    for (const auto& [start, acc] : v.slices) {
      if (start < v.changed_from && !everything) continue;
      bytes.clear();
      EncodeTo(acc, bytes);
      w.PutPart(SliceName(start), bytes);
    }
    v.changed_from = kMaxEventTime;
    bytes.clear();
    EncodeTo(v.recent, bytes);
    EncodeTo(v.expires, bytes);
    EncodeTo(v.timer, bytes);
    EncodeTo(static_cast<uint64_t>(v.slices.size()), bytes);  // a lost part is an error
    w.PutHead(bytes);
  }

  static bool Read(absl::string_view head, const std::vector<Part>& parts, LookbackState<Acc>& v) {
    v = LookbackState<Acc>();
    uint64_t slices = 0;
    if (!DecodeFrom(head, v.recent) || !DecodeFrom(head, v.expires) || !DecodeFrom(head, v.timer) ||
        !DecodeFrom(head, slices) || !head.empty() || slices != parts.size()) {
      return false;
    }
    for (const Part& part : parts) {
      if (part.suffix.size() != 8) return false;
      const EventTime start = ReadOrderedTime(part.suffix);
      if (!v.slices.empty() && v.slices.back().first >= start) return false;
      Acc acc;
      if (!DecodeAll(part.bytes, acc)) return false;
      v.slices.emplace_back(start, std::move(acc));
    }
    v.changed_from = kMaxEventTime;
    return true;
  }

  static size_t HeapBytes(const LookbackState<Acc>& v) {
    return Codec<LookbackState<Acc>>::HeapBytes(v);
  }
};
}  // namespace eddy

#endif  // EDDY_OPERATORS_WINDOWS_H_
