// Drift detection: is the stream a model sees, or the model's error, still
// the one it was trained on?
//
// Concept drift (the error stream of a model) — sequential detectors that take
// one value at a time in O(1) memory or O(log W):
//   Adwin          ADWIN2, an adaptive window whose mean is the mean of the
//                  current concept; shrinks when two sub-windows differ
//                  (Bifet & Gavaldà 2007). Any bounded real values.
//   PageHinkley    cumulative deviation above the running mean (Page 1954):
//                  detects increases of the mean, e.g. of a loss or latency.
//   Ddm            Drift Detection Method on a 0/1 error stream with a
//                  warning level (Gama, Medas, Castillo & Rodrigues 2004).
// Data drift (a feature's distribution, comparing two batches):
//   Psi                 population stability index over histogram bins
//   KolmogorovSmirnov   two-sample KS test
// Alerting:
//   Alert, AlertJson    one alert or resolution as a JSON line
//   Episode             turns a per-window "firing" flag into one alert per
//                       episode and one resolution after a quiet cooldown
//
// Example:
//   eddy::drift::Adwin adwin;               // delta = 0.002
//   eddy::drift::Episode episode(600000);   // resolve after 10 min quiet
//   eddy::drift::Alert alert{"ctr_job", "adwin", "error_rate", "label"};
//   for (const Prediction& p : stream) {
//     const bool drift = adwin.Update(p.label != p.predicted ? 1.0 : 0.0);
//     if (std::optional<bool> emit = episode.Observe(drift, p.event_time)) {
//       alert.value = adwin.mean();
//       alert.event_time = p.event_time;
//       alert.resolved = !*emit;
//       sink.Write(eddy::drift::AlertJson(alert));
//     }
//   }
//
// Thread-safety: detectors and episodes are values with no shared state; one
// instance must not be used from two threads at once.
#ifndef EDDY_OPERATORS_DRIFT_H_
#define EDDY_OPERATORS_DRIFT_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/json_writer.h"

namespace eddy::drift {

// ---------------------------------------------------------------------------
// ADWIN
// ---------------------------------------------------------------------------

struct AdwinOptions {
  // Confidence: the bound on the probability of shrinking the window at a
  // check when the mean did not change (before the ln(n) correction below).
  double delta = 0.002;
  // M: buckets kept per size (level) of the exponential histogram. More
  // buckets place the candidate cut points closer together (memory and the
  // cost of a check grow as M log(W / M)).
  int buckets_per_level = 5;
  // Look for a cut after every `clock` values (1: after each).
  int clock = 32;
  // Both sub-windows of a cut hold at least this many values.
  int min_sub_window = 5;
};

// ADWIN2: Bifet & Gavaldà, "Learning from Time-Changing Data with Adaptive
// Windowing", SDM 2007.
//
// Keeps a window W of the latest values, summarised as an exponential
// histogram: buckets of 1, 2, 4, ... values (at most M of each size; the two
// oldest of a size merge into one of the next size when an (M+1)-th arrives),
// each with its count, sum and sum of squared deviations. Every `clock`
// values it looks at each split of W at a bucket boundary into an older W0
// (n0 values, mean mu0) and a newer W1 (n1, mu1), and drops the oldest bucket
// while some split has |mu0 - mu1| > eps_cut with (the paper's ADWIN2 bound,
// using the variance sigma^2 of W)
//     m       = 1 / (1/n0 + 1/n1)
//     delta'  = delta / ln(n)            n = |W|
//     eps_cut = sqrt(2/m * sigma^2 * ln(2/delta')) + 2/(3m) * ln(2/delta')
// So after a change of the mean the window keeps only values from the new
// concept, and on a stationary stream it keeps growing.
//
// Cost: Update is O(1) amortized for the histogram, plus O(M log W) per check
// and per dropped bucket; each value is dropped at most once, so with the
// default clock it is O(log W) amortized. Memory O(M log W).
class Adwin {
 public:
  explicit Adwin(double delta = 0.002) : Adwin(AdwinOptions{delta}) {}
  // REQUIRES: 0 < delta < 1, buckets_per_level >= 2, clock >= 1,
  // min_sub_window >= 1 (values outside are raised to these minimums).
  explicit Adwin(const AdwinOptions& options) : options_(options) {
    options_.buckets_per_level = std::max(2, options_.buckets_per_level);
    options_.clock = std::max(1, options_.clock);
    options_.min_sub_window = std::max(1, options_.min_sub_window);
  }

