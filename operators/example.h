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

#include <string>

#include "operators/features.h"

namespace eddy {

struct Example {
  float label = 0;   // 1: positive (a click), 0: negative
  float weight = 1;  // importance: the example counts this many times
  SparseVector x;    // the model adds its own bias term
  std::string tag;   // an id (VW's 'tag, a CSV id column); may be empty
  bool header = false;  // a CSV header line read as a record: not an example
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_EXAMPLE_H_
