#include "engine/cli.h"

#include <pthread.h>
#include <unistd.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/embedded_broker.h"
#include "connectors/json_reader.h"
#include "connectors/tcp_forwarder.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "engine/flags.h"
#include "engine/job_registry.h"
#include "engine/live.h"
#include "engine/log.h"
#include "engine/replay.h"
#include "engine/status_macros.h"

namespace eddy {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

const char kUsage[] =
    "eddy — streaming features and online learning\n"
    "\n"
    "usage:\n"
    "  eddy jobs                     list the registered jobs\n"
    "  eddy describe JOB             print a job's operator graph\n"
    "  eddy replay JOB --input PATH --output-dir DIR [flags]\n"
    "                                run a job over files in event time\n"
    "  eddy run JOB --brokers HOST:PORT [flags]\n"
    "                                run a job on Kafka until SIGTERM (a consumer-group member)\n"
    "  eddy broker [--brokers N] [--port P] [--topic NAME:PARTITIONS ...]\n"
    "                                run an embedded Kafka cluster on loopback until SIGTERM\n"
    "  eddy gen NAME --out FILE [flags]\n"
    "                                generate a synthetic event stream\n"
    "  eddy demo [--seconds N]       the CTR demo: broker, event stream and job, live status\n"
    "  eddy compare DIR_A DIR_B      two runs' summary.json side by side\n"
    "  eddy help [COMMAND]           this text, or a command's flags\n";

// Flags `eddy replay` and `eddy run` share.
std::vector<FlagDef> JobFlags(const char* checkpoint_interval_default) {
  return {
      {"threads", FlagDef::kValue, "worker threads (default 1); outputs are identical for any value"},
      {"batch-size", FlagDef::kValue, "records per source per batch (default 4096)"},
      {"max-record-bytes", FlagDef::kValue, "longer records go to dead letters (default 1048576)"},
      {"param", FlagDef::kRepeated, "KEY=VALUE passed to the job's builder"},
      {"state-dir", FlagDef::kValue,
       "keep keyed state and checkpoints here (RocksDB); rerun with it to resume after a crash"},
      {"checkpoint-every", FlagDef::kValue, "checkpoint every N input records"},
      {"checkpoint-interval-ms", FlagDef::kValue,
       absl::StrCat("and at least every N ms of wall time (default ", checkpoint_interval_default,
                    "; 0: off)")},
      {"state-memory-mb", FlagDef::kValue,
       "memory for state: caches, RocksDB block cache and memtables (default 256)"},
  };
}

const std::vector<FlagDef>& ReplayFlags() {
  static const std::vector<FlagDef> defs = [] {
    std::vector<FlagDef> d = {
        {"input", FlagDef::kRepeated,
         "input file or directory (.jsonl or .jsonl.gz); SOURCE=PATH for jobs with several sources"},
        {"output-dir", FlagDef::kValue, "directory for <sink>.jsonl, dead_letters.jsonl, summary.json"},
        {"report", FlagDef::kBool,
         "also write report.html (jobs with a report, e.g. ctr) and throughput.jsonl"},
        {"progress", FlagDef::kBool,
         "a progress line on stderr (events, events/s, event time); on by default on a terminal"},
    };
    for (FlagDef& f : JobFlags("10000")) d.push_back(std::move(f));
    return d;
  }();
  return defs;
}

const std::vector<FlagDef>& RunFlags() {
  static const std::vector<FlagDef> defs = [] {
    std::vector<FlagDef> d = {
        {"brokers", FlagDef::kValue, "Kafka bootstrap servers, HOST:PORT[,HOST:PORT...]"},
        {"group", FlagDef::kValue, "consumer group (default eddy.JOB); processes in one group share the partitions"},
        {"topic", FlagDef::kRepeated,
         "NAME=TOPIC: read source NAME or write output NAME (a sink, dead_letters, late_events) "
         "from/to TOPIC instead of JOB.NAME, JOB.dlq, JOB.late"},
        {"kafka", FlagDef::kRepeated,
         "KEY=VALUE librdkafka property for both clients (consumer.KEY / producer.KEY: one)"},
        {"connect-timeout-ms", FlagDef::kValue, "give up reaching the brokers after N ms (default 10000)"},
        {"status-interval-ms", FlagDef::kValue, "a status line on stderr every N ms (default 5000; 0: none)"},
        {"input-buffer-mb", FlagDef::kValue,
         "records fetched ahead per input partition before it pauses (default 8)"},
        {"log-format", FlagDef::kValue, "text (default) or json: one JSON object per log line"},
        {"metrics-port", FlagDef::kValue,
         "[HOST:]PORT: serve Prometheus metrics on /metrics and a health check on /healthz "
         "(PORT alone: every interface; 0: a free port, printed)"},
        {"exactly-once", FlagDef::kBool,
         "outputs exactly once: held until each checkpoint, then published (checkpoint "
         "interval defaults to 200 ms)"},
    };
    for (FlagDef& f : JobFlags("5000, 200 with --exactly-once")) d.push_back(std::move(f));
    for (FlagDef& f : d) {
      if (f.name == "state-dir") f.help = "state and checkpoints (RocksDB; default eddy-state/GROUP)";
    }
    return d;
  }();
  return defs;
}

// The values of JobFlags.
struct JobSettings {
  int threads = 1;
  size_t batch_size = 4096;
  size_t max_record_bytes = 1 << 20;
  std::map<std::string, std::string> params;
  std::string state_dir;
  uint64_t checkpoint_every = 0;
  int64_t checkpoint_interval_ms = 0;
  size_t state_memory_bytes = 0;

