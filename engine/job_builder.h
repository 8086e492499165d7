// Building typed operator graphs.
//
// A job is a function that describes its dataflow with a JobBuilder and
// returns the validated JobGraph; nothing runs until an executor runs it.
// Streams are typed: Stream<T> carries records of T, KeyedStream<K, T>
// records of T partitioned by a key of type K. Passing a function of the
// wrong shape is a compile error that says which signatures are accepted.
// Build() checks the graph as a whole and returns an error (never exits) for
// unconnected streams, missing sinks, sources without event time and
// duplicate names.
//
// Example:
//   absl::StatusOr<eddy::JobGraph> BuildJob(const eddy::JobConfig&) {
//     eddy::JobBuilder job("listen_counts");
//     job.Source<Listen>("events", ParseListen)
//         .WithEventTime(&Listen::ts, absl::Seconds(5))
//         .Filter("plays", [](const Listen& l) { return l.ms_played >= 30000; })
//         .KeyBy(&Listen::user)
//         .Process("hourly_counts", HourlyGenreCounter{})
//         .Sink("hourly_genre_counts", EncodeGenreCount);
//     return std::move(job).Build();
//   }
//
// Thread-safety: a JobBuilder and its streams are used by one thread. Streams
// refer to their builder, which must outlive them and is not movable.
#ifndef EDDY_ENGINE_JOB_BUILDER_H_
#define EDDY_ENGINE_JOB_BUILDER_H_

#include <map>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/job_graph.h"
#include "engine/key.h"
#include "operators/filter_node.h"
#include "operators/flat_map_node.h"
#include "operators/key_by_node.h"
#include "operators/map_node.h"
#include "operators/process_node.h"
#include "operators/sink_node.h"
#include "operators/source_node.h"
#include "operators/union_node.h"

namespace eddy {

template <typename T>
class Stream;
template <typename K, typename T>
class KeyedStream;
template <typename T, typename Parser>
class SourceBuilder;

namespace builder_internal {

// Result type of invoking Fn(const Arg&), or void when Fn can't be invoked
// that way (so a static_assert, not a substitution failure, reports it).
template <typename Fn, typename Arg, bool = std::is_invocable_v<const Fn&, const Arg&>>
struct CallResult {
  using type = void;
};
template <typename Fn, typename Arg>
struct CallResult<Fn, Arg, true> {
  using type = std::decay_t<std::invoke_result_t<const Fn&, const Arg&>>;
};

template <typename Fn, typename = void>
struct OutOf {
  using type = void;
};
template <typename Fn>
struct OutOf<Fn, std::void_t<typename Fn::Out>> {
  using type = typename Fn::Out;
};

template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};

// Wraps member pointers and callables alike into a callable object.
template <typename Fn>
auto Callable(Fn fn) {
  return [fn = std::move(fn)](const auto& v) -> decltype(auto) { return std::invoke(fn, v); };
}

}  // namespace builder_internal

class JobBuilder {
 public:
  // `name` is the job's name (letters, digits, '_', '-', '.').
  explicit JobBuilder(std::string name) : name_(std::move(name)) {}
  JobBuilder(const JobBuilder&) = delete;
  JobBuilder& operator=(const JobBuilder&) = delete;

  // Declares an input named `name` whose raw records `parser` decodes.
  // Accepted parser: absl::StatusOr<T>(absl::string_view record), safe to call
  // concurrently; kRecordPadding readable bytes follow `record`. Call
  // WithEventTime on the result to get a stream.
  template <typename T, typename Parser>
  SourceBuilder<T, Parser> Source(std::string name, Parser parser);

  // Adds a hook run when the job's run ends (JobGraph::FinishHook): write a
  // model file, add figures to the summary.
  void OnFinish(JobGraph::FinishHook hook) { finish_hooks_.push_back(std::move(hook)); }

  // Adds live figures for the metrics endpoint (JobGraph::MetricsHook).
  void OnMetrics(JobGraph::MetricsHook hook) { metrics_hooks_.push_back(std::move(hook)); }

