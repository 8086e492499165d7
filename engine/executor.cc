#include "engine/executor.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "engine/json_writer.h"
#include "engine/status_macros.h"
#include "engine/thread_pool.h"
#include "engine/watermark_tracker.h"

namespace eddy {
namespace {

// Records read from one partition before moving to the next in a round.
constexpr size_t kRoundRobinChunk = 256;
// Distinct dead-letter reasons counted separately; the rest count as "other".
constexpr size_t kMaxReasons = 100;

struct SourceRuntime {
  SourceOperator* op = nullptr;
  std::vector<std::unique_ptr<InputPartition>> partitions;
  std::vector<int> tracker_index;  // partition -> WatermarkTracker index
  RawRecordBatch batch;
  SourceDecodeReport report;
  size_t cursor = 0;                // partition read first in the next batch
  std::vector<bool> polled_empty;  // per partition, this batch
};

// One step of a batch: a fused chain of partition-local nodes, or a barrier.
struct Step {
  std::vector<Node*> chain;
  std::vector<size_t> chain_index;  // positions in graph.nodes()
  Node* barrier = nullptr;
  size_t barrier_index = 0;
};

std::vector<Step> PlanSteps(const JobGraph& graph) {
  std::vector<Step> steps;
  for (size_t i = 0; i < graph.nodes().size(); ++i) {
    Node* node = graph.nodes()[i].get();
    if (node->kind() == NodeKind::kSource) continue;  // decoded before the steps
    if (node->partition_local()) {
      if (steps.empty() || steps.back().barrier != nullptr) steps.emplace_back();
      steps.back().chain.push_back(node);
      steps.back().chain_index.push_back(i);
    } else {
      Step step;
      step.barrier = node;
      step.barrier_index = i;
      steps.push_back(step);
    }
  }
  return steps;
}

// Reads up to `limit` records from the source's partitions. Each unfinished
// partition gets a fair share per round, and the starting partition rotates
// between batches, so no file waits for another to finish. A partition that
// returns nothing when polled is marked in `polled_empty` (its silence counts
// towards idleness; not being polled does not).
absl::Status ReadBatch(SourceRuntime& src, size_t limit) {
  src.batch.Clear();
  const size_t n = src.partitions.size();
  src.polled_empty.assign(n, false);
  size_t total = 0;
  bool progress = true;
  while (total < limit && progress) {
    progress = false;
    size_t open = 0;
    for (size_t p = 0; p < n; ++p) {
      if (!src.partitions[p]->finished() && !src.polled_empty[p]) ++open;
    }
    if (open == 0) break;
    const size_t share = std::max<size_t>(1, std::min(kRoundRobinChunk, (limit - total) / open));
    for (size_t k = 0; k < n && total < limit; ++k) {
      const size_t p = (src.cursor + k) % n;
      InputPartition& part = *src.partitions[p];
      if (part.finished() || src.polled_empty[p]) continue;
      absl::StatusOr<size_t> got =
          part.Read(std::min(share, limit - total), static_cast<uint32_t>(p), src.batch);
      if (!got.ok()) {
        return absl::Status(got.status().code(),
                            absl::StrCat("input ", part.name(), ": ", got.status().message()));
      }
      total += *got;
      if (*got > 0) {
        progress = true;
      } else if (!part.finished()) {
        src.polled_empty[p] = true;
      }
    }
  }
  src.cursor = n == 0 ? 0 : (src.cursor + 1) % n;
  src.batch.Pad();
  return absl::OkStatus();
}

std::string Origin(const SourceRuntime& src, const RawRecordBatch::Entry& e) {
  return absl::StrCat(src.partitions[e.partition]->name(), ":", e.position);
}

int64_t WallMillis() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

absl::StatusOr<RunStats> Executor::Run(JobGraph graph, Inputs inputs, OutputFactory& outputs,
                                       const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.threads < 1) return absl::InvalidArgumentError("threads must be at least 1");
  if (options.batch_size < 1 || options.batch_size > (size_t{1} << 24)) {
    return absl::InvalidArgumentError("batch size must be between 1 and 16777216");
  }
  const int parts = options.threads;

  // Bind inputs to sources.
  WatermarkTracker tracker;
  std::vector<SourceRuntime> sources;
  for (SourceOperator* op : graph.sources()) {
    SourceRuntime src;
    src.op = op;
    auto it = inputs.find(op->node()->name());
    if (it == inputs.end() || it->second.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("job '", graph.name(), "': no input given for source '",
                       op->node()->name(), "'"));
    }
    src.partitions = std::move(it->second);
    inputs.erase(it);
    const EventTimeOptions& et = op->event_time();
    for (size_t p = 0; p < src.partitions.size(); ++p) {
      src.tracker_index.push_back(
          tracker.AddPartition(absl::ToInt64Milliseconds(et.max_out_of_orderness),
                               absl::ToInt64Milliseconds(et.idle_timeout)));
    }
    sources.push_back(std::move(src));
  }
  if (!inputs.empty()) {
    std::vector<std::string> names;
    for (const auto& [name, unused] : inputs) names.push_back(name);
    return absl::InvalidArgumentError(absl::StrCat("job '", graph.name(), "' has no source named ",
                                                   absl::StrJoin(names, ", ")));
  }

