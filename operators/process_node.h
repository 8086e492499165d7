// Process: a keyed function with state and event-time timers.
//
// The user supplies a class with:
//   using Out = ...;                                             // required
//   void ProcessElement(const In&, eddy::ProcessContext<K, Out>&);  // required
//   void OnTimer(eddy::EventTime, eddy::ProcessContext<K, Out>&);   // optional
//   void Open(eddy::KeyedStateStore<K>&);                          // optional
// Each task gets its own copy of the object (copied from the one given to
// Process), so members are per task; per-key data belongs in ValueState.
//
// Timers fire after the batch's records, in (time, key group, key) order, once
// the watermark reaches them. Outputs emitted in ProcessElement carry the
// input's event time; outputs emitted in OnTimer carry the timer's time.
#ifndef EDDY_OPERATORS_PROCESS_NODE_H_
#define EDDY_OPERATORS_PROCESS_NODE_H_

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/node.h"
#include "operators/key_by_node.h"
#include "state/codec.h"
#include "state/keyed_state.h"
#include "state/timer_queue.h"

namespace eddy {

template <typename K, typename Out>
class ProcessContext {
 public:
  // The key of the record or timer being processed.
  const K& key() const { return *key_; }
  // Event time of the record being processed, or of the firing timer.
  EventTime timestamp() const { return ts_; }
  // The operator's watermark: the previous batch's while processing records,
  // the current one while firing timers.
  EventTime watermark() const { return watermark_; }

  // Emits a record at timestamp().
  void Emit(Out value) { out_->push_back(Record<Out>{std::move(value), ts_, tag_}); }
  // Emits a record with an explicit event time.
  void EmitAt(Out value, EventTime ts) { out_->push_back(Record<Out>{std::move(value), ts, tag_}); }

  // Registers an event-time timer for the current key. A time at or behind
  // the watermark fires at the end of the current batch.
  // Sends a record the function cannot use to the dead-letter output, with
  // the reason (counted per reason) and timestamp().
  void DeadLetter(std::string reason, std::string record) {
    dead_->push_back(OperatorDeadLetter{std::move(reason), std::move(record), ts_});
  }

  void RegisterTimer(EventTime time) { timers_->Register(time, key_group_, *key_); }
  void DeleteTimer(EventTime time) { timers_->Delete(time, key_group_, *key_); }

 private:
  template <typename, typename, typename>
  friend class ProcessNode;

  const K* key_ = nullptr;
  uint32_t key_group_ = 0;
  EventTime ts_ = 0;
  EventTime watermark_ = kMinEventTime;
  Tag tag_;
  std::vector<Record<Out>>* out_ = nullptr;
  TimerQueue<K>* timers_ = nullptr;
  std::vector<OperatorDeadLetter>* dead_ = nullptr;
};

namespace process_internal {

template <typename Fn, typename K, typename = void>
struct HasOpen : std::false_type {};
template <typename Fn, typename K>
struct HasOpen<Fn, K,
               std::void_t<decltype(std::declval<Fn&>().Open(
                   std::declval<KeyedStateStore<K>&>()))>> : std::true_type {};

template <typename Fn, typename K, typename Out, typename = void>
struct HasOnTimer : std::false_type {};
template <typename Fn, typename K, typename Out>
struct HasOnTimer<Fn, K, Out,
                  std::void_t<decltype(std::declval<Fn&>().OnTimer(
                      EventTime{}, std::declval<ProcessContext<K, Out>&>()))>>
    : std::true_type {};

template <typename Fn, typename T, typename K, typename Out, typename = void>
struct HasProcessElement : std::false_type {};
template <typename Fn, typename T, typename K, typename Out>
struct HasProcessElement<Fn, T, K, Out,
                         std::void_t<decltype(std::declval<Fn&>().ProcessElement(
                             std::declval<const T&>(), std::declval<ProcessContext<K, Out>&>()))>>
    : std::true_type {};

// A member named OnTimer / Open exists (whatever its signature).
template <typename Fn, typename = void>
struct NamesOnTimer : std::false_type {};
template <typename Fn>
struct NamesOnTimer<Fn, std::void_t<decltype(&Fn::OnTimer)>> : std::true_type {};
template <typename Fn, typename = void>
struct NamesOpen : std::false_type {};
template <typename Fn>
struct NamesOpen<Fn, std::void_t<decltype(&Fn::Open)>> : std::true_type {};

}  // namespace process_internal

template <typename K, typename In, typename Fn>
class ProcessNode final : public Producer<typename Fn::Out> {
 public:
  using Out = typename Fn::Out;

  ProcessNode(std::string name, KeyedProducer<K, In>* input, Fn fn)
      : Producer<Out>(NodeKind::kProcess, std::move(name)),
        input_(input),
        prototype_(std::move(fn)) {
    this->AddInput(input);
  }

  bool partition_local() const override { return true; }

  void AttachState(StateDirectory* dir, size_t cache_budget) override {
    dir_ = dir;
    cache_budget_ = cache_budget;
  }

