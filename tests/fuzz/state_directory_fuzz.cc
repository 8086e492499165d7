// libFuzzer: a whole state directory as `eddy replay` resumes it: the
// checkpoint record, the keyed state, the timers and the window contents of
// listen_counts, read back and run on. Each input is a list of (table, key,
// value) entries (table "" for a meta key such as the checkpoint record),
// encoded with state/codec.h. The entries are written into a fresh state
// directory, and listen_counts resumes from it on a small input. Whatever
// the entries, the resume runs or stops with an error: it never crashes,
// hangs or reads out of bounds.
//
// The seed is a real state directory: at start-up the target runs
// listen_counts with a state directory, stops it half way through its input
// and lists that directory's entries. EDDY_FUZZ_WRITE_SEED=FILE writes that
// list to FILE and exits (scripts/fuzz.sh seeds the corpus with it).
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/flags.h"
#include "engine/job_registry.h"
#include "engine/replay.h"
#include "state/codec.h"
#include "state/state_directory.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using Entries = std::vector<std::tuple<std::string, std::string, std::string>>;

constexpr char kJob[] = "listen_counts";
constexpr char kCheckpointKey[] = "eddy.checkpoint";  // engine/executor.cc

struct Setup {
  std::string root;
  std::string input;                      // root/in/events.jsonl
  std::vector<std::string> output_files;  // the job's output files (names)
  std::string seed;                       // Encode(Entries) of the half-way state
};

eddy::ReplayOptions Options(const Setup& s, const std::string& state, const std::string& out) {
  eddy::ReplayOptions o;
  o.job = kJob;
  o.inputs = {s.input};
  o.output_dir = out;
  o.state_dir = state;
  o.batch_size = 64;
  o.checkpoint_every_records = 100;
  o.state_memory_bytes = size_t{16} << 20;
  return o;
}

void Die(const std::string& what) {
  std::fprintf(stderr, "state_directory_fuzz: %s\n", what.c_str());
  std::abort();
}

Setup MakeSetup() {
  Setup s;
  char pattern[] = "/tmp/eddy-state-fuzz-XXXXXX";
  if (mkdtemp(pattern) == nullptr) Die("mkdtemp failed");
  s.root = pattern;
  std::filesystem::create_directories(s.root + "/in");
  s.input = s.root + "/in/events.jsonl";
  const eddy::GeneratorInfo* gen = eddy::GeneratorRegistry::Global().Find("listens");
  if (gen == nullptr) Die("no listens generator");
  const std::string whole = s.root + "/whole.jsonl";
  absl::StatusOr<eddy::ParsedArgs> args =
      eddy::ParseArgs({"--out", whole, "--events", "400", "--seed", "5", "--users", "12",
                       "--late-rate", "0.05", "--malformed-rate", "0.02"},
                      gen->flags, "gen");
  if (!args.ok() || !gen->run(*args).ok()) Die("generating the input failed");
  std::filesystem::rename(whole, s.input);
  // listen_counts on the input with a state directory, stopped (in a child
  // process, as by a crash) after its checkpoint past half of the input: a
  // directory with windows and timers in it, from which a resume reads on.
  const std::string state = s.root + "/seed-state", out = s.root + "/seed-out";
  const pid_t child = fork();
  if (child < 0) Die("fork failed");
  if (child == 0) {
    eddy::ReplayOptions o = Options(s, state, out);
    o.progress = [](const eddy::RunStats& stats) {
      if (stats.checkpoints >= 1 && stats.events >= 200) std::_Exit(0);
    };
    absl::StatusOr<eddy::RunStats> run = eddy::RunReplay(o);
    std::_Exit(run.ok() ? 3 : 2);  // 3: it ended before half way
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Die("the seed run did not stop half way");
  }
  for (const auto& f : std::filesystem::directory_iterator(out)) {
    s.output_files.push_back(f.path().filename().string());
  }

  Entries entries;
  {
    absl::StatusOr<std::unique_ptr<eddy::StateDirectory>> dir =
        eddy::StateDirectory::Open({state, kJob});
    if (!dir.ok()) Die(dir.status().ToString());
    for (size_t t = 0; t < (*dir)->table_names().size(); ++t) {
      const std::string& table = (*dir)->table_names()[t];
      absl::Status scan = (*dir)->Scan(static_cast<int>(t), "", [&](absl::string_view k,
                                                                   absl::string_view v) {
        entries.emplace_back(table, std::string(k), std::string(v));
        return true;
      });
      if (!scan.ok()) Die(scan.ToString());
    }
    absl::StatusOr<std::optional<std::string>> cp = (*dir)->GetMeta(kCheckpointKey);
    if (!cp.ok() || !cp->has_value()) Die("the seed run left no checkpoint");
    entries.emplace_back("", kCheckpointKey, **cp);
  }
  s.seed = eddy::Encode(entries);
  return s;
}

const Setup& TheSetup() {
  static const Setup* setup = new Setup(MakeSetup());
  return *setup;
}

// Writes `entries` into a fresh state directory and resumes listen_counts
// from it.
absl::Status Resume(const Setup& s, const Entries& entries) {
  const std::string state = s.root + "/state", out = s.root + "/out";
  std::filesystem::remove_all(state);
  std::filesystem::remove_all(out);
  {
    absl::StatusOr<std::unique_ptr<eddy::StateDirectory>> dir =
        eddy::StateDirectory::Open({state, kJob});
    EDDY_FUZZ_CHECK(dir.ok());
    std::unique_ptr<eddy::StateDirectory::Batch> batch = (*dir)->NewBatch();
    for (const auto& [table, key, value] : entries) {
      if (table.empty()) {
        batch->PutMeta(key, value);
        continue;
      }
      absl::StatusOr<int> t = (*dir)->Table(table);
      if (!t.ok()) return t.status();
      batch->Put(*t, key, value);
    }
    EDDY_FUZZ_CHECK((*dir)->Commit(*batch).ok());
  }
  // Outputs as long as any the checkpoint may record (a resume cuts them
  // back to its sizes; shorter would stop it before the state is read).
  std::filesystem::create_directories(out);
  const std::string filler(size_t{64} << 10, '\n');
  for (const std::string& name : s.output_files) {
    std::ofstream(out + "/" + name, std::ios::binary) << filler;
  }
  return eddy::RunReplay(Options(s, state, out)).status();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const Setup& s = TheSetup();
  if (const char* path = std::getenv("EDDY_FUZZ_WRITE_SEED")) {
    std::ofstream(path, std::ios::binary) << s.seed;
    std::filesystem::remove_all(s.root);
    std::exit(0);
  }
  // The real directory resumes: the target reaches past the checkpoint.
  Entries seed;
  EDDY_FUZZ_CHECK(eddy::DecodeAll(s.seed, seed));
  const absl::Status resumed = Resume(s, seed);
  if (!resumed.ok()) Die("the seed does not resume: " + resumed.ToString());
  std::atexit([] { std::filesystem::remove_all(TheSetup().root); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Entries entries;
  if (!eddy::DecodeAll(absl::string_view(reinterpret_cast<const char*>(data), size), entries) ||
      entries.size() > 256) {
    return 0;
  }
  for (const auto& [table, key, value] : entries) {
    if (table.size() > 64) return 0;
  }
  // Any outcome but a crash: a checkpoint record can be wrong and still
  // plausible (another count of events), which no reader can tell.
  (void)Resume(TheSetup(), entries);
  return 0;
}
