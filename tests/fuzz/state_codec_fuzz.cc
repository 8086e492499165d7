// libFuzzer: the decoders keyed state and checkpoints are read back with
// (state/codec.h), on the state the shipped learners keep: a value from a
// corrupt or truncated state directory is refused, never read out of
// bounds or over-allocated. A value that decodes must encode to bytes that
// decode to the same encoding.
#include <cstddef>
#include <cstdint>
#include <string>

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the type, the rest is the stored value.
  const absl::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: RoundTrip<eddy::DelayedLabelState>(bytes); break;
    case 1: RoundTrip<eddy::LearnerInput>(bytes); break;
    case 2: RoundTrip<eddy::ModelBox>(bytes); break;
    case 3: RoundTrip<std::map<std::string, std::vector<std::pair<int64_t, double>>>>(bytes); break;
  }
  return 0;
}
