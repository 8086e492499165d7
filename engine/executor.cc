#include "engine/executor.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "engine/json_writer.h"
#include "engine/memory.h"
#include "engine/status_macros.h"
#include "engine/thread_pool.h"
#include "engine/watermark_tracker.h"
#include "state/codec.h"

namespace eddy {
namespace {

// Records read from one partition before moving to the next in a round.
constexpr size_t kRoundRobinChunk = 256;
// Bytes of a bad or late record kept in its dead letter (escaped, at most 6x
// this, well under Kafka's default 1,000,000-byte message limit).
constexpr size_t kMaxDeadLetterRecordBytes = 64 << 10;
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
  std::vector<bool> held;          // per partition: not read this batch (alignment)
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
  src.held.resize(n, false);
  std::vector<bool> delivered(n, false);
  size_t total = 0;
  bool progress = true;
  while (total < limit && progress) {
    progress = false;
    size_t open = 0;
    for (size_t p = 0; p < n; ++p) {
      if (!src.partitions[p]->finished() && !src.polled_empty[p] && !src.held[p]) ++open;
    }
    if (open == 0) break;
    const size_t share = std::max<size_t>(1, std::min(kRoundRobinChunk, (limit - total) / open));
    for (size_t k = 0; k < n && total < limit; ++k) {
      const size_t p = (src.cursor + k) % n;
      InputPartition& part = *src.partitions[p];
      if (part.finished() || src.polled_empty[p] || src.held[p]) continue;
      absl::StatusOr<size_t> got =
          part.Read(std::min(share, limit - total), static_cast<uint32_t>(p), src.batch);
      if (!got.ok()) {
        return absl::Status(got.status().code(),
                            absl::StrCat("input ", part.name(), ": ", got.status().message()));
      }
      total += *got;
      if (*got > 0) {
        progress = true;
        delivered[p] = true;
      } else if (!part.finished()) {
        src.polled_empty[p] = true;
      }
    }
  }
  // A partition that delivered records and then ran dry was active in this
  // batch: only a partition that gave nothing at all was silent.
  for (size_t p = 0; p < n; ++p) {
    if (delivered[p]) src.polled_empty[p] = false;
  }
  src.cursor = n == 0 ? 0 : (src.cursor + 1) % n;
  src.batch.Pad();
  return absl::OkStatus();
}

std::string Origin(const SourceRuntime& src, const RawRecordBatch::Entry& e) {
  return absl::StrCat(src.partitions[e.partition]->name(), ":", e.position);
}

int64_t WallMillis() { return absl::ToUnixMillis(absl::Now()); }

// The raw record in a dead letter or late record. It must fit any output
// (Kafka refuses messages over ~1 MB): a longer record is kept as its first
// kMaxDeadLetterRecordBytes, with its size.
void AddRecordField(JsonObjectWriter& w, absl::string_view record) {
  w.Field("record", record.substr(0, kMaxDeadLetterRecordBytes));
  if (record.size() > kMaxDeadLetterRecordBytes) {
    w.Field("record_bytes", static_cast<int64_t>(record.size()));
  }
}

// One run of a job graph: the state that lives for the whole run.
class JobRun {
 public:
  JobRun(JobGraph& graph, const RunOptions& options)
      : graph_(graph), options_(options), parts_(options.threads), pool_(options.threads) {}

  absl::Status Bind(Executor::Inputs inputs);
  absl::Status Open(OutputFactory& outputs);
  absl::StatusOr<RunStats> Loop();

 private:
  // Fills stats_'s records per sink and per operator.
  void CountRecords();
  // Marks the partitions of `src` to leave unread this batch
  // (EventTimeOptions::max_drift).
  void Align(SourceRuntime& src);
  bool counts_sized_ = false;

