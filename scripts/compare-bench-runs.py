#!/usr/bin/env python3
"""Do two default-job results (summary.json) agree within the spread the bench reports?

For every ratio the bench reports with a spread — each layer's forward+backward time ÷ dense
(per-repetition min…max), each block's speed-up (same), the training step speed-up (from the
step-time quartiles) — checks whether each run's value lies inside the other run's spread.
Usage: scripts/compare-bench-runs.py results/default results/default-run2"""
import json
import sys


def load(folder):
    with open(f"{folder}/summary.json") as f:
        return json.load(f)["results"]


def agree(value_a, spread_a, value_b, spread_b):
    return spread_b["min"] <= value_a <= spread_b["max"] and spread_a["min"] <= value_b <= spread_a["max"]


def main(first, second):
    a, b = load(first), load(second)
    ta, tb = a["training"], b["training"]
    ok = agree(ta["stepSpeedup"], ta["stepSpeedupSpread"], tb["stepSpeedup"], tb["stepSpeedupSpread"])
    print("training step speed-up: %.3f× (%.2f–%.2f) vs %.3f× (%.2f–%.2f): %s" % (
        ta["stepSpeedup"], ta["stepSpeedupSpread"]["min"], ta["stepSpeedupSpread"]["max"],
        tb["stepSpeedup"], tb["stepSpeedupSpread"]["min"], tb["stepSpeedupSpread"]["max"],
        "agree" if ok else "DISAGREE"))
    for kind in ("dense", "pixelfly"):
        ra, rb = ta[kind]["result"], tb[kind]["result"]
        print("  %-8s median step %.1f vs %.1f ms; final test accuracy %.2f vs %.2f %%" % (
            kind, ra["medianStepSeconds"] * 1e3, rb["medianStepSeconds"] * 1e3,
            ra["evaluations"][-1]["testAccuracy"] * 100, rb["evaluations"][-1]["testAccuracy"] * 100))
    def keyed(rows):   # the dense kinds are the baselines (ratio 1 for the faster of the two)
        return {(r["input"], r["output"], r["batch"], r["threads"], r["kind"]): r
                for r in rows if r["kind"] not in ("dense", "dense-blocks")}
    ka, kb = keyed(a["layers"]["rows"]), keyed(b["layers"]["rows"])
    rows = [(ka[k], kb[k]) for k in ka if k in kb]
    agreeing = [agree(x["forwardBackwardRatio"], x["forwardBackwardRatioSpread"],
                      y["forwardBackwardRatio"], y["forwardBackwardRatioSpread"]) for x, y in rows]
    gap = max(abs(x["forwardBackwardRatio"] - y["forwardBackwardRatio"]) for x, y in rows)
    print("layers: %d of %d time ÷ dense ratios agree within each other's spread; largest difference %.3f" % (
        sum(agreeing), len(rows), gap))
    for (x, y), ok in zip(rows, agreeing):
        if not ok:
            print("  disagree: %d×%d batch %d, %d thr, %s: %.3f (%.3f–%.3f) vs %.3f (%.3f–%.3f)" % (
                x["input"], x["output"], x["batch"], x["threads"], x["kind"],
                x["forwardBackwardRatio"], x["forwardBackwardRatioSpread"]["min"], x["forwardBackwardRatioSpread"]["max"],
                y["forwardBackwardRatio"], y["forwardBackwardRatioSpread"]["min"], y["forwardBackwardRatioSpread"]["max"]))
    for x, y in zip(a["blocks"]["rows"], b["blocks"]["rows"]):
        ok = agree(x["speedup"], x["speedupSpread"], y["speedup"], y["speedupSpread"])
        print("block %s: %.2f× (%.2f–%.2f) vs %.2f× (%.2f–%.2f): %s" % (
            x["block"], x["speedup"], x["speedupSpread"]["min"], x["speedupSpread"]["max"],
            y["speedup"], y["speedupSpread"]["min"], y["speedupSpread"]["max"], "agree" if ok else "DISAGREE"))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
