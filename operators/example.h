// A labelled example for the online models: a hashed sparse feature vector
// (operators/features.h), a 0/1 label and an importance weight.
//
// Indices follow one rule whatever the input format: a feature `name` in
// namespace `ns` has index XXH3_64(name, seed = XXH3_64(ns)) mod 2^bits, and
// a numeric feature carries its value (a categorical one, 1). So the same
// feature from a VW file, a CSV column or a job's FeatureBuilder lands on
// the same weight.
#ifndef EDDY_OPERATORS_EXAMPLE_H_
#define EDDY_OPERATORS_EXAMPLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "operators/features.h"
#include "state/codec.h"

namespace eddy {

// One field's value in an example, for data drift per field (filled only
// when asked: ExampleFormatOptions::fields). A field is a Criteo or CSV
// column, or a VW namespace (by its first character, as VW names them).
struct FieldValue {
  uint32_t field = 0;  // the parser's number for it (ExampleParser::FieldName)
  bool numeric = false;
  // numeric: the number; categorical: the value's hashed feature index (so
  // equal values are equal here, and the text need not be kept).
  double value = 0;
};

struct Example {
  float label = 0;   // 1: positive (a click), 0: negative
  float weight = 1;  // importance: the example counts this many times
  SparseVector x;    // the model adds its own bias term
  std::string tag;   // an id (VW's 'tag, a CSV id column); may be empty
  bool header = false;  // a CSV header line read as a record: not an example
  std::vector<FieldValue> fields;  // see FieldValue; empty unless asked for
};

}  // namespace eddy

// Examples cross processes (a KeyBy in `eddy run`) and sit in state.
EDDY_CODEC(eddy::FieldValue, field, numeric, value);
EDDY_CODEC(eddy::Example, label, weight, x, tag, header, fields);

#endif  // EDDY_OPERATORS_EXAMPLE_H_
