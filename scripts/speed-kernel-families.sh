#!/usr/bin/env bash
# The speed claims under every vector-width OpenBLAS kernel family this CPU can run
# (scripts/kernel-families.sh; Prescott's SSE3 kernels are left out, no speed claim rests on them):
# per family the default job (`pixelfly-bench run`: layer table, block table, dense against
# Pixelfly Mixer training) and `pixelfly-bench layers --kinds sparse pixelfly` (batches 64, 1024
# and 4096, 1 and 2 threads), each in its own process with OPENBLAS_CORETYPE pinned. Output goes
# to results/families/FAMILY/ (job.txt, layers.txt, layers.json and the job's summary files);
# the targets each run met are printed at the end, and, when two or more families ran, each
# family's rows against the fastest dense of any family (scripts/families-fastest-dense.py).
# About 9 minutes per family on 2 cores.
#
# Usage: scripts/speed-kernel-families.sh [FAMILY…] (default: every family found); expects a
# release build of pixelfly-bench (`swift build -c release --product pixelfly-bench`).
set -uo pipefail
cd "$(dirname "$0")/.."
bench=.build/release/pixelfly-bench
if [ ! -x "$bench" ]; then
    echo "speed families: no $bench; run 'swift build -c release --product pixelfly-bench' first" >&2
    exit 1
fi
if [ "$(uname -m)" != "x86_64" ]; then
    echo "speed families: $(uname -m) is not x86-64; OpenBLAS has one kernel family here: run 'make bench'" >&2
    exit 1
fi
source scripts/kernel-families.sh
runnable=()
for family in "${families[@]}"; do [ "$family" = Prescott ] || runnable+=("$family"); done
requested=("$@")
[ ${#requested[@]} -eq 0 ] && requested=("${runnable[@]}")
for family in "${requested[@]}"; do
    if [[ " ${runnable[*]} " != *" $family "* ]]; then
        echo "speed families: this CPU cannot run '$family'; it can run ${runnable[*]}" >&2
        exit 1
    fi
done

failed=()
for family in "${requested[@]}"; do
    out=results/families/$family
    mkdir -p "$out"
    echo "speed families: OPENBLAS_CORETYPE=$family, default job → $out/job.txt"
    OPENBLAS_CORETYPE=$family "$bench" run --results "$out" >"$out/job.txt" 2>&1 || failed+=("$family job")
    echo "speed families: OPENBLAS_CORETYPE=$family, layers → $out/layers.txt"
    OPENBLAS_CORETYPE=$family "$bench" layers --kinds sparse pixelfly --json "$out/layers.json" >"$out/layers.txt" 2>&1 \
        || failed+=("$family layers")
done

for family in "${requested[@]}"; do
    out=results/families/$family
    echo
    echo "== $family ($(grep -m1 '^CPU:' "$out/job.txt" 2>/dev/null | cut -c6-))"
    grep -E '^OpenBLAS core|^sgemm 1024³|^warning: sgemm|median step|^Speed target on|^headline' "$out/job.txt"
    echo "the job's layer table, then \`layers\`:"
    for file in "$out/job.txt" "$out/layers.txt"; do
        awk '/^Speed targets on this run/ { shown = 1; next } shown && /^  / { print; next } { shown = 0 }' "$file"
    done
done
# Against the fastest dense of the families this run timed (cross-process: see the script's caveats).
if [ ${#requested[@]} -ge 2 ] && command -v python3 >/dev/null; then
    echo
    scripts/families-fastest-dense.py results/families "${requested[@]}" | grep -E '^forward|^== |the fastest dense:'
fi
if [ ${#failed[@]} -ne 0 ]; then
    echo "speed families: FAILED: ${failed[*]} (see the files named above)"
    exit 1
fi
