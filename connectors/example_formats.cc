#include "connectors/example_formats.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "operators/features.h"  // xxHash, inlined

namespace eddy {
namespace {

// How much of a bad value an error message shows.
constexpr size_t kMaxQuoted = 40;

// 'text' for an error message: cut short and escaped, as the bytes may be
// anything (a message must stay one readable line).
std::string Quote(absl::string_view text) {
  const bool cut = text.size() > kMaxQuoted;
  return absl::StrCat("'", absl::CHexEscape(text.substr(0, kMaxQuoted)), cut ? "...'" : "'");
}

uint64_t NamespaceSeed(absl::string_view ns) { return XXH3_64bits(ns.data(), ns.size()); }

uint32_t Index(absl::string_view name, uint64_t seed, uint32_t mask) {
  return static_cast<uint32_t>(XXH3_64bits_withSeed(name.data(), name.size(), seed)) & mask;
}

void Push(SparseVector& x, uint32_t index, float value) {
  x.index.push_back(index);
  x.value.push_back(value);
}

// A whole token as a finite float ("+1" allowed, as VW labels have it).
bool ParseFloat(absl::string_view text, float* out) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') {
    text.remove_prefix(1);
  }
  const char* end = text.data() + text.size();
  float v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

bool ParseInt(absl::string_view text, int64_t* out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

void Reset(Example* out) {
  out->label = 0;
  out->weight = 1;
  out->x.clear();
  out->tag.clear();
  out->header = false;
  out->fields.clear();
}

void AddField(Example* out, uint32_t field, bool numeric, double value) {
  out->fields.push_back(FieldValue{field, numeric, value});
}

constexpr int kCriteoIntColumns = 13;
constexpr int kCriteoCatColumns = 26;
constexpr int kCriteoColumns = 1 + kCriteoIntColumns + kCriteoCatColumns;

}  // namespace

struct ExampleParser::CsvHeader {
  enum class Kind { kLabel, kId, kNumeric, kCategorical };
  struct Column {
    std::string name;
    Kind kind = Kind::kCategorical;
    uint64_t seed = 0;   // categorical: the namespace (column name) seed
    uint32_t index = 0;  // numeric: the feature's index
  };
  std::string text;  // the header line, to recognise it when repeated
  std::vector<Column> columns;
  absl::Status status;  // not OK: the header lacks a column the options name
};

absl::StatusOr<std::unique_ptr<ExampleParser>> ExampleParser::Make(ExampleFormatOptions options) {
  Format format;
  if (options.format == "vw") {
    format = Format::kVw;
  } else if (options.format == "criteo") {
    format = Format::kCriteo;
  } else if (options.format == "csv") {
    format = Format::kCsv;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown example format ", Quote(options.format), " (vw, criteo or csv)"));
  }
  if (options.bits < 1 || options.bits > 31) {
    return absl::InvalidArgumentError(
        absl::StrCat("bits must be in 1..31, got ", options.bits));
  }
  if (format == Format::kCsv) {
    if (options.label_column.empty()) {
      return absl::InvalidArgumentError("csv: a label column is required");
    }
    if (options.delimiter == '\n' || options.delimiter == '\r') {
      return absl::InvalidArgumentError("csv: the delimiter cannot be a line break");
    }
  }
  std::unique_ptr<ExampleParser> parser(new ExampleParser(std::move(options), format));
  if (format == Format::kCsv && !parser->options_.header.empty()) {
    const CsvHeader* header = parser->SetCsvHeader(parser->options_.header);
    if (!header->status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("csv header: ", header->status.message()));
    }
  }
  return parser;
}

ExampleParser::ExampleParser(ExampleFormatOptions options, Format format)
    : options_(std::move(options)),
      format_(format),
      mask_(static_cast<uint32_t>((uint64_t{1} << options_.bits) - 1)) {
  vw_default_seed_ = NamespaceSeed(" ");
  if (format_ == Format::kCriteo) {
    criteo_int_index_.resize(kCriteoIntColumns * kCriteoBuckets);
    for (int k = 0; k < kCriteoIntColumns; ++k) {
      const uint64_t seed = NamespaceSeed(absl::StrCat("I", k + 1));
      for (int b = 0; b + 1 < kCriteoBuckets; ++b) {
        criteo_int_index_[k * kCriteoBuckets + b] = Index(absl::StrCat("b", b), seed, mask_);
      }
      criteo_int_index_[k * kCriteoBuckets + kCriteoBuckets - 1] = Index("neg", seed, mask_);
    }
    for (int k = 0; k < kCriteoCatColumns; ++k) {
      criteo_cat_seed_.push_back(NamespaceSeed(absl::StrCat("C", k + 1)));
    }
  }
}

