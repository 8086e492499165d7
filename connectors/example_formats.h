// Decoding training examples from the text formats public click and
// classification data come in: Vowpal Wabbit text, Criteo TSV and CSV.
//
// An ExampleParser turns one line into an Example (operators/example.h): a
// 0/1 label, an importance weight, an optional tag and a hashed sparse
// vector. Indices follow the rule every Eddy feature follows: feature `name`
// in namespace `ns` has index XXH3_64(name, seed = XXH3_64(ns)) & (2^bits - 1),
// so that the same feature read here or built by a job's FeatureBuilder
// lands on the same weight.
//
// Formats (options.format):
//
//   "vw"      label [importance [base]] ['tag]|ns[:nsweight] feat[:value] ... |ns2 ...
//             Label -1 or 0 -> 0, any number > 0 -> 1. Importance defaults
//             to 1 and must be >= 0; a base (initial prediction) is accepted
//             and ignored. The tag is the token starting with ', or an
//             unquoted last token written against the first '|' ("1 t|a x").
//             A namespace is the text right after '|' up to the first space
//             or ':'; "| a" is the default namespace, named " " as in VW.
//             A feature's value (default 1) is multiplied by its namespace's
//             weight. Features are separated by spaces or tabs; a value of 0
//             is kept (VW drops it; a linear model does not care).
//   "criteo"  40 TAB-separated columns: label (0/1), I1..I13 integers, C1..C26
//             categorical strings; empty columns are missing and left out.
//             Integer column Ik gives feature "b<floor(log2(1 + v))>" (or
//             "neg" for v < 0) in namespace "I<k>"; categorical column Ck
//             gives the string itself in namespace "C<k>". All values are 1.
//   "csv"     delimiter-separated columns named by a header line. The label
//             column is required; numeric columns (options.numeric_columns,
//             {"*"} for all) give feature <column name> in namespace "" with
//             the number as value; other columns give feature <cell text> in
//             namespace <column name> with value 1. Empty cells are left out.
//             The label and id columns are not features. No quoting: a
//             delimiter always separates fields, and quotes are part of the
//             text (Criteo/Avazu-style data has none).
//
// CSV header: the first line a parser sees is the header (so the first line
// of a file must reach it first: parse it before going parallel), and any
// later line equal to it is a header again (files concatenated). A header
// line yields an Example with `header = true` and nothing else. A header
// that lacks the label, id or a named numeric column is an error on that
// line and on every data line after it.
//
// Errors: a malformed line gives InvalidArgument with a one-line message that
// says what is wrong and where ("criteo: column 5 (I4) is not an integer:
// 'x1'"), suitable as a dead-letter reason. Any bytes are safe to parse.
// Numbers must be finite ("nan" and "inf" are errors).
//
// Thread-safety: Parse may be called concurrently on one parser.
//
// Example:
//   ExampleFormatOptions options;
//   options.format = "csv";
//   options.label_column = "click";
//   options.id_column = "id";
//   absl::StatusOr<std::unique_ptr<ExampleParser>> parser = ExampleParser::Make(options);
//   if (!parser.ok()) return parser.status();
//   Example ex;
//   for (absl::string_view line : lines) {
//     absl::Status s = (*parser)->Parse(line, &ex);
//     if (!s.ok()) { dead_letters.Add(line, s.message()); continue; }
//     if (ex.header) continue;
//     model.Learn(ex);
//   }
#ifndef EDDY_CONNECTORS_EXAMPLE_FORMATS_H_
#define EDDY_CONNECTORS_EXAMPLE_FORMATS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "operators/example.h"

namespace eddy {

struct ExampleFormatOptions {
  std::string format;  // "vw", "criteo" or "csv"
  int bits = 18;       // index space 2^bits, 1..31
  // csv only:
  std::string label_column;                  // required
  std::string positive;                      // label text meaning positive; empty: a number > 0
  std::vector<std::string> numeric_columns;  // read as numbers; {"*"}: all; others categorical
  std::string id_column;                     // optional: goes to Example::tag
  char delimiter = ',';
  // The header line, when known up front (the columns, delimiter-separated).
  // Then no line has to come first: parallel parsing, resuming mid-file and
  // files without a header line all work; a line equal to it is a header.
  std::string header;
  // Also fill Example::fields, one value per column (per feature for a VW
  // namespace), for data drift per field. Criteo: I1..I13 numeric (the
  // integer itself), C1..C26 categorical. CSV: numeric columns numeric,
  // others categorical (label and id columns are not fields). VW: every
  // namespace categorical, named by its first character.
  bool fields = false;
};

class ExampleParser {
 public:
  // InvalidArgument with a one-line message for bad options: an unknown
  // format, bits out of 1..31, csv without a label column or with '\r' or
  // '\n' as delimiter.
  static absl::StatusOr<std::unique_ptr<ExampleParser>> Make(ExampleFormatOptions options);

  ExampleParser(const ExampleParser&) = delete;
  ExampleParser& operator=(const ExampleParser&) = delete;
  ~ExampleParser();

  // Decodes one line (without its newline; a trailing '\r' is ignored) into
  // *out, clearing it first (its vectors keep their capacity: reuse one
  // Example per thread). On error *out holds no meaningful example.
  absl::Status Parse(absl::string_view line, Example* out) const;

  // The name of field number `field` of Example::fields ("I3", a CSV
  // column's name, a VW namespace's first character). CSV: once the header
  // is known; "" for a number no example carries.
  std::string FieldName(uint32_t field) const;

 private:
  struct CsvHeader;
  enum class Format { kVw, kCriteo, kCsv };

  explicit ExampleParser(ExampleFormatOptions options, Format format);

  absl::Status ParseVw(absl::string_view line, Example* out) const;
  absl::Status ParseCriteo(absl::string_view line, Example* out) const;
  absl::Status ParseCsv(absl::string_view line, Example* out) const;
  // Takes `line` as the header if none is known yet; returns the header.
  const CsvHeader* SetCsvHeader(absl::string_view line) const;

  const ExampleFormatOptions options_;
  const Format format_;
  const uint32_t mask_;
  // vw: the seed of the default namespace " ".
  uint64_t vw_default_seed_ = 0;
  // criteo: indices of the integer columns' features, [k][bucket] with
  // buckets b0..b63 then "neg"; seeds of the categorical namespaces.
  static constexpr int kCriteoBuckets = 65;
  std::vector<uint32_t> criteo_int_index_;
  std::vector<uint64_t> criteo_cat_seed_;
  // csv: set once, by the first line (then immutable, read without locking).
  mutable absl::Mutex header_mutex_;
  mutable std::unique_ptr<const CsvHeader> header_ ABSL_GUARDED_BY(header_mutex_);
  mutable std::atomic<const CsvHeader*> header_ptr_{nullptr};
};

}  // namespace eddy

#endif  // EDDY_CONNECTORS_EXAMPLE_FORMATS_H_
