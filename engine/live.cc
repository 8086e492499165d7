#include "engine/live.h"

#include <chrono>
#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/kafka_sink.h"
#include "connectors/kafka_source.h"
#include "engine/job_registry.h"
#include "engine/status_macros.h"
#include "state/state_directory.h"

namespace eddy {

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
constexpr char kRebalanced[] = "partitions were revoked since the last checkpoint";
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
  const std::string group = options.group.empty() ? "eddy." + options.job : options.group;

  std::set<std::string> sources;
  KafkaConsumerGroup::Options co;
  co.kafka = options.kafka;
  if (co.kafka.client_id == "eddy") co.kafka.client_id = "eddy-" + options.job;
  co.group = group;
  co.max_record_bytes = options.max_record_bytes;
  std::map<std::string, std::string> output_topics = topics;
  for (SourceOperator* s : graph.sources()) {
    sources.insert(s->node()->name());
    co.topics.push_back(topics.at(s->node()->name()));
    output_topics.erase(s->node()->name());
  }
  // Outputs first: a run that cannot write should not join the group.
  EDDY_ASSIGN_OR_RETURN(auto outputs,
                        KafkaOutputFactory::Open(co.kafka, output_topics, options.exactly_once));
  EDDY_ASSIGN_OR_RETURN(auto consumer, KafkaConsumerGroup::Open(co));
  const auto bind_inputs = [&] {
    Executor::Inputs inputs;
    for (const std::string& source : sources) {
      inputs[source] = consumer->TakePartitions(topics.at(source));
    }
    return inputs;
  };
  Executor::Inputs inputs = bind_inputs();

  StateDirectory::Options so;
  so.path = options.state_dir.empty() ? "eddy-state/" + group : options.state_dir;
  so.job = options.job;
  so.memory_budget_bytes = options.state_memory_bytes;
  EDDY_ASSIGN_OR_RETURN(std::unique_ptr<StateDirectory> state, StateDirectory::Open(so));

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
  if (options.exactly_once) {
    // A crash may have interrupted the last checkpoint's publishing.
    EDDY_RETURN_IF_ERROR(out->Recover(*state));
    if (out->recovered() > 0) {
      std::fprintf(stderr, "eddy run %s: republished %llu outputs the last run staged but did not deliver\n",
                   options.job.c_str(), static_cast<unsigned long long>(out->recovered()));
    }
    // A partition taken from this process mid-interval: its new owner
    // starts at the last committed checkpoint, so what this process holds
    // must never be published. The run restarts from that checkpoint.
    run.before_commit = [c, out](StateDirectory::Batch& batch) -> absl::Status {
      if (c->TakeRevocation()) return absl::AbortedError(kRebalanced);
      return out->Stage(batch);
    };
    // Offsets are committed only once the outputs they cover are delivered,
    // and synchronously: the next owner of a partition must see them.
    run.after_checkpoint = [c, out]() -> absl::Status {
      EDDY_RETURN_IF_ERROR(out->Publish());
      return c->CommitPositions(/*wait=*/true);
    };
    run.wants_checkpoint = [out] { return out->held_bytes() > (size_t{64} << 20); };
  } else {
    run.after_checkpoint = [c] { return c->CommitPositions(); };
  }
  auto last_status = std::chrono::steady_clock::now();
  uint64_t last_events = 0;
  if (options.status_interval_ms > 0 || options.progress) {
    run.progress = [&](const RunStats& stats) {
      if (options.progress) options.progress(stats);
      if (options.status_interval_ms <= 0) return;
      const auto now = std::chrono::steady_clock::now();
      const double secs = std::chrono::duration<double>(now - last_status).count();
      if (secs * 1000 < static_cast<double>(options.status_interval_ms)) return;
      std::fprintf(stderr,
                   "eddy run %s: %llu events (%.0f/s), lag %lld, %zu partitions, %llu dead "
                   "letters, %llu late, %llu checkpoints\n",
                   options.job.c_str(), static_cast<unsigned long long>(stats.events),
                   (stats.events - last_events) / secs, static_cast<long long>(c->Lag()),
                   c->assigned_partitions(), static_cast<unsigned long long>(stats.dead_letters),
                   static_cast<unsigned long long>(stats.late_events),
                   static_cast<unsigned long long>(stats.checkpoints));
      last_status = now;
      last_events = stats.events;
    };
  }
  RunStats stats;
  for (;;) {
    absl::StatusOr<RunStats> result =
        Executor::Run(std::move(graph), std::move(inputs), *outputs, run);
    if (result.ok()) {
      stats = *std::move(result);
      break;
    }
    if (!options.exactly_once || result.status().code() != absl::StatusCode::kAborted ||
        result.status().message() != kRebalanced) {
      return result.status();
    }
    std::fprintf(stderr,
                 "eddy run %s: partitions moved to another member; restarting from the last "
                 "checkpoint\n",
                 options.job.c_str());
    out->DiscardHeld();
    EDDY_ASSIGN_OR_RETURN(graph, info->factory(JobConfig(options.params)));
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
  return stats;
}

}  // namespace eddy