  // Adds `x` as the newest value. Returns true when a change was detected:
  // the window dropped its oldest values (width() is smaller than before).
  bool Update(double x) {
    AddToHistogram(x);
    if (++since_check_ < options_.clock) return false;
    since_check_ = 0;
    bool shrank = false;
    while (width_ > 2 * options_.min_sub_window && HasCut()) {
      DropOldestBucket();
      shrank = true;
    }
    return shrank;
  }

  // Mean of the values in the window; NaN while it is empty.
  double mean() const {
    return width_ == 0 ? std::numeric_limits<double>::quiet_NaN() : sum_ / width_;
  }
  // Population variance of the values in the window; NaN while it is empty.
  double variance() const {
    return width_ == 0 ? std::numeric_limits<double>::quiet_NaN() : m2_ / width_;
  }
  // Number of values in the window: the latest width() values added.
  int64_t width() const { return width_; }

 private:
  // A bucket's values are 2^level consecutive stream values.
  struct Bucket {
    double sum = 0;
    double m2 = 0;  // sum of squared deviations from the bucket's mean
  };
  // The buckets of one size, oldest first, in a ring of M + 1 slots.
  struct Level {
    std::vector<Bucket> ring;
    int first = 0;
    int size = 0;

    Bucket& at(int k) { return ring[(first + k) % ring.size()]; }
    const Bucket& at(int k) const { return ring[(first + k) % ring.size()]; }
    void PushNewest(const Bucket& b) {
      ++size;
      at(size - 1) = b;
    }
    Bucket PopOldest() {
      Bucket b = at(0);
      first = (first + 1) % static_cast<int>(ring.size());
      --size;
      return b;
    }
  };

  // Chan, Golub & LeVeque's pairwise update: the sum of squared deviations of
  // two groups together.
  static double MergedM2(double n_a, double sum_a, double m2_a, double n_b, double sum_b,
                         double m2_b) {
    if (n_a == 0) return m2_b;
    if (n_b == 0) return m2_a;
    const double d = sum_a / n_a - sum_b / n_b;
    return m2_a + m2_b + d * d * n_a * n_b / (n_a + n_b);
  }

  void AddToHistogram(double x) {
    // Welford's update of the window's totals.
    const double old_mean = width_ == 0 ? 0 : sum_ / width_;
    ++width_;
    sum_ += x;
    m2_ += (x - old_mean) * (x - sum_ / width_);

    Bucket carry{x, 0};
    for (size_t level = 0;; ++level) {
      if (level == levels_.size()) {
        levels_.push_back(Level{std::vector<Bucket>(options_.buckets_per_level + 1), 0, 0});
      }
      Level& l = levels_[level];
      l.PushNewest(carry);
      if (l.size <= options_.buckets_per_level) break;
      // M + 1 buckets of this size: the two oldest become one of twice the size.
      const double n = std::ldexp(1.0, static_cast<int>(level));
      const Bucket a = l.PopOldest();
      const Bucket b = l.PopOldest();
      carry = Bucket{a.sum + b.sum, MergedM2(n, a.sum, a.m2, n, b.sum, b.m2)};
    }
  }

