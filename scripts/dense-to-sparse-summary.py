#!/usr/bin/env python3
"""Tabulates results/dense-to-sparse/ (written by scripts/dense-to-sparse.sh) for
notebooks-md/dense-to-sparse.md: final test accuracy, training seconds (sum of timed steps),
median step time and its ratio to dense, and the two paths' total times."""
import json
import re
import sys
from pathlib import Path

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "results/dense-to-sparse")


def run(name):
    document = json.loads((folder / f"{name}.json").read_text())["results"]
    last = document["evaluations"][-1]
    return {"accuracy": 100 * last["testAccuracy"], "seconds": last["trainingSeconds"],
            "median_ms": 1e3 * document["medianStepSeconds"], "steps": document["totalSteps"] - document["startStep"],
            "parameters": document["parameterCount"]}


def convert_seconds(target):
    text = (folder / f"convert-{target}.time").read_text()
    return float(re.search(r"([0-9.]+) s wall", text).group(1))


dense = run("dense")
print("| run | steps | parameters | test accuracy % | training s | median step ms | step speed-up vs dense |")
print("|---|---|---|---|---|---|---|")
print(f"| dense | {dense['steps']} | {dense['parameters']} | {dense['accuracy']:.2f} | {dense['seconds']:.1f} | {dense['median_ms']:.1f} | 1.00× |")
totals = []
for target in ["pixelfly", "monarch"]:
    converted = run(f"{target}-converted-step0")
    tuned = run(f"{target}-finetuned")
    scratch = run(f"{target}-scratch")
    conversion = convert_seconds(target)
    print(f"| {target}: converted, no fine-tuning | 0 | {converted['parameters']} | {converted['accuracy']:.2f} | | | |")
    print(f"| {target}: converted + fine-tuned | {tuned['steps']} | {tuned['parameters']} | {tuned['accuracy']:.2f} | {tuned['seconds']:.1f} | {tuned['median_ms']:.1f} | {dense['median_ms'] / tuned['median_ms']:.2f}× |")
    print(f"| {target}: from scratch | {scratch['steps']} | {scratch['parameters']} | {scratch['accuracy']:.2f} | {scratch['seconds']:.1f} | {scratch['median_ms']:.1f} | {dense['median_ms'] / scratch['median_ms']:.2f}× |")
    totals.append((target, dense["seconds"] + conversion + tuned["seconds"], conversion, tuned["accuracy"],
                   scratch["seconds"], scratch["accuracy"]))
print()
print("| target | dense + convert + fine-tune: s (convert s) | accuracy % | from scratch: s | accuracy % |")
print("|---|---|---|---|---|")
for target, total, conversion, accuracy, scratch_seconds, scratch_accuracy in totals:
    print(f"| {target} | {total:.1f} ({conversion:.1f}) | {accuracy:.2f} | {scratch_seconds:.1f} | {scratch_accuracy:.2f} |")
