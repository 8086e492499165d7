// The `eddy` command line: help, job listing, and one clear line with exit
// code 2 for every bad invocation.
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/command.h"

namespace eddy {
namespace {

using testing::EddyBinary;
using testing::MakeScratchDir;
using testing::RunCommand;

class CliTest : public ::testing::Test {
 protected:
  testing::CommandResult Eddy(const std::string& args) {
    return RunCommand(EddyBinary() + " " + args, dir_);
  }
  void ExpectUsageError(const std::string& args, const std::string& message) {
    testing::CommandResult r = Eddy(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << " -> " << r.err;
    // One line, starting with "eddy: ".
    EXPECT_EQ(r.err.rfind("eddy: ", 0), 0u) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
  std::string dir_ = MakeScratchDir("cli");
};

TEST_F(CliTest, HelpListsCommands) {
  testing::CommandResult r = Eddy("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("eddy replay JOB"), std::string::npos);
  r = Eddy("help replay");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--threads"), std::string::npos);
}

TEST_F(CliTest, JobsListsTheShippedJobWithADescription) {
  testing::CommandResult r = Eddy("jobs");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("listen_counts"), std::string::npos);
  EXPECT_NE(r.out.find("one-hour"), std::string::npos);
}

TEST_F(CliTest, DescribePrintsTheGraph) {
  testing::CommandResult r = Eddy("describe listen_counts");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("key_by by_user <- plays"), std::string::npos) << r.out;
}

TEST_F(CliTest, BadInvocationsGetOneLineAndExitTwo) {
  ExpectUsageError("frobnicate", "unknown command 'frobnicate'");
  ExpectUsageError("replay nosuchjob --input x --output-dir " + dir_, "unknown job 'nosuchjob'");
  ExpectUsageError("replay listen_counts --input /nonexistent/file.jsonl --output-dir " + dir_,
                   "/nonexistent/file.jsonl");
  ExpectUsageError("replay listen_counts --bogus 1", "unknown flag --bogus");
  ExpectUsageError("replay listen_counts --input x --output-dir " + dir_ + " --threads zero",
                   "--threads: 'zero' is not an integer");
  ExpectUsageError("replay listen_counts --input x --output-dir " + dir_ + " --threads 0",
                   "--threads: 0 is outside");
  ExpectUsageError("replay listen_counts --output-dir " + dir_, "no --input given");
  ExpectUsageError("replay listen_counts --input x", "no --output-dir given");
  ExpectUsageError("gen nosuch --out x", "unknown generator 'nosuch'");
  ExpectUsageError("gen listens", "--out FILE is required");
  ExpectUsageError("gen listens --out x --events -5", "--events: -5 is outside");
  // eddy run's operations flags are checked before it connects anywhere.
  const std::string run = "run qualified_plays --brokers 127.0.0.1:1 --state-dir " + dir_ + "/s";
  ExpectUsageError(run + " --log-format xml", "--log-format 'xml': expected text or json");
  ExpectUsageError(run + " --input-buffer-mb 0", "--input-buffer-mb: 0 is outside");
  ExpectUsageError(run + " --metrics-port ''", "--metrics-port needs [HOST:]PORT");
}

TEST_F(CliTest, NoCommandPrintsUsageToStderr) {
  testing::CommandResult r = Eddy("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage:"), std::string::npos);
}

}  // namespace
}  // namespace eddy