  // Outputs.
  std::vector<std::unique_ptr<OutputWriter>> writers;
  for (SinkNodeBase* sink : graph.sinks()) {
    EDDY_ASSIGN_OR_RETURN(std::unique_ptr<OutputWriter> w, outputs.Open(sink->name()));
    sink->set_writer(w.get());
    writers.push_back(std::move(w));
  }
  EDDY_ASSIGN_OR_RETURN(std::unique_ptr<OutputWriter> dead_writer, outputs.Open("dead_letters"));
  EDDY_ASSIGN_OR_RETURN(std::unique_ptr<OutputWriter> late_writer, outputs.Open("late_events"));

  for (const auto& node : graph.nodes()) EDDY_RETURN_IF_ERROR(node->Open(parts));
  const std::vector<Step> steps = PlanSteps(graph);

  ThreadPool pool(options.threads);
  RunStats stats;
  // Records produced per operator, per partition (summed at the end).
  std::vector<std::vector<uint64_t>> node_records(graph.nodes().size(),
                                                  std::vector<uint64_t>(parts, 0));
  const auto count_output = [&](Node* node, size_t index) {
    for (int p = 0; p < parts; ++p) node_records[index][p] += node->PartitionOutputSize(p);
  };
  std::vector<size_t> index_of_source;
  for (SourceOperator* op : graph.sources()) {
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
      if (graph.nodes()[i].get() == op->node()) index_of_source.push_back(i);
    }
  }
  EventTime watermark = kMinEventTime;
  int64_t replay_clock = kMinEventTime;
  std::string line;

  for (;;) {
    for (const auto& node : graph.nodes()) node->ClearOutput();
    BatchContext ctx;
    ctx.partitions = parts;
    ctx.pool = &pool;
    ctx.previous_watermark = watermark;

    // Read and decode.
    bool all_finished = true;
    size_t batch_records = 0;
    for (SourceRuntime& src : sources) {
      EDDY_RETURN_IF_ERROR(ReadBatch(src, options.batch_size));
      batch_records += src.batch.entries.size();
      src.op->Decode(src.batch, src.partitions.size(), ctx, src.report);
      count_output(src.op->node(), index_of_source[&src - sources.data()]);
      for (const auto& f : src.report.failures) {
        const RawRecordBatch::Entry& e = src.batch.entries[f.entry];
        line.clear();
        JsonObjectWriter w(line);
        w.Field("origin", Origin(src, e))
            .Field("source", src.op->node()->name())
            .Field("reason", f.reason)
            .Field("record", src.batch.View(e));
        w.Close();
        EDDY_RETURN_IF_ERROR(dead_writer->Write(line));
        ++stats.dead_letters;
        auto rit = stats.dead_letter_reasons.find(f.reason);
        if (rit != stats.dead_letter_reasons.end()) {
          ++rit->second;
        } else if (stats.dead_letter_reasons.size() < kMaxReasons) {
          stats.dead_letter_reasons[f.reason] = 1;
        } else {
          ++stats.dead_letter_reasons["other"];
        }
      }
      for (const auto& l : src.report.late) {
        const RawRecordBatch::Entry& e = src.batch.entries[l.entry];
        line.clear();
        JsonObjectWriter w(line);
        w.Field("origin", Origin(src, e))
            .Field("source", src.op->node()->name())
            .Field("ts", l.ts)
            .Field("watermark", watermark)
            .Field("record", src.batch.View(e));
        w.Close();
        EDDY_RETURN_IF_ERROR(late_writer->Write(line));
        ++stats.late_events;
      }
      for (EventTime t : src.report.max_ts) replay_clock = std::max(replay_clock, t);
    }
    stats.events += batch_records;

    // Advance event time.
    const int64_t now = options.clock == RunOptions::Clock::kReplay ? replay_clock : WallMillis();
    for (SourceRuntime& src : sources) {
      for (size_t p = 0; p < src.partitions.size(); ++p) {
        // Records (even bad or late ones) and not being polled both count as
        // activity; only an empty poll is silence.
        if (!src.polled_empty[p]) tracker.Observe(src.tracker_index[p], src.report.max_ts[p], now);
        if (src.partitions[p]->finished()) {
          tracker.MarkFinished(src.tracker_index[p]);
        } else {
          all_finished = false;
        }
      }
    }
    watermark = tracker.Advance(now);
    ctx.watermark = watermark;

    // Run the operators.
    for (const Step& step : steps) {
      if (step.barrier != nullptr) {
        EDDY_RETURN_IF_ERROR(step.barrier->RunBarrier(ctx));
        count_output(step.barrier, step.barrier_index);
      } else {
        pool.ParallelFor(parts, [&](int p) {
          for (size_t k = 0; k < step.chain.size(); ++k) {
            step.chain[k]->RunPartition(p, ctx);
            node_records[step.chain_index[k]][p] += step.chain[k]->PartitionOutputSize(p);
          }
        });
      }
    }
    ++stats.batches;

    if (all_finished && watermark == kMaxEventTime) break;
    if (options.stop != nullptr && options.stop->load()) break;
  }

  for (auto& w : writers) EDDY_RETURN_IF_ERROR(w->Close());
  EDDY_RETURN_IF_ERROR(dead_writer->Close());
  EDDY_RETURN_IF_ERROR(late_writer->Close());

  stats.final_watermark = watermark;
  for (SinkNodeBase* sink : graph.sinks()) stats.sink_records.emplace_back(sink->name(), sink->written());
  for (size_t i = 0; i < graph.nodes().size(); ++i) {
    const Node& node = *graph.nodes()[i];
    if (node.kind() == NodeKind::kSink) continue;
    uint64_t total = 0;
    for (uint64_t n : node_records[i]) total += n;
    stats.operator_records.emplace_back(node.name(), total);
  }
  stats.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace eddy
