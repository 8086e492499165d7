// Reading one field of a flat JSON line (an output record) in tests.
#ifndef EDDY_TESTS_TESTING_JSON_FIELD_H_
#define EDDY_TESTS_TESTING_JSON_FIELD_H_

#include <string>

namespace eddy::testing {

// The text of "key":<value> in a flat JSON line: a string's characters
// without the quotes (escapes left as they are), or a number's digits; ""
// when the key is missing.
inline std::string JsonField(const std::string& json, const std::string& key) {
  const std::string tag = "\"" + key + "\":";
  size_t at = json.find(tag);
  if (at == std::string::npos) return "";
  at += tag.size();
  if (at < json.size() && json[at] == '"') return json.substr(at + 1, json.find('"', at + 1) - at - 1);
  return json.substr(at, json.find_first_of(",}", at) - at);
}

}  // namespace eddy::testing

#endif  // EDDY_TESTS_TESTING_JSON_FIELD_H_