ExampleParser::~ExampleParser() = default;

absl::Status ExampleParser::Parse(absl::string_view line, Example* out) const {
  Reset(out);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  switch (format_) {
    case Format::kVw: return ParseVw(line, out);
    case Format::kCriteo: return ParseCriteo(line, out);
    case Format::kCsv: return ParseCsv(line, out);
  }
  return absl::InternalError("unknown format");
}

// ---- vw ----------------------------------------------------------------------

absl::Status ExampleParser::ParseVw(absl::string_view line, Example* out) const {
  const size_t bar = line.find('|');
  if (bar == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "vw: no '|' (expected 'label [importance] ['tag]|namespace feature ...')");
  }

  // The label section: label [importance [base]] ['tag], in any spacing.
  const absl::string_view head = line.substr(0, bar);
  int numbers = 0;  // label, importance, base
  bool have_tag = false;
  size_t i = 0;
  while (i < head.size()) {
    if (IsBlank(head[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < head.size() && !IsBlank(head[j])) ++j;
    const absl::string_view token = head.substr(i, j - i);
    const bool touches_bar = j == head.size();
    i = j;
    if (token[0] == '\'') {
      if (have_tag) return absl::InvalidArgumentError("vw: two tags before the first '|'");
      out->tag.assign(token.data() + 1, token.size() - 1);
      have_tag = true;
      continue;
    }
    float v = 0;
    const bool is_number = ParseFloat(token, &v);
    if (numbers == 0) {
      if (!is_number) {
        return absl::InvalidArgumentError(
            absl::StrCat("vw: the label is not a number: ", Quote(token)));
      }
      out->label = v > 0 ? 1.0f : 0.0f;
      ++numbers;
    } else if (numbers < 3 && is_number) {
      if (numbers == 1) {
        if (v < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat("vw: negative importance ", Quote(token)));
        }
        out->weight = v;
      }  // else the base (initial prediction): not used
      ++numbers;
    } else if (touches_bar && !have_tag) {
      // VW's unquoted tag: the last token, written against the '|'.
      out->tag.assign(token.data(), token.size());
      have_tag = true;
    } else if (numbers < 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("vw: the ", numbers == 1 ? "importance" : "base",
                       " is not a number: ", Quote(token)));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("vw: unexpected ", Quote(token), " before the first '|'"));
    }
  }
  if (numbers == 0) return absl::InvalidArgumentError("vw: missing label");

  // Namespaces: |name[:weight] feature[:value] ...
  SparseVector& x = out->x;
  const char* p = line.data() + bar;
  const char* const end = line.data() + line.size();
  while (p < end) {
    // *p == '|'
    ++p;
    const char* ns_begin = p;
    while (p < end && !IsBlank(*p) && *p != '|') ++p;
    absl::string_view ns(ns_begin, static_cast<size_t>(p - ns_begin));
    float ns_weight = 1;
    if (const size_t colon = ns.find(':'); colon != absl::string_view::npos) {
      const absl::string_view w = ns.substr(colon + 1);
      ns = ns.substr(0, colon);
      if (!ParseFloat(w, &ns_weight)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "vw: namespace ", Quote(ns), ": weight is not a number: ", Quote(w)));
      }
    }
    const uint64_t seed = ns.empty() ? vw_default_seed_ : NamespaceSeed(ns);
    while (p < end && *p != '|') {
      if (IsBlank(*p)) {
        ++p;
        continue;
      }
      const char* f_begin = p;
      const char* colon = nullptr;
      while (p < end && !IsBlank(*p) && *p != '|') {
        if (*p == ':' && colon == nullptr) colon = p;
        ++p;
      }
      float value = 1;
      absl::string_view name;
      if (colon == nullptr) {
        name = absl::string_view(f_begin, static_cast<size_t>(p - f_begin));
      } else {
        name = absl::string_view(f_begin, static_cast<size_t>(colon - f_begin));
        const absl::string_view v(colon + 1, static_cast<size_t>(p - colon - 1));
        if (!ParseFloat(v, &value)) {
          return absl::InvalidArgumentError(
              absl::StrCat("vw: feature ", Quote(name), " in namespace ",
                           Quote(ns.empty() ? " " : ns), ": value is not a number: ", Quote(v)));
        }
      }
      value *= ns_weight;
      if (!std::isfinite(value)) {
        return absl::InvalidArgumentError(
            absl::StrCat("vw: feature ", Quote(name), " in namespace ", Quote(ns.empty() ? " " : ns),
                         ": value times the namespace weight is not finite"));
      }
      const uint32_t index = Index(name, seed, mask_);
      Push(x, index, value);
      if (options_.fields) {
        AddField(out, ns.empty() ? uint32_t{' '} : static_cast<uint8_t>(ns[0]), false, index);
      }
    }
  }
  return absl::OkStatus();
}

