// The runtime form of an operator in a job graph.
//
// A Node is one operator. Its output for the current batch lives in a
// PartitionedBuffer owned by the node; consumers read it in place. The
// executor calls, per batch and in topological order, either RunPartition(p)
// for every partition (partition-local nodes: consecutive ones are fused into
// one chain that a task runs back to back) or RunBarrier once (nodes that look
// across partitions: sources, exchanges, unions, sinks).
//
// Users never touch nodes; they build them through JobBuilder
// (engine/job_builder.h). Typed subclasses live in operators/.
//
// Thread-safety: RunPartition(p) may run concurrently for different p and
// touches only partition p of the node's output and per-task state.
#ifndef EDDY_ENGINE_NODE_H_
#define EDDY_ENGINE_NODE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/record.h"
#include "state/state_directory.h"

namespace eddy {

class ThreadPool;
class OutputWriter;
class RemoteExchange;

enum class NodeKind { kSource, kMap, kFilter, kFlatMap, kKeyBy, kProcess, kUnion, kSink };

const char* NodeKindName(NodeKind kind);

// What the executor tells nodes about the batch being run.
struct BatchContext {
  // The job watermark before this batch; records with ts <= it (minus the
  // allowed lateness) were routed to the late output by the sources.
  EventTime previous_watermark = kMinEventTime;
  // The watermark reached at the end of this batch; timers up to it fire.
  EventTime watermark = kMinEventTime;
  // When set (runs across processes), sources judge lateness per input
  // partition instead: a record is late when it is behind its own
  // partition's watermark (by index within the source being decoded).
  const std::vector<EventTime>* partition_watermarks = nullptr;
  int partitions = 1;
  ThreadPool* pool = nullptr;
};

// A record an operator could not use (a label for an unknown example, a
// duplicate id): written to the dead-letter output with the operator's name,
// the reason and the event time, and counted per reason like a record that
// did not decode.
struct OperatorDeadLetter {
  std::string reason;
  std::string record;  // what the operator got, readable (e.g. JSON)
  EventTime ts = 0;
};

class Node {
 public:
  Node(NodeKind kind, std::string name) : kind_(kind), name_(std::move(name)) {}
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  NodeKind kind() const { return kind_; }
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  bool name_is_explicit() const { return name_is_explicit_; }
  void set_name_is_explicit(bool v) { name_is_explicit_ = v; }

  const std::vector<Node*>& inputs() const { return inputs_; }
  void AddInput(Node* input) {
    inputs_.push_back(input);
    ++input->consumers_;
  }
  int consumers() const { return consumers_; }

  // True if the node runs per partition (see RunPartition).
  virtual bool partition_local() const = 0;

  // Sizes the output and per-task runtime for `partitions` tasks. Called once
  // before the first batch.
  virtual absl::Status Open(int partitions) = 0;

  // Partition-local nodes: processes partition p of the inputs into partition p
  // of the output. Must not fail: bad records are routed, not raised.
  virtual void RunPartition(int /*p*/, const BatchContext& /*ctx*/) {}

  // Moves the dead letters of the batch into `out`, partition by partition
  // (so their order does not depend on threads).
  virtual void TakeDeadLetters(std::vector<OperatorDeadLetter>* /*out*/) {}

  // Barrier nodes: processes the whole batch (may use ctx.pool).
  virtual absl::Status RunBarrier(const BatchContext& /*ctx*/) { return absl::OkStatus(); }

  // Empties the output before the next batch (keeping capacity).
  virtual void ClearOutput() = 0;

  // ---- State (stateful operators override; the rest keep the defaults) ----

  // Gives the operator a state directory before Open. `cache_budget` is the
  // bytes all the run's state caches may use together. Without a call, state
  // is kept in memory.
  virtual void AttachState(StateDirectory* /*dir*/, size_t /*cache_budget*/) {}
  // Writes what changed since the last snapshot (state, timers) into a
  // checkpoint batch. Called between batches.
  virtual absl::Status Snapshot(StateDirectory::Batch& /*batch*/) { return absl::OkStatus(); }
  // Evicts cached state: each task's cache down to about `scale` times what
  // it holds (scale < 1: the run's caches are over their budget and each
  // gives back the same fraction), else to the whole budget. Called between
  // batches.
  virtual void TrimState(double /*scale*/) {}
  // Bytes its keyed-state caches hold now, and of those changed since the
  // last snapshot.
  virtual size_t state_cache_bytes() const { return 0; }
  virtual size_t state_dirty_bytes() const { return 0; }
  // The first state error met while running (e.g. a failed read).
  virtual absl::Status state_status() const { return absl::OkStatus(); }

  // ---- Distributed runs (engine/exchange.h) ----

  // True for exchanges (KeyBy) that can send their records to other
  // processes.
  virtual bool exchanges_keys() const { return false; }
  // From now on, crosses processes through `exchange` (not owned; set before
  // Open). Errors: the stream's records cannot be encoded.
  virtual absl::Status SetRemoteExchange(RemoteExchange* /*exchange*/) {
    return absl::FailedPreconditionError("operator '" + name_ + "' is not an exchange");
  }

  // Records in partition p of the output of the current batch. The executor
  // reads it right after the node has run (for the run summary): later
  // operators may take the output over.
  virtual size_t PartitionOutputSize(int p) const = 0;

 private:
  const NodeKind kind_;
  std::string name_;
  bool name_is_explicit_ = false;
  std::vector<Node*> inputs_;
  int consumers_ = 0;
};

// A node whose output is a stream of T.
template <typename T>
class Producer : public Node {
 public:
  using Node::Node;

  PartitionedBuffer<T>& output() { return output_; }

  // True when exactly one operator reads this output, which may then move
  // records out of it instead of copying.
  bool sole_consumer() const { return consumers() == 1; }

  void ClearOutput() override { output_.Clear(); }
  size_t PartitionOutputSize(int p) const override { return output_.parts[p].size(); }

 protected:
  PartitionedBuffer<T> output_;
};

}  // namespace eddy

#endif  // EDDY_ENGINE_NODE_H_
