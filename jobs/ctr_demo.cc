// `eddy demo`: the CTR job live on the embedded broker. Starts a Kafka
// cluster on loopback (connectors/embedded_broker.h) with the ctr job's
// topics, streams `eddy gen ctr` events into ctr.events at --rate, runs the
// job on them (engine/live.h, as `eddy run ctr` would), shows a status line
// every second (events/s, consumer lag, logloss, AUC, alerts), and after
// --seconds (or Ctrl-C) stops the job (drain, checkpoint), reads its output
// topics into --output-dir and writes summary.json and report.html there.
#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "connectors/embedded_broker.h"
#include "connectors/json_reader.h"
#include "connectors/kafka_producer.h"
#include "engine/job_registry.h"
#include "engine/live.h"
#include "engine/status_macros.h"
#include "jobs/ctr_generator.h"
#include "jobs/ctr_report.h"

namespace eddy::ctr {
namespace {

std::atomic<bool> g_interrupted{false};
void OnSignal(int) { g_interrupted.store(true); }

// Reads one partition of a topic from its start, without a consumer group.
class TopicReader {
 public:
  static absl::StatusOr<std::unique_ptr<TopicReader>> Open(const std::string& brokers,
                                                           const std::string& topic) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (const auto& [k, v] : std::vector<std::pair<const char*, std::string>>{
             {"bootstrap.servers", brokers},
             {"group.id", "eddy-demo-reader"},
             {"enable.auto.commit", "false"},
             {"enable.partition.eof", "true"},
             {"log_level", "3"}}) {
      if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return absl::InternalError(err);
      }
    }
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk == nullptr) return absl::InternalError(err);
    std::unique_ptr<TopicReader> r(new TopicReader(rk));
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    const rd_kafka_resp_err_t e = rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return absl::InternalError(rd_kafka_err2str(e));
    return r;
  }
  ~TopicReader() {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }
  // Appends the records available now; with `to_end`, waits until the
  // partition's end is reached (up to 30 s).
  void Read(std::vector<std::string>& out, bool to_end) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, to_end ? 200 : 0);
      if (m == nullptr) {
        if (!to_end || std::chrono::steady_clock::now() > deadline) return;
        continue;
      }
      const bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        out.emplace_back(static_cast<const char*>(m->payload), m->len);
      }
      rd_kafka_message_destroy(m);
      if (eof && to_end) return;
    }
  }

 private:
  explicit TopicReader(rd_kafka_t* rk) : rk_(rk) {}
  rd_kafka_t* rk_;
};

struct Window {
  double examples = 0, logloss = 0, auc = 0;
};

Window ParseWindow(const std::string& json) {
  Window w;
  (void)ParseJsonObjectCopy(json, [&](absl::string_view key, JsonValue& v) {
    if (v.IsNull()) return absl::OkStatus();
    if (key == "examples") return v.GetDouble(w.examples);
    if (key == "logloss") return v.GetDouble(w.logloss);
    if (key == "auc") return v.GetDouble(w.auc);
    return absl::OkStatus();
  });
  return w;
}

