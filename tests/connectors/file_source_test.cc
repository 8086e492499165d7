#include "connectors/file_source.h"

#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/io.h"
#include "gtest/gtest.h"

namespace eddy {
namespace {

struct Line {
  std::string text;
  uint64_t position = 0;
  bool oversized = false;
  uint32_t partition = 0;

  friend bool operator==(const Line& a, const Line& b) {
    return a.text == b.text && a.position == b.position && a.oversized == b.oversized &&
           a.partition == b.partition;
  }
  friend std::ostream& operator<<(std::ostream& os, const Line& l) {
    return os << "{'" << (l.text.size() > 40 ? l.text.substr(0, 40) + "..." : l.text)
              << "' (" << l.text.size() << " bytes), line " << l.position
              << (l.oversized ? ", oversized" : "") << ", partition " << l.partition << "}";
  }
};

// A fresh directory per test.
class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "eddy_file_source_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string WritePlain(const std::string& name, const std::string& content) const {
    const std::string path = Path(name);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    f.close();
    EXPECT_TRUE(f.good()) << path;
    return path;
  }

  std::string WriteGzip(const std::string& name, const std::string& content) const {
    const std::string path = Path(name);
    gzFile gz = gzopen(path.c_str(), "wb");
    EXPECT_NE(gz, nullptr) << path;
    if (gz == nullptr) return path;
    size_t off = 0;
    while (off < content.size()) {
      const unsigned n = static_cast<unsigned>(std::min<size_t>(content.size() - off, 1 << 20));
      EXPECT_EQ(gzwrite(gz, content.data() + off, n), static_cast<int>(n));
      off += n;
    }
    EXPECT_EQ(gzclose(gz), Z_OK);
    return path;
  }

  static std::string ReadBytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  std::string dir_;
};

// Reads everything from `part` in calls of `max_records`, checking the
// Read contract on the way.
absl::StatusOr<std::vector<Line>> ReadAll(InputPartition& part, size_t max_records,
                                          uint32_t partition = 0) {
  std::vector<Line> lines;
  RawRecordBatch batch;
  for (int calls = 0; !part.finished(); ++calls) {
    if (calls > 10'000'000) return absl::InternalError("Read never finished");
    batch.Clear();
    absl::StatusOr<size_t> n = part.Read(max_records, partition, batch);
    if (!n.ok()) return n.status();
    if (*n > max_records || *n != batch.entries.size()) {
      return absl::InternalError(absl::StrCat("Read returned ", *n, " with ",
                                              batch.entries.size(), " entries, max ",
                                              max_records));
    }
    batch.Pad();
    for (const RawRecordBatch::Entry& e : batch.entries) {
      lines.push_back(Line{std::string(batch.View(e)), e.position, e.oversized, e.partition});
    }
  }
  return lines;
}

std::vector<Line> Expect(std::vector<std::pair<std::string, uint64_t>> lines) {
  std::vector<Line> out;
  for (auto& [text, pos] : lines) out.push_back(Line{text, pos, false, 0});
  return out;
}

TEST_F(FileSourceTest, ReadsLinesWithOneBasedLineNumbers) {
  const std::string path = WritePlain("a.jsonl", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
  auto part = FileInputPartition::Open(path);
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ((*part)->name(), path);
  EXPECT_FALSE((*part)->finished());
  auto lines = ReadAll(**part, 100);
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ(*lines, Expect({{"{\"a\":1}", 1}, {"{\"a\":2}", 2}, {"{\"a\":3}", 3}}));
}

TEST_F(FileSourceTest, TagsEntriesWithPartition) {
  const std::string path = WritePlain("a.jsonl", "x\ny\n");
  auto part = FileInputPartition::Open(path);
  ASSERT_TRUE(part.ok()) << part.status();
  auto lines = ReadAll(**part, 100, /*partition=*/7);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0].partition, 7u);
  EXPECT_EQ((*lines)[1].partition, 7u);
}

TEST_F(FileSourceTest, BlankLinesAreSkippedButCounted) {
  const std::string path = WritePlain("a.jsonl", "\na\n\n  \t\nb\n\r\n\nc\n\n");
  auto part = FileInputPartition::Open(path);
  ASSERT_TRUE(part.ok()) << part.status();
  auto lines = ReadAll(**part, 100);
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ(*lines, Expect({{"a", 2}, {"b", 5}, {"c", 8}}));
}

