#include "connectors/json_reader.h"

#include <simdjson.h>

#include "absl/strings/str_cat.h"
#include "engine/io.h"

namespace eddy {
namespace {

static_assert(kRecordPadding >= simdjson::SIMDJSON_PADDING,
              "sources must pad records for simdjson");

namespace od = simdjson::ondemand;

absl::Status Malformed(simdjson::error_code err) {
  switch (err) {
    case simdjson::UTF8_ERROR: return absl::InvalidArgumentError("invalid UTF-8");
    case simdjson::INCORRECT_TYPE: return absl::InvalidArgumentError("not a JSON object");
    case simdjson::CAPACITY: return absl::InvalidArgumentError("record too large");
    default: return absl::InvalidArgumentError("malformed JSON");
  }
}

od::value& Value(void* impl) { return *static_cast<od::value*>(impl); }

constexpr int kMaxDepth = 64;

// Reads a value the callback skipped, so that malformed JSON anywhere in the
// record is caught (On Demand skips unread values without checking them).
simdjson::error_code ValidateValue(od::value value, int depth) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::json_type type;
  if (auto err = value.type().get(type)) return err;
  switch (type) {
    case od::json_type::object: {
      od::object obj;
      if (auto err = value.get_object().get(obj)) return err;
      for (auto field : obj) {
        od::field f;
        if (auto err = std::move(field).get(f)) return err;
        std::string_view key;
        if (auto err = f.unescaped_key().get(key)) return err;
        if (auto err = ValidateValue(f.value(), depth + 1)) return err;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array arr;
      if (auto err = value.get_array().get(arr)) return err;
      for (auto element : arr) {
        od::value v;
        if (auto err = std::move(element).get(v)) return err;
        if (auto err = ValidateValue(v, depth + 1)) return err;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      od::number n;
      return value.get_number().get(n);
    }
    case od::json_type::string: {
      std::string_view sv;
      return value.get_string().get(sv);
    }
    case od::json_type::boolean: {
      bool b;
      return value.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = value.is_null().get(is_null)) return err;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::TAPE_ERROR;
}

}  // namespace

absl::Status JsonValue::TypeError(const char* expected) const {
  return absl::InvalidArgumentError(absl::StrCat("field '", key_, "': expected ", expected));
}

absl::Status JsonValue::GetInt(int64_t& out) {
  consumed_ = true;
  if (Value(impl_).get_int64().get(out) != simdjson::SUCCESS) return TypeError("an integer");
  return absl::OkStatus();
}

absl::Status JsonValue::GetDouble(double& out) {
  consumed_ = true;
  if (Value(impl_).get_double().get(out) != simdjson::SUCCESS) return TypeError("a number");
  return absl::OkStatus();
}

absl::Status JsonValue::GetBool(bool& out) {
  consumed_ = true;
  if (Value(impl_).get_bool().get(out) != simdjson::SUCCESS) return TypeError("a boolean");
  return absl::OkStatus();
}

absl::Status JsonValue::GetStringView(absl::string_view& out) {
  consumed_ = true;
  std::string_view sv;
  if (Value(impl_).get_string().get(sv) != simdjson::SUCCESS) return TypeError("a string");
  out = absl::string_view(sv.data(), sv.size());
  return absl::OkStatus();
}

absl::Status JsonValue::GetString(std::string& out) {
  absl::string_view sv;
  absl::Status s = GetStringView(sv);
  if (s.ok()) out.assign(sv.data(), sv.size());
  return s;
}

bool JsonValue::IsNull() {
  bool is_null = false;
  if (Value(impl_).is_null().get(is_null) != simdjson::SUCCESS || !is_null) return false;
  consumed_ = true;
  return true;
}

absl::Status ParseJsonObject(
    absl::string_view record,
    absl::FunctionRef<absl::Status(absl::string_view, JsonValue&)> on_field) {
  thread_local od::parser parser;
  od::document doc;
  auto err = parser
                 .iterate(simdjson::padded_string_view(record.data(), record.size(),
                                                       record.size() + kRecordPadding))
                 .get(doc);
  if (err) return Malformed(err);
  od::object obj;
  if ((err = doc.get_object().get(obj))) return Malformed(err);
  for (auto field_result : obj) {
    od::field field;
    if ((err = std::move(field_result).get(field))) return Malformed(err);
    std::string_view key;
    if ((err = field.unescaped_key().get(key))) return Malformed(err);
    od::value value = field.value();
    JsonValue v(&value, absl::string_view(key.data(), key.size()));
    absl::Status s = on_field(absl::string_view(key.data(), key.size()), v);
    if (!s.ok()) return s;
    if (!v.consumed_) {
      if ((err = ValidateValue(value, 1))) return Malformed(err);
    }
  }
  // On Demand stops at the end of the first value: any structural token
  // after it is trailing content (at the end, current_location() fails).
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    return absl::InvalidArgumentError("trailing bytes after the JSON object");
  }
  return absl::OkStatus();
}

absl::Status ParseJsonObjectCopy(
    absl::string_view record,
    absl::FunctionRef<absl::Status(absl::string_view, JsonValue&)> on_field) {
  std::string padded;
  padded.reserve(record.size() + kRecordPadding);
  padded.append(record.data(), record.size());
  padded.append(kRecordPadding, '\0');
  return ParseJsonObject(absl::string_view(padded.data(), record.size()), on_field);
}

}  // namespace eddy
