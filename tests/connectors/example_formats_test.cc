#include "connectors/example_formats.h"

#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "operators/features.h"

namespace eddy {
namespace {

const std::string kData = EDDY_SOURCE_DIR "/../shared/data/";

// The index rule, written out independently of the parser.
uint32_t Expected(absl::string_view ns, absl::string_view name, int bits = 18) {
  const uint64_t seed = XXH3_64bits(ns.data(), ns.size());
  return static_cast<uint32_t>(XXH3_64bits_withSeed(name.data(), name.size(), seed)) &
         ((1u << bits) - 1);
}

using Features = std::vector<std::pair<uint32_t, float>>;

Features FeaturesOf(const Example& ex) {
  Features f;
  for (size_t i = 0; i < ex.x.size(); ++i) f.emplace_back(ex.x.index[i], ex.x.value[i]);
  return f;
}

std::unique_ptr<ExampleParser> MakeParser(ExampleFormatOptions options) {
  absl::StatusOr<std::unique_ptr<ExampleParser>> parser = ExampleParser::Make(std::move(options));
  EXPECT_TRUE(parser.ok()) << parser.status();
  return parser.ok() ? std::move(*parser) : nullptr;
}

std::unique_ptr<ExampleParser> MakeParser(const std::string& format) {
  ExampleFormatOptions options;
  options.format = format;
  return MakeParser(options);
}

// The line is rejected as InvalidArgument with a one-line message containing `what`.
void ExpectError(const ExampleParser& parser, absl::string_view line, absl::string_view what) {
  Example ex;
  const absl::Status s = parser.Parse(line, &ex);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << "line: " << line << " -> " << s;
  EXPECT_NE(s.message().find(what), absl::string_view::npos)
      << "line: " << line << "\nmessage: " << s.message() << "\nexpected to contain: " << what;
  EXPECT_EQ(s.message().find('\n'), absl::string_view::npos) << s.message();
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string FirstLineOfGzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  if (f == nullptr) return "";
  char buf[4096];
  std::string line = gzgets(f, buf, sizeof buf) != nullptr ? buf : "";
  gzclose(f);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

// ---- options -------------------------------------------------------------------

TEST(ExampleFormatsTest, BadOptionsAreRejectedWithAReason) {
  struct Case {
    ExampleFormatOptions options;
    std::string what;
  };
  std::vector<Case> cases(5);
  cases[0].options.format = "libsvm";
  cases[0].what = "unknown example format 'libsvm'";
  cases[1].options.format = "vw";
  cases[1].options.bits = 0;
  cases[1].what = "bits must be in 1..31";
  cases[2].options.format = "criteo";
  cases[2].options.bits = 32;
  cases[2].what = "bits must be in 1..31";
  cases[3].options.format = "csv";
  cases[3].what = "label column is required";
  cases[4].options.format = "csv";
  cases[4].options.label_column = "y";
  cases[4].options.delimiter = '\n';
  cases[4].what = "delimiter";
  for (const Case& c : cases) {
    absl::StatusOr<std::unique_ptr<ExampleParser>> parser = ExampleParser::Make(c.options);
    ASSERT_FALSE(parser.ok()) << c.what;
    EXPECT_EQ(parser.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parser.status().message().find(c.what), absl::string_view::npos)
        << parser.status();
  }
}

TEST(ExampleFormatsTest, BitsBoundTheIndices) {
  ExampleFormatOptions options;
  options.format = "vw";
  options.bits = 4;
  auto parser = MakeParser(options);
  Example ex;
  ASSERT_TRUE(parser->Parse("1 |f a b c d e f g h i j k", &ex).ok());
  ASSERT_EQ(ex.x.size(), 11u);
  for (uint32_t i : ex.x.index) EXPECT_LT(i, 16u);
  EXPECT_EQ(ex.x.index[0], Expected("f", "a", 4));
}

// ---- vw --------------------------------------------------------------------------

TEST(ExampleFormatsTest, VwHashesFeaturesByNamespaceWithValuesAndWeights) {
  auto parser = MakeParser("vw");
  Example ex;
  const absl::Status s = parser->Parse("1 2 'ex1|f a b:0.5 |g:2 c:3 d | e:-1.5\tz", &ex);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ex.label, 1);
  EXPECT_EQ(ex.weight, 2);
  EXPECT_EQ(ex.tag, "ex1");
  EXPECT_FALSE(ex.header);
  const Features want = {{Expected("f", "a"), 1},    {Expected("f", "b"), 0.5f},
                         {Expected("g", "c"), 6},    {Expected("g", "d"), 2},
                         {Expected(" ", "e"), -1.5}, {Expected(" ", "z"), 1}};
  EXPECT_EQ(FeaturesOf(ex), want);
}

TEST(ExampleFormatsTest, VwLabelsImportanceAndTags) {
  auto parser = MakeParser("vw");
  struct Case {
    std::string line;
    float label, weight;
    std::string tag;
  };
  const std::vector<Case> cases = {
      {"-1 |f a", 0, 1, ""},          {"0 |f a", 0, 1, ""},
      {"1 |f a", 1, 1, ""},           {"+1 |f a", 1, 1, ""},
      {"0.3 0.25 |f a", 1, 0.25, ""}, {"-1 0 'q7 |f a", 0, 0, "q7"},
      {"1 3 0.5 't|f a", 1, 3, "t"},  {"1 row9|f a", 1, 1, "row9"},
      {"  1\t4  |f a\r", 1, 4, ""},   {"1 |", 1, 1, ""},
  };
  for (const Case& c : cases) {
    Example ex;
    const absl::Status s = parser->Parse(c.line, &ex);
    ASSERT_TRUE(s.ok()) << c.line << ": " << s;
    EXPECT_EQ(ex.label, c.label) << c.line;
    EXPECT_EQ(ex.weight, c.weight) << c.line;
    EXPECT_EQ(ex.tag, c.tag) << c.line;
  }
}

TEST(ExampleFormatsTest, ParseClearsTheExampleItReuses) {
  auto parser = MakeParser("vw");
  Example ex;
  ASSERT_TRUE(parser->Parse("1 2 'old|f a b c", &ex).ok());
  ASSERT_TRUE(parser->Parse("0 |g d\r", &ex).ok());
  EXPECT_EQ(ex.label, 0);
  EXPECT_EQ(ex.weight, 1);
  EXPECT_EQ(ex.tag, "");
  EXPECT_EQ(FeaturesOf(ex), (Features{{Expected("g", "d"), 1}}));
}

TEST(ExampleFormatsTest, VwMalformedLinesAreErrorsThatSayWhy) {
  auto parser = MakeParser("vw");
  ExpectError(*parser, "1 a b c", "vw: no '|'");
  ExpectError(*parser, "", "vw: no '|'");
  ExpectError(*parser, "|f a", "missing label");
  ExpectError(*parser, "yes |f a", "label is not a number: 'yes'");
  ExpectError(*parser, "nan |f a", "label is not a number");
  ExpectError(*parser, "1 -2 |f a", "negative importance '-2'");
  ExpectError(*parser, "1 heavy 'x|f a", "importance is not a number: 'heavy'");
  ExpectError(*parser, "1 2 3 4 |f a", "unexpected '4'");
  ExpectError(*parser, "1 'a 'b|f a", "two tags");
  ExpectError(*parser, "1 |f a b:x1 c", "feature 'b' in namespace 'f': value is not a number: 'x1'");
  ExpectError(*parser, "1 |f b:", "feature 'b' in namespace 'f': value is not a number: ''");
  ExpectError(*parser, "1 | b:1e99", "feature 'b' in namespace ' '");
  ExpectError(*parser, "1 |f:w a", "namespace 'f': weight is not a number: 'w'");
  ExpectError(*parser, "1 |f:1e30 a:1e30", "not finite");
}

// ---- criteo ----------------------------------------------------------------------

std::string CriteoLine(const std::vector<std::string>& columns) {
  std::string line;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) line += '\t';
    line += columns[i];
  }
  return line;
}

