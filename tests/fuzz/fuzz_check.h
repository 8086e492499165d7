// What a fuzz target checks besides "no crash": a property that must hold
// for every input, reported by aborting (libFuzzer saves the input).
#ifndef EDDY_TESTS_FUZZ_FUZZ_CHECK_H_
#define EDDY_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define EDDY_FUZZ_CHECK(cond)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

#endif  // EDDY_TESTS_FUZZ_FUZZ_CHECK_H_
