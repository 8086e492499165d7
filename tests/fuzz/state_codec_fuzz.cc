// libFuzzer: the decoders keyed state and checkpoints are read back with
// (state/codec.h), on the state the shipped learners keep: a value from a
// corrupt or truncated state directory is refused, never read out of
// bounds or over-allocated. A value that decodes must encode to bytes that
// decode to the same encoding. A model stored in parts is refused or read
// whole.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <string>
#include <vector>

#include "operators/online_learner.h"
#include "state/codec.h"
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

// A model stored in parts (operators/model_state.h): chunks of
// [u16 length][bytes], the head first, then suffix and bytes by turns.
void ReadParted(absl::string_view bytes) {
  std::vector<std::string> chunks;
  while (bytes.size() >= 2) {
    const size_t n = std::min<size_t>(bytes.size() - 2, static_cast<uint8_t>(bytes[0]) |
                                                            (static_cast<uint8_t>(bytes[1]) << 8));
    chunks.emplace_back(bytes.substr(2, n));
    bytes.remove_prefix(2 + n);
  }
  if (chunks.empty()) return;
  std::vector<eddy::Part> parts;
  for (size_t i = 1; i + 1 < chunks.size(); i += 2) parts.push_back({chunks[i], chunks[i + 1]});
  eddy::ModelBox box;
  if (!eddy::PartedCodec<eddy::ModelBox>::Read(chunks[0], parts, box) || box.model == nullptr) return;
  const eddy::Model& m = *box.model;
  EDDY_FUZZ_CHECK(m.params().size() == m.rows() * m.row_stride());
  EDDY_FUZZ_CHECK(!box.page_checkpoint.empty() && box.next_page < box.page_checkpoint.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the type, the rest is the stored value.
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: RoundTrip<eddy::DelayedLabelState>(bytes); break;
    case 1: RoundTrip<eddy::LearnerInput>(bytes); break;
    case 2: RoundTrip<eddy::ModelBox>(bytes); break;
    case 3: RoundTrip<std::map<std::string, std::vector<std::pair<int64_t, double>>>>(bytes); break;
    case 4: ReadParted(bytes); break;
  }
  return 0;
}