  absl::Status ReadAndDecode(BatchContext& ctx, bool& all_finished);
  absl::Status WriteDeadLetter(const SourceRuntime& src, const SourceDecodeReport::Failure& f);
  void CountDeadLetter(const std::string& reason);
  absl::Status WriteLate(const SourceRuntime& src, const SourceDecodeReport::Late& l);
  absl::Status RunSteps(const BatchContext& ctx);
  // `input_ended`: the last one (RunOptions::at_input_end).
  absl::Status Checkpoint(bool input_ended = false);
  // stats_ as the run ends (or as its last checkpoint is taken).
  void FinalStats();
  // The run's keyed-state caches share one budget
  // (StateDirectory::cache_budget), wherever their keys are: a job whose
  // per-user state is large and whose model is small gives the memory to
  // the users. Over the budget, every task's cache gives back the same
  // fraction (evicting clean entries).
  void TrimCaches();
  // True when dirty entries stand in the way of the budget: the caches and
  // the next checkpoint's batch (about the dirty bytes) pass it, and the
  // dirty entries are over a quarter of it (a checkpoint then frees
  // something worth its cost; KeyedStateStore::WantsCheckpoint, over all
  // caches).
  bool CachesWantCheckpoint() const;
  absl::Status Restore(const std::string& saved, OutputFactory& outputs);
  std::string Fingerprint() const { return graph_.Describe() + "\n" + options_.fingerprint; }
  void CountOutput(size_t index) {
    Node* node = graph_.nodes()[index].get();
    for (int p = 0; p < parts_; ++p) node_records_[index][p] += node->PartitionOutputSize(p);
  }

  JobGraph& graph_;
  const RunOptions& options_;
  const int parts_;
  ThreadPool pool_;
  WatermarkTracker tracker_;
  std::vector<SourceRuntime> sources_;
  std::vector<size_t> source_index_;  // node index of each source
  std::vector<Step> steps_;
  // Outputs: the sinks', then dead letters and late records.
  std::vector<std::string> output_names_;
  std::vector<std::unique_ptr<OutputWriter>> writers_;
  OutputWriter* dead_writer_ = nullptr;
  OutputWriter* late_writer_ = nullptr;
  RunStats stats_;
  // Records produced per operator, per partition (summed at the end).
  std::vector<std::vector<uint64_t>> node_records_;
  EventTime watermark_ = kMinEventTime;
  std::vector<EventTime> partition_watermarks_;  // see ReadAndDecode
  std::vector<std::pair<uint32_t, EventTime>> promises_;
  int64_t replay_clock_ = kMinEventTime;
  uint64_t records_since_checkpoint_ = 0;
  // The last checkpoint's batch size: the next reserves about as much.
  size_t last_checkpoint_bytes_ = 0;
  std::chrono::steady_clock::time_point last_checkpoint_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::string line_;
  std::vector<OperatorDeadLetter> operator_dead_;  // scratch
};

// What a checkpoint records besides the operators' state.
struct CheckpointRecord {
  std::string fingerprint;  // the graph and the run's parameters
  uint64_t batch_size = 0;
  uint64_t batches = 0;
  int64_t watermark = 0;
  int64_t replay_clock = 0;
  std::vector<std::string> partition_names;  // every source's partitions, in order
  std::vector<std::string> positions;        // same order
  std::vector<uint64_t> cursors;             // per source
  std::string tracker;
  std::vector<std::pair<std::string, uint64_t>> output_sizes;
  uint64_t events = 0;
  uint64_t dead_letters = 0;
  uint64_t late_events = 0;
  std::map<std::string, uint64_t> dead_letter_reasons;
  std::vector<uint64_t> node_records;  // per node, summed over partitions
  std::vector<uint64_t> sink_written;  // per sink
};

}  // namespace
}  // namespace eddy

EDDY_CODEC(eddy::CheckpointRecord, fingerprint, batch_size, batches, watermark, replay_clock, partition_names, positions,
           cursors, tracker, output_sizes, events, dead_letters, late_events, dead_letter_reasons,
           node_records, sink_written);

