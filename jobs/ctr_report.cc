#include "jobs/ctr_report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "connectors/json_reader.h"
#include "engine/job_registry.h"

namespace eddy::ctr {
namespace {

// One flat JSON object's fields: numbers, and strings.
struct Row {
  std::map<std::string, double> num;
  std::map<std::string, std::string> str;
  double Num(const std::string& k, double fallback = std::nan("")) const {
    auto it = num.find(k);
    return it == num.end() ? fallback : it->second;
  }
  std::string Str(const std::string& k) const {
    auto it = str.find(k);
    return it == str.end() ? "" : it->second;
  }
};

bool ParseRow(const std::string& line, Row& row) {
  return ParseJsonObjectCopy(line, [&](absl::string_view key, JsonValue& v) -> absl::Status {
           std::string k(key);
           if (v.IsNull()) return absl::OkStatus();
           double d = 0;
           if (v.GetDouble(d).ok()) {
             row.num[k] = d;
             return absl::OkStatus();
           }
           std::string s;
           if (v.GetString(s).ok()) row.str[k] = s;
           return absl::OkStatus();  // objects and arrays: not needed here
         }).ok();
}

std::vector<Row> ReadRows(const std::string& path) {
  std::vector<Row> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    Row r;
    if (!line.empty() && ParseRow(line, r)) rows.push_back(std::move(r));
  }
  return rows;
}

std::string Escape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string TimeLabel(double ms) {
  return absl::FormatTime("%m-%d %H:%M", absl::FromUnixMillis(static_cast<int64_t>(ms)),
                          absl::UTCTimeZone());
}

struct Marker {
  double x = 0;
  std::string color;
  std::string title;
};

// A line chart as inline SVG: `points` (x, y) in data units, horizontal
// reference lines, vertical markers; x labels as times when `time_axis`.
std::string LineChart(const std::string& title, const std::vector<std::pair<double, double>>& points,
                      double x0, double x1, const std::vector<double>& references,
                      const std::vector<Marker>& markers, bool time_axis, int width = 900,
                      int height = 220) {
  constexpr int kLeft = 60, kRight = 20, kTop = 28, kBottom = 34;
  double y0 = INFINITY, y1 = -INFINITY;
  for (const auto& [x, y] : points) {
    if (std::isfinite(y)) {
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
    }
  }
  for (double r : references) {
    y0 = std::min(y0, r);
    y1 = std::max(y1, r);
  }
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  if (y1 - y0 < 1e-9) y0 -= 0.5, y1 += 0.5;
  const double pad = (y1 - y0) * 0.08;
  y0 -= pad;
  y1 += pad;
  if (x1 <= x0) x1 = x0 + 1;
  const double w = width - kLeft - kRight, h = height - kTop - kBottom;
  auto X = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * w; };
  auto Y = [&](double y) { return kTop + (1 - (y - y0) / (y1 - y0)) * h; };
  std::string svg = absl::StrFormat(
      "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' class='chart'>"
      "<text x='%d' y='18' class='title'>%s</text>"
      "<rect x='%d' y='%d' width='%.0f' height='%.0f' class='frame'/>",
      width, height, kLeft, Escape(title), kLeft, kTop, w, h);
  for (int i = 0; i <= 4; ++i) {
    const double y = y0 + (y1 - y0) * i / 4;
    absl::StrAppendFormat(&svg, "<text x='%d' y='%.1f' class='tick' text-anchor='end'>%.3g</text>",
                          kLeft - 6, Y(y) + 4, y);
    const double x = x0 + (x1 - x0) * i / 4;
    absl::StrAppendFormat(&svg, "<text x='%.1f' y='%d' class='tick' text-anchor='middle'>%s</text>",
                          X(x), height - 12,
                          time_axis ? TimeLabel(x) : absl::StrFormat("%.0f s", x));
  }
  for (double r : references) {
    absl::StrAppendFormat(&svg, "<line x1='%d' x2='%.1f' y1='%.1f' y2='%.1f' class='ref'/>", kLeft,
                          kLeft + w, Y(r), Y(r));
  }
  for (const Marker& m : markers) {
    if (m.x < x0 || m.x > x1) continue;
    absl::StrAppendFormat(&svg,
                          "<line x1='%.1f' x2='%.1f' y1='%d' y2='%.1f' stroke='%s' "
                          "class='marker'><title>%s</title></line>",
                          X(m.x), X(m.x), kTop, kTop + h, m.color, Escape(m.title));
  }
  std::string path;
  for (const auto& [x, y] : points) {
    if (!std::isfinite(y)) continue;
    absl::StrAppendFormat(&path, "%s%.1f,%.1f", path.empty() ? "M" : " L", X(x), Y(y));
  }
  if (!path.empty()) absl::StrAppend(&svg, "<path d='", path, "' class='line'/>");
  svg += "</svg>";
  return svg;
}

std::string Fmt(double v) {
  if (!std::isfinite(v)) return "–";
  if (std::fabs(v) >= 1000 && v == std::floor(v)) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.4g", v);
}

}  // namespace

