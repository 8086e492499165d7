#include "engine/live_metrics.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/memory.h"
#include "engine/record.h"

namespace eddy {

LiveMetrics::LiveMetrics(std::string job, std::chrono::milliseconds refresh,
                         std::chrono::milliseconds stall_after)
    : job_(std::move(job)),
      refresh_(refresh),
      stall_after_(stall_after) {}

void LiveMetrics::SetGraph(const JobGraph& graph) {
  std::map<std::string, std::vector<std::string>> inputs;
  for (const auto& node : graph.nodes()) {
    std::vector<std::string>& in = inputs[node->name()];
    for (const Node* input : node->inputs()) in.push_back(input->name());
  }
  std::lock_guard<std::mutex> lock(mu_);
  inputs_ = std::move(inputs);
  hooks_ = graph.metrics_hooks();
  run_checkpoints_ = 0;
}

void LiveMetrics::SetPhase(std::string phase) {
  std::lock_guard<std::mutex> lock(mu_);
  phase_ = std::move(phase);
}

void LiveMetrics::BatchDone(const RunStats& stats) {
  const Clock::time_point now = Clock::now();
  bool copy = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_batch_ = now;
    if (!batched_ || (phase_ != "running" && phase_ != "stopping")) {
      batched_ = true;
      phase_ = "running";
      copy = true;
    }
    if (stats.checkpoints != run_checkpoints_) {
      checkpoints_total_ += stats.checkpoints - run_checkpoints_;
      run_checkpoints_ = stats.checkpoints;
      last_checkpoint_ = now;
      copy = true;
    }
    copy = copy || now - last_copy_ >= refresh_;
    if (!copy) return;
    last_copy_ = now;
  }
  // The sources are the run thread's to call (librdkafka's offsets cache,
  // RocksDB properties); the lock is not held meanwhile.
  std::vector<PartitionLag> lags = sources_.lags ? sources_.lags() : std::vector<PartitionLag>{};
  const uint64_t state_bytes = sources_.state_bytes ? sources_.state_bytes() : 0;
  std::vector<std::pair<std::string, uint64_t>> memory =
      sources_.memory ? sources_.memory() : std::vector<std::pair<std::string, uint64_t>>{};
  std::lock_guard<std::mutex> lock(mu_);
  stats_ = stats;
  lags_ = std::move(lags);
  state_bytes_ = state_bytes;
  memory_ = std::move(memory);
}

MetricsServer::Health LiveMetrics::Health() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (phase_ == "stopping") return {false, "stopping"};
  const auto seconds = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::seconds>(d).count();
  };
  const Clock::time_point now = Clock::now();
  if (phase_ != "running") {
    // Joining the group, restoring state: allowed ten times longer.
    const auto since = now - (batched_ ? last_batch_ : started_);
    if (since >= 10 * stall_after_) {
      return {false, absl::StrCat(phase_, " for ", seconds(since), " s")};
    }
    return {true, phase_};
  }
  const auto idle = now - last_batch_;
  if (idle >= stall_after_) {
    return {false, absl::StrCat("stalled: no batch has ended for ", seconds(idle), " s")};
  }
  return {true, "ok"};
}

