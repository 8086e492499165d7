// Drift detectors on streams whose change points are known: seeded synthetic
// streams (stationary, or with one abrupt change of the mean) and the SEA
// concepts stream, a real file without drift, also relabelled at row 20,000
// to a new concept. Detectors must stay quiet on stationary data (within the
// false-alarm rate each is known to have) and detect a change soon after it
// happens, never before. ADWIN's window is also checked against brute force;
// PSI and KS against hand-computed values; alert episodes and the alert JSON
// line exactly.
#include "operators/drift.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace eddy::drift {
namespace {

// ---------------------------------------------------------------------------
// ADWIN
// ---------------------------------------------------------------------------

// Each cut check tests the mean at every bucket boundary at level
// delta' = delta / ln(n); the bound (Bernstein-type, with the observed
// variance) is conservative, so on a stationary stream cuts are far rarer
// than delta per check: none is expected in 2M values, and two would already
// point at a wrong eps_cut (e.g. a missing ln(2/delta') or a 1/m for 2/m).
TEST(AdwinTest, StationaryStreamRaisesAlmostNoAlarmsAndKeepsTheWholeStream) {
  constexpr int kValues = 100000;
  int alarms = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    std::bernoulli_distribution bit(0.2);
    Adwin adwin;  // delta = 0.002
    int stream_alarms = 0;
    for (int i = 0; i < kValues; ++i) stream_alarms += adwin.Update(bit(rng)) ? 1 : 0;
    alarms += stream_alarms;
    if (stream_alarms == 0) {
      EXPECT_EQ(adwin.width(), kValues) << "seed " << seed;
      EXPECT_NEAR(adwin.mean(), 0.2, 0.005) << "seed " << seed;
      EXPECT_NEAR(adwin.variance(), 0.16, 0.005) << "seed " << seed;
    }
  }
  EXPECT_LE(alarms, 2);
}

// 0.2 -> 0.6 at value 5000. With n1 new values and ~5000 old ones,
// eps_cut ~ sqrt(2 sigma^2 ln(2/delta') / n1) + 2 ln(2/delta') / (3 n1) with
// sigma^2 ~ 0.17 and ln(2/delta') ~ 9 falls below the 0.4 gap at n1 ~ 40;
// add up to one clock (32) and the bucket boundary: < 150 typically, and the
// requirement is 300.
TEST(AdwinTest, AbruptChangeIsDetectedSoonAfterAndTheWindowForgetsTheOldConcept) {
  constexpr int kChange = 5000;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(100 + seed);
    std::bernoulli_distribution before(0.2), after(0.6);
    Adwin adwin;
    std::optional<int> detected;
    for (int i = 0; i < kChange + 2000; ++i) {
      const bool alarm = adwin.Update(i < kChange ? before(rng) : after(rng));
      if (alarm && !detected) detected = i;
    }
    ASSERT_TRUE(detected.has_value()) << "seed " << seed;
    EXPECT_GE(*detected, kChange) << "seed " << seed;
    EXPECT_LE(*detected, kChange + 300) << "seed " << seed;
    // 2000 values after the change the window holds (almost) only the new
    // concept: its mean is the new one's within ~3 standard errors.
    EXPECT_LE(adwin.width(), 2000 + 100) << "seed " << seed;
    EXPECT_NEAR(adwin.mean(), 0.6, 0.04) << "seed " << seed;
  }
}

// The window is always the latest width() values: its mean and variance are
// those of the last width() values added, on a real-valued stream whose mean
// jumps several times (so that the window also shrinks).
TEST(AdwinTest, MeanAndVarianceAreThoseOfTheLastWidthValues) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> noise(0, 1);
    std::uniform_real_distribution<double> level(-3, 3);
    std::uniform_int_distribution<int> checkpoint(0, 499);
    std::vector<double> values;
    Adwin adwin;
    double mean = 0;
    int shrinks = 0;
    for (int i = 0; i < 50000; ++i) {
      if (i % 7000 == 0) mean = level(rng);
      values.push_back(mean + noise(rng));
      shrinks += adwin.Update(values.back()) ? 1 : 0;
      if (checkpoint(rng) != 0) continue;
      const int64_t w = adwin.width();
      ASSERT_GE(w, 1);
      ASSERT_LE(w, static_cast<int64_t>(values.size()));
      double sum = 0;
      for (size_t j = values.size() - w; j < values.size(); ++j) sum += values[j];
      const double brute_mean = sum / w;
      double m2 = 0;
      for (size_t j = values.size() - w; j < values.size(); ++j) {
        m2 += (values[j] - brute_mean) * (values[j] - brute_mean);
      }
      ASSERT_NEAR(adwin.mean(), brute_mean, 1e-9) << "seed " << seed << " at " << i;
      ASSERT_NEAR(adwin.variance(), m2 / w, 1e-9 * std::max(1.0, m2 / w))
          << "seed " << seed << " at " << i;
    }
    EXPECT_GE(shrinks, 3) << "seed " << seed;  // the jumps were seen
  }
}