namespace eddy {
namespace {

constexpr char kCheckpointKey[] = "eddy.checkpoint";

absl::Status JobRun::Bind(Executor::Inputs inputs) {
  for (SourceOperator* op : graph_.sources()) {
    SourceRuntime src;
    src.op = op;
    auto it = inputs.find(op->node()->name());
    if (it == inputs.end() || it->second.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("job '", graph_.name(), "': no input given for source '",
                       op->node()->name(), "'"));
    }
    src.partitions = std::move(it->second);
    inputs.erase(it);
    const EventTimeOptions& et = op->event_time();
    for (size_t p = 0; p < src.partitions.size(); ++p) {
      src.tracker_index.push_back(
          tracker_.AddPartition(absl::ToInt64Milliseconds(et.max_out_of_orderness),
                                absl::ToInt64Milliseconds(et.idle_timeout)));
    }
    sources_.push_back(std::move(src));
    for (size_t i = 0; i < graph_.nodes().size(); ++i) {
      if (graph_.nodes()[i].get() == op->node()) source_index_.push_back(i);
    }
  }
  if (!inputs.empty()) {
    std::vector<std::string> names;
    for (const auto& [name, unused] : inputs) names.push_back(name);
    return absl::InvalidArgumentError(absl::StrCat("job '", graph_.name(), "' has no source named ",
                                                   absl::StrJoin(names, ", ")));
  }
  return absl::OkStatus();
}

absl::Status JobRun::Open(OutputFactory& outputs) {
  node_records_.assign(graph_.nodes().size(), std::vector<uint64_t>(parts_, 0));
  for (SinkNodeBase* sink : graph_.sinks()) output_names_.push_back(sink->name());
  output_names_.push_back("dead_letters");
  output_names_.push_back("late_events");

  std::optional<std::string> saved;
  if (options_.state != nullptr) {
    EDDY_ASSIGN_OR_RETURN(saved, options_.state->GetMeta(kCheckpointKey));
    for (const auto& node : graph_.nodes()) {
      node->AttachState(options_.state, options_.state->cache_budget());
    }
  }
  if (saved.has_value()) {
    EDDY_RETURN_IF_ERROR(Restore(*saved, outputs));
  } else {
    for (const std::string& name : output_names_) {
      EDDY_ASSIGN_OR_RETURN(std::unique_ptr<OutputWriter> w, outputs.Open(name));
      writers_.push_back(std::move(w));
    }
  }
  for (size_t i = 0; i < graph_.sinks().size(); ++i) graph_.sinks()[i]->set_writer(writers_[i].get());
  dead_writer_ = writers_[graph_.sinks().size()].get();
  late_writer_ = writers_[graph_.sinks().size() + 1].get();

  for (const auto& node : graph_.nodes()) EDDY_RETURN_IF_ERROR(node->Open(parts_));
  steps_ = PlanSteps(graph_);
  return absl::OkStatus();
}

absl::Status JobRun::Restore(const std::string& saved, OutputFactory& outputs) {
  const std::string where = absl::StrCat("state directory ", options_.state->path());
  CheckpointRecord cp;
  if (!DecodeAll(saved, cp)) return absl::DataLossError(where + ": undecodable checkpoint");
  std::vector<std::string> names;
  for (const SourceRuntime& src : sources_) {
    for (const auto& part : src.partitions) names.push_back(part->name());
  }
  if (names != cp.partition_names) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, " was checkpointed reading ", absl::StrJoin(cp.partition_names, ", "),
        "; this run reads ", absl::StrJoin(names, ", "), " (resume with the same inputs)"));
  }
  if (cp.fingerprint != Fingerprint()) {
    // A renamed operator would start from empty state, other parameters
    // would give other results: refuse rather than silently mix.
    return absl::InvalidArgumentError(absl::StrCat(
        where, " was checkpointed by a different job graph or parameters; resume with the same "
               "job, --param and record limits (or use a new state directory)"));
  }
  if (cp.batch_size != options_.batch_size) {
    // Watermarks advance between batches: another batch size would give
    // other results than the run being resumed.
    return absl::InvalidArgumentError(absl::StrCat(where, " was checkpointed with batch size ",
                                                   cp.batch_size, "; resume with the same"));
  }
  if (cp.cursors.size() != sources_.size() || cp.positions.size() != cp.partition_names.size() ||
      cp.node_records.size() != graph_.nodes().size() ||
      cp.sink_written.size() != graph_.sinks().size() ||
      cp.output_sizes.size() != output_names_.size()) {
    return absl::InvalidArgumentError(where + " was written by a different version of this job");
  }
  size_t k = 0;
  for (size_t s = 0; s < sources_.size(); ++s) {
    sources_[s].cursor = cp.cursors[s];
    for (auto& part : sources_[s].partitions) {
      absl::Status st = part->SeekTo(cp.positions[k++]);
      if (!st.ok()) return absl::Status(st.code(), absl::StrCat("resuming: ", st.message()));
    }
  }
  if (!tracker_.Restore(cp.tracker)) return absl::DataLossError(where + ": bad watermark state");
  for (size_t i = 0; i < output_names_.size(); ++i) {
    if (cp.output_sizes[i].first != output_names_[i]) {
      return absl::InvalidArgumentError(where + " was written by a different version of this job");
    }
    EDDY_ASSIGN_OR_RETURN(std::unique_ptr<OutputWriter> w,
                          outputs.Resume(output_names_[i], cp.output_sizes[i].second));
    writers_.push_back(std::move(w));
  }
  watermark_ = cp.watermark;
  replay_clock_ = cp.replay_clock;
  stats_.batches = cp.batches;
  stats_.events = cp.events;
  stats_.dead_letters = cp.dead_letters;
  stats_.late_events = cp.late_events;
  stats_.dead_letter_reasons = cp.dead_letter_reasons;
  for (size_t i = 0; i < cp.node_records.size(); ++i) node_records_[i][0] = cp.node_records[i];
  for (size_t i = 0; i < cp.sink_written.size(); ++i) graph_.sinks()[i]->set_written(cp.sink_written[i]);
  stats_.resumed = true;
  stats_.ended_before = cp.watermark == kMaxEventTime;
  return absl::OkStatus();
}