  absl::Status Open(int partitions) override {
    this->output_.Resize(partitions);
    tasks_.clear();
    int timer_table = -1;
    if (dir_ != nullptr) {
      if constexpr (!kHasCodec<K>) {
        return absl::FailedPreconditionError(
            "process '" + this->name() + "': its key type has no eddy::Codec (state/codec.h), "
            "needed to store its state");
      }
      absl::StatusOr<int> t = dir_->Table(this->name() + "/__timers");
      if (!t.ok()) return t.status();
      timer_table = *t;
    }
    for (int p = 0; p < partitions; ++p) {
      tasks_.push_back(std::make_unique<Task>(prototype_));
      Task& task = *tasks_.back();
      if (dir_ != nullptr) {
        task.state.Bind(dir_, this->name(), cache_budget_);
        task.timers.Bind(dir_, timer_table);
        if constexpr (kHasCodec<K>) {
          absl::Status s = task.timers.Restore([&](uint32_t group) {
            return PartitionOfKeyGroup(group, partitions) == p;
          });
          if (!s.ok()) return s;
        }
      }
      if constexpr (process_internal::HasOpen<Fn, K>::value) task.fn.Open(task.state);
      const absl::Duration ttl = task.state.time_to_live();
      if (ttl > absl::ZeroDuration()) {
        task.ttl_ms = absl::ToInt64Milliseconds(ttl);
        task.touched = task.state.template InternalValue<std::pair<int64_t, int64_t>>("__ttl");
        if (dir_ != nullptr) {
          absl::StatusOr<int> t = dir_->Table(this->name() + "/__ttl_timers");
          if (!t.ok()) return t.status();
          task.ttl_timers.Bind(dir_, *t);
          if constexpr (kHasCodec<K>) {
            absl::Status s = task.ttl_timers.Restore([&](uint32_t group) {
              return PartitionOfKeyGroup(group, partitions) == p;
            });
            if (!s.ok()) return s;
          }
        }
      }
      if (!task.state.status().ok()) return task.state.status();
    }
    return absl::OkStatus();
  }

  absl::Status Snapshot(StateDirectory::Batch& batch) override {
    for (auto& task : tasks_) {
      absl::Status s = task->state.Snapshot(batch);
      if (!s.ok()) return s;
      if constexpr (kHasCodec<K>) {
        task->timers.Snapshot(batch);
        task->ttl_timers.Snapshot(batch);
      }
    }
    return absl::OkStatus();
  }
  void TrimState(double scale) override {
    for (auto& task : tasks_) {
      const size_t held = task->state.approx_bytes();
      task->state.set_budget(scale < 1 ? std::max<size_t>(1, static_cast<size_t>(held * scale))
                                       : cache_budget_);
      task->state.Trim();
    }
  }
  size_t state_dirty_bytes() const override {
    size_t n = 0;
    for (const auto& task : tasks_) n += task->state.dirty_bytes();
    return n;
  }
  size_t state_cache_bytes() const override {
    size_t n = 0;
    for (const auto& task : tasks_) n += task->state.approx_bytes();
    return n;
  }
  // State entries in memory over all tasks (see KeyedStateStore::cached_entries).
  size_t cached_state_entries() const {
    size_t n = 0;
    for (const auto& task : tasks_) n += task->state.cached_entries();
    return n;
  }
  absl::Status state_status() const override {
    for (const auto& task : tasks_) {
      if (!task->state.status().ok()) return task->state.status();
    }
    return absl::OkStatus();
  }

