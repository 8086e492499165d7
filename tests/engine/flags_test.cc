#include "engine/flags.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace eddy {
namespace {

using Strings = std::vector<std::string>;

::testing::AssertionResult Contains(absl::string_view text, absl::string_view part) {
  if (absl::StrContains(text, part)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

const std::vector<FlagDef>& Defs() {
  static const auto* defs = new std::vector<FlagDef>{
      {"threads", FlagDef::kValue, "worker threads"},
      {"input", FlagDef::kRepeated, "input files"},
      {"verbose", FlagDef::kBool, "log more"},
      {"ratio", FlagDef::kValue, "a fraction"},
  };
  return *defs;
}

absl::StatusOr<ParsedArgs> Parse(const std::vector<std::string>& args) {
  return ParseArgs(args, Defs(), "eddy replay");
}

TEST(FlagsTest, NameSpaceValue) {
  absl::StatusOr<ParsedArgs> args = Parse({"--threads", "4"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_TRUE(args->Has("threads"));
  EXPECT_EQ(args->Get("threads"), "4");
  EXPECT_TRUE(args->positional().empty());
}

TEST(FlagsTest, NameEqualsValue) {
  absl::StatusOr<ParsedArgs> args = Parse({"--threads=8"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("threads"), "8");
}

TEST(FlagsTest, EqualsValueMayContainEqualsAndBeEmpty) {
  absl::StatusOr<ParsedArgs> args = Parse({"--ratio=a=b", "--threads="});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("ratio"), "a=b");
  EXPECT_TRUE(args->Has("threads"));
  EXPECT_EQ(args->Get("threads", "fallback"), "");
}

TEST(FlagsTest, SpaceValueIsTakenVerbatimEvenIfItLooksLikeAFlag) {
  absl::StatusOr<ParsedArgs> args = Parse({"--ratio", "-0.5"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("ratio"), "-0.5");
}

TEST(FlagsTest, AbsentFlagUsesFallback) {
  absl::StatusOr<ParsedArgs> args = Parse({});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_FALSE(args->Has("threads"));
  EXPECT_EQ(args->Get("threads"), "");
  EXPECT_EQ(args->Get("threads", "3"), "3");
  EXPECT_TRUE(args->GetAll("input").empty());
  EXPECT_FALSE(args->GetBool("verbose"));
}

TEST(FlagsTest, BoolFlag) {
  absl::StatusOr<ParsedArgs> args = Parse({"--verbose", "file.jsonl"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_TRUE(args->GetBool("verbose"));
  // A bool flag does not consume the next argument.
  EXPECT_EQ(args->positional(), (Strings{"file.jsonl"}));
}

TEST(FlagsTest, BoolFlagRejectsValue) {
  absl::StatusOr<ParsedArgs> args = Parse({"--verbose=true"});
  ASSERT_FALSE(args.ok());
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(args.status().message(), "--verbose"));
}

TEST(FlagsTest, RepeatedFlagKeepsAllValuesInOrder) {
  absl::StatusOr<ParsedArgs> args =
      Parse({"--input", "a.jsonl", "--input=b.jsonl", "--input", "c.jsonl"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->GetAll("input"), (Strings{"a.jsonl", "b.jsonl", "c.jsonl"}));
  EXPECT_EQ(args->Get("input"), "c.jsonl");
}

TEST(FlagsTest, PositionalsKeepTheirOrderAroundFlags) {
  absl::StatusOr<ParsedArgs> args =
      Parse({"job", "--threads", "2", "in.jsonl", "--verbose", "out", "-"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->positional(), (Strings{"job", "in.jsonl", "out", "-"}));
  EXPECT_EQ(args->Get("threads"), "2");
  EXPECT_TRUE(args->GetBool("verbose"));
}

TEST(FlagsTest, UnknownFlagErrorNamesTheFlagAndCommand) {
  absl::StatusOr<ParsedArgs> args = Parse({"--threads", "2", "--bogus", "1"});
  ASSERT_FALSE(args.ok());
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(args.status().message(), "--bogus"));
  EXPECT_TRUE(Contains(args.status().message(), "eddy replay"));
}

TEST(FlagsTest, UnknownFlagWithEqualsErrorNamesTheFlag) {
  absl::StatusOr<ParsedArgs> args = Parse({"--thread=2"});
  ASSERT_FALSE(args.ok());
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(args.status().message(), "--thread"));
}

TEST(FlagsTest, MissingValueIsAnError) {
  absl::StatusOr<ParsedArgs> args = Parse({"in.jsonl", "--threads"});
  ASSERT_FALSE(args.ok());
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(args.status().message(), "--threads"));
}

TEST(FlagsTest, NonRepeatedFlagGivenTwiceIsAnError) {
  absl::StatusOr<ParsedArgs> args = Parse({"--threads", "2", "--threads=3"});
  ASSERT_FALSE(args.ok());
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(args.status().message(), "--threads"));
}

TEST(FlagsTest, BoolFlagGivenTwiceIsAnError) {
  absl::StatusOr<ParsedArgs> args = Parse({"--verbose", "--verbose"});
  ASSERT_FALSE(args.ok());
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FlagsTest, SingleDashFlagIsRejected) {
  absl::StatusOr<ParsedArgs> args = Parse({"-x"});
  ASSERT_FALSE(args.ok());
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(args.status().message(), "-x"));
}

TEST(FlagsTest, SingleDashSpellingOfAKnownFlagIsRejected) {
  absl::StatusOr<ParsedArgs> args = Parse({"-threads", "2"});
  ASSERT_FALSE(args.ok());
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(args.status().message(), "-threads"));
}

TEST(FlagsTest, GetIntParsesValue) {
  absl::StatusOr<ParsedArgs> args = Parse({"--threads", "-12"});
  ASSERT_TRUE(args.ok()) << args.status();
  absl::StatusOr<int64_t> v = args->GetInt("threads", 1);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, -12);
}

TEST(FlagsTest, GetIntAbsentReturnsFallback) {
  absl::StatusOr<ParsedArgs> args = Parse({});
  ASSERT_TRUE(args.ok()) << args.status();
  absl::StatusOr<int64_t> v = args->GetInt("threads", 7, 1, 64);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 7);
}

TEST(FlagsTest, GetIntAcceptsRangeBounds) {
  for (const char* text : {"1", "64"}) {
    absl::StatusOr<ParsedArgs> args = Parse({"--threads", text});
    ASSERT_TRUE(args.ok()) << args.status();
    absl::StatusOr<int64_t> v = args->GetInt("threads", 1, 1, 64);
    ASSERT_TRUE(v.ok()) << text << ": " << v.status();
    EXPECT_EQ(*v, std::stoll(text));
  }
}

TEST(FlagsTest, GetIntOutsideRangeIsAnError) {
  for (const char* text : {"0", "65", "-1"}) {
    absl::StatusOr<ParsedArgs> args = Parse({"--threads", text});
    ASSERT_TRUE(args.ok()) << args.status();
    absl::StatusOr<int64_t> v = args->GetInt("threads", 1, 1, 64);
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(v.status().message(), "--threads"));
    EXPECT_TRUE(Contains(v.status().message(), "outside [1, 64]"));
  }
}

