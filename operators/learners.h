// Online models over hashed sparse vectors (operators/example.h): each scores
// one example at a time and learns from it at once, as Vowpal Wabbit does.
//
//   FtrlModel  logistic regression trained with FTRL-Proximal (McMahan et
//              al. 2013, "Ad Click Prediction: a View from the Trenches",
//              Algorithm 1): per-coordinate learning rates, L1 (sparse
//              weights) and L2.
//   SgdModel   logistic regression trained with AdaGrad SGD (Duchi, Hazan
//              and Singer 2011): w -= eta * g / sqrt(sum of g^2), plus L2.
//   FmModel    a factorization machine (Rendle 2010, "Factorization
//              Machines"): a linear part plus k latent factors per index, so
//              that every pair of features gets a learned interaction
//              <v_i, v_j>; trained with AdaGrad, factors in Eigen arrays.
//
// Every model has a bias (an extra weight, always active), takes example
// weights (importance: the gradient is scaled by it), and counts its updates:
// version() rises by one per Learn, and every prediction can carry it.
// Models are deterministic: the same examples in the same order give the
// same weights, bit for bit.
//
// Persistence: Serialize / ParseModel (operators/model_file.h's format):
// everything needed to continue learning exactly where the model stopped.
//
// Thread-safety: none; a model belongs to one task.
#ifndef EDDY_OPERATORS_LEARNERS_H_
#define EDDY_OPERATORS_LEARNERS_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "operators/features.h"

namespace eddy {

// The logistic function, safe for any margin.
inline double Sigmoid(double margin) {
  margin = std::clamp(margin, -35.0, 35.0);
  return 1.0 / (1.0 + std::exp(-margin));
}

enum class ModelKind : uint32_t { kFtrl = 1, kSgd = 2, kFm = 3 };

// A per-coordinate gradient clipped to +-1e6 (NaN to 0): a huge feature
// value (a VW value of 1e30 is finite) must not overflow the float sums of
// squared gradients into infinity, and from there every weight into NaN.
inline double ClipGradient(double g) { return g == g ? std::clamp(g, -1e6, 1e6) : 0.0; }

// Hyperparameters, all models' in one struct (each reads its own).
struct ModelOptions {
  int bits = 18;        // 2^bits weights (1..28)
  // FTRL-Proximal (McMahan et al. 2013, section 3.1). alpha 0.3 did best
  // on the synthetic stream of tests/operators/learners_test.cc (0.1, the
  // paper's example, learned rare values too slowly; 0.5 and 1 overshot);
  // no L1 or L2 by default, as in VW.
  double alpha = 0.3;
  double beta = 1.0;
  double l1 = 0.0;
  double l2 = 0.0;
  // AdaGrad SGD (learning rate and L2; the linear part of the FM too).
  double learning_rate = 0.3;
  double sgd_l2 = 1e-6;
  // Factorization machine: factors per index, their initial scale, AdaGrad
  // learning rate (lower: the factors overfit at 0.3) and L2.
  int factors = 8;
  double init_stddev = 0.01;
  double fm_learning_rate = 0.1;
  double fm_l2 = 1e-5;
  uint64_t seed = 1;  // initial factors
};

class Model {
 public:
  virtual ~Model() = default;

  virtual ModelKind kind() const = 0;
  const ModelOptions& options() const { return options_; }
  // Updates so far: the version predictions carry.
  uint64_t version() const { return version_; }

  // P(label = 1 | x).
  virtual double Predict(const SparseVector& x) const = 0;
  // Scores x, then learns from (x, label) with importance `weight`; returns
  // the score from before the update (progressive validation).
  virtual double PredictThenLearn(const SparseVector& x, float label, float weight = 1) = 0;
  // Starts the bias at `margin`, so that an empty example scores
  // sigmoid(margin): a prior (say a click rate of 1/30, margin -3.37) for a
  // model that would otherwise serve 0.5 until its first labels come.
  // Learning then moves it as any other weight. Only before learning.
  virtual void InitBias(double margin) = 0;

  // Scores many vectors (out[i] = Predict(*xs[i])).
  void PredictBatch(const std::vector<const SparseVector*>& xs, double* out) const {
    for (size_t i = 0; i < xs.size(); ++i) out[i] = Predict(*xs[i]);
  }

  // The model file (operators/model_file.h).
  std::string Serialize() const;

