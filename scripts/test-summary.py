#!/usr/bin/env python3
"""Print one closing line for the whole test run: 'N passed, N failed, N skipped'.

Reads meson's testlog-*.json of each build directory given (lines of JSON,
one per test) and the per-suite status words scripts/test.sh passes
("unit:ok", "fuzz:FAILED") for suites that are not meson tests.
"""
import glob
import json
import os
import sys

passed = failed = skipped = 0
dirs = [a for a in sys.argv[1:] if os.path.isdir(a)]
words = [a for a in sys.argv[1:] if ":" in a and not os.path.isdir(a)]

for d in dirs:
    for log in glob.glob(os.path.join(d, "meson-logs", "testlog-*.json")):
        with open(log) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line).get("result", "")
                if r in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif r == "SKIP":
                    skipped += 1
                else:
                    failed += 1

# Suites that are not meson tests (fuzz) count as one test each.
for w in words:
    name, _, st = w.partition(":")
    if name == "fuzz":
        if st == "ok":
            passed += 1
        else:
            failed += 1

print("suites:", " ".join(words))
print(f"{passed} passed, {failed} failed, {skipped} skipped")
