"""Printing at clinic speed (issue 14): each figure a ratio measured in this one run, beside its target.

    python bench/bench_printing.py

- one diary (examples/course-example.toml, A4, en): the PDF command's wall time over the HTML
  command's (whole processes run in pairs; the median of the pairs' ratios);
- a unit's 23 diaries (the example course for the 23 study numbers and starts of
  examples/cohort-23.csv, one course file each): `diary --cohort DIR --out DIR` over 23 single
  `diary --course FILE -o FILE.pdf` commands, with WeasyPrint and (where installed) Chromium;
- a kept diary: the roster's `DiaryCache.pdf` for an unchanged course, in-process (median).
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLI = str(Path(sys.executable).parent / "picture-schedule")
EXAMPLE = ROOT / "examples" / "course-example.toml"

PDF_OVER_HTML_TARGET = 5.0
BATCH_TARGET = 0.25
KEPT_TARGET_MS = 50.0


def run(argv: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def pdf_over_html(folder: Path, runs: int = 9) -> None:
    html, pdf = [], []
    for _ in range(runs):  # in pairs, so a busy moment of the machine slows both alike
        html.append(run([CLI, "diary", "--course", str(EXAMPLE), "-o", str(folder / "d.html")]))
        pdf.append(run([CLI, "diary", "--course", str(EXAMPLE), "-o", str(folder / "d.pdf")]))
    h, p = statistics.median(html), statistics.median(pdf)
    ratio = statistics.median(b / a for a, b in zip(html, pdf))
    print(f"one diary, whole command (medians of {runs} runs in pairs)")
    print(f"  HTML                                  {h:7.2f} s")
    print(f"  PDF (WeasyPrint)                      {p:7.2f} s")
    print(f"  PDF / HTML, median of the pairs       {ratio:7.2f} x  (target <= {PDF_OVER_HTML_TARGET:g} x: "
          f"{verdict(ratio <= PDF_OVER_HTML_TARGET)})")
    from picture_schedule.render.chromium import find_chromium

    if find_chromium():
        c = statistics.median(run([CLI, "diary", "--course", str(EXAMPLE), "--engine", "chromium",
                                   "-o", str(folder / "c.pdf")]) for _ in range(3))
        print(f"  PDF (--engine chromium), for comparison {c:5.2f} s  ({c / h:.2f} x the HTML)")


def unit_courses(folder: Path) -> list[Path]:
    """The example course for each study number and start of examples/cohort-23.csv."""
    text = EXAMPLE.read_text(encoding="utf-8")
    rows = [r for r in csv.DictReader(line for line in (ROOT / "examples" / "cohort-23.csv").open(encoding="utf-8")
                                      if not line.startswith("#"))]
    (folder / "site-nanjing.toml").write_text((ROOT / "examples" / "site-nanjing.toml").read_text(encoding="utf-8"),
                                             encoding="utf-8")
    files = []
    for row in rows:
        lines = []
        for line in text.splitlines():
            key = line.split("=")[0].strip()
            if key == "patient":
                line = f'patient = "{row["patient"]}"'
            elif key == "start" and row.get("start"):
                line = f"start = {row['start']}"
            lines.append(line)
        path = folder / f"{row['patient']}.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


def batch(folder: Path) -> None:
    courses = folder / "courses"
    courses.mkdir()
    files = unit_courses(courses)
    singles = sum(run([CLI, "diary", "--course", str(f), "-o", str(folder / f"{f.stem}.pdf")]) for f in files)
    print(f"a unit's {len(files)} diaries (cores: {os.cpu_count()})")
    print(f"  {len(files)} single `diary` commands           {singles:7.1f} s")
    from picture_schedule.render.chromium import find_chromium

    for engine in ("weasyprint", "chromium") if find_chromium() else ("weasyprint",):
        out = folder / f"out-{engine}"
        took = run([CLI, "diary", "--cohort", str(courses), "--out", str(out), "--engine", engine])
        assert len(list(out.glob("*.pdf"))) == len(files)
        ratio = took / singles
        print(f"  batch, --engine {engine:<10}            {took:7.1f} s  {ratio:5.2f} x  "
              f"(target <= {BATCH_TARGET:g} x: {verdict(ratio <= BATCH_TARGET)})")


def kept(folder: Path, runs: int = 20) -> None:
    from picture_schedule.roster.store import Roster

    courses = folder / "kept"
    courses.mkdir()
    course = unit_courses(courses)[0]
    with Roster(folder / "roster.sqlite3") as roster:
        roster.add(course, by="bench")
        cache = roster.diary_cache()
        began = time.perf_counter()
        first = cache.pdf(course.stem)
        printed = time.perf_counter() - began
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            assert cache.pdf(course.stem) == first
            times.append(time.perf_counter() - began)
    median = statistics.median(times) * 1000
    print(f"a kept diary (roster cache, in-process, median of {runs})")
    print(f"  first request (printed and kept)      {printed:7.2f} s")
    print(f"  unchanged diary                       {median:7.1f} ms  (target < {KEPT_TARGET_MS:g} ms: "
          f"{verdict(median < KEPT_TARGET_MS)})")


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        pdf_over_html(folder)
        kept(folder)
        batch(folder)


if __name__ == "__main__":
    main()
