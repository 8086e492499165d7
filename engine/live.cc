#include "engine/live.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <set>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/strings/str_join.h"
#include "absl/random/random.h"
#include "connectors/file_sink.h"
#include "connectors/kafka_exchange.h"
#include "connectors/kafka_sink.h"
#include "connectors/kafka_source.h"
#include "engine/job_registry.h"
#include "engine/live_metrics.h"
#include "engine/log.h"
#include "engine/metrics_server.h"
#include "engine/status_macros.h"
#include "state/state_directory.h"

namespace eddy {
namespace {

// Sinks the job writes to files (JobBuilder::SinkToFile), appended to and
// synced at checkpoints (at-least-once); the others to their topics.
class FileOrKafkaOutputs final : public OutputFactory {
 public:
  FileOrKafkaOutputs(std::map<std::string, std::string> files, OutputFactory* kafka)
      : files_(std::move(files)), kafka_(kafka) {}
  absl::StatusOr<std::unique_ptr<OutputWriter>> Open(const std::string& name) override {
    auto it = files_.find(name);
    return it != files_.end() ? AppendJsonLinesFile(it->second) : kafka_->Open(name);
  }
  absl::StatusOr<std::unique_ptr<OutputWriter>> Resume(const std::string& name, uint64_t size) override {
    auto it = files_.find(name);
    return it != files_.end() ? AppendJsonLinesFile(it->second) : kafka_->Resume(name, size);
  }

