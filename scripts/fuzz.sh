#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs each one for its share of SECONDS
# (default 60, for all of them together) from a seed corpus. Exits non-zero
# when a target crashes, leaks, trips a sanitizer or breaks its property;
# the input that did it is saved as build-fuzz/crashes/TARGET-*.
#
#   scripts/fuzz.sh [SECONDS]
#
# Seeds: records written by the Release build's `eddy gen` (build/eddy, if
# built) and a model file from `eddy replay learn`, plus a few lines per
# example format written here, and the entries of a real state directory
# (state_directory_fuzz writes them itself). Corpora grow in
# build-fuzz/corpus/ and are kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-60}
bash scripts/setup.sh --fuzz

cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DEDDY_FUZZ=ON -DEDDY_BUILD_TESTS=OFF \
  -DEDDY_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target eddy_fuzzers

targets=(ctr_event_fuzz listen_event_fuzz vw_fuzz criteo_fuzz csv_fuzz model_file_fuzz state_codec_fuzz
  state_directory_fuzz)
corpus=build-fuzz/corpus
mkdir -p build-fuzz/crashes
for t in "${targets[@]}"; do mkdir -p "$corpus/$t"; done

# One seed file per line of $2 into corpus $1.
seed_lines() {
  local n=0
  while IFS= read -r line; do
    printf '%s' "$line" > "$1/seed-$n"
    n=$((n + 1))
  done < "$2"
}
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
if [ -x build/eddy ]; then
  build/eddy gen ctr --events 300 --seed 1 --malformed-rate 0.05 --out "$seeds/ctr.jsonl" >/dev/null
  seed_lines "$corpus/ctr_event_fuzz" "$seeds/ctr.jsonl"
  build/eddy gen listens --events 100 --seed 1 --malformed-rate 0.05 --out "$seeds/listens.jsonl" >/dev/null
  seed_lines "$corpus/listen_event_fuzz" "$seeds/listens.jsonl"
  printf '1 |u a b:2 |i x\n-1 |u c |i y z:0.5\n0 |u a\n' > "$seeds/learn.vw"
  for m in ftrl fm; do
    build/eddy replay learn --input "$seeds/learn.vw" --format vw --output-dir "$seeds/out-$m" \
      --model $m --bits 4 --model-out "$corpus/model_file_fuzz/seed-$m" >/dev/null
  done
fi
printf '%s\n' "1 1.0 'id1|user a b:2.5 c|ad x y" "-1 |f a:1e3 |g z" "0 2 |ns" "1 'tag |a b |c d:-1" > "$seeds/vw"
seed_lines "$corpus/vw_fuzz" "$seeds/vw"
printf '%s\n' "1	1	5		3																											" \
  "0	2	0	44	1	7	3	0	8	1	1		2	68fd1e64	80e26c9b	fb936136	7b4723c4	25c83c98	7e0ccccf	de7995b8	1f89b1b5	a73ee510	a8cd5504	b2cb9c98	37c9c164	2824a5f6	1adce6ef	8ba8b39a	891b62e7	e5ba7672	f54016b9	21ddcdc9	b1252a9d	07b5194c		3a171ecb	c5c50484	e8b83407	9727dd16" \
  > "$seeds/criteo"
seed_lines "$corpus/criteo_fuzz" "$seeds/criteo"
printf '%s\n' "label,id,age,city,device" "1,u1,34,paris,ios" "0,u2,,\"new, york\",android" "yes,u3,x,berlin," > "$seeds/csv"
seed_lines "$corpus/csv_fuzz" "$seeds/csv"
printf '\x00' > "$corpus/state_codec_fuzz/seed-empty"
# Models (FTRL, FM) and a lookback stored in parts, from a real state directory.
EDDY_FUZZ_WRITE_SEED="$corpus/state_codec_fuzz" build-fuzz/tests/fuzz/state_codec_fuzz
# A real state directory's entries, from listen_counts stopped half way.
EDDY_FUZZ_WRITE_SEED="$corpus/state_directory_fuzz/seed-listen-counts" \
  build-fuzz/tests/fuzz/state_directory_fuzz

per=$(( total / ${#targets[@]} ))
[ "$per" -ge 1 ] || per=1
failed=()
for t in "${targets[@]}"; do
  echo "== $t: ${per} s =="
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "build-fuzz/tests/fuzz/$t" -max_total_time="$per" -max_len=4096 -rss_limit_mb=2048 \
      -timeout=10 -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t-" "$corpus/$t" \
      2> "build-fuzz/$t.log"; then
    tail -n 40 "build-fuzz/$t.log" >&2
    failed+=("$t")
  else
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "build-fuzz/$t.log" | tr '\n' ' '
    echo
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]} (inputs in build-fuzz/crashes/)" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${per} s each, no failures"
