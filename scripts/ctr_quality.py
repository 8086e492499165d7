#!/usr/bin/env python3
"""The CTR job's quality against the generator's true click probabilities.

  scripts/ctr_quality.py EVENTS TRUTH PREDICTIONS [--from FRACTION]

EVENTS is `eddy gen ctr --out`, TRUTH its `--truth` file, PREDICTIONS the
job's predictions (`eddy replay ctr` writes DIR/predictions.jsonl). Prints,
over the impressions from FRACTION of the stream on (default 0.5: the second
half, in event time), the progressive logloss of the predictions and of the
true probabilities, their ratio, and both AUCs. The label of an impression is
whether a click for it is in EVENTS. Only impressions both files have count.
"""
import json
import math
import sys


def auc(pairs):
    pairs = sorted(pairs)
    pos = sum(y for _, y in pairs)
    neg = len(pairs) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    # Average ranks over ties (Mann-Whitney U).
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid = (i + 1 + j) / 2.0
        rank_sum += mid * sum(y for _, y in pairs[i:j])
        i = j
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)


def logloss(pairs):
    eps = 1e-15
    return -sum(math.log(max(p, eps)) if y else math.log(max(1 - p, eps)) for p, y in pairs) / len(pairs)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    start = 0.5
    if "--from" in argv:
        start = float(argv[argv.index("--from") + 1])
        args.remove(argv[argv.index("--from") + 1])
    if len(args) != 3:
        sys.exit(__doc__)
    events, truth_file, predictions = args
    clicked = set()
    with open(events, "rb") as f:
        for line in f:
            if line.startswith(b'{"type":"click"'):
                try:
                    clicked.add(json.loads(line)["imp"])
                except (ValueError, KeyError):
                    pass  # a malformed line
    truth = {}
    with open(truth_file) as f:
        for line in f:
            r = json.loads(line)
            if "imp" in r:
                truth[r["imp"]] = (r["ts"], r["p"])
    predicted = {}
    with open(predictions) as f:
        for line in f:
            r = json.loads(line)
            predicted[r["imp"]] = r["p"]
    common = sorted((t, imp) for imp, (t, _) in truth.items() if imp in predicted)
    if not common:
        sys.exit("no impression is in both the truth and the predictions")
    lo, hi = common[0][0], common[-1][0]
    cut = lo + start * (hi - lo)
    model, oracle = [], []
    for t, imp in common:
        if t < cut:
            continue
        y = 1 if imp in clicked else 0
        model.append((predicted[imp], y))
        oracle.append((truth[imp][1], y))
    m, o = logloss(model), logloss(oracle)
    rate = sum(y for _, y in model) / len(model)
    print(json.dumps({
        "impressions": len(model), "click_rate": round(rate, 5),
        "logloss": round(m, 5), "truth_logloss": round(o, 5), "ratio": round(m / o, 4),
        "auc": round(auc(model), 4), "truth_auc": round(auc(oracle), 4),
        "calibration": round(sum(p for p, _ in model) / max(1, sum(y for _, y in model)), 4),
        "missing_predictions": len(truth) - len(common),
    }))


if __name__ == "__main__":
    main(sys.argv)