TEST(FlagsTest, GetIntGarbageIsAnError) {
  for (const char* text : {"abc", "12abc", "1.5", "", "99999999999999999999"}) {
    absl::StatusOr<ParsedArgs> args = Parse({std::string("--threads=") + text});
    ASSERT_TRUE(args.ok()) << args.status();
    absl::StatusOr<int64_t> v = args->GetInt("threads", 1);
    ASSERT_FALSE(v.ok()) << "'" << text << "'";
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(v.status().message(), std::string("--threads: '") + text + "' is not an integer");
  }
}

TEST(FlagsTest, GetDoubleParsesValue) {
  absl::StatusOr<ParsedArgs> args = Parse({"--ratio", "0.25"});
  ASSERT_TRUE(args.ok()) << args.status();
  absl::StatusOr<double> v = args->GetDouble("ratio", 1.0);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 0.25);

  args = Parse({"--ratio=-1e3"});
  ASSERT_TRUE(args.ok()) << args.status();
  v = args->GetDouble("ratio", 1.0);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, -1000.0);
}

TEST(FlagsTest, GetDoubleAbsentReturnsFallback) {
  absl::StatusOr<ParsedArgs> args = Parse({});
  ASSERT_TRUE(args.ok()) << args.status();
  absl::StatusOr<double> v = args->GetDouble("ratio", 0.5);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 0.5);
}

TEST(FlagsTest, GetDoubleGarbageIsAnError) {
  for (const char* text : {"x", "0.5x", ""}) {
    absl::StatusOr<ParsedArgs> args = Parse({std::string("--ratio=") + text});
    ASSERT_TRUE(args.ok()) << args.status();
    absl::StatusOr<double> v = args->GetDouble("ratio", 1.0);
    ASSERT_FALSE(v.ok()) << "'" << text << "'";
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(v.status().message(), "--ratio"));
  }
}

TEST(FlagsTest, FlagHelpListsEveryFlagWithHelp) {
  const std::string help = FlagHelp(Defs());
  EXPECT_TRUE(Contains(help, "--threads VALUE"));
  EXPECT_TRUE(Contains(help, "worker threads"));
  EXPECT_TRUE(Contains(help, "--input VALUE ..."));
  EXPECT_TRUE(Contains(help, "input files"));
  EXPECT_TRUE(Contains(help, "--verbose"));
  EXPECT_FALSE(Contains(help, "--verbose VALUE"));
  EXPECT_TRUE(Contains(help, "log more"));
}

}  // namespace
}  // namespace eddy
