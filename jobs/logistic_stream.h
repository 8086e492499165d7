// A synthetic click stream drawn from a known logistic model, to measure how
// close an online learner gets to the truth (issue: online learning).
//
// Each example has `fields` categorical fields; field j takes one of
// `values` values, Zipf-distributed (exponent 1.1, so a few values are
// common and most are rare, as users and ads are). Each (field, value) has a
// true weight drawn from N(0, weight_stddev^2); the click probability is
//   p = sigmoid(bias + sum_j w[j][v_j]),
// a logistic regression on one-hot features: a learner that hashes
// (field, value) into enough bits can represent it exactly. The true p of
// every example is known, so the logloss of the truth is the floor no
// learner can beat on average.
//
// Examples are written as Vowpal Wabbit text, `1 |f3 v17 ...` (labels 1 and
// -1), so that VW itself can read the same file.
#ifndef EDDY_JOBS_LOGISTIC_STREAM_H_
#define EDDY_JOBS_LOGISTIC_STREAM_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace eddy::synthetic {

struct LogisticStreamOptions {
  int fields = 10;
  int values = 1000;  // per field
  double weight_stddev = 0.8;
  double bias = -2.0;
  uint64_t seed = 1;
};

class LogisticStream {
 public:
  explicit LogisticStream(const LogisticStreamOptions& o) : o_(o), rng_(o.seed) {
    std::normal_distribution<double> w(0.0, o.weight_stddev);
    weights_.resize(static_cast<size_t>(o.fields) * o.values);
    for (double& x : weights_) x = w(rng_);
    // Zipf(1.1) over the values: the cumulative distribution, for sampling.
    cdf_.resize(o.values);
    double total = 0;
    for (int v = 0; v < o.values; ++v) total += std::pow(v + 1.0, -1.1);
    double acc = 0;
    for (int v = 0; v < o.values; ++v) {
      acc += std::pow(v + 1.0, -1.1) / total;
      cdf_[v] = acc;
    }
    cdf_.back() = 1.0;
  }

  struct Example {
    std::vector<int> values;  // one per field
    double p = 0;             // the true click probability
    bool label = false;
  };

  // The next example.
  const Example& Next() {
    ex_.values.resize(o_.fields);
    double margin = o_.bias;
    for (int j = 0; j < o_.fields; ++j) {
      const double u = uniform_(rng_);
      const int v = static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
      // Each field ranks its values in its own order.
      const int value = static_cast<int>((static_cast<int64_t>(v) * 7919 + j * 104729) % o_.values);
      ex_.values[j] = value;
      margin += weights_[static_cast<size_t>(j) * o_.values + value];
    }
    ex_.p = 1.0 / (1.0 + std::exp(-margin));
    ex_.label = uniform_(rng_) < ex_.p;
    return ex_;
  }

  // `ex` as a VW text line: "1 |f0 v12 |f1 v3 ..." (label 1 or -1).
  static void AppendVw(const Example& ex, std::string& out) {
    out.append(ex.label ? "1" : "-1");
    for (size_t j = 0; j < ex.values.size(); ++j) absl::StrAppend(&out, " |f", j, " v", ex.values[j]);
  }

 private:
  LogisticStreamOptions o_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  std::vector<double> weights_;
  std::vector<double> cdf_;
  Example ex_;
};

}  // namespace eddy::synthetic

#endif  // EDDY_JOBS_LOGISTIC_STREAM_H_