std::vector<std::string> CriteoColumns() {
  std::vector<std::string> c(40);
  c[0] = "1";
  c[1] = "0";      // I1: b0
  c[2] = "1";      // I2: log2(2) -> b1
  c[3] = "6";      // I3: log2(7) -> b2
  c[4] = "-1";     // I4: neg
  c[6] = "1000";   // I6: log2(1001) -> b9
  c[7] = "1023";   // I7: log2(1024) -> b10
  c[13] = "9223372036854775807";  // I13: 2^63 -> b63
  c[14] = "68fd1e64";             // C1
  c[39] = "b34f3128";             // C26
  return c;
}

TEST(ExampleFormatsTest, CriteoBucketsIntegersAndHashesCategories) {
  auto parser = MakeParser("criteo");
  Example ex;
  const absl::Status s = parser->Parse(CriteoLine(CriteoColumns()), &ex);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ex.label, 1);
  EXPECT_EQ(ex.weight, 1);
  const Features want = {{Expected("I1", "b0"), 1},       {Expected("I2", "b1"), 1},
                         {Expected("I3", "b2"), 1},       {Expected("I4", "neg"), 1},
                         {Expected("I6", "b9"), 1},       {Expected("I7", "b10"), 1},
                         {Expected("I13", "b63"), 1},     {Expected("C1", "68fd1e64"), 1},
                         {Expected("C26", "b34f3128"), 1}};
  EXPECT_EQ(FeaturesOf(ex), want);

  std::vector<std::string> c = CriteoColumns();
  c[0] = "0";
  ASSERT_TRUE(parser->Parse(CriteoLine(c) + "\r", &ex).ok());
  EXPECT_EQ(ex.label, 0);
  EXPECT_EQ(ex.x.size(), want.size());
}