// ---- criteo ------------------------------------------------------------------

absl::Status ExampleParser::ParseCriteo(absl::string_view line, Example* out) const {
  const auto tabs = std::count(line.begin(), line.end(), '\t');
  if (tabs != kCriteoColumns - 1) {
    return absl::InvalidArgumentError(absl::StrCat("criteo: expected ", kCriteoColumns,
                                                   " TAB-separated columns, got ", tabs + 1));
  }
  const char* p = line.data();
  const char* const end = p + line.size();
  // The next column; the count above guarantees one is there.
  auto next = [&p, end]() {
    const char* tab = static_cast<const char*>(std::memchr(p, '\t', static_cast<size_t>(end - p)));
    const char* stop = tab == nullptr ? end : tab;
    absl::string_view column(p, static_cast<size_t>(stop - p));
    p = tab == nullptr ? end : tab + 1;
    return column;
  };

  const absl::string_view label = next();
  if (label == "1") {
    out->label = 1;
  } else if (label != "0") {
    return absl::InvalidArgumentError(
        absl::StrCat("criteo: column 1 (label) is not 0 or 1: ", Quote(label)));
  }
  SparseVector& x = out->x;
  for (int k = 0; k < kCriteoIntColumns; ++k) {
    const absl::string_view column = next();
    if (column.empty()) continue;
    int64_t v = 0;
    if (!ParseInt(column, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("criteo: column ", k + 2, " (I", k + 1,
                                                     ") is not an integer: ", Quote(column)));
    }
    int bucket = kCriteoBuckets - 1;  // "neg"
    if (v >= 0) {
      // floor(log2(1 + v)), exactly; 1 + v <= 2^63 fits.
      bucket = 63 - __builtin_clzll(static_cast<uint64_t>(v) + 1);
    }
    Push(x, criteo_int_index_[k * kCriteoBuckets + bucket], 1);
    if (options_.fields) AddField(out, static_cast<uint32_t>(k), true, static_cast<double>(v));
  }
  for (int k = 0; k < kCriteoCatColumns; ++k) {
    const absl::string_view column = next();
    if (column.empty()) continue;
    const uint32_t index = Index(column, criteo_cat_seed_[k], mask_);
    Push(x, index, 1);
    if (options_.fields) AddField(out, static_cast<uint32_t>(kCriteoIntColumns + k), false, index);
  }
  return absl::OkStatus();
}

// ---- csv ---------------------------------------------------------------------

const ExampleParser::CsvHeader* ExampleParser::SetCsvHeader(absl::string_view line) const {
  absl::MutexLock lock(&header_mutex_);
  if (header_ != nullptr) return header_.get();  // another thread was first

  auto header = std::make_unique<CsvHeader>();
  header->text.assign(line.data(), line.size());
  bool all_numeric = false;
  for (const std::string& c : options_.numeric_columns) all_numeric |= c == "*";
  const uint64_t numeric_seed = NamespaceSeed("");
  bool have_label = false;
  bool have_id = options_.id_column.empty();
  size_t start = 0;
  while (true) {
    size_t stop = line.find(options_.delimiter, start);
    if (stop == absl::string_view::npos) stop = line.size();
    CsvHeader::Column& column = header->columns.emplace_back();
    column.name.assign(line.data() + start, stop - start);
    if (!have_label && column.name == options_.label_column) {
      column.kind = CsvHeader::Kind::kLabel;
      have_label = true;
    } else if (!have_id && column.name == options_.id_column) {
      column.kind = CsvHeader::Kind::kId;
      have_id = true;
    } else if (all_numeric || std::find(options_.numeric_columns.begin(),
                                        options_.numeric_columns.end(),
                                        column.name) != options_.numeric_columns.end()) {
      column.kind = CsvHeader::Kind::kNumeric;
      column.index = Index(column.name, numeric_seed, mask_);
    } else {
      column.kind = CsvHeader::Kind::kCategorical;
      column.seed = NamespaceSeed(column.name);
    }
    if (stop == line.size()) break;
    start = stop + 1;
  }

  auto missing = [&](absl::string_view what, absl::string_view name) {
    return absl::InvalidArgumentError(absl::StrCat("csv: ", what, " column ", Quote(name),
                                                   " is not in the header ", Quote(line)));
  };
  if (!have_label) {
    header->status = missing("label", options_.label_column);
  } else if (!have_id) {
    header->status = missing("id", options_.id_column);
  } else if (!all_numeric) {
    for (const std::string& name : options_.numeric_columns) {
      const bool found = std::any_of(header->columns.begin(), header->columns.end(),
                                     [&](const CsvHeader::Column& c) { return c.name == name; });
      if (!found) {
        header->status = missing("numeric", name);
        break;
      }
    }
  }
  header_ = std::move(header);
  header_ptr_.store(header_.get(), std::memory_order_release);
  return header_.get();
}

