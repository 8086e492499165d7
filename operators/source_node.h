// Source: decodes raw records into typed records with event time.
//
// The parser turns one raw record (a line of bytes; kRecordPadding readable
// bytes follow it) into a T or an error; a parser that also takes a
// `const RecordMeta&` sees the record's Kafka key, headers and timestamp. Parsing runs on all tasks in
// parallel, one contiguous chunk of the batch each; the parser must therefore
// be safe to call concurrently. An error sends the raw record to the
// dead-letter output with the error's message as the reason.
#ifndef EDDY_OPERATORS_SOURCE_NODE_H_
#define EDDY_OPERATORS_SOURCE_NODE_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "engine/source_sink.h"
#include "engine/thread_pool.h"

namespace eddy {

template <typename T, typename Parser, typename TsFn>
class SourceNode final : public Producer<T>, public SourceOperator {
 public:
  SourceNode(std::string name, Parser parser, TsFn ts_fn, EventTimeOptions options)
      : Producer<T>(NodeKind::kSource, std::move(name)),
        options_(options),
        parser_(std::move(parser)),
        ts_fn_(std::move(ts_fn)),
        lateness_ms_(absl::ToInt64Milliseconds(options.allowed_lateness)) {}

  Node* node() override { return this; }
  const EventTimeOptions& event_time() const override { return options_; }
  bool partition_local() const override { return false; }

  absl::Status Open(int partitions) override {
    this->output_.Resize(partitions);
    chunks_.resize(partitions);
    return absl::OkStatus();
  }

  void Decode(const RawRecordBatch& batch, size_t input_partitions, const BatchContext& ctx,
              SourceDecodeReport& report) override {
    const int parts = static_cast<int>(this->output_.parts.size());
    const size_t n = batch.entries.size();
    const size_t chunk = (n + parts - 1) / std::max(parts, 1);
    // Late: behind the operators' watermark by more than the allowed lateness
    // (saturating: a huge lateness means nothing is late).
    const auto bound_of = [this](EventTime watermark) {
      return watermark == kMinEventTime || watermark < kMinEventTime + lateness_ms_
                 ? kMinEventTime
                 : watermark - lateness_ms_;
    };
    const EventTime late_bound = bound_of(ctx.previous_watermark);
    const EventTime future_bound =
        options_.max_future == absl::InfiniteDuration()
            ? kMaxEventTime
            : absl::ToUnixMillis(absl::Now()) + absl::ToInt64Milliseconds(options_.max_future);
    const std::vector<EventTime>* per_partition = ctx.partition_watermarks;
    ctx.pool->ParallelFor(parts, [&](int p) {
      ChunkReport& cr = chunks_[p];
      cr.failures.clear();
      cr.late.clear();
      cr.max_ts.assign(input_partitions, kMinEventTime);
      auto& out = this->output_.parts[p];
      const size_t begin = std::min(n, chunk * p);
      const size_t end = std::min(n, begin + chunk);
      out.reserve(end - begin);
      for (size_t i = begin; i < end; ++i) {
        const RawRecordBatch::Entry& e = batch.entries[i];
        if (e.oversized) {
          cr.failures.push_back({static_cast<uint32_t>(i), "record larger than the maximum size"});
          continue;
        }
        absl::StatusOr<T> parsed = Parse(batch, e);
        if (!parsed.ok()) {
          cr.failures.push_back({static_cast<uint32_t>(i), std::string(parsed.status().message())});
          continue;
        }
        const EventTime ts = ts_fn_(*parsed);
        if (ts < -kMaxAbsEventTime || ts > kMaxAbsEventTime) {
          cr.failures.push_back({static_cast<uint32_t>(i), "event time out of range"});
          continue;
        }
        if (ts > future_bound) {
          cr.failures.push_back({static_cast<uint32_t>(i), "event time in the future"});
          continue;
        }
        const EventTime bound =
            per_partition != nullptr && e.partition < per_partition->size()
                ? bound_of((*per_partition)[e.partition])
                : late_bound;
        if (bound != kMinEventTime && ts <= bound) {
          cr.late.push_back({static_cast<uint32_t>(i), ts});
          continue;
        }
        cr.max_ts[e.partition] = std::max(cr.max_ts[e.partition], ts);
        out.push_back(Record<T>{*std::move(parsed), ts, Tag{static_cast<uint32_t>(i), 0, 0}});
      }
    });
    if (options_.max_past != absl::InfiniteDuration()) {
      DropFarPast(batch, input_partitions, ctx, parts);
    }
    report.Reset(input_partitions);
    for (const ChunkReport& cr : chunks_) {
      report.failures.insert(report.failures.end(), cr.failures.begin(), cr.failures.end());
      report.late.insert(report.late.end(), cr.late.begin(), cr.late.end());
      for (size_t q = 0; q < input_partitions; ++q) {
        report.max_ts[q] = std::max(report.max_ts[q], cr.max_ts[q]);
      }
    }
    if (options_.max_past != absl::InfiniteDuration()) {
      // DropFarPast added failures after each chunk's own.
      std::stable_sort(report.failures.begin(), report.failures.end(),
                       [](const SourceDecodeReport::Failure& a,
                          const SourceDecodeReport::Failure& b) { return a.entry < b.entry; });
    }
  }