  // Writes sink `sink` to the JSON-lines file `path` instead of the run's
  // usual place for it (replay: DIR/<sink>.jsonl; live: its topic). A live
  // run appends to the file and syncs it at each checkpoint: at-least-once
  // (a crash may repeat records written since the last checkpoint).
  void SinkToFile(std::string sink, std::string path) { sink_files_[std::move(sink)] = std::move(path); }

  // Validates the graph and returns it. The builder is spent afterwards.
  absl::StatusOr<JobGraph> Build() &&;

  const std::string& name() const { return name_; }

 private:
  template <typename>
  friend class Stream;
  template <typename, typename>
  friend class KeyedStream;
  template <typename, typename>
  friend class SourceBuilder;

  template <typename NodeT, typename... Args>
  NodeT* Add(std::string name, Args&&... args) {
    const bool is_explicit = !name.empty();
    auto node = std::make_unique<NodeT>(std::move(name), std::forward<Args>(args)...);
    NodeT* raw = node.get();
    if (is_explicit) {
      raw->set_name_is_explicit(true);
    } else {
      raw->set_name(std::string(NodeKindName(raw->kind())) + "_" +
                    std::to_string(nodes_.size()));
    }
    nodes_.push_back(std::move(node));
    return raw;
  }

  void AddError(std::string error) { errors_.push_back(std::move(error)); }

  std::string name_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<SourceOperator*> sources_;
  std::vector<SinkNodeBase*> sinks_;
  std::vector<std::string> sources_without_time_;
  std::vector<std::string> errors_;
  std::vector<JobGraph::FinishHook> finish_hooks_;
  std::vector<JobGraph::MetricsHook> metrics_hooks_;
  std::map<std::string, std::string> sink_files_;
  bool built_ = false;
};

// A declared source that still needs its event time.
template <typename T, typename Parser>
class SourceBuilder {
 public:
  // Assigns event time with `ts` (a member pointer such as &Event::ts, or a
  // function of const T& returning epoch milliseconds) and allows records to
  // be `max_out_of_orderness` out of order.
  template <typename TsFn>
  Stream<T> WithEventTime(TsFn ts, absl::Duration max_out_of_orderness) {
    EventTimeOptions options;
    options.max_out_of_orderness = max_out_of_orderness;
    return WithEventTime(std::move(ts), options);
  }

  template <typename TsFn>
  Stream<T> WithEventTime(TsFn ts, EventTimeOptions options);

 private:
  friend class JobBuilder;
  SourceBuilder(JobBuilder* job, std::string name, Parser parser)
      : job_(job), name_(std::move(name)), parser_(std::move(parser)) {}

  JobBuilder* job_;
  std::string name_;
  Parser parser_;
};

template <typename T>
class Stream {
 public:
  using value_type = T;

  // One output per input. Accepted: Out fn(const T&).
  template <typename Fn>
  auto Map(std::string name, Fn fn) const {
    using Out = typename builder_internal::CallResult<Fn, T>::type;
    static_assert(std::is_invocable_v<const Fn&, const T&>,
                  "Map: the function must be callable as Out fn(const T&) for the stream's T");
    static_assert(!std::is_void_v<Out>, "Map: the function must return a value");
    auto call = builder_internal::Callable(std::move(fn));
    return Stream<Out>(job_, job_->template Add<MapNode<T, Out, decltype(call)>>(
                                 std::move(name), node_, std::move(call)));
  }
  template <typename Fn>
  auto Map(Fn fn) const {
    return Map(std::string(), std::move(fn));
  }

  // Keeps records for which pred is true. Accepted: bool pred(const T&).
  template <typename Pred>
  Stream<T> Filter(std::string name, Pred pred) const {
    static_assert(std::is_invocable_r_v<bool, const Pred&, const T&>,
                  "Filter: the predicate must be callable as bool pred(const T&) for the "
                  "stream's T");
    auto call = builder_internal::Callable(std::move(pred));
    return Stream<T>(job_, job_->template Add<FilterNode<T, decltype(call)>>(
                               std::move(name), node_, std::move(call)));
  }
  template <typename Pred>
  Stream<T> Filter(Pred pred) const {
    return Filter(std::string(), std::move(pred));
  }

