#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds `eddy`, generates a stream of
# music-app listen events and replays the example job over it, printing the
# results. (The CTR demo on the embedded broker replaces this once it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target eddy

out=${EDDY_DEMO_DIR:-out/demo}
mkdir -p "$out"
./build/eddy gen listens --events 1000000 --seed 7 --malformed-rate 0.001 --out "$out/events.jsonl.gz"
./build/eddy replay listen_counts --input "$out/events.jsonl.gz" --output-dir "$out/replay" \
  --threads "$(nproc)"
echo
echo "First hourly counts ($out/replay/hourly_genre_counts.jsonl):"
head -n 5 "$out/replay/hourly_genre_counts.jsonl"
echo "First dead letters ($out/replay/dead_letters.jsonl):"
head -n 3 "$out/replay/dead_letters.jsonl"
echo "Summary ($out/replay/summary.json):"
cat "$out/replay/summary.json"
echo
