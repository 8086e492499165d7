// The state directory keeps what was committed, and refuses directories that
// are locked, corrupt, foreign or from another format — naming the directory.
#include "state/state_directory.h"

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/command.h"

namespace eddy {
namespace {

using testing::MakeScratchDir;

std::string Path(const std::string& name) { return MakeScratchDir("statedir") + "/" + name; }

TEST(StateDirectoryTest, CommittedWritesSurviveReopen) {
  const std::string path = Path("db");
  {
    absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open({path, "job"});
    ASSERT_TRUE(dir.ok()) << dir.status();
    absl::StatusOr<int> t = (*dir)->Table("op/state");
    ASSERT_TRUE(t.ok());
    auto batch = (*dir)->NewBatch();
    batch->Put(*t, "k1", "v1");
    batch->Put(*t, "k2", "v2");
    batch->Put(*t, "x", "v3");
    batch->PutMeta("eddy.checkpoint", "7");
    ASSERT_TRUE((*dir)->Commit(*batch).ok());
    auto del = (*dir)->NewBatch();
    del->Delete(*t, "k2");
    ASSERT_TRUE((*dir)->Commit(*del).ok());
  }
  absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open({path, "job"});
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<int> t = (*dir)->Table("op/state");
  ASSERT_TRUE(t.ok());
  std::string v;
  bool found = false;
  ASSERT_TRUE((*dir)->Get(*t, "k1", &v, &found).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ(v, "v1");
  ASSERT_TRUE((*dir)->Get(*t, "k2", &v, &found).ok());
  EXPECT_FALSE(found);
  std::vector<std::string> keys;
  ASSERT_TRUE((*dir)->Scan(*t, "k", [&](absl::string_view k, absl::string_view) {
                  keys.emplace_back(k);
                  return true;
                }).ok());
  EXPECT_EQ(keys, std::vector<std::string>{"k1"});
  EXPECT_EQ(*(*dir)->GetMeta("eddy.checkpoint"), std::optional<std::string>("7"));
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
}

// A bulk scan (a changelog snapshot) reads every key but keeps none of its
// blocks in the block cache; an ordinary scan's blocks stay there for the
// point reads that follow.
TEST(StateDirectoryTest, ABulkScanLeavesTheBlockCacheAsItWas) {
  absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open({Path("bulk"), "job"});
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<int> t = (*dir)->Table("op/state");
  ASSERT_TRUE(t.ok());
  auto batch = (*dir)->NewBatch();
  for (int i = 0; i < 20000; ++i) batch->Put(*t, "k" + std::to_string(100000 + i), std::string(100, 'v'));
  ASSERT_TRUE((*dir)->Commit(*batch).ok());
  ASSERT_TRUE((*dir)->CompactAll().ok());  // the keys in table files, read through the cache
  const uint64_t before = (*dir)->Memory().block_cache;
  size_t n = 0;
  const auto count = [&](absl::string_view, absl::string_view) {
    ++n;
    return true;
  };
  ASSERT_TRUE((*dir)->Scan(*t, "k", count, /*bulk=*/true).ok());
  EXPECT_EQ(n, 20000u);
  EXPECT_EQ((*dir)->Memory().block_cache, before);
  n = 0;
  ASSERT_TRUE((*dir)->Scan(*t, "k", count).ok());
  EXPECT_EQ(n, 20000u);
  EXPECT_GT((*dir)->Memory().block_cache, before + 1000000) << "about 2 MB of blocks read";
}

TEST(StateDirectoryTest, AnotherJobsDirectoryIsRefused) {
  const std::string path = Path("db");
  ASSERT_TRUE(StateDirectory::Open({path, "ctr"}).ok());
  absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open({path, "listen_counts"});
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find(path), absl::string_view::npos);
  EXPECT_NE(dir.status().message().find("belongs to job 'ctr'"), absl::string_view::npos)
      << dir.status();
}

TEST(StateDirectoryTest, IncompatibleFormatIsRefused) {
  const std::string path = Path("db");
  {
    auto dir = StateDirectory::Open({path, "job"});
    ASSERT_TRUE(dir.ok());
    auto batch = (*dir)->NewBatch();
    batch->PutMeta("eddy.format", "999");
    ASSERT_TRUE((*dir)->Commit(*batch).ok());
  }
  absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open({path, "job"});
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("incompatible Eddy (format 999"), absl::string_view::npos)
      << dir.status();
}

TEST(StateDirectoryTest, CorruptDirectoryIsAnErrorNotAReset) {
  const std::string path = Path("db");
  {
    auto dir = StateDirectory::Open({path, "job"});
    ASSERT_TRUE(dir.ok());
  }
  // Destroy the manifest the CURRENT file points to.
  std::ifstream current(path + "/CURRENT");
  std::string manifest;
  std::getline(current, manifest);
  std::ofstream(path + "/" + manifest, std::ios::trunc) << "garbage";
  absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open({path, "job"});
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find(path), absl::string_view::npos) << dir.status();
  // Nothing was silently recreated.
  std::ifstream again(path + "/" + manifest);
  std::string content((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "garbage");
}

TEST(StateDirectoryTest, NonEmptyForeignDirectoryIsRefused) {
  const std::string path = Path("db");
  std::filesystem::create_directories(path);
  std::ofstream(path + "/notes.txt") << "mine";
  absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open({path, "job"});
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("holds notes.txt"), absl::string_view::npos)
      << dir.status();
}

