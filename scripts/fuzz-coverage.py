#!/usr/bin/env python3
"""Per-file function and edge coverage from a libFuzzer `-print_coverage=1` report (stdin).

libFuzzer prints one COVERED_FUNC / UNCOVERED_FUNC line per instrumented function with
"edges: covered/total" and its source file, followed by UNCOVERED_PC lines for the edges a
covered function left out. This sums functions and edges per source file (compiler-generated
code, which has no file, is left out) for the files whose path contains one of the given
substrings, and names the functions never reached. Uncovered edges include the failure
branches of Swift's overflow and bounds checks, which a correct reader never takes, so edge
coverage stays well below 100% even when every check of the format is exercised.

Usage: <fuzz target> -runs=0 -print_coverage=1 <corpus dirs> 2>&1 | scripts/fuzz-coverage.py Checkpoint StrictJSON
"""
import re
import sys
from collections import defaultdict

wanted = sys.argv[1:]
edges = defaultdict(lambda: [0, 0])
functions = defaultdict(lambda: [0, 0])
unreached = defaultdict(list)
function_line = re.compile(r"^(?:UN)?COVERED_FUNC: hits: \d+ edges: (\d+)/(\d+) (\S+) (\S+):(\d+)")
for line in sys.stdin:
    if m := function_line.match(line):
        path = m.group(4)
        if path.startswith("/<compiler-generated>") or not any(w in path for w in wanted):
            continue
        edges[path][0] += int(m.group(1))
        edges[path][1] += int(m.group(2))
        functions[path][1] += 1
        if m.group(1) == "0":
            unreached[path].append(m.group(5))
        else:
            functions[path][0] += 1
total = [0, 0, 0, 0]
for path in sorted(edges):
    covered, count = edges[path]
    reached, defined = functions[path]
    total = [total[0] + reached, total[1] + defined, total[2] + covered, total[3] + count]
    lines = ",".join(sorted(set(unreached[path]), key=int))
    name = "/".join(path.split("/")[-2:])
    print(f"  {name}: functions {reached}/{defined}, edges {covered}/{count} ({100 * covered / max(count, 1):.0f}%); "
          f"unreached functions at lines: {lines or '-'}")
print(f"  total: functions {total[0]}/{total[1]}, edges {total[2]}/{total[3]} ({100 * total[2] / max(total[3], 1):.0f}%)")
