// Decoding a ~150-byte listen event (JSON) into a typed struct, against the
// bare simdjson On Demand walk over the same fields (the floor).
#include <string>
#include <vector>

#include <simdjson.h>

#include "benchmark/benchmark.h"
#include "jobs/music_events.h"

namespace eddy::music {
namespace {

std::vector<std::string> Events() {
  std::vector<std::string> out;
  for (int i = 0; i < 1024; ++i) {
    std::string s = "{\"type\":\"listen\",\"ts\":" + std::to_string(1735689600123 + i * 997) +
                    ",\"user\":\"u" + std::to_string(i * 31 % 5000) + "\",\"track\":\"t" +
                    std::to_string(i * 7 % 20000) + "\",\"artist\":\"a" + std::to_string(i % 500) +
                    "\",\"genre\":\"electronic\",\"ms_played\":" + std::to_string(183000 + i) + "}";
    s.append(64, '\0');  // the padding sources guarantee
    out.push_back(std::move(s));
  }
  return out;
}

size_t Unpadded(const std::string& s) { return s.size() - 64; }

void BM_ParseListen(benchmark::State& state) {
  const std::vector<std::string> events = Events();
  size_t bytes = 0;
  for (const auto& e : events) bytes += Unpadded(e);
  for (auto _ : state) {
    for (const std::string& e : events) {
      auto l = ParseListen(absl::string_view(e.data(), Unpadded(e)));
      benchmark::DoNotOptimize(l);
    }
  }
  state.SetItemsProcessed(state.iterations() * events.size());
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_ParseListen);

void BM_SimdjsonWalkOnly(benchmark::State& state) {
  const std::vector<std::string> events = Events();
  simdjson::ondemand::parser parser;
  for (auto _ : state) {
    for (const std::string& e : events) {
      auto doc = parser.iterate(simdjson::padded_string_view(e.data(), Unpadded(e), e.size()));
      int64_t sum = 0;
      for (auto field : doc.get_object()) {
        std::string_view key = field.unescaped_key().value();
        auto v = field.value();
        if (key == "ts" || key == "ms_played") {
          sum += v.get_int64().value();
        } else {
          sum += static_cast<int64_t>(v.get_string().value().size());
        }
      }
      benchmark::DoNotOptimize(sum);
    }
  }
  state.SetItemsProcessed(state.iterations() * events.size());
}
BENCHMARK(BM_SimdjsonWalkOnly);

}  // namespace
}  // namespace eddy::music