TEST(ExampleFormatsTest, FieldValuesForDataDriftNameEveryColumnOrNamespace) {
  using Fields = std::vector<std::tuple<std::string, bool, double>>;
  const auto fields = [](const ExampleParser& parser, const Example& ex) {
    Fields out;
    for (const FieldValue& f : ex.fields) out.emplace_back(parser.FieldName(f.field), f.numeric, f.value);
    return out;
  };
  ExampleFormatOptions o;
  o.format = "criteo";
  o.fields = true;
  auto criteo = MakeParser(o);
  Example ex;
  ASSERT_TRUE(criteo->Parse(CriteoLine(CriteoColumns()), &ex).ok());
  EXPECT_EQ(fields(*criteo, ex),
            (Fields{{"I1", true, 0}, {"I2", true, 1}, {"I3", true, 6}, {"I4", true, -1},
                    {"I6", true, 1000}, {"I7", true, 1023}, {"I13", true, 9223372036854775807.0},
                    {"C1", false, Expected("C1", "68fd1e64")},
                    {"C26", false, Expected("C26", "b34f3128")}}));

  o.format = "csv";
  o.label_column = "click";
  o.id_column = "id";
  o.numeric_columns = {"price"};
  auto csv = MakeParser(o);
  ASSERT_TRUE(csv->Parse("id,click,price,site", &ex).ok());
  ASSERT_TRUE(csv->Parse("x7,1,2.5,", &ex).ok());
  EXPECT_EQ(fields(*csv, ex), (Fields{{"price", true, 2.5}}));  // empty site: missing
  ASSERT_TRUE(csv->Parse("x8,0,,news", &ex).ok());
  EXPECT_EQ(fields(*csv, ex), (Fields{{"site", false, Expected("site", "news")}}));

  o = ExampleFormatOptions();
  o.format = "vw";
  o.fields = true;
  auto vw = MakeParser(o);
  ASSERT_TRUE(vw->Parse("1 |user u1 |ad a9 cat:2 | plain", &ex).ok());
  EXPECT_EQ(fields(*vw, ex),
            (Fields{{"u", false, Expected("user", "u1")}, {"a", false, Expected("ad", "a9")},
                    {"a", false, Expected("ad", "cat")}, {" ", false, Expected(" ", "plain")}}));

  // Not asked for: none.
  auto plain = MakeParser("vw");
  ASSERT_TRUE(plain->Parse("1 |user u1", &ex).ok());
  EXPECT_TRUE(ex.fields.empty());
}