TEST(AdwinTest, EmptyWindowHasNoMean) {
  Adwin adwin;
  EXPECT_EQ(adwin.width(), 0);
  EXPECT_TRUE(std::isnan(adwin.mean()));
  EXPECT_TRUE(std::isnan(adwin.variance()));
  adwin.Update(3);
  EXPECT_EQ(adwin.width(), 1);
  EXPECT_EQ(adwin.mean(), 3);
  EXPECT_EQ(adwin.variance(), 0);
}

// ---------------------------------------------------------------------------
// Page-Hinkley
// ---------------------------------------------------------------------------

// Values N(1, 0.2^2). The statistic is a random walk with drift -delta,
// reflected at 0 and pulled back by the fading factor: it spends a fraction
// of about exp(-(2 / sigma^2) (delta lambda + (1 - alpha) lambda^2 / 2))
// = exp(-18.75) ~ 7e-9 of the time above lambda = 50, so 1M values give no
// alarm. (The same defaults on a 0/1 stream, sigma^2 ~ 0.16, would alarm
// every few thousand values: see the scale note in drift.h.)
TEST(PageHinkleyTest, StationaryStreamRaisesNoAlarm) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> x(1, 0.2);
    PageHinkley ph;
    int alarms = 0;
    for (int i = 0; i < 100000; ++i) alarms += ph.Update(x(rng)) ? 1 : 0;
    EXPECT_EQ(alarms, 0) << "seed " << seed;
  }
}

// The mean rises by 0.5 at value 5000. After the change each value adds about
// 0.5 - delta - (the running mean's rise, < 0.01) ~ 0.49 to the statistic, so
// from its pre-change level g0 (>= 0, mean sigma^2 / (2 delta) = 4) it passes
// lambda = 50 after (50 - g0) / 0.49 <= 102 values, give or take the noise
// of the sum (sd 0.2 sqrt(100) = 2, i.e. ~4 values at 2 sd): within 120.
// After the alarm the detector restarts on the new level and stays quiet.
TEST(PageHinkleyTest, AbruptIncreaseIsDetectedWithinTheBoundAndThenItResets) {
  constexpr int kChange = 5000;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(100 + seed);
    std::normal_distribution<double> noise(0, 0.2);
    PageHinkley ph;
    std::vector<int> alarms;
    for (int i = 0; i < kChange + 5000; ++i) {
      if (ph.Update((i < kChange ? 1.0 : 1.5) + noise(rng))) {
        alarms.push_back(i);
        EXPECT_EQ(ph.count(), 0);
        EXPECT_EQ(ph.statistic(), 0);
      }
    }
    ASSERT_EQ(alarms.size(), 1u) << "seed " << seed;
    EXPECT_GT(alarms[0], kChange) << "seed " << seed;
    EXPECT_LE(alarms[0], kChange + 120) << "seed " << seed;
  }
}

TEST(PageHinkleyTest, NoAlarmBeforeMinInstancesAndNoneForADecrease) {
  PageHinkley ph;
  // A huge deviation inside the first 30 values: not reported yet.
  for (int i = 0; i < 29; ++i) EXPECT_FALSE(ph.Update(i < 20 ? 0 : 1000));
  EXPECT_GT(ph.statistic(), 50);
  EXPECT_TRUE(ph.Update(1000));  // the 30th value
  // A drop of the mean only pushes the statistic down.
  PageHinkley down;
  for (int i = 0; i < 10000; ++i) EXPECT_FALSE(down.Update(i < 5000 ? 10 : 0));
}

// ---------------------------------------------------------------------------
// DDM
// ---------------------------------------------------------------------------

