// libFuzzer: the decoders keyed state and checkpoints are read back with
// (state/codec.h), on the state the shipped learners keep: a value from a
// corrupt or truncated state directory is refused, never read out of
// bounds or over-allocated. A value that decodes must encode to bytes that
// decode to the same encoding. A model or a lookback stored in parts
// (state/parted.h) is refused or read whole.
//
// EDDY_FUZZ_WRITE_SEED=DIR writes seeds for the parted readers into DIR and
// exits: models of each kind and a lookback, checkpointed into a real state
// directory (pages, a delta; slices), as this target's inputs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "operators/aggregates.h"
#include "operators/online_learner.h"
#include "operators/windows.h"
#include "state/codec.h"
#include "state/keyed_state.h"
#include "state/state_directory.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

template <typename T>
void RoundTrip(absl::string_view bytes) {
  T v;
  if (!eddy::DecodeAll(bytes, v)) return;
  const std::string once = eddy::Encode(v);
  T w;
  EDDY_FUZZ_CHECK(eddy::DecodeAll(once, w));
  EDDY_FUZZ_CHECK(eddy::Encode(w) == once);
}

using Lookback = eddy::LookbackState<eddy::agg::Count::Acc>;

// A value stored in parts: chunks of [u16 length][bytes], the head first,
// then suffix and bytes by turns.
bool SplitParts(absl::string_view bytes, std::string& head, std::vector<eddy::Part>& parts) {
  std::vector<std::string> chunks;
  while (bytes.size() >= 2) {
    const size_t n = std::min<size_t>(bytes.size() - 2, static_cast<uint8_t>(bytes[0]) |
                                                            (static_cast<uint8_t>(bytes[1]) << 8));
    chunks.emplace_back(bytes.substr(2, n));
    bytes.remove_prefix(2 + n);
  }
  if (chunks.empty()) return false;
  head = chunks[0];
  for (size_t i = 1; i + 1 < chunks.size(); i += 2) parts.push_back({chunks[i], chunks[i + 1]});
  return true;
}

// True if the input reads as a value.
bool ReadParted(absl::string_view bytes, bool model) {
  std::string head;
  std::vector<eddy::Part> parts;
  if (!SplitParts(bytes, head, parts)) return false;
  if (model) {
    eddy::ModelBox box;
    if (!eddy::PartedCodec<eddy::ModelBox>::Read(head, parts, box) || box.model == nullptr) {
      return false;
    }
    const eddy::Model& m = *box.model;
    EDDY_FUZZ_CHECK(m.params().size() == m.rows() * m.row_stride());
    EDDY_FUZZ_CHECK(!box.page_checkpoint.empty() && box.next_page < box.page_checkpoint.size());
  } else {
    Lookback v;
    if (!eddy::PartedCodec<Lookback>::Read(head, parts, v)) return false;
    for (size_t i = 1; i < v.slices.size(); ++i) {
      EDDY_FUZZ_CHECK(v.slices[i - 1].first < v.slices[i].first);
    }
  }
  return true;
}

// The entries of `table` as one input: selector byte, head, parts.
std::string SeedOf(eddy::StateDirectory& dir, const std::string& table, char selector) {
  std::string out(1, selector);
  const auto chunk = [&](absl::string_view b) {
    out.push_back(static_cast<char>(b.size() & 0xff));
    out.push_back(static_cast<char>(b.size() >> 8));
    out.append(b.data(), b.size());
  };
  // One key in the table: its head comes first (a prefix of its parts' keys).
  size_t head_key = 0;
  EDDY_FUZZ_CHECK(dir.Scan(*dir.Table(table), "", [&](absl::string_view k, absl::string_view v) {
                       if (head_key == 0) {
                         head_key = k.size();
                       } else {
                         chunk(k.substr(head_key + 1));
                       }
                       chunk(v);
                       return true;
                     }).ok());
  EDDY_FUZZ_CHECK(head_key > 0);
  return out;
}

void WriteSeeds(const std::string& out_dir) {
  const std::string root = out_dir + "/.state";
  std::filesystem::remove_all(root);
  auto dir = eddy::StateDirectory::Open({root, "fuzz", size_t{16} << 20});
  EDDY_FUZZ_CHECK(dir.ok());
  const auto commit = [&](auto& store) {
    auto batch = (*dir)->NewBatch();
    EDDY_FUZZ_CHECK(store.Snapshot(*batch).ok());
    EDDY_FUZZ_CHECK((*dir)->Commit(*batch).ok());
  };
  for (eddy::ModelKind kind : {eddy::ModelKind::kFtrl, eddy::ModelKind::kFm}) {
    const std::string op = std::string("learn_") + eddy::ModelKindName(kind);
    eddy::KeyedStateStore<int> store;
    store.Bind(dir->get(), op, size_t{16} << 20);
    auto model = store.Value<eddy::ModelBox>("model");
    const int key = 0;
    store.SetCurrentKey(&key);
    eddy::ModelOptions o;
    o.bits = 4;
    o.factors = 2;
    eddy::ModelBox box;
    box.model = *eddy::MakeModel(kind, o);
    model.Set(box);
    eddy::SparseVector x;
    x.index = {1, 5};
    x.value = {1, 1};
    for (int c = 0; c < 3; ++c) {
      model.Mutable()->model->PredictThenLearn(x, c % 2);
      x.index[1] = static_cast<uint32_t>(c + 7);
      commit(store);
    }
    const std::string seed = SeedOf(**dir, op + "/model", 4);
    EDDY_FUZZ_CHECK(ReadParted(absl::string_view(seed).substr(1), /*model=*/true));
    std::ofstream(out_dir + "/seed-" + op, std::ios::binary) << seed;
  }
  eddy::KeyedStateStore<std::string> store;
  store.Bind(dir->get(), "lookback", size_t{16} << 20);
  auto state = store.Value<Lookback>("lookback");
  const std::string key = "u";
  store.SetCurrentKey(&key);
  Lookback& v = state.GetOrCreate();
  for (int64_t t = 0; t < 5; ++t) v.slices.emplace_back(-2000 + 1000 * t, eddy::agg::Count::Acc{t + 1});
  v.recent.emplace_back(5500, eddy::agg::Count::Acc{2});
  commit(store);
  const std::string seed = SeedOf(**dir, "lookback/lookback", 5);
  EDDY_FUZZ_CHECK(ReadParted(absl::string_view(seed).substr(1), /*model=*/false));
  std::ofstream(out_dir + "/seed-lookback", std::ios::binary) << seed;
  std::filesystem::remove_all(root);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("EDDY_FUZZ_WRITE_SEED")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the type, the rest is the stored value.
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0: RoundTrip<eddy::DelayedLabelState>(bytes); break;
    case 1: RoundTrip<eddy::LearnerInput>(bytes); break;
    case 2: RoundTrip<eddy::ModelBox>(bytes); break;
    case 3: RoundTrip<std::map<std::string, std::vector<std::pair<int64_t, double>>>>(bytes); break;
    case 4: ReadParted(bytes, /*model=*/true); break;
    case 5: ReadParted(bytes, /*model=*/false); break;
  }
  return 0;
}