absl::Status WriteReport(const std::string& dir) {
  std::vector<Row> summary_rows = ReadRows(dir + "/summary.json");
  if (summary_rows.empty()) {
    return absl::NotFoundError(absl::StrCat("report: no readable ", dir, "/summary.json"));
  }
  const Row& summary = summary_rows[0];
  const std::vector<Row> metrics = ReadRows(dir + "/metrics.jsonl");
  const std::vector<Row> alerts = ReadRows(dir + "/alerts.jsonl");
  const std::vector<Row> drift = ReadRows(dir + "/feature_drift.jsonl");
  const std::vector<Row> throughput = ReadRows(dir + "/throughput.jsonl");

  double x0 = INFINITY, x1 = -INFINITY;
  for (const Row& m : metrics) {
    x0 = std::min(x0, m.Num("window_start"));
    x1 = std::max(x1, m.Num("window_end"));
  }
  std::vector<Marker> markers;
  for (const Row& a : alerts) {
    if (a.Str("state") != "alert") continue;
    Marker m;
    m.x = a.Num("event_time");
    m.color = a.Str("severity") == "critical" ? "#d62728" : "#ff9f1c";
    m.title = absl::StrCat(a.Str("detector"), " ", a.Str("metric"),
                           a.Str("field").empty() ? "" : " " + a.Str("field"), " at ",
                           TimeLabel(m.x), ": ", Fmt(a.Num("value")));
    markers.push_back(std::move(m));
  }
  auto series = [&](const std::string& key) {
    std::vector<std::pair<double, double>> s;
    for (const Row& m : metrics) {
      s.emplace_back((m.Num("window_start") + m.Num("window_end")) / 2, m.Num(key));
    }
    return s;
  };

  std::string html =
      "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Eddy CTR report</title><style>"
      "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:960px}"
      "h1{font-size:22px}h2{font-size:17px;margin-top:28px}"
      "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;"
      "text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}"
      ".chart{display:block;margin:8px 0}.title{font-size:13px;font-weight:600}"
      ".tick{font-size:10px;fill:#555}.frame{fill:#fafafa;stroke:#ccc}"
      ".line{fill:none;stroke:#1f77b4;stroke-width:1.6}.ref{stroke:#888;stroke-dasharray:4 3}"
      ".marker{stroke-width:1.5;stroke-dasharray:3 2}.small{display:inline-block}"
      "</style></head><body>";
  absl::StrAppend(&html, "<h1>Eddy CTR run</h1><p>", Escape(dir), "</p><table>");
  const std::pair<const char*, const char*> fields[] = {
      {"model", "model"},
      {"events", "events"},
      {"impressions", "impressions"},
      {"clicks", "clicks"},
      {"logloss", "logloss (progressive)"},
      {"auc", "AUC (progressive)"},
      {"calibration", "calibration (mean score / click rate)"},
      {"alerts", "alerts"},
      {"dead_letters", "dead letters"},
      {"events_per_second", "events/s"},
  };
  for (const auto& [key, label] : fields) {
    const std::string text =
        summary.str.count(key) > 0 ? Escape(summary.Str(key)) : Fmt(summary.Num(key));
    absl::StrAppend(&html, "<tr><th>", label, "</th><td class='n'>", text, "</td></tr>");
  }
  html += "</table>";

  absl::StrAppend(&html, "<h2>Model quality over event time</h2><p>Per metrics window, once its "
                         "clicks are known. Dashed verticals: alerts (red critical, orange "
                         "warning; hover for the detector).</p>");
  absl::StrAppend(&html, LineChart("logloss", series("logloss"), x0, x1, {}, markers, true));
  absl::StrAppend(&html, LineChart("AUC", series("auc"), x0, x1, {0.5}, markers, true));
  absl::StrAppend(&html, LineChart("calibration (mean score / observed rate)", series("calibration"),
                                   x0, x1, {0.8, 1.0, 1.25}, markers, true));

  // Feature drift: PSI per field over its windows.
  std::map<std::string, std::vector<std::pair<double, double>>> psi;
  for (const Row& d : drift) psi[d.Str("field")].emplace_back(d.Num("window_end"), d.Num("psi"));
  absl::StrAppend(&html, "<h2>Feature drift (PSI against the reference window)</h2>");
  if (psi.empty()) {
    html += "<p>No drift window completed (the run was shorter than the warm-up, reference "
            "and one window of impressions).</p>";
  }
  for (const auto& [field, points] : psi) {
    absl::StrAppend(&html, "<div class='small'>",
                    LineChart(field, points, x0, x1, {0.1, 0.25}, {}, true, 440, 170), "</div>");
  }

  if (!throughput.empty()) {
    std::vector<std::pair<double, double>> rate;
    for (size_t i = 1; i < throughput.size(); ++i) {
      const double dt = throughput[i].Num("seconds") - throughput[i - 1].Num("seconds");
      if (dt > 0) {
        rate.emplace_back(throughput[i].Num("seconds"),
                          (throughput[i].Num("events") - throughput[i - 1].Num("events")) / dt);
      }
    }
    absl::StrAppend(&html, "<h2>Throughput</h2>",
                    LineChart("events/s over the run (wall clock)", rate, 0,
                              throughput.back().Num("seconds"), {}, {}, false));
  }

  absl::StrAppend(&html, "<h2>Alerts</h2>");
  if (alerts.empty()) html += "<p>None.</p>";
  else {
    html += "<table><tr><th>event time</th><th>state</th><th>detector</th><th>metric</th>"
            "<th>field</th><th>value</th><th>threshold</th><th>severity</th></tr>";
    for (const Row& a : alerts) {
      absl::StrAppend(&html, "<tr><td>", TimeLabel(a.Num("event_time")), "</td><td>",
                      Escape(a.Str("state")), "</td><td>", Escape(a.Str("detector")), "</td><td>",
                      Escape(a.Str("metric")), "</td><td>", Escape(a.Str("field")),
                      "</td><td class='n'>", Fmt(a.Num("value")), "</td><td class='n'>",
                      Fmt(a.Num("threshold")), "</td><td>", Escape(a.Str("severity")), "</td></tr>");
    }
    html += "</table>";
  }
  html += "</body></html>\n";
  std::ofstream out(dir + "/report.html", std::ios::trunc);
  out << html;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", dir, "/report.html"));
  return absl::OkStatus();
}

EDDY_REGISTER_REPORT("ctr", WriteReport);

}  // namespace eddy::ctr