  // The parameters as one array of floats: a row of row_stride() per index,
  // then the bias's row (index 2^bits). For model files and checkpoints.
  virtual std::vector<float>* mutable_params() = 0;
  virtual const std::vector<float>& params() const = 0;
  virtual size_t row_stride() const = 0;
  size_t rows() const { return params().size() / row_stride(); }
  void set_version(uint64_t v) { version_ = v; }

  // Change tracking, for checkpoints that write only what changed
  // (operators/model_state.h). Once on, each update notes the rows it
  // changed; TakeChangedRows hands them over (in no order) and forgets them.
  void TrackChanges() {
    if (changed_bits_.empty()) changed_bits_.assign(rows() / 64 + 1, 0);
  }
  std::vector<uint32_t> TakeChangedRows() {
    std::vector<uint32_t> rows;
    rows.swap(changed_rows_);
    for (uint32_t r : rows) changed_bits_[r >> 6] = 0;
    return rows;
  }
  // The heap the model holds (its parameters and change tracking).
  size_t heap_bytes() const {
    return 4 * params().capacity() + 8 * changed_bits_.capacity() + 4 * changed_rows_.capacity();
  }

 protected:
  explicit Model(const ModelOptions& options) : options_(options) {}

  void Touch(uint32_t row) {
    if (changed_bits_.empty()) return;
    uint64_t& word = changed_bits_[row >> 6];
    const uint64_t bit = uint64_t{1} << (row & 63);
    if ((word & bit) == 0) {
      word |= bit;
      changed_rows_.push_back(row);
    }
  }

  ModelOptions options_;
  uint64_t version_ = 0;
  std::vector<uint64_t> changed_bits_;   // a bit per row (empty: not tracking)
  std::vector<uint32_t> changed_rows_;   // the rows whose bit is set
};

// FTRL-Proximal. Per coordinate (z, n) interleaved, so one cache line holds
// both; the weight is derived from them when needed (Algorithm 1):
//   w = 0                                             if |z| <= l1
//   w = -(z - sgn(z) l1) / ((beta + sqrt(n)) / alpha + l2)   otherwise
class FtrlModel final : public Model {
 public:
  explicit FtrlModel(const ModelOptions& options)
      : Model(options), mask_((1u << options.bits) - 1), zn_(2 * (size_t{mask_} + 2), 0.0f) {}

  ModelKind kind() const override { return ModelKind::kFtrl; }

  double Predict(const SparseVector& x) const override {
    double margin = Weight(Bias());
    for (size_t i = 0; i < x.size(); ++i) margin += Weight(x.index[i] & mask_) * x.value[i];
    return Sigmoid(margin);
  }

  double PredictThenLearn(const SparseVector& x, float label, float weight = 1) override {
    const size_t n = x.size();
    // Start loading every coordinate first: in a large space each is a cache
    // miss, and they overlap when issued together.
    for (size_t i = 0; i < n; ++i) __builtin_prefetch(&zn_[2 * size_t{x.index[i] & mask_}], 1);
    // Weights (and sqrt(n)) are computed once, for the score and the update.
    w_.resize(n + 1);
    n_.resize(n + 1);
    sqrt_n_.resize(n + 1);
    const uint32_t bias = Bias();
    double margin = WeightAt(bias, &w_[n], &n_[n], &sqrt_n_[n]);
    for (size_t i = 0; i < n; ++i) {
      margin += WeightAt(x.index[i] & mask_, &w_[i], &n_[i], &sqrt_n_[i]) * x.value[i];
    }
    const double p = Sigmoid(margin);
    const double g = (p - label) * weight;  // d logloss / d margin
    Update(bias, w_[n], n_[n], sqrt_n_[n], g);
    for (size_t i = 0; i < n; ++i) Update(x.index[i] & mask_, w_[i], n_[i], sqrt_n_[i], g * x.value[i]);
    ++version_;
    return p;
  }

  void InitBias(double margin) override {
    // The z whose weight (with the bias's n, 0 before learning) is margin:
    // inverting w = -(z - sgn(z) l1) / ((beta + sqrt(n)) / alpha + l2).
    const uint32_t b = Bias();
    const double d = (options_.beta + std::sqrt(zn_[2 * size_t{b} + 1])) / options_.alpha + options_.l2;
    const double sign = margin < 0 ? -1.0 : (margin > 0 ? 1.0 : 0.0);
    zn_[2 * size_t{b}] = static_cast<float>(-margin * d - sign * options_.l1);
    Touch(b);
  }