  void RunPartition(int p, const BatchContext& ctx) override {
    Task& task = *tasks_[p];
    KeyedPartition<K, In>& in = input_->output()[p];
    ProcessContext<K, Out>& pc = task.context;
    pc.out_ = &this->output_.parts[p];
    pc.timers_ = &task.timers;
    pc.dead_ = &task.dead_letters;
    pc.watermark_ = ctx.previous_watermark;
    const size_t n = in.records.size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) task.state.Prefetch(in.keys[i + kPrefetchAhead]);
      pc.key_ = &in.keys[i];
      pc.key_group_ = in.key_groups[i];
      pc.ts_ = in.records[i].ts;
      pc.tag_ = in.records[i].tag;
      task.state.SetCurrentKey(pc.key_);
      if (task.ttl_ms > 0) Touch(task, pc.key_group_, pc.ts_);
      task.fn.ProcessElement(static_cast<const In&>(in.records[i].value), pc);
    }
    FireTimers(task, ctx.watermark);
  }

  void TakeDeadLetters(std::vector<OperatorDeadLetter>* out) override {
    for (auto& task : tasks_) {
      for (OperatorDeadLetter& d : task->dead_letters) out->push_back(std::move(d));
      task->dead_letters.clear();
    }
  }

  // Timers pending over all tasks (for tests and metrics).
  size_t PendingTimers() const {
    size_t n = 0;
    for (const auto& t : tasks_) n += t->timers.size();
    return n;
  }

 private:
  // How many records ahead the state of a key is prefetched: enough to keep
  // several misses in flight, few enough that the lines stay in cache
  // (bench/operators/window_benchmark).
  static constexpr size_t kPrefetchAhead = 8;

  struct Task {
    explicit Task(const Fn& f) : fn(f) {}
    Fn fn;
    KeyedStateStore<K> state;
    TimerQueue<K> timers;
    ProcessContext<K, Out> context;
    std::vector<OperatorDeadLetter> dead_letters;  // of the current batch
    // State TTL: per key (last record time, time its expiry timer is set
    // for), and one pending expiry timer per key.
    int64_t ttl_ms = 0;
    ValueState<K, std::pair<int64_t, int64_t>> touched;
    TimerQueue<K> ttl_timers;
  };

  // Records that the current key got a record at `ts`; arms its expiry
  // timer if none is pending.
  static EventTime SaturatingAdd(EventTime t, int64_t d) {
    return t > kMaxEventTime - d ? kMaxEventTime : t + d;
  }

  static void Touch(Task& task, uint32_t key_group, EventTime ts) {
    const std::pair<int64_t, int64_t>* seen = task.touched.Get();
    // |ts| <= 2^53 (sources guarantee it) and ttl <= 1000 years: no overflow.
    if (seen != nullptr && ts - seen->first >= task.ttl_ms) {
      // Idle for the TTL before this record, though the watermark has not
      // yet fired its expiry: expire now, so results don't depend on where
      // batches end.
      task.state.ClearKey(*task.state.current_key());
      seen = nullptr;
    }
    if (seen == nullptr) {
      // First record of the key (or since it expired): arm its timer.
      task.touched.Set({ts, SaturatingAdd(ts, task.ttl_ms)});
      task.ttl_timers.Register(SaturatingAdd(ts, task.ttl_ms), key_group,
                               *task.state.current_key());
      return;
    }
    if (ts > seen->first) task.touched.Mutable()->first = ts;
  }

  // Fires the user's timers and the TTL expiry timers due by `watermark`, in
  // one (time, key group, key) order; at equal times the user's timer first.
  void FireTimers(Task& task, EventTime watermark) {
    ProcessContext<K, Out>& pc = task.context;
    pc.watermark_ = watermark;
    typename TimerQueue<K>::Timer timer;
    // Tags must not decrease within a partition (engine/tag_merge.h): a timer
    // registered behind the one firing is tagged with the firing time.
    EventTime tag_time = kMinEventTime;
    for (;;) {
      const auto* user = task.timers.PeekDue(watermark);
      const auto* ttl = task.ttl_ms > 0 ? task.ttl_timers.PeekDue(watermark) : nullptr;
      if (user == nullptr && ttl == nullptr) break;
      if (ttl != nullptr && (user == nullptr || *ttl < *user)) {
        task.ttl_timers.PopDue(watermark, &timer);
        Expire(task, timer);
        continue;
      }
      if (const auto* next = task.timers.Upcoming(kPrefetchAhead)) task.state.Prefetch(next->key);
      task.timers.PopDue(watermark, &timer);
      tag_time = std::max(tag_time, timer.time);
      pc.key_ = &timer.key;
      pc.key_group_ = timer.key_group;
      pc.ts_ = timer.time;
      pc.tag_ = Tag{Tag::kTimerSeq, timer.key_group, tag_time};
      task.state.SetCurrentKey(pc.key_);
      if constexpr (process_internal::HasOnTimer<Fn, K, Out>::value) {
        task.fn.OnTimer(timer.time, pc);
      }
      // State written by a timer of an expired key must expire too.
      if (task.ttl_ms > 0 && task.touched.Get() == nullptr) {
        const EventTime expiry = SaturatingAdd(timer.time, task.ttl_ms);
        task.touched.Set({timer.time, expiry});
        task.ttl_timers.Register(expiry, timer.key_group, timer.key);
      }
    }
    task.state.SetCurrentKey(nullptr);
  }

  // An expiry timer: drops the key's state if it has been idle for the TTL,
  // otherwise re-arms the timer at its last record + TTL.
  static void Expire(Task& task, const typename TimerQueue<K>::Timer& timer) {
    task.state.SetCurrentKey(&timer.key);
    const auto* t = task.touched.Get();
    if (t == nullptr) return;
    // Judge by the timer's own time, not the watermark: a timer armed at the
    // key's first record is early once later records came, and must move to
    // the real expiry (where it fires in its place among the other timers,
    // possibly later in this same loop).
    const EventTime expiry = SaturatingAdd(t->first, task.ttl_ms);
    if (expiry > timer.time) {
      task.touched.Mutable()->second = expiry;
      task.ttl_timers.Register(expiry, timer.key_group, timer.key);
    } else {
      task.state.ClearKey(timer.key);
    }
  }

  KeyedProducer<K, In>* input_;
  Fn prototype_;
  std::vector<std::unique_ptr<Task>> tasks_;
  StateDirectory* dir_ = nullptr;  // nullptr: state in memory
  size_t cache_budget_ = 0;        // all the run's caches together
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_PROCESS_NODE_H_
