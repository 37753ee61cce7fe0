#!/usr/bin/env bash
# Runs the suites whose behaviour depends on OpenBLAS's kernels (products, every layer, block and
# model forward/backward against references, steady-state allocation counts) once per OpenBLAS
# kernel family this CPU can run (scripts/kernel-families.sh), so that a kernel-dependent failure
# shows up on whatever CPU runs the tests — not only under the family OpenBLAS happens to pick here.
#
# On an AVX-512 CPU the LIBXSMM suites run twice more: with LIBXSMM's AVX2 code (LIBXSMM_TARGET=hsw)
# and with the AVX-512 code it generates for a Skylake-SP Xeon (LIBXSMM_TARGET=skx). On every
# x86-64 CPU they also run with the code of CPUs older than AVX2: LIBXSMM_TARGET=snb (AVX) with
# OpenBLAS's Sandybridge kernels, LIBXSMM_TARGET=wsm (SSE4.2) with its Nehalem kernels.
#
# Usage: scripts/test-kernel-families.sh [swift test options…]; expects a finished test build
# (`swift build --build-tests`). `make test` passes `--scratch-path .build/optimized-tests`, the
# optimised test build it makes for these runs. Exits non-zero if any family fails, after running
# all of them.
set -uo pipefail
cd "$(dirname "$0")/.."

FILTER='PooledClassifier|Allocation|BLASProductRouting|MatrixProduct|DenseLinear|LowRank|BlockSparse|Pixelfly|GELUFusion|Attention|BlocksMLP|TokenMixing|ModelsGradient|TrainingLoss|ComputeThreads|VectorKernels|KernelSelection|Monarch|Generation|LayerCall|ExportReference'

if [ "$(uname -m)" != "x86_64" ]; then
    echo "kernel families: $(uname -m) is not x86-64; OpenBLAS has one kernel family here, covered by the full run"
    exit 0
fi

source scripts/kernel-families.sh

echo "kernel families: this CPU can run ${families[*]}; running the kernel-dependent suites under each"
failed=()
for family in "${families[@]}"; do
    echo "kernel families: OPENBLAS_CORETYPE=$family"
    log=$(mktemp)
    OPENBLAS_CORETYPE=$family swift test --skip-build --filter "$FILTER" "$@" >"$log" 2>&1
    status=$?
    # Summary, failures and their messages (the "↳" lines that follow an issue).
    awk '/Test run with|error:|Fatal error/ { print; next }
         /recorded an issue/ { print; detail = 1; next }
         detail && /^↳/ { print; next }
         { detail = 0 }' "$log"
    if [ "$status" -ne 0 ]; then
        failed+=("$family")
        echo "kernel families: last lines of the failing run under $family:"
        tail -n 20 "$log"
    fi
    rm -f "$log"
done

# LIBXSMM JIT-compiles the block-sparse kernels for the CPU's instruction set; on an AVX-512 CPU
# the runs above exercise the code it picks for this CPU only. Forcing LIBXSMM_TARGET makes it
# generate the code other CPUs run, for the suites that call LIBXSMM:
#   hsw  AVX2, what an AVX2-only CPU runs (with OpenBLAS's Haswell kernels, as there)
#   skx  AVX-512 of a Skylake-SP Xeon (with OpenBLAS's SkylakeX kernels, as there)
libxsmm_run() {  # target coretype
    echo "kernel families: LIBXSMM_TARGET=$1 with OPENBLAS_CORETYPE=$2"
    log=$(mktemp)
    LIBXSMM_TARGET=$1 OPENBLAS_CORETYPE=$2 swift test --skip-build --filter 'Allocation|BlockSparse|Pixelfly|GELUFusion|Attention' "${@:3}" >"$log" 2>&1
    status=$?
    awk '/Test run with|error:|Fatal error|recorded an issue/ { print }' "$log"
    if [ "$status" -ne 0 ]; then
        failed+=("LIBXSMM-$1")
        tail -n 20 "$log"
    fi
    rm -f "$log"
    families+=("LIBXSMM-$1")
}
if has avx2 fma && has avx512f; then
    libxsmm_run hsw Haswell "$@"
    has avx512f avx512vl avx512bw avx512dq avx512cd && libxsmm_run skx SkylakeX "$@"
fi
# Every x86-64 CPU can also run the code LIBXSMM generates for older ones; each runs with the
# OpenBLAS family such a CPU gets:
#   snb  AVX without AVX2 (Sandy Bridge, Ivy Bridge) with OPENBLAS_CORETYPE=Sandybridge: LIBXSMM
#        is the preferred block-sparse kernel there
#   wsm  SSE4.2 (Nehalem, Westmere) with OPENBLAS_CORETYPE=Nehalem: the OpenBLAS kernel is
has avx && libxsmm_run snb Sandybridge "$@"
has sse4_2 && libxsmm_run wsm Nehalem "$@"

if [ ${#failed[@]} -ne 0 ]; then
    echo "kernel families: FAILED under ${failed[*]} (of ${families[*]})"
    exit 1
fi
echo "kernel families: passed under ${families[*]}"
