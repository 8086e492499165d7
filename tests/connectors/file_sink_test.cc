#include "connectors/file_sink.h"

#include <stdlib.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/io.h"
#include "gtest/gtest.h"

namespace eddy {
namespace {

namespace fs = std::filesystem;

class FileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "eddy_file_sink_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static std::string ReadBytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  // Decompresses a gzip file with zlib directly.
  static std::string ReadGzip(const std::string& path) {
    gzFile gz = gzopen(path.c_str(), "rb");
    EXPECT_NE(gz, nullptr) << path;
    if (gz == nullptr) return "";
    std::string out;
    char buf[4096];
    int n;
    while ((n = gzread(gz, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    EXPECT_EQ(n, 0) << "gzread failed for " << path;
    EXPECT_EQ(gzclose(gz), Z_OK);
    return out;
  }

  std::string dir_;
};

TEST_F(FileSinkTest, WritesOneLinePerWrite) {
  const std::string path = Path("out.jsonl");
  auto w = OpenJsonLinesFile(path);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE((*w)->Write("{\"a\":1}").ok());
  EXPECT_TRUE((*w)->Write("").ok());
  EXPECT_TRUE((*w)->Write("{\"b\":\"x y\"}").ok());
  absl::Status closed = (*w)->Close();
  EXPECT_TRUE(closed.ok()) << closed;
  EXPECT_EQ(ReadBytes(path), "{\"a\":1}\n\n{\"b\":\"x y\"}\n");
}

TEST_F(FileSinkTest, NoWritesGivesEmptyFile) {
  const std::string path = Path("empty.jsonl");
  auto w = OpenJsonLinesFile(path);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE((*w)->Close().ok());
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(ReadBytes(path), "");
}

TEST_F(FileSinkTest, TruncatesExistingFile) {
  const std::string path = Path("out.jsonl");
  {
    std::ofstream f(path);
    f << "old content that is longer than the new\nsecond old line\n";
  }
  auto w = OpenJsonLinesFile(path);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE((*w)->Write("new").ok());
  EXPECT_TRUE((*w)->Close().ok());
  EXPECT_EQ(ReadBytes(path), "new\n");
}

TEST_F(FileSinkTest, ManyLinesBeyondBufferSizeAreAllWritten) {
  const std::string path = Path("big.jsonl");
  auto w = OpenJsonLinesFile(path);
  ASSERT_TRUE(w.ok()) << w.status();
  std::string expected;
  for (int i = 0; i < 100'000; ++i) {
    const std::string line = absl::StrCat("{\"seq\":", i, ",\"pad\":\"0123456789\"}");
    ASSERT_TRUE((*w)->Write(line).ok());
    expected += line;
    expected += '\n';
  }
  ASSERT_GT(expected.size(), 2u << 20);
  EXPECT_TRUE((*w)->Close().ok());
  EXPECT_TRUE(ReadBytes(path) == expected) << "content differs";
}

TEST_F(FileSinkTest, GzPathWritesGzipWithSameContent) {
  const std::string plain = Path("out.jsonl");
  const std::string gz = Path("out.jsonl.gz");
  auto wp = OpenJsonLinesFile(plain);
  auto wg = OpenJsonLinesFile(gz);
  ASSERT_TRUE(wp.ok()) << wp.status();
  ASSERT_TRUE(wg.ok()) << wg.status();
  for (int i = 0; i < 5000; ++i) {
    const std::string line = i % 100 == 0 ? "" : absl::StrCat("{\"seq\":", i, "}");
    ASSERT_TRUE((*wp)->Write(line).ok());
    ASSERT_TRUE((*wg)->Write(line).ok());
  }
  EXPECT_TRUE((*wp)->Close().ok());
  absl::Status closed = (*wg)->Close();
  EXPECT_TRUE(closed.ok()) << closed;

  const std::string raw = ReadBytes(gz);
  ASSERT_GE(raw.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0x1fu);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(raw[1]), 0x8bu);
  const std::string expected = ReadBytes(plain);
  EXPECT_FALSE(expected.empty());
  EXPECT_TRUE(ReadGzip(gz) == expected) << "gzip content differs from plain content";
}

TEST_F(FileSinkTest, DirectoryOutputFactoryWritesDirNameJsonl) {
  DirectoryOutputFactory factory(dir_);
  auto w = factory.Open("dead_letters");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE((*w)->Write("{\"reason\":\"bad\"}").ok());
  EXPECT_TRUE((*w)->Close().ok());
  const std::string path = Path("dead_letters.jsonl");
  ASSERT_TRUE(fs::exists(path));
  EXPECT_EQ(ReadBytes(path), "{\"reason\":\"bad\"}\n");
}

TEST_F(FileSinkTest, DirectoryOutputFactoryKeepsOutputsApart) {
  DirectoryOutputFactory factory(dir_);
  auto a = factory.Open("counts");
  auto b = factory.Open("late_events");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE((*a)->Write("A").ok());
  EXPECT_TRUE((*b)->Write("B").ok());
  EXPECT_TRUE((*a)->Close().ok());
  EXPECT_TRUE((*b)->Close().ok());
  EXPECT_EQ(ReadBytes(Path("counts.jsonl")), "A\n");
  EXPECT_EQ(ReadBytes(Path("late_events.jsonl")), "B\n");
}

// A sink the job sends to a file of its own (JobBuilder::SinkToFile) goes
// there, also when resumed; the others stay in the directory.
TEST_F(FileSinkTest, DirectoryOutputFactoryWritesAGivenSinkToItsFile) {
  DirectoryOutputFactory factory(dir_, {{"audit", Path("elsewhere.log")}});
  auto a = factory.Open("audit");
  auto b = factory.Open("counts");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE((*a)->Write("A").ok());
  EXPECT_TRUE((*b)->Write("B").ok());
  ASSERT_TRUE((*a)->Sync().ok());
  EXPECT_TRUE((*a)->Write("lost").ok());
  EXPECT_TRUE((*a)->Close().ok());
  EXPECT_TRUE((*b)->Close().ok());
  EXPECT_EQ(ReadBytes(Path("elsewhere.log")), "A\nlost\n");
  EXPECT_EQ(ReadBytes(Path("counts.jsonl")), "B\n");
  EXPECT_FALSE(fs::exists(Path("audit.jsonl")));
  auto resumed = factory.Resume("audit", 2);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE((*resumed)->Write("C").ok());
  EXPECT_TRUE((*resumed)->Close().ok());
  EXPECT_EQ(ReadBytes(Path("elsewhere.log")), "A\nC\n");
}

// AppendJsonLinesFile keeps what the file held.
TEST_F(FileSinkTest, AppendKeepsTheFilesLines) {
  for (const char* line : {"one", "two"}) {
    auto w = AppendJsonLinesFile(Path("log.jsonl"));
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_TRUE((*w)->Write(line).ok());
    EXPECT_TRUE((*w)->Close().ok());
  }
  EXPECT_EQ(ReadBytes(Path("log.jsonl")), "one\ntwo\n");
  EXPECT_FALSE(AppendJsonLinesFile(Path("log.jsonl.gz")).ok());
}

TEST_F(FileSinkTest, DirectoryOutputFactoryInMissingDirectoryFails) {
  DirectoryOutputFactory factory(Path("missing"));
  auto w = factory.Open("out");
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(absl::StrContains(w.status().message(), Path("missing/out.jsonl")))
      << w.status();
}

TEST_F(FileSinkTest, EnsureDirectoryCreatesNestedDirectories) {
  const std::string nested = Path("a/b/c");
  absl::Status s = EnsureDirectory(nested);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(fs::is_directory(nested));
  // Already existing is fine.
  s = EnsureDirectory(nested);
  EXPECT_TRUE(s.ok()) << s;
  // And the directory is usable by the factory.
  DirectoryOutputFactory factory(nested);
  auto w = factory.Open("x");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE((*w)->Close().ok());
  EXPECT_TRUE(fs::exists(nested + "/x.jsonl"));
}

TEST_F(FileSinkTest, EnsureDirectoryOnRegularFileFails) {
  const std::string file = Path("not_a_dir");
  {
    std::ofstream f(file);
    f << "x";
  }
  absl::Status s = EnsureDirectory(file);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), file)) << s;
  EXPECT_EQ(ReadBytes(file), "x");  // left alone
}

TEST_F(FileSinkTest, EnsureDirectoryBelowRegularFileFails) {
  const std::string file = Path("plain_file");
  {
    std::ofstream f(file);
    f << "x";
  }
  absl::Status s = EnsureDirectory(file + "/sub");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), file + "/sub")) << s;
}

TEST_F(FileSinkTest, OpenInMissingDirectoryNamesThePath) {
  for (const char* name : {"nope/out.jsonl", "nope/out.jsonl.gz"}) {
    const std::string path = Path(name);
    auto w = OpenJsonLinesFile(path);
    ASSERT_FALSE(w.ok()) << path;
    EXPECT_TRUE(absl::StrContains(w.status().message(), path)) << w.status();
  }
}

}  // namespace
}  // namespace eddy
