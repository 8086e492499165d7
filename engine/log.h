// Eddy's log lines on stderr: plain text (default) or JSON lines
// (`--log-format json`), and secrets that never appear in either.
//
//   text: eddy run ctr: partitions moved; restoring keyed state and continuing
//   json: {"ts":"2026-11-25T02:31:07.123Z","level":"info","component":"eddy run ctr",
//          "msg":"partitions moved; restoring keyed state and continuing"}
//
// A value registered with RedactInLogs (librdkafka secrets such as
// sasl.password, as they are configured) is replaced by "***" wherever it
// would appear in a line, whatever wrote it: an error message, librdkafka's
// own log, a status line.
//
// Example:
//   eddy::Log(eddy::LogLevel::kWarning, "eddy run ctr", "consumer lag is growing");
//
// Thread-safe: each line is written with one call, whole.
#ifndef EDDY_ENGINE_LOG_H_
#define EDDY_ENGINE_LOG_H_

#include <string>

#include "absl/strings/string_view.h"

namespace eddy {

enum class LogLevel { kInfo, kWarning, kError };
enum class LogFormat { kText, kJson };

// Process-wide; text until set.
void SetLogFormat(LogFormat format);
LogFormat GetLogFormat();
// Parses "text" or "json".
bool ParseLogFormat(absl::string_view name, LogFormat* format);

// From now on `secret` (if at least 4 characters: shorter ones would mask
// ordinary words) is written as "***".
void RedactInLogs(const std::string& secret);
// `text` with every registered secret replaced.
std::string Redacted(absl::string_view text);

// One line on stderr. `component` says who speaks ("eddy run ctr", "eddy:
// kafka"); in text it prefixes the message as "component: message".
void Log(LogLevel level, absl::string_view component, absl::string_view message);

}  // namespace eddy

#endif  // EDDY_ENGINE_LOG_H_
