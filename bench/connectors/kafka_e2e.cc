// End-to-end Kafka figures on the embedded broker (issue: Step 3):
//
//  1. Throughput: a topic preloaded with listen events is read by kcat
//     (`kcat -C -o beginning -e`, the raw consume rate), then consumed by
//     `eddy run qualified_plays` (decode, filter, re-encode, produce to an
//     output topic, checkpoint) in this process. Both rates are measured
//     from the first record to the last, so the consumer-group join (about
//     3 s on the embedded broker) is left out of Eddy's.
//  2. Latency: events stamped with the wall clock are produced at a fixed
//     rate (default half of Eddy's measured throughput); a consumer of the
//     output topic records now - ts for each output: p50, p99, max.
//
//     Each output's latency is also split at the job's produce call (the
//     output's CreateTime): event -> produce call, produce call -> read.
//
// Usage: kafka_e2e [--events N] [--rate EVENTS_PER_S] [--seconds S] [--trace FILE]
// --trace writes one line per output read: event ts, read time, the job's
// produce time (ms since the epoch) and the output's partition.
// The broker, the job and the clients share the machine's cores.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "connectors/embedded_broker.h"
#include "engine/live.h"

namespace eddy {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

rd_kafka_t* Client(rd_kafka_type_t type, const std::string& bootstrap,
                   const std::vector<std::pair<std::string, std::string>>& conf_kv) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  for (const auto& [k, v] : conf_kv) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s\n", err);
      std::exit(1);
    }
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (rk == nullptr) {
    std::fprintf(stderr, "%s\n", err);
    std::exit(1);
  }
  return rk;
}

std::string Listen(uint64_t i, int64_t ts) {
  static const char* kGenres[] = {"pop", "rock", "jazz", "hiphop", "classical", "metal"};
  return absl::StrCat("{\"type\":\"listen\",\"ts\":", ts, ",\"user\":\"u", i % 5000,
                      "\",\"track\":\"t", (i * 7919) % 20000, "\",\"artist\":\"a", (i * 31) % 500,
                      "\",\"genre\":\"", kGenres[i % 6], "\",\"ms_played\":", 30000 + i % 200000,
                      "}");
}

void ProduceOne(rd_kafka_t* p, const std::string& topic, const std::string& key,
                const std::string& value) {
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      std::fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err));
      std::exit(1);
    }
    rd_kafka_poll(p, 5);
  }
}

// Records the brokers hold in `topic` (high - low, all partitions).
int64_t Retained(const std::string& bootstrap, const std::string& topic, int partitions) {
  rd_kafka_t* c = Client(RD_KAFKA_CONSUMER, bootstrap, {{"group.id", "retained"}});
  int64_t total = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t low = 0, high = 0;
    rd_kafka_query_watermark_offsets(c, topic.c_str(), p, &low, &high, 10000);
    total += high - low;
  }
  rd_kafka_destroy(c);
  return total;
}