  // Whether some split of the window at a bucket boundary has sub-window
  // means further apart than eps_cut.
  bool HasCut() const {
    const double n = static_cast<double>(width_);
    const double variance = std::max(0.0, m2_ / n);
    const double log_term = std::log(2.0 * std::log(n) / options_.delta);  // ln(2 / delta')
    const double min_len = options_.min_sub_window;
    double n0 = 0;
    double sum0 = 0;
    // Buckets oldest first: the largest level first, each level oldest first.
    for (size_t level = levels_.size(); level-- > 0;) {
      const Level& l = levels_[level];
      const double count = std::ldexp(1.0, static_cast<int>(level));
      for (int k = 0; k < l.size; ++k) {
        n0 += count;
        sum0 += l.at(k).sum;
        const double n1 = n - n0;
        if (n1 < min_len) return false;  // every later split has a shorter W1
        if (n0 < min_len) continue;
        const double m = 1.0 / (1.0 / n0 + 1.0 / n1);
        const double eps =
            std::sqrt(2.0 / m * variance * log_term) + 2.0 / (3.0 * m) * log_term;
        if (std::abs(sum0 / n0 - (sum_ - sum0) / n1) > eps) return true;
      }
    }
    return false;
  }

  void DropOldestBucket() {
    while (!levels_.empty() && levels_.back().size == 0) levels_.pop_back();
    if (levels_.empty()) return;
    levels_.back().PopOldest();
    if (levels_.back().size == 0) levels_.pop_back();
    // Recompute the totals from the buckets rather than subtracting, so that
    // rounding does not accumulate over many cuts.
    width_ = 0;
    sum_ = 0;
    m2_ = 0;
    for (size_t level = 0; level < levels_.size(); ++level) {
      const Level& l = levels_[level];
      const double count = std::ldexp(1.0, static_cast<int>(level));
      for (int k = 0; k < l.size; ++k) {
        const Bucket& b = l.at(k);
        m2_ = MergedM2(static_cast<double>(width_), sum_, m2_, count, b.sum, b.m2);
        sum_ += b.sum;
        width_ += int64_t{1} << level;
      }
    }
  }

  AdwinOptions options_;
  std::vector<Level> levels_;  // levels_[i]: buckets of 2^i values
  int64_t width_ = 0;
  double sum_ = 0;
  double m2_ = 0;
  int since_check_ = 0;
};

// ---------------------------------------------------------------------------
// Page-Hinkley
// ---------------------------------------------------------------------------

struct PageHinkleyOptions {
  // No detection before this many values since the start or the last reset.
  int64_t min_instances = 30;
  // Magnitude of increase tolerated: deviations of the mean below delta are
  // absorbed (in the units of the values).
  double delta = 0.005;
  // lambda: the cumulative deviation that raises an alarm. Larger: fewer
  // false alarms, later detections.
  double threshold = 50;
  // Fading factor of the cumulative deviation: 1 is Page's test; below 1 old
  // deviations are forgotten (memory of about 1 / (1 - alpha) values).
  double alpha = 0.9999;
};

// Page-Hinkley test for an increase of the mean: Page, "Continuous Inspection
// Schemes", Biometrika 41 (1954); in the form and with the fading factor of
// Gama, Sebastião & Rodrigues, "On evaluating stream learning algorithms",
// Machine Learning 90 (2013), and Gama et al., "A Survey on Concept Drift
// Adaptation", ACM Computing Surveys 46 (2014).
//
// With x̄_T the mean of the values seen so far (x_1 .. x_T),
//     m_T  = sum_{t<=T} (x_t - x̄_t - delta)     M_T = min_{t<=T} m_t
// and an alarm when PH_T = m_T - M_T > lambda. PH_T is kept directly as the
// one-sided CUSUM  g_T = max(0, alpha * g_{T-1} + x_T - x̄_T - delta), which
// equals m_T - M_T when alpha = 1, in O(1) memory. After an alarm all
// statistics restart, so the next alarm needs min_instances new values.
//
// The scale matters: on a stationary stream g_T is a random walk with drift
// -delta reflected at 0, which exceeds lambda with probability about
// exp(-2 delta lambda / sigma^2) per excursion (sigma^2: the variance of the
// values). With the defaults that is negligible for sigma up to ~0.2; scale
// the values, or raise delta or lambda, for noisier streams.
class PageHinkley {
 public:
  explicit PageHinkley(const PageHinkleyOptions& options = PageHinkleyOptions())
      : options_(options) {}

