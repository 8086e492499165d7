// libFuzzer: one of the example decoders (connectors/example_formats.h),
// chosen at compile time by EDDY_FUZZ_FORMAT ("vw", "criteo" or "csv"), on
// any line. An accepted example's features must lie in the index space and
// its label and weight must be numbers a model can learn from.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "connectors/example_formats.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

const eddy::ExampleParser& Parser() {
  static const std::unique_ptr<eddy::ExampleParser> parser = [] {
    eddy::ExampleFormatOptions o;
    o.format = EDDY_FUZZ_FORMAT;
    o.bits = 18;
    o.fields = true;
    if (o.format == "csv") {
      o.header = "label,id,age,city,device";
      o.label_column = "label";
      o.id_column = "id";
      o.numeric_columns = {"age"};
    }
    return std::move(eddy::ExampleParser::Make(o)).value();
  }();
  return *parser;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static eddy::Example ex;  // reused, as sources reuse one per thread
  const absl::string_view line(reinterpret_cast<const char*>(data), size);
  if (!Parser().Parse(line, &ex).ok() || ex.header) return 0;
  EDDY_FUZZ_CHECK(ex.x.index.size() == ex.x.value.size());
  for (uint32_t i : ex.x.index) EDDY_FUZZ_CHECK(i < (1u << 18));
  for (float v : ex.x.value) EDDY_FUZZ_CHECK(std::isfinite(v));
  EDDY_FUZZ_CHECK(ex.label == 0 || ex.label == 1);
  EDDY_FUZZ_CHECK(std::isfinite(ex.weight) && ex.weight >= 0);
  return 0;
}