TEST(ExampleFormatsTest, CriteoMalformedLinesAreErrorsThatSayWhere) {
  auto parser = MakeParser("criteo");
  std::vector<std::string> c = CriteoColumns();
  c.pop_back();
  ExpectError(*parser, CriteoLine(c), "expected 40 TAB-separated columns, got 39");
  c = CriteoColumns();
  c.push_back("x");
  ExpectError(*parser, CriteoLine(c), "expected 40 TAB-separated columns, got 41");
  ExpectError(*parser, "", "got 1");
  c = CriteoColumns();
  c[0] = "2";
  ExpectError(*parser, CriteoLine(c), "column 1 (label) is not 0 or 1: '2'");
  c[0] = "";
  ExpectError(*parser, CriteoLine(c), "column 1 (label) is not 0 or 1: ''");
  c = CriteoColumns();
  c[4] = "1.5";
  ExpectError(*parser, CriteoLine(c), "criteo: column 5 (I4) is not an integer: '1.5'");
  c[4] = "x1";
  ExpectError(*parser, CriteoLine(c), "criteo: column 5 (I4) is not an integer: 'x1'");
  c = CriteoColumns();
  c[13] = "9223372036854775808";  // one past int64
  ExpectError(*parser, CriteoLine(c), "column 14 (I13) is not an integer");
}

TEST(ExampleFormatsTest, CriteoSampleFilesAllParseWithTheirLabels) {
  auto parser = MakeParser("criteo");
  for (const char* file : {"dev.tsv", "test.tsv"}) {
    const std::vector<std::string> lines = ReadLines(kData + "criteo_kaggle_sample/" + file);
    ASSERT_GT(lines.size(), 300u) << file;
    Example ex;
    for (size_t i = 0; i < lines.size(); ++i) {
      const absl::Status s = parser->Parse(lines[i], &ex);
      ASSERT_TRUE(s.ok()) << file << ":" << i + 1 << ": " << s;
      // One feature per non-empty column (17 to 39 in these files: test.tsv
      // line 167 has 22 empty columns).
      const std::vector<absl::string_view> columns = absl::StrSplit(lines[i], '\t');
      ASSERT_EQ(columns.size(), 40u);
      size_t present = 0;
      for (size_t k = 1; k < columns.size(); ++k) present += !columns[k].empty();
      EXPECT_EQ(ex.x.size(), present) << file << ":" << i + 1;
      EXPECT_GE(ex.x.size(), 17u) << file << ":" << i + 1;
      EXPECT_LE(ex.x.size(), 39u) << file << ":" << i + 1;
      EXPECT_EQ(ex.label, columns[0] == "1" ? 1.0f : 0.0f) << file << ":" << i + 1;
    }
  }
}

// ---- csv -------------------------------------------------------------------------

ExampleFormatOptions CsvOptions() {
  ExampleFormatOptions options;
  options.format = "csv";
  options.label_column = "y";
  options.id_column = "id";
  options.numeric_columns = {"price"};
  return options;
}

TEST(ExampleFormatsTest, CsvHashesNumericAndCategoricalColumns) {
  auto parser = MakeParser(CsvOptions());
  Example ex;
  ASSERT_TRUE(parser->Parse("id,color,y,price,size\r", &ex).ok());
  EXPECT_TRUE(ex.header);
  EXPECT_EQ(ex.x.size(), 0u);

  ASSERT_TRUE(parser->Parse("r1,red,1,2.5,XL", &ex).ok());
  EXPECT_FALSE(ex.header);
  EXPECT_EQ(ex.label, 1);
  EXPECT_EQ(ex.weight, 1);
  EXPECT_EQ(ex.tag, "r1");
  EXPECT_EQ(FeaturesOf(ex), (Features{{Expected("color", "red"), 1},
                                      {Expected("", "price"), 2.5f},
                                      {Expected("size", "XL"), 1}}));

  // Empty cells are left out; a label of 0 (or below) is negative.
  ASSERT_TRUE(parser->Parse(",,-1,,S\r", &ex).ok());
  EXPECT_EQ(ex.label, 0);
  EXPECT_EQ(ex.tag, "");
  EXPECT_EQ(FeaturesOf(ex), (Features{{Expected("size", "S"), 1}}));
}

TEST(ExampleFormatsTest, CsvPositiveValueAllNumericAndDelimiter) {
  ExampleFormatOptions options;
  options.format = "csv";
  options.label_column = "class";
  options.positive = "spam";
  options.numeric_columns = {"*"};
  options.delimiter = ';';
  auto parser = MakeParser(options);
  Example ex;
  ASSERT_TRUE(parser->Parse("a;class;b", &ex).ok());
  ASSERT_TRUE(parser->Parse("1e-3;spam;-7", &ex).ok());
  EXPECT_EQ(ex.label, 1);
  EXPECT_EQ(FeaturesOf(ex), (Features{{Expected("", "a"), 1e-3f}, {Expected("", "b"), -7}}));
  ASSERT_TRUE(parser->Parse("0;ham;0", &ex).ok());
  EXPECT_EQ(ex.label, 0);
  ExpectError(*parser, "x;spam;1", "csv: column 1 (a) is not a number: 'x'");
}