// 29 correct predictions, then only errors. At n = 30 (1 error):
// p = 1/30, s = 0.0328 become p_min, s_min. n = 31: p + s = 0.0645 + 0.0441
// = 0.1087 >= p_min + 2 s_min = 0.0989: warning. n = 32: p + s = 0.0938 +
// 0.0515 = 0.1453 >= p_min + 3 s_min = 0.1317: drift, and a restart.
TEST(DdmTest, LevelsFollowTheFormulaOnAHandComputedStream) {
  Ddm ddm;
  for (int i = 0; i < 29; ++i) ASSERT_EQ(ddm.Update(false), Ddm::Level::kStable);
  EXPECT_EQ(ddm.Update(true), Ddm::Level::kStable);
  EXPECT_EQ(ddm.Update(true), Ddm::Level::kWarning);
  EXPECT_EQ(ddm.Update(true), Ddm::Level::kDrift);
  EXPECT_EQ(ddm.count(), 0);
  // After the restart: an all-error stream has s = 0 and never becomes the
  // minimum, so it does not drift every 30 predictions.
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(ddm.Update(true), Ddm::Level::kStable) << i;
}

TEST(DdmTest, FirstErrorOfAnAccurateModelIsNotADrift) {
  Ddm ddm;
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(ddm.Update(false), Ddm::Level::kStable);
  EXPECT_EQ(ddm.Update(true), Ddm::Level::kStable);
  EXPECT_NEAR(ddm.error_rate(), 1.0 / 1001, 1e-12);
}

// DDM tests at 3 sigma after every prediction against a running minimum, and
// takes that minimum from small samples early on, so it false-alarms far more
// often than a 3-sigma test suggests (see drift.h): measured on 400 seeds of
// 20,000 Bernoulli(0.2) predictions, 28% of streams drift with the paper's
// 30-prediction warm-up and 5% with a 1,000-prediction one. The bounds below
// pin these rates; a drift level of 2 sigma, or a wrong s, breaks them.
TEST(DdmTest, FalseAlarmRateOnStationaryStreamsStaysAtItsKnownLevel) {
  auto streams_with_drift = [](int64_t min_instances) {
    DdmOptions options;
    options.min_instances = min_instances;
    int count = 0;
    for (uint64_t seed = 1; seed <= 100; ++seed) {
      std::mt19937_64 rng(seed);
      std::bernoulli_distribution error(0.2);
      Ddm ddm(options);
      bool drift = false;
      for (int i = 0; i < 20000; ++i) drift |= ddm.Update(error(rng)) == Ddm::Level::kDrift;
      count += drift ? 1 : 0;
    }
    return count;
  };
  EXPECT_LE(streams_with_drift(30), 40);
  EXPECT_LE(streams_with_drift(1000), 12);
}

// Error rate 0.2 -> 0.6 at prediction 5000. The error rate is cumulative since
// the last restart, so after k new predictions it has risen by about
// 0.4 k / (5000 + k); a drift needs p + s >= p_min + 3 s_min, i.e. a rise of
// about 2-4 s_min. With s_min taken late (s ~ 0.0057 at n = 5000) that is
// k ~ 150-300; when s_min was taken early (up to ~0.03 at n ~ 200) it is up to
// ~2,000. So: the median delay under 400 and every delay under 3,000.
TEST(DdmTest, AbruptIncreaseIsDetectedWithinTheBound) {
  constexpr int kChange = 5000;
  std::vector<int> delays;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    std::mt19937_64 rng(1000 + seed);
    std::bernoulli_distribution before(0.2), after(0.6);
    Ddm ddm;
    std::optional<int> delay;
    for (int i = 0; i < kChange + 3000 && !delay; ++i) {
      const Ddm::Level level = ddm.Update(i < kChange ? before(rng) : after(rng));
      if (level == Ddm::Level::kDrift && i >= kChange) delay = i - kChange;
    }
    ASSERT_TRUE(delay.has_value()) << "seed " << seed;
    delays.push_back(*delay);
  }
  std::sort(delays.begin(), delays.end());
  EXPECT_LE(delays[delays.size() / 2], 400);
}

// ---------------------------------------------------------------------------
// PSI and Kolmogorov-Smirnov
// ---------------------------------------------------------------------------