  // Sets the same-named fields of ReplayOptions or LiveOptions.
  template <typename Options>
  void ApplyTo(Options& o) const {
    o.threads = threads;
    o.batch_size = batch_size;
    o.max_record_bytes = max_record_bytes;
    o.params = params;
    o.state_dir = state_dir;
    o.checkpoint_every_records = checkpoint_every;
    o.checkpoint_interval_ms = checkpoint_interval_ms;
    o.state_memory_bytes = state_memory_bytes;
  }
};

absl::StatusOr<JobSettings> ParseJobSettings(const ParsedArgs& parsed, int64_t every_default,
                                             int64_t interval_default) {
  JobSettings s;
  EDDY_ASSIGN_OR_RETURN(int64_t threads, parsed.GetInt("threads", 1, 1, 256));
  EDDY_ASSIGN_OR_RETURN(int64_t batch, parsed.GetInt("batch-size", 4096, 1, 1 << 24));
  EDDY_ASSIGN_OR_RETURN(int64_t max_bytes,
                        parsed.GetInt("max-record-bytes", 1 << 20, 16, int64_t{1} << 30));
  EDDY_ASSIGN_OR_RETURN(int64_t every, parsed.GetInt("checkpoint-every", every_default, 0, INT64_MAX));
  EDDY_ASSIGN_OR_RETURN(int64_t interval,
                        parsed.GetInt("checkpoint-interval-ms", interval_default, 0, INT64_MAX));
  EDDY_ASSIGN_OR_RETURN(int64_t memory_mb, parsed.GetInt("state-memory-mb", 256, 16, 1 << 20));
  EDDY_ASSIGN_OR_RETURN(s.params, parsed.GetKeyValues("param"));
  s.threads = static_cast<int>(threads);
  s.batch_size = static_cast<size_t>(batch);
  s.max_record_bytes = static_cast<size_t>(max_bytes);
  s.state_dir = parsed.Get("state-dir");
  s.checkpoint_every = static_cast<uint64_t>(every);
  s.checkpoint_interval_ms = interval;
  s.state_memory_bytes = static_cast<size_t>(memory_mb) << 20;
  return s;
}

int Fail(int code, const absl::Status& status) {
  Log(LogLevel::kError, "eddy", status.message());
  return code;
}

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
      return kExitUsage;
    default:
      return kExitFailure;
  }
}

int CmdJobs() {
  const JobRegistry& reg = JobRegistry::Global();
  for (const JobInfo* job : reg.List()) {
    std::printf("%-20s %s\n", job->name.c_str(), job->description.c_str());
  }
  for (const std::string& dup : reg.duplicates()) {
    std::fprintf(stderr, "eddy: warning: job '%s' is registered more than once\n", dup.c_str());
  }
  for (const std::string& dup : GeneratorRegistry::Global().duplicates()) {
    std::fprintf(stderr, "eddy: warning: generator '%s' is registered more than once\n",
                 dup.c_str());
  }
  return 0;
}