absl::Status WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const std::string& l : lines) out << l << '\n';
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status RunDemo(const ParsedArgs& args) {
  EDDY_ASSIGN_OR_RETURN(int64_t seconds, args.GetInt("seconds", 60, 1, 24 * 3600));
  EDDY_ASSIGN_OR_RETURN(double rate, args.GetDouble("rate", 10000));
  if (!(rate > 0)) return absl::InvalidArgumentError("eddy demo: --rate must be > 0");
  EDDY_ASSIGN_OR_RETURN(int64_t seed, args.GetInt("seed", 1));
  double drift_at = 0;  // 0: none
  if (args.Has("drift-at") &&
      (!absl::SimpleAtod(args.Get("drift-at"), &drift_at) || !(drift_at > 0 && drift_at < 1))) {
    return absl::InvalidArgumentError(
        absl::StrCat("eddy demo: --drift-at '", args.Get("drift-at"), "' is not a fraction in (0, 1)"));
  }
  const std::string dir = args.Get("output-dir", "eddy-demo");
  const std::string model = args.Get("model", "ftrl");
  std::error_code ec;
  std::filesystem::remove_all(dir + "/state", ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("eddy demo: cannot create ", dir, ": ", ec.message()));

  // The job's topics on a fresh embedded cluster.
  const std::map<std::string, std::string> params = {{"model", model}, {"bits", "18"}};
  const JobInfo* info = JobRegistry::Global().Find("ctr");
  if (info == nullptr) return absl::InternalError("the ctr job is not registered");
  EDDY_ASSIGN_OR_RETURN(JobGraph graph, info->factory(JobConfig(params)));
  EDDY_ASSIGN_OR_RETURN(auto topics, JobTopics(graph, "ctr", {}));
  std::fprintf(stderr, "eddy demo: starting the embedded Kafka broker\n");
  EDDY_ASSIGN_OR_RETURN(auto broker, EmbeddedBroker::Start({1}));
  const std::string bootstrap = broker->bootstrap_servers();
  for (const auto& [name, topic] : topics) {
    EDDY_RETURN_IF_ERROR(broker->CreateTopic(topic, name == "events" ? 4 : 1));
  }
  for (const ExchangeTopics& x : JobExchangeTopics(graph, "ctr")) {
    EDDY_RETURN_IF_ERROR(broker->CreateTopic(x.repartition, 4));
    EDDY_RETURN_IF_ERROR(broker->CreateTopic(x.changelog, 4));
  }

  std::atomic<bool> stop{false};
  g_interrupted = false;
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  // The event stream, paced at --rate.
  KafkaOptions kafka;
  kafka.brokers = bootstrap;
  kafka.client_id = "eddy-demo";
  EDDY_ASSIGN_OR_RETURN(auto producer, KafkaLineProducer::Open(kafka, topics.at("events")));
  std::atomic<uint64_t> produced{0};
  absl::Status gen_status;
  std::thread generator([&] {
    GeneratorOptions o;
    o.seed = static_cast<uint64_t>(seed);
    o.events = static_cast<int64_t>(rate * static_cast<double>(seconds) * 2) + 1000;
    o.malformed_rate = 0.001;
    // The stream is generated for twice --seconds at --rate: the drift's
    // fraction of the run is half that of the stream.
    if (drift_at > 0) o.drift_at = {drift_at / 2};
    const auto start = std::chrono::steady_clock::now();
    gen_status = GenerateCtr(
        o,
        [&](absl::string_view line, absl::string_view key) -> absl::Status {
          const uint64_t n = produced.load(std::memory_order_relaxed);
          const auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                       std::chrono::duration<double>(static_cast<double>(n) / rate));
          std::this_thread::sleep_until(due);
          EDDY_RETURN_IF_ERROR(producer->Produce(key, line));
          produced.store(n + 1, std::memory_order_relaxed);
          return absl::OkStatus();
        },
        nullptr, &stop);
    if (gen_status.ok()) gen_status = producer->Flush();
  });

  // The job.
  std::atomic<uint64_t> consumed{0};
  std::vector<std::pair<std::string, std::string>> job_fields;
  absl::StatusOr<RunStats> stats = absl::UnknownError("not run");
  std::thread job([&] {
    LiveOptions lo;
    lo.job = "ctr";
    lo.params = params;
    lo.kafka = kafka;
    lo.state_dir = dir + "/state";
    lo.stop = &stop;
    lo.status_interval_ms = 0;
    lo.job_fields = &job_fields;
    lo.progress = [&](const RunStats& s) { consumed.store(s.events, std::memory_order_relaxed); };
    stats = RunLive(lo);
    stop.store(true);
  });

  // The status line, from the job's own metrics and alerts topics.
  EDDY_ASSIGN_OR_RETURN(auto metrics_reader, TopicReader::Open(bootstrap, topics.at("metrics")));
  EDDY_ASSIGN_OR_RETURN(auto alerts_reader, TopicReader::Open(bootstrap, topics.at("alerts")));
  std::vector<std::string> metrics, alerts;
  std::string throughput;
  const auto start = std::chrono::steady_clock::now();
  uint64_t last_consumed = 0;
  auto last = start;
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    const uint64_t c = consumed.load();
    const double eps = (c - last_consumed) / std::chrono::duration<double>(now - last).count();
    last = now;
    last_consumed = c;
    absl::StrAppendFormat(&throughput, "{\"seconds\":%.3f,\"events\":%llu}\n", elapsed,
                          static_cast<unsigned long long>(c));
    metrics_reader->Read(metrics, false);
    alerts_reader->Read(alerts, false);
    double n = 0, loss = 0;
    for (const std::string& m : metrics) {
      const Window w = ParseWindow(m);
      n += w.examples;
      loss += w.examples * w.logloss;
    }
    const Window latest = metrics.empty() ? Window{} : ParseWindow(metrics.back());
    size_t raised = 0;
    for (const std::string& a : alerts) raised += a.find("\"state\":\"alert\"") != std::string::npos;
    const uint64_t p = produced.load();
    std::fprintf(stderr,
                 "\r[%3.0f/%lld s] %llu events (%.0f/s)  lag %lld  logloss %s  AUC %s  alerts %zu   ",
                 elapsed, static_cast<long long>(seconds), static_cast<unsigned long long>(c), eps,
                 static_cast<long long>(p > c ? p - c : 0),
                 n > 0 ? absl::StrFormat("%.4f", loss / n).c_str() : "-",
                 metrics.empty() ? "-" : absl::StrFormat("%.3f", latest.auc).c_str(), raised);
    if (elapsed >= static_cast<double>(seconds) || g_interrupted.load()) stop.store(true);
  }
  std::fprintf(stderr, "\neddy demo: stopping (drain, checkpoint)\n");
  generator.join();
  job.join();
  sa.sa_handler = SIG_DFL;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  EDDY_RETURN_IF_ERROR(gen_status);
  EDDY_RETURN_IF_ERROR(stats.status());

  // The outputs, the summary and the report.
  size_t predictions = 0;
  for (const auto& [name, file] : std::vector<std::pair<std::string, std::string>>{
           {"predictions", "predictions"}, {"metrics", "metrics"}, {"alerts", "alerts"},
           {"feature_drift", "feature_drift"}, {"dead_letters", "dead_letters"}}) {
    EDDY_ASSIGN_OR_RETURN(auto reader, TopicReader::Open(bootstrap, topics.at(name)));
    std::vector<std::string> lines;
    reader->Read(lines, true);
    if (name == "predictions") predictions = lines.size();
    EDDY_RETURN_IF_ERROR(WriteLines(absl::StrCat(dir, "/", file, ".jsonl"), lines));
  }
  // The job's figures are those of its last completed metrics window (a
  // live input does not end); the impressions are all it scored.
  for (auto& [name, json] : job_fields) {
    if (name == "impressions") json = absl::StrCat(predictions);
  }
  std::string summary = absl::StrFormat(
      "{\"job\":\"ctr\",\"mode\":\"demo\",\"events\":%llu,\"dead_letters\":%llu,"
      "\"wall_seconds\":%.3f,\"events_per_second\":%.1f",
      static_cast<unsigned long long>(stats->events),
      static_cast<unsigned long long>(stats->dead_letters), stats->wall_seconds,
      stats->wall_seconds > 0 ? stats->events / stats->wall_seconds : 0.0);
  for (const auto& [name, json] : job_fields) absl::StrAppend(&summary, ",\"", name, "\":", json);
  summary += "}";
  EDDY_RETURN_IF_ERROR(WriteLines(dir + "/summary.json", {summary}));
  {
    std::ofstream t(dir + "/throughput.jsonl", std::ios::trunc);
    t << throughput;
  }
  EDDY_RETURN_IF_ERROR(WriteReport(dir));
  std::printf("eddy demo: %llu events in %.0f s; outputs, summary.json and report.html in %s/\n",
              static_cast<unsigned long long>(stats->events), stats->wall_seconds, dir.c_str());
  std::printf("%s\n", summary.c_str());
  return absl::OkStatus();
}

}  // namespace

EDDY_REGISTER_COMMAND(CommandInfo{
    "demo",
    "the CTR job live on the embedded Kafka broker, fed by the event generator",
    {
        {"seconds", FlagDef::kValue, "how long to run (default 60)"},
        {"rate", FlagDef::kValue, "events per second into ctr.events (default 10000)"},
        {"output-dir", FlagDef::kValue, "where the outputs and report go (default eddy-demo)"},
        {"model", FlagDef::kValue, "ftrl (default) or fm"},
        {"seed", FlagDef::kValue, "the generator's seed (default 1)"},
        {"drift-at", FlagDef::kValue,
         "change the hidden click model at this fraction of the run (0..1)"},
    },
    RunDemo});

}  // namespace eddy::ctr