std::string LiveMetrics::Render() const {
  PrometheusText text;
  using Labels = PrometheusText::Labels;
  const Labels job = {{"job", job_}};
  const auto with = [&](const std::string& name, const std::string& value) {
    Labels l = job;
    l.emplace_back(name, value);
    return l;
  };
  std::vector<JobGraph::MetricsHook> hooks;
  const HeapBytes heap = HeapUsage();  // before the lock: glibc's takes every arena's
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Clock::time_point now = Clock::now();
    text.Gauge("eddy_up", "1 while the job runs, 0 while it stops", job,
               phase_ == "stopping" ? 0 : 1);
    text.Counter("eddy_records_read_total", "Raw records read from the job's inputs", job,
                 static_cast<double>(stats_.events));
    std::map<std::string, uint64_t> out;
    for (const auto& [name, n] : stats_.operator_records) out[name] = n;
    for (const auto& [name, n] : stats_.sink_records) out[name] = n;
    for (const auto& [name, n] : stats_.operator_records) {
      auto in = inputs_.find(name);
      if (in == inputs_.end() || in->second.empty()) continue;  // a source: see records read
      uint64_t total = 0;
      for (const std::string& input : in->second) total += out.count(input) ? out[input] : 0;
      text.Counter("eddy_operator_records_in_total", "Records into each operator",
                   with("operator", name), static_cast<double>(total));
    }
    for (const auto& [name, n] : stats_.operator_records) {
      text.Counter("eddy_operator_records_out_total", "Records out of each operator",
                   with("operator", name), static_cast<double>(n));
    }
    for (const auto& [name, n] : stats_.sink_records) {
      text.Counter("eddy_sink_records_total", "Records written to each output",
                   with("sink", name), static_cast<double>(n));
    }
    for (const auto& [reason, n] : stats_.dead_letter_reasons) {
      text.Counter("eddy_dead_letters_total", "Records sent to the dead letters, by reason",
                   with("reason", reason), static_cast<double>(n));
    }
    text.Counter("eddy_late_records_total", "Records behind the watermark (sent to late_events)",
                 job, static_cast<double>(stats_.late_events));
    text.Counter("eddy_batches_total", "Batches run", job, static_cast<double>(stats_.batches));
    for (const PartitionLag& l : lags_) {
      Labels labels = with("topic", l.topic);
      labels.emplace_back("partition", absl::StrCat(l.partition));
      text.Gauge("eddy_consumer_lag_records",
                 "Records on the broker not yet read, per assigned input partition", labels,
                 static_cast<double>(l.lag));
    }
    if (stats_.final_watermark != kMinEventTime && stats_.final_watermark != kMaxEventTime) {
      const double delay_ms =
          static_cast<double>(absl::ToUnixMillis(absl::Now()) - stats_.final_watermark);
      text.Gauge("eddy_watermark_delay_seconds",
                 "Wall clock minus the event-time watermark", job, delay_ms / 1000);
    }
    text.Gauge("eddy_state_size_bytes", "Keyed state in the state directory (RocksDB's estimate)",
               job, static_cast<double>(state_bytes_));
    text.Counter("eddy_checkpoints_total", "Checkpoints taken by this process", job,
                 static_cast<double>(checkpoints_total_));
    text.Gauge("eddy_checkpoint_duration_seconds", "How long the last checkpoint took", job,
               stats_.last_checkpoint_seconds);
    text.Gauge("eddy_checkpoint_bytes", "Size of the last checkpoint's write batch", job,
               static_cast<double>(stats_.last_checkpoint_bytes));
    text.Gauge("eddy_checkpoint_age_seconds",
               "Time since the last checkpoint (since the start before the first)", job,
               std::chrono::duration<double>(now - last_checkpoint_).count());
    std::vector<std::pair<std::string, uint64_t>> memory = {
        {"state_cache", stats_.state_cache_bytes}};
    memory.insert(memory.end(), memory_.begin(), memory_.end());
    memory.emplace_back("heap_in_use", heap.in_use);
    memory.emplace_back("heap_free", heap.free);
    for (const auto& [component, bytes] : memory) {
      text.Gauge("eddy_memory_bytes", "Memory by component", with("component", component),
                 static_cast<double>(bytes));
    }
    hooks = hooks_;
  }
  text.Gauge("process_resident_memory_bytes", "Resident set size of the process", {},
             static_cast<double>(ResidentBytes()));
  // The job's own figures, outside the lock: hooks take their own. Grouped
  // by name (a family must be contiguous), never over a name of the run's.
  std::vector<JobGraph::Metric> metrics;
  for (const JobGraph::MetricsHook& hook : hooks) hook(&metrics);
  std::stable_sort(metrics.begin(), metrics.end(),
                   [](const JobGraph::Metric& a, const JobGraph::Metric& b) { return a.name < b.name; });
  const std::string run_page = text.text();
  for (const JobGraph::Metric& m : metrics) {
    if (run_page.find("# TYPE " + m.name + " ") != std::string::npos) continue;
    Labels labels = job;
    labels.insert(labels.end(), m.labels.begin(), m.labels.end());
    if (m.counter) {
      text.Counter(m.name, m.help, labels, m.value);
    } else {
      text.Gauge(m.name, m.help, labels, m.value);
    }
  }
  return text.Take();
}

}  // namespace eddy