TEST(PsiTest, IdenticalDistributionsGiveZero) {
  EXPECT_EQ(Psi({10, 20, 30, 40}, {10, 20, 30, 40}), 0);
  EXPECT_NEAR(Psi({10, 20, 30, 40}, {1, 2, 3, 4}), 0, 1e-15);  // same proportions
}

TEST(PsiTest, HandComputedExamples) {
  // (0.4 - 0.5) ln(0.4 / 0.5) + 0 + (0.3 - 0.2) ln(0.3 / 0.2)
  //   = 0.0223144 + 0.0405465 = 0.0628609
  EXPECT_NEAR(Psi({50, 30, 20}, {40, 30, 30}), 0.0628609, 1e-7);
  // An empty expected bin counts as eps = 1e-4:
  // (0.5 - 1) ln(0.5) + (0.5 - 1e-4) ln(0.5 / 1e-4) = 0.3465736 + 4.2577453
  EXPECT_NEAR(Psi({100, 0}, {50, 50}), 4.6043189, 1e-6);
  EXPECT_NEAR(Psi({100, 0}, {50, 50}, 1e-2), 0.3465736 + 0.49 * std::log(50.0), 1e-6);
}

TEST(PsiTest, MismatchedOrEmptyHistogramsGiveNaN) {
  EXPECT_TRUE(std::isnan(Psi({1, 2}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(Psi({}, {})));
  EXPECT_TRUE(std::isnan(Psi({0, 0}, {1, 2})));
  EXPECT_TRUE(std::isnan(Psi({1, -1}, {1, 2})));
}

TEST(KolmogorovSmirnovTest, IdenticalSamplesGiveZero) {
  const KsResult same = KolmogorovSmirnov({3, 1, 2, 2, 5}, {5, 2, 1, 3, 2});
  EXPECT_EQ(same.statistic, 0);
  EXPECT_FALSE(same.reject);
  // All values tied: a comparison that stepped through one sample before the
  // other would see a gap of 1 here.
  EXPECT_EQ(KolmogorovSmirnov({1, 1, 1}, {1, 1, 1, 1}).statistic, 0);
}

// a = {1, 2, 2, 3}, b = {2, 3, 3, 4, 5}:
//   x:    1     2     3     4     5
//   F_a:  1/4   3/4   1     1     1
//   F_b:  0     1/5   3/5   4/5   1
//   gap:  0.25  0.55  0.40  0.20  0
// D = 0.55; critical = sqrt(-ln(0.025) / 2) * sqrt(9 / 20) = 1.358102 * 0.670820.
TEST(KolmogorovSmirnovTest, HandComputedExampleWithTies) {
  const KsResult r = KolmogorovSmirnov({3, 2, 1, 2}, {5, 3, 2, 4, 3});
  EXPECT_NEAR(r.statistic, 0.55, 1e-12);
  EXPECT_NEAR(r.critical, 1.358102 * 0.670820, 1e-6);
  EXPECT_FALSE(r.reject);
  EXPECT_TRUE(KolmogorovSmirnov({3, 2, 1, 2}, {5, 3, 2, 4, 3}, 0.9).reject);  // c = 0.38
}

// D against brute force: max over every x of |#{a <= x} / n - #{b <= x} / m|,
// on small-integer samples full of ties.
TEST(KolmogorovSmirnovTest, StatisticEqualsBruteForceOnTiedSamples) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::uniform_int_distribution<int> size(1, 30), value(0, 6 + trial % 10);
    std::vector<double> a(size(rng)), b(size(rng));
    for (double& x : a) x = value(rng);
    for (double& x : b) x = value(rng) + (trial % 3 == 0 ? 1 : 0);
    double brute = 0;
    for (const std::vector<double>* s : {&a, &b}) {
      for (double x : *s) {
        const double fa = std::count_if(a.begin(), a.end(), [&](double v) { return v <= x; });
        const double fb = std::count_if(b.begin(), b.end(), [&](double v) { return v <= x; });
        brute = std::max(brute, std::abs(fa / a.size() - fb / b.size()));
      }
    }
    ASSERT_NEAR(KolmogorovSmirnov(a, b).statistic, brute, 1e-12) << "trial " << trial;
  }
}

