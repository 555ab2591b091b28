"""`chairs plan` at 50,000 patients (issue 14): peak memory and time against 10,000, beside targets.

    python bench/bench_chairs_scale.py

The whole command as a coordinator runs it (`chairs plan --cohort … --site … -o report.html --csv
chairs.csv`, a process of its own, so its peak memory is its own) on the cohorts and site of
bench_chairs_cli.py: 10,000 and 50,000 PICTURE patients starting across 2027, 200 chairs (the
50,000 ask for five times what the unit has: most of their visits are not placed, every one is in
the CSV, the report counts them by day). Best of two runs each.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_chairs_cli import SITE, cohort_csv  # noqa: E402

MEMORY_TARGET_MB = 250
TIME_RATIO_TARGET = 5.5
MEASURE = """
import json, resource, subprocess, sys, time
began = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(json.dumps({"seconds": time.perf_counter() - began,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def measure(argv: list[str], runs: int = 2) -> tuple[float, float]:
    """Best wall time and peak resident memory (MB) of the command, each run a fresh process."""
    results = [json.loads(subprocess.run([sys.executable, "-c", MEASURE, *argv], check=True, capture_output=True,
                                         text=True).stdout) for _ in range(runs)]
    return min(r["seconds"] for r in results), max(r["peak_mb"] for r in results)


def main() -> None:
    cli = str(Path(sys.executable).parent / "picture-schedule")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        site = folder / "site.toml"
        site.write_text(SITE.format(chairs=200, nurses=50), encoding="utf-8")
        figures = {}
        for patients in (10_000, 50_000):
            cohort = folder / f"cohort-{patients}.csv"
            cohort.write_text(cohort_csv(patients), encoding="utf-8")
            figures[patients] = measure([cli, "chairs", "plan", "--cohort", str(cohort), "--site", str(site),
                                         "-o", str(folder / "report.html"), "--csv", str(folder / "chairs.csv")])
            print(f"chairs plan, {patients:,} patients, 200 chairs: {figures[patients][0]:6.2f} s, "
                  f"peak {figures[patients][1]:5.0f} MB (best of 2, -o report.html --csv chairs.csv)")
    ratio = figures[50_000][0] / figures[10_000][0]
    peak = figures[50_000][1]
    print(f"  peak memory at 50,000                 {peak:7.0f} MB  (target <= {MEMORY_TARGET_MB} MB: "
          f"{'ok' if peak <= MEMORY_TARGET_MB else 'OVER TARGET'})")
    print(f"  time(50,000) / time(10,000)           {ratio:7.2f}     (target <= {TIME_RATIO_TARGET}: "
          f"{'ok' if ratio <= TIME_RATIO_TARGET else 'OVER TARGET'})")


if __name__ == "__main__":
    main()