  // Zero or more outputs per input.
  // Accepted: void fn(const T&, eddy::Emitter<Out>&), with Out given
  // explicitly: stream.FlatMap<Word>(SplitWords).
  template <typename Out, typename Fn>
  Stream<Out> FlatMap(std::string name, Fn fn) const {
    static_assert(std::is_invocable_v<Fn&, const T&, Emitter<Out>&>,
                  "FlatMap<Out>: the function must be callable as "
                  "void fn(const T&, eddy::Emitter<Out>&)");
    return Stream<Out>(job_, job_->template Add<FlatMapNode<T, Out, Fn>>(std::move(name), node_,
                                                                         std::move(fn)));
  }
  template <typename Out, typename Fn>
  Stream<Out> FlatMap(Fn fn) const {
    return FlatMap<Out>(std::string(), std::move(fn));
  }

  // Partitions the stream by a key. Accepted: a member pointer (&Event::user)
  // or K fn(const T&), where K is an integral type, std::string, a pair or
  // tuple of those, or has an eddy::KeyTraits specialisation.
  template <typename KeyFn>
  auto KeyBy(std::string name, KeyFn key_fn) const {
    using K = typename builder_internal::CallResult<KeyFn, T>::type;
    static_assert(std::is_invocable_v<const KeyFn&, const T&>,
                  "KeyBy: the key must be a member pointer of T or callable as K fn(const T&)");
    static_assert(kIsSupportedKey<K>,
                  "KeyBy: unsupported key type; use an integral type, std::string, a "
                  "std::pair/std::tuple of those, or specialise eddy::KeyTraits (engine/key.h)");
    auto call = builder_internal::Callable(std::move(key_fn));
    return KeyedStream<K, T>(job_, job_->template Add<KeyByNode<K, T, decltype(call)>>(
                                       std::move(name), node_, std::move(call)));
  }
  template <typename KeyFn>
  auto KeyBy(KeyFn key_fn) const {
    return KeyBy(std::string(), std::move(key_fn));
  }

  // Merges this stream with others of the same type.
  Stream<T> Union(std::string name, std::vector<Stream<T>> others) const {
    std::vector<Producer<T>*> inputs = {node_};
    for (const Stream<T>& s : others) {
      if (s.job_ != job_) {
        job_->AddError("Union: streams from different jobs cannot be merged");
        return *this;
      }
      inputs.push_back(s.node_);
    }
    return Stream<T>(job_, job_->template Add<UnionNode<T>>(std::move(name), std::move(inputs)));
  }
  Stream<T> Union(const Stream<T>& other) const { return Union(std::string(), {other}); }

  // Writes the stream to the output named `name`. Accepted encoder:
  // void encode(const T&, std::string& out), appending one record (no newline).
  template <typename Encoder>
  void Sink(std::string name, Encoder encoder) const {
    static_assert(std::is_invocable_v<Encoder&, const T&, std::string&>,
                  "Sink: the encoder must be callable as void encode(const T&, std::string& out)");
    if (name.empty()) job_->AddError("Sink: a sink needs a name (its output is named after it)");
    job_->sinks_.push_back(
        job_->template Add<SinkNode<T, Encoder>>(std::move(name), node_, std::move(encoder)));
  }

 private:
  friend class JobBuilder;
  template <typename>
  friend class Stream;
  template <typename, typename>
  friend class KeyedStream;
  template <typename, typename>
  friend class SourceBuilder;

  Stream(JobBuilder* job, Producer<T>* node) : job_(job), node_(node) {}

  JobBuilder* job_;
  Producer<T>* node_;
};

template <typename K, typename T>
class KeyedStream {
 public:
  using key_type = K;
  using value_type = T;