TEST(ExampleFormatsTest, CsvHeaderRepeatedMidStreamIsAHeaderAgain) {
  auto parser = MakeParser(CsvOptions());
  Example ex;
  ASSERT_TRUE(parser->Parse("id,color,y,price,size", &ex).ok());
  ASSERT_TRUE(parser->Parse("r1,red,1,2.5,XL", &ex).ok());
  EXPECT_FALSE(ex.header);
  ASSERT_TRUE(parser->Parse("id,color,y,price,size", &ex).ok());
  EXPECT_TRUE(ex.header);
  EXPECT_EQ(ex.x.size(), 0u);
  EXPECT_EQ(ex.tag, "");
  ASSERT_TRUE(parser->Parse("r2,blue,0,1,M", &ex).ok());
  EXPECT_FALSE(ex.header);
  EXPECT_EQ(ex.x.size(), 3u);
}

TEST(ExampleFormatsTest, CsvMalformedLinesAreErrorsThatSayWhere) {
  auto parser = MakeParser(CsvOptions());
  Example ex;
  ASSERT_TRUE(parser->Parse("id,color,y,price,size", &ex).ok());
  ExpectError(*parser, "r1,red,1,2.5", "csv: 4 fields, the header has 5");
  ExpectError(*parser, "r1,red,1,2.5,XL,extra", "csv: 6 fields, the header has 5");
  ExpectError(*parser, "r1,red,1,cheap,XL", "csv: column 4 (price) is not a number: 'cheap'");
  ExpectError(*parser, "r1,red,1,nan,XL", "column 4 (price) is not a number");
  ExpectError(*parser, "r1,red,maybe,1,XL", "column 3 (y, the label) is not a number: 'maybe'");
  ExpectError(*parser, "r1,red,,1,XL", "column 3 (y, the label) is not a number: ''");
}

TEST(ExampleFormatsTest, CsvHeaderWithoutTheNamedColumnsIsAnError) {
  {
    auto parser = MakeParser(CsvOptions());
    ExpectError(*parser, "id,color,label,price", "csv: label column 'y' is not in the header");
    // Data lines after it cannot be read, and say why.
    ExpectError(*parser, "r1,red,1,2", "no usable header");
  }
  {
    ExampleFormatOptions options = CsvOptions();
    options.numeric_columns = {"price", "weight"};
    auto parser = MakeParser(options);
    ExpectError(*parser, "id,y,price", "numeric column 'weight' is not in the header");
  }
  {
    auto parser = MakeParser(CsvOptions());
    ExpectError(*parser, "key,y,price", "id column 'id' is not in the header");
  }
}

