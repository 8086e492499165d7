// A model in a state directory (operators/model_state.h): a checkpoint
// writes the rows that changed and a turn of the page rotation, not the
// model; what any checkpoint wrote reads back bit for bit (parameters and
// version), through any number of checkpoints; old deltas are deleted; a
// cleared model leaves nothing; a damaged part is an error, not a model.
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "operators/learners.h"
#include "operators/model_state.h"
#include "state/keyed_state.h"
#include "state/state_directory.h"
#include "tests/testing/command.h"

namespace eddy {
namespace {

using testing::MakeScratchDir;

std::unique_ptr<StateDirectory> OpenDir(const std::string& path) {
  absl::StatusOr<std::unique_ptr<StateDirectory>> dir =
      StateDirectory::Open({path, "test", size_t{64} << 20});
  EXPECT_TRUE(dir.ok()) << dir.status();
  return *std::move(dir);
}

// The learner's layout: one key per task, the model under it.
struct Learner {
  explicit Learner(StateDirectory* dir) {
    store.Bind(dir, "learn", size_t{64} << 20);
    model = store.Value<ModelBox>("model");
    store.SetCurrentKey(&key);
  }
  // Commits a checkpoint; returns its batch's size.
  size_t Checkpoint(StateDirectory& dir) {
    auto batch = dir.NewBatch();
    EXPECT_TRUE(store.Snapshot(*batch).ok());
    const size_t bytes = batch->bytes();
    EXPECT_TRUE(dir.Commit(*batch).ok());
    return bytes;
  }
  const Model* Read() {
    store.SetCurrentKey(&key);
    const ModelBox* box = model.Get();
    EXPECT_TRUE(store.status().ok()) << store.status();
    return box == nullptr ? nullptr : box->model.get();
  }

