#!/usr/bin/env python3
"""A/B of Mixer training steps with the runs interleaved: every variant is started as
`BINARY train … --step-gate 20` (the default job's Mixer flags, 1 epoch of --train-limit images),
and the variants then take turns, 20 steps at a time, as the default job's two trainings do
(notebooks-md/kernel-passes/10-strip-groups.md). Prints each variant's median step.

    scripts/interleaved-training-ab.py 'new::/tmp/new-bench' 'old::/tmp/old-bench'
    scripts/interleaved-training-ab.py 'a:PIXELFLY_X=1:/tmp/bench' 'b:PIXELFLY_X=2:/tmp/bench'

A variant is LABEL:ENV:BINARY, ENV a comma-separated list of NAME=VALUE (may be empty); the
binaries must have `train --step-gate` (commit 1fb3be8 or later). OPENBLAS_CORETYPE is unset,
so the bench picks the kernel family. LIMIT (default 12800) sets --train-limit; LIN=dense trains
the dense model instead of Pixelfly. On the Intel Xeon of that pass, the same binary against
itself differed by about 1 %, where runs one after the other differed by up to 30 %.
"""
import subprocess, sys, os, re
FLAGS = ("--model mixer --preset small --width 768 --hidden 3072 --token-hidden 32 --depth 2 --patch-size 7 --token-linear dense "
         "--epochs 1 --batch-size 64 --lr 0.001 --weight-decay 0.05 --label-smoothing 0.1 --seed 0 --log-interval 50 "
         "--data-directory /usr/share/datasets/fashion-mnist --train-limit " + os.environ.get("LIMIT", "12800") +
         " --eval-interval 1000 --test-limit 500 --threads 2 --step-gate 20").split()
LIN = os.environ.get("LIN", "pixelfly")
FLAGS += ("--linear pixelfly --butterfly-size 16 --factors 2 --block-size 48 --rank 32 --combination sum".split()
          if LIN == "pixelfly" else ["--linear", "dense"])
procs = []
for spec in sys.argv[1:]:
    label, envs, binary = spec.split(":")
    env = dict(os.environ); env.pop("OPENBLAS_CORETYPE", None)
    for kv in filter(None, envs.split(",")):
        k, v = kv.split("=", 1); env[k] = v
    p = subprocess.Popen([binary, "train"] + FLAGS, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True, bufsize=1)
    procs.append([label, p, None])
def until_gate(entry):
    for line in entry[1].stdout:
        if line.startswith("pixelfly-step-gate"): return True
        m = re.search(r"median step ([0-9.]+)", line)
        if m: entry[2] = float(m.group(1))
    return False
alive = [e for e in procs if until_gate(e)]
while alive:
    for e in list(alive):
        e[1].stdin.write("\n"); e[1].stdin.flush()
        if not until_gate(e): alive.remove(e)
for e in procs:
    e[1].wait(); print(e[0], e[2])