LiveOptions JobOptions(const std::string& bootstrap, const std::string& prefix,
                       const std::string& state_dir, std::atomic<bool>* stop) {
  LiveOptions o;
  o.job = "qualified_plays";
  o.kafka.brokers = bootstrap;
  o.group = prefix + ".group";
  o.topics = {{"events", prefix + ".events"}, {"plays", prefix + ".plays"},
              {"dead_letters", prefix + ".dlq"}, {"late_events", prefix + ".late"}};
  o.state_dir = state_dir;
  if (const char* props = std::getenv("EDDY_KAFKA")) {
    for (absl::string_view kv : absl::StrSplit(props, ',', absl::SkipEmpty())) {
      const size_t eq = kv.find('=');
      o.kafka.properties[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
  }
  o.status_interval_ms = 0;
  o.stop = stop;
  return o;
}

int Main(int argc, char** argv) {
  int64_t events = 400000, rate = 0, seconds = 10;
  std::string trace_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--trace") {
      trace_file = argv[i + 1];
      continue;
    }
    int64_t* target = flag == "--events" ? &events : flag == "--rate" ? &rate
                                                   : flag == "--seconds" ? &seconds : nullptr;
    if (target == nullptr || !absl::SimpleAtoi(argv[i + 1], target)) {
      std::fprintf(stderr, "usage: kafka_e2e [--events N] [--rate R] [--seconds S] [--trace FILE]\n");
      return 2;
    }
  }
  auto broker = EmbeddedBroker::Start({1});
  if (!broker.ok()) return 1;
  const std::string bootstrap = (*broker)->bootstrap_servers();
  for (const char* prefix : {"tp", "lat"}) {
    for (const auto& [name, partitions] :
         std::vector<std::pair<const char*, int>>{{".events", 4}, {".plays", 4}, {".dlq", 1}, {".late", 1}}) {
      if (!(*broker)->CreateTopic(absl::StrCat(prefix, name), partitions).ok()) return 1;
    }
  }
  const std::string scratch = std::filesystem::temp_directory_path() /
                              absl::StrCat("eddy_kafka_e2e_", getpid());

  // ---- 1. throughput ----
  {
    rd_kafka_t* p = Client(RD_KAFKA_PRODUCER, bootstrap,
                           {{"compression.codec", "lz4"}, {"linger.ms", "50"},
                            {"batch.size", "1000000"}, {"queue.buffering.max.messages", "1000000"}});
    for (int64_t i = 0; i < events; ++i) {
      ProduceOne(p, "tp.events", absl::StrCat("u", i % 5000), Listen(i, 1735689600000 + i));
    }
    rd_kafka_flush(p, 60000);
    rd_kafka_destroy(p);
  }
  const int64_t retained = Retained(bootstrap, "tp.events", 4);
  std::printf("preloaded %lld events; the broker retains %lld\n", static_cast<long long>(events),
              static_cast<long long>(retained));

  const auto k0 = Clock::now();
  const std::string kcat = absl::StrCat("kcat -C -b ", bootstrap,
                                        " -t tp.events -o beginning -e -q > /dev/null 2>&1");
  if (std::system(kcat.c_str()) != 0) {
    std::fprintf(stderr, "kcat failed (is it installed?)\n");
    return 1;
  }
  const double kcat_s = std::chrono::duration<double>(Clock::now() - k0).count();
  const double kcat_rate = retained / kcat_s;

  std::atomic<bool> stop{false};
  LiveOptions o = JobOptions(bootstrap, "tp", scratch + "/tp", &stop);
  Clock::time_point first, last;
  bool started = false;
  o.progress = [&](const RunStats& stats) {
    if (!started && stats.events > 0) {
      started = true;
      first = Clock::now();
    }
    if (static_cast<int64_t>(stats.events) >= retained && !stop.load()) {
      last = Clock::now();
      stop = true;
    }
  };
  absl::StatusOr<RunStats> stats = RunLive(o);
  if (!stats.ok()) {
    std::fprintf(stderr, "eddy run: %s\n", std::string(stats.status().message()).c_str());
    return 1;
  }
  // RunLive returns after the final checkpoint: every output acknowledged.
  const double acked_s = std::chrono::duration<double>(Clock::now() - first).count();
  const double eddy_s = std::chrono::duration<double>(last - first).count();
  const double eddy_rate = (retained - 0.0) / std::max(eddy_s, 1e-9);
  std::printf("\nthroughput (consume -> decode, filter, encode -> produce), %lld events:\n",
              static_cast<long long>(retained));
  std::printf("  kcat raw consume      %8.0f events/s  (%.2f s)\n", kcat_rate, kcat_s);
  std::printf("  eddy run              %8.0f events/s  (%.2f s from first to last record)\n",
              eddy_rate, eddy_s);
  std::printf("  eddy run, acknowledged %7.0f events/s  (%.2f s to the final checkpoint)\n",
              retained / acked_s, acked_s);
  std::printf("  eddy / kcat           %8.2f\n", eddy_rate / kcat_rate);

  // ---- 2. latency at a fixed rate ----
  if (rate <= 0) rate = static_cast<int64_t>(eddy_rate / 2);
  std::atomic<bool> stop_lat{false};
  LiveOptions lo = JobOptions(bootstrap, "lat", scratch + "/lat", &stop_lat);
  double max_checkpoint_s = 0;
  uint64_t checkpoints = 0;
  lo.progress = [&](const RunStats& s) {
    max_checkpoint_s = std::max(max_checkpoint_s, s.last_checkpoint_seconds);
    checkpoints = s.checkpoints;
  };
  std::thread job([&] {
    absl::StatusOr<RunStats> s = RunLive(lo);
    if (!s.ok()) std::fprintf(stderr, "eddy run: %s\n", std::string(s.status().message()).c_str());
  });
  std::vector<int64_t> latencies;
  // The two hops of each output: event -> the job's produce call (the
  // output's CreateTime, which the sink leaves to librdkafka), and that
  // call -> read here.
  std::vector<int64_t> to_job, from_job;
  std::vector<std::array<int64_t, 4>> trace;
  // Reserved up front: growing a vector of a million entries mid-run
  // copies it into fresh pages, and on this machine (a VM) faulting those
  // in stalls the reader for 100-400 ms, which it would then measure as
  // the job's latency.
  const size_t expected = static_cast<size_t>(rate * seconds * 1.2);
  for (auto* v : {&latencies, &to_job, &from_job}) v->reserve(expected);
  if (!trace_file.empty()) trace.reserve(expected);
  std::atomic<bool> stop_reader{false};
  std::thread reader([&] {
    rd_kafka_t* c = Client(RD_KAFKA_CONSUMER, bootstrap,
                           {{"group.id", "lat-reader"}, {"auto.offset.reset", "latest"},
                            {"fetch.wait.max.ms", "5"},
                            // Past these, librdkafka 2.0.2 pauses fetching for a
                            // second: the reader would measure its own stall.
                            {"queued.min.messages", "1000000"},
                            {"queued.max.messages.kbytes", "262144"}});
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t* t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, "lat.plays", RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, t);
    rd_kafka_topic_partition_list_destroy(t);
    while (!stop_reader.load()) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 50);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const std::string v(static_cast<const char*>(m->payload), m->len);
        const size_t at = v.find("\"ts\":");
        int64_t ts = 0;
        if (at != std::string::npos &&
            absl::SimpleAtoi(v.substr(at + 5, v.find(',', at) - at - 5), &ts)) {
          const int64_t now = NowMs();
          latencies.push_back(now - ts);
          rd_kafka_timestamp_type_t type;
          const int64_t produced = rd_kafka_message_timestamp(m, &type);
          if (!trace_file.empty()) {
            trace.push_back({ts, now, type == RD_KAFKA_TIMESTAMP_CREATE_TIME ? produced : 0,
                             m->partition});
          }
          if (type == RD_KAFKA_TIMESTAMP_CREATE_TIME) {
            to_job.push_back(produced - ts);
            from_job.push_back(now - produced);
          }
        }
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
  });
  {
    rd_kafka_t* p = Client(RD_KAFKA_PRODUCER, bootstrap,
                           {{"compression.codec", "lz4"}, {"linger.ms", "1"}});
    // The producer learns the topic's leaders before the clock starts: a
    // cold producer holds its first records for about a second while it
    // looks them up, which is the generator's start-up, not the job's latency.
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(p, "lat.events", nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(p, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    std::this_thread::sleep_for(std::chrono::seconds(6));  // both consumers join their groups
    const auto start = Clock::now();
    int64_t sent = 0;
    while (Clock::now() - start < std::chrono::seconds(seconds)) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      const int64_t due = static_cast<int64_t>(elapsed * rate);
      for (; sent < due; ++sent) ProduceOne(p, "lat.events", absl::StrCat("u", sent % 5000), Listen(sent, NowMs()));
      rd_kafka_poll(p, 0);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    stop_lat = true;
    job.join();
    stop_reader = true;
    reader.join();
    if (!trace_file.empty()) {
      if (FILE* o = std::fopen(trace_file.c_str(), "w")) {
        for (const auto& t : trace) {
          std::fprintf(o, "%lld %lld %lld %lld\n", static_cast<long long>(t[0]),
                       static_cast<long long>(t[1]), static_cast<long long>(t[2]),
                       static_cast<long long>(t[3]));
        }
        std::fclose(o);
      }
    }
    for (auto* v : {&latencies, &to_job, &from_job}) std::sort(v->begin(), v->end());
    const auto pct_of = [](const std::vector<int64_t>& v, double q) -> long long {
      return v.empty() ? -1 : v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
    };
    std::printf("\nlatency at %lld events/s for %lld s (%lld sent, %zu outputs read):\n",
                static_cast<long long>(rate), static_cast<long long>(seconds),
                static_cast<long long>(sent), latencies.size());
    std::printf("  event -> output  p50 %lld ms, p99 %lld ms, max %lld ms\n",
                pct_of(latencies, 0.5), pct_of(latencies, 0.99),
                static_cast<long long>(latencies.empty() ? -1 : latencies.back()));
    std::printf("  event -> the job's produce call  p50 %lld ms, p99 %lld ms\n",
                pct_of(to_job, 0.5), pct_of(to_job, 0.99));
    std::printf("  produce call -> read             p50 %lld ms, p99 %lld ms\n",
                pct_of(from_job, 0.5), pct_of(from_job, 0.99));
    std::printf("  %llu checkpoints, the longest %.0f ms\n",
                static_cast<unsigned long long>(checkpoints), max_checkpoint_s * 1000);
  }
  std::filesystem::remove_all(scratch);
  return 0;
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) { return eddy::Main(argc, argv); }
