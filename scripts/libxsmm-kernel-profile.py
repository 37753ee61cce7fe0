#!/usr/bin/env python3
"""Perf samples per LIBXSMM kernel, for notebooks-md/kernel-passes/05-bias-gradient-and-producers.md.

LIBXSMM's JIT code has no symbols, so `perf report` lumps every generated kernel together. With
LIBXSMM_VERBOSE=-1 LIBXSMM prints the address of each kernel it generates to stderr
("LIBXSMM-JIT-DUMP(ptr:file) 0x… : libxsmm_cpx_f32_nn_96x64x48_96_768_3072_a1_b0_p0_br2_….mxm",
i.e. m × n × k, lda, ldb, ldc, α, β, batch-reduce) and writes the code to .mxm files in the
working directory; this script names each sample's instruction pointer after the kernel whose
code starts at most 8 KB below it. Samples whose call chain does not pass through a layer's
forward or backward are dropped (set-up, the Double reference check, the dense layer), except
the other compute threads' samples in the Butterfly module's code: their chains start at the
thread pool's loop, so they are counted as "worker" (forward or backward cannot be told apart
there; with one thread there are none).

    cd /tmp   # the .mxm files land in the working directory
    LIBXSMM_VERBOSE=-1 env -u OPENBLAS_CORETYPE perf record -g -o perf.data \\
        pixelfly-bench layers --shapes 768x3072 --batches 4096 --threads 1 --kinds pixelfly \\
        --repetitions 10 --checked-rows 2 2> libxsmm.log
    scripts/libxsmm-kernel-profile.py libxsmm.log perf.data

`layers` runs the forward twice per repetition (alone, then with the backward), so compare
half the forward samples with the backward ones.
"""
import collections
import subprocess
import sys

from libxsmm_jit_dump import JITKernels

if len(sys.argv) != 3:
    sys.exit("usage: libxsmm-kernel-profile.py LIBXSMM_STDERR_LOG PERF_DATA")
log, data = sys.argv[1], sys.argv[2]

kernels = JITKernels(log, short_names=True)

script = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym"], capture_output=True, text=True, check=True).stdout
counts, total = collections.Counter(), 0
for sample in script.split("\n\n"):
    frames = [line.strip() for line in sample.split("\n") if line.strip()]
    if not frames:
        continue
    stack = " ".join(frames)
    if "DenseLinear" in stack or "denseWeight" in stack or "forwardError" in stack:
        continue
    if "Linear" in stack:
        phase = "backward" if "backward" in stack else "forward"
    elif "workerLoop" in stack and "s9Butterfly" in stack:
        phase = "worker"  # a compute thread's share: its chain starts at the pool, not a layer
    else:
        continue
    name = kernels.name_at(int(frames[0].split()[0], 16)) or " ".join(frames[0].split()[1:])[:70]
    counts[(phase, name)] += 1
    total += 1

for (phase, name), count in counts.most_common(30):
    print(f"{count:6d} {100 * count / total:5.1f} %  {phase:8s} {name}")
print(f"{total:6d} samples in layer forwards and backwards (and their compute threads' work)")