int CmdDescribe(const std::vector<std::string>& args) {
  if (args.size() != 1) return Fail(kExitUsage, absl::InvalidArgumentError("usage: eddy describe JOB"));
  const JobInfo* info = JobRegistry::Global().Find(args[0]);
  if (info == nullptr) {
    return Fail(kExitUsage, absl::NotFoundError(absl::StrCat("unknown job '", args[0], "' (see: eddy jobs)")));
  }
  absl::StatusOr<JobGraph> graph = info->factory(JobConfig());
  if (!graph.ok()) return Fail(kExitFailure, graph.status());
  std::printf("job %s: %s\n%s", info->name.c_str(), info->description.c_str(),
              graph->Describe().c_str());
  if (!info->flags.empty()) {
    std::printf("flags of the job (eddy replay / eddy run):\n%s", FlagHelp(info->flags).c_str());
  }
  absl::StatusOr<std::map<std::string, std::string>> topics = JobTopics(*graph, info->name, {});
  if (!topics.ok()) return Fail(kExitFailure, topics.status());
  std::printf("kafka topics (eddy run):\n");
  for (SourceOperator* s : graph->sources()) {
    std::printf("  in   %-20s <- %s\n", s->node()->name().c_str(), topics->at(s->node()->name()).c_str());
  }
  for (const auto& [name, topic] : *topics) {
    bool source = false;
    for (SourceOperator* s : graph->sources()) source = source || s->node()->name() == name;
    if (!source) std::printf("  out  %-20s -> %s\n", name.c_str(), topic.c_str());
  }
  std::printf("  eos  %-20s <> %s.staging (with --exactly-once; 1 partition)\n", "staging",
              info->name.c_str());
  for (const ExchangeTopics& x : JobExchangeTopics(*graph, info->name)) {
    std::printf("  internal %-16s <> %s, %s (equal partition counts)\n", x.key_by.c_str(),
                x.repartition.c_str(), x.changelog.c_str());
  }
  return 0;
}

// `base` and the flags of the job args[0] names, if it names one.
std::vector<FlagDef> WithJobFlags(const std::vector<FlagDef>& base,
                                  const std::vector<std::string>& args) {
  std::vector<FlagDef> defs = base;
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    if (const JobInfo* info = JobRegistry::Global().Find(args[0])) {
      defs.insert(defs.end(), info->flags.begin(), info->flags.end());
    }
  }
  return defs;
}

// The values of the job's own flags, as parameters.
absl::Status AddJobFlagParams(const ParsedArgs& parsed, const std::string& job,
                              std::map<std::string, std::string>& params) {
  const JobInfo* info = JobRegistry::Global().Find(job);
  if (info == nullptr) return absl::OkStatus();
  for (const FlagDef& f : info->flags) {
    if (!parsed.Has(f.name)) continue;
    if (params.count(f.name) > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", f.name, " and --param ", f.name, "=... are the same setting: give one"));
    }
    params[f.name] = f.kind == FlagDef::kBool        ? std::string("true")
                     : f.kind == FlagDef::kRepeated ? absl::StrJoin(parsed.GetAll(f.name), ",")
                                                     : parsed.Get(f.name);
  }
  return absl::OkStatus();
}

absl::StatusOr<ReplayOptions> ParseReplay(const std::vector<std::string>& args) {
  EDDY_ASSIGN_OR_RETURN(ParsedArgs parsed,
                        ParseArgs(args, WithJobFlags(ReplayFlags(), args), "eddy replay"));
  if (parsed.positional().size() != 1) {
    return absl::InvalidArgumentError(
        "usage: eddy replay JOB --input PATH --output-dir DIR (see: eddy help replay)");
  }
  EDDY_ASSIGN_OR_RETURN(JobSettings js, ParseJobSettings(parsed, 100000, 10000));
  ReplayOptions options;
  options.job = parsed.positional()[0];
  options.inputs = parsed.GetAll("input");
  options.output_dir = parsed.Get("output-dir");
  EDDY_RETURN_IF_ERROR(AddJobFlagParams(parsed, options.job, js.params));
  js.ApplyTo(options);
  return options;
}

