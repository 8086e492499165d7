#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Eddy twice (Release, and with
# AddressSanitizer + UndefinedBehaviorSanitizer) and runs the whole test suite
# in both builds, then runs every libFuzzer target briefly (a minute in all).
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --fuzz
jobs=$(nproc)

echo "== Release build =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build =="
# -O1 with line tables only: half the build time of -O2 -g on 2 cores (233 s
# against 441 s), the same test time, and ASan reports still name lines.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DEDDY_SANITIZE=ON \
  -DEDDY_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"$jobs")

echo "== libFuzzer targets (clang, ASan + UBSan), a minute in all =="
bash scripts/fuzz.sh 60