  // Adds `x`. Returns true when an increase of the mean was detected (the
  // detector has then reset).
  bool Update(double x) {
    ++n_;
    mean_ += (x - mean_) / static_cast<double>(n_);
    statistic_ = std::max(0.0, options_.alpha * statistic_ + (x - mean_ - options_.delta));
    if (n_ >= options_.min_instances && statistic_ > options_.threshold) {
      Reset();
      return true;
    }
    return false;
  }

  void Reset() {
    n_ = 0;
    mean_ = 0;
    statistic_ = 0;
  }

  // PH_T: the cumulative deviation compared with lambda.
  double statistic() const { return statistic_; }
  // Values since the start or the last reset.
  int64_t count() const { return n_; }
  const PageHinkleyOptions& options() const { return options_; }

 private:
  PageHinkleyOptions options_;
  int64_t n_ = 0;
  double mean_ = 0;
  double statistic_ = 0;
};

// ---------------------------------------------------------------------------
// DDM
// ---------------------------------------------------------------------------

struct DdmOptions {
  // No warning or drift before this many predictions since the start or the
  // last drift.
  int64_t min_instances = 30;
  double warning_level = 2;  // in standard deviations s_min
  double drift_level = 3;
};

// DDM: Gama, Medas, Castillo & Rodrigues, "Learning with Drift Detection",
// SBIA 2004.
//
// The errors of a classifier are Bernoulli trials; after i predictions the
// error rate is p_i with standard deviation s_i = sqrt(p_i (1 - p_i) / i).
// DDM remembers p_min, s_min at the i where p_i + s_i was smallest and reports
//     warning  when p_i + s_i >= p_min + 2 s_min
//     drift    when p_i + s_i >= p_min + 3 s_min   (and then restarts)
//
// One guard beyond the paper: the minimum is only taken where s_i > 0, i.e.
// 0 < p_i < 1. With no error yet s_i = 0, so p_min + s_min would be 0 and the
// first error of an accurate model would be reported as a drift (and an
// all-error stream would drift every min_instances predictions).
//
// Known weakness (of the method, not of this code): the test runs at every
// prediction against a running minimum that is often taken early, from few
// errors, where s_min is large and p_min low. So DDM false-alarms far more
// often than "3 sigma" suggests, and after a long stable period it reacts
// slowly, because p_i is cumulative since the last restart. Measured on
// stationary Bernoulli(0.2) streams of 20,000 predictions: 28% of streams
// drift with min_instances = 30, 5% with 1,000 (60% and 13% at error rate
// 0.05). Prefer Adwin for alerting; use DDM where its warning level (e.g.
// to start buffering data for retraining) is what is wanted.
class Ddm {
 public:
  enum class Level { kStable, kWarning, kDrift };

  explicit Ddm(const DdmOptions& options = DdmOptions()) : options_(options) {}

  // Adds one prediction: `error` when it was wrong. After kDrift the
  // statistics have restarted.
  Level Update(bool error) {
    ++n_;
    if (error) ++errors_;
    if (n_ < options_.min_instances) return Level::kStable;
    const double n = static_cast<double>(n_);
    const double p = static_cast<double>(errors_) / n;
    const double s = std::sqrt(p * (1 - p) / n);
    if (s > 0 && p + s < p_min_ + s_min_) {
      p_min_ = p;
      s_min_ = s;
    }
    if (p + s >= p_min_ + options_.drift_level * s_min_) {
      Reset();
      return Level::kDrift;
    }
    if (p + s >= p_min_ + options_.warning_level * s_min_) return Level::kWarning;
    return Level::kStable;
  }

