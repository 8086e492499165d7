// Writing JSON: string escaping and a small object writer.
//
// Output is always valid JSON, also for arbitrary bytes: invalid UTF-8 bytes
// are written as \u00XX (their Latin-1 reading), so a dead-letter record that
// carries a corrupt input line is still one well-formed JSON line.
//
// Example:
//   std::string out;
//   eddy::JsonObjectWriter w(out);
//   w.Field("user", "u42").Field("count", 3).Field("p", 0.25);
//   w.Close();   // {"user":"u42","count":3,"p":0.25}
#ifndef EDDY_ENGINE_JSON_WRITER_H_
#define EDDY_ENGINE_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace eddy {

// Appends `s` as a quoted, escaped JSON string.
void AppendJsonString(std::string& out, absl::string_view s);

// Appends a double in the shortest form that reads back to the same value;
// non-finite values are written as null.
void AppendJsonDouble(std::string& out, double v);

// Writes one JSON object into a string. Not thread-safe.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }

  JsonObjectWriter& Field(absl::string_view key, absl::string_view value) {
    Key(key);
    AppendJsonString(out_, value);
    return *this;
  }
  JsonObjectWriter& Field(absl::string_view key, const char* value) {
    return Field(key, absl::string_view(value));
  }
  JsonObjectWriter& Field(absl::string_view key, const std::string& value) {
    return Field(key, absl::string_view(value));
  }
  JsonObjectWriter& Field(absl::string_view key, bool value) {
    Key(key);
    out_.append(value ? "true" : "false");
    return *this;
  }
  template <typename Int, typename = std::enable_if_t<std::is_integral_v<Int>>>
  JsonObjectWriter& Field(absl::string_view key, Int value) {
    Key(key);
    out_.append(std::to_string(value));
    return *this;
  }
  JsonObjectWriter& Field(absl::string_view key, double value) {
    Key(key);
    AppendJsonDouble(out_, value);
    return *this;
  }
  // Writes `json` verbatim as the value. REQUIRES: `json` is valid JSON.
  JsonObjectWriter& RawField(absl::string_view key, absl::string_view json) {
    Key(key);
    out_.append(json.data(), json.size());
    return *this;
  }
  void Close() { out_.push_back('}'); }

 private:
  void Key(absl::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    AppendJsonString(out_, key);
    out_.push_back(':');
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace eddy

#endif  // EDDY_ENGINE_JSON_WRITER_H_