TEST_F(FileSourceTest, CrlfIsStripped) {
  const std::string path = WritePlain("a.jsonl", "one\r\ntwo\r\nthree\r\n");
  auto part = FileInputPartition::Open(path);
  ASSERT_TRUE(part.ok()) << part.status();
  auto lines = ReadAll(**part, 100);
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ(*lines, Expect({{"one", 1}, {"two", 2}, {"three", 3}}));
}

TEST_F(FileSourceTest, FinalLineWithoutNewlineIsReturned) {
  const std::string path = WritePlain("a.jsonl", "first\nlast");
  auto part = FileInputPartition::Open(path);
  ASSERT_TRUE(part.ok()) << part.status();
  auto lines = ReadAll(**part, 100);
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ(*lines, Expect({{"first", 1}, {"last", 2}}));
}

TEST_F(FileSourceTest, FinalCrlfLineWithoutNewlineIsStripped) {
  const std::string path = WritePlain("a.jsonl", "first\r\nlast\r");
  auto part = FileInputPartition::Open(path);
  ASSERT_TRUE(part.ok()) << part.status();
  auto lines = ReadAll(**part, 100);
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ(*lines, Expect({{"first", 1}, {"last", 2}}));
}

TEST_F(FileSourceTest, EmptyFileFinishesWithNoRecords) {
  const std::string path = WritePlain("empty.jsonl", "");
  auto part = FileInputPartition::Open(path);
  ASSERT_TRUE(part.ok()) << part.status();
  auto lines = ReadAll(**part, 100);
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_TRUE(lines->empty());
  EXPECT_TRUE((*part)->finished());
}

TEST_F(FileSourceTest, GzipAndPlainGiveIdenticalEntries) {
  std::string content;
  for (int i = 1; i <= 1000; ++i) {
    if (i % 17 == 0) content += "\n";
    absl::StrAppend(&content, "{\"i\":", i, ",\"pad\":\"", std::string(i % 50, 'p'), "\"}",
                    i % 3 == 0 ? "\r\n" : "\n");
  }
  content += "{\"tail\":true}";
  const std::string plain = WritePlain("events.jsonl", content);
  const std::string gz = WriteGzip("events.jsonl.gz", content);
  ASSERT_NE(ReadBytes(plain), ReadBytes(gz));

  auto plain_part = FileInputPartition::Open(plain);
  auto gz_part = FileInputPartition::Open(gz);
  ASSERT_TRUE(plain_part.ok()) << plain_part.status();
  ASSERT_TRUE(gz_part.ok()) << gz_part.status();
  auto plain_lines = ReadAll(**plain_part, 64);
  auto gz_lines = ReadAll(**gz_part, 64);
  ASSERT_TRUE(plain_lines.ok()) << plain_lines.status();
  ASSERT_TRUE(gz_lines.ok()) << gz_lines.status();
  EXPECT_EQ(plain_lines->size(), 1001u);
  EXPECT_EQ(*gz_lines, *plain_lines);
  EXPECT_EQ(gz_lines->back().text, "{\"tail\":true}");
}

TEST_F(FileSourceTest, GzipIsDetectedFromContentNotName) {
  const std::string gz = WriteGzip("compressed_but_named.jsonl", "a\nb\n");
  const std::string plain = WritePlain("plain_but_named.jsonl.gz", "a\nb\n");
  for (const std::string& path : {gz, plain}) {
    auto part = FileInputPartition::Open(path);
    ASSERT_TRUE(part.ok()) << part.status();
    auto lines = ReadAll(**part, 100);
    ASSERT_TRUE(lines.ok()) << path << ": " << lines.status();
    EXPECT_EQ(*lines, Expect({{"a", 1}, {"b", 2}})) << path;
  }
}

TEST_F(FileSourceTest, ReadRespectsMaxRecordsAcrossCalls) {
  std::string content;
  for (int i = 1; i <= 10; ++i) absl::StrAppend(&content, "line", i, "\n");
  const std::string path = WritePlain("a.jsonl", content);
  auto part = FileInputPartition::Open(path);
  ASSERT_TRUE(part.ok()) << part.status();

  std::vector<Line> all;
  RawRecordBatch batch;
  int calls = 0;
  while (!(*part)->finished()) {
    ASSERT_LT(++calls, 1000) << "never finished";
    // Not finished while records are still unread.
    batch.Clear();
    absl::StatusOr<size_t> n = (*part)->Read(3, 0, batch);
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_LE(*n, 3u);
    ASSERT_EQ(batch.entries.size(), *n);
    batch.Pad();
    for (const auto& e : batch.entries) all.push_back(Line{std::string(batch.View(e)), e.position});
    if (all.size() < 10u) {
      EXPECT_FALSE((*part)->finished()) << "finished after " << all.size() << " records";
    }
  }
  ASSERT_EQ(all.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(all[i], (Line{absl::StrCat("line", i + 1), static_cast<uint64_t>(i + 1)}));
  }
  // Reading past the end appends nothing.
  batch.Clear();
  absl::StatusOr<size_t> n = (*part)->Read(3, 0, batch);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0u);
  EXPECT_TRUE(batch.entries.empty());
  EXPECT_TRUE((*part)->finished());
}

