// Data drift per field: quiet on stationary streams (many seeds), an alert
// naming the field that shifted in the first window after the shift, and a
// resolution once it shifts back; numeric bins at the reference's deciles.
#include "operators/field_drift.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace eddy {
namespace {

// Fields: 0 "price" numeric N(mu, 1); 1 "genre" categorical, 20 values with
// Zipf-like weights (value v hashed to index 1000 + 37 v); 2 "age" numeric,
// present in 70% of examples.
struct Stream {
  double mu = 0;
  double genre_skew = 1.0;  // exponent of the genre weights
  double age_present = 0.7;
};

std::vector<FieldValue> Draw(const Stream& s, std::mt19937_64& rng) {
  std::vector<FieldValue> out;
  std::normal_distribution<double> normal(s.mu, 1.0);
  out.push_back({0, true, normal(rng)});
  std::vector<double> w;
  for (int v = 0; v < 20; ++v) w.push_back(1.0 / std::pow(v + 1, s.genre_skew));
  std::discrete_distribution<int> genre(w.begin(), w.end());
  out.push_back({1, false, 1000.0 + 37.0 * genre(rng)});
  if (std::uniform_real_distribution<double>(0, 1)(rng) < s.age_present) {
    out.push_back({2, true, std::floor(std::uniform_real_distribution<double>(18, 70)(rng))});
  }
  return out;
}

std::string Name(uint32_t f) {
  static const char* kNames[] = {"price", "genre", "age", "new"};
  return f < 4 ? kNames[f] : "?";
}

struct Outcome {
  std::vector<std::string> alerts;
  int windows = 0;
};

// `n` examples; the stream is `before` until `change_at`, then `after`
// until `back_at`, then `before` again.
Outcome Simulate(uint64_t seed, int n, const Stream& before, const Stream& after, int change_at,
             int back_at, FieldDrift::Options options = {}) {
  std::mt19937_64 rng(seed);
  FieldDrift drift("test", options);
  Outcome run;
  for (int i = 0; i < n; ++i) {
    const bool shifted = i >= change_at && i < back_at;
    if (drift.Add(Draw(shifted ? after : before, rng), i, Name, &run.alerts)) ++run.windows;
  }
  return run;
}

TEST(FieldDriftTest, NoAlertOnStationaryStreams) {
  int windows = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const Outcome run = Simulate(seed, 100000, Stream{}, Stream{}, 1 << 30, 1 << 30);
    EXPECT_TRUE(run.alerts.empty()) << "seed " << seed << ": " << run.alerts[0];
    windows += run.windows;
  }
  EXPECT_EQ(windows, 20 * 9);  // the first 10000 are the reference
}

TEST(FieldDriftTest, AShiftedNumericFieldAlertsInTheFirstWindowAfterAndResolves) {
  Stream shifted;
  shifted.mu = 1.0;  // one standard deviation
  const Outcome run = Simulate(7, 80000, Stream{}, shifted, 40000, 60000);
  ASSERT_EQ(run.alerts.size(), 4u) << ::testing::PrintToString(run.alerts);
  // PSI (critical) and KS (warning) for price only, window [40000, 49999].
  EXPECT_NE(run.alerts[0].find("\"detector\":\"psi\",\"metric\":\"feature_distribution\","
                               "\"field\":\"price\""),
            std::string::npos)
      << run.alerts[0];
  EXPECT_NE(run.alerts[0].find("\"window_start\":40000,\"window_end\":49999"), std::string::npos);
  EXPECT_NE(run.alerts[0].find("\"severity\":\"critical\",\"state\":\"alert\""), std::string::npos);
  EXPECT_NE(run.alerts[1].find("\"detector\":\"ks\""), std::string::npos) << run.alerts[1];
  EXPECT_NE(run.alerts[1].find("\"severity\":\"warning\""), std::string::npos);
  // Back to normal from 60000: both resolve in the window after.
  for (int k : {2, 3}) {
    EXPECT_NE(run.alerts[k].find("\"field\":\"price\""), std::string::npos) << run.alerts[k];
    EXPECT_NE(run.alerts[k].find("\"window_start\":60000"), std::string::npos) << run.alerts[k];
    EXPECT_NE(run.alerts[k].find("\"state\":\"resolved\""), std::string::npos) << run.alerts[k];
  }
}