  void Reset() {
    n_ = 0;
    errors_ = 0;
    p_min_ = std::numeric_limits<double>::infinity();
    s_min_ = std::numeric_limits<double>::infinity();
  }

  // Error rate since the start or the last drift; NaN before any prediction.
  double error_rate() const {
    return n_ == 0 ? std::numeric_limits<double>::quiet_NaN()
                   : static_cast<double>(errors_) / static_cast<double>(n_);
  }
  int64_t count() const { return n_; }

 private:
  DdmOptions options_;
  int64_t n_ = 0;
  int64_t errors_ = 0;
  double p_min_ = std::numeric_limits<double>::infinity();
  double s_min_ = std::numeric_limits<double>::infinity();
};

// ---------------------------------------------------------------------------
// Data drift between two batches
// ---------------------------------------------------------------------------

// Population stability index of `actual` against `expected`, both counts over
// the same histogram bins:
//     PSI = sum_i (a_i - e_i) * ln(a_i / e_i)
// with a_i, e_i the bins' proportions, each raised to at least `eps` so that
// an empty bin contributes a large finite term (proportions are not
// renormalised after that). 0 for identical distributions; a common reading
// is < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift (Siddiqi,
// "Credit Risk Scorecards", 2006).
// NaN when the two have different numbers of bins, no bins, a total that is
// not positive, or a negative count.
inline double Psi(const std::vector<double>& expected_counts,
                  const std::vector<double>& actual_counts, double eps = 1e-4) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (expected_counts.size() != actual_counts.size() || expected_counts.empty()) return kNaN;
  double expected_total = 0;
  double actual_total = 0;
  for (size_t i = 0; i < expected_counts.size(); ++i) {
    if (!(expected_counts[i] >= 0) || !(actual_counts[i] >= 0)) return kNaN;
    expected_total += expected_counts[i];
    actual_total += actual_counts[i];
  }
  if (!(expected_total > 0) || !(actual_total > 0)) return kNaN;
  double psi = 0;
  for (size_t i = 0; i < expected_counts.size(); ++i) {
    const double e = std::max(expected_counts[i] / expected_total, eps);
    const double a = std::max(actual_counts[i] / actual_total, eps);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

struct KsResult {
  double statistic = 0;  // D = sup_x |F_a(x) - F_b(x)|
  double critical = 0;   // the asymptotic critical value of D at alpha
  bool reject = false;   // D > critical: the samples differ at level alpha
};

// Two-sample Kolmogorov-Smirnov test. D is exact: the empirical CDFs are
// compared after all values equal to x are counted in both, so ties (within
// or across the samples) never open a spurious gap. The critical value is the
// large-sample one, c(alpha) * sqrt((n + m) / (n m)) with
// c(alpha) = sqrt(-ln(alpha / 2) / 2) (e.g. 1.358 at alpha = 0.05).
// An empty sample gives D = 0, critical = infinity, no rejection. NaN values
// sort last (they are treated as one value larger than every number).
inline KsResult KolmogorovSmirnov(std::vector<double> a, std::vector<double> b,
                                  double alpha = 0.05) {
  KsResult result;
  if (a.empty() || b.empty()) {
    result.critical = std::numeric_limits<double>::infinity();
    return result;
  }
  // A total order with NaN last, so that sort and the tie test below agree.
  const auto less = [](double x, double y) {
    return std::isnan(y) ? !std::isnan(x) : x < y;
  };
  const auto same = [&](double x, double y) { return !less(x, y) && !less(y, x); };
  std::sort(a.begin(), a.end(), less);
  std::sort(b.begin(), b.end(), less);
  const double n = static_cast<double>(a.size());
  const double m = static_cast<double>(b.size());
  size_t i = 0;
  size_t j = 0;
  double d = 0;
  while (i < a.size() && j < b.size()) {
    const double x = less(b[j], a[i]) ? b[j] : a[i];
    while (i < a.size() && same(a[i], x)) ++i;
    while (j < b.size() && same(b[j], x)) ++j;
    d = std::max(d, std::abs(i / n - j / m));
  }
  // Once one sample is used up its CDF is 1 and the other's only grows
  // towards 1: the gap only shrinks from here.
  result.statistic = d;
  result.critical = std::sqrt(-std::log(alpha / 2) / 2) * std::sqrt((n + m) / (n * m));
  result.reject = d > result.critical;
  return result;
}

// ---------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------

// One alert, or the resolution of one, as written to an alert sink.
struct Alert {
  std::string job;       // the job that raised it
  std::string detector;  // e.g. "adwin", "ddm", "psi"
  std::string metric;    // what was measured, e.g. "error_rate"
  std::string field;     // the feature or output concerned; may be empty
  double value = 0;      // the measured value (e.g. the window's mean, PSI)
  double threshold = 0;  // what it was compared with
  int64_t window_start = 0;  // event-time milliseconds of the window measured
  int64_t window_end = 0;
  int64_t event_time = 0;  // event-time milliseconds of the detection
  std::string severity;    // e.g. "warning", "critical"
  bool resolved = false;   // true: this record closes the alert
};

// The alert as one JSON object, keys in the order job, detector, metric,
// field, value, threshold, window_start, window_end, event_time, severity,
// state ("alert" or "resolved"). Strings are escaped (the result never
// contains a newline: append one to write JSON lines); a non-finite value or
// threshold is written as null.
inline std::string AlertJson(const Alert& alert) {
  std::string out;
  JsonObjectWriter w(out);
  w.Field("job", alert.job)
      .Field("detector", alert.detector)
      .Field("metric", alert.metric)
      .Field("field", alert.field)
      .Field("value", alert.value)
      .Field("threshold", alert.threshold)
      .Field("window_start", alert.window_start)
      .Field("window_end", alert.window_end)
      .Field("event_time", alert.event_time)
      .Field("severity", alert.severity)
      .Field("state", alert.resolved ? "resolved" : "alert");
  w.Close();
  return out;
}

// Turns a detector's per-observation "firing" flag into alert episodes: one
// alert when an episode starts, one resolution when the detector has stayed
// quiet for `cooldown_ms` of event time since its last firing. Firings within
// an episode extend it silently.
//
// Resolution is decided when an observation arrives: a quiet observation at
// event time t resolves the episode when t - last_firing >= cooldown_ms. A
// firing always extends an open episode, even after a longer gap with no
// observation in between, so the output always alternates alert, resolved,
// alert, ... Out-of-order times are fine: the latest firing time counts.
class Episode {
 public:
  // REQUIRES: cooldown_ms >= 0.
  explicit Episode(int64_t cooldown_ms) : cooldown_ms_(cooldown_ms) {}

  // true: emit an alert (a new episode starts); false: emit a resolved record
  // (the episode ends); nullopt: emit nothing.
  std::optional<bool> Observe(bool firing, int64_t event_time) {
    if (firing) {
      if (open_) {
        last_firing_ = std::max(last_firing_, event_time);
        return std::nullopt;
      }
      open_ = true;
      last_firing_ = event_time;
      return true;
    }
    if (open_ && event_time - last_firing_ >= cooldown_ms_) {
      open_ = false;
      return false;
    }
    return std::nullopt;
  }

  // Whether an episode is open (alerted and not yet resolved).
  bool open() const { return open_; }

 private:
  int64_t cooldown_ms_;
  bool open_ = false;
  int64_t last_firing_ = 0;
};

}  // namespace eddy::drift

#endif  // EDDY_OPERATORS_DRIFT_H_
