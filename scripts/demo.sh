#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds `eddy` and runs the CTR demo:
# the embedded Kafka broker, a stream of music-app events (listens, ad
# impressions, clicks) into it, and the ctr job predicting clicks live, for
# EDDY_DEMO_SECONDS (default 60). Leaves outputs, summary.json and
# report.html in EDDY_DEMO_DIR (default out/demo).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target eddy

out=${EDDY_DEMO_DIR:-out/demo}
./build/eddy demo --seconds "${EDDY_DEMO_SECONDS:-60}" --output-dir "$out"
echo
echo "First predictions ($out/predictions.jsonl):"
head -n 3 "$out/predictions.jsonl"
echo "Metrics windows ($out/metrics.jsonl): $(wc -l < "$out/metrics.jsonl")"
echo "Alerts ($out/alerts.jsonl):"
cat "$out/alerts.jsonl"
echo "Report: $out/report.html (one file, opens offline)"
