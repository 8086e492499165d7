// Log lines: what an operator's log pipeline receives on stderr.
#include "engine/log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/json_field.h"

namespace eddy {
namespace {

// What `write` sends to stderr.
template <typename F>
std::string Stderr(F write) {
  std::fflush(stderr);
  const std::string path = ::testing::TempDir() + "/log_test_stderr";
  const int saved = dup(2);
  FILE* f = std::fopen(path.c_str(), "w");
  dup2(fileno(f), 2);
  write();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::fclose(f);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LogTest, TextIsComponentThenMessage) {
  SetLogFormat(LogFormat::kText);
  EXPECT_EQ(Stderr([] { Log(LogLevel::kInfo, "eddy run ctr", "partitions moved"); }),
            "eddy run ctr: partitions moved\n");
}

TEST(LogTest, JsonIsOneObjectPerLineWithTimeLevelComponentAndMessage) {
  SetLogFormat(LogFormat::kJson);
  const std::string out = Stderr([] {
    Log(LogLevel::kWarning, "eddy: kafka", "broker \"1\" down\nretrying");
    Log(LogLevel::kError, "eddy", "fatal");
  });
  SetLogFormat(LogFormat::kText);
  const size_t nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  const std::string first = out.substr(0, nl);
  EXPECT_EQ(first.front(), '{');
  EXPECT_EQ(first.back(), '}');
  EXPECT_EQ(testing::JsonField(first, "level"), "warning");
  EXPECT_EQ(testing::JsonField(first, "component"), "eddy: kafka");
  EXPECT_NE(first.find(R"("msg":"broker \"1\" down\nretrying")"), std::string::npos) << first;
  const std::string ts = testing::JsonField(first, "ts");
  ASSERT_EQ(ts.size(), 24u) << ts;  // 2026-11-25T02:31:07.123Z
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts.back(), 'Z');
  EXPECT_EQ(testing::JsonField(out.substr(nl + 1), "level"), "error");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
}

TEST(LogTest, RegisteredSecretsNeverAppear) {
  SetLogFormat(LogFormat::kText);
  RedactInLogs("s3cr3t-pass");
  RedactInLogs("ab");  // too short to mask safely: ignored
  EXPECT_EQ(Stderr([] { Log(LogLevel::kError, "eddy", "auth failed for s3cr3t-pass (ab)"); }),
            "eddy: auth failed for *** (ab)\n");
  SetLogFormat(LogFormat::kJson);
  const std::string json = Stderr([] { Log(LogLevel::kError, "eddy", "x=s3cr3t-pass"); });
  SetLogFormat(LogFormat::kText);
  EXPECT_EQ(json.find("s3cr3t"), std::string::npos) << json;
  EXPECT_EQ(Redacted("a s3cr3t-pass b"), "a *** b");
}

TEST(LogTest, ParsesFormats) {
  LogFormat f;
  EXPECT_TRUE(ParseLogFormat("json", &f));
  EXPECT_EQ(f, LogFormat::kJson);
  EXPECT_TRUE(ParseLogFormat("text", &f));
  EXPECT_EQ(f, LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("xml", &f));
}

}  // namespace
}  // namespace eddy
