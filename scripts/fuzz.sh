#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (libFuzzer + AddressSanitizer, release) and runs each
# for a bounded time, starting from the committed seed corpus Fuzz/corpus/<target>/.
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   which targets (default: checkpoint idx gzip)
#   FUZZ_ARGS      extra libFuzzer options, e.g. "-runs=1000000" or "-jobs=2"
#
# New inputs the fuzzer finds go to Fuzz/.build/corpus/<target>/ (not committed), crashes to
# Fuzz/.build/artifacts/<target>/, logs to Fuzz/.build/logs/<target>.log. A crash makes the
# script exit non-zero after all targets ran; replay one with
#   Fuzz/.build/release/Fuzz<Target> <crash file>
# and turn it into a regression test (inline bytes) in Tests/ButterflyTests.
set -uo pipefail
cd "$(dirname "$0")/../Fuzz"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
TARGETS="${FUZZ_TARGETS:-checkpoint idx gzip}"
SWIFT="${SWIFT:-swift}"

if [ "$(uname -s)" != "Linux" ]; then
    echo "fuzz: libFuzzer ships with the swift.org toolchain on Linux only; skipping on $(uname -s)"
    exit 0
fi

# SwiftPM turns the two --sanitize options into two -sanitize= flags, and swiftc keeps only the
# last one: Swift code would get AddressSanitizer but no coverage instrumentation, and the fuzzer
# would run blind ("no interesting inputs were found"). The -Xswiftc flag comes last and wins;
# the --sanitize options still set up the C targets and the link.
build=(-c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address)
"$SWIFT" build "${build[@]}" || exit 1
bin="$("$SWIFT" build "${build[@]}" --show-bin-path)"

declare -A product=([checkpoint]=FuzzCheckpoint [idx]=FuzzIDX [gzip]=FuzzGzip)
# The reader source files each target is meant to cover (for the coverage summary).
# Per-target options. gzip: the reader sizes its first output buffer from the trailer's length
# field, bounded by 1032 × the input size (deflate's maximum ratio), so a mutated trailer costs
# an allocation of about 1 MB per KiB of input; zlib itself is not instrumented, so longer inputs
# add little coverage of our code while slowing the run several-fold.
declare -A options=([checkpoint]="" [idx]="" [gzip]="-max_len=1024")
declare -A sources=([checkpoint]="PixelflyData/Checkpoint/"
                    [idx]="PixelflyData/Datasets/IDXFile PixelflyData/Datasets/FashionMNIST PixelflyData/Datasets/ImageDataset"
                    [gzip]="PixelflyData/Datasets/GzipDecompression PixelflyData/Datasets/IDXFile")
status=0
for target in $TARGETS; do
    exe="$bin/${product[$target]:?unknown fuzz target $target}"
    work=".build/corpus/$target" artifacts=".build/artifacts/$target" log=".build/logs/$target.log"
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    echo "fuzz: $target for ${SECONDS_PER_TARGET}s (log: Fuzz/$log)"
    # Swift's own backtracer would race libFuzzer's crash handler; leave crashes to libFuzzer.
    SWIFT_BACKTRACE=enable=no \
        "$exe" "$work" "corpus/$target" -max_total_time="$SECONDS_PER_TARGET" \
        -artifact_prefix="$artifacts/" -print_final_stats=1 ${options[$target]} ${FUZZ_ARGS:-} >"$log" 2>&1
    code=$?
    grep -E '^(INFO: Loaded|#[0-9]+[[:space:]]+(INITED|DONE))|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" | sed 's/^/  /'
    echo "  coverage of the reader's sources by the corpus now in Fuzz/$work and Fuzz/corpus/$target:"
    SWIFT_BACKTRACE=enable=no "$exe" -runs=0 -print_coverage=1 "$work" "corpus/$target" 2>&1 \
        | ../scripts/fuzz-coverage.py ${sources[$target]}
    if [ $code -ne 0 ]; then
        echo "fuzz: $target FAILED (exit $code); see Fuzz/$log and Fuzz/$artifacts/"
        grep -m5 -E 'ERROR|Fatal error|panic|SUMMARY' "$log" | sed 's/^/  /'
        status=1
    fi
done
exit $status
