"""End-to-end chair planning as a coordinator runs it: cohort CSV → schedules → chair plan → outputs.

    python bench/bench_chairs_cli.py

Builds deterministic cohorts (random.Random(2027)) of 1,000 and 10,000 PICTURE patients starting on
any day of 2027 (a start on a closed day is shifted by the site's policy, like any day 1), 10 % of
them with one cycle delayed by 7 days, and a site like examples/site-nanjing.toml (CN holidays, shift
next, Monday–Friday 08:00–17:30, 15-min slots) with 40 chairs for 1,000 patients and 200 chairs
for 10,000 (at most one start per slot per 4 chairs). Prints the best of three runs for 1,000
patients and of one run for 10,000 (to keep `make bench` short):

- each phase: read the CSV, expand every course on the clinic calendar (:func:`expand_cohort`),
  make the appointments, plan the chairs, render the HTML report, the CSV and (1,000 patients
  only: icalendar needs ~0.3 ms an event) the iCalendar;
- the whole `picture-schedule chairs plan … -o report.html --csv chairs.csv` run in-process
  (what a coordinator waits for, start-up excluded);
- `suggest`: five starts for a new PICTURE patient from 2027-06-01, each candidate expanded on
  the clinic calendar;
- the expansion cost without sharing (every course expanded on its own, as a folder of course
  files would be), per course, to show where the time goes.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time as clock
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T = TypeVar("T")
RUNS = 3
SITE = """name = "Benchmark unit"
timezone = "Asia/Shanghai"
clinic_days = ["mon", "tue", "wed", "thu", "fri"]
[holidays]
country = "CN"
[shift]
policy = "next"
max_days = 7
[infusion]
start = "08:00"
preparation_minutes = 15
observation_minutes = 30
[chairs]
count = {chairs}
slot_minutes = 15
nurse_starts_per_slot = {nurses}
hours = {{ mon = ["08:00", "17:30"], tue = ["08:00", "17:30"], wed = ["08:00", "17:30"], thu = ["08:00", "17:30"], fri = ["08:00", "17:30"] }}
"""


def cohort_csv(patients: int, seed: int = 2027) -> str:
    rng = random.Random(seed)
    lines = ["patient,start,delays"]
    for number in range(1, patients + 1):
        start = date(2027, 1, 1) + timedelta(days=rng.randrange(365))
        delay = f"{rng.randrange(2, 7)}:7" if rng.random() < 0.1 else ""
        lines.append(f"S{number:05d},{start.isoformat()},{delay}")
    return "\n".join(lines) + "\n"


def best_of(work: Callable[[], T], runs: int = RUNS) -> tuple[float, T]:
    timings, result = [], None
    for _ in range(runs):
        began = clock.perf_counter()
        result = work()
        timings.append(clock.perf_counter() - began)
    return min(timings), result  # type: ignore[return-value]


def main() -> None:
    from click.testing import CliRunner

    from picture_schedule.core import chair_plan as engine
    from picture_schedule.cli.main import main as cli
    from picture_schedule.planning.cohort import (
        Member,
        appointments,
        closures,
        expand_cohort,
        newcomer,
        newcomer_name,
        read_cohort,
    )
    from picture_schedule.loading import load_site
    from picture_schedule.render import chair_report as render

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for patients, chairs in ((1_000, 40), (10_000, 200)):
            runs = RUNS if patients <= 1_000 else 1
            csv_path = root / f"cohort-{patients}.csv"
            csv_path.write_text(cohort_csv(patients), encoding="utf-8")
            site_path = root / f"site-{chairs}.toml"
            site_path.write_text(SITE.format(chairs=chairs, nurses=chairs // 4), encoding="utf-8")
            site = load_site(site_path)
            unit = site.chairs
            assert isinstance(unit, engine.Unit)

            t_read, cohort = best_of(lambda: read_cohort(csv_path, site), runs)
            t_expand, schedules = best_of(lambda: expand_cohort(cohort), runs)
            t_appts, visits = best_of(lambda: appointments(schedules), runs)
            t_plan, result = best_of(lambda: engine.plan(visits, unit), runs)
            first, last = min(a.day for a in visits), max(a.day for a in visits)

            def html() -> str:
                view = render.report(result, site=site, cohort=csv_path.name, patients=patients,
                                     schedules=schedules, closures=closures(site, first, last))
                return render.to_html(view)

            t_html, page = best_of(html, runs)
            t_csv, table = best_of(lambda: render.to_csv(result), runs)
            stamp = render.stamp(schedules, site.timezone)
            assert stamp is not None
            ics = None
            if patients <= 1_000:  # ~0.3 ms an event in icalendar: 60,000 events take ~20 s
                ics = best_of(lambda: render.to_ics(result, site=site, dtstamp=stamp), runs=1)
            distinct = len({(m.course.start, tuple((c.cycle, c.delay_days) for c in m.course.changes))
                            for m in cohort.members})

            print(f"chairs plan end to end, {patients:,} patients, {chairs} chairs, best of {runs} "
                  f"({len(visits):,} day-1 visits; {len(result.bookings):,} placed, {len(result.unplaced):,} not placed, "
                  f"{len(result.over_capacity_days)} of {len(result.days)} days over capacity)")
            print(f"  read CSV            {t_read:6.2f} s")
            print(f"  expand courses      {t_expand:6.2f} s  ({distinct:,} distinct start+delays expanded, the rest shared)")
            print(f"  appointments        {t_appts:6.2f} s")
            print(f"  plan chairs         {t_plan:6.2f} s")
            print(f"  HTML report         {t_html:6.2f} s  ({len(page) / 1e6:.1f} MB)")
            print(f"  CSV                 {t_csv:6.2f} s  ({len(table) / 1e6:.1f} MB)")
            if ics is not None:
                print(f"  iCalendar           {ics[0]:6.2f} s  ({len(ics[1]) / 1e6:.1f} MB, one run; not in the total "
                      "below)")

            runner = CliRunner()
            report, table_path = root / "report.html", root / "chairs.csv"
            argv = ["chairs", "plan", "--cohort", str(csv_path), "--site", str(site_path),
                    "-o", str(report), "--csv", str(table_path)]

            def run(args: list[str]) -> None:
                outcome = runner.invoke(cli, args, catch_exceptions=False)
                assert outcome.exit_code == 0, outcome.output

            t_cli, _ = best_of(lambda: run(argv), runs)
            print(f"  whole command, -o report.html --csv chairs.csv: {t_cli:6.2f} s")

            regimen = cohort.members[0].course.regimen
            day1s = newcomer(regimen, site, newcomer_name([m.course.patient for m in cohort.members]))
            t_suggest, found = best_of(lambda: engine.suggest(visits, unit, day1s, date(2027, 6, 1), 5), runs)
            starts = ", ".join(f"{s.start:%m-%d}" for s in found) or "none within 366 days"
            print(f"  suggest 5 starts from 2027-06-01 (cohort already expanded): {t_suggest:6.2f} s ({starts})")

            if patients == 1_000:
                unshared = type(cohort)(cohort.source, tuple(Member(m.course, m.origin, plain=False)
                                                            for m in cohort.members))
                t_alone, _ = best_of(lambda: expand_cohort(unshared), runs)
                print(f"  expansion with every course on its own: {t_alone:6.2f} s "
                      f"({1000 * t_alone / patients:.2f} ms a course; a folder of {patients:,} course files)")

if __name__ == "__main__":
    main()
