#!/usr/bin/env python3
"""Ring all-reduce cost model for data-parallel Pixelfly / dense Mixer training on N machines.

Usage: scripts/scaling-model.py results/scaling/1x2.json

Reads one `pixelfly-bench scaling --json` result measured on ONE machine (1 rank, all its
cores), takes each model's median compute time, forward time, gradient bytes and bucket count,
and predicts the step time and parallel efficiency on N = 1 … 64 such machines joined by
10 and 100 Gbit/s links. The model (derived in notebooks-md/scaling.md):

  ring all-reduce of S bytes in k buckets:  T_ar = 2(N-1)/N * S/B + 2(N-1) * k * a
  backward (T_b = compute - forward) releases the k buckets evenly; the link sends them in order:
      T_step = T_f + max(T_b + T_ar/k, T_b/k + T_ar)                       (N > 1)
  efficiency E = T_compute / T_step; throughput = N * batch / T_step

B is 90 % of the line rate, a the per-message latency (25 us on 10 Gbit/s TCP, 3 us on
100 Gbit/s RDMA). Weak scaling keeps the measured per-machine batch; strong scaling keeps the
global batch and gives each machine batch/N rows, with compute shrinking linearly (optimistic).
"""
import json
import sys

LINKS = [("10 Gbit/s", 10e9, 25e-6), ("100 Gbit/s", 100e9, 3e-6)]
MACHINES = [1, 2, 4, 8, 16, 32, 64]


def step_time(n, forward, backward, size, buckets, bandwidth, latency):
    if n == 1:
        return forward + backward, 0.0
    effective = 0.9 * bandwidth / 8  # bytes per second
    allreduce = 2 * (n - 1) / n * size / effective + 2 * (n - 1) * buckets * latency
    return forward + max(backward + allreduce / buckets, backward / buckets + allreduce), allreduce


def main(path):
    document = json.load(open(path))
    rows = document["results"]
    batch = rows[0]["globalBatch"]
    environment = document["environment"]
    print(f"Measured on: {environment['cpuModel']}, {environment['computeThreads']} compute threads, "
          f"OpenBLAS {environment['openBLASCore']}, batch {batch}, load {environment['hostLoadAverage']}")
    for row in rows:
        compute = row["compute"]["median"] / 1e3
        forward = row["forward"]["median"] / 1e3
        size = row["parameters"] * 4
        buckets = max(row["buckets"], 1) if row["buckets"] else max(1, round(size / (4 * 2**20)))
        print(f"\n### {row['model']}: {row['parameters']} parameters = {size / 1e6:.1f} MB of Float gradients, "
              f"{buckets} buckets; compute {compute * 1e3:.1f} ms (forward {forward * 1e3:.1f} ms) per step of {batch} images\n")
        for title, scale in [("weak scaling (batch %d per machine)" % batch, False),
                             ("strong scaling (global batch %d)" % batch, True)]:
            print(f"{title}:\n")
            print("| machines | " + " | ".join(f"{name}: all-reduce ms / step ms / efficiency / images/s" for name, _, _ in LINKS) + " |")
            print("| --- | " + " | ".join("---" for _ in LINKS) + " |")
            for n in MACHINES:
                cells = []
                share = 1 / n if scale else 1
                for _, bandwidth, latency in LINKS:
                    t, allreduce = step_time(n, forward * share, (compute - forward) * share, size, buckets, bandwidth, latency)
                    efficiency = compute * share / t
                    images = (batch if scale else batch * n) / t
                    cells.append(f"{allreduce * 1e3:.1f} / {t * 1e3:.1f} / {efficiency:.2f} / {images:.0f}")
                print(f"| {n} | " + " | ".join(cells) + " |")
            print()


if __name__ == "__main__":
    main(sys.argv[1])
