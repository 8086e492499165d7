// Reading one JSON object per record, fast (simdjson On Demand underneath).
//
// ParseJsonObject walks the fields of a record that must be a single JSON
// object, calling `on_field` for each in document order. Values the callback
// does not read are still validated (a record is malformed even if only an
// ignored field is). Malformed JSON, a non-object, invalid UTF-8 or trailing
// bytes give an InvalidArgument status with a short, stable reason (suitable
// as a dead-letter reason).
//
// REQUIRES: kRecordPadding (engine/io.h) readable bytes after `record`, as
// sources guarantee for the records they hand to parsers. Use
// ParseJsonObjectCopy for strings without that guarantee.
//
// Thread-safety: safe to call concurrently (one parser per thread).
//
// Example:
//   absl::StatusOr<Listen> ParseListen(absl::string_view record) {
//     Listen l;
//     int seen = 0;
//     absl::Status s = eddy::ParseJsonObject(record, [&](absl::string_view key,
//                                                          eddy::JsonValue& v) -> absl::Status {
//       if (key == "ts") { seen |= 1; return v.GetInt(l.ts); }
//       if (key == "user") { seen |= 2; return v.GetString(l.user); }
//       return absl::OkStatus();
//     });
//     if (!s.ok()) return s;
//     if (seen != 3) return absl::InvalidArgumentError("missing field");
//     return l;
//   }
#ifndef EDDY_CONNECTORS_JSON_READER_H_
#define EDDY_CONNECTORS_JSON_READER_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace eddy {

// One field's value, valid only inside the on_field callback. Each getter may
// be called once per value. Errors name the field: "field 'ts': expected an
// integer".
class JsonValue {
 public:
  absl::Status GetInt(int64_t& out);
  absl::Status GetDouble(double& out);  // integers are accepted too
  absl::Status GetBool(bool& out);
  // Copies the unescaped string into `out` (reusing its capacity).
  absl::Status GetString(std::string& out);
  // Unescaped string valid until the next string is read.
  absl::Status GetStringView(absl::string_view& out);
  bool IsNull();

 private:
  friend absl::Status ParseJsonObject(
      absl::string_view, absl::FunctionRef<absl::Status(absl::string_view, JsonValue&)>);
  JsonValue(void* impl, absl::string_view key) : impl_(impl), key_(key) {}
  absl::Status TypeError(const char* expected) const;

  void* impl_;  // simdjson::ondemand::value
  absl::string_view key_;
  bool consumed_ = false;  // a getter has read the value
};

absl::Status ParseJsonObject(absl::string_view record,
                             absl::FunctionRef<absl::Status(absl::string_view, JsonValue&)> on_field);

// As ParseJsonObject, for records without padding (copies them first).
absl::Status ParseJsonObjectCopy(
    absl::string_view record,
    absl::FunctionRef<absl::Status(absl::string_view, JsonValue&)> on_field);

}  // namespace eddy

#endif  // EDDY_CONNECTORS_JSON_READER_H_