 private:
  std::map<std::string, std::string> files_;
  OutputFactory* kafka_;
};

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> JobTopics(
    const JobGraph& graph, const std::string& job,
    const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> topics;
  for (SourceOperator* s : graph.sources()) {
    topics[s->node()->name()] = absl::StrCat(job, ".", s->node()->name());
  }
  for (SinkNodeBase* s : graph.sinks()) topics[s->name()] = absl::StrCat(job, ".", s->name());
  topics["dead_letters"] = job + ".dlq";
  topics["late_events"] = job + ".late";
  const auto source_topics_unique = [&]() -> absl::Status {
    std::map<std::string, std::string> by_topic;
    for (SourceOperator* s : graph.sources()) {
      const std::string& t = topics.at(s->node()->name());
      auto [it, fresh] = by_topic.emplace(t, s->node()->name());
      if (!fresh) {
        return absl::InvalidArgumentError(absl::StrCat("sources '", it->second, "' and '",
                                                       s->node()->name(), "' both read topic ", t));
      }
    }
    return absl::OkStatus();
  };
  for (const auto& [name, topic] : overrides) {
    auto it = topics.find(name);
    if (it == topics.end()) {
      std::vector<std::string> names;
      for (const auto& [n, unused] : topics) names.push_back(n);
      return absl::InvalidArgumentError(absl::StrCat("--topic ", name, "=", topic, ": job '", job,
                                                     "' has no source or output named '", name,
                                                     "' (it has ", absl::StrJoin(names, ", "), ")"));
    }
    if (topic.empty()) return absl::InvalidArgumentError(absl::StrCat("--topic ", name, "=: no topic"));
    it->second = topic;
  }
  EDDY_RETURN_IF_ERROR(source_topics_unique());
  return topics;
}

namespace {

// The KeyBys of `graph`, in graph order (the order of JobExchangeTopics).
std::vector<Node*> KeyBys(const JobGraph& graph) {
  std::vector<Node*> out;
  for (const auto& node : graph.nodes()) {
    if (node->exchanges_keys()) out.push_back(node.get());
  }
  return out;
}

}  // namespace

std::vector<ExchangeTopics> JobExchangeTopics(const JobGraph& graph, const std::string& job) {
  std::vector<ExchangeTopics> out;
  for (const Node* key_by : KeyBys(graph)) {
    out.push_back({key_by->name(), absl::StrCat(job, ".", key_by->name(), ".repartition"),
                   absl::StrCat(job, ".", key_by->name(), ".changelog")});
  }
  return out;
}

namespace {

constexpr char kRebalanced[] = "partitions were revoked since the last checkpoint";

// The tables of the keyed operators reading each KeyBy: "<operator>/".
std::vector<std::string> TablePrefixes(const JobGraph& graph, const Node* key_by) {
  std::vector<std::string> out;
  for (const auto& node : graph.nodes()) {
    for (const Node* input : node->inputs()) {
      if (input == key_by) out.push_back(node->name() + "/");
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<RunStats> RunLive(const LiveOptions& options) {
  const JobInfo* info = JobRegistry::Global().Find(options.job);
  if (info == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown job '", options.job, "' (see: eddy jobs)"));
  }
  if (options.threads < 1 || options.threads > 256) {
    return absl::InvalidArgumentError("--threads must be between 1 and 256");
  }
  EDDY_ASSIGN_OR_RETURN(JobGraph graph, info->factory(JobConfig(options.params)));
  EDDY_ASSIGN_OR_RETURN(auto topics, JobTopics(graph, options.job, options.topics));
  const std::string who = "eddy run " + options.job;  // what its log lines say
  // The metrics endpoint first: a port that cannot be had fails the run
  // before it joins the group. The server's callbacks read only `metrics`
  // (declared first, so destroyed after the server stops).
  std::unique_ptr<LiveMetrics> metrics;
  std::unique_ptr<MetricsServer> metrics_server;
  if (!options.metrics_address.empty()) {
    metrics = std::make_unique<LiveMetrics>(options.job);
    LiveMetrics* m = metrics.get();
    EDDY_ASSIGN_OR_RETURN(metrics_server,
                          MetricsServer::Start(
                              options.metrics_address, [m] { return m->Render(); },
                              [m] { return m->Health(); }));
    Log(LogLevel::kInfo, who,
        absl::StrCat("metrics on ", metrics_server->url(), "/metrics, health on ",
                     metrics_server->url(), "/healthz"));
  }
  const std::string group = options.group.empty() ? "eddy." + options.job : options.group;

  std::set<std::string> sources;
  KafkaConsumerGroup::Options co;
  co.kafka = options.kafka;
  if (co.kafka.client_id == "eddy") co.kafka.client_id = "eddy-" + options.job;
  co.group = group;
  co.max_record_bytes = options.max_record_bytes;
  co.max_buffered_bytes = options.input_buffer_bytes;
  std::map<std::string, std::string> output_topics = topics;
  for (const auto& [sink, path] : graph.sink_files()) output_topics.erase(sink);
  for (SourceOperator* s : graph.sources()) {
    sources.insert(s->node()->name());
    co.topics.push_back(topics.at(s->node()->name()));
    output_topics.erase(s->node()->name());
  }
  const std::vector<ExchangeTopics> exchange_topics = JobExchangeTopics(graph, options.job);
  for (const ExchangeTopics& x : exchange_topics) co.topics.push_back(x.repartition);
  // Outputs first: a run that cannot write should not join the group.
  EDDY_ASSIGN_OR_RETURN(auto outputs,
                        KafkaOutputFactory::Open(co.kafka, output_topics, options.exactly_once,
                                                 options.exactly_once ? options.job + ".staging"
                                                                      : std::string()));
  FileOrKafkaOutputs sink_outputs(graph.sink_files(), outputs.get());
  absl::StatusOr<std::unique_ptr<KafkaConsumerGroup>> opened = KafkaConsumerGroup::Open(co);
  if (!opened.ok() && opened.status().code() == absl::StatusCode::kNotFound &&
      !exchange_topics.empty()) {
    std::vector<std::string> internal;
    for (const ExchangeTopics& x : exchange_topics) {
      internal.push_back(x.repartition);
      internal.push_back(x.changelog);
    }
    return absl::NotFoundError(absl::StrCat(
        opened.status().message(), " (this job also needs its internal topics ",
        absl::StrJoin(internal, ", "), ", with equal partition counts; see eddy describe ",
        options.job, ")"));
  }
  EDDY_ASSIGN_OR_RETURN(auto consumer, std::move(opened));
  const auto bind_inputs = [&] {
    Executor::Inputs inputs;
    for (const std::string& source : sources) {
      inputs[source] = consumer->TakePartitions(topics.at(source));
    }
    return inputs;
  };
  Executor::Inputs inputs = bind_inputs();
  // Input partitions over all sources: the first watermark entries that
  // exchanges carry (connectors/kafka_exchange.h).
  uint32_t source_entries = 0;
  for (const auto& [source, parts] : inputs) source_entries += static_cast<uint32_t>(parts.size());

  StateDirectory::Options so;
  so.path = options.state_dir.empty() ? "eddy-state/" + group : options.state_dir;
  so.job = options.job;
  so.memory_budget_bytes = options.state_memory_bytes;
  EDDY_ASSIGN_OR_RETURN(std::unique_ptr<StateDirectory> state, StateDirectory::Open(so));
  if (metrics != nullptr) {
    LiveMetrics::Sources sources;
    KafkaConsumerGroup* group_consumer = consumer.get();
    sources.lags = [group_consumer] {
      std::vector<LiveMetrics::PartitionLag> out;
      for (const auto& p : group_consumer->PartitionLags()) {
        if (p.lag >= 0) out.push_back({p.topic, p.partition, p.lag});
      }
      return out;
    };
    StateDirectory* dir = state.get();
    sources.state_bytes = [dir] { return dir->ApproximateLiveBytes(); };
    sources.memory = [dir] {
      const StateDirectory::RocksMemory m = dir->Memory();
      return std::vector<std::pair<std::string, uint64_t>>{
          {"rocksdb_memtables", m.memtables},
          {"rocksdb_table_readers", m.table_readers},
          {"rocksdb_block_cache", m.block_cache}};
    };
    metrics->SetSources(std::move(sources));
  }

  // KeyBys across processes: one exchange each, restored to this process's
  // share of the key groups before the run starts.
  std::vector<std::unique_ptr<KafkaExchange>> exchanges;
  if (!exchange_topics.empty()) {
    const std::string sender =
        absl::StrCat(absl::Hex(absl::Uniform<uint64_t>(absl::BitGen())), "-", getpid());
    const std::vector<Node*> key_bys = KeyBys(graph);
    // Watermark entries: every source partition, then each exchange's
    // partitions (for the exchanges after it).
    uint32_t entries = source_entries;
    for (size_t i = 0; i < exchange_topics.size(); ++i) {
      KafkaExchange::Options xo;
      xo.kafka = co.kafka;
      xo.name = exchange_topics[i].key_by;
      xo.repartition_topic = exchange_topics[i].repartition;
      xo.changelog_topic = exchange_topics[i].changelog;
      xo.table_prefixes = TablePrefixes(graph, key_bys[i]);
      xo.sender_id = sender;
      xo.watermark_entries = entries;
      xo.max_records_per_batch = options.batch_size;
      if (options.exactly_once) {
        // Records cross with the interval's outputs, once it counts.
        EDDY_RETURN_IF_ERROR(outputs->AddTopic(xo.repartition_topic));
        KafkaOutputFactory* held = outputs.get();
        xo.hold = [held](const std::string& topic, int32_t partition, absl::string_view value) {
          return held->Hold(topic, partition, value);
        };
      }
      EDDY_ASSIGN_OR_RETURN(auto x, KafkaExchange::Open(std::move(xo), consumer.get()));
      entries += static_cast<uint32_t>(x->partitions());
      exchanges.push_back(std::move(x));
    }
  }
  // Brings each exchange's keyed state to this process's current share.
  const auto restore_exchanges = [&]() -> absl::Status {
    if (metrics != nullptr && !exchanges.empty()) metrics->SetPhase("restoring keyed state");
    for (auto& x : exchanges) {
      (void)x->AssignmentChanged();  // restored for the current assignment now
      const uint64_t adopted = x->adopted();
      const uint64_t applied = x->applied();
      const uint64_t from_snapshot = x->restored_from_snapshot();
      EDDY_RETURN_IF_ERROR(x->Restore(*state));
      if (x->applied() > applied) {
        const uint64_t snapshots = x->restored_from_snapshot() - from_snapshot;
        Log(LogLevel::kInfo, who,
            absl::StrCat("KeyBy '", x->name(), "': restored ", x->applied() - applied,
                         " state writes from ", x->changelog_topic(),
                         snapshots == 0 ? ""
                                        : absl::StrCat(" (", snapshots,
                                                       " partition(s) from a snapshot: the "
                                                       "changelog's start was deleted)")));
      }
      if (x->adopted() > adopted) {
        Log(LogLevel::kInfo, who,
            absl::StrCat("took over ", x->adopted() - adopted,
                         " partition(s) at an interval their owner committed but did not mark "
                         "in the changelog"));
      }
    }
    return absl::OkStatus();
  };
  if (!exchanges.empty()) {
    EDDY_RETURN_IF_ERROR(consumer->WaitForAssignment(absl::Seconds(120)));
    EDDY_RETURN_IF_ERROR(restore_exchanges());
  }
  const auto connect_exchanges = [&](JobGraph& g) -> absl::Status {
    const std::vector<Node*> key_bys = KeyBys(g);
    for (size_t i = 0; i < exchanges.size(); ++i) {
      EDDY_RETURN_IF_ERROR(key_bys[i]->SetRemoteExchange(exchanges[i].get()));
    }
    return absl::OkStatus();
  };
  EDDY_RETURN_IF_ERROR(connect_exchanges(graph));

  RunOptions run;
  run.threads = options.threads;
  run.batch_size = options.batch_size;
  run.clock = RunOptions::Clock::kWall;
  run.stop = options.stop;
  run.state = state.get();
  run.fingerprint = RunFingerprint(options.params, options.max_record_bytes);
  run.checkpoint_every_records = options.checkpoint_every_records;
  run.checkpoint_interval = absl::Milliseconds(options.checkpoint_interval_ms);
  KafkaConsumerGroup* c = consumer.get();
  KafkaOutputFactory* out = outputs.get();
  run.wait_for_input = [c](absl::Duration d) { c->WaitForRecords(d); };
  // Exactly-once: staged intervals known to be fully published (bounded:
  // forgetting one only costs a check that finds it complete).
  std::set<std::string> published;
  const auto remember = [&published](const std::string& pointer) {
    if (published.size() >= 1024) published.clear();
    published.insert(pointer);
  };
  std::vector<std::string> source_topics;
  for (const std::string& source : sources) source_topics.push_back(topics.at(source));
  // Every topic whose committed offsets carry pointers: a member may own
  // only repartition partitions.
  std::vector<std::string> committed_topics = source_topics;
  for (const ExchangeTopics& x : exchange_topics) committed_topics.push_back(x.repartition);
  // Completes the intervals other members (or this one, before a crash)
  // committed but may not have published: each pointer is completed by the
  // owner of the first partition that carries it. A member that owns another
  // partition carrying it waits until that is done (records it sends for
  // those partitions must not overtake the dead member's, or they would make
  // them late in the exchange). Own pointers first, so that no two members
  // wait on each other.
  const auto complete_intervals = [&]() -> absl::Status {
    EDDY_ASSIGN_OR_RETURN(const auto committed, consumer->CommittedMetadata(committed_topics));
    std::set<std::string> seen;
    std::vector<std::string> others;  // carried by a partition here, completed elsewhere
    for (const KafkaConsumerGroup::Committed& p : committed) {
      if (p.metadata.empty() || published.count(p.metadata) > 0) continue;
      const bool first = seen.insert(p.metadata).second;
      if (!p.assigned) continue;
      if (!first) {
        others.push_back(p.metadata);
        continue;
      }
      const uint64_t before = outputs->recovered();
      EDDY_RETURN_IF_ERROR(outputs->Complete(p.metadata));
      remember(p.metadata);
      if (outputs->recovered() > before) {
        Log(LogLevel::kInfo, who,
            absl::StrCat("published ", outputs->recovered() - before, " outputs of an interval ",
                         p.partition, " left unfinished"));
      }
    }
    for (const std::string& pointer : others) {
      if (published.count(pointer) > 0) continue;
      const absl::Time deadline = absl::Now() + absl::Seconds(120);
      for (;;) {
        EDDY_ASSIGN_OR_RETURN(const bool done, outputs->IsComplete(pointer));
        if (done) break;
        if (absl::Now() > deadline) {
          return absl::UnavailableError(absl::StrCat(
              "an interval another member must complete was not completed within 120 s (",
              pointer, ")"));
        }
        absl::SleepFor(absl::Milliseconds(500));
      }
      remember(pointer);
    }
    return absl::OkStatus();
  };
  if (options.exactly_once) {
    // A crash may have interrupted the last checkpoint's publishing. That
    // interval's pointer is in the group's committed offsets (the checkpoint
    // commits only after them), so it is completed like any other: by the
    // owner of the first partition carrying it, this process or another.
    // (Completing it from the local checkpoint as well raced with a member
    // that had taken the partitions over meanwhile: both published it.)
    EDDY_RETURN_IF_ERROR(consumer->WaitForAssignment(absl::Seconds(120)));
    for (const std::string& t : source_topics) (void)consumer->TakeAssignmentChange(t);
    EDDY_RETURN_IF_ERROR(complete_intervals());
    // Each checkpoint: stage the interval's outputs (and the records it
    // sends to other processes) in the checkpoint and in JOB.staging, write
    // its keyed-state changes to the changelogs, commit the group's offsets
    // with a pointer to the staged outputs (the commit is what makes the
    // interval count), mark the changelogs, commit the checkpoint, then
    // publish. Whoever owns the partitions next finds the pointer and
    // completes the publishing if this process died before finishing it,
    // and finds the state changes in the changelog (kafka_exchange.h). A
    // refused commit (partitions moving) or a partition taken from this
    // process mid-interval: nothing of the interval is published, and the
    // run restarts from its last checkpoint (= the committed offsets).
    //
    // Failpoints for tests: EDDY_FAULT_KILL_AFTER_COMMIT=N and
    // EDDY_FAULT_KILL_BEFORE_PUBLISH=N kill this process (SIGKILL) at its
    // N-th interval with sink outputs, right after the offset commit (before the
    // changelog markers and the checkpoint) or after the checkpoint (before
    // publishing anything): the worst moments to die.
    const auto failpoint = [](const char* name) {
      const char* v = std::getenv(name);
      return v != nullptr ? std::atol(v) : 0L;
    };
    const long kill_after_commit = failpoint("EDDY_FAULT_KILL_AFTER_COMMIT");
    const long kill_before_publish = failpoint("EDDY_FAULT_KILL_BEFORE_PUBLISH");
    auto intervals = std::make_shared<long>(0);
    std::set<std::string> sink_topics;
    for (SinkNodeBase* s : graph.sinks()) sink_topics.insert(topics.at(s->name()));
    run.before_commit = [c, out, &remember, &source_topics, &complete_intervals, &exchanges,
                         &state, kill_after_commit, intervals,
                         sink_topics](StateDirectory::Batch& batch) -> absl::Status {
      if (c->TakeRevocation()) return absl::AbortedError(kRebalanced);
      // Repartition partitions gained: their state is restored (and their
      // previous owner's last interval adopted and completed) before this
      // process commits anything over them, by restarting the run.
      for (auto& x : exchanges) {
        if (x->NeedsRestore()) return absl::AbortedError(kRebalanced);
      }
      // Source partitions gained: their previous owner's last interval is
      // completed before this process commits anything over its pointer.
      bool gained = false;
      for (const std::string& t : source_topics) gained = c->TakeAssignmentChange(t) || gained;
      if (gained) EDDY_RETURN_IF_ERROR(complete_intervals());
      EDDY_RETURN_IF_ERROR(out->Stage(batch));
      EDDY_ASSIGN_OR_RETURN(const std::string pointer, out->ShareStaged());
      const std::string metadata = out->IntervalMetadata(pointer);
      const std::string interval = CommittedInterval(metadata);
      for (auto& x : exchanges) EDDY_RETURN_IF_ERROR(x->WriteChanges(*state, batch, interval));
      if (!c->CommitPositionsOrFail(metadata).ok()) return absl::AbortedError(kRebalanced);
      if (out->staged_records(sink_topics) > 0) ++*intervals;
      if (kill_after_commit > 0 && *intervals == kill_after_commit) raise(SIGKILL);
      for (auto& x : exchanges) EDDY_RETURN_IF_ERROR(x->WriteMarkers(batch, interval));
      remember(metadata);
      return absl::OkStatus();
    };
    run.after_checkpoint = [out, kill_before_publish, intervals,
                            sink_topics]() -> absl::Status {
      if (kill_before_publish > 0 && out->staged_records(sink_topics) > 0 &&
          *intervals == kill_before_publish) {
        raise(SIGKILL);
      }
      return out->Publish();
    };
    run.wants_checkpoint = [out] { return out->held_bytes() > (size_t{64} << 20); };
  } else {
    run.after_checkpoint = [c] { return c->CommitPositions(); };
  }
  if (!exchanges.empty()) {
    // Each exchange's markers carry the watermarks of what feeds it: the
    // input partitions this process reads, and its partitions of the
    // exchanges before it (never its own: that would wait on itself).
    // Sent one batch late: the records of this batch, sent after the
    // markers, may lie below this batch's watermark.
    using Watermarks = std::vector<std::pair<uint32_t, EventTime>>;
    auto previous = std::make_shared<Watermarks>();
    auto promised = std::make_shared<Watermarks>();
    // So are the exchanges' own: records read before a marker in this
    // batch are sent on by the next exchange only after it.
    run.bound_watermark = [&exchanges, previous, promised, source_entries](
                              const Watermarks& sources) -> absl::StatusOr<EventTime> {
      *promised = *previous;
      *previous = sources;
      EventTime bound = kMaxEventTime;
      uint32_t base = source_entries;
      for (auto& x : exchanges) {
        EDDY_ASSIGN_OR_RETURN(const EventTime w, x->Poll(*promised));
        x->OwnedWatermarks(base, *previous);
        base += static_cast<uint32_t>(x->partitions());
        bound = std::min(bound, w);
      }
      return bound;
    };
    if (!options.exactly_once) {
      run.before_commit = [&exchanges, &state](StateDirectory::Batch& batch) -> absl::Status {
        for (auto& x : exchanges) EDDY_RETURN_IF_ERROR(x->WriteChangelog(*state, batch));
        return absl::OkStatus();
      };
    }
    run.wants_restart = [&exchanges] {
      bool moved = false;
      for (auto& x : exchanges) moved = x->AssignmentChanged() || moved;
      return moved;
    };
  }
  auto last_status = std::chrono::steady_clock::now();
  uint64_t last_events = 0;
  if (options.status_interval_ms > 0 || options.progress || metrics != nullptr) {
    run.progress = [&](const RunStats& stats) {
      if (options.progress) options.progress(stats);
      if (metrics != nullptr) {
        if (options.stop != nullptr && options.stop->load()) metrics->SetPhase("stopping");
        metrics->BatchDone(stats);
      }
      if (options.status_interval_ms <= 0) return;
      const auto now = std::chrono::steady_clock::now();
      const double secs = std::chrono::duration<double>(now - last_status).count();
      if (secs * 1000 < static_cast<double>(options.status_interval_ms)) return;
      Log(LogLevel::kInfo, who,
          absl::StrFormat("%d events (%.0f/s), lag %d, %d partitions, %d dead letters, %d late, "
                          "%d checkpoints",
                          stats.events, (stats.events - last_events) / secs, c->Lag(),
                          c->assigned_partitions(), stats.dead_letters, stats.late_events,
                          stats.checkpoints));
      last_status = now;
      last_events = stats.events;
    };
  }
  RunStats stats;
  std::vector<JobGraph::FinishHook> hooks;
  for (;;) {
    hooks = graph.finish_hooks();
    if (metrics != nullptr) metrics->SetGraph(graph);
    absl::StatusOr<RunStats> result =
        Executor::Run(std::move(graph), std::move(inputs), sink_outputs, run);
    if (result.ok() && result->restart_requested &&
        !(options.stop != nullptr && options.stop->load())) {
      // Key groups moved between processes: the checkpoint is taken; take
      // the new share's state and continue.
      Log(LogLevel::kInfo, who, "partitions moved; restoring keyed state and continuing");
      EDDY_RETURN_IF_ERROR(restore_exchanges());
      // Exactly-once: the last intervals of the repartition partitions
      // gained are completed before anything is committed over them.
      if (options.exactly_once) EDDY_RETURN_IF_ERROR(complete_intervals());
      EDDY_ASSIGN_OR_RETURN(graph, info->factory(JobConfig(options.params)));
      EDDY_RETURN_IF_ERROR(connect_exchanges(graph));
      inputs = bind_inputs();
      continue;
    }
    if (result.ok()) {
      stats = *std::move(result);
      break;
    }
    if (!options.exactly_once || result.status().code() != absl::StatusCode::kAborted ||
        result.status().message() != kRebalanced) {
      return result.status();
    }
    Log(LogLevel::kInfo, who,
        "partitions moved to another member; restarting from the last checkpoint");
    out->DiscardHeld();
    EDDY_RETURN_IF_ERROR(restore_exchanges());
    EDDY_RETURN_IF_ERROR(complete_intervals());
    EDDY_ASSIGN_OR_RETURN(graph, info->factory(JobConfig(options.params)));
    EDDY_RETURN_IF_ERROR(connect_exchanges(graph));
    inputs = bind_inputs();
    // Back to where each partition began since its assignment; a
    // checkpoint, if there is one, then seeks them to its positions.
    for (auto& [source, parts] : inputs) {
      for (auto& part : parts) EDDY_RETURN_IF_ERROR(part->SeekTo(""));
    }
  }
  // The final checkpoint covers everything read: make the group's offsets
  // say so before leaving (exactly-once committed them synchronously already).
  if (options.exactly_once) {
    EDDY_RETURN_IF_ERROR(out->MarkPublished(*state));
  } else {
    EDDY_RETURN_IF_ERROR(consumer->CommitPositions(/*wait=*/true));
  }
  EDDY_RETURN_IF_ERROR(consumer->Close());
  // The job's own end (a model file); its summary figures go to stderr.
  std::vector<std::pair<std::string, std::string>> job_fields;
  for (const JobGraph::FinishHook& hook : hooks) EDDY_RETURN_IF_ERROR(hook(stats, &job_fields));
  if (options.job_fields != nullptr) {
    *options.job_fields = job_fields;
  } else {
    for (const auto& [name, json] : job_fields) {
      Log(LogLevel::kInfo, who, absl::StrCat(name, " ", json));
    }
  }
  return stats;
}

}  // namespace eddy
