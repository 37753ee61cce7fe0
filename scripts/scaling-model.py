#!/usr/bin/env python3
"""Ring all-reduce cost model for data-parallel dense / Pixelfly Mixer training on N machines.

Usage: scripts/scaling-model.py ONE_MACHINE.json [MPI_RUN.json]

ONE_MACHINE.json is a `pixelfly-bench scaling --json` result measured on one machine (one
process, all its cores). For each model it takes the median compute, forward and AdamW times and
the gradient bytes; MPI_RUN.json (any `mpirun … scaling` result) supplies the bucket count the
communicator planned. It predicts step time and efficiency on N = 1 … 64 such machines joined
by 10 and 100 Gbit/s links (derivation and assumptions in notebooks-md/scaling.md):

  ring all-reduce of S bytes in k buckets:  T_ar = 2(N-1)/N * S/B + 2(N-1) * k * a
  backward T_b = compute - forward - AdamW releases the k buckets evenly; the link sends them in order:
      T_step = T_f + max(T_b + T_ar/k, T_b/k + T_ar) + T_adamw                 (N > 1)
  efficiency E = T_step(1) * (work share) / T_step(N); throughput = images per step / T_step

B = 90 % of the line rate; a = per-message latency, 25 us (10 Gbit/s Ethernet, TCP) or 3 us
(100 Gbit/s RDMA). Weak scaling keeps the measured per-machine batch (global batch grows with
N); strong scaling keeps the global batch, each machine computing batch/N rows with forward and
backward time shrinking linearly (optimistic for small batches), AdamW not shrinking.
"""
import json
import sys

LINKS = [("10 Gbit/s", 10e9, 25e-6), ("100 Gbit/s", 100e9, 3e-6)]
MACHINES = [1, 2, 4, 8, 16, 32, 64]


def step_time(n, forward, backward, adamw, size, buckets, bandwidth, latency):
    if n == 1:
        return forward + backward + adamw, 0.0
    effective = 0.9 * bandwidth / 8  # bytes per second
    allreduce = 2 * (n - 1) / n * size / effective + 2 * (n - 1) * buckets * latency
    return forward + max(backward + allreduce / buckets, backward / buckets + allreduce) + adamw, allreduce


def main(path, mpi_path=None):
    document = json.load(open(path))
    rows = document["results"]
    planned = {r["model"]: r["buckets"] for r in json.load(open(mpi_path))["results"]} if mpi_path else {}
    batch = rows[0]["globalBatch"]
    environment = document["environment"]
    print(f"Measured on: {environment['cpuModel']}, {environment['computeThreads']} compute threads, "
          f"OpenBLAS {environment['openBLASCore']}, batch {batch}, load {environment['hostLoadAverage']}")
    for row in rows:
        compute = row["compute"]["median"] / 1e3
        forward = row["forward"]["median"] / 1e3
        adamw = row.get("optimizer", {"median": 0.0})["median"] / 1e3  # absent in results before the AdamW column
        backward = compute - forward - adamw
        size = row["parameters"] * 4
        buckets = planned.get(row["model"]) or max(1, round(size / (4 * 2**20)))
        print(f"\n### {row['model']}: {row['parameters']} parameters = {size / 1e6:.1f} MB of Float gradients in "
              f"{buckets} buckets; per step of {batch} images: forward {forward * 1e3:.1f} ms, backward {backward * 1e3:.1f} ms, "
              f"AdamW {adamw * 1e3:.1f} ms\n")
        for title, strong in [(f"weak scaling ({batch} images per machine and step)", False),
                              (f"strong scaling ({batch} images per step in all)", True)]:
            print(f"{title}:\n")
            print("| machines | " + " | ".join(f"{name}: all-reduce ms / step ms / efficiency / images/s" for name, _, _ in LINKS) + " |")
            print("| --- | " + " | ".join("---" for _ in LINKS) + " |")
            for n in MACHINES:
                share = 1 / n if strong else 1
                cells = []
                for _, bandwidth, latency in LINKS:
                    t, allreduce = step_time(n, forward * share, backward * share, adamw, size, buckets, bandwidth, latency)
                    ideal = (forward + backward) * share + adamw if not strong else (forward + backward + adamw) / n
                    images = (batch if strong else batch * n) / t
                    cells.append(f"{allreduce * 1e3:.1f} / {t * 1e3:.1f} / {ideal / t:.2f} / {images:.0f}")
                print(f"| {n} | " + " | ".join(cells) + " |")
            print()


if __name__ == "__main__":
    main(*sys.argv[1:3])
