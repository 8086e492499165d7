#include "engine/log.h"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <vector>

#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/json_writer.h"

namespace eddy {
namespace {

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}
LogFormat g_format = LogFormat::kText;      // guarded by Mu()
std::vector<std::string>& Secrets() {       // guarded by Mu()
  static std::vector<std::string> secrets;
  return secrets;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
    default: return "info";
  }
}

std::string RedactedLocked(absl::string_view text) {
  std::string out(text);
  for (const std::string& s : Secrets()) out = absl::StrReplaceAll(out, {{s, "***"}});
  return out;
}

}  // namespace

void SetLogFormat(LogFormat format) {
  std::lock_guard<std::mutex> lock(Mu());
  g_format = format;
}

LogFormat GetLogFormat() {
  std::lock_guard<std::mutex> lock(Mu());
  return g_format;
}

bool ParseLogFormat(absl::string_view name, LogFormat* format) {
  if (name == "text") {
    *format = LogFormat::kText;
  } else if (name == "json") {
    *format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

void RedactInLogs(const std::string& secret) {
  if (secret.size() < 4) return;
  std::lock_guard<std::mutex> lock(Mu());
  for (const std::string& s : Secrets()) {
    if (s == secret) return;
  }
  Secrets().push_back(secret);
  // Longest first: a secret that contains another is replaced whole.
  std::stable_sort(Secrets().begin(), Secrets().end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redacted(absl::string_view text) {
  std::lock_guard<std::mutex> lock(Mu());
  return RedactedLocked(text);
}

void Log(LogLevel level, absl::string_view component, absl::string_view message) {
  std::string line;
  std::lock_guard<std::mutex> lock(Mu());
  const std::string msg = RedactedLocked(message);
  if (g_format == LogFormat::kJson) {
    JsonObjectWriter w(line);
    w.Field("ts", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()))
        .Field("level", LevelName(level))
        .Field("component", component)
        .Field("msg", msg);
    w.Close();
  } else {
    line.append(component.data(), component.size());
    line.append(": ");
    line.append(msg);
  }
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace eddy