int CmdReplay(const std::vector<std::string>& args) {
  absl::StatusOr<ReplayOptions> options = ParseReplay(args);
  if (!options.ok()) return Fail(kExitUsage, options.status());
  bool report = false, progress = isatty(2) != 0;
  for (const std::string& a : args) {
    report = report || a == "--report";
    progress = progress || a == "--progress";
  }
  const ReportInfo* report_info = nullptr;
  if (report) {
    report_info = ReportRegistry::Global().Find(options->job);
    if (report_info == nullptr) {
      return Fail(kExitUsage, absl::InvalidArgumentError(
                                  absl::StrCat("--report: job '", options->job, "' has no report")));
    }
  }
  // The progress line and throughput samples, about twice a second.
  const auto start = std::chrono::steady_clock::now();
  auto last = start - std::chrono::seconds(1);
  std::string throughput;
  if (progress || report) {
    options->progress = [&](const RunStats& stats) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::milliseconds(500)) return;
      last = now;
      const double secs = std::chrono::duration<double>(now - start).count();
      absl::StrAppendFormat(&throughput, "{\"seconds\":%.3f,\"events\":%llu}\n", secs,
                            static_cast<unsigned long long>(stats.events));
      if (!progress) return;
      const std::string at =
          stats.final_watermark > -kMaxAbsEventTime && stats.final_watermark < kMaxAbsEventTime
              ? absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixMillis(stats.final_watermark),
                                 absl::UTCTimeZone())
              : std::string("-");
      std::fprintf(stderr, "\r%s: %llu events  %.0f/s  event time %s   ", options->job.c_str(),
                   static_cast<unsigned long long>(stats.events),
                   secs > 0 ? stats.events / secs : 0.0, at.c_str());
    };
  }
  absl::StatusOr<RunStats> stats = RunReplay(*options);
  if (progress) std::fprintf(stderr, "\n");
  if (!stats.ok()) return Fail(ExitCodeFor(stats.status()), stats.status());
  if (report) {
    absl::StrAppendFormat(&throughput, "{\"seconds\":%.3f,\"events\":%llu}\n",
                          stats->wall_seconds, static_cast<unsigned long long>(stats->events));
    std::FILE* f = std::fopen((options->output_dir + "/throughput.jsonl").c_str(), "w");
    if (f == nullptr || std::fputs(throughput.c_str(), f) < 0 || std::fclose(f) != 0) {
      return Fail(kExitFailure, absl::InternalError("cannot write throughput.jsonl"));
    }
    absl::Status s = report_info->write(options->output_dir);
    if (!s.ok()) return Fail(kExitFailure, s);
  }
  std::printf("%s: %llu events, %llu dead letters, %llu late, %.3f s (%.0f events/s)\n",
              options->job.c_str(), static_cast<unsigned long long>(stats->events),
              static_cast<unsigned long long>(stats->dead_letters),
              static_cast<unsigned long long>(stats->late_events), stats->wall_seconds,
              stats->wall_seconds > 0 ? stats->events / stats->wall_seconds : 0.0);
  for (const auto& [sink, n] : stats->sink_records) {
    std::printf("  %-24s %llu records -> %s/%s.jsonl\n", sink.c_str(),
                static_cast<unsigned long long>(n), options->output_dir.c_str(), sink.c_str());
  }
  std::printf("  summary                  %s/summary.json\n", options->output_dir.c_str());
  if (report) std::printf("  report                   %s/report.html\n", options->output_dir.c_str());
  return 0;
}

