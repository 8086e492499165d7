// report.html of a CTR run (`eddy replay ctr --report`, `eddy demo`): one
// self-contained file (inline SVG, no scripts, no network) drawn from the
// run's output directory: summary.json, metrics.jsonl (logloss, AUC and
// calibration over event time), alerts.jsonl (markers on those charts, and a
// table), feature_drift.jsonl (PSI per field and window) and, when present,
// throughput.jsonl ({"seconds","events"} samples of the run).
#ifndef EDDY_JOBS_CTR_REPORT_H_
#define EDDY_JOBS_CTR_REPORT_H_

#include <string>

#include "absl/status/status.h"

namespace eddy::ctr {

// Writes DIR/report.html. Errors: DIR/summary.json or DIR/metrics.jsonl
// missing or unreadable, or the report not writable.
absl::Status WriteReport(const std::string& dir);

}  // namespace eddy::ctr

#endif  // EDDY_JOBS_CTR_REPORT_H_
