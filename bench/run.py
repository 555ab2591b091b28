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


#: `picture-schedule --help` may take at most this many times as long as `python -c "import click"`.
HELP_TARGET = 1.5


def help_ratio(runs: int = 15) -> tuple[float, float]:
    """Median wall times of ``picture-schedule --help`` and of ``python -c "import click"`` (same
    interpreter), run alternately so that a busy moment of the machine slows both alike."""
    cli = [str(BIN / "picture-schedule"), "--help"]
    click_only = [sys.executable, "-c", "import click"]
    # As installed: bytecode written once (a first, untimed run each), then read from __pycache__.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    help_times: list[float] = []
    click_times: list[float] = []
    for _ in range(runs + 1):
        for argv, times in ((cli, help_times), (click_only, click_times)):
            t0 = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            times.append(time.perf_counter() - t0)
    return statistics.median(help_times[1:]), statistics.median(click_times[1:])


def startup_ratio() -> None:
    help_time, click_time = help_ratio()
    ratio = help_time / click_time
    verdict = "ok" if ratio <= HELP_TARGET else "OVER TARGET"
    print("start-up against click (median of 15 interleaved whole-process runs)")
    print(f"  python -c 'import click'              {click_time * 1000:7.1f} ms")
    print(f"  picture-schedule --help               {help_time * 1000:7.1f} ms")
    print(f"  ratio                                 {ratio:7.2f} x  (target <= {HELP_TARGET} x: {verdict})")


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
    startup_ratio()
    startup()
    expansions()
    for script in sorted(HERE.glob("bench_*.py")):
        print()
        print(f"== {script.name}")
        runpy.run_path(str(script), run_name="__main__")
