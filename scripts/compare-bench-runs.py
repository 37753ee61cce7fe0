#!/usr/bin/env python3
"""Compares two default-job results (summary.json): does each median lie inside the other
run's min…max? Usage: scripts/compare-bench-runs.py results/default results/default-run2"""
import json
import sys


def load(folder):
    with open(f"{folder}/summary.json") as f:
        return json.load(f)["results"]


def inside(a, b):
    """Each sample's median within the other's [min, max]."""
    return b["min"] <= a["median"] <= b["max"] and a["min"] <= b["median"] <= a["max"]


def main(first, second):
    a, b = load(first), load(second)
    ta, tb = a["training"], b["training"]
    print("training step speed-up: %.3f× vs %.3f×" % (ta["stepSpeedup"], tb["stepSpeedup"]))
    for kind in ("dense", "pixelfly"):
        ra, rb = ta[kind]["result"], tb[kind]["result"]
        print("  %-8s median step %.1f vs %.1f ms; final test accuracy %.2f vs %.2f %%" % (
            kind, ra["medianStepSeconds"] * 1e3, rb["medianStepSeconds"] * 1e3,
            ra["evaluations"][-1]["testAccuracy"] * 100, rb["evaluations"][-1]["testAccuracy"] * 100))
    rows = list(zip(a["layers"]["rows"], b["layers"]["rows"]))
    agree = sum(inside(x["forwardBackward"], y["forwardBackward"]) for x, y in rows)
    ratio_gap = max(abs(x["forwardBackwardRatio"] - y["forwardBackwardRatio"]) for x, y in rows if x["kind"] != "dense")
    print("layers: %d of %d rows with each f+b median inside the other's min…max; ratios differ by at most %.3f" % (
        agree, len(rows), ratio_gap))
    for x, y in zip(a["blocks"]["rows"], b["blocks"]["rows"]):
        print("block %s: %.2f× vs %.2f×; dense medians inside: %s, Pixelfly medians inside: %s" % (
            x["block"], x["speedup"], y["speedup"], inside(x["dense"], y["dense"]), inside(x["pixelfly"], y["pixelfly"])))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
