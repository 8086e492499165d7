// Random out-of-order keyed streams with ties and late events, and a harness
// that runs a Process function over them batch by batch as the executor
// would (watermark = max time - disorder; events at or behind the previous
// watermark less the allowed lateness go to the late output, as at a
// source): for brute-force checks of windows and joins.
#ifndef EDDY_TESTS_TESTING_KEYED_HARNESS_H_
#define EDDY_TESTS_TESTING_KEYED_HARNESS_H_

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/tag_merge.h"
#include "engine/thread_pool.h"
#include "gtest/gtest.h"
#include "operators/process_node.h"
#include "state/state_directory.h"
#include "tests/testing/feed.h"

namespace eddy::testing {

struct Ev {
  int64_t id = 0;
  std::string item;
  double x = 0;
};

struct Arrival {
  std::string key;
  Ev ev;
  EventTime ts;
  size_t batch;
};

// A random keyed stream: times drift forward with jitter up to `disorder`,
// some events much later than that (late, some beyond the allowed lateness),
// cut into batches of random sizes.
std::vector<Arrival> RandomStream(std::mt19937_64& rng, size_t n, int64_t disorder) {
  std::vector<Arrival> out;
  EventTime clock = 1000000;
  size_t batch = 0;
  for (size_t i = 0; i < n; ++i) {
    clock += rng() % 400;
    EventTime ts = clock - static_cast<EventTime>(rng() % (disorder + 1));
    if (rng() % 20 == 0) ts -= static_cast<EventTime>(rng() % (6 * disorder));  // late
    if (rng() % 10 == 0) ts = out.empty() ? ts : out.back().ts;                  // a tie
    if (rng() % 8 == 0) ++batch;
    out.push_back({absl::StrCat("k", rng() % 5), Ev{static_cast<int64_t>(i), absl::StrCat("i", rng() % 7),
                                                   static_cast<double>(rng() % 100)},
                   ts, batch});
  }
  return out;
}

// How a harness turns an arrival's Ev into its input type: Ev itself, or
// any type constructible from it.
template <typename In>
In Convert(const Ev& e) {
  return In(e);
}

// Runs a Process function over a keyed stream of `In` (made from each
// arrival's Ev by `Convert`).
template <typename Fn, typename In = Ev>
class Harness {
 public:
  using Out = typename Fn::Out;
  // With `dir`, state lives in it: every other batch ends with a checkpoint
  // and then evicts every cached entry, so the next batches read their
  // state back from what the checkpoints wrote.
  Harness(Fn fn, int parts, StateDirectory* dir = nullptr)
      : parts_(parts), node_("windows", &feed_, std::move(fn)), pool_(parts), dir_(dir) {
    if (dir_ != nullptr) node_.AttachState(dir_, size_t{64} << 20);
    EXPECT_TRUE(feed_.Open(parts).ok());
    EXPECT_TRUE(node_.Open(parts).ok());
  }

  // Runs the stream batch by batch with watermark = max time - disorder;
  // like a source, leaves out events at or behind the previous watermark
  // less the allowed lateness (the late output's). Returns the outputs in
  // order and the arrivals that were not late.
  std::vector<Out> Run(const std::vector<Arrival>& stream, int64_t disorder, int64_t lateness,
                       std::vector<Arrival>* kept) {
    std::vector<Out> out;
    EventTime max_ts = kMinEventTime, previous = kMinEventTime;
    size_t i = 0;
    while (i < stream.size()) {
      const size_t batch = stream[i].batch;
      uint32_t seq = 0;
      for (; i < stream.size() && stream[i].batch == batch; ++i) {
        const Arrival& a = stream[i];
        if (previous != kMinEventTime && a.ts <= previous - lateness) continue;  // late output
        kept->push_back(a);
        feed_.Push(a.key, Convert<In>(a.ev), a.ts, seq++);
        max_ts = std::max(max_ts, a.ts);
      }
      const EventTime watermark = max_ts == kMinEventTime ? kMinEventTime : max_ts - disorder;
      RunBatch(previous, std::max(previous, watermark), out);
      previous = std::max(previous, watermark);
    }
    RunBatch(previous, kMaxEventTime, out);  // end of input: everything expires
    return out;
  }

  size_t StateEntries() const { return node_.cached_state_entries(); }
  // The batch (0, 1, ...; the last is the end of input) of each output of Run.
  const std::vector<size_t>& output_batches() const { return output_batches_; }

 private:
  void RunBatch(EventTime previous, EventTime watermark, std::vector<Out>& out) {
    node_.ClearOutput();
    BatchContext ctx;
    ctx.previous_watermark = previous;
    ctx.watermark = watermark;
    ctx.partitions = parts_;
    ctx.pool = &pool_;
    pool_.ParallelFor(parts_, [&](int p) { node_.RunPartition(p, ctx); });
    MergeBuffer(node_.output(), [&](int p, size_t k) {
      out.push_back(node_.output().parts[p][k].value);
      output_batches_.push_back(batches_);
    });
    feed_.ClearOutput();
    EXPECT_TRUE(node_.state_status().ok()) << node_.state_status();
    if (dir_ != nullptr && batches_ % 2 == 1) Checkpoint();
    ++batches_;
  }

 public:
  // Writes what changed into the state directory, then evicts every cached
  // entry.
  void Checkpoint() {
    auto batch = dir_->NewBatch();
    EXPECT_TRUE(node_.Snapshot(*batch).ok());
    EXPECT_TRUE(dir_->Commit(*batch).ok());
    node_.TrimState(0.0);
  }

 private:
  size_t batches_ = 0;
  std::vector<size_t> output_batches_;

  int parts_;
  KeyedFeed<std::string, In> feed_;
  ProcessNode<std::string, In, Fn> node_;
  ThreadPool pool_;
  StateDirectory* dir_;
};


}  // namespace eddy::testing

#endif  // EDDY_TESTS_TESTING_KEYED_HARNESS_H_
