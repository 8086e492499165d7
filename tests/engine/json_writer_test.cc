#include "engine/json_writer.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace eddy {
namespace {

std::string Quote(absl::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

std::string Double(double v) {
  std::string out;
  AppendJsonDouble(out, v);
  return out;
}

TEST(AppendJsonStringTest, PlainAsciiIsQuoted) {
  EXPECT_EQ(Quote("hello world"), "\"hello world\"");
  EXPECT_EQ(Quote(""), "\"\"");
}

TEST(AppendJsonStringTest, AppendsToExistingContent) {
  std::string out = "x=";
  AppendJsonString(out, "y");
  EXPECT_EQ(out, "x=\"y\"");
}

TEST(AppendJsonStringTest, EscapesQuoteAndBackslash) {
  EXPECT_EQ(Quote("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(Quote("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(Quote("\\\""), "\"\\\\\\\"\"");
}

TEST(AppendJsonStringTest, EscapesNewlineAndCommonControls) {
  EXPECT_EQ(Quote("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(Quote("\r\t\b\f"), "\"\\r\\t\\b\\f\"");
}

TEST(AppendJsonStringTest, EscapesOtherControlCharsAsUnicode) {
  EXPECT_EQ(Quote("\x01"), "\"\\u0001\"");
  EXPECT_EQ(Quote("\x1f"), "\"\\u001f\"");
  EXPECT_EQ(Quote(absl::string_view("a\0b", 3)), "\"a\\u0000b\"");
}

TEST(AppendJsonStringTest, SlashAndDelPassThrough) {
  EXPECT_EQ(Quote("a/b\x7f"), "\"a/b\x7f\"");
}

TEST(AppendJsonStringTest, ValidMultiByteUtf8PassesThroughUnchanged) {
  const std::string two = "caf\xc3\xa9";                 // é U+00E9
  const std::string three = "\xe2\x82\xac";              // € U+20AC
  const std::string four = "\xf0\x9f\x98\x80";           // 😀 U+1F600
  const std::string edges = "\xc2\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf";  // U+0080, U+FFFF, U+10FFFF
  EXPECT_EQ(Quote(two), "\"" + two + "\"");
  EXPECT_EQ(Quote(three), "\"" + three + "\"");
  EXPECT_EQ(Quote(four), "\"" + four + "\"");
  EXPECT_EQ(Quote(edges), "\"" + edges + "\"");
}

TEST(AppendJsonStringTest, LoneInvalidByteIsEscaped) {
  EXPECT_EQ(Quote("\xff"), "\"\\u00ff\"");
  EXPECT_EQ(Quote("a\xff" "b"), "\"a\\u00ffb\"");
  // A continuation byte without a lead byte.
  EXPECT_EQ(Quote("\x80"), "\"\\u0080\"");
}

TEST(AppendJsonStringTest, TruncatedSequenceIsEscapedByteByByte) {
  // First two bytes of "€" at the end of the string.
  EXPECT_EQ(Quote("\xe2\x82"), "\"\\u00e2\\u0082\"");
  // Truncated sequence followed by ASCII: the ASCII is kept.
  EXPECT_EQ(Quote("\xe2\x82z"), "\"\\u00e2\\u0082z\"");
}

TEST(AppendJsonStringTest, OverlongEncodingIsEscaped) {
  EXPECT_EQ(Quote(absl::string_view("\xc0\x80", 2)), "\"\\u00c0\\u0080\"");
  // Overlong three-byte form of '/'.
  EXPECT_EQ(Quote("\xe0\x80\xaf"), "\"\\u00e0\\u0080\\u00af\"");
}

TEST(AppendJsonStringTest, SurrogateIsEscaped) {
  EXPECT_EQ(Quote("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"");
}

TEST(AppendJsonStringTest, CodePointAboveMaxIsEscaped) {
  // U+110000.
  EXPECT_EQ(Quote("\xf4\x90\x80\x80"), "\"\\u00f4\\u0090\\u0080\\u0080\"");
}

TEST(AppendJsonStringTest, ValidSequenceAfterInvalidByteIsKept) {
  EXPECT_EQ(Quote("\xff\xc3\xa9"), "\"\\u00ff\xc3\xa9\"");
}

TEST(AppendJsonDoubleTest, RoundTripsThroughStrtod) {
  const double values[] = {0.0,
                           1.0,
                           -2.5,
                           0.1,
                           1.0 / 3.0,
                           123456789.125,
                           1e21,
                           1e-7,
                           1e300,
                           -1e-300,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::epsilon()};
  for (double v : values) {
    const std::string s = Double(v);
    ASSERT_FALSE(s.empty());
    char* end = nullptr;
    const double back = std::strtod(s.c_str(), &end);
    EXPECT_EQ(end, s.c_str() + s.size()) << s;
    EXPECT_EQ(back, v) << s;
  }
}

TEST(AppendJsonDoubleTest, UsesShortForm) {
  EXPECT_EQ(Double(0.25), "0.25");
  EXPECT_EQ(Double(0.1), "0.1");
  EXPECT_EQ(Double(3.0), "3");
}

TEST(AppendJsonDoubleTest, NonFiniteIsNull) {
  EXPECT_EQ(Double(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(Double(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Double(-std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonObjectWriterTest, EmptyObject) {
  std::string out;
  JsonObjectWriter w(out);
  w.Close();
  EXPECT_EQ(out, "{}");
}

TEST(JsonObjectWriterTest, HeaderExample) {
  std::string out;
  JsonObjectWriter w(out);
  w.Field("user", "u42").Field("count", 3).Field("p", 0.25);
  w.Close();
  EXPECT_EQ(out, "{\"user\":\"u42\",\"count\":3,\"p\":0.25}");
}

TEST(JsonObjectWriterTest, StringFieldsAreEscaped) {
  std::string out;
  JsonObjectWriter w(out);
  const std::string s = "line\n\"two\"";
  w.Field("a", s).Field("b", absl::string_view("x\\y")).Field("k\"ey", "v");
  w.Close();
  EXPECT_EQ(out, "{\"a\":\"line\\n\\\"two\\\"\",\"b\":\"x\\\\y\",\"k\\\"ey\":\"v\"}");
}

TEST(JsonObjectWriterTest, IntegerFields) {
  std::string out;
  JsonObjectWriter w(out);
  w.Field("i32", int32_t{-7})
      .Field("i64", std::numeric_limits<int64_t>::min())
      .Field("u64", std::numeric_limits<uint64_t>::max())
      .Field("u32", uint32_t{42});
  w.Close();
  EXPECT_EQ(out,
            "{\"i32\":-7,\"i64\":-9223372036854775808,\"u64\":18446744073709551615,"
            "\"u32\":42}");
}

TEST(JsonObjectWriterTest, BoolFieldsAreLiterals) {
  std::string out;
  JsonObjectWriter w(out);
  w.Field("t", true).Field("f", false);
  w.Close();
  EXPECT_EQ(out, "{\"t\":true,\"f\":false}");
}

TEST(JsonObjectWriterTest, DoubleFields) {
  std::string out;
  JsonObjectWriter w(out);
  w.Field("half", 0.5).Field("nan", std::nan("")).Field("whole", 2.0);
  w.Close();
  EXPECT_EQ(out, "{\"half\":0.5,\"nan\":null,\"whole\":2}");
}

TEST(JsonObjectWriterTest, RawFieldIsWrittenVerbatim) {
  std::string out;
  JsonObjectWriter w(out);
  w.Field("id", 1).RawField("tags", "[\"a\",{\"b\":null}]").RawField("n", "null");
  w.Close();
  EXPECT_EQ(out, "{\"id\":1,\"tags\":[\"a\",{\"b\":null}],\"n\":null}");
}

TEST(JsonObjectWriterTest, AppendsAfterExistingContent) {
  std::string out = "prefix ";
  JsonObjectWriter w(out);
  w.Field("a", 1);
  w.Close();
  EXPECT_EQ(out, "prefix {\"a\":1}");
}

TEST(JsonObjectWriterTest, InvalidUtf8InValueStaysValidJson) {
  std::string out;
  JsonObjectWriter w(out);
  w.Field("line", "ok\xff");
  w.Close();
  EXPECT_EQ(out, "{\"line\":\"ok\\u00ff\"}");
}

}  // namespace
}  // namespace eddy