  // Runs a keyed function with state and timers (operators/process_node.h).
  // Accepted: a class with `using Out = ...;` and
  //   void ProcessElement(const T&, eddy::ProcessContext<K, Out>&);
  // optionally void OnTimer(eddy::EventTime, eddy::ProcessContext<K, Out>&)
  // and void Open(eddy::KeyedStateStore<K>&).
  template <typename Fn>
  auto Process(std::string name, Fn fn) const {
    using Out = typename builder_internal::OutOf<Fn>::type;
    static_assert(!std::is_void_v<Out>,
                  "Process: the function class must declare its output type: using Out = ...;");
    static_assert(process_internal::HasProcessElement<Fn, T, K, Out>::value,
                  "Process: the function class must have "
                  "void ProcessElement(const T&, eddy::ProcessContext<K, Out>&)");
    static_assert(!process_internal::NamesOnTimer<Fn>::value ||
                      process_internal::HasOnTimer<Fn, K, Out>::value,
                  "Process: OnTimer must be void OnTimer(eddy::EventTime, "
                  "eddy::ProcessContext<K, Out>&)");
    static_assert(!process_internal::NamesOpen<Fn>::value ||
                      process_internal::HasOpen<Fn, K>::value,
                  "Process: Open must be void Open(eddy::KeyedStateStore<K>&) with the "
                  "stream's key type K");
    return Stream<Out>(job_, job_->template Add<ProcessNode<K, T, Fn>>(std::move(name), node_,
                                                                        std::move(fn)));
  }
  template <typename Fn>
  auto Process(Fn fn) const {
    return Process(std::string(), std::move(fn));
  }

 private:
  template <typename>
  friend class Stream;
  KeyedStream(JobBuilder* job, KeyedProducer<K, T>* node) : job_(job), node_(node) {}

  JobBuilder* job_;
  KeyedProducer<K, T>* node_;
};

template <typename T, typename Parser>
SourceBuilder<T, Parser> JobBuilder::Source(std::string name, Parser parser) {
  constexpr bool kWithMeta =
      std::is_invocable_v<const Parser&, absl::string_view, const RecordMeta&>;
  static_assert(kWithMeta || std::is_invocable_v<const Parser&, absl::string_view>,
                "Source<T>: the parser must be callable as "
                "absl::StatusOr<T> parse(absl::string_view record) or "
                "absl::StatusOr<T> parse(absl::string_view record, const eddy::RecordMeta& meta)");
  if constexpr (kWithMeta) {
    static_assert(std::is_same_v<std::decay_t<std::invoke_result_t<
                                     const Parser&, absl::string_view, const RecordMeta&>>,
                                 absl::StatusOr<T>>,
                  "Source<T>: the parser must return absl::StatusOr<T> for the T given to Source<T>");
  } else {
    static_assert(
        std::is_same_v<typename builder_internal::CallResult<Parser, absl::string_view>::type,
                       absl::StatusOr<T>>,
        "Source<T>: the parser must return absl::StatusOr<T> for the T given to Source<T>");
  }
  if (name.empty()) AddError("Source: a source needs a name (inputs are bound to it)");
  sources_without_time_.push_back(name);
  return SourceBuilder<T, Parser>(this, std::move(name), std::move(parser));
}

template <typename T, typename Parser>
template <typename TsFn>
Stream<T> SourceBuilder<T, Parser>::WithEventTime(TsFn ts, EventTimeOptions options) {
  using Ts = typename builder_internal::CallResult<TsFn, T>::type;
  static_assert(std::is_invocable_v<const TsFn&, const T&> && std::is_integral_v<Ts>,
                "WithEventTime: the timestamp must be an integral member pointer of T "
                "(&Event::ts) or callable as int64_t ts(const T&), in epoch milliseconds");
  auto& pending = job_->sources_without_time_;
  for (auto it = pending.begin(); it != pending.end(); ++it) {
    if (*it == name_) {
      pending.erase(it);
      break;
    }
  }
  for (absl::Duration d :
       {options.max_out_of_orderness, options.allowed_lateness, options.idle_timeout}) {
    if (d < absl::ZeroDuration() || d > absl::Hours(24 * 365 * 1000)) {
      job_->AddError("source '" + name_ +
                     "': event-time durations must be between zero and 1000 years");
      break;
    }
  }
  auto ts_call = [fn = std::move(ts)](const T& v) -> EventTime {
    return static_cast<EventTime>(std::invoke(fn, v));
  };
  auto* node = job_->template Add<SourceNode<T, Parser, decltype(ts_call)>>(
      name_, std::move(parser_), std::move(ts_call), options);
  job_->sources_.push_back(node);
  return Stream<T>(job_, node);
}

}  // namespace eddy

#endif  // EDDY_ENGINE_JOB_BUILDER_H_
