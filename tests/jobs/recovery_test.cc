// Exactly-once recovery for real: `eddy replay` with a state directory is
// killed with SIGKILL at random moments and resumed each time; its final
// outputs must equal, byte for byte, those of an uninterrupted run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/command.h"

namespace eddy {
namespace {

using testing::EddyBinary;
using testing::MakeScratchDir;
using testing::ReadFileOrEmpty;
using testing::RunCommand;
using testing::SpawnEddy;

TEST(RecoveryTest, KilledAndResumedRunsEqualAnUninterruptedRun) {
  const std::string dir = MakeScratchDir("recovery");
  // Three inputs of different lengths (one gzip): files finish at different
  // moments, and a checkpoint may fall after some have finished.
  std::vector<std::string> common = {"replay", "listen_counts"};
  const std::vector<std::pair<const char*, int>> inputs = {
      {"a.jsonl", 900000}, {"b.jsonl.gz", 400000}, {"c.jsonl", 150000}};
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string path = dir + "/" + inputs[i].first;
    ASSERT_EQ(RunCommand(absl::StrCat(EddyBinary(), " gen listens --events ", inputs[i].second,
                                      " --seed ", 21 + i,
                                      " --malformed-rate 0.001 --late-rate 0.002 --out ", path),
                         dir)
                  .exit_code,
              0);
    common.push_back("--input");
    common.push_back(path);
  }
  // Small batches: each file's share per batch is below the read chunk.
  common.push_back("--batch-size");
  common.push_back("600");
  // Reference: no state directory, no interruption. Its duration scales the
  // kill delays, so that runs make progress on slow (sanitizer) builds too.
  int64_t reference_ms = 0;
  {
    std::vector<std::string> args = common;
    for (const char* a : {"--output-dir"}) args.push_back(a);
    args.push_back(dir + "/ref");
    const auto begin = std::chrono::steady_clock::now();
    const pid_t pid = SpawnEddy(args, dir + "/ref.log");
    int status = 0;
    waitpid(pid, &status, 0);
    reference_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - begin)
                       .count();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadFileOrEmpty(dir + "/ref.log");
  }

  std::vector<std::string> args = common;
  for (const std::string& a : {std::string("--output-dir"), dir + "/out", std::string("--state-dir"),
                               dir + "/state", std::string("--checkpoint-every"),
                               std::string("7000")}) {
    args.push_back(a);
  }
  std::mt19937_64 rng(2024);
  int kills = 0;
  int attempts = 0;
  bool finished = false;
  while (!finished && attempts < 60) {
    ++attempts;
    // Vary the thread count too: a resume may use another one.
    std::vector<std::string> run = args;
    run.push_back("--threads");
    run.push_back(std::to_string(1 + attempts % 2));
    const pid_t pid = SpawnEddy(run, dir + "/run.log");
    // Kill 2.5-10% of a full run's time after start-up (opening the state
    // directory and seeking take ~100 ms here): each run gets a few
    // checkpoints further, and 12 kills leave work for the last run.
    const int64_t startup_ms = 150;
    const int64_t lo = startup_ms + reference_ms / 40;
    const int64_t hi = startup_ms + std::max<int64_t>(reference_ms / 40 + 1, reference_ms / 10);
    const int delay_ms =
        kills < 12 ? static_cast<int>(lo + static_cast<int64_t>(rng() % (hi - lo))) : 1000000;
    int status = 0;
    pid_t done = 0;
    for (int waited = 0; waited < delay_ms; waited += 5) {
      done = waitpid(pid, &status, WNOHANG);
      if (done == pid) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (done != pid) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ASSERT_TRUE(WIFSIGNALED(status));
      ++kills;
      continue;
    }
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadFileOrEmpty(dir + "/run.log");
    finished = true;
  }
  ASSERT_TRUE(finished);
  std::printf("SIGKILLed %d times, resumed %d times\n", kills, attempts - 1);
  EXPECT_GE(kills, 10) << "the run finished before it could be killed often enough";
  for (const char* out : {"hourly_genre_counts.jsonl", "dead_letters.jsonl", "late_events.jsonl"}) {
    const std::string want = ReadFileOrEmpty(dir + "/ref/" + out);
    ASSERT_FALSE(want.empty());
    EXPECT_TRUE(ReadFileOrEmpty(dir + "/out/" + out) == want) << out << " differs after " << kills << " kills";
  }
  const std::string summary = ReadFileOrEmpty(dir + "/out/summary.json");
  const std::string ref_summary = ReadFileOrEmpty(dir + "/ref/summary.json");
  for (const char* field : {"\"events\":1450000", "\"resumed\":true"}) {
    EXPECT_NE(summary.find(field), std::string::npos) << summary;
  }
  const auto counts = [](const std::string& s) { return s.substr(s.find("\"sinks\"")); };
  EXPECT_EQ(counts(summary), counts(ref_summary)) << "per-operator and per-sink counts differ";
}

TEST(RecoveryTest, ResumingWithAnotherBatchSizeOrOtherInputsIsRefused) {
  const std::string dir = MakeScratchDir("recovery_refuse");
  const std::string events = dir + "/events.jsonl";
  ASSERT_EQ(RunCommand(absl::StrCat(EddyBinary(), " gen listens --events 20000 --out ", events), dir)
                .exit_code,
            0);
  const std::string base = absl::StrCat(EddyBinary(), " replay listen_counts --output-dir ", dir,
                                        "/out --state-dir ", dir, "/state");
  ASSERT_EQ(RunCommand(base + " --input " + events + " --batch-size 500", dir).exit_code, 0);
  testing::CommandResult r = RunCommand(base + " --input " + events + " --batch-size 700", dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("checkpointed with batch size 500"), std::string::npos) << r.err;
  ASSERT_EQ(RunCommand(absl::StrCat("cp ", events, " ", dir, "/other.jsonl"), dir).exit_code, 0);
  r = RunCommand(base + " --input " + dir + "/other.jsonl --batch-size 500", dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("resume with the same inputs"), std::string::npos) << r.err;
  // Another --param: another run.
  r = RunCommand(base + " --input " + events + " --batch-size 500 --param window=2h", dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("different job graph or parameters"), std::string::npos) << r.err;
  // The input changed since the checkpoint.
  std::ofstream(events, std::ios::app) << "{}\n";
  r = RunCommand(base + " --input " + events + " --batch-size 500", dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("changed since the checkpoint"), std::string::npos) << r.err;
  r = RunCommand(absl::StrCat(EddyBinary(), " replay artist_plays_does_not_exist --input ", events,
                              " --output-dir ", dir, "/o2 --state-dir ", dir, "/state"),
                 dir);
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace eddy