// The numeric and string fields of a flat summary.json, in order (nested
// objects are skipped).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> SummaryFields(
    const std::string& dir) {
  std::FILE* f = std::fopen((dir + "/summary.json").c_str(), "r");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("no ", dir, "/summary.json"));
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  std::vector<std::pair<std::string, std::string>> out;
  absl::Status s = ParseJsonObjectCopy(text, [&](absl::string_view key, JsonValue& v) {
    double d = 0;
    std::string str;
    if (v.IsNull()) {
      out.emplace_back(std::string(key), "null");
    } else if (v.GetDouble(d).ok()) {
      out.emplace_back(std::string(key), absl::StrFormat("%.6g", d));
    } else if (v.GetString(str).ok()) {
      out.emplace_back(std::string(key), str);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(dir, "/summary.json: ", s.message()));
  return out;
}

int CmdCompare(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    return Fail(kExitUsage, absl::InvalidArgumentError("usage: eddy compare DIR_A DIR_B"));
  }
  auto a = SummaryFields(args[0]);
  if (!a.ok()) return Fail(kExitUsage, a.status());
  auto b = SummaryFields(args[1]);
  if (!b.ok()) return Fail(kExitUsage, b.status());
  std::map<std::string, std::string> in_b(b->begin(), b->end());
  std::printf("%-22s %18s %18s %12s\n", "", args[0].c_str(), args[1].c_str(), "B - A");
  for (const auto& [key, va] : *a) {
    auto it = in_b.find(key);
    if (it == in_b.end()) continue;
    double x = 0, y = 0;
    std::string delta;
    if (absl::SimpleAtod(va, &x) && absl::SimpleAtod(it->second, &y)) {
      delta = absl::StrFormat("%+.4g", y - x);
      if (x != 0) absl::StrAppendFormat(&delta, " (%+.1f%%)", 100 * (y - x) / std::fabs(x));
    }
    std::printf("%-22s %18s %18s %12s\n", key.c_str(), va.c_str(), it->second.c_str(), delta.c_str());
  }
  return 0;
}

absl::StatusOr<LiveOptions> ParseRun(const std::vector<std::string>& args) {
  EDDY_ASSIGN_OR_RETURN(ParsedArgs parsed,
                        ParseArgs(args, WithJobFlags(RunFlags(), args), "eddy run"));
  if (parsed.positional().size() != 1) {
    return absl::InvalidArgumentError(
        "usage: eddy run JOB --brokers HOST:PORT [flags] (see: eddy help run)");
  }
  if (!parsed.Has("brokers") || parsed.Get("brokers").empty()) {
    return absl::InvalidArgumentError("eddy run: --brokers HOST:PORT is required");
  }
  const bool exactly_once = parsed.GetBool("exactly-once");
  EDDY_ASSIGN_OR_RETURN(JobSettings js,
                        ParseJobSettings(parsed, 1000000, exactly_once ? 200 : 5000));
  EDDY_ASSIGN_OR_RETURN(int64_t connect_ms,
                        parsed.GetInt("connect-timeout-ms", 10000, 100, 3600 * 1000));
  EDDY_ASSIGN_OR_RETURN(int64_t status_ms, parsed.GetInt("status-interval-ms", 5000, 0, INT64_MAX));
  EDDY_ASSIGN_OR_RETURN(int64_t input_mb, parsed.GetInt("input-buffer-mb", 8, 1, 4096));
  LiveOptions options;
  options.input_buffer_bytes = static_cast<size_t>(input_mb) << 20;
  options.job = parsed.positional()[0];
  EDDY_RETURN_IF_ERROR(AddJobFlagParams(parsed, options.job, js.params));
  js.ApplyTo(options);
  options.kafka.brokers = parsed.Get("brokers");
  EDDY_ASSIGN_OR_RETURN(options.kafka.properties, parsed.GetKeyValues("kafka"));
  options.kafka.connect_timeout = absl::Milliseconds(connect_ms);
  options.group = parsed.Get("group");
  EDDY_ASSIGN_OR_RETURN(options.topics, parsed.GetKeyValues("topic"));
  options.status_interval_ms = status_ms;
  options.exactly_once = exactly_once;
  if (parsed.Has("log-format")) {
    LogFormat format;
    if (!ParseLogFormat(parsed.Get("log-format"), &format)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--log-format '", parsed.Get("log-format"), "': expected text or json"));
    }
    SetLogFormat(format);
  }
  if (parsed.Has("metrics-port")) {
    options.metrics_address = parsed.Get("metrics-port");
    if (options.metrics_address.empty()) {
      return absl::InvalidArgumentError("--metrics-port needs [HOST:]PORT");
    }
  }
  return options;
}

// Blocks SIGINT and SIGTERM in this thread and every thread started after
// (librdkafka's, the pool's), so that only the returned set's sigwait sees them.
sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

