#!/usr/bin/env bash
# Installs Eddy from the build tree, builds examples/external_job against it
# with find_package(Eddy), and runs the user's job through the same `eddy`
# front end.
# Usage: external_job_test.sh SOURCE_DIR BUILD_DIR [EXTRA_CXX_FLAGS]
set -euo pipefail
src=$1
build=$2
extra_flags=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/examples/external_job" -B "$work/ext" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_FLAGS="$extra_flags" >/dev/null
cmake --build "$work/ext" -j2 >/dev/null

"$work/ext/my_eddy" jobs | grep -q "artist_plays"
cat > "$work/plays.jsonl" <<'JSON'
{"ts":1735689600000,"artist":"a1","ms_played":60000}
{"ts":1735689700000,"artist":"a1","ms_played":10000}
{"ts":1735689800000,"artist":"a2","ms_played":90000}
not json
{"ts":1735776000000,"artist":"a1","ms_played":45000}
JSON
"$work/ext/my_eddy" replay artist_plays --input "$work/plays.jsonl" --output-dir "$work/out" >/dev/null
expected='{"artist":"a1","day":1735689600000,"plays":1}
{"artist":"a1","day":1735776000000,"plays":1}
{"artist":"a2","day":1735689600000,"plays":1}'
actual=$(sort "$work/out/artist_day_plays.jsonl")
if [ "$actual" != "$expected" ]; then
  echo "unexpected output:"; echo "$actual"; exit 1
fi
grep -q '"origin":".*plays.jsonl:4"' "$work/out/dead_letters.jsonl"
"$work/ext/my_eddy" replay nosuchjob --input x --output-dir y 2>/dev/null && exit 1
echo "external job: built with find_package(Eddy), ran, output as expected"