TEST(StateDirectoryTest, CreationInterruptedBeforeCurrentIsStartedAfresh) {
  // A crash while RocksDB created the database leaves its files but no
  // CURRENT: nothing was committed, so opening again must work.
  const std::string path = Path("db");
  std::filesystem::create_directories(path);
  std::ofstream(path + "/LOCK") << "";
  std::ofstream(path + "/IDENTITY") << "abc";
  std::ofstream(path + "/LOG") << "log";
  std::ofstream(path + "/MANIFEST-000001") << "partial";
  std::ofstream(path + "/000001.dbtmp") << "";
  absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open({path, "job"});
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(*(*dir)->GetMeta("eddy.job"), std::optional<std::string>("job"));
}

TEST(StateDirectoryTest, DatabaseWithoutCurrentButWithDataIsRefusedAndKept) {
  // Tables or logs without CURRENT: a damaged database (or someone's logs),
  // never deleted.
  for (const char* file : {"000007.sst", "000003.log", "eddy.log", "OPTIONS-000005"}) {
    const std::string path = Path("db");
    std::filesystem::create_directories(path);
    std::ofstream(path + "/LOCK") << "";
    std::ofstream(path + "/" + file) << "data";
    absl::StatusOr<std::unique_ptr<StateDirectory>> dir = StateDirectory::Open({path, "job"});
    ASSERT_FALSE(dir.ok()) << file;
    EXPECT_NE(dir.status().message().find(file), absl::string_view::npos) << dir.status();
    EXPECT_TRUE(std::filesystem::exists(path + "/" + file)) << file << " was deleted";
  }
}

TEST(StateDirectoryTest, SecondProcessOnTheSameDirectoryGetsALockError) {
  const std::string path = Path("db");
  auto dir = StateDirectory::Open({path, "job"});
  ASSERT_TRUE(dir.ok());
  // RocksDB's lock is per process (fcntl): try from a child process.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    absl::StatusOr<std::unique_ptr<StateDirectory>> other = StateDirectory::Open({path, "job"});
    const bool locked = !other.ok() &&
                        other.status().message().find("in use by another process") !=
                            absl::string_view::npos &&
                        other.status().message().find(path) != absl::string_view::npos;
    _exit(locked ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child did not see the lock";
}

}  // namespace
}  // namespace eddy
