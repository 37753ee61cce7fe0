#!/usr/bin/env python3
"""Where a training step's time goes: perf samples of `pixelfly-bench train` by kind of work.

Used for notebooks-md/kernel-passes/08-layernorm-and-spin-wait.md. Run the training under perf with
LIBXSMM printing the address of each kernel it generates, then classify the samples:

    cd /tmp   # LIBXSMM writes its .mxm code dumps to the working directory
    LIBXSMM_VERBOSE=-1 env -u OPENBLAS_CORETYPE perf record -F 2000 -g -o step.data \\
        pixelfly-bench train --model mixer --preset small --width 768 --hidden 3072 \\
        --token-hidden 32 --depth 2 --patch-size 7 --token-linear dense --batch-size 64 \\
        --lr 0.001 --weight-decay 0.05 --label-smoothing 0.1 --seed 0 --threads 2 \\
        --data-directory /usr/share/datasets/fashion-mnist --linear pixelfly \\
        --butterfly-size 16 --factors 2 --block-size 48 --rank 32 --combination sum \\
        --epochs 1 --train-limit 9600 --eval-interval 1000 --test-limit 500 2> libxsmm.log
    scripts/training-step-profile.py libxsmm.log step.data

Attribution is by the sampled instruction itself, never by the call chain alone: OpenBLAS's
assembly kernels use the frame pointer as a register, so their samples have no usable call
chain (an earlier version of this count kept only samples whose chain reached the trainer, and
so dropped most OpenBLAS samples: the token-mixing GEMMs and the residual `saxpy`). LIBXSMM's
JIT code has no symbols; a sample is named after the kernel whose code starts at most 8 KB
below it. The training steps are told apart by time instead: counted are the samples from the
first one whose chain reaches `Trainer.step` to the first one whose chain reaches an evaluation
(set-up, data loading and the FMA-peak probe come before, the evaluation after; keep
`--eval-interval` above the step count so that it runs once, at the end).
"""
import collections
import subprocess
import sys

from libxsmm_jit_dump import JITKernels

if len(sys.argv) != 3:
    sys.exit("usage: training-step-profile.py LIBXSMM_STDERR_LOG PERF_DATA")
log, data = sys.argv[1], sys.argv[2]

kernels = JITKernels(log)



def libxsmm_kind(ip):
    name = kernels.name_at(ip)
    if name is None:
        return None
    if ".trans" in name or "_trans_" in name:
        return "LIBXSMM transposes"
    if "_br2" in name:
        return "LIBXSMM block-sparse strips (forward, input gradient)"
    return "LIBXSMM weight gradient, rank-r and token-mixing products"


def symbol_kind(symbol, dso):
    low = symbol.lower()
    if "libopenblas" in dso:
        if "axpy" in low:
            return "OpenBLAS saxpy (residual adds)"
        if "gemm" in low or "copy" in low:
            return "OpenBLAS GEMMs (token mixing's weight gradients, embedding, head, dense layers)"
        return "OpenBLAS other"
    if "kernel.kallsyms" in dso:
        return "Linux kernel (page faults, scheduling)"
    # scale_avx2/_portable: GELU's backward where fc1's forward kept gelu′ (pixelfly_scale_rows_f32).
    if "gelu" in low or low.startswith("scale_avx2") or low.startswith("scale_portable"):
        return "GELU"
    if "layernorm" in low:
        return "LayerNorm"
    if "adamw" in low:
        return "AdamW"
    if "column_sums" in low or "columnsums" in low:
        return "column sums"
    if "workerpool" in low or "computethreads" in low:
        return "thread pool (waiting at region ends, spinning between regions)"
    if "memmove" in low or "memset" in low or "memcpy" in low:
        return "memmove / memset"
    if "tokenmixing" in low:
        return "token-mixing kernels (Swift: bias fill, row sums)"
    if "sumofsquares" in low or "clipgradient" in low:
        return "gradient clipping"
    return "other"


script = subprocess.run(["perf", "script", "-i", data, "-F", "time,ip,sym,dso"],
                        capture_output=True, text=True, check=True).stdout
samples = []
for sample in script.split("\n\n"):
    lines = [line.strip() for line in sample.split("\n") if line.strip()]
    if len(lines) < 2:
        continue
    time = float(lines[0].rstrip(":").split()[-1])
    samples.append((time, lines[1:]))
samples.sort(key=lambda item: item[0])
first_step = next(t for t, frames in samples if any("TrainerC4step" in f for f in frames))
evaluation = next((t for t, frames in samples if t > first_step and any("evaluate" in f for f in frames)), float("inf"))

counts, others = collections.Counter(), collections.Counter()
total = 0
for time, frames in samples:
    if not first_step <= time < evaluation:
        continue
    first = frames[0].split(None, 1)
    ip = int(first[0], 16)
    rest = first[1] if len(first) > 1 else ""
    dso = rest[rest.rfind("(") + 1:-1] if rest.endswith(")") else ""
    symbol = rest[:rest.rfind("(")].strip() if dso else rest
    kind = libxsmm_kind(ip) or symbol_kind(symbol, dso)
    if "strip24" in symbol:
        # The hand-written 24-row kernel (`pixelfly_strip24_f32`): strips or weight gradient,
        # told apart by the caller (C compiled with frame pointers, so the chain is whole).
        gradient = any("accumulateWeightGradient" in f for f in frames[1:])
        kind = "hand-written 24-row kernel: weight gradient" if gradient else "hand-written 24-row kernel: strips (forward, input gradient)"
    if kind == "other":
        others[symbol[:90]] += 1
    counts[kind] += 1
    total += 1

print("| where | samples | share |")
print("| --- | --- | --- |")
for kind, count in counts.most_common():
    print(f"| {kind} | {count:,} | {100 * count / total:.1f} % |")
print(f"| all (training steps) | {total:,} | |")
print(f"\ntraining steps: {evaluation - first_step:.2f} s of samples, {len(samples) - total:,} samples outside")
print("largest 'other' symbols:")
for symbol, count in others.most_common(8):
    print(f"  {count:6d}  {symbol}")