absl::Status JobRun::Checkpoint(bool input_ended) {
  const auto begin = std::chrono::steady_clock::now();
  CheckpointRecord cp;
  // Outputs first: what the checkpoint says was written must be on disk.
  for (size_t i = 0; i < writers_.size(); ++i) {
    EDDY_ASSIGN_OR_RETURN(uint64_t size, writers_[i]->Sync());
    cp.output_sizes.emplace_back(output_names_[i], size);
  }
  std::unique_ptr<StateDirectory::Batch> batch =
      options_.state->NewBatch(last_checkpoint_bytes_ + last_checkpoint_bytes_ / 8);
  for (const auto& node : graph_.nodes()) EDDY_RETURN_IF_ERROR(node->Snapshot(*batch));
  cp.fingerprint = Fingerprint();
  cp.batch_size = options_.batch_size;
  cp.batches = stats_.batches;
  cp.watermark = watermark_;
  cp.replay_clock = replay_clock_;
  for (const SourceRuntime& src : sources_) {
    cp.cursors.push_back(src.cursor);
    for (const auto& part : src.partitions) {
      cp.partition_names.push_back(part->name());
      cp.positions.push_back(part->Position());
    }
  }
  cp.tracker = tracker_.Save();
  cp.events = stats_.events;
  cp.dead_letters = stats_.dead_letters;
  cp.late_events = stats_.late_events;
  cp.dead_letter_reasons = stats_.dead_letter_reasons;
  for (const auto& per_part : node_records_) {
    uint64_t total = 0;
    for (uint64_t n : per_part) total += n;
    cp.node_records.push_back(total);
  }
  for (SinkNodeBase* sink : graph_.sinks()) cp.sink_written.push_back(sink->written());
  batch->PutMeta(kCheckpointKey, Encode(cp));
  if (input_ended && options_.at_input_end) {
    FinalStats();
    RunStats at_end = stats_;
    ++at_end.checkpoints;  // this one
    EDDY_RETURN_IF_ERROR(options_.at_input_end(at_end, batch.get()));
  }
  if (options_.before_commit) EDDY_RETURN_IF_ERROR(options_.before_commit(*batch));
  EDDY_RETURN_IF_ERROR(options_.state->Commit(*batch));
  last_checkpoint_bytes_ = batch->bytes();
  stats_.last_checkpoint_bytes = last_checkpoint_bytes_;
  TrimCaches();
  if (options_.after_checkpoint) EDDY_RETURN_IF_ERROR(options_.after_checkpoint());
  ++stats_.checkpoints;
  stats_.last_checkpoint_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  records_since_checkpoint_ = 0;
  last_checkpoint_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

absl::Status JobRun::WriteDeadLetter(const SourceRuntime& src,
                                     const SourceDecodeReport::Failure& f) {
  const RawRecordBatch::Entry& e = src.batch.entries[f.entry];
  line_.clear();
  JsonObjectWriter w(line_);
  w.Field("origin", Origin(src, e))
      .Field("source", src.op->node()->name())
      .Field("reason", f.reason);
  AddRecordField(w, src.batch.View(e));
  w.Close();
  EDDY_RETURN_IF_ERROR(dead_writer_->Write(line_));
  CountDeadLetter(f.reason);
  return absl::OkStatus();
}

void JobRun::CountDeadLetter(const std::string& reason) {
  ++stats_.dead_letters;
  auto it = stats_.dead_letter_reasons.find(reason);
  if (it != stats_.dead_letter_reasons.end()) {
    ++it->second;
  } else if (stats_.dead_letter_reasons.size() < kMaxReasons) {
    stats_.dead_letter_reasons[reason] = 1;
  } else {
    ++stats_.dead_letter_reasons["other"];
  }
}

absl::Status JobRun::WriteLate(const SourceRuntime& src, const SourceDecodeReport::Late& l) {
  const RawRecordBatch::Entry& e = src.batch.entries[l.entry];
  line_.clear();
  JsonObjectWriter w(line_);
  w.Field("origin", Origin(src, e))
      .Field("source", src.op->node()->name())
      .Field("ts", l.ts)
      .Field("watermark", watermark_);
  AddRecordField(w, src.batch.View(e));
  w.Close();
  ++stats_.late_events;
  return late_writer_->Write(line_);
}

void JobRun::Align(SourceRuntime& src) {
  src.held.assign(src.partitions.size(), false);
  const absl::Duration drift = src.op->event_time().max_drift;
  if (drift == absl::InfiniteDuration()) return;
  const int64_t now = options_.clock == RunOptions::Clock::kReplay ? replay_clock_ : WallMillis();
  // The slowest partition that can move: unfinished, assigned, not idle.
  EventTime floor = kMaxEventTime;
  for (size_t p = 0; p < src.partitions.size(); ++p) {
    const int index = src.tracker_index[p];
    if (src.partitions[p]->finished() || !src.partitions[p]->assigned() ||
        tracker_.IsIdle(index, now)) {
      continue;
    }
    floor = std::min(floor, tracker_.WatermarkOf(index));
  }
  // Until every such partition has a watermark, nothing is held.
  if (floor == kMaxEventTime || floor == kMinEventTime) return;
  const EventTime limit = floor + absl::ToInt64Milliseconds(drift);
  for (size_t p = 0; p < src.partitions.size(); ++p) {
    src.held[p] = tracker_.WatermarkOf(src.tracker_index[p]) > limit;
  }
}

absl::Status JobRun::ReadAndDecode(BatchContext& ctx, bool& all_finished) {
  size_t batch_records = 0;
  for (size_t s = 0; s < sources_.size(); ++s) {
    SourceRuntime& src = sources_[s];
    Align(src);
    EDDY_RETURN_IF_ERROR(ReadBatch(src, options_.batch_size));
    batch_records += src.batch.entries.size();
    for (size_t p = 0; p < src.partitions.size(); ++p) {
      tracker_.RaiseWatermark(src.tracker_index[p], src.partitions[p]->handed_over_watermark());
    }
    if (options_.bound_watermark) {
      // Across processes, lateness is judged per input partition: one just
      // taken over from another process is behind this process's watermark
      // without being late, and what counts downstream is what each
      // partition promised (its watermark, reported to the exchanges).
      BatchContext decode_ctx = ctx;
      partition_watermarks_.clear();
      for (int index : src.tracker_index) partition_watermarks_.push_back(tracker_.WatermarkOf(index));
      decode_ctx.partition_watermarks = &partition_watermarks_;
      src.op->Decode(src.batch, src.partitions.size(), decode_ctx, src.report);
    } else {
      src.op->Decode(src.batch, src.partitions.size(), ctx, src.report);
    }
    CountOutput(source_index_[s]);
    for (const auto& f : src.report.failures) EDDY_RETURN_IF_ERROR(WriteDeadLetter(src, f));
    for (const auto& l : src.report.late) EDDY_RETURN_IF_ERROR(WriteLate(src, l));
    for (EventTime t : src.report.max_ts) replay_clock_ = std::max(replay_clock_, t);
  }
  stats_.events += batch_records;
  records_since_checkpoint_ += batch_records;

  // Advance event time.
  const int64_t now = options_.clock == RunOptions::Clock::kReplay ? replay_clock_ : WallMillis();
  all_finished = true;
  for (SourceRuntime& src : sources_) {
    for (size_t p = 0; p < src.partitions.size(); ++p) {
      // Records (even bad or late ones) and not being polled both count as
      // activity; only an empty poll is silence.
      tracker_.SetAssigned(src.tracker_index[p], src.partitions[p]->assigned(), now);
      if (!src.polled_empty[p]) tracker_.Observe(src.tracker_index[p], src.report.max_ts[p], now);
      if (src.partitions[p]->finished()) {
        tracker_.MarkFinished(src.tracker_index[p]);
      } else {
        all_finished = false;
      }
    }
  }
  EventTime watermark = tracker_.Advance(now);
  if (options_.bound_watermark) {
    tracker_.AssignedWatermarks(now, promises_);
    EDDY_ASSIGN_OR_RETURN(const EventTime bound, options_.bound_watermark(promises_));
    // May go back: key groups just taken over are only as far as their
    // state, and their timers must wait for the records not yet re-read.
    watermark = std::min(watermark, bound);
  }
  watermark_ = watermark;
  ctx.watermark = watermark_;
  // What the next reader of each partition inherits with its position.
  for (SourceRuntime& src : sources_) {
    for (size_t p = 0; p < src.partitions.size(); ++p) {
      if (src.partitions[p]->assigned()) {
        // (A partition assigned since this batch's read has no floor applied
        // yet: never hand on less than it came with.)
        src.partitions[p]->NoteWatermark(std::max(tracker_.WatermarkOf(src.tracker_index[p]),
                                                  src.partitions[p]->handed_over_watermark()));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status JobRun::RunSteps(const BatchContext& ctx) {
  for (const Step& step : steps_) {
    if (step.barrier != nullptr) {
      EDDY_RETURN_IF_ERROR(step.barrier->RunBarrier(ctx));
      CountOutput(step.barrier_index);
    } else {
      pool_.ParallelFor(parts_, [&](int p) {
        for (size_t k = 0; k < step.chain.size(); ++k) {
          step.chain[k]->RunPartition(p, ctx);
          node_records_[step.chain_index[k]][p] += step.chain[k]->PartitionOutputSize(p);
        }
      });
    }
  }
  for (const auto& node : graph_.nodes()) EDDY_RETURN_IF_ERROR(node->state_status());
  for (const auto& node : graph_.nodes()) {
    operator_dead_.clear();
    node->TakeDeadLetters(&operator_dead_);
    for (const OperatorDeadLetter& d : operator_dead_) {
      line_.clear();
      JsonObjectWriter w(line_);
      w.Field("origin", absl::StrCat("operator:", node->name()))
          .Field("operator", node->name())
          .Field("reason", d.reason)
          .Field("ts", d.ts);
      AddRecordField(w, d.record);
      w.Close();
      EDDY_RETURN_IF_ERROR(dead_writer_->Write(line_));
      CountDeadLetter(d.reason);
    }
  }
  return absl::OkStatus();
}

void JobRun::CountRecords() {
  // Sized once; then only the numbers change (called after every batch).
  if (!counts_sized_) {
    counts_sized_ = true;
    for (SinkNodeBase* sink : graph_.sinks()) stats_.sink_records.emplace_back(sink->name(), 0);
    for (const auto& node : graph_.nodes()) {
      if (node->kind() != NodeKind::kSink) stats_.operator_records.emplace_back(node->name(), 0);
    }
  }
  for (size_t i = 0; i < graph_.sinks().size(); ++i) {
    stats_.sink_records[i].second = graph_.sinks()[i]->written();
  }
  stats_.state_cache_bytes = 0;
  for (const auto& node : graph_.nodes()) stats_.state_cache_bytes += node->state_cache_bytes();
  size_t k = 0;
  for (size_t i = 0; i < graph_.nodes().size(); ++i) {
    if (graph_.nodes()[i]->kind() == NodeKind::kSink) continue;
    uint64_t total = 0;
    for (uint64_t n : node_records_[i]) total += n;
    stats_.operator_records[k++].second = total;
  }
}

void JobRun::TrimCaches() {
  const size_t budget = options_.state->cache_budget();
  size_t held = 0;
  for (const auto& node : graph_.nodes()) held += node->state_cache_bytes();
  const double scale = held > budget ? static_cast<double>(budget) / static_cast<double>(held) : 1.0;
  for (const auto& node : graph_.nodes()) node->TrimState(scale);
}

bool JobRun::CachesWantCheckpoint() const {
  const size_t budget = options_.state->cache_budget();
  size_t held = 0, dirty = 0;
  for (const auto& node : graph_.nodes()) {
    held += node->state_cache_bytes();
    dirty += node->state_dirty_bytes();
  }
  return dirty > budget / 4 && held + dirty > budget;
}

void JobRun::FinalStats() {
  stats_.final_watermark = watermark_;
  CountRecords();
  stats_.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

absl::StatusOr<RunStats> JobRun::Loop() {
  start_ = std::chrono::steady_clock::now();
  bool input_ended = false;
  for (;;) {
    for (const auto& node : graph_.nodes()) node->ClearOutput();
    BatchContext ctx;
    ctx.partitions = parts_;
    ctx.pool = &pool_;
    ctx.previous_watermark = watermark_;
    bool all_finished = true;
    const uint64_t events_before = stats_.events;
    EDDY_RETURN_IF_ERROR(ReadAndDecode(ctx, all_finished));
    EDDY_RETURN_IF_ERROR(RunSteps(ctx));
    ++stats_.batches;

    const bool restart = options_.wants_restart && options_.wants_restart();
    input_ended = all_finished && watermark_ == kMaxEventTime;
    const bool done =
        input_ended || (options_.stop != nullptr && options_.stop->load()) || restart;
    stats_.restart_requested = restart;
    if (options_.state != nullptr) {
      bool due = done || (options_.checkpoint_every_records > 0 &&
                          records_since_checkpoint_ >= options_.checkpoint_every_records);
      if (options_.checkpoint_interval > absl::ZeroDuration() &&
          std::chrono::steady_clock::now() - last_checkpoint_ >=
              absl::ToChronoMilliseconds(options_.checkpoint_interval)) {
        due = true;
      }
      due = due || CachesWantCheckpoint();
      if (options_.wants_checkpoint && options_.wants_checkpoint()) due = true;
      if (due) {
        EDDY_RETURN_IF_ERROR(Checkpoint(input_ended));
        // The checkpoint's copies (its batch, encoded values, changelog
        // messages) and the entries the caches evicted are now free.
        ReleaseFreedMemory();
      } else {
        TrimCaches();
      }
    }
    if (options_.progress) {
      stats_.final_watermark = watermark_;
      CountRecords();
      options_.progress(stats_);
    }
    if (done) break;
    if (stats_.events == events_before && !all_finished && options_.wait_for_input) {
      options_.wait_for_input(absl::Milliseconds(100));
    }
  }

  for (auto& w : writers_) EDDY_RETURN_IF_ERROR(w->Close());
  FinalStats();
  if (input_ended && options_.state == nullptr && options_.at_input_end) {
    EDDY_RETURN_IF_ERROR(options_.at_input_end(stats_, nullptr));
  }
  return stats_;
}

}  // namespace

std::string RunFingerprint(const std::map<std::string, std::string>& params,
                           size_t max_record_bytes) {
  std::string out;
  for (const auto& [k, v] : params) absl::StrAppend(&out, "param ", k, "=", v, "\n");
  absl::StrAppend(&out, "max_record_bytes ", max_record_bytes, "\n");
  return out;
}

absl::StatusOr<RunStats> Executor::Run(JobGraph graph, Inputs inputs, OutputFactory& outputs,
                                       const RunOptions& options) {
  if (options.threads < 1) return absl::InvalidArgumentError("threads must be at least 1");
  if (options.batch_size < 1 || options.batch_size > (size_t{1} << 24)) {
    return absl::InvalidArgumentError("batch size must be between 1 and 16777216");
  }
  JobRun run(graph, options);
  EDDY_RETURN_IF_ERROR(run.Bind(std::move(inputs)));
  EDDY_RETURN_IF_ERROR(run.Open(outputs));
  return run.Loop();
}

}  // namespace eddy
