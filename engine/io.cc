#include "engine/io.h"

#include <cstring>

namespace eddy {
namespace {

void AppendLength(std::string& out, size_t n) {
  const uint32_t v = static_cast<uint32_t>(n);
  const char bytes[4] = {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff),
                         static_cast<char>((v >> 16) & 0xff), static_cast<char>((v >> 24) & 0xff)};
  out.append(bytes, 4);
}

// Reads a length-prefixed field at `pos`; false if `in` is too short.
bool ReadField(absl::string_view in, size_t& pos, absl::string_view& field) {
  if (in.size() - pos < 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data() + pos);
  const uint32_t n = uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
  pos += 4;
  if (in.size() - pos < n) return false;
  field = in.substr(pos, n);
  pos += n;
  return true;
}

}  // namespace

void RecordMeta::AppendHeader(std::string& out, absl::string_view name, absl::string_view value) {
  AppendLength(out, name.size());
  out.append(name.data(), name.size());
  AppendLength(out, value.size());
  out.append(value.data(), value.size());
}

std::optional<absl::string_view> RecordMeta::Header(absl::string_view name) const {
  const absl::string_view in = headers();
  size_t pos = 0;
  absl::string_view n, v;
  while (ReadField(in, pos, n) && ReadField(in, pos, v)) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::vector<std::pair<absl::string_view, absl::string_view>> RecordMeta::Headers() const {
  std::vector<std::pair<absl::string_view, absl::string_view>> out;
  const absl::string_view in = headers();
  size_t pos = 0;
  absl::string_view n, v;
  while (ReadField(in, pos, n) && ReadField(in, pos, v)) out.emplace_back(n, v);
  return out;
}

}  // namespace eddy
