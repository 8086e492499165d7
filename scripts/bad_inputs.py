#!/usr/bin/env python3
"""Bad inputs by kind, for bench/RESULTS.md: every one must be accounted for.

  scripts/bad_inputs.py [EVENTS] [PER_KIND]     (needs build/eddy)

Generates a clean CTR stream (`eddy gen ctr`), inserts PER_KIND records of
each kind below at random lines (seeded), replays it with `eddy replay ctr`,
and sets each kind's count beside the dead letters' reasons. Every line of
the input is an event, a dead letter or a late record (summary.json), and
the dead letters and late records must be as many as the inserted records
(the clean stream has none): the script exits 1 otherwise, or if the
replay fails.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

events = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
per_kind = int(sys.argv[2]) if len(sys.argv) > 2 else 100
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
eddy = os.path.join(root, "build", "eddy")
work = tempfile.mkdtemp(prefix="eddy_bad_inputs_")
clean = os.path.join(work, "clean.jsonl")
subprocess.run([eddy, "gen", "ctr", "--events", str(events), "--seed", "11", "--out", clean],
               check=True, stderr=subprocess.DEVNULL)
lines = open(clean, "rb").read().splitlines()
rng = random.Random(11)
impression_at = [i for i, l in enumerate(lines) if b'"type":"impression"' in l]


def kinds(good):
    """(kind, a bad record) for each kind: what a producer gets wrong.
    `good` is the impression the bad records follow (so that their times
    are those of their neighbours, not late)."""
    def j(obj):
        return json.dumps(obj, separators=(",", ":")).encode()
    yield "malformed JSON (truncated)", j(good)[: rng.randrange(5, 60)]
    yield "not JSON", b"GET /index.html HTTP/1.1"
    yield "wrong type (ts as a string)", j({**good, "ts": str(good["ts"])})
    yield "wrong type (user as a number)", j({**good, "user": 42})
    missing = dict(good)
    del missing["ad"]
    yield "missing field (impression without ad)", j(missing)
    yield "unknown event type", j({**good, "type": "purchase"})
    yield "invalid UTF-8", b'{"type":"listen","ts":%d,"user":"u\xff\xfe"}' % good["ts"]
    yield "event time far in the future (2100)", j({**good, "ts": 4102444800000})
    yield "event time far in the past (1900)", j({**good, "ts": -2208988800000})
    yield "event time out of range (1e300)", j(good).replace(
        b'"ts":%d' % good["ts"], b'"ts":1e300')
    yield "record over the maximum size (2 MiB)", j({**good, "pad": "x" * (2 << 20)})
    yield "JSON array, not an object", j([good])
    yield "deeply nested JSON", b"[" * 5000 + b"]" * 5000
    yield "duplicate impression id", j(good)  # the impression again, right after it
    yield "click for an unknown impression", j(
        {"type": "click", "ts": good["ts"] + 1000, "user": good["user"],
         "imp": "i-never-shown-%d" % rng.randrange(1 << 30)})


inserted = {}
after = {}  # line index -> bad records that follow it
for _ in range(per_kind):
    i = rng.choice(impression_at)
    for kind, record in kinds(json.loads(lines[i])):
        after.setdefault(i, []).append(record)
        inserted[kind] = inserted.get(kind, 0) + 1
path = os.path.join(work, "bad.jsonl")
lines_in = 0
with open(path, "wb") as f:
    for i, l in enumerate(lines):
        f.write(l + b"\n")
        for record in after.get(i, []):
            f.write(record + b"\n")
            lines_in += 1
        lines_in += 1
out = os.path.join(work, "out")
r = subprocess.run([eddy, "replay", "ctr", "--input", path, "--output-dir", out],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
if r.returncode != 0:
    print("bad_inputs: the replay failed:", r.stderr.strip().splitlines()[-1:], file=sys.stderr)
    sys.exit(1)
summary = json.load(open(os.path.join(out, "summary.json")))
reasons = {}
with open(os.path.join(out, "dead_letters.jsonl"), encoding="utf-8", errors="replace") as f:
    for l in f:
        d = json.loads(l)
        reasons[d["reason"]] = reasons.get(d["reason"], 0) + 1
total_inserted = sum(inserted.values())
print("| kind | inserted |")
print("|---|---|")
for kind, n in inserted.items():
    print("| %s | %d |" % (kind, n))
print()
print("| dead-letter reason | records |")
print("|---|---|")
for reason, n in sorted(reasons.items(), key=lambda x: -x[1]):
    print("| %s | %d |" % (reason, n))
accounted = summary["events"]
print()
print("input lines %d; summary: events %d, dead letters %d, late %d; inserted %d" %
      (lines_in, summary["events"], summary["dead_letters"], summary["late_events"],
       total_inserted))
# The clean stream has no bad record of its own: every dead letter or late
# record is one inserted, and every inserted one is among them.
ok = (accounted == lines_in and
      summary["dead_letters"] + summary["late_events"] == total_inserted)
print("every line accounted for, and the dead letters and late records are the inserted records:",
      "yes" if ok else "NO")
if ok:
    shutil.rmtree(work)  # ~30 MB a run; kept after a failure, for its outputs
else:
    print("bad_inputs: inputs and outputs kept in", work, file=sys.stderr)
sys.exit(0 if ok else 1)