int CmdRun(const std::vector<std::string>& args) {
  absl::StatusOr<LiveOptions> options = ParseRun(args);
  if (!options.ok()) return Fail(kExitUsage, options.status());
  static std::atomic<bool> stop{false};
  const sigset_t signals = BlockStopSignals();
  // The first signal drains and checkpoints; a second one exits at once (the
  // last checkpoint stays valid).
  std::thread([signals] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (stop.exchange(true)) {
        Log(LogLevel::kWarning, "eddy run", "second signal, exiting without a final checkpoint");
        std::_Exit(kExitFailure);
      }
      Log(LogLevel::kInfo, "eddy run", absl::StrCat("signal ", sig, ", stopping after the current batch"));
    }
  }).detach();
  options->stop = &stop;
  absl::StatusOr<RunStats> stats = RunLive(*options);
  if (!stats.ok()) return Fail(ExitCodeFor(stats.status()), stats.status());
  Log(LogLevel::kInfo, "eddy run " + options->job,
      absl::StrCat("stopped; ", stats->events, " events, ", stats->dead_letters, " dead letters, ",
                   stats->late_events, " late, ", stats->checkpoints, " checkpoints",
                   stats->resumed ? " (resumed from a checkpoint)" : ""));
  return 0;
}

int CmdGen(const std::vector<std::string>& args) {
  if (args.empty() || args[0].rfind("--", 0) == 0) {
    std::string names;
    for (const GeneratorInfo* g : GeneratorRegistry::Global().List()) absl::StrAppend(&names, " ", g->name);
    return Fail(kExitUsage, absl::InvalidArgumentError(
                                absl::StrCat("usage: eddy gen NAME --out FILE; generators:", names)));
  }
  const GeneratorInfo* gen = GeneratorRegistry::Global().Find(args[0]);
  if (gen == nullptr) {
    return Fail(kExitUsage, absl::NotFoundError(absl::StrCat("unknown generator '", args[0], "'")));
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(rest, gen->flags, "eddy gen " + gen->name);
  if (!parsed.ok()) return Fail(kExitUsage, parsed.status());
  if (!parsed->positional().empty()) {
    return Fail(kExitUsage, absl::InvalidArgumentError(
                                absl::StrCat("eddy gen ", gen->name, ": unexpected argument '",
                                             parsed->positional()[0], "'")));
  }
  absl::Status status = gen->run(*parsed);
  if (!status.ok()) return Fail(ExitCodeFor(status), status);
  return 0;
}

const std::vector<FlagDef>& BrokerFlags() {
  static const std::vector<FlagDef> defs = {
      {"brokers", FlagDef::kValue, "number of brokers (default 1)"},
      {"topic", FlagDef::kRepeated, "NAME:PARTITIONS, a topic to create (repeatable)"},
      {"port", FlagDef::kValue,
       "also accept clients on 127.0.0.1:PORT (forwarded to the first broker)"},
  };
  return defs;
}

int CmdBroker(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, BrokerFlags(), "eddy broker");
  if (!parsed.ok()) return Fail(kExitUsage, parsed.status());
  absl::StatusOr<int64_t> port = parsed->GetInt("port", 0, 1, 65535);
  if (!port.ok()) return Fail(kExitUsage, port.status());
  absl::StatusOr<int64_t> brokers = parsed->GetInt("brokers", 1, 1, 16);
  if (!brokers.ok()) return Fail(kExitUsage, brokers.status());
  std::vector<std::pair<std::string, int>> topics;
  for (const std::string& spec : parsed->GetAll("topic")) {
    const size_t colon = spec.rfind(':');
    int partitions = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(spec.substr(colon + 1), &partitions) || partitions < 1) {
      return Fail(kExitUsage, absl::InvalidArgumentError(absl::StrCat(
                                  "eddy broker: --topic '", spec, "' is not NAME:PARTITIONS")));
    }
    topics.emplace_back(spec.substr(0, colon), partitions);
  }
  // Block the stop signals before librdkafka starts its threads, so that
  // only sigwait below receives them.
  const sigset_t stop = BlockStopSignals();
  EmbeddedBroker::Options options;
  options.brokers = static_cast<int>(*brokers);
  absl::StatusOr<std::unique_ptr<EmbeddedBroker>> broker = EmbeddedBroker::Start(options);
  if (!broker.ok()) return Fail(kExitFailure, broker.status());
  for (const auto& [name, partitions] : topics) {
    absl::Status s = (*broker)->CreateTopic(name, partitions);
    if (!s.ok()) return Fail(kExitUsage, s);
  }
  // librdkafka 2.0.2's mock cluster picks its own ports; --port adds a
  // fixed one that forwards to the first broker.
  std::unique_ptr<TcpForwarder> forwarder;
  std::string bootstrap = (*broker)->bootstrap_servers();
  if (*port != 0) {
    const std::string first = bootstrap.substr(0, bootstrap.find(','));
    int target = 0;
    if (!absl::SimpleAtoi(first.substr(first.rfind(':') + 1), &target)) {
      return Fail(kExitFailure, absl::InternalError("unexpected bootstrap address " + bootstrap));
    }
    absl::StatusOr<std::unique_ptr<TcpForwarder>> f =
        TcpForwarder::Start(static_cast<int>(*port), target);
    if (!f.ok()) return Fail(kExitUsage, f.status());
    forwarder = *std::move(f);
    bootstrap = absl::StrCat("127.0.0.1:", *port);
  }
  std::printf("bootstrap: %s\n", bootstrap.c_str());
  for (const auto& [name, partitions] : topics) std::printf("topic: %s:%d\n", name.c_str(), partitions);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  forwarder.reset();
  broker->reset();
  std::fprintf(stderr, "eddy broker: stopped by signal %d\n", sig);
  return 0;
}

