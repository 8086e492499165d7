// The CTR job's synthetic world (`eddy gen ctr`, and the stream of `eddy
// demo`): a music app where users listen in sessions and see ads between
// tracks, and click them by a hidden model.
//
// World (all from the seed):
//   - users (Zipf 1.1 activity), each with a device (ios 45%, android 40%,
//     web 15%), a click propensity and a taste: half its listens in a favourite genre, a quarter
//     in a second one, the rest Zipf over 12 genres; 600 artists (artist a
//     plays genre a mod 12), 30 tracks each;
//   - ads (Zipf 1.0 serving), each with an advertiser (40), a category (10)
//     and a quality ~ N(0, 0.6);
//   - sessions start as a Poisson process whose rate follows the day (x0.4
//     at 04:00 to x1.6 at 16:00 ... peak in the evening, UTC); a session is
//     ~12 tracks (geometric), 80% played 2-5 min, 20% skipped after 5-30 s;
//     an ad may open the session (slot app_open, 30%), follows every 3rd to
//     5th track (between_tracks) and may close it (playlist_end, 50%).
// Hidden click model: P(click) = sigmoid(-3.3 + quality(ad)
//     + 1.5 * sum_g share_g * affinity[g][category(ad)]
//     + propensity(user) ~ N(0, 0.5) - 0.1 * (ads already seen this session)
//     + slot (app_open +0.4, between_tracks 0, playlist_end -0.3)
//     + device (ios +0.15, android 0, web -0.35)
//     + 0.25 * sin(2 pi (hour - 15) / 24))
// where share_g is the fraction of the user's listens in the hour before the
// impression that were in genre g, and affinity ~ N(0, 0.9) per (genre,
// category). A click follows its impression after ~Exp(8 s) (80%) or
// ~Exp(90 s) (20%), at most 9 minutes.
// Drift (`drift_at`, fractions of the stream's events): from each, the
// affinities and every ad's quality are drawn anew (the same features,
// another meaning: what a user's genres say about a category changes).
//
// Truth (never in the events): per impression {"imp","ts","p"} (its true
// click probability), per drift {"drift","ts","fraction"}.
//
// Events come out in event-time order, except that each is written up to
// `disorder_ms` late, as a mobile client's batched upload would (0: none).
// Same options, same bytes.
#ifndef EDDY_JOBS_CTR_GENERATOR_H_
#define EDDY_JOBS_CTR_GENERATOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace eddy::ctr {

struct GeneratorOptions {
  int64_t events = 100000;  // lines written (malformed ones included)
  uint64_t seed = 1;
  int64_t users = 5000;
  int64_t ads = 300;
  double sessions_per_hour = 600;
  std::vector<double> drift_at;  // fractions in (0, 1)
  double malformed_rate = 0;
  int64_t disorder_ms = 2000;
  int64_t start_ms = 1735689600000;  // 2025-01-01T00:00:00Z
};

// Receives each line (no newline) with its Kafka key (the user; the line's
// first characters for a malformed line).
using LineSink = std::function<absl::Status(absl::string_view line, absl::string_view key)>;
// Receives each truth record (JSON, no newline).
using TruthSink = std::function<absl::Status(absl::string_view json)>;

// Writes options.events lines. Stops early (OK) when `stop` becomes true.
// Errors: bad options (one line), or the first error of a sink.
absl::Status GenerateCtr(const GeneratorOptions& options, const LineSink& out,
                         const TruthSink& truth = nullptr,
                         const std::atomic<bool>* stop = nullptr);

}  // namespace eddy::ctr

#endif  // EDDY_JOBS_CTR_GENERATOR_H_
