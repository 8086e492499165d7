// Deterministic random draws for the generators (`eddy gen`): a seeded
// mt19937_64, whose output sequence the C++ standard fixes, with our own
// uniform, exponential, normal and Zipf sampling (the library's
// distributions are implementation-defined, so the same seed could give
// other bytes with another standard library). Same seed, same stream.
#ifndef EDDY_JOBS_RANDOM_DRAWS_H_
#define EDDY_JOBS_RANDOM_DRAWS_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace eddy {

class Draw {
 public:
  explicit Draw(uint64_t seed) : rng_(seed) {}
  // Uniform in [0, 1), 53 bits.
  double Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n).
  int64_t Below(int64_t n) { return static_cast<int64_t>(Uniform() * static_cast<double>(n)); }
  double Exponential(double mean) { return -mean * std::log(1.0 - Uniform()); }
  // Standard normal (Box-Muller; the second value of each pair is dropped).
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  uint64_t Bits() { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

// Zipf(s) over [0, n): cumulative weights, sampled by binary search.
class Zipf {
 public:
  Zipf(int64_t n, double s) : cdf_(static_cast<size_t>(n)) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) cdf_[i] = (sum += 1.0 / std::pow(static_cast<double>(i + 1), s));
    for (double& c : cdf_) c /= sum;
  }
  int64_t Sample(Draw& d) const {
    const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), d.Uniform());
    return std::min<int64_t>(it - cdf_.begin(), static_cast<int64_t>(cdf_.size()) - 1);
  }

 private:
  std::vector<double> cdf_;
};

}  // namespace eddy

#endif  // EDDY_JOBS_RANDOM_DRAWS_H_
