#!/usr/bin/env bash
# The soak: `eddy run ctr` on the embedded broker, fed by `eddy gen ctr` at a
# fixed rate, for MINUTES (default 30), sampled every 10 s through its
# metrics endpoint (records read, consumer lag, memory by component) and
# /proc (RSS).
#
#   scripts/soak.sh [MINUTES] [RATE]
#
# RATE defaults to half of the rate at which the run reads a backlog of
# 100,000 events (measured here first, in the same run). Writes
# out/soak/samples.csv (seconds, phase, records read, lag, RSS MiB, then
# eddy_memory_bytes' components in MiB, then the last checkpoint's write
# batch in MiB) and
# prints, over the soak's second half, RSS min/max and their spread, and the
# largest lag. Exits 1 if the spread is over 10% or the lag keeps growing
# (its last sample above twice its first-half maximum and over 10 s of input).
# Needs build/eddy (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
rate=${2:-0}
bin=$PWD/build/eddy
out=$PWD/out/soak
rm -rf "$out"
mkdir -p "$out"
pids=()
cleanup() {
  trap - EXIT
  # The run first (it checkpoints and leaves the group), then the others.
  if [ -n "${run:-}" ]; then kill "$run" 2>/dev/null || true; wait "$run" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

topics=()
for t in events predictions metrics alerts feature_drift dlq late; do topics+=(--topic "ctr.$t:4"); done
for k in by_user by_ad model drift; do
  topics+=(--topic "ctr.$k.repartition:4" --topic "ctr.$k.changelog:4")
done
"$bin" broker "${topics[@]}" > "$out/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  brokers=$(grep -o '127\.0\.0\.1:[0-9]*' "$out/broker.log" | head -1 || true)
  [ -n "$brokers" ] && break
  sleep 0.1
done
[ -n "$brokers" ] || { echo "soak: the broker did not start" >&2; cat "$out/broker.log" >&2; exit 1; }

start_run() {
  "$bin" run ctr --brokers "$brokers" --state-dir "$out/state" --metrics-port 127.0.0.1:0 \
    --status-interval-ms 10000 ${EDDY_SOAK_ARGS:-} > "$out/run.log" 2>&1 &
  run=$!
  for _ in $(seq 100); do
    mport=$(grep -o 'metrics on http://127\.0\.0\.1:[0-9]*' "$out/run.log" | grep -o '[0-9]*$' || true)
    [ -n "$mport" ] && break
    sleep 0.1
  done
  [ -n "$mport" ] || { echo "soak: no metrics endpoint" >&2; cat "$out/run.log" >&2; exit 1; }
}

scrape() {
  exec 3<>"/dev/tcp/127.0.0.1/$mport"
  printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
  cat <&3
  exec 3<&-
}
# Filters over a scraped page.
records_read() { awk '/^eddy_records_read_total/ {print $2}'; }
lag_sum() { awk '/^eddy_consumer_lag_records/ {s += $2} END {print s + 0}'; }
read_total() { scrape | records_read; }
rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$run/status"; }
components="state_cache rocksdb_memtables rocksdb_table_readers rocksdb_block_cache heap_in_use heap_free"

sample() {  # phase; one scrape for all of a sample's figures
  local page mem=""
  page=$(scrape)
  for c in $components; do
    mem="$mem,$(awk -v c="component=\"$c\"" '/^eddy_memory_bytes/ && index($0, c) {printf "%.1f", $2 / 1048576}' <<< "$page")"
  done
  local cp
  cp=$(awk '/^eddy_checkpoint_bytes/ {printf "%.2f", $2 / 1048576}' <<< "$page")
  echo "$(( $(date +%s) - start )),$1,$(records_read <<< "$page"),$(lag_sum <<< "$page"),$(rss_mib)$mem,$cp" >> "$out/samples.csv"
}
echo "seconds,phase,records_read,lag,rss_mib,${components// /_mib,}_mib,checkpoint_mib" > "$out/samples.csv"
start=$(date +%s)

if [ "$rate" -le 0 ]; then
  # The maximum: a backlog of 100,000 events (within what the embedded
  # broker retains, ~5 MiB a partition) read as fast as the run can; its
  # best 5 s, once it has started reading.
  "$bin" gen ctr --brokers "$brokers" --topic ctr.events --events 100000 --seed 7 \
    > "$out/gen-max.log" 2>&1
  start_run
  # From the first records read to the last of the backlog.
  t0=""
  for _ in $(seq 1200); do
    sleep 0.2
    now=$(read_total)
    if [ -z "$t0" ] && [ "$now" -gt 0 ]; then t0=$(date +%s.%N); n0=$now; fi
    if [ "$now" -ge 100000 ]; then t1=$(date +%s.%N); break; fi
  done
  max=$(awk -v n0="$n0" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%d", (100000 - n0) / (t1 - t0) }')
  rate=$(( max / 2 ))
  echo "soak: the run read a backlog at up to $max events/s; soaking at $rate"
else
  start_run
fi

events=$(( rate * (minutes * 60 + 60) ))
"$bin" gen ctr --brokers "$brokers" --topic ctr.events --events "$events" --seed 8 --rate "$rate" \
  > "$out/gen.log" 2>&1 &
pids+=($!)
soak_start=$(date +%s)
end=$(( soak_start + minutes * 60 ))
while [ "$(date +%s)" -lt "$end" ]; do
  kill -0 "$run" 2>/dev/null || { echo "soak: eddy run died" >&2; tail -5 "$out/run.log" >&2; exit 1; }
  sample soak
  sleep 10
done

half=$(( (soak_start - start) + minutes * 30 ))
awk -F, -v half="$half" -v rate="$rate" '
  NR > 1 && $2 == "soak" {
    if ($1 < half) { if ($4 > lag1) lag1 = $4 }
    else {
      n++; if (min == "" || $5 < min) min = $5; if ($5 > max) max = $5
      if ($4 > lag2) lag2 = $4; last = $4
    }
    if (first == "") first = $3; reads = $3; t0 = (t0 == "" ? $1 : t0); t1 = $1
  }
  END {
    spread = (max - min) / min
    printf "soak: %d events/s offered, %.0f events/s read; second half: RSS %.1f-%.1f MiB (spread %.1f%%), lag max %d (first half max %d)\n",
      rate, (reads - first) / (t1 - t0), min, max, 100 * spread, lag2, lag1
    bad = spread > 0.10 || (last > 2 * lag1 && last > 10 * rate)
    exit bad ? 1 : 0
  }' "$out/samples.csv"
