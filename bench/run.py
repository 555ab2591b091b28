"""`make bench`: start-up and expansion figures, then every other benchmark in this folder."""

from __future__ import annotations

import datetime as dt
import os
import runpy
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def process_time(argv: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def startup() -> None:
    cli = str(BIN / "picture-schedule")
    print("start-up (median of 7 whole-process runs)")
    base = process_time([sys.executable, "-c", "pass"])
    print(f"  python -c pass                        {base * 1000:7.1f} ms")
    for label, argv in (
        ("picture-schedule --help", [cli, "--help"]),
        ("schedule --format json", [cli, "schedule", "--start", "2026-12-07", "--format", "json"]),
    ):
        t = process_time(argv)
        print(f"  {label:<37} {t * 1000:7.1f} ms  (+{(t - base) * 1000:.1f} ms over python)")


def expansions() -> None:
    from picture_schedule import expand_regimen, load_regimen

    regimen = load_regimen("picture")
    start = dt.date(2026, 12, 7)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 2.0:
        expand_regimen(regimen, start + dt.timedelta(days=n % 365))
        n += 1
    rate = n / (time.perf_counter() - t0)
    print(f"in-process expansion of the 6-cycle PICTURE plan: {rate:,.0f} expansions/s ({1000 / rate:.2f} ms each)")


if __name__ == "__main__":
    os.chdir(HERE.parent)
    sys.path.insert(0, str(HERE.parent))
    startup()
    expansions()
    for script in sorted(HERE.glob("bench_*.py")):
        print()
        print(f"== {script.name}")
        runpy.run_path(str(script), run_name="__main__")
