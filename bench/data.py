"""Benchmark: import, check and version a synthesized text data set of 1,000,000 rows.

Prints rows/s end to end (read CSV → redact → hash → checks → split → write snapshot) and
the peak resident memory of the process that did the import, with the time of each step.
Goal on a 2-core machine: at least 100,000 rows/s and under 2 GB peak.

    python bench/data.py [--rows 1000000] [--redact]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
from tailorml._memory import peak_rss_mb
from tailorml.data.importer import import_file
from tailorml.data.versions import DataStore
path, store_dir, redact = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
steps, marks = [], []
def on_step(name):
    marks.append(time.perf_counter()); steps.append(name)
start = time.perf_counter()
result = import_file(DataStore(store_dir), path, input="text", target="label",
                     redact_pii=["email", "phone", "card", "iban"] if redact else [], on_step=on_step)
end = time.perf_counter()
marks.append(end)
print(json.dumps({
    "seconds": end - start,
    "steps": {s: marks[i + 1] - marks[i] for i, s in enumerate(steps)},
    "peak_rss_mb": peak_rss_mb(),
    "rows": result.manifest.rows, "id": result.manifest.id,
    "errors": len(result.report.errors), "warnings": len(result.report.warnings),
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--redact", action="store_true", help="also redact personal data")
    args = parser.parse_args()

    from tailorml.data.io import write_frame
    from tailorml.data.synth import synthesize

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "synthetic.csv"
        t0 = time.perf_counter()
        write_frame(synthesize(args.rows, seed=1, unique=False), csv)
        made = time.perf_counter() - t0
        size_mb = csv.stat().st_size / 1e6
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(csv), str(Path(tmp) / "store"), "1" if args.redact else "0"],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])

    rate = result["rows"] / result["seconds"]
    print(
        f"bench/data.py  {time.strftime('%Y-%m-%d')}  {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"input: {args.rows:,} synthetic rows, {size_mb:,.0f} MB CSV (made in {made:.1f} s, not timed)\n")
    print(f"| {'step':<28} | {'seconds':>8} |")
    print(f"| {'-' * 28} | {'-' * 8}:|")
    for step, seconds in result["steps"].items():
        print(f"| {step:<28} | {seconds:>8.2f} |")
    print(f"| {'**total**':<28} | {result['seconds']:>8.2f} |\n")
    print(f"| {'metric':<20} | {'value':>12} | {'goal':>12} |")
    print(f"| {'-' * 20} | {'-' * 12}:| {'-' * 12}:|")
    print(f"| {'rows/s end to end':<20} | {rate:>12,.0f} | {'>= 100,000':>12} |")
    print(f"| {'peak RSS (MB)':<20} | {result['peak_rss_mb']:>12,.0f} | {'< 2,048':>12} |")
    print(f"\nversion {result['id']}: {result['errors']} check errors, {result['warnings']} warnings")


if __name__ == "__main__":
    main()