  // The weight of index i (for tests and inspection).
  float Weight(uint32_t i) const {
    float w, n, sqrt_n;
    return WeightAt(i, &w, &n, &sqrt_n);
  }
  // Weights that are not zero (L1 makes most of them zero).
  size_t NonZeroWeights() const {
    size_t count = 0;
    for (uint32_t i = 0; i <= mask_ + 1; ++i) count += Weight(i) != 0.0f;
    return count;
  }

 private:
  uint32_t Bias() const { return mask_ + 1; }
  // Weight(i), also giving sqrt(n_i).
  float WeightAt(uint32_t i, float* w, float* n, float* sqrt_n) const {
    const float z = zn_[2 * size_t{i}];
    *n = zn_[2 * size_t{i} + 1];
    *sqrt_n = std::sqrt(*n);
    if (std::fabs(z) <= options_.l1) return *w = 0.0f;
    const double sign = z < 0 ? -1.0 : 1.0;
    return *w = static_cast<float>(-(z - sign * options_.l1) /
                                   ((options_.beta + *sqrt_n) / options_.alpha + options_.l2));
  }
  void Update(uint32_t i, float w, float n_seen, float sqrt_n, double g) {
    g = ClipGradient(g);
    Touch(i);
    float& z = zn_[2 * size_t{i}];
    float& n = zn_[2 * size_t{i} + 1];
    // (A coordinate repeated in one example: its later entries see the n
    // the earlier ones left, as when computed one at a time.)
    const float sqrt_old = n == n_seen ? sqrt_n : std::sqrt(n);
    const double sigma = (std::sqrt(n + g * g) - sqrt_old) / options_.alpha;
    z = static_cast<float>(z + g - sigma * w);
    n = static_cast<float>(n + g * g);
  }
  std::vector<float>* mutable_params() override { return &zn_; }
  const std::vector<float>& params() const override { return zn_; }
  size_t row_stride() const override { return 2; }

  uint32_t mask_;
  std::vector<float> zn_;  // (z, n) per index, then the bias's
  std::vector<float> w_, n_, sqrt_n_;  // scratch: per entry its weight, n, sqrt(n)
};

// Logistic regression with AdaGrad: per index (w, sum of g^2).
class SgdModel final : public Model {
 public:
  explicit SgdModel(const ModelOptions& options)
      : Model(options), mask_((1u << options.bits) - 1), wg_(2 * (size_t{mask_} + 2), 0.0f) {}

  ModelKind kind() const override { return ModelKind::kSgd; }

  double Predict(const SparseVector& x) const override {
    double margin = wg_[2 * size_t{Bias()}];
    for (size_t i = 0; i < x.size(); ++i) margin += wg_[2 * size_t{x.index[i] & mask_}] * x.value[i];
    return Sigmoid(margin);
  }

  void InitBias(double margin) override {
    wg_[2 * size_t{Bias()}] = static_cast<float>(margin);
    Touch(Bias());
  }

  double PredictThenLearn(const SparseVector& x, float label, float weight = 1) override {
    const double p = Predict(x);
    const double g = (p - label) * weight;
    Update(Bias(), g);
    for (size_t i = 0; i < x.size(); ++i) Update(x.index[i] & mask_, g * x.value[i]);
    ++version_;
    return p;
  }

 private:
  uint32_t Bias() const { return mask_ + 1; }
  void Update(uint32_t i, double g) {
    g = ClipGradient(g);
    Touch(i);
    float& w = wg_[2 * size_t{i}];
    float& g2 = wg_[2 * size_t{i} + 1];
    g += options_.sgd_l2 * w;
    g2 = static_cast<float>(g2 + g * g);
    w = static_cast<float>(w - options_.learning_rate * g / std::sqrt(g2 + 1e-8));
  }
  std::vector<float>* mutable_params() override { return &wg_; }
  const std::vector<float>& params() const override { return wg_; }
  size_t row_stride() const override { return 2; }

  uint32_t mask_;
  std::vector<float> wg_;
};

// A factorization machine of degree 2 (Rendle 2010, equation 1, computed in
// O(k * nonzeros) with his lemma 3.1):
//   margin = w0 + sum_i w_i x_i
//          + 1/2 sum_f [ (sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2 ]
// d margin / d v_if = x_i (sum_j v_jf x_j) - v_if x_i^2.
// Layout per index: [w, g2(w), v_1..v_k, g2(v_1)..g2(v_k)], one row of a
// row-major Eigen array, so an index's parameters are contiguous.
class FmModel final : public Model {
 public:
  explicit FmModel(const ModelOptions& options)
      : Model(options),
        mask_((1u << options.bits) - 1),
        k_(std::clamp(options.factors, 1, kMaxFactors)),
        stride_(2 + 2 * static_cast<size_t>(k_)),
        params_(stride_ * (size_t{mask_} + 2), 0.0f) {
    std::mt19937_64 rng(options.seed);
    std::normal_distribution<float> init(0.0f, static_cast<float>(options.init_stddev));
    for (size_t i = 0; i <= mask_; ++i) {
      for (int f = 0; f < k_; ++f) params_[i * stride_ + 2 + static_cast<size_t>(f)] = init(rng);
    }
  }

