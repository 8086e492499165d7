#include "connectors/json_reader.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/io.h"
#include "gtest/gtest.h"

namespace eddy {
namespace {

using FieldFn = absl::FunctionRef<absl::Status(absl::string_view, JsonValue&)>;

// Every test runs with both entry points: ParseJsonObjectCopy on an unpadded
// string, and ParseJsonObject on a record followed by kRecordPadding readable
// zero bytes (as sources hand them over).
class JsonReaderTest : public ::testing::TestWithParam<bool> {
 protected:
  absl::Status Parse(const std::string& json, FieldFn fn) {
    if (!GetParam()) return ParseJsonObjectCopy(json, fn);
    std::string padded = json;
    padded.append(kRecordPadding, '\0');
    return ParseJsonObject(absl::string_view(padded.data(), json.size()), fn);
  }

  // Parses `json` reading nothing; returns the status.
  absl::Status ParseSkippingAll(const std::string& json) {
    return Parse(json, [](absl::string_view, JsonValue&) { return absl::OkStatus(); });
  }
};

TEST_P(JsonReaderTest, VisitsFieldsInDocumentOrder) {
  std::vector<std::string> keys;
  absl::Status s = Parse("{\"z\":1,\"a\":2,\"m\":3}",
                         [&](absl::string_view key, JsonValue&) -> absl::Status {
                           keys.emplace_back(key);
                           return absl::OkStatus();
                         });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(keys, (std::vector<std::string>{"z", "a", "m"}));
}

TEST_P(JsonReaderTest, EmptyObjectCallsNothing) {
  int calls = 0;
  absl::Status s = Parse("{}", [&](absl::string_view, JsonValue&) -> absl::Status {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(calls, 0);
}

TEST_P(JsonReaderTest, ReadsTypedValues) {
  int64_t ts = 0;
  double score = 0;
  double whole = 0;
  bool flag = false;
  std::string user;
  bool note_null = false;
  bool user_null = true;
  absl::Status s = Parse(
      "{\"ts\":1700000000123,\"score\":-0.25,\"whole\":3,\"flag\":true,"
      "\"user\":\"u42\",\"note\":null}",
      [&](absl::string_view key, JsonValue& v) -> absl::Status {
        if (key == "ts") return v.GetInt(ts);
        if (key == "score") return v.GetDouble(score);
        if (key == "whole") return v.GetDouble(whole);  // integers accepted
        if (key == "flag") return v.GetBool(flag);
        if (key == "user") {
          user_null = v.IsNull();
          return v.GetString(user);
        }
        if (key == "note") note_null = v.IsNull();
        return absl::OkStatus();
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ts, 1700000000123);
  EXPECT_EQ(score, -0.25);
  EXPECT_EQ(whole, 3.0);
  EXPECT_TRUE(flag);
  EXPECT_EQ(user, "u42");
  EXPECT_TRUE(note_null);
  EXPECT_FALSE(user_null);
}

TEST_P(JsonReaderTest, ReadsNegativeAndExtremeIntegers) {
  int64_t a = 0;
  int64_t b = 0;
  absl::Status s = Parse("{\"a\":-9223372036854775808,\"b\":9223372036854775807}",
                         [&](absl::string_view key, JsonValue& v) -> absl::Status {
                           return v.GetInt(key == "a" ? a : b);
                         });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(a, INT64_MIN);
  EXPECT_EQ(b, INT64_MAX);
}

TEST_P(JsonReaderTest, GetBoolFalse) {
  bool b = true;
  absl::Status s = Parse("{\"b\":false}", [&](absl::string_view, JsonValue& v) -> absl::Status {
    return v.GetBool(b);
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_FALSE(b);
}

TEST_P(JsonReaderTest, GetStringViewReturnsUnescapedString) {
  std::string copy;
  absl::Status s = Parse("{\"s\":\"tab\\there\"}",
                         [&](absl::string_view, JsonValue& v) -> absl::Status {
                           absl::string_view sv;
                           absl::Status r = v.GetStringView(sv);
                           copy = std::string(sv);
                           return r;
                         });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(copy, "tab\there");
}

TEST_P(JsonReaderTest, UnknownFieldsOfAnyShapeAreSkipped) {
  int64_t wanted = 0;
  std::vector<std::string> keys;
  absl::Status s = Parse(
      "{\"obj\":{\"x\":[1,2,{\"y\":\"}\"}]},\"arr\":[[],{}],\"str\":\"a,b}\","
      "\"n\":null,\"f\":1.5e3,\"wanted\":7,\"last\":{\"deep\":[true,false]}}",
      [&](absl::string_view key, JsonValue& v) -> absl::Status {
        keys.emplace_back(key);
        if (key == "wanted") return v.GetInt(wanted);
        return absl::OkStatus();
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(wanted, 7);
  EXPECT_EQ(keys, (std::vector<std::string>{"obj", "arr", "str", "n", "f", "wanted", "last"}));
}

TEST_P(JsonReaderTest, EscapedStringsAreUnescaped) {
  std::string value;
  absl::Status s = Parse("{\"s\":\"a\\\"b\\u00e9\\\\c\\n\\/\"}",
                         [&](absl::string_view, JsonValue& v) -> absl::Status {
                           return v.GetString(value);
                         });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(value, "a\"b\xc3\xa9\\c\n/");
}

TEST_P(JsonReaderTest, EscapedKeysAreUnescaped) {
  std::vector<std::string> keys;
  absl::Status s = Parse("{\"k\\\"1\":1,\"caf\\u00e9\":2}",
                         [&](absl::string_view key, JsonValue&) -> absl::Status {
                           keys.emplace_back(key);
                           return absl::OkStatus();
                         });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(keys, (std::vector<std::string>{"k\"1", "caf\xc3\xa9"}));
}

TEST_P(JsonReaderTest, Utf8StringPassesThrough) {
  std::string value;
  absl::Status s = Parse("{\"s\":\"\xe2\x82\xac \xf0\x9f\x98\x80\"}",
                         [&](absl::string_view, JsonValue& v) -> absl::Status {
                           return v.GetString(value);
                         });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(value, "\xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST_P(JsonReaderTest, WrongTypeErrorNamesTheField) {
  int64_t ts = 0;
  absl::Status s = Parse("{\"user\":\"u\",\"ts\":\"yesterday\"}",
                         [&](absl::string_view key, JsonValue& v) -> absl::Status {
                           if (key == "ts") return v.GetInt(ts);
                           return absl::OkStatus();
                         });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "field 'ts': expected an integer");
}

TEST_P(JsonReaderTest, FractionIsNotAnInteger) {
  int64_t ts = 0;
  absl::Status s = Parse("{\"ts\":1.5}", [&](absl::string_view, JsonValue& v) -> absl::Status {
    return v.GetInt(ts);
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "field 'ts': expected an integer");
}

TEST_P(JsonReaderTest, OtherWrongTypeErrors) {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {"{\"p\":\"0.5\"}", "field 'p': expected a number"},
      {"{\"p\":true}", "field 'p': expected a number"},
      {"{\"p\":1}", "field 'p': expected a boolean"},
      {"{\"p\":\"true\"}", "field 'p': expected a boolean"},
      {"{\"p\":5}", "field 'p': expected a string"},
      {"{\"p\":null}", "field 'p': expected a string"},
  };
  for (const Case& c : cases) {
    const std::string expected = c.message;
    absl::Status s = Parse(c.json, [&](absl::string_view, JsonValue& v) -> absl::Status {
      if (absl::string_view(expected).find("number") != absl::string_view::npos) {
        double d;
        return v.GetDouble(d);
      }
      if (absl::string_view(expected).find("boolean") != absl::string_view::npos) {
        bool b;
        return v.GetBool(b);
      }
      std::string str;
      return v.GetString(str);
    });
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_EQ(s.message(), expected) << c.json;
  }
}

TEST_P(JsonReaderTest, MalformedJsonIsInvalidArgument) {
  for (const char* json :
       {"{\"a\":", "not json", "", "{", "{\"a\" 1}", "{\"a\":1,}", "{'a':1}", "   "}) {
    absl::Status s = ParseSkippingAll(json);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << "'" << json << "': " << s;
    EXPECT_FALSE(s.message().empty()) << json;
  }
}

// The header promises InvalidArgument for malformed JSON, so a record whose
// unread field is malformed must not be accepted as valid.
TEST_P(JsonReaderTest, MalformedValueInSkippedFieldIsAnError) {
  for (const char* json : {"{\"a\":[1,,2],\"b\":1}", "{\"a\":tru,\"b\":1}",
                           "{\"a\":{\"x\" 1},\"b\":1}"}) {
    int64_t b = 0;
    absl::Status s = Parse(json, [&](absl::string_view key, JsonValue& v) -> absl::Status {
      if (key == "b") return v.GetInt(b);
      return absl::OkStatus();
    });
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << "'" << json << "': " << s;
  }
}

TEST_P(JsonReaderTest, NonObjectTopLevelIsAnError) {
  for (const char* json : {"[1,2]", "[{\"a\":1}]", "\"str\"", "42", "null", "true"}) {
    absl::Status s = ParseSkippingAll(json);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << json << ": " << s;
  }
}

TEST_P(JsonReaderTest, TrailingBytesAreAnError) {
  for (const char* json : {"{\"a\":1} x", "{\"a\":1}{\"b\":2}", "{\"a\":1}}", "{} 1"}) {
    int64_t a = 0;
    absl::Status s = Parse(json, [&](absl::string_view key, JsonValue& v) -> absl::Status {
      if (key == "a") return v.GetInt(a);
      return absl::OkStatus();
    });
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << json << ": " << s;
  }
}

TEST_P(JsonReaderTest, TrailingBytesAreAnErrorWhenNothingIsRead) {
  for (const char* json : {"{\"a\":1} x", "{\"a\":1}{\"b\":2}"}) {
    absl::Status s = ParseSkippingAll(json);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << json << ": " << s;
  }
}

TEST_P(JsonReaderTest, SurroundingWhitespaceIsAllowed) {
  for (const char* json : {"{\"a\":1}  ", "{\"a\":1}\r", "{\"a\":1}\t\n", " \t{ \"a\" : 1 } "}) {
    int64_t a = 0;
    absl::Status s = Parse(json, [&](absl::string_view, JsonValue& v) -> absl::Status {
      return v.GetInt(a);
    });
    EXPECT_TRUE(s.ok()) << "'" << json << "': " << s;
    EXPECT_EQ(a, 1) << json;
  }
}

TEST_P(JsonReaderTest, InvalidUtf8InStringIsAnError) {
  for (const char* json : {"{\"s\":\"\xff\"}", "{\"s\":\"\xc0\x80\"}", "{\"s\":\"\xed\xa0\x80\"}",
                           "{\"s\xff\":1}"}) {
    absl::Status s = ParseSkippingAll(json);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << json << ": " << s;
  }
}

TEST_P(JsonReaderTest, InvalidUtf8IsAnErrorEvenWhenStringIsRead) {
  std::string value;
  absl::Status s = Parse("{\"s\":\"ok\xff\"}", [&](absl::string_view, JsonValue& v) -> absl::Status {
    return v.GetString(value);
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

TEST_P(JsonReaderTest, CallbackErrorIsPropagatedUnchangedAndStopsParsing) {
  std::vector<std::string> keys;
  absl::Status s = Parse("{\"a\":1,\"b\":2,\"c\":3}",
                         [&](absl::string_view key, JsonValue&) -> absl::Status {
                           keys.emplace_back(key);
                           if (key == "b") return absl::NotFoundError("missing thing: b");
                           return absl::OkStatus();
                         });
  EXPECT_EQ(s, absl::NotFoundError("missing thing: b"));
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
}

TEST_P(JsonReaderTest, ParsesManyRecordsInARow) {
  // The parser is reused per thread; a failure must not poison later records.
  for (int i = 0; i < 100; ++i) {
    ASSERT_FALSE(ParseSkippingAll("{\"a\":").ok());
    int64_t got = -1;
    const std::string json = "{\"i\":" + std::to_string(i) + "}";
    absl::Status s = Parse(json, [&](absl::string_view, JsonValue& v) -> absl::Status {
      return v.GetInt(got);
    });
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_EQ(got, i);
  }
}

INSTANTIATE_TEST_SUITE_P(EntryPoints, JsonReaderTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Padded") : std::string("Copy");
                         });

}  // namespace
}  // namespace eddy