TEST(FieldDriftTest, ACategoricalMixChangeAndMissingValuesAlert) {
  Stream mix;
  mix.genre_skew = 0.0;  // every genre equally likely: a major shift
  Outcome run = Simulate(3, 60000, Stream{}, mix, 30000, 1 << 30);
  ASSERT_FALSE(run.alerts.empty());
  EXPECT_NE(run.alerts[0].find("\"detector\":\"psi\",\"metric\":\"feature_distribution\","
                               "\"field\":\"genre\""),
            std::string::npos)
      << run.alerts[0];
  EXPECT_NE(run.alerts[0].find("\"window_start\":30000"), std::string::npos) << run.alerts[0];
  for (const std::string& a : run.alerts) EXPECT_NE(a.find("\"genre\""), std::string::npos) << a;

  Stream gone;
  gone.age_present = 0.05;  // the field goes missing: only the missing bin moves
  run = Simulate(4, 60000, Stream{}, gone, 30000, 1 << 30);
  ASSERT_FALSE(run.alerts.empty());
  EXPECT_NE(run.alerts[0].find("\"detector\":\"psi\""), std::string::npos) << run.alerts[0];
  EXPECT_NE(run.alerts[0].find("\"field\":\"age\""), std::string::npos) << run.alerts[0];
  EXPECT_NE(run.alerts[0].find("\"window_start\":30000"), std::string::npos) << run.alerts[0];
}

TEST(FieldDriftTest, AFieldFirstSeenAfterTheReferenceIsAShift) {
  FieldDrift drift("test", FieldDrift::Options{});
  std::vector<std::string> alerts;
  for (int i = 0; i < 30000; ++i) {
    std::vector<FieldValue> values = {{1, false, 1000.0 + 37 * (i % 5)}};
    if (i >= 20000) values.push_back({3, false, 5.0});
    drift.Add(values, i, Name, &alerts);
  }
  ASSERT_EQ(alerts.size(), 1u) << ::testing::PrintToString(alerts);
  EXPECT_NE(alerts[0].find("\"field\":\"new\""), std::string::npos) << alerts[0];
  EXPECT_NE(alerts[0].find("\"window_start\":20000"), std::string::npos) << alerts[0];
}

TEST(FieldDriftTest, NumericBinsAreTheReferenceDecilesAndPsiIsComputedOnThem) {
  FieldDrift::Options o;
  o.reference = 1000;
  o.window = 1000;
  FieldDrift drift("test", o);
  std::vector<std::string> alerts;
  // Reference: 0..999 (deciles at 100, 200, ...). Window 1: 0..999 again:
  // PSI 0. Window 2: everything in [0, 100): one bin holds all.
  for (int i = 0; i < 1000; ++i) drift.Add({{0, true, double(i)}}, i, Name, &alerts);
  for (int i = 0; i < 1000; ++i) drift.Add({{0, true, double(999 - i)}}, 1000 + i, Name, &alerts);
  ASSERT_EQ(drift.results().size(), 1u);
  EXPECT_DOUBLE_EQ(drift.results()[0].psi, 0.0);
  EXPECT_DOUBLE_EQ(drift.results()[0].ks, 0.0);
  for (int i = 0; i < 1000; ++i) drift.Add({{0, true, (i % 100) + 0.5}}, 2000 + i, Name, &alerts);
  // By hand: bins of 10% each; the window has 100% in bin 0 and eps 1e-4
  // in the 9 others; the missing bin is eps in both.
  double psi = (1.0 - 0.1) * std::log(1.0 / 0.1) + 9 * (1e-4 - 0.1) * std::log(1e-4 / 0.1);
  EXPECT_NEAR(drift.results()[0].psi, psi, 1e-9);
  EXPECT_NEAR(drift.results()[0].ks, 0.9, 1e-12);
  ASSERT_EQ(alerts.size(), 2u);
}

}  // namespace
}  // namespace eddy
