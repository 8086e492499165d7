// The metrics endpoint: what a Prometheus scrape and a health probe get,
// and what the run's figures become on the page.
#include "engine/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/job_builder.h"
#include "engine/live_metrics.h"
#include "gtest/gtest.h"
#include "tests/testing/http.h"

namespace eddy {
namespace {

using testing::HttpExchange;
using testing::HttpGet;
using testing::PrometheusValue;

TEST(PrometheusTextTest, OneHelpAndTypePerFamilyEscapedLabelsAndExactCounts) {
  PrometheusText t;
  t.Counter("eddy_dead_letters_total", "Bad records", {{"job", "j"}, {"reason", "a \"quoted\"\\path\nnext"}}, 3);
  t.Counter("eddy_dead_letters_total", "Bad records", {{"job", "j"}, {"reason", "other"}}, 12345678901.0);
  t.Gauge("eddy_model_auc", "AUC\\ of\nscores", {}, 0.75);
  t.Gauge("eddy_model_logloss", "Logloss", {}, std::nan(""));
  t.Counter("eddy_records_read_total", "Records", {}, 100000);
  EXPECT_EQ(t.text(),
            "# HELP eddy_dead_letters_total Bad records\n"
            "# TYPE eddy_dead_letters_total counter\n"
            "eddy_dead_letters_total{job=\"j\",reason=\"a \\\"quoted\\\"\\\\path\\nnext\"} 3\n"
            "eddy_dead_letters_total{job=\"j\",reason=\"other\"} 12345678901\n"
            "# HELP eddy_model_auc AUC\\\\ of\\nscores\n"
            "# TYPE eddy_model_auc gauge\n"
            "eddy_model_auc 0.75\n"
            "# HELP eddy_model_logloss Logloss\n"
            "# TYPE eddy_model_logloss gauge\n"
            "eddy_model_logloss NaN\n"
            "# HELP eddy_records_read_total Records\n"
            "# TYPE eddy_records_read_total counter\n"
            "eddy_records_read_total 100000\n");
}

TEST(MetricsServerTest, ServesMetricsAndHealthAndRefusesEverythingElse) {
  std::atomic<bool> healthy{true};
  std::atomic<int> scrapes{0};
  auto server = MetricsServer::Start(
      "127.0.0.1:0",
      [&] {
        ++scrapes;
        return std::string("eddy_up 1\n");
      },
      [&] {
        return healthy ? MetricsServer::Health{true, "ok"}
                       : MetricsServer::Health{false, "stalled: no batch has ended for 61 s"};
      });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  EXPECT_EQ((*server)->url(), "http://127.0.0.1:" + std::to_string(port));

  testing::HttpResponse r = HttpGet(port, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "eddy_up 1\n");
  r = HttpExchange(port, "GET /metrics?name[]=eddy_up HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "eddy_up 1\n");
  r = HttpGet(port, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  healthy = false;
  r = HttpGet(port, "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "stalled: no batch has ended for 61 s\n");
  // HEAD: the status, no body.
  r = HttpExchange(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(HttpGet(port, "/").status, 404);
  EXPECT_EQ(HttpGet(port, "/metricsx").status, 404);
  EXPECT_EQ(HttpExchange(port, "POST /metrics HTTP/1.0\r\n\r\n").status, 405);
  EXPECT_EQ(HttpExchange(port, "garbage\r\n\r\n").status, 400);
  EXPECT_EQ(HttpExchange(port, "GET " + std::string(10000, 'a') + " HTTP/1.0\r\n\r\n").status, 431);
  EXPECT_EQ(scrapes.load(), 3);  // only the GET and HEAD of /metrics rendered
}

TEST(MetricsServerTest, ASilentClientDoesNotStopLaterScrapes) {
  auto server = MetricsServer::Start("127.0.0.1:0", [] { return std::string("x 1\n"); },
                                     [] { return MetricsServer::Health{}; });
  ASSERT_TRUE(server.ok()) << server.status();
  // Connects and sends nothing, and stays connected.
  const int silent = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>((*server)->port()));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(silent, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)), 0);
  // A scrape after it is still answered (once the silent one's deadline passes).
  EXPECT_EQ(HttpGet((*server)->port(), "/metrics").status, 200);
  close(silent);
}

TEST(MetricsServerTest, BadAddressesAndTakenPortsAreClearErrors) {
  for (const char* bad : {"", "x", "-1", "65536", "host:80", "127.0.0.1:", "1.2.3:80"}) {
    auto s = MetricsServer::Start(bad, [] { return std::string(); }, [] { return MetricsServer::Health{}; });
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  auto first = MetricsServer::Start("127.0.0.1:0", [] { return std::string(); },
                                    [] { return MetricsServer::Health{}; });
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = MetricsServer::Start(absl::StrCat("127.0.0.1:", (*first)->port()),
                                     [] { return std::string(); }, [] { return MetricsServer::Health{}; });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos) << second.status();
}

struct Ev {
  int64_t ts = 0;
};

absl::StatusOr<Ev> ParseEv(absl::string_view line) {
  Ev e;
  if (!absl::SimpleAtoi(line, &e.ts)) return absl::InvalidArgumentError("bad");
  return e;
}

TEST(LiveMetricsTest, TheRunsFiguresWithOperatorInputsCheckpointsAndTheJobsOwn) {
  JobBuilder job("j");
  job.Source<Ev>("events", ParseEv)
      .WithEventTime(&Ev::ts, absl::Seconds(1))
      .Filter("positive", [](const Ev& e) { return e.ts > 0; })
      .Sink("out", [](const Ev& e, std::string& line) { line += std::to_string(e.ts); });
  double logloss = 0.25;
  job.OnMetrics([&logloss](std::vector<JobGraph::Metric>* out) {
    out->push_back({"eddy_model_logloss", "Logloss", false, {{"model", "ftrl"}}, logloss});
    out->push_back({"eddy_records_read_total", "clash", true, {}, 999});  // the run's: not shown
    out->push_back({"eddy_model_auc", "AUC", false, {{"model", "ftrl"}}, 0.7});
    out->push_back({"eddy_model_logloss", "Logloss", false, {{"model", "fm"}}, 0.3});
  });
  absl::StatusOr<JobGraph> graph = std::move(job).Build();
  ASSERT_TRUE(graph.ok()) << graph.status();

  LiveMetrics m("j", std::chrono::milliseconds(0), std::chrono::milliseconds(50));
  LiveMetrics::Sources sources;
  sources.lags = [] { return std::vector<LiveMetrics::PartitionLag>{{"j.events", 3, 17}}; };
  sources.state_bytes = [] { return uint64_t{4096}; };
  sources.memory = [] {
    return std::vector<std::pair<std::string, uint64_t>>{{"rocksdb_memtables", 1 << 20}};
  };
  m.SetSources(sources);
  m.SetGraph(*graph);
  EXPECT_EQ(m.Health().reason, "starting");
  EXPECT_TRUE(m.Health().ok);

  RunStats s;
  s.events = 100;
  s.late_events = 2;
  s.batches = 4;
  s.dead_letter_reasons = {{"malformed JSON", 5}};
  s.operator_records = {{"events", 93}, {"positive", 90}};
  s.sink_records = {{"out", 90}};
  s.final_watermark = 1000;
  s.checkpoints = 1;
  s.last_checkpoint_seconds = 0.5;
  s.state_cache_bytes = 12345;
  m.BatchDone(s);
  std::string page = m.Render();
  EXPECT_EQ(PrometheusValue(page, "eddy_memory_bytes{job=\"j\",component=\"state_cache\"}"), 12345)
      << page;
  EXPECT_EQ(PrometheusValue(page, "eddy_memory_bytes{job=\"j\",component=\"rocksdb_memtables\"}"),
            1 << 20);
  // This test program's own heap (glibc's malloc here; under the
  // sanitizers, whose malloc glibc's mallinfo2 does not see, only present)
  // and RSS.
  const double in_use = PrometheusValue(page, "eddy_memory_bytes{job=\"j\",component=\"heap_in_use\"}");
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_GE(in_use, 0);
#else
  EXPECT_GT(in_use, 0);
#endif
  EXPECT_GT(PrometheusValue(page, "process_resident_memory_bytes"), 0);
  EXPECT_GE(PrometheusValue(page, "eddy_memory_bytes{job=\"j\",component=\"heap_free\"}"), 0);
  EXPECT_EQ(PrometheusValue(page, "eddy_records_read_total{job=\"j\"}"), 100) << page;
  EXPECT_EQ(PrometheusValue(page, "eddy_operator_records_in_total{job=\"j\",operator=\"positive\"}"), 93) << page;
  EXPECT_EQ(PrometheusValue(page, "eddy_operator_records_out_total{job=\"j\",operator=\"positive\"}"), 90);
  EXPECT_EQ(PrometheusValue(page, "eddy_sink_records_total{job=\"j\",sink=\"out\"}"), 90);
  EXPECT_EQ(PrometheusValue(page, "eddy_dead_letters_total{job=\"j\",reason=\"malformed JSON\"}"), 5);
  EXPECT_EQ(PrometheusValue(page, "eddy_late_records_total{job=\"j\"}"), 2);
  EXPECT_EQ(PrometheusValue(page, "eddy_consumer_lag_records{job=\"j\",topic=\"j.events\",partition=\"3\"}"), 17);
  EXPECT_EQ(PrometheusValue(page, "eddy_state_size_bytes{job=\"j\"}"), 4096);
  EXPECT_EQ(PrometheusValue(page, "eddy_checkpoints_total{job=\"j\"}"), 1);
  EXPECT_EQ(PrometheusValue(page, "eddy_checkpoint_duration_seconds{job=\"j\"}"), 0.5);
  EXPECT_GE(PrometheusValue(page, "eddy_checkpoint_age_seconds{job=\"j\"}"), 0);
  // Event time 1 s after the epoch: the watermark is decades behind.
  EXPECT_GT(PrometheusValue(page, "eddy_watermark_delay_seconds{job=\"j\"}"), 1e9);
  EXPECT_EQ(PrometheusValue(page, "eddy_model_logloss{job=\"j\",model=\"ftrl\"}"), 0.25);
  EXPECT_EQ(PrometheusValue(page, "eddy_model_logloss{job=\"j\",model=\"fm\"}"), 0.3);
  EXPECT_EQ(PrometheusValue(page, "eddy_model_auc{job=\"j\",model=\"ftrl\"}"), 0.7);
  // Each family once, contiguous; a job's metric never shadows the run's.
  for (const char* family : {"eddy_model_logloss", "eddy_records_read_total"}) {
    const std::string type = std::string("# TYPE ") + family + " ";
    const size_t first = page.find(type);
    EXPECT_NE(first, std::string::npos) << family;
    EXPECT_EQ(page.find(type, first + 1), std::string::npos) << page;
  }
  EXPECT_EQ(page.find("eddy_records_read_total{job=\"j\"} 999"), std::string::npos) << page;
  EXPECT_EQ(PrometheusValue(page, "eddy_up{job=\"j\"}"), 1);
  EXPECT_TRUE(m.Health().ok);
  EXPECT_EQ(m.Health().reason, "ok");

  // A restart in place: this run's checkpoint count starts again, the
  // process's total goes on.
  m.SetGraph(*graph);
  s.checkpoints = 2;
  m.BatchDone(s);
  logloss = 0.5;
  page = m.Render();
  EXPECT_EQ(PrometheusValue(page, "eddy_checkpoints_total{job=\"j\"}"), 3);
  EXPECT_EQ(PrometheusValue(page, "eddy_model_logloss{job=\"j\",model=\"ftrl\"}"), 0.5);

  // No batch for longer than stall_after: unhealthy, with how long.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(m.Health().ok);
  EXPECT_EQ(m.Health().reason.rfind("stalled: no batch has ended for ", 0), 0u) << m.Health().reason;
  m.BatchDone(s);
  EXPECT_TRUE(m.Health().ok);
  m.SetPhase("stopping");
  m.BatchDone(s);  // the draining batch does not make it healthy again
  EXPECT_FALSE(m.Health().ok);
  EXPECT_EQ(m.Health().reason, "stopping");
  EXPECT_EQ(PrometheusValue(m.Render(), "eddy_up{job=\"j\"}"), 0);
}

}  // namespace
}  // namespace eddy