TEST(ExampleFormatsTest, AvazuSampleParsesAfterTheHeaderFromTrain) {
  ExampleFormatOptions options;
  options.format = "csv";
  options.label_column = "click";
  options.id_column = "id";
  auto parser = MakeParser(options);
  const std::string header = FirstLineOfGzip(kData + "avazu_sample/train.csv.gz");
  ASSERT_EQ(header.substr(0, 9), "id,click,");
  Example ex;
  ASSERT_TRUE(parser->Parse(header, &ex).ok());
  EXPECT_TRUE(ex.header);

  const std::vector<std::string> lines = ReadLines(kData + "avazu_sample/dev.csv");
  ASSERT_GT(lines.size(), 400u);
  std::vector<Features> sequential;
  for (size_t i = 0; i < lines.size(); ++i) {
    const absl::Status s = parser->Parse(lines[i], &ex);
    ASSERT_TRUE(s.ok()) << "dev.csv:" << i + 1 << ": " << s;
    const std::vector<absl::string_view> cells = absl::StrSplit(lines[i], ',');
    EXPECT_FALSE(ex.header);
    EXPECT_EQ(ex.tag, cells[0]);
    EXPECT_EQ(ex.label, cells[1] == "1" ? 1.0f : 0.0f) << "dev.csv:" << i + 1;
    ASSERT_EQ(ex.x.size(), 22u) << "dev.csv:" << i + 1;  // every other column, all non-empty
    EXPECT_EQ(ex.x.index[0], Expected("hour", cells[2]));
    sequential.push_back(FeaturesOf(ex));
  }

  // The header again, mid-stream (train.csv and dev.csv concatenated).
  ASSERT_TRUE(parser->Parse(header, &ex).ok());
  EXPECT_TRUE(ex.header);

  // Concurrent parsing gives the same examples.
  std::vector<std::vector<Features>> by_thread(4);
  std::vector<std::thread> threads;
  for (auto& results : by_thread) {
    threads.emplace_back([&parser, &lines, &results] {
      Example e;
      for (const std::string& line : lines) {
        if (!parser->Parse(line, &e).ok()) break;
        results.push_back(FeaturesOf(e));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& results : by_thread) EXPECT_EQ(results, sequential);
}

TEST(ExampleFormatsTest, ConcurrentFirstLinesAgreeOnOneHeader) {
  // Threads racing on a fresh parser with the header: exactly one header is
  // taken and every call sees it as a header.
  for (int round = 0; round < 20; ++round) {
    auto parser = MakeParser(CsvOptions());
    std::vector<int> headers(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&parser, &headers, t] {
        Example e;
        for (int i = 0; i < 50; ++i) {
          if (parser->Parse("id,color,y,price,size", &e).ok() && e.header) ++headers[t];
        }
      });
    }
    for (std::thread& t : threads) t.join();
    for (int h : headers) EXPECT_EQ(h, 50);
  }
}

// ---- any bytes -------------------------------------------------------------------

// Random byte strings, and valid lines with random bytes changed, inserted or
// cut: every result is OK (with indices in range and finite values) or
// InvalidArgument with a one-line message.
void FuzzParser(const ExampleParser& parser, const std::string& valid, const std::string& alphabet,
                uint32_t seed) {
  std::mt19937 rng(seed);
  auto byte = [&]() -> char {
    // Half the time a character that matters to the format.
    if (rng() % 2 == 0) return alphabet[rng() % alphabet.size()];
    return static_cast<char>(rng() % 256);
  };
  Example ex;
  int ok = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string line;
    if (i % 2 == 0) {
      const size_t n = rng() % 300;
      for (size_t k = 0; k < n; ++k) line += byte();
    } else {
      line = valid;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !line.empty(); ++e) {
        const size_t at = rng() % line.size();
        switch (rng() % 3) {
          case 0: line[at] = byte(); break;
          case 1: line.insert(line.begin() + static_cast<std::ptrdiff_t>(at), byte()); break;
          default: line.erase(at, 1 + rng() % 8); break;
        }
      }
    }
    const absl::Status s = parser.Parse(line, &ex);
    if (s.ok()) {
      ++ok;
      ASSERT_EQ(ex.x.index.size(), ex.x.value.size());
      for (size_t k = 0; k < ex.x.size(); ++k) {
        ASSERT_LT(ex.x.index[k], 1u << 18);
        ASSERT_TRUE(std::isfinite(ex.x.value[k]));
      }
      ASSERT_TRUE(ex.label == 0 || ex.label == 1);
      ASSERT_TRUE(std::isfinite(ex.weight) && ex.weight >= 0);
    } else {
      ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
      ASSERT_FALSE(s.message().empty());
      ASSERT_EQ(s.message().find('\n'), absl::string_view::npos) << s.message();
    }
  }
  // The mutations leave some lines valid: the OK path was exercised too.
  EXPECT_GT(ok, 0);
}

TEST(ExampleFormatsTest, AnyBytesGiveAnExampleOrAnError) {
  auto vw = MakeParser("vw");
  FuzzParser(*vw, "1 2.5 'tag|user:0.5 age:31 city=paris |ad id:7 x y", "| :'\t-.e1\r", 1);
  auto criteo = MakeParser("criteo");
  FuzzParser(*criteo, CriteoLine(CriteoColumns()), "\t-0129a.", 2);
  auto csv = MakeParser(CsvOptions());
  Example ex;
  ASSERT_TRUE(csv->Parse("id,color,y,price,size", &ex).ok());
  FuzzParser(*csv, "r1,red,1,2.5,XL", ",-.1e\r\"", 3);
}

}  // namespace
}  // namespace eddy
