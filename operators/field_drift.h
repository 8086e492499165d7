// Data drift per feature field: is each field's distribution still the one
// the model was trained on?
//
// After `skip` examples (a warm-up: a job's features of its first hours,
// with empty windows, are not what it sees later), the next `reference`
// examples are the reference. After it, every
// `window` examples are compared with it, field by field:
//   - PSI (operators/drift.h's Psi) between the two histograms. A numeric
//     field is binned at the reference's deciles (`bins` quantile bins); a
//     categorical one by its values' hashed indices modulo `buckets` (a
//     shift between values that share a bucket goes unseen; 32 buckets keep
//     that rare for the few dominant values that matter). Each histogram has
//     one more bin: examples without the field (missing).
//   - for numeric fields, the two-sample Kolmogorov-Smirnov test between the
//     reference's values and the window's, at level `ks_alpha`.
// A field whose PSI exceeds `psi_alert` raises a "critical" alert (detector
// "psi"); its episode resolves at the first window with PSI below
// `psi_resolve` (the gap between the two keeps a field hovering at the
// threshold from alerting every other window). A KS rejection raises a
// "warning" (detector "ks"), resolved at the first window without one. A
// field first seen after the reference has an all-missing reference, so its
// appearance is itself a shift.
//
// Positions (`at`) are the caller's time axis: an example's number, or its
// event time. Alerts are operators/drift.h's JSON, metric
// "feature_distribution", window_start/window_end the first and last
// example's position of the window compared.
//
// Memory: per numeric field, its reference values and one window's; per
// categorical field, two histograms.
//
// Example:
//   FieldDrift drift("learn", FieldDrift::Options{});
//   for (const Example& ex : examples) {
//     if (drift.Add(ex.fields, n++, [&](uint32_t f) { return parser.FieldName(f); }, &alerts)) {
//       for (const FieldDrift::Result& r : drift.results()) Plot(r.field, r.psi);
//     }
//   }
//
// Thread-safety: a value; one instance must not be used from two threads.
#ifndef EDDY_OPERATORS_FIELD_DRIFT_H_
#define EDDY_OPERATORS_FIELD_DRIFT_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "operators/drift.h"
#include "operators/example.h"

namespace eddy {

class FieldDrift {
 public:
  struct Options {
    int64_t skip = 0;           // examples ignored first (a warm-up)
    int64_t reference = 10000;  // examples in the reference (the first ones after)
    int64_t window = 10000;     // examples per window compared with it
    int buckets = 32;           // categorical fields: hashed-index buckets
    int bins = 10;              // numeric fields: quantile bins of the reference
    double psi_alert = 0.25;    // "major shift" (Siddiqi 2006)
    double psi_resolve = 0.1;   // "stable" below this
    double ks_alpha = 1e-4;
    // KS rejections raise alerts (else only results() carry KS): off where
    // numeric fields move with the time of day and the windows are large.
    bool ks_alerts = true;
  };

  // One field's comparison in the last window.
  struct Result {
    uint32_t field = 0;
    bool numeric = false;
    double psi = 0;
    double ks = std::numeric_limits<double>::quiet_NaN();  // numeric: KS's D
    double ks_critical = std::numeric_limits<double>::quiet_NaN();
  };

  // REQUIRES: reference, window, buckets, bins >= 1.
  FieldDrift(std::string job, Options options) : job_(std::move(job)), options_(options) {}

  // Adds one example's field values, at position `at`. Returns true when it
  // completed a window: results() then holds each field's comparison, and
  // the alerts and resolutions it raised were appended to *alerts, fields
  // named by name(field).
  template <typename NameFn>
  bool Add(const std::vector<FieldValue>& values, int64_t at, const NameFn& name,
           std::vector<std::string>* alerts) {
    if (skipped_ < options_.skip) {
      ++skipped_;
      return false;
    }
    if (in_window_ == 0) window_start_ = at;
    for (const FieldValue& v : values) {
      FieldState& f = Field(v.field, v.numeric);
      if (f.stamp != examples_) {
        f.stamp = examples_;
        ++f.present;
      }
      if (f.numeric) {
        f.values.push_back(v.value);
      } else {
        f.counts[Bucket(v.value)] += 1;
      }
    }
    ++examples_;
    ++in_window_;
    if (!have_reference_) {
      if (in_window_ == options_.reference) FinishReference();
      return false;
    }
    if (in_window_ < options_.window) return false;
    Compare(at, name, alerts);
    return true;
  }

  const std::vector<Result>& results() const { return results_; }
  bool have_reference() const { return have_reference_; }
  // The position of the first example of the window being filled, or (just
  // after Add returned true) of the window compared.
  int64_t window_start() const { return window_start_; }
  // Alerts raised so far (resolutions not counted).
  uint64_t raised() const { return raised_; }
  // Alerts raised and not yet resolved (PSI and KS, over all fields).
  int active() const {
    int n = 0;
    for (const auto& [field, f] : fields_) n += (f.psi_episode.open() ? 1 : 0) + (f.ks_episode.open() ? 1 : 0);
    return n;
  }

