// libFuzzer: the model-file reader (operators/model_file.h). Each input is
// read twice: as it is, and with its checksum made to match (else nearly
// every mutation would stop at the checksum and the header fields behind it
// would never be reached). A file it accepts must give a model that
// predicts, learns, and writes a file that reads back.
#include <xxhash.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "operators/model_file.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void Check(const std::string& bytes) {
  absl::StatusOr<std::unique_ptr<eddy::Model>> model = eddy::ParseModel(bytes);
  if (!model.ok()) return;
  eddy::SparseVector x;
  x.index = {0, 1, 7, 12345};
  x.value = {1, 0.5f, -2, 1};
  const double p = (*model)->Predict(x);
  EDDY_FUZZ_CHECK(!(p < 0) && !(p > 1));  // NaN is tolerated: parameters may be NaN
  (*model)->PredictThenLearn(x, 1.0f);
  const std::string again = (*model)->Serialize();
  EDDY_FUZZ_CHECK(eddy::ParseModel(again).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  Check(bytes);
  if (bytes.size() >= 16) {
    const uint64_t sum = XXH3_64bits(bytes.data(), bytes.size() - 8);
    std::memcpy(&bytes[bytes.size() - 8], &sum, 8);  // little-endian, as the file
    Check(bytes);
  }
  return 0;
}