absl::Status ExampleParser::ParseCsv(absl::string_view line, Example* out) const {
  const CsvHeader* header = header_ptr_.load(std::memory_order_acquire);
  if (header == nullptr) header = SetCsvHeader(line);
  if (line == header->text) {
    out->header = true;
    return header->status;
  }
  if (!header->status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("csv: no usable header (", header->status.message(), ")"));
  }

  const char delimiter = options_.delimiter;
  const size_t fields = static_cast<size_t>(std::count(line.begin(), line.end(), delimiter)) + 1;
  if (fields != header->columns.size()) {
    return absl::InvalidArgumentError(absl::StrCat("csv: ", fields, " fields, the header has ",
                                                   header->columns.size()));
  }
  SparseVector& x = out->x;
  const char* p = line.data();
  const char* const end = p + line.size();
  for (size_t c = 0; c < fields; ++c) {
    const char* stop =
        static_cast<const char*>(std::memchr(p, delimiter, static_cast<size_t>(end - p)));
    if (stop == nullptr) stop = end;
    const absl::string_view cell(p, static_cast<size_t>(stop - p));
    p = stop == end ? end : stop + 1;
    const CsvHeader::Column& column = header->columns[c];
    switch (column.kind) {
      case CsvHeader::Kind::kLabel:
        if (!options_.positive.empty()) {
          out->label = cell == options_.positive ? 1.0f : 0.0f;
        } else {
          float v = 0;
          if (!ParseFloat(cell, &v)) {
            return absl::InvalidArgumentError(
                absl::StrCat("csv: column ", c + 1, " (", absl::CHexEscape(column.name),
                             ", the label) is not a number: ", Quote(cell)));
          }
          out->label = v > 0 ? 1.0f : 0.0f;
        }
        break;
      case CsvHeader::Kind::kId:
        out->tag.assign(cell.data(), cell.size());
        break;
      case CsvHeader::Kind::kNumeric: {
        if (cell.empty()) break;
        float v = 0;
        if (!ParseFloat(cell, &v)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "csv: column ", c + 1, " (", absl::CHexEscape(column.name), ") is not a number: ",
              Quote(cell)));
        }
        Push(x, column.index, v);
        if (options_.fields) AddField(out, static_cast<uint32_t>(c), true, v);
        break;
      }
      case CsvHeader::Kind::kCategorical: {
        if (cell.empty()) break;
        const uint32_t index = Index(cell, column.seed, mask_);
        Push(x, index, 1);
        if (options_.fields) AddField(out, static_cast<uint32_t>(c), false, index);
        break;
      }
    }
  }
  return absl::OkStatus();
}

std::string ExampleParser::FieldName(uint32_t field) const {
  switch (format_) {
    case Format::kVw:
      return field < 256 ? std::string(1, static_cast<char>(field)) : std::string();
    case Format::kCriteo:
      if (field < static_cast<uint32_t>(kCriteoIntColumns)) return absl::StrCat("I", field + 1);
      if (field < static_cast<uint32_t>(kCriteoIntColumns + kCriteoCatColumns)) {
        return absl::StrCat("C", field - kCriteoIntColumns + 1);
      }
      return std::string();
    case Format::kCsv: {
      const CsvHeader* header = header_ptr_.load(std::memory_order_acquire);
      if (header == nullptr || field >= header->columns.size()) return std::string();
      return header->columns[field].name;
    }
  }
  return std::string();
}

}  // namespace eddy
