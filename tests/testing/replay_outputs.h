// Reading what `eddy replay` wrote, for end-to-end job tests.
#ifndef EDDY_TESTS_TESTING_REPLAY_OUTPUTS_H_
#define EDDY_TESTS_TESTING_REPLAY_OUTPUTS_H_

#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/json_reader.h"
#include "gtest/gtest.h"
#include "tests/testing/command.h"

namespace eddy::testing {

// The lines of the file at `path` ("" if it does not exist).
inline std::vector<std::string> FileLines(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(ReadFileOrEmpty(path));
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The input line numbers (1-based) of the records in a late_events.jsonl:
// their origins end in ":<line>".
inline std::set<uint64_t> LateLines(const std::string& late_events_path) {
  std::set<uint64_t> out;
  for (const std::string& line : FileLines(late_events_path)) {
    std::string origin;
    EXPECT_TRUE(ParseJsonObjectCopy(line, [&](absl::string_view k, JsonValue& v) {
                  if (k == "origin") return v.GetString(origin);
                  return absl::OkStatus();
                }).ok())
        << line;
    out.insert(std::stoull(origin.substr(origin.rfind(':') + 1)));
  }
  return out;
}

}  // namespace eddy::testing

#endif  // EDDY_TESTS_TESTING_REPLAY_OUTPUTS_H_
