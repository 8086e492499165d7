// Running the built `eddy` binary (and other commands) from tests.
#ifndef EDDY_TESTS_TESTING_COMMAND_H_
#define EDDY_TESTS_TESTING_COMMAND_H_

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace eddy::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `command` through the shell, capturing stdout and stderr.
inline CommandResult RunCommand(const std::string& command, const std::string& scratch_dir) {
  const std::string out = scratch_dir + "/cmd.out";
  const std::string err = scratch_dir + "/cmd.err";
  const int status = std::system((command + " </dev/null >" + out + " 2>" + err).c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFileOrEmpty(out);
  r.err = ReadFileOrEmpty(err);
  return r;
}

// The `eddy` binary under test (set by CTest), or "eddy" on the PATH.
inline std::string EddyBinary() {
  const char* bin = std::getenv("EDDY_BIN");
  return bin != nullptr ? bin : "eddy";
}

// Starts the `eddy` binary with `args` (stdout and stderr appended to
// `log`) and `env` ("NAME=VALUE") added to its environment; returns its pid.
// `file_size_limit`: every file the process writes is limited to that many
// bytes (RLIMIT_FSIZE, with SIGXFSZ ignored, so a write past it fails with
// EFBIG as it would on a full disk; the log is written under it too).
inline pid_t SpawnEddy(const std::vector<std::string>& args, const std::string& log,
                       const std::vector<std::string>& env = {},
                       rlim_t file_size_limit = RLIM_INFINITY) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (file_size_limit != RLIM_INFINITY) {
      signal(SIGXFSZ, SIG_IGN);
      const rlimit limit{file_size_limit, file_size_limit};
      if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(126);
    }
    for (const std::string& e : env) {
      const size_t eq = e.find('=');
      if (eq != std::string::npos) setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
    }
    std::vector<char*> argv;
    std::string bin = EddyBinary();
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (freopen(log.c_str(), "a", stdout) == nullptr || freopen(log.c_str(), "a", stderr) == nullptr) {
      _exit(127);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for `pid`; its exit code, or -1 if a signal ended it.
inline int WaitExit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// WaitExit, giving up after `limit`: then the process is killed (SIGKILL)
// and the result is -2.
inline int WaitExitWithin(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -2;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The scratch directories this test program made (see MakeScratchDir).
inline std::vector<std::string>& ScratchDirs() {
  static auto* dirs = new std::vector<std::string>;
  return *dirs;
}

// A fresh directory under the temp dir. Removed when the test program exits
// with every test passed; kept after a failure, for its logs and outputs
// (ctest runs one test per process). Children that do not exec leave with
// _exit, so they never remove anything.
inline std::string MakeScratchDir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/eddy_" + name + "_XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) std::abort();
  static const bool cleanup = [] {
    std::atexit([] {
      if (!::testing::UnitTest::GetInstance()->Passed()) return;
      std::error_code ec;
      for (const std::string& d : ScratchDirs()) std::filesystem::remove_all(d, ec);
    });
    return true;
  }();
  (void)cleanup;
  ScratchDirs().push_back(dir);
  return dir;
}

}  // namespace eddy::testing

#endif  // EDDY_TESTS_TESTING_COMMAND_H_