  ModelKind kind() const override { return ModelKind::kFm; }

  void InitBias(double margin) override {
    Row(Bias())[0] = static_cast<float>(margin);
    Touch(Bias());
  }

  // At most kMaxFactors factors: scratch vectors then live on the stack.
  static constexpr int kMaxFactors = 64;
  using Factors = Eigen::Matrix<float, Eigen::Dynamic, 1, 0, kMaxFactors, 1>;

  double Predict(const SparseVector& x) const override {
    Factors sum = Factors::Zero(k_);
    return Sigmoid(Margin(x, sum));
  }

  double PredictThenLearn(const SparseVector& x, float label, float weight = 1) override {
    // Every row's lines first (a row spans one or two): the misses overlap.
    for (size_t i = 0; i < x.size(); ++i) {
      const float* row = Row(x.index[i] & mask_);
      __builtin_prefetch(row, 1);
      __builtin_prefetch(row + stride_ - 1, 1);
    }
    sum_.setZero(k_);
    const double p = Sigmoid(Margin(x, sum_));
    const double g = (p - label) * weight;
    const double eta = options_.fm_learning_rate;
    auto step = [&](float& w, float& g2, double grad) {
      grad = ClipGradient(grad);
      g2 = static_cast<float>(g2 + grad * grad);
      w = static_cast<float>(w - eta * grad / std::sqrt(g2 + 1e-8));
    };
    float* bias = Row(Bias());
    step(bias[0], bias[1], g);
    Touch(Bias());
    for (size_t i = 0; i < x.size(); ++i) {
      Touch(x.index[i] & mask_);
      float* row = Row(x.index[i] & mask_);
      const float xi = x.value[i];
      step(row[0], row[1], g * xi + options_.sgd_l2 * row[0]);
      Eigen::Map<Eigen::VectorXf> v(row + 2, k_);
      Eigen::Map<Eigen::VectorXf> g2(row + 2 + k_, k_);
      grad_.resize(k_);
      // Gradient of the margin for this index's factors, times g, plus L2.
      grad_.noalias() =
          static_cast<float>(g) * (xi * sum_ - (xi * xi) * v) + static_cast<float>(options_.fm_l2) * v;
      for (int f = 0; f < k_; ++f) grad_[f] = static_cast<float>(ClipGradient(grad_[f]));
      g2.array() += grad_.array().square();
      v.array() -= static_cast<float>(eta) * grad_.array() / (g2.array() + 1e-8f).sqrt();
    }
    ++version_;
    return p;
  }

  int factors() const { return k_; }

 private:
  uint32_t Bias() const { return mask_ + 1; }
  float* Row(uint32_t i) { return params_.data() + size_t{i} * stride_; }
  const float* Row(uint32_t i) const { return params_.data() + size_t{i} * stride_; }

  // The margin; `sum` gets sum_i v_i x_i (k entries).
  double Margin(const SparseVector& x, Factors& sum) const {
    double margin = Row(Bias())[0];
    float squares = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const float* row = Row(x.index[i] & mask_);
      const float xi = x.value[i];
      margin += row[0] * xi;
      Eigen::Map<const Eigen::VectorXf> v(row + 2, k_);
      sum += xi * v;
      squares += xi * xi * v.squaredNorm();
    }
    return margin + 0.5 * (sum.squaredNorm() - squares);
  }

  std::vector<float>* mutable_params() override { return &params_; }
  const std::vector<float>& params() const override { return params_; }
  size_t row_stride() const override { return stride_; }

  uint32_t mask_;
  int k_;
  size_t stride_;
  std::vector<float> params_;
  Factors sum_, grad_;  // scratch
};

// Defined in operators/model_file.h (included below):
//   MakeModel(kind, options)  a new model (InvalidArgument for bad options)
//   ParseModelKind("ftrl" | "sgd" | "fm"), ModelKindName(kind)
//   ParseModel(bytes)         reads Model::Serialize's file

}  // namespace eddy

#include "operators/model_file.h"  // IWYU pragma: export

#endif  // EDDY_OPERATORS_LEARNERS_H_