TEST_F(FileSourceTest, ReadAppendsToExistingBatch) {
  const std::string path = WritePlain("a.jsonl", "a\nbb\nccc\n");
  auto part = FileInputPartition::Open(path);
  ASSERT_TRUE(part.ok()) << part.status();
  RawRecordBatch batch;
  ASSERT_TRUE((*part)->Read(1, 0, batch).ok());
  ASSERT_TRUE((*part)->Read(2, 1, batch).ok());
  batch.Pad();
  ASSERT_EQ(batch.entries.size(), 3u);
  EXPECT_EQ(batch.View(batch.entries[0]), "a");
  EXPECT_EQ(batch.View(batch.entries[1]), "bb");
  EXPECT_EQ(batch.View(batch.entries[2]), "ccc");
  EXPECT_EQ(batch.entries[0].partition, 0u);
  EXPECT_EQ(batch.entries[2].partition, 1u);
}

TEST_F(FileSourceTest, LongLineBecomesOversizedAndReadingContinues) {
  const std::string long_line(5000, 'x');
  const std::string path =
      WritePlain("a.jsonl", "{\"ok\":1}\n" + long_line + "\n{\"ok\":3}\n");
  auto part = FileInputPartition::Open(path, /*max_record_bytes=*/100);
  ASSERT_TRUE(part.ok()) << part.status();
  auto lines = ReadAll(**part, 100);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 3u);
  EXPECT_EQ((*lines)[0], (Line{"{\"ok\":1}", 1}));
  const Line& big = (*lines)[1];
  EXPECT_TRUE(big.oversized);
  EXPECT_EQ(big.position, 2u);
  EXPECT_GT(big.text.size(), 0u);
  EXPECT_LE(big.text.size(), 256u);
  EXPECT_EQ(big.text, std::string(big.text.size(), 'x'));  // a prefix of the line
  EXPECT_EQ((*lines)[2], (Line{"{\"ok\":3}", 3}));
}

TEST_F(FileSourceTest, LineOfExactlyMaxBytesIsNotOversized) {
  const std::string line(100, 'y');
  const std::string path = WritePlain("a.jsonl", line + "\n" + line + "z\nend\n");
  auto part = FileInputPartition::Open(path, /*max_record_bytes=*/100);
  ASSERT_TRUE(part.ok()) << part.status();
  auto lines = ReadAll(**part, 100);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 3u);
  EXPECT_EQ((*lines)[0], (Line{line, 1}));
  EXPECT_TRUE((*lines)[1].oversized);
  EXPECT_EQ((*lines)[1].position, 2u);
  EXPECT_EQ((*lines)[2], (Line{"end", 3}));
}

TEST_F(FileSourceTest, OversizedLineLongerThanReadChunkIsSkippedWhole) {
  // Longer than the reader's 256 KiB chunk, so the line spans several reads.
  const std::string huge(700 * 1024, 'h');
  for (bool gzip : {false, true}) {
    const std::string content = "before\n" + huge + "\nafter\n\nlast";
    const std::string path =
        gzip ? WriteGzip("huge.jsonl.gz", content) : WritePlain("huge.jsonl", content);
    auto part = FileInputPartition::Open(path, /*max_record_bytes=*/1000);
    ASSERT_TRUE(part.ok()) << part.status();
    auto lines = ReadAll(**part, 100);
    ASSERT_TRUE(lines.ok()) << lines.status();
    ASSERT_EQ(lines->size(), 4u) << "gzip=" << gzip;
    EXPECT_EQ((*lines)[0], (Line{"before", 1}));
    EXPECT_TRUE((*lines)[1].oversized);
    EXPECT_EQ((*lines)[1].position, 2u);
    EXPECT_LE((*lines)[1].text.size(), 256u);
    EXPECT_EQ((*lines)[2], (Line{"after", 3}));
    EXPECT_EQ((*lines)[3], (Line{"last", 5}));
  }
}