// Samples of 200 from one normal: the test rejects at about its level (the
// asymptotic critical value is slightly conservative for discrete D). Shifted
// by half a standard deviation: it rejects nearly always.
TEST(KolmogorovSmirnovTest, RejectsShiftedSamplesAndRarelyEqualOnes) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> x(0, 1);
  auto sample = [&](double shift) {
    std::vector<double> s(200);
    for (double& v : s) v = x(rng) + shift;
    return s;
  };
  int same_rejected = 0;
  int shifted_rejected = 0;
  for (int trial = 0; trial < 200; ++trial) {
    same_rejected += KolmogorovSmirnov(sample(0), sample(0)).reject ? 1 : 0;
    shifted_rejected += KolmogorovSmirnov(sample(0), sample(0.5)).reject ? 1 : 0;
  }
  EXPECT_LE(same_rejected, 20);     // <= 10% at alpha = 5%
  EXPECT_GE(shifted_rejected, 190);  // power ~0.99 at n = m = 200
}

// ---------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------

TEST(AlertTest, JsonHasEveryKeyInOrderAndEscapesStrings) {
  Alert alert;
  alert.job = "ctr \"main\"";
  alert.detector = "adwin";
  alert.metric = "error_rate";
  alert.field = "line1\nline2\\";
  alert.value = 0.25;
  alert.threshold = 0.1;
  alert.window_start = 1000;
  alert.window_end = 61000;
  alert.event_time = 60500;
  alert.severity = "critical";
  EXPECT_EQ(AlertJson(alert),
            R"({"job":"ctr \"main\"","detector":"adwin","metric":"error_rate",)"
            R"("field":"line1\nline2\\","value":0.25,"threshold":0.1,"window_start":1000,)"
            R"("window_end":61000,"event_time":60500,"severity":"critical","state":"alert"})");
  alert.resolved = true;
  const std::string resolved = AlertJson(alert);
  EXPECT_NE(resolved.find(R"("state":"resolved"})"), std::string::npos) << resolved;
  EXPECT_EQ(resolved.find('\n'), std::string::npos);
}

TEST(EpisodeTest, OneAlertPerEpisodeResolvedAfterCooldownThenANewEpisode) {
  Episode episode(/*cooldown_ms=*/1000);
  EXPECT_EQ(episode.Observe(false, 0), std::nullopt);  // nothing open
  EXPECT_EQ(episode.Observe(true, 100), true);         // episode starts
  EXPECT_TRUE(episode.open());
  EXPECT_EQ(episode.Observe(true, 300), std::nullopt);  // extends: last firing 300
  EXPECT_EQ(episode.Observe(false, 900), std::nullopt);
  EXPECT_EQ(episode.Observe(true, 1200), std::nullopt);  // extends: last firing 1200
  EXPECT_EQ(episode.Observe(false, 2100), std::nullopt);  // 900 ms quiet
  EXPECT_EQ(episode.Observe(true, 1100), std::nullopt);   // late, older firing: no change
  EXPECT_EQ(episode.Observe(false, 2199), std::nullopt);
  EXPECT_EQ(episode.Observe(false, 2200), false);  // 1000 ms quiet: resolved
  EXPECT_FALSE(episode.open());
  EXPECT_EQ(episode.Observe(false, 5000), std::nullopt);  // resolved once only
  EXPECT_EQ(episode.Observe(true, 5100), true);           // a new episode
  EXPECT_EQ(episode.Observe(true, 5200), std::nullopt);
  EXPECT_EQ(episode.Observe(false, 6200), false);
}

// ---------------------------------------------------------------------------
// SEA concepts stream (real file)
// ---------------------------------------------------------------------------

struct SeaRow {
  double attrib1, attrib2;
  int label;
};

// <repo root>/../shared/data/sea_stream/sea_stream.csv.gz, header
// "attrib1,attrib2,attrib3,class". Empty on failure (the test then fails).
std::vector<SeaRow> ReadSea() {
  const std::string path =
      std::string(EDDY_SOURCE_DIR) + "/../shared/data/sea_stream/sea_stream.csv.gz";
  std::vector<SeaRow> rows;
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) {
    ADD_FAILURE() << "cannot open " << path;
    return rows;
  }
  char line[256];
  bool header = true;
  while (gzgets(gz, line, sizeof line) != nullptr) {
    if (header) {
      header = false;
      if (std::string(line).rfind("attrib1,attrib2,attrib3,class", 0) != 0) {
        ADD_FAILURE() << "unexpected header " << line;
        break;
      }
      continue;
    }
    char* p = line;
    SeaRow row;
    row.attrib1 = std::strtod(p, &p);
    row.attrib2 = std::strtod(p + 1, &p);
    std::strtod(p + 1, &p);  // attrib3: irrelevant by design
    row.label = static_cast<int>(std::strtol(p + 1, &p, 10));
    rows.push_back(row);
  }
  gzclose(gz);
  return rows;
}