 private:
  struct FieldState {
    bool numeric = false;
    int64_t stamp = -1;   // the last example that had the field
    int64_t present = 0;  // examples of the current window with it
    std::vector<double> counts;  // categorical: the window's buckets
    std::vector<double> values;  // numeric: the window's values
    bool has_reference = false;
    std::vector<double> reference;   // histogram, the last bin: missing
    std::vector<double> ref_values;  // numeric: sorted
    std::vector<double> edges;       // numeric: bin upper edges (exclusive)
    drift::Episode psi_episode{1};
    drift::Episode ks_episode{1};
  };

  FieldState& Field(uint32_t field, bool numeric) {
    auto [it, fresh] = fields_.try_emplace(field);
    if (fresh) {
      it->second.numeric = numeric;
      if (!numeric) it->second.counts.assign(static_cast<size_t>(options_.buckets), 0.0);
    }
    return it->second;
  }

  size_t Bucket(double hashed_index) const {
    const uint64_t i = hashed_index >= 0 ? static_cast<uint64_t>(hashed_index) : 0;
    return static_cast<size_t>(i % static_cast<uint64_t>(options_.buckets));
  }

  // The window's histogram of `f` (missing last), against f's reference bins.
  std::vector<double> Histogram(const FieldState& f) const {
    std::vector<double> h;
    if (f.numeric) {
      h.assign(f.edges.size() + 2, 0.0);
      for (double v : f.values) {
        h[static_cast<size_t>(std::upper_bound(f.edges.begin(), f.edges.end(), v) -
                              f.edges.begin())] += 1;
      }
    } else {
      h = f.counts;
      h.push_back(0);
    }
    h.back() = static_cast<double>(in_window_ - f.present);
    return h;
  }

  // A field with no values in the reference: every reference example missed it.
  void AllMissingReference(FieldState& f) const {
    f.has_reference = true;
    f.reference.assign(f.numeric ? 2 : static_cast<size_t>(options_.buckets) + 1, 0.0);
    f.reference.back() = static_cast<double>(reference_examples_);
  }

  void FinishReference() {
    reference_examples_ = in_window_;
    for (auto& [id, f] : fields_) {
      f.has_reference = true;
      if (f.numeric) {
        std::sort(f.values.begin(), f.values.end());
        f.edges.clear();
        for (int k = 1; k < options_.bins && !f.values.empty(); ++k) {
          const double q = f.values[static_cast<size_t>(k) * f.values.size() /
                                    static_cast<size_t>(options_.bins)];
          if (f.edges.empty() || q > f.edges.back()) f.edges.push_back(q);
        }
        // Bins are [edge_{k-1}, edge_k): a value equal to an edge goes above it.
        f.reference = Histogram(f);
        f.ref_values = f.values;
      } else {
        f.reference = Histogram(f);
      }
    }
    have_reference_ = true;
    ResetWindow();
  }

  template <typename NameFn>
  void Compare(int64_t at, const NameFn& name, std::vector<std::string>* alerts) {
    results_.clear();
    for (auto& [id, f] : fields_) {
      if (!f.has_reference) AllMissingReference(f);
      Result r;
      r.field = id;
      r.numeric = f.numeric;
      r.psi = drift::Psi(f.reference, Histogram(f));
      bool ks_reject = false;
      if (f.numeric && !f.ref_values.empty() && !f.values.empty()) {
        const drift::KsResult ks = drift::KolmogorovSmirnov(f.ref_values, f.values, options_.ks_alpha);
        r.ks = ks.statistic;
        r.ks_critical = ks.critical;
        ks_reject = ks.reject;
      }
      results_.push_back(r);
      const bool psi_firing = r.psi > options_.psi_alert ||
                              (f.psi_episode.open() && !(r.psi < options_.psi_resolve));
      Emit(f.psi_episode.Observe(psi_firing, at), "psi", name(id), r.psi, options_.psi_alert,
           "critical", at, alerts);
      if (f.numeric && options_.ks_alerts) {
        Emit(f.ks_episode.Observe(ks_reject, at), "ks", name(id), r.ks, r.ks_critical, "warning",
             at, alerts);
      }
    }
    ResetWindow();
  }

  void Emit(std::optional<bool> what, const char* detector, std::string field, double value,
            double threshold, const char* severity, int64_t at,
            std::vector<std::string>* alerts) {
    if (!what.has_value()) return;
    if (*what) ++raised_;
    drift::Alert a;
    a.job = job_;
    a.detector = detector;
    a.metric = "feature_distribution";
    a.field = std::move(field);
    a.value = value;
    a.threshold = threshold;
    a.window_start = window_start_;
    a.window_end = at;
    a.event_time = at;
    a.severity = severity;
    a.resolved = !*what;
    alerts->push_back(drift::AlertJson(a));
  }

  void ResetWindow() {
    in_window_ = 0;
    for (auto& [id, f] : fields_) {
      f.present = 0;
      f.values.clear();
      std::fill(f.counts.begin(), f.counts.end(), 0.0);
    }
  }

  std::string job_;
  Options options_;
  std::map<uint32_t, FieldState> fields_;  // ordered: alerts come in field order
  int64_t skipped_ = 0;
  int64_t examples_ = 0;
  int64_t in_window_ = 0;
  int64_t window_start_ = 0;
  bool have_reference_ = false;
  int64_t reference_examples_ = 0;
  std::vector<Result> results_;
  uint64_t raised_ = 0;
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_FIELD_DRIFT_H_
