#!/usr/bin/env python3
"""Each family's layer rows against the fastest dense layer of any family the CPU ran.

A `layers` row divides a kind's forward + backward time by the dense layer's time under the same
OpenBLAS kernel family, in the same process. That is fair within a family, but issue 11 also asks
that the dense baseline be the fastest dense the library can run on the machine: on a CPU whose
AVX-512 FMAs run at the AVX2 rate (AMD Zen 4), OpenBLAS's AVX2 `sgemm` can beat its own AVX-512
pick on some shapes, and then the AVX-512 families' ratios are flattered
(notebooks-md/kernel-passes/40-zen4-fifth-cpu.md).

Within a run the baseline is already the faster of OpenBLAS's dense layer and dense-blocks (the
same matrix on the block-sparse kernels, since pass 41); across families this takes the fastest
of both over every family.

This reads `results/families/FAMILY/layers.json` for the families named (every family folder
there if none are named: older folders may come from other runs or commits) and prints, for each family's block-sparse and Pixelfly rows at batch ≥ 1024, the row's
time ÷ the fastest family's dense time for the same shape, batch and threads, beside the in-process
ratio. The families ran in different processes minutes apart, so a machine whose speed drifts
moves these cross-family ratios by its drift (the in-process ratios do not move with it); taking
the minimum over families also favours whichever dense run caught a fast minute. Read a
difference of a few per cent as a question to re-measure (alternated runs, as the fortieth pass
did), not as an answer.

Usage: scripts/families-fastest-dense.py [FOLDER [FAMILY…]] (FOLDER defaults to results/families)
"""
import json
import os
import sys

TARGETS = {"sparse": 0.22, "pixelfly": 0.30}
DENSE_KINDS = ("dense", "dense-blocks")


def load(folder, families):
    """{family: [row]} for the named families, or every family folder that holds a layers.json."""
    if not families:
        families = [f for f in sorted(os.listdir(folder)) if os.path.exists(os.path.join(folder, f, "layers.json"))]
    runs = {}
    for family in families:
        path = os.path.join(folder, family, "layers.json")
        if not os.path.exists(path):
            sys.exit(f"families-fastest-dense: no {path}; run scripts/speed-kernel-families.sh {family} first")
        with open(path) as f:
            runs[family] = json.load(f)["results"]
    return runs


def key(row):
    return (row["input"], row["output"], row["batch"], row["threads"])


def main(folder, families):
    runs = load(folder, families)
    if len(runs) < 2:
        sys.exit(f"families-fastest-dense: {len(runs)} families with a layers.json in {folder}; at least 2 are needed")
    # dense[family][row key] = the faster dense layer's median f+b seconds (dense, or dense-blocks
    # where the run timed it: every block on the block-sparse kernels); fastest[row key] = (seconds, family)
    dense = {}
    for family, rows in runs.items():
        times = {}
        for r in rows:
            if r["kind"] in DENSE_KINDS:
                times[key(r)] = min(times.get(key(r), float("inf")), r["forwardBackward"]["median"])
        dense[family] = times
    fastest = {}
    for family, times in dense.items():
        for k, seconds in times.items():
            if k not in fastest or seconds < fastest[k][0]:
                fastest[k] = (seconds, family)
    print(f"forward + backward ÷ the fastest dense of {', '.join(runs)} (batch ≥ 1024; in-process ratio in brackets)")
    for family, rows in runs.items():
        print(f"\n== {family}")
        met = {kind: [0, 0] for kind in TARGETS}
        for row in rows:
            if row["kind"] not in TARGETS or row["batch"] < 1024 or key(row) not in fastest:
                continue
            seconds, fastest_family = fastest[key(row)]
            ratio = row["forwardBackward"]["median"] / seconds
            target = TARGETS[row["kind"]]
            met[row["kind"]][0] += ratio <= target
            met[row["kind"]][1] += 1
            print(f"  {row['input']}→{row['output']:<5} batch {row['batch']:<4} {row['threads']} thr  {row['kind']:<8}"
                  f" {ratio:.3f}× ({row['forwardBackwardRatio']:.3f}×)  fastest dense: {fastest_family},"
                  f" {dense[family][key(row)] / seconds:.3f}× this family's")
        for kind, (count, total) in met.items():
            print(f"  {kind} ≤ {TARGETS[kind]:.2f}× the fastest dense: {count} of {total} rows")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/families", sys.argv[2:])