int CmdHelp(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (args[0] == "replay") {
    std::printf("eddy replay JOB --input PATH --output-dir DIR [flags]\n%s",
                FlagHelp(ReplayFlags()).c_str());
    return 0;
  }
  if (args[0] == "run") {
    std::printf("eddy run JOB --brokers HOST:PORT [flags]\n"
                "  runs JOB on Kafka until SIGTERM/SIGINT, then drains, checkpoints and exits 0.\n"
                "  Reads topic JOB.SOURCE for each source; writes JOB.SINK for each sink,\n"
                "  JOB.dlq (dead letters) and JOB.late (late records). See: eddy describe JOB\n%s",
                FlagHelp(RunFlags()).c_str());
    return 0;
  }
  if (args[0] == "gen") {
    for (const GeneratorInfo* g : GeneratorRegistry::Global().List()) {
      std::printf("eddy gen %s: %s\n%s", g->name.c_str(), g->description.c_str(),
                  FlagHelp(g->flags).c_str());
    }
    return 0;
  }
  return Fail(kExitUsage, absl::InvalidArgumentError(absl::StrCat("no help for '", args[0], "'")));
}

}  // namespace

int RunEddyCli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") return CmdHelp(rest);
  if (cmd == "jobs") return CmdJobs();
  if (cmd == "describe") return CmdDescribe(rest);
  if (cmd == "replay") {
    for (const std::string& a : rest) {
      if (a == "--help") return CmdHelp({"replay"});
    }
    return CmdReplay(rest);
  }
  if (cmd == "run") {
    for (const std::string& a : rest) {
      if (a == "--help") return CmdHelp({"run"});
    }
    return CmdRun(rest);
  }
  if (cmd == "broker") return CmdBroker(rest);
  if (cmd == "compare") return CmdCompare(rest);
  if (const CommandInfo* c = CommandRegistry::Global().Find(cmd)) {
    for (const std::string& a : rest) {
      if (a == "--help") {
        std::printf("eddy %s: %s\n%s", c->name.c_str(), c->description.c_str(),
                    FlagHelp(c->flags).c_str());
        return 0;
      }
    }
    absl::StatusOr<ParsedArgs> parsed = ParseArgs(rest, c->flags, "eddy " + c->name);
    if (!parsed.ok()) return Fail(kExitUsage, parsed.status());
    absl::Status s = c->run(*parsed);
    if (!s.ok()) return Fail(ExitCodeFor(s), s);
    return 0;
  }
  if (cmd == "gen") {
    for (const std::string& a : rest) {
      if (a == "--help") return CmdHelp({"gen"});
    }
    return CmdGen(rest);
  }
  return Fail(kExitUsage, absl::InvalidArgumentError(
                              absl::StrCat("unknown command '", cmd, "' (see: eddy --help)")));
}

}  // namespace eddy