TEST_F(FileSourceTest, OversizedFinalLineWithoutNewline) {
  const std::string path = WritePlain("a.jsonl", "a\n" + std::string(5000, 'z'));
  auto part = FileInputPartition::Open(path, /*max_record_bytes=*/100);
  ASSERT_TRUE(part.ok()) << part.status();
  auto lines = ReadAll(**part, 100);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0], (Line{"a", 1}));
  EXPECT_TRUE((*lines)[1].oversized);
  EXPECT_EQ((*lines)[1].position, 2u);
}

TEST_F(FileSourceTest, OversizedRecordCountsTowardsMaxRecords) {
  const std::string path =
      WritePlain("a.jsonl", "a\n" + std::string(500, 'z') + "\nb\n" + std::string(500, 'z') + "\n");
  auto part = FileInputPartition::Open(path, /*max_record_bytes=*/100);
  ASSERT_TRUE(part.ok()) << part.status();
  auto lines = ReadAll(**part, 1);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 4u);
  EXPECT_EQ((*lines)[0], (Line{"a", 1}));
  EXPECT_TRUE((*lines)[1].oversized);
  EXPECT_EQ((*lines)[2], (Line{"b", 3}));
  EXPECT_TRUE((*lines)[3].oversized);
  EXPECT_EQ((*lines)[3].position, 4u);
}

TEST_F(FileSourceTest, VeryLongFileRoundTripsEveryLine) {
  constexpr int kLines = 200'000;
  std::string content;
  for (int i = 0; i < kLines; ++i) {
    absl::StrAppend(&content, "{\"seq\":", i, ",\"v\":\"", std::string(i % 23, 'a' + i % 26),
                    "\"}\n");
  }
  ASSERT_GT(content.size(), 4u * 256 * 1024);
  for (bool gzip : {false, true}) {
    const std::string path =
        gzip ? WriteGzip("long.jsonl.gz", content) : WritePlain("long.jsonl", content);
    auto part = FileInputPartition::Open(path);
    ASSERT_TRUE(part.ok()) << part.status();
    auto lines = ReadAll(**part, 1000);
    ASSERT_TRUE(lines.ok()) << lines.status();
    ASSERT_EQ(lines->size(), static_cast<size_t>(kLines)) << "gzip=" << gzip;
    std::string joined;
    joined.reserve(content.size());
    for (int i = 0; i < kLines; ++i) {
      const Line& l = (*lines)[i];
      ASSERT_EQ(l.position, static_cast<uint64_t>(i + 1)) << "gzip=" << gzip;
      ASSERT_FALSE(l.oversized);
      joined += l.text;
      joined += '\n';
    }
    EXPECT_TRUE(joined == content) << "gzip=" << gzip << ": content differs";
  }
}

TEST_F(FileSourceTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = Path("does_not_exist.jsonl");
  auto part = FileInputPartition::Open(path);
  ASSERT_FALSE(part.ok());
  EXPECT_EQ(part.status().code(), absl::StatusCode::kNotFound) << part.status();
  EXPECT_TRUE(absl::StrContains(part.status().message(), path)) << part.status();
}

TEST_F(FileSourceTest, TruncatedGzipIsDataLoss) {
  std::string content;
  uint32_t x = 12345;
  for (int i = 0; i < 50'000; ++i) {
    x = x * 1103515245u + 12345u;  // varied content so it compresses poorly
    absl::StrAppend(&content, "{\"seq\":", i, ",\"r\":", x, "}\n");
  }
  const std::string full = WriteGzip("full.jsonl.gz", content);
  const std::string bytes = ReadBytes(full);
  ASSERT_GT(bytes.size(), 1000u);
  const std::string path = WritePlain("truncated.jsonl.gz", bytes.substr(0, bytes.size() / 2));

  auto part = FileInputPartition::Open(path);
  ASSERT_TRUE(part.ok()) << part.status();
  RawRecordBatch batch;
  absl::Status error;
  size_t records = 0;
  for (int calls = 0; calls < 1'000'000 && !(*part)->finished(); ++calls) {
    batch.Clear();
    absl::StatusOr<size_t> n = (*part)->Read(1000, 0, batch);
    if (!n.ok()) {
      error = n.status();
      break;
    }
    records += *n;
  }
  EXPECT_FALSE(error.ok()) << "read " << records << " records and finished without error";
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss) << error;
  EXPECT_LT(records, 50'000u);
}

}  // namespace
}  // namespace eddy