  int key = 0;
  KeyedStateStore<int> store;
  ValueState<int, ModelBox> model;
};

// Learns `n` examples of 12 random indexes each.
void LearnRandom(Model& m, int bits, int n, std::mt19937_64& rng) {
  SparseVector x;
  for (int i = 0; i < n; ++i) {
    x.clear();
    for (int j = 0; j < 12; ++j) {
      x.index.push_back(static_cast<uint32_t>(rng() & ((uint64_t{1} << bits) - 1)));
      x.value.push_back(1.0f);
    }
    m.PredictThenLearn(x, static_cast<float>(rng() % 2));
  }
}

// A new FTRL model in the learner's box, then `checkpoints` checkpoints of
// 100 examples each.
void StartAndCheckpoint(Learner& learner, StateDirectory& dir, const ModelOptions& o,
                        int checkpoints, std::mt19937_64& rng) {
  ModelBox box;
  box.model = *MakeModel(ModelKind::kFtrl, o);
  learner.model.Set(box);
  for (int c = 0; c < checkpoints; ++c) {
    LearnRandom(*learner.model.Mutable()->model, o.bits, 100, rng);
    learner.Checkpoint(dir);
  }
}

void ExpectSameModel(const Model& a, const Model& b) {
  ASSERT_EQ(a.kind(), b.kind());
  EXPECT_EQ(a.version(), b.version());
  ASSERT_EQ(a.params().size(), b.params().size());
  EXPECT_EQ(std::memcmp(a.params().data(), b.params().data(), 4 * a.params().size()), 0)
      << "parameters differ";
}

// What the state directory holds, read in a fresh cache, equals `want`.
void ExpectReadsBack(StateDirectory* dir, const Model& want) {
  Learner fresh(dir);
  const Model* read = fresh.Read();
  ASSERT_NE(read, nullptr);
  ExpectSameModel(want, *read);
}

size_t Parts(StateDirectory& dir, char kind) {
  const int table = *dir.Table("learn/model");
  size_t n = 0;
  EXPECT_TRUE(dir.Scan(table, "", [&](absl::string_view k, absl::string_view) {
                   const size_t mark = k.find(kPartMark);
                   n += mark != absl::string_view::npos && k.size() > mark + 1 && k[mark + 1] == kind;
                   return true;
                 }).ok());
  return n;
}

TEST(ModelStateTest, ACheckpointWritesTheChangedRowsNotTheModel) {
  auto dir = OpenDir(MakeScratchDir("model_state_small") + "/db");
  Learner learner(dir.get());
  ModelOptions o;
  o.bits = 18;
  ModelBox box;
  box.model = *MakeModel(ModelKind::kFtrl, o);
  learner.model.Set(box);
  const size_t model_bytes = 4 * box.model->params().size();
  EXPECT_GE(learner.Checkpoint(*dir), model_bytes) << "the first checkpoint holds all of it";
  // A turn of the rotation: 5 of the 65 pages of 4096 rows of 8 bytes.
  using model_state_internal::kPageRows;
  const size_t pages = ((size_t{1} << o.bits) + kPageRows) / kPageRows;
  const size_t turn = (pages + model_state_internal::kRotation - 1) / model_state_internal::kRotation;
  ASSERT_EQ(turn, 5u);
  std::mt19937_64 rng(1);
  for (int c = 0; c < 20; ++c) {
    LearnRandom(*learner.model.Mutable()->model, o.bits, 200, rng);
    const size_t bytes = learner.Checkpoint(*dir);
    // The turn, and the changed rows: 200 examples of 12 indexes and the bias.
    EXPECT_LT(bytes, turn * kPageRows * 8 + 200 * 13 * 12 + 4096) << "checkpoint " << c;
    // (One turn in 13 ends with the last page: the bias's row alone.)
    EXPECT_GT(bytes, (turn - 1) * kPageRows * 8 + 200 * 8 * 12) << "checkpoint " << c;
    EXPECT_LT(bytes, model_bytes / 8) << "checkpoint " << c;
  }
}

// Models of each kind, checkpointed many times over (more than a full
// rotation), read back in a fresh cache after each checkpoint.
TEST(ModelStateTest, EveryCheckpointReadsBackBitForBit) {
  for (ModelKind kind : {ModelKind::kFtrl, ModelKind::kSgd, ModelKind::kFm}) {
    SCOPED_TRACE(ModelKindName(kind));
    const std::string path = MakeScratchDir(std::string("model_state_") + ModelKindName(kind)) + "/db";
    auto dir = OpenDir(path);
    Learner learner(dir.get());
    ModelOptions o;
    o.bits = 15;  // 9 pages: a rotation turn of one page
    o.factors = 4;
    ModelBox box;
    box.model = *MakeModel(kind, o);
    box.model->InitBias(-2.0);
    learner.model.Set(box);
    std::mt19937_64 rng(7);
    for (int c = 0; c < 40; ++c) {
      // Some checkpoints with no learning at all, some with much.
      if (c % 7 != 3) LearnRandom(*learner.model.Mutable()->model, o.bits, c % 5 == 0 ? 3000 : 40, rng);
      learner.Checkpoint(*dir);
      SCOPED_TRACE(absl::StrCat("checkpoint ", c));
      ExpectReadsBack(dir.get(), *learner.model.Get()->model);
      if (HasFatalFailure()) return;
    }
    // Deltas older than every page are gone: at most a rotation's worth.
    EXPECT_LE(Parts(*dir, 'd'), 16u);
    EXPECT_EQ(Parts(*dir, 'p'), 9u);

    // A model read back goes on learning and checkpointing where the
    // other left off.
    Learner resumed(dir.get());
    ASSERT_NE(resumed.Read(), nullptr);
    std::mt19937_64 rng_a(9), rng_b(9);
    LearnRandom(*learner.model.Mutable()->model, o.bits, 500, rng_a);
    LearnRandom(*resumed.model.Mutable()->model, o.bits, 500, rng_b);
    resumed.Checkpoint(*dir);
    ExpectReadsBack(dir.get(), *learner.model.Get()->model);
  }
}

TEST(ModelStateTest, AReplacedOrReSetModelIsWrittenWholeAndAClearedOneLeavesNothing) {
  auto dir = OpenDir(MakeScratchDir("model_state_replace") + "/db");
  Learner learner(dir.get());
  ModelOptions o;
  o.bits = 14;
  std::mt19937_64 rng(3);
  StartAndCheckpoint(learner, *dir, o, 5, rng);
  ASSERT_GT(Parts(*dir, 'd'), 0u);
  // Another model in the same box (a new one, not a copy of the old): none
  // of the old one's deltas may apply to it.
  ModelBox other;
  other.model = *MakeModel(ModelKind::kFtrl, o);
  LearnRandom(*other.model, o.bits, 50, rng);
  learner.model.Set(other);
  learner.Checkpoint(*dir);
  EXPECT_EQ(Parts(*dir, 'd'), 0u);
  ExpectReadsBack(dir.get(), *other.model);
  // Cleared and set again (the same box) within one interval: written
  // whole again, as its parts were deleted.
  ModelBox moved = std::move(*learner.model.Mutable());
  learner.model.Clear();
  learner.model.Set(std::move(moved));
  LearnRandom(*learner.model.Mutable()->model, o.bits, 50, rng);
  learner.Checkpoint(*dir);
  ExpectReadsBack(dir.get(), *learner.model.Get()->model);
  learner.model.Clear();
  learner.Checkpoint(*dir);
  EXPECT_EQ(Parts(*dir, 'p'), 0u);
  Learner fresh(dir.get());
  EXPECT_EQ(fresh.Read(), nullptr);
}

TEST(ModelStateTest, ADamagedPartIsAnErrorNotAModel) {
  auto dir = OpenDir(MakeScratchDir("model_state_damaged") + "/db");
  Learner learner(dir.get());
  ModelOptions o;
  o.bits = 14;
  std::mt19937_64 rng(5);
  StartAndCheckpoint(learner, *dir, o, 3, rng);
  // Flip a byte in each kind of entry in turn: the head, a page, a delta;
  // then drop a page.
  const int table = *dir->Table("learn/model");
  std::vector<std::pair<std::string, std::string>> entries;
  ASSERT_TRUE(dir->Scan(table, "", [&](absl::string_view k, absl::string_view v) {
                   entries.emplace_back(std::string(k), std::string(v));
                   return true;
                 }).ok());
  ASSERT_GE(entries.size(), 3u);
  for (size_t victim = 0; victim <= entries.size(); ++victim) {
    SCOPED_TRACE(victim);
    auto batch = dir->NewBatch();
    for (size_t i = 0; i < entries.size(); ++i) {
      std::string v = entries[i].second;
      if (i == victim) v[v.size() / 2] ^= 0x10;
      batch->Put(table, entries[i].first, v);
    }
    if (victim == entries.size()) batch->Delete(table, entries.back().first);
    ASSERT_TRUE(dir->Commit(*batch).ok());
    Learner fresh(dir.get());
    fresh.store.SetCurrentKey(&fresh.key);
    EXPECT_EQ(fresh.model.Get(), nullptr);
    EXPECT_EQ(fresh.store.status().code(), absl::StatusCode::kDataLoss) << fresh.store.status();
  }
}

}  // namespace
}  // namespace eddy