 private:
  absl::StatusOr<T> Parse(const RawRecordBatch& batch, const RawRecordBatch::Entry& e) const {
    if constexpr (std::is_invocable_v<const Parser&, absl::string_view, const RecordMeta&>) {
      return parser_(batch.View(e), RecordMeta(batch, e));
    } else {
      return parser_(batch.View(e));
    }
  }

  // EventTimeOptions::max_past, after the chunks are decoded: the newest
  // event time of each input partition is the largest of its on-time
  // records over all chunks and its watermark so far; records (on time or
  // late) more than max_past behind it become failures.
  void DropFarPast(const RawRecordBatch& batch, size_t input_partitions, const BatchContext& ctx,
                   int parts) {
    const int64_t past_ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(options_.max_past));
    std::vector<EventTime> bound(input_partitions, kMinEventTime);
    for (size_t q = 0; q < input_partitions; ++q) {
      EventTime newest = ctx.partition_watermarks != nullptr && q < ctx.partition_watermarks->size()
                             ? (*ctx.partition_watermarks)[q]
                             : ctx.previous_watermark;
      if (newest == kMaxEventTime) newest = kMinEventTime;  // a finished partition: no figure
      for (const ChunkReport& cr : chunks_) newest = std::max(newest, cr.max_ts[q]);
      bound[q] = newest == kMinEventTime || newest < kMinEventTime + past_ms ? kMinEventTime
                                                                            : newest - past_ms;
    }
    const auto too_old = [&](uint32_t entry, EventTime ts) {
      const uint32_t q = batch.entries[entry].partition;
      return q < bound.size() && ts < bound[q];
    };
    ctx.pool->ParallelFor(parts, [&](int p) {
      ChunkReport& cr = chunks_[p];
      auto& out = this->output_.parts[p];
      size_t kept = 0;
      for (size_t i = 0; i < out.size(); ++i) {
        if (too_old(out[i].tag.seq, out[i].ts)) {
          cr.failures.push_back({out[i].tag.seq, "event time in the past"});
        } else {
          if (kept != i) out[kept] = std::move(out[i]);
          ++kept;
        }
      }
      out.erase(out.begin() + static_cast<std::ptrdiff_t>(kept), out.end());
      size_t late_kept = 0;
      for (size_t i = 0; i < cr.late.size(); ++i) {
        if (too_old(cr.late[i].entry, cr.late[i].ts)) {
          cr.failures.push_back({cr.late[i].entry, "event time in the past"});
        } else {
          cr.late[late_kept++] = cr.late[i];
        }
      }
      cr.late.resize(late_kept);
    });
  }

  struct ChunkReport {
    std::vector<SourceDecodeReport::Failure> failures;
    std::vector<SourceDecodeReport::Late> late;
    std::vector<EventTime> max_ts;
  };

  EventTimeOptions options_;
  Parser parser_;
  TsFn ts_fn_;
  int64_t lateness_ms_;
  std::vector<ChunkReport> chunks_;
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_SOURCE_NODE_H_
