// Progressive validation (Blum, Kalai and Langford 1999): every example is
// scored before the model learns from it, so the running metrics of those
// scores estimate how the model does on data it has not seen.
//
// BinaryMetrics accumulates, for weighted (score, 0/1 label) pairs: count,
// positives, mean logloss, AUC, accuracy (score on the right side of 1/2),
// mean score and observed rate (calibration =
// mean score / observed rate; 1 is calibrated). It is mergeable and of fixed
// size, so one can be kept per time window and per run.
//
// AUC is computed from a histogram of scores on the logit scale (8192 bins
// over logit [-16, 16], i.e. 0.004 wide): pairs within one bin count as ties
// (one half), so the value is within a few 1e-4 of the exact AUC for any
// realistic spread of scores (tests/operators/evaluation_test.cc checks it
// against the exact one); memory stays fixed however long the stream.
#ifndef EDDY_OPERATORS_EVALUATION_H_
#define EDDY_OPERATORS_EVALUATION_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "state/codec.h"

namespace eddy {

// The logloss of score p for a 0/1 label, with p clamped to [1e-15, 1 - 1e-15]
// (as scikit-learn and VW do) so one confident mistake stays finite.
inline double LogLoss(double p, float label) {
  p = std::clamp(p, 1e-15, 1 - 1e-15);
  return label > 0.5f ? -std::log(p) : -std::log1p(-p);
}

// The expected logloss of score p if it is calibrated: the entropy of a
// Bernoulli(p) label, with p clamped as in LogLoss.
inline double Entropy(double p) {
  p = std::clamp(p, 1e-15, 1 - 1e-15);
  return -(p * std::log(p) + (1 - p) * std::log1p(-p));
}

class BinaryMetrics;
template <>
struct Codec<BinaryMetrics>;

class BinaryMetrics {
 public:
  static constexpr int kBins = 8192;
  static constexpr double kLogitRange = 16;

  void Add(double p, float label, float weight = 1) {
    if (!(weight > 0)) return;
    count_ += weight;
    logloss_ += weight * LogLoss(p, label);
    sum_p_ += weight * p;
    if (label > 0.5f) positives_ += weight;
    if ((p >= 0.5) == (label > 0.5f)) correct_ += weight;
    if (bins_.empty()) bins_.assign(2 * kBins, 0.0);
    bins_[2 * Bin(p) + (label > 0.5f ? 1 : 0)] += weight;
  }

  void Merge(const BinaryMetrics& o) {
    count_ += o.count_;
    positives_ += o.positives_;
    logloss_ += o.logloss_;
    sum_p_ += o.sum_p_;
    correct_ += o.correct_;
    if (o.bins_.empty()) return;
    if (bins_.empty()) bins_.assign(2 * kBins, 0.0);
    for (size_t i = 0; i < bins_.size(); ++i) bins_[i] += o.bins_[i];
  }

  double count() const { return count_; }
  double positives() const { return positives_; }
  // Mean logloss (NaN when empty).
  double logloss() const { return count_ > 0 ? logloss_ / count_ : NAN; }
  // Share of scores on the right side of 1/2.
  double accuracy() const { return count_ > 0 ? correct_ / count_ : NAN; }
  double mean_prediction() const { return count_ > 0 ? sum_p_ / count_ : NAN; }
  double observed_rate() const { return count_ > 0 ? positives_ / count_ : NAN; }
  // Mean score over observed rate (NaN without positives).
  double calibration() const { return positives_ > 0 ? sum_p_ / positives_ : NAN; }
  // Probability that a positive scores above a negative, ties one half (NaN
  // without both classes).
  double auc() const {
    const double negatives = count_ - positives_;
    if (positives_ <= 0 || negatives <= 0 || bins_.empty()) return NAN;
    double below = 0, area = 0;  // negatives in lower bins; positive-negative pairs ranked right
    for (int b = 0; b < kBins; ++b) {
      const double neg = bins_[2 * b], pos = bins_[2 * b + 1];
      area += pos * (below + 0.5 * neg);
      below += neg;
    }
    return area / (positives_ * negatives);
  }

 private:
  static int Bin(double p) {
    if (!(p == p)) p = 0.5;  // NaN (a broken model) in the middle, not UB
    p = std::clamp(p, 1e-15, 1 - 1e-15);
    const double logit = std::log(p) - std::log1p(-p);
    const double x = (logit + kLogitRange) / (2 * kLogitRange) * kBins;
    return std::clamp(static_cast<int>(x), 0, kBins - 1);
  }

  friend struct Codec<BinaryMetrics>;
  double count_ = 0, positives_ = 0, logloss_ = 0, sum_p_ = 0, correct_ = 0;
  std::vector<double> bins_;  // (negatives, positives) per bin; empty until the first Add
};

// Stored with the histogram sparse: (slot, count) for the non-empty slots.
template <>
struct Codec<BinaryMetrics> {
  static constexpr bool kDefined = true;
  static void Encode(const BinaryMetrics& m, std::string& out) {
    for (double v : {m.count_, m.positives_, m.logloss_, m.sum_p_, m.correct_}) EncodeTo(v, out);
    std::vector<std::pair<uint32_t, double>> used;
    for (size_t i = 0; i < m.bins_.size(); ++i) {
      if (m.bins_[i] != 0) used.emplace_back(static_cast<uint32_t>(i), m.bins_[i]);
    }
    EncodeTo(used, out);
  }
  // The histogram in memory is dense (2 x kBins doubles once used).
  static size_t HeapBytes(const BinaryMetrics& m) { return m.bins_.capacity() * sizeof(double); }
  static bool Decode(absl::string_view& in, BinaryMetrics& m) {
    std::vector<std::pair<uint32_t, double>> used;
    if (!DecodeFrom(in, m.count_) || !DecodeFrom(in, m.positives_) || !DecodeFrom(in, m.logloss_) ||
        !DecodeFrom(in, m.sum_p_) || !DecodeFrom(in, m.correct_) || !DecodeFrom(in, used)) {
      return false;
    }
    m.bins_.clear();
    if (!used.empty()) m.bins_.assign(2 * BinaryMetrics::kBins, 0.0);
    for (const auto& [i, v] : used) {
      if (i >= m.bins_.size()) return false;
      m.bins_[i] = v;
    }
    return true;
  }
};

// The exact AUC of (score, label) pairs, ties one half (for tests and small
// samples: sorts).
inline double ExactAuc(std::vector<std::pair<double, float>> scored) {
  std::sort(scored.begin(), scored.end());
  double pos = 0, neg = 0, area = 0;
  for (size_t i = 0; i < scored.size();) {
    size_t j = i;
    double tie_pos = 0, tie_neg = 0;
    for (; j < scored.size() && scored[j].first == scored[i].first; ++j) {
      (scored[j].second > 0.5f ? tie_pos : tie_neg) += 1;
    }
    area += tie_pos * (neg + 0.5 * tie_neg);
    pos += tie_pos;
    neg += tie_neg;
    i = j;
  }
  return pos > 0 && neg > 0 ? area / (pos * neg) : NAN;
}

}  // namespace eddy

#endif  // EDDY_OPERATORS_EVALUATION_H_