// The 0/1 errors of the fixed classifier "attrib1 + attrib2 > 9". From row
// `relabel_from` on, the ground truth becomes SEA's concept "> 7" with the
// file's own label noise kept: a row whose label disagrees with "> 9" (a
// noise flip, ~10% of rows) also disagrees with "> 7". The error rate goes
// from ~0.10 to ~0.23 (the 16% of rows with 7 < attrib1 + attrib2 <= 9 turn
// from mostly right to mostly wrong).
std::vector<bool> SeaErrors(const std::vector<SeaRow>& rows, size_t relabel_from) {
  std::vector<bool> errors;
  for (size_t i = 0; i < rows.size(); ++i) {
    const bool predicted = rows[i].attrib1 + rows[i].attrib2 > 9;
    bool truth = rows[i].label == 1;
    if (i >= relabel_from) {
      const bool noise = truth != predicted;
      truth = (rows[i].attrib1 + rows[i].attrib2 > 7) != noise;
    }
    errors.push_back(predicted != truth);
  }
  return errors;
}

std::vector<int> AdwinAlarms(const std::vector<bool>& errors) {
  Adwin adwin;
  std::vector<int> alarms;
  for (size_t i = 0; i < errors.size(); ++i) {
    if (adwin.Update(errors[i] ? 1 : 0)) alarms.push_back(static_cast<int>(i));
  }
  return alarms;
}

std::vector<int> DdmDrifts(const std::vector<bool>& errors) {
  Ddm ddm;
  std::vector<int> drifts;
  for (size_t i = 0; i < errors.size(); ++i) {
    if (ddm.Update(errors[i]) == Ddm::Level::kDrift) drifts.push_back(static_cast<int>(i));
  }
  return drifts;
}

constexpr size_t kSeaChange = 20000;

TEST(SeaStreamTest, AdwinIsQuietWithoutDriftAndDetectsTheRelabelledConcept) {
  const std::vector<SeaRow> rows = ReadSea();
  ASSERT_EQ(rows.size(), 40000u);
  const std::vector<bool> errors = SeaErrors(rows, rows.size());
  EXPECT_NEAR(std::count(errors.begin(), errors.end(), true) / 40000.0, 0.10, 0.01);
  EXPECT_TRUE(AdwinAlarms(errors).empty()) << "first false alarm at row "
                                           << AdwinAlarms(errors)[0];

  const std::vector<int> alarms = AdwinAlarms(SeaErrors(rows, kSeaChange));
  ASSERT_FALSE(alarms.empty());
  EXPECT_GE(alarms[0], static_cast<int>(kSeaChange));
  EXPECT_LT(alarms[0], static_cast<int>(kSeaChange) + 1000);
}

// DDM as published does not meet ADWIN's bounds on this file: on the
// unmodified file it drifts at row 257 (p_min + s_min was taken at n = 85
// from 3 errors), and after that restart its s_min comes from n = 80
// (s_min = 0.027), so the relabelled concept must lift the cumulative error
// rate by ~0.04, which takes ~9,600 rows. What holds, and is pinned here: it
// does detect the relabelled concept before the file ends, and it is quiet on
// the stationary part once past its warm-up.
TEST(SeaStreamTest, DdmDetectsTheRelabelledConceptBeforeTheFileEnds) {
  const std::vector<SeaRow> rows = ReadSea();
  ASSERT_EQ(rows.size(), 40000u);
  for (int drift : DdmDrifts(SeaErrors(rows, rows.size()))) EXPECT_LT(drift, 1000);

  const std::vector<int> drifts = DdmDrifts(SeaErrors(rows, kSeaChange));
  const auto after_change = std::find_if(drifts.begin(), drifts.end(), [](int d) {
    return d >= static_cast<int>(kSeaChange);
  });
  ASSERT_NE(after_change, drifts.end());
  for (auto it = drifts.begin(); it != after_change; ++it) EXPECT_LT(*it, 1000);
}

}  // namespace
}  // namespace eddy::drift
